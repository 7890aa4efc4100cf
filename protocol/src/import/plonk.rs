//! R1CS to tutti gates: a circom constraint system becomes a [`Circuit`] of rows
//! `q_L·a + q_R·b + q_O·c + q_M·a·b + q_C (+ PI) = 0`, and a circom witness becomes the
//! values of its variables.
//!
//! The conversion is split in two so that the circuit depends on the `.r1cs` alone:
//! [`convert`] (or [`convert_with`]) builds the [`Circuit`] and a witness plan once, and
//! [`Converted::witness`] checks a circom witness against the R1CS and computes every
//! tutti variable from it, for any number of witnesses.
//!
//! # Variables
//!
//! Circom wire `w ≥ 1` is variable `Var(w − 1)`. Wire 0, circom's constant 1, is never a
//! variable: its terms are folded into constants (`q_C`, or `q_L`/`q_R` of a product, see
//! below). Every other variable is either a *partial sum* `s = p + k·t` of two earlier
//! variables (the witness plan lists them in order, so a witness is computed in one
//! pass), or a fresh zero in a slot a row does not use (one per unused slot, never
//! shared, as [`crate::circuit::CircuitBuilder::public_input`] does). The circuit has no
//! [`Circuit::equalities`]: every copy constraint is a variable used in several slots.
//!
//! # Rows
//!
//! First one public-input row `a − v = 0` per public signal, circom wires
//! `1..=nPubOut+nPubIn` in order (outputs, then public inputs), so the statement is
//! snarkjs's `public.json`. Then, per constraint `A·B = C` in file order, where each
//! linear combination is first made canonical (wire-0 terms summed into a constant,
//! duplicate wires merged, zero coefficients dropped) and `|X|` counts its variable
//! terms:
//!
//! - **Linear** (`|A| = 0` or `|B| = 0`): the constraint is `k·B − C = 0` (or
//!   `k·A − C = 0`, with `k` the constant of the empty side); with n variable terms and
//!   constant `k'` it costs `max(1, n − 2)` rows: n ≤ 3 terms fit one row (q_L, q_R,
//!   q_O, q_C = k'); beyond, the first n − 2 terms (sorted by variable) are reduced to
//!   one partial sum and the last row takes it and the two remaining terms. A constraint
//!   with no variable term and a zero constant (`0 = 0`) costs no row; with a nonzero
//!   constant it is one row `q_C = k' ≠ 0` that no witness satisfies.
//! - **Multiplication** (`|A|, |B| ≥ 1`): A and B are each reduced to `α·x + k_A` and
//!   `β·y + k_B` (x, y a wire when the combination has one term, else a partial sum);
//!   the row is `αβ·x·y + α·k_B·x + β·k_A·y + k_A·k_B − C = 0`: `q_M = αβ`,
//!   `q_L = α·k_B`, `q_R = β·k_A`, `q_C = k_A·k_B − k_C`. A term of C on x or y is
//!   folded into `q_L` or `q_R` (no slot needed); a single remaining C term takes the c
//!   slot (`q_O = −γ`); two or more are reduced to one partial sum first. Cost:
//!   `1 + (|A| − 1) + (|B| − 1) + max(0, |C'| − 1)` rows, `C'` being C without the
//!   folded terms, less every partial sum already made.
//!
//! A combination `Σ c_i·w_i` (sorted by variable, `c_0` first) is reduced to
//! `c_0·s` with `s = w_0 + (c_1/c_0)·w_1 + …`, one row `s_j = s_{j−1} + (c_j/c_0)·w_j`
//! (q_L = 1, q_R = c_j/c_0, q_O = −1) per further term. Every such row is cached, keyed
//! by `(s_{j−1}, w_j, c_j/c_0)`, so any combination whose normalized, sorted terms equal
//! (or start like) one reduced before — in the same or another constraint, as A, B, C or
//! the prefix of a linear constraint, or a nonzero multiple of it — reuses its partial
//! sums instead of adding rows ("shared partial sums"); `A = B`, as in circomlib's
//! `x²`, costs one reduction.
//!
//! Why a two-term C of a single-by-single product still needs two rows: a row has three
//! slots, and `α·x·β·y = γ₁·z₁ + γ₂·z₂` involves four variables (unless `z₁` or `z₂` is x
//! or y, which the folding above catches). Moving `γ₂·z₂` into the partial-sum row of
//! another operand would change that operand's value, hence the product: it is not
//! sound, so it is not done.
//!
//! # Alias elimination (opt-in)
//!
//! With [`ConvertOptions::eliminate_aliases`] ([`convert_with`]), a first pass over the
//! constraints in file order takes every linear constraint that has, after the
//! substitutions before it, one variable term (`c·x + k = 0`: x is the constant
//! `−k/c`) or two (`c·x + d·y + k = 0`: x = `−(d/c)·y − k/c`), and one of them a
//! private wire (public wires are never eliminated, so the statement stays bound); that
//! wire is then replaced everywhere by its alias (a union-find of affine maps with path
//! compression) and the constraint needs no row. This is exact: each alias is
//! equivalent to the constraint it came from, so the rows hold for the remaining
//! variables iff the R1CS holds once every eliminated wire is computed from its alias
//! ([`Converted::circom_witness`] does that). Substituting one term for one term (or
//! for a constant) never adds a term, so no other constraint costs more; a product
//! whose operand becomes constant becomes linear, at most as costly. The eliminated
//! wire keeps its variable and value in the witness, but that variable is in no row:
//! changing it alone breaks nothing, which is why this is off by default.
//!
//! # Counts
//!
//! Per constraint this is never more than snarkjs's `plonk setup` (0.7.6), which spends
//! `1 + max(0, n − 3)` gates on a linear constraint and `1 + (|A| − 1) + (|B| − 1) +
//! max(0, |C| − 1)` on a multiplication, and one gate per public signal as here; it is
//! fewer where terms fold, combinations repeat, or a constraint is `0 = 0`. (One
//! exception in principle: for a constant A, snarkjs counts the terms of `k·B + C`
//! where the constraint is `k·B − C`; when a wire's terms cancel in the former and not
//! in the latter, it counts one term fewer. circom writes linear constraints with
//! `A = B = 0`, where both agree.) [`ConversionStats::snarkjs_rows`] computes
//! snarkjs's count with its rules; on the fixtures it equals the count snarkjs logged.
//!
//! On the committed fixtures (circom 2.2.3 `--O1`, snarkjs 0.7.6), rows (rows per
//! constraint), without / with alias elimination, against snarkjs's gates:
//!
//! | circuit | constraints | rows | with aliases eliminated | snarkjs |
//! |---|---:|---:|---:|---:|
//! | multiplier | 1 | 2 (2.00) | 2 (2.00) | 2 |
//! | poseidon2 | 517 | 597 (1.155) | 516 (0.998) | 597 |
//! | affine | 4 | 11 (2.75) | 11 (2.75) | 11 |
//!
//! circomlib's Poseidon at `--O1` has only single-term products and linear constraints
//! of 1 to 4 terms with distinct coefficients, so there is nothing to fold or share:
//! the rules above meet snarkjs exactly, and only eliminating its 81 one- and two-term
//! linear constraints goes below. Compile with circom's `--O1`: `--O2` substitutes
//! linear constraints into long sums, fewer R1CS constraints but many more rows
//! (Poseidon(2): 240 constraints, 2,469 snarkjs gates).

