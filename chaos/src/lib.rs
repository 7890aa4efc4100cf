//! # tutti-chaos
//!
//! The tool to attack a tutti deployment and the evidence that tutti survives it:
//! a catalogue of Byzantine worker strategies, network faults, a deterministic simulator
//! that runs the real sans-IO aggregator and workers on a simulated network in virtual
//! time (one seed fixes every choice), and real-process scenarios (the `tutti` binary over
//! QUIC on loopback, behind a UDP fault proxy, with SIGKILL and SIGSTOP). Invariants are
//! checked after every run.

#![deny(missing_docs)]

pub mod campaign;
pub mod decoders;
mod error;
pub mod invariants;
pub mod proxy;
pub mod real;
pub mod scenario;
pub mod sim;
pub mod strategy;

pub use error::ChaosError;
