//! `SignedWorker`: the worker as a network peer. It signs every message, answers
//! [`Directive`]s, and takes over or resumes a shard at any round by replaying the
//! challenges it is given — deterministic re-execution makes the replayed messages
//! byte-identical to the ones an honest predecessor sent.

use super::{ShardInputs, Worker, row_points_digest};
use crate::envelope::{Envelope, JobId, answers_digest, job_context};
use crate::error::ProtocolError;
use crate::keys::VerifyingKey;
use crate::messages::{AggregatorMessage, RefusalReason, WorkerMessage};
use tutti_crypto::identity::WorkerIdentity;

/// What the aggregator tells a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Directive {
    /// Continue the attempt with the next challenge.
    Next {
        /// The attempt.
        attempt: u32,
        /// The challenge.
        message: AggregatorMessage,
    },
    /// Take (or resume) the shard: replay `history` and send rounds `send_from` onward.
    Resume {
        /// The attempt.
        attempt: u32,
        /// Every challenge of the attempt so far, in order.
        history: Vec<AggregatorMessage>,
        /// First round whose message to send.
        send_from: u8,
    },
}

impl Directive {
    /// Canonical encoding: tag 1 (Next): attempt u32, message; tag 2 (Resume): attempt
    /// u32, send_from u8, count u8, then each message as length u8 and bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Directive::Next { attempt, message } => {
                let mut out = vec![1];
                out.extend_from_slice(&attempt.to_be_bytes());
                out.extend_from_slice(&message.to_bytes());
                out
            }
            Directive::Resume {
                attempt,
                history,
                send_from,
            } => {
                let mut out = vec![2];
                out.extend_from_slice(&attempt.to_be_bytes());
                out.push(*send_from);
                out.push(history.len() as u8);
                for m in history {
                    let b = m.to_bytes();
                    out.push(b.len() as u8);
                    out.extend_from_slice(&b);
                }
                out
            }
        }
    }

    /// Decodes a directive, rejecting anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = tutti_crypto::encoding::Reader::new(bytes, "directive");
        let d = match r.u8()? {
            1 => {
                let attempt = r.u32()?;
                let rest = r.take(r.remaining())?;
                Directive::Next {
                    attempt,
                    message: AggregatorMessage::from_bytes(rest)?,
                }
            }
            2 => {
                let attempt = r.u32()?;
                let send_from = r.u8()?;
                let n = r.u8()? as usize;
                if n > 4 {
                    return Err(ProtocolError::UnexpectedMessage(format!(
                        "a history of {n} challenges (at most 4)"
                    )));
                }
                let mut history = Vec::with_capacity(n);
                for _ in 0..n {
                    let len = r.u8()? as usize;
                    history.push(AggregatorMessage::from_bytes(r.take(len)?)?);
                }
                Directive::Resume {
                    attempt,
                    history,
                    send_from,
                }
            }
            t => {
                return Err(ProtocolError::UnexpectedMessage(format!(
                    "unknown directive tag {t}"
                )));
            }
        };
        r.finish()?;
        Ok(d)
    }
}

/// A worker with a signing identity, bound to one job and one shard.
#[derive(Debug)]
pub struct SignedWorker {
    identity: WorkerIdentity,
    job_id: JobId,
    context: [u8; 32],
    inputs: ShardInputs,
    inputs_digest: [u8; 32],
    checks: bool,
    engine: Option<Worker>,
    history: Vec<AggregatorMessage>,
    produced: Vec<WorkerMessage>,
    refused: bool,
    /// Why the inputs do not fit the verifying key, if they do not.
    unfit: Option<RefusalReason>,
}

/// The reason an honest worker signs for an error of its engine. Only an error that
/// states a fact about the witness or the challenges maps to a reason that claims one;
/// everything else is [`RefusalReason::MalformedInputs`] or [`RefusalReason::Internal`],
/// which claim nothing a certificate could contradict.
fn refusal_reason(e: &ProtocolError) -> RefusalReason {
    match e {
        ProtocolError::GateUnsatisfied { row, .. } => {
            RefusalReason::GateUnsatisfied { row: *row as u32 }
        }
        ProtocolError::LinkBroken { .. } => RefusalReason::LinkContradictsProduct,
        ProtocolError::Refused { reason, .. } => *reason,
        ProtocolError::PublicInputCount { .. }
        | ProtocolError::InvalidShape(_)
        | ProtocolError::Crypto(_)
        | ProtocolError::Mismatch(_) => RefusalReason::MalformedInputs,
        _ => RefusalReason::Internal,
    }
}

