//! circom's binary files: the constraint system (`.r1cs`) and a witness (`.wtns`).
//!
//! Both are iden3 "binfile" containers: four magic bytes, a `u32` version, a `u32`
//! section count, then that many sections, each a `u32` type, a `u64` byte size and its
//! content; every integer is little-endian and sections may come in any order.
//!
//! `.r1cs` version 1 (circom 2), sections:
//!
//! 1. header: `n8: u32` (bytes per field element), the prime (`n8` bytes), `nWires: u32`,
//!    `nPubOut: u32`, `nPubIn: u32`, `nPrvIn: u32`, `nLabels: u64`, `mConstraints: u32`;
//! 2. constraints: `mConstraints` times the three linear combinations A, B, C of
//!    `A·B = C`, each `nTerms: u32` then `nTerms` times (`wire: u32`, coefficient);
//! 3. wire to label: `nWires` times `label: u64` (the signal each wire carries, as
//!    numbered in the `.sym` file);
//! 4. and 5. custom gates (circom's `pragma custom_templates`): refused.
//!
//! Wires are numbered as circom does: 0 is the constant 1, then the public outputs, the
//! public inputs, the private inputs and the internal signals.
//!
//! `.wtns` version 2, sections: 1. header: `n8: u32`, the prime, `nWitness: u32`;
//! 2. the `nWitness` values, `n8` bytes each. Every field element, in both files, is
//! little-endian and must be canonical (less than the prime).
//!
//! Only BN254's scalar field is accepted; a file for any other prime is refused with
//! [`ImportError::WrongPrime`] naming it.

use ark_ff::{AdditiveGroup, BigInt, BigInteger, Field, PrimeField};

use super::ImportError;
use crate::Fr;

/// Bytes of a BN254 scalar field element.
const FR_BYTES: u64 = 32;

/// The primes circom 2.2 compiles for (`circom --prime NAME`), big-endian hexadecimal.
const KNOWN_PRIMES: [(&str, &str); 8] = [
    (
        "bn128",
        "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001",
    ),
    (
        "bls12377",
        "12ab655e9a2ca55660b44d1e5c37b00159aa76fed00000010a11800000000001",
    ),
    (
        "bls12381",
        "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001",
    ),
    ("goldilocks", "ffffffff00000001"),
    (
        "grumpkin",
        "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47",
    ),
    (
        "pallas",
        "40000000000000000000000000000000224698fc094cf91b992d30ed00000001",
    ),
    (
        "secq256r1",
        "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    ),
    (
        "vesta",
        "40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001",
    ),
];

/// The name circom uses for the prime given by its little-endian bytes (`"bls12381"`,
/// `"goldilocks"`, …), or the prime in hexadecimal (`"0x…"`) when it is none of those.
pub fn name_prime(le_bytes: &[u8]) -> String {
    let hex: String = le_bytes.iter().rev().map(|b| format!("{b:02x}")).collect();
    let trimmed = hex.trim_start_matches('0');
    KNOWN_PRIMES
        .iter()
        .find(|(_, p)| *p == trimmed)
        .map(|(name, _)| (*name).to_string())
        .unwrap_or_else(|| format!("0x{}", if trimmed.is_empty() { "0" } else { trimmed }))
}

/// One term of a linear combination: a wire and its coefficient.
pub type Term = (u32, Fr);

/// One rank-1 constraint `⟨a, w⟩ · ⟨b, w⟩ = ⟨c, w⟩` over the witness `w`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The terms of A, in file order.
    pub a: Vec<Term>,
    /// The terms of B, in file order.
    pub b: Vec<Term>,
    /// The terms of C, in file order.
    pub c: Vec<Term>,
}

/// A circom constraint system over BN254's scalar field, as read from a `.r1cs` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct R1cs {
    /// Wires, the constant-one wire 0 included (the witness has this many values).
    pub n_wires: u32,
    /// Public outputs: wires `1..=n_pub_out`.
    pub n_pub_out: u32,
    /// Public inputs: the wires after the outputs.
    pub n_pub_in: u32,
    /// Private inputs: the wires after the public inputs.
    pub n_prv_in: u32,
    /// Signals before simplification (the ids of the `.sym` file).
    pub n_labels: u64,
    /// The constraints, in file order.
    pub constraints: Vec<Constraint>,
    /// For each wire, the label (signal id) it carries; `n_wires` entries.
    pub wire_to_label: Vec<u64>,
}

