//! The compiled circuit: one artifact for every circuit tutti proves.
//!
//! A [`CompiledCircuit`] is a circuit fixed to a shape (M shards of T rows) and
//! identified by a digest. It comes from a circom `.r1cs` (or any R1CS, such as the one
//! the arkworks frontend builds), converted to tutti gates by [`crate::import::plonk`],
//! or from a gate-level circuit (the built-in circuits generate it with
//! [`crate::circuits::CircuitRef::compile`]). Whoever holds it can cut a witness into
//! shards, preprocess the circuit against an SRS (the verifying key and every shard's
//! proving key follow from the artifact and the SRS alone) and check a statement's
//! length; for an R1CS artifact it also turns a circom witness (`.wtns`) into the gate
//! witness, checking every constraint first.
//!
//! The encoding ([`CompiledCircuit::to_bytes`], spec/circuit.md §8) is canonical: a
//! decoder accepts exactly the bytes the encoder writes, so the digest (Keccak-256 of
//! the bytes) names one circuit and one shape. The digest does not depend on the SRS:
//! the verifying key binds the circuit to an SRS, the digest names the circuit.

mod encoding;

use crate::circuit::{Circuit, Witness};
use crate::error::ProtocolError;
use crate::import::ImportError;
use crate::import::circom::{self, R1cs};
use crate::import::plonk::{ConversionStats, ConvertOptions, Converted, convert_with};
use crate::layout::{Shape, ShardedCircuit};
use thiserror::Error;
use tutti_crypto::Fr;
use tutti_crypto::transcript::keccak256;

pub use encoding::{COMPILED_MAGIC, COMPILED_VERSION};

/// Why a circuit could not be compiled, or a compiled artifact could not be read or used.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CompiledError {
    /// The bytes are not a compiled circuit this version of tutti reads.
    #[error("not a valid compiled circuit: {0} (make it again with `tutti compile`)")]
    Format(String),
    /// The artifact's format version is not this one.
    #[error(
        "compiled circuit format version {found} is not supported (this tutti reads version {supported}); compile the circuit again with this tutti"
    )]
    UnsupportedVersion {
        /// The version found.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// The constraint system or a witness could not be imported.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The shape is invalid, or the circuit does not fit it.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// A circom witness was given for a circuit that was not compiled from an R1CS.
    #[error(
        "this circuit was compiled from gates ({0}), not from an R1CS: it takes no .wtns or circom input"
    )]
    NotR1cs(String),
}

/// What the circuit was compiled from.
#[derive(Clone, Debug)]
enum Body {
    /// A gate-level circuit (the built-in generators, [`crate::circuit::CircuitBuilder`]).
    Gates(Circuit),
    /// An R1CS and the options it was converted with; the conversion is recomputed
    /// (deterministically) on decoding.
    R1cs {
        converted: Box<Converted>,
        options: ConvertOptions,
    },
}

/// A circuit fixed to a shape, identified by its digest: see the module documentation.
#[derive(Clone, Debug)]
pub struct CompiledCircuit {
    body: Body,
    sharded: ShardedCircuit,
    digest: [u8; 32],
    encoded_len: usize,
}

/// The smallest T (a power of two, at least 16) such that `rows` rows fit in `shards`
/// shards of T rows, the last row of each reserved: `rows ≤ shards·(T − 1)`.
pub fn fitting_shard_gates(rows: usize, shards: usize) -> Result<usize, ProtocolError> {
    // Validates M (and an arbitrary T) first, so the errors name the shard count.
    Shape::new(shards, 16)?;
    let per_shard = rows.div_ceil(shards).saturating_add(1);
    let t = per_shard.max(16).checked_next_power_of_two().unwrap_or(0);
    if t == 0 || t > 1 << 24 {
        return Err(ProtocolError::CircuitTooLarge {
            gates: rows,
            shards,
            shard_gates: 1 << 24,
        });
    }
    Ok(t)
}

impl CompiledCircuit {
    /// Compiles an R1CS: converts it to gates with `options` and places the rows in
    /// `shards` shards of `shard_gates` rows, or of the smallest T that fits when
    /// `shard_gates` is `None`.
    pub fn from_r1cs(
        r1cs: &R1cs,
        options: ConvertOptions,
        shards: usize,
        shard_gates: Option<usize>,
    ) -> Result<Self, CompiledError> {
        let converted = convert_with(r1cs, options)?;
        let rows = converted.circuit().gates.len();
        let t = match shard_gates {
            Some(t) => t,
            None => fitting_shard_gates(rows, shards)?,
        };
        let shape = Shape::new(shards, t)?;
        Self::assemble(
            Body::R1cs {
                converted: Box::new(converted),
                options,
            },
            shape,
        )
    }

