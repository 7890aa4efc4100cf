//! A ceremony started from a univariate powers of tau (a snarkjs `.ptau` file): the reader
//! accepts the committed snarkjs file and refuses damaged ones with typed errors; τ_Y
//! contributions verify, a τ_X change is refused, and the SRS passes the structure checks.

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, Field, PrimeField};
use rand::{SeedableRng, rngs::StdRng};
use tutti_crypto::ceremony::{
    CEREMONY_PTAU_MAGIC, CeremonyError, CeremonyState, PtauError, QUIET, Trapdoor, read_ptau,
    verify_ceremony, verify_ceremony_from_ptau, verify_contribution, verify_transcript,
    verify_transcript_from_ptau,
};
use tutti_crypto::srs::{RowSource, row_len, secrets_from_seed};
use tutti_crypto::{Fr, G1Affine, G2Affine};

mod common;
use common::{assert_is_the_seeded_srs, assert_well_formed_srs};

const M: usize = 4;
const T: usize = 16;
/// `powersoftau new bn128 5` + one beacon contribution, snarkjs 0.7.6 (see README.md).
const POT5: &[u8] = include_bytes!("fixtures/ptau/pot5.ptau");

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// (offset of the data, size) of each section, by type.
fn sections(b: &[u8]) -> Vec<(u32, usize, usize)> {
    let n = u32::from_le_bytes(b[8..12].try_into().unwrap());
    let mut pos = 12;
    let mut out = Vec::new();
    for _ in 0..n {
        let kind = u32::from_le_bytes(b[pos..pos + 4].try_into().unwrap());
        let size = u64::from_le_bytes(b[pos + 4..pos + 12].try_into().unwrap()) as usize;
        out.push((kind, pos + 12, size));
        pos += 12 + size;
    }
    assert_eq!(pos, b.len());
    out
}

fn section(b: &[u8], kind: u32) -> (usize, usize) {
    let s = sections(b);
    let (_, at, size) = s.iter().find(|s| s.0 == kind).unwrap();
    (*at, *size)
}

/// 32 bytes of little-endian Montgomery form (snarkjs's LEM coordinate).
fn lem<F: PrimeField>(x: &F) -> Vec<u8> {
    // arkworks' Fq stores its Montgomery form; `F::from_bigint` / `into_bigint` convert,
    // so compute a·2^256 explicitly: a · R where R = 2^256 mod q.
    let r = F::from(2u64).pow([256]);
    (*x * r).into_bigint().to_bytes_le()
}

fn g1_lem(p: &G1Affine) -> Vec<u8> {
    let (x, y) = p.xy().unwrap();
    [lem(&x), lem(&y)].concat()
}

fn g2_lem(p: &G2Affine) -> Vec<u8> {
    let (x, y) = p.xy().unwrap();
    [lem(&x.c0), lem(&x.c1), lem(&y.c0), lem(&y.c1)].concat()
}

/// A `.ptau` with sections 1–3 only, of the given τ and power (enough for the reader).
fn write_ptau(tau: Fr, power: u32) -> Vec<u8> {
    let mut out = b"ptau".to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&3u32.to_le_bytes());
    let mut sec = |kind: u32, data: Vec<u8>| {
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(&data);
    };
    let mut h = 32u32.to_le_bytes().to_vec();
    h.extend_from_slice(&ark_bn254::Fq::MODULUS.to_bytes_le());
    h.extend_from_slice(&power.to_le_bytes());
    h.extend_from_slice(&power.to_le_bytes());
    sec(1, h);
    let (mut g1, mut g2) = (Vec::new(), Vec::new());
    let mut acc = Fr::from(1u64);
    for i in 0..(2usize << power) - 1 {
        g1.extend(g1_lem(&(G1Affine::generator() * acc).into_affine()));
        if i < 1 << power {
            g2.extend(g2_lem(&(G2Affine::generator() * acc).into_affine()));
        }
        acc *= tau;
    }
    sec(2, g1);
    sec(3, g2);
    out
}