/// A circom witness: one value per wire, wire 0 first (the constant 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness(pub Vec<Fr>);

impl R1cs {
    /// Reads a `.r1cs` file (iden3 format version 1) for BN254's scalar field.
    ///
    /// Refuses, with a typed error, anything else: a truncated or inconsistent file,
    /// another prime ([`ImportError::WrongPrime`]), custom gates
    /// ([`ImportError::CustomGates`]), a coefficient that is not canonical, a wire or
    /// label out of range.
    pub fn from_bytes(data: &[u8]) -> Result<Self, ImportError> {
        const FORMAT: &str = "r1cs";
        let sections = read_sections(data, *b"r1cs", FORMAT, 1)?;
        if let Some(s) = sections.iter().find(|s| s.kind == 4 || s.kind == 5) {
            return Err(ImportError::CustomGates { section: s.kind });
        }
        let header = unique_section(&sections, FORMAT, 1, "header")?;
        let constraints = unique_section(&sections, FORMAT, 2, "constraints")?;
        let labels = unique_section(&sections, FORMAT, 3, "wire-to-label")?;

        // Header.
        let mut h = Cursor::new(header, "the r1cs header section");
        read_field(&mut h, FORMAT)?;
        let n_wires = h.u32("nWires")?;
        let n_pub_out = h.u32("nPubOut")?;
        let n_pub_in = h.u32("nPubIn")?;
        let n_prv_in = h.u32("nPrvIn")?;
        let n_labels = h.u64("nLabels")?;
        let m_constraints = h.u32("mConstraints")?;
        h.finish("the r1cs header section")?;
        let named = 1 + u64::from(n_pub_out) + u64::from(n_pub_in) + u64::from(n_prv_in);
        if named > u64::from(n_wires) {
            return Err(ImportError::InvalidHeader {
                reason: format!(
                    "{n_wires} wires cannot hold the constant wire, {n_pub_out} public outputs, \
                     {n_pub_in} public inputs and {n_prv_in} private inputs"
                ),
            });
        }

        // Constraints: each is at least three empty linear combinations (12 bytes), so
        // their number is bounded by the section's size before anything is allocated.
        let mut c = Cursor::new(constraints, "the r1cs constraints section");
        let m = u64::from(m_constraints);
        if m.saturating_mul(12) > c.remaining() {
            return Err(ImportError::Truncated {
                what: format!("{m} constraints (at least 12 bytes each)"),
                offset: c.offset(),
                needed: m.saturating_mul(12),
                available: c.remaining(),
            });
        }
        let mut list = Vec::with_capacity(m_constraints as usize);
        for i in 0..m_constraints as usize {
            let a = read_lc(&mut c, i, "A", n_wires)?;
            let b = read_lc(&mut c, i, "B", n_wires)?;
            let cc = read_lc(&mut c, i, "C", n_wires)?;
            list.push(Constraint { a, b, c: cc });
        }
        c.finish("the r1cs constraints section")?;

        // Wire to label.
        let expected = u64::from(n_wires) * 8;
        if labels.data.len() as u64 != expected {
            return Err(ImportError::SizeMismatch {
                what: format!("the r1cs wire-to-label section for {n_wires} wires"),
                declared: labels.data.len() as u64,
                actual: expected,
            });
        }
        let mut l = Cursor::new(labels, "the r1cs wire-to-label section");
        let mut wire_to_label = Vec::with_capacity(n_wires as usize);
        for wire in 0..n_wires {
            let label = l.u64("a label id")?;
            if label >= n_labels {
                return Err(ImportError::LabelOutOfRange {
                    wire,
                    label,
                    n_labels,
                });
            }
            wire_to_label.push(label);
        }

        Ok(Self {
            n_wires,
            n_pub_out,
            n_pub_in,
            n_prv_in,
            n_labels,
            constraints: list,
            wire_to_label,
        })
    }

    /// The number of public values: the outputs then the public inputs, wires
    /// `1..=n_public()` of a witness (circom's order, the order of snarkjs's
    /// `public.json`).
    pub fn n_public(&self) -> usize {
        self.n_pub_out as usize + self.n_pub_in as usize
    }

