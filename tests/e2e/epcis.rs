//! EPCIS 2.0 through the CLI: a certificate's provenance exported, cross-checked against the
//! ledger (every event matches), and an altered document caught.

use crate::util::{TempDir, small_demo};

#[test]
fn export_then_check_and_catch_an_alteration() {
    let dir = TempDir::new("epcis");
    let demo = small_demo(dir.join("demo"));
    let ledger = demo.join("ledger.kpl");
    let doc = dir.join("sl.epcis.json");
    kp!("epcis", "export", "--ledger", &ledger, "--certificate", "SL-2026-004312", "--out", &doc)
        .run()
        .ok()
        .stdout_has("EPCIS 2.0 document");
    let report = kp!("epcis", "check", &doc, "--ledger", &ledger, "--json").run().ok().json();
    assert!(report["events"].as_u64().unwrap() > 10, "{report}");
    assert_eq!(
        report["matched"].as_array().unwrap().len() as u64,
        report["events"].as_u64().unwrap(),
        "{report}"
    );

    // Change the quantity of the first event that has one: its hash ID no longer matches.
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&doc).unwrap()).unwrap();
    let events = v.pointer_mut("/epcisBody/eventList").and_then(|e| e.as_array_mut()).unwrap();
    let changed = events.iter_mut().find_map(|e| {
        let q = e.pointer_mut("/quantityList/0/quantity")?;
        *q = serde_json::json!(q.as_f64()? + 1.0);
        Some(())
    });
    assert!(changed.is_some(), "the export has a quantity to alter");
    let altered = dir.join("altered.json");
    std::fs::write(&altered, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    kp!("epcis", "check", &altered, "--ledger", &ledger).run().code(1).stdout_has("differ");
}
