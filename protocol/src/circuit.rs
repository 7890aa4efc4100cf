//! Circuit model: rows of Plonk gates over variables, copy constraints, public inputs,
//! and a builder that computes the witness as the circuit is written.
//!
//! Every row checks `q_L·a + q_R·b + q_O·c + q_M·a·b + q_C + PI = 0`. A variable used in
//! several wire slots, or two variables joined by [`CircuitBuilder::assert_equal`], is a
//! copy constraint. A public input is a row `a − v = 0` whose value v belongs to the
//! statement, not to the circuit.

use ark_ff::{One, Zero};
use tutti_crypto::Fr;

/// A variable of the circuit (an index into the witness).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Var(pub u32);

/// The five selectors of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Selectors {
    /// Left wire coefficient.
    pub q_l: Fr,
    /// Right wire coefficient.
    pub q_r: Fr,
    /// Output wire coefficient.
    pub q_o: Fr,
    /// Product coefficient.
    pub q_m: Fr,
    /// Constant.
    pub q_c: Fr,
}

impl Selectors {
    /// The selectors as an array in the order `q_L, q_R, q_O, q_M, q_C`.
    pub fn to_array(&self) -> [Fr; 5] {
        [self.q_l, self.q_r, self.q_o, self.q_m, self.q_c]
    }

    /// Evaluates the gate (without the public-input term).
    pub fn evaluate(&self, a: Fr, b: Fr, c: Fr) -> Fr {
        self.q_l * a + self.q_r * b + self.q_o * c + self.q_m * a * b + self.q_c
    }
}

/// One row: selectors and the variables in its three wire slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    /// Selectors of the row.
    pub selectors: Selectors,
    /// Variables in slots a, b, c.
    pub wires: [Var; 3],
    /// True when the row is a public input (`a − v = 0`, v from the statement).
    pub public: bool,
}

/// A circuit: gates in order, equalities between variables, and shard breaks.
#[derive(Clone, Debug, Default)]
pub struct Circuit {
    /// Number of variables.
    pub num_vars: usize,
    /// The gates in row order.
    pub gates: Vec<Gate>,
    /// Pairs of variables that must be equal (besides sharing a variable).
    pub equalities: Vec<(Var, Var)>,
    /// Gate indices that must start a new shard.
    pub shard_breaks: Vec<usize>,
}

impl Circuit {
    /// Indices of the public-input gates, in order.
    pub fn public_input_gates(&self) -> impl Iterator<Item = usize> + '_ {
        self.gates
            .iter()
            .enumerate()
            .filter(|(_, g)| g.public)
            .map(|(i, _)| i)
    }
}

/// Values of every variable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Witness {
    /// `values[v]` is the value of `Var(v)`.
    pub values: Vec<Fr>,
}

impl Witness {
    /// The value of a variable (zero if out of range).
    pub fn value(&self, v: Var) -> Fr {
        self.values.get(v.0 as usize).copied().unwrap_or_default()
    }

    /// The public inputs of this witness for `circuit`, in order.
    pub fn public_inputs(&self, circuit: &Circuit) -> Vec<Fr> {
        circuit
            .public_input_gates()
            .map(|g| self.value(circuit.gates[g].wires[0]))
            .collect()
    }
}

/// Builds a circuit and its witness together.
#[derive(Clone, Debug, Default)]
pub struct CircuitBuilder {
    circuit: Circuit,
    witness: Witness,
}

