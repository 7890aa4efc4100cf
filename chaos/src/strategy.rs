//! The catalogue of Byzantine worker strategies. A strategy is chosen per worker and
//! acts from a given round on; each rewrites, withholds, delays or adds to what an honest
//! worker would send. Strategies compose across workers (several Byzantine workers, two
//! colluding on one lie).

use serde::Serialize;
use tutti_protocol::runner::Fault;

/// How one worker misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    /// Dies when it would send this round's message; the transport notices.
    Crash,
    /// Stays connected but never answers again.
    Stall,
    /// Dies, loses every state, and comes back after `down_ms` (rejoining).
    RestartRejoin {
        /// Milliseconds down.
        down_ms: u32,
    },
    /// Frozen (SIGSTOP) for `for_ms`, then carries on where it stopped.
    Freeze {
        /// Milliseconds frozen.
        for_ms: u32,
    },
    /// Sends a wrong value: commitment (rounds 1–3), running product (2), evaluation (4)
    /// or opening (5).
    Lie(Fault),
    /// Signs two different messages for the same slot.
    Equivocate,
    /// Also sends a copy of its message signed for another job and another attempt.
    Replay,
    /// Also sends its message re-signed as another shard's.
    WrongShard,
    /// Sends random bytes instead of its message.
    Malformed,
    /// Sends `count` junk messages (random and oversized) besides its own.
    Flood {
        /// How many.
        count: u16,
    },
    /// Flips a bit of its signature.
    BadSignature,
    /// Hands out corrupted erasure-coded fragments when asked.
    CorruptFragment,
    /// Colludes with `partner` on the running product: one multiplies its product by a
    /// factor, the other by its inverse, so the global product still checks out.
    Collude {
        /// The other colluding worker.
        partner: usize,
        /// True for the one multiplying by the inverse.
        inverse: bool,
    },
}

impl Serialize for Strategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl Strategy {
    /// A short name for reports.
    pub fn name(&self) -> String {
        match self {
            Strategy::Crash => "crash".into(),
            Strategy::Stall => "stall".into(),
            Strategy::RestartRejoin { down_ms } => format!("restart({down_ms}ms)"),
            Strategy::Freeze { for_ms } => format!("freeze({for_ms}ms)"),
            Strategy::Lie(f) => f.name().into(),
            Strategy::Equivocate => "equivocate".into(),
            Strategy::Replay => "replay".into(),
            Strategy::WrongShard => "wrong-shard".into(),
            Strategy::Malformed => "malformed".into(),
            Strategy::Flood { count } => format!("flood({count})"),
            Strategy::BadSignature => "bad-signature".into(),
            Strategy::CorruptFragment => "corrupt-fragment".into(),
            Strategy::Collude { partner, .. } => format!("collude(with {partner})"),
        }
    }

    /// Rounds at which the strategy can act.
    pub fn rounds(&self) -> std::ops::RangeInclusive<u8> {
        match self {
            Strategy::Lie(f) => f.rounds(),
            Strategy::Collude { .. } => 2..=2,
            _ => 1..=5,
        }
    }

    /// True when a certificate must name this worker once its fault acted at `round`:
    /// the lies the aggregator's checks prove (a wrong commitment, evaluation or
    /// opening), and equivocation before the last round (in the last round the proof may
    /// be complete before the second message arrives, and then it changes nothing).
    pub fn must_be_blamed(&self, round: u8) -> bool {
        match self {
            Strategy::Lie(Fault::WrongCommitment | Fault::WrongEvaluation | Fault::BadOpening) => {
                true
            }
            Strategy::Equivocate => round < 5,
            _ => false,
        }
    }

    /// True when a certificate may name this worker (a provable fault). Anything else
    /// blamed is a violation.
    pub fn may_be_blamed(&self) -> bool {
        matches!(
            self,
            Strategy::Lie(_)
                | Strategy::Equivocate
                | Strategy::Malformed
                | Strategy::CorruptFragment
                | Strategy::Collude { .. }
                | Strategy::WrongShard
        )
    }
}

/// A strategy and the round from which it acts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Byzantine {
    /// What it does.
    pub strategy: Strategy,
    /// From which round.
    pub round: u8,
}
