//! Starting the ceremony from a univariate powers-of-tau ceremony for τ_X: a reader of
//! snarkjs's `.ptau` files (the Perpetual Powers of Tau format) and
//! [`CeremonyState::from_ptau`].
//!
//! # The `.ptau` format (snarkjs 0.7.6)
//!
//! An iden3 "binfile" (`@iden3/binfileutils`), all integers little-endian: magic `"ptau"`,
//! version u32 = 1, section count u32, then sections `type u32 ‖ size u64 ‖ data`.
//! Section 1 (header, `powersoftau_utils.js` `writePTauHeader`): `n8` u32 (32), the base
//! field prime q (n8 bytes, little-endian), `power` u32, `ceremonyPower` u32. Section 2:
//! `tauG1`, the `2^power·2 − 1` points `[τ^i]₁`; section 3: `tauG2`, the `2^power` points
//! `[τ^i]₂` (`powersoftau_new.js`); sections 4–7 (alphaTauG1, betaTauG1, betaG2,
//! contributions) and 12–15 (Lagrange forms after `prepare phase2`) are not read.
//! Points are in wasmcurves' "LEM" form (`toRprLEM` in ffjavascript's `wasm_curve.js` is
//! the in-memory affine point): x then y, each coordinate in Montgomery form
//! (`a·2^256 mod q`) as 32 bytes little-endian; a G2 coordinate is `c0 ‖ c1` of
//! `c0 + c1·u`; the point at infinity is all zeros (`_zeroAffine` / `_isZeroAffine`).
//! arkworks' `Fq` stores the same Montgomery form (R = 2^256), so a coordinate is read
//! with [`Fp::new_unchecked`](ark_ff::Fp::new_unchecked) after checking it is below q.
//!
//! # Why starting from a `.ptau` is sound
//!
//! [`CeremonyState::from_ptau`] takes `[τ_X^i]₁` (i < T + 4) and `[τ_X]₂` from the file
//! and sets τ_Y = 1; every later contribution must keep τ_X (r = 1) and update τ_Y
//! (s ∉ {0, 1}), checked by [`super::verify_contribution`] exactly as in a fresh
//! ceremony. The argument, per trapdoor:
//!
//! * *τ_X is secret* if one contributor of the univariate ceremony was honest: that is
//!   the powers-of-tau ceremony's own guarantee (verified by its transcript, e.g.
//!   `snarkjs powersoftau verify`, which this reader does *not* redo). What this reader
//!   checks is that the points used are the powers of one τ_X: `tauG1[0] = G`,
//!   `tauG2[0] = H`, every point in the subgroup, and by one random linear combination
//!   `e(Σρ_i·tauG1[i+1], H) = e(Σρ_i·tauG1[i], tauG2[1])` for i < need − 1 (which
//!   includes `tauG1[1] = τ·G` for the τ of `tauG2[1]`). Which file, and so which
//!   univariate transcript, is being trusted is pinned by `x_from_ptau`, the BLAKE3 digest
//!   of the whole file, part of the genesis hash and so of every record hash and proof
//!   of knowledge after it: anyone can check that it is the digest of a published file
//!   whose transcript they have verified.
//! * *τ_Y is secret* if one contributor here was honest: the argument of the module
//!   docs, applied to τ_Y alone (each contributor proves knowledge of s; τ_Y is the
//!   product of the s's; the honest s is uniform and unknown).
//! * *The grid is the monomial grid of this τ_X and τ_Y*: every contribution is
//!   verified with the same structure checks as before (X links against `[τ_X]₂`, Y links
//!   against `[τ_Y]₂`, `G[1][0]` bound to `[τ_X]₂`), and `[τ_X]₂` is the ptau's
//!   `tauG2[1]` throughout (r = 1 is enforced as `[τ_X']₂ = [τ_X]₂`; the X proof of
//!   knowledge is then one of knowledge of 1, `P = G`, which is harmless). So entry
//!   (i, j) is `[τ_X^i·τ_Y^j]₁` for the very τ_X of the file.
//! * *τ_Y is independent of τ_X*: the file, and so `[τ_X^i]₁` and `[τ_X]₂`, is fixed (by
//!   its digest, hashed into the first challenge) before any s is drawn, and the honest
//!   τ_Y contributor's s is uniform whatever the file holds. A dishonest τ_Y contributor
//!   can only choose its own s as a function of what it knows; by extraction it knows s,
//!   so to make τ_Y depend on τ_X (say τ_Y = τ_X, or any known relation) it would have to
//!   know τ_X, i.e. be, or have corrupted, every contributor of the univariate
//!   ceremony, or solve a discrete logarithm. The caveat: the two assumptions are
//!   separate. If the univariate ceremony had no honest contributor, τ_X is known, and
//!   then so is the X structure, whatever happens here; if this ceremony had no honest
//!   contributor, τ_Y is known. Soundness needs one honest party in *each*, and the
//!   `.ptau` must be a well-known file whose transcript was verified, not one supplied by
//!   a τ_Y contributor.
//!
//! The random weights of the consistency check are derived from the file's digest
//! (BLAKE3 in key-derivation mode): the file is fixed before its weights, so a file
//! whose errors cancel in the combination must be found by trying about 2^128 files.
//! This keeps [`CeremonyState::from_ptau`] a deterministic function of its inputs.

