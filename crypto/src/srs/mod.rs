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

use crate::encoding::{G2_BYTES, Reader, put_g2};
use crate::{CryptoError, Fr, G1Affine, G1Projective, G2Affine, Result, domain};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{One, PrimeField, Zero};
use ark_poly::EvaluationDomain;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

mod structure;
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

    /// Writes the SRS in the version-2 file format.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        let io = |e| CryptoError::io(path, e);
        let h = self.agg.header;
        let len = row_len(h.shard_gates);
        let mut fixed = Vec::with_capacity(FIXED_HEADER);
        fixed.extend_from_slice(MAGIC);
        fixed.extend_from_slice(&SRS_VERSION.to_be_bytes());
        let flags = match (h.insecure, h.transcript) {
            (true, _) => FLAG_INSECURE,
            (false, Some(_)) => FLAG_CEREMONY,
            (false, None) => 0,
        };
        fixed.extend_from_slice(&flags.to_be_bytes());
        for v in [h.shards, h.shard_gates, len, y_len(h.shards)] {
            fixed.extend_from_slice(&(v as u32).to_be_bytes());
        }
        fixed.extend_from_slice(&h.transcript.filter(|_| !h.insecure).unwrap_or([0; 32]));
        let mut head = Vec::new();
        self.agg.g2.encode(&mut head);
        for p in self.agg.y_powers.iter().chain(&self.agg.lagrange_y) {
            put_file_point(&mut head, p);
        }
        let row_bytes: Vec<Vec<u8>> = self
            .rows
            .par_iter()
            .map(|row| {
                let mut b = Vec::with_capacity(row.len() * POINT_FILE_BYTES);
                for p in row {
                    put_file_point(&mut b, p);
                }
                b
            })
            .collect();
        for (i, b) in row_bytes.iter().enumerate() {
            head.extend_from_slice(&row_digest(i, b));
        }
        debug_assert!(row_bytes.iter().all(|b| b.len() == len * POINT_FILE_BYTES));
        let digest = header_digest(&fixed, &head);
        let f = File::create(path).map_err(io)?;
        let mut w = BufWriter::new(f);
        w.write_all(&fixed).map_err(io)?;
        w.write_all(&digest).map_err(io)?;
        w.write_all(&head).map_err(io)?;
        for b in &row_bytes {
            w.write_all(b).map_err(io)?;
        }
        w.flush().map_err(io)?;
        Ok(())
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

fn put_file_point(out: &mut Vec<u8>, p: &G1Affine) {
    let _ = p.serialize_uncompressed(&mut *out);
}

fn row_digest(i: usize, bytes: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&(i as u32).to_be_bytes());
    h.update(bytes);
    *h.finalize().as_bytes()
}

fn header_digest(fixed: &[u8], head: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(fixed);
    h.update(head);
    *h.finalize().as_bytes()
}

fn decode_file_points(bytes: &[u8]) -> std::result::Result<Vec<G1Affine>, &'static str> {
    bytes
        .par_chunks(POINT_FILE_BYTES)
        .map(|c| {
            G1Affine::deserialize_with_mode(c, Compress::No, Validate::Yes)
                .map_err(|_| "a point is not on the BN254 G1 curve")
        })
        .collect()
}

/// An SRS file, opened: the header part is in memory, rows are read on demand.
#[derive(Clone, Debug)]
pub struct SrsFile {
    path: PathBuf,
    agg: AggregatorSrs,
    row_len: usize,
    row_digests: Vec<[u8; 32]>,
    rows_offset: u64,
}

