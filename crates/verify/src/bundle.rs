//! Offline verification of an evidence bundle: bytes and a trust policy in, a report out.
//!
//! The bundle's events are replayed, in order, through exactly the rules the ledger
//! applies at ingest, starting from an empty state. Then the bundle must contain the
//! certificate it names and end at the parcel heads it declares; every certificate in it must
//! be validated by an authority the importer's trust policy pins for its issuing country
//! (KP-7); and its log must be the one the policy pins, cosigned by the policy's quorum of
//! witnesses (LOG-1..LOG-4). Nothing the bundle says about keys is trusted on its own.

use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::canonical::{self, JsonError};
use kpledger_model::{BUNDLE_FORMAT, Bundle, ParcelId, Payload, PublicKey};

use crate::finding::{Finding, Rule, Severity};
use crate::ledger::{LIMITS, Report};
use crate::rules::{Signatures, check_event_signed};
use crate::state::{CertificateState, MemState, ParcelState, State as _};
use crate::trust::TrustPolicy;
use kpledger_model::sign::SigMode;

mod log;
mod vouchers;

use log::check_log;
pub use vouchers::Vouchers;

/// Why a bundle could not be checked at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bytes are not a bundle document.
    #[error("not a kpledger evidence bundle: {0}")]
    Format(String),
    /// An event inside is not a readable signed event.
    #[error("bundle event {index} is not a valid signed kpledger event: {source}")]
    Event {
        /// 1-based position.
        index: usize,
        /// What the strict event reader found wrong.
        source: JsonError,
    },
}

/// Bundle events read and checked at a time (on every core) before the next are read.
const EVENT_CHUNK: usize = 1024;

/// Verifies a bundle: its events replayed through the rules, every certificate in it
/// validated by an authority the trust policy pins for its issuing country (KP-7), each
/// event proven in the log under a checkpoint signed by the root key the policy pins for the
/// bundle's origin (as the ledger rotated it), and the checkpoint cosigned by the policy's
/// quorum of witnesses (docs/SPEC.md §14.3).
/// Signatures are checked with `verify_strict`, one at a time.
pub fn verify_bundle(bytes: &[u8], policy: &TrustPolicy) -> Result<Report, BundleError> {
    verify_bundle_observed(bytes, policy, SigMode::Strict, &mut |_, _| {})
}

/// As [`verify_bundle`], checking signatures as `mode` says and showing `observe` each event
/// (its ledger position and the event) in order once the bundle has been read (for reports
/// computed in the same pass).
pub fn verify_bundle_observed(
    bytes: &[u8],
    policy: &TrustPolicy,
    mode: SigMode,
    observe: &mut dyn FnMut(u64, &kpledger_model::ParsedEvent),
) -> Result<Report, BundleError> {
    verify_bundle_replayed(bytes, policy, mode, observe).map(|(report, _, _)| report)
}

/// What a verified bundle proves about its certificate's shipment, for an importing authority
/// that records the import (`kpledger certificate import --bundle`).
#[derive(Debug, Clone)]
pub struct ProvenShipment {
    /// The ledger the bundle comes from.
    pub ledger: kpledger_model::Origin,
    /// The certificate as its issuing authority validated it.
    pub certificate: CertificateState,
    /// Each certified parcel as the bundle's events leave it (weight, stones, heading, origin,
    /// status), in the certificate's order.
    pub parcels: Vec<ParcelState>,
}

impl ProvenShipment {
    /// The certificate as an import records it (`Payload::Import`'s `certificate`): every field
    /// as the issuing authority validated it. A mixed-origin certificate lists the countries of
    /// origin the bundle proves for its parcels, unless some stones are of an origin nobody
    /// recorded: then none, which keeps the unknown share unknown in the importer's ledger.
    pub fn foreign_certificate(&self) -> kpledger_model::ForeignCertificate {
        let c = &self.certificate.certificate;
        let countries_of_origin = match &c.country_of_origin {
            kpledger_model::OriginClaim::Mixed if !self.parcels.iter().any(|p| p.origin_unknown) => {
                let all: BTreeSet<kpledger_model::Country> =
                    self.parcels.iter().flat_map(|p| p.origin_countries.iter().cloned()).collect();
                all.into_iter().collect()
            }
            _ => Vec::new(),
        };
        kpledger_model::ForeignCertificate { countries_of_origin, ..c.as_foreign() }
    }

    /// Each certified parcel as an import admits it: its id (so that it keeps its provenance,
    /// and the same parcels cannot be admitted twice under any number, CH-3), its weight, stones
    /// and heading, in the certificate's order. `weights` and `stones` are what the importer
    /// found on receipt, one per parcel, or empty to take the bundle's. `Err` names a parcel
    /// whose stones the bundle does not count and the importer did not give.
    pub fn import_parcels(
        &self,
        weights: &[kpledger_model::Points],
        stones: &[u32],
    ) -> Result<Vec<kpledger_model::ImportParcel>, ParcelId> {
        self.parcels
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(kpledger_model::ImportParcel {
                    parcel: p.id,
                    weight_pt: weights.get(i).copied().unwrap_or(p.weight_pt),
                    stones: stones.get(i).copied().or(p.stones).ok_or(p.id)?,
                    hs_code: p.hs_code.clone(),
                })
            })
            .collect()
    }
}

