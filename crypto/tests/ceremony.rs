//! The ceremony: a multi-party chain of contributions ends in the SRS of the product of
//! the secrets, every tampering is refused with its own error, and the state encoding
//! round-trips.

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::Field;
use rand::{SeedableRng, rngs::StdRng};
use std::time::Instant;
use tutti_crypto::ceremony::{
    CeremonyError, CeremonyState, Contribution, PointLocation, Trapdoor, verify_contribution,
    verify_transcript,
};
use tutti_crypto::srs::{
    InMemorySrs, RowSource, check_aggregator_part, check_row, row_len, secrets_from_seed,
};
use tutti_crypto::{Fr, G1Affine};

const M: usize = 4;
const T: usize = 16;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn bump(p: &G1Affine) -> G1Affine {
    (*p + G1Affine::generator()).into_affine()
}

/// One honest-looking contribution with known secrets, on top of the initial state.
fn one_step(r: u64, s: u64) -> (CeremonyState, CeremonyState, Contribution) {
    let prev = CeremonyState::init(M, T).unwrap();
    let (next, c) = prev
        .contribute_with(Fr::from(r), Fr::from(s), &mut rng(1))
        .unwrap();
    (prev, next, c)
}

fn verify(
    prev: &CeremonyState,
    next: &CeremonyState,
    c: &Contribution,
) -> Result<(), CeremonyError> {
    verify_contribution(prev, next, c, &mut rng(99))
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
        verify(&prev, &next, &c).unwrap();
        states.push(next);
    }
    verify_transcript(&states, &mut rng(7)).unwrap();
    assert!(matches!(
        verify_transcript(&states[1..], &mut rng(7)),
        Err(CeremonyError::NotInitial)
    ));

    let got = states.last().unwrap().to_srs().unwrap();
    let want = InMemorySrs::insecure_from_seed(M, T, seed).unwrap();
    let (ga, wa) = (
        got.aggregator_part().unwrap(),
        want.aggregator_part().unwrap(),
    );
    assert_eq!(ga.g2, wa.g2);
    assert_eq!(ga.y_powers, wa.y_powers);
    assert_eq!(ga.lagrange_y, wa.lagrange_y);
    assert_eq!(ga.header.shards, M);
    assert_eq!(ga.header.shard_gates, T);
    assert!(!ga.header.insecure);
    check_aggregator_part(&ga).unwrap();
    for i in 0..M {
        let row = got.row(i, row_len(T)).unwrap();
        assert_eq!(row.bases, want.row(i, row_len(T)).unwrap().bases, "row {i}");
        check_row(&row, &ga.lagrange_y[i], &ga.g2).unwrap();
    }
}

#[test]
fn random_contributions_verify_and_give_a_well_formed_srs() {
    let s0 = CeremonyState::init(M, T).unwrap();
    assert!(s0.to_srs().is_err(), "trapdoors 1 must not make an SRS");
    let (s1, c1) = s0.contribute(&mut rng(3)).unwrap();
    verify(&s0, &s1, &c1).unwrap();
    let (s2, c2) = s1.contribute(&mut rng(4)).unwrap();
    verify(&s1, &s2, &c2).unwrap();
    assert_eq!(s2.contributions, vec![c1.clone(), c2.clone()]);
    verify_transcript(&[s0.clone(), s1.clone(), s2.clone()], &mut rng(5)).unwrap();
    // Out of order: c2 does not apply to s0.
    assert!(verify(&s0, &s2, &c2).is_err());
    let srs = s2.to_srs().unwrap();
    let agg = srs.aggregator_part().unwrap();
    agg.g2.validate().unwrap();
    // τ_Y an M-th root of unity: a valid contribution, but no usable SRS.
    let omega = ark_poly::EvaluationDomain::group_gen(&tutti_crypto::domain::domain(M).unwrap());
    let (root, c) = s0
        .contribute_with(Fr::from(3u64), omega, &mut rng(6))
        .unwrap();
    verify(&s0, &root, &c).unwrap();
    assert!(root.to_srs().is_err());
    check_aggregator_part(&agg).unwrap();
    for i in 0..M {
        check_row(
            &srs.row(i, row_len(T)).unwrap(),
            &agg.lagrange_y[i],
            &agg.g2,
        )
        .unwrap();
    }
}

