//! Ledger events and the records they carry.
//!
//! An event is a signed document `{"body": {...}, "sig": {"key": ..., "sig": ...}}`.
//! The body names its ledger, time, signer and kind; the event's hash is
//! `H("event", JCS(body))` and the signature is over that hash (see `docs/SPEC.md`).
//! Every event that touches a parcel names the hash of that parcel's previous event
//! (`prev`), which makes each parcel's history a hash chain, and the whole a DAG across
//! splits and merges.

use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::canonical::{self, JsonError};
use crate::hash::{self, Domain};
use crate::keys::{KeyCache, PublicKey, SecretKey};
use crate::sign::{self, Purpose};
use crate::types::{ActorId, Cents, Country, HsCode, Origin, ParcelId, Points, SiteId, Text, Time};

mod certificate;
mod fast;
mod parcels;
mod records;

pub use certificate::{
    CertExporter, CertImporter, CertLine, Certificate, ForeignCertificate, ImportConfirmation, KP_STATEMENT,
    KP_TITLE, OriginClaim,
};
pub use parcels::{ImportParcel, NewParcel, Offer, OfferBody, OfferKind, ParcelRef, Sig};
pub use records::{
    ActorRecord, Benchmark, FlaggedSite, Licence, NumberRange, Policy, RedFlagPolicy, SiteRecord, Suspension,
    ValuationRule,
};

