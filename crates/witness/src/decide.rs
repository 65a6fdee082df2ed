//! The add-checkpoint decision, as a pure function of the witness's state and the request
//! body (C2SP tlog-witness): no I/O, no clock, no key. The server holds one lock across
//! [`decide`], the durable write of the new state and the cosignature.

use std::collections::BTreeMap;

use kpledger_model::Hash;
use kpledger_model::note::{Checkpoint, Note, VerifierKey, open_checkpoint};
use kpledger_verify::TrustPolicy;
use kpledger_verify::merkle::{EMPTY_ROOT, verify_consistency};
use serde::{Deserialize, Serialize};

use crate::request::AddCheckpoint;

/// What a witness remembers of one log: the last checkpoint it cosigned, with the log's
/// signed note (the evidence a later fork is judged against).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// The cosigned tree size.
    pub size: u64,
    /// The cosigned root.
    pub root: Hash,
    /// The signed checkpoint note as the log sent it (signature lines included).
    pub note: String,
    /// The cosignature lines this witness returned for it (empty until it signs).
    pub cosignatures: String,
}

/// The logs a witness witnesses, from the `log` lines of a C2SP tlog-policy: origin (the
/// vkey's name) to the keys it accepts for it. Other lines of the policy are not read here.
#[derive(Debug, Clone, Default)]
pub struct LogKeys {
    logs: BTreeMap<String, Vec<VerifierKey>>,
}

impl LogKeys {
    /// The `log` lines of `policy`; an origin listed only with keys of a type kpledger does
    /// not verify is known, with no key (so its checkpoints get 403, not 404).
    pub fn from_policy(policy: &TrustPolicy) -> LogKeys {
        let mut logs: BTreeMap<String, Vec<VerifierKey>> = BTreeMap::new();
        for l in policy.logs() {
            logs.entry(l.key.name().to_owned()).or_default().push(l.key.clone());
        }
        for name in policy.unverifiable_log_names() {
            logs.entry(name.to_owned()).or_default();
        }
        LogKeys { logs }
    }
    /// The keys trusted for `origin`, `None` for an unknown origin.
    pub fn get(&self, origin: &str) -> Option<&[VerifierKey]> {
        self.logs.get(origin).map(Vec::as_slice)
    }
    /// The known origins.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }
}

/// A fork or an inconsistent extension: both signed checkpoints, kept on disk by the
/// server (C2SP tlog-witness: "it might be proof of log misbehavior").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The log's origin name (its checkpoints' first line).
    pub origin: String,
    /// What is wrong, in words.
    pub reason: String,
    /// The checkpoint this witness cosigned before, as the log signed it.
    pub cosigned: String,
    /// The checkpoint offered now, as the log signed it.
    pub offered: String,
    /// The `old` size of the request.
    pub old: u64,
    /// The consistency proof of the request.
    pub proof: Vec<Hash>,
}

/// A refusal: the HTTP status, a message for the body and, for a fork, the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 400, 403, 404, 409 or 422.
    pub status: u16,
    /// What happened and what to do (the response body, except for 409).
    pub message: String,
    /// For 409: the size of the last checkpoint this witness cosigned (the response body).
    pub current_size: Option<u64>,
    /// For a refused fork or inconsistent extension: both signed checkpoints.
    pub evidence: Option<Box<Evidence>>,
}

impl Refusal {
    fn new(status: u16, message: impl Into<String>) -> Refusal {
        Refusal { status, message: message.into(), current_size: None, evidence: None }
    }
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Cosign `checkpoint`, after recording `record` for `origin` durably.
    Cosign {
        /// The log's origin name, the key of its record in the state.
        origin: String,
        /// The checkpoint to cosign.
        checkpoint: Checkpoint,
        /// The new record (size, root, the log's signed note).
        record: LogRecord,
    },
    /// Refuse.
    Refuse(Refusal),
}

