//! Protocol messages between workers and the aggregator, with their canonical encoding.
//!
//! Every message is one tag byte followed by fixed-size fields (points 32 bytes compressed,
//! scalars 32 bytes little-endian; see `tutti_crypto::encoding`). Decoding rejects unknown
//! tags, non-canonical values, points off the curve, short input and trailing bytes.

use crate::error::ProtocolError;
use crate::linearise::OpeningWeights;
use tutti_crypto::encoding::{Reader, put_g1, put_scalar};
use tutti_crypto::{Fr, G1Affine};

/// Number of shard polynomials opened at x: a, b, c, q_L, q_R, q_O, q_M, q_C, σ_0, σ_1,
/// σ_2, z, h_0, h_1, h_2 (in this order everywhere: messages, proof, batching powers).
pub const OPENED_AT_X: usize = 15;
/// Index of z among the polynomials opened at x.
pub const Z_INDEX: usize = 11;
/// Index of the first quotient piece among the polynomials opened at x, and of the
/// quotient's value among the values reported at x.
pub const H_INDEX: usize = 12;
/// Number of values a worker reports at x (round 4): those of the first twelve
/// polynomials of [`OPENED_AT_X`], then the X-quotient's value
/// `h_0(x) + x^n·h_1(x) + x^{2n}·h_2(x)` (`n = T + 3`). Format 2 uses the pieces only in
/// this combination (the check of the shard's identity, H_Y, and the opening weights of
/// [`crate::linearise::OpeningWeights::expand`], proportional to `1, x^n, x^{2n}`), so
/// one value stands for the three.
pub const VALUES_AT_X: usize = 13;
/// Number of pieces the X-quotient of each shard is split into.
pub const QUOTIENT_PIECES: usize = 3;

/// A message from a worker to the aggregator. (Round 4's variant is the largest, 512
/// bytes; messages are few and short-lived, so it is not boxed.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerMessage {
    /// Round 1: commitments to the shard's wires a, b, c.
    Wires {
        /// `[a_i]`, `[b_i]`, `[c_i]`.
        commitments: [G1Affine; 3],
    },
    /// Round 2: commitment to the running product and the shard's total product P_i.
    RunningProduct {
        /// `[z_i]`.
        commitment: G1Affine,
        /// `P_i = z_i(ω_X^{T−1})`.
        product: Fr,
    },
    /// Round 3: commitments to the pieces of the shard's X-quotient.
    Quotient {
        /// `[h_{0,i}]`, `[h_{1,i}]`, `[h_{2,i}]`.
        commitments: [G1Affine; QUOTIENT_PIECES],
    },
    /// Round 4: evaluations at x of every shard polynomial, and of z at ω_X·x.
    Evaluations {
        /// Values at x, in the order of [`VALUES_AT_X`].
        at_x: [Fr; VALUES_AT_X],
        /// `z_i(ω_X·x)`.
        z_shift: Fr,
    },
    /// Round 5: the two partial opening proofs.
    Openings {
        /// Opening at x of the polynomials combined with the weights of
        /// [`AggregatorMessage::OpeningWeights`].
        at_x: G1Affine,
        /// Opening of z at ω_X·x.
        at_shifted_x: G1Affine,
    },
    /// An honest refusal to produce round `round`: the worker's inputs are inconsistent.
    Refusal {
        /// The round refused.
        round: u8,
        /// Why.
        reason: RefusalReason,
    },
}

/// Why an honest worker refuses to continue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalReason {
    /// Its witness breaks the gate at this row of its shard.
    GateUnsatisfied {
        /// The row.
        row: u32,
    },
    /// The link scalars contradict its running product (W[i]·P_i ≠ W[i+1], or W[0] ≠ 1):
    /// the job's witness breaks a copy constraint across shards, or the aggregator erred.
    LinkContradictsProduct,
    /// Its proving key does not match the job's verifying key.
    KeyMismatch,
    /// Its witness has the wrong shape.
    MalformedWitness,
    /// A challenge made a denominator zero (negligible probability).
    DegenerateChallenge,
    /// Its constraint does not vanish on its rows for another reason (its quotient left a
    /// remainder). Only signed when that is what happened.
    ConstraintNotSatisfied,
    /// Its SRS row is not `[R_i(τ_Y)·τ_X^j]₁` for the verifying key's Lagrange base and
    /// `[τ_X]₂`: proving with it would give openings that fail the share check.
    SrsRowInconsistent,
    /// Its inputs do not fit together (a statement shorter than a public row needs, a
    /// polynomial longer than its row): the job was assembled wrongly.
    MalformedInputs,
    /// It failed for a reason that is none of the above (an internal error). Says
    /// nothing about the witness or the challenges.
    Internal,
}

