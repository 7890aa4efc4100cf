//! Hostile peers against a real aggregator over loopback QUIC, in one process.
//!
//! Every network test starts an aggregator with five honest workers (four shards and a
//! spare), runs a real job (random circuit, 4 shards × 64 rows) while a hostile peer does
//! one thing, and checks both sides: the hostile peer is turned away (seen from the
//! hostile side: a refusal, a failed handshake or a closed connection with its reason),
//! and the job still completes with a proof that verifies and no honest worker blamed.
//!
//! Property tests of the framing and the payload decoders are in `wire_properties.rs`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tutti_crypto::Fr;
use tutti_crypto::identity::{WorkerId, WorkerIdentity};
use tutti_crypto::srs::InMemorySrs;
use tutti_protocol::ProtocolError;
use tutti_protocol::circuits::{BuiltinCircuit, CircuitRef};
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::layout::{Shape, ShardWitness, ShardedCircuit};
use tutti_protocol::proof::Proof;
use tutti_protocol::verifier::verify;
use tutti_transport::TransportError;
use tutti_transport::aggregator::{AggregatorNode, AggregatorSettings};
use tutti_transport::client::submit_job;
use tutti_transport::frame::{
    FRAME_VERSION, Frame, FrameType, HEADER_BYTES, check_header, read_frame, send_bulk, write_frame,
};
use tutti_transport::peer::{PeerSettings, Session, SessionError, open_session};
use tutti_transport::store::Store;
use tutti_transport::tls::{
    self, AggregatorCredentials, Fingerprint, PeerRole, QuicTuning, SERVER_NAME,
};
use tutti_transport::wire::{
    Hello, JobOutcome, JobStats, Submission, job_id_from_bytes, parse_outcome_frame,
};
use tutti_transport::worker::WorkerNode;

// ---------------------------------------------------------------------------------------
// Setup.
// ---------------------------------------------------------------------------------------

const SHARDS: usize = 4;
const ROWS: usize = 64;
/// Largest bulk frame the aggregator takes (a submission of this shape is ~25 kB).
const MAX_BULK: usize = 1 << 24;
/// The honest workers (identity seeds).
const HONEST: [u8; 5] = [1, 2, 3, 4, 5];
/// The honest client.
const CLIENT: u8 = 99;
/// A worker on the allow-list that misbehaves.
const ROGUE_WORKER: u8 = 50;
/// A client on the allow-list that misbehaves.
const ROGUE_CLIENT: u8 = 98;
/// An identity on no list.
const STRANGER: u8 = 66;
/// 100 MB: what the hostile peers announce.
const HUGE: u32 = 100_000_000;
/// How long a hostile peer waits for the aggregator to react.
const REACTION: Duration = Duration::from_secs(5);

fn identity(k: u8) -> WorkerIdentity {
    WorkerIdentity::from_seed(&[k; 32])
}

fn tuning() -> QuicTuning {
    QuicTuning {
        idle_timeout: Duration::from_secs(3),
        keep_alive: Duration::from_millis(500),
        ..QuicTuning::default()
    }
}

