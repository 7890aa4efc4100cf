//! R1CS to tutti gates (`import::plonk`): the committed circom fixtures (see
//! `tests/fixtures/circom/README.md`) convert into circuits whose every row holds for the
//! converted witness, whose statement is snarkjs's `public.json`, that never have more
//! rows than snarkjs's PLONK gates, and that prove and verify; random R1CS instances
//! convert soundly; bad witnesses and bad systems are refused with typed errors.

mod common;

use ark_ff::{AdditiveGroup, Field, UniformRand};
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use tutti_protocol::Fr;
use tutti_protocol::circuit::{Circuit, Witness};
use tutti_protocol::import::ImportError;
use tutti_protocol::import::circom::{self, Constraint, R1cs, Term};
use tutti_protocol::import::plonk::{ConvertOptions, Converted, convert, convert_with};
use tutti_protocol::verifier::verify;

use common::circom::{expected, layout_check, public_json, r1cs, shape_for, wtns};

/// The circuits compiled for BN254, with a witness and snarkjs's facts each.
const CIRCUITS: [&str; 3] = ["multiplier", "poseidon2", "affine"];

/// The rows of `circuit` that do not hold for `witness` and `public` (the statement):
/// every selector on the three slot values, minus the statement's value on public rows.
fn failing_rows(circuit: &Circuit, witness: &Witness, public: &[Fr]) -> Vec<usize> {
    let mut next_public = public.iter();
    let mut bad = Vec::new();
    for (i, g) in circuit.gates.iter().enumerate() {
        let [a, b, c] = g.wires.map(|v| witness.value(v));
        let pi = if g.public {
            -next_public.next().copied().unwrap_or(Fr::ONE + a)
        } else {
            Fr::ZERO
        };
        if g.selectors.evaluate(a, b, c) + pi != Fr::ZERO {
            bad.push(i);
        }
    }
    if next_public.next().is_some() {
        bad.push(usize::MAX);
    }
    bad
}

/// Structural checks: every slot is a variable of the circuit, copy constraints are
/// shared variables only, the witness has one value per variable.
fn check_structure(circuit: &Circuit, witness: &Witness) {
    assert!(circuit.equalities.is_empty(), "copies are shared variables");
    assert_eq!(witness.values.len(), circuit.num_vars);
    for g in &circuit.gates {
        for v in g.wires {
            assert!((v.0 as usize) < circuit.num_vars, "slot variable in range");
        }
    }
}

#[test]
fn fixtures_convert_hold_and_never_exceed_snarkjs() {
    for (name, eliminate_aliases) in CIRCUITS.iter().flat_map(|n| [(*n, false), (*n, true)]) {
        let r = r1cs(name);
        let w = wtns(name);
        let conv = convert_with(&r, ConvertOptions { eliminate_aliases }).unwrap();
        let (witness, public) = conv.witness(&w).unwrap();
        let circuit = conv.circuit();
        check_structure(circuit, &witness);

        assert_eq!(
            failing_rows(circuit, &witness, &public),
            Vec::<usize>::new(),
            "{name}"
        );
        assert!(
            layout_check(circuit, &witness, &public, 1).is_ok(),
            "{name}: M = 1"
        );
        assert!(
            layout_check(circuit, &witness, &public, 2).is_ok(),
            "{name}: M = 2"
        );

        // The statement is snarkjs's, and the witness's own public inputs agree.
        assert_eq!(public, public_json(name), "{name}: public.json");
        assert_eq!(witness.public_inputs(circuit), public, "{name}");

        // Every circom wire keeps its value.
        for wire in 1..r.n_wires {
            assert_eq!(
                witness.value(conv.wire_var(wire).unwrap()),
                w.0[wire as usize]
            );
        }
        assert_eq!(
            conv.wire_var(0),
            None,
            "wire 0 is a constant, not a variable"
        );
        // The witness stands for the circom witness it came from.
        assert_eq!(conv.circom_witness(&witness), w, "{name}");
        // No wire is eliminated unless asked, no public wire ever.
        for wire in 1..r.n_wires {
            let public = wire as usize <= r.n_public();
            assert!(!conv.is_eliminated(wire) || (eliminate_aliases && !public));
        }

        let stats = conv.stats();
        let snarkjs = expected(name, "snarkjs_plonk_constraints") as usize;
        eprintln!(
            "{name} (eliminate_aliases: {eliminate_aliases}): {} rows / {} constraints = {:.3} \
             (snarkjs {snarkjs} gates, {:.3}); {stats}",
            stats.rows,
            stats.constraints,
            stats.rows_per_constraint(),
            snarkjs as f64 / stats.constraints as f64,
        );
        assert_eq!(stats.rows, circuit.gates.len());
        assert_eq!(stats.constraints as u64, expected(name, "constraints"));
        assert_eq!(
            stats.public_rows as u64,
            expected(name, "outputs") + expected(name, "public_inputs")
        );
        // Our model of snarkjs's rules reproduces its logged count exactly ...
        assert_eq!(stats.snarkjs_rows, snarkjs, "{name}: snarkjs's rules");
        // ... and the conversion never needs more rows.
        assert!(stats.rows <= snarkjs, "{name}: {} > {snarkjs}", stats.rows);
    }
}

