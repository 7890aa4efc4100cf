//! # tutti-protocol
//!
//! Distributed Plonk over a bivariate KZG commitment, as sans-IO state machines: a
//! circuit of M·T rows is cut into M shards; each [`worker::Worker`] proves one shard and
//! the [`aggregator::Aggregator`] combines their messages into one constant-size
//! [`proof::Proof`] that [`verifier::verify`] checks with one multi-pairing.
//!
//! Nothing here opens a socket, reads a clock or spawns a thread of its own: the state
//! machines take messages and return messages and events, so the same code runs in the
//! in-process [`runner`], over QUIC, or in a deterministic simulator. The one thing it
//! asks of the OS is randomness: the runners' default options draw a fresh job secret.

#![deny(missing_docs)]

pub mod aggregator;
pub mod assignment;
pub mod blame;
pub mod checks;
pub mod circuit;
pub mod circuits;
pub mod coded;
pub mod compiled;
pub mod constraint;
pub mod envelope;
mod error;
pub mod fiat_shamir;
pub mod fragments;
pub mod import;
pub mod inputs;
pub mod keys;
pub mod layout;
pub mod linearise;
pub mod messages;
pub mod proof;
pub mod runner;
pub mod verifier;
pub mod worker;

pub use error::ProtocolError;
pub use tutti_crypto::Fr;
