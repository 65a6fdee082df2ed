//! LOG-1..LOG-4 for a bundle: its log is the pinned one, its checkpoint cosigned by the quorum, its
//! events included.

use super::{ledger_seq, root_keys};
use crate::finding::{Finding, Rule};
use crate::trust::{Quorum, TrustPolicy};
use kpledger_model::{Bundle, Payload, PublicKey};
use std::collections::BTreeSet;

/// LOG-1..LOG-4 for a bundle; also the names of the policy's witnesses whose cosignatures
/// verified.
pub(super) fn check_log(
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
