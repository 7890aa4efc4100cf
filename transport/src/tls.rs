//! TLS and peer authentication for tutti's QUIC connections.
//!
//! # Trust model
//!
//! * **The aggregator** has a long-lived self-signed certificate ([`AggregatorCredentials`]).
//!   There is no certificate authority: workers and clients are configured with the SHA-256
//!   [`Fingerprint`] of the certificate's DER encoding and *pin* it. A client endpoint made
//!   by [`client_endpoint`] accepts exactly that certificate (and still checks the server's
//!   handshake signature, so only the holder of the matching private key can complete the
//!   handshake). Certificate names and validity dates are not consulted: the pin is the
//!   whole trust decision. Rotating the certificate means distributing the new fingerprint.
//! * **Workers and clients** do not present TLS client certificates. Each has an ed25519
//!   identity ([`WorkerIdentity`], stored on disk by [`save_identity`] / [`load_identity`]).
//!   After the QUIC handshake, the peer signs [`auth_message`]: a domain-separation tag,
//!   its [`PeerRole`] and a 32-byte [`session_binding`] derived from the TLS session by
//!   exported keying material (RFC 5705 / RFC 8446 §7.5). Both ends of one connection
//!   compute the same binding, and no other connection can produce it, so a signature
//!   captured on one connection cannot be replayed on another, nor by a man in the middle
//!   that terminates TLS itself.
//! * **The aggregator** checks the signature with [`check_identity`] and then looks the
//!   [`WorkerId`] up in its allow-list (ids written with [`parse_worker_id`]). The
//!   allow-list check itself lives with the aggregator runtime, not here.
//!
//! Only the *ring* crypto provider is compiled in, and every rustls configuration here is
//! built with it explicitly (never the process-wide default provider). Only TLS 1.3 is
//! offered, as QUIC requires.

use std::fmt;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};
use tutti_crypto::identity::{WorkerId, WorkerIdentity, verify_signature};

use crate::TransportError;

/// The ALPN protocol identifier of the tutti wire protocol, offered by both ends.
pub const ALPN: &[u8] = b"tutti/2";

/// The server name clients ask for and the aggregator certificate carries (as its only
/// subject alternative name). Not used for trust: the certificate is pinned by fingerprint.
pub const SERVER_NAME: &str = "tutti-aggregator";

/// Label of the TLS keying-material exporter used by [`session_binding`].
const EXPORTER_LABEL: &[u8] = b"EXPORTER-tutti-peer-auth/v1";

/// Domain-separation tag at the start of every [`auth_message`].
const AUTH_DOMAIN: &[u8] = b"tutti/peer-auth/v1";

/// How to make an identity file, quoted in error messages.
const KEYGEN_HINT: &str = "create one with `tutti keygen`";

/// The crypto provider of every rustls configuration in this crate.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

// ---------------------------------------------------------------------------------------
// Hex helpers (no dependency on a hex crate).
// ---------------------------------------------------------------------------------------

/// Lowercase hex of `bytes`.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Value of one hex digit, either case.
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Why a string is not exactly 32 bytes of hex.
enum HexError {
    /// Not 64 digits long (the number of characters found).
    Length(usize),
    /// A character that is not a hex digit, at this (0-based, character) position.
    NotHex(usize),
}

/// Decodes exactly 64 hex digits (either case) into 32 bytes.
fn decode_hex32(s: &str) -> Result<[u8; 32], HexError> {
    if let Some(pos) = s.chars().position(|c| !c.is_ascii_hexdigit()) {
        return Err(HexError::NotHex(pos));
    }
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return Err(HexError::Length(bytes.len()));
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        match (hex_digit(pair[0]), hex_digit(pair[1])) {
            (Some(hi), Some(lo)) => *o = (hi << 4) | lo,
            // Unreachable after the check above, but never panic on input.
            _ => return Err(HexError::NotHex(0)),
        }
    }
    Ok(out)
}

/// At most `max` characters of `s`, for quoting user input in error messages.
fn quote(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head}…")
    }
}

