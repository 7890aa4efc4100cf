//! spec/checks.md steps 12′ and 12″, driven message by message: a takeover's replay of
//! an earlier round is retired as the odd one out only while a message its fellow
//! holders agreed on is still accepted; when a blame has forgotten the accepted message,
//! the transcript must change from that round, and the job rewinds.

mod common;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tutti_crypto::identity::WorkerIdentity;
use tutti_protocol::aggregator::AggregatorOptions;
use tutti_protocol::aggregator::coordinator::{
    Coordinator, CoordinatorEvent, JobSetup, ReassignReason,
};
use tutti_protocol::envelope::Envelope;
use tutti_protocol::messages::{AggregatorMessage, WorkerMessage};
use tutti_protocol::runner::robust::worker_identity;
use tutti_protocol::runner::shard_key;
use tutti_protocol::verifier::verify;
use tutti_protocol::worker::{Directive, ShardInputs, SignedWorker};

#[test]
fn a_forgotten_accepted_round_rewinds_even_with_several_holders() {
    let (m, replicas, spares) = (2usize, 2usize, 2usize);
    let job = common::random_job(m, 16, 60);
    let secret = [21u8; 32];
    let n = m * replicas + spares;
    let ids: Vec<WorkerIdentity> = (0..n).map(|k| worker_identity(&secret, k)).collect();
    let by_id: HashMap<_, _> = ids.iter().map(|i| (i.id(), i.clone())).collect();
    let inputs = |shard: usize| ShardInputs {
        key: Arc::new(job.pre.proving_keys[shard].clone()),
        witness: job.witnesses[shard].clone(),
        public_inputs: job.public_inputs.clone(),
        shard_key: shard_key(&secret, shard),
    };
    let job_id = [6u8; 32];
    let mut coord = Coordinator::new(JobSetup {
        key: Arc::new(job.pre.aggregator.clone()),
        public_inputs: job.public_inputs.clone(),
        job_key: [7u8; 32],
        job_id,
        workers: ids.iter().map(|i| i.id()).collect(),
        shard_inputs: (0..m).map(|s| inputs(s).digest()).collect(),
        replicas,
        options: AggregatorOptions::default(),
    })
    .expect("coordinator");
    coord.start();
    let vk = &job.pre.aggregator.vk;
    let mut workers: HashMap<_, SignedWorker> = HashMap::new();
    let mut first_holder_of_1 = None;
    let mut equivocated = false;
    let mut retired = Vec::new();
    let mut blamed = Vec::new();
    let mut attempts = Vec::new();
    let mut proof = None;
    let mut inbox: VecDeque<(tutti_crypto::identity::WorkerId, Envelope)> = VecDeque::new();
    for _ in 0..10_000 {
        while let Some(ev) = coord.poll_event() {
            let (worker, directive) = match ev {
                CoordinatorEvent::Assign {
                    worker,
                    shard,
                    directive,
                } => {
                    if shard == 1 && first_holder_of_1.is_none() {
                        first_holder_of_1 = Some(worker);
                    }
                    let identity = by_id[&worker].clone();
                    workers.insert(
                        worker,
                        SignedWorker::new(identity, job_id, vk, inputs(shard)),
                    );
                    (worker, directive)
                }
                CoordinatorEvent::Send { worker, directive } => (worker, directive),
                CoordinatorEvent::Reassigned {
                    from,
                    reason,
                    shard,
                    ..
                } => {
                    if reason == ReassignReason::Retired {
                        retired.push((shard, from));
                    }
                    continue;
                }
                CoordinatorEvent::Blame(c) => {
                    blamed.push(c.worker());
                    continue;
                }
                CoordinatorEvent::ProofReady(p) => {
                    proof = Some(*p);
                    continue;
                }
                CoordinatorEvent::Failed(e) => panic!("the job failed: {e}"),
            };
            let attempt = match &directive {
                Directive::Next { attempt, .. } | Directive::Resume { attempt, .. } => *attempt,
            };
            attempts.push(attempt);
            // Once round 1 is settled (the permutation challenges go out), the holder
            // whose round-1 message was accepted signs a second, different one.
            let challenges_out = matches!(
                &directive,
                Directive::Next {
                    message: AggregatorMessage::PermutationChallenges { .. },
                    ..
                }
            );
            if let Some(w) = workers.get_mut(&worker) {
                for env in w.handle(&directive) {
                    inbox.push_back((worker, env));
                }
            }
            if challenges_out && !equivocated && Some(worker) == first_holder_of_1 {
                equivocated = true;
                let honest = workers
                    .get_mut(&worker)
                    .expect("held")
                    .handle(&Directive::Resume {
                        attempt,
                        history: vec![],
                        send_from: 1,
                    })
                    .remove(0);
                let Ok(WorkerMessage::Wires { mut commitments }) = honest.message() else {
                    panic!("a round-1 message");
                };
                commitments.swap(0, 1);
                let lie = Envelope::seal(
                    &by_id[&worker],
                    job_id,
                    attempt,
                    1,
                    honest.context,
                    honest.answers,
                    &WorkerMessage::Wires { commitments },
                );
                inbox.push_back((worker, lie));
            }
        }
        let Some((worker, env)) = inbox.pop_front() else {
            break;
        };
        coord.handle_message(worker, &env.wire_bytes());
    }
    assert!(equivocated, "the scenario never reached its equivocation");
    let proof = proof.expect("the job completes");
    verify(vk, &job.public_inputs, &proof).expect("verifies");
    assert_eq!(blamed, vec![first_holder_of_1.expect("shard 1 held")]);
    // Only the twin that co-signed the refuted message is retired; the takeovers that
    // replay round 1 with nothing accepted are not retired as odd ones out.
    assert_eq!(retired.len(), 1, "{retired:?}");
    assert_eq!(retired[0].0, 1);
    // The replay rewound the job: a later attempt was directed.
    assert!(attempts.iter().any(|a| *a > 0), "no rewind: {attempts:?}");
}