use std::collections::HashMap;
use std::fmt;

use ark_ff::{AdditiveGroup, Field};

use super::ImportError;
use super::circom::{self, R1cs, Term};
use crate::Fr;
use crate::circuit::{Circuit, Gate, Selectors, Var, Witness};

/// What a conversion made: rows by kind, and snarkjs's count for the same `.r1cs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConversionStats {
    /// R1CS constraints read.
    pub constraints: usize,
    /// Rows of the circuit, all kinds together.
    pub rows: usize,
    /// Public-input rows (one per public signal).
    pub public_rows: usize,
    /// Product rows (one per multiplication constraint).
    pub multiplication_rows: usize,
    /// Final rows of linear constraints (at most one per linear constraint).
    pub linear_rows: usize,
    /// Partial-sum rows `s = p + k·t`.
    pub partial_sum_rows: usize,
    /// Partial sums reused from the cache instead of adding a row.
    pub shared_partial_sums: usize,
    /// Terms of C folded into `q_L`/`q_R` of a product row.
    pub folded_terms: usize,
    /// Constraints `0 = 0` (no variable term, zero constant), which need no row.
    pub trivial_constraints: usize,
    /// Linear constraints absorbed by alias elimination (no row; see
    /// [`ConvertOptions::eliminate_aliases`]).
    pub eliminated_constraints: usize,
    /// The gates snarkjs 0.7.6's `plonk setup` makes for the same R1CS (its rules,
    /// computed here), public-input gates included.
    pub snarkjs_rows: usize,
}

