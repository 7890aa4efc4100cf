//! Blame certificates: self-contained, signed evidence that a worker broke a rule.
//!
//! A certificate holds the worker's own signed envelopes, the challenges those envelopes
//! answer (bound by the signed answers digest) and the statement's public inputs (bound
//! by the signed job context). [`BlameCertificate::verify`] re-runs the failed check with
//! nothing but the verifying key. An honest worker's signed messages pass every check
//! for the challenges they answer, so no valid certificate against it can exist, whoever
//! assembles it.

use crate::checks::{self, ShardChallenges, ShardCommitments};
use crate::constraint::Challenges;
use crate::envelope::{Envelope, JobId, answers_digest, job_context};
use crate::error::ProtocolError;
use crate::fragments::{SignedFragment, fragment_commitment};
use crate::keys::VerifyingKey;
use crate::messages::{AggregatorMessage, RefusalReason, WorkerMessage};
use ark_ff::One;
use tutti_crypto::Fr;
use tutti_crypto::encoding::{Reader, put_scalar};
use tutti_crypto::erasure::FragmentDigest;
use tutti_crypto::identity::WorkerId;
use tutti_crypto::kzg::check_share;

/// Format version of encoded certificates.
pub const CERTIFICATE_VERSION: u8 = 3;

/// The rule a worker broke, with the evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offence {
    /// Two different payloads signed for the same job, shard, round, inputs and
    /// challenges (in any attempts).
    Equivocation {
        /// One message.
        first: Envelope,
        /// The other.
        second: Envelope,
    },
    /// A signed payload that does not decode canonically, or belongs to another round.
    Malformed {
        /// The message.
        envelope: Envelope,
    },
    /// Round-4 evaluations that break the shard's own constraint identity at x.
    LocalIdentity {
        /// The signed round-4 message.
        evaluations: Envelope,
        /// The three challenges it answers (β γ; α W W'; x).
        challenges: Vec<AggregatorMessage>,
    },
    /// A refusal to link shards that the worker's own signed product contradicts: the
    /// link scalars it was sent satisfy `W·P = W'` (and `W = 1` for shard 0).
    FalseRefusal {
        /// The signed round-2 message with the product P.
        product: Envelope,
        /// The signed round-3 refusal.
        refusal: Envelope,
        /// The two challenges the refusal answers ((β, γ) and (α, W, W')).
        challenges: Vec<AggregatorMessage>,
    },
    /// A signed erasure-coded fragment that contradicts the fragment commitment it names.
    CorruptFragment {
        /// The fragment, as its holder signed it.
        fragment: SignedFragment,
        /// The shard's fragment digests (their commitment is what the holder signed).
        digests: Vec<FragmentDigest>,
    },
    /// Round-5 openings that do not match the worker's signed commitments and values.
    BadOpening {
        /// The signed messages of rounds 1 to 5.
        messages: Vec<Envelope>,
        /// The four challenges they answer.
        challenges: Vec<AggregatorMessage>,
    },
}

impl Offence {
    fn kind(&self) -> u8 {
        match self {
            Offence::Equivocation { .. } => 1,
            Offence::Malformed { .. } => 2,
            Offence::LocalIdentity { .. } => 3,
            Offence::BadOpening { .. } => 4,
            Offence::FalseRefusal { .. } => 5,
            Offence::CorruptFragment { .. } => 6,
        }
    }

    /// A short name of the offence.
    pub fn name(&self) -> &'static str {
        match self {
            Offence::Equivocation { .. } => "equivocation",
            Offence::Malformed { .. } => "malformed message",
            Offence::LocalIdentity { .. } => "evaluations break the shard's constraint identity",
            Offence::BadOpening { .. } => "opening proofs do not match commitments",
            Offence::FalseRefusal { .. } => "refusal contradicted by its own product",
            Offence::CorruptFragment { .. } => "corrupted erasure-coded fragment",
        }
    }

    fn envelopes(&self) -> Vec<&Envelope> {
        match self {
            Offence::Equivocation { first, second } => vec![first, second],
            Offence::Malformed { envelope } => vec![envelope],
            Offence::LocalIdentity { evaluations, .. } => vec![evaluations],
            Offence::BadOpening { messages, .. } => messages.iter().collect(),
            Offence::FalseRefusal {
                product, refusal, ..
            } => vec![product, refusal],
            Offence::CorruptFragment { .. } => Vec::new(),
        }
    }

    fn challenges(&self) -> &[AggregatorMessage] {
        match self {
            Offence::LocalIdentity { challenges, .. }
            | Offence::BadOpening { challenges, .. }
            | Offence::FalseRefusal { challenges, .. } => challenges,
            _ => &[],
        }
    }
}

