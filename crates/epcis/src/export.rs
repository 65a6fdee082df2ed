//! kpledger events as EPCIS 2.0 events (`docs/EPCIS.md` has the table, with an example each).
//!
//! Custody events become visibility events about the parcels, each carrying its kpledger
//! event hash (`kpl:eventHash`), its signer (`kpl:signer`) and its CBV 2.0 event hash ID as
//! `eventID`:
//!
//! | kpledger | EPCIS |
//! |---|---|
//! | extraction | ObjectEvent ADD, `commissioning`, read point the mine site, origin in ILMD |
//! | handover | ObjectEvent OBSERVE `shipping` (the holder's offer) and ObjectEvent OBSERVE `receiving` (the acceptance), with owning and possessing parties |
//! | split, merge | TransformationEvent, `repackaging`, input and output quantity lists |
//! | valuation | TransactionEvent ADD, `inspecting`, business transaction: the valuation |
//! | seal | AggregationEvent ADD, `packing`, parent: the sealed container |
//! | certificate | TransactionEvent ADD, business transaction of type `cert`: the certificate number |
//! | export, transit | ObjectEvent OBSERVE, `shipping` / `transporting`, `in_transit` |
//! | import, import_confirmation | ObjectEvent ADD / OBSERVE, `receiving` |
//!
//! The administrative events (genesis, policy, enrol, rotate_key, revoke, site) concern no
//! parcel and have no EPCIS event; the actors and sites the events name are described in the
//! document header's master data.
//!
//! Parcels are lots of stones, so quantities are class-level: `epcClass` is the parcel, the
//! quantity its weight in metric carats (UN/ECE unit `CTM`). Identifiers are URIs
//! ([`parcel_uri`], [`actor_uri`], …): `urn:uuid:` for parcels (their ids are UUIDs) and the
//! private namespace `urn:kpledger:` for what has no GS1 key.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kpledger_core::Ledger;
use kpledger_model::{
    ActorId, Certificate, ForeignCertificate, OriginClaim, ParcelId, ParcelRef, ParsedEvent, Payload, Points,
    SiteId, SiteRecord, Text, Time,
};
use serde_json::{Map, Value, json};

use crate::hash_id::Hasher;
use crate::{EpcisError, Result};

/// The EPCIS 2.0 JSON-LD context every document names first.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
/// The namespace of kpledger's extension fields and master data attributes (prefix `kpl:`).
pub const KPL_NAMESPACE: &str = "urn:kpledger:epcis:";
/// The CBV master data namespace (prefix `cbvmda:`), for ILMD.
pub const CBVMDA_NAMESPACE: &str = "urn:epcglobal:cbv:mda:";
/// The business transaction type of an official valuation (no CBV type fits).
pub const VALUATION_TRANSACTION_TYPE: &str = "urn:kpledger:btt:valuation";
/// The unit of every quantity: the metric carat (UN/ECE Recommendation 20).
pub const CARAT_UOM: &str = "CTM";
/// Every event time is UTC.
const UTC: &str = "+00:00";

/// A parcel: `urn:uuid:<id>`.
pub fn parcel_uri(p: &ParcelId) -> String {
    format!("urn:uuid:{p}")
}

/// An actor (party): `urn:kpledger:actor:<id>`.
pub fn actor_uri(a: &ActorId) -> String {
    format!("urn:kpledger:actor:{a}")
}

/// A licensed mine site (location): `urn:kpledger:site:<id>`.
pub fn site_uri(s: &SiteId) -> String {
    format!("urn:kpledger:site:{s}")
}

/// A KP certificate: `urn:kpledger:cert:<number>`.
pub fn certificate_uri(number: &str) -> String {
    format!("urn:kpledger:cert:{}", escape(number))
}

/// A sealed container, by its seal numbers: `urn:kpledger:seal:<id>,<id>…`.
pub fn seal_uri(seal_ids: &[Text]) -> String {
    let ids: Vec<String> = seal_ids.iter().map(|s| escape(s.as_str())).collect();
    format!("urn:kpledger:seal:{}", ids.join(","))
}

