//! Signed worker messages.
//!
//! Every worker message travels in an [`Envelope`] signed with the worker's ed25519 key
//! over a domain-separated digest of: protocol version, job id, attempt, shard, round, the
//! job context (verifying-key digest and public inputs), the digest of every challenge
//! the worker has been given in this job so far (what it answers), and the payload.
//!
//! On the wire only `attempt`, `shard`, the payload and the signature travel
//! ([`Envelope::wire_bytes`]): the receiver knows the job, the context, the sender and
//! what it asked, rebuilds the full envelope and checks the signature against it. A blame
//! certificate carries full envelopes, so it is self-contained.

use crate::error::ProtocolError;
use crate::keys::VerifyingKey;
use crate::messages::{AggregatorMessage, WorkerMessage};
use tutti_crypto::Fr;
use tutti_crypto::encoding::{Reader, scalar_be};
use tutti_crypto::identity::{SIGNATURE_BYTES, WorkerId, WorkerIdentity, verify_signature};
use tutti_crypto::transcript::keccak256;

/// Version of the signed-message format.
pub const PROTOCOL_VERSION: u16 = 2;
/// Largest payload accepted (round 4 is the largest message, 513 bytes).
pub const MAX_PAYLOAD: usize = 1024;

/// Identifies one proving job.
pub type JobId = [u8; 32];

/// `keccak256("tutti/context/v1" || vk digest || public inputs (32 bytes BE each))`: binds
/// a signature to one circuit and one statement.
pub fn job_context(vk: &VerifyingKey, public_inputs: &[Fr]) -> [u8; 32] {
    let mut data = b"tutti/context/v1".to_vec();
    data.extend_from_slice(&vk.digest());
    for v in public_inputs {
        data.extend_from_slice(&scalar_be(v));
    }
    keccak256(&data)
}

/// Digest of what a worker's next message answers: the digest of the shard inputs it
/// was given and the challenges it has received in order (none before round 1):
/// `keccak256("tutti/answers/v2" || inputs || Σ len(msg) as u16 BE || msg bytes)`.
/// Binding the inputs means an honest worker never signs two different answers to one
/// question, even if handed two different input sets.
pub fn answers_digest(inputs: &[u8; 32], history: &[AggregatorMessage]) -> [u8; 32] {
    let mut data = b"tutti/answers/v2".to_vec();
    data.extend_from_slice(inputs);
    for m in history {
        let b = m.to_bytes();
        data.extend_from_slice(&(b.len() as u16).to_be_bytes());
        data.extend_from_slice(&b);
    }
    keccak256(&data)
}

/// A signed worker message with every field its signature covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The job.
    pub job_id: JobId,
    /// The attempt (lease) it was sent under.
    pub attempt: u32,
    /// The shard it is about.
    pub shard: u32,
    /// The round of the payload.
    pub round: u8,
    /// [`job_context`] of the job.
    pub context: [u8; 32],
    /// [`answers_digest`] of the worker's inputs and the challenges it had received.
    pub answers: [u8; 32],
    /// The encoded [`WorkerMessage`].
    pub payload: Vec<u8>,
    /// The signer.
    pub worker: WorkerId,
    /// ed25519 signature over [`Envelope::signing_bytes`].
    pub signature: [u8; SIGNATURE_BYTES],
}

impl Envelope {
    /// The bytes the signature covers.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut d = b"tutti/envelope/v1".to_vec();
        d.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
        d.extend_from_slice(&self.job_id);
        d.extend_from_slice(&self.attempt.to_be_bytes());
        d.extend_from_slice(&self.shard.to_be_bytes());
        d.push(self.round);
        d.extend_from_slice(&self.context);
        d.extend_from_slice(&self.answers);
        d.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        d.extend_from_slice(&self.payload);
        keccak256(&d).to_vec()
    }

    /// Builds and signs an envelope.
    #[allow(clippy::too_many_arguments)]
    pub fn seal(
        identity: &WorkerIdentity,
        job_id: JobId,
        attempt: u32,
        shard: u32,
        context: [u8; 32],
        answers: [u8; 32],
        msg: &WorkerMessage,
    ) -> Self {
        let mut e = Envelope {
            job_id,
            attempt,
            shard,
            round: msg.round(),
            context,
            answers,
            payload: msg.to_bytes(),
            worker: identity.id(),
            signature: [0u8; SIGNATURE_BYTES],
        };
        e.signature = identity.sign(&e.signing_bytes());
        e
    }

    /// True when the signature is valid for `worker`.
    pub fn signature_valid(&self) -> bool {
        verify_signature(&self.worker, &self.signing_bytes(), &self.signature)
    }

    /// Decodes the payload and checks it belongs to the envelope's round.
    pub fn message(&self) -> Result<WorkerMessage, ProtocolError> {
        let m = WorkerMessage::from_bytes(&self.payload)?;
        if m.round() != self.round {
            return Err(ProtocolError::UnexpectedMessage(format!(
                "envelope for round {} carries a round-{} payload",
                self.round,
                m.round()
            )));
        }
        Ok(m)
    }

    /// Compact wire form: attempt u32, shard u32, round u8, payload length u16, payload,
    /// signature.
    pub fn wire_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(11 + self.payload.len() + SIGNATURE_BYTES);
        out.extend_from_slice(&self.attempt.to_be_bytes());
        out.extend_from_slice(&self.shard.to_be_bytes());
        out.push(self.round);
        out.extend_from_slice(&(self.payload.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses the compact wire form; `answers_for(shard, round)` gives what the receiver
    /// expects the worker to have been asked. The signature is not checked here.
    pub fn from_wire(
        bytes: &[u8],
        job_id: JobId,
        context: [u8; 32],
        worker: WorkerId,
        answers_for: impl Fn(u32, u8) -> [u8; 32],
    ) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes, "signed worker message");
        let mut e = Self::read_wire(&mut r, job_id, context, [0u8; 32], worker)?;
        r.finish()?;
        e.answers = answers_for(e.shard, e.round);
        Ok(e)
    }

    /// Reads the compact wire fields; the others are given.
    fn read_wire(
        r: &mut Reader<'_>,
        job_id: JobId,
        context: [u8; 32],
        answers: [u8; 32],
        worker: WorkerId,
    ) -> Result<Self, ProtocolError> {
        let attempt = r.u32()?;
        let shard = r.u32()?;
        let round = r.u8()?;
        let len = r.u16()? as usize;
        if len > MAX_PAYLOAD {
            return Err(ProtocolError::UnexpectedMessage(format!(
                "payload of {len} bytes exceeds the {MAX_PAYLOAD}-byte limit"
            )));
        }
        let payload = r.take(len)?.to_vec();
        let signature = r.array::<SIGNATURE_BYTES>()?;
        Ok(Envelope {
            job_id,
            attempt,
            shard,
            round,
            context,
            answers,
            payload,
            worker,
            signature,
        })
    }

    /// Full self-contained encoding (used inside blame certificates).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.job_id);
        out.extend_from_slice(&self.context);
        out.extend_from_slice(&self.answers);
        out.extend_from_slice(&self.worker.0);
        out.extend_from_slice(&self.wire_bytes());
        out
    }

    /// Decodes [`Envelope::to_bytes`] from a reader.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        let job_id = r.array::<32>()?;
        let context = r.array::<32>()?;
        let answers = r.array::<32>()?;
        let worker = WorkerId(r.array::<32>()?);
        Self::read_wire(r, job_id, context, answers, worker)
    }
}
