//! Real-process scenarios: the `tutti` binary as an aggregator, worker processes and a
//! client on loopback, each worker talking to the aggregator through a [`FaultProxy`] of
//! its own, while processes are killed (`SIGKILL`), frozen (`SIGSTOP`/`SIGCONT`) and
//! partitioned on a schedule.
//!
//! The only faults here are crashes, stops, partitions and a lossy network: nobody
//! misbehaves. So after each run:
//!
//! * nobody may be blamed;
//! * when the workers that may be lost (every killed worker, every worker stopped or
//!   partitioned longer than the reconnect grace) are no more than the spares, a proof
//!   must come back and verify;
//! * otherwise, if no proof comes back, the failure must say why ("not enough workers");
//! * no process may panic.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ChaosError;
use crate::proxy::{FaultProxy, NetFaults};

/// QUIC idle timeout of the aggregator and the workers, milliseconds.
pub const IDLE_TIMEOUT_MS: u64 = 1500;
/// How long the aggregator waits for a lost worker to come back, milliseconds.
pub const RECONNECT_GRACE_MS: u64 = 1500;
/// Round deadline of the aggregator, seconds.
const ROUND_TIMEOUT_SECS: u64 = 20;
/// How long the aggregator waits for spares before starting with fewer, milliseconds.
const SPARE_WAIT_MS: u64 = 1000;
/// Workers' pause between connection attempts, milliseconds.
const RETRY_MS: u64 = 200;
/// How long the client waits for its outcome (`submit --timeout-secs`).
const SUBMIT_TIMEOUT_SECS: u64 = 90;
/// How long the cluster may take to come up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of a log quoted in a violation or an error.
const TAIL_LINES: usize = 12;

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

/// Locks a mutex, going on with the data even if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A child `tutti` process whose stdout and stderr are collected line by line. Dropping
/// it kills it (`SIGKILL`).
struct Proc {
    name: String,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
    /// Whether this harness killed it (rather than it exiting on its own).
    killed: bool,
}

/// Collects the lines of `pipe` into `sink` on a thread of its own.
fn collect(pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<String>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            lock(&sink).push(line);
        }
    })
}

