//! The one path to hashes: domain-separated SHA-256.
//!
//! `H(domain, bytes) = SHA-256("kpledger/v1/" || domain || 0x00 || bytes)`, where
//! `bytes` are canonical bytes from [`crate::canonical`]. The domain keeps a hash made
//! for one purpose from ever being accepted for another. The two RFC 9162 Merkle hash
//! functions live here too, with the RFC's own one-byte prefixes.

use sha2::{Digest, Sha256};

use crate::types::Hash;

/// What a hash is of. Each variant is a distinct domain-separation prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Domain {
    /// The body of a ledger event.
    Event,
    /// The body of a handover offer (the holder's half of a handover).
    Offer,
}

impl Domain {
    /// The ASCII label that goes into the prefix.
    pub fn label(self) -> &'static str {
        match self {
            Domain::Event => "event",
            Domain::Offer => "offer",
        }
    }
}

/// `SHA-256("kpledger/v1/" || domain || 0x00 || canonical_bytes)`.
pub fn digest(domain: Domain, canonical_bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(b"kpledger/v1/");
    h.update(domain.label().as_bytes());
    h.update([0u8]);
    h.update(canonical_bytes);
    Hash(h.finalize().into())
}

/// RFC 9162 §2.1.1 leaf hash: `SHA-256(0x00 || leaf)`.
pub fn merkle_leaf(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    Hash(h.finalize().into())
}

/// RFC 9162 §2.1.1 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn merkle_node(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// Plain SHA-256, for key fingerprints and C2SP key IDs (which fix their own prefixes).
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {

    #[test]
    fn hex_is_read_as_lowercase_only() {
        let h = "0123456789abcdef".repeat(4);
        let parsed: Hash = h.parse().unwrap();
        assert_eq!(parsed.to_hex(), h);
        let mut expected = [0u8; 32];
        hex::decode_to_slice(&h, &mut expected).unwrap();
        assert_eq!(parsed.0, expected);
        for bad in [
            h.to_uppercase(),
            h[1..].to_owned(),
            format!("{h}0"),
            h.replacen('f', "g", 1),
            h.replacen("ab", "é", 1),
            String::new(),
        ] {
            let err = bad.parse::<Hash>().unwrap_err().to_string();
            assert!(err.contains("is not a SHA-256 hash"), "{err}");
        }
        let from_json: Hash = serde_json::from_str(&format!("\"{h}\"")).unwrap();
        assert_eq!(from_json, parsed);
        let escaped: Hash = serde_json::from_str(&format!("\"\\u0030{}\"", &h[1..])).unwrap();
        assert_eq!(escaped, parsed);
        let err = serde_json::from_str::<Hash>("5").unwrap_err().to_string();
        assert!(err.starts_with("invalid type: integer `5`, expected a string"), "{err}");
    }
    use super::*;

    #[test]
    fn domains_separate() {
        assert_ne!(digest(Domain::Event, b"{}"), digest(Domain::Offer, b"{}"));
    }

    #[test]
    fn digest_is_sha256_of_prefixed_bytes() {
        // Independent check of the byte layout documented in docs/SPEC.md.
        let direct = sha256(&[b"kpledger/v1/event\0{}"]);
        assert_eq!(digest(Domain::Event, b"{}").0, direct);
    }

    #[test]
    fn merkle_empty_leaf_matches_rfc6962() {
        // RFC 6962 test vector: the hash of the empty leaf.
        assert_eq!(
            merkle_leaf(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn hash_text_round_trips_and_refuses_upper_case() {
        let h = digest(Domain::Event, b"x");
        assert_eq!(h.to_hex().parse::<Hash>().unwrap(), h);
        assert!(h.to_hex().to_uppercase().parse::<Hash>().is_err());
        assert!("abc".parse::<Hash>().is_err());
    }
}
