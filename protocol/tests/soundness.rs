//! Soundness: bad witnesses are refused with shard and row, forced proofs fail
//! verification, and any change to a valid proof or its public inputs is rejected.

mod common;

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::One;
use proptest::prelude::*;
use tutti_crypto::G1Affine;
use tutti_protocol::aggregator::AggregatorOptions;
use tutti_protocol::circuit::CircuitBuilder;
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::messages::{AggregatorMessage, WorkerMessage};
use tutti_protocol::proof::{PROOF_POINTS, PROOF_SCALARS, Proof, ProofFile};
use tutti_protocol::runner::RunOptions;
use tutti_protocol::verifier::verify;
use tutti_protocol::{Fr, ProtocolError};

fn forced() -> RunOptions {
    RunOptions {
        worker_checks: false,
        aggregator: AggregatorOptions {
            skip_share_checks: true,
            ..AggregatorOptions::default()
        },
        ..RunOptions::deterministic(common::TEST_SECRET)
    }
}

fn expect_forced_proof_rejected(
    job: &common::Job,
    witnesses: Vec<tutti_protocol::layout::ShardWitness>,
) {
    match job.prove_with(witnesses, forced()) {
        Err(ProtocolError::ProofRejected { rejected, .. }) => {
            let proof = Proof::from_bytes(&rejected).unwrap();
            assert!(verify(&job.pre.aggregator.vk, &job.public_inputs, &proof).is_err());
        }
        other => panic!("a forced bad proof must be rejected, got {other:?}"),
    }
}

#[test]
fn broken_gate_names_shard_and_row() {
    let job = common::random_job(4, 16, 5);
    for (shard, row) in [(0usize, 3usize), (2, 7), (3, 14)] {
        let mut ws = job.witnesses.clone();
        ws[shard].wires[2][row] += Fr::one();
        let err = job
            .sharded
            .check_witness(&ws, &job.public_inputs)
            .unwrap_err();
        assert_eq!(err, ProtocolError::GateUnsatisfied { shard, row });
        // The honest worker of that shard refuses, naming the row.
        let err = job
            .prove_with(ws.clone(), RunOptions::deterministic(common::TEST_SECRET))
            .unwrap_err();
        assert_eq!(err, ProtocolError::GateUnsatisfied { shard, row });
        expect_forced_proof_rejected(&job, ws);
    }
}

/// A circuit whose only link between shards 0 and 1 is one copy constraint; the witness
/// breaks it while every gate still holds.
#[test]
fn broken_cross_shard_copy_is_caught() {
    let t = 16;
    let mut b = CircuitBuilder::new();
    let x = b.input(Fr::from(5u64));
    let mut acc = b.add(x, x);
    while b.num_gates() < t - 1 {
        acc = b.add(acc, x);
    }
    b.end_shard();
    let y = b.input(Fr::from(5u64));
    b.assert_equal(x, y);
    let out = b.mul(y, y);
    let _ = b.public_input(b.value(out));
    let (c, mut w) = b.build();
    let job = common::job(c.clone(), w.clone(), 2, t);
    job.prove().unwrap();
    // Change y (and the product that uses it) so that gates hold but y ≠ x.
    w.values[y.0 as usize] = Fr::from(6u64);
    w.values[out.0 as usize] = Fr::from(36u64);
    let pi_var = c.gates.iter().find(|g| g.public).unwrap().wires[0];
    w.values[pi_var.0 as usize] = Fr::from(36u64);
    let bad = common::job(c, w, 2, t);
    let err = bad
        .sharded
        .check_witness(&bad.witnesses, &bad.public_inputs)
        .unwrap_err();
    match err {
        ProtocolError::CopyConstraintBroken {
            shard, other_shard, ..
        } => {
            assert_ne!(shard, other_shard, "the broken copy crosses shards: {err}");
        }
        e => panic!("expected a broken copy constraint, got {e}"),
    }
    // Honest parties stop the job: the global product is not one.
    let err = bad.prove().unwrap_err();
    assert_eq!(err, ProtocolError::GlobalProductMismatch);
    expect_forced_proof_rejected(&bad, bad.witnesses.clone());
}

