//! The ledger state the rules read, and the effects an accepted event has on it.
//!
//! The rules never change state themselves: [`crate::check_event`] returns the
//! [`Effect`]s of an event, and whoever keeps the state applies them — [`MemState`] here
//! for whole-ledger and bundle verification, the SQLite store in `kpledger-core` for
//! ingest. One function decides what an event does, so the two can never disagree.
//!
//! These types have no serde form of their own: the store keeps them as the documents of
//! [`crate::stored`], whose record types are converted from and to them field by field.

use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::{
    ActorId, ActorRecord, Cents, Certificate, Country, Hash, HsCode, Origin, ParcelId, Points, Policy,
    SiteId, SiteRecord, Text, Time,
};

/// An actor as of a point in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorState {
    /// The enrolment record, with the current key.
    pub record: ActorRecord,
    /// Who enrolled the actor (`None` for the root authority, which enrolled itself).
    pub enrolled_by: Option<ActorId>,
    /// Set once the actor is revoked.
    pub revoked: Option<Revocation>,
    /// Set once an authority imposed a key on the actor (a `rotate_key` not signed by the
    /// actor itself): every later event the actor signs is under a key it did not endorse,
    /// and carries a GV-4 warning. An ordinary rotation signed with an imposed key keeps the
    /// mark (whoever held the imposed key chose the next one).
    pub imposed_key: Option<Box<ImposedKey>>,
}

/// Who imposed an actor's key, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImposedKey {
    /// The authority that signed the imposing `rotate_key`.
    pub by: ActorId,
    /// The time of that `rotate_key` event.
    pub time: Time,
}

/// When and why an actor was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Time of the revoking event.
    pub time: Time,
    /// The reason given.
    pub reason: Text,
}

/// Where a parcel is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParcelStatus {
    /// Held and tradable.
    Open,
    /// Sealed in a container by the authority.
    Sealed,
    /// Named on a KP certificate.
    Certified,
    /// Exported under its certificate (until the importing authority confirms receipt).
    Exported,
    /// Split or merged into other parcels; it no longer exists on its own.
    Consumed,
}

impl ParcelStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ParcelStatus::Open => "open",
            ParcelStatus::Sealed => "sealed",
            ParcelStatus::Certified => "certified",
            ParcelStatus::Exported => "exported",
            ParcelStatus::Consumed => "consumed",
        }
    }
}

/// A parcel as of a point in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelState {
    /// The parcel's id (a UUID; the key of its `parcels` row).
    pub id: ParcelId,
    /// Current weight.
    pub weight_pt: Points,
    /// Current stone count, where known.
    pub stones: Option<u32>,
    /// Customs heading.
    pub hs_code: HsCode,
    /// Countries of origin (where the stones were mined).
    pub origin_countries: BTreeSet<Country>,
    /// The explicit unknown member of the origin set: some of the stones are of an origin
    /// nobody recorded (an import of mixed origin that names fewer than two countries). It
    /// is carried through every split and merge, so a parcel with any unknown share is
    /// never certified as of single origin (KP-5, EX-3).
    pub origin_unknown: bool,
    /// Mine sites of origin.
    pub origin_sites: BTreeSet<SiteId>,
    /// Current holder.
    pub holder: ActorId,
    /// Life stage.
    pub status: ParcelStatus,
    /// Hash of its latest event.
    pub head: Hash,
    /// Time of its latest event.
    pub updated: Time,
    /// Final value from the latest official valuation.
    pub value_usd_cents: Option<Cents>,
    /// Container seal numbers, once sealed.
    pub seal_ids: Vec<Text>,
    /// The KP certificate it was last certified under.
    pub certificate: Option<Text>,
    /// Country of provenance: the last country that exported it (origin is separate).
    pub provenance: Option<Country>,
}

/// A certificate and what has happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateState {
    /// The certificate as issued.
    pub certificate: Certificate,
    /// Hash of the issuing event.
    pub event: Hash,
    /// Time of issue (the event's time).
    pub issued: Time,
    /// Who validated it.
    pub validated_by: ActorId,
    /// Time of departure, once exported.
    pub exported: Option<Time>,
    /// Time the importing authority confirmed receipt.
    pub confirmed: Option<Time>,
}

