//! The driver: the one task that owns the aggregator's protocol state. It turns inputs
//! from connection tasks and its own timer into calls on the sans-IO [`Coordinator`], and
//! the coordinator's events into frames for workers and outcomes for clients.

mod fragments;

use super::AggregatorSettings;
use super::prepare::{Catalog, Prepared};
use crate::error::TransportError;
use crate::frame::{Frame, FrameType};
use crate::record::JobRecord;
use crate::store::Store;
use crate::tls::PeerRole;
use crate::wire::{
    JobDirective, JobOutcome, JobStats, Submission, WorkerTraffic, assignment_frame, outcome_frame,
};
use rand::RngCore;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tutti_crypto::erasure::ErasureParams;
use tutti_crypto::identity::WorkerId;
use tutti_protocol::aggregator::coordinator::{Coordinator, CoordinatorEvent, JobSetup};
use tutti_protocol::aggregator::journal::JournalEntry;
use tutti_protocol::assignment::ShardAssignment;
use tutti_protocol::envelope::JobId;
use tutti_protocol::inputs::ShardSecrets;
use tutti_protocol::proof::Proof;
use tutti_protocol::runner::{aggregator_job_key, shard_key};
use tutti_protocol::worker::ShardInputs;

/// A connection's number (a reconnecting peer gets a new one).
pub type ConnId = u64;

/// What the driver asks a connection task to send.
#[derive(Debug)]
pub enum Out {
    /// A frame on the control stream.
    Frame(Frame),
    /// A frame on a stream of its own.
    Bulk(Frame),
    /// Say goodbye and close.
    Close(String),
}

/// What connection tasks tell the driver.
pub enum Input {
    /// A peer authenticated.
    Connected {
        /// Who.
        id: WorkerId,
        /// As what.
        role: PeerRole,
        /// The connection.
        conn: ConnId,
        /// Its outgoing queue.
        tx: mpsc::UnboundedSender<Out>,
        /// Shards it holds state for.
        held: Vec<(JobId, u32)>,
    },
    /// A connection ended.
    Disconnected {
        /// Who.
        id: WorkerId,
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: String,
    },
    /// A worker's signed message.
    Envelope {
        /// Who.
        id: WorkerId,
        /// The connection.
        conn: ConnId,
        /// The compact envelope.
        wire: Vec<u8>,
    },
    /// A worker holds nothing of a job it was sent a directive for.
    Lost {
        /// Who.
        id: WorkerId,
        /// The job.
        job: JobId,
    },
    /// A worker sent back a fragment it keeps (signed `SignedFragment` bytes).
    Fragment {
        /// Who.
        id: WorkerId,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A client waits for a job's outcome.
    Await {
        /// Who.
        id: WorkerId,
        /// The connection.
        conn: ConnId,
        /// The job.
        job: JobId,
    },
    /// A client submitted a job that passed admission.
    Submit {
        /// Who.
        id: WorkerId,
        /// The connection.
        conn: ConnId,
        /// The job.
        submission: Submission,
        /// Its preprocessed circuit.
        prepared: Arc<Prepared>,
    },
}

struct Peer {
    conn: ConnId,
    tx: mpsc::UnboundedSender<Out>,
    order: u64,
}

struct Active {
    id: JobId,
    record: JobRecord,
    prepared: Arc<Prepared>,
    coord: Coordinator,
    /// Which shard's assignment each worker holds, as far as the driver knows.
    has_state: HashMap<WorkerId, usize>,
    outbox: HashMap<WorkerId, Vec<Out>>,
    /// Encoded assignments at hand (with erasure coding, only while the job starts and
    /// while a takeover waits for its rebuilt inputs).
    assignments: HashMap<usize, Arc<Vec<u8>>>,
    /// Shards whose inputs are being rebuilt from fragments.
    rebuilds: HashMap<usize, fragments::Rebuild>,
    progress: (u32, u8),
    deadline: Instant,
    /// Disconnected job workers, and when they count as lost unless back.
    lost_by: HashMap<WorkerId, Instant>,
    started: Instant,
    stats: JobStats,
    traffic: HashMap<WorkerId, WorkerTraffic>,
    resume_round: Option<u8>,
}

/// The aggregator's state.
pub struct Driver {
    store: Store,
    catalog: Catalog,
    spares: usize,
    replicas: usize,
    round_timeout: Duration,
    grace: Duration,
    /// Erasure-code each job's shard inputs over its workers.
    erasure: Option<ErasureParams>,
    /// After a restart workers first notice the old connection is dead (a stateless
    /// reset, or at worst an idle timeout that loss can stretch), then reconnect: they
    /// get longer.
    resume_grace: Duration,
    spare_wait: Duration,
    /// Connected workers (one connection each: a newer one replaces an older one).
    peers: HashMap<WorkerId, Peer>,
    /// Connected clients, by connection.
    clients: HashMap<ConnId, (WorkerId, mpsc::UnboundedSender<Out>)>,
    next_order: u64,
    queue: VecDeque<(JobId, JobRecord, Arc<Prepared>)>,
    ready_since: Option<Instant>,
    active: Option<Active>,
    waiters: HashMap<JobId, Vec<WorkerId>>,
    waiting_logged: bool,
}

impl Driver {
    /// A driver with nothing running.
    pub fn new(
        settings: &AggregatorSettings,
        _inputs: mpsc::UnboundedSender<Input>,
    ) -> Result<Self, TransportError> {
        Ok(Driver {
            store: settings.store.clone(),
            catalog: Catalog::new(settings.srs.clone()),
            spares: settings.spares,
            replicas: settings.replicas.max(1),
            round_timeout: settings.round_timeout,
            grace: settings.reconnect_grace,
            erasure: settings.erasure,
            resume_grace: settings
                .reconnect_grace
                .max(settings.tuning.idle_timeout * 3 + Duration::from_secs(2)),
            spare_wait: settings.spare_wait,
            peers: HashMap::new(),
            clients: HashMap::new(),
            next_order: 0,
            queue: VecDeque::new(),
            ready_since: None,
            active: None,
            waiters: HashMap::new(),
            waiting_logged: false,
        })
    }

