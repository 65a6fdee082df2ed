//! Genesis, signers and their roles, country policies, enrolment, key rotation and
//! revocation: who may sign what.

use std::borrow::Cow;

use kpledger_model::{ActorId, Country, Event, ParcelId, Policy, Role};

use crate::finding::{Finding, Rule};
use crate::state::{ActorState, Effect, ImposedKey, State};

use super::{Cx, DEFAULT_TOLERANCE_PT};

impl<'a, S: State> Cx<'a, S> {
    pub(super) fn genesis(&mut self, authority: &kpledger_model::ActorRecord) {
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
    pub(super) fn signer(&mut self) -> Option<Cow<'a, ActorState>> {
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

    pub(super) fn require_role(&mut self, signer: Option<&ActorState>, roles: &[Role], what: &str) -> bool {
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
    pub(super) fn require_authority_for(
        &mut self,
        signer: Option<&ActorState>,
        country: &Country,
        what: &str,
    ) {
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

    pub(super) fn policy(&mut self, signer: Option<&ActorState>, policy: &Policy) {
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

    pub(super) fn enrol(&mut self, signer: Option<&ActorState>, actor: &kpledger_model::ActorRecord) {
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
    pub(super) fn rotate_key(
        &mut self,
        signer: Option<&ActorState>,
        actor: &ActorId,
        key: &kpledger_model::PublicKey,
    ) {
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
    pub(super) fn imposed(&mut self, a: &ActorState, what: &str) {
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

    pub(super) fn governed_actor(
        &mut self,
        signer: Option<&ActorState>,
        id: &ActorId,
    ) -> Option<Cow<'a, ActorState>> {
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
    pub(super) fn policy_for(
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
    pub(super) fn tolerance(&mut self, country: Option<&Country>, rule: Rule, parcel: ParcelId) -> u64 {
        self.policy_for(country, rule, parcel).map_or(DEFAULT_TOLERANCE_PT, |p| p.tolerance_pt)
    }
}
