//! The circom readers against files made by the real toolchain (circom 2.2.3, snarkjs
//! 0.7.6, committed under `tests/fixtures/circom/`, see its README), and against every
//! way those files can be cut, corrupted or meant for another field.

mod common;

use ark_ff::{BigInteger, PrimeField};
use proptest::prelude::*;
use tutti_protocol::Fr;
use tutti_protocol::import::ImportError;
use tutti_protocol::import::circom::{R1cs, Witness, name_prime};

use common::circom::{expected, fixture, public_json, r1cs, wtns};

/// The circuits compiled for BN254, with a witness and snarkjs's facts each.
const CIRCUITS: [&str; 3] = ["multiplier", "poseidon2", "affine"];

/// The file's magic and version, and its sections as (type, content).
fn split(data: &[u8]) -> ([u8; 8], Vec<(u32, Vec<u8>)>) {
    let head: [u8; 8] = data[..8].try_into().unwrap();
    let n = u32::from_le_bytes(data[8..12].try_into().unwrap());
    let mut at = 12;
    let mut sections = Vec::new();
    for _ in 0..n {
        let kind = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        let size = u64::from_le_bytes(data[at + 4..at + 12].try_into().unwrap()) as usize;
        sections.push((kind, data[at + 12..at + 12 + size].to_vec()));
        at += 12 + size;
    }
    assert_eq!(at, data.len());
    (head, sections)
}

fn join(head: [u8; 8], sections: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = head.to_vec();
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    for (kind, content) in sections {
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(content.len() as u64).to_le_bytes());
        out.extend_from_slice(content);
    }
    out
}

/// Content of the one section of type `kind`, to edit.
fn section(sections: &mut [(u32, Vec<u8>)], kind: u32) -> &mut Vec<u8> {
    &mut sections.iter_mut().find(|(k, _)| *k == kind).unwrap().1
}

fn bn254_r_le() -> Vec<u8> {
    Fr::MODULUS.to_bytes_le()
}

