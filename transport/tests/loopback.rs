//! Aggregator, workers and a client over real QUIC sockets on loopback, in one process.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tutti_crypto::erasure::ErasureParams;
use tutti_crypto::identity::WorkerIdentity;
use tutti_crypto::srs::InMemorySrs;
use tutti_protocol::blame::{BlameCertificate, Offence};
use tutti_protocol::circuits::{BuiltinCircuit, CircuitRef};
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::layout::{Shape, ShardedCircuit};
use tutti_protocol::proof::Proof;
use tutti_protocol::verifier::verify;
use tutti_transport::TransportError;
use tutti_transport::aggregator::{AggregatorNode, AggregatorSettings};
use tutti_transport::client::submit_job;
use tutti_transport::peer::PeerSettings;
use tutti_transport::store::Store;
use tutti_transport::tls::{AggregatorCredentials, QuicTuning};
use tutti_transport::wire::{JobOutcome, JobStats, Submission};
use tutti_transport::worker::{WorkerNode, WorkerStats};

fn identity(k: u8) -> WorkerIdentity {
    WorkerIdentity::from_seed(&[k; 32])
}

fn submission(circuit: CircuitRef) -> Submission {
    let (c, w, _) = circuit.build().expect("circuit");
    let sharded = ShardedCircuit::new(&c, circuit.shape).expect("shard");
    Submission {
        circuit: circuit.into(),
        public_inputs: w.public_inputs(&c),
        witnesses: sharded.shard_witnesses(&w),
    }
}

struct Cluster {
    _dir: tempfile::TempDir,
    peer: Box<dyn Fn(WorkerIdentity) -> PeerSettings + Send>,
    stop: tokio::sync::watch::Sender<bool>,
    aggregator: JoinHandle<Result<(), TransportError>>,
    workers: Vec<(WorkerIdentity, JoinHandle<Result<(), TransportError>>)>,
    stats: Vec<Arc<Mutex<WorkerStats>>>,
}

/// What a test cluster differs in.
#[derive(Default)]
struct Options {
    erasure: Option<ErasureParams>,
    /// Workers that hand out corrupted fragments.
    corrupting: Vec<usize>,
    /// A worker whose packets pass through a relay the test can block.
    relayed: Option<(usize, Arc<AtomicBool>)>,
    /// How long a disconnected worker has to come back.
    grace: Option<Duration>,
}

/// A UDP relay in front of `target` for one client at a time; while `blocked` is set,
/// every packet in either direction is dropped (a network blip).
async fn relay(target: SocketAddr, blocked: Arc<AtomicBool>) -> SocketAddr {
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    back.connect(target).await.expect("connect");
    let addr = front.local_addr().expect("addr");
    let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
    let (f, b, c, blk) = (front.clone(), back.clone(), client.clone(), blocked.clone());
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = f.recv_from(&mut buf).await {
            *c.lock().expect("client") = Some(from);
            if !blk.load(Ordering::SeqCst) {
                let _ = b.send(&buf[..n]).await;
            }
        }
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = back.recv(&mut buf).await {
            let to = *client.lock().expect("client");
            if let (Some(to), false) = (to, blocked.load(Ordering::SeqCst)) {
                let _ = front.send_to(&buf[..n], to).await;
            }
        }
    });
    addr
}

