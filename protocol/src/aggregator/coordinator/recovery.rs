//! The coordinator's recovery logic: settling replicas' votes, blame, reassignment,
//! fragment evidence, check 5's recomputation audit, timeouts and lost workers, rewinds,
//! and completing a round through the inner aggregator.

use super::*;

impl Coordinator {
    /// Accepts the open round's message of `shard` once every holder has voted and the
    /// votes agree; otherwise the majority wins, or a spare arbitrates a tie.
    pub(super) fn settle(&mut self, shard: usize) {
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

    pub(super) fn add_holder(&mut self, shard: usize, worker: WorkerId) {
        self.slots[shard].holders.push(worker);
        self.slots[shard].fresh.push(worker);
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
            offence: Offence::CorruptFragment {
                fragment: fragment.clone(),
                digests: digests.clone(),
            },
        };
        if cert.verify(&self.key.vk).is_err() {
            return MessageOutcome::Ignored(IgnoreReason::BadSignature);
        }
        if self.retired.contains(&fragment.holder) {
            // Already blamed (or retired): one certificate is enough.
            return MessageOutcome::Duplicate;
        }
        self.record(JournalEntry::FragmentEvidence { fragment, digests });
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
    pub(super) fn start_audit(&mut self) {
        let Some(auditor) = self.idle.pop_front() else {
            return self.fail(ProtocolError::GlobalProductMismatch);
        };
        tracing::warn!("no worker failed a check: recomputing shards to find a forged witness");
        self.audit_shard(auditor, 0);
    }

    pub(super) fn audit_shard(&mut self, auditor: WorkerId, shard: usize) {
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

    pub(super) fn audit_message(&mut self, env: Envelope) -> MessageOutcome {
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

    pub(super) fn fail(&mut self, e: ProtocolError) {
        if self.done {
            return;
        }
        tracing::warn!(error = %e, "job failed");
        self.done = true;
        self.events.push_back(CoordinatorEvent::Failed(e));
    }

    /// A link refusal at round 3 that the worker's own round-2 product contradicts.
    pub(super) fn false_refusal(
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

    pub(super) fn on_refusal(
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

    pub(super) fn blamed(&mut self, shard: usize, offence: Offence) -> MessageOutcome {
        if self.blame(shard, offence) {
            MessageOutcome::Blamed
        } else {
            MessageOutcome::Accepted
        }
    }

    /// Emits a certificate and replaces the worker; false when the fault could not be
    /// proven (the worker is then replaced without blame).
    pub(super) fn blame(&mut self, shard: usize, offence: Offence) -> bool {
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
    pub(super) fn reassign(&mut self, shard: usize, worker: WorkerId, reason: ReassignReason) {
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
    pub(super) fn rebuild(&mut self, upto: usize) -> Result<Vec<AggregatorMessage>, ProtocolError> {
        self.inner = Aggregator::new(
            self.key.clone(),
            self.public_inputs.clone(),
            self.job_key,
            self.options,
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
    pub(super) fn rewind(&mut self, shard: usize, env: Envelope) {
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
        let pending = self.pending_shards();
        if pending.is_empty() {
            return self.complete_round();
        }
        // Holders still owing round d must answer under the new attempt: whatever they
        // sent under the old one is now fenced off.
        for s in pending {
            let slot = &self.slots[s];
            for w in &slot.holders {
                self.events.push_back(CoordinatorEvent::Send {
                    worker: *w,
                    directive: Directive::Resume {
                        attempt: self.attempt,
                        history: slot.history.clone(),
                        send_from: d as u8,
                    },
                });
            }
        }
    }

    pub(super) fn complete_round(&mut self) {
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
