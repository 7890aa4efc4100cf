//! The `Coordinator`: the robust, sans-IO aggregator of one job. It authenticates every
//! signed worker message, runs the checks cheapest first, blames provable faults with
//! certificates, replaces crashed, stalled or lying workers with spares, and resumes the
//! proof without disturbing honest shards. The proof arithmetic itself is delegated to an
//! [`Aggregator`] fed with accepted messages; since everything is deterministic, that
//! inner aggregator can be rebuilt from the accepted messages whenever the job rewinds.
//!
//! Inputs: [`Coordinator::handle_message`] (bytes from a worker), [`Coordinator::handle_timeout`]
//! and [`Coordinator::handle_worker_lost`] (from the driver's timers and transport).
//! Output: [`Coordinator::poll_event`].

mod recovery;

use super::journal::{Journal, JournalEntry};
use super::{Aggregator, AggregatorEvent, AggregatorOptions};
use crate::blame::{BlameCertificate, Offence};
use crate::envelope::{Envelope, JobId, answers_digest, job_context};
use crate::error::ProtocolError;
use crate::fragments::SignedFragment;
use crate::keys::AggregatorKey;
use crate::messages::{AggregatorMessage, WorkerMessage};
use crate::proof::Proof;
use crate::worker::Directive;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tutti_crypto::Fr;
use tutti_crypto::erasure::FragmentDigest;
use tutti_crypto::identity::WorkerId;

/// Why a shard changed hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReassignReason {
    /// The holder did not answer in time.
    Timeout,
    /// The transport reported the holder gone.
    Crashed,
    /// The holder was proven faulty.
    Blamed,
    /// The holder refused; a second worker confirms before the job fails.
    Refused,
    /// A check failed but no certificate could prove it (should not happen).
    Unprovable,
    /// A replica disagreed with the majority of its shard's replicas, or co-signed a
    /// message another replica was blamed for: replaced, not blamed.
    Retired,
}

/// Why a message was ignored (not attributable, or not for now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgnoreReason {
    /// The job is over.
    JobOver,
    /// The sender is not on the job's allow-list.
    UnknownWorker,
    /// The frame does not parse.
    MalformedFrame,
    /// The signature does not verify (so the message proves nothing about its sender).
    BadSignature,
    /// The sender does not hold that shard (fenced off).
    NotHolder,
    /// The message belongs to an earlier attempt (fenced off).
    StaleAttempt,
    /// The message is for a round not open yet.
    Early,
}

/// What became of one incoming message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Accepted.
    Accepted,
    /// An exact copy of a message already accepted (a replay): dropped.
    Duplicate,
    /// Ignored, with the reason.
    Ignored(IgnoreReason),
    /// The sender was blamed (a certificate was emitted) and replaced.
    Blamed,
}

/// What the coordinator asks its driver to do or report.
#[derive(Clone, Debug)]
pub enum CoordinatorEvent {
    /// Give `worker` the inputs of `shard`, then this directive.
    Assign {
        /// The worker.
        worker: WorkerId,
        /// The shard it now holds.
        shard: usize,
        /// What to do.
        directive: Directive,
    },
    /// Send a directive to the holder of a shard.
    Send {
        /// The worker.
        worker: WorkerId,
        /// What to do.
        directive: Directive,
    },
    /// A worker was proven faulty.
    Blame(Box<BlameCertificate>),
    /// A shard moved to another worker.
    Reassigned {
        /// The shard.
        shard: usize,
        /// The previous holder.
        from: WorkerId,
        /// The new holder.
        to: WorkerId,
        /// Why.
        reason: ReassignReason,
    },
    /// The proof is ready and verifies.
    ProofReady(Box<Proof>),
    /// The job failed; nothing was emitted.
    Failed(ProtocolError),
}

#[derive(Debug)]
struct Slot {
    /// Every worker proving this shard (more than one with replication).
    holders: Vec<WorkerId>,
    /// Messages of the open round, per holder, until they agree.
    votes: HashMap<WorkerId, Envelope>,
    inputs: [u8; 32],
    accepted: [Option<Envelope>; 5],
    history: Vec<AggregatorMessage>,
    refusals: u8,
    /// Holders that took the shard over and have not yet caught up with the open round:
    /// asked again, they must replay from round 1 (their earlier rounds are checked
    /// against the accepted ones).
    fresh: Vec<WorkerId>,
}

