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
    let parcel = w.recorded(&koroma, &koidu);
    let parcel_s = w.recorded(&sesay, &tongo);
    let offer = w.sim.offer(&koroma, &parcel, &dealer, kpledger_model::Cents(91_000)).unwrap();
    let kk = w.key(&koroma);
    let ks_old = w.key(&sesay);
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
    let ks_new = w.key(&sesay);

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
    let parcel = w.recorded(&koroma, &koidu);
    let parts = w.sim.split(&koroma, &parcel, &[Points(600), Points(634)]).unwrap();
    w.sim.handover(&koroma, &parts[0], &kamara, Cents(40_000), None).unwrap();
    let sold = w.sim.handover(&koroma, &parts[1], &rival, Cents(45_000), Some(Points(631))).unwrap();
    let sibling_head = w.sim.parcel(&parts[1]).unwrap().head;
    assert_eq!(sibling_head, sold.hash);
    let kk = w.key(&kamara);
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
    // Posted as an offer (no read signature either): refused without naming the holder.
    let a = post(&format!("{}/v1/offers", s.url), "application/json", &serde_json::to_vec(&offer).unwrap());
    assert_eq!(a.status, 422);
    assert!(
        !String::from_utf8_lossy(&a.body).contains(rival.as_str()),
        "{}",
        String::from_utf8_lossy(&a.body)
    );
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
    let kb = w.key(&rival);
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

/// Demonstration of a gap (a format change, reported): koroma's key is stolen and the authority
/// rotates it. The card the service serves afterwards still proves the parcel's holder by the
/// extraction koroma signed with the stolen key, so the buyer's offline check (`handover accept
/// --card`: the offer's key must be the key the card shows the holder signed with) takes the
/// thief's offer and refuses koroma's own. Nothing is recorded: ingest refuses the thief's
/// offer (CH-2). A card cannot show that the holder's key is still current (docs/SPEC.md
/// §14.6); the buyer learns it only when the ledger records or refuses the handover.
#[test]
fn redteam3_gap_a_card_vouches_for_a_holder_key_rotated_away_since() {
    use kpledger_model::Cents;
    use kpledger_verify::TrustPolicy;
    use kpledger_verify::verify_card;
    let mut w = World::new("rt3-card-key");
    let (koroma, kamara, nma, koidu) = (w.koroma.clone(), w.dealer.clone(), w.nma.clone(), w.koidu.clone());
    let parcel = w.recorded(&koroma, &koidu);
    let stolen = w.key(&koroma);
    w.sim.rotate(&nma, &koroma, 1).unwrap();
    let current = w.key(&koroma);
    let kn = w.key(&nma);
    w.sim.ledger_mut().publish_checkpoint(&kn).unwrap();
    let s = start(w.config());

    // Koroma, with its new key, fetches its parcel's card from the service.
    let a = get_signed(&format!("{}/v1/parcels/{parcel}/card", s.url), &koroma, &current, "ck-1");
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let card = verify_card(&a.body, &TrustPolicy::from_keys(vec![kn.public()])).unwrap();
    assert_eq!(card.card.holder, koroma);
    // The gap: the key the card vouches for is the stolen one, rotated away before the checkpoint.
    assert_eq!(card.holder_key, Some(stolen.public()));
    assert_ne!(card.holder_key, Some(current.public()));

    // The thief's offer in koroma's name passes the buyer's offline check; the ledger refuses it.
    let accept = accepted_from_card(&w, &card, &stolen, &kamara, Cents(1_000));
    let a = post_events(&s, &[&accept]);
    assert_eq!(a.status, 422, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.json()["findings"].as_array().unwrap().iter().any(|f| f["code"] == "CH-2"));
}

/// The handover by which `buyer` accepts an offer of the parcel of `card`, made in the card's
/// holder's name for `price` and signed with `key` (whoever holds it); the offer passes what
/// `handover accept --card` compares (its key is the key the card vouches for), and the buyer
/// takes the card's weight.
fn accepted_from_card(
    w: &World,
    card: &kpledger_verify::CheckedCard,
    key: &kpledger_model::SecretKey,
    buyer: &kpledger_model::ActorId,
    price: kpledger_model::Cents,
) -> kpledger_model::ParsedEvent {
    use kpledger_model::{Event, Offer, OfferBody, OfferKind};
    let body = OfferBody {
        v: 1,
        ledger: card.card.ledger.clone(),
        kind: OfferKind::HandoverOffer,
        time: w.sim.now(),
        signer: card.card.holder.clone(),
        parcel: card.card.parcel,
        prev: card.card.head,
        to: buyer.clone(),
        weight_pt: card.card.weight_pt,
        price_usd_cents: price,
    };
    let offer = Offer::sign(body, key).unwrap();
    assert_eq!(Some(offer.sig.key), card.holder_key, "what `handover accept --card` compares");
    let handover = Payload::Handover { offer, weight_pt: card.card.weight_pt };
    Event::sign(w.sim.body(buyer, handover), &w.key(buyer)).unwrap().into_parsed().unwrap()
}

