//! Groundwork of a multi-party ceremony for the bivariate SRS: a chain of contributions,
//! each multiplying both trapdoors by secrets of its own, so that the final SRS is
//! sound if any one contributor was honest (drew its secrets at random and forgot them).
//!
//! # State
//!
//! For M shards of T rows and L = T + [`ROW_EXTRA`](crate::srs::ROW_EXTRA) bases per row, a [`CeremonyState`]
//! holds the *monomial* form of the SRS: the grid `G[i][j] = [τ_X^i·τ_Y^j]₁` for i < L,
//! j < M, the column `i = 0` continued as the extra Y powers `[τ_Y^j]₁` for
//! M ≤ j < [`y_len`]`(M)`, the G2 points `[τ_X]₂`, `[τ_Y]₂`, and the contributions so
//! far. The monomial form is what a contribution can update without knowing the
//! trapdoors: multiplying `G[i][j]` by `r^i·s^j` gives the grid of `(r·τ_X, s·τ_Y)`.
//! The Lagrange form of the SRS (worker rows `[R_k(τ_Y)·τ_X^i]₁`) is a linear function
//! of the grid, an inverse DFT along Y ([`CeremonyState::to_srs`]).
//! [`CeremonyState::init`] is the state of trapdoors 1 (every point the generator).
//!
//! # A contribution
//!
//! A contributor draws r, s ∉ {0, 1}, scales the state ([`CeremonyState::contribute`]),
//! and appends a public [`Contribution`] record: the new `[τ_X]₂`, `[τ_Y]₂`, and for
//! each secret x ∈ {r, s} a [`KnowledgeProof`]: the point `P = x·G` (G the generator of
//! G1) with a Schnorr proof of knowledge of x: `R = k·G`,
//! `c = H(previous record's hash, which trapdoor, P, R, [τ']₂)` (Keccak Fiat–Shamir
//! transcript), `z = k + c·x`; it verifies when `z·G = R + c·P`. The record also names
//! the grid it produced (BLAKE3 of the new points) and its hash chains it to the record
//! before ([`Contribution::hash`]); the first record chains to the ceremony's genesis
//! hash ([`CeremonyState::genesis_hash`]: M, T and, for a `.ptau` start, the file). The
//! last hash is the transcript's digest ([`CeremonyState::transcript_hash`]), which the
//! finalized SRS carries.
//!
//! # Why it suffices (the argument)
//!
//! [`verify_ceremony`] accepts a state only if:
//! 1. *Knowledge.* Each record's Schnorr proofs verify. In the random-oracle model a
//!    Schnorr proof is a proof of knowledge: rewinding the contributor at the challenge
//!    extracts x with `P = x·G`. The challenge hashes the previous record's hash (so the
//!    whole chain before it, back to M, T and the start) and the new `[τ']₂`, so a
//!    proof cannot be copied from another contribution or another ceremony, nor
//!    attached to a different update.
//! 2. *Link to G2.* `e(P, [τ]₂) = e(G, [τ']₂)`, i.e. `τ' = x·τ` (Bowe–Gabizon–Miers'
//!    update check). With 1 the contributor knows x with `τ' = x·τ`.
//! 3. *Grid bound to G2.* The state's G2 points are the last record's; `G[0][0] = G`;
//!    `e(G[1][0], [1]₂) = e(G, [τ_X]₂)` and `e(G[0][1], [1]₂) = e(G, [τ_Y]₂)`; every X
//!    link `G[i+1][j] = τ_X·G[i][j]` and every Y link `G[i][j+1] = τ_Y·G[i][j]`
//!    (including the extra Y powers), checked together by one random linear
//!    combination with weights `α^i·β^j` ([`check_structure`]). So the grid is exactly
//!    the monomial grid of the trapdoors of the final G2 points.
//!
//! So after a verified chain, `τ_final = x_1·x_2·…·x_n` (per trapdoor) where each
//! contributor knew its x_k. If contributor h was honest, its x_h is uniform and
//! unknown to the others; the others' x_k are known to them (extractable) and cannot
//! depend on x_h beyond the public `x_h·G` (a contributor who could choose x_k to
//! cancel x_h would, by extraction, compute x_h from `x_h·G`: a discrete logarithm).
//! Hence τ_final is uniform and unknown to every coalition that excludes h. Checking
//! that `[τ']₂ ≠ [τ]₂` and `≠ O` rules out the trivial secrets 1 and 0, and refusing a
//! record whose hash or public key `x·G` repeats an earlier one refuses replays.
//!
//! # Closing with a public random beacon
//!
//! [`CeremonyState::apply_beacon`] adds a last contribution whose secrets are derived
//! from a public value fixed after the last contribution (a drand round, a block hash):
//! [`beacon_secrets`]. It adds no secrecy (everyone knows its secrets) but makes the
//! final trapdoors unpredictable to the last contributor, who otherwise sees the final
//! grid before anyone else and could abort and retry until it likes it. Its record
//! carries the value, and verification recomputes its public keys.
//!
//! *Why the fixed generator G and not a hashed base.* Bowe–Gabizon–Miers derive the
//! base of the knowledge pair from a hash of the transcript because their proof of
//! knowledge is a knowledge-of-exponent pair `(g, g^x)`, `(h, h^x)`, whose soundness
//! needs a fresh base with unknown logarithm per contribution. A Schnorr proof is
//! extractable for a fixed base in the random-oracle model; binding the statement
//! (previous digest, which trapdoor, `P`, `[τ']₂`) in the Fiat–Shamir challenge gives the
//! same non-malleability, with no hash-to-curve to specify.
//!
//! # Starting from a univariate powers of tau
//!
//! See [`CeremonyState::from_ptau`]: τ_X taken from a snarkjs `.ptau` file, only τ_Y
//! contributed here; the format and the soundness argument are in [`ptau`]'s docs.
//!
//! # Encoding
//!
//! See [`CeremonyState::to_bytes`]; the digest is BLAKE3 of that encoding.

