//! One simulated run: the event loop, the simulated links, the driver around the
//! coordinator, and the workers.

use super::behave::{Fate, act};
use super::job::SimJob;
use crate::scenario::Scenario;
use crate::strategy::Strategy;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use tutti_crypto::erasure::ErasureParams;
use tutti_crypto::identity::{WorkerId, WorkerIdentity};
use tutti_crypto::scalars::derive_key;
use tutti_protocol::ProtocolError;
use tutti_protocol::aggregator::AggregatorOptions;
use tutti_protocol::aggregator::coordinator::{
    Coordinator, CoordinatorEvent, JobSetup, ReassignReason,
};
use tutti_protocol::aggregator::journal::MemoryJournal;
use tutti_protocol::blame::BlameCertificate;
use tutti_protocol::coded::CodedShards;
use tutti_protocol::inputs::ShardSecrets;
use tutti_protocol::proof::Proof;
use tutti_protocol::runner::{aggregator_job_key, shard_key};
use tutti_protocol::worker::{Directive, ShardInputs, SignedWorker};

/// Timeouts of the simulated deployment, µs.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Timing {
    /// A connection with no traffic for this long is declared dead.
    pub idle_us: u64,
    /// A disconnected worker has this long to come back.
    pub grace_us: u64,
    /// A round may stay open this long.
    pub round_timeout_us: u64,
    /// A lost packet is retransmitted after this long.
    pub rto_us: u64,
    /// Most events one run may take (a livelock or runaway queue is a violation).
    pub max_events: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            idle_us: 1_000_000,
            grace_us: 1_500_000,
            round_timeout_us: 5_000_000,
            rto_us: 200_000,
            max_events: 200_000,
        }
    }
}

/// What one run produced.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// The proof, if one was emitted.
    pub proof: Option<Proof>,
    /// Why the job failed, if it did.
    pub error: Option<ProtocolError>,
    /// Certificates and the index of the worker each names.
    pub blamed: Vec<(Option<usize>, BlameCertificate)>,
    /// Shards that changed hands.
    pub reassigned: usize,
    /// Per worker: its strategy acted.
    pub fired: Vec<bool>,
    /// Per worker: a message proving its fault reached the aggregator.
    pub evidence_delivered: Vec<bool>,
    /// Per worker: it lost its shard for something other than a blame (it crashed,
    /// timed out or was retired), possibly before its lie was found out.
    pub replaced_unblamed: Vec<bool>,
    /// Virtual time the first strategy acted, µs.
    pub first_fault_us: Option<u64>,
    /// Virtual time the run ended, µs.
    pub end_us: u64,
    /// Events processed.
    pub events: usize,
    /// Entries in the aggregator's journal at the end (its durable state).
    pub journal_entries: usize,
    /// Most coordinator events waiting at once (its queue).
    pub max_queued: usize,
    /// The run hit [`Timing::max_events`] or stopped with work pending.
    pub stuck: Option<String>,
}

enum Event {
    ToWorker {
        k: usize,
        epoch: u64,
        directive: Directive,
        assign: Option<usize>,
    },
    ToAggregator {
        k: usize,
        epoch: u64,
        wire: Vec<u8>,
        evidence: bool,
    },
    WorkerLost {
        k: usize,
        epoch: u64,
    },
    Deadline {
        token: u64,
    },
    Disconnect {
        k: usize,
    },
    LostCheck {
        k: usize,
        token: u64,
    },
    Reconnect {
        k: usize,
    },
    AggregatorRestart,
}

struct Node {
    identity: WorkerIdentity,
    worker: Option<SignedWorker>,
    dead: bool,
    silent: bool,
    busy_until: u64,
    fired: bool,
    /// Connection epoch (bumped on every reconnection).
    epoch: u64,
    connected: bool,
    lost_token: u64,
}

struct Sim<'a> {
    sc: &'a Scenario,
    /// The job secret (what the aggregator of a job without erasure coding keeps to hand
    /// takeovers their inputs).
    secret: [u8; 32],
    job: &'a SimJob,
    t: Timing,
    rng: ChaCha8Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    pending: BTreeMap<u64, Event>,
    setup: JobSetup,
    coord: Coordinator,
    journal: MemoryJournal,
    nodes: Vec<Node>,
    index: BTreeMap<WorkerId, usize>,
    /// Last delivery time per (worker, direction): links are FIFO.
    last: Vec<[u64; 2]>,
    progress: (u32, u8),
    deadline_token: u64,
    coded: Option<CodedShards>,
    out: RunOutcome,
    done: bool,
}

