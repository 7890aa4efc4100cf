//! Writers of circom's binary files, the inverses of the readers in [`super::circom`]:
//! `.r1cs` version 1 (header, constraints, wire-to-label map) and `.wtns` version 2, for
//! BN254's scalar field, byte for byte as circom and snarkjs lay them out.
//!
//! They let a constraint system built in Rust (the arkworks frontend) travel as a
//! standard `.r1cs` (snarkjs can read it), let tutti's compiled artifact embed the
//! constraint system in the format everyone already parses, and let `tutti` write the
//! witness it computed from circom's WebAssembly as a `.wtns` that snarkjs accepts.

use ark_ff::{BigInteger, PrimeField};

use super::circom::{R1cs, Term, Witness};
use crate::Fr;

/// Bytes of a field element in both formats.
const N8: u32 = 32;

/// Appends `value` little-endian, as iden3's formats store every integer.
fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// A canonical 32-byte little-endian field element.
fn put_fr(out: &mut Vec<u8>, value: &Fr) {
    let bytes = value.into_bigint().to_bytes_le();
    out.extend_from_slice(&bytes);
    // BN254's scalars are 254 bits: to_bytes_le always gives 32 bytes; pad defensively.
    out.resize(out.len() + (N8 as usize).saturating_sub(bytes.len()), 0);
}

/// `n8` and the prime: the field part of both headers.
fn put_field(out: &mut Vec<u8>) {
    put_u32(out, N8);
    let modulus = Fr::MODULUS.to_bytes_le();
    out.extend_from_slice(&modulus);
}

/// A section: type, byte size, content.
fn put_section(out: &mut Vec<u8>, kind: u32, content: &[u8]) {
    put_u32(out, kind);
    put_u64(out, content.len() as u64);
    out.extend_from_slice(content);
}

fn put_lc(out: &mut Vec<u8>, lc: &[Term]) {
    put_u32(out, lc.len() as u32);
    for (wire, coeff) in lc {
        put_u32(out, *wire);
        put_fr(out, coeff);
    }
}

impl R1cs {
    /// The `.r1cs` file (version 1) that [`R1cs::from_bytes`] reads back as `self`,
    /// with circom's section order (constraints, header, wire-to-label), so a file
    /// circom wrote is given back byte for byte.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(64);
        put_field(&mut header);
        put_u32(&mut header, self.n_wires);
        put_u32(&mut header, self.n_pub_out);
        put_u32(&mut header, self.n_pub_in);
        put_u32(&mut header, self.n_prv_in);
        put_u64(&mut header, self.n_labels);
        put_u32(&mut header, self.constraints.len() as u32);

        let mut constraints = Vec::new();
        for c in &self.constraints {
            put_lc(&mut constraints, &c.a);
            put_lc(&mut constraints, &c.b);
            put_lc(&mut constraints, &c.c);
        }
        let mut labels = Vec::with_capacity(self.wire_to_label.len() * 8);
        for label in &self.wire_to_label {
            put_u64(&mut labels, *label);
        }

        let mut out = Vec::with_capacity(12 + header.len() + constraints.len() + labels.len() + 36);
        out.extend_from_slice(b"r1cs");
        put_u32(&mut out, 1);
        put_u32(&mut out, 3);
        put_section(&mut out, 2, &constraints);
        put_section(&mut out, 1, &header);
        put_section(&mut out, 3, &labels);
        out
    }
}

impl Witness {
    /// The `.wtns` file (version 2) that [`Witness::from_bytes`] reads back as `self`
    /// and `snarkjs wtns check` accepts against its `.r1cs`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(40);
        put_field(&mut header);
        put_u32(&mut header, self.0.len() as u32);
        let mut values = Vec::with_capacity(self.0.len() * N8 as usize);
        for v in &self.0 {
            put_fr(&mut values, v);
        }
        let mut out = Vec::with_capacity(12 + 24 + header.len() + values.len());
        out.extend_from_slice(b"wtns");
        put_u32(&mut out, 2);
        put_u32(&mut out, 2);
        put_section(&mut out, 1, &header);
        put_section(&mut out, 2, &values);
        out
    }
}