use super::{CeremonyError, CeremonyState, check_sizes};
use crate::srs::{row_len, y_len};
use crate::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_bn254::{Fq, Fq2};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInt, BigInteger, PrimeField, Zero};
use ark_std::rand::{CryptoRng, Rng};
use rayon::prelude::*;

/// Magic bytes of a `.ptau` file.
pub const PTAU_MAGIC: &[u8; 4] = b"ptau";
const PTAU_VERSION: u32 = 1;
const N8: usize = 32;
const G1_LEM: usize = 2 * N8;
const G2_LEM: usize = 4 * N8;
/// Largest `power` considered (snarkjs's own limit for bn128 is 28).
const MAX_POWER: u32 = 40;
const WEIGHTS_CONTEXT: &str = "tutti 2025 ceremony: ptau consistency weights v1";

/// Why a `.ptau` file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PtauError {
    /// The data ends before what the header or a section size calls for.
    #[error("truncated .ptau: {what} needs {needed} bytes, {available} available")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// Not a `.ptau` file (magic bytes), or a binfile version other than 1.
    #[error("not a .ptau file of version 1: {0}")]
    NotPtau(String),
    /// The section table is malformed (a required section missing or repeated, bytes
    /// after the last section, a header of the wrong size).
    #[error("malformed .ptau: {0}")]
    Malformed(String),
    /// The file is for another curve: its field element size or prime is not BN254's
    /// base field.
    #[error("the .ptau is for another curve: {0}")]
    WrongCurve(String),
    /// The ceremony's grid column 0 is not the file's powers: it did not start from it.
    #[error(
        "grid entry [τ_X^{power}]₁ is not the .ptau's tauG1[{power}]: the ceremony did not start from this file"
    )]
    ColumnMismatch {
        /// The first power that differs.
        power: usize,
    },
    /// The file's powers do not cover the X powers the ceremony needs.
    #[error("the .ptau has {available} powers [τ^i]₁ (power {power}); the ceremony needs {needed}")]
    PowerTooSmall {
        /// The file's `power`.
        power: u32,
        /// `2^power·2 − 1`, the tauG1 points in the file.
        available: u64,
        /// T + 4.
        needed: u64,
    },
    /// A section's size is not the one its header's `power` calls for.
    #[error("section {section} of the .ptau has {found} bytes; power {power} calls for {expected}")]
    SectionSize {
        /// Section type.
        section: u32,
        /// The file's `power`.
        power: u32,
        /// Expected size.
        expected: u64,
        /// Size found.
        found: u64,
    },
    /// A coordinate is not below the prime (not a canonical field element).
    #[error("{section} point {index}: a coordinate is not below the prime")]
    NonCanonical {
        /// `tauG1` or `tauG2`.
        section: &'static str,
        /// Index of the point.
        index: usize,
    },
    /// A point is not on the curve, or not in the prime-order subgroup, or is the point
    /// at infinity.
    #[error("{section} point {index} is not a non-identity point of the prime-order subgroup")]
    BadPoint {
        /// `tauG1` or `tauG2`.
        section: &'static str,
        /// Index of the point.
        index: usize,
    },
    /// `tauG1[0]` or `tauG2[0]` is not the generator.
    #[error("{0}[0] is not the generator")]
    NotGenerator(&'static str),
    /// τ = 1: the file has no contribution (`powersoftau new` only).
    #[error("the .ptau's τ is 1 (no contribution): τ_X would be public")]
    TrivialTau,
    /// The tauG1 points are not successive powers of the τ of `tauG2[1]`.
    #[error("the .ptau's tauG1 points are not the powers of the τ of tauG2[1]")]
    NotPowers,
    /// A ceremony error (sizes M, T; or, in a transcript, a contribution refused).
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
}

