mod common;

use tutti_protocol::verifier::verify;

#[test]
fn random_circuit_proves_and_verifies_for_several_shapes() {
    for (m, t) in [(1, 16), (2, 16), (4, 32), (8, 16)] {
        let job = common::random_job(m, t, 42 + m as u64);
        job.sharded
            .check_witness(&job.witnesses, &job.public_inputs)
            .unwrap();
        let report = job.prove().unwrap_or_else(|e| panic!("M={m} T={t}: {e}"));
        verify(&job.pre.aggregator.vk, &job.public_inputs, &report.proof).unwrap();
    }
}
