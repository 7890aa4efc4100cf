//! Fuzz target: `tutti_chaos::decoders::circom_files` (see that module).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tutti_chaos::decoders::circom_files(data));
