//! Payloads of the frames (see [`crate::frame`]) and of the records the aggregator keeps
//! in its store. Every integer is big-endian; scalars are 32 bytes little-endian and
//! canonical, as everywhere in tutti. Each decoder rejects unknown tags, wrong sizes and
//! trailing bytes with a typed error. Normative description: `spec/transport.md`.

use crate::circuit_spec::CircuitSpec;
use crate::error::TransportError;
use crate::tls::PeerRole;
use tutti_crypto::Fr;
use tutti_crypto::encoding::{Reader, SCALAR_BYTES, put_scalar};
use tutti_crypto::erasure::FragmentDigest;
use tutti_crypto::identity::WorkerId;
use tutti_protocol::envelope::JobId;
use tutti_protocol::fragments::HeldFragment;
use tutti_protocol::layout::ShardWitness;
use tutti_protocol::worker::Directive;

/// Most jobs a worker reports holding in its hello.
pub const MAX_HELD: usize = 64;
/// Most public inputs in a submission.
pub const MAX_PUBLIC_INPUTS: usize = 1 << 16;

pub(crate) fn err(what: &str, e: impl std::fmt::Display) -> TransportError {
    TransportError::Frame(format!("{what}: {e}"))
}

/// The first frame of every connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// What the peer is.
    pub role: PeerRole,
    /// Its ed25519 identity.
    pub id: WorkerId,
    /// Its signature over the session binding ([`crate::tls::auth_message`]).
    pub signature: [u8; 64],
    /// Shards the worker still holds state for (job, shard), so a restarted aggregator
    /// knows whom to re-send assignments.
    pub held: Vec<(JobId, u32)>,
}

impl Hello {
    /// role u8, id 32, signature 64, count u16, count × (job 32, shard u32).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.role as u8];
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&(self.held.len().min(MAX_HELD) as u16).to_be_bytes());
        for (job, shard) in self.held.iter().take(MAX_HELD) {
            out.extend_from_slice(job);
            out.extend_from_slice(&shard.to_be_bytes());
        }
        out
    }

    /// Decodes a hello.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TransportError> {
        let mut r = Reader::new(bytes, "hello");
        let role = r.u8().map_err(|e| err("hello", e))?;
        let role = PeerRole::from_u8(role)
            .ok_or_else(|| TransportError::Frame(format!("hello: unknown role {role}")))?;
        let id = WorkerId(r.array().map_err(|e| err("hello", e))?);
        let signature = r.array().map_err(|e| err("hello", e))?;
        let n = r.u16().map_err(|e| err("hello", e))? as usize;
        if n > MAX_HELD {
            return Err(TransportError::Frame(format!(
                "hello: {n} held shards (at most {MAX_HELD})"
            )));
        }
        let mut held = Vec::with_capacity(n);
        for _ in 0..n {
            let job = r.array().map_err(|e| err("hello", e))?;
            held.push((job, r.u32().map_err(|e| err("hello", e))?));
        }
        r.finish().map_err(|e| err("hello", e))?;
        Ok(Hello {
            role,
            id,
            signature,
            held,
        })
    }
}

/// A directive for one job, with the shard when it assigns one: `Assign` and `Directive`
/// frames. Payload: job 32, shard u32 (Assign only), directive bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobDirective {
    /// The job.
    pub job_id: JobId,
    /// The shard (for an assignment).
    pub shard: Option<u32>,
    /// What to do.
    pub directive: Directive,
}

impl JobDirective {
    /// Encodes the payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.job_id.to_vec();
        if let Some(s) = self.shard {
            out.extend_from_slice(&s.to_be_bytes());
        }
        out.extend_from_slice(&self.directive.to_bytes());
        out
    }

    /// Decodes the payload of an `Assign` (`with_shard`) or `Directive` frame.
    pub fn from_bytes(bytes: &[u8], with_shard: bool) -> Result<Self, TransportError> {
        let mut r = Reader::new(bytes, "directive frame");
        let job_id = r.array().map_err(|e| err("directive frame", e))?;
        let shard = if with_shard {
            Some(r.u32().map_err(|e| err("directive frame", e))?)
        } else {
            None
        };
        let rest = r
            .take(r.remaining())
            .map_err(|e| err("directive frame", e))?;
        Ok(JobDirective {
            job_id,
            shard,
            directive: Directive::from_bytes(rest)?,
        })
    }
}

/// Reads a 32-byte job id payload (`JobOver`, `Lost`, `Accepted`, `Await`).
pub fn job_id_from_bytes(bytes: &[u8]) -> Result<JobId, TransportError> {
    bytes
        .try_into()
        .map_err(|_| TransportError::Frame(format!("a job id of {} bytes (32)", bytes.len())))
}