    /// Whether `witness` satisfies every constraint; `Err` gives the index of the first
    /// constraint it breaks. A constraint that refers to a wire the witness lacks counts
    /// as broken. It does not check the witness's length or its constant wire: see
    /// [`R1cs::check_witness`].
    pub fn is_satisfied(&self, witness: &Witness) -> Result<(), usize> {
        for (i, c) in self.constraints.iter().enumerate() {
            let holds = (|| {
                let a = eval(&c.a, &witness.0)?;
                let b = eval(&c.b, &witness.0)?;
                let cc = eval(&c.c, &witness.0)?;
                Some(a * b == cc)
            })();
            if holds != Some(true) {
                return Err(i);
            }
        }
        Ok(())
    }

    /// Checks that `witness` is a witness of this circuit: one value per wire, 1 on the
    /// constant wire, and every constraint satisfied.
    pub fn check_witness(&self, witness: &Witness) -> Result<(), ImportError> {
        if witness.0.len() as u64 != u64::from(self.n_wires) {
            return Err(ImportError::WitnessLength {
                wires: u64::from(self.n_wires),
                witness: witness.0.len() as u64,
            });
        }
        if witness.0.first() != Some(&Fr::ONE) {
            return Err(ImportError::WitnessConstantNotOne);
        }
        self.is_satisfied(witness)
            .map_err(|constraint| ImportError::Unsatisfied { constraint })
    }
}

impl Witness {
    /// Reads a `.wtns` file (iden3 format version 2) for BN254's scalar field, as
    /// `snarkjs wtns calculate` and circom's witness generators write it.
    pub fn from_bytes(data: &[u8]) -> Result<Self, ImportError> {
        const FORMAT: &str = "wtns";
        let sections = read_sections(data, *b"wtns", FORMAT, 2)?;
        let header = unique_section(&sections, FORMAT, 1, "header")?;
        let values = unique_section(&sections, FORMAT, 2, "witness values")?;

        let mut h = Cursor::new(header, "the wtns header section");
        read_field(&mut h, FORMAT)?;
        let n = h.u32("nWitness")?;
        h.finish("the wtns header section")?;

        let expected = u64::from(n) * FR_BYTES;
        if values.data.len() as u64 != expected {
            return Err(ImportError::SizeMismatch {
                what: format!("the wtns values section for {n} values"),
                declared: values.data.len() as u64,
                actual: expected,
            });
        }
        let mut out = Vec::with_capacity(n as usize);
        for (i, bytes) in values.data.chunks_exact(FR_BYTES as usize).enumerate() {
            out.push(fr_from_le(bytes).ok_or_else(|| ImportError::NonCanonical {
                what: format!("witness value {i}"),
            })?);
        }
        Ok(Self(out))
    }
}

/// `⟨lc, w⟩`, or `None` when a wire is missing from `w`.
fn eval(lc: &[Term], w: &[Fr]) -> Option<Fr> {
    let mut acc = Fr::ZERO;
    for (wire, coeff) in lc {
        acc += *coeff * w.get(*wire as usize)?;
    }
    Some(acc)
}

/// A canonical little-endian 32-byte element, or `None`.
fn fr_from_le(bytes: &[u8]) -> Option<Fr> {
    if bytes.len() != FR_BYTES as usize {
        return None;
    }
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        *limb = u64::from_le_bytes(chunk.try_into().ok()?);
    }
    Fr::from_bigint(BigInt::new(limbs))
}

/// Reads `n8` and the prime, and refuses any prime but BN254's scalar field.
fn read_field(h: &mut Cursor<'_>, format: &'static str) -> Result<(), ImportError> {
    let n8 = h.u32("the field element size n8")?;
    if n8 == 0 || n8 % 8 != 0 || n8 > 64 {
        return Err(ImportError::FieldSize { format, found: n8 });
    }
    let prime = h.take(u64::from(n8), "the prime")?;
    let modulus = Fr::MODULUS.to_bytes_le();
    if prime != modulus.as_slice() {
        let found = name_prime(prime);
        if found == "bn128" {
            // BN254's prime, zero-padded to another width: not a layout circom writes.
            return Err(ImportError::FieldSize { format, found: n8 });
        }
        return Err(ImportError::WrongPrime { found });
    }
    Ok(())
}

