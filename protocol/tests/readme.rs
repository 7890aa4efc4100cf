//! The library example of the README, kept compiling and passing.

use tutti_crypto::srs::InMemorySrs;
use tutti_protocol::{
    circuit::CircuitBuilder,
    layout::{Shape, ShardedCircuit},
};
use tutti_protocol::{
    keys::preprocess,
    runner::{NoClock, RunOptions, run_in_process},
};

#[test]
fn readme_library_example() -> Result<(), Box<dyn std::error::Error>> {
    let mut b = CircuitBuilder::new();
    let x = b.public_input(3u64.into());
    let y = b.input(4u64.into());
    let s = b.add(x, y);
    let _ = b.mul(s, y);
    let (circuit, witness) = b.build();
    let shape = Shape::new(2, 16)?; // 2 shards of 16 rows
    let sharded = ShardedCircuit::new(&circuit, shape)?;
    let srs = InMemorySrs::insecure_from_seed(2, 16, b"dev")?; // development only
    let keys = preprocess(&sharded, &srs)?;
    let inputs = witness.public_inputs(&circuit);
    // RunOptions::default() draws a fresh job secret from the OS; use
    // RunOptions::deterministic(secret) only for reproducible tests (the blinding is then
    // public).
    let report = run_in_process(
        &keys,
        sharded.shard_witnesses(&witness),
        &inputs,
        RunOptions::default(),
        &NoClock,
    )?;
    tutti_protocol::verifier::verify(&keys.aggregator.vk, &inputs, &report.proof)?;
    Ok(())
}

/// The arkworks example of the README: a Poseidon sponge gadget from
/// ark-crypto-primitives, compiled once for two shards, proved and verified.
#[cfg(feature = "arkworks")]
#[test]
fn readme_arkworks_example() -> Result<(), Box<dyn std::error::Error>> {
    use ark_crypto_primitives::sponge::constraints::CryptographicSpongeVar;
    use ark_crypto_primitives::sponge::poseidon::constraints::PoseidonSpongeVar;
    use ark_crypto_primitives::sponge::poseidon::{PoseidonConfig, find_poseidon_ark_and_mds};
    use ark_r1cs_std::{GR1CSVar, alloc::AllocVar, eq::EqGadget, fields::fp::FpVar};
    use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
    use tutti_protocol::{Fr, compiled::CompiledCircuit, import::arkworks};
    use tutti_protocol::{import::plonk::ConvertOptions, verifier::verify};

    /// Knows a and b whose Poseidon hash is the public input.
    struct HashPreimage {
        config: PoseidonConfig<Fr>,
        preimage: Option<[Fr; 2]>,
    }

    impl ConstraintSynthesizer<Fr> for HashPreimage {
        fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
            let missing = || SynthesisError::AssignmentMissing;
            let preimage = self.preimage;
            let inputs = (0..2)
                .map(|i| FpVar::new_witness(cs.clone(), || Ok(preimage.ok_or_else(missing)?[i])))
                .collect::<Result<Vec<_>, _>>()?;
            let mut sponge = PoseidonSpongeVar::new(cs.clone(), &self.config);
            sponge.absorb(&inputs)?;
            let hash = sponge.squeeze_field_elements(1)?.remove(0);
            FpVar::new_input(cs, || hash.value())?.enforce_equal(&hash)
        }
    }

    let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(254, 2, 8, 57, 0);
    let config = PoseidonConfig::new(8, 57, 5, mds, ark, 2, 1);

    // Once, without values: the circuit (and its keys) depend on the code alone.
    let r1cs = arkworks::synthesize_shape(HashPreimage {
        config: config.clone(),
        preimage: None,
    })?;
    let compiled = CompiledCircuit::from_r1cs(&r1cs, ConvertOptions::default(), 2, None)?;
    let shape = compiled.shape();
    let srs = InMemorySrs::insecure_from_seed(shape.shards, shape.shard_gates, b"dev")?; // dev only
    let keys = preprocess(compiled.sharded(), &srs)?;

    // Per proof: run the gadget on the values; the same path as a circom witness.
    let preimage = Some([Fr::from(1u64), Fr::from(2u64)]);
    let (_, w) = arkworks::synthesize(HashPreimage { config, preimage })?;
    let (witness, public) = compiled.witness_from_circom(&w)?; // public == [hash]
    let shards = compiled.sharded().shard_witnesses(&witness);
    let report = run_in_process(&keys, shards, &public, RunOptions::default(), &NoClock)?;
    verify(&keys.aggregator.vk, &public, &report.proof)?;
    assert_eq!(public.len(), 1);
    Ok(())
}
