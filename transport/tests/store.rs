//! Tests of the aggregator's on-disk store: round trips, ordering, reopening, bad files and
//! survival of a writer killed with SIGKILL.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tutti_crypto::identity::WorkerId;
use tutti_protocol::aggregator::journal::{Journal, JournalEntry};
use tutti_transport::TransportError;
use tutti_transport::store::{JobKey, Store};

/// Set in the child process that plays the killed writer: the store file to write.
const WRITER_ENV: &str = "TUTTI_STORE_TEST_WRITER";
/// Entries the writer appends before saying it is ready.
const WRITER_READY_AFTER: u64 = 20;
/// What the writer prints once those entries are durable.
const READY: &str = "tutti-store-writer-ready";

fn key(n: u8) -> JobKey {
    [n; 32]
}

/// A distinct entry for sequence number `i`.
fn entry(i: u64) -> JournalEntry {
    match i % 3 {
        0 => JournalEntry::Timeout {
            shard: i as u32,
            round: (i % 7) as u8,
        },
        1 => JournalEntry::Message {
            from: WorkerId([(i % 251) as u8; 32]),
            wire: i.to_be_bytes().to_vec(),
        },
        _ => JournalEntry::WorkerLost {
            worker: WorkerId([(i % 253) as u8; 32]),
        },
    }
}

fn open(path: &Path) -> Store {
    match Store::open(path) {
        Ok(s) => s,
        Err(e) => panic!("open {}: {e}", path.display()),
    }
}

#[test]
fn jobs_round_trip_in_order_with_finished_flags() -> Result<(), TransportError> {
    let dir = tempfile::tempdir()?;
    let store = open(&dir.path().join("store.redb"));
    assert!(store.jobs()?.is_empty());
    // Ids deliberately not in sorted order: the order is submission order.
    store.put_job(&key(9), b"nine")?;
    store.put_job(&key(1), b"one")?;
    store.put_job(&key(5), b"")?;
    store.put_outcome(&key(1), b"proof")?;
    // Re-putting keeps the position and replaces the record.
    store.put_job(&key(9), b"nine again")?;
    assert_eq!(
        store.jobs()?,
        vec![
            (key(9), b"nine again".to_vec(), false),
            (key(1), b"one".to_vec(), true),
            (key(5), Vec::new(), false),
        ]
    );
    assert_eq!(store.job(&key(1))?, Some(b"one".to_vec()));
    assert_eq!(store.job(&key(5))?, Some(Vec::new()));
    assert_eq!(store.job(&key(2))?, None);

    // Still there, in order, after reopening.
    let path = dir.path().join("store.redb");
    drop(store);
    let store = open(&path);
    assert_eq!(store.path(), path.display().to_string());
    let ids: Vec<JobKey> = store.jobs()?.into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids, vec![key(9), key(1), key(5)]);
    store.put_job(&key(0), b"zero")?;
    let ids: Vec<JobKey> = store.jobs()?.into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids, vec![key(9), key(1), key(5), key(0)]);
    Ok(())
}

#[test]
fn journals_of_two_jobs_are_kept_apart_and_in_order() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = open(&dir.path().join("store.redb"));
    let mut a = store.journal(&key(1))?;
    let mut b = store.journal(&key(2))?;
    for i in 0..10 {
        a.append(&entry(i))?;
        b.append(&entry(100 + i))?;
    }
    assert_eq!(a.next_sequence(), 10);
    assert_eq!(
        store.entries(&key(1))?,
        (0..10).map(entry).collect::<Vec<_>>()
    );
    assert_eq!(
        store.entries(&key(2))?,
        (100..110).map(entry).collect::<Vec<_>>()
    );
    assert!(store.entries(&key(3))?.is_empty());
    Ok(())
}

#[test]
fn journal_made_after_reopening_continues_the_sequence() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.redb");
    {
        let store = open(&path);
        let mut j = store.journal(&key(7))?;
        for i in 0..5 {
            j.append(&entry(i))?;
        }
    }
    let store = open(&path);
    let mut j = store.journal(&key(7))?;
    assert_eq!(j.next_sequence(), 5);
    for i in 5..8 {
        j.append(&entry(i))?;
    }
    assert_eq!(
        store.entries(&key(7))?,
        (0..8).map(entry).collect::<Vec<_>>()
    );
    Ok(())
}

