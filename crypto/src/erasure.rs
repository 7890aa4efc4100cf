//! Reed–Solomon erasure coding of byte strings, with a digest per fragment.
//!
//! Shard inputs are coded into `k` data and `m` parity fragments spread over workers; the
//! aggregator keeps only the `k + m` fragment digests and the original length, and a
//! failed shard's inputs are rebuilt from any `k` fragments whose digests match (design,
//! section 5).
//!
//! Layout:
//! - the data is cut into `k` fragments of `L = max(1, ⌈len / k⌉)` bytes, the last ones
//!   padded with zero bytes, followed by `m` parity fragments of `L` bytes (a systematic
//!   code over GF(2^8), so fragments `0..k` are the data itself);
//! - the original length is **not** stored inside the coded data. Whoever keeps the
//!   digests keeps the length beside them (it is `data.len()` at encoding time), and the
//!   length is bound into every digest, so fragments of one encoding cannot be passed off
//!   as fragments of a same-sized prefix or extension;
//! - the digest of fragment `i` is BLAKE3 over
//!   `"tutti/erasure-fragment/v1" || i (u16, big-endian) || len (u64, big-endian) || bytes`.
//!
//! The Reed–Solomon arithmetic comes from the `reed-solomon-erasure` crate, which is no
//! longer maintained upstream; nothing of it appears in this module's interface, so it
//! can be replaced without touching callers.

use crate::{CryptoError, Result};
use reed_solomon_erasure::galois_8::ReedSolomon;
use std::collections::BTreeSet;

/// The most fragments (data plus parity) one encoding can have: the order of GF(2^8).
pub const MAX_FRAGMENTS: usize = 256;

/// Domain separator of fragment digests.
const DIGEST_DOMAIN: &[u8] = b"tutti/erasure-fragment/v1";

/// How data is split: `data` (k) data fragments plus `parity` (m) parity fragments. Any
/// `k` of the `k + m` fragments rebuild the data, so up to `m` may be lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErasureParams {
    /// Data fragments k, at least 1.
    pub data: usize,
    /// Parity fragments m; `k + m` is at most [`MAX_FRAGMENTS`].
    pub parity: usize,
}

impl ErasureParams {
    /// Validates and builds parameters.
    pub fn new(data: usize, parity: usize) -> Result<Self> {
        let params = ErasureParams { data, parity };
        params.validate()?;
        Ok(params)
    }

    /// Checks `1 ≤ k` and `k + m ≤ 256`.
    pub fn validate(&self) -> Result<()> {
        if self.data == 0 {
            return Err(self.invalid("at least one data fragment is needed"));
        }
        match self.data.checked_add(self.parity) {
            Some(total) if total <= MAX_FRAGMENTS => Ok(()),
            _ => Err(self
                .invalid("data plus parity fragments must be at most 256 (the order of GF(2^8))")),
        }
    }

    /// Total fragments `k + m` (meaningful for validated parameters).
    pub fn total(&self) -> usize {
        self.data.saturating_add(self.parity)
    }

    /// Bytes of every fragment when `original_len` bytes are coded:
    /// `max(1, ⌈original_len / k⌉)`.
    pub fn fragment_len(&self, original_len: usize) -> usize {
        original_len.div_ceil(self.data.max(1)).max(1)
    }

    fn invalid(&self, reason: &'static str) -> CryptoError {
        CryptoError::InvalidErasureParams {
            data: self.data,
            parity: self.parity,
            reason,
        }
    }
}

/// One coded fragment: fragments `0..k` hold the (padded) data, `k..k+m` the parity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Position of the fragment in the code, `0..k+m`.
    pub index: u16,
    /// Its bytes; every fragment of one encoding has the same length.
    pub bytes: Vec<u8>,
}

impl Fragment {
    /// The digest of this fragment, for data of `original_len` bytes.
    pub fn digest(&self, original_len: usize) -> FragmentDigest {
        fragment_digest(self.index, original_len, &self.bytes)
    }
}

/// BLAKE3 digest of one fragment (see the module documentation for what it covers).
pub type FragmentDigest = [u8; 32];

/// The digest of fragment `index` of an encoding of `original_len` bytes.
pub fn fragment_digest(index: u16, original_len: usize, bytes: &[u8]) -> FragmentDigest {
    let mut h = blake3::Hasher::new();
    h.update(DIGEST_DOMAIN);
    h.update(&index.to_be_bytes());
    h.update(&(original_len as u64).to_be_bytes());
    h.update(bytes);
    *h.finalize().as_bytes()
}

