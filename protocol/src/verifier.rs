//! The verifier: one transcript replay, O(1 + public inputs) field work, one MSM of 22
//! points (15 of them the linearised and opened commitments) and one three-pair
//! multi-pairing.

use crate::constraint::Challenges;
use crate::error::ProtocolError;
use crate::fiat_shamir as fs;
use crate::keys::VerifyingKey;
use crate::linearise::{ProofPoint, proof_weights};
use crate::messages::Z_INDEX;
use crate::proof::Proof;
use ark_ff::{Field, One, Zero};
use ark_poly::EvaluationDomain;
use tutti_crypto::Fr;
use tutti_crypto::domain::{lagrange_at, vanishing_at};
use tutti_crypto::kzg::PairingBatch;

/// Stride of the quotient pieces: `H_X = h_0 + X^n·h_1 + X^{2n}·h_2` with `n = T + 3`.
pub fn quotient_stride(t: usize) -> u64 {
    (t + 3) as u64
}

/// `h_0 + x^n·h_1 + x^{2n}·h_2` from the pieces' values at x, with `n` the stride of
/// [`quotient_stride`] for `t` rows per shard.
pub fn quotient_value(pieces: &[Fr], t: usize, x: Fr) -> Fr {
    let xn = x.pow([quotient_stride(t)]);
    pieces.iter().rev().fold(Fr::zero(), |acc, h| acc * xn + h)
}

/// `PI(y, x) = −Σ v·R_shard(y)·L_row(x)` over the public inputs.
pub fn public_input_term(vk: &VerifyingKey, public_inputs: &[Fr], y: Fr, x: Fr) -> Fr {
    let (dx, dy) = (vk.shape.x_domain(), vk.shape.y_domain());
    vk.public_positions
        .iter()
        .zip(public_inputs)
        .map(|((s, r), v)| -(*v) * lagrange_at(&dy, *s, y) * lagrange_at(&dx, *r, x))
        .sum()
}

/// Every challenge of a proof, recomputed from the transcript.
#[derive(Clone, Copy, Debug)]
pub struct ProofChallenges {
    /// β, γ, α.
    pub constraint: Challenges,
    /// The X point.
    pub x: Fr,
    /// The Y point.
    pub y: Fr,
    /// Batching challenge ν (the weights of the openings at (y, x)).
    pub nu: Fr,
    /// Folding challenge μ.
    pub mu: Fr,
    /// Final combination challenge u.
    pub u: Fr,
}

/// Replays the transcript of `proof`.
pub fn challenges(vk: &VerifyingKey, public_inputs: &[Fr], proof: &Proof) -> ProofChallenges {
    let mut t = fs::start(vk, public_inputs);
    let (beta, gamma) = fs::permutation_challenges(&mut t, &proof.wires);
    let alpha = fs::combination_challenge(&mut t, &proof.z, &proof.w);
    let x = fs::x_point(&mut t, &proof.quotient_x);
    let y = fs::y_point(&mut t, &proof.quotient_y);
    let nu = fs::batching_challenge(&mut t, &proof.evals);
    let mu = fs::fold_challenge(&mut t, &proof.open_x, &proof.open_x_shift);
    let u = fs::final_challenge(&mut t, &proof.open_y, &proof.open_y_shift);
    ProofChallenges {
        constraint: Challenges { beta, gamma, alpha },
        x,
        y,
        nu,
        mu,
        u,
    }
}

/// Verifies `proof` for `public_inputs` under `vk`.
pub fn verify(vk: &VerifyingKey, public_inputs: &[Fr], proof: &Proof) -> Result<(), ProtocolError> {
    if verification_batch(vk, public_inputs, proof)?.check(&vk.g2) {
        Ok(())
    } else {
        Err(ProtocolError::InvalidProof(
            "the pairing check of the batched openings fails".into(),
        ))
    }
}

/// Everything [`verify`] does except the final pairing check: the transcript replay,
/// the field checks, and the pairing equation as a [`PairingBatch`]. The proof is valid
/// iff this returns `Ok(b)` and `b.check(&vk.g2)` holds; a caller may fold the batch
/// into a larger one with a private random weight.
pub fn verification_batch(
    vk: &VerifyingKey,
    public_inputs: &[Fr],
    proof: &Proof,
) -> Result<PairingBatch, ProtocolError> {
    // A key decoded by `VerifyingKey::from_bytes` passed this already (and the subgroup
    // checks); one built in memory by a caller may not have: with a degenerate G2 part
    // garbage verifies.
    vk.g2
        .check_nondegenerate()
        .map_err(|e| ProtocolError::MalformedVerifyingKey(e.to_string()))?;
    if public_inputs.len() != vk.public_positions.len() {
        return Err(ProtocolError::PublicInputCount {
            expected: vk.public_positions.len(),
            got: public_inputs.len(),
        });
    }
    let ch = challenges(vk, public_inputs, proof);
    let (x, y) = (ch.x, ch.y);
    let (m, t) = (vk.shape.shards, vk.shape.shard_gates);
    let zx = vanishing_at(t, x);
    let zy = vanishing_at(m, y);
    if zx.is_zero() || zy.is_zero() {
        return Err(ProtocolError::InvalidProof(
            "evaluation point falls in a domain".into(),
        ));
    }
    let dx = vk.shape.x_domain();
    let dy = vk.shape.y_domain();
    let e = &proof.evals;
    let point = ProofPoint {
        constraint: ch.constraint,
        x,
        y,
        nu: ch.nu,
    };
    let (weights, constant) = proof_weights(vk, public_inputs, e, &point);
    let lambda = weights.expand(t, x);
    let commitments =
        crate::checks::opened_commitments(&proof.wires, &vk.fixed, &proof.z, &proof.quotient_x);

    let (mu, u) = (ch.mu, ch.u);
    let mu2 = mu * mu;
    let omega_x = dx.group_gen();
    let omega_y = dy.group_gen();
    let mut b = PairingBatch::new();
    // At (y, x): a + ν·b + ν²·c + ν³·σ_0 + ν⁴·σ_1 + ν⁵·r, whose value is known; z also
    // enters at (y, ω_X·x) with weight μ, W at y with weight μ² and at ω_Y·y with u.
    for (k, (c, l)) in commitments.iter().zip(lambda).enumerate() {
        let extra = if k == Z_INDEX { mu } else { Fr::zero() };
        b.add_one(*c, l + extra);
    }
    b.add_one(proof.quotient_y, weights.quotient_y_weight(m, y));
    b.add_one(proof.w, mu2 + u);
    let value_at_yx = weights.value(&e.valued(), -constant);
    b.add_generator(-(value_at_yx + mu * e.z_shift + mu2 * e.w + u * e.w_shift));
    // X-parts: at x, and z's at ω_X·x (weight μ).
    b.add_one(proof.open_x, x);
    b.add_tau_x(proof.open_x, -Fr::one());
    b.add_one(proof.open_x_shift, mu * omega_x * x);
    b.add_tau_x(proof.open_x_shift, -mu);
    // Y-parts: everything at y folded into one proof, W at ω_Y·y (weight u).
    b.add_one(proof.open_y, y);
    b.add_tau_y(proof.open_y, -Fr::one());
    b.add_one(proof.open_y_shift, u * omega_y * y);
    b.add_tau_y(proof.open_y_shift, -u);
    Ok(b)
}
