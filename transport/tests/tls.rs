//! Tests of the TLS layer: fingerprints, credential and identity files, and a loopback
//! QUIC connection with a pinned certificate and session-bound peer authentication.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tutti_crypto::identity::WorkerIdentity;
use tutti_transport::TransportError;
use tutti_transport::tls::{
    self, AggregatorCredentials, Fingerprint, PeerRole, QuicTuning, SERVER_NAME,
};

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

#[test]
fn fingerprint_display_and_parse_round_trip() {
    let fp = Fingerprint(std::array::from_fn(|i| (i as u8).wrapping_mul(29) ^ 0xa5));
    let hex = fp.to_string();
    assert_eq!(hex.len(), 64);
    assert_eq!(hex, hex.to_lowercase());
    assert_eq!(format!("{fp:?}"), hex);
    assert_eq!(hex.parse::<Fingerprint>().ok(), Some(fp));
    assert_eq!(hex.to_uppercase().parse::<Fingerprint>().ok(), Some(fp));

    let colons: Vec<String> = fp.0.iter().map(|b| format!("{b:02X}")).collect();
    let colons = colons.join(":");
    assert_eq!(colons.parse::<Fingerprint>().ok(), Some(fp));
    assert_eq!(
        format!("  {}\n", colons.to_lowercase())
            .parse::<Fingerprint>()
            .ok(),
        Some(fp)
    );
}

#[test]
fn fingerprint_rejects_bad_strings() {
    let good = "ab".repeat(32);
    let bad = [
        String::new(),
        "ab".repeat(31),
        "ab".repeat(33),
        format!("{}zz", "ab".repeat(31)),
        format!("{}:", good),
        vec!["abc"; 32].join(":"),
        vec!["ab"; 31].join(":"),
        vec!["ab"; 33].join(":"),
        "é".repeat(64),
    ];
    for s in &bad {
        match s.parse::<Fingerprint>() {
            Err(TransportError::Tls(msg)) => {
                assert!(msg.contains("fingerprint"), "unclear message: {msg}")
            }
            other => panic!("{s:?} parsed as {other:?}"),
        }
    }
}

#[test]
fn credentials_save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("aggregator.crt");
    let key = dir.path().join("aggregator.key");
    let creds = AggregatorCredentials::generate().unwrap();
    creds.save(&cert, &key).unwrap();
    assert!(
        std::fs::read_to_string(&cert)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let loaded = AggregatorCredentials::load(&cert, &key).unwrap();
    assert_eq!(loaded.cert_der, creds.cert_der);
    assert_eq!(loaded.key_der, creds.key_der);
    assert_eq!(loaded.fingerprint(), creds.fingerprint());

    // Saving again over existing files works.
    let other = AggregatorCredentials::generate().unwrap();
    assert_ne!(other.fingerprint(), creds.fingerprint());
    other.save(&cert, &key).unwrap();
    assert_eq!(
        AggregatorCredentials::load(&cert, &key)
            .unwrap()
            .fingerprint(),
        other.fingerprint()
    );
}

fn key_file_reason(r: Result<AggregatorCredentials, TransportError>) -> (String, String) {
    match r {
        Err(TransportError::KeyFile { path, reason }) => (path, reason),
        Err(e) => panic!("expected a KeyFile error, got {e}"),
        Ok(_) => panic!("expected a KeyFile error, got credentials"),
    }
}

#[test]
fn credentials_load_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("aggregator.crt");
    let key = dir.path().join("aggregator.key");
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, b"this is not a certificate\n").unwrap();
    let creds = AggregatorCredentials::generate().unwrap();
    creds.save(&cert, &key).unwrap();

    // Missing file.
    let missing = dir.path().join("missing.crt");
    let (path, reason) = key_file_reason(AggregatorCredentials::load(&missing, &key));
    assert!(path.contains("missing.crt"));
    assert!(reason.contains("not found"), "{reason}");

    // Not PEM.
    let (path, reason) = key_file_reason(AggregatorCredentials::load(&garbage, &key));
    assert!(path.contains("garbage"));
    assert!(reason.contains("PEM"), "{reason}");
    let (_, reason) = key_file_reason(AggregatorCredentials::load(&cert, &garbage));
    assert!(reason.contains("PEM"), "{reason}");

    // Wrong kind: paths swapped.
    let (path, reason) = key_file_reason(AggregatorCredentials::load(&key, &cert));
    assert!(path.contains("aggregator.key"), "{path}");
    assert!(reason.contains("PRIVATE KEY"), "{reason}");

    // A key that belongs to another certificate.
    let other = AggregatorCredentials::generate().unwrap();
    let other_key = dir.path().join("other.key");
    let other_cert = dir.path().join("other.crt");
    other.save(&other_cert, &other_key).unwrap();
    let (path, reason) = key_file_reason(AggregatorCredentials::load(&cert, &other_key));
    assert!(path.contains("other.key"));
    assert!(reason.contains("does not belong"), "{reason}");
}

