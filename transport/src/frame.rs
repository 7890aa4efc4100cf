//! Framing: every message on a QUIC stream is one frame,
//!
//! ```text
//! version u8 = 1 | type u8 | length u32 BE | payload (length bytes)
//! ```
//!
//! with a hard limit on `length` per frame type (see [`FrameType::limit`]). A reader
//! checks version, type and length from the 6-byte header before it reads the payload,
//! and grows its buffer only as bytes arrive, so a peer that announces a large frame and
//! sends little costs little memory. Control frames travel on one bidirectional stream per
//! connection; bulk frames (a job submission, a shard assignment, a fragment dealt or
//! sent back) each on a unidirectional stream of their own. See `spec/transport.md`.

use crate::error::TransportError;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The framing version.
pub const FRAME_VERSION: u8 = 1;
/// Bytes of a frame header.
pub const HEADER_BYTES: usize = 6;
/// Default limit on a bulk frame (job submission, shard assignment, fragment dealt or
/// sent back, and the floor of an outcome's): 1 GiB.
pub const DEFAULT_MAX_BULK: usize = 1 << 30;

/// The frame types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameType {
    /// Peer → aggregator, first frame of a connection: role, identity, session signature.
    Hello = 0x01,
    /// Aggregator → peer: authenticated.
    Welcome = 0x02,
    /// Either way: the connection is refused or closing, with a reason (UTF-8).
    Goodbye = 0x03,
    /// Aggregator → worker: take a shard (its assignment arrives on a bulk stream).
    Assign = 0x10,
    /// Aggregator → worker: a directive for the shard it holds.
    Directive = 0x11,
    /// Aggregator → worker: the job is over; drop its state.
    JobOver = 0x12,
    /// Worker → aggregator: a directive named a job the worker holds nothing of.
    Lost = 0x13,
    /// Aggregator → worker: send back your fragment of a shard's coded inputs.
    FragmentRequest = 0x14,
    /// Worker → aggregator: a signed protocol message (compact envelope).
    Envelope = 0x20,
    /// Client → aggregator (bulk): a job.
    Submit = 0x30,
    /// Aggregator → client: the job was accepted, with its id.
    Accepted = 0x31,
    /// Client → aggregator: send me the outcome of this job when it is known.
    Await = 0x32,
    /// Aggregator → client: the outcome of a job.
    Outcome = 0x33,
    /// Aggregator → worker (bulk): a shard assignment with the verifying key.
    Assignment = 0x40,
    /// Aggregator → worker (bulk): a fragment of a shard's coded inputs to keep.
    FragmentDeposit = 0x41,
    /// Worker → aggregator (bulk): a kept fragment, signed by its holder.
    FragmentReply = 0x42,
}

impl FrameType {
    /// The type of a header byte.
    pub fn from_u8(b: u8) -> Option<Self> {
        use FrameType::*;
        Some(match b {
            0x01 => Hello,
            0x02 => Welcome,
            0x03 => Goodbye,
            0x10 => Assign,
            0x11 => Directive,
            0x12 => JobOver,
            0x13 => Lost,
            0x14 => FragmentRequest,
            0x20 => Envelope,
            0x30 => Submit,
            0x31 => Accepted,
            0x32 => Await,
            0x33 => Outcome,
            0x40 => Assignment,
            0x41 => FragmentDeposit,
            0x42 => FragmentReply,
            _ => return None,
        })
    }

    /// True for frames that travel alone on a unidirectional stream.
    pub fn is_bulk(self) -> bool {
        matches!(
            self,
            FrameType::Submit
                | FrameType::Assignment
                | FrameType::FragmentDeposit
                | FrameType::FragmentReply
        )
    }

    /// The largest payload allowed for this type; `max_bulk` for bulk frames.
    pub fn limit(self, max_bulk: usize) -> usize {
        use FrameType::*;
        match self {
            Hello => 1 + 32 + 64 + 2 + 64 * 36,
            Welcome => 64,
            Goodbye => 1024,
            Assign | Directive => 32 + 4 + 2048,
            JobOver | Lost | Accepted | Await => 32,
            FragmentRequest => 36,
            Envelope => 8 * 1024,
            // Certificates ride along (a corrupt-fragment one carries the fragment).
            Outcome => max_bulk.max(64 << 20),
            Submit | Assignment | FragmentDeposit | FragmentReply => max_bulk,
        }
    }
}

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Its type.
    pub kind: FrameType,
    /// Its payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// A frame.
    pub fn new(kind: FrameType, payload: Vec<u8>) -> Self {
        Frame { kind, payload }
    }

    /// Header and payload, ready to write.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + self.payload.len());
        out.push(FRAME_VERSION);
        out.push(self.kind as u8);
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Bytes on the wire.
    pub fn wire_len(&self) -> usize {
        HEADER_BYTES + self.payload.len()
    }
}

