//! MiMC-5 over BN254's scalar field, as a native function and as circuit gates.
//!
//! `x ↦ x^5` is a permutation of the field because gcd(5, r − 1) = 1. The keyed
//! permutation runs 110 rounds (⌈254 / log₂5⌉) of `x ← (x + k + c_i)^5` and returns
//! `x + k`; the two-to-one hash is `H(l, r) = E_r(l) + l`. Round constants are
//! `keccak256("tutti/mimc5/" || i as u32 BE)` reduced modulo r. Each round costs four rows.

use crate::circuit::{CircuitBuilder, Var};
use ark_ff::{Field, One, PrimeField, Zero};
use std::sync::OnceLock;
use tutti_crypto::Fr;
use tutti_crypto::transcript::keccak256;

/// Rounds of the permutation.
pub const ROUNDS: usize = 110;
/// Rows one call of [`hash_gadget`] adds.
pub const HASH_GATES: usize = 4 * ROUNDS + 2;

fn constants() -> &'static [Fr] {
    static C: OnceLock<Vec<Fr>> = OnceLock::new();
    C.get_or_init(|| {
        (0..ROUNDS as u32)
            .map(|i| {
                let mut seed = b"tutti/mimc5/".to_vec();
                seed.extend_from_slice(&i.to_be_bytes());
                Fr::from_be_bytes_mod_order(&keccak256(&seed))
            })
            .collect()
    })
}

/// `H(l, r)` computed natively.
pub fn hash(l: Fr, r: Fr) -> Fr {
    let mut x = l;
    for c in constants() {
        x = (x + r + c).pow([5]);
    }
    x + r + l
}

/// `H(l, r)` as gates; returns the variable holding the hash.
pub fn hash_gadget(b: &mut CircuitBuilder, l: Var, r: Var) -> Var {
    let one = Fr::one();
    let zero = Fr::zero();
    let mut x = l;
    for c in constants() {
        let t = b.arith(x, r, one, one, zero, *c);
        let t2 = b.mul(t, t);
        let t4 = b.mul(t2, t2);
        x = b.mul(t4, t);
    }
    let e = b.add(x, r);
    b.add(e, l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gadget_matches_native_and_gate_count() {
        let mut b = CircuitBuilder::new();
        let l = b.input(Fr::from(11u64));
        let r = b.input(Fr::from(22u64));
        let before = b.num_gates();
        let h = hash_gadget(&mut b, l, r);
        assert_eq!(b.num_gates() - before, HASH_GATES);
        assert_eq!(b.value(h), hash(Fr::from(11u64), Fr::from(22u64)));
        assert_ne!(
            hash(Fr::from(1u64), Fr::from(2u64)),
            hash(Fr::from(2u64), Fr::from(1u64))
        );
    }
}
