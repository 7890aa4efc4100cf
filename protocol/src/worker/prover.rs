//! `ShardProver`: the computations of one shard in the five rounds. It knows nothing of
//! networks or of other shards; it is given its shard's proving key, wire values, the
//! statement's public inputs and a 32-byte shard key from which every blinding scalar is
//! derived, so the same inputs always give byte-identical messages.

use crate::constraint::{Challenges, ConstraintInputs, combined_constraint};
use crate::error::ProtocolError;
use crate::keys::{ShardProvingKey, quotient_coset};
use crate::layout::{Labels, ShardWitness, WIRE_SHIFTS, check_shard_gates};
use crate::linearise::OpeningWeights;
use crate::messages::{H_INDEX, OPENED_AT_X, QUOTIENT_PIECES, RefusalReason, VALUES_AT_X, Z_INDEX};
use crate::verifier::quotient_stride;
use crate::verifier::quotient_value;
use ark_ec::CurveGroup;
use ark_ff::{Field, One, Zero};
use ark_poly::EvaluationDomain;
use rayon::prelude::*;
use std::sync::Arc;
use tutti_crypto::kzg::{commit, open};
use tutti_crypto::poly::{add_vanishing_multiple, evaluate, linear_combination};
use tutti_crypto::scalars::derive_scalars;
use tutti_crypto::{Fr, G1Affine, G1Projective};

/// Up to this many public rows in a shard, PI on the quotient coset is built from rotated
/// copies of `L_0` instead of an iFFT and a coset FFT.
const ROTATED_PUBLIC_ROWS: usize = 8;

/// `combined_constraint` with the challenge- and shard-dependent constants computed once.
/// Field arithmetic is exact, so it returns the same element at every point.
struct HoistedConstraint {
    /// β·K_k.
    beta_shift: [Fr; 3],
    /// γ + β·δ_Y.
    gamma_delta: Fr,
    beta: Fr,
    gamma: Fr,
    omega_last: Fr,
    w: Fr,
    w_next: Fr,
    /// α, α², α³.
    alpha: [Fr; 3],
    /// α⁴·R_0·(W − 1): the Y-only term, constant on a shard.
    y_only: Fr,
}

impl HoistedConstraint {
    fn new(ch: &Challenges, omega_last: Fr, delta_y: Fr, w: Fr, w_next: Fr, r_first: Fr) -> Self {
        let a1 = ch.alpha;
        let a2 = a1 * a1;
        let a3 = a2 * a1;
        let a4 = a3 * a1;
        HoistedConstraint {
            beta_shift: WIRE_SHIFTS.map(|k| ch.beta * Fr::from(k)),
            gamma_delta: ch.gamma + ch.beta * delta_y,
            beta: ch.beta,
            gamma: ch.gamma,
            omega_last,
            w,
            w_next,
            alpha: [a1, a2, a3],
            y_only: a4 * (r_first * (w - Fr::one())),
        }
    }

    #[inline]
    fn eval(&self, c: &ConstraintInputs) -> Fr {
        let [a, b, cw] = c.wires;
        let q = c.selectors;
        let gate = q[0] * a + q[1] * b + q[2] * cw + q[3] * a * b + q[4] + c.pi;
        let mut f = Fr::one();
        let mut g = Fr::one();
        for k in 0..3 {
            let w = c.wires[k];
            f *= w + self.beta_shift[k] * c.x + self.gamma_delta;
            g *= w + self.gamma + self.beta * c.sigmas[k];
        }
        let step = (c.x - self.omega_last) * (c.z_shift * g - c.z * f);
        let start = c.l_first * (c.z - Fr::one());
        let link = c.l_last * (self.w * c.z - self.w_next);
        let [a1, a2, a3] = self.alpha;
        gate + a1 * step + a2 * start + a3 * link + self.y_only
    }
}

/// Everything a worker is given to prove one shard.
#[derive(Clone, Debug)]
pub struct ShardInputs {
    /// The shard's proving key (includes its SRS row).
    pub key: Arc<ShardProvingKey>,
    /// The shard's wire values.
    pub witness: ShardWitness,
    /// The statement's public inputs (all of them; the shard reads its own).
    pub public_inputs: Vec<Fr>,
    /// The per-shard key every blinding scalar is derived from.
    pub shard_key: [u8; 32],
}

