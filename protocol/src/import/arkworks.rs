//! Circuits written with arkworks: any [`ConstraintSynthesizer`] over BN254's scalar field
//! becomes the same [`R1cs`] and [`circom::Witness`] that the circom readers produce, so it
//! goes through the same converter ([`super::plonk::convert`]) and the same proving path.
//!
//! [`synthesize`] runs the circuit once with witness generation on and gives both the
//! constraint system and its witness; [`synthesize_shape`] runs it in arkworks' setup mode
//! (no values at all) and gives the constraint system alone, to compile and preprocess a
//! circuit before any witness exists. For the same circuit both give the same [`R1cs`].
//!
//! # Wires
//!
//! arkworks numbers its variables as circom numbers its wires: instance variable 0 is the
//! constant one (wire 0), the public inputs follow in the order the circuit allocated them
//! (`FpVar::new_input`, …: wires `1..num_instance`), then every witness variable in
//! allocation order. The [`R1cs`] keeps that numbering: its public signals are arkworks'
//! public inputs (`n_pub_out = 0`, `n_pub_in = num_instance − 1`), so
//! [`super::plonk::Converted::witness`] gives them, in allocation order, as the statement
//! a verifier checks. arkworks does not tell private inputs from intermediate values, so
//! `n_prv_in` is 0 (every witness variable counts as internal, as circom counts its
//! intermediate signals); `n_labels = n_wires` and every wire is its own label.
//!
//! # Constraints
//!
//! The circuit is synthesized with [`OptimizationGoal::Constraints`] (the goal arkworks'
//! Groth16 uses; in ark-relations 0.6 it only steers gadgets such as emulated fields) and
//! finalized, which in 0.6 always inlines every symbolic linear combination into the
//! constraints that use it: each constraint's A, B and C are then linear combinations of
//! wires alone. Long combinations cost rows in the converter (one partial sum per further
//! term, shared between combinations that start alike): a gadget that keeps many values as
//! unconstrained linear combinations, as the Poseidon sponge of ark-crypto-primitives does
//! between its S-boxes, converts to several rows per constraint.
//!
//! ark-relations 0.6 builds *generalized* R1CS, constraints grouped by predicate. The R1CS
//! predicate (`a·b − c = 0`, every gadget of ark-r1cs-std) maps one to one; the squared-R1CS
//! predicate (`a² − b = 0`) becomes `a·a = b`. Constraints are taken predicate by predicate
//! in the order of their labels (arkworks' own order), each in enforcement order. Any other
//! predicate with constraints is refused ([`ImportError::ArkworksPredicate`]).
//!
//! # Limits
//!
//! Every variable a constraint uses must come from the constraint system the circuit was
//! given: arkworks cannot tell a variable of another `ConstraintSystem` from its own (one
//! whose index is out of range is refused here with [`ImportError::WireOutOfRange`]; one
//! in range silently means another wire, and one naming a linear combination that does
//! not exist makes arkworks itself panic while it finalizes).

use ark_ff::{Field, Zero};
use ark_relations::gr1cs::predicate::Predicate;
use ark_relations::gr1cs::predicate::polynomial_constraint::PolynomialPredicate;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, Matrix, OptimizationGoal,
    SynthesisError, SynthesisMode,
};

use super::ImportError;
use super::circom::{self, Constraint, R1cs, Term};
use crate::Fr;

/// Runs `circuit` with witness generation on and returns its constraint system and the
/// witness: one value per wire, wire 0 (the constant 1) first, then the public inputs,
/// then the private values (see the module documentation for the numbering).
///
/// Refuses a circuit whose `generate_constraints` fails
/// ([`ImportError::ArkworksSynthesis`]), whose assignment does not satisfy its constraints
/// ([`ImportError::ArkworksUnsatisfied`], naming the first failing constraint as arkworks
/// does, with its namespace path when ark-relations' `ConstraintLayer` tracing layer is
/// installed), or that uses a predicate other than R1CS and squared R1CS
/// ([`ImportError::ArkworksPredicate`]).
pub fn synthesize<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
) -> Result<(R1cs, circom::Witness), ImportError> {
    let cs = run(
        circuit,
        SynthesisMode::Prove {
            construct_matrices: true,
            generate_lc_assignments: true,
        },
    )?;
    let r1cs = to_r1cs(&cs)?;
    let witness = assignment(&cs)?;
    match r1cs.check_witness(&witness) {
        Ok(()) => Ok((r1cs, witness)),
        Err(ImportError::Unsatisfied { constraint }) => {
            // arkworks' own description of its first failing constraint: the same one,
            // since constraints are taken in its order. Only called on failure: without
            // a `ConstraintLayer` ark-relations prints a hint to stderr.
            let location = match cs.which_is_unsatisfied() {
                Ok(Some(trace)) => trace,
                Ok(None) | Err(_) => format!("constraint {constraint}"),
            };
            Err(ImportError::ArkworksUnsatisfied {
                constraint,
                location,
            })
        }
        Err(e) => Err(e),
    }
}

