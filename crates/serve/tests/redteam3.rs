//! Third red-team review of the service (SECURITY.md, "Third red-team review"): each test
//! rebuilds an attack on `kpledger serve` over HTTP on 127.0.0.1 (port 0), in process.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kpledger_core::sim::text;
use kpledger_model::Payload;

/// The authority revokes a miner's key (stolen, or the miner struck off) or rotates a trader's
/// key with the CLI on the ledger file the service serves (`kpledger actor revoke --ledger`,
/// as `kpledger log publish` writes to it beside the service). The service's registry of
/// keys was replaced only after its own writer's commits, so the revoked key went on reading
/// the parcel and posting offers, and the rotated-away key went on reading, until the next
/// enrolment submitted over HTTP. Now a read is held to the ledger's own record of the
/// signer, read on the same connection as the data.
#[test]
fn redteam3_a_key_revoked_or_rotated_beside_the_service_no_longer_reads() {
    let mut w = World::new("rt3-revoked");
    let (koroma, sesay, nma, koidu, tongo, dealer) = (
        w.koroma.clone(),
        w.sesay.clone(),
        w.nma.clone(),
        w.koidu.clone(),
        w.tongo.clone(),
        w.dealer.clone(),
    );
    let (parcel, ev) = w.extraction(&koroma, &koidu);
    w.sim.ledger_mut().append(&ev).unwrap();
    let (parcel_s, ev_s) = w.extraction(&sesay, &tongo);
    w.sim.ledger_mut().append(&ev_s).unwrap();
    let offer = w.sim.offer(&koroma, &parcel, &dealer, kpledger_model::Cents(91_000)).unwrap();
    let kk = w.sim.key(&koroma).unwrap().clone();
    let ks_old = w.sim.key(&sesay).unwrap().clone();
    let s = start(w.config());
    let url = format!("{}/v1/parcels/{parcel}", s.url);
    let url_s = format!("{}/v1/parcels/{parcel_s}", s.url);
    assert_eq!(get_signed(&url, &koroma, &kk, "rv-1").status, 200);
    assert_eq!(get_signed(&url_s, &sesay, &ks_old, "rv-2").status, 200);

    // Beside the service, on the same file: koroma revoked, sesay's key rotated.
    w.sim
        .submit(&nma, Payload::Revoke { actor: koroma.clone(), reason: text("key reported stolen").unwrap() })
        .unwrap();
    w.sim.rotate(&nma, &sesay, 1).unwrap();
    let ks_new = w.sim.key(&sesay).unwrap().clone();

    // The thief with koroma's revoked key: no read, no offer relayed.
    let a = get_signed(&url, &koroma, &kk, "rv-3");
    assert_eq!(a.status, 401, "a revoked key read the parcel: {}", String::from_utf8_lossy(&a.body));
    let a = get_signed(&format!("{}/v1/actors", s.url), &koroma, &kk, "rv-4");
    assert_eq!(a.status, 401, "a revoked key read the actors");
    let a = post(&format!("{}/v1/offers", s.url), "application/json", &serde_json::to_vec(&offer).unwrap());
    assert_eq!(
        a.status,
        422,
        "an offer signed by a revoked key was kept: {}",
        String::from_utf8_lossy(&a.body)
    );
    // sesay's old key no longer reads; the new one does.
    let a = get_signed(&url_s, &sesay, &ks_old, "rv-5");
    assert_eq!(a.status, 401, "a rotated-away key read the parcel");
    let a = get_signed(&url_s, &sesay, &ks_new, "rv-6");
    assert_eq!(a.status, 200, "the current key is refused: {}", String::from_utf8_lossy(&a.body));
}

