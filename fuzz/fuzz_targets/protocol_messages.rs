//! Fuzz target: `tutti_chaos::decoders::protocol_messages` (see that module).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tutti_chaos::decoders::protocol_messages(data));
