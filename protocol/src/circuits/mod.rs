//! Built-in circuits for demos, tests and benchmarks.

pub mod random;
