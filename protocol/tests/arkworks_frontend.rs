//! The arkworks frontend (`import::arkworks`): circuits written as arkworks
//! `ConstraintSynthesizer`s, hand-written and built from ark-crypto-primitives' Poseidon
//! sponge gadget, become the same R1CS and witness as the circom path's, convert to gates
//! whose every row holds, and prove and verify; a bad assignment, a missing value and a
//! custom predicate are refused with typed errors.
#![cfg(feature = "arkworks")]

mod common;

use ark_crypto_primitives::sponge::constraints::CryptographicSpongeVar;
use ark_crypto_primitives::sponge::poseidon::constraints::PoseidonSpongeVar;
use ark_crypto_primitives::sponge::poseidon::{
    PoseidonConfig, PoseidonSponge, find_poseidon_ark_and_mds,
};
use ark_crypto_primitives::sponge::{CryptographicSponge, FieldBasedCryptographicSponge};
use ark_ff::{AdditiveGroup, Field, UniformRand};
use ark_r1cs_std::GR1CSVar;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::predicate::PredicateConstraintSystem;
use ark_relations::gr1cs::predicate::polynomial_constraint::SR1CS_PREDICATE_LABEL;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};
use rand::{SeedableRng, rngs::StdRng};
use tutti_protocol::Fr;
use tutti_protocol::circuit::Witness;
use tutti_protocol::import::ImportError;
use tutti_protocol::import::arkworks::{synthesize, synthesize_shape};
use tutti_protocol::import::circom::{self, R1cs};
use tutti_protocol::import::plonk::{Converted, convert};
use tutti_protocol::verifier::verify;

use common::circom::{layout_check, shape_for};

/// `x³ + x + 5 = y`, `y` public, written against the raw constraint-system API.
#[derive(Clone, Copy)]
struct Cubic {
    x: Option<Fr>,
    y: Option<Fr>,
}

impl ConstraintSynthesizer<Fr> for Cubic {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let missing = || SynthesisError::AssignmentMissing;
        let y = cs.new_input_variable(|| self.y.ok_or_else(missing))?;
        let x = cs.new_witness_variable(|| self.x.ok_or_else(missing))?;
        let x2_value = self.x.map(|x| x * x);
        let x2 = cs.new_witness_variable(|| x2_value.ok_or_else(missing))?;
        let x3 = cs.new_witness_variable(|| {
            x2_value.zip(self.x).map(|(a, b)| a * b).ok_or_else(missing)
        })?;
        cs.enforce_r1cs_constraint(|| x.into(), || x.into(), || x2.into())?;
        cs.enforce_r1cs_constraint(|| x2.into(), || x.into(), || x3.into())?;
        cs.enforce_r1cs_constraint(
            || LinearCombination::from(x3) + x + (Fr::from(5u64), Variable::One),
            || Variable::One.into(),
            || y.into(),
        )?;
        Ok(())
    }
}

fn cubic(x: u64) -> Cubic {
    let x = Fr::from(x);
    Cubic {
        x: Some(x),
        y: Some(x * x * x + x + Fr::from(5u64)),
    }
}

/// Terms sorted by wire, to compare linear combinations whatever their order.
fn sorted(mut terms: Vec<(u32, Fr)>) -> Vec<(u32, Fr)> {
    terms.sort_by_key(|t| t.0);
    terms
}

/// Synthesizes, checks the R1CS against the shape-only synthesis, converts, and checks
/// the converted witness against the circuit.
fn import<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    shape: C,
) -> (R1cs, circom::Witness, Converted, Witness, Vec<Fr>) {
    let (r1cs, w) = synthesize(circuit).unwrap();
    assert_eq!(
        synthesize_shape(shape).unwrap(),
        r1cs,
        "setup mode, same R1CS"
    );
    r1cs.check_witness(&w).unwrap();
    let conv = convert(&r1cs).unwrap();
    let (witness, public) = conv.witness(&w).unwrap();
    assert_eq!(public, w.0[1..=r1cs.n_public()].to_vec());
    assert_eq!(witness.public_inputs(conv.circuit()), public);
    layout_check(conv.circuit(), &witness, &public, 1).unwrap();
    (r1cs, w, conv, witness, public)
}

