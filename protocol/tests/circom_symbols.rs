//! circom's symbol files (`import::symbols`) against the committed `.sym` fixtures
//! (`tests/fixtures/circom/`, see its README): the names of known wires (circom numbers
//! the constant, then the outputs, the public inputs and the private inputs, each in
//! declaration order), agreement with the `.r1cs` wire-to-label section, and the
//! description of a constraint that a tampered witness breaks.

mod common;

use ark_ff::Field;
use tutti_protocol::Fr;
use tutti_protocol::import::ImportError;
use tutti_protocol::import::plonk::convert;
use tutti_protocol::import::symbols::{SymbolTable, describe_constraint};

use common::circom::{r1cs, text, wtns};

fn symbols(name: &str) -> SymbolTable {
    let text = text(&format!("{name}.sym"));
    SymbolTable::parse(&text).unwrap_or_else(|e| panic!("{name}.sym: {e}"))
}

/// The first wires of each circuit, as its `.circom` source declares them.
const KNOWN: [(&str, &[&str]); 5] = [
    ("multiplier", &["main.c", "main.a", "main.b"]),
    ("poseidon2", &["main.out", "main.in[0]", "main.in[1]"]),
    (
        "affine",
        &["main.z", "main.w", "main.k", "main.m", "main.x", "main.y"],
    ),
    // Outputs o[2], s; public inputs k, p[2] (declared k first, though listed `[p, k]`);
    // private x, y.
    (
        "multi_io",
        &[
            "main.o[0]",
            "main.o[1]",
            "main.s",
            "main.k",
            "main.p[0]",
            "main.p[1]",
            "main.x",
            "main.y",
        ],
    ),
    (
        "merkle",
        &[
            "main.nullifier",
            "main.root",
            "main.leaf",
            "main.pathElements[0]",
        ],
    ),
];

#[test]
fn known_wires_have_their_source_names() {
    for (name, wires) in KNOWN {
        let t = symbols(name);
        assert_eq!(
            t.name_of_wire(0),
            None,
            "{name}: the constant has no signal"
        );
        for (i, expected) in wires.iter().enumerate() {
            let wire = i as u32 + 1;
            assert_eq!(t.name_of_wire(wire), Some(*expected), "{name}: wire {wire}");
            assert_eq!(t.wire_of_name(expected), Some(wire), "{name}: {expected}");
        }
    }
}

#[test]
fn symbols_agree_with_the_r1cs_wire_to_label_section() {
    for name in [
        "multiplier",
        "poseidon2",
        "affine",
        "multi_io",
        "crossing",
        "merkle",
    ] {
        let t = symbols(name);
        let r = r1cs(name);
        // One line per label but the constant's (label 0).
        assert_eq!(t.len() as u64, r.n_labels - 1, "{name}");
        // Every wire but the constant is named by exactly the label the r1cs gives it.
        let kept = t.iter().filter(|s| s.wire.is_some()).count();
        assert_eq!(kept, r.n_wires as usize - 1, "{name}: lines with a wire");
        for wire in 1..r.n_wires {
            let label = r.wire_to_label[wire as usize];
            assert_eq!(t.wire_of_label(label), Some(wire), "{name}: wire {wire}");
            assert!(t.name_of_wire(wire).is_some(), "{name}: wire {wire}");
            assert_eq!(t.name_of_wire(wire), t.name_of_label(label), "{name}");
        }
    }
    // Signals circom removed are still named, without a wire: poseidon2's component
    // output `main.h.out` is an alias of `main.out`.
    let t = symbols("poseidon2");
    let alias = t
        .iter()
        .find(|s| s.name == "main.h.out")
        .expect("main.h.out");
    assert_eq!(alias.wire, None);
    assert_eq!(t.wire_of_name("main.h.out"), None);
}

#[test]
fn a_tampered_multiplier_witness_is_described_by_name() {
    let r = r1cs("multiplier");
    let t = symbols("multiplier");
    let mut w = wtns("multiplier");
    assert_eq!(r.is_satisfied(&w), Ok(()));
    // multiplier.input.json: a = 3, b = 11, so c = 33; make it 34.
    assert_eq!(w.0[1], Fr::from(33u64));
    w.0[1] += Fr::ONE;
    assert_eq!(r.is_satisfied(&w), Err(0));
    let d = describe_constraint(&r, 0, &w, Some(&t));
    assert!(d.contains("does not hold"), "{d}");
    for part in ["main.a = 3", "main.b = 11", "main.c = 34"] {
        assert!(d.contains(part), "{part} in:\n{d}");
    }
    // A·B is ±33 and C is ±34, with the signs of circom's coefficients.
    assert!(d.contains("A·B = 33") || d.contains("A·B = -33"), "{d}");
    assert!(d.contains("C   = 34") || d.contains("C   = -34"), "{d}");
    assert!(d.lines().count() <= 8, "a few lines:\n{d}");

    // Without symbols the wires are numbered; the untampered witness holds.
    let d = describe_constraint(&r, 0, &w, None);
    assert!(d.contains("wire 1 = 34") && !d.contains("main."), "{d}");
    let d = describe_constraint(&r, 0, &wtns("multiplier"), Some(&t));
    assert!(d.contains("holds"), "{d}");
}

#[test]
fn a_tampered_poseidon_witness_names_the_internal_signal() {
    let r = r1cs("poseidon2");
    let t = symbols("poseidon2");
    let mut w = wtns("poseidon2");
    // Break an internal wire: the first constraint using it fails and names it.
    let wire = 100u32;
    w.0[wire as usize] += Fr::ONE;
    let failing = r
        .is_satisfied(&w)
        .expect_err("a changed internal wire breaks something");
    let d = describe_constraint(&r, failing, &w, Some(&t));
    let name = t.name_of_wire(wire).expect("wire 100 is named");
    assert!(name.starts_with("main.h."), "{name}");
    assert!(d.contains(name), "{name} in:\n{d}");
    assert!(d.contains("does not hold"), "{d}");
    assert!(!d.contains("wire "), "every wire is named:\n{d}");
}

#[test]
fn a_corrupted_sym_file_names_the_line() {
    let text = text("poseidon2.sym");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[41] = "42;43;0;main.h.broken";
    match SymbolTable::parse(&lines.join("\n")) {
        Err(ImportError::SymbolLine { line, .. }) => assert_eq!(line, 42),
        other => panic!("{other:?}"),
    }
}

#[test]
fn crossing_uses_main_a_all_along_its_rows() {
    // crossing.circom's public input `a` enters the first constraint, every 20th step
    // of the chain and the last constraint: in the converted rows no stretch longer
    // than an eighth of the circuit lacks it, so a contiguous cut into 4 shards puts a
    // copy of `a` in every shard.
    let r = r1cs("crossing");
    let a = symbols("crossing").wire_of_name("main.a").expect("main.a");
    assert_eq!(a, 2, "a is the public input after the output");
    let conv = convert(&r).expect("crossing converts");
    let var = conv.wire_var(a).expect("a is a variable");
    let gates = &conv.circuit().gates;
    let rows: Vec<usize> = (0..gates.len())
        .filter(|&i| gates[i].wires.contains(&var))
        .collect();
    let n = gates.len();
    assert!(n > 200, "{n} rows");
    let mut gaps = vec![rows[0], n - 1 - rows[rows.len() - 1]];
    gaps.extend(rows.windows(2).map(|w| w[1] - w[0]));
    let widest = gaps.into_iter().max().unwrap();
    assert!(widest < n / 8, "{widest} rows without a, of {n}");
}