/// What the ceremony takes from a `.ptau` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ptau {
    /// The header's `power` (tauG1 has `2^power·2 − 1` points).
    pub power: u32,
    /// The header's `ceremonyPower`.
    pub ceremony_power: u32,
    /// `[τ^i]₁` for `i < need` (the first `need` points of tauG1).
    pub tau_g1: Vec<G1Affine>,
    /// `[τ]₂` (`tauG2[1]`).
    pub tau_g2: G2Affine,
    /// BLAKE3 of the whole file.
    pub digest: [u8; 32],
}

fn truncated(what: &'static str, needed: u64, available: usize) -> PtauError {
    PtauError::Truncated {
        what,
        needed,
        available: available as u64,
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

/// A base field element from 32 bytes of little-endian Montgomery form.
fn fq_lem(b: &[u8]) -> Option<Fq> {
    let mut limbs = [0u64; 4];
    for (k, l) in limbs.iter_mut().enumerate() {
        *l = u64_at(b, 8 * k);
    }
    let m = BigInt::new(limbs);
    (m < Fq::MODULUS).then_some(Fq::new_unchecked(m))
}

fn g1_lem(b: &[u8], index: usize) -> Result<G1Affine, PtauError> {
    let (x, y) = match (fq_lem(&b[..N8]), fq_lem(&b[N8..G1_LEM])) {
        (Some(x), Some(y)) => (x, y),
        _ => {
            return Err(PtauError::NonCanonical {
                section: "tauG1",
                index,
            });
        }
    };
    let p = G1Affine::new_unchecked(x, y);
    // All zeros, snarkjs's point at infinity, is arkworks' too (`(0, 0)`): refused (a
    // power of a non-zero τ is never the identity).
    if p.is_zero() || !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(PtauError::BadPoint {
            section: "tauG1",
            index,
        });
    }
    Ok(p)
}

fn g2_lem(b: &[u8], index: usize) -> Result<G2Affine, PtauError> {
    let c: Vec<Option<Fq>> = b[..G2_LEM].chunks(N8).map(fq_lem).collect();
    let (x, y) = match (c[0], c[1], c[2], c[3]) {
        (Some(x0), Some(x1), Some(y0), Some(y1)) => (Fq2::new(x0, x1), Fq2::new(y0, y1)),
        _ => {
            return Err(PtauError::NonCanonical {
                section: "tauG2",
                index,
            });
        }
    };
    let p = G2Affine::new_unchecked(x, y);
    if p.is_zero() || !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(PtauError::BadPoint {
            section: "tauG2",
            index,
        });
    }
    Ok(p)
}

