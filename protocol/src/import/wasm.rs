//! A circom witness from circom's WebAssembly witness generator and an `input.json`, as
//! `snarkjs wtns calculate` computes it (feature `circom-wasm`, on by default).
//!
//! `circom --wasm` writes `NAME_js/NAME.wasm`, a module that imports four functions of
//! a module `runtime` and exports the calculator (circom 2.x, interface version 2):
//!
//! - imports: `exceptionHandler(code)` (the generator stops: 1 signal not found, 2 too
//!   many signals set, 3 signal already set, 4 assert failed, 5 not enough memory, 6 input
//!   signal array access exceeds the size, 7 out of bounds array access),
//!   `printErrorMessage()` (an error line is ready, read it with `getMessageChar`),
//!   `writeBufferMessage()` (a piece of a `log(…)` line is ready) and
//!   `showSharedRWMemory()` (a `log`ged field element is in the shared memory);
//! - exports: `getVersion`, `getFieldNumLen32` (32-bit words per element), `getRawPrime`
//!   and `readSharedRWMemory(i)` (read the prime, word `i` least significant first),
//!   `init(sanityCheck)`, `getInputSignalSize(hMSB, hLSB)` (values of the input signal
//!   whose name has that 64-bit FNV-1a hash, negative if none), `writeSharedRWMemory(i,
//!   v)` then `setInputSignal(hMSB, hLSB, index)`, `getInputSize`, `getWitnessSize` and
//!   `getWitness(i)` (puts witness value `i` into the shared memory), `getMessageChar`.
//!
//! The module runs in [wasmi](https://docs.rs/wasmi) 1.x, an interpreter (wasmi 2.0.0
//! miscompiles `select` on an `i32.eqz` condition; `tests/circom_wasm.rs` checks the
//! version in use does not): it is given only
//! those four imports (no WASI, no clock, no file), every instruction costs fuel from a
//! budget ([`WasmLimits::fuel`]) so that a generator that loops stops with
//! [`ImportError::WasmOutOfFuel`], and its memory cannot grow past
//! [`WasmLimits::max_memory_bytes`]. Anything wrong with the module, its input or its
//! run is a typed [`ImportError`], never a panic.
//!
//! Inputs ([`CircomInputs::from_json`]) follow snarkjs: a JSON object whose keys are
//! input signals; a value is a decimal string (optionally negative, reduced modulo the
//! prime as snarkjs does), a `0x` hexadecimal string, an integer JSON number, or nested
//! arrays of these (flattened in order); nested objects name the fields of circom buses
//! (`a.b`, and `a[i].b` for arrays of them). Unlike snarkjs, a value whose magnitude is
//! not less than the prime is refused instead of being reduced: it is almost always a
//! mistake (a value from another field), and it would make two inputs give one witness.

use ark_ff::{BigInt, BigInteger, PrimeField};
use serde_json::Value;
use wasmi::{
    Caller, Config, Engine, Error as WasmiError, ExternType, Func, Instance, Linker, Module, Store,
    StoreLimits, StoreLimitsBuilder, TrapCode, TypedFunc, ValType,
    errors::{ErrorKind, InstantiationError},
};

use super::ImportError;
use super::circom::{Witness, name_prime};
use crate::Fr;

/// The circom witness generator interface version this calculator speaks (circom 2.x).
pub const CIRCOM_WASM_VERSION: u32 = 2;

/// Words of 32 bits in a BN254 scalar field element.
const N32: u32 = 8;

/// At most this many characters of one message are read from the generator, and at most
/// this many characters of messages are kept for an error.
const MAX_MESSAGE_CHARS: usize = 16 * 1024;

