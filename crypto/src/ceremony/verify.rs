//! Verification of a contribution: shapes, subgroups, proofs of knowledge, the G2
//! links, and the grid's structure by random linear combinations.

use super::{CeremonyError, CeremonyState, Contribution, PointLocation, Trapdoor};
use crate::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::Zero;
use ark_std::rand::{CryptoRng, Rng};
use rayon::prelude::*;

/// A set of links `to[k] = τ·from[k]` to check together.
struct Links<'a> {
    from: &'a [G1Affine],
    to: &'a [G1Affine],
    /// Links with `k % m == m − 1` are not links (ends of the grid's Y rows).
    skip_mod: Option<usize>,
    /// Where link k starts, for error messages.
    loc: &'a (dyn Fn(usize) -> PointLocation + Sync),
}

impl Links<'_> {
    /// `(Σ ρ_k·from[k], Σ ρ_k·to[k])` over `lo..hi` with fresh 128-bit weights.
    fn combine<R: Rng + ?Sized>(
        &self,
        lo: usize,
        hi: usize,
        rng: &mut R,
    ) -> (G1Projective, G1Projective) {
        let w: Vec<Fr> = (lo..hi)
            .map(|k| match self.skip_mod {
                Some(m) if k % m == m - 1 => Fr::zero(),
                _ => Fr::from(rng.r#gen::<u128>()),
            })
            .collect();
        (
            G1Projective::msm_unchecked(&self.from[lo..hi], &w),
            G1Projective::msm_unchecked(&self.to[lo..hi], &w),
        )
    }

    fn holds<R: Rng + ?Sized>(&self, lo: usize, hi: usize, tau: &G2Affine, rng: &mut R) -> bool {
        let (a, b) = self.combine(lo, hi, rng);
        shift_holds(a, b, tau)
    }

    /// Bisects to one failing link, if this set fails.
    fn locate<R: Rng + ?Sized>(&self, tau: &G2Affine, rng: &mut R) -> Option<PointLocation> {
        let (mut lo, mut hi) = (0, self.from.len());
        if hi == 0 || self.holds(lo, hi, tau, rng) {
            return None;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if !self.holds(lo, mid, tau, rng) {
                hi = mid;
            } else if !self.holds(mid, hi, tau, rng) {
                lo = mid;
            } else {
                return None;
            }
        }
        Some((self.loc)(lo))
    }
}

/// `e(A, [τ]₂) = e(B, [1]₂)`.
fn shift_holds(a: G1Projective, b: G1Projective, tau: &G2Affine) -> bool {
    let ab = G1Projective::normalize_batch(&[a, -b]);
    Bn254::multi_pairing(ab, [*tau, G2Affine::generator()]).is_zero()
}

/// Checks every link of `sets` with one random combination (two MSMs and one two-pair
/// multi-pairing); on failure, bisects to a failing link.
fn check_links<R: Rng + ?Sized>(
    sets: &[Links<'_>],
    tau: &G2Affine,
    rng: &mut R,
) -> Result<(), Option<PointLocation>> {
    let (mut a, mut b) = (G1Projective::zero(), G1Projective::zero());
    for l in sets {
        let (x, y) = l.combine(0, l.from.len(), rng);
        a += x;
        b += y;
    }
    if shift_holds(a, b, tau) {
        return Ok(());
    }
    Err(sets.iter().find_map(|l| l.locate(tau, rng)))
}

fn in_subgroup(p: &G1Affine) -> bool {
    p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()
}

fn check_points(next: &CeremonyState, c: &Contribution) -> Result<(), CeremonyError> {
    let m = next.shards;
    let bad = |at| Err(CeremonyError::NotInSubgroup { at });
    if let Some(k) = next.grid.par_iter().position_first(|p| !in_subgroup(p)) {
        return bad(PointLocation::Grid { i: k / m, j: k % m });
    }
    if let Some(k) = next.extra_y.par_iter().position_first(|p| !in_subgroup(p)) {
        return bad(PointLocation::ExtraY { j: m + k });
    }
    for (t, p) in [(Trapdoor::X, next.tau_x_g2), (Trapdoor::Y, next.tau_y_g2)] {
        if !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
            return bad(PointLocation::G2(t));
        }
    }
    for (t, p) in c.points() {
        if !in_subgroup(&p) {
            return bad(PointLocation::Proof(t));
        }
    }
    Ok(())
}