#[test]
fn two_journals_of_one_job_do_not_overwrite_each_other() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = open(&dir.path().join("store.redb"));
    let mut first = store.journal(&key(4))?;
    let mut second = store.journal(&key(4))?;
    first.append(&entry(0))?;
    assert!(second.append(&entry(1)).is_err());
    assert_eq!(store.entries(&key(4))?, vec![entry(0)]);
    Ok(())
}

#[test]
fn outcome_round_trip() -> Result<(), TransportError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.redb");
    let store = open(&path);
    store.put_job(&key(3), b"job")?;
    assert_eq!(store.outcome(&key(3))?, None);
    store.put_outcome(&key(3), b"error: shard 2 timed out")?;
    assert_eq!(
        store.outcome(&key(3))?,
        Some(b"error: shard 2 timed out".to_vec())
    );
    store.put_outcome(&key(3), b"proof bytes")?;
    drop(store);
    let store = open(&path);
    assert_eq!(store.outcome(&key(3))?, Some(b"proof bytes".to_vec()));
    assert_eq!(store.jobs()?, vec![(key(3), b"job".to_vec(), true)]);
    Ok(())
}

#[test]
fn a_file_of_garbage_is_a_store_error() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("garbage.redb");
    // xorshift64: random enough bytes without depending on a random number crate's API.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..65_536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&path, bytes)?;
    match Store::open(&path) {
        Err(TransportError::Store { path: p, reason }) => {
            assert_eq!(p, path.display().to_string());
            let message = TransportError::Store {
                path: p,
                reason: reason.clone(),
            }
            .to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(reason.contains("not a tutti store"), "{reason}");
        }
        Err(other) => panic!("expected a store error, got {other}"),
        Ok(_) => panic!("a file of garbage opened as a store"),
    }
    Ok(())
}

#[test]
fn a_path_in_a_missing_directory_is_a_store_error() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("no such dir").join("store.redb");
    match Store::open(&path) {
        Err(TransportError::Store { path: p, reason }) => {
            assert_eq!(p, path.display().to_string());
            assert!(reason.contains("directory"), "{reason}");
        }
        Err(other) => panic!("expected a store error, got {other}"),
        Ok(_) => panic!("a store opened inside a missing directory"),
    }
    Ok(())
}

#[test]
fn a_store_open_elsewhere_is_refused() -> Result<(), TransportError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.redb");
    let _held = open(&path);
    match Store::open(&path) {
        Err(TransportError::Store { reason, .. }) => {
            assert!(reason.contains("in use"), "{reason}");
        }
        Err(other) => panic!("expected a store error, got {other}"),
        Ok(_) => panic!("the store opened twice"),
    }
    Ok(())
}

/// Kills the writer if the test ends early, so it never outlives the test.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The writer half of `entries_survive_a_writer_killed_with_sigkill`: does nothing unless
/// run as that test's child process.
#[test]
fn killed_writer_child() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::var_os(WRITER_ENV) else {
        return Ok(());
    };
    let store = Store::open(Path::new(&path))?;
    let mut journal = store.journal(&key(42))?;
    let mut i = 0;
    while i < WRITER_READY_AFTER {
        journal.append(&entry(i))?;
        i += 1;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{READY}")?;
    out.flush()?;
    drop(out);
    // Keep writing until killed; give up after a while in case the parent is gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        journal.append(&entry(i))?;
        i += 1;
    }
    Ok(())
}

#[test]
fn entries_survive_a_writer_killed_with_sigkill() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.redb");
    let child = Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "killed_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WRITER_ENV, &path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().ok_or("the writer has no stdout")?;
    let mut ready = false;
    for line in BufReader::new(stdout).lines() {
        if line?.contains(READY) {
            ready = true;
            break;
        }
    }
    assert!(ready, "the writer ended without saying it was ready");
    // Let it get into the middle of more appends, then SIGKILL it.
    std::thread::sleep(Duration::from_millis(30));
    child.0.kill()?;
    child.0.wait()?;
    drop(child);

    let store = open(&path);
    let entries = store.entries(&key(42))?;
    assert!(
        entries.len() as u64 >= WRITER_READY_AFTER,
        "only {} entries survived",
        entries.len()
    );
    let expected: Vec<JournalEntry> = (0..entries.len() as u64).map(entry).collect();
    assert_eq!(entries, expected);
    // The journal carries on after the survivors.
    let mut journal = store.journal(&key(42))?;
    assert_eq!(journal.next_sequence(), entries.len() as u64);
    journal.append(&entry(entries.len() as u64))?;
    assert_eq!(store.entries(&key(42))?.len(), entries.len() + 1);
    Ok(())
}
