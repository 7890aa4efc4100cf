//! The operator's TOML configuration files for `tutti aggregator` and `tutti worker`.
//! Relative paths inside a file are taken relative to the file's own directory. Every
//! mistake is reported with the file and what to change.
//!
//! `aggregator.toml`:
//!
//! ```toml
//! listen = "0.0.0.0:7700"            # UDP address to serve QUIC on
//! certificate = "aggregator.cert.pem" # from `tutti keygen aggregator`
//! key = "aggregator.key.pem"
//! srs = "srs.bin"                     # from `tutti setup`
//! store = "aggregator.redb"           # journal and outcomes (created if missing)
//! workers = ["<64 hex>", ...]         # worker ids allowed to connect
//! clients = ["<64 hex>", ...]         # client ids allowed to submit jobs
//! spares = 1                          # optional, default 1
//! replicas = 1                        # optional, default 1
//! round_timeout_secs = 300            # optional
//! reconnect_grace_ms = 3000           # optional
//! spare_wait_ms = 2000                # optional
//! idle_timeout_ms = 5000              # optional
//! max_submission_mib = 1024           # optional
//! erasure = "2+1"                     # optional: code shard inputs over the workers
//! strict_share_checks = false         # optional: weigh every share even when the proof verifies
//! ```
//!
//! `worker.toml`:
//!
//! ```toml
//! aggregator = "10.0.0.1:7700"
//! aggregator_fingerprint = "<64 hex>" # printed by `tutti keygen aggregator`
//! identity = "worker.key"             # from `tutti keygen identity`
//! retry_ms = 1000                     # optional
//! idle_timeout_ms = 5000              # optional
//! max_assignment_mib = 1024           # optional
//! ```

use crate::error::TransportError;
use crate::tls::{Fingerprint, parse_worker_id};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tutti_crypto::erasure::ErasureParams;
use tutti_crypto::identity::WorkerId;

/// Parses an erasure code written "k+m" (k data, m parity fragments per shard).
pub fn parse_erasure(s: &str) -> Result<ErasureParams, String> {
    let (k, m) = s
        .split_once('+')
        .ok_or_else(|| format!("{s:?}: write it as k+m, e.g. \"2+1\""))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: k is not a number"))?;
    let m: usize = m
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: m is not a number"))?;
    ErasureParams::new(k, m).map_err(|e| format!("{s:?}: {e}"))
}

/// `aggregator.toml`, as read.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregatorConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Certificate file (PEM).
    pub certificate: PathBuf,
    /// Private key file (PEM).
    pub key: PathBuf,
    /// SRS file.
    pub srs: PathBuf,
    /// Store file.
    pub store: PathBuf,
    /// Allowed workers (hex ids).
    pub workers: Vec<String>,
    /// Allowed clients (hex ids).
    #[serde(default)]
    pub clients: Vec<String>,
    /// Spares per job.
    #[serde(default = "one")]
    pub spares: usize,
    /// Workers per shard.
    #[serde(default = "one")]
    pub replicas: usize,
    /// Seconds a round may stay open.
    #[serde(default = "round_timeout")]
    pub round_timeout_secs: u64,
    /// Milliseconds a disconnected worker has to come back.
    #[serde(default = "grace")]
    pub reconnect_grace_ms: u64,
    /// Milliseconds to wait for spares once the shards can be covered.
    #[serde(default = "spare_wait")]
    pub spare_wait_ms: u64,
    /// QUIC idle timeout in milliseconds.
    #[serde(default = "idle")]
    pub idle_timeout_ms: u64,
    /// Largest submission accepted, MiB.
    #[serde(default = "max_mib")]
    pub max_submission_mib: usize,
    /// Reed–Solomon code of the shard inputs over the workers, "k+m" (absent: the
    /// aggregator keeps each job's witness until the job ends).
    #[serde(default)]
    pub erasure: Option<String>,
    /// Check every share under private random weights even when the proof verifies
    /// (names colluding workers whose wrong openings cancel; an MSM of about 20·M more
    /// points per proof).
    #[serde(default)]
    pub strict_share_checks: bool,
}

