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

mod cluster;
mod process;
mod scenario;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::ChaosError;
use crate::proxy::FaultProxy;

use cluster::{Cluster, apply, schedule, start_aggregator, wait_until, write_files};
use process::{Proc, arg, args, lock};
pub use scenario::{ProcessFault, RealOutcome, RealScenario};

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

/// A loopback UDP port free at the time of asking.
fn free_port() -> Result<u16, ChaosError> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    Ok(s.local_addr()?.port())
}

/// Seed of worker `k`'s proxy.
fn proxy_seed(seed: u64, k: usize) -> u64 {
    seed.rotate_left(17) ^ (k as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
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
            // Pin the key computed from the aggregator's (seeded) SRS.
            "--srs",
            &files.path("srs.bin"),
            "--allow-insecure-srs",
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