impl ConversionStats {
    /// Rows per R1CS constraint (0 when there are no constraints).
    pub fn rows_per_constraint(&self) -> f64 {
        if self.constraints == 0 {
            0.0
        } else {
            self.rows as f64 / self.constraints as f64
        }
    }
}

impl fmt::Display for ConversionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} constraints → {} rows ({:.3} rows per constraint; snarkjs: {} gates): \
             {} public, {} products, {} linear, {} partial sums ({} shared), {} terms folded, \
             {} trivial constraints, {} eliminated",
            self.constraints,
            self.rows,
            self.rows_per_constraint(),
            self.snarkjs_rows,
            self.public_rows,
            self.multiplication_rows,
            self.linear_rows,
            self.partial_sum_rows,
            self.shared_partial_sums,
            self.folded_terms,
            self.trivial_constraints,
            self.eliminated_constraints,
        )
    }
}

/// One step of the witness plan: `out = prev + coeff·term`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Step {
    out: Var,
    prev: Var,
    term: Var,
    coeff: Fr,
}

/// An R1CS converted to tutti gates: the circuit (a function of the `.r1cs` alone) and
/// the plan that turns a circom witness into the circuit's witness.
#[derive(Clone, Debug)]
pub struct Converted {
    circuit: Circuit,
    r1cs: R1cs,
    steps: Vec<Step>,
    /// Per wire variable, what it is in terms of the circuit's variables (all `Root`
    /// without alias elimination; fully compressed: an `Affine` points to a root).
    aliases: Vec<Alias>,
    stats: ConversionStats,
}

impl Converted {
    /// The circuit: public-input rows, then the rows of every constraint in file order.
    pub fn circuit(&self) -> &Circuit {
        &self.circuit
    }

    /// The circuit, consuming the conversion.
    pub fn into_circuit(self) -> Circuit {
        self.circuit
    }

    /// The constraint system it was converted from.
    pub fn r1cs(&self) -> &R1cs {
        &self.r1cs
    }

    /// Row counts by kind, and snarkjs's count for comparison.
    pub fn stats(&self) -> ConversionStats {
        self.stats
    }

    /// The variable that carries circom wire `wire`, or `None` for wire 0 (the constant,
    /// folded into selectors) and wires the circuit does not have. An eliminated wire
    /// (see [`Converted::is_eliminated`]) keeps its variable and value in the witness,
    /// but that variable is in no row.
    pub fn wire_var(&self, wire: u32) -> Option<Var> {
        (wire >= 1 && wire < self.r1cs.n_wires).then(|| Var(wire - 1))
    }

