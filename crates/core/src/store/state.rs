//! The rules' view of the stored state (`kpledger_verify::State` over the derived tables).

use std::path::Path;

use kpledger_model::{
    ActorId, Country, Event, Hash, Origin, ParcelId, Payload, Policy, SiteId, SiteRecord, Text,
};
use kpledger_verify::{ActorState, CertificateState, ParcelState, PolicyEntry, PolicyHistory, State};
use rusqlite::{Connection, OptionalExtension};

use super::append::BatchCache;
use super::{StoreError, sql_err};

/// The rules' view of the ledger, read from the derived tables.
pub(super) struct SqlState<'c> {
    pub(super) conn: &'c Connection,
    pub(super) path: &'c Path,
    pub(super) cache: Option<&'c BatchCache>,
    /// The first row the rules asked for that could not be read (they see it as absent).
    pub(super) failed: std::cell::RefCell<Option<StoreError>>,
}

impl<'c> SqlState<'c> {
    pub(super) fn new(conn: &'c Connection, path: &'c Path) -> SqlState<'c> {
        SqlState { conn, path, cache: None, failed: std::cell::RefCell::new(None) }
    }
    /// The value, or `None` for an unreadable row, remembering the error.
    pub(super) fn seen<T>(&self, r: Result<Option<T>, StoreError>) -> Option<T> {
        r.unwrap_or_else(|e| {
            self.failed.borrow_mut().get_or_insert(e);
            None
        })
    }
    /// The first read error the rules met, if any.
    pub(super) fn failure(self) -> Option<StoreError> {
        self.failed.into_inner()
    }
    pub(super) fn get_doc<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let text: Option<String> = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut st| st.query_row([key], |r| r.get(0)).optional())
            .map_err(|e| sql_err(self.path, e))?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| StoreError::BadRow { path: self.path.to_owned(), reason: format!("{key}: {e}") })
        })
        .transpose()
    }
    /// A country's policy history from its `policies` row: every version with its time and
    /// signer once it has more than one; while it has one, the row holds the policy alone (as
    /// kpledger 0.1.0 wrote it), and its time and signer are those of the country's first
    /// `policy` event (policies are recorded early, so the scan stops early).
    pub(super) fn try_policy_history(&self, country: &Country) -> Result<Option<PolicyHistory>, StoreError> {
        let Some(text) = self.get_text("SELECT doc FROM policies WHERE country = ?1", country.as_str())?
        else {
            return Ok(None);
        };
        let bad = |e: serde_json::Error| StoreError::BadRow {
            path: self.path.to_owned(),
            reason: format!("policies {country}: {e}"),
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(bad)?;
        if value.get("entries").is_some() {
            return serde_json::from_value(value).map(Some).map_err(bad);
        }
        let policy: Policy = serde_json::from_value(value).map_err(bad)?;
        let mut st = self
            .conn
            .prepare_cached("SELECT seq, doc FROM events WHERE kind = 'policy' ORDER BY seq")
            .map_err(|e| sql_err(self.path, e))?;
        let mut rows = st.query([]).map_err(|e| sql_err(self.path, e))?;
        while let Some(row) = rows.next().map_err(|e| sql_err(self.path, e))? {
            let seq: i64 = row.get(0).map_err(|e| sql_err(self.path, e))?;
            let doc: String = row.get(1).map_err(|e| sql_err(self.path, e))?;
            let ev = Event::parse(doc.as_bytes()).map_err(|e| StoreError::BadRow {
                path: self.path.to_owned(),
                reason: format!("event #{seq}: {e}"),
            })?;
            if let Payload::Policy { policy: p } = &ev.event.body.payload
                && &p.country == country
            {
                let by = ev.event.body.signer.clone();
                let root = self.try_actor(&by)?.is_some_and(|a| a.enrolled_by.is_none());
                let time = ev.event.body.time.clone();
                return Ok(Some(PolicyHistory { entries: vec![PolicyEntry { time, by, root, policy }] }));
            }
        }
        Err(StoreError::BadRow {
            path: self.path.to_owned(),
            reason: format!("policies {country}: no policy event of {country} in the ledger"),
        })
    }
    pub(super) fn try_actor(&self, id: &ActorId) -> Result<Option<ActorState>, StoreError> {
        self.get_doc("SELECT doc FROM actors WHERE id = ?1", id.as_str())
    }
    pub(super) fn try_origin(&self) -> Result<Option<Origin>, StoreError> {
        let text: Option<String> = self.get_text("SELECT value FROM meta WHERE key = ?1", "origin")?;
        text.map(|t| {
            Origin::new(t).map_err(|reason| StoreError::BadRow { path: self.path.to_owned(), reason })
        })
        .transpose()
    }
    pub(super) fn get_text(&self, sql: &str, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut st| st.query_row([key], |r| r.get(0)).optional())
            .map_err(|e| sql_err(self.path, e))
    }
}

