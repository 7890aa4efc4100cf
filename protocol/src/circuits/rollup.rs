//! `rollup`: a data-parallel workload in the shape of a payment rollup. Each shard takes
//! the state (root, balance) left by the previous shard, applies a batch of transfers —
//! `balance' = balance − amount`, `leaf = amount + 2^128·balance'`,
//! `root' = MiMC-H(root, leaf)` — and hands its state to the next shard. The hand-over is
//! a pair of copy constraints from one shard into the next, so cross-shard wiring is real.
//! Public inputs: the initial root and balance (first shard) and the final root (last).

use super::mimc::{HASH_GATES, hash, hash_gadget};
use super::random::SplitMix;
use crate::circuit::{Circuit, CircuitBuilder, Witness};
use crate::error::ProtocolError;
use crate::layout::Shape;
use ark_ff::{Field, One, Zero};
use tutti_crypto::Fr;

/// Rows one transfer takes.
pub const TRANSFER_GATES: usize = HASH_GATES + 2;

/// Description of a built rollup circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupStats {
    /// Transfers per shard.
    pub transfers_per_shard: usize,
    /// Total transfers.
    pub transfers: usize,
}

/// The final root of a batch, computed natively (what the circuit proves).
pub fn apply_transfers(root: Fr, balance: Fr, amounts: &[Fr]) -> (Fr, Fr) {
    let shift = Fr::from(2u64).pow([128]);
    amounts.iter().fold((root, balance), |(root, bal), a| {
        let bal = bal - a;
        (hash(root, *a + shift * bal), bal)
    })
}

/// Builds the rollup circuit for `shape` with transfers drawn from `seed`.
pub fn rollup_circuit(
    shape: Shape,
    seed: u64,
) -> Result<(Circuit, Witness, RollupStats), ProtocolError> {
    let usable = shape.usable_rows();
    // The first shard also holds two public inputs, the last one more.
    let per_shard = usable.saturating_sub(3) / TRANSFER_GATES;
    if per_shard == 0 {
        return Err(ProtocolError::InvalidShape(format!(
            "the rollup circuit needs at least {} rows per shard (one transfer is {TRANSFER_GATES} rows); got {}",
            (TRANSFER_GATES + 4).next_power_of_two(),
            shape.shard_gates
        )));
    }
    let mut rng = SplitMix::new(seed);
    let mut b = CircuitBuilder::new();
    let shift = Fr::from(2u64).pow([128]);
    let mut root = b.public_input(Fr::from(rng.next_u64()));
    let mut balance = b.public_input(Fr::from(u64::MAX));
    for shard in 0..shape.shards {
        if shard > 0 {
            b.end_shard();
            // Fresh variables for the state coming in, wired to the previous shard's.
            let (r_in, b_in) = (b.input(b.value(root)), b.input(b.value(balance)));
            b.assert_equal(r_in, root);
            b.assert_equal(b_in, balance);
            root = r_in;
            balance = b_in;
        }
        for _ in 0..per_shard {
            let amount = b.input(Fr::from(rng.next_u64() % 1000));
            balance = b.arith(
                balance,
                amount,
                Fr::one(),
                -Fr::one(),
                Fr::zero(),
                Fr::zero(),
            );
            let leaf = b.arith(amount, balance, Fr::one(), shift, Fr::zero(), Fr::zero());
            root = hash_gadget(&mut b, root, leaf);
        }
    }
    let out = b.public_input(b.value(root));
    b.assert_equal(out, root);
    let (c, w) = b.build();
    Ok((
        c,
        w,
        RollupStats {
            transfers_per_shard: per_shard,
            transfers: per_shard * shape.shards,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::ShardedCircuit;

    #[test]
    fn rollup_fits_and_matches_native() {
        let shape = Shape::new(2, 1024).unwrap();
        let (c, w, stats) = rollup_circuit(shape, 7).unwrap();
        assert_eq!(stats.transfers_per_shard, 2);
        let sc = ShardedCircuit::new(&c, shape).unwrap();
        let ws = sc.shard_witnesses(&w);
        let pis = w.public_inputs(&c);
        sc.check_witness(&ws, &pis).unwrap();
        assert_eq!(pis.len(), 3);
        // Public inputs: initial root, initial balance, final root.
        assert_eq!(
            sc.public_positions[2].0, 1,
            "final root sits in the last shard"
        );
        assert!(rollup_circuit(Shape::new(2, 256).unwrap(), 1).is_err());
    }
}
