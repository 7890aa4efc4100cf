//! From the monomial grid to the Lagrange-form SRS: a radix-2 inverse FFT over G1.

use super::scale::mul_sequential;
use super::{CeremonyError, CeremonyState};
use crate::srs::{AggregatorSrs, G2Part, InMemorySrs, SrsHeader};
use crate::{CryptoError, Fr, G1Affine, G1Projective, G2Affine, domain};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, One};
use ark_poly::EvaluationDomain;
use rayon::prelude::*;

/// Grid rows (X powers) per progress report of [`CeremonyState::to_srs_with_progress`].
const FFT_BATCH_ROWS: usize = 1024;

/// In-place inverse DFT over G1: `a[k] ← (1/n)·Σ_j ω^{−jk}·a[j]`, with `twiddles[k] =
/// ω^{−k}` for `k < n/2`. `a.len()` must be a power of two (iterative Cooley–Tukey,
/// bit-reversed input order).
fn ifft_g1(a: &mut [G1Projective], twiddles: &[Fr], n_inv: Fr) {
    let n = a.len();
    if n <= 1 {
        return;
    }
    let bits = n.trailing_zeros();
    for k in 0..n {
        let rk = k.reverse_bits() >> (usize::BITS - bits);
        if k < rk {
            a.swap(k, rk);
        }
    }
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let step = n / len;
        // This stage's twiddle products (every odd element but the k = 0 ones), as one
        // batch of scalar multiplications. The last stage also applies the 1/n factor:
        // (1/n)·u ± (ω^k/n)·v, n multiplications instead of n/2 − 1 and then n.
        let last = len == n && !n_inv.is_one();
        let (at, tw): (Vec<usize>, Vec<Fr>) = if last {
            (0..half)
                .flat_map(|k| [(k, n_inv), (k + half, n_inv * twiddles[k])])
                .unzip()
        } else {
            (0..n)
                .step_by(len)
                .flat_map(|start| (1..half).map(move |k| (start + k + half, twiddles[k * step])))
                .unzip()
        };
        if !at.is_empty() {
            let odd: Vec<G1Projective> = at.iter().map(|&p| a[p]).collect();
            let products = mul_sequential(&G1Projective::normalize_batch(&odd), &tw);
            for (p, v) in at.into_iter().zip(products) {
                a[p] = v;
            }
        }
        for start in (0..n).step_by(len) {
            for k in 0..half {
                let (u, v) = (a[start + k], a[start + k + half]);
                a[start + k] = u + v;
                a[start + k + half] = u - v;
            }
        }
        len *= 2;
    }
}

impl CeremonyState {
    /// The SRS of this state's trapdoors, built from its points alone: worker row k,
    /// base i is `(1/M)·Σ_j ω_Y^{−kj}·G[i][j] = [R_k(τ_Y)·τ_X^i]₁` (an inverse FFT over G1
    /// of each grid row, in parallel), the Lagrange bases are row k's base 0, and the
    /// aggregator's Y powers are column 0 followed by the extra Y powers. The result is
    /// flagged secure and carries the state's transcript hash.
    ///
    /// This trusts the grid: verify every contribution first. It does refuse a state
    /// whose G2 part no loader would accept (for instance the initial state, whose
    /// trapdoors are 1).
    pub fn to_srs(&self) -> Result<InMemorySrs, CeremonyError> {
        self.to_srs_with_progress(super::QUIET)
    }

    /// [`CeremonyState::to_srs`], reporting progress every 1,024 grid rows.
    pub fn to_srs_with_progress(
        &self,
        progress: super::Progress<'_>,
    ) -> Result<InMemorySrs, CeremonyError> {
        self.check_shape()?;
        let m = self.shards;
        let g2 = G2Part {
            one: G2Affine::generator(),
            tau_x: self.tau_x_g2,
            tau_y: self.tau_y_g2,
        };
        g2.validate()?;
        // τ_Y^M = 1 would put τ_Y in the Y-domain: every Lagrange base but one vanishes.
        if self.y_power(m) == Some(&G1Affine::generator()) {
            return Err(
                CryptoError::MalformedSetup("τ_Y lies in the Y-domain (τ_Y^M = 1)".into()).into(),
            );
        }
        let dy = domain::domain(m)?;
        let w_inv = dy.group_gen_inv();
        let twiddles: Vec<Fr> = (0..m / 2).map(|k| w_inv.pow([k as u64])).collect();
        let n_inv = Fr::from(m as u64).inverse().unwrap_or_else(Fr::one);
        // by_x[i][k] = [R_k(τ_Y)·τ_X^i]₁, computed in batches of grid rows so that
        // progress can be reported.
        let total = self.x_len() as u64;
        let mut by_x: Vec<Vec<G1Affine>> = Vec::with_capacity(self.x_len());
        for batch in self.grid.chunks(m * FFT_BATCH_ROWS) {
            progress("deriving the Lagrange rows", by_x.len() as u64, total);
            by_x.par_extend(batch.par_chunks(m).map(|chunk| {
                let mut a: Vec<G1Projective> = chunk.iter().map(|p| p.into_group()).collect();
                ifft_g1(&mut a, &twiddles, n_inv);
                G1Projective::normalize_batch(&a)
            }));
        }
        progress("deriving the Lagrange rows", total, total);
        let rows: Vec<Vec<G1Affine>> = (0..m)
            .into_par_iter()
            .map(|k| by_x.iter().map(|col| col[k]).collect())
            .collect();
        let lagrange_y = by_x[0].clone();
        let mut y_powers = self.grid[..m].to_vec();
        y_powers.extend_from_slice(&self.extra_y);
        let agg = AggregatorSrs {
            header: SrsHeader {
                shards: m,
                shard_gates: self.shard_gates,
                insecure: false,
                transcript: Some(self.transcript_hash()),
            },
            y_powers,
            lagrange_y,
            g2,
        };
        Ok(InMemorySrs::from_parts(agg, rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::PrimeGroup;

    #[test]
    fn ifft_matches_the_field_ifft() {
        for m in [1usize, 2, 4, 8, 16] {
            let d = domain::domain(m).unwrap();
            let vals: Vec<Fr> = (0..m as u64).map(|k| Fr::from(3 * k * k + 7)).collect();
            let expected = d.ifft(&vals);
            let g = G1Projective::generator();
            let mut a: Vec<G1Projective> = vals.iter().map(|v| g * v).collect();
            let w_inv = d.group_gen_inv();
            let tw: Vec<Fr> = (0..m / 2).map(|k| w_inv.pow([k as u64])).collect();
            ifft_g1(&mut a, &tw, d.size_inv());
            for (p, e) in a.iter().zip(&expected) {
                assert_eq!(*p, g * e, "m = {m}");
            }
        }
    }
}
