//! The per-worker checks, as pure functions of public data and one worker's messages.
//! The aggregator runs them on arrival; a blame certificate re-runs them offline. Being one
//! implementation, the two cannot disagree.

use crate::constraint::{Challenges, ConstraintInputs, combined_constraint};
use crate::keys::{FIXED_POLYS, VerifyingKey};
use crate::linearise::OpeningWeights;
use crate::messages::{H_INDEX, OPENED_AT_X, QUOTIENT_PIECES, VALUES_AT_X, Z_INDEX};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{Field, One, Zero};
use ark_poly::EvaluationDomain;
use tutti_crypto::domain::{lagrange_at, vanishing_at};
use tutti_crypto::kzg::ShareClaim;
use tutti_crypto::{Fr, G1Affine, G1Projective};

/// `PI_i(x) = −Σ v·L_row(x)` over the public inputs placed in `shard`.
pub fn public_input_at(vk: &VerifyingKey, public_inputs: &[Fr], shard: usize, x: Fr) -> Fr {
    let dx = vk.shape.x_domain();
    vk.public_positions
        .iter()
        .zip(public_inputs)
        .filter(|((s, _), _)| *s == shard)
        .map(|((_, r), v)| -(*v) * lagrange_at(&dx, *r, x))
        .sum()
}

/// The link scalars and challenges a shard received.
#[derive(Clone, Copy, Debug)]
pub struct ShardChallenges {
    /// β, γ, α.
    pub constraint: Challenges,
    /// W[i].
    pub w: Fr,
    /// W[(i + 1) mod M].
    pub w_next: Fr,
    /// The evaluation point x.
    pub x: Fr,
}

/// What check 4 needs about the point x, the same for every shard: computed once per
/// round instead of once per shard.
#[derive(Clone, Copy, Debug)]
pub struct PointConstants {
    x: Fr,
    l_first: Fr,
    l_last: Fr,
    omega_last: Fr,
    zx: Fr,
    omega_y: Fr,
}

impl PointConstants {
    /// The constants at `x` for the circuit of `vk`.
    pub fn new(vk: &VerifyingKey, x: Fr) -> Self {
        let t = vk.shape.shard_gates;
        let dx = vk.shape.x_domain();
        PointConstants {
            x,
            l_first: lagrange_at(&dx, 0, x),
            l_last: lagrange_at(&dx, t - 1, x),
            omega_last: vk.omega_last(),
            zx: vanishing_at(t, x),
            omega_y: vk.shape.y_domain().group_gen(),
        }
    }
}

/// Check 4: the shard's opened values satisfy its own identity
/// `G_i(x) = Z_X(x)·(h_0 + x^n h_1 + x^{2n} h_2)(x)` (the last value is the quotient's).
pub fn local_identity_holds(
    vk: &VerifyingKey,
    shard: usize,
    at_x: &[Fr; VALUES_AT_X],
    z_shift: Fr,
    ch: &ShardChallenges,
    pi: Fr,
) -> bool {
    let k = PointConstants::new(vk, ch.x);
    local_identity_holds_at(vk, &k, shard, at_x, z_shift, ch, pi)
}

/// [`local_identity_holds`] with the point constants computed once by the caller.
pub fn local_identity_holds_at(
    vk: &VerifyingKey,
    k: &PointConstants,
    shard: usize,
    at_x: &[Fr; VALUES_AT_X],
    z_shift: Fr,
    ch: &ShardChallenges,
    pi: Fr,
) -> bool {
    if k.x != ch.x {
        return false;
    }
    let v = at_x;
    let inputs = ConstraintInputs {
        wires: [v[0], v[1], v[2]],
        selectors: [v[3], v[4], v[5], v[6], v[7]],
        sigmas: [v[8], v[9], v[10]],
        z: v[Z_INDEX],
        z_shift,
        pi,
        x: k.x,
        delta_y: vk.delta * k.omega_y.pow([shard as u64]),
        l_first: k.l_first,
        l_last: k.l_last,
        w: ch.w,
        w_next: ch.w_next,
        r_first: if shard == 0 { Fr::one() } else { Fr::zero() },
    };
    let g = combined_constraint(&inputs, &ch.constraint, k.omega_last);
    g == k.zx * v[H_INDEX]
}

pub use tutti_crypto::scalars::powers_of;

/// The commitments of the polynomials opened at x, in the order of
/// [`crate::messages::OPENED_AT_X`]: wires, fixed (selectors then labels), z, quotient
/// pieces. Used per shard (share checks) and aggregated (verifier).
pub fn opened_commitments(
    wires: &[G1Affine; 3],
    fixed: &[G1Affine; FIXED_POLYS],
    z: &G1Affine,
    quotient: &[G1Affine; QUOTIENT_PIECES],
) -> [G1Affine; OPENED_AT_X] {
    let mut out = [G1Affine::default(); OPENED_AT_X];
    out[..3].copy_from_slice(wires);
    out[3..3 + FIXED_POLYS].copy_from_slice(fixed);
    out[Z_INDEX] = *z;
    out[H_INDEX..].copy_from_slice(quotient);
    out
}

/// `Σ λ_k·v_k` over a shard's values at x: the quotient's value stands for its three pieces
/// because their weights are `λ_{12}·(1, x^n, x^{2n})` ([`OpeningWeights::expand`]).
pub fn weighted_value(at_x: &[Fr; VALUES_AT_X], weights: &[Fr; OPENED_AT_X]) -> Fr {
    at_x.iter().zip(weights).map(|(v, w)| *v * w).sum()
}

/// One shard's commitments, in the order the protocol opens them.
#[derive(Clone, Copy, Debug)]
pub struct ShardCommitments {
    /// Round 1: wires.
    pub wires: [G1Affine; 3],
    /// Round 2: running product.
    pub z: G1Affine,
    /// Round 3: quotient pieces.
    pub quotient: [G1Affine; QUOTIENT_PIECES],
}

/// Check 3: the two share claims of one shard's round-5 openings — the combination of
/// every polynomial at x with the weights it was sent ([`OpeningWeights::expand`]), and z
/// at ω_X·x — against its commitments and evaluations.
#[allow(clippy::too_many_arguments)]
pub fn share_claims(
    vk: &VerifyingKey,
    shard: usize,
    c: &ShardCommitments,
    at_x: &[Fr; VALUES_AT_X],
    z_shift: Fr,
    x: Fr,
    weights: &OpeningWeights,
    openings: (G1Affine, G1Affine),
) -> [ShareClaim; 2] {
    let powers = weights.expand(vk.shape.shard_gates, x);
    let fixed: &[G1Affine; FIXED_POLYS] = &vk.shard_fixed[shard];
    let bases = opened_commitments(&c.wires, fixed, &c.z, &c.quotient);
    let commitment = G1Projective::msm_unchecked(&bases, &powers).into_affine();
    let value = weighted_value(at_x, &powers);
    let base = vk.lagrange_y[shard];
    let omega_x = vk.shape.x_domain().group_gen();
    [
        ShareClaim {
            base,
            commitment,
            point: x,
            value,
            proof: openings.0,
        },
        ShareClaim {
            base,
            commitment: c.z,
            point: omega_x * x,
            value: z_shift,
            proof: openings.1,
        },
    ]
}
