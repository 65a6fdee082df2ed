//! The transparency log: stored tree reads, proofs, checkpoints and cosignatures.

use std::path::Path;

use crate::log_tree::LogTree;
use kpledger_model::{ActorId, Event, Hash, Payload, PublicKey, SecretKey};
use kpledger_verify::ActorState;
use kpledger_verify::StoredCheckpoint;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::schema::check_schema;
use super::state::SqlState;
use super::{Ledger, StoreError, bytes_of, sql_err, text_of, tree_err};

impl Ledger {
    /// Stores a checkpoint carried over from an older file of the same log (`crate::migrate`),
    /// as it was: its signature and cosignatures cover the tree's size and root, a function of
    /// the events, so it holds for this file's tree too. Nothing here judges it: the migration
    /// verifies the whole new file afterwards (LOG-2 checks every stored checkpoint).
    pub(crate) fn carry_checkpoint(&mut self, size: i64, root: &[u8], note: &str) -> Result<(), StoreError> {
        let path = self.path.clone();
        let run = |c: &mut Connection| -> Result<(), StoreError> {
            let tx =
                c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| sql_err(&path, e))?;
            check_schema(&tx, &path)?;
            tx.execute(
                "INSERT INTO checkpoints(size, root, note) VALUES (?1, ?2, ?3)",
                params![size, root, note],
            )
            .map_err(|e| sql_err(&path, e))?;
            tx.commit().map_err(|e| sql_err(&path, e))
        };
        run(&mut self.conn)
    }

    /// The stored hashes of the Merkle tree's nodes at `level` (leaves are level 0), indices
    /// `first .. first + count`: what a C2SP tlog-tiles tile holds. Fewer than `count` when the
    /// tree has fewer complete nodes there.
    pub fn log_hashes(&self, level: u32, first: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT idx, hash FROM log_nodes WHERE level = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![level, first as i64, first.saturating_add(count) as i64], |r| {
                Ok((r.get::<_, i64>(0)?, bytes_of(r.get_ref(1)?)))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let (idx, bytes) = r.map_err(|e| self.err(e))?;
            let hash = <[u8; 32]>::try_from(bytes.as_slice())
                .ok()
                .filter(|_| idx as u64 == first + out.len() as u64);
            let Some(h) = hash else {
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    reason: format!(
                        "the log's Merkle tree: node {idx} of level {level} is missing or malformed"
                    ),
                });
            };
            out.push(Hash(h));
        }
        Ok(out)
    }

    /// The newest stored checkpoint, if one was published.
    pub fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.conn
            .prepare_cached("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1")
            .and_then(|mut st| {
                st.query_row([], |r| {
                    Ok(StoredCheckpoint {
                        size: r.get::<_, i64>(0)? as u64,
                        root: bytes_of(r.get_ref(1)?),
                        note: text_of(r.get_ref(2)?),
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// The stored checkpoints, oldest first (as rows: verification judges them).
    pub fn stored_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT size, root, note FROM checkpoints ORDER BY size")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(StoredCheckpoint {
                    size: r.get::<_, i64>(0)? as u64,
                    root: bytes_of(r.get_ref(1)?),
                    note: text_of(r.get_ref(2)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The Merkle root of the first `size` events.
    pub fn log_root(&self, size: u64) -> Result<Hash, StoreError> {
        self.checked_size(size)?;
        LogTree::new(&self.conn).root(size).map_err(|e| tree_err(&self.path, e))
    }

    /// The inclusion proof of the event at `seq` in the tree of `size` events.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.checked_size(size)?;
        if seq == 0 || seq > size {
            return Err(StoreError::Refused(format!("event #{seq} is not in a log of {size} events")));
        }
        LogTree::new(&self.conn).inclusion_proof(seq - 1, size).map_err(|e| tree_err(&self.path, e))
    }

    /// The consistency proof from the tree of `old` events to the tree of `new` events.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        self.checked_size(new)?;
        if old == 0 || old > new {
            return Err(StoreError::Refused(format!("no consistency proof from size {old} to size {new}")));
        }
        LogTree::new(&self.conn).consistency_proof(old, new).map_err(|e| tree_err(&self.path, e))
    }

    fn checked_size(&self, size: u64) -> Result<(), StoreError> {
        let len = self.len()?;
        if size > len {
            return Err(StoreError::Refused(format!("the log has {len} events, not {size}")));
        }
        Ok(())
    }

    /// The root authority signs a checkpoint of the log as it is now (C2SP
    /// tlog-checkpoint in a signed note, key name = the ledger's origin) and stores it.
    /// Signing the same size again returns the stored note.
    pub fn publish_checkpoint(&mut self, key: &SecretKey) -> Result<StoredCheckpoint, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&path, e))?;
        check_schema(&tx, &path)?;
        let state = SqlState::new(&tx, &path);
        let origin =
            state.try_origin()?.ok_or_else(|| StoreError::Refused("the ledger has no genesis".into()))?;
        // The root authority is the one actor nobody enrolled (the genesis signer).
        let root_actor: Option<ActorState> = state.get_doc(
            "SELECT doc FROM actors WHERE json_extract(doc, '$.enrolled_by') IS NULL AND role = ?1",
            "authority",
        )?;
        let root_ok = root_actor.is_some_and(|a| a.record.key == key.public() && a.revoked.is_none());
        if !root_ok {
            return Err(StoreError::Refused(
                "only the ledger's root authority, with its current key, signs checkpoints".into(),
            ));
        }
        let size: i64 =
            tx.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).map_err(|e| sql_err(&path, e))?;
        let size = size as u64;
        let root = LogTree::new(&tx).root(size).map_err(|e| tree_err(&path, e))?;
        let existing: Option<String> = tx
            .query_row("SELECT note FROM checkpoints WHERE size = ?1", [size as i64], |r| r.get(0))
            .optional()
            .map_err(|e| sql_err(&path, e))?;
        let note = match existing {
            Some(n) => {
                let stored: Vec<u8> = tx
                    .query_row("SELECT root FROM checkpoints WHERE size = ?1", [size as i64], |r| r.get(0))
                    .map_err(|e| sql_err(&path, e))?;
                if stored != root.0 {
                    return Err(StoreError::Corrupt {
                        path: path.clone(),
                        reason: format!(
                            "the checkpoint stored at size {size} has another root than the log now has"
                        ),
                    });
                }
                n
            }
            None => {
                let bad = |e: kpledger_model::note::NoteError| StoreError::Refused(e.to_string());
                let signer =
                    kpledger_model::note::SignerKey::new(origin.as_str(), key.clone()).map_err(bad)?;
                // Chain each checkpoint to the one before, so that deleting a stored
                // checkpoint (other than the newest) is visible in the next.
                let previous: Option<(i64, Vec<u8>)> = tx
                    .query_row("SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1", [], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .map_err(|e| sql_err(&path, e))?;
                let mut checkpoint =
                    kpledger_model::note::Checkpoint::new(origin.as_str(), size, root).map_err(bad)?;
                if let Some((psize, proot)) = previous {
                    let proot = <[u8; 32]>::try_from(proot.as_slice()).map(Hash).map_err(|_| {
                        StoreError::Corrupt {
                            path: path.clone(),
                            reason: format!("checkpoint {psize} has a malformed root"),
                        }
                    })?;
                    checkpoint = checkpoint
                        .with_extension(&kpledger_verify::log::previous_line(psize as u64, &proot))
                        .map_err(bad)?;
                }
                let note = checkpoint.sign(&signer).map_err(bad)?;
                let text = String::from_utf8_lossy(&note.to_bytes()).into_owned();
                tx.execute(
                    "INSERT INTO checkpoints(size, root, note) VALUES (?1, ?2, ?3)",
                    params![size as i64, &root.0[..], text],
                )
                .map_err(|e| sql_err(&path, e))?;
                text
            }
        };
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(StoredCheckpoint { size, root: root.0.to_vec(), note })
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
        let path = self.path.clone();
        let bad = |e: kpledger_model::note::NoteError| StoreError::Refused(e.to_string());
        let incoming = Note::parse(cosigned).map_err(bad)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&path, e))?;
        check_schema(&tx, &path)?;
        let origin = SqlState::new(&tx, &path)
            .try_origin()?
            .ok_or_else(|| StoreError::Refused("the ledger has no genesis".into()))?;
        let cp = kpledger_model::note::Checkpoint::parse(incoming.text()).map_err(bad)?;
        let stored: Option<String> = tx
            .query_row("SELECT note FROM checkpoints WHERE size = ?1", [cp.size() as i64], |r| r.get(0))
            .optional()
            .map_err(|e| sql_err(&path, e))?;
        let stored = stored.ok_or_else(|| {
            StoreError::Refused(format!("this ledger has no checkpoint of size {}", cp.size()))
        })?;
        let mut note = Note::parse(stored.as_bytes()).map_err(bad)?;
        if note.text() != incoming.text() {
            return Err(StoreError::Refused(
                "the cosigned checkpoint is not the one this ledger signed at that size".into(),
            ));
        }
        let root_keys: Vec<PublicKey> = self_root_keys(&tx, &path)?;
        let log_key = root_keys
            .iter()
            .filter_map(|k| VerifierKey::new(origin.as_str(), SigType::Ed25519, *k).ok())
            .find(|k| open_checkpoint(stored.as_bytes(), origin.as_str(), k, &[]).is_ok())
            .ok_or_else(|| {
                StoreError::Refused("the stored checkpoint is not signed by the root authority".into())
            })?;
        // A witness that is an actor of this ledger (an enrolled authority) cosigns with the key
        // it is enrolled with, and only checkpoints that contain its enrolment. A witness that is
        // not an actor (a public witness, named only by the verifiers' trust policies) is
        // accepted with the key the caller trusts; its cosignature is verified below all the same.
        for w in witnesses {
            let is_actor: bool = tx
                .query_row("SELECT count(*) FROM actors WHERE id = ?1", [w.name()], |r| r.get::<_, i64>(0))
                .map_err(|e| sql_err(&path, e))?
                > 0;
            if !is_actor {
                continue;
            }
            let enrolled: Option<(i64, String)> = tx
                .query_row(
                    "SELECT e.seq, a.doc FROM actors a JOIN events e ON e.kind = 'enrol' \
                     AND json_extract(e.doc, '$.body.actor.id') = a.id WHERE a.id = ?1",
                    [w.name()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| sql_err(&path, e))?;
            let Some((seq, doc)) = enrolled else {
                return Err(StoreError::Refused(format!(
                    "witness {} is not enrolled in this ledger: the root authority must enrol it (as an authority) first",
                    w.name()
                )));
            };
            let actor: ActorState = serde_json::from_str(&doc)
                .map_err(|e| StoreError::BadRow { path: path.clone(), reason: e.to_string() })?;
            if actor.record.key != *w.public_key() {
                return Err(StoreError::Refused(format!(
                    "witness {} is enrolled with another key",
                    w.name()
                )));
            }
            if seq as u64 > cp.size() {
                return Err(StoreError::Refused(format!(
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
        tx.execute("UPDATE checkpoints SET note = ?1 WHERE size = ?2", params![text, cp.size() as i64])
            .map_err(|e| sql_err(&path, e))?;
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(added)
    }
}

/// Every key the root authority has held, from its enrolment record's history: the
/// genesis key and each rotation.
fn self_root_keys(tx: &Connection, path: &Path) -> Result<Vec<PublicKey>, StoreError> {
    let mut st = tx
        .prepare("SELECT doc FROM events WHERE kind IN ('genesis', 'rotate_key') ORDER BY seq")
        .map_err(|e| sql_err(path, e))?;
    let docs: Vec<String> = st
        .query_map([], |r| r.get(0))
        .map_err(|e| sql_err(path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| sql_err(path, e))?;
    let mut root: Option<ActorId> = None;
    let mut keys = Vec::new();
    for d in docs {
        let Ok(ev) = Event::parse(d.as_bytes()) else { continue };
        match &ev.event.body.payload {
            Payload::Genesis { authority } => {
                root = Some(authority.id.clone());
                keys.push(authority.key);
            }
            Payload::RotateKey { actor, key } if Some(actor) == root.as_ref() => keys.push(*key),
            _ => {}
        }
    }
    Ok(keys)
}
