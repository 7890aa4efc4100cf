//! The ceremony: a multi-party chain of contributions ends in the SRS of the product of
//! the secrets, the final state alone verifies the whole chain, every tampering is
//! refused with its own error and the index of the contribution it concerns, and the
//! state encoding round-trips.

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::Field;
use rand::{SeedableRng, rngs::StdRng};
use tutti_crypto::ceremony::{
    CeremonyError, CeremonyState, Contribution, PointLocation, QUIET, Trapdoor, beacon_secrets,
    verify_ceremony, verify_contribution, verify_transcript,
};
use tutti_crypto::srs::{RowSource, row_len, secrets_from_seed};
use tutti_crypto::{Fr, G1Affine};

mod common;
use common::{assert_is_the_seeded_srs, assert_well_formed_srs};

const M: usize = 4;
const T: usize = 16;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn bump(p: &G1Affine) -> G1Affine {
    (*p + G1Affine::generator()).into_affine()
}

/// One contribution with known secrets, on top of the initial state.
fn one_step(r: u64, s: u64) -> (CeremonyState, CeremonyState) {
    let prev = CeremonyState::init(M, T).unwrap();
    let (next, _) = prev
        .contribute_with(Fr::from(r), Fr::from(s), &mut rng(1))
        .unwrap();
    (prev, next)
}

/// Verifies `next` after `prev` both ways (one step, and the whole chain from `next`
/// alone) and checks that they agree; returns the error without its index, which must
/// be that of `next`'s last record.
fn verify(prev: &CeremonyState, next: &CeremonyState) -> Result<(), CeremonyError> {
    let step = verify_contribution(prev, next, &mut rng(99));
    let chain = verify_ceremony(next, &mut rng(98), QUIET);
    assert_eq!(
        step.as_ref().err().map(|e| format!("{:?}", e.innermost())),
        chain.as_ref().err().map(|e| format!("{:?}", e.innermost())),
        "the one-step and the whole-chain verification disagree"
    );
    match step {
        Ok(()) => Ok(()),
        Err(e) => {
            if let Some(index) = e.contribution_index() {
                assert_eq!(index, prev.contributions.len(), "{e}");
            }
            Err(match e {
                CeremonyError::AtContribution { source, .. } => *source,
                e => e,
            })
        }
    }
}

/// Replaces `state`'s last record by `c` and returns the state.
fn with_last(state: &CeremonyState, c: Contribution) -> CeremonyState {
    let mut s = state.clone();
    *s.contributions.last_mut().unwrap() = c;
    s
}

/// Re-hashes the last record after a field was changed, so that the change itself,
/// not the hash, is what a verifier must catch.
fn rehash(prev: &CeremonyState, mut c: Contribution) -> Contribution {
    c.hash = c.compute_hash(&prev.transcript_hash());
    c
}

#[test]
fn three_party_ceremony_gives_the_trapdoor_srs() {
    let seed = b"ceremony-test";
    let (tx, ty) = secrets_from_seed(seed);
    let (r2, r3, s2, s3) = (
        Fr::from(5u64),
        Fr::from(7u64),
        Fr::from(11u64),
        Fr::from(13u64),
    );
    let r1 = tx * (r2 * r3).inverse().unwrap();
    let s1 = ty * (s2 * s3).inverse().unwrap();
    let mut states = vec![CeremonyState::init(M, T).unwrap()];
    for (k, (r, s)) in [(r1, s1), (r2, s2), (r3, s3)].into_iter().enumerate() {
        let prev = states.last().unwrap().clone();
        let (next, c) = prev.contribute_with(r, s, &mut rng(k as u64)).unwrap();
        assert_eq!(next.transcript_hash(), c.hash);
        verify(&prev, &next).unwrap();
        states.push(next);
    }
    verify_transcript(&states, &mut rng(7)).unwrap();
    assert!(matches!(
        verify_transcript(&states[1..], &mut rng(7)),
        Err(CeremonyError::NotInitial)
    ));

    let last = states.last().unwrap();
    let got = last.to_srs().unwrap();
    assert_is_the_seeded_srs(&got, seed, M, T);
    assert_eq!(got.header().transcript, Some(last.transcript_hash()));
}