/// Compares two byte strings without an early exit on the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------------------------------
// Fingerprint.
// ---------------------------------------------------------------------------------------

/// The SHA-256 digest of a certificate's DER encoding: what workers and clients pin.
///
/// Written as 64 lowercase hex digits with no separators; parsing also accepts upper case
/// and the `ab:cd:…` form that `openssl x509 -fingerprint -sha256` prints.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(cert_der: &[u8]) -> Self {
        let digest = Sha256::digest(cert_der);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_slice());
        Fingerprint(out)
    }
}

impl fmt::Display for Fingerprint {
    /// 64 lowercase hex digits, no separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    /// Same as [`Display`](fmt::Display).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Fingerprint {
    type Err = TransportError;

    /// Parses 64 hex digits (either case), or 32 two-digit hex groups separated by `:`.
    /// Surrounding whitespace is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let bad = |why: String| {
            TransportError::Tls(format!(
                "invalid certificate fingerprint `{}`: {why}; expected the SHA-256 of the \
                 aggregator certificate as 64 hex digits, optionally in `:`-separated pairs \
                 (the aggregator prints it at startup)",
                quote(trimmed, 100)
            ))
        };
        let digits: String = if trimmed.contains(':') {
            let groups: Vec<&str> = trimmed.split(':').collect();
            if groups.len() != 32 || groups.iter().any(|g| g.len() != 2) {
                return Err(bad(format!(
                    "with `:` separators it must be 32 groups of 2 hex digits, found {} groups",
                    groups.len()
                )));
            }
            groups.concat()
        } else {
            trimmed.to_string()
        };
        match decode_hex32(&digits) {
            Ok(bytes) => Ok(Fingerprint(bytes)),
            Err(HexError::Length(n)) => Err(bad(format!("found {n} hex digits"))),
            Err(HexError::NotHex(_)) => {
                Err(bad("contains a character that is not a hex digit".into()))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Aggregator credentials.
// ---------------------------------------------------------------------------------------

/// The aggregator's certificate (self-signed, DER) and its private key (PKCS#8 DER).
///
/// `Debug` is deliberately not implemented so the key cannot end up in a log.
#[derive(Clone)]
pub struct AggregatorCredentials {
    /// The self-signed certificate, DER-encoded.
    pub cert_der: Vec<u8>,
    /// The certificate's private key, PKCS#8 DER. Secret.
    pub key_der: Vec<u8>,
}

impl AggregatorCredentials {
    /// Makes a fresh key pair (ECDSA P-256) and a self-signed certificate for it whose only
    /// subject alternative name is [`SERVER_NAME`].
    pub fn generate() -> Result<Self, TransportError> {
        let certified =
            rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_string()]).map_err(|e| {
                TransportError::Tls(format!("cannot generate the aggregator certificate: {e}"))
            })?;
        Ok(AggregatorCredentials {
            cert_der: certified.cert.der().to_vec(),
            key_der: certified.signing_key.serialize_der(),
        })
    }

    /// The SHA-256 fingerprint of the certificate, which workers and clients pin.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.cert_der)
    }

    /// Writes the certificate (PEM `CERTIFICATE`) to `cert_path` and the key (PEM
    /// `PRIVATE KEY`, PKCS#8) to `key_path`. The key file is created with mode 0600 on
    /// Unix. Each file is written to a temporary name and renamed into place, so an
    /// interrupted save never leaves a half-written file behind.
    pub fn save(&self, cert_path: &Path, key_path: &Path) -> Result<(), TransportError> {
        write_file_atomically(
            cert_path,
            pem_encode("CERTIFICATE", &self.cert_der).as_bytes(),
            false,
        )?;
        write_file_atomically(
            key_path,
            pem_encode("PRIVATE KEY", &self.key_der).as_bytes(),
            true,
        )
    }

    /// Reads credentials written by [`save`](Self::save) (or any PEM certificate and
    /// PKCS#8 PEM key). Checks that the key is usable and belongs to the certificate.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, TransportError> {
        let cert_der = read_pem_section(cert_path, SectionKind::Certificate)?;
        let key_der = read_pem_section(key_path, SectionKind::PrivateKey)?;
        let creds = AggregatorCredentials { cert_der, key_der };
        let provider = provider();
        match rustls::sign::CertifiedKey::from_der(
            vec![CertificateDer::from(creds.cert_der.clone())],
            creds.private_key(),
            &provider,
        ) {
            Ok(_) => Ok(creds),
            Err(rustls::Error::InconsistentKeys(_)) => Err(TransportError::KeyFile {
                path: key_path.display().to_string(),
                reason: format!(
                    "this private key does not belong to the certificate {}; keep the two \
                     files of one pair together, or generate a new pair and distribute its \
                     fingerprint",
                    cert_path.display()
                ),
            }),
            Err(rustls::Error::InvalidCertificate(e)) => Err(TransportError::KeyFile {
                path: cert_path.display().to_string(),
                reason: format!("not a valid X.509 certificate: {e}"),
            }),
            Err(e) => Err(TransportError::KeyFile {
                path: key_path.display().to_string(),
                reason: format!(
                    "not a usable private key ({e}); expected an ECDSA P-256, Ed25519 or RSA \
                     key in PKCS#8 form"
                ),
            }),
        }
    }

    /// The key in the form rustls takes.
    fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// PEM armour around `der` with the given label, lines of 64 characters.
