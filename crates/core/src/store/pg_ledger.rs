//! A ledger on PostgreSQL ([`super::pg`]), for what works today without the storage boundary
//! under `Ledger`: recording a ledger's events into an **empty** database (`kpledger ledger
//! copy`), judged by the rules on an in-memory state that starts empty and takes each accepted
//! event's effects — the same state whole-ledger verification keeps —, and whole-ledger
//! verification of the database, every stored cell compared with what the events imply.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use kpledger_model::Hash;
use kpledger_verify::merkle::Frontier;
use kpledger_verify::{Cell, StoredCheckpoint, StoredCounts, StoredEvent, StoredRow, StoredRows, Tables};
use kpledger_verify::{Effect, LedgerCheck, MemState, Report, SigMode, rows as derived};
use postgres::Transaction;

use super::pg::{EventRow, PgStore, describe, rows};
use super::{StorageError, StoreError};

/// Events per transaction, and per batch read during verification.
const BATCH: usize = 2048;

/// A PostgreSQL ledger.
#[derive(Debug)]
pub struct PgLedger {
    store: PgStore,
}

impl PgLedger {
    /// Creates the ledger's tables in an empty database.
    pub fn create(url: &str) -> Result<PgLedger, StoreError> {
        Ok(PgLedger { store: PgStore::create(url)? })
    }

    /// Opens a ledger database (its schema checked exactly).
    pub fn open(url: &str, read_only: bool) -> Result<PgLedger, StoreError> {
        Ok(PgLedger { store: PgStore::open(url, read_only)? })
    }

    /// The database, as messages name it.
    pub fn shown(&self) -> &std::path::Path {
        self.store.shown()
    }

    fn err(&self, e: postgres::Error) -> StoreError {
        StoreError::Refused(format!("PostgreSQL at {}: {}", self.store.shown().display(), describe(&e)))
    }

    /// Number of events.
    pub fn len(&mut self) -> Result<u64, StoreError> {
        rows::last_seq(self.store.client()).map_err(|e| self.err(e))
    }

