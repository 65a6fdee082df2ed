//! The event rules: one signed event against the state before it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::sign::{self, Purpose, SigCheck, SigMode};
use kpledger_model::types::MAX_STONES;
use kpledger_model::{
    ActorId, Cents, Country, Event, Hash, ParcelId, ParsedEvent, Payload, Points, Policy, Role, Text,
    ValuationRule,
};

use crate::finding::{Finding, Rule};
use crate::state::{
    ActorState, CertificateState, Effect, ImposedKey, ParcelState, ParcelStatus, Revocation, State,
};

/// Weighing tolerance when a country has no policy: 0.01 ct, once per event.
pub const DEFAULT_TOLERANCE_PT: u64 = 1;

/// What the rules say about one event: the findings, and the event's effects on the
/// state (computed even when there are errors, so that whole-ledger verification can go
/// on past a bad event and report everything at once).
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The event's hash: the token [`Verdict::accept`] makes is for this event only. Private,
    /// like every field, so that no caller can move a verdict onto another event or drop an
    /// error from it.
    hash: Hash,
    findings: Vec<Finding>,
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

/// How long before the newest event already in the log an event may be dated: the time
/// signing offline and the signers' clocks may take. Beyond it, CH-4 refuses the event. Ingest
/// refuses an event dated more than a day after its machine's clock, so a future-dated event
/// can move the log's newest time at most a day ahead, and an honest event signed up to a day
/// before it is recorded still passes.
pub const MAX_BACKDATE_SECONDS: i64 = 48 * 3600;

/// CH-4, the ledger's clock: an event may not be dated more than [`MAX_BACKDATE_SECONDS`]
/// before `newest`, the latest time of the events the log held before it. Without this, an act
/// signed today could claim a past time at which a licence was still valid, a policy not yet in
/// force, or a suspension not yet recorded, and be judged then. The store (at append), the
/// whole-ledger verifier and the bundle verifier apply it with the newest time they have seen.
pub fn ledger_clock(newest: Option<&kpledger_model::Time>, ev: &ParsedEvent) -> Option<Finding> {
    let newest = newest?;
    let time = &ev.event.body.time;
    if time.unix() >= newest.unix() - MAX_BACKDATE_SECONDS {
        return None;
    }
    let mut f = Finding::error(
        Rule::Ch4,
        format!(
            "the event is dated {time}, more than {} hours before the newest event the log already holds \
             ({newest}): an act is dated when it is signed, and the log records it within that time",
            MAX_BACKDATE_SECONDS / 3600
        ),
    )
    .hint("sign the event again with the current time; a past act cannot be recorded as if it had been recorded then");
    f.event = Some(ev.hash);
    Some(f)
}

/// The EX-2 warning on a valuation of a parcel already valued since it was last opened: it
/// supersedes `earlier`; the finding names the earlier final value, the change and the duty.
fn superseded_valuation(parcel: ParcelId, earlier: Cents, now: Cents, policy: Option<&Policy>) -> Finding {
    let change = if now < earlier {
        let down = earlier.0 - now.0;
        format!(
            "lowers it by {} ({}%)",
            Cents(down),
            (u128::from(down) * 100).div_ceil(u128::from(earlier.0.max(1)))
        )
    } else if now > earlier {
        format!("raises it by {}", Cents(now.0 - earlier.0))
    } else {
        "keeps it".to_owned()
    };
    let duty = policy
        .map(|pol| format!("; the duty goes from {} to {}", pol.duty(earlier), pol.duty(now)))
        .unwrap_or_default();
    Finding::warning(
        Rule::Ex2,
        format!(
            "the parcel was already officially valued at {earlier}; this valuation of {now} supersedes it and \
             {change}{duty}. The export and the certificate take the latest valuation"
        ),
    )
    .parcel(parcel)
    .hint(
        "a re-valuation needs a reason on file (an appeal, a correction); lowering the value just before sealing is \
         how an export is under-declared",
    )
}

impl Verdict {
    /// The hash of the event judged.
    pub fn hash(&self) -> Hash {
        self.hash
    }
    /// What the rules found.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
    /// The verdict with `finding` put first (a store's own refusal, such as an event it
    /// already holds). Findings can be added, never removed: an added error makes the
    /// verdict a refusal.
    pub fn with_first(mut self, finding: Finding) -> Verdict {
        self.findings.insert(0, finding);
        self
    }
    /// True if no finding is an error.
    pub fn is_valid(&self) -> bool {
        !self.findings.iter().any(Finding::is_error)
    }
    /// The findings and the effects, for a verifier that goes on past errors and applies
    /// the effects to its own state ([`crate::MemState::apply`]).
    pub fn into_parts(self) -> (Vec<Finding>, Vec<Effect>) {
        (self.findings, self.effects)
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

/// The verdicts on an event's signatures — its own and, for a handover, the holder's offer
/// — made ahead of the rules, because they do not depend on the ledger's state: a verifier
/// checks them in parallel, and in batches ([`crate::prepare`]). Only this crate makes one,
/// so a caller cannot declare a signature good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signatures {
    hash: Hash,
    event: bool,
    offer: Option<bool>,
}

impl Signatures {
    /// Checks one event's signatures with `verify_strict`.
    pub fn check(parsed: &ParsedEvent) -> Signatures {
        Self::check_all(&[parsed], SigMode::Strict).pop().unwrap_or(Signatures {
            hash: parsed.hash,
            event: false,
            offer: None,
        })
    }

    /// Checks the signatures of `events` on this thread; `out[i]` is for `events[i]`.
    pub fn check_all(events: &[&ParsedEvent], mode: SigMode) -> Vec<Signatures> {
        let mut checks = Vec::with_capacity(events.len() * 2);
        // Per event: where its own check sits in `checks`, and its offer's (`None` inside: an
        // offer that cannot be hashed, which is a bad signature).
        let mut slots = Vec::with_capacity(events.len());
        for ev in events {
            let (own, offer) = Self::checks_of(ev);
            checks.push(own);
            let own = checks.len() - 1;
            let offer = offer.map(|o| {
                o.map(|c| {
                    checks.push(c);
                    checks.len() - 1
                })
            });
            slots.push((own, offer));
        }
        let ok = sign::verify_all(&checks, mode);
        events
            .iter()
            .zip(slots)
            .map(|(ev, (own, offer))| Signatures {
                hash: ev.hash,
                event: ok[own],
                offer: offer.map(|slot| slot.is_some_and(|i| ok[i])),
            })
            .collect()
    }

    /// Whether every signature checked is good: the event's and, for a handover, the
    /// holder's offer's (a server refuses a submission on this before any database work).
    pub fn all_valid(&self) -> bool {
        self.event && self.offer.unwrap_or(true)
    }

    /// What must be checked for an event: its own signature, and for a handover the
    /// holder's offer (`Some(None)`: an offer that cannot even be hashed, a bad signature).
    pub fn checks_of(ev: &ParsedEvent) -> (SigCheck, Option<Option<SigCheck>>) {
        let e = &ev.event;
        let own = SigCheck { key: e.sig.key, purpose: Purpose::Event, hash: ev.hash, sig: e.sig.sig };
        let offer = match &e.body.payload {
            Payload::Handover { offer, .. } => Some(ev.offer_hash.map(|hash| SigCheck {
                key: offer.sig.key,
                purpose: Purpose::Offer,
                hash,
                sig: offer.sig.sig,
            })),
            _ => None,
        };
        (own, offer)
    }

    /// The number of signatures checked.
    pub fn count(&self) -> u64 {
        1 + u64::from(self.offer.is_some())
    }
}

/// Checks one event against the state before it.
pub fn check_event(state: &impl State, parsed: &ParsedEvent) -> Verdict {
    check_event_signed(state, parsed, Signatures::check(parsed))
}

/// As [`check_event`], with the event's signatures already checked (by
/// [`Signatures::check_all`] or [`crate::prepare`]). Verdicts made for another event are
/// ignored and the signatures checked again.
pub fn check_event_signed(state: &impl State, parsed: &ParsedEvent, sigs: Signatures) -> Verdict {
    let sigs = if sigs.hash == parsed.hash { sigs } else { Signatures::check(parsed) };
    let mut cx =
        Cx { state, ev: &parsed.event, hash: parsed.hash, sigs, findings: Vec::new(), effects: Vec::new() };
    cx.run();
    let hash = parsed.hash;
    let mut findings = cx.findings;
    let certificate = match &parsed.event.body.payload {
        Payload::Certificate { certificate } => Some(certificate.number.to_string()),
        Payload::Export { certificate, .. } | Payload::Transit { certificate, .. } => {
            Some(certificate.to_string())
        }
        Payload::ImportConfirmation { confirmation } => Some(confirmation.certificate.to_string()),
        _ => None,
    };
    for f in &mut findings {
        f.event.get_or_insert(hash);
        if f.certificate.is_none() {
            f.certificate.clone_from(&certificate);
        }
    }
    Verdict { hash, findings, effects: cx.effects }
}

struct Cx<'a, S: State> {
    state: &'a S,
    ev: &'a Event,
    hash: Hash,
    sigs: Signatures,
    findings: Vec<Finding>,
    effects: Vec<Effect>,
}

