//! Erasure-coded shard inputs over the network. At a job's start each shard's secrets are
//! coded into k + m fragments, dealt to workers other than the shard's own (a
//! `FragmentDeposit` each), and the aggregator keeps only the digests, the length and who
//! holds what. A takeover then needs its inputs rebuilt: the aggregator asks the holders
//! (`FragmentRequest`), checks every signed reply against the digests — a holder whose
//! signed fragment contradicts them is blamed with the fragment as evidence — rebuilds
//! from any k good ones, checks the result against the shard's input digest, and only
//! then hands the assignment over.

use super::jobs::assignment_bytes;
use super::{Driver, Out, hex};
use crate::error::TransportError;
use crate::frame::{Frame, FrameType};
use crate::record::{CodedInputs, CodedShard, JobRecord};
use crate::wire::{FragmentDeposit, fragment_request};
use std::collections::HashSet;
use std::sync::Arc;
use tutti_crypto::encoding::Reader;
use tutti_crypto::erasure::{ErasureParams, Fragment};
use tutti_crypto::identity::WorkerId;
use tutti_protocol::envelope::JobId;
use tutti_protocol::fragments::SignedFragment;
use tutti_protocol::inputs::{ShardSecrets, code_shard, rebuild_shard};
use tutti_protocol::runner::shard_key;
use tutti_protocol::worker::{Directive, ShardInputs};

/// A shard whose inputs are being gathered from fragment holders.
#[derive(Default)]
pub(super) struct Rebuild {
    /// Takeovers waiting for the inputs.
    waiting: Vec<(WorkerId, Directive)>,
    /// Good fragments so far.
    good: Vec<Fragment>,
    /// Indices already answered (good or not).
    seen: HashSet<u16>,
    /// Rebuilt already: later replies are only checked (a corrupted one is still
    /// blamed).
    done: bool,
}

/// Codes every shard's secrets and says which worker keeps which fragment: fragment j of
/// shard i goes to worker `(i·r + r + j) mod n`, never one of the shard's own r.
pub(super) fn deal(
    params: ErasureParams,
    id: JobId,
    record: &JobRecord,
) -> Result<(CodedInputs, Vec<(WorkerId, Frame)>), TransportError> {
    let n = record.workers.len();
    let r = record.replicas.max(1) as usize;
    if params.total() + r > n {
        return Err(TransportError::Job(format!(
            "{} fragments per shard need {} workers besides each shard's own {r}; the job has {n} in all (add spares or lower the code)",
            params.total(),
            params.total()
        )));
    }
    let s = &record.submission;
    let mut shards = Vec::new();
    let mut frames = Vec::new();
    for (i, witness) in s.witnesses.iter().enumerate() {
        let secrets = ShardSecrets {
            witness: witness.clone(),
            shard_key: shard_key(&record.job_secret, i),
        };
        let (fragments, digests, len) = code_shard(&secrets, params)?;
        let holders: Vec<WorkerId> = (0..params.total())
            .map(|j| record.workers[(i * r + r + j) % n])
            .collect();
        for (f, h) in fragments.into_iter().zip(&holders) {
            let deposit = FragmentDeposit {
                job_id: id,
                shard: i as u32,
                index: f.index,
                original_len: len as u64,
                digests: digests.clone(),
                bytes: f.bytes,
            };
            frames.push((
                *h,
                Frame::new(FrameType::FragmentDeposit, deposit.to_bytes()),
            ));
        }
        shards.push(CodedShard {
            len: len as u64,
            digests,
            holders,
        });
    }
    Ok((CodedInputs { params, shards }, frames))
}

impl Driver {
    /// Queues a takeover until its shard's inputs are rebuilt; asks the holders once.
    pub(super) fn request_rebuild(&mut self, worker: WorkerId, shard: usize, directive: Directive) {
        let Some(a) = self.active.as_mut() else {
            return;
        };
        let Some(coded) = a.record.coded.as_ref().and_then(|c| c.shards.get(shard)) else {
            tracing::error!(shard, "no inputs and no fragments for the shard");
            return;
        };
        let first = a.rebuilds.get(&shard).is_none_or(|r| r.done);
        if a.rebuilds.get(&shard).is_some_and(|r| r.done) {
            // Rebuilt before and let go since: gather again.
            a.rebuilds.remove(&shard);
        }
        let job = a.id;
        let holders = coded.holders.clone();
        a.rebuilds
            .entry(shard)
            .or_default()
            .waiting
            .push((worker, directive));
        if first {
            tracing::info!(
                shard,
                "rebuilding the shard's inputs from its fragment holders"
            );
            let payload = fragment_request(&job, shard as u32);
            for h in holders {
                self.route(
                    h,
                    Out::Frame(Frame::new(FrameType::FragmentRequest, payload.clone())),
                );
            }
        }
    }

