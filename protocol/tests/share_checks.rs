//! The aggregator's checks at protocol level: a worker that alters exactly one thing in
//! one message is refused and named; honest workers never are.

mod common;

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::One;
use std::sync::Arc;
use tutti_crypto::G1Affine;
use tutti_protocol::aggregator::{Aggregator, AggregatorEvent, AggregatorOptions};
use tutti_protocol::messages::WorkerMessage;
use tutti_protocol::runner::{aggregator_job_key, shard_key};
use tutti_protocol::worker::{ShardInputs, Worker};
use tutti_protocol::{Fr, ProtocolError};

/// Drives workers and aggregator, letting `tamper` rewrite any worker message.
fn drive(
    job: &common::Job,
    mut tamper: impl FnMut(usize, &mut WorkerMessage, &[Vec<WorkerMessage>]),
) -> Result<(), ProtocolError> {
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
        AggregatorOptions::default(),
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
                AggregatorEvent::ProofReady(_) => return Ok(()),
                AggregatorEvent::Failed(e) => return Err(e),
            }
        }
    }
}

fn bump(p: &G1Affine) -> G1Affine {
    (p.into_group() + G1Affine::generator()).into_affine()
}

#[test]
fn honest_workers_are_never_refused() {
    for seed in 0..3 {
        let job = common::random_job(4, 16, seed);
        drive(&job, |_, _, _| {}).unwrap();
    }
}

#[test]
fn wrong_evaluation_breaks_the_local_identity() {
    let job = common::random_job(4, 16, 11);
    for (liar, index) in [(1usize, 0usize), (3, 11), (0, 13)] {
        let err = drive(&job, |i, msg, _| {
            if let (true, WorkerMessage::Evaluations { at_x, .. }) = (i == liar, msg) {
                at_x[index] += Fr::one();
            }
        })
        .unwrap_err();
        assert!(
            matches!(err, ProtocolError::ShareRejected { shard, .. } if shard == liar),
            "{err}"
        );
    }
}

#[test]
fn bad_openings_are_named() {
    let job = common::random_job(4, 16, 12);
    // A wrong proof point.
    let err = drive(&job, |i, msg, _| {
        if let (2, WorkerMessage::Openings { at_x, .. }) = (i, msg) {
            *at_x = bump(at_x);
        }
    })
    .unwrap_err();
    assert!(
        matches!(err, ProtocolError::ShareRejected { shard: 2, .. }),
        "{err}"
    );
    // The opening of another shard.
    let err = drive(&job, |i, msg, hist| {
        if let (1, WorkerMessage::Openings { .. }, Some(other)) = (i, &msg, hist[4].first()) {
            *msg = other.clone();
        }
    })
    .unwrap_err();
    assert!(
        matches!(err, ProtocolError::ShareRejected { shard: 1, .. }),
        "{err}"
    );
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
    assert!(
        matches!(err, ProtocolError::ShareRejected { shard: 3, .. }),
        "{err}"
    );
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