/// An official valuation, by the hash of its event: `urn:kpledger:valuation:<hash>`.
pub fn valuation_uri(event_hash: &str) -> String {
    format!("urn:kpledger:valuation:{event_hash}")
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn escape(s: &str) -> String {
    crate::dl::percent_encode(s, |b| !(b.is_ascii_alphanumeric() || b"-._~".contains(&b)))
}

/// `kpl:<name>`.
fn kpl(name: &str) -> String {
    format!("kpl:{name}")
}

/// A weight in carats as a JSON number (`12.34`), without floating-point arithmetic.
fn carats(w: Points) -> Value {
    if w.0.is_multiple_of(100) {
        return json!(w.0 / 100);
    }
    format!("{}.{:02}", w.0 / 100, w.0 % 100).parse::<serde_json::Number>().map_or(Value::Null, Value::Number)
}

/// A quantity element: the parcel as the class, its weight in carats.
fn quantity(p: &ParcelId, w: Option<Points>) -> Value {
    let mut q = Map::new();
    q.insert("epcClass".into(), json!(parcel_uri(p)));
    if let Some(w) = w {
        q.insert("quantity".into(), carats(w));
        q.insert("uom".into(), json!(CARAT_UOM));
    }
    Value::Object(q)
}

/// Owning and possessing party, for a source or destination list.
fn parties(key: &str, actor: &ActorId) -> Value {
    json!([
        {"type": "owning_party", key: actor_uri(actor)},
        {"type": "possessing_party", key: actor_uri(actor)},
    ])
}

fn cert_transaction(number: &str) -> Value {
    json!([{"type": "cert", "bizTransaction": certificate_uri(number)}])
}

fn texts(v: &[Text]) -> Value {
    Value::Array(v.iter().map(|t| json!(t.as_str())).collect())
}

/// The EPCIS event being built: the standard fields in the order EPCIS writes them, then
/// kpledger's extensions (`kpl:eventHash` and `kpl:signer` first).
/// What an `ObjectEvent` says happened: its action, CBV business step and disposition.
#[derive(Clone, Copy)]
struct Step {
    action: &'static str,
    biz_step: &'static str,
    disposition: &'static str,
}

/// Stones mined and first recorded.
const COMMISSIONED: Step = Step { action: "ADD", biz_step: "commissioning", disposition: "active" };
/// Handed over or exported: on their way.
const SHIPPED: Step = Step { action: "OBSERVE", biz_step: "shipping", disposition: "in_transit" };
/// Received by a holder already known to the ledger.
const RECEIVED: Step = Step { action: "OBSERVE", biz_step: "receiving", disposition: "in_progress" };
/// Passing through a transit country.
const IN_TRANSIT: Step = Step { action: "OBSERVE", biz_step: "transporting", disposition: "in_transit" };
/// Imported: new to this ledger.
const ADMITTED: Step = Step { action: "ADD", biz_step: "receiving", disposition: "in_progress" };

struct Draft {
    fields: Map<String, Value>,
    extensions: Map<String, Value>,
    signer: Option<ActorId>,
}

impl Draft {
    fn new(event_type: &str, time: &Time) -> Draft {
        let mut fields = Map::new();
        fields.insert("type".into(), json!(event_type));
        fields.insert("eventID".into(), Value::Null);
        fields.insert("eventTime".into(), json!(time.as_str()));
        fields.insert("eventTimeZoneOffset".into(), json!(UTC));
        Draft { fields, extensions: Map::new(), signer: None }
    }

    /// An `ObjectEvent` at `time` on `quantities`, at `step`.
    fn object(time: &Time, quantities: Value, step: Step) -> Draft {
        Draft::new("ObjectEvent", time)
            .set("quantityList", quantities)
            .set("action", json!(step.action))
            .set("bizStep", json!(step.biz_step))
            .set("disposition", json!(step.disposition))
    }

    /// A standard field, or an extension field (`kpl:…`).
    fn set(mut self, key: &str, value: Value) -> Draft {
        if key.starts_with("kpl:") {
            self.extensions.insert(key.to_owned(), value);
        } else {
            self.fields.insert(key.to_owned(), value);
        }
        self
    }

    /// Who signed what this EPCIS event reports, when it is not the event's signer (the
    /// holder's offer inside a handover).
    fn signed_by(mut self, actor: &ActorId) -> Draft {
        self.signer = Some(actor.clone());
        self
    }

    fn finish(self, event_hash: &str, signer: &ActorId) -> Value {
        let mut fields = self.fields;
        fields.insert(kpl("eventHash"), json!(event_hash));
        fields.insert(kpl("signer"), json!(actor_uri(self.signer.as_ref().unwrap_or(signer))));
        fields.extend(self.extensions);
        Value::Object(fields)
    }
}

/// Turns ledger events into EPCIS events, in ledger order.
struct Exporter<'a> {
    ledger: &'a Ledger,
    hasher: Hasher,
    /// All of the ledger's events pass through, in order: `weights` is exact.
    complete: bool,
    /// Each parcel's weight after the events seen so far.
    weights: HashMap<ParcelId, Points>,
    /// For partial exports: each parcel's weights, `(seq, weight after)`, from its history.
    histories: HashMap<ParcelId, Vec<(u64, Points)>>,
    sites: BTreeMap<SiteId, SiteRecord>,
    /// Actors and sites the events name (for the master data).
    named_actors: BTreeSet<ActorId>,
    named_sites: BTreeSet<SiteId>,
}