    /// True if the ledger holds no event.
    pub fn is_empty(&mut self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// The canonical documents of the events at `first ..= last`.
    pub fn event_docs(&mut self, first: u64, last: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        rows::event_docs(self.store.client(), first, last).map_err(|e| self.err(e))
    }

    /// Every stored checkpoint, by size.
    pub fn stored_checkpoints(&mut self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        checkpoints(self.store.client()).map_err(|e| self.err(e))
    }

    /// Stores a checkpoint carried over from another store of the same log, as it is (its
    /// signature covers the tree's size and root, which the events decide); whole-ledger
    /// verification checks it (LOG-2).
    pub fn carry_checkpoint(&mut self, c: &StoredCheckpoint) -> Result<(), StoreError> {
        let size =
            i64::try_from(c.size).map_err(|_| StoreError::Refused(format!("checkpoint size {}", c.size)))?;
        let shown = self.store.shown().to_owned();
        let mut tx = self.store.write_transaction()?;
        tx.execute(
            "INSERT INTO public.checkpoints(size, root, note) VALUES ($1, $2, $3)",
            &[&size, &c.root, &c.note],
        )
        .and_then(|_| tx.commit())
        .map_err(|e| StoreError::Refused(format!("PostgreSQL at {}: {}", shown.display(), describe(&e))))
    }

    /// Records the events of `batches` (documents, in order) into this ledger, which must hold
    /// none: each event is judged by the rules on the state the events before it made, and an
    /// accepted event is written with its parcel index rows, Merkle nodes and derived rows, a
    /// batch per transaction (each kind of row one statement). Stops at the first event that
    /// cannot be read or is refused: the batches before it stay committed, and the error names
    /// its position (0-based).
    pub fn ingest_into_empty(
        &mut self,
        batches: &mut dyn Iterator<Item = Result<Vec<Vec<u8>>, StoreError>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, (u64, StoreError)> {
        if !self.is_empty().map_err(|e| (0, e))? {
            return Err((0, StorageError::Exists(self.store.shown().to_owned()).into()));
        }
        let shown = self.store.shown().to_owned();
        let pg = |e: postgres::Error| {
            StoreError::Refused(format!("PostgreSQL at {}: {}", shown.display(), describe(&e)))
        };
        let mut state = MemState::default();
        let mut frontier = Frontier::default();
        let mut seen: HashSet<Hash> = HashSet::new();
        let mut newest: Option<kpledger_model::Time> = None;
        let mut done = 0u64;
        for docs in batches {
            let docs = docs.map_err(|e| (done, e))?;
            let prepared = kpledger_verify::prepare::prepare(&docs, SigMode::Strict);
            let mut events = Vec::with_capacity(prepared.len());
            let mut parcels = Vec::new();
            let mut nodes = Vec::new();
            let mut derived_rows: BTreeMap<(&'static str, String), Vec<Cell>> = BTreeMap::new();
            for (i, p) in prepared.into_iter().enumerate() {
                let at = done + i as u64;
                let ev =
                    p.parsed.map_err(|source| (at, StoreError::NotAnEvent { number: at + 1, source }))?;
                let sigs = p.sigs.unwrap_or_else(|| kpledger_verify::Signatures::check(&ev));
                let mut verdict = kpledger_verify::check_event_signed(&state, &ev, sigs);
                if let Some(f) = kpledger_verify::ledger_clock(newest.as_ref(), &ev) {
                    verdict = verdict.with_first(f);
                }
                if seen.contains(&ev.hash) {
                    let f = kpledger_verify::Finding::error(
                        kpledger_verify::Rule::Ch1,
                        "this very event is already in this ledger; an event is recorded once",
                    );
                    verdict = verdict.with_first(f);
                }
                let accepted = verdict
                    .accept()
                    .map_err(|findings| (at, StoreError::Rejected { hash: ev.hash, findings }))?;
                let seq = i64::try_from(at + 1).unwrap_or(i64::MAX);
                let body = &ev.event.body;
                let doc = String::from_utf8(ev.canonical.to_vec()).map_err(|_| {
                    (
                        at,
                        StorageError::BadRow {
                            path: shown.clone(),
                            reason: "canonical bytes are not UTF-8".into(),
                        }
                        .into(),
                    )
                })?;
                events.push(EventRow {
                    seq,
                    hash: ev.hash.0.to_vec(),
                    kind: body.payload.kind().to_owned(),
                    time: body.time.as_str().to_owned(),
                    signer: body.signer.as_str().to_owned(),
                    doc,
                });
                for (parcel, _) in body.payload.parcels() {
                    parcels.push((parcel.to_string(), seq));
                }
                let completed = frontier.push(kpledger_verify::log::leaf_hash(&ev.hash)).map_err(|e| {
                    (
                        at,
                        StorageError::Corrupt {
                            path: shown.clone(),
                            reason: format!("the log's Merkle tree: {e}"),
                        }
                        .into(),
                    )
                })?;
                for n in completed {
                    nodes.push((n.level() as i32, n.index() as i64, n.hash.0.to_vec()));
                }
                for effect in accepted.effects() {
                    if let Some((table, row)) = derived_row(effect) {
                        let key = match row.first() {
                            Some(Cell::Text(k)) => k.clone(),
                            _ => String::new(),
                        };
                        derived_rows.insert((table, key), row);
                    }
                }
                state.apply(accepted.effects().to_vec());
                if newest.as_ref().is_none_or(|t| body.time.unix() > t.unix()) {
                    newest = Some(body.time.clone());
                }
                seen.insert(ev.hash);
            }
            let n = events.len() as u64;
            let mut write = || -> Result<(), StoreError> {
                let mut tx = self.store.write_transaction()?;
                if rows::last_seq(&mut tx).map_err(pg)? != done {
                    return Err(StoreError::Refused(format!(
                        "{}: another writer recorded events meanwhile; copy into a database nobody else writes to",
                        shown.display()
                    )));
                }
                rows::insert_events(&mut tx, &events, &parcels, &nodes).map_err(pg)?;
                for ((table, _), row) in &derived_rows {
                    if let Some(r) = rows::put_row(&mut tx, table, row) {
                        r.map_err(pg)?;
                    }
                }
                tx.execute("DELETE FROM public.log_frontier", &[]).map_err(pg)?;
                let size = i64::try_from(frontier.size()).unwrap_or(i64::MAX);
                tx.execute(
                    "INSERT INTO public.log_frontier(size, nodes) VALUES ($1, $2)",
                    &[&size, &frontier.to_bytes()],
                )
                .map_err(pg)?;
                tx.commit().map_err(pg)
            };
            write().map_err(|e| (done, e))?;
            done += n;
            progress(done);
        }
        Ok(done)
    }

    /// Verifies the whole ledger, as [`crate::Ledger::verify`] does a file: every stored event
    /// in order through the rules, every derived cell, Merkle node and the frontier against
    /// what the events give, every checkpoint. One read-only, repeatable-read transaction: one
    /// snapshot of every table.
    pub fn verify(
        &mut self,
        mode: SigMode,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Report, StoreError> {
        let shown = self.store.shown().to_owned();
        let pg = |e: postgres::Error| {
            StoreError::Refused(format!("PostgreSQL at {}: {}", shown.display(), describe(&e)))
        };
        let mut tx = self
            .store
            .client()
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg)?;
        super::pg::check_schema(&mut tx, &shown)?;
        let total = rows::last_seq(&mut tx).map_err(pg)?;
        let checkpoints = checkpoints(&mut tx).map_err(pg)?;
        let tx = RefCell::new(tx);
        let mut lc = LedgerCheck::with_checkpoints(checkpoints.iter().map(|c| c.size));
        let mut next = 1u64;
        let mut next_batch = || -> Result<Vec<StoredEvent>, StoreError> {
            if next > total {
                return Ok(Vec::new());
            }
            let last = (next + BATCH as u64 - 1).min(total);
            let (a, b) = (next as i64, last as i64);
            next = last + 1;
            let mut tx = tx.borrow_mut();
            let mut index: HashMap<i64, Vec<String>> = HashMap::new();
            for r in tx
                .query("SELECT seq, parcel FROM public.event_parcels WHERE seq BETWEEN $1 AND $2 ORDER BY seq, parcel", &[&a, &b])
                .map_err(pg)?
            {
                index.entry(r.get(0)).or_default().push(r.get(1));
            }
            let rows = tx
                .query(
                    "SELECT seq, hash, kind, time, signer, doc FROM public.events WHERE seq BETWEEN $1 AND $2 ORDER BY seq",
                    &[&a, &b],
                )
                .map_err(pg)?;
            Ok(rows
                .iter()
                .map(|r| {
                    let seq: i64 = r.get(0);
                    StoredEvent {
                        seq: seq as u64,
                        hash: r.get(1),
                        kind: r.get(2),
                        time: r.get(3),
                        signer: r.get(4),
                        doc: r.get::<_, String>(5).into_bytes(),
                        index: index.remove(&seq).unwrap_or_default(),
                    }
                })
                .collect())
        };
        let mut stored = PgRows { tx: &tx, levels: HashMap::new() };
        let mut done = 0u64;
        let helpers = std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1);
        kpledger_verify::prepare::pipeline(
            mode,
            helpers,
            |row: &StoredEvent| row.doc.as_slice(),
            &mut next_batch,
            |row, p| {
                lc.feed_prepared(row, p, &mut stored);
                done += 1;
                if done.is_multiple_of(1024) || done == total {
                    progress(done, total);
                }
            },
        )?;
        let mut tx = tx.into_inner();
        let mut tables = Tables::new();
        for (table, _, _) in super::pg::DERIVED.iter().filter(|(t, _, _)| *t != "parcels") {
            tables.insert((*table).to_owned(), all_rows(&mut tx, table).map_err(pg)?);
        }
        tables.insert("log_frontier".into(), all_rows(&mut tx, "log_frontier").map_err(pg)?);
        let parcels = all_rows(&mut tx, "parcels").map_err(pg)?;
        let count = |tx: &mut Transaction<'_>, t: &str| -> Result<u64, StoreError> {
            let n: i64 = tx.query_one(&format!("SELECT count(*) FROM public.{t}"), &[]).map_err(pg)?.get(0);
            Ok(n as u64)
        };
        let counts = StoredCounts {
            index_rows: count(&mut tx, "event_parcels")?,
            log_nodes: count(&mut tx, "log_nodes")?,
        };
        Ok(lc.finish(&tables, &mut parcels.into_iter(), counts, &checkpoints))
    }
}

fn derived_row(effect: &Effect) -> Option<(&'static str, Vec<Cell>)> {
    Some(match effect {
        Effect::SetOrigin(o) => ("meta", derived::origin_row(o.as_str())),
        Effect::PutActor(a) => ("actors", derived::actor_row(a)),
        Effect::PutSite(s) => ("sites", derived::site_row(s)),
        Effect::PutPolicy(p) => ("policies", derived::policy_row(p)),
        Effect::PutParcel(p) => ("parcels", derived::parcel_row(p)),
        Effect::PutCertificate(c) => ("certificates", derived::certificate_row(c)),
        Effect::PutImport { key, event } => ("meta", derived::import_row(key, event)),
        _ => return None,
    })
}

fn checkpoints(c: &mut impl postgres::GenericClient) -> Result<Vec<StoredCheckpoint>, postgres::Error> {
    Ok(c.query("SELECT size, root, note FROM public.checkpoints ORDER BY size", &[])?
        .iter()
        .map(|r| StoredCheckpoint { size: r.get::<_, i64>(0) as u64, root: r.get(1), note: r.get(2) })
        .collect())
}

/// A row's cells, each column read by its type (bigint and integer as integers, bytea as
/// bytes, text as text).
fn cells(r: &postgres::Row) -> Vec<Cell> {
    use postgres::types::Type;
    (0..r.len())
        .map(|i| {
            let t = r.columns()[i].type_();
            if *t == Type::INT8 {
                r.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int)
            } else if *t == Type::INT4 {
                r.get::<_, Option<i32>>(i).map_or(Cell::Null, |v| Cell::Int(i64::from(v)))
            } else if *t == Type::BYTEA {
                r.get::<_, Option<Vec<u8>>>(i).map_or(Cell::Null, Cell::Blob)
            } else {
                r.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text)
            }
        })
        .collect()
}