/// Checks a frame header: version, a known type among `allowed`, length within the
/// type's limit. Returns the type and payload length.
pub fn check_header(
    header: &[u8; HEADER_BYTES],
    allowed: &[FrameType],
    max_bulk: usize,
) -> Result<(FrameType, usize), TransportError> {
    if header[0] != FRAME_VERSION {
        return Err(TransportError::Frame(format!(
            "unsupported frame version {} (this build speaks version {FRAME_VERSION})",
            header[0]
        )));
    }
    let kind = FrameType::from_u8(header[1])
        .ok_or_else(|| TransportError::Frame(format!("unknown frame type 0x{:02x}", header[1])))?;
    if !allowed.contains(&kind) {
        return Err(TransportError::Frame(format!(
            "a {kind:?} frame is not allowed here"
        )));
    }
    let len = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
    let limit = kind.limit(max_bulk);
    if len > limit {
        return Err(TransportError::Frame(format!(
            "a {kind:?} frame of {len} bytes exceeds its limit of {limit} bytes"
        )));
    }
    Ok((kind, len))
}

/// Largest read into the payload at once (and the reader's chunk buffer).
const READ_CHUNK: usize = 64 * 1024;
/// Time a frame may take from its first byte to its last, beyond what its length needs
/// at [`FRAME_MIN_RATE`]: a peer that trickles a frame (a byte every 100 ms keeps QUIC's
/// idle timer and the silence watchdog happy) is cut off instead of holding the reader
/// and the buffer indefinitely.
pub const FRAME_BASE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);
/// The slowest delivery a frame's deadline allows for, in bytes per second (256 KiB/s: a
/// 1 GiB bulk frame gets about 68 minutes, a control frame about 10 seconds).
pub const FRAME_MIN_RATE: u64 = 256 * 1024;

/// The time a frame of `len` payload bytes may take once its first byte has arrived.
pub fn frame_deadline(len: usize) -> std::time::Duration {
    FRAME_BASE_DEADLINE + transfer_time(len)
}

/// `len` bytes at [`FRAME_MIN_RATE`].
fn transfer_time(len: usize) -> std::time::Duration {
    std::time::Duration::from_millis((len as u64).saturating_mul(1000) / FRAME_MIN_RATE)
}

/// A cancel-safe frame reader: it keeps a partly read frame (header bytes, payload so
/// far) between calls, so that [`FrameReader::next`] can be one branch of a
/// `tokio::select!` whose other branch wins in the middle of a frame (a new stream
/// opened by the peer, a timer): the next call resumes where the last one stopped. The
/// only await inside is tokio's `AsyncRead::read`, which is cancel-safe (no byte is
/// consumed by a read that did not complete), and every state change happens after it
/// returns. After an error the reader is not reusable: the connection is closed anyway.
///
/// A frame must be complete within [`frame_deadline`] of its first byte (the wait for a
/// first byte has no deadline: an idle control stream is normal, and a dead peer is the
/// connection's silence watchdog's business).
#[derive(Debug)]
pub struct FrameReader<R> {
    recv: R,
    allowed: Vec<FrameType>,
    max_bulk: usize,
    base_deadline: std::time::Duration,
    started: Option<tokio::time::Instant>,
    header: [u8; HEADER_BYTES],
    got: usize,
    current: Option<(FrameType, usize)>,
    payload: Vec<u8>,
    chunk: Vec<u8>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader of the frame types in `allowed` (bulk ones up to `max_bulk` bytes).
    pub fn new(recv: R, allowed: &[FrameType], max_bulk: usize) -> Self {
        FrameReader {
            recv,
            allowed: allowed.to_vec(),
            max_bulk,
            base_deadline: FRAME_BASE_DEADLINE,
            started: None,
            header: [0; HEADER_BYTES],
            got: 0,
            current: None,
            payload: Vec::new(),
            chunk: Vec::new(),
        }
    }

    /// The same reader with another base deadline (tests).
    pub fn with_base_deadline(mut self, base: std::time::Duration) -> Self {
        self.base_deadline = base;
        self
    }

