//! A shard's private inputs as canonical bytes, and their erasure coding across workers.
//!
//! [`ShardSecrets`] is what a worker needs to (re)prove one shard: the shard's wire
//! values and its 32-byte shard key (from which its blinding scalars are derived, see
//! design section 5). Its encoding, version 1:
//!
//! ```text
//! version   u8 = 1
//! rows      u32, big-endian: T, a power of two from 16 to 2^24
//! wires     3·T scalars: wire a rows 0..T, then wire b, then wire c; each 32 bytes,
//!           little-endian, strictly below the BN254 scalar modulus
//! shard key 32 bytes
//! ```
//!
//! Exactly one byte string encodes each value: decoding rejects other versions, other
//! row counts, non-canonical scalars, and missing or trailing bytes.
//!
//! [`code_shard`] codes that encoding into `k + m` fragments with
//! [`tutti_crypto::erasure`]; whoever hands the fragments out keeps the digests and the
//! encoded length, and [`rebuild_shard`] recovers the secrets from any `k` fragments
//! that match their digests, naming those that do not.

use crate::error::ProtocolError;
use crate::layout::ShardWitness;
use tutti_crypto::encoding::{Reader, SCALAR_BYTES, put_scalar};
use tutti_crypto::erasure::{self, ErasureParams, Fragment, FragmentDigest};

/// Version byte of the encoding of [`ShardSecrets`].
pub const SHARD_SECRETS_VERSION: u8 = 1;
/// Fewest rows a shard can have.
pub const MIN_ROWS: usize = 16;
/// Most rows a shard can have.
pub const MAX_ROWS: usize = 1 << 24;

/// Bytes before the wire values: version and row count.
const HEADER_BYTES: usize = 1 + 4;
/// Bytes of the shard key.
const KEY_BYTES: usize = 32;
/// Names the structure in decoding errors.
const WHAT: &str = "shard secrets";

/// One shard's private inputs: its witness and its shard key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSecrets {
    /// The shard's wire values.
    pub witness: ShardWitness,
    /// The per-shard key the shard's blinding scalars are derived from.
    pub shard_key: [u8; 32],
}

impl ShardSecrets {
    /// Rows of the shard (the length of wire a).
    pub fn rows(&self) -> usize {
        self.witness.wires[0].len()
    }

    /// Checks that the three wires have the same number of rows, a power of two from
    /// [`MIN_ROWS`] to [`MAX_ROWS`].
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let [a, b, c] = &self.witness.wires;
        if a.len() != b.len() || a.len() != c.len() {
            return Err(ProtocolError::InvalidShape(format!(
                "shard secrets: the wires have {}, {} and {} rows; all three must have the same number",
                a.len(),
                b.len(),
                c.len()
            )));
        }
        check_rows(a.len())
    }

    /// Bytes of the encoding of a shard of `rows` rows.
    pub fn encoded_len(rows: usize) -> usize {
        HEADER_BYTES + 3 * rows * SCALAR_BYTES + KEY_BYTES
    }

    /// The canonical encoding (see the module documentation). Fails, before anything is
    /// coded or sent, on secrets that could not be decoded again.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ProtocolError> {
        self.validate()?;
        let rows = self.rows();
        let mut out = Vec::with_capacity(Self::encoded_len(rows));
        out.push(SHARD_SECRETS_VERSION);
        // `validate` bounds rows by 2^24.
        out.extend_from_slice(&(rows as u32).to_be_bytes());
        for wire in &self.witness.wires {
            for value in wire {
                put_scalar(&mut out, value);
            }
        }
        out.extend_from_slice(&self.shard_key);
        Ok(out)
    }

    /// Decodes the canonical encoding; any other byte string is rejected with a typed
    /// error (never a panic, and nothing is allocated beyond what the input holds).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != SHARD_SECRETS_VERSION {
            return Err(ProtocolError::UnsupportedVersion {
                what: WHAT,
                version,
                supported: SHARD_SECRETS_VERSION,
            });
        }
        let rows = r.u32()? as usize;
        check_rows(rows)?;
        // Check the whole length before reading (and allocating for) the wires.
        let body = Self::encoded_len(rows) - HEADER_BYTES;
        if r.remaining() < body {
            r.take(body)?;
        }
        let wires = [r.scalars(rows)?, r.scalars(rows)?, r.scalars(rows)?];
        let shard_key = r.array::<KEY_BYTES>()?;
        r.finish()?;
        Ok(ShardSecrets {
            witness: ShardWitness { wires },
            shard_key,
        })
    }
}

