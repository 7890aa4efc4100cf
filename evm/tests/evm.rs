//! The generated Solidity verifier in a real EVM (revm): the committed fixtures are the
//! generator's output for deterministic test keys and their bytecode compiled with the
//! pinned solc-js (`fixtures/regenerate.sh`). Valid proofs return true, tampered ones
//! false, and the contract agrees with `tutti_protocol::verifier::verify`.

use ark_ff::One;
use revm::context::TxEnv;
use revm::context_interface::result::{ExecutionResult, Output};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{Address, Bytes, TxKind};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};
use std::path::PathBuf;
use tutti_crypto::Fr;
use tutti_crypto::srs::InMemorySrs;
use tutti_evm::{calldata, proof_evm_bytes, solidity::verifier_source};
use tutti_protocol::circuit::{CircuitBuilder, Var};
use tutti_protocol::keys::{Preprocessed, preprocess};
use tutti_protocol::layout::{Shape, ShardedCircuit};
use tutti_protocol::proof::{PROOF_SCALARS, Proof};
use tutti_protocol::runner::{NoClock, RunOptions, run_in_process};
use tutti_protocol::verifier::verify;

/// A deterministic test key and statement: M shards of T rows, `publics` public inputs.
struct Case {
    name: &'static str,
    m: usize,
    t: usize,
    publics: usize,
}

const CASES: [Case; 4] = [
    Case {
        name: "verifier_m1_p1",
        m: 1,
        t: 16,
        publics: 1,
    },
    Case {
        name: "verifier_m2_p1",
        m: 2,
        t: 16,
        publics: 1,
    },
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
];

struct Job {
    pre: Preprocessed,
    public_inputs: Vec<Fr>,
    proof: Proof,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The case's circuit (its public inputs first, then multiplications and additions over
/// everything before, so copies cross shards), preprocessed under a seeded SRS, and one
/// proof of it.
fn job(case: &Case, proof_seed: u8) -> Job {
    let shape = Shape::new(case.m, case.t).unwrap();
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
    let sharded = ShardedCircuit::new(&circuit, shape).unwrap();
    let srs = InMemorySrs::insecure_from_seed(case.m, case.t, case.name.as_bytes()).unwrap();
    let pre = preprocess(&sharded, &srs).unwrap();
    let public_inputs = witness.public_inputs(&circuit);
    assert_eq!(public_inputs.len(), case.publics);
    let report = run_in_process(
        &pre,
        sharded.shard_witnesses(&witness),
        &public_inputs,
        RunOptions::deterministic([proof_seed; 32]),
        &NoClock,
    )
    .unwrap();
    Job {
        pre,
        public_inputs,
        proof: report.proof,
    }
}

/// A fresh chain with the case's verifier deployed; the deployment's gas.
struct Chain {
    evm: revm::MainnetEvm<revm::handler::MainnetContext<CacheDB<EmptyDB>>>,
    nonce: u64,
    verifier: Address,
    deploy_gas: u64,
}

impl Chain {
    fn new(bytecode: Vec<u8>) -> Self {
        let evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .build_mainnet();
        let mut chain = Chain {
            evm,
            nonce: 0,
            verifier: Address::ZERO,
            deploy_gas: 0,
        };
        let result = chain.transact(TxKind::Create, bytecode);
        let ExecutionResult::Success {
            output: Output::Create(_, Some(address)),
            ..
        } = &result
        else {
            panic!("deployment failed: {result:?}");
        };
        chain.verifier = *address;
        chain.deploy_gas = result.tx_gas_used();
        chain
    }

    fn transact(&mut self, kind: TxKind, data: Vec<u8>) -> ExecutionResult {
        let tx = TxEnv::builder()
            .caller(Address::with_last_byte(0x11))
            .kind(kind)
            .data(Bytes::from(data))
            .gas_limit(15_000_000)
            .nonce(self.nonce)
            .build_fill();
        self.nonce += 1;
        self.evm
            .transact_commit(tx)
            .expect("the transaction executes")
    }

    /// `verifyProof` on raw calldata: Some(result) when it returned a bool, None when it
    /// reverted or halted; and the transaction's gas (base and calldata included).
    fn call(&mut self, data: Vec<u8>) -> (Option<bool>, u64) {
        let result = self.transact(TxKind::Call(self.verifier), data);
        let gas = result.tx_gas_used();
        let out = match &result {
            ExecutionResult::Success { output, .. } => {
                let bytes = output.data();
                (bytes.len() == 32 && bytes[..31].iter().all(|b| *b == 0) && bytes[31] <= 1)
                    .then(|| bytes[31] == 1)
            }
            _ => None,
        };
        (out, gas)
    }
}

fn bytecode(case: &Case) -> Vec<u8> {
    let path = fixtures().join(format!("{}.hex", case.name));
    let hex = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run fixtures/regenerate.sh)", path.display()));
    let hex = hex.trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
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
        let mut chain = Chain::new(bytecode(case));
        for seed in [1u8, 2] {
            let j = job(case, seed);
            verify(&j.pre.aggregator.vk, &j.public_inputs, &j.proof).unwrap();
            let (ok, gas) = chain.call(calldata(&j.proof, &j.public_inputs));
            println!(
                "{}: verifyProof {} gas (deployment {} gas)",
                case.name, gas, chain.deploy_gas
            );
            assert_eq!(ok, Some(true), "{}: a valid proof", case.name);
            // Every public input changed.
            for k in 0..j.public_inputs.len() {
                let mut pis = j.public_inputs.clone();
                pis[k] += Fr::one();
                assert_eq!(chain.call(calldata(&j.proof, &pis)).0, Some(false));
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
    let mut chain = Chain::new(bytecode(case));
    let j = job(case, 1);
    let vk = &j.pre.aggregator.vk;
    let valid = calldata(&j.proof, &j.public_inputs);
    for k in 0..j.proof.points().len() {
        let mut p = j.proof;
        *p.points_mut()[k] = ark_ec::AffineRepr::generator();
        let off_chain = verify(vk, &j.public_inputs, &p).is_ok();
        let (on_chain, _) = chain.call(calldata(&p, &j.public_inputs));
        assert_eq!(on_chain, Some(off_chain), "point {k}");
        assert!(!off_chain);
    }
    for k in 0..PROOF_SCALARS {
        let mut p = j.proof;
        *p.scalars_mut()[k] += Fr::one();
        let (on_chain, _) = chain.call(calldata(&p, &j.public_inputs));
        assert_eq!(on_chain, Some(false), "scalar {k}");
    }
    // Every byte of the proof's EVM form (offset 4 + 3 words into the calldata).
    let start = 4 + 3 * 32;
    let evm_len = proof_evm_bytes(&j.proof).len();
    for i in 0..evm_len {
        let mut data = valid.clone();
        data[start + i] ^= 0x01;
        let (on_chain, _) = chain.call(data);
        assert_eq!(on_chain, Some(false), "byte {i} of the proof's EVM form");
    }
}
