//! `tutti setup`: generate an SRS file.

use anyhow::{Context, Result, bail};
use rand::RngCore;
use std::path::Path;
use tutti_crypto::srs::InMemorySrs;

pub fn run(shards: usize, shard_gates: usize, out: &Path, seed: Option<&str>) -> Result<()> {
    if !shards.is_power_of_two() || !shard_gates.is_power_of_two() {
        bail!("--shards and --shard-gates must be powers of two (got {shards} and {shard_gates})");
    }
    let srs = match seed {
        Some(seed) => {
            eprintln!(
                "WARNING: --seed makes an INSECURE SRS: anyone who knows the seed {seed:?} can forge proofs. Use it for development only."
            );
            InMemorySrs::insecure_from_seed(shards, shard_gates, seed.as_bytes())?
        }
        None => {
            let mut entropy = [0u8; 64];
            rand::rngs::OsRng.fill_bytes(&mut entropy);
            eprintln!(
                "note: single-party setup: the secrets come from this machine's randomness and are discarded; trust in the SRS rests on this machine."
            );
            InMemorySrs::from_entropy(shards, shard_gates, &entropy)?
        }
    };
    srs.write_file(out)
        .with_context(|| format!("writing the SRS to {}", out.display()))?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {} ({} shards, {} rows per shard, {:.1} MiB)",
        out.display(),
        shards,
        shard_gates,
        size as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}