/// A job as a client submits it: its circuit (built-in or compiled), its statement and
/// its witness cut into shards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// The circuit.
    pub circuit: CircuitSpec,
    /// The statement.
    pub public_inputs: Vec<Fr>,
    /// Each shard's wire values.
    pub witnesses: Vec<ShardWitness>,
}

impl Submission {
    /// circuit ([`CircuitSpec::write`]), count u32 + scalars, then M × 3·T scalars (wire
    /// a, b, c).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_bytes_with(true)
    }

    /// The encoding, with or without the witness part (a record of a job whose inputs
    /// were erasure-coded away keeps only the header and statement).
    pub fn to_bytes_with(&self, witnesses: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.circuit.write(&mut out);
        out.extend_from_slice(&(self.public_inputs.len() as u32).to_be_bytes());
        for v in &self.public_inputs {
            put_scalar(&mut out, v);
        }
        for w in self.witnesses.iter().filter(|_| witnesses) {
            for wire in &w.wires {
                for v in wire {
                    put_scalar(&mut out, v);
                }
            }
        }
        out
    }

    /// Decodes a submission, checking every size against the circuit's shape first.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TransportError> {
        Self::from_bytes_with(bytes, true)
    }

    /// Decodes [`Submission::to_bytes_with`].
    pub fn from_bytes_with(bytes: &[u8], witnesses: bool) -> Result<Self, TransportError> {
        let mut r = Reader::new(bytes, "submission");
        let circuit = CircuitSpec::read(&mut r, witnesses)?;
        let n = r.u32().map_err(|e| err("submission", e))? as usize;
        let shape = circuit.shape();
        let (m, t) = (shape.shards * witnesses as usize, shape.shard_gates);
        let expected = n
            .checked_mul(SCALAR_BYTES)
            .and_then(|p| p.checked_add(m.checked_mul(3 * t * SCALAR_BYTES)?));
        if n > MAX_PUBLIC_INPUTS || expected != Some(r.remaining()) {
            return Err(TransportError::Frame(format!(
                "submission: {} bytes after the header, but {n} public inputs and {m} shards of {t} rows need {}",
                r.remaining(),
                expected
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "too many".into())
            )));
        }
        let public_inputs = r.scalars(n).map_err(|e| err("submission", e))?;
        let mut witnesses = Vec::with_capacity(m);
        for _ in 0..m {
            let mut wires: [Vec<Fr>; 3] = Default::default();
            for w in &mut wires {
                *w = r.scalars(t).map_err(|e| err("submission", e))?;
            }
            witnesses.push(ShardWitness { wires });
        }
        r.finish().map_err(|e| err("submission", e))?;
        Ok(Submission {
            circuit,
            public_inputs,
            witnesses,
        })
    }
}

/// One worker's part in a finished job, as the aggregator saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerTraffic {
    /// The worker.
    pub worker: WorkerId,
    /// Protocol bytes it sent (envelope frames, headers included).
    pub sent: u64,
    /// Protocol bytes it received (assign and directive frames, headers included).
    pub received: u64,
    /// Shard-input bytes it received (assignment frames).
    pub inputs: u64,
}

/// What the aggregator reports with a proof.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobStats {
    /// Compute time of the coordinator, nanoseconds.
    pub aggregator_nanos: u64,
    /// Wall time from start to proof, nanoseconds.
    pub wall_nanos: u64,
    /// Attempts (1 unless the transcript was rewound).
    pub attempts: u32,
    /// Workers blamed (ids).
    pub blamed: Vec<WorkerId>,
    /// Their blame certificates (`BlameCertificate` encoding), checkable offline.
    pub certificates: Vec<Vec<u8>>,
    /// Shards that changed hands.
    pub reassigned: u32,
    /// Times the job was resumed from the journal.
    pub resumed: u32,
    /// Messages of rounds already journaled before a resume that workers sent again
    /// (zero when the journal spared them).
    pub resent: u32,
    /// Per worker.
    pub traffic: Vec<WorkerTraffic>,
}

/// The outcome of a job: the proof with what is needed to check it, or why it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// The job succeeded.
    Proved {
        /// The proof bytes.
        proof: Vec<u8>,
        /// The verifying key bytes.
        vk: Vec<u8>,
        /// The statement.
        public_inputs: Vec<Fr>,
        /// Figures.
        stats: JobStats,
    },
    /// The job failed; nothing was emitted.
    Failed(String),
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

pub(crate) fn get_bytes<'a>(r: &mut Reader<'a>, what: &str) -> Result<&'a [u8], TransportError> {
    let n = r.u32().map_err(|e| err(what, e))? as usize;
    r.take(n).map_err(|e| err(what, e))
}