/// Where a certificate is in its life, from its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateStatus {
    /// Issued and validated; the shipment has not left.
    Issued,
    /// The shipment left under it.
    Exported,
    /// The importing authority confirmed receipt.
    Confirmed,
}

impl CertificateStatus {
    /// The snake_case name (the `status` column of the `certificates` table).
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Issued => "issued",
            CertificateStatus::Exported => "exported",
            CertificateStatus::Confirmed => "confirmed",
        }
    }
}

impl CertificateState {
    /// Where the certificate is in its life: confirmed once receipt is, else exported once the
    /// shipment left, else issued.
    pub fn status(&self) -> CertificateStatus {
        if self.confirmed.is_some() {
            CertificateStatus::Confirmed
        } else if self.exported.is_some() {
            CertificateStatus::Exported
        } else {
            CertificateStatus::Issued
        }
    }
}

/// One recorded version of a country's policy: in force from its event's `time` (never
/// before it was recorded) until the next one's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    /// The time of the `policy` event that recorded it.
    pub time: Time,
    /// Who signed it.
    pub by: ActorId,
    /// True when the root authority signed it: its suspensions are the KP-level standing
    /// of the countries it names (KP-6, GV-2).
    pub root: bool,
    /// The policy as that event recorded it.
    pub policy: Policy,
}

/// Every version of a country's policy, in log order (GV-1 keeps their times increasing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyHistory {
    /// The versions, oldest first; never empty.
    pub entries: Vec<PolicyEntry>,
}

impl PolicyHistory {
    /// The latest recorded version.
    pub fn current(&self) -> Option<&PolicyEntry> {
        self.entries.last()
    }
    /// Where the version in force at `t` sits: the latest recorded whose time is not after
    /// `t`, or the first version (a country's first policy rules every event recorded
    /// after it, there being no earlier one).
    fn index_at(&self, t: &Time) -> Option<usize> {
        self.entries.iter().rposition(|e| &e.time <= t).or(if self.entries.is_empty() {
            None
        } else {
            Some(0)
        })
    }
    /// The version in force at `t`: the newest recorded at or before `t`.
    pub fn at(&self, t: &Time) -> Option<&PolicyEntry> {
        self.index_at(t).map(|i| &self.entries[i])
    }
    /// The latest version the root authority signed, up to the one in force at `t`.
    pub fn root_at(&self, t: &Time) -> Option<&PolicyEntry> {
        let i = self.index_at(t)?;
        self.entries[..=i].iter().rev().find(|e| e.root)
    }
}

/// A change to the state.
// An event has a few effects, applied at once: the size of the largest variant (an actor's
// enrolment) does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// The ledger gets its origin name (genesis).
    SetOrigin(Origin),
    /// An actor is created or changed.
    PutActor(ActorState),
    /// A site is registered.
    PutSite(SiteRecord),
    /// A country's policy history, with its new version last.
    PutPolicy(PolicyHistory),
    /// A parcel is created or changed.
    PutParcel(ParcelState),
    /// A certificate is issued or changed.
    PutCertificate(Box<CertificateState>),
    /// A foreign certificate was admitted by an `import` event: its [`import_key`] and the
    /// event's hash (kept as a `meta` row, so that whole-ledger verification checks it).
    PutImport {
        /// The certificate's [`import_key`].
        key: String,
        /// The `import` event that admitted it.
        event: Hash,
    },
}

/// The key under which a foreign certificate's admission is remembered (KP-2: a foreign
/// certificate is imported at most once per ledger): `import:` + issuing country + `:` + the
/// number's ASCII letters and digits, upper-cased. Case, spaces, dashes and any other
/// character cannot make one certificate look like two (docs/SPEC.md §10.3, `import`).
pub fn import_key(country: &Country, number: &str) -> String {
    let n: String =
        number.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
    format!("import:{}:{n}", country.as_str().to_ascii_uppercase())
}

