//! Preprocessing: per-shard proving keys and the verifying key.
//!
//! For each shard i the selector and label polynomials are interpolated over H_X, their
//! evaluations on the quotient coset are kept for the prover, and each is committed with
//! SRS row i. The verifying key holds the sums of those commitments over shards (the
//! bivariate commitments), the shape, δ, the G2 part of the SRS and the public-input
//! positions; the aggregator key adds the per-shard commitments (for share checks) and the
//! aggregator's part of the SRS.

use crate::error::ProtocolError;
use crate::layout::{Labels, Shape, ShardRows, ShardedCircuit};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::Field;
use ark_poly::EvaluationDomain;
use rayon::prelude::*;
use tutti_crypto::domain::{Domain, domain};
use tutti_crypto::encoding::{Reader, put_g1, put_scalar};
use tutti_crypto::kzg::commit;
use tutti_crypto::srs::{G2Part, RowSource, WorkerRow, row_len};
use tutti_crypto::transcript::keccak256;
use tutti_crypto::{Fr, G1Affine, G1Projective};

/// Number of preprocessed polynomials per shard: five selectors and three labels.
pub const FIXED_POLYS: usize = 8;
/// Format version of encoded verifying keys.
pub const VK_VERSION: u8 = 2;
/// SRS origin byte of a verifying key: a single-party setup (`tutti setup`).
const SRS_SINGLE_PARTY: u8 = 0;
/// SRS origin byte: generated from a public seed (INSECURE).
const SRS_SEEDED: u8 = 1;
/// SRS origin byte: finalized from a ceremony; the transcript digest follows.
const SRS_CEREMONY: u8 = 2;
/// Multiplicative offset of the quotient coset (the field's generator, 5).
pub fn coset_offset() -> Fr {
    Fr::from(5u64)
}

/// The quotient coset of size 4T.
pub fn quotient_coset(shape: Shape) -> Result<Domain, ProtocolError> {
    domain(4 * shape.shard_gates)?
        .get_coset(coset_offset())
        .ok_or_else(|| ProtocolError::InvalidShape("no quotient coset".into()))
}

/// What a worker needs about its shard's circuit: preprocessed polynomials and its SRS row.
///
/// Build it with [`shard_key_from_values`] (as a worker does from its assignment) or
/// [`preprocess`]: the derived fields (`fixed`, `fixed_coset`, `commitments`) must agree
/// with `fixed_values` and `row`, which are what the shard-inputs digest covers
/// ([`crate::worker::ShardInputs::digest`]).
#[derive(Clone, Debug)]
pub struct ShardProvingKey {
    /// Which shard.
    pub shard: usize,
    /// M and T.
    pub shape: Shape,
    /// The label offset δ.
    pub delta: Fr,
    /// q_L, q_R, q_O, q_M, q_C, σ_0, σ_1, σ_2 as values on H_X.
    pub fixed_values: [Vec<Fr>; FIXED_POLYS],
    /// The same in coefficient form.
    pub fixed: [Vec<Fr>; FIXED_POLYS],
    /// The same on the quotient coset of size 4T.
    pub fixed_coset: [Vec<Fr>; FIXED_POLYS],
    /// Public-input rows: (row, index into the statement).
    pub public_rows: Vec<(usize, usize)>,
    /// Commitments to the fixed polynomials with this shard's row.
    pub commitments: [G1Affine; FIXED_POLYS],
    /// This shard's SRS row.
    pub row: WorkerRow,
}

/// Builds shard `shard`'s proving key, loading only its SRS row.
pub fn shard_proving_key(
    sc: &ShardedCircuit,
    shard: usize,
    srs: &dyn RowSource,
) -> Result<ShardProvingKey, ProtocolError> {
    let shape = sc.shape;
    check_srs(shape, srs)?;
    let rows: &ShardRows = sc
        .shards
        .get(shard)
        .ok_or_else(|| ProtocolError::Mismatch(format!("no shard {shard}")))?;
    let row = srs.row(shard, row_len(shape.shard_gates))?;
    let labels = Labels::new(shape, sc.delta);
    let t = shape.shard_gates;
    let evals: Vec<Vec<Fr>> = (0..FIXED_POLYS)
        .into_par_iter()
        .map(|p| {
            if p < 5 {
                rows.selectors[p].clone()
            } else {
                rows.sigma[p - 5]
                    .iter()
                    .map(|s| labels.of_slot(*s))
                    .collect()
            }
        })
        .collect();
    debug_assert!(evals.iter().all(|e| e.len() == t));
    shard_key_from_values(
        shard,
        shape,
        sc.delta,
        to_array(evals),
        rows.public_rows.clone(),
        row,
    )
}