/// The weights an event gives parcels (the weight it records for each).
fn weights_set(payload: &Payload) -> Vec<(ParcelId, Points)> {
    match payload {
        Payload::Import { .. } => payload.import_parcels().iter().map(|p| (p.parcel, p.weight_pt)).collect(),
        Payload::Extraction { parcel, weight_pt, .. }
        | Payload::Valuation { parcel, weight_pt, .. }
        | Payload::Seal { parcel, weight_pt, .. } => vec![(*parcel, *weight_pt)],
        Payload::Handover { offer, weight_pt } => vec![(offer.body.parcel, *weight_pt)],
        Payload::Split { outputs, .. } => outputs.iter().map(|o| (o.parcel, o.weight_pt)).collect(),
        Payload::Merge { output, .. } => vec![(output.parcel, output.weight_pt)],
        _ => Vec::new(),
    }
}

impl<'a> Exporter<'a> {
    fn new(ledger: &'a Ledger, context: &Value, complete: bool) -> Result<Exporter<'a>> {
        let sites = ledger.sites()?.into_iter().map(|s| (s.id.clone(), s)).collect();
        Ok(Exporter {
            ledger,
            hasher: Hasher::new(&json!({ "@context": context })),
            complete,
            weights: HashMap::new(),
            histories: HashMap::new(),
            sites,
            named_actors: BTreeSet::new(),
            named_sites: BTreeSet::new(),
        })
    }

    /// A parcel's weight just before event `seq`.
    fn weight(&mut self, parcel: &ParcelId, seq: u64) -> Result<Option<Points>> {
        if self.complete {
            return Ok(self.weights.get(parcel).copied());
        }
        if !self.histories.contains_key(parcel) {
            let mut history = Vec::new();
            for (s, ev) in self.ledger.provenance(parcel)? {
                for (p, w) in weights_set(&ev.event.body.payload) {
                    if p == *parcel {
                        history.push((s, w));
                    }
                }
            }
            self.histories.insert(*parcel, history);
        }
        Ok(self.histories[parcel].iter().take_while(|(s, _)| *s < seq).last().map(|(_, w)| *w))
    }

    fn quantities(&mut self, refs: &[ParcelRef], seq: u64) -> Result<Value> {
        let mut out = Vec::new();
        for r in refs {
            let w = self.weight(&r.parcel, seq)?;
            out.push(quantity(&r.parcel, w));
        }
        Ok(Value::Array(out))
    }

    /// The EPCIS events of one ledger event (none for administrative events).
    fn events(&mut self, seq: u64, ev: &ParsedEvent) -> Result<Vec<Value>> {
        let body = &ev.event.body;
        let hash = ev.hash.to_hex();
        let time = &body.time;
        let drafts = match &body.payload {
            kpledger_model::administrative_payload!() => Vec::new(),
            Payload::Extraction { parcel, site, weight_pt, stones, hs_code } => {
                self.named_sites.insert(site.clone());
                let mut ilmd = Map::new();
                if let Some(s) = self.sites.get(site) {
                    ilmd.insert("cbvmda:countryOfOrigin".into(), json!(s.country.as_str()));
                }
                ilmd.insert(kpl("mineSite"), json!(site_uri(site)));
                ilmd.insert(kpl("stones"), json!(stones));
                ilmd.insert(kpl("hsCode"), json!(hs_code.as_str()));
                vec![
                    Draft::object(time, json!([quantity(parcel, Some(*weight_pt))]), COMMISSIONED)
                        .set("readPoint", json!({"id": site_uri(site)}))
                        .set("ilmd", Value::Object(ilmd)),
                ]
            }
            Payload::Handover { offer, weight_pt } => {
                let o = &offer.body;
                self.named_actors.insert(o.signer.clone());
                self.named_actors.insert(o.to.clone());
                let offer_hash = offer.hash().map(|h| h.to_hex()).map_err(|e| EpcisError::Event {
                    seq,
                    reason: format!("its offer cannot be hashed: {e}"),
                })?;
                let lists = |d: Draft| {
                    d.set("sourceList", parties("source", &o.signer))
                        .set("destinationList", parties("destination", &o.to))
                };
                vec![
                    lists(Draft::object(&o.time, json!([quantity(&o.parcel, Some(o.weight_pt))]), SHIPPED))
                        .set(&kpl("offerHash"), json!(offer_hash))
                        .signed_by(&o.signer),
                    lists(Draft::object(time, json!([quantity(&o.parcel, Some(*weight_pt))]), RECEIVED)),
                ]
            }
            Payload::Split { parcel, outputs, .. } => {
                let input = quantity(parcel, self.weight(parcel, seq)?);
                let outputs: Vec<Value> =
                    outputs.iter().map(|o| quantity(&o.parcel, Some(o.weight_pt))).collect();
                vec![
                    Draft::new("TransformationEvent", time)
                        .set("inputQuantityList", json!([input]))
                        .set("outputQuantityList", Value::Array(outputs))
                        .set("bizStep", json!("repackaging")),
                ]
            }
            Payload::Merge { inputs, output } => {
                let inputs = self.quantities(inputs, seq)?;
                vec![
                    Draft::new("TransformationEvent", time)
                        .set("inputQuantityList", inputs)
                        .set("outputQuantityList", json!([quantity(&output.parcel, Some(output.weight_pt))]))
                        .set("bizStep", json!("repackaging")),
                ]
            }
            Payload::Valuation {
                parcel,
                weight_pt,
                exporter_usd_cents,
                government_usd_cents,
                independent_usd_cents,
                final_usd_cents,
                duty_usd_cents,
                ..
            } => {
                let mut d = Draft::new("TransactionEvent", time)
                    .set(
                        "bizTransactionList",
                        json!([{"type": VALUATION_TRANSACTION_TYPE, "bizTransaction": valuation_uri(&hash)}]),
                    )
                    .set("quantityList", json!([quantity(parcel, Some(*weight_pt))]))
                    .set("action", json!("ADD"))
                    .set("bizStep", json!("inspecting"))
                    .set(&kpl("exporterValueUsdCents"), json!(exporter_usd_cents.0))
                    .set(&kpl("governmentValueUsdCents"), json!(government_usd_cents.0));
                if let Some(v) = independent_usd_cents {
                    d = d.set(&kpl("independentValueUsdCents"), json!(v.0));
                }
                vec![
                    d.set(&kpl("finalValueUsdCents"), json!(final_usd_cents.0))
                        .set(&kpl("dutyUsdCents"), json!(duty_usd_cents.0)),
                ]
            }
            Payload::Seal { parcel, weight_pt, seal_ids, .. } => vec![
                Draft::new("AggregationEvent", time)
                    .set("parentID", json!(seal_uri(seal_ids)))
                    .set("childQuantityList", json!([quantity(parcel, Some(*weight_pt))]))
                    .set("action", json!("ADD"))
                    .set("bizStep", json!("packing"))
                    .set("disposition", json!("container_closed"))
                    .set(&kpl("sealIds"), texts(seal_ids)),
            ],
            Payload::Certificate { certificate } => vec![self.certificate(certificate, seq, time)?],
            Payload::Export { certificate, parcels } => {
                let quantities = self.quantities(parcels, seq)?;
                let state = self.ledger.certificate(certificate)?;
                let mut d = Draft::object(time, quantities, SHIPPED)
                    .set("bizTransactionList", cert_transaction(certificate.as_str()));
                if let Some(c) = state {
                    self.named_actors.insert(c.certificate.exporter.actor.clone());
                    d = d
                        .set("sourceList", parties("source", &c.certificate.exporter.actor))
                        .set(&kpl("destinationCountry"), json!(c.certificate.importer.country.as_str()));
                }
                vec![d]
            }
            Payload::Transit { certificate, country, parcels, seal_ids_in, seal_ids_out, opened, .. } => {
                let quantities = self.quantities(parcels, seq)?;
                vec![
                    Draft::object(time, quantities, IN_TRANSIT)
                        .set("bizTransactionList", cert_transaction(certificate.as_str()))
                        .set(&kpl("transitCountry"), json!(country.as_str()))
                        .set(&kpl("containerOpened"), json!(opened))
                        .set(&kpl("sealIdsIn"), texts(seal_ids_in))
                        .set(&kpl("sealIdsOut"), texts(seal_ids_out)),
                ]
            }
            Payload::Import { holder, certificate, .. } => {
                self.named_actors.insert(holder.clone());
                // One ObjectEvent per parcel admitted: each has its own weight, stones and
                // heading (the instance/lot master data an ObjectEvent carries once).
                body.payload
                    .import_parcels()
                    .iter()
                    .map(|p| {
                        Draft::object(time, json!([quantity(&p.parcel, Some(p.weight_pt))]), ADMITTED)
                            .set("bizTransactionList", cert_transaction(certificate.number.as_str()))
                            .set("destinationList", parties("destination", holder))
                            .set("ilmd", import_ilmd(certificate, p.stones, p.hs_code.as_str()))
                            .set(&kpl("issuingCountry"), json!(certificate.issuing_country.as_str()))
                    })
                    .collect()
            }
            Payload::ImportConfirmation { confirmation } => {
                self.named_actors.insert(confirmation.holder.clone());
                let quantities = self.quantities(&confirmation.parcels, seq)?;
                vec![
                    Draft::object(time, quantities, RECEIVED)
                        .set("bizTransactionList", cert_transaction(confirmation.certificate.as_str()))
                        .set("destinationList", parties("destination", &confirmation.holder))
                        .set(&kpl("sealIntact"), json!(confirmation.seal_intact)),
                ]
            }
        };
        for (p, w) in weights_set(&body.payload) {
            self.weights.insert(p, w);
        }
        if !drafts.is_empty() {
            self.named_actors.insert(body.signer.clone());
        }
        let mut out = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let mut event = draft.finish(&hash, &body.signer);
            let id = self
                .hasher
                .hash_id(&event, out.len())
                .map_err(|e| EpcisError::Event { seq, reason: e.to_string() })?;
            event["eventID"] = json!(id);
            out.push(event);
        }
        Ok(out)
    }

