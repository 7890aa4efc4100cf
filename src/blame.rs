//! `tutti blame verify`: check a blame certificate offline with the verifying key.

use std::path::Path;
use std::process::ExitCode;
use tutti_protocol::blame::BlameCertificate;
use tutti_protocol::keys::VerifyingKey;

pub fn verify(cert_path: &Path, vk_path: &Path) -> ExitCode {
    let vk = match std::fs::read(vk_path)
        .map_err(|e| format!("cannot read {}: {e}", vk_path.display()))
        .and_then(|b| {
            VerifyingKey::from_bytes(&b).map_err(|e| format!("{}: {e}", vk_path.display()))
        }) {
        Ok(vk) => vk,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(cert_path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", cert_path.display());
            return ExitCode::from(2);
        }
    };
    let cert = match BlameCertificate::from_bytes(&bytes) {
        Ok(c) => c,
        Err(e) => {
            println!("invalid: {}: {e}", cert_path.display());
            return ExitCode::from(1);
        }
    };
    match cert.verify(&vk) {
        Ok(()) => {
            println!(
                "valid: worker {} broke the protocol on shard {}: {}",
                cert.worker().to_hex(),
                cert.shard(),
                cert.offence.name()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("invalid: {e}");
            ExitCode::from(1)
        }
    }
}