fn pem_encode(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = Vec::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |i: u32| ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize];
        b64.push(sextet(0));
        b64.push(sextet(1));
        b64.push(if chunk.len() > 1 { sextet(2) } else { b'=' });
        b64.push(if chunk.len() > 2 { sextet(3) } else { b'=' });
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.chunks(64) {
        // The alphabet is ASCII, so this never loses anything.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The PEM label of a section kind, for error messages.
fn section_label(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Certificate => "CERTIFICATE",
        SectionKind::PublicKey => "PUBLIC KEY",
        SectionKind::RsaPrivateKey => "RSA PRIVATE KEY",
        SectionKind::PrivateKey => "PRIVATE KEY",
        SectionKind::EcPrivateKey => "EC PRIVATE KEY",
        SectionKind::Crl => "X509 CRL",
        SectionKind::Csr => "CERTIFICATE REQUEST",
        _ => "unrecognised",
    }
}

/// Reads `path` and returns the DER of its first PEM section of kind `want`, with a typed
/// [`TransportError::KeyFile`] error saying what is wrong otherwise.
fn read_pem_section(path: &Path, want: SectionKind) -> Result<Vec<u8>, TransportError> {
    let key_file = |reason: String| TransportError::KeyFile {
        path: path.display().to_string(),
        reason,
    };
    let what = if want == SectionKind::Certificate {
        "the aggregator certificate"
    } else {
        "the aggregator private key"
    };
    let bytes = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            key_file(format!(
                "file not found; expected {what} here (PEM). Generate aggregator credentials \
                 first, or fix the path in the aggregator config"
            ))
        } else {
            key_file(format!("cannot read {what}: {e}"))
        }
    })?;
    let mut found = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes) {
        match section {
            Ok((kind, der)) if kind == want => return Ok(der),
            Ok((kind, _)) => found.push(section_label(kind)),
            Err(e) => {
                return Err(key_file(format!(
                    "not a valid PEM file ({e}); expected {what} as a \
                     `-----BEGIN {}-----` block",
                    section_label(want)
                )));
            }
        }
    }
    let expected = section_label(want);
    if found.is_empty() {
        return Err(key_file(format!(
            "not a PEM file (no `-----BEGIN …-----` block found); expected {what} as a \
             `-----BEGIN {expected}-----` block"
        )));
    }
    let mut reason = format!(
        "wrong kind of PEM file: it holds {} but {what} (`{expected}`) was expected",
        found.join(", ")
    );
    if want == SectionKind::PrivateKey
        && found
            .iter()
            .any(|l| *l == "EC PRIVATE KEY" || *l == "RSA PRIVATE KEY")
    {
        reason.push_str(
            "; convert the key to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW`",
        );
    }
    if want == SectionKind::PrivateKey && found.contains(&"CERTIFICATE") {
        reason.push_str("; are the certificate and key paths swapped?");
    }
    Err(key_file(reason))
}