impl ShardInputs {
    /// A hiding digest of everything the shard's messages depend on besides the
    /// challenges and the job context (which binds the verifying key and the statement):
    /// the whole proving key (shape, δ, the fixed commitments, the fixed polynomials'
    /// values, the public-input rows and the SRS row), the witness and the shard key
    /// (secret and random, which makes the digest hiding). `keccak256(
    /// "tutti/shard-inputs/v3" || shard u32 BE || M u32 BE || T u32 BE || δ 32 bytes BE ||
    /// 8 fixed commitments (64 bytes x‖y each) || BLAKE3(the 8·T fixed values, 32 bytes
    /// BE each) || public rows: count u32 BE, then (row u32 BE, index u32 BE) each ||
    /// BLAKE3(row, 64 bytes per point) || shard key || BLAKE3(for each wire: length u32
    /// BE and values 32 bytes BE))` (spec/envelope.md §3.1).
    ///
    /// The fixed values are hashed themselves, not only bound through their commitments:
    /// whoever knows the SRS trapdoor (a single-party setup) could open one commitment to
    /// two different polynomials.
    pub fn digest(&self) -> [u8; 32] {
        self.digest_with_row(&row_points_digest(&self.key.row))
    }

    /// [`ShardInputs::digest`] with the row's digest ([`row_points_digest`]) already
    /// computed. The three large parts (fixed values, witness, row) are encoded in
    /// parallel.
    pub fn digest_with_row(&self, row_digest: &[u8; 32]) -> [u8; 32] {
        use tutti_crypto::encoding::{g1_evm, scalar_be};
        let k = &self.key;
        let (fixed, wires) = rayon::join(
            || {
                let mut bytes = Vec::new();
                for values in &k.fixed_values {
                    encode_scalars_be(&mut bytes, values);
                }
                large_blake3(&bytes)
            },
            || {
                let mut bytes = Vec::new();
                for w in &self.witness.wires {
                    bytes.extend_from_slice(&(w.len() as u32).to_be_bytes());
                    encode_scalars_be(&mut bytes, w);
                }
                large_blake3(&bytes)
            },
        );
        let mut d = b"tutti/shard-inputs/v3".to_vec();
        d.extend_from_slice(&(k.shard as u32).to_be_bytes());
        d.extend_from_slice(&(k.shape.shards as u32).to_be_bytes());
        d.extend_from_slice(&(k.shape.shard_gates as u32).to_be_bytes());
        d.extend_from_slice(&scalar_be(&k.delta));
        for c in &k.commitments {
            d.extend_from_slice(&g1_evm(c));
        }
        d.extend_from_slice(&fixed);
        d.extend_from_slice(&(k.public_rows.len() as u32).to_be_bytes());
        for (row, index) in &k.public_rows {
            d.extend_from_slice(&(*row as u32).to_be_bytes());
            d.extend_from_slice(&(*index as u32).to_be_bytes());
        }
        d.extend_from_slice(row_digest);
        d.extend_from_slice(&self.shard_key);
        d.extend_from_slice(&wires);
        tutti_crypto::transcript::keccak256(&d)
    }
}

/// BLAKE3 of a (large) byte string, hashed on every thread of rayon's pool.
fn large_blake3(bytes: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update_rayon(bytes);
    *h.finalize().as_bytes()
}

/// BLAKE3 of the transcript encodings of a row's points, in order: the row's part of
/// the shard-inputs digest, and what a worker's cache of checked rows remembers.
pub fn row_points_digest(row: &tutti_crypto::srs::WorkerRow) -> [u8; 32] {
    let mut bytes = vec![0u8; 64 * row.bases.len()];
    bytes
        .par_chunks_mut(64)
        .zip(row.bases.par_iter())
        .for_each(|(dst, p)| dst.copy_from_slice(&tutti_crypto::encoding::g1_evm(p)));
    large_blake3(&bytes)
}

/// Appends the 32-byte big-endian encoding of each value (in parallel: digests hash
/// hundreds of thousands of them).
fn encode_scalars_be(out: &mut Vec<u8>, values: &[Fr]) {
    let start = out.len();
    out.resize(start + 32 * values.len(), 0);
    out[start..]
        .par_chunks_mut(32)
        .zip(values.par_iter())
        .for_each(|(dst, v)| dst.copy_from_slice(&tutti_crypto::encoding::scalar_be(v)));
}

/// State kept between rounds.
#[derive(Debug, Default)]
struct RoundState {
    wires: Option<[Vec<Fr>; 3]>,
    z: Vec<Fr>,
    product: Fr,
    challenges: Challenges,
    quotient: Option<[Vec<Fr>; QUOTIENT_PIECES]>,
    x: Fr,
}

