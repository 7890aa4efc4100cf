//! The reference case: a small circuit with a given number of public inputs, its key
//! under a seeded (INSECURE, test-only) SRS and proofs of it. The test fixtures are
//! verifiers of such keys; `tutti bench` measures gas on the one of [`BENCH_CASE`].

use tutti_crypto::Fr;
use tutti_crypto::srs::InMemorySrs;
use tutti_protocol::ProtocolError;
use tutti_protocol::circuit::{CircuitBuilder, Var};
use tutti_protocol::keys::{Preprocessed, preprocess};
use tutti_protocol::layout::{Shape, ShardedCircuit};
use tutti_protocol::proof::Proof;
use tutti_protocol::runner::{NoClock, RunOptions, run_in_process};

/// A deterministic key and statement: M shards of T rows, `publics` public inputs, the SRS
/// seeded with the name.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// Fixture name (and SRS seed).
    pub name: &'static str,
    /// Shards.
    pub m: usize,
    /// Rows per shard.
    pub t: usize,
    /// Public inputs.
    pub publics: usize,
}

/// The case `tutti bench` measures gas on: one public input, as snarkjs's figures.
pub const BENCH_CASE: Case = Case {
    name: "verifier_m2_p1",
    m: 2,
    t: 16,
    publics: 1,
};

/// The creation code of [`BENCH_CASE`]'s verifier, compiled by the pinned solc-js
/// (`evm/tests/fixtures/regenerate.sh`).
pub const BENCH_BYTECODE_HEX: &str = include_str!("../tests/fixtures/verifier_m2_p1.hex");

/// Hex to bytes (the fixtures' format); `None` on anything but an even number of hex
/// digits.
pub fn from_hex(hex: &str) -> Option<Vec<u8>> {
    let hex = hex.trim();
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A proved statement of a case.
pub struct Job {
    /// Keys.
    pub pre: Preprocessed,
    /// The statement.
    pub public_inputs: Vec<Fr>,
    /// One proof of it.
    pub proof: Proof,
}

/// The case's circuit (its public inputs first, then multiplications and additions over
/// everything before, so copies cross shards), preprocessed, and one proof of it made
/// with job secret `[proof_seed; 32]`.
pub fn job(case: &Case, proof_seed: u8) -> Result<Job, ProtocolError> {
    let shape = Shape::new(case.m, case.t)?;
    let mut b = CircuitBuilder::new();
    let mut pool: Vec<Var> = (0..case.publics)
        .map(|k| b.public_input(Fr::from(1000 + k as u64)))
        .collect();
    if pool.is_empty() {
        pool.push(b.constant(Fr::from(5u64)));
    }
    let gates = case.m * (case.t - 1);
    let mut k = 0usize;
    while b.num_gates() < gates {
        let (x, y) = (pool[k % pool.len()], pool[(k * 7 + 3) % pool.len()]);
        let out = if k.is_multiple_of(2) {
            b.mul(x, y)
        } else {
            b.add(x, y)
        };
        pool.push(out);
        k += 1;
    }
    let (circuit, witness) = b.build();
    let sharded = ShardedCircuit::new(&circuit, shape)?;
    let srs = InMemorySrs::insecure_from_seed(case.m, case.t, case.name.as_bytes())?;
    let pre = preprocess(&sharded, &srs)?;
    let public_inputs = witness.public_inputs(&circuit);
    let report = run_in_process(
        &pre,
        sharded.shard_witnesses(&witness),
        &public_inputs,
        RunOptions::deterministic([proof_seed; 32]),
        &NoClock,
    )?;
    Ok(Job {
        pre,
        public_inputs,
        proof: report.proof,
    })
}
