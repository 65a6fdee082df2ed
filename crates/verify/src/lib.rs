//! # kpledger-verify
//!
//! The rules of kpledger, as pure functions: signed events and trusted keys in, findings
//! out. This crate does not read files, open databases, touch the network or look at the
//! clock; the store (`kpledger-core`) and the CLI feed it bytes.
//!
//! - [`check_event`] judges one event against the state before it and returns a
//!   [`Verdict`]: findings (each with a stable rule code, docs/RULES.md) and the event's
//!   [`Effect`]s on the state. Only [`Verdict::accept`] makes an [`Accepted`] token, and
//!   the store appends nothing without one: an event cannot be recorded unchecked.
//! - [`LedgerCheck`] verifies a whole stored ledger in one streaming pass, recomputing
//!   every stored value (hashes, index rows, derived tables) from the signed events.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod bundle;
mod card;
mod finding;
mod governance;
mod ledger;
pub mod log;
pub mod merkle;
pub mod prepare;
pub mod rows;
mod rules;
pub mod select;
mod state;
pub mod stored;
mod trust;
pub mod witness;

pub use bundle::{
    BundleError, ProvenShipment, Vouchers, check_ledger_root, verify_bundle, verify_bundle_observed,
    verify_bundle_shipment,
};
pub use card::{CardError, CheckedCard, after_event, prev_of, verify_card};
pub use finding::{Finding, Rule, Severity};
pub use kpledger_model::sign::SigMode;
pub use ledger::{
    Cell, LedgerCheck, Report, StoredCheckpoint, StoredCounts, StoredEvent, StoredRow, StoredRows, Tables,
};
pub use rules::{
    Accepted, MAX_BACKDATE_SECONDS, Signatures, Verdict, check_event, check_event_signed, ledger_clock,
};
pub use state::{
    ActorState, CertificateState, CertificateStatus, Effect, ImposedKey, MemState, ParcelState, ParcelStatus,
    PolicyEntry, PolicyHistory, State, import_key,
};
pub use trust::{ISSUER_KEYWORD, PolicyError, TrustPolicy, issuer_vkey, log_vkey, witness_vkey};