impl Proc {
    fn start(bin: &Path, name: &str, args: &[String]) -> Result<Proc, ChaosError> {
        let mut child = Command::new(bin)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                ChaosError::Scenario(format!("cannot start {} ({name}): {e}", bin.display()))
            })?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect(out, stdout.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(collect(err, stderr.clone()));
        }
        Ok(Proc {
            name: name.to_string(),
            child,
            stdout,
            stderr,
            readers,
            status: None,
            killed: false,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn count(&self, needle: &str) -> usize {
        lock(&self.stderr)
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Whether it has exited (reaping it).
    fn exited(&mut self) -> bool {
        if self.status.is_none()
            && let Ok(Some(s)) = self.child.try_wait()
        {
            self.status = Some(s);
        }
        self.status.is_some()
    }

    /// Waits for its pipes to close (after it exited), so every line is collected.
    fn drain(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    /// `SIGKILL` (if still running), reap, and collect the rest of its output.
    fn kill(&mut self) {
        if !self.exited() {
            self.killed = true;
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        self.drain();
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn stderr_tail(&self, n: usize) -> String {
        let log = lock(&self.stderr);
        let from = log.len().saturating_sub(n);
        log[from..].join("\n")
    }

    fn panicked(&self) -> Option<String> {
        lock(&self.stderr)
            .iter()
            .find(|l| l.contains("panicked"))
            .cloned()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            // A stopped process dies of SIGKILL too.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `tutti ARGS` to completion; its trimmed stdout, or an error with its stderr.
fn run_ok(bin: &Path, args: &[String]) -> Result<String, ChaosError> {
    let out = Command::new(bin)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ChaosError::Scenario(format!("cannot run {}: {e}", bin.display())))?;
    if !out.status.success() {
        return Err(ChaosError::Scenario(format!(
            "tutti {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A loopback UDP port free at the time of asking.
fn free_port() -> Result<u16, ChaosError> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    Ok(s.local_addr()?.port())
}

/// `path` as an argument.
fn arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Strings as arguments.
fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A TOML list of quoted ids.
fn toml_list(ids: &[String]) -> String {
    ids.iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seed of worker `k`'s proxy.
fn proxy_seed(seed: u64, k: usize) -> u64 {
    seed.rotate_left(17) ^ (k as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// What to do at a moment of the schedule.
#[derive(Clone, Copy, Debug)]
enum Action {
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
fn schedule(faults: &[ProcessFault]) -> Vec<(u64, Action)> {
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
struct Cluster {
    /// The aggregator running now.
    aggregator: Option<Proc>,
    /// Aggregators killed before (kept for their logs).
    retired: Vec<Proc>,
    workers: Vec<Proc>,
    client: Option<Proc>,
    proxies: Vec<FaultProxy>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Cluster {
    fn aggregators(&self) -> impl Iterator<Item = &Proc> {
        self.retired.iter().chain(self.aggregator.iter())
    }

    fn aggregator_count(&self, needle: &str) -> usize {
        self.aggregators().map(|p| p.count(needle)).sum()
    }

    fn all(&self) -> impl Iterator<Item = &Proc> {
        self.aggregators()
            .chain(self.workers.iter())
            .chain(self.client.iter())
    }

    fn kill_all(&mut self) {
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
struct Files {
    dir: PathBuf,
    fingerprint: String,
    aggregator_addr: SocketAddr,
    worker_configs: Vec<PathBuf>,
}

impl Files {
    fn path(&self, name: &str) -> String {
        arg(&self.dir.join(name))
    }
}

/// Keys, SRS and configurations for `scenario` in `dir`; the proxies' addresses are
/// the workers' aggregator addresses.
fn write_files(
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
fn start_aggregator(bin: &Path, files: &Files, generation: usize) -> Result<Proc, ChaosError> {
    Proc::start(
        bin,
        &format!("aggregator#{generation}"),
        &args(&["aggregator", "--config", &files.path("aggregator.toml")]),
    )
}

/// Waits until `ready` holds, failing early when a server process exits.
fn wait_until(
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

/// Checks the scenario can be run at all.
fn validate(scenario: &RealScenario) -> Result<(), ChaosError> {
    let bad = |why: String| Err(ChaosError::Scenario(why));
    if !scenario.shards.is_power_of_two() {
        return bad(format!(
            "shards must be a power of two, not {}",
            scenario.shards
        ));
    }
    if !scenario.shard_gates.is_power_of_two() || scenario.shard_gates < 16 {
        return bad(format!(
            "shard_gates must be a power of two of at least 16, not {}",
            scenario.shard_gates
        ));
    }
    let n = scenario.workers();
    for f in &scenario.faults {
        if let Some(w) = f.worker().filter(|w| *w >= n) {
            return bad(format!(
                "fault `{}` targets worker {w} but there are {n} workers",
                f.describe()
            ));
        }
    }
    Ok(())
}

/// Runs `scenario` with the `tutti` binary at `bin`, keeping every file in `dir` (keys,
/// SRS, configurations, journal, proof, and each process's log as `NAME.log`), and
/// checks the invariants. An `Err` means the cluster could not even be set up (a key or
/// SRS not made, a process that would not start, workers that never connected); a run
/// that went wrong is an `Ok` whose `violations` say how. Every process started is
/// killed before this returns, on every path.
pub fn run_real(
    bin: &Path,
    scenario: &RealScenario,
    dir: &Path,
) -> Result<RealOutcome, ChaosError> {
    validate(scenario)?;
    let n = scenario.workers();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("chaos-proxy")
        .enable_all()
        .build()?;
    let aggregator_addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let mut proxies = Vec::with_capacity(n);
    for k in 0..n {
        proxies.push(runtime.block_on(FaultProxy::start(
            aggregator_addr,
            scenario.net.clone(),
            proxy_seed(scenario.seed, k),
        ))?);
    }
    let mut cluster = Cluster {
        aggregator: None,
        retired: Vec::new(),
        workers: Vec::new(),
        client: None,
        proxies,
        runtime: Some(runtime),
    };
    let proxy_addrs: Vec<SocketAddr> = cluster.proxies.iter().map(FaultProxy::addr).collect();
    let files = write_files(bin, scenario, dir, aggregator_addr, &proxy_addrs)?;

    // The aggregator, then the shards' workers, then the spares: the job's holders are
    // the first to connect.
    cluster.aggregator = Some(start_aggregator(bin, &files, 0)?);
    let mut generation = 1;
    for (k, config) in files.worker_configs.iter().enumerate() {
        if k == scenario.shards {
            wait_until(
                &mut cluster,
                "the shards' workers to connect",
                STARTUP_TIMEOUT,
                |c| {
                    c.aggregator_count("authenticated") >= scenario.shards
                        && c.workers.iter().all(|w| w.count("connected") >= 1)
                },
            )?;
        }
        let w = Proc::start(
            bin,
            &format!("worker {k}"),
            &args(&["worker", "--config", &arg(config)]),
        )?;
        cluster.workers.push(w);
    }
    wait_until(
        &mut cluster,
        "every worker to connect",
        STARTUP_TIMEOUT,
        |c| {
            c.aggregator_count("authenticated") >= n
                && c.workers.iter().all(|w| w.count("connected") >= 1)
        },
    )?;

    // The client.
    let started = Instant::now();
    cluster.client = Some(Proc::start(
        bin,
        "client",
        &args(&[
            "submit",
            "--aggregator",
            &files.aggregator_addr.to_string(),
            "--fingerprint",
            &files.fingerprint,
            "--identity",
            &files.path("client.key"),
            "--circuit",
            "random",
            "--shards",
            &scenario.shards.to_string(),
            "--shard-gates",
            &scenario.shard_gates.to_string(),
            "--seed",
            &scenario.seed.to_string(),
            "--out",
            &files.path("proof.bin"),
            "--vk-out",
            &files.path("vk.bin"),
            "--timeout-secs",
            &SUBMIT_TIMEOUT_SECS.to_string(),
            "--json",
        ]),
    )?);

    // Faults on schedule, from the job's acceptance until the client is done.
    let plan = schedule(&scenario.faults);
    let mut next = 0;
    let mut accepted: Option<Instant> = None;
    let hard_stop = started + Duration::from_secs(SUBMIT_TIMEOUT_SECS + 15);
    let mut client_killed = false;
    loop {
        let done = cluster.client.as_mut().is_none_or(Proc::exited);
        if done {
            break;
        }
        if Instant::now() >= hard_stop {
            client_killed = true;
            break;
        }
        if accepted.is_none() && cluster.aggregator_count("job accepted") > 0 {
            accepted = Some(Instant::now());
        }
        if let Some(t0) = accepted {
            let elapsed = t0.elapsed().as_millis() as u64;
            while let Some(&(_, action)) = plan.get(next).filter(|(at, _)| *at <= elapsed) {
                next += 1;
                apply(&mut cluster, action, bin, &files, &mut generation)?;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    if let Some(c) = cluster.client.as_mut() {
        c.kill();
    }
    // Give the servers a moment: a panic right after the outcome still counts.
    std::thread::sleep(Duration::from_millis(300));
    let mut verify: Option<Proc> = None;
    let (proved, submit_ok_json, error) = {
        let client = cluster
            .client
            .as_ref()
            .ok_or_else(|| ChaosError::Scenario("the client was not started".into()))?;
        let ok = !client_killed && client.status.is_some_and(|s| s.success());
        let json = lock(&client.stdout)
            .iter()
            .rev()
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
        let error = if ok {
            None
        } else if client_killed {
            Some(format!(
                "the client did not finish within {} s",
                SUBMIT_TIMEOUT_SECS + 15
            ))
        } else {
            Some(client_error(client))
        };
        (ok, json, error)
    };
    let verified = if proved {
        let v = Proc::start(
            bin,
            "verify",
            &args(&[
                "verify",
                "--vk",
                &files.path("vk.bin"),
                "--proof",
                &files.path("proof.bin"),
            ]),
        )?;
        let mut v = v;
        let status = v.child.wait()?;
        v.status = Some(status);
        v.drain();
        let ok = status.success();
        verify = Some(v);
        ok
    } else {
        false
    };
    // Servers that died without being killed (checked before killing them all).
    let mut died = Vec::new();
    for p in cluster
        .aggregator
        .iter_mut()
        .chain(cluster.workers.iter_mut())
    {
        if !p.killed && p.exited() {
            p.drain();
            died.push(format!(
                "{} exited on its own ({:?}); its log ends:\n{}",
                p.name,
                p.status,
                p.stderr_tail(TAIL_LINES)
            ));
        }
    }
    cluster.kill_all();

    let json = submit_ok_json.unwrap_or(serde_json::Value::Null);
    let blamed: Vec<String> = json["blamed"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|b| b.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let reassigned = json["reassigned"].as_u64().unwrap_or(0);
    let resumed = json["resumed"].as_u64().unwrap_or(0);

    // Invariants.
    let mut violations = died;
    if !blamed.is_empty() {
        violations.push(format!("honest worker blamed: {}", blamed.join(", ")));
    }
    let at_risk = scenario.workers_at_risk();
    let client_tail = cluster
        .client
        .as_ref()
        .map(|c| c.stderr_tail(TAIL_LINES))
        .unwrap_or_default();
    if proved && !verified {
        let why = verify
            .as_ref()
            .map(|v| v.stderr_tail(TAIL_LINES))
            .unwrap_or_default();
        violations.push(format!("the proof written does not verify: {why}"));
    }
    if at_risk <= scenario.spares {
        if !proved {
            violations.push(format!(
                "no proof although {at_risk} worker(s) at risk <= {} spare(s); the client's log ends:\n{client_tail}",
                scenario.spares
            ));
        }
    } else if !proved {
        let said = error.as_deref().unwrap_or_default().to_lowercase();
        if !(said.contains("not enough workers") || said.contains("add spares")) {
            violations.push(format!(
                "the job failed ({at_risk} worker(s) at risk > {} spare(s)) without saying it lacked workers; the client's log ends:\n{client_tail}",
                scenario.spares
            ));
        }
    }
    for p in cluster.all().chain(verify.iter()) {
        if let Some(line) = p.panicked() {
            violations.push(format!("{} panicked: {line}", p.name));
        }
    }

    // Every log next to the run's files, for diagnosis (best effort).
    for p in cluster.all().chain(verify.iter()) {
        let name = p.name.replace([' ', '#'], "-");
        let _ = std::fs::write(dir.join(format!("{name}.log")), lock(&p.stderr).join("\n"));
    }

    Ok(RealOutcome {
        seed: scenario.seed,
        description: scenario.describe(),
        proved,
        verified,
        blamed,
        error,
        wall_ms,
        reassigned,
        resumed,
        violations,
    })
}

/// The client's error: its `error:` line, or the end of its log.
fn client_error(client: &Proc) -> String {
    let log = lock(&client.stderr);
    log.iter()
        .rev()
        .find(|l| l.starts_with("error:"))
        .cloned()
        .unwrap_or_else(|| {
            let from = log.len().saturating_sub(3);
            format!("{:?}: {}", client.status, log[from..].join(" | "))
        })
}

/// Carries out one scheduled action.
fn apply(
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
