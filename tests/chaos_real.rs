//! Real-process chaos: the `tutti` binary as an aggregator, worker processes (each behind
//! a UDP fault proxy of its own) and a client, while workers and the aggregator are
//! killed, frozen and cut off on a schedule (`tutti_chaos::real`). Every run must keep
//! the invariants: nobody blamed, a verifying proof whenever the spares cover the workers
//! that may be lost, otherwise a failure that says workers were missing, and no panic.

use std::path::Path;

use tutti_chaos::real::{ProcessFault, RealOutcome, RealScenario, run_real};

const BIN: &str = env!("CARGO_BIN_EXE_tutti");

/// One cluster at a time: these scenarios are about timing (a stall shorter than the
/// reconnect grace), and two clusters of seven processes sharing two cores would make
/// the timing, not tutti, the thing under test.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `scenario` in a scratch directory and checks it kept every invariant.
fn run(scenario: &RealScenario) -> RealOutcome {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let outcome = run_real(Path::new(BIN), scenario, dir.path())
        .unwrap_or_else(|e| panic!("{}: could not be run: {e}", scenario.describe()));
    eprintln!(
        "{} -> proved {}, verified {}, reassigned {}, resumed {}, {:.0} ms",
        outcome.description,
        outcome.proved,
        outcome.verified,
        outcome.reassigned,
        outcome.resumed,
        outcome.wall_ms
    );
    assert!(
        outcome.violations.is_empty(),
        "{}: invariants broken:\n{}",
        outcome.description,
        outcome.violations.join("\n")
    );
    outcome
}

/// A generated scenario with its process faults replaced by `faults`.
fn with_faults(seed: u64, spares: usize, faults: Vec<ProcessFault>) -> RealScenario {
    RealScenario {
        spares,
        faults,
        ..RealScenario::generate(seed, 4)
    }
}

#[test]
fn a_worker_killed_mid_job_is_replaced_on_a_lossy_network() {
    let scenario = with_faults(
        101,
        1,
        vec![ProcessFault::KillWorker {
            worker: 1,
            after_ms: 50,
        }],
    );
    let outcome = run(&scenario);
    assert!(outcome.proved && outcome.verified);
    assert!(
        outcome.reassigned >= 1,
        "the kill landed after the job was over: {outcome:?}"
    );
}

#[test]
fn a_killed_aggregator_and_a_frozen_worker_still_give_a_proof() {
    let scenario = with_faults(
        202,
        1,
        vec![
            ProcessFault::KillAggregator { after_ms: 150 },
            ProcessFault::StopWorker {
                worker: 2,
                after_ms: 100,
                for_ms: 800,
            },
        ],
    );
    let outcome = run(&scenario);
    assert!(outcome.proved && outcome.verified);
}

#[test]
fn a_generated_scenario_and_a_partition_beyond_the_spares() {
    // As generated (fixed seed), then one with more workers at risk than spares: a
    // worker killed and another cut off for longer than the grace, one spare. Either a
    // proof (the partitioned worker came back in time) or a clear "not enough workers".
    run(&RealScenario::generate(303, 4));
    let outcome = run(&with_faults(
        304,
        1,
        vec![
            ProcessFault::KillWorker {
                worker: 0,
                after_ms: 50,
            },
            ProcessFault::Partition {
                worker: 3,
                after_ms: 60,
                for_ms: 6000,
            },
        ],
    ));
    assert!(outcome.proved || outcome.error.is_some(), "{outcome:?}");
}

/// Regression (found by a real-process chaos run, seeds 400–402): a worker frozen for
/// less than the reconnect grace while the aggregator restarted lost its shard. The
/// restarted aggregator could not reset the old connections (quinn's stateless-reset key
/// was random per process), so workers noticed the restart only through their QUIC idle
/// timeout, which a stall stretches; they came back after the resume grace and, with no
/// spare, the job failed. Fixed by deriving the reset key from the aggregator's key and
/// a longer resume grace, and a liveness watchdog on both ends; three runs are tried.
///
/// After that fix about one scenario in forty still failed: the frozen worker logged
/// nothing at all after it was continued (no reconnection, not even its silence
/// watchdog firing) while the restarted aggregator waited for it and, with no spare,
/// failed the job with "not enough workers". The cause: the watchdog was one branch of
/// the worker's select loop, so an await inside another branch (reading an Assignment
/// stream the dead aggregator had half sent) ran without it until QUIC's idle timeout,
/// stretched by the freeze. The watchdog is now a task beside the whole session that
/// closes the connection; since then 198 scenarios (66 runs of this test) passed, where
/// about five failures were expected before.
#[test]
fn a_short_stall_across_an_aggregator_restart_costs_no_spare() {
    for seed in 0..3 {
        let scenario = RealScenario {
            seed: 400 + seed,
            shards: 4,
            shard_gates: 256,
            spares: 0,
            net: tutti_chaos::proxy::NetFaults {
                delay_ms: (100, 100),
                ..Default::default()
            },
            faults: vec![
                ProcessFault::StopWorker {
                    worker: 2,
                    after_ms: 100,
                    for_ms: 1400,
                },
                ProcessFault::KillAggregator { after_ms: 150 },
            ],
        };
        run(&scenario);
    }
}