    /// The catalog of preprocessed circuits (shared with connection tasks).
    pub fn catalog(&self) -> Catalog {
        self.catalog.clone()
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

    /// Runs until the inputs channel closes.
    pub async fn run(
        &mut self,
        mut rx: mpsc::UnboundedReceiver<Input>,
    ) -> Result<(), TransportError> {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                input = rx.recv() => match input {
                    Some(i) => {
                        let span = self.span();
                        let _enter = span.enter();
                        self.handle(i)
                    }
                    None => return Ok(()),
                },
                _ = tick.tick() => {
                    let span = self.span();
                    let _enter = span.enter();
                    self.on_tick(Instant::now())
                }
            }
        }
    }

    /// The span of the running job and its round (empty when idle).
    fn span(&self) -> tracing::Span {
        match self.active.as_ref() {
            Some(a) => tracing::info_span!(
                "job",
                id = %hex(&a.id),
                attempt = a.coord.attempt(),
                round = a.coord.round()
            ),
            None => tracing::Span::none(),
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Connected {
                id,
                role,
                conn,
                tx,
                held,
            } => self.connected(id, role, conn, tx, held),
            Input::Disconnected { id, conn, reason } => {
                self.clients.remove(&conn);
                if self.peers.get(&id).is_some_and(|p| p.conn == conn) {
                    tracing::info!(peer = %id, "disconnected: {reason}");
                    self.peers.remove(&id);
                    if let Some(a) = self
                        .active
                        .as_mut()
                        .filter(|a| a.record.workers.contains(&id))
                    {
                        a.lost_by.insert(id, Instant::now() + self.grace);
                    }
                }
            }
            Input::Envelope { id, conn, wire } => self.envelope(id, conn, wire),
            Input::Lost { id, job } => {
                if self.active.as_ref().is_some_and(|a| a.id == job) {
                    tracing::info!(worker = %id, "worker holds nothing of the job: assigning again");
                    if let Some(a) = self.active.as_mut() {
                        a.has_state.remove(&id);
                    }
                    self.reissue_for(id);
                }
            }
            Input::Await { id, conn, job } => self.await_outcome(id, conn, job),
            Input::Fragment { id, bytes } => self.fragment(id, bytes),
            Input::Submit {
                id,
                conn,
                submission,
                prepared,
            } => self.submit(id, conn, submission, prepared),
        }
    }

