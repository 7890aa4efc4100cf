//! The worker as a network service: keeps a connection to the aggregator (reconnecting
//! after a blip, reporting the shards it still holds), receives shard assignments on
//! their own streams, and answers directives with signed messages computed by the
//! sans-IO [`SignedWorker`] on a blocking thread.

use crate::error::TransportError;
use crate::frame::send_bulk;
use crate::frame::{Frame, FrameReader, FrameType, read_frame, write_frame};
use crate::peer::{PeerSettings, Session, SessionError, SilenceWatchdog, open_session};
use crate::tls::PeerRole;
use crate::wire::{
    FragmentDeposit, JobDirective, job_id_from_bytes, parse_assignment_frame,
    parse_fragment_request,
};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing::Instrument;
use tutti_protocol::assignment::ShardAssignment;
use tutti_protocol::envelope::JobId;
use tutti_protocol::fragments::{HeldFragment, SignedFragment};
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::worker::{CheckedRows, Directive, ShardInputs, SignedWorker};

/// What one worker did for one job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobCounters {
    /// The shard it held last.
    pub shard: usize,
    /// Time spent proving (all rounds), nanoseconds.
    pub prove_nanos: u64,
    /// Time spent decoding its assignment and preprocessing its shard, nanoseconds.
    pub prepare_nanos: u64,
    /// Protocol bytes sent (envelope frames, headers included).
    pub sent: u64,
    /// Protocol bytes received (assign and directive frames, headers included).
    pub received: u64,
    /// Shard-input bytes received (assignment frames).
    pub inputs: u64,
}

/// Counters of a worker node, readable while it runs.
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    /// Per job.
    pub jobs: HashMap<JobId, JobCounters>,
    /// Sessions opened (more than one after reconnections).
    pub sessions: u32,
}

struct Held {
    shard: usize,
    vk: VerifyingKey,
    inputs: ShardInputs,
    worker: Option<SignedWorker>,
}

/// A worker node.
pub struct WorkerNode {
    settings: PeerSettings,
    max_bulk: usize,
    corrupt_fragments: bool,
    stats: Arc<Mutex<WorkerStats>>,
    /// SRS rows already checked against a verifying key (each row's check costs an MSM;
    /// a worker proving job after job with one SRS pays it once per row).
    checked_rows: Arc<Mutex<CheckedRows>>,
}

enum End {
    Shutdown,
}

impl WorkerNode {
    /// A worker that will connect with these settings.
    pub fn new(settings: PeerSettings, max_bulk: usize) -> Self {
        WorkerNode {
            settings,
            max_bulk,
            corrupt_fragments: false,
            stats: Arc::default(),
            checked_rows: Arc::default(),
        }
    }

    /// Adversarial testing only: hand out damaged fragments (still signed) when asked
    /// for them. An honest worker never does this; the aggregator blames it.
    pub fn corrupting_fragments(mut self) -> Self {
        self.corrupt_fragments = true;
        self
    }

    /// Its counters (shared; they change while it runs).
    pub fn stats(&self) -> Arc<Mutex<WorkerStats>> {
        self.stats.clone()
    }

