//! Keccak-256 Fiat–Shamir transcript.
//!
//! The transcript keeps a 32-byte state and a buffer of absorbed bytes. Every absorbed
//! item is framed as `len(label) as u8 || label || len(data) as u32 BE || data`, so no two
//! different sequences of items produce the same bytes. Drawing a challenge computes
//! `seed = keccak256(state || buffer || len(label) || label)`, sets `state = seed`, clears
//! the buffer, and returns `(keccak256(seed || 0x01) || keccak256(seed || 0x00))`, read as a
//! 512-bit big-endian integer, reduced modulo the BN254 scalar field order (statistically
//! uniform). The initial state is `keccak256("tutti/transcript/v1" || len || domain)`.
//!
//! Scalars are absorbed as 32 bytes big-endian and G1 points as 64 bytes `x || y`
//! big-endian, so an EVM contract can replay the transcript with its precompiles' formats.

use crate::encoding::{g1_evm, scalar_be};
use crate::{Fr, G1Affine};
use ark_ff::PrimeField;
use sha3::{Digest, Keccak256};

/// A Fiat–Shamir transcript over Keccak-256 with domain separation.
#[derive(Clone, Debug)]
pub struct Transcript {
    state: [u8; 32],
    buffer: Vec<u8>,
}

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

impl Transcript {
    /// Starts a transcript for one protocol, named by `domain`.
    pub fn new(domain: &[u8]) -> Self {
        let len = (domain.len() as u32).to_be_bytes();
        Transcript {
            state: keccak(&[b"tutti/transcript/v1", &len, domain]),
            buffer: Vec::with_capacity(1024),
        }
    }

    fn frame_label(&mut self, label: &'static str) {
        debug_assert!(label.len() < 256);
        self.buffer.push(label.len() as u8);
        self.buffer.extend_from_slice(label.as_bytes());
    }

    /// Absorbs raw bytes under a label.
    pub fn append_bytes(&mut self, label: &'static str, data: &[u8]) {
        self.frame_label(label);
        self.buffer
            .extend_from_slice(&(data.len() as u32).to_be_bytes());
        self.buffer.extend_from_slice(data);
    }

    /// Absorbs a u64 (8 bytes big-endian) under a label.
    pub fn append_u64(&mut self, label: &'static str, v: u64) {
        self.append_bytes(label, &v.to_be_bytes());
    }

    /// Absorbs a scalar under a label.
    pub fn append_scalar(&mut self, label: &'static str, s: &Fr) {
        self.append_bytes(label, &scalar_be(s));
    }

    /// Absorbs several scalars as one item.
    pub fn append_scalars(&mut self, label: &'static str, s: &[Fr]) {
        let mut data = Vec::with_capacity(32 * s.len());
        for x in s {
            data.extend_from_slice(&scalar_be(x));
        }
        self.append_bytes(label, &data);
    }

    /// Absorbs a G1 point under a label.
    pub fn append_g1(&mut self, label: &'static str, p: &G1Affine) {
        self.append_bytes(label, &g1_evm(p));
    }

    /// Absorbs several G1 points as one item.
    pub fn append_g1s(&mut self, label: &'static str, ps: &[G1Affine]) {
        let mut data = Vec::with_capacity(64 * ps.len());
        for p in ps {
            data.extend_from_slice(&g1_evm(p));
        }
        self.append_bytes(label, &data);
    }

    /// Draws a challenge scalar; everything absorbed so far binds it.
    pub fn challenge_scalar(&mut self, label: &'static str) -> Fr {
        self.frame_label(label);
        let seed = keccak(&[&self.state, &self.buffer]);
        self.state = seed;
        self.buffer.clear();
        let hi = keccak(&[&seed, &[1u8]]);
        let lo = keccak(&[&seed, &[0u8]]);
        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(&hi);
        wide[32..].copy_from_slice(&lo);
        Fr::from_be_bytes_mod_order(&wide)
    }

    /// The current 32-byte state (changes only when a challenge is drawn).
    pub fn state(&self) -> [u8; 32] {
        self.state
    }
}

/// Keccak-256 of a byte string (used for digests of keys and statements).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    keccak(&[data])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::AffineRepr;

    #[test]
    fn deterministic_and_order_sensitive() {
        let mut a = Transcript::new(b"test");
        a.append_scalar("s", &Fr::from(5u64));
        a.append_g1("p", &G1Affine::generator());
        let mut b = Transcript::new(b"test");
        b.append_scalar("s", &Fr::from(5u64));
        b.append_g1("p", &G1Affine::generator());
        assert_eq!(a.challenge_scalar("c"), b.challenge_scalar("c"));

        let mut c = Transcript::new(b"test");
        c.append_g1("p", &G1Affine::generator());
        c.append_scalar("s", &Fr::from(5u64));
        let mut d = Transcript::new(b"test");
        d.append_scalar("s", &Fr::from(5u64));
        d.append_g1("p", &G1Affine::generator());
        assert_ne!(c.challenge_scalar("c"), d.challenge_scalar("c"));
    }

    #[test]
    fn domain_and_label_separation() {
        let mut a = Transcript::new(b"one");
        let mut b = Transcript::new(b"two");
        assert_ne!(a.challenge_scalar("c"), b.challenge_scalar("c"));
        let mut a = Transcript::new(b"one");
        let mut b = Transcript::new(b"one");
        assert_ne!(a.challenge_scalar("c1"), b.challenge_scalar("c2"));
        // framing: ("ab","c") differs from ("a","bc")
        let mut a = Transcript::new(b"x");
        a.append_bytes("l", b"ab");
        a.append_bytes("l", b"c");
        let mut b = Transcript::new(b"x");
        b.append_bytes("l", b"a");
        b.append_bytes("l", b"bc");
        assert_ne!(a.challenge_scalar("c"), b.challenge_scalar("c"));
    }

    #[test]
    fn successive_challenges_differ() {
        let mut a = Transcript::new(b"x");
        let c1 = a.challenge_scalar("c");
        let c2 = a.challenge_scalar("c");
        assert_ne!(c1, c2);
    }

    #[test]
    fn keccak_known_answer() {
        // keccak256("") is a well-known constant.
        let h = keccak256(b"");
        assert_eq!(
            h[..4],
            [0xc5, 0xd2, 0x46, 0x01],
            "keccak256 of the empty string starts c5d24601"
        );
    }
}
