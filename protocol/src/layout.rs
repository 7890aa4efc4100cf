//! Sharding: placing a circuit's gates into M shards of T rows, and the global copy
//! permutation as wire labels.
//!
//! Gates are placed in order, T − 1 to a shard: the last row of every shard is reserved
//! (zero selectors, wires in no copy cycle), so a shard's running product is complete one
//! row before its domain wraps. A shard break requested by the circuit starts a new shard.
//!
//! Wire slot (k, i, j) — wire k of row j of shard i — has label
//! `ℓ = K[k]·ω_X^j + δ·ω_Y^i` with `K = [1, 7, 13]`; σ_k of shard i holds, at row j, the
//! label of the slot that slot (k, i, j) is wired to. All 3·M·T labels are distinct.

use crate::circuit::{Circuit, Var, Witness};
use crate::error::ProtocolError;
use ark_ff::{Field, One, PrimeField, Zero};
use ark_poly::EvaluationDomain;
use tutti_crypto::domain::{Domain, domain};
use tutti_crypto::{Fr, transcript::keccak256};

/// The coset shifts of the three wires.
pub const WIRE_SHIFTS: [u64; 3] = [1, 7, 13];
/// Marks an empty (padding or reserved) wire slot.
pub const PAD: Var = Var(u32::MAX);

/// Shape of a sharded circuit: M shards of T rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Number of shards M (a power of two).
    pub shards: usize,
    /// Rows per shard T (a power of two, at least 16).
    pub shard_gates: usize,
}

impl Shape {
    /// Validates and builds a shape.
    pub fn new(shards: usize, shard_gates: usize) -> Result<Self, ProtocolError> {
        if shards == 0 || !shards.is_power_of_two() || shards > 1 << 12 {
            return Err(ProtocolError::InvalidShape(format!(
                "shards must be a power of two from 1 to 4096, got {shards}"
            )));
        }
        if !shard_gates.is_power_of_two() || !(16..=1 << 24).contains(&shard_gates) {
            return Err(ProtocolError::InvalidShape(format!(
                "shard gates must be a power of two from 16 to 2^24, got {shard_gates}"
            )));
        }
        Ok(Shape {
            shards,
            shard_gates,
        })
    }

    /// Usable rows per shard (T − 1).
    pub fn usable_rows(&self) -> usize {
        self.shard_gates - 1
    }

    /// The X-domain (size T).
    pub fn x_domain(&self) -> Domain {
        // Sizes were validated in `new`.
        domain(self.shard_gates).expect("validated power of two")
    }

    /// The Y-domain (size M).
    pub fn y_domain(&self) -> Domain {
        domain(self.shards).expect("validated power of two")
    }
}

/// Identifies a wire slot: `((shard·3 + wire)·T + row)`.
pub type SlotId = u64;

/// One shard of a sharded circuit.
#[derive(Clone, Debug)]
pub struct ShardRows {
    /// Selector values per row, in the order q_L, q_R, q_O, q_M, q_C.
    pub selectors: [Vec<Fr>; 5],
    /// Variables per wire and row ([`PAD`] for empty slots).
    pub wires: [Vec<Var>; 3],
    /// The slot each slot is wired to.
    pub sigma: [Vec<SlotId>; 3],
    /// Public-input rows of this shard: (row, index into the statement's inputs).
    pub public_rows: Vec<(usize, usize)>,
}

/// A circuit cut into shards, with its copy permutation.
#[derive(Clone, Debug)]
pub struct ShardedCircuit {
    /// M and T.
    pub shape: Shape,
    /// The shards.
    pub shards: Vec<ShardRows>,
    /// Where each public input sits: (shard, row).
    pub public_positions: Vec<(usize, usize)>,
    /// The label offset δ between shards.
    pub delta: Fr,
    /// Number of gates placed (without padding).
    pub gates: usize,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[parent[x as usize] as usize];
        parent[x as usize] = p;
        x = p;
    }
    x
}

/// Splits a slot id into (shard, wire, row).
pub fn slot_parts(slot: SlotId, t: usize) -> (usize, usize, usize) {
    let t = t as u64;
    let row = (slot % t) as usize;
    let sw = slot / t;
    ((sw / 3) as usize, (sw % 3) as usize, row)
}

