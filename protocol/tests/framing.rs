//! No certificate can be made against an honest worker, even by a malicious aggregator
//! that chooses every challenge and assembles evidence however it likes.

mod common;

use ark_ff::{One, UniformRand};
use proptest::prelude::*;
use rand::{SeedableRng, rngs::StdRng};
use std::sync::Arc;
use tutti_crypto::identity::WorkerIdentity;
use tutti_protocol::Fr;
use tutti_protocol::blame::{BlameCertificate, Offence};
use tutti_protocol::envelope::Envelope;
use tutti_protocol::linearise::OpeningWeights;
use tutti_protocol::messages::{AggregatorMessage, WorkerMessage};
use tutti_protocol::runner::shard_key;
use tutti_protocol::worker::{Directive, ShardInputs, SignedWorker};

struct Captured {
    envelopes: Vec<Envelope>,
    challenges: Vec<AggregatorMessage>,
    inputs: [u8; 32],
}

/// Runs one honest worker against adversarial challenges; `link_ok` decides whether the
/// link scalars agree with its product (otherwise it refuses at round 3).
fn honest_worker(job: &common::Job, shard: usize, seed: u64, link_ok: bool) -> Captured {
    honest_worker_with_key(job, shard, seed, link_ok, shard_key(&[7u8; 32], shard))
}

fn honest_worker_with_key(
    job: &common::Job,
    shard: usize,
    seed: u64,
    link_ok: bool,
    key: [u8; 32],
) -> Captured {
    let mut rng = StdRng::seed_from_u64(seed);
    let inputs = ShardInputs {
        key: Arc::new(job.pre.proving_keys[shard].clone()),
        witness: job.witnesses[shard].clone(),
        public_inputs: job.public_inputs.clone(),
        shard_key: key,
    };
    let digest = inputs.digest();
    let mut w = SignedWorker::new(
        WorkerIdentity::from_seed(&[9u8; 32]),
        [1u8; 32],
        &job.pre.aggregator.vk,
        inputs,
    );
    let mut envelopes = w.handle(&Directive::Resume {
        attempt: 0,
        history: vec![],
        send_from: 1,
    });
    let mut challenges = Vec::new();
    let mut rand = || Fr::rand(&mut rng);
    let next = |w: &mut SignedWorker,
                m: AggregatorMessage,
                envs: &mut Vec<Envelope>,
                ch: &mut Vec<AggregatorMessage>| {
        ch.push(m.clone());
        envs.extend(w.handle(&Directive::Next {
            attempt: 0,
            message: m,
        }));
    };
    next(
        &mut w,
        AggregatorMessage::PermutationChallenges {
            beta: rand(),
            gamma: rand(),
        },
        &mut envelopes,
        &mut challenges,
    );
    let Ok(WorkerMessage::RunningProduct { product, .. }) = envelopes[1].message() else {
        panic!("round 2 missing");
    };
    let wi = if shard == 0 { Fr::one() } else { rand() };
    let w_next = if link_ok {
        wi * product
    } else {
        wi * product + Fr::one()
    };
    next(
        &mut w,
        AggregatorMessage::LinkScalars {
            alpha: rand(),
            w: wi,
            w_next,
        },
        &mut envelopes,
        &mut challenges,
    );
    if link_ok {
        next(
            &mut w,
            AggregatorMessage::EvaluationPoint { x: rand() },
            &mut envelopes,
            &mut challenges,
        );
        next(
            &mut w,
            AggregatorMessage::OpeningWeights(OpeningWeights {
                nu: rand(),
                wires: [rand(), rand(), rand()],
                sigma: rand(),
                z: rand(),
            }),
            &mut envelopes,
            &mut challenges,
        );
    }
    Captured {
        envelopes,
        challenges,
        inputs: digest,
    }
}

