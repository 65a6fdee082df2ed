//! The transparency log: stored tree reads, proofs, checkpoints and cosignatures.

use crate::log_tree::LogTree;
use kpledger_model::{Event, Hash, ParsedEvent, Payload, PublicKey, SecretKey};
use kpledger_verify::StoredCheckpoint;
use kpledger_verify::select::RootKeys;
use kpledger_verify::stored;

use super::backend::{Backend, Reads};
use super::read::parse_stored;
use super::state::SqlState;
use super::{Fault, Ledger, StoreError};

impl Ledger {
    /// Stores a checkpoint carried over from an older file of the same log (`crate::migrate`),
    /// as it was: its signature and cosignatures cover the tree's size and root, a function of
    /// the events, so it holds for this file's tree too. Nothing here judges it: the migration
    /// verifies the whole new file afterwards (LOG-2 checks every stored checkpoint).
    pub(crate) fn carry_checkpoint(&mut self, size: i64, root: &[u8], note: &str) -> Result<(), StoreError> {
        self.in_write(|tx| tx.insert_checkpoint(u64::try_from(size).unwrap_or(0), root, note))
    }

    /// The stored hashes of the Merkle tree's nodes at `level` (leaves are level 0), indices
    /// `first .. first + count`: what a C2SP tlog-tiles tile holds. Fewer than `count` when the
    /// tree has fewer complete nodes there.
    pub fn log_hashes(&self, level: u32, first: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        self.with(|| {
            let mut out = Vec::new();
            for (idx, bytes) in self.db.reads().log_nodes(level, first, count)? {
                let hash =
                    <[u8; 32]>::try_from(bytes.as_slice()).ok().filter(|_| idx == first + out.len() as u64);
                let Some(h) = hash else {
                    return Err(Fault::Corrupt(format!(
                        "the log's Merkle tree: node {idx} of level {level} is missing or malformed"
                    )));
                };
                out.push(Hash(h));
            }
            Ok(out)
        })
    }

