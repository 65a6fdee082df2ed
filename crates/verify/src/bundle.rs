//! Offline verification of an evidence bundle: bytes and trusted keys in, a report out.
//!
//! The bundle's events are replayed, in order, through exactly the rules the ledger
//! applies at ingest, starting from an empty state. Then the bundle must contain the
//! certificate it names, end at the parcel heads it declares, and be anchored in a key the
//! verifier trusts: the key that validated the certificate, or the ledger's root key.

use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::canonical::{self, JsonError};
use kpledger_model::{BUNDLE_FORMAT, Bundle, ParcelId, Payload, PublicKey};

use crate::finding::{Finding, Rule, Severity};
use crate::ledger::{LIMITS, Report};
use crate::rules::{Signatures, check_event_signed};
use crate::state::{MemState, State as _};
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

/// What a bundle's verifier trusts.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Authority public keys: the exporting authority's, and (for a shared ledger) the
    /// ledger's root authority, whose key signs the log's checkpoints.
    pub keys: Vec<PublicKey>,
    /// Witness cosigner keys (C2SP tlog-cosignature/v1).
    pub witnesses: Vec<kpledger_model::note::VerifierKey>,
    /// How many of `witnesses` must have cosigned the bundle's checkpoint (LOG-3).
    pub quorum: usize,
}

/// Bundle events read and checked at a time (on every core) before the next are read.
const EVENT_CHUNK: usize = 1024;

/// Verifies a bundle against trusted authority keys, with no witness requirement.
pub fn verify_bundle(bytes: &[u8], trusted: &[PublicKey]) -> Result<Report, BundleError> {
    verify_bundle_with(bytes, &Trust { keys: trusted.to_vec(), ..Trust::default() })
}

/// Verifies a bundle: its events replayed through the rules, its certificate anchored in a
/// trusted key, each event proven in the log under a checkpoint signed by the ledger's
/// trusted root authority, and the checkpoint cosigned by a quorum of witnesses.
pub fn verify_bundle_with(bytes: &[u8], trust: &Trust) -> Result<Report, BundleError> {
    verify_bundle_in(bytes, trust, SigMode::Strict)
}

/// As [`verify_bundle_with`], checking signatures as `mode` says.
pub fn verify_bundle_in(bytes: &[u8], trust: &Trust, mode: SigMode) -> Result<Report, BundleError> {
    verify_bundle_observed(bytes, trust, mode, &mut |_, _| {})
}

