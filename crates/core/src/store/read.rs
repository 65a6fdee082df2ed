//! The read queries, set-based: each answer is one statement or a few through the storage
//! boundary ([`super::backend::Reads`]), never one per event. Events, parcels, actors,
//! certificates, provenance, listings, and the reports' queries.

use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::{
    ActorId, Country, Event, Hash, Origin, ParcelId, ParsedEvent, Payload, Policy, SiteRecord, Text,
};
use kpledger_verify::stored;
use kpledger_verify::{ActorState, CertificateState, ParcelState, PolicyHistory};

use super::backend::{Backend, KeyRange, Reads};
use super::state::SqlState;
use super::{Fault, Ledger, StoreError};

/// A stored event document, parsed; a document that does not parse is damage.
pub(super) fn parse_stored(seq: u64, doc: &[u8]) -> Result<ParsedEvent, Fault> {
    Event::parse(doc).map_err(|e| Fault::BadRow(format!("event #{seq}: {e}")))
}

/// Stored (position, document) pairs, parsed.
pub(super) fn parse_all(docs: Vec<(u64, Vec<u8>)>) -> Result<Vec<(u64, ParsedEvent)>, Fault> {
    // The keys the events name, decoded once for all of them.
    let decoded = kpledger_model::KeyCache::default();
    decoded.scope(|| docs.into_iter().map(|(seq, doc)| Ok((seq, parse_stored(seq, &doc)?))).collect())
}

/// A stored hash, 32 bytes.
pub(super) fn stored_hash(bytes: &[u8], what: impl FnOnce() -> String) -> Result<Hash, Fault> {
    <[u8; 32]>::try_from(bytes).map(Hash).map_err(|_| Fault::BadRow(what()))
}

impl Ledger {
    fn reads(&self) -> &dyn Reads {
        self.db.reads()
    }

    /// The hashes of the events at positions `first ..= last` (1-based), in order.
    pub fn event_hashes(&self, first: u64, last: u64) -> Result<Vec<Hash>, StoreError> {
        self.with(|| {
            let rows = self.reads().event_hashes(first, last)?;
            rows.iter().map(|(_, b)| stored_hash(b, || "an event hash is not 32 bytes".into())).collect()
        })
    }

