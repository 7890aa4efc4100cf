//! Small polynomial helpers on coefficient vectors (lowest degree first).

use crate::Fr;
use ark_ff::Zero;
use rayon::prelude::*;

/// Evaluates a polynomial at `t` (Horner).
pub fn evaluate(coeffs: &[Fr], t: Fr) -> Fr {
    coeffs.iter().rev().fold(Fr::zero(), |acc, c| acc * t + c)
}

/// Divides `f(X)` by `(X − z)`: returns the quotient and the remainder `f(z)`.
pub fn divide_by_linear(coeffs: &[Fr], z: Fr) -> (Vec<Fr>, Fr) {
    if coeffs.is_empty() {
        return (Vec::new(), Fr::zero());
    }
    let n = coeffs.len();
    let mut q = vec![Fr::zero(); n - 1];
    let mut acc = Fr::zero();
    for i in (0..n).rev() {
        acc = acc * z + coeffs[i];
        if i > 0 {
            q[i - 1] = acc;
        }
    }
    (q, acc)
}

/// `acc += s · f` coefficient-wise, growing `acc` if needed.
pub fn add_scaled(acc: &mut Vec<Fr>, s: Fr, f: &[Fr]) {
    if acc.len() < f.len() {
        acc.resize(f.len(), Fr::zero());
    }
    acc.par_iter_mut()
        .zip(f.par_iter())
        .for_each(|(a, b)| *a += s * b);
}

/// Linear combination `Σ s_k · f_k` of several polynomials.
pub fn linear_combination(polys: &[&[Fr]], scalars: &[Fr]) -> Vec<Fr> {
    let len = polys.iter().map(|p| p.len()).max().unwrap_or(0);
    (0..len)
        .into_par_iter()
        .map(|i| {
            polys
                .iter()
                .zip(scalars)
                .filter_map(|(p, s)| p.get(i).map(|c| *c * s))
                .sum()
        })
        .collect()
}

/// `coeffs += (Σ_k b_k·X^k)·(X^n − 1)`: adds a multiple of the vanishing polynomial of a
/// domain of size `n`, which changes no value on that domain (blinding).
pub fn add_vanishing_multiple(coeffs: &mut Vec<Fr>, n: usize, blinders: &[Fr]) {
    let len = coeffs.len().max(n + blinders.len());
    coeffs.resize(len, Fr::zero());
    for (k, b) in blinders.iter().enumerate() {
        coeffs[k] -= b;
        coeffs[n + k] += b;
    }
}

/// Number of coefficients once trailing zeros are dropped.
pub fn degree_len(coeffs: &[Fr]) -> usize {
    coeffs
        .iter()
        .rposition(|c| !c.is_zero())
        .map_or(0, |p| p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use proptest::prelude::*;
    use rand::{SeedableRng, rngs::StdRng};

    proptest! {
        #[test]
        fn division_identity(len in 0usize..40, seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let f: Vec<Fr> = (0..len).map(|_| Fr::rand(&mut rng)).collect();
            let z = Fr::rand(&mut rng);
            let t = Fr::rand(&mut rng);
            let (q, r) = divide_by_linear(&f, z);
            prop_assert_eq!(r, evaluate(&f, z));
            prop_assert_eq!(evaluate(&f, t), evaluate(&q, t) * (t - z) + r);
        }

        #[test]
        fn combination_is_linear(seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let f: Vec<Fr> = (0..7).map(|_| Fr::rand(&mut rng)).collect();
            let g: Vec<Fr> = (0..4).map(|_| Fr::rand(&mut rng)).collect();
            let (a, b, t) = (Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng));
            let h = linear_combination(&[&f, &g], &[a, b]);
            prop_assert_eq!(evaluate(&h, t), a * evaluate(&f, t) + b * evaluate(&g, t));
            let mut acc = f.clone();
            add_scaled(&mut acc, b, &g);
            prop_assert_eq!(evaluate(&acc, t), evaluate(&f, t) + b * evaluate(&g, t));
        }
    }
}