/// As [`verify_bundle_in`], showing `observe` each event (its ledger position and the event)
/// in order once the bundle has been read (for reports computed in the same pass).
pub fn verify_bundle_observed(
    bytes: &[u8],
    trust: &Trust,
    mode: SigMode,
    observe: &mut dyn FnMut(u64, &kpledger_model::ParsedEvent),
) -> Result<Report, BundleError> {
    let trusted = trust.keys.as_slice();
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
    let mut seen = BTreeMap::new();
    for (i, ev) in events.iter().enumerate() {
        observe(bundle.log.proofs.get(i).map_or(i as u64 + 1, |p| p.index + 1), ev);
        // A ledger holds each event once; replaying one twice (an old policy after a newer
        // one, say) would judge the events after it by rules no ledger ever had.
        if let Some(&first) = seen.get(&ev.hash) {
            let mut f = Finding::error(
                Rule::Ch1,
                format!("bundle event {} repeats event {first}: a ledger holds each event once", i + 1),
            );
            f.event = Some(ev.hash);
            f.seq = Some(i as u64 + 1);
            findings.push(f);
            continue;
        }
        seen.insert(ev.hash, i + 1);
        let (found, effects) = check_event_signed(&state, ev, sigs[i]).into_parts();
        for mut f in found {
            f.seq = Some(i as u64 + 1);
            findings.push(f);
        }
        state.apply(effects);
        if let Payload::Certificate { certificate } = &ev.event.body.payload
            && certificate.number == bundle.certificate
        {
            cert_key = Some((ev.event.sig.key, ev.event.body.signer.clone()));
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
    match (state.certificate(&bundle.certificate), cert_key) {
        (Some(cert), Some((key, signer))) => {
            let trusted_here = trusted.contains(&key) || root_key.is_some_and(|r| trusted.contains(&r));
            if !trusted_here {
                let known: Vec<String> = trusted.iter().map(PublicKey::fingerprint).collect();
                findings.push(
                    Finding::error(
                        Rule::Kp7,
                        format!(
                            "the signer is not trusted: certificate {} is validated by {signer} with key {}, and neither \
                             that key nor the ledger's root key{} is among the trusted keys ({})",
                            bundle.certificate,
                            key.fingerprint(),
                            root_key.map(|k| format!(" {}", k.fingerprint())).unwrap_or_default(),
                            known.join(", ")
                        ),
                    )
                    .hint("pass the exporting authority's public key with --trust; obtain it through the KP's official channels"),
                );
            }
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

    findings.extend(check_log(&bundle, &events, root_key, trust, &state));

    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count() as u64;
    let warnings = findings.len() as u64 - errors;
    Ok(Report {
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
        limits: LIMITS,
    })
}

/// LOG-1, LOG-2 and LOG-3 for a bundle.
fn check_log(
    bundle: &Bundle,
    events: &[kpledger_model::ParsedEvent],
    root_key: Option<PublicKey>,
    trust: &Trust,
    state: &MemState,
) -> Vec<Finding> {
    use kpledger_model::note::{SigType, VerifierKey, open_checkpoint};
    let mut out = Vec::new();
    let origin = bundle.ledger.as_str();
    // The root authority's keys over the bundle: the genesis key and each rotation.
    let root_id = events.first().and_then(|e| match &e.event.body.payload {
        Payload::Genesis { authority } => Some(authority.id.clone()),
        _ => None,
    });
    let mut root_keys: Vec<PublicKey> = root_key.into_iter().collect();
    for e in events {
        if let Payload::RotateKey { actor, key } = &e.event.body.payload
            && Some(actor) == root_id.as_ref()
            && !root_keys.contains(key)
        {
            root_keys.push(*key);
        }
    }
    if root_keys.is_empty() {
        out.push(Finding::error(
            Rule::Log2,
            "the bundle has no genesis, so no log key to check its checkpoint with",
        ));
        return out;
    }
    // LOG-2: the checkpoint is signed by one of the root's keys, and that key is trusted.
    let signed_by = root_keys.iter().find_map(|k| {
        let vk = VerifierKey::new(origin, SigType::Ed25519, *k).ok()?;
        open_checkpoint(bundle.log.checkpoint.as_bytes(), origin, &vk, &[]).ok().map(|o| (vk, o))
    });
    let Some((log_key, signed)) = signed_by else {
        out.push(Finding::error(
            Rule::Log2,
            format!("the bundle's checkpoint is not a checkpoint of {origin:?} signed by its root authority"),
        ));
        return out;
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
        .or(root_key);
    if held.is_some_and(|k| k != *log_key.public_key()) {
        out.push(Finding::error(
            Rule::Log2,
            format!(
                "the bundle's checkpoint (size {size}) is signed with a key the root authority had rotated away \
                 from before the log reached that size: a retired key signs nothing after its rotation"
            ),
        ));
        return out;
    }
    // A rotation is signed by the root's previous key (CH-2 checked it in the replay), so
    // trusting any key in the root's chain trusts the key that signed the checkpoint.
    if !root_keys.iter().any(|k| trust.keys.contains(k)) {
        out.push(
            Finding::error(
                Rule::Log2,
                format!(
                    "the checkpoint's signer is not trusted: the ledger's root authority key {} is not among the trusted keys",
                    log_key.public_key().fingerprint()
                ),
            )
            .hint("pass the log operator's (the ledger's root authority's) public key with --trust"),
        );
    }
    // LOG-3: the required witnesses' cosignatures verify.
    let opened = match open_checkpoint(bundle.log.checkpoint.as_bytes(), origin, &log_key, &trust.witnesses) {
        Ok(o) => o,
        Err(e) => {
            out.push(Finding::error(
                Rule::Log3,
                format!("a required witness's cosignature does not verify: {e}"),
            ));
            return out;
        }
    };
    // Every signature line must be the log's, a required witness's, or an enrolled actor's
    // cosignature: nothing in the checkpoint may be unverifiable.
    let known = std::iter::once(log_key.clone()).chain(trust.witnesses.iter().cloned()).chain(
        state.actors.values().filter_map(|a| {
            VerifierKey::new(a.record.id.as_str(), SigType::CosignatureV1, a.record.key).ok()
        }),
    );
    let mut seen = Vec::new();
    let known: Vec<VerifierKey> = known
        .filter(|k| {
            let id = (k.name().to_owned(), k.key_id());
            if seen.contains(&id) {
                false
            } else {
                seen.push(id);
                true
            }
        })
        .collect();
    match kpledger_model::note::Verifiers::new(known)
        .and_then(|v| kpledger_model::note::open(bundle.log.checkpoint.as_bytes(), &v))
    {
        Err(e) => out.push(Finding::error(
            Rule::Log3,
            format!("a cosignature on the checkpoint does not verify: {e}"),
        )),
        Ok(o) if !o.unverified().is_empty() => out.push(Finding::error(
            Rule::Log3,
            format!("the checkpoint carries {} signature line(s) by no known witness", o.unverified().len()),
        )),
        Ok(_) => {}
    }
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
        let at = |f: Finding| Finding { seq: Some(i as u64 + 1), event: Some(ev.hash), ..f };
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
    // Count distinct witness keys: one key listed under two names is one witness.
    let mut keys: Vec<[u8; 32]> =
        opened.cosignatures().iter().map(|c| c.key().public_key().to_bytes()).collect();
    keys.sort_unstable();
    keys.dedup();
    let cosigned = keys.len();
    if cosigned < trust.quorum {
        out.push(
            Finding::error(
                Rule::Log3,
                format!(
                    "the checkpoint carries {cosigned} cosignature(s) from the required witnesses, but {} are required",
                    trust.quorum
                ),
            )
            .hint("ask the witnesses to cosign the checkpoint, then export the bundle again"),
        );
    }
    out
}
