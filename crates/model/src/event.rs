//! Ledger events and the records they carry.
//!
//! An event is a signed document `{"body": {...}, "sig": {"key": ..., "sig": ...}}`.
//! The body names its ledger, time, signer and kind; the event's hash is
//! `H("event", JCS(body))` and the signature is over that hash (see `docs/SPEC.md`).
//! Every event that touches a parcel names the hash of that parcel's previous event
//! (`prev`), which makes each parcel's history a hash chain, and the whole a DAG across
//! splits and merges.

use serde::{Deserialize, Serialize};

use crate::canonical::{self, JsonError};
use crate::hash::{self, Domain, Hash};
use crate::keys::{PublicKey, SecretKey};
use crate::sign::{self, Purpose, Signature};
use crate::types::{
    ActorId, Cents, Country, Date, HsCode, Origin, ParcelId, Points, Role, SiteId, Text, Time,
};

mod fast;

/// The body format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A licence held by an actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licence {
    /// The licence number as printed, e.g. `NMA/ADL/2026/0142`.
    pub number: Text,
    /// The licence class, e.g. `artisanal`, `class-c`, `dealer`, `exporter`, `bureau_achat`.
    pub class: Text,
    /// First day of validity.
    pub valid_from: Date,
    /// Last day of validity (inclusive).
    pub valid_to: Date,
    /// Mine sites the licence covers (mining licences only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<SiteId>,
}

impl Licence {
    /// True if `date` is within `valid_from..=valid_to`.
    pub fn valid_on(&self, date: &Date) -> bool {
        &self.valid_from <= date && date <= &self.valid_to
    }
}

/// An enrolled actor: who, what role, where, under which licence, with which key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRecord {
    /// Stable handle.
    pub id: ActorId,
    /// Legal or trading name.
    pub name: Text,
    /// Role.
    pub role: Role,
    /// Country of licensing.
    pub country: Country,
    /// Licence; authorities and valuers may have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<Licence>,
    /// The actor's signing key.
    pub key: PublicKey,
    /// Registered address, as a KP certificate prints it for an exporter (omitted when
    /// absent, as in every enrolment signed by kpledger 0.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Text>,
}

/// A licensed mine site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRecord {
    /// Stable handle.
    pub id: SiteId,
    /// Name, e.g. `Koidu claim 12`.
    pub name: Text,
    /// Country.
    pub country: Country,
    /// Region, district or chiefdom, e.g. `Kono`.
    pub region: Text,
    /// Location as the licence gives it (coordinates or description).
    pub location: Text,
    /// Licensed area in square metres.
    pub area_m2: u64,
}

/// How the final value of an export lot is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValuationRule {
    /// The highest of the exporter's, the government valuer's and the independent
    /// valuer's values (Sierra Leone PMT).
    HighestOfThree,
    /// The government valuer's value.
    Government,
}

/// A country's rules, as a versioned document signed into the ledger by its authority.
/// The values come from `policies/XX.json`; `unconfirmed` names the fields that rest on
/// unconfirmed sources (docs/RULES.md) and must be reviewed before they are relied on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Always `kpledger/policy/v1`.
    pub schema: Text,
    /// Country the policy applies to.
    pub country: Country,
    /// Policy version, e.g. `2026-11-01`.
    pub version: Text,
    /// Weighing tolerance, in points, once per event: the loss a weighing may show before it is
    /// flagged (MB-1, MB-2, MB-3); no gain is ever allowed.
    pub tolerance_pt: u64,
    /// Licence classes that allow mining (LC-1).
    pub mining_licence_classes: Vec<Text>,
    /// Largest area an artisanal licence may cover, in m² (Sierra Leone: 1 ha).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_artisanal_area_m2: Option<u64>,
    /// Allowed seller → buyer role pairs for handovers (LC-2).
    pub allowed_transfers: Vec<[Role; 2]>,
    /// Licence classes an exporter must hold (EX-3).
    pub exporter_licence_classes: Vec<Text>,
    /// How the final export value is fixed (EX-2).
    pub valuation_rule: ValuationRule,
    /// Export duty or royalty in basis points of the final value (EX-2).
    pub export_duty_bp: u32,
    /// KP Participants this country trades with (KP-6).
    pub participants: Vec<Country>,
    /// Periods when a Participant's rough trade was suspended or embargoed (KP-6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspensions: Vec<Suspension>,
    /// The certificate number range of each year (KP-8, a soft check).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cert_number_ranges: Vec<NumberRange>,
    /// Days within which an import confirmation is expected after export (IM-2).
    pub import_confirmation_days: u32,
    /// The exporter must show every parcel was mined in this country or lawfully imported
    /// (Liberia's 2004 Act, EX-3).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conclusive_evidence_of_origin: bool,
    /// Reference figures per year for the statistical red flags (ST-1, ST-2): KP-reported
    /// production, value per carat, USGS production capacity (docs/RULES.md, Reference figures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benchmarks: Vec<Benchmark>,
    /// Thresholds of the statistical red flags (ST-1..ST-5, SW-1) and red-flag locations;
    /// absent values take the defaults of docs/RULES.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub red_flags: Option<RedFlagPolicy>,
    /// Field names whose values rest on unconfirmed sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unconfirmed: Vec<Text>,
}