    /// Whether alias elimination replaced circom wire `wire` by an affine function of
    /// another wire, or by a constant, in every row.
    pub fn is_eliminated(&self, wire: u32) -> bool {
        wire >= 1
            && matches!(
                self.aliases.get(wire as usize - 1),
                Some(Alias::Affine { .. } | Alias::Const(_))
            )
    }

    /// The circom witness that a witness of this circuit stands for: wire 0 is 1, every
    /// other wire the value of its variable, or for an eliminated wire the value its
    /// alias gives. If `w` satisfies every row, this satisfies the R1CS (the conversion
    /// is sound); for the witness [`Converted::witness`] made, it is the circom witness
    /// it was made from.
    pub fn circom_witness(&self, w: &Witness) -> circom::Witness {
        let mut out = Vec::with_capacity(self.r1cs.n_wires as usize);
        out.push(Fr::ONE);
        for (i, alias) in self.aliases.iter().enumerate() {
            out.push(match *alias {
                Alias::Root => w.value(Var(i as u32)),
                Alias::Affine { of, mul, add } => mul * w.value(of) + add,
                Alias::Const(k) => k,
            });
        }
        circom::Witness(out)
    }

    /// The circuit's witness and public inputs for a circom witness.
    ///
    /// Checks the witness first, with [`R1cs::check_witness`]: one value per wire, 1 on
    /// wire 0, every constraint satisfied (else [`ImportError::Unsatisfied`] naming the
    /// first failing constraint). Then it fills the wires' variables, computes every
    /// partial sum, and checks every row ([`ImportError::GateUnsatisfied`], which would
    /// be a bug of this converter). The public inputs are wires `1..=nPubOut+nPubIn`:
    /// snarkjs's `public.json`.
    pub fn witness(&self, w: &circom::Witness) -> Result<(Witness, Vec<Fr>), ImportError> {
        self.r1cs.check_witness(w)?;
        let n_wire_vars = self.r1cs.n_wires as usize - 1;
        let mut values = vec![Fr::ZERO; self.circuit.num_vars];
        // check_witness guarantees w.0.len() == n_wires ≥ 1, and num_vars ≥ n_wires − 1.
        values[..n_wire_vars].copy_from_slice(&w.0[1..]);
        for s in &self.steps {
            values[s.out.0 as usize] =
                values[s.prev.0 as usize] + s.coeff * values[s.term.0 as usize];
        }
        let public = w.0[1..=self.r1cs.n_public()].to_vec();
        let witness = Witness { values };
        for (row, g) in self.circuit.gates.iter().enumerate() {
            let [a, b, c] = g.wires.map(|v| witness.value(v));
            let pi = if g.public { -a } else { Fr::ZERO };
            if g.selectors.evaluate(a, b, c) + pi != Fr::ZERO {
                return Err(ImportError::GateUnsatisfied { row });
            }
        }
        Ok((witness, public))
    }
}

/// Options of [`convert_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Eliminate linear constraints of one or two variable terms (after the
    /// eliminations before them) by substituting one private wire, as an affine
    /// function of the other or as a constant, into every other constraint: no row for
    /// the constraint, never more terms anywhere (see the module documentation). Public
    /// wires are never eliminated. Off by default: with it, an eliminated wire's
    /// variable is in no row.
    pub eliminate_aliases: bool,
}

/// Converts a circom constraint system into tutti gates and a witness plan, with the
/// default options (no alias elimination): [`convert_with`].
pub fn convert(r1cs: &R1cs) -> Result<Converted, ImportError> {
    convert_with(r1cs, ConvertOptions::default())
}

