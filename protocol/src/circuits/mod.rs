//! Built-in circuits for demos, tests and benchmarks, and [`CircuitRef`], the short
//! reference by which a job names one of them over the network.

pub mod mimc;
pub mod random;
pub mod rollup;

use crate::circuit::{Circuit, Witness};
use crate::compiled::{CompiledCircuit, CompiledError};
use crate::error::ProtocolError;
use crate::layout::Shape;
use tutti_crypto::encoding::Reader;

/// Which built-in circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinCircuit {
    /// Additions and multiplications with copy constraints across shards (the gates
    /// depend on the seed).
    Random,
    /// Batches of MiMC-hashed transfers, state wired from shard to shard.
    Rollup,
}

impl BuiltinCircuit {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinCircuit::Random => "random",
            BuiltinCircuit::Rollup => "rollup",
        }
    }
}

/// A built-in circuit of a given shape and seed: enough for an aggregator to rebuild the
/// circuit (and preprocess it) and for a client to compute a witness. Encoding (13 + 4
/// bytes): kind u8 (1 random, 2 rollup), M u32 BE, T u32 BE, seed u64 BE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CircuitRef {
    /// Which circuit.
    pub kind: BuiltinCircuit,
    /// M and T.
    pub shape: Shape,
    /// The seed of its gates (random) and witness.
    pub seed: u64,
}

/// Bytes of an encoded [`CircuitRef`].
pub const CIRCUIT_REF_BYTES: usize = 17;

impl CircuitRef {
    /// Builds the circuit and its witness, with a one-line description.
    pub fn build(&self) -> Result<(Circuit, Witness, String), ProtocolError> {
        let shape = self.shape;
        Ok(match self.kind {
            BuiltinCircuit::Random => {
                let (c, w) = random::random_circuit(shape.shards * shape.usable_rows(), self.seed);
                let d = format!("random circuit, {} gates", c.gates.len());
                (c, w, d)
            }
            BuiltinCircuit::Rollup => {
                let (c, w, stats) = rollup::rollup_circuit(shape, self.seed)?;
                let d = format!(
                    "rollup circuit, {} MiMC-hashed transfers ({} per shard), {} gates",
                    stats.transfers,
                    stats.transfers_per_shard,
                    c.gates.len()
                );
                (c, w, d)
            }
        })
    }

    /// The compiled circuit this reference generates, its witness and a description:
    /// a built-in circuit takes the same path as an imported one from here on.
    pub fn compile(&self) -> Result<(CompiledCircuit, Witness, String), CompiledError> {
        let (circuit, witness, description) = self.build()?;
        Ok((
            CompiledCircuit::from_gates(circuit, self.shape)?,
            witness,
            description,
        ))
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> [u8; CIRCUIT_REF_BYTES] {
        let mut out = [0u8; CIRCUIT_REF_BYTES];
        out[0] = match self.kind {
            BuiltinCircuit::Random => 1,
            BuiltinCircuit::Rollup => 2,
        };
        out[1..5].copy_from_slice(&(self.shape.shards as u32).to_be_bytes());
        out[5..9].copy_from_slice(&(self.shape.shard_gates as u32).to_be_bytes());
        out[9..17].copy_from_slice(&self.seed.to_be_bytes());
        out
    }

    /// Reads a reference from `r`, rejecting unknown kinds and invalid shapes.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        let kind = match r.u8()? {
            1 => BuiltinCircuit::Random,
            2 => BuiltinCircuit::Rollup,
            k => {
                return Err(ProtocolError::InvalidCircuit(format!(
                    "unknown built-in circuit kind {k} (1 random, 2 rollup)"
                )));
            }
        };
        let shards = r.u32()? as usize;
        let gates = r.u32()? as usize;
        let shape = Shape::new(shards, gates)?;
        let seed = r.u64()?;
        Ok(CircuitRef { kind, shape, seed })
    }
}