    fn certificate(&mut self, c: &Certificate, seq: u64, time: &Time) -> Result<Draft> {
        let quantities = self.quantities(&c.parcels, seq)?;
        self.named_actors.insert(c.exporter.actor.clone());
        let value: u64 = c.value();
        Ok(Draft::new("TransactionEvent", time)
            .set("bizTransactionList", cert_transaction(c.number.as_str()))
            .set("quantityList", quantities)
            .set("action", json!("ADD"))
            .set("sourceList", json!([{"type": "owning_party", "source": actor_uri(&c.exporter.actor)}]))
            .set(&kpl("issuingCountry"), json!(c.issuing_country.as_str()))
            .set(&kpl("countryOfOrigin"), json!(c.country_of_origin.to_string()))
            .set(&kpl("dateOfIssue"), json!(c.date_of_issue.as_str()))
            .set(&kpl("dateOfExpiry"), json!(c.date_of_expiry.as_str()))
            .set(&kpl("importer"), json!(c.importer.name.as_str()))
            .set(&kpl("destinationCountry"), json!(c.importer.country.as_str()))
            .set(&kpl("carats"), carats(Points(c.carats())))
            .set(&kpl("valueUsdCents"), json!(value))
            .set(&kpl("parcelCount"), json!(c.parcel_count))
            .set(&kpl("containerSealIds"), texts(&c.container_seal_ids)))
    }

