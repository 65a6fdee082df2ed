//! # kpledger-core
//!
//! The ledger that records: one SQLite file per ledger ([`store::Ledger`]), appended to
//! only through the verifier's rules, plus the queries the CLI needs (parcel state,
//! provenance, listings) and whole-ledger verification, which streams the stored rows
//! into `kpledger_verify::LedgerCheck`.
//!
//! [`sim::Sim`] is a deterministic trade simulator used by the demo ([`demo`]), the test
//! fixtures and the benchmarks. It records events through the same path as the CLI.
//!
//! **Architecture invariant:** nothing here decides whether an event is valid or what it
//! changes; `kpledger_verify::check_event` does, and [`store::Ledger::append`] writes only
//! what comes with its `Accepted` token.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod card;
pub mod clock;
pub mod copy;
pub mod demo;
pub mod log_tree;
pub mod migrate;
pub mod sim;
pub mod store;
pub mod synth;

pub use store::{
    Appended, BatchError, GroupOutcome, Ledger, OpenOptions, Recorded, StorageError, StoreError,
};
