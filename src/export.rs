//! `tutti export`: artifacts for checking proofs on Ethereum — the Solidity verifier of a
//! verifying key, and the complete `verifyProof` call of a proof.

use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use tutti_evm::{calldata, proof_evm_bytes, solidity::verifier_source};
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::proof::ProofFile;

/// What `tutti export` writes.
#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Write a self-contained Solidity verifier with the verifying key embedded
    /// (`verifyProof(bytes proof, uint256[] pubSignals) returns (bool)`, BN254 precompiles,
    /// pragma solidity 0.8.28; compile with the optimizer and viaIR).
    Solidity {
        /// Verifying key file.
        #[arg(long)]
        vk: PathBuf,
        /// Where to write the contract ("-" for standard output).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
    /// Print the ABI-encoded call of `verifyProof` for a proof file (selector included),
    /// as one 0x-prefixed hex string ready for `eth_call`.
    Calldata {
        /// Proof file (as `tutti prove` writes it).
        #[arg(long)]
        proof: PathBuf,
        /// Print the proof's EVM form and the public signals separately, as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn hex(bytes: &[u8]) -> String {
    format!("0x{}", crate::trust::to_hex(bytes))
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Runs one export command.
pub fn run(command: ExportCommand) -> Result<()> {
    match command {
        ExportCommand::Solidity { vk, out } => {
            let key = VerifyingKey::from_bytes(&read(&vk, "verifying key")?)
                .with_context(|| format!("{} is not a verifying key", vk.display()))?;
            if let Some(why) = crate::trust::insecure_srs(&key) {
                eprintln!("WARNING: this verifying key is INSECURE: {why}.");
            }
            let source = verifier_source(&key)?;
            if out == Path::new("-") {
                print!("{source}");
            } else {
                std::fs::write(&out, source)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                eprintln!("wrote {}", out.display());
            }
        }
        ExportCommand::Calldata { proof, json } => {
            let file = ProofFile::from_bytes(&read(&proof, "proof file")?)
                .with_context(|| format!("{} is not a proof file", proof.display()))?;
            if json {
                let signals: Vec<String> = file
                    .public_inputs
                    .iter()
                    .map(tutti_evm::scalar_decimal)
                    .collect();
                let obj = serde_json::json!({
                    "proof": hex(&proof_evm_bytes(&file.proof)),
                    "pubSignals": signals,
                });
                println!("{obj}");
            } else {
                println!("{}", hex(&calldata(&file.proof, &file.public_inputs)));
            }
        }
    }
    Ok(())
}
