//! Kernels of the protocol: one worker's quotient round (round 3, the heaviest) and the
//! verifier. `cargo bench -p tutti-protocol --bench prover`.

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use tutti_crypto::scalars::derive_scalars;
use tutti_crypto::srs::InMemorySrs;
use tutti_protocol::Fr;
use tutti_protocol::circuits::random::random_circuit;
use tutti_protocol::keys::{Preprocessed, preprocess};
use tutti_protocol::layout::{Shape, ShardWitness, ShardedCircuit};
use tutti_protocol::runner::{NoClock, RunOptions, run_in_process};
use tutti_protocol::verifier::verify;
use tutti_protocol::worker::{ShardInputs, ShardProver};

/// Shards and rows per shard of the benchmarked job.
const M: usize = 4;
const T: usize = 1 << 12;

struct Job {
    pre: Preprocessed,
    witnesses: Vec<ShardWitness>,
    public_inputs: Vec<Fr>,
}

fn job() -> Job {
    let shape = Shape::new(M, T).expect("shape");
    let (circuit, witness) = random_circuit(M * shape.usable_rows(), 1);
    let sharded = ShardedCircuit::new(&circuit, shape).expect("sharding");
    let srs = InMemorySrs::insecure_from_seed(M, T, b"bench-prover").expect("srs");
    Job {
        pre: preprocess(&sharded, &srs).expect("preprocessing"),
        witnesses: sharded.shard_witnesses(&witness),
        public_inputs: witness.public_inputs(&circuit),
    }
}

fn round3(c: &mut Criterion) {
    let job = job();
    let shard = 1;
    let key = Arc::new(job.pre.proving_keys[shard].clone());
    let ch = derive_scalars(&[5u8; 32], b"bench challenges", 3);
    // A prover that has done rounds 1 and 2 (not timed).
    let ready = || {
        let mut p = ShardProver::new(ShardInputs {
            key: key.clone(),
            witness: job.witnesses[shard].clone(),
            public_inputs: job.public_inputs.clone(),
            shard_key: [3u8; 32],
        });
        let _ = p.round1().expect("round 1");
        let (_, product) = p.round2(ch[0], ch[1]).expect("round 2");
        (p, product)
    };
    let mut g = c.benchmark_group("worker");
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("round3_quotient", T), |b| {
        b.iter_batched(
            ready,
            // W = 1 and W_next = the shard's own product keep every constraint satisfied.
            |(mut p, product)| p.round3(ch[2], Fr::from(1u64), product).expect("round 3"),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn verifier(c: &mut Criterion) {
    let job = job();
    let report = run_in_process(
        &job.pre,
        job.witnesses.clone(),
        &job.public_inputs,
        // Reproducible runs; the blinding of a benchmark proof need not be secret.
        RunOptions::deterministic([0u8; 32]),
        &NoClock,
    )
    .expect("proving");
    let vk = &job.pre.aggregator.vk;
    c.bench_function("verify", |b| {
        b.iter(|| {
            verify(black_box(vk), black_box(&job.public_inputs), &report.proof).expect("valid")
        })
    });
}

criterion_group!(benches, round3, verifier);
criterion_main!(benches);