impl RefusalReason {
    fn code(&self) -> (u8, u32) {
        match self {
            RefusalReason::GateUnsatisfied { row } => (1, *row),
            RefusalReason::LinkContradictsProduct => (2, 0),
            RefusalReason::KeyMismatch => (3, 0),
            RefusalReason::MalformedWitness => (4, 0),
            RefusalReason::DegenerateChallenge => (5, 0),
            RefusalReason::ConstraintNotSatisfied => (6, 0),
            RefusalReason::SrsRowInconsistent => (7, 0),
            RefusalReason::MalformedInputs => (8, 0),
            RefusalReason::Internal => (9, 0),
        }
    }

    fn from_code(code: u8, row: u32) -> Option<Self> {
        Some(match code {
            1 => RefusalReason::GateUnsatisfied { row },
            2 => RefusalReason::LinkContradictsProduct,
            3 => RefusalReason::KeyMismatch,
            4 => RefusalReason::MalformedWitness,
            5 => RefusalReason::DegenerateChallenge,
            6 => RefusalReason::ConstraintNotSatisfied,
            7 => RefusalReason::SrsRowInconsistent,
            8 => RefusalReason::MalformedInputs,
            9 => RefusalReason::Internal,
            _ => return None,
        })
    }
}

impl std::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefusalReason::GateUnsatisfied { row } => {
                write!(f, "its witness breaks the gate at row {row}")
            }
            RefusalReason::LinkContradictsProduct => write!(
                f,
                "the link scalars contradict its running product (the witness breaks a copy constraint across shards)"
            ),
            RefusalReason::KeyMismatch => {
                write!(f, "its proving key does not match the verifying key")
            }
            RefusalReason::MalformedWitness => write!(f, "its witness has the wrong shape"),
            RefusalReason::DegenerateChallenge => write!(f, "a challenge made a denominator zero"),
            RefusalReason::ConstraintNotSatisfied => {
                write!(f, "its constraint does not vanish on its rows")
            }
            RefusalReason::SrsRowInconsistent => write!(
                f,
                "its SRS row is not consistent with the verifying key (a tampered row or SRS file)"
            ),
            RefusalReason::MalformedInputs => {
                write!(
                    f,
                    "its inputs do not fit together (the job was assembled wrongly)"
                )
            }
            RefusalReason::Internal => write!(f, "an internal error (nothing about its inputs)"),
        }
    }
}

/// A message from the aggregator to one worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AggregatorMessage {
    /// After round 1: the permutation challenges.
    PermutationChallenges {
        /// β.
        beta: Fr,
        /// γ.
        gamma: Fr,
    },
    /// After round 2: the combination challenge and this shard's link scalars.
    LinkScalars {
        /// α.
        alpha: Fr,
        /// W[i].
        w: Fr,
        /// W[(i + 1) mod M].
        w_next: Fr,
    },
    /// After round 3: the evaluation point x.
    EvaluationPoint {
        /// x.
        x: Fr,
    },
    /// After round 4: the weights of the round-5 opening at x (the batching challenge ν
    /// and the linearisation coefficients, see [`crate::linearise`]).
    OpeningWeights(OpeningWeights),
}

impl WorkerMessage {
    /// The round (1–5) this message belongs to.
    pub fn round(&self) -> u8 {
        match self {
            WorkerMessage::Wires { .. } => 1,
            WorkerMessage::RunningProduct { .. } => 2,
            WorkerMessage::Quotient { .. } => 3,
            WorkerMessage::Evaluations { .. } => 4,
            WorkerMessage::Openings { .. } => 5,
            WorkerMessage::Refusal { round, .. } => *round,
        }
    }

    fn tag(&self) -> u8 {
        match self {
            WorkerMessage::Refusal { .. } => 6,
            m => m.round(),
        }
    }