fn rejected(job: &common::Job, inputs: [u8; 32], offence: Offence) -> bool {
    // These offences carry a zero shard-inputs digest (their envelopes' answers bind it).
    let shard_inputs = match offence {
        Offence::Equivocation { .. } | Offence::Malformed { .. } => [0u8; 32],
        _ => inputs,
    };
    let cert = BlameCertificate {
        public_inputs: job.public_inputs.clone(),
        shard_inputs,
        offence,
    };
    let vk = &job.pre.aggregator.vk;
    // The encoding does not change the verdict.
    let again = BlameCertificate::from_bytes(&cert.to_bytes()).unwrap();
    cert.verify(vk).is_err() && again.verify(vk).is_err()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    #[test]
    fn honest_worker_cannot_be_framed(seed in any::<u64>(), shard in 0usize..2) {
        let job = common::random_job(2, 16, 31);
        let c = honest_worker(&job, shard, seed, true);
        prop_assert_eq!(c.envelopes.len(), 5);
        let e = &c.envelopes;
        // Every offence with the true evidence.
        prop_assert!(rejected(&job, c.inputs, Offence::LocalIdentity { evaluations: e[3].clone(), challenges: c.challenges[..3].to_vec() }), "framed");
        prop_assert!(rejected(&job, c.inputs, Offence::BadOpening { messages: e.clone(), challenges: c.challenges.clone() }), "framed");
        for env in e {
            prop_assert!(rejected(&job, c.inputs, Offence::Malformed { envelope: env.clone() }), "framed");
            prop_assert!(rejected(&job, c.inputs, Offence::Equivocation { first: env.clone(), second: env.clone() }), "framed");
        }
        prop_assert!(rejected(&job, c.inputs, Offence::FalseRefusal { product: e[1].clone(), refusal: e[2].clone(), challenges: c.challenges[..2].to_vec() }), "framed");
        // Lying about the challenges the worker answered.
        let mut other = c.challenges.clone();
        other[2] = AggregatorMessage::EvaluationPoint { x: Fr::from(12345u64) };
        prop_assert!(rejected(&job, c.inputs, Offence::LocalIdentity { evaluations: e[3].clone(), challenges: other[..3].to_vec() }), "framed");
        prop_assert!(rejected(&job, c.inputs, Offence::BadOpening { messages: e.clone(), challenges: other }), "framed");
        // Editing a signed message.
        let mut edited = e[3].clone();
        if let Ok(WorkerMessage::Evaluations { mut at_x, z_shift }) = edited.message() {
            at_x[0] += Fr::one();
            edited.payload = WorkerMessage::Evaluations { at_x, z_shift }.to_bytes();
        }
        prop_assert!(rejected(&job, c.inputs, Offence::LocalIdentity { evaluations: edited.clone(), challenges: c.challenges[..3].to_vec() }), "framed");
        prop_assert!(rejected(&job, c.inputs, Offence::Equivocation { first: e[3].clone(), second: edited }), "framed");
        // Another statement: the signed context does not match.
        let mut cert = BlameCertificate {
            public_inputs: job.public_inputs.iter().map(|v| *v + v).collect(),
            shard_inputs: c.inputs,
            offence: Offence::LocalIdentity { evaluations: e[3].clone(), challenges: c.challenges[..3].to_vec() },
        };
        prop_assert!(cert.verify(&job.pre.aggregator.vk).is_err(), "framed");
        cert.public_inputs.clear();
        prop_assert!(cert.verify(&job.pre.aggregator.vk).is_err(), "framed");
        // Two answers to two different questions are not equivocation.
        let d = honest_worker(&job, shard, seed ^ 1, true);
        prop_assert!(rejected(&job, c.inputs, Offence::Equivocation { first: e[3].clone(), second: d.envelopes[3].clone() }), "framed");
        // The same worker handed the same shard with another input set (another shard
        // key) answers another question: its two round-1 messages are not equivocation.
        let f = honest_worker_with_key(&job, shard, seed, true, [42u8; 32]);
        prop_assert!(f.envelopes[0].payload != e[0].payload);
        prop_assert!(rejected(&job, c.inputs, Offence::Equivocation { first: e[0].clone(), second: f.envelopes[0].clone() }), "framed");
        prop_assert!(rejected(&job, f.inputs, Offence::Equivocation { first: e[0].clone(), second: f.envelopes[0].clone() }), "framed");
    }
}