/// Decides an add-checkpoint request. `state` maps each origin to the last checkpoint this
/// witness cosigned. In order (tlog-witness): a malformed body is 400; an origin not in
/// `logs` is 404; no valid signature by a key of the origin is 403; `old` above the
/// checkpoint's size is 400; `old` other than the last cosigned size (0 for none) is 409 with
/// that size; a size-0 checkpoint whose root is not the empty tree's, a proof that does not
/// show the new tree extends the cosigned one, a proof sent with `old` 0, or the cosigned size
/// with another root (a fork; tlog-witness v1.1.0 answers 422 here, v1.0.0 answered 409) is
/// 422; anything else is cosigned.
pub fn decide(state: &BTreeMap<String, LogRecord>, logs: &LogKeys, body: &[u8]) -> Decision {
    match decide_inner(state, logs, body) {
        Ok(d) => d,
        Err(r) => Decision::Refuse(r),
    }
}

fn decide_inner(
    state: &BTreeMap<String, LogRecord>,
    logs: &LogKeys,
    body: &[u8],
) -> Result<Decision, Refusal> {
    let req = AddCheckpoint::parse(body).map_err(|e| Refusal::new(400, e.to_string()))?;
    let note = Note::parse(&req.note)
        .map_err(|e| Refusal::new(400, format!("the checkpoint is not a signed note: {e}")))?;
    let cp = Checkpoint::parse(note.text())
        .map_err(|e| Refusal::new(400, format!("the note is not a checkpoint: {e}")))?;
    let origin = cp.origin().to_owned();
    let keys = logs.get(&origin).ok_or_else(|| {
        Refusal::new(404, format!("this witness does not witness the log {:?}", clip(&origin)))
    })?;
    let signed = keys.iter().any(|k| open_checkpoint(&req.note, &origin, k, &[]).is_ok());
    if !signed {
        return Err(Refusal::new(
            403,
            format!(
                "the checkpoint carries no valid signature by a key this witness trusts for {:?}",
                clip(&origin)
            ),
        ));
    }
    let (size, root) = (cp.size(), *cp.root_hash());
    if req.old > size {
        return Err(Refusal::new(
            400,
            format!("old size {} is larger than the checkpoint's size {size}", req.old),
        ));
    }
    let last = state.get(&origin);
    let current = last.map_or(0, |r| r.size);
    if req.old != current {
        return Err(Refusal {
            current_size: Some(current),
            ..Refusal::new(
                409,
                format!("this witness last cosigned size {current} of this log, not {}", req.old),
            )
        });
    }
    let record = LogRecord {
        size,
        root,
        note: String::from_utf8_lossy(&req.note).into_owned(),
        cosignatures: String::new(),
    };
    let cosign =
        Ok(Decision::Cosign { origin: origin.clone(), checkpoint: cp.clone(), record: record.clone() });
    if size == 0 && root != EMPTY_ROOT {
        return Err(Refusal::new(422, "a checkpoint of size 0 must carry the root of the empty tree"));
    }
    let Some(last) = last.filter(|r| r.size > 0) else {
        // Nothing cosigned yet (or only the empty tree): every tree extends the empty tree.
        if !req.proof.is_empty() {
            return Err(Refusal::new(422, "the consistency proof from size 0 must be empty"));
        }
        return cosign;
    };
    let evidence = |reason: String| Evidence {
        origin: origin.clone(),
        reason,
        cosigned: last.note.clone(),
        offered: record.note.clone(),
        old: req.old,
        proof: req.proof.clone(),
    };
    if size == last.size {
        if root == last.root && req.proof.is_empty() {
            return cosign;
        }
        if root == last.root {
            return Err(Refusal::new(422, "the consistency proof between two equal sizes must be empty"));
        }
        let reason = format!(
            "fork: the log signed two checkpoints of size {size} with different roots ({} cosigned, {} offered)",
            last.root, root
        );
        return Err(Refusal {
            evidence: Some(Box::new(evidence(reason.clone()))),
            ..Refusal::new(422, reason)
        });
    }
    if !verify_consistency(last.size, size, &last.root, &root, &req.proof) {
        let reason = format!(
            "the consistency proof does not show that the tree of size {size} extends the tree of size {} this witness \
             cosigned: the log rewrote its history, or the proof is wrong",
            last.size
        );
        return Err(Refusal {
            evidence: Some(Box::new(evidence(reason.clone()))),
            ..Refusal::new(422, reason)
        });
    }
    cosign
}

fn clip(s: &str) -> String {
    s.chars().take(100).collect()
}
