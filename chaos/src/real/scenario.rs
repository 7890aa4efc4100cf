//! The scenarios: process faults, their generation and description, and outcomes.

use std::collections::BTreeSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::RECONNECT_GRACE_MS;
use crate::proxy::NetFaults;

/// A process fault, timed from the moment the aggregator accepts the job.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ProcessFault {
    /// `SIGKILL` worker process `worker` (it stays dead).
    KillWorker {
        /// Index of the worker process.
        worker: usize,
        /// When, in milliseconds after the job is accepted.
        after_ms: u64,
    },
    /// `SIGSTOP` worker process `worker`, then `SIGCONT` it `for_ms` later.
    StopWorker {
        /// Index of the worker process.
        worker: usize,
        /// When, in milliseconds after the job is accepted.
        after_ms: u64,
        /// How long it stays frozen, milliseconds.
        for_ms: u64,
    },
    /// `SIGKILL` the aggregator, then start it again at once with the same configuration
    /// (it resumes the job from its journal).
    KillAggregator {
        /// When, in milliseconds after the job is accepted.
        after_ms: u64,
    },
    /// `SIGSTOP` the aggregator, then `SIGCONT` it `for_ms` later.
    StopAggregator {
        /// When, in milliseconds after the job is accepted.
        after_ms: u64,
        /// How long it stays stopped, milliseconds.
        for_ms: u64,
    },
    /// Cut worker `worker` off the aggregator (every datagram both ways dropped by its
    /// proxy), then heal the partition `for_ms` later.
    Partition {
        /// Index of the worker process.
        worker: usize,
        /// When, in milliseconds after the job is accepted.
        after_ms: u64,
        /// How long the partition lasts, milliseconds.
        for_ms: u64,
    },
}

impl ProcessFault {
    /// The worker it targets, if any.
    pub fn worker(&self) -> Option<usize> {
        match self {
            ProcessFault::KillWorker { worker, .. }
            | ProcessFault::StopWorker { worker, .. }
            | ProcessFault::Partition { worker, .. } => Some(*worker),
            ProcessFault::KillAggregator { .. } | ProcessFault::StopAggregator { .. } => None,
        }
    }

    /// Whether the fault may cost its worker its shard (conservatively: a kill, or a stop
    /// or partition longer than the reconnect grace).
    pub fn may_lose_worker(&self) -> bool {
        match self {
            ProcessFault::KillWorker { .. } => true,
            ProcessFault::StopWorker { for_ms, .. } | ProcessFault::Partition { for_ms, .. } => {
                *for_ms > RECONNECT_GRACE_MS
            }
            ProcessFault::KillAggregator { .. } | ProcessFault::StopAggregator { .. } => false,
        }
    }

    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            ProcessFault::KillWorker { worker, after_ms } => {
                format!("kill worker {worker} @{after_ms} ms")
            }
            ProcessFault::StopWorker {
                worker,
                after_ms,
                for_ms,
            } => format!("stop worker {worker} @{after_ms} ms for {for_ms} ms"),
            ProcessFault::KillAggregator { after_ms } => {
                format!("kill and restart the aggregator @{after_ms} ms")
            }
            ProcessFault::StopAggregator { after_ms, for_ms } => {
                format!("stop the aggregator @{after_ms} ms for {for_ms} ms")
            }
            ProcessFault::Partition {
                worker,
                after_ms,
                for_ms,
            } => format!("partition worker {worker} @{after_ms} ms for {for_ms} ms"),
        }
    }
}

/// A real-process scenario: the cluster, its network and the process faults.
///
/// Worker processes `0..shards` connect first (so they normally get the shards), then
/// the `spares` others.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RealScenario {
    /// The seed it was generated from (also seeds the proxies and the circuit witness).
    pub seed: u64,
    /// Shards of the job (a power of two).
    pub shards: usize,
    /// Rows per shard (a power of two, at least 16).
    pub shard_gates: usize,
    /// Spare workers (and the aggregator's `spares` setting).
    pub spares: usize,
    /// Faults of every worker's link to the aggregator.
    pub net: NetFaults,
    /// Process faults, in any order.
    pub faults: Vec<ProcessFault>,
}