fn all_rows(c: &mut impl postgres::GenericClient, table: &str) -> Result<Vec<Vec<Cell>>, postgres::Error> {
    Ok(c.query(&format!("SELECT * FROM public.{table}"), &[])?.iter().map(cells).collect())
}

/// Nodes of one level read together: the first index asked, and (index, hash) from there.
type NodeChunk = (u64, Vec<(u64, Option<Hash>)>);

/// Stored rows by key, and the stored tree's nodes a level at a time, for the verifier.
struct PgRows<'t, 'c> {
    tx: &'t RefCell<Transaction<'c>>,
    /// Per level: the nodes of the chunk read last (first index, hashes).
    levels: HashMap<u32, NodeChunk>,
}

impl StoredRows for PgRows<'_, '_> {
    fn compare(&mut self, table: &str, expected: &[Cell]) -> StoredRow {
        if table != "parcels" {
            return StoredRow::Missing;
        }
        let Some(Cell::Text(key)) = expected.first() else { return StoredRow::Missing };
        let found = self.tx.borrow_mut().query_opt("SELECT * FROM public.parcels WHERE id = $1", &[key]);
        match found {
            Ok(Some(r)) => {
                let got = cells(&r);
                if got == expected { StoredRow::Same } else { StoredRow::Differs(got) }
            }
            _ => StoredRow::Missing,
        }
    }

    fn log_node(&mut self, level: u32, index: u64) -> Option<Hash> {
        let cached = self.levels.get(&level).and_then(|(first, nodes)| {
            let last = nodes.last().map(|(i, _)| *i)?;
            (index >= *first && index <= last)
                .then(|| nodes.iter().find(|(i, _)| *i == index).and_then(|(_, h)| *h))
        });
        if let Some(found) = cached {
            return found;
        }
        let lvl = level as i32;
        let from = i64::try_from(index).ok()?;
        let rows = self
            .tx
            .borrow_mut()
            .query(
                "SELECT idx, hash FROM public.log_nodes WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT 4096",
                &[&lvl, &from],
            )
            .ok()?;
        let nodes: Vec<(u64, Option<Hash>)> = rows
            .iter()
            .map(|r| {
                let h: Vec<u8> = r.get(1);
                (r.get::<_, i64>(0) as u64, <[u8; 32]>::try_from(h.as_slice()).ok().map(Hash))
            })
            .collect();
        let found = nodes.iter().find(|(i, _)| *i == index).and_then(|(_, h)| *h);
        self.levels.insert(level, (index, nodes));
        found
    }
}
