//! `tutti`: command-line front end of the tutti distributed prover.
//!
//! A thin layer over the crates: argument parsing, files, timing, progress and output.

mod bench;
mod blame;
mod job;
mod setup;
mod verify;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Distributed, fault-tolerant Plonk prover.
#[derive(Parser, Debug)]
#[command(name = "tutti", version, about, long_about = None)]
struct Cli {
    /// Log filter (also read from RUST_LOG), e.g. "info" or "tutti_protocol=debug".
    #[arg(long, global = true, default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

/// Built-in circuits.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum CircuitKind {
    /// Additions and multiplications with copy constraints across shards.
    Random,
    /// Batches of MiMC-hashed payment transfers, state wired from shard to shard.
    Rollup,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Prove the built-in rollup circuit in-process and print a summary.
    Demo {
        /// Number of shards (workers).
        #[arg(long, default_value_t = 8)]
        shards: usize,
        /// Rows per shard (a power of two).
        #[arg(long, default_value_t = 4096)]
        shard_gates: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Generate a structured reference string (SRS) file.
    Setup {
        /// Number of shards M (a power of two).
        #[arg(long)]
        shards: usize,
        /// Rows per shard T (a power of two, at least 16).
        #[arg(long)]
        shard_gates: usize,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// INSECURE: derive the secrets from this public seed (development only).
        #[arg(long)]
        seed: Option<String>,
    },
    /// Prove a built-in circuit with in-process workers.
    Prove {
        /// Which circuit.
        #[arg(long, value_enum)]
        circuit: CircuitKind,
        /// Number of shards M.
        #[arg(long)]
        shards: usize,
        /// Rows per shard T.
        #[arg(long)]
        shard_gates: usize,
        /// SRS file made by `tutti setup` for the same M and at least T.
        #[arg(long)]
        srs: PathBuf,
        /// Where to write the proof (with its public inputs).
        #[arg(long)]
        out: PathBuf,
        /// Where to write the verifying key.
        #[arg(long)]
        vk_out: PathBuf,
        /// Seed of the circuit's witness.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Idle workers ready to take over a shard.
        #[arg(long, default_value_t = 0)]
        spares: usize,
        /// Workers proving each shard; their messages must agree round by round.
        #[arg(long, default_value_t = 1)]
        replicas: usize,
        /// Make the first worker of a shard misbehave: SHARD:FAULT[@ROUND], repeatable.
        /// Faults: crash, stall, wrong-commitment, wrong-evaluation, bad-opening,
        /// wrong-product, equivocate, bad-signature, replay.
        #[arg(long, value_parser = clap::value_parser!(tutti_protocol::runner::FaultSpec))]
        inject: Vec<tutti_protocol::runner::FaultSpec>,
        /// Write a blame certificate file here for every worker proven faulty.
        #[arg(long)]
        blame_out: Option<PathBuf>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Work with blame certificates.
    Blame {
        #[command(subcommand)]
        command: BlameCommand,
    },
    /// Verify a proof file against a verifying key.
    Verify {
        /// Verifying key file.
        #[arg(long)]
        vk: PathBuf,
        /// Proof file.
        #[arg(long)]
        proof: PathBuf,
    },
    /// Measure one worker, the aggregator and the verifier against a one-machine prover.
    Bench {
        /// Number of shards M.
        #[arg(long, default_value_t = 8)]
        shards: usize,
        /// Rows per shard T.
        #[arg(long, default_value_t = 4096)]
        shard_gates: usize,
        /// Print one JSON object per measured point.
        #[arg(long)]
        json: bool,
        /// Measure M = 1, 2, 4, 8, 16, 32 at the given T.
        #[arg(long)]
        sweep: bool,
        /// Runs of each N-sized job; figures are minima over them.
        #[arg(long, default_value_t = 1)]
        reps: usize,
        /// Internal: prove one shard from this file and print its peak memory.
        #[arg(long, hide = true)]
        worker_child: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum BlameCommand {
    /// Check a blame certificate offline: exit 0 when it proves the fault, 1 when not.
    Verify {
        /// The certificate file.
        cert: PathBuf,
        /// The verifying key of the circuit.
        #[arg(long)]
        vk: PathBuf,
    },
}

fn init_logging(filter: &str) {
    let env = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(env))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    let result = match cli.command {
        Command::Demo {
            shards,
            shard_gates,
            json,
        } => job::demo(shards, shard_gates, json),
        Command::Setup {
            shards,
            shard_gates,
            out,
            seed,
        } => setup::run(shards, shard_gates, &out, seed.as_deref()),
        Command::Prove {
            circuit,
            shards,
            shard_gates,
            srs,
            out,
            vk_out,
            seed,
            spares,
            replicas,
            inject,
            blame_out,
            json,
        } => job::prove_command(job::ProveArgs {
            circuit,
            shards,
            shard_gates,
            srs: &srs,
            out: &out,
            vk_out: &vk_out,
            seed,
            spares,
            replicas,
            inject,
            blame_out: blame_out.as_deref(),
            json,
        }),
        Command::Blame {
            command: BlameCommand::Verify { cert, vk },
        } => return blame::verify(&cert, &vk),
        Command::Verify { vk, proof } => return verify::run(&vk, &proof),
        Command::Bench {
            shards,
            shard_gates,
            json,
            sweep,
            reps,
            worker_child,
        } => bench::run(bench::BenchArgs {
            shards,
            shard_gates,
            json,
            sweep,
            reps,
            worker_child,
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
