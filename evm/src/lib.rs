//! # tutti-evm
//!
//! Checking tutti proofs on Ethereum: [`solidity::verifier_source`] generates a
//! self-contained Solidity verifier with a verifying key embedded, and [`calldata`]
//! encodes the complete `verifyProof(bytes,uint256[])` call for a proof. The contract
//! takes the proof in its EVM form ([`proof_evm_bytes`], spec/proof.md §2): points
//! uncompressed, as the precompiles read them, so that no point is decompressed on chain.

#![deny(missing_docs)]

#[cfg(feature = "chain")]
pub mod chain;
pub mod reference;
pub mod solidity;

use ark_ff::PrimeField;
use sha3::{Digest, Keccak256};
use tutti_crypto::Fr;
use tutti_crypto::encoding::{g1_evm, scalar_be};
use tutti_protocol::proof::{PROOF_POINTS, PROOF_SCALARS, PROOF_VERSION, Proof};

/// Size of a proof's EVM form: version byte, 13 points of 64 bytes, 8 scalars of 32.
pub const PROOF_EVM_BYTES: usize = 1 + 64 * PROOF_POINTS + 32 * PROOF_SCALARS;
/// Offset of the first scalar in the EVM form.
pub const SCALARS_OFFSET: usize = 1 + 64 * PROOF_POINTS;

/// What can go wrong when exporting for the EVM.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvmError {
    /// The verifying key cannot back a verifier.
    #[error("verifying key: {0}")]
    VerifyingKey(String),
    /// Building or proving the reference case failed.
    #[error(transparent)]
    Protocol(#[from] tutti_protocol::ProtocolError),
    /// The local chain failed.
    #[cfg(feature = "chain")]
    #[error(transparent)]
    Chain(#[from] chain::ChainError),
    /// The committed verifier bytecode is not hex, or the verifier did not accept a
    /// valid proof: the fixtures are stale.
    #[error("the reference verifier: {0} (run evm/tests/fixtures/regenerate.sh)")]
    Reference(&'static str),
}

/// Gas of the reference verifier ([`reference::BENCH_CASE`], one public input) in a local
/// EVM: (one `verifyProof` transaction, base and calldata included; its deployment).
#[cfg(feature = "chain")]
pub fn measure_gas() -> Result<(u64, u64), EvmError> {
    let case = reference::BENCH_CASE;
    let job = reference::job(&case, 1)?;
    let code = reference::from_hex(reference::BENCH_BYTECODE_HEX)
        .ok_or(EvmError::Reference("its bytecode is not hex"))?;
    let mut chain = chain::Chain::with_verifier(code)?;
    let (answer, gas) = chain.call(calldata(&job.proof, &job.public_inputs))?;
    if answer != Some(true) {
        return Err(EvmError::Reference("it does not accept a valid proof"));
    }
    Ok((gas, chain.deploy_gas()))
}

/// The proof's EVM form (spec/proof.md §2): the version byte, each point as 64 bytes
/// x ‖ y big-endian (the point at infinity as 64 zero bytes), each scalar as 32 bytes
/// big-endian. The same elements, in the same order, as the canonical encoding.
pub fn proof_evm_bytes(proof: &Proof) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROOF_EVM_BYTES);
    out.push(PROOF_VERSION);
    for p in proof.points() {
        out.extend_from_slice(&g1_evm(&p));
    }
    for s in proof.evals.to_vec() {
        out.extend_from_slice(&scalar_be(&s));
    }
    out
}

/// Decodes a proof's EVM form, refusing what the canonical decoder refuses: a wrong
/// length or version, a coordinate not below the base field's modulus, a point off the
/// curve, a scalar not below r. `None` for anything malformed (the EVM form is a test
/// and tooling format; `tutti verify` reads the canonical one).
pub fn proof_from_evm_bytes(bytes: &[u8]) -> Option<Proof> {
    use ark_bn254::{Fq, G1Affine};
    if bytes.len() != PROOF_EVM_BYTES || bytes[0] != PROOF_VERSION {
        return None;
    }
    let mut canonical = vec![PROOF_VERSION];
    for k in 0..PROOF_POINTS {
        let o = 1 + 64 * k;
        let x: Fq = field_from_be(&bytes[o..o + 32])?;
        let y: Fq = field_from_be(&bytes[o + 32..o + 64])?;
        let p = if x == Fq::from(0u64) && y == Fq::from(0u64) {
            G1Affine::identity()
        } else {
            let p = G1Affine::new_unchecked(x, y);
            if !p.is_on_curve() {
                return None;
            }
            p
        };
        tutti_crypto::encoding::put_g1(&mut canonical, &p);
    }
    for k in 0..PROOF_SCALARS {
        let o = SCALARS_OFFSET + 32 * k;
        let v: Fr = field_from_be(&bytes[o..o + 32])?;
        tutti_crypto::encoding::put_scalar(&mut canonical, &v);
    }
    Proof::from_bytes(&canonical).ok()
}