    /// The newest stored checkpoint, if one was published.
    pub fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.with(|| self.db.reads().latest_checkpoint())
    }

    /// The stored checkpoints, oldest first (as rows: verification judges them).
    pub fn stored_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.with(|| self.db.reads().checkpoints())
    }

    /// The Merkle root of the first `size` events.
    pub fn log_root(&self, size: u64) -> Result<Hash, StoreError> {
        self.with(|| {
            self.checked_size(size)?;
            Ok(LogTree::new(self.db.reads()).root(size)?)
        })
    }

    /// The inclusion proof of the event at `seq` in the tree of `size` events.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.with(|| {
            self.checked_size(size)?;
            if seq == 0 || seq > size {
                return Err(Fault::refused(format!("event #{seq} is not in a log of {size} events")));
            }
            Ok(LogTree::new(self.db.reads()).inclusion_proof(seq - 1, size)?)
        })
    }

    /// The consistency proof from the tree of `old` events to the tree of `new` events.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        self.with(|| {
            self.checked_size(new)?;
            if old == 0 || old > new {
                return Err(Fault::refused(format!("no consistency proof from size {old} to size {new}")));
            }
            Ok(LogTree::new(self.db.reads()).consistency_proof(old, new)?)
        })
    }

    fn checked_size(&self, size: u64) -> Result<(), Fault> {
        let len = self.len()?;
        if size > len {
            return Err(Fault::refused(format!("the log has {len} events, not {size}")));
        }
        Ok(())
    }

    /// The root authority signs a checkpoint of the log as it is now (C2SP
    /// tlog-checkpoint in a signed note, key name = the ledger's origin) and stores it.
    /// Signing the same size again returns the stored note.
    pub fn publish_checkpoint(&mut self, key: &SecretKey) -> Result<StoredCheckpoint, StoreError> {
        self.in_write(|tx| {
            let state = SqlState::new(tx);
            let origin = state.try_origin()?.ok_or_else(|| Fault::refused("the ledger has no genesis"))?;
            // The root authority is the one actor nobody enrolled (the genesis signer).
            let mut root_actor: Option<kpledger_verify::ActorState> = None;
            for doc in tx.derived_docs("actors")? {
                let a = stored::read_actor(&doc).map_err(|e| Fault::BadRow(e.to_string()))?;
                if a.enrolled_by.is_none() && a.record.role.as_str() == "authority" {
                    root_actor = Some(a);
                    break;
                }
            }
            let root_ok = root_actor.is_some_and(|a| a.record.key == key.public() && a.revoked.is_none());
            if !root_ok {
                return Err(Fault::refused(
                    "only the ledger's root authority, with its current key, signs checkpoints",
                ));
            }
            let size = tx.event_count()?;
            let root = LogTree::new(tx).root(size)?;
            let note = match tx.checkpoint(size)? {
                Some(existing) => {
                    if existing.root != root.0 {
                        return Err(Fault::Corrupt(format!(
                            "the checkpoint stored at size {size} has another root than the log now has"
                        )));
                    }
                    existing.note
                }
                None => {
                    let bad = |e: kpledger_model::note::NoteError| Fault::refused(e.to_string());
                    let signer =
                        kpledger_model::note::SignerKey::new(origin.as_str(), key.clone()).map_err(bad)?;
                    // Chain each checkpoint to the one before, so that deleting a stored
                    // checkpoint (other than the newest) is visible in the next.
                    let previous = tx.latest_checkpoint()?.map(|c| (c.size, c.root));
                    let mut checkpoint =
                        kpledger_model::note::Checkpoint::new(origin.as_str(), size, root).map_err(bad)?;
                    if let Some((psize, proot)) = previous {
                        let proot = <[u8; 32]>::try_from(proot.as_slice()).map(Hash).map_err(|_| {
                            Fault::Corrupt(format!("checkpoint {psize} has a malformed root"))
                        })?;
                        checkpoint = checkpoint
                            .with_extension(&kpledger_verify::log::previous_line(psize, &proot))
                            .map_err(bad)?;
                    }
                    let note = checkpoint.sign(&signer).map_err(bad)?;
                    let text = String::from_utf8_lossy(&note.to_bytes()).into_owned();
                    tx.insert_checkpoint(size, &root.0, &text)?;
                    text
                }
            };
            Ok(StoredCheckpoint { size, root: root.0.to_vec(), note })
        })
    }

    /// Adds witnesses' cosignatures to a stored checkpoint. `cosigned` is the checkpoint
    /// note as a witness returned it; only cosignatures that verify with one of `witnesses`
    /// are kept. Returns how many were new.
    pub fn add_cosignatures(
        &mut self,
        cosigned: &[u8],
        witnesses: &[kpledger_model::note::VerifierKey],
    ) -> Result<usize, StoreError> {
        use kpledger_model::note::{Note, SigType, VerifierKey, open_checkpoint};
        let bad = |e: kpledger_model::note::NoteError| Fault::refused(e.to_string());
        let incoming = Note::parse(cosigned).map_err(|e| StoreError::Refused(e.to_string()))?;
        self.in_write(|tx| {
        let origin = SqlState::new(tx)
            .try_origin()?
            .ok_or_else(|| Fault::refused("the ledger has no genesis"))?;
        let cp = kpledger_model::note::Checkpoint::parse(incoming.text()).map_err(bad)?;
        let stored: Option<String> = tx.checkpoint(cp.size())?.map(|c| c.note);
        let stored = stored.ok_or_else(|| {
            Fault::refused(format!("this ledger has no checkpoint of size {}", cp.size()))
        })?;
        let mut note = Note::parse(stored.as_bytes()).map_err(bad)?;
        if note.text() != incoming.text() {
            return Err(Fault::refused(
                "the cosigned checkpoint is not the one this ledger signed at that size",
            ));
        }
        let root_keys: Vec<PublicKey> = self_root_keys(tx)?;
        let log_key = root_keys
            .iter()
            .filter_map(|k| VerifierKey::new(origin.as_str(), SigType::Ed25519, *k).ok())
            .find(|k| open_checkpoint(stored.as_bytes(), origin.as_str(), k, &[]).is_ok())
            .ok_or_else(|| {
                Fault::refused("the stored checkpoint is not signed by the root authority")
            })?;
        // A witness that is an actor of this ledger (an enrolled authority) cosigns with the key
        // it is enrolled with, and only checkpoints that contain its enrolment. A witness that is
        // not an actor (a public witness, named only by the verifiers' trust policies) is
        // accepted with the key the caller trusts; its cosignature is verified below all the same.
        for w in witnesses {
            let Some(doc) = tx.derived_doc("actors", w.name())? else {
                continue;
            };
            let Some(seq) = enrolment_seq(tx, w.name())? else {
                return Err(Fault::refused(format!(
                    "witness {} is not enrolled in this ledger: the root authority must enrol it (as an authority) first",
                    w.name()
                )));
            };
            let actor = stored::read_actor(&doc).map_err(|e| Fault::BadRow(e.to_string()))?;
            if actor.record.key != *w.public_key() {
                return Err(Fault::refused(format!(
                    "witness {} is enrolled with another key",
                    w.name()
                )));
            }
            if seq > cp.size() {
                return Err(Fault::refused(format!(
                    "witness {} was enrolled after checkpoint {}; it can cosign later checkpoints",
                    w.name(),
                    cp.size()
                )));
            }
        }
        let opened = open_checkpoint(cosigned, origin.as_str(), &log_key, witnesses).map_err(bad)?;
        let mut added = 0;
        for c in opened.cosignatures() {
            let key = c.key();
            let sig = incoming
                .signatures()
                .iter()
                .find(|s| s.name() == key.name() && s.key_id() == key.key_id())
                .cloned();
            if let Some(sig) = sig
                && !note.signatures().contains(&sig)
            {
                note.add_signature(sig).map_err(bad)?;
                added += 1;
            }
        }
        let text = String::from_utf8_lossy(&note.to_bytes()).into_owned();
        tx.update_checkpoint_note(cp.size(), &text)?;
        Ok(added)
        })
    }
}

/// The position of the `enrol` event of actor `id`, if any.
fn enrolment_seq(store: &dyn Reads, id: &str) -> Result<Option<u64>, Fault> {
    for (seq, doc) in store.event_docs_of_kinds(&["enrol"])? {
        let ev = parse_stored(seq, &doc)?;
        if let Payload::Enrol { actor } = &ev.event.body.payload
            && actor.id.as_str() == id
        {
            return Ok(Some(seq));
        }
    }
    Ok(None)
}

/// Every key the root authority has held (`kpledger_verify::select::RootKeys`: the genesis
/// key and each rotation), from the stored governance events; one that does not parse gives
/// none.
fn self_root_keys(store: &dyn Reads) -> Result<Vec<PublicKey>, Fault> {
    let events: Vec<(u64, ParsedEvent)> = store
        .event_docs_of_kinds(&["genesis", "rotate_key"])?
        .into_iter()
        .filter_map(|(seq, d)| Event::parse(&d).ok().map(|ev| (seq, ev)))
        .collect();
    Ok(RootKeys::from_events(events.iter().map(|(seq, ev)| (*seq, ev))).all().copied().collect())
}