/// Reads a snarkjs `.ptau` file (see the module docs for the format): the header, the
/// first `need` points of tauG1, and tauG2[0..2]. Refuses another curve, a `power` with
/// fewer than `need` tauG1 points, section sizes that do not match `power`, truncated
/// data, non-canonical coordinates, points off the curve or the subgroup or at infinity,
/// `tauG1[0] ≠ G` or `tauG2[0] ≠ H`, τ = 1, and tauG1 points that are not the powers of
/// the τ of `tauG2[1]` (one random linear combination, weights derived from the digest).
/// Every size is checked against the data before anything is allocated. `need` must be
/// at least 2.
pub fn read_ptau(bytes: &[u8], need: usize) -> Result<Ptau, PtauError> {
    if bytes.len() < 12 {
        return Err(truncated("the binfile header", 12, bytes.len()));
    }
    if &bytes[..4] != PTAU_MAGIC {
        return Err(PtauError::NotPtau("bad magic bytes".into()));
    }
    let version = u32_at(bytes, 4);
    if version != PTAU_VERSION {
        return Err(PtauError::NotPtau(format!("version {version}")));
    }
    let n_sections = u32_at(bytes, 8);
    // Offsets and sizes of sections 1, 2, 3.
    let mut found: [Option<(usize, u64)>; 3] = [None; 3];
    let mut pos = 12usize;
    for _ in 0..n_sections {
        if bytes.len() - pos < 12 {
            return Err(truncated("a section header", 12, bytes.len() - pos));
        }
        let (kind, size) = (u32_at(bytes, pos), u64_at(bytes, pos + 4));
        pos += 12;
        let left = bytes.len() - pos;
        if size > left as u64 {
            return Err(truncated("a section", size, left));
        }
        if (1..=3).contains(&kind) {
            let slot = &mut found[kind as usize - 1];
            if slot.is_some() {
                return Err(PtauError::Malformed(format!(
                    "section {kind} appears twice"
                )));
            }
            *slot = Some((pos, size));
        }
        pos += size as usize;
    }
    if pos != bytes.len() {
        return Err(PtauError::Malformed(format!(
            "{} bytes after the last of {n_sections} sections",
            bytes.len() - pos
        )));
    }
    let section = |k: u32| {
        found[k as usize - 1]
            .ok_or_else(|| PtauError::Malformed(format!("no section {k}")))
            .map(|(at, size)| &bytes[at..at + size as usize])
    };
    let header = section(1)?;
    if header.len() < 4 {
        return Err(truncated("the ptau header", 4, header.len()));
    }
    let n8 = u32_at(header, 0) as usize;
    if n8 != N8 {
        return Err(PtauError::WrongCurve(format!(
            "field elements of {n8} bytes, BN254 has {N8}"
        )));
    }
    if header.len() != 4 + N8 + 8 {
        return Err(PtauError::Malformed(format!(
            "header of {} bytes, expected {}",
            header.len(),
            4 + N8 + 8
        )));
    }
    let mut q = [0u8; N8];
    q.copy_from_slice(&header[4..4 + N8]);
    if q[..] != Fq::MODULUS.to_bytes_le()[..] {
        return Err(PtauError::WrongCurve(
            "the prime is not BN254's base field modulus".into(),
        ));
    }
    let power = u32_at(header, 4 + N8);
    let ceremony_power = u32_at(header, 8 + N8);
    if power > MAX_POWER {
        return Err(PtauError::Malformed(format!("power {power}")));
    }
    let n_g1 = (1u64 << (power + 1)) - 1;
    let n_g2 = 1u64 << power;
    let (g1s, g2s) = (section(2)?, section(3)?);
    for (k, n, bytes_per, s) in [(2, n_g1, G1_LEM, g1s), (3, n_g2, G2_LEM, g2s)] {
        let expected = n * bytes_per as u64;
        if s.len() as u64 != expected {
            return Err(PtauError::SectionSize {
                section: k,
                power,
                expected,
                found: s.len() as u64,
            });
        }
    }
    if (need as u64) > n_g1 || n_g2 < 2 {
        return Err(PtauError::PowerTooSmall {
            power,
            available: n_g1,
            needed: need as u64,
        });
    }
    if need < 2 {
        return Err(PtauError::PowerTooSmall {
            power,
            available: n_g1,
            needed: 2,
        });
    }
    // Sizes are now known to fit in the data: allocate.
    let tau_g1: Vec<G1Affine> = g1s[..need * G1_LEM]
        .par_chunks(G1_LEM)
        .enumerate()
        .map(|(k, c)| g1_lem(c, k))
        .collect::<Result<_, _>>()?;
    let h0 = g2_lem(&g2s[..G2_LEM], 0)?;
    let tau_g2 = g2_lem(&g2s[G2_LEM..2 * G2_LEM], 1)?;
    if tau_g1[0] != G1Affine::generator() {
        return Err(PtauError::NotGenerator("tauG1"));
    }
    if h0 != G2Affine::generator() {
        return Err(PtauError::NotGenerator("tauG2"));
    }
    if tau_g2 == G2Affine::generator() {
        return Err(PtauError::TrivialTau);
    }
    let mut h = blake3::Hasher::new();
    h.update_rayon(bytes);
    let digest = *h.finalize().as_bytes();
    // e(Σρ_i·tauG1[i], [τ]₂) = e(Σρ_i·tauG1[i+1], H), i < need − 1.
    let mut xof = blake3::Hasher::new_derive_key(WEIGHTS_CONTEXT)
        .update(&digest)
        .finalize_xof();
    let w: Vec<Fr> = (0..need - 1)
        .map(|_| {
            let mut b = [0u8; 16];
            xof.fill(&mut b);
            Fr::from(u128::from_le_bytes(b))
        })
        .collect();
    let a = G1Projective::msm_unchecked(&tau_g1[..need - 1], &w);
    let b = G1Projective::msm_unchecked(&tau_g1[1..], &w);
    let ab = G1Projective::normalize_batch(&[a, -b]);
    if !Bn254::multi_pairing(ab, [tau_g2, G2Affine::generator()]).is_zero() {
        return Err(PtauError::NotPowers);
    }
    Ok(Ptau {
        power,
        ceremony_power,
        tau_g1,
        tau_g2,
        digest,
    })
}