/// A country's reference figures for one year (docs/RULES.md, Reference figures). Every figure is optional:
/// only what a source gave is recorded, never a derived value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benchmark {
    /// The year the figures are for.
    pub year: u32,
    /// KP-reported production, in points (0.01 ct).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_pt: Option<u64>,
    /// KP-reported production value, in US cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_usd_cents: Option<u64>,
    /// Average value per carat, in US cents per carat (ST-1's benchmark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_cents_per_ct: Option<u64>,
    /// Upper bound of the estimated production capacity per year, in points (ST-2; USGS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_pt_high: Option<u64>,
    /// Where the figures come from.
    pub source: Text,
}

/// Thresholds of the statistical red flags (docs/RULES.md: starting values, to be tuned).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedFlagPolicy {
    /// ST-1: the band around the benchmark value per carat, in percent of it
    /// (default `[33, 300]`: 0.33x to 3x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_band_pct: Option<[u32; 2]>,
    /// ST-3: a period's volume that grows by more than this percentage over the previous
    /// period, or shrinks to less than 100/(100+this) of it, is a jump (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_pct: Option<u32>,
    /// ST-3: volumes below this, in points, in both periods are not compared (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_min_pt: Option<u64>,
    /// ST-4: how long before a site was flagged sourcing from it still counts (default 365).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_days: Option<u32>,
    /// ST-4: mine sites that are red-flag locations (CAHRA), from a date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flagged_sites: Vec<FlaggedSite>,
    /// ST-5: countries treated as trading hubs for mixed-origin certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trading_hubs: Vec<Country>,
    /// SW-1: how many points a trader's sales may exceed its acquisitions (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_slack_pt: Option<u64>,
}

/// A mine site flagged as a red-flag location (OECD R1), from a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlaggedSite {
    /// The site.
    pub site: SiteId,
    /// From when it is flagged.
    pub from: Date,
    /// Why.
    pub reason: Text,
}

impl Policy {
    /// The final value by this country's valuation rule.
    pub fn final_value(&self, exporter: Cents, government: Cents, independent: Option<Cents>) -> Cents {
        match self.valuation_rule {
            ValuationRule::HighestOfThree => exporter.max(government).max(independent.unwrap_or_default()),
            ValuationRule::Government => government,
        }
    }

    /// The export duty on `value`: `export_duty_bp` basis points, rounded up to the cent.
    pub fn duty(&self, value: Cents) -> Cents {
        let due = (u128::from(value.0) * u128::from(self.export_duty_bp)).div_ceil(10_000);
        Cents(u64::try_from(due).unwrap_or(u64::MAX))
    }
}

/// A period when a country could not trade rough diamonds under the KPCS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    /// The country.
    pub country: Country,
    /// First day.
    pub from: Date,
    /// Last day (inclusive).
    pub to: Date,
    /// Why, e.g. the UN embargo.
    pub reason: Text,
}

/// A year's range of certificate serial numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberRange {
    /// The year of issue.
    pub year: u32,
    /// Lowest serial.
    pub min: u64,
    /// Highest serial.
    pub max: u64,
}