    /// Runs until `shutdown` resolves or the aggregator refuses this identity.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), TransportError> {
        let span = tracing::info_span!("worker", id = %self.settings.identity.id());
        self.run_inner(shutdown).instrument(span).await
    }

    async fn run_inner(&self, shutdown: impl Future<Output = ()>) -> Result<(), TransportError> {
        tokio::pin!(shutdown);
        let mut held: HashMap<JobId, Held> = HashMap::new();
        let mut kept: HashMap<(JobId, u32), HeldFragment> = HashMap::new();
        loop {
            let report = held.iter().map(|(j, h)| (*j, h.shard as u32)).collect();
            let opened = tokio::select! {
                s = open_session(&self.settings, PeerRole::Worker, report) => s,
                _ = &mut shutdown => return Ok(()),
            };
            match opened {
                Ok(session) => {
                    tracing::info!(aggregator = %self.settings.aggregator, "connected");
                    if let Ok(mut s) = self.stats.lock() {
                        s.sessions += 1;
                    }
                    match self
                        .serve(session, &mut held, &mut kept, &mut shutdown)
                        .await
                    {
                        Ok(End::Shutdown) => return Ok(()),
                        Err(e) => tracing::warn!("connection lost: {e}; reconnecting"),
                    }
                }
                Err(SessionError::Refused(why)) => {
                    return Err(TransportError::Auth(format!(
                        "the aggregator refused this worker: {why}"
                    )));
                }
                Err(SessionError::Failed(e)) => {
                    tracing::warn!(
                        "cannot reach the aggregator: {e}; retrying in {:?}",
                        self.settings.retry
                    );
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.retry) => {}
                _ = &mut shutdown => return Ok(()),
            }
        }
    }

    fn count(&self, job: &JobId, f: impl FnOnce(&mut JobCounters)) {
        if let Ok(mut s) = self.stats.lock() {
            f(s.jobs.entry(*job).or_default());
        }
    }

    async fn serve<S: Future<Output = ()>>(
        &self,
        session: Session,
        held: &mut HashMap<JobId, Held>,
        kept: &mut HashMap<(JobId, u32), HeldFragment>,
        shutdown: &mut std::pin::Pin<&mut S>,
    ) -> Result<End, TransportError> {
        let Session {
            endpoint: _endpoint,
            conn,
            mut send,
            mut recv,
        } = session;
        let mut pending: Vec<JobDirective> = Vec::new();
        let allowed = [
            FrameType::Assign,
            FrameType::Directive,
            FrameType::JobOver,
            FrameType::FragmentRequest,
            FrameType::Goodbye,
        ];
        // Covers every await below, not only this loop's select: an assignment stream
        // half-sent when the aggregator died, or a write, fails as soon as the
        // connection is closed.
        let _watchdog = SilenceWatchdog::start(
            &conn,
            self.settings.tuning.idle_timeout,
            "nothing heard from the aggregator",
        );
        // Kept across iterations: a control frame half read when a bulk stream arrives
        // is resumed, not lost (the select below drops the losing branch's future).
        let mut control = FrameReader::new(&mut recv, &allowed, 0);
        loop {
            tokio::select! {
                _ = shutdown.as_mut() => {
                    let _ = write_frame(&mut send, &Frame::new(FrameType::Goodbye, b"worker shutting down".to_vec())).await;
                    conn.close(0u32.into(), b"worker shutting down");
                    return Ok(End::Shutdown);
                }
                frame = control.next() => {
                    let frame = frame?.ok_or_else(|| TransportError::Connection("the aggregator closed the control stream".into()))?;
                    match frame.kind {
                        FrameType::Assign | FrameType::Directive => {
                            let jd = JobDirective::from_bytes(&frame.payload, frame.kind == FrameType::Assign)?;
                            self.count(&jd.job_id, |c| c.received += frame.wire_len() as u64);
                            pending.push(jd);
                        }
                        FrameType::JobOver => {
                            let job = job_id_from_bytes(&frame.payload)?;
                            tracing::info!("job over");
                            held.remove(&job);
                            kept.retain(|(j, _), _| *j != job);
                            pending.retain(|d| d.job_id != job);
                        }
                        FrameType::FragmentRequest => {
                            let (job, shard) = parse_fragment_request(&frame.payload)?;
                            if let Some(d) = kept.get(&(job, shard)) {
                                let signed = if self.corrupt_fragments {
                                    let mut bytes = d.bytes().to_vec();
                                    if let Some(b) = bytes.first_mut() {
                                        *b ^= 0x5a;
                                    }
                                    SignedFragment::seal(&self.settings.identity, job, shard, d.index, d.original_len, d.commitment(), bytes)
                                } else {
                                    d.hand_out(&self.settings.identity)
                                };
                                tracing::info!(shard, index = d.index, "handing out a kept fragment");
                                let frame = Frame::new(FrameType::FragmentReply, signed.to_bytes());
                                let conn = conn.clone();
                                tokio::spawn(async move {
                                    if let Err(e) = send_bulk(&conn, &frame).await {
                                        tracing::warn!("sending a fragment: {e}");
                                    }
                                });
                            } else {
                                tracing::warn!(shard, "asked for a fragment this worker does not keep");
                            }
                        }
                        _ => {
                            return Err(TransportError::Connection(format!(
                                "the aggregator said goodbye: {}",
                                String::from_utf8_lossy(&frame.payload)
                            )));
                        }
                    }
                }
                uni = conn.accept_uni() => {
                    let mut stream = uni.map_err(|e| TransportError::Connection(e.to_string()))?;
                    let frame = read_frame(&mut stream, &[FrameType::Assignment, FrameType::FragmentDeposit], self.max_bulk)
                        .await?
                        .ok_or_else(|| TransportError::Frame("an empty bulk stream".into()))?;
                    if frame.kind == FrameType::FragmentDeposit {
                        let d = FragmentDeposit::from_bytes(&frame.payload)?;
                        self.count(&d.job_id, |c| c.inputs += frame.wire_len() as u64);
                        let d = match d.into_held() {
                            Ok(d) => d,
                            Err(e) => {
                                tracing::warn!("{e}");
                                continue;
                            }
                        };
                        forget_other_jobs(d.job_id, held, kept, &mut pending);
                        tracing::debug!(shard = d.shard, index = d.index, "keeping a fragment");
                        kept.insert((d.job_id, d.shard), d);
                        continue;
                    }
                    let len = frame.wire_len() as u64;
                    let t0 = Instant::now();
                    let decoded = tokio::task::spawn_blocking(move || decode_assignment(&frame.payload))
                        .await
                        .map_err(|e| TransportError::Job(format!("decoding an assignment: {e}")))?;
                    match decoded {
                        Ok((job, shard, vk, inputs)) => {
                            let nanos = t0.elapsed().as_nanos() as u64;
                            tracing::info!(shard, ms = nanos as f64 / 1e6, "assignment received and preprocessed");
                            self.count(&job, |c| { c.inputs += len; c.prepare_nanos += nanos; c.shard = shard; });
                            // The same assignment again (after a reconnection): keep the
                            // work done so far.
                            let same = held.get(&job).is_some_and(|h| {
                                h.shard == shard && h.inputs.digest() == inputs.digest()
                            });
                            if !same {
                                forget_other_jobs(job, held, kept, &mut pending);
                                held.insert(job, Held { shard, vk, inputs, worker: None });
                            }
                        }
                        // A bad assignment proves nothing about us; say so and go on.
                        Err(e) => tracing::warn!("rejected an assignment: {e}"),
                    }
                }
            }
            self.run_pending(&mut pending, held, &mut send).await?;
        }
    }

    /// Runs every directive whose assignment has arrived, in order.
    async fn run_pending(
        &self,
        pending: &mut Vec<JobDirective>,
        held: &mut HashMap<JobId, Held>,
        send: &mut quinn::SendStream,
    ) -> Result<(), TransportError> {
        // Strictly in order: an assign waits for its assignment, and what follows waits
        // behind it.
        while let Some(front) = pending.first() {
            let job = front.job_id;
            if !held.contains_key(&job) && front.shard.is_some() {
                return Ok(());
            }
            let jd = pending.remove(0);
            let Some(h) = held.get_mut(&job) else {
                tracing::info!("a directive for a job this worker holds nothing of");
                write_frame(send, &Frame::new(FrameType::Lost, job.to_vec())).await?;
                continue;
            };
            if let Some(shard) = jd.shard {
                if shard as usize != h.shard {
                    tracing::warn!(
                        shard,
                        held = h.shard,
                        "an assign for another shard than the assignment held"
                    );
                    continue;
                }
                let same = h.worker.as_ref().is_some_and(|w| w.shard() == h.shard);
                if !same {
                    // Checks the assignment against the vk (the SRS row's check is an
                    // MSM, once per row thanks to the cache): off the async task.
                    let (identity, vk, inputs) = (
                        self.settings.identity.clone(),
                        h.vk.clone(),
                        h.inputs.clone(),
                    );
                    let checked = self.checked_rows.clone();
                    let worker = tokio::task::spawn_blocking(move || {
                        let mut checked = checked.lock().unwrap_or_else(|e| e.into_inner());
                        SignedWorker::with_checked_rows(identity, job, &vk, inputs, &mut checked)
                    })
                    .await
                    .map_err(|e| TransportError::Job(format!("checking the assignment: {e}")))?;
                    h.worker = Some(worker);
                }
            }
            let Some(mut worker) = h.worker.take() else {
                write_frame(send, &Frame::new(FrameType::Lost, job.to_vec())).await?;
                continue;
            };
            let directive = jd.directive;
            let t0 = Instant::now();
            let span = tracing::info_span!(
                "job",
                id = %crate::aggregator::hex(&job),
                shard = h.shard,
                round = directive_round(&directive)
            );
            let (worker, envelopes) = tokio::task::spawn_blocking(move || {
                let _enter = span.enter();
                let out = worker.handle(&directive);
                (worker, out)
            })
            .await
            .map_err(|e| TransportError::Job(format!("proving: {e}")))?;
            let nanos = t0.elapsed().as_nanos() as u64;
            h.worker = Some(worker);
            let mut sent = 0u64;
            for env in envelopes {
                tracing::info!(
                    shard = env.shard,
                    round = env.round,
                    ms = nanos as f64 / 1e6,
                    "round done, message sent"
                );
                sent += write_frame(send, &Frame::new(FrameType::Envelope, env.wire_bytes()))
                    .await? as u64;
            }
            self.count(&job, |c| {
                c.prove_nanos += nanos;
                c.sent += sent;
            });
        }
        Ok(())
    }
}

/// The aggregator runs one job at a time: data of a new job means the others are over
/// (their JobOver may have been missed while disconnected), so their state goes.
fn forget_other_jobs(
    job: JobId,
    held: &mut HashMap<JobId, Held>,
    kept: &mut HashMap<(JobId, u32), HeldFragment>,
    pending: &mut Vec<JobDirective>,
) {
    held.retain(|j, _| *j == job);
    kept.retain(|(j, _), _| *j == job);
    pending.retain(|d| d.job_id == job);
}

/// The first round a directive asks for.
fn directive_round(d: &Directive) -> u8 {
    match d {
        Directive::Next { message, .. } => message.answers_round() + 1,
        Directive::Resume { send_from, .. } => *send_from,
    }
}

fn decode_assignment(
    payload: &[u8],
) -> Result<(JobId, usize, VerifyingKey, ShardInputs), TransportError> {
    let (vk, asg) = parse_assignment_frame(payload)?;
    let vk = VerifyingKey::from_bytes(vk)?;
    let asg = ShardAssignment::from_bytes(asg)?;
    let (job, shard) = (asg.job_id, asg.shard);
    Ok((job, shard, vk, asg.into_inputs()?))
}
