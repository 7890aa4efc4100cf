//! `tutti verify`: exit 0 when the proof is valid, 1 when it is not (or the key is not the
//! pinned one), 2 on unusable input. Prints the key's SRS id, where its SRS came from
//! (a ceremony's transcript digest, a single-party setup, a seed) and its digest, and
//! warns on stderr when its SRS is seeded.

use crate::inputs::parse_public_json;
use crate::trust::{insecure_srs, to_hex};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::proof::ProofFile;
use tutti_protocol::verifier::verify;

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// Verifies the proof file at `proof_path` against the key at `vk_path`, refusing a key
/// whose digest or SRS id differs from a pinned one.
pub fn run(
    vk_path: &Path,
    proof_path: &Path,
    vk_digest: Option<[u8; 32]>,
    srs_id: Option<[u8; 32]>,
    public: Option<&Path>,
) -> ExitCode {
    let vk = match read(vk_path, "verifying key").and_then(|b| {
        VerifyingKey::from_bytes(&b).map_err(|e| format!("{}: {e}", vk_path.display()))
    }) {
        Ok(vk) => vk,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (got_srs, got_digest) = (vk.srs_id(), vk.digest());
    if let Some(why) = insecure_srs(&vk) {
        eprintln!(
            "WARNING: this verifying key is INSECURE: {why}. A \"valid\" below proves nothing."
        );
    }
    if let Some(want) = vk_digest.filter(|w| *w != got_digest) {
        println!(
            "invalid: the verifying key's digest is {}, not the pinned --vk-digest {}",
            to_hex(&got_digest),
            to_hex(&want)
        );
        return ExitCode::from(1);
    }
    if let Some(want) = srs_id.filter(|w| *w != got_srs) {
        println!(
            "invalid: the verifying key was made with the SRS {}, not the pinned --srs-id {}",
            to_hex(&got_srs),
            to_hex(&want)
        );
        return ExitCode::from(1);
    }
    let origin = match (&vk.srs_transcript, vk.insecure_srs) {
        (_, true) => "seeded (INSECURE)".to_string(),
        (Some(t), false) => format!("ceremony, transcript {}", to_hex(t)),
        (None, false) => "single-party setup".to_string(),
    };
    let ids = format!(
        "  SRS id     {}\n  SRS from   {origin}\n  vk digest  {}",
        to_hex(&got_srs),
        to_hex(&got_digest)
    );
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
    let statement = match public {
        None => file.public_inputs.clone(),
        Some(path) => match read(path, "public inputs")
            .and_then(|b| {
                String::from_utf8(b).map_err(|_| format!("{} is not UTF-8", path.display()))
            })
            .and_then(|t| parse_public_json(&t).map_err(|e| format!("{}: {e:#}", path.display())))
        {
            Ok(values) => values,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    if statement != file.public_inputs {
        println!(
            "invalid: the proof file's {} public inputs are not the {} of {}",
            file.public_inputs.len(),
            statement.len(),
            public.map(|p| p.display().to_string()).unwrap_or_default()
        );
        println!("{ids}");
        return ExitCode::from(1);
    }
    let start = Instant::now();
    match verify(&vk, &statement, &file.proof) {
        Ok(()) => {
            println!(
                "valid: proof of {} public inputs verified in {:.2} ms",
                file.public_inputs.len(),
                start.elapsed().as_secs_f64() * 1e3
            );
            println!("{ids}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("invalid: {e}");
            println!("{ids}");
            ExitCode::from(1)
        }
    }
}