#[test]
fn a_hand_written_circuit_imports_with_its_public_input() {
    let (r1cs, w, conv, _, public) = import(cubic(3), Cubic { x: None, y: None });
    // Wires: 0 one, 1 y (public), 2 x, 3 x², 4 x³.
    assert_eq!(
        (r1cs.n_wires, r1cs.n_pub_out, r1cs.n_pub_in, r1cs.n_prv_in),
        (5, 0, 1, 0)
    );
    assert_eq!(r1cs.n_labels, 5);
    assert_eq!(r1cs.wire_to_label, vec![0, 1, 2, 3, 4]);
    let one = Fr::ONE;
    assert_eq!(r1cs.constraints.len(), 3);
    let c = &r1cs.constraints;
    assert_eq!(
        (c[0].a.clone(), c[0].b.clone()),
        (vec![(2, one)], vec![(2, one)])
    );
    assert_eq!(c[0].c, vec![(3, one)]);
    assert_eq!(
        (c[1].a.clone(), c[1].b.clone()),
        (vec![(3, one)], vec![(2, one)])
    );
    assert_eq!(c[1].c, vec![(4, one)]);
    assert_eq!(
        sorted(c[2].a.clone()),
        vec![(0, Fr::from(5u64)), (2, one), (4, one)]
    );
    assert_eq!(
        (c[2].b.clone(), c[2].c.clone()),
        (vec![(0, one)], vec![(1, one)])
    );

    let y = Fr::from(27u64 + 3 + 5);
    assert_eq!(
        w.0,
        vec![one, y, Fr::from(3u64), Fr::from(9u64), Fr::from(27u64)]
    );
    assert_eq!(public, vec![y]);
    println!("cubic: {}", conv.stats());
}

#[test]
fn a_bad_assignment_is_refused_naming_the_constraint() {
    let mut bad = cubic(3);
    bad.y = Some(Fr::from(36u64));
    let err = synthesize(bad).unwrap_err();
    assert!(
        matches!(&err, ImportError::ArkworksUnsatisfied { constraint: 2, location } if !location.is_empty()),
        "{err:?}"
    );
    println!("{err}");
    // The same circuit's shape does not depend on the values.
    assert_eq!(
        synthesize_shape(bad).unwrap(),
        synthesize(cubic(3)).unwrap().0
    );
}

#[test]
fn a_missing_value_is_refused() {
    let err = synthesize(Cubic {
        x: Some(Fr::ONE),
        y: None,
    })
    .unwrap_err();
    assert!(
        matches!(&err, ImportError::ArkworksSynthesis { reason } if reason.contains("missing")),
        "{err:?}"
    );
}

/// A circuit that reads a value while synthesizing: fine with a witness, refused in
/// setup mode.
struct ReadsValues(Fr);

impl ConstraintSynthesizer<Fr> for ReadsValues {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let x = FpVar::new_witness(cs.clone(), || Ok(self.0))?;
        let square = x.value()? * x.value()?;
        let out = FpVar::new_input(cs, || Ok(square))?;
        (&x * &x).enforce_equal(&out)
    }
}

#[test]
fn setup_mode_refuses_a_circuit_that_reads_values() {
    let (r1cs, w) = synthesize(ReadsValues(Fr::from(7u64))).unwrap();
    r1cs.check_witness(&w).unwrap();
    let err = synthesize_shape(ReadsValues(Fr::from(7u64))).unwrap_err();
    assert!(
        matches!(&err, ImportError::ArkworksSynthesis { reason } if reason.contains("setup mode")),
        "{err:?}"
    );
}

/// `a² = b` through arkworks' squared-R1CS predicate, and optionally `a·b·c = 0` through
/// a custom degree-3 predicate.
struct Predicates {
    a: Fr,
    custom: bool,
}

