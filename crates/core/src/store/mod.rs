//! The SQLite ledger file.
//!
//! One file holds the signed events in order (`events`), an index from parcels to the
//! events that touch them (`event_parcels`), and tables derived from the events
//! (`meta`, `actors`, `sites`, `policies`, `parcels`) whose rows are made by
//! `kpledger_verify::rows`. Events are appended only with an
//! [`kpledger_verify::Accepted`] token, inside one `BEGIN IMMEDIATE` transaction per
//! append (or per batch), so a refused or interrupted append writes nothing.

use std::path::Path;
use std::time::Duration;

use backend::{Backend, Writes};
use kpledger_model::Hash;
use kpledger_verify::{Cell, Finding};
use rusqlite::types::ValueRef;

mod append;
pub mod backend;
mod bundle;
mod error;
mod log;
mod open;
pub mod pg;
pub mod pg_ledger;
mod read;
mod schema;
mod sqlite;
mod state;
mod verify_feed;

#[cfg(test)]
mod format_tests;

pub use error::{BatchError, Fault, StorageError, StoreError};
pub use schema::integrity_check;
pub(crate) use schema::{harden, schema_entries, schema_entries_of, schema_v2_tables};
pub use sqlite::Sqlite;

/// `PRAGMA application_id` of a kpledger ledger ("KPLG").
pub const APPLICATION_ID: i32 = 0x4B50_4C47;

/// The schema version this build writes (`PRAGMA user_version`). Version 2 added the
/// transparency log (`log_nodes`, `log_frontier`, `checkpoints`; kpledger 0.1.0); version 3
/// keeps the tables and changes what derived rows hold (a country's policy history, not only its
/// latest policy), so a version-2 file is migrated by re-recording its signed events
/// (`crate::migrate`, `kpledger migrate`). Version 1 ledgers were pre-release and are not read.
pub const SCHEMA_VERSION: i32 = 3;

/// How to open a ledger.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Open read-only (verification, queries).
    pub read_only: bool,
    /// How long to wait for another process's lock before giving up.
    pub busy_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { read_only: false, busy_timeout: Duration::from_secs(5) }
    }
}

/// What an append recorded.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The event's position.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
    /// Warnings raised by the rules.
    pub warnings: Vec<Finding>,
}

/// What group commit did with one event of a submission.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// Appended by this commit.
    New(Appended),
    /// Already in the ledger at this position: nothing was written for it.
    Already {
        /// Its position.
        seq: u64,
        /// Its hash.
        hash: Hash,
    },
}

/// One submission's outcome in a group commit: every event's record, or the event refused,
/// by its index in the submission, and the refusal ([`StoreError::Rejected`]).
pub type GroupOutcome = Result<Vec<Recorded>, BatchError>;

/// An open ledger file.
#[derive(Debug)]
pub struct Ledger {
    /// The storage (the only backend so far: SQLite).
    db: Sqlite,
}

impl Ledger {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE`: the one writer; the schema checked
    /// first, as another process may have changed it), committed when `f` succeeds and rolled
    /// back otherwise; what fails is reported with this ledger's path.
    fn in_write<T>(&mut self, f: impl FnOnce(&dyn Writes) -> Result<T, Fault>) -> Result<T, StoreError> {
        let run = |db: &mut Sqlite| -> Result<T, Fault> {
            let tx = db.begin_write()?;
            let out = f(tx.writes())?;
            tx.commit()?;
            Ok(out)
        };
        run(&mut self.db).map_err(|e| e.at(&self.db.path))
    }

    /// Runs `f`, reporting what fails with this ledger's path: the one place a read attaches it.
    fn with<T>(&self, f: impl FnOnce() -> Result<T, Fault>) -> Result<T, StoreError> {
        f().map_err(|e| e.at(&self.db.path))
    }
}

fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Text(format!("{f:?}")),
        ValueRef::Text(t) => Cell::Text(utf8(t.to_vec())),
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
    }
}

/// True if `v` reads as `c` ([`cell`]), without building a cell.
fn cell_is(v: ValueRef<'_>, c: &Cell) -> bool {
    match (v, c) {
        (ValueRef::Null, Cell::Null) => true,
        (ValueRef::Integer(i), Cell::Int(j)) => i == *j,
        (ValueRef::Text(t), Cell::Text(s)) => t == s.as_bytes(),
        (ValueRef::Blob(b), Cell::Blob(d)) => b == d.as_slice(),
        (ValueRef::Real(_), _) => cell(v) == *c,
        _ => false,
    }
}

fn bytes_of(v: ValueRef<'_>) -> Vec<u8> {
    match v {
        ValueRef::Text(t) | ValueRef::Blob(t) => t.to_vec(),
        ValueRef::Integer(i) => i.to_string().into_bytes(),
        ValueRef::Real(f) => format!("{f:?}").into_bytes(),
        ValueRef::Null => Vec::new(),
    }
}

fn text_of(v: ValueRef<'_>) -> String {
    utf8(bytes_of(v))
}

/// `bytes` as text, invalid UTF-8 (which the store never writes) replaced.
fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
