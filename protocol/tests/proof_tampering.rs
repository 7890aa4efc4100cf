//! Proof format 2 against tampering: every byte changed, every two elements swapped,
//! every element replaced by the generator, the identity (zero) or a non-canonical
//! encoding of itself. Each modified proof either fails to decode or fails to verify;
//! and a version-1 proof is refused by name.

mod common;

use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use tutti_crypto::encoding::{g1_bytes, scalar_bytes};
use tutti_crypto::{Fr, G1Affine};
use tutti_protocol::ProtocolError;
use tutti_protocol::proof::{PROOF_BYTES, PROOF_POINTS, PROOF_SCALARS, Proof};
use tutti_protocol::verifier::verify;

/// Offset in the encoding of element `k` (points first, then scalars).
fn element_offset(k: usize) -> usize {
    1 + 32 * k
}

const ELEMENTS: usize = PROOF_POINTS + PROOF_SCALARS;

struct Fixture {
    job: common::Job,
    bytes: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        // Two shards and public inputs, so that every term of the verifier is exercised.
        let job = common::random_job(2, 16, 4242);
        assert!(!job.public_inputs.is_empty());
        let proof = job.prove().unwrap().proof;
        let bytes = proof.to_bytes();
        assert_eq!(bytes.len(), PROOF_BYTES);
        assert_eq!(PROOF_BYTES, 673, "format 2 is 13 points and 8 scalars");
        let f = Fixture { job, bytes };
        assert!(f.accepts(&f.bytes), "the untampered proof must verify");
        f
    }

    /// True when `bytes` decode to a proof that verifies.
    fn accepts(&self, bytes: &[u8]) -> bool {
        Proof::from_bytes(bytes)
            .is_ok_and(|p| verify(&self.job.pre.aggregator.vk, &self.job.public_inputs, &p).is_ok())
    }

    fn assert_rejected(&self, bytes: &[u8], what: &str) {
        assert_ne!(bytes, self.bytes.as_slice(), "{what}: not a modification");
        assert!(!self.accepts(bytes), "{what}: the tampered proof verifies");
    }

    fn with_element(&self, k: usize, encoding: &[u8; 32]) -> Vec<u8> {
        let mut b = self.bytes.clone();
        let o = element_offset(k);
        b[o..o + 32].copy_from_slice(encoding);
        b
    }
}

/// `s + r`, the same scalar in 256 bits but not reduced.
fn unreduced_scalar(bytes: &[u8]) -> [u8; 32] {
    let mut v = <Fr as PrimeField>::BigInt::from_bits_le(
        &bytes
            .iter()
            .flat_map(|b| (0..8).map(move |i| (b >> i) & 1 == 1))
            .collect::<Vec<_>>(),
    );
    let carry = v.add_with_carry(&Fr::MODULUS);
    assert!(!carry, "s + r fits in 256 bits");
    let mut out = [0u8; 32];
    out.copy_from_slice(&v.to_bytes_le());
    out
}

/// A non-canonical encoding of the point in `bytes`: its x coordinate plus the base
/// field's modulus when that still fits under the flag bits, else the infinity flag set
/// over its x coordinate.
fn noncanonical_point(bytes: &[u8]) -> [u8; 32] {
    use ark_bn254::Fq;
    let mut out = [0u8; 32];
    out.copy_from_slice(bytes);
    let flags = out[31] & 0xc0;
    let mut x = out;
    x[31] &= 0x3f;
    let mut limbs = <Fq as PrimeField>::BigInt::from_bits_le(
        &x.iter()
            .flat_map(|b| (0..8).map(move |i| (b >> i) & 1 == 1))
            .collect::<Vec<_>>(),
    );
    let carry = limbs.add_with_carry(&Fq::MODULUS);
    let shifted = limbs.to_bytes_le();
    if !carry && shifted[31] & 0xc0 == 0 {
        out.copy_from_slice(&shifted);
        out[31] |= flags;
    } else {
        out[31] |= 0x40;
    }
    out
}

#[test]
fn every_tampered_proof_is_rejected() {
    let f = Fixture::new();
    // Every byte, two ways: its lowest and its highest bit flipped.
    for i in 0..f.bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut b = f.bytes.clone();
            b[i] ^= mask;
            f.assert_rejected(&b, &format!("byte {i} ^ {mask:#04x}"));
        }
    }
    // Every swap of two elements (points with points, scalars with scalars, and across:
    // the decoder sees 32 bytes either way).
    for j in 0..ELEMENTS {
        for k in j + 1..ELEMENTS {
            let mut b = f.bytes.clone();
            let (oj, ok) = (element_offset(j), element_offset(k));
            let ej: [u8; 32] = b[oj..oj + 32].try_into().unwrap();
            let ek: [u8; 32] = b[ok..ok + 32].try_into().unwrap();
            if ej == ek {
                continue;
            }
            b[oj..oj + 32].copy_from_slice(&ek);
            b[ok..ok + 32].copy_from_slice(&ej);
            f.assert_rejected(&b, &format!("elements {j} and {k} swapped"));
        }
    }
    // Every element replaced by the generator, the identity and a non-canonical form.
    let generator = g1_bytes(&G1Affine::generator());
    let identity = g1_bytes(&G1Affine::zero());
    for k in 0..PROOF_POINTS {
        let o = element_offset(k);
        let mine = &f.bytes[o..o + 32];
        for (name, enc) in [
            ("the generator", generator),
            ("the identity", identity),
            ("a non-canonical encoding", noncanonical_point(mine)),
        ] {
            if enc.as_slice() != mine {
                f.assert_rejected(&f.with_element(k, &enc), &format!("point {k} → {name}"));
            }
        }
    }
    for k in PROOF_POINTS..ELEMENTS {
        let o = element_offset(k);
        let mine = &f.bytes[o..o + 32];
        for (name, enc) in [
            ("one", scalar_bytes(&Fr::from(1u64))),
            ("zero", scalar_bytes(&Fr::from(0u64))),
            ("a non-canonical encoding", unreduced_scalar(mine)),
        ] {
            if enc.as_slice() != mine {
                f.assert_rejected(
                    &f.with_element(k, &enc),
                    &format!("scalar {} → {name}", k - PROOF_POINTS),
                );
            }
        }
    }
}

#[test]
fn non_canonical_encodings_are_refused_by_the_decoder() {
    let f = Fixture::new();
    for k in 0..ELEMENTS {
        let o = element_offset(k);
        let enc = if k < PROOF_POINTS {
            noncanonical_point(&f.bytes[o..o + 32])
        } else {
            unreduced_scalar(&f.bytes[o..o + 32])
        };
        assert!(
            Proof::from_bytes(&f.with_element(k, &enc)).is_err(),
            "element {k}: a non-canonical encoding decodes"
        );
    }
}

#[test]
fn version_one_proofs_are_refused_by_name() {
    let f = Fixture::new();
    // A format-1 proof had 13 points and 18 scalars (993 bytes); the version byte decides.
    for len in [993, PROOF_BYTES] {
        let mut b = vec![0u8; len];
        b[0] = 1;
        let n = len.min(f.bytes.len());
        b[1..n].copy_from_slice(&f.bytes[1..n]);
        let err = Proof::from_bytes(&b).unwrap_err();
        assert!(
            matches!(
                err,
                ProtocolError::UnsupportedVersion {
                    what: "proof",
                    version: 1,
                    supported: 2
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("unsupported proof version 1"),
            "{err}"
        );
    }
}
