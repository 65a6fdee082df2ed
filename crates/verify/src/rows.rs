//! The rows of the tables a store derives from events.
//!
//! The store writes exactly these rows (it calls [`actor_row`], [`parcel_row`], …) and
//! whole-ledger verification recomputes them from the events and compares every cell.
//! The first cell of each row is its key. Column names are in [`columns`]; the store's
//! `CREATE TABLE` statements must list the same columns in the same order.

use kpledger_model::SiteRecord;
use kpledger_model::canonical::to_canonical;
use serde::Serialize;

use crate::ledger::{Cell, Tables};
use crate::state::{ActorState, CertificateState, MemState, ParcelState, PolicyHistory};

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

fn doc<T: Serialize>(v: &T) -> Cell {
    // The model types always serialise, to UTF-8; an empty document would be reported as a
    // mismatch.
    Cell::Text(to_canonical(v).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default())
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

/// The `meta` row carrying the ledger's origin name.
pub fn origin_row(origin: &str) -> Vec<Cell> {
    vec![text("origin"), text(origin)]
}

/// The `meta` row remembering a foreign certificate's import (see [`crate::state::import_key`]).
pub fn import_row(key: &str, event: &kpledger_model::Hash) -> Vec<Cell> {
    vec![text(key), text(&event.to_hex())]
}

/// An `actors` row.
pub fn actor_row(a: &ActorState) -> Vec<Cell> {
    vec![
        text(a.record.id.as_str()),
        text(a.record.role.as_str()),
        text(a.record.country.as_str()),
        Cell::Int(i64::from(a.revoked.is_some())),
        doc(a),
    ]
}

/// A `sites` row.
pub fn site_row(s: &SiteRecord) -> Vec<Cell> {
    vec![text(s.id.as_str()), text(s.country.as_str()), doc(s)]
}

/// A `policies` row: the country, its current version, and its document — the policy itself
/// while the country has one version (as kpledger 0.1.0 wrote it, so that its ledgers still
/// verify), every version with its time and signer once it has more (the history the rules
/// judge older events with).
pub fn policy_row(h: &PolicyHistory) -> Vec<Cell> {
    let (country, version) =
        h.current().map_or(("", ""), |e| (e.policy.country.as_str(), e.policy.version.as_str()));
    let d = match h.entries.as_slice() {
        [only] => doc(&only.policy),
        _ => doc(h),
    };
    vec![text(country), text(version), d]
}

/// A `parcels` row.
pub fn parcel_row(p: &ParcelState) -> Vec<Cell> {
    vec![
        Cell::Text(p.id.to_string()),
        text(p.holder.as_str()),
        text(p.status.as_str()),
        Cell::Int(i64::try_from(p.weight_pt.0).unwrap_or(i64::MAX)),
        Cell::Blob(p.head.0.to_vec()),
        doc(p),
    ]
}

/// A `certificates` row.
pub fn certificate_row(c: &CertificateState) -> Vec<Cell> {
    vec![
        text(c.certificate.number.as_str()),
        text(c.certificate.issuing_country.as_str()),
        text(c.status().as_str()),
        doc(c),
    ]
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
