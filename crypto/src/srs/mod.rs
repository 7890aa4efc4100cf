//! The bivariate structured reference string and its file format.
//!
//! For secrets τ_X, τ_Y, M shards and T rows per shard, the SRS holds:
//! - worker row i (one per shard): `[R_i(τ_Y)·τ_X^j]₁` for `j < T + ROW_EXTRA`, where `R_i`
//!   is the i-th Lagrange polynomial of the Y-domain of size M; a worker loads only its row;
//! - the aggregator's Y part: `[τ_Y^k]₁` for `k < 3M + 3` and `[R_i(τ_Y)]₁` for every i;
//! - G2: `[1]₂`, `[τ_X]₂`, `[τ_Y]₂`.
//!
//! An SRS made from a seed ([`InMemorySrs::insecure_from_seed`]) is for development only:
//! anyone who knows the seed knows τ_X and τ_Y and can forge proofs. The file records this
//! in its flags, and every tool that loads such a file says so.
//!
//! File layout (version 2, all integers big-endian):
//! ```text
//! offset 0   magic "TUTTISRS" (8 bytes)
//!        8   version u16 = 2
//!       10   flags u16 (bit 0: insecure, generated from a public seed;
//!                       bit 1: finalized from a ceremony)
//!       12   shards M u32, shard_gates T u32, row_len u32, y_len u32
//!       28   ceremony transcript digest (32 bytes; zero unless bit 1)
//!       60   header digest: BLAKE3(bytes 0..60 || head)  (32 bytes)
//!       92   head: [1]₂ [τ_X]₂ [τ_Y]₂ (compressed, 64 bytes each)
//!                  y_len × [τ_Y^k]₁ and M × [R_i(τ_Y)]₁ (uncompressed, 64 bytes each)
//!                  M × row digest, BLAKE3(i as u32 || row bytes) (32 bytes each)
//!            rows: M × row_len × G1 (uncompressed, 64 bytes each)
//! ```
//! Version 1 is version 2 without the transcript digest (the header digest follows
//! byte 28); it is still read. Loading a row reads the header, verifies the header digest, seeks to the row and
//! verifies the row's digest; it never reads another row.

use crate::encoding::{Reader, put_g2};
use crate::{CryptoError, Fr, G1Affine, G1Projective, G2Affine, Result, domain};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{One, PrimeField, Zero};
use ark_poly::EvaluationDomain;
use rayon::prelude::*;

mod file;
mod structure;
pub use file::SrsFile;
#[cfg(test)]
use file::header_digest;
pub use structure::{
    KNOWN_PUBLIC_SEEDS, SRS_ID_DOMAIN, check_aggregator_part, check_row, public_seed_of,
};

/// Bases in a worker row beyond T: blinded wires need T+2, the running product T+3 and
/// the blinded quotient pieces T+4 coefficients.
pub const ROW_EXTRA: usize = 4;
const MAGIC: &[u8; 8] = b"TUTTISRS";
/// The SRS file format version this code writes (it reads 1 and 2).
pub const SRS_VERSION: u16 = 2;
const FLAG_INSECURE: u16 = 1;
const FLAG_CEREMONY: u16 = 2;
/// Bytes of the version-1 fixed header; version 2 adds the 32-byte transcript digest.
const FIXED_HEADER: usize = 28;
const POINT_FILE_BYTES: usize = 64;
/// Largest accepted shard count and shard size (keeps a corrupt header from asking for
/// absurd allocations).
pub const MAX_SHARDS: usize = 1 << 12;
/// Largest accepted rows per shard.
pub const MAX_SHARD_GATES: usize = 1 << 24;

/// Number of bases in a worker row for shards of `t` rows.
pub fn row_len(t: usize) -> usize {
    t + ROW_EXTRA
}

/// Number of `[τ_Y^k]₁` powers the aggregator needs for `m` shards.
pub fn y_len(m: usize) -> usize {
    3 * m + 3
}

/// Sizes and flags of an SRS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SrsHeader {
    /// Number of shards M (size of the Y-domain).
    pub shards: usize,
    /// Rows per shard T the SRS was made for (the largest usable).
    pub shard_gates: usize,
    /// True when the SRS was generated from a public seed (development only).
    pub insecure: bool,
    /// For an SRS finalized from a multi-party ceremony, the digest of its transcript
    /// (`CeremonyState::transcript_hash`): anyone can verify that transcript and check
    /// that it ends in this SRS's G2 points. `None` for a single-party or seeded setup.
    pub transcript: Option<[u8; 32]>,
}