/// Resource bounds for running a witness generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WasmLimits {
    /// Fuel for the whole calculation (instantiation, inputs, the run and reading the
    /// witness): about one unit per WebAssembly instruction. Poseidon(2) (517
    /// constraints) takes 6.1 million, about 25 ms here; the default, 2^35 (34 billion,
    /// about 2 min 20 s of interpretation on one core of the 2-core machine), covers
    /// circuits about 4,000 times larger and stops a generator that loops.
    pub fuel: u64,
    /// The most bytes of linear memory the generator may have (its initial memory and
    /// any growth). The witness the host reads back is bounded by the same amount.
    pub max_memory_bytes: usize,
}

impl Default for WasmLimits {
    fn default() -> Self {
        Self {
            fuel: 1 << 35,
            max_memory_bytes: 1 << 30,
        }
    }
}

/// The values of a circuit's input signals, by (qualified) name, each flattened in
/// order, as snarkjs reads an `input.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CircomInputs {
    signals: Vec<(String, Vec<Fr>)>,
}

impl CircomInputs {
    /// Parses an `input.json` as snarkjs does (see the [module docs](self)).
    ///
    /// Refuses malformed JSON, a top level that is not an object, a value that is not an
    /// integer (`1.5`, `true`, `null`, a JSON number too large for 64 bits: write it as a
    /// string), an array mixing objects and values, and a value whose magnitude is not
    /// less than BN254's scalar field prime.
    pub fn from_json(text: &str) -> Result<Self, ImportError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ImportError::InputJson {
            reason: e.to_string(),
        })?;
        if !value.is_object() {
            return Err(ImportError::InputJson {
                reason: "the top level must be an object of input signal names".to_string(),
            });
        }
        let mut raw = Vec::new();
        qualify("", &value, &mut raw)?;
        let mut signals = Vec::with_capacity(raw.len());
        for (name, values) in raw {
            let mut flat = Vec::new();
            for (index, v) in values.into_iter().enumerate() {
                flat.push(parse_value(&name, index, v)?);
            }
            signals.push((name, flat));
        }
        Ok(Self { signals })
    }

    /// Inputs from explicit values: `(qualified signal name, flattened values)`.
    pub fn from_values(signals: Vec<(String, Vec<Fr>)>) -> Self {
        Self { signals }
    }

    /// The signals and their values, in the order they are set.
    pub fn signals(&self) -> &[(String, Vec<Fr>)] {
        &self.signals
    }
}

/// A compiled circom witness generator, ready to compute witnesses for many inputs.
pub struct WitnessCalculator {
    engine: Engine,
    module: Module,
    limits: WasmLimits,
}

impl std::fmt::Debug for WitnessCalculator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessCalculator")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What the host functions collect while the generator runs.
struct HostState {
    limits: StoreLimits,
    /// The exception code the generator stopped with, if it did.
    exception: Option<i32>,
    /// Lines from `printErrorMessage` (circom's error text, such as the template and
    /// line of a failing assert).
    errors: String,
    /// The `log(…)` line being assembled, and the finished ones (bounded).
    line: String,
    log: Vec<String>,
    log_chars: usize,
    /// Whether a runtime function is calling back into the module: the generator may
    /// not call a runtime function from there (each nesting would take native stack).
    in_host: bool,
}

/// The functions the calculator calls, typed.
struct Exports {
    init: TypedFunc<i32, ()>,
    get_input_signal_size: TypedFunc<(i32, i32), i32>,
    write_shared: TypedFunc<(i32, i32), ()>,
    read_shared: TypedFunc<i32, i32>,
    set_input_signal: TypedFunc<(i32, i32, i32), ()>,
    get_input_size: TypedFunc<(), i32>,
    get_witness_size: TypedFunc<(), i32>,
    get_witness: TypedFunc<i32, ()>,
}

/// The exports a circom 2 witness generator has, with their parameter and result
/// counts (all `i32`).
const REQUIRED_EXPORTS: [(&str, usize, usize); 12] = [
    ("getVersion", 0, 1),
    ("getFieldNumLen32", 0, 1),
    ("getRawPrime", 0, 0),
    ("readSharedRWMemory", 1, 1),
    ("writeSharedRWMemory", 2, 0),
    ("init", 1, 0),
    ("getInputSignalSize", 2, 1),
    ("setInputSignal", 3, 0),
    ("getInputSize", 0, 1),
    ("getWitnessSize", 0, 1),
    ("getWitness", 1, 0),
    ("getMessageChar", 0, 1),
];

