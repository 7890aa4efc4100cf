//! Circuits the aggregator has preprocessed, cached by reference, and the checks a
//! submission passes before it becomes a job.

use crate::circuit_spec::{CircuitKey, CircuitSpec};
use crate::error::TransportError;
use crate::wire::Submission;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tutti_crypto::srs::RowSource;
use tutti_protocol::compiled::CompiledCircuit;
use tutti_protocol::keys::{AggregatorKey, Preprocessed, ShardProvingKey, preprocess};

/// Most preprocessed circuits kept at once.
pub const CACHED_CIRCUITS: usize = 8;

/// A preprocessed circuit.
pub struct Prepared {
    /// The circuit (its layout checks witnesses).
    pub circuit: Arc<CompiledCircuit>,
    /// The aggregator's key.
    pub aggregator: Arc<AggregatorKey>,
    /// Each shard's proving key.
    pub keys: Vec<Arc<ShardProvingKey>>,
    /// The encoded verifying key.
    pub vk_bytes: Vec<u8>,
}

/// Preprocessed circuits by reference (blocking work: call from a blocking thread).
#[derive(Clone)]
pub struct Catalog {
    srs: Arc<dyn RowSource + Send + Sync>,
    cache: Arc<Mutex<HashMap<CircuitKey, Arc<Prepared>>>>,
}

impl Catalog {
    /// A catalog over an SRS.
    pub fn new(srs: Arc<dyn RowSource + Send + Sync>) -> Self {
        Catalog {
            srs,
            cache: Arc::default(),
        }
    }

    /// The preprocessed circuit, built on first use (a built-in circuit is generated,
    /// a compiled one was decoded and checked with the submission).
    pub fn prepare(&self, circuit: &CircuitSpec) -> Result<Arc<Prepared>, TransportError> {
        let key = circuit.key();
        if let Some(p) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(p);
        }
        let shape = circuit.shape();
        let header = self.srs.header();
        if header.shards != shape.shards || header.shard_gates < shape.shard_gates {
            return Err(TransportError::Job(format!(
                "this aggregator's SRS is for {} shards of up to {} rows; the job needs {} shards of {} rows",
                header.shards, header.shard_gates, shape.shards, shape.shard_gates
            )));
        }
        let compiled = circuit.compile()?;
        tracing::info!("preprocessing {}", circuit.describe());
        let Preprocessed {
            aggregator,
            proving_keys,
        } = preprocess(compiled.sharded(), self.srs.as_ref())?;
        let prepared = Arc::new(Prepared {
            circuit: compiled.clone(),
            vk_bytes: aggregator.vk.to_bytes(),
            aggregator: Arc::new(aggregator),
            keys: proving_keys.into_iter().map(Arc::new).collect(),
        });
        if let Ok(mut c) = self.cache.lock() {
            // A bounded cache: a client cannot make the aggregator keep every circuit
            // it ever asked for.
            if c.len() >= CACHED_CIRCUITS {
                c.clear();
            }
            c.insert(key, prepared.clone());
        }
        Ok(prepared)
    }

    /// Preprocesses the submission's circuit and checks its witness and statement, so a
    /// bad job is refused with the broken gate or copy named before any worker is asked.
    pub fn admit(&self, s: &Submission) -> Result<Arc<Prepared>, TransportError> {
        let prepared = self.prepare(&s.circuit)?;
        prepared
            .circuit
            .sharded()
            .check_witness(&s.witnesses, &s.public_inputs)
            .map_err(|e| {
                TransportError::Job(format!("the witness does not satisfy the circuit: {e}"))
            })?;
        Ok(prepared)
    }
}
