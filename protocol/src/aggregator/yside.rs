//! The aggregator's Y-side algebra: the cross-shard product W(Y), the Y-interpolation of
//! the shards' evaluations at x, the Y-quotient H_Y and the Y-openings.

use crate::constraint::{Challenges, ConstraintInputs, combined_constraint};
use crate::error::ProtocolError;
use crate::keys::{VerifyingKey, coset_offset, first_lagrange_on_coset, vanishing_on_coset};
use crate::messages::{H_INDEX, VALUES_AT_X, Z_INDEX};
use ark_ff::{One, Zero};
use ark_poly::EvaluationDomain;
use rayon::prelude::*;
use tutti_crypto::Fr;
use tutti_crypto::domain::{domain, lagrange_at, vanishing_at};
use tutti_crypto::poly::add_vanishing_multiple;
use tutti_crypto::srs::y_len;

/// `W[0] = 1`, `W[i+1] = W[i]·P_i` for `i < M − 1`.
pub fn w_values(products: &[Fr]) -> Vec<Fr> {
    let mut w = Vec::with_capacity(products.len());
    let mut acc = Fr::one();
    for p in products {
        w.push(acc);
        acc *= p;
    }
    w
}

/// W(Y) in coefficient form, blinded by `(c_2·Y² + c_1·Y + c_0)·Z_Y(Y)` (three scalars:
/// W is committed and opened at two points, y and ω_Y·y).
pub fn w_polynomial(vk: &VerifyingKey, values: &[Fr], blinders: &[Fr]) -> Vec<Fr> {
    let mut c = vk.shape.y_domain().ifft(values);
    add_vanishing_multiple(&mut c, vk.shape.shards, blinders);
    c
}

/// The shards' evaluations at x, interpolated over H_Y.
#[derive(Clone, Debug)]
pub struct YPolys {
    /// `f_j(Y, x)` for each value reported at x (the quotient's pieces combined).
    pub at_x: Vec<Vec<Fr>>,
    /// `z(Y, ω_X·x)`.
    pub z_shift: Vec<Fr>,
}

/// Interpolates the per-shard values over H_Y.
pub fn interpolate(vk: &VerifyingKey, evals: &[([Fr; VALUES_AT_X], Fr)]) -> YPolys {
    let dy = vk.shape.y_domain();
    let at_x = (0..VALUES_AT_X)
        .into_par_iter()
        .map(|j| dy.ifft(&evals.iter().map(|e| e.0[j]).collect::<Vec<_>>()))
        .collect();
    let z_shift = dy.ifft(&evals.iter().map(|e| e.1).collect::<Vec<_>>());
    YPolys { at_x, z_shift }
}

/// `PI_i(x) = −Σ v·L_row(x)` for each shard i.
pub fn public_input_per_shard(vk: &VerifyingKey, public_inputs: &[Fr], x: Fr) -> Vec<Fr> {
    let dx = vk.shape.x_domain();
    let mut out = vec![Fr::zero(); vk.shape.shards];
    for ((s, r), v) in vk.public_positions.iter().zip(public_inputs) {
        out[*s] -= *v * lagrange_at(&dx, *r, x);
    }
    out
}

/// `H_Y(Y) = (G(Y, x) − Z_X(x)·H_X(Y, x)) / Z_Y(Y)`, computed on a coset of size 4M.
/// Fails when the division is not exact (some shard's values are inconsistent).
pub fn y_quotient(
    vk: &VerifyingKey,
    polys: &YPolys,
    w_coeffs: &[Fr],
    pi_per_shard: &[Fr],
    ch: &Challenges,
    x: Fr,
) -> Result<Vec<Fr>, ProtocolError> {
    let (m, t) = (vk.shape.shards, vk.shape.shard_gates);
    let dy = vk.shape.y_domain();
    let coset = domain(4 * m)?
        .get_coset(coset_offset())
        .ok_or_else(|| ProtocolError::InvalidShape("no Y coset".into()))?;
    let n = coset.size();
    let on_coset = |c: &[Fr]| coset.fft(c);
    let vals: Vec<Vec<Fr>> = polys.at_x.par_iter().map(|p| on_coset(p)).collect();
    let z_shift = on_coset(&polys.z_shift);
    let w = on_coset(w_coeffs);
    let pi = on_coset(&dy.ifft(pi_per_shard));
    let points: Vec<Fr> = coset.elements().collect();
    let dx = vk.shape.x_domain();
    let (l_first, l_last) = (lagrange_at(&dx, 0, x), lagrange_at(&dx, t - 1, x));
    let omega_last = vk.omega_last();
    let zx = vanishing_at(t, x);
    // Z_Y takes four values on the coset; R_0 on it by one batched inversion.
    let mut zy_inv = vanishing_on_coset(&coset, m);
    ark_ff::batch_inversion(&mut zy_inv);
    let r_first = first_lagrange_on_coset(&coset, m);
    let evals: Vec<Fr> = (0..n)
        .into_par_iter()
        .map(|j| {
            let v = |k: usize| vals[k][j];
            let inputs = ConstraintInputs {
                wires: [v(0), v(1), v(2)],
                selectors: [v(3), v(4), v(5), v(6), v(7)],
                sigmas: [v(8), v(9), v(10)],
                z: v(Z_INDEX),
                z_shift: z_shift[j],
                pi: pi[j],
                x,
                delta_y: vk.delta * points[j],
                l_first,
                l_last,
                w: w[j],
                w_next: w[(j + 4) % n],
                r_first: r_first[j],
            };
            let g = combined_constraint(&inputs, ch, omega_last);
            (g - zx * v(H_INDEX)) * zy_inv[j % 4]
        })
        .collect();
    let mut h = coset.ifft(&evals);
    // deg G(Y, x) ≤ max(4M − 4, 2M + 1), so deg H_Y ≤ max(3M − 4, M + 1).
    let bound = (3 * m).saturating_sub(3).max(m + 2);
    debug_assert!(bound <= y_len(m));
    if h.len() > bound && h[bound..].iter().any(|c| !c.is_zero()) {
        return Err(ProtocolError::Mismatch(
            "the Y-quotient is not a polynomial: the shards' evaluations are inconsistent".into(),
        ));
    }
    h.truncate(bound);
    Ok(h)
}