/// Builds a shard's proving key from its fixed polynomials' values on H_X and its SRS
/// row: interpolates, evaluates on the quotient coset and commits. What a worker does
/// with a [`crate::assignment::ShardAssignment`] received over the network.
pub fn shard_key_from_values(
    shard: usize,
    shape: Shape,
    delta: Fr,
    evals: [Vec<Fr>; FIXED_POLYS],
    public_rows: Vec<(usize, usize)>,
    row: WorkerRow,
) -> Result<ShardProvingKey, ProtocolError> {
    let t = shape.shard_gates;
    if evals.iter().any(|e| e.len() != t) || row.bases.len() < row_len(t) || shard >= shape.shards {
        return Err(ProtocolError::Mismatch(format!(
            "shard {shard} key material does not fit {} shards of {t} rows",
            shape.shards
        )));
    }
    if let Some((r, _)) = public_rows.iter().find(|(r, _)| *r >= t) {
        return Err(ProtocolError::Mismatch(format!(
            "public-input row {r} is outside a shard of {t} rows"
        )));
    }
    let dx = shape.x_domain();
    let coset = quotient_coset(shape)?;
    let fixed: Vec<Vec<Fr>> = evals.par_iter().map(|e| dx.ifft(e)).collect();
    let fixed_coset: Vec<Vec<Fr>> = fixed.par_iter().map(|c| coset.fft(c)).collect();
    let commitments: Vec<G1Projective> = fixed
        .iter()
        .map(|c| commit(&row.bases, c))
        .collect::<Result<_, _>>()?;
    let commitments = G1Projective::normalize_batch(&commitments);
    Ok(ShardProvingKey {
        shard,
        shape,
        delta,
        fixed_values: evals,
        fixed: to_array(fixed),
        fixed_coset: to_array(fixed_coset),
        public_rows,
        commitments: commitments
            .try_into()
            .unwrap_or([G1Affine::zero(); FIXED_POLYS]),
        row,
    })
}

fn to_array(v: Vec<Vec<Fr>>) -> [Vec<Fr>; FIXED_POLYS] {
    let mut it = v.into_iter();
    std::array::from_fn(|_| it.next().unwrap_or_default())
}

fn check_srs(shape: Shape, srs: &dyn RowSource) -> Result<(), ProtocolError> {
    let h = srs.header();
    if h.shards != shape.shards || h.shard_gates < shape.shard_gates {
        return Err(ProtocolError::Mismatch(format!(
            "the SRS is for {} shards of up to {} rows, the job needs {} shards of {} rows",
            h.shards, h.shard_gates, shape.shards, shape.shard_gates
        )));
    }
    Ok(())
}

/// The public verifying key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKey {
    /// M and T.
    pub shape: Shape,
    /// The label offset δ.
    pub delta: Fr,
    /// `[1]₂`, `[τ_X]₂`, `[τ_Y]₂`.
    pub g2: G2Part,
    /// Bivariate commitments to q_L, q_R, q_O, q_M, q_C, σ_0, σ_1, σ_2.
    pub fixed: [G1Affine; FIXED_POLYS],
    /// (shard, row) of each public input, in statement order.
    pub public_positions: Vec<(usize, usize)>,
    /// True when the SRS came from a public seed (proofs are then forgeable).
    pub insecure_srs: bool,
    /// The digest of the ceremony transcript the SRS was finalized from, when it came
    /// from a multi-party ceremony (`tutti ceremony`); `None` for a single-party or
    /// seeded setup. A label like `insecure_srs`: whoever relies on it verifies that
    /// transcript and that it ends in this key's G2 points (`tutti ceremony verify`).
    pub srs_transcript: Option<[u8; 32]>,
    /// Per-shard commitments to the fixed polynomials (for checking one worker's share
    /// and blame certificates offline; the verifier itself uses only their sums).
    pub shard_fixed: Vec<[G1Affine; FIXED_POLYS]>,
    /// `[R_i(τ_Y)]₁` per shard: the generator of shard i's univariate commitments.
    pub lagrange_y: Vec<G1Affine>,
}