impl JobOutcome {
    /// tag u8 (1 proved, 2 failed); proved: proof, vk (each length u32 + bytes), count
    /// u32 + scalars, aggregator ns u64, wall ns u64, attempts u32, reassigned u32,
    /// resumed u32, resent u32, blamed count u32 + ids,
    /// certificates count u32 + (length u32 + bytes), traffic count u32 + (id, sent u64, received
    /// u64, inputs u64); failed: length u32 + UTF-8 reason.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            JobOutcome::Proved {
                proof,
                vk,
                public_inputs,
                stats,
            } => {
                let mut out = vec![1];
                put_bytes(&mut out, proof);
                put_bytes(&mut out, vk);
                out.extend_from_slice(&(public_inputs.len() as u32).to_be_bytes());
                for v in public_inputs {
                    put_scalar(&mut out, v);
                }
                out.extend_from_slice(&stats.aggregator_nanos.to_be_bytes());
                out.extend_from_slice(&stats.wall_nanos.to_be_bytes());
                for v in [
                    stats.attempts,
                    stats.reassigned,
                    stats.resumed,
                    stats.resent,
                ] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
                out.extend_from_slice(&(stats.blamed.len() as u32).to_be_bytes());
                for b in &stats.blamed {
                    out.extend_from_slice(&b.0);
                }
                out.extend_from_slice(&(stats.certificates.len() as u32).to_be_bytes());
                for c in &stats.certificates {
                    put_bytes(&mut out, c);
                }
                out.extend_from_slice(&(stats.traffic.len() as u32).to_be_bytes());
                for t in &stats.traffic {
                    out.extend_from_slice(&t.worker.0);
                    for v in [t.sent, t.received, t.inputs] {
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                }
                out
            }
            JobOutcome::Failed(reason) => {
                let mut out = vec![2];
                put_bytes(&mut out, reason.as_bytes());
                out
            }
        }
    }

    /// Decodes an outcome.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TransportError> {
        const W: &str = "outcome";
        let mut r = Reader::new(bytes, W);
        let o = match r.u8().map_err(|e| err(W, e))? {
            1 => {
                let proof = get_bytes(&mut r, W)?.to_vec();
                let vk = get_bytes(&mut r, W)?.to_vec();
                let n = r.u32().map_err(|e| err(W, e))? as usize;
                if n > MAX_PUBLIC_INPUTS {
                    return Err(TransportError::Frame(format!("outcome: {n} public inputs")));
                }
                let public_inputs = r.scalars(n).map_err(|e| err(W, e))?;
                let aggregator_nanos = r.u64().map_err(|e| err(W, e))?;
                let wall_nanos = r.u64().map_err(|e| err(W, e))?;
                let attempts = r.u32().map_err(|e| err(W, e))?;
                let reassigned = r.u32().map_err(|e| err(W, e))?;
                let resumed = r.u32().map_err(|e| err(W, e))?;
                let resent = r.u32().map_err(|e| err(W, e))?;
                let nb = r.u32().map_err(|e| err(W, e))? as usize;
                if nb > r.remaining() / 32 {
                    return Err(TransportError::Frame(
                        "outcome: truncated blame list".into(),
                    ));
                }
                let blamed = (0..nb)
                    .map(|_| r.array().map(WorkerId).map_err(|e| err(W, e)))
                    .collect::<Result<_, _>>()?;
                let nc = r.u32().map_err(|e| err(W, e))? as usize;
                if nc > r.remaining() / 4 {
                    return Err(TransportError::Frame(
                        "outcome: truncated certificate list".into(),
                    ));
                }
                let certificates = (0..nc)
                    .map(|_| get_bytes(&mut r, W).map(<[u8]>::to_vec))
                    .collect::<Result<_, _>>()?;
                let nt = r.u32().map_err(|e| err(W, e))? as usize;
                if nt > r.remaining() / 56 {
                    return Err(TransportError::Frame(
                        "outcome: truncated traffic list".into(),
                    ));
                }
                let mut traffic = Vec::with_capacity(nt);
                for _ in 0..nt {
                    traffic.push(WorkerTraffic {
                        worker: WorkerId(r.array().map_err(|e| err(W, e))?),
                        sent: r.u64().map_err(|e| err(W, e))?,
                        received: r.u64().map_err(|e| err(W, e))?,
                        inputs: r.u64().map_err(|e| err(W, e))?,
                    });
                }
                JobOutcome::Proved {
                    proof,
                    vk,
                    public_inputs,
                    stats: JobStats {
                        aggregator_nanos,
                        wall_nanos,
                        attempts,
                        blamed,
                        certificates,
                        reassigned,
                        resumed,
                        resent,
                        traffic,
                    },
                }
            }
            2 => {
                let reason = get_bytes(&mut r, W)?;
                JobOutcome::Failed(String::from_utf8_lossy(reason).into_owned())
            }
            t => return Err(TransportError::Frame(format!("outcome: unknown tag {t}"))),
        };
        r.finish().map_err(|e| err(W, e))?;
        Ok(o)
    }
}

