//! The rules' view of the stored state (`kpledger_verify::State` over the derived tables),
//! read through the storage boundary.

use kpledger_model::{ActorId, Country, Hash, Origin, ParcelId, Policy, SiteId, SiteRecord, Text, Time};
use kpledger_verify::stored::{self, DocError, StoredPolicy};
use kpledger_verify::{ActorState, CertificateState, ParcelState, PolicyEntry, PolicyHistory, State};

use super::Fault;
use super::append::BatchCache;
use super::backend::{Page, Reads};

/// What the scan for a country's first `policy` event reads of each (docs/SPEC.md §3): the
/// body's time and signer and the policy's country; the policy itself is the row's. Every
/// other member is skipped unread: reading each event whole (decoding its signer's key,
/// hashing its bytes, every field of its policy) was a third of the time of a single append.
/// The signature is whole-ledger verification's to check.
#[derive(serde::Deserialize)]
struct PolicyEvent {
    body: PolicyEventBody,
}

#[derive(serde::Deserialize)]
struct PolicyEventBody {
    time: Time,
    signer: ActorId,
    policy: PolicyCountry,
}

#[derive(serde::Deserialize)]
struct PolicyCountry {
    country: Country,
}

/// The rules' view of the ledger, read from the derived tables.
pub(super) struct SqlState<'c> {
    pub(super) store: &'c dyn Reads,
    pub(super) cache: Option<&'c BatchCache>,
    /// The first row the rules asked for that could not be read (they see it as absent).
    pub(super) failed: std::cell::RefCell<Option<Fault>>,
    /// The policy histories this view has read, by country, lent to the rules: they ask for
    /// a country's policy several times per event, and a copy each time cost a tenth of an
    /// append. A view lives for one event's verdict (or one read), never across a write.
    pub(super) lent: [std::cell::OnceCell<(Country, std::rc::Rc<PolicyHistory>)>; 4],
}