/// Runs one scenario on `job`.
pub fn simulate(sc: &Scenario, job: &SimJob, timing: Timing) -> Result<RunOutcome, ProtocolError> {
    let mut sim = Sim::new(sc, job, timing)?;
    sim.run();
    Ok(sim.out)
}

impl<'a> Sim<'a> {
    fn new(sc: &'a Scenario, job: &'a SimJob, t: Timing) -> Result<Self, ProtocolError> {
        let mut rng = ChaCha8Rng::seed_from_u64(sc.seed ^ 0x0005_eedc_4a05);
        let mut secret = [0u8; 32];
        rng.fill(&mut secret);
        let n = sc.workers();
        let nodes: Vec<Node> = (0..n)
            .map(|k| Node {
                identity: WorkerIdentity::from_seed(&derive_key(
                    &secret,
                    format!("w{k}").as_bytes(),
                )),
                worker: None,
                dead: false,
                silent: false,
                busy_until: 0,
                fired: false,
                epoch: 0,
                connected: true,
                lost_token: 0,
            })
            .collect();
        let ids: Vec<WorkerId> = nodes.iter().map(|n| n.identity.id()).collect();
        let index = ids.iter().enumerate().map(|(k, id)| (*id, k)).collect();
        let job_id = derive_key(&secret, b"job");
        let digests = (0..sc.shards)
            .map(|i| inputs(job, &secret, i).digest())
            .collect();
        let setup = JobSetup {
            key: std::sync::Arc::new(job.pre.aggregator.clone()),
            public_inputs: job.public_inputs.clone(),
            job_key: aggregator_job_key(&secret),
            job_id,
            workers: ids,
            shard_inputs: digests,
            replicas: 1,
            options: AggregatorOptions::default(),
        };
        let journal = MemoryJournal::new();
        let coord = Coordinator::new(setup.clone())?.with_journal(Box::new(journal.clone()));
        let coded = match sc.erasure {
            Some((k, m)) => {
                let secrets: Vec<ShardSecrets> = (0..sc.shards)
                    .map(|i| ShardSecrets {
                        witness: job.witnesses[i].clone(),
                        shard_key: shard_key(&secret, i),
                    })
                    .collect();
                Some(CodedShards::new(ErasureParams::new(k, m)?, n, 1, &secrets)?)
            }
            None => None,
        };
        let sim = Sim {
            sc,
            secret,
            job,
            t,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            pending: BTreeMap::new(),
            setup,
            coord,
            journal,
            nodes,
            index,
            last: vec![[0; 2]; n],
            progress: (0, 1),
            deadline_token: 0,
            coded,
            out: RunOutcome {
                proof: None,
                error: None,
                blamed: Vec::new(),
                reassigned: 0,
                fired: vec![false; n],
                evidence_delivered: vec![false; n],
                replaced_unblamed: vec![false; n],
                first_fault_us: None,
                end_us: 0,
                events: 0,
                journal_entries: 0,
                max_queued: 0,
                stuck: None,
            },
            done: false,
        };
        Ok(sim)
    }

    fn at(&mut self, time: u64, e: Event) {
        self.seq += 1;
        self.queue.push(Reverse((time, self.seq)));
        self.pending.insert(self.seq, e);
    }

    fn run(&mut self) {
        for (w, start, len) in self.sc.net.partitions.clone() {
            if len > self.t.idle_us {
                self.at(start + self.t.idle_us, Event::Disconnect { k: w });
                self.at(start + len, Event::Reconnect { k: w });
            }
        }
        if let Some(at) = self.sc.aggregator_restart_us {
            self.at(at, Event::AggregatorRestart);
        }
        self.coord.start();
        self.arm_deadline();
        self.pump();
        while !self.done {
            let Some(Reverse((time, seq))) = self.queue.pop() else {
                self.out.stuck = Some("nothing left to happen and no outcome".into());
                break;
            };
            self.out.events += 1;
            if self.out.events > self.t.max_events {
                self.out.stuck = Some(format!("more than {} events", self.t.max_events));
                break;
            }
            self.now = time;
            if let Some(e) = self.pending.remove(&seq) {
                self.handle(e);
                self.pump();
            }
        }
        self.out.end_us = self.now;
        self.out.journal_entries = self.journal.len();
        self.out.fired = self.nodes.iter().map(|n| n.fired).collect();
    }