#[test]
fn poseidon2_rows_by_kind() {
    // circomlib's Poseidon(2) at --O1: 243 products x·x, x²·x², x⁴·x (single terms
    // only), and 274 linear constraints (1 of one term, 80 of two, 114 of three, 79 of
    // four terms, each with its constant); no combination repeats and no C term falls on
    // an operand, so there is nothing to share or fold and the count equals snarkjs's.
    let stats = convert(&r1cs("poseidon2")).unwrap().stats();
    assert_eq!(stats.public_rows, 1, "{stats}");
    assert_eq!(stats.multiplication_rows, 243, "{stats}");
    assert_eq!(stats.linear_rows, 274, "{stats}");
    assert_eq!(stats.partial_sum_rows, 79, "{stats}");
    assert_eq!(stats.shared_partial_sums, 0, "{stats}");
    assert_eq!(stats.rows, 597, "{stats}");

    // With alias elimination the 80 two-term and the one one-term linear constraints
    // go (none involves the public output), and substituting them adds no term.
    let conv = convert_with(
        &r1cs("poseidon2"),
        ConvertOptions {
            eliminate_aliases: true,
        },
    )
    .unwrap();
    let stats = conv.stats();
    assert_eq!(stats.eliminated_constraints, 81, "{stats}");
    assert_eq!(stats.rows, 597 - 81, "{stats}");
    assert!(stats.rows < stats.constraints, "{stats}");
}

fn prove_fixture(name: &str, m: usize, eliminate_aliases: bool) {
    let conv = convert_with(&r1cs(name), ConvertOptions { eliminate_aliases }).unwrap();
    let (witness, public) = conv.witness(&wtns(name)).unwrap();
    let circuit = conv.into_circuit();
    let t = shape_for(&circuit, m);
    let job = common::job(circuit, witness, m, t);
    assert_eq!(job.public_inputs, public);
    let report = job.prove().unwrap();
    verify(&job.pre.aggregator.vk, &public_json(name), &report.proof).unwrap();
    // Another statement does not verify.
    let mut other = public_json(name);
    other[0] += Fr::ONE;
    assert!(verify(&job.pre.aggregator.vk, &other, &report.proof).is_err());
}

#[test]
fn poseidon2_proves_and_verifies_in_two_shards() {
    prove_fixture("poseidon2", 2, false);
    prove_fixture("poseidon2", 2, true);
}

#[test]
fn multiplier_and_affine_prove_and_verify() {
    prove_fixture("multiplier", 1, false);
    prove_fixture("affine", 1, false);
    prove_fixture("affine", 2, false);
    prove_fixture("affine", 2, true);
}

