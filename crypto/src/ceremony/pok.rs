//! Contributions: a Schnorr proof of knowledge per secret, linked to the G2 update, and
//! the contribution hash.

use super::{CeremonyError, CeremonyState, Trapdoor};
use crate::encoding::{Reader, put_g1, put_g2, put_scalar};
use crate::transcript::Transcript;
use crate::{Bn254, Fr, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::Zero;
use ark_std::UniformRand;
use ark_std::rand::{CryptoRng, RngCore};

/// Fiat–Shamir domain of the proofs of knowledge.
const POK_DOMAIN: &[u8] = b"tutti/ceremony/pok/v1";
/// BLAKE3 domain separator of [`Contribution::hash`].
const HASH_DOMAIN: &[u8] = b"tutti/ceremony/contribution/v1";
/// Bytes of an encoded [`KnowledgeProof`]: two compressed G1 points and a scalar.
pub(crate) const PROOF_BYTES: usize = 32 + 32 + 32;
/// Bytes of an encoded [`Contribution`].
pub(crate) const CONTRIBUTION_BYTES: usize = 2 * PROOF_BYTES + 32;

/// A Schnorr proof of knowledge of a contribution secret x for one trapdoor, with the
/// point `P = x·G` that links it to the G2 update (`e(P, [τ]₂) = e(G, [τ']₂)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnowledgeProof {
    /// `P = x·G`.
    pub public: G1Affine,
    /// `R = k·G` for the prover's nonce k.
    pub commitment: G1Affine,
    /// `z = k + c·x`.
    pub response: Fr,
}

fn challenge(
    prev_digest: &[u8; 32],
    which: Trapdoor,
    public: &G1Affine,
    commitment: &G1Affine,
    tau_new: &G2Affine,
) -> Fr {
    let mut t = Transcript::new(POK_DOMAIN);
    t.append_bytes("prev-digest", prev_digest);
    t.append_bytes(
        "trapdoor",
        match which {
            Trapdoor::X => b"X",
            Trapdoor::Y => b"Y",
        },
    );
    t.append_g1("public", public);
    t.append_g1("commitment", commitment);
    let mut g2 = Vec::with_capacity(64);
    put_g2(&mut g2, tau_new);
    t.append_bytes("new-g2", &g2);
    t.challenge_scalar("challenge")
}

impl KnowledgeProof {
    /// Proves knowledge of `x` for the update of `which` to `tau_new = x·[τ]₂`, bound to
    /// the previous state's digest.
    pub fn prove<R: RngCore + CryptoRng>(
        x: Fr,
        prev_digest: &[u8; 32],
        which: Trapdoor,
        tau_new: &G2Affine,
        rng: &mut R,
    ) -> Self {
        let g = G1Affine::generator();
        let k = loop {
            let k = Fr::rand(rng);
            if !k.is_zero() {
                break k;
            }
        };
        let public = (g * x).into_affine();
        let commitment = (g * k).into_affine();
        let c = challenge(prev_digest, which, &public, &commitment, tau_new);
        KnowledgeProof {
            public,
            commitment,
            response: k + c * x,
        }
    }

    /// Checks the Schnorr equation `z·G = R + c·P`.
    pub fn verify(&self, prev_digest: &[u8; 32], which: Trapdoor, tau_new: &G2Affine) -> bool {
        let c = challenge(prev_digest, which, &self.public, &self.commitment, tau_new);
        let g = G1Affine::generator();
        g * self.response == self.commitment.into_group() + self.public * c
    }

    /// Checks the link to G2: `e(P, tau_prev) = e(G, tau_new)`, i.e. `τ' = x·τ`.
    pub fn links(&self, tau_prev: &G2Affine, tau_new: &G2Affine) -> bool {
        let g = G1Affine::generator();
        Bn254::multi_pairing([self.public, -g], [*tau_prev, *tau_new]).is_zero()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_g1(out, &self.public);
        put_g1(out, &self.commitment);
        put_scalar(out, &self.response);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, CeremonyError> {
        Ok(KnowledgeProof {
            public: r.g1()?,
            commitment: r.g1()?,
            response: r.scalar()?,
        })
    }
}

/// One contribution: proofs of knowledge of its secrets r (τ_X) and s (τ_Y) and its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// Proof for r, the τ_X update.
    pub x: KnowledgeProof,
    /// Proof for s, the τ_Y update.
    pub y: KnowledgeProof,
    /// BLAKE3("tutti/ceremony/contribution/v1" ‖ previous state's digest ‖ the new
    /// state's points encoding (everything but the contribution list) ‖ the two proofs).
    pub hash: [u8; 32],
}

impl Contribution {
    /// Proves the update from `prev` to `next` (a state already scaled by r and s, see
    /// [`CeremonyState::scaled`], whose contribution list is still `prev`'s), computes
    /// the hash and appends the contribution to `next`'s list.
    pub fn create<R: RngCore + CryptoRng>(
        prev: &CeremonyState,
        next: &mut CeremonyState,
        r: Fr,
        s: Fr,
        rng: &mut R,
    ) -> Result<Self, CeremonyError> {
        prev.check_shape()?;
        next.check_shape()?;
        if next.contributions != prev.contributions {
            return Err(CeremonyError::ContributionList);
        }
        let d = prev.digest();
        let x = KnowledgeProof::prove(r, &d, Trapdoor::X, &next.tau_x_g2, rng);
        let y = KnowledgeProof::prove(s, &d, Trapdoor::Y, &next.tau_y_g2, rng);
        let hash = Self::compute_hash(&d, next, &x, &y);
        let c = Contribution { x, y, hash };
        next.contributions.push(c.clone());
        Ok(c)
    }

    /// The hash a contribution with these proofs from a state of digest `prev_digest` to
    /// `next` must carry.
    pub fn compute_hash(
        prev_digest: &[u8; 32],
        next: &CeremonyState,
        x: &KnowledgeProof,
        y: &KnowledgeProof,
    ) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(HASH_DOMAIN);
        h.update(prev_digest);
        h.update_rayon(&next.encode_points());
        let mut proofs = Vec::with_capacity(2 * PROOF_BYTES);
        x.encode(&mut proofs);
        y.encode(&mut proofs);
        h.update(&proofs);
        *h.finalize().as_bytes()
    }

    /// The G1 points of the proofs, with the trapdoor each belongs to.
    pub(crate) fn points(&self) -> [(Trapdoor, G1Affine); 4] {
        [
            (Trapdoor::X, self.x.public),
            (Trapdoor::X, self.x.commitment),
            (Trapdoor::Y, self.y.public),
            (Trapdoor::Y, self.y.commitment),
        ]
    }

    /// Appends the encoding: the two proofs (public point, commitment, compressed, and
    /// response, 96 bytes each) then the hash (224 bytes in all).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        self.x.encode(out);
        self.y.encode(out);
        out.extend_from_slice(&self.hash);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, CeremonyError> {
        Ok(Contribution {
            x: KnowledgeProof::decode(r)?,
            y: KnowledgeProof::decode(r)?,
            hash: r.array()?,
        })
    }
}