/// Everything a coordinator is started with.
#[derive(Clone, Debug)]
pub struct JobSetup {
    /// The aggregator key of the circuit.
    pub key: Arc<AggregatorKey>,
    /// The statement.
    pub public_inputs: Vec<Fr>,
    /// Seeds the aggregator's private randomness (W blinding, share-check weights).
    pub job_key: [u8; 32],
    /// The job id every signature binds.
    pub job_id: JobId,
    /// The allow-list. With r replicas, shard i is held by `workers[i·r .. (i+1)·r]`; the
    /// rest are spares.
    pub workers: Vec<WorkerId>,
    /// `shard_inputs[i]`: the digest of shard i's inputs (`ShardInputs::digest`).
    pub shard_inputs: Vec<[u8; 32]>,
    /// Workers proving each shard (1: no replication). Their messages must agree round
    /// by round, so a disagreement is caught before anything enters the transcript; a
    /// majority wins and a spare arbitrates a tie.
    pub replicas: usize,
    /// The inner aggregator's checks (strict share checks or not).
    pub options: AggregatorOptions,
}

/// The robust aggregator of one job.
pub struct Coordinator {
    key: Arc<AggregatorKey>,
    public_inputs: Vec<Fr>,
    job_key: [u8; 32],
    options: AggregatorOptions,
    job_id: JobId,
    context: [u8; 32],
    allowed: HashSet<WorkerId>,
    idle: VecDeque<WorkerId>,
    retired: HashSet<WorkerId>,
    slots: Vec<Slot>,
    attempt: u32,
    round: u8,
    inner: Aggregator,
    seen: HashMap<(WorkerId, u32, u8, [u8; 32]), Envelope>,
    events: VecDeque<CoordinatorEvent>,
    resync: bool,
    done: bool,
    /// Check 5's recomputation audit in progress: (auditor, shard being recomputed).
    audit: Option<(WorkerId, usize)>,
    journal: Option<Box<dyn Journal>>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("attempt", &self.attempt)
            .field("round", &self.round)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Coordinator {
    /// A coordinator for one job (see [`JobSetup`]).
    pub fn new(setup: JobSetup) -> Result<Self, ProtocolError> {
        let JobSetup {
            key,
            public_inputs,
            job_key,
            job_id,
            workers,
            shard_inputs,
            replicas,
            options,
        } = setup;
        let m = key.vk.shape.shards;
        let r = replicas.max(1);
        if shard_inputs.len() != m {
            return Err(ProtocolError::Mismatch(format!(
                "{} shard-input digests for {m} shards",
                shard_inputs.len()
            )));
        }
        let distinct: HashSet<WorkerId> = workers.iter().copied().collect();
        if distinct.len() != workers.len() {
            return Err(ProtocolError::Mismatch("a worker is listed twice".into()));
        }
        if workers.len() < m * r {
            return Err(ProtocolError::NotEnoughWorkers {
                needed: m * r,
                available: workers.len(),
            });
        }
        let inner = Aggregator::new(key.clone(), public_inputs.clone(), job_key, options)?;
        let context = job_context(&key.vk, &public_inputs);
        let slots = workers[..m * r]
            .chunks(r)
            .zip(shard_inputs)
            .map(|(w, inputs)| Slot {
                holders: w.to_vec(),
                votes: HashMap::new(),
                inputs,
                accepted: Default::default(),
                history: Vec::new(),
                refusals: 0,
                fresh: Vec::new(),
            })
            .collect();
        Ok(Coordinator {
            key,
            public_inputs,
            job_key,
            options,
            job_id,
            context,
            allowed: distinct,
            idle: workers[m * r..].iter().copied().collect(),
            retired: HashSet::new(),
            slots,
            attempt: 0,
            round: 1,
            inner,
            seen: HashMap::new(),
            events: VecDeque::new(),
            resync: false,
            done: false,
            audit: None,
            journal: None,
        })
    }

    /// Records every state-changing input in `journal` from now on.
    pub fn with_journal(mut self, journal: Box<dyn Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Rebuilds a coordinator from its journal (after a restart): the same arguments as
    /// [`Coordinator::new`], then every entry replayed. Nothing is asked of workers for
    /// what the journal holds; call [`Coordinator::reissue`] to ask for what is missing.
    pub fn resume(setup: JobSetup, entries: &[JournalEntry]) -> Result<Self, ProtocolError> {
        let mut c = Coordinator::new(setup)?;
        for e in entries {
            match e {
                JournalEntry::Message { from, wire } => {
                    c.handle_message(*from, wire);
                }
                JournalEntry::Timeout { shard, round } => c.handle_timeout(*shard as usize, *round),
                JournalEntry::WorkerLost { worker } => c.handle_worker_lost(*worker),
                JournalEntry::FragmentEvidence { fragment, digests } => {
                    c.handle_fragment_evidence(fragment.clone(), digests.clone());
                }
            }
        }
        // What replay emitted was already acted on before the restart, except the final
        // outcome and the certificates (emitting one twice is harmless; losing one is not).
        let outcome: Vec<CoordinatorEvent> = c
            .events
            .drain(..)
            .filter(|e| {
                matches!(
                    e,
                    CoordinatorEvent::ProofReady(_)
                        | CoordinatorEvent::Failed(_)
                        | CoordinatorEvent::Blame(_)
                )
            })
            .collect();
        c.events.extend(outcome);
        Ok(c)
    }

    /// Asks the holder of every shard whose message for the open round is missing to
    /// (re)take it: used after a restart, or by a driver that lost its connections.
    pub fn reissue(&mut self) {
        if self.done {
            return;
        }
        for shard in self.pending_shards() {
            let slot = &self.slots[shard];
            for w in slot.holders.iter().filter(|w| !slot.votes.contains_key(w)) {
                self.events.push_back(CoordinatorEvent::Assign {
                    worker: *w,
                    shard,
                    directive: Directive::Resume {
                        attempt: self.attempt,
                        history: slot.history.clone(),
                        // A takeover that has not caught up replays from the start.
                        send_from: if slot.fresh.contains(w) {
                            1
                        } else {
                            self.round
                        },
                    },
                });
            }
        }
    }

    fn record(&mut self, entry: JournalEntry) {
        if let Some(Err(e)) = self.journal.as_mut().map(|j| j.append(&entry)) {
            self.fail(ProtocolError::Mismatch(format!(
                "cannot write the journal: {e}; stopping rather than losing accepted work"
            )));
        }
    }

    /// Hands every shard to its first worker(s).
    pub fn start(&mut self) {
        for (shard, slot) in self.slots.iter().enumerate() {
            for w in &slot.holders {
                self.events.push_back(CoordinatorEvent::Assign {
                    worker: *w,
                    shard,
                    directive: Directive::Resume {
                        attempt: self.attempt,
                        history: Vec::new(),
                        send_from: 1,
                    },
                });
            }
        }
    }

    /// Next event for the driver.
    pub fn poll_event(&mut self) -> Option<CoordinatorEvent> {
        self.events.pop_front()
    }

    /// True once the job produced a proof or failed.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The round being collected.
    pub fn round(&self) -> u8 {
        self.round
    }

    /// The current attempt (it grows whenever the transcript is rewound).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The job id.
    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    /// The job context every worker signs.
    pub fn context(&self) -> [u8; 32] {
        self.context
    }

    /// The first holder of each shard.
    pub fn holders(&self) -> Vec<WorkerId> {
        self.slots
            .iter()
            .map(|s| s.holders.first().copied().unwrap_or(WorkerId([0; 32])))
            .collect()
    }

    /// Every worker proving `shard` now.
    pub fn shard_holders(&self, shard: usize) -> Vec<WorkerId> {
        self.slots
            .get(shard)
            .map(|s| s.holders.clone())
            .unwrap_or_default()
    }

    /// True when `worker` proves a shard now (any replica).
    pub fn is_holder(&self, worker: &WorkerId) -> bool {
        self.slots.iter().any(|s| s.holders.contains(worker))
    }

    /// Shards whose message for the open round has not arrived.
    pub fn pending_shards(&self) -> Vec<usize> {
        let r = self.round as usize - 1;
        (0..self.slots.len())
            .filter(|s| self.slots[*s].accepted[r].is_none())
            .collect()
    }

    /// What shard `shard`'s holder is expected to answer in `round`.
    pub fn expected_answers(&self, shard: u32, round: u8) -> [u8; 32] {
        let Some(slot) = self.slots.get(shard as usize) else {
            return [0u8; 32];
        };
        let k = (round as usize).saturating_sub(1).min(slot.history.len());
        answers_digest(&slot.inputs, &slot.history[..k])
    }

    /// Takes one signed message (compact wire form) from `from`.
    pub fn handle_message(&mut self, from: WorkerId, wire: &[u8]) -> MessageOutcome {
        use IgnoreReason::*;
        if self.done {
            return MessageOutcome::Ignored(JobOver);
        }
        if !self.allowed.contains(&from) {
            tracing::warn!(worker = %from, "message from a worker not on the allow-list");
            return MessageOutcome::Ignored(UnknownWorker);
        }
        let env = match Envelope::from_wire(wire, self.job_id, self.context, from, |s, r| {
            self.expected_answers(s, r)
        }) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(worker = %from, error = %e, "unparseable frame");
                return MessageOutcome::Ignored(MalformedFrame);
            }
        };
        if !env.signature_valid() {
            tracing::warn!(worker = %from, "bad signature (or answers to challenges never sent)");
            return MessageOutcome::Ignored(BadSignature);
        }
        // Built with this job's id and context, and its signature just checked.
        self.handle_authentic(env)
    }

