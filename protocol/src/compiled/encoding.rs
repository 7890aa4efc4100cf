//! The bytes of a compiled circuit (spec/circuit.md §8). Integers are big-endian, as in
//! every tutti encoding; the embedded constraint system is a standard `.r1cs` file.
//!
//! ```text
//! magic "tuttiCC\0" (8) | version u16 = 1 | M u32 | T u32 | body kind u8 | body
//! body kind 1 (gates): num_vars u32 | gates u32 | per gate: flags u8 (bit 0: public)
//!     | 5 selectors (q_L, q_R, q_O, q_M, q_C), each a tag u8 (0: 0, 1: 1, 2: −1,
//!       3: a 32-byte scalar that is none of those) | 3 wires u32
//!     | equalities u32 | pairs of u32 | shard breaks u32 | gate indices u32 (increasing)
//! body kind 2 (R1CS): options u8 (bit 0: eliminate aliases) | the `.r1cs` file (rest)
//! ```

use super::{Body, CompiledError};
use crate::circuit::{Circuit, Gate, Selectors, Var};
use crate::import::circom::R1cs;
use crate::import::plonk::{ConvertOptions, convert_with};
use crate::layout::Shape;
use ark_ff::{One, Zero};
use tutti_crypto::Fr;
use tutti_crypto::encoding::{Reader, put_scalar};

/// The first eight bytes of every compiled circuit.
pub const COMPILED_MAGIC: [u8; 8] = *b"tuttiCC\0";
/// The format version this build writes and reads.
pub const COMPILED_VERSION: u16 = 1;

const KIND_GATES: u8 = 1;
const KIND_R1CS: u8 = 2;
/// Smallest encoding of one gate: flags, five selector tags, three wires.
const MIN_GATE_BYTES: usize = 1 + 5 + 12;

fn put_selector(out: &mut Vec<u8>, v: &Fr) {
    if v.is_zero() {
        out.push(0);
    } else if v.is_one() {
        out.push(1);
    } else if (-*v).is_one() {
        out.push(2);
    } else {
        out.push(3);
        put_scalar(out, v);
    }
}

/// The encoding of `body` in `shape`.
pub(super) fn encode(shape: Shape, body: &Body) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&COMPILED_MAGIC);
    out.extend_from_slice(&COMPILED_VERSION.to_be_bytes());
    out.extend_from_slice(&(shape.shards as u32).to_be_bytes());
    out.extend_from_slice(&(shape.shard_gates as u32).to_be_bytes());
    match body {
        Body::Gates(c) => {
            out.push(KIND_GATES);
            out.extend_from_slice(&(c.num_vars as u32).to_be_bytes());
            out.extend_from_slice(&(c.gates.len() as u32).to_be_bytes());
            for g in &c.gates {
                out.push(u8::from(g.public));
                for s in g.selectors.to_array() {
                    put_selector(&mut out, &s);
                }
                for w in g.wires {
                    out.extend_from_slice(&w.0.to_be_bytes());
                }
            }
            out.extend_from_slice(&(c.equalities.len() as u32).to_be_bytes());
            for (a, b) in &c.equalities {
                out.extend_from_slice(&a.0.to_be_bytes());
                out.extend_from_slice(&b.0.to_be_bytes());
            }
            out.extend_from_slice(&(c.shard_breaks.len() as u32).to_be_bytes());
            for b in &c.shard_breaks {
                out.extend_from_slice(&(*b as u32).to_be_bytes());
            }
        }
        Body::R1cs { converted, options } => {
            out.push(KIND_R1CS);
            out.push(u8::from(options.eliminate_aliases));
            out.extend_from_slice(&converted.r1cs().to_bytes());
        }
    }
    out
}

fn format_err(e: impl std::fmt::Display) -> CompiledError {
    CompiledError::Format(e.to_string())
}

/// Reads a count of items that take at least `min_bytes` each, refusing one the
/// remaining bytes cannot hold (so nothing larger than the input is allocated).
fn count(r: &mut Reader<'_>, what: &str, min_bytes: usize) -> Result<usize, CompiledError> {
    let n = r.u32().map_err(format_err)? as usize;
    if n.saturating_mul(min_bytes) > r.remaining() {
        return Err(CompiledError::Format(format!(
            "{n} {what} need at least {} bytes but {} remain",
            n.saturating_mul(min_bytes),
            r.remaining()
        )));
    }
    Ok(n)
}

fn selector(r: &mut Reader<'_>) -> Result<Fr, CompiledError> {
    match r.u8().map_err(format_err)? {
        0 => Ok(Fr::zero()),
        1 => Ok(Fr::one()),
        2 => Ok(-Fr::one()),
        3 => r.scalar().map_err(format_err),
        t => Err(CompiledError::Format(format!("unknown selector tag {t}"))),
    }
}

fn var(r: &mut Reader<'_>, num_vars: usize, what: &str) -> Result<Var, CompiledError> {
    let v = r.u32().map_err(format_err)?;
    if v as usize >= num_vars {
        return Err(CompiledError::Format(format!(
            "{what} names variable {v} but the circuit has {num_vars}"
        )));
    }
    Ok(Var(v))
}