    /// Reads into `buf`, within the current frame's deadline if it has begun.
    async fn read_some(&mut self, at_chunk: bool, want: usize) -> Result<usize, TransportError> {
        let len = self.current.map_or(0, |(_, len)| len);
        let allowed = self.base_deadline + transfer_time(len);
        let buf = if at_chunk {
            &mut self.chunk[..want]
        } else {
            &mut self.header[self.got..]
        };
        let read = self.recv.read(buf);
        let n = match self.started {
            None => read.await,
            Some(start) => match tokio::time::timeout_at(start + allowed, read).await {
                Ok(r) => r,
                Err(_) => {
                    let what = self
                        .current
                        .map_or("frame header".to_string(), |(kind, len)| {
                            format!("{kind:?} frame of {len} bytes")
                        });
                    return Err(TransportError::Frame(format!(
                        "a {what} was not complete {allowed:?} after its first byte ({} payload bytes arrived): too slow",
                        self.payload.len()
                    )));
                }
            },
        };
        let n = n.map_err(|e| TransportError::Connection(format!("reading a frame: {e}")))?;
        if n > 0 && self.started.is_none() {
            self.started = Some(tokio::time::Instant::now());
        }
        Ok(n)
    }

    /// The next frame: `Ok(None)` when the stream ended cleanly before a new frame
    /// began; a stream that ends inside a frame is a truncation error. Cancel-safe.
    pub async fn next(&mut self) -> Result<Option<Frame>, TransportError> {
        loop {
            let Some((kind, len)) = self.current else {
                if self.got == HEADER_BYTES {
                    let (kind, len) = check_header(&self.header, &self.allowed, self.max_bulk)?;
                    self.current = Some((kind, len));
                    // Grow as bytes arrive: a large announced length alone allocates nothing.
                    self.payload = Vec::with_capacity(len.min(READ_CHUNK));
                    continue;
                }
                let n = self.read_some(false, 0).await?;
                if n == 0 {
                    if self.got == 0 {
                        return Ok(None);
                    }
                    return Err(TransportError::Frame(format!(
                        "stream ended after {} of {HEADER_BYTES} header bytes (truncated frame)",
                        self.got
                    )));
                }
                self.got += n;
                continue;
            };
            if self.payload.len() == len {
                self.current = None;
                self.got = 0;
                self.started = None;
                let payload = std::mem::take(&mut self.payload);
                return Ok(Some(Frame { kind, payload }));
            }
            let want = (len - self.payload.len()).min(READ_CHUNK);
            if self.chunk.len() < want {
                self.chunk.resize(want, 0);
            }
            let n = self.read_some(true, want).await?;
            if n == 0 {
                return Err(TransportError::Frame(format!(
                    "stream ended after {} of {len} payload bytes of a {kind:?} frame (truncated)",
                    self.payload.len()
                )));
            }
            self.payload.extend_from_slice(&self.chunk[..n]);
        }
    }
}

/// Reads one frame from `recv` ([`FrameReader::next`] of a reader made for it, so the
/// same checks and errors): for a stream that carries one frame, or an await that no
/// other future races. A loop that races the read against other events keeps a
/// [`FrameReader`] instead.
pub async fn read_frame<R: AsyncRead + Unpin>(
    recv: R,
    allowed: &[FrameType],
    max_bulk: usize,
) -> Result<Option<Frame>, TransportError> {
    FrameReader::new(recv, allowed, max_bulk).next().await
}

/// Writes one frame; returns the bytes written.
pub async fn write_frame(
    send: &mut quinn::SendStream,
    frame: &Frame,
) -> Result<usize, TransportError> {
    if frame.payload.len() > u32::MAX as usize {
        return Err(TransportError::Frame(format!(
            "a {:?} frame of {} bytes cannot be framed (at most 4 GiB)",
            frame.kind,
            frame.payload.len()
        )));
    }
    let bytes = frame.to_bytes();
    send.write_all(&bytes).await.map_err(|e| {
        TransportError::Connection(format!("writing a {:?} frame: {e}", frame.kind))
    })?;
    Ok(bytes.len())
}

