//! The PostgreSQL implementation of the storage boundary (`backend.rs`): the same reads and
//! writes as SQLite's (`sqlite.rs`), on the tables `pg.rs` creates.
//!
//! **Write-behind inside the one write transaction.** A round trip to the server costs far
//! more than a row written into SQLite's page cache, so the rows an append writes (the event,
//! its parcel-index rows, the tree's nodes and frontier, the derived rows) are kept in
//! [`Pending`] and sent together — each kind of row one `INSERT … SELECT FROM unnest(arrays)`
//! statement — before the commit, before a savepoint is opened, released or rolled back, and
//! before any read that the pending rows could answer only in part (scans, ranges, counts).
//! The point reads the rules make on every append (a derived row by key, an event by hash, a
//! tree node, the frontier, the log's end and newest time) are answered from the pending rows
//! first and from the database otherwise, so every read sees exactly what SQLite's would: the
//! committed rows plus the transaction's own. The sequencer's lock is held from the first
//! statement of the transaction, so nobody else writes meanwhile, and a derived document read
//! once in the transaction is kept for its rest.

use std::collections::{BTreeMap, HashMap};

use kpledger_model::Hash;
use kpledger_verify::rows::DerivedRow;
use kpledger_verify::{Cell, StoredCheckpoint, StoredCounts, StoredEvent};
use postgres::types::ToSql;

use super::Fault;
use super::backend::{
    Backend, EventRow, KeyRange, Page, Reads, Snapshot, Table, WriteTx, Writes, key_queries, order_column,
};
use super::pg::{PgStore, SEQUENCER_LOCK, check_schema, describe};

type Param<'a> = &'a (dyn ToSql + Sync);

/// A PostgreSQL error, as its server said it.
#[derive(Debug)]
struct PgFault(String);

impl std::fmt::Display for PgFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgreSQL: {}", self.0)
    }
}

impl std::error::Error for PgFault {}

fn fault(e: postgres::Error) -> Fault {
    if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
        return Fault::Locked;
    }
    Fault::Backend(Box::new(PgFault(describe(&e))))
}

fn seq(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A row's cells, each column read by its type (bigint and integer as integers, bytea as
/// bytes, anything else as text).
fn cells(r: &postgres::Row) -> Result<Vec<Cell>, Fault> {
    use postgres::types::Type;
    (0..r.len())
        .map(|i| {
            let t = r.columns()[i].type_();
            Ok(if *t == Type::INT8 {
                r.try_get::<_, Option<i64>>(i).map_err(fault)?.map_or(Cell::Null, Cell::Int)
            } else if *t == Type::INT4 {
                r.try_get::<_, Option<i32>>(i).map_err(fault)?.map_or(Cell::Null, |v| Cell::Int(i64::from(v)))
            } else if *t == Type::BYTEA {
                r.try_get::<_, Option<Vec<u8>>>(i).map_err(fault)?.map_or(Cell::Null, Cell::Blob)
            } else {
                r.try_get::<_, Option<String>>(i).map_err(fault)?.map_or(Cell::Null, Cell::Text)
            })
        })
        .collect()
}

/// The PostgreSQL type of a derived table's column (`kpledger_verify::rows::columns`).
fn column_type(column: &str) -> &'static str {
    match column {
        "revoked" | "weight_pt" => "bigint",
        "head" => "bytea",
        _ => "text",
    }
}