/// A parcel created by a split or a merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewParcel {
    /// The new parcel's id.
    pub parcel: ParcelId,
    /// Its weight.
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
    /// Its stone count.
    pub stones: u32,
    /// Its heading.
    pub hs_code: HsCode,
}

/// A reference to an existing parcel at a given head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParcelRef {
    /// The parcel.
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
    /// The holder.
    pub signer: ActorId,
    /// The parcel and its current head.
    pub parcel: ParcelId,
    /// Hash of the parcel's latest event.
    pub prev: Hash,
    /// The receiver.
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

/// The title every KP certificate carries (Annex I (a)).
pub const KP_TITLE: &str = "Kimberley Process Certificate";
/// The statement every KP certificate carries (Annex I (a)).
pub const KP_STATEMENT: &str = "The rough diamonds in this shipment have been handled in accordance with the provisions of the Kimberley Process Certification Scheme for rough diamonds";

/// A certificate's country of origin: one country, or mixed origin (written `"mixed"`;
/// paper certificates print asterisks).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OriginClaim {
    /// Every stone was mined in this country.
    Single(Country),
    /// Stones from two or more countries of origin.
    Mixed,
}

impl std::fmt::Display for OriginClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OriginClaim::Single(c) => write!(f, "{c}"),
            OriginClaim::Mixed => f.write_str("mixed"),
        }
    }
}

impl Serialize for OriginClaim {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OriginClaim {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "mixed" {
            return Ok(OriginClaim::Mixed);
        }
        Country::new(s).map(OriginClaim::Single).map_err(|e| {
            serde::de::Error::custom(format!("country of origin must be a country code or \"mixed\": {e}"))
        })
    }
}

/// One HS-code line of a certificate (Annex I (h), (i), (k)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertLine {
    /// The customs heading.
    pub hs_code: HsCode,
    /// Carats under this heading.
    pub carats_pt: Points,
    /// Value under this heading.
    pub value_usd_cents: Cents,
}

/// The exporter as named on a certificate (Annex I (g)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertExporter {
    /// The exporter's actor id in this ledger.
    pub actor: ActorId,
    /// Name.
    pub name: Text,
    /// Address.
    pub address: Text,
    /// Exporter licence number.
    pub licence_no: Text,
}

/// The importer as named on a certificate (Annex I (g)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertImporter {
    /// Name.
    pub name: Text,
    /// Address.
    pub address: Text,
    /// Country of destination.
    pub country: Country,
    /// The importer's enrolment in this ledger, when it has one (a regional ledger where the
    /// destination's authority and traders are enrolled too): an import confirmation must
    /// then give custody to exactly this actor (IM-1). Absent for an importer outside the
    /// ledger, and in certificates made before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<ActorId>,
}

/// A Kimberley Process certificate (every Annex I field), bound to the exact parcel
/// chains it covers: each parcel with the hash of its latest event. The issuing
/// authority's signature on the event is the validation (Annex I (l)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Always [`KP_TITLE`].
    pub title: Text,
    /// Always [`KP_STATEMENT`].
    pub statement: Text,
    /// Unique number, starting with the issuing country's code, e.g. `SL-2026-004312`
    /// ([`crate::types::is_reference`]).
    #[serde(deserialize_with = "crate::types::de_reference")]
    pub number: Text,
    /// The issuing (exporting) country.
    pub issuing_country: Country,
    /// Name of the issuing authority.
    pub issuing_authority: Text,
    /// Country of origin, or mixed.
    pub country_of_origin: OriginClaim,
    /// Date of issue.
    pub date_of_issue: Date,
    /// Date of expiry.
    pub date_of_expiry: Date,
    /// The exporter.
    pub exporter: CertExporter,
    /// The importer.
    pub importer: CertImporter,
    /// Carats and value per HS code.
    pub lines: Vec<CertLine>,
    /// Number of parcels in the shipment.
    pub parcel_count: u32,
    /// The parcels, each at its latest event.
    pub parcels: Vec<ParcelRef>,
    /// Container seal numbers ([`crate::types::is_reference`]).
    #[serde(deserialize_with = "crate::types::de_references")]
    pub container_seal_ids: Vec<Text>,
    /// Language of the certificate, e.g. `en` or `fr`.
    pub language: Text,
    /// An English translation is incorporated (required unless the language is English).
    pub english_translation_present: bool,
}

