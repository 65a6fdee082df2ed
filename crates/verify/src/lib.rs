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

pub mod bundle;
pub mod card;
pub mod finding;
pub mod governance;
pub mod ledger;
pub mod log;
pub mod merkle;
pub mod prepare;
pub mod rows;
pub mod rules;
pub mod select;
pub mod state;
pub mod trust;
pub mod witness;

pub use bundle::{
    BundleError, ProvenShipment, verify_bundle_in, verify_bundle_observed, verify_bundle_shipment,
    verify_bundle_with,
};
pub use card::{CardError, CheckedCard, verify_card};
pub use finding::{Finding, Rule, Severity};
pub use kpledger_model::sign::SigMode;
pub use ledger::{Cell, LedgerCheck, Report, StoredEvent, Tables};
pub use rules::{Accepted, Signatures, Verdict, check_event, check_event_signed};
pub use state::{
    ActorState, CertificateState, Effect, ImposedKey, MemState, ParcelState, ParcelStatus, PolicyEntry,
    PolicyHistory, State, import_key,
};
pub use trust::{PolicyError, TrustPolicy};
