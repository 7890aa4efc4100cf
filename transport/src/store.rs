//! The aggregator's journal store: one crash-safe file on disk, kept with
//! [redb](https://docs.rs/redb) (embedded, pure Rust, copy-on-write B-trees).
//!
//! The store holds every job the aggregator accepted, the coordinator journal of each job
//! (the inputs that changed the coordinator's state, see
//! [`tutti_protocol::aggregator::journal`]), and each finished job's outcome. A restarted
//! aggregator reads the jobs back, replays the journal of every unfinished job into a fresh
//! coordinator and carries on where it stopped.
//!
//! # Durability
//!
//! Every write ([`Store::put_job`], [`Store::put_outcome`] and each
//! [`Journal::append`] of a [`DiskJournal`]) is its own redb write transaction committed with
//! redb's default durability, which fsyncs the file before the commit returns. So an entry
//! reported written survives the process being killed (SIGKILL) or the machine losing power:
//! on the next [`Store::open`] redb recovers to the last committed transaction, which holds
//! every entry whose `append` returned `Ok`. An append that was cut off midway is absent,
//! never half-written.
//!
//! The file is locked while a [`Store`] has it open, so a second aggregator process pointed
//! at the same file is refused instead of corrupting it.
//!
//! # Tables
//!
//! | table       | key                              | value                     |
//! |-------------|----------------------------------|---------------------------|
//! | `jobs`      | submission sequence number (u64) | job id (32 bytes) ‖ record |
//! | `job_index` | job id (32 bytes)                | submission sequence number |
//! | `journal`   | (job id, entry sequence number)  | [`JournalEntry::to_bytes`] |
//! | `outcomes`  | job id (32 bytes)                | outcome bytes             |
//!
//! Job records and outcomes are opaque bytes encoded by the caller. Journal entries of a job
//! are numbered from 0 in append order; the tuple key keeps each job's entries together and
//! in order.

use crate::error::TransportError;
use redb::{
    Builder, CommitError, Database, DatabaseError, ReadableDatabase, ReadableTable, StorageError,
    TableDefinition, TableError, TransactionError,
};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use tutti_protocol::ProtocolError;
use tutti_protocol::aggregator::journal::{Journal, JournalEntry};

/// A job id: 32 bytes chosen by whoever submits the job.
pub type JobKey = [u8; 32];

/// Submission sequence number → job id ‖ record.
const JOBS: TableDefinition<u64, &[u8]> = TableDefinition::new("jobs");
/// Job id → submission sequence number (its key in `jobs`).
const JOB_INDEX: TableDefinition<&[u8; 32], u64> = TableDefinition::new("job_index");
/// (job id, entry sequence number) → encoded journal entry.
const JOURNAL: TableDefinition<(&[u8; 32], u64), &[u8]> = TableDefinition::new("journal");
/// Job id → outcome bytes.
const OUTCOMES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("outcomes");

/// The aggregator's on-disk store (see the [module documentation](self)). Cloning is cheap:
/// every clone shares the one open database.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Turns a redb error met while doing `what` into a [`TransportError::Store`].
trait Ctx<T> {
    fn ctx(self, store: &Store, what: &str) -> Result<T, TransportError>;
}

impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn ctx(self, store: &Store, what: &str) -> Result<T, TransportError> {
        self.map_err(|e| store.error(format!("cannot {what}: {e}")))
    }
}

