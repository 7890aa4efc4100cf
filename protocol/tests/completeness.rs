//! Completeness: every honest proof verifies, for random circuits and witnesses over
//! several shapes, including M = 1 (ordinary single-machine Plonk through the same code).

mod common;

use proptest::prelude::*;
use tutti_protocol::circuits::random::random_circuit;
use tutti_protocol::proof::{PROOF_BYTES, Proof};
use tutti_protocol::runner::RunOptions;
use tutti_protocol::verifier::verify;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn random_circuits_verify(
        log_m in 0usize..4,
        log_t in 4usize..6,
        fill in 0.3f64..1.0,
        seed in any::<u64>(),
    ) {
        let (m, t) = (1 << log_m, 1 << log_t);
        let gates = ((m * (t - 1)) as f64 * fill) as usize;
        let (c, w) = random_circuit(gates.max(2), seed);
        let job = common::job(c, w, m, t);
        let report = job.prove().map_err(|e| TestCaseError::fail(format!("M={m} T={t}: {e}")))?;
        verify(&job.pre.aggregator.vk, &job.public_inputs, &report.proof).unwrap();
        // Constant size, whatever M and T.
        let bytes = report.proof.to_bytes();
        prop_assert_eq!(bytes.len(), PROOF_BYTES);
        prop_assert_eq!(Proof::from_bytes(&bytes).unwrap(), report.proof);
    }
}

#[test]
fn rollup_circuit_verifies_across_shards() {
    use tutti_protocol::circuits::rollup::rollup_circuit;
    use tutti_protocol::layout::Shape;
    let (c, w, stats) = rollup_circuit(Shape::new(4, 1024).unwrap(), 3).unwrap();
    assert!(stats.transfers >= 4);
    let job = common::job(c, w, 4, 1024);
    let report = job.prove().unwrap();
    verify(&job.pre.aggregator.vk, &job.public_inputs, &report.proof).unwrap();
}

/// The same inputs and job secret give byte-identical proofs (deterministic blinding);
/// a different secret gives a different, equally valid proof.
#[test]
fn deterministic_blinding() {
    let job = common::random_job(4, 16, 9);
    let opts = |b: u8| RunOptions::deterministic([b; 32]);
    let a = job.prove_with(job.witnesses.clone(), opts(1)).unwrap();
    let b = job.prove_with(job.witnesses.clone(), opts(1)).unwrap();
    let c = job.prove_with(job.witnesses.clone(), opts(2)).unwrap();
    assert_eq!(a.proof.to_bytes(), b.proof.to_bytes());
    assert_ne!(a.proof.to_bytes(), c.proof.to_bytes());
    verify(&job.pre.aggregator.vk, &job.public_inputs, &c.proof).unwrap();
    // Traffic per worker is the same for every worker and independent of the witness.
    assert!(a.traffic.iter().all(|t| *t == a.traffic[0]));
}

/// The default options draw a fresh job secret from the OS: two runs of one witness give
/// different proofs (the blinding is not predictable), each of which verifies.
#[test]
fn default_options_draw_a_fresh_secret() {
    let job = common::random_job(2, 16, 3);
    let (oa, ob) = (RunOptions::default(), RunOptions::default());
    assert_ne!(oa.job_secret, ob.job_secret);
    assert_ne!(oa.job_secret, [0u8; 32]);
    let a = job.prove_with(job.witnesses.clone(), oa).unwrap();
    let b = job.prove_with(job.witnesses.clone(), ob).unwrap();
    assert_ne!(a.proof.to_bytes(), b.proof.to_bytes());
    verify(&job.pre.aggregator.vk, &job.public_inputs, &a.proof).unwrap();
    verify(&job.pre.aggregator.vk, &job.public_inputs, &b.proof).unwrap();
}

/// Traffic per worker does not grow with T or M.
#[test]
fn traffic_is_constant() {
    let small = common::random_job(2, 16, 1).prove().unwrap();
    let large = common::random_job(4, 64, 1).prove().unwrap();
    assert_eq!(small.traffic[0], large.traffic[0]);
}
