//! The coordinator's journal: every input that changed its state, in order. Because the
//! coordinator is deterministic, replaying the journal rebuilds its state exactly, so a
//! restarted aggregator resumes a job without asking workers for anything it already
//! accepted. Storage is behind the small [`Journal`] trait; [`MemoryJournal`] keeps it in
//! memory; `tutti_transport::store` keeps it on disk (redb).

use crate::error::ProtocolError;
use crate::fragments::SignedFragment;
use std::sync::{Arc, Mutex};
use tutti_crypto::encoding::Reader;
use tutti_crypto::erasure::FragmentDigest;
use tutti_crypto::identity::WorkerId;

/// One input the coordinator acted on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalEntry {
    /// A signed message (compact wire form) that was accepted or led to a blame.
    Message {
        /// The sender.
        from: WorkerId,
        /// The bytes as received.
        wire: Vec<u8>,
    },
    /// A timeout that moved a shard.
    Timeout {
        /// The shard.
        shard: u32,
        /// The round.
        round: u8,
    },
    /// A lost worker.
    WorkerLost {
        /// The worker.
        worker: WorkerId,
    },
    /// A signed fragment that contradicts its shard's fragment digests (it blamed its
    /// holder).
    FragmentEvidence {
        /// The fragment as its holder signed it.
        fragment: SignedFragment,
        /// The shard's fragment digests.
        digests: Vec<FragmentDigest>,
    },
}

impl JournalEntry {
    /// Encoding: tag 1 (message): worker 32 bytes, length u32 BE, bytes; tag 2 (timeout):
    /// shard u32 BE, round u8; tag 3 (lost): worker 32 bytes; tag 4 (fragment evidence):
    /// the signed fragment's encoding, digest count u16 BE, 32-byte digests.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            JournalEntry::Message { from, wire } => {
                let mut out = vec![1];
                out.extend_from_slice(&from.0);
                out.extend_from_slice(&(wire.len() as u32).to_be_bytes());
                out.extend_from_slice(wire);
                out
            }
            JournalEntry::Timeout { shard, round } => {
                let mut out = vec![2];
                out.extend_from_slice(&shard.to_be_bytes());
                out.push(*round);
                out
            }
            JournalEntry::WorkerLost { worker } => {
                let mut out = vec![3];
                out.extend_from_slice(&worker.0);
                out
            }
            JournalEntry::FragmentEvidence { fragment, digests } => {
                let mut out = vec![4];
                out.extend_from_slice(&fragment.to_bytes());
                out.extend_from_slice(&(digests.len() as u16).to_be_bytes());
                digests.iter().for_each(|d| out.extend_from_slice(d));
                out
            }
        }
    }

    /// Decodes one entry.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes, "journal entry");
        let e = match r.u8()? {
            1 => {
                let from = WorkerId(r.array()?);
                let len = r.u32()? as usize;
                if len > 4096 {
                    return Err(ProtocolError::Mismatch(format!(
                        "journal entry holds a {len}-byte message"
                    )));
                }
                JournalEntry::Message {
                    from,
                    wire: r.take(len)?.to_vec(),
                }
            }
            2 => JournalEntry::Timeout {
                shard: r.u32()?,
                round: r.u8()?,
            },
            3 => JournalEntry::WorkerLost {
                worker: WorkerId(r.array()?),
            },
            4 => {
                let fragment = SignedFragment::read(&mut r)?;
                let n = r.u16()? as usize;
                let digests = (0..n).map(|_| r.array()).collect::<Result<_, _>>()?;
                JournalEntry::FragmentEvidence { fragment, digests }
            }
            t => {
                return Err(ProtocolError::Mismatch(format!(
                    "unknown journal entry tag {t}"
                )));
            }
        };
        r.finish()?;
        Ok(e)
    }
}

/// Durable storage of a coordinator's journal.
pub trait Journal: Send {
    /// Appends one entry; it must be durable when this returns `Ok`.
    fn append(&mut self, entry: &JournalEntry) -> Result<(), ProtocolError>;
}

/// A journal in memory, shared so a test or driver can read it after a "crash".
#[derive(Clone, Debug, Default)]
pub struct MemoryJournal {
    entries: Arc<Mutex<Vec<JournalEntry>>>,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the entries so far.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Journal for MemoryJournal {
    fn append(&mut self, entry: &JournalEntry) -> Result<(), ProtocolError> {
        self.entries
            .lock()
            .map_err(|_| ProtocolError::Mismatch("journal lock poisoned".into()))?
            .push(entry.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tutti_crypto::identity::WorkerIdentity;

    #[test]
    fn every_entry_round_trips_and_truncations_are_refused() {
        let holder = WorkerIdentity::from_seed(&[4; 32]);
        let entries = vec![
            JournalEntry::Message {
                from: holder.id(),
                wire: vec![1, 2, 3],
            },
            JournalEntry::Timeout { shard: 7, round: 3 },
            JournalEntry::WorkerLost {
                worker: holder.id(),
            },
            JournalEntry::FragmentEvidence {
                fragment: SignedFragment::seal(&holder, [9; 32], 2, 1, 100, [5; 32], vec![8; 40]),
                digests: vec![[1; 32], [2; 32], [3; 32]],
            },
        ];
        for e in entries {
            let bytes = e.to_bytes();
            assert_eq!(JournalEntry::from_bytes(&bytes).unwrap(), e);
            for cut in 0..bytes.len() {
                assert!(
                    JournalEntry::from_bytes(&bytes[..cut]).is_err(),
                    "{e:?} cut at {cut}"
                );
            }
        }
    }
}
