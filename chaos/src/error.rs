//! The chaos crate's error type.

use thiserror::Error;

/// Every error of the chaos crate.
#[derive(Debug, Error)]
pub enum ChaosError {
    /// A protocol-level failure while setting a scenario up.
    #[error(transparent)]
    Protocol(#[from] tutti_protocol::ProtocolError),
    /// A transport-level failure.
    #[error(transparent)]
    Transport(#[from] tutti_transport::TransportError),
    /// Process or socket IO.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A real-process scenario could not be set up or run.
    #[error("scenario: {0}")]
    Scenario(String),
}
