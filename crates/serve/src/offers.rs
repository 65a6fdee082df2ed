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

#[cfg(test)]
mod tests {
    use super::*;
    use kpledger_model::SecretKey;
    use kpledger_model::{ActorId, Cents, Origin, Points, Time};
    use kpledger_model::{OfferBody, OfferKind};

    fn offer(to: &str, n: u8) -> (Hash, Offer) {
        let body = OfferBody {
            v: 1,
            ledger: Origin::new("kpledger.sl/test").unwrap(),
            kind: OfferKind::HandoverOffer,
            time: Time::new("2026-03-02T08:00:00Z").unwrap(),
            signer: ActorId::new("sl.miner.koroma").unwrap(),
            parcel: uuid::Uuid::from_bytes([n; 16]),
            prev: Hash([n; 32]),
            to: ActorId::new(to).unwrap(),
            weight_pt: Points(100),
            price_usd_cents: Cents(1),
        };
        let o = Offer::sign(body, &SecretKey::from_seed(&[1; 32])).unwrap();
        (o.hash().unwrap(), o)
    }

    #[test]
    fn an_offer_waits_until_it_expires_and_the_table_is_bounded() {
        let mut t = Offers::default();
        let (h1, o1) = offer("sl.dealer.kamara", 1);
        let (h2, o2) = offer("sl.dealer.kamara", 2);
        let (h3, o3) = offer("sl.exporter.gems", 3);
        assert_eq!(t.insert(h1, o1.clone(), 200, 100, 2), Some(true));
        assert_eq!(t.insert(h1, o1, 200, 100, 2), Some(false), "the same offer again");
        assert_eq!(t.insert(h2, o2, 150, 100, 2), Some(true));
        // Full: a third waits for room (--max-offers).
        assert_eq!(t.insert(h3, o3.clone(), 300, 120, 2), None);
        assert_eq!(t.to("sl.dealer.kamara", 120).len(), 2);
        assert!(t.to("sl.exporter.gems", 120).is_empty());
        // Past its expiry (--offer-ttl) an offer is neither listed nor fetched, and its room
        // is given to the next.
        assert_eq!(t.to("sl.dealer.kamara", 160).len(), 1);
        assert!(t.get(&h2, 160).is_none());
        assert!(t.get(&h1, 160).is_some());
        assert_eq!(t.insert(h3, o3, 300, 160, 2), Some(true));
        assert!(t.get(&h1, 200).is_none());
    }
}
