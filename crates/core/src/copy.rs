//! Moving a ledger to another store (`kpledger ledger copy`): from one file to another, or
//! between an SQLite file and a PostgreSQL database.
//!
//! What moves is what no store can make up: the signed events, in order, and the stored
//! checkpoints with their cosignatures. The events are recorded into an **empty** store through
//! the same door as every other event (the rules judge each one again, and the store writes its
//! derived rows and Merkle nodes as it writes them for any append); the checkpoints are carried
//! byte for byte (their signatures cover the tree's size and root, which the events decide);
//! then the new store is verified whole. The source is only read.

use kpledger_verify::{Finding, Report};

use crate::store::{Ledger, StoreError};

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

fn codes(findings: &[Finding]) -> String {
    let mut c: Vec<String> = findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| format!("{} {}", f.code.code(), f.message))
        .collect();
    c.dedup();
    c.join("; ")
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

/// Copies the signed events and checkpoints of `from` into `to`, which must be empty, and
/// verifies `to`. `progress` is told (events done, events in all).
pub fn copy(from: &Ledger, to: &mut Ledger, progress: &mut dyn FnMut(u64, u64)) -> Result<Copied, CopyError> {
    let shown_to = to.path().display().to_string();
    if !to.is_empty()? || to.latest_checkpoint()?.is_some() {
        return Err(CopyError::NotEmpty(shown_to));
    }
    let shown_from = from.path().display().to_string();
    let total = from.len()?;
    let mut done = 0u64;
    while done < total {
        let last = (done + BATCH).min(total);
        let docs = from.event_docs(done + 1, last)?;
        if docs.len() as u64 != last - done {
            return Err(CopyError::Gap { from: shown_from, seq: done + docs.len() as u64 + 1 });
        }
        to.ingest_batches(std::iter::once(docs), &mut |_| {}).map_err(|(i, e)| match e {
            StoreError::Rejected { findings, .. } => {
                CopyError::Refused { from: shown_from.clone(), seq: done + i + 1, findings }
            }
            other => CopyError::Store(other),
        })?;
        done = last;
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
    Ok(Copied { events: done, checkpoints: checkpoints.len() as u64, report })
}
