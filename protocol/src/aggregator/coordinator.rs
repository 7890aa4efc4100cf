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
}

/// The robust aggregator of one job.
pub struct Coordinator {
    key: Arc<AggregatorKey>,
    public_inputs: Vec<Fr>,
    job_key: [u8; 32],
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
        let inner = Aggregator::new(
            key.clone(),
            public_inputs.clone(),
            job_key,
            AggregatorOptions::default(),
        )?;
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
            })
            .collect();
        Ok(Coordinator {
            key,
            public_inputs,
            job_key,
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
                        send_from: self.round,
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
        self.handle_envelope(env)
    }

    /// Takes one full signed envelope (already parsed); journals it when it changed the
    /// coordinator's state.
    pub fn handle_envelope(&mut self, env: Envelope) -> MessageOutcome {
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
        if env.job_id != self.job_id || env.context != self.context || !env.signature_valid() {
            return MessageOutcome::Ignored(BadSignature);
        }
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
            if prev.payload == env.payload {
                return MessageOutcome::Duplicate;
            }
            let offence = Offence::Equivocation {
                first: prev.clone(),
                second: env,
            };
            return self.blamed(shard, offence);
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
        self.slots[shard].votes.insert(env.worker, env);
        self.settle(shard);
        MessageOutcome::Accepted
    }

    /// Accepts the open round's message of `shard` once every holder has voted and the
    /// votes agree; otherwise the majority wins, or a spare arbitrates a tie.
    fn settle(&mut self, shard: usize) {
        if self.done {
            return;
        }
        let slot = &self.slots[shard];
        if slot.holders.is_empty() || slot.holders.iter().any(|w| !slot.votes.contains_key(w)) {
            return;
        }
        let mut tally: Vec<(&Vec<u8>, Vec<WorkerId>)> = Vec::new();
        for w in &slot.holders {
            let payload = &slot.votes[w].payload;
            match tally.iter_mut().find(|(p, _)| *p == payload) {
                Some((_, ws)) => ws.push(*w),
                None => tally.push((payload, vec![*w])),
            }
        }
        tally.sort_by_key(|(_, ws)| std::cmp::Reverse(ws.len()));
        let n = slot.holders.len();
        if tally.len() == 1 {
            let first = slot.holders[0];
            let env = self.slots[shard].votes.remove(&first);
            self.slots[shard].votes.clear();
            self.slots[shard].accepted[self.round as usize - 1] = env;
            if self.pending_shards().is_empty() {
                self.complete_round();
            }
            return;
        }
        tracing::warn!(shard, round = self.round, "replicas disagree");
        if tally[0].1.len() * 2 > n {
            let minority: Vec<WorkerId> =
                tally[1..].iter().flat_map(|(_, ws)| ws.clone()).collect();
            for w in minority {
                self.reassign(shard, w, ReassignReason::Retired);
            }
        } else if let Some(arbiter) = self.idle.pop_front() {
            self.add_holder(shard, arbiter);
        } else {
            self.fail(ProtocolError::ReplicasDisagree {
                shard,
                round: self.round,
            });
        }
    }

    fn add_holder(&mut self, shard: usize, worker: WorkerId) {
        self.slots[shard].holders.push(worker);
        self.events.push_back(CoordinatorEvent::Assign {
            worker,
            shard,
            directive: Directive::Resume {
                attempt: self.attempt,
                history: self.slots[shard].history.clone(),
                send_from: 1,
            },
        });
    }

    /// Evidence gathered while rebuilding a shard's inputs: a fragment signed by its
    /// holder that contradicts the shard's fragment digests. A valid one blames the holder
    /// (and takes away any shard it holds); anything else is ignored.
    pub fn handle_fragment_evidence(
        &mut self,
        fragment: SignedFragment,
        digests: Vec<FragmentDigest>,
    ) -> MessageOutcome {
        if self.done {
            return MessageOutcome::Ignored(IgnoreReason::JobOver);
        }
        if !self.allowed.contains(&fragment.holder) {
            return MessageOutcome::Ignored(IgnoreReason::UnknownWorker);
        }
        if fragment.job_id != self.job_id {
            return MessageOutcome::Ignored(IgnoreReason::BadSignature);
        }
        let cert = BlameCertificate {
            public_inputs: Vec::new(),
            shard_inputs: [0u8; 32],
            offence: Offence::CorruptFragment { fragment, digests },
        };
        if cert.verify(&self.key.vk).is_err() {
            return MessageOutcome::Ignored(IgnoreReason::BadSignature);
        }
        let holder = cert.worker();
        tracing::warn!(holder = %holder, shard = cert.shard(), "corrupted fragment: holder blamed");
        self.events
            .push_back(CoordinatorEvent::Blame(Box::new(cert)));
        self.idle.retain(|w| *w != holder);
        self.retired.insert(holder);
        if let Some(shard) = self.slots.iter().position(|s| s.holders.contains(&holder)) {
            self.reassign(shard, holder, ReassignReason::Blamed);
        }
        MessageOutcome::Blamed
    }

    /// Check 5, last resort: the products do not multiply to one, yet every shard passed
    /// its own checks in audit mode. Either the witness breaks a copy constraint, or a
    /// worker consistently proved a different witness. A spare recomputes rounds 1 and 2
    /// of each shard in turn (deterministic re-execution); a holder whose signed messages
    /// differ is retired (not blamed: the evidence needs the shard's inputs and proving
    /// key, not just the verifying key) and the auditor takes its place.
    fn start_audit(&mut self) {
        let Some(auditor) = self.idle.pop_front() else {
            return self.fail(ProtocolError::GlobalProductMismatch);
        };
        tracing::warn!("no worker failed a check: recomputing shards to find a forged witness");
        self.audit_shard(auditor, 0);
    }

    fn audit_shard(&mut self, auditor: WorkerId, shard: usize) {
        if shard >= self.slots.len() {
            // Every shard recomputes to what its holders sent: the witness is at fault.
            self.audit = None;
            self.idle.push_front(auditor);
            return self.fail(ProtocolError::GlobalProductMismatch);
        }
        self.audit = Some((auditor, shard));
        let history = self.slots[shard].history.iter().take(1).cloned().collect();
        self.events.push_back(CoordinatorEvent::Assign {
            worker: auditor,
            shard,
            directive: Directive::Resume {
                attempt: self.attempt,
                history,
                send_from: 1,
            },
        });
    }

    fn audit_message(&mut self, env: Envelope) -> MessageOutcome {
        let shard = env.shard as usize;
        let r = env.round as usize;
        if !(1..=2).contains(&r) || env.answers != self.expected_answers(env.shard, env.round) {
            return MessageOutcome::Ignored(IgnoreReason::Early);
        }
        let same = self.slots[shard].accepted[r - 1]
            .as_ref()
            .is_some_and(|a| a.payload == env.payload);
        let auditor = env.worker;
        if same {
            if r == 2 {
                self.audit_shard(auditor, shard + 1);
            }
            return MessageOutcome::Accepted;
        }
        tracing::warn!(
            shard,
            round = r,
            "recomputation differs: the holder proved another witness"
        );
        self.audit = None;
        let holders = std::mem::take(&mut self.slots[shard].holders);
        self.slots[shard].holders.push(auditor);
        for h in holders {
            self.retired.insert(h);
            self.events.push_back(CoordinatorEvent::Reassigned {
                shard,
                from: h,
                to: auditor,
                reason: ReassignReason::Retired,
            });
        }
        self.rewind(shard, env);
        MessageOutcome::Accepted
    }

    /// The driver's timer for `round` expired while `shard` had not answered.
    pub fn handle_timeout(&mut self, shard: usize, round: u8) {
        if self.done || round != self.round || !self.pending_shards().contains(&shard) {
            return;
        }
        tracing::warn!(shard, round, "shard timed out");
        self.record(JournalEntry::Timeout {
            shard: shard as u32,
            round,
        });
        let slot = &self.slots[shard];
        let silent: Vec<WorkerId> = slot
            .holders
            .iter()
            .filter(|w| !slot.votes.contains_key(w))
            .copied()
            .collect();
        for w in silent {
            self.reassign(shard, w, ReassignReason::Timeout);
        }
    }

    /// The transport lost `worker` (crash, disconnect).
    pub fn handle_worker_lost(&mut self, worker: WorkerId) {
        self.idle.retain(|w| *w != worker);
        if self.done {
            return;
        }
        self.record(JournalEntry::WorkerLost { worker });
        if let Some(shard) = self.slots.iter().position(|s| s.holders.contains(&worker)) {
            tracing::warn!(shard, worker = %worker, "worker lost");
            self.reassign(shard, worker, ReassignReason::Crashed);
        }
    }

    fn fail(&mut self, e: ProtocolError) {
        if self.done {
            return;
        }
        tracing::warn!(error = %e, "job failed");
        self.done = true;
        self.events.push_back(CoordinatorEvent::Failed(e));
    }

    /// A link refusal at round 3 that the worker's own round-2 product contradicts.
    fn false_refusal(
        &self,
        shard: usize,
        round: u8,
        reason: crate::messages::RefusalReason,
        env: &Envelope,
    ) -> Option<Offence> {
        use crate::messages::RefusalReason::LinkContradictsProduct;
        let slot = &self.slots[shard];
        let product = slot.accepted[1].as_ref()?;
        if round != 3 || reason != LinkContradictsProduct || product.worker != env.worker {
            return None;
        }
        let offence = Offence::FalseRefusal {
            product: product.clone(),
            refusal: env.clone(),
            challenges: slot.history.get(..2)?.to_vec(),
        };
        let cert = BlameCertificate {
            public_inputs: self.public_inputs.clone(),
            shard_inputs: slot.inputs,
            offence,
        };
        cert.verify(&self.key.vk).ok().map(|_| cert.offence)
    }

    fn on_refusal(
        &mut self,
        shard: usize,
        worker: WorkerId,
        reason: crate::messages::RefusalReason,
    ) {
        self.slots[shard].refusals += 1;
        tracing::warn!(shard, %reason, "worker refused");
        // A refusal is never blamed. One spare double-checks it; a second refusal ends
        // the job with the refusal as the error.
        if self.slots[shard].refusals >= 2 || self.idle.is_empty() {
            self.fail(ProtocolError::Refused { shard, reason });
        } else {
            self.reassign(shard, worker, ReassignReason::Refused);
        }
    }

    fn blamed(&mut self, shard: usize, offence: Offence) -> MessageOutcome {
        if self.blame(shard, offence) {
            MessageOutcome::Blamed
        } else {
            MessageOutcome::Accepted
        }
    }

    /// Emits a certificate and replaces the worker; false when the fault could not be
    /// proven (the worker is then replaced without blame).
    fn blame(&mut self, shard: usize, offence: Offence) -> bool {
        if let Offence::CorruptFragment { fragment, digests } = offence {
            return matches!(
                self.handle_fragment_evidence(fragment, digests),
                MessageOutcome::Blamed
            );
        }
        let shard_inputs = match offence {
            Offence::Equivocation { .. } | Offence::Malformed { .. } => [0u8; 32],
            _ => self.slots[shard].inputs,
        };
        let cert = BlameCertificate {
            public_inputs: self.public_inputs.clone(),
            shard_inputs,
            offence,
        };
        if let Err(e) = cert.verify(&self.key.vk) {
            // Never emit a certificate that does not verify: treat the fault as
            // unprovable and just replace the worker.
            tracing::error!(shard, error = %e, "could not prove a fault; replacing without blame");
            if self.slots[shard].holders.contains(&cert.worker()) {
                self.reassign(shard, cert.worker(), ReassignReason::Unprovable);
            } else {
                // Nobody to replace: stop rather than wait forever.
                self.fail(ProtocolError::ShareRejected {
                    shard,
                    reason: format!("a check failed and could not be attributed to a worker: {e}"),
                });
            }
            return false;
        }
        tracing::warn!(shard, worker = %cert.worker(), offence = cert.offence.name(), "worker blamed");
        // Forget what this worker sent from the offending round on; replicas that signed
        // the same refuted message go with it.
        let from = match &cert.offence {
            Offence::Equivocation { first, .. } => first.round,
            Offence::Malformed { envelope } => envelope.round,
            Offence::LocalIdentity { .. } => 4,
            Offence::BadOpening { .. } => 5,
            Offence::FalseRefusal { .. } => 2,
            Offence::CorruptFragment { .. } => 5,
        } as usize;
        let worker = cert.worker();
        let slot = &mut self.slots[shard];
        slot.votes.remove(&worker);
        let was_accepted = slot.accepted[from - 1]
            .as_ref()
            .is_some_and(|e| e.worker == worker);
        let co_signers: Vec<WorkerId> = if was_accepted {
            for a in slot.accepted[from - 1..].iter_mut() {
                *a = None;
            }
            slot.holders
                .iter()
                .filter(|w| **w != worker)
                .copied()
                .collect()
        } else {
            Vec::new()
        };
        self.events
            .push_back(CoordinatorEvent::Blame(Box::new(cert)));
        self.reassign(shard, worker, ReassignReason::Blamed);
        for w in co_signers {
            self.reassign(shard, w, ReassignReason::Retired);
        }
        true
    }

    /// Takes `shard` away from `worker` and gives it to a spare; without a spare the
    /// shard goes on with its other replicas, or the job fails if none is left.
    fn reassign(&mut self, shard: usize, worker: WorkerId, reason: ReassignReason) {
        if self.done {
            return;
        }
        let slot = &mut self.slots[shard];
        if !slot.holders.contains(&worker) {
            return;
        }
        slot.holders.retain(|w| *w != worker);
        slot.votes.remove(&worker);
        self.retired.insert(worker);
        match self.idle.pop_front() {
            Some(to) => {
                self.events.push_back(CoordinatorEvent::Reassigned {
                    shard,
                    from: worker,
                    to,
                    reason,
                });
                self.add_holder(shard, to);
            }
            None if self.slots[shard].holders.is_empty() => {
                self.fail(ProtocolError::NotEnoughWorkers {
                    needed: self.slots.len() + self.retired.len(),
                    available: self.allowed.len(),
                });
            }
            None => {
                tracing::warn!(shard, "no spare: the shard goes on with fewer replicas");
                let to = self.slots[shard].holders[0];
                self.events.push_back(CoordinatorEvent::Reassigned {
                    shard,
                    from: worker,
                    to,
                    reason,
                });
                self.settle(shard);
            }
        }
    }

    /// Builds a fresh inner aggregator fed with every accepted message of rounds
    /// `1..=upto`; returns the challenges it broadcast after the last of those rounds.
    fn rebuild(&mut self, upto: usize) -> Result<Vec<AggregatorMessage>, ProtocolError> {
        self.inner = Aggregator::new(
            self.key.clone(),
            self.public_inputs.clone(),
            self.job_key,
            AggregatorOptions::default(),
        )?;
        let mut last = vec![None; self.slots.len()];
        for r in 0..upto {
            for (shard, slot) in self.slots.iter().enumerate() {
                let msg = slot.accepted[r]
                    .as_ref()
                    .ok_or_else(|| ProtocolError::UnexpectedMessage("replay gap".into()))?
                    .message()?;
                self.inner.handle_message(shard, msg)?;
            }
            while let Some(ev) = self.inner.poll_event() {
                match ev {
                    AggregatorEvent::Send { shard, message } => last[shard] = Some(message),
                    AggregatorEvent::Failed(e) => return Err(e),
                    AggregatorEvent::ProofReady(_) => {}
                }
            }
        }
        Ok(last.into_iter().flatten().collect())
    }

    /// A takeover's message for an earlier round differs from the accepted one: the
    /// transcript changes from that round on. Start a new attempt from there, keeping
    /// every message of earlier rounds and the other shards' messages of that round.
    fn rewind(&mut self, shard: usize, env: Envelope) {
        let d = env.round as usize;
        tracing::warn!(
            shard,
            round = d,
            "takeover diverges: rewinding the transcript"
        );
        self.attempt += 1;
        self.slots[shard].accepted[d - 1] = Some(env);
        for slot in self.slots.iter_mut() {
            for a in slot.accepted[d..].iter_mut() {
                *a = None;
            }
            slot.votes.clear();
            slot.history.truncate(d - 1);
        }
        self.round = d as u8;
        self.resync = true;
        if self.pending_shards().is_empty() {
            self.complete_round();
        }
    }

    fn complete_round(&mut self) {
        let r = self.round as usize;
        // The inner aggregator is rebuilt when it is not exactly one round behind.
        if (self.inner.round() as usize != r || self.inner.is_done())
            && let Err(e) = self.rebuild(r - 1)
        {
            return self.fail(e);
        }
        for shard in 0..self.slots.len() {
            let msg = match self.slots[shard].accepted[r - 1]
                .as_ref()
                .map(|e| e.message())
            {
                Some(Ok(m)) => m,
                _ => return self.fail(ProtocolError::UnexpectedMessage("round incomplete".into())),
            };
            if let Err(e) = self.inner.handle_message(shard, msg) {
                return self.fail(e);
            }
        }
        let mut sends = Vec::new();
        while let Some(ev) = self.inner.poll_event() {
            match ev {
                AggregatorEvent::Send { shard, message } => sends.push((shard, message)),
                AggregatorEvent::ProofReady(p) => {
                    self.done = true;
                    self.events.push_back(CoordinatorEvent::ProofReady(p));
                    return;
                }
                AggregatorEvent::Failed(ProtocolError::ShareRejected { shard, .. }) if r == 4 => {
                    // A round-4 message that skipped the check on arrival (it came in
                    // through a rewind) breaks its shard's identity.
                    let slot = &self.slots[shard];
                    let (Some(evaluations), Some(challenges)) =
                        (slot.accepted[3].clone(), slot.history.get(..3))
                    else {
                        return self.fail(ProtocolError::UnexpectedMessage(
                            "round 4 incomplete".into(),
                        ));
                    };
                    let offence = Offence::LocalIdentity {
                        evaluations,
                        challenges: challenges.to_vec(),
                    };
                    self.round = 4;
                    let _ = self.blame(shard, offence);
                    return;
                }
                AggregatorEvent::Failed(ProtocolError::ShareRejected { shard, .. }) if r == 5 => {
                    let slot = &self.slots[shard];
                    let messages: Vec<Envelope> = slot.accepted.iter().flatten().cloned().collect();
                    let offence = Offence::BadOpening {
                        messages,
                        challenges: slot.history.clone(),
                    };
                    self.round = 5;
                    let _ = self.blame(shard, offence);
                    return;
                }
                AggregatorEvent::Failed(ProtocolError::GlobalProductMismatch) => {
                    return self.start_audit();
                }
                AggregatorEvent::Failed(e) => return self.fail(e),
            }
        }
        for (shard, message) in sends {
            let slot = &mut self.slots[shard];
            slot.history.truncate(r - 1);
            slot.history.push(message.clone());
            // After a rewind every holder gets the whole new history; otherwise just the
            // next challenge.
            let directive = if self.resync {
                Directive::Resume {
                    attempt: self.attempt,
                    history: slot.history.clone(),
                    send_from: r as u8 + 1,
                }
            } else {
                Directive::Next {
                    attempt: self.attempt,
                    message,
                }
            };
            for w in &slot.holders {
                self.events.push_back(CoordinatorEvent::Send {
                    worker: *w,
                    directive: directive.clone(),
                });
            }
        }
        self.resync = false;
        self.round += 1;
    }
}
