//! The deterministic simulator: the real sans-IO [`Coordinator`] and [`SignedWorker`]s on
//! a simulated network in virtual time. One seed fixes every choice (the scenario, the
//! network's draws, the job secret); nothing reads a clock, so rerunning a seed
//! reproduces the run exactly.
//!
//! The network model is what a reliable transport (QUIC) exposes to the protocol: per-link
//! latency and jitter (so messages of different workers interleave arbitrarily), lost or
//! corrupted packets retransmitted after a timeout, duplicated deliveries, and partitions:
//! a short one delays what crosses it, one longer than the idle timeout breaks the
//! connection (in-flight messages are lost) and the worker reconnects when it heals. The
//! driver mirrors the network aggregator's: round deadlines, a grace period before a
//! disconnected worker is reported lost, a reconnecting holder re-asked for the open round,
//! a restart from the journal.

mod behave;
mod driver;
pub mod job;

pub use driver::{RunOutcome, Timing, simulate};