    fn arm_deadline(&mut self) {
        self.deadline_token += 1;
        let token = self.deadline_token;
        self.at(
            self.now + self.t.round_timeout_us,
            Event::Deadline { token },
        );
    }

    /// Delivery time of a message on worker `k`'s link in direction `dir` (0: to the
    /// worker, 1: to the aggregator), or `None` when it is lost with the connection.
    fn transit(&mut self, k: usize, dir: usize) -> Option<u64> {
        let net = &self.sc.net;
        let mut t = self.now + net.latency_us[k] + self.rng.gen_range(0..=net.jitter_us);
        // Lost or corrupted packets are retransmitted by the transport.
        while self.rng.gen_bool(net.drop) || self.rng.gen_bool(net.corrupt) {
            t += self.t.rto_us + net.latency_us[k];
        }
        for (w, start, len) in &net.partitions {
            if *w != k {
                continue;
            }
            let end = start + len;
            if self.now >= *start && self.now < end {
                if *len > self.t.idle_us {
                    return None;
                }
                t = t.max(end + net.latency_us[k]);
            } else if t >= *start && t < end {
                if *len > self.t.idle_us {
                    return None;
                }
                t = end + net.latency_us[k];
            }
        }
        let t = t.max(self.last[k][dir] + 1);
        self.last[k][dir] = t;
        Some(t)
    }

    fn send_worker(&mut self, k: usize, directive: Directive, assign: Option<usize>) {
        if !self.nodes[k].connected {
            return;
        }
        let epoch = self.nodes[k].epoch;
        if let Some(t) = self.transit(k, 0) {
            self.at(
                t,
                Event::ToWorker {
                    k,
                    epoch,
                    directive,
                    assign,
                },
            );
        }
    }

    fn send_aggregator(&mut self, k: usize, send_at: u64, wire: Vec<u8>, evidence: bool) {
        let epoch = self.nodes[k].epoch;
        let now = self.now;
        self.now = send_at;
        let arrival = self.transit(k, 1);
        self.now = now;
        if let Some(t) = arrival {
            let dup = self.rng.gen_bool(self.sc.net.duplicate);
            if dup {
                self.at(
                    t + 1_000,
                    Event::ToAggregator {
                        k,
                        epoch,
                        wire: wire.clone(),
                        evidence,
                    },
                );
            }
            self.at(
                t,
                Event::ToAggregator {
                    k,
                    epoch,
                    wire,
                    evidence,
                },
            );
        }
    }

    fn handle(&mut self, e: Event) {
        match e {
            Event::ToWorker {
                k,
                epoch,
                directive,
                assign,
            } => {
                tracing::debug!(
                    t = self.now,
                    k,
                    ?directive,
                    ?assign,
                    stale = self.nodes[k].epoch != epoch,
                    "to worker"
                );
                if self.nodes[k].epoch == epoch {
                    self.worker_receives(k, directive, assign);
                }
            }
            Event::ToAggregator {
                k,
                epoch,
                wire,
                evidence,
            } => {
                if self.nodes[k].epoch == epoch && self.nodes[k].connected {
                    if evidence && !self.coord.is_done() {
                        self.out.evidence_delivered[k] = true;
                    }
                    let from = self.nodes[k].identity.id();
                    let o = self.coord.handle_message(from, &wire);
                    tracing::debug!(
                        t = self.now,
                        k,
                        round = wire.get(8).copied(),
                        ?o,
                        "to aggregator"
                    );
                }
            }
            Event::WorkerLost { k, epoch } => {
                // The worker says it holds nothing: ask it again from the start.
                if self.nodes[k].epoch == epoch {
                    self.reissue_for(k);
                }
            }
            Event::Deadline { token } => {
                if token == self.deadline_token && !self.coord.is_done() {
                    let round = self.coord.round();
                    for shard in self.coord.pending_shards() {
                        self.coord.handle_timeout(shard, round);
                    }
                    self.arm_deadline();
                }
            }
            Event::Disconnect { k } => {
                let n = &mut self.nodes[k];
                if n.connected {
                    n.connected = false;
                    n.epoch += 1;
                    n.lost_token += 1;
                    let token = n.lost_token;
                    let by = self.now + self.t.grace_us;
                    self.at(by, Event::LostCheck { k, token });
                }
            }
            Event::LostCheck { k, token } => {
                let n = &self.nodes[k];
                if !n.connected && n.lost_token == token {
                    let id = n.identity.id();
                    self.coord.handle_worker_lost(id);
                }
            }
            Event::Reconnect { k } => {
                let n = &mut self.nodes[k];
                if n.dead {
                    return;
                }
                n.connected = true;
                n.epoch += 1;
                n.lost_token += 1;
                self.reissue_for(k);
            }
            Event::AggregatorRestart => self.restart_aggregator(),
        }
    }

