//! What makes SRS material well formed, checked with public data only (no trapdoor):
//! the SRS's identity, the G2 part, the shift structure of a worker row and of the Y
//! powers, and the Lagrange bases as the inverse DFT of the Y powers.
//!
//! Every structural check is a random linear combination with weights drawn by
//! Fiat–Shamir from the material itself, so it costs one MSM and one two-pair
//! multi-pairing instead of one pairing per point. For n points `P_j = [u_j]₁` the row
//! check accepts only if `Σ_{j<n−1} ρ^j·(u_{j+1} − τ·u_j) = 0`, a polynomial of degree
//! at most n − 2 in ρ that is zero everywhere only if every `u_{j+1} = τ·u_j`: a row that
//! is off anywhere passes with probability at most n / r ≈ 2^−230 per hash evaluation.

use super::{AggregatorSrs, G2Part, WorkerRow, secrets_from_seed};
use crate::encoding::g1_evm;
use crate::transcript::keccak256;
use crate::{Bn254, CryptoError, Fr, G1Affine, G1Projective, G2Affine, Result, domain};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{One, PrimeField, Zero};
use ark_poly::EvaluationDomain;

/// Domain separator of [`G2Part::srs_id`].
pub const SRS_ID_DOMAIN: &[u8] = b"tutti/srs-id/v1";

/// Seeds of the insecure SRSs this project's own tools generate (`tutti demo`, the chaos
/// simulator, `tutti bench`, the criterion benches). Their trapdoors are public: a
/// verifying key made from one of them proves nothing, whatever its flag byte says.
pub const KNOWN_PUBLIC_SEEDS: &[&str] = &[
    "tutti-demo",
    "tutti-chaos",
    "tutti-bench",
    "bench-prover",
    "bench-kzg",
    "bench-share",
];

fn malformed(why: impl Into<String>) -> CryptoError {
    CryptoError::MalformedSetup(why.into())
}

impl G2Part {
    /// The SRS's identity: `keccak256("tutti/srs-id/v1" ‖ M u32 BE ‖ [1]₂ ‖ [τ_X]₂ ‖
    /// [τ_Y]₂)` with the points in wire encoding. Every point of a well-formed SRS is
    /// determined by M and the two trapdoors, so SRSs with one identity are one setup
    /// (whatever T they were extended to, and whatever their insecure flag says). This is
    /// what a verifier or a client pins.
    pub fn srs_id(&self, shards: usize) -> [u8; 32] {
        let mut d = SRS_ID_DOMAIN.to_vec();
        d.extend_from_slice(&(shards as u32).to_be_bytes());
        self.encode(&mut d);
        keccak256(&d)
    }

    /// Checks the G2 part of an SRS or verifying key: `[1]₂` is the standard generator,
    /// `[τ_X]₂` and `[τ_Y]₂` are in the prime-order subgroup, neither is the identity
    /// (τ = 0) nor ±`[1]₂` (τ = ±1), and they differ (τ_X ≠ τ_Y). With a degenerate
    /// G2 part the pairing equations hold for garbage.
    pub fn validate(&self) -> Result<()> {
        for (name, p) in [("[τ_X]₂", self.tau_x), ("[τ_Y]₂", self.tau_y)] {
            if !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
                return Err(malformed(format!(
                    "{name} is not in the prime-order subgroup of G2"
                )));
            }
        }
        self.check_nondegenerate()
    }

    /// The comparisons of [`G2Part::validate`] without its subgroup checks (points from
    /// the canonical decoder are in the subgroup already): cheap enough for every
    /// verification.
    pub fn check_nondegenerate(&self) -> Result<()> {
        let h = G2Affine::generator();
        if self.one != h {
            return Err(malformed("[1]₂ is not the standard generator of BN254 G2"));
        }
        for (name, p) in [("[τ_X]₂", self.tau_x), ("[τ_Y]₂", self.tau_y)] {
            if p.is_zero() {
                return Err(malformed(format!(
                    "{name} is the point at infinity (a zero trapdoor)"
                )));
            }
            if p == h || p == -h {
                return Err(malformed(format!(
                    "{name} is ±[1]₂ (a trapdoor of ±1, known to everyone)"
                )));
            }
        }
        if self.tau_x == self.tau_y || self.tau_x == -self.tau_y {
            return Err(malformed("[τ_X]₂ = ±[τ_Y]₂: the two trapdoors are related"));
        }
        Ok(())
    }
}

