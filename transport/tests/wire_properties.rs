//! Property tests of the framing and of every payload decoder: valid values round-trip,
//! arbitrary or mutated bytes never panic, and headers are accepted exactly when valid.

use proptest::prelude::*;
use tutti_crypto::Fr;
use tutti_crypto::erasure::ErasureParams;
use tutti_crypto::identity::{WorkerId, WorkerIdentity};
use tutti_crypto::scalars::derive_scalars;
use tutti_protocol::circuits::{BuiltinCircuit, CircuitRef};
use tutti_protocol::layout::{Shape, ShardWitness, ShardedCircuit};
use tutti_protocol::linearise::OpeningWeights;
use tutti_protocol::messages::AggregatorMessage;
use tutti_protocol::worker::Directive;
use tutti_transport::TransportError;
use tutti_transport::frame::{FRAME_VERSION, Frame, FrameType, HEADER_BYTES, check_header};
use tutti_transport::record::{CodedInputs, CodedShard, JobRecord};
use tutti_transport::tls::PeerRole;
use tutti_transport::wire::{
    FragmentDeposit, Hello, JobDirective, JobOutcome, JobStats, Submission, WorkerTraffic,
    job_id_from_bytes, parse_outcome_frame,
};

const SHARDS: usize = 4;
/// A bulk limit for header checks.
const MAX_BULK: usize = 1 << 24;
/// Identity seeds used in generated values.
const HONEST: [u8; 5] = [1, 2, 3, 4, 5];
const CLIENT: u8 = 99;

fn identity(k: u8) -> WorkerIdentity {
    WorkerIdentity::from_seed(&[k; 32])
}

fn header(kind: FrameType, len: u32) -> [u8; HEADER_BYTES] {
    let mut h = [0u8; HEADER_BYTES];
    h[0] = FRAME_VERSION;
    h[1] = kind as u8;
    h[2..].copy_from_slice(&len.to_be_bytes());
    h
}

fn submission(circuit: CircuitRef) -> Submission {
    let (c, w, _) = circuit.build().expect("circuit");
    let sharded = ShardedCircuit::new(&c, circuit.shape).expect("shard");
    Submission {
        circuit: circuit.into(),
        public_inputs: w.public_inputs(&c),
        witnesses: sharded.shard_witnesses(&w),
    }
}

fn circuit() -> CircuitRef {
    CircuitRef {
        kind: BuiltinCircuit::Random,
        shape: Shape::new(SHARDS, 64).expect("shape"),
        seed: 7,
    }
}

// ---------------------------------------------------------------------------------------
// 7. Framing and decoders, property-tested.
// ---------------------------------------------------------------------------------------

/// Every frame type this build knows.
fn all_types() -> Vec<FrameType> {
    (0..=u8::MAX).filter_map(FrameType::from_u8).collect()
}

/// The types whose bit is set in `mask`.
fn subset(mask: u32) -> Vec<FrameType> {
    all_types()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << (i % 32)) != 0)
        .map(|(_, t)| t)
        .collect()
}

fn frame_type() -> impl Strategy<Value = FrameType> {
    proptest::sample::select(all_types())
}

fn max_bulk() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0usize), 0usize..100_000, Just(MAX_BULK), Just(1 << 30)]
}

/// Field elements spread over the whole field (not only small ones).
fn scalars(n: usize) -> impl Strategy<Value = Vec<Fr>> {
    any::<[u8; 32]>().prop_map(move |seed| derive_scalars(&seed, b"hostile_peers/test", n))
}

fn worker_id() -> impl Strategy<Value = WorkerId> {
    any::<[u8; 32]>().prop_map(WorkerId)
}

fn signature() -> impl Strategy<Value = [u8; 64]> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(a, b)| {
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(&a);
        s[32..].copy_from_slice(&b);
        s
    })
}

fn hello() -> impl Strategy<Value = Hello> {
    (
        prop_oneof![Just(PeerRole::Worker), Just(PeerRole::Client)],
        worker_id(),
        signature(),
        proptest::collection::vec((any::<[u8; 32]>(), any::<u32>()), 0..=64),
    )
        .prop_map(|(role, id, signature, held)| Hello {
            role,
            id,
            signature,
            held,
        })
}