/// Codes `data` into `k + m` fragments, returned in index order with their digests
/// (`digests[i]` belongs to fragment `i`). Keep `data.len()` with the digests: it is
/// needed by [`reconstruct`]. Empty data is allowed (every fragment is then one zero byte).
pub fn encode(data: &[u8], params: ErasureParams) -> Result<(Vec<Fragment>, Vec<FragmentDigest>)> {
    params.validate()?;
    let k = params.data;
    let n = params.total();
    let len = params.fragment_len(data.len());

    let mut shards: Vec<Vec<u8>> = Vec::with_capacity(n);
    for i in 0..k {
        let mut shard = vec![0u8; len];
        let start = (i * len).min(data.len());
        let end = ((i + 1) * len).min(data.len());
        shard[..end - start].copy_from_slice(&data[start..end]);
        shards.push(shard);
    }
    shards.resize(n, vec![0u8; len]);
    if params.parity > 0 {
        codec(params)?
            .encode(&mut shards)
            .map_err(|e| backend_error("encoding", e))?;
    }

    let fragments: Vec<Fragment> = shards
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| Fragment {
            // n ≤ 256, so every index fits.
            index: i as u16,
            bytes,
        })
        .collect();
    let digests = fragments.iter().map(|f| f.digest(data.len())).collect();
    Ok((fragments, digests))
}

/// The result of a successful [`reconstruct`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconstructed {
    /// The original data, padding removed.
    pub data: Vec<u8>,
    /// Indices of fragments that were given but failed their digest check, sorted and
    /// unique; they were excluded. Their holders supplied corrupted fragments.
    pub corrupted: Vec<u16>,
}

impl Reconstructed {
    /// [`CryptoError::CorruptFragments`] naming the excluded fragments, if any, for the
    /// caller to report or blame their holders with.
    pub fn corruption(&self) -> Option<CryptoError> {
        (!self.corrupted.is_empty()).then(|| CryptoError::CorruptFragments {
            indices: self.corrupted.clone(),
        })
    }
}

/// Rebuilds the data from whatever fragments are `available`, given the `digests` and
/// `original_len` recorded when it was coded with `params`.
///
/// Every given fragment is first checked against `digests[index]`; a fragment that does
/// not match (or claims an index outside `0..k+m`) is excluded and listed in
/// [`Reconstructed::corrupted`]. Repeated indices count once. Any `k` good fragments
/// suffice; with fewer the error is [`CryptoError::NotEnoughFragments`], which also lists
/// the corrupted ones. Parameters, digests and length that do not belong to one encoding
/// give [`CryptoError::ErasureLayout`] (or make every fragment fail its digest check).
pub fn reconstruct(
    available: &[Fragment],
    digests: &[FragmentDigest],
    params: ErasureParams,
    original_len: usize,
) -> Result<Reconstructed> {
    params.validate()?;
    let k = params.data;
    let n = params.total();
    if digests.len() != n {
        return Err(CryptoError::ErasureLayout(format!(
            "{} digests given but the code has {n} fragments ({k} data + {} parity)",
            digests.len(),
            params.parity
        )));
    }
    let len = params.fragment_len(original_len);

    let mut slots: Vec<Option<Vec<u8>>> = vec![None; n];
    let mut corrupted = BTreeSet::new();
    for fragment in available {
        let index = usize::from(fragment.index);
        let Some(expected) = digests.get(index) else {
            corrupted.insert(fragment.index);
            continue;
        };
        if fragment.digest(original_len) != *expected {
            corrupted.insert(fragment.index);
            continue;
        }
        if fragment.bytes.len() != len {
            return Err(CryptoError::ErasureLayout(format!(
                "fragment {index} matches its digest but has {} bytes, while {original_len} bytes in {k} data fragments make fragments of {len} bytes",
                fragment.bytes.len()
            )));
        }
        if slots[index].is_none() {
            slots[index] = Some(fragment.bytes.clone());
        }
    }
    let corrupted: Vec<u16> = corrupted.into_iter().collect();

    let good = slots.iter().filter(|s| s.is_some()).count();
    if good < k {
        return Err(CryptoError::NotEnoughFragments {
            good,
            needed: k,
            corrupted,
        });
    }
    if slots[..k].iter().any(Option::is_none) {
        // Some data fragment is missing, so parity exists (m > 0) and k fragments are
        // present: the backend can rebuild the data fragments.
        codec(params)?
            .reconstruct_data(&mut slots)
            .map_err(|e| backend_error("reconstruction", e))?;
    }

    let mut data = Vec::with_capacity(k * len);
    for slot in &slots[..k] {
        match slot {
            Some(bytes) if bytes.len() == len => data.extend_from_slice(bytes),
            _ => {
                return Err(CryptoError::ErasureLayout(
                    "the Reed–Solomon backend returned incomplete data fragments".into(),
                ));
            }
        }
    }
    if data.len() < original_len || data[original_len..].iter().any(|&b| b != 0) {
        return Err(CryptoError::ErasureLayout(format!(
            "the rebuilt data does not end in zero padding after {original_len} bytes"
        )));
    }
    data.truncate(original_len);
    Ok(Reconstructed { data, corrupted })
}

