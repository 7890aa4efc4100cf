//! # tutti-crypto
//!
//! The cryptographic layer of tutti: BN254 through arkworks, evaluation domains,
//! the bivariate SRS and its file format, bivariate KZG (worker commit, worker partial
//! opening, aggregator Y-opening, per-worker share check, batched verification), the
//! Keccak-256 Fiat–Shamir transcript, and canonical encodings of field elements and
//! points. Nothing here knows about circuits, shards as jobs, or networks.
//!
//! The normative description lives in `spec/` at the repository root.

#![deny(missing_docs)]

pub mod ceremony;
pub mod domain;
pub mod encoding;
pub mod erasure;
mod error;
pub mod identity;
pub mod kzg;
pub mod poly;
pub mod scalars;
pub mod srs;
pub mod transcript;

pub use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
pub use error::CryptoError;

/// Result type of this crate.
pub type Result<T, E = CryptoError> = std::result::Result<T, E>;