impl RealScenario {
    /// A seeded scenario for `shards` shards: 1–2 spares, a random circuit of 256 or
    /// 1024 rows per shard, 1–2 process faults of the four kinds aimed at workers
    /// `0..shards` (20–600 ms after the job is accepted, so they land while it runs;
    /// stops and partitions last 200–3000 ms), and mild network faults (drop ≤ 3 %,
    /// duplicate ≤ 3 %, corrupt ≤ 1 %, delay within 0–20 ms). The same seed gives the
    /// same scenario.
    pub fn generate(seed: u64, shards: usize) -> RealScenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shards = shards.max(1);
        let spares = rng.gen_range(1..=2usize);
        let shard_gates = if rng.gen_bool(0.5) { 256 } else { 1024 };
        let lo = rng.gen_range(0..=20u64);
        let hi = rng.gen_range(lo..=20u64);
        let net = NetFaults {
            drop: round3(rng.gen_range(0.0..=0.03)),
            duplicate: round3(rng.gen_range(0.0..=0.03)),
            corrupt: round3(rng.gen_range(0.0..=0.01)),
            reorder: round3(rng.gen_range(0.0..=0.03)),
            delay_ms: (lo, hi),
        };
        let count = rng.gen_range(1..=2usize);
        let faults = (0..count)
            .map(|_| {
                let worker = rng.gen_range(0..shards);
                let after_ms = rng.gen_range(20..=600u64);
                let for_ms = rng.gen_range(200..=3000u64);
                match rng.gen_range(0..5u8) {
                    0 => ProcessFault::KillWorker { worker, after_ms },
                    1 => ProcessFault::StopWorker {
                        worker,
                        after_ms,
                        for_ms,
                    },
                    2 => ProcessFault::KillAggregator { after_ms },
                    3 => ProcessFault::StopAggregator { after_ms, for_ms },
                    _ => ProcessFault::Partition {
                        worker,
                        after_ms,
                        for_ms,
                    },
                }
            })
            .collect();
        RealScenario {
            seed,
            shards,
            shard_gates,
            spares,
            net,
            faults,
        }
    }

    /// Worker processes started: one per shard plus the spares.
    pub fn workers(&self) -> usize {
        self.shards + self.spares
    }

    /// How many workers may be lost (distinct workers hit by a fault that
    /// [may lose](ProcessFault::may_lose_worker) them): a proof is owed whenever this
    /// is at most [`spares`](Self::spares).
    pub fn workers_at_risk(&self) -> usize {
        self.faults
            .iter()
            .filter(|f| f.may_lose_worker())
            .filter_map(ProcessFault::worker)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// One line for humans.
    pub fn describe(&self) -> String {
        let n = &self.net;
        let mut s = format!(
            "seed {}: {} shards x {} rows, {} spare{}; net drop {:.1}% dup {:.1}% corrupt {:.1}% reorder {:.1}% delay {}-{} ms",
            self.seed,
            self.shards,
            self.shard_gates,
            self.spares,
            if self.spares == 1 { "" } else { "s" },
            n.drop * 100.0,
            n.duplicate * 100.0,
            n.corrupt * 100.0,
            n.reorder * 100.0,
            n.delay_ms.0,
            n.delay_ms.1
        );
        if self.faults.is_empty() {
            s.push_str("; no process faults");
        }
        for f in &self.faults {
            s.push_str("; ");
            s.push_str(&f.describe());
        }
        s
    }
}

/// `x` rounded to three decimals (readable descriptions).
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// What came of a real-process scenario.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RealOutcome {
    /// The scenario's seed.
    pub seed: u64,
    /// The scenario in words.
    pub description: String,
    /// Whether the client got a proof (and `submit` succeeded).
    pub proved: bool,
    /// Whether `tutti verify` accepted the proof written.
    pub verified: bool,
    /// Ids of the workers blamed (none may be: every worker is honest).
    pub blamed: Vec<String>,
    /// Why the job failed, from the client's error, when it did.
    pub error: Option<String>,
    /// Milliseconds from `submit` starting to it exiting.
    pub wall_ms: f64,
    /// Shards moved to another worker (from the client's report; 0 when no proof).
    pub reassigned: u64,
    /// Times the job was resumed from the journal (0 when no proof).
    pub resumed: u64,
    /// Invariants broken; empty when the run was sound.
    pub violations: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use super::*;

    #[test]
    fn generation_is_seeded_and_within_bounds() {
        assert_eq!(RealScenario::generate(7, 4), RealScenario::generate(7, 4));
        let mut kinds = [false; 5];
        for seed in 0..300 {
            let s = RealScenario::generate(seed, 4);
            assert!((1..=2).contains(&s.spares));
            assert!(s.shard_gates == 256 || s.shard_gates == 1024);
            assert!((1..=2).contains(&s.faults.len()));
            assert!(s.net.drop <= 0.03 && s.net.duplicate <= 0.03 && s.net.corrupt <= 0.01);
            assert!(s.net.delay_ms.0 <= s.net.delay_ms.1 && s.net.delay_ms.1 <= 20);
            assert!(validate(&s).is_ok());
            for f in &s.faults {
                assert!(f.worker().is_none_or(|w| w < 4));
                let (after, during) = match *f {
                    ProcessFault::KillWorker { after_ms, .. } => (after_ms, None),
                    ProcessFault::KillAggregator { after_ms } => (after_ms, None),
                    ProcessFault::StopAggregator { after_ms, for_ms } => (after_ms, Some(for_ms)),
                    ProcessFault::StopWorker {
                        after_ms, for_ms, ..
                    }
                    | ProcessFault::Partition {
                        after_ms, for_ms, ..
                    } => (after_ms, Some(for_ms)),
                };
                assert!((20..=600).contains(&after));
                assert!(during.is_none_or(|d| (200..=3000).contains(&d)));
                kinds[match f {
                    ProcessFault::KillWorker { .. } => 0,
                    ProcessFault::StopWorker { .. } => 1,
                    ProcessFault::KillAggregator { .. } => 2,
                    ProcessFault::Partition { .. } => 3,
                    ProcessFault::StopAggregator { .. } => 4,
                }] = true;
            }
        }
        assert_eq!(kinds, [true; 5], "every kind of fault is generated");
    }
}
