//! The sans-IO aggregator: collects each round's worker messages, checks them, derives
//! the challenges, adds the Y-side of every commitment and opening, and emits one proof
//! only after verifying it. Input: [`Aggregator::handle_message`]. Output:
//! [`Aggregator::poll_event`]. No sockets, clocks or threads.

pub mod coordinator;
pub mod journal;
pub mod yside;

use crate::checks::{self, ShardChallenges, ShardCommitments};
use crate::constraint::Challenges;
use crate::error::ProtocolError;
use crate::fiat_shamir as fs;
use crate::keys::AggregatorKey;
use crate::linearise::{OpeningWeights, ProofPoint, VALUED, proof_weights};
use crate::messages::{AggregatorMessage, QUOTIENT_PIECES, VALUES_AT_X, WorkerMessage};
use crate::proof::{Proof, ProofEvaluations};
use crate::verifier::verification_batch;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, Zero};
use ark_poly::EvaluationDomain;
use std::collections::VecDeque;
use std::sync::Arc;
use tutti_crypto::kzg::{PairingBatch, ShareClaim, commit, find_bad_shares, open};
use tutti_crypto::poly::{evaluate, linear_combination};
use tutti_crypto::scalars::derive_scalars;
use tutti_crypto::transcript::Transcript;
use tutti_crypto::{Fr, G1Affine, G1Projective};
use yside::YPolys;

/// Knobs of the aggregator.
#[derive(Clone, Copy, Debug, Default)]
pub struct AggregatorOptions {
    /// Soundness testing only: skip the product, identity and share checks so that a bad
    /// witness reaches the final verification. The final verification always runs, and
    /// a proof that fails it is never emitted.
    pub skip_share_checks: bool,
    /// Check every worker's round-5 openings under private random weights even when the
    /// proof verifies. Off (the default), the proof's own verification is the optimistic
    /// batch: it is the unit-weight sum of every share equation plus the Y-side, so any
    /// wrong share that changes the proof makes it fail, and only then are the shares
    /// checked one by one (weighted, then bisected) to name the worker. What strict mode
    /// adds: naming colluding workers whose wrong openings cancel exactly in the sum
    /// (the emitted proof is the same valid proof either way), for an MSM of about
    /// 20·M more points per proof.
    pub strict_share_checks: bool,
}

/// What the aggregator asks its driver to do.
#[derive(Clone, Debug)]
pub enum AggregatorEvent {
    /// Send a message to the worker of a shard.
    Send {
        /// The shard.
        shard: usize,
        /// The message.
        message: AggregatorMessage,
    },
    /// The proof is ready and verifies.
    ProofReady(Box<Proof>),
    /// The job failed; nothing will be emitted.
    Failed(ProtocolError),
}

#[derive(Debug, Default)]
struct Collected {
    wires: Vec<[G1Affine; 3]>,
    z: Vec<G1Affine>,
    products: Vec<Fr>,
    quotient: Vec<[G1Affine; QUOTIENT_PIECES]>,
    evals: Vec<([Fr; VALUES_AT_X], Fr)>,
}

