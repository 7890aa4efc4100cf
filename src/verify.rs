//! `tutti verify`: exit 0 when the proof is valid, 1 when it is not, 2 on unusable input.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::proof::ProofFile;
use tutti_protocol::verifier::verify;

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

pub fn run(vk_path: &Path, proof_path: &Path) -> ExitCode {
    let vk = match read(vk_path, "verifying key").and_then(|b| {
        VerifyingKey::from_bytes(&b).map_err(|e| format!("{}: {e}", vk_path.display()))
    }) {
        Ok(vk) => vk,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if vk.insecure_srs {
        eprintln!(
            "warning: this verifying key comes from an INSECURE seeded SRS; its proofs can be forged"
        );
    }
    let bytes = match read(proof_path, "proof") {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let file = match ProofFile::from_bytes(&bytes) {
        Ok(f) => f,
        Err(e) => {
            println!("invalid: {}: {e}", proof_path.display());
            return ExitCode::from(1);
        }
    };
    let start = Instant::now();
    match verify(&vk, &file.public_inputs, &file.proof) {
        Ok(()) => {
            println!(
                "valid: proof of {} public inputs verified in {:.2} ms",
                file.public_inputs.len(),
                start.elapsed().as_secs_f64() * 1e3
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("invalid: {e}");
            ExitCode::from(1)
        }
    }
}
