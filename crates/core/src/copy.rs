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
//! Into a new file likewise: the copy is written under a temporary name beside it and takes the
//! file's name only when it verifies; a refused copy, or one that does not verify, leaves no
//! file. Only into an existing (empty) ledger file are the events committed in place, a batch
//! at a time, so that a refused copy leaves the events before the refused one (the CLI says so).

use std::path::{Path, PathBuf};

use kpledger_verify::{Finding, Report};

use crate::migrate::codes;
use crate::store::{Ledger, OpenOptions, StorageError, StoreError, remove_sqlite_files};

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
    /// False when nothing was kept: a PostgreSQL destination or a new file that did not verify
    /// holds nothing of the copy (an existing empty file keeps what was copied, with its report).
    pub kept: bool,
}

/// Opens the ledger at `location` (a file's path, or a `postgres://` URL) to read it.
pub fn open_source(location: &str) -> Result<Ledger, StoreError> {
    let opts = OpenOptions { read_only: true, busy_timeout: std::time::Duration::from_secs(5) };
    Ledger::open(Path::new(location), opts)
}

/// The store a copy goes into, from [`open_destination`], consumed by [`copy`].
#[derive(Debug)]
pub struct Destination {
    // Declared first, so dropped first: the ledger is closed before its temporary file goes.
    ledger: Ledger,
    new_file: Option<NewFile>,
}

impl Destination {
    /// The store as the user named it: the new file's name (not its temporary one), or the
    /// database's URL without its password.
    pub fn shown(&self) -> String {
        match &self.new_file {
            Some(f) => f.name.display().to_string(),
            None => self.ledger.path().display().to_string(),
        }
    }

    /// Whether a refused copy, or one that does not verify, leaves nothing behind: true for a
    /// database (one transaction) and a new file (a temporary one until it is complete), false
    /// for an existing empty ledger file (written in place).
    pub fn is_atomic(&self) -> bool {
        self.new_file.is_some() || self.ledger.is_postgres()
    }
}

/// A new ledger file being written under a temporary name beside `name`; the temporary file is
/// removed when this is dropped, after [`NewFile::keep`] gave it its name or not.
#[derive(Debug)]
struct NewFile {
    tmp: PathBuf,
    name: PathBuf,
}

impl NewFile {
    /// Gives the complete copy its name. Its ledger must be closed: SQLite then has moved its
    /// write-ahead log into the file and removed it.
    fn keep(&self) -> Result<(), StoreError> {
        let refused = |why: String| {
            StoreError::Refused(format!(
                "the copy is complete but could not be given the name {}: {why}; nothing was written there",
                self.name.display()
            ))
        };
        let mut wal = self.tmp.as_os_str().to_owned();
        wal.push("-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            return Err(refused("another process holds the copy open".into()));
        }
        // A hard link, not a rename: it fails rather than replace a file that took the name
        // while the copy ran.
        std::fs::hard_link(&self.tmp, &self.name).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => StorageError::Exists(self.name.clone()).into(),
            _ => refused(e.to_string()),
        })
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        remove_sqlite_files(&self.tmp);
    }
}

/// The store to copy into at `location`: a new file (written under a temporary name beside it,
/// `.NAME.copying-PID-NANOS`, until the copy is complete), an existing file, or a database (its tables
/// created if it has none, in the transaction [`copy`] goes on in and commits only when the
/// copy is complete; an existing ledger database opened).
pub fn open_destination(location: &str) -> Result<Destination, StoreError> {
    let path = Path::new(location);
    let opts = OpenOptions { read_only: false, busy_timeout: std::time::Duration::from_secs(5) };
    if crate::store::pg::is_url(location) {
        let ledger = match Ledger::create_uncommitted(path) {
            Err(StoreError::Storage(StorageError::Exists(_))) => Ledger::open(path, opts),
            other => other,
        }?;
        return Ok(Destination { ledger, new_file: None });
    }
    if path.exists() || path.is_symlink() {
        return Ok(Destination { ledger: Ledger::open(path, opts)?, new_file: None });
    }
    let Some(file_name) = path.file_name() else {
        return Err(StoreError::Refused(format!(
            "{location} is not a file's name: name the new ledger file"
        )));
    };
    // A name no other copy uses (this process, this instant), so that nothing of another's is
    // touched: `Ledger::create` refuses a name that exists, and only what it created is removed.
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".copying-{}-{}", std::process::id(), since.as_nanos()));
    let tmp = path.with_file_name(tmp_name);
    let ledger = Ledger::create(&tmp)?;
    Ok(Destination { ledger, new_file: Some(NewFile { tmp, name: path.to_owned() }) })
}

/// Copies the signed events and checkpoints of `from` into `to`, which must be empty, and
/// verifies `to`. `progress` is told (events done, events in all). Into a PostgreSQL database
/// all of it is one transaction, committed only when `to` verifies, and a new file takes its
/// name only then: on an error, or a report that is not ok (`kept` false), neither holds
/// anything of the copy. An existing empty file keeps what was written (`kept` true).
pub fn copy(from: &Ledger, to: Destination, progress: &mut dyn FnMut(u64, u64)) -> Result<Copied, CopyError> {
    let atomic = to.is_atomic();
    let Destination { mut ledger, new_file } = to;
    let shown = new_file.as_ref().map(|f| f.name.display().to_string());
    // Into PostgreSQL, inside the one transaction the destination holds, committed when the
    // copy verifies.
    let copied = ledger.hold().map_err(CopyError::from).and_then(|held| {
        let copied = copy_in(from, &mut ledger, shown, progress);
        if held {
            match &copied {
                Ok(c) => ledger.release(c.report.ok)?,
                // Rolled back already when a write was refused (the release then says so): the
                // copy's error is the one to report.
                Err(_) => {
                    let _ = ledger.release(false);
                }
            }
        }
        copied
    });
    // Closed before a new file is named or removed: SQLite then moves its log into the file.
    drop(ledger);
    let mut c = copied?;
    c.kept = c.report.ok || !atomic;
    if let Some(f) = new_file.as_ref().filter(|_| c.kept) {
        f.keep()?;
    }
    Ok(c)
}

/// The copy itself; `shown` names a new file by its name rather than its temporary one.
fn copy_in(
    from: &Ledger,
    to: &mut Ledger,
    shown: Option<String>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Copied, CopyError> {
    let shown_to = shown.unwrap_or_else(|| to.path().display().to_string());
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
    Ok(Copied { events: done, checkpoints: checkpoints.len() as u64, report, kept: false })
}
