//! The write path: judging events against the stored state and writing what the rules accept.

use crate::log_tree::LogTree;
use kpledger_model::{ActorId, Country, Hash, ParsedEvent};
use kpledger_verify::rows::DerivedRow;
use kpledger_verify::{Accepted, ActorState, Effect, Finding, ParcelState, PolicyHistory, SigMode};

use super::backend::{Backend, EventRow, Reads, Writes};
use super::state::SqlState;
use super::{Appended, BatchError, Fault, GroupOutcome, Ledger, Recorded, StoreError};

impl Ledger {
    /// Checks `event` against the current state and appends it if the rules accept it.
    pub fn append(&mut self, event: &ParsedEvent) -> Result<Appended, StoreError> {
        self.in_write(|tx| append_in(tx, event))
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
    ) -> Result<u64, BatchError> {
        let mut done = 0usize;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || {
                // The keys the events name are decoded once for the whole ingest.
                let decoded = kpledger_model::KeyCache::default();
                for docs in batches {
                    let prepared = kpledger_verify::prepare::prepare_in(&docs, SigMode::Strict, &decoded);
                    if tx.send(prepared).is_err() {
                        break;
                    }
                }
            });
            for prepared in rx {
                let mut events = Vec::with_capacity(prepared.len());
                let mut sigs = Vec::with_capacity(prepared.len());
                for (i, p) in prepared.into_iter().enumerate() {
                    let index = done + i;
                    let ev = p.parsed.map_err(|source| BatchError {
                        index,
                        error: StoreError::NotAnEvent { number: index as u64 + 1, source },
                    })?;
                    sigs.push(p.sigs.unwrap_or_else(|| kpledger_verify::Signatures::check(&ev)));
                    events.push(ev);
                }
                self.append_all_signed(&events, sigs)
                    .map_err(|e| BatchError { index: done + e.index, error: e.error })?;
                done += events.len();
                progress(done as u64);
            }
            // Dropping `rx` here stops the worker at its next batch.
            Ok(done as u64)
        })
    }

    /// Appends several events in one transaction: all of them, or none (the error names
    /// the index of the first refused event).
    pub fn append_all(&mut self, events: &[ParsedEvent]) -> Result<Vec<Appended>, BatchError> {
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
    ) -> Result<Vec<Appended>, BatchError> {
        let path = self.db.location().to_owned();
        let at = |index: usize, e: Fault| BatchError { index, error: e.at(&path) };
        let tx = self.db.begin_write().map_err(|e| at(0, e))?;
        // Actors and policies change rarely: read and decoded once per batch.
        let cache = BatchCache::default();
        let mut out = Vec::with_capacity(events.len());
        for (i, (ev, sig)) in events.iter().zip(sigs).enumerate() {
            out.push(append_in_signed(tx.writes(), ev, sig, &cache).map_err(|e| at(i, e))?);
        }
        tx.commit().map_err(|e| at(events.len(), e))?;
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
        self.in_write(|tx| {
            let mut out = Vec::with_capacity(groups.len());
            // One cache for the group, emptied when a refused submission's savepoint is
            // rolled back (its effects vanish with it).
            let cache = BatchCache::default();
            for (events, sigs) in groups {
                tx.savepoint()?;
                let mut done = Vec::with_capacity(events.len());
                let mut fresh = std::collections::HashSet::new();
                let mut refused = None;
                for (i, (ev, sig)) in events.iter().zip(sigs).enumerate() {
                    if !fresh.contains(&ev.hash)
                        && let Some(seq) = tx.seq_of(&ev.hash)?
                    {
                        done.push(Recorded::Already { seq, hash: ev.hash });
                        continue;
                    }
                    // Looked up just above, unless the submission holds it twice (then the
                    // second is refused, CH-1).
                    let appended = if fresh.insert(ev.hash) {
                        append_new(tx, ev, *sig, &cache)
                    } else {
                        append_in_signed(tx, ev, *sig, &cache)
                    };
                    match appended {
                        Ok(a) => done.push(Recorded::New(a)),
                        Err(Fault::Done(error @ StoreError::Rejected { .. })) => {
                            refused = Some(BatchError { index: i, error });
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                }
                match refused {
                    None => {
                        tx.release_savepoint()?;
                        out.push(Ok(done));
                    }
                    Some(r) => {
                        tx.rollback_savepoint()?;
                        cache.clear();
                        out.push(Err(r));
                    }
                }
            }
            Ok(out)
        })
    }

    /// Checks `event` without appending it (an event already in the ledger is refused, as
    /// `append` would). A stored row the rules need that cannot be read is an error, as it
    /// is for `append`: never a verdict made without it.
    pub fn dry_run(&self, event: &ParsedEvent) -> Result<kpledger_verify::Verdict, StoreError> {
        self.with(|| {
            let dup = already_recorded(self.db.reads(), event)?;
            let verdict = judge(self.db.reads(), None, event, kpledger_verify::Signatures::check(event))?;
            Ok(match dup {
                Some(dup) => verdict.with_first(dup),
                None => verdict,
            })
        })
    }
}

/// Checks and writes one event inside an open transaction.
fn append_in(tx: &dyn Writes, event: &ParsedEvent) -> Result<Appended, Fault> {
    append_in_signed(tx, event, kpledger_verify::Signatures::check(event), &BatchCache::default())
}

/// The most parcels a transaction keeps decoded ([`BatchCache::parcels`]); past it, it starts
/// again (a group of a thousand submissions of a thousand events each stays bounded).
const CACHED_PARCELS: usize = 10_000;

/// Actors and policies read during one transaction, decoded once: the rules ask for the
/// signer, the counterparties and a country's policy at nearly every event. Only what was
/// read and found is kept, and `write` replaces an entry when an event changes it; the
/// transaction holds the write lock, so nobody else changes them meanwhile. Dropped with the
/// transaction.
#[derive(Default)]
pub(super) struct BatchCache {
    pub(super) actors: std::cell::RefCell<std::collections::HashMap<ActorId, ActorState>>,
    /// Shared with the rules' views of each event ([`SqlState`]), which lend them out.
    pub(super) policies: std::cell::RefCell<std::collections::HashMap<Country, std::rc::Rc<PolicyHistory>>>,
    /// The parcels this transaction wrote, as written (at most [`CACHED_PARCELS`]): the next
    /// event of a parcel's chain reads it back at once.
    pub(super) parcels: std::cell::RefCell<std::collections::HashMap<kpledger_model::ParcelId, ParcelState>>,
    /// The ledger's origin once read (set by the genesis, never changed after).
    pub(super) origin: std::cell::RefCell<Option<kpledger_model::Origin>>,
    /// The newest time the log holds (CH-4), once read: `write` moves it forward.
    newest: std::cell::RefCell<Option<Option<String>>>,
}

impl BatchCache {
    /// Forgets everything: what a rolled-back savepoint wrote is gone.
    fn clear(&self) {
        self.actors.borrow_mut().clear();
        self.policies.borrow_mut().clear();
        self.parcels.borrow_mut().clear();
        self.origin.borrow_mut().take();
        self.newest.borrow_mut().take();
    }

    /// The newest time the log holds, read once per transaction.
    fn newest_time(&self, store: &dyn Reads) -> Result<Option<String>, Fault> {
        if let Some(t) = &*self.newest.borrow() {
            return Ok(t.clone());
        }
        let t = store.newest_time()?;
        *self.newest.borrow_mut() = Some(t.clone());
        Ok(t)
    }
}

/// As `append_in`, with the event's signatures already checked.
fn append_in_signed(
    tx: &dyn Writes,
    event: &ParsedEvent,
    sigs: kpledger_verify::Signatures,
    cache: &BatchCache,
) -> Result<Appended, Fault> {
    if let Some(dup) = already_recorded(tx, event)? {
        return Err(StoreError::Rejected { hash: event.hash, findings: vec![dup] }.into());
    }
    append_new(tx, event, sigs, cache)
}

/// As `append_in_signed`, for an event this transaction found is not in the ledger.
fn append_new(
    tx: &dyn Writes,
    event: &ParsedEvent,
    sigs: kpledger_verify::Signatures,
    cache: &BatchCache,
) -> Result<Appended, Fault> {
    let verdict = judge(tx, Some(cache), event, sigs)?;
    let accepted = verdict
        .accept()
        .map_err(|findings| Fault::Done(StoreError::Rejected { hash: event.hash, findings }))?;
    write(tx, event, &accepted, cache)
}

/// The rules' verdict on `event` against the stored state: the one place the store asks for
/// one. A row the rules needed could not be read (a damaged page, a stored document that does
/// not parse): their verdict was made on a partial view, where a missing parcel, actor or
/// certificate can turn a refusal into an acceptance, so there is no verdict, only the
/// damage, for an append and a dry run alike.
fn judge(
    store: &dyn Reads,
    cache: Option<&BatchCache>,
    event: &ParsedEvent,
    sigs: kpledger_verify::Signatures,
) -> Result<kpledger_verify::Verdict, Fault> {
    let state = SqlState { cache, ..SqlState::new(store) };
    let mut verdict = kpledger_verify::check_event_signed(&state, event, sigs);
    if let Some(e) = state.failure() {
        return Err(e);
    }
    // The ledger's clock (CH-4): the newest time the log holds.
    let newest = match cache {
        Some(c) => c.newest_time(store)?,
        None => store.newest_time()?,
    };
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
fn already_recorded(store: &dyn Reads, event: &ParsedEvent) -> Result<Option<Finding>, Fault> {
    Ok(store.seq_of(&event.hash)?.map(|seq| {
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

/// Writes an accepted event and its effects. Requires the token for this very event.
fn write(
    tx: &dyn Writes,
    event: &ParsedEvent,
    accepted: &Accepted,
    cache: &BatchCache,
) -> Result<Appended, Fault> {
    if accepted.hash() != event.hash {
        return Err(Fault::BadRow("acceptance token is for another event".into()));
    }
    let body = &event.event.body;
    let doc = std::str::from_utf8(&event.canonical)
        .map_err(|_| Fault::BadRow("canonical bytes are not UTF-8".into()))?;
    let seq = tx.insert_event(&EventRow {
        hash: &event.hash,
        kind: body.payload.kind(),
        time: body.time.as_str(),
        signer: body.signer.as_str(),
        doc,
    })?;
    for (p, _) in body.payload.parcels() {
        tx.insert_event_parcel(&p.to_string(), seq)?;
    }
    append_leaf(tx, seq, &event.hash)?;
    // Times are fixed-width UTC: text order is time order, as for `max(time)`.
    if let Some(newest) = &mut *cache.newest.borrow_mut()
        && newest.as_deref().is_none_or(|n| body.time.as_str() > n)
    {
        *newest = Some(body.time.as_str().to_owned());
    }
    for effect in accepted.effects() {
        match effect {
            Effect::PutActor(a) => {
                cache.actors.borrow_mut().insert(a.record.id.clone(), a.clone());
            }
            Effect::PutParcel(p) => {
                let mut parcels = cache.parcels.borrow_mut();
                if parcels.len() >= CACHED_PARCELS {
                    parcels.clear();
                }
                parcels.insert(p.id, p.clone());
            }
            Effect::PutPolicy(h) => {
                if let Some(e) = h.current() {
                    cache.policies.borrow_mut().insert(e.policy.country.clone(), std::rc::Rc::new(h.clone()));
                }
            }
            _ => {}
        }
        if let Some(row) = DerivedRow::of(effect) {
            tx.put_derived(&row)?;
        }
    }
    Ok(Appended { seq, hash: event.hash, warnings: accepted.warnings().to_vec() })
}

/// Adds the event's leaf to the Merkle tree: O(log n) reads and writes.
fn append_leaf(tx: &dyn Writes, seq: u64, event_hash: &Hash) -> Result<(), Fault> {
    Ok(LogTree::append(tx, seq - 1, kpledger_verify::log::leaf_hash(event_hash))?)
}
