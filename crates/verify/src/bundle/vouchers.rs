//! KP-7 against the trust policy: who vouches for each certificate and each registration the
//! provenance rests on.

use crate::finding::{Finding, Rule};
use crate::trust::{Quorum, TrustPolicy};
use kpledger_model::{Payload, PublicKey};
use std::collections::{BTreeMap, BTreeSet};

/// KP-7 against the trust policy, for a bundle or a whole ledger: the acts that vouch for a
/// certificate must be by an authority the policy pins, by actor id and key, for the country
/// the act is for. Those acts are the validation of a certificate (for its issuing country),
/// the admission of a foreign certificate at import (for the importing country, the signer's:
/// the lot's lawful-import provenance rests on it as an export rests on its certificate,
/// KPCS Section IV), and the registrations the provenance rests on: the enrolment of a trader
/// or valuer, the registration of a mine site, and a key imposed on a trader or valuer by
/// someone else (each for its country: KPCS Section IV (a) makes the internal controls the
/// country's own). Fed every event in log order ([`Vouchers::observe`]); the ledger's own
/// enrolments decide nothing here: a root authority (or anyone holding the log key) can enrol
/// any "authority" it likes in its own ledger, and its genesis names a country of its own.
#[derive(Debug, Default)]
pub struct Vouchers {
    /// The log's origin, from its genesis.
    origin: Option<kpledger_model::Origin>,
    /// Each enrolled actor's country (an importing authority acts for its own).
    countries: BTreeMap<kpledger_model::ActorId, kpledger_model::Country>,
    /// The root authority and the keys it has held (genesis key, then each rotation).
    root: Option<kpledger_model::ActorId>,
    root_keys: Vec<PublicKey>,
    /// Each enrolled actor's role.
    roles: BTreeMap<kpledger_model::ActorId, kpledger_model::Role>,
    /// (log position, what, its number or id, country, signer, key).
    acts: Vec<(u64, Act, String, kpledger_model::Country, kpledger_model::ActorId, PublicKey)>,
}

/// An act that vouches for a country's trade, and so must be by an authority the trust policy
/// pins for that country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    /// The validation of a certificate (for its issuing country).
    Certificate,
    /// The admission of a foreign certificate's shipment (for the importing country).
    Import,
    /// The enrolment of a trader or valuer (for the actor's country).
    Enrolment,
    /// The registration of a mine site (for the site's country).
    Site,
    /// A key imposed on a trader or valuer by someone else (for the actor's country).
    ImposedKey,
}

impl Vouchers {
    /// Takes note of the event at log position `seq`.
    pub fn observe(&mut self, seq: u64, ev: &kpledger_model::ParsedEvent) {
        let (signer, key) = (&ev.event.body.signer, ev.event.sig.key);
        // The act this event is, if it vouches for a country: what, its number or id, the country.
        let act = match &ev.event.body.payload {
            Payload::Genesis { authority } if self.root.is_none() => {
                self.origin = Some(ev.event.body.ledger.clone());
                self.root = Some(authority.id.clone());
                self.root_keys.push(authority.key);
                self.countries.insert(authority.id.clone(), authority.country.clone());
                None
            }
            Payload::Enrol { actor } => {
                self.countries.entry(actor.id.clone()).or_insert_with(|| actor.country.clone());
                self.roles.insert(actor.id.clone(), actor.role);
                // A trader or valuer exists for a country only on that country's authority's
                // word: a root that enrolled a miner of its own could mint provenance.
                (actor.role != kpledger_model::Role::Authority)
                    .then(|| (Act::Enrolment, actor.id.to_string(), actor.country.clone()))
            }
            Payload::Site { site } => Some((Act::Site, site.id.to_string(), site.country.clone())),
            Payload::RotateKey { actor, key: new } => {
                if self.root.as_ref() == Some(actor) && !self.root_keys.contains(new) {
                    self.root_keys.push(*new);
                }
                let trader = self.roles.get(actor).is_some_and(|r| *r != kpledger_model::Role::Authority);
                self.countries
                    .get(actor)
                    .filter(|_| trader && actor != signer)
                    .map(|country| (Act::ImposedKey, actor.to_string(), country.clone()))
            }
            Payload::Certificate { certificate: c } => {
                Some((Act::Certificate, c.number.to_string(), c.issuing_country.clone()))
            }
            // An unenrolled signer is CH-2 already.
            Payload::Import { certificate: c, .. } => {
                self.countries.get(signer).map(|country| (Act::Import, c.number.to_string(), country.clone()))
            }
            _ => None,
        };
        if let Some((what, id, country)) = act {
            self.acts.push((seq, what, id, country, signer.clone(), key));
        }
    }

