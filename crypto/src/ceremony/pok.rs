//! Contribution records: a Schnorr proof of knowledge per secret, linked to the G2
//! update it proves, chained to the previous record by hash.

use super::{CeremonyError, CeremonyState, Trapdoor};
use crate::encoding::{G2_BYTES, Reader, put_g1, put_g2, put_scalar};
use crate::transcript::Transcript;
use crate::{Bn254, Fr, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::Zero;
use ark_std::UniformRand;
use ark_std::rand::{CryptoRng, RngCore};

/// Fiat–Shamir domain of the proofs of knowledge.
const POK_DOMAIN: &[u8] = b"tutti/ceremony/pok/v2";
/// BLAKE3 domain separator of [`Contribution::hash`].
const HASH_DOMAIN: &[u8] = b"tutti/ceremony/contribution/v2";
/// BLAKE3 domain separator of [`CeremonyState::genesis_hash`].
const GENESIS_DOMAIN: &[u8] = b"tutti/ceremony/genesis/v2";
/// Bytes of an encoded [`KnowledgeProof`]: two compressed G1 points and a scalar.
pub(crate) const PROOF_BYTES: usize = 32 + 32 + 32;
/// Bytes of an encoded [`Contribution`]: two G2 points, two proofs, the beacon flag and
/// value, the points digest and the hash.
pub(crate) const CONTRIBUTION_BYTES: usize = 2 * G2_BYTES + 2 * PROOF_BYTES + 1 + 32 + 32 + 32;

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
    prev_hash: &[u8; 32],
    which: Trapdoor,
    public: &G1Affine,
    commitment: &G1Affine,
    tau_new: &G2Affine,
) -> Fr {
    let mut t = Transcript::new(POK_DOMAIN);
    t.append_bytes("prev-hash", prev_hash);
    t.append_bytes(
        "trapdoor",
        match which {
            Trapdoor::X => b"X",
            Trapdoor::Y => b"Y",
        },
    );
    t.append_g1("public", public);
    t.append_g1("commitment", commitment);
    let mut g2 = Vec::with_capacity(G2_BYTES);
    put_g2(&mut g2, tau_new);
    t.append_bytes("new-g2", &g2);
    t.challenge_scalar("challenge")
}

impl KnowledgeProof {
    /// Proves knowledge of `x` for the update of `which` to `tau_new = x·[τ]₂`, bound to
    /// the hash of the previous record (or the genesis hash).
    pub fn prove<R: RngCore + CryptoRng>(
        x: Fr,
        prev_hash: &[u8; 32],
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
        let c = challenge(prev_hash, which, &public, &commitment, tau_new);
        KnowledgeProof {
            public,
            commitment,
            response: k + c * x,
        }
    }

    /// Checks the Schnorr equation `z·G = R + c·P`.
    pub fn verify(&self, prev_hash: &[u8; 32], which: Trapdoor, tau_new: &G2Affine) -> bool {
        let c = challenge(prev_hash, which, &self.public, &self.commitment, tau_new);
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

/// One contribution's public record. The records of a state chain by hash from the
/// ceremony's genesis hash, and carry the G2 points after each contribution, so that the
/// final state alone lets anyone check every contribution's proofs and G2 update from the
/// start ([`super::verify_ceremony`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// `[τ_X]₂` after this contribution.
    pub tau_x_g2: G2Affine,
    /// `[τ_Y]₂` after this contribution.
    pub tau_y_g2: G2Affine,
    /// Proof for r, the τ_X update.
    pub x: KnowledgeProof,
    /// Proof for s, the τ_Y update.
    pub y: KnowledgeProof,
    /// For the closing contribution of a public random beacon, the beacon value its
    /// secrets are derived from ([`super::beacon_secrets`]): anyone can recompute them.
    pub beacon: Option<[u8; 32]>,
    /// BLAKE3 of the state's points after this contribution (see
    /// [`CeremonyState::points_digest`]): names the grid this contributor produced.
    pub points_digest: [u8; 32],
    /// BLAKE3("tutti/ceremony/contribution/v2" ‖ previous hash ‖ the record's other
    /// fields in their encoding): the value a contributor publishes, and for the last
    /// record the digest of the whole transcript.
    pub hash: [u8; 32],
}

impl Contribution {
    /// Proves the update from `prev` to `next` (a state already scaled by r and s, see
    /// [`CeremonyState::scaled`], whose records are still `prev`'s), computes the hash
    /// and appends the record to `next`'s list.
    pub fn create<R: RngCore + CryptoRng>(
        prev: &CeremonyState,
        next: &mut CeremonyState,
        r: Fr,
        s: Fr,
        beacon: Option<[u8; 32]>,
        rng: &mut R,
    ) -> Result<Self, CeremonyError> {
        prev.check_shape()?;
        next.check_shape()?;
        if next.contributions != prev.contributions {
            return Err(CeremonyError::ContributionList);
        }
        let prev_hash = prev.transcript_hash();
        let x = KnowledgeProof::prove(r, &prev_hash, Trapdoor::X, &next.tau_x_g2, rng);
        let y = KnowledgeProof::prove(s, &prev_hash, Trapdoor::Y, &next.tau_y_g2, rng);
        let mut c = Contribution {
            tau_x_g2: next.tau_x_g2,
            tau_y_g2: next.tau_y_g2,
            x,
            y,
            beacon,
            points_digest: next.points_digest(),
            hash: [0; 32],
        };
        c.hash = c.compute_hash(&prev_hash);
        next.contributions.push(c.clone());
        Ok(c)
    }

