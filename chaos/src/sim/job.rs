//! The jobs scenarios prove: one random circuit per shape, preprocessed once and shared
//! by every scenario of that shape (each scenario draws its own job secret).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tutti_crypto::Fr;
use tutti_crypto::srs::InMemorySrs;
use tutti_protocol::ProtocolError;
use tutti_protocol::circuits::random::random_circuit;
use tutti_protocol::keys::{Preprocessed, ShardProvingKey, preprocess};
use tutti_protocol::layout::{Shape, ShardWitness, ShardedCircuit};

/// A preprocessed job.
pub struct SimJob {
    /// Keys.
    pub pre: Preprocessed,
    /// Proving keys, shared.
    pub keys: Vec<Arc<ShardProvingKey>>,
    /// Each shard's witness.
    pub witnesses: Vec<ShardWitness>,
    /// The statement.
    pub public_inputs: Vec<Fr>,
}

/// Jobs by (shards, rows).
type Jobs = BTreeMap<(usize, usize), Arc<SimJob>>;

/// Jobs by shape, built on first use.
#[derive(Default, Clone)]
pub struct JobCache {
    jobs: Arc<Mutex<Jobs>>,
}

impl JobCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The job of M shards of T rows.
    pub fn get(&self, shards: usize, rows: usize) -> Result<Arc<SimJob>, ProtocolError> {
        if let Some(j) = self
            .jobs
            .lock()
            .ok()
            .and_then(|m| m.get(&(shards, rows)).cloned())
        {
            return Ok(j);
        }
        let shape = Shape::new(shards, rows)?;
        let (circuit, witness) = random_circuit(shards * (rows - 1), 1000 + shards as u64);
        let sharded = ShardedCircuit::new(&circuit, shape)?;
        let srs = InMemorySrs::insecure_from_seed(shards, rows, b"tutti-chaos")?;
        let pre = preprocess(&sharded, &srs)?;
        let job = Arc::new(SimJob {
            keys: pre.proving_keys.iter().cloned().map(Arc::new).collect(),
            witnesses: sharded.shard_witnesses(&witness),
            public_inputs: witness.public_inputs(&circuit),
            pre,
        });
        if let Ok(mut m) = self.jobs.lock() {
            m.insert((shards, rows), job.clone());
        }
        Ok(job)
    }
}
