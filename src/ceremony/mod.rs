//! `tutti ceremony`: a multi-party setup ceremony for the bivariate SRS. `init` writes
//! the starting state, each contributor runs `contribute` on the latest state and
//! publishes the hash it prints, anyone runs `verify` on the latest state (every
//! contribution from the start), and `finalize` derives the SRS file, optionally after
//! a public random beacon. The mathematics is in `tutti_crypto::ceremony`.

mod published;

use crate::inputs::{read_file, read_file_up_to};
use crate::trust::{parse_hex32, to_hex};
use anyhow::{Context, Result};
use ark_ec::{CurveGroup, VariableBaseMSM};
use indicatif::{ProgressBar, ProgressStyle};
use published::{check_srs, verify_steps};
use rand::rngs::OsRng;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tutti_crypto::ceremony::{CeremonyState, Progress, verify_ceremony, verify_ceremony_from_ptau};
use tutti_crypto::srs::RowSource;
use tutti_crypto::{Fr, G1Projective};

/// `tutti ceremony …`.
#[derive(clap::Subcommand, Debug)]
pub enum CeremonyCommand {
    /// Write the starting state for M shards of T rows (trapdoors 1), or with --ptau one
    /// whose τ_X is that of a univariate powers-of-tau ceremony (snarkjs `.ptau`), so
    /// that contributors here update τ_Y only.
    Init {
        /// Number of shards M (a power of two).
        #[arg(long)]
        shards: usize,
        /// Rows per shard T (a power of two, at least 16).
        #[arg(long)]
        shard_gates: usize,
        /// Take τ_X from this powers-of-tau file (power with 2^power·2 − 1 ≥ T + 4).
        #[arg(long, value_name = "file.ptau")]
        ptau: Option<PathBuf>,
        /// Output state.
        #[arg(long, value_name = "c0.bin")]
        out: PathBuf,
    },
    /// Verify the latest state, add a contribution with secrets from this machine's
    /// randomness (discarded when it returns), write the new state and print the
    /// contribution's hash to publish.
    Contribute {
        /// The latest state.
        #[arg(long = "in", value_name = "cK.bin")]
        input: PathBuf,
        /// The new state.
        #[arg(long, value_name = "cK+1.bin")]
        out: PathBuf,
        /// Skip verifying the input (when it was just verified by other means).
        #[arg(long)]
        no_verify: bool,
        #[command(flatten)]
        report: Report,
    },
    /// Verify a ceremony from its latest state: every contribution's proofs of
    /// knowledge and G2 update from the start, and the grid's structure.
    Verify {
        /// The latest state.
        #[arg(long = "in", value_name = "cN.bin")]
        input: PathBuf,
        /// A directory with the published intermediate states: each is also checked to
        /// be its predecessor plus one contribution, and to be on the final chain.
        #[arg(long, value_name = "dir")]
        transcript: Option<PathBuf>,
        /// The powers-of-tau file a `--ptau` ceremony started from: checks that τ_X and
        /// the grid's first column are the file's.
        #[arg(long, value_name = "file.ptau")]
        ptau: Option<PathBuf>,
        /// Also check that this SRS file is the one `finalize` derives from the state.
        #[arg(long, value_name = "srs.bin")]
        srs: Option<PathBuf>,
        #[command(flatten)]
        report: Report,
    },
    /// Verify the latest state, optionally close it with a public random beacon, and
    /// write the SRS it defines (which carries the transcript's digest).
    Finalize {
        /// The latest state.
        #[arg(long = "in", value_name = "cN.bin")]
        input: PathBuf,
        /// The SRS file to write.
        #[arg(long, value_name = "srs.bin")]
        out: PathBuf,
        /// A public random value fixed after the last contribution (64 hex digits, e.g.
        /// a drand round's randomness): adds a last contribution with secrets derived
        /// from it, which anyone can recompute.
        #[arg(long, value_name = "HEX")]
        beacon: Option<String>,
        /// Write the state after the beacon contribution here (to publish it).
        #[arg(long, value_name = "cN+1.bin", requires = "beacon")]
        state_out: Option<PathBuf>,
        /// Skip verifying the input.
        #[arg(long)]
        no_verify: bool,
        #[command(flatten)]
        report: Report,
    },
}

/// Output options shared by the long commands.
#[derive(clap::Args, Debug)]
pub struct Report {
    /// Print one JSON object (timings included) instead of text and progress bars.
    #[arg(long)]
    json: bool,
    /// Also time one MSM of as many points as the grid (random scalars) on this
    /// machine, as the floor to compare the command's work with.
    #[arg(long)]
    measure_floor: bool,
}