fn slot_id(shard: usize, wire: usize, row: usize, t: usize) -> SlotId {
    ((shard * 3 + wire) * t + row) as SlotId
}

/// Wire labels for a shape and δ.
#[derive(Clone, Debug)]
pub struct Labels {
    x_pow: Vec<Fr>,
    y_pow: Vec<Fr>,
    delta: Fr,
    t: usize,
}

impl Labels {
    /// Precomputes the powers of ω_X and ω_Y.
    pub fn new(shape: Shape, delta: Fr) -> Self {
        let pows = |d: Domain| -> Vec<Fr> {
            let mut v = Vec::with_capacity(d.size());
            let mut acc = Fr::one();
            for _ in 0..d.size() {
                v.push(acc);
                acc *= d.group_gen();
            }
            v
        };
        Labels {
            x_pow: pows(shape.x_domain()),
            y_pow: pows(shape.y_domain()),
            delta,
            t: shape.shard_gates,
        }
    }

    /// `K[wire]·ω_X^row + δ·ω_Y^shard`.
    pub fn label(&self, shard: usize, wire: usize, row: usize) -> Fr {
        Fr::from(WIRE_SHIFTS[wire]) * self.x_pow[row] + self.delta * self.y_pow[shard]
    }

    /// The label of a slot id.
    pub fn of_slot(&self, slot: SlotId) -> Fr {
        let (s, w, r) = slot_parts(slot, self.t);
        self.label(s, w, r)
    }
}

/// The 16 candidates for δ of a shape, in order: keccak256("tutti/delta/v1" ‖ M u64 BE ‖
/// T u64 BE ‖ counter u32 BE) read big-endian mod r. Nobody chooses them, so each gives
/// distinct labels except with negligible probability; a verifying key whose δ is not
/// one of them is refused ([`crate::keys::VerifyingKey::from_bytes`]).
pub fn delta_candidates(shape: Shape) -> impl Iterator<Item = Fr> {
    (0u32..16).map(move |counter| {
        let mut seed = b"tutti/delta/v1".to_vec();
        seed.extend_from_slice(&(shape.shards as u64).to_be_bytes());
        seed.extend_from_slice(&(shape.shard_gates as u64).to_be_bytes());
        seed.extend_from_slice(&counter.to_be_bytes());
        Fr::from_be_bytes_mod_order(&keccak256(&seed))
    })
}

/// Derives δ for a shape: the first candidate (hash of the shape and a counter) for which
/// all 3·M·T labels are distinct.
pub fn derive_delta(shape: Shape) -> Result<Fr, ProtocolError> {
    for delta in delta_candidates(shape) {
        if shape.shards == 1 || labels_distinct(shape, delta) {
            return Ok(delta);
        }
    }
    Err(ProtocolError::InvalidShape(
        "could not find a label offset δ without collisions".into(),
    ))
}

fn labels_distinct(shape: Shape, delta: Fr) -> bool {
    let labels = Labels::new(shape, delta);
    let mut all: Vec<[u64; 4]> = Vec::with_capacity(3 * shape.shards * shape.shard_gates);
    for s in 0..shape.shards {
        for w in 0..3 {
            for r in 0..shape.shard_gates {
                all.push(labels.label(s, w, r).into_bigint().0);
            }
        }
    }
    all.sort_unstable();
    all.windows(2).all(|p| p[0] != p[1])
}

