//! Witnesses computed from circom's WebAssembly witness generators (`import::wasm`)
//! against the `.wtns` files that `snarkjs wtns calculate` wrote for the same inputs
//! (fixtures under `tests/fixtures/circom/`, see its README), and every way a generator
//! or an input can be wrong.
#![cfg(feature = "circom-wasm")]

mod common;

use std::path::PathBuf;

use ark_ff::{BigInteger, PrimeField};
use tutti_protocol::Fr;
use tutti_protocol::import::ImportError;
use tutti_protocol::import::circom::Witness;
use tutti_protocol::import::wasm::{CircomInputs, WasmLimits, WitnessCalculator, fnv1a};

use common::circom::{fixture, r1cs, text};

/// Circuits whose generator is committed (each under 200 KB).
const COMMITTED: [&str; 5] = ["multiplier", "affine", "bounded", "multi_io", "crossing"];
/// Circuits whose generator is too large to commit: checked when
/// `TUTTI_CIRCOM_WASM_DIR` names a folder holding `NAME.wasm` (regenerate.sh's
/// `circom2 --wasm` output).
const UNCOMMITTED: [&str; 2] = ["poseidon2", "merkle"];

fn calculator(name: &str) -> WitnessCalculator {
    WitnessCalculator::new(&fixture(&format!("{name}.wasm"))).expect("fixture wasm compiles")
}

fn calculate(name: &str, input: &str) -> Result<Witness, ImportError> {
    calculator(name).calculate(&CircomInputs::from_json(input)?)
}

