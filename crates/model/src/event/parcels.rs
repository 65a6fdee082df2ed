//! Parcels made by splits, merges and imports, references to parcels, and handover offers.

use crate::Hash;
use crate::canonical::{self, JsonError};
use crate::hash::{self, Domain};
use crate::keys::{PublicKey, SecretKey};
use crate::sign::{self, Purpose, Signature};
use crate::types::{ActorId, Cents, HsCode, Origin, ParcelId, Points, Time};
use serde::{Deserialize, Serialize};

/// A parcel created by a split or a merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewParcel {
    /// The new parcel's id.
    pub parcel: ParcelId,
    /// Its weight in points (0.01 ct).
    pub weight_pt: Points,
    /// Its stone count, where counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stones: Option<u32>,
}

/// A parcel admitted by an import, after the first (which the import's own `parcel`,
/// `weight_pt`, `stones` and `hs_code` give): every parcel of an imported shipment is a parcel
/// of its own, with its own heading, as the foreign certificate counts them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportParcel {
    /// The new parcel's id.
    pub parcel: ParcelId,
    /// Its weight on receipt.
    pub weight_pt: Points,
    /// How many stones it holds.
    pub stones: u32,
    /// Its customs heading (`7102.xx`).
    pub hs_code: HsCode,
}

/// A reference to an existing parcel at a given head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParcelRef {
    /// The parcel's id; `prev` is the head it is continued from.
    pub parcel: ParcelId,
    /// Hash of its latest event.
    pub prev: Hash,
}

/// The marker in an offer body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    /// The only kind of offer.
    HandoverOffer,
}

/// The holder's half of a handover: "I hand this parcel, of this weight, to that actor".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferBody {
    /// Format version.
    pub v: u32,
    /// The ledger this offer is for.
    pub ledger: Origin,
    /// Always `handover_offer`.
    pub kind: OfferKind,
    /// When the holder signed.
    pub time: Time,
    /// The parcel's holder, who signs the offer.
    pub signer: ActorId,
    /// The parcel and its current head.
    pub parcel: ParcelId,
    /// Hash of the parcel's latest event.
    pub prev: Hash,
    /// The actor the parcel is handed to, who signs the `handover` event.
    pub to: ActorId,
    /// The weight the holder hands over.
    pub weight_pt: Points,
    /// The price agreed, in US cents (the receipt's value).
    pub price_usd_cents: Cents,
}

/// A key and a signature by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sig {
    /// The signing key (must be the signer's enrolled key at this point of the log).
    pub key: PublicKey,
    /// Ed25519 over the purpose-tagged hash of the body.
    pub sig: Signature,
}

/// A signed offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// What the holder signed.
    pub body: OfferBody,
    /// The holder's signature.
    pub sig: Sig,
}

impl Offer {
    /// Signs an offer body.
    pub fn sign(body: OfferBody, key: &SecretKey) -> Result<Offer, JsonError> {
        let h = hash::digest(Domain::Offer, &canonical::to_canonical(&body)?);
        Ok(Offer { sig: Sig { key: key.public(), sig: sign::sign(key, Purpose::Offer, &h) }, body })
    }
    /// `H("offer", JCS(body))`.
    pub fn hash(&self) -> Result<Hash, JsonError> {
        Ok(hash::digest(Domain::Offer, &canonical::to_canonical(&self.body)?))
    }
    /// True if the signature verifies (strictly) with the key it names.
    pub fn signature_valid(&self) -> bool {
        self.hash().is_ok_and(|h| sign::verify(&self.sig.key, Purpose::Offer, &h, &self.sig.sig))
    }
}
