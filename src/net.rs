//! The long-running network commands: `tutti keygen`, `tutti aggregator`,
//! `tutti worker` and `tutti submit`.

use crate::CircuitKind;
use crate::inputs::{CircuitArgs, JobCircuit};
use crate::trust::{Expected, WHY_PIN, parse_hex32, to_hex};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rand::RngCore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tutti_crypto::srs::{RowSource, SrsFile};
use tutti_protocol::blame::BlameCertificate;
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::proof::{Proof, ProofFile};
use tutti_protocol::verifier::verify;
use tutti_transport::aggregator::prepare::Catalog;
use tutti_transport::aggregator::{AggregatorNode, AggregatorSettings, hex};
use tutti_transport::circuit_spec::CircuitSpec;
use tutti_transport::client::submit_job;
use tutti_transport::config::{AggregatorConfig, WorkerConfig};
use tutti_transport::peer::PeerSettings;
use tutti_transport::store::Store;
use tutti_transport::tls::{AggregatorCredentials, QuicTuning, load_identity, save_identity};
use tutti_transport::wire::{JobOutcome, JobStats, Submission};
use tutti_transport::worker::WorkerNode;

/// The tokio runtime of a command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn refuse_overwrite(path: &Path, force: bool) -> Result<()> {
    anyhow::ensure!(
        force || !path.exists(),
        "{} exists; pass --force to replace it (the old key is lost)",
        path.display()
    );
    Ok(())
}

/// `tutti keygen identity`: a new ed25519 identity (worker or client).
pub fn keygen_identity(out: &Path, force: bool) -> Result<()> {
    refuse_overwrite(out, force)?;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    save_identity(out, &seed)?;
    let id = load_identity(out)?.id();
    println!("{}", id.to_hex());
    eprintln!(
        "wrote {}; put the id above in the aggregator's `workers` (or `clients`) list",
        out.display()
    );
    Ok(())
}

/// `tutti keygen aggregator`: the aggregator's TLS certificate and key.
pub fn keygen_aggregator(cert: &Path, key: &Path, force: bool) -> Result<()> {
    refuse_overwrite(cert, force)?;
    refuse_overwrite(key, force)?;
    let creds = AggregatorCredentials::generate()?;
    creds.save(cert, key)?;
    println!("{}", creds.fingerprint());
    eprintln!(
        "wrote {} and {}; give workers the fingerprint above as `aggregator_fingerprint`",
        cert.display(),
        key.display()
    );
    Ok(())
}

/// `tutti aggregator --config FILE`.
pub fn aggregator(config: &Path) -> Result<()> {
    let c = AggregatorConfig::load(config)?;
    let credentials = AggregatorCredentials::load(&c.certificate, &c.key)?;
    let fingerprint = credentials.fingerprint();
    let srs = SrsFile::open(&c.srs).with_context(|| {
        format!(
            "opening the SRS {} (make one with `tutti setup`)",
            c.srs.display()
        )
    })?;
    if srs.header().insecure {
        tracing::warn!(srs = %c.srs.display(), "this SRS is INSECURE (seeded): proofs made with it can be forged");
    }
    let store = Store::open(&c.store)?;
    let settings = AggregatorSettings {
        listen: c.listen,
        credentials,
        workers: c.worker_ids(config)?,
        clients: c.client_ids(config)?,
        store,
        srs: Arc::new(srs),
        spares: c.spares,
        replicas: c.replicas,
        round_timeout: Duration::from_secs(c.round_timeout_secs),
        reconnect_grace: Duration::from_millis(c.reconnect_grace_ms),
        spare_wait: Duration::from_millis(c.spare_wait_ms),
        tuning: tuning(c.idle_timeout_ms),
        max_bulk: c.max_submission_mib << 20,
        erasure: c.erasure(config)?,
        strict_share_checks: c.strict_share_checks,
    };
    let rt = runtime()?;
    rt.block_on(async {
        let node = AggregatorNode::bind(settings)?;
        tracing::info!(
            addr = %node.local_addr()?,
            %fingerprint,
            workers = c.workers.len(),
            strict_share_checks = c.strict_share_checks,
            "aggregator listening"
        );
        node.run(shutdown_signal()).await
    })?;
    Ok(())
}

