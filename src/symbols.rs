//! Naming a failing constraint for people: its terms, their values and, when circom's
//! `.sym` file is given, the signals by name.

use std::path::Path;
use tutti_protocol::compiled::CompiledCircuit;
use tutti_protocol::import::circom;
use tutti_protocol::import::symbols::{SymbolTable, describe_constraint};

/// Describes constraint `constraint` of the compiled circuit's R1CS under `witness`,
/// with the signal names of the `.sym` file at `sym` (a file that cannot be read or
/// parsed is said, and the description goes on without names).
pub fn describe_failure(
    compiled: &CompiledCircuit,
    constraint: usize,
    witness: &circom::Witness,
    sym: Option<&Path>,
) -> String {
    let Some(r1cs) = compiled.r1cs() else {
        return String::new();
    };
    let mut note = String::new();
    let symbols = sym.and_then(|path| {
        match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| SymbolTable::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(table) => Some(table),
            Err(e) => {
                note = format!("\n(cannot name the signals: {}: {e})", path.display());
                None
            }
        }
    });
    let hint = if sym.is_none() {
        "\n(pass --sym C.sym, written by `circom --sym`, to name the signals)"
    } else {
        ""
    };
    format!(
        "{}{note}{hint}",
        describe_constraint(r1cs, constraint, witness, symbols.as_ref())
    )
}
