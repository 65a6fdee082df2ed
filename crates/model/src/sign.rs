//! The one path to signatures.
//!
//! A signature is Ed25519 (RFC 8032, pure) over
//! `"kpledger/v1/sig/" || purpose || 0x00 || hash`, where `hash` is a 32-byte digest from
//! [`crate::hash`]. Verification always uses `verify_strict`, which rejects non-canonical
//! signatures and small-order keys (the speccheck policy `XXXVXXXXXXXX`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hash::Hash;
use crate::keys::{PublicKey, SecretKey};

/// What a signature is for. Each purpose is a distinct context string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// Signing a ledger event body.
    Event,
    /// Signing a handover offer.
    Offer,
}

impl Purpose {
    /// The ASCII label in the signed message.
    pub fn label(self) -> &'static str {
        match self {
            Purpose::Event => "event",
            Purpose::Offer => "offer",
        }
    }
}

/// A 64-byte Ed25519 signature, written as standard base64.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", B64.encode(self.0))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = B64
            .decode(s.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("signature is not base64: {e}")))?;
        let arr: [u8; 64] = bytes.as_slice().try_into().map_err(|_| {
            serde::de::Error::custom(format!("signature is {} bytes instead of 64", bytes.len()))
        })?;
        Ok(Signature(arr))
    }
}

/// The exact bytes that are signed for `purpose` over `hash`.
pub fn message(purpose: Purpose, hash: &Hash) -> Vec<u8> {
    let label = purpose.label().as_bytes();
    let mut m = Vec::with_capacity(16 + label.len() + 1 + 32);
    m.extend_from_slice(b"kpledger/v1/sig/");
    m.extend_from_slice(label);
    m.push(0);
    m.extend_from_slice(&hash.0);
    m
}

/// Signs `hash` for `purpose`.
pub fn sign(key: &SecretKey, purpose: Purpose, hash: &Hash) -> Signature {
    Signature(key.dalek().sign(&message(purpose, hash)).to_bytes())
}

/// Checks a signature with `verify_strict`. `true` only for a valid, canonical signature
/// by a key that is not weak.
pub fn verify(key: &PublicKey, purpose: Purpose, hash: &Hash, sig: &Signature) -> bool {
    verify_raw(key, &message(purpose, hash), &sig.0)
}

/// `verify_strict` over raw message bytes. Only for external formats that fix their own
/// message layout (RFC 8032 vectors, C2SP signed notes); kpledger documents use [`verify`].
pub fn verify_raw(key: &PublicKey, msg: &[u8], sig: &[u8; 64]) -> bool {
    let sig = ed25519_dalek::Signature::from_bytes(sig);
    key.dalek().verify_strict(msg, &sig).is_ok()
}

/// Signs raw message bytes. Only for external formats, as [`verify_raw`].
pub fn sign_raw(key: &SecretKey, msg: &[u8]) -> [u8; 64] {
    key.dalek().sign(msg).to_bytes()
}

/// The 32-byte RFC 8032 seed ("secret key") of `key`, zeroed when dropped. Only for
/// external key encodings that carry the bare seed: golang.org/x/mod's
/// `PRIVATE+KEY+<name>+<key ID>+base64(0x01 || seed)` signer keys in [`crate::note`].
/// Crate-private, so the seed never leaves this crate except through such an encoding.
pub(crate) fn secret_seed(key: &SecretKey) -> zeroize::Zeroizing<[u8; 32]> {
    zeroize::Zeroizing::new(key.dalek().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{Domain, digest};

    #[test]
    fn sign_verify_and_purpose_separation() {
        let sk = SecretKey::from_seed(&[1; 32]);
        let h = digest(Domain::Event, b"{}");
        let s = sign(&sk, Purpose::Event, &h);
        assert!(verify(&sk.public(), Purpose::Event, &h, &s));
        assert!(!verify(&sk.public(), Purpose::Offer, &h, &s));
        let other = digest(Domain::Event, b"[]");
        assert!(!verify(&sk.public(), Purpose::Event, &other, &s));
        let mut bad = s;
        bad.0[0] ^= 1;
        assert!(!verify(&sk.public(), Purpose::Event, &h, &bad));
    }
}