impl SrsHeader {
    fn validate(&self) -> Result<()> {
        if !self.shards.is_power_of_two() || self.shards > MAX_SHARDS {
            return Err(CryptoError::InvalidParameter {
                name: "shards",
                value: self.shards as u64,
                expected: "a power of two from 1 to 4096",
            });
        }
        if !self.shard_gates.is_power_of_two()
            || self.shard_gates < 16
            || self.shard_gates > MAX_SHARD_GATES
        {
            return Err(CryptoError::InvalidParameter {
                name: "shard_gates",
                value: self.shard_gates as u64,
                expected: "a power of two from 16 to 2^24",
            });
        }
        Ok(())
    }
}

/// The G2 elements every verifier needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct G2Part {
    /// `[1]₂`.
    pub one: G2Affine,
    /// `[τ_X]₂`.
    pub tau_x: G2Affine,
    /// `[τ_Y]₂`.
    pub tau_y: G2Affine,
}

impl G2Part {
    /// Appends the three points in wire encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_g2(out, &self.one);
        put_g2(out, &self.tau_x);
        put_g2(out, &self.tau_y);
    }

    /// Reads three points in wire encoding.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(G2Part {
            one: r.g2()?,
            tau_x: r.g2()?,
            tau_y: r.g2()?,
        })
    }
}

/// One worker's row of the SRS: `[R_i(τ_Y)·τ_X^j]₁`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerRow {
    /// The shard this row belongs to.
    pub shard: usize,
    /// Number of shards of the SRS.
    pub shards: usize,
    /// The bases, `j = 0..len`.
    pub bases: Vec<G1Affine>,
}

impl WorkerRow {
    /// `[R_i(τ_Y)]₁`: the generator of this shard's univariate commitments.
    pub fn lagrange_base(&self) -> G1Affine {
        self.bases.first().copied().unwrap_or_default()
    }
}

/// The aggregator's part of the SRS: Y powers, per-shard Lagrange bases and G2.
#[derive(Clone, Debug)]
pub struct AggregatorSrs {
    /// Sizes and flags.
    pub header: SrsHeader,
    /// `[τ_Y^k]₁`, `k < 3M + 3`.
    pub y_powers: Vec<G1Affine>,
    /// `[R_i(τ_Y)]₁` for every shard i.
    pub lagrange_y: Vec<G1Affine>,
    /// G2 elements.
    pub g2: G2Part,
}

/// Anything that can hand out SRS rows and the aggregator part.
pub trait RowSource {
    /// Sizes and flags.
    fn header(&self) -> SrsHeader;
    /// Loads row `shard`, truncated to its first `len` bases.
    fn row(&self, shard: usize, len: usize) -> Result<WorkerRow>;
    /// The aggregator's part.
    fn aggregator_part(&self) -> Result<AggregatorSrs>;
}

/// A whole SRS in memory (generation, tests, benchmarks, and preprocessing).
#[derive(Clone, Debug)]
pub struct InMemorySrs {
    agg: AggregatorSrs,
    rows: Vec<Vec<G1Affine>>,
}

/// The trapdoors (τ_X, τ_Y) of the seeded SRS of `seed` (spec/srs.md §2.1): public to
/// anyone who knows the seed, which is why such an SRS is INSECURE. For tests and tools
/// that reproduce one (a ceremony whose secrets multiply to them, for instance).
pub fn secrets_from_seed(seed: &[u8]) -> (Fr, Fr) {
    let mut h = blake3::Hasher::new();
    h.update(b"tutti/insecure-dev-srs/v1");
    h.update(seed);
    let mut xof = h.finalize_xof();
    let mut next = || {
        let mut wide = [0u8; 64];
        xof.fill(&mut wide);
        Fr::from_le_bytes_mod_order(&wide)
    };
    (next(), next())
}

impl InMemorySrs {
    /// INSECURE: generates an SRS whose secrets are derived from `seed`. Anyone who knows
    /// the seed can forge proofs; use it only for development, tests and benchmarks.
    pub fn insecure_from_seed(shards: usize, shard_gates: usize, seed: &[u8]) -> Result<Self> {
        tracing::warn!(
            shards,
            shard_gates,
            "generating an INSECURE SRS from a seed: anyone who knows the seed can forge proofs"
        );
        let (tau_x, tau_y) = secrets_from_seed(seed);
        Self::generate(shards, shard_gates, tau_x, tau_y, true)
    }

