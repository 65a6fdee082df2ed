//! The stored documents of the derived tables: the `doc` column of `actors`, `sites`,
//! `policies`, `parcels` and `certificates` (docs/SPEC.md §11.1b).
//!
//! The documents are a format of their own, version [`DOC_FORMAT`], defined by the record
//! types of this module (one per table, with named fields) and converted from and to the
//! in-memory state ([`ActorState`], [`ParcelState`], [`CertificateState`], [`PolicyHistory`])
//! by hand. The in-memory types implement neither
//! `Serialize` nor `Deserialize`: a document can only be written or read through these
//! records, so renaming, adding or changing a field of an in-memory type cannot change the
//! file format without a compile error here. The records embed the signed records of the
//! event format (`ActorRecord`, `SiteRecord`, `Policy`, `Certificate`, docs/SPEC.md §3) as
//! their events carry them: those change only with the event format.
//!
//! A document is the JCS canonical form (docs/SPEC.md §1) of its record: the same bytes
//! kpledger 0.1.0 wrote, which whole-ledger verification recomputes and compares byte for
//! byte (`fixtures/store/derived-docs.txt` pins them).

use std::borrow::Cow;
use std::collections::BTreeSet;

use kpledger_model::canonical::to_canonical;
use kpledger_model::{
    ActorId, ActorRecord, Cents, Certificate, Country, Hash, HsCode, ParcelId, Points, Policy, SiteId,
    SiteRecord, Text, Time,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::state::{
    ActorState, CertificateState, ImposedKey, ParcelState, ParcelStatus, PolicyEntry, PolicyHistory,
    Revocation,
};

/// The version of the stored document format that this build writes and reads. It is not
/// written into the documents (0.1.0's bytes carry none): the file's schema version
/// (`PRAGMA user_version`) implies it, and changing the format means a new schema version
/// with its migration.
pub const DOC_FORMAT: u32 = 1;

/// A stored document that does not read as its table's record.
#[derive(Debug, thiserror::Error)]
#[error("not a version-{DOC_FORMAT} {table} document: {source}")]
pub struct DocError {
    /// The table whose document it is (`actors`, `sites`, `policies`, `parcels`, `certificates`).
    pub table: &'static str,
    /// What the JSON reader found wrong.
    #[source]
    pub source: serde_json::Error,
}

fn encode<T: Serialize>(record: &T) -> String {
    // The records hold only strings, integers, booleans and arrays of them, which always
    // serialise, to UTF-8; an empty document would be reported as a mismatch.
    to_canonical(record).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(table: &'static str, doc: &str) -> Result<T, DocError> {
    serde_json::from_str(doc).map_err(|source| DocError { table, source })
}

fn is_false(b: &bool) -> bool {
    !*b
}

// The records borrow from the in-memory state when a document is written (`Cow::Borrowed`,
// no copy) and own what they read (`Cow::Owned`).

/// `actors.doc`.
#[derive(Serialize, Deserialize)]
struct ActorV1<'a> {
    record: Cow<'a, ActorRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enrolled_by: Option<Cow<'a, ActorId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked: Option<RevocationV1<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    imposed_key: Option<ImposedKeyV1<'a>>,
}

#[derive(Serialize, Deserialize)]
struct RevocationV1<'a> {
    time: Cow<'a, Time>,
    reason: Cow<'a, Text>,
}

#[derive(Serialize, Deserialize)]
struct ImposedKeyV1<'a> {
    by: Cow<'a, ActorId>,
    time: Cow<'a, Time>,
}

/// `sites.doc`: the site as its `register_site` event carries it.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct SiteV1<'a>(Cow<'a, SiteRecord>);

/// `policies.doc` from a country's second version on (the first alone is the `Policy`).
#[derive(Serialize, Deserialize)]
struct PolicyHistoryV1<'a> {
    entries: Vec<PolicyEntryV1<'a>>,
}

