//! The book: what a sequence of signed events says about trade, in the terms of statistics.
//!
//! The events are taken as they are (they were verified, or will be, by `kpledger-verify`);
//! the book only reads them in order and keeps, per parcel, its weight, its holder and its
//! **composition**: how many points of it come from each country of origin and mine site.
//! Splits, merges and re-weighs carry the composition along proportionally, with integer
//! largest-remainder rounding so that a composition always sums to the parcel's weight.

use std::collections::BTreeMap;

use kpledger_model::{
    ActorId, ActorRecord, Certificate, Country, Date, ForeignCertificate, HsCode, OfferBody, OriginClaim,
    ParcelId, ParsedEvent, Payload, Policy, SiteId, SiteRecord, Time,
};

/// Where stones come from: a country of origin (ISO code, or `mixed` when a foreign
/// certificate gives no breakdown) and, for stones mined in this ledger, the mine site.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Source {
    /// Country of origin, or `mixed`.
    pub(crate) origin: String,
    /// The mine site, for stones extracted in this ledger.
    pub(crate) site: Option<SiteId>,
}

/// Points per source; sums to the parcel's weight.
pub(crate) type Comp = BTreeMap<Source, u64>;

/// A parcel as the book knows it.
#[derive(Debug, Clone)]
pub(crate) struct Parcel {
    /// Current weight in points.
    pub(crate) weight_pt: u64,
    /// Who holds it (none once exported or consumed).
    pub(crate) holder: Option<ActorId>,
    /// Where its stones come from.
    pub(crate) comp: Comp,
    /// Its customs heading, where known.
    pub(crate) hs: Option<HsCode>,
    /// The parcels it was split or merged from.
    pub(crate) parents: Vec<ParcelId>,
    /// False once split, merged into another or exported.
    pub(crate) live: bool,
}

/// A parcel registered at a mine site.
#[derive(Debug, Clone)]
pub(crate) struct Extraction {
    /// Ledger position.
    pub(crate) seq: u64,
    pub(crate) time: Time,
    pub(crate) parcel: ParcelId,
    pub(crate) site: SiteId,
    /// The site's country (the country of origin).
    pub(crate) country: String,
    /// The site's region.
    pub(crate) region: String,
    /// Weight in points.
    pub(crate) weight_pt: u64,
    pub(crate) miner: ActorId,
    /// The price of the parcel's first sale, the production value (cents), once sold whole.
    pub(crate) first_sale_cents: Option<u64>,
}

/// A handover between two licensed actors.
#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    /// Ledger position.
    pub(crate) seq: u64,
    pub(crate) time: Time,
    /// What the seller signed: the parcel, the buyer (`to`) and the weight it declared.
    pub(crate) offer: OfferBody,
    /// Weight the buyer measured.
    pub(crate) received_pt: u64,
    /// The parcel's composition at the handover.
    pub(crate) comp: Comp,
}

/// A KP certificate issued in this ledger.
#[derive(Debug, Clone)]
pub(crate) struct Cert {
    /// Ledger position of the certificate event.
    pub(crate) seq: u64,
    /// When it was recorded.
    pub(crate) time: Time,
    pub(crate) certificate: Certificate,
    /// Composition of the certified parcels (points per source).
    pub(crate) comp: Comp,
    /// Transit countries recorded for the shipment.
    pub(crate) transits: Vec<Country>,
    /// Ledger position and time of the export event, if recorded.
    pub(crate) exported: Option<(u64, Time)>,
    /// When the importing authority confirmed receipt in this ledger, if it did.
    pub(crate) confirmed: Option<Date>,
}

impl Cert {
    /// Points and cents per country of origin: the certificate's carats and value shared
    /// out by the composition of its parcels (largest remainder, so the parts add up).
    pub(crate) fn by_origin(&self) -> BTreeMap<String, (u64, u64)> {
        let mut per: BTreeMap<String, u64> = BTreeMap::new();
        for (s, pt) in &self.comp {
            *per.entry(s.origin.clone()).or_default() += pt;
        }
        let carats = share(&per, self.certificate.carats());
        let value = share(&per, self.certificate.value());
        carats.into_iter().map(|(k, c)| (k.clone(), (c, value.get(&k).copied().unwrap_or(0)))).collect()
    }
}