/// The body format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Defines [`Payload`] and, from the same variants, fields and field attributes, the
/// externally tagged `PayloadByKind` that the fast reader (`fast.rs`) reads a body's variant
/// into: one shape serves both readers, so a field added to `Payload` is read by both.
macro_rules! payload {
    (
        $(#[$meta:meta])*
        pub enum Payload {
            $(
                $(#[$vmeta:meta])*
                $variant:ident {
                    $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
                }
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum Payload {
            $( $(#[$vmeta])* $variant { $( $(#[$fmeta])* $field: $ty ),* } ),*
        }

        /// [`Payload`]'s variants as an externally tagged enum, read by the fast reader from
        /// a body's `kind` and other fields. A remote derive: serde builds `Payload` itself.
        #[derive(Deserialize)]
        #[serde(remote = "Payload", rename_all = "snake_case")]
        enum PayloadByKind {
            $( $variant { $( $(#[$fmeta])* $field: $ty ),* } ),*
        }
    };
}

/// The pattern of the administrative payloads, which touch no parcel (genesis, policy,
/// enrolment, key rotation, revocation, mine site), for a `match` on [`Payload`] that
/// stays exhaustive: `kpledger_model::administrative_payload!() => …`.
#[macro_export]
macro_rules! administrative_payload {
    () => {
        $crate::Payload::Genesis { .. }
            | $crate::Payload::Policy { .. }
            | $crate::Payload::Enrol { .. }
            | $crate::Payload::RotateKey { .. }
            | $crate::Payload::Revoke { .. }
            | $crate::Payload::Site { .. }
    };
}

payload! {
/// What an event does. Serialised with `"kind"` as the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    /// The first event of a ledger: the root authority, self-signed.
    Genesis {
        /// The root authority's enrolment record; the genesis is signed with its `key`.
        authority: ActorRecord,
    },
    /// A country's rules.
    Policy {
        /// The country's complete policy: a new version, in force from this event's time (GV-1).
        policy: Policy,
    },
    /// Enrolment of a licensed actor (or of another authority by the root).
    Enrol {
        /// The actor's record: identity, role, country, licence and first signing key.
        actor: ActorRecord,
    },
    /// Replaces an actor's key from this point of the log on.
    RotateKey {
        /// Whose key is replaced: the signer itself, or an actor an authority imposes a key on (GV-4).
        actor: ActorId,
        /// The key the actor signs with from this event on.
        key: PublicKey,
    },
    /// Revokes an actor from this point of the log on.
    Revoke {
        /// The actor revoked: nothing it signs after this event is accepted.
        actor: ActorId,
        /// The reason the revoking authority gives (kept in the actor's state).
        reason: Text,
    },
    /// Registration of a licensed mine site.
    Site {
        /// The site's registration: id, name, country, region, location and area.
        site: SiteRecord,
    },
    /// A miner registers a new parcel at a mine site.
    Extraction {
        /// The new parcel (UUID v7).
        parcel: ParcelId,
        /// Where it was mined.
        site: SiteId,
        /// The new parcel's weight in points (0.01 ct).
        weight_pt: Points,
        /// How many stones it holds (at most [`crate::MAX_STONES`]).
        stones: u32,
        /// Its customs heading (`7102.xx`; KP-3 names the rough-diamond ones).
        hs_code: HsCode,
    },
    /// The receiver accepts a handover offer, with the weight it measured.
    Handover {
        /// The holder's signed offer.
        offer: Offer,
        /// The weight the receiver measured.
        weight_pt: Points,
    },
    /// The holder splits a parcel into several.
    Split {
        /// The parcel split (consumed).
        parcel: ParcelId,
        /// Hash of its latest event.
        prev: Hash,
        /// The parcels it is split into, each new, with its own weight and stones.
        outputs: Vec<NewParcel>,
    },
    /// The holder merges several parcels into one.
    Merge {
        /// The parcels merged (consumed).
        inputs: Vec<ParcelRef>,
        /// The parcel the inputs become (a new id).
        output: NewParcel,
    },
    /// Official valuation of a parcel (the three values and the final one).
    Valuation {
        /// The parcel valued (it must be `open`).
        parcel: ParcelId,
        /// Hash of its latest event.
        prev: Hash,
        /// The weight found at valuation.
        weight_pt: Points,
        /// The exporter's declared value.
        exporter_usd_cents: Cents,
        /// The government valuer's value.
        government_usd_cents: Cents,
        /// The independent valuer's value, where there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        independent_usd_cents: Option<Cents>,
        /// The value that counts, by the country's `valuation_rule`.
        final_usd_cents: Cents,
        /// Export duty or royalty due on the final value.
        duty_usd_cents: Cents,
    },
    /// The authority seals a parcel in a tamper-resistant container.
    Seal {
        /// The parcel sealed (it must be `open`, and becomes `sealed`).
        parcel: ParcelId,
        /// Hash of its latest event.
        prev: Hash,
        /// The weight at sealing.
        weight_pt: Points,
        /// The container seal numbers.
        #[serde(deserialize_with = "crate::types::de_references")]
        seal_ids: Vec<Text>,
    },
    /// The exporting authority issues and validates a KP certificate.
    Certificate {
        /// The certificate as validated; its `parcels` are the `sealed` parcels it covers.
        certificate: Certificate,
    },
    /// The exporting authority records the shipment's departure.
    Export {
        /// The number of the certificate the shipment leaves under (issued in this ledger).
        #[serde(deserialize_with = "crate::types::de_reference")]
        certificate: Text,
        /// The parcels, each at its latest event.
        parcels: Vec<ParcelRef>,
    },
    /// A transit country's authority records a shipment passing through unopened.
    Transit {
        /// The number of the certificate the shipment travels under.
        #[serde(deserialize_with = "crate::types::de_reference")]
        certificate: Text,
        /// The transit country.
        country: Country,
        /// The parcels, each at its latest event.
        parcels: Vec<ParcelRef>,
        /// Seals found on entry.
        #[serde(deserialize_with = "crate::types::de_references")]
        seal_ids_in: Vec<Text>,
        /// Seals found on exit.
        #[serde(deserialize_with = "crate::types::de_references")]
        seal_ids_out: Vec<Text>,
        /// Carats on entry.
        carats_in_pt: Points,
        /// Carats on exit.
        carats_out_pt: Points,
        /// Parcels on entry.
        parcel_count_in: u32,
        /// Parcels on exit.
        parcel_count_out: u32,
        /// Whether the container was opened in transit.
        opened: bool,
    },
    /// The importing authority admits a shipment from outside this ledger under a foreign
    /// certificate: every parcel the certificate counts, each a new parcel whose chain starts
    /// here, all held by the importer. The first parcel is `parcel`, `weight_pt`, `stones` and
    /// `hs_code` (the whole event of a one-parcel shipment, and the form 0.1.0 signed); the
    /// others are `more_parcels`, omitted when there are none ([`Payload::import_parcels`]
    /// lists them all).
    Import {
        /// The shipment's first parcel.
        parcel: ParcelId,
        /// The licensed importer who takes custody.
        holder: ActorId,
        /// The first parcel's weight on receipt.
        weight_pt: Points,
        /// The first parcel's stone count.
        stones: u32,
        /// The first parcel's heading.
        hs_code: HsCode,
        /// The foreign certificate the shipment came under.
        certificate: ForeignCertificate,
        /// The shipment's other parcels, in the order the importer lists them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        more_parcels: Vec<ImportParcel>,
    },
    /// The importing authority confirms receipt of a shipment exported in this ledger.
    ImportConfirmation {
        /// What the importing authority received, checked against the certificate's parcels and weight.
        confirmation: ImportConfirmation,
    },
}
}

impl Payload {
    /// The certificate and seal numbers this payload holds, each of which a reader requires
    /// to follow [`crate::types::is_reference`].
    pub fn references(&self) -> Vec<&Text> {
        match self {
            Payload::Seal { seal_ids, .. } => seal_ids.iter().collect(),
            Payload::Certificate { certificate } => {
                std::iter::once(&certificate.number).chain(&certificate.container_seal_ids).collect()
            }
            Payload::Export { certificate, .. } => vec![certificate],
            Payload::Transit { certificate, seal_ids_in, seal_ids_out, .. } => {
                std::iter::once(certificate).chain(seal_ids_in).chain(seal_ids_out).collect()
            }
            Payload::Import { certificate, .. } => vec![&certificate.number],
            Payload::ImportConfirmation { confirmation } => vec![&confirmation.certificate],
            _ => Vec::new(),
        }
    }

    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Genesis { .. } => "genesis",
            Payload::Policy { .. } => "policy",
            Payload::Enrol { .. } => "enrol",
            Payload::RotateKey { .. } => "rotate_key",
            Payload::Revoke { .. } => "revoke",
            Payload::Site { .. } => "site",
            Payload::Extraction { .. } => "extraction",
            Payload::Handover { .. } => "handover",
            Payload::Split { .. } => "split",
            Payload::Merge { .. } => "merge",
            Payload::Valuation { .. } => "valuation",
            Payload::Seal { .. } => "seal",
            Payload::Certificate { .. } => "certificate",
            Payload::Export { .. } => "export",
            Payload::Transit { .. } => "transit",
            Payload::Import { .. } => "import",
            Payload::ImportConfirmation { .. } => "import_confirmation",
        }
    }

    /// The parcels this event touches: `(parcel, prev)` for existing ones and
    /// `(parcel, None)` for the ones it creates.
    pub fn parcels(&self) -> Vec<(ParcelId, Option<Hash>)> {
        match self {
            Payload::Extraction { parcel, .. } => vec![(*parcel, None)],
            Payload::Handover { offer, .. } => vec![(offer.body.parcel, Some(offer.body.prev))],
            Payload::Split { parcel, prev, outputs } => std::iter::once((*parcel, Some(*prev)))
                .chain(outputs.iter().map(|o| (o.parcel, None)))
                .collect(),
            Payload::Merge { inputs, output } => inputs
                .iter()
                .map(|i| (i.parcel, Some(i.prev)))
                .chain(std::iter::once((output.parcel, None)))
                .collect(),
            Payload::Valuation { parcel, prev, .. } | Payload::Seal { parcel, prev, .. } => {
                vec![(*parcel, Some(*prev))]
            }
            Payload::Certificate { certificate: Certificate { parcels, .. } }
            | Payload::Export { parcels, .. }
            | Payload::Transit { parcels, .. }
            | Payload::ImportConfirmation { confirmation: ImportConfirmation { parcels, .. } } => {
                parcels.iter().map(|r| (r.parcel, Some(r.prev))).collect()
            }
            Payload::Import { parcel, more_parcels, .. } => std::iter::once((*parcel, None))
                .chain(more_parcels.iter().map(|p| (p.parcel, None)))
                .collect(),
            crate::administrative_payload!() => Vec::new(),
        }
    }
}

impl Payload {
    /// An import's parcels, the first (`parcel`, `weight_pt`, `stones`, `hs_code`) then
    /// `more_parcels`; empty for every other kind.
    pub fn import_parcels(&self) -> Vec<ImportParcel> {
        match self {
            Payload::Import { parcel, weight_pt, stones, hs_code, more_parcels, .. } => {
                std::iter::once(ImportParcel {
                    parcel: *parcel,
                    weight_pt: *weight_pt,
                    stones: *stones,
                    hs_code: hs_code.clone(),
                })
                .chain(more_parcels.iter().cloned())
                .collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The signed part of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventBody {
    /// Format version ([`FORMAT_VERSION`]).
    pub v: u32,
    /// The ledger's origin name: an event signed for one ledger is refused by another.
    pub ledger: Origin,
    /// When the signer signed.
    pub time: Time,
    /// The signing actor's id: `sig.key` must be its key at this point of the log.
    pub signer: ActorId,
    /// What it does.
    #[serde(flatten)]
    pub payload: Payload,
}

impl EventBody {
    /// A body of this format version ([`FORMAT_VERSION`]).
    pub fn new(ledger: Origin, time: Time, signer: ActorId, payload: Payload) -> EventBody {
        EventBody { v: FORMAT_VERSION, ledger, time, signer, payload }
    }
}

/// A signed event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What was signed.
    pub body: EventBody,
    /// The signer's signature.
    pub sig: Sig,
}

/// An event read from bytes, with its canonical bytes and hash computed once.
#[derive(Debug, Clone)]
pub struct ParsedEvent {
    /// The typed event (every value already checked against its format, docs/SPEC.md §7).
    pub event: Event,
    /// Canonical bytes of the whole event (what the ledger stores).
    pub canonical: Vec<u8>,
    /// `H("event", JCS(body))`.
    pub hash: Hash,
    /// For a handover, its offer's `H("offer", JCS(offer.body))` (what the holder signed);
    /// `None` for every other kind, and for an offer that cannot be written canonically.
    pub offer_hash: Option<Hash>,
}

impl ParsedEvent {
    /// The signatures to check for this event: its own, and for a handover the holder's offer
    /// (`Some(None)`: an offer that cannot even be hashed, which counts as a bad signature).
    pub fn signature_checks(&self) -> (sign::SigCheck, Option<Option<sign::SigCheck>>) {
        let e = &self.event;
        let own = sign::SigCheck { key: e.sig.key, purpose: Purpose::Event, hash: self.hash, sig: e.sig.sig };
        let offer = match &e.body.payload {
            Payload::Handover { offer, .. } => Some(self.offer_hash.map(|hash| sign::SigCheck {
                key: offer.sig.key,
                purpose: Purpose::Offer,
                hash,
                sig: offer.sig.sig,
            })),
            _ => None,
        };
        (own, offer)
    }
}

impl Event {
    /// Signs a body.
    pub fn sign(body: EventBody, key: &SecretKey) -> Result<Event, JsonError> {
        // Every other value's type checks its format when it is made; a certificate or seal
        // number is `Text`, whose grammar is checked here, so that nothing unreadable is signed.
        if let Some(bad) =
            body.payload.references().into_iter().find(|t| !crate::types::is_reference(t.as_str()))
        {
            return Err(JsonError::Shape(format!(
                "{bad:?} is not a certificate or seal number ({})",
                crate::types::REFERENCE_GRAMMAR
            )));
        }
        let h = hash::digest(Domain::Event, &canonical::to_canonical(&body)?);
        Ok(Event { sig: Sig { key: key.public(), sig: sign::sign(key, Purpose::Event, &h) }, body })
    }

    /// `H("event", JCS(body))`.
    pub fn hash(&self) -> Result<Hash, JsonError> {
        Ok(hash::digest(Domain::Event, &canonical::to_canonical(&self.body)?))
    }

    /// True if the signature verifies (strictly) with the key it names. Whether that key
    /// belongs to the signer is a rule (CH-2), checked against the ledger state.
    pub fn signature_valid(&self, hash: &Hash) -> bool {
        sign::verify(&self.sig.key, Purpose::Event, hash, &self.sig.sig)
    }

    /// Canonical bytes, hash and the event itself.
    pub fn into_parsed(self) -> Result<ParsedEvent, JsonError> {
        self.into_parsed_sized(1024, None)
    }

    /// As [`Event::into_parsed`], with `capacity` a guess of the canonical length. `offer_body`,
    /// if given, is a handover's JCS(offer.body), already at hand (the caller answers for it).
    fn into_parsed_sized(self, capacity: usize, offer_body: Option<&[u8]>) -> Result<ParsedEvent, JsonError> {
        // `{"body":` + JCS(body) + `,"sig":` + JCS(sig) + `}`, written once; the body's part
        // is hashed where it lies.
        let (canonical, body) = canonical::to_canonical_signed(&self.body, &self.sig, capacity)?;
        let hash = hash::digest(Domain::Event, canonical.get(body).unwrap_or_default());
        let offer_hash = match (&self.body.payload, offer_body) {
            (Payload::Handover { .. }, Some(bytes)) => Some(hash::digest(Domain::Offer, bytes)),
            (Payload::Handover { offer, .. }, None) => offer.hash().ok(),
            _ => None,
        };
        Ok(ParsedEvent { event: self, canonical, hash, offer_hash })
    }

    /// Canonical bytes and hash from `value`, the event's own JSON value: the body is
    /// canonicalised once, hashed, and placed in the whole event's canonical bytes.
    fn with_value(self, value: &serde_json::Value) -> Result<ParsedEvent, JsonError> {
        let (Some(body), Some(sig)) = (value.get("body"), value.get("sig")) else {
            return Err(JsonError::Shape("a signed event has a body and a sig".into()));
        };
        // Written in one pass, as on the fast path; the body's part is hashed where it lies.
        let (canonical, body) = canonical::to_canonical_signed(body, sig, 1024)?;
        let hash = hash::digest(Domain::Event, canonical.get(body).unwrap_or_default());
        let offer_hash = match &self.body.payload {
            Payload::Handover { offer, .. } => offer.hash().ok(),
            _ => None,
        };
        Ok(ParsedEvent { event: self, canonical, hash, offer_hash })
    }

    /// The fast path of [`Event::parse`], for bytes already in canonical form (as a ledger
    /// stores them and a signer writes them): read straight into the model (`fast`, without
    /// serde's buffering), then require the model's canonical bytes, written in one pass, to be
    /// the input, byte for byte; the body's hash is of its part of them. That equality is the whole
    /// strict check: canonical bytes have no duplicate key, no fraction or exponent, no
    /// unknown field and no integer beyond 2^53, and they are what the slow path would give.
    /// Anything else (`None`) takes the slow path, which names the problem. A handover's
    /// offer is hashed over its body's part of the input, likewise canonical once the whole
    /// input is.
    fn parse_canonical(bytes: &[u8]) -> Option<ParsedEvent> {
        let (event, offer_body) = fast::read(bytes)?;
        if event.body.v != FORMAT_VERSION {
            return None;
        }
        if let Payload::Handover { offer, .. } = &event.body.payload
            && offer.body.v != FORMAT_VERSION
        {
            return None;
        }
        let parsed = event.into_parsed_sized(bytes.len(), offer_body).ok()?;
        (parsed.canonical == bytes).then_some(parsed)
    }

    /// Reads an event strictly: strict JSON, the event's shape, the round trip, and a
    /// format version this build understands.
    pub fn parse(bytes: &[u8]) -> Result<ParsedEvent, JsonError> {
        match Self::parse_canonical(bytes) {
            Some(parsed) => Ok(parsed),
            None => Self::parse_strict(bytes),
        }
    }

    /// [`Event::parse`], with the keys it reads looked up in, and kept in, `keys` (the cache of
    /// the run reading many events).
    pub fn parse_in(bytes: &[u8], keys: &KeyCache) -> Result<ParsedEvent, JsonError> {
        keys.scope(|| Self::parse(bytes))
    }

    /// The strict path of [`Event::parse`], for any bytes: it gives the fast path's result
    /// wherever that one has one, and names the problem where there is one.
    fn parse_strict(bytes: &[u8]) -> Result<ParsedEvent, JsonError> {
        let value = canonical::parse_strict(bytes)?;
        if value.pointer("/body").is_none() || value.pointer("/sig").is_none() {
            return Err(JsonError::Shape(
                "not a signed kpledger event: expected an object {\"body\": {...}, \"sig\": {...}}".into(),
            ));
        }
        let v = value.pointer("/body/v").and_then(serde_json::Value::as_u64);
        match v {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) if v > u64::from(FORMAT_VERSION) => {
                return Err(JsonError::Shape(format!(
                    "format version {v} was written by a newer kpledger (this one reads version \
                     {FORMAT_VERSION}); upgrade kpledger"
                )));
            }
            _ => return Err(JsonError::Shape(format!("body.v must be {FORMAT_VERSION}"))),
        }
        let event: Event = canonical::from_value_ref_strict(&value)?;
        if let Payload::Handover { offer, .. } = &event.body.payload
            && offer.body.v != FORMAT_VERSION
        {
            return Err(JsonError::Shape(format!("offer v must be {FORMAT_VERSION}")));
        }
        // The round trip holds, so `value` is the event's own value.
        event.with_value(&value)
    }
}

#[cfg(test)]
mod tests;
