//! What a Byzantine worker sends in place of an honest message.

use crate::strategy::{Byzantine, Strategy};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tutti_crypto::Fr;
use tutti_crypto::identity::WorkerIdentity;
use tutti_protocol::envelope::Envelope;
use tutti_protocol::messages::WorkerMessage;
use tutti_protocol::runner::faults::{Fault, corrupt, resign};

/// What happens to the worker itself when its strategy acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Goes on.
    Lives,
    /// Dies now (and stays dead).
    Dies,
    /// Goes silent (connection alive).
    Silent,
    /// Dies now, losing its state, and comes back after this many µs.
    Restarts(u64),
    /// Freezes for this many µs (what it sends now goes out afterwards).
    Freezes(u64),
}

/// The wire messages to send (compact envelopes, or junk) and the worker's fate.
pub struct Acted {
    /// Bytes to send, in order.
    pub wires: Vec<Vec<u8>>,
    /// What becomes of the worker.
    pub fate: Fate,
    /// True when the strategy acted on this message.
    pub fired: bool,
    /// The wire whose arrival makes the fault provable (a lie, the second of two
    /// equivocating messages).
    pub evidence: Option<usize>,
}

fn junk(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let len = if rng.gen_bool(0.2) {
        rng.gen_range(5_000..20_000)
    } else {
        rng.gen_range(0..200)
    };
    (0..len).map(|_| rng.r#gen()).collect()
}

/// Applies `byz` to one honest envelope (`once` strategies act only at their round).
pub fn act(
    identity: &WorkerIdentity,
    byz: Option<Byzantine>,
    env: Envelope,
    rng: &mut ChaCha8Rng,
) -> Acted {
    let honest = |env: Envelope| Acted {
        wires: vec![env.wire_bytes()],
        fate: Fate::Lives,
        fired: false,
        evidence: None,
    };
    let Some(b) = byz else {
        return honest(env);
    };
    if env.round < b.round {
        return honest(env);
    }
    let at = env.round == b.round;
    let Ok(msg) = env.message() else {
        return honest(env);
    };
    let fired = |wires: Vec<Vec<u8>>, fate: Fate| Acted {
        wires,
        fate,
        fired: true,
        evidence: None,
    };
    let proves = |wires: Vec<Vec<u8>>, at: usize| Acted {
        evidence: Some(at),
        ..fired(wires, Fate::Lives)
    };
    match b.strategy {
        Strategy::Crash => fired(Vec::new(), Fate::Dies),
        Strategy::Stall => fired(Vec::new(), Fate::Silent),
        Strategy::RestartRejoin { down_ms } if at => {
            fired(Vec::new(), Fate::Restarts(down_ms as u64 * 1000))
        }
        Strategy::Freeze { for_ms } if at => {
            fired(vec![env.wire_bytes()], Fate::Freezes(for_ms as u64 * 1000))
        }
        Strategy::Lie(f) if at => {
            let bad = resign(identity, &env, &corrupt(f, &msg));
            proves(vec![bad.wire_bytes()], 0)
        }
        Strategy::Equivocate if at => {
            let other = resign(identity, &env, &corrupt(Fault::WrongCommitment, &msg));
            proves(vec![env.wire_bytes(), other.wire_bytes()], 1)
        }
        Strategy::Replay if at => {
            let mut foreign = env.clone();
            foreign.job_id[0] ^= 1;
            let other_job = resign(identity, &foreign, &msg);
            let mut later = env.clone();
            later.attempt += 1;
            let other_attempt = resign(identity, &later, &msg);
            fired(
                vec![
                    other_job.wire_bytes(),
                    other_attempt.wire_bytes(),
                    env.wire_bytes(),
                ],
                Fate::Lives,
            )
        }
        Strategy::WrongShard if at => {
            let mut other = env.clone();
            other.shard = env.shard.wrapping_add(1);
            let other = resign(identity, &other, &msg);
            fired(vec![other.wire_bytes(), env.wire_bytes()], Fate::Lives)
        }
        Strategy::Malformed if at => {
            // Signed, so attributable: a payload that is not a message.
            let mut bad = env.clone();
            bad.payload = (0..rng.gen_range(1..120)).map(|_| rng.r#gen()).collect();
            bad.signature = identity.sign(&bad.signing_bytes());
            proves(vec![bad.wire_bytes()], 0)
        }
        Strategy::Flood { count } if at => {
            let mut wires: Vec<Vec<u8>> = (0..count).map(|_| junk(rng)).collect();
            wires.push(env.wire_bytes());
            fired(wires, Fate::Lives)
        }
        Strategy::BadSignature if at => {
            let mut bad = env.clone();
            bad.signature[0] ^= 1;
            fired(vec![bad.wire_bytes()], Fate::Lives)
        }
        Strategy::Collude { inverse, .. } if at => match msg {
            WorkerMessage::RunningProduct {
                commitment,
                product,
            } => {
                let seven = Fr::from(7u64);
                let factor = if inverse {
                    ark_ff::Field::inverse(&seven).unwrap_or(seven)
                } else {
                    seven
                };
                let lie = WorkerMessage::RunningProduct {
                    commitment,
                    product: product * factor,
                };
                fired(vec![resign(identity, &env, &lie).wire_bytes()], Fate::Lives)
            }
            _ => honest(env),
        },
        _ => honest(env),
    }
}