#[test]
fn altered_points_are_refused() {
    let (prev, next, c) = one_step(3, 5);
    verify(&prev, &next, &c).unwrap();

    let mut bad = next.clone();
    bad.grid[5 * M + 2] = bump(&bad.grid[5 * M + 2]);
    match verify(&prev, &bad, &c) {
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
        verify(&prev, &bad, &c),
        Err(CeremonyError::XShift {
            at: Some(PointLocation::Grid { i, j }),
        }) if i == row_len(T) - 2 && j == M - 1
    ));

    let mut bad = next.clone();
    bad.extra_y[3] = bump(&bad.extra_y[3]);
    match verify(&prev, &bad, &c) {
        Err(CeremonyError::YShift {
            at: Some(PointLocation::ExtraY { j }),
        }) => assert!(j == M + 2 || j == M + 3, "located at j = {j}"),
        other => panic!("{other:?}"),
    }

    let mut bad = next.clone();
    bad.grid[0] = bump(&bad.grid[0]);
    assert!(matches!(
        verify(&prev, &bad, &c),
        Err(CeremonyError::GeneratorMoved)
    ));

    let mut bad = next.clone();
    bad.grid[M] = bump(&bad.grid[M]);
    assert!(matches!(
        verify(&prev, &bad, &c),
        Err(CeremonyError::GridNotBound(Trapdoor::X))
    ));

    // A point off the curve.
    let mut bad = next.clone();
    bad.grid[7] = G1Affine::new_unchecked(ark_bn254::Fq::from(1u64), ark_bn254::Fq::from(1u64));
    assert!(matches!(
        verify(&prev, &bad, &c),
        Err(CeremonyError::NotInSubgroup {
            at: PointLocation::Grid { i: 1, j: 3 }
        })
    ));

    let mut bad = next.clone();
    bad.grid.pop();
    assert!(matches!(
        verify(&prev, &bad, &c),
        Err(CeremonyError::Shape { .. })
    ));
}

#[test]
fn g2_update_inconsistent_with_the_grid_is_refused() {
    let prev = CeremonyState::init(M, T).unwrap();
    let (r, r2, s) = (Fr::from(3u64), Fr::from(4u64), Fr::from(5u64));
    // The grid of r, the G2 point and a valid proof of r2.
    let mut bad = prev.scaled(r, s).unwrap();
    bad.tau_x_g2 = prev.scaled(r2, s).unwrap().tau_x_g2;
    let c = Contribution::create(&prev, &mut bad, r2, s, &mut rng(2)).unwrap();
    assert!(matches!(
        verify(&prev, &bad, &c),
        Err(CeremonyError::GridNotBound(Trapdoor::X))
    ));
    // Same for τ_Y.
    let mut bad = prev.scaled(r, s).unwrap();
    bad.tau_y_g2 = prev.scaled(r, r2).unwrap().tau_y_g2;
    let c = Contribution::create(&prev, &mut bad, r, r2, &mut rng(2)).unwrap();
    assert!(matches!(
        verify(&prev, &bad, &c),
        Err(CeremonyError::GridNotBound(Trapdoor::Y))
    ));
}

#[test]
fn wrong_proofs_of_knowledge_are_refused() {
    let (prev, next, c) = one_step(3, 5);

    // A forged response.
    let mut bad_c = c.clone();
    bad_c.x.response += Fr::from(1u64);
    let mut bad = next.clone();
    *bad.contributions.last_mut().unwrap() = bad_c.clone();
    assert!(matches!(
        verify(&prev, &bad, &bad_c),
        Err(CeremonyError::ProofOfKnowledge(Trapdoor::X))
    ));

    // A valid proof of the wrong secret.
    let mut bad = prev.scaled(Fr::from(3u64), Fr::from(5u64)).unwrap();
    let bad_c =
        Contribution::create(&prev, &mut bad, Fr::from(3u64), Fr::from(6u64), &mut rng(2)).unwrap();
    assert!(matches!(
        verify(&prev, &bad, &bad_c),
        Err(CeremonyError::G2UpdateMismatch(Trapdoor::Y))
    ));

    // A proof made for another previous state (not bound to this one).
    let other = prev.scaled(Fr::from(2u64), Fr::from(2u64)).unwrap();
    let mut moved = other.scaled(Fr::from(3u64), Fr::from(5u64)).unwrap();
    let foreign = Contribution::create(
        &other,
        &mut moved,
        Fr::from(3u64),
        Fr::from(5u64),
        &mut rng(2),
    )
    .unwrap();
    let mut bad_c = c.clone();
    bad_c.x = foreign.x;
    let mut bad = next.clone();
    *bad.contributions.last_mut().unwrap() = bad_c.clone();
    assert!(matches!(
        verify(&prev, &bad, &bad_c),
        Err(CeremonyError::ProofOfKnowledge(Trapdoor::X))
    ));

    // A wrong hash.
    let mut bad_c = c.clone();
    bad_c.hash[0] ^= 1;
    let mut bad = next.clone();
    *bad.contributions.last_mut().unwrap() = bad_c.clone();
    assert!(matches!(
        verify(&prev, &bad, &bad_c),
        Err(CeremonyError::HashMismatch)
    ));

    // A contribution that is not the one the new state lists.
    let (_, _, other_c) = one_step(3, 7);
    assert!(matches!(
        verify(&prev, &next, &other_c),
        Err(CeremonyError::ContributionList)
    ));
}

