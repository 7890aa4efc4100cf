//! Canonical byte encodings of scalars and points.
//!
//! Wire encoding (messages, proofs, certificates):
//! - a scalar of Fr is 32 bytes, little-endian, strictly below the modulus;
//! - a G1 point is 32 bytes, arkworks' compressed form (x little-endian, the top two bits
//!   of the last byte are the "y is the larger root" and "point at infinity" flags);
//! - a G2 point is 64 bytes in the same compressed form.
//!
//! Decoding accepts exactly one byte string per value: it rejects scalars at or above the
//! modulus, points off the curve or outside the prime-order subgroup, and any encoding
//! that does not re-encode to the same bytes (unused flag combinations, non-canonical
//! coordinates).
//!
//! Transcript encoding (what the Fiat–Shamir hash absorbs) is EVM-friendly instead:
//! scalars are 32 bytes big-endian and G1 points 64 bytes `x || y` big-endian, with the
//! point at infinity as 64 zero bytes (the format of the EVM's BN254 precompiles).

use crate::{CryptoError, Fr, G1Affine, G2Affine, Result};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};

/// Bytes of an encoded scalar.
pub const SCALAR_BYTES: usize = 32;
/// Bytes of an encoded G1 point.
pub const G1_BYTES: usize = 32;
/// Bytes of an encoded G2 point.
pub const G2_BYTES: usize = 64;

/// Appends the wire encoding of `s`.
pub fn put_scalar(out: &mut Vec<u8>, s: &Fr) {
    let start = out.len();
    out.resize(start + SCALAR_BYTES, 0);
    let bytes = s.into_bigint().to_bytes_le();
    out[start..start + bytes.len()].copy_from_slice(&bytes);
}

/// Appends the wire encoding of a G1 point.
pub fn put_g1(out: &mut Vec<u8>, p: &G1Affine) {
    // Serialising into a Vec cannot fail.
    let _ = p.serialize_compressed(&mut *out);
}

/// Appends the wire encoding of a G2 point.
pub fn put_g2(out: &mut Vec<u8>, p: &G2Affine) {
    let _ = p.serialize_compressed(&mut *out);
}

/// The wire encoding of one scalar.
pub fn scalar_bytes(s: &Fr) -> [u8; SCALAR_BYTES] {
    let mut v = Vec::with_capacity(SCALAR_BYTES);
    put_scalar(&mut v, s);
    let mut out = [0u8; SCALAR_BYTES];
    out.copy_from_slice(&v);
    out
}

/// The wire encoding of one G1 point.
pub fn g1_bytes(p: &G1Affine) -> [u8; G1_BYTES] {
    let mut v = Vec::with_capacity(G1_BYTES);
    put_g1(&mut v, p);
    let mut out = [0u8; G1_BYTES];
    out.copy_from_slice(&v);
    out
}

/// Transcript encoding of a scalar: 32 bytes big-endian.
pub fn scalar_be(s: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    put_be_limbs(&mut out, &s.into_bigint().0);
    out
}

/// Writes four little-endian 64-bit limbs as 32 big-endian bytes (no allocation: this
/// runs for every value a shard-inputs digest or a transcript hashes).
fn put_be_limbs(out: &mut [u8], limbs: &[u64; 4]) {
    for (k, limb) in limbs.iter().rev().enumerate() {
        out[8 * k..8 * k + 8].copy_from_slice(&limb.to_be_bytes());
    }
}

/// Transcript encoding of a G1 point: `x || y`, each 32 bytes big-endian; the point at
/// infinity is 64 zero bytes.
pub fn g1_evm(p: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = p.xy() {
        put_be_limbs(&mut out[..32], &x.into_bigint().0);
        put_be_limbs(&mut out[32..], &y.into_bigint().0);
    }
    out
}

