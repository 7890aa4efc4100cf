//! Many simulated scenarios, in parallel, each from its own seed, with invariants checked
//! after every run and a summary at the end.

use crate::invariants::{check, honest_blamed, replacements_needed};
use crate::scenario::{Limits, Scenario};
use crate::sim::job::JobCache;
use crate::sim::{Timing, simulate};
use serde::Serialize;

/// One scenario's result.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    /// Its seed (rerun it with `--runs 1 --seed` this).
    pub seed: u64,
    /// What it was.
    pub description: String,
    /// Enough spares for every replacement it could need.
    pub recoverable: bool,
    /// A proof was emitted.
    pub proved: bool,
    /// The emitted proof verifies.
    pub proof_valid: bool,
    /// Why the job failed, if it did.
    pub error: Option<String>,
    /// Byzantine workers in it.
    pub byzantine: usize,
    /// Of them, blamed.
    pub byzantine_blamed: usize,
    /// Honest workers blamed (must be 0).
    pub honest_blamed: usize,
    /// Virtual time from the first fault to the proof, ms.
    pub recovery_ms: Option<f64>,
    /// Broken invariants.
    pub violations: Vec<String>,
}

/// One violation with the seed that reproduces it.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    /// The seed.
    pub seed: u64,
    /// What broke.
    pub violation: String,
}

/// A campaign's summary (the keys of `tutti chaos --json`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Scenarios run.
    pub runs: usize,
    /// Of them, recoverable.
    pub recoverable: usize,
    /// Proofs emitted that verify.
    pub proofs_valid: usize,
    /// Byzantine workers over all runs.
    pub byzantine_workers: usize,
    /// Of them, blamed.
    pub byzantine_blamed: usize,
    /// Honest workers blamed (must be 0).
    pub honest_blamed: usize,
    /// Every violation, with its seed.
    pub violations: Vec<Violation>,
    /// Mean virtual time from first fault to proof over runs with a fault, ms.
    pub mean_recovery_ms: f64,
}

impl Summary {
    /// Adds up scenario reports.
    pub fn of(reports: &[ScenarioReport]) -> Summary {
        let recoveries: Vec<f64> = reports.iter().filter_map(|r| r.recovery_ms).collect();
        Summary {
            runs: reports.len(),
            recoverable: reports.iter().filter(|r| r.recoverable).count(),
            proofs_valid: reports.iter().filter(|r| r.proof_valid).count(),
            byzantine_workers: reports.iter().map(|r| r.byzantine).sum(),
            byzantine_blamed: reports.iter().map(|r| r.byzantine_blamed).sum(),
            honest_blamed: reports.iter().map(|r| r.honest_blamed).sum(),
            violations: reports
                .iter()
                .flat_map(|r| {
                    r.violations.iter().map(|v| Violation {
                        seed: r.seed,
                        violation: v.clone(),
                    })
                })
                .collect(),
            mean_recovery_ms: if recoveries.is_empty() {
                0.0
            } else {
                recoveries.iter().sum::<f64>() / recoveries.len() as f64
            },
        }
    }
}

/// Runs one seeded scenario and checks it.
pub fn run_one(seed: u64, limits: Limits, jobs: &JobCache, timing: Timing) -> ScenarioReport {
    let sc = Scenario::generate(seed, limits);
    let mut report = ScenarioReport {
        seed,
        description: sc.describe(),
        recoverable: sc.spares >= replacements_needed(&sc, &timing),
        proved: false,
        proof_valid: false,
        error: None,
        byzantine: sc.byzantine.iter().flatten().count(),
        byzantine_blamed: 0,
        honest_blamed: 0,
        recovery_ms: None,
        violations: Vec::new(),
    };
    let job = match jobs.get(sc.shards, sc.rows) {
        Ok(j) => j,
        Err(e) => {
            report
                .violations
                .push(format!("setting the job up failed: {e}"));
            return report;
        }
    };
    let run =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| simulate(&sc, &job, timing)));
    let out = match run {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            report
                .violations
                .push(format!("the simulation could not start: {e}"));
            return report;
        }
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            report.violations.push(format!("panic: {why}"));
            return report;
        }
    };
    let vk = &job.pre.aggregator.vk;
    report.violations = check(&sc, &out, vk, &job.public_inputs, &timing);
    report.proved = out.proof.is_some();
    report.proof_valid = out
        .proof
        .as_ref()
        .is_some_and(|p| tutti_protocol::verifier::verify(vk, &job.public_inputs, p).is_ok());
    report.error = out.error.as_ref().map(|e| e.to_string());
    report.honest_blamed = honest_blamed(&sc, &out);
    report.byzantine_blamed = sc
        .byzantine
        .iter()
        .enumerate()
        .filter(|(k, b)| b.is_some() && out.blamed.iter().any(|(w, _)| *w == Some(*k)))
        .count();
    if let (Some(first), true) = (out.first_fault_us, report.proved) {
        report.recovery_ms = Some(out.end_us.saturating_sub(first) as f64 / 1000.0);
    }
    report
}

/// Runs seeds `seed .. seed + runs` on every core. Scenarios run on plain threads, one
/// per core (not rayon tasks: the provers inside use rayon, and a thread waiting on their
/// work must not pick up another whole scenario on top of its stack).
pub fn run_many(seed: u64, runs: usize, limits: Limits, timing: Timing) -> Vec<ScenarioReport> {
    let jobs = JobCache::new();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(runs.max(1));
    let mut reports: Vec<ScenarioReport> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let jobs = &jobs;
                s.spawn(move || {
                    (t..runs)
                        .step_by(threads)
                        .map(|i| run_one(seed.wrapping_add(i as u64), limits, jobs, timing))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    reports.sort_by_key(|r| r.seed.wrapping_sub(seed));
    reports
}