#[test]
fn random_contributions_verify_and_give_a_well_formed_srs() {
    let s0 = CeremonyState::init(M, T).unwrap();
    verify_ceremony(&s0, &mut rng(1), QUIET).unwrap();
    assert!(s0.to_srs().is_err(), "trapdoors 1 must not make an SRS");
    let (s1, c1) = s0.contribute(&mut rng(3), QUIET).unwrap();
    verify(&s0, &s1).unwrap();
    let (s2, c2) = s1.contribute(&mut rng(4), QUIET).unwrap();
    verify(&s1, &s2).unwrap();
    assert_eq!(s2.contributions, vec![c1.clone(), c2.clone()]);
    verify_transcript(&[s0.clone(), s1.clone(), s2.clone()], &mut rng(5)).unwrap();
    // Out of order: s2 is not s0 plus one contribution.
    assert!(verify_contribution(&s0, &s2, &mut rng(5)).is_err());
    assert_well_formed_srs(&s2.to_srs().unwrap(), M, T);
    // τ_Y an M-th root of unity: a valid contribution, but no usable SRS.
    let omega = ark_poly::EvaluationDomain::group_gen(&tutti_crypto::domain::domain(M).unwrap());
    let (root, _) = s0
        .contribute_with(Fr::from(3u64), omega, &mut rng(6))
        .unwrap();
    verify(&s0, &root).unwrap();
    assert!(root.to_srs().is_err());
}

#[test]
fn altered_points_are_refused() {
    let (prev, next) = one_step(3, 5);
    verify(&prev, &next).unwrap();
    // An altered grid no longer matches the points digest of its record; refresh the
    // digest (and hash) so that the structure check itself is what refuses it.
    let redigest = |mut bad: CeremonyState| {
        let mut c = bad.contributions.pop().unwrap();
        c.points_digest = bad.points_digest();
        bad.contributions.push(rehash(&prev, c));
        bad
    };

    let mut bad = next.clone();
    bad.grid[5 * M + 2] = bump(&bad.grid[5 * M + 2]);
    assert!(matches!(
        verify(&prev, &bad),
        Err(CeremonyError::PointsDigestMismatch)
    ));
    match verify(&prev, &redigest(bad)) {
        Err(CeremonyError::XShift {
            at: Some(PointLocation::Grid { i, j: 2 }),
        }) => assert!(i == 4 || i == 5, "located at i = {i}"),
        other => panic!("{other:?}"),
    }

    // The last X power of a column only breaks one X link.
    let mut bad = next.clone();
    let last = bad.grid.len() - 1;
    bad.grid[last] = bump(&bad.grid[last]);
    assert!(matches!(
        verify(&prev, &redigest(bad)),
        Err(CeremonyError::XShift {
            at: Some(PointLocation::Grid { i, j }),
        }) if i == row_len(T) - 2 && j == M - 1
    ));

    // An entry that breaks only Y links: the last X power, in a middle column, moved
    // consistently along X but not along Y is caught along X first; alter an extra Y
    // power instead, which has no X links.
    let mut bad = next.clone();
    bad.extra_y[3] = bump(&bad.extra_y[3]);
    match verify(&prev, &redigest(bad)) {
        Err(CeremonyError::YShift {
            at: Some(PointLocation::ExtraY { j }),
        }) => assert!(j == M + 2 || j == M + 3, "located at j = {j}"),
        other => panic!("{other:?}"),
    }

    let mut bad = next.clone();
    bad.grid[0] = bump(&bad.grid[0]);
    assert!(matches!(
        verify(&prev, &redigest(bad)),
        Err(CeremonyError::GeneratorMoved)
    ));

    let mut bad = next.clone();
    bad.grid[M] = bump(&bad.grid[M]);
    assert!(matches!(
        verify(&prev, &redigest(bad)),
        Err(CeremonyError::GridNotBound(Trapdoor::X))
    ));

    let mut bad = next.clone();
    bad.grid.pop();
    assert!(matches!(
        verify(&prev, &bad),
        Err(CeremonyError::Shape { .. })
    ));
}