/// Starts an aggregator and `n` workers, one after another (so worker k is the k-th to
/// connect: the first M hold shards 0..M, the rest are spares).
async fn cluster(shape: Shape, n: usize, spares: usize, options: Options) -> Cluster {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    let srs =
        InMemorySrs::insecure_from_seed(shape.shards, shape.shard_gates, b"loopback").expect("srs");
    let creds = AggregatorCredentials::generate().expect("creds");
    let tuning = QuicTuning {
        idle_timeout: Duration::from_millis(1000),
        keep_alive: Duration::from_millis(200),
        ..QuicTuning::default()
    };
    let ids: Vec<WorkerIdentity> = (1..=n as u8).map(identity).collect();
    let settings = AggregatorSettings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        credentials: creds.clone(),
        workers: ids.iter().map(|w| w.id()).collect(),
        clients: vec![identity(99).id()],
        store: Store::open(&dir.path().join("agg.redb")).expect("store"),
        srs: Arc::new(srs),
        spares,
        replicas: 1,
        round_timeout: Duration::from_secs(30),
        reconnect_grace: options.grace.unwrap_or(Duration::from_millis(300)),
        spare_wait: Duration::from_millis(300),
        tuning: tuning.clone(),
        max_bulk: 1 << 28,
        erasure: options.erasure,
        strict_share_checks: false,
    };
    let node = AggregatorNode::bind(settings).expect("bind");
    let addr = node.local_addr().expect("addr");
    let (stop, _) = tokio::sync::watch::channel(false);
    let stopped = |stop: &tokio::sync::watch::Sender<bool>| {
        let mut rx = stop.subscribe();
        async move {
            let _ = rx.changed().await;
        }
    };
    let aggregator = tokio::spawn(node.run(stopped(&stop)));
    let fingerprint = creds.fingerprint();
    let peer = move |identity: WorkerIdentity| PeerSettings {
        aggregator: addr,
        fingerprint,
        identity,
        tuning: tuning.clone(),
        retry: Duration::from_millis(100),
    };
    let mut workers = Vec::new();
    let mut stats = Vec::new();
    for (k, w) in ids.into_iter().enumerate() {
        let mut settings = peer(w.clone());
        if let Some((_, blocked)) = options.relayed.as_ref().filter(|(r, _)| *r == k) {
            settings.aggregator = relay(addr, blocked.clone()).await;
        }
        let mut node = WorkerNode::new(settings, 1 << 28);
        if options.corrupting.contains(&k) {
            node = node.corrupting_fragments();
        }
        let s = node.stats();
        stats.push(s.clone());
        let stop_rx = stopped(&stop);
        workers.push((w, tokio::spawn(async move { node.run(stop_rx).await })));
        while s.lock().map(|s| s.sessions).unwrap_or(0) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Cluster {
        _dir: dir,
        peer: Box::new(peer),
        stop,
        aggregator,
        workers,
        stats,
    }
}

impl Cluster {
    async fn prove(&self, sub: &Submission) -> (Vec<u8>, JobStats) {
        let (_, outcome) = submit_job(
            &(self.peer)(identity(99)),
            sub,
            Duration::from_secs(120),
            |_| {},
        )
        .await
        .expect("submit");
        let JobOutcome::Proved {
            proof,
            vk,
            public_inputs,
            stats,
        } = outcome
        else {
            panic!("job failed: {outcome:?}");
        };
        let vk_decoded = VerifyingKey::from_bytes(&vk).expect("vk");
        let proof = Proof::from_bytes(&proof).expect("proof");
        verify(&vk_decoded, &public_inputs, &proof).expect("the proof verifies");
        assert_eq!(public_inputs, sub.public_inputs);
        (vk, stats)
    }

    async fn shut_down(self) {
        let _ = self.stop.send(true);
        self.aggregator.await.expect("join").expect("aggregator");
        for (_, h) in self.workers {
            if let Ok(r) = h.await {
                r.expect("worker");
            }
        }
    }
}