/// Evidence that one worker broke one rule in one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlameCertificate {
    /// The statement's public inputs (bound by the envelopes' job context).
    pub public_inputs: Vec<Fr>,
    /// The hiding digest of the shard's private inputs (bound by the answers digests).
    pub shard_inputs: [u8; 32],
    /// What happened.
    pub offence: Offence,
}

fn invalid(why: impl Into<String>) -> ProtocolError {
    ProtocolError::InvalidCertificate(why.into())
}

impl BlameCertificate {
    /// The worker blamed.
    pub fn worker(&self) -> WorkerId {
        match &self.offence {
            Offence::CorruptFragment { fragment, .. } => fragment.holder,
            o => o
                .envelopes()
                .first()
                .map_or(WorkerId([0; 32]), |e| e.worker),
        }
    }

    /// The shard it held (for a corrupted fragment: the shard whose inputs it held).
    pub fn shard(&self) -> u32 {
        match &self.offence {
            Offence::CorruptFragment { fragment, .. } => fragment.shard,
            o => o.envelopes().first().map_or(0, |e| e.shard),
        }
    }

    /// The job.
    pub fn job_id(&self) -> JobId {
        match &self.offence {
            Offence::CorruptFragment { fragment, .. } => fragment.job_id,
            o => o.envelopes().first().map_or([0; 32], |e| e.job_id),
        }
    }