    /// The header's master data: the sites and actors the events name.
    fn master_data(&self) -> Result<Option<Value>> {
        let mda = |name: &str| format!("urn:epcglobal:cbv:mda#{name}");
        let ext = |name: &str| format!("{KPL_NAMESPACE}{name}");
        let attr = |id: String, value: Value| json!({"id": id, "attribute": value});
        let mut vocabularies = Vec::new();
        let sites: Vec<Value> = self
            .named_sites
            .iter()
            .filter_map(|id| self.sites.get(id))
            .map(|s| {
                json!({"id": site_uri(&s.id), "attributes": [
                    attr(mda("name"), json!(s.name.as_str())),
                    attr(mda("countryCode"), json!(s.country.as_str())),
                    attr(ext("region"), json!(s.region.as_str())),
                    attr(ext("location"), json!(s.location.as_str())),
                    attr(ext("areaM2"), json!(s.area_m2)),
                ]})
            })
            .collect();
        if !sites.is_empty() {
            vocabularies
                .push(json!({"type": "urn:epcglobal:epcis:vtype:ReadPoint", "vocabularyElementList": sites}));
        }
        let mut actors = Vec::new();
        for a in &self.named_actors {
            let Some(state) = self.ledger.actor(a)? else { continue };
            let r = &state.record;
            let mut attributes = vec![
                attr(mda("name"), json!(r.name.as_str())),
                attr(mda("countryCode"), json!(r.country.as_str())),
                attr(ext("role"), json!(r.role.as_str())),
            ];
            if let Some(l) = &r.licence {
                attributes.push(attr(ext("licenceNumber"), json!(l.number.as_str())));
                attributes.push(attr(ext("licenceClass"), json!(l.class.as_str())));
            }
            // The key the actor signs with now (a rotation changes it).
            attributes.push(attr(ext("keyFingerprint"), json!(r.key.fingerprint())));
            // An authority publishes its country's policy: the version in force.
            if r.role == kpledger_model::Role::Authority
                && let Some(policy) = self.ledger.policy(&r.country)?
            {
                attributes.push(attr(ext("policyVersion"), json!(policy.version.as_str())));
            }
            if let Some(rev) = &state.revoked {
                attributes.push(attr(ext("revoked"), json!(rev.time.as_str())));
            }
            actors.push(json!({"id": actor_uri(a), "attributes": attributes}));
        }
        if !actors.is_empty() {
            vocabularies.push(
                json!({"type": "urn:epcglobal:epcis:vtype:SourceDest", "vocabularyElementList": actors}),
            );
        }
        Ok((!vocabularies.is_empty()).then(|| json!({"epcisMasterData": {"vocabularyList": vocabularies}})))
    }
}

