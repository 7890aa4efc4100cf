//! Errors of the ceremony: every check of [`super::verify_contribution`] and every
//! decoding failure has its own variant, naming the offending point where it can.

use crate::CryptoError;
use std::fmt;

/// One of the two trapdoors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trapdoor {
    /// τ_X (the X powers, one per row of a shard).
    X,
    /// τ_Y (the Y powers, one per shard).
    Y,
}

impl CeremonyError {
    /// Wraps this error with the index of the contribution it concerns.
    pub fn at(self, index: usize) -> Self {
        CeremonyError::AtContribution {
            index,
            source: Box::new(self),
        }
    }

    /// The index of the contribution this error concerns, if it names one.
    pub fn contribution_index(&self) -> Option<usize> {
        match self {
            CeremonyError::AtContribution { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// The error without its contribution index.
    pub fn innermost(&self) -> &CeremonyError {
        match self {
            CeremonyError::AtContribution { source, .. } => source.innermost(),
            e => e,
        }
    }
}

impl fmt::Display for Trapdoor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trapdoor::X => "τ_X",
            Trapdoor::Y => "τ_Y",
        })
    }
}

/// Where a point of a ceremony state or contribution sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointLocation {
    /// Grid entry `[τ_X^i·τ_Y^j]₁` with `j < M`.
    Grid {
        /// X power.
        i: usize,
        /// Y power.
        j: usize,
    },
    /// Extra Y power `[τ_Y^j]₁` with `M ≤ j < y_len(M)`.
    ExtraY {
        /// Y power.
        j: usize,
    },
    /// `[τ]₂` of the new state.
    G2(Trapdoor),
    /// A point of the proof of knowledge for this trapdoor.
    Proof(Trapdoor),
}

impl fmt::Display for PointLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointLocation::Grid { i, j } => write!(f, "grid entry [τ_X^{i}·τ_Y^{j}]₁"),
            PointLocation::ExtraY { j } => write!(f, "Y power [τ_Y^{j}]₁"),
            PointLocation::G2(t) => write!(f, "[{t}]₂"),
            PointLocation::Proof(t) => write!(f, "the proof of knowledge of the {t} update"),
        }
    }
}

fn opt(at: &Option<PointLocation>) -> String {
    match at {
        Some(p) => format!(" (first failing link found: from {p})"),
        None => String::new(),
    }
}

/// Why a ceremony operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// M or T is out of range (M a power of two up to 4096, T a power of two from 16
    /// to 2²⁴).
    #[error("invalid ceremony size {name} = {value}: {expected}")]
    Size {
        /// `shards` or `shard_gates`.
        name: &'static str,
        /// The value given.
        value: u64,
        /// What is accepted.
        expected: &'static str,
    },
    /// A state does not have the number of points its M and T call for, or two states
    /// have different M or T.
    #[error("shape mismatch in {what}: expected {expected}, found {found}")]
    Shape {
        /// Which part.
        what: &'static str,
        /// The expected value.
        expected: u64,
        /// The value found.
        found: u64,
    },
    /// The new state's records are not the previous state's followed by exactly one.
    #[error("the new state's contribution records are not the previous ones plus exactly one")]
    ContributionList,
    /// The contribution repeats contribution `index` (the same hash, or the same public
    /// key `x·G` for a secret).
    #[error("replayed contribution: it repeats contribution {index}")]
    Replayed {
        /// Position of the earlier contribution in the list.
        index: usize,
    },
    /// A point is not on the curve or not in the prime-order subgroup.
    #[error("{at} is not a point of the prime-order subgroup")]
    NotInSubgroup {
        /// The offending point.
        at: PointLocation,
    },
    /// Grid entry (0, 0) is not the generator of G1.
    #[error("grid entry (0, 0) is not the generator of G1")]
    GeneratorMoved,
    /// A new `[τ]₂` is the identity (a zero trapdoor).
    #[error("the new [{0}]₂ is the identity (a zero trapdoor)")]
    IdentityG2(Trapdoor),
    /// A `[τ]₂` did not change: the contributor's secret for it is 1 (no contribution).
    #[error("[{0}]₂ is unchanged: the contribution's secret for {0} is 1")]
    TrapdoorUnchanged(Trapdoor),
    /// The Schnorr proof of knowledge does not verify.
    #[error("the proof of knowledge of the {0} update does not verify")]
    ProofOfKnowledge(Trapdoor),
    /// The proven secret does not take the previous `[τ]₂` to the new one:
    /// `e(x·G, [τ_prev]₂) ≠ e(G, [τ_new]₂)`.
    #[error("the proven {0} update does not take the previous [{0}]₂ to the new one")]
    G2UpdateMismatch(Trapdoor),
    /// A ceremony started from a `.ptau` keeps τ_X and the digest of the file it came
    /// from: this contribution changed `[τ_X]₂` or dropped or changed that digest, or
    /// the state is not from the `.ptau` file it is checked against.
    #[error(
        "this ceremony took τ_X from a powers-of-tau file: a contribution may update only τ_Y, and must keep the file's digest"
    )]
    PtauXChanged,
    /// The grid's first power is not bound to `[τ]₂`: `e(G[1][0], [1]₂) ≠ e(G, [τ_X]₂)`
    /// (or `G[0][1]` / `[τ_Y]₂`).
    #[error("the grid's first {0} power does not match the new [{0}]₂")]
    GridNotBound(Trapdoor),
    /// The batched check that each X power is τ_X times the previous one failed.
    #[error("the grid's X powers are not successive multiples by the τ_X of [τ_X]₂{}", opt(.at))]
    XShift {
        /// The start of a failing link `G[i][j] → G[i+1][j]`, if bisection found one.
        at: Option<PointLocation>,
    },
    /// The batched check that each Y power is τ_Y times the previous one failed.
    #[error("the grid's Y powers are not successive multiples by the τ_Y of [τ_Y]₂{}", opt(.at))]
    YShift {
        /// The start of a failing link along Y, if bisection found one.
        at: Option<PointLocation>,
    },
    /// The record's hash is not the hash of the previous record's hash and its fields.
    #[error("the contribution hash does not match the contribution")]
    HashMismatch,
    /// A beacon contribution's secrets are not those derived from its beacon value.
    #[error("the beacon contribution's secrets are not the ones derived from its beacon value")]
    BeaconMismatch,
    /// The state's G2 point is not the one its last record (or, with no record, the
    /// ceremony's start) names.
    #[error("the state's [{0}]₂ is not the one its last contribution record names")]
    G2NotRecorded(Trapdoor),
    /// The state's points are not the ones its last record names (its points digest).
    #[error(
        "the state's points are not the ones its last contribution record names (points digest differs)"
    )]
    PointsDigestMismatch,
    /// A check failed for one contribution of the chain.
    #[error("contribution {index}: {source}")]
    AtContribution {
        /// Position of the contribution in the record list, from 0.
        index: usize,
        /// What failed.
        #[source]
        source: Box<CeremonyError>,
    },
    /// The first state of a transcript is not the initial state for its M and T.
    #[error("the first state of the transcript is not the initial state (all trapdoors 1)")]
    NotInitial,
    /// The bytes are not a ceremony state of this version.
    #[error("cannot decode ceremony state: {0}")]
    Decode(String),
    /// An error of the underlying crypto layer (domains, canonical decoding).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}
