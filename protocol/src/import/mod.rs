//! Circuits from outside tutti: readers for the files other toolchains write.
//!
//! [`circom`] reads circom's constraint system (`.r1cs`, iden3 binary format version 1)
//! and a witness (`.wtns`, version 2) as snarkjs or circom's witness generators write
//! them, over BN254's scalar field only. These readers take bytes (the crate does no
//! IO): the caller reads the file. [`plonk`] converts such an R1CS into tutti gates, and
//! a circom witness into the values of their variables. [`wasm`] (feature
//! `circom-wasm`, on by default) computes a circom witness from circom's WebAssembly
//! witness generator and an `input.json`, as `snarkjs wtns calculate` does.
//! [`arkworks`] (feature `arkworks`, on by default) turns any arkworks
//! `ConstraintSynthesizer` over BN254's scalar field into the same R1CS and witness.
//! [`symbols`] reads circom's `.sym` file, to name the signals of a failing constraint.
//!
//! Every reader checks each length against the bytes it has before it allocates, so a
//! truncated, corrupted or hostile file gives an [`ImportError`], never a panic and
//! never an allocation larger than the input justifies.

#[cfg(feature = "arkworks")]
pub mod arkworks;
pub mod circom;
mod iden3_write;
pub mod plonk;
pub mod symbols;
#[cfg(feature = "circom-wasm")]
pub mod wasm;

use thiserror::Error;

