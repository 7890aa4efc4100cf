//! The UDP fault proxy: a UDP echo server behind it, then a real QUIC connection (the
//! transport crate's pinned-certificate endpoints) through it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};
use tutti_chaos::proxy::{FaultProxy, NetFaults};
use tutti_transport::tls::{
    AggregatorCredentials, QuicTuning, SERVER_NAME, client_endpoint, server_endpoint,
};

/// A UDP echo server that also records what it received and from where.
struct Echo {
    addr: SocketAddr,
    socket: Arc<UdpSocket>,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    last_peer: Arc<Mutex<Option<SocketAddr>>>,
    task: JoinHandle<()>,
}

impl Echo {
    async fn start() -> Echo {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind echo"));
        let addr = socket.local_addr().expect("echo addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let last_peer = Arc::new(Mutex::new(None));
        let (log, peer, s) = (received.clone(), last_peer.clone(), socket.clone());
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok((n, from)) = s.recv_from(&mut buf).await {
                log.lock().expect("echo log").push(buf[..n].to_vec());
                *peer.lock().expect("echo peer") = Some(from);
                let _ = s.send_to(&buf[..n], from).await;
            }
        });
        Echo {
            addr,
            socket,
            received,
            last_peer,
            task,
        }
    }

    fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().expect("echo log").clone()
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.expect("bind client")
}

/// Everything that arrives on `socket` until `quiet` passes with nothing new.
async fn collect(socket: &UdpSocket, quiet: Duration) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok(Ok((n, _))) = timeout(quiet, socket.recv_from(&mut buf)).await {
        got.push(buf[..n].to_vec());
    }
    got
}

fn payload(i: u32) -> Vec<u8> {
    let mut p = b"datagram-".to_vec();
    p.extend_from_slice(&i.to_be_bytes());
    p.extend(std::iter::repeat_n(0xa5u8, 100));
    p
}

