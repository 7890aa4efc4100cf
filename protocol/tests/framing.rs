//! No certificate can be made against an honest worker, even by a malicious aggregator
//! that chooses every challenge and assembles evidence however it likes.

mod common;

use ark_ff::{One, UniformRand};
use proptest::prelude::*;
use rand::{SeedableRng, rngs::StdRng};
use std::sync::Arc;
use tutti_crypto::identity::WorkerIdentity;
use tutti_protocol::Fr;
use tutti_protocol::blame::{BlameCertificate, Offence};
use tutti_protocol::envelope::Envelope;
use tutti_protocol::messages::{AggregatorMessage, WorkerMessage};
use tutti_protocol::runner::shard_key;
use tutti_protocol::worker::{Directive, ShardInputs, SignedWorker};

struct Captured {
    envelopes: Vec<Envelope>,
    challenges: Vec<AggregatorMessage>,
    inputs: [u8; 32],
}

/// Runs one honest worker against adversarial challenges; `link_ok` decides whether the
/// link scalars agree with its product (otherwise it refuses at round 3).
fn honest_worker(job: &common::Job, shard: usize, seed: u64, link_ok: bool) -> Captured {
    honest_worker_with_key(job, shard, seed, link_ok, shard_key(&[7u8; 32], shard))
}

fn honest_worker_with_key(
    job: &common::Job,
    shard: usize,
    seed: u64,
    link_ok: bool,
    key: [u8; 32],
) -> Captured {
    let mut rng = StdRng::seed_from_u64(seed);
    let inputs = ShardInputs {
        key: Arc::new(job.pre.proving_keys[shard].clone()),
        witness: job.witnesses[shard].clone(),
        public_inputs: job.public_inputs.clone(),
        shard_key: key,
    };
    let digest = inputs.digest();
    let mut w = SignedWorker::new(
        WorkerIdentity::from_seed(&[9u8; 32]),
        [1u8; 32],
        &job.pre.aggregator.vk,
        inputs,
    );
    let mut envelopes = w.handle(&Directive::Resume {
        attempt: 0,
        history: vec![],
        send_from: 1,
    });
    let mut challenges = Vec::new();
    let mut rand = || Fr::rand(&mut rng);
    let next = |w: &mut SignedWorker,
                m: AggregatorMessage,
                envs: &mut Vec<Envelope>,
                ch: &mut Vec<AggregatorMessage>| {
        ch.push(m.clone());
        envs.extend(w.handle(&Directive::Next {
            attempt: 0,
            message: m,
        }));
    };
    next(
        &mut w,
        AggregatorMessage::PermutationChallenges {
            beta: rand(),
            gamma: rand(),
        },
        &mut envelopes,
        &mut challenges,
    );
    let Ok(WorkerMessage::RunningProduct { product, .. }) = envelopes[1].message() else {
        panic!("round 2 missing");
    };
    let wi = if shard == 0 { Fr::one() } else { rand() };
    let w_next = if link_ok {
        wi * product
    } else {
        wi * product + Fr::one()
    };
    next(
        &mut w,
        AggregatorMessage::LinkScalars {
            alpha: rand(),
            w: wi,
            w_next,
        },
        &mut envelopes,
        &mut challenges,
    );
    if link_ok {
        next(
            &mut w,
            AggregatorMessage::EvaluationPoint { x: rand() },
            &mut envelopes,
            &mut challenges,
        );
        next(
            &mut w,
            AggregatorMessage::BatchingChallenge { nu: rand() },
            &mut envelopes,
            &mut challenges,
        );
    }
    Captured {
        envelopes,
        challenges,
        inputs: digest,
    }
}