/// `worker.toml`, as read.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// The aggregator's address.
    pub aggregator: SocketAddr,
    /// Its certificate's SHA-256 fingerprint (hex).
    pub aggregator_fingerprint: String,
    /// This worker's identity file.
    pub identity: PathBuf,
    /// Milliseconds between reconnection attempts.
    #[serde(default = "retry")]
    pub retry_ms: u64,
    /// QUIC idle timeout in milliseconds.
    #[serde(default = "idle")]
    pub idle_timeout_ms: u64,
    /// Largest shard assignment accepted, MiB.
    #[serde(default = "max_mib")]
    pub max_assignment_mib: usize,
}

fn one() -> usize {
    1
}
fn round_timeout() -> u64 {
    300
}
fn grace() -> u64 {
    3000
}
fn spare_wait() -> u64 {
    2000
}
fn idle() -> u64 {
    5000
}
fn retry() -> u64 {
    1000
}
fn max_mib() -> usize {
    1024
}

/// The message of an error without its category prefix.
fn reason(e: TransportError) -> String {
    match e {
        TransportError::Auth(m) | TransportError::Tls(m) | TransportError::Frame(m) => m,
        other => other.to_string(),
    }
}

fn config_error(path: &Path, reason: impl Into<String>) -> TransportError {
    TransportError::Config {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn read_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, TransportError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        config_error(
            path,
            format!("cannot read it ({e}); pass the right --config path"),
        )
    })?;
    toml::from_str(&text).map_err(|e| config_error(path, e.to_string()))
}

fn relative_to(path: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        path.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn ids(path: &Path, what: &str, list: &[String]) -> Result<Vec<WorkerId>, TransportError> {
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            parse_worker_id(s)
                .map_err(|e| config_error(path, format!("{what}[{i}]: {}", reason(e))))
        })
        .collect()
}

impl AggregatorConfig {
    /// Reads and checks a file; paths come back resolved.
    pub fn load(path: &Path) -> Result<Self, TransportError> {
        let mut c: AggregatorConfig = read_toml(path)?;
        for p in [&mut c.certificate, &mut c.key, &mut c.srs, &mut c.store] {
            *p = relative_to(path, p);
        }
        if c.workers.is_empty() {
            return Err(config_error(
                path,
                "`workers` is empty: list the ids of the workers allowed to connect",
            ));
        }
        if c.replicas == 0 || c.round_timeout_secs == 0 || c.idle_timeout_ms == 0 {
            return Err(config_error(
                path,
                "replicas, round_timeout_secs and idle_timeout_ms must be at least 1",
            ));
        }
        if c.replicas > 255 {
            return Err(config_error(
                path,
                "replicas: at most 255 workers per shard",
            ));
        }
        c.worker_ids(path)?;
        c.erasure(path)?;
        c.client_ids(path)?;
        Ok(c)
    }

    /// The erasure code, if any.
    pub fn erasure(&self, path: &Path) -> Result<Option<ErasureParams>, TransportError> {
        self.erasure
            .as_deref()
            .map(|e| parse_erasure(e).map_err(|why| config_error(path, format!("erasure: {why}"))))
            .transpose()
    }

    /// The worker allow-list.
    pub fn worker_ids(&self, path: &Path) -> Result<Vec<WorkerId>, TransportError> {
        ids(path, "workers", &self.workers)
    }

    /// The client allow-list.
    pub fn client_ids(&self, path: &Path) -> Result<Vec<WorkerId>, TransportError> {
        ids(path, "clients", &self.clients)
    }
}

impl WorkerConfig {
    /// Reads and checks a file; paths come back resolved.
    pub fn load(path: &Path) -> Result<Self, TransportError> {
        let mut c: WorkerConfig = read_toml(path)?;
        c.identity = relative_to(path, &c.identity);
        c.fingerprint(path)?;
        if c.idle_timeout_ms == 0 {
            return Err(config_error(path, "idle_timeout_ms must be at least 1"));
        }
        Ok(c)
    }

    /// The pinned fingerprint.
    pub fn fingerprint(&self, path: &Path) -> Result<Fingerprint, TransportError> {
        self.aggregator_fingerprint.parse().map_err(|e| {
            config_error(
                path,
                format!(
                    "aggregator_fingerprint: {} (`tutti keygen aggregator` prints it)",
                    reason(e)
                ),
            )
        })
    }
}