/// Read access to the ledger state, as the rules need it.
pub trait State {
    /// The ledger's origin name, once it has a genesis (borrowed where the state holds it:
    /// rules check it for every event).
    fn origin(&self) -> Option<std::borrow::Cow<'_, Origin>>;
    /// An actor by id (borrowed where the state holds it: rules consult the signer and
    /// the parties of every event).
    fn actor(&self, id: &ActorId) -> Option<std::borrow::Cow<'_, ActorState>>;
    /// An unrevoked trader enrolled in `country` under the name `name`, if there is one: names
    /// identify exporters and importers on certificates, so one name is one trader.
    fn trader_named(&self, country: &Country, name: &Text) -> Option<ActorId>;
    /// A site by id (borrowed where the state holds it).
    fn site(&self, id: &SiteId) -> Option<std::borrow::Cow<'_, SiteRecord>>;
    /// A country's current policy (borrowed where the state holds it: rules consult it for
    /// nearly every event).
    fn policy(&self, country: &Country) -> Option<std::borrow::Cow<'_, Policy>>;
    /// Every recorded version of a country's policy.
    fn policy_history(&self, country: &Country) -> Option<std::borrow::Cow<'_, PolicyHistory>>;
    /// The countries that have a policy.
    fn policy_countries(&self) -> Vec<Country>;
    /// The country's policy in force at `t` (GV-1): the latest version recorded so far whose
    /// time is not after `t`. An event is judged with this one, never with a version
    /// recorded after its time.
    fn policy_at(&self, country: &Country, t: &Time) -> Option<std::borrow::Cow<'_, Policy>> {
        match self.policy_history(country)? {
            std::borrow::Cow::Borrowed(h) => h.at(t).map(|e| std::borrow::Cow::Borrowed(&e.policy)),
            std::borrow::Cow::Owned(h) => h.at(t).map(|e| std::borrow::Cow::Owned(e.policy.clone())),
        }
    }
    /// A parcel by id (borrowed where the state holds it).
    fn parcel(&self, id: &ParcelId) -> Option<std::borrow::Cow<'_, ParcelState>>;
    /// A certificate by number.
    fn certificate(&self, number: &Text) -> Option<CertificateState>;
    /// The `import` event that admitted the foreign certificate of [`import_key`] `key`, if
    /// one did.
    fn foreign_import(&self, key: &str) -> Option<Hash>;
    /// The numbers of the certificates `country` issued in this ledger (read only when a
    /// foreign certificate of that country is imported, which is rare).
    fn certificate_numbers(&self, country: &Country) -> Vec<Text>;
    /// The number of a certificate `country` issued in this ledger whose [`import_key`] is
    /// `key`, if any: two spellings of one number (`SL-2026-004312`, `SL/2026/004312`) are one
    /// certificate (KP-2).
    fn certificate_by_key(&self, country: &Country, key: &str) -> Option<Text> {
        self.certificate_numbers(country).into_iter().find(|n| import_key(country, n.as_str()) == key)
    }
    /// True for a parcel that was split or merged away and that [`State::parcel`] no longer
    /// returns (a state may instead keep consumed parcels with that status).
    fn consumed(&self, _id: &ParcelId) -> bool {
        false
    }
}

/// The whole state in memory.
#[derive(Debug, Clone, Default)]
pub struct MemState {
    /// The ledger's origin name, from its genesis.
    pub origin: Option<Origin>,
    /// Every enrolled actor, revoked ones included, by id.
    pub actors: BTreeMap<ActorId, ActorState>,
    /// Every registered mine site, by id.
    pub sites: BTreeMap<SiteId, SiteRecord>,
    /// Policies by country, every version.
    pub policies: BTreeMap<Country, PolicyHistory>,
    /// Parcels still in the trade (everything but consumed ones).
    pub parcels: BTreeMap<ParcelId, ParcelState>,
    /// Ids of parcels consumed by splits and merges.
    pub consumed: std::collections::HashSet<ParcelId>,
    /// Certificates by number.
    pub certificates: BTreeMap<Text, CertificateState>,
    /// Foreign certificates admitted by `import` events, by [`import_key`].
    pub imports: BTreeMap<String, Hash>,
    /// The numbers of the certificates issued in this ledger, by [`import_key`].
    pub certificate_keys: BTreeMap<String, Text>,
}