fn rejected(job: &common::Job, inputs: [u8; 32], offence: Offence) -> bool {
    // These offences carry a zero shard-inputs digest (their envelopes' answers bind it).
    let shard_inputs = match offence {
        Offence::Equivocation { .. } | Offence::Malformed { .. } => [0u8; 32],
        _ => inputs,
    };
    let cert = BlameCertificate {
        public_inputs: job.public_inputs.clone(),
        shard_inputs,
        offence,
    };
    let vk = &job.pre.aggregator.vk;
    // The encoding does not change the verdict.
    let again = BlameCertificate::from_bytes(&cert.to_bytes()).unwrap();
    cert.verify(vk).is_err() && again.verify(vk).is_err()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    #[test]
    fn honest_worker_cannot_be_framed(seed in any::<u64>(), shard in 0usize..2) {
        let job = common::random_job(2, 16, 31);
        let c = honest_worker(&job, shard, seed, true);
        prop_assert_eq!(c.envelopes.len(), 5);
        let e = &c.envelopes;
        // Every offence with the true evidence.
        prop_assert!(rejected(&job, c.inputs, Offence::LocalIdentity { evaluations: e[3].clone(), challenges: c.challenges[..3].to_vec() }), "framed");
        prop_assert!(rejected(&job, c.inputs, Offence::BadOpening { messages: e.clone(), challenges: c.challenges.clone() }), "framed");
        for env in e {
            prop_assert!(rejected(&job, c.inputs, Offence::Malformed { envelope: env.clone() }), "framed");
            prop_assert!(rejected(&job, c.inputs, Offence::Equivocation { first: env.clone(), second: env.clone() }), "framed");
        }
        prop_assert!(rejected(&job, c.inputs, Offence::FalseRefusal { product: e[1].clone(), refusal: e[2].clone(), challenges: c.challenges[..2].to_vec() }), "framed");
        // Lying about the challenges the worker answered.
        let mut other = c.challenges.clone();
        other[2] = AggregatorMessage::EvaluationPoint { x: Fr::from(12345u64) };
        prop_assert!(rejected(&job, c.inputs, Offence::LocalIdentity { evaluations: e[3].clone(), challenges: other[..3].to_vec() }), "framed");
        prop_assert!(rejected(&job, c.inputs, Offence::BadOpening { messages: e.clone(), challenges: other }), "framed");
        // Editing a signed message.
        let mut edited = e[3].clone();
        if let Ok(WorkerMessage::Evaluations { mut at_x, z_shift }) = edited.message() {
            at_x[0] += Fr::one();
            edited.payload = WorkerMessage::Evaluations { at_x, z_shift }.to_bytes();
        }
        prop_assert!(rejected(&job, c.inputs, Offence::LocalIdentity { evaluations: edited.clone(), challenges: c.challenges[..3].to_vec() }), "framed");
        prop_assert!(rejected(&job, c.inputs, Offence::Equivocation { first: e[3].clone(), second: edited }), "framed");
        // Another statement: the signed context does not match.
        let mut cert = BlameCertificate {
            public_inputs: job.public_inputs.iter().map(|v| *v + v).collect(),
            shard_inputs: c.inputs,
            offence: Offence::LocalIdentity { evaluations: e[3].clone(), challenges: c.challenges[..3].to_vec() },
        };
        prop_assert!(cert.verify(&job.pre.aggregator.vk).is_err(), "framed");
        cert.public_inputs.clear();
        prop_assert!(cert.verify(&job.pre.aggregator.vk).is_err(), "framed");
        // Two answers to two different questions are not equivocation.
        let d = honest_worker(&job, shard, seed ^ 1, true);
        prop_assert!(rejected(&job, c.inputs, Offence::Equivocation { first: e[3].clone(), second: d.envelopes[3].clone() }), "framed");
        // The same worker handed the same shard with another input set (another shard
        // key) answers another question: its two round-1 messages are not equivocation.
        let f = honest_worker_with_key(&job, shard, seed, true, [42u8; 32]);
        prop_assert!(f.envelopes[0].payload != e[0].payload);
        prop_assert!(rejected(&job, c.inputs, Offence::Equivocation { first: e[0].clone(), second: f.envelopes[0].clone() }), "framed");
        prop_assert!(rejected(&job, f.inputs, Offence::Equivocation { first: e[0].clone(), second: f.envelopes[0].clone() }), "framed");
    }
}

#[test]
fn honest_refusal_cannot_be_called_false() {
    let job = common::random_job(2, 16, 32);
    for shard in 0..2 {
        let c = honest_worker(&job, shard, 5, false);
        assert_eq!(c.envelopes.len(), 3);
        assert!(matches!(
            c.envelopes[2].message(),
            Ok(WorkerMessage::Refusal { round: 3, .. })
        ));
        assert!(rejected(
            &job,
            c.inputs,
            Offence::FalseRefusal {
                product: c.envelopes[1].clone(),
                refusal: c.envelopes[2].clone(),
                challenges: c.challenges.clone(),
            }
        ));
    }
}

/// A malicious aggregator hands the same honest worker a second, inconsistent proving
/// key for the same shard: the worker refuses it, and that refusal next to its real
/// round-1 message is not equivocation (the inputs digest binds the key).
#[test]
fn two_proving_keys_do_not_make_an_equivocator() {
    use ark_ec::AffineRepr;
    let job = common::random_job(2, 16, 33);
    let honest = honest_worker(&job, 1, 3, true);
    let mut bad_key = job.pre.proving_keys[1].clone();
    bad_key.commitments[0] = tutti_crypto::G1Affine::generator();
    let inputs = ShardInputs {
        key: Arc::new(bad_key),
        witness: job.witnesses[1].clone(),
        public_inputs: job.public_inputs.clone(),
        shard_key: shard_key(&[7u8; 32], 1),
    };
    let mut w = SignedWorker::new(
        WorkerIdentity::from_seed(&[9u8; 32]),
        [1u8; 32],
        &job.pre.aggregator.vk,
        inputs,
    );
    let refusal = w.handle(&Directive::Resume {
        attempt: 0,
        history: vec![],
        send_from: 1,
    });
    assert!(matches!(
        refusal[0].message(),
        Ok(WorkerMessage::Refusal { round: 1, .. })
    ));
    assert_ne!(refusal[0].answers, honest.envelopes[0].answers);
    assert!(rejected(
        &job,
        honest.inputs,
        Offence::Equivocation {
            first: honest.envelopes[0].clone(),
            second: refusal[0].clone()
        },
    ));
}
