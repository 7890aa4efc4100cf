//! The aggregator's checks at protocol level: a worker that alters exactly one thing in
//! one message is refused and named; honest workers never are.

mod common;

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::One;
use std::sync::Arc;
use tutti_crypto::G1Affine;
use tutti_protocol::aggregator::{Aggregator, AggregatorEvent, AggregatorOptions};
use tutti_protocol::messages::WorkerMessage;
use tutti_protocol::proof::Proof;
use tutti_protocol::runner::{aggregator_job_key, shard_key};
use tutti_protocol::verifier::verify;
use tutti_protocol::worker::{ShardInputs, Worker};
use tutti_protocol::{Fr, ProtocolError};

/// Drives workers and aggregator, letting `tamper` rewrite any worker message.
fn drive(
    job: &common::Job,
    tamper: impl FnMut(usize, &mut WorkerMessage, &[Vec<WorkerMessage>]),
) -> Result<(), ProtocolError> {
    drive_with(job, AggregatorOptions::default(), tamper).map(|_| ())
}

/// [`drive`] with chosen aggregator options; returns the emitted proof.
fn drive_with(
    job: &common::Job,
    options: AggregatorOptions,
    mut tamper: impl FnMut(usize, &mut WorkerMessage, &[Vec<WorkerMessage>]),
) -> Result<Proof, ProtocolError> {
    let m = job.pre.aggregator.vk.shape.shards;
    let secret = [3u8; 32];
    let mut workers: Vec<Worker> = (0..m)
        .map(|i| {
            Worker::new(ShardInputs {
                key: Arc::new(job.pre.proving_keys[i].clone()),
                witness: job.witnesses[i].clone(),
                public_inputs: job.public_inputs.clone(),
                shard_key: shard_key(&secret, i),
            })
        })
        .collect();
    let mut agg = Aggregator::new(
        Arc::new(job.pre.aggregator.clone()),
        job.public_inputs.clone(),
        aggregator_job_key(&secret),
        options,
    )?;
    // history[round-1][shard]: honest messages seen so far, for "another shard's" lies.
    let mut history: Vec<Vec<WorkerMessage>> = vec![Vec::new(); 5];
    let mut pending: Vec<(usize, WorkerMessage)> = Vec::new();
    for (i, w) in workers.iter_mut().enumerate() {
        pending.push((i, w.start()?));
    }
    loop {
        for (i, mut msg) in pending.drain(..) {
            history[msg.round() as usize - 1].push(msg.clone());
            tamper(i, &mut msg, &history);
            agg.handle_message(i, msg)?;
        }
        while let Some(ev) = agg.poll_event() {
            match ev {
                AggregatorEvent::Send { shard, message } => {
                    pending.push((shard, workers[shard].handle(&message)?))
                }
                AggregatorEvent::ProofReady(proof) => return Ok(*proof),
                AggregatorEvent::Failed(e) => return Err(e),
            }
        }
    }
}

/// The error names `shard` as the worker whose share was refused.
fn assert_names(err: &ProtocolError, shard: usize) {
    assert!(
        matches!(err, ProtocolError::ShareRejected { shard: s, .. } if *s == shard),
        "expected shard {shard} to be named: {err}"
    );
}

fn bump(p: &G1Affine) -> G1Affine {
    (p.into_group() + G1Affine::generator()).into_affine()
}

#[test]
fn honest_workers_are_never_refused() {
    for seed in 0..3 {
        let job = common::random_job(4, 16, seed);
        for options in [AggregatorOptions::default(), strict()] {
            let proof = drive_with(&job, options, |_, _, _| {}).unwrap();
            verify(&job.pre.aggregator.vk, &job.public_inputs, &proof).unwrap();
        }
    }
}

#[test]
fn wrong_evaluation_breaks_the_local_identity() {
    let job = common::random_job(4, 16, 11);
    for (liar, index) in [(1usize, 0usize), (3, 11), (0, 12)] {
        let err = drive(&job, |i, msg, _| {
            if let (true, WorkerMessage::Evaluations { at_x, .. }) = (i == liar, msg) {
                at_x[index] += Fr::one();
            }
        })
        .unwrap_err();
        assert_names(&err, liar);
    }
}

