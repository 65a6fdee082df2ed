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
use crate::trust::{Quorum, TrustPolicy};
use kpledger_model::sign::SigMode;

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
        /// Why.
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
pub fn verify_bundle_with(bytes: &[u8], policy: &TrustPolicy) -> Result<Report, BundleError> {
    verify_bundle_in(bytes, policy, SigMode::Strict)
}

/// As [`verify_bundle_with`], checking signatures as `mode` says.
pub fn verify_bundle_in(bytes: &[u8], policy: &TrustPolicy, mode: SigMode) -> Result<Report, BundleError> {
    verify_bundle_observed(bytes, policy, mode, &mut |_, _| {})
}

/// As [`verify_bundle_in`], showing `observe` each event (its ledger position and the event)
/// in order once the bundle has been read (for reports computed in the same pass).
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
        kpledger_model::ForeignCertificate {
            number: c.number.clone(),
            issuing_country: c.issuing_country.clone(),
            issuing_authority: c.issuing_authority.clone(),
            country_of_origin: c.country_of_origin.clone(),
            countries_of_origin,
            date_of_issue: c.date_of_issue.clone(),
            date_of_expiry: c.date_of_expiry.clone(),
            exporter: c.exporter.name.clone(),
            importer: c.importer.name.clone(),
            lines: c.lines.clone(),
            parcel_count: c.parcel_count,
        }
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

