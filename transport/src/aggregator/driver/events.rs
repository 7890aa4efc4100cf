//! The coordinator's events: assignments and directives out to workers, and the end of
//! a job, proved or failed.

use super::jobs::encode_assignment;
use super::{Driver, Out, hex};
use crate::frame::{Frame, FrameType};
use crate::wire::{JobDirective, JobOutcome, assignment_frame, outcome_frame};
use std::sync::Arc;
use std::time::Instant;
use tutti_crypto::identity::WorkerId;
use tutti_protocol::aggregator::coordinator::CoordinatorEvent;
use tutti_protocol::envelope::JobId;
use tutti_protocol::proof::Proof;

impl Driver {
    /// Handles every event the coordinator has queued.
    pub(super) fn pump(&mut self) {
        let mut reissue = Vec::new();
        loop {
            let Some(a) = self.active.as_mut() else {
                return;
            };
            let Some(ev) = a.coord.poll_event() else {
                break;
            };
            match ev {
                CoordinatorEvent::Assign {
                    worker,
                    shard,
                    directive,
                } => self.assign(worker, shard, directive),
                CoordinatorEvent::Send { worker, directive } => {
                    if a.has_state.contains_key(&worker) {
                        let frame = JobDirective {
                            job_id: a.id,
                            shard: None,
                            directive,
                        };
                        self.queue_frame(
                            worker,
                            Frame::new(FrameType::Directive, frame.to_bytes()),
                        );
                    } else {
                        reissue.push(worker);
                    }
                }
                CoordinatorEvent::Blame(c) => {
                    tracing::warn!(worker = %c.worker(), shard = c.shard(), offence = c.offence.name(), "blamed: certificate issued");
                    a.stats.blamed.push(c.worker());
                    a.stats.certificates.push(c.to_bytes());
                }
                CoordinatorEvent::Reassigned {
                    shard,
                    from,
                    to,
                    reason,
                } => {
                    tracing::warn!(shard, from = %from, to = %to, ?reason, "shard reassigned");
                    a.stats.reassigned += 1;
                    a.deadline = Instant::now() + self.round_timeout;
                }
                CoordinatorEvent::ProofReady(p) => self.finish_proved(*p),
                CoordinatorEvent::Failed(e) => {
                    let id = a.id;
                    self.finish_failed(id, e.to_string());
                }
            }
        }
        for w in reissue {
            self.reissue_for(w);
        }
    }

    /// Asks `worker` again for the open round, if it holds a pending shard.
    pub(super) fn reissue_for(&mut self, worker: WorkerId) {
        let Some(a) = self.active.as_mut() else {
            return;
        };
        a.coord.reissue();
        let mut mine = Vec::new();
        while let Some(ev) = a.coord.poll_event() {
            match ev {
                CoordinatorEvent::Assign {
                    worker: w,
                    shard,
                    directive,
                } if w == worker => mine.push((shard, directive)),
                // Other holders are still connected and working: leave them be.
                CoordinatorEvent::Assign { .. } => {}
                other => tracing::debug!(?other, "unexpected event on reissue"),
            }
        }
        for (shard, directive) in mine {
            self.assign(worker, shard, directive);
        }
    }

    pub(super) fn assign(
        &mut self,
        worker: WorkerId,
        shard: usize,
        directive: tutti_protocol::worker::Directive,
    ) {
        let Some(a) = self.active.as_mut() else {
            return;
        };
        if a.has_state.get(&worker) != Some(&shard) {
            let bytes = match a.assignments.get(&shard) {
                Some(b) => b.clone(),
                None if a.record.submission.witnesses.is_empty() => {
                    // Coded away: rebuild from the fragment holders first.
                    self.request_rebuild(worker, shard, directive);
                    return;
                }
                None => match encode_assignment(a.id, &a.record, &a.prepared, shard) {
                    Ok(b) => {
                        let b = Arc::new(b);
                        a.assignments.insert(shard, b.clone());
                        b
                    }
                    Err(e) => {
                        tracing::error!(shard, "cannot encode the assignment: {e}");
                        return;
                    }
                },
            };
            let payload = assignment_frame(&a.prepared.vk_bytes, &bytes);
            if let Some(t) = a.traffic.get_mut(&worker) {
                t.inputs += (payload.len() + crate::frame::HEADER_BYTES) as u64;
            }
            a.has_state.insert(worker, shard);
            let frame = Frame::new(FrameType::Assignment, payload);
            self.route(worker, Out::Bulk(frame));
        }
        let Some(a) = self.active.as_ref() else {
            return;
        };
        let frame = JobDirective {
            job_id: a.id,
            shard: Some(shard as u32),
            directive,
        };
        self.queue_frame(worker, Frame::new(FrameType::Assign, frame.to_bytes()));
    }

    pub(super) fn finish_proved(&mut self, proof: Proof) {
        let Some(mut a) = self.active.take() else {
            return;
        };
        a.stats.attempts = a.coord.attempt() + 1;
        a.stats.wall_nanos = a.started.elapsed().as_nanos() as u64;
        a.stats.traffic = a
            .record
            .workers
            .iter()
            .filter_map(|w| a.traffic.get(w).cloned())
            .collect();
        tracing::info!(
            job = %hex(&a.id),
            aggregator_ms = a.stats.aggregator_nanos as f64 / 1e6,
            wall_ms = a.stats.wall_nanos as f64 / 1e6,
            "proof ready and verified"
        );
        let outcome = JobOutcome::Proved {
            proof: proof.to_bytes(),
            vk: a.prepared.vk_bytes.clone(),
            public_inputs: a.record.submission.public_inputs.clone(),
            stats: a.stats.clone(),
        };
        self.conclude(a.id, &a.record.workers, outcome);
    }

    pub(super) fn finish_failed(&mut self, id: JobId, reason: String) {
        let workers = match self.active.take() {
            Some(a) if a.id == id => a.record.workers,
            other => {
                self.active = other;
                Vec::new()
            }
        };
        tracing::error!(job = %hex(&id), "job failed: {reason}");
        self.conclude(id, &workers, JobOutcome::Failed(reason));
    }

    pub(super) fn conclude(&mut self, id: JobId, workers: &[WorkerId], outcome: JobOutcome) {
        let bytes = outcome.to_bytes();
        if let Err(e) = self.store.put_outcome(&id, &bytes) {
            tracing::error!("cannot record the outcome: {e}");
        }
        for w in workers {
            self.send_peer(*w, Out::Frame(Frame::new(FrameType::JobOver, id.to_vec())));
        }
        let frame = Frame::new(FrameType::Outcome, outcome_frame(&id, &outcome));
        for c in self.waiters.remove(&id).unwrap_or_default() {
            self.send_client(c, &frame);
        }
        self.try_start(Instant::now());
    }
}