/// Writes `contents` to `path` through a temporary file in the same directory and a
/// rename. With `private`, the file is created with mode 0600 on Unix.
fn write_file_atomically(
    path: &Path,
    contents: &[u8],
    private: bool,
) -> Result<(), TransportError> {
    let key_file = |what: &str, e: std::io::Error| TransportError::KeyFile {
        path: path.display().to_string(),
        reason: format!("cannot {what}: {e}"),
    };
    let Some(name) = path.file_name() else {
        return Err(TransportError::KeyFile {
            path: path.display().to_string(),
            reason: "not a file path".into(),
        });
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    // A stale temporary file from an earlier crash would make `create_new` fail.
    let _ = std::fs::remove_file(&tmp);

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;

    let result = (|| {
        let mut file = options
            .open(&tmp)
            .map_err(|e| key_file("create the file", e))?;
        file.write_all(contents)
            .and_then(|()| file.sync_all())
            .map_err(|e| key_file("write the file", e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| key_file("move the file into place", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

// ---------------------------------------------------------------------------------------
// QUIC endpoints.
// ---------------------------------------------------------------------------------------

/// QUIC transport settings shared by the aggregator and its peers.
#[derive(Clone, Debug)]
pub struct QuicTuning {
    /// A connection with no traffic for this long is closed (the smaller of both ends'
    /// values applies).
    pub idle_timeout: Duration,
    /// Interval of keep-alive packets; keep it well below `idle_timeout`.
    pub keep_alive: Duration,
    /// How many unidirectional streams the peer may have open at once.
    pub max_uni_streams: u32,
}

impl Default for QuicTuning {
    /// Idle timeout 5 s, keep-alive 1 s, 16 concurrent unidirectional streams.
    fn default() -> Self {
        QuicTuning {
            idle_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(1),
            max_uni_streams: 16,
        }
    }
}

/// Concurrent bidirectional streams a peer may open.
const MAX_BIDI_STREAMS: u32 = 4;
/// Bytes a peer may have in flight towards the aggregator, over all its streams, before
/// it has said a hello that verified (QUIC's connection-level flow control). A hello is
/// 2.4 KB; this keeps what an unauthenticated peer can make the aggregator hold to a few
/// tens of KiB instead of a stream window per stream it may open.
pub const PRE_AUTH_RECEIVE_WINDOW: u32 = 64 * 1024;

/// Lifts the limits an aggregator's connection starts with ([`server_endpoint`]: the
/// control stream only, [`PRE_AUTH_RECEIVE_WINDOW`] bytes in flight) once its peer has
/// authenticated: `tuning.max_uni_streams` unidirectional and 4 bidirectional streams,
/// and quinn's default connection window (per-stream windows bound each stream).
pub fn open_after_authentication(conn: &quinn::Connection, tuning: &QuicTuning) {
    conn.set_max_concurrent_uni_streams(quinn::VarInt::from_u32(tuning.max_uni_streams));
    conn.set_max_concurrent_bi_streams(quinn::VarInt::from_u32(MAX_BIDI_STREAMS));
    conn.set_receive_window(quinn::VarInt::MAX);
}

/// The quinn transport configuration for `tuning`.
fn transport_config(tuning: &QuicTuning) -> Result<quinn::TransportConfig, TransportError> {
    let idle = quinn::IdleTimeout::try_from(tuning.idle_timeout).map_err(|_| {
        TransportError::Tls(format!(
            "QUIC idle timeout {:?} is too large",
            tuning.idle_timeout
        ))
    })?;
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_idle_timeout(Some(idle))
        .keep_alive_interval(Some(tuning.keep_alive))
        .max_concurrent_uni_streams(quinn::VarInt::from_u32(tuning.max_uni_streams))
        .max_concurrent_bidi_streams(quinn::VarInt::from_u32(MAX_BIDI_STREAMS));
    Ok(transport)
}

/// Adds the address to a socket error while keeping its kind.
fn bind_error(addr: SocketAddr, e: std::io::Error) -> TransportError {
    TransportError::Io(std::io::Error::new(
        e.kind(),
        format!("cannot open a QUIC endpoint on {addr}: {e}"),
    ))
}

/// A server endpoint bound to `addr` with the aggregator's credentials, ALPN, TLS 1.3
/// only, the tuning applied (transport config: max_idle_timeout, keep_alive_interval),
/// and the limits of an unauthenticated peer (one bidirectional stream, no
/// unidirectional one, [`PRE_AUTH_RECEIVE_WINDOW`] bytes in flight), lifted per
/// connection by [`open_after_authentication`]. Clients present no certificate; they
/// authenticate afterwards with [`prove_identity`].
///
/// Must be called inside a tokio runtime.
pub fn server_endpoint(
    addr: SocketAddr,
    creds: &AggregatorCredentials,
    tuning: &QuicTuning,
) -> Result<quinn::Endpoint, TransportError> {
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TransportError::Tls(format!("cannot configure TLS 1.3: {e}")))?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(creds.cert_der.clone())],
            creds.private_key(),
        )
        .map_err(|e| {
            TransportError::Tls(format!(
                "the aggregator certificate or key cannot be used: {e}"
            ))
        })?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let quic = QuicServerConfig::try_from(Arc::new(tls))
        .map_err(|e| TransportError::Tls(format!("TLS configuration unusable for QUIC: {e}")))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(quic));
    // Before authentication a peer gets its control stream and nothing else, and little
    // flow-control credit; `open_after_authentication` lifts both.
    let mut transport = transport_config(tuning)?;
    transport
        .max_concurrent_uni_streams(quinn::VarInt::from_u32(0))
        .max_concurrent_bidi_streams(quinn::VarInt::from_u32(1))
        .receive_window(quinn::VarInt::from_u32(PRE_AUTH_RECEIVE_WINDOW));
    config.transport_config(Arc::new(transport));
    // The stateless-reset key is derived from the aggregator's private key, not drawn at
    // random: an aggregator restarted after a crash can then reset the connections of
    // its previous run at once, and workers reconnect without waiting for an idle
    // timeout.
    let reset = blake3::derive_key("tutti/quic-stateless-reset/v1", &creds.key_der);
    let mut endpoint_config = quinn::EndpointConfig::new(Arc::new(ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        &reset,
    )));
    // quinn sends a stateless reset only for a packet whose connection ID its generator
    // validates as one it could have issued; the default generator's key is random per
    // process, so a restarted aggregator took the old connections' IDs for strangers and
    // stayed silent. Keying the generator like the reset key makes the spec's promise
    // true: the new process recognises its predecessor's IDs and resets them.
    let cid_key = blake3::derive_key("tutti/quic-connection-id/v1", &creds.key_der);
    let cid_key = u64::from_le_bytes([
        cid_key[0], cid_key[1], cid_key[2], cid_key[3], cid_key[4], cid_key[5], cid_key[6],
        cid_key[7],
    ]);
    endpoint_config.cid_generator(move || {
        Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key))
    });
    let socket = std::net::UdpSocket::bind(addr).map_err(|e| bind_error(addr, e))?;
    quinn::Endpoint::new(
        endpoint_config,
        Some(config),
        socket,
        Arc::new(quinn::TokioRuntime),
    )
    .map_err(|e| bind_error(addr, e))
}