/// What an open write transaction wrote and has not sent yet, and what it knows of the log's
/// end (read once under the sequencer's lock).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// The position of the last event, pending ones included, once known.
    last_seq: Option<u64>,
    /// The newest event time, pending ones included, once known.
    newest: Option<Option<String>>,
    /// Pending `events` rows: (seq, hash, kind, time, signer, doc).
    events: Vec<(i64, Vec<u8>, String, String, String, String)>,
    /// Pending events by hash.
    hashes: HashMap<Hash, u64>,
    /// Pending `event_parcels` rows.
    parcels: Vec<(String, i64)>,
    /// Pending `log_nodes` rows, by (level, index).
    nodes: BTreeMap<(u32, u64), Hash>,
    frontier: Option<(u64, Vec<u8>)>,
    /// Pending derived rows, by (table, key): the last one written of each key.
    derived: BTreeMap<(Table, String), Vec<Cell>>,
    /// True inside a write transaction: the sequencer's lock is held, nobody else writes.
    active: bool,
    /// Derived documents read (or sent) during the write transaction, by (table, key): what
    /// the database holds for them until this transaction writes them again (the lock is
    /// held, so nobody else does). The rules ask for the ledger's origin, a site, a
    /// certificate at nearly every event.
    read: HashMap<(Table, String), Option<String>>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.parcels.is_empty()
            && self.nodes.is_empty()
            && self.frontier.is_none()
            && self.derived.is_empty()
    }
}

impl PgStore {
    /// A prepared statement for `sql`, prepared once per connection.
    fn statement(&self, sql: &str) -> Result<postgres::Statement, Fault> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.borrow_mut().prepare(sql).map_err(fault)?;
        self.statements.borrow_mut().insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Runs a query, the pending rows sent first.
    fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<postgres::Row>, Fault> {
        self.flush()?;
        let st = self.statement(sql)?;
        self.client.borrow_mut().query(&st, params).map_err(fault)
    }

