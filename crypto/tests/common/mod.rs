//! Helpers shared by the ceremony tests.

use tutti_crypto::srs::{InMemorySrs, RowSource, check_aggregator_part, check_row, row_len};

/// Asserts that `got` is, point for point, the seeded SRS of `seed` for M shards of T rows
/// (so the ceremony ended in the same trapdoors), and that it passes the structure checks
/// a loader applies.
pub fn assert_is_the_seeded_srs(got: &InMemorySrs, seed: &[u8], m: usize, t: usize) {
    let want = InMemorySrs::insecure_from_seed(m, t, seed).expect("seeded SRS");
    let (ga, wa) = (
        got.aggregator_part().expect("aggregator part"),
        want.aggregator_part().expect("aggregator part"),
    );
    assert_eq!(ga.g2, wa.g2);
    assert_eq!(ga.y_powers, wa.y_powers);
    assert_eq!(ga.lagrange_y, wa.lagrange_y);
    assert_eq!(ga.header.shards, m);
    assert_eq!(ga.header.shard_gates, t);
    assert!(!ga.header.insecure);
    for i in 0..m {
        let row = got.row(i, row_len(t)).expect("row");
        let expected = want.row(i, row_len(t)).expect("row");
        assert_eq!(row.bases, expected.bases, "row {i}");
    }
    assert_well_formed_srs(got, m, t);
}

/// Asserts that `srs` passes the structure checks a loader applies: its G2 part, its
/// aggregator part and every row.
pub fn assert_well_formed_srs(srs: &InMemorySrs, m: usize, t: usize) {
    let agg = srs.aggregator_part().expect("aggregator part");
    agg.g2.validate().expect("G2 part well formed");
    check_aggregator_part(&agg).expect("aggregator part well formed");
    for i in 0..m {
        let row = srs.row(i, row_len(t)).expect("row");
        check_row(&row, &agg.lagrange_y[i], &agg.g2).expect("row well formed");
    }
}
