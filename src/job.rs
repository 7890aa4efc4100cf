//! `tutti prove` and `tutti demo`: build a circuit, preprocess, prove in-process, verify.

use crate::CircuitKind;
use crate::inputs::{CircuitArgs, JobCircuit, builtin, ensure_srs_fits, open_srs, public_json};
use crate::trust::to_hex;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rand::RngCore;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tutti_crypto::srs::{InMemorySrs, RowSource};
use tutti_protocol::keys::{VerifyingKey, preprocess};
use tutti_protocol::layout::Shape;
use tutti_protocol::proof::{PROOF_BYTES, ProofFile};
use tutti_protocol::runner::{Clock, FaultSpec, JobOptions, JobReport, Traffic, run_job};
use tutti_protocol::verifier::verify;

/// Wall clock handed to the sans-IO runner.
struct StdClock(Instant);

impl Clock for StdClock {
    fn now_nanos(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// The JSON summary of a proving run.
#[derive(Serialize, Debug)]
pub struct Summary {
    pub verified: bool,
    pub circuit: String,
    /// The compiled circuit's digest (hex).
    pub digest: String,
    pub shards: usize,
    pub shard_gates: usize,
    pub gates: usize,
    pub proof_bytes: usize,
    pub prove_ms: f64,
    pub worker_ms_max: f64,
    pub aggregator_ms: f64,
    pub verify_ms: f64,
    pub bytes_per_worker: usize,
    pub insecure_srs: bool,
    pub spares: usize,
    pub replicas: usize,
    /// Worker ids (hex) proven faulty, one per certificate.
    pub blamed: Vec<String>,
    /// Shards that changed hands.
    pub reassigned: Vec<ReassignedJson>,
    /// Attempts (1 unless the transcript had to be rewound).
    pub attempts: u32,
    /// Critical-path compute spent after the first fault was noticed.
    pub recovery_ms: f64,
}

/// One reassignment, as printed.
#[derive(Serialize, Debug)]
pub struct ReassignedJson {
    pub shard: usize,
    pub from: String,
    pub to: String,
    pub reason: String,
}

/// What a job run is asked to do beyond the circuit.
#[derive(Clone, Debug, Default)]
pub struct Robustness {
    pub spares: usize,
    pub replicas: usize,
    pub faults: Vec<FaultSpec>,
}

/// Everything one run produced.
pub struct Outcome {
    pub summary: Summary,
    pub report: JobReport,
    pub vk: VerifyingKey,
    pub public_inputs: Vec<tutti_protocol::Fr>,
    pub detail: String,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn spinner(msg: &'static str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Preprocesses, proves and verifies one job.
pub fn run(job: &JobCircuit, srs: &dyn RowSource, robustness: &Robustness) -> Result<Outcome> {
    let shape = job.compiled.shape();
    let span = tracing::info_span!("job", circuit = %job.name, shards = shape.shards, shard_gates = shape.shard_gates);
    let _enter = span.enter();
    let detail = job.detail.clone();
    tracing::info!("{detail}");
    ensure_srs_fits(srs, shape, "the SRS")?;
    let pb = spinner("preprocessing");
    let sharded = job.compiled.sharded();
    let pre = preprocess(sharded, srs).context("preprocessing the circuit")?;
    let witnesses = job.shard_witnesses();
    let public_inputs = job.public_inputs.clone();
    pb.finish_and_clear();
    sharded
        .check_witness(&witnesses, &public_inputs)
        .context("the witness does not satisfy the circuit")?;
    tracing::info!("preprocessed {} shards", shape.shards);

    let mut job_secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut job_secret);
    for f in &robustness.faults {
        anyhow::ensure!(
            f.shard < shape.shards,
            "--inject names shard {} but the job has {} shards",
            f.shard,
            shape.shards
        );
    }
    let options = JobOptions {
        job_secret,
        spares: robustness.spares,
        faults: robustness.faults.clone(),
        aggregator_restart_after: None,
        replicas: robustness.replicas.max(1),
        erasure: None,
        forged_witnesses: Vec::new(),
    };
    let pb = spinner("proving (signed workers and coordinator in-process)");
    let clock = StdClock(Instant::now());
    let start = Instant::now();
    let report = run_job(&pre, witnesses, &public_inputs, &options, &clock)?;
    let prove = start.elapsed();
    pb.finish_and_clear();
    for c in &report.blamed {
        tracing::warn!(worker = %c.worker(), shard = c.shard(), offence = c.offence.name(), "blamed");
    }
    for r in &report.reassigned {
        tracing::warn!(shard = r.shard, from = %r.from, to = %r.to, reason = ?r.reason, "reassigned");
    }
    let Some(proof) = report.proof else {
        let why = report
            .error
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no outcome".into());
        anyhow::bail!("the job failed and emitted nothing: {why}");
    };
    tracing::info!(
        prove_ms = ms(prove),
        "proof assembled and checked by the aggregator"
    );

    let vk = pre.aggregator.vk.clone();
    let start = Instant::now();
    let verified = verify(&vk, &public_inputs, &proof).is_ok();
    let verify_ms = ms(start.elapsed());
    let summary = Summary {
        verified,
        circuit: job.name.clone(),
        digest: to_hex(&job.compiled.digest()),
        shards: shape.shards,
        shard_gates: shape.shard_gates,
        gates: job.compiled.rows(),
        proof_bytes: proof.to_bytes().len(),
        prove_ms: ms(prove),
        worker_ms_max: report.worker_nanos.iter().copied().max().unwrap_or(0) as f64 / 1e6,
        aggregator_ms: report.aggregator_nanos as f64 / 1e6,
        verify_ms,
        bytes_per_worker: report
            .traffic
            .iter()
            .map(|t| t.sent + t.received)
            .max()
            .unwrap_or(0),
        insecure_srs: vk.insecure_srs,
        spares: robustness.spares,
        replicas: robustness.replicas.max(1),
        blamed: report.blamed.iter().map(|c| c.worker().to_hex()).collect(),
        reassigned: report
            .reassigned
            .iter()
            .map(|r| ReassignedJson {
                shard: r.shard,
                from: r.from.to_hex(),
                to: r.to.to_hex(),
                reason: format!("{:?}", r.reason).to_lowercase(),
            })
            .collect(),
        attempts: report.attempts,
        recovery_ms: report.recovery_nanos as f64 / 1e6,
    };
    debug_assert_eq!(summary.proof_bytes, PROOF_BYTES);
    Ok(Outcome {
        summary,
        report,
        vk,
        public_inputs,
        detail,
    })
}

/// Arguments of `tutti prove`.
#[derive(clap::Args, Debug)]
pub struct ProveArgs {
    #[command(flatten)]
    pub circuit: CircuitArgs,
    /// SRS file made by `tutti setup` for the same M and at least T.
    #[arg(long)]
    pub srs: PathBuf,
    /// Where to write the proof (with its public inputs).
    #[arg(long)]
    pub out: PathBuf,
    /// Where to write the verifying key.
    #[arg(long)]
    pub vk_out: Option<PathBuf>,
    /// Where to write the public inputs as snarkjs's `public.json` (a JSON array of
    /// decimal strings).
    #[arg(long, value_name = "public.json")]
    pub public_out: Option<PathBuf>,
    /// Idle workers ready to take over a shard.
    #[arg(long, default_value_t = 0)]
    pub spares: usize,
    /// Workers proving each shard; their messages must agree round by round.
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Make the first worker of a shard misbehave: SHARD:FAULT[@ROUND], repeatable.
    /// Faults: crash, stall, wrong-commitment, wrong-evaluation, bad-opening,
    /// wrong-product, equivocate, bad-signature, replay.
    #[arg(long, value_parser = clap::value_parser!(tutti_protocol::runner::FaultSpec))]
    pub inject: Vec<FaultSpec>,
    /// Write a blame certificate file here for every worker proven faulty.
    #[arg(long)]
    pub blame_out: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn prove_command(a: ProveArgs) -> Result<()> {
    let job = a.circuit.load()?;
    let srs = open_srs(&a.srs)?;
    let robustness = Robustness {
        spares: a.spares,
        replicas: a.replicas,
        faults: a.inject.clone(),
    };
    let o = run(&job, &srs, &robustness)?;
    let Some(proof) = o.report.proof else {
        anyhow::bail!("no proof");
    };
    let file = ProofFile {
        proof,
        public_inputs: o.public_inputs.clone(),
    };
    if let Some(dir) = &a.blame_out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (n, c) in o.report.blamed.iter().enumerate() {
            let path = dir.join(format!("blame-shard{}-{n}.cert", c.shard()));
            std::fs::write(&path, c.to_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            if !a.json {
                println!("wrote {} ({})", path.display(), c.offence.name());
            }
        }
    }
    anyhow::ensure!(
        o.summary.verified,
        "the proof did not verify: nothing written"
    );
    let mut written = vec![a.out.display().to_string()];
    std::fs::write(&a.out, file.to_bytes())
        .with_context(|| format!("writing the proof to {}", a.out.display()))?;
    if let Some(path) = &a.vk_out {
        std::fs::write(path, o.vk.to_bytes())
            .with_context(|| format!("writing the verifying key to {}", path.display()))?;
        written.push(path.display().to_string());
    }
    if let Some(path) = &a.public_out {
        std::fs::write(path, public_json(&o.public_inputs))
            .with_context(|| format!("writing the public inputs to {}", path.display()))?;
        written.push(path.display().to_string());
    }
    if a.json {
        println!("{}", serde_json::to_string(&o.summary)?);
    } else {
        print_summary(&o);
        println!("wrote {}", written.join(", "));
    }
    Ok(())
}

pub fn demo(shards: usize, shard_gates: usize, json: bool) -> Result<()> {
    let shape = Shape::new(shards, shard_gates)?;
    if !json {
        println!(
            "tutti demo: {shards} workers prove one rollup circuit of {} rows, in this process",
            shards * shard_gates
        );
        println!("(development SRS from a fixed public seed: INSECURE, fine for a demo)\n");
    }
    let pb = spinner("generating a development SRS");
    let srs = InMemorySrs::insecure_from_seed(shards, shard_gates, b"tutti-demo")?;
    pb.finish_and_clear();
    let job = builtin(CircuitKind::Rollup, shape, 1)?;
    let o = run(&job, &srs, &Robustness::default())?;
    if json {
        println!("{}", serde_json::to_string(&o.summary)?);
    } else {
        print_summary(&o);
    }
    anyhow::ensure!(o.summary.verified, "the proof did not verify");
    Ok(())
}

fn print_summary(o: &Outcome) {
    let s = &o.summary;
    let r = &o.report;
    println!("{}", o.detail);
    println!("\n  worker            prove ms   sent B   received B");
    for (k, w) in r.workers.iter().enumerate() {
        let t: Traffic = r.traffic.get(k).copied().unwrap_or_default();
        let n = r.worker_nanos.get(k).copied().unwrap_or(0);
        let role = if k < s.shards * s.replicas {
            ""
        } else {
            " (spare)"
        };
        println!(
            "  {w} {:>10.1} {:>8} {:>12}{role}",
            n as f64 / 1e6,
            t.sent,
            t.received
        );
    }
    println!();
    println!(
        "  shards x rows        {} x {} = {} rows",
        s.shards,
        s.shard_gates,
        s.shards * s.shard_gates
    );
    println!("  slowest worker       {:.1} ms", s.worker_ms_max);
    println!("  aggregator           {:.1} ms", s.aggregator_ms);
    println!(
        "  whole run            {:.1} ms (workers run one after another here)",
        s.prove_ms
    );
    println!("  proof size           {} bytes", s.proof_bytes);
    println!(
        "  traffic per worker   {} bytes (largest, signatures included)",
        s.bytes_per_worker
    );
    println!("  verification         {:.2} ms", s.verify_ms);
    println!(
        "  verified             {}",
        if s.verified { "yes" } else { "NO" }
    );
    if !s.reassigned.is_empty() || !s.blamed.is_empty() {
        println!("  attempts             {}", s.attempts);
        println!(
            "  recovery             {:.1} ms (critical path after the first fault)",
            s.recovery_ms
        );
        for m in &s.reassigned {
            println!(
                "  shard {} moved        {} -> {} ({})",
                m.shard,
                &m.from[..16],
                &m.to[..16],
                m.reason
            );
        }
        for b in &s.blamed {
            println!(
                "  blamed               {} (certificate verifies offline)",
                &b[..16]
            );
        }
    }
}
