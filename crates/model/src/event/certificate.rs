//! KP certificates: the one a ledger's authority validates, a foreign one, and an import's confirmation.

use super::ParcelRef;
use crate::types::{ActorId, Cents, Country, Date, HsCode, Points, Text};
use serde::{Deserialize, Serialize};

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
    /// The customs heading of this line's stones (`7102.xx`).
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
    /// The exporter's name, as the certificate prints it.
    pub name: Text,
    /// The exporter's address, as the certificate prints it.
    pub address: Text,
    /// Exporter licence number.
    pub licence_no: Text,
}

/// The importer as named on a certificate (Annex I (g)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertImporter {
    /// The consignee's name, as the certificate prints it.
    pub name: Text,
    /// The consignee's address, as the certificate prints it.
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
    /// The exporting trader: its actor id, name, address and licence number.
    pub exporter: CertExporter,
    /// The consignee: name, address, country, and its actor id when it is enrolled in this ledger.
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
    /// The certificate as the importing country sees it, the form of `Payload::Import`'s
    /// `certificate`: every field as validated, the exporter and importer by name, and no
    /// countries of origin listed (a certificate of this ledger gives none).
    pub fn as_foreign(&self) -> ForeignCertificate {
        ForeignCertificate {
            number: self.number.clone(),
            issuing_country: self.issuing_country.clone(),
            issuing_authority: self.issuing_authority.clone(),
            country_of_origin: self.country_of_origin.clone(),
            countries_of_origin: Vec::new(),
            date_of_issue: self.date_of_issue.clone(),
            date_of_expiry: self.date_of_expiry.clone(),
            exporter: self.exporter.name.clone(),
            importer: self.importer.name.clone(),
            lines: self.lines.clone(),
            parcel_count: self.parcel_count,
        }
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
    /// The number of the certificate the shipment left this ledger under.
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