/// Converts a circom constraint system into tutti gates and a witness plan; see the
/// module documentation for the rules and their cost.
///
/// Refuses an R1CS without constraints ([`ImportError::EmptyR1cs`]), inconsistent counts
/// ([`ImportError::InvalidHeader`]), a wire out of range ([`ImportError::WireOutOfRange`],
/// for an `R1cs` not made by [`R1cs::from_bytes`]) and a circuit that would need more
/// variables than a `u32` indexes ([`ImportError::TooManyVariables`]).
pub fn convert_with(r1cs: &R1cs, options: ConvertOptions) -> Result<Converted, ImportError> {
    validate(r1cs)?;
    let n_public = r1cs.n_public();
    let mut aliases = Aliases(vec![Alias::Root; r1cs.n_wires as usize - 1]);
    let mut absorbed = vec![false; r1cs.constraints.len()];
    if options.eliminate_aliases {
        for (i, c) in r1cs.constraints.iter().enumerate() {
            let la = Lc::new(&c.a).substituted(&mut aliases);
            let lb = Lc::new(&c.b).substituted(&mut aliases);
            let lc = Lc::new(&c.c).substituted(&mut aliases);
            let lin = if la.terms.is_empty() {
                Lc::scaled_minus(la.k, &lb, &lc)
            } else if lb.terms.is_empty() {
                Lc::scaled_minus(lb.k, &la, &lc)
            } else {
                continue;
            };
            absorbed[i] = aliases.absorb(&lin, n_public);
        }
    }
    let mut b = Builder {
        gates: Vec::new(),
        num_vars: u64::from(r1cs.n_wires) - 1,
        steps: Vec::new(),
        sums: HashMap::new(),
        stats: ConversionStats {
            constraints: r1cs.constraints.len(),
            ..Default::default()
        },
    };
    for wire in 1..=r1cs.n_public() as u32 {
        let a = Var(wire - 1);
        let (zb, zc) = (b.fresh()?, b.fresh()?);
        b.gates.push(Gate {
            selectors: Selectors {
                q_l: Fr::ONE,
                ..Default::default()
            },
            wires: [a, zb, zc],
            public: true,
        });
        b.stats.public_rows += 1;
    }
    b.stats.snarkjs_rows = r1cs.n_public();
    for (c, absorbed) in r1cs.constraints.iter().zip(absorbed) {
        let (la, lb, lc) = (Lc::new(&c.a), Lc::new(&c.b), Lc::new(&c.c));
        b.stats.snarkjs_rows += snarkjs_cost(&la, &lb, &lc);
        if absorbed {
            b.stats.eliminated_constraints += 1;
            continue;
        }
        let la = la.substituted(&mut aliases);
        let lb = lb.substituted(&mut aliases);
        let lc = lc.substituted(&mut aliases);
        if la.terms.is_empty() {
            b.linear(&Lc::scaled_minus(la.k, &lb, &lc))?;
        } else if lb.terms.is_empty() {
            b.linear(&Lc::scaled_minus(lb.k, &la, &lc))?;
        } else {
            b.multiplication(&la, &lb, &lc)?;
        }
    }
    let num_vars = usize::try_from(b.num_vars)
        .map_err(|_| ImportError::TooManyVariables { needed: b.num_vars })?;
    b.stats.rows = b.gates.len();
    for v in 0..aliases.0.len() {
        aliases.resolve(Var(v as u32));
    }
    Ok(Converted {
        circuit: Circuit {
            num_vars,
            gates: b.gates,
            equalities: Vec::new(),
            shard_breaks: Vec::new(),
        },
        r1cs: r1cs.clone(),
        steps: b.steps,
        aliases: aliases.0,
        stats: b.stats,
    })
}

/// The checks [`R1cs::from_bytes`] makes on counts and wires, for an `R1cs` built by
/// other means, and the refusal of an empty one.
fn validate(r1cs: &R1cs) -> Result<(), ImportError> {
    if r1cs.constraints.is_empty() {
        return Err(ImportError::EmptyR1cs);
    }
    let named = 1 + u64::from(r1cs.n_pub_out) + u64::from(r1cs.n_pub_in) + u64::from(r1cs.n_prv_in);
    if named > u64::from(r1cs.n_wires) {
        return Err(ImportError::InvalidHeader {
            reason: format!(
                "{} wires cannot hold the constant wire, {} public outputs, {} public inputs and {} private inputs",
                r1cs.n_wires, r1cs.n_pub_out, r1cs.n_pub_in, r1cs.n_prv_in
            ),
        });
    }
    for (i, c) in r1cs.constraints.iter().enumerate() {
        for (wire, _) in c.a.iter().chain(&c.b).chain(&c.c) {
            if *wire >= r1cs.n_wires {
                return Err(ImportError::WireOutOfRange {
                    constraint: i,
                    wire: *wire,
                    n_wires: r1cs.n_wires,
                });
            }
        }
    }
    Ok(())
}