#[test]
fn trivial_secrets_and_replays_are_refused() {
    let (prev, next, c) = one_step(1, 5);
    assert!(matches!(
        verify(&prev, &next, &c),
        Err(CeremonyError::TrapdoorUnchanged(Trapdoor::X))
    ));
    let (prev, next, c) = one_step(3, 1);
    assert!(matches!(
        verify(&prev, &next, &c),
        Err(CeremonyError::TrapdoorUnchanged(Trapdoor::Y))
    ));
    let (prev, next, c) = one_step(3, 0);
    assert!(matches!(
        verify(&prev, &next, &c),
        Err(CeremonyError::IdentityG2(Trapdoor::Y))
    ));

    let s0 = CeremonyState::init(M, T).unwrap();
    let (s1, c1) = s0.contribute(&mut rng(10)).unwrap();
    let (s2, c2) = s1.contribute(&mut rng(11)).unwrap();
    verify(&s1, &s2, &c2).unwrap();
    let mut replay = s2.clone();
    replay.contributions.push(c1.clone());
    assert!(matches!(
        verify(&s2, &replay, &c1),
        Err(CeremonyError::Replayed { index: 0 })
    ));
}

#[test]
fn encoding_round_trips_and_refuses_bad_input() {
    let s0 = CeremonyState::init(M, T).unwrap();
    let (s1, _) = s0.contribute(&mut rng(20)).unwrap();
    let (s2, _) = s1.contribute(&mut rng(21)).unwrap();
    for s in [&s0, &s1, &s2] {
        let bytes = s.to_bytes();
        assert_eq!(&CeremonyState::from_bytes(&bytes).unwrap(), s);
        assert_eq!(s.digest(), *blake3::hash(&bytes).as_bytes());
    }
    assert_ne!(s1.digest(), s2.digest());

    let bytes = s2.to_bytes();
    for len in 0..bytes.len() {
        assert!(
            CeremonyState::from_bytes(&bytes[..len]).is_err(),
            "length {len}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(CeremonyState::from_bytes(&long).is_err());
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(matches!(
        CeremonyState::from_bytes(&b),
        Err(CeremonyError::Decode(_))
    ));
    let mut b = bytes.clone();
    b[9] = 2;
    assert!(matches!(
        CeremonyState::from_bytes(&b),
        Err(CeremonyError::Decode(_))
    ));
    // M = 4096, T = 2^24 in the header of a small input: refused before allocating.
    let mut b = bytes.clone();
    b[10..14].copy_from_slice(&4096u32.to_be_bytes());
    b[14..18].copy_from_slice(&(1u32 << 24).to_be_bytes());
    assert!(matches!(
        CeremonyState::from_bytes(&b),
        Err(CeremonyError::Decode(_))
    ));
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
    assert!(matches!(
        CeremonyState::from_bytes(&b),
        Err(CeremonyError::Decode(_))
    ));
    // A contribution count that does not match.
    let count_at = bytes.len() - 2 * 224 - 4;
    let mut b = bytes.clone();
    b[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        CeremonyState::from_bytes(&b),
        Err(CeremonyError::Decode(_))
    ));
}

#[test]
fn timings_m8_t1024() {
    let (m, t) = (8, 1024);
    let s0 = CeremonyState::init(m, t).unwrap();
    let start = Instant::now();
    let (s1, _) = s0.contribute(&mut rng(30)).unwrap();
    let contribute1 = start.elapsed();
    let start = Instant::now();
    let (s2, c2) = s1.contribute(&mut rng(31)).unwrap();
    let contribute = start.elapsed();
    let start = Instant::now();
    verify_contribution(&s1, &s2, &c2, &mut rng(32)).unwrap();
    let verify = start.elapsed();
    let start = Instant::now();
    let srs = s2.to_srs().unwrap();
    let to_srs = start.elapsed();
    let start = Instant::now();
    let bytes = s2.to_bytes();
    let back = CeremonyState::from_bytes(&bytes).unwrap();
    let codec = start.elapsed();
    assert_eq!(back, s2);
    assert_eq!(srs.header().shards, m);
    println!(
        "ceremony M = {m}, T = {t} ({} grid points, {} bytes, {} threads): contribute {contribute1:?} / {contribute:?}, verify {verify:?}, to_srs {to_srs:?}, encode+decode {codec:?}",
        s2.grid.len(),
        bytes.len(),
        rayon::current_num_threads()
    );
}