/// Verifies that `next` is `prev` updated by contribution `c`. In this order:
///
/// 1. shapes: both states well formed ([`CeremonyState::check_shape`]), same M and T;
/// 2. `c`'s hash is not that of a contribution already in `prev` (replay), and
///    `next`'s list is `prev`'s followed by `c`;
/// 3. every point of `next` and of `c` is on the curve and in the prime-order subgroup;
/// 4. grid entry (0, 0) is the generator of G1;
/// 5. each new `[τ]₂` is not the identity and differs from the previous one (secrets
///    0 and 1 are refused); except that in a ceremony started from a `.ptau` file
///    (`prev.x_from_ptau` is `Some`) `[τ_X]₂` must be unchanged (r = 1) and `next` must
///    carry the same `x_from_ptau`, else [`CeremonyError::PtauXChanged`];
/// 6. each Schnorr proof of knowledge verifies, and links the previous `[τ]₂` to the
///    new one: `e(P, [τ]₂) = e(G, [τ']₂)`;
/// 7. the grid is bound to the new G2 points: `e(G[1][0], [1]₂) = e(G, [τ_X']₂)` and
///    `e([τ_Y]₁, [1]₂) = e(G, [τ_Y']₂)`;
/// 8. every X link `G[i+1][j] = τ_X'·G[i][j]`, then every Y link (along each grid row
///    and along column 0 into the extra Y powers), each set by one random linear
///    combination with 128-bit weights from `rng` (two MSMs of about the grid's size
///    and one two-pair multi-pairing per trapdoor), bisecting to a failing link if the
///    combination fails;
/// 9. `c.hash` is [`Contribution::compute_hash`] of `prev`'s digest, `next` and the
///    proofs.
///
/// The weights must be unpredictable to whoever made the contribution: pass a
/// cryptographic RNG seeded from fresh entropy (a contributor who could predict the
/// weights could build a grid whose errors cancel in the combination).
///
/// `prev` is trusted to be a verified state (the initial state or the result of a
/// verified contribution): see [`verify_transcript`] for a whole chain.
pub fn verify_contribution<R: Rng + CryptoRng + ?Sized>(
    prev: &CeremonyState,
    next: &CeremonyState,
    c: &Contribution,
    rng: &mut R,
) -> Result<(), CeremonyError> {
    prev.check_shape()?;
    next.check_shape()?;
    for (what, a, b) in [
        ("shards", prev.shards, next.shards),
        ("shard_gates", prev.shard_gates, next.shard_gates),
    ] {
        if a != b {
            return Err(CeremonyError::Shape {
                what,
                expected: a as u64,
                found: b as u64,
            });
        }
    }
    if let Some(index) = prev.contributions.iter().position(|e| e.hash == c.hash) {
        return Err(CeremonyError::Replayed { index });
    }
    let n = prev.contributions.len();
    if next.contributions.len() != n + 1
        || next.contributions[..n] != prev.contributions[..]
        || &next.contributions[n] != c
    {
        return Err(CeremonyError::ContributionList);
    }
    check_points(next, c)?;
    let g = G1Affine::generator();
    if next.grid[0] != g {
        return Err(CeremonyError::GeneratorMoved);
    }
    let updates = [
        (Trapdoor::X, &c.x, prev.tau_x_g2, next.tau_x_g2),
        (Trapdoor::Y, &c.y, prev.tau_y_g2, next.tau_y_g2),
    ];
    // A ceremony started from a .ptau keeps τ_X (r = 1, so the X proof is one of
    // knowledge of 1, `P = G`) and its origin; see `CeremonyState::from_ptau`.
    let x_fixed = prev.x_from_ptau.is_some();
    if next.x_from_ptau != prev.x_from_ptau {
        return Err(CeremonyError::PtauXChanged);
    }
    for (t, _, old, new) in &updates {
        if new.is_zero() {
            return Err(CeremonyError::IdentityG2(*t));
        }
        if x_fixed && *t == Trapdoor::X {
            if new != old {
                return Err(CeremonyError::PtauXChanged);
            }
        } else if new == old {
            return Err(CeremonyError::TrapdoorUnchanged(*t));
        }
    }
    let prev_digest = prev.digest();
    for (t, proof, old, new) in &updates {
        if !proof.verify(&prev_digest, *t, new) {
            return Err(CeremonyError::ProofOfKnowledge(*t));
        }
        if !proof.links(old, new) {
            return Err(CeremonyError::G2UpdateMismatch(*t));
        }
    }
    let m = next.shards;
    // x_len ≥ 20 and y_len(M) ≥ 6 > M, so both first powers exist.
    let firsts = [
        (Trapdoor::X, next.grid[m], next.tau_x_g2),
        (Trapdoor::Y, *next.y_power(1).unwrap_or(&g), next.tau_y_g2),
    ];
    for (t, p, tau) in firsts {
        if !Bn254::multi_pairing([p, -g], [G2Affine::generator(), tau]).is_zero() {
            return Err(CeremonyError::GridNotBound(t));
        }
    }
    let grid_loc = move |k: usize| PointLocation::Grid { i: k / m, j: k % m };
    let total = next.grid.len();
    let x_links = Links {
        from: &next.grid[..total - m],
        to: &next.grid[m..],
        skip_mod: None,
        loc: &grid_loc,
    };
    check_links(&[x_links], &next.tau_x_g2, rng).map_err(|at| CeremonyError::XShift { at })?;
    let mut column = Vec::with_capacity(next.extra_y.len() + 1);
    column.push(next.grid[m - 1]);
    column.extend_from_slice(&next.extra_y);
    let column_loc = move |k: usize| {
        if k == 0 {
            PointLocation::Grid { i: 0, j: m - 1 }
        } else {
            PointLocation::ExtraY { j: m - 1 + k }
        }
    };
    let mut y_sets = vec![Links {
        from: &column[..column.len() - 1],
        to: &column[1..],
        skip_mod: None,
        loc: &column_loc,
    }];
    if m > 1 {
        y_sets.push(Links {
            from: &next.grid[..total - 1],
            to: &next.grid[1..],
            skip_mod: Some(m),
            loc: &grid_loc,
        });
    }
    check_links(&y_sets, &next.tau_y_g2, rng).map_err(|at| CeremonyError::YShift { at })?;
    if Contribution::compute_hash(&prev_digest, next, &c.x, &c.y) != c.hash {
        return Err(CeremonyError::HashMismatch);
    }
    Ok(())
}

/// Verifies a whole ceremony: `states[0]` is the initial state for its M and T, and
/// each `states[k]` is `states[k − 1]` updated by its own last contribution
/// (`states[k].contributions[k − 1]`).
pub fn verify_transcript<R: Rng + CryptoRng + ?Sized>(
    states: &[CeremonyState],
    rng: &mut R,
) -> Result<(), CeremonyError> {
    let Some(first) = states.first() else {
        return Err(CeremonyError::NotInitial);
    };
    if *first != CeremonyState::init(first.shards, first.shard_gates)? {
        return Err(CeremonyError::NotInitial);
    }
    verify_steps(states, rng)
}

/// Verifies each step of a transcript whose first state the caller has checked:
/// `states[k]` is `states[k − 1]` updated by `states[k].contributions[k − 1]`.
pub(crate) fn verify_steps<R: Rng + CryptoRng + ?Sized>(
    states: &[CeremonyState],
    rng: &mut R,
) -> Result<(), CeremonyError> {
    for (k, pair) in states.windows(2).enumerate() {
        let c = pair[1]
            .contributions
            .get(k)
            .ok_or(CeremonyError::ContributionList)?;
        verify_contribution(&pair[0], &pair[1], c, rng)?;
    }
    Ok(())
}
