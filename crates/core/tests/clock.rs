//! The recording machine's date check (`kpledger_core::clock`), shared by `kpledger ingest`,
//! the signing commands and the service: an event, or the offer a handover embeds, dated more
//! than a day after the machine's clock is found; the bound itself is exact.
#![allow(clippy::unwrap_used)]

use kpledger_core::clock::{MAX_AHEAD_SECS, dated_ahead, is_ahead};
use kpledger_model::{Cents, Payload};
use kpledger_testkit::cast::{self, KAMARA, KOIDU, KOROMA, Terms};
use kpledger_testkit::events;

#[test]
fn an_event_or_its_embedded_offer_dated_more_than_a_day_ahead_is_found() {
    let terms = Terms::new("kpledger.sl/clock", "clock", "2026-03-02T08:00:00Z");
    let (mut sim, c, _tmp) = cast::world("clock", cast::SIERRA_LEONE, &terms);
    let (miner, dealer, koidu) = (c.actor(KOROMA.id), c.actor(KAMARA.id), c.site(KOIDU.0));
    let extraction = events::extraction(&mut sim, &miner, &koidu, 100, 1);
    let t = extraction.event.body.time.unix();
    // The bound is exact: a day ahead passes, a second more does not.
    assert!(dated_ahead(&extraction, t).is_none());
    assert!(dated_ahead(&extraction, t - MAX_AHEAD_SECS).is_none());
    assert_eq!(dated_ahead(&extraction, t - MAX_AHEAD_SECS - 1), Some(&extraction.event.body.time));
    assert!(!is_ahead(&extraction.event.body.time, t - MAX_AHEAD_SECS));
    assert!(is_ahead(&extraction.event.body.time, t - MAX_AHEAD_SECS - 1));

    // A handover dated now whose embedded offer is dated three days later: the offer's date
    // is found, though the event's own is not ahead.
    sim.ledger_mut().append(&extraction).unwrap();
    let parcel = extraction.event.body.payload.parcels()[0].0;
    sim.tick(3 * 24 * 60);
    let offer = sim.offer(&miner, &parcel, &dealer, Cents(91_000)).unwrap();
    sim.tick(-3 * 24 * 60);
    let handover = sim
        .sign(&dealer, Payload::Handover { offer: offer.clone(), weight_pt: offer.body.weight_pt })
        .unwrap();
    let now = handover.event.body.time.unix();
    assert!(!is_ahead(&handover.event.body.time, now));
    assert_eq!(dated_ahead(&handover, now), Some(&offer.body.time));
}