impl CeremonyState {
    /// The starting state of a ceremony whose τ_X is that of a univariate powers-of-tau
    /// ceremony (a snarkjs `.ptau` file, read by [`read_ptau`] with `need = T + 4`): grid
    /// entry (i, j) is `tauG1[i]` for every j (τ_Y = 1), the extra Y powers are G,
    /// `[τ_X]₂ = tauG2[1]`, `[τ_Y]₂ = H`, and `x_from_ptau` is the file's BLAKE3 digest.
    /// Contributions then update τ_Y only (r = 1, enforced by
    /// [`super::verify_contribution`]). See the [`ptau` module docs](super::ptau) for
    /// the format and why this is sound.
    pub fn from_ptau(ptau: &[u8], shards: usize, shard_gates: usize) -> Result<Self, PtauError> {
        check_sizes(shards, shard_gates)?;
        let p = read_ptau(ptau, row_len(shard_gates))?;
        let grid = p
            .tau_g1
            .iter()
            .flat_map(|g| std::iter::repeat_n(*g, shards))
            .collect();
        Ok(CeremonyState {
            shards,
            shard_gates,
            grid,
            extra_y: vec![G1Affine::generator(); y_len(shards) - shards],
            tau_x_g2: p.tau_g2,
            tau_y_g2: G2Affine::generator(),
            contributions: Vec::new(),
            x_from_ptau: Some(p.digest),
        })
    }
}

/// [`super::verify_ceremony`] for a ceremony started from a `.ptau`, checked against the
/// file: the state names this file (`x_from_ptau` is its digest), its `[τ_X]₂` is the
/// file's, and grid column 0 (`[τ_X^i]₁`, untouched by the τ_Y contributions) is the
/// file's `tauG1` powers; then every record and the grid as [`super::verify_ceremony`].
pub fn verify_ceremony_from_ptau<R: Rng + CryptoRng + ?Sized>(
    ptau: &[u8],
    state: &CeremonyState,
    rng: &mut R,
    progress: super::Progress<'_>,
) -> Result<(), PtauError> {
    state.check_shape()?;
    let p = read_ptau(ptau, row_len(state.shard_gates))?;
    if state.x_from_ptau != Some(p.digest) || state.tau_x_g2 != p.tau_g2 {
        return Err(CeremonyError::PtauXChanged.into());
    }
    let m = state.shards;
    if let Some(i) = (0..p.tau_g1.len()).find(|&i| state.grid[i * m] != p.tau_g1[i]) {
        return Err(PtauError::ColumnMismatch { power: i });
    }
    Ok(super::verify_ceremony(state, rng, progress)?)
}

/// [`super::verify_transcript`] for a ceremony started from a `.ptau`: `states[0]` must
/// be [`CeremonyState::from_ptau`]`(ptau, M, T)` (else [`CeremonyError::NotInitial`]),
/// and each later state its predecessor plus one contribution.
pub fn verify_transcript_from_ptau<R: Rng + CryptoRng + ?Sized>(
    ptau: &[u8],
    states: &[CeremonyState],
    rng: &mut R,
) -> Result<(), PtauError> {
    let Some(first) = states.first() else {
        return Err(CeremonyError::NotInitial.into());
    };
    if *first != CeremonyState::from_ptau(ptau, first.shards, first.shard_gates)? {
        return Err(CeremonyError::NotInitial.into());
    }
    Ok(super::verify::verify_steps(states, rng)?)
}
