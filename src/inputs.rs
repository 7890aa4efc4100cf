//! What a job proves, from the command line: a built-in circuit (`--circuit`, generated
//! from a seed), or a compiled circuit (`--compiled C.tutti`, from `tutti compile`) with
//! a circom witness (`--wtns W.wtns`, or `--wasm C.wasm --input input.json` computed
//! here as `snarkjs wtns calculate` does). Both end as the same [`JobCircuit`]: a
//! compiled circuit, its gate witness and its statement.

use crate::CircuitKind;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tutti_crypto::srs::{RowSource, SrsFile};
use tutti_protocol::Fr;
use tutti_protocol::circuit::Witness;
use tutti_protocol::circuits::{BuiltinCircuit, CircuitRef};
use tutti_protocol::compiled::{CompiledCircuit, CompiledError};
use tutti_protocol::import::ImportError;
use tutti_protocol::import::circom;
use tutti_protocol::layout::{Shape, ShardWitness};
use tutti_transport::circuit_spec::CircuitSpec;

/// Most bytes read from a circuit, witness, wasm or input file (a guard against reading
/// a device or a wrong multi-gigabyte file whole).
const MAX_INPUT_FILE: u64 = 4 << 30;

/// Selects the circuit and witness of a job (`tutti prove`, `tutti submit`).
#[derive(clap::Args, Debug, Clone)]
pub struct CircuitArgs {
    /// A built-in circuit (instead of --compiled).
    #[arg(long, value_enum, conflicts_with = "compiled")]
    pub circuit: Option<CircuitKind>,
    /// Number of shards M of a built-in circuit (a compiled circuit has its own).
    #[arg(long, conflicts_with = "compiled")]
    pub shards: Option<usize>,
    /// Rows per shard T of a built-in circuit.
    #[arg(long, conflicts_with = "compiled")]
    pub shard_gates: Option<usize>,
    /// Seed of a built-in circuit's witness.
    #[arg(long, default_value_t = 1, conflicts_with = "compiled")]
    pub seed: u64,
    /// A compiled circuit (`tutti compile`); needs --wtns, or --wasm and --input.
    #[arg(long, value_name = "C.tutti")]
    pub compiled: Option<PathBuf>,
    /// The circom witness (`.wtns`, version 2, as snarkjs writes it).
    #[arg(
        long,
        value_name = "W.wtns",
        requires = "compiled",
        conflicts_with = "wasm"
    )]
    pub wtns: Option<PathBuf>,
    /// circom's WebAssembly witness generator (`C_js/C.wasm`); needs --input.
    #[arg(long, value_name = "C.wasm", requires_all = ["compiled", "input"])]
    pub wasm: Option<PathBuf>,
    /// The circuit's inputs for --wasm, as snarkjs reads them (`input.json`).
    #[arg(long, value_name = "input.json", requires = "wasm")]
    pub input: Option<PathBuf>,
    /// circom's symbol file (`C.sym`): names the signals of a failing constraint.
    #[arg(long, value_name = "C.sym", requires = "compiled")]
    pub sym: Option<PathBuf>,
}

/// A circuit with a witness, ready to prove or submit.
pub struct JobCircuit {
    /// How a submission names the circuit (a built-in one by its short reference).
    pub spec: CircuitSpec,
    /// The compiled circuit.
    pub compiled: Arc<CompiledCircuit>,
    /// The gate witness.
    pub witness: Witness,
    /// The statement.
    pub public_inputs: Vec<Fr>,
    /// Short name for reports (`rollup`, `random`, `compiled`).
    pub name: String,
    /// One line for people.
    pub detail: String,
}

impl JobCircuit {
    /// The witness cut into the compiled circuit's shards.
    pub fn shard_witnesses(&self) -> Vec<ShardWitness> {
        self.compiled.sharded().shard_witnesses(&self.witness)
    }
}

/// Opens an SRS file (its structure checked by the loader), warning on stderr when it
/// is a seeded, INSECURE one.
pub fn open_srs(path: &Path) -> Result<SrsFile> {
    let srs = SrsFile::open(path).with_context(|| format!("opening the SRS {}", path.display()))?;
    if srs.header().insecure {
        eprintln!(
            "WARNING: {} is an INSECURE seeded SRS: proofs made with it can be forged",
            path.display()
        );
    }
    Ok(srs)
}

/// Refuses an SRS that cannot serve `shape` (another M, or fewer than T rows), naming
/// the command that makes one that can; `what` names the SRS in the message.
pub fn ensure_srs_fits(srs: &dyn RowSource, shape: Shape, what: &str) -> Result<()> {
    let header = srs.header();
    anyhow::ensure!(
        header.shards == shape.shards && header.shard_gates >= shape.shard_gates,
        "{what} is for {} shards of up to {} rows; this circuit needs {} shards of {} rows (make one with `tutti setup --shards {} --shard-gates {}`)",
        header.shards,
        header.shard_gates,
        shape.shards,
        shape.shard_gates,
        shape.shards,
        shape.shard_gates
    );
    Ok(())
}

/// Reads a file whole (up to 4 GiB), naming it in the error.
pub fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    read_file_up_to(path, what, MAX_INPUT_FILE)
}

/// Reads a file whole if it has at most `max` bytes, naming it in the error.
pub fn read_file_up_to(path: &Path, what: &str, max: u64) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?
        .len();
    anyhow::ensure!(
        len <= max,
        "{what} {} is {len} bytes, more than the {max} this command reads",
        path.display()
    );
    std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Reads and checks a compiled circuit.