mod encode;
mod error;
mod fft;
mod pok;
pub mod ptau;
mod scale;
mod verify;

pub use encode::{CEREMONY_MAGIC, CEREMONY_PTAU_MAGIC, CEREMONY_VERSION};
pub use error::{CeremonyError, PointLocation, Trapdoor};
pub use pok::{Contribution, KnowledgeProof};
pub use ptau::{
    PTAU_MAGIC, Ptau, PtauError, read_ptau, verify_ceremony_from_ptau, verify_transcript_from_ptau,
};
pub use verify::{check_structure, verify_ceremony, verify_contribution, verify_transcript};

use crate::scalars::powers_of;
use crate::srs::{MAX_SHARD_GATES, MAX_SHARDS, row_len, y_len};
use crate::{Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, PrimeField, Zero};
use ark_std::UniformRand;
use ark_std::rand::{CryptoRng, RngCore};
use rayon::prelude::*;

/// A progress callback for long ceremony operations: `(what, done, total)`, called from
/// one thread at a time, often enough for a progress bar and never per point.
pub type Progress<'a> = &'a (dyn Fn(&'static str, u64, u64) + Sync);

fn quiet(_: &'static str, _: u64, _: u64) {}

/// A [`Progress`] that reports nothing.
pub const QUIET: Progress<'static> = &quiet;

/// Points scaled per progress report in [`CeremonyState::scaled`].
const SCALE_CHUNK: usize = 1 << 15;

/// BLAKE3 key-derivation context of the beacon secrets.
const BEACON_CONTEXT: &str = "tutti ceremony beacon v2 secrets";

/// The secrets (r, s) of the closing contribution for a beacon value: each the first
/// non-zero, non-one element of the BLAKE3 XOF stream (key derivation with context
/// "tutti ceremony beacon v2 secrets" of the value and the trapdoor's name) read 64
/// bytes at a time and reduced modulo r. In a ceremony started from a `.ptau` file
/// (`x_fixed`), r is 1.
pub fn beacon_secrets(value: &[u8; 32], x_fixed: bool) -> (Fr, Fr) {
    let derive = |name: &[u8]| {
        let mut h = blake3::Hasher::new_derive_key(BEACON_CONTEXT);
        h.update(value);
        h.update(name);
        let mut xof = h.finalize_xof();
        loop {
            let mut wide = [0u8; 64];
            xof.fill(&mut wide);
            let x = Fr::from_le_bytes_mod_order(&wide);
            if !x.is_zero() && !x.is_one() {
                return x;
            }
        }
    };
    let r = if x_fixed { Fr::one() } else { derive(b"X") };
    (r, derive(b"Y"))
}

/// A ceremony's state: the monomial grid, the extra Y powers, the G2 points and the
/// contributions so far. Fields are public so that tools can inspect and (in tests)
/// tamper with them; nothing trusts them: [`verify_contribution`] checks every point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CeremonyState {
    /// M, the number of shards (size of the Y-domain).
    pub shards: usize,
    /// T, the rows per shard; the grid has `row_len(T) = T + ROW_EXTRA` X powers.
    pub shard_gates: usize,
    /// `G[i][j] = [τ_X^i·τ_Y^j]₁`, row-major by X power: entry (i, j) at `i·M + j`.
    pub grid: Vec<G1Affine>,
    /// `[τ_Y^j]₁` for `M ≤ j < y_len(M)`: entry `j − M`.
    pub extra_y: Vec<G1Affine>,
    /// `[τ_X]₂`.
    pub tau_x_g2: G2Affine,
    /// `[τ_Y]₂`.
    pub tau_y_g2: G2Affine,
    /// The records of the contributions that led here, oldest first.
    pub contributions: Vec<Contribution>,
    /// `Some(BLAKE3 of the .ptau file)` when τ_X was taken from a univariate powers-of-tau
    /// ceremony ([`CeremonyState::from_ptau`]): then contributions keep τ_X (r = 1) and
    /// update τ_Y only. `None` for a ceremony started at [`CeremonyState::init`].
    pub x_from_ptau: Option<[u8; 32]>,
}

/// Checks M and T against the limits of the SRS file format.
pub(crate) fn check_sizes(shards: usize, shard_gates: usize) -> Result<(), CeremonyError> {
    if !shards.is_power_of_two() || shards > MAX_SHARDS {
        return Err(CeremonyError::Size {
            name: "shards",
            value: shards as u64,
            expected: "a power of two from 1 to 4096",
        });
    }
    if !shard_gates.is_power_of_two() || !(16..=MAX_SHARD_GATES).contains(&shard_gates) {
        return Err(CeremonyError::Size {
            name: "shard_gates",
            value: shard_gates as u64,
            expected: "a power of two from 16 to 2^24",
        });
    }
    Ok(())
}

fn shape(what: &'static str, expected: usize, found: usize) -> Result<(), CeremonyError> {
    if expected != found {
        return Err(CeremonyError::Shape {
            what,
            expected: expected as u64,
            found: found as u64,
        });
    }
    Ok(())
}

impl CeremonyState {
    /// The starting state for M shards of T rows: all trapdoors 1, every point the
    /// generator, no contributions.
    pub fn init(shards: usize, shard_gates: usize) -> Result<Self, CeremonyError> {
        check_sizes(shards, shard_gates)?;
        let g = G1Affine::generator();
        Ok(CeremonyState {
            shards,
            shard_gates,
            grid: vec![g; row_len(shard_gates) * shards],
            extra_y: vec![g; y_len(shards) - shards],
            tau_x_g2: G2Affine::generator(),
            tau_y_g2: G2Affine::generator(),
            contributions: Vec::new(),
            x_from_ptau: None,
        })
    }

    /// Number of X powers per Y power, `T + ROW_EXTRA`.
    pub fn x_len(&self) -> usize {
        row_len(self.shard_gates)
    }

    /// Checks that M and T are in range and that the point counts match them.
    pub fn check_shape(&self) -> Result<(), CeremonyError> {
        check_sizes(self.shards, self.shard_gates)?;
        shape("grid", self.x_len() * self.shards, self.grid.len())?;
        shape(
            "extra Y powers",
            y_len(self.shards) - self.shards,
            self.extra_y.len(),
        )
    }

    /// Grid entry `[τ_X^i·τ_Y^j]₁` (i < T + ROW_EXTRA, j < M), if in range.
    pub fn entry(&self, i: usize, j: usize) -> Option<&G1Affine> {
        if j >= self.shards {
            return None;
        }
        self.grid.get(i * self.shards + j)
    }

    /// `[τ_Y^j]₁` for any `j < y_len(M)` (column 0 of the grid, then the extra powers).
    pub fn y_power(&self, j: usize) -> Option<&G1Affine> {
        if j < self.shards {
            self.grid.get(j)
        } else {
            self.extra_y.get(j - self.shards)
        }
    }

    /// Adds a contribution with secrets drawn from `rng` (never 0 or 1): returns the new
    /// state (whose record list ends with it) and its record. The secrets are dropped
    /// when this returns. In a ceremony started from a `.ptau` file
    /// ([`CeremonyState::from_ptau`]) r is 1: only τ_Y is updated.
    pub fn contribute<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        progress: Progress<'_>,
    ) -> Result<(CeremonyState, Contribution), CeremonyError> {
        let mut draw = || loop {
            let x = Fr::rand(rng);
            if !x.is_zero() && !x.is_one() {
                return x;
            }
        };
        let r = if self.x_from_ptau.is_some() {
            Fr::one()
        } else {
            draw()
        };
        let s = draw();
        let mut next = self.scaled(r, s, progress)?;
        let c = Contribution::create(self, &mut next, r, s, None, rng)?;
        Ok((next, c))
    }

    /// Adds a contribution with the given secrets r (for τ_X) and s (for τ_Y).
    ///
    /// INSECURE as a ceremony contribution: the caller chose, and knows, the secrets.
    /// This is for tests and reproducible examples; any value is accepted, including
    /// 0 and 1, which [`verify_contribution`] refuses. `rng` draws the proof nonces.
    pub fn contribute_with<R: RngCore + CryptoRng>(
        &self,
        r: Fr,
        s: Fr,
        rng: &mut R,
    ) -> Result<(CeremonyState, Contribution), CeremonyError> {
        let mut next = self.scaled(r, s, QUIET)?;
        let c = Contribution::create(self, &mut next, r, s, None, rng)?;
        Ok((next, c))
    }

    /// Closes the ceremony with a contribution whose secrets are derived from a public
    /// random beacon value ([`beacon_secrets`]); deterministic (the proof nonces come
    /// from the value too), so anyone can recompute the result.
    pub fn apply_beacon(
        &self,
        value: &[u8; 32],
        progress: Progress<'_>,
    ) -> Result<(CeremonyState, Contribution), CeremonyError> {
        let (r, s) = beacon_secrets(value, self.x_from_ptau.is_some());
        let mut next = self.scaled(r, s, progress)?;
        let mut rng = XofRng::new("tutti ceremony beacon v2 nonces", value);
        let c = Contribution::create(self, &mut next, r, s, Some(*value), &mut rng)?;
        Ok((next, c))
    }

    /// The state of trapdoors `(r·τ_X, s·τ_Y)` with this state's record list: entry
    /// (i, j) times `r^i·s^j`, extra Y power j times `s^j`, `[τ]₂` times r or s. Does not
    /// add a record (see [`Contribution::create`]). One scalar multiplication per point
    /// (GLV and wNAF, `scale`), in parallel, reporting progress every 32,768 points.
    pub fn scaled(
        &self,
        r: Fr,
        s: Fr,
        progress: Progress<'_>,
    ) -> Result<CeremonyState, CeremonyError> {
        self.check_shape()?;
        let m = self.shards;
        let xs = powers_of(r, self.x_len());
        let ys = powers_of(s, y_len(m));
        let total = self.grid.len() as u64;
        let mut grid = Vec::with_capacity(self.grid.len());
        for (n, chunk) in self.grid.chunks(SCALE_CHUNK).enumerate() {
            progress("scaling the grid", (n * SCALE_CHUNK) as u64, total);
            let base = n * SCALE_CHUNK;
            let scalars: Vec<Fr> = (base..base + chunk.len())
                .into_par_iter()
                .map(|k| xs[k / m] * ys[k % m])
                .collect();
            grid.extend(normalize(&scale::mul_each(chunk, &scalars)));
        }
        progress("scaling the grid", total, total);
        let extra = scale::mul_each(&self.extra_y, &ys[m..]);
        Ok(CeremonyState {
            shards: m,
            shard_gates: self.shard_gates,
            grid,
            extra_y: normalize(&extra),
            tau_x_g2: (self.tau_x_g2 * r).into_affine(),
            tau_y_g2: (self.tau_y_g2 * s).into_affine(),
            contributions: self.contributions.clone(),
            x_from_ptau: self.x_from_ptau,
        })
    }
}

/// A deterministic random stream: BLAKE3's XOF keyed by a context and a value. Used for
/// the beacon contribution's proof nonces, so that it is a function of the beacon value
/// alone (and stable across versions of `rand`, unlike its `StdRng`).
struct XofRng(blake3::OutputReader);

impl XofRng {
    fn new(context: &str, value: &[u8]) -> Self {
        let mut h = blake3::Hasher::new_derive_key(context);
        h.update(value);
        XofRng(h.finalize_xof())
    }
}

impl RngCore for XofRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), ark_std::rand::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl CryptoRng for XofRng {}

/// Projective to affine in parallel chunks (one field inversion per chunk).
pub(crate) fn normalize(points: &[G1Projective]) -> Vec<G1Affine> {
    points
        .par_chunks(1024)
        .flat_map_iter(G1Projective::normalize_batch)
        .collect()
}
