//! The compiled circuit (`compiled`): circom fixtures compile at M ∈ {1, 2, 4} into the
//! smallest T that fits, prove and verify against snarkjs's `public.json`; the encoding
//! is canonical (a decoded artifact re-encodes to the same bytes and digest, any
//! truncation or changed byte is refused or names another circuit); built-in circuits
//! compile to the same kind of artifact; the iden3 writers are byte-exact inverses of
//! the readers on every fixture.

mod common;

use ark_ff::Field;
use proptest::prelude::*;
use tutti_protocol::Fr;
use tutti_protocol::circuits::{BuiltinCircuit, CircuitRef};
use tutti_protocol::compiled::{CompiledCircuit, CompiledError, fitting_shard_gates};
use tutti_protocol::import::ImportError;
use tutti_protocol::import::circom::{self, R1cs};
use tutti_protocol::import::plonk::ConvertOptions;
use tutti_protocol::keys::preprocess;
use tutti_protocol::layout::{Shape, slot_parts};
use tutti_protocol::runner::{NoClock, RunOptions, run_in_process};
use tutti_protocol::verifier::verify;

use common::circom::{fixture, public_json, r1cs, wtns};

/// Fixtures with a witness and snarkjs's `public.json`.
const CIRCUITS: [&str; 6] = [
    "multiplier",
    "poseidon2",
    "affine",
    "merkle",
    "multi_io",
    "crossing",
];

fn compile(name: &str, m: usize) -> CompiledCircuit {
    CompiledCircuit::from_r1cs(&r1cs(name), ConvertOptions::default(), m, None)
        .unwrap_or_else(|e| panic!("{name} at M = {m}: {e}"))
}

#[test]
fn iden3_writers_give_back_the_fixture_bytes() {
    for name in CIRCUITS {
        let r = fixture(&format!("{name}.r1cs"));
        assert_eq!(R1cs::from_bytes(&r).unwrap().to_bytes(), r, "{name}.r1cs");
        let w = fixture(&format!("{name}.wtns"));
        assert_eq!(
            circom::Witness::from_bytes(&w).unwrap().to_bytes(),
            w,
            "{name}.wtns"
        );
    }
}

#[test]
fn the_smallest_shard_size_that_fits_is_chosen() {
    for (rows, m, t) in [
        (1, 1, 16),
        (15, 1, 16),
        (16, 1, 32),
        (597, 1, 1024),
        (597, 2, 512),
    ] {
        assert_eq!(
            fitting_shard_gates(rows, m).unwrap(),
            t,
            "{rows} rows, M = {m}"
        );
    }
    for name in CIRCUITS {
        for m in [1, 2, 4] {
            let c = compile(name, m);
            let t = c.shape().shard_gates;
            assert!(c.rows() <= m * (t - 1), "{name}: fits");
            assert!(
                t == 16 || c.rows() > m * (t / 2 - 1),
                "{name}: T = {t} is not the smallest"
            );
        }
    }
    assert!(fitting_shard_gates(10, 3).is_err());
}

#[test]
fn fixtures_prove_in_one_two_and_four_shards_with_snarkjs_statement() {
    for name in CIRCUITS {
        let snarkjs = public_json(name);
        for m in [1, 2, 4] {
            let compiled = compile(name, m);
            let (witness, public) = compiled.witness_from_circom(&wtns(name)).unwrap();
            assert_eq!(
                public, snarkjs,
                "{name}: statement is snarkjs's public.json"
            );
            assert_eq!(compiled.public_inputs(), snarkjs.len());
            let shape = compiled.shape();
            let pre = preprocess(
                compiled.sharded(),
                &common::srs(shape.shards, shape.shard_gates),
            )
            .unwrap();
            let witnesses = compiled.sharded().shard_witnesses(&witness);
            compiled
                .sharded()
                .check_witness(&witnesses, &public)
                .unwrap();
            let report = run_in_process(
                &pre,
                witnesses,
                &public,
                RunOptions::deterministic(common::TEST_SECRET),
                &NoClock,
            )
            .unwrap_or_else(|e| panic!("{name} at M = {m}: {e}"));
            verify(&pre.aggregator.vk, &snarkjs, &report.proof).unwrap();
            let mut other = snarkjs.clone();
            other[0] += Fr::ONE;
            assert!(verify(&pre.aggregator.vk, &other, &report.proof).is_err());
        }
    }
}

#[test]
fn the_crossing_fixture_is_wired_across_every_shard_boundary() {
    let c = compile("crossing", 4);
    let sharded = c.sharded();
    let t = c.shape().shard_gates;
    // Boundary b lies between shards b and b + 1: some copy cycle steps across it.
    let mut crossed = [false; 3];
    for (s, shard) in sharded.shards.iter().enumerate() {
        for sigma in &shard.sigma {
            for &to in sigma {
                let (s2, _, _) = slot_parts(to, t);
                for (b, seen) in crossed.iter_mut().enumerate() {
                    *seen |= s.min(s2) <= b && s.max(s2) > b;
                }
            }
        }
    }
    assert_eq!(crossed, [true; 3], "{}", c.describe());
    // Every shard has rows of the circuit (the last is not padding only).
    assert!(c.rows() > 3 * (t - 1), "{}", c.describe());
}

