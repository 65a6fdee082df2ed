//! The event rules: one signed event against the state before it.

use std::collections::BTreeSet;

use kpledger_model::types::MAX_STONES;
use kpledger_model::{
    ActorId, Country, Event, Hash, ParcelId, ParsedEvent, Payload, Points, Policy, Role, ValuationRule,
};

use crate::finding::{Finding, Rule};
use crate::state::{ActorState, Effect, ParcelState, ParcelStatus, Revocation, State};

/// Weighing tolerance when a country has no policy: 0.01 ct per parcel involved.
pub const DEFAULT_TOLERANCE_PT: u64 = 1;

/// What the rules say about one event: the findings, and the event's effects on the
/// state (computed even when there are errors, so that whole-ledger verification can go
/// on past a bad event and report everything at once).
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The event's hash.
    pub hash: Hash,
    /// What the rules found.
    pub findings: Vec<Finding>,
    effects: Vec<Effect>,
}

/// Proof that an event passed every rule against a given state: the only way to get one
/// is [`Verdict::accept`], and the ledger store appends only events that come with one.
#[derive(Debug)]
pub struct Accepted {
    hash: Hash,
    warnings: Vec<Finding>,
    effects: Vec<Effect>,
}

impl Accepted {
    /// The accepted event's hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }
    /// Warnings raised (they do not prevent acceptance).
    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }
    /// The changes to apply to the state, in order.
    pub fn effects(&self) -> &[Effect] {
        &self.effects
    }
}

impl Verdict {
    /// True if no finding is an error.
    pub fn is_valid(&self) -> bool {
        !self.findings.iter().any(Finding::is_error)
    }
    /// The effects, for a verifier that goes on past errors.
    pub fn effects(&self) -> &[Effect] {
        &self.effects
    }
    /// The acceptance token if no finding is an error, else the findings.
    pub fn accept(self) -> Result<Accepted, Vec<Finding>> {
        if self.is_valid() {
            Ok(Accepted { hash: self.hash, warnings: self.findings, effects: self.effects })
        } else {
            Err(self.findings)
        }
    }
}

/// Checks one event against the state before it.
pub fn check_event(state: &impl State, parsed: &ParsedEvent) -> Verdict {
    let mut cx =
        Cx { state, ev: &parsed.event, hash: parsed.hash, findings: Vec::new(), effects: Vec::new() };
    cx.run();
    let hash = parsed.hash;
    let mut findings = cx.findings;
    for f in &mut findings {
        f.event.get_or_insert(hash);
    }
    Verdict { hash, findings, effects: cx.effects }
}

struct Cx<'a, S: State> {
    state: &'a S,
    ev: &'a Event,
    hash: Hash,
    findings: Vec<Finding>,
    effects: Vec<Effect>,
}