impl VerifyingKey {
    /// Canonical encoding (version 2; spec/circuit.md §7).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![VK_VERSION];
        out.extend_from_slice(&(self.shape.shards as u32).to_be_bytes());
        out.extend_from_slice(&(self.shape.shard_gates as u32).to_be_bytes());
        match (self.insecure_srs, &self.srs_transcript) {
            (true, _) => out.push(SRS_SEEDED),
            (false, None) => out.push(SRS_SINGLE_PARTY),
            (false, Some(t)) => {
                out.push(SRS_CEREMONY);
                out.extend_from_slice(t);
            }
        }
        put_scalar(&mut out, &self.delta);
        self.g2.encode(&mut out);
        for c in &self.fixed {
            put_g1(&mut out, c);
        }
        out.extend_from_slice(&(self.public_positions.len() as u32).to_be_bytes());
        for (s, r) in &self.public_positions {
            out.extend_from_slice(&(*s as u32).to_be_bytes());
            out.extend_from_slice(&(*r as u32).to_be_bytes());
        }
        for (fixed, base) in self.shard_fixed.iter().zip(&self.lagrange_y) {
            fixed.iter().for_each(|c| put_g1(&mut out, c));
            put_g1(&mut out, base);
        }
        out
    }

    /// Decodes and validates a verifying key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes, "verifying key");
        let version = r.u8()?;
        if version != VK_VERSION {
            return Err(ProtocolError::UnsupportedVersion {
                what: "verifying key",
                version,
                supported: VK_VERSION,
            });
        }
        let shape = Shape::new(r.u32()? as usize, r.u32()? as usize)?;
        let (insecure_srs, srs_transcript) = match r.u8()? {
            SRS_SINGLE_PARTY => (false, None),
            SRS_SEEDED => (true, None),
            SRS_CEREMONY => (false, Some(r.array::<32>()?)),
            b => {
                return Err(ProtocolError::MalformedVerifyingKey(format!(
                    "bad SRS origin byte {b} (0 single-party setup, 1 seeded, 2 ceremony)"
                )));
            }
        };
        let delta = r.scalar()?;
        if !crate::layout::delta_candidates(shape).any(|c| c == delta) {
            return Err(ProtocolError::MalformedVerifyingKey(
                "the label offset δ is not one derived for this shape (a chosen δ can make the copy labels of two shards collide)".into(),
            ));
        }
        let g2 = G2Part::decode(&mut r)?;
        g2.validate()
            .map_err(|e| ProtocolError::MalformedVerifyingKey(e.to_string()))?;
        let fixed: Vec<G1Affine> = r.g1s(FIXED_POLYS)?;
        let n = r.u32()? as usize;
        if n > shape.shards * shape.shard_gates || n * 8 > r.remaining() {
            return Err(ProtocolError::MalformedVerifyingKey(format!(
                "verifying key declares {n} public inputs, more than it can hold"
            )));
        }
        let mut public_positions = Vec::with_capacity(n);
        let mut seen = std::collections::HashSet::with_capacity(n);
        for _ in 0..n {
            let (s, row) = (r.u32()? as usize, r.u32()? as usize);
            if s >= shape.shards || row >= shape.shard_gates - 1 {
                return Err(ProtocolError::MalformedVerifyingKey(format!(
                    "public input position ({s}, {row}) lies outside the usable rows"
                )));
            }
            if !seen.insert((s, row)) {
                return Err(ProtocolError::MalformedVerifyingKey(format!(
                    "public input position ({s}, {row}) appears twice"
                )));
            }
            public_positions.push((s, row));
        }
        let m = shape.shards;
        if r.remaining() != m * (FIXED_POLYS + 1) * 32 {
            return Err(ProtocolError::MalformedVerifyingKey(format!(
                "expected {} bytes of per-shard commitments for {m} shards, found {}",
                m * (FIXED_POLYS + 1) * 32,
                r.remaining()
            )));
        }
        let mut shard_fixed = Vec::with_capacity(m);
        let mut lagrange_y = Vec::with_capacity(m);
        for _ in 0..m {
            let f = r.g1s(FIXED_POLYS)?;
            shard_fixed.push(
                f.try_into().map_err(|_| {
                    ProtocolError::MalformedVerifyingKey("fixed commitments".into())
                })?,
            );
            lagrange_y.push(r.g1()?);
        }
        r.finish()?;
        // [R_i(τ_Y)]₁: none is the identity (R_i(τ_Y) ≠ 0 for τ_Y outside H_Y), and they
        // sum to the generator (Σ_i R_i = 1).
        if lagrange_y.iter().any(|p| p.is_zero()) {
            return Err(ProtocolError::MalformedVerifyingKey(
                "a shard's Lagrange base [R_i(τ_Y)]₁ is the identity".into(),
            ));
        }
        let base_sum: G1Projective = lagrange_y.iter().map(|p| p.into_group()).sum();
        if base_sum.into_affine() != G1Affine::generator() {
            return Err(ProtocolError::MalformedVerifyingKey(
                "the shards' Lagrange bases do not sum to the generator of G1".into(),
            ));
        }
        // The bivariate commitments are the sums of the per-shard ones.
        for (p, total) in fixed.iter().enumerate() {
            let sum: G1Projective = shard_fixed
                .iter()
                .map(|c: &[G1Affine; FIXED_POLYS]| c[p].into_group())
                .sum();
            if sum.into_affine() != *total {
                return Err(ProtocolError::MalformedVerifyingKey(format!(
                    "fixed commitment {p} is not the sum of the per-shard commitments"
                )));
            }
        }
        Ok(VerifyingKey {
            shape,
            delta,
            g2,
            fixed: fixed
                .try_into()
                .map_err(|_| ProtocolError::MalformedVerifyingKey("fixed commitments".into()))?,
            public_positions,
            insecure_srs,
            srs_transcript,
            shard_fixed,
            lagrange_y,
        })
    }

    /// The identity of the SRS this key was made with ([`G2Part::srs_id`]): what a
    /// verifier or a client pins to know whose setup it trusts. It does not depend on
    /// the `insecure_srs` byte, which is a label, not evidence.
    pub fn srs_id(&self) -> [u8; 32] {
        self.g2.srs_id(self.shape.shards)
    }

    /// The well-known public seed this key's SRS was generated from, if any
    /// ([`tutti_crypto::srs::public_seed_of`]): its proofs are then forgeable by anyone,
    /// whatever `insecure_srs` says.
    pub fn public_srs_seed(&self) -> Option<&'static str> {
        tutti_crypto::srs::public_seed_of(&self.g2)
    }

    /// Keccak-256 of the encoding: what the transcript absorbs first.
    pub fn digest(&self) -> [u8; 32] {
        keccak256(&self.to_bytes())
    }

    /// ω_X^{T−1}.
    pub fn omega_last(&self) -> Fr {
        self.shape
            .x_domain()
            .group_gen()
            .pow([(self.shape.shard_gates - 1) as u64])
    }
}

