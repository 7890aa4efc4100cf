//! circom's symbol file (`.sym`): the names of a circuit's signals, to speak of wires
//! and constraints in the circuit's own words.
//!
//! `circom --sym` writes one line per signal of the circuit before simplification:
//!
//! ```text
//! labelIndex,witnessIndex,componentIndex,signalName
//! 1,1,0,main.c
//! 4,-1,70,main.h.out
//! ```
//!
//! `labelIndex` is the signal's id (the labels of the `.r1cs` wire-to-label section),
//! `witnessIndex` the wire that carries it (its index in the witness), or `-1` when
//! circom's simplification removed it, `componentIndex` the component that declares it,
//! and `signalName` its full name (`main.h.pEx.ark[0].out[0]`).
//!
//! [`SymbolTable::parse`] reads such a file; [`describe_constraint`] renders one
//! constraint of an [`R1cs`] with its signals' names and values, to tell a person which
//! constraint a witness breaks and why.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use ark_ff::{BigInteger, PrimeField};

use super::ImportError;
use super::circom::{self, R1cs, Term};
use crate::Fr;

/// Terms of a linear combination that [`describe_constraint`] names before it
/// summarises the rest.
pub const SHOWN_TERMS: usize = 8;

/// Decimal digits beyond which [`describe_constraint`] abbreviates a value inside a
/// linear combination (the values of A·B and C are always given in full).
const SHORT_DIGITS: usize = 20;

/// One line of a `.sym` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// The signal's label (its id before simplification).
    pub label: u64,
    /// The wire that carries it, `None` when circom's simplification removed it.
    pub wire: Option<u32>,
    /// The index of the component that declares it.
    pub component: u64,
    /// The signal's full name, as `main.h.out`.
    pub name: &'a str,
}

/// A parsed line: the name is a range of [`SymbolTable`]'s name buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    label: u64,
    wire: Option<u32>,
    component: u64,
    name: Range<usize>,
}

/// The signals of a circom circuit by name, as read from its `.sym` file.
///
/// It holds every line of the file: its memory is proportional to the file's size
/// (the names are kept in one buffer no larger than the file), and nothing is
/// allocated from a count the file declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolTable {
    names: String,
    entries: Vec<Entry>,
    /// Entry of each wire: the first line that names it.
    by_wire: HashMap<u32, usize>,
    /// Entry of each label: the first line with it.
    by_label: HashMap<u64, usize>,
}

impl SymbolTable {
    /// Reads the text of a `.sym` file: lines `labelIndex,witnessIndex,componentIndex,
    /// signalName`, separated by `\n` or `\r\n`; empty lines are skipped.
    ///
    /// A line that is not of that form (fewer than four fields, a field that is not a
    /// number in range, a witness index below −1, an empty name) is refused with
    /// [`ImportError::SymbolLine`] naming its line number (from 1). When two lines name
    /// the same wire or label, the first one is kept.
    pub fn parse(text: &str) -> Result<SymbolTable, ImportError> {
        let mut table = SymbolTable::default();
        for (i, raw) in text.split('\n').enumerate() {
            let line_no = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| ImportError::SymbolLine {
                line: line_no,
                reason,
            };
            let mut fields = line.splitn(4, ',');
            let (Some(label), Some(wire), Some(component), Some(name)) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(bad(format!(
                    "expected labelIndex,witnessIndex,componentIndex,signalName but found {:?}",
                    shorten(line)
                )));
            };
            let label: u64 = label
                .trim()
                .parse()
                .map_err(|_| bad(format!("label index {:?} is not a number", shorten(label))))?;
            let wire = match wire.trim() {
                "-1" => None,
                w => Some(w.parse::<u32>().map_err(|_| {
                    bad(format!(
                        "witness index {:?} is neither -1 nor a wire number",
                        shorten(w)
                    ))
                })?),
            };
            let component: u64 = component.trim().parse().map_err(|_| {
                bad(format!(
                    "component index {:?} is not a number",
                    shorten(component)
                ))
            })?;
            let name = name.trim();
            if name.is_empty() {
                return Err(bad("the signal name is empty".into()));
            }
            let start = table.names.len();
            table.names.push_str(name);
            let index = table.entries.len();
            table.entries.push(Entry {
                label,
                wire,
                component,
                name: start..table.names.len(),
            });
            table.by_label.entry(label).or_insert(index);
            if let Some(w) = wire {
                table.by_wire.entry(w).or_insert(index);
            }
        }
        Ok(table)
    }

    /// The name of the signal carried by `wire` (its witness index), if the file names
    /// one.
    pub fn name_of_wire(&self, wire: u32) -> Option<&str> {
        self.by_wire.get(&wire).map(|&i| self.name(i))
    }

    /// The name of the signal with label `label` (the `.r1cs` wire-to-label ids), if
    /// the file has it.
    pub fn name_of_label(&self, label: u64) -> Option<&str> {
        self.by_label.get(&label).map(|&i| self.name(i))
    }

    /// The wire of the signal with label `label`: `None` when the file lacks the label
    /// or when circom removed the signal (witness index −1).
    pub fn wire_of_label(&self, label: u64) -> Option<u32> {
        self.by_label
            .get(&label)
            .and_then(|&i| self.entries[i].wire)
    }

    /// The wire carrying the signal named `name` exactly (`main.c`), if any: a linear
    /// search, for tools and tests.
    pub fn wire_of_name(&self, name: &str) -> Option<u32> {
        self.iter().find(|s| s.name == name).and_then(|s| s.wire)
    }

    /// The file's lines, in file order.
    pub fn iter(&self) -> impl Iterator<Item = Symbol<'_>> + '_ {
        self.entries.iter().map(|e| Symbol {
            label: e.label,
            wire: e.wire,
            component: e.component,
            name: &self.names[e.name.clone()],
        })
    }

    /// The number of signals (lines) in the file.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the file names no signal.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn name(&self, entry: usize) -> &str {
        &self.names[self.entries[entry].name.clone()]
    }
}

