//! Which stored events a reader needs, decided here as pure functions; a store only fetches
//! what they name. Two questions: which events prove a certificate (its evidence bundle,
//! [`Selection`]), and which key the root authority held when the log had `n` events
//! ([`RootKeys`]).

use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::{ActorId, Country, Hash, ParcelId, ParsedEvent, Payload, PublicKey, SiteId, Text};

use crate::state::CertificateState;

/// The event kinds a bundle may draw from beside a certificate's own story: the
/// governance events (few: one per actor, site and policy version).
pub const GOVERNANCE_KINDS: [&str; 6] = ["genesis", "policy", "enrol", "rotate_key", "revoke", "site"];

/// The events of a certificate's evidence bundle, chosen in three steps between which a
/// store fetches: [`Selection::new`] (the certificate's story, from its parcels'
/// provenance), [`Selection::add_governance`] (genesis, the sites and policies the story
/// relies on, given the countries the store looked up for [`Selection::sites`] and
/// [`Selection::actors`]), then, under the checkpoint the store chose to cover
/// [`Selection::last`], [`Selection::add_enrolments`].
#[derive(Debug, Clone)]
pub struct Selection {
    /// The chosen events by position.
    pub events: BTreeMap<u64, ParsedEvent>,
    /// Each of the certificate's parcels, with the hash of its latest chosen event.
    pub heads: BTreeMap<ParcelId, Hash>,
    /// The last position of the certificate's story (before governance events are added).
    last_story: u64,
}

impl Selection {
    /// The certificate's story: `provenance` (every event of its parcels and of the parcels
    /// they were made from, by position) up to the certificate, and after it only the
    /// certificate's own life (export, transit, confirmation of this number): what an
    /// importer later does with the parcels is another story.
    pub fn new(cert: &CertificateState, provenance: BTreeMap<u64, ParsedEvent>) -> Selection {
        let number = &cert.certificate.number;
        let mut events = provenance;
        let issued_seq =
            events.iter().find(|(_, e)| e.hash == cert.event).map(|(s, _)| *s).unwrap_or(u64::MAX);
        events.retain(|seq, ev| *seq <= issued_seq || of_certificate(&ev.event.body.payload, number));
        let mut heads = BTreeMap::new();
        for ev in events.values() {
            for (parcel, _) in ev.event.body.payload.parcels() {
                if cert.certificate.parcels.iter().any(|r| r.parcel == parcel) {
                    heads.insert(parcel, ev.hash);
                }
            }
        }
        let last_story = events.keys().next_back().copied().unwrap_or(0);
        Selection { events, heads, last_story }
    }

    /// The extraction sites of the story: their countries' policies belong to the bundle.
    pub fn sites(&self) -> BTreeSet<SiteId> {
        let mut sites = BTreeSet::new();
        for ev in self.events.values() {
            if let Payload::Extraction { site, .. } = &ev.event.body.payload {
                sites.insert(site.clone());
            }
        }
        sites
    }

    /// The actors the story names (signers, sellers of offers, exporters, holders): their
    /// countries' policies belong to the bundle.
    pub fn actors(&self) -> BTreeSet<ActorId> {
        self.events.values().flat_map(|ev| signers(&ev.event.body.payload, &ev.event.body.signer)).collect()
    }

    /// Adds, from `governance` (the events of [`GOVERNANCE_KINDS`] by position): the genesis,
    /// the registration of each extraction site, and the policies of `countries` (those of
    /// the sites and actors) recorded before the story's last event.
    pub fn add_governance(&mut self, governance: &[(u64, ParsedEvent)], countries: &BTreeSet<Country>) {
        let sites = self.sites();
        for (seq, ev) in governance {
            let keep = match &ev.event.body.payload {
                Payload::Genesis { .. } => true,
                Payload::Site { site } => sites.contains(&site.id),
                Payload::Policy { policy } => countries.contains(&policy.country) && *seq < self.last_story,
                _ => false,
            };
            if keep {
                self.events.insert(*seq, ev.clone());
            }
        }
    }

