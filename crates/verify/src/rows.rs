//! The rows of the tables a store derives from events.
//!
//! The store writes exactly these rows ([`DerivedRow::of`] an effect, mapped to its table's
//! columns by name) and whole-ledger verification recomputes them from the events and
//! compares every cell. The first cell of each row is its key. Column names are in
//! [`columns`]; a test of the store compares them with the tables it creates.

use kpledger_model::SiteRecord;

use crate::ledger::{Cell, Tables};
use crate::state::{ActorState, CertificateState, MemState, ParcelState, PolicyHistory};
use crate::stored;

/// The derived tables, in the order a store creates them.
pub const TABLES: [&str; 6] = ["meta", "actors", "sites", "policies", "parcels", "certificates"];

/// Column names of a derived table.
pub fn columns(table: &str) -> &'static [&'static str] {
    match table {
        "meta" => &["key", "value"],
        "actors" => &["id", "role", "country", "revoked", "doc"],
        "sites" => &["id", "country", "doc"],
        "policies" => &["country", "version", "doc"],
        "parcels" => &["id", "holder", "status", "weight_pt", "head", "doc"],
        "certificates" => &["number", "issuing_country", "status", "doc"],
        "log_frontier" => &["size", "nodes"],
        _ => &[],
    }
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

/// A derived row, typed: one variant per derived table, its columns as named fields. The
/// store maps each to its table's columns by name ([`DerivedRow::columns`],
/// [`DerivedRow::cells`], in the same order); whole-ledger verification compares the cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DerivedRow {
    /// A `meta` row.
    Meta(MetaRow),
    /// An `actors` row.
    Actor(ActorRow),
    /// A `sites` row.
    Site(SiteRow),
    /// A `policies` row.
    Policy(PolicyRow),
    /// A `parcels` row.
    Parcel(ParcelRow),
    /// A `certificates` row.
    Certificate(CertificateRow),
}

/// A `meta` row: the origin name (key `origin`), or a foreign certificate's admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaRow {
    /// `origin`, or an [`crate::state::import_key`].
    pub key: String,
    /// The origin name, or the hex hash of the `import` event.
    pub value: String,
}

/// An `actors` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorRow {
    /// The actor's id.
    pub id: String,
    /// Its role (`miner`, `collector`, `broker`, `dealer`, `exporter`, `valuer` or `authority`).
    pub role: String,
    /// The country it is enrolled in (two capital letters).
    pub country: String,
    /// Whether it was revoked.
    pub revoked: bool,
    /// The actor's document (canonical JSON).
    pub doc: String,
}

/// A `sites` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRow {
    /// The site's id.
    pub id: String,
    /// The country the site is in.
    pub country: String,
    /// The site's document.
    pub doc: String,
}

/// A `policies` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    /// The country whose policy this is (the row's key).
    pub country: String,
    /// Its current policy's version.
    pub version: String,
    /// The policy document, or the history once there are several versions.
    pub doc: String,
}

/// A `parcels` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelRow {
    /// The parcel's id.
    pub id: String,
    /// The actor id of its current holder.
    pub holder: String,
    /// Its status: `open`, `sealed`, `certified`, `exported` or `consumed`.
    pub status: String,
    /// Its weight in points.
    pub weight_pt: i64,
    /// The hash of its latest event.
    pub head: Vec<u8>,
    /// The parcel's document.
    pub doc: String,
}

/// A `certificates` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    /// The certificate's number.
    pub number: String,
    /// The country that issued it.
    pub issuing_country: String,
    /// `issued`, `exported` or `confirmed`.
    pub status: String,
    /// The certificate's document.
    pub doc: String,
}

impl DerivedRow {
    /// The row an effect writes, if it writes one.
    pub fn of(effect: &crate::state::Effect) -> Option<DerivedRow> {
        use crate::state::Effect;
        Some(match effect {
            Effect::SetOrigin(o) => DerivedRow::origin(o.as_str()),
            Effect::PutActor(a) => DerivedRow::actor(a),
            Effect::PutSite(s) => DerivedRow::site(s),
            Effect::PutPolicy(p) => DerivedRow::policy(p),
            Effect::PutParcel(p) => DerivedRow::parcel(p),
            Effect::PutCertificate(c) => DerivedRow::certificate(c),
            Effect::PutImport { key, event } => DerivedRow::import(key, event),
        })
    }

    /// The `meta` row carrying the ledger's origin name.
    pub fn origin(origin: &str) -> DerivedRow {
        DerivedRow::Meta(MetaRow { key: "origin".into(), value: origin.into() })
    }

    /// The `meta` row remembering a foreign certificate's import (see [`crate::state::import_key`]).
    pub fn import(key: &str, event: &kpledger_model::Hash) -> DerivedRow {
        DerivedRow::Meta(MetaRow { key: key.into(), value: event.to_hex() })
    }

    /// An actor's row.
    pub fn actor(a: &ActorState) -> DerivedRow {
        DerivedRow::Actor(ActorRow {
            id: a.record.id.as_str().into(),
            role: a.record.role.as_str().into(),
            country: a.record.country.as_str().into(),
            revoked: a.revoked.is_some(),
            doc: stored::actor_doc(a),
        })
    }

    /// A site's row.
    pub fn site(s: &SiteRecord) -> DerivedRow {
        DerivedRow::Site(SiteRow {
            id: s.id.as_str().into(),
            country: s.country.as_str().into(),
            doc: stored::site_doc(s),
        })
    }