/// Sends `count` numbered datagrams through `proxy`, a little apart.
async fn send_many(socket: &UdpSocket, proxy: &FaultProxy, count: u32) {
    for i in 0..count {
        socket
            .send_to(&payload(i), proxy.addr())
            .await
            .expect("send");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn without_faults_everything_comes_back() {
    let echo = Echo::start().await;
    let proxy = FaultProxy::start(echo.addr, NetFaults::default(), 1)
        .await
        .expect("proxy");
    let c = client().await;
    send_many(&c, &proxy, 100).await;
    let mut got = collect(&c, Duration::from_millis(300)).await;
    got.sort();
    let mut want: Vec<Vec<u8>> = (0..100).map(payload).collect();
    want.sort();
    assert_eq!(got, want);
    let s = proxy.stats();
    assert_eq!(s.forwarded, 200, "{s:?}");
    assert_eq!(
        (s.dropped, s.duplicated, s.corrupted, s.delayed),
        (0, 0, 0, 0)
    );
    proxy.stop();
}

#[tokio::test]
async fn several_clients_share_one_proxy() {
    let echo = Echo::start().await;
    let proxy = FaultProxy::start(echo.addr, NetFaults::default(), 2)
        .await
        .expect("proxy");
    let a = client().await;
    let b = client().await;
    a.send_to(b"from a", proxy.addr()).await.expect("send a");
    b.send_to(b"from b", proxy.addr()).await.expect("send b");
    assert_eq!(
        collect(&a, Duration::from_millis(200)).await,
        vec![b"from a".to_vec()]
    );
    assert_eq!(
        collect(&b, Duration::from_millis(200)).await,
        vec![b"from b".to_vec()]
    );
}

#[tokio::test]
async fn dropping_everything_lets_nothing_through() {
    let echo = Echo::start().await;
    let faults = NetFaults {
        drop: 1.0,
        ..NetFaults::default()
    };
    let proxy = FaultProxy::start(echo.addr, faults, 3)
        .await
        .expect("proxy");
    let c = client().await;
    send_many(&c, &proxy, 20).await;
    assert!(collect(&c, Duration::from_millis(300)).await.is_empty());
    assert!(echo.received().is_empty());
    assert_eq!(proxy.stats().dropped, 20);
    assert_eq!(proxy.stats().forwarded, 0);
}

#[tokio::test]
async fn a_partition_cuts_both_ways_and_heals() {
    let echo = Echo::start().await;
    let proxy = FaultProxy::start(echo.addr, NetFaults::default(), 4)
        .await
        .expect("proxy");
    let c = client().await;
    c.send_to(b"before", proxy.addr()).await.expect("send");
    assert_eq!(collect(&c, Duration::from_millis(200)).await.len(), 1);

    proxy.partition(true);
    send_many(&c, &proxy, 10).await;
    assert!(collect(&c, Duration::from_millis(300)).await.is_empty());
    assert_eq!(echo.received().len(), 1, "nothing reaches the target");

    // The other way is cut too: the target's datagrams to the proxy's backend socket
    // (the client's stand-in) do not reach the client.
    let backend = echo.last_peer.lock().expect("peer").expect("a peer");
    for _ in 0..5 {
        echo.socket.send_to(b"pushed", backend).await.expect("push");
    }
    assert!(collect(&c, Duration::from_millis(300)).await.is_empty());

    proxy.partition(false);
    c.send_to(b"after", proxy.addr()).await.expect("send");
    assert_eq!(
        collect(&c, Duration::from_millis(300)).await,
        vec![b"after".to_vec()]
    );
    assert_eq!(proxy.stats().dropped, 15);
}

#[tokio::test]
async fn corruption_changes_bytes() {
    let echo = Echo::start().await;
    let faults = NetFaults {
        corrupt: 1.0,
        ..NetFaults::default()
    };
    let proxy = FaultProxy::start(echo.addr, faults, 5)
        .await
        .expect("proxy");
    let c = client().await;
    send_many(&c, &proxy, 20).await;
    let back = collect(&c, Duration::from_millis(300)).await;
    assert_eq!(back.len(), 20);
    let sent: Vec<Vec<u8>> = (0..20).map(payload).collect();
    let at_target = echo.received();
    assert_eq!(at_target.len(), 20);
    for got in &at_target {
        assert_eq!(got.len(), sent[0].len(), "corruption keeps the length");
        assert!(!sent.contains(got), "a datagram arrived unchanged");
    }
    for got in &back {
        assert!(!sent.contains(got), "a datagram came back unchanged");
    }
    assert_eq!(proxy.stats().corrupted, 40);
}

#[tokio::test]
async fn duplication_doubles_each_way() {
    let echo = Echo::start().await;
    let faults = NetFaults {
        duplicate: 1.0,
        ..NetFaults::default()
    };
    let proxy = FaultProxy::start(echo.addr, faults, 6)
        .await
        .expect("proxy");
    let c = client().await;
    send_many(&c, &proxy, 10).await;
    let back = collect(&c, Duration::from_millis(300)).await;
    // Each datagram reaches the target twice; each of the 20 replies comes back twice.
    assert_eq!(echo.received().len(), 20);
    assert_eq!(back.len(), 40);
    for i in 0..10 {
        assert_eq!(back.iter().filter(|b| **b == payload(i)).count(), 4);
    }
    let s = proxy.stats();
    assert_eq!((s.duplicated, s.forwarded), (30, 60), "{s:?}");
}

#[tokio::test]
async fn delay_and_reordering_hold_datagrams_back() {
    let echo = Echo::start().await;
    let faults = NetFaults {
        delay_ms: (30, 30),
        ..NetFaults::default()
    };
    let proxy = FaultProxy::start(echo.addr, faults, 7)
        .await
        .expect("proxy");
    let c = client().await;
    let t0 = Instant::now();
    c.send_to(b"slow", proxy.addr()).await.expect("send");
    let mut buf = [0u8; 64];
    let (n, _) = timeout(Duration::from_secs(2), c.recv_from(&mut buf))
        .await
        .expect("in time")
        .expect("recv");
    assert_eq!(&buf[..n], b"slow");
    assert!(
        t0.elapsed() >= Duration::from_millis(60),
        "{:?}",
        t0.elapsed()
    );

    proxy.set_faults(NetFaults {
        reorder: 0.5,
        ..NetFaults::default()
    });
    send_many(&c, &proxy, 50).await;
    let back = collect(&c, Duration::from_millis(300)).await;
    assert_eq!(back.len(), 50, "reordering loses nothing");
    let order: Vec<Vec<u8>> = (0..50).map(payload).collect();
    assert_ne!(back, order, "nothing was reordered");
    let s = proxy.stats();
    assert!(s.reordered > 0 && s.delayed >= s.reordered, "{s:?}");
}

#[tokio::test]
async fn the_same_seed_makes_the_same_choices() {
    async fn run(seed: u64) -> Vec<Vec<u8>> {
        let echo = Echo::start().await;
        let faults = NetFaults {
            drop: 0.3,
            corrupt: 0.3,
            ..NetFaults::default()
        };
        let proxy = FaultProxy::start(echo.addr, faults, seed)
            .await
            .expect("proxy");
        let c = client().await;
        send_many(&c, &proxy, 40).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        echo.received()
    }
    let a = run(11).await;
    assert_eq!(a, run(11).await);
    assert_ne!(a, run(12).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_works_through_a_lossy_proxy() {
    let creds = AggregatorCredentials::generate().expect("credentials");
    let tuning = QuicTuning {
        idle_timeout: Duration::from_secs(10),
        keep_alive: Duration::from_millis(500),
        max_uni_streams: 16,
    };
    let server = server_endpoint("127.0.0.1:0".parse().expect("addr"), &creds, &tuning)
        .expect("server endpoint");
    let server_addr = server.local_addr().expect("server addr");
    // Echoes every bidirectional stream of every connection.
    let server_task = tokio::spawn(async move {
        while let Some(incoming) = server.accept().await {
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                while let Ok((mut send, mut recv)) = conn.accept_bi().await {
                    tokio::spawn(async move {
                        let Ok(data) = recv.read_to_end(1 << 24).await else {
                            return;
                        };
                        if send.write_all(&data).await.is_ok() {
                            let _ = send.finish();
                        }
                        let _ = send.stopped().await;
                    });
                }
            });
        }
    });

    let faults = NetFaults {
        drop: 0.05,
        duplicate: 0.05,
        corrupt: 0.02,
        reorder: 0.05,
        delay_ms: (0, 10),
    };
    let proxy = FaultProxy::start(server_addr, faults, 8)
        .await
        .expect("proxy");
    let client = client_endpoint(proxy.addr(), creds.fingerprint(), &tuning).expect("client");
    let exchange = async {
        let conn = client
            .connect(proxy.addr(), SERVER_NAME)
            .expect("connect")
            .await
            .expect("handshake through the proxy");
        for round in 0..3u32 {
            let data: Vec<u8> = (0..64_000u32)
                .map(|i| (i.wrapping_mul(31) ^ round) as u8)
                .collect();
            let (mut send, mut recv) = conn.open_bi().await.expect("open stream");
            send.write_all(&data).await.expect("write");
            send.finish().expect("finish");
            let back = recv.read_to_end(1 << 24).await.expect("read back");
            assert_eq!(back, data, "round {round}: the echo differs");
        }
        conn.close(0u32.into(), b"done");
    };
    timeout(Duration::from_secs(60), exchange)
        .await
        .expect("the exchange took too long");
    let s = proxy.stats();
    assert!(
        s.dropped > 0 && s.duplicated > 0 && s.corrupted > 0 && s.delayed > 0,
        "the faults were not exercised: {s:?}"
    );
    proxy.stop();
    server_task.abort();
}