/// The public seed among [`KNOWN_PUBLIC_SEEDS`] this G2 part was generated from, if any
/// (its trapdoors are then known to everyone). Costs one G2 scalar multiplication per
/// known seed.
pub fn public_seed_of(g2: &G2Part) -> Option<&'static str> {
    let h = crate::G2Projective::generator();
    KNOWN_PUBLIC_SEEDS.iter().copied().find(|seed| {
        // Generation moves a degenerate τ_X (0, ±1, ±τ_Y), which none of these seeds gives.
        let (tau_x, _) = secrets_from_seed(seed.as_bytes());
        (h * tau_x).into_affine() == g2.tau_x
    })
}

/// A Fiat–Shamir weight bound to `label` and every byte of `parts`.
fn weight(label: &[u8], parts: &[&[u8]]) -> Fr {
    let mut d = label.to_vec();
    for p in parts {
        d.extend_from_slice(&(p.len() as u64).to_be_bytes());
        d.extend_from_slice(p);
    }
    let lo = keccak256(&d);
    d.push(1);
    let hi = keccak256(&d);
    let mut wide = [0u8; 64];
    wide[..32].copy_from_slice(&lo);
    wide[32..].copy_from_slice(&hi);
    Fr::from_le_bytes_mod_order(&wide)
}

/// BLAKE3 of the points' transcript encodings (encoded in parallel, hashed at once).
fn points_bytes(points: &[G1Affine]) -> Vec<u8> {
    use rayon::prelude::*;
    let mut bytes = vec![0u8; 64 * points.len()];
    bytes
        .par_chunks_mut(64)
        .zip(points.par_iter())
        .for_each(|(dst, p)| dst.copy_from_slice(&g1_evm(p)));
    let mut h = blake3::Hasher::new();
    h.update_rayon(&bytes);
    h.finalize().as_bytes().to_vec()
}

fn g2_bytes(g2: &G2Part) -> Vec<u8> {
    let mut out = Vec::new();
    g2.encode(&mut out);
    out
}

/// Checks `points[j+1] = τ·points[j]` for every j with one MSM and two pairings, where
/// `tau2 = [τ]₂`: with `A = Σ_{j≥1} ρ^{j−1}·P_j` and `B = Σ_{j<n−1} ρ^j·P_j =
/// ρ·A + P_0 − ρ^{n−1}·P_{n−1}`, it tests `e(A, [1]₂) = e(B, [τ]₂)`.
fn geometric(points: &[G1Affine], rho: Fr, one: G2Affine, tau2: G2Affine) -> bool {
    let n = points.len();
    if n < 2 {
        return true;
    }
    let mut powers = Vec::with_capacity(n - 1);
    let mut acc = Fr::one();
    for _ in 0..n - 1 {
        powers.push(acc);
        acc *= rho;
    }
    // acc = ρ^{n−1}
    let a = G1Projective::msm_unchecked(&points[1..], &powers);
    let b = a * rho + points[0] - points[n - 1] * acc;
    let ab = G1Projective::normalize_batch(&[a, -b]);
    Bn254::multi_pairing(ab, [one, tau2]).is_zero()
}

/// Checks that a worker row is `[R_i(τ_Y)·τ_X^j]₁` for the given `[R_i(τ_Y)]₁` (`base`,
/// from the verifying key) and the G2 part's `[τ_X]₂`: its first base is `base`, `base`
/// is not the identity, and each base is τ_X times the one before (one MSM of the row's
/// length and a two-pair multi-pairing). A row that passes makes honest commitments and
/// openings pass every share check made with `base` and `[τ_X]₂`.
pub fn check_row(row: &WorkerRow, base: &G1Affine, g2: &G2Part) -> Result<()> {
    let fail = |reason| CryptoError::InconsistentRow {
        shard: row.shard,
        reason,
    };
    let Some(first) = row.bases.first() else {
        return Err(fail("the row is empty"));
    };
    if base.is_zero() {
        return Err(fail("the shard's Lagrange base is the identity"));
    }
    if first != base {
        return Err(fail(
            "its first base is not the shard's Lagrange base [R_i(τ_Y)]₁",
        ));
    }
    let rho = weight(
        b"tutti/srs-row-check/v1",
        &[
            &(row.shard as u64).to_be_bytes(),
            &g1_evm(base),
            &g2_bytes(g2),
            &points_bytes(&row.bases),
        ],
    );
    if !geometric(&row.bases, rho, g2.one, g2.tau_x) {
        return Err(fail(
            "its bases are not successive τ_X multiples of the first",
        ));
    }
    Ok(())
}

