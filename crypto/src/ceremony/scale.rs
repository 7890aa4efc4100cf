//! Many scalar multiplications at once: each point by its own scalar, as a contribution
//! (every grid entry by `r^i·s^j`) and the SRS derivation (FFT twiddles) need.
//!
//! arkworks' `P * k` on BN254 G1 uses the GLV endomorphism with a plain joint
//! double-and-add over three projective points (about 128 doublings and 96 full
//! additions). Here each half-scalar is recoded in width-5 wNAF over a table of the odd
//! multiples P, 3P, …, 15P, and the tables of a whole chunk of points are normalized to
//! affine with one batched inversion, so that the additions are mixed (about 128
//! doublings and 43 mixed additions per point). φ(P) = (βx, y) gives the second table
//! for one field multiplication per entry.

use crate::{Fr, G1Affine, G1Projective};
use ark_bn254::g1::Config;
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
use ark_ff::Zero;
use ark_ff::{BigInteger, PrimeField};
use rayon::prelude::*;

/// wNAF width: digits are odd, |d| < 2^(W−1).
const W: usize = 5;
/// Table entries per point: P, 3P, …, (2^(W−1) − 1)P.
const TABLE: usize = 1 << (W - 2);
/// Points per batched table normalization (one field inversion per chunk).
const CHUNK: usize = 256;

/// `wnaf(k)`, least significant digit first.
fn wnaf(k: &Fr) -> Vec<i64> {
    // W is in 2..64, for which find_wnaf always returns Some.
    k.into_bigint().find_wnaf(W).unwrap_or_default()
}

/// Adds `sign·d·table` (d an odd wNAF digit) to `acc`, φ applied when `endo`.
fn add_digit(acc: &mut G1Projective, table: &[G1Affine], d: i64, negate: bool, endo: bool) {
    if d == 0 {
        return;
    }
    let mut p = table[(d.unsigned_abs() as usize - 1) / 2];
    if endo {
        p = <Config as GLVConfig>::endomorphism_affine(&p);
    }
    if (d < 0) != negate {
        p = -p;
    }
    *acc += &p;
}

/// `points[k]·scalars[k]` for every k (projective results), in parallel chunks.
pub(crate) fn mul_each(points: &[G1Affine], scalars: &[Fr]) -> Vec<G1Projective> {
    debug_assert_eq!(points.len(), scalars.len());
    points
        .par_chunks(CHUNK)
        .zip(scalars.par_chunks(CHUNK))
        .flat_map_iter(|(ps, ks)| mul_sequential(ps, ks))
        .collect()
}

/// [`mul_each`] on the calling thread, with one batched inversion for all the tables.
pub(crate) fn mul_sequential(points: &[G1Affine], scalars: &[Fr]) -> Vec<G1Projective> {
    let mut tables = Vec::with_capacity(points.len() * TABLE);
    for p in points {
        let p2 = p.into_group().double();
        let mut acc: G1Projective = (*p).into();
        tables.push(acc);
        for _ in 1..TABLE {
            acc += p2;
            tables.push(acc);
        }
    }
    let tables = G1Projective::normalize_batch(&tables);
    points
        .iter()
        .zip(scalars)
        .zip(tables.chunks(TABLE))
        .map(|((_, k), table)| {
            let ((pos1, k1), (pos2, k2)) = <Config as GLVConfig>::scalar_decomposition(*k);
            let (d1, d2) = (wnaf(&k1), wnaf(&k2));
            let mut acc = G1Projective::zero();
            for i in (0..d1.len().max(d2.len())).rev() {
                acc.double_in_place();
                add_digit(
                    &mut acc,
                    table,
                    d1.get(i).copied().unwrap_or(0),
                    !pos1,
                    false,
                );
                add_digit(
                    &mut acc,
                    table,
                    d2.get(i).copied().unwrap_or(0),
                    !pos2,
                    true,
                );
            }
            acc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::PrimeGroup;
    use ark_ff::{One, UniformRand};
    use ark_std::rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn agrees_with_plain_multiplication() {
        let mut rng = StdRng::seed_from_u64(7);
        let g = G1Projective::generator();
        let n = 2 * CHUNK + 3;
        let mut points: Vec<G1Affine> = (0..n)
            .map(|_| (g * Fr::rand(&mut rng)).into_affine())
            .collect();
        let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        points[0] = G1Affine::zero();
        scalars[1] = Fr::zero();
        scalars[2] = Fr::one();
        scalars[3] = -Fr::one();
        scalars[4] = Fr::from(15u64);
        scalars[5] = -Fr::from(16u64);
        let got = mul_each(&points, &scalars);
        for (k, ((p, s), r)) in points.iter().zip(&scalars).zip(&got).enumerate() {
            assert_eq!(*r, *p * s, "entry {k}");
        }
    }
}