#[test]
fn the_circuit_does_not_depend_on_the_witness() {
    for name in CIRCUITS {
        let (one, two) = (convert(&r1cs(name)).unwrap(), convert(&r1cs(name)).unwrap());
        assert_eq!(one.circuit().gates, two.circuit().gates, "{name}");
        assert_eq!(one.circuit().num_vars, two.circuit().num_vars, "{name}");
    }
    // Two witnesses of multiplier (c, a, b) and of affine (z, w, k, m, x, y, t, s) on one
    // conversion each.
    let f = |x: u64| Fr::from(x);
    let conv = convert(&r1cs("multiplier")).unwrap();
    for w in [wtns("multiplier").0, vec![f(1), f(35), f(5), f(7)]] {
        let (witness, public) = conv.witness(&circom::Witness(w.clone())).unwrap();
        assert!(failing_rows(conv.circuit(), &witness, &public).is_empty());
        assert_eq!(public, vec![w[1]]);
    }
    let conv = convert(&r1cs("affine")).unwrap();
    let (x, y, k, m) = (f(2), f(3), f(4), f(5));
    let t = x * y;
    let s = f(3) * t + f(5) * k - x + f(7);
    let z = s * m;
    let w = z + t + y - f(2) * m;
    for wit in [wtns("affine").0, vec![f(1), z, w, k, m, x, y, t, s]] {
        let (witness, public) = conv.witness(&circom::Witness(wit.clone())).unwrap();
        assert!(failing_rows(conv.circuit(), &witness, &public).is_empty());
        assert!(layout_check(conv.circuit(), &witness, &public, 2).is_ok());
        assert_eq!(public, wit[1..5].to_vec());
    }
}

#[test]
fn bad_witnesses_are_refused_naming_the_constraint() {
    for name in CIRCUITS {
        let r = r1cs(name);
        let conv = convert(&r).unwrap();
        let good = wtns(name);
        // Break one wire the constraints use: the first constraint it breaks is named.
        for wire in [1u32, r.n_wires - 1] {
            let mut bad = good.clone();
            bad.0[wire as usize] += Fr::ONE;
            let first = r.is_satisfied(&bad).unwrap_err();
            let err = conv.witness(&bad).unwrap_err();
            assert_eq!(
                err,
                ImportError::Unsatisfied { constraint: first },
                "{name}"
            );
            assert!(err.to_string().contains(&format!("constraint {first}")));
        }
        let mut short = good.clone();
        short.0.pop();
        assert!(matches!(
            conv.witness(&short),
            Err(ImportError::WitnessLength { .. })
        ));
        let mut not_one = good.clone();
        not_one.0[0] = Fr::from(2u64);
        assert_eq!(
            conv.witness(&not_one),
            Err(ImportError::WitnessConstantNotOne)
        );
    }
}

#[test]
fn tampering_any_variable_breaks_a_row() {
    // Every variable that sits in a slot with a nonzero effect is pinned by some row:
    // change it alone (partial sums included) and a row fails.
    let conv = convert(&r1cs("poseidon2")).unwrap();
    let (witness, public) = conv.witness(&wtns("poseidon2")).unwrap();
    let circuit = conv.circuit();
    let mut used = vec![false; circuit.num_vars];
    for g in &circuit.gates {
        let s = g.selectors;
        let [a, b, c] = g.wires;
        used[a.0 as usize] |= s.q_l != Fr::ZERO || s.q_m != Fr::ZERO;
        used[b.0 as usize] |= s.q_r != Fr::ZERO || s.q_m != Fr::ZERO;
        used[c.0 as usize] |= s.q_o != Fr::ZERO;
    }
    let mut checked = 0;
    for v in (0..circuit.num_vars).filter(|v| used[*v]) {
        let mut bad = witness.clone();
        bad.values[v] += Fr::ONE;
        assert!(
            !failing_rows(circuit, &bad, &public).is_empty(),
            "variable {v} is not pinned"
        );
        checked += 1;
    }
    assert!(checked > 500);
}