    fn connected(
        &mut self,
        id: WorkerId,
        role: PeerRole,
        conn: ConnId,
        tx: mpsc::UnboundedSender<Out>,
        held: Vec<(JobId, u32)>,
    ) {
        if role == PeerRole::Client {
            // A client may hold several connections (several jobs at once).
            self.clients.insert(conn, (id, tx));
            return;
        }
        self.next_order += 1;
        if let Some(old) = self.peers.get(&id) {
            let _ = old.tx.send(Out::Close(
                "replaced by a newer connection of the same peer".into(),
            ));
        }
        self.peers.insert(
            id,
            Peer {
                conn,
                tx,
                order: self.next_order,
            },
        );
        // Jobs it still holds that are over: tell it, so it can drop them.
        let active = self.active.as_ref().map(|a| a.id);
        for (job, _) in &held {
            if Some(*job) != active {
                self.send_peer(id, Out::Frame(Frame::new(FrameType::JobOver, job.to_vec())));
            }
        }
        let Some(a) = self.active.as_mut() else {
            self.try_start(Instant::now());
            return;
        };
        a.lost_by.remove(&id);
        match held.iter().find(|(job, _)| *job == a.id) {
            Some((_, shard)) => {
                a.has_state.insert(id, *shard as usize);
            }
            None => {
                a.has_state.remove(&id);
            }
        }
        let mut queued = a.outbox.remove(&id).unwrap_or_default();
        let holder = a.coord.is_holder(&id);
        if holder {
            // The directive the re-ask below sends supersedes queued ones; fragments
            // still go.
            queued.retain(|o| {
                matches!(o, Out::Bulk(f) | Out::Frame(f)
                    if matches!(f.kind, FrameType::FragmentDeposit | FrameType::FragmentRequest))
            });
        }
        for out in queued {
            self.deliver(id, out);
        }
        if holder {
            // Whatever was queued or in flight on the old connection may be lost: ask
            // again for the open round only (the journal keeps the rest).
            self.reissue_for(id);
        }
        // Fragments it was asked for and may not have sent.
        self.rerequest_fragments(Some(id));
    }

    fn envelope(&mut self, id: WorkerId, _conn: ConnId, wire: Vec<u8>) {
        let Some(a) = self.active.as_mut() else {
            tracing::debug!(worker = %id, "a message with no job running: ignored");
            return;
        };
        let t = a.traffic.entry(id).or_insert(WorkerTraffic {
            worker: id,
            sent: 0,
            received: 0,
            inputs: 0,
        });
        t.sent += (wire.len() + crate::frame::HEADER_BYTES) as u64;
        if let (Some(r), Some(round)) = (a.resume_round, wire.get(8))
            && *round < r
        {
            a.stats.resent += 1;
        }
        let t0 = Instant::now();
        let outcome = a.coord.handle_message(id, &wire);
        a.stats.aggregator_nanos += t0.elapsed().as_nanos() as u64;
        tracing::debug!(worker = %id, ?outcome, "message");
        self.pump();
    }

