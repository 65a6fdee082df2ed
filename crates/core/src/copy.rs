//! Moving a ledger to another store (`kpledger ledger copy`): from one file to another, or
//! between an SQLite file and a PostgreSQL database.
//!
//! What moves is what no store can make up: the signed events, in order, and the stored
//! checkpoints with their cosignatures. The events are recorded into an **empty** store through
//! the same door as every other event (the rules judge each one again, and the store writes its
//! derived rows and Merkle nodes as it writes them for any append); the checkpoints are carried
//! byte for byte (their signatures cover the tree's size and root, which the events decide);
//! then the new store is verified whole. The source is only read. Either end may be a file or
//! a PostgreSQL database: both are a [`Ledger`].
//!
//! Into PostgreSQL the copy is one transaction — the tables, every event, every checkpoint and
//! the verification — committed only when the destination verifies: a refused event, a
//! checkpoint that does not verify, a lost connection leave the database as empty as it was.
//! Into a file, the events are committed a batch at a time, and a refused copy leaves the
//! events before the refused one (the CLI says so).

use kpledger_verify::{Finding, Report};

use crate::migrate::codes;
use crate::store::{Ledger, OpenOptions, StorageError, StoreError};

/// Events read and recorded per transaction.
const BATCH: u64 = 2048;

/// Why a ledger could not be copied. The source is unchanged in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The destination already holds events or checkpoints.
    #[error(
        "{0} is not empty (it holds events or checkpoints): a ledger is copied into an empty store only. \
         Choose a new file, or an empty database"
    )]
    NotEmpty(String),
    /// The rules refuse an event of the source.
    #[error(
        "event #{seq} of {from} is refused by the rules ({}); the copy stops there: run `kpledger verify \
         --ledger {from}`",
        codes(.findings)
    )]
    Refused {
        /// The source, as named to the command (a file, or a `postgres://` URL).
        from: String,
        /// The event's position in it.
        seq: u64,
        /// What the rules found.
        findings: Vec<Finding>,
    },
    /// The source's events are not numbered 1, 2, 3, … without a gap.
    #[error("{from}: event #{seq} is missing; run `kpledger verify --ledger {from}`")]
    Gap {
        /// The source, as named to the command.
        from: String,
        /// The first position missing.
        seq: u64,
    },
    /// Reading the source or writing the destination failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a copy did.
#[derive(Debug)]
pub struct Copied {
    /// Events recorded.
    pub events: u64,
    /// Checkpoints carried over.
    pub checkpoints: u64,
    /// The verification of the destination (`ok` false when it failed).
    pub report: Report,
    /// False when nothing was kept: a PostgreSQL destination that did not verify is rolled
    /// back (a file keeps what was copied, with its report).
    pub kept: bool,
}

/// Opens the ledger at `location` (a file's path, or a `postgres://` URL) to read it.
pub fn open_source(location: &str) -> Result<Ledger, StoreError> {
    let opts = OpenOptions { read_only: true, busy_timeout: std::time::Duration::from_secs(5) };
    Ledger::open(std::path::Path::new(location), opts)
}

/// The store to copy into at `location`: a new file (created), an existing file, or a
/// database (its tables created if it has none, in the transaction [`copy`] goes on in and
/// commits only when the copy is complete; an existing ledger database opened).
pub fn open_destination(location: &str) -> Result<Ledger, StoreError> {
    let path = std::path::Path::new(location);
    let opts = OpenOptions { read_only: false, busy_timeout: std::time::Duration::from_secs(5) };
    if crate::store::pg::is_url(location) {
        return match Ledger::create_uncommitted(path) {
            Err(StoreError::Storage(StorageError::Exists(_))) => Ledger::open(path, opts),
            other => other,
        };
    }
    if path.exists() || path.is_symlink() { Ledger::open(path, opts) } else { Ledger::create(path) }
}

/// Copies the signed events and checkpoints of `from` into `to`, which must be empty, and
/// verifies `to`. `progress` is told (events done, events in all). Into a PostgreSQL database,
/// all of it is one transaction, committed only when `to` verifies: on an error, or a report
/// that is not ok (`kept` false), the database holds nothing of the copy.
pub fn copy(from: &Ledger, to: &mut Ledger, progress: &mut dyn FnMut(u64, u64)) -> Result<Copied, CopyError> {
    let held = to.hold()?;
    match copy_in(from, to, progress) {
        Ok(mut c) => {
            if held {
                to.release(c.report.ok)?;
                c.kept = c.report.ok;
            }
            Ok(c)
        }
        Err(e) => {
            // Rolled back already when a write was refused (the release then says so): the
            // copy's error is the one to report.
            if held {
                let _ = to.release(false);
            }
            Err(e)
        }
    }
}

fn copy_in(from: &Ledger, to: &mut Ledger, progress: &mut dyn FnMut(u64, u64)) -> Result<Copied, CopyError> {
    let shown_to = to.path().display().to_string();
    if !to.is_empty()? || !to.stored_checkpoints()?.is_empty() {
        return Err(CopyError::NotEmpty(shown_to));
    }
    let shown_from = from.path().display().to_string();
    let total = from.len()?;
    let mut done = 0u64;
    let mut read = 0u64;
    while read < total {
        // The source's events, a batch at a time, numbered 1, 2, 3, … without a gap.
        let last = (read + BATCH).min(total);
        let docs = from.event_docs(read + 1, last)?;
        if docs.len() as u64 != last - read {
            return Err(CopyError::Gap { from: shown_from, seq: read + docs.len() as u64 + 1 });
        }
        read = last;
        let n = docs.len() as u64;
        to.ingest_batches(std::iter::once(docs), &mut |_| {}).map_err(|b| match b.error {
            StoreError::Rejected { findings, .. } => {
                CopyError::Refused { from: shown_from.clone(), seq: done + b.index as u64 + 1, findings }
            }
            other => CopyError::Store(other),
        })?;
        done += n;
        progress(done, total);
    }
    let checkpoints = from.stored_checkpoints()?;
    for c in &checkpoints {
        let size = i64::try_from(c.size).map_err(|_| {
            StoreError::Refused(format!("{shown_from}: a checkpoint of size {} is beyond any log", c.size))
        })?;
        to.carry_checkpoint(size, &c.root, &c.note)?;
    }
    let report = to.verify(&mut |_, _| {})?;
    Ok(Copied { events: done, checkpoints: checkpoints.len() as u64, report, kept: true })
}
