//! Bivariate KZG over the SRS of [`crate::srs`].
//!
//! A bivariate polynomial is held as M shard slices, `f(Y, X) = Σ_i R_i(Y)·f_i(X)`.
//! - Worker commit: `C_i = Σ_j f_i[j]·[R_i(τ_Y)τ_X^j]₁ = [R_i(τ_Y)·f_i(τ_X)]₁`.
//! - Worker partial opening at x: `v_i = f_i(x)`, `π_i = [R_i(τ_Y)·q_i(τ_X)]₁` with
//!   `q_i = (f_i − v_i)/(X − x)`.
//! - Aggregator: `C = Σ C_i`, `π_X = Σ π_i`, `f(Y, x) = Σ R_i(Y) v_i`, and a univariate
//!   opening of `f(Y, x)` at y with the `[τ_Y^k]₁` powers gives `π_Y`.
//! - Verification: `e(C − v[1]₁, [1]₂) = e(π_X, [τ_X − x]₂)·e(π_Y, [τ_Y − y]₂)`.
//! - Share check (one worker alone): `e(C_i − v_i[R_i(τ_Y)]₁ + x·π_i, [1]₂) = e(π_i, [τ_X]₂)`.
//!
//! All pairing equations are collected in a [`PairingBatch`] as terms against the three
//! fixed G2 points `[1]₂`, `[τ_X]₂`, `[τ_Y]₂`, so any number of openings costs three MSMs
//! and one three-pair multi-pairing.

use crate::poly::divide_by_linear;
use crate::srs::G2Part;
use crate::{Bn254, CryptoError, Fr, G1Affine, G1Projective, Result};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{One, Zero};
use std::sync::{Arc, Mutex};

/// `Σ coeffs[j]·bases[j]`; fails if there are more coefficients than bases.
pub fn commit(bases: &[G1Affine], coeffs: &[Fr]) -> Result<G1Projective> {
    if coeffs.len() > bases.len() {
        return Err(CryptoError::PolynomialTooLarge {
            coeffs: coeffs.len(),
            available: bases.len(),
        });
    }
    Ok(G1Projective::msm_unchecked(&bases[..coeffs.len()], coeffs))
}

/// Opens the polynomial committed with `bases` at `point`: returns `(f(point), proof)`.
/// With a worker row as `bases` this is the worker's partial opening; with the Y powers
/// it is the aggregator's univariate opening in Y.
pub fn open(bases: &[G1Affine], coeffs: &[Fr], point: Fr) -> Result<(Fr, G1Projective)> {
    let (q, v) = divide_by_linear(coeffs, point);
    Ok((v, commit(bases, &q)?))
}

/// What the aggregator knows to check one worker's opening on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareClaim {
    /// `[R_i(τ_Y)]₁` of the worker's shard.
    pub base: G1Affine,
    /// The worker's commitment `C_i`.
    pub commitment: G1Affine,
    /// The opening point x.
    pub point: Fr,
    /// The claimed value `f_i(x)`.
    pub value: Fr,
    /// The partial opening proof `π_i`.
    pub proof: G1Affine,
}

/// Terms of a product of pairings against the three fixed G2 points; checks
/// `e(Σ one, [1]₂)·e(Σ tau_x, [τ_X]₂)·e(Σ tau_y, [τ_Y]₂) = 1`.
#[derive(Clone, Debug, Default)]
pub struct PairingBatch {
    generator_scalar: Fr,
    one: (Vec<G1Affine>, Vec<Fr>),
    tau_x: (Vec<G1Affine>, Vec<Fr>),
    tau_y: (Vec<G1Affine>, Vec<Fr>),
}

impl PairingBatch {
    /// An empty batch (trivially true).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `s·P` paired with `[1]₂`.
    pub fn add_one(&mut self, p: G1Affine, s: Fr) {
        self.one.0.push(p);
        self.one.1.push(s);
    }

    /// Adds `s·[1]₁` paired with `[1]₂`.
    pub fn add_generator(&mut self, s: Fr) {
        self.generator_scalar += s;
    }

    /// Adds `s·P` paired with `[τ_X]₂`.
    pub fn add_tau_x(&mut self, p: G1Affine, s: Fr) {
        self.tau_x.0.push(p);
        self.tau_x.1.push(s);
    }

    /// Adds `s·P` paired with `[τ_Y]₂`.
    pub fn add_tau_y(&mut self, p: G1Affine, s: Fr) {
        self.tau_y.0.push(p);
        self.tau_y.1.push(s);
    }

    /// Appends every term of `other`, scaled by `w` (folding two equations into one:
    /// with `w` random and unknown to whoever made them, the folded check passes only if
    /// both do, except with probability 1/r).
    pub fn absorb(&mut self, other: &PairingBatch, w: Fr) {
        self.generator_scalar += w * other.generator_scalar;
        for (mine, theirs) in [
            (&mut self.one, &other.one),
            (&mut self.tau_x, &other.tau_x),
            (&mut self.tau_y, &other.tau_y),
        ] {
            mine.0.extend_from_slice(&theirs.0);
            mine.1.extend(theirs.1.iter().map(|s| *s * w));
        }
    }

