//! A shard assignment: everything a worker on another machine needs to prove one shard,
//! as one canonical byte string. It carries the shard's fixed polynomials as values on
//! H_X (the worker interpolates and commits them itself), its SRS row, the statement, the
//! shard's private inputs ([`ShardSecrets`]) and the job it belongs to. Encoding,
//! version 1:
//!
//! ```text
//! version      u8 = 1
//! job id       32 bytes
//! shard        u32 BE
//! shards M     u32 BE (a power of two)
//! rows T       u32 BE (a power of two, 16 to 2^24)
//! δ            scalar (32 bytes LE, canonical)
//! fixed        8·T scalars: q_L, q_R, q_O, q_M, q_C, σ_0, σ_1, σ_2, each rows 0..T
//! public rows  u32 BE count p, then p × (row u32 BE, statement index u32 BE)
//! SRS row      T+4 compressed G1 points (32 bytes each)
//! statement    u32 BE count n, then n scalars
//! secrets      the ShardSecrets encoding (version 1) of exactly 3·T scalars and a key
//! ```
//!
//! Decoding checks every size against the header before it allocates, rejects
//! non-canonical scalars and points off the curve, and trailing bytes.

use crate::envelope::JobId;
use crate::error::ProtocolError;
use crate::inputs::{MAX_ROWS, MIN_ROWS, ShardSecrets};
use crate::keys::{FIXED_POLYS, ShardProvingKey, shard_key_from_values};
use crate::layout::Shape;
use crate::worker::ShardInputs;
use std::sync::Arc;
use tutti_crypto::Fr;
use tutti_crypto::encoding::{G1_BYTES, Reader, SCALAR_BYTES, put_g1, put_scalar};
use tutti_crypto::srs::{WorkerRow, row_len};

/// Version byte of the encoding.
pub const ASSIGNMENT_VERSION: u8 = 1;
/// Most public inputs an assignment may carry.
pub const MAX_PUBLIC_INPUTS: usize = 1 << 16;
const WHAT: &str = "shard assignment";

/// One shard of one job, as handed to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardAssignment {
    /// The job.
    pub job_id: JobId,
    /// The shard.
    pub shard: usize,
    /// M and T.
    pub shape: Shape,
    /// The label offset δ.
    pub delta: Fr,
    /// The fixed polynomials' values on H_X.
    pub fixed_values: [Vec<Fr>; FIXED_POLYS],
    /// Public-input rows: (row, index into the statement).
    pub public_rows: Vec<(usize, usize)>,
    /// The shard's SRS row.
    pub row: WorkerRow,
    /// The statement.
    pub public_inputs: Vec<Fr>,
    /// The shard's witness and shard key.
    pub secrets: ShardSecrets,
}

impl ShardAssignment {
    /// The assignment of shard `key.shard` of a job.
    pub fn new(
        job_id: JobId,
        key: &ShardProvingKey,
        public_inputs: Vec<Fr>,
        secrets: ShardSecrets,
    ) -> Self {
        ShardAssignment {
            job_id,
            shard: key.shard,
            shape: key.shape,
            delta: key.delta,
            fixed_values: key.fixed_values.clone(),
            public_rows: key.public_rows.clone(),
            row: key.row.clone(),
            public_inputs,
            secrets,
        }
    }