    fn restart_aggregator(&mut self) {
        let Ok(c) = Coordinator::resume(self.setup.clone(), &self.journal.entries()) else {
            self.out.stuck = Some("the coordinator could not resume from its journal".into());
            self.done = true;
            return;
        };
        self.coord = c.with_journal(Box::new(self.journal.clone()));
        // Every connection dies with the old process; workers notice after the idle
        // timeout and reconnect (with a longer grace, as after any restart).
        for k in 0..self.nodes.len() {
            let n = &mut self.nodes[k];
            n.epoch += 1;
            if !n.dead {
                n.connected = false;
                n.lost_token += 1;
                let token = n.lost_token;
                let back = self.now + self.t.idle_us + 50_000;
                self.at(back, Event::Reconnect { k });
                let by = self.now + 2 * self.t.idle_us + 1_000_000;
                self.at(by, Event::LostCheck { k, token });
            }
        }
        self.progress = (u32::MAX, 0);
    }

    /// Re-asks worker `k` for the open round if it holds a pending shard.
    fn reissue_for(&mut self, k: usize) {
        let id = self.nodes[k].identity.id();
        self.coord.reissue();
        let mut mine = Vec::new();
        while let Some(ev) = self.coord.poll_event() {
            match ev {
                CoordinatorEvent::Assign {
                    worker,
                    shard,
                    directive,
                } if worker == id => mine.push((shard, directive)),
                CoordinatorEvent::Assign { .. } => {}
                other => self.event(other),
            }
        }
        for (shard, directive) in mine {
            self.send_worker(k, directive, Some(shard));
        }
    }

    fn pump(&mut self) {
        let mut queued = 0;
        while let Some(ev) = self.coord.poll_event() {
            queued += 1;
            self.out.max_queued = self.out.max_queued.max(queued);
            self.event(ev);
        }
        let p = (self.coord.attempt(), self.coord.round());
        if p != self.progress && !self.done {
            self.progress = p;
            self.arm_deadline();
        }
    }

    fn event(&mut self, ev: CoordinatorEvent) {
        match ev {
            CoordinatorEvent::Assign {
                worker,
                shard,
                directive,
            } => {
                if let Some(k) = self.index.get(&worker).copied() {
                    self.send_worker(k, directive, Some(shard));
                }
            }
            CoordinatorEvent::Send { worker, directive } => {
                if let Some(k) = self.index.get(&worker).copied() {
                    self.send_worker(k, directive, None);
                }
            }
            CoordinatorEvent::Blame(c) => {
                let k = self.index.get(&c.worker()).copied();
                if !self.out.blamed.iter().any(|(_, b)| b == &*c) {
                    self.out.blamed.push((k, *c));
                }
            }
            CoordinatorEvent::Reassigned { from, reason, .. } => {
                if reason != ReassignReason::Blamed
                    && let Some(k) = self.index.get(&from).copied()
                {
                    self.out.replaced_unblamed[k] = true;
                }
                self.out.reassigned += 1;
                self.arm_deadline();
            }
            CoordinatorEvent::ProofReady(p) => {
                self.out.proof = Some(*p);
                self.done = true;
            }
            CoordinatorEvent::Failed(e) => {
                self.out.error = Some(e);
                self.done = true;
            }
        }
    }

