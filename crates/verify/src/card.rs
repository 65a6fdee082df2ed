//! Checking a parcel card (docs/SPEC.md §14.6): bytes and a trust policy in, the card's
//! proven facts or the reason it cannot be relied on out. No I/O, no clock.
//!
//! What a card proves: its head event is in the log of its origin, under a checkpoint signed
//! by a root key the trust policy pins (LOG-2, LOG-1); its events are signed (CH-2) and chained
//! by their `prev` links (CH-1); its head, status, holder and weight are the ones those signed
//! events give (DB-1). What it cannot prove: that the parcel has not moved since the
//! checkpoint (ingest refuses an event made from a stale card, CH-1), and its `stated` part.

use kpledger_model::note::{SigType, VerifierKey, open_checkpoint};
use kpledger_model::{ActorId, CARD_FORMAT, Card, CardStatus, ParcelId, ParsedEvent, Payload, Points};

use crate::finding::{Finding, Rule};
use crate::trust::TrustPolicy;

/// Why a card cannot be relied on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// The bytes are not a card this build reads (exit 2: could not check).
    #[error("not a kpledger parcel card: {0}")]
    Format(String),
    /// The card was checked and is wrong: a rule found an error (exit 1).
    #[error("{0}")]
    Refused(Box<Finding>),
}

impl CardError {
    /// The finding, when the card was checked and found wrong.
    pub fn finding(&self) -> Option<&Finding> {
        match self {
            CardError::Refused(f) => Some(f),
            CardError::Format(_) => None,
        }
    }
}

/// A card whose facts were checked against its signed events and the pinned log key.
#[derive(Debug, Clone)]
pub struct CheckedCard {
    /// The card as read.
    pub card: Card,
    /// Its head event, parsed (hash and canonical bytes).
    pub head: ParsedEvent,
    /// The size of the checkpoint the head event is proven under.
    pub checkpoint_size: u64,
    /// The key the holder signed with, when the event that gave it the parcel is signed by it
    /// (an extraction, a handover it accepted, a split or merge it made): its enrolled key then
    /// (CH-2 at ingest), unless it has rotated its key since.
    pub holder_key: Option<kpledger_model::PublicKey>,
}

/// What one event, touching `parcel` without consuming it, leaves the parcel as: its status,
/// and its holder and weight where the event's signed bytes fix them (`None`: unchanged from
/// the parcel's previous event). `None` when the event does not touch `parcel`, or consumes it.
pub fn after_event(
    ev: &ParsedEvent,
    parcel: &ParcelId,
) -> Option<(CardStatus, Option<ActorId>, Option<Points>)> {
    let signer = &ev.event.body.signer;
    let open = CardStatus::Open;
    match &ev.event.body.payload {
        Payload::Extraction { parcel: p, weight_pt, .. } if p == parcel => {
            Some((open, Some(signer.clone()), Some(*weight_pt)))
        }
        Payload::Import { parcel: p, holder, weight_pt, .. } if p == parcel => {
            Some((open, Some(holder.clone()), Some(*weight_pt)))
        }
        Payload::Handover { offer, weight_pt } if &offer.body.parcel == parcel => {
            Some((open, Some(offer.body.to.clone()), Some(*weight_pt)))
        }
        // A split or merge is made by the holder of its inputs (CH-2), who holds its outputs.
        Payload::Split { outputs, .. } => outputs
            .iter()
            .find(|o| &o.parcel == parcel)
            .map(|o| (open, Some(signer.clone()), Some(o.weight_pt))),
        Payload::Merge { output, .. } if &output.parcel == parcel => {
            Some((open, Some(signer.clone()), Some(output.weight_pt)))
        }
        Payload::Valuation { parcel: p, weight_pt, .. } if p == parcel => {
            Some((open, None, Some(*weight_pt)))
        }
        Payload::Seal { parcel: p, weight_pt, .. } if p == parcel => {
            Some((CardStatus::Sealed, None, Some(*weight_pt)))
        }
        Payload::Certificate { certificate } if certificate.parcels.iter().any(|r| &r.parcel == parcel) => {
            Some((CardStatus::Certified, None, None))
        }
        Payload::Export { parcels, .. } | Payload::Transit { parcels, .. }
            if parcels.iter().any(|r| &r.parcel == parcel) =>
        {
            Some((CardStatus::Exported, None, None))
        }
        Payload::ImportConfirmation { confirmation }
            if confirmation.parcels.iter().any(|r| &r.parcel == parcel) =>
        {
            Some((open, Some(confirmation.holder.clone()), None))
        }
        _ => None,
    }
}