fn valid() -> (common::Job, Proof) {
    let job = common::random_job(2, 16, 77);
    let proof = job.prove().unwrap().proof;
    (job, proof)
}

#[test]
fn changing_any_element_of_a_proof_is_rejected() {
    let (job, proof) = valid();
    let vk = &job.pre.aggregator.vk;
    verify(vk, &job.public_inputs, &proof).unwrap();
    for k in 0..PROOF_POINTS {
        let mut p = proof;
        let [pt, ..] = &mut p.points_mut()[k..] else {
            unreachable!()
        };
        **pt = (pt.into_group() + G1Affine::generator()).into_affine();
        assert!(
            verify(vk, &job.public_inputs, &p).is_err(),
            "point {k} changed, still verifies"
        );
    }
    for k in 0..PROOF_SCALARS {
        let mut p = proof;
        *p.scalars_mut()[k] += Fr::one();
        assert!(
            verify(vk, &job.public_inputs, &p).is_err(),
            "scalar {k} changed, still verifies"
        );
    }
    for k in 0..job.public_inputs.len() {
        let mut pis = job.public_inputs.clone();
        pis[k] += Fr::one();
        assert!(
            verify(vk, &pis, &proof).is_err(),
            "public input {k} changed, still verifies"
        );
    }
    let mut more = job.public_inputs.clone();
    more.push(Fr::one());
    assert!(matches!(
        verify(vk, &more, &proof),
        Err(ProtocolError::PublicInputCount { .. })
    ));
    // A proof for one circuit does not verify under another circuit's key.
    let other = common::random_job(2, 16, 78);
    assert!(verify(&other.pre.aggregator.vk, &job.public_inputs, &proof).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Flipping any bit of an encoded proof file gives a decoding error or a failed check.
    #[test]
    fn bit_flips_never_verify(byte in 0usize..1200, bit in 0u8..8) {
        let (job, proof) = valid_cached();
        let mut bytes = ProofFile { proof: *proof, public_inputs: job.public_inputs.clone() }.to_bytes();
        let i = byte % bytes.len();
        bytes[i] ^= 1 << bit;
        if let Ok(f) = ProofFile::from_bytes(&bytes) {
            prop_assert!(verify(&job.pre.aggregator.vk, &f.public_inputs, &f.proof).is_err());
        }
    }

    /// Decoding garbage never panics, whatever the type.
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let _ = Proof::from_bytes(&bytes);
        let _ = ProofFile::from_bytes(&bytes);
        let _ = VerifyingKey::from_bytes(&bytes);
        let _ = WorkerMessage::from_bytes(&bytes);
        let _ = AggregatorMessage::from_bytes(&bytes);
    }
}

fn valid_cached() -> &'static (common::Job, Proof) {
    static V: std::sync::OnceLock<(common::Job, Proof)> = std::sync::OnceLock::new();
    V.get_or_init(valid)
}

#[test]
fn encodings_roundtrip_and_reject_truncation() {
    let (job, proof) = valid_cached();
    let vk = &job.pre.aggregator.vk;
    let vk_bytes = vk.to_bytes();
    assert_eq!(&VerifyingKey::from_bytes(&vk_bytes).unwrap(), vk);
    for cut in [0, 1, vk_bytes.len() / 2, vk_bytes.len() - 1] {
        assert!(VerifyingKey::from_bytes(&vk_bytes[..cut]).is_err());
    }
    let file = ProofFile {
        proof: *proof,
        public_inputs: job.public_inputs.clone(),
    }
    .to_bytes();
    for cut in [0, 7, 500, file.len() - 1] {
        assert!(ProofFile::from_bytes(&file[..cut]).is_err());
    }
    let mut unknown = proof.to_bytes();
    unknown[0] = 9;
    assert!(matches!(
        Proof::from_bytes(&unknown),
        Err(ProtocolError::UnsupportedVersion { version: 9, .. })
    ));
}
