//! Byte encoding of a ceremony state and its digest.

use super::pok::CONTRIBUTION_BYTES;
use super::{CeremonyError, CeremonyState, Contribution, check_sizes};
use crate::G1Affine;
use crate::encoding::{G2_BYTES, Reader, put_g2};
use crate::srs::{row_len, y_len};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rayon::prelude::*;

/// Magic bytes at the start of an encoded ceremony state.
pub const CEREMONY_MAGIC: &[u8; 8] = b"TUTTICER";
/// Magic bytes of an encoded ceremony state started from a `.ptau` file
/// ([`CeremonyState::from_ptau`]); the BLAKE3 digest of that file follows the header.
pub const CEREMONY_PTAU_MAGIC: &[u8; 8] = b"TUTTICEP";
/// Version of the ceremony state encoding this code reads and writes.
pub const CEREMONY_VERSION: u16 = 2;
const HEADER_BYTES: usize = 8 + 2 + 4 + 4;
const POINT_BYTES: usize = 64;

fn put_points(out: &mut Vec<u8>, points: &[G1Affine]) {
    let start = out.len();
    out.resize(start + POINT_BYTES * points.len(), 0);
    out[start..]
        .par_chunks_mut(POINT_BYTES)
        .zip(points.par_iter())
        .for_each(|(dst, p)| {
            // Writing 64 bytes into a 64-byte slice cannot fail.
            let _ = p.serialize_uncompressed(dst);
        });
}

fn get_points(bytes: &[u8], what: &str) -> Result<Vec<G1Affine>, CeremonyError> {
    bytes
        .par_chunks(POINT_BYTES)
        .enumerate()
        .map(|(k, c)| {
            let bad = |why: &str| CeremonyError::Decode(format!("{what} point {k}: {why}"));
            let p = G1Affine::deserialize_with_mode(c, Compress::No, Validate::Yes)
                .map_err(|_| bad("not an uncompressed point of BN254 G1"))?;
            let mut again = [0u8; POINT_BYTES];
            let _ = p.serialize_uncompressed(&mut again[..]);
            if again.as_slice() != c {
                return Err(bad("non-canonical encoding"));
            }
            Ok(p)
        })
        .collect()
}

impl CeremonyState {
    /// Everything but the contribution list: header, G2 points, grid, extra Y powers.
    pub(crate) fn encode_points(&self) -> Vec<u8> {
        let n = self.grid.len() + self.extra_y.len();
        let mut out = Vec::with_capacity(HEADER_BYTES + 32 + 2 * G2_BYTES + POINT_BYTES * n);
        out.extend_from_slice(match self.x_from_ptau {
            None => CEREMONY_MAGIC,
            Some(_) => CEREMONY_PTAU_MAGIC,
        });
        out.extend_from_slice(&CEREMONY_VERSION.to_be_bytes());
        out.extend_from_slice(&(self.shards as u32).to_be_bytes());
        out.extend_from_slice(&(self.shard_gates as u32).to_be_bytes());
        if let Some(d) = &self.x_from_ptau {
            out.extend_from_slice(d);
        }
        put_g2(&mut out, &self.tau_x_g2);
        put_g2(&mut out, &self.tau_y_g2);
        put_points(&mut out, &self.grid);
        put_points(&mut out, &self.extra_y);
        out
    }