#[test]
fn identity_file_round_trip_and_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("worker.key");
    let seed = [7u8; 32];
    tls::save_identity(&path, &seed).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, format!("{}\n", "07".repeat(32)));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let expected = WorkerIdentity::from_seed(&seed).id();
    assert_eq!(tls::load_identity(&path).unwrap().id(), expected);

    // No trailing newline, upper case, CRLF: all fine.
    for contents in ["07".repeat(32), "0A".repeat(32) + "\r\n"] {
        std::fs::write(&path, &contents).unwrap();
        assert!(tls::load_identity(&path).is_ok(), "{contents:?}");
    }

    let bad: [&[u8]; 5] = [
        b"",
        b"0707\n",
        b"zz07070707070707070707070707070707070707070707070707070707070707\n",
        b"0707070707070707070707070707070707070707070707070707070707070707\n\n",
        b"\xff\xfe\x00",
    ];
    for contents in bad {
        std::fs::write(&path, contents).unwrap();
        match tls::load_identity(&path) {
            Err(TransportError::KeyFile { reason, .. }) => {
                assert!(reason.contains("tutti keygen"), "{reason}");
                assert!(!reason.contains("0707"), "leaks the seed: {reason}");
            }
            other => panic!("{contents:?} loaded as {other:?}"),
        }
    }

    match tls::load_identity(&dir.path().join("nope.key")) {
        Err(TransportError::KeyFile { reason, .. }) => {
            assert!(reason.contains("not found") && reason.contains("tutti keygen"))
        }
        other => panic!("missing file loaded as {other:?}"),
    }
}