/// Runs `circuit` in arkworks' setup mode (no values are computed, none are needed) and
/// returns its constraint system: the [`R1cs`] that [`synthesize`] gives for the same
/// circuit, to compile and preprocess before any witness exists.
///
/// The circuit must allocate every variable with a closure that it does not need to call
/// in setup mode (`FpVar::new_witness(cs, || …)`), and must not read values during
/// synthesis: a circuit that does fails with [`ImportError::ArkworksSynthesis`]. Other
/// refusals are those of [`synthesize`], satisfaction aside (nothing is assigned).
pub fn synthesize_shape<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<R1cs, ImportError> {
    let cs = run(circuit, SynthesisMode::Setup)?;
    to_r1cs(&cs)
}

/// A fresh constraint system in `mode` that inlines every linear combination, with
/// `circuit` synthesized into it and finalized.
fn run<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    mode: SynthesisMode,
) -> Result<ConstraintSystemRef<Fr>, ImportError> {
    let mut inner = ConstraintSystem::<Fr>::new();
    inner.set_mode(mode);
    inner.set_optimization_goal(OptimizationGoal::Constraints);
    let cs = ConstraintSystemRef::new(inner);
    circuit
        .generate_constraints(cs.clone())
        .map_err(|e| synthesis_error(e, mode))?;
    cs.finalize();
    Ok(cs)
}

/// [`ImportError::ArkworksSynthesis`] for `e`, with what to do about it.
fn synthesis_error(e: SynthesisError, mode: SynthesisMode) -> ImportError {
    let hint = match (e, mode) {
        (SynthesisError::AssignmentMissing, SynthesisMode::Setup) => {
            ": in setup mode no value is known; allocate variables with closures \
             (`FpVar::new_witness(cs, || …)`) and read no `.value()` while synthesizing, \
             or use `synthesize` with the witness"
        }
        (SynthesisError::AssignmentMissing, _) => {
            ": a value the circuit needs is missing; give the circuit every input it \
             allocates (a `None` where `Some(value)` was expected?)"
        }
        (SynthesisError::Unsatisfiable, _) => {
            ": a gadget found its inputs cannot satisfy the circuit; check the inputs"
        }
        (SynthesisError::DivisionByZero, _) => ": check the inputs (an inverse of zero?)",
        _ => "",
    };
    ImportError::ArkworksSynthesis {
        reason: format!("{e}{hint}"),
    }
}

/// How a predicate's constraints map to `A·B = C`.
#[derive(Clone, Copy)]
enum Kind {
    /// `a·b − c = 0`: A, B, C are its three arguments.
    R1cs,
    /// `a² − b = 0`: A = B = its first argument, C the second.
    Squared,
}

/// Which of the two predicates tutti converts `predicate` is, by its polynomial (not by
/// its label, which a circuit chooses).
fn kind(predicate: &Predicate<Fr>) -> Option<Kind> {
    let Predicate::Polynomial(p) = predicate else {
        return None;
    };
    let r1cs = PolynomialPredicate::new(
        3,
        [(Fr::ONE, vec![(0, 1), (1, 1)]), (-Fr::ONE, vec![(2, 1)])],
    );
    let squared = PolynomialPredicate::new(2, [(Fr::ONE, vec![(0, 2)]), (-Fr::ONE, vec![(1, 1)])]);
    if p.arity() == 3 && p.polynomial == r1cs.polynomial {
        Some(Kind::R1cs)
    } else if p.arity() == 2 && p.polynomial == squared.polynomial {
        Some(Kind::Squared)
    } else {
        None
    }
}

