//! One connection: handshake, authentication against the allow-lists, then frames in
//! both directions. Anything malformed closes this connection with a logged reason and
//! touches nothing else.

use super::driver::{ConnId, Input, Out};
use super::log_limit::{LogLimit, warn_limited};
use super::prepare::Catalog;
use crate::error::TransportError;
use crate::frame::{Frame, FrameReader, FrameType, read_frame, send_bulk, write_frame};
use crate::peer::SilenceWatchdog;
use crate::tls::{
    PeerRole, QuicTuning, check_identity, open_after_authentication, session_binding,
};
use crate::wire::{Hello, JobOutcome, Submission, job_id_from_bytes, outcome_frame};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;
use tutti_crypto::identity::WorkerId;
use tutti_protocol::envelope::JobId;

/// What every connection task shares.
pub struct ConnContext {
    /// Allowed workers.
    pub workers: HashSet<WorkerId>,
    /// Allowed clients.
    pub clients: HashSet<WorkerId>,
    /// Largest bulk frame.
    pub max_bulk: usize,
    /// Preprocessed circuits.
    pub catalog: Catalog,
    /// The driver's inbox.
    pub inputs: mpsc::UnboundedSender<Input>,
    /// A peer heard nothing from for this long is disconnected (QUIC's own idle timeout
    /// can stretch far beyond the configured one).
    pub silence: Duration,
    /// The QUIC tuning, whose stream limits an authenticated peer gets.
    pub tuning: QuicTuning,
    /// Connections not yet authenticated.
    pub unauthenticated: Arc<Unauthenticated>,
    /// Limits the warnings of failed handshakes (anyone can cause them at will).
    pub log_handshake: LogLimit,
    /// Limits the warnings of failed authentications.
    pub log_auth: LogLimit,
}

/// Connections accepted at most, in total, before their peers have authenticated.
pub const MAX_UNAUTHENTICATED: usize = 256;
/// The same, per remote IP address (workers on one host connect together at start).
pub const MAX_UNAUTHENTICATED_PER_ADDRESS: usize = 32;

/// Counts the connections whose peers have not yet authenticated, in total and per IP
/// address, so that a peer that completes QUIC handshakes and says nothing can hold only
/// a bounded number of them (each holds at most the pre-authentication window).
#[derive(Debug, Default)]
pub struct Unauthenticated {
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; uncounted when dropped.
pub struct Pending {
    owner: Arc<Unauthenticated>,
    address: IpAddr,
}

impl Unauthenticated {
    /// Counts a connection from `address`, or `None` when a cap is reached.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Pending> {
        let mut map = self.by_address.lock().ok()?;
        let total: usize = map.values().sum();
        let here = map.get(&address).copied().unwrap_or(0);
        if total >= MAX_UNAUTHENTICATED || here >= MAX_UNAUTHENTICATED_PER_ADDRESS {
            return None;
        }
        map.insert(address, here + 1);
        Some(Pending {
            owner: self.clone(),
            address,
        })
    }

    /// Connections counted now.
    #[cfg(test)]
    fn count(&self) -> usize {
        self.by_address.lock().map_or(0, |m| m.values().sum())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Ok(mut map) = self.owner.by_address.lock()
            && let Some(n) = map.get_mut(&self.address)
        {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.address);
            }
        }
    }
}

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one incoming connection to its end.
pub async fn serve(incoming: quinn::Incoming, ctx: Arc<ConnContext>) {
    let remote = incoming.remote_address();
    let Some(pending) = ctx.unauthenticated.admit(remote.ip()) else {
        tracing::debug!(%remote, "refused a connection: too many unauthenticated connections");
        incoming.refuse();
        return;
    };
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            warn_limited!(ctx.log_handshake, "handshake failed", %remote, "rejected a connection: handshake failed: {e}");
            return;
        }
    };
    let authenticated = authenticate(&conn, &ctx).await;
    drop(pending);
    let (role, id, held, send, recv) = match authenticated {
        Ok(x) => x,
        Err(e) => {
            warn_limited!(ctx.log_auth, "authentication failed", %remote, "rejected a connection: {e}");
            conn.close(1u32.into(), e.to_string().as_bytes());
            return;
        }
    };
    let conn_id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("peer", role = ?role, id = %id, conn = conn_id);
    run_authenticated(conn, role, id, held, send, recv, conn_id, ctx)
        .instrument(span)
        .await;
}