#[test]
fn honest_refusal_cannot_be_called_false() {
    let job = common::random_job(2, 16, 32);
    for shard in 0..2 {
        let c = honest_worker(&job, shard, 5, false);
        assert_eq!(c.envelopes.len(), 3);
        assert!(matches!(
            c.envelopes[2].message(),
            Ok(WorkerMessage::Refusal { round: 3, .. })
        ));
        assert!(rejected(
            &job,
            c.inputs,
            Offence::FalseRefusal {
                product: c.envelopes[1].clone(),
                refusal: c.envelopes[2].clone(),
                challenges: c.challenges.clone(),
            }
        ));
    }
}

/// A malicious aggregator hands the same honest worker a second, inconsistent proving
/// key for the same shard: the worker refuses it, and that refusal next to its real
/// round-1 message is not equivocation (the inputs digest binds the key).
#[test]
fn two_proving_keys_do_not_make_an_equivocator() {
    use ark_ec::AffineRepr;
    let job = common::random_job(2, 16, 33);
    let honest = honest_worker(&job, 1, 3, true);
    let mut bad_key = job.pre.proving_keys[1].clone();
    bad_key.commitments[0] = tutti_crypto::G1Affine::generator();
    let inputs = ShardInputs {
        key: Arc::new(bad_key),
        witness: job.witnesses[1].clone(),
        public_inputs: job.public_inputs.clone(),
        shard_key: shard_key(&[7u8; 32], 1),
    };
    let mut w = SignedWorker::new(
        WorkerIdentity::from_seed(&[9u8; 32]),
        [1u8; 32],
        &job.pre.aggregator.vk,
        inputs,
    );
    let refusal = w.handle(&Directive::Resume {
        attempt: 0,
        history: vec![],
        send_from: 1,
    });
    assert!(matches!(
        refusal[0].message(),
        Ok(WorkerMessage::Refusal { round: 1, .. })
    ));
    assert_ne!(refusal[0].answers, honest.envelopes[0].answers);
    assert!(rejected(
        &job,
        honest.inputs,
        Offence::Equivocation {
            first: honest.envelopes[0].clone(),
            second: refusal[0].clone()
        },
    ));
}