impl Certificate {
    /// Total carats over all lines.
    pub fn carats(&self) -> u64 {
        self.lines.iter().fold(0u64, |a, l| a.saturating_add(l.carats_pt.0))
    }
    /// Total value over all lines.
    pub fn value(&self) -> u64 {
        self.lines.iter().fold(0u64, |a, l| a.saturating_add(l.value_usd_cents.0))
    }
}

/// A certificate issued outside this ledger, as presented at import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignCertificate {
    /// Its number ([`crate::types::is_reference`]).
    #[serde(deserialize_with = "crate::types::de_reference")]
    pub number: Text,
    /// The exporting country.
    pub issuing_country: Country,
    /// Name of the issuing authority.
    pub issuing_authority: Text,
    /// Country of origin, or mixed.
    pub country_of_origin: OriginClaim,
    /// For mixed origin, the countries of origin where the documents give them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries_of_origin: Vec<Country>,
    /// Date of issue.
    pub date_of_issue: Date,
    /// Date of expiry.
    pub date_of_expiry: Date,
    /// Exporter's name.
    pub exporter: Text,
    /// Importer's name.
    pub importer: Text,
    /// Carats and value per HS code.
    pub lines: Vec<CertLine>,
    /// Number of parcels.
    pub parcel_count: u32,
}

/// The importing authority's confirmation of receipt (KPCS Section III (b)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportConfirmation {
    /// The certificate number.
    #[serde(deserialize_with = "crate::types::de_reference")]
    pub certificate: Text,
    /// The parcels received, each at its latest event (the export or transit).
    pub parcels: Vec<ParcelRef>,
    /// Parcels counted on receipt.
    pub parcel_count: u32,
    /// Carats weighed on receipt.
    pub carats_pt: Points,
    /// The importer's name, as on the certificate.
    pub importer: Text,
    /// The exporter's name, as on the certificate.
    pub exporter: Text,
    /// Date of receipt.
    pub date_of_receipt: Date,
    /// The container arrived with its seals intact.
    pub seal_intact: bool,
    /// The licensed actor in this ledger who takes custody.
    pub holder: ActorId,
}

/// What an event does. Serialised with `"kind"` as the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    /// The first event of a ledger: the root authority, self-signed.
    Genesis {
        /// The root authority.
        authority: ActorRecord,
    },
    /// A country's rules.
    Policy {
        /// The policy document.
        policy: Policy,
    },
    /// Enrolment of a licensed actor (or of another authority by the root).
    Enrol {
        /// The actor.
        actor: ActorRecord,
    },
    /// Replaces an actor's key from this point of the log on.
    RotateKey {
        /// The actor.
        actor: ActorId,
        /// The new key.
        key: PublicKey,
    },
    /// Revokes an actor from this point of the log on.
    Revoke {
        /// The actor.
        actor: ActorId,
        /// Why.
        reason: Text,
    },
    /// Registration of a licensed mine site.
    Site {
        /// The site.
        site: SiteRecord,
    },
    /// A miner registers a new parcel at a mine site.
    Extraction {
        /// The new parcel (UUID v7).
        parcel: ParcelId,
        /// Where it was mined.
        site: SiteId,
        /// Its weight.
        weight_pt: Points,
        /// Its stone count.
        stones: u32,
        /// Its customs heading.
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
        /// The new parcels.
        outputs: Vec<NewParcel>,
    },
    /// The holder merges several parcels into one.
    Merge {
        /// The parcels merged (consumed).
        inputs: Vec<ParcelRef>,
        /// The new parcel.
        output: NewParcel,
    },
    /// Official valuation of a parcel (the three values and the final one).
    Valuation {
        /// The parcel.
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
        /// The final value.
        final_usd_cents: Cents,
        /// Export duty or royalty due on the final value.
        duty_usd_cents: Cents,
    },
    /// The authority seals a parcel in a tamper-resistant container.
    Seal {
        /// The parcel.
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
        /// The certificate.
        certificate: Certificate,
    },
    /// The exporting authority records the shipment's departure.
    Export {
        /// The certificate number.
        #[serde(deserialize_with = "crate::types::de_reference")]
        certificate: Text,
        /// The parcels, each at its latest event.
        parcels: Vec<ParcelRef>,
    },
    /// A transit country's authority records a shipment passing through unopened.
    Transit {
        /// The certificate number.
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
        /// The confirmation.
        confirmation: ImportConfirmation,
    },
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
            Payload::Genesis { .. }
            | Payload::Policy { .. }
            | Payload::Enrol { .. }
            | Payload::RotateKey { .. }
            | Payload::Revoke { .. }
            | Payload::Site { .. } => Vec::new(),
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
    /// Who signed.
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
    /// The event.
    pub event: Event,
    /// Canonical bytes of the whole event (what the ledger stores).
    pub canonical: Vec<u8>,
    /// `H("event", JCS(body))`.
    pub hash: Hash,
    /// For a handover, its offer's `H("offer", JCS(offer.body))` (what the holder signed);
    /// `None` for every other kind, and for an offer that cannot be written canonically.
    pub offer_hash: Option<Hash>,
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

    /// As [`Event::into_parsed`], with a guess of the canonical length.
    /// As [`Event::into_parsed`]. `offer_body`, if given, is a handover's JCS(offer.body),
    /// already at hand (the caller answers for it).
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
        let body = canonical::canonical_value(body);
        let hash = hash::digest(Domain::Event, &body);
        let sig = canonical::canonical_value(sig);
        let canonical = canonical::object_of_canonical(&mut [("body", &body), ("sig", &sig)]);
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
mod tests {
    use super::*;