    /// The hash this record must carry after a record (or genesis) of hash `prev_hash`.
    pub fn compute_hash(&self, prev_hash: &[u8; 32]) -> [u8; 32] {
        let mut body = Vec::with_capacity(CONTRIBUTION_BYTES);
        self.encode_body(&mut body);
        let mut h = blake3::Hasher::new();
        h.update(HASH_DOMAIN);
        h.update(prev_hash);
        h.update(&body);
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

    fn encode_body(&self, out: &mut Vec<u8>) {
        put_g2(out, &self.tau_x_g2);
        put_g2(out, &self.tau_y_g2);
        self.x.encode(out);
        self.y.encode(out);
        out.push(self.beacon.is_some() as u8);
        out.extend_from_slice(&self.beacon.unwrap_or([0; 32]));
        out.extend_from_slice(&self.points_digest);
    }

    /// Appends the encoding ([`CONTRIBUTION_BYTES`] bytes): `[τ_X]₂ ‖ [τ_Y]₂` (compressed,
    /// 64 each), the two proofs (P and R compressed, 32 each, and z, 32), the beacon flag
    /// (u8, 0 or 1) and value (32, zero without a beacon), the points digest, the hash.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        self.encode_body(out);
        out.extend_from_slice(&self.hash);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, CeremonyError> {
        let tau_x_g2 = r.g2()?;
        let tau_y_g2 = r.g2()?;
        let x = KnowledgeProof::decode(r)?;
        let y = KnowledgeProof::decode(r)?;
        let flag = r.u8()?;
        let value: [u8; 32] = r.array()?;
        let beacon = match flag {
            0 if value == [0; 32] => None,
            1 => Some(value),
            _ => {
                return Err(CeremonyError::Decode(format!(
                    "beacon flag {flag} (with a value of {} zero bytes) is not 0 with zeros or 1",
                    value.iter().filter(|b| **b == 0).count()
                )));
            }
        };
        Ok(Contribution {
            tau_x_g2,
            tau_y_g2,
            x,
            y,
            beacon,
            points_digest: r.array()?,
            hash: r.array()?,
        })
    }
}

impl CeremonyState {
    /// The hash the first record chains from: BLAKE3("tutti/ceremony/genesis/v2" ‖ M u32 ‖
    /// T u32 ‖ origin), where the origin is a zero byte for a ceremony started at
    /// [`CeremonyState::init`], or a one byte, the `.ptau` file's BLAKE3 digest and the
    /// `[τ_X]₂` taken from it for one started at [`CeremonyState::from_ptau`] (τ_X never
    /// changes in such a ceremony, so every state carries that point).
    pub fn genesis_hash(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(GENESIS_DOMAIN);
        h.update(&(self.shards as u32).to_be_bytes());
        h.update(&(self.shard_gates as u32).to_be_bytes());
        match &self.x_from_ptau {
            None => {
                h.update(&[0]);
            }
            Some(d) => {
                let mut g2 = Vec::with_capacity(G2_BYTES);
                put_g2(&mut g2, &self.tau_x_g2);
                h.update(&[1]);
                h.update(d);
                h.update(&g2);
            }
        }
        *h.finalize().as_bytes()
    }

    /// The digest of the whole transcript so far: the last record's hash, or the genesis
    /// hash before any contribution. The SRS finalized from this state carries it.
    pub fn transcript_hash(&self) -> [u8; 32] {
        self.contributions
            .last()
            .map_or_else(|| self.genesis_hash(), |c| c.hash)
    }

    /// BLAKE3 of the state's points encoding (header, G2 points, grid, extra Y powers;
    /// everything but the records), hashed in parallel.
    pub fn points_digest(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update_rayon(&self.encode_points());
        *h.finalize().as_bytes()
    }
}