/// Opens a unidirectional stream, writes one bulk frame and finishes the stream.
pub async fn send_bulk(conn: &quinn::Connection, frame: &Frame) -> Result<usize, TransportError> {
    let mut send = conn
        .open_uni()
        .await
        .map_err(|e| TransportError::Connection(format!("opening a stream: {e}")))?;
    let n = write_frame(&mut send, frame).await?;
    send.finish()
        .map_err(|e| TransportError::Connection(format!("finishing a stream: {e}")))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn frames() -> Vec<Frame> {
        vec![
            Frame::new(FrameType::JobOver, vec![7; 32]),
            Frame::new(FrameType::Goodbye, Vec::new()),
            Frame::new(FrameType::Envelope, (0..300u32).map(|i| i as u8).collect()),
        ]
    }

    /// Every cut of a stream of frames: the bytes before the cut arrive, another event
    /// wins the select while a frame is half read (as a new stream does in the
    /// aggregator's and the worker's connection loops), then the rest arrives. Every
    /// frame comes out whole and in order.
    #[tokio::test]
    async fn a_frame_cut_anywhere_survives_a_lost_select() {
        let frames = frames();
        let bytes: Vec<u8> = frames.iter().flat_map(Frame::to_bytes).collect();
        let allowed = [FrameType::JobOver, FrameType::Goodbye, FrameType::Envelope];
        for cut in 1..bytes.len() {
            let (mut w, r) = tokio::io::duplex(1 << 16);
            let mut reader = FrameReader::new(r, &allowed, 0);
            w.write_all(&bytes[..cut]).await.expect("write");
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
            tx.send(()).expect("send");
            let mut got = Vec::new();
            loop {
                tokio::select! {
                    biased;
                    f = reader.next() => got.push(f.expect("no error").expect("a frame")),
                    _ = rx.recv() => break,
                }
            }
            w.write_all(&bytes[cut..]).await.expect("write");
            drop(w);
            while let Some(f) = reader.next().await.expect("no error") {
                got.push(f);
            }
            assert_eq!(got, frames, "cut at byte {cut}");
        }
    }

    /// A frame must be complete within its deadline from its first byte; waiting for a
    /// first byte has none.
    #[tokio::test]
    async fn a_trickled_frame_is_cut_off_and_an_idle_stream_is_not() {
        use std::time::Duration;
        let bytes = frames()[2].to_bytes();
        let allowed = [FrameType::Envelope];
        let base = Duration::from_millis(200);
        // Idle for longer than the deadline, then a whole frame: fine.
        let (mut w, r) = tokio::io::duplex(1 << 16);
        let mut reader = FrameReader::new(r, &allowed, 0).with_base_deadline(base);
        let writer = async {
            tokio::time::sleep(3 * base).await;
            w.write_all(&bytes).await.expect("write");
            w
        };
        let (got, _w) = tokio::join!(reader.next(), writer);
        assert_eq!(got.expect("no error"), Some(frames()[2].clone()));
        // Three header bytes, then nothing: cut off after the deadline.
        let (mut w, r) = tokio::io::duplex(1 << 16);
        let mut reader = FrameReader::new(r, &allowed, 0).with_base_deadline(base);
        w.write_all(&bytes[..3]).await.expect("write");
        let got = reader.next().await;
        assert!(
            matches!(&got, Err(TransportError::Frame(why)) if why.contains("too slow")),
            "{got:?}"
        );
        // A payload trickled byte by byte past the deadline: cut off too.
        let (mut w, r) = tokio::io::duplex(1 << 16);
        let mut reader = FrameReader::new(r, &allowed, 0).with_base_deadline(base);
        let trickle = async {
            for b in &bytes {
                if w.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let got = tokio::select! {
            got = reader.next() => got,
            () = trickle => panic!("the whole frame trickled in before the deadline"),
        };
        assert!(
            matches!(&got, Err(TransportError::Frame(why)) if why.contains("Envelope frame of 300 bytes")),
            "{got:?}"
        );
    }

    /// The one-shot reader keeps its checks: a truncated header or payload is an error,
    /// a clean end before a frame is `None`.
    #[tokio::test]
    async fn truncation_is_an_error_and_a_clean_end_is_none() {
        let bytes = frames()[2].to_bytes();
        for len in [0, 3, HEADER_BYTES, HEADER_BYTES + 10] {
            let got = read_frame(&bytes[..len], &[FrameType::Envelope], 0).await;
            match len {
                0 => assert!(matches!(got, Ok(None))),
                _ => assert!(
                    matches!(got, Err(TransportError::Frame(_))),
                    "{len}: {got:?}"
                ),
            }
        }
        let got = read_frame(&bytes[..], &[FrameType::JobOver], 0).await;
        assert!(matches!(got, Err(TransportError::Frame(_))));
    }
}