    /// Checks the certificate offline. `Ok` means the worker provably broke the rule.
    pub fn verify(&self, vk: &VerifyingKey) -> Result<(), ProtocolError> {
        if let Offence::CorruptFragment { fragment, digests } = &self.offence {
            // Self-contained: the holder signed bytes under a commitment they contradict.
            if self.shard_inputs != [0u8; 32] || !self.public_inputs.is_empty() {
                return Err(invalid("a fragment certificate carries no statement"));
            }
            if !fragment.signature_valid() {
                return Err(invalid("the fragment's signature is not valid"));
            }
            if fragment_commitment(digests, fragment.original_len) != fragment.commitment {
                return Err(invalid(
                    "the digests are not the ones the holder signed for",
                ));
            }
            if fragment.matches(digests) {
                return Err(invalid("the fragment matches its digest"));
            }
            return Ok(());
        }
        let envs = self.offence.envelopes();
        let Some(head) = envs.first().copied() else {
            return Err(invalid("no signed message"));
        };
        let context = job_context(vk, &self.public_inputs);
        for e in &envs {
            if !e.signature_valid() {
                return Err(invalid("a message's signature is not valid"));
            }
            if e.worker != head.worker || e.job_id != head.job_id || e.shard != head.shard {
                return Err(invalid(
                    "the messages are not from one worker, job and shard",
                ));
            }
            if e.context != context {
                return Err(invalid(
                    "the messages were signed for another circuit or statement",
                ));
            }
        }
        let shard = head.shard as usize;
        if shard >= vk.shape.shards {
            return Err(invalid("the shard does not exist in this circuit"));
        }
        let chain = |e: &Envelope| -> Result<(), ProtocolError> {
            let k = e.round as usize - 1;
            let ch = self.offence.challenges();
            if k > ch.len() || e.answers != answers_digest(&self.shard_inputs, &ch[..k]) {
                return Err(invalid(format!(
                    "the round-{} message does not answer the challenges given",
                    e.round
                )));
            }
            Ok(())
        };
        match &self.offence {
            Offence::Equivocation { .. } | Offence::Malformed { .. }
                if self.shard_inputs != [0u8; 32] =>
            {
                Err(invalid("this offence carries a zero shard-inputs digest"))
            }
            Offence::Equivocation { first, second } => {
                // Attempts may differ: an honest worker's message depends only on its
                // inputs and the challenges it answers, both bound by `answers`.
                let same_slot = first.round == second.round && first.answers == second.answers;
                if !same_slot || first.payload == second.payload {
                    return Err(invalid(
                        "the two messages are not two answers to one question",
                    ));
                }
                Ok(())
            }
            Offence::Malformed { envelope } => match envelope.message() {
                Err(_) => Ok(()),
                Ok(_) => Err(invalid("the message decodes correctly")),
            },
            Offence::LocalIdentity {
                evaluations,
                challenges,
            } => {
                if evaluations.round != 4 || challenges.len() != 3 {
                    return Err(invalid("needs a round-4 message and three challenges"));
                }
                chain(evaluations)?;
                let ch = shard_challenges(challenges)
                    .ok_or_else(|| invalid("the challenges are of the wrong kinds"))?;
                let Ok(WorkerMessage::Evaluations { at_x, z_shift }) = evaluations.message() else {
                    return Err(invalid("the round-4 message does not hold evaluations"));
                };
                let pi = checks::public_input_at(vk, &self.public_inputs, shard, ch.x);
                if checks::local_identity_holds(vk, shard, &at_x, z_shift, &ch, pi) {
                    return Err(invalid("the evaluations satisfy the identity"));
                }
                Ok(())
            }
            Offence::FalseRefusal {
                product,
                refusal,
                challenges,
            } => {
                if product.round != 2 || refusal.round != 3 || challenges.len() != 2 {
                    return Err(invalid(
                        "needs the round-2 product, the round-3 refusal and two challenges",
                    ));
                }
                chain(product)?;
                chain(refusal)?;
                let (
                    Ok(WorkerMessage::RunningProduct { product: p, .. }),
                    Ok(WorkerMessage::Refusal {
                        reason: RefusalReason::LinkContradictsProduct,
                        ..
                    }),
                    AggregatorMessage::LinkScalars { w, w_next, .. },
                ) = (product.message(), refusal.message(), &challenges[1])
                else {
                    return Err(invalid("not a product, a link refusal and link scalars"));
                };
                let consistent = *w * p == *w_next && (shard != 0 || w.is_one());
                if !consistent {
                    return Err(invalid(
                        "the link scalars do contradict the product: the refusal was honest",
                    ));
                }
                Ok(())
            }
            Offence::CorruptFragment { .. } => Err(invalid("checked above")),
            Offence::BadOpening {
                messages,
                challenges,
            } => {
                if messages.len() != 5 || challenges.len() != 4 {
                    return Err(invalid("needs the five messages and four challenges"));
                }
                for (k, e) in messages.iter().enumerate() {
                    if e.round as usize != k + 1 {
                        return Err(invalid("the messages are not rounds 1 to 5 in order"));
                    }
                    chain(e)?;
                }
                let ch = shard_challenges(&challenges[..3])
                    .ok_or_else(|| invalid("the challenges are of the wrong kinds"))?;
                let AggregatorMessage::OpeningWeights(weights) = challenges[3] else {
                    return Err(invalid("the fourth challenge is not the opening weights"));
                };
                let decoded: Vec<WorkerMessage> = messages
                    .iter()
                    .map(|e| e.message())
                    .collect::<Result<_, _>>()
                    .map_err(|_| invalid("a message does not decode"))?;
                let (
                    WorkerMessage::Wires { commitments: wires },
                    WorkerMessage::RunningProduct { commitment: z, .. },
                    WorkerMessage::Quotient {
                        commitments: quotient,
                    },
                    WorkerMessage::Evaluations { at_x, z_shift },
                    WorkerMessage::Openings {
                        at_x: pa,
                        at_shifted_x: pb,
                    },
                ) = (
                    &decoded[0],
                    &decoded[1],
                    &decoded[2],
                    &decoded[3],
                    &decoded[4],
                )
                else {
                    return Err(invalid("the messages are not the five protocol rounds"));
                };
                let c = ShardCommitments {
                    wires: *wires,
                    z: *z,
                    quotient: *quotient,
                };
                let claims =
                    checks::share_claims(vk, shard, &c, at_x, *z_shift, ch.x, &weights, (*pa, *pb));
                if claims.iter().all(|cl| check_share(cl, &vk.g2)) {
                    return Err(invalid("the openings are correct"));
                }
                Ok(())
            }
        }
    }