/// A canonical linear combination: variable terms sorted by variable, each variable
/// once, no zero coefficient; the constant (circom's wire 0) apart.
#[derive(Clone, Debug, Default)]
struct Lc {
    terms: Vec<(Var, Fr)>,
    k: Fr,
}

impl Lc {
    /// Canonical form of circom terms (wire 0 is the constant 1).
    fn new(terms: &[Term]) -> Self {
        let mut k = Fr::ZERO;
        let mut vars = Vec::with_capacity(terms.len());
        for &(wire, c) in terms {
            if wire == 0 {
                k += c;
            } else {
                vars.push((Var(wire - 1), c));
            }
        }
        Self {
            terms: canonical(vars),
            k,
        }
    }

    /// The same combination with every eliminated variable replaced by its alias.
    fn substituted(&self, aliases: &mut Aliases) -> Self {
        let mut k = self.k;
        let mut vars = Vec::with_capacity(self.terms.len());
        for &(v, c) in &self.terms {
            let (root, mul, add) = aliases.resolve(v);
            k += c * add;
            if let Some(r) = root {
                vars.push((r, c * mul));
            }
        }
        Self {
            terms: canonical(vars),
            k,
        }
    }

    /// `k·x − y`, canonical.
    fn scaled_minus(k: Fr, x: &Lc, y: &Lc) -> Self {
        let mut vars: Vec<(Var, Fr)> = x.terms.iter().map(|&(v, c)| (v, k * c)).collect();
        vars.extend(y.terms.iter().map(|&(v, c)| (v, -c)));
        Self {
            terms: canonical(vars),
            k: k * x.k - y.k,
        }
    }
}

/// Sorts by variable, merges duplicates and drops zero coefficients.
fn canonical(mut vars: Vec<(Var, Fr)>) -> Vec<(Var, Fr)> {
    vars.sort_by_key(|(v, _)| *v);
    let mut out: Vec<(Var, Fr)> = Vec::with_capacity(vars.len());
    for (v, c) in vars {
        match out.last_mut() {
            Some((last, acc)) if *last == v => *acc += c,
            _ => out.push((v, c)),
        }
    }
    out.retain(|(_, c)| *c != Fr::ZERO);
    out
}

/// What a wire variable is, for alias elimination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Alias {
    /// A variable of the circuit.
    Root,
    /// `mul·of + add`.
    Affine { of: Var, mul: Fr, add: Fr },
    /// A constant.
    Const(Fr),
}

/// The aliases of the wire variables (variables past the end are roots).
struct Aliases(Vec<Alias>);

impl Aliases {
    /// `v = mul·root + add` (`root` `None`: `v = add`), compressing the path so that
    /// `v` and every alias on the way point straight to the root.
    fn resolve(&mut self, v: Var) -> (Option<Var>, Fr, Fr) {
        let mut path = Vec::new();
        let mut cur = v;
        while let Some(&Alias::Affine { of, .. }) = self.0.get(cur.0 as usize) {
            path.push(cur);
            cur = of;
        }
        let (root, mut mul, mut add) = match self.0.get(cur.0 as usize) {
            Some(&Alias::Const(k)) => (None, Fr::ZERO, k),
            _ => (Some(cur), Fr::ONE, Fr::ZERO),
        };
        for u in path.iter().rev() {
            if let Some(&Alias::Affine { mul: m, add: a, .. }) = self.0.get(u.0 as usize) {
                (mul, add) = (m * mul, m * add + a);
                self.0[u.0 as usize] = match root {
                    Some(of) => Alias::Affine { of, mul, add },
                    None => Alias::Const(add),
                };
            }
        }
        (root, mul, add)
    }