/// Demonstration of a gap (a format change, reported): the root authority's key K0 is stolen
/// and the root rotates to K1. Bundles pin K0, where the chain of root keys starts, and follow
/// the rotation (a checkpoint signed by K0 after it is LOG-2); a card, which carries no root
/// rotation, is checked against every key pinned for the origin (docs/SPEC.md §14.6), so a
/// policy pinning K0 and K1 takes a card the thief made with K0 alone: a parcel of 500.00 ct
/// the ledger never held, "held" by koroma. The buyer's offline check passes; the ledger
/// refuses the handover.
#[test]
fn redteam3_gap_a_card_under_a_rotated_away_root_key_is_accepted() {
    use kpledger_model::{Cents, HsCode, Points};
    use kpledger_testkit::cast::{self, KOIDU, KOROMA, NMA, Step, Terms};
    use kpledger_verify::TrustPolicy;
    use kpledger_verify::verify_card;
    let mut w = World::new("rt3-card-root");
    let (nma, koroma, kamara) = (w.nma.clone(), w.koroma.clone(), w.dealer.clone());
    let k0 = w.key(&nma);
    w.sim.rotate(&nma, &nma, 1).unwrap();
    let k1 = w.key(&nma);
    let s = start(w.config());

    // The thief's own ledger: same origin, root sl.nma under the stolen K0, a fake koroma.
    let path = w.dir.join("forged.kpl");
    let mut f = cast::sim_at(&path, &Terms::new(ORIGIN, "thief", "2026-03-02T08:00:00Z"));
    let root =
        f.genesis_with_key("sl.nma", "National Minerals Agency of Sierra Leone", "SL", k0.clone()).unwrap();
    let steps = [Step::Policy(NMA), Step::Site(NMA.id, KOIDU), Step::Enrol(NMA.id, KOROMA)];
    let c = cast::build_on(&mut f, cast::Cast::default().and(NMA.id, root), &steps, &Terms::published());
    let (mine, fake) = (c.site(KOIDU.0), c.actor(KOROMA.id));
    let parcel = f.new_parcel_id();
    f.submit(
        &fake,
        Payload::Extraction {
            parcel,
            site: mine,
            weight_pt: Points(50_000),
            stones: 40,
            hs_code: HsCode::new("7102.31").unwrap(),
        },
    )
    .unwrap();
    f.ledger_mut().publish_checkpoint(&k0).unwrap();
    let card = serde_json::to_vec(&f.ledger().parcel_card(&parcel).unwrap()).unwrap();

    // The buyer's policy pins K0 (for bundles) and K1 (for cards since the rotation).
    let checked = verify_card(&card, &TrustPolicy::from_keys(vec![k0.public(), k1.public()])).unwrap();
    assert_eq!((&checked.card.holder, checked.card.weight_pt), (&koroma, Points(50_000)), "the gap");
    // Pinning the current root key alone refuses it (LOG-2).
    let only_k1 = verify_card(&card, &TrustPolicy::from_keys(vec![k1.public()])).unwrap_err();
    assert_eq!(only_k1.finding().map(|f| f.code.code()), Some("LOG-2"));

    // The handover the buyer signs from it is refused by the ledger.
    let thief = f.key(&fake).unwrap().clone();
    let accept = accepted_from_card(&w, &checked, &thief, &kamara, Cents(9_000_000));
    assert_eq!(post_events(&s, &[&accept]).status, 422);
}

/// A dealer silences a miner: it replays, many times a second, documents the miner signed
/// (the offer the miner made it, the miner's recorded extraction, which the dealer reads in the
/// parcel's history). Each replay is answered 200 (already waiting, already recorded), but was
/// charged to the miner's per-key rate (`--rate-key`: "signed by one enrolled actor"), so the
/// miner's own reads and submissions got 429. A signature proves who wrote a document, not who
/// sent it: a document already waiting or recorded is no longer charged to its signer.
#[test]
fn redteam3_replaying_an_actors_documents_does_not_spend_its_rate() {
    use kpledger_model::Cents;
    let mut w = World::new("rt3-rate");
    let (koroma, kamara, koidu) = (w.koroma.clone(), w.dealer.clone(), w.koidu.clone());
    let (parcel, ev) = w.extraction(&koroma, &koidu);
    w.sim.ledger_mut().append(&ev).unwrap();
    let offer = w.sim.offer(&koroma, &parcel, &kamara, Cents(91_000)).unwrap();
    let (_, next) = w.extraction(&koroma, &koidu);
    let kk = w.key(&koroma);
    let mut cfg = w.config();
    cfg.rate_ip = None;
    cfg.rate_key = Some(kpledger_serve::Rate { per_second: 1, burst: 3 });
    let s = start(cfg);
    let offers = format!("{}/v1/offers", s.url);
    let doc = serde_json::to_vec(&offer).unwrap();
    // Koroma posts its offer: one of its three tokens.
    assert_eq!(post(&offers, "application/json", &doc).status, 201);
    // An older offer of koroma's, made before the parcel's latest event: no longer current.
    let mut body = offer.body.clone();
    body.prev = kpledger_model::Hash([7; 32]);
    let stale = serde_json::to_vec(&kpledger_model::Offer::sign(body, &kk).unwrap()).unwrap();
    // The dealer replays them and the recorded extraction, ten times each.
    for _ in 0..10 {
        assert_eq!(post(&offers, "application/json", &doc).status, 200);
        assert_eq!(post(&offers, "application/json", &stale).status, 422);
        assert_eq!(post_events(&s, &[&ev]).status, 200);
    }
    // Koroma's own read and its next extraction are still within its rate.
    let a = get_signed(&format!("{}/v1/parcels/{parcel}", s.url), &koroma, &kk, "rt-1");
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let a = post_events(&s, &[&next]);
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
}