/// Verifies a bundle exactly as [`verify_bundle_observed`] does and, when it verifies (the report's
/// `ok`), what it proves about the certificate's shipment; `None` when it does not.
pub fn verify_bundle_shipment(
    bytes: &[u8],
    policy: &TrustPolicy,
    mode: SigMode,
) -> Result<(Report, Option<ProvenShipment>), BundleError> {
    let (report, state, bundle) = verify_bundle_replayed(bytes, policy, mode, &mut |_, _| {})?;
    if !report.ok {
        return Ok((report, None));
    }
    let shipment = state.certificate(&bundle.certificate).and_then(|cert| {
        let parcels: Option<Vec<ParcelState>> =
            cert.certificate.parcels.iter().map(|r| state.parcels.get(&r.parcel).cloned()).collect();
        Some(ProvenShipment { ledger: bundle.ledger.clone(), certificate: cert, parcels: parcels? })
    });
    Ok((report, shipment))
}

fn verify_bundle_replayed(
    bytes: &[u8],
    policy: &TrustPolicy,
    mode: SigMode,
    observe: &mut dyn FnMut(u64, &kpledger_model::ParsedEvent),
) -> Result<(Report, MemState, Bundle), BundleError> {
    // The events are streamed out of the document as it is read, canonicalised and read as
    // signed events (with their signatures checked on every core) a chunk at a time, and the
    // reading stops at the first event that is not one: memory holds the events read so far,
    // never a tree of values for the whole array (a bundle of millions of `{}` would take
    // gigabytes). The rest of the bundle goes through the model's round trip.
    let format = |e: JsonError| BundleError::Format(e.to_string());
    let mut events = Vec::new();
    let mut sigs = Vec::new();
    let mut chunk: Vec<Vec<u8>> = Vec::with_capacity(EVENT_CHUNK);
    let decoded = kpledger_model::KeyCache::default();
    let mut judge_chunk = |chunk: &mut Vec<Vec<u8>>| -> Result<(), BundleError> {
        for p in crate::prepare::prepare_in(chunk, mode, &decoded) {
            let index = events.len() + 1;
            let parsed = p.parsed.map_err(|source| BundleError::Event { index, source })?;
            sigs.push(p.sigs.unwrap_or_else(|| Signatures::check(&parsed)));
            events.push(parsed);
        }
        chunk.clear();
        Ok(())
    };
    let value = canonical::parse_strict_streaming(bytes, "events", &mut |v| {
        chunk.push(canonical::canonical_value(&v));
        if chunk.len() == EVENT_CHUNK { judge_chunk(&mut chunk) } else { Ok(()) }
    })?
    .map_err(format)?;
    judge_chunk(&mut chunk)?;
    let bundle: Bundle = canonical::from_value_strict(value).map_err(format)?;
    if bundle.format.as_str() != BUNDLE_FORMAT {
        return Err(BundleError::Format(format!(
            "format {:?}; this kpledger reads {BUNDLE_FORMAT:?}",
            bundle.format.as_str()
        )));
    }
    let signatures = sigs.iter().map(Signatures::count).sum();

    let mut state = MemState::default();
    let mut findings = Vec::new();
    let mut cert_key = None;
    // Every act the trust policy must vouch for: each certificate the bundle issues (its own,
    // and any whose parcels it imports) and each foreign certificate it admits.
    let mut vouchers = Vouchers::default();
    let mut seen = BTreeMap::new();
    let mut newest: Option<kpledger_model::Time> = None;
    for (i, ev) in events.iter().enumerate() {
        let seq = ledger_seq(&bundle, i);
        observe(seq, ev);
        // A ledger holds each event once; replaying one twice (an old policy after a newer
        // one, say) would judge the events after it by rules no ledger ever had.
        if let Some(&first) = seen.get(&ev.hash) {
            let mut f = Finding::error(
                Rule::Ch1,
                format!("bundle event {} repeats event {first}: a ledger holds each event once", i + 1),
            );
            f.event = Some(ev.hash);
            f.seq = Some(seq);
            findings.push(f);
            continue;
        }
        seen.insert(ev.hash, i + 1);
        // The ledger's clock, over the events the bundle shows (the ledger held at least these).
        if let Some(mut f) = crate::rules::ledger_clock(newest.as_ref(), ev) {
            f.seq = Some(seq);
            findings.push(f);
        }
        if newest.as_ref().is_none_or(|t| *t < ev.event.body.time) {
            newest = Some(ev.event.body.time.clone());
        }
        let (found, effects) = check_event_signed(&state, ev, sigs[i]).into_parts();
        for mut f in found {
            f.seq = Some(seq);
            findings.push(f);
        }
        state.apply(effects);
        vouchers.observe(seq, ev);
        if let Payload::Certificate { certificate } = &ev.event.body.payload
            && certificate.number == bundle.certificate
        {
            cert_key = Some(ev.event.sig.key);
        }
    }

    if let Some(origin) = state.origin()
        && *origin != bundle.ledger
    {
        findings.push(Finding::error(
            Rule::Ch1,
            format!(
                "the bundle says it comes from ledger {:?}, but its events belong to {:?}",
                bundle.ledger.as_str(),
                origin.as_str()
            ),
        ));
    }
    let root_key = events.first().and_then(|e| match &e.event.body.payload {
        Payload::Genesis { authority } => Some(authority.key),
        _ => None,
    });
    findings.extend(vouchers.check(policy));
    match (state.certificate(&bundle.certificate), cert_key) {
        (Some(cert), Some(_)) => {
            let declared: BTreeSet<ParcelId> = bundle.heads.keys().copied().collect();
            let certified: BTreeSet<ParcelId> = cert.certificate.parcels.iter().map(|r| r.parcel).collect();
            if declared != certified {
                findings.push(Finding::error(
                    Rule::Ch1,
                    "the bundle's declared heads are not the certificate's parcels",
                ));
            }
            for (parcel, head) in &bundle.heads {
                let actual = state.parcel(parcel).map(|p| p.head);
                if actual.is_none() && state.consumed.contains(parcel) {
                    // SPEC.md §14.3 step 4: a bundle is a certificate's evidence up to the
                    // parcels' receipt; what became of them later is not part of it.
                    findings.push(
                        Finding::error(
                            Rule::Ch1,
                            "the bundle's events split or merge one of the certificate's parcels into other \
                             parcels: a bundle ends before its parcels are consumed, whatever its heads say",
                        )
                        .parcel(*parcel)
                        .hint(
                            "make the bundle with `kpledger bundle`, which stops at the import confirmation",
                        ),
                    );
                } else if actual != Some(*head) {
                    findings.push(
                        Finding::error(
                            Rule::Ch1,
                            "the bundle's events do not end at the parcel's declared latest event: events were left out or added",
                        )
                        .parcel(*parcel),
                    );
                }
            }
        }
        _ => findings.push(Finding::error(
            Rule::Ch1,
            format!("the bundle does not contain the issue of certificate {}", bundle.certificate),
        )),
    }

    let (log_findings, witnesses) = check_log(&bundle, &events, root_key, policy);
    findings.extend(log_findings);

    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count() as u64;
    let warnings = findings.len() as u64 - errors;
    let report = Report {
        ok: errors == 0,
        ledger: Some(bundle.ledger.to_string()),
        certificate: Some(bundle.certificate.to_string()),
        events: events.len() as u64,
        signatures,
        parcels: (state.parcels.len() + state.consumed.len()) as u64,
        actors: state.actors.len() as u64,
        errors,
        warnings,
        findings,
        witnesses,
        limits: LIMITS,
    };
    Ok((report, state, bundle))
}