fn check_rows(rows: usize) -> Result<(), ProtocolError> {
    if !rows.is_power_of_two() || !(MIN_ROWS..=MAX_ROWS).contains(&rows) {
        return Err(ProtocolError::InvalidShape(format!(
            "shard secrets: {rows} rows; a shard has a power of two of rows from {MIN_ROWS} to 2^24"
        )));
    }
    Ok(())
}

/// Codes one shard's secrets into `k + m` fragments (in index order), their digests, and
/// the length of the encoding; keep the digests and the length to rebuild later.
pub fn code_shard(
    secrets: &ShardSecrets,
    params: ErasureParams,
) -> Result<(Vec<Fragment>, Vec<FragmentDigest>, usize), ProtocolError> {
    let bytes = secrets.to_bytes()?;
    let (fragments, digests) = erasure::encode(&bytes, params)?;
    Ok((fragments, digests, bytes.len()))
}

/// A shard's secrets rebuilt from fragments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RebuiltShard {
    /// The secrets.
    pub secrets: ShardSecrets,
    /// Indices of fragments that failed their digest check and were excluded (sorted,
    /// unique): their holders supplied corrupted fragments.
    pub corrupted: Vec<u16>,
}

/// Rebuilds a shard's secrets from any `k` fragments matching the `digests` and length
/// that [`code_shard`] returned. Fragments that fail their digest check are excluded and
/// named in [`RebuiltShard::corrupted`]; with fewer than `k` good fragments the error is
/// [`tutti_crypto::CryptoError::NotEnoughFragments`] (inside [`ProtocolError::Crypto`]),
/// which names them too.
pub fn rebuild_shard(
    fragments: &[Fragment],
    digests: &[FragmentDigest],
    params: ErasureParams,
    len: usize,
) -> Result<RebuiltShard, ProtocolError> {
    let rebuilt = erasure::reconstruct(fragments, digests, params, len)?;
    Ok(RebuiltShard {
        secrets: ShardSecrets::from_bytes(&rebuilt.data)?,
        corrupted: rebuilt.corrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, PrimeField, UniformRand};
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};
    use tutti_crypto::{CryptoError, Fr};

    fn secrets(rows: usize, seed: u64) -> ShardSecrets {
        let mut rng = StdRng::seed_from_u64(seed);
        ShardSecrets {
            witness: ShardWitness {
                wires: std::array::from_fn(|_| (0..rows).map(|_| Fr::rand(&mut rng)).collect()),
            },
            shard_key: rng.r#gen(),
        }
    }

    #[test]
    fn round_trip() {
        for (rows, seed) in [(16, 1), (32, 2), (256, 3)] {
            let s = secrets(rows, seed);
            let bytes = s.to_bytes().unwrap();
            assert_eq!(bytes.len(), ShardSecrets::encoded_len(rows));
            assert_eq!(bytes[0], SHARD_SECRETS_VERSION);
            assert_eq!(ShardSecrets::from_bytes(&bytes).unwrap(), s);
        }
    }

    #[test]
    fn malformed_inputs_are_typed() {
        let s = secrets(16, 9);
        let bytes = s.to_bytes().unwrap();

        let mut wrong_version = bytes.clone();
        wrong_version[0] = 2;
        assert_eq!(
            ShardSecrets::from_bytes(&wrong_version).unwrap_err(),
            ProtocolError::UnsupportedVersion {
                what: WHAT,
                version: 2,
                supported: 1
            }
        );

        assert!(matches!(
            ShardSecrets::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err(),
            ProtocolError::Crypto(CryptoError::Truncated { needed: 1, .. })
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            ShardSecrets::from_bytes(&longer).unwrap_err(),
            ProtocolError::Crypto(CryptoError::TrailingBytes { count: 1, .. })
        ));

        let mut non_canonical = bytes.clone();
        let modulus = Fr::MODULUS.to_bytes_le();
        non_canonical[HEADER_BYTES..HEADER_BYTES + 32].copy_from_slice(&modulus);
        assert!(matches!(
            ShardSecrets::from_bytes(&non_canonical).unwrap_err(),
            ProtocolError::Crypto(CryptoError::NonCanonicalScalar { .. })
        ));

        for rows in [0u32, 15, 17, 1 << 25, u32::MAX] {
            let mut wrong_rows = bytes.clone();
            wrong_rows[1..5].copy_from_slice(&rows.to_be_bytes());
            assert!(matches!(
                ShardSecrets::from_bytes(&wrong_rows).unwrap_err(),
                ProtocolError::InvalidShape(_)
            ));
        }
        // A plausible row count that the bytes do not hold: truncated, nothing allocated.
        let mut big = bytes.clone();
        big[1..5].copy_from_slice(&(1u32 << 24).to_be_bytes());
        assert!(matches!(
            ShardSecrets::from_bytes(&big).unwrap_err(),
            ProtocolError::Crypto(CryptoError::Truncated { .. })
        ));

        let mut uneven = s.clone();
        uneven.witness.wires[2].pop();
        assert!(matches!(
            uneven.to_bytes().unwrap_err(),
            ProtocolError::InvalidShape(_)
        ));
        assert!(ShardSecrets::from_bytes(&[]).is_err());
    }

    #[test]
    fn rebuild_after_losing_parity_many() {
        let s = secrets(32, 4);
        let params = ErasureParams::new(4, 3).unwrap();
        let (fragments, digests, len) = code_shard(&s, params).unwrap();
        assert_eq!(fragments.len(), 7);
        // Lose m = 3 fragments, including data fragments.
        let kept: Vec<Fragment> = fragments
            .iter()
            .filter(|f| ![0, 2, 5].contains(&f.index))
            .cloned()
            .collect();
        let rebuilt = rebuild_shard(&kept, &digests, params, len).unwrap();
        assert_eq!(rebuilt.secrets, s);
        assert!(rebuilt.corrupted.is_empty());

        // One more lost: a typed error saying what is missing.
        assert_eq!(
            rebuild_shard(&kept[1..], &digests, params, len).unwrap_err(),
            ProtocolError::Crypto(CryptoError::NotEnoughFragments {
                good: 3,
                needed: 4,
                corrupted: vec![]
            })
        );
    }

    #[test]
    fn corrupted_fragment_named() {
        let s = secrets(16, 5);
        let params = ErasureParams::new(3, 2).unwrap();
        let (mut fragments, digests, len) = code_shard(&s, params).unwrap();
        fragments[1].bytes[7] ^= 0x40;
        let rebuilt = rebuild_shard(&fragments, &digests, params, len).unwrap();
        assert_eq!(rebuilt.secrets, s);
        assert_eq!(rebuilt.corrupted, vec![1]);

        // Only k fragments and one of them corrupted: the error names it.
        assert_eq!(
            rebuild_shard(&fragments[..3], &digests, params, len).unwrap_err(),
            ProtocolError::Crypto(CryptoError::NotEnoughFragments {
                good: 2,
                needed: 3,
                corrupted: vec![1]
            })
        );
    }

    #[test]
    fn invalid_params_are_typed() {
        let s = secrets(16, 6);
        assert!(matches!(
            code_shard(&s, ErasureParams { data: 0, parity: 1 }).unwrap_err(),
            ProtocolError::Crypto(CryptoError::InvalidErasureParams { .. })
        ));
    }

    proptest! {
        /// Decoding arbitrary bytes never panics, and whatever decodes re-encodes to the
        /// same bytes.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            if let Ok(s) = ShardSecrets::from_bytes(&bytes) {
                prop_assert_eq!(s.to_bytes().unwrap(), bytes);
            }
        }

        /// Valid headers followed by garbage: typed errors, or a value that re-encodes.
        #[test]
        fn garbage_after_valid_header(
            log_rows in 4u32..6,
            body in proptest::collection::vec(any::<u8>(), 0..7000),
        ) {
            let mut bytes = vec![SHARD_SECRETS_VERSION];
            bytes.extend_from_slice(&(1u32 << log_rows).to_be_bytes());
            bytes.extend_from_slice(&body);
            if let Ok(s) = ShardSecrets::from_bytes(&bytes) {
                prop_assert_eq!(s.to_bytes().unwrap(), bytes);
            }
        }

        /// Round trip through the erasure code from a random k of k + m fragments.
        #[test]
        fn code_and_rebuild(seed in any::<u64>(), data in 1usize..8, parity in 0usize..5) {
            let s = secrets(16, seed);
            let params = ErasureParams::new(data, parity).unwrap();
            let (fragments, digests, len) = code_shard(&s, params).unwrap();
            let mut rng = StdRng::seed_from_u64(seed);
            let mut kept = fragments.clone();
            for _ in 0..parity {
                let i = rng.gen_range(0..kept.len());
                kept.remove(i);
            }
            let rebuilt = rebuild_shard(&kept, &digests, params, len).unwrap();
            prop_assert_eq!(rebuilt.secrets, s);
        }
    }
}