    /// Absorbs a linear constraint `Σ terms + k = 0` over roots when it has one or two
    /// terms and one of them is a private wire; returns whether it did.
    fn absorb(&mut self, lin: &Lc, n_public: usize) -> bool {
        let private = |v: &Var| (v.0 as usize) >= n_public && (v.0 as usize) < self.0.len();
        let (elim, ce, keep) = match lin.terms.as_slice() {
            [(x, cx)] if private(x) => (*x, *cx, None),
            [(x, cx), (y, cy)] if private(y) => (*y, *cy, Some((*x, *cx))),
            [(x, cx), (y, cy)] if private(x) => (*x, *cx, Some((*y, *cy))),
            _ => return false,
        };
        let Some(inv) = ce.inverse() else {
            return false;
        };
        self.0[elim.0 as usize] = match keep {
            // ce·e + ck·keep + k = 0  ⇒  e = −(ck/ce)·keep − k/ce.
            Some((of, ck)) => Alias::Affine {
                of,
                mul: -ck * inv,
                add: -lin.k * inv,
            },
            None => Alias::Const(-lin.k * inv),
        };
        true
    }
}

/// The gates snarkjs 0.7.6 (`plonk setup`) spends on one constraint.
fn snarkjs_cost(a: &Lc, b: &Lc, c: &Lc) -> usize {
    let kind = |l: &Lc| (l.terms.is_empty(), l.k == Fr::ZERO);
    let sum = |n: usize| 1 + n.saturating_sub(3);
    match (kind(a), kind(b)) {
        ((true, true), _) | (_, (true, true)) => sum(c.terms.len()),
        // snarkjs joins the constant side as k·B + C (its sign), and counts the terms.
        ((true, false), _) => sum(plus_count(a.k, b, c)),
        (_, (true, false)) => sum(plus_count(b.k, a, c)),
        _ => 1 + (a.terms.len() - 1) + (b.terms.len() - 1) + c.terms.len().saturating_sub(1),
    }
}

/// The number of variable terms of `k·x + y`.
fn plus_count(k: Fr, x: &Lc, y: &Lc) -> usize {
    let mut vars: Vec<(Var, Fr)> = x.terms.iter().map(|&(v, c)| (v, k * c)).collect();
    vars.extend_from_slice(&y.terms);
    canonical(vars).len()
}

/// The circuit being written.
struct Builder {
    gates: Vec<Gate>,
    num_vars: u64,
    steps: Vec<Step>,
    /// Partial sums made so far: `(prev, term, coeff)` → `prev + coeff·term`.
    sums: HashMap<(Var, Var, Fr), Var>,
    stats: ConversionStats,
}

impl Builder {
    /// A new variable. `Var(u32::MAX)` marks padding in the layout, so indices stop
    /// below it.
    fn fresh(&mut self) -> Result<Var, ImportError> {
        if self.num_vars >= u64::from(u32::MAX) {
            return Err(ImportError::TooManyVariables {
                needed: self.num_vars + 1,
            });
        }
        let v = Var(self.num_vars as u32);
        self.num_vars += 1;
        Ok(v)
    }

    /// A row; `None` slots get a fresh zero variable each.
    fn row(&mut self, selectors: Selectors, wires: [Option<Var>; 3]) -> Result<(), ImportError> {
        let mut out = [Var(0); 3];
        for (slot, w) in out.iter_mut().zip(wires) {
            *slot = match w {
                Some(v) => v,
                None => self.fresh()?,
            };
        }
        self.gates.push(Gate {
            selectors,
            wires: out,
            public: false,
        });
        Ok(())
    }

