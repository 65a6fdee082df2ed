//! Whole-ledger verification: the stored rows streamed into `kpledger_verify::LedgerCheck`.

use crate::log_tree::LogTree;
use kpledger_model::{Hash, ParsedEvent};
use kpledger_verify::{Cell, StoredCounts, StoredEvent, StoredRow, StoredRows, Tables};
use kpledger_verify::{LedgerCheck, Report, SigMode};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use super::backend::Backend;
use super::schema::{EVENT_TABLES, expected_schema};
use super::sqlite::integrity_check_at;
use super::{Fault, Ledger, StoreError, bytes_of, cell, cell_is, text_of};

/// Feeds every stored event `next_batch` reads, in order, to `lc`, which judges each against
/// the stored rows `rows` on this thread, while this thread and one helper per other core
/// parse them and check their signatures ahead of it ([`kpledger_verify::prepare::pipeline`]).
/// `observe` sees each event that parses; `progress(done, total)` is called every 1024 events
/// and at the last. Shared by every store backend's whole-ledger verification.
pub(crate) fn feed_stored<E>(
    lc: &mut LedgerCheck,
    rows: &mut dyn StoredRows,
    mode: SigMode,
    total: u64,
    next_batch: impl FnMut() -> Result<Vec<StoredEvent>, E>,
    progress: &mut dyn FnMut(u64, u64),
    observe: &mut dyn FnMut(u64, &ParsedEvent),
) -> Result<(), E> {
    let mut done = 0;
    let helpers = std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1);
    kpledger_verify::prepare::pipeline(
        mode,
        helpers,
        |row: &StoredEvent| row.doc.as_slice(),
        next_batch,
        |row, p| {
            lc.feed_prepared(row, p, rows);
            if let Ok(ev) = &p.parsed {
                observe(row.seq, ev);
            }
            done += 1;
            if done % 1024 == 0 || done == total {
                progress(done, total);
            }
        },
    )
}

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
            // SQLite's structural check of the file runs on a connection of its own beside the
            // verification, not before it (on one core it would hold up all the others). A
            // corrupt file is reported as such, whatever the verification made of it.
            std::thread::scope(|scope| {
                let (path, busy) = (self.db.path.as_path(), self.db.busy);
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

    /// [`Ledger::verify_observed`] but for the structural check of the file.
    fn verify_rows(
        &self,
        mode: SigMode,
        progress: &mut dyn FnMut(u64, u64),
        observe: &mut dyn FnMut(u64, &ParsedEvent),
    ) -> Result<Report, Fault> {
        // The last position, for progress and the tree's height: a lookup, where `len`'s count
        // reads a whole index. The two differ only when events are missing, which the check
        // reports.
        let total = self.db.reads().last_seq()?;
        let checkpoints = self.stored_checkpoints()?;
        let mut lc = LedgerCheck::with_checkpoints(checkpoints.iter().map(|c| c.size));
        let mut ev_st =
            self.db.conn.prepare("SELECT seq, hash, kind, time, signer, doc FROM events ORDER BY seq")?;
        // The parcel index, streamed beside the events in the same order (a merge join):
        // rows that point at no event are caught by the count in `finish`.
        let mut idx_st = self.db.conn.prepare("SELECT seq, parcel FROM event_parcels ORDER BY seq")?;
        let mut events = ev_st.query([])?;
        let mut index = idx_st.query([])?;
        let mut pending_index: Option<(i64, String)> = None;
        let mut next_batch = || -> Result<Vec<StoredEvent>, Fault> {
            let mut batch = Vec::with_capacity(VERIFY_BATCH);
            while batch.len() < VERIFY_BATCH {
                let Some(r) = events.next()? else { break };
                let seq: i64 = r.get(0)?;
                let mut rows = Vec::new();
                loop {
                    if pending_index.is_none() {
                        pending_index = match index.next()? {
                            Some(ir) => Some((ir.get(0)?, text_of(ir.get_ref(1)?))),
                            None => None,
                        };
                    }
                    match pending_index.take() {
                        Some((s, parcel)) if s == seq => rows.push(parcel),
                        Some((s, _)) if s < seq => {}
                        other => {
                            pending_index = other;
                            break;
                        }
                    }
                }
                batch.push(StoredEvent {
                    seq: seq as u64,
                    hash: bytes_of(r.get_ref(1)?),
                    kind: text_of(r.get_ref(2)?),
                    time: text_of(r.get_ref(3)?),
                    signer: text_of(r.get_ref(4)?),
                    doc: bytes_of(r.get_ref(5)?),
                    index: rows,
                });
            }
            Ok(batch)
        };
        // The Merkle tree's nodes are compared as the recomputed tree completes them, level
        // by level in index order: one cursor per level streams them.
        let levels = (u64::BITS - total.leading_zeros()) as usize;
        let mut level_st = (0..levels)
            .map(|_| self.db.conn.prepare("SELECT idx, hash FROM log_nodes WHERE level = ?1 ORDER BY idx"))
            .collect::<Result<Vec<_>, _>>()?;
        let cursors = level_st
            .iter_mut()
            .enumerate()
            .map(|(level, st)| {
                st.query([level as i64]).map(|rows| LevelCursor { rows, head: None, asked: None })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut rows_by_key = RowsByKey { conn: &self.db.conn, levels: cursors };
        feed_stored(&mut lc, &mut rows_by_key, mode, total, &mut next_batch, progress, observe)?;
        drop(events);
        drop(index);
        let tables = self.derived_tables()?;
        let index_rows: i64 =
            self.db.conn.query_row("SELECT count(*) FROM event_parcels", [], |r| r.get(0))?;
        let mut st = self.db.conn.prepare("SELECT * FROM parcels")?;
        let n = st.column_count();
        let mut parcel_rows = st.query([])?;
        let mut failure = None;
        let mut iter = std::iter::from_fn(|| {
            let next = parcel_rows.next().and_then(|row| {
                row.map(|r| (0..n).map(|i| r.get_ref(i).map(cell)).collect::<Result<Vec<_>, _>>()).transpose()
            });
            match next {
                Ok(Some(cells)) => Some(cells),
                Err(e) => {
                    failure = Some(e);
                    None
                }
                Ok(None) => None,
            }
        });
        let log_nodes: i64 = self.db.conn.query_row("SELECT count(*) FROM log_nodes", [], |r| r.get(0))?;
        let counts = StoredCounts { index_rows: index_rows as u64, log_nodes: log_nodes as u64 };
        let report = lc.finish(&tables, &mut iter, counts, &checkpoints);
        match failure {
            Some(e) => Err(Fault::Sql(e)),
            None => Ok(report),
        }
    }

    /// Every row of every table except the event tables, as cells.
    fn derived_tables(&self) -> Result<Tables, Fault> {
        // The tables this build creates: the file's schema was found to be exactly that.
        let names: Vec<String> =
            expected_schema()?.iter().filter(|e| e.kind == "table").map(|e| e.name.clone()).collect();
        let mut tables = Tables::new();
        // `parcels` is streamed by `verify`, not held whole.
        for name in names.into_iter().filter(|n| !EVENT_TABLES.contains(&n.as_str()) && n != "parcels") {
            let sql = format!("SELECT * FROM \"{}\"", name.replace('"', "\"\""));
            let mut st = self.db.conn.prepare(&sql)?;
            let n = st.column_count();
            let mut rows = st.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let mut row = Vec::with_capacity(n);
                for i in 0..n {
                    row.push(cell(r.get_ref(i)?));
                }
                out.push(row);
            }
            tables.insert(name, out);
        }
        Ok(tables)
    }
}

/// Events per batch read from the store during whole-ledger verification.
const VERIFY_BATCH: usize = 2048;

/// Serves stored derived rows by key to the streaming verifier.
struct RowsByKey<'c> {
    conn: &'c Connection,
    /// A cursor over each level of the stored tree, in index order.
    levels: Vec<LevelCursor<'c>>,
}

/// Stored tree nodes of one level, streamed in index order.
struct LevelCursor<'s> {
    rows: rusqlite::Rows<'s>,
    /// The row under the cursor: (index, hash if 32 bytes), `None` before the first.
    head: Option<(u64, Option<Hash>)>,
    /// The last index asked for.
    asked: Option<u64>,
}