fn lc(terms: &[(u32, u64)]) -> Vec<Term> {
    terms.iter().map(|&(w, c)| (w, Fr::from(c))).collect()
}

fn system(n_wires: u32, n_pub_out: u32, constraints: Vec<Constraint>) -> R1cs {
    R1cs {
        n_wires,
        n_pub_out,
        n_pub_in: 0,
        n_prv_in: 0,
        n_labels: u64::from(n_wires),
        constraints,
        wire_to_label: (0..u64::from(n_wires)).collect(),
    }
}

fn mul(a: &[(u32, u64)], b: &[(u32, u64)], c: &[(u32, u64)]) -> Constraint {
    Constraint {
        a: lc(a),
        b: lc(b),
        c: lc(c),
    }
}

#[test]
fn the_rules_cost_what_the_module_says() {
    // No public wires, so rows are the constraint's own.
    let rows = |c: Constraint| {
        let conv = convert(&system(10, 0, vec![c])).unwrap();
        conv.stats().rows
    };
    // x·y = z: one row.
    assert_eq!(rows(mul(&[(1, 1)], &[(2, 1)], &[(3, 1)])), 1);
    // (2x + 3)·(5y + 7) = 4z + 9: constants fold, one row.
    assert_eq!(
        rows(mul(&[(1, 2), (0, 3)], &[(2, 5), (0, 7)], &[(3, 4), (0, 9)])),
        1
    );
    // x·y = x + z: the C term on x folds into q_L, one row (snarkjs: 2).
    assert_eq!(rows(mul(&[(1, 1)], &[(2, 1)], &[(1, 1), (3, 1)])), 1);
    // x·y = z + u: two rows.
    assert_eq!(rows(mul(&[(1, 1)], &[(2, 1)], &[(3, 1), (4, 1)])), 2);
    // (x + y)·(x + y) = z: the sum is reduced once (snarkjs: 3).
    assert_eq!(
        rows(mul(&[(1, 1), (2, 1)], &[(1, 1), (2, 1)], &[(3, 1)])),
        2
    );
    // (x + y)·(2x + 2y) = z: a multiple shares the partial sum too.
    assert_eq!(
        rows(mul(&[(1, 1), (2, 1)], &[(1, 2), (2, 2)], &[(3, 1)])),
        2
    );
    // (x + y + u)·v = z: two partial sums and the product.
    assert_eq!(
        rows(mul(&[(1, 1), (2, 1), (4, 1)], &[(5, 1)], &[(3, 1)])),
        3
    );
    // Linear, A constant: 3·(x + y + u) = z is 4 terms: 2 rows; 3 terms: 1 row.
    assert_eq!(
        rows(mul(&[(0, 3)], &[(1, 1), (2, 1), (4, 1)], &[(3, 1)])),
        2
    );
    assert_eq!(rows(mul(&[(0, 3)], &[(1, 1), (2, 1)], &[(3, 1)])), 1);
    // Linear, six terms: max(1, 6 − 2) = 4 rows.
    let six = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (0, 8)];
    assert_eq!(rows(mul(&[(0, 1)], &six, &[(6, 1)])), 4);
    // A = 0: C = 0 with one term; 0 = 0 costs nothing; 1·(x − x) = 0 too.
    assert_eq!(rows(mul(&[], &[(1, 1)], &[(2, 1)])), 1);
    assert_eq!(rows(mul(&[], &[], &[])), 0);
    let conv = convert(&system(
        10,
        0,
        vec![mul(&[(0, 1)], &[(1, 1), (1, 0)], &[(1, 1)])],
    ))
    .unwrap();
    assert_eq!(conv.stats().rows, 0);
    assert_eq!(conv.stats().trivial_constraints, 1);

    // Two constraints on the same sums: the second reuses the first's partial sums.
    let shared = system(
        10,
        0,
        vec![
            mul(&[(1, 1), (2, 1), (4, 1)], &[(5, 1)], &[(3, 1)]),
            mul(&[(1, 2), (2, 2), (4, 2)], &[(6, 1)], &[(7, 1)]),
            mul(&[(0, 1)], &[(1, 1), (2, 1), (4, 1), (5, 1)], &[(8, 1)]),
        ],
    );
    let stats = convert(&shared).unwrap().stats();
    // 2 partial sums + product, product only, 1 more partial sum + final row.
    assert_eq!(stats.rows, 3 + 1 + 1, "{stats}");
    assert!(stats.rows < stats.snarkjs_rows, "{stats}");

    // Alias elimination: x2 = (x1 − 2)/3 goes, x1·x1 = x3 stays: 1 row (snarkjs: 2) ...
    let aliased = |n_pub_out| {
        system(
            10,
            n_pub_out,
            vec![
                mul(&[(0, 1)], &[(1, 1)], &[(2, 3), (0, 2)]),
                mul(&[(2, 1)], &[(2, 1)], &[(3, 1)]),
            ],
        )
    };
    let on = ConvertOptions {
        eliminate_aliases: true,
    };
    let conv = convert_with(&aliased(0), on).unwrap();
    assert_eq!(conv.stats().rows, 1);
    assert_eq!(conv.stats().snarkjs_rows, 2);
    assert!(conv.is_eliminated(2) && !conv.is_eliminated(1) && !conv.is_eliminated(3));
    // ... unless both wires are public (2 public rows + 2 rows), or it is not asked for.
    assert_eq!(convert_with(&aliased(2), on).unwrap().stats().rows, 4);
    assert_eq!(convert_with(&aliased(1), on).unwrap().stats().rows, 2);
    assert_eq!(convert(&aliased(0)).unwrap().stats().rows, 2);
    // A wire fixed to a constant turns the product using it into a linear row.
    let fixed = system(
        10,
        0,
        vec![
            mul(&[(0, 2)], &[(1, 1)], &[(0, 6)]),
            mul(&[(1, 1)], &[(2, 1), (3, 1)], &[(4, 1)]),
        ],
    );
    let conv = convert_with(&fixed, on).unwrap();
    assert_eq!(conv.stats().rows, 1, "3·(x2 + x3) = x4 in one row");
    assert_eq!(conv.stats().snarkjs_rows, 3);
}