/// The imports the generator may have: `runtime.NAME`, each `i32` parameters, no result.
const ALLOWED_IMPORTS: [(&str, usize); 4] = [
    ("exceptionHandler", 1),
    ("printErrorMessage", 0),
    ("writeBufferMessage", 0),
    ("showSharedRWMemory", 0),
];

impl WitnessCalculator {
    /// Compiles (validates) a circom witness generator with the default [`WasmLimits`].
    pub fn new(wasm: &[u8]) -> Result<Self, ImportError> {
        Self::with_limits(wasm, WasmLimits::default())
    }

    /// Compiles (validates) a circom witness generator with the given limits, and checks
    /// that its imports and exports are those of a circom 2 generator.
    pub fn with_limits(wasm: &[u8], limits: WasmLimits) -> Result<Self, ImportError> {
        let mut config = Config::default();
        config.consume_fuel(true);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, wasm).map_err(|e| ImportError::WasmInvalid {
            reason: e.to_string(),
        })?;
        check_interface(&module)?;
        Ok(Self {
            engine,
            module,
            limits,
        })
    }

    /// The limits each calculation runs under.
    pub fn limits(&self) -> WasmLimits {
        self.limits
    }

    /// Computes the witness for `inputs`: one value per wire, wire 0 (the constant 1)
    /// first, as `snarkjs wtns calculate` writes it.
    ///
    /// Each call starts from a fresh instance with a full fuel budget.
    pub fn calculate(&self, inputs: &CircomInputs) -> Result<Witness, ImportError> {
        let state = HostState {
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.max_memory_bytes)
                .memories(1)
                .tables(4)
                .instances(1)
                .trap_on_grow_failure(true)
                .build(),
            exception: None,
            errors: String::new(),
            line: String::new(),
            log: Vec::new(),
            log_chars: 0,
            in_host: false,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store
            .set_fuel(self.limits.fuel)
            .map_err(|e| internal(format!("fuel metering: {e}")))?;
        let linker = runtime_linker(&self.engine)?;
        let instance = linker
            .instantiate_and_start(&mut store, &self.module)
            .map_err(|e| run_error(&store, e, "instantiating the module", self.limits))?;

        let version = call0(&mut store, &instance, "getVersion", self.limits)?;
        if version != CIRCOM_WASM_VERSION as i32 {
            return Err(ImportError::WasmNotWitnessGenerator {
                reason: format!(
                    "its getVersion() is {version}, but this calculator reads circom 2 \
                     generators (version {CIRCOM_WASM_VERSION}): recompile with circom 2"
                ),
            });
        }
        let n32 = call0(&mut store, &instance, "getFieldNumLen32", self.limits)?;
        let ex = exports(&store, &instance)?;

        // The prime, least significant word first.
        let get_raw_prime = typed::<(), ()>(&store, &instance, "getRawPrime")?;
        get_raw_prime
            .call(&mut store, ())
            .map_err(|e| run_error(&store, e, "getRawPrime", self.limits))?;
        if !(1..=64).contains(&n32) {
            return Err(ImportError::WasmNotWitnessGenerator {
                reason: format!("getFieldNumLen32() is {n32}, not a field element size"),
            });
        }
        let mut prime = Vec::with_capacity(n32 as usize * 4);
        for j in 0..n32 {
            let w = ex
                .read_shared
                .call(&mut store, j)
                .map_err(|e| run_error(&store, e, "readSharedRWMemory", self.limits))?;
            prime.extend_from_slice(&(w as u32).to_le_bytes());
        }
        if n32 as u32 != N32 || prime != Fr::MODULUS.to_bytes_le() {
            return Err(ImportError::WrongPrime {
                found: name_prime(&prime),
            });
        }

        ex.init
            .call(&mut store, 0)
            .map_err(|e| run_error(&store, e, "init", self.limits))?;

        let mut set = 0u64;
        for (name, values) in &inputs.signals {
            let h = fnv1a(name);
            let (msb, lsb) = ((h >> 32) as u32 as i32, h as u32 as i32);
            let size = ex
                .get_input_signal_size
                .call(&mut store, (msb, lsb))
                .map_err(|e| run_error(&store, e, "getInputSignalSize", self.limits))?;
            // circom's generator answers 0, not a negative size, for a name it does not
            // have (snarkjs then says "Too many values"); a signal of no values can
            // only be given as an empty array.
            if size < 0 || (size == 0 && !values.is_empty()) {
                return Err(ImportError::InputUnknownSignal { name: name.clone() });
            }
            if values.len() as u64 != size as u64 {
                return Err(ImportError::InputArity {
                    name: name.clone(),
                    expected: size as u64,
                    found: values.len() as u64,
                });
            }
            for (index, value) in values.iter().enumerate() {
                let limbs = value.into_bigint().0;
                for (j, limb) in limbs.iter().enumerate() {
                    for (k, word) in [*limb as u32, (*limb >> 32) as u32].into_iter().enumerate() {
                        ex.write_shared
                            .call(&mut store, ((2 * j + k) as i32, word as i32))
                            .map_err(|e| {
                                run_error(&store, e, "writeSharedRWMemory", self.limits)
                            })?;
                    }
                }
                ex.set_input_signal
                    .call(&mut store, (msb, lsb, index as i32))
                    .map_err(|e| {
                        run_error(
                            &store,
                            e,
                            &format!("setting input {name}[{index}]"),
                            self.limits,
                        )
                    })?;
                set += 1;
            }
        }
        let expected = ex
            .get_input_size
            .call(&mut store, ())
            .map_err(|e| run_error(&store, e, "getInputSize", self.limits))?;
        if set < expected.max(0) as u64 {
            return Err(ImportError::InputMissing {
                set,
                expected: expected as u64,
            });
        }

        let size = ex
            .get_witness_size
            .call(&mut store, ())
            .map_err(|e| run_error(&store, e, "getWitnessSize", self.limits))?;
        // The generator keeps every witness value in its memory, so a witness larger
        // than its memory limit can only come from a module that lies: refuse it
        // before allocating for it.
        let size = u64::try_from(size).unwrap_or(u64::MAX);
        if size.saturating_mul(32) > self.limits.max_memory_bytes as u64 {
            return Err(ImportError::WasmLimit {
                what: format!(
                    "its witness would have {size} values, more than its memory limit of {} \
                     bytes can hold",
                    self.limits.max_memory_bytes
                ),
            });
        }
        let mut witness = Vec::with_capacity(size as usize);
        for i in 0..size as i32 {
            ex.get_witness
                .call(&mut store, i)
                .map_err(|e| run_error(&store, e, "getWitness", self.limits))?;
            let mut limbs = [0u64; 4];
            for j in 0..N32 as i32 {
                let w = ex
                    .read_shared
                    .call(&mut store, j)
                    .map_err(|e| run_error(&store, e, "readSharedRWMemory", self.limits))?;
                limbs[j as usize / 2] |= u64::from(w as u32) << (32 * (j % 2));
            }
            let value =
                Fr::from_bigint(BigInt::new(limbs)).ok_or_else(|| ImportError::NonCanonical {
                    what: format!("witness value {i} from the wasm"),
                })?;
            witness.push(value);
        }
        Ok(Witness(witness))
    }
}

