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
//! This crate does no I/O except reading and writing key files in [`keys`]. It has no
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

pub mod bundle;
pub mod canonical;
pub mod card;
pub mod event;
pub mod hash;
pub mod ids;
pub mod keys;
pub mod note;
pub mod sign;
pub mod types;

pub use bundle::{BUNDLE_FORMAT, Bundle, BundleLog, LeafProof};
pub use canonical::JsonError;
pub use card::{CARD_FORMAT, Card, CardLog, CardStated, CardStatus};
pub use event::{
    ActorRecord, Benchmark, CertExporter, CertImporter, CertLine, Certificate, Event, EventBody, FlaggedSite,
    ForeignCertificate, ImportConfirmation, ImportParcel, Licence, NewParcel, NumberRange, Offer, OfferBody,
    OfferKind, OriginClaim, ParcelRef, ParsedEvent, Payload, Policy, RedFlagPolicy, SiteRecord, Suspension,
    ValuationRule,
};
pub use hash::Hash;
pub use keys::{KeyError, PublicKey, SecretKey};
pub use types::{ActorId, Cents, Country, Date, HsCode, Origin, ParcelId, Points, Role, SiteId, Text, Time};
