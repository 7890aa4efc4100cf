//! A job from submission to its start: admission, the queue, resumption after a restart,
//! and activation with its assignments encoded (and, with erasure coding, dealt).

use super::{Active, ConnId, Driver, Out, Peer, fragments, hex};
use crate::aggregator::prepare::Prepared;
use crate::error::TransportError;
use crate::frame::{Frame, FrameType};
use crate::record::JobRecord;
use crate::wire::{JobOutcome, JobStats, Submission, WorkerTraffic, outcome_frame};
use rand::RngCore;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tutti_crypto::identity::WorkerId;
use tutti_protocol::aggregator::AggregatorOptions;
use tutti_protocol::aggregator::coordinator::{Coordinator, JobSetup};
use tutti_protocol::aggregator::journal::JournalEntry;
use tutti_protocol::assignment::ShardAssignment;
use tutti_protocol::envelope::JobId;
use tutti_protocol::inputs::ShardSecrets;
use tutti_protocol::runner::{aggregator_job_key, shard_key};
use tutti_protocol::worker::ShardInputs;

impl Driver {
    pub(super) fn submit(
        &mut self,
        client: WorkerId,
        conn: ConnId,
        submission: Submission,
        prepared: Arc<Prepared>,
    ) {
        let mut id = [0u8; 32];
        let mut job_secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut id);
        rand::rngs::OsRng.fill_bytes(&mut job_secret);
        let record = JobRecord {
            submission,
            job_secret,
            client,
            workers: Vec::new(),
            replicas: self.replicas as u8,
            digests: Vec::new(),
            coded: None,
        };
        if let Err(e) = self.store.put_job(&id, &record.to_bytes()) {
            tracing::error!("cannot record a job: {e}");
            let refusal = JobOutcome::Failed(format!("job refused: {e}"));
            self.send_conn(
                conn,
                Frame::new(FrameType::Outcome, outcome_frame(&[0u8; 32], &refusal)),
            );
            return;
        }
        tracing::info!(job = %hex(&id), client = %client, circuit = %record.submission.circuit.describe(), shards = record.submission.circuit.shape().shards, "job accepted");
        self.send_conn(conn, Frame::new(FrameType::Accepted, id.to_vec()));
        self.waiters.entry(id).or_default().push(client);
        self.queue.push_back((id, record, prepared));
        self.try_start(Instant::now());
    }

    /// The client that submitted `job`, if the job is known.
    fn owner(&self, job: &JobId) -> Option<WorkerId> {
        if let Some(a) = self.active.as_ref().filter(|a| a.id == *job) {
            return Some(a.record.client);
        }
        if let Some((_, r, _)) = self.queue.iter().find(|(id, _, _)| id == job) {
            return Some(r.client);
        }
        let bytes = self.store.job(job).ok().flatten()?;
        JobRecord::from_bytes(&bytes).ok().map(|r| r.client)
    }

    pub(super) fn await_outcome(&mut self, client: WorkerId, conn: ConnId, job: JobId) {
        if self.owner(&job) != Some(client) {
            // Unknown, or somebody else's: the same answer, so ids cannot be probed.
            let outcome = JobOutcome::Failed("unknown job (or not submitted by you)".into());
            self.send_conn(
                conn,
                Frame::new(FrameType::Outcome, outcome_frame(&job, &outcome)),
            );
            return;
        }
        match self.store.outcome(&job) {
            Ok(Some(bytes)) => {
                let mut payload = job.to_vec();
                payload.extend_from_slice(&bytes);
                self.send_conn(conn, Frame::new(FrameType::Outcome, payload));
            }
            _ => {
                let w = self.waiters.entry(job).or_default();
                if !w.contains(&client) {
                    w.push(client);
                }
            }
        }
    }

    fn busy_workers(&self) -> HashSet<WorkerId> {
        self.active
            .as_ref()
            .map(|a| a.record.workers.iter().copied().collect())
            .unwrap_or_default()
    }

    pub(super) fn try_start(&mut self, now: Instant) {
        if self.active.is_some() {
            return;
        }
        let Some((_, record, _)) = self.queue.front() else {
            return;
        };
        if !record.workers.is_empty() {
            // Started before a restart: resume it with the workers it had.
            let Some((id, record, prepared)) = self.queue.pop_front() else {
                return;
            };
            if let Err(e) = self.resume(id, record, prepared) {
                tracing::error!(job = %hex(&id), "cannot resume the job: {e}");
                self.finish_failed(id, format!("the aggregator could not resume the job: {e}"));
            }
            return;
        }
        let r = record.replicas.max(1) as usize;
        // With erasure coding, every shard's fragments need k+m workers besides its own.
        let need = (record.submission.circuit.shape().shards * r)
            .max(self.erasure.map_or(0, |e| e.total() + r));
        let busy = self.busy_workers();
        let mut idle: Vec<(&WorkerId, &Peer)> = self
            .peers
            .iter()
            .filter(|(id, _)| !busy.contains(id))
            .collect();
        idle.sort_by_key(|(_, p)| p.order);
        if idle.len() < need {
            if !self.waiting_logged {
                tracing::info!(connected = idle.len(), needed = need, "waiting for workers");
                self.waiting_logged = true;
            }
            self.ready_since = None;
            return;
        }
        if idle.len() < need + self.spares {
            let since = *self.ready_since.get_or_insert(now);
            if now.duration_since(since) < self.spare_wait {
                return;
            }
        }
        let workers: Vec<WorkerId> = idle
            .iter()
            .take(need + self.spares)
            .map(|(id, _)| **id)
            .collect();
        self.ready_since = None;
        self.waiting_logged = false;
        let Some((id, mut record, prepared)) = self.queue.pop_front() else {
            return;
        };
        record.workers = workers;
        if let Err(e) = self.activate(id, record, prepared, None) {
            tracing::error!(job = %hex(&id), "cannot start the job: {e}");
            self.finish_failed(id, format!("cannot start the job: {e}"));
        }
    }

    /// Picks up every unfinished job in the store: a started one resumes from its
    /// journal, the rest wait in the queue. Returns how many were found.
    pub fn resume_from_store(&mut self) -> Result<usize, TransportError> {
        let mut n = 0;
        for (id, bytes, finished) in self.store.jobs()? {
            if finished {
                continue;
            }
            n += 1;
            // One job that cannot be picked up again fails alone; the others go on.
            let picked = JobRecord::from_bytes(&bytes).and_then(|record| {
                let prepared = self.catalog.prepare(&record.submission.circuit)?;
                Ok((record, prepared))
            });
            match picked {
                Ok((record, prepared)) => {
                    self.waiters.entry(id).or_default().push(record.client);
                    self.queue.push_back((id, record, prepared));
                }
                Err(e) => {
                    tracing::error!(job = %hex(&id), "cannot pick the job up again: {e}");
                    self.conclude(
                        id,
                        &[],
                        JobOutcome::Failed(format!("the aggregator could not resume the job: {e}")),
                    );
                }
            }
        }
        // A started job resumes at once; its workers are asked as they reconnect.
        self.try_start(Instant::now());
        Ok(n)
    }

    /// Resumes a started job from its journal.
    fn resume(
        &mut self,
        id: JobId,
        record: JobRecord,
        prepared: Arc<Prepared>,
    ) -> Result<(), TransportError> {
        let entries = self.store.entries(&id)?;
        tracing::info!(
            job = %hex(&id),
            entries = entries.len(),
            "resuming a job from its journal"
        );
        self.activate(id, record, prepared, Some(entries))?;
        // Nobody is connected to this aggregator yet: whoever does not come back within
        // the grace period is treated as lost.
        if let Some(a) = self.active.as_mut() {
            let by = Instant::now() + self.resume_grace;
            for w in &a.record.workers {
                if !self.peers.contains_key(w) {
                    a.lost_by.insert(*w, by);
                }
            }
        }
        Ok(())
    }

    /// Starts (or, with journal entries, resumes) a job. A fresh job's record is stored
    /// with its workers, digests and, with erasure coding, its fragments' whereabouts;
    /// its witness is then dropped.
    fn activate(
        &mut self,
        id: JobId,
        mut record: JobRecord,
        prepared: Arc<Prepared>,
        resume: Option<Vec<JournalEntry>>,
    ) -> Result<(), TransportError> {
        let secret = record.job_secret;
        let m = record.submission.circuit.shape().shards;
        if record.digests.is_empty() {
            let s = &record.submission;
            if s.witnesses.len() != m {
                return Err(TransportError::Job(
                    "the job record holds neither digests nor a witness".into(),
                ));
            }
            record.digests = (0..m)
                .map(|i| {
                    ShardInputs {
                        key: prepared.keys[i].clone(),
                        witness: s.witnesses[i].clone(),
                        public_inputs: s.public_inputs.clone(),
                        shard_key: shard_key(&secret, i),
                    }
                    .digest()
                })
                .collect();
        }
        let mut assignments = HashMap::new();
        let mut deposits = Vec::new();
        if let (None, Some(params)) = (&resume, self.erasure) {
            // Encode every first assignment now, deal the fragments, forget the witness.
            for shard in 0..m {
                assignments.insert(
                    shard,
                    Arc::new(encode_assignment(id, &record, &prepared, shard)?),
                );
            }
            let (coded, frames) = fragments::deal(params, id, &record)?;
            record.coded = Some(coded);
            record.submission.witnesses.clear();
            deposits = frames;
        }
        if resume.is_none() {
            self.store.put_job(&id, &record.to_bytes())?;
        }
        let s = &record.submission;
        let setup = JobSetup {
            key: prepared.aggregator.clone(),
            public_inputs: s.public_inputs.clone(),
            job_key: aggregator_job_key(&secret),
            job_id: id,
            workers: record.workers.clone(),
            shard_inputs: record.digests.clone(),
            replicas: record.replicas.max(1) as usize,
            options: AggregatorOptions {
                strict_share_checks: self.strict_share_checks,
                ..AggregatorOptions::default()
            },
        };
        let journal = Box::new(self.store.journal(&id)?);
        let resumed = resume.is_some();
        let mut coord = match resume {
            None => {
                let mut c = Coordinator::new(setup)?.with_journal(journal);
                c.start();
                c
            }
            // Holders are asked again one by one as they reconnect (`reissue_for`).
            Some(entries) => Coordinator::resume(setup, &entries)?.with_journal(journal),
        };
        let now = Instant::now();
        let traffic = record
            .workers
            .iter()
            .map(|w| {
                (
                    *w,
                    WorkerTraffic {
                        worker: *w,
                        sent: 0,
                        received: 0,
                        inputs: 0,
                    },
                )
            })
            .collect();
        let span = tracing::info_span!("job", id = %hex(&id));
        let _enter = span.enter();
        tracing::info!(
            shards = m,
            workers = record.workers.len(),
            resumed,
            round = coord.round(),
            "job started"
        );
        let progress = (coord.attempt(), coord.round());
        let resume_round = resumed.then(|| coord.round());
        let stats = JobStats {
            resumed: resumed as u32,
            ..JobStats::default()
        };
        // Keep the borrow checker happy: events are pumped once `active` is set.
        let _ = &mut coord;
        self.active = Some(Active {
            id,
            record,
            prepared,
            coord,
            has_state: HashMap::new(),
            outbox: HashMap::new(),
            assignments,
            rebuilds: HashMap::new(),
            progress,
            deadline: now + self.round_timeout,
            lost_by: HashMap::new(),
            started: now,
            stats,
            traffic,
            resume_round,
        });
        for (worker, frame) in deposits {
            if let Some(t) = self
                .active
                .as_mut()
                .and_then(|a| a.traffic.get_mut(&worker))
            {
                t.inputs += frame.wire_len() as u64;
            }
            self.route(worker, Out::Bulk(frame));
        }
        self.pump();
        if let Some(a) = self.active.as_mut().filter(|a| a.record.coded.is_some()) {
            // The first holders have their assignments: keep no witness around.
            a.assignments.clear();
        }
        Ok(())
    }
}

/// Encodes shard `shard`'s assignment from a record that still holds the witness.
pub(super) fn encode_assignment(
    id: JobId,
    record: &JobRecord,
    prepared: &Prepared,
    shard: usize,
) -> Result<Vec<u8>, TransportError> {
    let s = &record.submission;
    let witness = s
        .witnesses
        .get(shard)
        .ok_or_else(|| TransportError::Job(format!("no witness for shard {shard}")))?;
    let secrets = ShardSecrets {
        witness: witness.clone(),
        shard_key: shard_key(&record.job_secret, shard),
    };
    assignment_bytes(id, prepared, shard, s.public_inputs.clone(), secrets)
}

/// Encodes shard `shard`'s assignment from its secrets.
pub(super) fn assignment_bytes(
    id: JobId,
    prepared: &Prepared,
    shard: usize,
    public_inputs: Vec<tutti_protocol::Fr>,
    secrets: ShardSecrets,
) -> Result<Vec<u8>, TransportError> {
    Ok(ShardAssignment::new(id, &prepared.keys[shard], public_inputs, secrets).to_bytes()?)
}
