//! # kpledger-model
//!
//! The vocabulary of kpledger: domain types (actors, licences, mine sites, parcels,
//! events), and the three security-critical paths that every other crate goes through:
//!
//! - [`canonical`]: the **one path to canonical bytes** (RFC 8785) and the strict JSON
//!   reader that refuses duplicate keys, floats and unknown fields in signed documents;
//! - [`hash`]: the **one path to hashes** (domain-separated SHA-256, and RFC 9162 Merkle
//!   hashing);
//! - [`sign`]: the **one path to signatures** (Ed25519 with `verify_strict`).
//!
//! This crate does no I/O except reading and writing key files ([`SecretKey`], [`PublicKey`]). It has no
//! notion of a ledger's state: whether an event is *allowed* is the verifier's business
//! (`kpledger-verify`).
//!
//! ```
//! use kpledger_model::{hash, canonical};
//! let v = canonical::parse_strict(br#"{"b":1,"a":2}"#)?;
//! assert_eq!(canonical::canonical_value(&v), br#"{"a":2,"b":1}"#);
//! let h = hash::digest(hash::Domain::Event, &canonical::canonical_value(&v));
//! assert_eq!(h.to_hex().len(), 64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

/// `Display` as the text form `$text` gives, and `Debug` as that text inside `Type(…)`.
macro_rules! text_form {
    ($ty:ident, $text:ident) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.$text())
            }
        }
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self.$text())
            }
        }
    };
}

mod bundle;
pub mod canonical;
mod card;
mod event;
pub mod hash;
pub mod ids;
mod keys;
pub mod note;
pub mod sign;
mod types;

pub use bundle::{BUNDLE_FORMAT, Bundle, BundleLog, LeafProof};
pub use card::{CARD_FORMAT, Card, CardLog, CardStated, CardStatus};
pub use event::{
    ActorRecord, Benchmark, CertExporter, CertImporter, CertLine, Certificate, Event, EventBody,
    FORMAT_VERSION, FlaggedSite, ForeignCertificate, ImportConfirmation, ImportParcel, KP_STATEMENT,
    KP_TITLE, Licence, NewParcel, NumberRange, Offer, OfferBody, OfferKind, OriginClaim, ParcelRef,
    ParsedEvent, Payload, Policy, RedFlagPolicy, Sig, SiteRecord, Suspension, ValuationRule,
};
pub use keys::{KeyCache, KeyError, PublicKey, SecretKey};
pub use types::{
    ActorId, Cents, Country, Date, Hash, HashParseError, HsCode, MAX_CENTS, MAX_STONES, MAX_WEIGHT_PT,
    Origin, ParcelId, Points, REFERENCE_GRAMMAR, Role, SiteId, Text, Time, civil_from_days, days_from_civil,
    days_in_month, is_reference, refused_in_text,
};