    /// An event of every kind, canonical, one a line (some with escapes and non-ASCII text).
    const EVENTS: &str = include_str!("../tests/data/events.jsonl");

    fn events() -> Vec<&'static [u8]> {
        EVENTS.lines().map(str::as_bytes).collect()
    }

    /// `Event::parse` of `bytes` is what the strict path alone gives, and the fast path gives
    /// either nothing or that. Returns whether the fast path took it.
    fn same_as_strict(bytes: &[u8]) -> bool {
        let strict = Event::parse_strict(bytes);
        let fast = Event::parse_canonical(bytes);
        let whole = Event::parse(bytes);
        let show = |r: &Result<ParsedEvent, JsonError>| match r {
            Ok(p) => format!(
                "{:?} {} {:?} {:?}",
                p.event,
                String::from_utf8_lossy(&p.canonical),
                p.hash,
                p.offer_hash
            ),
            Err(e) => format!("error: {e}"),
        };
        let text = String::from_utf8_lossy(bytes);
        assert_eq!(show(&whole), show(&strict), "{text}");
        if let Some(fast) = &fast {
            assert_eq!(show(&Ok(fast.clone())), show(&strict), "{text}");
            assert_eq!(fast.canonical, bytes, "{text}");
        }
        fast.is_some()
    }

    #[test]
    fn every_kind_takes_the_fast_path() {
        let mut kinds = std::collections::BTreeSet::new();
        for bytes in events() {
            assert!(same_as_strict(bytes), "{}", String::from_utf8_lossy(bytes));
            let parsed = Event::parse(bytes).unwrap();
            assert_eq!(parsed.hash, parsed.event.hash().unwrap());
            // The offer is hashed over its part of the input: what re-serialising it gives.
            let offer_hash = match &parsed.event.body.payload {
                Payload::Handover { offer, .. } => Some(offer.hash().unwrap()),
                _ => None,
            };
            assert_eq!(parsed.offer_hash, offer_hash);
            assert_eq!(parsed.canonical, canonical::to_canonical(&parsed.event).unwrap());
            let body = canonical::to_canonical(&parsed.event.body).unwrap();
            let sig = canonical::to_canonical(&parsed.event.sig).unwrap();
            assert_eq!(
                parsed.canonical,
                canonical::object_of_canonical(&mut [("sig", &sig), ("body", &body)])
            );
            kinds.insert(parsed.event.body.payload.kind());
        }
        assert_eq!(kinds.len(), 17, "{kinds:?}");
    }

    #[test]
    fn single_byte_changes_agree_with_the_strict_path() {
        // Every byte replaced (by a neighbour, a quote, a backslash), removed,
        // and preceded by a space. Most are refused; the few that stay canonical (a digit of
        // a hash, a letter of a name) must give what the strict path gives.
        let (mut fast, mut all) = (0, 0);
        for bytes in events() {
            // Whether each byte is outside strings: a space there is whitespace.
            let mut outside = Vec::with_capacity(bytes.len());
            let (mut in_string, mut escaped) = (false, false);
            for &b in bytes {
                outside.push(!in_string && b != b'"');
                match b {
                    _ if escaped => escaped = false,
                    b'\\' if in_string => escaped = true,
                    b'"' => in_string = !in_string,
                    _ => {}
                }
            }
            for i in 0..bytes.len() {
                let mut variants = Vec::new();
                for b in [bytes[i] ^ 1, b'"', b'\\'] {
                    if b != bytes[i] {
                        let mut m = bytes.to_vec();
                        m[i] = b;
                        variants.push(m);
                    }
                }
                let mut removed = bytes.to_vec();
                removed.remove(i);
                variants.push(removed);
                let mut spaced = bytes.to_vec();
                spaced.insert(i, b' ');
                if outside[i] {
                    assert!(
                        Event::parse_canonical(&spaced).is_none(),
                        "{}",
                        String::from_utf8_lossy(&spaced)
                    );
                }
                variants.push(spaced);
                for m in variants {
                    all += 1;
                    if same_as_strict(&m) {
                        fast += 1;
                    }
                }
            }
        }
        // Some changes keep the bytes canonical, most do not.
        assert!(fast > 0 && fast < all / 4, "{fast} of {all}");
    }

    /// Every object of `value`, each with its members rotated by one (none if it has one).
    fn reorderings(value: &serde_json::Value) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        match value {
            serde_json::Value::Object(map) => {
                if map.len() > 1 {
                    let mut members: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    members.rotate_left(1);
                    out.push(serde_json::Value::Object(members.into_iter().collect()));
                }
                for (k, v) in map {
                    for changed in reorderings(v) {
                        let mut copy = map.clone();
                        copy.insert(k.clone(), changed);
                        out.push(serde_json::Value::Object(copy));
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    for changed in reorderings(v) {
                        let mut copy = items.clone();
                        copy[i] = changed;
                        out.push(serde_json::Value::Array(copy));
                    }
                }
            }
            _ => {}
        }
        out
    }

    #[test]
    fn reordered_members_pretty_printing_and_duplicates_take_the_strict_path() {
        for bytes in events() {
            let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let expected = Event::parse(bytes).unwrap();
            for changed in reorderings(&value) {
                let m = serde_json::to_vec(&changed).unwrap();
                assert!(!same_as_strict(&m), "{}", String::from_utf8_lossy(&m));
                // The strict path reads it as the same event, with the same canonical bytes.
                let parsed = Event::parse(&m).unwrap();
                assert_eq!((parsed.canonical, parsed.hash), (expected.canonical.clone(), expected.hash));
            }
            let pretty = serde_json::to_vec_pretty(&value).unwrap();
            assert!(!same_as_strict(&pretty));
            assert_eq!(Event::parse(&pretty).unwrap().canonical, expected.canonical);
            let text = std::str::from_utf8(bytes).unwrap();
            for (from, to) in [
                (r#"{"body":{"#, r#"{"body":{"v":1,"#),
                (r#""sig":{"#, r#""sig":{"sig":"","#),
                (r#"{"body":"#, r#"{"sig":{},"body":"#),
                (r#""v":1"#, r#""v":1.0"#),
                (r#""v":1"#, r#""v":2"#),
                (r#""v":1"#, r#""v":01"#),
                (r#""v":1"#, r#""v":1,"x":null"#),
            ] {
                let m = text.replacen(from, to, 1);
                assert!(!same_as_strict(m.as_bytes()), "{m}");
                assert!(Event::parse(m.as_bytes()).is_err(), "{m}");
            }
        }
    }

    #[test]
    fn many_generated_events_agree_with_the_strict_path() {
        // Events of every kind with their values changed, from a fixed pseudo-random sequence:
        // strings (names, ids, hashes, keys, text with escapes and non-ASCII characters) and
        // numbers. Valid or not, canonical or not, `parse` gives what the strict path gives.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pieces = [
            "a",
            "Z",
            "0",
            "9",
            " ",
            "-",
            ".",
            "\"",
            "\\",
            "/",
            "\u{e9}",
            "\u{2028}",
            "\u{ffff}",
            "\u{10000}",
            "\u{1f48e}",
            "\n",
            "\u{7f}",
            "f",
            "=",
        ];
        let (mut fast, mut all) = (0, 0);
        for bytes in events() {
            let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            for _ in 0..300 {
                let mut changed = value.clone();
                // One to three leaves changed.
                for _ in 0..1 + next() % 3 {
                    let mut paths = Vec::new();
                    collect_paths(&changed, &mut Vec::new(), &mut paths);
                    let path = &paths[(next() % paths.len() as u64) as usize];
                    let leaf = changed.pointer_mut(path).unwrap();
                    *leaf = match &*leaf {
                        serde_json::Value::String(s) => {
                            let mut s = s.clone();
                            let chars: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
                            let pick = |n: u64, len: usize| (n % (len as u64 + 1)) as usize;
                            match next() % 3 {
                                0 => {
                                    let at = chars.get(pick(next(), chars.len())).copied().unwrap_or(s.len());
                                    s.insert_str(at, pieces[(next() % pieces.len() as u64) as usize]);
                                }
                                1 if !chars.is_empty() => {
                                    s.remove(chars[pick(next(), chars.len() - 1)]);
                                }
                                _ => s = s.to_uppercase(),
                            }
                            serde_json::Value::String(s)
                        }
                        serde_json::Value::Number(n) => {
                            let n = n.as_u64().unwrap_or(0);
                            serde_json::json!(match next() % 4 {
                                0 => 0,
                                1 => n + 1,
                                2 => n.saturating_sub(1),
                                _ => (1 << 53) - 1 + next() % 3,
                            })
                        }
                        serde_json::Value::Bool(b) => serde_json::Value::Bool(!b),
                        other => other.clone(),
                    };
                }
                // Written canonically, so that the fast path has its chance.
                let m = canonical::canonical_value(&changed);
                all += 1;
                if same_as_strict(&m) {
                    fast += 1;
                }
            }
        }
        assert!(fast > all / 10 && fast < all, "{fast} of {all}");
    }

    #[test]
    fn invisible_and_unnormalised_characters_are_refused_in_every_string_on_both_paths() {
        // A word joiner (SL-2026<U+2060>-004600 looks like SL-2026-004600), a zero-width space, a
        // right-to-left override, a byte-order mark, and an `e` with a separate accent (not NFC),
        // put after the first character of every string of every kind of event: no string of a
        // signed document may hold any of them, and the fast path refuses what the strict one does.
        let mut checked = 0;
        for bytes in events() {
            let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let mut paths = Vec::new();
            collect_paths(&value, &mut Vec::new(), &mut paths);
            for path in paths {
                let Some(serde_json::Value::String(s)) = value.pointer(&path) else { continue };
                for insert in ["\u{2060}", "\u{200b}", "\u{202e}", "\u{feff}", "e\u{301}"] {
                    let mut chars = s.chars();
                    let first = chars.next().map(String::from).unwrap_or_default();
                    let changed_text = format!("{first}{insert}{}", chars.as_str());
                    let mut changed = value.clone();
                    *changed.pointer_mut(&path).unwrap() = serde_json::Value::String(changed_text);
                    let m = canonical::canonical_value(&changed);
                    same_as_strict(&m);
                    assert!(
                        Event::parse(&m).is_err(),
                        "{path} with {insert:?}: {}",
                        String::from_utf8_lossy(&m)
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 500, "{checked}");
    }

    /// JSON pointers to every leaf of `v`.
    fn collect_paths(v: &serde_json::Value, at: &mut Vec<String>, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    at.push(k.replace('~', "~0").replace('/', "~1"));
                    collect_paths(v, at, out);
                    at.pop();
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    at.push(i.to_string());
                    collect_paths(v, at, out);
                    at.pop();
                }
            }
            _ => out.push(at.iter().map(|p| format!("/{p}")).collect()),
        }
    }
}
