//! Signed erasure-coded fragments of shard inputs.
//!
//! A worker that holds fragment j of shard i hands it out as a [`SignedFragment`]: its
//! ed25519 signature covers the job, the shard, the index, the shard's fragment
//! commitment (`keccak256("tutti/fragments/v1" || original length u64 BE || every
//! fragment digest)`) and the bytes. An honest holder is dealt every digest with its
//! fragment, checks its bytes against their digest (and so against the commitment) on
//! receipt, and never keeps or signs one that does not match; so a signed fragment
//! whose digest contradicts the commitment it names is proof of corruption
//! ([`crate::blame::Offence::CorruptFragment`]).

use crate::envelope::JobId;
use crate::error::ProtocolError;
use tutti_crypto::encoding::Reader;
use tutti_crypto::erasure::{FragmentDigest, fragment_digest};
use tutti_crypto::identity::{SIGNATURE_BYTES, WorkerId, WorkerIdentity, verify_signature};
use tutti_crypto::transcript::keccak256;

/// Largest fragment accepted in a signed fragment (1 GiB).
pub const MAX_FRAGMENT: usize = 1 << 30;

/// The commitment to one shard's fragments: their digests and the coded length.
pub fn fragment_commitment(digests: &[FragmentDigest], original_len: u64) -> [u8; 32] {
    let mut d = b"tutti/fragments/v1".to_vec();
    d.extend_from_slice(&original_len.to_be_bytes());
    for x in digests {
        d.extend_from_slice(x);
    }
    keccak256(&d)
}

/// A fragment an honest holder keeps: dealt together with the digest of every fragment of
/// its shard, checked against its own digest on receipt ([`HeldFragment::accept`]), and
/// signed over the digests' commitment only when it is handed out
/// ([`HeldFragment::hand_out`]). So whatever it is dealt, a holder never signs a
/// fragment that contradicts the commitment it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldFragment {
    /// The job.
    pub job_id: JobId,
    /// Whose inputs.
    pub shard: u32,
    /// Which fragment.
    pub index: u16,
    /// Length of the coded data.
    pub original_len: u64,
    digests: Vec<FragmentDigest>,
    bytes: Vec<u8>,
}

impl HeldFragment {
    /// Keeps a dealt fragment if its bytes match the digest dealt for its index; refuses
    /// it otherwise (keeping and later signing it would let whoever dealt it blame this
    /// holder for a corrupted fragment).
    pub fn accept(
        job_id: JobId,
        shard: u32,
        index: u16,
        original_len: u64,
        digests: Vec<FragmentDigest>,
        bytes: Vec<u8>,
    ) -> Result<Self, ProtocolError> {
        let own = fragment_digest(index, original_len as usize, &bytes);
        if digests.get(index as usize) != Some(&own) {
            return Err(ProtocolError::Mismatch(format!(
                "fragment {index} of shard {shard} does not match the digest dealt with it; refused"
            )));
        }
        Ok(HeldFragment {
            job_id,
            shard,
            index,
            original_len,
            digests,
            bytes,
        })
    }

    /// The commitment to the shard's fragments this holder signs over.
    pub fn commitment(&self) -> [u8; 32] {
        fragment_commitment(&self.digests, self.original_len)
    }

    /// The fragment's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The fragment, signed for handing out.
    pub fn hand_out(&self, identity: &WorkerIdentity) -> SignedFragment {
        SignedFragment::seal(
            identity,
            self.job_id,
            self.shard,
            self.index,
            self.original_len,
            self.commitment(),
            self.bytes.clone(),
        )
    }
}

/// A fragment of a shard's inputs, signed by the worker that hands it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedFragment {
    /// The job.
    pub job_id: JobId,
    /// Whose inputs.
    pub shard: u32,
    /// Which fragment.
    pub index: u16,
    /// Length of the coded data.
    pub original_len: u64,
    /// [`fragment_commitment`] of the shard.
    pub commitment: [u8; 32],
    /// The fragment.
    pub bytes: Vec<u8>,
    /// The holder that signed it.
    pub holder: WorkerId,
    /// Signature over [`SignedFragment::signing_bytes`].
    pub signature: [u8; SIGNATURE_BYTES],
}

impl SignedFragment {
    /// What the signature covers.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut d = b"tutti/signed-fragment/v1".to_vec();
        d.extend_from_slice(&self.job_id);
        d.extend_from_slice(&self.shard.to_be_bytes());
        d.extend_from_slice(&self.index.to_be_bytes());
        d.extend_from_slice(&self.original_len.to_be_bytes());
        d.extend_from_slice(&self.commitment);
        d.extend_from_slice(&(self.bytes.len() as u32).to_be_bytes());
        d.extend_from_slice(&self.bytes);
        keccak256(&d).to_vec()
    }

    /// Signs a fragment.
    pub fn seal(
        identity: &WorkerIdentity,
        job_id: JobId,
        shard: u32,
        index: u16,
        original_len: u64,
        commitment: [u8; 32],
        bytes: Vec<u8>,
    ) -> Self {
        let mut f = SignedFragment {
            job_id,
            shard,
            index,
            original_len,
            commitment,
            bytes,
            holder: identity.id(),
            signature: [0u8; SIGNATURE_BYTES],
        };
        f.signature = identity.sign(&f.signing_bytes());
        f
    }

    /// True when the holder's signature is valid.
    pub fn signature_valid(&self) -> bool {
        verify_signature(&self.holder, &self.signing_bytes(), &self.signature)
    }

    /// True when the bytes match the digest the commitment lists for this index.
    pub fn matches(&self, digests: &[FragmentDigest]) -> bool {
        fragment_commitment(digests, self.original_len) == self.commitment
            && digests.get(self.index as usize)
                == Some(&fragment_digest(
                    self.index,
                    self.original_len as usize,
                    &self.bytes,
                ))
    }

    /// Encoding: job id, shard u32, index u16, length u64, commitment, holder, byte count
    /// u32, bytes, signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(150 + self.bytes.len());
        out.extend_from_slice(&self.job_id);
        out.extend_from_slice(&self.shard.to_be_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.original_len.to_be_bytes());
        out.extend_from_slice(&self.commitment);
        out.extend_from_slice(&self.holder.0);
        out.extend_from_slice(&(self.bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.bytes);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Decodes [`SignedFragment::to_bytes`] from a reader.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        let job_id = r.array::<32>()?;
        let shard = r.u32()?;
        let index = r.u16()?;
        let original_len = r.u64()?;
        let commitment = r.array::<32>()?;
        let holder = WorkerId(r.array::<32>()?);
        let len = r.u32()? as usize;
        if len > MAX_FRAGMENT {
            return Err(ProtocolError::Mismatch(format!(
                "a fragment of {len} bytes exceeds the {MAX_FRAGMENT}-byte limit"
            )));
        }
        let bytes = r.take(len)?.to_vec();
        let signature = r.array::<SIGNATURE_BYTES>()?;
        Ok(SignedFragment {
            job_id,
            shard,
            index,
            original_len,
            commitment,
            bytes,
            holder,
            signature,
        })
    }
}