/// Rough diamonds received under a certificate: a foreign one (an `Import` event admits
/// the shipment's parcels; imports are gathered by certificate) or one of this ledger confirmed by the importing
/// authority here (`ImportConfirmation`).
#[derive(Debug, Clone)]
pub(crate) struct Import {
    /// Ledger position of the (first) event.
    pub(crate) seq: u64,
    /// When it was recorded.
    pub(crate) time: Time,
    /// Date of receipt or import.
    pub(crate) date: Date,
    /// The importing country.
    pub(crate) country: String,
    /// The certificate as presented at import (its `issuing_country` is the provenance); one
    /// of this ledger's as the importing country reads it.
    pub(crate) certificate: ForeignCertificate,
    /// Parcels received.
    pub(crate) parcels: Vec<ParcelId>,
    /// Who took custody.
    pub(crate) holder: ActorId,
    /// True for a foreign certificate, false for one of this ledger.
    pub(crate) foreign: bool,
}

/// One step of a parcel's history, for provenance graphs.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// Ledger position.
    pub(crate) seq: u64,
    /// The event kind.
    pub(crate) kind: &'static str,
    /// Parcels consumed (or passed through) with their weight before the step.
    pub(crate) inputs: Vec<(ParcelId, u64)>,
    /// Parcels produced (or passed through) with their weight after the step.
    pub(crate) outputs: Vec<(ParcelId, u64)>,
    /// Who held the parcels before.
    pub(crate) from: Option<ActorId>,
    /// Who holds them after.
    pub(crate) to: Option<ActorId>,
    /// For an extraction: the site; for a certificate: its number.
    pub(crate) note: String,
}

/// Everything the reports need, read from the events in order.
#[derive(Debug, Clone, Default)]
pub struct Book {
    /// Events read.
    pub(crate) events: u64,
    /// The ledger's origin name, from the first event.
    pub(crate) ledger: Option<String>,
    /// Time of the first and last event.
    pub(crate) first: Option<Time>,
    /// Time of the last event: the book's "now" (the reports never read the clock).
    pub(crate) last: Option<Time>,
    /// Enrolled actors.
    pub(crate) actors: BTreeMap<ActorId, ActorRecord>,
    /// Registered mine sites.
    pub(crate) sites: BTreeMap<SiteId, SiteRecord>,
    /// Latest policy of each country.
    pub(crate) policies: BTreeMap<Country, Policy>,
    /// Every version of each country's policy with the time it takes effect, in ledger
    /// order: the red flags judge an event with the version in force at its time.
    pub(crate) policy_versions: BTreeMap<Country, Vec<(Time, Policy)>>,
    /// Every parcel seen.
    pub(crate) parcels: BTreeMap<ParcelId, Parcel>,
    /// Extractions, in ledger order.
    pub(crate) extractions: Vec<Extraction>,
    /// Handovers, in ledger order.
    pub(crate) transfers: Vec<Transfer>,
    /// Certificates issued here, in ledger order.
    pub(crate) certificates: Vec<Cert>,
    /// Imports, in ledger order.
    pub(crate) imports: Vec<Import>,
    /// Every step touching parcels, in ledger order.
    pub(crate) steps: Vec<Step>,
    /// Indexes: certificate number → position in `certificates`, parcel → its extraction,
    /// (issuing country, number) of a foreign certificate → position in `imports`.
    cert_index: BTreeMap<String, usize>,
    extraction_index: BTreeMap<ParcelId, usize>,
    import_index: BTreeMap<(String, String), usize>,
}