impl SrsFile {
    /// Opens an SRS file and verifies its header; reads no row.
    pub fn open(path: &Path) -> Result<Self> {
        let bad = |reason: String| CryptoError::SrsFile {
            path: path.display().to_string(),
            reason,
        };
        let mut f = File::open(path).map_err(|e| CryptoError::io(path, e))?;
        let file_len = f.metadata().map_err(|e| CryptoError::io(path, e))?.len();
        let short = |_| bad("file too short to hold an SRS header".into());
        let mut fixed = vec![0u8; FIXED_HEADER];
        f.read_exact(&mut fixed).map_err(short)?;
        if &fixed[..8] != MAGIC {
            return Err(bad("not a tutti SRS file (bad magic bytes)".into()));
        }
        let version = u16::from_be_bytes([fixed[8], fixed[9]]);
        let fixed_len = match version {
            1 => FIXED_HEADER,
            2 => FIXED_HEADER + 32,
            _ => {
                return Err(bad(format!(
                    "unsupported SRS format version {version}; this build reads versions 1 and {SRS_VERSION}"
                )));
            }
        };
        fixed.resize(fixed_len, 0);
        f.read_exact(&mut fixed[FIXED_HEADER..]).map_err(short)?;
        let mut digest = [0u8; 32];
        f.read_exact(&mut digest).map_err(short)?;
        let mut r = Reader::new(&fixed[10..], "SRS header");
        let flags = r.u16()?;
        let known = if version == 1 {
            FLAG_INSECURE
        } else {
            FLAG_INSECURE | FLAG_CEREMONY
        };
        if flags & !known != 0 || flags == FLAG_INSECURE | FLAG_CEREMONY {
            return Err(bad(format!("unknown or contradictory flags {flags:#06x}")));
        }
        let shards = r.u32()? as usize;
        let shard_gates = r.u32()? as usize;
        let (rl, yl) = (r.u32()? as usize, r.u32()? as usize);
        let transcript_bytes: Option<[u8; 32]> = (version == 2).then(|| {
            let mut t = [0u8; 32];
            t.copy_from_slice(&fixed[FIXED_HEADER..]);
            t
        });
        let transcript = match (flags & FLAG_CEREMONY != 0, transcript_bytes) {
            (true, t) => t,
            (false, Some(t)) if t != [0; 32] => {
                return Err(bad("a transcript digest without the ceremony flag".into()));
            }
            (false, _) => None,
        };
        let header = SrsHeader {
            shards,
            shard_gates,
            insecure: flags & FLAG_INSECURE != 0,
            transcript,
        };
        header
            .validate()
            .map_err(|e| bad(format!("bad sizes in header: {e}")))?;
        if rl != row_len(header.shard_gates) || yl != y_len(header.shards) {
            return Err(bad(
                "row or Y-part length does not match the shard sizes".into()
            ));
        }
        let m = header.shards;
        let head_len = 3 * G2_BYTES + (yl + m) * POINT_FILE_BYTES + 32 * m;
        let rows_offset = (fixed_len + 32 + head_len) as u64;
        let expected = rows_offset + (m * rl * POINT_FILE_BYTES) as u64;
        if file_len != expected {
            return Err(bad(format!(
                "file is {file_len} bytes but its header describes {expected} (truncated or padded)"
            )));
        }
        let mut head = vec![0u8; head_len];
        f.read_exact(&mut head)
            .map_err(|e| CryptoError::io(path, e))?;
        if header_digest(&fixed, &head) != digest {
            return Err(bad("header checksum mismatch: the file is corrupted".into()));
        }
        let mut r = Reader::new(&head, "SRS G2 part");
        // spec/srs.md §5, steps 9 to 12, in that order.
        let g2 = G2Part::decode(&mut r)?;
        g2.validate()
            .map_err(|e| bad(format!("malformed G2 part: {e}")))?;
        let pts = r.take((yl + m) * POINT_FILE_BYTES)?;
        let pts = decode_file_points(pts).map_err(|e| bad(e.into()))?;
        let (y_powers, lagrange_y) = (pts[..yl].to_vec(), pts[yl..].to_vec());
        let row_digests = (0..m)
            .map(|_| r.array::<32>())
            .collect::<Result<Vec<_>>>()?;
        let agg = AggregatorSrs {
            header,
            y_powers,
            lagrange_y,
            g2,
        };
        check_aggregator_part(&agg).map_err(|e| bad(e.to_string()))?;
        if header.insecure {
            tracing::warn!(path = %path.display(), "this SRS was generated from a public seed: INSECURE, for development only");
        }
        Ok(SrsFile {
            path: path.to_path_buf(),
            agg,
            row_len: rl,
            row_digests,
            rows_offset,
        })
    }
}

impl RowSource for SrsFile {
    fn header(&self) -> SrsHeader {
        self.agg.header
    }

    fn row(&self, shard: usize, len: usize) -> Result<WorkerRow> {
        let m = self.agg.header.shards;
        if shard >= m {
            return Err(CryptoError::SrsMismatch(format!(
                "no row for shard {shard}: the SRS has {m} shards"
            )));
        }
        check_len(len, self.row_len)?;
        let path = &self.path;
        let mut f = File::open(path).map_err(|e| CryptoError::io(path, e))?;
        let offset = self.rows_offset + (shard * self.row_len * POINT_FILE_BYTES) as u64;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| CryptoError::io(path, e))?;
        let mut bytes = vec![0u8; self.row_len * POINT_FILE_BYTES];
        f.read_exact(&mut bytes)
            .map_err(|e| CryptoError::io(path, e))?;
        if row_digest(shard, &bytes) != self.row_digests[shard] {
            return Err(CryptoError::SrsFile {
                path: path.display().to_string(),
                reason: format!("row {shard} checksum mismatch: the file is corrupted"),
            });
        }
        let bases = decode_file_points(&bytes[..len * POINT_FILE_BYTES]).map_err(|e| {
            CryptoError::SrsFile {
                path: path.display().to_string(),
                reason: e.into(),
            }
        })?;
        let row = WorkerRow {
            shard,
            shards: m,
            bases,
        };
        // A checksum only says the file was not damaged; the structure says the row was
        // made from the same trapdoors as the rest of the file.
        check_row(&row, &self.agg.lagrange_y[shard], &self.agg.g2)?;
        Ok(row)
    }

    fn aggregator_part(&self) -> Result<AggregatorSrs> {
        Ok(self.agg.clone())
    }
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