pub fn load_compiled(path: &Path) -> Result<CompiledCircuit> {
    let bytes = read_file(path, "compiled circuit")?;
    CompiledCircuit::from_bytes(&bytes).with_context(|| format!("{}", path.display()))
}

/// A built-in circuit's reference.
pub fn builtin_ref(kind: CircuitKind, shape: Shape, seed: u64) -> CircuitRef {
    CircuitRef {
        kind: match kind {
            CircuitKind::Random => BuiltinCircuit::Random,
            CircuitKind::Rollup => BuiltinCircuit::Rollup,
        },
        shape,
        seed,
    }
}

/// A built-in circuit and its witness.
pub fn builtin(kind: CircuitKind, shape: Shape, seed: u64) -> Result<JobCircuit> {
    let r = builtin_ref(kind, shape, seed);
    let (compiled, witness, detail) = r.compile()?;
    let public_inputs = witness.public_inputs(compiled.circuit());
    Ok(JobCircuit {
        spec: CircuitSpec::Builtin(r),
        compiled: Arc::new(compiled),
        witness,
        public_inputs,
        name: r.kind.name().to_string(),
        detail,
    })
}

impl CircuitArgs {
    /// Loads the circuit and computes or reads its witness, checking it against the
    /// circuit before anything is proved.
    pub fn load(&self) -> Result<JobCircuit> {
        let Some(path) = &self.compiled else {
            let Some(kind) = self.circuit else {
                bail!(
                    "name the circuit: --compiled C.tutti (from `tutti compile`) or --circuit random|rollup"
                );
            };
            let (Some(m), Some(t)) = (self.shards, self.shard_gates) else {
                bail!("--circuit needs --shards M and --shard-gates T");
            };
            return builtin(kind, Shape::new(m, t)?, self.seed);
        };
        let compiled = load_compiled(path)?;
        let witness = self.circom_witness()?;
        let (gate_witness, public_inputs) = match compiled.witness_from_circom(&witness) {
            Ok(w) => w,
            Err(CompiledError::Import(ImportError::Unsatisfied { constraint })) => {
                bail!(
                    "the witness does not satisfy the circuit {}: constraint {constraint} fails\n{}",
                    path.display(),
                    self.describe_failure(&compiled, constraint, &witness)
                );
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("the witness does not fit the circuit {}", path.display())
                });
            }
        };
        let detail = compiled.describe();
        let compiled = Arc::new(compiled);
        Ok(JobCircuit {
            spec: CircuitSpec::Compiled {
                bytes: Arc::new(compiled.to_bytes()),
                circuit: compiled.clone(),
            },
            compiled,
            witness: gate_witness,
            public_inputs,
            name: "compiled".into(),
            detail,
        })
    }

    /// The circom witness from --wtns, or computed from --wasm and --input.
    fn circom_witness(&self) -> Result<circom::Witness> {
        if let Some(path) = &self.wtns {
            let bytes = read_file(path, "witness")?;
            return circom::Witness::from_bytes(&bytes)
                .with_context(|| format!("{}", path.display()));
        }
        let (Some(wasm), Some(input)) = (&self.wasm, &self.input) else {
            bail!(
                "--compiled needs the witness: --wtns W.wtns, or --wasm C.wasm --input input.json"
            );
        };
        witness_from_wasm(wasm, input)
    }

    /// The failing constraint, with signal names when --sym was given.
    fn describe_failure(
        &self,
        compiled: &CompiledCircuit,
        constraint: usize,
        witness: &circom::Witness,
    ) -> String {
        crate::symbols::describe_failure(compiled, constraint, witness, self.sym.as_deref())
    }
}

/// Computes a circom witness from circom's WebAssembly and an `input.json`.
#[cfg(feature = "circom-wasm")]
pub fn witness_from_wasm(wasm: &Path, input: &Path) -> Result<circom::Witness> {
    let code = read_file(wasm, "witness generator")?;
    let json = read_file(input, "input")?;
    let json = String::from_utf8(json)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", input.display()))?;
    tutti_protocol::import::wasm::witness_from_wasm(&code, &json).with_context(|| {
        format!(
            "computing the witness with {} from {}",
            wasm.display(),
            input.display()
        )
    })
}

/// Without the `circom-wasm` feature, --wasm is refused.
#[cfg(not(feature = "circom-wasm"))]
pub fn witness_from_wasm(_wasm: &Path, _input: &Path) -> Result<circom::Witness> {
    bail!(
        "this tutti was built without the circom-wasm feature: compute the witness with `snarkjs wtns calculate` and pass --wtns"
    )
}

/// snarkjs's `public.json`: a JSON array of decimal strings.
pub fn public_json(values: &[Fr]) -> String {
    let list: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    format!("[\n {}\n]\n", list.join(",\n "))
}

/// Reads snarkjs's `public.json`, refusing anything but an array of canonical decimal
/// strings below the field's modulus.
pub fn parse_public_json(text: &str) -> Result<Vec<Fr>> {
    let value: serde_json::Value = serde_json::from_str(text).context("public inputs: not JSON")?;
    let Some(list) = value.as_array() else {
        bail!(
            "public inputs: expected a JSON array of decimal strings, as snarkjs writes public.json"
        );
    };
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                other => bail!("public input {i} is {other}, not a decimal string"),
            };
            match s.parse::<Fr>() {
                Ok(f) if f.to_string() == s => Ok(f),
                _ => bail!(
                    "public input {i} ({s}) is not a canonical decimal number below BN254's scalar field modulus"
                ),
            }
        })
        .collect()
}