/// At most 40 characters of `s`, for error messages about a malformed line.
fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// Renders constraint `index` of `r1cs` under `witness` for a person: whether `A·B = C`
/// holds, then for each of A, B and C its terms (coefficient and signal, by name from
/// `symbols` when it names the wire, else `wire N`; the constant wire as a plain
/// number) with the signals' values, and last the values of A, B, A·B and C.
///
/// A linear combination shows its first [`SHOWN_TERMS`] terms and says how many more
/// it has; a long value inside it is abbreviated (`12345678…87654321`), and values
/// close to the prime are shown as negative numbers (`-1` for `p − 1`). A value the
/// witness lacks (a witness of another circuit) is shown as `missing`. An index out of
/// range gives one line saying so.
pub fn describe_constraint(
    r1cs: &R1cs,
    index: usize,
    witness: &circom::Witness,
    symbols: Option<&SymbolTable>,
) -> String {
    let Some(c) = r1cs.constraints.get(index) else {
        return format!(
            "constraint {index} does not exist: the r1cs has {} constraints",
            r1cs.constraints.len()
        );
    };
    let eval = |lc: &[Term]| -> Option<Fr> {
        lc.iter().try_fold(Fr::from(0u64), |acc, (wire, coeff)| {
            witness.0.get(*wire as usize).map(|v| acc + *coeff * v)
        })
    };
    let (a, b, cc) = (eval(&c.a), eval(&c.b), eval(&c.c));
    let verdict = match (a, b, cc) {
        (Some(a), Some(b), Some(cc)) if a * b == cc => "holds (A·B = C)",
        (Some(_), Some(_), Some(_)) => "does not hold: A·B ≠ C",
        _ => "cannot be evaluated: the witness lacks some of its wires",
    };
    let mut out = format!(
        "constraint {index} (of {}) {verdict}",
        r1cs.constraints.len()
    );
    for (which, lc) in [("A", &c.a), ("B", &c.b), ("C", &c.c)] {
        out.push_str("\n  ");
        out.push_str(which);
        out.push_str(" = ");
        describe_lc(&mut out, lc, witness, symbols);
    }
    let full = |v: Option<Fr>| v.map_or_else(|| "missing".to_string(), |v| value(v, false));
    let product = match (a, b) {
        (Some(a), Some(b)) => Some(a * b),
        _ => None,
    };
    let _ = write!(
        out,
        "\n  A = {}, B = {}\n  A·B = {}\n  C   = {}",
        full(a),
        full(b),
        full(product),
        full(cc)
    );
    out
}

