//! Events the ledger's rules refuse: exit 1, the rule named, and nothing written.

use crate::util::{DEALER, EXPORTER, Out, Trade, licence_2026, pub_of, snapshot, verify_json};

/// The number of events `verify --ledger --json` counts (and the ledger must verify).
fn events(t: &Trade) -> u64 {
    let (out, report) = verify_json(&t.ledger);
    out.ok();
    report["events"].as_u64().unwrap()
}

/// A new trade in which the miner has offered a parcel of 3.00 ct to the dealer (the
/// signed offer is the returned file).
fn offered(tag: &str) -> (Trade, std::path::PathBuf) {
    let t = Trade::new(tag);
    let parcel = t.extract("3.00", "2");
    let offer = t.dir.join("offer.json");
    t.offer(&t.miner, &parcel, DEALER, "100", &offer);
    (t, offer)
}

#[track_caller]
fn refused(out: &Out, rule: &str) {
    out.code(1).stderr_has(rule).stderr_has("nothing was recorded");
}

#[test]
fn a_parcel_that_gains_weight_on_receipt_is_refused_and_nothing_is_written() {
    let (t, offer) = offered("refusal-mb3");
    let before = snapshot(&t.ledger);
    let count = events(&t);

    // Recorded directly: the dealer claims more than was offered.
    let time = t.tick();
    let accept = |extra: &[&str]| {
        let mut cmd = kp!(
            "handover", "accept", &offer, "--ledger", &t.ledger, "--key", &t.dealer, "--time", &time,
            "--weight", "3.50"
        );
        for a in extra {
            cmd = cmd.arg(a);
        }
        cmd.run()
    };
    refused(&accept(&[]), "MB-3");
    let out = accept(&["--json"]);
    out.code(1);
    let v = out.json();
    assert_eq!(v["ok"], false, "{out}");
    assert!(
        v["findings"].as_array().unwrap().iter().any(|f| f["code"] == "MB-3" && f["severity"] == "error"),
        "{out}"
    );
    assert_eq!(before, snapshot(&t.ledger), "a refused event must leave the ledger as it was");

    // Signed offline with --out: the ledger would refuse it, so nothing is written (exit 1).
    let bad = t.dir.join("gained.json");
    let out = accept(&["--out", bad.to_str().unwrap()]);
    out.code(1).stderr_has("MB-3").stderr_has("nothing was written");
    assert!(!bad.exists(), "a refused event must not be written for a later ingest");
    assert_eq!(before, snapshot(&t.ledger));
    // The honest weight is accepted; replaying the same signed event is refused.
    let honest = t.dir.join("honest.json");
    signed!(t, &t.dealer, "handover", "accept", &offer, "--weight", "2.99", "--out", &honest).run().ok();
    kp!("ingest", "--ledger", &t.ledger, &honest).run().ok();
    let after = snapshot(&t.ledger);
    assert_eq!(events(&t), count + 1);
    // Ingesting it again is a retry, not a second receipt: nothing to do (exit 0).
    let replay = kp!("ingest", "--ledger", &t.ledger, &honest).run();
    replay.ok().stdout_has("already recorded");
    assert_eq!(after, snapshot(&t.ledger), "a replayed event must leave the ledger as it was");
}

#[test]
fn a_merge_that_gains_weight_is_refused() {
    let t = Trade::new("refusal-mb1");
    let a = t.extract("2.00", "2");
    let b = t.extract("3.00", "3");
    let before = snapshot(&t.ledger);
    let out = signed!(t, &t.miner, "merge", "--parcel", &a, "--parcel", &b, "--weight", "6.00").run();
    refused(&out, "MB-1");
    assert_eq!(before, snapshot(&t.ledger));
    // Nor may anyone but the holder split a parcel.
    let out = signed!(t, &t.dealer, "split", "--parcel", &a, "--into", "1.00", "--into", "1.00").run();
    out.code(1).stderr_has("nothing was recorded").stderr_has(crate::util::MINER);
    assert_eq!(before, snapshot(&t.ledger));
    assert_eq!(verify_json(&t.ledger).1["ok"], true);
}

#[test]
fn a_receiver_whose_scale_reads_a_point_more_records_the_lower_figure() {
    let (t, offer) = offered("refusal-mb3-point");
    let before = snapshot(&t.ledger);
    let time = t.tick();
    let accept = |weight: &str| {
        kp!(
            "handover", "accept", &offer, "--ledger", &t.ledger, "--key", &t.dealer, "--time", &time,
            "--weight", weight
        )
        .run()
    };
    // One point more than the offer: no event adds weight, and the refusal says what to record.
    let out = accept("3.01");
    refused(&out, "MB-3");
    out.stderr_has("record at most 3.00 ct");
    assert_eq!(before, snapshot(&t.ledger), "a refused event must leave the ledger as it was");
    // The lower figure is the one carried.
    accept("3.00").ok();
}

#[test]
fn an_exporter_is_enrolled_at_its_registered_address() {
    let t = Trade::new("enrol-address");
    let id = "sl.exporter.koidu-gems";
    signed!(
        t,
        &t.nma,
        "actor",
        "enrol",
        "--id",
        id,
        "--name",
        "Koidu Gems Ltd",
        "--role",
        "exporter",
        "--country",
        "SL",
        "--pubkey",
        pub_of(&t.exporter),
        "--address",
        "14 Sewafe Road, Koidu"
    )
    .args(licence_2026("NMA/EX/2026/011", "exporter"))
    .run()
    .ok();
    let actors = kp!("actor", "list", "--ledger", &t.ledger, "--json").run().ok().json();
    let record = |who: &str| {
        actors.as_array().unwrap().iter().find(|a| a["record"]["id"] == who).unwrap()["record"].clone()
    };
    assert_eq!(record(id)["address"], "14 Sewafe Road, Koidu", "{actors:#}");
    // Enrolled without --address: the member is left out, as in 0.1.0 enrolments.
    assert!(record(EXPORTER).get("address").is_none(), "{actors:#}");
    events(&t);
}