    /// Reduces `Σ c_i·w_i` (canonical, `first` is its first term) to `(s, c_0)` with
    /// `Σ c_i·w_i = c_0·s`, one partial-sum row per further term not made before.
    fn reduce(&mut self, first: (Var, Fr), rest: &[(Var, Fr)]) -> Result<(Var, Fr), ImportError> {
        let (mut prev, c0) = first;
        if rest.is_empty() {
            return Ok((prev, c0));
        }
        let inv = c0
            .inverse()
            .expect("canonical linear combinations have no zero coefficient");
        for &(term, c) in rest {
            let coeff = c * inv;
            prev = match self.sums.get(&(prev, term, coeff)) {
                Some(&s) => {
                    self.stats.shared_partial_sums += 1;
                    s
                }
                None => {
                    let s = self.fresh()?;
                    self.row(
                        Selectors {
                            q_l: Fr::ONE,
                            q_r: coeff,
                            q_o: -Fr::ONE,
                            ..Default::default()
                        },
                        [Some(prev), Some(term), Some(s)],
                    )?;
                    self.steps.push(Step {
                        out: s,
                        prev,
                        term,
                        coeff,
                    });
                    self.sums.insert((prev, term, coeff), s);
                    self.stats.partial_sum_rows += 1;
                    s
                }
            };
        }
        Ok((prev, c0))
    }

    /// `Σ terms + k = 0`.
    fn linear(&mut self, lc: &Lc) -> Result<(), ImportError> {
        let t = &lc.terms;
        let mut sel = Selectors {
            q_c: lc.k,
            ..Default::default()
        };
        let wires = match t.as_slice() {
            [] if lc.k == Fr::ZERO => {
                self.stats.trivial_constraints += 1;
                return Ok(());
            }
            [] => [None, None, None],
            [(x, cx)] => {
                sel.q_l = *cx;
                [Some(*x), None, None]
            }
            [(x, cx), (y, cy)] => {
                (sel.q_l, sel.q_r) = (*cx, *cy);
                [Some(*x), Some(*y), None]
            }
            [first, rest @ .., (y, cy), (z, cz)] => {
                let (s, cs) = self.reduce(*first, rest)?;
                (sel.q_l, sel.q_r, sel.q_o) = (cs, *cy, *cz);
                [Some(s), Some(*y), Some(*z)]
            }
        };
        self.row(sel, wires)?;
        self.stats.linear_rows += 1;
        Ok(())
    }

    /// `A·B = C` with A and B not constant.
    fn multiplication(&mut self, a: &Lc, b: &Lc, c: &Lc) -> Result<(), ImportError> {
        let (Some((&fa, ra)), Some((&fb, rb))) = (a.terms.split_first(), b.terms.split_first())
        else {
            // Not reached: the caller sends constant A or B to `linear`.
            return self.linear(&Lc::scaled_minus(a.k, b, c));
        };
        let (x, alpha) = self.reduce(fa, ra)?;
        let (y, beta) = self.reduce(fb, rb)?;
        let mut sel = Selectors {
            q_m: alpha * beta,
            q_l: alpha * b.k,
            q_r: beta * a.k,
            q_c: a.k * b.k - c.k,
            ..Default::default()
        };
        let mut rest: Vec<(Var, Fr)> = Vec::with_capacity(c.terms.len());
        for &(v, g) in &c.terms {
            if v == x {
                sel.q_l -= g;
                self.stats.folded_terms += 1;
            } else if v == y {
                sel.q_r -= g;
                self.stats.folded_terms += 1;
            } else {
                rest.push((v, g));
            }
        }
        let out = match rest.split_first() {
            None => None,
            Some((&first, more)) => {
                let (z, gamma) = self.reduce(first, more)?;
                sel.q_o = -gamma;
                Some(z)
            }
        };
        self.row(sel, [Some(x), Some(y), out])?;
        self.stats.multiplication_rows += 1;
        Ok(())
    }
}