#[test]
fn worker_ids_parse() {
    let id = WorkerIdentity::from_seed(&[3; 32]).id();
    assert_eq!(tls::parse_worker_id(&id.to_hex()).ok(), Some(id));
    assert_eq!(
        tls::parse_worker_id(&format!(" {}\n", id.to_hex().to_uppercase())).ok(),
        Some(id)
    );
    for bad in ["", "abcd", &"g".repeat(64), &"ab".repeat(33)] {
        assert!(tls::parse_worker_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn peer_roles() {
    for role in [PeerRole::Worker, PeerRole::Client] {
        assert_eq!(PeerRole::from_u8(role.to_u8()), Some(role));
    }
    assert_eq!(PeerRole::Worker.to_u8(), 1);
    assert_eq!(PeerRole::Client.to_u8(), 2);
    assert_eq!(PeerRole::from_u8(0), None);
    assert_eq!(PeerRole::from_u8(3), None);
    let msg = tls::auth_message(PeerRole::Client, &[9; 32]);
    assert!(msg.starts_with(b"tutti/peer-auth/v1"));
    assert_eq!(msg.len(), b"tutti/peer-auth/v1".len() + 1 + 32);
    assert_eq!(msg[b"tutti/peer-auth/v1".len()], 2);
}

fn fast_tuning() -> QuicTuning {
    QuicTuning {
        idle_timeout: Duration::from_secs(5),
        keep_alive: Duration::from_millis(500),
        max_uni_streams: 16,
    }
}

/// Connects a client pinning `pin` to `server`; returns the client's connection (or the
/// error) and the server's connection (if its handshake completed).
async fn connect(
    server: &quinn::Endpoint,
    pin: Fingerprint,
) -> (
    Result<quinn::Connection, quinn::ConnectionError>,
    Option<quinn::Connection>,
) {
    let addr = server.local_addr().unwrap();
    let accepting = {
        let server = server.clone();
        tokio::spawn(async move {
            let incoming = server.accept().await?;
            incoming.await.ok()
        })
    };
    let client = tls::client_endpoint(addr, pin, &fast_tuning()).unwrap();
    let result = match client.connect(addr, SERVER_NAME) {
        Ok(connecting) => connecting.await,
        Err(e) => panic!("connect: {e}"),
    };
    let server_conn = tokio::time::timeout(Duration::from_secs(5), accepting)
        .await
        .ok()
        .and_then(|j| j.ok())
        .flatten();
    (result, server_conn)
}

#[tokio::test]
async fn loopback_pinned_connection_and_session_bound_identity() {
    let creds = AggregatorCredentials::generate().unwrap();
    let server = tls::server_endpoint(loopback(), &creds, &fast_tuning()).unwrap();

    let (client_conn, server_conn) = connect(&server, creds.fingerprint()).await;
    let client_conn = client_conn.unwrap();
    let server_conn = server_conn.expect("server side of the handshake completed");
    assert_eq!(
        client_conn.handshake_data().and_then(|d| {
            d.downcast::<quinn::crypto::rustls::HandshakeData>()
                .ok()
                .and_then(|d| d.protocol)
        }),
        Some(tls::ALPN.to_vec())
    );

    let client_binding = tls::session_binding(&client_conn).unwrap();
    let server_binding = tls::session_binding(&server_conn).unwrap();
    assert_eq!(client_binding, server_binding);

    let worker = WorkerIdentity::from_seed(&[42; 32]);
    let sig = tls::prove_identity(&worker, PeerRole::Worker, &client_binding);
    assert!(tls::check_identity(
        &worker.id(),
        PeerRole::Worker,
        &server_binding,
        &sig
    ));
    // Wrong role.
    assert!(!tls::check_identity(
        &worker.id(),
        PeerRole::Client,
        &server_binding,
        &sig
    ));
    // Another identity.
    let other = WorkerIdentity::from_seed(&[43; 32]);
    assert!(!tls::check_identity(
        &other.id(),
        PeerRole::Worker,
        &server_binding,
        &sig
    ));

    // A second connection has a different binding: a signature made for it does not verify
    // on the first, and the first's signature does not verify on it.
    let (client2, server2) = connect(&server, creds.fingerprint()).await;
    let client2 = client2.unwrap();
    let server2 = server2.expect("second handshake completed");
    let binding2 = tls::session_binding(&client2).unwrap();
    assert_eq!(binding2, tls::session_binding(&server2).unwrap());
    assert_ne!(binding2, server_binding);
    let sig2 = tls::prove_identity(&worker, PeerRole::Worker, &binding2);
    assert!(!tls::check_identity(
        &worker.id(),
        PeerRole::Worker,
        &server_binding,
        &sig2
    ));
    assert!(!tls::check_identity(
        &worker.id(),
        PeerRole::Worker,
        &binding2,
        &sig
    ));

    client_conn.close(0u32.into(), b"done");
    client2.close(0u32.into(), b"done");
    server.close(0u32.into(), b"done");
}

#[tokio::test]
async fn wrong_pin_is_refused_with_a_clear_error() {
    let creds = AggregatorCredentials::generate().unwrap();
    let server = tls::server_endpoint(loopback(), &creds, &fast_tuning()).unwrap();
    let wrong = Fingerprint([0x11; 32]);

    let (result, server_conn) = connect(&server, wrong).await;
    let err = match result {
        Ok(_) => panic!("connected despite a wrong pin"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("fingerprint mismatch"), "{err}");
    assert!(err.contains(&wrong.to_string()), "{err}");
    assert!(err.contains(&creds.fingerprint().to_string()), "{err}");
    assert!(server_conn.is_none());
    server.close(0u32.into(), b"done");
}

#[tokio::test]
async fn ipv6_client_endpoint_binds() {
    // Only checks the address family choice; does not need IPv6 connectivity.
    if let Ok(ep) = tls::client_endpoint(
        "[::1]:4433".parse().unwrap(),
        Fingerprint([0; 32]),
        &QuicTuning::default(),
    ) {
        assert!(ep.local_addr().unwrap().is_ipv6());
    }
    let ep = tls::client_endpoint(
        "127.0.0.1:4433".parse().unwrap(),
        Fingerprint([0; 32]),
        &QuicTuning::default(),
    )
    .unwrap();
    assert!(ep.local_addr().unwrap().is_ipv4());
}
