//! Whole-ledger verification: the stored rows streamed into `kpledger_verify::LedgerCheck`.

use crate::log_tree::LogTree;
use kpledger_model::{Hash, ParsedEvent};
use kpledger_verify::{Cell, StoredEvent, StoredRow, Tables};
use kpledger_verify::{LedgerCheck, Report, SigMode};

use super::backend::{Backend, COMPARED_TABLES, Page, Reads};
use super::sqlite::integrity_check_at;
use super::{Db, Fault, Ledger, StoreError};

impl Ledger {
    /// Verifies the whole ledger: every stored event, in order, against every rule, and
    /// every derived row against the events. `progress(done, total)` is called as it goes.
    /// Signatures are checked with `verify_strict`, one at a time (on every core).
    pub fn verify(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<Report, StoreError> {
        self.verify_observed(SigMode::Strict, progress, &mut |_, _| {})
    }

    /// As [`Ledger::verify`], checking signatures as `mode` says and showing `observe` each
    /// event that could be read, in ledger order, as verification reads it (for reports
    /// computed in the same pass).
    ///
    /// This thread reads the events in order and runs the rules; events are parsed, hashed
    /// and have their signatures checked by this thread and one helper per other core, ahead
    /// of the rules ([`kpledger_verify::prepare::pipeline`]). Memory holds at most four
    /// batches of events plus the state of the open parcels.
    pub fn verify_observed(
        &self,
        mode: SigMode,
        progress: &mut dyn FnMut(u64, u64),
        observe: &mut dyn FnMut(u64, &ParsedEvent),
    ) -> Result<Report, StoreError> {
        self.with(|| {
            // One read transaction for the whole check, so that every table is read at the same
            // snapshot: without it each statement sees the ledger as it is when it starts, and an
            // append committed by another process meanwhile shows up in some tables and not in
            // others (false LOG and DB-1 errors). Dropped last: rolled back, as it only reads.
            // The schema is checked as of this snapshot (it was checked at opening; another
            // process may have changed it since), before any other read of it.
            let _snapshot = self.db.begin_snapshot()?;
            let Db::Sqlite(file) = &self.db else {
                self.db.integrity_check()?;
                return self.verify_rows(mode, progress, observe);
            };
            // SQLite's structural check of the file runs on a connection of its own beside the
            // verification, not before it (on one core it would hold up all the others). A
            // corrupt file is reported as such, whatever the verification made of it.
            std::thread::scope(|scope| {
                let (path, busy) = (file.path.as_path(), file.busy);
                let integrity = scope.spawn(move || integrity_check_at(path, busy));
                let report = self.verify_rows(mode, progress, observe);
                match integrity.join() {
                    Ok(Ok(())) => report,
                    Ok(Err(e)) => Err(e),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })
        })
    }

    /// [`Ledger::verify_observed`] but for the engine's structural check: the stored rows,
    /// read through the storage boundary, whatever the engine.
    fn verify_rows(
        &self,
        mode: SigMode,
        progress: &mut dyn FnMut(u64, u64),
        observe: &mut dyn FnMut(u64, &ParsedEvent),
    ) -> Result<Report, Fault> {
        let reads = self.db.reads();
        // The last position, for progress and the tree's height: a lookup, where `len`'s count
        // reads a whole index. The two differ only when events are missing, which the check
        // reports.
        let total = reads.last_seq()?;
        let checkpoints = reads.checkpoints()?;
        let mut lc = LedgerCheck::with_checkpoints(checkpoints.iter().map(|c| c.size));
        // Every stored event in position order, a batch at a time, from below any position an
        // append makes (a row put at position 0 or below is read, and reported, too), each with
        // its parcel-index rows (rows that point at no event are caught by the count in
        // `finish`).
        let mut after = i64::MIN;
        let mut next_batch = || -> Result<Vec<StoredEvent>, Fault> {
            let batch = reads.stored_events_after(after, VERIFY_BATCH)?;
            if let Some(last) = batch.last() {
                after = last.seq as i64;
            }
            Ok(batch)
        };
        let levels = (u64::BITS - total.leading_zeros()) as usize;
        let mut rows_by_key =
            RowsByKey { reads, levels: (0..levels).map(|_| LevelCursor::default()).collect() };
        let mut done = 0;
        // The calling thread reads and judges; it and one helper per other core parse and
        // check signatures.
        let helpers = std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1);
        kpledger_verify::prepare::pipeline(
            mode,
            helpers,
            |row: &StoredEvent| row.doc.as_slice(),
            &mut next_batch,
            |row, p| {
                lc.feed_prepared(row, p, &mut rows_by_key);
                if let Ok(ev) = &p.parsed {
                    observe(row.seq, ev);
                }
                done += 1;
                if done % 1024 == 0 || done == total {
                    progress(done, total);
                }
            },
        )?;
        let mut tables = Tables::new();
        for table in COMPARED_TABLES {
            tables.insert(table.to_owned(), reads.derived_rows(table)?);
        }
        let counts = reads.counts()?;
        // `parcels` streamed a page at a time, not held whole.
        let mut failure = None;
        let mut page: std::vec::IntoIter<Vec<Cell>> = Vec::new().into_iter();
        let mut last_key: Option<String> = None;
        let mut first = true;
        let mut iter = std::iter::from_fn(|| {
            loop {
                if let Some(row) = page.next() {
                    return Some(row);
                }
                if (!first && last_key.is_none()) || failure.is_some() {
                    return None;
                }
                first = false;
                match reads
                    .derived_rows_after("parcels", Page { after: last_key.as_deref(), limit: PARCEL_PAGE })
                {
                    Ok(rows) => {
                        last_key = match rows.last().and_then(|r| r.first()) {
                            Some(Cell::Text(k)) if rows.len() as u64 == PARCEL_PAGE => Some(k.clone()),
                            _ => None,
                        };
                        if rows.is_empty() {
                            return None;
                        }
                        page = rows.into_iter();
                    }
                    Err(e) => {
                        failure = Some(e);
                        return None;
                    }
                }
            }
        });
        let report = lc.finish(&mut rows_by_key, &tables, &mut iter, counts, &checkpoints);
        match failure {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}

/// Rows of `parcels` per page read during whole-ledger verification.
const PARCEL_PAGE: u64 = 4096;

/// Nodes per chunk read from a level of the stored tree.
const NODE_CHUNK: u64 = 4096;

/// Events per batch read from the store during whole-ledger verification.
const VERIFY_BATCH: u64 = 2048;

/// Serves stored derived rows by key to the streaming verifier.
struct RowsByKey<'r> {
    reads: &'r dyn Reads,
    /// The stored tree's nodes of each level, read in chunks in index order.
    levels: Vec<LevelCursor>,
}

/// A stored node: its index, and its hash if it is 32 bytes.
type Node = (u64, Option<Hash>);

/// Stored tree nodes of one level, read a chunk at a time in index order.
#[derive(Default)]
struct LevelCursor {
    /// The first index of the chunk read last, and its nodes (index, hash if 32 bytes).
    chunk: Option<(u64, Vec<Node>)>,
}

impl LevelCursor {
    /// The node at `index` (`None` if it is not stored), reading the chunk from `index` on when
    /// the one read last does not cover it.
    fn node(&mut self, reads: &dyn Reads, level: u32, index: u64) -> Result<Option<Hash>, Fault> {
        let covered =
            self.chunk.as_ref().is_some_and(|(first, _)| index >= *first && index < first + NODE_CHUNK);
        if !covered {
            let nodes = reads
                .log_nodes(level, index, NODE_CHUNK)?
                .into_iter()
                .map(|(i, b)| (i, <[u8; 32]>::try_from(b.as_slice()).ok().map(Hash)))
                .collect();
            self.chunk = Some((index, nodes));
        }
        let nodes = self.chunk.as_ref().map(|(_, n)| n.as_slice()).unwrap_or_default();
        Ok(nodes.binary_search_by_key(&index, |(i, _)| *i).ok().and_then(|at| nodes[at].1))
    }
}

/// A row's key: its first cell, when that is text.
fn text_key(row: &[Cell]) -> Option<&str> {
    match row.first() {
        Some(Cell::Text(k)) => Some(k),
        _ => None,
    }
}

impl kpledger_verify::StoredRows for RowsByKey<'_> {
    fn compare_rows(&mut self, table: &str, expected: &[Vec<Cell>]) -> Vec<StoredRow> {
        // Only the table the verifier asks about, by its key.
        if table != "parcels" {
            return expected.iter().map(|_| StoredRow::Missing).collect();
        }
        let keys: Vec<&str> = expected.iter().filter_map(|e| text_key(e)).collect();
        // One read for the batch; a batch that cannot be read counts as missing, row by row.
        let mut stored: std::collections::HashMap<String, Vec<Cell>> = std::collections::HashMap::new();
        for row in self.reads.derived_rows_by_key("parcels", &keys).unwrap_or_default() {
            if let Some(k) = text_key(&row) {
                stored.entry(k.to_owned()).or_insert(row);
            }
        }
        expected
            .iter()
            .map(|e| match text_key(e).and_then(|k| stored.get(k)) {
                Some(got) if got == e => StoredRow::Same,
                Some(got) => StoredRow::Differs(got.clone()),
                None => StoredRow::Missing,
            })
            .collect()
    }
    fn log_node(&mut self, level: u32, index: u64) -> Option<Hash> {
        let reads = self.reads;
        match self.levels.get_mut(level as usize) {
            Some(c) => c.node(reads, level, index).ok().flatten(),
            None => LogTree::new(reads).node(level, index).ok().flatten(),
        }
    }
}
