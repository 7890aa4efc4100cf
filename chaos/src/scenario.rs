//! A simulated scenario, every choice drawn from one seed: the shape, spares, which
//! workers are Byzantine and how, network faults (loss, duplication, corruption, delay,
//! reordering across links, partitions that heal), an aggregator restart, erasure coding.

use crate::strategy::{Byzantine, Strategy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tutti_protocol::runner::Fault;

/// Network behaviour of the simulated links (worker ↔ aggregator).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetModel {
    /// Probability a message's first transmission is lost (the transport retransmits).
    pub drop: f64,
    /// Probability a message is corrupted in flight (the transport's integrity check
    /// discards it and retransmits).
    pub corrupt: f64,
    /// Probability a message is delivered twice.
    pub duplicate: f64,
    /// Base one-way latency per link, microseconds (index = worker).
    pub latency_us: Vec<u64>,
    /// Extra random delay up to this, microseconds (reorders messages across links).
    pub jitter_us: u64,
    /// Partitions: (worker, start µs, length µs); the link heals afterwards.
    pub partitions: Vec<(usize, u64, u64)>,
}

/// One simulated scenario.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    /// The seed everything was drawn from.
    pub seed: u64,
    /// Shards M.
    pub shards: usize,
    /// Rows per shard.
    pub rows: usize,
    /// Idle workers.
    pub spares: usize,
    /// Per worker (0..M hold shards first, the rest are spares): its strategy, if
    /// Byzantine.
    pub byzantine: Vec<Option<Byzantine>>,
    /// The network.
    pub net: NetModel,
    /// Restart the aggregator (from its journal) at this virtual time, µs.
    pub aggregator_restart_us: Option<u64>,
    /// Reed–Solomon code of the shard inputs (k, m), if any.
    pub erasure: Option<(usize, usize)>,
    /// Virtual compute time per round per worker, µs.
    pub compute_us: Vec<u64>,
}

/// Limits of scenario generation.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Shards (fixed), or `None` to pick 2 or 4.
    pub shards: Option<usize>,
    /// Most Byzantine workers (at most a third of all workers is used anyway).
    pub byzantine: Option<usize>,
}

fn strategy(rng: &mut ChaCha8Rng) -> Strategy {
    match rng.gen_range(0..14) {
        0 => Strategy::Crash,
        1 => Strategy::Stall,
        2 => Strategy::RestartRejoin {
            down_ms: rng.gen_range(100..4000),
        },
        3 => Strategy::Freeze {
            for_ms: rng.gen_range(100..8000),
        },
        4 => Strategy::Lie(Fault::WrongCommitment),
        5 => Strategy::Lie(Fault::WrongEvaluation),
        6 => Strategy::Lie(Fault::BadOpening),
        7 => Strategy::Lie(Fault::WrongProduct),
        8 => Strategy::Equivocate,
        9 => Strategy::Replay,
        10 => Strategy::WrongShard,
        11 => Strategy::Malformed,
        12 => Strategy::Flood {
            count: rng.gen_range(1..50),
        },
        _ => Strategy::BadSignature,
    }
}

impl Scenario {
    /// The scenario of `seed`.
    pub fn generate(seed: u64, limits: Limits) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shards = limits
            .shards
            .unwrap_or(if rng.gen_bool(0.5) { 2 } else { 4 });
        let spares = rng.gen_range(0..=3usize);
        let n = shards + spares;
        let most = (n / 3)
            .min(shards)
            .min(limits.byzantine.unwrap_or(usize::MAX));
        let count = if most == 0 {
            0
        } else {
            rng.gen_range(0..=most)
        };
        let mut byzantine = vec![None; n];
        let mut holders: Vec<usize> = (0..shards).collect();
        for k in 0..count {
            let at = rng.gen_range(k..holders.len());
            holders.swap(k, at);
        }
        let chosen = &holders[..count];
        let erasure = (rng.gen_bool(0.3) && n >= 4).then_some((2, 1));
        for (i, w) in chosen.iter().enumerate() {
            let mut s = strategy(&mut rng);
            if erasure.is_some() && rng.gen_bool(0.2) {
                s = Strategy::CorruptFragment;
            }
            // Two colluders: the first two chosen, sometimes.
            if i == 1 && rng.gen_bool(0.15) {
                let partner = chosen[0];
                byzantine[partner] = Some(Byzantine {
                    strategy: Strategy::Collude {
                        partner: *w,
                        inverse: false,
                    },
                    round: 2,
                });
                s = Strategy::Collude {
                    partner,
                    inverse: true,
                };
            }
            let rounds = s.rounds();
            let round = rng.gen_range(*rounds.start()..=*rounds.end());
            byzantine[*w] = Some(Byzantine { strategy: s, round });
        }
        let partitions = if rng.gen_bool(0.2) {
            vec![(
                rng.gen_range(0..n),
                rng.gen_range(0..2_000_000),
                rng.gen_range(100_000..6_000_000),
            )]
        } else {
            Vec::new()
        };
        let net = NetModel {
            drop: rng.gen_range(0.0..0.05),
            corrupt: rng.gen_range(0.0..0.02),
            duplicate: rng.gen_range(0.0..0.05),
            latency_us: (0..n).map(|_| rng.gen_range(200..20_000)).collect(),
            jitter_us: rng.gen_range(0..30_000),
            partitions,
        };
        Scenario {
            seed,
            shards,
            rows: 16,
            spares,
            byzantine,
            net,
            aggregator_restart_us: rng.gen_bool(0.1).then(|| rng.gen_range(0..1_500_000)),
            erasure,
            compute_us: (0..n).map(|_| rng.gen_range(20_000..80_000)).collect(),
        }
    }

    /// Workers in all.
    pub fn workers(&self) -> usize {
        self.shards + self.spares
    }

    /// One line describing the scenario.
    pub fn describe(&self) -> String {
        let byz: Vec<String> = self
            .byzantine
            .iter()
            .enumerate()
            .filter_map(|(k, b)| b.map(|b| format!("w{k}:{}@{}", b.strategy.name(), b.round)))
            .collect();
        let mut s = format!(
            "M={} spares={} byzantine=[{}] drop={:.3} dup={:.3} corrupt={:.3}",
            self.shards,
            self.spares,
            byz.join(" "),
            self.net.drop,
            self.net.duplicate,
            self.net.corrupt
        );
        for (w, at, len) in &self.net.partitions {
            s.push_str(&format!(
                " partition(w{w} at {}ms for {}ms)",
                at / 1000,
                len / 1000
            ));
        }
        if let Some(t) = self.aggregator_restart_us {
            s.push_str(&format!(" aggregator-restart@{}ms", t / 1000));
        }
        if let Some((k, m)) = self.erasure {
            s.push_str(&format!(" erasure={k}+{m}"));
        }
        s
    }
}