#[allow(clippy::too_many_arguments)]
async fn run_authenticated(
    conn: quinn::Connection,
    role: PeerRole,
    id: WorkerId,
    held: Vec<(JobId, u32)>,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    conn_id: ConnId,
    ctx: Arc<ConnContext>,
) {
    tracing::info!(remote = %conn.remote_address(), "authenticated");
    let (tx, rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(conn.clone(), send, rx).in_current_span());
    let _ = ctx.inputs.send(Input::Connected {
        id,
        role,
        conn: conn_id,
        tx: tx.clone(),
        held,
    });
    let reason = match read_loop(&conn, recv, role, id, conn_id, &ctx, &tx).await {
        Ok(()) => "closed by the peer".to_string(),
        Err(TransportError::Connection(e)) => {
            // The peer went away (or the link broke): not the peer's fault as such.
            tracing::info!("connection ended: {e}");
            conn.close(3u32.into(), e.as_bytes());
            e
        }
        Err(e) => {
            tracing::warn!("closing the connection: {e}");
            conn.close(2u32.into(), e.to_string().as_bytes());
            e.to_string()
        }
    };
    writer.abort();
    let _ = ctx.inputs.send(Input::Disconnected {
        id,
        conn: conn_id,
        reason,
    });
}

type Authenticated = (
    PeerRole,
    WorkerId,
    Vec<(JobId, u32)>,
    quinn::SendStream,
    quinn::RecvStream,
);

async fn authenticate(
    conn: &quinn::Connection,
    ctx: &ConnContext,
) -> Result<Authenticated, TransportError> {
    let (mut send, mut recv) = tokio::time::timeout(HANDSHAKE_TIMEOUT, conn.accept_bi())
        .await
        .map_err(|_| TransportError::Auth("no control stream within 10 s".into()))?
        .map_err(|e| TransportError::Connection(format!("no control stream: {e}")))?;
    let frame = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        read_frame(&mut recv, &[FrameType::Hello], 0),
    )
    .await
    .map_err(|_| TransportError::Auth("no hello within 10 s".into()))??
    .ok_or_else(|| TransportError::Auth("the peer closed before saying hello".into()))?;
    let hello = Hello::from_bytes(&frame.payload)?;
    let binding = session_binding(conn)?;
    if !check_identity(&hello.id, hello.role, &binding, &hello.signature) {
        return Err(TransportError::Auth(format!(
            "{} did not sign this session with the key it claims",
            hello.id
        )));
    }
    let allowed = match hello.role {
        PeerRole::Worker => &ctx.workers,
        PeerRole::Client => &ctx.clients,
    };
    if !allowed.contains(&hello.id) {
        let why = format!(
            "{:?} {} is not on this aggregator's allow-list",
            hello.role, hello.id
        );
        let _ = write_frame(
            &mut send,
            &Frame::new(FrameType::Goodbye, why.clone().into_bytes()),
        )
        .await;
        let _ = send.finish();
        // Let the goodbye reach the peer before the connection closes.
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Err(TransportError::Auth(why));
    }
    // Only now may the peer open its bulk streams and send more than a hello's worth.
    open_after_authentication(conn, &ctx.tuning);
    write_frame(&mut send, &Frame::new(FrameType::Welcome, Vec::new())).await?;
    Ok((hello.role, hello.id, hello.held, send, recv))
}

async fn write_loop(
    conn: quinn::Connection,
    mut send: quinn::SendStream,
    mut rx: mpsc::UnboundedReceiver<Out>,
) {
    while let Some(out) = rx.recv().await {
        let r = match out {
            Out::Frame(f) => write_frame(&mut send, &f).await.map(|_| ()),
            Out::Bulk(f) => {
                let conn = conn.clone();
                tokio::spawn(async move {
                    if let Err(e) = send_bulk(&conn, &f).await {
                        tracing::warn!("sending a {:?} frame: {e}", f.kind);
                    }
                });
                Ok(())
            }
            Out::Close(reason) => {
                let _ = write_frame(
                    &mut send,
                    &Frame::new(FrameType::Goodbye, reason.clone().into_bytes()),
                )
                .await;
                conn.close(0u32.into(), reason.as_bytes());
                return;
            }
        };
        if let Err(e) = r {
            tracing::debug!("writer stopped: {e}");
            return;
        }
    }
}

