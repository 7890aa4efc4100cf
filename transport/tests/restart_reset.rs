//! A restarted aggregator resets its predecessor's connections at once (spec/transport.md
//! §1): its stateless-reset key and its connection-ID generator are both derived from the
//! aggregator's key, so the new process recognises the old connection IDs and answers
//! their packets with a reset, and a worker reconnects without waiting for its silence
//! timeout.
//!
//! The old aggregator must vanish without a word, as a crashed process does: a UDP relay
//! between the worker and the aggregator drops every packet while the old aggregator
//! stops (its closing packets never reach the worker) and the new one binds the same
//! port, then relays again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::timeout;
use tutti_crypto::identity::WorkerIdentity;
use tutti_crypto::srs::InMemorySrs;
use tutti_transport::TransportError;
use tutti_transport::aggregator::{AggregatorNode, AggregatorSettings};
use tutti_transport::peer::PeerSettings;
use tutti_transport::store::Store;
use tutti_transport::tls::{AggregatorCredentials, QuicTuning};
use tutti_transport::worker::WorkerNode;

/// Silence a worker tolerates before it gives a connection up: far longer than the test
/// waits, so only a reset can make it reconnect in time.
const SILENCE: Duration = Duration::from_secs(60);

fn tuning() -> QuicTuning {
    QuicTuning {
        idle_timeout: SILENCE,
        keep_alive: Duration::from_millis(200),
        ..QuicTuning::default()
    }
}

/// A UDP relay from its own address to `upstream`, for one client, that drops every
/// datagram while `cut` is set.
async fn relay(upstream: SocketAddr, cut: Arc<AtomicBool>) -> SocketAddr {
    let front = UdpSocket::bind("127.0.0.1:0").await.expect("front");
    let back = UdpSocket::bind("127.0.0.1:0").await.expect("back");
    let addr = front.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut client: Option<SocketAddr> = None;
        let (mut a, mut b) = (vec![0u8; 65536], vec![0u8; 65536]);
        loop {
            tokio::select! {
                Ok((n, from)) = front.recv_from(&mut a) => {
                    client = Some(from);
                    if !cut.load(Ordering::SeqCst) {
                        let _ = back.send_to(&a[..n], upstream).await;
                    }
                }
                Ok((n, _)) = back.recv_from(&mut b) => {
                    if let (Some(c), false) = (client, cut.load(Ordering::SeqCst)) {
                        let _ = front.send_to(&b[..n], c).await;
                    }
                }
            }
        }
    });
    addr
}

type Running = (
    watch::Sender<bool>,
    tokio::task::JoinHandle<Result<(), TransportError>>,
);

/// Starts an aggregator on `listen`, retrying while the port (or the store) is still
/// held by a predecessor whose endpoint is draining its connections.
async fn start_aggregator(
    listen: SocketAddr,
    creds: &AggregatorCredentials,
    worker: &WorkerIdentity,
    store: &std::path::Path,
) -> (SocketAddr, Running) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match try_start(listen, creds, worker, store) {
            Ok(running) => return running,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!("not yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot start the aggregator again: {e}"),
        }
    }
}

fn try_start(
    listen: SocketAddr,
    creds: &AggregatorCredentials,
    worker: &WorkerIdentity,
    store: &std::path::Path,
) -> Result<(SocketAddr, Running), TransportError> {
    let settings = AggregatorSettings {
        listen,
        credentials: creds.clone(),
        workers: vec![worker.id()],
        clients: Vec::new(),
        store: Store::open(store)?,
        srs: Arc::new(InMemorySrs::insecure_from_seed(2, 16, b"restart").expect("srs")),
        spares: 0,
        replicas: 1,
        round_timeout: Duration::from_secs(30),
        reconnect_grace: Duration::from_secs(2),
        spare_wait: Duration::from_millis(200),
        tuning: tuning(),
        max_bulk: 1 << 24,
        erasure: None,
        strict_share_checks: false,
    };
    let node = AggregatorNode::bind(settings)?;
    let addr = node.local_addr()?;
    let (stop, mut rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        node.run(async move {
            let _ = rx.changed().await;
        })
        .await
    });
    Ok((addr, (stop, task)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_aggregator_resets_the_old_connections_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("agg.redb");
    let creds = AggregatorCredentials::generate().expect("creds");
    let worker_identity = WorkerIdentity::from_seed(&[7; 32]);
    let (addr, (stop, task)) = start_aggregator(
        "127.0.0.1:0".parse().expect("addr"),
        &creds,
        &worker_identity,
        &store,
    )
    .await;
    let cut = Arc::new(AtomicBool::new(false));
    let front = relay(addr, cut.clone()).await;
    let worker = WorkerNode::new(
        PeerSettings {
            aggregator: front,
            fingerprint: creds.fingerprint(),
            identity: worker_identity.clone(),
            tuning: tuning(),
            retry: Duration::from_millis(100),
        },
        1 << 24,
    );
    let stats = worker.stats();
    let (worker_stop, mut worker_rx) = watch::channel(false);
    let worker_task = tokio::spawn(async move {
        worker
            .run(async move {
                let _ = worker_rx.changed().await;
            })
            .await
    });
    let sessions = || stats.lock().map(|s| s.sessions).unwrap_or(0);
    let wait_for = |n: u32, patience: Duration| async move {
        timeout(patience, async {
            while sessions() < n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
    };
    wait_for(1, Duration::from_secs(10))
        .await
        .expect("the worker connects");

    // The old aggregator vanishes: nothing it says on the way out reaches the worker.
    cut.store(true, Ordering::SeqCst);
    let _ = stop.send(true);
    task.await.expect("join").expect("the old aggregator stops");
    let (again, (stop, task)) = start_aggregator(addr, &creds, &worker_identity, &store).await;
    assert_eq!(
        again, addr,
        "the new aggregator listens where the old one did"
    );
    cut.store(false, Ordering::SeqCst);
    let healed = Instant::now();

    // The worker's next keep-alive reaches the new process, which answers with a reset;
    // the worker reconnects within its retry delay, long before its 60 s of silence.
    wait_for(2, Duration::from_secs(20))
        .await
        .expect("the worker reconnects to the new aggregator without waiting for silence");
    println!(
        "worker reconnected {:?} after the restarted aggregator became reachable",
        healed.elapsed()
    );

    let _ = worker_stop.send(true);
    let _ = stop.send(true);
    worker_task.await.expect("join").expect("the worker stops");
    task.await.expect("join").expect("the new aggregator stops");
}
