//! # kpledger-epcis
//!
//! GS1 EPCIS 2.0 interchange for kpledger:
//!
//! - [`export_ledger`], [`export_parcel`], [`export_certificate`]: a ledger, a parcel's
//!   provenance, or a KP certificate's shipment as an EPCIS 2.0 JSON-LD `EPCISDocument`,
//!   each event carrying its kpledger event hash (`kpl:eventHash`) and its CBV 2.0 event hash
//!   ID as `eventID` (`export.rs` has the mapping; `docs/EPCIS.md` has it with examples);
//! - [`hash_id`]: the CBV 2.0 EPCIS event hash ID (`ni:///sha-256;…?ver=CBV2.0`) of any
//!   EPCIS 2.0 JSON-LD event, as the reference implementation computes it;
//! - [`check`]: which events of an EPCIS 2.0 document match the ledger's, which are missing
//!   from it and which differ.
//!
//! SHA-256 comes from `kpledger_model::hash::sha256`, the project's one path to hashes.
//! Nothing here prints; errors are [`EpcisError`].
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use kpledger_core::{Ledger, OpenOptions};
//! let ledger = Ledger::open(std::path::Path::new("ledger.kpl"), OpenOptions { read_only: true, ..Default::default() })?;
//! let doc = kpledger_epcis::export_ledger(&ledger)?;
//! let report = kpledger_epcis::check(&ledger, &serde_json::to_vec(&doc)?)?;
//! assert!(report.all_matched());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod canon;
mod check;
mod dl;
mod export;
pub mod hash_id;
mod vocab;

pub use check::{CheckReport, CheckedEvent, check};
pub use export::{
    CARAT_UOM, CBVMDA_NAMESPACE, EPCIS_CONTEXT, KPL_NAMESPACE, VALUATION_TRANSACTION_TYPE, actor_uri,
    certificate_uri, context, export_certificate, export_ledger, export_parcel, parcel_uri, seal_uri,
    site_uri, valuation_uri,
};

use kpledger_core::StoreError;
use kpledger_model::ParcelId;

/// Why an export or a check could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EpcisError {
    /// The ledger could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such parcel.
    #[error("no parcel {0} in this ledger; `kpledger parcel list` lists them")]
    NoParcel(ParcelId),
    /// No such certificate.
    #[error("no certificate {0} in this ledger; `kpledger certificate list` lists them")]
    NoCertificate(String),
    /// A ledger event could not be exported (a damaged ledger).
    #[error("ledger event #{seq} cannot be exported: {reason}; run `kpledger verify --ledger`")]
    Event {
        /// Its position in the ledger.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// The document to check is not JSON.
    #[error("the document is not JSON: {0}")]
    NotJson(String),
    /// The document to check is not an EPCIS 2.0 document, or an event cannot be hashed.
    #[error(transparent)]
    Hash(#[from] hash_id::HashError),
}

/// What this crate's functions return.
pub type Result<T> = std::result::Result<T, EpcisError>;
