//! Handover offers relayed between parties: the holder posts a signed offer, the buyer
//! fetches the offers addressed to it, re-weighs, signs the handover and submits it. Offers
//! are not log entries: they are kept in memory until they expire (`--offer-ttl`), are
//! superseded (the parcel moved on), or the service restarts (the holder posts again).

use std::collections::HashMap;

use kpledger_model::{Hash, Offer};

/// The offers waiting, by hash.
#[derive(Debug, Default)]
pub(crate) struct Offers {
    by_hash: HashMap<Hash, Waiting>,
}

#[derive(Debug, Clone)]
pub(crate) struct Waiting {
    pub(crate) offer: Offer,
    /// Unix seconds after which it is dropped.
    pub(crate) expires: i64,
}

impl Offers {
    /// Keeps `offer` until `expires`; false if it was already waiting. Expired offers are
    /// dropped first; `None` when `cap` offers are already waiting.
    pub(crate) fn insert(
        &mut self,
        hash: Hash,
        offer: Offer,
        expires: i64,
        now: i64,
        cap: usize,
    ) -> Option<bool> {
        self.by_hash.retain(|_, w| w.expires > now);
        if self.by_hash.contains_key(&hash) {
            return Some(false);
        }
        if self.by_hash.len() >= cap {
            return None;
        }
        self.by_hash.insert(hash, Waiting { offer, expires });
        Some(true)
    }

    /// The unexpired offers addressed to `to`.
    pub(crate) fn to(&self, to: &str, now: i64) -> Vec<(Hash, Waiting)> {
        let mut out: Vec<(Hash, Waiting)> = self
            .by_hash
            .iter()
            .filter(|(_, w)| w.expires > now && w.offer.body.to.as_str() == to)
            .map(|(h, w)| (*h, w.clone()))
            .collect();
        out.sort_by(|a, b| {
            a.1.offer.body.time.as_str().cmp(b.1.offer.body.time.as_str()).then(a.0.0.cmp(&b.0.0))
        });
        out
    }

    /// One unexpired offer.
    pub(crate) fn get(&self, hash: &Hash, now: i64) -> Option<Waiting> {
        self.by_hash.get(hash).filter(|w| w.expires > now).cloned()
    }

    /// Drops an offer the ledger has moved past.
    pub(crate) fn remove(&mut self, hash: &Hash) {
        self.by_hash.remove(hash);
    }
}
