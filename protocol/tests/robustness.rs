//! Robustness: for every fault kind, one worker commits exactly that fault; the proof
//! still comes out and verifies (given a spare), provable faults are blamed with a
//! certificate that verifies offline, and honest workers are never blamed.

mod common;

use tutti_protocol::ProtocolError;
use tutti_protocol::aggregator::AggregatorOptions;
use tutti_protocol::aggregator::coordinator::ReassignReason;
use tutti_protocol::runner::{Fault, FaultSpec, JobOptions, JobReport, NoClock, run_job};
use tutti_protocol::verifier::verify;

fn run(job: &common::Job, spares: usize, faults: Vec<FaultSpec>) -> JobReport {
    let options = JobOptions {
        spares,
        faults,
        ..JobOptions::deterministic([5u8; 32])
    };
    run_job(
        &job.pre,
        job.witnesses.clone(),
        &job.public_inputs,
        &options,
        &NoClock,
    )
    .unwrap()
}

fn check_outcome(job: &common::Job, report: &JobReport, faulty: &[usize]) {
    let vk = &job.pre.aggregator.vk;
    let proof = report
        .proof
        .as_ref()
        .unwrap_or_else(|| panic!("no proof: {:?}", report.error));
    verify(vk, &job.public_inputs, proof).unwrap();
    for cert in &report.blamed {
        cert.verify(vk).unwrap();
        let k = report
            .workers
            .iter()
            .position(|w| *w == cert.worker())
            .unwrap();
        assert!(
            faulty.contains(&k),
            "honest worker {k} blamed: {}",
            cert.offence.name()
        );
        // A certificate survives its encoding.
        let again = tutti_protocol::blame::BlameCertificate::from_bytes(&cert.to_bytes()).unwrap();
        assert_eq!(&again, cert);
    }
}

#[test]
fn every_fault_kind_is_survived_and_blamed_when_provable() {
    let job = common::random_job(4, 16, 21);
    for fault in Fault::ALL {
        for round in fault.rounds() {
            let spec = FaultSpec {
                shard: 1,
                fault,
                round,
            };
            let report = run(&job, 1, vec![spec]);
            check_outcome(&job, &report, &[1]);
            let name = format!("{}@{round}", fault.name());
            let blamed = !report.blamed.is_empty();
            match fault {
                Fault::Replay | Fault::CorruptFragment => {
                    assert!(
                        !blamed && report.reassigned.is_empty(),
                        "{name}: replays are ignored; fragments matter only to a takeover"
                    );
                }
                Fault::Crash | Fault::Stall | Fault::BadSignature => {
                    assert!(!blamed, "{name}: not provable, must not be blamed");
                    assert_eq!(report.reassigned.len(), 1, "{name}");
                    assert_ne!(report.reassigned[0].reason, ReassignReason::Blamed);
                }
                _ => {
                    assert_eq!(report.blamed.len(), 1, "{name}: exactly the liar is blamed");
                    assert_eq!(report.reassigned.len(), 1, "{name}");
                }
            }
        }
    }
}

#[test]
fn too_few_spares_fails_clearly_and_emits_nothing() {
    let job = common::random_job(4, 16, 22);
    let faults = vec![
        FaultSpec {
            shard: 0,
            fault: Fault::Crash,
            round: 2,
        },
        FaultSpec {
            shard: 2,
            fault: Fault::BadOpening,
            round: 5,
        },
    ];
    let report = run(&job, 1, faults.clone());
    assert!(report.proof.is_none());
    assert!(
        matches!(report.error, Some(ProtocolError::NotEnoughWorkers { .. })),
        "{:?}",
        report.error
    );
    // With as many spares as faults, it completes.
    let report = run(&job, 2, faults);
    check_outcome(&job, &report, &[0, 2]);
}

#[test]
fn honest_run_has_no_blame_and_one_attempt() {
    let job = common::random_job(2, 16, 23);
    let report = run(&job, 0, Vec::new());
    check_outcome(&job, &report, &[]);
    assert!(report.blamed.is_empty() && report.reassigned.is_empty());
    assert_eq!(report.attempts, 1);
}