#[derive(Serialize, Deserialize)]
struct PolicyEntryV1<'a> {
    time: Cow<'a, Time>,
    by: Cow<'a, ActorId>,
    #[serde(default, skip_serializing_if = "is_false")]
    root: bool,
    policy: Cow<'a, Policy>,
}

/// `parcels.doc`.
#[derive(Serialize, Deserialize)]
struct ParcelV1<'a> {
    id: ParcelId,
    weight_pt: Points,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stones: Option<u32>,
    hs_code: Cow<'a, HsCode>,
    origin_countries: Cow<'a, BTreeSet<Country>>,
    #[serde(default, skip_serializing_if = "is_false")]
    origin_unknown: bool,
    origin_sites: Cow<'a, BTreeSet<SiteId>>,
    holder: Cow<'a, ActorId>,
    status: StatusV1,
    head: Hash,
    updated: Cow<'a, Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value_usd_cents: Option<Cents>,
    #[serde(default, skip_serializing_if = "<[Text]>::is_empty")]
    seal_ids: Cow<'a, [Text]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate: Option<Cow<'a, Text>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provenance: Option<Cow<'a, Country>>,
}

/// A parcel's `status` member (the same names as the `status` column, docs/SPEC.md §9).
#[derive(Clone, Copy, Serialize, Deserialize)]
enum StatusV1 {
    #[serde(rename = "open")]
    Open,
    #[serde(rename = "sealed")]
    Sealed,
    #[serde(rename = "certified")]
    Certified,
    #[serde(rename = "exported")]
    Exported,
    #[serde(rename = "consumed")]
    Consumed,
}

/// `certificates.doc`.
#[derive(Serialize, Deserialize)]
struct CertificateV1<'a> {
    certificate: Cow<'a, Certificate>,
    event: Hash,
    issued: Cow<'a, Time>,
    validated_by: Cow<'a, ActorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exported: Option<Cow<'a, Time>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    confirmed: Option<Cow<'a, Time>>,
}

// From the in-memory state to the records, and back. Each conversion builds its target with a
// struct literal that names every field (no `..`, no `Default`), and each pair of types has
// both conversions: a field added to either type fails to compile until it is mapped both ways.

impl<'a> From<&'a ActorState> for ActorV1<'a> {
    fn from(a: &'a ActorState) -> ActorV1<'a> {
        let ActorState { record, enrolled_by, revoked, imposed_key } = a;
        ActorV1 {
            record: Cow::Borrowed(record),
            enrolled_by: enrolled_by.as_ref().map(Cow::Borrowed),
            revoked: revoked.as_ref().map(|Revocation { time, reason }| RevocationV1 {
                time: Cow::Borrowed(time),
                reason: Cow::Borrowed(reason),
            }),
            imposed_key: imposed_key.as_deref().map(|ImposedKey { by, time }| ImposedKeyV1 {
                by: Cow::Borrowed(by),
                time: Cow::Borrowed(time),
            }),
        }
    }
}

impl From<ActorV1<'_>> for ActorState {
    fn from(a: ActorV1<'_>) -> ActorState {
        let ActorV1 { record, enrolled_by, revoked, imposed_key } = a;
        ActorState {
            record: record.into_owned(),
            enrolled_by: enrolled_by.map(Cow::into_owned),
            revoked: revoked.map(|RevocationV1 { time, reason }| Revocation {
                time: time.into_owned(),
                reason: reason.into_owned(),
            }),
            imposed_key: imposed_key.map(|ImposedKeyV1 { by, time }| {
                Box::new(ImposedKey { by: by.into_owned(), time: time.into_owned() })
            }),
        }
    }
}

impl<'a> From<&'a PolicyEntry> for PolicyEntryV1<'a> {
    fn from(e: &'a PolicyEntry) -> PolicyEntryV1<'a> {
        let PolicyEntry { time, by, root, policy } = e;
        PolicyEntryV1 {
            time: Cow::Borrowed(time),
            by: Cow::Borrowed(by),
            root: *root,
            policy: Cow::Borrowed(policy),
        }
    }
}