    /// Compiles a gate-level circuit into `shape`.
    pub fn from_gates(circuit: Circuit, shape: Shape) -> Result<Self, CompiledError> {
        Self::assemble(Body::Gates(circuit), shape)
    }

    fn assemble(body: Body, shape: Shape) -> Result<Self, CompiledError> {
        let circuit = match &body {
            Body::Gates(c) => c,
            Body::R1cs { converted, .. } => converted.circuit(),
        };
        let sharded = ShardedCircuit::new(circuit, shape)?;
        let mut compiled = CompiledCircuit {
            body,
            sharded,
            digest: [0; 32],
            encoded_len: 0,
        };
        let bytes = compiled.to_bytes();
        compiled.digest = keccak256(&bytes);
        compiled.encoded_len = bytes.len();
        Ok(compiled)
    }

    /// Decodes an artifact written by [`CompiledCircuit::to_bytes`], checking every
    /// count against the bytes before allocating, every variable against the circuit,
    /// the constraint system as [`R1cs::from_bytes`] does, that the circuit fits its
    /// shape, and that the bytes are the canonical encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CompiledError> {
        let (shape, body) = encoding::decode(bytes)?;
        let compiled = Self::assemble(body, shape)?;
        if compiled.encoded_len != bytes.len() || compiled.to_bytes() != bytes {
            return Err(CompiledError::Format(
                "the bytes are not the canonical encoding of the circuit they describe".into(),
            ));
        }
        Ok(compiled)
    }

    /// The shape an encoded artifact claims, read from its header alone (magic, version
    /// and a valid shape checked, nothing else): lets a decoder weigh the shape against
    /// what comes with it before it decodes the body and lays out M·T rows.
    pub fn peek_shape(bytes: &[u8]) -> Result<Shape, CompiledError> {
        encoding::decode_header(bytes)
    }

    /// The canonical encoding (spec/circuit.md §8).
    pub fn to_bytes(&self) -> Vec<u8> {
        encoding::encode(self.shape(), &self.body)
    }

    /// Keccak-256 of the encoding: the circuit's name in logs, files and over the network.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// Bytes of the encoding.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }

    /// M and T.
    pub fn shape(&self) -> Shape {
        self.sharded.shape
    }

    /// The gate-level circuit (for an R1CS, the converted one).
    pub fn circuit(&self) -> &Circuit {
        match &self.body {
            Body::Gates(c) => c,
            Body::R1cs { converted, .. } => converted.circuit(),
        }
    }

    /// The circuit placed in its shards, with its copy permutation.
    pub fn sharded(&self) -> &ShardedCircuit {
        &self.sharded
    }

    /// Rows the circuit uses (gates, public-input rows included; no padding).
    pub fn rows(&self) -> usize {
        self.circuit().gates.len()
    }

    /// Length of the statement: the number of public inputs.
    pub fn public_inputs(&self) -> usize {
        self.sharded.public_positions.len()
    }

    /// The R1CS it was compiled from, if any.
    pub fn r1cs(&self) -> Option<&R1cs> {
        match &self.body {
            Body::Gates(_) => None,
            Body::R1cs { converted, .. } => Some(converted.r1cs()),
        }
    }

    /// The conversion of its R1CS, if any: row counts, snarkjs's count, the witness plan.
    pub fn conversion(&self) -> Option<&Converted> {
        match &self.body {
            Body::Gates(_) => None,
            Body::R1cs { converted, .. } => Some(converted),
        }
    }

    /// Row statistics of the R1CS conversion, if any.
    pub fn conversion_stats(&self) -> Option<ConversionStats> {
        self.conversion().map(Converted::stats)
    }

    /// One line for people: where the circuit came from and its size.
    pub fn describe(&self) -> String {
        let s = self.shape();
        match &self.body {
            Body::Gates(c) => format!(
                "gate circuit, {} rows in {} shards of {}",
                c.gates.len(),
                s.shards,
                s.shard_gates
            ),
            Body::R1cs { converted, .. } => format!(
                "R1CS circuit, {} constraints as {} rows in {} shards of {}",
                converted.r1cs().constraints.len(),
                converted.circuit().gates.len(),
                s.shards,
                s.shard_gates
            ),
        }
    }

    /// The gate witness and the statement for a circom witness (as read from a `.wtns`
    /// or computed from circom's WebAssembly), after checking its length, its constant
    /// wire and every constraint ([`ImportError::Unsatisfied`] names the first that
    /// fails). The statement is circom's: outputs, then public inputs.
    pub fn witness_from_circom(
        &self,
        witness: &circom::Witness,
    ) -> Result<(Witness, Vec<Fr>), CompiledError> {
        match &self.body {
            Body::Gates(_) => Err(CompiledError::NotR1cs(self.describe())),
            Body::R1cs { converted, .. } => Ok(converted.witness(witness)?),
        }
    }
}
