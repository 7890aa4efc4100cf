//! # tutti-transport
//!
//! The tutti protocol on the wire: QUIC (quinn + rustls, ring provider), a pinned
//! aggregator certificate, worker authentication by ed25519 signature over the TLS
//! session's exported keying material, versioned length-prefixed frames with a size limit
//! per frame type, an on-disk crash-safe journal (redb), and tokio runtimes that drive the
//! sans-IO state machines of `tutti-protocol`.
//!
//! Nothing here starts a runtime: the aggregator, worker and client run as futures on the
//! caller's tokio runtime.

#![deny(missing_docs)]

pub mod aggregator;
pub mod circuit_spec;
pub mod client;
pub mod config;
mod error;
pub mod frame;
pub mod peer;
pub mod record;
pub mod store;
pub mod tls;
pub mod wire;
pub mod worker;

pub use error::TransportError;
