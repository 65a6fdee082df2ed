//! The evidence bundle of a certificate: which events prove it is decided by
//! `kpledger_verify::select::Selection`; the store fetches what it names and the inclusion
//! proofs.

use std::collections::BTreeSet;

use kpledger_model::{BUNDLE_FORMAT, Bundle, BundleLog, LeafProof, SiteRecord, Text};
use kpledger_verify::StoredCheckpoint;
use kpledger_verify::select::{GOVERNANCE_KINDS, Selection};

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
            let cert = self.certificate(number)?.ok_or_else(|| Fault::NoCertificate(number.clone()))?;
            let mut provenance = std::collections::BTreeMap::new();
            for r in &cert.certificate.parcels {
                provenance.extend(self.provenance_in(&r.parcel)?);
            }
            let mut chosen = Selection::new(&cert, provenance);
            let mut countries = BTreeSet::new();
            let state = SqlState::new(self.db.reads());
            for s in chosen.sites() {
                let site: Option<SiteRecord> = state.get_doc("sites", s.as_str(), kpledger_verify::stored::read_site)?;
                if let Some(site) = site {
                    countries.insert(site.country);
                }
            }
            for a in chosen.actors() {
                if let Some(actor) = state.try_actor(&a)? {
                    countries.insert(actor.record.country);
                }
            }
            let gov = parse_all(self.db.reads().event_docs_of_kinds(&GOVERNANCE_KINDS)?)?;
            chosen.add_governance(&gov, &countries);
            let last = chosen.last();
            let newest = self.db.reads().checkpoints()?.into_iter().rev().find(|c| published(c));
            let checkpoint = newest.filter(|c| c.size >= last).ok_or_else(|| {
                Fault::refused(format!(
                    "no published checkpoint covers event #{last} yet: the root authority must publish one first \
                     (`kpledger log publish`), and the witnesses cosign it (`kpledger log witness`)"
                ))
            })?;
            chosen.add_enrolments(&gov, checkpoint.size);
            let origin = state.try_origin()?.ok_or_else(|| Fault::BadRow("the ledger has no genesis".into()))?;
            let mut proofs = Vec::with_capacity(chosen.events.len());
            for seq in chosen.events.keys() {
                proofs.push(LeafProof { index: seq - 1, path: self.inclusion_proof(*seq, checkpoint.size)? });
            }
            let events = chosen
                .events
                .into_values()
                .map(|ev| serde_json::to_value(&ev.event))
                .collect::<Result<_, _>>()
                .map_err(|e| Fault::BadRow(e.to_string()))?;
            Ok(Bundle {
                format: Text::new(BUNDLE_FORMAT).map_err(Fault::BadRow)?,
                ledger: origin,
                certificate: number.clone(),
                heads: chosen.heads,
                events,
                log: BundleLog { checkpoint: checkpoint.note, proofs },
            })
        })
    }
}