    /// Generates an SRS from fresh secret entropy (for example 64 bytes from the operating
    /// system). The secrets live only in this call and are dropped when it returns, so
    /// the SRS is as trustworthy as the machine and person that ran it: a single-party
    /// setup, not a multi-party ceremony.
    pub fn from_entropy(shards: usize, shard_gates: usize, entropy: &[u8; 64]) -> Result<Self> {
        let mut h = blake3::Hasher::new();
        h.update(b"tutti/srs-from-entropy/v1");
        h.update(entropy);
        let mut xof = h.finalize_xof();
        let mut wide = [0u8; 64];
        xof.fill(&mut wide);
        let tau_x = Fr::from_le_bytes_mod_order(&wide);
        xof.fill(&mut wide);
        let tau_y = Fr::from_le_bytes_mod_order(&wide);
        Self::generate(shards, shard_gates, tau_x, tau_y, false)
    }

    fn generate(
        shards: usize,
        shard_gates: usize,
        mut tau_x: Fr,
        mut tau_y: Fr,
        insecure: bool,
    ) -> Result<Self> {
        let header = SrsHeader {
            shards,
            shard_gates,
            insecure,
            transcript: None,
        };
        header.validate()?;
        let dy = domain::domain(shards)?;
        // A secret inside the Y-domain would make the closed forms degenerate, and a
        // trapdoor of 0 or ±1, or two related ones, a G2 part that no loader accepts
        // (G2Part::validate): move them (never happens for secrets from a hash).
        let one = Fr::one();
        while dy.evaluate_vanishing_polynomial(tau_y).is_zero()
            || [Fr::zero(), -one].contains(&tau_y)
        {
            tau_y += one;
        }
        while [Fr::zero(), one, -one, tau_y, -tau_y].contains(&tau_x) {
            tau_x += one;
        }
        let len = row_len(shard_gates);
        let lag: Vec<Fr> = (0..shards)
            .map(|i| domain::lagrange_at(&dy, i, tau_y))
            .collect();
        let mut xpow = Vec::with_capacity(len);
        let mut acc = Fr::one();
        for _ in 0..len {
            xpow.push(acc);
            acc *= tau_x;
        }
        let mut ypow = Vec::with_capacity(y_len(shards));
        let mut acc = Fr::one();
        for _ in 0..y_len(shards) {
            ypow.push(acc);
            acc *= tau_y;
        }
        let g = G1Projective::generator();
        let table = BatchMulPreprocessing::new(g, len * shards + ypow.len() + shards);
        let rows: Vec<Vec<G1Affine>> = lag
            .iter()
            .map(|l| {
                let scalars: Vec<Fr> = xpow.par_iter().map(|x| *x * l).collect();
                table.batch_mul(&scalars)
            })
            .collect();
        let y_powers = table.batch_mul(&ypow);
        let lagrange_y = table.batch_mul(&lag);
        let h = ark_bn254::G2Projective::generator();
        let g2 = G2Part {
            one: h.into_affine(),
            tau_x: (h * tau_x).into_affine(),
            tau_y: (h * tau_y).into_affine(),
        };
        Ok(InMemorySrs {
            agg: AggregatorSrs {
                header,
                y_powers,
                lagrange_y,
                g2,
            },
            rows,
        })
    }

    /// Assembles an SRS from points computed elsewhere (the ceremony); checks nothing.
    pub(crate) fn from_parts(agg: AggregatorSrs, rows: Vec<Vec<G1Affine>>) -> Self {
        InMemorySrs { agg, rows }
    }
}

impl RowSource for InMemorySrs {
    fn header(&self) -> SrsHeader {
        self.agg.header
    }

    fn row(&self, shard: usize, len: usize) -> Result<WorkerRow> {
        let row = self.rows.get(shard).ok_or_else(|| {
            CryptoError::SrsMismatch(format!(
                "no row for shard {shard}: the SRS has {} shards",
                self.rows.len()
            ))
        })?;
        check_len(len, row.len())?;
        Ok(WorkerRow {
            shard,
            shards: self.agg.header.shards,
            bases: row[..len].to_vec(),
        })
    }

    fn aggregator_part(&self) -> Result<AggregatorSrs> {
        Ok(self.agg.clone())
    }
}