#[test]
fn y_links_are_checked_inside_the_grid() {
    // Scale one whole column j > 0 by 2: every X link still holds (each entry of the
    // column doubles), but the Y links into and out of the column break.
    let (prev, next) = one_step(3, 5);
    let mut bad = next.clone();
    for i in 0..row_len(T) {
        let k = i * M + 2;
        bad.grid[k] = (bad.grid[k] * Fr::from(2u64)).into_affine();
    }
    let mut c = bad.contributions.pop().unwrap();
    c.points_digest = bad.points_digest();
    bad.contributions.push(rehash(&prev, c));
    match verify(&prev, &bad) {
        Err(CeremonyError::YShift {
            at: Some(PointLocation::Grid { j, .. }),
        }) => assert!(j == 1 || j == 2, "located at j = {j}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn g2_update_inconsistent_with_the_grid_is_refused() {
    let prev = CeremonyState::init(M, T).unwrap();
    let (r, r2, s) = (Fr::from(3u64), Fr::from(4u64), Fr::from(5u64));
    // The grid of r, the G2 point and a valid proof of r2.
    let mut bad = prev.scaled(r, s, QUIET).unwrap();
    bad.tau_x_g2 = prev.scaled(r2, s, QUIET).unwrap().tau_x_g2;
    Contribution::create(&prev, &mut bad, r2, s, None, &mut rng(2)).unwrap();
    assert!(matches!(
        verify(&prev, &bad),
        Err(CeremonyError::GridNotBound(Trapdoor::X))
    ));
    // Same for τ_Y.
    let mut bad = prev.scaled(r, s, QUIET).unwrap();
    bad.tau_y_g2 = prev.scaled(r, r2, QUIET).unwrap().tau_y_g2;
    Contribution::create(&prev, &mut bad, r, r2, None, &mut rng(2)).unwrap();
    assert!(matches!(
        verify(&prev, &bad),
        Err(CeremonyError::GridNotBound(Trapdoor::Y))
    ));
    // The state's G2 point differs from the one its record names.
    let (_, next) = one_step(3, 5);
    let mut bad = next.clone();
    bad.tau_y_g2 = prev.scaled(r, r2, QUIET).unwrap().tau_y_g2;
    assert!(matches!(
        verify(&prev, &bad),
        Err(CeremonyError::G2NotRecorded(Trapdoor::Y))
    ));
}

#[test]
fn wrong_proofs_of_knowledge_are_refused() {
    let (prev, next) = one_step(3, 5);
    let c = next.contributions[0].clone();

    // A forged response.
    let mut bad_c = c.clone();
    bad_c.x.response += Fr::from(1u64);
    assert!(matches!(
        verify(&prev, &with_last(&next, rehash(&prev, bad_c))),
        Err(CeremonyError::ProofOfKnowledge(Trapdoor::X))
    ));

    // A missing proof: the identity as its public key and commitment, zero response.
    let mut bad_c = c.clone();
    bad_c.y.public = G1Affine::zero();
    bad_c.y.commitment = G1Affine::zero();
    bad_c.y.response = Fr::from(0u64);
    assert!(matches!(
        verify(&prev, &with_last(&next, rehash(&prev, bad_c))),
        Err(CeremonyError::G2UpdateMismatch(Trapdoor::Y))
    ));

    // A valid proof of the wrong secret.
    let mut bad = prev.scaled(Fr::from(3u64), Fr::from(5u64), QUIET).unwrap();
    Contribution::create(
        &prev,
        &mut bad,
        Fr::from(3u64),
        Fr::from(6u64),
        None,
        &mut rng(2),
    )
    .unwrap();
    assert!(matches!(
        verify(&prev, &bad),
        Err(CeremonyError::G2UpdateMismatch(Trapdoor::Y))
    ));

    // A proof made after another previous record (not bound to this chain).
    let other = prev.contribute_with(Fr::from(2u64), Fr::from(2u64), &mut rng(4));
    let (other, _) = other.unwrap();
    let (_, foreign) = other
        .contribute_with(Fr::from(3u64), Fr::from(5u64), &mut rng(2))
        .unwrap();
    let mut bad_c = c.clone();
    bad_c.x = foreign.x;
    assert!(matches!(
        verify(&prev, &with_last(&next, rehash(&prev, bad_c))),
        Err(CeremonyError::ProofOfKnowledge(Trapdoor::X))
    ));

    // A wrong hash.
    let mut bad_c = c.clone();
    bad_c.hash[0] ^= 1;
    assert!(matches!(
        verify(&prev, &with_last(&next, bad_c)),
        Err(CeremonyError::HashMismatch)
    ));
}

#[test]
fn trivial_secrets_and_replays_are_refused() {
    let (prev, next) = one_step(1, 5);
    assert!(matches!(
        verify(&prev, &next),
        Err(CeremonyError::TrapdoorUnchanged(Trapdoor::X))
    ));
    let (prev, next) = one_step(3, 1);
    assert!(matches!(
        verify(&prev, &next),
        Err(CeremonyError::TrapdoorUnchanged(Trapdoor::Y))
    ));
    let (prev, next) = one_step(3, 0);
    assert!(matches!(
        verify(&prev, &next),
        Err(CeremonyError::IdentityG2(Trapdoor::Y))
    ));

    let s0 = CeremonyState::init(M, T).unwrap();
    let (s1, c1) = s0.contribute(&mut rng(10), QUIET).unwrap();
    let (s2, _) = s1.contribute(&mut rng(11), QUIET).unwrap();
    verify(&s1, &s2).unwrap();
    // The first record appended again.
    let mut replay = s2.clone();
    replay.contributions.push(c1.clone());
    let e = verify_contribution(&s2, &replay, &mut rng(1)).unwrap_err();
    assert_eq!(e.contribution_index(), Some(2));
    assert!(matches!(
        e.innermost(),
        CeremonyError::Replayed { index: 0 }
    ));
    // The same secrets again after s2 (same public keys, fresh proofs): a replay of 1.
    let r = Fr::from(3u64);
    let (t1, _) = s0.contribute_with(r, r + r, &mut rng(12)).unwrap();
    let (t2, _) = t1.contribute_with(r, r + r, &mut rng(13)).unwrap();
    let e = verify_ceremony(&t2, &mut rng(1), QUIET).unwrap_err();
    assert_eq!(e.contribution_index(), Some(1), "{e}");
    assert!(matches!(
        e.innermost(),
        CeremonyError::Replayed { index: 0 }
    ));
}

#[test]
fn the_final_state_names_a_bad_record_anywhere_in_the_chain() {
    let mut s = CeremonyState::init(M, T).unwrap();
    for k in 0..4 {
        s = s.contribute(&mut rng(40 + k), QUIET).unwrap().0;
    }
    verify_ceremony(&s, &mut rng(1), QUIET).unwrap();
    for index in 0..4 {
        // A forged proof in record `index`, every hash after it recomputed.
        let mut bad = s.clone();
        bad.contributions[index].y.response += Fr::from(1u64);
        for k in index..4 {
            let prev = if k == 0 {
                bad.genesis_hash()
            } else {
                bad.contributions[k - 1].hash
            };
            bad.contributions[k].hash = bad.contributions[k].compute_hash(&prev);
        }
        let e = verify_ceremony(&bad, &mut rng(1), QUIET).unwrap_err();
        assert_eq!(e.contribution_index(), Some(index), "{e}");
        assert!(matches!(
            e.innermost(),
            CeremonyError::ProofOfKnowledge(Trapdoor::Y)
        ));
        // A record removed from the middle: the next one no longer chains.
        let mut cut = s.clone();
        cut.contributions.remove(index);
        let e = verify_ceremony(&cut, &mut rng(1), QUIET).unwrap_err();
        assert!(e.contribution_index().is_some(), "{e}");
    }
}

#[test]
fn a_beacon_closes_the_ceremony_reproducibly() {
    let s0 = CeremonyState::init(M, T).unwrap();
    let (s1, _) = s0.contribute(&mut rng(50), QUIET).unwrap();
    let value = [7u8; 32];
    let (a, ca) = s1.apply_beacon(&value, QUIET).unwrap();
    let (b, _) = s1.apply_beacon(&value, QUIET).unwrap();
    assert_eq!(a, b, "the beacon contribution is a function of the value");
    assert_eq!(ca.beacon, Some(value));
    verify(&s1, &a).unwrap();
    let (r, _) = beacon_secrets(&value, false);
    assert_eq!(ca.x.public, (G1Affine::generator() * r).into_affine());
    // Claiming a different beacon value than the secrets used.
    let mut bad_c = ca.clone();
    bad_c.beacon = Some([8u8; 32]);
    assert!(matches!(
        verify(&s1, &with_last(&a, rehash(&s1, bad_c))),
        Err(CeremonyError::BeaconMismatch)
    ));
    // An ordinary contribution claiming to be a beacon.
    let (c2, mut cc) = s1.contribute(&mut rng(51), QUIET).unwrap();
    cc.beacon = Some(value);
    assert!(matches!(
        verify(&s1, &with_last(&c2, rehash(&s1, cc))),
        Err(CeremonyError::BeaconMismatch)
    ));
    assert_eq!(
        a.to_srs().unwrap().header().transcript,
        Some(a.transcript_hash())
    );
}

#[test]
fn encoding_round_trips_and_refuses_bad_input() {
    let s0 = CeremonyState::init(M, T).unwrap();
    let (s1, _) = s0.contribute(&mut rng(20), QUIET).unwrap();
    let (s2, _) = s1.apply_beacon(&[1; 32], QUIET).unwrap();
    for s in [&s0, &s1, &s2] {
        let bytes = s.to_bytes();
        assert_eq!(&CeremonyState::from_bytes(&bytes).unwrap(), s);
        assert_eq!(s.digest(), *blake3::hash(&bytes).as_bytes());
    }
    assert_ne!(s1.digest(), s2.digest());
    assert_ne!(s1.transcript_hash(), s2.transcript_hash());

    let bytes = s2.to_bytes();
    for len in (0..bytes.len()).step_by(7) {
        assert!(
            CeremonyState::from_bytes(&bytes[..len]).is_err(),
            "length {len}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(CeremonyState::from_bytes(&long).is_err());
    let decode_err = |b: &[u8]| {
        matches!(
            CeremonyState::from_bytes(b),
            Err(CeremonyError::Decode(_) | CeremonyError::Crypto(_))
        )
    };
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(decode_err(&b));
    // Version 1 (records without G2 points) is refused by name.
    let mut b = bytes.clone();
    b[9] = 1;
    assert!(decode_err(&b));
    // M = 4096, T = 2^24 in the header of a small input: refused before allocating.
    let mut b = bytes.clone();
    b[10..14].copy_from_slice(&4096u32.to_be_bytes());
    b[14..18].copy_from_slice(&(1u32 << 24).to_be_bytes());
    assert!(decode_err(&b));
    let mut b = bytes.clone();
    b[10..14].copy_from_slice(&3u32.to_be_bytes());
    assert!(matches!(
        CeremonyState::from_bytes(&b),
        Err(CeremonyError::Size { .. })
    ));
    // A grid point's coordinate changed: off the curve.
    let grid_start = 18 + 128;
    let mut b = bytes.clone();
    b[grid_start + 64 * 5] ^= 1;
    assert!(decode_err(&b));
    // A record count that does not match.
    let record = 417;
    let count_at = bytes.len() - 2 * record - 4;
    let mut b = bytes.clone();
    b[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(decode_err(&b));
    // A beacon flag other than 0 or 1.
    let flag_at = bytes.len() - record + 128 + 192;
    assert_eq!(bytes[flag_at], 1, "the last record is the beacon's");
    let mut b = bytes.clone();
    b[flag_at] = 2;
    assert!(decode_err(&b));
}

mod hostile_bytes {
    //! Whatever bytes a state file holds, decoding and verifying return an error or a
    //! verified state, never a panic; a changed byte never verifies unless it decodes to
    //! the same state.

    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn valid() -> &'static (CeremonyState, Vec<u8>) {
        static STATE: OnceLock<(CeremonyState, Vec<u8>)> = OnceLock::new();
        STATE.get_or_init(|| {
            let s0 = CeremonyState::init(2, 16).unwrap();
            let (s1, _) = s0.contribute(&mut rng(60), QUIET).unwrap();
            let (s2, _) = s1.apply_beacon(&[3; 32], QUIET).unwrap();
            let bytes = s2.to_bytes();
            (s2, bytes)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_changed_byte_is_refused_or_harmless(at in any::<usize>(), xor in 1u8..) {
            let (state, bytes) = valid();
            let mut b = bytes.clone();
            let at = at % b.len();
            b[at] ^= xor;
            if let Ok(decoded) = CeremonyState::from_bytes(&b) {
                let verdict = verify_ceremony(&decoded, &mut rng(1), QUIET);
                prop_assert!(verdict.is_err() || decoded == *state, "byte {at} ^ {xor:#x} verified");
            }
        }

        #[test]
        fn garbage_and_prefixes_never_panic(
            garbage in proptest::collection::vec(any::<u8>(), 0..600),
            cut in any::<usize>(),
        ) {
            let _ = CeremonyState::from_bytes(&garbage);
            let (_, bytes) = valid();
            let mut b = bytes[..cut % bytes.len()].to_vec();
            b.extend_from_slice(&garbage);
            let _ = CeremonyState::from_bytes(&b);
        }
    }
}