/// Proves one shard, round by round.
#[derive(Debug)]
pub struct ShardProver {
    inputs: ShardInputs,
    state: RoundState,
    /// When false the prover skips its own witness checks (used to show that the
    /// verifier, not the prover's honesty, is what rejects a bad witness).
    pub check_witness: bool,
}

fn commit_affine(bases: &[G1Affine], polys: &[&[Fr]]) -> Result<Vec<G1Affine>, ProtocolError> {
    let c: Vec<G1Projective> = polys
        .iter()
        .map(|p| commit(bases, p))
        .collect::<Result<_, _>>()?;
    Ok(G1Projective::normalize_batch(&c))
}

impl ShardProver {
    /// A prover for one shard.
    pub fn new(inputs: ShardInputs) -> Self {
        ShardProver {
            inputs,
            state: RoundState::default(),
            check_witness: true,
        }
    }

    /// The shard index.
    pub fn shard(&self) -> usize {
        self.inputs.key.shard
    }

    fn key(&self) -> &ShardProvingKey {
        &self.inputs.key
    }

    fn refuse(&self, reason: RefusalReason) -> ProtocolError {
        ProtocolError::Refused {
            shard: self.shard(),
            reason,
        }
    }

    /// Round 1: interpolate and blind the wires, commit to them.
    pub fn round1(&mut self) -> Result<[G1Affine; 3], ProtocolError> {
        let key = self.inputs.key.clone();
        let t = key.shape.shard_gates;
        if self.inputs.witness.wires.iter().any(|w| w.len() != t) {
            return Err(self.refuse(RefusalReason::MalformedWitness));
        }
        if self.check_witness {
            check_shard_gates(
                self.shard(),
                &key.fixed_values[..5],
                &key.public_rows,
                &self.inputs.witness,
                &self.inputs.public_inputs,
            )?;
        }
        let dx = key.shape.x_domain();
        let blind = derive_scalars(&self.inputs.shard_key, b"wires", 6);
        let wires: Vec<Vec<Fr>> = (0..3)
            .into_par_iter()
            .map(|k| {
                let mut c = dx.ifft(&self.inputs.witness.wires[k]);
                add_vanishing_multiple(&mut c, t, &blind[2 * k..2 * k + 2]);
                c
            })
            .collect();
        let c = commit_affine(&key.row.bases, &[&wires[0], &wires[1], &wires[2]])?;
        let mut wires = wires.into_iter();
        self.state.wires = Some(std::array::from_fn(|_| wires.next().unwrap_or_default()));
        Ok([c[0], c[1], c[2]])
    }

    /// Round 2: the running product z and the shard's total P_i.
    pub fn round2(&mut self, beta: Fr, gamma: Fr) -> Result<(G1Affine, Fr), ProtocolError> {
        if self.state.wires.is_none() {
            return Err(ProtocolError::UnexpectedMessage(
                "round 2 before round 1".into(),
            ));
        }
        let key = self.inputs.key.clone();
        let t = key.shape.shard_gates;
        let labels = Labels::new(key.shape, key.delta);
        let w = &self.inputs.witness.wires;
        let shard = self.shard();
        let (num, mut den): (Vec<Fr>, Vec<Fr>) = (0..t)
            .into_par_iter()
            .map(|j| {
                let mut f = Fr::one();
                let mut g = Fr::one();
                for (k, wire) in w.iter().enumerate() {
                    f *= wire[j] + beta * labels.label(shard, k, j) + gamma;
                    g *= wire[j] + beta * key.fixed_values[5 + k][j] + gamma;
                }
                (f, g)
            })
            .unzip();
        if den.iter().any(|d| d.is_zero()) {
            return Err(self.refuse(RefusalReason::DegenerateChallenge));
        }
        ark_ff::batch_inversion(&mut den);
        let mut z = Vec::with_capacity(t);
        let mut acc = Fr::one();
        for j in 0..t {
            z.push(acc);
            acc *= num[j] * den[j];
        }
        // The reserved last row contributes 1, so the product is z at the last row.
        let product = z[t - 1];
        let dx = key.shape.x_domain();
        let mut coeffs = dx.ifft(&z);
        let blind = derive_scalars(&self.inputs.shard_key, b"z", 3);
        add_vanishing_multiple(&mut coeffs, t, &blind);
        let c = commit_affine(&key.row.bases, &[&coeffs])?;
        self.state.z = coeffs;
        self.state.product = product;
        self.state.challenges = Challenges {
            beta,
            gamma,
            alpha: Fr::zero(),
        };
        Ok((c[0], product))
    }