    /// The last position chosen so far: the checkpoint the bundle is proven under must
    /// cover it.
    pub fn last(&self) -> u64 {
        self.events.keys().next_back().copied().unwrap_or(0)
    }

    /// Adds the enrolments (and the key rotations and revocations in force at each
    /// signature) of every actor the chosen events name, up to the root authority, whose
    /// keys count as of the checkpoint of `checkpoint_size` events (it signs it): repeated
    /// until nothing more is needed. Witnesses' enrolments are not carried: a bundle's reader
    /// takes witness keys from its trust policy only (docs/SPEC.md §14.3).
    pub fn add_enrolments(&mut self, governance: &[(u64, ParsedEvent)], checkpoint_size: u64) {
        let root_id: Option<ActorId> = governance.iter().find_map(|(_, ev)| match &ev.event.body.payload {
            Payload::Genesis { authority } => Some(authority.id.clone()),
            _ => None,
        });
        loop {
            let mut last_signed: BTreeMap<ActorId, u64> = BTreeMap::new();
            if let Some(r) = &root_id {
                last_signed.insert(r.clone(), checkpoint_size + 1);
            }
            for (seq, ev) in &self.events {
                for a in signers(&ev.event.body.payload, &ev.event.body.signer) {
                    let e = last_signed.entry(a).or_default();
                    *e = (*e).max(*seq);
                }
            }
            let before = self.events.len();
            for (seq, ev) in governance {
                let wanted = match &ev.event.body.payload {
                    Payload::Enrol { actor } => last_signed.contains_key(&actor.id),
                    Payload::RotateKey { actor, .. } | Payload::Revoke { actor, .. } => {
                        last_signed.get(actor).is_some_and(|last| seq < last)
                    }
                    _ => false,
                };
                if wanted && !self.events.contains_key(seq) {
                    self.events.insert(*seq, ev.clone());
                }
            }
            if self.events.len() == before {
                break;
            }
        }
    }
}

/// True if the event belongs to the life of certificate `number` after its issue.
fn of_certificate(p: &Payload, number: &Text) -> bool {
    match p {
        Payload::Export { certificate, .. } | Payload::Transit { certificate, .. } => certificate == number,
        Payload::ImportConfirmation { confirmation } => &confirmation.certificate == number,
        _ => false,
    }
}

/// Everyone whose enrolment an event relies on: its signer, and the actors it names.
fn signers(p: &Payload, signer: &ActorId) -> Vec<ActorId> {
    let mut out = vec![signer.clone()];
    match p {
        Payload::Handover { offer, .. } => out.push(offer.body.signer.clone()),
        Payload::Certificate { certificate } => out.push(certificate.exporter.actor.clone()),
        Payload::Import { holder, .. } => out.push(holder.clone()),
        Payload::ImportConfirmation { confirmation } => out.push(confirmation.holder.clone()),
        _ => {}
    }
    out
}

/// The keys the root authority held, each with the position of the event that gave it
/// (the genesis, then each rotation of the root's own key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootKeys {
    keys: Vec<(u64, PublicKey)>,
}

impl RootKeys {
    /// From the `genesis` and `rotate_key` events by position, in ledger order (other events
    /// are ignored).
    pub fn from_events<'a>(events: impl IntoIterator<Item = (u64, &'a ParsedEvent)>) -> RootKeys {
        let mut root: Option<ActorId> = None;
        let mut keys = Vec::new();
        for (seq, ev) in events {
            match &ev.event.body.payload {
                Payload::Genesis { authority } => {
                    root = Some(authority.id.clone());
                    keys.push((seq, authority.key));
                }
                Payload::RotateKey { actor, key } if Some(actor) == root.as_ref() => keys.push((seq, *key)),
                _ => {}
            }
        }
        RootKeys { keys }
    }

    /// Every key the root held, oldest first.
    pub fn all(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.iter().map(|(_, k)| k)
    }

    /// The key the root held when the log had `size` events: the one the events up to
    /// `size` gave it last (a checkpoint of that size is signed with it).
    pub fn at(&self, size: u64) -> Option<PublicKey> {
        self.keys.iter().rev().find(|(seq, _)| *seq <= size).map(|(_, k)| *k)
    }
}
