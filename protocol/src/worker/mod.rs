//! The sans-IO worker: a state machine that turns aggregator messages into worker
//! messages. It holds one [`ShardProver`] and checks that messages arrive in order.

mod prover;
mod signed;

pub use prover::{ShardInputs, ShardProver, row_points_digest};
pub use signed::{CheckedRows, Directive, SignedWorker, expected_public_rows};

use crate::error::ProtocolError;
use crate::messages::{AggregatorMessage, WorkerMessage};

/// A worker proving one shard.
#[derive(Debug)]
pub struct Worker {
    prover: ShardProver,
    next_round: u8,
}

impl Worker {
    /// A worker for the given shard inputs.
    pub fn new(inputs: ShardInputs) -> Self {
        Worker {
            prover: ShardProver::new(inputs),
            next_round: 1,
        }
    }

    /// Disables the worker's own witness checks (soundness tests only: an honest worker
    /// refuses a bad witness; this lets a test push one through to the verifier).
    pub fn without_witness_checks(mut self) -> Self {
        self.prover.check_witness = false;
        self
    }

    /// The shard this worker proves.
    pub fn shard(&self) -> usize {
        self.prover.shard()
    }

    /// Produces the round-1 message.
    pub fn start(&mut self) -> Result<WorkerMessage, ProtocolError> {
        if self.next_round != 1 {
            return Err(ProtocolError::UnexpectedMessage(
                "worker already started".into(),
            ));
        }
        let commitments = self.prover.round1()?;
        self.next_round = 2;
        Ok(WorkerMessage::Wires { commitments })
    }

    /// Handles one aggregator message and returns the reply.
    pub fn handle(&mut self, msg: &AggregatorMessage) -> Result<WorkerMessage, ProtocolError> {
        if msg.answers_round() + 1 != self.next_round {
            return Err(ProtocolError::UnexpectedMessage(format!(
                "shard {}: got the answer to round {} while waiting to send round {}",
                self.shard(),
                msg.answers_round(),
                self.next_round
            )));
        }
        let span = tracing::debug_span!(
            "worker_round",
            shard = self.shard(),
            round = self.next_round
        );
        let _enter = span.enter();
        let reply = match *msg {
            AggregatorMessage::PermutationChallenges { beta, gamma } => {
                let (commitment, product) = self.prover.round2(beta, gamma)?;
                WorkerMessage::RunningProduct {
                    commitment,
                    product,
                }
            }
            AggregatorMessage::LinkScalars { alpha, w, w_next } => WorkerMessage::Quotient {
                commitments: self.prover.round3(alpha, w, w_next)?,
            },
            AggregatorMessage::EvaluationPoint { x } => {
                let (at_x, z_shift) = self.prover.round4(x)?;
                WorkerMessage::Evaluations { at_x, z_shift }
            }
            AggregatorMessage::OpeningWeights(weights) => {
                let (at_x, at_shifted_x) = self.prover.round5(&weights)?;
                WorkerMessage::Openings { at_x, at_shifted_x }
            }
        };
        self.next_round += 1;
        Ok(reply)
    }

    /// True once the round-5 message has been produced.
    pub fn finished(&self) -> bool {
        self.next_round > 5
    }
}
