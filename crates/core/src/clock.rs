//! The recording machine's check of an event's date against its own clock.
//!
//! The rules have no clock (a verifier must give the same answer tomorrow); the machine that
//! records an event does, and refuses what can only be a wrong or forged date. The CLI
//! (`ingest`, `submit`, signing commands) and the service (`POST /v1/events`, offers) apply the
//! same bound through this module.

use kpledger_model::{ParsedEvent, Payload, Time};

/// How far after the recording machine's clock an event may be dated: a day, for clocks set
/// badly and time zones misread.
pub const MAX_AHEAD_SECS: i64 = 24 * 3600;

/// Whether `time` is more than [`MAX_AHEAD_SECS`] after `now` (Unix seconds).
pub fn is_ahead(time: &Time, now: i64) -> bool {
    time.unix() > now + MAX_AHEAD_SECS
}

/// The first date `ev` carries (its own, then a handover's embedded offer's) that is more than
/// [`MAX_AHEAD_SECS`] after `now` (Unix seconds), if any.
pub fn dated_ahead(ev: &ParsedEvent, now: i64) -> Option<&Time> {
    let offer = match &ev.event.body.payload {
        Payload::Handover { offer, .. } => Some(&offer.body.time),
        _ => None,
    };
    std::iter::once(&ev.event.body.time).chain(offer).find(|t| is_ahead(t, now))
}
