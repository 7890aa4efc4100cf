//! The connection side: peers coming and going, their messages in, and frames out to
//! workers and clients.

use super::{ConnId, Driver, Out, Peer};
use crate::frame::{Frame, FrameType};
use crate::tls::PeerRole;
use crate::wire::WorkerTraffic;
use std::time::Instant;
use tokio::sync::mpsc;
use tutti_crypto::identity::WorkerId;
use tutti_protocol::envelope::JobId;

impl Driver {
    pub(super) fn connected(
        &mut self,
        id: WorkerId,
        role: PeerRole,
        conn: ConnId,
        tx: mpsc::UnboundedSender<Out>,
        held: Vec<(JobId, u32)>,
    ) {
        if role == PeerRole::Client {
            // A client may hold several connections (several jobs at once).
            self.clients.insert(conn, (id, tx));
            return;
        }
        self.next_order += 1;
        if let Some(old) = self.peers.get(&id) {
            let _ = old.tx.send(Out::Close(
                "replaced by a newer connection of the same peer".into(),
            ));
        }
        self.peers.insert(
            id,
            Peer {
                conn,
                tx,
                order: self.next_order,
            },
        );
        // Jobs it still holds that are over: tell it, so it can drop them.
        let active = self.active.as_ref().map(|a| a.id);
        for (job, _) in &held {
            if Some(*job) != active {
                self.send_peer(id, Out::Frame(Frame::new(FrameType::JobOver, job.to_vec())));
            }
        }
        let Some(a) = self.active.as_mut() else {
            self.try_start(Instant::now());
            return;
        };
        a.lost_by.remove(&id);
        match held.iter().find(|(job, _)| *job == a.id) {
            Some((_, shard)) => {
                a.has_state.insert(id, *shard as usize);
            }
            None => {
                a.has_state.remove(&id);
            }
        }
        let mut queued = a.outbox.remove(&id).unwrap_or_default();
        let holder = a.coord.is_holder(&id);
        if holder {
            // The directive the re-ask below sends supersedes queued ones; fragments
            // still go.
            queued.retain(|o| {
                matches!(o, Out::Bulk(f) | Out::Frame(f)
                    if matches!(f.kind, FrameType::FragmentDeposit | FrameType::FragmentRequest))
            });
        }
        for out in queued {
            self.deliver(id, out);
        }
        if holder {
            // Whatever was queued or in flight on the old connection may be lost: ask
            // again for the open round only (the journal keeps the rest).
            self.reissue_for(id);
        }
        // Fragments it was asked for and may not have sent.
        self.rerequest_fragments(Some(id));
    }

    pub(super) fn envelope(&mut self, id: WorkerId, _conn: ConnId, wire: Vec<u8>) {
        let Some(a) = self.active.as_mut() else {
            tracing::debug!(worker = %id, "a message with no job running: ignored");
            return;
        };
        let t = a.traffic.entry(id).or_insert(WorkerTraffic {
            worker: id,
            sent: 0,
            received: 0,
            inputs: 0,
        });
        t.sent += (wire.len() + crate::frame::HEADER_BYTES) as u64;
        if let (Some(r), Some(round)) = (a.resume_round, wire.get(8))
            && *round < r
        {
            a.stats.resent += 1;
        }
        let t0 = Instant::now();
        let outcome = a.coord.handle_message(id, &wire);
        a.stats.aggregator_nanos += t0.elapsed().as_nanos() as u64;
        tracing::debug!(worker = %id, ?outcome, "message");
        self.pump();
    }

    /// Sends now if the worker is connected, else keeps it for its reconnection.
    pub(super) fn route(&mut self, worker: WorkerId, out: Out) {
        let connected = self.peers.contains_key(&worker);
        if connected {
            self.deliver(worker, out);
        } else if let Some(a) = self.active.as_mut() {
            a.outbox.entry(worker).or_default().push(out);
        }
    }

    fn deliver(&mut self, worker: WorkerId, out: Out) {
        if let Some(p) = self.peers.get(&worker)
            && let Err(mpsc::error::SendError(out)) = p.tx.send(out)
            && let Some(a) = self.active.as_mut()
        {
            a.outbox.entry(worker).or_default().push(out);
        }
    }

    pub(super) fn send_peer(&self, id: WorkerId, out: Out) {
        if let Some(p) = self.peers.get(&id) {
            let _ = p.tx.send(out);
        }
    }

    /// Sends a frame on one client connection.
    pub(super) fn send_conn(&self, conn: ConnId, frame: Frame) {
        if let Some((_, tx)) = self.clients.get(&conn) {
            let _ = tx.send(Out::Frame(frame));
        }
    }

    /// Sends a frame to every connection of a client.
    pub(super) fn send_client(&self, id: WorkerId, frame: &Frame) {
        for (c, tx) in self.clients.values() {
            if *c == id {
                let _ = tx.send(Out::Frame(frame.clone()));
            }
        }
    }

    /// Queues a control frame for a worker of the active job, counting its bytes.
    pub(super) fn queue_frame(&mut self, worker: WorkerId, frame: Frame) {
        if let Some(t) = self
            .active
            .as_mut()
            .and_then(|a| a.traffic.get_mut(&worker))
        {
            t.received += frame.wire_len() as u64;
        }
        self.route(worker, Out::Frame(frame));
    }
}