/// Little-endian bytes of a prime given in hexadecimal.
fn prime_le(hex: &str, n8: usize) -> Vec<u8> {
    let mut be = vec![0u8; n8];
    let digits = hex.trim_start_matches("0x");
    let bytes: Vec<u8> = (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect();
    be[n8 - bytes.len()..].copy_from_slice(&bytes);
    be.reverse();
    be
}

const BLS12_381_R: &str = "0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001";
const GOLDILOCKS: &str = "0xffffffff00000001";

/// Replaces the header's prime (and `n8`) of an r1cs or wtns file.
fn with_prime(data: &[u8], prime_le_bytes: &[u8]) -> Vec<u8> {
    let (head, mut sections) = split(data);
    let h = section(&mut sections, 1);
    let n8 = u32::from_le_bytes(h[..4].try_into().unwrap()) as usize;
    let rest = h[4 + n8..].to_vec();
    let mut new = (prime_le_bytes.len() as u32).to_le_bytes().to_vec();
    new.extend_from_slice(prime_le_bytes);
    new.extend_from_slice(&rest);
    *h = new;
    join(head, &sections)
}

#[test]
fn fixtures_parse_and_match_snarkjs_r1cs_info() {
    for name in CIRCUITS {
        let r = r1cs(name);
        let w = wtns(name);
        assert_eq!(u64::from(r.n_wires), expected(name, "wires"), "{name}");
        assert_eq!(
            r.constraints.len() as u64,
            expected(name, "constraints"),
            "{name}"
        );
        assert_eq!(
            u64::from(r.n_prv_in),
            expected(name, "private_inputs"),
            "{name}"
        );
        assert_eq!(
            u64::from(r.n_pub_in),
            expected(name, "public_inputs"),
            "{name}"
        );
        assert_eq!(u64::from(r.n_pub_out), expected(name, "outputs"), "{name}");
        assert_eq!(r.n_labels, expected(name, "labels"), "{name}");
        assert_eq!(r.wire_to_label.len(), r.n_wires as usize, "{name}");
        assert_eq!(w.0.len() as u64, expected(name, "witness_values"), "{name}");
    }
    // What each circuit is, so a regeneration that changes them is noticed.
    assert_eq!(expected("multiplier", "constraints"), 1);
    assert_eq!(expected("poseidon2", "constraints"), 517);
    assert_eq!(expected("poseidon2", "snarkjs_plonk_constraints"), 597);
    let affine = r1cs("affine");
    assert_eq!(
        (affine.n_pub_out, affine.n_pub_in, affine.n_prv_in),
        (2, 2, 2)
    );
    // --O1 keeps linear constraints (A and B empty): the converter must handle them.
    assert!(
        affine
            .constraints
            .iter()
            .any(|c| c.a.is_empty() && c.b.is_empty())
    );
}

#[test]
fn multiplier_reads_as_written() {
    let r = r1cs("multiplier");
    let w = wtns("multiplier");
    let v = |x: u64| Fr::from(x);
    assert_eq!(w.0, vec![v(1), v(33), v(3), v(11)]);
    assert_eq!(r.wire_to_label, vec![0, 1, 2, 3]);
    // circom writes a·b = c as (-a)·b = -c: check the meaning, not the sign convention.
    let c = &r.constraints[0];
    assert_eq!((c.a.len(), c.b.len(), c.c.len()), (1, 1, 1));
    let wires = [c.a[0].0, c.b[0].0, c.c[0].0];
    assert!(wires == [2, 3, 1] || wires == [3, 2, 1], "{wires:?}");
    assert_eq!(c.a[0].1 * c.b[0].1, c.c[0].1);
}

#[test]
fn committed_witnesses_satisfy_every_constraint() {
    for name in CIRCUITS {
        let r = r1cs(name);
        let w = wtns(name);
        assert_eq!(r.is_satisfied(&w), Ok(()), "{name}");
        assert_eq!(r.check_witness(&w), Ok(()), "{name}");
    }
}

#[test]
fn public_values_are_snarkjs_public_json() {
    for name in CIRCUITS {
        let r = r1cs(name);
        let w = wtns(name);
        let public = public_json(name);
        assert_eq!(public.len(), r.n_public(), "{name}");
        assert_eq!(&w.0[1..=r.n_public()], public.as_slice(), "{name}");
    }
    // affine's m is p - 1: values near the modulus survive the round trip.
    assert_eq!(public_json("affine")[3], -Fr::from(1u64));
}

#[test]
fn breaking_one_value_fails_the_first_constraint_using_it() {
    for name in CIRCUITS {
        let r = r1cs(name);
        let good = wtns(name);
        for wire in 1..r.n_wires {
            let first_use = r
                .constraints
                .iter()
                .position(|c| c.a.iter().chain(&c.b).chain(&c.c).any(|(w, _)| *w == wire))
                .unwrap_or_else(|| panic!("{name}: wire {wire} in no constraint"));
            let mut bad = good.clone();
            bad.0[wire as usize] += Fr::from(1u64);
            assert_eq!(r.is_satisfied(&bad), Err(first_use), "{name} wire {wire}");
            assert_eq!(
                r.check_witness(&bad),
                Err(ImportError::Unsatisfied {
                    constraint: first_use
                }),
                "{name} wire {wire}"
            );
        }
    }
    // Concretely: multiplier's output c is in constraint 0. circom writes affine's
    // quadratic constraints first (t = x·y, z = s·m), then the linear ones
    // (0 = 7 + 5k − x + 3t − s, 0 = z − w − 2m + y + t): its output z is first used in
    // constraint 1, its public input k only in constraint 2.
    let mut bad = wtns("multiplier");
    bad.0[1] = Fr::from(34u64);
    assert_eq!(r1cs("multiplier").is_satisfied(&bad), Err(0));
    let affine = r1cs("affine");
    let linear: Vec<bool> = affine
        .constraints
        .iter()
        .map(|c| c.a.is_empty() && c.b.is_empty())
        .collect();
    assert_eq!(linear, [false, false, true, true]);
    assert_eq!(affine.constraints[2].c.len(), 5);
    let mut bad = wtns("affine");
    bad.0[1] += Fr::from(1u64);
    assert_eq!(affine.is_satisfied(&bad), Err(1));
    let mut bad = wtns("affine");
    bad.0[3] += Fr::from(1u64);
    assert_eq!(affine.is_satisfied(&bad), Err(2));
}

#[test]
fn witness_length_and_constant_wire_are_checked() {
    let r = r1cs("multiplier");
    let good = wtns("multiplier");

    let mut short = good.clone();
    short.0.pop();
    assert_eq!(
        r.check_witness(&short),
        Err(ImportError::WitnessLength {
            wires: 4,
            witness: 3
        })
    );
    // A missing value breaks the constraint that needs it; no panic.
    assert_eq!(r.is_satisfied(&short), Err(0));
    assert_eq!(r.is_satisfied(&Witness(vec![])), Err(0));

    let other = wtns("poseidon2");
    assert_eq!(
        r.check_witness(&other),
        Err(ImportError::WitnessLength {
            wires: 4,
            witness: 520
        })
    );

    // The constant wire is checked before the constraints.
    let mut not_one = good.clone();
    not_one.0[0] = Fr::from(2u64);
    assert_eq!(
        r.check_witness(&not_one),
        Err(ImportError::WitnessConstantNotOne)
    );
}

#[test]
fn every_truncation_is_a_truncated_error() {
    let small = [
        "multiplier.r1cs",
        "multiplier.wtns",
        "affine.r1cs",
        "affine.wtns",
        "custom_gate.r1cs",
    ];
    let large = ["poseidon2.r1cs", "poseidon2.wtns"];
    for file in small.into_iter().chain(large) {
        let data = fixture(file);
        let n = data.len();
        let cuts: Vec<usize> = if small.contains(&file) {
            (0..n).collect()
        } else {
            (0..300)
                .chain((300..n).step_by(61))
                .chain(n - 300..n)
                .collect()
        };
        for cut in cuts {
            let prefix = &data[..cut];
            let err = if file.ends_with(".r1cs") {
                R1cs::from_bytes(prefix).err()
            } else {
                Witness::from_bytes(prefix).err()
            };
            assert!(
                matches!(err, Some(ImportError::Truncated { .. })),
                "{file} cut at {cut}: {err:?}"
            );
        }
    }
}

#[test]
fn compiled_for_another_prime_is_refused_naming_it() {
    for (file, prime) in [
        ("multiplier.bls12381.r1cs", "bls12381"),
        ("multiplier.goldilocks.r1cs", "goldilocks"),
    ] {
        let err = R1cs::from_bytes(&fixture(file)).unwrap_err();
        assert_eq!(
            err,
            ImportError::WrongPrime {
                found: prime.into()
            },
            "{file}"
        );
        let message = err.to_string();
        assert!(message.contains(prime), "{message}");
        assert!(message.contains("--prime bn128"), "{message}");
    }
}

#[test]
fn replaced_prime_bytes_are_refused_naming_the_prime() {
    let others = [
        ("bls12381", prime_le(BLS12_381_R, 32)),
        ("goldilocks", prime_le(GOLDILOCKS, 8)),
        (
            "pallas",
            prime_le(
                "0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001",
                32,
            ),
        ),
        (
            "vesta",
            prime_le(
                "0x40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001",
                32,
            ),
        ),
        (
            "secq256r1",
            prime_le(
                "0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
                32,
            ),
        ),
        (
            "grumpkin",
            prime_le(
                "0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47",
                32,
            ),
        ),
        (
            "bls12377",
            prime_le(
                "0x12ab655e9a2ca55660b44d1e5c37b00159aa76fed00000010a11800000000001",
                32,
            ),
        ),
        // Not a prime circom knows: printed in hexadecimal.
        ("0x65", prime_le("0x65", 32)),
    ];
    for (name, prime) in others {
        for file in ["multiplier.r1cs", "multiplier.wtns"] {
            let data = with_prime(&fixture(file), &prime);
            let err = if file.ends_with(".r1cs") {
                R1cs::from_bytes(&data).unwrap_err()
            } else {
                Witness::from_bytes(&data).unwrap_err()
            };
            assert_eq!(
                err,
                ImportError::WrongPrime { found: name.into() },
                "{file} {name}"
            );
        }
    }
    // BN254's prime zero-padded to 64 bytes is not a layout circom writes.
    let mut padded = bn254_r_le();
    padded.resize(64, 0);
    assert_eq!(
        R1cs::from_bytes(&with_prime(&fixture("multiplier.r1cs"), &padded)),
        Err(ImportError::FieldSize {
            format: "r1cs",
            found: 64
        })
    );
    // The editing helper itself round-trips the real prime.
    let same = with_prime(&fixture("multiplier.r1cs"), &bn254_r_le());
    assert_eq!(R1cs::from_bytes(&same), Ok(r1cs("multiplier")));
    assert_eq!(name_prime(&bn254_r_le()), "bn128");
}

#[test]
fn custom_gate_sections_are_refused() {
    // Compiled by circom from a circuit with `pragma custom_templates`; its sections
    // come in the order 2, 1, 4, 3, 5.
    let data = fixture("custom_gate.r1cs");
    let kinds: Vec<u32> = split(&data).1.iter().map(|(k, _)| *k).collect();
    assert!(kinds.contains(&4) && kinds.contains(&5), "{kinds:?}");
    let err = R1cs::from_bytes(&data).unwrap_err();
    assert!(
        matches!(err, ImportError::CustomGates { section: 4 | 5 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("custom_templates"), "{err}");

    for kind in [4u32, 5] {
        let (head, mut sections) = split(&fixture("multiplier.r1cs"));
        sections.push((kind, vec![0; 8]));
        assert_eq!(
            R1cs::from_bytes(&join(head, &sections)),
            Err(ImportError::CustomGates { section: kind })
        );
    }
}

#[test]
fn sections_may_come_in_any_order() {
    for name in ["multiplier", "affine"] {
        let reference = r1cs(name);
        let (head, sections) = split(&fixture(&format!("{name}.r1cs")));
        assert_eq!(sections.len(), 3);
        for order in [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ] {
            let permuted: Vec<_> = order.iter().map(|&i| sections[i].clone()).collect();
            assert_eq!(
                R1cs::from_bytes(&join(head, &permuted)).as_ref(),
                Ok(&reference),
                "{name} {order:?}"
            );
        }
        // An unknown section is skipped.
        let mut extra = sections.clone();
        extra.insert(1, (9, vec![1, 2, 3]));
        assert_eq!(R1cs::from_bytes(&join(head, &extra)), Ok(reference));

        let (whead, wsections) = split(&fixture(&format!("{name}.wtns")));
        let swapped: Vec<_> = wsections.iter().rev().cloned().collect();
        assert_eq!(Witness::from_bytes(&join(whead, &swapped)), Ok(wtns(name)));
    }
}

#[test]
fn malformed_files_get_their_own_errors() {
    let r1cs_file = fixture("multiplier.r1cs");
    let wtns_file = fixture("multiplier.wtns");
    let (head, sections) = split(&r1cs_file);
    let (whead, wsections) = split(&wtns_file);
    let edit_r1cs = |kind: u32, f: &dyn Fn(&mut Vec<u8>)| {
        let mut s = sections.clone();
        f(section(&mut s, kind));
        R1cs::from_bytes(&join(head, &s))
    };
    let edit_wtns = |kind: u32, f: &dyn Fn(&mut Vec<u8>)| {
        let mut s = wsections.clone();
        f(section(&mut s, kind));
        Witness::from_bytes(&join(whead, &s))
    };
    let put32 =
        |v: &mut Vec<u8>, at: usize, x: u32| v[at..at + 4].copy_from_slice(&x.to_le_bytes());

    // Magic and version.
    assert!(matches!(
        R1cs::from_bytes(&wtns_file),
        Err(ImportError::BadMagic {
            expected: "r1cs",
            ..
        })
    ));
    assert!(matches!(
        Witness::from_bytes(&r1cs_file),
        Err(ImportError::BadMagic {
            expected: "wtns",
            ..
        })
    ));
    let mut v2 = r1cs_file.clone();
    v2[4] = 2;
    assert_eq!(
        R1cs::from_bytes(&v2),
        Err(ImportError::UnsupportedVersion {
            format: "r1cs",
            found: 2,
            supported: 1
        })
    );
    let mut v1 = wtns_file.clone();
    v1[4] = 1;
    assert_eq!(
        Witness::from_bytes(&v1),
        Err(ImportError::UnsupportedVersion {
            format: "wtns",
            found: 1,
            supported: 2
        })
    );

    // Section table.
    let mut trailing = r1cs_file.clone();
    trailing.push(0);
    assert_eq!(
        R1cs::from_bytes(&trailing),
        Err(ImportError::TrailingBytes {
            format: "r1cs",
            count: 1
        })
    );
    let mut many = r1cs_file.clone();
    many[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        R1cs::from_bytes(&many),
        Err(ImportError::Truncated { .. })
    ));
    let mut huge = r1cs_file.clone();
    huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        R1cs::from_bytes(&huge),
        Err(ImportError::Truncated { .. })
    ));
    let without_labels: Vec<_> = sections.iter().filter(|(k, _)| *k != 3).cloned().collect();
    assert!(matches!(
        R1cs::from_bytes(&join(head, &without_labels)),
        Err(ImportError::MissingSection { section: 3, .. })
    ));
    let mut twice = sections.clone();
    twice.push(sections[0].clone());
    assert!(matches!(
        R1cs::from_bytes(&join(head, &twice)),
        Err(ImportError::DuplicateSection { format: "r1cs", .. })
    ));

    // Header (n8 at 0, prime at 4, nWires at 36, …, nLabels at 52, mConstraints at 60).
    for n8 in [0u32, 7, 72] {
        assert_eq!(
            edit_r1cs(1, &|h| put32(h, 0, n8)),
            Err(ImportError::FieldSize {
                format: "r1cs",
                found: n8
            })
        );
    }
    assert!(matches!(
        edit_r1cs(1, &|h| put32(h, 36, 3)),
        Err(ImportError::InvalidHeader { .. })
    ));
    assert!(matches!(
        edit_r1cs(1, &|h| h.push(0)),
        Err(ImportError::SizeMismatch { .. })
    ));
    assert!(matches!(
        edit_r1cs(1, &|h| put32(h, 60, u32::MAX)),
        Err(ImportError::Truncated { .. })
    ));
    assert!(matches!(
        edit_r1cs(1, &|h| put32(h, 60, 0)),
        Err(ImportError::SizeMismatch { .. })
    ));

    // Constraints (A: nTerms at 0, wire at 4, coefficient at 8..40).
    assert_eq!(
        edit_r1cs(2, &|c| put32(c, 4, 4)),
        Err(ImportError::WireOutOfRange {
            constraint: 0,
            wire: 4,
            n_wires: 4
        })
    );
    let r = bn254_r_le();
    assert!(matches!(
        edit_r1cs(2, &|c| c[8..40].copy_from_slice(&r)),
        Err(ImportError::NonCanonical { .. })
    ));
    assert!(matches!(
        edit_r1cs(2, &|c| put32(c, 0, u32::MAX)),
        Err(ImportError::Truncated { .. })
    ));

    // Wire to label.
    assert_eq!(
        edit_r1cs(3, &|l| l[8..16].copy_from_slice(&4u64.to_le_bytes())),
        Err(ImportError::LabelOutOfRange {
            wire: 1,
            label: 4,
            n_labels: 4
        })
    );
    assert!(matches!(
        edit_r1cs(3, &|l| l.truncate(24)),
        Err(ImportError::SizeMismatch { .. })
    ));

    // Witness (header: n8 at 0, prime at 4, nWitness at 36).
    for n in [3u32, 5, u32::MAX] {
        assert!(
            matches!(
                edit_wtns(1, &|h| put32(h, 36, n)),
                Err(ImportError::SizeMismatch { .. })
            ),
            "nWitness {n}"
        );
    }
    assert_eq!(
        edit_wtns(2, &|v| v[64..96].copy_from_slice(&r)),
        Err(ImportError::NonCanonical {
            what: "witness value 2".into()
        })
    );
    // The largest canonical value is accepted.
    let mut top = r.clone();
    top[0] -= 1;
    let w = edit_wtns(2, &|v| v[64..96].copy_from_slice(&top)).unwrap();
    assert_eq!(w.0[2], -Fr::from(1u64));
}

