//! Linearisation (proof format 2): which values a proof opens and which commitments the
//! verifier combines instead.
//!
//! The combined constraint G (see [`crate::constraint`]) is linear in the selectors, in
//! the third label polynomial σ_2 and in the running product z once the wires, σ_0, σ_1,
//! z(ω_X·x) and W are fixed to their opened values. Moving the quotient to the left,
//!
//! ```text
//! r(Y, X) = a·q_L + b·q_R + c·q_O + a·b·q_M + q_C + s_σ·σ_2 + s_z·z
//!           − Z_X(x)·(h_0 + x^n·h_1 + x^{2n}·h_2) − Z_Y(y)·H_Y
//! r(y, x) = −k
//! ```
//!
//! where `s_σ`, `s_z` and the constant `k` come from [`linearise`]. The proof opens only
//! a, b, c, σ_0, σ_1 at (y, x) (plus z at (y, ω_X·x) and W at y and ω_Y·y); the verifier
//! builds the commitment to r from the vk and the proof and knows r's value. The opening
//! at x is one batched claim with the weights [`OpeningWeights::expand`]:
//! `a + ν·b + ν²·c + ν³·σ_0 + ν⁴·σ_1 + ν⁵·r`. Its X-part is computed by the workers (each
//! from its shard, with the weights it is sent after round 4 and signs), its Y-part by the
//! aggregator, which alone holds H_Y.

use crate::constraint::{Challenges, ConstraintInputs};
use crate::keys::VerifyingKey;
use crate::layout::WIRE_SHIFTS;
use crate::messages::{H_INDEX, OPENED_AT_X, Z_INDEX};
use crate::proof::ProofEvaluations;
use crate::verifier::{public_input_term, quotient_stride};
use ark_ff::{Field, One};
use tutti_crypto::Fr;
use tutti_crypto::domain::{lagrange_at, vanishing_at};

/// Indices (in the order of [`OPENED_AT_X`]) of the polynomials whose values at (y, x)
/// the proof carries: a, b, c, σ_0, σ_1. Their batching weights are ν⁰ … ν⁴.
pub const VALUED: [usize; 5] = [0, 1, 2, 8, 9];

/// Index of σ_2 among the polynomials opened at x.
pub const SIGMA2_INDEX: usize = 10;

/// What a worker needs, besides x, to weight its polynomials in the round-5 opening at x:
/// the batching challenge ν, the wire values a, b, c at (y, x) (the selectors'
/// coefficients) and the coefficients of σ_2 and z in r.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OpeningWeights {
    /// The batching challenge ν.
    pub nu: Fr,
    /// a(y, x), b(y, x), c(y, x).
    pub wires: [Fr; 3],
    /// Coefficient of σ_2 in r.
    pub sigma: Fr,
    /// Coefficient of z in r.
    pub z: Fr,
}

impl OpeningWeights {
    /// `ν⁵`, the weight of r in the batch.
    fn r_weight(&self) -> Fr {
        self.nu.pow([5u64])
    }

    /// The weight of every polynomial opened at x (in the order of [`OPENED_AT_X`]) for a
    /// circuit with `t` rows per shard: ν^j for the valued ones, ν⁵ times its
    /// coefficient in r for the others.
    pub fn expand(&self, t: usize, x: Fr) -> [Fr; OPENED_AT_X] {
        let mut out = [Fr::default(); OPENED_AT_X];
        let mut power = Fr::one();
        for k in VALUED {
            out[k] = power;
            power *= self.nu;
        }
        let r = power;
        let [a, b, c] = self.wires;
        out[3] = r * a;
        out[4] = r * b;
        out[5] = r * c;
        out[6] = r * a * b;
        out[7] = r;
        out[SIGMA2_INDEX] = r * self.sigma;
        out[Z_INDEX] = r * self.z;
        let xn = x.pow([quotient_stride(t)]);
        let mut piece = -(r * vanishing_at(t, x));
        for w in &mut out[H_INDEX..] {
            *w = piece;
            piece *= xn;
        }
        out
    }

    /// The weight of the Y-quotient H_Y in the batch: `−ν⁵·Z_Y(y)` for M shards.
    pub fn quotient_y_weight(&self, m: usize, y: Fr) -> Fr {
        -(self.r_weight() * vanishing_at(m, y))
    }

    /// The batch's value at (y, x): the valued polynomials' values (in the order of
    /// [`VALUED`]) weighted by ν⁰ … ν⁴, plus ν⁵ times r's value.
    pub fn value(&self, valued: &[Fr; 5], r_value: Fr) -> Fr {
        let mut acc = Fr::default();
        let mut power = Fr::one();
        for v in valued {
            acc += power * v;
            power *= self.nu;
        }
        acc + power * r_value
    }
}

/// The parts of G at one point that are not the linearised polynomials' values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linearisation {
    /// Coefficient of σ_2.
    pub sigma: Fr,
    /// Coefficient of z.
    pub z: Fr,
    /// Everything else: G = gate-selector terms + sigma·σ_2 + z·z + constant.
    pub constant: Fr,
}