fn aggregator_message() -> impl Strategy<Value = AggregatorMessage> {
    (0u8..4, scalars(6)).prop_map(|(k, s)| match k {
        0 => AggregatorMessage::PermutationChallenges {
            beta: s[0],
            gamma: s[1],
        },
        1 => AggregatorMessage::LinkScalars {
            alpha: s[0],
            w: s[1],
            w_next: s[2],
        },
        2 => AggregatorMessage::EvaluationPoint { x: s[0] },
        _ => AggregatorMessage::OpeningWeights(OpeningWeights {
            nu: s[0],
            wires: [s[1], s[2], s[3]],
            sigma: s[4],
            z: s[5],
        }),
    })
}

fn directive() -> impl Strategy<Value = Directive> {
    prop_oneof![
        (any::<u32>(), aggregator_message())
            .prop_map(|(attempt, message)| Directive::Next { attempt, message }),
        (
            any::<u32>(),
            proptest::collection::vec(aggregator_message(), 0..=4),
            any::<u8>()
        )
            .prop_map(|(attempt, history, send_from)| Directive::Resume {
                attempt,
                history,
                send_from
            }),
    ]
}

fn job_directive() -> impl Strategy<Value = JobDirective> {
    (any::<[u8; 32]>(), any::<Option<u32>>(), directive()).prop_map(|(job_id, shard, directive)| {
        JobDirective {
            job_id,
            shard,
            directive,
        }
    })
}

/// A submission of a small shape with arbitrary values (decoding does not check the
/// witness against the circuit).
fn submission_value() -> impl Strategy<Value = Submission> {
    (
        prop_oneof![Just(BuiltinCircuit::Random), Just(BuiltinCircuit::Rollup)],
        prop_oneof![Just(1usize), Just(2), Just(4)],
        prop_oneof![Just(16usize), Just(32)],
        any::<u64>(),
        0usize..4,
        any::<[u8; 32]>(),
    )
        .prop_map(|(kind, m, t, seed, n, values)| {
            let all = derive_scalars(&values, b"hostile_peers/submission", n + 3 * m * t);
            let (public_inputs, wires) = all.split_at(n);
            Submission {
                circuit: CircuitRef {
                    kind,
                    shape: Shape::new(m, t).expect("shape"),
                    seed,
                }
                .into(),
                public_inputs: public_inputs.to_vec(),
                witnesses: wires
                    .chunks(3 * t)
                    .map(|w| ShardWitness {
                        wires: [w[..t].to_vec(), w[t..2 * t].to_vec(), w[2 * t..].to_vec()],
                    })
                    .collect(),
            }
        })
}

fn job_outcome() -> impl Strategy<Value = JobOutcome> {
    let traffic = (worker_id(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
        |(worker, sent, received, inputs)| WorkerTraffic {
            worker,
            sent,
            received,
            inputs,
        },
    );
    let stats = (
        any::<(u64, u64, u32, u32, u32, u32)>(),
        proptest::collection::vec(worker_id(), 0..4),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 0..4),
        proptest::collection::vec(traffic, 0..6),
    )
        .prop_map(
            |(
                (aggregator_nanos, wall_nanos, attempts, reassigned, resumed, resent),
                blamed,
                certificates,
                traffic,
            )| JobStats {
                aggregator_nanos,
                wall_nanos,
                attempts,
                blamed,
                certificates,
                reassigned,
                resumed,
                resent,
                traffic,
            },
        );
    prop_oneof![
        (
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(any::<u8>(), 0..300),
            (0usize..5).prop_flat_map(scalars),
            stats,
        )
            .prop_map(|(proof, vk, public_inputs, stats)| JobOutcome::Proved {
                proof,
                vk,
                public_inputs,
                stats,
            }),
        ".{0,80}".prop_map(JobOutcome::Failed),
    ]
}

/// Erasure parameters over the valid range.
fn erasure_params() -> impl Strategy<Value = ErasureParams> {
    (1usize..=256)
        .prop_flat_map(|k| (Just(k), 0..=256 - k))
        .prop_map(|(k, m)| ErasureParams::new(k, m).expect("valid parameters"))
}

fn coded_inputs() -> impl Strategy<Value = CodedInputs> {
    let shard = (
        any::<u64>(),
        proptest::collection::vec(any::<[u8; 32]>(), 0..6),
        proptest::collection::vec(worker_id(), 0..6),
    )
        .prop_map(|(len, digests, holders)| CodedShard {
            len,
            digests,
            holders,
        });
    (erasure_params(), proptest::collection::vec(shard, 0..5))
        .prop_map(|(params, shards)| CodedInputs { params, shards })
}

