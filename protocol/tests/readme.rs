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
