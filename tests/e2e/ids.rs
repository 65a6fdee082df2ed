//! Identifiers a person can type and read (issue 15, item 6): the same event has the same
//! number in the ledger's report and in every bundle holding it; parcel ids and event hashes
//! are taken as unique prefixes and shown as such.

use serde_json::Value;

use crate::util::TempDir;

/// A demo built in `dir` (24 parcels: the default scenario, whose Sierra Leone receipt loses
/// weight beyond tolerance, MB-3).
fn demo(dir: &TempDir) -> std::path::PathBuf {
    let d = dir.join("demo");
    kp!("demo", &d).run().ok();
    d
}

/// (code, seq, event hash) of every finding of a `verify --json` report.
fn findings(report: &Value) -> Vec<(String, u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["seq"].is_u64())
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["seq"].as_u64().unwrap(),
                f["event"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_bundle_numbers_events_as_the_ledger_does() {
    let dir = TempDir::new("ids-seq");
    let d = demo(&dir);
    let ledger = kp!("verify", "--ledger", d.join("ledger.kpl"), "--json").run();
    let ledger = findings(&ledger.ok().json());
    let mb3 = ledger.iter().find(|f| f.0 == "MB-3").expect("the demo's MB-3 warning").clone();
    let policy = d.join("trust-policy.txt");
    let bundle = d.join("bundles/SL-2026-004312.json");
    let out = kp!("verify", &bundle, "--policy", &policy, "--json").run();
    let in_bundle = findings(&out.ok().json());
    let same = in_bundle.iter().find(|f| f.0 == "MB-3").expect("the bundle's MB-3 warning");
    assert_eq!(same, &mb3, "the same event must carry the same number in ledger and bundle");
    // The number is the event's position in the ledger: its proof's leaf index plus one,
    // not its place in the bundle.
    let doc: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let i = doc["log"]["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .position(|p| p["index"].as_u64().unwrap() + 1 == mb3.1)
        .expect("the MB-3 event is in the bundle at its ledger position");
    assert_ne!(i as u64 + 1, mb3.1, "the demo's MB-3 event has another place in the bundle than in the ledger");
    // Text output too, and the HTML report of the bundle.
    kp!("verify", &bundle, "--policy", &policy).run().ok().stdout_has(&format!("(event #{})", mb3.1));
    let html = dir.join("b.html");
    kp!("report", "--html", &html, "--bundle", &bundle, "--policy", &policy).run().ok();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(&format!("event #{}", mb3.1)), "the bundle's HTML report names event #{}", mb3.1);
}