/// Appends `lc` as `3·main.t + 5·main.k - main.x + 7   where main.t = 30, …`.
fn describe_lc(
    out: &mut String,
    lc: &[Term],
    witness: &circom::Witness,
    symbols: Option<&SymbolTable>,
) {
    if lc.is_empty() {
        out.push('0');
        return;
    }
    let mut values = Vec::new();
    for (i, (wire, coeff)) in lc.iter().take(SHOWN_TERMS).enumerate() {
        let (negative, magnitude) = signed(*coeff);
        match (i, negative) {
            (0, true) => out.push('-'),
            (0, false) => {}
            (_, true) => out.push_str(" - "),
            (_, false) => out.push_str(" + "),
        }
        let coefficient = value(magnitude, true);
        if *wire == 0 {
            // circom's constant-one signal: the term is a constant.
            out.push_str(&coefficient);
            continue;
        }
        let name = signal_name(*wire, symbols);
        if magnitude != Fr::from(1u64) {
            out.push_str(&coefficient);
            out.push('·');
        }
        out.push_str(&name);
        let v = witness
            .0
            .get(*wire as usize)
            .map_or_else(|| "missing".to_string(), |v| value(*v, true));
        values.push(format!("{name} = {v}"));
    }
    if lc.len() > SHOWN_TERMS {
        let _ = write!(out, " + … and {} more terms", lc.len() - SHOWN_TERMS);
    }
    if !values.is_empty() {
        out.push_str("   where ");
        out.push_str(&values.join(", "));
    }
}

/// The name of `wire`: from the symbols when they name it, else `wire N`.
fn signal_name(wire: u32, symbols: Option<&SymbolTable>) -> String {
    symbols
        .and_then(|s| s.name_of_wire(wire))
        .map_or_else(|| format!("wire {wire}"), str::to_string)
}

/// Whether `x` reads better as a negative number (`p − x` is shorter in decimal than
/// `x`), and its magnitude.
fn signed(x: Fr) -> (bool, Fr) {
    let neg = -x;
    if neg.into_bigint().num_bits() < x.into_bigint().num_bits() {
        (true, neg)
    } else {
        (false, x)
    }
}

