//! The write path: judging events against the stored state and writing what the rules accept.

use std::path::Path;

use crate::log_tree::LogTree;
use kpledger_model::{ActorId, Country, Hash, ParsedEvent};
use kpledger_verify::Cell;
use kpledger_verify::{Accepted, ActorState, Effect, Finding, PolicyHistory, SigMode, rows};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::schema::check_schema;
use super::state::SqlState;
use super::{Appended, GroupOutcome, Ledger, Recorded, StoreError, sql_err, tree_err};

impl Ledger {
    /// Checks `event` against the current state and appends it if the rules accept it.
    pub fn append(&mut self, event: &ParsedEvent) -> Result<Appended, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&path, e))?;
        check_schema(&tx, &path)?;
        let out = append_in(&tx, &path, event)?;
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(out)
    }

    /// Bulk ingest: appends batches of stored-form documents, each batch in its own durable
    /// transaction (all of its events, or none). While this thread judges and writes one
    /// batch, a worker reads the next one and checks its signatures on every core, so the
    /// signature checks overlap the rules and the disk. Stops at the first batch that cannot
    /// be read or is refused: the batches before it stay committed, and the error names the
    /// position (0-based, over all documents) of the event at fault. `progress(events done)`
    /// is called after each commit.
    pub fn ingest_batches(
        &mut self,
        batches: impl Iterator<Item = Vec<Vec<u8>>> + Send,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, (u64, StoreError)> {
        let mut done = 0u64;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || {
                for docs in batches {
                    let prepared = kpledger_verify::prepare::prepare(&docs, SigMode::Strict);
                    if tx.send(prepared).is_err() {
                        break;
                    }
                }
            });
            for prepared in rx {
                let mut events = Vec::with_capacity(prepared.len());
                let mut sigs = Vec::with_capacity(prepared.len());
                for (i, p) in prepared.into_iter().enumerate() {
                    let at = done + i as u64;
                    let ev =
                        p.parsed.map_err(|source| (at, StoreError::NotAnEvent { number: at + 1, source }))?;
                    sigs.push(p.sigs.unwrap_or_else(|| kpledger_verify::Signatures::check(&ev)));
                    events.push(ev);
                }
                self.append_all_signed(&events, sigs).map_err(|(i, e)| (done + i as u64, e))?;
                done += events.len() as u64;
                progress(done);
            }
            // Dropping `rx` here stops the worker at its next batch.
            Ok(done)
        })
    }

    /// Appends several events in one transaction: all of them, or none (the error names
    /// the index of the first refused event).
    pub fn append_all(&mut self, events: &[ParsedEvent]) -> Result<Vec<Appended>, (usize, StoreError)> {
        // Signatures do not depend on the ledger's state: they are checked first, on every
        // core, then the rules judge the events in order with their verdicts.
        let sigs = kpledger_verify::prepare::signatures(events, SigMode::Strict);
        self.append_all_signed(events, sigs)
    }

    /// As [`Ledger::append_all`], with the events' signatures already checked.
    fn append_all_signed(
        &mut self,
        events: &[ParsedEvent],
        sigs: Vec<kpledger_verify::Signatures>,
    ) -> Result<Vec<Appended>, (usize, StoreError)> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| (0, sql_err(&path, e)))?;
        check_schema(&tx, &path).map_err(|e| (0, e))?;
        // Actors and policies change rarely: read and decoded once per batch.
        let cache = BatchCache::default();
        let mut out = Vec::with_capacity(events.len());
        for (i, (ev, sig)) in events.iter().zip(sigs).enumerate() {
            out.push(append_in_signed(&tx, &path, ev, sig, &cache).map_err(|e| (i, e))?);
        }
        tx.commit().map_err(|e| (events.len(), sql_err(&path, e)))?;
        Ok(out)
    }

    /// Group commit: several independent submissions in one durable transaction (one wait
    /// for the disk for all of them). Each submission is all or nothing on its own (a
    /// savepoint): a refused one leaves no trace and does not disturb the others. An event the
    /// ledger already holds is reported with its position and left alone (a retry); the same
    /// new event twice in one submission is refused (CH-1), as in [`Ledger::append_all`].
    /// `sigs[i]` are the verdicts on the signatures of `groups[i]`, event by event. The outer
    /// error is a failure of the database for the whole group: nothing of it was committed.
    pub fn append_groups(
        &mut self,
        groups: &[(&[ParsedEvent], Vec<kpledger_verify::Signatures>)],
    ) -> Result<Vec<GroupOutcome>, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&path, e))?;
        check_schema(&tx, &path)?;
        let mut out = Vec::with_capacity(groups.len());
        for (events, sigs) in groups {
            tx.execute_batch("SAVEPOINT submission").map_err(|e| sql_err(&path, e))?;
            // A cache per submission: a refused one's effects vanish with its savepoint.
            let cache = BatchCache::default();
            let mut done = Vec::with_capacity(events.len());
            let mut fresh = std::collections::HashSet::new();
            let mut refused = None;
            for (i, (ev, sig)) in events.iter().zip(sigs).enumerate() {
                if !fresh.contains(&ev.hash)
                    && let Some(seq) = seq_of(&tx, &path, &ev.hash)?
                {
                    done.push(Recorded::Already { seq, hash: ev.hash });
                    continue;
                }
                fresh.insert(ev.hash);
                match append_in_signed(&tx, &path, ev, *sig, &cache) {
                    Ok(a) => done.push(Recorded::New(a)),
                    Err(e @ StoreError::Rejected { .. }) => {
                        refused = Some((i, e));
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            match refused {
                None => {
                    tx.execute_batch("RELEASE submission").map_err(|e| sql_err(&path, e))?;
                    out.push(Ok(done));
                }
                Some(r) => {
                    tx.execute_batch("ROLLBACK TO submission; RELEASE submission")
                        .map_err(|e| sql_err(&path, e))?;
                    out.push(Err(r));
                }
            }
        }
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(out)
    }

    /// Checks `event` without appending it (an event already in the ledger is refused, as
    /// `append` would). A stored row the rules need that cannot be read is an error, as it
    /// is for `append`: never a verdict made without it.
    pub fn dry_run(&self, event: &ParsedEvent) -> Result<kpledger_verify::Verdict, StoreError> {
        let dup = already_recorded(&self.conn, &self.path, event)?;
        let verdict = judge(&self.conn, &self.path, None, event, kpledger_verify::Signatures::check(event))?;
        Ok(match dup {
            Some(dup) => verdict.with_first(dup),
            None => verdict,
        })
    }
}

/// Checks and writes one event inside an open transaction.
fn append_in(tx: &Connection, path: &Path, event: &ParsedEvent) -> Result<Appended, StoreError> {
    append_in_signed(tx, path, event, kpledger_verify::Signatures::check(event), &BatchCache::default())
}

/// Actors and policies read during one transaction, decoded once: the rules ask for the
/// signer, the counterparties and a country's policy at nearly every event. Only what was
/// read and found is kept, and `write` replaces an entry when an event changes it; the
/// transaction holds the write lock, so nobody else changes them meanwhile. Dropped with the
/// transaction.
#[derive(Default)]
pub(super) struct BatchCache {
    pub(super) actors: std::cell::RefCell<std::collections::HashMap<ActorId, ActorState>>,
    pub(super) policies: std::cell::RefCell<std::collections::HashMap<Country, PolicyHistory>>,
}

/// As `append_in`, with the event's signatures already checked.
fn append_in_signed(
    tx: &Connection,
    path: &Path,
    event: &ParsedEvent,
    sigs: kpledger_verify::Signatures,
    cache: &BatchCache,
) -> Result<Appended, StoreError> {
    if let Some(dup) = already_recorded(tx, path, event)? {
        return Err(StoreError::Rejected { hash: event.hash, findings: vec![dup] });
    }
    let verdict = judge(tx, path, Some(cache), event, sigs)?;
    let accepted =
        verdict.accept().map_err(|findings| StoreError::Rejected { hash: event.hash, findings })?;
    write(tx, path, event, &accepted, cache)
}

/// The rules' verdict on `event` against the stored state: the one place the store asks for
/// one. A row the rules needed could not be read (a damaged page, a stored document that does
/// not parse): their verdict was made on a partial view, where a missing parcel, actor or
/// certificate can turn a refusal into an acceptance, so there is no verdict, only the
/// damage, for an append and a dry run alike.
fn judge(
    conn: &Connection,
    path: &Path,
    cache: Option<&BatchCache>,
    event: &ParsedEvent,
    sigs: kpledger_verify::Signatures,
) -> Result<kpledger_verify::Verdict, StoreError> {
    let state = SqlState { cache, ..SqlState::new(conn, path) };
    let mut verdict = kpledger_verify::check_event_signed(&state, event, sigs);
    if let Some(e) = state.failure() {
        return Err(e);
    }
    // The ledger's clock (CH-4): the newest time the log holds, through the index on `time`
    // (times are fixed-width UTC, so their text order is their time order).
    let newest: Option<String> = conn
        .prepare_cached("SELECT max(time) FROM events")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(|e| sql_err(path, e))?;
    let newest = newest.and_then(|t| kpledger_model::Time::new(t).ok());
    if let Some(f) = kpledger_verify::ledger_clock(newest.as_ref(), event) {
        verdict = verdict.with_first(f);
    }
    Ok(verdict)
}

/// A refusal if this very event (same hash) is already in the ledger. The rules judge an event
/// against the state, and some events (a policy published again, byte for byte) pass them a
/// second time; the log must not hold the same leaf twice, and the `UNIQUE` index on the hash
/// would otherwise refuse it as a bare database error (exit 2) instead of a refusal (exit 1).
fn already_recorded(
    tx: &Connection,
    path: &Path,
    event: &ParsedEvent,
) -> Result<Option<Finding>, StoreError> {
    Ok(seq_of(tx, path, &event.hash)?.map(|seq| {
        let mut f = Finding::error(
            kpledger_verify::Rule::Ch1,
            format!("this very event is already in this ledger as event #{seq}; an event is recorded once"),
        )
        .hint("it was ingested before (by you or by another writer): there is nothing to do");
        f.event = Some(event.hash);
        f.seq = Some(seq);
        f
    }))
}

/// The position of the event with this hash, if the ledger holds it (the `UNIQUE` index on
/// `hash` makes this one lookup).
pub(super) fn seq_of(conn: &Connection, path: &Path, hash: &Hash) -> Result<Option<u64>, StoreError> {
    let seq: Option<i64> = conn
        .prepare_cached("SELECT seq FROM events WHERE hash = ?1")
        .and_then(|mut st| st.query_row([&hash.0[..]], |r| r.get(0)).optional())
        .map_err(|e| sql_err(path, e))?;
    Ok(seq.and_then(|s| u64::try_from(s).ok()))
}

/// Writes an accepted event and its effects. Requires the token for this very event.
fn write(
    tx: &Connection,
    path: &Path,
    event: &ParsedEvent,
    accepted: &Accepted,
    cache: &BatchCache,
) -> Result<Appended, StoreError> {
    let e = |err| sql_err(path, err);
    if accepted.hash() != event.hash {
        return Err(StoreError::BadRow {
            path: path.to_owned(),
            reason: "acceptance token is for another event".into(),
        });
    }
    let body = &event.event.body;
    let doc = std::str::from_utf8(&event.canonical).map_err(|_| StoreError::BadRow {
        path: path.to_owned(),
        reason: "canonical bytes are not UTF-8".into(),
    })?;
    tx.prepare_cached("INSERT INTO events(hash, kind, time, signer, doc) VALUES (?1, ?2, ?3, ?4, ?5)")
        .and_then(|mut st| {
            st.execute(params![
                &event.hash.0[..],
                body.payload.kind(),
                body.time.as_str(),
                body.signer.as_str(),
                doc
            ])
        })
        .map_err(e)?;
    let seq = tx.last_insert_rowid();
    {
        let mut st =
            tx.prepare_cached("INSERT INTO event_parcels(parcel, seq) VALUES (?1, ?2)").map_err(e)?;
        for (p, _) in body.payload.parcels() {
            st.execute(params![p.to_string(), seq]).map_err(e)?;
        }
    }
    append_leaf(tx, path, seq as u64, &event.hash)?;
    for effect in accepted.effects() {
        match effect {
            Effect::PutActor(a) => {
                cache.actors.borrow_mut().insert(a.record.id.clone(), a.clone());
            }
            Effect::PutPolicy(h) => {
                if let Some(e) = h.current() {
                    cache.policies.borrow_mut().insert(e.policy.country.clone(), h.clone());
                }
            }
            _ => {}
        }
        let (table, row) = match effect {
            Effect::SetOrigin(o) => ("meta", rows::origin_row(o.as_str())),
            Effect::PutActor(a) => ("actors", rows::actor_row(a)),
            Effect::PutSite(s) => ("sites", rows::site_row(s)),
            Effect::PutPolicy(p) => ("policies", rows::policy_row(p)),
            Effect::PutParcel(p) => ("parcels", rows::parcel_row(p)),
            Effect::PutCertificate(c) => ("certificates", rows::certificate_row(c)),
            Effect::PutImport { key, event } => ("meta", rows::import_row(key, event)),
            _ => continue,
        };
        let marks: Vec<String> = (1..=row.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("INSERT OR REPLACE INTO {table} VALUES ({})", marks.join(", "));
        let mut st = tx.prepare_cached(&sql).map_err(e)?;
        let values: Vec<rusqlite::types::Value> = row
            .into_iter()
            .map(|c| match c {
                Cell::Null => rusqlite::types::Value::Null,
                Cell::Int(i) => rusqlite::types::Value::Integer(i),
                Cell::Text(t) => rusqlite::types::Value::Text(t),
                Cell::Blob(b) => rusqlite::types::Value::Blob(b),
            })
            .collect();
        st.execute(rusqlite::params_from_iter(values)).map_err(e)?;
    }
    Ok(Appended { seq: seq as u64, hash: event.hash, warnings: accepted.warnings().to_vec() })
}

/// Adds the event's leaf to the Merkle tree: O(log n) reads and writes.
fn append_leaf(tx: &Connection, path: &Path, seq: u64, event_hash: &Hash) -> Result<(), StoreError> {
    LogTree::new(tx)
        .append(seq - 1, kpledger_verify::log::leaf_hash(event_hash))
        .map_err(|e| tree_err(path, e))
}
