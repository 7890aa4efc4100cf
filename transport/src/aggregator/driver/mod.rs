//! The driver: the one task that owns the aggregator's protocol state. It turns inputs
//! from connection tasks and its own timer into calls on the sans-IO [`Coordinator`], and
//! the coordinator's events into frames for workers and outcomes for clients.

mod events;
mod fragments;
mod jobs;
mod peers;

use super::AggregatorSettings;
use super::prepare::{Catalog, Prepared};
use crate::error::TransportError;
use crate::frame::Frame;
use crate::record::JobRecord;
use crate::store::Store;
use crate::tls::PeerRole;
use crate::wire::{JobStats, Submission, WorkerTraffic};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tutti_crypto::erasure::ErasureParams;
use tutti_crypto::identity::WorkerId;
use tutti_protocol::aggregator::coordinator::Coordinator;
use tutti_protocol::envelope::JobId;

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
    /// Check every share under private weights even when the proof verifies.
    strict_share_checks: bool,
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
            strict_share_checks: settings.strict_share_checks,
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
}

/// Lowercase hex of a job id's first 8 bytes (for logs).
pub fn hex(id: &JobId) -> String {
    id.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