    /// Round 3: the X-quotient of this shard's constraint, in three blinded pieces.
    pub fn round3(
        &mut self,
        alpha: Fr,
        w: Fr,
        w_next: Fr,
    ) -> Result<[G1Affine; QUOTIENT_PIECES], ProtocolError> {
        if self.state.wires.is_none() {
            return Err(ProtocolError::UnexpectedMessage(
                "round 3 before round 1".into(),
            ));
        }
        if self.state.z.is_empty() {
            return Err(ProtocolError::UnexpectedMessage(
                "round 3 before round 2".into(),
            ));
        }
        let key = self.inputs.key.clone();
        let (t, shard) = (key.shape.shard_gates, self.shard());
        if self.check_witness && (w * self.state.product != w_next || (shard == 0 && !w.is_one())) {
            return Err(ProtocolError::LinkBroken { shard, row: t - 1 });
        }
        self.state.challenges.alpha = alpha;
        let ch = self.state.challenges;
        let Some(wires) = self.state.wires.as_ref() else {
            return Err(ProtocolError::UnexpectedMessage(
                "round 3 before round 1".into(),
            ));
        };
        let coset = quotient_coset(key.shape)?;
        let n = coset.size();
        let ev = |c: &Vec<Fr>| coset.fft(c);
        let ((wc, zc), (l_first, points)): ((Vec<Vec<Fr>>, Vec<Fr>), _) = rayon::join(
            || rayon::join(|| wires.par_iter().map(ev).collect(), || ev(&self.state.z)),
            || {
                rayon::join(
                    || crate::keys::lagrange_first_on_coset(key.shape),
                    || coset.elements().collect::<Vec<Fr>>(),
                )
            },
        );
        let l_first = l_first?;
        let pi = self.public_input_coset(&coset, &l_first)?;
        let dx = key.shape.x_domain();
        let omega_last = dx.group_gen().pow([(t - 1) as u64]);
        let delta_y = key.delta * key.shape.y_domain().group_gen().pow([shard as u64]);
        let r_first = if shard == 0 { Fr::one() } else { Fr::zero() };
        // Z_X on the coset takes four values.
        let mut zx_inv = crate::keys::vanishing_on_coset(&coset, t);
        ark_ff::batch_inversion(&mut zx_inv);
        let f = &key.fixed_coset;
        // L_{T−1} is L_0 rotated by 4(T−1) ≡ −4 places on the coset: L_{T−1}[j] = L_0[j + 4].
        let inputs_at = |j: usize| ConstraintInputs {
            wires: [wc[0][j], wc[1][j], wc[2][j]],
            selectors: [f[0][j], f[1][j], f[2][j], f[3][j], f[4][j]],
            sigmas: [f[5][j], f[6][j], f[7][j]],
            z: zc[j],
            z_shift: zc[(j + 4) % n],
            pi: pi.as_ref().map_or(Fr::zero(), |p| p[j]),
            x: points[j],
            delta_y,
            l_first: l_first[j],
            l_last: l_first[(j + 4) % n],
            w,
            w_next,
            r_first,
        };
        // The same G as `combined_constraint`, with everything that does not depend on
        // the point hoisted out of the loop (checked against it in debug builds).
        let hoisted = HoistedConstraint::new(&ch, omega_last, delta_y, w, w_next, r_first);
        let quotient_evals: Vec<Fr> = (0..n)
            .into_par_iter()
            .map(|j| hoisted.eval(&inputs_at(j)) * zx_inv[j % 4])
            .collect();
        debug_assert!((0..n.min(8)).all(|j| {
            hoisted.eval(&inputs_at(j)) == combined_constraint(&inputs_at(j), &ch, omega_last)
        }));
        let mut h = coset.ifft(&quotient_evals);
        let stride = quotient_stride(t) as usize;
        let degree_bound = 3 * t + 7;
        if self.check_witness && h[degree_bound.min(n)..].iter().any(|c| !c.is_zero()) {
            return Err(self.refuse(RefusalReason::ConstraintNotSatisfied));
        }
        // deg H_X,i ≤ 3T + 6: what lies above is zero for an honest, valid shard.
        h.truncate(degree_bound);
        let mut pieces: [Vec<Fr>; QUOTIENT_PIECES] = std::array::from_fn(|p| {
            let end = if p + 1 == QUOTIENT_PIECES {
                h.len()
            } else {
                (p + 1) * stride
            };
            h[(p * stride).min(h.len())..end.min(h.len())].to_vec()
        });
        // Blind the pieces against each other: + b·X^n on one, − b on the next.
        let blind = derive_scalars(&self.inputs.shard_key, b"quotient", QUOTIENT_PIECES - 1);
        for (p, b) in blind.iter().enumerate() {
            pieces[p].resize(stride + 1, Fr::zero());
            pieces[p][stride] += b;
            if pieces[p + 1].is_empty() {
                pieces[p + 1].push(Fr::zero());
            }
            pieces[p + 1][0] -= b;
        }
        let c = commit_affine(&key.row.bases, &[&pieces[0], &pieces[1], &pieces[2]])?;
        self.state.quotient = Some(pieces);
        Ok([c[0], c[1], c[2]])
    }