    /// Canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.tag()];
        match self {
            WorkerMessage::Refusal { round, reason } => {
                let (code, row) = reason.code();
                out.push(*round);
                out.push(code);
                out.extend_from_slice(&row.to_be_bytes());
            }
            WorkerMessage::Wires { commitments } | WorkerMessage::Quotient { commitments } => {
                commitments.iter().for_each(|c| put_g1(&mut out, c))
            }
            WorkerMessage::RunningProduct {
                commitment,
                product,
            } => {
                put_g1(&mut out, commitment);
                put_scalar(&mut out, product);
            }
            WorkerMessage::Evaluations { at_x, z_shift } => {
                at_x.iter().for_each(|v| put_scalar(&mut out, v));
                put_scalar(&mut out, z_shift);
            }
            WorkerMessage::Openings { at_x, at_shifted_x } => {
                put_g1(&mut out, at_x);
                put_g1(&mut out, at_shifted_x);
            }
        }
        out
    }

    /// Decodes a message, rejecting anything non-canonical.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes, "worker message");
        let msg = match r.u8()? {
            1 => WorkerMessage::Wires {
                commitments: [r.g1()?, r.g1()?, r.g1()?],
            },
            2 => WorkerMessage::RunningProduct {
                commitment: r.g1()?,
                product: r.scalar()?,
            },
            3 => WorkerMessage::Quotient {
                commitments: [r.g1()?, r.g1()?, r.g1()?],
            },
            4 => {
                let v = r.scalars(VALUES_AT_X)?;
                let mut at_x = [Fr::default(); VALUES_AT_X];
                at_x.copy_from_slice(&v);
                WorkerMessage::Evaluations {
                    at_x,
                    z_shift: r.scalar()?,
                }
            }
            5 => WorkerMessage::Openings {
                at_x: r.g1()?,
                at_shifted_x: r.g1()?,
            },
            6 => {
                let round = r.u8()?;
                let (code, row) = (r.u8()?, r.u32()?);
                let reason = RefusalReason::from_code(code, row).ok_or_else(|| {
                    ProtocolError::UnexpectedMessage(format!("unknown refusal code {code}"))
                })?;
                if reason.code() != (code, row) {
                    return Err(ProtocolError::UnexpectedMessage(format!(
                        "refusal code {code} carries row {row}; only code 1 names a row"
                    )));
                }
                if !(1..=5).contains(&round) {
                    return Err(ProtocolError::UnexpectedMessage(format!(
                        "refusal of round {round}"
                    )));
                }
                WorkerMessage::Refusal { round, reason }
            }
            t => {
                return Err(ProtocolError::UnexpectedMessage(format!(
                    "unknown worker message tag {t}"
                )));
            }
        };
        r.finish()?;
        Ok(msg)
    }
}

impl AggregatorMessage {
    /// The round (1–4) whose messages this answers.
    pub fn answers_round(&self) -> u8 {
        match self {
            AggregatorMessage::PermutationChallenges { .. } => 1,
            AggregatorMessage::LinkScalars { .. } => 2,
            AggregatorMessage::EvaluationPoint { .. } => 3,
            AggregatorMessage::OpeningWeights(_) => 4,
        }
    }

    /// Canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0x80 | self.answers_round()];
        let scalars: Vec<&Fr> = match self {
            AggregatorMessage::PermutationChallenges { beta, gamma } => vec![beta, gamma],
            AggregatorMessage::LinkScalars { alpha, w, w_next } => vec![alpha, w, w_next],
            AggregatorMessage::EvaluationPoint { x } => vec![x],
            AggregatorMessage::OpeningWeights(w) => {
                vec![&w.nu, &w.wires[0], &w.wires[1], &w.wires[2], &w.sigma, &w.z]
            }
        };
        scalars.into_iter().for_each(|s| put_scalar(&mut out, s));
        out
    }

    /// Decodes a message, rejecting anything non-canonical.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes, "aggregator message");
        let msg = match r.u8()? {
            0x81 => AggregatorMessage::PermutationChallenges {
                beta: r.scalar()?,
                gamma: r.scalar()?,
            },
            0x82 => AggregatorMessage::LinkScalars {
                alpha: r.scalar()?,
                w: r.scalar()?,
                w_next: r.scalar()?,
            },
            0x83 => AggregatorMessage::EvaluationPoint { x: r.scalar()? },
            0x84 => AggregatorMessage::OpeningWeights(OpeningWeights {
                nu: r.scalar()?,
                wires: [r.scalar()?, r.scalar()?, r.scalar()?],
                sigma: r.scalar()?,
                z: r.scalar()?,
            }),
            t => {
                return Err(ProtocolError::UnexpectedMessage(format!(
                    "unknown aggregator message tag {t:#04x}"
                )));
            }
        };
        r.finish()?;
        Ok(msg)
    }
}