fn import_ilmd(c: &ForeignCertificate, stones: u32, hs_code: &str) -> Value {
    let mut ilmd = Map::new();
    match &c.country_of_origin {
        OriginClaim::Single(country) => {
            ilmd.insert("cbvmda:countryOfOrigin".into(), json!(country.as_str()));
        }
        OriginClaim::Mixed => {
            ilmd.insert(kpl("countryOfOrigin"), json!("mixed"));
            if !c.countries_of_origin.is_empty() {
                let list: Vec<Value> = c.countries_of_origin.iter().map(|x| json!(x.as_str())).collect();
                ilmd.insert(kpl("countriesOfOrigin"), Value::Array(list));
            }
        }
    }
    ilmd.insert(kpl("stones"), json!(stones));
    ilmd.insert(kpl("hsCode"), json!(hs_code));
    Value::Object(ilmd)
}

/// The `@context` of every exported document.
pub fn context() -> Value {
    json!([EPCIS_CONTEXT, {"kpl": KPL_NAMESPACE, "cbvmda": CBVMDA_NAMESPACE}])
}

/// The EPCIS events of `events` (ledger events in ledger order) and the document around them.
fn document(ledger: &Ledger, events: Vec<(u64, ParsedEvent)>, complete: bool) -> Result<Value> {
    let context = context();
    let mut ex = Exporter::new(ledger, &context, complete)?;
    let mut list = Vec::new();
    let mut last_time = None;
    for (seq, ev) in &events {
        list.extend(ex.events(*seq, ev)?);
        last_time = Some(ev.event.body.time.clone());
    }
    // The document's date is the time of the last event it covers, so that the same ledger
    // always exports the same bytes.
    let creation = match last_time {
        Some(t) => t,
        None => match ledger.len()? {
            0 => Time::from_unix(0),
            n => ledger.event(n)?.map_or(Time::from_unix(0), |e| e.event.body.time),
        },
    };
    let mut doc = Map::new();
    doc.insert("@context".into(), context);
    doc.insert("type".into(), json!("EPCISDocument"));
    doc.insert("schemaVersion".into(), json!("2.0"));
    doc.insert("creationDate".into(), json!(creation.as_str()));
    if let Some(header) = ex.master_data()? {
        doc.insert("epcisHeader".into(), header);
    }
    doc.insert("epcisBody".into(), json!({ "eventList": list }));
    if let Some(origin) = ledger.origin()? {
        doc.insert(kpl("ledger"), json!(origin.as_str()));
    }
    Ok(Value::Object(doc))
}

