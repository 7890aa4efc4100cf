//! `tutti chaos`: seeded adversarial scenarios, simulated (default) or as real processes
//! (`--real`), with every invariant checked after each run.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tutti_chaos::campaign::{ScenarioReport, Summary, Violation, run_one};
use tutti_chaos::real::{RealScenario, run_real};
use tutti_chaos::scenario::Limits;
use tutti_chaos::sim::Timing;
use tutti_chaos::sim::job::JobCache;

/// Arguments of `tutti chaos`.
#[derive(clap::Args, Debug)]
pub struct ChaosArgs {
    /// Scenarios to run.
    #[arg(long, default_value_t = 100)]
    pub runs: usize,
    /// First seed (scenario i uses seed + i); a printed failing seed reruns with
    /// `--runs 1 --seed S`.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Shards per job (default: 2 or 4 drawn per scenario; 4 for --real).
    #[arg(long)]
    pub shards: Option<usize>,
    /// Most Byzantine workers per scenario (never more than a third of all workers).
    #[arg(long)]
    pub byzantine: Option<usize>,
    /// Real processes over QUIC on loopback behind a UDP fault proxy, with SIGKILL
    /// and SIGSTOP, instead of the simulator.
    #[arg(long)]
    pub real: bool,
    /// Print one JSON summary.
    #[arg(long)]
    pub json: bool,
}

fn progress(runs: usize, json: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(runs as u64);
    pb.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} scenarios [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// Runs the campaign; fails (exit 2) when any invariant broke.
pub fn run(a: ChaosArgs) -> Result<()> {
    if let Some(m) = a.shards {
        anyhow::ensure!(
            m.is_power_of_two() && (2..=64).contains(&m),
            "--shards must be a power of two from 2 to 64"
        );
    }
    let summary = if a.real { real(&a)? } else { simulated(&a) };
    if a.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "\n{} runs: {} recoverable, {} valid proofs; {} Byzantine workers, {} blamed; {} honest blamed; {} violations; mean recovery {:.0} ms",
            summary.runs,
            summary.recoverable,
            summary.proofs_valid,
            summary.byzantine_workers,
            summary.byzantine_blamed,
            summary.honest_blamed,
            summary.violations.len(),
            summary.mean_recovery_ms
        );
        for v in &summary.violations {
            println!(
                "  VIOLATION seed {}: {} (rerun: tutti chaos --runs 1 --seed {}{})",
                v.seed,
                v.violation,
                v.seed,
                if a.real { " --real" } else { "" }
            );
        }
    }
    anyhow::ensure!(
        summary.violations.is_empty() && summary.honest_blamed == 0,
        "{} invariant violations",
        summary.violations.len()
    );
    Ok(())
}

fn line(r: &ScenarioReport) -> String {
    let outcome = match (&r.error, r.proof_valid) {
        (_, true) => "proof verified".to_string(),
        (Some(e), false) => format!("no proof: {e}"),
        (None, false) => "no proof".to_string(),
    };
    let verdict = if r.violations.is_empty() {
        "ok"
    } else {
        "VIOLATION"
    };
    format!(
        "seed {:>6} {verdict:<9} {} -> {outcome}",
        r.seed, r.description
    )
}

fn simulated(a: &ChaosArgs) -> Summary {
    let limits = Limits {
        shards: a.shards,
        byzantine: a.byzantine,
    };
    let jobs = JobCache::new();
    let timing = Timing::default();
    let pb = progress(a.runs, a.json);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(a.runs.max(1));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut reports: Vec<ScenarioReport> = std::thread::scope(|s| {
        for t in 0..threads {
            let (jobs, tx) = (&jobs, tx.clone());
            let (runs, seed) = (a.runs, a.seed);
            s.spawn(move || {
                for i in (t..runs).step_by(threads) {
                    let r = run_one(seed.wrapping_add(i as u64), limits, jobs, timing);
                    if tx.send(r).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut all = Vec::new();
        for r in rx {
            if !a.json {
                pb.suspend(|| println!("{}", line(&r)));
            }
            pb.inc(1);
            all.push(r);
        }
        all
    });
    pb.finish_and_clear();
    reports.sort_by_key(|r| r.seed);
    Summary::of(&reports)
}

/// The summary of real-process runs (same keys as the simulated one).
#[derive(Serialize)]
struct RealLine {
    seed: u64,
    description: String,
    proved: bool,
    verified: bool,
    wall_ms: f64,
    violations: Vec<String>,
}

fn real(a: &ChaosArgs) -> Result<Summary> {
    let bin = std::env::current_exe().context("finding this binary to start its copies")?;
    let shards = a.shards.unwrap_or(4);
    let pb = progress(a.runs, a.json);
    let mut summary = Summary::default();
    let mut recoveries = Vec::new();
    for i in 0..a.runs {
        let seed = a.seed.wrapping_add(i as u64);
        let scenario = RealScenario::generate(seed, shards);
        let dir = tempfile::tempdir().context("a scratch directory for the scenario")?;
        let out = run_real(&bin, &scenario, dir.path())
            .with_context(|| format!("setting up real scenario {seed}"))?;
        if !a.json {
            let l = RealLine {
                seed,
                description: out.description.clone(),
                proved: out.proved,
                verified: out.verified,
                wall_ms: out.wall_ms,
                violations: out.violations.clone(),
            };
            pb.suspend(|| {
                println!(
                    "seed {:>6} {:<9} {} -> {} in {:.0} ms",
                    l.seed,
                    if l.violations.is_empty() {
                        "ok"
                    } else {
                        "VIOLATION"
                    },
                    l.description,
                    if l.verified {
                        "proof verified"
                    } else {
                        "no proof"
                    },
                    l.wall_ms
                )
            });
        }
        pb.inc(1);
        summary.runs += 1;
        let recoverable = scenario.workers_at_risk() <= scenario.spares;
        summary.recoverable += recoverable as usize;
        summary.byzantine_workers += scenario
            .faults
            .iter()
            .filter(|f| f.may_lose_worker())
            .count();
        summary.proofs_valid += out.verified as usize;
        summary.honest_blamed += out.blamed.len();
        if out.verified && !scenario.faults.is_empty() {
            recoveries.push(out.wall_ms);
        }
        summary
            .violations
            .extend(out.violations.iter().map(|v| Violation {
                seed,
                violation: v.clone(),
            }));
    }
    pb.finish_and_clear();
    summary.mean_recovery_ms = if recoveries.is_empty() {
        0.0
    } else {
        recoveries.iter().sum::<f64>() / recoveries.len() as f64
    };
    Ok(summary)
}
