//! The `tutti` binary with circuits from circom: `compile`, `prove --compiled` with a
//! `.wtns` or with circom's WebAssembly and an `input.json`, `verify --public`, and the
//! errors a person gets for every kind of bad input. Fixtures: protocol/tests/fixtures/
//! circom (made by its regenerate.sh with circom 2.2.3 and snarkjs 0.7.6).

mod common;

use common::tutti;
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("protocol/tests/fixtures/circom")
        .join(name)
}

fn f(name: &str) -> String {
    fixture(name).to_string_lossy().into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed: {}", stderr(&out));
    stdout(&out)
}

/// A refusal: exit code 2, an `error:` line, no panic.
fn refused(out: Output) -> String {
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("error:") && !err.contains("panicked"), "{err}");
    err
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A seeded SRS and `name` compiled for `shards` shards in `dir`; the compile JSON.
fn compile(dir: &Path, name: &str, shards: usize) -> serde_json::Value {
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    ok(tutti(&[
        "setup",
        "--shards",
        &shards.to_string(),
        "--shard-gates",
        "1024",
        "--out",
        &p("srs.bin"),
        "--seed",
        "cli-circom",
    ]));
    json(&ok(tutti(&[
        "compile",
        "--r1cs",
        &f(&format!("{name}.r1cs")),
        "--shards",
        &shards.to_string(),
        "--srs",
        &p("srs.bin"),
        "--out",
        &p("c.tutti"),
        "--vk-out",
        &p("vk.bin"),
        "--json",
    ])))
}

#[test]
fn a_circom_circuit_compiles_proves_from_its_wasm_and_verifies_with_snarkjs_statement() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let c = compile(dir.path(), "multi_io", 2);
    for key in [
        "constraints",
        "rows",
        "shards",
        "shard_gates",
        "public_inputs",
    ] {
        assert!(c[key].as_u64().is_some_and(|v| v > 0), "{key} in {c}");
    }
    let expected = json(&std::fs::read_to_string(fixture("multi_io.expected.json")).unwrap());
    assert_eq!(c["constraints"], expected["constraints"]);
    assert!(c["rows"].as_u64() <= expected["snarkjs_plonk_constraints"].as_u64());
    assert_eq!(c["snarkjs_rows"], expected["snarkjs_plonk_constraints"]);
    let snarkjs_public = json(&std::fs::read_to_string(fixture("multi_io.public.json")).unwrap());
    assert_eq!(
        c["public_inputs"].as_u64(),
        snarkjs_public.as_array().map(|a| a.len() as u64)
    );
    assert!(snarkjs_public.as_array().unwrap().len() >= 5);
    assert!(c["digest"].as_str().is_some_and(|d| d.len() == 64));

    // Witness from circom's WebAssembly, computed by tutti.
    let proved = json(&ok(tutti(&[
        "prove",
        "--compiled",
        &p("c.tutti"),
        "--wasm",
        &f("multi_io.wasm"),
        "--input",
        &f("multi_io.input.json"),
        "--srs",
        &p("srs.bin"),
        "--out",
        &p("proof.bin"),
        "--public-out",
        &p("public.json"),
        "--json",
    ])));
    assert_eq!(proved["verified"], true);
    assert_eq!(proved["digest"], c["digest"]);
    assert_eq!(proved["shards"], 2);
    let ours = json(&std::fs::read_to_string(p("public.json")).unwrap());
    assert_eq!(ours, snarkjs_public, "public.json is snarkjs's");

    let verify_against = |public: &str| {
        tutti(&[
            "verify",
            "--vk",
            &p("vk.bin"),
            "--proof",
            &p("proof.bin"),
            "--public",
            public,
        ])
    };
    let verified = ok(verify_against(&f("multi_io.public.json")));
    assert!(verified.starts_with("valid"), "{verified}");
    assert!(
        verified.contains(c["vk_digest"].as_str().unwrap()),
        "{verified}"
    );

    // Another statement: invalid, exit 1.
    let mut other = snarkjs_public.clone();
    other[0] = serde_json::Value::String("1".into());
    std::fs::write(p("other.json"), other.to_string()).unwrap();
    let out = verify_against(&p("other.json"));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("invalid"), "{}", stdout(&out));

    // `tutti witness` writes snarkjs's .wtns byte for byte, checked against the circuit.
    let out = ok(tutti(&[
        "witness",
        "--wasm",
        &f("multi_io.wasm"),
        "--input",
        &f("multi_io.input.json"),
        "--compiled",
        &p("c.tutti"),
        "--out",
        &p("w.wtns"),
    ]));
    assert!(out.contains("every constraint holds"), "{out}");
    assert_eq!(
        std::fs::read(p("w.wtns")).unwrap(),
        std::fs::read(fixture("multi_io.wtns")).unwrap()
    );

    // The same witness read from snarkjs's .wtns gives the same statement.
    ok(tutti(&[
        "prove",
        "--compiled",
        &p("c.tutti"),
        "--wtns",
        &f("multi_io.wtns"),
        "--srs",
        &p("srs.bin"),
        "--out",
        &p("proof2.bin"),
        "--public-out",
        &p("public2.json"),
    ]));
    assert_eq!(
        json(&std::fs::read_to_string(p("public2.json")).unwrap()),
        snarkjs_public
    );
}

