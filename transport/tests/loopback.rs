//! Aggregator, workers and a client over real QUIC sockets on loopback, in one process.

use std::sync::Arc;
use std::time::Duration;
use tutti_crypto::identity::WorkerIdentity;
use tutti_crypto::srs::InMemorySrs;
use tutti_protocol::circuits::{BuiltinCircuit, CircuitRef};
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::layout::{Shape, ShardedCircuit};
use tutti_protocol::proof::Proof;
use tutti_protocol::verifier::verify;
use tutti_transport::aggregator::{AggregatorNode, AggregatorSettings};
use tutti_transport::client::submit_job;
use tutti_transport::peer::PeerSettings;
use tutti_transport::store::Store;
use tutti_transport::tls::{AggregatorCredentials, QuicTuning};
use tutti_transport::wire::{JobOutcome, Submission};
use tutti_transport::worker::WorkerNode;

fn identity(k: u8) -> WorkerIdentity {
    WorkerIdentity::from_seed(&[k; 32])
}

fn submission(circuit: CircuitRef) -> Submission {
    let (c, w, _) = circuit.build().expect("circuit");
    let sharded = ShardedCircuit::new(&c, circuit.shape).expect("shard");
    Submission {
        circuit,
        public_inputs: w.public_inputs(&c),
        witnesses: sharded.shard_witnesses(&w),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_prove_over_quic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shape = Shape::new(4, 64).expect("shape");
    let srs = InMemorySrs::insecure_from_seed(4, 64, b"loopback").expect("srs");
    let creds = AggregatorCredentials::generate().expect("creds");
    let tuning = QuicTuning::default();
    let workers: Vec<WorkerIdentity> = (1..=5).map(identity).collect();
    let client = identity(99);
    let settings = AggregatorSettings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        credentials: creds.clone(),
        workers: workers.iter().map(|w| w.id()).collect(),
        clients: vec![client.id()],
        store: Store::open(&dir.path().join("agg.redb")).expect("store"),
        srs: Arc::new(srs),
        spares: 1,
        replicas: 1,
        round_timeout: Duration::from_secs(30),
        reconnect_grace: Duration::from_secs(2),
        spare_wait: Duration::from_millis(500),
        tuning: tuning.clone(),
        max_bulk: 1 << 28,
    };
    let node = AggregatorNode::bind(settings).expect("bind");
    let addr = node.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let agg = tokio::spawn(async move {
        let mut rx = stop_rx.clone();
        node.run(async move {
            let _ = rx.changed().await;
        })
        .await
    });
    let peer = |identity: WorkerIdentity| PeerSettings {
        aggregator: addr,
        fingerprint: creds.fingerprint(),
        identity,
        tuning: tuning.clone(),
        retry: Duration::from_millis(200),
    };
    let mut handles = Vec::new();
    for w in &workers {
        let node = WorkerNode::new(peer(w.clone()), 1 << 28);
        let mut rx = stop_tx.subscribe();
        handles.push(tokio::spawn(async move {
            node.run(async move {
                let _ = rx.changed().await;
            })
            .await
        }));
    }
    let circuit = CircuitRef {
        kind: BuiltinCircuit::Random,
        shape,
        seed: 7,
    };
    let sub = submission(circuit);
    let (_, outcome) = submit_job(&peer(client), &sub, Duration::from_secs(120), |_| {})
        .await
        .expect("submit");
    let JobOutcome::Proved {
        proof,
        vk,
        public_inputs,
        stats,
    } = outcome
    else {
        panic!("job failed: {outcome:?}");
    };
    let vk = VerifyingKey::from_bytes(&vk).expect("vk");
    let proof = Proof::from_bytes(&proof).expect("proof");
    verify(&vk, &public_inputs, &proof).expect("the proof verifies");
    assert_eq!(public_inputs, sub.public_inputs);
    assert_eq!(stats.traffic.len(), 5);
    assert!(
        stats
            .traffic
            .iter()
            .take(4)
            .all(|t| t.sent > 0 && t.inputs > 0)
    );
    let _ = stop_tx.send(true);
    agg.await.expect("join").expect("aggregator");
    for h in handles {
        h.await.expect("join").expect("worker");
    }
}
