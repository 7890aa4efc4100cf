use thiserror::Error;
use tutti_crypto::CryptoError;

/// Every error of the protocol crate.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A cryptographic operation or decoding failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Shard count or shard size is not acceptable.
    #[error("invalid shape: {0}")]
    InvalidShape(String),
    /// The circuit itself is malformed.
    #[error("invalid circuit: {0}")]
    InvalidCircuit(String),
    /// The circuit does not fit in the shards.
    #[error(
        "circuit of {gates} gates does not fit in {shards} shards of {shard_gates} rows (the last row of each shard is reserved); use more or larger shards"
    )]
    CircuitTooLarge {
        /// Gates in the circuit.
        gates: usize,
        /// Shards available.
        shards: usize,
        /// Rows per shard.
        shard_gates: usize,
    },
    /// The witness does not satisfy a gate.
    #[error("witness breaks the gate at shard {shard}, row {row}")]
    GateUnsatisfied {
        /// Shard index.
        shard: usize,
        /// Row within the shard.
        row: usize,
    },
    /// The witness breaks a copy constraint.
    #[error(
        "witness breaks a copy constraint: shard {shard} row {row} wire {wire} differs from shard {other_shard} row {other_row} wire {other_wire}"
    )]
    CopyConstraintBroken {
        /// Shard of the first slot.
        shard: usize,
        /// Row of the first slot.
        row: usize,
        /// Wire (0 = a, 1 = b, 2 = c) of the first slot.
        wire: usize,
        /// Shard of the slot it is wired to.
        other_shard: usize,
        /// Row of the slot it is wired to.
        other_row: usize,
        /// Wire of the slot it is wired to.
        other_wire: usize,
    },
    /// A shard's running product disagrees with the scalars the aggregator sent.
    #[error(
        "shard {shard}: the running product does not link to the next shard (W[i]·P_i ≠ W[i+1]) at row {row}; the witness breaks a copy constraint across shards"
    )]
    LinkBroken {
        /// Shard index.
        shard: usize,
        /// The reserved row where the link is checked.
        row: usize,
    },
    /// The product of all shards' running products is not one.
    #[error(
        "the global copy product Π P_i is not 1: the witness breaks a copy constraint across shards"
    )]
    GlobalProductMismatch,
    /// The wrong number of public inputs was given.
    #[error("expected {expected} public inputs, got {got}")]
    PublicInputCount {
        /// Inputs the circuit declares.
        expected: usize,
        /// Inputs given.
        got: usize,
    },
    /// A message arrived that does not fit the current state.
    #[error("unexpected message: {0}")]
    UnexpectedMessage(String),
    /// A worker's message failed a check.
    #[error("shard {shard}: {reason}")]
    ShareRejected {
        /// Shard index.
        shard: usize,
        /// Which check failed.
        reason: String,
    },
    /// Keys, statement or proof do not belong together.
    #[error("mismatch: {0}")]
    Mismatch(String),
    /// The assembled proof did not verify, so it was not emitted as a result. The
    /// rejected bytes are kept for forensics (they are not a valid proof).
    #[error("the assembled proof failed verification ({reason}); nothing was emitted")]
    ProofRejected {
        /// Why verification failed.
        reason: String,
        /// The encoding of the rejected proof, for diagnosis.
        rejected: Vec<u8>,
    },
    /// Too few workers remain to hold every shard.
    #[error(
        "not enough workers: {needed} were needed (shards plus replaced workers) but only {available} were available; add spares"
    )]
    NotEnoughWorkers {
        /// Workers needed so far.
        needed: usize,
        /// Workers on the job's list.
        available: usize,
    },
    /// The replicas of a shard disagree and no spare is left to arbitrate.
    #[error(
        "the replicas of shard {shard} disagree in round {round} and no spare is left to arbitrate; add spares"
    )]
    ReplicasDisagree {
        /// The shard.
        shard: usize,
        /// The round.
        round: u8,
    },
    /// A verifying key that decodes but is not well formed (a degenerate G2 part, a zero
    /// label offset, repeated public positions, per-shard data that does not add up): a
    /// verifier with such a key could accept garbage, so it is refused before use.
    #[error(
        "malformed verifying key: {0}; obtain the key from preprocessing with a well-formed SRS"
    )]
    MalformedVerifyingKey(String),
    /// A blame certificate does not prove what it claims.
    #[error("invalid blame certificate: {0}")]
    InvalidCertificate(String),
    /// The proof does not verify.
    #[error("invalid proof: {0}")]
    InvalidProof(String),
    /// A worker refused to continue because its inputs are inconsistent.
    #[error("shard {shard} refused: {reason}")]
    Refused {
        /// Shard index.
        shard: usize,
        /// Why.
        reason: crate::messages::RefusalReason,
    },
    /// A proof or key has an unknown format version.
    #[error("unsupported {what} version {version}; this build reads version {supported}")]
    UnsupportedVersion {
        /// What was decoded.
        what: &'static str,
        /// The version found.
        version: u8,
        /// The version supported.
        supported: u8,
    },
}