/// The finalized constraint system as an [`R1cs`].
fn to_r1cs(cs: &ConstraintSystemRef<Fr>) -> Result<R1cs, ImportError> {
    let num_instance = cs.num_instance_variables();
    let n_wires = num_instance
        .checked_add(cs.num_witness_variables())
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(ImportError::TooManyVariables {
            needed: (num_instance as u64).saturating_add(cs.num_witness_variables() as u64),
        })?;
    // num_instance ≥ 1 (the constant) and ≤ n_wires, which fits a u32.
    let n_pub_in = (num_instance as u32).saturating_sub(1);

    let types = cs.get_all_predicate_types();
    let counts = cs.get_all_predicates_num_constraints();
    let matrices = cs
        .to_matrices()
        .map_err(|e| ImportError::ArkworksSynthesis {
            reason: format!("its constraint matrices could not be built: {e}"),
        })?;
    let mut constraints = Vec::with_capacity(cs.num_constraints());
    for (label, mats) in &matrices {
        let count = counts.get(label).copied().unwrap_or(0);
        if count == 0 {
            continue;
        }
        let kind =
            types
                .get(label)
                .and_then(kind)
                .ok_or_else(|| ImportError::ArkworksPredicate {
                    label: label.clone(),
                    arity: mats.len(),
                    constraints: count,
                })?;
        let lcs = |i: usize| -> Result<&Matrix<Fr>, ImportError> {
            mats.get(i)
                .filter(|m| m.len() == count)
                .ok_or_else(|| ImportError::ArkworksSynthesis {
                    reason: format!(
                        "predicate {label:?} has {count} constraints but its matrix {i} \
                         does not have one row each"
                    ),
                })
        };
        match kind {
            Kind::R1cs => {
                let (a, b, c) = (lcs(0)?, lcs(1)?, lcs(2)?);
                for ((a, b), c) in a.iter().zip(b).zip(c) {
                    let at = constraints.len();
                    constraints.push(Constraint {
                        a: terms(a, at, n_wires)?,
                        b: terms(b, at, n_wires)?,
                        c: terms(c, at, n_wires)?,
                    });
                }
            }
            Kind::Squared => {
                let (a, c) = (lcs(0)?, lcs(1)?);
                for (a, c) in a.iter().zip(c) {
                    let at = constraints.len();
                    let a = terms(a, at, n_wires)?;
                    constraints.push(Constraint {
                        b: a.clone(),
                        a,
                        c: terms(c, at, n_wires)?,
                    });
                }
            }
        }
    }

    Ok(R1cs {
        n_wires,
        n_pub_out: 0,
        n_pub_in,
        n_prv_in: 0,
        n_labels: u64::from(n_wires),
        constraints,
        wire_to_label: (0..u64::from(n_wires)).collect(),
    })
}

/// One row of an arkworks matrix (coefficient, variable index) as R1CS terms, refusing an
/// index the constraint system does not have. `constraint` is the index the constraint
/// being built will have (for the error).
fn terms(row: &[(Fr, usize)], constraint: usize, n_wires: u32) -> Result<Vec<Term>, ImportError> {
    row.iter()
        .filter(|(coeff, _)| !coeff.is_zero())
        .map(|&(coeff, index)| match u32::try_from(index) {
            Ok(wire) if wire < n_wires => Ok((wire, coeff)),
            _ => Err(ImportError::WireOutOfRange {
                constraint,
                wire: u32::try_from(index).unwrap_or(u32::MAX),
                n_wires,
            }),
        })
        .collect()
}

/// The assignment of a constraint system synthesized in prove mode: instance variables
/// (the constant first), then witness variables.
fn assignment(cs: &ConstraintSystemRef<Fr>) -> Result<circom::Witness, ImportError> {
    let missing = |e: SynthesisError| ImportError::ArkworksSynthesis {
        reason: format!("its assignment could not be read: {e}"),
    };
    let mut values = cs.instance_assignment().map_err(missing)?;
    values.extend(cs.witness_assignment().map_err(missing)?);
    Ok(circom::Witness(values))
}
