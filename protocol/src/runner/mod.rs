//! The in-process runner: drives M [`Worker`]s and one [`Aggregator`] in one process,
//! passing every message through its byte encoding (so traffic is counted exactly and the
//! codecs are exercised). Time is read from a caller-supplied [`Clock`]; the protocol
//! crate itself reads no clock.

pub mod faults;
pub mod robust;

pub use faults::{Fault, FaultSpec};
pub use robust::{JobOptions, JobReport, Reassignment, run_job};

use crate::aggregator::{Aggregator, AggregatorEvent, AggregatorOptions};
use crate::error::ProtocolError;
use crate::keys::Preprocessed;
use crate::layout::ShardWitness;
use crate::messages::{AggregatorMessage, WorkerMessage};
use crate::proof::Proof;
use crate::worker::{ShardInputs, Worker};
use std::collections::VecDeque;
use std::sync::Arc;
use tutti_crypto::Fr;
use tutti_crypto::scalars::derive_key;

/// A monotonic clock supplied by the caller (nanoseconds from any fixed origin).
pub trait Clock {
    /// Nanoseconds now.
    fn now_nanos(&self) -> u64;
}

/// A clock that always reads zero (for callers that do not time anything).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoClock;

impl Clock for NoClock {
    fn now_nanos(&self) -> u64 {
        0
    }
}

/// A fresh job secret from the operating system's CSPRNG ([`rand::rngs::OsRng`]).
pub fn fresh_job_secret() -> [u8; 32] {
    use rand::RngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// Options of an in-process run. [`RunOptions::default`] draws a fresh job secret from
/// the OS, so two runs of one witness give different (equally valid) proofs and the
/// blinding stays secret. [`RunOptions::deterministic`] fixes the secret instead: for
/// tests and reproducible benchmarks only.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Secret from which every shard key and the aggregator's key are derived. Anyone
    /// who knows it can strip the proof's blinding (no zero knowledge) and predict the
    /// share-check weights.
    pub job_secret: [u8; 32],
    /// Workers check their witness and refuse a bad one (true for honest workers).
    pub worker_checks: bool,
    /// Aggregator options.
    pub aggregator: AggregatorOptions,
}

impl Default for RunOptions {
    /// Honest workers, default aggregator options and a fresh job secret from the OS.
    fn default() -> Self {
        RunOptions::deterministic(fresh_job_secret())
    }
}

impl RunOptions {
    /// Options with a caller-chosen job secret: the same inputs and secret give
    /// byte-identical proofs. For tests and reproducible benchmarks only: whoever knows
    /// `job_secret` knows every blinding scalar, so the proof hides nothing of the
    /// witness.
    pub fn deterministic(job_secret: [u8; 32]) -> Self {
        RunOptions {
            job_secret,
            worker_checks: true,
            aggregator: AggregatorOptions::default(),
        }
    }
}

/// The per-shard key of shard `i` for a job secret.
pub fn shard_key(job_secret: &[u8; 32], shard: usize) -> [u8; 32] {
    derive_key(job_secret, format!("shard/{shard}").as_bytes())
}

/// The aggregator's private key for a job secret.
pub fn aggregator_job_key(job_secret: &[u8; 32]) -> [u8; 32] {
    derive_key(job_secret, b"aggregator")
}

/// Traffic of one worker, in protocol bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes the worker sent.
    pub sent: usize,
    /// Bytes the worker received.
    pub received: usize,
}

/// The outcome of an in-process run.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The verified proof.
    pub proof: Proof,
    /// Time each worker spent computing, in nanoseconds.
    pub worker_nanos: Vec<u64>,
    /// Time the aggregator spent computing, in nanoseconds.
    pub aggregator_nanos: u64,
    /// Protocol bytes per worker.
    pub traffic: Vec<Traffic>,
}

/// Proves with M workers and one aggregator in this process.
pub fn run_in_process(
    pre: &Preprocessed,
    witnesses: Vec<ShardWitness>,
    public_inputs: &[Fr],
    options: RunOptions,
    clock: &dyn Clock,
) -> Result<RunReport, ProtocolError> {
    let m = pre.aggregator.vk.shape.shards;
    if witnesses.len() != m || pre.proving_keys.len() != m {
        return Err(ProtocolError::Mismatch(format!(
            "{} witnesses and {} proving keys for {m} shards",
            witnesses.len(),
            pre.proving_keys.len()
        )));
    }
    let span = tracing::info_span!("job", shards = m);
    let _enter = span.enter();
    let mut workers: Vec<Worker> = witnesses
        .into_iter()
        .zip(&pre.proving_keys)
        .enumerate()
        .map(|(i, (witness, pk))| {
            let w = Worker::new(ShardInputs {
                key: Arc::new(pk.clone()),
                witness,
                public_inputs: public_inputs.to_vec(),
                shard_key: shard_key(&options.job_secret, i),
            });
            if options.worker_checks {
                w
            } else {
                w.without_witness_checks()
            }
        })
        .collect();
    let mut aggregator = Aggregator::new(
        Arc::new(pre.aggregator.clone()),
        public_inputs.to_vec(),
        aggregator_job_key(&options.job_secret),
        options.aggregator,
    )?;
    let mut worker_nanos = vec![0u64; m];
    let mut aggregator_nanos = 0u64;
    let mut traffic = vec![Traffic::default(); m];
    let mut to_aggregator: VecDeque<(usize, Vec<u8>)> = VecDeque::new();
    for (i, w) in workers.iter_mut().enumerate() {
        let t0 = clock.now_nanos();
        let msg = w.start()?;
        worker_nanos[i] += clock.now_nanos() - t0;
        to_aggregator.push_back((i, msg.to_bytes()));
    }
    loop {
        while let Some((shard, bytes)) = to_aggregator.pop_front() {
            traffic[shard].sent += bytes.len();
            let msg = WorkerMessage::from_bytes(&bytes)?;
            let t0 = clock.now_nanos();
            let r = aggregator.handle_message(shard, msg);
            aggregator_nanos += clock.now_nanos() - t0;
            r?;
        }
        let Some(event) = aggregator.poll_event() else {
            return Err(ProtocolError::UnexpectedMessage(
                "the aggregator stopped without a proof or an error".into(),
            ));
        };
        match event {
            AggregatorEvent::Send { shard, message } => {
                let bytes = message.to_bytes();
                traffic[shard].received += bytes.len();
                let msg = AggregatorMessage::from_bytes(&bytes)?;
                let t0 = clock.now_nanos();
                let reply = workers[shard].handle(&msg)?;
                worker_nanos[shard] += clock.now_nanos() - t0;
                to_aggregator.push_back((shard, reply.to_bytes()));
            }
            AggregatorEvent::ProofReady(proof) => {
                return Ok(RunReport {
                    proof: *proof,
                    worker_nanos,
                    aggregator_nanos,
                    traffic,
                });
            }
            AggregatorEvent::Failed(e) => return Err(e),
        }
    }
}
