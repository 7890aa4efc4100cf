//! The `tutti` binary end to end: setup, prove, verify, demo, and its errors.

mod common;

use common::tutti;
use std::path::Path;
use std::process::Output;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn setup_prove_verify_and_tamper() {
    let dir = tempfile::tempdir().unwrap();
    let (srs, proof, vk) = (
        dir.path().join("srs.bin"),
        dir.path().join("proof.bin"),
        dir.path().join("vk.bin"),
    );
    let out = tutti(&[
        "setup",
        "--shards",
        "4",
        "--shard-gates",
        "32",
        "--out",
        s(&srs),
        "--seed",
        "cli-test",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("INSECURE"));

    let out = tutti(&[
        "prove",
        "--circuit",
        "random",
        "--shards",
        "4",
        "--shard-gates",
        "32",
        "--srs",
        s(&srs),
        "--out",
        s(&proof),
        "--vk-out",
        s(&vk),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verified"], true);
    assert_eq!(json["shards"], 4);
    assert_eq!(json["shard_gates"], 32);
    assert_eq!(json["proof_bytes"], 673);
    for key in [
        "prove_ms",
        "worker_ms_max",
        "aggregator_ms",
        "verify_ms",
        "bytes_per_worker",
    ] {
        assert!(
            json[key].as_f64().is_some_and(|v| v > 0.0),
            "{key} missing in {json}"
        );
    }

    let out = tutti(&["verify", "--vk", s(&vk), "--proof", s(&proof)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.starts_with("valid"));
    // A seeded SRS: a loud warning on stderr.
    assert!(String::from_utf8_lossy(&out.stderr).contains("WARNING"));
    // The key's digest and SRS id are printed; pinning them passes, pinning others fails.
    let printed = |label: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|| panic!("no {label} in {stdout}"))
    };
    let (digest, srs_id) = (printed("vk digest"), printed("SRS id"));
    assert_eq!(digest.len(), 64);
    assert_eq!(srs_id.len(), 64);
    let pinned =
        |flag: &str, hex: &str| tutti(&["verify", "--vk", s(&vk), "--proof", s(&proof), flag, hex]);
    assert_eq!(pinned("--vk-digest", &digest).status.code(), Some(0));
    assert_eq!(pinned("--srs-id", &srs_id).status.code(), Some(0));
    let other = "ab".repeat(32);
    for flag in ["--vk-digest", "--srs-id"] {
        let out = pinned(flag, &other);
        assert_eq!(out.status.code(), Some(1), "{flag}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with("invalid") && text.contains(&format!("not the pinned {flag}")),
            "{text}"
        );
    }

    // One flipped bit in the proof: exit 1 with a reason.
    let mut bytes = std::fs::read(&proof).unwrap();
    bytes[200] ^= 4;
    std::fs::write(&proof, &bytes).unwrap();
    let out = tutti(&["verify", "--vk", s(&vk), "--proof", s(&proof)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("invalid"));

    // A verifying key that is not one: exit 2, no panic.
    std::fs::write(&vk, b"garbage").unwrap();
    let out = tutti(&["verify", "--vk", s(&vk), "--proof", s(&proof)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));

    // An SRS for the wrong shape: a readable error.
    let out = tutti(&[
        "prove",
        "--circuit",
        "random",
        "--shards",
        "8",
        "--shard-gates",
        "32",
        "--srs",
        s(&srs),
        "--out",
        s(&proof),
        "--vk-out",
        s(&vk),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SRS is for 4 shards"));
}

#[test]
fn demo_runs_the_rollup() {
    let out = tutti(&["demo", "--shards", "2", "--shard-gates", "1024", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verified"], true);
    assert_eq!(json["circuit"], "rollup");
}

#[test]
fn truncated_srs_is_a_readable_error() {
    let dir = tempfile::tempdir().unwrap();
    let srs = dir.path().join("srs.bin");
    assert!(
        tutti(&[
            "setup",
            "--shards",
            "2",
            "--shard-gates",
            "16",
            "--out",
            s(&srs),
            "--seed",
            "t"
        ])
        .status
        .success()
    );
    let bytes = std::fs::read(&srs).unwrap();
    std::fs::write(&srs, &bytes[..bytes.len() - 10]).unwrap();
    let out = tutti(&[
        "prove",
        "--circuit",
        "random",
        "--shards",
        "2",
        "--shard-gates",
        "16",
        "--srs",
        s(&srs),
        "--out",
        s(&dir.path().join("p")),
        "--vk-out",
        s(&dir.path().join("v")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
}

#[test]
fn injected_faults_are_survived_and_blamed() {
    let dir = tempfile::tempdir().unwrap();
    let (srs, proof, vk, blame) = (
        dir.path().join("srs.bin"),
        dir.path().join("proof.bin"),
        dir.path().join("vk.bin"),
        dir.path().join("blame"),
    );
    assert!(
        tutti(&[
            "setup",
            "--shards",
            "4",
            "--shard-gates",
            "16",
            "--out",
            s(&srs),
            "--seed",
            "f"
        ])
        .status
        .success()
    );
    let out = tutti(&[
        "prove",
        "--circuit",
        "random",
        "--shards",
        "4",
        "--shard-gates",
        "16",
        "--srs",
        s(&srs),
        "--out",
        s(&proof),
        "--vk-out",
        s(&vk),
        "--spares",
        "2",
        "--inject",
        "1:wrong-evaluation",
        "--inject",
        "3:stall@2",
        "--blame-out",
        s(&blame),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verified"], true);
    assert_eq!(json["blamed"].as_array().unwrap().len(), 1);
    let moved = json["reassigned"].as_array().unwrap();
    assert_eq!(moved.len(), 2);
    assert!(
        moved
            .iter()
            .any(|m| m["shard"] == 3 && m["reason"] == "timeout")
    );
    assert!(json["attempts"].as_u64().is_some());
    assert!(json["recovery_ms"].as_f64().is_some());

    let certs: Vec<_> = std::fs::read_dir(&blame)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(certs.len(), 1);
    let out = tutti(&["blame", "verify", s(&certs[0]), "--vk", s(&vk)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A tampered certificate proves nothing.
    let mut bytes = std::fs::read(&certs[0]).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 1;
    std::fs::write(&certs[0], &bytes).unwrap();
    let out = tutti(&["blame", "verify", s(&certs[0]), "--vk", s(&vk)]);
    assert_eq!(out.status.code(), Some(1));

    // Too few spares: a clear error, nothing written.
    let lonely = dir.path().join("none.bin");
    let out = tutti(&[
        "prove",
        "--circuit",
        "random",
        "--shards",
        "4",
        "--shard-gates",
        "16",
        "--srs",
        s(&srs),
        "--out",
        s(&lonely),
        "--vk-out",
        s(&vk),
        "--inject",
        "0:crash",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not enough workers"));
    assert!(!lonely.exists());

    // A malformed --inject is refused with the list of faults.
    let out = tutti(&[
        "prove",
        "--circuit",
        "random",
        "--shards",
        "4",
        "--shard-gates",
        "16",
        "--srs",
        s(&srs),
        "--out",
        s(&proof),
        "--vk-out",
        s(&vk),
        "--inject",
        "1:explode",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong-commitment"));
}

#[test]
fn bench_prints_every_key() {
    let out = tutti(&["bench", "--shards", "2", "--shard-gates", "32", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "single_ms_n",
        "single_ms_t",
        "worker_ms_max",
        "aggregator_ms",
        "speedup",
        "ideal_speedup",
        "floor_ms_t",
        "worker_over_single_t",
        "single_over_floor_t",
        "verify_ms",
        "proof_bytes",
        "bytes_per_worker",
        "worker_peak_rss_mb",
        "worker_ms_median",
        "bytes_per_worker_signed",
        "coordinator_ms",
        "pairing3_ms",
        "evm_verify_gas",
        "evm_deploy_gas",
        "verify_over_pairing",
        "aggregator_over_pairing",
    ] {
        assert!(
            json[key].as_f64().is_some_and(|v| v > 0.0),
            "{key} missing or zero in {json}"
        );
    }
    assert_eq!(json["proof_bytes"], 673);
    // A verification transaction is at least the 21,000 base and a 3-pair pairing.
    let gas = json["evm_verify_gas"].as_u64().unwrap_or(0);
    assert!((21_000 + 147_000..1_000_000).contains(&gas), "{json}");
    // Signing adds the envelopes: the robust path carries more than the bare messages.
    let bare = json["bytes_per_worker"].as_u64().unwrap_or(0);
    let signed = json["bytes_per_worker_signed"].as_u64().unwrap_or(0);
    assert!(signed > bare, "{json}");
    let (median, max) = (
        json["worker_ms_median"].as_f64(),
        json["worker_ms_max"].as_f64(),
    );
    assert!(median <= max, "{json}");
    let (verify, pairing, ratio) = (
        json["verify_ms"].as_f64().unwrap_or(0.0),
        json["pairing3_ms"].as_f64().unwrap_or(0.0),
        json["verify_over_pairing"].as_f64().unwrap_or(0.0),
    );
    assert!((ratio - verify / pairing).abs() < 0.01 * ratio, "{json}");
}

/// `tutti submit` refuses, before contacting anyone, to run without a pinned verifying
/// key, and refuses a seeded SRS unless told `--allow-insecure-srs`.
#[test]
fn submit_needs_a_pinned_key_and_a_trusted_srs() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let ok = |out: &Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        )
    };
    ok(&tutti(&["keygen", "identity", "--out", &p("client.key")]));
    for (file, seed) in [("srs.bin", "cli-submit"), ("public.bin", "tutti-demo")] {
        ok(&tutti(&[
            "setup",
            "--shards",
            "2",
            "--shard-gates",
            "32",
            "--out",
            &p(file),
            "--seed",
            seed,
        ]));
    }
    let fingerprint = "ab".repeat(32);
    let (identity, proof, vk) = (p("client.key"), p("proof.bin"), p("vk.bin"));
    let submit = |extra: &[&str]| {
        let mut args = vec![
            "submit",
            "--aggregator",
            "127.0.0.1:9",
            "--fingerprint",
            &fingerprint,
            "--identity",
            &identity,
            "--circuit",
            "random",
            "--shards",
            "2",
            "--shard-gates",
            "32",
            "--out",
            &proof,
            "--vk-out",
            &vk,
            "--timeout-secs",
            "5",
        ];
        args.extend_from_slice(extra);
        let out = tutti(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let why = submit(&[]);
    assert!(
        why.contains("--vk FILE, --vk-digest HEX or --srs FILE") && why.contains("trapdoor"),
        "{why}"
    );
    let why = submit(&["--srs", &p("srs.bin")]);
    assert!(why.contains("--allow-insecure-srs"), "{why}");
    let why = submit(&["--srs", &p("public.bin")]);
    assert!(why.contains("public seed \"tutti-demo\""), "{why}");
    let why = submit(&["--vk-digest", "12"]);
    assert!(why.contains("64 hex digits"), "{why}");
    // A pinned SRS id the computed key does not carry.
    let why = submit(&[
        "--srs",
        &p("srs.bin"),
        "--allow-insecure-srs",
        "--srs-id",
        &"cd".repeat(32),
    ]);
    assert!(why.contains("not the pinned --srs-id"), "{why}");
    assert!(!why.contains("panicked"), "{why}");
    // Nothing was written.
    assert!(!dir.path().join("proof.bin").exists());
}

/// An SRS file with one row base changed and its checksums recomputed (so only its
/// structure gives it away) is refused when the row is loaded: `tutti prove` fails with
/// an error naming the row, instead of blaming the honest worker that would prove with
/// it.
#[test]
fn prove_refuses_an_srs_file_with_a_tampered_row() {
    let dir = tempfile::tempdir().unwrap();
    let srs = dir.path().join("srs.bin");
    let (m, t) = (2usize, 16usize);
    let out = tutti(&[
        "setup",
        "--shards",
        "2",
        "--shard-gates",
        "16",
        "--out",
        s(&srs),
        "--seed",
        "rows",
    ]);
    assert!(out.status.success());
    // Layout of spec/srs.md §3 (version 2: fixed header 60 bytes, digest, head at 92).
    let (y_len, row_len) = (3 * m + 3, t + 4);
    let digests_at = 284 + 64 * (y_len + m);
    let rows_at = digests_at + 32 * m;
    let mut bytes = std::fs::read(&srs).unwrap();
    let row1 = rows_at + 64 * row_len;
    // Base T + 1 of row 1 becomes the generator (x = 1, y = 2, little-endian).
    let base = row1 + 64 * (t + 1);
    bytes[base..base + 64].fill(0);
    bytes[base] = 1;
    bytes[base + 32] = 2;
    let mut h = blake3::Hasher::new();
    h.update(&1u32.to_be_bytes());
    h.update(&bytes[row1..row1 + 64 * row_len]);
    bytes[digests_at + 32..digests_at + 64].copy_from_slice(h.finalize().as_bytes());
    let mut h = blake3::Hasher::new();
    h.update(&bytes[..60]);
    h.update(&bytes[92..rows_at]);
    bytes[60..92].copy_from_slice(h.finalize().as_bytes());
    std::fs::write(&srs, &bytes).unwrap();
    let out = tutti(&[
        "prove",
        "--circuit",
        "random",
        "--shards",
        "2",
        "--shard-gates",
        "16",
        "--srs",
        s(&srs),
        "--out",
        s(&dir.path().join("p.bin")),
        "--vk-out",
        s(&dir.path().join("vk.bin")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("SRS row 1 is inconsistent"), "{err}");
}