/// The malicious-aggregator harness: an honest worker handed assignments with every
/// field altered in turn (each SRS base, fixed values, public rows, public inputs, δ,
/// the witness, the shard key, the job id, the verifying key, a whole setup of the
/// aggregator's own) and driven with consistent, broken-link, degenerate and resumed
/// challenge sequences signs nothing from which a certificate of any offence verifies,
/// under any verifying key or statement the aggregator used; and every two messages it
/// signs for one question carry one payload.
#[test]
fn malicious_aggregator_cannot_frame_through_any_assignment_field() {
    use common::adversary::{Drive, Pool, framing_attempts, run, variants};
    use tutti_protocol::assignment::ShardAssignment;
    use tutti_protocol::inputs::ShardSecrets;
    let job = common::random_job(2, 16, 34);
    let other = common::random_job(2, 16, 35);
    // The aggregator's own setup for the same circuit: consistent keys it could forge with.
    let own_srs = tutti_crypto::srs::InMemorySrs::insecure_from_seed(2, 16, b"aggregator's own")
        .expect("srs");
    let own = tutti_protocol::keys::preprocess(&job.sharded, &own_srs).expect("preprocess");
    let identity = WorkerIdentity::from_seed(&[9u8; 32]);
    for shard in 0..2 {
        let foreign = ShardAssignment::new(
            [1u8; 32],
            &own.proving_keys[shard],
            job.public_inputs.clone(),
            ShardSecrets {
                witness: job.witnesses[shard].clone(),
                shard_key: shard_key(&[7u8; 32], shard),
            },
        );
        let all = variants(
            &job,
            &other.pre.aggregator.vk,
            Some((own.aggregator.vk.clone(), foreign)),
            shard,
            [1u8; 32],
        );
        // Every alteration reaches the worker, except those the decoder refuses (a
        // public row pointing past the statement) and those that change nothing for
        // this shard (random circuits keep their public inputs in shard 0).
        let expected_refused: &[&str] = if shard == 0 {
            &["public input dropped"]
        } else {
            &[]
        };
        assert_eq!(all.refused_at_decode, expected_refused, "shard {shard}");
        if shard == 0 {
            assert!(all.unchanged.is_empty(), "{:?}", all.unchanged);
        }
        assert!(all.run.len() >= 75, "only {} variants", all.run.len());
        let mut pool = Pool::default();
        for v in &all.run {
            let before = pool.envelopes.len();
            for (s, drive) in [
                Drive::Consistent,
                Drive::BrokenLink,
                Drive::Degenerate,
                Drive::Resumed,
            ]
            .into_iter()
            .enumerate()
            {
                // The same challenge seeds for every variant: equal digests then meet
                // equal questions, which is where equivocation would show.
                run(&mut pool, v, &identity, s as u64, drive);
            }
            assert!(pool.envelopes.len() > before, "{} signed nothing", v.name);
        }
        // The variants a worker accepts reach round 5 in both consistent drives, where
        // BadOpening and LocalIdentity are tried.
        for name in [
            "honest",
            "shard key changed",
            "another job id",
            "a setup the aggregator made itself",
            "fixed polynomial 5 with the same commitment",
        ] {
            let opened = pool
                .envelopes
                .iter()
                .filter(|(n, e)| n == name && e.round == 5)
                .count();
            assert_eq!(opened, 2, "{name} reached round 5 {opened} times");
        }
        let framed = framing_attempts(&pool);
        assert!(framed.is_empty(), "shard {shard}: {framed:#?}");
    }
}

/// Every refusal an honest worker signs for an altered assignment names the real cause:
/// a tampered SRS row is SrsRowInconsistent, altered key parts are KeyMismatch, a
/// statement of the wrong length MalformedInputs, a broken witness the gate it breaks;
/// it never claims that its constraint does not vanish.
#[test]
fn refusals_name_their_real_cause() {
    use common::adversary::{Drive, Pool, run, variants};
    use tutti_protocol::messages::RefusalReason;
    let job = common::random_job(2, 16, 36);
    let other = common::random_job(2, 16, 37);
    let identity = WorkerIdentity::from_seed(&[9u8; 32]);
    let all = variants(&job, &other.pre.aggregator.vk, None, 0, [1u8; 32]);
    let mut seen = 0;
    for v in all.run {
        seen += 1;
        let mut pool = Pool::default();
        run(&mut pool, &v, &identity, 0, Drive::Consistent);
        let reasons: Vec<RefusalReason> = pool
            .envelopes
            .iter()
            .filter_map(|(_, e)| match e.message() {
                Ok(WorkerMessage::Refusal { reason, .. }) => Some(reason),
                _ => None,
            })
            .collect();
        assert!(
            !reasons.contains(&RefusalReason::ConstraintNotSatisfied),
            "{}: {reasons:?}",
            v.name
        );
        let mut reasons = reasons;
        reasons.dedup();
        // Bases beyond T commit to no fixed polynomial: only the row check sees them.
        // Bases below T also change the fixed commitments it computes: KeyMismatch.
        if let Some(j) = v
            .name
            .strip_prefix("SRS base ")
            .and_then(|j| j.parse::<usize>().ok())
        {
            let expected = if j >= 16 {
                RefusalReason::SrsRowInconsistent
            } else {
                RefusalReason::KeyMismatch
            };
            assert_eq!(reasons, vec![expected], "{}", v.name);
        }
        if v.name.ends_with("with the same commitment") {
            // Consistent with the vk's commitments: it proves with the other fixed values
            // (under another D), or refuses for what they really do to its gates.
            assert!(
                reasons.is_empty()
                    || matches!(reasons[..], [RefusalReason::GateUnsatisfied { .. }]),
                "{}: {reasons:?}",
                v.name
            );
        } else if v.name.starts_with("fixed polynomial") || v.name.starts_with("public row") {
            assert_eq!(reasons, vec![RefusalReason::KeyMismatch], "{}", v.name);
        }
        let expect = |reason: RefusalReason| assert_eq!(reasons, vec![reason], "{}", v.name);
        match v.name.as_str() {
            "honest" | "shard key changed" | "another job id" => {
                assert!(reasons.is_empty(), "{}: {reasons:?}", v.name)
            }
            "δ changed" | "another circuit's verifying key" => expect(RefusalReason::KeyMismatch),
            "public input added" => expect(RefusalReason::MalformedInputs),
            "witness value changed" => expect(RefusalReason::GateUnsatisfied { row: 0 }),
            _ => {}
        }
    }
    assert!(seen >= 75, "only {seen} variants reached the worker");
}

