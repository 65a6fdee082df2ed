//! A witness's judgement: is a new checkpoint a consistent extension of the last one this
//! witness cosigned? (C2SP tlog-witness semantics, without the network.)
//!
//! A witness that cosigns only consistent extensions makes a fork visible: a log that
//! shows one history to an importer and another to its neighbours cannot get both
//! cosigned by the same witness.

use kpledger_model::Hash;
use kpledger_model::note::{OpenedCheckpoint, VerifierKey, open_checkpoint};
use serde::{Deserialize, Serialize};

use crate::merkle::verify_consistency;

/// What a witness remembers of a log: the last checkpoint it cosigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogState {
    /// The log's origin name.
    pub origin: String,
    /// The cosigned tree size.
    pub size: u64,
    /// The cosigned root.
    pub root: Hash,
}

/// Why a witness refuses to cosign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The note is not a checkpoint signed by the log's key.
    #[error("the checkpoint is not signed by the log's key, or is malformed: {0}")]
    NotSigned(String),
    /// The checkpoint is of another log.
    #[error("the checkpoint is of log {found:?}, but this witness state is for {expected:?}")]
    OtherLog {
        /// The log the state is for.
        expected: String,
        /// The log in the checkpoint.
        found: String,
    },
    /// The tree got smaller.
    #[error("rollback: the checkpoint has {new} entries, but this witness already cosigned {old}")]
    Rollback {
        /// Cosigned size.
        old: u64,
        /// Offered size.
        new: u64,
    },
    /// Same size, another root: a fork.
    #[error(
        "fork: a checkpoint of size {size} with root {new} was offered, but this witness cosigned root {old} at that size"
    )]
    Fork {
        /// The tree size both checkpoints have.
        size: u64,
        /// Cosigned root.
        old: Hash,
        /// Offered root.
        new: Hash,
    },
    /// The consistency proof does not show the new tree extends the old one.
    #[error(
        "not a consistent extension: the proof does not show that the tree of {new} entries extends the {old} this witness cosigned (the log rewrote its history, or the proof is wrong)"
    )]
    Inconsistent {
        /// Cosigned size.
        old: u64,
        /// Offered size.
        new: u64,
    },
}

/// Checks a checkpoint note against the witness's state. `proof` is the consistency proof
/// from the state's size to the checkpoint's size (empty for the first cosignature, which
/// is trust on first use, and for the same size). Returns the opened checkpoint to cosign.
pub fn check(
    state: Option<&LogState>,
    note: &[u8],
    log_key: &VerifierKey,
    proof: &[Hash],
) -> Result<OpenedCheckpoint, Refusal> {
    let opened =
        open_checkpoint(note, log_key.name(), log_key, &[]).map_err(|e| Refusal::NotSigned(e.to_string()))?;
    let cp = opened.checkpoint();
    let Some(old) = state else { return Ok(opened) };
    if old.origin != cp.origin() {
        return Err(Refusal::OtherLog { expected: old.origin.clone(), found: cp.origin().to_owned() });
    }
    let (new_size, new_root) = (cp.size(), *cp.root_hash());
    if new_size < old.size {
        return Err(Refusal::Rollback { old: old.size, new: new_size });
    }
    if new_size == old.size {
        return if new_root == old.root {
            Ok(opened)
        } else {
            Err(Refusal::Fork { size: new_size, old: old.root, new: new_root })
        };
    }
    if !verify_consistency(old.size, new_size, &old.root, &new_root, proof) {
        return Err(Refusal::Inconsistent { old: old.size, new: new_size });
    }
    Ok(opened)
}
