//! The transport crate's error type.

use thiserror::Error;
use tutti_protocol::ProtocolError;

/// Every error of the transport crate. Messages name what was wrong and, where it helps,
/// what to do about it.
#[derive(Debug, Error)]
pub enum TransportError {
    /// A protocol-level failure (decoding, checks, the job itself).
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// A frame broke the framing rules (version, type, size, truncation).
    #[error("bad frame: {0}")]
    Frame(String),
    /// The peer could not be authenticated or is not allowed.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// TLS or certificate setup failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// A QUIC connection or stream failed.
    #[error("connection: {0}")]
    Connection(String),
    /// A configuration file is missing, unreadable or wrong.
    #[error("configuration {path}: {reason}")]
    Config {
        /// The file (or setting) at fault.
        path: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A key or certificate file is missing or malformed.
    #[error("key file {path}: {reason}")]
    KeyFile {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The on-disk store failed.
    #[error("store {path}: {reason}")]
    Store {
        /// The database file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// A stored job record of a format version this build does not read.
    #[error("stored job record version {version} (this build reads version {supported}){hint}")]
    RecordVersion {
        /// The version found.
        version: u8,
        /// The version this build reads.
        supported: u8,
        /// What it means for the job, when known.
        hint: &'static str,
    },
    /// A job was rejected or failed.
    #[error("job: {0}")]
    Job(String),
    /// Plain IO.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}