/// The aggregator dies mid-job and restarts from its journal: the job completes, and no
/// worker is asked again for a message the journal already holds.
#[test]
fn aggregator_restart_resumes_from_the_journal() {
    let job = common::random_job(4, 16, 24);
    for after in [1usize, 5, 9, 13, 17] {
        let options = JobOptions {
            spares: 1,
            faults: vec![FaultSpec {
                shard: 2,
                fault: Fault::BadOpening,
                round: 5,
            }],
            aggregator_restart_after: Some(after),
            ..JobOptions::deterministic([6u8; 32])
        };
        let report = run_job(
            &job.pre,
            job.witnesses.clone(),
            &job.public_inputs,
            &options,
            &NoClock,
        )
        .unwrap();
        assert_eq!(
            report.aggregator_restarts, 1,
            "restart after {after} entries"
        );
        assert_eq!(
            report.resent_after_restart, 0,
            "restart after {after} entries"
        );
        check_outcome(&job, &report, &[2]);
        assert_eq!(report.blamed.len(), 1);
    }
}

mod mixes {
    use super::*;
    use proptest::prelude::*;

    fn fault_strategy() -> impl Strategy<Value = (Fault, u8)> {
        (0usize..Fault::ALL.len(), 0u8..5).prop_map(|(k, r)| {
            let f = Fault::ALL[k];
            let rounds = f.rounds();
            let span = rounds.end() - rounds.start() + 1;
            (f, rounds.start() + r % span)
        })
    }

    proptest! {
        // TUTTI_SOAK_CASES=N runs a longer soak (default 48 cases).
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("TUTTI_SOAK_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)
        ))]
        /// Random mixes of faults on distinct shards, with a random number of spares: no
        /// honest worker is ever blamed, every certificate verifies, and the job completes
        /// whenever there are at least as many spares as faults that need a replacement.
        #[test]
        fn no_honest_worker_is_ever_blamed(
            faults in proptest::collection::vec(fault_strategy(), 1..4),
            spares in 0usize..4,
            seed in 0u64..4,
        ) {
            let job = common::random_job(4, 16, 40 + seed);
            let specs: Vec<FaultSpec> = faults
                .iter()
                .enumerate()
                .map(|(shard, (fault, round))| FaultSpec { shard, fault: *fault, round: *round })
                .collect();
            let faulty: Vec<usize> = (0..specs.len()).collect();
            let report = run(&job, spares, specs.clone());
            let vk = &job.pre.aggregator.vk;
            for cert in &report.blamed {
                prop_assert!(cert.verify(vk).is_ok());
                let k = report.workers.iter().position(|w| *w == cert.worker()).unwrap();
                prop_assert!(faulty.contains(&k), "honest worker {} blamed for {}", k, cert.offence.name());
            }
            let needing = specs.iter().filter(|s| s.fault != Fault::Replay).count();
            if spares >= needing {
                let proof = report.proof.as_ref();
                prop_assert!(proof.is_some(), "no proof with {} spares for {:?}: {:?}", spares, specs, report.error);
                prop_assert!(verify(vk, &job.public_inputs, proof.unwrap()).is_ok());
            } else if report.proof.is_none() {
                prop_assert!(
                    matches!(report.error, Some(ProtocolError::NotEnoughWorkers { .. })),
                    "unexpected failure {:?}", report.error
                );
            }
        }
    }
}

/// A crashed worker's shard is taken over by a spare that rebuilds the shard's private
/// inputs from erasure-coded fragments held by other workers; a corrupted fragment is
/// detected and its holder named, and the rebuild still succeeds from the rest.
#[test]
fn takeover_rebuilds_inputs_from_fragments() {
    use tutti_crypto::erasure::ErasureParams;
    let job = common::random_job(4, 16, 25);
    let run_with = |faults: Vec<FaultSpec>, params: ErasureParams| {
        // Two spares: one for the crash, one for the shard the corrupting holder loses.
        let options = JobOptions {
            spares: 2,
            faults,
            erasure: Some(params),
            ..JobOptions::deterministic([9u8; 32])
        };
        run_job(
            &job.pre,
            job.witnesses.clone(),
            &job.public_inputs,
            &options,
            &NoClock,
        )
    };
    let crash = FaultSpec {
        shard: 0,
        fault: Fault::Crash,
        round: 3,
    };
    let corrupt = FaultSpec {
        shard: 1,
        fault: Fault::CorruptFragment,
        round: 1,
    };
    let report = run_with(vec![crash, corrupt], ErasureParams::new(2, 2).unwrap()).unwrap();
    check_outcome(&job, &report, &[0, 1]);
    assert_eq!(
        report.rebuilt_inputs,
        vec![0, 1],
        "shard 1 moves too: its holder corrupted"
    );
    assert_eq!(report.corrupted_fragments, vec![(0, report.workers[1])]);
    // The corrupting holder is blamed with a certificate anyone can check.
    let cert = report
        .blamed
        .iter()
        .find(|c| c.worker() == report.workers[1])
        .expect("the corrupting holder is blamed");
    assert!(matches!(
        cert.offence,
        tutti_protocol::blame::Offence::CorruptFragment { .. }
    ));
    // With too few good fragments left (4 data fragments, no parity, one corrupted) the
    // job says so instead of guessing.
    let err = run_with(vec![crash, corrupt], ErasureParams::new(4, 0).unwrap()).unwrap_err();
    assert!(err.to_string().contains("fragment"), "{err}");
}