    /// LOG-3/LOG-4 for a whole ledger judged under `policy`, as for a bundle (docs/SPEC.md
    /// §14.3): its newest stored checkpoint, `newest` (a signed note with its cosignatures),
    /// must carry the cosignatures of the policy's quorum of witnesses, each verified with the
    /// policy's key (a key the root has held counts for nothing); with `quorum none`, the
    /// verdict carries LOG-4. The checkpoint's own signature is whole-ledger verification's to
    /// judge (LOG-2). Without this, a ledger file no witness ever saw (a history rewritten by
    /// its root) verified under a policy that requires witnesses, and said nothing about it.
    pub fn check_witnesses(&self, policy: &TrustPolicy, newest: Option<&str>) -> Vec<Finding> {
        use kpledger_model::note::{SigType, VerifierKey, open_checkpoint};
        let Some(origin) = self.origin.as_ref().map(|o| o.as_str()) else { return Vec::new() };
        let keys: Vec<VerifierKey> = policy.witness_keys();
        let log_key = newest.and_then(|note| {
            self.root_keys.iter().find_map(|k| {
                let vk = VerifierKey::new(origin, SigType::Ed25519, *k).ok()?;
                open_checkpoint(note.as_bytes(), origin, &vk, &[]).ok().map(|_| vk)
            })
        });
        let mut cosigned = BTreeSet::new();
        if let (Some(note), Some(vk)) = (newest, &log_key) {
            match open_checkpoint(note.as_bytes(), origin, vk, &keys) {
                Ok(opened) => {
                    for c in opened.cosignatures() {
                        if self.root_keys.contains(c.key().public_key()) {
                            continue;
                        }
                        if let Some(i) = policy.witness_index(c.key()) {
                            cosigned.insert(i);
                        }
                    }
                }
                Err(e) => {
                    return vec![Finding::error(
                        Rule::Log3,
                        format!("a cosignature by a witness of the trust policy does not verify: {e}"),
                    )];
                }
            }
        }
        if policy.quorum() == Quorum::None {
            vec![Finding::warning(
                Rule::Log4,
                "not witnessed: the trust policy requires no witness (`quorum none`), so nothing shows that this \
                 history was shown to anyone else",
            )]
        } else if !policy.quorum_met(&cosigned) {
            let q = policy.quorum_text();
            let msg = match newest {
                Some(_) => format!(
                    "not witnessed: the ledger's newest checkpoint lacks the cosignatures of the trust policy's quorum of \
                     witnesses, {q} ({} of its witnesses cosigned)",
                    cosigned.len()
                ),
                None => format!(
                    "not witnessed: the ledger has no checkpoint, so no witness of the trust policy ({q}) cosigned its history"
                ),
            };
            vec![Finding::error(Rule::Log3, msg).hint(
                "publish a checkpoint and store the witnesses' cosignatures (`kpledger log publish`, `kpledger log cosignatures`)",
            )]
        } else {
            Vec::new()
        }
    }

    /// The KP-7 findings for the acts observed that `policy` does not trust.
    pub fn check(&self, policy: &TrustPolicy) -> Vec<Finding> {
        let mut out = Vec::new();
        for (pos, what, number, country, signer, key) in &self.acts {
            let pinned: Vec<&crate::trust::IssuerPin> = policy.issuers_for(country).collect();
            if pinned.iter().any(|p| &p.actor == signer && p.key.public_key() == key) {
                continue;
            }
            // A key trusted without a role (`--trust`) vouches for a certificate only in the
            // hands of an authority that is not the log's root: the root's keys anchor the log,
            // and one key anchoring both would let its holder forge a whole ledger and its
            // certificates.
            let bare = policy.keys().contains(key);
            if bare && !self.root_keys.contains(key) {
                continue;
            }
            let trusted = if bare {
                format!(
                    "that key is one the log's root authority holds: the key that anchors a log never also vouches for a \
                     certificate in it, so {country}'s certificates need the key of {country}'s own authority"
                )
            } else if !policy.keys().is_empty() {
                "that key is not among the keys given with --trust".to_owned()
            } else if pinned.is_empty() {
                format!("the trust policy trusts no authority for {country}")
            } else {
                let list: Vec<String> = pinned
                    .iter()
                    .map(|p| format!("{} {}", p.actor, p.key.public_key().fingerprint()))
                    .collect();
                format!("the trust policy trusts only {} for {country}", list.join(", "))
            };
            let act = match what {
                Act::Import => format!("foreign certificate {number} is admitted into {country} (import)"),
                Act::Certificate => format!("certificate {number} of {country} is validated"),
                Act::Enrolment => format!("{number}, a trader or valuer of {country}, is enrolled"),
                Act::Site => format!("mine site {number} of {country} is registered"),
                Act::ImposedKey => format!("a key is imposed on {number}, a trader or valuer of {country},"),
            };
            let mut f = Finding::error(
                Rule::Kp7,
                format!(
                    "the issuer is not trusted: {act} by {signer} with key {}, and {trusted}",
                    key.fingerprint()
                ),
            )
            .hint(format!(
                "an importing authority trusts a country's certificates, the imports it admits and the traders and mine \
                 sites it registers only from that country's KP authority: pin its key with a `{} {country} <vkey>` line in the trust policy, \
                 obtained through the KP's official channels",
                crate::trust::ISSUER_KEYWORD
            ));
            f.seq = Some(*pos);
            if *what == Act::Certificate {
                f.certificate = Some(number.clone());
            }
            out.push(f);
        }
        out
    }
}
