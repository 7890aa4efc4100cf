//! `tutti`: command-line front end of the tutti distributed prover.
//!
//! A thin layer over the crates: argument parsing, files, timing, progress and output.

mod bench;
mod blame;
mod ceremony;
mod chaos;
mod compile;
mod demo;
mod export;
mod inputs;
mod job;
mod net;
mod setup;
mod symbols;
mod trust;
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
    /// Prove the built-in rollup circuit with an aggregator and workers over QUIC on
    /// loopback, verify it, and print a summary.
    Demo {
        /// Number of shards (one worker each).
        #[arg(long, visible_alias = "workers", default_value_t = 8)]
        shards: usize,
        /// Rows per shard (a power of two).
        #[arg(long, default_value_t = 4096)]
        shard_gates: usize,
        /// Idle workers ready to take over a shard.
        #[arg(long, default_value_t = 0)]
        spares: usize,
        /// Reed–Solomon code the shard inputs over the workers, "k+m" (needs k+m+1
        /// workers with spares); the aggregator then keeps no witness after round 1.
        #[arg(long, value_parser = tutti_transport::config::parse_erasure)]
        erasure: Option<tutti_crypto::erasure::ErasureParams>,
        /// Run everything in this process without sockets (the sans-IO runner).
        #[arg(long)]
        in_process: bool,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Attack tutti: seeded scenarios with Byzantine workers and network faults,
    /// simulated (thousands a minute) or as real processes (`--real`), every invariant
    /// checked after each run. Exit 2 when any invariant broke.
    Chaos(chaos::ChaosArgs),
    /// Make keys: an ed25519 identity (worker or client), or the aggregator's certificate.
    Keygen {
        #[command(subcommand)]
        command: KeygenCommand,
    },
    /// Run an aggregator: accept workers and jobs over QUIC until stopped (Ctrl-C).
    Aggregator {
        /// Its TOML configuration (see the README).
        #[arg(long)]
        config: PathBuf,
    },
    /// Run a worker: prove the shards an aggregator assigns until stopped (Ctrl-C).
    Worker {
        /// Its TOML configuration (see the README).
        #[arg(long)]
        config: PathBuf,
    },
    /// Submit a job to an aggregator, wait for the proof, verify it and write it.
    Submit(net::SubmitArgs),
    /// Generate a structured reference string (SRS) file in a single-party setup (for a
    /// setup that needs no single trusted party, see `tutti ceremony`).
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
    /// A multi-party setup ceremony for the SRS: init, contribute, verify, finalize.
    Ceremony {
        #[command(subcommand)]
        command: ceremony::CeremonyCommand,
    },
    /// Compile a circom circuit (`.r1cs`) for M shards: writes the compiled circuit and
    /// its verifying key, and prints its rows next to snarkjs's PLONK gate count.
    Compile(compile::CompileArgs),
    /// Compute a circom witness from circom's WebAssembly and an input.json, as `snarkjs
    /// wtns calculate` does, check it against the circuit if one is given, and write it
    /// as a `.wtns` file.
    Witness(compile::WitnessArgs),
    /// Prove a circuit with in-process workers: a compiled one with a circom witness, or
    /// a built-in one.
    Prove(job::ProveArgs),
    /// Export for Ethereum: a Solidity verifier of a verifying key, or the calldata of a
    /// proof.
    Export {
        #[command(subcommand)]
        command: export::ExportCommand,
    },
    /// Work with blame certificates.
    Blame {
        #[command(subcommand)]
        command: BlameCommand,
    },
    /// Verify a proof file against a verifying key (prints the key's digest and SRS id).
    Verify {
        /// Verifying key file.
        #[arg(long)]
        vk: PathBuf,
        /// Proof file.
        #[arg(long)]
        proof: PathBuf,
        /// Refuse (exit 1) unless the verifying key's Keccak-256 digest is this (64 hex
        /// digits).
        #[arg(long, value_name = "HEX", value_parser = trust::parse_hex32)]
        vk_digest: Option<[u8; 32]>,
        /// Refuse (exit 1) unless the verifying key was made with the SRS of this
        /// identity (64 hex digits).
        #[arg(long, value_name = "HEX", value_parser = trust::parse_hex32)]
        srs_id: Option<[u8; 32]>,
        /// The statement to check the proof against, as snarkjs's `public.json` (a JSON
        /// array of decimal strings); by default the one the proof file carries.
        #[arg(long, value_name = "public.json")]
        public: Option<PathBuf>,
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
enum KeygenCommand {
    /// A new ed25519 identity for a worker or a client; prints its id.
    Identity {
        /// The identity file to write (mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// The aggregator's self-signed TLS certificate and key; prints the fingerprint
    /// workers pin.
    Aggregator {
        /// Certificate file to write (PEM).
        #[arg(long)]
        cert: PathBuf,
        /// Key file to write (PEM, mode 0600).
        #[arg(long)]
        key: PathBuf,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
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
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::new(env))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints a table: keep the log to warnings unless asked otherwise.
    let quiet_demo = matches!(cli.command, Command::Demo { json: false, .. }) && cli.log == "info";
    // Chaos runs provoke every warning there is on purpose: only errors, unless asked.
    let quiet_chaos = matches!(cli.command, Command::Chaos(_)) && cli.log == "info";
    init_logging(if quiet_chaos {
        "error"
    } else if quiet_demo {
        "warn"
    } else {
        &cli.log
    });
    let result = match cli.command {
        Command::Demo {
            shards,
            shard_gates,
            spares,
            erasure,
            in_process,
            json,
        } => {
            if in_process {
                job::demo(shards, shard_gates, json)
            } else {
                demo::run(shards, shard_gates, spares, erasure, json)
            }
        }
        Command::Keygen {
            command: KeygenCommand::Identity { out, force },
        } => net::keygen_identity(&out, force),
        Command::Keygen {
            command: KeygenCommand::Aggregator { cert, key, force },
        } => net::keygen_aggregator(&cert, &key, force),
        Command::Aggregator { config } => net::aggregator(&config),
        Command::Chaos(args) => chaos::run(args),
        Command::Worker { config } => net::worker(&config),
        Command::Submit(args) => net::submit(args),
        Command::Setup {
            shards,
            shard_gates,
            out,
            seed,
        } => setup::run(shards, shard_gates, &out, seed.as_deref()),
        Command::Ceremony { command } => ceremony::run(command),
        Command::Compile(args) => compile::run(&args),
        Command::Witness(args) => compile::witness(&args),
        Command::Prove(args) => job::prove_command(args),
        Command::Export { command } => export::run(command),
        Command::Blame {
            command: BlameCommand::Verify { cert, vk },
        } => return blame::verify(&cert, &vk),
        Command::Verify {
            vk,
            proof,
            vk_digest,
            srs_id,
            public,
        } => return verify::run(&vk, &proof, vk_digest, srs_id, public.as_deref()),
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