/// What the aggregator holds: the verifying key, per-shard commitments and its SRS part.
#[derive(Clone, Debug)]
pub struct AggregatorKey {
    /// The verifying key.
    pub vk: VerifyingKey,
    /// Per-shard commitments to the fixed polynomials (share checks).
    pub shard_fixed: Vec<[G1Affine; FIXED_POLYS]>,
    /// `[R_i(τ_Y)]₁` per shard.
    pub lagrange_y: Vec<G1Affine>,
    /// `[τ_Y^k]₁`.
    pub y_powers: Vec<G1Affine>,
}

/// Everything preprocessing produces.
#[derive(Clone, Debug)]
pub struct Preprocessed {
    /// The aggregator's key (includes the verifying key).
    pub aggregator: AggregatorKey,
    /// One proving key per shard.
    pub proving_keys: Vec<ShardProvingKey>,
}

/// Preprocesses every shard and assembles the keys.
pub fn preprocess(sc: &ShardedCircuit, srs: &dyn RowSource) -> Result<Preprocessed, ProtocolError> {
    check_srs(sc.shape, srs)?;
    let proving_keys: Vec<ShardProvingKey> = (0..sc.shape.shards)
        .map(|i| shard_proving_key(sc, i, srs))
        .collect::<Result<_, _>>()?;
    let shard_fixed: Vec<[G1Affine; FIXED_POLYS]> =
        proving_keys.iter().map(|pk| pk.commitments).collect();
    let aggregator = aggregator_key(sc, srs, shard_fixed)?;
    Ok(Preprocessed {
        aggregator,
        proving_keys,
    })
}

