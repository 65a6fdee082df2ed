//! C2SP [tlog-witness](https://c2sp.org/tlog-witness) for kpledger, both ways.
//!
//! - [`AddCheckpoint`]: the `add-checkpoint` request body (old size, up to 63 consistency-proof
//!   lines, an empty line, the signed checkpoint), parsed and written byte for byte.
//! - [`decide`]: the witness's decision as a pure function of its state and the request
//!   body: 400, 403, 404, 409 (with the witness's size), 422, or cosign.
//! - [`StateFile`]: the witness's durable state file (one per witness, locked) and the evidence
//!   of refused forks.
//! - [`Witness`], [`router`], [`serve`]: the HTTP service (axum): one lock held across the
//!   check, the durable write and the cosignature.
//! - [`request_cosignatures`]: the log's side: submit a checkpoint, re-prove after 409.
//! - [`http_agent`]: kpledger's one HTTP client builder (the witness client's [`agent`], and
//!   the CLI's client of `kpledger serve`), with [`CaRoots`] for a private CA.
//! - [`witness_newest`]: a kpledger ledger's witnessing round (its newest checkpoint to every
//!   witness of a policy, the cosignatures stored), for `kpledger log witness` and
//!   `kpledger serve`.
//!
//! Which logs a witness witnesses, and which witnesses a log asks, are read from the same
//! C2SP tlog-policy text ([`kpledger_verify::TrustPolicy`]): a witness reads the `log`
//! lines, a log the `witness` lines' URLs (their submission prefixes).
//!
//! Libraries never print: the server reports its decisions through a callback.
#![deny(missing_docs)]

mod client;
mod decide;
mod http;
mod log;
mod request;
mod server;
mod state;

use std::collections::BTreeSet;

use kpledger_model::note::Note;
use kpledger_verify::TrustPolicy;

pub use client::{ClientError, Cosigned, WitnessAnswer, request_cosignatures};
pub use decide::{Decision, Evidence, LogKeys, LogRecord, Refusal, decide};
pub use http::{CaError, CaRoots, WITNESS_TIMEOUT, agent, http_agent, is_certificate_error};
pub use log::{Round, WitnessOutcome, newest_fully_cosigned, witness_newest};
pub use request::{AddCheckpoint, MAX_BODY_BYTES, MAX_PROOF_LINES, RequestError};
pub use server::{Answer, Witness, router, serve};
pub use state::{StateError, StateFile};

/// The policy's witnesses (indexes into [`TrustPolicy::witnesses`]) whose cosignatures on
/// `note` verify. Lines by other keys, or of signature types kpledger does not verify, are
/// ignored; a note that does not parse, or in which a cosignature by a policy witness does
/// not verify, counts no witness.
pub fn cosigned_by(policy: &TrustPolicy, note: &[u8]) -> BTreeSet<usize> {
    let keys: Vec<_> = policy.witnesses().iter().filter_map(|w| w.key.clone()).collect();
    let Ok(verifiers) = kpledger_model::note::Verifiers::new(keys) else { return BTreeSet::new() };
    let Ok(opened) = Note::parse(note).and_then(|n| n.open(&verifiers)) else { return BTreeSet::new() };
    opened
        .verified()
        .iter()
        .filter_map(|v| policy.witnesses().iter().position(|w| w.key.as_ref() == Some(v.key())))
        .collect()
}