impl From<PolicyEntryV1<'_>> for PolicyEntry {
    fn from(e: PolicyEntryV1<'_>) -> PolicyEntry {
        let PolicyEntryV1 { time, by, root, policy } = e;
        PolicyEntry { time: time.into_owned(), by: by.into_owned(), root, policy: policy.into_owned() }
    }
}

impl From<ParcelStatus> for StatusV1 {
    fn from(s: ParcelStatus) -> StatusV1 {
        match s {
            ParcelStatus::Open => StatusV1::Open,
            ParcelStatus::Sealed => StatusV1::Sealed,
            ParcelStatus::Certified => StatusV1::Certified,
            ParcelStatus::Exported => StatusV1::Exported,
            ParcelStatus::Consumed => StatusV1::Consumed,
        }
    }
}

impl From<StatusV1> for ParcelStatus {
    fn from(s: StatusV1) -> ParcelStatus {
        match s {
            StatusV1::Open => ParcelStatus::Open,
            StatusV1::Sealed => ParcelStatus::Sealed,
            StatusV1::Certified => ParcelStatus::Certified,
            StatusV1::Exported => ParcelStatus::Exported,
            StatusV1::Consumed => ParcelStatus::Consumed,
        }
    }
}

impl<'a> From<&'a ParcelState> for ParcelV1<'a> {
    fn from(p: &'a ParcelState) -> ParcelV1<'a> {
        ParcelV1 {
            id: p.id,
            weight_pt: p.weight_pt,
            stones: p.stones,
            hs_code: Cow::Borrowed(&p.hs_code),
            origin_countries: Cow::Borrowed(&p.origin_countries),
            origin_unknown: p.origin_unknown,
            origin_sites: Cow::Borrowed(&p.origin_sites),
            holder: Cow::Borrowed(&p.holder),
            status: p.status.into(),
            head: p.head,
            updated: Cow::Borrowed(&p.updated),
            value_usd_cents: p.value_usd_cents,
            seal_ids: Cow::Borrowed(&p.seal_ids),
            certificate: p.certificate.as_ref().map(Cow::Borrowed),
            provenance: p.provenance.as_ref().map(Cow::Borrowed),
        }
    }
}

impl From<ParcelV1<'_>> for ParcelState {
    fn from(p: ParcelV1<'_>) -> ParcelState {
        ParcelState {
            id: p.id,
            weight_pt: p.weight_pt,
            stones: p.stones,
            hs_code: p.hs_code.into_owned(),
            origin_countries: p.origin_countries.into_owned(),
            origin_unknown: p.origin_unknown,
            origin_sites: p.origin_sites.into_owned(),
            holder: p.holder.into_owned(),
            status: p.status.into(),
            head: p.head,
            updated: p.updated.into_owned(),
            value_usd_cents: p.value_usd_cents,
            seal_ids: p.seal_ids.into_owned(),
            certificate: p.certificate.map(Cow::into_owned),
            provenance: p.provenance.map(Cow::into_owned),
        }
    }
}

impl<'a> From<&'a CertificateState> for CertificateV1<'a> {
    fn from(c: &'a CertificateState) -> CertificateV1<'a> {
        let CertificateState { certificate, event, issued, validated_by, exported, confirmed } = c;
        CertificateV1 {
            certificate: Cow::Borrowed(certificate),
            event: *event,
            issued: Cow::Borrowed(issued),
            validated_by: Cow::Borrowed(validated_by),
            exported: exported.as_ref().map(Cow::Borrowed),
            confirmed: confirmed.as_ref().map(Cow::Borrowed),
        }
    }
}

impl From<CertificateV1<'_>> for CertificateState {
    fn from(c: CertificateV1<'_>) -> CertificateState {
        let CertificateV1 { certificate, event, issued, validated_by, exported, confirmed } = c;
        CertificateState {
            certificate: certificate.into_owned(),
            event,
            issued: issued.into_owned(),
            validated_by: validated_by.into_owned(),
            exported: exported.map(Cow::into_owned),
            confirmed: confirmed.map(Cow::into_owned),
        }
    }
}

