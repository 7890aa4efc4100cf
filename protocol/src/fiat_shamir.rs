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

#[cfg(test)]
mod tests {
    use super::DOMAIN;
    use ark_ff::{BigInteger, PrimeField};
    use tutti_crypto::Fr;
    use tutti_crypto::transcript::Transcript;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn be(s: &Fr) -> String {
        hex(&s.into_bigint().to_bytes_be())
    }

    /// The test vectors of spec/transcript.md §3, for format 2's domain and format 1's.
    #[test]
    fn spec_test_vectors() {
        let mut t = Transcript::new(DOMAIN);
        assert_eq!(
            hex(&t.state()),
            "6633019d08d76073e5f082d65d45499f18b6bc982fe54f529858b6236cb898ec"
        );
        t.append_bytes("vk", &[0u8; 32]);
        t.append_scalars("public_inputs", &[Fr::from(1u64), Fr::from(2u64)]);
        let beta = t.challenge_scalar("beta");
        assert_eq!(
            be(&beta),
            "2a7e7707ba96bc8d76baa16b929ddd74ef4a2184dcbbc7e8c60ab2105b9e1e4c"
        );
        assert_eq!(
            hex(&t.state()),
            "f83318109563ed23b2d51f0dc4f32cda12dd87c80c8b295b9b1ca28225a9a97b"
        );
        let gamma = t.challenge_scalar("gamma");
        assert_eq!(
            be(&gamma),
            "2e993037e44dfd6e597d93c7f93b54cfade4ff30936ba7af810cabc0c82c2a05"
        );
        assert_eq!(
            hex(&t.state()),
            "7a00712a0d8723754e2709d12b3511801e7854b86047a16b586668cea3f312b8"
        );
        let mut v1 = Transcript::new(b"tutti/plonk/v1");
        assert_eq!(
            hex(&v1.state()),
            "d60303a368661185b2f66d6026c2c9407552f9605c75525bd50e2d65c93c0bd2"
        );
        v1.append_bytes("vk", &[0u8; 32]);
        v1.append_scalars("public_inputs", &[Fr::from(1u64), Fr::from(2u64)]);
        assert_eq!(
            be(&v1.challenge_scalar("beta")),
            "2ee917d207dcd8b41c65e4246e2594d1c45054e36d047641107e30c2e1b8f5df"
        );
    }
}