/// Every event of the ledger, in order (one read), positions without a gap.
fn all_events(ledger: &Ledger) -> Result<Vec<(u64, ParsedEvent)>> {
    let events = ledger.events()?;
    if let Some(seq) = (1..).zip(&events).find_map(|(want, (seq, _))| (*seq != want).then_some(want)) {
        return Err(EpcisError::Event { seq, reason: "it is missing".into() });
    }
    Ok(events)
}

/// Every custody event of the ledger, as one EPCIS 2.0 JSON-LD `EPCISDocument`.
pub fn export_ledger(ledger: &Ledger) -> Result<Value> {
    document(ledger, all_events(ledger)?, true)
}

/// Every EPCIS event of the ledger with the sequence number of the ledger event it comes from.
pub(crate) fn ledger_epcis_events(ledger: &Ledger) -> Result<Vec<(u64, Value)>> {
    let context = context();
    let mut ex = Exporter::new(ledger, &context, true)?;
    let mut out = Vec::new();
    for (seq, ev) in all_events(ledger)? {
        out.extend(ex.events(seq, &ev)?.into_iter().map(|e| (seq, e)));
    }
    Ok(out)
}

/// A parcel's provenance (its events and those of every parcel it was split or merged from,
/// back to the mine sites), as one EPCIS 2.0 JSON-LD `EPCISDocument`.
pub fn export_parcel(ledger: &Ledger, parcel: &ParcelId) -> Result<Value> {
    if ledger.parcel(parcel)?.is_none() {
        return Err(EpcisError::NoParcel(*parcel));
    }
    document(ledger, ledger.provenance(parcel)?, false)
}

/// The provenance of every parcel a KP certificate covers, with the certificate and the
/// shipment's export, transits and confirmation, as one EPCIS 2.0 JSON-LD `EPCISDocument`.
pub fn export_certificate(ledger: &Ledger, number: &Text) -> Result<Value> {
    let cert = ledger.certificate(number)?.ok_or_else(|| EpcisError::NoCertificate(number.to_string()))?;
    let mut events = BTreeMap::new();
    for r in &cert.certificate.parcels {
        events.extend(ledger.provenance(&r.parcel)?);
    }
    document(ledger, events.into_iter().collect(), false)
}
