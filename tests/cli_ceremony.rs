//! `tutti ceremony` end to end: three contributors and a beacon give an SRS that proves
//! and verifies, whose verifying key names the transcript; a damaged or reordered
//! transcript is refused naming the contribution; a ceremony starts from snarkjs's
//! `.ptau`.

mod common;

use common::tutti;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn ok(args: &[&str]) -> String {
    let out = tutti(args);
    assert!(
        out.status.success(),
        "tutti {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(args: &[&str]) -> String {
    let out = tutti(args);
    assert_eq!(out.status.code(), Some(2), "tutti {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The value after `key` on the line that has it.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(key))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key:?} in\n{text}"))
}

#[test]
fn three_contributors_and_a_beacon_give_an_srs_that_proves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let states = dir.path().join("transcript");
    std::fs::create_dir(&states).expect("mkdir");
    let c = |k: usize| states.join(format!("c{k}.bin"));
    ok(&[
        "ceremony",
        "init",
        "--shards",
        "4",
        "--shard-gates",
        "32",
        "--out",
        s(&c(0)),
    ]);
    let mut hashes = Vec::new();
    for k in 0..3 {
        let out = ok(&[
            "ceremony",
            "contribute",
            "--in",
            s(&c(k)),
            "--out",
            s(&c(k + 1)),
        ]);
        hashes.push(field(&out, "contribution hash").to_string());
    }
    let out = ok(&[
        "ceremony",
        "verify",
        "--in",
        s(&c(3)),
        "--transcript",
        s(&states),
    ]);
    assert!(out.starts_with("valid: 3 contributions"), "{out}");
    for (k, h) in hashes.iter().enumerate() {
        assert!(out.contains(&format!("contribution   {k}  {h}")), "{out}");
    }

    let (srs, closed) = (dir.path().join("srs.bin"), dir.path().join("c4.bin"));
    let beacon = format!("{:064x}", 0xbeac0_u64);
    let out = ok(&[
        "ceremony",
        "finalize",
        "--in",
        s(&c(3)),
        "--beacon",
        &beacon,
        "--state-out",
        s(&closed),
        "--out",
        s(&srs),
    ]);
    let transcript = field(&out, "transcript hash").to_string();
    assert_ne!(transcript, hashes[2], "the beacon adds a record");
    let out = ok(&["ceremony", "verify", "--in", s(&closed), "--srs", s(&srs)]);
    assert!(out.contains(&format!("(beacon {beacon})")), "{out}");
    // The SRS of another state is not this one's.
    let err = refused(&["ceremony", "verify", "--in", s(&c(3)), "--srs", s(&srs)]);
    assert!(
        err.contains("is not the SRS this ceremony state defines"),
        "{err}"
    );

    let (proof, vk) = (dir.path().join("proof.bin"), dir.path().join("vk.bin"));
    ok(&[
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
    ]);
    let out = ok(&["verify", "--vk", s(&vk), "--proof", s(&proof)]);
    assert!(out.starts_with("valid"), "{out}");
    assert_eq!(
        field(&out, "SRS from"),
        format!("ceremony, transcript {transcript}")
    );
}

#[test]
fn a_damaged_or_incomplete_transcript_is_refused_naming_the_contribution() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = |k: usize| dir.path().join(format!("c{k}.bin"));
    ok(&[
        "ceremony",
        "init",
        "--shards",
        "2",
        "--shard-gates",
        "16",
        "--out",
        s(&c(0)),
    ]);
    for k in 0..3 {
        ok(&[
            "ceremony",
            "contribute",
            "--in",
            s(&c(k)),
            "--out",
            s(&c(k + 1)),
        ]);
    }
    let bytes = std::fs::read(c(3)).expect("read");
    let record = 417;
    // The proof response of contribution 1 (of 3): after its two G2 points, and the
    // public key and commitment of its τ_X proof.
    let at = bytes.len() - 2 * record + 128 + 64;
    let mut bad = bytes.clone();
    bad[at] ^= 1;
    let path = dir.path().join("bad.bin");
    std::fs::write(&path, &bad).expect("write");
    let err = refused(&["ceremony", "verify", "--in", s(&path)]);
    assert!(err.contains("contribution 1:"), "{err}");
    // Contributing on top of a bad state is refused too (the input is verified).
    let err = refused(&[
        "ceremony",
        "contribute",
        "--in",
        s(&path),
        "--out",
        s(&c(9)),
    ]);
    assert!(err.contains("contribution 1:"), "{err}");
    // A grid point replaced: the last record no longer names the state.
    let mut bad = bytes.clone();
    let grid_at = 18 + 128 + 64 * 7;
    bad[grid_at..grid_at + 64].copy_from_slice(&bytes[18 + 128..18 + 128 + 64]);
    std::fs::write(&path, &bad).expect("write");
    let err = refused(&["ceremony", "verify", "--in", s(&path)]);
    assert!(err.contains("contribution 2:"), "{err}");
    // A transcript directory that lacks a state.
    std::fs::remove_file(&path).expect("rm");
    std::fs::remove_file(c(2)).expect("rm");
    let err = refused(&[
        "ceremony",
        "verify",
        "--in",
        s(&c(3)),
        "--transcript",
        s(dir.path()),
    ]);
    assert!(
        err.contains("lacks the states after contributions [2]"),
        "{err}"
    );
}

#[test]
fn a_ceremony_starts_from_a_snarkjs_ptau_file() {
    let ptau = Path::new(env!("CARGO_MANIFEST_DIR")).join("crypto/tests/fixtures/ptau/pot5.ptau");
    let dir = tempfile::tempdir().expect("tempdir");
    let c = |k: usize| dir.path().join(format!("c{k}.bin"));
    let out = ok(&[
        "ceremony",
        "init",
        "--shards",
        "2",
        "--shard-gates",
        "16",
        "--ptau",
        s(&ptau),
        "--out",
        s(&c(0)),
    ]);
    assert!(out.contains("τ_X from the powers of tau"), "{out}");
    ok(&[
        "ceremony",
        "contribute",
        "--in",
        s(&c(0)),
        "--out",
        s(&c(1)),
    ]);
    let out = ok(&["ceremony", "verify", "--in", s(&c(1)), "--ptau", s(&ptau)]);
    assert!(out.contains("(checked)"), "{out}");
    // Too few powers for the shard size, named.
    let err = refused(&[
        "ceremony",
        "init",
        "--shards",
        "2",
        "--shard-gates",
        "64",
        "--ptau",
        s(&ptau),
        "--out",
        s(&c(5)),
    ]);
    assert!(err.contains("the ceremony needs 68"), "{err}");
    let srs = dir.path().join("srs.bin");
    ok(&["ceremony", "finalize", "--in", s(&c(1)), "--out", s(&srs)]);
}