    /// A country's `policies` row: the country, its current version, and its document
    /// ([`stored::policy_doc`]).
    pub fn policy(h: &PolicyHistory) -> DerivedRow {
        let (country, version) =
            h.current().map_or(("", ""), |e| (e.policy.country.as_str(), e.policy.version.as_str()));
        DerivedRow::Policy(PolicyRow {
            country: country.into(),
            version: version.into(),
            doc: stored::policy_doc(h),
        })
    }

    /// A parcel's row.
    pub fn parcel(p: &ParcelState) -> DerivedRow {
        DerivedRow::Parcel(ParcelRow {
            id: p.id.to_string(),
            holder: p.holder.as_str().into(),
            status: p.status.as_str().into(),
            weight_pt: i64::try_from(p.weight_pt.0).unwrap_or(i64::MAX),
            head: p.head.0.to_vec(),
            doc: stored::parcel_doc(p),
        })
    }

    /// A certificate's row.
    pub fn certificate(c: &CertificateState) -> DerivedRow {
        DerivedRow::Certificate(CertificateRow {
            number: c.certificate.number.as_str().into(),
            issuing_country: c.certificate.issuing_country.as_str().into(),
            status: c.status().as_str().into(),
            doc: stored::certificate_doc(c),
        })
    }

    /// The derived table this row belongs to.
    pub fn table(&self) -> &'static str {
        match self {
            DerivedRow::Meta(_) => "meta",
            DerivedRow::Actor(_) => "actors",
            DerivedRow::Site(_) => "sites",
            DerivedRow::Policy(_) => "policies",
            DerivedRow::Parcel(_) => "parcels",
            DerivedRow::Certificate(_) => "certificates",
        }
    }

    /// Its table's column names, in the order of [`DerivedRow::cells`]; the key first.
    pub fn columns(&self) -> &'static [&'static str] {
        columns(self.table())
    }

    /// Its key (the first column).
    pub fn key(&self) -> &str {
        match self {
            DerivedRow::Meta(r) => &r.key,
            DerivedRow::Actor(r) => &r.id,
            DerivedRow::Site(r) => &r.id,
            DerivedRow::Policy(r) => &r.country,
            DerivedRow::Parcel(r) => &r.id,
            DerivedRow::Certificate(r) => &r.number,
        }
    }

    /// Its cells, column by column in the order of [`DerivedRow::columns`].
    pub fn cells(&self) -> Vec<Cell> {
        match self {
            DerivedRow::Meta(r) => vec![text(&r.key), text(&r.value)],
            DerivedRow::Actor(r) => vec![
                text(&r.id),
                text(&r.role),
                text(&r.country),
                Cell::Int(i64::from(r.revoked)),
                text(&r.doc),
            ],
            DerivedRow::Site(r) => vec![text(&r.id), text(&r.country), text(&r.doc)],
            DerivedRow::Policy(r) => vec![text(&r.country), text(&r.version), text(&r.doc)],
            DerivedRow::Parcel(r) => vec![
                text(&r.id),
                text(&r.holder),
                text(&r.status),
                Cell::Int(r.weight_pt),
                Cell::Blob(r.head.clone()),
                text(&r.doc),
            ],
            DerivedRow::Certificate(r) => {
                vec![text(&r.number), text(&r.issuing_country), text(&r.status), text(&r.doc)]
            }
        }
    }
}

/// The `meta` row carrying the ledger's origin name, as cells.
pub fn origin_row(origin: &str) -> Vec<Cell> {
    DerivedRow::origin(origin).cells()
}

/// The `meta` row remembering a foreign certificate's import, as cells.
pub fn import_row(key: &str, event: &kpledger_model::Hash) -> Vec<Cell> {
    DerivedRow::import(key, event).cells()
}

/// An `actors` row, as cells.
pub fn actor_row(a: &ActorState) -> Vec<Cell> {
    DerivedRow::actor(a).cells()
}

/// A `sites` row, as cells.
pub fn site_row(s: &SiteRecord) -> Vec<Cell> {
    DerivedRow::site(s).cells()
}

/// A `policies` row, as cells (see [`DerivedRow::policy`]).
pub fn policy_row(h: &PolicyHistory) -> Vec<Cell> {
    DerivedRow::policy(h).cells()
}

/// A `parcels` row, as cells.
pub fn parcel_row(p: &ParcelState) -> Vec<Cell> {
    DerivedRow::parcel(p).cells()
}

/// A `certificates` row, as cells.
pub fn certificate_row(c: &CertificateState) -> Vec<Cell> {
    DerivedRow::certificate(c).cells()
}

/// Every derived row of a state, by table, except `parcels`, which whole-ledger
/// verification compares as it goes (consumed parcels are compared when they are consumed,
/// the rest at the end) so that it never holds the whole table.
pub fn tables(state: &MemState) -> Tables {
    let mut t = Tables::new();
    t.insert(
        "meta".into(),
        state
            .origin
            .iter()
            .map(|o| origin_row(o.as_str()))
            .chain(state.imports.iter().map(|(k, h)| import_row(k, h)))
            .collect(),
    );
    t.insert("actors".into(), state.actors.values().map(actor_row).collect());
    t.insert("sites".into(), state.sites.values().map(site_row).collect());
    t.insert("policies".into(), state.policies.values().map(policy_row).collect());
    t.insert("certificates".into(), state.certificates.values().map(certificate_row).collect());
    t
}