    /// Bytes of the encoding for shards of `rows` rows with `public_rows` public-input
    /// rows and `statement` public inputs.
    pub fn encoded_len(rows: usize, public_rows: usize, statement: usize) -> usize {
        1 + 32
            + 12
            + SCALAR_BYTES
            + FIXED_POLYS * rows * SCALAR_BYTES
            + 4
            + 8 * public_rows
            + row_len(rows) * G1_BYTES
            + 4
            + statement * SCALAR_BYTES
            + ShardSecrets::encoded_len(rows)
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ProtocolError> {
        let t = self.shape.shard_gates;
        let secrets = self.secrets.to_bytes()?;
        if self.secrets.rows() != t
            || self.fixed_values.iter().any(|v| v.len() != t)
            || self.row.bases.len() != row_len(t)
        {
            return Err(ProtocolError::Mismatch(format!(
                "assignment of shard {}: parts of different sizes for {t} rows",
                self.shard
            )));
        }
        let mut out = Vec::with_capacity(Self::encoded_len(
            t,
            self.public_rows.len(),
            self.public_inputs.len(),
        ));
        out.push(ASSIGNMENT_VERSION);
        out.extend_from_slice(&self.job_id);
        for v in [self.shard, self.shape.shards, t] {
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        put_scalar(&mut out, &self.delta);
        for values in &self.fixed_values {
            for v in values {
                put_scalar(&mut out, v);
            }
        }
        out.extend_from_slice(&(self.public_rows.len() as u32).to_be_bytes());
        for (row, index) in &self.public_rows {
            out.extend_from_slice(&(*row as u32).to_be_bytes());
            out.extend_from_slice(&(*index as u32).to_be_bytes());
        }
        for p in &self.row.bases {
            put_g1(&mut out, p);
        }
        out.extend_from_slice(&(self.public_inputs.len() as u32).to_be_bytes());
        for v in &self.public_inputs {
            put_scalar(&mut out, v);
        }
        out.extend_from_slice(&secrets);
        Ok(out)
    }

    /// Decodes an assignment, rejecting anything malformed with a typed error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != ASSIGNMENT_VERSION {
            return Err(ProtocolError::UnsupportedVersion {
                what: WHAT,
                version,
                supported: ASSIGNMENT_VERSION,
            });
        }
        let job_id = r.array::<32>()?;
        let shard = r.u32()? as usize;
        let shards = r.u32()? as usize;
        let t = r.u32()? as usize;
        if !t.is_power_of_two() || !(MIN_ROWS..=MAX_ROWS).contains(&t) {
            return Err(ProtocolError::InvalidShape(format!(
                "{WHAT}: {t} rows per shard (a power of two from {MIN_ROWS} to 2^24)"
            )));
        }
        let shape = Shape::new(shards, t)?;
        if shard >= shards {
            return Err(ProtocolError::Mismatch(format!(
                "{WHAT}: shard {shard} of a job of {shards} shards"
            )));
        }
        // Everything but the two counted lists, checked before allocating.
        let least = Self::encoded_len(t, 0, 0) - 1 - 32 - 12;
        if r.remaining() < least {
            r.take(least)?;
        }
        let delta = r.scalar()?;
        let mut fixed: Vec<Vec<Fr>> = Vec::with_capacity(FIXED_POLYS);
        for _ in 0..FIXED_POLYS {
            fixed.push(r.scalars(t)?);
        }
        let p = r.u32()? as usize;
        if p > t || r.remaining() < 8 * p {
            return Err(ProtocolError::Mismatch(format!(
                "{WHAT}: {p} public-input rows in a shard of {t} rows, or truncated"
            )));
        }
        let mut public_rows = Vec::with_capacity(p);
        for _ in 0..p {
            public_rows.push((r.u32()? as usize, r.u32()? as usize));
        }
        let bases = r.g1s(row_len(t))?;
        let n = r.u32()? as usize;
        if n > MAX_PUBLIC_INPUTS || r.remaining() < n * SCALAR_BYTES {
            return Err(ProtocolError::Mismatch(format!(
                "{WHAT}: a statement of {n} public inputs (at most {MAX_PUBLIC_INPUTS}), or truncated"
            )));
        }
        let public_inputs = r.scalars(n)?;
        if let Some((row, index)) = public_rows.iter().find(|(row, i)| *row >= t || *i >= n) {
            return Err(ProtocolError::Mismatch(format!(
                "{WHAT}: public-input row {row} points at statement index {index} of {n}"
            )));
        }
        let secrets = ShardSecrets::from_bytes(r.take(r.remaining())?)?;
        if secrets.rows() != t {
            return Err(ProtocolError::Mismatch(format!(
                "{WHAT}: secrets of {} rows for a shard of {t}",
                secrets.rows()
            )));
        }
        let mut it = fixed.into_iter();
        Ok(ShardAssignment {
            job_id,
            shard,
            shape,
            delta,
            fixed_values: std::array::from_fn(|_| it.next().unwrap_or_default()),
            public_rows,
            row: WorkerRow {
                shard,
                shards,
                bases,
            },
            public_inputs,
            secrets,
        })
    }

    /// The worker's inputs: interpolates and commits the fixed polynomials (the worker's
    /// own preprocessing of its shard).
    pub fn into_inputs(self) -> Result<ShardInputs, ProtocolError> {
        let key = shard_key_from_values(
            self.shard,
            self.shape,
            self.delta,
            self.fixed_values,
            self.public_rows,
            self.row,
        )?;
        Ok(ShardInputs {
            key: Arc::new(key),
            witness: self.secrets.witness,
            public_inputs: self.public_inputs,
            shard_key: self.secrets.shard_key,
        })
    }
}
