//! The event rules: one signed event against the state before it.

mod actors;
mod certificate;
mod custody;
mod shipment;

use std::borrow::Cow;

use kpledger_model::sign::{self, BatchKeys, SigMode};
use kpledger_model::{Cents, Event, Hash, ParcelId, ParsedEvent, Payload, Points, Policy, Role};

use crate::finding::{Finding, Rule};
use crate::state::{Effect, ParcelState, ParcelStatus, Revocation, State};

/// Weighing tolerance when a country has no policy: 0.01 ct, once per event.
pub(crate) const DEFAULT_TOLERANCE_PT: u64 = 1;

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
        Self::check_all_in(events, mode, &BatchKeys::default())
    }

    /// As [`Signatures::check_all`], keeping what a batch learns about keys in `keys`, which
    /// the caller owns for the whole run (see [`BatchKeys`]).
    pub fn check_all_in(events: &[&ParsedEvent], mode: SigMode, keys: &BatchKeys) -> Vec<Signatures> {
        let mut checks = Vec::with_capacity(events.len() * 2);
        // Per event: where its own check sits in `checks`, and its offer's (`None` inside: an
        // offer that cannot be hashed, which is a bad signature).
        let mut slots = Vec::with_capacity(events.len());
        for ev in events {
            let (own, offer) = ev.signature_checks();
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
        let ok = sign::verify_all_in(&checks, mode, keys);
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
            Payload::Extraction { .. } => self.extraction(signer.as_deref()),
            Payload::Handover { offer, weight_pt } => self.handover(signer.as_deref(), offer, *weight_pt),
            Payload::Split { parcel, prev, outputs } => {
                self.split(signer.as_deref(), *parcel, *prev, outputs)
            }
            Payload::Merge { inputs, output } => self.merge(signer.as_deref(), inputs, output),
            Payload::Valuation { .. } => self.valuation(signer.as_deref()),
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
            Payload::Transit { .. } => self.transit(signer.as_deref()),
            Payload::Import { holder, certificate, .. } => {
                self.import(signer.as_deref(), &self.ev.body.payload.import_parcels(), holder, certificate)
            }
            Payload::ImportConfirmation { confirmation } => {
                self.confirm_import(signer.as_deref(), confirmation)
            }
        }
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
pub(crate) const ISSUE_SKEW_DAYS: i64 = 1;

/// The earliest date of issue a certificate validated at `t` may carry.
fn earliest_issue(t: &kpledger_model::Time) -> kpledger_model::Date {
    kpledger_model::Time::from_unix(t.unix() - ISSUE_SKEW_DAYS * 86_400).date()
}

fn uuid_nil() -> ParcelId {
    ParcelId::nil()
}