/// Splits G at the point of `c` into its linearised terms: `c`'s selectors, `sigmas[2]` and
/// `z` are ignored, everything else is read. With the selectors' coefficients (a, b, c,
/// a·b, 1), `G = Σ selector terms + sigma·σ_2 + z·z + constant` for every value of the
/// ignored fields ([`crate::constraint::combined_constraint`] is the reference; a property
/// test checks the two agree).
pub fn linearise(c: &ConstraintInputs, ch: &Challenges, omega_last: Fr) -> Linearisation {
    let [a, b, cw] = c.wires;
    let mut f = Fr::one();
    for (w, shift) in c.wires.iter().zip(WIRE_SHIFTS) {
        f *= *w + ch.beta * (Fr::from(shift) * c.x + c.delta_y) + ch.gamma;
    }
    // g' = A·B·(c + β·σ_2 + γ) with A, B the first two label factors.
    let ab = (a + ch.beta * c.sigmas[0] + ch.gamma) * (b + ch.beta * c.sigmas[1] + ch.gamma);
    let a1 = ch.alpha;
    let a2 = a1 * a1;
    let a3 = a2 * a1;
    let a4 = a3 * a1;
    let step = a1 * (c.x - omega_last);
    Linearisation {
        sigma: step * c.z_shift * ab * ch.beta,
        z: -(step * f) + a2 * c.l_first + a3 * c.l_last * c.w,
        constant: c.pi + step * c.z_shift * ab * (cw + ch.gamma)
            - a2 * c.l_first
            - a3 * c.l_last * c.w_next
            + a4 * c.r_first * (c.w - Fr::one()),
    }
}

/// The challenges of a proof that fix its linearisation.
#[derive(Clone, Copy, Debug)]
pub struct ProofPoint {
    /// β, γ, α.
    pub constraint: Challenges,
    /// The X point.
    pub x: Fr,
    /// The Y point.
    pub y: Fr,
    /// The batching challenge.
    pub nu: Fr,
}

/// The weights of a proof's opening at (y, x) and the constant `k` of its
/// linearisation (r's value is `−k`), from the proof's opened values: what the
/// aggregator sends the workers before round 5 and what the verifier recomputes.
pub fn proof_weights(
    vk: &VerifyingKey,
    public_inputs: &[Fr],
    e: &ProofEvaluations,
    p: &ProofPoint,
) -> (OpeningWeights, Fr) {
    let (dx, dy) = (vk.shape.x_domain(), vk.shape.y_domain());
    let (x, y) = (p.x, p.y);
    // The linearised fields (selectors, σ_2, z) are not read.
    let inputs = ConstraintInputs {
        wires: e.wires,
        selectors: [Fr::default(); 5],
        sigmas: [e.sigmas[0], e.sigmas[1], Fr::default()],
        z: Fr::default(),
        z_shift: e.z_shift,
        pi: public_input_term(vk, public_inputs, y, x),
        x,
        delta_y: vk.delta * y,
        l_first: lagrange_at(&dx, 0, x),
        l_last: lagrange_at(&dx, vk.shape.shard_gates - 1, x),
        w: e.w,
        w_next: e.w_shift,
        r_first: lagrange_at(&dy, 0, y),
    };
    let lin = linearise(&inputs, &p.constraint, vk.omega_last());
    let weights = OpeningWeights {
        nu: p.nu,
        wires: e.wires,
        sigma: lin.sigma,
        z: lin.z,
    };
    (weights, lin.constant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constraint::combined_constraint;
    use ark_ff::PrimeField;
    use proptest::prelude::*;

    fn arb_fr() -> impl Strategy<Value = Fr> {
        proptest::array::uniform32(any::<u8>()).prop_map(|b| Fr::from_le_bytes_mod_order(&b))
    }

    fn inputs(v: &[Fr]) -> ConstraintInputs {
        ConstraintInputs {
            wires: [v[0], v[1], v[2]],
            selectors: [v[3], v[4], v[5], v[6], v[7]],
            sigmas: [v[8], v[9], v[10]],
            z: v[11],
            z_shift: v[12],
            pi: v[13],
            x: v[14],
            delta_y: v[15],
            l_first: v[16],
            l_last: v[17],
            w: v[18],
            w_next: v[19],
            r_first: v[20],
        }
    }

    proptest! {
        /// The linearisation reproduces G for arbitrary values of everything, the
        /// linearised fields included.
        #[test]
        fn linearisation_reproduces_the_constraint(
            v in proptest::collection::vec(arb_fr(), 25)
        ) {
            let c = inputs(&v);
            let ch = Challenges { beta: v[21], gamma: v[22], alpha: v[23] };
            let omega_last = v[24];
            let lin = linearise(&c, &ch, omega_last);
            let [a, b, cw] = c.wires;
            let q = c.selectors;
            let gate = q[0] * a + q[1] * b + q[2] * cw + q[3] * a * b + q[4];
            let rebuilt = gate + lin.sigma * c.sigmas[2] + lin.z * c.z + lin.constant;
            prop_assert_eq!(rebuilt, combined_constraint(&c, &ch, omega_last));
        }

        /// The expanded weights put the selectors' coefficients and r's weight where the
        /// batch formula says.
        #[test]
        fn expanded_weights_follow_the_batch_formula(
            v in proptest::collection::vec(arb_fr(), 7)
        ) {
            let w = OpeningWeights { nu: v[0], wires: [v[1], v[2], v[3]], sigma: v[4], z: v[5] };
            let t = 16;
            let x = v[6];
            let e = w.expand(t, x);
            let nu = v[0];
            let r = nu.pow([5u64]);
            prop_assert_eq!(e[0], Fr::one());
            prop_assert_eq!(e[9], nu.pow([4u64]));
            prop_assert_eq!(e[6], r * v[1] * v[2]);
            prop_assert_eq!(e[Z_INDEX], r * v[5]);
            let xn = x.pow([quotient_stride(t)]);
            prop_assert_eq!(e[H_INDEX + 2], -(r * vanishing_at(t, x) * xn * xn));
        }
    }
}