/// Assembles the aggregator key from per-shard fixed commitments.
pub fn aggregator_key(
    sc: &ShardedCircuit,
    srs: &dyn RowSource,
    shard_fixed: Vec<[G1Affine; FIXED_POLYS]>,
) -> Result<AggregatorKey, ProtocolError> {
    let agg = srs.aggregator_part()?;
    let sums: Vec<G1Projective> = (0..FIXED_POLYS)
        .map(|p| shard_fixed.iter().map(|c| c[p].into_group()).sum())
        .collect();
    let fixed = G1Projective::normalize_batch(&sums);
    let vk = VerifyingKey {
        shape: sc.shape,
        delta: sc.delta,
        g2: agg.g2,
        fixed: fixed
            .try_into()
            .map_err(|_| ProtocolError::Mismatch("fixed commitments".into()))?,
        public_positions: sc.public_positions.clone(),
        insecure_srs: agg.header.insecure,
        srs_transcript: agg.header.transcript.filter(|_| !agg.header.insecure),
        shard_fixed: shard_fixed.clone(),
        lagrange_y: agg.lagrange_y.clone(),
    };
    Ok(AggregatorKey {
        vk,
        shard_fixed,
        lagrange_y: agg.lagrange_y,
        y_powers: agg.y_powers,
    })
}

/// `L_0(X) = (X^T − 1)/(T·(X − 1))` on the quotient coset of size 4T.
pub fn lagrange_first_on_coset(shape: Shape) -> Result<Vec<Fr>, ProtocolError> {
    Ok(first_lagrange_on_coset(
        &quotient_coset(shape)?,
        shape.shard_gates,
    ))
}

/// The vanishing polynomial `X^n − 1` of the size-n subgroup on a coset of size 4n:
/// it takes only four values there, `offset^n·(ω_4n^n)^k − 1` at point k (period 4).
pub fn vanishing_on_coset(coset: &Domain, n: usize) -> [Fr; 4] {
    let offset_n = coset.coset_offset().pow([n as u64]);
    let fourth = coset.group_gen().pow([n as u64]);
    std::array::from_fn(|k| offset_n * fourth.pow([k as u64]) - Fr::from(1u64))
}

/// `L_0(X) = (X^n − 1)/(n·(X − 1))` of the size-n subgroup on every point of a coset of
/// size 4n (the X-quotient coset with n = T, the Y-quotient coset with n = M): one
/// batched inversion and no per-point exponentiation ([`vanishing_on_coset`]).
pub fn first_lagrange_on_coset(coset: &Domain, n: usize) -> Vec<Fr> {
    let z = vanishing_on_coset(coset, n);
    let one = Fr::from(1u64);
    let n_fr = Fr::from(n as u64);
    let mut denom: Vec<Fr> = coset.elements().map(|p| n_fr * (p - one)).collect();
    ark_ff::batch_inversion(&mut denom);
    denom
        .par_iter_mut()
        .enumerate()
        .for_each(|(k, d)| *d *= z[k % 4]);
    denom
}

/// Evaluates a shard's Lagrange basis polynomials of H_X on the quotient coset
/// (`L_row(X)` for one row), used for public inputs and the first/last-row terms.
///
/// `L_row(X) = L_0(ω_X^{−row}·X)`, and multiplying a coset point by `ω_X^{−row}` moves it
/// `4·row` places back on the coset (`ω_X = ω_4T^4`), so `L_row` is `L_0` rotated.
pub fn lagrange_on_coset(shape: Shape, row: usize) -> Result<Vec<Fr>, ProtocolError> {
    let first = lagrange_first_on_coset(shape)?;
    Ok(rotate_on_coset(&first, row))
}

/// `L_row` on the quotient coset from `L_0` on it: entry k is `L_0`'s entry `k − 4·row`.
pub fn rotate_on_coset(first: &[Fr], row: usize) -> Vec<Fr> {
    let n = first.len();
    if n == 0 {
        return Vec::new();
    }
    let shift = (4 * row) % n;
    let mut out = Vec::with_capacity(n);
    out.extend_from_slice(&first[n - shift..]);
    out.extend_from_slice(&first[..n - shift]);
    out
}
