//! Fault injection for the in-process runner: what a faulty worker does, and when.

use crate::envelope::Envelope;
use crate::messages::WorkerMessage;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::One;
use std::str::FromStr;
use tutti_crypto::identity::WorkerIdentity;
use tutti_crypto::{Fr, G1Affine};

/// A way for a worker to misbehave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Dies; the transport notices.
    Crash,
    /// Stays connected but never answers.
    Stall,
    /// Sends a wrong commitment (rounds 1–3).
    WrongCommitment,
    /// Sends a wrong evaluation (round 4).
    WrongEvaluation,
    /// Sends a wrong opening proof (round 5).
    BadOpening,
    /// Reports a wrong running product (round 2).
    WrongProduct,
    /// Signs two different messages for one round.
    Equivocate,
    /// Sends a message whose signature does not verify, instead of the real one.
    BadSignature,
    /// Also sends a copy of a message signed for another job.
    Replay,
    /// Hands out corrupted erasure-coded fragments of other shards' inputs.
    CorruptFragment,
}

impl Fault {
    /// Every fault kind.
    pub const ALL: [Fault; 10] = [
        Fault::Crash,
        Fault::Stall,
        Fault::WrongCommitment,
        Fault::WrongEvaluation,
        Fault::BadOpening,
        Fault::WrongProduct,
        Fault::Equivocate,
        Fault::BadSignature,
        Fault::Replay,
        Fault::CorruptFragment,
    ];

    /// The name used on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Crash => "crash",
            Fault::Stall => "stall",
            Fault::WrongCommitment => "wrong-commitment",
            Fault::WrongEvaluation => "wrong-evaluation",
            Fault::BadOpening => "bad-opening",
            Fault::WrongProduct => "wrong-product",
            Fault::Equivocate => "equivocate",
            Fault::BadSignature => "bad-signature",
            Fault::Replay => "replay",
            Fault::CorruptFragment => "corrupt-fragment",
        }
    }

    /// The round at which the fault acts when none is given.
    pub fn default_round(&self) -> u8 {
        match self {
            Fault::WrongEvaluation => 4,
            Fault::BadOpening => 5,
            Fault::WrongProduct => 2,
            Fault::Crash | Fault::Stall => 3,
            _ => 1,
        }
    }

    /// Rounds at which the fault makes sense.
    pub fn rounds(&self) -> std::ops::RangeInclusive<u8> {
        match self {
            Fault::WrongCommitment => 1..=3,
            Fault::WrongEvaluation => 4..=4,
            Fault::BadOpening => 5..=5,
            Fault::WrongProduct => 2..=2,
            _ => 1..=5,
        }
    }

    /// True when a certificate can prove this fault.
    pub fn provable(&self) -> bool {
        !matches!(
            self,
            Fault::Crash | Fault::Stall | Fault::BadSignature | Fault::Replay
        )
    }
}

/// `SHARD:FAULT[@ROUND]`, as given to `tutti prove --inject`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultSpec {
    /// The shard whose first worker misbehaves.
    pub shard: usize,
    /// How.
    pub fault: Fault,
    /// At which round.
    pub round: u8,
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (shard, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected SHARD:FAULT[@ROUND]"))?;
        let shard: usize = shard
            .parse()
            .map_err(|_| format!("{s:?}: {shard:?} is not a shard number"))?;
        let (name, round) = match rest.split_once('@') {
            Some((n, r)) => (n, Some(r)),
            None => (rest, None),
        };
        let fault = Fault::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
                format!("{s:?}: unknown fault {name:?}; known: {}", names.join(", "))
            })?;
        let round = match round {
            Some(r) => r
                .parse::<u8>()
                .map_err(|_| format!("{s:?}: {r:?} is not a round number"))?,
            None => fault.default_round(),
        };
        if !fault.rounds().contains(&round) {
            return Err(format!(
                "{s:?}: {} acts in rounds {}..={}, not {round}",
                fault.name(),
                fault.rounds().start(),
                fault.rounds().end()
            ));
        }
        Ok(FaultSpec {
            shard,
            fault,
            round,
        })
    }
}

fn bump(p: &G1Affine) -> G1Affine {
    (p.into_group() + G1Affine::generator()).into_affine()
}

/// The payload a lying worker sends instead of `msg`.
pub fn corrupt(fault: Fault, msg: &WorkerMessage) -> WorkerMessage {
    let mut m = msg.clone();
    match (&mut m, fault) {
        (WorkerMessage::Wires { commitments }, _)
        | (WorkerMessage::Quotient { commitments }, _) => commitments[0] = bump(&commitments[0]),
        (WorkerMessage::RunningProduct { product, .. }, Fault::WrongProduct) => {
            *product += *product
        }
        (WorkerMessage::RunningProduct { commitment, .. }, _) => *commitment = bump(commitment),
        (WorkerMessage::Evaluations { at_x, .. }, _) => at_x[0] += Fr::one(),
        (WorkerMessage::Openings { at_x, .. }, _) => *at_x = bump(at_x),
        (WorkerMessage::Refusal { .. }, _) => {}
    }
    m
}

/// Re-signs `env` with a different payload (the worker's own, valid signature).
pub fn resign(identity: &WorkerIdentity, env: &Envelope, msg: &WorkerMessage) -> Envelope {
    Envelope::seal(
        identity,
        env.job_id,
        env.attempt,
        env.shard,
        env.context,
        env.answers,
        msg,
    )
}