#[test]
fn decoding_gives_back_the_same_circuit_and_digest() {
    for name in CIRCUITS {
        for eliminate_aliases in [false, true] {
            let c = CompiledCircuit::from_r1cs(
                &r1cs(name),
                ConvertOptions { eliminate_aliases },
                2,
                None,
            )
            .unwrap();
            let bytes = c.to_bytes();
            assert_eq!(bytes.len(), c.encoded_len());
            let d = CompiledCircuit::from_bytes(&bytes).unwrap();
            assert_eq!(d.digest(), c.digest());
            assert_eq!(d.circuit().gates, c.circuit().gates);
            assert_eq!(d.r1cs(), c.r1cs());
        }
    }
    // The digest names the circuit and the shape, not the witness.
    let (a, b) = (compile("poseidon2", 1), compile("poseidon2", 2));
    assert_ne!(a.digest(), b.digest());
    let t =
        CompiledCircuit::from_r1cs(&r1cs("poseidon2"), ConvertOptions::default(), 2, Some(1024));
    assert_ne!(t.unwrap().digest(), b.digest());
    assert_ne!(
        compile("multiplier", 1).digest(),
        compile("affine", 1).digest()
    );
}

#[test]
fn a_gate_circuit_takes_no_circom_witness_and_a_wrong_witness_is_refused() {
    let (c, _, _) = CircuitRef {
        kind: BuiltinCircuit::Random,
        shape: Shape::new(2, 16).unwrap(),
        seed: 1,
    }
    .compile()
    .unwrap();
    assert!(matches!(
        c.witness_from_circom(&wtns("multiplier")),
        Err(CompiledError::NotR1cs(_))
    ));
    let m = compile("multiplier", 1);
    assert!(matches!(
        m.witness_from_circom(&wtns("poseidon2")),
        Err(CompiledError::Import(ImportError::WitnessLength { .. }))
    ));
    let mut bad = wtns("multiplier");
    bad.0[1] += Fr::ONE;
    assert!(matches!(
        m.witness_from_circom(&bad),
        Err(CompiledError::Import(ImportError::Unsatisfied {
            constraint: 0
        }))
    ));
    // A circuit too large for the shape asked for.
    assert!(matches!(
        CompiledCircuit::from_r1cs(&r1cs("poseidon2"), ConvertOptions::default(), 1, Some(256)),
        Err(CompiledError::Protocol(_))
    ));
}

#[test]
fn every_truncation_is_refused() {
    for bytes in [
        compile("multiplier", 2).to_bytes(),
        builtin(BuiltinCircuit::Rollup, 2, 512, 3).to_bytes(),
    ] {
        for len in 0..bytes.len() {
            assert!(
                CompiledCircuit::from_bytes(&bytes[..len]).is_err(),
                "a prefix of {len} bytes was accepted"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(CompiledCircuit::from_bytes(&longer).is_err());
    }
    let mut v2 = compile("multiplier", 1).to_bytes();
    v2[9] = 2;
    assert!(matches!(
        CompiledCircuit::from_bytes(&v2),
        Err(CompiledError::UnsupportedVersion { found: 2, .. })
    ));
}

fn builtin(kind: BuiltinCircuit, m: usize, t: usize, seed: u64) -> CompiledCircuit {
    CircuitRef {
        kind,
        shape: Shape::new(m, t).unwrap(),
        seed,
    }
    .compile()
    .unwrap()
    .0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Built-in circuits round-trip through the gate encoding.
    #[test]
    fn gate_circuits_round_trip(seed in any::<u64>(), rollup in any::<bool>(), m_log in 0u32..3) {
        let kind = if rollup { BuiltinCircuit::Rollup } else { BuiltinCircuit::Random };
        let c = builtin(kind, 1 << m_log, if rollup { 512 } else { 32 }, seed);
        let d = CompiledCircuit::from_bytes(&c.to_bytes()).unwrap();
        prop_assert_eq!(d.digest(), c.digest());
        prop_assert_eq!(&d.circuit().gates, &c.circuit().gates);
        prop_assert_eq!(&d.circuit().equalities, &c.circuit().equalities);
        prop_assert_eq!(&d.circuit().shard_breaks, &c.circuit().shard_breaks);
        prop_assert_eq!(d.circuit().num_vars, c.circuit().num_vars);
    }

    /// A changed byte is refused, or decodes to another circuit with another digest:
    /// never to the same digest.
    #[test]
    fn a_changed_byte_never_keeps_the_digest(at in any::<prop::sample::Index>(), delta in 1u8..=255, r1cs_body in any::<bool>()) {
        let c = if r1cs_body { compile("affine", 2) } else { builtin(BuiltinCircuit::Random, 2, 16, 7) };
        let mut bytes = c.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] = bytes[i].wrapping_add(delta);
        if let Ok(d) = CompiledCircuit::from_bytes(&bytes) {
            prop_assert_ne!(d.digest(), c.digest());
        }
    }
}