    /// As [`PgStore::query`], at most one row.
    fn query_opt(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<postgres::Row>, Fault> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, Fault> {
        self.flush()?;
        let st = self.statement(sql)?;
        self.client.borrow_mut().execute(&st, params).map_err(fault)
    }

    fn batch(&self, sql: &str) -> Result<(), Fault> {
        self.client.borrow_mut().batch_execute(sql).map_err(fault)
    }

    /// Locks kpledger's tables in `mode` inside the transaction `open` has just begun, then
    /// checks the schema, as another session may have changed it. A table gone is said as the
    /// schema check says it, after `open` is dropped (the transaction rolled back).
    fn lock_and_check<T>(&self, mode: &str, open: T) -> Result<T, Fault> {
        let locked = match self.batch(&super::pg::lock_tables(mode)) {
            Ok(()) => Ok(open),
            Err(e) => {
                drop(open);
                Err(e)
            }
        };
        check_schema(&mut *self.client.borrow_mut(), &self.shown)?;
        locked
    }

    fn pairs(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        self.query(sql, params)?
            .iter()
            .map(|r| {
                let s: i64 = r.try_get(0).map_err(fault)?;
                let v = match r.columns()[1].type_() {
                    t if *t == postgres::types::Type::BYTEA => r.try_get::<_, Vec<u8>>(1),
                    _ => r.try_get::<_, String>(1).map(String::into_bytes),
                }
                .map_err(fault)?;
                Ok((seq(s), v))
            })
            .collect()
    }

    fn texts(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<String>, Fault> {
        self.query(sql, params)?.iter().map(|r| r.try_get::<_, String>(0).map_err(fault)).collect()
    }

    /// Sends the pending rows (a few statements, whatever their number).
    fn flush(&self) -> Result<(), Fault> {
        if self.pending.borrow().is_empty() {
            return Ok(());
        }
        let p = {
            let mut p = self.pending.borrow_mut();
            // What is sent is what the database then holds.
            let sent: Vec<((Table, String), Option<String>)> =
                p.derived.iter().map(|(k, row)| (k.clone(), doc_of(k.0, row))).collect();
            p.read.extend(sent);
            Pending {
                active: p.active,
                read: HashMap::new(),
                last_seq: p.last_seq,
                newest: p.newest.clone(),
                events: std::mem::take(&mut p.events),
                hashes: std::mem::take(&mut p.hashes),
                parcels: std::mem::take(&mut p.parcels),
                nodes: std::mem::take(&mut p.nodes),
                frontier: p.frontier.take(),
                derived: std::mem::take(&mut p.derived),
            }
        };
        let mut c = self.client.borrow_mut();
        let mut run = |sql: &str, params: &[Param<'_>]| -> Result<(), Fault> {
            let st = match self.statements.borrow().get(sql) {
                Some(s) => s.clone(),
                None => c.prepare(sql).map_err(fault)?,
            };
            self.statements.borrow_mut().entry(sql.to_owned()).or_insert_with(|| st.clone());
            c.execute(&st, params).map_err(fault).map(|_| ())
        };
        if !p.events.is_empty() {
            let e = &p.events;
            let seq: Vec<i64> = e.iter().map(|r| r.0).collect();
            let hash: Vec<&[u8]> = e.iter().map(|r| r.1.as_slice()).collect();
            let kind: Vec<&str> = e.iter().map(|r| r.2.as_str()).collect();
            let time: Vec<&str> = e.iter().map(|r| r.3.as_str()).collect();
            let signer: Vec<&str> = e.iter().map(|r| r.4.as_str()).collect();
            let doc: Vec<&str> = e.iter().map(|r| r.5.as_str()).collect();
            run(
                "INSERT INTO public.events(seq, hash, kind, time, signer, doc) SELECT * FROM \
                 unnest($1::bigint[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[])",
                &[&seq, &hash, &kind, &time, &signer, &doc],
            )?;
        }
        if !p.parcels.is_empty() {
            let parcel: Vec<&str> = p.parcels.iter().map(|(p, _)| p.as_str()).collect();
            let seq: Vec<i64> = p.parcels.iter().map(|(_, s)| *s).collect();
            run(
                "INSERT INTO public.event_parcels(parcel, seq) SELECT * FROM unnest($1::text[], $2::bigint[])",
                &[&parcel, &seq],
            )?;
        }
        if !p.nodes.is_empty() {
            let level: Vec<i32> = p.nodes.keys().map(|(l, _)| *l as i32).collect();
            let idx: Vec<i64> = p.nodes.keys().map(|(_, i)| int(*i)).collect();
            let hash: Vec<&[u8]> = p.nodes.values().map(|h| &h.0[..]).collect();
            run(
                "INSERT INTO public.log_nodes(level, idx, hash) SELECT * FROM \
                 unnest($1::integer[], $2::bigint[], $3::bytea[])",
                &[&level, &idx, &hash],
            )?;
        }
        if let Some((size, nodes)) = &p.frontier {
            run("DELETE FROM public.log_frontier", &[])?;
            run("INSERT INTO public.log_frontier(size, nodes) VALUES ($1, $2)", &[&int(*size), nodes])?;
        }
        // Each derived table's rows in one statement, replacing rows of the same key.
        let mut tables: BTreeMap<Table, Vec<&Vec<Cell>>> = BTreeMap::new();
        for ((table, _), row) in &p.derived {
            tables.entry(table).or_default().push(row);
        }
        for (table, rows) in tables {
            let cols = kpledger_verify::rows::columns(table);
            let arrays: Vec<Box<dyn ToSql + Sync>> = (0..cols.len())
                .map(|i| -> Box<dyn ToSql + Sync> {
                    let col = rows.iter().map(|r| r.get(i).cloned().unwrap_or(Cell::Null));
                    match column_type(cols[i]) {
                        "bigint" => Box::new(
                            col.map(|c| if let Cell::Int(v) = c { Some(v) } else { None })
                                .collect::<Vec<_>>(),
                        ),
                        "bytea" => Box::new(
                            col.map(|c| if let Cell::Blob(v) = c { Some(v) } else { None })
                                .collect::<Vec<_>>(),
                        ),
                        _ => Box::new(
                            col.map(|c| if let Cell::Text(v) = c { Some(v) } else { None })
                                .collect::<Vec<_>>(),
                        ),
                    }
                })
                .collect();
            let types: Vec<String> =
                cols.iter().enumerate().map(|(i, c)| format!("${}::{}[]", i + 1, column_type(c))).collect();
            let set: Vec<String> = cols[1..].iter().map(|c| format!("{c} = excluded.{c}")).collect();
            let sql = format!(
                "INSERT INTO public.{table}({}) SELECT * FROM unnest({}) ON CONFLICT ({}) DO UPDATE SET {}",
                cols.join(", "),
                types.join(", "),
                cols[0],
                set.join(", ")
            );
            let params: Vec<Param<'_>> = arrays.iter().map(|a| a.as_ref() as Param<'_>).collect();
            run(&sql, &params)?;
        }
        Ok(())
    }

    /// Forgets what the transaction knew and had not sent (a rollback, or its end).
    fn forget(&self) {
        *self.pending.borrow_mut() = Pending::default();
    }
}

/// The document cell of a derived row (`value` for `meta`, `doc` for the others: the last).
fn doc_of(table: Table, row: &[Cell]) -> Option<String> {
    let at = if table == "meta" { 1 } else { row.len().saturating_sub(1) };
    match row.get(at) {
        Some(Cell::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

impl Reads for PgStore {
    fn derived_doc(&self, table: Table, key: &str) -> Result<Option<String>, Fault> {
        let k = (table, key.to_owned());
        {
            let p = self.pending.borrow();
            if let Some(row) = p.derived.get(&k) {
                return Ok(doc_of(table, row));
            }
            if let Some(doc) = p.read.get(&k) {
                return Ok(doc.clone());
            }
        }
        let col = if table == "meta" { "value" } else { "doc" };
        let sql = format!("SELECT {col} FROM public.{table} WHERE {} = $1", order_column(table)?);
        let st = self.statement(&sql)?;
        let row = self.client.borrow_mut().query_opt(&st, &[&key]).map_err(fault)?;
        let doc = row.map(|r| r.try_get::<_, String>(0).map_err(fault)).transpose()?;
        let mut p = self.pending.borrow_mut();
        if p.active {
            p.read.insert(k, doc.clone());
        }
        Ok(doc)
    }
    fn actor_docs_of_country(&self, country: &str) -> Result<Vec<String>, Fault> {
        self.texts(
            "SELECT doc FROM public.actors WHERE country = $1 AND revoked = 0 ORDER BY id",
            &[&country],
        )
    }
    fn policy_countries(&self) -> Result<Vec<String>, Fault> {
        self.texts("SELECT country FROM public.policies ORDER BY country", &[])
    }
    fn certificate_numbers(&self, country: &str) -> Result<Vec<String>, Fault> {
        self.texts(
            "SELECT number FROM public.certificates WHERE issuing_country = $1 ORDER BY number",
            &[&country],
        )
    }
    fn derived_docs(&self, table: Table) -> Result<Vec<String>, Fault> {
        let col = if table == "meta" { "value" } else { "doc" };
        self.texts(&format!("SELECT {col} FROM public.{table} ORDER BY {}", order_column(table)?), &[])
    }
    fn derived_keys_between(&self, table: Table, range: KeyRange<'_>) -> Result<Vec<String>, Fault> {
        let [between, ..] =
            key_queries(&format!("public.{table}"), order_column(table)?, |n| format!("${n}"));
        self.texts(&between, &[&range.lo, &range.hi, &int(range.limit)])
    }
    fn derived_key_neighbours(&self, table: Table, key: &str) -> Result<[Option<String>; 2], Fault> {
        let [_, before, after] =
            key_queries(&format!("public.{table}"), order_column(table)?, |n| format!("${n}"));
        Ok([self.texts(&before, &[&key])?.pop(), self.texts(&after, &[&key])?.pop()])
    }

    fn event_count(&self) -> Result<u64, Fault> {
        let r = self.query("SELECT count(*) FROM public.events", &[])?;
        Ok(seq(r.first().map_or(Ok(0), |r| r.try_get(0)).map_err(fault)?))
    }
    fn last_seq(&self) -> Result<u64, Fault> {
        if let Some(s) = self.pending.borrow().last_seq {
            return Ok(s);
        }
        let st = self.statement("SELECT coalesce(max(seq), 0) FROM public.events")?;
        let s: i64 = self.client.borrow_mut().query_one(&st, &[]).map_err(fault)?.get(0);
        Ok(seq(s))
    }
    fn newest_time(&self) -> Result<Option<String>, Fault> {
        if let Some(t) = &self.pending.borrow().newest {
            return Ok(t.clone());
        }
        let st = self.statement("SELECT max(time) FROM public.events")?;
        let t: Option<String> = self.client.borrow_mut().query_one(&st, &[]).map_err(fault)?.get(0);
        Ok(t)
    }
    fn seq_of(&self, hash: &Hash) -> Result<Option<u64>, Fault> {
        if let Some(s) = self.pending.borrow().hashes.get(hash) {
            return Ok(Some(*s));
        }
        let st = self.statement("SELECT seq FROM public.events WHERE hash = $1")?;
        let r = self.client.borrow_mut().query_opt(&st, &[&&hash.0[..]]).map_err(fault)?;
        Ok(r.map(|r| seq(r.get(0))))
    }
    fn event_doc(&self, s: u64) -> Result<Option<Vec<u8>>, Fault> {
        let r = self.query_opt("SELECT doc FROM public.events WHERE seq = $1", &[&int(s)])?;
        r.map(|r| r.try_get::<_, String>(0).map(String::into_bytes).map_err(fault)).transpose()
    }
    fn event_docs(&self, first: u64, last: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        self.pairs(
            "SELECT seq, doc FROM public.events WHERE seq BETWEEN $1 AND $2 ORDER BY seq",
            &[&int(first), &int(last)],
        )
    }
    fn event_hashes(&self, first: u64, last: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        self.pairs(
            "SELECT seq, hash FROM public.events WHERE seq BETWEEN $1 AND $2 ORDER BY seq",
            &[&int(first), &int(last)],
        )
    }
    fn events_by_hash_between(&self, lo: &Hash, hi: &Hash, limit: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        self.pairs(
            "SELECT seq, hash FROM public.events WHERE hash BETWEEN $1 AND $2 ORDER BY hash LIMIT $3",
            &[&&lo.0[..], &&hi.0[..], &int(limit)],
        )
    }
    fn event_docs_of_kinds(&self, kinds: &[&str]) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        let kinds: Vec<&str> = kinds.to_vec();
        self.pairs("SELECT seq, doc FROM public.events WHERE kind = ANY($1) ORDER BY seq", &[&kinds])
    }
    fn event_docs_of_kinds_after(
        &self,
        kinds: &[&str],
        Page { after, limit }: Page<u64>,
    ) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        let kinds: Vec<&str> = kinds.to_vec();
        self.pairs(
            "SELECT seq, doc FROM public.events WHERE seq > $1 AND kind = ANY($3) ORDER BY seq LIMIT $2",
            &[&int(after), &int(limit), &kinds],
        )
    }
    fn parcel_seqs(&self, parcel: &str) -> Result<Vec<u64>, Fault> {
        Ok(self
            .query("SELECT seq FROM public.event_parcels WHERE parcel = $1 ORDER BY seq", &[&parcel])?
            .iter()
            .map(|r| seq(r.get(0)))
            .collect())
    }
    fn parcel_event_docs(&self, parcel: &str) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        self.pairs(
            "SELECT e.seq, e.doc FROM public.event_parcels p JOIN public.events e ON e.seq = p.seq \
             WHERE p.parcel = $1 ORDER BY p.seq",
            &[&parcel],
        )
    }
    fn stored_events_after(&self, after: i64, limit: u64) -> Result<Vec<StoredEvent>, Fault> {
        let mut out = self
            .query(
                "SELECT seq, hash, kind, time, signer, doc FROM public.events WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &int(limit)],
            )?
            .iter()
            .map(|r| -> Result<StoredEvent, Fault> {
                Ok(StoredEvent {
                    seq: r.try_get::<_, i64>(0).map_err(fault)? as u64,
                    hash: r.try_get(1).map_err(fault)?,
                    kind: r.try_get(2).map_err(fault)?,
                    time: r.try_get(3).map_err(fault)?,
                    signer: r.try_get(4).map_err(fault)?,
                    doc: r.try_get::<_, String>(5).map_err(fault)?.into_bytes(),
                    index: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (Some(a), Some(b)) = (out.first().map(|e| e.seq as i64), out.last().map(|e| e.seq as i64)) else {
            return Ok(out);
        };
        let range: [Param<'_>; 2] = [&a, &b];
        // The parcel index of the same range, merged in (rows that point at no event are
        // caught by the count in `LedgerCheck::finish`).
        let index = self.query(
            "SELECT seq, parcel FROM public.event_parcels WHERE seq BETWEEN $1 AND $2 ORDER BY seq, parcel",
            &range,
        )?;
        let mut at = 0;
        for r in index {
            let s = r.try_get::<_, i64>(0).map_err(fault)? as u64;
            while at < out.len() && out[at].seq < s {
                at += 1;
            }
            if let Some(ev) = out.get_mut(at).filter(|e| e.seq == s) {
                ev.index.push(r.try_get(1).map_err(fault)?);
            }
        }
        Ok(out)
    }

    fn log_node(&self, level: u32, index: u64) -> Result<Option<Hash>, Fault> {
        if let Some(h) = self.pending.borrow().nodes.get(&(level, index)) {
            return Ok(Some(*h));
        }
        let st = self.statement("SELECT hash FROM public.log_nodes WHERE level = $1 AND idx = $2")?;
        let r = self.client.borrow_mut().query_opt(&st, &[&(level as i32), &int(index)]).map_err(fault)?;
        Ok(r.and_then(|r| <[u8; 32]>::try_from(r.get::<_, Vec<u8>>(0).as_slice()).ok()).map(Hash))
    }
    fn log_nodes(&self, level: u32, first: u64, count: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault> {
        self.pairs(
            "SELECT idx, hash FROM public.log_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
            &[&(level as i32), &int(first), &int(first.saturating_add(count))],
        )
    }
    fn log_frontier(&self) -> Result<Option<Vec<u8>>, Fault> {
        if let Some((_, nodes)) = &self.pending.borrow().frontier {
            return Ok(Some(nodes.clone()));
        }
        let st = self.statement("SELECT nodes FROM public.log_frontier ORDER BY size DESC LIMIT 1")?;
        let r = self.client.borrow_mut().query_opt(&st, &[]).map_err(fault)?;
        Ok(r.map(|r| r.get(0)))
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, Fault> {
        self.query("SELECT size, root, note FROM public.checkpoints ORDER BY size", &[])?
            .iter()
            .map(checkpoint)
            .collect()
    }
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, Fault> {
        self.query_opt("SELECT size, root, note FROM public.checkpoints ORDER BY size DESC LIMIT 1", &[])?
            .as_ref()
            .map(checkpoint)
            .transpose()
    }
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, Fault> {
        self.query_opt("SELECT size, root, note FROM public.checkpoints WHERE size = $1", &[&int(size)])?
            .as_ref()
            .map(checkpoint)
            .transpose()
    }

    fn derived_rows(&self, table: Table) -> Result<Vec<Vec<Cell>>, Fault> {
        let sql = format!("SELECT * FROM public.{table} ORDER BY {}", order_column(table)?);
        self.query(&sql, &[])?.iter().map(cells).collect()
    }
    fn derived_rows_after(&self, table: Table, page: Page<Option<&str>>) -> Result<Vec<Vec<Cell>>, Fault> {
        let Page { after, limit } = page;
        let k = order_column(table)?;
        let rows = match after {
            None => {
                self.query(&format!("SELECT * FROM public.{table} ORDER BY {k} LIMIT $1"), &[&int(limit)])?
            }
            Some(a) => self.query(
                &format!("SELECT * FROM public.{table} WHERE {k} > $1 ORDER BY {k} LIMIT $2"),
                &[&a, &int(limit)],
            )?,
        };
        rows.iter().map(cells).collect()
    }
    fn derived_row(&self, table: Table, key: &str) -> Result<Option<Vec<Cell>>, Fault> {
        let sql = format!("SELECT * FROM public.{table} WHERE {} = $1", order_column(table)?);
        self.query_opt(&sql, &[&key])?.as_ref().map(cells).transpose()
    }
    fn derived_rows_by_key(&self, table: Table, keys: &[&str]) -> Result<Vec<Vec<Cell>>, Fault> {
        let sql = format!("SELECT * FROM public.{table} WHERE {} = ANY($1)", order_column(table)?);
        let keys: Vec<&str> = keys.to_vec();
        self.query(&sql, &[&keys])?.iter().map(cells).collect()
    }
    fn counts(&self) -> Result<StoredCounts, Fault> {
        let count = |sql: &str| -> Result<u64, Fault> {
            Ok(seq(self.query_opt(sql, &[])?.map_or(Ok(0), |r| r.try_get(0)).map_err(fault)?))
        };
        Ok(StoredCounts {
            index_rows: count("SELECT count(*) FROM public.event_parcels")?,
            log_nodes: count("SELECT count(*) FROM public.log_nodes")?,
        })
    }
}

fn checkpoint(r: &postgres::Row) -> Result<StoredCheckpoint, Fault> {
    Ok(StoredCheckpoint {
        size: seq(r.try_get(0).map_err(fault)?),
        root: r.try_get(1).map_err(fault)?,
        note: r.try_get(2).map_err(fault)?,
    })
}

impl Writes for PgStore {
    fn insert_event(&self, row: &EventRow<'_>) -> Result<u64, Fault> {
        let s = self.last_seq()? + 1;
        let newest = match self.newest_time()? {
            Some(t) if t.as_str() >= row.time => t,
            _ => row.time.to_owned(),
        };
        let mut p = self.pending.borrow_mut();
        p.last_seq = Some(s);
        p.newest = Some(Some(newest));
        p.hashes.insert(*row.hash, s);
        p.events.push((
            int(s),
            row.hash.0.to_vec(),
            row.kind.to_owned(),
            row.time.to_owned(),
            row.signer.to_owned(),
            row.doc.to_owned(),
        ));
        Ok(s)
    }
    fn insert_event_parcel(&self, parcel: &str, s: u64) -> Result<(), Fault> {
        self.pending.borrow_mut().parcels.push((parcel.to_owned(), int(s)));
        Ok(())
    }
    fn put_derived(&self, row: &DerivedRow) -> Result<(), Fault> {
        self.pending.borrow_mut().derived.insert((row.table(), row.key().to_owned()), row.cells());
        Ok(())
    }
    fn insert_log_node(&self, level: u32, index: u64, hash: &Hash) -> Result<(), Fault> {
        let mut p = self.pending.borrow_mut();
        if p.nodes.insert((level, index), *hash).is_some() {
            return Err(Fault::Corrupt(format!("the log's node ({level}, {index}) was written twice")));
        }
        Ok(())
    }
    fn set_log_frontier(&self, size: u64, nodes: &[u8]) -> Result<(), Fault> {
        self.pending.borrow_mut().frontier = Some((size, nodes.to_vec()));
        Ok(())
    }
    fn insert_checkpoint(&self, size: u64, root: &[u8], note: &str) -> Result<(), Fault> {
        self.execute(
            "INSERT INTO public.checkpoints(size, root, note) VALUES ($1, $2, $3)",
            &[&int(size), &root, &note],
        )
        .map(|_| ())
    }
    fn update_checkpoint_note(&self, size: u64, note: &str) -> Result<(), Fault> {
        self.execute("UPDATE public.checkpoints SET note = $1 WHERE size = $2", &[&note, &int(size)])
            .map(|_| ())
    }
    fn savepoint(&self) -> Result<(), Fault> {
        self.flush()?;
        self.batch("SAVEPOINT submission")
    }
    fn release_savepoint(&self) -> Result<(), Fault> {
        self.flush()?;
        self.batch("RELEASE submission")
    }
    fn rollback_savepoint(&self) -> Result<(), Fault> {
        // What is pending belongs to the savepoint: dropped with it, and the log's end read
        // again; the transaction goes on.
        self.forget();
        self.pending.borrow_mut().active = true;
        self.batch("ROLLBACK TO submission; RELEASE submission")
    }
}

/// The one write transaction of a PostgreSQL ledger: opened with SQL on the store's
/// connection, rolled back when dropped uncommitted.
struct PgTx<'s> {
    store: &'s PgStore,
    open: bool,
}

impl WriteTx for PgTx<'_> {
    fn commit(mut self: Box<Self>) -> Result<(), Fault> {
        self.store.flush()?;
        self.open = false;
        self.store.forget();
        // Inside a held transaction, committed with it (`PgStore::release`).
        if self.store.holding.get() {
            return Ok(());
        }
        // The creation of the tables too, when this transaction is part of it.
        self.store.creating.set(false);
        self.store.batch("COMMIT")
    }
    fn writes(&self) -> &dyn Writes {
        self.store
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if self.open {
            self.store.forget();
            // A broken connection rolls the transaction back by itself. The creation of the
            // tables too, when this transaction is part of it, and all of a held transaction.
            let _ = self.store.batch("ROLLBACK");
            self.store.creating.set(false);
            self.store.holding.set(false);
        }
    }
}

/// A repeatable-read, read-only transaction held open (dropped: rolled back); or, inside a held
/// transaction (`PgStore::hold`), that transaction itself, which then reads what it wrote and
/// is left open.
struct PgSnapshot<'s>(&'s PgStore, bool);

impl Snapshot for PgSnapshot<'_> {}

impl Drop for PgSnapshot<'_> {
    fn drop(&mut self) {
        if self.1 {
            let _ = self.0.batch("ROLLBACK");
        }
    }
}

impl Backend for PgStore {
    fn reads(&self) -> &dyn Reads {
        self
    }
    fn begin_write(&mut self) -> Result<Box<dyn WriteTx + '_>, Fault> {
        self.forget();
        // Inside the transaction that created the tables, this one is part of it.
        if !self.creating.get() && !self.holding.get() {
            self.batch("BEGIN")?;
        }
        self.pending.borrow_mut().active = true;
        let tx = PgTx { store: self, open: true };
        // The sequencer first: what this transaction then reads of the log's end is what the
        // writer before it committed. Then the schema, as another session may have changed it.
        // The server's fsync and full_page_writes too: a reload may have turned either off
        // since this writer connected.
        let st = self.statement(
            "SELECT pg_advisory_xact_lock($1)::text, current_setting('fsync'), current_setting('full_page_writes')",
        )?;
        let row = self.client.borrow_mut().query_one(&st, &[&SEQUENCER_LOCK]).map_err(fault)?;
        super::pg::durable(&row.get::<_, String>(1), &row.get::<_, String>(2), &self.shown)?;
        Ok(Box::new(self.lock_and_check("ROW EXCLUSIVE", tx)?))
    }
    fn begin_snapshot(&self) -> Result<Box<dyn Snapshot + '_>, Fault> {
        // Inside a held transaction: it, with what it wrote, is the snapshot (the sequencer's
        // lock it holds keeps every other writer out).
        let own = !self.holding.get();
        if own {
            self.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        }
        let snapshot = PgSnapshot(self, own);
        Ok(Box::new(self.lock_and_check("ACCESS SHARE", snapshot)?))
    }
    fn check_schema(&self) -> Result<(), Fault> {
        Ok(check_schema(&mut *self.client.borrow_mut(), &self.shown)?)
    }
    fn integrity_check(&self) -> Result<(), Fault> {
        // PostgreSQL has no counterpart of SQLite's `integrity_check` that runs without an
        // extension (and the schema check refuses extensions): its pages are checked by the
        // server when the cluster has checksums (`initdb --data-checksums`), and verification compares every stored cell with what the
        // signed events imply, every index lookup included.
        Ok(())
    }
}
