//! What the aggregator stores about a job to resume it after a restart: the job as
//! submitted (without its witness once the witness is erasure-coded over the workers),
//! the job secret, the workers chosen, the shard-input digests, and where each fragment
//! of each shard's coded inputs went.

use crate::error::TransportError;
use crate::wire::{Submission, err};
use tutti_crypto::encoding::Reader;
use tutti_crypto::erasure::{ErasureParams, FragmentDigest};
use tutti_crypto::identity::WorkerId;

/// Where one shard's coded inputs went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodedShard {
    /// Length of the coded encoding ([`tutti_protocol::inputs::ShardSecrets`]).
    pub len: u64,
    /// Digest of each fragment, by index.
    pub digests: Vec<FragmentDigest>,
    /// Holder of each fragment, by index.
    pub holders: Vec<WorkerId>,
}

/// Every shard's coded inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodedInputs {
    /// k data and m parity fragments per shard.
    pub params: ErasureParams,
    /// Per shard.
    pub shards: Vec<CodedShard>,
}

/// A job as the aggregator records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
    /// The job as submitted; `witnesses` is empty once they were coded away.
    pub submission: Submission,
    /// The secret its shard keys and the aggregator's randomness derive from.
    pub job_secret: [u8; 32],
    /// The client that submitted it.
    pub client: WorkerId,
    /// Workers chosen when it started (empty while queued).
    pub workers: Vec<WorkerId>,
    /// Workers per shard.
    pub replicas: u8,
    /// Digest of each shard's inputs (`ShardInputs::digest`), set when it started.
    pub digests: Vec<[u8; 32]>,
    /// The coded inputs, when the witness was erasure-coded over the workers.
    pub coded: Option<CodedInputs>,
}

const MAX_LIST: usize = 1 << 20;

fn ids(r: &mut Reader<'_>, n: usize) -> Result<Vec<[u8; 32]>, TransportError> {
    if n > MAX_LIST || n > r.remaining() / 32 {
        return Err(TransportError::Frame(format!(
            "job record: a list of {n} 32-byte entries is longer than the record"
        )));
    }
    (0..n)
        .map(|_| r.array().map_err(|e| err("job record", e)))
        .collect()
}

/// Format version of stored job records. Version 2 goes with proof format 2: a job's
/// journal holds messages signed under one protocol version and replays only under it.
pub const JOB_RECORD_VERSION: u8 = 2;

impl JobRecord {
    /// version u8 = [`JOB_RECORD_VERSION`], secret 32, client 32, replicas u8, workers (count u32 + ids),
    /// digests (count u32 + 32 bytes each), coded flag u8 (then k u16, m u16, shards count
    /// u32, each: length u64, digests count u16 + 32 bytes each, holders count u16 +
    /// ids), witness flag u8, then the submission (without the witness part when the flag
    /// is 0).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![JOB_RECORD_VERSION];
        out.extend_from_slice(&self.job_secret);
        out.extend_from_slice(&self.client.0);
        out.push(self.replicas);
        out.extend_from_slice(&(self.workers.len() as u32).to_be_bytes());
        for w in &self.workers {
            out.extend_from_slice(&w.0);
        }
        out.extend_from_slice(&(self.digests.len() as u32).to_be_bytes());
        for d in &self.digests {
            out.extend_from_slice(d);
        }
        match &self.coded {
            None => out.push(0),
            Some(c) => {
                out.push(1);
                out.extend_from_slice(&(c.params.data as u16).to_be_bytes());
                out.extend_from_slice(&(c.params.parity as u16).to_be_bytes());
                out.extend_from_slice(&(c.shards.len() as u32).to_be_bytes());
                for s in &c.shards {
                    out.extend_from_slice(&s.len.to_be_bytes());
                    out.extend_from_slice(&(s.digests.len() as u16).to_be_bytes());
                    s.digests.iter().for_each(|d| out.extend_from_slice(d));
                    out.extend_from_slice(&(s.holders.len() as u16).to_be_bytes());
                    s.holders.iter().for_each(|h| out.extend_from_slice(&h.0));
                }
            }
        }
        let with = !self.submission.witnesses.is_empty();
        out.push(with as u8);
        out.extend_from_slice(&self.submission.to_bytes_with(with));
        out
    }

    /// Decodes a record.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TransportError> {
        const W: &str = "job record";
        let e = |e| err(W, e);
        let mut r = Reader::new(bytes, W);
        let version = r.u8().map_err(e)?;
        if version != JOB_RECORD_VERSION {
            return Err(TransportError::RecordVersion {
                version,
                supported: JOB_RECORD_VERSION,
                hint: if version == 1 {
                    "; it was stored by an aggregator of proof format 1, whose messages this \
                     build (proof format 2) cannot replay: submit the job again"
                } else {
                    ""
                },
            });
        }
        let job_secret = r.array().map_err(e)?;
        let client = WorkerId(r.array().map_err(e)?);
        let replicas = r.u8().map_err(e)?;
        let n = r.u32().map_err(e)? as usize;
        let workers = ids(&mut r, n)?.into_iter().map(WorkerId).collect();
        let n = r.u32().map_err(e)? as usize;
        let digests = ids(&mut r, n)?;
        let coded = match r.u8().map_err(e)? {
            0 => None,
            1 => {
                let params =
                    ErasureParams::new(r.u16().map_err(e)? as usize, r.u16().map_err(e)? as usize)
                        .map_err(|x| err(W, x))?;
                let count = r.u32().map_err(e)? as usize;
                if count > MAX_LIST || count > r.remaining() / 12 {
                    return Err(TransportError::Frame(
                        "job record: truncated coded shards".into(),
                    ));
                }
                let mut shards = Vec::with_capacity(count);
                for _ in 0..count {
                    let len = r.u64().map_err(e)?;
                    let nd = r.u16().map_err(e)? as usize;
                    let digests = ids(&mut r, nd)?;
                    let nh = r.u16().map_err(e)? as usize;
                    let holders = ids(&mut r, nh)?.into_iter().map(WorkerId).collect();
                    shards.push(CodedShard {
                        len,
                        digests,
                        holders,
                    });
                }
                Some(CodedInputs { params, shards })
            }
            t => return Err(TransportError::Frame(format!("job record: coded flag {t}"))),
        };
        let with = match r.u8().map_err(e)? {
            0 => false,
            1 => true,
            t => {
                return Err(TransportError::Frame(format!(
                    "job record: witness flag {t}"
                )));
            }
        };
        let rest = r.take(r.remaining()).map_err(e)?;
        Ok(JobRecord {
            submission: Submission::from_bytes_with(rest, with)?,
            job_secret,
            client,
            workers,
            replicas,
            digests,
            coded,
        })
    }
}