fn circuit() -> CircuitRef {
    CircuitRef {
        kind: BuiltinCircuit::Random,
        shape: Shape::new(SHARDS, ROWS).expect("shape"),
        seed: 7,
    }
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

/// An aggregator with its five honest workers connected.
struct Net {
    addr: SocketAddr,
    creds: AggregatorCredentials,
    stop: watch::Sender<bool>,
    aggregator: JoinHandle<Result<(), TransportError>>,
    workers: Vec<JoinHandle<Result<(), TransportError>>>,
    _dir: tempfile::TempDir,
}

impl Net {
    async fn start(srs_seed: &[u8]) -> Net {
        let dir = tempfile::tempdir().expect("tempdir");
        let srs = InMemorySrs::insecure_from_seed(SHARDS, ROWS, srs_seed).expect("srs");
        let creds = AggregatorCredentials::generate().expect("creds");
        let settings = AggregatorSettings {
            listen: "127.0.0.1:0".parse().expect("addr"),
            credentials: creds.clone(),
            workers: HONEST
                .iter()
                .chain(&[ROGUE_WORKER])
                .map(|k| identity(*k).id())
                .collect(),
            clients: vec![identity(CLIENT).id(), identity(ROGUE_CLIENT).id()],
            store: Store::open(&dir.path().join("agg.redb")).expect("store"),
            srs: Arc::new(srs),
            spares: 1,
            replicas: 1,
            round_timeout: Duration::from_secs(30),
            reconnect_grace: Duration::from_secs(2),
            spare_wait: Duration::from_millis(200),
            tuning: tuning(),
            max_bulk: MAX_BULK,
            erasure: None,
            strict_share_checks: false,
        };
        let node = AggregatorNode::bind(settings).expect("bind");
        let addr = node.local_addr().expect("addr");
        let (stop, stop_rx) = watch::channel(false);
        let aggregator = tokio::spawn(async move {
            let mut rx = stop_rx;
            node.run(async move {
                let _ = rx.changed().await;
            })
            .await
        });
        let mut net = Net {
            addr,
            creds,
            stop,
            aggregator,
            workers: Vec::new(),
            _dir: dir,
        };
        let mut stats = Vec::new();
        for k in HONEST {
            let node = WorkerNode::new(net.peer(k), MAX_BULK);
            stats.push(node.stats());
            let mut rx = net.stop.subscribe();
            net.workers.push(tokio::spawn(async move {
                node.run(async move {
                    let _ = rx.changed().await;
                })
                .await
            }));
        }
        // The honest workers connect first, so they are the ones a job picks.
        timeout(Duration::from_secs(10), async {
            while !stats
                .iter()
                .all(|s| s.lock().map(|s| s.sessions > 0).unwrap_or(false))
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the honest workers connect");
        net
    }

    fn peer(&self, who: u8) -> PeerSettings {
        self.peer_pinned(who, self.creds.fingerprint(), self.addr)
    }

    fn peer_pinned(&self, who: u8, fingerprint: Fingerprint, at: SocketAddr) -> PeerSettings {
        PeerSettings {
            aggregator: at,
            fingerprint,
            identity: identity(who),
            tuning: tuning(),
            retry: Duration::from_millis(100),
        }
    }

    /// The honest client's job: proved, verified, nobody blamed, only honest workers.
    async fn prove(&self) -> JobStats {
        let sub = submission(circuit());
        let (_, outcome) = submit_job(&self.peer(CLIENT), &sub, Duration::from_secs(30), |_| {})
            .await
            .expect("the honest job is submitted");
        let stats = check_proved(outcome, &sub);
        let honest: HashSet<WorkerId> = HONEST.iter().map(|k| identity(*k).id()).collect();
        let used: HashSet<WorkerId> = stats.traffic.iter().map(|t| t.worker).collect();
        assert_eq!(used, honest, "the job ran on the honest workers only");
        assert_eq!(stats.reassigned, 0, "no shard changed hands: {stats:?}");
        stats
    }

    /// Stops everything; every node must end cleanly.
    async fn stop(self) {
        let _ = self.stop.send(true);
        self.aggregator
            .await
            .expect("join")
            .expect("the aggregator ends cleanly");
        for w in self.workers {
            w.await
                .expect("join")
                .expect("an honest worker ends cleanly");
        }
    }
}

/// Checks that `outcome` is a proof of `sub` that verifies, with nobody blamed.
fn check_proved(outcome: JobOutcome, sub: &Submission) -> JobStats {
    let JobOutcome::Proved {
        proof,
        vk,
        public_inputs,
        stats,
    } = outcome
    else {
        panic!("the job failed: {outcome:?}");
    };
    let vk = VerifyingKey::from_bytes(&vk).expect("vk");
    let proof = Proof::from_bytes(&proof).expect("proof");
    verify(&vk, &public_inputs, &proof).expect("the proof verifies");
    assert_eq!(public_inputs, sub.public_inputs);
    assert!(
        stats.blamed.is_empty(),
        "honest workers were blamed: {:?}",
        stats.blamed
    );
    stats
}

/// A frame header as raw bytes.
fn header(kind: FrameType, len: u32) -> [u8; HEADER_BYTES] {
    let mut h = [0u8; HEADER_BYTES];
    h[0] = FRAME_VERSION;
    h[1] = kind as u8;
    h[2..].copy_from_slice(&len.to_be_bytes());
    h
}

/// A QUIC connection to the aggregator (pinned correctly) that has said nothing yet.
async fn raw_connect(net: &Net) -> (quinn::Endpoint, quinn::Connection) {
    let endpoint =
        tls::client_endpoint(net.addr, net.creds.fingerprint(), &tuning()).expect("endpoint");
    let conn = endpoint
        .connect(net.addr, SERVER_NAME)
        .expect("connect")
        .await
        .expect("QUIC handshake");
    (endpoint, conn)
}

/// A hand-made session: the hello done properly, the welcome received.
struct Raw {
    _endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
}

/// Says a proper hello as `who` in `role`; returns the connection and the answer.
async fn raw_hello(net: &Net, who: u8, role: PeerRole) -> (Raw, Frame) {
    let (endpoint, conn) = raw_connect(net).await;
    let (mut send, mut recv) = conn.open_bi().await.expect("control stream");
    let binding = tls::session_binding(&conn).expect("binding");
    let me = identity(who);
    let hello = Hello {
        role,
        id: me.id(),
        signature: tls::prove_identity(&me, role, &binding),
        held: Vec::new(),
    };
    write_frame(&mut send, &Frame::new(FrameType::Hello, hello.to_bytes()))
        .await
        .expect("hello");
    let answer = timeout(
        REACTION,
        read_frame(&mut recv, &[FrameType::Welcome, FrameType::Goodbye], 0),
    )
    .await
    .expect("an answer to the hello")
    .expect("a frame")
    .expect("the stream is open");
    let raw = Raw {
        _endpoint: endpoint,
        conn,
        send,
        recv,
    };
    (raw, answer)
}

/// A hand-made session of an allowed peer.
async fn raw_session(net: &Net, who: u8, role: PeerRole) -> Raw {
    let (raw, answer) = raw_hello(net, who, role).await;
    assert_eq!(
        answer.kind,
        FrameType::Welcome,
        "refused: {}",
        String::from_utf8_lossy(&answer.payload)
    );
    raw
}

/// Waits for the aggregator to close `conn`; returns its error code and reason.
async fn closed_by_aggregator(conn: &quinn::Connection) -> (u64, String) {
    let e = timeout(REACTION, conn.closed())
        .await
        .expect("the aggregator did not close the connection");
    match e {
        quinn::ConnectionError::ApplicationClosed(c) => (
            c.error_code.into_inner(),
            String::from_utf8_lossy(&c.reason).into_owned(),
        ),
        other => panic!("expected the aggregator to close the connection, got: {other}"),
    }
}

/// `len` random bytes whose first six are not a header `check_header` accepts (for any
/// frame type), so the aggregator cannot wait for a payload that never comes.
fn garbage(len: usize) -> Vec<u8> {
    let allowed: Vec<FrameType> = (0..=u8::MAX).filter_map(FrameType::from_u8).collect();
    let mut rng = rand::thread_rng();
    let mut bytes = vec![0u8; len.max(HEADER_BYTES)];
    loop {
        rng.fill_bytes(&mut bytes);
        let mut h = [0u8; HEADER_BYTES];
        h.copy_from_slice(&bytes[..HEADER_BYTES]);
        if check_header(&h, &allowed, MAX_BULK).is_err() {
            return bytes;
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1. Identities not on the allow-list.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlisted_identities_are_refused() {
    let net = Net::start(b"hostile/unlisted").await;
    let hostile = async {
        // A worker on no list; a client's key as a worker; a worker's key as a client; a
        // stranger as a client. Each is told it is not on the allow-list.
        for (who, role) in [
            (STRANGER, PeerRole::Worker),
            (CLIENT, PeerRole::Worker),
            (HONEST[0], PeerRole::Client),
            (STRANGER, PeerRole::Client),
        ] {
            match open_session(&net.peer(who), role, Vec::new()).await {
                Err(SessionError::Refused(why)) => {
                    assert!(why.contains("allow-list"), "unclear refusal: {why}");
                    assert!(
                        why.contains(&identity(who).id().to_string()),
                        "the refusal does not name the identity: {why}"
                    );
                    assert!(
                        why.contains(&format!("{role:?}")),
                        "the refusal does not name the role: {why}"
                    );
                }
                Err(SessionError::Failed(e)) => {
                    panic!("{role:?} {who}: failed instead of being refused: {e}")
                }
                Ok(_) => panic!("{role:?} {who} was welcomed"),
            }
        }
        // On the wire: a goodbye naming the allow-list, then the connection closed.
        let (raw, answer) = raw_hello(&net, STRANGER, PeerRole::Worker).await;
        let goodbye = String::from_utf8_lossy(&answer.payload).into_owned();
        assert_eq!(answer.kind, FrameType::Goodbye, "{goodbye}");
        assert!(goodbye.contains("allow-list"), "unclear goodbye: {goodbye}");
        let (code, why) = closed_by_aggregator(&raw.conn).await;
        assert_eq!(code, 1, "{why}");
        assert!(why.contains("allow-list"), "unclear reason: {why}");
        // The worker runtime gives up at once (no retries) with an authentication error.
        let node = WorkerNode::new(net.peer(STRANGER), MAX_BULK);
        let run = timeout(REACTION, node.run(std::future::pending()))
            .await
            .expect("an unlisted worker gives up instead of retrying");
        match run {
            Err(TransportError::Auth(why)) => {
                assert!(why.contains("allow-list"), "unclear error: {why}")
            }
            other => panic!("expected an authentication error, got {other:?}"),
        }
        assert_eq!(node.stats().lock().expect("stats").sessions, 0);
    };
    let ((), _) = tokio::join!(hostile, net.prove());
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_signed_for_another_session_or_role_is_refused() {
    let net = Net::start(b"hostile/replay").await;
    let hostile = async {
        // A signature captured on one connection, replayed on another.
        let (_ep1, first) = raw_connect(&net).await;
        let captured = tls::prove_identity(
            &identity(ROGUE_WORKER),
            PeerRole::Worker,
            &tls::session_binding(&first).expect("binding"),
        );
        let (_ep2, second) = raw_connect(&net).await;
        // A signature made for the worker role on this very session, presented as a
        // client (the key is the rogue client's, which is on the client list).
        let (_ep3, third) = raw_connect(&net).await;
        let binding = tls::session_binding(&third).expect("binding");
        let as_worker = tls::prove_identity(&identity(ROGUE_CLIENT), PeerRole::Worker, &binding);
        for (conn, hello) in [
            (
                &second,
                Hello {
                    role: PeerRole::Worker,
                    id: identity(ROGUE_WORKER).id(),
                    signature: captured,
                    held: Vec::new(),
                },
            ),
            (
                &third,
                Hello {
                    role: PeerRole::Client,
                    id: identity(ROGUE_CLIENT).id(),
                    signature: as_worker,
                    held: Vec::new(),
                },
            ),
        ] {
            let (mut send, _recv) = conn.open_bi().await.expect("control stream");
            write_frame(&mut send, &Frame::new(FrameType::Hello, hello.to_bytes()))
                .await
                .expect("hello");
            let (code, why) = closed_by_aggregator(conn).await;
            assert_eq!(code, 1, "{why}");
            assert!(
                why.contains("did not sign this session"),
                "unclear reason: {why}"
            );
        }
        first.close(0u32.into(), b"done");
    };
    let ((), _) = tokio::join!(hostile, net.prove());
    net.stop().await;
}

// ---------------------------------------------------------------------------------------
// 2. Certificate pinning.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_certificate_fingerprints_fail_the_handshake() {
    let net = Net::start(b"hostile/pinning").await;
    let real = net.creds.fingerprint();
    // An impostor with a certificate of its own, answering QUIC handshakes.
    let impostor_creds = AggregatorCredentials::generate().expect("creds");
    let fake = impostor_creds.fingerprint();
    let impostor = tls::server_endpoint(
        "127.0.0.1:0".parse().expect("addr"),
        &impostor_creds,
        &tuning(),
    )
    .expect("impostor endpoint");
    let impostor_addr = impostor.local_addr().expect("addr");
    let impostor_task = {
        let impostor = impostor.clone();
        tokio::spawn(async move {
            let mut refused = 0u32;
            while let Some(incoming) = impostor.accept().await {
                if incoming.await.is_err() {
                    refused += 1;
                }
            }
            refused
        })
    };
    let hostile = async {
        // A peer pinning a fingerprint the aggregator does not have.
        let wrong = Fingerprint([0xab; 32]);
        match open_session(
            &net.peer_pinned(STRANGER, wrong, net.addr),
            PeerRole::Worker,
            vec![],
        )
        .await
        {
            Err(SessionError::Failed(e)) => {
                let text = e.to_string();
                assert!(text.contains("fingerprint"), "unclear error: {text}");
                assert!(text.contains(&wrong.to_string()), "{text}");
                assert!(text.contains(&real.to_string()), "{text}");
            }
            Err(SessionError::Refused(why)) => panic!("refused instead of failing: {why}"),
            Ok(_) => panic!("a session with a wrongly pinned certificate"),
        }
        // Honest peers (pinning the real aggregator) reaching an impostor.
        for (who, role) in [(HONEST[0], PeerRole::Worker), (CLIENT, PeerRole::Client)] {
            let settings = net.peer_pinned(who, real, impostor_addr);
            match open_session(&settings, role, vec![]).await {
                Err(SessionError::Failed(e)) => {
                    let text = e.to_string();
                    assert!(text.contains("fingerprint"), "unclear error: {text}");
                    assert!(text.contains(&real.to_string()), "{text}");
                    assert!(text.contains(&fake.to_string()), "{text}");
                }
                Err(SessionError::Refused(why)) => panic!("refused instead of failing: {why}"),
                Ok(_) => panic!("a session with an impostor"),
            }
        }
        // A worker runtime pointed at the impostor never gets a session (it keeps
        // retrying, as for an unreachable aggregator, until it is stopped).
        let node = WorkerNode::new(net.peer_pinned(HONEST[1], real, impostor_addr), MAX_BULK);
        node.run(tokio::time::sleep(Duration::from_millis(500)))
            .await
            .expect("stops cleanly");
        assert_eq!(node.stats().lock().expect("stats").sessions, 0);
        // A client pointed at the impostor cannot submit.
        let sub = submission(circuit());
        let r = submit_job(
            &net.peer_pinned(CLIENT, real, impostor_addr),
            &sub,
            Duration::from_millis(500),
            |_| panic!("an impostor accepted a job"),
        )
        .await;
        assert!(
            matches!(&r, Err(TransportError::Job(why)) if why.contains("could not be submitted")),
            "{r:?}"
        );
    };
    let ((), _) = tokio::join!(hostile, net.prove());
    impostor.close(0u32.into(), b"done");
    let refused = impostor_task.await.expect("join");
    assert!(refused >= 3, "the impostor saw {refused} failed handshakes");
    net.stop().await;
}

// ---------------------------------------------------------------------------------------
// 3. Oversized frames.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_close_the_connection() {
    let net = Net::start(b"hostile/oversized").await;
    let hostile = async {
        // An allowed worker announces a 100 MB envelope after a proper hello, then tries
        // to send it: the aggregator must close the connection on the header alone.
        let mut raw = raw_session(&net, ROGUE_WORKER, PeerRole::Worker).await;
        raw.send
            .write_all(&header(FrameType::Envelope, HUGE))
            .await
            .expect("header");
        let chunk = vec![0u8; 64 * 1024];
        let mut sent = 0usize;
        let stopped = timeout(REACTION, async {
            while sent < HUGE as usize {
                raw.send.write_all(&chunk).await?;
                sent += chunk.len();
            }
            Ok::<_, quinn::WriteError>(())
        })
        .await
        .expect("the aggregator neither closed the connection nor stopped reading");
        assert!(
            stopped.is_err(),
            "the aggregator took all {sent} bytes of an oversized frame"
        );
        let (code, why) = closed_by_aggregator(&raw.conn).await;
        assert_eq!(code, 2, "{why}");
        assert!(
            why.contains("Envelope") && why.contains("exceeds its limit"),
            "unclear reason: {why}"
        );
        assert!(
            raw.recv.read(&mut [0u8; 16]).await.is_err(),
            "the control stream still reads"
        );

        // The same before the hello: a 100 MB hello.
        let (_ep, conn) = raw_connect(&net).await;
        let (mut send, _recv) = conn.open_bi().await.expect("control stream");
        send.write_all(&header(FrameType::Hello, HUGE))
            .await
            .expect("header");
        let (code, why) = closed_by_aggregator(&conn).await;
        assert_eq!(code, 1, "{why}");
        assert!(
            why.contains("Hello") && why.contains("exceeds its limit"),
            "unclear reason: {why}"
        );

        // A client's submission stream announcing more than the bulk limit.
        let raw = raw_session(&net, ROGUE_CLIENT, PeerRole::Client).await;
        let mut uni = raw.conn.open_uni().await.expect("bulk stream");
        uni.write_all(&header(FrameType::Submit, HUGE))
            .await
            .expect("header");
        let (code, why) = closed_by_aggregator(&raw.conn).await;
        assert_eq!(code, 2, "{why}");
        assert!(
            why.contains("Submit") && why.contains(&format!("limit of {MAX_BULK} bytes")),
            "unclear reason: {why}"
        );
    };
    let ((), _) = tokio::join!(hostile, net.prove());
    net.stop().await;
}

// ---------------------------------------------------------------------------------------
// 4. Random bytes.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_close_the_connection() {
    let net = Net::start(b"hostile/random").await;
    let hostile = async {
        for _ in 0..3 {
            // Random bytes as the very first thing on the control stream.
            let (_ep, conn) = raw_connect(&net).await;
            let (mut send, _recv) = conn.open_bi().await.expect("control stream");
            send.write_all(&garbage(200)).await.expect("write");
            let (code, why) = closed_by_aggregator(&conn).await;
            assert_eq!(code, 1, "{why}");
            assert!(why.starts_with("bad frame: "), "unclear reason: {why}");

            // A well-framed hello whose payload is random.
            let (_ep, conn) = raw_connect(&net).await;
            let (mut send, _recv) = conn.open_bi().await.expect("control stream");
            let len = (rand::thread_rng().next_u32() % 400) as usize;
            let mut payload = vec![0u8; len];
            rand::thread_rng().fill_bytes(&mut payload);
            write_frame(&mut send, &Frame::new(FrameType::Hello, payload))
                .await
                .expect("write");
            let (code, why) = closed_by_aggregator(&conn).await;
            assert_eq!(code, 1, "{why}");
            assert!(
                why.starts_with("bad frame: hello") || why.contains("did not sign"),
                "unclear reason: {why}"
            );

            // Random bytes after a valid hello.
            let mut raw = raw_session(&net, ROGUE_WORKER, PeerRole::Worker).await;
            raw.send.write_all(&garbage(200)).await.expect("write");
            let (code, why) = closed_by_aggregator(&raw.conn).await;
            assert_eq!(code, 2, "{why}");
            assert!(why.starts_with("bad frame: "), "unclear reason: {why}");
        }

        // Well-formed frames of a type the peer's role may not send: a client's envelope,
        // a worker's submission.
        let mut raw = raw_session(&net, ROGUE_CLIENT, PeerRole::Client).await;
        write_frame(
            &mut raw.send,
            &Frame::new(FrameType::Envelope, vec![0; 100]),
        )
        .await
        .expect("write");
        let (code, why) = closed_by_aggregator(&raw.conn).await;
        assert_eq!(code, 2, "{why}");
        assert!(
            why.contains("Envelope frame is not allowed"),
            "unclear reason: {why}"
        );
        let raw = raw_session(&net, ROGUE_WORKER, PeerRole::Worker).await;
        send_bulk(
            &raw.conn,
            &Frame::new(FrameType::Submit, submission(circuit()).to_bytes()),
        )
        .await
        .expect("write");
        let (code, why) = closed_by_aggregator(&raw.conn).await;
        assert_eq!(code, 2, "{why}");
        assert!(
            why.contains("Submit frame is not allowed"),
            "unclear reason: {why}"
        );
    };
    let ((), _) = tokio::join!(hostile, net.prove());
    net.stop().await;
}

// ---------------------------------------------------------------------------------------
// 5. Truncated streams.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_streams_close_the_connection() {
    let net = Net::start(b"hostile/truncated").await;
    let hostile = async {
        // 1000 bytes announced, 10 sent, the control stream finished: after the hello ...
        let mut raw = raw_session(&net, ROGUE_WORKER, PeerRole::Worker).await;
        raw.send
            .write_all(&header(FrameType::Envelope, 1000))
            .await
            .expect("header");
        raw.send.write_all(&[7u8; 10]).await.expect("payload");
        raw.send.finish().expect("finish");
        let (code, why) = closed_by_aggregator(&raw.conn).await;
        assert_eq!(code, 2, "{why}");
        assert!(
            why.contains("truncated") && why.contains("10 of 1000"),
            "unclear reason: {why}"
        );

        // ... and in place of the hello.
        let (_ep, conn) = raw_connect(&net).await;
        let (mut send, _recv) = conn.open_bi().await.expect("control stream");
        send.write_all(&header(FrameType::Hello, 1000))
            .await
            .expect("header");
        send.write_all(&[7u8; 10]).await.expect("payload");
        send.finish().expect("finish");
        let (code, why) = closed_by_aggregator(&conn).await;
        assert_eq!(code, 1, "{why}");
        assert!(
            why.contains("truncated") && why.contains("10 of 1000"),
            "unclear reason: {why}"
        );

        // A header cut short.
        let mut raw = raw_session(&net, ROGUE_WORKER, PeerRole::Worker).await;
        raw.send
            .write_all(&header(FrameType::Envelope, 1000)[..3])
            .await
            .expect("header");
        raw.send.finish().expect("finish");
        let (code, why) = closed_by_aggregator(&raw.conn).await;
        assert_eq!(code, 2, "{why}");
        assert!(
            why.contains("truncated") && why.contains("header"),
            "unclear reason: {why}"
        );

        // A client's submission stream finished inside the frame.
        let raw = raw_session(&net, ROGUE_CLIENT, PeerRole::Client).await;
        let mut uni = raw.conn.open_uni().await.expect("bulk stream");
        uni.write_all(&header(FrameType::Submit, 1000))
            .await
            .expect("header");
        uni.write_all(&[7u8; 10]).await.expect("payload");
        uni.finish().expect("finish");
        let (code, why) = closed_by_aggregator(&raw.conn).await;
        assert_eq!(code, 2, "{why}");
        assert!(
            why.contains("truncated") && why.contains("Submit"),
            "unclear reason: {why}"
        );
    };
    let ((), _) = tokio::join!(hostile, net.prove());
    net.stop().await;
}

// ---------------------------------------------------------------------------------------
// 6. Bad submissions.
// ---------------------------------------------------------------------------------------

/// Sends `payload` as a submission on `session` and returns the outcome it gets.
async fn submit_raw(session: &mut Session, payload: Vec<u8>) -> JobOutcome {
    send_bulk(&session.conn, &Frame::new(FrameType::Submit, payload))
        .await
        .expect("submit");
    let frame = timeout(
        REACTION,
        read_frame(
            &mut session.recv,
            &[FrameType::Accepted, FrameType::Outcome, FrameType::Goodbye],
            0,
        ),
    )
    .await
    .expect("an answer to a submission")
    .expect("a frame")
    .expect("the stream is open");
    assert_eq!(
        frame.kind,
        FrameType::Outcome,
        "{}",
        String::from_utf8_lossy(&frame.payload)
    );
    let (job, outcome) = parse_outcome_frame(&frame.payload).expect("outcome");
    assert_eq!(job, [0u8; 32], "a refused job has no id");
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_submissions_are_refused_and_nothing_breaks() {
    let net = Net::start(b"hostile/garbage-submit").await;
    let hostile = async {
        let mut session = open_session(&net.peer(ROGUE_CLIENT), PeerRole::Client, vec![])
            .await
            .unwrap_or_else(|e| panic!("the rogue client is on the list: {e:?}"));
        let good = submission(circuit()).to_bytes();
        let mut random = vec![0u8; 500];
        rand::thread_rng().fill_bytes(&mut random);
        let mut too_big_a_job = submission(circuit());
        let mut bigger = circuit();
        bigger.shape = Shape::new(2 * SHARDS, ROWS).expect("shape");
        too_big_a_job.circuit = bigger.into();
        too_big_a_job
            .witnesses
            .extend(too_big_a_job.witnesses.clone());
        let cases = [
            (random, "refused"),
            (Vec::new(), "refused"),
            (good[..good.len() - 1].to_vec(), "bytes after the header"),
            ([good.as_slice(), &[0]].concat(), "bytes after the header"),
            (too_big_a_job.to_bytes(), "SRS"),
            // A compiled circuit (tag 3) that is not one, and one longer than the frame.
            (
                [&[3u8, 0, 0, 0, 8][..], b"tuttiCC\0", &good[17..]].concat(),
                "compiled circuit",
            ),
            (
                [&[3u8, 0, 1, 0, 0][..], &good[17..]].concat(),
                "submission circuit",
            ),
        ];
        for (payload, expect) in cases {
            match submit_raw(&mut session, payload).await {
                JobOutcome::Failed(why) => {
                    assert!(why.contains("job refused"), "unclear reason: {why}");
                    assert!(why.contains(expect), "unclear reason: {why}");
                }
                other => panic!("garbage was proved: {other:?}"),
            }
            assert!(session.conn.close_reason().is_none(), "the session broke");
        }
        // The same session still submits a good job, which proves.
        send_bulk(&session.conn, &Frame::new(FrameType::Submit, good))
            .await
            .expect("submit");
        let mut accepted = None;
        let outcome = loop {
            let frame = timeout(
                Duration::from_secs(30),
                read_frame(
                    &mut session.recv,
                    &[FrameType::Accepted, FrameType::Outcome, FrameType::Goodbye],
                    0,
                ),
            )
            .await
            .expect("an answer")
            .expect("a frame")
            .expect("the stream is open");
            match frame.kind {
                FrameType::Accepted => {
                    accepted = Some(job_id_from_bytes(&frame.payload).expect("id"))
                }
                FrameType::Outcome => {
                    let (job, outcome) = parse_outcome_frame(&frame.payload).expect("outcome");
                    assert_eq!(Some(job), accepted, "the outcome of the accepted job");
                    break outcome;
                }
                _ => panic!("goodbye: {}", String::from_utf8_lossy(&frame.payload)),
            }
        };
        check_proved(outcome, &submission(circuit()));
        session.conn.close(0u32.into(), b"done");
    };
    let ((), _) = tokio::join!(hostile, net.prove());
    net.stop().await;
}

/// Breaks one gate of shard 1 by changing one wire value; returns the row.
fn break_a_gate(sub: &mut Submission) -> usize {
    let compiled = sub.circuit.compile().expect("circuit");
    let sharded = compiled.sharded();
    for row in 0..ROWS {
        let mut witnesses: Vec<ShardWitness> = sub.witnesses.clone();
        witnesses[1].wires[0][row] += Fr::from(1u64);
        if let Err(ProtocolError::GateUnsatisfied { shard: 1, row: r }) =
            sharded.check_witness(&witnesses, &sub.public_inputs)
        {
            assert_eq!(r, row);
            sub.witnesses = witnesses;
            return row;
        }
    }
    panic!("no row of shard 1 has a gate on wire a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_that_breaks_a_gate_is_refused() {
    let net = Net::start(b"hostile/bad-witness").await;
    let hostile = async {
        let mut sub = submission(circuit());
        let row = break_a_gate(&mut sub);
        let (job, outcome) = submit_job(
            &net.peer(ROGUE_CLIENT),
            &sub,
            Duration::from_secs(30),
            |_| panic!("a job with a broken gate was accepted"),
        )
        .await
        .expect("an outcome");
        assert_eq!(job, [0u8; 32]);
        match outcome {
            JobOutcome::Failed(why) => {
                assert!(why.contains("job refused"), "unclear reason: {why}");
                assert!(
                    why.contains(&format!("gate at shard 1, row {row}")),
                    "the reason does not name the gate: {why}"
                );
            }
            other => panic!("a broken witness was proved: {other:?}"),
        }
    };
    let ((), _) = tokio::join!(hostile, net.prove());
    net.stop().await;
}

// ---------------------------------------------------------------------------------------
// Frames split around new streams.
// ---------------------------------------------------------------------------------------

/// A control frame cut at every offset, with a bulk stream opened and sent between the
/// two parts: the aggregator resumes the half-read frame instead of dropping its first
/// bytes when the new stream wins its select (it used to read the rest as a new header:
/// "unsupported frame version …"), answers it, and keeps the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_frame_split_around_a_new_stream_is_read_whole() {
    let net = Net::start(b"hostile/split-frames").await;
    let mut raw = raw_session(&net, ROGUE_CLIENT, PeerRole::Client).await;
    let frame_len = HEADER_BYTES + 32;
    for cut in 1..frame_len {
        let job = [cut as u8; 32];
        let bytes = Frame::new(FrameType::Await, job.to_vec()).to_bytes();
        raw.send.write_all(&bytes[..cut]).await.expect("first part");
        tokio::time::sleep(Duration::from_millis(15)).await;
        // A submission (garbage, refused with an outcome of id zero) in between.
        let mut uni = raw.conn.open_uni().await.expect("bulk stream");
        uni.write_all(&Frame::new(FrameType::Submit, vec![1, 2, 3]).to_bytes())
            .await
            .expect("submission");
        uni.finish().expect("finish");
        tokio::time::sleep(Duration::from_millis(15)).await;
        raw.send
            .write_all(&bytes[cut..])
            .await
            .expect("second part");
        // The answer to the Await (an unknown job), after the refusal.
        loop {
            let frame = timeout(
                REACTION,
                read_frame(
                    &mut raw.recv,
                    &[FrameType::Outcome, FrameType::Accepted, FrameType::Goodbye],
                    MAX_BULK,
                ),
            )
            .await
            .unwrap_or_else(|_| panic!("no answer to the frame cut at {cut}"))
            .expect("a frame")
            .expect("the stream is open");
            assert_ne!(
                frame.kind,
                FrameType::Goodbye,
                "cut at {cut}: {}",
                String::from_utf8_lossy(&frame.payload)
            );
            if frame.kind == FrameType::Outcome && frame.payload[..32] == job {
                break;
            }
        }
        assert!(raw.conn.close_reason().is_none(), "cut at {cut}: closed");
    }
    net.stop().await;
}

// ---------------------------------------------------------------------------------------
// Before authentication.
// ---------------------------------------------------------------------------------------

/// A peer that completed the QUIC handshake but has not said a hello that verified gets
/// its control stream and nothing else: no bulk stream, no second bidirectional stream
/// (each would be another stream window of buffered bytes); after a hello, bulk streams
/// open. (The connection-level window of `tls::PRE_AUTH_RECEIVE_WINDOW` bounds what a
/// QUIC stack that leaves gaps in a stream could make the aggregator buffer; quinn sends
/// in order, so this test cannot exercise it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_its_hello_a_peer_gets_its_control_stream_only() {
    let net = Net::start(b"hostile/pre-auth").await;
    let (_ep, conn) = raw_connect(&net).await;
    let (mut send, _recv) = conn.open_bi().await.expect("control stream");
    // Part of a hello header: the aggregator waits for the rest.
    send.write_all(&header(FrameType::Hello, 100)[..4])
        .await
        .expect("partial header");
    let second = timeout(Duration::from_millis(300), conn.open_uni()).await;
    assert!(second.is_err(), "a bulk stream was opened before any hello");
    let third = timeout(Duration::from_millis(300), async {
        let (mut s, _r) = conn.open_bi().await.expect("bidi");
        // A bidirectional stream exists for the peer only once data is sent on it.
        s.write_all(&[0u8; 16]).await
    })
    .await;
    assert!(
        matches!(third, Err(_) | Ok(Err(_))),
        "a second bidirectional stream was opened before any hello"
    );
    assert!(
        conn.close_reason().is_none(),
        "the connection is still open"
    );

    // A peer after a proper hello opens bulk streams at once.
    let raw = raw_session(&net, ROGUE_CLIENT, PeerRole::Client).await;
    let opened = timeout(REACTION, raw.conn.open_uni()).await;
    assert!(
        matches!(opened, Ok(Ok(_))),
        "no bulk stream after the welcome"
    );
    net.stop().await;
}

/// Connections that complete the handshake and say nothing are capped per address: the
/// next one is refused, and a slot frees when one of them goes away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_capped_per_address() {
    let net = Net::start(b"hostile/silent-cap").await;
    let endpoint =
        tls::client_endpoint(net.addr, net.creds.fingerprint(), &tuning()).expect("endpoint");
    let connect = || async {
        endpoint
            .connect(net.addr, SERVER_NAME)
            .expect("connect")
            .await
    };
    let mut silent = Vec::new();
    for k in 0..tutti_transport::aggregator::MAX_UNAUTHENTICATED_PER_ADDRESS {
        silent.push(
            connect()
                .await
                .unwrap_or_else(|e| panic!("silent connection {k} refused: {e}")),
        );
    }
    let refused = connect().await;
    assert!(
        matches!(refused, Err(quinn::ConnectionError::ConnectionClosed(_))),
        "one more silent connection was accepted: {refused:?}"
    );
    // One of them leaves; the aggregator notices and a new peer gets in.
    silent.pop().expect("one").close(0u32.into(), b"bye");
    timeout(REACTION, async {
        loop {
            if let Ok(c) = connect().await {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a slot freed");
    drop(silent);
    net.stop().await;
}
