//! Every decoder of untrusted bytes, behind a handful of entry points: what the
//! coverage-guided fuzz targets (`fuzz/`, cargo-fuzz) call, and what
//! `chaos/tests/fuzz_corpora.rs` replays the committed corpora through on the stable
//! toolchain. Each entry point must return for any input — an `Err` is fine, a panic or
//! an allocation beyond what the input holds is a bug.
//!
//! The first byte of the input picks the decoder (modulo the number of decoders of the
//! entry point) and the rest is what it decodes, so that one target covers a family and
//! the fuzzer learns the selector like any other byte.

use tutti_crypto::encoding::Reader;
use tutti_protocol::aggregator::journal::JournalEntry;
use tutti_protocol::assignment::ShardAssignment;
use tutti_protocol::blame::BlameCertificate;
use tutti_protocol::envelope::Envelope;
use tutti_protocol::fragments::SignedFragment;
use tutti_protocol::inputs::ShardSecrets;
use tutti_protocol::messages::{AggregatorMessage, WorkerMessage};
use tutti_protocol::proof::{Proof, ProofFile};
use tutti_protocol::worker::Directive;
use tutti_transport::record::JobRecord;
use tutti_transport::wire;

/// A decoder entry point: returns for any input, panics only on a bug.
pub type EntryPoint = fn(&[u8]);

/// The entry points, by name (the fuzz targets' and the corpora directories' names).
pub const TARGETS: [(&str, EntryPoint); 4] = [
    ("protocol_messages", protocol_messages),
    ("wire_payloads", wire_payloads),
    ("keys_and_circuits", keys_and_circuits),
    ("circom_files", circom_files),
];

fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((selector, rest)) => (*selector, rest),
        None => (0, &[]),
    }
}

/// Worker and aggregator messages, directives, envelopes, signed fragments, assignments,
/// shard secrets, journal entries, blame certificates, proofs and proof files.
pub fn protocol_messages(data: &[u8]) {
    let (selector, bytes) = split(data);
    match selector % 11 {
        0 => drop(WorkerMessage::from_bytes(bytes)),
        1 => drop(AggregatorMessage::from_bytes(bytes)),
        2 => drop(Directive::from_bytes(bytes)),
        3 => drop(Envelope::read(&mut Reader::new(bytes, "fuzz"))),
        4 => drop(SignedFragment::read(&mut Reader::new(bytes, "fuzz"))),
        5 => drop(ShardAssignment::from_bytes(bytes)),
        6 => drop(ShardSecrets::from_bytes(bytes)),
        7 => drop(JournalEntry::from_bytes(bytes)),
        8 => drop(BlameCertificate::from_bytes(bytes)),
        9 => drop(Proof::from_bytes(bytes)),
        _ => drop(ProofFile::from_bytes(bytes)),
    }
}

/// The transport's payloads: hello, directives with and without a shard, submissions
/// with and without witnesses, outcomes, fragment deposits and requests, the outcome
/// and assignment frames, stored job records.
pub fn wire_payloads(data: &[u8]) {
    let (selector, bytes) = split(data);
    match selector % 10 {
        0 => drop(wire::Hello::from_bytes(bytes)),
        1 => drop(wire::JobDirective::from_bytes(bytes, true)),
        2 => drop(wire::JobDirective::from_bytes(bytes, false)),
        3 => drop(wire::Submission::from_bytes_with(bytes, true)),
        4 => drop(wire::Submission::from_bytes_with(bytes, false)),
        5 => drop(wire::JobOutcome::from_bytes(bytes)),
        6 => drop(wire::FragmentDeposit::from_bytes(bytes)),
        7 => drop(wire::parse_fragment_request(bytes)),
        8 => {
            drop(wire::parse_outcome_frame(bytes));
            drop(wire::parse_assignment_frame(bytes));
        }
        _ => drop(JobRecord::from_bytes(bytes)),
    }
}

/// Verifying keys, compiled circuits and ceremony states.
pub fn keys_and_circuits(data: &[u8]) {
    let (selector, bytes) = split(data);
    match selector % 3 {
        0 => drop(tutti_protocol::keys::VerifyingKey::from_bytes(bytes)),
        1 => drop(tutti_protocol::compiled::CompiledCircuit::from_bytes(bytes)),
        _ => drop(tutti_crypto::ceremony::CeremonyState::from_bytes(bytes)),
    }
}

/// circom's `.r1cs`, `.wtns` and `.sym`.
pub fn circom_files(data: &[u8]) {
    use tutti_protocol::import::circom::{R1cs, Witness};
    let (selector, bytes) = split(data);
    match selector % 3 {
        0 => drop(R1cs::from_bytes(bytes)),
        1 => drop(Witness::from_bytes(bytes)),
        _ => {
            if let Ok(text) = std::str::from_utf8(bytes) {
                drop(tutti_protocol::import::symbols::SymbolTable::parse(text));
            }
        }
    }
}