    /// The encoding (all integers big-endian):
    ///
    /// ```text
    /// magic "TUTTICER" (8) ‖ version u16 = 2 ‖ M u32 ‖ T u32
    ///   (a state started from a .ptau file: magic "TUTTICEP" (8) ‖ version ‖ M ‖ T ‖
    ///   BLAKE3 of the .ptau file (32), see `x_from_ptau`)
    /// [τ_X]₂ ‖ [τ_Y]₂                      compressed wire encoding, 64 bytes each
    /// grid G[i][j], i < T+4, j < M, row-major by i   uncompressed, 64 bytes each
    /// extra Y powers [τ_Y^j]₁, M ≤ j < 3M+3          uncompressed, 64 bytes each
    /// count u32 ‖ count × contribution record (417 bytes: [τ_X]₂ ‖ [τ_Y]₂ after it,
    ///   for r then s P and R compressed (32 bytes each) and z (32 bytes), beacon flag u8
    ///   and value (32), points digest (32), hash (32))
    /// ```
    ///
    /// The G1 bulk is uncompressed (x ‖ y little-endian with arkworks' flag bits, as in
    /// the SRS file): decoding a compressed point costs a square root, which would
    /// dominate loading a large state; the state is an intermediate artefact passed
    /// between contributors, so twice the size is the cheaper trade. The few points of
    /// the G2 part and the proofs use the canonical compressed wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.encode_points();
        out.reserve(4 + CONTRIBUTION_BYTES * self.contributions.len());
        out.extend_from_slice(&(self.contributions.len() as u32).to_be_bytes());
        for c in &self.contributions {
            c.encode(&mut out);
        }
        out
    }

    /// Decodes [`CeremonyState::to_bytes`]; accepts exactly the bytes it writes. Sizes
    /// are checked against the input length before anything is allocated. Every point
    /// is checked to be on the curve (and in the subgroup); nothing about the ceremony's
    /// structure is checked (that is [`super::verify_contribution`]'s job).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CeremonyError> {
        let mut r = Reader::new(bytes, "ceremony state");
        let magic = r.take(8)?;
        let from_ptau = magic == CEREMONY_PTAU_MAGIC;
        if magic != CEREMONY_MAGIC && !from_ptau {
            return Err(CeremonyError::Decode(
                "not a tutti ceremony state (bad magic bytes)".into(),
            ));
        }
        let version = r.u16()?;
        if version != CEREMONY_VERSION {
            return Err(CeremonyError::Decode(format!(
                "unsupported version {version}; this build reads version {CEREMONY_VERSION}"
            )));
        }
        let shards = r.u32()? as usize;
        let shard_gates = r.u32()? as usize;
        check_sizes(shards, shard_gates)?;
        let x_from_ptau = if from_ptau { Some(r.array()?) } else { None };
        let grid_len = row_len(shard_gates) * shards;
        let extra_len = y_len(shards) - shards;
        // Within the limits of check_sizes this is below 2^37 bytes: no overflow.
        let needed = 2 * G2_BYTES + POINT_BYTES * (grid_len + extra_len) + 4;
        if r.remaining() < needed {
            return Err(CeremonyError::Decode(format!(
                "{} bytes after the header, but M = {shards}, T = {shard_gates} need at least {needed}",
                r.remaining()
            )));
        }
        let tau_x_g2 = r.g2()?;
        let tau_y_g2 = r.g2()?;
        let grid = get_points(r.take(POINT_BYTES * grid_len)?, "grid")?;
        let extra_y = get_points(r.take(POINT_BYTES * extra_len)?, "extra Y")?;
        let count = r.u32()? as usize;
        if count.checked_mul(CONTRIBUTION_BYTES) != Some(r.remaining()) {
            return Err(CeremonyError::Decode(format!(
                "{count} contributions of {CONTRIBUTION_BYTES} bytes, but {} bytes remain",
                r.remaining()
            )));
        }
        let mut contributions = Vec::with_capacity(count);
        for _ in 0..count {
            contributions.push(Contribution::decode(&mut r)?);
        }
        r.finish()?;
        Ok(CeremonyState {
            shards,
            shard_gates,
            grid,
            extra_y,
            tau_x_g2,
            tau_y_g2,
            contributions,
            x_from_ptau,
        })
    }

    /// BLAKE3 (default 32-byte output) of [`CeremonyState::to_bytes`], the file's hash.
    /// BLAKE3 rather than Keccak because the input is the whole grid (hashed in parallel)
    /// and nothing on chain needs to recompute it; the SRS file digests are BLAKE3 as
    /// well. What names a ceremony is [`CeremonyState::transcript_hash`].
    pub fn digest(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update_rayon(&self.to_bytes());
        *h.finalize().as_bytes()
    }
}