    /// The events that touch `parcel` itself (not its provenance), with their positions.
    pub fn parcel_events(&self, parcel: &ParcelId) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        self.with(|| parse_all(self.reads().parcel_event_docs(&parcel.to_string())?))
    }

    /// The position of the event whose hash is `hash`, if this ledger holds it.
    pub fn position_of(&self, hash: &Hash) -> Result<Option<u64>, StoreError> {
        self.with(|| self.reads().seq_of(hash))
    }

    /// The parcels whose id starts with `prefix` (docs/SPEC.md §7.1), in id order, at most
    /// `limit` of them: one is the parcel it names, none or several say it names none. Through
    /// the primary key's index.
    pub fn parcels_with_prefix(
        &self,
        prefix: &kpledger_model::ids::Prefix,
        limit: usize,
    ) -> Result<Vec<ParcelId>, StoreError> {
        self.with(|| {
            let (lo, hi) = prefix.parcel_text_range();
            let limit = u64::try_from(limit).unwrap_or(u64::MAX);
            let mut out = Vec::new();
            for text in self.reads().derived_keys_between("parcels", KeyRange { lo: &lo, hi: &hi, limit })? {
                let id = text.parse().map_err(|_| {
                    Fault::Corrupt(format!("parcel id {text:?} in the parcels table is not a UUID"))
                })?;
                if prefix.matches_parcel(&id) {
                    out.push(id);
                }
            }
            Ok(out)
        })
    }

    /// The parcels just before and just after `id` in id order (whether or not `id` is in the
    /// ledger): what its short form must differ from (`kpledger_model::ids::short_parcel_among`).
    pub fn parcel_neighbours(&self, id: &ParcelId) -> Result<[Option<ParcelId>; 2], StoreError> {
        self.with(|| {
            let found = self.reads().derived_key_neighbours("parcels", &id.to_string())?;
            Ok(found.map(|t| t.and_then(|t| t.parse().ok())))
        })
    }

    /// The events whose hash starts with `prefix` (docs/SPEC.md §7.1), as (position, hash) in
    /// hash order, at most `limit` of them. Through the hash's index.
    pub fn events_with_prefix(
        &self,
        prefix: &kpledger_model::ids::Prefix,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        self.with(|| {
            let (lo, hi) = prefix.hash_range();
            let limit = u64::try_from(limit).unwrap_or(u64::MAX);
            let mut out = Vec::new();
            for (seq, bytes) in self.reads().events_by_hash_between(&lo, &hi, limit)? {
                let hash = <[u8; 32]>::try_from(bytes.as_slice()).map(Hash).map_err(|_| {
                    Fault::Corrupt(format!("event #{seq} has a hash of {} bytes", bytes.len()))
                })?;
                if prefix.matches_hash(&hash) {
                    out.push((seq, hash));
                }
            }
            Ok(out)
        })
    }

    /// The ledger's origin name (after genesis).
    pub fn origin(&self) -> Result<Option<Origin>, StoreError> {
        self.with(|| SqlState::new(self.reads()).try_origin())
    }

    /// A parcel's current state.
    pub fn parcel(&self, id: &ParcelId) -> Result<Option<ParcelState>, StoreError> {
        self.with(|| SqlState::new(self.reads()).get_doc("parcels", &id.to_string(), stored::read_parcel))
    }

    /// An actor's current state.
    pub fn actor(&self, id: &ActorId) -> Result<Option<ActorState>, StoreError> {
        self.with(|| SqlState::new(self.reads()).get_doc("actors", id.as_str(), stored::read_actor))
    }

    /// A country's current policy.
    pub fn policy(&self, country: &Country) -> Result<Option<Policy>, StoreError> {
        Ok(self.policy_history(country)?.and_then(|h| h.entries.last().map(|e| e.policy.clone())))
    }

    /// Every recorded version of a country's policy, oldest first.
    pub fn policy_history(&self, country: &Country) -> Result<Option<PolicyHistory>, StoreError> {
        self.with(|| SqlState::new(self.reads()).try_policy_history(country))
    }

    /// A certificate by number.
    pub fn certificate(&self, number: &Text) -> Result<Option<CertificateState>, StoreError> {
        self.with(|| {
            SqlState::new(self.reads()).get_doc("certificates", number.as_str(), stored::read_certificate)
        })
    }

    /// Every certificate.
    pub fn certificates(&self) -> Result<Vec<CertificateState>, StoreError> {
        self.with(|| self.all_docs("certificates", stored::read_certificate))
    }

    /// Every enrolled actor, revoked ones included.
    pub fn actors(&self) -> Result<Vec<ActorState>, StoreError> {
        self.with(|| self.all_docs("actors", stored::read_actor))
    }

    /// Every parcel, consumed ones included (with that status).
    pub fn parcels(&self) -> Result<Vec<ParcelState>, StoreError> {
        self.with(|| self.all_docs("parcels", stored::read_parcel))
    }

    /// Every site.
    pub fn sites(&self) -> Result<Vec<SiteRecord>, StoreError> {
        self.with(|| self.all_docs("sites", stored::read_site))
    }

    fn all_docs<T>(
        &self,
        table: &'static str,
        read: fn(&str) -> Result<T, stored::DocError>,
    ) -> Result<Vec<T>, Fault> {
        let docs = self.reads().derived_docs(table)?;
        docs.iter().map(|d| read(d).map_err(|e| Fault::BadRow(e.to_string()))).collect()
    }

    /// Number of events.
    pub fn len(&self) -> Result<u64, StoreError> {
        self.with(|| self.reads().event_count())
    }

    /// True if the ledger has no events.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// The event at `seq`.
    pub fn event(&self, seq: u64) -> Result<Option<ParsedEvent>, StoreError> {
        self.with(|| self.reads().event_doc(seq)?.map(|d| parse_stored(seq, &d)).transpose())
    }

    /// The provenance of a parcel: every event of the parcel and of every parcel it was
    /// split or merged from, back to the extractions, in ledger order.
    pub fn provenance(&self, parcel: &ParcelId) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        self.with(|| self.provenance_in(parcel))
    }

    pub(super) fn provenance_in(&self, parcel: &ParcelId) -> Result<Vec<(u64, ParsedEvent)>, Fault> {
        let mut seqs = BTreeSet::new();
        let mut seen = BTreeSet::from([*parcel]);
        let mut queue = vec![*parcel];
        let mut events = BTreeMap::new();
        while let Some(p) = queue.pop() {
            for (seq, doc) in self.reads().parcel_event_docs(&p.to_string())? {
                if !seqs.insert(seq) {
                    continue;
                }
                let ev = parse_stored(seq, &doc)?;
                // Follow the inputs of the event that created `p`.
                let touched = ev.event.body.payload.parcels();
                let creates_p = touched.iter().any(|(id, prev)| *id == p && prev.is_none());
                if creates_p {
                    for (id, prev) in &touched {
                        if prev.is_some() && seen.insert(*id) {
                            queue.push(*id);
                        }
                    }
                }
                events.insert(seq, ev);
            }
        }
        Ok(events.into_iter().collect())
    }

    /// Every `rotate_key` event with its position, in ledger order.
    pub fn key_rotations(&self) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        self.with(|| parse_all(self.reads().event_docs_of_kinds(&["rotate_key"])?))
    }

    /// The stored bytes of events `first..=last`, in order (for export and benchmarks).
    pub fn event_docs(&self, first: u64, last: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.with(|| Ok(self.reads().event_docs(first, last)?.into_iter().map(|(_, d)| d).collect()))
    }

    /// Every event with its position, in ledger order: one range read.
    pub fn events(&self) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        self.with(|| {
            let last = self.reads().last_seq()?;
            parse_all(self.reads().event_docs(1, last)?)
        })
    }

    /// For each of `events` (with their positions), the signatures made under a key that an
    /// authority imposed (GV-4, SPEC §10.1): `(signer, who imposed the key)` for the event's
    /// signer and, for a handover, the offer's. An ordinary rotation signed under an imposed
    /// key keeps the mark, as the rules do.
    pub fn imposed_signatures(
        &self,
        events: &[(u64, ParsedEvent)],
    ) -> Result<BTreeMap<u64, Vec<(ActorId, ActorId)>>, StoreError> {
        self.with(|| {
            // Per actor, its rotations in order: (position, who imposed the key from then on).
            let mut timeline: BTreeMap<ActorId, Vec<(u64, Option<ActorId>)>> = BTreeMap::new();
            for (seq, ev) in self.key_rotations()? {
                if let Payload::RotateKey { actor, .. } = &ev.event.body.payload {
                    let line = timeline.entry(actor.clone()).or_default();
                    let before = line.last().and_then(|(_, by)| by.clone());
                    let by = if &ev.event.body.signer == actor {
                        before
                    } else {
                        Some(ev.event.body.signer.clone())
                    };
                    line.push((seq, by));
                }
            }
            let imposed_at = |actor: &ActorId, seq: u64| -> Option<ActorId> {
                timeline.get(actor)?.iter().rev().find(|(s, _)| *s < seq).and_then(|(_, by)| by.clone())
            };
            let mut out: BTreeMap<u64, Vec<(ActorId, ActorId)>> = BTreeMap::new();
            for (seq, ev) in events {
                let body = &ev.event.body;
                let mut signers = vec![body.signer.clone()];
                if let Payload::Handover { offer, .. } = &body.payload {
                    signers.push(offer.body.signer.clone());
                }
                for a in signers {
                    if let Some(by) = imposed_at(&a, *seq) {
                        out.entry(*seq).or_default().push((a, by));
                    }
                }
            }
            Ok(out)
        })
    }
}