// The rules see a damaged row as absent; an append refuses to judge on such a view (see
// `append_in`), and whole-ledger verification reports the damage.
impl State for SqlState<'_> {
    fn origin(&self) -> Option<std::borrow::Cow<'_, Origin>> {
        self.seen(self.try_origin()).map(std::borrow::Cow::Owned)
    }
    fn trader_named(&self, country: &Country, name: &Text) -> Option<ActorId> {
        // Enrolments are rare: a scan of the country's unrevoked actors.
        let found: Result<Option<ActorId>, StoreError> = (|| {
            let mut st = self
                .conn
                .prepare_cached("SELECT doc FROM actors WHERE country = ?1 AND revoked = 0")
                .map_err(|e| sql_err(self.path, e))?;
            let mut rows = st.query([country.as_str()]).map_err(|e| sql_err(self.path, e))?;
            while let Some(r) = rows.next().map_err(|e| sql_err(self.path, e))? {
                let doc: String = r.get(0).map_err(|e| sql_err(self.path, e))?;
                let a: ActorState = serde_json::from_str(&doc).map_err(|e| StoreError::BadRow {
                    path: self.path.to_owned(),
                    reason: format!("actor of {country}: {e}"),
                })?;
                if a.record.role.is_trade() && &a.record.name == name {
                    return Ok(Some(a.record.id));
                }
            }
            Ok(None)
        })();
        self.seen(found)
    }
    fn actor(&self, id: &ActorId) -> Option<std::borrow::Cow<'_, ActorState>> {
        if let Some(a) = self.cache.and_then(|c| c.actors.borrow().get(id).cloned()) {
            return Some(std::borrow::Cow::Owned(a));
        }
        let a: Option<ActorState> =
            self.seen(self.get_doc("SELECT doc FROM actors WHERE id = ?1", id.as_str()));
        if let (Some(c), Some(a)) = (self.cache, &a) {
            c.actors.borrow_mut().insert(id.clone(), a.clone());
        }
        a.map(std::borrow::Cow::Owned)
    }
    fn site(&self, id: &SiteId) -> Option<std::borrow::Cow<'_, SiteRecord>> {
        self.seen(self.get_doc("SELECT doc FROM sites WHERE id = ?1", id.as_str()))
            .map(std::borrow::Cow::Owned)
    }
    fn policy(&self, country: &Country) -> Option<std::borrow::Cow<'_, Policy>> {
        let h = self.policy_history(country)?.into_owned();
        h.entries.into_iter().last().map(|e| std::borrow::Cow::Owned(e.policy))
    }
    fn policy_history(&self, country: &Country) -> Option<std::borrow::Cow<'_, PolicyHistory>> {
        if let Some(p) = self.cache.and_then(|c| c.policies.borrow().get(country).cloned()) {
            return Some(std::borrow::Cow::Owned(p));
        }
        let p: Option<PolicyHistory> = self.seen(self.try_policy_history(country));
        if let (Some(c), Some(p)) = (self.cache, &p) {
            c.policies.borrow_mut().insert(country.clone(), p.clone());
        }
        p.map(std::borrow::Cow::Owned)
    }
    fn policy_countries(&self) -> Vec<Country> {
        let rows =
            self.conn.prepare_cached("SELECT country FROM policies ORDER BY country").and_then(|mut st| {
                st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<String>, _>>()
            });
        match rows {
            Ok(v) => v.into_iter().filter_map(|c| Country::new(c).ok()).collect(),
            Err(e) => {
                self.failed.borrow_mut().get_or_insert(sql_err(self.path, e));
                Vec::new()
            }
        }
    }
    fn parcel(&self, id: &ParcelId) -> Option<std::borrow::Cow<'_, ParcelState>> {
        self.seen(self.get_doc("SELECT doc FROM parcels WHERE id = ?1", &id.to_string()))
            .map(std::borrow::Cow::Owned)
    }
    fn certificate(&self, number: &Text) -> Option<CertificateState> {
        self.seen(self.get_doc("SELECT doc FROM certificates WHERE number = ?1", number.as_str()))
    }
    fn certificate_numbers(&self, country: &Country) -> Vec<Text> {
        let read = || -> Result<Vec<Text>, StoreError> {
            let mut st = self
                .conn
                .prepare_cached("SELECT number FROM certificates WHERE issuing_country = ?1")
                .map_err(|e| sql_err(self.path, e))?;
            let rows = st
                .query_map([country.as_str()], |r| r.get::<_, String>(0))
                .map_err(|e| sql_err(self.path, e))?;
            let mut out = Vec::new();
            for r in rows {
                let n = r.map_err(|e| sql_err(self.path, e))?;
                out.push(
                    Text::new(n)
                        .map_err(|reason| StoreError::BadRow { path: self.path.to_owned(), reason })?,
                );
            }
            Ok(out)
        };
        self.seen(read().map(Some)).unwrap_or_default()
    }
    fn foreign_import(&self, key: &str) -> Option<Hash> {
        let hex = self.seen(self.get_text("SELECT value FROM meta WHERE key = ?1", key))?;
        self.seen(hex.parse::<Hash>().map(Some).map_err(|e| StoreError::BadRow {
            path: self.path.to_owned(),
            reason: format!("meta {key}: {e}"),
        }))
    }
}
