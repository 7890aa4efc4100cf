//! The SRS file: writing an [`InMemorySrs`] (version 2) and [`SrsFile`], which opens one
//! (versions 1 and 2), verifies its header and reads rows on demand. Layout in the
//! [module docs](super) and spec/srs.md §3.

use super::{
    AggregatorSrs, FIXED_HEADER, FLAG_CEREMONY, FLAG_INSECURE, G2Part, InMemorySrs, MAGIC,
    POINT_FILE_BYTES, RowSource, SRS_VERSION, SrsHeader, WorkerRow, check_aggregator_part,
    check_len, check_row, row_len, y_len,
};
use crate::encoding::{G2_BYTES, Reader};
use crate::{CryptoError, G1Affine, Result};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

impl InMemorySrs {
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

fn put_file_point(out: &mut Vec<u8>, p: &G1Affine) {
    let _ = p.serialize_uncompressed(&mut *out);
}

fn row_digest(i: usize, bytes: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&(i as u32).to_be_bytes());
    h.update(bytes);
    *h.finalize().as_bytes()
}

pub(super) fn header_digest(fixed: &[u8], head: &[u8]) -> [u8; 32] {
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