mod replication {
    use super::*;

    fn run_replicated(
        job: &common::Job,
        replicas: usize,
        spares: usize,
        faults: Vec<FaultSpec>,
    ) -> JobReport {
        let options = JobOptions {
            spares,
            faults,
            replicas,
            ..JobOptions::deterministic([8u8; 32])
        };
        run_job(
            &job.pre,
            job.witnesses.clone(),
            &job.public_inputs,
            &options,
            &NoClock,
        )
        .unwrap()
    }

    fn lie(shard: usize) -> Vec<FaultSpec> {
        vec![FaultSpec {
            shard,
            fault: Fault::WrongCommitment,
            round: 1,
        }]
    }

    #[test]
    fn honest_replicas_agree() {
        let job = common::random_job(2, 16, 50);
        let report = run_replicated(&job, 2, 0, Vec::new());
        check_outcome(&job, &report, &[]);
        assert!(report.reassigned.is_empty());
    }

    /// A lying replica is outvoted in the round it lies: its commitment never enters the
    /// transcript (one attempt, no rewind), and the job goes on.
    #[test]
    fn a_disagreement_is_caught_before_the_transcript() {
        let job = common::random_job(2, 16, 51);
        // Three replicas: majority.
        let report = run_replicated(&job, 3, 0, lie(1));
        check_outcome(&job, &report, &[3]);
        assert_eq!(report.attempts, 1);
        assert_eq!(
            report.reassigned.len(),
            1,
            "no spare: the shard goes on with two"
        );
        assert_eq!(report.reassigned[0].reason, ReassignReason::Retired);
        assert_eq!(report.reassigned[0].from, report.workers[3]);
        // Two replicas and a spare: the spare arbitrates the tie.
        let report = run_replicated(&job, 2, 1, lie(1));
        check_outcome(&job, &report, &[2]);
        assert_eq!(report.attempts, 1);
        assert_eq!(report.reassigned.len(), 1);
        assert_eq!(report.reassigned[0].reason, ReassignReason::Retired);
        assert_eq!(report.reassigned[0].from, report.workers[2]);
    }

    #[test]
    fn a_tie_without_spares_fails_clearly() {
        let job = common::random_job(2, 16, 52);
        let report = run_replicated(&job, 2, 0, lie(0));
        assert!(report.proof.is_none());
        assert!(
            matches!(
                report.error,
                Some(ProtocolError::ReplicasDisagree { shard: 0, round: 1 })
            ),
            "{:?}",
            report.error
        );
    }

    /// A crashed replica leaves its shard to the other replica, spare or not.
    #[test]
    fn a_crashed_replica_is_covered_by_its_twin() {
        let job = common::random_job(2, 16, 53);
        let faults = vec![FaultSpec {
            shard: 1,
            fault: Fault::Crash,
            round: 2,
        }];
        let report = run_replicated(&job, 2, 0, faults);
        check_outcome(&job, &report, &[2]);
        assert_eq!(report.attempts, 1);
    }
}

/// A worker proves a different witness that satisfies its own gates (so every check on
/// its own messages passes) but breaks a copy constraint with another shard. The
/// products do not multiply to one, audit mode finds no liar, and the recomputation
/// audit finds the shard whose messages differ from a spare's recomputation: the liar
/// is retired and the proof comes out.
#[test]
fn recomputation_audit_finds_a_self_consistent_liar() {
    use tutti_protocol::circuit::CircuitBuilder;
    use tutti_protocol::{Fr, layout::Shape, layout::ShardedCircuit};
    let t = 16;
    let build = |y_value: u64| {
        let mut b = CircuitBuilder::new();
        let x = b.input(Fr::from(5u64));
        let mut acc = b.add(x, x);
        while b.num_gates() < t - 1 {
            acc = b.add(acc, x);
        }
        b.end_shard();
        let y = b.input(Fr::from(y_value));
        b.assert_equal(x, y);
        let sq = b.mul(y, y);
        let _ = b.add(sq, y);
        b.build()
    };
    let (circuit, witness) = build(5);
    let (_, forged) = build(6);
    let job = common::job(circuit.clone(), witness, 2, t);
    let sharded = ShardedCircuit::new(&circuit, Shape::new(2, t).unwrap()).unwrap();
    let forged_shard = sharded.shard_witnesses(&forged)[1].clone();
    assert_ne!(forged_shard, job.witnesses[1]);
    let run_with = |spares: usize| {
        let options = JobOptions {
            spares,
            faults: Vec::new(),
            forged_witnesses: vec![(1, forged_shard.clone())],
            ..JobOptions::deterministic([11u8; 32])
        };
        run_job(
            &job.pre,
            job.witnesses.clone(),
            &job.public_inputs,
            &options,
            &NoClock,
        )
        .unwrap()
    };
    let report = run_with(1);
    check_outcome(&job, &report, &[1]);
    assert!(
        report.blamed.is_empty(),
        "not certifiable with the verifying key alone"
    );
    assert_eq!(report.reassigned.len(), 1);
    assert_eq!(report.reassigned[0].shard, 1);
    assert_eq!(report.reassigned[0].from, report.workers[1]);
    assert_eq!(report.reassigned[0].reason, ReassignReason::Retired);
    assert!(report.attempts >= 2);
    // Without a spare to recompute with, the job stops with the copy-product error.
    let report = run_with(0);
    assert!(
        matches!(report.error, Some(ProtocolError::GlobalProductMismatch)),
        "{:?}",
        report.error
    );
}

