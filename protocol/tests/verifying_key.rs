//! A verifying key is data a verifier may receive from someone else: the decoder refuses
//! every key that is not well formed, and the verifier refuses a degenerate key built in
//! memory, so that garbage never verifies.

mod common;

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::Zero;
use tutti_crypto::srs::G2Part;
use tutti_crypto::{G1Affine, G2Affine};
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::layout::Shape;
use tutti_protocol::proof::{Proof, ProofEvaluations};
use tutti_protocol::verifier::verify;
use tutti_protocol::{Fr, ProtocolError};

/// A proof whose every point is the generator and every evaluation 7.
fn garbage_proof() -> Proof {
    let g = G1Affine::generator();
    let seven = Fr::from(7u64);
    Proof {
        wires: [g; 3],
        z: g,
        w: g,
        quotient_x: [g; 3],
        quotient_y: g,
        evals: ProofEvaluations {
            wires: [seven; 3],
            sigmas: [seven; 2],
            z_shift: seven,
            w: seven,
            w_shift: seven,
        },
        open_x: g,
        open_x_shift: g,
        open_y: g,
        open_y_shift: g,
    }
}

fn refused(vk: &VerifyingKey) -> bool {
    matches!(
        VerifyingKey::from_bytes(&vk.to_bytes()),
        Err(ProtocolError::MalformedVerifyingKey(_))
    )
}

#[test]
fn degenerate_g2_parts_are_refused_at_decode_and_by_the_verifier() {
    let job = common::random_job(2, 16, 40);
    let vk = job.pre.aggregator.vk.clone();
    assert!(VerifyingKey::from_bytes(&vk.to_bytes()).is_ok());
    let good = vk.g2;
    let h = G2Affine::generator();
    let o = G2Affine::zero();
    let degenerate = [
        G2Part {
            one: o,
            tau_x: o,
            tau_y: o,
        },
        G2Part { one: o, ..good },
        G2Part {
            one: (h + h).into_affine(),
            ..good
        },
        G2Part { tau_x: o, ..good },
        G2Part { tau_y: o, ..good },
        G2Part { tau_x: h, ..good },
        G2Part {
            tau_y: good.tau_x,
            ..good
        },
    ];
    for (k, g2) in degenerate.into_iter().enumerate() {
        let bad = VerifyingKey { g2, ..vk.clone() };
        assert!(refused(&bad), "case {k} decoded");
        // Built in memory and handed to the verifier directly: refused there too.
        let err = verify(&bad, &job.public_inputs, &garbage_proof()).unwrap_err();
        assert!(
            matches!(err, ProtocolError::MalformedVerifyingKey(_)),
            "case {k}: {err}"
        );
    }
    // With the real key the garbage proof fails as a proof.
    assert!(matches!(
        verify(&vk, &job.public_inputs, &garbage_proof()),
        Err(ProtocolError::InvalidProof(_))
    ));
}

#[test]
fn per_shard_data_that_does_not_add_up_is_refused() {
    let vk = common::random_job(2, 16, 41).pre.aggregator.vk;
    let g = G1Affine::generator();
    // A Lagrange base that is the identity (and the sum kept at G by the other).
    let mut bad = vk.clone();
    bad.lagrange_y = vec![G1Affine::zero(), g];
    assert!(refused(&bad));
    // Lagrange bases that do not sum to the generator.
    let mut bad = vk.clone();
    bad.lagrange_y[0] = (bad.lagrange_y[0] + g).into_affine();
    assert!(refused(&bad));
    // A fixed commitment that is not the sum of the per-shard ones.
    let mut bad = vk.clone();
    bad.fixed[3] = (bad.fixed[3] + g).into_affine();
    assert!(refused(&bad));
    // A zero label offset, and one chosen rather than derived for the shape.
    let mut bad = vk.clone();
    bad.delta = Fr::zero();
    assert!(refused(&bad));
    let mut bad = vk.clone();
    bad.delta += Fr::from(1u64);
    assert!(refused(&bad));
    // A public position twice.
    let mut bad = vk.clone();
    let p = bad.public_positions[0];
    bad.public_positions.push(p);
    assert!(refused(&bad));
}

/// 2^17 public positions decode (the duplicate check is a hash set, not a scan of the
/// positions so far), and a repeated one at the very end is still found.
#[test]
fn many_public_positions_decode_and_a_late_duplicate_is_found() {
    let g = G1Affine::generator();
    let (m, t) = (8, 1 << 15);
    // Lagrange bases G, …, G, −6G sum to G; all per-shard commitments zero.
    let mut lagrange_y = vec![g; m];
    lagrange_y[m - 1] = (g * -Fr::from(6u64)).into_affine();
    let n = 1 << 17;
    let public_positions: Vec<(usize, usize)> = (0..n).map(|k| (k % m, k / m)).collect();
    let vk = VerifyingKey {
        shape: Shape::new(m, t).expect("shape"),
        delta: tutti_protocol::layout::delta_candidates(Shape::new(m, t).expect("shape"))
            .next()
            .expect("a candidate"),
        g2: common::random_job(2, 16, 42).pre.aggregator.vk.g2,
        fixed: [G1Affine::zero(); 8],
        public_positions,
        insecure_srs: true,
        srs_transcript: None,
        shard_fixed: vec![[G1Affine::zero(); 8]; m],
        lagrange_y,
    };
    let decoded = VerifyingKey::from_bytes(&vk.to_bytes()).expect("decodes");
    assert_eq!(decoded.public_positions.len(), n);
    let mut dup = vk.clone();
    dup.public_positions[n - 1] = dup.public_positions[0];
    assert!(refused(&dup));
}

/// The SRS origin (single-party, seeded, ceremony with its transcript digest) survives
/// the encoding, a bad origin byte and a version-1 key are refused with typed errors.
#[test]
fn the_srs_origin_round_trips_and_old_versions_are_refused() {
    let vk = common::random_job(2, 16, 42).pre.aggregator.vk;
    for (insecure, transcript) in [(false, None), (true, None), (false, Some([5u8; 32]))] {
        let mut v = vk.clone();
        v.insecure_srs = insecure;
        v.srs_transcript = transcript;
        let back = VerifyingKey::from_bytes(&v.to_bytes()).expect("decodes");
        assert_eq!(back.insecure_srs, insecure);
        assert_eq!(back.srs_transcript, transcript);
    }
    let mut bytes = vk.to_bytes();
    bytes[9] = 3;
    assert!(matches!(
        VerifyingKey::from_bytes(&bytes),
        Err(tutti_protocol::ProtocolError::MalformedVerifyingKey(_))
    ));
    let mut bytes = vk.to_bytes();
    bytes[0] = 1;
    assert!(matches!(
        VerifyingKey::from_bytes(&bytes),
        Err(tutti_protocol::ProtocolError::UnsupportedVersion { version: 1, .. })
    ));
}