    /// Adds, with weight `w`, the share check of one worker's opening.
    pub fn add_share(&mut self, w: Fr, c: &ShareClaim) {
        self.add_one(c.commitment, w);
        self.add_one(c.base, -(w * c.value));
        self.add_one(c.proof, w * c.point);
        self.add_tau_x(c.proof, -w);
    }

    /// Adds, with weight `w`, the full bivariate opening
    /// `C − v[1]₁ = π_X(τ_X − x) + π_Y(τ_Y − y)`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_bivariate_opening(
        &mut self,
        w: Fr,
        commitment: G1Affine,
        value: Fr,
        y: Fr,
        x: Fr,
        pi_x: G1Affine,
        pi_y: G1Affine,
    ) {
        self.add_one(commitment, w);
        self.add_generator(-(w * value));
        self.add_one(pi_x, w * x);
        self.add_one(pi_y, w * y);
        self.add_tau_x(pi_x, -w);
        self.add_tau_y(pi_y, -w);
    }

    /// Evaluates the batch with one three-pair multi-pairing.
    pub fn check(&self, g2: &G2Part) -> bool {
        let mut bases = self.one.0.clone();
        let mut scalars = self.one.1.clone();
        bases.push(G1Affine::generator());
        scalars.push(self.generator_scalar);
        let one = small_msm(&bases, &scalars);
        let tx = small_msm(&self.tau_x.0, &self.tau_x.1);
        let ty = small_msm(&self.tau_y.0, &self.tau_y.1);
        let g1 = G1Projective::normalize_batch(&[one, tx, ty]);
        let ml = Bn254::multi_miller_loop(g1, prepared_g2(g2).iter().cloned());
        Bn254::final_exponentiation(ml).is_some_and(|out| out.0.is_one())
    }
}

/// Below this many points a sum of scalar multiplications beats the bucket method, whose
/// fixed cost (about 85 windows of bucket sums) dominates tiny inputs.
const SMALL_MSM: usize = 4;

/// `Σ scalars[j]·bases[j]`: the same group element as `msm_unchecked`, cheaper for a few
/// points.
fn small_msm(bases: &[G1Affine], scalars: &[Fr]) -> G1Projective {
    if bases.len() < SMALL_MSM {
        bases.iter().zip(scalars).map(|(p, s)| *p * s).sum()
    } else {
        G1Projective::msm_unchecked(bases, scalars)
    }
}

type G2Prepared = <Bn254 as Pairing>::G2Prepared;

/// The fixed G2 points in Miller-loop form. Preparing a G2 point (its line coefficients)
/// is about a third of a three-pair multi-pairing, and every check uses the same three
/// points, so the last few prepared sets are kept for the process.
fn prepared_g2(g2: &G2Part) -> Arc<[G2Prepared; 3]> {
    const KEEP: usize = 4;
    static CACHE: Mutex<Vec<(G2Part, Arc<[G2Prepared; 3]>)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(pos) = cache.iter().position(|(k, _)| k == g2) {
        return cache[pos].1.clone();
    }
    let prepared = Arc::new([g2.one.into(), g2.tau_x.into(), g2.tau_y.into()]);
    if cache.len() >= KEEP {
        cache.remove(0);
    }
    cache.push((*g2, prepared.clone()));
    prepared
}

/// Checks one worker's opening on its own.
pub fn check_share(claim: &ShareClaim, g2: &G2Part) -> bool {
    let mut b = PairingBatch::new();
    b.add_share(Fr::one(), claim);
    b.check(g2)
}

/// Checks many workers' openings with the given random weights in one multi-pairing.
/// The weights must be unpredictable to the workers (the aggregator draws them privately).
pub fn batch_check_shares(claims: &[ShareClaim], weights: &[Fr], g2: &G2Part) -> bool {
    let mut b = PairingBatch::new();
    for (c, w) in claims.iter().zip(weights) {
        if w.is_zero() {
            return false;
        }
        b.add_share(*w, c);
    }
    claims.len() == weights.len() && b.check(g2)
}

