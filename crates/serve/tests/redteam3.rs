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
