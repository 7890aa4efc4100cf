//! Fuzz target: `tutti_chaos::decoders::keys_and_circuits` (see that module).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tutti_chaos::decoders::keys_and_circuits(data));