impl<S: State> Cx<'_, S> {
    fn err(&mut self, f: Finding) {
        self.findings.push(f);
    }

    fn run(&mut self) {
        let body = &self.ev.body;
        if let Payload::Genesis { authority } = &body.payload {
            self.genesis(authority);
            return;
        }
        let Some(origin) = self.state.origin() else {
            self.err(
                Finding::error(Rule::Ch1, "the ledger has no genesis event yet, so nothing can be recorded")
                    .hint("start the ledger with `kpledger init`"),
            );
            return;
        };
        if body.ledger != origin {
            self.err(
                Finding::error(
                    Rule::Ch2,
                    format!(
                        "this event was signed for ledger {:?}, not for this ledger ({origin:?})",
                        body.ledger.as_str()
                    ),
                )
                .hint("an event signed for another ledger cannot be replayed here; sign it again for this ledger"),
            );
        }
        let signer = self.signer();
        match &body.payload {
            Payload::Genesis { .. } => {}
            Payload::Policy { policy } => self.policy(signer.as_ref(), policy),
            Payload::Enrol { actor } => self.enrol(signer.as_ref(), actor),
            Payload::RotateKey { actor, key } => {
                if let Some(mut a) = self.governed_actor(signer.as_ref(), actor) {
                    a.record.key = *key;
                    self.effects.push(Effect::PutActor(a));
                }
            }
            Payload::Revoke { actor, reason } => {
                if let Some(mut a) = self.governed_actor(signer.as_ref(), actor) {
                    a.revoked = Some(Revocation { time: body.time.clone(), reason: reason.clone() });
                    self.effects.push(Effect::PutActor(a));
                }
            }
            Payload::Site { site } => {
                self.require_authority_for(signer.as_ref(), &site.country, "register a mine site");
                if self.state.site(&site.id).is_some() {
                    self.err(Finding::error(
                        Rule::Ch3,
                        format!("mine site {} is already registered", site.id),
                    ));
                }
                self.effects.push(Effect::PutSite(site.clone()));
            }
            Payload::Extraction { parcel, site, weight_pt, stones, hs_code } => {
                self.extraction(signer.as_ref(), *parcel, site, *weight_pt, *stones, hs_code)
            }
            Payload::Handover { offer, weight_pt } => self.handover(signer.as_ref(), offer, *weight_pt),
            Payload::Split { parcel, prev, outputs } => self.split(signer.as_ref(), *parcel, *prev, outputs),
            Payload::Merge { inputs, output } => self.merge(signer.as_ref(), inputs, output),
            Payload::Valuation {
                parcel,
                prev,
                weight_pt,
                exporter_usd_cents,
                government_usd_cents,
                independent_usd_cents,
                final_usd_cents,
            } => {
                let Some(mut p) = self.open_parcel(*parcel, *prev) else { return };
                self.require_role(signer.as_ref(), &[Role::Valuer], "value a parcel officially");
                let tol = self.tolerance(signer.as_ref().map(|s| &s.record.country));
                self.weigh(&p, *weight_pt, tol, "at valuation");
                let values = [Some(*exporter_usd_cents), Some(*government_usd_cents), *independent_usd_cents];
                let rule = signer
                    .as_ref()
                    .and_then(|s| self.state.policy(&s.record.country))
                    .map(|pol| pol.valuation_rule)
                    .unwrap_or(ValuationRule::Government);
                let expected = match rule {
                    ValuationRule::HighestOfThree => values.into_iter().flatten().max().unwrap_or_default(),
                    ValuationRule::Government => *government_usd_cents,
                };
                if rule == ValuationRule::HighestOfThree && independent_usd_cents.is_none() {
                    self.err(
                        Finding::error(
                            Rule::Ex2,
                            "the valuation rule needs three values, but the independent valuer's is missing",
                        )
                        .parcel(*parcel),
                    );
                }
                if *final_usd_cents != expected {
                    self.err(
                        Finding::error(
                            Rule::Ex2,
                            format!(
                                "final value {final_usd_cents} does not follow the valuation rule ({}): it should be {expected}",
                                match rule {
                                    ValuationRule::HighestOfThree => "highest of the three valuations",
                                    ValuationRule::Government => "the government valuer's value",
                                }
                            ),
                        )
                        .parcel(*parcel),
                    );
                }
                p.weight_pt = *weight_pt;
                p.value_usd_cents = Some(*final_usd_cents);
                self.touch(&mut p);
                self.effects.push(Effect::PutParcel(p));
            }
            Payload::Seal { parcel, prev, weight_pt, seal_ids } => {
                let Some(mut p) = self.open_parcel(*parcel, *prev) else { return };
                self.require_role(signer.as_ref(), &[Role::Authority, Role::Valuer], "seal a parcel");
                if p.value_usd_cents.is_none() {
                    self.err(
                        Finding::error(Rule::Ch4, "the parcel is sealed before any official valuation")
                            .parcel(*parcel)
                            .hint("record the official valuation first, then seal"),
                    );
                }
                if seal_ids.is_empty() {
                    self.err(
                        Finding::error(Rule::Ex1, "the seal event names no container seal numbers")
                            .parcel(*parcel),
                    );
                }
                let tol = self.tolerance(signer.as_ref().map(|s| &s.record.country));
                self.weigh(&p, *weight_pt, tol, "at sealing");
                p.weight_pt = *weight_pt;
                p.status = ParcelStatus::Sealed;
                p.seal_ids = seal_ids.clone();
                self.touch(&mut p);
                self.effects.push(Effect::PutParcel(p));
            }
        }
    }

    fn genesis(&mut self, authority: &kpledger_model::ActorRecord) {
        let body = &self.ev.body;
        if self.state.origin().is_some() {
            self.err(Finding::error(
                Rule::Ch1,
                "a ledger has exactly one genesis event, and this one already has it",
            ));
            return;
        }
        if body.signer != authority.id || self.ev.sig.key != authority.key {
            self.err(Finding::error(
                Rule::Ch2,
                "the genesis event must be signed by the authority it names, with its key",
            ));
        }
        if authority.role != Role::Authority {
            self.err(Finding::error(
                Rule::Ch2,
                "the genesis event must name an actor with the authority role",
            ));
        }
        if !self.ev.signature_valid(&self.hash) {
            self.err(Finding::error(Rule::Ch2, "the genesis signature does not verify"));
        }
        self.effects.push(Effect::SetOrigin(body.ledger.clone()));
        self.effects.push(Effect::PutActor(ActorState {
            record: authority.clone(),
            enrolled_by: None,
            revoked: None,
        }));
    }

    /// CH-2 for the outer signature: enrolled, unrevoked, current key, signature verifies.
    fn signer(&mut self) -> Option<ActorState> {
        let id = &self.ev.body.signer;
        let Some(actor) = self.state.actor(id) else {
            self.err(
                Finding::error(Rule::Ch2, format!("the signer {id} is not enrolled in this ledger"))
                    .actor(id)
                    .hint("the authority must enrol the actor and its key before it can sign events"),
            );
            return None;
        };
        if let Some(r) = &actor.revoked {
            self.err(
                Finding::error(
                    Rule::Ch2,
                    format!("the signer {id} was revoked at {} ({})", r.time, r.reason),
                )
                .actor(id),
            );
        }
        if actor.record.key != self.ev.sig.key {
            self.err(
                Finding::error(
                    Rule::Ch2,
                    format!(
                        "the event is signed with key {} but {id}'s enrolled key at this point is {}",
                        self.ev.sig.key.fingerprint(),
                        actor.record.key.fingerprint()
                    ),
                )
                .actor(id)
                .hint("sign with the actor's current key (was the key rotated?)"),
            );
        } else if !self.ev.signature_valid(&self.hash) {
            self.err(
                Finding::error(
                    Rule::Ch2,
                    format!("the signature of {id} does not verify: the event was altered after signing"),
                )
                .actor(id),
            );
        }
        Some(actor)
    }

    fn require_role(&mut self, signer: Option<&ActorState>, roles: &[Role], what: &str) -> bool {
        let Some(s) = signer else { return false };
        if roles.contains(&s.record.role) {
            return true;
        }
        let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
        self.err(
            Finding::error(
                Rule::Ch2,
                format!(
                    "{} is a {}, and only a {} may {what}",
                    s.record.id,
                    s.record.role,
                    names.join(" or ")
                ),
            )
            .actor(&s.record.id),
        );
        false
    }

    /// An authority acting for `country`: the root authority, or an authority of that country.
    fn require_authority_for(&mut self, signer: Option<&ActorState>, country: &Country, what: &str) {
        if !self.require_role(signer, &[Role::Authority], what) {
            return;
        }
        let Some(s) = signer else { return };
        if s.enrolled_by.is_some() && &s.record.country != country {
            self.err(
                Finding::error(
                    Rule::Ch2,
                    format!("the {} authority {} cannot {what} in {country}", s.record.country, s.record.id),
                )
                .actor(&s.record.id),
            );
        }
    }

    fn policy(&mut self, signer: Option<&ActorState>, policy: &Policy) {
        self.require_authority_for(signer, &policy.country, "set a country's policy");
        if policy.schema.as_str() != "kpledger/policy/v1" {
            self.err(Finding::error(
                Rule::Ch2,
                format!("unknown policy schema {:?}", policy.schema.as_str()),
            ));
        }
        self.effects.push(Effect::PutPolicy(policy.clone()));
    }

    fn enrol(&mut self, signer: Option<&ActorState>, actor: &kpledger_model::ActorRecord) {
        self.require_authority_for(signer, &actor.country, "enrol an actor");
        if actor.role == Role::Authority && signer.is_some_and(|s| s.enrolled_by.is_some()) {
            self.err(
                Finding::error(Rule::Ch2, "only the root authority may enrol another authority")
                    .actor(&actor.id),
            );
        }
        if self.state.actor(&actor.id).is_some() {
            self.err(
                Finding::error(Rule::Ch3, format!("actor id {} is already enrolled", actor.id))
                    .actor(&actor.id)
                    .hint("choose another id, or rotate the existing actor's key"),
            );
        }
        if let Some(l) = &actor.licence
            && l.valid_from > l.valid_to
        {
            self.err(Finding::error(Rule::Lc1, "the licence ends before it starts").actor(&actor.id));
        }
        self.effects.push(Effect::PutActor(ActorState {
            record: actor.clone(),
            enrolled_by: signer.map(|s| s.record.id.clone()),
            revoked: None,
        }));
    }

    fn governed_actor(&mut self, signer: Option<&ActorState>, id: &ActorId) -> Option<ActorState> {
        let Some(a) = self.state.actor(id) else {
            self.err(Finding::error(Rule::Ch2, format!("actor {id} is not enrolled")).actor(id));
            return None;
        };
        self.require_authority_for(signer, &a.record.country, "change an actor's enrolment");
        if a.revoked.is_some() {
            self.err(Finding::error(Rule::Ch2, format!("actor {id} is already revoked")).actor(id));
        }
        Some(a)
    }

    fn tolerance(&self, country: Option<&Country>) -> u64 {
        country.and_then(|c| self.state.policy(c)).map_or(DEFAULT_TOLERANCE_PT, |p| p.tolerance_pt)
    }

    /// CH-1/CH-3/CH-4 for an existing parcel the event continues.
    fn open_parcel(&mut self, id: ParcelId, prev: Hash) -> Option<ParcelState> {
        let Some(p) = self.state.parcel(&id) else {
            self.err(
                Finding::error(Rule::Ch1, "the event continues a parcel that has no history in this ledger")
                    .parcel(id)
                    .hint("a parcel's first event must be its extraction (or, later, an import)"),
            );
            return None;
        };
        if p.head != prev {
            self.err(
                Finding::error(
                    Rule::Ch1,
                    format!(
                        "the event links to {} but the parcel's latest event is {}",
                        prev.short(),
                        p.head.short()
                    ),
                )
                .parcel(id)
                .hint("the event was made from a stale copy of the ledger, or the chain was altered; re-create it against the current ledger"),
            );
        }
        match p.status {
            ParcelStatus::Open => {}
            ParcelStatus::Consumed => self.err(
                Finding::error(
                    Rule::Ch3,
                    "the parcel was already split or merged into other parcels; it cannot be used again",
                )
                .parcel(id),
            ),
            ParcelStatus::Sealed => self.err(
                Finding::error(
                    Rule::Ch4,
                    "the parcel is sealed for export; only certification and export may follow",
                )
                .parcel(id),
            ),
        }
        if self.ev.body.time < p.updated {
            self.err(
                Finding::error(
                    Rule::Ch4,
                    format!(
                        "the event is dated {} but the parcel's previous event is dated {}",
                        self.ev.body.time, p.updated
                    ),
                )
                .parcel(id),
            );
        }
        Some(p)
    }

    /// The signer must hold the parcel.
    fn require_holder(&mut self, signer: Option<&ActorState>, p: &ParcelState) {
        if let Some(s) = signer
            && s.record.id != p.holder
        {
            self.err(
                Finding::error(
                    Rule::Ch2,
                    format!("{} does not hold the parcel; {} does", s.record.id, p.holder),
                )
                .parcel(p.id)
                .actor(&s.record.id),
            );
        }
    }

    /// A new parcel id must be unused.
    fn fresh(&mut self, id: ParcelId) {
        if self.state.parcel(&id).is_some() {
            self.err(
                Finding::error(Rule::Ch3, "this parcel id is already in use; a new parcel needs a new id")
                    .parcel(id),
            );
        }
    }

    /// MB-3: a weighing must not show a gain; a loss beyond tolerance is a warning.
    fn weigh(&mut self, p: &ParcelState, measured: Points, tol: u64, when: &str) {
        let before = p.weight_pt.0;
        if measured.0 > before + tol {
            self.err(
                Finding::error(
                    Rule::Mb3,
                    format!("the parcel gained weight {when}: {} before, {measured} now", p.weight_pt),
                )
                .parcel(p.id)
                .hint("a parcel cannot gain weight in custody: stones were added, or the weighing is wrong"),
            );
        } else if measured.0 + tol < before {
            self.err(
                Finding::warning(
                    Rule::Mb3,
                    format!("the parcel lost weight {when}: {} before, {measured} now", p.weight_pt),
                )
                .parcel(p.id),
            );
        }
    }

    fn touch(&self, p: &mut ParcelState) {
        p.head = self.hash;
        p.updated = self.ev.body.time.clone();
    }

    fn licence_valid(&mut self, a: &ActorState, rule: Rule, parcel: Option<ParcelId>) -> bool {
        let date = self.ev.body.time.date();
        let problem = match &a.record.licence {
            None => Some(format!("{} holds no licence", a.record.id)),
            Some(l) if !l.valid_on(&date) => Some(format!(
                "{}'s licence {} is valid from {} to {}, not on {date}",
                a.record.id, l.number, l.valid_from, l.valid_to
            )),
            Some(_) => None,
        };
        match problem {
            None => true,
            Some(msg) => {
                let mut f = Finding::error(rule, msg)
                    .actor(&a.record.id)
                    .hint("the authority must renew the licence first");
                f.parcel = parcel;
                self.err(f);
                false
            }
        }
    }

    fn extraction(
        &mut self,
        signer: Option<&ActorState>,
        parcel: ParcelId,
        site_id: &kpledger_model::SiteId,
        weight: Points,
        stones: u32,
        hs: &kpledger_model::HsCode,
    ) {
        self.fresh(parcel);
        if !hs.is_rough() {
            self.err(
                Finding::error(
                    Rule::Kp3,
                    format!("HS code {hs} is not rough diamonds (7102.10, 7102.21 or 7102.31)"),
                )
                .parcel(parcel),
            );
        }
        if stones > MAX_STONES {
            self.err(
                Finding::error(Rule::Lc1, format!("{stones} stones in one parcel is not plausible"))
                    .parcel(parcel),
            );
        }
        let Some(miner) = signer else { return };
        self.require_role(Some(miner), &[Role::Miner], "register an extraction");
        let Some(site) = self.state.site(site_id) else {
            self.err(
                Finding::error(Rule::Lc1, format!("mine site {site_id} is not registered in this ledger"))
                    .parcel(parcel)
                    .hint("the authority must register the site first"),
            );
            return;
        };
        if site.country != miner.record.country {
            self.err(
                Finding::error(
                    Rule::Lc1,
                    format!(
                        "{} is licensed in {}, but site {site_id} is in {}",
                        miner.record.id, miner.record.country, site.country
                    ),
                )
                .parcel(parcel),
            );
        }
        let policy = self.state.policy(&site.country);
        if policy.is_none() {
            self.err(
                Finding::error(
                    Rule::Lc1,
                    format!(
                        "{} has no policy in this ledger, so no licence class can be checked",
                        site.country
                    ),
                )
                .parcel(parcel)
                .hint("the authority must publish the country's policy (`kpledger policy set`)"),
            );
        }
        if self.licence_valid(miner, Rule::Lc1, Some(parcel))
            && let Some(l) = &miner.record.licence
        {
            if !l.sites.contains(site_id) {
                self.err(
                    Finding::error(
                        Rule::Lc1,
                        format!("licence {} does not cover mine site {site_id}", l.number),
                    )
                    .parcel(parcel)
                    .actor(&miner.record.id),
                );
            }
            if let Some(pol) = &policy {
                if !pol.mining_licence_classes.contains(&l.class) {
                    self.err(
                        Finding::error(
                            Rule::Lc1,
                            format!(
                                "licence class {:?} does not allow mining in {}",
                                l.class.as_str(),
                                pol.country
                            ),
                        )
                        .parcel(parcel)
                        .actor(&miner.record.id),
                    );
                }
                if l.class.as_str() == "artisanal"
                    && let Some(max) = pol.max_artisanal_area_m2
                    && site.area_m2 > max
                {
                    self.err(
                        Finding::error(
                            Rule::Lc1,
                            format!("site {site_id} covers {} m², more than the {max} m² an artisanal licence may cover", site.area_m2),
                        )
                        .parcel(parcel),
                    );
                }
            }
        }
        self.effects.push(Effect::PutParcel(ParcelState {
            id: parcel,
            weight_pt: weight,
            stones: Some(stones),
            hs_code: hs.clone(),
            origin_countries: BTreeSet::from([site.country.clone()]),
            origin_sites: BTreeSet::from([site.id.clone()]),
            holder: miner.record.id.clone(),
            status: ParcelStatus::Open,
            head: self.hash,
            updated: self.ev.body.time.clone(),
            value_usd_cents: None,
            seal_ids: Vec::new(),
        }));
    }

    fn handover(&mut self, receiver: Option<&ActorState>, offer: &kpledger_model::Offer, received: Points) {
        let o = &offer.body;
        let Some(mut p) = self.open_parcel(o.parcel, o.prev) else { return };
        let origin = self.state.origin();
        if origin.as_ref() != Some(&o.ledger) {
            self.err(Finding::error(Rule::Ch2, "the offer was signed for another ledger").parcel(p.id));
        }
        let holder = self.state.actor(&o.signer);
        match &holder {
            None => self.err(
                Finding::error(Rule::Ch2, format!("the offer's signer {} is not enrolled", o.signer))
                    .parcel(p.id),
            ),
            Some(h) => {
                if h.record.id != p.holder {
                    self.err(
                        Finding::error(
                            Rule::Ch2,
                            format!(
                                "the offer is signed by {}, but {} holds the parcel",
                                h.record.id, p.holder
                            ),
                        )
                        .parcel(p.id)
                        .hint("only the current holder can offer a parcel"),
                    );
                }
                if h.revoked.is_some() {
                    self.err(
                        Finding::error(Rule::Ch2, format!("the offer's signer {} is revoked", h.record.id))
                            .parcel(p.id),
                    );
                }
                if h.record.key != offer.sig.key {
                    self.err(
                        Finding::error(
                            Rule::Ch2,
                            format!("the offer is not signed with {}'s enrolled key", h.record.id),
                        )
                        .parcel(p.id),
                    );
                } else if !offer.signature_valid() {
                    self.err(
                        Finding::error(
                            Rule::Ch2,
                            "the holder's signature on the offer does not verify: the offer was altered",
                        )
                        .parcel(p.id),
                    );
                }
            }
        }
        if let Some(r) = receiver
            && r.record.id != o.to
        {
            self.err(
                Finding::error(
                    Rule::Ch2,
                    format!("the offer is made to {}, but {} accepted it", o.to, r.record.id),
                )
                .parcel(p.id),
            );
        }
        if self.ev.body.time < o.time {
            self.err(
                Finding::error(
                    Rule::Ch4,
                    format!("accepted at {} before it was offered at {}", self.ev.body.time, o.time),
                )
                .parcel(p.id),
            );
        }
        if o.time < p.updated {
            self.err(
                Finding::error(
                    Rule::Ch4,
                    format!("offered at {} before the parcel's previous event at {}", o.time, p.updated),
                )
                .parcel(p.id),
            );
        }
        let tol = self.tolerance(holder.as_ref().map(|h| &h.record.country));
        if o.weight_pt.0 > p.weight_pt.0 + tol {
            self.err(
                Finding::error(
                    Rule::Mb3,
                    format!("the offer declares {} for a parcel that weighs {}", o.weight_pt, p.weight_pt),
                )
                .parcel(p.id)
                .hint("a parcel cannot gain weight in custody"),
            );
        }
        self.weigh(&p, received, tol, "on receipt");
        if let (Some(h), Some(r)) = (&holder, receiver) {
            self.trade_edge(h, r, p.id);
        }
        p.holder = o.to.clone();
        p.weight_pt = received;
        self.touch(&mut p);
        self.effects.push(Effect::PutParcel(p));
    }

    /// LC-2: the seller → buyer edge is allowed in the seller's country, and both hold
    /// valid licences on the day.
    fn trade_edge(&mut self, seller: &ActorState, buyer: &ActorState, parcel: ParcelId) {
        let (s, b) = (&seller.record, &buyer.record);
        if s.country != b.country {
            self.err(
                Finding::error(
                    Rule::Lc2,
                    format!(
                        "a handover from {} ({}) to {} ({}) crosses a border",
                        s.id, s.country, b.id, b.country
                    ),
                )
                .parcel(parcel)
                .hint("parcels leave a country only by export under a KP certificate"),
            );
        }
        match self.state.policy(&s.country) {
            None => self.err(
                Finding::error(
                    Rule::Lc2,
                    format!("{} has no policy in this ledger, so no trade edge is allowed", s.country),
                )
                .parcel(parcel),
            ),
            Some(pol) => {
                if !pol.allowed_transfers.contains(&[s.role, b.role]) {
                    let allowed: Vec<String> =
                        pol.allowed_transfers.iter().map(|[a, b]| format!("{a}→{b}")).collect();
                    self.err(
                        Finding::error(
                            Rule::Lc2,
                            format!(
                                "in {} a {} may not sell to a {} (allowed: {})",
                                pol.country,
                                s.role,
                                b.role,
                                allowed.join(", ")
                            ),
                        )
                        .parcel(parcel),
                    );
                }
            }
        }
        self.licence_valid(seller, Rule::Lc2, Some(parcel));
        self.licence_valid(buyer, Rule::Lc2, Some(parcel));
    }

    fn split(
        &mut self,
        signer: Option<&ActorState>,
        id: ParcelId,
        prev: Hash,
        outputs: &[kpledger_model::NewParcel],
    ) {
        let Some(mut p) = self.open_parcel(id, prev) else { return };
        self.require_holder(signer, &p);
        if outputs.len() < 2 {
            self.err(Finding::error(Rule::Mb2, "a split must make at least two parcels").parcel(id));
        }
        let mut seen = BTreeSet::new();
        for o in outputs {
            self.fresh(o.parcel);
            if !seen.insert(o.parcel) || o.parcel == id {
                self.err(
                    Finding::error(Rule::Ch3, "a split names the same new parcel twice").parcel(o.parcel),
                );
            }
        }
        let tol = self.tolerance(signer.map(|s| &s.record.country)) * outputs.len() as u64;
        let total: u64 = outputs.iter().map(|o| o.weight_pt.0).sum();
        if total.abs_diff(p.weight_pt.0) > tol {
            self.err(
                Finding::error(
                    Rule::Mb2,
                    format!(
                        "the split parts weigh {} in all, but the parcel weighs {}",
                        Points(total),
                        p.weight_pt
                    ),
                )
                .parcel(id)
                .hint("the parts of a split must add up to the parcel (within the weighing tolerance)"),
            );
        }
        if let Some(stones) = p.stones
            && outputs.iter().all(|o| o.stones.is_some())
        {
            let out: u64 = outputs.iter().filter_map(|o| o.stones).map(u64::from).sum();
            if out != u64::from(stones) {
                self.err(
                    Finding::error(
                        Rule::Mb2,
                        format!("the split parts hold {out} stones, but the parcel held {stones}"),
                    )
                    .parcel(id),
                );
            }
        }
        for o in outputs {
            let mut child = p.clone();
            child.id = o.parcel;
            child.weight_pt = o.weight_pt;
            child.stones = o.stones;
            self.touch(&mut child);
            self.effects.push(Effect::PutParcel(child));
        }
        p.status = ParcelStatus::Consumed;
        self.touch(&mut p);
        self.effects.push(Effect::PutParcel(p));
    }

    fn merge(
        &mut self,
        signer: Option<&ActorState>,
        inputs: &[kpledger_model::ParcelRef],
        output: &kpledger_model::NewParcel,
    ) {
        if inputs.len() < 2 {
            self.err(Finding::error(Rule::Mb1, "a merge needs at least two parcels").parcel(output.parcel));
        }
        self.fresh(output.parcel);
        let mut seen = BTreeSet::new();
        let mut parts = Vec::new();
        for r in inputs {
            if !seen.insert(r.parcel) {
                self.err(Finding::error(Rule::Ch3, "a merge names the same parcel twice").parcel(r.parcel));
                continue;
            }
            if let Some(p) = self.open_parcel(r.parcel, r.prev) {
                self.require_holder(signer, &p);
                parts.push(p);
            }
        }
        let Some(first) = parts.first().cloned() else { return };
        let tol = self.tolerance(signer.map(|s| &s.record.country)) * inputs.len() as u64;
        let total: u64 = parts.iter().map(|p| p.weight_pt.0).sum();
        if total.abs_diff(output.weight_pt.0) > tol {
            self.err(
                Finding::error(
                    Rule::Mb1,
                    format!(
                        "the merged parcel weighs {}, but its inputs weigh {} in all",
                        output.weight_pt,
                        Points(total)
                    ),
                )
                .parcel(output.parcel)
                .hint("a merged parcel must weigh the sum of its inputs (within the weighing tolerance)"),
            );
        }
        let in_stones: Option<u64> = parts.iter().map(|p| p.stones.map(u64::from)).sum();
        if let (Some(i), Some(o)) = (in_stones, output.stones)
            && i != u64::from(o)
        {
            self.err(
                Finding::error(
                    Rule::Mb1,
                    format!("the merged parcel holds {o} stones, but its inputs held {i}"),
                )
                .parcel(output.parcel),
            );
        }
        let mut out = first.clone();
        out.id = output.parcel;
        out.weight_pt = output.weight_pt;
        out.stones = output.stones;
        if parts.iter().any(|p| p.hs_code != first.hs_code) {
            // Mixing headings gives an unsorted lot.
            out.hs_code = kpledger_model::HsCode::new("7102.10").unwrap_or_else(|_| first.hs_code.clone());
        }
        for p in &parts {
            out.origin_countries.extend(p.origin_countries.iter().cloned());
            out.origin_sites.extend(p.origin_sites.iter().cloned());
        }
        if let Some(s) = signer {
            out.holder = s.record.id.clone();
        }
        self.touch(&mut out);
        for mut p in parts {
            p.status = ParcelStatus::Consumed;
            self.touch(&mut p);
            self.effects.push(Effect::PutParcel(p));
        }
        self.effects.push(Effect::PutParcel(out));
    }
}
