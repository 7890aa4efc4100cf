//! What the trust checks cost a worker, next to its proving time: the checks it runs
//! on an assignment before it signs anything (the SRS row check, the shard-inputs
//! digest, the comparison with the verifying key), the first time it sees a row and once
//! the row is in its cache ([`CheckedRows`]).

use super::{Job, SMALL_REPS, ms_of_nanos};
use anyhow::Result;
use std::sync::Arc;
use std::time::Instant;
use tutti_crypto::identity::WorkerIdentity;
use tutti_crypto::srs::check_row;
use tutti_protocol::worker::{CheckedRows, ShardInputs, SignedWorker};

/// Milliseconds of each check (medians over repetitions).
pub struct CheckCosts {
    /// The row check alone: one MSM of T + 4 points and a two-pair pairing.
    pub row_check_ms: f64,
    /// The shard-inputs digest (hashes the witness, the fixed values and the row).
    pub inputs_digest_ms: f64,
    /// Everything a worker checks before it signs, with a row it has not seen.
    pub worker_checks_ms: f64,
    /// The same with the row already in its cache.
    pub worker_checks_cached_ms: f64,
}

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut ns: Vec<u64> = (0..SMALL_REPS.max(3))
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    ms_of_nanos(ns[ns.len() / 2])
}

/// Measures the checks of shard `shard` of `job`.
pub fn worker_check_costs(job: &Job, shard: usize) -> Result<CheckCosts> {
    let vk = &job.pre.aggregator.vk;
    let key = Arc::new(job.pre.proving_keys[shard].clone());
    let inputs = ShardInputs {
        key: key.clone(),
        witness: job.witnesses[shard].clone(),
        public_inputs: job.public_inputs.clone(),
        shard_key: [3u8; 32],
    };
    let base = key.row.lagrange_base();
    check_row(&key.row, &base, &vk.g2)?;
    let row_check_ms = median_ms(|| {
        let _ = check_row(&key.row, &base, &vk.g2);
    });
    let inputs_digest_ms = median_ms(|| {
        let _ = inputs.digest();
    });
    let identity = WorkerIdentity::from_seed(&[1u8; 32]);
    let worker_checks_ms = median_ms(|| {
        let _ = SignedWorker::new(identity.clone(), [1u8; 32], vk, inputs.clone());
    });
    let mut cache = CheckedRows::default();
    let _ = SignedWorker::with_checked_rows(
        identity.clone(),
        [1u8; 32],
        vk,
        inputs.clone(),
        &mut cache,
    );
    let worker_checks_cached_ms = median_ms(|| {
        let _ = SignedWorker::with_checked_rows(
            identity.clone(),
            [1u8; 32],
            vk,
            inputs.clone(),
            &mut cache,
        );
    });
    Ok(CheckCosts {
        row_check_ms,
        inputs_digest_ms,
        worker_checks_ms,
        worker_checks_cached_ms,
    })
}