/// The erasure-coded fragment path: an honest holder dealt fragments with every field
/// altered in turn (its bytes, its index, the coded length, its own digest, another
/// fragment's digest, the digest list) keeps exactly those that match the digest dealt
/// for them, and no CorruptFragment certificate verifies against anything it hands out,
/// whatever digests the aggregator pairs it with.
#[test]
fn malicious_aggregator_cannot_frame_a_fragment_holder() {
    use tutti_crypto::erasure::ErasureParams;
    use tutti_protocol::fragments::HeldFragment;
    use tutti_protocol::inputs::{ShardSecrets, code_shard};
    let job = common::random_job(2, 16, 38);
    let secrets = |shard: usize| ShardSecrets {
        witness: job.witnesses[shard].clone(),
        shard_key: shard_key(&[7u8; 32], shard),
    };
    let params = ErasureParams::new(2, 2).expect("params");
    let (fragments, digests, len) = code_shard(&secrets(0), params).expect("code");
    let (_, other_digests, _) = code_shard(&secrets(1), params).expect("code");
    let holder = WorkerIdentity::from_seed(&[4u8; 32]);
    let mut deals = Vec::new();
    for f in &fragments {
        let i = f.index as usize;
        let deal = |index: u16, len: usize, digests: Vec<_>, bytes: Vec<u8>| {
            (index, len as u64, digests, bytes)
        };
        deals.push(deal(f.index, len, digests.clone(), f.bytes.clone()));
        for at in [0, f.bytes.len() / 2, f.bytes.len() - 1] {
            let mut b = f.bytes.clone();
            b[at] ^= 1;
            deals.push(deal(f.index, len, digests.clone(), b));
        }
        deals.push(deal(
            (f.index + 1) % 4,
            len,
            digests.clone(),
            f.bytes.clone(),
        ));
        deals.push(deal(f.index, len + 1, digests.clone(), f.bytes.clone()));
        deals.push(deal(f.index, len - 1, digests.clone(), f.bytes.clone()));
        let mut own = digests.clone();
        own[i][0] ^= 1;
        deals.push(deal(f.index, len, own, f.bytes.clone()));
        let mut another = digests.clone();
        another[(i + 1) % 4][0] ^= 1;
        deals.push(deal(f.index, len, another, f.bytes.clone()));
        deals.push(deal(f.index, len, digests[..i].to_vec(), f.bytes.clone()));
        deals.push(deal(f.index, len, other_digests.clone(), f.bytes.clone()));
    }
    let mut signed = Vec::new();
    let mut digest_lists = vec![digests.clone(), other_digests.clone()];
    for (index, original_len, dealt, bytes) in deals {
        digest_lists.push(dealt.clone());
        if let Ok(kept) = HeldFragment::accept([1u8; 32], 0, index, original_len, dealt, bytes) {
            signed.push(kept.hand_out(&holder));
        }
    }
    // The honest deals and the ones whose own digest still matches are kept; every deal
    // with damaged bytes, a wrong index, a wrong length or a wrong own digest is refused.
    assert_eq!(signed.len(), 4 * 2, "kept {}", signed.len());
    let vk = &job.pre.aggregator.vk;
    for f in &signed {
        for d in &digest_lists {
            let cert = BlameCertificate {
                public_inputs: Vec::new(),
                shard_inputs: [0u8; 32],
                offence: Offence::CorruptFragment {
                    fragment: f.clone(),
                    digests: d.clone(),
                },
            };
            assert!(cert.verify(vk).is_err(), "an honest holder was framed");
        }
    }
}

