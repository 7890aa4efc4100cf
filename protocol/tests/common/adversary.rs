//! A malicious aggregator against one honest worker: it hands the worker assignments
//! with each field altered in turn and drives each with every kind of challenge sequence
//! it can construct, collects everything the worker signs, and then tries to assemble a
//! certificate of every offence from that pool, under every verifying key and statement
//! it used.

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, UniformRand, Zero};
use rand::{SeedableRng, rngs::StdRng};
use std::collections::HashMap;
use tutti_crypto::G1Affine;
use tutti_crypto::identity::WorkerIdentity;
use tutti_protocol::Fr;
use tutti_protocol::assignment::ShardAssignment;
use tutti_protocol::blame::{BlameCertificate, Offence};
use tutti_protocol::envelope::{Envelope, JobId, answers_digest};
use tutti_protocol::inputs::ShardSecrets;
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::linearise::OpeningWeights;
use tutti_protocol::messages::{AggregatorMessage, WorkerMessage};
use tutti_protocol::runner::shard_key;
use tutti_protocol::worker::{Directive, SignedWorker};

/// One world the aggregator shows the worker: a verifying key and an assignment.
#[derive(Clone)]
pub struct Variant {
    /// What was altered (for failure messages).
    pub name: String,
    /// The verifying key the worker is given.
    pub vk: VerifyingKey,
    /// The assignment the worker is given.
    pub assignment: ShardAssignment,
}

/// The alterations of one shard's assignment, sorted by what became of them.
#[derive(Default)]
pub struct Variants {
    /// Those a worker receives (the honest one first).
    pub run: Vec<Variant>,
    /// Those the assignment decoder refuses: no worker ever sees them.
    pub refused_at_decode: Vec<String>,
    /// Those that change nothing for this shard (e.g. public rows of a shard without any).
    pub unchanged: Vec<String>,
}

impl Variants {
    /// The variant of this name that a worker receives.
    pub fn get(&self, name: &str) -> Option<&Variant> {
        self.run.iter().find(|v| v.name == name)
    }
}

/// The honest assignment of `shard` and every single-field alteration of it.
pub fn variants(
    job: &super::Job,
    other_vk: &VerifyingKey,
    foreign: Option<(VerifyingKey, ShardAssignment)>,
    shard: usize,
    job_id: JobId,
) -> Variants {
    let vk = job.pre.aggregator.vk.clone();
    let secrets = ShardSecrets {
        witness: job.witnesses[shard].clone(),
        shard_key: shard_key(&[7u8; 32], shard),
    };
    let honest = ShardAssignment::new(
        job_id,
        &job.pre.proving_keys[shard],
        job.public_inputs.clone(),
        secrets,
    );
    let t = honest.shape.shard_gates;
    let mut out = Variants {
        run: vec![Variant {
            name: "honest".into(),
            vk: vk.clone(),
            assignment: honest.clone(),
        }],
        ..Variants::default()
    };
    let mut push = |name: String, f: &dyn Fn(&mut ShardAssignment)| {
        let mut a = honest.clone();
        f(&mut a);
        if a == honest {
            out.unchanged.push(name);
            return;
        }
        // What crosses the wire: the assignment must still decode.
        match a.to_bytes().and_then(|b| ShardAssignment::from_bytes(&b)) {
            Ok(a) => out.run.push(Variant {
                name,
                vk: vk.clone(),
                assignment: a,
            }),
            Err(_) => out.refused_at_decode.push(name),
        }
    };
    let g = G1Affine::generator();
    for j in 0..honest.row.bases.len() {
        push(format!("SRS base {j}"), &|a| {
            a.row.bases[j] = (a.row.bases[j] + g).into_affine();
        });
    }
    push("SRS base T+1 doubled".into(), &|a| {
        a.row.bases[t + 1] = (a.row.bases[t + 1] + a.row.bases[t + 1]).into_affine();
    });
    for p in 0..8 {
        for j in 0..t {
            push(format!("fixed polynomial {p} row {j}"), &|a| {
                a.fixed_values[p][j] += Fr::one();
            });
        }
    }
    // Whoever knows τ_X (the aggregator made the SRS) opens a fixed commitment to other
    // values: adding X − τ_X to a fixed polynomial leaves its commitment unchanged.
    let tau = seeded_tau_x(&super::srs_seed(honest.shape.shards, t));
    for p in [0, 4, 5] {
        push(
            format!("fixed polynomial {p} with the same commitment"),
            &|a| {
                use ark_poly::EvaluationDomain;
                let dx = a.shape.x_domain();
                let mut coeffs = dx.ifft(&a.fixed_values[p]);
                coeffs[1] += Fr::one();
                coeffs[0] -= tau;
                a.fixed_values[p] = dx.fft(&coeffs);
            },
        );
    }
    push("public rows dropped".into(), &|a| a.public_rows.clear());
    push("first public row dropped".into(), &|a| {
        if !a.public_rows.is_empty() {
            a.public_rows.remove(0);
        }
    });
    push("public-row indices swapped".into(), &|a| {
        if a.public_rows.len() >= 2 {
            let (i0, i1) = (a.public_rows[0].1, a.public_rows[1].1);
            a.public_rows[0].1 = i1;
            a.public_rows[1].1 = i0;
        }
    });
    push("public rows reordered".into(), &|a| a.public_rows.reverse());
    push("public row moved".into(), &|a| {
        if let Some(r) = a.public_rows.first_mut() {
            r.0 = (r.0 + 1) % (t - 1);
        }
    });
    push("public row added".into(), &|a| {
        a.public_rows.push((t - 2, 0))
    });
    for k in 0..honest.public_inputs.len() {
        push(format!("public input {k} changed"), &|a| {
            a.public_inputs[k] += Fr::one();
        });
    }
    push("public input dropped".into(), &|a| {
        a.public_inputs.pop();
    });
    push("public input added".into(), &|a| {
        a.public_inputs.push(Fr::one())
    });
    push("δ changed".into(), &|a| a.delta += Fr::one());
    push("witness value changed".into(), &|a| {
        a.secrets.witness.wires[0][0] += Fr::one();
    });
    push("shard key changed".into(), &|a| a.secrets.shard_key[0] ^= 1);
    push("another job id".into(), &|a| a.job_id[0] ^= 1);
    out.run.push(Variant {
        name: "another circuit's verifying key".into(),
        vk: other_vk.clone(),
        assignment: honest.clone(),
    });
    if let Some((vk, assignment)) = foreign {
        out.run.push(Variant {
            name: "a setup the aggregator made itself".into(),
            vk,
            assignment,
        });
    }
    out
}