/// `x` in decimal, as a negative number when that is shorter; with `short`, more than
/// [`SHORT_DIGITS`] digits are abbreviated to the first and last eight.
fn value(x: Fr, short: bool) -> String {
    let (negative, magnitude) = signed(x);
    let digits = magnitude.into_bigint().to_string();
    let digits = if short && digits.len() > SHORT_DIGITS {
        format!("{}…{}", &digits[..8], &digits[digits.len() - 8..])
    } else {
        digits
    };
    if negative {
        format!("-{digits}")
    } else {
        digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::circom::Constraint;
    use ark_ff::Field;

    fn fr(n: i64) -> Fr {
        if n < 0 {
            -Fr::from(n.unsigned_abs())
        } else {
            Fr::from(n as u64)
        }
    }

    /// A hand-made system: wires 0 (one), 1 (c), 2 (a), 3 (b); one constraint a·b = c.
    fn multiplier() -> R1cs {
        R1cs {
            n_wires: 4,
            n_pub_out: 1,
            n_pub_in: 0,
            n_prv_in: 2,
            n_labels: 4,
            constraints: vec![Constraint {
                a: vec![(2, -Fr::ONE)],
                b: vec![(3, Fr::ONE)],
                c: vec![(1, -Fr::ONE)],
            }],
            wire_to_label: vec![0, 1, 2, 3],
        }
    }

    const SYM: &str = "1,1,0,main.c\n2,2,0,main.a\n3,3,0,main.b\n4,-1,7,main.sub.x\n";

    #[test]
    fn parses_lines_and_removed_signals() {
        let t = SymbolTable::parse(SYM).unwrap();
        assert_eq!(t.len(), 4);
        assert!(!t.is_empty());
        assert_eq!(t.name_of_wire(1), Some("main.c"));
        assert_eq!(t.name_of_wire(3), Some("main.b"));
        assert_eq!(t.name_of_wire(0), None);
        assert_eq!(t.name_of_wire(4), None);
        assert_eq!(t.name_of_label(4), Some("main.sub.x"));
        assert_eq!(t.wire_of_label(4), None);
        assert_eq!(t.wire_of_label(2), Some(2));
        assert_eq!(t.wire_of_name("main.a"), Some(2));
        assert_eq!(t.wire_of_name("main.sub.x"), None);
        let last = t.iter().last().unwrap();
        assert_eq!(
            last,
            Symbol {
                label: 4,
                wire: None,
                component: 7,
                name: "main.sub.x"
            }
        );
    }

    #[test]
    fn accepts_crlf_blank_lines_and_no_final_newline() {
        let t = SymbolTable::parse("\r\n1,5,0,main.x\r\n\n2,6,0,main.y[0][1]").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.name_of_wire(5), Some("main.x"));
        assert_eq!(t.name_of_wire(6), Some("main.y[0][1]"));
        assert!(SymbolTable::parse("").unwrap().is_empty());
    }

    #[test]
    fn first_line_wins_for_a_repeated_wire() {
        let t = SymbolTable::parse("1,1,0,main.first\n2,1,0,main.second\n").unwrap();
        assert_eq!(t.name_of_wire(1), Some("main.first"));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn malformed_lines_name_their_line_number() {
        let cases = [
            ("1,1,0,main.c\n2,2,0\n", 2),
            ("x,1,0,main.c\n", 1),
            ("1,1,0,main.c\n\n3,-2,0,main.d\n", 3),
            ("1,4294967296,0,main.c\n", 1),
            ("1,1,-1,main.c\n", 1),
            ("1,1,0,main.c\n2,2,0,\n", 2),
            ("1,1,0,main.c\n2,2,0,  \r\n", 2),
        ];
        for (text, line) in cases {
            match SymbolTable::parse(text) {
                Err(ImportError::SymbolLine { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let long = format!("1,{},0,main.c", "9".repeat(1000));
        let err = SymbolTable::parse(&long).unwrap_err().to_string();
        assert!(err.len() < 300, "the message quotes a bounded part: {err}");
    }

    #[test]
    fn describes_a_broken_constraint_by_name() {
        let r = multiplier();
        let w = circom::Witness(vec![fr(1), fr(34), fr(3), fr(11)]);
        let t = SymbolTable::parse(SYM).unwrap();
        let d = describe_constraint(&r, 0, &w, Some(&t));
        assert!(d.starts_with("constraint 0 (of 1) does not hold"), "{d}");
        assert!(d.contains("A = -main.a   where main.a = 3"), "{d}");
        assert!(d.contains("B = main.b   where main.b = 11"), "{d}");
        assert!(d.contains("C = -main.c   where main.c = 34"), "{d}");
        assert!(d.contains("A·B = -33"), "{d}");
        assert!(d.contains("C   = -34"), "{d}");

        let good = circom::Witness(vec![fr(1), fr(33), fr(3), fr(11)]);
        let d = describe_constraint(&r, 0, &good, None);
        assert!(d.contains("holds (A·B = C)"), "{d}");
        assert!(d.contains("A = -wire 2   where wire 2 = 3"), "{d}");
    }

    #[test]
    fn out_of_range_and_missing_values() {
        let r = multiplier();
        let w = circom::Witness(vec![fr(1), fr(2)]);
        assert!(describe_constraint(&r, 1, &w, None).contains("does not exist"));
        let d = describe_constraint(&r, 0, &w, None);
        assert!(d.contains("cannot be evaluated"), "{d}");
        assert!(d.contains("wire 2 = missing"), "{d}");
        assert!(d.contains("A·B = missing"), "{d}");
    }

    #[test]
    fn long_combinations_and_large_values_are_shortened() {
        // A = 7 + 2·w1 + … + 2·w11 (12 terms), B = 1, C = w12 with a large value.
        let mut a = vec![(0, fr(7))];
        a.extend((1..=11).map(|w| (w, fr(2))));
        let big = Fr::from(3u64).pow([100u64]);
        let r = R1cs {
            n_wires: 13,
            n_pub_out: 0,
            n_pub_in: 0,
            n_prv_in: 12,
            n_labels: 13,
            constraints: vec![Constraint {
                a,
                b: vec![(0, Fr::ONE)],
                c: vec![(12, Fr::ONE)],
            }],
            wire_to_label: (0..13).collect(),
        };
        let mut values = vec![Fr::ONE];
        values.extend((1..=11).map(fr));
        values.push(big);
        let d = describe_constraint(&r, 0, &circom::Witness(values), None);
        assert!(
            d.contains("A = 7 + 2·wire 1 + 2·wire 2"),
            "constant first, then terms: {d}"
        );
        assert!(d.contains("2·wire 7 + … and 4 more terms"), "{d}");
        assert!(!d.contains("wire 8"), "{d}");
        // 7 + 2·(1 + … + 11) = 139.
        assert!(d.contains("A = 139, B = 1"), "{d}");
        let digits = big.into_bigint().to_string();
        assert!(digits.len() > SHORT_DIGITS);
        let short = format!("wire 12 = {}…{}", &digits[..8], &digits[digits.len() - 8..]);
        assert!(d.contains(&short), "{d}");
        assert!(d.contains(&format!("C   = {digits}")), "{d}");
        assert_eq!(d.lines().count(), 7, "{d}");
    }
}
