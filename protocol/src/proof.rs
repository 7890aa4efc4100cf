//! The proof (format 2, linearised): 13 G1 points and 8 scalars, 673 bytes with its
//! version byte, whatever M and T.

use crate::error::ProtocolError;
use crate::messages::QUOTIENT_PIECES;
use tutti_crypto::encoding::{Reader, put_g1, put_scalar};
use tutti_crypto::{Fr, G1Affine};

/// Format version of encoded proofs.
pub const PROOF_VERSION: u8 = 2;
/// Number of G1 points in a proof.
pub const PROOF_POINTS: usize = 13;
/// Number of scalars in a proof.
pub const PROOF_SCALARS: usize = 8;
/// Size of an encoded proof in bytes.
pub const PROOF_BYTES: usize = 1 + PROOF_POINTS * 32 + PROOF_SCALARS * 32;

/// Values opened by the proof. Every other polynomial's value is implied by the
/// linearisation ([`crate::linearise`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ProofEvaluations {
    /// a(y, x), b(y, x), c(y, x).
    pub wires: [Fr; 3],
    /// σ_0(y, x), σ_1(y, x).
    pub sigmas: [Fr; 2],
    /// z(y, ω_X·x).
    pub z_shift: Fr,
    /// W(y).
    pub w: Fr,
    /// W(ω_Y·y).
    pub w_shift: Fr,
}

impl ProofEvaluations {
    /// All 8 values in transcript (and encoding) order.
    pub fn to_vec(&self) -> Vec<Fr> {
        let mut v = self.wires.to_vec();
        v.extend(self.sigmas);
        v.extend([self.z_shift, self.w, self.w_shift]);
        v
    }

    /// The values of the polynomials of [`crate::linearise::VALUED`], in that order.
    pub fn valued(&self) -> [Fr; 5] {
        let [a, b, c] = self.wires;
        [a, b, c, self.sigmas[0], self.sigmas[1]]
    }
}

/// A tutti proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proof {
    /// Bivariate commitments to the wires a, b, c.
    pub wires: [G1Affine; 3],
    /// Bivariate commitment to the running product z.
    pub z: G1Affine,
    /// Commitment to W(Y).
    pub w: G1Affine,
    /// Bivariate commitments to the X-quotient pieces.
    pub quotient_x: [G1Affine; QUOTIENT_PIECES],
    /// Commitment to the Y-quotient H_Y(Y).
    pub quotient_y: G1Affine,
    /// The opened values.
    pub evals: ProofEvaluations,
    /// X-part of the batched opening at (y, x).
    pub open_x: G1Affine,
    /// X-part of the opening of z at (y, ω_X·x).
    pub open_x_shift: G1Affine,
    /// Y-part of every opening at y, folded.
    pub open_y: G1Affine,
    /// Opening of W at ω_Y·y.
    pub open_y_shift: G1Affine,
}

impl Proof {
    /// The 13 points in encoding order.
    pub fn points(&self) -> [G1Affine; PROOF_POINTS] {
        [
            self.wires[0],
            self.wires[1],
            self.wires[2],
            self.z,
            self.w,
            self.quotient_x[0],
            self.quotient_x[1],
            self.quotient_x[2],
            self.quotient_y,
            self.open_x,
            self.open_x_shift,
            self.open_y,
            self.open_y_shift,
        ]
    }

    /// Mutable references to the 13 points in encoding order (used by tamper tests).
    pub fn points_mut(&mut self) -> [&mut G1Affine; PROOF_POINTS] {
        let [w0, w1, w2] = &mut self.wires;
        let [h0, h1, h2] = &mut self.quotient_x;
        [
            w0,
            w1,
            w2,
            &mut self.z,
            &mut self.w,
            h0,
            h1,
            h2,
            &mut self.quotient_y,
            &mut self.open_x,
            &mut self.open_x_shift,
            &mut self.open_y,
            &mut self.open_y_shift,
        ]
    }

    /// Mutable references to the 8 scalars in encoding order.
    pub fn scalars_mut(&mut self) -> Vec<&mut Fr> {
        let e = &mut self.evals;
        let mut v: Vec<&mut Fr> = e.wires.iter_mut().collect();
        v.extend(e.sigmas.iter_mut());
        v.push(&mut e.z_shift);
        v.push(&mut e.w);
        v.push(&mut e.w_shift);
        v
    }

    /// Canonical encoding: version byte, 13 points, 8 scalars.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PROOF_BYTES);
        out.push(PROOF_VERSION);
        for p in self.points() {
            put_g1(&mut out, &p);
        }
        for s in self.evals.to_vec() {
            put_scalar(&mut out, &s);
        }
        out
    }

    /// Decodes a proof, rejecting anything non-canonical.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes, "proof");
        let version = r.u8()?;
        if version != PROOF_VERSION {
            return Err(ProtocolError::UnsupportedVersion {
                what: "proof",
                version,
                supported: PROOF_VERSION,
            });
        }
        let p = r.g1s(PROOF_POINTS)?;
        let s = r.scalars(PROOF_SCALARS)?;
        r.finish()?;
        Ok(Proof {
            wires: [p[0], p[1], p[2]],
            z: p[3],
            w: p[4],
            quotient_x: [p[5], p[6], p[7]],
            quotient_y: p[8],
            evals: ProofEvaluations {
                wires: [s[0], s[1], s[2]],
                sigmas: [s[3], s[4]],
                z_shift: s[5],
                w: s[6],
                w_shift: s[7],
            },
            open_x: p[9],
            open_x_shift: p[10],
            open_y: p[11],
            open_y_shift: p[12],
        })
    }
}

/// Magic bytes of a proof file.
pub const PROOF_FILE_MAGIC: &[u8; 8] = b"TUTTIPRF";

/// What `tutti prove` writes and `tutti verify` reads: the statement (public inputs) and
/// its proof. Layout: magic `TUTTIPRF`, the encoded proof ([`PROOF_BYTES`]), the number of
/// public inputs (u32 BE), then each input as a 32-byte little-endian scalar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofFile {
    /// The proof.
    pub proof: Proof,
    /// The public inputs it proves.
    pub public_inputs: Vec<Fr>,
}

impl ProofFile {
    /// Encodes the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = PROOF_FILE_MAGIC.to_vec();
        out.extend_from_slice(&self.proof.to_bytes());
        out.extend_from_slice(&(self.public_inputs.len() as u32).to_be_bytes());
        for s in &self.public_inputs {
            put_scalar(&mut out, s);
        }
        out
    }

    /// Decodes the file, rejecting anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes, "proof file");
        if r.take(8)? != PROOF_FILE_MAGIC {
            return Err(ProtocolError::Mismatch(
                "not a tutti proof file (bad magic bytes)".into(),
            ));
        }
        let proof = Proof::from_bytes(r.take(PROOF_BYTES)?)?;
        let n = r.u32()? as usize;
        if n.saturating_mul(32) != r.remaining() {
            return Err(ProtocolError::Mismatch(format!(
                "proof file declares {n} public inputs but holds {} bytes for them",
                r.remaining()
            )));
        }
        let public_inputs = r.scalars(n)?;
        r.finish()?;
        Ok(ProofFile {
            proof,
            public_inputs,
        })
    }
}