impl ShardedCircuit {
    /// Places `circuit` into `shape` and computes the copy permutation.
    pub fn new(circuit: &Circuit, shape: Shape) -> Result<Self, ProtocolError> {
        let (m, t) = (shape.shards, shape.shard_gates);
        let mut shards: Vec<ShardRows> = (0..m)
            .map(|_| ShardRows {
                selectors: std::array::from_fn(|_| vec![Fr::zero(); t]),
                wires: std::array::from_fn(|_| vec![PAD; t]),
                sigma: std::array::from_fn(|_| Vec::new()),
                public_rows: Vec::new(),
            })
            .collect();
        let mut public_positions = Vec::new();
        let (mut shard, mut row) = (0usize, 0usize);
        let mut breaks = circuit.shard_breaks.iter().peekable();
        for (g, gate) in circuit.gates.iter().enumerate() {
            while breaks.peek().is_some_and(|b| **b <= g) {
                breaks.next();
                if row > 0 {
                    shard += 1;
                    row = 0;
                }
            }
            if row == t - 1 {
                shard += 1;
                row = 0;
            }
            if shard >= m {
                return Err(ProtocolError::CircuitTooLarge {
                    gates: circuit.gates.len(),
                    shards: m,
                    shard_gates: t,
                });
            }
            let sh = &mut shards[shard];
            for (k, v) in gate.selectors.to_array().into_iter().enumerate() {
                sh.selectors[k][row] = v;
            }
            for k in 0..3 {
                if gate.wires[k].0 as usize >= circuit.num_vars {
                    return Err(ProtocolError::InvalidCircuit(format!(
                        "gate {g} uses variable {} but the circuit has {} variables",
                        gate.wires[k].0, circuit.num_vars
                    )));
                }
                sh.wires[k][row] = gate.wires[k];
            }
            if gate.public {
                sh.public_rows.push((row, public_positions.len()));
                public_positions.push((shard, row));
            }
            row += 1;
        }
        // Copy classes: union-find over variables, then one cycle per class.
        let mut parent: Vec<u32> = (0..circuit.num_vars as u32).collect();
        for &(a, b) in &circuit.equalities {
            if a.0 as usize >= circuit.num_vars || b.0 as usize >= circuit.num_vars {
                return Err(ProtocolError::InvalidCircuit(format!(
                    "equality between {a:?} and {b:?} names a variable that does not exist"
                )));
            }
            let (ra, rb) = (find(&mut parent, a.0), find(&mut parent, b.0));
            parent[ra as usize] = rb;
        }
        let mut by_class: Vec<(u32, SlotId)> = Vec::new();
        for (s, sh) in shards.iter_mut().enumerate() {
            for k in 0..3 {
                sh.sigma[k] = (0..t).map(|r| slot_id(s, k, r, t)).collect();
                for r in 0..t {
                    let v = sh.wires[k][r];
                    if v != PAD {
                        by_class.push((find(&mut parent, v.0), slot_id(s, k, r, t)));
                    }
                }
            }
        }
        by_class.sort_unstable();
        for class in by_class.chunk_by(|a, b| a.0 == b.0) {
            for (n, &(_, slot)) in class.iter().enumerate() {
                let next = class[(n + 1) % class.len()].1;
                let (s, k, r) = slot_parts(slot, t);
                shards[s].sigma[k][r] = next;
            }
        }
        Ok(ShardedCircuit {
            shape,
            shards,
            public_positions,
            delta: derive_delta(shape)?,
            gates: circuit.gates.len(),
        })
    }

    /// The shard-local witness of every shard (wire values per row).
    pub fn shard_witnesses(&self, witness: &Witness) -> Vec<ShardWitness> {
        self.shards
            .iter()
            .map(|sh| ShardWitness {
                wires: std::array::from_fn(|k| {
                    sh.wires[k].iter().map(|v| witness.value(*v)).collect()
                }),
            })
            .collect()
    }

