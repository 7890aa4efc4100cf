//! The committed circom fixtures (`tests/fixtures/circom/`, see its README) and the
//! layout checks the circom and arkworks tests share.

use std::path::PathBuf;
use std::str::FromStr;

use tutti_protocol::circuit::{Circuit, Witness};
use tutti_protocol::compiled::fitting_shard_gates;
use tutti_protocol::import::circom::{self, R1cs};
use tutti_protocol::layout::{Shape, ShardedCircuit};
use tutti_protocol::{Fr, ProtocolError};

/// The bytes of `tests/fixtures/circom/NAME` (a full file name, extension included).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/circom")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The text of the fixture file `NAME` (a full file name, extension included).
pub fn text(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap_or_else(|e| panic!("{name}: not utf-8: {e}"))
}

/// The constraint system `NAME.r1cs`.
pub fn r1cs(name: &str) -> R1cs {
    R1cs::from_bytes(&fixture(&format!("{name}.r1cs"))).expect("fixture r1cs parses")
}

/// The witness `NAME.wtns` that snarkjs computed.
pub fn wtns(name: &str) -> circom::Witness {
    circom::Witness::from_bytes(&fixture(&format!("{name}.wtns"))).expect("fixture wtns parses")
}

/// The number under top-level `key` in `NAME.expected.json` (written by regenerate.sh
/// from circom's and snarkjs's output).
pub fn expected(name: &str, key: &str) -> u64 {
    let file = format!("{name}.expected.json");
    let json: serde_json::Value =
        serde_json::from_str(&text(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    json.get(key)
        .unwrap_or_else(|| panic!("{key} not in {file}"))
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {file} is not a number"))
}

/// snarkjs's `NAME.public.json`: the statement, a JSON array of decimal strings.
pub fn public_json(name: &str) -> Vec<Fr> {
    let file = format!("{name}.public.json");
    let values: Vec<String> =
        serde_json::from_str(&text(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    values
        .iter()
        .map(|s| Fr::from_str(s).expect("a decimal field element"))
        .collect()
}

/// The smallest T (rows per shard) with which `m` shards' usable rows hold `circuit`.
pub fn shape_for(circuit: &Circuit, m: usize) -> usize {
    fitting_shard_gates(circuit.gates.len(), m).unwrap()
}

/// Gates and copy constraints of `circuit` through the layout's own check (the
/// permutation), in `m` shards of the smallest T that fits.
pub fn layout_check(
    circuit: &Circuit,
    witness: &Witness,
    public: &[Fr],
    m: usize,
) -> Result<(), ProtocolError> {
    let shape = Shape::new(m, shape_for(circuit, m)).unwrap();
    let sharded = ShardedCircuit::new(circuit, shape).unwrap();
    sharded.check_witness(&sharded.shard_witnesses(witness), public)
}