#[test]
fn bad_systems_are_refused() {
    assert_eq!(
        convert(&system(4, 1, vec![])).unwrap_err(),
        ImportError::EmptyR1cs
    );
    let out_of_range = system(4, 0, vec![mul(&[(1, 1)], &[(7, 1)], &[(3, 1)])]);
    assert_eq!(
        convert(&out_of_range).unwrap_err(),
        ImportError::WireOutOfRange {
            constraint: 0,
            wire: 7,
            n_wires: 4
        }
    );
    let no_room = system(2, 3, vec![mul(&[(1, 1)], &[(1, 1)], &[(1, 1)])]);
    assert!(matches!(
        convert(&no_room),
        Err(ImportError::InvalidHeader { .. })
    ));
    let no_wires = system(0, 0, vec![mul(&[], &[], &[])]);
    assert!(matches!(
        convert(&no_wires),
        Err(ImportError::InvalidHeader { .. })
    ));
}

/// A random R1CS over `n_in` free wires and one solved wire per constraint, with two
/// satisfying witnesses. Constraints mix products, constant-A linear ones, repeated and
/// scaled linear combinations, constants, and C terms on A's wire.
fn random_system(seed: u64) -> (R1cs, circom::Witness, circom::Witness) {
    let mut rng = StdRng::seed_from_u64(seed);
    let n_in: u32 = rng.gen_range(1..5);
    let n_cons: u32 = rng.gen_range(1..8);
    let n_wires = 1 + n_in + n_cons;
    let n_pub_out = rng.gen_range(0..=n_in.min(2));
    let mut ws: [Vec<Fr>; 2] = std::array::from_fn(|_| {
        let mut w = vec![Fr::ONE];
        w.extend((0..n_in).map(|_| Fr::rand(&mut rng)));
        w.resize(n_wires as usize, Fr::ZERO);
        w
    });
    let mut pool: Vec<Vec<Term>> = Vec::new();
    let mut constraints = Vec::new();
    for i in 0..n_cons {
        let out = 1 + n_in + i; // solved by this constraint
        let random_lc = |rng: &mut StdRng, pool: &mut Vec<Vec<Term>>| -> Vec<Term> {
            match rng.gen_range(0..7) {
                0 if !pool.is_empty() => pool[rng.gen_range(0..pool.len())].clone(),
                // The same wires as an earlier combination, one coefficient changed.
                2 if !pool.is_empty() => {
                    let mut l = pool[rng.gen_range(0..pool.len())].clone();
                    let at = rng.gen_range(0..l.len());
                    l[at].1 += Fr::ONE;
                    l
                }
                1 if !pool.is_empty() => {
                    let k = Fr::rand(rng);
                    let src = &pool[rng.gen_range(0..pool.len())];
                    src.iter().map(|&(w, c)| (w, k * c)).collect()
                }
                _ => {
                    let n = rng.gen_range(1..6);
                    let mut l: Vec<Term> = (0..n)
                        .map(|_| (rng.gen_range(1..out), Fr::rand(rng)))
                        .collect();
                    if rng.gen_bool(0.4) {
                        l.push((0, Fr::rand(rng)));
                    }
                    pool.push(l.clone());
                    l
                }
            }
        };
        let a: Vec<Term> = if rng.gen_bool(0.2) {
            vec![(0, Fr::rand(&mut rng))]
        } else {
            random_lc(&mut rng, &mut pool)
        };
        let b = if a.iter().all(|t| t.0 == 0) && rng.gen_bool(0.2) {
            vec![(0, Fr::rand(&mut rng))]
        } else {
            random_lc(&mut rng, &mut pool)
        };
        // C: the solved wire, maybe A's first wire, maybe a few more, maybe a constant.
        let gamma = Fr::rand(&mut rng);
        let mut c: Vec<Term> = Vec::new();
        if let Some(&(w, _)) = a.iter().find(|(w, _)| *w != 0)
            && rng.gen_bool(0.3)
        {
            c.push((w, Fr::rand(&mut rng)));
        }
        for _ in 0..rng.gen_range(0..3) {
            c.push((rng.gen_range(1..out), Fr::rand(&mut rng)));
        }
        if rng.gen_bool(0.3) {
            c.push((0, Fr::rand(&mut rng)));
        }
        let at = rng.gen_range(0..=c.len());
        c.insert(at, (out, gamma));
        let gamma_inv = gamma.inverse().unwrap();
        for w in &mut ws {
            let eval = |l: &[Term]| l.iter().map(|&(x, k)| k * w[x as usize]).sum::<Fr>();
            let rest: Fr = eval(&c) - gamma * w[out as usize];
            w[out as usize] = (eval(&a) * eval(&b) - rest) * gamma_inv;
        }
        constraints.push(Constraint { a, b, c });
    }
    let mut r = system(n_wires, n_pub_out, constraints);
    r.n_prv_in = n_in - n_pub_out;
    let [w1, w2] = ws;
    (r, circom::Witness(w1), circom::Witness(w2))
}