impl<'a, S: State> Cx<'a, S> {
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
        if body.ledger != *origin {
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
        if let Some(s) = signer.as_deref() {
            self.imposed(s, "this event");
        }
        match &body.payload {
            Payload::Genesis { .. } => {}
            Payload::Policy { policy } => self.policy(signer.as_deref(), policy),
            Payload::Enrol { actor } => self.enrol(signer.as_deref(), actor),
            Payload::RotateKey { actor, key } => self.rotate_key(signer.as_deref(), actor, key),
            Payload::Revoke { actor, reason } => {
                if let Some(mut a) = self.governed_actor(signer.as_deref(), actor).map(Cow::into_owned) {
                    a.revoked = Some(Revocation { time: body.time.clone(), reason: reason.clone() });
                    self.effects.push(Effect::PutActor(a));
                }
            }
            Payload::Site { site } => {
                self.require_authority_for(signer.as_deref(), &site.country, "register a mine site");
                if self.state.site(&site.id).is_some() {
                    self.err(Finding::error(
                        Rule::Ch3,
                        format!("mine site {} is already registered", site.id),
                    ));
                }
                self.effects.push(Effect::PutSite(site.clone()));
            }
            Payload::Extraction { parcel, site, weight_pt, stones, hs_code } => {
                self.extraction(signer.as_deref(), *parcel, site, *weight_pt, *stones, hs_code)
            }
            Payload::Handover { offer, weight_pt } => self.handover(signer.as_deref(), offer, *weight_pt),
            Payload::Split { parcel, prev, outputs } => {
                self.split(signer.as_deref(), *parcel, *prev, outputs)
            }
            Payload::Merge { inputs, output } => self.merge(signer.as_deref(), inputs, output),
            Payload::Valuation {
                parcel,
                prev,
                weight_pt,
                exporter_usd_cents,
                government_usd_cents,
                independent_usd_cents,
                final_usd_cents,
                duty_usd_cents,
            } => self.valuation(
                signer.as_deref(),
                *parcel,
                *prev,
                *weight_pt,
                [*exporter_usd_cents, *government_usd_cents],
                *independent_usd_cents,
                *final_usd_cents,
                *duty_usd_cents,
            ),
            Payload::Seal { parcel, prev, weight_pt, seal_ids } => {
                let Some(mut p) = self.open_parcel(*parcel, *prev).map(Cow::into_owned) else { return };
                self.require_role(signer.as_deref(), &[Role::Authority, Role::Valuer], "seal a parcel");
                self.same_country_as_holder(signer.as_deref(), &p, "seal");
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
                let tol = self.tolerance(signer.as_deref().map(|s| &s.record.country), Rule::Mb3, p.id);
                self.carry(Rule::Mb3, p.id, p.weight_pt.0.into(), weight_pt.0.into(), tol, "sealing");
                p.weight_pt = *weight_pt;
                p.status = ParcelStatus::Sealed;
                p.seal_ids = seal_ids.clone();
                self.touch(&mut p);
                self.effects.push(Effect::PutParcel(p));
            }
            Payload::Certificate { certificate } => self.certificate(signer.as_deref(), certificate),
            Payload::Export { certificate, parcels } => self.export(signer.as_deref(), certificate, parcels),
            Payload::Transit {
                certificate,
                country,
                parcels,
                seal_ids_in,
                seal_ids_out,
                carats_in_pt,
                carats_out_pt,
                parcel_count_in,
                parcel_count_out,
                opened,
            } => self.transit(
                signer.as_deref(),
                certificate,
                country,
                parcels,
                [seal_ids_in, seal_ids_out],
                [*carats_in_pt, *carats_out_pt],
                [*parcel_count_in, *parcel_count_out],
                *opened,
            ),
            Payload::Import { holder, certificate, .. } => {
                self.import(signer.as_deref(), &self.ev.body.payload.import_parcels(), holder, certificate)
            }
            Payload::ImportConfirmation { confirmation } => {
                self.confirm_import(signer.as_deref(), confirmation)
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
        if !self.sigs.event {
            self.err(Finding::error(Rule::Ch2, "the genesis signature does not verify"));
        }
        self.effects.push(Effect::SetOrigin(body.ledger.clone()));
        self.effects.push(Effect::PutActor(ActorState {
            record: authority.clone(),
            enrolled_by: None,
            revoked: None,
            imposed_key: None,
        }));
    }

    /// CH-2 for the outer signature: enrolled, unrevoked, current key, signature verifies.
    fn signer(&mut self) -> Option<Cow<'a, ActorState>> {
        let id = &self.ev.body.signer;
        let state: &'a S = self.state;
        let Some(actor) = state.actor(id) else {
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
        } else if !self.sigs.event {
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
                    "{} is enrolled as {}; only the {} role may {what}",
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
        let state: &'a S = self.state;
        let ev: &'a Event = self.ev;
        let history = state.policy_history(&policy.country).map(Cow::into_owned);
        let previous = history.as_ref().and_then(|h| h.current());
        // GV-1: in order. A version takes effect from its own event's time, later than the
        // version it replaces, so it never reaches an event dated before it was recorded.
        if let Some(prev) = previous {
            if policy.version.as_str().as_bytes() <= prev.policy.version.as_str().as_bytes() {
                self.err(
                    Finding::error(
                        Rule::Gv1,
                        format!(
                            "{}'s policy version {:?} does not follow the version in force, {:?}: versions strictly increase",
                            policy.country,
                            policy.version.as_str(),
                            prev.policy.version.as_str()
                        ),
                    )
                    .hint("a policy cannot be re-published or back-dated; publish a new, later version"),
                );
            }
            if ev.body.time <= prev.time {
                self.err(Finding::error(
                    Rule::Gv1,
                    format!(
                        "the policy is dated {}, not after the version it replaces ({}): a policy takes effect when it is recorded, never before",
                        ev.body.time, prev.time
                    ),
                ));
            }
        }
        for problem in crate::governance::out_of_bounds(policy) {
            self.err(
                Finding::error(Rule::Gv1, format!("{}'s policy is out of bounds: {problem}", policy.country))
                    .hint("SPEC.md §10.3 lists the bounds of every policy value"),
            );
        }
        let by_root = signer.is_some_and(|s| s.enrolled_by.is_none() && s.record.role == Role::Authority);
        if let Some(prev) = previous {
            // GV-2: standing is the KP's, decided by the root authority.
            if !by_root {
                let added: Vec<String> = policy
                    .participants
                    .iter()
                    .filter(|c| !prev.policy.participants.contains(c))
                    .map(ToString::to_string)
                    .collect();
                if !added.is_empty() {
                    self.err(
                        Finding::error(
                            Rule::Gv2,
                            format!(
                                "{} adds {} to {}'s Participants, as a national authority: a national policy may narrow its \
                                 list, only the root authority makes a country a Participant",
                                ev.body.signer,
                                added.join(", "),
                                policy.country
                            ),
                        )
                        .actor(&ev.body.signer),
                    );
                }
                for s in crate::governance::lifted_suspensions(&prev.policy, policy) {
                    self.err(
                        Finding::error(
                            Rule::Gv2,
                            format!("{s} is lifted or shortened by {}, a national authority: a Participant's standing is decided by the root authority", ev.body.signer),
                        )
                        .actor(&ev.body.signer),
                    );
                }
            }
            // GV-3: loosening is allowed, and seen.
            let loose = crate::governance::loosenings(&prev.policy, policy);
            if !loose.is_empty() {
                self.err(
                    Finding::warning(
                        Rule::Gv3,
                        format!(
                            "{} loosens {}'s policy (version {} → {}): {}",
                            ev.body.signer,
                            policy.country,
                            prev.policy.version,
                            policy.version,
                            loose.join("; ")
                        ),
                    )
                    .actor(&ev.body.signer)
                    .hint("a regulator should ask why each rule was loosened, and look at the events judged under it"),
                );
            }
        }
        let mut history = history.unwrap_or(crate::state::PolicyHistory { entries: Vec::new() });
        history.entries.push(crate::state::PolicyEntry {
            time: ev.body.time.clone(),
            by: ev.body.signer.clone(),
            root: by_root,
            policy: policy.clone(),
        });
        self.effects.push(Effect::PutPolicy(history));
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
        // A certificate names its exporter and importer by name (and an import confirmation
        // without the importer's actor id finds it by name): a second trader under a name
        // already enrolled in the country would be a namesake front that custody could be
        // handed to.
        if actor.role.is_trade()
            && let Some(other) = self.state.trader_named(&actor.country, &actor.name)
        {
            self.err(
                Finding::error(
                    Rule::Ch3,
                    format!(
                        "a trader named {:?} is already enrolled in {} as {other}: one name, one trader",
                        actor.name.as_str(),
                        actor.country
                    ),
                )
                .actor(&actor.id)
                .hint(
                    "enrol the trader under its full registered name, or revoke the earlier enrolment first",
                ),
            );
        }
        self.effects.push(Effect::PutActor(ActorState {
            record: actor.clone(),
            enrolled_by: signer.map(|s| s.record.id.clone()),
            revoked: None,
            imposed_key: None,
        }));
    }

    /// An ordinary rotation is signed by the actor itself, with its current key (the old key
    /// endorses the new one). A rotation signed by anyone else is imposed by an authority
    /// that governs the actor (a lost or compromised key): allowed, but a visible act (GV-4),
    /// and every event the actor signs from then on is marked.
    fn rotate_key(&mut self, signer: Option<&ActorState>, actor: &ActorId, key: &kpledger_model::PublicKey) {
        let own = &self.ev.body.signer == actor;
        let a = if own {
            let Some(s) = signer else { return };
            if s.revoked.is_some() {
                // Already reported by `signer` (CH-2).
                return;
            }
            Cow::Owned(s.clone())
        } else {
            let Some(a) = self.governed_actor(signer, actor) else { return };
            let ev: &'a Event = self.ev;
            let by = &ev.body.signer;
            self.err(
                Finding::warning(
                    Rule::Gv4,
                    format!(
                        "{by} imposed a new key {} on {actor}: the actor did not endorse it with its own key",
                        key.fingerprint()
                    ),
                )
                .actor(actor)
                .hint("an authority replaces a trader's key only for a lost or compromised key; ask the actor to confirm, and check every event signed under this key"),
            );
            a
        };
        let mut a = a.into_owned();
        a.record.key = *key;
        if !own {
            a.imposed_key = Some(Box::new(ImposedKey {
                by: self.ev.body.signer.clone(),
                time: self.ev.body.time.clone(),
            }));
        }
        self.effects.push(Effect::PutActor(a));
    }

    /// GV-4: an event (or a handover's offer) signed under a key an authority imposed.
    fn imposed(&mut self, a: &ActorState, what: &str) {
        if let Some(i) = &a.imposed_key {
            self.err(
                Finding::warning(
                    Rule::Gv4,
                    format!(
                        "{what} is signed by {} under a key imposed by {} at {}, not one the actor endorsed",
                        a.record.id, i.by, i.time
                    ),
                )
                .actor(&a.record.id)
                .hint("the authority that imposed the key could have signed this itself; confirm it with the actor"),
            );
        }
    }

    fn governed_actor(&mut self, signer: Option<&ActorState>, id: &ActorId) -> Option<Cow<'a, ActorState>> {
        let state: &'a S = self.state;
        let Some(a) = state.actor(id) else {
            self.err(Finding::error(Rule::Ch2, format!("actor {id} is not enrolled")).actor(id));
            return None;
        };
        self.require_authority_for(signer, &a.record.country, "change an actor's enrolment");
        // Authorities (the root included) are governed by the root alone: a national
        // authority cannot rotate or revoke the root's key, nor another authority's.
        if a.record.role == Role::Authority && signer.is_some_and(|s| s.enrolled_by.is_some()) {
            self.err(
                Finding::error(
                    Rule::Ch2,
                    format!("only the root authority may rotate or revoke the authority {id}"),
                )
                .actor(id),
            );
        }
        if a.revoked.is_some() {
            self.err(Finding::error(Rule::Ch2, format!("actor {id} is already revoked")).actor(id));
        }
        Some(a)
    }

    /// The country's policy; an error under `rule` if the country has none.
    fn policy_for(
        &mut self,
        country: Option<&Country>,
        rule: Rule,
        parcel: ParcelId,
    ) -> Option<Cow<'a, Policy>> {
        let c = country?;
        let p = self.state.policy_at(c, &self.ev.body.time);
        if p.is_none() {
            self.err(
                Finding::error(
                    rule,
                    format!("{c} has no policy in this ledger, so this event cannot be judged"),
                )
                .parcel(parcel)
                .hint("the country's authority must publish its policy (`kpledger policy set`)"),
            );
        }
        p
    }

