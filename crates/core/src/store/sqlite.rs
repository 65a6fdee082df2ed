//! The SQLite implementation of the storage boundary (`backend.rs`): one file, WAL, one
//! writer through `BEGIN IMMEDIATE`. The column lists of every statement are named, so the
//! derived rows land in their columns by name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kpledger_model::Hash;
use kpledger_verify::rows::DerivedRow;
use kpledger_verify::{Cell, StoredCheckpoint, StoredCounts, StoredEvent};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::backend::{
    Backend, EventRow, KeyRange, Page, Reads, Snapshot, Table, WriteTx, Writes, key_queries,
};
use super::{Fault, bytes_of, cell, text_of};

/// A ledger file open in SQLite.
#[derive(Debug)]
pub struct Sqlite {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
    /// How long to wait for another process's lock.
    pub(super) busy: Duration,
}

use super::backend::order_column as key_column;

/// The column holding a derived table's document (`value` for `meta`).
fn doc_column(table: Table) -> &'static str {
    if table == "meta" { "value" } else { "doc" }
}

fn seq(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn checkpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: r.get::<_, i64>(0)? as u64,
        root: bytes_of(r.get_ref(1)?),
        note: text_of(r.get_ref(2)?),
    })
}

fn pairs(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(args, |r| Ok((seq(r.get(0)?), bytes_of(r.get_ref(1)?))))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn texts(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<String>, Fault> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(args, |r| r.get_ref(0).map(text_of))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn row_cells(r: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<Vec<Cell>> {
    (0..n).map(|i| r.get_ref(i).map(cell)).collect()
}

impl Reads for Connection {
    fn derived_doc(&self, table: Table, key: &str) -> Result<Option<String>, Fault> {
        let sql = format!("SELECT {} FROM {table} WHERE {} = ?1", doc_column(table), key_column(table)?);
        Ok(self.prepare_cached(&sql)?.query_row([key], |r| r.get(0)).optional()?)
    }
    fn actor_docs_of_country(&self, country: &str) -> Result<Vec<String>, Fault> {
        texts(self, "SELECT doc FROM actors WHERE country = ?1 AND revoked = 0", [country])
    }
    fn policy_countries(&self) -> Result<Vec<String>, Fault> {
        texts(self, "SELECT country FROM policies ORDER BY country", [])
    }
    fn certificate_numbers(&self, country: &str) -> Result<Vec<String>, Fault> {
        texts(self, "SELECT number FROM certificates WHERE issuing_country = ?1", [country])
    }
    fn derived_docs(&self, table: Table) -> Result<Vec<String>, Fault> {
        let sql = format!("SELECT {} FROM {table} ORDER BY {}", doc_column(table), key_column(table)?);
        texts(self, &sql, [])
    }
    fn derived_keys_between(&self, table: Table, range: KeyRange<'_>) -> Result<Vec<String>, Fault> {
        let [between, ..] = key_queries(table, key_column(table)?, |n| format!("?{n}"));
        texts(self, &between, params![range.lo, range.hi, i64::try_from(range.limit).unwrap_or(i64::MAX)])
    }
    fn derived_key_neighbours(&self, table: Table, key: &str) -> Result<[Option<String>; 2], Fault> {
        let [_, before, after] = key_queries(table, key_column(table)?, |n| format!("?{n}"));
        Ok([texts(self, &before, [key])?.pop(), texts(self, &after, [key])?.pop()])
    }

    fn event_count(&self) -> Result<u64, Fault> {
        Ok(seq(self.prepare_cached("SELECT count(*) FROM events")?.query_row([], |r| r.get(0))?))
    }
    fn last_seq(&self) -> Result<u64, Fault> {
        // A lookup, where `count` reads a whole index.
        Ok(seq(self
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM events")?
            .query_row([], |r| r.get(0))?))
    }
    fn newest_time(&self) -> Result<Option<String>, Fault> {
        // Through the index on `time` (fixed-width UTC: text order is time order).
        Ok(self.prepare_cached("SELECT max(time) FROM events")?.query_row([], |r| r.get(0))?)
    }
    fn seq_of(&self, hash: &Hash) -> Result<Option<u64>, Fault> {
        let s: Option<i64> = self
            .prepare_cached("SELECT seq FROM events WHERE hash = ?1")?
            .query_row([&hash.0[..]], |r| r.get(0))
            .optional()?;
        Ok(s.and_then(|s| u64::try_from(s).ok()))
    }
    fn event_doc(&self, seq: u64) -> Result<Option<Vec<u8>>, Fault> {
        Ok(self
            .prepare_cached("SELECT doc FROM events WHERE seq = ?1")?
            .query_row([seq as i64], |r| r.get_ref(0).map(bytes_of))
            .optional()?)
    }
    fn event_docs(&self, first: u64, last: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        pairs(
            self,
            "SELECT seq, doc FROM events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
            params![first as i64, last as i64],
        )
    }
    fn event_hashes(&self, first: u64, last: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        pairs(
            self,
            "SELECT seq, hash FROM events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
            params![first as i64, last as i64],
        )
    }
    fn events_by_hash_between(&self, lo: &Hash, hi: &Hash, limit: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        pairs(
            self,
            "SELECT seq, hash FROM events WHERE hash BETWEEN ?1 AND ?2 ORDER BY hash LIMIT ?3",
            params![&lo.0[..], &hi.0[..], i64::try_from(limit).unwrap_or(i64::MAX)],
        )
    }
    fn event_docs_of_kinds(&self, kinds: &[&str]) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        let marks: Vec<String> = (1..=kinds.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("SELECT seq, doc FROM events WHERE kind IN ({}) ORDER BY seq", marks.join(", "));
        pairs(self, &sql, rusqlite::params_from_iter(kinds))
    }
    fn event_docs_of_kinds_after(
        &self,
        kinds: &[&str],
        Page { after, limit }: Page<u64>,
    ) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        let marks: Vec<String> = (3..kinds.len() + 3).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "SELECT seq, doc FROM events WHERE seq > ?1 AND kind IN ({}) ORDER BY seq LIMIT ?2",
            marks.join(", ")
        );
        let mut values: Vec<Value> = vec![(after as i64).into(), (limit as i64).into()];
        values.extend(kinds.iter().map(|k| Value::from((*k).to_owned())));
        pairs(self, &sql, rusqlite::params_from_iter(values))
    }
    fn parcel_seqs(&self, parcel: &str) -> Result<Vec<u64>, Fault> {
        let mut st = self.prepare_cached("SELECT seq FROM event_parcels WHERE parcel = ?1 ORDER BY seq")?;
        let rows = st.query_map([parcel], |r| r.get::<_, i64>(0).map(seq))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
    fn parcel_event_docs(&self, parcel: &str) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        pairs(
            self,
            "SELECT e.seq, e.doc FROM event_parcels p JOIN events e ON e.seq = p.seq WHERE p.parcel = ?1 \
             ORDER BY p.seq",
            [parcel],
        )
    }
    fn stored_events_after(&self, after: i64, limit: u64) -> Result<Vec<StoredEvent>, Fault> {
        let mut st = self.prepare_cached(
            "SELECT seq, hash, kind, time, signer, doc FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut out: Vec<StoredEvent> = st
            .query_map(params![after, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                let s: i64 = r.get(0)?;
                Ok(StoredEvent {
                    seq: s as u64,
                    hash: bytes_of(r.get_ref(1)?),
                    kind: text_of(r.get_ref(2)?),
                    time: text_of(r.get_ref(3)?),
                    signer: text_of(r.get_ref(4)?),
                    doc: bytes_of(r.get_ref(5)?),
                    index: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let (Some(a), Some(b)) = (out.first().map(|e| e.seq as i64), out.last().map(|e| e.seq as i64)) else {
            return Ok(out);
        };
        let range = params![a, b];
        // The parcel index of the same range, merged in (rows that point at no event are
        // caught by the count in `LedgerCheck::finish`).
        let mut st = self.prepare_cached(
            "SELECT seq, parcel FROM event_parcels WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
        )?;
        let mut rows = st.query(range)?;
        let mut at = 0;
        while let Some(r) = rows.next()? {
            let s = r.get::<_, i64>(0)? as u64;
            while at < out.len() && out[at].seq < s {
                at += 1;
            }
            if let Some(ev) = out.get_mut(at).filter(|e| e.seq == s) {
                ev.index.push(text_of(r.get_ref(1)?));
            }
        }
        Ok(out)
    }

    fn log_node(&self, level: u32, index: u64) -> Result<Option<Hash>, Fault> {
        let mut st = self.prepare_cached("SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2")?;
        let bytes: Option<Vec<u8>> = st.query_row(params![level, index as i64], |r| r.get(0)).optional()?;
        Ok(bytes.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok()).map(Hash))
    }
    fn log_nodes(&self, level: u32, first: u64, count: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        pairs(
            self,
            "SELECT idx, hash FROM log_nodes WHERE level = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx",
            params![level, first as i64, first.saturating_add(count) as i64],
        )
    }
    fn log_frontier(&self) -> Result<Option<Vec<u8>>, Fault> {
        let mut st = self.prepare_cached("SELECT nodes FROM log_frontier ORDER BY size DESC LIMIT 1")?;
        Ok(st.query_row([], |r| r.get(0)).optional()?)
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, Fault> {
        let mut st = self.prepare_cached("SELECT size, root, note FROM checkpoints ORDER BY size")?;
        let rows = st.query_map([], checkpoint_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, Fault> {
        let mut st =
            self.prepare_cached("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1")?;
        Ok(st.query_row([], checkpoint_row).optional()?)
    }
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, Fault> {
        let mut st = self.prepare_cached("SELECT size, root, note FROM checkpoints WHERE size = ?1")?;
        Ok(st.query_row([size as i64], checkpoint_row).optional()?)
    }

    fn derived_rows(&self, table: Table) -> Result<Vec<Vec<Cell>>, Fault> {
        let sql = format!("SELECT * FROM {table} ORDER BY {}", key_column(table)?);
        let mut st = self.prepare(&sql)?;
        let n = st.column_count();
        let rows = st.query_map([], |r| row_cells(r, n))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
    fn derived_rows_after(&self, table: Table, page: Page<Option<&str>>) -> Result<Vec<Vec<Cell>>, Fault> {
        let Page { after, limit } = page;
        let k = key_column(table)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let page = |sql: String, args: &[&dyn rusqlite::ToSql]| -> Result<Vec<Vec<Cell>>, Fault> {
            let mut st = self.prepare_cached(&sql)?;
            let n = st.column_count();
            let rows = st.query_map(args, |r| row_cells(r, n))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        match after {
            None => page(format!("SELECT * FROM {table} ORDER BY {k} LIMIT ?1"), &[&limit]),
            Some(a) => {
                page(format!("SELECT * FROM {table} WHERE {k} > ?2 ORDER BY {k} LIMIT ?1"), &[&limit, &a])
            }
        }
    }
    fn derived_row(&self, table: Table, key: &str) -> Result<Option<Vec<Cell>>, Fault> {
        let sql = format!("SELECT * FROM {table} WHERE {} = ?1", key_column(table)?);
        let mut st = self.prepare_cached(&sql)?;
        let n = st.column_count();
        Ok(st.query_row([key], |r| row_cells(r, n)).optional()?)
    }
    fn counts(&self) -> Result<StoredCounts, Fault> {
        let count = |sql: &str| -> Result<u64, Fault> { Ok(seq(self.query_row(sql, [], |r| r.get(0))?)) };
        Ok(StoredCounts {
            index_rows: count("SELECT count(*) FROM event_parcels")?,
            log_nodes: count("SELECT count(*) FROM log_nodes")?,
        })
    }
}

impl Writes for Connection {
    fn insert_event(&self, row: &EventRow<'_>) -> Result<u64, Fault> {
        self.prepare_cached("INSERT INTO events(hash, kind, time, signer, doc) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![&row.hash.0[..], row.kind, row.time, row.signer, row.doc])?;
        Ok(seq(self.last_insert_rowid()))
    }
    fn insert_event_parcel(&self, parcel: &str, seq: u64) -> Result<(), Fault> {
        self.prepare_cached("INSERT INTO event_parcels(parcel, seq) VALUES (?1, ?2)")?
            .execute(params![parcel, seq as i64])?;
        Ok(())
    }
    fn put_derived(&self, row: &DerivedRow) -> Result<(), Fault> {
        let cols = row.columns();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT OR REPLACE INTO {}({}) VALUES ({})",
            row.table(),
            cols.join(", "),
            marks.join(", ")
        );
        let values = row.cells().into_iter().map(|c| match c {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::Integer(i),
            Cell::Text(t) => Value::Text(t),
            Cell::Blob(b) => Value::Blob(b),
        });
        self.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values))?;
        Ok(())
    }
    fn insert_log_node(&self, level: u32, index: u64, hash: &Hash) -> Result<(), Fault> {
        self.prepare_cached("INSERT INTO log_nodes(level, idx, hash) VALUES (?1, ?2, ?3)")?
            .execute(params![level, index as i64, &hash.0[..]])?;
        Ok(())
    }
    fn set_log_frontier(&self, size: u64, nodes: &[u8]) -> Result<(), Fault> {
        // One row: the frontier at the current size.
        self.prepare_cached("DELETE FROM log_frontier")?.execute([])?;
        self.prepare_cached("INSERT INTO log_frontier(size, nodes) VALUES (?1, ?2)")?
            .execute(params![size as i64, nodes])?;
        Ok(())
    }
    fn insert_checkpoint(&self, size: u64, root: &[u8], note: &str) -> Result<(), Fault> {
        self.prepare_cached("INSERT INTO checkpoints(size, root, note) VALUES (?1, ?2, ?3)")?
            .execute(params![size as i64, root, note])?;
        Ok(())
    }
    fn update_checkpoint_note(&self, size: u64, note: &str) -> Result<(), Fault> {
        self.prepare_cached("UPDATE checkpoints SET note = ?1 WHERE size = ?2")?
            .execute(params![note, size as i64])?;
        Ok(())
    }
    fn savepoint(&self) -> Result<(), Fault> {
        Ok(self.execute_batch("SAVEPOINT submission")?)
    }
    fn release_savepoint(&self) -> Result<(), Fault> {
        Ok(self.execute_batch("RELEASE submission")?)
    }
    fn rollback_savepoint(&self) -> Result<(), Fault> {
        Ok(self.execute_batch("ROLLBACK TO submission; RELEASE submission")?)
    }
}

/// The one write transaction of a SQLite ledger.
struct SqliteTx<'c>(Transaction<'c>);

impl WriteTx for SqliteTx<'_> {
    fn commit(self: Box<Self>) -> Result<(), Fault> {
        Ok(self.0.commit()?)
    }
    fn writes(&self) -> &dyn Writes {
        &*self.0
    }
}

impl Backend for Sqlite {
    fn reads(&self) -> &dyn Reads {
        &self.conn
    }
    fn begin_write(&mut self) -> Result<Box<dyn WriteTx + '_>, Fault> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        super::schema::check_schema(&tx)?;
        Ok(Box::new(SqliteTx(tx)))
    }
    fn begin_snapshot(&self) -> Result<Box<dyn Snapshot + '_>, Fault> {
        // Rolled back when dropped, as it only reads.
        let tx = self.conn.unchecked_transaction()?;
        super::schema::check_schema(&self.conn)?;
        Ok(Box::new(SqliteSnapshot { _tx: tx }))
    }
    fn check_schema(&self) -> Result<(), Fault> {
        super::schema::check_schema(&self.conn)
    }
    fn integrity_check(&self) -> Result<(), Fault> {
        integrity_check_at(&self.path, self.busy)
    }
}

/// A read transaction held open (dropped: rolled back).
struct SqliteSnapshot<'c> {
    _tx: Transaction<'c>,
}

impl Snapshot for SqliteSnapshot<'_> {}

/// SQLite's `integrity_check` on a read-only connection of its own to `path`.
pub(super) fn integrity_check_at(path: &Path, busy: Duration) -> Result<(), Fault> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    super::schema::harden(&conn)?;
    conn.busy_timeout(busy)?;
    super::schema::check_schema(&conn)?;
    super::schema::integrity_problems(&conn)
}
