//! The generated Solidity verifier in a real EVM (revm): the committed fixtures are the
//! generator's output for deterministic test keys and their bytecode compiled with the
//! pinned solc-js (`fixtures/regenerate.sh`). Valid proofs return true, tampered ones
//! false, and the contract agrees with `tutti_protocol::verifier::verify`.

use ark_ff::One;
use std::path::PathBuf;
use tutti_crypto::Fr;
use tutti_evm::chain::Chain;
use tutti_evm::reference::{self, BENCH_CASE, Case, Job, from_hex};
use tutti_evm::{calldata, proof_evm_bytes, solidity::verifier_source};
use tutti_protocol::proof::PROOF_SCALARS;
use tutti_protocol::verifier::verify;

const CASES: [Case; 5] = [
    Case {
        name: "verifier_m1_p1",
        m: 1,
        t: 16,
        publics: 1,
    },
    BENCH_CASE,
    Case {
        name: "verifier_m2_p4",
        m: 2,
        t: 16,
        publics: 4,
    },
    Case {
        name: "verifier_m8_p2",
        m: 8,
        t: 16,
        publics: 2,
    },
    Case {
        name: "verifier_m4_p0",
        m: 4,
        t: 16,
        publics: 0,
    },
];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn job(case: &Case, seed: u8) -> Job {
    reference::job(case, seed).unwrap()
}

fn bytecode(case: &Case) -> Vec<u8> {
    let path = fixtures().join(format!("{}.hex", case.name));
    let hex = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run fixtures/regenerate.sh)", path.display()));
    from_hex(&hex).unwrap()
}

fn deploy(case: &Case) -> Chain {
    Chain::with_verifier(bytecode(case)).unwrap()
}

/// Writes the generated sources of every case (run by `fixtures/regenerate.sh`).
#[test]
#[ignore = "writes the fixtures; run by fixtures/regenerate.sh"]
fn write_fixture_sources() {
    if std::env::var_os("TUTTI_EVM_WRITE_FIXTURES").is_none() {
        return;
    }
    for case in &CASES {
        let source = verifier_source(&job(case, 1).pre.aggregator.vk).unwrap();
        std::fs::write(fixtures().join(format!("{}.sol", case.name)), source).unwrap();
    }
}

/// The committed sources are what the generator makes today: a change to the generator
/// without regenerated (and recompiled) fixtures fails here.
#[test]
fn generated_sources_match_the_fixtures() {
    for case in &CASES {
        let source = verifier_source(&job(case, 1).pre.aggregator.vk).unwrap();
        let path = fixtures().join(format!("{}.sol", case.name));
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            source == committed,
            "{} differs from the generator's output: run evm/tests/fixtures/regenerate.sh",
            path.display()
        );
    }
}

#[test]
fn valid_proofs_verify_on_chain_and_tampered_ones_do_not() {
    for case in &CASES {
        let mut chain = deploy(case);
        for seed in [1u8, 2] {
            let j = job(case, seed);
            verify(&j.pre.aggregator.vk, &j.public_inputs, &j.proof).unwrap();
            let (ok, gas) = chain.call(calldata(&j.proof, &j.public_inputs)).unwrap();
            println!(
                "{}: verifyProof {} gas (deployment {} gas)",
                case.name,
                gas,
                chain.deploy_gas()
            );
            assert_eq!(ok, Some(true), "{}: a valid proof", case.name);
            // Every public input changed.
            for k in 0..j.public_inputs.len() {
                let mut pis = j.public_inputs.clone();
                pis[k] += Fr::one();
                assert_eq!(chain.call(calldata(&j.proof, &pis)).unwrap().0, Some(false));
            }
        }
    }
}

/// The contract and `verify` agree on every single-element change of the proof: each
/// scalar plus one, each point replaced by another point of the curve (the generator),
/// and every byte of the EVM form flipped.
#[test]
fn the_contract_agrees_with_the_verifier_on_tampered_proofs() {
    let case = &CASES[1];
    let mut chain = deploy(case);
    let j = job(case, 1);
    let vk = &j.pre.aggregator.vk;
    let valid = calldata(&j.proof, &j.public_inputs);
    for k in 0..j.proof.points().len() {
        let mut p = j.proof;
        *p.points_mut()[k] = ark_ec::AffineRepr::generator();
        let off_chain = verify(vk, &j.public_inputs, &p).is_ok();
        let (on_chain, _) = chain.call(calldata(&p, &j.public_inputs)).unwrap();
        assert_eq!(on_chain, Some(off_chain), "point {k}");
        assert!(!off_chain);
    }
    for k in 0..PROOF_SCALARS {
        let mut p = j.proof;
        *p.scalars_mut()[k] += Fr::one();
        let off_chain = verify(vk, &j.public_inputs, &p).is_ok();
        let (on_chain, _) = chain.call(calldata(&p, &j.public_inputs)).unwrap();
        assert_eq!(on_chain, Some(off_chain), "scalar {k}");
        assert!(!off_chain);
    }
    // Every byte of the proof's EVM form (offset 4 + 3 words into the calldata), flipped
    // two ways: the contract answers what `verify` answers on the same bytes decoded.
    let start = 4 + 3 * 32;
    let evm = proof_evm_bytes(&j.proof);
    for i in 0..evm.len() {
        for mask in [0x01u8, 0x80] {
            let mut bytes = evm.clone();
            bytes[i] ^= mask;
            let off_chain = tutti_evm::proof_from_evm_bytes(&bytes)
                .is_some_and(|p| verify(vk, &j.public_inputs, &p).is_ok());
            let mut data = valid.clone();
            data[start + i] ^= mask;
            let (on_chain, _) = chain.call(data).unwrap();
            assert_eq!(on_chain, Some(off_chain), "byte {i} ^ {mask:#04x}");
            assert!(!off_chain, "byte {i} ^ {mask:#04x} verifies");
        }
    }
}

