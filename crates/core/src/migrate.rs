//! Upgrading a ledger written by an earlier kpledger.
//!
//! A ledger's signed events are its history; everything else in the file (the derived tables,
//! the Merkle tree) is recomputed from them. So a ledger of an older schema version is
//! upgraded by re-recording its signed events, in order, into a **new** file written by this
//! build: every event is judged again by this build's rules, every derived row and tree node is
//! written as this build writes it, the stored checkpoints (whose signatures cover only the
//! tree's size and root, a function of the events) are carried over byte for byte, and the new
//! file is verified whole. The old file is only read, never changed or removed.
//!
//! An event that this build's rules refuse stops the migration: an earlier build accepted it,
//! and the new file keeps only what this build can vouch for. The error names the event and
//! the rules; the old file stays as it was, usable with the kpledger that wrote it.

use std::path::{Path, PathBuf};

use kpledger_model::{Event, ParsedEvent};
use kpledger_verify::{Finding, Report};
use rusqlite::{Connection, OpenFlags};

use crate::store::{APPLICATION_ID, Ledger, SCHEMA_VERSION, StoreError};

/// The schema of version 2 (kpledger 0.1.0), as it created it: a version-2 file must match it
/// exactly before anything in it is read (no view or trigger of a hostile file ever runs).
const SCHEMA_V2: &str = concat!(
    crate::store::schema_v2_tables!(),
    "CREATE TABLE log_nodes(level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, \
     PRIMARY KEY (level, idx)) STRICT, WITHOUT ROWID;
CREATE TABLE log_frontier(size INTEGER PRIMARY KEY, nodes BLOB NOT NULL) STRICT;
"
);

/// Events re-recorded per transaction.
const BATCH: usize = 2048;

/// Why a ledger could not be migrated. The old file is unchanged in every case; the new file
/// is left in place (for inspection) only when it was written and then failed verification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The old file is not a ledger this build migrates.
    #[error("{path}: {reason}")]
    Source {
        /// The file given as the old ledger.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// This build's rules refuse an event an earlier build recorded.
    #[error(
        "{path}: event #{seq} is refused by this build's rules ({}); the ledger cannot be \
         migrated as it is: keep using the kpledger that wrote it, and report the event to the \
         ledger's authority",
        codes(.findings)
    )]
    Refused {
        /// The old ledger.
        path: PathBuf,
        /// The event's position in it.
        seq: u64,
        /// What the rules found.
        findings: Vec<Finding>,
    },
    /// Reading the old file or writing the new one failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The error findings, code and message, each once, for a message (also `crate::copy`'s).
pub(crate) fn codes(findings: &[Finding]) -> String {
    let mut c: Vec<String> = findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| format!("{} {}", f.code.code(), f.message))
        .collect();
    c.dedup();
    c.join("; ")
}

/// What a migration did.
#[derive(Debug)]
pub struct Migrated {
    /// The schema version of the old file.
    pub from_version: i32,
    /// Events re-recorded.
    pub events: u64,
    /// Checkpoints carried over.
    pub checkpoints: u64,
    /// The verification of the new file (`ok` is false when it failed; the file is kept).
    pub report: Report,
}

fn source(path: &Path, reason: impl Into<String>) -> MigrateError {
    MigrateError::Source { path: path.to_owned(), reason: reason.into() }
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> MigrateError + '_ {
    move |e| source(path, format!("cannot be read: {e}"))
}

/// Reads the old ledger at `from` (schema version 2, from kpledger 0.1.0), re-records its
/// signed events and checkpoints into a new ledger at `to` (which must not exist), and
/// verifies the new ledger. `progress` is told (events done, events in all).
pub fn migrate(from: &Path, to: &Path, progress: &mut dyn FnMut(u64, u64)) -> Result<Migrated, MigrateError> {
    if !from.is_file() {
        return Err(source(from, "no such ledger file"));
    }
    let old =
        Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(sql(from))?;
    crate::store::harden(&old).map_err(sql(from))?;
    let app: i32 = old.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(sql(from))?;
    if app != APPLICATION_ID {
        return Err(source(from, "not a kpledger ledger"));
    }
    let version: i32 = old.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql(from))?;
    if version == SCHEMA_VERSION {
        return Err(source(
            from,
            format!("already at schema version {SCHEMA_VERSION}: there is nothing to migrate"),
        ));
    }
    if version != 2 {
        return Err(source(
            from,
            format!(
                "schema version {version}; this build migrates version 2 (kpledger 0.1.0) to {SCHEMA_VERSION}, \
                 and reads nothing else"
            ),
        ));
    }
    // Before any other read, as `Ledger::open` does: the file's schema is exactly 0.1.0's.
    let expected = crate::store::schema_entries_of(SCHEMA_V2).map_err(sql(from))?;
    let found = crate::store::schema_entries(&old).map_err(sql(from))?;
    if found != expected {
        return Err(source(
            from,
            "its SQLite schema is not the one kpledger 0.1.0 created (a table, index, view or trigger was \
             added, removed or changed): it is not migrated; check it with the kpledger that wrote it \
             (`kpledger verify --ledger`)",
        ));
    }

    let total: i64 = old.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).map_err(sql(from))?;
    let total = u64::try_from(total).unwrap_or(0);
    let mut new = Ledger::create(to)?;
    let mut st = old.prepare("SELECT seq, doc FROM events ORDER BY seq").map_err(sql(from))?;
    let mut rows = st.query([]).map_err(sql(from))?;
    let mut batch: Vec<ParsedEvent> = Vec::with_capacity(BATCH);
    let mut done = 0u64;
    let mut flush = |batch: &mut Vec<ParsedEvent>, done: &mut u64| -> Result<(), MigrateError> {
        if batch.is_empty() {
            return Ok(());
        }
        new.append_all(batch).map_err(|e| match e.error {
            StoreError::Rejected { findings, .. } => {
                MigrateError::Refused { path: from.to_owned(), seq: *done + e.index as u64 + 1, findings }
            }
            other => MigrateError::Store(other),
        })?;
        *done += batch.len() as u64;
        batch.clear();
        progress(*done, total);
        Ok(())
    };
    let mut expected_seq = 1u64;
    // The keys the events name, decoded once for the whole migration.
    let decoded = kpledger_model::KeyCache::default();
    while let Some(row) = rows.next().map_err(sql(from))? {
        let seq: i64 = row.get(0).map_err(sql(from))?;
        let seq = u64::try_from(seq).unwrap_or(0);
        let doc: String = row.get(1).map_err(sql(from))?;
        if seq != expected_seq {
            return Err(source(from, format!("event #{expected_seq} is missing (the next is #{seq})")));
        }
        let parsed = Event::parse_in(doc.as_bytes(), &decoded)
            .map_err(|e| source(from, format!("event #{seq} is not a signed event this build reads: {e}")))?;
        batch.push(parsed);
        if batch.len() == BATCH {
            flush(&mut batch, &mut done)?;
        }
        expected_seq += 1;
    }
    flush(&mut batch, &mut done)?;
    drop(rows);
    drop(st);

    let mut st = old.prepare("SELECT size, root, note FROM checkpoints ORDER BY size").map_err(sql(from))?;
    let checkpoints: Vec<(i64, Vec<u8>, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(sql(from))?
        .collect::<Result<_, _>>()
        .map_err(sql(from))?;
    for (size, root, note) in &checkpoints {
        new.carry_checkpoint(*size, root, note)?;
    }
    let report = new.verify(&mut |_, _| {})?;
    Ok(Migrated { from_version: version, events: done, checkpoints: checkpoints.len() as u64, report })
}
