//! The parcel card (docs/SPEC.md §14.6) assembled from the store: the parcel's head event and
//! the earlier events of its own chain that fix its holder and weight, with the head's
//! inclusion proof under the newest checkpoint. The same document serves `kpledger parcel card`
//! and any other reader of the store; `kpledger_verify::card` checks it.

use kpledger_model::{CARD_FORMAT, Card, CardLog, CardStated, CardStatus, ParcelId, ParsedEvent, Text};
use kpledger_verify::ParcelStatus;
use kpledger_verify::{after_event, prev_of};

use crate::store::{Ledger, StoreError};

impl Ledger {
    /// The card of parcel `id`, under the newest stored checkpoint. [`StoreError::NoParcel`] when
    /// the parcel is not in the ledger; refused ([`StoreError::Refused`]) when it was consumed or
    /// no checkpoint covers its head yet.
    pub fn parcel_card(&self, id: &ParcelId) -> Result<Card, StoreError> {
        let p = self
            .parcel(id)?
            .ok_or_else(|| StoreError::NoParcel { path: self.path().to_owned(), parcel: *id })?;
        let status = match p.status {
            ParcelStatus::Open => CardStatus::Open,
            ParcelStatus::Sealed => CardStatus::Sealed,
            ParcelStatus::Certified => CardStatus::Certified,
            ParcelStatus::Exported => CardStatus::Exported,
            ParcelStatus::Consumed => {
                return Err(StoreError::Refused(format!(
                    "parcel {id} was split or merged into other parcels: no one signs for it any more; ask for the card \
                     of a parcel made from it"
                )));
            }
        };
        let bad = |reason: String| {
            StoreError::from(crate::store::StorageError::BadRow { path: self.path().to_owned(), reason })
        };
        let event_at = |hash: &kpledger_model::Hash| -> Result<(u64, ParsedEvent), StoreError> {
            let seq = self.position_of(hash)?.ok_or_else(|| {
                bad(format!("parcel {id} names event {hash}, which the ledger does not hold"))
            })?;
            let ev = self.event(seq)?.ok_or_else(|| bad(format!("event #{seq} is missing")))?;
            Ok((seq, ev))
        };
        let (head_seq, head) = event_at(&p.head)?;
        let (_, mut holder, mut weight) = after_event(&head, id).ok_or_else(|| {
            bad(format!("the head event of parcel {id} does not leave it open to sign for"))
        })?;
        let mut events = vec![head];
        while holder.is_none() || weight.is_none() {
            let Some(prev) = events.last().and_then(|e| prev_of(e, id)) else {
                return Err(bad(format!(
                    "the chain of parcel {id} ends before its holder and weight are fixed"
                )));
            };
            let (_, ev) = event_at(&prev)?;
            let (_, h, w) = after_event(&ev, id)
                .ok_or_else(|| bad(format!("event {prev} of parcel {id}'s chain does not touch it")))?;
            holder = holder.or(h);
            weight = weight.or(w);
            events.push(ev);
        }
        let checkpoint =
            self.stored_checkpoints()?.into_iter().next_back().filter(|c| c.size >= head_seq).ok_or_else(|| {
                StoreError::Refused(format!(
                    "no checkpoint covers parcel {id}'s latest event (#{head_seq}) yet: the root authority publishes one \
                     first (`kpledger log publish`)"
                ))
            })?;
        let path = self.inclusion_proof(head_seq, checkpoint.size)?;
        let origin = self.origin()?.ok_or_else(|| bad("the ledger has no genesis".into()))?;
        Ok(Card {
            format: Text::new(CARD_FORMAT).map_err(bad)?,
            ledger: origin,
            parcel: *id,
            head: p.head,
            status,
            holder: p.holder.clone(),
            weight_pt: p.weight_pt,
            stated: CardStated {
                stones: p.stones,
                hs_code: p.hs_code.clone(),
                origin_countries: p.origin_countries.iter().cloned().collect(),
                origin_unknown: p.origin_unknown,
                origin_sites: p.origin_sites.iter().cloned().collect(),
            },
            events: events.into_iter().map(|e| e.event).collect(),
            log: CardLog { checkpoint: checkpoint.note, index: head_seq - 1, path },
        })
    }
}
