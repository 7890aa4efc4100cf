//! Every shard's private inputs Reed–Solomon coded over a job's workers, and a takeover's
//! inputs rebuilt from their holders: the bookkeeping the in-process runner and the
//! chaos simulator share (the network aggregator deals the same fragments over QUIC).
//!
//! Fragment j of shard i is held by worker `(i·r + r + j) mod n` (n workers, r per
//! shard), so none is held by the shard's own workers.

use crate::envelope::JobId;
use crate::error::ProtocolError;
use crate::fragments::{SignedFragment, fragment_commitment};
use crate::inputs::{ShardSecrets, code_shard, rebuild_shard};
use tutti_crypto::erasure::{ErasureParams, Fragment, FragmentDigest};
use tutti_crypto::identity::WorkerIdentity;

/// Every shard's coded inputs.
#[derive(Clone, Debug)]
pub struct CodedShards {
    /// k data and m parity fragments per shard.
    pub params: ErasureParams,
    /// Length of each shard's encoded secrets.
    pub lens: Vec<usize>,
    /// Each shard's fragment digests.
    pub digests: Vec<Vec<FragmentDigest>>,
    /// `holders[shard][j]`: the worker (index) holding fragment j of that shard.
    pub holders: Vec<Vec<usize>>,
    /// The fragments, as dealt.
    pub fragments: Vec<Vec<Fragment>>,
}

/// A shard's inputs rebuilt from its holders.
#[derive(Clone, Debug)]
pub struct Gathered {
    /// The secrets.
    pub secrets: ShardSecrets,
    /// Holders (worker indices) whose fragment failed its digest check.
    pub corrupted_holders: Vec<usize>,
    /// Their fragments as they signed them: evidence for blame.
    pub evidence: Vec<SignedFragment>,
}

impl CodedShards {
    /// Codes each shard's secrets for `n` workers, `r` per shard.
    pub fn new(
        params: ErasureParams,
        n: usize,
        r: usize,
        secrets: &[ShardSecrets],
    ) -> Result<Self, ProtocolError> {
        params.validate()?;
        if params.total() + r > n {
            return Err(ProtocolError::Mismatch(format!(
                "{} fragments per shard need {} workers besides the shard's own {r}, but the job has {n} in all",
                params.total(),
                params.total()
            )));
        }
        let mut c = CodedShards {
            params,
            lens: Vec::new(),
            digests: Vec::new(),
            holders: Vec::new(),
            fragments: Vec::new(),
        };
        for (i, s) in secrets.iter().enumerate() {
            let (fragments, digests, len) = code_shard(s, params)?;
            c.lens.push(len);
            c.digests.push(digests);
            c.holders
                .push((0..params.total()).map(|j| (i * r + r + j) % n).collect());
            c.fragments.push(fragments);
        }
        Ok(c)
    }

    /// The commitment holders sign their fragments of `shard` over.
    pub fn commitment(&self, shard: usize) -> [u8; 32] {
        fragment_commitment(&self.digests[shard], self.lens[shard] as u64)
    }

    /// Asks every holder of `shard` for its fragment and rebuilds the shard's secrets from
    /// any k good ones, naming the holders of bad ones. `holder(worker)` says how a holder
    /// answers: `None` when it does not, else its identity and whether it corrupts what it
    /// hands out (adversarial testing); each answer is sealed over the shard's commitment.
    pub fn gather(
        &self,
        shard: usize,
        job_id: JobId,
        mut holder: impl FnMut(usize) -> Option<(WorkerIdentity, bool)>,
    ) -> Result<Gathered, ProtocolError> {
        let commitment = self.commitment(shard);
        let mut got = Vec::new();
        let mut signed = Vec::new();
        for (j, h) in self.holders[shard].iter().enumerate() {
            let Some((identity, corrupts)) = holder(*h) else {
                continue;
            };
            let fragment = &self.fragments[shard][j];
            let mut bytes = fragment.bytes.clone();
            if let (true, Some(b)) = (corrupts, bytes.first_mut()) {
                *b ^= 0x5a;
            }
            let f = SignedFragment::seal(
                &identity,
                job_id,
                shard as u32,
                fragment.index,
                self.lens[shard] as u64,
                commitment,
                bytes,
            );
            got.push(Fragment {
                index: f.index,
                bytes: f.bytes.clone(),
            });
            signed.push((*h, f));
        }
        let rebuilt = rebuild_shard(&got, &self.digests[shard], self.params, self.lens[shard])?;
        let (bad, _): (Vec<_>, Vec<_>) = signed
            .into_iter()
            .partition(|(_, f)| rebuilt.corrupted.contains(&f.index));
        Ok(Gathered {
            secrets: rebuilt.secrets,
            corrupted_holders: bad.iter().map(|(h, _)| *h).collect(),
            evidence: bad.into_iter().map(|(_, f)| f).collect(),
        })
    }
}