    /// `PI(X) = −Σ v·L_row(X)` on the quotient coset. With few public rows each `L_row`
    /// is `L_0` rotated (4T multiplications a row); with many, one iFFT and one coset FFT.
    fn public_input_coset(
        &self,
        coset: &tutti_crypto::domain::Domain,
        l_first: &[Fr],
    ) -> Result<Option<Vec<Fr>>, ProtocolError> {
        let key = self.key();
        if key.public_rows.is_empty() {
            return Ok(None);
        }
        let t = key.shape.shard_gates;
        let mut values = vec![Fr::zero(); t];
        for &(row, idx) in &key.public_rows {
            let v = self.inputs.public_inputs.get(idx).ok_or_else(|| {
                ProtocolError::PublicInputCount {
                    expected: idx + 1,
                    got: self.inputs.public_inputs.len(),
                }
            })?;
            values[row] = -*v;
        }
        let rows: Vec<usize> = (0..t).filter(|r| !values[*r].is_zero()).collect();
        if rows.len() > ROTATED_PUBLIC_ROWS {
            let coeffs = key.shape.x_domain().ifft(&values);
            return Ok(Some(coset.fft(&coeffs)));
        }
        let n = l_first.len();
        let pi = (0..n)
            .into_par_iter()
            .map(|k| {
                rows.iter()
                    .map(|r| values[*r] * l_first[(k + n - (4 * r) % n) % n])
                    .sum()
            })
            .collect();
        Ok(Some(pi))
    }

    /// All polynomials opened at x, in the order of [`OPENED_AT_X`].
    fn opened_polys(&self) -> Result<Vec<&[Fr]>, ProtocolError> {
        let (Some(wires), Some(q)) = (&self.state.wires, &self.state.quotient) else {
            return Err(ProtocolError::UnexpectedMessage(
                "evaluation requested before round 3".into(),
            ));
        };
        let key = self.key();
        let mut v: Vec<&[Fr]> = wires.iter().map(|w| w.as_slice()).collect();
        v.extend(key.fixed.iter().map(|f| f.as_slice()));
        v.push(&self.state.z);
        v.extend(q.iter().map(|p| p.as_slice()));
        debug_assert_eq!(v.len(), OPENED_AT_X);
        debug_assert!(v[Z_INDEX].len() == self.state.z.len() && v.len() == H_INDEX + 3);
        Ok(v)
    }

    /// Round 4: evaluations at x (the quotient's pieces combined, see [`VALUES_AT_X`]) and
    /// of z at ω_X·x.
    pub fn round4(&mut self, x: Fr) -> Result<([Fr; VALUES_AT_X], Fr), ProtocolError> {
        let polys = self.opened_polys()?;
        let vals: Vec<Fr> = polys.par_iter().map(|p| evaluate(p, x)).collect();
        let key = self.key();
        let omega = key.shape.x_domain().group_gen();
        let z_shift = evaluate(&self.state.z, omega * x);
        let mut at_x = [Fr::zero(); VALUES_AT_X];
        at_x[..H_INDEX].copy_from_slice(&vals[..H_INDEX]);
        at_x[H_INDEX] = quotient_value(&vals[H_INDEX..], key.shape.shard_gates, x);
        self.state.x = x;
        Ok((at_x, z_shift))
    }

    /// Round 5: the partial openings at x (the polynomials combined with `weights`) and at
    /// ω_X·x (z alone).
    pub fn round5(
        &mut self,
        weights: &OpeningWeights,
    ) -> Result<(G1Affine, G1Affine), ProtocolError> {
        let polys = self.opened_polys()?;
        let x = self.state.x;
        let powers = weights.expand(self.key().shape.shard_gates, x);
        let combined = linear_combination(&polys, &powers);
        let omega = self.key().shape.x_domain().group_gen();
        let bases = &self.key().row.bases;
        let (a, b) = rayon::join(
            || open(bases, &combined, x),
            || open(bases, &self.state.z, omega * x),
        );
        let pts = G1Projective::normalize_batch(&[a?.1, b?.1]);
        Ok((pts[0], pts[1]))
    }
}