impl MemState {
    /// Applies effects in order, and returns the parcels they consumed (split or merged
    /// away). Consumed parcels leave the map and only their id is kept, so memory follows
    /// the parcels still in the trade, not the length of the history.
    pub fn apply(&mut self, effects: Vec<Effect>) -> Vec<ParcelState> {
        let consumed = effects
            .iter()
            .filter(|e| matches!(e, Effect::PutParcel(p) if p.status == ParcelStatus::Consumed))
            .count();
        let mut retired = Vec::with_capacity(consumed);
        for e in effects {
            match e {
                Effect::SetOrigin(o) => self.origin = Some(o),
                Effect::PutActor(a) => {
                    self.actors.insert(a.record.id.clone(), a);
                }
                Effect::PutSite(s) => {
                    self.sites.insert(s.id.clone(), s);
                }
                Effect::PutPolicy(h) => {
                    if let Some(c) = h.current().map(|e| e.policy.country.clone()) {
                        self.policies.insert(c, h);
                    }
                }
                Effect::PutParcel(p) if p.status == ParcelStatus::Consumed => {
                    self.parcels.remove(&p.id);
                    self.consumed.insert(p.id);
                    retired.push(p);
                }
                Effect::PutParcel(p) => {
                    self.parcels.insert(p.id, p);
                }
                Effect::PutCertificate(c) => {
                    let (country, number) = (&c.certificate.issuing_country, &c.certificate.number);
                    self.certificate_keys
                        .entry(import_key(country, number.as_str()))
                        .or_insert_with(|| number.clone());
                    self.certificates.insert(c.certificate.number.clone(), *c);
                }
                Effect::PutImport { key, event } => {
                    self.imports.insert(key, event);
                }
            }
        }
        retired
    }
}

impl State for MemState {
    fn origin(&self) -> Option<std::borrow::Cow<'_, Origin>> {
        self.origin.as_ref().map(std::borrow::Cow::Borrowed)
    }
    fn trader_named(&self, country: &Country, name: &Text) -> Option<ActorId> {
        self.actors
            .values()
            .find(|a| {
                a.record.role.is_trade()
                    && a.revoked.is_none()
                    && &a.record.country == country
                    && &a.record.name == name
            })
            .map(|a| a.record.id.clone())
    }
    fn actor(&self, id: &ActorId) -> Option<std::borrow::Cow<'_, ActorState>> {
        self.actors.get(id).map(std::borrow::Cow::Borrowed)
    }
    fn site(&self, id: &SiteId) -> Option<std::borrow::Cow<'_, SiteRecord>> {
        self.sites.get(id).map(std::borrow::Cow::Borrowed)
    }
    fn policy(&self, country: &Country) -> Option<std::borrow::Cow<'_, Policy>> {
        self.policies
            .get(country)
            .and_then(PolicyHistory::current)
            .map(|e| std::borrow::Cow::Borrowed(&e.policy))
    }
    fn policy_history(&self, country: &Country) -> Option<std::borrow::Cow<'_, PolicyHistory>> {
        self.policies.get(country).map(std::borrow::Cow::Borrowed)
    }
    fn policy_countries(&self) -> Vec<Country> {
        self.policies.keys().cloned().collect()
    }
    fn policy_at(&self, country: &Country, t: &Time) -> Option<std::borrow::Cow<'_, Policy>> {
        self.policies.get(country).and_then(|h| h.at(t)).map(|e| std::borrow::Cow::Borrowed(&e.policy))
    }
    fn parcel(&self, id: &ParcelId) -> Option<std::borrow::Cow<'_, ParcelState>> {
        self.parcels.get(id).map(std::borrow::Cow::Borrowed)
    }
    fn certificate(&self, number: &Text) -> Option<CertificateState> {
        self.certificates.get(number).cloned()
    }
    fn consumed(&self, id: &ParcelId) -> bool {
        self.consumed.contains(id)
    }
    fn foreign_import(&self, key: &str) -> Option<Hash> {
        self.imports.get(key).copied()
    }
    fn certificate_by_key(&self, _country: &Country, key: &str) -> Option<Text> {
        self.certificate_keys.get(key).cloned()
    }
    fn certificate_numbers(&self, country: &Country) -> Vec<Text> {
        self.certificates
            .values()
            .filter(|c| &c.certificate.issuing_country == country)
            .map(|c| c.certificate.number.clone())
            .collect()
    }
}
