//! The ledger's store: an SQLite file, or a PostgreSQL database (`postgres://…`), behind
//! one storage boundary (`backend.rs`).
//!
//! One file (or database) holds the signed events in order (`events`), an index from parcels to the
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
mod pg_backend;
mod read;
mod schema;
mod sqlite;
mod state;
mod verify_feed;

#[cfg(test)]
mod format_tests;

pub use error::{BatchError, Fault, StorageError, StoreError};
pub(crate) use open::remove_sqlite_files;
pub use pg::PgStore;
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

// The schema version is the stored documents' version marker: versions 2 and 3 hold documents
// of format 1 (docs/SPEC.md §11.1b), which carry no version of their own. A new document
// format is a new schema version with its migration; this fails to compile until both move.
const _: () = assert!(SCHEMA_VERSION == 3 && kpledger_verify::stored::DOC_FORMAT == 1);

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
    /// Its position in the log, from 1.
    pub seq: u64,
    /// The event's hash (docs/SPEC.md §4).
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
        /// The position recorded before.
        seq: u64,
        /// The event's hash.
        hash: Hash,
    },
}

/// One submission's outcome in a group commit: every event's record, or the event refused,
/// by its index in the submission, and the refusal ([`StoreError::Rejected`]).
pub type GroupOutcome = Result<Vec<Recorded>, BatchError>;

/// An open ledger: a file, or a PostgreSQL database.
#[derive(Debug)]
pub struct Ledger {
    db: Db,
}

/// The engines a ledger can be stored in. An enum, not a type parameter or a trait object
/// alone: the two engines are known when kpledger is built, `Ledger` stays one type for every
/// caller (the CLI, the service, the reports), and the few things that are not rows (SQLite's
/// structural check of the file beside verification, its unsafe fast mode) are said once per
/// engine. Everything else goes through the traits of `backend.rs`, which both implement.
#[derive(Debug)]
enum Db {
    Sqlite(Sqlite),
    /// Boxed: its client and statement cache are larger than an SQLite connection.
    Pg(Box<PgStore>),
}

impl Db {
    fn backend(&self) -> &dyn Backend {
        match self {
            Db::Sqlite(s) => s,
            Db::Pg(p) => &**p,
        }
    }
    fn location(&self) -> &Path {
        match self {
            Db::Sqlite(s) => &s.path,
            Db::Pg(p) => p.shown(),
        }
    }
}

impl Backend for Db {
    fn reads(&self) -> &dyn backend::Reads {
        self.backend().reads()
    }
    fn begin_write(&mut self) -> Result<Box<dyn backend::WriteTx + '_>, Fault> {
        match self {
            Db::Sqlite(s) => s.begin_write(),
            Db::Pg(p) => p.begin_write(),
        }
    }
    fn begin_snapshot(&self) -> Result<Box<dyn backend::Snapshot + '_>, Fault> {
        self.backend().begin_snapshot()
    }
    fn check_schema(&self) -> Result<(), Fault> {
        self.backend().check_schema()
    }
    fn integrity_check(&self) -> Result<(), Fault> {
        self.backend().integrity_check()
    }
}

impl Ledger {
    /// Where the ledger is, as messages name it: the file's path, or the database's URL
    /// without its password.
    pub fn path(&self) -> &Path {
        self.db.location()
    }

    /// True if the ledger is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Pg(_))
    }

    /// On PostgreSQL, opens one transaction that every write goes into until
    /// [`Ledger::release`] (`ledger copy`: all of the copy, or nothing); true if it did. A write
    /// refused meanwhile rolls all of it back. A file has no such transaction: false.
    pub(crate) fn hold(&self) -> Result<bool, StoreError> {
        match &self.db {
            Db::Pg(p) => p.hold().map(|()| true),
            Db::Sqlite(_) => Ok(false),
        }
    }

    /// Commits (`commit`) or rolls back the transaction [`Ledger::hold`] opened.
    pub(crate) fn release(&self, commit: bool) -> Result<(), StoreError> {
        match &self.db {
            Db::Pg(p) => p.release(commit),
            Db::Sqlite(_) => Ok(()),
        }
    }

    /// Runs `f` in one write transaction (the sequencer taken — SQLite `BEGIN IMMEDIATE`,
    /// PostgreSQL an advisory transaction lock — and the schema checked first, as another
    /// process may have changed it), committed when `f` succeeds and rolled back otherwise;
    /// what fails is reported with this ledger's location.
    fn in_write<T>(&mut self, f: impl FnOnce(&dyn Writes) -> Result<T, Fault>) -> Result<T, StoreError> {
        let run = |db: &mut Db| -> Result<T, Fault> {
            let tx = db.begin_write()?;
            let out = f(tx.writes())?;
            tx.commit()?;
            Ok(out)
        };
        let out = run(&mut self.db);
        out.map_err(|e| e.at(self.db.location()))
    }

    /// Runs `f`, reporting what fails with this ledger's location: the one place a read
    /// attaches it.
    fn with<T>(&self, f: impl FnOnce() -> Result<T, Fault>) -> Result<T, StoreError> {
        f().map_err(|e| e.at(self.db.location()))
    }
}

fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Text(format!("{f:?}")),
        // Text that is not UTF-8 (SQLite does not check; kpledger never writes it) is read
        // as its bytes, never with U+FFFD in place of them: it then differs from every text,
        // U+FFFD included, where verification compares it with the rows the events give.
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Cell::Text(s.to_owned()),
            Err(_) => Cell::Blob(t.to_vec()),
        },
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
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
