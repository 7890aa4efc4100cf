//! Kernels of the bivariate KZG: a worker's commitment of a T-coefficient polynomial with
//! its SRS row, a worker's partial opening, and the aggregator's batched share check of
//! M workers (one multi-pairing). `cargo bench -p tutti-crypto --bench kzg`.

use ark_ec::CurveGroup;
use ark_ff::UniformRand;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::{SeedableRng, rngs::StdRng};
use std::hint::black_box;
use tutti_crypto::Fr;
use tutti_crypto::kzg::{ShareClaim, batch_check_shares, commit, open};
use tutti_crypto::srs::{InMemorySrs, RowSource, row_len};

/// Rows per shard for the commit and open kernels.
const T: usize = 1 << 12;
/// Rows per shard for the share-check setup (its cost does not depend on T).
const T_SHARE: usize = 64;

fn rand_poly(rng: &mut StdRng, n: usize) -> Vec<Fr> {
    (0..n).map(|_| Fr::rand(rng)).collect()
}

fn worker_kernels(c: &mut Criterion) {
    let srs = InMemorySrs::insecure_from_seed(2, T, b"bench-kzg").expect("srs");
    let row = srs.row(1, row_len(T)).expect("row");
    let mut rng = StdRng::seed_from_u64(1);
    let f = rand_poly(&mut rng, T);
    let x = Fr::rand(&mut rng);
    let mut g = c.benchmark_group("worker");
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("commit", T), |b| {
        b.iter(|| commit(black_box(&row.bases), black_box(&f)).expect("commit"))
    });
    g.bench_function(BenchmarkId::new("partial_open", T), |b| {
        b.iter(|| open(black_box(&row.bases), black_box(&f), black_box(x)).expect("open"))
    });
    g.finish();
}

fn share_check(c: &mut Criterion) {
    let mut g = c.benchmark_group("aggregator");
    g.sample_size(20);
    for m in [8usize, 32] {
        let srs = InMemorySrs::insecure_from_seed(m, T_SHARE, b"bench-share").expect("srs");
        let g2 = srs.aggregator_part().expect("aggregator part").g2;
        let mut rng = StdRng::seed_from_u64(m as u64);
        let x = Fr::rand(&mut rng);
        // Two claims per worker, as in round 5 (the openings at x and at ω·x).
        let claims: Vec<ShareClaim> = (0..2 * m)
            .map(|k| {
                let row = srs.row(k % m, row_len(T_SHARE)).expect("row");
                let f = rand_poly(&mut rng, T_SHARE);
                let (value, proof) = open(&row.bases, &f, x).expect("open");
                ShareClaim {
                    base: row.lagrange_base(),
                    commitment: commit(&row.bases, &f).expect("commit").into_affine(),
                    point: x,
                    value,
                    proof: proof.into_affine(),
                }
            })
            .collect();
        let weights: Vec<Fr> = (0..claims.len()).map(|_| Fr::rand(&mut rng)).collect();
        assert!(batch_check_shares(&claims, &weights, &g2));
        g.bench_function(BenchmarkId::new("batched_share_check", m), |b| {
            b.iter(|| batch_check_shares(black_box(&claims), black_box(&weights), &g2))
        });
    }
    g.finish();
}

criterion_group!(benches, worker_kernels, share_check);
criterion_main!(benches);
