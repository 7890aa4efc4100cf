//! Long-lived ed25519 identities of workers, and signatures over protocol digests.
//!
//! A worker's identity is an ed25519 key pair made from a 32-byte secret seed; its public
//! key (32 bytes) is its [`WorkerId`]. Signatures are checked with `verify_strict`, which
//! rejects small-order keys and non-canonical signatures, so a signature is bound to one
//! key and one message.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Bytes of a signature.
pub const SIGNATURE_BYTES: usize = 64;

/// A worker's public identity: its ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerId(pub [u8; 32]);

impl std::fmt::Debug for WorkerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WorkerId({self})")
    }
}

impl std::fmt::Display for WorkerId {
    /// The first eight bytes in hex, enough to tell workers apart in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl WorkerId {
    /// Full hex form (64 characters).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A worker's signing identity.
#[derive(Clone)]
pub struct WorkerIdentity {
    key: SigningKey,
}

impl std::fmt::Debug for WorkerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WorkerIdentity({})", self.id())
    }
}

impl WorkerIdentity {
    /// The identity whose secret key is `seed`. Keep the seed secret.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        WorkerIdentity {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The public identity.
    pub fn id(&self) -> WorkerId {
        WorkerId(self.key.verifying_key().to_bytes())
    }

    /// Signs a message (a protocol digest).
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_BYTES] {
        self.key.sign(msg).to_bytes()
    }
}

/// Checks `sig` on `msg` under `id`; false for malformed keys or signatures.
pub fn verify_signature(id: &WorkerId, msg: &[u8], sig: &[u8; SIGNATURE_BYTES]) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(&id.0) else {
        return false;
    };
    vk.verify_strict(msg, &Signature::from_bytes(sig)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let a = WorkerIdentity::from_seed(&[1; 32]);
        let b = WorkerIdentity::from_seed(&[2; 32]);
        let sig = a.sign(b"hello");
        assert!(verify_signature(&a.id(), b"hello", &sig));
        assert!(!verify_signature(&a.id(), b"hellp", &sig));
        assert!(!verify_signature(&b.id(), b"hello", &sig));
        let mut bad = sig;
        bad[5] ^= 1;
        assert!(!verify_signature(&a.id(), b"hello", &bad));
        assert!(!verify_signature(&WorkerId([0xff; 32]), b"hello", &sig));
        assert_eq!(a.id().to_hex().len(), 64);
    }
}
