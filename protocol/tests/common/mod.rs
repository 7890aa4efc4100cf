//! Helpers shared by the integration tests.
#![allow(dead_code)]

use tutti_crypto::srs::InMemorySrs;
use tutti_protocol::circuit::{Circuit, Witness};
use tutti_protocol::circuits::random::random_circuit;
use tutti_protocol::keys::{Preprocessed, preprocess};
use tutti_protocol::layout::{Shape, ShardWitness, ShardedCircuit};
use tutti_protocol::runner::{NoClock, RunOptions, RunReport, run_in_process};
use tutti_protocol::{Fr, ProtocolError};

pub mod adversary;
pub mod circom;

/// A circuit prepared for proving: keys, shard witnesses and public inputs.
pub struct Job {
    pub circuit: Circuit,
    pub witness: Witness,
    pub sharded: ShardedCircuit,
    pub pre: Preprocessed,
    pub witnesses: Vec<ShardWitness>,
    pub public_inputs: Vec<Fr>,
}

/// The job secret of the tests' deterministic runs (public: no zero knowledge).
pub const TEST_SECRET: [u8; 32] = [0u8; 32];

/// The seed of the test SRS for M = `m`, T = `t`.
pub fn srs_seed(m: usize, t: usize) -> Vec<u8> {
    format!("test-{m}-{t}").into_bytes()
}

pub fn srs(m: usize, t: usize) -> InMemorySrs {
    InMemorySrs::insecure_from_seed(m, t, &srs_seed(m, t)).unwrap()
}

/// A random circuit filling `fill` of every shard's usable rows.
pub fn random_job(m: usize, t: usize, seed: u64) -> Job {
    let gates = m * (t - 1);
    let (circuit, witness) = random_circuit(gates, seed);
    job(circuit, witness, m, t)
}

pub fn job(circuit: Circuit, witness: Witness, m: usize, t: usize) -> Job {
    let shape = Shape::new(m, t).unwrap();
    let sharded = ShardedCircuit::new(&circuit, shape).unwrap();
    let pre = preprocess(&sharded, &srs(m, t)).unwrap();
    let witnesses = sharded.shard_witnesses(&witness);
    let public_inputs = witness.public_inputs(&circuit);
    Job {
        circuit,
        witness,
        sharded,
        pre,
        witnesses,
        public_inputs,
    }
}

impl Job {
    /// Proves with honest workers and a fixed job secret (reproducible).
    pub fn prove(&self) -> Result<RunReport, ProtocolError> {
        self.prove_with(
            self.witnesses.clone(),
            RunOptions::deterministic(TEST_SECRET),
        )
    }

    pub fn prove_with(
        &self,
        witnesses: Vec<ShardWitness>,
        options: RunOptions,
    ) -> Result<RunReport, ProtocolError> {
        run_in_process(&self.pre, witnesses, &self.public_inputs, options, &NoClock)
    }
}
