//! The log's side of C2SP tlog-witness: send a checkpoint with a consistency proof to a
//! witness's `add-checkpoint`, and on 409 prove again from the size the witness returns.

use kpledger_model::Hash;
use kpledger_verify::TrustPolicy;

use crate::request::{AddCheckpoint, parse_decimal};

/// How many requests one submission makes at most (the first, and re-proofs after 409).
pub(crate) const MAX_ATTEMPTS: usize = 3;

/// Why a witness did not cosign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request could not be made or its answer read.
    #[error("{url}: {reason}")]
    Transport {
        /// The add-checkpoint URL.
        url: String,
        /// The HTTP client's error (connection, TLS, timeout, or an unreadable answer).
        reason: String,
    },
    /// The witness refused with a status other than 409.
    #[error("{url}: the witness answered {status}: {body}")]
    Refused {
        /// The witness's add-checkpoint URL.
        url: String,
        /// The HTTP status it answered (neither 200 nor 409).
        status: u16,
        /// Its body (clipped).
        body: String,
    },
    /// The witness has cosigned a larger checkpoint of this log than the one offered.
    #[error(
        "{url}: the witness has already cosigned size {theirs} of this log, more than the checkpoint of size {ours} offered: publish a newer checkpoint"
    )]
    WitnessAhead {
        /// The witness's add-checkpoint URL.
        url: String,
        /// The size the witness's 409 says it cosigned last.
        theirs: u64,
        /// The offered size.
        ours: u64,
    },
    /// 409 at the size just proven from (a tlog-witness v1.0.0 witness's answer to a fork at
    /// that size), or twice at one size.
    #[error(
        "{url}: the witness refuses the checkpoint at size {size} (409 at the size proven from: it cosigned another root at that size)"
    )]
    Conflict {
        /// The witness's add-checkpoint URL.
        url: String,
        /// The size the 409 named: the one just proven from, or one it named before.
        size: u64,
    },
    /// The consistency proof could not be made.
    #[error("{url}: cannot prove consistency from size {from}: {reason}")]
    Proof {
        /// The witness's add-checkpoint URL.
        url: String,
        /// The size to prove from.
        from: u64,
        /// Why the log could not make the proof.
        reason: String,
    },
    /// A 409 without a size body.
    #[error("{url}: a 409 answer without a tree size (text/x.tlog.size): {body}")]
    BadConflict {
        /// The witness's add-checkpoint URL.
        url: String,
        /// The body (clipped).
        body: String,
    },
}

/// A cosigned answer: the signature lines and the size the proof started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The signature lines (each `— <name> <base64>\n`), not yet verified.
    pub lines: String,
    /// The `old` size of the request that succeeded.
    pub old: u64,
    /// Requests made.
    pub attempts: usize,
}

/// The add-checkpoint URL of a witness's submission prefix.
pub(crate) fn add_checkpoint_url(prefix: &str) -> String {
    format!("{}/add-checkpoint", prefix.trim_end_matches('/'))
}

/// Sends `note` (a signed checkpoint of `size` entries) to the witness at `prefix`, with a
/// consistency proof from `old` (the size this log believes the witness cosigned last) made
/// by `prove(from)`; on 409 proves again from the size the witness returns, at most
/// [`MAX_ATTEMPTS`] requests in all. `prove` is never asked for a proof from 0 or from `size`
/// (both are empty).
pub(crate) fn submit(
    agent: &ureq::Agent,
    prefix: &str,
    note: &[u8],
    size: u64,
    mut old: u64,
    prove: &mut dyn FnMut(u64) -> Result<Vec<Hash>, String>,
) -> Result<Cosigned, ClientError> {
    let url = add_checkpoint_url(prefix);
    let clip = |s: &str| s.chars().take(300).collect::<String>().trim_end().to_owned();
    let mut last_conflict = None;
    for attempt in 1..=MAX_ATTEMPTS {
        let proof = if old == 0 || old >= size {
            Vec::new()
        } else {
            prove(old).map_err(|reason| ClientError::Proof { url: url.clone(), from: old, reason })?
        };
        let body = AddCheckpoint { old, proof, note: note.to_vec() }.to_bytes();
        let transport = |e: ureq::Error| ClientError::Transport { url: url.clone(), reason: e.to_string() };
        let mut resp =
            agent.post(&url).header("Content-Type", "text/plain").send(&body[..]).map_err(transport)?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().with_config().limit(1 << 20).read_to_string().map_err(transport)?;
        match status {
            200 => return Ok(Cosigned { lines: text, old, attempts: attempt }),
            409 => {
                let theirs = text
                    .strip_suffix('\n')
                    .and_then(|t| parse_decimal(t.as_bytes()))
                    .ok_or_else(|| ClientError::BadConflict { url: url.clone(), body: clip(&text) })?;
                if theirs > size {
                    return Err(ClientError::WitnessAhead { url, theirs, ours: size });
                }
                if last_conflict == Some(theirs) || theirs == old {
                    return Err(ClientError::Conflict { url, size: theirs });
                }
                last_conflict = Some(theirs);
                old = theirs;
            }
            _ => return Err(ClientError::Refused { url, status, body: clip(&text) }),
        }
    }
    Err(ClientError::Conflict { url, size: old })
}

/// One witness's answer in [`request_cosignatures`].
#[derive(Debug)]
pub struct WitnessAnswer {
    /// The witness (index into [`TrustPolicy::witnesses`]).
    pub index: usize,
    /// Its name in the policy.
    pub name: String,
    /// Its submission prefix.
    pub url: String,
    /// The cosignature lines (not yet verified or stored), or why there are none.
    pub result: Result<Cosigned, ClientError>,
}

/// The log's side for a whole policy: sends the checkpoint `note` (of `size` entries) to every
/// witness of `policy` that has a URL and a key kpledger verifies. `old` for each is the size of
/// the newest of `stored` (the log's stored checkpoints: size and note with its cosignatures)
/// that carries a valid cosignature by that witness, or 0; `prove(from)` makes the consistency
/// proof from `from` to `size`. The caller verifies and stores the lines (kpledger:
/// `Ledger::add_cosignatures` with the witness's policy key), as `kpledger log witness` does and
/// a log server does after each checkpoint it publishes.
pub fn request_cosignatures(
    agent: &ureq::Agent,
    policy: &TrustPolicy,
    note: &[u8],
    size: u64,
    stored: &[(u64, String)],
    prove: &mut dyn FnMut(u64) -> Result<Vec<Hash>, String>,
) -> Vec<WitnessAnswer> {
    let mut out = Vec::new();
    for (index, w) in policy.witnesses().iter().enumerate() {
        let (Some(url), Some(_)) = (&w.url, &w.key) else { continue };
        let old = stored
            .iter()
            .filter(|(s, _)| *s <= size)
            .rev()
            .find(|(_, n)| crate::cosigned_by(policy, n.as_bytes()).contains(&index))
            .map_or(0, |(s, _)| *s);
        let result = submit(agent, url, note, size, old, prove);
        out.push(WitnessAnswer { index, name: w.name.clone(), url: url.clone(), result });
    }
    out
}