impl CircuitBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn new_var(&mut self, value: Fr) -> Var {
        let v = Var(self.circuit.num_vars as u32);
        self.circuit.num_vars += 1;
        self.witness.values.push(value);
        v
    }

    /// The value a variable holds in the witness being built.
    pub fn value(&self, v: Var) -> Fr {
        self.witness.value(v)
    }

    /// Number of gates so far.
    pub fn num_gates(&self) -> usize {
        self.circuit.gates.len()
    }

    /// A private input (no gate).
    pub fn input(&mut self, value: Fr) -> Var {
        self.new_var(value)
    }

    /// A public input: one row `a − v = 0` whose value is part of the statement.
    pub fn public_input(&mut self, value: Fr) -> Var {
        let a = self.new_var(value);
        let (b, c) = (self.new_var(Fr::zero()), self.new_var(Fr::zero()));
        self.circuit.gates.push(Gate {
            selectors: Selectors {
                q_l: Fr::one(),
                ..Default::default()
            },
            wires: [a, b, c],
            public: true,
        });
        a
    }

    /// A raw gate `q_L·a + q_R·b + q_O·c + q_M·a·b + q_C = 0` on given variables.
    pub fn gate(&mut self, selectors: Selectors, a: Var, b: Var, c: Var) {
        self.circuit.gates.push(Gate {
            selectors,
            wires: [a, b, c],
            public: false,
        });
    }

    /// `c = q_a·a + q_b·b + q_m·a·b + k` as one row; returns c.
    pub fn arith(&mut self, a: Var, b: Var, q_a: Fr, q_b: Fr, q_m: Fr, k: Fr) -> Var {
        let (va, vb) = (self.value(a), self.value(b));
        let c = self.new_var(q_a * va + q_b * vb + q_m * va * vb + k);
        self.gate(
            Selectors {
                q_l: q_a,
                q_r: q_b,
                q_o: -Fr::one(),
                q_m,
                q_c: k,
            },
            a,
            b,
            c,
        );
        c
    }

    /// `a + b`.
    pub fn add(&mut self, a: Var, b: Var) -> Var {
        self.arith(a, b, Fr::one(), Fr::one(), Fr::zero(), Fr::zero())
    }

    /// `a · b`.
    pub fn mul(&mut self, a: Var, b: Var) -> Var {
        self.arith(a, b, Fr::zero(), Fr::zero(), Fr::one(), Fr::zero())
    }

    /// `a + k` for a constant k.
    pub fn add_constant(&mut self, a: Var, k: Fr) -> Var {
        let unused = self.new_var(Fr::zero());
        self.arith(a, unused, Fr::one(), Fr::zero(), Fr::zero(), k)
    }

    /// A variable fixed to a constant by one row `a − k = 0`.
    pub fn constant(&mut self, k: Fr) -> Var {
        let a = self.new_var(k);
        let (b, c) = (self.new_var(Fr::zero()), self.new_var(Fr::zero()));
        self.gate(
            Selectors {
                q_l: Fr::one(),
                q_c: -k,
                ..Default::default()
            },
            a,
            b,
            c,
        );
        a
    }

    /// Requires two variables to be equal (a copy constraint, no row).
    pub fn assert_equal(&mut self, a: Var, b: Var) {
        self.circuit.equalities.push((a, b));
    }

    /// Ends the current shard: the next gate starts a new one.
    pub fn end_shard(&mut self) {
        let at = self.circuit.gates.len();
        if self.circuit.shard_breaks.last() != Some(&at) {
            self.circuit.shard_breaks.push(at);
        }
    }

    /// Finishes: the circuit and its witness.
    pub fn build(self) -> (Circuit, Witness) {
        (self.circuit, self.witness)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_computes_witness() {
        let mut b = CircuitBuilder::new();
        let x = b.public_input(Fr::from(3u64));
        let y = b.input(Fr::from(4u64));
        let s = b.add(x, y);
        let p = b.mul(s, y);
        let k = b.constant(Fr::from(28u64));
        b.assert_equal(p, k);
        let (c, w) = b.build();
        assert_eq!(w.value(p), Fr::from(28u64));
        assert_eq!(w.public_inputs(&c), vec![Fr::from(3u64)]);
        for g in &c.gates {
            let [a, b2, c2] = g.wires.map(|v| w.value(v));
            let pi = if g.public { -a } else { Fr::zero() };
            assert!((g.selectors.evaluate(a, b2, c2) + pi).is_zero());
        }
    }
}
