//! The aggregator as a network service: accepts QUIC connections, authenticates workers
//! and clients against its allow-lists, and drives one [`Coordinator`] per job from a
//! single task (the driver) that owns all protocol state; connection tasks only move
//! frames. Jobs, accepted messages and outcomes are journaled in a [`Store`], so a
//! restarted aggregator resumes an unfinished job where it stopped.
//!
//! [`Coordinator`]: tutti_protocol::aggregator::coordinator::Coordinator

mod conn;
mod driver;
mod log_limit;
pub mod prepare;

pub use conn::{MAX_UNAUTHENTICATED, MAX_UNAUTHENTICATED_PER_ADDRESS};
pub use driver::hex;

use crate::error::TransportError;
use crate::store::Store;
use crate::tls::{AggregatorCredentials, QuicTuning, server_endpoint};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;
use tutti_crypto::identity::WorkerId;
use tutti_crypto::srs::RowSource;

/// Everything an aggregator runs with.
#[derive(Clone)]
pub struct AggregatorSettings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Its TLS certificate and key (workers pin the certificate's fingerprint).
    pub credentials: AggregatorCredentials,
    /// Workers allowed to connect.
    pub workers: Vec<WorkerId>,
    /// Clients allowed to submit jobs.
    pub clients: Vec<WorkerId>,
    /// The journal store.
    pub store: Store,
    /// The structured reference string.
    pub srs: Arc<dyn RowSource + Send + Sync>,
    /// Idle workers kept for each job to take over a failed shard.
    pub spares: usize,
    /// Workers per shard (1: no replication).
    pub replicas: usize,
    /// How long a round may stay open before its missing shards are reassigned.
    pub round_timeout: Duration,
    /// How long a disconnected worker (holder or spare) has to come back before it is
    /// reported lost (and its shard moves).
    pub reconnect_grace: Duration,
    /// Once enough workers for the shards are connected, how long to wait for spares.
    pub spare_wait: Duration,
    /// QUIC timeouts.
    pub tuning: QuicTuning,
    /// Largest bulk frame accepted (a job submission, a fragment sent back).
    pub max_bulk: usize,
    /// Reed–Solomon code each job's shard inputs over its workers (k data + m parity
    /// fragments per shard, none held by the shard's own workers), so the aggregator
    /// keeps no witness once the first holders have their assignments and a takeover's
    /// inputs are rebuilt from any k holders. `None`: the aggregator keeps the witness
    /// for the job's lifetime.
    pub erasure: Option<tutti_crypto::erasure::ErasureParams>,
    /// Check every worker's round-5 openings under private random weights even when the
    /// proof verifies (see `AggregatorOptions::strict_share_checks`): also names
    /// colluding workers whose wrong openings cancel, for an MSM of about 20·M more
    /// points per proof.
    pub strict_share_checks: bool,
}

/// A bound aggregator, ready to run.
pub struct AggregatorNode {
    endpoint: quinn::Endpoint,
    settings: AggregatorSettings,
}

impl AggregatorNode {
    /// Binds the QUIC endpoint.
    pub fn bind(settings: AggregatorSettings) -> Result<Self, TransportError> {
        let endpoint = server_endpoint(settings.listen, &settings.credentials, &settings.tuning)?;
        Ok(AggregatorNode { endpoint, settings })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, TransportError> {
        self.endpoint
            .local_addr()
            .map_err(|e| TransportError::Connection(format!("no local address: {e}")))
    }

    /// Serves until `shutdown` resolves: resumes unfinished jobs from the store, then
    /// accepts connections and runs jobs one after another.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), TransportError> {
        let AggregatorNode { endpoint, settings } = self;
        let span = tracing::info_span!("aggregator", addr = %endpoint.local_addr().map(|a| a.to_string()).unwrap_or_default());
        serve(endpoint, settings, shutdown).instrument(span).await
    }
}

async fn serve(
    endpoint: quinn::Endpoint,
    settings: AggregatorSettings,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), TransportError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut driver = driver::Driver::new(&settings, tx.clone())?;
    // Preprocessing a resumed job's circuit blocks this task briefly, before serving.
    let resumed = driver.resume_from_store()?;
    if resumed > 0 {
        tracing::info!(jobs = resumed, "resumed unfinished jobs from the store");
    }
    let ctx = Arc::new(conn::ConnContext {
        workers: settings.workers.iter().copied().collect(),
        clients: settings.clients.iter().copied().collect(),
        max_bulk: settings.max_bulk,
        catalog: driver.catalog(),
        inputs: tx,
        silence: settings.tuning.idle_timeout,
        tuning: settings.tuning.clone(),
        unauthenticated: Arc::new(conn::Unauthenticated::default()),
        log_handshake: log_limit::LogLimit::default(),
        log_auth: log_limit::LogLimit::default(),
    });
    let accept = {
        let endpoint = endpoint.clone();
        let ctx = ctx.clone();
        tokio::spawn(
            async move {
                while let Some(incoming) = endpoint.accept().await {
                    let ctx = ctx.clone();
                    tokio::spawn(conn::serve(incoming, ctx).in_current_span());
                }
            }
            .in_current_span(),
        )
    };
    tokio::select! {
        r = driver.run(rx) => { r?; }
        _ = shutdown => { tracing::info!("shutting down"); }
    }
    accept.abort();
    endpoint.close(0u32.into(), b"aggregator shutting down");
    Ok(())
}
