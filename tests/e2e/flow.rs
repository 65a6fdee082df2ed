//! A whole trade through the CLI: mine site → dealer (offline offer and acceptance, and at one
//! desk) → sorting (split, merge) → exporter → export lot valued and sealed → provenance and
//! whole-ledger verification.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::{AUTHORITY, DEALER, EXPORTER, MINER, ORIGIN, SITE, Trade, VALUER, pub_of, verify_json};

/// A fixed id for the first parcel (`extract --parcel`), so that its history is predictable.
const P1: &str = "0195f3a2-7c1e-7a00-8000-000000000001";

#[test]
fn full_trade_flow_through_the_cli() {
    flow(Trade::new("flow"));
}

/// The same flow, the ledger a PostgreSQL database (`--ledger postgres://…`).
#[test]
fn full_trade_flow_through_the_cli_on_postgres() {
    let Some(store) = crate::backends::Store::postgres() else { return };
    flow(Trade::new_in("flow-pg", &store));
}

fn flow(t: Trade) {
    let ledger = &t.ledger;

    // The authority enrolled four licensed actors besides itself.
    let actors = kp!("actor", "list", "--ledger", ledger, "--json").run().ok().json();
    let roles: BTreeSet<(String, String)> = actors
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (a["record"]["id"].as_str().unwrap().to_owned(), a["record"]["role"].as_str().unwrap().to_owned())
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        (AUTHORITY, "authority"),
        (MINER, "miner"),
        (DEALER, "dealer"),
        (EXPORTER, "exporter"),
        (VALUER, "valuer"),
    ]
    .iter()
    .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(roles, expected, "{actors:#}");
    // An openssl private key and its openssl public key are the same key to kpledger.
    let private = kp!("key", "show", &t.dealer, "--json").run().ok().json();
    let public = kp!("key", "show", pub_of(&t.dealer), "--json").run().ok().json();
    assert_eq!(private["kind"], "private");
    assert_eq!(public["kind"], "public");
    assert_eq!(private["fingerprint"], public["fingerprint"]);

    // The miner registers two parcels at the licensed site.
    let out = signed!(t, &t.miner, "extract", "--json", "--site", SITE, "--weight", "12.34", "--stones", "9")
        .args(["--hs", "7102.31", "--parcel", P1])
        .run();
    assert_eq!(out.created(), [P1], "{out}");
    let p2 = t.extract("5.00", "4");

    // Offline handover of P1: the miner signs an offer to a file, the dealer re-weighs and
    // signs the acceptance to a file, and the authority's clerk ingests it later.
    let offer = t.dir.join("offer.json");
    let handover = t.dir.join("handover.json");
    signed!(
        t, &t.miner, "handover", "offer", "--parcel", P1, "--to", DEALER, "--price", "3566.26", "--out",
        &offer
    )
    .run()
    .ok()
    .stdout_has("handover accept");
    let offer_doc: Value = serde_json::from_slice(&std::fs::read(&offer).unwrap()).unwrap();
    assert_eq!(offer_doc["body"]["kind"], "handover_offer", "{offer_doc:#}");
    assert_eq!(offer_doc["body"]["weight_pt"], 1234, "{offer_doc:#}");
    assert_eq!(offer_doc["body"]["price_usd_cents"], 356_626, "{offer_doc:#}");
    let before = crate::util::snapshot(ledger);
    signed!(t, &t.dealer, "handover", "accept", &offer, "--weight", "12.33", "--out", &handover)
        .run()
        .ok()
        .stdout_has("kpledger ingest");
    assert_eq!(before, crate::util::snapshot(ledger), "signing with --out must not change the ledger");
    let ingested = kp!("ingest", "--ledger", ledger, &handover, "--json").run().ok().json();
    assert_eq!(ingested["ok"], true, "{ingested:#}");
    assert_eq!(ingested["recorded"].as_array().map(Vec::len), Some(1), "{ingested:#}");
    let p1 = kp!("parcel", "show", P1, "--ledger", ledger, "--json").run().ok().json();
    assert_eq!(p1["holder"], DEALER, "{p1:#}");
    assert_eq!(p1["weight_pt"], 1233, "the dealer's re-weighed weight counts: {p1:#}");

    // P2 changes hands at one desk, both keys present.
    let out = t.handover(&p2, &t.miner, &t.dealer, "1450.00").arg("--time").arg(t.tick()).arg("--json").run();
    assert!(out.created().is_empty(), "a handover creates no parcel\n{out}");

    // The dealer sorts: splits P1 in two, and merges one part with P2.
    let out =
        signed!(t, &t.dealer, "split", "--json", "--parcel", P1, "--into", "7.20", "--into", "5.13").run();
    let parts = out.created();
    out.check(parts.len() == 2, "a split into two creates two parcels");
    let (a, b) = (&parts[0], &parts[1]);
    let out = signed!(t, &t.dealer, "merge", "--json", "--parcel", b, "--parcel", &p2).run();
    let merged = out.created();
    out.check(merged.len() == 1, "a merge creates one parcel");
    let m = &merged[0];

    // Dealer → exporter, at one desk, for both parcels; the exporter assembles the lot.
    for p in [a, m] {
        t.handover(p, &t.dealer, &t.exporter, "9000").arg("--time").arg(t.tick()).arg("--json").run().ok();
    }
    let out = signed!(t, &t.exporter, "merge", "--json", "--parcel", a, "--parcel", m).run();
    let lot = out.created();
    out.check(lot.len() == 1, "a merge creates one parcel");
    let lot = &lot[0];

    // Official valuation: Sierra Leone takes the highest of three values by default.
    let values = ["--exporter", "41000", "--government", "42640", "--independent", "41820"];
    let out = signed!(t, &t.valuer, "value", "--json", "--parcel", lot).args(values).run();
    assert!(out.created().is_empty(), "{out}");
    // The authority seals the lot.
    let out = signed!(t, &t.nma, "seal", "--json", "--parcel", lot, "--seal", "SL-SEAL-2026-0101").run();
    assert!(out.created().is_empty(), "{out}");

    let state = kp!("parcel", "show", lot, "--ledger", ledger, "--json").run().ok().json();
    assert_eq!(state["status"], "sealed", "{state:#}");
    assert_eq!(state["holder"], EXPORTER, "{state:#}");
    assert_eq!(state["weight_pt"], 1733, "12.33 ct + 5.00 ct: {state:#}");
    assert_eq!(state["value_usd_cents"], 4_264_000, "highest of three: {state:#}");
    assert_eq!(state["origin_countries"], serde_json::json!(["SL"]), "{state:#}");

    // Provenance of the lot, back to both extractions.
    let history = kp!("parcel", "history", lot, "--ledger", ledger, "--json").run().ok().json();
    let events = history.as_array().unwrap_or_else(|| panic!("history is not a list: {history:#}"));
    let kinds: Vec<&str> = events.iter().map(|e| e["event"]["body"]["kind"].as_str().unwrap()).collect();
    for kind in ["extraction", "handover", "split", "merge", "valuation", "seal"] {
        assert!(kinds.contains(&kind), "the history should include a {kind}: {kinds:?}");
    }
    // 2 extractions, 4 handovers, 1 split, 2 merges, 1 valuation, 1 seal.
    assert_eq!(events.len(), 11, "{kinds:?}");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "history is in ledger order: {seqs:?}");
    let mined: BTreeSet<&str> = events
        .iter()
        .filter(|e| e["event"]["body"]["kind"] == "extraction")
        .map(|e| e["event"]["body"]["parcel"].as_str().unwrap())
        .collect();
    assert_eq!(mined, BTreeSet::from([P1, p2.as_str()]));
    let valuation = events.iter().find(|e| e["event"]["body"]["kind"] == "valuation").unwrap();
    assert_eq!(valuation["event"]["body"]["final_usd_cents"], 4_264_000, "{valuation:#}");
    assert!(events.iter().all(|e| e["event"]["body"]["ledger"] == ORIGIN));

    let table = kp!("parcel", "history", lot, "--ledger", ledger).run();
    table.ok().stdout_has(&format!("provenance of parcel {lot}: 11 events"));
    for word in ["extraction", "handover", "split", "merge", "valuation", "seal", MINER, DEALER, EXPORTER] {
        table.stdout_has(word);
    }

    // The whole ledger verifies: 7 set-up events and 11 of the trade.
    let (out, report) = verify_json(ledger);
    out.ok();
    assert_eq!(report["ok"], true, "{out}");
    assert_eq!(report["errors"], 0, "{out}");
    assert_eq!(report["events"], 18, "{out}");
    assert_eq!(report["ledger"], ORIGIN, "{out}");
    kp!("verify", "--ledger", ledger).run().ok().stdout_has("VERIFIED");
}
