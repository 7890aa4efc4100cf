//! The verifier: one transcript replay, O(1 + public inputs) field work, one MSM of about
//! 20 points and one three-pair multi-pairing.

use crate::constraint::{Challenges, ConstraintInputs, combined_constraint};
use crate::error::ProtocolError;
use crate::fiat_shamir as fs;
use crate::keys::VerifyingKey;
use crate::messages::{H_INDEX, Z_INDEX};
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
    /// Batching challenge ν.
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
    let v = &e.at_yx;
    let inputs = ConstraintInputs {
        wires: [v[0], v[1], v[2]],
        selectors: [v[3], v[4], v[5], v[6], v[7]],
        sigmas: [v[8], v[9], v[10]],
        z: v[Z_INDEX],
        z_shift: e.z_shift,
        pi: public_input_term(vk, public_inputs, y, x),
        x,
        delta_y: vk.delta * y,
        l_first: lagrange_at(&dx, 0, x),
        l_last: lagrange_at(&dx, t - 1, x),
        w: e.w,
        w_next: e.w_shift,
        r_first: lagrange_at(&dy, 0, y),
    };
    let g = combined_constraint(&inputs, &ch.constraint, vk.omega_last());
    let xn = x.pow([quotient_stride(t)]);
    let hx = v[H_INDEX] + xn * v[H_INDEX + 1] + xn * xn * v[H_INDEX + 2];
    // The Y-quotient's value is implied by the identity G = Z_X·H_X + Z_Y·H_Y.
    let zy_inv = zy.inverse().unwrap_or_default();
    let hy = (g - zx * hx) * zy_inv;

    // Commitments in the order of the values at (y, x).
    let commitments =
        crate::checks::opened_commitments(&proof.wires, &vk.fixed, &proof.z, &proof.quotient_x);

    let (nu, mu, u) = (ch.nu, ch.mu, ch.u);
    let omega_x = dx.group_gen();
    let omega_y = dy.group_gen();
    let mut b = PairingBatch::new();
    // Set A: every polynomial at (y, x), batched with powers of ν.
    let mut power = Fr::one();
    let mut v_a = Fr::zero();
    for (c, val) in commitments.iter().zip(v.iter()) {
        b.add_one(*c, power);
        v_a += power * val;
        power *= nu;
    }
    b.add_generator(-v_a);
    b.add_one(proof.open_x, x);
    b.add_tau_x(proof.open_x, -Fr::one());
    // Set B: z at (y, ω_X·x), weight μ.
    b.add_one(proof.z, mu);
    b.add_generator(-(mu * e.z_shift));
    b.add_one(proof.open_x_shift, mu * omega_x * x);
    b.add_tau_x(proof.open_x_shift, -mu);
    // Univariate openings at y: W and H_Y, weights μ², μ³; one Y-proof for all at y.
    let mu2 = mu * mu;
    let mu3 = mu2 * mu;
    b.add_one(proof.w, mu2);
    b.add_one(proof.quotient_y, mu3);
    b.add_generator(-(mu2 * e.w + mu3 * hy));
    b.add_one(proof.open_y, y);
    b.add_tau_y(proof.open_y, -Fr::one());
    // W at ω_Y·y, weight u.
    b.add_one(proof.w, u);
    b.add_generator(-(u * e.w_shift));
    b.add_one(proof.open_y_shift, u * omega_y * y);
    b.add_tau_y(proof.open_y_shift, -u);
    Ok(b)
}