impl LevelCursor<'_> {
    /// The node at `index`, if stored; `None` also when indexes are not asked in increasing
    /// order (the caller then looks the node up directly).
    fn node(&mut self, index: u64) -> Result<Option<Option<Hash>>, rusqlite::Error> {
        if self.asked.is_some_and(|a| a >= index) {
            return Ok(None);
        }
        self.asked = Some(index);
        loop {
            match &self.head {
                Some((i, _)) if *i >= index => break,
                _ => {}
            }
            match self.rows.next()? {
                Some(r) => {
                    let i: i64 = r.get(0)?;
                    let hash = match r.get_ref(1)? {
                        ValueRef::Blob(b) => <[u8; 32]>::try_from(b).ok().map(Hash),
                        _ => None,
                    };
                    self.head = Some((i as u64, hash));
                }
                None => return Ok(Some(None)),
            }
        }
        Ok(Some(match &self.head {
            Some((i, h)) if *i == index => *h,
            _ => None,
        }))
    }
}

impl StoredRows for RowsByKey<'_> {
    fn compare(&mut self, table: &str, expected: &[Cell]) -> StoredRow {
        // Only the tables the verifier asks about, by their primary key column. A row that
        // cannot be read counts as missing.
        let sql = match table {
            "parcels" => "SELECT * FROM parcels WHERE id = ?1",
            _ => return StoredRow::Missing,
        };
        let Some(Cell::Text(key)) = expected.first() else { return StoredRow::Missing };
        let Ok(mut st) = self.conn.prepare_cached(sql) else { return StoredRow::Missing };
        let n = st.column_count();
        let Ok(mut rows) = st.query([key]) else { return StoredRow::Missing };
        let Ok(Some(row)) = rows.next() else { return StoredRow::Missing };
        let same = n == expected.len()
            && expected.iter().enumerate().all(|(i, c)| row.get_ref(i).is_ok_and(|v| cell_is(v, c)));
        if same {
            return StoredRow::Same;
        }
        match (0..n).map(|i| row.get_ref(i).map(cell)).collect() {
            Ok(cells) => StoredRow::Differs(cells),
            Err(_) => StoredRow::Missing,
        }
    }
    fn log_node(&mut self, level: u32, index: u64) -> Option<Hash> {
        if let Some(c) = self.levels.get_mut(level as usize)
            && let Ok(Some(found)) = c.node(index)
        {
            return found;
        }
        LogTree::new(self.conn).node(level, index).ok().flatten()
    }
}
