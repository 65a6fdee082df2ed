//! `kpledger bench` runs end to end on a small ledger and prints JSON that matches
//! schemas/bench.schema.json. No figure is asserted: timings belong to the benchmark, not to
//! the test suite (README, Performance).

use crate::util::TempDir;

#[test]
fn bench_runs_small_and_prints_valid_json() {
    let dir = TempDir::new("bench");
    let out =
        kp!("bench", "--parcels", "120", "--lot-parcels", "30", "--json", "--dir", dir.join("run")).run();
    let json = out.ok().json();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/bench.schema.json").unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&json).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "bench JSON does not match its schema: {errors:?}\n{json}");
    // The run measured the ledger it generated: every event was ingested and verified.
    assert_eq!(json["ledger"]["parcels"], 120, "{json}");
    assert_eq!(json["rounds"], 2, "{json}");
    assert!(json["ledger"]["certificates"].as_u64().unwrap() >= 4, "{json}");
    assert!(json["measured"]["bundle_events"].as_u64().unwrap() > 30, "{json}");
    // The service recorded the same events again over HTTP, all of them.
    let served =
        json["service"]["events"].as_u64().unwrap() + json["service"]["paced_events"].as_u64().unwrap();
    assert_eq!(served, json["ledger"]["events"].as_u64().unwrap(), "{json}");
    // A bench that is not empty or a directory that is not new is refused before any work.
    kp!("bench", "--parcels", "120", "--dir", dir.path()).run().code(2).stderr_has("not empty");
}
