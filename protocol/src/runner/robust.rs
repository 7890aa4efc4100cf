//! The robust in-process runner: a [`Coordinator`] and signed workers (plus spares) in one
//! process, every message passing through its wire encoding, with optional injected
//! faults. Virtual time: when nothing is in flight and the job is unfinished, the open
//! round's deadline is taken to have passed.

use super::faults::{Fault, FaultSpec, corrupt, resign};
use super::{Clock, Traffic, aggregator_job_key, fresh_job_secret, shard_key};
use crate::aggregator::AggregatorOptions;
use crate::aggregator::coordinator::{Coordinator, CoordinatorEvent, JobSetup, ReassignReason};
use crate::aggregator::journal::MemoryJournal;
use crate::blame::BlameCertificate;
use crate::coded::{CodedShards, Gathered};
use crate::envelope::Envelope;
use crate::envelope::JobId;
use crate::error::ProtocolError;
use crate::inputs::ShardSecrets;
use crate::keys::Preprocessed;
use crate::layout::ShardWitness;
use crate::proof::Proof;
use crate::worker::{CheckedRows, Directive, ShardInputs, SignedWorker};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tutti_crypto::Fr;
use tutti_crypto::erasure::ErasureParams;
use tutti_crypto::identity::{WorkerId, WorkerIdentity};
use tutti_crypto::scalars::derive_key;

/// Options of a robust run. [`JobOptions::default`] draws a fresh job secret from the OS;
/// [`JobOptions::deterministic`] fixes it (tests and reproducible benchmarks only).
#[derive(Clone, Debug)]
pub struct JobOptions {
    /// Secret from which identities, shard keys and the aggregator's key are derived.
    /// Anyone who knows it can strip the proof's blinding (no zero knowledge).
    pub job_secret: [u8; 32],
    /// Idle workers ready to take over a shard.
    pub spares: usize,
    /// Workers proving each shard (0 or 1: no replication).
    pub replicas: usize,
    /// Reed–Solomon code the shards' private inputs over the workers (k data + m parity
    /// fragments per shard, none held by the shard's own workers); a takeover then
    /// rebuilds its inputs from any k fragment holders instead of being handed them.
    pub erasure: Option<ErasureParams>,
    /// Adversarial testing: the first worker of each listed shard proves this witness
    /// instead of the real one (a liar consistent with itself, which only check 5's
    /// recomputation audit can find).
    pub forged_witnesses: Vec<(usize, ShardWitness)>,
    /// Injected faults.
    pub faults: Vec<FaultSpec>,
    /// Simulate an aggregator crash once its journal holds this many entries: the
    /// coordinator is dropped with every message in flight, rebuilt from the journal and
    /// resumed.
    pub aggregator_restart_after: Option<usize>,
}

impl Default for JobOptions {
    /// No spares, replicas, erasure coding or faults, and a fresh job secret from the OS.
    fn default() -> Self {
        JobOptions::deterministic(fresh_job_secret())
    }
}

impl JobOptions {
    /// Options with a caller-chosen job secret (otherwise as [`JobOptions::default`]):
    /// the same inputs, options and secret give the same run and byte-identical proofs.
    /// For tests and reproducible benchmarks only: whoever knows `job_secret` knows
    /// every blinding scalar and every worker's signing key, so the proof hides nothing
    /// of the witness.
    pub fn deterministic(job_secret: [u8; 32]) -> Self {
        JobOptions {
            job_secret,
            spares: 0,
            replicas: 0,
            erasure: None,
            forged_witnesses: Vec::new(),
            faults: Vec::new(),
            aggregator_restart_after: None,
        }
    }
}

/// A shard changing hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reassignment {
    /// The shard.
    pub shard: usize,
    /// Previous holder.
    pub from: WorkerId,
    /// New holder.
    pub to: WorkerId,
    /// Why.
    pub reason: ReassignReason,
}

/// Everything a robust run produced.
#[derive(Clone, Debug)]
pub struct JobReport {
    /// The proof (verified), if the job succeeded.
    pub proof: Option<Proof>,
    /// Why the job failed, if it did.
    pub error: Option<ProtocolError>,
    /// Certificates against workers proven faulty.
    pub blamed: Vec<BlameCertificate>,
    /// Shards that changed hands.
    pub reassigned: Vec<Reassignment>,
    /// Attempts (1 when the transcript never had to be rewound).
    pub attempts: u32,
    /// Identities of the workers: with r replicas, index k < M·r first held shard k / r;
    /// the rest were spares.
    pub workers: Vec<WorkerId>,
    /// Compute time of each worker (same order), in nanoseconds.
    pub worker_nanos: Vec<u64>,
    /// Compute time of the coordinator, in nanoseconds.
    pub aggregator_nanos: u64,
    /// Protocol bytes per worker (same order).
    pub traffic: Vec<Traffic>,
    /// Critical-path compute after the first reassignment (slowest worker plus
    /// coordinator), in nanoseconds: what recovery costs when workers run in parallel.
    pub recovery_nanos: u64,
    /// Times the coordinator was restarted from its journal.
    pub aggregator_restarts: u32,
    /// Messages of already-journaled rounds that workers had to send again after a
    /// restart (zero: the journal spares them).
    pub resent_after_restart: usize,
    /// Fragments found corrupted while rebuilding a shard's inputs: (shard, holder).
    pub corrupted_fragments: Vec<(usize, WorkerId)>,
    /// Shards whose inputs a takeover rebuilt from fragments.
    pub rebuilt_inputs: Vec<usize>,
}

