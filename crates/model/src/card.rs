//! The parcel card: what a holder (or a buyer) needs to sign the next event of one parcel
//! offline, without the national ledger (docs/SPEC.md §14.6).
//!
//! A card carries the parcel's head event and an RFC 9162 inclusion proof of it under a
//! checkpoint the ledger's root authority signed, and the few earlier events of the parcel's
//! own chain that fix its holder and weight. Its reader checks the facts it relies on (head,
//! status, holder, weight) against those signed events (`kpledger_verify::card`); the
//! `stated` part (stones, heading, origin) is the ledger's statement, not proven by the card.

use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::event::Event;
use crate::types::{ActorId, Country, HsCode, Origin, ParcelId, Points, SiteId, Text};

/// The card format this build writes and reads.
pub const CARD_FORMAT: &str = "kpledger/card/v1";

/// A parcel's life stage as a card shows it (a consumed parcel has no card).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// Held and tradable.
    Open,
    /// Sealed in a container by the authority.
    Sealed,
    /// Named on a KP certificate.
    Certified,
    /// Exported under its certificate.
    Exported,
}

impl CardStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Open => "open",
            CardStatus::Sealed => "sealed",
            CardStatus::Certified => "certified",
            CardStatus::Exported => "exported",
        }
    }
}

/// One parcel's card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// Always [`CARD_FORMAT`].
    pub format: Text,
    /// The ledger (log origin) the parcel is recorded in.
    pub ledger: Origin,
    /// The parcel's id.
    pub parcel: ParcelId,
    /// The hash of the parcel's latest event: the `prev` the next event names.
    pub head: Hash,
    /// Its life stage after the head event.
    pub status: CardStatus,
    /// Who holds it.
    pub holder: ActorId,
    /// Its weight in points (0.01 ct) after the head event.
    pub weight_pt: Points,
    /// Facts the ledger states and the card does not prove.
    pub stated: CardStated,
    /// The head event first, then each earlier event of the parcel's own chain (by its
    /// `prev`) until one that fixes the holder and one that fixes the weight are included.
    pub events: Vec<Event>,
    /// The head event's place in the log.
    pub log: CardLog,
}

/// What the ledger says of the parcel beyond what the card's events prove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardStated {
    /// Stone count, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stones: Option<u32>,
    /// Customs heading.
    pub hs_code: HsCode,
    /// Countries of origin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origin_countries: Vec<Country>,
    /// Some of the stones are of unrecorded origin.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub origin_unknown: bool,
    /// Mine sites of origin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origin_sites: Vec<SiteId>,
}

/// A checkpoint and the head event's inclusion proof under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardLog {
    /// The checkpoint: a C2SP signed note, as text (cosignatures may follow the log's).
    pub checkpoint: String,
    /// The head event's 0-based leaf index (its ledger position − 1).
    pub index: u64,
    /// The audit path, leaf to root.
    pub path: Vec<Hash>,
}
