//! How a submission names its circuit: a built-in circuit by its 17-byte reference, or
//! a compiled circuit (`tutti compile`) carried whole. Either way the aggregator ends up
//! with the same [`CompiledCircuit`] and preprocesses it the same way.

use crate::error::TransportError;
use std::sync::Arc;
use tutti_crypto::encoding::Reader;
use tutti_protocol::circuits::{CIRCUIT_REF_BYTES, CircuitRef};
use tutti_protocol::compiled::CompiledCircuit;
use tutti_protocol::layout::Shape;

/// The tag of a compiled circuit in a submission (1 and 2 are the built-in kinds of a
/// [`CircuitRef`]).
const TAG_COMPILED: u8 = 3;

/// The circuit of a job.
#[derive(Clone, Debug)]
pub enum CircuitSpec {
    /// A built-in circuit; the aggregator generates it ([`CircuitRef::compile`]).
    Builtin(CircuitRef),
    /// A compiled circuit, with its encoding (kept so that re-encoding is a copy).
    Compiled {
        /// The circuit.
        circuit: Arc<CompiledCircuit>,
        /// Its canonical encoding.
        bytes: Arc<Vec<u8>>,
    },
}

impl PartialEq for CircuitSpec {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (CircuitSpec::Builtin(a), CircuitSpec::Builtin(b)) => a == b,
            (CircuitSpec::Compiled { bytes: a, .. }, CircuitSpec::Compiled { bytes: b, .. }) => {
                a == b
            }
            _ => false,
        }
    }
}

impl Eq for CircuitSpec {}

/// What a catalog caches a preprocessed circuit under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CircuitKey {
    /// A built-in circuit's reference.
    Builtin(CircuitRef),
    /// A compiled circuit's digest.
    Digest([u8; 32]),
}

impl From<CircuitRef> for CircuitSpec {
    fn from(r: CircuitRef) -> Self {
        CircuitSpec::Builtin(r)
    }
}

impl CircuitSpec {
    /// A compiled circuit.
    pub fn compiled(circuit: CompiledCircuit) -> Self {
        let bytes = Arc::new(circuit.to_bytes());
        CircuitSpec::Compiled {
            circuit: Arc::new(circuit),
            bytes,
        }
    }

    /// M and T.
    pub fn shape(&self) -> Shape {
        match self {
            CircuitSpec::Builtin(r) => r.shape,
            CircuitSpec::Compiled { circuit, .. } => circuit.shape(),
        }
    }

    /// The cache key.
    pub fn key(&self) -> CircuitKey {
        match self {
            CircuitSpec::Builtin(r) => CircuitKey::Builtin(*r),
            CircuitSpec::Compiled { circuit, .. } => CircuitKey::Digest(circuit.digest()),
        }
    }

    /// One line for logs.
    pub fn describe(&self) -> String {
        match self {
            CircuitSpec::Builtin(r) => format!("built-in {} circuit", r.kind.name()),
            CircuitSpec::Compiled { circuit, .. } => format!(
                "{} (digest {})",
                circuit.describe(),
                crate::aggregator::hex(&circuit.digest())
            ),
        }
    }

    /// The compiled circuit (generated for a built-in one).
    pub fn compile(&self) -> Result<Arc<CompiledCircuit>, TransportError> {
        match self {
            CircuitSpec::Builtin(r) => {
                let (c, _, description) = r
                    .compile()
                    .map_err(|e| TransportError::Job(e.to_string()))?;
                tracing::debug!("generated {description}");
                Ok(Arc::new(c))
            }
            CircuitSpec::Compiled { circuit, .. } => Ok(circuit.clone()),
        }
    }

    /// Appends the encoding: a [`CircuitRef`] (17 bytes, tag 1 or 2), or tag 3, the
    /// artifact's length u32 and the artifact.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            CircuitSpec::Builtin(r) => out.extend_from_slice(&r.to_bytes()),
            CircuitSpec::Compiled { bytes, .. } => {
                out.push(TAG_COMPILED);
                out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }

    /// Reads a spec, decoding (and so checking) a compiled circuit in full. With
    /// `witness_follows`, a compiled circuit's claimed shape is first weighed against the
    /// bytes after it (a witness of 3·M·T scalars must follow), so a small artifact
    /// claiming a huge shape is refused before its M·T rows are laid out.
    pub fn read(r: &mut Reader<'_>, witness_follows: bool) -> Result<Self, TransportError> {
        let what = "submission circuit";
        let tag = r
            .take(1)
            .map_err(|e| crate::wire::err(what, e))?
            .first()
            .copied()
            .unwrap_or_default();
        if tag != TAG_COMPILED {
            let rest = r
                .take(CIRCUIT_REF_BYTES - 1)
                .map_err(|e| crate::wire::err(what, e))?;
            let mut bytes = vec![tag];
            bytes.extend_from_slice(rest);
            let circuit = CircuitRef::read(&mut Reader::new(&bytes, what))?;
            return Ok(CircuitSpec::Builtin(circuit));
        }
        let len = r.u32().map_err(|e| crate::wire::err(what, e))? as usize;
        let bytes = r.take(len).map_err(|e| crate::wire::err(what, e))?;
        let shape = CompiledCircuit::peek_shape(bytes)
            .map_err(|e| TransportError::Frame(format!("{what}: {e}")))?;
        let witness_bytes = (shape.shards as u64)
            .saturating_mul(shape.shard_gates as u64)
            .saturating_mul(96);
        if witness_follows && witness_bytes > r.remaining() as u64 {
            return Err(TransportError::Frame(format!(
                "{what}: a compiled circuit of {} shards of {} rows needs a witness of {witness_bytes} bytes, but only {} follow",
                shape.shards,
                shape.shard_gates,
                r.remaining()
            )));
        }
        let circuit = CompiledCircuit::from_bytes(bytes)
            .map_err(|e| TransportError::Frame(format!("{what}: {e}")))?;
        Ok(CircuitSpec::Compiled {
            circuit: Arc::new(circuit),
            bytes: Arc::new(bytes.to_vec()),
        })
    }
}
