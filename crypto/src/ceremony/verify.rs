//! Verification: the record chain (proofs of knowledge, G2 updates, beacon, hashes)
//! from the ceremony's start, and the state's grid structure by one random linear
//! combination of the whole grid.

use super::{
    CeremonyError, CeremonyState, Contribution, PointLocation, Progress, Trapdoor, beacon_secrets,
};
use crate::scalars::powers_of;
use crate::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{Field, One, UniformRand, Zero};
use ark_std::rand::{CryptoRng, Rng};
use rayon::prelude::*;

/// A set of links `to[k] = τ·from[k]`, for locating a failing one by bisection.
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

fn g2_in_subgroup(p: &G2Affine) -> bool {
    p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()
}

/// `Σ_k w_k·points[k]`.
fn msm(points: &[G1Affine], weights: &[Fr]) -> G1Projective {
    G1Projective::msm_unchecked(points, weights)
}

/// Checks the grid's structure against the state's G2 points: entry (0, 0) is the
/// generator, the first X and Y powers are bound to `[τ_X]₂` and `[τ_Y]₂`, and every
/// X link `G[i+1][j] = τ_X·G[i][j]` and Y link `G[i][j+1] = τ_Y·G[i][j]` (with column 0
/// continued by the extra Y powers) holds.
///
/// The links are checked with weights `α^i·β^j` for random α, β. With
/// `S = Σ α^i·β^j·G[i][j]` (one MSM over the whole grid), `S − α^{L−1}·Σ_j β^j·G[L−1][j]`
/// is the weighted sum of every link's start and `α⁻¹·(S − Σ_j β^j·G[0][j])` the same
/// weighted sum of every link's end, so all X links hold together when
/// `e(S − α^{L−1}·Σ_j β^j·G[L−1][j], [τ_X]₂) = e(α⁻¹·(S − Σ_j β^j·G[0][j]), [1]₂)`;
/// likewise along Y with the last and first columns. If some link is off, the
/// difference of the two sides is a non-zero polynomial in (α, β) of degree below L + M,
/// which vanishes with probability at most (L + M)/r < 2⁻²²⁰ (Schwartz–Zippel). The
/// cost is one MSM of the grid's size, MSMs of one row and two columns, and two
/// two-pair pairings. When a check fails, a bisection with fresh weights names a
/// failing link.
pub fn check_structure<R: Rng + CryptoRng + ?Sized>(
    state: &CeremonyState,
    rng: &mut R,
    progress: Progress<'_>,
) -> Result<(), CeremonyError> {
    state.check_shape()?;
    let g = G1Affine::generator();
    if state.grid[0] != g {
        return Err(CeremonyError::GeneratorMoved);
    }
    for (t, p) in [(Trapdoor::X, state.tau_x_g2), (Trapdoor::Y, state.tau_y_g2)] {
        if !g2_in_subgroup(&p) {
            return Err(CeremonyError::NotInSubgroup {
                at: PointLocation::G2(t),
            });
        }
    }
    let (m, l) = (state.shards, state.x_len());
    // x_len ≥ 20 and y_len(M) ≥ 6 > M, so both first powers exist.
    let firsts = [
        (Trapdoor::X, state.grid[m], state.tau_x_g2),
        (Trapdoor::Y, *state.y_power(1).unwrap_or(&g), state.tau_y_g2),
    ];
    for (t, p, tau) in firsts {
        if !Bn254::multi_pairing([p, -g], [G2Affine::generator(), tau]).is_zero() {
            return Err(CeremonyError::GridNotBound(t));
        }
    }
    let draw = |rng: &mut R| loop {
        let x = Fr::rand(rng);
        if !x.is_zero() {
            return x;
        }
    };
    let (alpha, beta) = (draw(rng), draw(rng));
    let a = powers_of(alpha, l);
    let b = powers_of(beta, m);
    let weights: Vec<Fr> = (0..l * m)
        .into_par_iter()
        .map(|k| a[k / m] * b[k % m])
        .collect();
    progress("checking the grid (one MSM)", 0, 1);
    let s = msm(&state.grid, &weights);
    progress("checking the grid (one MSM)", 1, 1);
    let first_row = msm(&state.grid[..m], &b);
    let last_row = msm(&state.grid[(l - 1) * m..], &b);
    let x_from = s - last_row * a[l - 1];
    let x_to = (s - first_row) * alpha.inverse().unwrap_or_else(Fr::one);
    let grid_loc = move |k: usize| PointLocation::Grid { i: k / m, j: k % m };
    let total = state.grid.len();
    if !shift_holds(x_from, x_to, &state.tau_x_g2) {
        let links = Links {
            from: &state.grid[..total - m],
            to: &state.grid[m..],
            skip_mod: None,
            loc: &grid_loc,
        };
        return Err(CeremonyError::XShift {
            at: links.locate(&state.tau_x_g2, rng),
        });
    }
    let column = |j: usize| -> Vec<G1Affine> { (0..l).map(|i| state.grid[i * m + j]).collect() };
    let y_from = s - msm(&column(m - 1), &a) * b[m - 1];
    let y_to = (s - msm(&column(0), &a)) * beta.inverse().unwrap_or_else(Fr::one);
    // Column 0 continued: [τ_Y^{M−1}]₁ → the extra Y powers, with its own weights.
    let mut tail = Vec::with_capacity(state.extra_y.len() + 1);
    tail.push(state.grid[m - 1]);
    tail.extend_from_slice(&state.extra_y);
    let tail_loc = move |k: usize| {
        if k == 0 {
            PointLocation::Grid { i: 0, j: m - 1 }
        } else {
            PointLocation::ExtraY { j: m - 1 + k }
        }
    };
    let tail_links = Links {
        from: &tail[..tail.len() - 1],
        to: &tail[1..],
        skip_mod: None,
        loc: &tail_loc,
    };
    let (t_from, t_to) = tail_links.combine(0, tail.len() - 1, rng);
    if !shift_holds(y_from + t_from, y_to + t_to, &state.tau_y_g2) {
        let grid_links = Links {
            from: &state.grid[..total - 1],
            to: &state.grid[1..],
            skip_mod: Some(m),
            loc: &grid_loc,
        };
        let at = if m > 1 {
            grid_links.locate(&state.tau_y_g2, rng)
        } else {
            None
        };
        return Err(CeremonyError::YShift {
            at: at.or_else(|| tail_links.locate(&state.tau_y_g2, rng)),
        });
    }
    Ok(())
}