#[test]
fn reads_the_committed_snarkjs_file() {
    let p = read_ptau(POT5, 63).unwrap();
    assert_eq!((p.power, p.ceremony_power), (5, 5));
    assert_eq!(p.tau_g1.len(), 63);
    assert_eq!(p.tau_g1[0], G1Affine::generator());
    assert_ne!(p.tau_g2, G2Affine::generator());
    assert_eq!(p.digest, *blake3::hash(POT5).as_bytes());
    // The section table is the one snarkjs writes for an un-prepared file.
    let kinds: Vec<u32> = sections(POT5).iter().map(|s| s.0).collect();
    assert_eq!(kinds, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(section(POT5, 2).1, 63 * 64);
    assert_eq!(section(POT5, 3).1, 32 * 128);
    assert!(matches!(
        read_ptau(POT5, 64),
        Err(PtauError::PowerTooSmall {
            power: 5,
            available: 63,
            needed: 64
        })
    ));
    // Our own writer agrees with snarkjs's layout: re-encoding the points read gives
    // the file's bytes.
    let (at, _) = section(POT5, 2);
    let ours: Vec<u8> = p.tau_g1.iter().flat_map(g1_lem).collect();
    assert_eq!(&POT5[at..at + 63 * 64], &ours[..]);
    let (at, _) = section(POT5, 3);
    assert_eq!(&POT5[at + 128..at + 256], &g2_lem(&p.tau_g2)[..]);
}

#[test]
fn tau_y_ceremony_from_the_snarkjs_file() {
    let s0 = CeremonyState::from_ptau(POT5, M, T).unwrap();
    let p = read_ptau(POT5, row_len(T)).unwrap();
    assert_eq!(s0.x_from_ptau, Some(p.digest));
    assert_eq!(s0.tau_x_g2, p.tau_g2);
    for i in 0..row_len(T) {
        for j in 0..M {
            assert_eq!(s0.entry(i, j), Some(&p.tau_g1[i]));
        }
    }
    assert!(s0.to_srs().is_err(), "τ_Y = 1 must not make an SRS");

    let (s1, _) = s0.contribute(&mut rng(1), QUIET).unwrap();
    assert_eq!(s1.tau_x_g2, s0.tau_x_g2, "contribute keeps τ_X");
    verify_contribution(&s0, &s1, &mut rng(2)).unwrap();
    let (s2, _) = s1.contribute(&mut rng(3), QUIET).unwrap();
    verify_contribution(&s1, &s2, &mut rng(4)).unwrap();
    let (s3, _) = s2.apply_beacon(&[9; 32], QUIET).unwrap();
    verify_contribution(&s2, &s3, &mut rng(4)).unwrap();
    let states = [s0.clone(), s1.clone(), s2.clone(), s3.clone()];
    verify_transcript_from_ptau(POT5, &states, &mut rng(5)).unwrap();
    // From the last state alone, against the file.
    verify_ceremony_from_ptau(POT5, &s3, &mut rng(6), QUIET).unwrap();
    verify_ceremony(&s3, &mut rng(6), QUIET).unwrap();
    assert!(matches!(
        verify_transcript(&states, &mut rng(5)),
        Err(CeremonyError::NotInitial)
    ));
    let other = write_ptau(Fr::from(7u64), 5);
    assert!(matches!(
        verify_transcript_from_ptau(&other, &states, &mut rng(5)),
        Err(PtauError::Ceremony(CeremonyError::NotInitial))
    ));
    assert!(matches!(
        verify_ceremony_from_ptau(&other, &s3, &mut rng(5), QUIET),
        Err(PtauError::Ceremony(CeremonyError::PtauXChanged))
    ));
    // A state whose column 0 is not the file's powers (but names the file).
    let mut moved = s3.clone();
    moved.grid[M * 3] = moved.grid[M * 2];
    assert!(matches!(
        verify_ceremony_from_ptau(POT5, &moved, &mut rng(5), QUIET),
        Err(PtauError::ColumnMismatch { power: 3 })
    ));

    // The encoding carries the ptau digest and round-trips.
    for s in &states {
        let bytes = s.to_bytes();
        assert_eq!(&bytes[..8], CEREMONY_PTAU_MAGIC);
        assert_eq!(&CeremonyState::from_bytes(&bytes).unwrap(), s);
    }
    assert_ne!(s0.digest(), CeremonyState::init(M, T).unwrap().digest());

    let srs = s3.to_srs().unwrap();
    assert_eq!(srs.aggregator_part().unwrap().g2.tau_x, p.tau_g2);
    assert_well_formed_srs(&srs, M, T);
}

#[test]
fn contributions_must_keep_tau_x_and_change_tau_y() {
    let s0 = CeremonyState::from_ptau(POT5, M, T).unwrap();
    let verify = |r: u64, s: u64| {
        let (next, _) = s0
            .contribute_with(Fr::from(r), Fr::from(s), &mut rng(r + s))
            .unwrap();
        verify_contribution(&s0, &next, &mut rng(9)).map_err(|e| {
            assert_eq!(e.contribution_index(), Some(0));
            e.innermost().to_string()
        })
    };
    verify(1, 5).unwrap();
    assert_eq!(verify(3, 5), Err(CeremonyError::PtauXChanged.to_string()));
    assert_eq!(
        verify(1, 1),
        Err(CeremonyError::TrapdoorUnchanged(Trapdoor::Y).to_string())
    );
    assert_eq!(
        verify(1, 0),
        Err(CeremonyError::IdentityG2(Trapdoor::Y).to_string())
    );
    // Dropping the ptau origin (so that τ_X could move later) is refused.
    let (mut next, _) = s0
        .contribute_with(Fr::from(1u64), Fr::from(5u64), &mut rng(1))
        .unwrap();
    next.x_from_ptau = None;
    let e = verify_contribution(&s0, &next, &mut rng(9)).unwrap_err();
    assert!(matches!(e.innermost(), CeremonyError::PtauXChanged));
    // A plain ceremony still requires both trapdoors to change.
    let p0 = CeremonyState::init(M, T).unwrap();
    let (p1, _) = p0
        .contribute_with(Fr::from(1u64), Fr::from(5u64), &mut rng(1))
        .unwrap();
    let e = verify_contribution(&p0, &p1, &mut rng(9)).unwrap_err();
    assert!(matches!(
        e.innermost(),
        CeremonyError::TrapdoorUnchanged(Trapdoor::X)
    ));
}

#[test]
fn known_tau_ptau_gives_the_trapdoor_srs() {
    let seed = b"ceremony-ptau-test";
    let (tx, ty) = secrets_from_seed(seed);
    let file = write_ptau(tx, 4);
    let s0 = CeremonyState::from_ptau(&file, M, T).unwrap();
    let (s1, _) = s0
        .contribute_with(
            Fr::from(1u64),
            ty * Fr::from(3u64).inverse().unwrap(),
            &mut rng(1),
        )
        .unwrap();
    verify_contribution(&s0, &s1, &mut rng(2)).unwrap();
    let (s2, _) = s1
        .contribute_with(Fr::from(1u64), Fr::from(3u64), &mut rng(3))
        .unwrap();
    verify_contribution(&s1, &s2, &mut rng(4)).unwrap();
    assert_is_the_seeded_srs(&s2.to_srs().unwrap(), seed, M, T);
}

#[test]
fn damaged_files_are_refused() {
    let need = row_len(T);
    // Every proper prefix (truncation anywhere) is refused, never a panic.
    for len in 0..POT5.len() {
        assert!(
            read_ptau(&POT5[..len], need).is_err(),
            "prefix of {len} bytes"
        );
    }
    assert!(matches!(
        read_ptau(&POT5[..POT5.len() - 1], need),
        Err(PtauError::Truncated { .. })
    ));
    assert!(matches!(
        CeremonyState::from_ptau(&POT5[..POT5.len() - 1], M, T),
        Err(PtauError::Truncated { .. })
    ));

    let (g1_at, _) = section(POT5, 2);
    // One tauG1 point replaced by another valid point (its successor): not the powers.
    let mut swapped = POT5.to_vec();
    swapped.copy_within(g1_at + 6 * 64..g1_at + 7 * 64, g1_at + 5 * 64);
    assert!(matches!(
        read_ptau(&swapped, need),
        Err(PtauError::NotPowers)
    ));
    assert!(matches!(
        CeremonyState::from_ptau(&swapped, M, T),
        Err(PtauError::NotPowers)
    ));
    // One byte of a tauG1 point changed: off the curve.
    let mut flipped = POT5.to_vec();
    flipped[g1_at + 3 * 64 + 1] ^= 1;
    assert!(matches!(
        read_ptau(&flipped, need),
        Err(PtauError::BadPoint {
            section: "tauG1",
            index: 3
        })
    ));
    // A coordinate at or above the prime.
    let mut big = POT5.to_vec();
    big[g1_at + 2 * 64 + 31] = 0xff;
    assert!(matches!(
        read_ptau(&big, need),
        Err(PtauError::NonCanonical {
            section: "tauG1",
            index: 2
        })
    ));
    // The point at infinity (all zeros) as tauG1[4].
    let mut inf = POT5.to_vec();
    inf[g1_at + 4 * 64..g1_at + 5 * 64].fill(0);
    assert!(matches!(
        read_ptau(&inf, need),
        Err(PtauError::BadPoint { index: 4, .. })
    ));
    // A point past the ones read changes the digest (and so the ceremony's identity).
    let mut late = POT5.to_vec();
    late.copy_within(g1_at + 41 * 64..g1_at + 42 * 64, g1_at + 40 * 64);
    assert_ne!(
        read_ptau(&late, need).unwrap().digest,
        read_ptau(POT5, need).unwrap().digest
    );

    // Another prime in the header (BN254's scalar field instead of its base field).
    let (h_at, _) = section(POT5, 1);
    let mut other_prime = POT5.to_vec();
    other_prime[h_at + 4..h_at + 36].copy_from_slice(&Fr::MODULUS.to_bytes_le());
    assert!(matches!(
        read_ptau(&other_prime, need),
        Err(PtauError::WrongCurve(_))
    ));
    assert!(matches!(
        CeremonyState::from_ptau(&other_prime, M, T),
        Err(PtauError::WrongCurve(_))
    ));
    // A power that does not match the section sizes.
    let mut power6 = POT5.to_vec();
    power6[h_at + 36] = 6;
    assert!(matches!(
        read_ptau(&power6, need),
        Err(PtauError::SectionSize { section: 2, .. })
    ));
    // Not a ptau / another version.
    let mut magic = POT5.to_vec();
    magic[0] = b'q';
    assert!(matches!(
        read_ptau(&magic, need),
        Err(PtauError::NotPtau(_))
    ));
    let mut version = POT5.to_vec();
    version[4] = 2;
    assert!(matches!(
        read_ptau(&version, need),
        Err(PtauError::NotPtau(_))
    ));
    // Trailing bytes.
    let mut trailing = POT5.to_vec();
    trailing.push(0);
    assert!(matches!(
        read_ptau(&trailing, need),
        Err(PtauError::Malformed(_))
    ));

    // A fresh `powersoftau new` file (τ = 1) and a too-small power.
    assert!(matches!(
        read_ptau(&write_ptau(Fr::from(1u64), 5), need),
        Err(PtauError::TrivialTau)
    ));
    assert!(matches!(
        CeremonyState::from_ptau(&write_ptau(Fr::from(5u64), 3), M, T),
        Err(PtauError::PowerTooSmall {
            power: 3,
            available: 15,
            needed: 20
        })
    ));
    // Bad ceremony sizes.
    assert!(matches!(
        CeremonyState::from_ptau(POT5, 3, T),
        Err(PtauError::Ceremony(CeremonyError::Size { .. }))
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// A `.ptau` with any byte changed is refused or read into points that are still
    /// checked powers (never a panic, never a state that verifies with other powers).
    #[test]
    fn a_changed_ptau_byte_never_panics(at in 0usize..POT5.len(), xor in 1u8..) {
        let mut b = POT5.to_vec();
        b[at] ^= xor;
        if let Ok(p) = read_ptau(&b, row_len(T)) {
            let good = read_ptau(POT5, row_len(T)).unwrap();
            proptest::prop_assert!(p.tau_g1 == good.tau_g1 && p.tau_g2 == good.tau_g2,
                "byte {} changed the powers and still read", at);
        }
    }
}
