//! Deterministic derivation of secret scalars (blinding factors) from a 32-byte key.
//!
//! `derive_scalars(key, context, n)` runs BLAKE3 in keyed mode over
//! `"tutti/scalars/v1" || len(context) as u32 BE || context` and reads `64·n` bytes of
//! its extendable output; each 64-byte block, read little-endian and reduced modulo the
//! scalar field order, is one scalar. The same key and context always give the same
//! scalars, which is what lets a replacement worker reproduce a shard's messages.

use crate::Fr;
use ark_ff::PrimeField;

/// Derives `n` scalars from `key` for the purpose named by `context`.
pub fn derive_scalars(key: &[u8; 32], context: &[u8], n: usize) -> Vec<Fr> {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(b"tutti/scalars/v1");
    h.update(&(context.len() as u32).to_be_bytes());
    h.update(context);
    let mut xof = h.finalize_xof();
    (0..n)
        .map(|_| {
            let mut wide = [0u8; 64];
            xof.fill(&mut wide);
            Fr::from_le_bytes_mod_order(&wide)
        })
        .collect()
}

/// Powers `1, s, s², …` (n of them).
pub fn powers_of(s: Fr, n: usize) -> Vec<Fr> {
    let mut v = Vec::with_capacity(n);
    let mut acc = Fr::from(1u64);
    for _ in 0..n {
        v.push(acc);
        acc *= s;
    }
    v
}

/// Derives a 32-byte subkey from `key` for the purpose named by `context`.
pub fn derive_key(key: &[u8; 32], context: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(b"tutti/subkey/v1");
    h.update(&(context.len() as u32).to_be_bytes());
    h.update(context);
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_separated() {
        let k = [7u8; 32];
        assert_eq!(derive_scalars(&k, b"a", 3), derive_scalars(&k, b"a", 3));
        assert_ne!(derive_scalars(&k, b"a", 1), derive_scalars(&k, b"b", 1));
        assert_ne!(
            derive_scalars(&k, b"a", 1),
            derive_scalars(&[8u8; 32], b"a", 1)
        );
        let s = derive_scalars(&k, b"a", 2);
        assert_ne!(s[0], s[1]);
        assert_ne!(derive_key(&k, b"x"), derive_key(&k, b"y"));
    }
}