fn job_record() -> impl Strategy<Value = JobRecord> {
    (
        (submission_value(), any::<bool>()),
        any::<[u8; 32]>(),
        worker_id(),
        proptest::collection::vec(worker_id(), 0..6),
        any::<u8>(),
        proptest::collection::vec(any::<[u8; 32]>(), 0..5),
        proptest::option::of(coded_inputs()),
    )
        .prop_map(
            |(
                (mut submission, coded_away),
                job_secret,
                client,
                workers,
                replicas,
                digests,
                coded,
            )| {
                if coded_away {
                    submission.witnesses.clear();
                }
                JobRecord {
                    submission,
                    job_secret,
                    client,
                    workers,
                    replicas,
                    digests,
                    coded,
                }
            },
        )
}

/// A valid encoding with one random edit: truncated, a byte changed, or a byte inserted.
fn mutated(valid: Vec<u8>, which: u8, at: usize, byte: u8) -> Vec<u8> {
    let mut b = valid;
    let at = if b.is_empty() { 0 } else { at % b.len() };
    match which % 3 {
        0 => b.truncate(at),
        1 if !b.is_empty() => b[at] ^= byte.max(1),
        _ => b.insert(at, byte),
    }
    b
}

/// Every decoder of the crate, on `bytes`; none may panic.
fn decode_everything(bytes: &[u8]) {
    let _ = Hello::from_bytes(bytes);
    let _ = JobDirective::from_bytes(bytes, true);
    let _ = JobDirective::from_bytes(bytes, false);
    let _ = Submission::from_bytes(bytes);
    let _ = JobOutcome::from_bytes(bytes);
    let _ = JobRecord::from_bytes(bytes);
    let _ = parse_outcome_frame(bytes);
    let _ = tutti_transport::wire::parse_assignment_frame(bytes);
    let _ = job_id_from_bytes(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `check_header` accepts exactly the headers with version 1, a known type among the
    /// allowed ones and a length within that type's limit.
    #[test]
    fn check_header_accepts_exactly_the_valid_headers(
        header in any::<[u8; HEADER_BYTES]>(),
        version in prop_oneof![Just(FRAME_VERSION), any::<u8>()],
        kind in prop_oneof![frame_type().prop_map(|t| t as u8), any::<u8>()],
        mask in any::<u32>(),
        max_bulk in max_bulk(),
    ) {
        let mut header = header;
        header[0] = version;
        header[1] = kind;
        let allowed = subset(mask);
        let len = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
        let valid = FrameType::from_u8(kind)
            .filter(|t| version == FRAME_VERSION && allowed.contains(t) && len <= t.limit(max_bulk));
        match check_header(&header, &allowed, max_bulk) {
            Ok((t, l)) => {
                prop_assert_eq!(Some(t), valid);
                prop_assert_eq!(l, len);
            }
            Err(e) => {
                prop_assert!(valid.is_none(), "a valid header was rejected: {}", e);
                prop_assert!(matches!(e, TransportError::Frame(_)), "{:?}", e);
            }
        }
    }

    #[test]
    fn check_header_rejects_a_wrong_version(
        version in any::<u8>().prop_filter("not 1", |v| *v != FRAME_VERSION),
        kind in frame_type(),
        len in 0u32..64,
    ) {
        let mut h = header(kind, len);
        h[0] = version;
        let e = check_header(&h, &all_types(), MAX_BULK).expect_err("wrong version");
        prop_assert!(e.to_string().contains("version"), "{}", e);
    }

    #[test]
    fn check_header_rejects_an_unknown_type(
        kind in any::<u8>().prop_filter("unknown", |k| FrameType::from_u8(*k).is_none()),
        len in 0u32..64,
    ) {
        let h = [FRAME_VERSION, kind, 0, 0, 0, len as u8];
        let e = check_header(&h, &all_types(), MAX_BULK).expect_err("unknown type");
        prop_assert!(e.to_string().contains("unknown frame type"), "{}", e);
    }

    #[test]
    fn check_header_rejects_a_type_not_allowed(
        kind in frame_type(),
        mask in any::<u32>(),
        len in 0u32..32,
    ) {
        let allowed: Vec<FrameType> = subset(mask).into_iter().filter(|t| *t != kind).collect();
        let e = check_header(&header(kind, len), &allowed, MAX_BULK).expect_err("not allowed");
        prop_assert!(e.to_string().contains("not allowed"), "{}", e);
    }

    #[test]
    fn check_header_rejects_a_length_over_the_limit(
        kind in frame_type(),
        max_bulk in 0usize..(1 << 31),
        excess in any::<u32>(),
    ) {
        let limit = kind.limit(max_bulk);
        prop_assume!(limit < u32::MAX as usize);
        let len = (limit as u64 + 1 + u64::from(excess) % (u32::MAX as u64 - limit as u64)) as u32;
        prop_assert!(len as usize > limit);
        let e = check_header(&header(kind, len), &all_types(), max_bulk).expect_err("too long");
        prop_assert!(e.to_string().contains("exceeds its limit"), "{}", e);
    }

    /// A frame within its limit goes through `to_bytes` and `check_header` unchanged.
    #[test]
    fn valid_frames_round_trip(
        kind in frame_type(),
        len in 0usize..3000,
        fill in any::<u8>(),
        max_bulk in prop_oneof![Just(4096usize), Just(MAX_BULK)],
    ) {
        let len = len.min(kind.limit(max_bulk));
        let payload: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(fill)).collect();
        let frame = Frame::new(kind, payload.clone());
        let bytes = frame.to_bytes();
        prop_assert_eq!(bytes.len(), frame.wire_len());
        let mut h = [0u8; HEADER_BYTES];
        h.copy_from_slice(&bytes[..HEADER_BYTES]);
        prop_assert_eq!(h, header(kind, len as u32));
        let (k, l) = check_header(&h, &[kind], max_bulk).expect("a valid header");
        prop_assert_eq!(k, kind);
        prop_assert_eq!(l, len);
        prop_assert_eq!(&bytes[HEADER_BYTES..], payload.as_slice());
        prop_assert_eq!(FrameType::from_u8(kind as u8), Some(kind));
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        decode_everything(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_mutated_encodings(
        h in hello(),
        d in job_directive(),
        o in job_outcome(),
        r in job_record(),
        which in any::<u8>(),
        at in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let encodings = [
            h.to_bytes(),
            d.to_bytes(),
            o.to_bytes(),
            r.to_bytes(),
            r.submission.to_bytes(),
            [[0u8; 32].as_slice(), &o.to_bytes()].concat(),
        ];
        for valid in encodings {
            decode_everything(&mutated(valid, which, at, byte));
        }
    }

    #[test]
    fn hello_round_trips(h in hello()) {
        prop_assert_eq!(Hello::from_bytes(&h.to_bytes()).expect("decodes"), h);
    }

    #[test]
    fn job_directive_round_trips(d in job_directive()) {
        let decoded = JobDirective::from_bytes(&d.to_bytes(), d.shard.is_some()).expect("decodes");
        prop_assert_eq!(decoded, d);
    }

    #[test]
    fn submission_round_trips(s in submission_value()) {
        prop_assert_eq!(Submission::from_bytes(&s.to_bytes()).expect("decodes"), s);
    }

    #[test]
    fn job_outcome_round_trips(o in job_outcome()) {
        prop_assert_eq!(JobOutcome::from_bytes(&o.to_bytes()).expect("decodes"), o.clone());
        let frame = tutti_transport::wire::outcome_frame(&[9u8; 32], &o);
        prop_assert_eq!(parse_outcome_frame(&frame).expect("decodes"), ([9u8; 32], o));
    }

    #[test]
    fn job_record_round_trips(r in job_record()) {
        prop_assert_eq!(JobRecord::from_bytes(&r.to_bytes()).expect("decodes"), r);
    }

    /// A record written before proof format 2 (version byte 1, otherwise the same layout)
    /// is refused with a message that says why and what to do, never replayed.
    #[test]
    fn format_one_job_records_are_refused(r in job_record()) {
        let mut bytes = r.to_bytes();
        prop_assert_eq!(bytes[0], tutti_transport::record::JOB_RECORD_VERSION);
        bytes[0] = 1;
        let err = JobRecord::from_bytes(&bytes).expect_err("a version-1 record").to_string();
        prop_assert!(err.contains("proof format 1") && err.contains("submit the job again"), "{}", err);
    }
}

/// The largest erasure code the parameters allow (256 data fragments, no parity) must
/// survive the record like any other.
#[test]
fn job_record_round_trips_with_256_data_fragments() {
    for (k, m) in [(1, 255), (128, 128), (255, 1), (256, 0)] {
        let record = JobRecord {
            submission: submission(circuit()),
            job_secret: [3; 32],
            client: identity(CLIENT).id(),
            workers: HONEST.iter().map(|k| identity(*k).id()).collect(),
            replicas: 1,
            digests: vec![[4; 32]; SHARDS],
            coded: Some(CodedInputs {
                params: ErasureParams::new(k, m).expect("valid parameters"),
                shards: Vec::new(),
            }),
        };
        let decoded = JobRecord::from_bytes(&record.to_bytes())
            .unwrap_or_else(|e| panic!("k = {k}, m = {m}: {e}"));
        assert_eq!(decoded, record, "k = {k}, m = {m}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A dealt fragment round-trips, is consistent with its digests as coded, and any
    /// changed byte makes it inconsistent: a holder refuses to keep (and so ever sign) a
    /// fragment an aggregator could later call corrupted.
    #[test]
    fn fragment_deposits_are_checked_on_receipt(
        seed in any::<u64>(),
        index in 0usize..3,
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        use tutti_protocol::inputs::{ShardSecrets, code_shard};
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_be_bytes());
        let values = derive_scalars(&key, b"deposit", 3 * 16);
        let secrets = ShardSecrets {
            witness: ShardWitness {
                wires: [values[..16].to_vec(), values[16..32].to_vec(), values[32..].to_vec()],
            },
            shard_key: [7; 32],
        };
        let params = ErasureParams::new(2, 1).expect("params");
        let (fragments, digests, len) = code_shard(&secrets, params).expect("code");
        let f = &fragments[index];
        let deposit = FragmentDeposit {
            job_id: [1; 32],
            shard: 0,
            index: f.index,
            original_len: len as u64,
            digests,
            bytes: f.bytes.clone(),
        };
        let decoded = FragmentDeposit::from_bytes(&deposit.to_bytes()).expect("decode");
        prop_assert_eq!(&decoded, &deposit);
        prop_assert!(deposit.clone().into_held().is_ok());
        let mut tampered = deposit.clone();
        let i = at.index(tampered.bytes.len());
        tampered.bytes[i] ^= flip;
        prop_assert!(tampered.into_held().is_err());
    }
}

/// A submission carrying a compiled circuit round-trips, and a changed byte of the
/// circuit is refused or gives another circuit (never a panic, never the same digest).
#[test]
fn a_compiled_submission_round_trips_and_a_changed_byte_is_caught() {
    use tutti_transport::circuit_spec::CircuitSpec;
    let r = CircuitRef {
        kind: BuiltinCircuit::Random,
        shape: Shape::new(2, 16).expect("shape"),
        seed: 9,
    };
    let (compiled, witness, _) = r.compile().expect("compile");
    let public_inputs = witness.public_inputs(compiled.circuit());
    let witnesses = compiled.sharded().shard_witnesses(&witness);
    let digest = compiled.digest();
    let s = Submission {
        circuit: CircuitSpec::compiled(compiled),
        public_inputs,
        witnesses,
    };
    let bytes = s.to_bytes();
    assert_eq!(Submission::from_bytes(&bytes).expect("decodes"), s);
    let circuit_len = u32::from_be_bytes(bytes[1..5].try_into().expect("4 bytes")) as usize;
    for at in 0..5 + circuit_len {
        let mut changed = bytes.clone();
        changed[at] ^= 0x41;
        if let Ok(d) = Submission::from_bytes(&changed)
            && let CircuitSpec::Compiled { circuit, .. } = &d.circuit
        {
            assert_ne!(circuit.digest(), digest, "byte {at}");
        }
    }
}

/// A small compiled circuit claiming a huge shape is refused from its header, before
/// its rows are laid out: the witness that shape needs is not in the frame.
#[test]
fn a_compiled_circuit_claiming_a_huge_shape_is_refused_before_layout() {
    let (compiled, _, _) = CircuitRef {
        kind: BuiltinCircuit::Random,
        shape: Shape::new(2, 16).expect("shape"),
        seed: 3,
    }
    .compile()
    .expect("compile");
    let mut artifact = compiled.to_bytes();
    // Header: magic (8), version (2), M u32, T u32.
    artifact[10..14].copy_from_slice(&4096u32.to_be_bytes());
    artifact[14..18].copy_from_slice(&(1u32 << 24).to_be_bytes());
    let mut frame = vec![3u8];
    frame.extend_from_slice(&(artifact.len() as u32).to_be_bytes());
    frame.extend_from_slice(&artifact);
    frame.extend_from_slice(&0u32.to_be_bytes()); // no public inputs, no witness
    let err = Submission::from_bytes(&frame).expect_err("refused");
    assert!(err.to_string().contains("needs a witness"), "{err}");
}