fn check_len(len: usize, available: usize) -> Result<()> {
    if len > available {
        return Err(CryptoError::SrsMismatch(format!(
            "{len} bases requested but the SRS rows hold {available}: make an SRS for larger shards"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bn254;
    use ark_ec::pairing::Pairing;

    #[test]
    fn rows_are_consistent_with_g2() {
        let srs = InMemorySrs::insecure_from_seed(4, 16, b"t").unwrap();
        let agg = srs.aggregator_part().unwrap();
        assert!(check_aggregator_part(&agg).is_ok());
        let row = srs.row(2, row_len(16)).unwrap();
        assert_eq!(agg.lagrange_y[2], row.lagrange_base());
        // e(row[j+1], [1]) = e(row[j], [τ_X])
        let l = Bn254::pairing(row.bases[3], agg.g2.one);
        let r = Bn254::pairing(row.bases[2], agg.g2.tau_x);
        assert_eq!(l, r);
    }

    #[test]
    fn the_spec_test_vector_holds() {
        // spec/srs.md §6.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("srs.bin");
        InMemorySrs::insecure_from_seed(2, 16, b"tutti-demo")
            .unwrap()
            .write_file(&path)
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 3612);
        let hex: String = bytes[..92].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            concat!(
                "545554544953525300020001000000020000001000000014000000090000",
                "000000000000000000000000000000000000000000000000000000000000",
                "d9493199cc60d37b53cee6134c54c2640de000f3f505430f559807de5fca",
                "0d84"
            )
        );
        assert_eq!(bytes[284], 1);
        assert_eq!(bytes[316], 2);
    }

    #[test]
    fn ceremony_origin_round_trips_and_version_1_files_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("srs.bin");
        let mut srs = InMemorySrs::from_entropy(2, 16, &[3; 64]).unwrap();
        srs.agg.header.transcript = Some([9; 32]);
        srs.write_file(&path).unwrap();
        let file = SrsFile::open(&path).unwrap();
        assert_eq!(file.header().transcript, Some([9; 32]));
        assert!(!file.header().insecure);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[8..12], &[0, 2, 0, 2], "version 2, ceremony flag");
        // The transcript digest is covered by the header digest.
        let mut b = bytes.clone();
        b[40] ^= 1;
        std::fs::write(&path, &b).unwrap();
        assert!(
            SrsFile::open(&path)
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
        // Both flags at once, and a digest without the flag, are refused.
        for flags in [3u8, 0] {
            let mut b = bytes.clone();
            b[11] = flags;
            std::fs::write(&path, &b).unwrap();
            assert!(SrsFile::open(&path).is_err(), "flags {flags}");
        }
        // The same SRS in version 1: no transcript field, header digest over 28 bytes.
        srs.agg.header.transcript = None;
        srs.write_file(&path).unwrap();
        let v2 = std::fs::read(&path).unwrap();
        let head = &v2[92..];
        let mut v1 = v2[..28].to_vec();
        v1[9] = 1;
        let digest = header_digest(&v1, &head[..v2.len() - 92 - 2 * 20 * 64]);
        v1.extend_from_slice(&digest);
        v1.extend_from_slice(head);
        std::fs::write(&path, &v1).unwrap();
        let file = SrsFile::open(&path).unwrap();
        assert_eq!(file.header().transcript, None);
        assert_eq!(
            file.row(1, 20).unwrap().bases,
            srs.row(1, 20).unwrap().bases
        );
    }

    #[test]
    fn file_roundtrip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("srs.bin");
        let srs = InMemorySrs::insecure_from_seed(2, 16, b"f").unwrap();
        srs.write_file(&path).unwrap();
        let file = SrsFile::open(&path).unwrap();
        assert!(file.header().insecure);
        assert_eq!(
            file.row(1, 10).unwrap().bases,
            srs.row(1, 10).unwrap().bases
        );
        assert_eq!(
            file.aggregator_part().unwrap().y_powers,
            srs.aggregator_part().unwrap().y_powers
        );
        assert!(matches!(file.row(2, 10), Err(CryptoError::SrsMismatch(_))));
        assert!(matches!(file.row(0, 100), Err(CryptoError::SrsMismatch(_))));

        // Corrupt one byte of row 1: row 0 still loads, row 1 is rejected.
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 5;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let file = SrsFile::open(&path).unwrap();
        assert!(file.row(0, 20).is_ok());
        let err = file.row(1, 20).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");

        // Truncation, bad magic, unknown version, corrupted header.
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(
            SrsFile::open(&path)
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
        let mut b2 = bytes.clone();
        b2[0] = b'X';
        std::fs::write(&path, &b2).unwrap();
        assert!(
            SrsFile::open(&path)
                .unwrap_err()
                .to_string()
                .contains("magic")
        );
        let mut b3 = bytes.clone();
        b3[9] = 9;
        std::fs::write(&path, &b3).unwrap();
        assert!(
            SrsFile::open(&path)
                .unwrap_err()
                .to_string()
                .contains("version")
        );
        let mut b4 = bytes.clone();
        b4[100] ^= 0x10;
        std::fs::write(&path, &b4).unwrap();
        assert!(SrsFile::open(&path).is_err());
        std::fs::write(&path, b"short").unwrap();
        assert!(SrsFile::open(&path).is_err());
    }

    #[test]
    fn rejects_bad_sizes() {
        assert!(InMemorySrs::insecure_from_seed(3, 16, b"x").is_err());
        assert!(InMemorySrs::insecure_from_seed(2, 8, b"x").is_err());
    }
}