/// The public-input rows shard `shard` must have under `vk`: (row, statement index) for
/// each public position of the shard, in statement order (what preprocessing builds).
pub fn expected_public_rows(vk: &VerifyingKey, shard: usize) -> Vec<(usize, usize)> {
    vk.public_positions
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| *s == shard)
        .map(|(index, (_, row))| (*row, index))
        .collect()
}

/// Checks a worker's inputs against the job's verifying key before it signs anything:
/// its proving key's fixed commitments, Lagrange base, shape, δ and public-input rows
/// are the shard's entries of the verifying key, the statement has the key's length, and
/// its SRS row is consistent with the key's Lagrange base and `[τ_X]₂`
/// ([`tutti_crypto::srs::check_row`], skipped for a row `checked` already passed).
fn check_inputs(
    vk: &VerifyingKey,
    inputs: &ShardInputs,
    row_digest: &[u8; 32],
    checked: Option<&mut CheckedRows>,
) -> Result<(), RefusalReason> {
    let key = &inputs.key;
    let shard = key.shard;
    if inputs.public_inputs.len() != vk.public_positions.len() {
        // The statement, not the key, does not fit.
        return Err(RefusalReason::MalformedInputs);
    }
    let consistent = vk.shard_fixed.get(shard) == Some(&key.commitments)
        && vk.lagrange_y.get(shard) == Some(&key.row.lagrange_base())
        && vk.shape == key.shape
        && vk.delta == key.delta
        && key.public_rows == expected_public_rows(vk, shard);
    if !consistent {
        return Err(RefusalReason::KeyMismatch);
    }
    let base = key.row.lagrange_base();
    let fingerprint = CheckedRows::fingerprint(shard, row_digest, &vk.g2);
    if checked.as_ref().is_some_and(|c| c.contains(&fingerprint)) {
        return Ok(());
    }
    if let Err(e) = tutti_crypto::srs::check_row(&key.row, &base, &vk.g2) {
        tracing::warn!(shard, "refusing the shard: {e}");
        return Err(RefusalReason::SrsRowInconsistent);
    }
    if let Some(c) = checked {
        c.insert(fingerprint);
    }
    Ok(())
}

/// SRS rows a worker has already checked against a verifying key's `[τ_X]₂`, by a
/// BLAKE3 fingerprint of the row's points and the G2 part. A worker that proves job
/// after job with the same SRS keeps one of these and pays for each row's check (an
/// MSM of the row's length) once. Bounded: the oldest entries are forgotten.
#[derive(Clone, Debug)]
pub struct CheckedRows {
    entries: std::collections::VecDeque<[u8; 32]>,
    capacity: usize,
}

impl Default for CheckedRows {
    fn default() -> Self {
        CheckedRows::with_capacity(64)
    }
}

impl CheckedRows {
    /// A cache that remembers at most `capacity` rows.
    pub fn with_capacity(capacity: usize) -> Self {
        CheckedRows {
            entries: std::collections::VecDeque::with_capacity(capacity.min(1024)),
            capacity,
        }
    }