/// The `prev` an event names for `parcel` (`None`: it creates the parcel, or does not touch it).
pub fn prev_of(ev: &ParsedEvent, parcel: &ParcelId) -> Option<kpledger_model::Hash> {
    ev.event.body.payload.parcels().into_iter().find(|(p, _)| p == parcel).and_then(|(_, prev)| prev)
}

/// Reads and checks a card against `trust` (the root keys it pins for the card's origin, or
/// the keys it trusts without a role), as docs/SPEC.md §14.6 says, in that order.
pub fn verify_card(bytes: &[u8], trust: &TrustPolicy) -> Result<CheckedCard, CardError> {
    let card: Card =
        kpledger_model::canonical::from_slice_strict(bytes).map_err(|e| CardError::Format(e.to_string()))?;
    if card.format.as_str() != CARD_FORMAT {
        return Err(CardError::Format(format!(
            "its format is {:?}, not {CARD_FORMAT:?}",
            card.format.as_str()
        )));
    }
    if card.events.is_empty() {
        return Err(CardError::Format("it holds no event".into()));
    }
    let refuse =
        |rule: Rule, msg: String| CardError::Refused(Box::new(Finding::error(rule, msg).parcel(card.parcel)));
    // 1. The checkpoint, signed by a key the trust policy pins for this log (LOG-2).
    let origin = card.ledger.as_str();
    let pinned = trust.log_keys(origin);
    if pinned.is_empty() {
        return Err(CardError::Refused(Box::new(
            Finding::error(
                Rule::Log2,
                format!("the card's checkpoint cannot be trusted: the trust policy pins no key for log {origin:?}"),
            )
            .parcel(card.parcel)
            .hint("add a `log <vkey>` line for this log to the trust policy (`kpledger trust log`), with the root authority's key obtained through official channels"),
        )));
    }
    let opened = pinned.iter().find_map(|k| {
        let vk = VerifierKey::new(origin, SigType::Ed25519, *k).ok()?;
        open_checkpoint(card.log.checkpoint.as_bytes(), origin, &vk, &[]).ok()
    });
    let Some(opened) = opened else {
        let list: Vec<String> = pinned.iter().map(kpledger_model::PublicKey::fingerprint).collect();
        return Err(CardError::Refused(Box::new(
            Finding::error(
                Rule::Log2,
                format!(
                    "the card's checkpoint is not a checkpoint of log {origin:?} signed by a key the trust policy pins \
                     for it ({}): the card was not written from that ledger, or was altered",
                    list.join(", ")
                ),
            )
            .parcel(card.parcel)
            .hint("ask the ledger's authority for a new card (`kpledger parcel card`)"),
        )));
    };
    let cp = opened.checkpoint();
    // 2. The events: readable, signed, for this ledger.
    let mut events = Vec::with_capacity(card.events.len());
    for (i, ev) in card.events.iter().enumerate() {
        let parsed = ev
            .clone()
            .into_parsed()
            .map_err(|e| CardError::Format(format!("event {} is not a valid signed event: {e}", i + 1)))?;
        if !parsed.event.signature_valid(&parsed.hash) {
            return Err(refuse(
                Rule::Ch2,
                format!(
                    "the signature of the card's event {} ({}) does not verify: the event was altered",
                    i + 1,
                    parsed.hash.short()
                ),
            ));
        }
        if let Payload::Handover { offer, .. } = &parsed.event.body.payload
            && !offer.signature_valid()
        {
            return Err(refuse(
                Rule::Ch2,
                format!(
                    "the holder's signature on the offer inside the card's event {} does not verify",
                    i + 1
                ),
            ));
        }
        if parsed.event.body.ledger != card.ledger {
            return Err(refuse(
                Rule::Ch2,
                format!(
                    "the card's event {} is signed for ledger {}, not {}",
                    i + 1,
                    parsed.event.body.ledger,
                    card.ledger
                ),
            ));
        }
        events.push(parsed);
    }
    let head = events[0].clone();
    // 3. The head: the card's `head` is its first event's hash, proven in the log (LOG-1).
    if head.hash != card.head {
        return Err(refuse(
            Rule::Ch1,
            format!(
                "the card names head {}, but its head event's hash is {}: the card was altered",
                card.head, head.hash
            ),
        ));
    }
    let leaf = crate::log::leaf_hash(&head.hash);
    if !crate::merkle::verify_inclusion(&leaf, card.log.index, cp.size(), &card.log.path, cp.root_hash()) {
        return Err(refuse(
            Rule::Log1,
            format!(
                "the card's head event is not in the log at position {} under its checkpoint (size {}): the proof is for \
                 another checkpoint or another event",
                card.log.index.saturating_add(1),
                cp.size()
            ),
        ));
    }
    // 4. The chain: each further event is the one its successor names as the parcel's `prev`;
    //    the facts are what the events fix, newest first.
    let Some((status, mut holder, mut weight)) = after_event(&head, &card.parcel) else {
        return Err(refuse(
            Rule::Ch3,
            format!(
                "the card's head event ({}) does not leave parcel {} to be signed for: it does not touch it, or consumes it",
                head.hash.short(),
                card.parcel
            ),
        ));
    };
    let holder_signed = |ev: &ParsedEvent, h: &Option<ActorId>| {
        h.as_ref().filter(|h| **h == ev.event.body.signer).map(|_| ev.event.sig.key)
    };
    let mut holder_key = holder_signed(&head, &holder);
    let mut used = 1;
    while holder.is_none() || weight.is_none() {
        let Some(prev) = prev_of(&events[used - 1], &card.parcel) else {
            return Err(CardError::Format(format!(
                "its events end before they fix the parcel's {} (event {} starts the chain)",
                if holder.is_none() { "holder" } else { "weight" },
                used
            )));
        };
        let Some(ev) = events.get(used) else {
            return Err(CardError::Format(format!(
                "its events end before they fix the parcel's {}: event {used} names {} before it, which the card does not hold",
                if holder.is_none() { "holder" } else { "weight" },
                prev.short()
            )));
        };
        if ev.hash != prev {
            return Err(refuse(
                Rule::Ch1,
                format!(
                    "the card's event {} ({}) is not the event {} names before it ({})",
                    used + 1,
                    ev.hash.short(),
                    used,
                    prev.short()
                ),
            ));
        }
        let Some((_, h, w)) = after_event(ev, &card.parcel) else {
            return Err(refuse(
                Rule::Ch1,
                format!("the card's event {} does not touch parcel {}", used + 1, card.parcel),
            ));
        };
        if holder.is_none() {
            holder_key = holder_signed(ev, &h);
        }
        holder = holder.or(h);
        weight = weight.or(w);
        used += 1;
    }
    if used != events.len() {
        return Err(CardError::Format(format!(
            "it holds {} events, but its facts are fixed by the first {used}: a card carries no more of the parcel's history",
            events.len()
        )));
    }
    // 5. The card's facts are the signed events' (DB-1).
    let fact = |what: &str, card_says: String, signed: String| {
        refuse(
            Rule::Db1,
            format!(
                "the card says the parcel's {what} is {card_says}, but its signed events say {signed}: the card was altered"
            ),
        )
    };
    if card.status != status {
        return Err(fact("status", card.status.as_str().into(), status.as_str().into()));
    }
    if let Some(h) = holder
        && h != card.holder
    {
        return Err(fact("holder", card.holder.to_string(), h.to_string()));
    }
    if let Some(w) = weight
        && w != card.weight_pt
    {
        return Err(fact("weight", card.weight_pt.to_string(), w.to_string()));
    }
    Ok(CheckedCard { card, head, checkpoint_size: cp.size(), holder_key })
}
