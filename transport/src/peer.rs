//! The peer side of a connection (worker or client): connect, pin the aggregator's
//! certificate, prove the identity over the session, and wait to be welcomed.

use crate::error::TransportError;
use crate::frame::{Frame, FrameType, read_frame, write_frame};
use crate::tls::{
    Fingerprint, PeerRole, QuicTuning, SERVER_NAME, client_endpoint, prove_identity,
    session_binding,
};
use crate::wire::Hello;
use std::net::SocketAddr;
use std::time::Duration;
use tutti_crypto::identity::WorkerIdentity;
use tutti_protocol::envelope::JobId;

/// How a peer reaches the aggregator.
#[derive(Clone, Debug)]
pub struct PeerSettings {
    /// The aggregator's address.
    pub aggregator: SocketAddr,
    /// The SHA-256 fingerprint of the aggregator's certificate.
    pub fingerprint: Fingerprint,
    /// This peer's identity.
    pub identity: WorkerIdentity,
    /// QUIC timeouts.
    pub tuning: QuicTuning,
    /// Pause between reconnection attempts.
    pub retry: Duration,
}

/// An authenticated connection to the aggregator.
pub struct Session {
    /// The QUIC endpoint (kept alive with the connection).
    pub endpoint: quinn::Endpoint,
    /// The connection.
    pub conn: quinn::Connection,
    /// The control stream, sending half.
    pub send: quinn::SendStream,
    /// The control stream, receiving half.
    pub recv: quinn::RecvStream,
}

/// Why a session could not be opened.
#[derive(Debug)]
pub enum SessionError {
    /// The aggregator refused this identity (not on its allow-list): retrying will not
    /// help.
    Refused(String),
    /// Anything else (unreachable, timeout, wrong certificate): worth retrying.
    Failed(TransportError),
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects and authenticates as `role`, reporting `held` shards (workers).
pub async fn open_session(
    settings: &PeerSettings,
    role: PeerRole,
    held: Vec<(JobId, u32)>,
) -> Result<Session, SessionError> {
    let fail = SessionError::Failed;
    let endpoint = client_endpoint(settings.aggregator, settings.fingerprint, &settings.tuning)
        .map_err(fail)?;
    let connecting = endpoint
        .connect(settings.aggregator, SERVER_NAME)
        .map_err(|e| fail(TransportError::Connection(format!("cannot connect: {e}"))))?;
    let conn = tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting)
        .await
        .map_err(|_| {
            fail(TransportError::Connection(format!(
                "no answer from {} within 10 s",
                settings.aggregator
            )))
        })?
        .map_err(|e| {
            fail(TransportError::Connection(format!(
                "handshake with {} failed: {e}",
                settings.aggregator
            )))
        })?;
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| {
        fail(TransportError::Connection(format!(
            "no control stream: {e}"
        )))
    })?;
    let binding = session_binding(&conn).map_err(fail)?;
    let hello = Hello {
        role,
        id: settings.identity.id(),
        signature: prove_identity(&settings.identity, role, &binding),
        held,
    };
    write_frame(&mut send, &Frame::new(FrameType::Hello, hello.to_bytes()))
        .await
        .map_err(fail)?;
    let answer = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        read_frame(&mut recv, &[FrameType::Welcome, FrameType::Goodbye], 0),
    )
    .await
    .map_err(|_| fail(TransportError::Auth("no welcome within 10 s".into())))?;
    match answer {
        Ok(Some(f)) if f.kind == FrameType::Welcome => Ok(Session {
            endpoint,
            conn,
            send,
            recv,
        }),
        Ok(Some(f)) => Err(SessionError::Refused(
            String::from_utf8_lossy(&f.payload).into_owned(),
        )),
        Ok(None) => Err(fail(TransportError::Auth(
            "the aggregator closed the connection without a welcome".into(),
        ))),
        Err(e) => {
            // A refused peer's connection is closed right after the goodbye; the reason
            // rides in the close frame.
            if let Some(quinn::ConnectionError::ApplicationClosed(c)) = conn.close_reason() {
                let why = String::from_utf8_lossy(&c.reason).into_owned();
                if why.contains("allow-list") {
                    return Err(SessionError::Refused(why));
                }
            }
            Err(fail(e))
        }
    }
}

/// Resolves once nothing at all has arrived on `conn` for `silence` (the peer sends
/// keep-alives well within it while alive). QUIC's own idle timeout is stretched to three
/// probe timeouts, and a process frozen for a while (SIGSTOP) comes back with a probe
/// timeout of seconds; this watchdog notices a dead peer on the configured time anyway.
pub async fn silent_for(conn: &quinn::Connection, silence: Duration) {
    let step = (silence / 4).max(Duration::from_millis(50));
    let mut last = conn.stats().udp_rx.datagrams;
    let mut quiet = Duration::ZERO;
    loop {
        tokio::time::sleep(step).await;
        let now = conn.stats().udp_rx.datagrams;
        if now == last {
            quiet += step;
            if quiet >= silence {
                return;
            }
        } else {
            last = now;
            quiet = Duration::ZERO;
        }
    }
}

/// A watchdog task that closes a connection once nothing has arrived on it for a while;
/// dropping the guard stops it.
#[derive(Debug)]
pub struct SilenceWatchdog(tokio::task::JoinHandle<()>);

impl SilenceWatchdog {
    /// Closes `conn` (application code 3, `reason`) once [`silent_for`] resolves,
    /// whatever its owner is awaiting at the time: a read of a half-sent stream or a
    /// write then fails at once instead of waiting for QUIC's own idle timeout, which a
    /// freeze stretches to seconds.
    pub fn start(conn: &quinn::Connection, silence: Duration, reason: &'static str) -> Self {
        let conn = conn.clone();
        SilenceWatchdog(tokio::spawn(async move {
            silent_for(&conn, silence).await;
            tracing::warn!(?silence, "{reason}: closing the connection");
            conn.close(3u32.into(), reason.as_bytes());
        }))
    }
}

impl Drop for SilenceWatchdog {
    fn drop(&mut self) {
        self.0.abort();
    }
}
