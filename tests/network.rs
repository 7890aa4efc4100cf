//! The real binary as separate processes over QUIC on loopback: one aggregator, worker
//! processes and a client (`tutti submit`), with keys and configs made by `tutti keygen`.
//! Workers and the aggregator are killed with SIGKILL mid-job.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tutti");

/// A child process whose stderr is collected line by line.
struct Proc {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    name: String,
}

impl Proc {
    fn start(name: &str, args: &[&str]) -> Proc {
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tutti");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("log").push(line);
            }
        });
        Proc {
            child,
            log,
            name: name.to_string(),
        }
    }

    fn count(&self, needle: &str) -> usize {
        let log = self.log.lock().expect("log");
        log.iter().filter(|l| l.contains(needle)).count()
    }

    fn wait_for(&self, needle: &str, times: usize, timeout: Duration) {
        let until = Instant::now() + timeout;
        while self.count(needle) < times {
            assert!(
                Instant::now() < until,
                "{} never logged {needle:?} {times} times; its log:\n{}",
                self.name,
                self.log.lock().expect("log").join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }

    fn log_text(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn run_ok(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run tutti");
    assert!(
        out.status.success(),
        "tutti {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn free_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

/// Keys, SRS and configs for an aggregator and `workers` workers in `dir`.
struct Cluster {
    dir: PathBuf,
    addr: String,
    fingerprint: String,
    worker_configs: Vec<PathBuf>,
    client_key: PathBuf,
    shards: usize,
    gates: usize,
}

impl Cluster {
    fn new(dir: &Path, shards: usize, gates: usize, workers: usize, spares: usize) -> Cluster {
        let p = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let fingerprint = run_ok(&[
            "keygen",
            "aggregator",
            "--cert",
            &p("agg.cert.pem"),
            "--key",
            &p("agg.key.pem"),
        ]);
        run_ok(&[
            "setup",
            "--shards",
            &shards.to_string(),
            "--shard-gates",
            &gates.to_string(),
            "--out",
            &p("srs.bin"),
            "--seed",
            "network-test",
        ]);
        let addr = format!("127.0.0.1:{}", free_port());
        let mut ids = Vec::new();
        let mut worker_configs = Vec::new();
        for k in 0..workers {
            let key = format!("worker{k}.key");
            ids.push(run_ok(&["keygen", "identity", "--out", &p(&key)]));
            let config = dir.join(format!("worker{k}.toml"));
            std::fs::write(
                &config,
                format!(
                    "aggregator = \"{addr}\"\naggregator_fingerprint = \"{fingerprint}\"\nidentity = \"{key}\"\nretry_ms = 200\nidle_timeout_ms = 1500\n"
                ),
            )
            .expect("write worker config");
            worker_configs.push(config);
        }
        let client_key = dir.join("client.key");
        let client_id = run_ok(&["keygen", "identity", "--out", &p("client.key")]);
        let list = |v: &[String]| {
            v.iter()
                .map(|i| format!("\"{i}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        std::fs::write(
            dir.join("aggregator.toml"),
            format!(
                "listen = \"{addr}\"\ncertificate = \"agg.cert.pem\"\nkey = \"agg.key.pem\"\nsrs = \"srs.bin\"\nstore = \"agg.redb\"\nworkers = [{}]\nclients = [{}]\nspares = {spares}\nround_timeout_secs = 60\nreconnect_grace_ms = 300\nspare_wait_ms = 1500\nidle_timeout_ms = 1500\n",
                list(&ids),
                list(&[client_id])
            ),
        )
        .expect("write aggregator config");
        Cluster {
            dir: dir.to_path_buf(),
            addr,
            fingerprint,
            worker_configs,
            client_key,
            shards,
            gates,
        }
    }

    fn aggregator(&self) -> Proc {
        let config = self.dir.join("aggregator.toml");
        Proc::start(
            "aggregator",
            &["aggregator", "--config", &config.to_string_lossy()],
        )
    }

    fn worker(&self, k: usize) -> Proc {
        let config = self.worker_configs[k].to_string_lossy().into_owned();
        Proc::start(&format!("worker {k}"), &["worker", "--config", &config])
    }

    fn submit(&self, seed: u64) -> Proc {
        let p = |name: &str| self.dir.join(name).to_string_lossy().into_owned();
        Proc::start(
            "client",
            &[
                "submit",
                "--aggregator",
                &self.addr,
                "--fingerprint",
                &self.fingerprint,
                "--identity",
                &self.client_key.to_string_lossy(),
                "--circuit",
                "rollup",
                "--shards",
                &self.shards.to_string(),
                "--shard-gates",
                &self.gates.to_string(),
                "--seed",
                &seed.to_string(),
                "--out",
                &p("proof.bin"),
                "--vk-out",
                &p("vk.bin"),
                // The client computes the key it expects from the aggregator's SRS,
                // which is seeded here.
                "--srs",
                &p("srs.bin"),
                "--allow-insecure-srs",
                "--timeout-secs",
                "240",
                "--json",
            ],
        )
    }

    /// Waits for the client to exit, checks it succeeded, returns its JSON line, and
    /// checks the written proof with `tutti verify`.
    fn finish(&self, mut client: Proc) -> serde_json::Value {
        let out = client.child.stdout.take().expect("stdout");
        let status = client.child.wait().expect("wait client");
        let mut line = String::new();
        BufReader::new(out).read_line(&mut line).expect("read");
        assert!(
            status.success(),
            "the client failed:\n{}",
            client.log_text()
        );
        let p = |name: &str| self.dir.join(name).to_string_lossy().into_owned();
        let json: serde_json::Value = serde_json::from_str(&line).expect("client JSON");
        let hex = |key: &str| -> String {
            let h = json[key].as_str().unwrap_or_default().to_string();
            assert!(
                h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()),
                "{key} in {json}"
            );
            h
        };
        let (srs_id, vk_digest) = (hex("srs_id"), hex("vk_digest"));
        let verified = run_ok(&[
            "verify",
            "--vk",
            &p("vk.bin"),
            "--proof",
            &p("proof.bin"),
            "--srs-id",
            &srs_id,
            "--vk-digest",
            &vk_digest,
        ]);
        assert!(verified.contains(&srs_id), "{verified}");
        json
    }
}

#[test]
fn four_worker_processes_prove_and_bad_peers_are_turned_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = Cluster::new(dir.path(), 4, 1024, 5, 0);
    let agg = c.aggregator();
    let workers: Vec<Proc> = (0..4).map(|k| c.worker(k)).collect();
    agg.wait_for("authenticated", 4, Duration::from_secs(60));

    // A worker whose key is not on the allow-list: refused, exits with the reason.
    let stranger = dir.path().join("stranger.key");
    run_ok(&["keygen", "identity", "--out", &stranger.to_string_lossy()]);
    let text = std::fs::read_to_string(&c.worker_configs[4]).expect("read");
    let config = dir.path().join("stranger.toml");
    std::fs::write(&config, text.replace("worker4.key", "stranger.key")).expect("write");
    let out = Command::new(BIN)
        .args(["worker", "--config", &config.to_string_lossy()])
        .output()
        .expect("run stranger");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("allow-list"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    agg.wait_for("allow-list", 1, Duration::from_secs(10));

    // A worker pinning the wrong certificate never gets in (it keeps retrying).
    let wrong = dir.path().join("wrong-pin.toml");
    std::fs::write(&wrong, text.replace(&c.fingerprint, &"ab".repeat(32))).expect("write");
    let wrong_pin = Proc::start(
        "wrong pin",
        &["worker", "--config", &wrong.to_string_lossy()],
    );

    let client = c.submit(3);
    let j = c.finish(client);
    assert_eq!(j["verified"], true);
    assert_eq!(j["transport"], "quic");
    assert_eq!(j["blamed"].as_array().map(Vec::len), Some(0));
    wrong_pin.wait_for("fingerprint", 1, Duration::from_secs(10));
    assert_eq!(wrong_pin.count("connected"), 0);
    drop(workers);
}

/// The committed circom fixtures (made by protocol/tests/fixtures/circom/regenerate.sh).
fn circom_fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("protocol/tests/fixtures/circom")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn an_imported_circom_circuit_is_proved_by_worker_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Poseidon(2): 597 rows, cut into 4 shards of 256 rows.
    let c = Cluster::new(dir.path(), 4, 256, 4, 0);
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let compiled: serde_json::Value = serde_json::from_str(&run_ok(&[
        "compile",
        "--r1cs",
        &circom_fixture("poseidon2.r1cs"),
        "--shards",
        "4",
        "--srs",
        &p("srs.bin"),
        "--out",
        &p("poseidon2.tutti"),
        "--vk-out",
        &p("compiled-vk.bin"),
        "--json",
    ]))
    .expect("compile JSON");
    assert_eq!(compiled["shard_gates"], 256, "{compiled}");
    let agg = c.aggregator();
    let _workers: Vec<Proc> = (0..4).map(|k| c.worker(k)).collect();
    agg.wait_for("authenticated", 4, Duration::from_secs(60));
    let client = Proc::start(
        "client",
        &[
            "submit",
            "--aggregator",
            &c.addr,
            "--fingerprint",
            &c.fingerprint,
            "--identity",
            &c.client_key.to_string_lossy(),
            "--compiled",
            &p("poseidon2.tutti"),
            "--wtns",
            &circom_fixture("poseidon2.wtns"),
            "--out",
            &p("proof.bin"),
            "--vk-out",
            &p("vk.bin"),
            "--public-out",
            &p("public.json"),
            // The key `tutti compile` wrote is the one the aggregator must use.
            "--vk",
            &p("compiled-vk.bin"),
            "--allow-insecure-srs",
            "--timeout-secs",
            "240",
            "--json",
        ],
    );
    let j = c.finish(client);
    assert_eq!(j["verified"], true);
    assert_eq!(j["vk_digest"], compiled["vk_digest"], "{j}");
    assert_eq!(j["circuit_digest"], compiled["digest"], "{j}");
    // The statement is snarkjs's, in its order.
    let ours: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("public.json")).expect("public.json"))
            .expect("JSON");
    let snarkjs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(circom_fixture("poseidon2.public.json")).expect("fixture"),
    )
    .expect("JSON");
    assert_eq!(ours, snarkjs);
    let verified = run_ok(&[
        "verify",
        "--vk",
        &p("vk.bin"),
        "--proof",
        &p("proof.bin"),
        "--public",
        &circom_fixture("poseidon2.public.json"),
    ]);
    assert!(verified.starts_with("valid"), "{verified}");
}

#[test]
fn a_killed_worker_is_replaced_by_a_spare() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = Cluster::new(dir.path(), 4, 4096, 5, 1);
    // This cluster's aggregator also weighs every share (strict share checks).
    let config = dir.path().join("aggregator.toml");
    let text = std::fs::read_to_string(&config).expect("read");
    std::fs::write(&config, format!("{text}strict_share_checks = true\n")).expect("write");
    let agg = c.aggregator();
    agg.wait_for("strict_share_checks=true", 1, Duration::from_secs(60));
    let mut workers: Vec<Proc> = (0..4).map(|k| c.worker(k)).collect();
    agg.wait_for("authenticated", 4, Duration::from_secs(60));
    // The fifth to connect is the spare.
    workers.push(c.worker(4));
    agg.wait_for("authenticated", 5, Duration::from_secs(60));
    let client = c.submit(5);
    workers[1].wait_for("assignment received", 1, Duration::from_secs(120));
    workers[1].kill();
    let j = c.finish(client);
    assert_eq!(j["verified"], true);
    assert!(j["reassigned"].as_u64().unwrap_or(0) >= 1, "{j}");
    assert_eq!(j["blamed"].as_array().map(Vec::len), Some(0));
    assert!(agg.count("shard reassigned") >= 1);
    assert_eq!(workers[4].count("assignment received"), 1);
}

#[test]
fn a_killed_aggregator_resumes_the_job_from_its_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = Cluster::new(dir.path(), 4, 4096, 4, 0);
    let mut agg = c.aggregator();
    let workers: Vec<Proc> = (0..4).map(|k| c.worker(k)).collect();
    agg.wait_for("authenticated", 4, Duration::from_secs(60));
    let client = c.submit(9);
    agg.wait_for("round=2", 1, Duration::from_secs(180));
    agg.kill();
    let agg2 = c.aggregator();
    agg2.wait_for(
        "resuming a job from its journal",
        1,
        Duration::from_secs(60),
    );
    let j = c.finish(client);
    assert_eq!(j["verified"], true);
    assert_eq!(j["resumed"], 1, "{j}");
    // Nothing already journaled was asked for again.
    assert_eq!(j["resent_after_restart"], 0, "{j}");
    drop(workers);
}