/// The ledger position (`seq`) of the bundle's `i`-th event (0-based): its proof's leaf index
/// plus one, which the inclusion proof binds (LOG-1), so that a finding names the same event
/// number in the bundle as in the ledger; its place in the bundle when it has no proof (which is
/// itself LOG-1). docs/SPEC.md §14.3.
fn ledger_seq(bundle: &Bundle, i: usize) -> u64 {
    bundle.log.proofs.get(i).map_or(i as u64 + 1, |p| p.index.saturating_add(1))
}

/// LOG-2 for a whole ledger judged under a trust policy (`kpledger verify --ledger --policy`):
/// the ledger's genesis, its first event, must give its root authority a key the policy pins for
/// the ledger's origin. The ledger's own checks (`Ledger::verify`) then carry that trust through
/// the root's rotations to every checkpoint. Returns the findings to add to its report.
pub fn check_ledger_root(
    policy: &TrustPolicy,
    genesis: Option<&kpledger_model::ParsedEvent>,
) -> Vec<Finding> {
    let Some((origin, key)) = genesis.and_then(|g| match &g.event.body.payload {
        Payload::Genesis { authority } => Some((g.event.body.ledger.as_str(), authority.key)),
        _ => None,
    }) else {
        return vec![Finding::error(Rule::Log2, "the ledger has no genesis: nothing anchors its log")];
    };
    let pinned = policy.log_keys(origin);
    if pinned.contains(&key) {
        return Vec::new();
    }
    vec![
        Finding::error(
            Rule::Log2,
            format!(
                "the ledger's root authority key {} is not a key the trust policy pins for log {origin:?}: \
                 this file is not the log the policy names, whatever it holds",
                key.fingerprint()
            ),
        )
        .hint("obtain the log's key through the KP's official channels; a ledger file proves nothing about who made it"),
    ]
}

/// The root authority's keys over the bundle: its genesis key, then each key it rotated to.
fn root_keys(events: &[kpledger_model::ParsedEvent]) -> Vec<PublicKey> {
    let Some(Payload::Genesis { authority }) = events.first().map(|e| &e.event.body.payload) else {
        return Vec::new();
    };
    let mut keys = vec![authority.key];
    for e in events {
        if let Payload::RotateKey { actor, key } = &e.event.body.payload
            && *actor == authority.id
            && !keys.contains(key)
        {
            keys.push(*key);
        }
    }
    keys
}