    /// Asks again, for every gathering still short of k fragments, the holders that have
    /// not answered (after a reconnection, or when a round deadline passes).
    pub(super) fn rerequest_fragments(&mut self, only: Option<WorkerId>) {
        let Some(a) = self.active.as_ref() else {
            return;
        };
        let Some(coded) = a.record.coded.as_ref() else {
            return;
        };
        let mut asks = Vec::new();
        for (shard, rebuild) in a.rebuilds.iter().filter(|(_, r)| !r.done) {
            let Some(c) = coded.shards.get(*shard) else {
                continue;
            };
            for (index, holder) in c.holders.iter().enumerate() {
                let answered = rebuild.seen.contains(&(index as u16));
                if !answered && only.is_none_or(|w| w == *holder) {
                    asks.push((*holder, fragment_request(&a.id, *shard as u32)));
                }
            }
        }
        for (holder, payload) in asks {
            self.route(
                holder,
                Out::Frame(Frame::new(FrameType::FragmentRequest, payload)),
            );
        }
    }

    /// A fragment a holder sent back.
    pub(super) fn fragment(&mut self, from: WorkerId, bytes: Vec<u8>) {
        let mut r = Reader::new(&bytes, "signed fragment");
        let Ok(f) =
            SignedFragment::read(&mut r).and_then(|f| r.finish().map(|_| f).map_err(Into::into))
        else {
            tracing::warn!(worker = %from, "a fragment reply that does not decode: ignored");
            return;
        };
        let Some(a) = self.active.as_mut() else {
            return;
        };
        let shard = f.shard as usize;
        let Some(coded) = a.record.coded.as_ref().and_then(|c| c.shards.get(shard)) else {
            return;
        };
        let expected = coded.holders.get(f.index as usize) == Some(&from);
        if f.job_id != a.id || f.holder != from || !expected || !f.signature_valid() {
            tracing::warn!(worker = %from, shard, "a fragment reply not signed by its holder: ignored");
            return;
        }
        let digests = coded.digests.clone();
        let (len, params) = (
            coded.len as usize,
            a.record.coded.as_ref().map(|c| c.params),
        );
        let Some(params) = params else { return };
        let Some(rebuild) = a.rebuilds.get_mut(&shard) else {
            return;
        };
        if !rebuild.seen.insert(f.index) {
            return;
        }
        if !f.matches(&digests) {
            tracing::warn!(worker = %from, shard, index = f.index, "corrupted fragment");
            a.coord.handle_fragment_evidence(f, digests);
            self.pump();
            return;
        }
        if rebuild.done {
            return;
        }
        rebuild.good.push(Fragment {
            index: f.index,
            bytes: f.bytes,
        });
        if rebuild.good.len() < params.data {
            return;
        }
        rebuild.done = true;
        let good = std::mem::take(&mut rebuild.good);
        let waiting = std::mem::take(&mut rebuild.waiting);
        let rebuilt = rebuild_shard(&good, &digests, params, len).map(|r| {
            let inputs = ShardInputs {
                key: a.prepared.keys[shard].clone(),
                witness: r.secrets.witness.clone(),
                public_inputs: a.record.submission.public_inputs.clone(),
                shard_key: r.secrets.shard_key,
            };
            (r.secrets, inputs.digest())
        });
        let secrets = match rebuilt {
            Ok((secrets, digest)) if a.record.digests.get(shard) == Some(&digest) => secrets,
            Ok(_) => {
                tracing::error!(
                    shard,
                    "inputs rebuilt from fragments do not match their digest"
                );
                return;
            }
            Err(e) => {
                tracing::error!(shard, "cannot rebuild the shard's inputs: {e}");
                return;
            }
        };
        tracing::info!(job = %hex(&a.id), shard, "inputs rebuilt from fragments");
        let public_inputs = a.record.submission.public_inputs.clone();
        match assignment_bytes(a.id, &a.prepared, shard, public_inputs, secrets) {
            Ok(bytes) => {
                a.assignments.insert(shard, Arc::new(bytes));
            }
            Err(e) => {
                tracing::error!(shard, "cannot encode the rebuilt assignment: {e}");
                return;
            }
        }
        for (worker, directive) in waiting {
            // Only to a worker that still holds the shard: secrets go nowhere else.
            let holds = self
                .active
                .as_ref()
                .is_some_and(|a| a.coord.shard_holders(shard).contains(&worker));
            if holds {
                self.assign(worker, shard, directive);
            }
        }
        if let Some(a) = self.active.as_mut() {
            a.assignments.remove(&shard);
        }
    }
}