    /// Checks every gate and copy constraint; the first violation names shard and row.
    pub fn check_witness(
        &self,
        witnesses: &[ShardWitness],
        public_inputs: &[Fr],
    ) -> Result<(), ProtocolError> {
        if public_inputs.len() != self.public_positions.len() {
            return Err(ProtocolError::PublicInputCount {
                expected: self.public_positions.len(),
                got: public_inputs.len(),
            });
        }
        for (s, w) in witnesses.iter().enumerate() {
            let sh = &self.shards[s];
            check_shard_gates(s, &sh.selectors, &sh.public_rows, w, public_inputs)?;
        }
        let t = self.shape.shard_gates;
        for (s, sh) in self.shards.iter().enumerate() {
            for k in 0..3 {
                for r in 0..t {
                    let (s2, k2, r2) = slot_parts(sh.sigma[k][r], t);
                    if witnesses[s].wires[k][r] != witnesses[s2].wires[k2][r2] {
                        return Err(ProtocolError::CopyConstraintBroken {
                            shard: s,
                            row: r,
                            wire: k,
                            other_shard: s2,
                            other_row: r2,
                            other_wire: k2,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Checks the gates of one shard; the first failing row is named.
pub fn check_shard_gates(
    shard: usize,
    selectors: &[Vec<Fr>],
    public_rows: &[(usize, usize)],
    w: &ShardWitness,
    public_inputs: &[Fr],
) -> Result<(), ProtocolError> {
    let t = w.wires[0].len();
    let mut pi = vec![Fr::zero(); t];
    for &(r, idx) in public_rows {
        if r < t {
            pi[r] = -public_inputs.get(idx).copied().unwrap_or_default();
        }
    }
    let q = selectors;
    for (r, pi_r) in pi.iter().enumerate() {
        let (a, b, c) = (w.wires[0][r], w.wires[1][r], w.wires[2][r]);
        let v = q[0][r] * a + q[1][r] * b + q[2][r] * c + q[3][r] * a * b + q[4][r] + pi_r;
        if !v.is_zero() {
            return Err(ProtocolError::GateUnsatisfied { shard, row: r });
        }
    }
    Ok(())
}

/// The wire values of one shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardWitness {
    /// Values of wires a, b, c per row.
    pub wires: [Vec<Fr>; 3],
}

/// True when `k` is outside the subgroup of order 2^28 (so `k·H_X` is a proper coset).
pub fn shift_is_valid(k: u64) -> bool {
    Fr::from(k).pow([1u64 << 28]) != Fr::one()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::CircuitBuilder;

    #[test]
    fn shifts_define_disjoint_cosets() {
        assert!(shift_is_valid(7) && shift_is_valid(13));
        let ratio = Fr::from(7u64) * Fr::from(13u64).inverse().unwrap_or_default();
        assert_ne!(ratio.pow([1u64 << 28]), Fr::one());
    }

    #[test]
    fn places_gates_and_reserves_last_row() {
        let mut b = CircuitBuilder::new();
        let x = b.input(Fr::from(2u64));
        let mut acc = x;
        for _ in 0..20 {
            acc = b.add(acc, x);
        }
        let (c, w) = b.build();
        let sc = ShardedCircuit::new(&c, Shape::new(2, 16).unwrap()).unwrap();
        // 15 usable rows in shard 0, 5 in shard 1.
        assert!(sc.shards[0].wires[0][15] == PAD);
        assert!(sc.shards[1].wires[0][4] != PAD && sc.shards[1].wires[0][5] == PAD);
        let ws = sc.shard_witnesses(&w);
        sc.check_witness(&ws, &[]).unwrap();
        // x is used in every row: its class spans both shards.
        let crosses = sc.shards[1].sigma[1]
            .iter()
            .any(|s| slot_parts(*s, 16).0 == 0);
        assert!(crosses);
        // Too small a shape is a typed error.
        assert!(matches!(
            ShardedCircuit::new(&c, Shape::new(1, 16).unwrap()),
            Err(ProtocolError::CircuitTooLarge { .. })
        ));
    }

    #[test]
    fn sigma_is_a_permutation() {
        let mut b = CircuitBuilder::new();
        let x = b.input(Fr::from(2u64));
        let y = b.input(Fr::from(2u64));
        b.assert_equal(x, y);
        let mut acc = x;
        for _ in 0..40 {
            acc = b.mul(acc, y);
        }
        let (c, _) = b.build();
        let sc = ShardedCircuit::new(&c, Shape::new(4, 16).unwrap()).unwrap();
        let mut seen: Vec<SlotId> = sc
            .shards
            .iter()
            .flat_map(|s| s.sigma.iter().flatten().copied())
            .collect();
        seen.sort_unstable();
        let expected: Vec<SlotId> = (0..(4 * 3 * 16) as u64).collect();
        assert_eq!(seen, expected);
    }
}