impl JobReport {
    /// The proof, or the error.
    pub fn into_result(self) -> Result<Proof, ProtocolError> {
        match (self.proof, self.error) {
            (Some(p), _) => Ok(p),
            (None, Some(e)) => Err(e),
            (None, None) => Err(ProtocolError::UnexpectedMessage("no outcome".into())),
        }
    }
}

struct Node {
    identity: WorkerIdentity,
    worker: Option<SignedWorker>,
    fault: Option<FaultSpec>,
    original_shard: Option<usize>,
    dead: bool,
    silent: bool,
    nanos: u64,
    nanos_after_fault: u64,
    traffic: Traffic,
}

/// The identity of worker `k` of a job.
pub fn worker_identity(job_secret: &[u8; 32], k: usize) -> WorkerIdentity {
    WorkerIdentity::from_seed(&derive_key(job_secret, format!("identity/{k}").as_bytes()))
}

/// Runs one job with a coordinator, M workers and `options.spares` spares.
pub fn run_job(
    pre: &Preprocessed,
    witnesses: Vec<ShardWitness>,
    public_inputs: &[Fr],
    options: &JobOptions,
    clock: &dyn Clock,
) -> Result<JobReport, ProtocolError> {
    let vk = &pre.aggregator.vk;
    let m = vk.shape.shards;
    if witnesses.len() != m || pre.proving_keys.len() != m {
        return Err(ProtocolError::Mismatch(format!(
            "{} witnesses and {} proving keys for {m} shards",
            witnesses.len(),
            pre.proving_keys.len()
        )));
    }
    let span = tracing::info_span!("job", shards = m, spares = options.spares);
    let _enter = span.enter();
    let secret = options.job_secret;
    let job_id = derive_key(&secret, b"job-id");
    let r = options.replicas.max(1);
    let n = m * r + options.spares;
    // Every worker checks its SRS row against the vk; a takeover of a shard whose row was
    // already checked in this run reuses the result (as a long-running worker would).
    let mut checked_rows = CheckedRows::with_capacity(n);
    let mut nodes: Vec<Node> = (0..n)
        .map(|k| Node {
            identity: worker_identity(&secret, k),
            worker: None,
            // A fault names a shard; its first worker commits it.
            fault: options
                .faults
                .iter()
                .find(|f| k < m * r && k % r == 0 && f.shard == k / r)
                .copied(),
            original_shard: (k < m * r).then_some(k / r),
            dead: false,
            silent: false,
            nanos: 0,
            nanos_after_fault: 0,
            traffic: Traffic::default(),
        })
        .collect();
    let ids: Vec<WorkerId> = nodes.iter().map(|n| n.identity.id()).collect();
    let index: HashMap<WorkerId, usize> = ids.iter().enumerate().map(|(k, id)| (*id, k)).collect();
    let keys: Vec<Arc<_>> = pre
        .proving_keys
        .iter()
        .map(|k| Arc::new(k.clone()))
        .collect();
    let agg_key = Arc::new(pre.aggregator.clone());
    let shard_inputs = |shard: usize| ShardInputs {
        key: keys[shard].clone(),
        witness: witnesses[shard].clone(),
        public_inputs: public_inputs.to_vec(),
        shard_key: shard_key(&secret, shard),
    };
    let digests: Vec<[u8; 32]> = (0..m).map(|i| shard_inputs(i).digest()).collect();
    let journal = MemoryJournal::new();
    let setup = JobSetup {
        key: agg_key.clone(),
        public_inputs: public_inputs.to_vec(),
        job_key: aggregator_job_key(&secret),
        job_id,
        workers: ids.clone(),
        shard_inputs: digests.clone(),
        replicas: r,
        options: AggregatorOptions::default(),
    };
    let mut coord = Coordinator::new(setup.clone())?.with_journal(Box::new(journal.clone()));
    coord.start();
    let mut restart_round: Option<u8> = None;
    let mut report = JobReport {
        proof: None,
        error: None,
        blamed: Vec::new(),
        reassigned: Vec::new(),
        attempts: 1,
        workers: ids.clone(),
        worker_nanos: Vec::new(),
        aggregator_nanos: 0,
        traffic: Vec::new(),
        recovery_nanos: 0,
        aggregator_restarts: 0,
        resent_after_restart: 0,
        corrupted_fragments: Vec::new(),
        rebuilt_inputs: Vec::new(),
    };
    let coded = match options.erasure {
        Some(params) => {
            let secrets: Vec<ShardSecrets> = (0..m)
                .map(|i| ShardSecrets {
                    witness: witnesses[i].clone(),
                    shard_key: shard_key(&secret, i),
                })
                .collect();
            Some(CodedShards::new(params, n, r, &secrets)?)
        }
        None => None,
    };
    // (worker, wire bytes, sent while taking a shard over from round 1)
    let mut inbox: VecDeque<(usize, Vec<u8>, bool)> = VecDeque::new();
    let mut lost: Vec<WorkerId> = Vec::new();
    let mut fault_seen = false;
    let mut agg_after_fault = 0u64;
    loop {
        while let Some(ev) = coord.poll_event() {
            match ev {
                CoordinatorEvent::Assign {
                    worker,
                    shard,
                    directive,
                } => {
                    let k = index[&worker];
                    let takeover = nodes[k].original_shard != Some(shard);
                    let inputs = match (&coded, takeover) {
                        (Some(c), true) => {
                            let rebuilt = gather(c, shard, &nodes, job_id)?;
                            for f in &rebuilt.evidence {
                                coord.handle_fragment_evidence(f.clone(), c.digests[shard].clone());
                            }
                            for h in &rebuilt.corrupted_holders {
                                report.corrupted_fragments.push((shard, ids[*h]));
                            }
                            report.rebuilt_inputs.push(shard);
                            let inputs = ShardInputs {
                                key: keys[shard].clone(),
                                witness: rebuilt.secrets.witness,
                                public_inputs: public_inputs.to_vec(),
                                shard_key: rebuilt.secrets.shard_key,
                            };
                            if inputs.digest() != digests[shard] {
                                return Err(ProtocolError::Mismatch(format!(
                                    "inputs of shard {shard} rebuilt from fragments do not match their digest"
                                )));
                            }
                            inputs
                        }
                        _ => {
                            let mut inputs = shard_inputs(shard);
                            if let Some((_, w)) = options
                                .forged_witnesses
                                .iter()
                                .find(|(s, _)| *s == shard && !takeover)
                            {
                                inputs.witness = w.clone();
                            }
                            inputs
                        }
                    };
                    let node = &mut nodes[k];
                    let forged =
                        !takeover && options.forged_witnesses.iter().any(|(s, _)| *s == shard);
                    node.worker = Some(SignedWorker::with_checked_rows(
                        node.identity.clone(),
                        job_id,
                        vk,
                        inputs,
                        &mut checked_rows,
                    ));
                    if forged {
                        // The forger signs with the digest of the inputs it was given.
                        node.worker = node
                            .worker
                            .take()
                            .map(|w| w.claiming_inputs_digest(digests[shard]));
                    }
                    if node.original_shard != Some(shard) {
                        node.fault = None;
                    }
                    deliver(
                        node, &directive, clock, fault_seen, &mut inbox, k, &mut lost,
                    );
                }
                CoordinatorEvent::Send { worker, directive } => {
                    let k = index[&worker];
                    deliver(
                        &mut nodes[k],
                        &directive,
                        clock,
                        fault_seen,
                        &mut inbox,
                        k,
                        &mut lost,
                    );
                }
                // A resumed coordinator re-emits its certificates: keep each once.
                CoordinatorEvent::Blame(c) => {
                    if !report.blamed.contains(&c) {
                        report.blamed.push(*c);
                    }
                }
                CoordinatorEvent::Reassigned {
                    shard,
                    from,
                    to,
                    reason,
                } => {
                    fault_seen = true;
                    report.reassigned.push(Reassignment {
                        shard,
                        from,
                        to,
                        reason,
                    });
                }
                CoordinatorEvent::ProofReady(p) => report.proof = Some(*p),
                CoordinatorEvent::Failed(e) => report.error = Some(e),
            }
        }
        if coord.is_done() {
            break;
        }
        if restart_round.is_none()
            && options
                .aggregator_restart_after
                .is_some_and(|n| journal.len() >= n)
        {
            // The aggregator dies: everything in flight is lost with it.
            tracing::warn!(
                entries = journal.len(),
                "aggregator restart: resuming from the journal"
            );
            inbox.clear();
            restart_round = Some(coord.round());
            coord = Coordinator::resume(setup.clone(), &journal.entries())?
                .with_journal(Box::new(journal.clone()));
            coord.reissue();
            report.aggregator_restarts += 1;
            continue;
        }
        let t0 = clock.now_nanos();
        if let Some(w) = lost.pop() {
            coord.handle_worker_lost(w);
        } else if let Some((k, bytes, takeover)) = inbox.pop_front() {
            let replayed = bytes
                .get(8)
                .is_some_and(|round| restart_round.is_some_and(|r| *round < r));
            if replayed && !takeover {
                report.resent_after_restart += 1;
            }
            let _ = coord.handle_message(ids[k], &bytes);
        } else {
            // Nothing in flight: the open round's deadline passes.
            let round = coord.round();
            let pending = coord.pending_shards();
            if pending.is_empty() {
                return Err(ProtocolError::UnexpectedMessage(
                    "the coordinator is stuck with nothing pending".into(),
                ));
            }
            for shard in pending {
                coord.handle_timeout(shard, round);
            }
        }
        let dt = clock.now_nanos() - t0;
        report.aggregator_nanos += dt;
        if fault_seen {
            agg_after_fault += dt;
        }
    }
    report.attempts = coord.attempt() + 1;
    report.worker_nanos = nodes.iter().map(|n| n.nanos).collect();
    report.traffic = nodes.iter().map(|n| n.traffic).collect();
    report.recovery_nanos = if fault_seen {
        nodes.iter().map(|n| n.nanos_after_fault).max().unwrap_or(0) + agg_after_fault
    } else {
        0
    };
    Ok(report)
}