/// Indices of the claims that fail the share check: one batched check first, then
/// bisection over the failing halves, so k bad shares among n cost O(k log n) checks.
pub fn find_bad_shares(claims: &[ShareClaim], weights: &[Fr], g2: &G2Part) -> Vec<usize> {
    fn go(claims: &[ShareClaim], weights: &[Fr], offset: usize, g2: &G2Part, out: &mut Vec<usize>) {
        if claims.is_empty() || batch_check_shares(claims, weights, g2) {
            return;
        }
        if claims.len() == 1 {
            out.push(offset);
            return;
        }
        let mid = claims.len() / 2;
        go(&claims[..mid], &weights[..mid], offset, g2, out);
        go(&claims[mid..], &weights[mid..], offset + mid, g2, out);
    }
    let mut out = Vec::new();
    go(claims, weights, 0, g2, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poly::evaluate;
    use crate::srs::{InMemorySrs, RowSource, row_len};
    use crate::{domain, poly};
    use ark_ff::UniformRand;
    use ark_poly::EvaluationDomain;
    use proptest::prelude::*;
    use rand::{SeedableRng, rngs::StdRng};

    fn setup() -> InMemorySrs {
        InMemorySrs::insecure_from_seed(4, 16, b"kzg-test").unwrap()
    }

    fn rand_poly(rng: &mut StdRng, n: usize) -> Vec<Fr> {
        (0..n).map(|_| Fr::rand(rng)).collect()
    }

    /// Every shard commits and opens its slice, the aggregator opens in Y, and the full
    /// bivariate opening verifies; wrong values do not.
    #[test]
    fn bivariate_open_verify() {
        let srs = setup();
        let agg = srs.aggregator_part().unwrap();
        let m = 4;
        let mut rng = StdRng::seed_from_u64(1);
        let (x, y) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        let mut c = G1Projective::zero();
        let mut pi_x = G1Projective::zero();
        let mut vals = Vec::new();
        for i in 0..m {
            let row = srs.row(i, row_len(16)).unwrap();
            let f = rand_poly(&mut rng, 18);
            c += commit(&row.bases, &f).unwrap();
            let (v, p) = open(&row.bases, &f, x).unwrap();
            let claim = ShareClaim {
                base: row.lagrange_base(),
                commitment: commit(&row.bases, &f).unwrap().into_affine(),
                point: x,
                value: v,
                proof: p.into_affine(),
            };
            assert!(check_share(&claim, &agg.g2));
            pi_x += p;
            vals.push(v);
        }
        let dy = domain::domain(m).unwrap();
        let fy = dy.ifft(&vals);
        let (v, pi_y) = open(&agg.y_powers, &fy, y).unwrap();
        assert_eq!(v, poly::evaluate(&fy, y));
        let mut b = PairingBatch::new();
        b.add_bivariate_opening(
            Fr::one(),
            c.into_affine(),
            v,
            y,
            x,
            pi_x.into_affine(),
            pi_y.into_affine(),
        );
        assert!(b.check(&agg.g2));
        let mut b = PairingBatch::new();
        b.add_bivariate_opening(
            Fr::one(),
            c.into_affine(),
            v + Fr::one(),
            y,
            x,
            pi_x.into_affine(),
            pi_y.into_affine(),
        );
        assert!(!b.check(&agg.g2));
    }

    fn honest_claims(srs: &InMemorySrs, rng: &mut StdRng, x: Fr) -> Vec<ShareClaim> {
        (0..4)
            .map(|i| {
                let row = srs.row(i, row_len(16)).unwrap();
                let f = rand_poly(rng, 17);
                let (v, p) = open(&row.bases, &f, x).unwrap();
                assert_eq!(v, evaluate(&f, x));
                ShareClaim {
                    base: row.lagrange_base(),
                    commitment: commit(&row.bases, &f).unwrap().into_affine(),
                    point: x,
                    value: v,
                    proof: p.into_affine(),
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        /// Honest shares pass; a wrong value, a wrong proof point, or a commitment from
        /// another shard is rejected, and bisection names exactly the bad worker.
        #[test]
        fn share_check_catches_each_lie(seed in any::<u64>(), bad in 0usize..4, kind in 0u8..3) {
            let srs = setup();
            let g2 = srs.aggregator_part().unwrap().g2;
            let mut rng = StdRng::seed_from_u64(seed);
            let x = Fr::rand(&mut rng);
            let mut claims = honest_claims(&srs, &mut rng, x);
            let weights: Vec<Fr> = (0..4).map(|_| Fr::rand(&mut rng)).collect();
            prop_assert!(batch_check_shares(&claims, &weights, &g2));
            prop_assert!(find_bad_shares(&claims, &weights, &g2).is_empty());
            match kind {
                0 => claims[bad].value += Fr::one(),
                1 => claims[bad].proof = (claims[bad].proof + G1Affine::generator()).into_affine(),
                _ => {
                    // the commitment (and a correct opening) of the same polynomial made
                    // with another shard's row
                    let other = (bad + 1) % 4;
                    let row = srs.row(other, row_len(16)).unwrap();
                    let f = rand_poly(&mut rng, 17);
                    let (v, p) = open(&row.bases, &f, x).unwrap();
                    claims[bad].commitment = commit(&row.bases, &f).unwrap().into_affine();
                    claims[bad].value = v;
                    claims[bad].proof = p.into_affine();
                }
            }
            prop_assert!(!check_share(&claims[bad], &g2));
            prop_assert!(!batch_check_shares(&claims, &weights, &g2));
            prop_assert_eq!(find_bad_shares(&claims, &weights, &g2), vec![bad]);
        }
    }

    #[test]
    fn too_large_is_typed() {
        let srs = setup();
        let row = srs.row(0, 5).unwrap();
        assert_eq!(
            commit(&row.bases, &[Fr::one(); 6]).unwrap_err(),
            CryptoError::PolynomialTooLarge {
                coeffs: 6,
                available: 5
            }
        );
    }
}