impl Book {
    /// Reads `events` (position, event) in ledger order.
    pub fn new<'a>(events: impl IntoIterator<Item = (u64, &'a ParsedEvent)>) -> Book {
        let mut b = Book::default();
        for (seq, ev) in events {
            b.add(seq, ev);
        }
        b
    }

    /// The actor's country, if enrolled.
    pub fn country_of(&self, a: &ActorId) -> Option<String> {
        self.actors.get(a).map(|r| r.country.to_string())
    }

    /// The actor's display name.
    pub fn name_of(&self, a: &ActorId) -> String {
        self.actors.get(a).map(|r| r.name.to_string()).unwrap_or_else(|| a.to_string())
    }

    /// Whether a certificate of this number was issued in the events read.
    pub fn has_certificate(&self, number: &str) -> bool {
        self.cert_index.contains_key(number)
    }

    /// Every parcel seen, in id order.
    pub fn parcel_ids(&self) -> impl Iterator<Item = &ParcelId> {
        self.parcels.keys()
    }

    /// The carats (points) and value (cents) of the certificate of this number per country of
    /// origin, shared out by the composition of its parcels (see `by_origin` of the
    /// certificate's record); `None` if no such certificate was read.
    pub fn certificate_origins(&self, number: &str) -> Option<BTreeMap<String, (u64, u64)>> {
        self.certificate(number).map(Cert::by_origin)
    }

    /// The certificate with this number.
    pub(crate) fn certificate(&self, number: &str) -> Option<&Cert> {
        self.cert_index.get(number).and_then(|i| self.certificates.get(*i))
    }

    fn certificate_mut(&mut self, number: &str) -> Option<&mut Cert> {
        self.cert_index.get(number).and_then(|i| self.certificates.get_mut(*i))
    }

    /// The parcel and every parcel it was split or merged from.
    pub fn ancestors(&self, parcels: &[ParcelId]) -> std::collections::BTreeSet<ParcelId> {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo: Vec<ParcelId> = parcels.to_vec();
        while let Some(p) = todo.pop() {
            if seen.insert(p)
                && let Some(info) = self.parcels.get(&p)
            {
                todo.extend(info.parents.iter().copied());
            }
        }
        seen
    }

    fn weight(&self, p: &ParcelId) -> u64 {
        self.parcels.get(p).map(|x| x.weight_pt).unwrap_or(0)
    }

    fn comp(&self, p: &ParcelId) -> Comp {
        self.parcels.get(p).map(|x| x.comp.clone()).unwrap_or_default()
    }

    fn holder(&self, p: &ParcelId) -> Option<ActorId> {
        self.parcels.get(p).and_then(|x| x.holder.clone())
    }

    fn set_weight(&mut self, p: &ParcelId, w: u64) {
        if let Some(x) = self.parcels.get_mut(p)
            && x.weight_pt != w
        {
            x.comp = rescale(&x.comp, w);
            x.weight_pt = w;
        }
    }

    /// Reads the next event (position, event), in ledger order.
    pub fn add(&mut self, seq: u64, ev: &ParsedEvent) {
        let body = &ev.event.body;
        let time = body.time.clone();
        self.events += 1;
        if self.ledger.is_none() {
            self.ledger = Some(body.ledger.to_string());
        }
        if self.first.is_none() {
            self.first = Some(time.clone());
        }
        self.last = Some(time.clone());
        let signer = body.signer.clone();
        match &body.payload {
            Payload::Genesis { authority } => {
                self.actors.insert(authority.id.clone(), authority.clone());
            }
            Payload::Enrol { actor } => {
                self.actors.insert(actor.id.clone(), actor.clone());
            }
            Payload::Policy { policy } => {
                self.policies.insert(policy.country.clone(), policy.clone());
                self.policy_versions
                    .entry(policy.country.clone())
                    .or_default()
                    .push((time.clone(), policy.clone()));
            }
            Payload::Site { site } => {
                self.sites.insert(site.id.clone(), site.clone());
            }
            Payload::RotateKey { .. } | Payload::Revoke { .. } => {}
            Payload::Extraction { parcel, site, weight_pt, hs_code, .. } => {
                let s = self.sites.get(site);
                let country = s.map(|s| s.country.to_string()).unwrap_or_else(|| "??".into());
                let src = Source { origin: country.clone(), site: Some(site.clone()) };
                self.parcels.insert(
                    *parcel,
                    Parcel {
                        weight_pt: weight_pt.0,
                        holder: Some(signer.clone()),
                        comp: Comp::from([(src, weight_pt.0)]),
                        hs: Some(hs_code.clone()),
                        parents: Vec::new(),
                        live: true,
                    },
                );
                self.extraction_index.insert(*parcel, self.extractions.len());
                self.extractions.push(Extraction {
                    seq,
                    time: time.clone(),
                    parcel: *parcel,
                    site: site.clone(),
                    country,
                    region: s.map(|s| s.region.to_string()).unwrap_or_default(),
                    weight_pt: weight_pt.0,
                    miner: signer.clone(),
                    first_sale_cents: None,
                });
                self.steps.push(Step {
                    seq,
                    kind: "extraction",
                    inputs: Vec::new(),
                    outputs: vec![(*parcel, weight_pt.0)],
                    from: None,
                    to: Some(signer),
                    note: site.to_string(),
                });
            }
            Payload::Handover { offer, weight_pt } => {
                let o = &offer.body;
                let before = self.weight(&o.parcel);
                self.set_weight(&o.parcel, weight_pt.0);
                let comp = self.comp(&o.parcel);
                if let Some(x) = self.parcels.get_mut(&o.parcel) {
                    x.holder = Some(o.to.clone());
                }
                // The first sale of a parcel straight from the mine is its production value.
                let extraction = self.extraction_index.get(&o.parcel).copied();
                if let Some(e) = extraction.and_then(|i| self.extractions.get_mut(i))
                    && e.first_sale_cents.is_none()
                    && e.miner == o.signer
                {
                    e.first_sale_cents = Some(o.price_usd_cents.0);
                }
                self.transfers.push(Transfer {
                    seq,
                    time: time.clone(),
                    offer: o.clone(),
                    received_pt: weight_pt.0,
                    comp,
                });
                self.steps.push(Step {
                    seq,
                    kind: "handover",
                    inputs: vec![(o.parcel, before)],
                    outputs: vec![(o.parcel, weight_pt.0)],
                    from: Some(o.signer.clone()),
                    to: Some(o.to.clone()),
                    note: String::new(),
                });
            }
            Payload::Split { parcel, outputs, .. } => {
                let parent = self.parcels.get(parcel).cloned();
                let (w, comp, holder, hs) = parent
                    .map(|p| (p.weight_pt, p.comp, p.holder, p.hs))
                    .unwrap_or((0, Comp::new(), None, None));
                let weights: BTreeMap<usize, u64> =
                    outputs.iter().enumerate().map(|(i, o)| (i, o.weight_pt.0)).collect();
                let total: u64 = weights.values().sum();
                // Share every source of the parent among the outputs by weight.
                let mut parts: Vec<Comp> = vec![Comp::new(); outputs.len()];
                for (src, pt) in &comp {
                    for (i, v) in share(&weights, *pt) {
                        if v > 0 {
                            *parts[i].entry(src.clone()).or_default() += v;
                        }
                    }
                }
                for (i, o) in outputs.iter().enumerate() {
                    let c = if total == 0 { Comp::new() } else { rescale(&parts[i], o.weight_pt.0) };
                    self.parcels.insert(
                        o.parcel,
                        Parcel {
                            weight_pt: o.weight_pt.0,
                            holder: holder.clone(),
                            comp: c,
                            hs: hs.clone(),
                            parents: vec![*parcel],
                            live: true,
                        },
                    );
                }
                if let Some(x) = self.parcels.get_mut(parcel) {
                    x.live = false;
                    x.holder = None;
                }
                self.steps.push(Step {
                    seq,
                    kind: "split",
                    inputs: vec![(*parcel, w)],
                    outputs: outputs.iter().map(|o| (o.parcel, o.weight_pt.0)).collect(),
                    from: holder.clone(),
                    to: holder,
                    note: String::new(),
                });
            }
            Payload::Merge { inputs, output } => {
                let mut comp = Comp::new();
                let mut ins = Vec::new();
                let mut hs = None;
                let mut holder = None;
                for i in inputs {
                    ins.push((i.parcel, self.weight(&i.parcel)));
                    for (s, v) in self.comp(&i.parcel) {
                        *comp.entry(s).or_default() += v;
                    }
                    if let Some(x) = self.parcels.get_mut(&i.parcel) {
                        x.live = false;
                        holder = holder.or(x.holder.take());
                        hs = hs.or(x.hs.clone());
                    }
                }
                self.parcels.insert(
                    output.parcel,
                    Parcel {
                        weight_pt: output.weight_pt.0,
                        holder: Some(signer.clone()),
                        comp: rescale(&comp, output.weight_pt.0),
                        hs,
                        parents: inputs.iter().map(|i| i.parcel).collect(),
                        live: true,
                    },
                );
                self.steps.push(Step {
                    seq,
                    kind: "merge",
                    inputs: ins,
                    outputs: vec![(output.parcel, output.weight_pt.0)],
                    from: holder,
                    to: Some(signer),
                    note: String::new(),
                });
            }
            Payload::Valuation { parcel, weight_pt, .. } | Payload::Seal { parcel, weight_pt, .. } => {
                let before = self.weight(parcel);
                self.set_weight(parcel, weight_pt.0);
                let h = self.holder(parcel);
                self.steps.push(Step {
                    seq,
                    kind: body.payload.kind(),
                    inputs: vec![(*parcel, before)],
                    outputs: vec![(*parcel, weight_pt.0)],
                    from: h.clone(),
                    to: h,
                    note: String::new(),
                });
            }
            Payload::Certificate { certificate } => {
                let mut comp = Comp::new();
                let mut ps = Vec::new();
                for r in &certificate.parcels {
                    for (s, v) in self.comp(&r.parcel) {
                        *comp.entry(s).or_default() += v;
                    }
                    ps.push((r.parcel, self.weight(&r.parcel)));
                }
                self.cert_index.insert(certificate.number.to_string(), self.certificates.len());
                self.certificates.push(Cert {
                    seq,
                    time: time.clone(),
                    certificate: certificate.clone(),
                    comp,
                    transits: Vec::new(),
                    exported: None,
                    confirmed: None,
                });
                self.steps.push(Step {
                    seq,
                    kind: "certificate",
                    inputs: ps.clone(),
                    outputs: ps,
                    from: Some(certificate.exporter.actor.clone()),
                    to: Some(certificate.exporter.actor.clone()),
                    note: certificate.number.to_string(),
                });
            }
            Payload::Export { certificate, parcels } => {
                let mut ps = Vec::new();
                let mut from = None;
                for r in parcels {
                    ps.push((r.parcel, self.weight(&r.parcel)));
                    if let Some(x) = self.parcels.get_mut(&r.parcel) {
                        from = from.or(x.holder.take());
                        x.live = false;
                    }
                }
                if let Some(c) = self.certificate_mut(certificate.as_str()) {
                    c.exported = Some((seq, time.clone()));
                }
                self.steps.push(Step {
                    seq,
                    kind: "export",
                    inputs: ps.clone(),
                    outputs: ps,
                    from,
                    to: None,
                    note: certificate.to_string(),
                });
            }
            Payload::Transit { certificate, country, .. } => {
                if let Some(c) = self.certificate_mut(certificate.as_str()) {
                    c.transits.push(country.clone());
                }
            }
            Payload::Import { holder, certificate, .. } => {
                let shipment = body.payload.import_parcels();
                for p in &shipment {
                    let comp = import_comp(
                        &certificate.country_of_origin,
                        &certificate.countries_of_origin,
                        p.weight_pt.0,
                    );
                    self.parcels.insert(
                        p.parcel,
                        Parcel {
                            weight_pt: p.weight_pt.0,
                            holder: Some(holder.clone()),
                            comp,
                            hs: Some(p.hs_code.clone()),
                            parents: Vec::new(),
                            live: true,
                        },
                    );
                }
                let ids: Vec<ParcelId> = shipment.iter().map(|p| p.parcel).collect();
                let country = self.country_of(&signer).unwrap_or_else(|| "??".into());
                let key = (certificate.issuing_country.to_string(), certificate.number.to_string());
                match self.import_index.get(&key).copied() {
                    Some(i) => self.imports[i].parcels.extend(ids.iter().copied()),
                    None => {
                        self.import_index.insert(key, self.imports.len());
                        self.imports.push(Import {
                            seq,
                            time: time.clone(),
                            date: time.date(),
                            country,
                            certificate: certificate.clone(),
                            parcels: ids,
                            holder: holder.clone(),
                            foreign: true,
                        });
                    }
                }
                self.steps.push(Step {
                    seq,
                    kind: "import",
                    inputs: Vec::new(),
                    outputs: shipment.iter().map(|p| (p.parcel, p.weight_pt.0)).collect(),
                    from: None,
                    to: Some(holder.clone()),
                    note: format!("{} {}", certificate.issuing_country, certificate.number),
                });
            }
            Payload::ImportConfirmation { confirmation } => {
                let country = self.country_of(&signer).unwrap_or_else(|| "??".into());
                let mut ps = Vec::new();
                for r in &confirmation.parcels {
                    ps.push((r.parcel, self.weight(&r.parcel)));
                    if let Some(x) = self.parcels.get_mut(&r.parcel) {
                        x.holder = Some(confirmation.holder.clone());
                        x.live = true;
                    }
                }
                let cert =
                    self.certificates.iter_mut().find(|c| c.certificate.number == confirmation.certificate);
                if let Some(c) = cert {
                    c.confirmed = Some(confirmation.date_of_receipt.clone());
                    let certificate = c.certificate.as_foreign();
                    self.imports.push(Import {
                        seq,
                        time: time.clone(),
                        date: confirmation.date_of_receipt.clone(),
                        country,
                        certificate,
                        parcels: confirmation.parcels.iter().map(|r| r.parcel).collect(),
                        holder: confirmation.holder.clone(),
                        foreign: false,
                    });
                }
                self.steps.push(Step {
                    seq,
                    kind: "import_confirmation",
                    inputs: ps.clone(),
                    outputs: ps,
                    from: None,
                    to: Some(confirmation.holder.clone()),
                    note: confirmation.certificate.to_string(),
                });
            }
        }
    }
}