/// τ_X of the insecure SRS of `seed` (spec/srs.md §2.1): what an aggregator that made
/// the SRS knows.
fn seeded_tau_x(seed: &[u8]) -> Fr {
    use ark_ff::PrimeField;
    let mut h = blake3::Hasher::new();
    h.update(b"tutti/insecure-dev-srs/v1");
    h.update(seed);
    let mut wide = [0u8; 64];
    h.finalize_xof().fill(&mut wide);
    Fr::from_le_bytes_mod_order(&wide)
}

/// Everything the worker signed, and what the aggregator knows that could go with it.
#[derive(Default)]
pub struct Pool {
    /// Every signed envelope, with the variant it came from.
    pub envelopes: Vec<(String, Envelope)>,
    /// Every shard-inputs digest the worker computed.
    pub digests: Vec<[u8; 32]>,
    /// Every challenge history the aggregator sent.
    pub histories: Vec<Vec<AggregatorMessage>>,
    /// Every verifying key it used.
    pub vks: Vec<VerifyingKey>,
    /// Every statement it used.
    pub statements: Vec<Vec<Fr>>,
}

fn challenge(round: usize, rng: &mut StdRng, degenerate: bool) -> AggregatorMessage {
    let mut r = || {
        if degenerate {
            Fr::zero()
        } else {
            Fr::rand(rng)
        }
    };
    match round {
        1 => AggregatorMessage::PermutationChallenges {
            beta: r(),
            gamma: r(),
        },
        2 => AggregatorMessage::LinkScalars {
            alpha: r(),
            w: r(),
            w_next: r(),
        },
        3 => AggregatorMessage::EvaluationPoint {
            x: if degenerate { Fr::one() } else { r() },
        },
        _ => AggregatorMessage::OpeningWeights(OpeningWeights {
            nu: r(),
            wires: [r(), r(), r()],
            sigma: r(),
            z: r(),
        }),
    }
}

/// How the aggregator drives a worker through one attempt.
#[derive(Clone, Copy, Debug)]
pub enum Drive {
    /// Random challenges; link scalars that agree with the worker's product.
    Consistent,
    /// Random challenges; link scalars that contradict its product.
    BrokenLink,
    /// Zero challenges and x = 1 (a point of H_X).
    Degenerate,
    /// Consistent challenges, delivered by resuming with a history instead of one by one.
    Resumed,
}