    /// The inputs of `shard` for a takeover: rebuilt from fragments when coded.
    fn takeover_inputs(&mut self, shard: usize) -> Option<ShardInputs> {
        let Some(coded) = self.coded.as_ref() else {
            return Some(inputs(self.job, &self.secret, shard));
        };
        let (nodes, sc, job_id) = (&self.nodes, self.sc, self.setup.job_id);
        let gathered = coded
            .gather(shard, job_id, |h| {
                let node = &nodes[h];
                let corrupts = matches!(
                    sc.byzantine[h].map(|b| b.strategy),
                    Some(Strategy::CorruptFragment)
                );
                (!node.dead && !node.silent && node.connected)
                    .then(|| (node.identity.clone(), corrupts))
            })
            .ok()?;
        let digests = coded.digests[shard].clone();
        for h in &gathered.corrupted_holders {
            self.mark_fired(*h);
        }
        for f in gathered.evidence {
            self.coord.handle_fragment_evidence(f, digests.clone());
        }
        Some(ShardInputs {
            key: self.job.keys[shard].clone(),
            witness: gathered.secrets.witness,
            public_inputs: self.job.public_inputs.clone(),
            shard_key: gathered.secrets.shard_key,
        })
    }

    fn mark_fired(&mut self, k: usize) {
        if !self.nodes[k].fired {
            self.nodes[k].fired = true;
            self.out.first_fault_us.get_or_insert(self.now);
        }
    }

    fn worker_receives(&mut self, k: usize, directive: Directive, assign: Option<usize>) {
        if self.nodes[k].dead || self.nodes[k].silent {
            return;
        }
        if let Some(shard) = assign {
            let same = self.nodes[k]
                .worker
                .as_ref()
                .is_some_and(|w| w.shard() == shard);
            if !same {
                let original = k == shard;
                let inputs = if original {
                    Some(inputs(self.job, &self.secret, shard))
                } else {
                    self.takeover_inputs(shard)
                };
                let Some(inputs) = inputs else {
                    return;
                };
                let vk = &self.job.pre.aggregator.vk;
                let node = &mut self.nodes[k];
                node.worker = Some(SignedWorker::new(
                    node.identity.clone(),
                    self.setup.job_id,
                    vk,
                    inputs,
                ));
            }
        }
        let Some(worker) = self.nodes[k].worker.as_mut() else {
            // A directive for a shard it holds nothing of (after a restart).
            let epoch = self.nodes[k].epoch;
            if let Some(t) = self.transit(k, 1) {
                self.at(t, Event::WorkerLost { k, epoch });
            }
            return;
        };
        let envelopes = worker.handle(&directive);
        let start = self.now.max(self.nodes[k].busy_until);
        let mut send_at = start + self.sc.compute_us[k];
        self.nodes[k].busy_until = send_at;
        // A restart or a freeze happens once; lies are told every time.
        let byz = self.sc.byzantine[k].filter(|b| {
            !(self.nodes[k].fired
                && matches!(
                    b.strategy,
                    Strategy::RestartRejoin { .. } | Strategy::Freeze { .. }
                ))
        });
        let identity = self.nodes[k].identity.clone();
        for env in envelopes {
            let acted = act(&identity, byz, env, &mut self.rng);
            if acted.fired {
                self.mark_fired(k);
            }
            match acted.fate {
                Fate::Lives => {}
                Fate::Dies => {
                    self.nodes[k].dead = true;
                    self.at(send_at + self.t.idle_us, Event::Disconnect { k });
                }
                Fate::Silent => self.nodes[k].silent = true,
                Fate::Restarts(down) => {
                    let n = &mut self.nodes[k];
                    n.worker = None;
                    if down >= self.t.idle_us {
                        self.at(send_at + self.t.idle_us, Event::Disconnect { k });
                    } else {
                        // The new connection replaces the old one at once.
                        self.nodes[k].epoch += 1;
                    }
                    self.at(send_at + down, Event::Reconnect { k });
                    return;
                }
                Fate::Freezes(for_us) => {
                    if for_us > self.t.idle_us {
                        self.at(send_at + self.t.idle_us, Event::Disconnect { k });
                        self.at(send_at + for_us, Event::Reconnect { k });
                        self.nodes[k].busy_until = send_at + for_us;
                        return;
                    }
                    send_at += for_us;
                    self.nodes[k].busy_until = send_at;
                }
            }
            for (i, wire) in acted.wires.into_iter().enumerate() {
                self.send_aggregator(k, send_at, wire, acted.evidence == Some(i));
            }
            if self.nodes[k].dead || self.nodes[k].silent {
                return;
            }
        }
    }
}

fn inputs(job: &SimJob, secret: &[u8; 32], shard: usize) -> ShardInputs {
    ShardInputs {
        key: job.keys[shard].clone(),
        witness: job.witnesses[shard].clone(),
        public_inputs: job.public_inputs.clone(),
        shard_key: shard_key(secret, shard),
    }
}
