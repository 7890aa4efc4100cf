//! Built-in circuits for demos, tests and benchmarks.

pub mod mimc;
pub mod random;
pub mod rollup;