/// Checks the aggregator's part of an SRS against its G2 part: `[τ_Y^0]₁` is the
/// generator, the Y powers are successive powers of the `τ_Y` of `[τ_Y]₂`, no Lagrange
/// base is the identity, and the Lagrange bases are the inverse DFT of the first M Y
/// powers (`[R_i(τ_Y)]₁ = (1/M)·Σ_k ω_Y^{−ik}·[τ_Y^k]₁`, checked with random weights:
/// one MSM of 2M points), which also makes them sum to the generator.
pub fn check_aggregator_part(agg: &AggregatorSrs) -> Result<()> {
    let m = agg.header.shards;
    let g = G1Affine::generator();
    if agg.y_powers.len() < m.max(2) || agg.lagrange_y.len() != m {
        return Err(malformed(format!(
            "{} Y powers and {} Lagrange bases for {m} shards",
            agg.y_powers.len(),
            agg.lagrange_y.len()
        )));
    }
    if agg.y_powers[0] != g {
        return Err(malformed("the Y power k = 0 is not the generator of G1"));
    }
    if agg.lagrange_y.iter().any(|p| p.is_zero()) {
        return Err(malformed("a Lagrange base [R_i(τ_Y)]₁ is the identity"));
    }
    let seed = [
        g2_bytes(&agg.g2),
        points_bytes(&agg.y_powers),
        points_bytes(&agg.lagrange_y),
    ];
    let parts: Vec<&[u8]> = seed.iter().map(|v| v.as_slice()).collect();
    let rho = weight(b"tutti/srs-y-check/v1", &parts);
    if !geometric(&agg.y_powers, rho, agg.g2.one, agg.g2.tau_y) {
        return Err(malformed(
            "the Y powers are not successive powers of the τ_Y of [τ_Y]₂",
        ));
    }
    // Σ_i λ_i·L_i = Σ_k c_k·Y_k with c = iDFT(λ): c_k = (1/M)·Σ_i λ_i·ω^{−ik}.
    let lambda0 = weight(b"tutti/srs-lagrange-check/v1", &parts);
    let mut lambdas = Vec::with_capacity(m);
    let mut acc = Fr::one();
    for _ in 0..m {
        lambdas.push(acc);
        acc *= lambda0;
    }
    let dy = domain::domain(m)?;
    let coeffs = dy.ifft(&lambdas);
    let mut bases = agg.lagrange_y.clone();
    bases.extend_from_slice(&agg.y_powers[..m]);
    let mut scalars = lambdas;
    scalars.extend(coeffs.iter().map(|c| -*c));
    if !G1Projective::msm_unchecked(&bases, &scalars).is_zero() {
        return Err(malformed(
            "the Lagrange bases are not derived from the Y powers",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srs::{InMemorySrs, RowSource, SrsFile, row_len};

    fn srs() -> InMemorySrs {
        InMemorySrs::insecure_from_seed(4, 16, b"structure").unwrap()
    }

    #[test]
    fn honest_material_passes() {
        let s = srs();
        let agg = s.aggregator_part().unwrap();
        agg.g2.validate().unwrap();
        check_aggregator_part(&agg).unwrap();
        for i in 0..4 {
            let row = s.row(i, row_len(16)).unwrap();
            check_row(&row, &agg.lagrange_y[i], &agg.g2).unwrap();
            // A prefix of a good row is a good row (jobs may use fewer rows).
            let short = s.row(i, 5).unwrap();
            check_row(&short, &agg.lagrange_y[i], &agg.g2).unwrap();
        }
    }

    #[test]
    fn every_tampered_row_base_is_caught() {
        let s = srs();
        let agg = s.aggregator_part().unwrap();
        let good = s.row(1, row_len(16)).unwrap();
        for j in 0..good.bases.len() {
            let mut row = good.clone();
            row.bases[j] = (row.bases[j] + G1Affine::generator()).into_affine();
            let err = check_row(&row, &agg.lagrange_y[1], &agg.g2).unwrap_err();
            assert!(
                matches!(err, CryptoError::InconsistentRow { shard: 1, .. }),
                "base {j}: {err}"
            );
        }
        // Two bases swapped, another shard's row, the wrong τ_X.
        let mut swapped = good.clone();
        swapped.bases.swap(3, 4);
        assert!(check_row(&swapped, &agg.lagrange_y[1], &agg.g2).is_err());
        let other = s.row(2, row_len(16)).unwrap();
        assert!(check_row(&other, &agg.lagrange_y[1], &agg.g2).is_err());
        let mut g2 = agg.g2;
        g2.tau_x = agg.g2.tau_y;
        assert!(check_row(&good, &agg.lagrange_y[1], &g2).is_err());
        // A row scaled as a whole is consistent with itself but not with the base.
        let scaled = WorkerRow {
            bases: good
                .bases
                .iter()
                .map(|p| (*p * Fr::from(2u64)).into_affine())
                .collect(),
            ..good.clone()
        };
        assert!(check_row(&scaled, &agg.lagrange_y[1], &agg.g2).is_err());
        assert!(check_row(&scaled, &scaled.bases[0], &agg.g2).is_ok());
    }

    #[test]
    fn degenerate_g2_parts_are_refused() {
        let good = srs().aggregator_part().unwrap().g2;
        let h = G2Affine::generator();
        let cases = [
            G2Part {
                one: G2Affine::zero(),
                tau_x: G2Affine::zero(),
                tau_y: G2Affine::zero(),
            },
            G2Part {
                one: G2Affine::zero(),
                ..good
            },
            G2Part {
                one: (h * Fr::from(3u64)).into_affine(),
                ..good
            },
            G2Part {
                tau_x: G2Affine::zero(),
                ..good
            },
            G2Part {
                tau_y: G2Affine::zero(),
                ..good
            },
            G2Part { tau_x: h, ..good },
            G2Part { tau_y: -h, ..good },
            G2Part {
                tau_y: good.tau_x,
                ..good
            },
            G2Part {
                tau_y: -good.tau_x,
                ..good
            },
        ];
        for (k, g2) in cases.iter().enumerate() {
            assert!(
                matches!(g2.validate(), Err(CryptoError::MalformedSetup(_))),
                "case {k} accepted"
            );
        }
    }

    #[test]
    fn tampered_aggregator_parts_are_refused() {
        let agg = srs().aggregator_part().unwrap();
        for k in 0..agg.y_powers.len() {
            let mut bad = agg.clone();
            bad.y_powers[k] = (bad.y_powers[k] + G1Affine::generator()).into_affine();
            assert!(check_aggregator_part(&bad).is_err(), "Y power {k}");
        }
        for i in 0..agg.lagrange_y.len() {
            let mut bad = agg.clone();
            bad.lagrange_y[i] = (bad.lagrange_y[i] + G1Affine::generator()).into_affine();
            assert!(check_aggregator_part(&bad).is_err(), "Lagrange base {i}");
        }
        let mut swapped = agg.clone();
        swapped.lagrange_y.swap(0, 1);
        assert!(check_aggregator_part(&swapped).is_err());
    }

    /// A file whose row was tampered with and whose checksums were recomputed (what
    /// `write_file` does for whatever it holds) loads its header, but not that row.
    #[test]
    fn file_with_a_tampered_row_and_fresh_checksums_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("srs.bin");
        let mut s = srs();
        s.rows[2][17] = (s.rows[2][17] + G1Affine::generator()).into_affine();
        s.write_file(&path).unwrap();
        let file = SrsFile::open(&path).unwrap();
        assert!(file.row(1, row_len(16)).is_ok());
        let err = file.row(2, row_len(16)).unwrap_err();
        assert!(
            matches!(err, CryptoError::InconsistentRow { shard: 2, .. }),
            "{err}"
        );
        // The same with a tampered Y power: the file does not open.
        let mut s = srs();
        s.agg.y_powers[5] = (s.agg.y_powers[5] + G1Affine::generator()).into_affine();
        s.write_file(&path).unwrap();
        let err = SrsFile::open(&path).unwrap_err();
        assert!(err.to_string().contains("Y powers"), "{err}");
    }

    #[test]
    fn identity_and_public_seeds() {
        let a = InMemorySrs::insecure_from_seed(2, 16, b"tutti-demo").unwrap();
        let b = InMemorySrs::insecure_from_seed(2, 32, b"tutti-demo").unwrap();
        let c = InMemorySrs::from_entropy(2, 16, &[7u8; 64]).unwrap();
        let (ga, gb, gc) = (
            a.aggregator_part().unwrap().g2,
            b.aggregator_part().unwrap().g2,
            c.aggregator_part().unwrap().g2,
        );
        assert_eq!(ga.srs_id(2), gb.srs_id(2));
        assert_ne!(ga.srs_id(2), ga.srs_id(4));
        assert_ne!(ga.srs_id(2), gc.srs_id(2));
        assert_eq!(public_seed_of(&ga), Some("tutti-demo"));
        assert_eq!(public_seed_of(&gc), None);
    }
}
