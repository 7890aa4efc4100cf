//! The combined constraint G, evaluated at one point.
//!
//! One function serves the worker (at every point of its quotient coset), the aggregator
//! (per shard at x, and over the Y coset) and the verifier (at (y, x)), so the three can
//! never disagree about the formula:
//!
//! ```text
//! G = gate + α·step + α²·start + α³·link + α⁴·R_0(y)·(W − 1)
//! gate  = q_L·a + q_R·b + q_O·c + q_M·a·b + q_C + PI
//! step  = (X − ω_X^{T−1})·(z(ω_X X)·g' − z(X)·f')
//! start = L_0(X)·(z − 1)
//! link  = L_{T−1}(X)·(W·z − W_next)
//! f'    = Π_k (w_k + β·(K_k·X + δ·Y) + γ),   g' = Π_k (w_k + β·σ_k + γ)
//! ```

use crate::layout::WIRE_SHIFTS;
use tutti_crypto::Fr;

/// The challenges that enter the constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Challenges {
    /// Permutation challenge β.
    pub beta: Fr,
    /// Permutation challenge γ.
    pub gamma: Fr,
    /// Combination challenge α.
    pub alpha: Fr,
}

/// Everything the constraint reads at one point.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConstraintInputs {
    /// Wire values a, b, c.
    pub wires: [Fr; 3],
    /// Label polynomials σ_0, σ_1, σ_2.
    pub sigmas: [Fr; 3],
    /// Selectors q_L, q_R, q_O, q_M, q_C.
    pub selectors: [Fr; 5],
    /// Running product z at X.
    pub z: Fr,
    /// Running product z at ω_X·X.
    pub z_shift: Fr,
    /// Public-input term PI (already negated values times Lagrange polynomials).
    pub pi: Fr,
    /// The X coordinate.
    pub x: Fr,
    /// δ·Y: the Y part of the identity labels (δ·ω_Y^i for shard i).
    pub delta_y: Fr,
    /// L_0(X).
    pub l_first: Fr,
    /// L_{T−1}(X).
    pub l_last: Fr,
    /// W at this shard (or W(y)).
    pub w: Fr,
    /// W at the next shard (or W(ω_Y·y)).
    pub w_next: Fr,
    /// R_0(Y): 1 for shard 0, 0 for others, R_0(y) for the verifier.
    pub r_first: Fr,
}

/// Evaluates G; `omega_last` is ω_X^{T−1}.
pub fn combined_constraint(c: &ConstraintInputs, ch: &Challenges, omega_last: Fr) -> Fr {
    let [a, b, cw] = c.wires;
    let q = c.selectors;
    let gate = q[0] * a + q[1] * b + q[2] * cw + q[3] * a * b + q[4] + c.pi;
    let mut f = Fr::from(1u64);
    let mut g = Fr::from(1u64);
    for ((w, shift), sigma) in c.wires.iter().zip(WIRE_SHIFTS).zip(c.sigmas) {
        let base = *w + ch.gamma;
        f *= base + ch.beta * (Fr::from(shift) * c.x + c.delta_y);
        g *= base + ch.beta * sigma;
    }
    let step = (c.x - omega_last) * (c.z_shift * g - c.z * f);
    let start = c.l_first * (c.z - Fr::from(1u64));
    let link = c.l_last * (c.w * c.z - c.w_next);
    let y_only = c.r_first * (c.w - Fr::from(1u64));
    let a1 = ch.alpha;
    let a2 = a1 * a1;
    let a3 = a2 * a1;
    let a4 = a3 * a1;
    gate + a1 * step + a2 * start + a3 * link + a4 * y_only
}
