//! The cluster a run starts, its files, and the fault schedule applied to it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::process::{Proc, arg, args, run_ok};
use super::scenario::{ProcessFault, RealScenario};
use super::{
    IDLE_TIMEOUT_MS, RECONNECT_GRACE_MS, RETRY_MS, ROUND_TIMEOUT_SECS, SPARE_WAIT_MS, TAIL_LINES,
};
use crate::ChaosError;
use crate::proxy::FaultProxy;

/// A TOML list of quoted ids.
fn toml_list(ids: &[String]) -> String {
    ids.iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to do at a moment of the schedule.
#[derive(Clone, Copy, Debug)]
pub(super) enum Action {
    Kill(usize),
    Stop(usize),
    Cont(usize),
    Cut(usize),
    Heal(usize),
    KillAggregator,
    StopAggregator,
    ContAggregator,
}

/// The schedule of `faults`: (milliseconds after acceptance, action), in time order.
pub(super) fn schedule(faults: &[ProcessFault]) -> Vec<(u64, Action)> {
    let mut v = Vec::new();
    for f in faults {
        match *f {
            ProcessFault::KillWorker { worker, after_ms } => {
                v.push((after_ms, Action::Kill(worker)))
            }
            ProcessFault::StopWorker {
                worker,
                after_ms,
                for_ms,
            } => {
                v.push((after_ms, Action::Stop(worker)));
                v.push((after_ms.saturating_add(for_ms), Action::Cont(worker)));
            }
            ProcessFault::KillAggregator { after_ms } => v.push((after_ms, Action::KillAggregator)),
            ProcessFault::StopAggregator { after_ms, for_ms } => {
                v.push((after_ms, Action::StopAggregator));
                v.push((after_ms.saturating_add(for_ms), Action::ContAggregator));
            }
            ProcessFault::Partition {
                worker,
                after_ms,
                for_ms,
            } => {
                v.push((after_ms, Action::Cut(worker)));
                v.push((after_ms.saturating_add(for_ms), Action::Heal(worker)));
            }
        }
    }
    v.sort_by_key(|(t, _)| *t);
    v
}

/// Everything a run starts; dropping it kills every process and stops every proxy.
pub(super) struct Cluster {
    /// The aggregator running now.
    pub(super) aggregator: Option<Proc>,
    /// Aggregators killed before (kept for their logs).
    pub(super) retired: Vec<Proc>,
    pub(super) workers: Vec<Proc>,
    pub(super) client: Option<Proc>,
    pub(super) proxies: Vec<FaultProxy>,
    pub(super) runtime: Option<tokio::runtime::Runtime>,
}

impl Cluster {
    fn aggregators(&self) -> impl Iterator<Item = &Proc> {
        self.retired.iter().chain(self.aggregator.iter())
    }

    pub(super) fn aggregator_count(&self, needle: &str) -> usize {
        self.aggregators().map(|p| p.count(needle)).sum()
    }

    pub(super) fn all(&self) -> impl Iterator<Item = &Proc> {
        self.aggregators()
            .chain(self.workers.iter())
            .chain(self.client.iter())
    }

    pub(super) fn kill_all(&mut self) {
        if let Some(c) = self.client.as_mut() {
            c.kill();
        }
        for w in &mut self.workers {
            w.kill();
        }
        if let Some(a) = self.aggregator.as_mut() {
            a.kill();
        }
    }

    /// The first process (aggregator or worker) that exited on its own, with its log.
    fn dead_server(&mut self) -> Option<String> {
        let procs = self.aggregator.iter_mut().chain(self.workers.iter_mut());
        for p in procs {
            if p.exited() {
                p.drain();
                return Some(format!(
                    "{} exited ({:?}):\n{}",
                    p.name,
                    p.status,
                    p.stderr_tail(TAIL_LINES)
                ));
            }
        }
        None
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.kill_all();
        self.proxies.clear();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Files of a run.
pub(super) struct Files {
    dir: PathBuf,
    pub(super) fingerprint: String,
    pub(super) aggregator_addr: SocketAddr,
    pub(super) worker_configs: Vec<PathBuf>,
}

impl Files {
    pub(super) fn path(&self, name: &str) -> String {
        arg(&self.dir.join(name))
    }
}

/// Keys, SRS and configurations for `scenario` in `dir`; the proxies' addresses are
/// the workers' aggregator addresses.
pub(super) fn write_files(
    bin: &Path,
    scenario: &RealScenario,
    dir: &Path,
    aggregator_addr: SocketAddr,
    proxies: &[SocketAddr],
) -> Result<Files, ChaosError> {
    std::fs::create_dir_all(dir)?;
    // A journal left by an earlier run would be resumed: start clean.
    for stale in ["agg.redb", "proof.bin", "vk.bin"] {
        let p = dir.join(stale);
        if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }
    let p = |name: &str| arg(&dir.join(name));
    let fingerprint = run_ok(
        bin,
        &args(&[
            "keygen",
            "aggregator",
            "--cert",
            &p("agg.cert.pem"),
            "--key",
            &p("agg.key.pem"),
            "--force",
        ]),
    )?;
    run_ok(
        bin,
        &args(&[
            "setup",
            "--shards",
            &scenario.shards.to_string(),
            "--shard-gates",
            &scenario.shard_gates.to_string(),
            "--out",
            &p("srs.bin"),
            "--seed",
            &format!("chaos-{}", scenario.seed),
        ]),
    )?;
    let mut ids = Vec::new();
    let mut worker_configs = Vec::new();
    for (k, proxy) in proxies.iter().enumerate() {
        let key = format!("worker{k}.key");
        ids.push(run_ok(
            bin,
            &args(&["keygen", "identity", "--out", &p(&key), "--force"]),
        )?);
        let config = dir.join(format!("worker{k}.toml"));
        std::fs::write(
            &config,
            format!(
                "aggregator = \"{proxy}\"\naggregator_fingerprint = \"{fingerprint}\"\nidentity = \"{key}\"\nretry_ms = {RETRY_MS}\nidle_timeout_ms = {IDLE_TIMEOUT_MS}\n"
            ),
        )?;
        worker_configs.push(config);
    }
    let client_id = run_ok(
        bin,
        &args(&["keygen", "identity", "--out", &p("client.key"), "--force"]),
    )?;
    std::fs::write(
        dir.join("aggregator.toml"),
        format!(
            "listen = \"{aggregator_addr}\"\ncertificate = \"agg.cert.pem\"\nkey = \"agg.key.pem\"\nsrs = \"srs.bin\"\nstore = \"agg.redb\"\nworkers = [{}]\nclients = [{}]\nspares = {}\nround_timeout_secs = {ROUND_TIMEOUT_SECS}\nreconnect_grace_ms = {RECONNECT_GRACE_MS}\nspare_wait_ms = {SPARE_WAIT_MS}\nidle_timeout_ms = {IDLE_TIMEOUT_MS}\n",
            toml_list(&ids),
            toml_list(&[client_id]),
            scenario.spares
        ),
    )?;
    Ok(Files {
        dir: dir.to_path_buf(),
        fingerprint,
        aggregator_addr,
        worker_configs,
    })
}

/// Starts the aggregator.
pub(super) fn start_aggregator(
    bin: &Path,
    files: &Files,
    generation: usize,
) -> Result<Proc, ChaosError> {
    Proc::start(
        bin,
        &format!("aggregator#{generation}"),
        &args(&["aggregator", "--config", &files.path("aggregator.toml")]),
    )
}

/// Waits until `ready` holds, failing early when a server process exits.
pub(super) fn wait_until(
    cluster: &mut Cluster,
    what: &str,
    timeout: Duration,
    ready: impl Fn(&Cluster) -> bool,
) -> Result<(), ChaosError> {
    let until = Instant::now() + timeout;
    while !ready(cluster) {
        if let Some(dead) = cluster.dead_server() {
            return Err(ChaosError::Scenario(format!(
                "while waiting for {what}: {dead}"
            )));
        }
        if Instant::now() >= until {
            let agg = cluster
                .aggregator
                .as_ref()
                .map(|a| a.stderr_tail(TAIL_LINES))
                .unwrap_or_default();
            return Err(ChaosError::Scenario(format!(
                "{what} did not happen within {timeout:?}; the aggregator's log ends:\n{agg}"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Carries out one scheduled action.
pub(super) fn apply(
    cluster: &mut Cluster,
    action: Action,
    bin: &Path,
    files: &Files,
    generation: &mut usize,
) -> Result<(), ChaosError> {
    tracing::info!(?action, "chaos: applying");
    match action {
        Action::Kill(w) => {
            if let Some(p) = cluster.workers.get_mut(w) {
                p.kill();
            }
        }
        Action::Stop(w) => {
            if let Some(p) = cluster.workers.get(w).filter(|p| p.status.is_none()) {
                p.signal("-STOP");
            }
        }
        Action::Cont(w) => {
            if let Some(p) = cluster.workers.get(w).filter(|p| p.status.is_none()) {
                p.signal("-CONT");
            }
        }
        Action::Cut(w) => {
            if let Some(p) = cluster.proxies.get(w) {
                p.partition(true);
            }
        }
        Action::Heal(w) => {
            if let Some(p) = cluster.proxies.get(w) {
                p.partition(false);
            }
        }
        Action::StopAggregator => {
            if let Some(a) = cluster.aggregator.as_ref() {
                a.signal("-STOP");
            }
        }
        Action::ContAggregator => {
            if let Some(a) = cluster.aggregator.as_ref() {
                a.signal("-CONT");
            }
        }
        Action::KillAggregator => {
            if let Some(mut old) = cluster.aggregator.take() {
                old.kill();
                cluster.retired.push(old);
            }
            cluster.aggregator = Some(start_aggregator(bin, files, *generation)?);
            *generation += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use super::*;
    use crate::proxy::NetFaults;

    #[test]
    fn workers_at_risk_and_schedule() {
        let s = RealScenario {
            seed: 0,
            shards: 4,
            shard_gates: 64,
            spares: 1,
            net: NetFaults::default(),
            faults: vec![
                ProcessFault::Partition {
                    worker: 1,
                    after_ms: 300,
                    for_ms: RECONNECT_GRACE_MS + 1,
                },
                ProcessFault::KillWorker {
                    worker: 1,
                    after_ms: 100,
                },
                ProcessFault::StopWorker {
                    worker: 2,
                    after_ms: 200,
                    for_ms: RECONNECT_GRACE_MS,
                },
                ProcessFault::KillAggregator { after_ms: 50 },
            ],
        };
        // Worker 1 twice counts once; a stop within the grace does not count.
        assert_eq!(s.workers_at_risk(), 1);
        let times: Vec<u64> = schedule(&s.faults).iter().map(|(t, _)| *t).collect();
        assert_eq!(times, vec![50, 100, 200, 300, 1700, 1801]);
        let bad = RealScenario {
            faults: vec![ProcessFault::KillWorker {
                worker: 5,
                after_ms: 0,
            }],
            ..s
        };
        assert!(validate(&bad).is_err());
    }
}