async fn read_loop(
    conn: &quinn::Connection,
    mut recv: quinn::RecvStream,
    role: PeerRole,
    id: WorkerId,
    conn_id: ConnId,
    ctx: &Arc<ConnContext>,
    tx: &mpsc::UnboundedSender<Out>,
) -> Result<(), TransportError> {
    let allowed: &[FrameType] = match role {
        PeerRole::Worker => &[FrameType::Envelope, FrameType::Lost, FrameType::Goodbye],
        PeerRole::Client => &[FrameType::Await, FrameType::Goodbye],
    };
    // Covers every await below, the bulk reads inside the select's branches included:
    // a submission or fragment stream half-sent by a peer that froze fails as soon as the
    // connection is closed.
    let _watchdog = SilenceWatchdog::start(conn, ctx.silence, "nothing heard from the peer");
    // Kept across iterations: a control frame half read when a bulk stream arrives is
    // resumed, not lost (the select below drops the losing branch's future).
    let mut control = FrameReader::new(&mut recv, allowed, 0);
    loop {
        tokio::select! {
            frame = control.next() => {
                let Some(frame) = frame? else { return Ok(()) };
                let input = match frame.kind {
                    FrameType::Envelope => Input::Envelope { id, conn: conn_id, wire: frame.payload },
                    FrameType::Lost => Input::Lost { id, job: job_id_from_bytes(&frame.payload)? },
                    FrameType::Await => Input::Await { id, conn: conn_id, job: job_id_from_bytes(&frame.payload)? },
                    _ => {
                        tracing::info!("peer said goodbye: {}", String::from_utf8_lossy(&frame.payload));
                        return Ok(());
                    }
                };
                let _ = ctx.inputs.send(input);
            }
            uni = conn.accept_uni() => {
                let mut stream = uni.map_err(|e| TransportError::Connection(e.to_string()))?;
                let kind = match role {
                    PeerRole::Client => FrameType::Submit,
                    PeerRole::Worker => FrameType::FragmentReply,
                };
                let frame = read_frame(&mut stream, &[kind], ctx.max_bulk)
                    .await?
                    .ok_or_else(|| TransportError::Frame(format!("an empty {kind:?} stream")))?;
                if role == PeerRole::Client {
                    tokio::spawn(admit(frame.payload, id, conn_id, ctx.clone(), tx.clone()));
                } else {
                    let _ = ctx.inputs.send(Input::Fragment { id, bytes: frame.payload });
                }
            }
        }
    }
}

/// Decodes and checks a submission off the async threads, then hands it to the driver
/// (or tells the client why not).
async fn admit(
    payload: Vec<u8>,
    id: WorkerId,
    conn_id: ConnId,
    ctx: Arc<ConnContext>,
    tx: mpsc::UnboundedSender<Out>,
) {
    let catalog = ctx.catalog.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let submission = Submission::from_bytes(&payload)?;
        let prepared = catalog.admit(&submission)?;
        Ok::<_, TransportError>((submission, prepared))
    })
    .await;
    match checked {
        Ok(Ok((submission, prepared))) => {
            let _ = ctx.inputs.send(Input::Submit {
                id,
                conn: conn_id,
                submission,
                prepared,
            });
        }
        Ok(Err(e)) => {
            tracing::warn!("refused a job: {e}");
            let outcome = JobOutcome::Failed(format!("job refused: {e}"));
            let _ = tx.send(Out::Frame(Frame::new(
                FrameType::Outcome,
                outcome_frame(&[0u8; 32], &outcome),
            )));
        }
        Err(e) => tracing::warn!("admitting a job panicked: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthenticated_connections_are_capped_per_address_and_in_total() {
        let u = Arc::new(Unauthenticated::default());
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let mut held: Vec<Pending> = (0..MAX_UNAUTHENTICATED_PER_ADDRESS)
            .map(|_| u.admit(a).expect("under the per-address cap"))
            .collect();
        assert!(u.admit(a).is_none(), "the per-address cap");
        held.pop();
        assert!(u.admit(a).is_some(), "a slot freed by a drop");
        let mut others = Vec::new();
        let mut k = 0u32;
        while u.count() < MAX_UNAUTHENTICATED {
            let ip = IpAddr::from([10, 1, (k >> 8) as u8, k as u8]);
            others.push(u.admit(ip).expect("under the total cap"));
            k += 1;
        }
        assert!(
            u.admit("10.9.9.9".parse().expect("ip")).is_none(),
            "the total cap"
        );
        drop(others);
        drop(held);
        assert_eq!(u.count(), 0);
    }
}
