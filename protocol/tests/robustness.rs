//! Robustness: for every fault kind, one worker commits exactly that fault; the proof
//! still comes out and verifies (given a spare), provable faults are blamed with a
//! certificate that verifies offline, and honest workers are never blamed.

mod common;

use tutti_protocol::ProtocolError;
use tutti_protocol::aggregator::coordinator::ReassignReason;
use tutti_protocol::runner::{Fault, FaultSpec, JobOptions, JobReport, NoClock, run_job};
use tutti_protocol::verifier::verify;

fn run(job: &common::Job, spares: usize, faults: Vec<FaultSpec>) -> JobReport {
    let options = JobOptions {
        job_secret: [5u8; 32],
        spares,
        faults,
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
                Fault::Replay => {
                    assert!(
                        !blamed && report.reassigned.is_empty(),
                        "{name}: replays are ignored"
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