fn mutate(data: &[u8], edits: &[(usize, u8)]) -> Vec<u8> {
    let mut out = data.to_vec();
    for (at, byte) in edits {
        let i = at % out.len();
        out[i] = *byte;
    }
    out
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = R1cs::from_bytes(&data);
        let _ = Witness::from_bytes(&data);
        // The same behind valid magic and version, to reach the section walk.
        let mut r = b"r1cs\x01\x00\x00\x00".to_vec();
        r.extend_from_slice(&data);
        let _ = R1cs::from_bytes(&r);
        let mut w = b"wtns\x02\x00\x00\x00".to_vec();
        w.extend_from_slice(&data);
        let _ = Witness::from_bytes(&w);
    }

    #[test]
    fn corrupted_fixtures_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        for name in ["multiplier", "affine"] {
            let r1cs_file = mutate(&fixture(&format!("{name}.r1cs")), &edits);
            let wtns_file = mutate(&fixture(&format!("{name}.wtns")), &edits);
            let r = R1cs::from_bytes(&r1cs_file);
            let w = Witness::from_bytes(&wtns_file);
            if let (Ok(r), Ok(w)) = (&r, &w) {
                let _ = r.check_witness(w);
                let _ = r.is_satisfied(w);
            }
            let _ = R1cs::from_bytes(&r1cs_file[..cut % (r1cs_file.len() + 1)]);
            let _ = Witness::from_bytes(&wtns_file[..cut % (wtns_file.len() + 1)]);
        }
    }
}