/// The aggregator of one proving job.
pub struct Aggregator {
    key: Arc<AggregatorKey>,
    public_inputs: Vec<Fr>,
    job_key: [u8; 32],
    options: AggregatorOptions,
    transcript: Transcript,
    round: u8,
    done: bool,
    inbox: Vec<Option<WorkerMessage>>,
    got: Collected,
    proof: Proof,
    ch: Challenges,
    x: Fr,
    y: Fr,
    /// The round-5 weights sent to every worker.
    weights: OpeningWeights,
    /// W[0..M] (and, in audit mode, W[M] = W[M−1]·P_{M−1}).
    w_values: Vec<Fr>,
    w_coeffs: Vec<Fr>,
    y_polys: Option<YPolys>,
    h_y: Vec<Fr>,
    audit: bool,
    point_constants: Option<checks::PointConstants>,
    events: VecDeque<AggregatorEvent>,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator")
            .field("round", &self.round)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Aggregator {
    /// An aggregator for one job. `job_key` seeds its private randomness (W blinding and
    /// share-check weights); it must not be known to workers.
    pub fn new(
        key: Arc<AggregatorKey>,
        public_inputs: Vec<Fr>,
        job_key: [u8; 32],
        options: AggregatorOptions,
    ) -> Result<Self, ProtocolError> {
        let vk = &key.vk;
        if public_inputs.len() != vk.public_positions.len() {
            return Err(ProtocolError::PublicInputCount {
                expected: vk.public_positions.len(),
                got: public_inputs.len(),
            });
        }
        let m = vk.shape.shards;
        if key.shard_fixed.len() != m || key.lagrange_y.len() != m {
            return Err(ProtocolError::Mismatch(
                "aggregator key does not match the shard count".into(),
            ));
        }
        let transcript = fs::start(vk, &public_inputs);
        let zero = G1Affine::zero();
        Ok(Aggregator {
            key,
            public_inputs,
            job_key,
            options,
            transcript,
            round: 1,
            done: false,
            inbox: vec![None; m],
            got: Collected::default(),
            proof: Proof {
                wires: [zero; 3],
                z: zero,
                w: zero,
                quotient_x: [zero; 3],
                quotient_y: zero,
                evals: ProofEvaluations::default(),
                open_x: zero,
                open_x_shift: zero,
                open_y: zero,
                open_y_shift: zero,
            },
            ch: Challenges::default(),
            x: Fr::zero(),
            y: Fr::zero(),
            weights: OpeningWeights::default(),
            w_values: Vec::new(),
            w_coeffs: Vec::new(),
            y_polys: None,
            h_y: Vec::new(),
            audit: false,
            point_constants: None,
            events: VecDeque::new(),
        })
    }

    /// True when the reported running products did not multiply to one and the job runs
    /// in audit mode: rounds 3–5 only serve to find a worker whose product was a lie.
    pub fn auditing(&self) -> bool {
        self.audit
    }

    /// Check 4 for one shard on arrival (before its round is complete); `None` before x
    /// is drawn.
    pub fn local_identity(
        &mut self,
        shard: usize,
        at_x: &[Fr; VALUES_AT_X],
        z_shift: Fr,
    ) -> Option<bool> {
        let ch = self.challenges_for(shard)?;
        let key = self.key.clone();
        let k = self.point_constants(&key.vk);
        let pi = checks::public_input_at(&key.vk, &self.public_inputs, shard, ch.x);
        Some(checks::local_identity_holds_at(
            &key.vk, &k, shard, at_x, z_shift, &ch, pi,
        ))
    }

    fn point_constants(&mut self, vk: &crate::keys::VerifyingKey) -> checks::PointConstants {
        match self.point_constants {
            Some(k) => k,
            None => {
                let k = checks::PointConstants::new(vk, self.x);
                self.point_constants = Some(k);
                k
            }
        }
    }

    /// The challenges shard `shard` has been sent (for check 4 on arrival).
    pub fn challenges_for(&self, shard: usize) -> Option<ShardChallenges> {
        (self.round >= 4 && shard < self.w_values.len()).then(|| self.shard_challenges(shard))
    }

    /// The round whose worker messages the aggregator is waiting for (6 when finished).
    pub fn round(&self) -> u8 {
        self.round
    }

    /// True once a proof was emitted or the job failed.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Next thing for the driver to do.
    pub fn poll_event(&mut self) -> Option<AggregatorEvent> {
        self.events.pop_front()
    }

    /// Takes one worker message. An `Err` means the message itself was refused (wrong
    /// round, unknown shard, a different second message); job-level outcomes come out of
    /// [`Aggregator::poll_event`].
    pub fn handle_message(
        &mut self,
        shard: usize,
        msg: WorkerMessage,
    ) -> Result<(), ProtocolError> {
        let m = self.key.vk.shape.shards;
        if self.done {
            return Err(ProtocolError::UnexpectedMessage("the job is over".into()));
        }
        if shard >= m {
            return Err(ProtocolError::UnexpectedMessage(format!(
                "shard {shard} does not exist (the job has {m})"
            )));
        }
        if let WorkerMessage::Refusal { reason, .. } = msg {
            self.done = true;
            self.events
                .push_back(AggregatorEvent::Failed(ProtocolError::Refused {
                    shard,
                    reason,
                }));
            return Ok(());
        }
        if msg.round() != self.round {
            return Err(ProtocolError::UnexpectedMessage(format!(
                "shard {shard} sent a round-{} message while round {} is open",
                msg.round(),
                self.round
            )));
        }
        match &self.inbox[shard] {
            Some(prev) if *prev == msg => return Ok(()),
            Some(_) => {
                return Err(ProtocolError::UnexpectedMessage(format!(
                    "shard {shard} sent two different round-{} messages",
                    self.round
                )));
            }
            None => self.inbox[shard] = Some(msg),
        }
        if self.inbox.iter().all(Option::is_some) {
            let msgs: Vec<WorkerMessage> = self.inbox.iter_mut().filter_map(Option::take).collect();
            let span = tracing::debug_span!("aggregator_round", round = self.round);
            let _enter = span.enter();
            match self.complete_round(msgs) {
                Ok(()) => self.round += 1,
                Err(e) => {
                    tracing::warn!(error = %e, "job failed");
                    self.done = true;
                    self.events.push_back(AggregatorEvent::Failed(e));
                }
            }
        }
        Ok(())
    }

    fn broadcast(&mut self, f: impl Fn(usize) -> AggregatorMessage) {
        for shard in 0..self.key.vk.shape.shards {
            self.events.push_back(AggregatorEvent::Send {
                shard,
                message: f(shard),
            });
        }
    }

    fn complete_round(&mut self, msgs: Vec<WorkerMessage>) -> Result<(), ProtocolError> {
        match self.round {
            1 => self.after_round1(msgs),
            2 => self.after_round2(msgs),
            3 => self.after_round3(msgs),
            4 => self.after_round4(msgs),
            _ => self.after_round5(msgs),
        }
    }

    fn after_round1(&mut self, msgs: Vec<WorkerMessage>) -> Result<(), ProtocolError> {
        for msg in msgs {
            if let WorkerMessage::Wires { commitments } = msg {
                self.got.wires.push(commitments);
            }
        }
        self.proof.wires = sum_columns(&self.got.wires);
        let (beta, gamma) = fs::permutation_challenges(&mut self.transcript, &self.proof.wires);
        self.ch.beta = beta;
        self.ch.gamma = gamma;
        self.broadcast(|_| AggregatorMessage::PermutationChallenges { beta, gamma });
        Ok(())
    }

    fn after_round2(&mut self, msgs: Vec<WorkerMessage>) -> Result<(), ProtocolError> {
        for msg in msgs {
            if let WorkerMessage::RunningProduct {
                commitment,
                product,
            } = msg
            {
                self.got.z.push(commitment);
                self.got.products.push(product);
            }
        }
        let total: Fr = self.got.products.iter().product();
        if total != Fr::one() && !self.options.skip_share_checks {
            // Either a worker lied about its product or the witness breaks a copy
            // constraint. Audit: run rounds 3–5 with checks, each shard linked to the
            // products as reported, so a liar fails its own identity or openings; if
            // nobody does, the witness is at fault and nobody is blamed.
            tracing::warn!("running products do not multiply to 1: auditing the shards");
            self.audit = true;
        }
        let vk = &self.key.vk;
        self.w_values = yside::w_values(&self.got.products);
        let blind = derive_scalars(&self.job_key, b"w-blinding", 3);
        self.w_coeffs = yside::w_polynomial(vk, &self.w_values, &blind);
        self.proof.w = commit(&self.key.y_powers, &self.w_coeffs)?.into_affine();
        self.proof.z = sum_points(&self.got.z);
        let alpha = fs::combination_challenge(&mut self.transcript, &self.proof.z, &self.proof.w);
        self.ch.alpha = alpha;
        let m = vk.shape.shards;
        if self.audit {
            // The last shard is linked to its own report instead of to W[0] = 1.
            let last = self.w_values[m - 1] * self.got.products[m - 1];
            self.w_values.push(last);
        }
        let w = self.w_values.clone();
        let audit = self.audit;
        self.broadcast(|i| AggregatorMessage::LinkScalars {
            alpha,
            w: w[i],
            w_next: if audit { w[i + 1] } else { w[(i + 1) % m] },
        });
        Ok(())
    }

    fn after_round3(&mut self, msgs: Vec<WorkerMessage>) -> Result<(), ProtocolError> {
        for msg in msgs {
            if let WorkerMessage::Quotient { commitments } = msg {
                self.got.quotient.push(commitments);
            }
        }
        self.proof.quotient_x = sum_columns(&self.got.quotient);
        let x = fs::x_point(&mut self.transcript, &self.proof.quotient_x);
        self.x = x;
        self.broadcast(|_| AggregatorMessage::EvaluationPoint { x });
        Ok(())
    }

    fn shard_challenges(&self, shard: usize) -> ShardChallenges {
        let m = self.key.vk.shape.shards;
        let next = if self.audit {
            shard + 1
        } else {
            (shard + 1) % m
        };
        ShardChallenges {
            constraint: self.ch,
            w: self.w_values[shard],
            w_next: self.w_values[next],
            x: self.x,
        }
    }

    fn after_round4(&mut self, msgs: Vec<WorkerMessage>) -> Result<(), ProtocolError> {
        for msg in msgs {
            if let WorkerMessage::Evaluations { at_x, z_shift } = msg {
                self.got.evals.push((at_x, z_shift));
            }
        }
        let key = self.key.clone();
        let vk = &key.vk;
        let pi = yside::public_input_per_shard(vk, &self.public_inputs, self.x);
        if !self.options.skip_share_checks {
            let k = self.point_constants(vk);
            for (shard, pi_s) in pi.iter().enumerate() {
                let (at_x, z_shift) = &self.got.evals[shard];
                let ch = self.shard_challenges(shard);
                if !checks::local_identity_holds_at(vk, &k, shard, at_x, *z_shift, &ch, *pi_s) {
                    return Err(ProtocolError::ShareRejected {
                        shard,
                        reason: "its evaluations at x break its own constraint identity G_i(x) = Z_X(x)·H_X,i(x)".into(),
                    });
                }
            }
        }
        let polys = yside::interpolate(vk, &self.got.evals);
        self.h_y = match yside::y_quotient(vk, &polys, &self.w_coeffs, &pi, &self.ch, self.x) {
            Ok(h) => h,
            Err(e) if !self.options.skip_share_checks && !self.audit => return Err(e),
            Err(_) => Vec::new(),
        };
        self.proof.quotient_y = commit(&key.y_powers, &self.h_y)?.into_affine();
        let y = fs::y_point(&mut self.transcript, &self.proof.quotient_y);
        self.y = y;
        let omega_y = vk.shape.y_domain().group_gen();
        // The proof opens only the polynomials of VALUED: a, b, c, σ_0, σ_1.
        let [a, b, c, s0, s1] = VALUED.map(|k| evaluate(&polys.at_x[k], y));
        self.proof.evals = ProofEvaluations {
            wires: [a, b, c],
            sigmas: [s0, s1],
            z_shift: evaluate(&polys.z_shift, y),
            w: evaluate(&self.w_coeffs, y),
            w_shift: evaluate(&self.w_coeffs, omega_y * y),
        };
        self.y_polys = Some(polys);
        let nu = fs::batching_challenge(&mut self.transcript, &self.proof.evals);
        let point = ProofPoint {
            constraint: self.ch,
            x: self.x,
            y,
            nu,
        };
        self.weights = proof_weights(vk, &self.public_inputs, &self.proof.evals, &point).0;
        let weights = self.weights;
        self.broadcast(|_| AggregatorMessage::OpeningWeights(weights));
        Ok(())
    }

    /// Check 3 under private weights (after the proof failed, in audit mode, or always
    /// in strict mode): every worker's two share claims with the aggregator-private
    /// `weights` in one pairing batch — the same equation as
    /// [`tutti_crypto::kzg::batch_check_shares`] over [`Self::share_claims`], but with each
    /// worker commitment entering the batch's single MSM directly (weight `w·λ_j`) instead
    /// of one small MSM per worker.
    fn share_batch(&self, openings: &[(G1Affine, G1Affine)], weights: &[Fr]) -> PairingBatch {
        let key = &self.key;
        let powers = self.weights.expand(key.vk.shape.shard_gates, self.x);
        let omega_x = key.vk.shape.x_domain().group_gen();
        let mut b = PairingBatch::new();
        for (i, (pa, pb)) in openings.iter().enumerate() {
            let (wa, wb) = (weights[2 * i], weights[2 * i + 1]);
            let commitments = checks::opened_commitments(
                &self.got.wires[i],
                &key.shard_fixed[i],
                &self.got.z[i],
                &self.got.quotient[i],
            );
            for (c, p) in commitments.iter().zip(&powers) {
                b.add_one(*c, wa * p);
            }
            let (at_x, z_shift) = &self.got.evals[i];
            let value = checks::weighted_value(at_x, &powers);
            let base = key.lagrange_y[i];
            b.add_one(base, -(wa * value + wb * z_shift));
            b.add_one(*pa, wa * self.x);
            b.add_tau_x(*pa, -wa);
            b.add_one(self.got.z[i], wb);
            b.add_one(*pb, wb * omega_x * self.x);
            b.add_tau_x(*pb, -wb);
        }
        b
    }

    fn share_claims(&self, openings: &[(G1Affine, G1Affine)]) -> Vec<ShareClaim> {
        openings
            .iter()
            .enumerate()
            .flat_map(|(i, o)| {
                let c = ShardCommitments {
                    wires: self.got.wires[i],
                    z: self.got.z[i],
                    quotient: self.got.quotient[i],
                };
                let (at_x, z_shift) = &self.got.evals[i];
                checks::share_claims(
                    &self.key.vk,
                    i,
                    &c,
                    at_x,
                    *z_shift,
                    self.x,
                    &self.weights,
                    *o,
                )
            })
            .collect()
    }

    /// Sums the workers' X-openings, draws μ, and adds the folded Y-openings: the proof
    /// is complete (not yet checked).
    fn assemble(&mut self, openings: &[(G1Affine, G1Affine)]) -> Result<(), ProtocolError> {
        let key = self.key.clone();
        self.proof.open_x = sum_points(&openings.iter().map(|o| o.0).collect::<Vec<_>>());
        self.proof.open_x_shift = sum_points(&openings.iter().map(|o| o.1).collect::<Vec<_>>());
        let mu = fs::fold_challenge(
            &mut self.transcript,
            &self.proof.open_x,
            &self.proof.open_x_shift,
        );
        let polys = self.y_polys.take().unwrap_or(YPolys {
            at_x: Vec::new(),
            z_shift: Vec::new(),
        });
        // One Y-proof for everything opened at y:
        // Σ λ_j f_j(Y, x) + λ_H·H_Y + μ·z(Y, ω_X x) + μ²·W.
        let mut refs: Vec<&[Fr]> = polys.at_x.iter().map(|p| p.as_slice()).collect();
        refs.extend([self.h_y.as_slice(), &polys.z_shift, &self.w_coeffs]);
        let vk = &key.vk;
        // The quotient's Y-polynomial (last of `polys.at_x`) carries h_0's weight.
        let mut scalars = self.weights.expand(vk.shape.shard_gates, self.x)[..VALUES_AT_X].to_vec();
        scalars.extend([
            self.weights.quotient_y_weight(vk.shape.shards, self.y),
            mu,
            mu * mu,
        ]);
        let folded = linear_combination(&refs, &scalars);
        let omega_y = key.vk.shape.y_domain().group_gen();
        let (_, open_y) = open(&key.y_powers, &folded, self.y)?;
        let (_, open_y_shift) = open(&key.y_powers, &self.w_coeffs, omega_y * self.y)?;
        let pts = G1Projective::normalize_batch(&[open_y, open_y_shift]);
        self.proof.open_y = pts[0];
        self.proof.open_y_shift = pts[1];
        Ok(())
    }

    /// Per-shard claims, bisected: names the first worker whose share fails.
    fn name_bad_share(&self, openings: &[(G1Affine, G1Affine)], weights: &[Fr]) -> ProtocolError {
        let claims = self.share_claims(openings);
        let bad = find_bad_shares(&claims, weights, &self.key.vk.g2);
        match bad.first() {
            Some(first) => ProtocolError::ShareRejected {
                shard: first / 2,
                reason: "its opening proofs do not match its commitments and evaluations".into(),
            },
            None => ProtocolError::Mismatch(
                "the batched share check failed but no single share does".into(),
            ),
        }
    }

    fn after_round5(&mut self, msgs: Vec<WorkerMessage>) -> Result<(), ProtocolError> {
        let openings: Vec<(G1Affine, G1Affine)> = msgs
            .into_iter()
            .filter_map(|m| match m {
                WorkerMessage::Openings { at_x, at_shifted_x } => Some((at_x, at_shifted_x)),
                _ => None,
            })
            .collect();
        let key = self.key.clone();
        let weights = derive_scalars(&self.job_key, b"share-weights", 2 * openings.len());
        let checks = !self.options.skip_share_checks;
        if self.audit {
            // Audit mode: only the shares matter. If every shard's identity and openings
            // check out, nobody lied about its product: the witness breaks a copy
            // constraint across shards.
            if checks && !self.share_batch(&openings, &weights).check(&key.vk.g2) {
                return Err(self.name_bad_share(&openings, &weights));
            }
            return Err(ProtocolError::GlobalProductMismatch);
        }
        self.assemble(&openings)?;
        let rejected = |e: ProtocolError, proof: &Proof| ProtocolError::ProofRejected {
            reason: e.to_string(),
            rejected: proof.to_bytes(),
        };
        let verification = verification_batch(&key.vk, &self.public_inputs, &self.proof)
            .map_err(|e| rejected(e, &self.proof))?;
        // One multi-pairing for the whole round when everyone is honest: the proof's own
        // equation (the unit-weight sum of every share), and in strict mode the weighted
        // shares too, the proof then under a private random weight ρ ≠ 0. If the shares
        // hold, the folded product is the proof's product to the power ρ, so it is 1
        // exactly when the proof verifies; the proof is never emitted otherwise.
        let mut folded = if checks && self.options.strict_share_checks {
            self.share_batch(&openings, &weights)
        } else {
            PairingBatch::new()
        };
        let rho = derive_scalars(&self.job_key, b"verify-weight", 1)[0];
        if rho.is_zero() {
            return Err(ProtocolError::Mismatch("zero verification weight".into()));
        }
        folded.absorb(&verification, rho);
        if !folded.check(&key.vk.g2) {
            // Something fails: the shares first (to name the worker), else the proof.
            if checks && !self.share_batch(&openings, &weights).check(&key.vk.g2) {
                return Err(self.name_bad_share(&openings, &weights));
            }
            return Err(rejected(
                ProtocolError::InvalidProof(
                    "the pairing check of the batched openings fails".into(),
                ),
                &self.proof,
            ));
        }
        self.done = true;
        self.events
            .push_back(AggregatorEvent::ProofReady(Box::new(self.proof)));
        Ok(())
    }
}

fn sum_points(points: &[G1Affine]) -> G1Affine {
    points
        .iter()
        .map(|p| p.into_group())
        .sum::<G1Projective>()
        .into_affine()
}

fn sum_columns<const N: usize>(rows: &[[G1Affine; N]]) -> [G1Affine; N] {
    std::array::from_fn(|k| sum_points(&rows.iter().map(|r| r[k]).collect::<Vec<_>>()))
}