/// The backend codec for validated parameters with at least one parity fragment.
fn codec(params: ErasureParams) -> Result<ReedSolomon> {
    ReedSolomon::new(params.data, params.parity).map_err(|e| backend_error("set-up", e))
}

fn backend_error(stage: &str, e: reed_solomon_erasure::Error) -> CryptoError {
    CryptoError::ErasureLayout(format!("Reed–Solomon {stage} failed: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};

    fn params() -> impl Strategy<Value = ErasureParams> {
        (1usize..=12, 0usize..=6).prop_map(|(data, parity)| ErasureParams { data, parity })
    }

    fn random_data(seed: u64, len: usize) -> Vec<u8> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..len).map(|_| rng.r#gen()).collect()
    }

    /// `count` fragments chosen at random (in random order).
    fn pick(fragments: &[Fragment], count: usize, seed: u64) -> Vec<Fragment> {
        let mut v = fragments.to_vec();
        v.shuffle(&mut StdRng::seed_from_u64(seed));
        v.truncate(count);
        v
    }

    proptest! {
        #[test]
        fn round_trip(len in 0usize..5000, params in params(), seed in any::<u64>()) {
            let data = random_data(seed, len);
            let (fragments, digests) = encode(&data, params).unwrap();
            prop_assert_eq!(fragments.len(), params.total());
            prop_assert_eq!(digests.len(), params.total());
            for (i, f) in fragments.iter().enumerate() {
                prop_assert_eq!(usize::from(f.index), i);
                prop_assert_eq!(f.bytes.len(), params.fragment_len(len));
            }
            let out = reconstruct(&fragments, &digests, params, len).unwrap();
            prop_assert_eq!(out.data, data);
            prop_assert!(out.corrupted.is_empty());
        }

        /// Any k of the k + m fragments rebuild the data.
        #[test]
        fn any_k_reconstruct(len in 0usize..5000, params in params(), seed in any::<u64>()) {
            let data = random_data(seed, len);
            let (fragments, digests) = encode(&data, params).unwrap();
            let some = pick(&fragments, params.data, seed);
            let out = reconstruct(&some, &digests, params, len).unwrap();
            prop_assert_eq!(out.data, data);
        }

        /// Fewer than k fragments fail with a typed error saying how many were had and
        /// how many are needed.
        #[test]
        fn fewer_than_k_fail(len in 0usize..2000, params in params(), seed in any::<u64>()) {
            let data = random_data(seed, len);
            let (fragments, digests) = encode(&data, params).unwrap();
            let have = (seed as usize) % params.data;
            let some = pick(&fragments, have, seed);
            prop_assert_eq!(
                reconstruct(&some, &digests, params, len).unwrap_err(),
                CryptoError::NotEnoughFragments { good: have, needed: params.data, corrupted: vec![] }
            );
        }

        /// A corrupted fragment is named and excluded; the data is still rebuilt while k
        /// good fragments remain, and the error names it when they do not.
        #[test]
        fn corrupted_fragment_named(
            len in 0usize..3000,
            params in params(),
            seed in any::<u64>(),
        ) {
            let data = random_data(seed, len);
            let (mut fragments, digests) = encode(&data, params).unwrap();
            let mut rng = StdRng::seed_from_u64(seed);
            let bad = rng.gen_range(0..params.total());
            let byte = rng.gen_range(0..fragments[bad].bytes.len());
            fragments[bad].bytes[byte] ^= 1 << rng.gen_range(0..8);
            let bad_index = bad as u16;

            let result = reconstruct(&fragments, &digests, params, len);
            if params.parity >= 1 {
                let out = result.unwrap();
                prop_assert_eq!(&out.data, &data);
                prop_assert_eq!(&out.corrupted, &vec![bad_index]);
                prop_assert_eq!(
                    out.corruption(),
                    Some(CryptoError::CorruptFragments { indices: vec![bad_index] })
                );
            } else {
                prop_assert_eq!(
                    result.unwrap_err(),
                    CryptoError::NotEnoughFragments {
                        good: params.data - 1,
                        needed: params.data,
                        corrupted: vec![bad_index],
                    }
                );
            }

            // Exactly k fragments, one of them corrupted: not enough, and named.
            let mut some = pick(&fragments, params.total(), seed ^ 1);
            some.retain(|f| f.index != bad_index);
            some.truncate(params.data - 1);
            some.push(fragments[bad].clone());
            prop_assert_eq!(
                reconstruct(&some, &digests, params, len).unwrap_err(),
                CryptoError::NotEnoughFragments {
                    good: params.data - 1,
                    needed: params.data,
                    corrupted: vec![bad_index],
                }
            );
        }

        /// Reconstruction never panics on arbitrary fragments.
        #[test]
        fn garbage_fragments_never_panic(
            params in params(),
            len in 0usize..500,
            garbage in proptest::collection::vec(
                (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..100)),
                0..20,
            ),
        ) {
            let (_, digests) = encode(&random_data(1, len), params).unwrap();
            let given: Vec<Fragment> =
                garbage.into_iter().map(|(index, bytes)| Fragment { index, bytes }).collect();
            let _ = reconstruct(&given, &digests, params, len);
        }
    }

    #[test]
    fn params_validation() {
        assert!(ErasureParams::new(1, 0).is_ok());
        assert!(ErasureParams::new(256, 0).is_ok());
        assert!(ErasureParams::new(200, 56).is_ok());
        for (data, parity) in [(0, 3), (0, 0), (200, 57), (1, usize::MAX)] {
            let err = ErasureParams::new(data, parity).unwrap_err();
            assert!(
                matches!(err, CryptoError::InvalidErasureParams { data: d, parity: p, .. } if d == data && p == parity),
                "{err}"
            );
            assert!(encode(b"x", ErasureParams { data, parity }).is_err());
        }
    }

    #[test]
    fn widest_code_loses_all_parity() {
        let params = ErasureParams::new(200, 56).unwrap();
        let data = random_data(7, 10_000);
        let (fragments, digests) = encode(&data, params).unwrap();
        let last_k = &fragments[56..];
        assert_eq!(
            reconstruct(last_k, &digests, params, data.len())
                .unwrap()
                .data,
            data
        );
    }

    #[test]
    fn out_of_range_and_duplicate_indices() {
        let params = ErasureParams::new(3, 2).unwrap();
        let data = random_data(3, 100);
        let (fragments, digests) = encode(&data, params).unwrap();
        let mut given = vec![
            fragments[4].clone(),
            fragments[4].clone(),
            fragments[1].clone(),
            Fragment {
                index: 9,
                bytes: fragments[0].bytes.clone(),
            },
        ];
        assert_eq!(
            reconstruct(&given, &digests, params, data.len()).unwrap_err(),
            CryptoError::NotEnoughFragments {
                good: 2,
                needed: 3,
                corrupted: vec![9]
            }
        );
        // A fragment relabelled with another index is corrupt under that index.
        given.push(Fragment {
            index: 2,
            bytes: fragments[3].bytes.clone(),
        });
        given.push(fragments[3].clone());
        let out = reconstruct(&given, &digests, params, data.len()).unwrap();
        assert_eq!(out.data, data);
        assert_eq!(out.corrupted, vec![2, 9]);
    }

    #[test]
    fn wrong_length_or_digest_count_is_a_layout_error() {
        let params = ErasureParams::new(4, 2).unwrap();
        let data = random_data(5, 64);
        let (fragments, digests) = encode(&data, params).unwrap();
        assert!(matches!(
            reconstruct(&fragments, &digests[..5], params, data.len()),
            Err(CryptoError::ErasureLayout(_))
        ));
        // A wrong length changes every digest, so nothing matches.
        assert!(matches!(
            reconstruct(&fragments, &digests, params, data.len() + 1),
            Err(CryptoError::NotEnoughFragments { good: 0, .. })
        ));
        // Error messages say what to do.
        let msg = reconstruct(&fragments[..2], &digests, params, data.len())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("2 good fragments") && msg.contains("4 are needed"),
            "{msg}"
        );
    }

    #[test]
    fn empty_data() {
        let params = ErasureParams::new(3, 1).unwrap();
        let (fragments, digests) = encode(&[], params).unwrap();
        assert!(fragments.iter().all(|f| f.bytes == [0]));
        let out = reconstruct(&fragments[1..], &digests, params, 0).unwrap();
        assert!(out.data.is_empty());
    }
}