    fn fingerprint(
        shard: usize,
        row_digest: &[u8; 32],
        g2: &tutti_crypto::srs::G2Part,
    ) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(b"tutti/checked-row/v1");
        h.update(&(shard as u64).to_be_bytes());
        let mut g = Vec::new();
        g2.encode(&mut g);
        h.update(&g);
        h.update(row_digest);
        *h.finalize().as_bytes()
    }

    fn contains(&self, f: &[u8; 32]) -> bool {
        self.entries.contains(f)
    }

    fn insert(&mut self, f: [u8; 32]) {
        if self.capacity == 0 || self.contains(&f) {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(f);
    }

    /// Rows remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no row is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl SignedWorker {
    /// A worker for `inputs`; it refuses at once, before it signs anything else, if its
    /// inputs do not fit `vk` (see [`SignedWorker::with_checked_rows`]). Checks the SRS
    /// row every time: a long-running worker should keep a [`CheckedRows`].
    pub fn new(
        identity: WorkerIdentity,
        job_id: JobId,
        vk: &VerifyingKey,
        inputs: ShardInputs,
    ) -> Self {
        Self::build(identity, job_id, vk, inputs, None)
    }

    /// A worker for `inputs` that skips the SRS row check for a row `checked` already
    /// passed (and remembers this one if it passes). Its first directive is answered
    /// with a signed refusal of round 1 if the statement does not have the key's length
    /// (MalformedInputs), the proving key is not the shard's part of `vk` (KeyMismatch:
    /// commitments, Lagrange base, shape, δ, public rows) or its SRS row is not
    /// consistent with `vk` (SrsRowInconsistent).
    pub fn with_checked_rows(
        identity: WorkerIdentity,
        job_id: JobId,
        vk: &VerifyingKey,
        inputs: ShardInputs,
        checked: &mut CheckedRows,
    ) -> Self {
        Self::build(identity, job_id, vk, inputs, Some(checked))
    }

    fn build(
        identity: WorkerIdentity,
        job_id: JobId,
        vk: &VerifyingKey,
        inputs: ShardInputs,
        checked: Option<&mut CheckedRows>,
    ) -> Self {
        let context = job_context(vk, &inputs.public_inputs);
        let row_digest = row_points_digest(&inputs.key.row);
        let unfit = check_inputs(vk, &inputs, &row_digest, checked).err();
        SignedWorker {
            identity,
            job_id,
            context,
            inputs_digest: inputs.digest_with_row(&row_digest),
            inputs,
            checks: true,
            engine: None,
            history: Vec::new(),
            produced: Vec::new(),
            refused: false,
            unfit,
        }
    }

    /// Disables witness checks (to model a worker that pushes a bad witness through).
    pub fn without_witness_checks(mut self) -> Self {
        self.checks = false;
        self
    }

    /// Adversarial testing only: sign as if the inputs had digest `digest` (a liar that
    /// computes on other inputs than it claims). An honest worker never does this.
    pub fn claiming_inputs_digest(mut self, digest: [u8; 32]) -> Self {
        self.inputs_digest = digest;
        self
    }

    /// The shard.
    pub fn shard(&self) -> usize {
        self.inputs.key.shard
    }

    /// The worker's identity.
    pub fn identity(&self) -> &WorkerIdentity {
        &self.identity
    }

    fn seal(&self, attempt: u32, msg: &WorkerMessage) -> Envelope {
        let round = msg.round() as usize;
        let answers = answers_digest(
            &self.inputs_digest,
            &self.history[..(round - 1).min(self.history.len())],
        );
        Envelope::seal(
            &self.identity,
            self.job_id,
            attempt,
            self.shard() as u32,
            self.context,
            answers,
            msg,
        )
    }

    fn fresh_engine(&self) -> Worker {
        let w = Worker::new(self.inputs.clone());
        if self.checks {
            w
        } else {
            w.without_witness_checks()
        }
    }

    /// Runs the engine over `self.history`, producing any messages not produced yet.
    fn advance(&mut self) {
        if self.refused {
            return;
        }
        if self.engine.is_none() {
            let mut e = self.fresh_engine();
            match e.start() {
                Ok(m) => self.produced = vec![m],
                Err(err) => {
                    self.produced = vec![WorkerMessage::Refusal {
                        round: 1,
                        reason: refusal_reason(&err),
                    }];
                    self.refused = true;
                    return;
                }
            }
            self.engine = Some(e);
        }
        while self.produced.len() <= self.history.len() && self.produced.len() < 5 {
            let k = self.produced.len();
            let Some(engine) = self.engine.as_mut() else {
                return;
            };
            match engine.handle(&self.history[k - 1]) {
                Ok(m) => self.produced.push(m),
                Err(err) => {
                    self.produced.push(WorkerMessage::Refusal {
                        round: k as u8 + 1,
                        reason: refusal_reason(&err),
                    });
                    self.refused = true;
                    return;
                }
            }
        }
    }

    /// Handles a directive; returns the signed messages to send.
    pub fn handle(&mut self, d: &Directive) -> Vec<Envelope> {
        let span = tracing::debug_span!("worker", shard = self.shard(), id = %self.identity.id());
        let _enter = span.enter();
        let (attempt, send_from) = match d {
            Directive::Next { attempt, message } => {
                if self.history.len() >= 4 {
                    return Vec::new();
                }
                self.history.push(message.clone());
                (*attempt, self.history.len() as u8 + 1)
            }
            Directive::Resume {
                attempt,
                history,
                send_from,
            } => {
                let keeps_prefix = history.len() >= self.history.len()
                    && history[..self.history.len()] == self.history[..];
                if !keeps_prefix || self.refused {
                    // Different challenges: rebuild and replay from scratch.
                    self.engine = None;
                    self.produced.clear();
                    self.refused = false;
                }
                self.history = history.iter().take(4).cloned().collect();
                (*attempt, *send_from)
            }
        };
        if let Some(reason) = self.unfit {
            // Inputs that do not fit the verifying key: refuse round 1 outright.
            let msg = WorkerMessage::Refusal { round: 1, reason };
            return vec![self.seal(attempt, &msg)];
        }
        self.advance();
        self.produced
            .iter()
            .filter(|m| m.round() >= send_from.max(1))
            .map(|m| self.seal(attempt, m))
            .collect()
    }
}