    /// The weighing tolerance of the signer's country.
    fn tolerance(&mut self, country: Option<&Country>, rule: Rule, parcel: ParcelId) -> u64 {
        self.policy_for(country, rule, parcel).map_or(DEFAULT_TOLERANCE_PT, |p| p.tolerance_pt)
    }

    /// CH-1/CH-3/CH-4 for an existing, open parcel the event continues.
    fn open_parcel(&mut self, id: ParcelId, prev: Hash) -> Option<Cow<'a, ParcelState>> {
        self.linked(id, prev, ParcelStatus::Open)
    }

    /// CH-1/CH-3/CH-4 for an existing parcel the event continues, which must be in `expected`.
    ///
    /// A consumed parcel gets CH-3 and nothing else, whether the state forgets consumed
    /// parcels (`MemState`, for verification) or keeps them with that status (the store's
    /// tables, at ingest): the same event gets the same findings from both.
    fn linked(&mut self, id: ParcelId, prev: Hash, expected: ParcelStatus) -> Option<Cow<'a, ParcelState>> {
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
    fn same_country_as_holder(&mut self, signer: Option<&ActorState>, p: &ParcelState, what: &str) {
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
    fn carry(&mut self, rule: Rule, parcel: ParcelId, before: u128, after: u128, tol: u64, what: &str) {
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
    fn stones_conserved(&mut self, rule: Rule, parcel: ParcelId, ins: &[Option<u32>], outs: &[Option<u32>]) {
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

    fn handover(&mut self, receiver: Option<&ActorState>, offer: &kpledger_model::Offer, received: Points) {
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

    fn split(
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

    #[allow(clippy::too_many_arguments)]
    fn valuation(
        &mut self,
        signer: Option<&ActorState>,
        parcel: ParcelId,
        prev: Hash,
        weight: Points,
        [exporter, government]: [Cents; 2],
        independent: Option<Cents>,
        final_value: Cents,
        duty: Cents,
    ) {
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
    fn valuation_lapses(&mut self, p: &ParcelState, what: &str) {
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

    /// KP-7: the signer must be an enrolled authority of `country`.
    fn authority_of(&mut self, signer: Option<&ActorState>, country: &Country, what: &str) -> bool {
        match signer {
            Some(s) if s.record.role == Role::Authority && &s.record.country == country => {
                // F8: the validation must be by the authority's enrolled, unrevoked key; a
                // certificate in its name under any other key is forged (CH-2 says the same of
                // the event's signature).
                if s.record.key == self.ev.sig.key && s.revoked.is_none() {
                    return true;
                }
                self.err(
                    Finding::error(
                        Rule::Kp7,
                        format!(
                            "the certificate is validated in the name of {} with key {}, which is not its enrolled, unrevoked key {}: the certificate is forged",
                            s.record.id,
                            self.ev.sig.key.fingerprint(),
                            s.record.key.fingerprint()
                        ),
                    )
                    .actor(&s.record.id),
                );
                false
            }
            Some(s) => {
                self.err(
                    Finding::error(
                        Rule::Kp7,
                        format!(
                            "{} ({} {}) is not a KP authority of {country} and cannot {what}",
                            s.record.id, s.record.country, s.record.role
                        ),
                    )
                    .actor(&s.record.id),
                );
                false
            }
            None => {
                self.err(
                    Finding::error(
                        Rule::Kp7,
                        format!("the signer {} is not an enrolled KP authority of {country}: a certificate it signs is forged", self.ev.body.signer),
                    )
                    .actor(&self.ev.body.signer),
                );
                false
            }
        }
    }

    /// KP-6: a participant, not suspended on `date`, per `policy` and per the KP-level
    /// standing the root authority recorded (the suspensions of every country's policy
    /// version in force that the root signed): a country's own authority cannot undo it.
    fn participant(&mut self, policy: &Policy, country: &Country, date: &kpledger_model::Date, role: &str) {
        let state: &'a S = self.state;
        let t = &self.ev.body.time;
        let mut kp_level: Vec<kpledger_model::Suspension> = Vec::new();
        // The KP-level list of Participants: those of every version in force that the root
        // authority signed (none signed: the judging policy's list alone).
        let mut kp_participants: Option<BTreeSet<Country>> = None;
        for c in state.policy_countries() {
            let Some(h) = state.policy_history(&c) else { continue };
            if let Some(e) = h.root_at(t) {
                kp_participants
                    .get_or_insert_with(BTreeSet::new)
                    .extend(e.policy.participants.iter().cloned());
            }
            // A suspension names the dates it covers: once the root authority has recorded it,
            // in any version of any policy, no act dated inside it passes, whenever signed. An
            // act signed after the suspension was recorded but dated before that version took
            // effect (a back-dated export) is judged by it all the same.
            for e in h.entries.iter().filter(|e| e.root) {
                kp_level.extend(
                    e.policy
                        .suspensions
                        .iter()
                        .filter(|s| &s.country == country && !policy.suspensions.contains(s))
                        .cloned(),
                );
            }
        }
        kp_level.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
        kp_level.dedup();
        if policy.participants.contains(country) && kp_participants.is_some_and(|l| !l.contains(country)) {
            self.err(
                Finding::error(
                    Rule::Kp6,
                    format!(
                        "{role} {country} is listed by the {} policy but is not a Kimberley Process Participant by the root authority's list",
                        policy.country
                    ),
                )
                .hint("a country's standing is decided by the root authority, not by a national policy"),
            );
        }
        for s in kp_level.iter().filter(|s| s.from <= *date && *date <= s.to) {
            self.err(Finding::error(
                Rule::Kp6,
                format!(
                    "{role} {country} was suspended by the root authority from {} to {} ({}) and could not trade on {date}",
                    s.from, s.to, s.reason
                ),
            ));
        }
        if !policy.participants.contains(country) {
            self.err(
                Finding::error(
                    Rule::Kp6,
                    format!(
                        "{role} {country} is not a Kimberley Process Participant (per the {} policy)",
                        policy.country
                    ),
                )
                .hint("no shipment may be imported from, or exported to, a non-Participant (KPCS III(c))"),
            );
        }
        for s in
            policy.suspensions.iter().filter(|s| &s.country == country && s.from <= *date && *date <= s.to)
        {
            self.err(Finding::error(
                Rule::Kp6,
                format!(
                    "{role} {country} was suspended from {} to {} ({}) and could not trade on {date}",
                    s.from, s.to, s.reason
                ),
            ));
        }
    }

    fn certificate(&mut self, signer: Option<&ActorState>, c: &kpledger_model::Certificate) {
        let date = self.ev.body.time.date();
        self.authority_of(signer, &c.issuing_country, "validate a KP certificate");
        // KP-7: the issuing authority printed is the one that validates, by its enrolled name.
        if let Some(s) = signer
            && s.record.name != c.issuing_authority
        {
            self.err(
                Finding::error(
                    Rule::Kp7,
                    format!(
                        "the certificate names the issuing authority {:?}, but it is validated by {}, enrolled as {:?}",
                        c.issuing_authority.as_str(),
                        s.record.id,
                        s.record.name.as_str()
                    ),
                )
                .actor(&s.record.id)
                .hint("the issuing authority's name is the validating authority's enrolled name"),
            );
        }
        // KP-1: Annex I fields.
        if c.title.as_str() != kpledger_model::event::KP_TITLE
            || c.statement.as_str() != kpledger_model::event::KP_STATEMENT
        {
            self.err(Finding::error(
                Rule::Kp1,
                "the certificate lacks the exact KP title and statement of Annex I (a)",
            ));
        }
        if !c.english_translation_present {
            self.err(Finding::error(Rule::Kp1, "the certificate has no English translation (Annex I)"));
        }
        for (empty, what) in [
            (c.lines.is_empty(), "carat and value lines"),
            (c.parcels.is_empty(), "parcels"),
            (c.container_seal_ids.is_empty(), "container seal numbers"),
        ] {
            if empty {
                self.err(Finding::error(Rule::Kp1, format!("the certificate lists no {what}")));
            }
        }
        // KP-2: number and uniqueness.
        if !c.number.as_str().starts_with(c.issuing_country.as_str()) {
            self.err(Finding::error(
                Rule::Kp2,
                format!(
                    "certificate number {} does not start with the issuing country's code {}",
                    c.number, c.issuing_country
                ),
            ));
        }
        if let Some(prior) = self.state.certificate(&c.number) {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "certificate number {} was already issued at {}; a number is used once",
                        c.number, prior.issued
                    ),
                )
                .hint("a recycled certificate number is a known forgery pattern"),
            );
        }
        let key = crate::state::import_key(&c.issuing_country, c.number.as_str());
        if let Some(prior) = self.state.certificate_by_key(&c.issuing_country, &key)
            && prior != c.number
        {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "certificate number {} is {prior}, already issued in this ledger, spelled otherwise; a number is used once",
                        c.number
                    ),
                )
                .hint("KP-2 compares numbers by their letters and digits, as for foreign certificates: a respelled number is a recycled one"),
            );
        }
        if let Some(prior) = self.state.foreign_import(&key) {
            self.err(Finding::error(
                Rule::Kp2,
                format!(
                    "certificate number {} was already admitted into this ledger as a foreign certificate (event {}); a number is used once",
                    c.number,
                    prior.short()
                ),
            ));
        }
        // KP-3: headings.
        for l in c.lines.iter().filter(|l| !l.hs_code.is_rough()) {
            self.err(Finding::error(
                Rule::Kp3,
                format!("HS code {} on the certificate is not rough diamonds", l.hs_code),
            ));
        }
        // KP-4: dates.
        if c.date_of_issue >= c.date_of_expiry {
            self.err(Finding::error(
                Rule::Kp4,
                format!(
                    "the certificate expires ({}) no later than it is issued ({})",
                    c.date_of_expiry, c.date_of_issue
                ),
            ));
        }
        if c.date_of_issue > date || c.date_of_expiry < date {
            self.err(Finding::error(
                Rule::Kp4,
                format!(
                    "the certificate is validated on {date}, outside its own dates {} to {}",
                    c.date_of_issue, c.date_of_expiry
                ),
            ));
        } else if c.date_of_issue < earliest_issue(&self.ev.body.time) {
            self.err(
                Finding::error(
                    Rule::Kp4,
                    format!(
                        "the certificate is dated {} but its validation was signed on {date}: a date of issue may precede the signed event by at most {ISSUE_SKEW_DAYS} day",
                        c.date_of_issue
                    ),
                )
                .hint("a backdated certificate escapes the suspensions, licences and revocations of the days in between; issue it with the date it is validated"),
            );
        }
        let policy = self.policy_for(
            Some(&c.issuing_country),
            Rule::Kp6,
            c.parcels.first().map_or(uuid_nil(), |r| r.parcel),
        );
        if let Some(pol) = &policy {
            // Judged on the day the validation is signed (the date of issue may not precede
            // it by more than the skew, above).
            self.participant(pol, &c.issuing_country, &date, "the issuing country");
            self.participant(pol, &c.importer.country, &date, "the destination");
        }
        if c.importer.country == c.issuing_country {
            self.err(
                Finding::error(
                    Rule::Kp6,
                    format!(
                        "the certificate sends the shipment from {} to {}: a KP certificate covers a shipment to another Participant",
                        c.issuing_country, c.importer.country
                    ),
                )
                .hint("trade inside a country is a handover; a certificate is for export"),
            );
        }
        self.bound_importer(&c.importer, None);
        // The parcels: sealed, chained, held by the exporter, listed once.
        let mut parcels = Vec::new();
        let mut seen = BTreeSet::new();
        for r in &c.parcels {
            if !seen.insert(r.parcel) {
                self.err(
                    Finding::error(Rule::Ch3, "the certificate lists the same parcel twice").parcel(r.parcel),
                );
                continue;
            }
            if let Some(p) = self.linked(r.parcel, r.prev, ParcelStatus::Sealed) {
                if p.holder != c.exporter.actor {
                    self.err(
                        Finding::error(
                            Rule::Ex3,
                            format!(
                                "the exporter {} does not hold the parcel; {} does",
                                c.exporter.actor, p.holder
                            ),
                        )
                        .parcel(p.id),
                    );
                }
                if p.value_usd_cents.is_none() {
                    self.err(Finding::error(Rule::Ex1, "the parcel has no official valuation").parcel(p.id));
                }
                if p.updated.date() > c.date_of_issue {
                    self.err(
                        Finding::error(
                            Rule::Kp4,
                            format!(
                                "the certificate is dated {} but the parcel was sealed on {}",
                                c.date_of_issue,
                                p.updated.date()
                            ),
                        )
                        .parcel(p.id),
                    );
                }
                parcels.push(p);
            }
        }
        // MB-5 and EX-1: totals.
        if c.parcel_count as usize != c.parcels.len() {
            self.err(Finding::error(
                Rule::Mb5,
                format!("the certificate states {} parcels but lists {}", c.parcel_count, c.parcels.len()),
            ));
        }
        // A certificate weighs nothing itself: its carats are exactly its parcels' weights as
        // last weighed (at sealing), so that it can never carry more than they do.
        // Exact sums (u128): a saturated or wrapped total could match a false one.
        let weight: u128 = parcels.iter().map(|p| u128::from(p.weight_pt.0)).sum();
        let stated: u128 = c.lines.iter().map(|l| u128::from(l.carats_pt.0)).sum();
        if stated != weight {
            self.err(
                Finding::error(
                    Rule::Mb5,
                    format!(
                        "the certificate states {} but its parcels weigh {}",
                        Points(c.carats()),
                        Points(u64::try_from(weight).unwrap_or(u64::MAX))
                    ),
                )
                .hint("carats inflated or deflated between the last weighing and the certificate"),
            );
        }
        let value: u128 = parcels.iter().filter_map(|p| p.value_usd_cents).map(|v| u128::from(v.0)).sum();
        let stated_value: u128 = c.lines.iter().map(|l| u128::from(l.value_usd_cents.0)).sum();
        if parcels.len() == c.parcels.len()
            && parcels.iter().all(|p| p.value_usd_cents.is_some())
            && stated_value != value
        {
            self.err(Finding::error(
                Rule::Ex1,
                format!(
                    "the certificate states {} but the official valuation of its parcels is {}",
                    Cents(c.value()),
                    Cents(u64::try_from(value).unwrap_or(u64::MAX))
                ),
            ));
        }
        self.lines_by_heading(c, &parcels);
        for p in &parcels {
            if !c.lines.iter().any(|l| l.hs_code == p.hs_code) {
                self.err(
                    Finding::error(
                        Rule::Kp3,
                        format!("the parcel's heading {} is not on the certificate", p.hs_code),
                    )
                    .parcel(p.id),
                );
            }
        }
        // KP-5: origin.
        let origins: BTreeSet<Country> =
            parcels.iter().flat_map(|p| p.origin_countries.iter().cloned()).collect();
        let unknown_origin = parcels.iter().any(|p| p.origin_unknown || p.origin_countries.is_empty());
        match &c.country_of_origin {
            kpledger_model::OriginClaim::Single(x) => {
                if unknown_origin || origins.len() > 1 || origins.iter().any(|o| o != x) {
                    let list: Vec<String> = origins.iter().map(ToString::to_string).collect();
                    self.err(Finding::error(
                        Rule::Kp5,
                        format!("the certificate claims single origin {x}, but the parcels' history shows origin {}", if unknown_origin { "partly unknown (mixed)".into() } else { list.join(" + ") }),
                    ).hint("a shipment with stones from more than one country must be certified as mixed origin"));
                }
            }
            kpledger_model::OriginClaim::Mixed => {
                if !unknown_origin && origins.len() == 1 {
                    self.err(Finding::warning(
                        Rule::Kp5,
                        format!("the certificate says mixed origin, but every parcel's history shows a single origin ({})", origins.iter().next().map_or("", |o| o.as_str())),
                    ).hint("mixed origin can hide provable origin (laundering through hubs)"));
                }
            }
        }
        // EX-3: the exporter.
        self.exporter(
            &c.exporter,
            &c.issuing_country,
            &date,
            policy.as_deref(),
            &parcels,
            &c.country_of_origin,
        );
        // KP-8 (soft).
        if let Some(pol) = &policy {
            let year = c.date_of_issue.year();
            let serial: Option<u64> = {
                let digits: String =
                    c.number.as_str().chars().rev().take_while(char::is_ascii_digit).collect();
                digits.chars().rev().collect::<String>().parse().ok()
            };
            if let Some(range) = pol.cert_number_ranges.iter().find(|r| r.year == year)
                && serial.is_none_or(|n| n < range.min || n > range.max)
            {
                self.err(Finding::warning(
                    Rule::Kp8,
                    format!("certificate number {} is outside {}'s {year} range {}..{}", c.number, pol.country, range.min, range.max),
                ).hint("compare the certificate with the specimen; numbers from another year's range mark forgeries"));
            }
        }
        let sealed: BTreeSet<&Text> = parcels.iter().flat_map(|p| p.seal_ids.iter()).collect();
        let on_cert: BTreeSet<&Text> = c.container_seal_ids.iter().collect();
        if !parcels.is_empty() && sealed != on_cert {
            self.err(Finding::warning(
                Rule::Kp8,
                "the container seal numbers on the certificate differ from those recorded at sealing",
            ));
        }
        for p in parcels {
            let mut p = p.into_owned();
            p.status = ParcelStatus::Certified;
            p.certificate = Some(c.number.clone());
            self.touch(&mut p);
            self.effects.push(Effect::PutParcel(p));
        }
        self.effects.push(Effect::PutCertificate(Box::new(CertificateState {
            certificate: c.clone(),
            event: self.hash,
            issued: self.ev.body.time.clone(),
            validated_by: self.ev.body.signer.clone(),
            exported: None,
            confirmed: None,
        })));
    }

    /// KP-3: each heading has one line, and that line's carats and value are exactly the
    /// sums over the certificate's parcels of that heading (each parcel's heading is the one
    /// its chain records: docs/SPEC.md §10.2), so that carats cannot move between headings.
    /// Judged only when every listed parcel was found and valued (MB-5, EX-1 and CH-1..4
    /// report the rest).
    fn lines_by_heading(&mut self, c: &kpledger_model::Certificate, parcels: &[Cow<'_, ParcelState>]) {
        let mut seen = BTreeSet::new();
        for l in &c.lines {
            if !seen.insert(&l.hs_code) {
                self.err(Finding::error(
                    Rule::Kp3,
                    format!("the certificate has more than one line for heading {}", l.hs_code),
                ));
            }
        }
        if parcels.len() != c.parcels.len() || parcels.iter().any(|p| p.value_usd_cents.is_none()) {
            return;
        }
        for l in &c.lines {
            let of: Vec<&ParcelState> =
                parcels.iter().map(|p| &**p).filter(|p| p.hs_code == l.hs_code).collect();
            let carats: u128 = of.iter().map(|p| u128::from(p.weight_pt.0)).sum();
            let value: u128 = of.iter().filter_map(|p| p.value_usd_cents).map(|v| u128::from(v.0)).sum();
            if carats != u128::from(l.carats_pt.0) || value != u128::from(l.value_usd_cents.0) {
                let pt = Points(u64::try_from(carats).unwrap_or(u64::MAX));
                let usd = Cents(u64::try_from(value).unwrap_or(u64::MAX));
                self.err(
                    Finding::error(
                        Rule::Kp3,
                        format!(
                            "the line for heading {} states {} and {}, but the certificate's parcels of that heading weigh {pt} and are valued {usd}",
                            l.hs_code, l.carats_pt, l.value_usd_cents
                        ),
                    )
                    .hint("each line must be the sum of the parcels of its heading, as their chains record it"),
                );
            }
        }
    }

    /// EX-3 at an export: the certificate's exporter is still enrolled, unrevoked and
    /// licensed on `date`.
    fn exporter_on(&mut self, x: &kpledger_model::CertExporter, date: &kpledger_model::Date, what: &str) {
        let Some(a) = self.state.actor(&x.actor) else {
            self.err(
                Finding::error(Rule::Ex3, format!("the exporter {} is not enrolled", x.actor))
                    .actor(&x.actor),
            );
            return;
        };
        if let Some(r) = &a.revoked {
            self.err(
                Finding::error(
                    Rule::Ex3,
                    format!(
                        "the exporter {} was revoked at {} ({}); its shipment cannot leave afterwards",
                        x.actor, r.time, r.reason
                    ),
                )
                .actor(&x.actor),
            );
        }
        match &a.record.licence {
            Some(l) if l.valid_on(date) => {}
            Some(l) => self.err(
                Finding::error(
                    Rule::Ex3,
                    format!(
                        "the shipment {what} on {date}, but the exporter's licence {} is valid from {} to {}",
                        l.number, l.valid_from, l.valid_to
                    ),
                )
                .actor(&x.actor)
                .hint("a certificate does not outlive its exporter's licence: renew the licence first"),
            ),
            None => self.err(
                Finding::error(Rule::Ex3, format!("the exporter {} holds no licence", x.actor))
                    .actor(&x.actor),
            ),
        }
    }

    /// IM-1: a certificate that names its importer's enrolment (`importer.actor`) names an
    /// enrolled, unrevoked trader of the destination whose enrolled name is the certificate's.
    /// With `holder`, an import confirmation's: the goods go to that importer — to the
    /// named actor, or when the certificate names none, to an actor enrolled under the
    /// certificate's importer name.
    fn bound_importer(
        &mut self,
        importer: &kpledger_model::CertImporter,
        holder: Option<(&ActorId, ParcelId)>,
    ) {
        if let Some((h, parcel)) = holder {
            let ok = match &importer.actor {
                Some(id) => id == h,
                None => self.state.actor(h).is_some_and(|a| a.record.name == importer.name),
            };
            if !ok {
                self.err(
                    Finding::error(
                        Rule::Im1,
                        format!(
                            "the confirmation gives custody to {h}, but the certificate's importer is {}",
                            importer
                                .actor
                                .as_ref()
                                .map_or_else(|| format!("{:?}", importer.name.as_str()), ToString::to_string)
                        ),
                    )
                    .parcel(parcel)
                    .actor(h)
                    .hint("custody after an import goes to the certificate's importer, by its enrolment"),
                );
            }
            return;
        }
        let Some(id) = &importer.actor else { return };
        let problem = match self.state.actor(id) {
            None => Some(format!("the certificate's importer {id} is not enrolled in this ledger")),
            Some(a) if a.record.name != importer.name || a.record.country != importer.country => {
                Some(format!(
                    "the certificate names importer {id} as {:?} of {}, but {id} is enrolled as {:?} of {}",
                    importer.name.as_str(),
                    importer.country,
                    a.record.name.as_str(),
                    a.record.country
                ))
            }
            Some(a) if !a.record.role.is_trade() || a.revoked.is_some() => {
                Some(format!("the certificate's importer {id} is not an unrevoked trader"))
            }
            Some(_) => None,
        };
        if let Some(msg) = problem {
            self.err(Finding::error(Rule::Im1, msg).actor(id));
        }
    }

    fn exporter(
        &mut self,
        x: &kpledger_model::CertExporter,
        country: &Country,
        date: &kpledger_model::Date,
        policy: Option<&Policy>,
        parcels: &[Cow<'_, ParcelState>],
        claim: &kpledger_model::OriginClaim,
    ) {
        let Some(a) = self.state.actor(&x.actor) else {
            self.err(
                Finding::error(Rule::Ex3, format!("the exporter {} is not enrolled", x.actor))
                    .actor(&x.actor),
            );
            return;
        };
        let r = &a.record;
        // EX-3: the exporter printed is the enrolled one, by name and address.
        if r.name != x.name {
            self.err(
                Finding::error(
                    Rule::Ex3,
                    format!(
                        "the certificate names the exporter {:?}, but {} is enrolled as {:?}",
                        x.name.as_str(),
                        r.id,
                        r.name.as_str()
                    ),
                )
                .actor(&r.id),
            );
        }
        match &r.address {
            Some(addr) if addr != &x.address => self.err(
                Finding::error(
                    Rule::Ex3,
                    format!(
                        "the certificate gives the exporter's address as {:?}, but {} is enrolled at {:?}",
                        x.address.as_str(),
                        r.id,
                        addr.as_str()
                    ),
                )
                .actor(&r.id),
            ),
            Some(_) => {}
            None => self.err(
                Finding::warning(
                    Rule::Ex3,
                    format!(
                        "{} was enrolled without an address, so the address {:?} on the certificate is not checked",
                        r.id,
                        x.address.as_str()
                    ),
                )
                .actor(&r.id)
                .hint("enrol exporters with their registered address (`kpledger actor enrol --address`)"),
            ),
        }
        if r.role != Role::Exporter || &r.country != country {
            self.err(
                Finding::error(
                    Rule::Ex3,
                    format!(
                        "{} is enrolled as {} in {}, not as a licensed exporter of {country}",
                        r.id, r.role, r.country
                    ),
                )
                .actor(&r.id),
            );
        }
        if a.revoked.is_some() {
            self.err(Finding::error(Rule::Ex3, format!("the exporter {} is revoked", r.id)).actor(&r.id));
        }
        match &r.licence {
            None => self.err(
                Finding::error(Rule::Ex3, format!("the exporter {} holds no licence", r.id)).actor(&r.id),
            ),
            Some(l) => {
                if !l.valid_on(date) {
                    self.err(
                        Finding::error(
                            Rule::Ex3,
                            format!(
                                "the exporter's licence {} is valid from {} to {}, not on {date}",
                                l.number, l.valid_from, l.valid_to
                            ),
                        )
                        .actor(&r.id)
                        .hint("the exporter must renew its licence before it can export"),
                    );
                }
                if l.number != x.licence_no {
                    self.err(
                        Finding::error(
                            Rule::Ex3,
                            format!(
                                "the certificate gives licence {} but the exporter's enrolled licence is {}",
                                x.licence_no, l.number
                            ),
                        )
                        .actor(&r.id),
                    );
                }
                if let Some(pol) = policy
                    && !pol.exporter_licence_classes.contains(&l.class)
                {
                    self.err(
                        Finding::error(
                            Rule::Ex3,
                            format!(
                                "licence class {:?} does not allow export from {}",
                                l.class.as_str(),
                                pol.country
                            ),
                        )
                        .actor(&r.id),
                    );
                }
            }
        }
        if policy.is_some_and(|p| p.conclusive_evidence_of_origin) {
            let claims_domestic = claim == &kpledger_model::OriginClaim::Single(country.clone());
            for p in parcels {
                // Mined there: every stone's recorded origin is this country, none unknown.
                let domestic = p.origin_countries.len() == 1
                    && p.origin_countries.contains(country)
                    && !p.origin_unknown;
                if !domestic && p.provenance.is_none() {
                    self.err(Finding::error(
                        Rule::Ex3,
                        format!("{country} requires conclusive evidence that each parcel was mined there or lawfully imported; this one was neither"),
                    ).parcel(p.id));
                } else if !domestic && claims_domestic {
                    self.err(
                        Finding::error(
                            Rule::Ex3,
                            format!("the certificate claims {country} origin, but this parcel's recorded origin is not {country} alone{}: there is no conclusive evidence that it was mined in {country}", if p.origin_unknown { " (part of it is of unknown origin)" } else { "" }),
                        )
                        .parcel(p.id)
                        .hint("imported stones keep their origin; certify the lot as mixed origin"),
                    );
                }
            }
        }
    }

    /// The certificate by number, or an error under `rule`.
    fn known_certificate(&mut self, number: &Text, rule: Rule) -> Option<CertificateState> {
        let c = self.state.certificate(number);
        if c.is_none() {
            self.err(Finding::error(rule, format!("no certificate {number} has been issued in this ledger")));
        }
        c
    }

    /// The event's parcel list must be exactly the certificate's.
    fn same_parcels(&mut self, refs: &[kpledger_model::ParcelRef], cert: &CertificateState, rule: Rule) {
        let a: BTreeSet<ParcelId> = refs.iter().map(|r| r.parcel).collect();
        let b: BTreeSet<ParcelId> = cert.certificate.parcels.iter().map(|r| r.parcel).collect();
        if a != b || a.len() != refs.len() {
            self.err(Finding::error(
                rule,
                format!(
                    "the parcels listed are not exactly those of certificate {}",
                    cert.certificate.number
                ),
            ));
        }
    }

    fn export(&mut self, signer: Option<&ActorState>, number: &Text, refs: &[kpledger_model::ParcelRef]) {
        let Some(mut cert) = self.known_certificate(number, Rule::Ex1) else { return };
        let c = cert.certificate.clone();
        self.require_role(signer, &[Role::Authority], "record an export");
        if signer.is_some_and(|s| s.record.country != c.issuing_country) {
            self.err(Finding::error(
                Rule::Ch2,
                format!("only {}'s authority records exports under its certificates", c.issuing_country),
            ));
        }
        if let Some(t) = &cert.exported {
            self.err(Finding::error(
                Rule::Kp2,
                format!("certificate {number} was already used for a shipment that left at {t}; a certificate covers one shipment"),
            ).hint("a certificate reused for a second shipment is a known fraud"));
        }
        let date = self.ev.body.time.date();
        if date < c.date_of_issue || date > c.date_of_expiry {
            self.err(
                Finding::error(
                    Rule::Kp4,
                    format!(
                        "the shipment leaves on {date}, outside certificate {number}'s validity {} to {}",
                        c.date_of_issue, c.date_of_expiry
                    ),
                )
                .hint("an expired certificate cannot cover an export; the authority must issue a new one"),
            );
        }
        // Each act is judged when it is recorded: the destination's standing and the
        // exporter's licence and enrolment on the day the shipment leaves.
        match self.state.policy_at(&c.issuing_country, &self.ev.body.time) {
            Some(pol) => {
                self.participant(&pol, &c.issuing_country, &date, "the issuing country");
                self.participant(&pol, &c.importer.country, &date, "the destination");
            }
            None => self.err(Finding::error(
                Rule::Kp6,
                format!("{} has no policy in this ledger, so the export cannot be judged", c.issuing_country),
            )),
        }
        self.exporter_on(&c.exporter, &date, "leaves");
        self.same_parcels(refs, &cert, Rule::Ch3);
        let mut moved = Vec::new();
        for r in refs {
            if let Some(mut p) = self.linked(r.parcel, r.prev, ParcelStatus::Certified).map(Cow::into_owned) {
                if p.certificate.as_ref() != Some(number) {
                    self.err(
                        Finding::error(Rule::Ch3, format!("the parcel is not on certificate {number}"))
                            .parcel(p.id),
                    );
                }
                p.status = ParcelStatus::Exported;
                p.provenance = Some(c.issuing_country.clone());
                self.touch(&mut p);
                moved.push(p);
            }
        }
        for p in moved {
            self.effects.push(Effect::PutParcel(p));
        }
        cert.exported = Some(self.ev.body.time.clone());
        self.effects.push(Effect::PutCertificate(Box::new(cert)));
    }

    #[allow(clippy::too_many_arguments)]
    fn transit(
        &mut self,
        signer: Option<&ActorState>,
        number: &Text,
        country: &Country,
        refs: &[kpledger_model::ParcelRef],
        [seals_in, seals_out]: [&Vec<Text>; 2],
        [carats_in, carats_out]: [Points; 2],
        [count_in, count_out]: [u32; 2],
        opened: bool,
    ) {
        let Some(cert) = self.known_certificate(number, Rule::Tr1) else { return };
        let c = &cert.certificate;
        self.require_role(signer, &[Role::Authority], "record a transit");
        if signer.is_some_and(|s| &s.record.country != country) {
            self.err(Finding::error(
                Rule::Ch2,
                format!("only {country}'s authority records transits through {country}"),
            ));
        }
        if cert.exported.is_none() || cert.confirmed.is_some() {
            self.err(Finding::error(
                Rule::Tr1,
                format!(
                    "certificate {number}'s shipment is not on its way (not exported, or already received)"
                ),
            ));
        }
        if let Some(pol) = self.state.policy_at(&c.issuing_country, &self.ev.body.time) {
            self.participant(&pol, country, &self.ev.body.time.date(), "the transit country");
        }
        let cert_seals: BTreeSet<&Text> = c.container_seal_ids.iter().collect();
        let (sin, sout): (BTreeSet<&Text>, BTreeSet<&Text>) =
            (seals_in.iter().collect(), seals_out.iter().collect());
        // The tolerance of the issuing country, once for the shipment; carats never grow.
        let tol = self
            .state
            .policy_at(&c.issuing_country, &self.ev.body.time)
            .map_or(DEFAULT_TOLERANCE_PT, |p| p.tolerance_pt);
        let mut moved = Vec::new();
        for r in refs {
            if let Some(p) = self.linked(r.parcel, r.prev, ParcelStatus::Exported).map(Cow::into_owned) {
                moved.push(p);
            }
        }
        let whole = moved.len() == c.parcels.len();
        let carried = carry_reading(&mut moved, carats_out);
        let mut problems = Vec::new();
        if opened {
            problems.push("the container was opened".to_owned());
        }
        if sin != sout || sin != cert_seals {
            problems.push("the seals on exit are not the seals on entry and on the certificate".to_owned());
        }
        if carats_in != carats_out
            || carats_in.0 > c.carats()
            || c.carats() - carats_in.0 > tol
            || (whole && u128::from(carats_in.0) > carried)
        {
            problems.push(format!(
                "{carats_in} entered, {carats_out} left, the certificate states {}, the shipment carried {} as last weighed",
                Points(c.carats()),
                Points(u64::try_from(carried).unwrap_or(u64::MAX))
            ));
        }
        if count_in != count_out || count_in != c.parcel_count {
            problems.push(format!(
                "{count_in} parcels entered, {count_out} left, the certificate states {}",
                c.parcel_count
            ));
        }
        for p in problems {
            self.err(Finding::error(
                Rule::Tr1,
                format!("the shipment did not leave {country} as it entered: {p}"),
            ));
        }
        self.same_parcels(refs, &cert, Rule::Tr1);
        for mut p in moved {
            self.touch(&mut p);
            self.effects.push(Effect::PutParcel(p));
        }
    }

    /// The actor taking custody of imported goods: enrolled, in the importing country, licensed.
    fn importer(
        &mut self,
        holder: &ActorId,
        country: Option<&Country>,
        parcel: ParcelId,
    ) -> Option<Cow<'a, ActorState>> {
        let state: &'a S = self.state;
        let Some(h) = state.actor(holder) else {
            self.err(
                Finding::error(Rule::Ch2, format!("the importer {holder} is not enrolled")).parcel(parcel),
            );
            return None;
        };
        if !h.record.role.is_trade() || country.is_some_and(|c| c != &h.record.country) || h.revoked.is_some()
        {
            self.err(
                Finding::error(
                    Rule::Im1,
                    format!("{holder} is not a licensed trader of the importing country"),
                )
                .parcel(parcel),
            );
        }
        self.licence_valid(&h, Rule::Im1, Some(parcel));
        Some(h)
    }

    /// IM-1, the shipment against its certificate: the importer admits exactly the parcels the
    /// certificate counts, under exactly its headings; no heading gets more carats than the
    /// certificate's line for it (no event adds weight, and carats moved from one heading to
    /// another are carats added to the second), and the shipment is short of the certificate
    /// by no more than the importing country's tolerance, counted once for the shipment.
    fn import_shipment(
        &mut self,
        shipment: &[kpledger_model::ImportParcel],
        c: &kpledger_model::ForeignCertificate,
        country: Option<&Country>,
    ) {
        let Some(first) = shipment.first().map(|p| p.parcel) else { return };
        let tol = country
            .and_then(|c| self.state.policy_at(c, &self.ev.body.time))
            .map_or(DEFAULT_TOLERANCE_PT, |p| p.tolerance_pt);
        let shown = |x: u128| Points(u64::try_from(x).unwrap_or(u64::MAX));
        if u64::try_from(shipment.len()).ok() != Some(u64::from(c.parcel_count)) {
            self.err(
                Finding::error(
                    Rule::Im1,
                    format!(
                        "{} parcel(s) admitted, but the foreign certificate counts {}",
                        shipment.len(),
                        c.parcel_count
                    ),
                )
                .parcel(first)
                .hint("an import admits the certificate's whole shipment, each parcel as counted on it, in one event"),
            );
        }
        // Carats per heading, on the certificate (lines under one heading add up) and admitted.
        let mut certified: BTreeMap<&kpledger_model::HsCode, u128> = BTreeMap::new();
        for l in &c.lines {
            *certified.entry(&l.hs_code).or_default() += u128::from(l.carats_pt.0);
        }
        let mut admitted: BTreeMap<&kpledger_model::HsCode, u128> = BTreeMap::new();
        for p in shipment {
            if p.stones > MAX_STONES {
                self.err(
                    Finding::error(Rule::Im1, format!("{} stones in one parcel is not plausible", p.stones))
                        .parcel(p.parcel),
                );
            }
            if !certified.contains_key(&p.hs_code) {
                self.err(
                    Finding::error(
                        Rule::Im1,
                        format!("the parcel's heading {} is not on the foreign certificate", p.hs_code),
                    )
                    .parcel(p.parcel)
                    .hint("each parcel is admitted under a heading the certificate lists"),
                );
            }
            *admitted.entry(&p.hs_code).or_default() += u128::from(p.weight_pt.0);
        }
        let mut short: u128 = 0;
        for (hs, &line) in &certified {
            let got = admitted.get(hs).copied().unwrap_or(0);
            if got == 0 {
                self.err(
                    Finding::error(
                        Rule::Im1,
                        format!(
                            "the foreign certificate's line {hs} ({}) is covered by no parcel admitted",
                            shown(line)
                        ),
                    )
                    .parcel(first)
                    .hint("every line of the certificate is part of the shipment: admit its parcels under their own heading"),
                );
            }
            if got > line {
                self.err(
                    Finding::error(
                        Rule::Im1,
                        format!(
                            "{} admitted under {hs} on receipt, but the foreign certificate covers only {} of it",
                            shown(got),
                            shown(line)
                        ),
                    )
                    .parcel(first)
                    .hint(format!(
                        "no event adds weight, and carats of one heading are not carats of another: record at most {} under {hs}, the lower figure when scales differ",
                        shown(line)
                    )),
                );
            } else {
                short += line - got;
            }
        }
        if short > u128::from(tol) {
            let total: u128 = certified.values().sum();
            self.err(
                Finding::error(
                    Rule::Im1,
                    format!(
                        "the shipment is {} short of the {} the foreign certificate states: stones are missing",
                        shown(short),
                        shown(total)
                    ),
                )
                .parcel(first)
                .hint("a shipment short of its certificate beyond the tolerance is not admitted; report the discrepancy to the exporting authority"),
            );
        }
    }

    fn import(
        &mut self,
        signer: Option<&ActorState>,
        shipment: &[kpledger_model::ImportParcel],
        holder: &ActorId,
        c: &kpledger_model::ForeignCertificate,
    ) {
        // Findings about the shipment as a whole name its first parcel (there always is one).
        let Some(parcel) = shipment.first().map(|p| p.parcel) else { return };
        let mut seen = BTreeSet::new();
        for p in shipment {
            self.fresh(p.parcel);
            if !seen.insert(p.parcel) {
                self.err(
                    Finding::error(Rule::Ch3, "an import names the same new parcel twice").parcel(p.parcel),
                );
            }
        }
        self.require_role(signer, &[Role::Authority], "admit an import");
        let country = signer.map(|s| s.record.country.clone());
        if country.as_ref() == Some(&c.issuing_country) {
            self.err(
                Finding::error(
                    Rule::Im1,
                    "an import comes from another country than the importing authority's",
                )
                .parcel(parcel),
            );
        }
        let date = self.ev.body.time.date();
        if !c.number.as_str().starts_with(c.issuing_country.as_str()) {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "foreign certificate number {} does not start with {}",
                        c.number, c.issuing_country
                    ),
                )
                .parcel(parcel),
            );
        }
        if c.lines.is_empty() {
            self.err(
                Finding::error(Rule::Kp1, "the foreign certificate lists no carat and value lines")
                    .parcel(parcel),
            );
        }
        for l in c.lines.iter().filter(|l| !l.hs_code.is_rough()) {
            self.err(
                Finding::error(
                    Rule::Kp3,
                    format!("HS code {} on the foreign certificate is not rough diamonds", l.hs_code),
                )
                .parcel(parcel),
            );
        }
        // KP-3: every parcel admitted is rough diamonds (whether its heading is on the
        // certificate is IM-1's, below).
        for p in shipment.iter().filter(|p| !p.hs_code.is_rough()) {
            self.err(
                Finding::error(
                    Rule::Kp3,
                    format!("the parcel's heading {} is not rough diamonds", p.hs_code),
                )
                .parcel(p.parcel),
            );
        }
        // KP-2: a foreign certificate is admitted once per ledger (compared by `import_key`,
        // so that case or punctuation cannot make it look new), and a certificate issued in
        // this ledger comes back only by its import confirmation.
        let key = crate::state::import_key(&c.issuing_country, c.number.as_str());
        let prior = self.state.foreign_import(&key);
        if let Some(prior) = prior {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "foreign certificate {} of {} was already admitted by event {}; a certificate covers one shipment",
                        c.number,
                        c.issuing_country,
                        prior.short()
                    ),
                )
                .parcel(parcel)
                .hint("a certificate presented twice is a known fraud: the second shipment has no certificate of its own"),
            );
        }
        if self.state.certificate(&c.number).is_some()
            || self
                .state
                .certificate_numbers(&c.issuing_country)
                .iter()
                .any(|n| crate::state::import_key(&c.issuing_country, n.as_str()) == key)
        {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "certificate {} was issued in this ledger; its shipment is received by an import confirmation, not admitted again as an import",
                        c.number
                    ),
                )
                .parcel(parcel),
            );
        }
        // A member country records its certificates here: once an authority of that country
        // (the root, when it is enrolled with it) has published its policy in this ledger, a
        // certificate of that country dated since is received by its import confirmation, and
        // one that is not recorded here was never issued.
        let state: &'a S = self.state;
        if let Some(h) = state.policy_history(&c.issuing_country)
            && let Some(first) = h
                .entries
                .iter()
                .find(|e| state.actor(&e.by).is_some_and(|a| a.record.country == c.issuing_country))
            && c.date_of_issue >= first.time.date()
            && self.state.certificate_by_key(&c.issuing_country, &key).is_none()
        {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "{} records its KP certificates in this ledger (its authority {} published its policy here on {}), \
                         but certificate {} dated {} is not recorded here: it was never issued",
                        c.issuing_country,
                        first.by,
                        first.time.date(),
                        c.number,
                        c.date_of_issue
                    ),
                )
                .parcel(parcel)
                .hint("a member country's shipment is received by the import confirmation of its certificate, never admitted on paper"),
            );
        }
        if date < c.date_of_issue || date > c.date_of_expiry {
            self.err(
                Finding::error(
                    Rule::Kp4,
                    format!(
                        "received on {date}, outside the foreign certificate's validity {} to {}",
                        c.date_of_issue, c.date_of_expiry
                    ),
                )
                .parcel(parcel),
            );
        }
        if let Some(pol) = self.policy_for(country.as_ref(), Rule::Kp6, parcel) {
            self.participant(&pol, &c.issuing_country, &date, "the exporting country");
            // A suspended Participant receives no rough while suspended, as it sends none.
            if let Some(importing) = &country {
                self.participant(&pol, importing, &date, "the importing country");
            }
        }
        self.import_shipment(shipment, c, country.as_ref());
        let h = self.importer(holder, country.as_ref(), parcel);
        if let Some(h) = &h
            && h.record.name != c.importer
        {
            self.err(
                Finding::error(
                    Rule::Im1,
                    format!(
                        "the foreign certificate names the importer {:?}, not {:?}",
                        c.importer.as_str(),
                        h.record.name.as_str()
                    ),
                )
                .parcel(parcel),
            );
        }
        if prior.is_none() {
            self.effects.push(Effect::PutImport { key, event: self.hash });
        }
        // A mixed-origin certificate that names fewer than two countries leaves part of the
        // stones' origin unknown: the explicit unknown member of the origin set.
        let (origin_countries, origin_unknown): (BTreeSet<Country>, bool) = match &c.country_of_origin {
            kpledger_model::OriginClaim::Single(x) => (BTreeSet::from([x.clone()]), false),
            kpledger_model::OriginClaim::Mixed => {
                let listed: BTreeSet<Country> = c.countries_of_origin.iter().cloned().collect();
                let unknown = listed.len() < 2;
                (listed, unknown)
            }
        };
        for p in shipment {
            self.effects.push(Effect::PutParcel(ParcelState {
                id: p.parcel,
                weight_pt: p.weight_pt,
                stones: Some(p.stones),
                hs_code: p.hs_code.clone(),
                origin_countries: origin_countries.clone(),
                origin_unknown,
                origin_sites: BTreeSet::new(),
                holder: holder.clone(),
                status: ParcelStatus::Open,
                head: self.hash,
                updated: self.ev.body.time.clone(),
                value_usd_cents: None,
                seal_ids: Vec::new(),
                certificate: Some(c.number.clone()),
                provenance: Some(c.issuing_country.clone()),
            }));
        }
    }

    fn confirm_import(&mut self, signer: Option<&ActorState>, m: &kpledger_model::ImportConfirmation) {
        let first = m.parcels.first().map_or(uuid_nil(), |r| r.parcel);
        let Some(mut cert) = self.known_certificate(&m.certificate, Rule::Im1) else { return };
        let c = cert.certificate.clone();
        self.require_role(signer, &[Role::Authority], "confirm an import");
        if signer.is_some_and(|s| s.record.country == c.issuing_country) {
            self.err(Finding::error(
                Rule::Im1,
                format!(
                    "an authority of {}, the issuing country, cannot confirm receipt under its own certificate {}",
                    c.issuing_country, c.number
                ),
            ));
        } else if signer.is_some_and(|s| s.record.country != c.importer.country) {
            self.err(Finding::error(
                Rule::Ch2,
                format!(
                    "only the importing authority of {} confirms receipt under {}",
                    c.importer.country, c.number
                ),
            ));
        }
        if cert.exported.is_none() {
            self.err(Finding::error(
                Rule::Im1,
                format!("certificate {}'s shipment was never exported", c.number),
            ));
        }
        if let Some(t) = &cert.confirmed {
            self.err(Finding::error(
                Rule::Im1,
                format!("receipt under certificate {} was already confirmed at {t}", c.number),
            ));
        }
        // The importing country's tolerance, once for the shipment; carats never grow.
        let tol = self
            .state
            .policy_at(&c.importer.country, &self.ev.body.time)
            .map_or(DEFAULT_TOLERANCE_PT, |p| p.tolerance_pt);
        let mut moved = Vec::new();
        for r in &m.parcels {
            if let Some(p) = self.linked(r.parcel, r.prev, ParcelStatus::Exported).map(Cow::into_owned) {
                moved.push(p);
            }
        }
        let whole = moved.len() == c.parcels.len();
        let carried = carry_reading(&mut moved, m.carats_pt);
        let mut mismatches = Vec::new();
        if whole && u128::from(m.carats_pt.0) > carried {
            mismatches.push(format!(
                "{} received, more than the {} the shipment carried as last weighed (at a transit): no event adds weight",
                m.carats_pt,
                Points(u64::try_from(carried).unwrap_or(u64::MAX))
            ));
        }
        if m.parcel_count != c.parcel_count {
            mismatches.push(format!(
                "{} parcels received, the certificate states {}",
                m.parcel_count, c.parcel_count
            ));
        }
        if m.carats_pt.0 > c.carats() {
            mismatches.push(format!(
                "{} received, more than the {} the certificate states (no event adds weight: record the lower figure)",
                m.carats_pt,
                Points(c.carats())
            ));
        } else if c.carats() - m.carats_pt.0 > tol {
            mismatches.push(format!(
                "{} received, the certificate states {}",
                m.carats_pt,
                Points(c.carats())
            ));
        }
        if m.importer != c.importer.name {
            mismatches.push(format!(
                "importer {:?}, the certificate names {:?}",
                m.importer.as_str(),
                c.importer.name.as_str()
            ));
        }
        if m.exporter != c.exporter.name {
            mismatches.push(format!(
                "exporter {:?}, the certificate names {:?}",
                m.exporter.as_str(),
                c.exporter.name.as_str()
            ));
        }
        if !m.seal_intact {
            mismatches.push("the container's seals were not intact".to_owned());
        }
        if m.date_of_receipt > self.ev.body.time.date()
            || cert.exported.as_ref().is_some_and(|t| m.date_of_receipt < t.date())
        {
            mismatches.push(format!(
                "received on {}, before the shipment left or after this confirmation",
                m.date_of_receipt
            ));
        }
        for x in mismatches {
            self.err(
                Finding::error(
                    Rule::Im1,
                    format!("the import confirmation does not match certificate {}: {x}", c.number),
                )
                .parcel(first),
            );
        }
        self.same_parcels(&m.parcels, &cert, Rule::Im1);
        self.importer(&m.holder, Some(&c.importer.country), first);
        self.bound_importer(&c.importer, Some((&m.holder, first)));
        for mut p in moved {
            p.status = ParcelStatus::Open;
            p.holder = m.holder.clone();
            p.seal_ids.clear();
            p.value_usd_cents = None;
            self.touch(&mut p);
            self.effects.push(Effect::PutParcel(p));
        }
        cert.confirmed = Some(self.ev.body.time.clone());
        self.effects.push(Effect::PutCertificate(Box::new(cert)));
    }
}