/// A worker's cache of checked rows skips only rows it has checked against the same G2
/// part: a tampered row, or the right row under another verifying key's [τ_X]₂, is
/// checked (and refused) however full the cache is; and the cache stays bounded.
#[test]
fn checked_rows_cache_never_lets_a_tampered_row_through() {
    use ark_ec::{AffineRepr, CurveGroup};
    use tutti_protocol::messages::RefusalReason;
    use tutti_protocol::worker::CheckedRows;
    let job = common::random_job(2, 16, 39);
    let vk = &job.pre.aggregator.vk;
    let identity = WorkerIdentity::from_seed(&[9u8; 32]);
    let inputs = |shard: usize, tamper: bool| {
        let mut key = job.pre.proving_keys[shard].clone();
        if tamper {
            let b = &mut key.row.bases[17];
            *b = (*b + tutti_crypto::G1Affine::generator()).into_affine();
        }
        ShardInputs {
            key: Arc::new(key),
            witness: job.witnesses[shard].clone(),
            public_inputs: job.public_inputs.clone(),
            shard_key: shard_key(&[7u8; 32], shard),
        }
    };
    let first = |w: &mut SignedWorker| {
        w.handle(&Directive::Resume {
            attempt: 0,
            history: vec![],
            send_from: 1,
        })[0]
            .message()
            .expect("decodes")
    };
    let mut cache = CheckedRows::with_capacity(1);
    let mut honest = SignedWorker::with_checked_rows(
        identity.clone(),
        [1u8; 32],
        vk,
        inputs(0, false),
        &mut cache,
    );
    assert!(matches!(first(&mut honest), WorkerMessage::Wires { .. }));
    assert_eq!(cache.len(), 1);
    let mut tampered = SignedWorker::with_checked_rows(
        identity.clone(),
        [1u8; 32],
        vk,
        inputs(0, true),
        &mut cache,
    );
    assert_eq!(
        first(&mut tampered),
        WorkerMessage::Refusal {
            round: 1,
            reason: RefusalReason::SrsRowInconsistent
        }
    );
    // A refused row is not remembered: shown again, it is refused again.
    assert_eq!(cache.len(), 1);
    let mut again = SignedWorker::with_checked_rows(
        identity.clone(),
        [1u8; 32],
        vk,
        inputs(0, true),
        &mut cache,
    );
    assert_eq!(
        first(&mut again),
        WorkerMessage::Refusal {
            round: 1,
            reason: RefusalReason::SrsRowInconsistent
        }
    );
    // The honest row under a key with another [τ_X]₂ (and the same shard part
    // otherwise): not skipped, refused.
    let mut other_vk = vk.clone();
    other_vk.g2.tau_x = (other_vk.g2.tau_x + other_vk.g2.tau_x).into_affine();
    let mut other = SignedWorker::with_checked_rows(
        identity.clone(),
        [1u8; 32],
        &other_vk,
        inputs(0, false),
        &mut cache,
    );
    assert_eq!(
        first(&mut other),
        WorkerMessage::Refusal {
            round: 1,
            reason: RefusalReason::SrsRowInconsistent
        }
    );
    // Bounded: shard 1's row replaces shard 0's.
    let _ = SignedWorker::with_checked_rows(identity, [1u8; 32], vk, inputs(1, false), &mut cache);
    assert_eq!(cache.len(), 1);
}