/// Computes the witness of circom's generator `wasm` for the `input.json` text
/// `input_json`, with the default [`WasmLimits`].
pub fn witness_from_wasm(wasm: &[u8], input_json: &str) -> Result<Witness, ImportError> {
    let inputs = CircomInputs::from_json(input_json)?;
    WitnessCalculator::new(wasm)?.calculate(&inputs)
}

/// circom's hash of an input signal's name: 64-bit FNV-1a over its bytes.
pub fn fnv1a(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Checks the module's imports and exports against a circom 2 generator's.
fn check_interface(module: &Module) -> Result<(), ImportError> {
    let i32s = |n: usize| vec![ValType::I32; n];
    for import in module.imports() {
        let allowed = ALLOWED_IMPORTS
            .iter()
            .find(|(name, _)| import.module() == "runtime" && import.name() == *name);
        let ok = match (allowed, import.ty()) {
            (Some((_, params)), ExternType::Func(ty)) => {
                ty.params() == i32s(*params).as_slice() && ty.results().is_empty()
            }
            _ => false,
        };
        if !ok {
            return Err(ImportError::WasmNotWitnessGenerator {
                reason: format!(
                    "it imports {}.{} ({:?}), which a circom witness generator does not \
                     (only runtime.exceptionHandler, printErrorMessage, writeBufferMessage \
                     and showSharedRWMemory are provided)",
                    import.module(),
                    import.name(),
                    import.ty()
                ),
            });
        }
    }
    for (name, params, results) in REQUIRED_EXPORTS {
        let export = module.exports().find(|e| e.name() == name);
        let ok = matches!(export.as_ref().map(|e| e.ty()), Some(ExternType::Func(ty))
            if ty.params() == i32s(params).as_slice() && ty.results() == i32s(results).as_slice());
        if !ok {
            return Err(ImportError::WasmNotWitnessGenerator {
                reason: match export {
                    None => {
                        format!("it has no export `{name}` (is it circom's NAME_js/NAME.wasm?)")
                    }
                    Some(e) => format!("its export `{name}` has type {:?}", e.ty()),
                },
            });
        }
    }
    Ok(())
}

/// The four `runtime` functions, and nothing else.
fn runtime_linker(engine: &Engine) -> Result<Linker<HostState>, ImportError> {
    let mut linker = Linker::<HostState>::new(engine);
    let define =
        |e: wasmi::errors::LinkerError| internal(format!("defining the runtime imports: {e}"));
    linker
        .func_wrap(
            "runtime",
            "exceptionHandler",
            |mut caller: Caller<'_, HostState>, code: i32| -> Result<(), WasmiError> {
                caller.data_mut().exception = Some(code);
                Err(WasmiError::new(format!("circom exception {code}")))
            },
        )
        .map_err(define)?;
    linker
        .func_wrap(
            "runtime",
            "printErrorMessage",
            |mut caller: Caller<'_, HostState>| -> Result<(), WasmiError> {
                let message = guarded(&mut caller, read_message)?;
                let state = caller.data_mut();
                if state.errors.len() < MAX_MESSAGE_CHARS {
                    state.errors.push_str(&message);
                    state.errors.push('\n');
                }
                Ok(())
            },
        )
        .map_err(define)?;
    linker
        .func_wrap(
            "runtime",
            "writeBufferMessage",
            |mut caller: Caller<'_, HostState>| -> Result<(), WasmiError> {
                let message = guarded(&mut caller, read_message)?;
                let state = caller.data_mut();
                if message == "\n" {
                    let line = std::mem::take(&mut state.line);
                    tracing::info!(target: "circom", "{line}");
                    if state.log_chars < MAX_MESSAGE_CHARS {
                        state.log_chars += line.len();
                        state.log.push(line);
                    }
                } else {
                    append_piece(state, &message);
                }
                Ok(())
            },
        )
        .map_err(define)?;
    linker
        .func_wrap(
            "runtime",
            "showSharedRWMemory",
            |mut caller: Caller<'_, HostState>| -> Result<(), WasmiError> {
                let text = guarded(&mut caller, shared_memory_text)?;
                append_piece(caller.data_mut(), &text);
                Ok(())
            },
        )
        .map_err(define)?;
    Ok(linker)
}