/// A client endpoint (bound to `0.0.0.0:0` or `[::]:0`, matching the address family of
/// `server`) whose default client config accepts only a server certificate whose SHA-256
/// fingerprint is `pinned`. The server's handshake signature is still verified, so the
/// peer must hold the pinned certificate's private key. Connect with
/// `endpoint.connect(server, SERVER_NAME)`.
///
/// Must be called inside a tokio runtime.
pub fn client_endpoint(
    server: SocketAddr,
    pinned: Fingerprint,
    tuning: &QuicTuning,
) -> Result<quinn::Endpoint, TransportError> {
    let provider = provider();
    let verifier = PinnedServerVerifier {
        pinned,
        algorithms: provider.signature_verification_algorithms,
    };
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TransportError::Tls(format!("cannot configure TLS 1.3: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let quic = QuicClientConfig::try_from(Arc::new(tls))
        .map_err(|e| TransportError::Tls(format!("TLS configuration unusable for QUIC: {e}")))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(Arc::new(transport_config(tuning)?));

    let local = if server.is_ipv4() {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    };
    let mut endpoint = quinn::Endpoint::client(local).map_err(|e| bind_error(local, e))?;
    endpoint.set_default_client_config(config);
    Ok(endpoint)
}

/// A server certificate verifier that accepts exactly one certificate, by fingerprint.
#[derive(Debug)]
struct PinnedServerVerifier {
    /// The fingerprint the end-entity certificate must have.
    pinned: Fingerprint,
    /// The provider's signature algorithms, to check the handshake signature.
    algorithms: WebPkiSupportedAlgorithms,
}

/// The server presented a certificate other than the pinned one.
#[derive(Debug)]
struct FingerprintMismatch {
    expected: Fingerprint,
    got: Fingerprint,
}

impl fmt::Display for FingerprintMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "aggregator certificate fingerprint mismatch: expected {}, got {} — check \
             `aggregator_fingerprint` in the worker (or client) config, or whether you are \
             connecting to the right aggregator",
            self.expected, self.got
        )
    }
}