/// What the commands print with `--json`.
#[derive(Serialize, Default)]
struct Summary {
    shards: usize,
    shard_gates: usize,
    grid_points: usize,
    contributions: usize,
    transcript_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    contribution_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ptau_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    srs_id: Option<String>,
    state_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    srs_bytes: Option<u64>,
    load_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contribute_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finalize_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    msm_floor_ms: Option<f64>,
    threads: usize,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// A progress bar fed by the ceremony's progress callback (hidden with `--json`).
fn bar(json: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(1);
    pb.set_style(
        ProgressStyle::with_template("{msg:32} {bar:30} {percent:>3}% [{elapsed}, {eta} left]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

fn with_bar<T>(json: bool, f: impl FnOnce(Progress<'_>) -> T) -> T {
    let pb = bar(json);
    let report = |what: &'static str, done: u64, total: u64| {
        pb.set_message(what);
        pb.set_length(total.max(1));
        pb.set_position(done);
    };
    let out = f(&report);
    pb.finish_and_clear();
    out
}

/// Largest ceremony state read (M = 64, T = 2^20 is 4 GiB; M = 4096, T = 2^24 would be
/// far beyond any machine): the decoder checks the exact size against the header.
const MAX_STATE_FILE: u64 = 64 << 30;

/// Reads a ceremony state file (up to [`MAX_STATE_FILE`] bytes).
fn read_state(path: &Path) -> Result<Vec<u8>> {
    read_file_up_to(path, "ceremony state", MAX_STATE_FILE)
}

fn load(path: &Path, s: &mut Summary) -> Result<CeremonyState> {
    let t = Instant::now();
    let bytes = read_state(path)?;
    let state = CeremonyState::from_bytes(&bytes)
        .with_context(|| format!("{} is not a usable ceremony state", path.display()))?;
    s.state_bytes = bytes.len() as u64;
    s.load_ms = ms(t);
    describe(&state, s);
    Ok(state)
}

fn describe(state: &CeremonyState, s: &mut Summary) {
    s.shards = state.shards;
    s.shard_gates = state.shard_gates;
    s.grid_points = state.grid.len() + state.extra_y.len();
    s.contributions = state.contributions.len();
    s.transcript_hash = to_hex(&state.transcript_hash());
    s.ptau_digest = state.x_from_ptau.map(|d| to_hex(&d));
    s.threads = std::thread::available_parallelism().map_or(1, |n| n.get());
}

fn write_state(state: &CeremonyState, path: &Path) -> Result<u64> {
    let bytes = state.to_bytes();
    std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(bytes.len() as u64)
}

fn verify_state(state: &CeremonyState, ptau: Option<&[u8]>, json: bool) -> Result<f64> {
    let t = Instant::now();
    with_bar(json, |p| match ptau {
        Some(file) => verify_ceremony_from_ptau(file, state, &mut OsRng, p).map_err(Into::into),
        None => verify_ceremony(state, &mut OsRng, p).map_err(anyhow::Error::from),
    })
    .context("the ceremony does not verify")?;
    Ok(ms(t))
}

/// The time of one MSM over the grid's points with random scalars.
fn msm_floor(state: &CeremonyState) -> f64 {
    let scalars: Vec<Fr> = (0..state.grid.len())
        .map(|_| ark_std::UniformRand::rand(&mut OsRng))
        .collect();
    let t = Instant::now();
    let p = G1Projective::msm_unchecked(&state.grid, &scalars).into_affine();
    let _ = std::hint::black_box(p);
    ms(t)
}

/// Adds the MSM floor if asked, and prints the summary as JSON if asked (then true).
fn printed_json(s: &mut Summary, state: &CeremonyState, r: &Report) -> Result<bool> {
    if r.measure_floor {
        s.msm_floor_ms = Some(msm_floor(state));
    }
    if r.json {
        println!("{}", serde_json::to_string(s)?);
    }
    Ok(r.json)
}

/// Runs a `tutti ceremony` command.
pub fn run(command: CeremonyCommand) -> Result<()> {
    match command {
        CeremonyCommand::Init {
            shards,
            shard_gates,
            ptau,
            out,
        } => init(shards, shard_gates, ptau.as_deref(), &out),
        CeremonyCommand::Contribute {
            input,
            out,
            no_verify,
            report,
        } => contribute(&input, &out, no_verify, &report),
        CeremonyCommand::Verify {
            input,
            transcript,
            ptau,
            srs,
            report,
        } => verify(
            &input,
            transcript.as_deref(),
            ptau.as_deref(),
            srs.as_deref(),
            &report,
        ),
        CeremonyCommand::Finalize {
            input,
            out,
            beacon,
            state_out,
            no_verify,
            report,
        } => finalize(
            &input,
            &out,
            beacon.as_deref(),
            state_out.as_deref(),
            no_verify,
            &report,
        ),
    }
}

fn init(shards: usize, shard_gates: usize, ptau: Option<&Path>, out: &Path) -> Result<()> {
    let state = match ptau {
        None => CeremonyState::init(shards, shard_gates)?,
        Some(path) => {
            let bytes = read_file(path, "powers-of-tau file")?;
            CeremonyState::from_ptau(&bytes, shards, shard_gates)
                .with_context(|| format!("cannot start from {}", path.display()))?
        }
    };
    let size = write_state(&state, out)?;
    println!(
        "wrote {} ({} shards, {} rows per shard, {} grid points, {:.1} MiB)",
        out.display(),
        shards,
        shard_gates,
        state.grid.len() + state.extra_y.len(),
        size as f64 / (1024.0 * 1024.0)
    );
    if let Some(d) = state.x_from_ptau {
        println!("  τ_X from the powers of tau with BLAKE3 {}", to_hex(&d));
        println!("  (contributions update τ_Y only; verify that file's own transcript)");
    }
    println!("  genesis hash  {}", to_hex(&state.genesis_hash()));
    Ok(())
}

fn contribute(input: &Path, out: &Path, no_verify: bool, r: &Report) -> Result<()> {
    let mut s = Summary::default();
    let state = load(input, &mut s)?;
    if !no_verify {
        s.verify_ms = Some(verify_state(&state, None, r.json)?);
    }
    let t = Instant::now();
    let (next, c) = with_bar(r.json, |p| state.contribute(&mut OsRng, p))?;
    s.contribute_ms = Some(ms(t));
    s.state_bytes = write_state(&next, out)?;
    describe(&next, &mut s);
    s.contribution_hash = Some(to_hex(&c.hash));
    if printed_json(&mut s, &next, r)? {
        return Ok(());
    }
    println!(
        "contribution {} added; wrote {}",
        next.contributions.len() - 1,
        out.display()
    );
    println!("  contribution hash  {}", to_hex(&c.hash));
    println!("  publish this hash: anyone can check that the transcript contains it.");
    println!("  your secrets were drawn from this machine's randomness and are gone.");
    Ok(())
}

fn verify(
    input: &Path,
    transcript: Option<&Path>,
    ptau: Option<&Path>,
    srs: Option<&Path>,
    r: &Report,
) -> Result<()> {
    let mut s = Summary::default();
    let state = load(input, &mut s)?;
    let ptau_bytes = ptau
        .map(|p| read_file(p, "powers-of-tau file"))
        .transpose()?;
    s.verify_ms = Some(verify_state(&state, ptau_bytes.as_deref(), r.json)?);
    if let Some(dir) = transcript {
        verify_steps(dir, &state, ptau_bytes.as_deref(), r.json)?;
    }
    if let Some(path) = srs {
        s.srs_id = Some(to_hex(&check_srs(&state, path, r.json)?));
    }
    if printed_json(&mut s, &state, r)? {
        return Ok(());
    }
    println!(
        "valid: {} contributions, {} shards, {} rows per shard",
        state.contributions.len(),
        state.shards,
        state.shard_gates
    );
    for (k, c) in state.contributions.iter().enumerate() {
        let kind = c
            .beacon
            .map(|b| format!("  (beacon {})", to_hex(&b)))
            .unwrap_or_default();
        println!("  contribution {k:>3}  {}{kind}", to_hex(&c.hash));
    }
    println!("  transcript hash   {}", s.transcript_hash);
    match (&s.ptau_digest, ptau) {
        (Some(d), Some(_)) => println!("  τ_X from the powers-of-tau file {d} (checked)"),
        (Some(d), None) => {
            println!("  τ_X from the powers-of-tau file with BLAKE3 {d}: pass --ptau to check it")
        }
        _ => {}
    }
    if let Some(id) = &s.srs_id {
        println!("  SRS file is this ceremony's (SRS id {id})");
    }
    Ok(())
}

fn finalize(
    input: &Path,
    out: &Path,
    beacon: Option<&str>,
    state_out: Option<&Path>,
    no_verify: bool,
    r: &Report,
) -> Result<()> {
    let mut s = Summary::default();
    let mut state = load(input, &mut s)?;
    if !no_verify {
        s.verify_ms = Some(verify_state(&state, None, r.json)?);
    }
    let t = Instant::now();
    if let Some(hex) = beacon {
        let value = parse_hex32(hex).map_err(|e| anyhow::anyhow!("--beacon: {e}"))?;
        state = with_bar(r.json, |p| state.apply_beacon(&value, p))?.0;
        if let Some(path) = state_out {
            write_state(&state, path)?;
        }
    }
    let srs = with_bar(r.json, |p| state.to_srs_with_progress(p))
        .context("the final state does not define a usable SRS")?;
    srs.write_file(out)
        .with_context(|| format!("writing the SRS to {}", out.display()))?;
    s.finalize_ms = Some(ms(t));
    describe(&state, &mut s);
    s.srs_bytes = std::fs::metadata(out).map(|m| m.len()).ok();
    s.srs_id = Some(to_hex(&srs.aggregator_part()?.g2.srs_id(state.shards)));
    if printed_json(&mut s, &state, r)? {
        return Ok(());
    }
    println!(
        "wrote {} ({} shards, {} rows per shard) from {} contributions",
        out.display(),
        state.shards,
        state.shard_gates,
        state.contributions.len()
    );
    println!("  transcript hash  {}", s.transcript_hash);
    println!("  SRS id           {}", s.srs_id.as_deref().unwrap_or(""));
    Ok(())
}