/// The composition of a parcel imported under a foreign certificate: its single origin, or
/// the listed countries of a mixed one in equal shares. A mixed certificate that lists fewer
/// than two countries leaves a share of unknown origin, `mixed` (the unknown member of the
/// parcel's origin set in the rules, SPEC §10.2): none listed, all `mixed`; one listed, half
/// that country and half `mixed`.
fn import_comp(origin: &OriginClaim, listed: &[Country], weight: u64) -> Comp {
    match origin {
        OriginClaim::Single(c) => Comp::from([(Source { origin: c.to_string(), site: None }, weight)]),
        OriginClaim::Mixed => {
            let mut equal: BTreeMap<Source, u64> =
                listed.iter().map(|c| (Source { origin: c.to_string(), site: None }, 1)).collect();
            if equal.len() < 2 {
                equal.insert(Source { origin: "mixed".into(), site: None }, 1);
            }
            share(&equal, weight)
        }
    }
}

/// Shares `total` among the keys in proportion to their weights, in integers, by the
/// largest-remainder method (ties to the first key), so the shares sum to `total`.
pub(crate) fn share<K: Ord + Clone>(weights: &BTreeMap<K, u64>, total: u64) -> BTreeMap<K, u64> {
    let sum: u128 = weights.values().map(|v| u128::from(*v)).sum();
    let mut out = BTreeMap::new();
    if sum == 0 {
        return out;
    }
    let mut given = 0u64;
    let mut rems: Vec<(u128, usize, K)> = Vec::new();
    for (i, (k, w)) in weights.iter().enumerate() {
        let exact = u128::from(*w) * u128::from(total);
        let base = u64::try_from(exact / sum).unwrap_or(u64::MAX);
        given += base;
        out.insert(k.clone(), base);
        rems.push((exact % sum, i, k.clone()));
    }
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, k) in rems.into_iter().take(usize::try_from(total - given).unwrap_or(0)) {
        if let Some(v) = out.get_mut(&k) {
            *v += 1;
        }
    }
    out
}

/// The composition scaled to a new total weight.
pub(crate) fn rescale(comp: &Comp, total: u64) -> Comp {
    share(comp, total).into_iter().filter(|(_, v)| *v > 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_follow_largest_remainders() {
        let w = BTreeMap::from([("a", 1u64), ("b", 1), ("c", 1)]);
        assert_eq!(share(&w, 100), BTreeMap::from([("a", 34), ("b", 33), ("c", 33)]));
        let w = BTreeMap::from([("a", 2u64), ("b", 1)]);
        assert_eq!(share(&w, 10), BTreeMap::from([("a", 7), ("b", 3)]));
        assert_eq!(share(&BTreeMap::<&str, u64>::new(), 10), BTreeMap::new());
    }
}