/// Runs `body`, which calls back into the module, refusing a nested runtime call.
fn guarded<R>(
    caller: &mut Caller<'_, HostState>,
    body: impl FnOnce(&mut Caller<'_, HostState>) -> Result<R, WasmiError>,
) -> Result<R, WasmiError> {
    if caller.data().in_host {
        return Err(WasmiError::new(
            "the module called a runtime function while the runtime was calling it",
        ));
    }
    caller.data_mut().in_host = true;
    let result = body(caller);
    caller.data_mut().in_host = false;
    result
}

/// The field element in the shared memory, in decimal (for `showSharedRWMemory`).
fn shared_memory_text(caller: &mut Caller<'_, HostState>) -> Result<String, WasmiError> {
    let n32 = export_func(&*caller, "getFieldNumLen32")?
        .typed::<(), i32>(&*caller)?
        .call(&mut *caller, ())?;
    let read = export_func(&*caller, "readSharedRWMemory")?.typed::<i32, i32>(&*caller)?;
    let mut limbs = [0u64; 4];
    let mut fits = true;
    for j in 0..n32.clamp(0, 64) {
        let w = u64::from(read.call(&mut *caller, j)? as u32);
        match limbs.get_mut(j as usize / 2) {
            Some(limb) => *limb |= w << (32 * (j % 2)),
            None => fits &= w == 0,
        }
    }
    Ok(if fits {
        BigInt::new(limbs).to_string()
    } else {
        "(a value wider than 256 bits)".to_string()
    })
}

/// Appends a piece of a `log(…)` line, space-separated as snarkjs prints it.
fn append_piece(state: &mut HostState, piece: &str) {
    if state.line.len() >= MAX_MESSAGE_CHARS {
        return;
    }
    if !state.line.is_empty() {
        state.line.push(' ');
    }
    state.line.push_str(piece);
}

/// An exported function, from inside a host function.
fn export_func(caller: &Caller<'_, HostState>, name: &str) -> Result<Func, WasmiError> {
    caller
        .get_export(name)
        .and_then(|e| e.into_func())
        .ok_or_else(|| WasmiError::new(format!("the module has no function export {name}")))
}

/// Reads one message with `getMessageChar` until its terminating 0 (at most
/// [`MAX_MESSAGE_CHARS`] characters).
fn read_message(caller: &mut Caller<'_, HostState>) -> Result<String, WasmiError> {
    let next = export_func(caller, "getMessageChar")?.typed::<(), i32>(&*caller)?;
    let mut message = String::new();
    for _ in 0..MAX_MESSAGE_CHARS {
        let c = next.call(&mut *caller, ())?;
        if c == 0 {
            break;
        }
        // JavaScript's String.fromCharCode: a UTF-16 code unit; circom writes ASCII.
        message.push(char::from_u32(c as u32 & 0xffff).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    Ok(message)
}

/// A typed export of the instance.
fn typed<P: wasmi::WasmParams, R: wasmi::WasmResults>(
    store: &Store<HostState>,
    instance: &Instance,
    name: &str,
) -> Result<TypedFunc<P, R>, ImportError> {
    instance
        .get_typed_func::<P, R>(store, name)
        .map_err(|e| ImportError::WasmNotWitnessGenerator {
            reason: format!("its export `{name}`: {e}"),
        })
}

fn exports(store: &Store<HostState>, instance: &Instance) -> Result<Exports, ImportError> {
    Ok(Exports {
        init: typed(store, instance, "init")?,
        get_input_signal_size: typed(store, instance, "getInputSignalSize")?,
        write_shared: typed(store, instance, "writeSharedRWMemory")?,
        read_shared: typed(store, instance, "readSharedRWMemory")?,
        set_input_signal: typed(store, instance, "setInputSignal")?,
        get_input_size: typed(store, instance, "getInputSize")?,
        get_witness_size: typed(store, instance, "getWitnessSize")?,
        get_witness: typed(store, instance, "getWitness")?,
    })
}

/// Calls an export that takes nothing and returns an `i32`.
fn call0(
    store: &mut Store<HostState>,
    instance: &Instance,
    name: &str,
    limits: WasmLimits,
) -> Result<i32, ImportError> {
    typed::<(), i32>(store, instance, name)?
        .call(&mut *store, ())
        .map_err(|e| run_error(store, e, name, limits))
}

/// The typed error for a failed call into the generator.
fn run_error(
    store: &Store<HostState>,
    error: WasmiError,
    during: &str,
    limits: WasmLimits,
) -> ImportError {
    let state = store.data();
    let mut messages = state.errors.trim_end().to_string();
    let mut log = state.log.join("\n");
    if !state.line.is_empty() {
        if !log.is_empty() {
            log.push('\n');
        }
        log.push_str(&state.line);
    }
    if !log.is_empty() {
        if !messages.is_empty() {
            messages.push('\n');
        }
        messages.push_str("circom log: ");
        messages.push_str(&log);
    }
    if let Some(code) = state.exception {
        return if code == 4 {
            ImportError::CircomAssert { messages }
        } else {
            ImportError::CircomException {
                code,
                kind: exception_kind(code).to_string(),
                messages,
            }
        };
    }
    match error.as_trap_code() {
        Some(TrapCode::OutOfFuel) => ImportError::WasmOutOfFuel { fuel: limits.fuel },
        Some(TrapCode::GrowthOperationLimited) => ImportError::WasmLimit {
            what: format!(
                "it needs more memory than its limit of {} bytes ({during})",
                limits.max_memory_bytes
            ),
        },
        _ => match error.kind() {
            ErrorKind::Memory(_)
            | ErrorKind::Table(_)
            | ErrorKind::Instantiation(
                InstantiationError::TooManyInstances
                | InstantiationError::TooManyTables
                | InstantiationError::TooManyMemories
                | InstantiationError::FailedToInstantiateMemory(_)
                | InstantiationError::FailedToInstantiateTable(_),
            ) => ImportError::WasmLimit {
                what: format!(
                    "{error} ({during}; memory limit {} bytes)",
                    limits.max_memory_bytes
                ),
            },
            _ => ImportError::WasmTrap {
                during: during.to_string(),
                reason: error.to_string(),
            },
        },
    }
}

/// What circom's exception codes mean (as snarkjs's witness_calculator.js says them).
fn exception_kind(code: i32) -> &'static str {
    match code {
        1 => "signal not found",
        2 => "too many signals set",
        3 => "signal already set",
        4 => "assert failed",
        5 => "not enough memory",
        6 => "input signal array access exceeds the size",
        7 => "out of bounds array access",
        _ => "unknown error",
    }
}

fn internal(reason: String) -> ImportError {
    ImportError::WasmTrap {
        during: "setting up the interpreter".to_string(),
        reason,
    }
}

/// Flattens the JSON as snarkjs's `qualify_input`: `(qualified name, leaf values)`.
fn qualify<'a>(
    prefix: &str,
    value: &'a Value,
    out: &mut Vec<(String, Vec<&'a Value>)>,
) -> Result<(), ImportError> {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                qualify(&name, v, out)?;
            }
        }
        Value::Array(_) => {
            let mut flat = Vec::new();
            flatten(value, &mut flat);
            let objects = flat.iter().filter(|v| v.is_object()).count();
            if objects == 0 {
                out.push((prefix.to_string(), flat));
            } else if objects == flat.len() {
                qualify_list(prefix, value, out)?;
            } else {
                return Err(ImportError::InputJson {
                    reason: format!("the array of `{prefix}` mixes objects and values"),
                });
            }
        }
        _ => out.push((prefix.to_string(), vec![value])),
    }
    Ok(())
}