/// An actor's stored document (`actors.doc`).
pub fn actor_doc(a: &ActorState) -> String {
    encode(&ActorV1::from(a))
}

/// A site's stored document (`sites.doc`): the site as its `register_site` event carries it.
pub fn site_doc(s: &SiteRecord) -> String {
    encode(&SiteV1(Cow::Borrowed(s)))
}

/// A country's stored policy document (`policies.doc`): the policy itself while the country
/// has one version (as kpledger 0.1.0 wrote it, so that its ledgers still verify), every
/// version with its time and signer once it has more (the history the rules judge older
/// events with).
pub fn policy_doc(h: &PolicyHistory) -> String {
    match h.entries.as_slice() {
        [only] => encode(&only.policy),
        entries => encode(&PolicyHistoryV1 { entries: entries.iter().map(PolicyEntryV1::from).collect() }),
    }
}

/// A parcel's stored document (`parcels.doc`).
pub fn parcel_doc(p: &ParcelState) -> String {
    encode(&ParcelV1::from(p))
}

/// A certificate's stored document (`certificates.doc`).
pub fn certificate_doc(c: &CertificateState) -> String {
    encode(&CertificateV1::from(c))
}

/// A state serialised as its stored document, for the JSON answers that carry it (the HTTP
/// service's reads of a parcel, a certificate, the actors): the one serde form the in-memory
/// state has.
#[derive(Debug, Clone, Copy)]
pub struct AsStored<'a, T>(pub &'a T);

impl Serialize for AsStored<'_, ActorState> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ActorV1::from(self.0).serialize(s)
    }
}

impl Serialize for AsStored<'_, ParcelState> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ParcelV1::from(self.0).serialize(s)
    }
}

impl Serialize for AsStored<'_, CertificateState> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CertificateV1::from(self.0).serialize(s)
    }
}

/// Reads an actor's stored document.
pub fn read_actor(doc: &str) -> Result<ActorState, DocError> {
    decode::<ActorV1<'_>>("actors", doc).map(ActorState::from)
}

/// Reads a site's stored document.
pub fn read_site(doc: &str) -> Result<SiteRecord, DocError> {
    decode::<SiteV1<'_>>("sites", doc).map(|SiteV1(s)| s.into_owned())
}

/// A stored policy document, read: the two forms of [`policy_doc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredPolicy {
    /// The country's only version, without the time and signer of its `policy` event
    /// (which the reader finds in the events).
    Only(Box<Policy>),
    /// Every version, oldest first, each with its event's time and signer.
    History(PolicyHistory),
}

/// Reads a country's stored policy document: a history when it has an `entries` member, the
/// country's only policy otherwise.
pub fn read_policy(doc: &str) -> Result<StoredPolicy, DocError> {
    let value: serde_json::Value = decode("policies", doc)?;
    let bad = |source| DocError { table: "policies", source };
    if value.get("entries").is_some() {
        let h: PolicyHistoryV1<'_> = serde_json::from_value(value).map_err(bad)?;
        Ok(StoredPolicy::History(PolicyHistory {
            entries: h.entries.into_iter().map(PolicyEntry::from).collect(),
        }))
    } else {
        serde_json::from_value(value).map(|p| StoredPolicy::Only(Box::new(p))).map_err(bad)
    }
}

/// Reads a parcel's stored document.
pub fn read_parcel(doc: &str) -> Result<ParcelState, DocError> {
    decode::<ParcelV1<'_>>("parcels", doc).map(ParcelState::from)
}

/// Reads a certificate's stored document.
pub fn read_certificate(doc: &str) -> Result<CertificateState, DocError> {
    decode::<CertificateV1<'_>>("certificates", doc).map(CertificateState::from)
}

#[cfg(test)]
#[path = "stored_tests.rs"]
mod tests;