fn deliver(
    node: &mut Node,
    directive: &Directive,
    clock: &dyn Clock,
    fault_seen: bool,
    inbox: &mut VecDeque<(usize, Vec<u8>, bool)>,
    k: usize,
    lost: &mut Vec<WorkerId>,
) {
    if node.dead {
        return;
    }
    let bytes = directive.to_bytes();
    node.traffic.received += bytes.len();
    let Ok(directive) = Directive::from_bytes(&bytes) else {
        return;
    };
    let takeover = matches!(directive, Directive::Resume { send_from: 1, .. });
    let Some(worker) = node.worker.as_mut() else {
        return;
    };
    let t0 = clock.now_nanos();
    let envelopes = worker.handle(&directive);
    let dt = clock.now_nanos() - t0;
    node.nanos += dt;
    if fault_seen {
        node.nanos_after_fault += dt;
    }
    for env in envelopes {
        for out in apply_fault(node, env, lost) {
            let wire = out.wire_bytes();
            node.traffic.sent += wire.len();
            inbox.push_back((k, wire, takeover));
        }
    }
}

/// What a (possibly faulty) worker actually sends in place of `env`.
fn apply_fault(node: &mut Node, env: Envelope, lost: &mut Vec<WorkerId>) -> Vec<Envelope> {
    if node.dead || node.silent {
        return Vec::new();
    }
    let Some(spec) = node.fault else {
        return vec![env];
    };
    if env.round < spec.round {
        return vec![env];
    }
    let at = env.round == spec.round;
    let msg = match env.message() {
        Ok(m) => m,
        Err(_) => return vec![env],
    };
    match spec.fault {
        Fault::Crash => {
            node.dead = true;
            lost.push(node.identity.id());
            Vec::new()
        }
        Fault::Stall => {
            node.silent = true;
            Vec::new()
        }
        Fault::WrongCommitment
        | Fault::WrongEvaluation
        | Fault::BadOpening
        | Fault::WrongProduct
            if at =>
        {
            vec![resign(&node.identity, &env, &corrupt(spec.fault, &msg))]
        }
        Fault::Equivocate if at => {
            let other = resign(&node.identity, &env, &corrupt(spec.fault, &msg));
            vec![env, other]
        }
        Fault::BadSignature if at => {
            let mut bad = env;
            bad.signature[0] ^= 1;
            vec![bad]
        }
        Fault::Replay if at => {
            let mut foreign = env.clone();
            foreign.job_id[0] ^= 1;
            let replayed = resign(&node.identity, &foreign, &msg);
            vec![replayed, env]
        }
        _ => vec![env],
    }
}

/// Gathers the fragments of `shard` from holders still answering (a holder with the
/// corrupt-fragment fault hands out damaged bytes, signed) and rebuilds the inputs.
fn gather(
    coded: &CodedShards,
    shard: usize,
    nodes: &[Node],
    job_id: JobId,
) -> Result<Gathered, ProtocolError> {
    coded.gather(shard, job_id, |h| {
        let node = &nodes[h];
        let corrupts = node
            .fault
            .is_some_and(|s| s.fault == Fault::CorruptFragment);
        (!node.dead && !node.silent).then(|| (node.identity.clone(), corrupts))
    })
}