/// Arrays of bus objects: `a[i]` prefixes.
fn qualify_list<'a>(
    prefix: &str,
    value: &'a Value,
    out: &mut Vec<(String, Vec<&'a Value>)>,
) -> Result<(), ImportError> {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                qualify_list(&format!("{prefix}[{i}]"), item, out)?;
            }
            Ok(())
        }
        _ => qualify(prefix, value, out),
    }
}

fn flatten<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        _ => out.push(value),
    }
}

/// One input value as a field element (see the module docs for what is accepted).
fn parse_value(name: &str, index: usize, value: &Value) -> Result<Fr, ImportError> {
    let not_integer = |what: &str| ImportError::InputValue {
        name: name.to_string(),
        index,
        reason: format!("{what} is not an integer: write values as decimal strings, e.g. \"123\""),
    };
    let (negative, magnitude) = match value {
        Value::String(s) => {
            let (negative, digits) = match s.trim().strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, s.trim()),
            };
            let magnitude = match digits
                .strip_prefix("0x")
                .or_else(|| digits.strip_prefix("0X"))
            {
                Some(hex) => parse_radix(hex, 16),
                None => parse_radix(digits, 10),
            }
            .ok_or_else(|| not_integer(&format!("the string {s:?}")))?;
            (negative, magnitude)
        }
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                (false, Some(BigInt::from(u)))
            } else if let Some(i) = n.as_i64() {
                (true, Some(BigInt::from(i.unsigned_abs())))
            } else {
                return Err(not_integer(&format!(
                    "the number {n} (not an exact 64-bit integer)"
                )));
            }
        }
        Value::Bool(_) | Value::Null => return Err(not_integer(&value.to_string())),
        // Objects and arrays were flattened away by `qualify`.
        Value::Object(_) | Value::Array(_) => return Err(not_integer("a nested value")),
    };
    let too_large = || ImportError::InputNotInField {
        name: name.to_string(),
        index,
    };
    let fr = Fr::from_bigint(magnitude.ok_or_else(too_large)?).ok_or_else(too_large)?;
    Ok(if negative { -fr } else { fr })
}