/// The witness from `wasm` on the committed input equals snarkjs's `.wtns`, value for
/// value and byte for byte, and satisfies the `.r1cs`.
fn check_against_snarkjs(name: &str, wasm: &[u8]) {
    let input = text(&format!("{name}.input.json"));
    let computed = WitnessCalculator::new(wasm)
        .expect("wasm compiles")
        .calculate(&CircomInputs::from_json(&input).expect("input parses"))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let wtns = fixture(&format!("{name}.wtns"));
    let expected = Witness::from_bytes(&wtns).expect("fixture wtns parses");
    assert_eq!(computed.0.len(), expected.0.len(), "{name}: witness length");
    for (i, (c, e)) in computed.0.iter().zip(&expected.0).enumerate() {
        assert_eq!(c, e, "{name}: witness value {i}");
    }
    assert!(computed.to_bytes() == wtns, "{name}: .wtns bytes differ");
    let r1cs = r1cs(name);
    r1cs.check_witness(&computed)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

#[test]
fn witnesses_equal_snarkjs_wtns_byte_for_byte() {
    for name in COMMITTED {
        check_against_snarkjs(name, &fixture(&format!("{name}.wasm")));
    }
}

#[test]
fn large_generators_from_tutti_circom_wasm_dir() {
    let Some(folder) = std::env::var_os("TUTTI_CIRCOM_WASM_DIR") else {
        eprintln!(
            "note: {UNCOMMITTED:?} not checked: their generators are over 200 KB and not \
             committed; set TUTTI_CIRCOM_WASM_DIR to a folder with NAME.wasm to check them"
        );
        return;
    };
    for name in UNCOMMITTED {
        let path = PathBuf::from(&folder).join(format!("{name}.wasm"));
        let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check_against_snarkjs(name, &wasm);
    }
}

#[test]
fn the_wtns_writer_gives_back_every_committed_wtns() {
    // So that a byte-for-byte match above means what it says.
    for name in COMMITTED.iter().chain(&UNCOMMITTED) {
        let wtns = fixture(&format!("{name}.wtns"));
        assert!(
            Witness::from_bytes(&wtns).unwrap().to_bytes() == wtns,
            "{name}"
        );
    }
}

#[test]
fn negative_and_hexadecimal_inputs_are_read_as_snarkjs_reads_them() {
    // affine's committed input has m = p − 1: "-1" and its hexadecimal give the same.
    let expected = Witness::from_bytes(&fixture("affine.wtns")).unwrap();
    let p_minus_1 = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000";
    for m in ["\"-1\"", "-1", &format!("\"{p_minus_1}\"")] {
        let input = format!(r#"{{"x": 5, "y": ["6"], "k": "2", "m": {m}}}"#);
        assert_eq!(calculate("affine", &input).unwrap(), expected, "m = {m}");
    }
}

#[test]
fn a_failing_assert_gives_circoms_message() {
    let err = calculate("bounded", r#"{"x": "100"}"#).unwrap_err();
    let ImportError::CircomAssert { messages } = &err else {
        panic!("expected CircomAssert, got {err:?}");
    };
    assert!(messages.contains("Bounded"), "{messages}");
    assert!(messages.contains("line"), "{messages}");
    // The log line printed before the assert, with the value as a decimal number.
    assert!(messages.contains("bounded x 100"), "{messages}");
    assert!(err.to_string().contains("assert failed"), "{err}");
    // The same calculator accepts a satisfying input afterwards (a fresh instance).
    let calc = calculator("bounded");
    assert!(
        calc.calculate(&CircomInputs::from_json(r#"{"x": 100}"#).unwrap())
            .is_err()
    );
    let w = calc
        .calculate(&CircomInputs::from_json(r#"{"x": 99}"#).unwrap())
        .unwrap();
    assert_eq!(w.0[1], Fr::from(99u64 * 99));
}

#[test]
fn input_errors_are_typed() {
    // A missing signal.
    assert_eq!(
        calculate("affine", r#"{"x": "5", "y": "6", "k": "2"}"#),
        Err(ImportError::InputMissing {
            set: 3,
            expected: 4
        })
    );
    // An extra signal.
    assert_eq!(
        calculate("multiplier", r#"{"a": "3", "b": "11", "q": "1"}"#),
        Err(ImportError::InputUnknownSignal { name: "q".into() })
    );
    // A wrong number of values.
    assert_eq!(
        calculate("multiplier", r#"{"a": ["3", "4"], "b": "11"}"#),
        Err(ImportError::InputArity {
            name: "a".into(),
            expected: 1,
            found: 2
        })
    );
    assert_eq!(
        calculate("multiplier", r#"{"a": [], "b": "11"}"#),
        Err(ImportError::InputArity {
            name: "a".into(),
            expected: 1,
            found: 0
        })
    );
    // A value not less than r, as a decimal string, a negative one and a hexadecimal one.
    let r = "21888242871839275222246405745257275088548364400416034343698204186575808495617";
    for m in [
        r.to_string(),
        format!("-{r}"),
        "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001".into(),
        "9".repeat(100),
    ] {
        let input = format!(r#"{{"x": "5", "y": "6", "k": "2", "m": "{m}"}}"#);
        assert_eq!(
            calculate("affine", &input),
            Err(ImportError::InputNotInField {
                name: "m".into(),
                index: 0
            }),
            "m = {m}"
        );
    }
    // Malformed JSON, and JSON that is not an object of signals.
    for bad in [
        r#"{"a": "3", "b": "11""#,
        "",
        "[1, 2]",
        "\"a\"",
        r#"{"a": "3" "b": 1}"#,
    ] {
        assert!(
            matches!(
                CircomInputs::from_json(bad),
                Err(ImportError::InputJson { .. })
            ),
            "{bad:?}"
        );
    }
    // Values that are not integers.
    for bad in [
        "1.5", "true", "null", r#""12a""#, r#""""#, "1e300", r#""0x""#,
    ] {
        let input = format!(r#"{{"a": {bad}, "b": "11"}}"#);
        assert!(
            matches!(
                CircomInputs::from_json(&input),
                Err(ImportError::InputValue { ref name, index: 0, .. }) if name == "a"
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        CircomInputs::from_json(r#"{"a": [{"b": 1}, 2]}"#),
        Err(ImportError::InputJson { .. })
    ));
}

#[test]
fn truncated_or_garbage_wasm_is_a_typed_error() {
    let wasm = fixture("multiplier.wasm");
    // Every prefix up to 256 bytes, then every 61st.
    let lengths = (0..256).chain((256..wasm.len()).step_by(61));
    for len in lengths {
        match WitnessCalculator::new(&wasm[..len]) {
            // A prefix that ends between sections can be a valid module, without the
            // generator's exports.
            Err(ImportError::WasmInvalid { .. } | ImportError::WasmNotWitnessGenerator { .. }) => {}
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
    for garbage in [
        fixture("multiplier.r1cs"),
        fixture("multiplier.wtns"),
        b"\0asm\x01\0\0\0garbage".to_vec(),
        vec![0xff; 1000],
    ] {
        assert!(matches!(
            WitnessCalculator::new(&garbage),
            Err(ImportError::WasmInvalid { .. })
        ));
    }
    // Corrupted bytes: an error or a witness, never a panic.
    let input = CircomInputs::from_json(&text("multiplier.input.json")).unwrap();
    for i in (8..wasm.len()).step_by(97) {
        let mut bad = wasm.clone();
        bad[i] ^= 0x5a;
        if let Ok(calc) = WitnessCalculator::new(&bad) {
            let _ = calc.calculate(&input);
        }
    }
}

/// A fake circom 2 generator in WebAssembly text: BN254, one input signal of one value
/// (`in`, any name), a witness of two values (1 and the input), and the given bodies.
struct Fake {
    n32: u32,
    prime: Vec<u8>,
    version: i32,
    init: String,
    set_input: String,
    memory_pages: u32,
    extra_import: &'static str,
    message: &'static str,
    message_char_prefix: &'static str,
}

impl Default for Fake {
    fn default() -> Self {
        Self {
            n32: 8,
            prime: Fr::MODULUS.to_bytes_le(),
            version: 2,
            init: String::new(),
            set_input: String::new(),
            memory_pages: 1,
            extra_import: "",
            message: "",
            message_char_prefix: "",
        }
    }
}

impl Fake {
    fn wasm(&self) -> Vec<u8> {
        let mut prime = String::new();
        for (j, w) in self.prime.chunks(4).enumerate() {
            let mut word = [0u8; 4];
            word[..w.len()].copy_from_slice(w);
            let word = u32::from_le_bytes(word) as i32;
            prime += &format!("(i32.store (i32.const {}) (i32.const {word}))\n", 4 * j);
        }
        let wat = format!(
            r#"(module
  (import "runtime" "exceptionHandler" (func $exc (param i32)))
  (import "runtime" "printErrorMessage" (func $err))
  (import "runtime" "writeBufferMessage" (func $buf))
  (import "runtime" "showSharedRWMemory" (func $show))
  {extra}
  (memory (export "memory") {pages})
  (global $msg (mut i32) (i32.const 1024))
  (global $input (mut i32) (i32.const 0))
  (data (i32.const 1024) "{message}\00")
  (func (export "getVersion") (result i32) (i32.const {version}))
  (func (export "getFieldNumLen32") (result i32) (i32.const {n32}))
  (func (export "getRawPrime") {prime})
  (func (export "readSharedRWMemory") (param i32) (result i32)
    (i32.load (i32.shl (local.get 0) (i32.const 2))))
  (func (export "writeSharedRWMemory") (param i32 i32)
    (i32.store (i32.shl (local.get 0) (i32.const 2)) (local.get 1)))
  (func (export "init") (param i32) {init})
  (func (export "getInputSignalSize") (param i32 i32) (result i32) (i32.const 1))
  (func (export "setInputSignal") (param i32 i32 i32)
    {set_input}
    (global.set $input (i32.load (i32.const 0))))
  (func (export "getInputSize") (result i32) (i32.const 1))
  (func (export "getWitnessSize") (result i32) (i32.const 2))
  (func (export "getWitness") (param i32)
    (local $j i32)
    (loop $zero
      (i32.store (i32.shl (local.get $j) (i32.const 2)) (i32.const 0))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $zero (i32.lt_u (local.get $j) (i32.const 8))))
    (i32.store (i32.const 0)
      (select (i32.const 1) (global.get $input) (i32.eqz (local.get 0)))))
  (func (export "getMessageChar") (result i32)
    (local $c i32)
    {message_char_prefix}
    (local.set $c (i32.load8_u (global.get $msg)))
    (if (local.get $c) (then (global.set $msg (i32.add (global.get $msg) (i32.const 1)))))
    (local.get $c))
)"#,
            extra = self.extra_import,
            pages = self.memory_pages,
            message = self.message,
            version = self.version,
            n32 = self.n32,
            init = self.init,
            set_input = self.set_input,
            message_char_prefix = self.message_char_prefix,
        );
        wat::parse_str(&wat).expect("test wat parses")
    }

    fn run(&self, limits: WasmLimits) -> Result<Witness, ImportError> {
        WitnessCalculator::with_limits(&self.wasm(), limits)?
            .calculate(&CircomInputs::from_json(r#"{"in": "42"}"#).unwrap())
    }
}

#[test]
fn the_fake_generator_works_so_that_each_change_below_is_what_fails() {
    let w = Fake::default().run(WasmLimits::default()).unwrap();
    assert_eq!(w.0, vec![Fr::from(1u64), Fr::from(42u64)]);
}

#[test]
fn another_prime_is_named() {
    let goldilocks = 0xffff_ffff_0000_0001u64.to_le_bytes().to_vec();
    let fake = Fake {
        n32: 2,
        prime: goldilocks,
        ..Fake::default()
    };
    assert_eq!(
        fake.run(WasmLimits::default()),
        Err(ImportError::WrongPrime {
            found: "goldilocks".into()
        })
    );
    let mut bls = vec![0u8; 32];
    hex_le(
        "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001",
        &mut bls,
    );
    let fake = Fake {
        prime: bls,
        ..Fake::default()
    };
    assert_eq!(
        fake.run(WasmLimits::default()),
        Err(ImportError::WrongPrime {
            found: "bls12381".into()
        })
    );
}

fn hex_le(hex: &str, out: &mut [u8]) {
    for (i, byte) in out.iter_mut().enumerate() {
        let at = hex.len() - 2 * (i + 1);
        *byte = u8::from_str_radix(&hex[at..at + 2], 16).unwrap();
    }
}

#[test]
fn a_module_that_is_not_a_generator_is_refused() {
    let empty = wat::parse_str("(module)").unwrap();
    let err = WitnessCalculator::new(&empty).unwrap_err();
    assert!(
        matches!(&err, ImportError::WasmNotWitnessGenerator { reason } if reason.contains("getVersion")),
        "{err:?}"
    );
    // An import beyond circom's four runtime functions: no host access is given.
    let fake = Fake {
        extra_import: r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
        ..Fake::default()
    };
    let err = fake.run(WasmLimits::default()).unwrap_err();
    assert!(
        matches!(&err, ImportError::WasmNotWitnessGenerator { reason } if reason.contains("fd_write")),
        "{err:?}"
    );
    // circom 1's interface, or a future one.
    let fake = Fake {
        version: 3,
        ..Fake::default()
    };
    assert!(matches!(
        fake.run(WasmLimits::default()),
        Err(ImportError::WasmNotWitnessGenerator { .. })
    ));
}

#[test]
fn fuel_stops_a_generator_that_loops() {
    let fake = Fake {
        init: "(loop $forever (br $forever))".into(),
        ..Fake::default()
    };
    let limits = WasmLimits {
        fuel: 10_000_000,
        ..WasmLimits::default()
    };
    let started = std::time::Instant::now();
    assert_eq!(
        fake.run(limits),
        Err(ImportError::WasmOutOfFuel { fuel: 10_000_000 })
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    // A real generator with too little fuel stops the same way.
    let calc = WitnessCalculator::with_limits(
        &fixture("affine.wasm"),
        WasmLimits {
            fuel: 1000,
            ..WasmLimits::default()
        },
    )
    .unwrap();
    assert_eq!(
        calc.calculate(&CircomInputs::from_json(&text("affine.input.json")).unwrap()),
        Err(ImportError::WasmOutOfFuel { fuel: 1000 })
    );
}

#[test]
fn memory_is_bounded() {
    let limits = WasmLimits {
        max_memory_bytes: 1 << 20,
        ..WasmLimits::default()
    };
    // Initial memory over the limit.
    let fake = Fake {
        memory_pages: 17,
        ..Fake::default()
    };
    let err = fake.run(limits).unwrap_err();
    eprintln!("initial memory over the limit: {err}");
    assert!(matches!(err, ImportError::WasmLimit { .. }), "{err:?}");
    // Growth over the limit.
    let fake = Fake {
        init: "(drop (memory.grow (i32.const 1000)))".into(),
        ..Fake::default()
    };
    let err = fake.run(limits).unwrap_err();
    eprintln!("growth over the limit: {err}");
    assert!(matches!(err, ImportError::WasmLimit { .. }), "{err:?}");
    // The same growth within the limit runs.
    assert!(fake.run(WasmLimits::default()).is_ok());
}

#[test]
fn circom_exceptions_and_traps_are_typed() {
    let fake = Fake {
        set_input: "(call $err) (call $exc (i32.const 3))".into(),
        message: "Signal in set twice",
        ..Fake::default()
    };
    assert_eq!(
        fake.run(WasmLimits::default()),
        Err(ImportError::CircomException {
            code: 3,
            kind: "signal already set".into(),
            messages: "Signal in set twice".into()
        })
    );
    // A runtime function called while the runtime reads a message: refused, not
    // nested without bound on the native stack.
    let fake = Fake {
        set_input: "(call $err)".into(),
        message_char_prefix: "(call $err)",
        message: "x",
        ..Fake::default()
    };
    let err = fake.run(WasmLimits::default()).unwrap_err();
    assert!(
        matches!(&err, ImportError::WasmTrap { reason, .. } if reason.contains("runtime function")),
        "{err:?}"
    );
    let fake = Fake {
        init: "unreachable".into(),
        ..Fake::default()
    };
    assert!(matches!(
        fake.run(WasmLimits::default()),
        Err(ImportError::WasmTrap { ref during, .. }) if during == "init"
    ));
    let fake = Fake {
        init: "(drop (i32.load (i32.const 100000)))".into(),
        ..Fake::default()
    };
    assert!(matches!(
        fake.run(WasmLimits::default()),
        Err(ImportError::WasmTrap { .. })
    ));
}

#[test]
fn signal_names_hash_with_fnv1a_64() {
    // Known FNV-1a 64-bit values.
    assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a("foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn select_on_an_eqz_condition_is_interpreted_right() {
    // wasmi 2.0.0 returns the global here whatever the parameter (found while writing
    // these tests; wasmi 1.1 and wasmtime agree on the right answer): the reason the
    // crate is pinned to wasmi 1. The fake generator's getWitness uses this pattern too.
    let wasm = wat::parse_str(
        r#"(module
  (global $g (mut i32) (i32.const 42))
  (func (export "f") (param i32) (result i32)
    (select (i32.const 1) (global.get $g) (i32.eqz (local.get 0)))))"#,
    )
    .unwrap();
    let engine = wasmi::Engine::default();
    let module = wasmi::Module::new(&engine, &wasm[..]).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let instance = wasmi::Linker::<()>::new(&engine)
        .instantiate_and_start(&mut store, &module)
        .unwrap();
    let f = instance.get_typed_func::<i32, i32>(&store, "f").unwrap();
    assert_eq!(f.call(&mut store, 0).unwrap(), 1);
    assert_eq!(f.call(&mut store, 7).unwrap(), 42);
}