impl std::error::Error for FingerprintMismatch {}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = Fingerprint::of_der(end_entity.as_ref());
        if constant_time_eq(&got.0, &self.pinned.0) {
            Ok(ServerCertVerified::assertion())
        } else {
            // `Error::Other` is displayed with the inner error's `Display`, so the operator
            // reads the message below verbatim ("other error: aggregator certificate …");
            // `InvalidCertificate(CertificateError::Other(..))` would show its `Debug`.
            Err(rustls::Error::Other(OtherError(Arc::new(
                FingerprintMismatch {
                    expected: self.pinned,
                    got,
                },
            ))))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

// ---------------------------------------------------------------------------------------
// Peer authentication.
// ---------------------------------------------------------------------------------------

/// 32 bytes bound to this TLS session: `export_keying_material(out 32, label
/// b"EXPORTER-tutti-peer-auth/v1", context b"")`. Both ends of the connection get the same
/// value; any other connection gets a different one.
pub fn session_binding(conn: &quinn::Connection) -> Result<[u8; 32], TransportError> {
    let mut out = [0u8; 32];
    conn.export_keying_material(&mut out, EXPORTER_LABEL, b"")
        .map_err(|_| {
            TransportError::Tls(
                "cannot export keying material from the TLS session (handshake not complete?)"
                    .into(),
            )
        })?;
    Ok(out)
}

/// Roles that authenticate to the aggregator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PeerRole {
    /// A worker that computes proof shares.
    Worker = 1,
    /// A client that submits jobs.
    Client = 2,
}

impl PeerRole {
    /// The byte that stands for this role on the wire and in [`auth_message`].
    pub fn to_u8(self) -> u8 {
        self as u8
    }

    /// The role a byte stands for, or `None` for an unknown one.
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(PeerRole::Worker),
            2 => Some(PeerRole::Client),
            _ => None,
        }
    }
}

/// Domain-separated bytes a peer signs: `b"tutti/peer-auth/v1" ‖ role u8 ‖ binding`.
pub fn auth_message(role: PeerRole, binding: &[u8; 32]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(AUTH_DOMAIN.len() + 1 + binding.len());
    msg.extend_from_slice(AUTH_DOMAIN);
    msg.push(role.to_u8());
    msg.extend_from_slice(binding);
    msg
}