/// Runs one honest worker of `variant` with the challenges of `seed` under `drive`, adding
/// what it signs to the pool.
pub fn run(pool: &mut Pool, variant: &Variant, identity: &WorkerIdentity, seed: u64, drive: Drive) {
    let Ok(inputs) = variant.assignment.clone().into_inputs() else {
        return;
    };
    pool.digests.push(inputs.digest());
    pool.vks.push(variant.vk.clone());
    pool.statements.push(inputs.public_inputs.clone());
    let shard = inputs.key.shard;
    let mut w = SignedWorker::new(
        identity.clone(),
        variant.assignment.job_id,
        &variant.vk,
        inputs,
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut history: Vec<AggregatorMessage> = Vec::new();
    let mut signed = w.handle(&Directive::Resume {
        attempt: 0,
        history: vec![],
        send_from: 1,
    });
    for round in 1..=4 {
        let product = signed.iter().find_map(|e| match e.message() {
            Ok(WorkerMessage::RunningProduct { product, .. }) => Some(product),
            _ => None,
        });
        let mut c = challenge(round, &mut rng, matches!(drive, Drive::Degenerate));
        if let (AggregatorMessage::LinkScalars { w, w_next, .. }, Some(p)) = (&mut c, product) {
            if shard == 0 {
                *w = Fr::one();
            }
            *w_next = match drive {
                Drive::BrokenLink => *w * p + Fr::one(),
                _ => *w * p,
            };
        }
        history.push(c.clone());
        let directive = match drive {
            Drive::Resumed => Directive::Resume {
                attempt: round as u32,
                history: history.clone(),
                send_from: 1,
            },
            _ => Directive::Next {
                attempt: 0,
                message: c,
            },
        };
        signed.extend(w.handle(&directive));
    }
    pool.histories.push(history);
    pool.envelopes
        .extend(signed.into_iter().map(|e| (variant.name.clone(), e)));
}

/// What an envelope answers: round, answers digest, context and job.
type Question = (u8, [u8; 32], [u8; 32], JobId);

/// Tries to assemble a certificate of every offence from the pool and verifies each
/// under every verifying key and statement used; returns the descriptions of those that
/// verify (there must be none). Also checks the determinism the equivocation rule rests
/// on: two envelopes answering one question under one context carry one payload.
pub fn framing_attempts(pool: &Pool) -> Vec<String> {
    let mut framed = Vec::new();
    let mut dedup_vks: Vec<&VerifyingKey> = Vec::new();
    for vk in &pool.vks {
        if !dedup_vks.contains(&vk) {
            dedup_vks.push(vk);
        }
    }
    let mut statements: Vec<&Vec<Fr>> = Vec::new();
    for s in &pool.statements {
        if !statements.contains(&s) {
            statements.push(s);
        }
    }
    let mut digests = pool.digests.clone();
    digests.sort();
    digests.dedup();
    let mut histories = pool.histories.clone();
    histories.sort_by_key(|h| format!("{h:?}"));
    histories.dedup();
    let verifies = |shard_inputs: [u8; 32], offence: Offence| -> bool {
        dedup_vks.iter().any(|vk| {
            statements.iter().any(|s| {
                let cert = BlameCertificate {
                    public_inputs: (*s).clone(),
                    shard_inputs,
                    offence: offence.clone(),
                };
                cert.verify(vk).is_ok()
            })
        })
    };
    // Determinism and Equivocation: one question, one context, one payload.
    let mut by_question: HashMap<Question, &(String, Envelope)> = HashMap::new();
    for item in &pool.envelopes {
        let e = &item.1;
        let key = (e.round, e.answers, e.context, e.job_id);
        if let Some(first) = by_question.get(&key) {
            if first.1.payload != e.payload {
                if verifies(
                    [0u8; 32],
                    Offence::Equivocation {
                        first: first.1.clone(),
                        second: e.clone(),
                    },
                ) {
                    framed.push(format!("equivocation: {} / {}", first.0, item.0));
                }
                framed.push(format!(
                    "two payloads for one question in round {}: {} / {}",
                    e.round, first.0, item.0
                ));
            }
        } else {
            by_question.insert(key, item);
        }
    }
    // Malformed: every message decodes.
    for (name, e) in &pool.envelopes {
        if e.message().is_err() {
            framed.push(format!("undecodable message from {name}"));
        }
    }
    // The envelopes of each round answering (D, h) for every digest and history.
    let find = |round: u8, d: &[u8; 32], h: &[AggregatorMessage]| -> Vec<&Envelope> {
        let answers = answers_digest(d, &h[..(round as usize - 1)]);
        pool.envelopes
            .iter()
            .filter(|(_, e)| e.round == round && e.answers == answers)
            .map(|(_, e)| e)
            .collect()
    };
    for d in &digests {
        for h in &histories {
            for e4 in find(4, d, h) {
                if verifies(
                    *d,
                    Offence::LocalIdentity {
                        evaluations: e4.clone(),
                        challenges: h[..3].to_vec(),
                    },
                ) {
                    framed.push("local identity".into());
                }
            }
            for e3 in find(3, d, h) {
                for e2 in find(2, d, h) {
                    if verifies(
                        *d,
                        Offence::FalseRefusal {
                            product: e2.clone(),
                            refusal: e3.clone(),
                            challenges: h[..2].to_vec(),
                        },
                    ) {
                        framed.push("false refusal".into());
                    }
                }
            }
            let rounds: Vec<Vec<&Envelope>> = (1..=5).map(|r| find(r, d, h)).collect();
            if rounds.iter().all(|r| !r.is_empty()) {
                for e5 in &rounds[4] {
                    let messages = vec![
                        rounds[0][0].clone(),
                        rounds[1][0].clone(),
                        rounds[2][0].clone(),
                        rounds[3][0].clone(),
                        (*e5).clone(),
                    ];
                    if verifies(
                        *d,
                        Offence::BadOpening {
                            messages,
                            challenges: h.clone(),
                        },
                    ) {
                        framed.push("bad opening".into());
                    }
                }
            }
        }
    }
    framed
}
