//! `random`: a given number of rows mixing additions and multiplications, with copy
//! constraints that reach back across shards.

use crate::circuit::{Circuit, CircuitBuilder, Var, Witness};
use tutti_crypto::Fr;

/// A deterministic pseudo-random generator (SplitMix64), so circuits depend only on the seed.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Builds a random circuit of exactly `gates` rows (two of them public inputs) and its
/// witness. Operands are drawn from all earlier outputs, so copy constraints cross shard
/// boundaries whenever the circuit spans more than one shard.
pub fn random_circuit(gates: usize, seed: u64) -> (Circuit, Witness) {
    let mut rng = SplitMix::new(seed);
    let mut b = CircuitBuilder::new();
    let mut pool: Vec<Var> = Vec::new();
    if gates >= 2 {
        pool.push(b.public_input(Fr::from(rng.next_u64())));
        pool.push(b.public_input(Fr::from(rng.next_u64())));
    }
    while b.num_gates() < gates {
        if pool.len() < 2 {
            pool.push(b.constant(Fr::from(rng.next_u64())));
            continue;
        }
        // Prefer recent values half of the time, anything earlier otherwise.
        let pick = |rng: &mut SplitMix, pool: &Vec<Var>| {
            if rng.below(2) == 0 {
                pool[pool.len() - 1 - rng.below(pool.len().min(8))]
            } else {
                pool[rng.below(pool.len())]
            }
        };
        let (x, y) = (pick(&mut rng, &pool), pick(&mut rng, &pool));
        let out = match rng.below(3) {
            0 => b.add(x, y),
            1 => b.mul(x, y),
            _ => {
                let (qa, qb, k) = (
                    Fr::from(rng.next_u64()),
                    Fr::from(rng.next_u64()),
                    Fr::from(rng.next_u64()),
                );
                b.arith(x, y, qa, qb, Fr::from(rng.below(2) as u64), k)
            }
        };
        pool.push(out);
    }
    b.build()
}
