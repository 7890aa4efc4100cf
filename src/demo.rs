//! `tutti demo`: an aggregator and N workers in this process, talking over real QUIC
//! sockets on loopback, prove the rollup circuit; a client submits it and verifies the
//! proof it gets back.

use crate::CircuitKind;
use crate::inputs::builtin;
use crate::job::Summary;
use crate::net::{check_outcome, expected_vk_bytes, runtime, submission};
use crate::trust::{Expected, to_hex};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tutti_crypto::erasure::ErasureParams;
use tutti_crypto::identity::WorkerIdentity;
use tutti_crypto::srs::InMemorySrs;
use tutti_protocol::layout::Shape;
use tutti_protocol::proof::PROOF_BYTES;
use tutti_transport::aggregator::{AggregatorNode, AggregatorSettings};
use tutti_transport::client::submit_job;
use tutti_transport::peer::PeerSettings;
use tutti_transport::store::Store;
use tutti_transport::tls::{AggregatorCredentials, QuicTuning};
use tutti_transport::worker::{JobCounters, WorkerNode};

/// One worker's line of the demo.
#[derive(Serialize, Debug)]
pub struct WorkerLine {
    pub id: String,
    pub shard: Option<usize>,
    pub prove_ms: f64,
    pub prepare_ms: f64,
    pub sent_bytes: u64,
    pub received_bytes: u64,
    pub input_bytes: u64,
}

/// `--json` output: the keys of `tutti prove --json`, plus the transport and per-worker
/// lines.
#[derive(Serialize, Debug)]
pub struct DemoJson {
    #[serde(flatten)]
    pub summary: Summary,
    pub transport: &'static str,
    pub wall_ms: f64,
    /// Identity of the SRS the proof was made with (hex).
    pub srs_id: String,
    /// Keccak-256 digest of the verifying key (hex).
    pub vk_digest: String,
    pub workers: Vec<WorkerLine>,
}