/// Why a circuit or witness file could not be imported.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// The file ends (or a section ends) before the item being read.
    #[error(
        "file is truncated or corrupted: {what} at byte {offset} needs {needed} bytes but only {available} remain"
    )]
    Truncated {
        /// What was being read.
        what: String,
        /// Byte offset in the file where it starts.
        offset: u64,
        /// Bytes it needs.
        needed: u64,
        /// Bytes left (in the file, or in the section that should contain it).
        available: u64,
    },
    /// The file does not start with the expected four magic bytes.
    #[error(
        "not a {expected} file: it starts with {found:?} instead of {expected:?} (is it the right file?)"
    )]
    BadMagic {
        /// The format expected (`"r1cs"` or `"wtns"`).
        expected: &'static str,
        /// The first four bytes found, lossily as text.
        found: String,
    },
    /// The file's format version is not the one this reader implements.
    #[error(
        "{format} format version {found} is not supported (only version {supported}); regenerate it with circom 2 / snarkjs 0.7"
    )]
    UnsupportedVersion {
        /// The format (`"r1cs"` or `"wtns"`).
        format: &'static str,
        /// The version found.
        found: u32,
        /// The version this reader implements.
        supported: u32,
    },
    /// The file is for another prime field than BN254's scalar field.
    #[error(
        "the file is for the field of {found}, not BN254's scalar field (circom's default, bn128): tutti proves over BN254 only; recompile the circuit with `circom --prime bn128`"
    )]
    WrongPrime {
        /// The curve or field circom names this prime by (`bls12381`, `goldilocks`,
        /// `pallas`, …), else the prime in hexadecimal (`0x…`).
        found: String,
    },
    /// The header's field element size is not one a prime field file can have.
    #[error(
        "invalid field element size {found} bytes in the {format} header (expected 32 for BN254)"
    )]
    FieldSize {
        /// The format (`"r1cs"` or `"wtns"`).
        format: &'static str,
        /// The size found.
        found: u32,
    },
    /// The `.r1cs` file has circom custom-gate sections (types 4 and 5), written for
    /// circuits with `pragma custom_templates`.
    #[error(
        "the r1cs file uses circom custom templates (section type {section}): custom gates cannot be imported; rewrite the circuit without `pragma custom_templates`"
    )]
    CustomGates {
        /// The custom-gate section type found (4 or 5).
        section: u32,
    },
    /// A field element is not in canonical form (it is not less than the prime).
    #[error(
        "{what} is not a canonical field element (it is not less than BN254's scalar field prime)"
    )]
    NonCanonical {
        /// Which element.
        what: String,
    },
    /// A declared size disagrees with the content that it should describe.
    #[error(
        "{what}: declared {declared} bytes but its content is {actual} bytes (corrupted file?)"
    )]
    SizeMismatch {
        /// What is inconsistent.
        what: String,
        /// The size the file declares.
        declared: u64,
        /// The size its content implies.
        actual: u64,
    },
    /// A section the format requires is absent.
    #[error("the {format} file has no {name} section (type {section})")]
    MissingSection {
        /// The format (`"r1cs"` or `"wtns"`).
        format: &'static str,
        /// The section type.
        section: u32,
        /// The section's name.
        name: &'static str,
    },
    /// A section appears twice.
    #[error("the {format} file has section type {section} twice")]
    DuplicateSection {
        /// The format (`"r1cs"` or `"wtns"`).
        format: &'static str,
        /// The section type.
        section: u32,
    },
    /// Bytes follow the last section the header announces.
    #[error("{count} bytes follow the last section of the {format} file (corrupted file?)")]
    TrailingBytes {
        /// The format (`"r1cs"` or `"wtns"`).
        format: &'static str,
        /// How many bytes.
        count: u64,
    },
    /// The `.r1cs` header's counts are inconsistent with each other.
    #[error("invalid r1cs header: {reason}")]
    InvalidHeader {
        /// What is inconsistent.
        reason: String,
    },
    /// A constraint refers to a wire the circuit does not have.
    #[error("constraint {constraint} refers to wire {wire}, but the circuit has {n_wires} wires")]
    WireOutOfRange {
        /// The constraint's index.
        constraint: usize,
        /// The wire id found.
        wire: u32,
        /// The number of wires in the header.
        n_wires: u32,
    },
    /// The wire-to-label map names a label the circuit does not have.
    #[error("wire {wire} maps to label {label}, but the circuit has {n_labels} labels")]
    LabelOutOfRange {
        /// The wire.
        wire: u32,
        /// The label id found.
        label: u64,
        /// The number of labels in the header.
        n_labels: u64,
    },
    /// The witness has another length than the circuit has wires.
    #[error(
        "the witness has {witness} values but the circuit has {wires} wires: is it the witness of another circuit or compilation?"
    )]
    WitnessLength {
        /// Wires in the circuit.
        wires: u64,
        /// Values in the witness.
        witness: u64,
    },
    /// The witness's first value (circom's constant-one signal) is not 1.
    #[error("the witness's first value must be 1 (circom's constant signal) but is not")]
    WitnessConstantNotOne,
    /// The witness does not satisfy a constraint.
    #[error("the witness does not satisfy constraint {constraint} (A·B ≠ C)")]
    Unsatisfied {
        /// The index of the first failing constraint.
        constraint: usize,
    },
    /// The constraint system has no constraints: there is nothing to prove.
    #[error("the r1cs has no constraints: there is nothing to prove")]
    EmptyR1cs,
    /// Converting the constraint system needs more variables than a `u32` can index
    /// (`u32::MAX` itself marks padding).
    #[error(
        "the converted circuit needs {needed} variables, more than the 2^32 − 1 tutti can index: split the circuit"
    )]
    TooManyVariables {
        /// Variables needed so far when the limit was hit.
        needed: u64,
    },
    /// A converted row does not hold although the witness satisfies the R1CS: a bug of
    /// the converter, reported instead of a proof that would not verify.
    #[error(
        "internal error: row {row} of the converted circuit does not hold for a witness that satisfies the r1cs (please report this)"
    )]
    GateUnsatisfied {
        /// The row.
        row: usize,
    },
    /// The witness generator's bytes are not a valid WebAssembly module (truncated,
    /// corrupted, or not wasm at all).
    #[error(
        "the witness generator is not a valid WebAssembly module: {reason} (pass circom's NAME_js/NAME.wasm)"
    )]
    WasmInvalid {
        /// What the WebAssembly validator found.
        reason: String,
    },
    /// The module is valid WebAssembly but not a circom 2 witness generator (another
    /// import, a missing or mistyped export, another interface version).
    #[error("the WebAssembly module is not a circom 2 witness generator: {reason}")]
    WasmNotWitnessGenerator {
        /// What differs from circom's generator interface.
        reason: String,
    },
    /// The witness generator stopped on a failing `assert` of the circuit: the input does
    /// not satisfy the circuit.
    #[error(
        "the input does not satisfy the circuit: an assert failed in circom's witness generator: {messages}"
    )]
    CircomAssert {
        /// What circom printed (the template and line of the assert, and any `log`
        /// lines before it).
        messages: String,
    },
    /// The witness generator stopped with another of circom's exceptions.
    #[error("circom's witness generator stopped with exception {code} ({kind}): {messages}")]
    CircomException {
        /// circom's exception code.
        code: i32,
        /// What the code means (as snarkjs words it).
        kind: String,
        /// What circom printed before it stopped.
        messages: String,
    },
    /// The witness generator trapped (an out-of-bounds access, `unreachable`, a stack
    /// overflow, …).
    #[error("the witness generator trapped while {during}: {reason}")]
    WasmTrap {
        /// What the calculator was doing.
        during: String,
        /// The trap.
        reason: String,
    },
    /// The witness generator used all its fuel (instruction budget): it loops, or the
    /// circuit needs a larger budget.
    #[error(
        "the witness generator ran out of fuel after {fuel} units: it loops, or the circuit needs a larger WasmLimits::fuel"
    )]
    WasmOutOfFuel {
        /// The budget it had.
        fuel: u64,
    },
    /// The witness generator needs more resources than it is allowed.
    #[error("the witness generator exceeds a resource limit: {what}")]
    WasmLimit {
        /// Which limit, and by how much.
        what: String,
    },
    /// The input JSON is malformed or not shaped as an object of input signals.
    #[error("invalid input JSON: {reason}")]
    InputJson {
        /// What is wrong.
        reason: String,
    },
    /// An input value is not an integer.
    #[error("input `{name}` value {index}: {reason}")]
    InputValue {
        /// The input signal.
        name: String,
        /// The value's index in the flattened signal.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An input value is not less than BN254's scalar field prime.
    #[error(
        "input `{name}` value {index} is not less than BN254's scalar field prime (a value of another field? reduce it first)"
    )]
    InputNotInField {
        /// The input signal.
        name: String,
        /// The value's index in the flattened signal.
        index: usize,
    },
    /// The input names a signal that the circuit has no input of.
    #[error("the circuit has no input signal `{name}` (check its name and the circuit)")]
    InputUnknownSignal {
        /// The name as given.
        name: String,
    },
    /// The input gives a signal another number of values than the circuit declares.
    #[error("input signal `{name}` needs {expected} values but the input gives {found}")]
    InputArity {
        /// The input signal.
        name: String,
        /// The values the circuit declares (all array elements, flattened).
        expected: u64,
        /// The values given.
        found: u64,
    },
    /// The input leaves some of the circuit's input signals unset.
    #[error(
        "the input sets {set} input values but the circuit has {expected}: an input signal is missing"
    )]
    InputMissing {
        /// Values set.
        set: u64,
        /// Input values the circuit has.
        expected: u64,
    },
    /// An arkworks circuit's `generate_constraints` failed, or its constraint system
    /// could not be read.
    #[error("the arkworks circuit could not be synthesized: {reason}")]
    ArkworksSynthesis {
        /// arkworks' error, and what to do about it.
        reason: String,
    },
    /// An arkworks circuit's assignment does not satisfy its constraints: the values
    /// given to the circuit (or the circuit) are wrong.
    #[error(
        "the arkworks circuit's assignment does not satisfy its constraint {constraint}: check the values given to the circuit (arkworks locates it at: {location})"
    )]
    ArkworksUnsatisfied {
        /// The index of the first failing constraint in the imported R1CS.
        constraint: usize,
        /// Where arkworks says it is: its namespace path when ark-relations'
        /// `ConstraintLayer` tracing layer is installed, else its predicate and index.
        location: String,
    },
    /// An arkworks circuit uses a constraint predicate that is neither R1CS nor squared
    /// R1CS (a custom generalized-R1CS gate).
    #[error(
        "the arkworks circuit has {constraints} constraints of predicate {label:?} (arity {arity}), which is neither R1CS (a·b = c) nor squared R1CS (a² = b): only those can be imported; express them with enforce_r1cs_constraint"
    )]
    ArkworksPredicate {
        /// The predicate's label.
        label: String,
        /// Its arity (linear combinations per constraint).
        arity: usize,
        /// How many constraints use it.
        constraints: usize,
    },
    /// A line of a `.sym` file is not `labelIndex,witnessIndex,componentIndex,signalName`.
    #[error("invalid .sym file, line {line}: {reason}")]
    SymbolLine {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}