/// A witness that breaks a gate: the honest worker refuses with a signed refusal naming
/// the row, one spare confirms, and the job fails naming shard and row; nobody is blamed.
#[test]
fn honest_refusal_fails_the_job_without_blame() {
    use ark_ff::One;
    use tutti_protocol::messages::RefusalReason;
    let job = common::random_job(4, 16, 26);
    let mut witnesses = job.witnesses.clone();
    witnesses[2].wires[2][5] += tutti_protocol::Fr::one();
    let options = JobOptions {
        spares: 1,
        ..JobOptions::deterministic([12u8; 32])
    };
    let report = run_job(&job.pre, witnesses, &job.public_inputs, &options, &NoClock).unwrap();
    assert!(report.proof.is_none());
    assert!(report.blamed.is_empty());
    assert_eq!(
        report.error,
        Some(ProtocolError::Refused {
            shard: 2,
            reason: RefusalReason::GateUnsatisfied { row: 5 }
        })
    );
    let msg = report.error.unwrap().to_string();
    assert!(msg.contains("shard 2") && msg.contains("row 5"), "{msg}");
    // The spare double-checked before the job gave up.
    assert_eq!(report.reassigned.len(), 1);
    assert_eq!(report.reassigned[0].reason, ReassignReason::Refused);
}