/// Parses digits in `radix` (10 or 16) into 256 bits: `None` inside when the value does
/// not fit; the outer `None` when a character is not a digit (or there is none).
fn parse_radix(digits: &str, radix: u32) -> Option<Option<BigInt<4>>> {
    if digits.is_empty() {
        return None;
    }
    let mut acc = Some(BigInt::<4>::new([0; 4]));
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        acc = acc.and_then(|a| mul_add(a, radix, d));
    }
    Some(acc)
}

/// `a·m + d` in 256 bits, or `None` on overflow.
fn mul_add(a: BigInt<4>, m: u32, d: u32) -> Option<BigInt<4>> {
    let mut out = [0u64; 4];
    let mut carry = u128::from(d);
    for (o, limb) in out.iter_mut().zip(a.0) {
        let t = u128::from(limb) * u128::from(m) + carry;
        *o = t as u64;
        carry = t >> 64;
    }
    (carry == 0).then_some(BigInt::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_circom() {
        // snarkjs's fnvHash("in") and the empty string's offset basis.
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn values_parse_like_snarkjs() {
        let inputs = CircomInputs::from_json(
            r#"{"a": "-1", "b": [[1, "0x10"], ["3"]], "c": {"d": 7, "e": [{"f": 1}, {"f": 2}]}}"#,
        )
        .unwrap();
        let names: Vec<&str> = inputs.signals().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b", "c.d", "c.e[0].f", "c.e[1].f"]);
        assert_eq!(inputs.signals()[0].1, vec![-Fr::from(1u64)]);
        assert_eq!(
            inputs.signals()[1].1,
            vec![Fr::from(1u64), Fr::from(16u64), Fr::from(3u64)]
        );
        assert_eq!(inputs.signals()[2].1, vec![Fr::from(7u64)]);
    }

    #[test]
    fn radix_parsing_detects_overflow() {
        let max = "1".repeat(80);
        assert_eq!(parse_radix(&max, 10), Some(None));
        assert_eq!(parse_radix("12a", 10), None);
        assert_eq!(parse_radix("", 10), None);
        assert_eq!(parse_radix("ff", 16), Some(Some(BigInt::from(255u64))));
    }
}