    /// Takes one full signed envelope (already parsed); journals it when it changed the
    /// coordinator's state.
    pub fn handle_envelope(&mut self, env: Envelope) -> MessageOutcome {
        if self.done {
            return MessageOutcome::Ignored(IgnoreReason::JobOver);
        }
        if env.job_id != self.job_id || env.context != self.context || !env.signature_valid() {
            return MessageOutcome::Ignored(IgnoreReason::BadSignature);
        }
        self.handle_authentic(env)
    }

    /// [`Self::handle_envelope`] for an envelope whose job, context and signature were
    /// checked (each ed25519 verification is checked once).
    fn handle_authentic(&mut self, env: Envelope) -> MessageOutcome {
        let entry = JournalEntry::Message {
            from: env.worker,
            wire: env.wire_bytes(),
        };
        let outcome = self.process_envelope(env);
        if matches!(outcome, MessageOutcome::Accepted | MessageOutcome::Blamed) {
            self.record(entry);
        }
        outcome
    }

    fn process_envelope(&mut self, env: Envelope) -> MessageOutcome {
        use IgnoreReason::*;
        if self.done {
            return MessageOutcome::Ignored(JobOver);
        }
        let shard = env.shard as usize;
        if self
            .audit
            .is_some_and(|(a, s)| a == env.worker && s == shard)
        {
            return self.audit_message(env);
        }
        if !self
            .slots
            .get(shard)
            .is_some_and(|s| s.holders.contains(&env.worker))
        {
            return MessageOutcome::Ignored(NotHolder);
        }
        if env.attempt != self.attempt {
            return MessageOutcome::Ignored(StaleAttempt);
        }
        if env.round == 0 || env.round > self.round {
            return MessageOutcome::Ignored(Early);
        }
        if env.answers != self.expected_answers(env.shard, env.round) {
            return MessageOutcome::Ignored(BadSignature);
        }
        // An honest worker's message is a function of its inputs and the challenges it
        // answers, whatever the attempt: two different ones are equivocation.
        let key = (env.worker, env.shard, env.round, env.answers);
        if let Some(prev) = self.seen.get(&key) {
            // The same message again under the same attempt is a replay; under a newer
            // attempt it is the answer a rewind asked for (the challenges came out the
            // same), and it counts again.
            if prev.payload != env.payload {
                let offence = Offence::Equivocation {
                    first: prev.clone(),
                    second: env,
                };
                return self.blamed(shard, offence);
            }
            if prev.attempt == env.attempt {
                return MessageOutcome::Duplicate;
            }
        }
        self.seen.insert(key, env.clone());
        let msg = match env.message() {
            Ok(m) => m,
            Err(_) => return self.blamed(shard, Offence::Malformed { envelope: env }),
        };
        if let WorkerMessage::Refusal { reason, round } = msg {
            if let Some(offence) = self.false_refusal(shard, round, reason, &env) {
                return self.blamed(shard, offence);
            }
            self.on_refusal(shard, env.worker, reason);
            return MessageOutcome::Accepted;
        }
        let r = env.round as usize;
        if r < self.round as usize {
            // A takeover replaying an earlier round.
            let accepted = self.slots[shard].accepted[r - 1].as_ref();
            let same = accepted.is_some_and(|a| a.payload == env.payload);
            if same {
                if self.slots[shard].holders.len() == 1 {
                    self.slots[shard].accepted[r - 1] = Some(env);
                }
            } else if accepted.is_some() && self.slots[shard].holders.len() > 1 {
                // Its fellow replicas agreed on the accepted message: it is the odd one.
                self.reassign(shard, env.worker, ReassignReason::Retired);
            } else {
                // Nothing accepted for that round any more (a blame cleared it), or a lone
                // holder disagrees with its predecessor: the transcript changes from here.
                self.rewind(shard, env);
            }
            return MessageOutcome::Accepted;
        }
        // r == open round. Check 4 on arrival.
        if let (4, WorkerMessage::Evaluations { at_x, z_shift }) = (r, &msg)
            && self.inner.local_identity(shard, at_x, *z_shift) == Some(false)
        {
            let challenges = self.slots[shard].history[..3].to_vec();
            return self.blamed(
                shard,
                Offence::LocalIdentity {
                    evaluations: env,
                    challenges,
                },
            );
        }
        self.slots[shard].fresh.retain(|w| *w != env.worker);
        self.slots[shard].votes.insert(env.worker, env);
        self.settle(shard);
        MessageOutcome::Accepted
    }
}
