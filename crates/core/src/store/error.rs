//! What can go wrong, in two kinds: the storage failed ([`StorageError`]: the file is missing,
//! locked, damaged, of another schema; SQL failed), or the ledger answered with an outcome
//! ([`StoreError`]'s other variants: the rules refused the event, a request was refused, the
//! input is not an event, no such certificate or parcel). Inside the store, functions return
//! [`Fault`], which has no path; the path of the file is attached once, at the public boundary
//! ([`Fault::at`]).

use std::path::{Path, PathBuf};

use kpledger_model::{Hash, ParcelId, Text};
use kpledger_verify::Finding;
use rusqlite::ErrorCode;

use crate::log_tree::TreeError;

/// The storage failed: nothing was written. Each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// There is no file at the path.
    #[error("no ledger at {0}: create one with `kpledger init --ledger {0} …`, or check the path")]
    NotFound(PathBuf),
    /// A file is already at the path (creating).
    #[error("{0} already exists; kpledger never overwrites a ledger. Choose another path")]
    Exists(PathBuf),
    /// The file is not a kpledger ledger.
    #[error("{path} is not a kpledger ledger ({reason})")]
    NotALedger {
        /// The ledger: its file, or its PostgreSQL URL with the password left out.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The ledger was written by a newer kpledger.
    #[error(
        "{path} has ledger schema version {found}, newer than this kpledger supports ({supported}); \
         upgrade kpledger (if no release of kpledger wrote that version, the ledger was altered: restore it \
         from a backup). Nothing was changed"
    )]
    Newer {
        /// The ledger: its file, or its PostgreSQL URL with the password left out.
        path: PathBuf,
        /// The ledger's schema version (a file's `PRAGMA user_version`, or the one a database records).
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
        /// The ledger: its file, or its PostgreSQL URL with the password left out.
        path: PathBuf,
        /// The ledger's schema version (a file's `PRAGMA user_version`, or the one a database records).
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
        "{path} is damaged: {reason}. kpledger does not repair ledgers; restore the ledger (file or \
         database) from a backup (the signed events in it can be re-verified after restoring)"
    )]
    Corrupt {
        /// The ledger: its file, or its PostgreSQL URL with the password left out.
        path: PathBuf,
        /// What SQLite reported, or what is inconsistent.
        reason: String,
    },
    /// Any other database error.
    #[error("database error on {path}")]
    Sql {
        /// The ledger: its file, or its PostgreSQL URL with the password left out.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
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
        /// The ledger: its file, or its PostgreSQL URL with the password left out.
        path: PathBuf,
        /// What differs, entry by entry.
        differences: String,
    },
    /// Another storage engine's error.
    #[error("database error on {path}")]
    Backend {
        /// The ledger: its file, or its PostgreSQL URL with the password left out.
        path: PathBuf,
        /// The engine's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored document could not be read.
    #[error("{path}: stored data is unreadable ({reason}); run `kpledger verify --ledger {path}`")]
    BadRow {
        /// The ledger: its file, or its PostgreSQL URL with the password left out.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

/// Why the ledger did not do what was asked: the storage failed, or the ledger's answer is
/// a refusal. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The ledger refused a request that is not an event (a checkpoint, a cosignature, a
    /// proof of a size it does not have).
    #[error("{0}")]
    Refused(String),
    /// The rules refused the event.
    #[error("the event was refused: {}", summarize(.findings))]
    Rejected {
        /// The refused event's hash.
        hash: Hash,
        /// Why, rule by rule.
        findings: Vec<Finding>,
    },
    /// A document given to ingest is not a valid signed event; nothing of its batch was
    /// written.
    #[error("event {number} of the input is not a valid signed kpledger event: {source}")]
    NotAnEvent {
        /// Its position in the input, from 1.
        number: u64,
        /// What the strict event reader found wrong (docs/SPEC.md §2).
        source: kpledger_model::canonical::JsonError,
    },
    /// The ledger holds no certificate of that number.
    #[error(
        "{path} has no certificate {number}; `kpledger certificate list --ledger {path}` lists the \
         certificates it holds"
    )]
    NoCertificate {
        /// The ledger: its file, or its PostgreSQL URL with the password left out.
        path: PathBuf,
        /// The number asked for.
        number: Text,
    },
    /// The ledger holds no parcel of that id.
    #[error("parcel {parcel} is not in {path}")]
    NoParcel {
        /// The ledger: its file, or its PostgreSQL URL with the password left out.
        path: PathBuf,
        /// The parcel asked for.
        parcel: ParcelId,
    },
}

/// An error at one event of a batch: nothing of the batch (or of the submission, in a group
/// commit) was written.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct BatchError {
    /// The event at fault, by its index in the batch (0-based; over all documents for
    /// [`crate::Ledger::ingest_batches`]).
    pub index: usize,
    /// What went wrong.
    pub error: StoreError,
}

fn summarize(findings: &[Finding]) -> String {
    findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| format!("{} {}", f.code, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What went wrong inside the store, before the path is attached: what the storage
/// backends and the store's internal functions return.
#[derive(Debug)]
#[non_exhaustive]
pub enum Fault {
    /// SQLite failed (busy, corrupt and "not a database" are told apart by `Fault::at`).
    Sql(rusqlite::Error),
    /// Another storage engine failed.
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// Another writer holds the storage.
    Locked,
    /// Stored data contradicts itself (the log's tree, a malformed hash).
    Corrupt(String),
    /// A stored document could not be read.
    BadRow(String),
    /// The schema differs from this build's (what differs).
    Schema(String),
    /// An answer that is already complete (an outcome, or an error that names its file).
    Done(StoreError),
    /// No certificate of that number.
    NoCertificate(Text),
}

impl From<rusqlite::Error> for Fault {
    fn from(e: rusqlite::Error) -> Fault {
        Fault::Sql(e)
    }
}

impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Fault {
        Fault::Done(e)
    }
}

impl From<StorageError> for Fault {
    fn from(e: StorageError) -> Fault {
        Fault::Done(StoreError::Storage(e))
    }
}

impl From<TreeError> for Fault {
    fn from(e: TreeError) -> Fault {
        match e {
            TreeError::Store(e) => e,
            e => Fault::Corrupt(format!("the log's Merkle tree: {e}")),
        }
    }
}

impl Fault {
    /// A refusal of a request that is not an event.
    pub fn refused(why: impl Into<String>) -> Fault {
        Fault::Done(StoreError::Refused(why.into()))
    }

    /// The error as the ledger at `path` reports it.
    pub(crate) fn at(self, path: &Path) -> StoreError {
        let path = path.to_owned();
        StoreError::Storage(match self {
            Fault::Sql(e) => match e.sqlite_error_code() {
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StorageError::Locked(path),
                Some(ErrorCode::NotADatabase) => {
                    StorageError::NotALedger { path, reason: "it is not an SQLite database".into() }
                }
                Some(ErrorCode::DatabaseCorrupt) => StorageError::Corrupt { path, reason: e.to_string() },
                _ => StorageError::Sql { path, source: e },
            },
            Fault::Backend(source) => StorageError::Backend { path, source },
            Fault::Locked => StorageError::Locked(path),
            Fault::Corrupt(reason) => StorageError::Corrupt { path, reason },
            Fault::BadRow(reason) => StorageError::BadRow { path, reason },
            Fault::Schema(differences) => StorageError::Schema { path, differences },
            Fault::Done(e) => return e,
            Fault::NoCertificate(number) => return StoreError::NoCertificate { path, number },
        })
    }
}
