//! A child `tutti` process with its output collected, and helpers to run one.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::ChaosError;

/// Locks a mutex, going on with the data even if a holder panicked.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A child `tutti` process whose stdout and stderr are collected line by line. Dropping
/// it kills it (`SIGKILL`).
pub(super) struct Proc {
    pub(super) name: String,
    pub(super) child: Child,
    pub(super) stdout: Arc<Mutex<Vec<String>>>,
    pub(super) stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
    pub(super) status: Option<ExitStatus>,
    /// Whether this harness killed it (rather than it exiting on its own).
    pub(super) killed: bool,
}

/// Collects the lines of `pipe` into `sink` on a thread of its own.
fn collect(pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<String>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            lock(&sink).push(line);
        }
    })
}

impl Proc {
    pub(super) fn start(bin: &Path, name: &str, args: &[String]) -> Result<Proc, ChaosError> {
        let mut child = Command::new(bin)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                ChaosError::Scenario(format!("cannot start {} ({name}): {e}", bin.display()))
            })?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect(out, stdout.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(collect(err, stderr.clone()));
        }
        Ok(Proc {
            name: name.to_string(),
            child,
            stdout,
            stderr,
            readers,
            status: None,
            killed: false,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(super) fn count(&self, needle: &str) -> usize {
        lock(&self.stderr)
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Whether it has exited (reaping it).
    pub(super) fn exited(&mut self) -> bool {
        if self.status.is_none()
            && let Ok(Some(s)) = self.child.try_wait()
        {
            self.status = Some(s);
        }
        self.status.is_some()
    }

    /// Waits for its pipes to close (after it exited), so every line is collected.
    pub(super) fn drain(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    /// `SIGKILL` (if still running), reap, and collect the rest of its output.
    pub(super) fn kill(&mut self) {
        if !self.exited() {
            self.killed = true;
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        self.drain();
    }

    pub(super) fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    pub(super) fn stderr_tail(&self, n: usize) -> String {
        let log = lock(&self.stderr);
        let from = log.len().saturating_sub(n);
        log[from..].join("\n")
    }

    pub(super) fn panicked(&self) -> Option<String> {
        lock(&self.stderr)
            .iter()
            .find(|l| l.contains("panicked"))
            .cloned()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            // A stopped process dies of SIGKILL too.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `tutti ARGS` to completion; its trimmed stdout, or an error with its stderr.
pub(super) fn run_ok(bin: &Path, args: &[String]) -> Result<String, ChaosError> {
    let out = Command::new(bin)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ChaosError::Scenario(format!("cannot run {}: {e}", bin.display())))?;
    if !out.status.success() {
        return Err(ChaosError::Scenario(format!(
            "tutti {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `path` as an argument.
pub(super) fn arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Strings as arguments.
pub(super) fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