/// The coordinator's first checks, each with its typed outcome: a replaced worker and an
/// old attempt are fenced off, unknown senders, garbage and bad signatures are ignored,
/// and an exact replay is a duplicate.
#[test]
fn envelope_checks_and_fencing() {
    use std::sync::Arc;
    use tutti_protocol::aggregator::coordinator::{
        Coordinator, CoordinatorEvent, IgnoreReason, JobSetup, MessageOutcome,
    };
    use tutti_protocol::runner::robust::worker_identity;
    use tutti_protocol::runner::shard_key;
    use tutti_protocol::worker::{Directive, ShardInputs, SignedWorker};
    let job = common::random_job(2, 16, 27);
    let secret = [13u8; 32];
    let ids: Vec<_> = (0..3).map(|k| worker_identity(&secret, k)).collect();
    let inputs = |shard: usize| ShardInputs {
        key: Arc::new(job.pre.proving_keys[shard].clone()),
        witness: job.witnesses[shard].clone(),
        public_inputs: job.public_inputs.clone(),
        shard_key: shard_key(&secret, shard),
    };
    let job_id = [4u8; 32];
    let mut coord = Coordinator::new(JobSetup {
        key: Arc::new(job.pre.aggregator.clone()),
        public_inputs: job.public_inputs.clone(),
        job_key: [5u8; 32],
        job_id,
        workers: ids.iter().map(|i| i.id()).collect(),
        shard_inputs: (0..2).map(|s| inputs(s).digest()).collect(),
        replicas: 1,
        options: AggregatorOptions::default(),
    })
    .unwrap();
    coord.start();
    while coord.poll_event().is_some() {}
    let vk = &job.pre.aggregator.vk;
    let start = Directive::Resume {
        attempt: 0,
        history: vec![],
        send_from: 1,
    };
    let mut w0 = SignedWorker::new(ids[0].clone(), job_id, vk, inputs(0));
    let mut w1 = SignedWorker::new(ids[1].clone(), job_id, vk, inputs(1));
    let e0 = w0.handle(&start).remove(0);
    let e1 = w1.handle(&start).remove(0);
    let id = |k: usize| ids[k].id();
    assert_eq!(
        coord.handle_message(id(0), &e0.wire_bytes()),
        MessageOutcome::Accepted
    );
    assert_eq!(
        coord.handle_message(id(0), &e0.wire_bytes()),
        MessageOutcome::Duplicate
    );
    // Not on the allow-list.
    let stranger = worker_identity(&[99u8; 32], 0).id();
    assert_eq!(
        coord.handle_message(stranger, &e1.wire_bytes()),
        MessageOutcome::Ignored(IgnoreReason::UnknownWorker)
    );
    // Garbage and a flipped signature bit.
    assert_eq!(
        coord.handle_message(id(1), &[1, 2, 3]),
        MessageOutcome::Ignored(IgnoreReason::MalformedFrame)
    );
    let mut forged = e1.clone();
    forged.signature[3] ^= 1;
    assert_eq!(
        coord.handle_message(id(1), &forged.wire_bytes()),
        MessageOutcome::Ignored(IgnoreReason::BadSignature)
    );
    // Another worker's message presented as its own.
    assert_eq!(
        coord.handle_message(id(1), &e0.wire_bytes()),
        MessageOutcome::Ignored(IgnoreReason::BadSignature)
    );
    // An old attempt.
    let stale = w1
        .handle(&Directive::Resume {
            attempt: 7,
            history: vec![],
            send_from: 1,
        })
        .remove(0);
    assert_eq!(
        coord.handle_message(id(1), &stale.wire_bytes()),
        MessageOutcome::Ignored(IgnoreReason::StaleAttempt)
    );
    // Worker 1 is lost; the spare takes shard 1; worker 1's late message is fenced off.
    coord.handle_worker_lost(id(1));
    let mut moved = false;
    while let Some(ev) = coord.poll_event() {
        if let CoordinatorEvent::Reassigned { shard: 1, to, .. } = ev {
            moved = to == id(2);
        }
    }
    assert!(moved);
    assert_eq!(
        coord.handle_message(id(1), &e1.wire_bytes()),
        MessageOutcome::Ignored(IgnoreReason::NotHolder)
    );
    // The spare's message for shard 1 is accepted.
    let mut w2 = SignedWorker::new(ids[2].clone(), job_id, vk, inputs(1));
    let e2 = w2.handle(&start).remove(0);
    assert_eq!(
        coord.handle_message(id(2), &e2.wire_bytes()),
        MessageOutcome::Accepted
    );
}

/// Regression (found by `no_honest_worker_is_ever_blamed`): a rewind bumped the attempt
/// while another shard's takeover still owed the rewound round; it was never asked again
/// under the new attempt, timed out, and the job ran out of spares.
#[test]
fn rewind_reasks_shards_still_owing_the_round() {
    let job = common::random_job(4, 16, 40);
    let faults = vec![
        FaultSpec {
            shard: 0,
            fault: Fault::WrongProduct,
            round: 2,
        },
        FaultSpec {
            shard: 1,
            fault: Fault::Crash,
            round: 1,
        },
        FaultSpec {
            shard: 2,
            fault: Fault::WrongProduct,
            round: 2,
        },
    ];
    let report = run(&job, 3, faults);
    check_outcome(&job, &report, &[0, 1, 2]);
    assert_eq!(report.blamed.len(), 2);
    assert_eq!(report.reassigned.len(), 3);
}

/// The robust path's default options draw a fresh job secret (different worker
/// identities and proofs, both valid); a deterministic secret twice gives the same
/// workers and a byte-identical proof.
#[test]
fn job_secret_is_fresh_unless_deterministic() {
    let job = common::random_job(2, 16, 4);
    let prove = |options: &JobOptions| {
        let report = run_job(
            &job.pre,
            job.witnesses.clone(),
            &job.public_inputs,
            options,
            &NoClock,
        )
        .unwrap();
        let proof = report.proof.expect("a proof");
        verify(&job.pre.aggregator.vk, &job.public_inputs, &proof).unwrap();
        (proof.to_bytes(), report.workers)
    };
    let (a, b) = (JobOptions::default(), JobOptions::default());
    assert_ne!(a.job_secret, b.job_secret);
    let (pa, wa) = prove(&a);
    let (pb, wb) = prove(&b);
    assert_ne!(pa, pb);
    assert_ne!(wa, wb);
    let d = JobOptions::deterministic([21u8; 32]);
    let (p1, w1) = prove(&d);
    let (p2, w2) = prove(&JobOptions::deterministic([21u8; 32]));
    assert_eq!(p1, p2);
    assert_eq!(w1, w2);
}