    /// Canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![CERTIFICATE_VERSION, self.offence.kind()];
        out.extend_from_slice(&self.shard_inputs);
        out.extend_from_slice(&(self.public_inputs.len() as u32).to_be_bytes());
        for v in &self.public_inputs {
            put_scalar(&mut out, v);
        }
        let envs = self.offence.envelopes();
        out.push(envs.len() as u8);
        for e in envs {
            let b = e.to_bytes();
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(&b);
        }
        let ch = self.offence.challenges();
        out.push(ch.len() as u8);
        for c in ch {
            let b = c.to_bytes();
            out.push(b.len() as u8);
            out.extend_from_slice(&b);
        }
        if let Offence::CorruptFragment { fragment, digests } = &self.offence {
            let b = fragment.to_bytes();
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(&b);
            out.extend_from_slice(&(digests.len() as u16).to_be_bytes());
            for d in digests {
                out.extend_from_slice(d);
            }
        }
        out
    }

    /// Decodes a certificate, rejecting anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes, "blame certificate");
        let version = r.u8()?;
        if version != CERTIFICATE_VERSION {
            return Err(ProtocolError::UnsupportedVersion {
                what: "blame certificate",
                version,
                supported: CERTIFICATE_VERSION,
            });
        }
        let kind = r.u8()?;
        let shard_inputs = r.array::<32>()?;
        let n = r.u32()? as usize;
        if n.saturating_mul(32) > r.remaining() {
            return Err(invalid("more public inputs declared than present"));
        }
        let public_inputs = r.scalars(n)?;
        let ne = r.u8()? as usize;
        let mut envs = Vec::with_capacity(ne);
        for _ in 0..ne {
            let len = r.u32()? as usize;
            let body = r.take(len)?;
            let mut er = Reader::new(body, "signed message in certificate");
            envs.push(Envelope::read(&mut er)?);
            er.finish()?;
        }
        let nc = r.u8()? as usize;
        let mut challenges = Vec::with_capacity(nc);
        for _ in 0..nc {
            let len = r.u8()? as usize;
            challenges.push(AggregatorMessage::from_bytes(r.take(len)?)?);
        }
        let fragment = if kind == 6 {
            let len = r.u32()? as usize;
            let body = r.take(len)?;
            let mut fr = Reader::new(body, "signed fragment in certificate");
            let f = SignedFragment::read(&mut fr)?;
            fr.finish()?;
            let n = r.u16()? as usize;
            let digests = (0..n)
                .map(|_| r.array::<32>())
                .collect::<Result<Vec<_>, _>>()?;
            Some((f, digests))
        } else {
            None
        };
        r.finish()?;
        if matches!(kind, 1 | 2 | 6) && (!challenges.is_empty() || shard_inputs != [0u8; 32]) {
            return Err(invalid(
                "this offence carries no challenges and a zero shard-inputs digest",
            ));
        }
        let mut it = envs.into_iter();
        let mut next = || it.next().ok_or_else(|| invalid("missing message"));
        let offence = match (kind, ne) {
            (1, 2) => Offence::Equivocation {
                first: next()?,
                second: next()?,
            },
            (2, 1) => Offence::Malformed { envelope: next()? },
            (3, 1) => Offence::LocalIdentity {
                evaluations: next()?,
                challenges,
            },
            (5, 2) => Offence::FalseRefusal {
                product: next()?,
                refusal: next()?,
                challenges,
            },
            (6, 0) => {
                let (fragment, digests) = fragment.ok_or_else(|| invalid("missing fragment"))?;
                Offence::CorruptFragment { fragment, digests }
            }
            (4, 5) => Offence::BadOpening {
                messages: (0..5).map(|_| next()).collect::<Result<_, _>>()?,
                challenges,
            },
            _ => {
                return Err(invalid(format!(
                    "unknown offence {kind} with {ne} messages"
                )));
            }
        };
        Ok(BlameCertificate {
            public_inputs,
            shard_inputs,
            offence,
        })
    }
}

/// Reads (β, γ), (α, W, W'), x from the first three challenges.
fn shard_challenges(ch: &[AggregatorMessage]) -> Option<ShardChallenges> {
    match ch {
        [
            AggregatorMessage::PermutationChallenges { beta, gamma },
            AggregatorMessage::LinkScalars { alpha, w, w_next },
            AggregatorMessage::EvaluationPoint { x },
            ..,
        ] => Some(ShardChallenges {
            constraint: Challenges {
                beta: *beta,
                gamma: *gamma,
                alpha: *alpha,
            },
            w: *w,
            w_next: *w_next,
            x: *x,
        }),
        _ => None,
    }
}
