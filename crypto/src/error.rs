use thiserror::Error;

/// Every error the crypto layer can return. Messages say what was wrong and, where it
/// helps, what to do about it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// Input ended before a complete value could be read.
    #[error("truncated input: needed {needed} more bytes while reading {what}")]
    Truncated {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes were missing.
        needed: usize,
    },
    /// A field element was not the canonical encoding of a value below the modulus.
    #[error(
        "non-canonical field element in {what}: value is not reduced below the BN254 scalar modulus"
    )]
    NonCanonicalScalar {
        /// What was being decoded.
        what: &'static str,
    },
    /// A point failed decoding: not on the curve, not in the subgroup, or not canonical.
    #[error("invalid curve point in {what}: {reason}")]
    InvalidPoint {
        /// What was being decoded.
        what: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// Bytes were left over after a complete value was decoded.
    #[error("{count} trailing bytes after {what}")]
    TrailingBytes {
        /// What was decoded.
        what: &'static str,
        /// How many bytes were left.
        count: usize,
    },
    /// A length or count field is out of the accepted range.
    #[error("bad size in {what}: {detail}")]
    BadSize {
        /// What was being decoded or built.
        what: &'static str,
        /// The offending size and the accepted range.
        detail: String,
    },
    /// A polynomial has more coefficients than the SRS row or Y part can commit to.
    #[error(
        "polynomial of {coeffs} coefficients exceeds the {available} SRS bases available; use an SRS made for larger shards"
    )]
    PolynomialTooLarge {
        /// Number of coefficients of the polynomial.
        coeffs: usize,
        /// Number of bases available.
        available: usize,
    },
    /// No radix-2 domain of that size exists over BN254's scalar field.
    #[error("no evaluation domain of size {0}: sizes must be powers of two up to 2^28")]
    NoDomain(usize),
    /// A parameter is not a power of two or is out of range.
    #[error("invalid parameter {name} = {value}: {expected}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: u64,
        /// What is accepted.
        expected: &'static str,
    },
    /// The SRS file is not a tutti SRS file, is of an unknown version, or is corrupted.
    #[error("SRS file {path}: {reason}")]
    SrsFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// SRS or verifying-key material whose structure is wrong: a G2 part that is not the
    /// standard generator with two distinct non-trivial trapdoors, Y powers that are not
    /// successive powers, or Lagrange bases that are not derived from them.
    #[error("malformed setup material: {0}")]
    MalformedSetup(String),
    /// A worker row of the SRS is not `[R_i(τ_Y)·τ_X^j]₁` for the verifying key's
    /// `[R_i(τ_Y)]₁` and `[τ_X]₂`: it was not made with the same trapdoors.
    #[error(
        "SRS row {shard} is inconsistent with the verifying key: {reason}; it was not made from the same setup (a corrupted or tampered SRS file, or a tampered assignment)"
    )]
    InconsistentRow {
        /// The shard whose row failed.
        shard: usize,
        /// Which part of the check failed.
        reason: &'static str,
    },
    /// The SRS does not fit the requested sizes.
    #[error("SRS mismatch: {0}")]
    SrsMismatch(String),
    /// An I/O error while reading or writing an SRS file.
    #[error("I/O error on {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// An evaluation point lies in an evaluation domain where a closed form is undefined.
    #[error("evaluation point lies in the evaluation domain")]
    PointInDomain,
    /// Erasure-coding parameters are out of range (see [`crate::erasure::ErasureParams`]).
    #[error("invalid erasure parameters ({data} data + {parity} parity fragments): {reason}")]
    InvalidErasureParams {
        /// Data fragments k requested.
        data: usize,
        /// Parity fragments m requested.
        parity: usize,
        /// What is accepted.
        reason: &'static str,
    },
    /// Fragments did not match the digests recorded when the data was coded: whoever
    /// supplied them sent corrupted (or forged) fragments.
    #[error(
        "erasure fragments {indices:?} do not match their recorded digests; their holders supplied corrupted fragments"
    )]
    CorruptFragments {
        /// Indices of the fragments that failed their digest check (sorted, unique).
        indices: Vec<u16>,
    },
    /// Fewer good fragments than data fragments were available, so the data cannot be
    /// rebuilt.
    #[error(
        "cannot rebuild erasure-coded data: {good} good fragments available but {needed} are needed (corrupted fragments excluded: {corrupted:?}); fetch more fragments from other holders"
    )]
    NotEnoughFragments {
        /// Distinct fragments that passed their digest check.
        good: usize,
        /// Fragments needed (the number of data fragments k).
        needed: usize,
        /// Indices of fragments that were excluded because they failed their digest check.
        corrupted: Vec<u16>,
    },
    /// The digests, parameters and original length given to reconstruction do not
    /// belong together (they were not recorded by one encoding).
    #[error(
        "inconsistent erasure layout: {0}; pass the parameters, digests and length recorded when the data was coded"
    )]
    ErasureLayout(String),
}

impl CryptoError {
    pub(crate) fn io(path: &std::path::Path, e: std::io::Error) -> Self {
        CryptoError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}
