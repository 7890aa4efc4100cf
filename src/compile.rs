//! `tutti compile`: a circom `.r1cs` to a compiled circuit (`C.tutti`) and its verifying
//! key, with the rows it takes next to snarkjs's PLONK gate count.

use crate::inputs::{ensure_srs_fits, open_srs, read_file};
use crate::trust::to_hex;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tutti_protocol::compiled::CompiledCircuit;
use tutti_protocol::import::circom::R1cs;
use tutti_protocol::import::plonk::ConvertOptions;
use tutti_protocol::keys::{VerifyingKey, preprocess};

/// Arguments of `tutti compile`.
#[derive(clap::Args, Debug)]
pub struct CompileArgs {
    /// The circom constraint system (`circom C.circom --r1cs`; BN254, circom's default
    /// `--O1`: `--O2` folds linear constraints into long sums that cost more rows).
    #[arg(long, value_name = "C.r1cs")]
    pub r1cs: PathBuf,
    /// Number of shards M (a power of two).
    #[arg(long)]
    pub shards: usize,
    /// Rows per shard T (a power of two); by default the smallest that fits.
    #[arg(long)]
    pub shard_gates: Option<usize>,
    /// The SRS to compute the verifying key with (`tutti setup`, M shards, at least T
    /// rows); without it (and --vk-out) only the compiled circuit is written.
    #[arg(long, value_name = "S", requires = "vk_out")]
    pub srs: Option<PathBuf>,
    /// Where to write the compiled circuit.
    #[arg(long, value_name = "C.tutti")]
    pub out: PathBuf,
    /// Where to write the verifying key.
    #[arg(long, value_name = "vk.bin", requires = "srs")]
    pub vk_out: Option<PathBuf>,
    /// Spend a row on every linear constraint of one or two terms instead of
    /// substituting the private wire it defines into the other constraints (the
    /// default: fewer rows, e.g. 516 instead of 597 for Poseidon(2); the statement is
    /// the same and the proof as sound, but the substituted wires are then in no row).
    #[arg(long)]
    pub keep_aliases: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `tutti witness`.
#[derive(clap::Args, Debug)]
pub struct WitnessArgs {
    /// circom's WebAssembly witness generator (`C_js/C.wasm`).
    #[arg(long, value_name = "C.wasm")]
    pub wasm: PathBuf,
    /// The circuit's inputs (`input.json`, as snarkjs reads them).
    #[arg(long, value_name = "input.json")]
    pub input: PathBuf,
    /// Check the witness against this compiled circuit before writing it.
    #[arg(long, value_name = "C.tutti")]
    pub compiled: Option<PathBuf>,
    /// Where to write the witness (`.wtns`, version 2, as snarkjs writes it).
    #[arg(long, value_name = "W.wtns")]
    pub out: PathBuf,
}

/// `tutti witness`.
pub fn witness(a: &WitnessArgs) -> Result<()> {
    let t0 = Instant::now();
    let w = crate::inputs::witness_from_wasm(&a.wasm, &a.input)?;
    if let Some(path) = &a.compiled {
        let compiled = crate::inputs::load_compiled(path)?;
        compiled
            .witness_from_circom(&w)
            .with_context(|| format!("the witness does not fit the circuit {}", path.display()))?;
    }
    std::fs::write(&a.out, w.to_bytes())
        .with_context(|| format!("writing the witness to {}", a.out.display()))?;
    println!(
        "wrote {} ({} values{}, {:.1} ms)",
        a.out.display(),
        w.0.len(),
        if a.compiled.is_some() {
            ", every constraint holds"
        } else {
            ""
        },
        t0.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// What `tutti compile --json` prints.
#[derive(Serialize, Debug)]
pub struct CompileSummary {
    pub constraints: usize,
    pub rows: usize,
    pub rows_per_constraint: f64,
    pub snarkjs_rows: usize,
    pub rows_over_snarkjs: f64,
    pub shards: usize,
    pub shard_gates: usize,
    pub public_inputs: usize,
    pub digest: String,
    pub vk_digest: Option<String>,
    pub srs_id: Option<String>,
    pub compiled_bytes: usize,
    pub compile_ms: f64,
    pub preprocess_ms: f64,
}

/// `tutti compile`.
pub fn run(a: &CompileArgs) -> Result<()> {
    let t0 = Instant::now();
    let bytes = read_file(&a.r1cs, "constraint system")?;
    let r1cs = R1cs::from_bytes(&bytes).with_context(|| format!("{}", a.r1cs.display()))?;
    let options = ConvertOptions {
        eliminate_aliases: !a.keep_aliases,
    };
    let compiled = CompiledCircuit::from_r1cs(&r1cs, options, a.shards, a.shard_gates)
        .with_context(|| format!("compiling {}", a.r1cs.display()))?;
    let compile_ms = t0.elapsed().as_secs_f64() * 1e3;
    let shape = compiled.shape();

    let encoded = compiled.to_bytes();
    let (vk, preprocess_ms) = match (&a.srs, &a.vk_out) {
        (Some(srs), Some(vk_out)) => {
            let t1 = Instant::now();
            let vk = verifying_key(&compiled, srs)?;
            std::fs::write(vk_out, vk.to_bytes())
                .with_context(|| format!("writing the verifying key to {}", vk_out.display()))?;
            (Some(vk), t1.elapsed().as_secs_f64() * 1e3)
        }
        _ => (None, 0.0),
    };
    std::fs::write(&a.out, &encoded)
        .with_context(|| format!("writing the compiled circuit to {}", a.out.display()))?;

    let stats = compiled.conversion_stats().unwrap_or_default();
    let summary = CompileSummary {
        constraints: stats.constraints,
        rows: stats.rows,
        rows_per_constraint: stats.rows_per_constraint(),
        snarkjs_rows: stats.snarkjs_rows,
        rows_over_snarkjs: stats.rows as f64 / stats.snarkjs_rows.max(1) as f64,
        shards: shape.shards,
        shard_gates: shape.shard_gates,
        public_inputs: compiled.public_inputs(),
        digest: to_hex(&compiled.digest()),
        vk_digest: vk.as_ref().map(|vk| to_hex(&vk.digest())),
        srs_id: vk.as_ref().map(|vk| to_hex(&vk.srs_id())),
        compiled_bytes: encoded.len(),
        compile_ms,
        preprocess_ms,
    };
    if a.json {
        println!("{}", serde_json::to_string(&summary)?);
        return Ok(());
    }
    let s = &summary;
    println!("{}", a.r1cs.display());
    println!("  constraints      {}", s.constraints);
    println!(
        "  rows             {} ({:.3} per constraint; snarkjs PLONK: {} gates, tutti/snarkjs {:.3})",
        s.rows, s.rows_per_constraint, s.snarkjs_rows, s.rows_over_snarkjs
    );
    println!(
        "  layout           {} shards x {} rows ({} rows usable, {:.0}% used)",
        s.shards,
        s.shard_gates,
        s.shards * (s.shard_gates - 1),
        100.0 * s.rows as f64 / (s.shards * (s.shard_gates - 1)) as f64
    );
    println!(
        "  public inputs    {} (outputs, then public inputs)",
        s.public_inputs
    );
    println!("  digest           {}", s.digest);
    match (&s.vk_digest, &s.srs_id, &a.vk_out) {
        (Some(vk_digest), Some(srs_id), Some(vk_out)) => {
            println!("  vk digest        {vk_digest}");
            println!("  SRS id           {srs_id}");
            println!(
                "wrote {} ({} bytes) and {}",
                a.out.display(),
                s.compiled_bytes,
                vk_out.display()
            );
        }
        _ => println!(
            "wrote {} ({} bytes); no verifying key (pass --srs S --vk-out vk.bin)",
            a.out.display(),
            s.compiled_bytes
        ),
    }
    Ok(())
}

/// The verifying key of `compiled` with the SRS at `path`, refusing an SRS of another
/// shape with the command that makes a fitting one.
fn verifying_key(compiled: &CompiledCircuit, path: &Path) -> Result<VerifyingKey> {
    let srs = open_srs(path)?;
    ensure_srs_fits(
        &srs,
        compiled.shape(),
        &format!("the SRS {}", path.display()),
    )?;
    let pre = preprocess(compiled.sharded(), &srs).context("preprocessing the circuit")?;
    Ok(pre.aggregator.vk)
}