/// The G2 points a ceremony starts from: `([1]₂, [1]₂)`, or for a ceremony started
/// from a `.ptau` file its `[τ_X]₂` (kept by every contribution) and `[1]₂`.
fn genesis_g2(state: &CeremonyState) -> (G2Affine, G2Affine) {
    let h = G2Affine::generator();
    match state.x_from_ptau {
        None => (h, h),
        Some(_) => (state.tau_x_g2, h),
    }
}

/// Checks record `index` of `records`, which follows a record (or the start) of hash
/// `prev_hash` with G2 points `prev_g2`. Errors are not yet wrapped with the index.
fn check_record(
    records: &[Contribution],
    index: usize,
    prev_hash: &[u8; 32],
    prev_g2: (G2Affine, G2Affine),
    x_fixed: bool,
) -> Result<(), CeremonyError> {
    let c = &records[index];
    for (t, p) in [(Trapdoor::X, c.tau_x_g2), (Trapdoor::Y, c.tau_y_g2)] {
        if !g2_in_subgroup(&p) {
            return Err(CeremonyError::NotInSubgroup {
                at: PointLocation::G2(t),
            });
        }
    }
    for (t, p) in c.points() {
        if !p.is_on_curve() {
            return Err(CeremonyError::NotInSubgroup {
                at: PointLocation::Proof(t),
            });
        }
    }
    let updates = [
        (Trapdoor::X, &c.x, prev_g2.0, c.tau_x_g2),
        (Trapdoor::Y, &c.y, prev_g2.1, c.tau_y_g2),
    ];
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
    let earlier = &records[..index];
    if let Some(i) = earlier.iter().position(|e| {
        e.hash == c.hash || e.y.public == c.y.public || (!x_fixed && e.x.public == c.x.public)
    }) {
        return Err(CeremonyError::Replayed { index: i });
    }
    for (t, proof, old, new) in &updates {
        if !proof.verify(prev_hash, *t, new) {
            return Err(CeremonyError::ProofOfKnowledge(*t));
        }
        if !proof.links(old, new) {
            return Err(CeremonyError::G2UpdateMismatch(*t));
        }
    }
    if let Some(value) = &c.beacon {
        let (r, s) = beacon_secrets(value, x_fixed);
        let g = G1Affine::generator();
        if (g * r).into_affine() != c.x.public || (g * s).into_affine() != c.y.public {
            return Err(CeremonyError::BeaconMismatch);
        }
    }
    if c.compute_hash(prev_hash) != c.hash {
        return Err(CeremonyError::HashMismatch);
    }
    Ok(())
}

