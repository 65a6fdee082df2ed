//! A parcel's chain and custody: extraction, handover, trade, split, merge and valuation,
//! with the weight, stone-count and licence checks they share.

use std::borrow::Cow;
use std::collections::BTreeSet;

use kpledger_model::MAX_STONES;
use kpledger_model::{Cents, Hash, ParcelId, Payload, Points, Role, ValuationRule};

use crate::finding::{Finding, Rule};
use crate::state::{ActorState, Effect, ParcelState, ParcelStatus, State};

use super::{Cx, DEFAULT_TOLERANCE_PT, superseded_valuation};

impl<'a, S: State> Cx<'a, S> {
    /// CH-1/CH-3/CH-4 for an existing, open parcel the event continues.
    pub(super) fn open_parcel(&mut self, id: ParcelId, prev: Hash) -> Option<Cow<'a, ParcelState>> {
        self.linked(id, prev, ParcelStatus::Open)
    }

    /// CH-1/CH-3/CH-4 for an existing parcel the event continues, which must be in `expected`.
    ///
    /// A consumed parcel gets CH-3 and nothing else, whether the state forgets consumed
    /// parcels (`MemState`, for verification) or keeps them with that status (the store's
    /// tables, at ingest): the same event gets the same findings from both.
    pub(super) fn linked(
        &mut self,
        id: ParcelId,
        prev: Hash,
        expected: ParcelStatus,
    ) -> Option<Cow<'a, ParcelState>> {
        let state: &'a S = self.state;
        let found = state.parcel(&id);
        let consumed = match &found {
            Some(p) => p.status == ParcelStatus::Consumed,
            None => self.state.consumed(&id),
        };
        if consumed {
            self.err(
                Finding::error(
                    Rule::Ch3,
                    "the parcel was already split or merged into other parcels; it cannot be used again",
                )
                .parcel(id),
            );
            return None;
        }
        let Some(p) = found else {
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
        if p.status != expected {
            let f = match (p.status, expected) {
                (ParcelStatus::Certified | ParcelStatus::Exported, ParcelStatus::Sealed) => Finding::error(
                    Rule::Ch3,
                    format!(
                        "the parcel is already on certificate {}; a parcel is certified once",
                        p.certificate.as_ref().map_or("?", |c| c.as_str())
                    ),
                ),
                (
                    ParcelStatus::Sealed | ParcelStatus::Certified | ParcelStatus::Exported,
                    ParcelStatus::Open,
                ) => Finding::error(
                    Rule::Ch4,
                    format!(
                        "the parcel is {} for export; only certification, export and import may follow",
                        p.status.as_str()
                    ),
                ),
                (ParcelStatus::Open, ParcelStatus::Sealed | ParcelStatus::Certified) => Finding::error(
                    Rule::Ex1,
                    "the parcel has not been officially valued and sealed; it cannot be certified or exported",
                ),
                (found, wanted) => Finding::error(
                    Rule::Ch4,
                    format!("the parcel is {}, but this event needs it {}", found.as_str(), wanted.as_str()),
                ),
            };
            self.err(f.parcel(id));
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

    /// Officials act on parcels held in their own country only.
    pub(super) fn same_country_as_holder(
        &mut self,
        signer: Option<&ActorState>,
        p: &ParcelState,
        what: &str,
    ) {
        let Some(s) = signer else { return };
        let holder_country = self.state.actor(&p.holder).map(|h| h.record.country.clone());
        if holder_country.is_some_and(|c| c != s.record.country) {
            self.err(
                Finding::error(
                    Rule::Ch2,
                    format!(
                        "{} is an official of {} and cannot {what} a parcel held in another country",
                        s.record.id, s.record.country
                    ),
                )
                .parcel(p.id)
                .actor(&s.record.id),
            );
        }
    }

    /// The signer must hold the parcel.
    pub(super) fn require_holder(&mut self, signer: Option<&ActorState>, p: &ParcelState) {
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
    pub(super) fn fresh(&mut self, id: ParcelId) {
        if self.state.parcel(&id).is_some() || self.state.consumed(&id) {
            self.err(
                Finding::error(Rule::Ch3, "this parcel id is already in use; a new parcel needs a new id")
                    .parcel(id),
            );
        }
    }

    /// The one weighing rule of every event that carries a weight forward (MB-1, MB-2,
    /// MB-3; docs/SPEC.md §10.3 "Weights"): the weight carried forward (`after`) is never
    /// more than the weight taken in (`before`) — scales differ, so the lower reading is the
    /// one carried, and a gain of even one point is refused, since points gained at each
    /// event would add up along a provenance — and a loss beyond the tolerance, counted once
    /// for the whole event, is a warning under `rule`.
    pub(super) fn carry(
        &mut self,
        rule: Rule,
        parcel: ParcelId,
        before: u128,
        after: u128,
        tol: u64,
        what: &str,
    ) {
        let shown = |x: u128| Points(u64::try_from(x).unwrap_or(u64::MAX));
        if after > before {
            self.err(
                Finding::error(
                    rule,
                    format!(
                        "{what}: {} carried forward from {}, a gain of {}",
                        shown(after),
                        shown(before),
                        shown(after - before)
                    ),
                )
                .parcel(parcel)
                .hint(format!(
                    "no event adds weight; if a scale reads more, record the lower figure (at most {})",
                    shown(before)
                )),
            );
        } else if before - after > u128::from(tol) {
            self.err(
                Finding::warning(
                    rule,
                    format!(
                        "{what}: {} carried forward from {}, a loss of {} (tolerance {})",
                        shown(after),
                        shown(before),
                        shown(before - after),
                        Points(tol)
                    ),
                )
                .parcel(parcel),
            );
        }
    }

    /// MB-1/MB-2: stones are conserved by a split or merge. Either every parcel on both
    /// sides has a count or none has (a count, once known, cannot be dropped and later
    /// reinvented, nor invented for stones nobody counted), and the counts add up exactly.
    pub(super) fn stones_conserved(
        &mut self,
        rule: Rule,
        parcel: ParcelId,
        ins: &[Option<u32>],
        outs: &[Option<u32>],
    ) {
        let known = |xs: &[Option<u32>]| xs.iter().filter(|x| x.is_some()).count();
        let (ki, ko) = (known(ins), known(outs));
        let all = ki == ins.len() && ko == outs.len();
        if ki + ko != 0 && !all {
            self.err(
                Finding::error(
                    rule,
                    format!(
                        "stone counts are given for {} of the {} parcels taken in and {} of the {} made: every parcel has a count or none has",
                        ki,
                        ins.len(),
                        ko,
                        outs.len()
                    ),
                )
                .parcel(parcel)
                .hint("give the stone count of every part (they must add up to the parcel's)"),
            );
        } else if all && ki + ko != 0 {
            let sum = |xs: &[Option<u32>]| xs.iter().flatten().map(|&x| u64::from(x)).sum::<u64>();
            let (si, so) = (sum(ins), sum(outs));
            if si != so {
                self.err(
                    Finding::error(
                        rule,
                        format!("{so} stones come out of {si} stones: stones are conserved"),
                    )
                    .parcel(parcel)
                    .hint("the stone counts of the parts must add up exactly to the parcel's"),
                );
            }
        }
    }

    pub(super) fn touch(&self, p: &mut ParcelState) {
        p.head = self.hash;
        p.updated = self.ev.body.time.clone();
    }

    pub(super) fn licence_valid(&mut self, a: &ActorState, rule: Rule, parcel: Option<ParcelId>) -> bool {
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

    /// An extraction event (the event `Cx` judges; it reads its own fields).
    pub(super) fn extraction(&mut self, signer: Option<&ActorState>) {
        let ev = self.ev;
        let Payload::Extraction { parcel, site: site_id, weight_pt: weight, stones, hs_code: hs } =
            &ev.body.payload
        else {
            return;
        };
        let (parcel, weight, stones) = (*parcel, *weight, *stones);
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
        let policy = self.state.policy_at(&site.country, &self.ev.body.time);
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
            origin_unknown: false,
            origin_sites: BTreeSet::from([site.id.clone()]),
            holder: miner.record.id.clone(),
            status: ParcelStatus::Open,
            head: self.hash,
            updated: self.ev.body.time.clone(),
            value_usd_cents: None,
            seal_ids: Vec::new(),
            certificate: None,
            provenance: None,
        }));
    }

    pub(super) fn handover(
        &mut self,
        receiver: Option<&ActorState>,
        offer: &kpledger_model::Offer,
        received: Points,
    ) {
        let o = &offer.body;
        let Some(mut p) = self.open_parcel(o.parcel, o.prev).map(Cow::into_owned) else { return };
        let origin = self.state.origin();
        if origin.as_deref() != Some(&o.ledger) {
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
                self.imposed(h, "the offer");
                if h.record.key != offer.sig.key {
                    self.err(
                        Finding::error(
                            Rule::Ch2,
                            format!("the offer is not signed with {}'s enrolled key", h.record.id),
                        )
                        .parcel(p.id),
                    );
                } else if self.sigs.offer != Some(true) {
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
        // MB-3, one rule for the whole handover (see `carry`): the holder's signed offer
        // hands over at most the parcel's weight, the receiver records at most the offer's,
        // and a loss beyond the tolerance, from the parcel's weight to the receipt, is
        // reported once.
        let tol = self.tolerance(holder.as_ref().map(|h| &h.record.country), Rule::Mb3, p.id);
        if o.weight_pt > p.weight_pt {
            self.err(
                Finding::error(
                    Rule::Mb3,
                    format!("the offer declares {} for a parcel that weighs {}", o.weight_pt, p.weight_pt),
                )
                .parcel(p.id)
                .hint(format!(
                    "a parcel cannot gain weight in custody; the holder offers at most {} (the lower figure when scales differ)",
                    p.weight_pt
                )),
            );
        }
        if received > o.weight_pt {
            self.err(
                Finding::error(
                    Rule::Mb3,
                    format!(
                        "the receiver recorded {received}, more than the {} the holder's offer hands over",
                        o.weight_pt
                    ),
                )
                .parcel(p.id)
                .hint(format!(
                    "no event adds weight: stones were added between offer and receipt, or the receiver's scale reads higher; record at most {}",
                    o.weight_pt
                )),
            );
        } else {
            self.carry(Rule::Mb3, p.id, p.weight_pt.0.into(), received.0.into(), tol, "the receipt");
        }
        if o.price_usd_cents.0 == 0 {
            self.err(
                Finding::error(
                    Rule::Lc3,
                    "the sale's receipt carries no value: every purchase records its price",
                )
                .parcel(p.id)
                .hint("the holder must sign a new offer with the agreed price"),
            );
        }
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
    pub(super) fn trade_edge(&mut self, seller: &ActorState, buyer: &ActorState, parcel: ParcelId) {
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
        match self.state.policy_at(&s.country, &self.ev.body.time) {
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

    pub(super) fn split(
        &mut self,
        signer: Option<&ActorState>,
        id: ParcelId,
        prev: Hash,
        outputs: &[kpledger_model::NewParcel],
    ) {
        let Some(mut p) = self.open_parcel(id, prev).map(Cow::into_owned) else { return };
        self.require_holder(signer, &p);
        self.valuation_lapses(&p, "split");
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
        // MB-2: the parts weigh at most the parcel, the tolerance counted once for the split
        // (not once per part, which would let n parts gain n points).
        let tol = self.tolerance(signer.map(|s| &s.record.country), Rule::Mb2, id);
        let total: u128 = outputs.iter().map(|o| u128::from(o.weight_pt.0)).sum();
        self.carry(Rule::Mb2, id, p.weight_pt.0.into(), total, tol, "the split's parts weigh in all");
        self.stones_conserved(
            Rule::Mb2,
            id,
            &[p.stones],
            &outputs.iter().map(|o| o.stones).collect::<Vec<_>>(),
        );
        for o in outputs {
            let mut child = p.clone();
            child.id = o.parcel;
            child.weight_pt = o.weight_pt;
            child.stones = o.stones;
            // CH-4: a new parcel has no official valuation of its own yet.
            child.value_usd_cents = None;
            self.touch(&mut child);
            self.effects.push(Effect::PutParcel(child));
        }
        p.status = ParcelStatus::Consumed;
        self.touch(&mut p);
        self.effects.push(Effect::PutParcel(p));
    }

    pub(super) fn merge(
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
                self.valuation_lapses(&p, "merge");
                parts.push(p);
            }
        }
        let Some(first) = parts.first().cloned() else { return };
        // MB-1: the merged lot weighs at most its inputs, the tolerance counted once.
        let tol = self.tolerance(signer.map(|s| &s.record.country), Rule::Mb1, output.parcel);
        let total: u128 = parts.iter().map(|p| u128::from(p.weight_pt.0)).sum();
        self.carry(Rule::Mb1, output.parcel, total, output.weight_pt.0.into(), tol, "the merged lot weighs");
        let ins: Vec<Option<u32>> = parts.iter().map(|p| p.stones).collect();
        self.stones_conserved(Rule::Mb1, output.parcel, &ins, &[output.stones]);
        let mut out = first.clone().into_owned();
        out.id = output.parcel;
        out.weight_pt = output.weight_pt;
        out.stones = output.stones;
        // CH-4: the merged lot must be valued before it is sealed, whatever its inputs were.
        out.value_usd_cents = None;
        if parts.iter().any(|p| p.hs_code != first.hs_code) {
            // Mixing headings gives an unsorted lot.
            out.hs_code = kpledger_model::HsCode::new("7102.10").unwrap_or_else(|_| first.hs_code.clone());
        }
        for p in &parts {
            out.origin_unknown |= p.origin_unknown || p.origin_countries.is_empty();
            out.origin_countries.extend(p.origin_countries.iter().cloned());
            out.origin_sites.extend(p.origin_sites.iter().cloned());
        }
        // EX-3: a lot that takes in imported stones keeps the evidence of their lawful import,
        // whatever the order of the inputs (not only when the first input was imported).
        if out.provenance.is_none() {
            out.provenance = parts.iter().find_map(|p| p.provenance.clone());
        }
        if let Some(s) = signer {
            out.holder = s.record.id.clone();
        }
        self.touch(&mut out);
        // A merge may consume hundreds of parcels: room for all their effects at once.
        self.effects.reserve(parts.len() + 1);
        for p in parts {
            let mut p = p.into_owned();
            p.status = ParcelStatus::Consumed;
            self.touch(&mut p);
            self.effects.push(Effect::PutParcel(p));
        }
        self.effects.push(Effect::PutParcel(out));
    }

    /// A valuation event (the event `Cx` judges; it reads its own fields).
    pub(super) fn valuation(&mut self, signer: Option<&ActorState>) {
        let &Payload::Valuation {
            parcel,
            prev,
            weight_pt: weight,
            exporter_usd_cents: exporter,
            government_usd_cents: government,
            independent_usd_cents: independent,
            final_usd_cents: final_value,
            duty_usd_cents: duty,
        } = &self.ev.body.payload
        else {
            return;
        };
        let Some(mut p) = self.open_parcel(parcel, prev).map(Cow::into_owned) else { return };
        self.require_role(signer, &[Role::Valuer], "value a parcel officially");
        self.same_country_as_holder(signer, &p, "value");
        let policy = self.policy_for(signer.map(|s| &s.record.country), Rule::Ex2, parcel);
        let tol = policy.as_ref().map_or(DEFAULT_TOLERANCE_PT, |p| p.tolerance_pt);
        self.carry(Rule::Mb3, p.id, p.weight_pt.0.into(), weight.0.into(), tol, "valuation");
        if let Some(pol) = &policy {
            if pol.valuation_rule == ValuationRule::HighestOfThree && independent.is_none() {
                self.err(
                    Finding::error(
                        Rule::Ex2,
                        "the valuation rule needs three values, but the independent valuer's is missing",
                    )
                    .parcel(parcel),
                );
            }
            let expected = pol.final_value(exporter, government, independent);
            if final_value != expected {
                let rule = match pol.valuation_rule {
                    ValuationRule::HighestOfThree => "the highest of the three valuations",
                    ValuationRule::Government => "the government valuer's value",
                };
                self.err(
                    Finding::error(
                        Rule::Ex2,
                        format!(
                            "the final value {final_value} is not {rule} ({expected}), as {} requires",
                            pol.country
                        ),
                    )
                    .parcel(parcel)
                    .hint("under-valuation at export is a known fraud; record the valuation again"),
                );
            }
            let due =
                Cents((u128::from(final_value.0) * u128::from(pol.export_duty_bp)).div_ceil(10_000) as u64);
            if duty != due {
                self.err(
                    Finding::error(
                        Rule::Ex2,
                        format!(
                            "the duty recorded is {duty}, but {} charges {}.{:02}% of {final_value}: {due}",
                            pol.country,
                            pol.export_duty_bp / 100,
                            pol.export_duty_bp % 100
                        ),
                    )
                    .parcel(parcel),
                );
            }
        }
        // A second valuation of the same lot supersedes the first (the export and the certificate
        // take the latest), but never silently: lowering the value just before sealing is how
        // an export is under-declared and its duty evaded, raising it how money is moved. The
        // warning names the earlier valuation and what changes (docs/SPEC.md §10.3, valuation).
        if let Some(earlier) = p.value_usd_cents {
            self.err(superseded_valuation(parcel, earlier, final_value, policy.as_deref()));
        }
        p.weight_pt = weight;
        p.value_usd_cents = Some(final_value);
        self.touch(&mut p);
        self.effects.push(Effect::PutParcel(p));
    }

    /// EX-2 warning at a split or merge of a parcel that carries an official valuation: the
    /// valuation does not pass to the new parcels, which must be valued again before sealing
    /// (CH-4); the new valuation is then not compared with the old, so the event that drops it
    /// says so.
    pub(super) fn valuation_lapses(&mut self, p: &ParcelState, what: &str) {
        if let Some(v) = p.value_usd_cents {
            self.err(
                Finding::warning(
                    Rule::Ex2,
                    format!(
                        "the parcel's official valuation of {v} lapses with this {what}: the new parcel(s) must be \
                         valued again, and that valuation is not compared with this one"
                    ),
                )
                .parcel(p.id)
                .hint("compare the new valuation with this one; a lot re-assembled after valuation and valued lower is \
                       an under-declaration"),
            );
        }
    }
}