impl ConstraintSynthesizer<Fr> for Predicates {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let a = cs.new_witness_variable(|| Ok(self.a))?;
        let b = cs.new_input_variable(|| Ok(self.a * self.a))?;
        cs.register_predicate(
            SR1CS_PREDICATE_LABEL,
            PredicateConstraintSystem::new_sr1cs_predicate()?,
        )?;
        cs.enforce_sr1cs_constraint(|| a.into(), || b.into())?;
        cs.enforce_r1cs_constraint(|| a.into(), || Variable::One.into(), || a.into())?;
        if self.custom {
            cs.register_predicate(
                "XYZ",
                PredicateConstraintSystem::new_polynomial_predicate_cs(
                    3,
                    vec![(Fr::ONE, vec![(0, 1), (1, 1), (2, 1)])],
                ),
            )?;
            let zero = cs.new_witness_variable(|| Ok(Fr::ZERO))?;
            cs.enforce_constraint_arity_3("XYZ", || a.into(), || b.into(), || zero.into())?;
        }
        Ok(())
    }
}

#[test]
fn squared_r1cs_converts_and_other_predicates_are_refused() {
    let a = Fr::from(12u64);
    let (r1cs, w, _, _, public) = import(
        Predicates { a, custom: false },
        Predicates { a, custom: false },
    );
    // Predicates in label order: "R1CS" then "SR1CS".
    assert_eq!(r1cs.constraints.len(), 2);
    assert_eq!(r1cs.constraints[1].a, r1cs.constraints[1].b);
    assert_eq!(r1cs.constraints[1].c, vec![(1, Fr::ONE)]);
    assert_eq!(public, vec![a * a]);
    assert_eq!(w.0.len(), 3);

    let err = synthesize(Predicates { a, custom: true }).unwrap_err();
    assert_eq!(
        err,
        ImportError::ArkworksPredicate {
            label: "XYZ".into(),
            arity: 3,
            constraints: 1,
        }
    );
    assert!(synthesize_shape(Predicates { a, custom: true }).is_err());
}

/// Poseidon parameters for BN254's scalar field: rate 2, capacity 1, x⁵, 8 full and 57
/// partial rounds (the round numbers of circomlib's Poseidon(2)), constants from
/// ark-crypto-primitives' Grain LFSR.
fn poseidon_config() -> PoseidonConfig<Fr> {
    let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(254, 2, 8, 57, 0);
    PoseidonConfig::new(8, 57, 5, mds, ark, 2, 1)
}

/// The native (non-gadget) hash of `inputs`: absorb them, squeeze one element.
fn poseidon_native(config: &PoseidonConfig<Fr>, inputs: &[Fr]) -> Fr {
    let mut sponge = PoseidonSponge::new(config);
    sponge.absorb(&inputs.to_vec());
    sponge.squeeze_native_field_elements(1)[0]
}

/// The Poseidon sponge gadget over private inputs, its output made public.
struct PoseidonHash {
    config: PoseidonConfig<Fr>,
    inputs: Vec<Option<Fr>>,
    /// The public output claimed; `None`: the gadget's own output.
    claimed: Option<Fr>,
}

