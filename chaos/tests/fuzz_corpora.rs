//! The committed fuzz corpora (`fuzz/corpus/<target>/`, minimized by `cargo fuzz cmin`
//! after each campaign) replayed through every decoder entry point on the stable
//! toolchain: an input that once made a decoder panic stays a regression test here.
//! `write_seeds` (ignored) writes the valid encodings the campaigns start from.

use std::path::PathBuf;
use tutti_chaos::decoders::TARGETS;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

#[test]
fn every_corpus_input_decodes_without_panicking() {
    for (name, decode) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (see fuzz/README.md)", dir.display()));
        let mut inputs = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            decode(&bytes);
            inputs += 1;
        }
        assert!(
            inputs >= 20,
            "{name}: only {inputs} corpus inputs in {}",
            dir.display()
        );
    }
}

/// Writes valid encodings of every type (selector byte first, as the entry points read
/// them) into `fuzz/seeds/<target>/`: `cargo test -p tutti-chaos --test fuzz_corpora --
/// --ignored write_seeds`.
#[test]
#[ignore = "writes fuzz/seeds; see fuzz/README.md"]
fn write_seeds() {
    use tutti_crypto::ceremony::CeremonyState;
    use tutti_crypto::srs::InMemorySrs;
    use tutti_protocol::aggregator::journal::JournalEntry;
    use tutti_protocol::circuits::{BuiltinCircuit, CircuitRef};
    use tutti_protocol::keys::preprocess;
    use tutti_protocol::layout::{Shape, ShardedCircuit};
    use tutti_protocol::messages::{AggregatorMessage, WorkerMessage};
    use tutti_protocol::proof::ProofFile;
    use tutti_protocol::runner::{NoClock, RunOptions, run_in_process};

    let write = |target: &str, name: &str, selector: u8, bytes: &[u8]| {
        let dir = fuzz_dir().join("seeds").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let mut data = vec![selector];
        data.extend_from_slice(bytes);
        std::fs::write(dir.join(name), data).unwrap();
    };
    let shape = Shape::new(2, 16).unwrap();
    let circuit = CircuitRef {
        kind: BuiltinCircuit::Random,
        shape,
        seed: 3,
    };
    let (compiled, _, _) = circuit.compile().unwrap();
    let (gates, witness, _) = circuit.build().unwrap();
    let sharded = ShardedCircuit::new(&gates, shape).unwrap();
    let srs = InMemorySrs::insecure_from_seed(2, 16, b"fuzz seeds").unwrap();
    let pre = preprocess(&sharded, &srs).unwrap();
    let public_inputs = witness.public_inputs(&gates);
    let report = run_in_process(
        &pre,
        sharded.shard_witnesses(&witness),
        &public_inputs,
        RunOptions::deterministic([7; 32]),
        &NoClock,
    )
    .unwrap();
    let proof = report.proof;
    let e = proof.evals;
    let messages = [
        WorkerMessage::Wires {
            commitments: [proof.wires[0], proof.wires[1], proof.wires[2]],
        },
        WorkerMessage::RunningProduct {
            commitment: proof.z,
            product: e.w,
        },
        WorkerMessage::Quotient {
            commitments: proof.quotient_x,
        },
        WorkerMessage::Evaluations {
            at_x: [e.w; tutti_protocol::messages::VALUES_AT_X],
            z_shift: e.z_shift,
        },
        WorkerMessage::Openings {
            at_x: proof.open_x,
            at_shifted_x: proof.open_x_shift,
        },
    ];
    for (k, m) in messages.iter().enumerate() {
        write(
            "protocol_messages",
            &format!("worker_{k}"),
            0,
            &m.to_bytes(),
        );
    }
    let challenges = [
        AggregatorMessage::PermutationChallenges {
            beta: e.w,
            gamma: e.w_shift,
        },
        AggregatorMessage::EvaluationPoint { x: e.z_shift },
    ];
    for (k, m) in challenges.iter().enumerate() {
        write(
            "protocol_messages",
            &format!("aggregator_{k}"),
            1,
            &m.to_bytes(),
        );
    }
    let entries = [
        JournalEntry::Timeout { shard: 1, round: 3 },
        JournalEntry::Message {
            from: tutti_crypto::identity::WorkerId([9; 32]),
            wire: messages[0].to_bytes(),
        },
    ];
    for (k, j) in entries.iter().enumerate() {
        write(
            "protocol_messages",
            &format!("journal_{k}"),
            7,
            &j.to_bytes(),
        );
    }
    write("protocol_messages", "proof", 9, &proof.to_bytes());
    let file = ProofFile {
        proof,
        public_inputs: public_inputs.clone(),
    };
    write("protocol_messages", "proof_file", 10, &file.to_bytes());
    write("keys_and_circuits", "vk", 0, &pre.aggregator.vk.to_bytes());
    write("keys_and_circuits", "compiled", 1, &compiled.to_bytes());
    let state = CeremonyState::init(1, 16).unwrap();
    write("keys_and_circuits", "ceremony", 2, &state.to_bytes());
    let circom =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../protocol/tests/fixtures/circom");
    for name in ["multiplier", "affine", "bounded", "crossing"] {
        for (ext, selector) in [("r1cs", 0u8), ("wtns", 1), ("sym", 2)] {
            if let Ok(bytes) = std::fs::read(circom.join(format!("{name}.{ext}"))) {
                write("circom_files", &format!("{name}_{ext}"), selector, &bytes);
            }
        }
    }
}