/// 256-bit big-endian addition (the inputs here stay below 2^255).
fn add_be(a: &[u8], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

/// `a − b` for 256-bit big-endian numbers with a ≥ b.
fn sub_be(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = a[i] as i16 - b[i] as i16 - borrow;
        out[i] = d.rem_euclid(256) as u8;
        borrow = (d < 0) as i16;
    }
    out
}

fn modulus_be<F: ark_ff::PrimeField>() -> [u8; 32] {
    use ark_ff::BigInteger;
    F::MODULUS.to_bytes_be().try_into().unwrap()
}

/// Malformed and non-canonical inputs return false and never revert: swaps of any two
/// points or two scalars, a point replaced by the identity, negated, moved off the curve
/// or written with a coordinate plus the field modulus, a scalar or public input plus the
/// group order, a wrong length, version or number of public inputs.
#[test]
fn malformed_and_non_canonical_inputs_return_false_without_reverting() {
    let case = &CASES[2];
    let mut chain = deploy(case);
    let j = job(case, 1);
    let evm = proof_evm_bytes(&j.proof);
    let pis: Vec<[u8; 32]> = j
        .public_inputs
        .iter()
        .map(tutti_crypto::encoding::scalar_be)
        .collect();
    let (q, r) = (modulus_be::<ark_bn254::Fq>(), modulus_be::<Fr>());
    let vk = j.pre.aggregator.vk.clone();
    // The contract answers false, and so does `verify` on the same bytes decoded.
    let mut check = |proof: &[u8], pis: &[[u8; 32]], what: &str| {
        let decoded: Option<Vec<Fr>> = pis.iter().map(|w| tutti_evm::field_from_be(w)).collect();
        let off_chain = match (tutti_evm::proof_from_evm_bytes(proof), decoded) {
            (Some(p), Some(pis)) => verify(&vk, &pis, &p).is_ok(),
            _ => false,
        };
        let (out, _) = chain.call(tutti_evm::raw_calldata(proof, pis)).unwrap();
        assert_eq!(out, Some(off_chain), "{what}");
        assert!(!off_chain, "{what}: verifies");
    };
    check(&evm, &pis[..0], "no public inputs");
    let point = |k: usize| 1 + 64 * k;
    let scalar = |k: usize| tutti_evm::SCALARS_OFFSET + 32 * k;
    for a in 0..13 {
        for b in a + 1..13 {
            let mut p = evm.clone();
            let (x, y) = (point(a), point(b));
            let pa: Vec<u8> = p[x..x + 64].to_vec();
            let pb: Vec<u8> = p[y..y + 64].to_vec();
            if pa != pb {
                p[x..x + 64].copy_from_slice(&pb);
                p[y..y + 64].copy_from_slice(&pa);
                check(&p, &pis, &format!("points {a} and {b} swapped"));
            }
        }
        let o = point(a);
        let mut p = evm.clone();
        p[o..o + 64].fill(0);
        if p != evm {
            check(&p, &pis, &format!("point {a} the identity"));
        }
        let mut p = evm.clone();
        if p[o + 32..o + 64].iter().any(|b| *b != 0) {
            let neg = sub_be(&q, &p[o + 32..o + 64]);
            p[o + 32..o + 64].copy_from_slice(&neg);
            check(&p, &pis, &format!("point {a} negated"));
        }
        let mut p = evm.clone();
        p[o + 63] ^= 1;
        check(&p, &pis, &format!("point {a} off the curve"));
        let mut p = evm.clone();
        let x = add_be(&p[o..o + 32], &q);
        p[o..o + 32].copy_from_slice(&x);
        check(&p, &pis, &format!("point {a}: x + Q"));
    }
    for a in 0..PROOF_SCALARS {
        for b in a + 1..PROOF_SCALARS {
            let mut p = evm.clone();
            let (x, y) = (scalar(a), scalar(b));
            let (sa, sb) = (p[x..x + 32].to_vec(), p[y..y + 32].to_vec());
            if sa != sb {
                p[x..x + 32].copy_from_slice(&sb);
                p[y..y + 32].copy_from_slice(&sa);
                check(&p, &pis, &format!("scalars {a} and {b} swapped"));
            }
        }
        let mut p = evm.clone();
        let o = scalar(a);
        let s = add_be(&p[o..o + 32], &r);
        p[o..o + 32].copy_from_slice(&s);
        check(&p, &pis, &format!("scalar {a} + r"));
    }
    for k in 0..pis.len() {
        let mut bad = pis.clone();
        bad[k] = add_be(&bad[k], &r);
        check(&evm, &bad, &format!("public input {k} + r"));
    }
    check(&evm[..evm.len() - 1], &pis, "one byte short");
    let mut longer = evm.clone();
    longer.extend_from_slice(&[0u8; 32]);
    check(&longer, &pis, "32 bytes long");
    let mut v1 = evm.clone();
    v1[0] = 1;
    check(&v1, &pis, "version 1");
    let mut more = pis.clone();
    more.push([0u8; 32]);
    check(&evm, &more, "one public input too many");
    check(&[], &pis, "an empty proof");
}