/// A dealer reads the history of the parcel it bought, which names its sibling (the other
/// output of the miner's split, sold to a rival dealer); reading the sibling is 403. It then
/// submits a handover of the sibling to itself, offered by itself: the 422's findings said who
/// holds the sibling now (CH-2), its head (CH-1) and its weight, which the read refused. A
/// refused event's findings now name only their rule codes when its signer may not read a
/// parcel it names.
#[test]
fn redteam3_a_refused_submission_does_not_reveal_a_parcel_its_signer_may_not_read() {
    use kpledger_core::sim::licence;
    use kpledger_model::{Cents, Event, Offer, OfferBody, OfferKind, Points, Role};
    let mut w = World::new("rt3-leak");
    let (koroma, kamara, nma, koidu) = (w.koroma.clone(), w.dealer.clone(), w.nma.clone(), w.koidu.clone());
    let rival = w
        .sim
        .enrol(
            &nma,
            "sl.dealer.bangura",
            "Bangura Diamonds",
            Role::Dealer,
            "SL",
            Some(licence("NMA/DL/2026/077", "dealer", "2026-01-01", "2026-12-31", &[]).unwrap()),
        )
        .unwrap();
    let (parcel, ev) = w.extraction(&koroma, &koidu);
    w.sim.ledger_mut().append(&ev).unwrap();
    let parts = w.sim.split(&koroma, &parcel, &[Points(600), Points(634)]).unwrap();
    w.sim.handover(&koroma, &parts[0], &kamara, Cents(40_000), None).unwrap();
    let sold = w.sim.handover(&koroma, &parts[1], &rival, Cents(45_000), Some(Points(631))).unwrap();
    let sibling_head = w.sim.parcel(&parts[1]).unwrap().head;
    assert_eq!(sibling_head, sold.hash);
    let kk = w.sim.key(&kamara).unwrap().clone();
    let s = start(w.config());

    // Kamara's own parcel's history names the sibling; the sibling itself is not Kamara's to read.
    let h = get_signed(&format!("{}/v1/parcels/{}/history", s.url, parts[0]), &kamara, &kk, "lk-1");
    assert_eq!(h.status, 200);
    assert!(String::from_utf8_lossy(&h.body).contains(&parts[1].to_string()));
    let r = get_signed(&format!("{}/v1/parcels/{}", s.url, parts[1]), &kamara, &kk, "lk-2");
    assert_eq!(r.status, 403);

    // The probe: a handover of the sibling, offered by Kamara to itself, naming the split as head.
    let split_hash = w.sim.ledger().parcel_events(&parts[1]).unwrap()[0].1.hash;
    let body = OfferBody {
        v: 1,
        ledger: kpledger_model::Origin::new(ORIGIN).unwrap(),
        kind: OfferKind::HandoverOffer,
        time: w.sim.now(),
        signer: kamara.clone(),
        parcel: parts[1],
        prev: split_hash,
        to: kamara.clone(),
        weight_pt: Points(1),
        price_usd_cents: Cents(1),
    };
    let offer = Offer::sign(body, &kk).unwrap();
    let probe = Event::sign(w.sim.body(&kamara, Payload::Handover { offer, weight_pt: Points(1) }), &kk)
        .unwrap()
        .into_parsed()
        .unwrap();
    let a = post_events(&s, &[&probe]);
    assert_eq!(a.status, 422);
    let text = String::from_utf8_lossy(&a.body).into_owned();
    let v = a.json();
    let codes: Vec<&str> =
        v["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"CH-2"), "{text}");
    for secret in [rival.as_str(), &sibling_head.short(), &sibling_head.to_hex(), "6.31"] {
        assert!(!text.contains(secret), "the refusal reveals {secret}: {text}");
    }
    // The holder's own mistakes are still explained: Bangura splitting from a stale head.
    let kb = w.sim.key(&rival).unwrap().clone();
    let held = w.sim.parcel(&parts[1]).unwrap();
    let outputs = w.sim.split_outputs(&held, &[Points(300), Points(331)]);
    let split =
        Event::sign(w.sim.body(&rival, Payload::Split { parcel: parts[1], prev: split_hash, outputs }), &kb)
            .unwrap()
            .into_parsed()
            .unwrap();
    let a = post_events(&s, &[&split]);
    assert_eq!(a.status, 422);
    assert!(String::from_utf8_lossy(&a.body).contains(&sibling_head.short()), "the holder is told its head");
}