/// Verifies a bundle exactly as [`verify_bundle_in`] does and, when it verifies (the report's
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
    let mut judge_chunk = |chunk: &mut Vec<Vec<u8>>| -> Result<(), BundleError> {
        for p in crate::prepare::prepare(chunk, mode) {
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
        match &ev.event.body.payload {
            Payload::Genesis { authority } if self.root.is_none() => {
                self.origin = Some(ev.event.body.ledger.clone());
                self.root = Some(authority.id.clone());
                self.root_keys.push(authority.key);
                self.countries.insert(authority.id.clone(), authority.country.clone());
            }
            Payload::Enrol { actor } => {
                self.countries.entry(actor.id.clone()).or_insert_with(|| actor.country.clone());
                self.roles.insert(actor.id.clone(), actor.role);
                // A trader or valuer exists for a country only on that country's authority's
                // word: a root that enrolled a miner of its own could mint provenance.
                if actor.role != kpledger_model::Role::Authority {
                    self.acts.push((
                        seq,
                        Act::Enrolment,
                        actor.id.to_string(),
                        actor.country.clone(),
                        signer.clone(),
                        key,
                    ));
                }
            }
            Payload::Site { site } => self.acts.push((
                seq,
                Act::Site,
                site.id.to_string(),
                site.country.clone(),
                signer.clone(),
                key,
            )),
            Payload::RotateKey { actor, key: new } => {
                if self.root.as_ref() == Some(actor) && !self.root_keys.contains(new) {
                    self.root_keys.push(*new);
                }
                let trader = self.roles.get(actor).is_some_and(|r| *r != kpledger_model::Role::Authority);
                if trader
                    && actor != signer
                    && let Some(country) = self.countries.get(actor)
                {
                    self.acts.push((
                        seq,
                        Act::ImposedKey,
                        actor.to_string(),
                        country.clone(),
                        signer.clone(),
                        key,
                    ));
                }
            }
            Payload::Certificate { certificate: c } => self.acts.push((
                seq,
                Act::Certificate,
                c.number.to_string(),
                c.issuing_country.clone(),
                signer.clone(),
                key,
            )),
            Payload::Import { certificate: c, .. } => {
                // An unenrolled signer is CH-2 already.
                if let Some(country) = self.countries.get(signer) {
                    self.acts.push((
                        seq,
                        Act::Import,
                        c.number.to_string(),
                        country.clone(),
                        signer.clone(),
                        key,
                    ));
                }
            }
            _ => {}
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

/// LOG-1..LOG-4 for a bundle; also the names of the policy's witnesses whose cosignatures
/// verified.
fn check_log(
    bundle: &Bundle,
    events: &[kpledger_model::ParsedEvent],
    root_key: Option<PublicKey>,
    policy: &TrustPolicy,
) -> (Vec<Finding>, Vec<String>) {
    use kpledger_model::note::{SigType, VerifierKey, open_checkpoint};
    let mut out = Vec::new();
    let origin = bundle.ledger.as_str();
    // The log key comes from the policy only: the root authority's genesis key must be the
    // key pinned for this origin, and the root's rotations (each signed by its key before,
    // CH-2 in the replay) carry the trust forward from it.
    let pinned = policy.log_keys(origin);
    let Some(genesis_key) = root_key else {
        out.push(Finding::error(
            Rule::Log2,
            "the bundle has no genesis, so no log key to check its checkpoint with",
        ));
        return (out, Vec::new());
    };
    if pinned.is_empty() {
        out.push(
            Finding::error(
                Rule::Log2,
                format!("the checkpoint's signer is not trusted: the trust policy pins no key for log {origin:?}"),
            )
            .hint("add a `log <vkey>` line for this log to the trust policy, with the key obtained through the KP's official channels"),
        );
        return (out, Vec::new());
    }
    if !pinned.contains(&genesis_key) {
        let list: Vec<String> = pinned.iter().map(PublicKey::fingerprint).collect();
        out.push(
            Finding::error(
                Rule::Log2,
                format!(
                    "the checkpoint's signer is not trusted: the ledger's root authority key {} is not the key the trust \
                     policy pins for log {origin:?} ({}); the chain of the root's keys must start at the pinned key",
                    genesis_key.fingerprint(),
                    list.join(", ")
                ),
            )
            .hint("this bundle is not from the log the trust policy names; if the log's key really changed, obtain the new key through the KP's official channels"),
        );
        return (out, Vec::new());
    }
    // The root authority's keys over the bundle: the genesis key and each rotation.
    let root_id = events.first().and_then(|e| match &e.event.body.payload {
        Payload::Genesis { authority } => Some(authority.id.clone()),
        _ => None,
    });
    let root_keys = root_keys(events);
    // LOG-2: the checkpoint is signed by one of the root's keys.
    let signed_by = root_keys.iter().find_map(|k| {
        let vk = VerifierKey::new(origin, SigType::Ed25519, *k).ok()?;
        open_checkpoint(bundle.log.checkpoint.as_bytes(), origin, &vk, &[]).ok().map(|o| (vk, o))
    });
    let Some((log_key, signed)) = signed_by else {
        out.push(Finding::error(
            Rule::Log2,
            format!("the bundle's checkpoint is not a checkpoint of {origin:?} signed by its root authority"),
        ));
        return (out, Vec::new());
    };
    // Only the key the root held when the log reached the checkpoint's size signs it: the
    // newest of the bundle's root rotations within that size names it.
    let size = signed.checkpoint().size();
    let held = events
        .iter()
        .zip(&bundle.log.proofs)
        .filter(|(_, proof)| proof.index < size)
        .filter_map(|(e, proof)| match &e.event.body.payload {
            Payload::RotateKey { actor, key } if Some(actor) == root_id.as_ref() => Some((proof.index, *key)),
            _ => None,
        })
        .max_by_key(|(index, _)| *index)
        .map(|(_, key)| key)
        .unwrap_or(genesis_key);
    if held != *log_key.public_key() {
        out.push(Finding::error(
            Rule::Log2,
            format!(
                "the bundle's checkpoint (size {size}) is signed with a key the root authority had rotated away \
                 from before the log reached that size: a retired key signs nothing after its rotation"
            ),
        ));
        return (out, Vec::new());
    }
    // LOG-3: every cosignature by a witness of the policy verifies (lines by other keys are
    // ignored, as C2SP signed notes say: they count for nothing; when the quorum is not met
    // their names and key IDs are listed, as unverified claims, to show a mistyped policy).
    let keys: Vec<VerifierKey> = policy.witness_keys();
    let opened = match open_checkpoint(bundle.log.checkpoint.as_bytes(), origin, &log_key, &keys) {
        Ok(o) => o,
        Err(e) => {
            out.push(Finding::error(
                Rule::Log3,
                format!("a cosignature by a witness of the trust policy does not verify: {e}"),
            ));
            return (out, Vec::new());
        }
    };
    let cp = opened.checkpoint();
    if bundle.log.proofs.len() != events.len() {
        out.push(Finding::error(
            Rule::Log1,
            format!(
                "the bundle has {} events but {} inclusion proofs",
                events.len(),
                bundle.log.proofs.len()
            ),
        ));
    }
    let mut last: Option<u64> = None;
    for (i, (ev, proof)) in events.iter().zip(&bundle.log.proofs).enumerate() {
        let leaf = crate::log::leaf_hash(&ev.hash);
        let at = |f: Finding| Finding { seq: Some(ledger_seq(bundle, i)), event: Some(ev.hash), ..f };
        if last.is_some_and(|l| proof.index <= l) || (i == 0 && proof.index != 0) {
            out.push(at(Finding::error(
                Rule::Log1,
                format!(
                    "bundle event {} is at log position {}, out of the ledger's order",
                    i + 1,
                    proof.index + 1
                ),
            )));
        }
        last = Some(proof.index);
        if !crate::merkle::verify_inclusion(&leaf, proof.index, cp.size(), &proof.path, cp.root_hash()) {
            out.push(at(Finding::error(
                Rule::Log1,
                format!(
                    "bundle event {} is not in the log at position {} under the checkpoint of size {}",
                    i + 1,
                    proof.index + 1,
                    cp.size()
                ),
            )));
        }
    }
    // The quorum, over the policy's witnesses whose cosignatures verified (the policy holds
    // each key once, so one witness counts once).
    let mut cosigned = BTreeSet::new();
    let mut names = Vec::new();
    for c in opened.cosignatures() {
        // A key the root has held is the log's, whatever the policy calls it: a log does not
        // witness itself (the policy refuses its pinned keys as witnesses; this covers the keys
        // the root rotated to, which the policy cannot know).
        if root_keys.contains(c.key().public_key()) {
            continue;
        }
        if let Some(i) = policy.witness_index(c.key()) {
            cosigned.insert(i);
            names.push(c.key().name().to_owned());
        }
    }
    let shown = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
    if policy.quorum() == Quorum::None {
        out.push(
            Finding::warning(
                Rule::Log4,
                format!(
                    "not witnessed: the trust policy requires no witness (`quorum none`), so nothing shows that the log \
                     showed this history to anyone else (cosignatures verified: {shown})"
                ),
            )
            .hint("name the witnesses you trust and a quorum in the trust policy"),
        );
    } else if !policy.quorum_met(&cosigned) {
        // The checkpoint's other signature lines: cosigners the policy does not know by that
        // name and key. When there are some, the likeliest mistake is in the policy (a name or
        // key mistyped), not a missing cosignature: show both lists.
        let unmatched: Vec<String> = opened
            .note()
            .signatures()
            .iter()
            .filter(|sig| sig.name() != origin)
            .filter(|sig| {
                !opened
                    .cosignatures()
                    .iter()
                    .any(|c| c.key().name() == sig.name() && c.key().key_id() == sig.key_id())
            })
            .map(|sig| format!("{} key {}", sig.name(), sig.key_id()))
            .collect();
        // The bundle chooses these lines: a few are enough to show a typo, and the message
        // stays short whatever the bundle holds.
        let unmatched: Vec<String> = if unmatched.len() > 8 {
            let more = unmatched.len() - 8;
            unmatched.into_iter().take(8).chain([format!("and {more} more")]).collect()
        } else {
            unmatched
        };
        let finding = if unmatched.is_empty() {
            Finding::error(
                Rule::Log3,
                format!(
                    "not witnessed: the checkpoint's cosignatures by the trust policy's witnesses ({shown}) do not meet its \
                     quorum, {}",
                    policy.quorum_text()
                ),
            )
            .hint("ask the witnesses to cosign the checkpoint, then export the bundle again")
        } else {
            let pinned: Vec<String> = policy
                .witnesses()
                .iter()
                .map(|w| match &w.key {
                    Some(k) => format!("{} key {}", k.name(), k.key_id()),
                    None => format!("{} (a key kpledger cannot verify)", w.name),
                })
                .collect();
            Finding::error(
                Rule::Log3,
                format!(
                    "not witnessed: the trust policy's witnesses ({}) do not match the checkpoint's cosigners ({}, \
                     as the bundle names them, unverified); the cosignatures that verified with the policy's keys \
                     ({shown}) do not meet its quorum, {}",
                    if pinned.is_empty() { "none".to_owned() } else { pinned.join(", ") },
                    unmatched.join(", "),
                    policy.quorum_text()
                ),
            )
            .hint(
                "check each witness line of the trust policy (its name and key) against the witness key obtained \
                 through the KP's official channels (`kpledger trust witness --name NAME KEY.pub` prints the line): a \
                 name or key mistyped counts for nothing. Never take a key from the bundle; if the policy is right, the \
                 checkpoint is not cosigned by the witnesses you trust",
            )
        };
        out.push(finding);
    }
    (out, names)
}