/// The peer's proof that it holds `identity` on the connection whose
/// [`session_binding`] is `binding`, in the given role.
pub fn prove_identity(identity: &WorkerIdentity, role: PeerRole, binding: &[u8; 32]) -> [u8; 64] {
    identity.sign(&auth_message(role, binding))
}

/// Whether `signature` proves that the holder of `id` is the peer, in `role`, on the
/// connection whose [`session_binding`] is `binding`. Does not consult any allow-list.
pub fn check_identity(
    id: &WorkerId,
    role: PeerRole,
    binding: &[u8; 32],
    signature: &[u8; 64],
) -> bool {
    verify_signature(id, &auth_message(role, binding), signature)
}

// ---------------------------------------------------------------------------------------
// Identity files and worker ids.
// ---------------------------------------------------------------------------------------

/// Writes an ed25519 identity file: one line, the 32-byte seed in lowercase hex, and a
/// newline. The file is created with mode 0600 on Unix, through a temporary file and a
/// rename.
pub fn save_identity(path: &Path, identity_seed: &[u8; 32]) -> Result<(), TransportError> {
    let mut line = to_hex(identity_seed);
    line.push('\n');
    write_file_atomically(path, line.as_bytes(), true)
}

/// Reads an identity file written by [`save_identity`]: the 32-byte seed as 64 hex digits
/// (either case), optionally followed by a newline. Errors are
/// [`TransportError::KeyFile`] and never quote the file's (secret) contents.
pub fn load_identity(path: &Path) -> Result<WorkerIdentity, TransportError> {
    let key_file = |reason: String| TransportError::KeyFile {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => key_file(format!("identity file not found; {KEYGEN_HINT}")),
        std::io::ErrorKind::InvalidData => key_file(format!(
            "not an identity file (not text); expected the 32-byte secret seed as 64 hex \
             digits on one line; {KEYGEN_HINT}"
        )),
        _ => key_file(format!("cannot read the identity file: {e}")),
    })?;
    let line = text
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&text);
    match decode_hex32(line) {
        Ok(seed) => Ok(WorkerIdentity::from_seed(&seed)),
        Err(HexError::Length(n)) => Err(key_file(format!(
            "expected the 32-byte secret seed as 64 hex digits on one line, found {n} \
             characters; {KEYGEN_HINT}"
        ))),
        Err(HexError::NotHex(pos)) => Err(key_file(format!(
            "expected the 32-byte secret seed as 64 hex digits on one line, found a \
             non-hex character at position {}; {KEYGEN_HINT}",
            pos + 1
        ))),
    }
}

/// Parses a worker id written as 64 hex chars (for allow-lists): the full public key, as
/// printed by [`WorkerId::to_hex`]. Surrounding whitespace is ignored.
pub fn parse_worker_id(s: &str) -> Result<WorkerId, TransportError> {
    let trimmed = s.trim();
    match decode_hex32(trimmed) {
        Ok(bytes) => Ok(WorkerId(bytes)),
        Err(e) => {
            let why = match e {
                HexError::Length(n) => format!("found {n} characters"),
                HexError::NotHex(pos) => format!("non-hex character at position {}", pos + 1),
            };
            Err(TransportError::Auth(format!(
                "invalid worker id `{}`: expected the worker's full public key as 64 hex \
                 digits ({why}); the worker prints it at startup and `tutti keygen` prints it \
                 when making the identity",
                quote(trimmed, 80)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_encoding_matches_decoder() {
        for len in 1..10u8 {
            let der: Vec<u8> = (0..len).map(|b| b.wrapping_mul(37)).collect();
            let pem = pem_encode("CERTIFICATE", &der);
            let decoded = CertificateDer::from_pem_slice(pem.as_bytes());
            assert_eq!(decoded.map(|d| d.to_vec()).ok(), Some(der));
        }
    }

    #[test]
    fn hex_helpers() {
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
        assert!(matches!(
            decode_hex32(&"a".repeat(63)),
            Err(HexError::Length(63))
        ));
        assert!(matches!(
            decode_hex32(&"é".repeat(64)),
            Err(HexError::NotHex(0))
        ));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