/// The job id as lowercase hex, for messages.
fn hex(job: &JobKey) -> String {
    job.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What a failed open means, in words a person can act on.
fn open_reason(err: DatabaseError) -> String {
    match err {
        DatabaseError::DatabaseAlreadyOpen => "the store is in use by another aggregator process \
             (or is already open in this one); stop that aggregator or give this one another \
             store path"
            .to_string(),
        DatabaseError::LockProtocolMismatch => "the store is in use by another process that runs \
             a different version of the storage library; stop it or give this aggregator \
             another store path"
            .to_string(),
        DatabaseError::UpgradeRequired(version) => format!(
            "the file uses an old storage format (version {version}) that this aggregator \
             cannot read; finish its jobs with the aggregator that wrote it, or move the file \
             away to start an empty store"
        ),
        DatabaseError::Storage(StorageError::Io(e)) => match e.kind() {
            std::io::ErrorKind::InvalidData => format!(
                "the file is not a tutti store (or is corrupted): {e}; move it away or give \
                 another store path"
            ),
            std::io::ErrorKind::NotFound => {
                format!("cannot create the store file: {e}; check that its directory exists")
            }
            std::io::ErrorKind::PermissionDenied => format!(
                "cannot open the store file: {e}; check the permissions of the file and its \
                 directory"
            ),
            _ => format!("cannot open the store file: {e}"),
        },
        DatabaseError::Storage(StorageError::Corrupted(msg)) => format!(
            "the file is not a tutti store (or is corrupted): {msg}; move it away or give \
             another store path"
        ),
        other => format!("cannot open the store: {other}"),
    }
}

impl Store {
    /// Opens the store at `path`, creating the file (and its tables) if it is missing or
    /// empty. An existing file has its integrity checked and, after a crash, is recovered to
    /// its last committed write.
    ///
    /// Fails with [`TransportError::Store`] when the directory does not exist, the file is
    /// not a tutti store (or is corrupted), or another aggregator process holds it open.
    pub fn open(path: &Path) -> Result<Store, TransportError> {
        let shown = path.display().to_string();
        let fail = |reason: String| TransportError::Store {
            path: shown.clone(),
            reason,
        };
        // The integrity check makes a damaged file an error instead of a panic inside redb;
        // the unwind guard covers what the check cannot (a panic would otherwise take the
        // aggregator down on a bad file it could simply report).
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut builder = Builder::new();
            builder.set_check_integrity_on_open(true);
            builder.create(path)
        }));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(fail(open_reason(e))),
            Err(_) => {
                return Err(fail(
                    "the file is not a tutti store (or is corrupted): the storage library \
                     failed while reading it; move it away or give another store path"
                        .to_string(),
                ));
            }
        };
        let store = Store {
            db: Arc::new(db),
            path: shown,
        };
        store.create_tables()?;
        Ok(store)
    }

    /// Creates the four tables if they do not exist yet, and checks that existing ones have
    /// the expected types.
    fn create_tables(&self) -> Result<(), TransportError> {
        let txn = self.begin_write("create the tables")?;
        for result in [
            txn.open_table(JOBS).map(drop),
            txn.open_table(JOB_INDEX).map(drop),
            txn.open_table(JOURNAL).map(drop),
            txn.open_table(OUTCOMES).map(drop),
        ] {
            result.map_err(|e| match e {
                TableError::TableTypeMismatch { .. }
                | TableError::TableIsMultimap(_)
                | TableError::TypeDefinitionChanged { .. } => self.error(format!(
                    "the file is not a tutti store (or is corrupted): {e}; move it away or \
                     give another store path"
                )),
                other => self.error(format!("cannot create the tables: {other}")),
            })?;
        }
        self.commit(txn, "create the tables")
    }

    /// A [`TransportError::Store`] for this store.
    fn error(&self, reason: impl Into<String>) -> TransportError {
        TransportError::Store {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    fn begin_write(&self, what: &str) -> Result<redb::WriteTransaction, TransportError> {
        self.db
            .begin_write()
            .map_err(|e: TransactionError| self.error(format!("cannot {what}: {e}")))
    }

    fn begin_read(&self, what: &str) -> Result<redb::ReadTransaction, TransportError> {
        self.db
            .begin_read()
            .map_err(|e: TransactionError| self.error(format!("cannot {what}: {e}")))
    }

    fn commit(&self, txn: redb::WriteTransaction, what: &str) -> Result<(), TransportError> {
        txn.commit().map_err(|e: CommitError| {
            self.error(format!(
                "cannot {what}: the write was not committed: {e}; check free disk space and \
                 that the disk is healthy"
            ))
        })
    }

    /// Splits a `jobs` value (job id ‖ record) found at sequence number `seq`.
    fn split_job(&self, seq: u64, value: &[u8]) -> Result<(JobKey, Vec<u8>), TransportError> {
        match value.split_first_chunk::<32>() {
            Some((id, record)) => Ok((*id, record.to_vec())),
            None => Err(self.error(format!(
                "the file is not a tutti store (or is corrupted): job number {seq} holds {} \
                 bytes, fewer than a job id",
                value.len()
            ))),
        }
    }

    /// Records a job (opaque bytes encoded by the caller). Jobs keep submission order:
    /// a new id goes after every job recorded so far; re-putting an id that is already
    /// recorded replaces its record but keeps its position. Durable when this returns.
    pub fn put_job(&self, job: &JobKey, record: &[u8]) -> Result<(), TransportError> {
        let what = format!("record job {}", hex(job));
        let txn = self.begin_write(&what)?;
        {
            let mut index = txn.open_table(JOB_INDEX).ctx(self, &what)?;
            let mut jobs = txn.open_table(JOBS).ctx(self, &what)?;
            let existing = index.get(job).ctx(self, &what)?.map(|g| g.value());
            let seq = match existing {
                Some(seq) => seq,
                None => {
                    let last = jobs.last().ctx(self, &what)?.map(|(k, _)| k.value());
                    match last {
                        Some(last) => last.checked_add(1).ok_or_else(|| {
                            self.error(format!("cannot {what}: the job numbers are exhausted"))
                        })?,
                        None => 0,
                    }
                }
            };
            let mut value = Vec::with_capacity(32 + record.len());
            value.extend_from_slice(job);
            value.extend_from_slice(record);
            jobs.insert(seq, value.as_slice()).ctx(self, &what)?;
            index.insert(job, seq).ctx(self, &what)?;
        }
        self.commit(txn, &what)
    }

    /// Every job recorded, in submission order: (id, record bytes, finished?) where finished
    /// means an outcome has been stored for it.
    pub fn jobs(&self) -> Result<Vec<(JobKey, Vec<u8>, bool)>, TransportError> {
        let what = "read the jobs";
        let txn = self.begin_read(what)?;
        let jobs = txn.open_table(JOBS).ctx(self, what)?;
        let outcomes = txn.open_table(OUTCOMES).ctx(self, what)?;
        let mut out = Vec::new();
        for item in jobs.iter().ctx(self, what)? {
            let (k, v) = item.ctx(self, what)?;
            let (id, record) = self.split_job(k.value(), v.value())?;
            let finished = outcomes.get(&id).ctx(self, what)?.is_some();
            out.push((id, record, finished));
        }
        Ok(out)
    }

    /// The record of one job, or `None` if the job was never recorded.
    pub fn job(&self, job: &JobKey) -> Result<Option<Vec<u8>>, TransportError> {
        let what = format!("read job {}", hex(job));
        let txn = self.begin_read(&what)?;
        let index = txn.open_table(JOB_INDEX).ctx(self, &what)?;
        let Some(seq) = index.get(job).ctx(self, &what)?.map(|g| g.value()) else {
            return Ok(None);
        };
        let jobs = txn.open_table(JOBS).ctx(self, &what)?;
        let Some(value) = jobs.get(seq).ctx(self, &what)? else {
            return Err(self.error(format!(
                "the file is not a tutti store (or is corrupted): job {} is indexed at number \
                 {seq}, which holds nothing",
                hex(job)
            )));
        };
        let (id, record) = self.split_job(seq, value.value())?;
        if id != *job {
            return Err(self.error(format!(
                "the file is not a tutti store (or is corrupted): job {} is indexed at number \
                 {seq}, which holds job {}",
                hex(job),
                hex(&id)
            )));
        }
        Ok(Some(record))
    }

    /// A journal for one job that appends to this store; it implements
    /// [`Journal`]. Its entries are numbered after those already stored for the job, so a
    /// journal made after a restart continues the job's sequence.
    ///
    /// Make one journal per job at a time: an append that finds its sequence number taken
    /// (because another journal of the same job appended first) fails rather than
    /// overwriting.
    pub fn journal(&self, job: &JobKey) -> Result<DiskJournal, TransportError> {
        let what = format!("open the journal of job {}", hex(job));
        let txn = self.begin_read(&what)?;
        let table = txn.open_table(JOURNAL).ctx(self, &what)?;
        let last = table
            .range((job, 0)..=(job, u64::MAX))
            .ctx(self, &what)?
            .next_back()
            .transpose()
            .ctx(self, &what)?
            .map(|(k, _)| k.value().1);
        let next = match last {
            Some(last) => last.checked_add(1).ok_or_else(|| {
                self.error(format!("cannot {what}: the entry numbers are exhausted"))
            })?,
            None => 0,
        };
        Ok(DiskJournal {
            store: self.clone(),
            job: *job,
            next,
        })
    }

    /// Every journal entry of a job, in append order, decoded with
    /// [`JournalEntry::from_bytes`]. An entry that does not decode is a
    /// [`TransportError::Store`] naming the job and the entry's sequence number.
    pub fn entries(&self, job: &JobKey) -> Result<Vec<JournalEntry>, TransportError> {
        let what = format!("read the journal of job {}", hex(job));
        let txn = self.begin_read(&what)?;
        let table = txn.open_table(JOURNAL).ctx(self, &what)?;
        let mut out = Vec::new();
        for item in table.range((job, 0)..=(job, u64::MAX)).ctx(self, &what)? {
            let (k, v) = item.ctx(self, &what)?;
            let seq = k.value().1;
            let entry = JournalEntry::from_bytes(v.value()).map_err(|e| {
                self.error(format!(
                    "journal entry {seq} of job {} does not decode: {e}; the file is corrupted \
                     or was written by an incompatible aggregator version",
                    hex(job)
                ))
            })?;
            out.push(entry);
        }
        Ok(out)
    }

    /// Stores the job's outcome (opaque bytes: a proof or an error), marking the job
    /// finished. Replaces an outcome stored before. Durable when this returns.
    pub fn put_outcome(&self, job: &JobKey, outcome: &[u8]) -> Result<(), TransportError> {
        let what = format!("store the outcome of job {}", hex(job));
        let txn = self.begin_write(&what)?;
        {
            let mut table = txn.open_table(OUTCOMES).ctx(self, &what)?;
            table.insert(job, outcome).ctx(self, &what)?;
        }
        self.commit(txn, &what)
    }

    /// The job's outcome, or `None` while it has none (unfinished or never recorded).
    pub fn outcome(&self, job: &JobKey) -> Result<Option<Vec<u8>>, TransportError> {
        let what = format!("read the outcome of job {}", hex(job));
        let txn = self.begin_read(&what)?;
        let table = txn.open_table(OUTCOMES).ctx(self, &what)?;
        Ok(table.get(job).ctx(self, &what)?.map(|g| g.value().to_vec()))
    }

    /// The store file's path, as given to [`Store::open`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Appends one entry in its own durable write transaction, at sequence number `seq`.
    fn append_entry(&self, job: &JobKey, seq: u64, bytes: &[u8]) -> Result<(), TransportError> {
        let what = format!("append journal entry {seq} of job {}", hex(job));
        let txn = self.begin_write(&what)?;
        {
            let mut table = txn.open_table(JOURNAL).ctx(self, &what)?;
            let taken = table.insert((job, seq), bytes).ctx(self, &what)?.is_some();
            if taken {
                // Dropping the transaction uncommitted discards the overwrite.
                return Err(self.error(format!(
                    "cannot {what}: the entry already exists, so two journals are writing \
                     this job; use one journal per job"
                )));
            }
        }
        self.commit(txn, &what)
    }
}

/// A [`Journal`] of one job that appends to a [`Store`]: each entry is written in its own
/// durable transaction, so it survives a crash once [`Journal::append`] returns `Ok`.
/// Made by [`Store::journal`].
#[derive(Debug)]
pub struct DiskJournal {
    store: Store,
    job: JobKey,
    next: u64,
}

impl DiskJournal {
    /// The job this journal writes.
    pub fn job(&self) -> &JobKey {
        &self.job
    }

    /// The sequence number the next entry will get (the number of entries of the job, if
    /// only this journal has written it).
    pub fn next_sequence(&self) -> u64 {
        self.next
    }
}

impl Journal for DiskJournal {
    fn append(&mut self, entry: &JournalEntry) -> Result<(), ProtocolError> {
        let seq = self.next;
        self.store
            .append_entry(&self.job, seq, &entry.to_bytes())
            .map_err(|e| {
                ProtocolError::Mismatch(format!("the journal entry was not stored durably: {e}"))
            })?;
        self.next = seq.checked_add(1).ok_or_else(|| {
            ProtocolError::Mismatch(format!(
                "store {}: the journal of job {} has run out of entry numbers",
                self.store.path,
                hex(&self.job)
            ))
        })?;
        Ok(())
    }
}
