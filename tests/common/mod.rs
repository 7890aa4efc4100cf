//! Helpers shared by the binary's integration tests.

use std::process::{Command, Output};

/// Runs the `tutti` binary with `args` (logs at warn level) and collects its output.
pub fn tutti(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run tutti")
}