/// One linear combination of constraint `index`; `which` is "A", "B" or "C".
fn read_lc(
    c: &mut Cursor<'_>,
    index: usize,
    which: &str,
    n_wires: u32,
) -> Result<Vec<Term>, ImportError> {
    let n_terms = c.u32("a term count")?;
    let needed = u64::from(n_terms) * (4 + FR_BYTES);
    if needed > c.remaining() {
        return Err(ImportError::Truncated {
            what: format!("the {n_terms} terms of {which} in constraint {index}"),
            offset: c.offset(),
            needed,
            available: c.remaining(),
        });
    }
    let bytes = c.take(needed, "terms")?;
    let mut terms = Vec::with_capacity(n_terms as usize);
    for (t, term) in bytes.chunks_exact(4 + FR_BYTES as usize).enumerate() {
        let (wire, coeff) = term.split_at(4);
        let wire = u32::from_le_bytes([wire[0], wire[1], wire[2], wire[3]]);
        if wire >= n_wires {
            return Err(ImportError::WireOutOfRange {
                constraint: index,
                wire,
                n_wires,
            });
        }
        let coeff = fr_from_le(coeff).ok_or_else(|| ImportError::NonCanonical {
            what: format!(
                "the coefficient of term {t} (wire {wire}) of {which} in constraint {index}"
            ),
        })?;
        terms.push((wire, coeff));
    }
    Ok(terms)
}

/// A section's type, its content and where that starts in the file.
struct Section<'a> {
    kind: u32,
    offset: u64,
    data: &'a [u8],
}

/// Checks magic and version and splits the file into its sections (no bytes may follow
/// the last one).
fn read_sections<'a>(
    data: &'a [u8],
    magic: [u8; 4],
    format: &'static str,
    version: u32,
) -> Result<Vec<Section<'a>>, ImportError> {
    let mut f = Cursor {
        data,
        pos: 0,
        base: 0,
        scope: "the file",
    };
    let found = f.take(4, "the magic bytes")?;
    if found != magic {
        return Err(ImportError::BadMagic {
            expected: format,
            found: String::from_utf8_lossy(found).into_owned(),
        });
    }
    let v = f.u32("the format version")?;
    if v != version {
        return Err(ImportError::UnsupportedVersion {
            format,
            found: v,
            supported: version,
        });
    }
    let n = f.u32("the section count")?;
    // Each section takes at least 12 bytes, so this vector grows no faster than the
    // file is long.
    let mut sections = Vec::new();
    for _ in 0..n {
        let kind = f.u32("a section type")?;
        let size = f.u64("a section size")?;
        let offset = f.offset();
        let content = f.take(size, "a section's content")?;
        sections.push(Section {
            kind,
            offset,
            data: content,
        });
    }
    if f.remaining() != 0 {
        return Err(ImportError::TrailingBytes {
            format,
            count: f.remaining(),
        });
    }
    Ok(sections)
}

/// The one section of type `kind`.
fn unique_section<'s, 'a>(
    sections: &'s [Section<'a>],
    format: &'static str,
    kind: u32,
    name: &'static str,
) -> Result<&'s Section<'a>, ImportError> {
    let mut it = sections.iter().filter(|s| s.kind == kind);
    let first = it.next().ok_or(ImportError::MissingSection {
        format,
        section: kind,
        name,
    })?;
    if it.next().is_some() {
        return Err(ImportError::DuplicateSection {
            format,
            section: kind,
        });
    }
    Ok(first)
}

/// A bounds-checked little-endian reader over a file or one of its sections.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    /// File offset of `data[0]`.
    base: u64,
    /// What `data` is, for error messages.
    scope: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(section: &Section<'a>, scope: &'static str) -> Self {
        Self {
            data: section.data,
            pos: 0,
            base: section.offset,
            scope,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn remaining(&self) -> u64 {
        (self.data.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], ImportError> {
        if n > self.remaining() {
            return Err(ImportError::Truncated {
                what: format!("{what} in {}", self.scope),
                offset: self.offset(),
                needed: n,
                available: self.remaining(),
            });
        }
        // n <= remaining, which fits in usize.
        let end = self.pos + n as usize;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, ImportError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64, ImportError> {
        let b = self.take(8, what)?;
        let mut x = [0u8; 8];
        x.copy_from_slice(b);
        Ok(u64::from_le_bytes(x))
    }

    /// Refuses bytes left over at the end of a section.
    fn finish(&self, what: &str) -> Result<(), ImportError> {
        if self.remaining() != 0 {
            return Err(ImportError::SizeMismatch {
                what: what.to_string(),
                declared: self.data.len() as u64,
                actual: self.pos as u64,
            });
        }
        Ok(())
    }
}