impl ConstraintSynthesizer<Fr> for PoseidonHash {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let inputs = self
            .inputs
            .iter()
            .map(|v| FpVar::new_witness(cs.clone(), || v.ok_or(SynthesisError::AssignmentMissing)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut sponge = PoseidonSpongeVar::new(cs.clone(), &self.config);
        sponge.absorb(&inputs)?;
        let hash = sponge
            .squeeze_field_elements(1)?
            .pop()
            .ok_or(SynthesisError::Unsatisfiable)?;
        // The closure runs only with a witness (not in setup mode).
        let public = FpVar::new_input(cs, || match self.claimed {
            Some(claimed) => Ok(claimed),
            None => hash.value(),
        })?;
        hash.enforce_equal(&public)
    }
}

fn poseidon_circuit(config: &PoseidonConfig<Fr>, inputs: Option<&[Fr]>) -> PoseidonHash {
    PoseidonHash {
        config: config.clone(),
        inputs: match inputs {
            Some(v) => v.iter().copied().map(Some).collect(),
            None => vec![None; 2],
        },
        claimed: None,
    }
}

#[test]
fn a_poseidon_gadget_imports_and_hashes_as_the_native_sponge() {
    let config = poseidon_config();
    let mut rng = StdRng::seed_from_u64(7);
    let inputs = [Fr::rand(&mut rng), Fr::rand(&mut rng)];
    let expected = poseidon_native(&config, &inputs);

    let (r1cs, w, conv, _, public) = import(
        poseidon_circuit(&config, Some(&inputs)),
        poseidon_circuit(&config, None),
    );
    assert_eq!(
        public,
        vec![expected],
        "the public output is the native hash"
    );
    assert_eq!((r1cs.n_pub_out, r1cs.n_pub_in), (0, 1));
    assert_eq!(w.0.len(), r1cs.n_wires as usize);
    let stats = conv.stats();
    println!(
        "Poseidon (rate 2, 8 + 57 rounds) via ark-crypto-primitives: {} R1CS constraints, \
         {} wires; {stats}",
        r1cs.constraints.len(),
        r1cs.n_wires
    );
    assert_eq!(stats.constraints, r1cs.constraints.len());

    // Another input: another hash, the same circuit.
    let other = [inputs[0] + Fr::ONE, inputs[1]];
    let (r2, w2) = synthesize(poseidon_circuit(&config, Some(&other))).unwrap();
    assert_eq!(r2, r1cs);
    assert_eq!(w2.0[1], poseidon_native(&config, &other));
    assert_ne!(w2.0[1], expected);
}

#[test]
fn a_poseidon_gadget_proves_and_verifies_in_two_shards() {
    let config = poseidon_config();
    let inputs = [Fr::from(1u64), Fr::from(2u64)];
    let expected = poseidon_native(&config, &inputs);
    let (r1cs, w) = synthesize(poseidon_circuit(&config, Some(&inputs))).unwrap();
    let conv = convert(&r1cs).unwrap();
    let (witness, public) = conv.witness(&w).unwrap();
    assert_eq!(public, vec![expected]);
    let circuit = conv.into_circuit();
    let m = 2;
    let t = shape_for(&circuit, m);
    let job = common::job(circuit, witness, m, t);
    assert_eq!(job.public_inputs, public);
    let report = job.prove().unwrap();
    verify(&job.pre.aggregator.vk, &[expected], &report.proof).unwrap();
    // Another statement does not verify.
    assert!(verify(&job.pre.aggregator.vk, &[expected + Fr::ONE], &report.proof).is_err());
}

#[test]
fn a_wrong_public_output_is_refused_with_its_namespace_path() {
    use ark_relations::gr1cs::{ConstraintLayer, TracingMode};
    use tracing_subscriber::layer::SubscriberExt;

    let config = poseidon_config();
    let inputs = [Fr::from(1u64), Fr::from(2u64)];
    let mut circuit = poseidon_circuit(&config, Some(&inputs));
    circuit.claimed = Some(poseidon_native(&config, &inputs) + Fr::ONE);
    let subscriber = tracing_subscriber::Registry::default()
        .with(ConstraintLayer::new(TracingMode::OnlyConstraints));
    let err = tracing::subscriber::with_default(subscriber, || synthesize(circuit)).unwrap_err();
    println!("{err}");
    let ImportError::ArkworksUnsatisfied {
        constraint,
        location,
    } = &err
    else {
        panic!("{err:?}");
    };
    // The last constraint, enforce_equal of the output and the public input.
    assert_eq!(
        *constraint,
        synthesize_shape(poseidon_circuit(&config, None))
            .unwrap()
            .constraints
            .len()
            - 1
    );
    assert!(location.contains("enforce_equal"), "{location}");
}