impl<'c> SqlState<'c> {
    pub(super) fn new(store: &'c dyn Reads) -> SqlState<'c> {
        SqlState { store, cache: None, failed: std::cell::RefCell::new(None), lent: Default::default() }
    }
    /// The value, or `None` for an unreadable row, remembering the error.
    pub(super) fn seen<T>(&self, r: Result<Option<T>, Fault>) -> Option<T> {
        r.unwrap_or_else(|e| {
            self.failed.borrow_mut().get_or_insert(e);
            None
        })
    }
    /// The first read error the rules met, if any.
    pub(super) fn failure(self) -> Option<Fault> {
        self.failed.into_inner()
    }
    /// The stored document of `key` in `table`, read by `read` (one of
    /// `kpledger_verify::stored`'s readers: the only way a document becomes state).
    pub(super) fn get_doc<T>(
        &self,
        table: &'static str,
        key: &str,
        read: fn(&str) -> Result<T, DocError>,
    ) -> Result<Option<T>, Fault> {
        let text = self.store.derived_doc(table, key)?;
        text.map(|t| read(&t).map_err(|e| Fault::BadRow(format!("{key}: {e}")))).transpose()
    }
    /// A country's policy history from its `policies` row: every version with its time and
    /// signer once it has more than one; while it has one, the row holds the policy alone (as
    /// kpledger 0.1.0 wrote it), and its time and signer are those of the country's first
    /// `policy` event (policies are recorded early, so the scan stops early).
    pub(super) fn try_policy_history(&self, country: &Country) -> Result<Option<PolicyHistory>, Fault> {
        let Some(text) = self.store.derived_doc("policies", country.as_str())? else {
            return Ok(None);
        };
        let policy = match stored::read_policy(&text) {
            Ok(StoredPolicy::History(h)) => return Ok(Some(h)),
            Ok(StoredPolicy::Only(p)) => *p,
            Err(e) => return Err(Fault::BadRow(format!("policies {country}: {e}"))),
        };
        // One event at a time, in ledger order: the first match ends the read. (Reading every
        // policy event, or a page of several, on each append scans the whole events table when
        // there are fewer: recording became quadratic in the ledger's length.)
        let mut after = 0;
        loop {
            let page = self.store.event_docs_of_kinds_after(&["policy"], Page { after, limit: 1 })?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            for (seq, doc) in page {
                let PolicyEvent { body } =
                    serde_json::from_slice(&doc).map_err(|e| Fault::BadRow(format!("event #{seq}: {e}")))?;
                if &body.policy.country == country {
                    let root = self.try_actor(&body.signer)?.is_some_and(|a| a.enrolled_by.is_none());
                    let entry = PolicyEntry { time: body.time, by: body.signer, root, policy };
                    return Ok(Some(PolicyHistory { entries: vec![entry] }));
                }
            }
        }
        Err(Fault::BadRow(format!("policies {country}: no policy event of {country} in the ledger")))
    }
    pub(super) fn try_actor(&self, id: &ActorId) -> Result<Option<ActorState>, Fault> {
        self.get_doc("actors", id.as_str(), stored::read_actor)
    }
    pub(super) fn try_origin(&self) -> Result<Option<Origin>, Fault> {
        let text: Option<String> = self.store.derived_doc("meta", "origin")?;
        text.map(|t| Origin::new(t).map_err(Fault::BadRow)).transpose()
    }
}

// The rules see a damaged row as absent; an append refuses to judge on such a view (see
// `append_in`), and whole-ledger verification reports the damage.
impl State for SqlState<'_> {
    fn origin(&self) -> Option<std::borrow::Cow<'_, Origin>> {
        if let Some(o) = self.cache.and_then(|c| c.origin.borrow().clone()) {
            return Some(std::borrow::Cow::Owned(o));
        }
        let o = self.seen(self.try_origin())?;
        if let Some(c) = self.cache {
            *c.origin.borrow_mut() = Some(o.clone());
        }
        Some(std::borrow::Cow::Owned(o))
    }
    fn trader_named(&self, country: &Country, name: &Text) -> Option<ActorId> {
        // Enrolments are rare: a scan of the country's unrevoked actors.
        let found: Result<Option<ActorId>, Fault> = (|| {
            for doc in self.store.actor_docs_of_country(country.as_str())? {
                let a = stored::read_actor(&doc)
                    .map_err(|e| Fault::BadRow(format!("actor of {country}: {e}")))?;
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
        let a: Option<ActorState> = self.seen(self.get_doc("actors", id.as_str(), stored::read_actor));
        if let (Some(c), Some(a)) = (self.cache, &a) {
            c.actors.borrow_mut().insert(id.clone(), a.clone());
        }
        a.map(std::borrow::Cow::Owned)
    }
    fn site(&self, id: &SiteId) -> Option<std::borrow::Cow<'_, SiteRecord>> {
        self.seen(self.get_doc("sites", id.as_str(), stored::read_site)).map(std::borrow::Cow::Owned)
    }
    fn policy(&self, country: &Country) -> Option<std::borrow::Cow<'_, Policy>> {
        match self.policy_history(country)? {
            std::borrow::Cow::Borrowed(h) => h.current().map(|e| std::borrow::Cow::Borrowed(&e.policy)),
            std::borrow::Cow::Owned(h) => {
                h.entries.into_iter().last().map(|e| std::borrow::Cow::Owned(e.policy))
            }
        }
    }
    fn policy_history(&self, country: &Country) -> Option<std::borrow::Cow<'_, PolicyHistory>> {
        let read = || -> Option<std::rc::Rc<PolicyHistory>> {
            if let Some(p) = self.cache.and_then(|c| c.policies.borrow().get(country).cloned()) {
                return Some(p);
            }
            let p = std::rc::Rc::new(self.seen(self.try_policy_history(country))?);
            if let Some(c) = self.cache {
                c.policies.borrow_mut().insert(country.clone(), std::rc::Rc::clone(&p));
            }
            Some(p)
        };
        for slot in &self.lent {
            match slot.get() {
                Some((c, h)) if c == country => return Some(std::borrow::Cow::Borrowed(&**h)),
                Some(_) => {}
                None => {
                    let read = read()?;
                    let (_, h) = slot.get_or_init(|| (country.clone(), read));
                    return Some(std::borrow::Cow::Borrowed(&**h));
                }
            }
        }
        read().map(|h| std::borrow::Cow::Owned(PolicyHistory::clone(&h)))
    }
    fn policy_countries(&self) -> Vec<Country> {
        match self.store.policy_countries() {
            Ok(v) => v.into_iter().filter_map(|c| Country::new(c).ok()).collect(),
            Err(e) => {
                self.failed.borrow_mut().get_or_insert(e);
                Vec::new()
            }
        }
    }
    fn parcel(&self, id: &ParcelId) -> Option<std::borrow::Cow<'_, ParcelState>> {
        if let Some(p) = self.cache.and_then(|c| c.parcels.borrow().get(id).cloned()) {
            return Some(std::borrow::Cow::Owned(p));
        }
        self.seen(self.get_doc("parcels", &id.to_string(), stored::read_parcel)).map(std::borrow::Cow::Owned)
    }
    fn certificate(&self, number: &Text) -> Option<CertificateState> {
        self.seen(self.get_doc("certificates", number.as_str(), stored::read_certificate))
    }
    fn certificate_numbers(&self, country: &Country) -> Vec<Text> {
        let read = || -> Result<Vec<Text>, Fault> {
            let mut out = Vec::new();
            for n in self.store.certificate_numbers(country.as_str())? {
                out.push(Text::new(n).map_err(Fault::BadRow)?);
            }
            Ok(out)
        };
        self.seen(read().map(Some)).unwrap_or_default()
    }
    fn foreign_import(&self, key: &str) -> Option<Hash> {
        let hex = self.seen(self.store.derived_doc("meta", key))?;
        self.seen(hex.parse::<Hash>().map(Some).map_err(|e| Fault::BadRow(format!("meta {key}: {e}"))))
    }
}
