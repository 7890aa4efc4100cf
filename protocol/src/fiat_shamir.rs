//! The Fiat–Shamir schedule: what is absorbed before each challenge. The aggregator and
//! the verifier both call these functions, so they cannot drift apart.

use crate::keys::VerifyingKey;
use crate::messages::QUOTIENT_PIECES;
use crate::proof::ProofEvaluations;
use tutti_crypto::transcript::Transcript;
use tutti_crypto::{Fr, G1Affine};

/// Domain separator of the tutti Plonk transcript.
pub const DOMAIN: &[u8] = b"tutti/plonk/v2";

/// Starts the transcript: verifying-key digest and public inputs.
pub fn start(vk: &VerifyingKey, public_inputs: &[Fr]) -> Transcript {
    let mut t = Transcript::new(DOMAIN);
    t.append_bytes("vk", &vk.digest());
    t.append_scalars("public_inputs", public_inputs);
    t
}

/// Absorbs the wire commitments; draws (β, γ).
pub fn permutation_challenges(t: &mut Transcript, wires: &[G1Affine; 3]) -> (Fr, Fr) {
    t.append_g1s("wires", wires);
    (t.challenge_scalar("beta"), t.challenge_scalar("gamma"))
}

/// Absorbs the commitments to z and W; draws α.
pub fn combination_challenge(t: &mut Transcript, z: &G1Affine, w: &G1Affine) -> Fr {
    t.append_g1("z", z);
    t.append_g1("w", w);
    t.challenge_scalar("alpha")
}

/// Absorbs the X-quotient commitments; draws x.
pub fn x_point(t: &mut Transcript, quotient_x: &[G1Affine; QUOTIENT_PIECES]) -> Fr {
    t.append_g1s("quotient_x", quotient_x);
    t.challenge_scalar("x")
}

/// Absorbs the Y-quotient commitment; draws y.
pub fn y_point(t: &mut Transcript, quotient_y: &G1Affine) -> Fr {
    t.append_g1("quotient_y", quotient_y);
    t.challenge_scalar("y")
}

/// Absorbs every opened value (shifted ones included); draws ν.
pub fn batching_challenge(t: &mut Transcript, evals: &ProofEvaluations) -> Fr {
    t.append_scalars("evaluations", &evals.to_vec());
    t.challenge_scalar("nu")
}

/// Absorbs the summed X-opening proofs; draws μ (folds the openings at y).
pub fn fold_challenge(t: &mut Transcript, open_x: &G1Affine, open_x_shift: &G1Affine) -> Fr {
    t.append_g1("open_x", open_x);
    t.append_g1("open_x_shift", open_x_shift);
    t.challenge_scalar("mu")
}

/// Absorbs the Y-opening proofs; draws u (combines the two Y points).
pub fn final_challenge(t: &mut Transcript, open_y: &G1Affine, open_y_shift: &G1Affine) -> Fr {
    t.append_g1("open_y", open_y);
    t.append_g1("open_y_shift", open_y_shift);
    t.challenge_scalar("u")
}