fn random(shards: usize, rows: usize, seed: u64) -> Submission {
    submission(CircuitRef {
        kind: BuiltinCircuit::Random,
        shape: Shape::new(shards, rows).expect("shape"),
        seed,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_prove_over_quic() {
    let sub = random(4, 64, 7);
    let c = cluster(sub.circuit.shape(), 5, 1, Options::default()).await;
    let (_, stats) = c.prove(&sub).await;
    assert_eq!(stats.traffic.len(), 5);
    assert!(
        stats
            .traffic
            .iter()
            .take(4)
            .all(|t| t.sent > 0 && t.inputs > 0)
    );
    assert_eq!(stats.traffic[4].sent, 0, "the spare had nothing to do");
    assert!(stats.blamed.is_empty());
    // Every worker counted the same protocol bytes as the aggregator did.
    for (k, t) in stats.traffic.iter().take(4).enumerate() {
        let mine = c.stats[k]
            .lock()
            .expect("stats")
            .jobs
            .values()
            .next()
            .cloned();
        let mine = mine.expect("counters");
        assert_eq!((mine.sent, mine.received), (t.sent, t.received));
    }
    c.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_rebuilds_its_inputs_from_fragments_and_a_corrupt_holder_is_blamed() {
    // Six workers (four shards, two spares), inputs coded 2+1: shard s's fragments are
    // kept by workers s+1, s+2, s+3 (mod 6). Worker 0 dies while proving shard 0; its
    // fragments sit with workers 1 (who corrupts what it hands out), 2 and 3.
    let sub = random(4, 256, 11);
    let params = ErasureParams::new(2, 1).expect("params");
    let options = Options {
        erasure: Some(params),
        corrupting: vec![1],
        ..Options::default()
    };
    let mut c = cluster(sub.circuit.shape(), 6, 2, options).await;
    let corrupt = c.workers[1].0.id();
    let (dead, dead_task) = c.workers.remove(0);
    let dead_stats = c.stats.remove(0);
    let prove = c.prove(&sub);
    let kill = async {
        // Wait until worker 0 proves its shard, then drop it mid-job.
        loop {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let proving = dead_stats
                .lock()
                .map(|s| s.jobs.values().any(|j| j.prepare_nanos > 0))
                .unwrap_or(false);
            if proving {
                break;
            }
        }
        dead_task.abort();
    };
    let ((vk, stats), ()) = tokio::join!(prove, kill);
    assert!(stats.reassigned >= 1, "{stats:?}");
    assert_eq!(
        stats.blamed,
        vec![corrupt],
        "only the corrupting holder is blamed"
    );
    assert_ne!(stats.blamed[0], dead.id());
    let vk = VerifyingKey::from_bytes(&vk).expect("vk");
    for bytes in &stats.certificates {
        let cert = BlameCertificate::from_bytes(bytes).expect("certificate");
        assert!(matches!(cert.offence, Offence::CorruptFragment { .. }));
        cert.verify(&vk).expect("the certificate verifies offline");
    }
    c.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_back_from_a_network_blip_keeps_its_shard() {
    // Worker 2 talks through a relay that goes dark for 2.5 s mid-job: both ends time the
    // connection out (1 s idle), the worker reconnects within the 6 s grace, reports the
    // shard it holds and is asked again for the open round; nothing moves to the spare.
    let sub = random(4, 1024, 13);
    let blocked = Arc::new(AtomicBool::new(false));
    let options = Options {
        relayed: Some((2, blocked.clone())),
        grace: Some(Duration::from_secs(6)),
        ..Options::default()
    };
    let c = cluster(sub.circuit.shape(), 5, 1, options).await;
    let relayed = c.stats[2].clone();
    let prove = c.prove(&sub);
    let blip = async {
        loop {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let proving = relayed
                .lock()
                .map(|s| s.jobs.values().any(|j| j.prepare_nanos > 0))
                .unwrap_or(false);
            if proving {
                break;
            }
        }
        blocked.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        blocked.store(false, Ordering::SeqCst);
    };
    let ((_, stats), ()) = tokio::join!(prove, blip);
    assert_eq!(stats.reassigned, 0, "{stats:?}");
    assert!(stats.blamed.is_empty());
    // The job waited for the blip: worker 2's round-1 message could not get through.
    assert!(stats.wall_nanos >= 2_000_000_000, "{stats:?}");
    let sessions = relayed.lock().map(|s| s.sessions).unwrap_or(0);
    assert!(
        sessions >= 2,
        "the relayed worker reconnected ({sessions} sessions)"
    );
    c.shut_down().await;
}