/// A cursor over untrusted bytes that decodes canonical values with typed errors.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Starts reading `buf`; `what` names the structure in error messages.
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(CryptoError::Truncated {
                what: self.what,
                needed: n - self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads a canonical scalar.
    pub fn scalar(&mut self) -> Result<Fr> {
        let bytes = self.take(SCALAR_BYTES)?;
        let s = Fr::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
            .map_err(|_| CryptoError::NonCanonicalScalar { what: self.what })?;
        if scalar_bytes(&s).as_slice() != bytes {
            return Err(CryptoError::NonCanonicalScalar { what: self.what });
        }
        Ok(s)
    }

    /// Reads a canonical G1 point in the prime-order subgroup.
    pub fn g1(&mut self) -> Result<G1Affine> {
        let bytes = self.take(G1_BYTES)?;
        let p =
            G1Affine::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes).map_err(|_| {
                CryptoError::InvalidPoint {
                    what: self.what,
                    reason: "not a compressed point of BN254 G1 (off the curve or bad flags)",
                }
            })?;
        if g1_bytes(&p).as_slice() != bytes {
            return Err(CryptoError::InvalidPoint {
                what: self.what,
                reason: "non-canonical encoding",
            });
        }
        Ok(p)
    }

    /// Reads a canonical G2 point in the prime-order subgroup.
    pub fn g2(&mut self) -> Result<G2Affine> {
        let bytes = self.take(G2_BYTES)?;
        let p =
            G2Affine::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes).map_err(|_| {
                CryptoError::InvalidPoint {
                    what: self.what,
                    reason: "not a compressed point of BN254 G2 in the prime-order subgroup",
                }
            })?;
        let mut again = Vec::with_capacity(G2_BYTES);
        put_g2(&mut again, &p);
        if again.as_slice() != bytes {
            return Err(CryptoError::InvalidPoint {
                what: self.what,
                reason: "non-canonical encoding",
            });
        }
        Ok(p)
    }

    /// Reads `n` scalars.
    pub fn scalars(&mut self, n: usize) -> Result<Vec<Fr>> {
        (0..n).map(|_| self.scalar()).collect()
    }

    /// Reads `n` G1 points.
    pub fn g1s(&mut self, n: usize) -> Result<Vec<G1Affine>> {
        (0..n).map(|_| self.g1()).collect()
    }

    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(CryptoError::TrailingBytes {
                what: self.what,
                count: self.buf.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use ark_ff::UniformRand;
    use proptest::prelude::*;
    use rand::{SeedableRng, rngs::StdRng};

    fn rng(seed: u64) -> StdRng {
        StdRng::seed_from_u64(seed)
    }

    proptest! {
        #[test]
        fn scalar_roundtrip(seed in any::<u64>()) {
            let s = Fr::rand(&mut rng(seed));
            let mut v = Vec::new();
            put_scalar(&mut v, &s);
            let mut r = Reader::new(&v, "test");
            prop_assert_eq!(r.scalar().unwrap(), s);
            r.finish().unwrap();
        }

        #[test]
        fn g1_roundtrip(seed in any::<u64>()) {
            let p = (G1Affine::generator() * Fr::rand(&mut rng(seed))).into_affine();
            let mut v = Vec::new();
            put_g1(&mut v, &p);
            prop_assert_eq!(v.len(), G1_BYTES);
            prop_assert_eq!(Reader::new(&v, "test").g1().unwrap(), p);
        }

        /// The transcript encodings are the canonical big-endian integers (the limb
        /// writer agrees with arkworks' own big-endian bytes).
        #[test]
        fn transcript_encodings_are_big_endian_integers(seed in any::<u64>()) {
            use ark_ff::{BigInteger, PrimeField};
            let s = Fr::rand(&mut rng(seed));
            prop_assert_eq!(scalar_be(&s).to_vec(), s.into_bigint().to_bytes_be());
            let p = (G1Affine::generator() * s).into_affine();
            let (x, y) = p.xy().unwrap();
            let mut xy = x.into_bigint().to_bytes_be();
            xy.extend(y.into_bigint().to_bytes_be());
            prop_assert_eq!(g1_evm(&p).to_vec(), xy);
        }

        #[test]
        fn g2_roundtrip(seed in any::<u64>()) {
            let p = (G2Affine::generator() * Fr::rand(&mut rng(seed))).into_affine();
            let mut v = Vec::new();
            put_g2(&mut v, &p);
            prop_assert_eq!(Reader::new(&v, "test").g2().unwrap(), p);
        }

        /// Decoding arbitrary bytes never panics, and whatever decodes re-encodes to the
        /// same bytes (one encoding per value).
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(s) = Reader::new(&bytes, "t").scalar() {
                prop_assert_eq!(&scalar_bytes(&s)[..], &bytes[..32]);
            }
            if let Ok(p) = Reader::new(&bytes, "t").g1() {
                prop_assert_eq!(&g1_bytes(&p)[..], &bytes[..32]);
            }
            let _ = Reader::new(&bytes, "t").g2();
        }
    }

    #[test]
    fn rejects_scalar_at_modulus() {
        let modulus = Fr::MODULUS.to_bytes_le();
        assert!(matches!(
            Reader::new(&modulus, "t").scalar(),
            Err(CryptoError::NonCanonicalScalar { .. })
        ));
        let all_ones = [0xffu8; 32];
        assert!(Reader::new(&all_ones, "t").scalar().is_err());
    }

    #[test]
    fn rejects_point_off_curve() {
        // x = 5 has no y on y^2 = x^3 + 3? Try successive x until one is off the curve.
        let mut found = false;
        for x in 1u8..50 {
            let mut b = [0u8; 32];
            b[0] = x;
            if Reader::new(&b, "t").g1().is_err() {
                found = true;
                break;
            }
        }
        assert!(found, "some small x must be off the curve");
    }

    #[test]
    fn truncated_is_typed() {
        let err = Reader::new(&[1, 2, 3], "proof").g1().unwrap_err();
        assert_eq!(
            err,
            CryptoError::Truncated {
                what: "proof",
                needed: 29
            }
        );
    }

    #[test]
    fn evm_encoding_of_generator() {
        let g = g1_evm(&G1Affine::generator());
        assert_eq!(g[31], 1);
        assert_eq!(g[63], 2);
        assert_eq!(g1_evm(&G1Affine::identity()), [0u8; 64]);
    }
}
