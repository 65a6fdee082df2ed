//! Read-only queries for the reports (`kpledger-report`): every event in ledger order.
//! Kept apart from `store.rs`; it uses only the store's public queries.

use std::collections::BTreeMap;

use kpledger_model::{ActorId, ParsedEvent, Payload};

use crate::store::{Ledger, StoreError};

impl Ledger {
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
