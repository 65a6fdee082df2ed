//! Read queries: events, parcels, actors, certificates, provenance, listings.

use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::{
    ActorId, Country, Event, Hash, Origin, ParcelId, ParsedEvent, Payload, Policy, SiteRecord, Text,
};
use kpledger_verify::{ActorState, CertificateState, ParcelState, PolicyHistory};
use rusqlite::{OptionalExtension, params};

use super::append::seq_of;
use super::state::SqlState;
use super::{Ledger, StoreError, bytes_of};

impl Ledger {
    /// The hashes of the events at positions `first ..= last` (1-based), in order.
    pub fn event_hashes(&self, first: u64, last: u64) -> Result<Vec<Hash>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT hash FROM events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![first as i64, last as i64], |r| Ok(bytes_of(r.get_ref(0)?)))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let bytes = r.map_err(|e| self.err(e))?;
            let h = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| StoreError::BadRow {
                path: self.path.clone(),
                reason: "an event hash is not 32 bytes".into(),
            })?;
            out.push(Hash(h));
        }
        Ok(out)
    }

    /// The events that touch `parcel` itself (not its provenance), with their positions.
    pub fn parcel_events(&self, parcel: &ParcelId) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        let seqs: Vec<i64> = self
            .conn
            .prepare_cached("SELECT seq FROM event_parcels WHERE parcel = ?1 ORDER BY seq")
            .and_then(|mut st| st.query_map([parcel.to_string()], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(seqs.len());
        for s in seqs {
            if let Some(ev) = self.event(s as u64)? {
                out.push((s as u64, ev));
            }
        }
        Ok(out)
    }

    /// The position of the event whose hash is `hash`, if this ledger holds it.
    pub fn position_of(&self, hash: &Hash) -> Result<Option<u64>, StoreError> {
        seq_of(&self.conn, &self.path, hash)
    }

    /// The parcels whose id starts with `prefix` (docs/SPEC.md §7.1), in id order, at most
    /// `limit` of them: one is the parcel it names, none or several say it names none. Through
    /// the primary key's index.
    pub fn parcels_with_prefix(
        &self,
        prefix: &kpledger_model::ids::Prefix,
        limit: usize,
    ) -> Result<Vec<ParcelId>, StoreError> {
        let (lo, hi) = prefix.parcel_text_range();
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM parcels WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT ?3")
            .map_err(|e| self.err(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st
            .query_map(rusqlite::params![lo, hi, limit], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let text = r.map_err(|e| self.err(e))?;
            let id = text.parse().map_err(|_| StoreError::Corrupt {
                path: self.path.clone(),
                reason: format!("parcel id {text:?} in the parcels table is not a UUID"),
            })?;
            if prefix.matches_parcel(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The parcels just before and just after `id` in id order (whether or not `id` is in the
    /// ledger): what its short form must differ from (`kpledger_model::ids::short_parcel_among`).
    pub fn parcel_neighbours(&self, id: &ParcelId) -> Result<[Option<ParcelId>; 2], StoreError> {
        let text = id.to_string();
        let mut out = [None, None];
        for (i, sql) in [
            "SELECT id FROM parcels WHERE id < ?1 ORDER BY id DESC LIMIT 1",
            "SELECT id FROM parcels WHERE id > ?1 ORDER BY id LIMIT 1",
        ]
        .into_iter()
        .enumerate()
        {
            let found: Option<String> = self
                .conn
                .prepare_cached(sql)
                .and_then(|mut st| st.query_row([&text], |r| r.get(0)).optional())
                .map_err(|e| self.err(e))?;
            out[i] = found.and_then(|t| t.parse().ok());
        }
        Ok(out)
    }

    /// The events whose hash starts with `prefix` (docs/SPEC.md §7.1), as (position, hash) in
    /// hash order, at most `limit` of them. Through the hash's index.
    pub fn events_with_prefix(
        &self,
        prefix: &kpledger_model::ids::Prefix,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        let (lo, hi) = prefix.hash_range();
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT seq, hash FROM events WHERE hash BETWEEN ?1 AND ?2 ORDER BY hash LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st
            .query_map(rusqlite::params![&lo.0[..], &hi.0[..], limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let (seq, bytes) = r.map_err(|e| self.err(e))?;
            let hash = <[u8; 32]>::try_from(bytes.as_slice()).map(Hash).map_err(|_| StoreError::Corrupt {
                path: self.path.clone(),
                reason: format!("event #{seq} has a hash of {} bytes", bytes.len()),
            })?;
            if prefix.matches_hash(&hash) {
                out.push((u64::try_from(seq).unwrap_or(0), hash));
            }
        }
        Ok(out)
    }

    /// The ledger's origin name (after genesis).
    pub fn origin(&self) -> Result<Option<Origin>, StoreError> {
        SqlState::new(&self.conn, &self.path).try_origin()
    }

    /// A parcel's current state.
    pub fn parcel(&self, id: &ParcelId) -> Result<Option<ParcelState>, StoreError> {
        SqlState::new(&self.conn, &self.path)
            .get_doc("SELECT doc FROM parcels WHERE id = ?1", &id.to_string())
    }

    /// An actor's current state.
    pub fn actor(&self, id: &ActorId) -> Result<Option<ActorState>, StoreError> {
        SqlState::new(&self.conn, &self.path).get_doc("SELECT doc FROM actors WHERE id = ?1", id.as_str())
    }

    /// A country's current policy.
    pub fn policy(&self, country: &Country) -> Result<Option<Policy>, StoreError> {
        Ok(self.policy_history(country)?.and_then(|h| h.entries.last().map(|e| e.policy.clone())))
    }

    /// Every recorded version of a country's policy, oldest first.
    pub fn policy_history(&self, country: &Country) -> Result<Option<PolicyHistory>, StoreError> {
        SqlState::new(&self.conn, &self.path).try_policy_history(country)
    }

    /// A certificate by number.
    pub fn certificate(&self, number: &Text) -> Result<Option<CertificateState>, StoreError> {
        SqlState::new(&self.conn, &self.path)
            .get_doc("SELECT doc FROM certificates WHERE number = ?1", number.as_str())
    }

    /// Every certificate.
    pub fn certificates(&self) -> Result<Vec<CertificateState>, StoreError> {
        self.all_docs("SELECT doc FROM certificates ORDER BY number")
    }

    /// Every actor.
    pub fn actors(&self) -> Result<Vec<ActorState>, StoreError> {
        self.all_docs("SELECT doc FROM actors ORDER BY id")
    }

    /// Every parcel.
    pub fn parcels(&self) -> Result<Vec<ParcelState>, StoreError> {
        self.all_docs("SELECT doc FROM parcels ORDER BY id")
    }

    /// Every site.
    pub fn sites(&self) -> Result<Vec<SiteRecord>, StoreError> {
        self.all_docs("SELECT doc FROM sites ORDER BY id")
    }

    fn all_docs<T: serde::de::DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>, StoreError> {
        let mut st = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let text = r.map_err(|e| self.err(e))?;
            out.push(
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::BadRow { path: self.path.clone(), reason: e.to_string() })?,
            );
        }
        Ok(out)
    }

    /// Number of events.
    pub fn len(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// True if the ledger has no events.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// The event at `seq`.
    pub fn event(&self, seq: u64) -> Result<Option<ParsedEvent>, StoreError> {
        let doc: Option<String> = self
            .conn
            .query_row("SELECT doc FROM events WHERE seq = ?1", [seq as i64], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        doc.map(|d| {
            Event::parse(d.as_bytes()).map_err(|e| StoreError::BadRow {
                path: self.path.clone(),
                reason: format!("event #{seq}: {e}"),
            })
        })
        .transpose()
    }

    /// The provenance of a parcel: every event of the parcel and of every parcel it was
    /// split or merged from, back to the extractions, in ledger order.
    pub fn provenance(&self, parcel: &ParcelId) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        let mut seqs = BTreeSet::new();
        let mut seen = BTreeSet::from([*parcel]);
        let mut queue = vec![*parcel];
        let mut st = self
            .conn
            .prepare_cached("SELECT seq FROM event_parcels WHERE parcel = ?1")
            .map_err(|e| self.err(e))?;
        let mut events = BTreeMap::new();
        while let Some(p) = queue.pop() {
            let found: Vec<i64> = st
                .query_map([p.to_string()], |r| r.get(0))
                .map_err(|e| self.err(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.err(e))?;
            for s in found {
                let seq = s as u64;
                if !seqs.insert(seq) {
                    continue;
                }
                let Some(ev) = self.event(seq)? else { continue };
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
        let seqs: Vec<i64> = self
            .conn
            .prepare_cached("SELECT seq FROM events WHERE kind = 'rotate_key' ORDER BY seq")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(seqs.len());
        for s in seqs {
            let seq = s as u64;
            if let Some(ev) = self.event(seq)? {
                out.push((seq, ev));
            }
        }
        Ok(out)
    }

    /// The stored bytes of events `first..=last`, in order (for export and benchmarks).
    pub fn event_docs(&self, first: u64, last: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT doc FROM events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![first as i64, last as i64], |r| r.get_ref(0).map(bytes_of))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Every event with its position, in ledger order.
    pub fn events(&self) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        for seq in 1..=n {
            if let Some(ev) = self.event(seq)? {
                out.push((seq, ev));
            }
        }
        Ok(out)
    }

    /// For each of `events` (with their positions), the signatures made under a key that an
    /// authority imposed (GV-4, SPEC §10.1): `(signer, who imposed the key)` for the event's
    /// signer and, for a handover, the offer's. An ordinary rotation signed under an imposed
    /// key keeps the mark, as the rules do.
    pub fn imposed_signatures(
        &self,
        events: &[(u64, ParsedEvent)],
    ) -> Result<BTreeMap<u64, Vec<(ActorId, ActorId)>>, StoreError> {
        // Per actor, its rotations in order: (position, who imposed the key from then on).
        let mut timeline: BTreeMap<ActorId, Vec<(u64, Option<ActorId>)>> = BTreeMap::new();
        for (seq, ev) in self.key_rotations()? {
            if let Payload::RotateKey { actor, .. } = &ev.event.body.payload {
                let line = timeline.entry(actor.clone()).or_default();
                let before = line.last().and_then(|(_, by)| by.clone());
                let by =
                    if &ev.event.body.signer == actor { before } else { Some(ev.event.body.signer.clone()) };
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
    }
}