fn strict() -> AggregatorOptions {
    AggregatorOptions {
        strict_share_checks: true,
        ..AggregatorOptions::default()
    }
}

#[test]
fn bad_openings_are_named() {
    let job = common::random_job(4, 16, 12);
    for options in [AggregatorOptions::default(), strict()] {
        // A wrong proof point, at x or at ω_X·x.
        for shifted in [false, true] {
            let err = drive_with(&job, options, |i, msg, _| {
                if let (2, WorkerMessage::Openings { at_x, at_shifted_x }) = (i, msg) {
                    let p = if shifted { at_shifted_x } else { at_x };
                    *p = bump(p);
                }
            })
            .unwrap_err();
            assert_names(&err, 2);
        }
        // The opening of another shard.
        let err = drive_with(&job, options, |i, msg, hist| {
            if let (1, WorkerMessage::Openings { .. }, Some(other)) = (i, &msg, hist[4].first()) {
                *msg = other.clone();
            }
        })
        .unwrap_err();
        assert_names(&err, 1);
    }
}

/// Two colluding workers move their opening proofs by +G and −G: every share they send
/// is wrong, but the sum the proof carries is not. By default the proof's own
/// verification is the batch, so the same valid proof is emitted and nobody is named;
/// strict mode checks each share under private weights and names the first of them.
#[test]
fn openings_that_cancel_give_a_valid_proof_and_strict_mode_names_them() {
    let job = common::random_job(4, 16, 14);
    let cancel = |i: usize, msg: &mut WorkerMessage, _: &[Vec<WorkerMessage>]| {
        if let WorkerMessage::Openings { at_x, .. } = msg {
            let g = G1Affine::generator().into_group();
            match i {
                1 => *at_x = (at_x.into_group() + g).into_affine(),
                3 => *at_x = (at_x.into_group() - g).into_affine(),
                _ => {}
            }
        }
    };
    let proof = drive_with(&job, AggregatorOptions::default(), cancel).unwrap();
    verify(&job.pre.aggregator.vk, &job.public_inputs, &proof).unwrap();
    let honest = drive_with(&job, AggregatorOptions::default(), |_, _, _| {}).unwrap();
    assert_eq!(proof, honest, "the colluders' sum is the honest sum");
    let err = drive_with(&job, strict(), cancel).unwrap_err();
    assert_names(&err, 1);
}

#[test]
fn commitment_from_another_shard_is_caught() {
    let job = common::random_job(4, 16, 13);
    // Shard 3 presents shard 0's running-product commitment; everything else honest.
    let err = drive(&job, |i, msg, hist| {
        if let (
            3,
            WorkerMessage::RunningProduct { commitment, .. },
            Some(WorkerMessage::RunningProduct { commitment: c0, .. }),
        ) = (i, msg, hist[1].first())
        {
            *commitment = *c0;
        }
    })
    .unwrap_err();
    assert_names(&err, 3);
}

#[test]
fn out_of_order_and_conflicting_messages_are_refused() {
    let job = common::random_job(2, 16, 14);
    let mut agg = Aggregator::new(
        Arc::new(job.pre.aggregator.clone()),
        job.public_inputs.clone(),
        [0u8; 32],
        AggregatorOptions::default(),
    )
    .unwrap();
    let early = WorkerMessage::Openings {
        at_x: G1Affine::generator(),
        at_shifted_x: G1Affine::generator(),
    };
    assert!(agg.handle_message(0, early).is_err());
    let a = WorkerMessage::Wires {
        commitments: [G1Affine::generator(); 3],
    };
    let b = WorkerMessage::Wires {
        commitments: [bump(&G1Affine::generator()); 3],
    };
    agg.handle_message(0, a.clone()).unwrap();
    agg.handle_message(0, a).unwrap();
    assert!(agg.handle_message(0, b).is_err());
    assert!(
        agg.handle_message(
            7,
            WorkerMessage::Wires {
                commitments: [G1Affine::generator(); 3]
            }
        )
        .is_err()
    );
}