fn tuning(idle_ms: u64) -> QuicTuning {
    let idle = Duration::from_millis(idle_ms);
    QuicTuning {
        idle_timeout: idle,
        keep_alive: (idle / 4).max(Duration::from_millis(100)),
        ..QuicTuning::default()
    }
}

/// `tutti worker --config FILE`.
pub fn worker(config: &Path) -> Result<()> {
    let c = WorkerConfig::load(config)?;
    let identity = load_identity(&c.identity)?;
    let settings = PeerSettings {
        aggregator: c.aggregator,
        fingerprint: c.fingerprint(config)?,
        identity,
        tuning: tuning(c.idle_timeout_ms),
        retry: Duration::from_millis(c.retry_ms),
    };
    tracing::info!(id = %settings.identity.id(), aggregator = %c.aggregator, "worker starting");
    let node = WorkerNode::new(settings, c.max_assignment_mib << 20);
    runtime()?.block_on(node.run(shutdown_signal()))?;
    Ok(())
}

/// Arguments of `tutti submit`.
#[derive(clap::Args, Debug)]
pub struct SubmitArgs {
    /// The aggregator's address (host:port).
    #[arg(long)]
    pub aggregator: SocketAddr,
    /// SHA-256 fingerprint of the aggregator's certificate.
    #[arg(long)]
    pub fingerprint: String,
    /// This client's identity file (`tutti keygen identity`); its id must be in the
    /// aggregator's `clients` list.
    #[arg(long)]
    pub identity: PathBuf,
    /// The circuit and its witness (a built-in circuit is the rollup unless --circuit
    /// says otherwise).
    #[command(flatten)]
    pub circuit: CircuitArgs,
    /// Where to write the proof (with its public inputs).
    #[arg(long)]
    pub out: PathBuf,
    /// Where to write the verifying key.
    #[arg(long)]
    pub vk_out: PathBuf,
    /// Where to write the public inputs as snarkjs's `public.json`.
    #[arg(long, value_name = "public.json")]
    pub public_out: Option<PathBuf>,
    /// The verifying key to expect (e.g. from `tutti prove --vk-out` with the same SRS):
    /// the aggregator's must be byte-identical. One of --vk, --vk-digest or --srs is
    /// required.
    #[arg(long, value_name = "FILE")]
    pub vk: Option<PathBuf>,
    /// Keccak-256 digest of the verifying key to expect (64 hex digits, as `tutti verify`
    /// and `submit --json` print it).
    #[arg(long, value_name = "HEX", value_parser = parse_hex32)]
    pub vk_digest: Option<[u8; 32]>,
    /// The SRS file to compute the expected verifying key from: the client preprocesses
    /// the same circuit with it, as the aggregator does.
    #[arg(long, value_name = "FILE")]
    pub srs: Option<PathBuf>,
    /// The SRS identity to expect (64 hex digits, as `tutti verify` prints it).
    #[arg(long, value_name = "HEX", value_parser = parse_hex32)]
    pub srs_id: Option<[u8; 32]>,
    /// Accept a verifying key whose SRS is seeded (INSECURE: its proofs can be forged by
    /// whoever knows the seed). Tests and demos only.
    #[arg(long)]
    pub allow_insecure_srs: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout_secs: u64,
    /// Write the blame certificate of every worker proven faulty here.
    #[arg(long)]
    pub blame_out: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The submission of a loaded circuit: the witness cut into the compiled circuit's shards.
pub fn submission(job: &JobCircuit) -> Submission {
    Submission {
        circuit: job.spec.clone(),
        public_inputs: job.public_inputs.clone(),
        witnesses: job.shard_witnesses(),
    }
}

/// The verifying key a circuit gets with `srs`, computed here exactly as the aggregator
/// computes it (its own preprocessing catalog).
pub fn expected_vk_bytes(
    srs: Arc<dyn RowSource + Send + Sync>,
    circuit: &CircuitSpec,
) -> Result<Vec<u8>> {
    let prepared = Catalog::new(srs)
        .prepare(circuit)
        .context("preprocessing the circuit to compute the expected verifying key")?;
    Ok(prepared.vk_bytes.clone())
}

/// What `tutti submit` expects of the answer to `sub`: its statement and the pins of
/// `a` (read, computed and checked here, before anything is submitted).
fn expected(a: &SubmitArgs, sub: &Submission) -> Result<Expected> {
    let mut e = Expected {
        public_inputs: sub.public_inputs.clone(),
        vk_bytes: Vec::new(),
        vk_digest: a.vk_digest,
        srs_id: a.srs_id,
        allow_insecure_srs: a.allow_insecure_srs,
    };
    if let Some(path) = &a.vk {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the expected verifying key {}", path.display()))?;
        let source = format!("pinned with --vk {}", path.display());
        e.check_pinned_key(&source, &bytes)?;
        e.vk_bytes.push((source, bytes));
    }
    if let Some(path) = &a.srs {
        let srs = SrsFile::open(path)
            .with_context(|| format!("opening the SRS {} (--srs)", path.display()))?;
        let bytes = expected_vk_bytes(Arc::new(srs), &sub.circuit)?;
        let source = format!("computed from --srs {}", path.display());
        e.check_pinned_key(&source, &bytes)?;
        e.vk_bytes.push((source, bytes));
    }
    anyhow::ensure!(
        e.pins_vk(),
        "tutti submit needs the verifying key to expect: pass --vk FILE, --vk-digest HEX or --srs FILE ({WHY_PIN})"
    );
    Ok(e)
}

/// A verified proof and what came with it.
pub struct Received {
    pub proof: Proof,
    pub vk: VerifyingKey,
    pub public_inputs: Vec<tutti_protocol::Fr>,
    pub stats: JobStats,
    pub verify_ms: f64,
}

/// Checks an outcome: the job succeeded, the statement is the one submitted, the
/// verifying key is the pinned one (and its SRS acceptable), and the proof verifies.
pub fn check_outcome(outcome: JobOutcome, expected: &Expected) -> Result<Received> {
    let (proof, vk, public_inputs, stats) = match outcome {
        JobOutcome::Proved {
            proof,
            vk,
            public_inputs,
            stats,
        } => (proof, vk, public_inputs, stats),
        JobOutcome::Failed(why) => anyhow::bail!("the job failed: {why}"),
    };
    expected.check_statement(&public_inputs)?;
    let vk = expected.check_returned_key(&vk)?;
    let proof = Proof::from_bytes(&proof).context("the proof sent back")?;
    let t0 = std::time::Instant::now();
    verify(&vk, &public_inputs, &proof).context("the proof sent back does not verify")?;
    Ok(Received {
        proof,
        vk,
        public_inputs,
        stats,
        verify_ms: t0.elapsed().as_secs_f64() * 1e3,
    })
}

/// Writes each blame certificate to `dir` (checkable with `tutti blame verify`).
pub fn write_certificates(dir: &Path, certificates: &[Vec<u8>], quiet: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (n, bytes) in certificates.iter().enumerate() {
        let cert = BlameCertificate::from_bytes(bytes)
            .context("a blame certificate sent back by the aggregator")?;
        let path = dir.join(format!("blame-shard{}-{n}.cert", cert.shard()));
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        if !quiet {
            println!("wrote {} ({})", path.display(), cert.offence.name());
        }
    }
    Ok(())
}

/// `tutti submit`.
pub fn submit(mut a: SubmitArgs) -> Result<()> {
    if a.circuit.compiled.is_none() && a.circuit.circuit.is_none() {
        a.circuit.circuit = Some(CircuitKind::Rollup);
    }
    let job = a.circuit.load()?;
    let identity = load_identity(&a.identity)?;
    let settings = PeerSettings {
        aggregator: a.aggregator,
        fingerprint: a
            .fingerprint
            .parse()
            .context("--fingerprint (printed by `tutti keygen aggregator`)")?,
        identity,
        tuning: QuicTuning::default(),
        retry: Duration::from_millis(500),
    };
    let sub = submission(&job);
    let job_circuit_digest = job.compiled.digest();
    tracing::info!("{}", job.detail);
    let expected = expected(&a, &sub)?;
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message("submitting");
    pb.enable_steady_tick(Duration::from_millis(120));
    let (job, outcome) = runtime()?.block_on(submit_job(
        &settings,
        &sub,
        Duration::from_secs(a.timeout_secs),
        |id| pb.set_message(format!("job {} accepted; proving", hex(id))),
    ))?;
    pb.finish_and_clear();
    let r = check_outcome(outcome, &expected)?;
    let (srs_id, vk_digest) = (to_hex(&r.vk.srs_id()), to_hex(&r.vk.digest()));
    let file = ProofFile {
        proof: r.proof,
        public_inputs: r.public_inputs.clone(),
    };
    std::fs::write(&a.out, file.to_bytes())
        .with_context(|| format!("writing the proof to {}", a.out.display()))?;
    std::fs::write(&a.vk_out, r.vk.to_bytes())
        .with_context(|| format!("writing the verifying key to {}", a.vk_out.display()))?;
    if let Some(path) = &a.public_out {
        std::fs::write(path, crate::inputs::public_json(&r.public_inputs))
            .with_context(|| format!("writing the public inputs to {}", path.display()))?;
    }
    if let Some(dir) = &a.blame_out {
        write_certificates(dir, &r.stats.certificates, a.json)?;
    }
    if a.json {
        let j = serde_json::json!({
            "job": hex(&job),
            "circuit_digest": to_hex(&job_circuit_digest),
            "verified": true,
            "proof_bytes": r.proof.to_bytes().len(),
            "aggregator_ms": r.stats.aggregator_nanos as f64 / 1e6,
            "wall_ms": r.stats.wall_nanos as f64 / 1e6,
            "verify_ms": r.verify_ms,
            "attempts": r.stats.attempts,
            "reassigned": r.stats.reassigned,
            "resumed": r.stats.resumed,
            "resent_after_restart": r.stats.resent,
            "blamed": r.stats.blamed.iter().map(|b| b.to_hex()).collect::<Vec<_>>(),
            "srs_id": srs_id,
            "vk_digest": vk_digest,
            "insecure_srs": crate::trust::insecure_srs(&r.vk).is_some(),
            "transport": "quic",
        });
        println!("{j}");
    } else {
        println!(
            "job {}: proof verified ({} bytes, aggregator {:.1} ms, {:.1} ms end to end); wrote {} and {}",
            hex(&job),
            r.proof.to_bytes().len(),
            r.stats.aggregator_nanos as f64 / 1e6,
            r.stats.wall_nanos as f64 / 1e6,
            a.out.display(),
            a.vk_out.display()
        );
        println!("  SRS id     {srs_id}");
        println!("  vk digest  {vk_digest}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tutti_crypto::srs::InMemorySrs;
    use tutti_protocol::keys::preprocess;
    use tutti_protocol::layout::Shape;
    use tutti_protocol::runner::{NoClock, RunOptions, run_in_process};
    use tutti_transport::wire::JobStats;

    /// A submission of a small random circuit and an honest outcome for it proved with
    /// `srs`, plus the verifying key the client computes itself from `srs`.
    fn proved(srs: InMemorySrs) -> (Submission, JobOutcome, Vec<u8>) {
        let shape = Shape::new(2, 16).unwrap();
        let job = crate::inputs::builtin(CircuitKind::Random, shape, 1).unwrap();
        let sub = submission(&job);
        let pre = preprocess(job.compiled.sharded(), &srs).unwrap();
        let report = run_in_process(
            &pre,
            sub.witnesses.clone(),
            &sub.public_inputs,
            RunOptions::default(),
            &NoClock,
        )
        .unwrap();
        let computed = expected_vk_bytes(Arc::new(srs), &sub.circuit).unwrap();
        assert_eq!(computed, pre.aggregator.vk.to_bytes());
        let outcome = JobOutcome::Proved {
            proof: report.proof.to_bytes(),
            vk: pre.aggregator.vk.to_bytes(),
            public_inputs: sub.public_inputs.clone(),
            stats: JobStats::default(),
        };
        (sub, outcome, computed)
    }

    fn secure(entropy: u8) -> InMemorySrs {
        InMemorySrs::from_entropy(2, 16, &[entropy; 64]).unwrap()
    }

    fn pinned(sub: &Submission, vk: &[u8]) -> Expected {
        Expected {
            public_inputs: sub.public_inputs.clone(),
            vk_bytes: vec![("pinned in the test".into(), vk.to_vec())],
            ..Expected::default()
        }
    }

    fn refusal(outcome: JobOutcome, expected: &Expected) -> String {
        match check_outcome(outcome, expected) {
            Ok(_) => panic!("the outcome must be refused"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn a_pinned_outcome_is_accepted() {
        let (sub, outcome, vk) = proved(secure(1));
        let decoded = VerifyingKey::from_bytes(&vk).unwrap();
        let r = check_outcome(outcome.clone(), &pinned(&sub, &vk)).unwrap();
        assert_eq!(r.public_inputs, sub.public_inputs);
        let by_digest = Expected {
            public_inputs: sub.public_inputs.clone(),
            vk_digest: Some(decoded.digest()),
            srs_id: Some(decoded.srs_id()),
            ..Expected::default()
        };
        check_outcome(outcome, &by_digest).unwrap();
    }

    #[test]
    fn a_proof_of_another_statement_is_refused() {
        let (sub, outcome, vk) = proved(secure(1));
        let mut expected = pinned(&sub, &vk);
        expected.public_inputs[0] += tutti_protocol::Fr::from(1u64);
        // The proof verifies against the statement sent back, but that is not the one
        // submitted.
        let why = refusal(outcome.clone(), &expected);
        assert!(why.contains("another statement"), "{why}");
        expected.public_inputs.pop();
        assert!(refusal(outcome, &expected).contains("another statement"));
    }

    #[test]
    fn a_key_other_than_the_pinned_one_is_refused() {
        let (sub, outcome, _) = proved(secure(1));
        let (_, _, other) = proved(secure(2));
        let why = refusal(outcome.clone(), &pinned(&sub, &other));
        assert!(why.contains("is not the one pinned in the test"), "{why}");
        let other = VerifyingKey::from_bytes(&other).unwrap();
        let by_digest = Expected {
            public_inputs: sub.public_inputs.clone(),
            vk_digest: Some(other.digest()),
            ..Expected::default()
        };
        let why = refusal(outcome.clone(), &by_digest);
        assert!(why.contains("--vk-digest"), "{why}");
        // The right key, made with another SRS than the pinned one.
        let JobOutcome::Proved { vk: right, .. } = &outcome else {
            unreachable!()
        };
        let by_srs_id = Expected {
            srs_id: Some(other.srs_id()),
            ..pinned(&sub, right)
        };
        let why = refusal(outcome.clone(), &by_srs_id);
        assert!(why.contains("--srs-id"), "{why}");
        // No pin at all is refused too.
        let none = Expected {
            public_inputs: sub.public_inputs.clone(),
            ..Expected::default()
        };
        assert!(refusal(outcome, &none).contains("no verifying key is pinned"));
    }

    /// The insecure byte is a label: a key of the public demo SRS relabelled as secure
    /// is still recognised from its G2 part and refused.
    #[test]
    fn a_relabelled_public_seed_is_still_refused() {
        let srs = InMemorySrs::insecure_from_seed(2, 16, b"tutti-demo").unwrap();
        let (sub, outcome, vk) = proved(srs);
        let mut relabelled = VerifyingKey::from_bytes(&vk).unwrap();
        relabelled.insecure_srs = false;
        let bytes = relabelled.to_bytes();
        assert_eq!(
            relabelled.srs_id(),
            VerifyingKey::from_bytes(&vk).unwrap().srs_id()
        );
        let JobOutcome::Proved {
            proof,
            public_inputs,
            stats,
            ..
        } = outcome
        else {
            panic!("a proved outcome");
        };
        let outcome = JobOutcome::Proved {
            proof,
            vk: bytes.clone(),
            public_inputs,
            stats,
        };
        let why = refusal(outcome, &pinned(&sub, &bytes));
        assert!(why.contains("public seed \"tutti-demo\""), "{why}");
    }

    #[test]
    fn a_seeded_srs_needs_allow_insecure_srs() {
        for seed in [&b"tutti-demo"[..], b"unit-test"] {
            let srs = InMemorySrs::insecure_from_seed(2, 16, seed).unwrap();
            let (sub, outcome, vk) = proved(srs);
            let mut expected = pinned(&sub, &vk);
            let why = refusal(outcome.clone(), &expected);
            assert!(why.contains("--allow-insecure-srs"), "{why}");
            if seed == b"tutti-demo" {
                assert!(why.contains("public seed \"tutti-demo\""), "{why}");
            }
            expected.allow_insecure_srs = true;
            check_outcome(outcome, &expected).unwrap();
        }
    }
}