/// Runs `tutti` expecting failure; returns stderr.
fn run_fails(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run tutti");
    assert!(!out.status.success(), "tutti {args:?} should have failed");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "tutti {args:?} panicked: {err}");
    err
}

#[test]
fn misconfigurations_are_refused_with_a_readable_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = Cluster::new(dir.path(), 2, 16, 1, 0);
    let agg = dir.path().join("aggregator.toml");
    let good = std::fs::read_to_string(&agg).expect("read");
    let worker = c.worker_configs[0].clone();
    let good_worker = std::fs::read_to_string(&worker).expect("read");
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "unknown setting",
            format!("{good}colour = \"blue\"\n"),
            &["colour"],
        ),
        (
            "bad worker id",
            good.replace("workers = [\"", "workers = [\"zz"),
            &["workers[0]", "64 hex digits", "tutti keygen"],
        ),
        (
            "missing certificate",
            good.replace("agg.cert.pem", "nowhere.pem"),
            &["nowhere.pem"],
        ),
        (
            "missing SRS",
            good.replace("srs.bin", "missing-srs.bin"),
            &["missing-srs.bin", "tutti setup"],
        ),
        (
            "bad erasure code",
            format!("{good}erasure = \"two\"\n"),
            &["erasure", "k+m"],
        ),
        (
            "strict share checks not a boolean",
            format!("{good}strict_share_checks = \"yes\"\n"),
            &["strict_share_checks"],
        ),
        ("not TOML", "listen = [".to_string(), &["aggregator.toml"]),
    ];
    for (what, text, needles) in cases {
        std::fs::write(&agg, text).expect("write");
        let err = run_fails(&["aggregator", "--config", &agg.to_string_lossy()]);
        for n in needles {
            assert!(err.contains(n), "{what}: {n:?} not in {err}");
        }
    }
    let missing = dir.path().join("absent.toml");
    let err = run_fails(&["aggregator", "--config", &missing.to_string_lossy()]);
    assert!(
        err.contains("absent.toml") && err.contains("--config"),
        "{err}"
    );

    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "bad fingerprint",
            good_worker.replace(&c.fingerprint, "abc"),
            &["aggregator_fingerprint", "keygen aggregator"],
        ),
        (
            "missing identity",
            good_worker.replace("worker0.key", "gone.key"),
            &["gone.key", "tutti keygen"],
        ),
        (
            "bad address",
            good_worker.replace(&c.addr, "not-an-address"),
            &["aggregator"],
        ),
    ];
    for (what, text, needles) in cases {
        std::fs::write(&worker, text).expect("write");
        let err = run_fails(&["worker", "--config", &worker.to_string_lossy()]);
        for n in needles {
            assert!(err.contains(n), "{what}: {n:?} not in {err}");
        }
    }
    // Keys are never overwritten silently.
    let key = dir.path().join("client.key");
    let err = run_fails(&["keygen", "identity", "--out", &key.to_string_lossy()]);
    assert!(err.contains("--force"), "{err}");
}