fn gates_body(r: &mut Reader<'_>) -> Result<Circuit, CompiledError> {
    let num_vars = r.u32().map_err(format_err)? as usize;
    let n_gates = count(r, "gates", MIN_GATE_BYTES)?;
    let mut gates = Vec::with_capacity(n_gates);
    for g in 0..n_gates {
        let public = match r.u8().map_err(format_err)? {
            0 => false,
            1 => true,
            f => {
                return Err(CompiledError::Format(format!(
                    "gate {g} has unknown flags {f:#04x}"
                )));
            }
        };
        let q: [Fr; 5] = [
            selector(r)?,
            selector(r)?,
            selector(r)?,
            selector(r)?,
            selector(r)?,
        ];
        let what = format!("gate {g}");
        let wires = [
            var(r, num_vars, &what)?,
            var(r, num_vars, &what)?,
            var(r, num_vars, &what)?,
        ];
        gates.push(Gate {
            selectors: Selectors {
                q_l: q[0],
                q_r: q[1],
                q_o: q[2],
                q_m: q[3],
                q_c: q[4],
            },
            wires,
            public,
        });
    }
    let n_eq = count(r, "equalities", 8)?;
    let mut equalities = Vec::with_capacity(n_eq);
    for e in 0..n_eq {
        let what = format!("equality {e}");
        equalities.push((var(r, num_vars, &what)?, var(r, num_vars, &what)?));
    }
    let n_breaks = count(r, "shard breaks", 4)?;
    let mut shard_breaks: Vec<usize> = Vec::with_capacity(n_breaks);
    for _ in 0..n_breaks {
        let b = r.u32().map_err(format_err)? as usize;
        if b > n_gates || shard_breaks.last().is_some_and(|p| *p >= b) {
            return Err(CompiledError::Format(format!(
                "shard break at gate {b} is out of order or past the {n_gates} gates"
            )));
        }
        shard_breaks.push(b);
    }
    Ok(Circuit {
        num_vars,
        gates,
        equalities,
        shard_breaks,
    })
}

/// Reads and checks the header (magic, version, shape), leaving `r` at the body kind.
fn read_header(r: &mut Reader<'_>) -> Result<Shape, CompiledError> {
    let magic: [u8; 8] = r.array().map_err(format_err)?;
    if magic != COMPILED_MAGIC {
        return Err(CompiledError::Format(format!(
            "it starts with {:?}, not the magic bytes {:?} (is it a .tutti file?)",
            String::from_utf8_lossy(&magic),
            String::from_utf8_lossy(&COMPILED_MAGIC)
        )));
    }
    let version = r.u16().map_err(format_err)?;
    if version != COMPILED_VERSION {
        return Err(CompiledError::UnsupportedVersion {
            found: version,
            supported: COMPILED_VERSION,
        });
    }
    let shards = r.u32().map_err(format_err)? as usize;
    let shard_gates = r.u32().map_err(format_err)? as usize;
    Ok(Shape::new(shards, shard_gates)?)
}

/// The shape of an encoded artifact, from its header alone.
pub(super) fn decode_header(bytes: &[u8]) -> Result<Shape, CompiledError> {
    read_header(&mut Reader::new(bytes, "compiled circuit"))
}

/// Decodes the shape and body (the caller re-encodes to check canonicity).
pub(super) fn decode(bytes: &[u8]) -> Result<(Shape, Body), CompiledError> {
    let mut r = Reader::new(bytes, "compiled circuit");
    let shape = read_header(&mut r)?;
    let body = match r.u8().map_err(format_err)? {
        KIND_GATES => {
            let c = gates_body(&mut r)?;
            r.finish().map_err(format_err)?;
            // Laying the circuit out allocates per variable: a claimed count no wire slot
            // could use is refused before that (found by fuzzing: 1.8 KB asking for 17 GB).
            let slots = 3 * shape.shards * shape.shard_gates;
            if c.num_vars > slots {
                return Err(CompiledError::Format(format!(
                    "the circuit claims {} variables, more than the {slots} wire slots of {} shards of {} rows",
                    c.num_vars, shape.shards, shape.shard_gates
                )));
            }
            Body::Gates(c)
        }
        KIND_R1CS => {
            let options = match r.u8().map_err(format_err)? {
                0 => ConvertOptions::default(),
                1 => ConvertOptions {
                    eliminate_aliases: true,
                },
                o => {
                    return Err(CompiledError::Format(format!(
                        "unknown conversion options {o:#04x}"
                    )));
                }
            };
            let rest = r.take(r.remaining()).map_err(format_err)?;
            let r1cs = R1cs::from_bytes(rest)?;
            Body::R1cs {
                converted: Box::new(convert_with(&r1cs, options)?),
                options,
            }
        }
        k => {
            return Err(CompiledError::Format(format!(
                "unknown body kind {k} (1 gates, 2 R1CS)"
            )));
        }
    };
    Ok((shape, body))
}