/// `multiplier.wtns` with wire 1 (the output c) changed to another canonical value.
fn unsatisfying_wtns(dir: &Path) -> PathBuf {
    let mut w = std::fs::read(fixture("multiplier.wtns")).unwrap();
    // magic, version, count (12); header section: type, size (12), n8 (4), prime (32),
    // count (4); values section: type, size (12); then wire 0, then wire 1.
    let wire1 = 12 + 12 + 4 + 32 + 4 + 12 + 32;
    w[wire1] ^= 1;
    let path = dir.join("bad.wtns");
    std::fs::write(&path, w).unwrap();
    path
}

#[test]
fn bad_circom_inputs_are_refused_with_a_reason_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    compile(dir.path(), "multiplier", 1);
    let prove = |extra: &[&str]| {
        let mut args = vec!["prove", "--compiled", "", "--srs", "", "--out", ""];
        let (c, srs, out) = (p("c.tutti"), p("srs.bin"), p("proof.bin"));
        args[2] = &c;
        args[4] = &srs;
        args[6] = &out;
        args.extend_from_slice(extra);
        tutti(&args)
    };

    // A witness that breaks a constraint: named, before any proving.
    let bad = unsatisfying_wtns(dir.path());
    let err = refused(prove(&["--wtns", &bad.to_string_lossy()]));
    assert!(err.contains("constraint 0"), "{err}");
    let err = refused(prove(&[
        "--wtns",
        &bad.to_string_lossy(),
        "--sym",
        &f("multiplier.sym"),
    ]));
    assert!(err.contains("main.c") && err.contains("main.a"), "{err}");
    // Another circuit's witness.
    let err = refused(prove(&["--wtns", &f("poseidon2.wtns")]));
    assert!(err.contains("wires"), "{err}");
    // A truncated witness.
    let w = std::fs::read(fixture("multiplier.wtns")).unwrap();
    std::fs::write(p("short.wtns"), &w[..w.len() - 5]).unwrap();
    let err = refused(prove(&["--wtns", &p("short.wtns")]));
    assert!(err.contains("truncated") || err.contains("size"), "{err}");
    // Inputs with a missing and with an extra signal.
    std::fs::write(p("missing.json"), r#"{"a": "3"}"#).unwrap();
    let with_input = |wasm: &str, input: &str| prove(&["--wasm", &f(wasm), "--input", &p(input)]);
    let err = refused(with_input("multiplier.wasm", "missing.json"));
    assert!(err.contains('b'), "{err}");
    std::fs::write(p("extra.json"), r#"{"a": "3", "b": "11", "z": "1"}"#).unwrap();
    let err = refused(with_input("multiplier.wasm", "extra.json"));
    assert!(err.contains("`z`"), "{err}");
    // The wasm of another circuit, whose assert fails for this input: reported.
    std::fs::write(p("big.json"), r#"{"x": "500"}"#).unwrap();
    let err = refused(with_input("bounded.wasm", "big.json"));
    assert!(err.contains("assert"), "{err}");
    // `tutti witness` of another circuit, checked against this one: refused, not written.
    let err = refused(tutti(&[
        "witness",
        "--wasm",
        &f("affine.wasm"),
        "--input",
        &f("affine.input.json"),
        "--compiled",
        &p("c.tutti"),
        "--out",
        &p("affine.wtns"),
    ]));
    assert!(err.contains("does not fit"), "{err}");
    assert!(!dir.path().join("affine.wtns").exists());
    // No witness at all.
    let err = refused(prove(&[]));
    assert!(err.contains("--wtns"), "{err}");
    assert!(!dir.path().join("proof.bin").exists());

    // A tampered compiled circuit.
    let mut c = std::fs::read(p("c.tutti")).unwrap();
    c.truncate(c.len() - 1);
    std::fs::write(p("c.tutti"), c).unwrap();
    let err = refused(prove(&["--wtns", &f("multiplier.wtns")]));
    assert!(err.contains("c.tutti"), "{err}");

    // Files the compiler refuses: another prime, custom gates, a truncated file.
    for (file, needle) in [
        ("multiplier.goldilocks.r1cs", "goldilocks"),
        ("custom_gate.r1cs", "custom"),
        ("multiplier.wtns", "r1cs"),
    ] {
        let err = refused(tutti(&[
            "compile",
            "--r1cs",
            &f(file),
            "--shards",
            "1",
            "--srs",
            &p("srs.bin"),
            "--out",
            &p("x.tutti"),
            "--vk-out",
            &p("x.vk"),
        ]));
        assert!(err.contains(needle), "{file}: {err}");
    }
    // A circuit too large for the SRS: the command to make one is named.
    let err = refused(tutti(&[
        "compile",
        "--r1cs",
        &f("poseidon2.r1cs"),
        "--shards",
        "1",
        "--shard-gates",
        "2048",
        "--srs",
        &p("srs.bin"),
        "--out",
        &p("x.tutti"),
        "--vk-out",
        &p("x.vk"),
    ]));
    assert!(
        err.contains("tutti setup --shards 1 --shard-gates 2048"),
        "{err}"
    );
    assert!(!dir.path().join("x.tutti").exists());
}
