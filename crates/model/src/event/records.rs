//! Actors, licences, mine sites and the country policies the root authority publishes.

use crate::keys::PublicKey;
use crate::types::{ActorId, Cents, Country, Date, Role, SiteId, Text};
use serde::{Deserialize, Serialize};

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
    /// The actor's id, unique in the ledger (e.g. `sl.dealer.kamara`).
    pub id: ActorId,
    /// Legal or trading name.
    pub name: Text,
    /// Its role in the trade: the policy's `allowed_transfers` are between roles.
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
    /// The site's id, unique in the ledger (e.g. `sl.kono.koidu-12`).
    pub id: SiteId,
    /// Name, e.g. `Koidu claim 12`.
    pub name: Text,
    /// The country the site is in: the origin of the parcels mined there.
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
    /// The red-flagged mine site.
    pub site: SiteId,
    /// From when it is flagged.
    pub from: Date,
    /// Why the site is flagged, for whoever reads the ST-4 warning.
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
    /// The suspended country.
    pub country: Country,
    /// First day of the suspension.
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