/// A field element from its 32-byte big-endian EVM word, `None` unless the word is
/// below the field's modulus (the canonical form: what the contract accepts).
pub fn field_from_be<F: PrimeField>(word: &[u8]) -> Option<F> {
    use ark_ff::BigInteger;
    let v = F::from_be_bytes_mod_order(word);
    (v.into_bigint().to_bytes_be() == word).then_some(v)
}

/// The 4-byte selector of `verifyProof(bytes,uint256[])`.
pub fn verify_selector() -> [u8; 4] {
    let h = Keccak256::digest(b"verifyProof(bytes,uint256[])");
    [h[0], h[1], h[2], h[3]]
}

fn word(v: usize) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&(v as u64).to_be_bytes());
    w
}

/// The ABI-encoded call `verifyProof(proof_evm_bytes(proof), public_inputs)`, selector
/// included: what `eth_call` takes as `data`.
pub fn calldata(proof: &Proof, public_inputs: &[Fr]) -> Vec<u8> {
    let words: Vec<[u8; 32]> = public_inputs.iter().map(scalar_be).collect();
    raw_calldata(&proof_evm_bytes(proof), &words)
}

/// The ABI-encoded call `verifyProof(proof, public_inputs)` of arbitrary bytes and 32-byte
/// words (big-endian): the encoding alone, nothing checked (tests feed the contract
/// malformed proofs through it).
pub fn raw_calldata(proof: &[u8], public_inputs: &[[u8; 32]]) -> Vec<u8> {
    let padded = proof.len().div_ceil(32) * 32;
    let mut out = verify_selector().to_vec();
    out.extend_from_slice(&word(0x40));
    out.extend_from_slice(&word(0x40 + 32 + padded));
    out.extend_from_slice(&word(proof.len()));
    out.extend_from_slice(proof);
    out.resize(out.len() + padded - proof.len(), 0);
    out.extend_from_slice(&word(public_inputs.len()));
    for v in public_inputs {
        out.extend_from_slice(v);
    }
    out
}

/// A scalar as a decimal string (how `pubSignals` are usually written).
pub fn scalar_decimal(s: &Fr) -> String {
    solidity::decimal(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_is_keccak_of_the_signature() {
        // keccak256("verifyProof(bytes,uint256[])") starts with 1e8e1e13.
        assert_eq!(verify_selector(), [0x1e, 0x8e, 0x1e, 0x13]);
    }

    #[test]
    fn the_evm_form_round_trips() {
        use ark_ec::{AffineRepr, CurveGroup};
        let g = tutti_crypto::G1Affine::generator();
        let mut points = [g; PROOF_POINTS];
        for (k, p) in points.iter_mut().enumerate() {
            *p = (g * Fr::from(k as u64 + 2)).into_affine();
        }
        points[3] = tutti_crypto::G1Affine::identity();
        let mut proof = Proof::from_bytes(&{
            let mut b = vec![PROOF_VERSION];
            for p in &points {
                tutti_crypto::encoding::put_g1(&mut b, p);
            }
            for k in 0..PROOF_SCALARS {
                tutti_crypto::encoding::put_scalar(&mut b, &Fr::from(k as u64 * 1000 + 7));
            }
            b
        })
        .unwrap();
        let bytes = proof_evm_bytes(&proof);
        assert_eq!(proof_from_evm_bytes(&bytes), Some(proof));
        *proof.scalars_mut()[0] = -Fr::from(1u64);
        assert_eq!(proof_from_evm_bytes(&proof_evm_bytes(&proof)), Some(proof));
        let mut off = bytes.clone();
        off[64] ^= 1;
        assert_eq!(proof_from_evm_bytes(&off), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(PROOF_EVM_BYTES, 1089);
        assert_eq!(SCALARS_OFFSET, 833);
    }
}
