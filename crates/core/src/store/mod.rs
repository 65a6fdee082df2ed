//! The SQLite ledger file.
//!
//! One file holds the signed events in order (`events`), an index from parcels to the
//! events that touch them (`event_parcels`), and tables derived from the events
//! (`meta`, `actors`, `sites`, `policies`, `parcels`) whose rows are made by
//! `kpledger_verify::rows`. Events are appended only with an
//! [`kpledger_verify::Accepted`] token, inside one `BEGIN IMMEDIATE` transaction per
//! append (or per batch), so a refused or interrupted append writes nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::log_tree::TreeError;
use kpledger_model::{Hash, Text};
use kpledger_verify::Cell;
use kpledger_verify::Finding;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode};

mod append;
mod bundle;
mod log;
mod open;
pub mod pg;
pub mod pg_ledger;
mod read;
mod schema;
mod state;
mod verify_feed;

pub use schema::integrity_check;
pub(crate) use schema::{harden, schema_entries, schema_entries_of};

/// `PRAGMA application_id` of a kpledger ledger ("KPLG").
pub const APPLICATION_ID: i32 = 0x4B50_4C47;

/// The schema version this build writes (`PRAGMA user_version`). Version 2 added the
/// transparency log (`log_nodes`, `log_frontier`, `checkpoints`; kpledger 0.1.0); version 3
/// keeps the tables and changes what derived rows hold (a country's policy history, not only its
/// latest policy), so a version-2 file is migrated by re-recording its signed events
/// (`crate::migrate`, `kpledger migrate`). Version 1 ledgers were pre-release and are not read.
pub const SCHEMA_VERSION: i32 = 3;

/// Why the ledger could not do what was asked. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// There is no file at the path.
    #[error("no ledger at {0}: create one with `kpledger init --ledger {0} …`, or check the path")]
    NotFound(PathBuf),
    /// A file is already at the path (creating).
    #[error("{0} already exists; kpledger never overwrites a ledger. Choose another path")]
    Exists(PathBuf),
    /// The file is not a kpledger ledger.
    #[error("{path} is not a kpledger ledger ({reason})")]
    NotALedger {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The ledger was written by a newer kpledger.
    #[error(
        "{path} has ledger schema version {found}, newer than this kpledger supports ({supported}); \
         upgrade kpledger. The file was not changed"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// The file's version.
        found: i32,
        /// This build's version.
        supported: i32,
    },
    /// The ledger was written by an older kpledger.
    #[error(
        "{path} has ledger schema version {found}, from an older kpledger; this build writes version \
         {supported}. Migrate it into a new file (the old one is only read): kpledger migrate --from {path} \
         --to NEW-FILE"
    )]
    Older {
        /// The file.
        path: PathBuf,
        /// The file's version.
        found: i32,
        /// This build's version.
        supported: i32,
    },
    /// Another process holds the ledger.
    #[error(
        "{0} is locked by another kpledger process (or an open sqlite3 shell); try again when it has finished"
    )]
    Locked(PathBuf),
    /// The file is damaged.
    #[error(
        "{path} is damaged: {reason}. kpledger does not repair ledgers; restore the file from a backup \
         (the signed events in it can be re-verified after restoring)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite reported.
        reason: String,
    },
    /// The ledger refused a request that is not an event (a checkpoint, a cosignature).
    #[error("{0}")]
    Refused(String),
    /// The rules refused the event.
    #[error("the event was refused: {}", summarize(.findings))]
    Rejected {
        /// The event's hash.
        hash: Hash,
        /// Why, rule by rule.
        findings: Vec<Finding>,
    },
    /// Any other database error.
    #[error("database error on {path}")]
    Sql {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A document given to ingest is not a valid signed event; nothing of its batch was
    /// written.
    #[error("event {number} of the input is not a valid signed kpledger event: {source}")]
    NotAnEvent {
        /// Its position in the input, from 1.
        number: u64,
        /// Why.
        source: kpledger_model::canonical::JsonError,
    },
    /// The file's schema (`sqlite_schema`) is not exactly the one this build creates: a
    /// table, index, view or trigger was added, dropped or redefined. Nothing else of the
    /// file was read.
    #[error(
        "{path} is not a ledger as kpledger writes it: its database schema differs from the one \
         kpledger creates ({differences}). kpledger reads nothing more from it and writes nothing \
         to it, because an added view or trigger would run inside kpledger and a dropped \
         constraint lets forged rows in. `kpledger verify --ledger {path}` reports the same; \
         restore the ledger from a backup, or re-ingest its signed events into a new ledger"
    )]
    Schema {
        /// The file.
        path: PathBuf,
        /// What differs, entry by entry.
        differences: String,
    },
    /// The ledger holds no certificate of that number.
    #[error(
        "{path} has no certificate {number}; `kpledger certificate list --ledger {path}` lists the \
         certificates it holds"
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// The number asked for.
        number: Text,
    },
    /// A stored document could not be read.
    #[error("{path}: stored data is unreadable ({reason}); run `kpledger verify --ledger {path}`")]
    BadRow {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

fn summarize(findings: &[Finding]) -> String {
    findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| format!("{} {}", f.code, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

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

/// One submission's outcome in a group commit: every event's record, or the index of the
/// event refused and the refusal ([`StoreError::Rejected`]).
pub type GroupOutcome = Result<Vec<Recorded>, (usize, StoreError)>;

/// An open ledger file.
#[derive(Debug)]
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    /// How long to wait for another process's lock.
    busy: Duration,
}

impl Ledger {
    fn err(&self, e: rusqlite::Error) -> StoreError {
        sql_err(&self.path, e)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
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

fn sql_err(path: &Path, e: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked(path),
        Some(ErrorCode::NotADatabase) => {
            StoreError::NotALedger { path, reason: "it is not an SQLite database".into() }
        }
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt { path, reason: e.to_string() },
        _ => StoreError::Sql { path, source: e },
    }
}

fn tree_err(path: &Path, e: TreeError) -> StoreError {
    match e {
        TreeError::Sql(e) => sql_err(path, e),
        e => StoreError::Corrupt { path: path.to_owned(), reason: format!("the log's Merkle tree: {e}") },
    }
}