    fn submit(
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
        tracing::info!(job = %hex(&id), client = %client, circuit = ?record.submission.circuit.kind, shards = record.submission.circuit.shape.shards, "job accepted");
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

    fn await_outcome(&mut self, client: WorkerId, conn: ConnId, job: JobId) {
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

    fn try_start(&mut self, now: Instant) {
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
        let need = (record.submission.circuit.shape.shards * r)
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
        let m = record.submission.circuit.shape.shards;
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

    /// Handles every event the coordinator has queued.
    fn pump(&mut self) {
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
    fn reissue_for(&mut self, worker: WorkerId) {
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

    fn assign(
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

    /// Queues a control frame for a worker of the active job, counting its bytes.
    fn queue_frame(&mut self, worker: WorkerId, frame: Frame) {
        if let Some(t) = self
            .active
            .as_mut()
            .and_then(|a| a.traffic.get_mut(&worker))
        {
            t.received += frame.wire_len() as u64;
        }
        self.route(worker, Out::Frame(frame));
    }

    /// Sends now if the worker is connected, else keeps it for its reconnection.
    fn route(&mut self, worker: WorkerId, out: Out) {
        let connected = self.peers.contains_key(&worker);
        if connected {
            self.deliver(worker, out);
        } else if let Some(a) = self.active.as_mut() {
            a.outbox.entry(worker).or_default().push(out);
        }
    }

    fn deliver(&mut self, worker: WorkerId, out: Out) {
        if let Some(p) = self.peers.get(&worker)
            && let Err(mpsc::error::SendError(out)) = p.tx.send(out)
            && let Some(a) = self.active.as_mut()
        {
            a.outbox.entry(worker).or_default().push(out);
        }
    }

    fn send_peer(&self, id: WorkerId, out: Out) {
        if let Some(p) = self.peers.get(&id) {
            let _ = p.tx.send(out);
        }
    }

    /// Sends a frame on one client connection.
    fn send_conn(&self, conn: ConnId, frame: Frame) {
        if let Some((_, tx)) = self.clients.get(&conn) {
            let _ = tx.send(Out::Frame(frame));
        }
    }

    /// Sends a frame to every connection of a client.
    fn send_client(&self, id: WorkerId, frame: &Frame) {
        for (c, tx) in self.clients.values() {
            if *c == id {
                let _ = tx.send(Out::Frame(frame.clone()));
            }
        }
    }

    fn on_tick(&mut self, now: Instant) {
        self.try_start(now);
        let Some(a) = self.active.as_mut() else {
            return;
        };
        let p = (a.coord.attempt(), a.coord.round());
        if p != a.progress {
            a.progress = p;
            a.deadline = now + self.round_timeout;
            tracing::info!(job = %hex(&a.id), attempt = p.0, round = p.1, "round open");
        }
        if now >= a.deadline {
            let round = a.coord.round();
            let pending = a.coord.pending_shards();
            tracing::warn!(round, ?pending, "round deadline passed");
            let t0 = Instant::now();
            for shard in pending {
                a.coord.handle_timeout(shard, round);
            }
            a.stats.aggregator_nanos += t0.elapsed().as_nanos() as u64;
            a.deadline = now + self.round_timeout;
            self.pump();
            self.rerequest_fragments(None);
        }
        let Some(a) = self.active.as_mut() else {
            return;
        };
        let gone: Vec<WorkerId> = a
            .lost_by
            .iter()
            .filter(|(_, by)| now >= **by)
            .map(|(w, _)| *w)
            .collect();
        for w in gone {
            a.lost_by.remove(&w);
            if a.coord.is_holder(&w) {
                tracing::warn!(worker = %w, "worker did not come back: moving its shard");
            } else {
                tracing::info!(worker = %w, "spare did not come back: no longer counted on");
            }
            a.has_state.remove(&w);
            a.coord.handle_worker_lost(w);
        }
        self.pump();
    }

    fn finish_proved(&mut self, proof: Proof) {
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

    fn finish_failed(&mut self, id: JobId, reason: String) {
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

    fn conclude(&mut self, id: JobId, workers: &[WorkerId], outcome: JobOutcome) {
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

/// Encodes shard `shard`'s assignment from a record that still holds the witness.
fn encode_assignment(
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
fn assignment_bytes(
    id: JobId,
    prepared: &Prepared,
    shard: usize,
    public_inputs: Vec<tutti_protocol::Fr>,
    secrets: ShardSecrets,
) -> Result<Vec<u8>, TransportError> {
    Ok(ShardAssignment::new(id, &prepared.keys[shard], public_inputs, secrets).to_bytes()?)
}

/// Lowercase hex of a job id's first 8 bytes (for logs).
pub fn hex(id: &JobId) -> String {
    id.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
