//! `kpledger bench` runs end to end on a small ledger and prints JSON that matches
//! schemas/bench.schema.json. No figure is asserted: timings belong to the benchmark, not to
//! the test suite (README, Performance).

use crate::util::TempDir;

#[test]
fn bench_runs_small_and_prints_valid_json() {
    let dir = TempDir::new("bench");
    let out =
        kp!("bench", "--parcels", "60", "--lot-parcels", "15", "--json", "--dir", dir.join("run")).run();
    let json = out.ok().json();
    assert!(json.get("postgres").is_none(), "{json}");
    valid(&json);
    // The run measured the ledger it generated: every event was ingested and verified.
    assert_eq!(json["ledger"]["parcels"], 60, "{json}");
    // Fewer events than a full tile: the service's tile figure read the partial hash tiles (an
    // entry bundle, not a run of hashes, once failed it there).
    assert!(json["ledger"]["events"].as_u64().unwrap() < 256, "{json}");
    assert!(json["service"]["tile_requests"].as_u64().unwrap() > 0, "{json}");
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

fn valid(json: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/bench.schema.json").unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(json).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "bench JSON does not match its schema: {errors:?}\n{json}");
}

/// `--ledger postgres://…`: the same events ingested into the database and verified there, in
/// the same run, with the two ratios of the PostgreSQL goals (values not asserted).
#[test]
fn bench_measures_postgres_beside_sqlite() {
    let Some(crate::backends::Store::Pg(server)) = crate::backends::Store::postgres() else { return };
    let dir = TempDir::new("bench-pg");
    let db = crate::backends::pg_server::database(&server, "bench");
    let out =
        kp!("bench", "--parcels", "120", "--lot-parcels", "30", "--rounds", "1", "--json", "--ledger", &db)
            .run();
    let json = out.ok().json();
    valid(&json);
    let password = db.split_once(':').unwrap().1.split_once(':').unwrap().1.split_once('@').unwrap().0;
    assert!(!out.stdout.contains(password) && !out.stderr.contains(password), "{out}");
    assert!(json["postgres"]["ingest_events_per_s"].as_f64().unwrap() > 0.0, "{json}");
    assert!(json["postgres"]["verify_events_per_s"].as_f64().unwrap() > 0.0, "{json}");
    let names: Vec<&str> =
        json["ratios"].as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(names.iter().any(|n| n.starts_with("PostgreSQL ingest")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("PostgreSQL verify")), "{names:?}");
    // The database now holds the ledger, verified.
    kp!("verify", "--ledger", &db).run().ok();
    // Not a database: refused before any work.
    kp!("bench", "--parcels", "60", "--ledger", dir.join("x.kpl")).run().code(2).stderr_has("postgres://");
}