/// Checks records `from..` of `state` (those before are trusted), given the hash and
/// G2 points after record `from − 1`; returns the hash and G2 points after the last.
fn check_records(
    state: &CeremonyState,
    from: usize,
    mut hash: [u8; 32],
    mut g2: (G2Affine, G2Affine),
    progress: Progress<'_>,
) -> Result<([u8; 32], (G2Affine, G2Affine)), CeremonyError> {
    let x_fixed = state.x_from_ptau.is_some();
    let n = state.contributions.len();
    for k in from..n {
        progress("checking contribution records", k as u64, n as u64);
        check_record(&state.contributions, k, &hash, g2, x_fixed).map_err(|e| e.at(k))?;
        let c = &state.contributions[k];
        hash = c.hash;
        g2 = (c.tau_x_g2, c.tau_y_g2);
    }
    progress("checking contribution records", n as u64, n as u64);
    Ok((hash, g2))
}

/// Checks that the state is the one its last record names: its G2 points are the
/// record's, its points digest the record's (with no record: the start's G2 points).
fn check_recorded(state: &CeremonyState, g2: (G2Affine, G2Affine)) -> Result<(), CeremonyError> {
    if state.tau_x_g2 != g2.0 {
        return Err(CeremonyError::G2NotRecorded(Trapdoor::X));
    }
    if state.tau_y_g2 != g2.1 {
        return Err(CeremonyError::G2NotRecorded(Trapdoor::Y));
    }
    if let Some(last) = state.contributions.last()
        && last.points_digest != state.points_digest()
    {
        return Err(CeremonyError::PointsDigestMismatch);
    }
    Ok(())
}

/// Verifies a ceremony from its latest state alone: every contribution from the start
/// (each record's G2 update, its two proofs of knowledge bound to the previous record's
/// hash, no repeated contribution, a beacon's derived secrets, the hash chain), that the
/// state is the one the last record names, and that the grid is the monomial grid of
/// the state's `[τ_X]₂`, `[τ_Y]₂` ([`check_structure`]). An error about a record names
/// its index ([`CeremonyError::AtContribution`]).
///
/// Why the latest state suffices: the records prove that the final τ_X and τ_Y are the
/// products of the secrets of contributors who each knew theirs (see the module docs),
/// and the structure check that the grid is the monomial grid of exactly those
/// trapdoors. Intermediate states are not needed for soundness; [`verify_transcript`]
/// checks them too where they are published.
///
/// The weights must be unpredictable to whoever made the state: pass a cryptographic
/// RNG seeded from fresh entropy.
pub fn verify_ceremony<R: Rng + CryptoRng + ?Sized>(
    state: &CeremonyState,
    rng: &mut R,
    progress: Progress<'_>,
) -> Result<(), CeremonyError> {
    state.check_shape()?;
    let (_, g2) = check_records(state, 0, state.genesis_hash(), genesis_g2(state), progress)?;
    let last = state.contributions.len().saturating_sub(1);
    let at_last = |e: CeremonyError| {
        if state.contributions.is_empty() {
            e
        } else {
            e.at(last)
        }
    };
    check_recorded(state, g2).map_err(at_last)?;
    check_structure(state, rng, progress).map_err(at_last)
}

/// Verifies that `next` is `prev` plus one contribution: `prev` is trusted (the start,
/// or a state already verified); `next`'s records are `prev`'s and one more, which is
/// checked as in [`verify_ceremony`], and `next`'s grid is checked in full. Errors name
/// the new contribution's index.
pub fn verify_contribution<R: Rng + CryptoRng + ?Sized>(
    prev: &CeremonyState,
    next: &CeremonyState,
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
    let n = prev.contributions.len();
    if next.x_from_ptau != prev.x_from_ptau {
        return Err(CeremonyError::PtauXChanged.at(n));
    }
    if next.contributions.len() != n + 1 || next.contributions[..n] != prev.contributions[..] {
        if let Some(last) = next.contributions.last()
            && let Some(index) = prev.contributions.iter().position(|e| e.hash == last.hash)
        {
            return Err(CeremonyError::Replayed { index }.at(n));
        }
        return Err(CeremonyError::ContributionList.at(n));
    }
    let prev_g2 = (prev.tau_x_g2, prev.tau_y_g2);
    let (_, g2) = check_records(next, n, prev.transcript_hash(), prev_g2, super::QUIET)?;
    check_recorded(next, g2).map_err(|e| e.at(n))?;
    check_structure(next, rng, super::QUIET).map_err(|e| e.at(n))
}

/// Verifies a whole published transcript: `states[0]` is the initial state for its M
/// and T, and each `states[k]` is `states[k − 1]` plus one contribution
/// ([`verify_contribution`]).
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

/// Verifies each step of a transcript whose first state the caller has checked.
pub(crate) fn verify_steps<R: Rng + CryptoRng + ?Sized>(
    states: &[CeremonyState],
    rng: &mut R,
) -> Result<(), CeremonyError> {
    for pair in states.windows(2) {
        verify_contribution(&pair[0], &pair[1], rng)?;
    }
    Ok(())
}