fn convert_checked(r: &R1cs, w: &circom::Witness) -> (Converted, Witness, Vec<Fr>) {
    r.check_witness(w)
        .expect("the generator makes satisfying witnesses");
    let conv = convert(r).unwrap();
    let (witness, public) = conv.witness(w).unwrap();
    (conv, witness, public)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_systems_convert_soundly(seed in any::<u64>()) {
        let (r, w1, w2) = random_system(seed);
        let (conv, witness, public) = convert_checked(&r, &w1);
        let circuit = conv.circuit();
        check_structure(circuit, &witness);
        prop_assert!(failing_rows(circuit, &witness, &public).is_empty());
        prop_assert_eq!(&public, &w1.0[1..=r.n_public()].to_vec());
        prop_assert!(conv.stats().rows <= conv.stats().snarkjs_rows);

        // The same circuit serves a second witness.
        let (witness2, public2) = conv.witness(&w2).unwrap();
        prop_assert!(failing_rows(circuit, &witness2, &public2).is_empty());
        prop_assert_eq!(convert(&r).unwrap().circuit().gates.clone(), circuit.gates.clone());

        // Change one wire that a constraint uses: whenever that breaks the R1CS, it
        // breaks a row (partial sums kept, as a cheating prover would).
        let mut appears = vec![false; r.n_wires as usize];
        for c in &r.constraints {
            for &(wire, _) in c.a.iter().chain(&c.b).chain(&c.c) {
                appears[wire as usize] = true;
            }
        }
        let mut broke = 0;
        for wire in 1..r.n_wires {
            if !appears[wire as usize] {
                continue;
            }
            let mut bad = w1.clone();
            bad.0[wire as usize] += Fr::ONE;
            let v = conv.wire_var(wire).unwrap();
            let mut tampered = witness.clone();
            tampered.values[v.0 as usize] += Fr::ONE;
            let bad_public: Vec<Fr> = bad.0[1..=r.n_public()].to_vec();
            let rows_fail = !failing_rows(circuit, &tampered, &bad_public).is_empty();
            if r.is_satisfied(&bad).is_err() {
                broke += 1;
                prop_assert!(rows_fail, "wire {} breaks the R1CS but no row", wire);
                let refused = matches!(conv.witness(&bad), Err(ImportError::Unsatisfied { .. }));
                prop_assert!(refused, "wire {} breaks the R1CS but the witness is accepted", wire);
            }
        }
        // The last solved wire always breaks its constraint.
        prop_assert!(broke > 0);
    }

    #[test]
    fn random_systems_with_alias_elimination(seed in any::<u64>()) {
        let (r, w1, w2) = random_system(seed);
        let conv = convert_with(&r, ConvertOptions { eliminate_aliases: true }).unwrap();
        let circuit = conv.circuit();
        prop_assert!(conv.stats().rows <= conv.stats().snarkjs_rows);
        for w in [&w1, &w2] {
            let (witness, public) = conv.witness(w).unwrap();
            check_structure(circuit, &witness);
            prop_assert!(failing_rows(circuit, &witness, &public).is_empty());
            prop_assert_eq!(&public, &w.0[1..=r.n_public()].to_vec());
            prop_assert_eq!(&conv.circom_witness(&witness), w);
        }
        // Soundness: change any variable in a row; if every row still holds, the circom
        // witness it stands for (eliminated wires from their aliases) satisfies the R1CS.
        let (witness, _) = conv.witness(&w1).unwrap();
        let mut in_rows = vec![false; circuit.num_vars];
        for g in &circuit.gates {
            for v in g.wires {
                in_rows[v.0 as usize] = true;
            }
        }
        let mut broke = 0;
        for v in (0..circuit.num_vars).filter(|v| in_rows[*v]) {
            let mut tampered = witness.clone();
            tampered.values[v] += Fr::ONE;
            let statement = tampered.public_inputs(circuit);
            if failing_rows(circuit, &tampered, &statement).is_empty() {
                prop_assert!(r.is_satisfied(&conv.circom_witness(&tampered)).is_ok());
            } else {
                broke += 1;
            }
        }
        // Changing a public row's variable changes the statement with it: only other rows
        // must break.
        prop_assert!(broke > 0 || circuit.gates.iter().all(|g| g.public));
    }
}

#[test]
fn a_public_wire_kept_but_its_statement_changed_fails() {
    // The statement binds the wire: the converted witness with another public value fails
    // the public row.
    let conv = convert(&r1cs("affine")).unwrap();
    let (witness, mut public) = conv.witness(&wtns("affine")).unwrap();
    public[3] += Fr::ONE;
    assert_eq!(failing_rows(conv.circuit(), &witness, &public), vec![3]);
}