/// The weight a shipment's parcels carry in all, before `reading`; then, the lower reading
/// being the one carried (docs/SPEC.md §10.1), what `reading` finds short of it comes off the
/// parcels, in the order given, none below one point. A transit and an import confirmation
/// weigh the whole sealed shipment, not each parcel.
fn carry_reading(parcels: &mut [ParcelState], reading: Points) -> u128 {
    let carried: u128 = parcels.iter().map(|p| u128::from(p.weight_pt.0)).sum();
    let mut short = carried.saturating_sub(u128::from(reading.0));
    for p in parcels {
        let take = u64::try_from(short).unwrap_or(u64::MAX).min(p.weight_pt.0.saturating_sub(1));
        p.weight_pt = Points(p.weight_pt.0 - take);
        short -= u128::from(take);
    }
    carried
}

/// How many days a certificate's date of issue may precede the day its validation is
/// signed (time zones: a certificate dated in the issuer's local day may be signed on the
/// next UTC day).
pub const ISSUE_SKEW_DAYS: i64 = 1;

/// The earliest date of issue a certificate validated at `t` may carry.
fn earliest_issue(t: &kpledger_model::Time) -> kpledger_model::Date {
    kpledger_model::Time::from_unix(t.unix() - ISSUE_SKEW_DAYS * 86_400).date()
}

fn uuid_nil() -> ParcelId {
    ParcelId::nil()
}
