//! Moving a ledger to another store (`kpledger ledger copy`): from one file to another, or
//! between an SQLite file and a PostgreSQL database.
//!
//! What moves is what no store can make up: the signed events, in order, and the stored
//! checkpoints with their cosignatures. The events are recorded into an **empty** store through
//! the same door as every other event (the rules judge each one again, and the store writes its
//! derived rows and Merkle nodes as it writes them for any append); the checkpoints are carried
//! byte for byte (their signatures cover the tree's size and root, which the events decide);
//! then the new store is verified whole. The source is only read. Either end may be a file or
//! a PostgreSQL database ([`Store`]).

use kpledger_verify::{Finding, Report, StoredCheckpoint};

use crate::migrate::codes;
use crate::store::pg_ledger::PgLedger;
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
        /// The source.
        from: String,
        /// The event's position in it.
        seq: u64,
        /// What the rules found.
        findings: Vec<Finding>,
    },
    /// The source's events are not numbered 1, 2, 3, … without a gap.
    #[error("{from}: event #{seq} is missing; run `kpledger verify --ledger {from}`")]
    Gap {
        /// The source.
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
}

/// A ledger in either store: a file, or a PostgreSQL database (`postgres://…`).
#[derive(Debug)]
pub enum Store {
    /// An SQLite ledger file.
    File(Ledger),
    /// A PostgreSQL ledger database.
    Pg(PgLedger),
}

impl Store {
    /// Opens the ledger at `location` (a file's path, or a `postgres://` URL) to read it.
    pub fn open(location: &str) -> Result<Store, StoreError> {
        if crate::store::pg::is_url(location) {
            return Ok(Store::Pg(PgLedger::open(location, true)?));
        }
        let opts = OpenOptions { read_only: true, busy_timeout: std::time::Duration::from_secs(5) };
        Ok(Store::File(Ledger::open(std::path::Path::new(location), opts)?))
    }

    /// The store to copy into at `location`: a new file (created), an existing file, or a
    /// database (its tables created if it has none; an existing ledger database opened).
    pub fn destination(location: &str) -> Result<Store, StoreError> {
        if crate::store::pg::is_url(location) {
            return match PgLedger::create(location) {
                Err(StoreError::Storage(StorageError::Exists(_))) => {
                    Ok(Store::Pg(PgLedger::open(location, false)?))
                }
                other => other.map(Store::Pg),
            };
        }
        let path = std::path::Path::new(location);
        if path.exists() || path.is_symlink() {
            let opts = OpenOptions { read_only: false, busy_timeout: std::time::Duration::from_secs(5) };
            Ok(Store::File(Ledger::open(path, opts)?))
        } else {
            Ok(Store::File(Ledger::create(path)?))
        }
    }

    /// The store, as messages name it.
    pub fn shown(&self) -> String {
        match self {
            Store::File(l) => l.path().display().to_string(),
            Store::Pg(p) => p.shown().display().to_string(),
        }
    }

    /// Number of events.
    pub fn len(&mut self) -> Result<u64, StoreError> {
        match self {
            Store::File(l) => l.len(),
            Store::Pg(p) => p.len(),
        }
    }

    /// True if the store holds no event.
    pub fn is_empty(&mut self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// The canonical documents of the events at `first ..= last`.
    pub fn event_docs(&mut self, first: u64, last: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        match self {
            Store::File(l) => l.event_docs(first, last),
            Store::Pg(p) => p.event_docs(first, last),
        }
    }

    /// Every stored checkpoint, by size.
    pub fn stored_checkpoints(&mut self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        match self {
            Store::File(l) => l.stored_checkpoints(),
            Store::Pg(p) => p.stored_checkpoints(),
        }
    }

    /// Verifies the whole ledger.
    pub fn verify(&mut self) -> Result<Report, StoreError> {
        match self {
            Store::File(l) => l.verify(&mut |_, _| {}),
            Store::Pg(p) => p.verify(kpledger_verify::SigMode::Strict, &mut |_, _| {}),
        }
    }
}

/// Copies the signed events and checkpoints of `from` into `to`, which must be empty, and
/// verifies `to`. `progress` is told (events done, events in all).
pub fn copy(
    from: &mut Store,
    to: &mut Store,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Copied, CopyError> {
    let shown_to = to.shown();
    if !to.is_empty()? || !to.stored_checkpoints()?.is_empty() {
        return Err(CopyError::NotEmpty(shown_to));
    }
    let shown_from = from.shown();
    let total = from.len()?;
    let refused = |at: u64, e: StoreError| match e {
        StoreError::Rejected { findings, .. } => {
            CopyError::Refused { from: shown_from.clone(), seq: at + 1, findings }
        }
        other => CopyError::Store(other),
    };
    let mut done = 0u64;
    let mut gap = None;
    {
        // The source's events, a batch at a time, numbered 1, 2, 3, … without a gap.
        let mut read = 0u64;
        let mut batches = std::iter::from_fn(|| {
            if read >= total || gap.is_some() {
                return None;
            }
            let last = (read + BATCH).min(total);
            let docs = match from.event_docs(read + 1, last) {
                Ok(d) => d,
                Err(e) => return Some(Err(e)),
            };
            if docs.len() as u64 != last - read {
                gap = Some(read + docs.len() as u64 + 1);
                return None;
            }
            read = last;
            Some(Ok(docs))
        });
        match to {
            Store::File(l) => {
                for docs in batches {
                    let docs = docs?;
                    let n = docs.len() as u64;
                    l.ingest_batches(std::iter::once(docs), &mut |_| {})
                        .map_err(|b| refused(done + b.index as u64, b.error))?;
                    done += n;
                    progress(done, total);
                }
            }
            Store::Pg(p) => {
                done = p
                    .ingest_into_empty(&mut batches, &mut |d| progress(d, total))
                    .map_err(|(at, e)| refused(at, e))?;
            }
        }
    }
    if let Some(seq) = gap {
        return Err(CopyError::Gap { from: shown_from, seq });
    }
    let checkpoints = from.stored_checkpoints()?;
    for c in &checkpoints {
        match to {
            Store::File(l) => {
                let size = i64::try_from(c.size).map_err(|_| {
                    StoreError::Refused(format!(
                        "{shown_from}: a checkpoint of size {} is beyond any log",
                        c.size
                    ))
                })?;
                l.carry_checkpoint(size, &c.root, &c.note)?;
            }
            Store::Pg(p) => p.carry_checkpoint(c)?,
        }
    }
    let report = to.verify()?;
    Ok(Copied { events: done, checkpoints: checkpoints.len() as u64, report })
}
