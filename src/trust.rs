//! What a client or verifier pins before it believes a proof: the statement it asked for,
//! the verifying key (byte for byte, or by digest) and the SRS identity, and whether that
//! SRS's trapdoor is public.
//!
//! A proof that verifies says nothing unless the key it verifies against is the right
//! one: an aggregator that chooses the key can prove another circuit, or use a setup
//! whose trapdoor it knows and forge any statement.

use anyhow::{Result, bail};
use tutti_protocol::Fr;
use tutti_protocol::keys::VerifyingKey;

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses 64 hex digits (a Keccak digest or an SRS id); an optional `0x` prefix is
/// accepted. The clap value parser of `--vk-digest` and `--srs-id`.
pub fn parse_hex32(s: &str) -> Result<[u8; 32], String> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if s.len() != 64 || !s.is_ascii() {
        return Err(format!(
            "expected 64 hex digits, got {} characters",
            s.chars().count()
        ));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
            .map_err(|_| format!("not hex: {:?}", &s[2 * i..2 * i + 2]))?;
    }
    Ok(out)
}

/// Why the SRS of `vk` protects nothing, if it does not: it was generated from one of
/// the project's well-known public seeds (recognised from the key's G2 part, whatever
/// its flag says), or the key itself is flagged as made with a seeded, insecure SRS.
pub fn insecure_srs(vk: &VerifyingKey) -> Option<String> {
    if let Some(seed) = vk.public_srs_seed() {
        Some(format!(
            "its SRS was generated from the project's public seed {seed:?}, so anyone can forge its proofs"
        ))
    } else if vk.insecure_srs {
        Some(
            "it is flagged as made with a seeded (INSECURE) SRS, whose trapdoor whoever knows the seed can use to forge proofs"
                .to_string(),
        )
    } else {
        None
    }
}

/// What the client of `tutti submit` expects of the aggregator's answer.
#[derive(Clone, Debug, Default)]
pub struct Expected {
    /// The statement it submitted: the returned public inputs must be exactly these.
    pub public_inputs: Vec<Fr>,
    /// Verifying keys the returned one must equal byte for byte, each with where it
    /// came from (for the error message).
    pub vk_bytes: Vec<(String, Vec<u8>)>,
    /// The Keccak-256 digest ([`VerifyingKey::digest`]) the returned key must have.
    pub vk_digest: Option<[u8; 32]>,
    /// The SRS identity ([`VerifyingKey::srs_id`]) the returned key must carry.
    pub srs_id: Option<[u8; 32]>,
    /// Accept a key whose SRS is public or flagged insecure (tests and demos only).
    pub allow_insecure_srs: bool,
}

/// Why the key must be pinned, for the messages that refuse an unpinned one.
pub const WHY_PIN: &str = "without a pinned verifying key the aggregator could return a proof of another circuit, or a key made with a setup whose trapdoor it knows, and the proof would still verify";

impl Expected {
    /// Whether a verifying key is pinned (by bytes or digest).
    pub fn pins_vk(&self) -> bool {
        !self.vk_bytes.is_empty() || self.vk_digest.is_some()
    }

    /// Checks a verifying key the client pinned or computed itself, before submitting:
    /// it decodes, carries the pinned SRS id and digest, and its SRS is not public
    /// (unless allowed). Returns the decoded key.
    pub fn check_pinned_key(&self, source: &str, bytes: &[u8]) -> Result<VerifyingKey> {
        let vk = VerifyingKey::from_bytes(bytes)
            .map_err(|e| anyhow::anyhow!("the verifying key {source}: {e}"))?;
        self.check_key(&vk, source, false)?;
        Ok(vk)
    }

    /// Checks the statement the aggregator returned against the one submitted.
    pub fn check_statement(&self, returned: &[Fr]) -> Result<()> {
        if returned == self.public_inputs.as_slice() {
            return Ok(());
        }
        let first = returned
            .iter()
            .zip(&self.public_inputs)
            .position(|(a, b)| a != b)
            .unwrap_or(returned.len().min(self.public_inputs.len()));
        bail!(
            "the aggregator returned a proof of another statement: {} public inputs instead of the {} submitted, differing from index {first} on; refusing it",
            returned.len(),
            self.public_inputs.len()
        )
    }

    /// Checks the encoded verifying key the aggregator returned against every pin, then
    /// decodes it and checks its SRS.
    pub fn check_returned_key(&self, bytes: &[u8]) -> Result<VerifyingKey> {
        if !self.pins_vk() {
            bail!("no verifying key is pinned: {WHY_PIN}");
        }
        let digest = tutti_crypto::transcript::keccak256(bytes);
        for (source, want) in &self.vk_bytes {
            if bytes != want.as_slice() {
                bail!(
                    "the verifying key sent back (digest {}) is not the one {source} (digest {}): the aggregator may have proved another circuit or used a setup whose trapdoor it knows; refusing it",
                    to_hex(&digest),
                    to_hex(&tutti_crypto::transcript::keccak256(want))
                );
            }
        }
        let vk = VerifyingKey::from_bytes(bytes)
            .map_err(|e| anyhow::anyhow!("the verifying key sent back: {e}"))?;
        self.check_key(&vk, "sent back", true)?;
        Ok(vk)
    }

    /// The digest, SRS-id and insecure-SRS checks of one decoded key; `warn`: say on
    /// stderr when an insecure SRS is accepted.
    fn check_key(&self, vk: &VerifyingKey, source: &str, warn: bool) -> Result<()> {
        if let Some(want) = self.vk_digest {
            let got = vk.digest();
            if got != want {
                bail!(
                    "the verifying key {source} has digest {}, not the pinned --vk-digest {}: the aggregator may have proved another circuit or used a setup whose trapdoor it knows; refusing it",
                    to_hex(&got),
                    to_hex(&want)
                );
            }
        }
        if let Some(want) = self.srs_id {
            let got = vk.srs_id();
            if got != want {
                bail!(
                    "the verifying key {source} was made with the SRS {}, not the pinned --srs-id {}; refusing it",
                    to_hex(&got),
                    to_hex(&want)
                );
            }
        }
        if let Some(why) = insecure_srs(vk) {
            if !self.allow_insecure_srs {
                bail!(
                    "refusing the verifying key {source}: {why}; pass --allow-insecure-srs to accept it anyway (tests and demos only)"
                );
            }
            if warn {
                eprintln!("WARNING: accepting the verifying key {source} although {why}");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        let d: [u8; 32] = core::array::from_fn(|i| (i * 7) as u8);
        let h = to_hex(&d);
        assert_eq!(parse_hex32(&h), Ok(d));
        assert_eq!(parse_hex32(&format!("0x{h}")), Ok(d));
        assert!(parse_hex32(&h[2..]).is_err());
        assert!(parse_hex32(&format!("zz{}", &h[2..])).is_err());
    }

    #[test]
    fn statement_must_match_exactly() {
        let e = Expected {
            public_inputs: vec![Fr::from(1u64), Fr::from(2u64)],
            ..Expected::default()
        };
        assert!(e.check_statement(&[Fr::from(1u64), Fr::from(2u64)]).is_ok());
        let err = e
            .check_statement(&[Fr::from(1u64), Fr::from(3u64)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("another statement"), "{err}");
        assert!(err.contains("index 1"), "{err}");
        assert!(e.check_statement(&[Fr::from(1u64)]).is_err());
        assert!(e.check_statement(&[]).is_err());
    }
}
