//! The state-free half of verification, on every core.
//!
//! Parsing an event's bytes, its canonical form, its hash and its signatures depend on
//! nothing but the event, so they are done ahead of the rules, in parallel: the rules then
//! run in ledger order on one thread with the signatures' verdicts in hand
//! ([`crate::rules::check_event_signed`]). Signatures go to the worker threads in chunks
//! of [`CHUNK`], which [`SigMode::Batch`] verifies as one batch each.

use kpledger_model::canonical::JsonError;
use kpledger_model::sign::SigMode;
use kpledger_model::{Event, ParsedEvent};
use rayon::prelude::*;

use crate::rules::Signatures;

/// Events per work item: large enough for a batch verification to pay off (its gain grows
/// with the batch and flattens past a few dozen signatures) and to amortise the hand-off,
/// small enough to keep every core busy to the end.
pub const CHUNK: usize = 64;

/// A stored event's state-free checks: the event read strictly (or why not), and, if it
/// was read, the verdicts on its signatures.
#[derive(Debug)]
pub struct Prepared {
    /// The event, or why its bytes are not a valid signed event.
    pub parsed: Result<ParsedEvent, JsonError>,
    /// The signatures' verdicts, for an event that was read.
    pub sigs: Option<Signatures>,
}

/// Reads each document as a signed event and checks its signatures, on all cores;
/// `out[i]` is for `docs[i]`.
pub fn prepare<T: AsRef<[u8]> + Sync>(docs: &[T], mode: SigMode) -> Vec<Prepared> {
    docs.par_chunks(CHUNK).flat_map_iter(|chunk| prepare_chunk(chunk, mode)).collect()
}

fn prepare_chunk<T: AsRef<[u8]>>(chunk: &[T], mode: SigMode) -> Vec<Prepared> {
    let parsed: Vec<Result<ParsedEvent, JsonError>> =
        chunk.iter().map(|d| Event::parse(d.as_ref())).collect();
    let good: Vec<&ParsedEvent> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
    let mut sigs = Signatures::check_all(&good, mode).into_iter();
    parsed
        .into_iter()
        .map(|parsed| {
            let sigs = if parsed.is_ok() { sigs.next() } else { None };
            Prepared { parsed, sigs }
        })
        .collect()
}

/// Checks the signatures of events already read, on all cores; `out[i]` is for `events[i]`.
pub fn signatures(events: &[ParsedEvent], mode: SigMode) -> Vec<Signatures> {
    events
        .par_chunks(CHUNK)
        .flat_map_iter(|chunk| {
            let refs: Vec<&ParsedEvent> = chunk.iter().collect();
            Signatures::check_all(&refs, mode)
        })
        .collect()
}