/// The `Outcome` frame payload: job id and outcome.
pub fn outcome_frame(job_id: &JobId, outcome: &JobOutcome) -> Vec<u8> {
    let mut out = job_id.to_vec();
    out.extend_from_slice(&outcome.to_bytes());
    out
}

/// Splits an `Outcome` frame payload.
pub fn parse_outcome_frame(bytes: &[u8]) -> Result<(JobId, JobOutcome), TransportError> {
    if bytes.len() < 32 {
        return Err(TransportError::Frame("outcome frame: truncated".into()));
    }
    let (id, rest) = bytes.split_at(32);
    Ok((job_id_from_bytes(id)?, JobOutcome::from_bytes(rest)?))
}

/// The `Assignment` bulk payload: the verifying key (length u32 + bytes) then the
/// [`tutti_protocol::assignment::ShardAssignment`] encoding.
pub fn assignment_frame(vk: &[u8], assignment: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + vk.len() + assignment.len());
    put_bytes(&mut out, vk);
    out.extend_from_slice(assignment);
    out
}

/// Splits an `Assignment` payload into verifying-key bytes and assignment bytes.
pub fn parse_assignment_frame(bytes: &[u8]) -> Result<(&[u8], &[u8]), TransportError> {
    let mut r = Reader::new(bytes, "assignment frame");
    let vk = get_bytes(&mut r, "assignment frame")?;
    let rest = r
        .take(r.remaining())
        .map_err(|e| err("assignment frame", e))?;
    Ok((vk, rest))
}

/// A fragment of a shard's coded inputs, handed to its holder: `FragmentDeposit` payload
/// job 32, shard u32, index u16, original length u64, digest count u16 and the 32-byte
/// digests of every fragment, then the bytes. The holder checks that the bytes match their
/// digest before it keeps them, and signs what it hands out over the commitment to the
/// digests: so no valid corrupt-fragment certificate can exist against it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FragmentDeposit {
    /// The job.
    pub job_id: JobId,
    /// The shard whose inputs were coded.
    pub shard: u32,
    /// The fragment's index.
    pub index: u16,
    /// Length of the coded encoding.
    pub original_len: u64,
    /// The digest of every fragment of the shard, by index.
    pub digests: Vec<FragmentDigest>,
    /// The fragment.
    pub bytes: Vec<u8>,
}

impl FragmentDeposit {
    /// Encodes the payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(78 + self.bytes.len());
        out.extend_from_slice(&self.job_id);
        out.extend_from_slice(&self.shard.to_be_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.original_len.to_be_bytes());
        out.extend_from_slice(&(self.digests.len() as u16).to_be_bytes());
        self.digests.iter().for_each(|d| out.extend_from_slice(d));
        out.extend_from_slice(&self.bytes);
        out
    }

    /// The holder's check on receipt: the fragment to keep, or why it is refused.
    pub fn into_held(self) -> Result<HeldFragment, tutti_protocol::ProtocolError> {
        HeldFragment::accept(
            self.job_id,
            self.shard,
            self.index,
            self.original_len,
            self.digests,
            self.bytes,
        )
    }

    /// Decodes the payload.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TransportError> {
        const W: &str = "fragment deposit";
        let mut r = Reader::new(bytes, W);
        let job_id = r.array().map_err(|e| err(W, e))?;
        let shard = r.u32().map_err(|e| err(W, e))?;
        let index = r.u16().map_err(|e| err(W, e))?;
        let original_len = r.u64().map_err(|e| err(W, e))?;
        let n = r.u16().map_err(|e| err(W, e))? as usize;
        let digests = (0..n)
            .map(|_| r.array().map_err(|e| err(W, e)))
            .collect::<Result<_, _>>()?;
        let bytes = r.take(r.remaining()).map_err(|e| err(W, e))?.to_vec();
        Ok(FragmentDeposit {
            job_id,
            shard,
            index,
            original_len,
            digests,
            bytes,
        })
    }
}

/// The `FragmentRequest` payload: job 32, shard u32.
pub fn fragment_request(job_id: &JobId, shard: u32) -> Vec<u8> {
    let mut out = job_id.to_vec();
    out.extend_from_slice(&shard.to_be_bytes());
    out
}

/// Decodes a `FragmentRequest` payload.
pub fn parse_fragment_request(bytes: &[u8]) -> Result<(JobId, u32), TransportError> {
    let mut r = Reader::new(bytes, "fragment request");
    let job = r.array().map_err(|e| err("fragment request", e))?;
    let shard = r.u32().map_err(|e| err("fragment request", e))?;
    r.finish().map_err(|e| err("fragment request", e))?;
    Ok((job, shard))
}
