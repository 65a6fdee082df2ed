//! The evidence bundle of a certificate.

use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::{
    ActorId, BUNDLE_FORMAT, Bundle, BundleLog, LeafProof, ParsedEvent, Payload, SiteRecord, Text,
};
use kpledger_verify::StoredCheckpoint;

use super::backend::Backend;
use super::read::parse_all;
use super::state::SqlState;
use super::{Fault, Ledger, StoreError};

impl Ledger {
    /// The evidence bundle of a certificate: the provenance of its parcels and the
    /// enrolments, key rotations, policies and sites those events rely on, in ledger order.
    pub fn bundle(&self, number: &Text) -> Result<Bundle, StoreError> {
        self.bundle_where(number, &|_| true)
    }

    /// [`Ledger::bundle`] under the newest stored checkpoint that covers the certificate's
    /// events and that `published` accepts (for example: one cosigned by a trust policy's
    /// witness quorum).
    pub fn bundle_where(
        &self,
        number: &Text,
        published: &dyn Fn(&StoredCheckpoint) -> bool,
    ) -> Result<Bundle, StoreError> {
        self.with(|| {
            let cert = self
                .certificate(number)?
                .ok_or_else(|| Fault::NoCertificate(number.clone()))?;
            let mut chosen: BTreeMap<u64, ParsedEvent> = BTreeMap::new();
            for r in &cert.certificate.parcels {
                chosen.extend(self.provenance(&r.parcel)?);
            }
            // After the certificate, only its own life (export, transit, confirmation) belongs
            // to it: what an importer later does with the parcels is another story.
            let issued_seq =
                chosen.iter().find(|(_, e)| e.hash == cert.event).map(|(s, _)| *s).unwrap_or(u64::MAX);
            chosen.retain(|seq, ev| {
                *seq <= issued_seq
                    || match &ev.event.body.payload {
                        Payload::Export { certificate, .. } | Payload::Transit { certificate, .. } => {
                            certificate == number
                        }
                        Payload::ImportConfirmation { confirmation } => &confirmation.certificate == number,
                        _ => false,
                    }
            });
            let mut heads = BTreeMap::new();
            for ev in chosen.values() {
                for (parcel, _) in ev.event.body.payload.parcels() {
                    if cert.certificate.parcels.iter().any(|r| r.parcel == parcel) {
                        heads.insert(parcel, ev.hash);
                    }
                }
            }
            let last_dag = chosen.keys().next_back().copied().unwrap_or(0);
            let mut sites = BTreeSet::new();
            let mut countries = BTreeSet::new();
            for ev in chosen.values() {
                if let Payload::Extraction { site, .. } = &ev.event.body.payload {
                    sites.insert(site.clone());
                }
            }
            for s in &sites {
                let site: Option<SiteRecord> = SqlState::new(self.db.reads()).get_doc("sites", s.as_str())?;
                if let Some(site) = site {
                    countries.insert(site.country);
                }
            }
            for ev in chosen.values() {
                for a in signers(&ev.event.body.payload, &ev.event.body.signer) {
                    if let Some(actor) = self.actor(&a)? {
                        countries.insert(actor.record.country);
                    }
                }
            }
            // Governance events are few (one per actor, site and policy version): read them all.
            let gov = parse_all(self.db.reads().event_docs_of_kinds(&[
                "genesis",
                "policy",
                "enrol",
                "rotate_key",
                "revoke",
                "site",
            ])?)?;
            for (seq, ev) in &gov {
                let keep = match &ev.event.body.payload {
                    Payload::Genesis { .. } => true,
                    Payload::Site { site } => sites.contains(&site.id),
                    Payload::Policy { policy } => countries.contains(&policy.country) && *seq < last_dag,
                    _ => false,
                };
                if keep {
                    chosen.insert(*seq, ev.clone());
                }
            }
            let last = chosen.keys().next_back().copied().unwrap_or(0);
            let newest = self.stored_checkpoints()?.into_iter().rev().find(|c| published(c));
            let checkpoint = newest.filter(|c| c.size >= last).ok_or_else(|| {
                Fault::refused(format!(
                    "no published checkpoint covers event #{last} yet: the root authority must publish one first \
                     (`kpledger log publish`), and the witnesses cosign it (`kpledger log witness`)"
                ))
            })?;
            let root_id: Option<ActorId> = gov.iter().find_map(|(_, ev)| match &ev.event.body.payload {
                Payload::Genesis { authority } => Some(authority.id.clone()),
                _ => None,
            });
            // Witnesses' enrolments are not carried: a bundle's reader takes witness keys from its
            // trust policy only (docs/SPEC.md §14.3), never from the bundle.
            // Enrolments (and the key rotations in force at each signature) of every actor the
            // chosen events name, up to the root: repeat until nothing more is needed.
            loop {
                let mut last_signed: BTreeMap<ActorId, u64> = BTreeMap::new();
                // The root signs the checkpoint: its keys as of the checkpoint.
                if let Some(r) = &root_id {
                    last_signed.insert(r.clone(), checkpoint.size + 1);
                }
                for (seq, ev) in &chosen {
                    for a in signers(&ev.event.body.payload, &ev.event.body.signer) {
                        let e = last_signed.entry(a).or_default();
                        *e = (*e).max(*seq);
                    }
                }
                let before = chosen.len();
                for (seq, ev) in &gov {
                    let wanted = match &ev.event.body.payload {
                        Payload::Enrol { actor } => last_signed.contains_key(&actor.id),
                        Payload::RotateKey { actor, .. } | Payload::Revoke { actor, .. } => {
                            last_signed.get(actor).is_some_and(|last| seq < last)
                        }
                        _ => false,
                    };
                    if wanted && !chosen.contains_key(seq) {
                        chosen.insert(*seq, ev.clone());
                    }
                }
                if chosen.len() == before {
                    break;
                }
            }
            let origin = self.origin()?.ok_or_else(|| Fault::BadRow("the ledger has no genesis".into()))?;
            let mut proofs = Vec::with_capacity(chosen.len());
            for seq in chosen.keys() {
                proofs.push(LeafProof { index: seq - 1, path: self.inclusion_proof(*seq, checkpoint.size)? });
            }
            let events = chosen
                .into_values()
                .map(|ev| serde_json::to_value(&ev.event))
                .collect::<Result<_, _>>()
                .map_err(|e| Fault::BadRow(e.to_string()))?;
            Ok(Bundle {
                format: Text::new(BUNDLE_FORMAT)
                    .map_err(Fault::BadRow)?,
                ledger: origin,
                certificate: number.clone(),
                heads,
                events,
                log: BundleLog { checkpoint: checkpoint.note, proofs },
            })
        })
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