/// Runs the demo.
pub fn run(
    workers: usize,
    shard_gates: usize,
    spares: usize,
    erasure: Option<ErasureParams>,
    json: bool,
) -> Result<()> {
    let shape = Shape::new(workers, shard_gates)?;
    if !json {
        println!(
            "tutti demo: an aggregator and {workers} workers{} over QUIC on loopback prove one rollup circuit of {} rows",
            if spares > 0 {
                format!(" (+{spares} spare)")
            } else {
                String::new()
            },
            workers * shard_gates
        );
        println!("(development SRS from a fixed public seed: INSECURE, fine for a demo)\n");
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb.set_message("generating a development SRS");
    let srs = Arc::new(InMemorySrs::insecure_from_seed(
        workers,
        shard_gates,
        b"tutti-demo",
    )?);
    let job = builtin(CircuitKind::Rollup, shape, 1)?;
    let (sub, detail, gates) = (submission(&job), job.detail.clone(), job.compiled.rows());
    let dir = tempfile::tempdir().context("a temporary directory for the journal")?;
    let creds = AggregatorCredentials::generate()?;
    let identities: Vec<WorkerIdentity> =
        (0..workers + spares).map(|_| random_identity()).collect();
    let client = random_identity();
    let tuning = QuicTuning::default();
    let settings = AggregatorSettings {
        listen: "127.0.0.1:0".parse()?,
        credentials: creds.clone(),
        workers: identities.iter().map(|w| w.id()).collect(),
        clients: vec![client.id()],
        store: Store::open(&dir.path().join("aggregator.redb"))?,
        srs: srs.clone(),
        spares,
        replicas: 1,
        round_timeout: Duration::from_secs(300),
        reconnect_grace: Duration::from_secs(3),
        spare_wait: Duration::from_secs(2),
        tuning: tuning.clone(),
        max_bulk: 1 << 30,
        erasure,
        strict_share_checks: false,
    };
    let rt = runtime()?;
    let (outcome, counters, wall) = rt.block_on(async {
        let node = AggregatorNode::bind(settings)?;
        let addr = node.local_addr()?;
        let (stop, _) = tokio::sync::watch::channel(false);
        let stopped = |stop: &tokio::sync::watch::Sender<bool>| {
            let mut rx = stop.subscribe();
            async move {
                let _ = rx.changed().await;
            }
        };
        let agg = tokio::spawn(node.run(stopped(&stop)));
        let peer = |identity: WorkerIdentity| PeerSettings {
            aggregator: addr,
            fingerprint: creds.fingerprint(),
            identity,
            tuning: tuning.clone(),
            retry: Duration::from_millis(200),
        };
        let mut stats = Vec::new();
        let mut tasks = Vec::new();
        for w in &identities {
            let node = WorkerNode::new(peer(w.clone()), 1 << 30);
            stats.push((w.id(), node.stats()));
            let s = stopped(&stop);
            tasks.push(tokio::spawn(async move { node.run(s).await }));
        }
        pb.set_message(format!("{detail}: proving"));
        let t0 = Instant::now();
        let result = submit_job(&peer(client), &sub, Duration::from_secs(600), |_| {}).await;
        let wall = t0.elapsed();
        let _ = stop.send(true);
        let _ = agg.await;
        for t in tasks {
            let _ = t.await;
        }
        let counters: Vec<(String, Option<JobCounters>)> = stats
            .iter()
            .map(|(id, s)| {
                let c = s.lock().ok().and_then(|s| s.jobs.values().next().cloned());
                (id.to_hex(), c)
            })
            .collect();
        anyhow::Ok((result?.1, counters, wall))
    })?;
    // The client pins the key it computes itself (after the job, so the timings above are
    // not disturbed), as `tutti submit --srs` does; the demo's SRS is public by design.
    pb.set_message("computing the expected verifying key");
    let expected = Expected {
        public_inputs: sub.public_inputs.clone(),
        vk_bytes: vec![(
            "the demo computed itself".into(),
            expected_vk_bytes(srs, &sub.circuit)?,
        )],
        vk_digest: None,
        srs_id: None,
        allow_insecure_srs: true,
    };
    pb.finish_and_clear();
    let r = check_outcome(outcome, &expected)?;
    let lines: Vec<WorkerLine> = counters
        .into_iter()
        .map(|(id, c)| {
            let c = c.unwrap_or_default();
            let seen = r.stats.traffic.iter().find(|t| t.worker.to_hex() == id);
            WorkerLine {
                shard: (c.prepare_nanos > 0).then_some(c.shard),
                prove_ms: c.prove_nanos as f64 / 1e6,
                prepare_ms: c.prepare_nanos as f64 / 1e6,
                sent_bytes: seen.map(|t| t.sent).unwrap_or(c.sent),
                received_bytes: seen.map(|t| t.received).unwrap_or(c.received),
                input_bytes: seen.map(|t| t.inputs).unwrap_or(c.inputs),
                id,
            }
        })
        .collect();
    let summary = Summary {
        verified: true,
        circuit: job.name.clone(),
        digest: to_hex(&job.compiled.digest()),
        shards: workers,
        shard_gates,
        gates,
        proof_bytes: r.proof.to_bytes().len(),
        prove_ms: r.stats.wall_nanos as f64 / 1e6,
        worker_ms_max: lines.iter().map(|l| l.prove_ms).fold(0.0, f64::max),
        aggregator_ms: r.stats.aggregator_nanos as f64 / 1e6,
        verify_ms: r.verify_ms,
        bytes_per_worker: lines
            .iter()
            .map(|l| (l.sent_bytes + l.received_bytes) as usize)
            .max()
            .unwrap_or(0),
        insecure_srs: r.vk.insecure_srs,
        spares,
        replicas: 1,
        blamed: r.stats.blamed.iter().map(|b| b.to_hex()).collect(),
        reassigned: Vec::new(),
        attempts: r.stats.attempts,
        recovery_ms: 0.0,
    };
    debug_assert_eq!(summary.proof_bytes, PROOF_BYTES);
    if json {
        let j = DemoJson {
            summary,
            transport: "quic",
            wall_ms: wall.as_secs_f64() * 1e3,
            srs_id: to_hex(&r.vk.srs_id()),
            vk_digest: to_hex(&r.vk.digest()),
            workers: lines,
        };
        println!("{}", serde_json::to_string(&j)?);
        return Ok(());
    }
    println!("{detail}");
    println!("\n  worker            shard  prepare ms  prove ms  sent B  received B  inputs B");
    for l in &lines {
        println!(
            "  {} {:>6} {:>11.1} {:>9.1} {:>7} {:>11} {:>9}",
            &l.id[..16],
            l.shard
                .map(|s| s.to_string())
                .unwrap_or_else(|| "spare".into()),
            l.prepare_ms,
            l.prove_ms,
            l.sent_bytes,
            l.received_bytes,
            l.input_bytes
        );
    }
    println!();
    println!(
        "  transport            QUIC on loopback (TLS 1.3, pinned certificate, ed25519 peers)"
    );
    println!(
        "  shards x rows        {} x {} = {} rows",
        workers,
        shard_gates,
        workers * shard_gates
    );
    println!(
        "  slowest worker       {:.1} ms proving",
        summary.worker_ms_max
    );
    println!(
        "  aggregator           {:.1} ms (sharing {} cores with every worker here)",
        summary.aggregator_ms,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "  end to end           {:.1} ms (submission to verified proof)",
        wall.as_secs_f64() * 1e3
    );
    println!("  proof size           {} bytes", summary.proof_bytes);
    println!(
        "  protocol bytes       {} per worker (largest: five rounds, frames and signatures)",
        summary.bytes_per_worker
    );
    println!("  verification         {:.2} ms", summary.verify_ms);
    println!("  verified             yes");
    Ok(())
}

fn random_identity() -> WorkerIdentity {
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    WorkerIdentity::from_seed(&seed)
}
