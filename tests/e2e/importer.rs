//! An importing authority's work (README.md, An importer's ledger): a starting policy for any
//! KP Participant (`policy new`), an import recorded from a verified evidence bundle
//! (`certificate import --bundle --policy`), a paper import of a shipment of several parcels
//! (`certificate import --foreign`), and a transit (`transit`). Each refusal leaves the ledger
//! as it was.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{TempDir, copy_ledger, init, licence_2026, snapshot, verify_json};

/// `kpledger demo` (8 parcels) in `dir/kpledger-demo`.
fn demo(dir: &TempDir) -> PathBuf {
    let demo = dir.join("kpledger-demo");
    kp!("demo", &demo, "--parcels", "8").run().ok().stdout_has("VERIFIED");
    demo
}

/// A test directory with the demo (its bundles and trust policy) and a Belgian ledger
/// (`belgian_ledger`): the directory, the demo's, the ledger's path and the FPS's key.
fn demo_and_belgium(tag: &str) -> (TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = TempDir::new(tag);
    let demo = demo(&dir);
    let (ledger, fpsd) = belgian_ledger(&dir);
    (dir, demo, ledger, fpsd)
}

/// A Belgian ledger made as the README shows: the FPS's key and Diamcor's, the ledger, the
/// starting policy of `policy new`, Diamcor enrolled as a licensed dealer. Returns the
/// ledger and the authority's key.
fn belgian_ledger(dir: &TempDir) -> (PathBuf, PathBuf) {
    let (fpsd, diamcor, ledger, policy) =
        (dir.join("fpsd.pem"), dir.join("diamcor.pem"), dir.join("be.kpl"), dir.join("BE.json"));
    kp!("key", "new", &fpsd).run().ok();
    kp!("key", "new", &diamcor).run().ok();
    init(&ledger, "kpledger.be/national", ["be.fpsd", "FPS Economy, Diamond Office", "BE"], &fpsd)
        .args(["--time", "2026-03-16T09:00:00Z"])
        .run()
        .ok();
    kp!("policy", "new", "--country", "be", "--out", &policy, "--policy-version", "2026-03-16")
        .run()
        .ok()
        .stdout_has("kpledger policy set");
    kp!("policy", "set", "--ledger", &ledger, "--key", &fpsd, &policy, "--time", "2026-03-16T09:05:00Z")
        .run()
        .ok();
    kp!(
        "actor",
        "enrol",
        "--ledger",
        &ledger,
        "--key",
        &fpsd,
        "--id",
        "be.dealer.diamcor",
        "--name",
        "Diamcor Rough Trading NV",
        "--role",
        "dealer",
        "--country",
        "BE",
        "--pubkey",
        dir.join("diamcor.pem.pub"),
        "--time",
        "2026-03-16T09:10:00Z"
    )
    .args(licence_2026("BE/DL/2026/001", "dealer"))
    .run()
    .ok();
    (ledger, fpsd)
}

/// `certificate import --bundle` of the demo's bundle `number` into `ledger`, under `policy`.
fn import_bundle(
    ledger: &Path,
    key: &Path,
    demo: &Path,
    number: &str,
    policy: &Path,
    time: &str,
) -> crate::util::Out {
    let bundle = demo.join("bundles").join(format!("{number}.json"));
    import_to_diamcor(ledger, key, time).arg("--bundle").arg(bundle).arg("--policy").arg(policy).run()
}

/// `certificate import` into the ledger at `ledger`, signed with `key` at `time`, of a
/// shipment held by the Antwerp dealer Diamcor; the caller adds the bundle or foreign
/// certificate.
fn import_to_diamcor(ledger: &Path, key: &Path, time: &str) -> crate::util::Cmd {
    kp!(
        "certificate",
        "import",
        "--ledger",
        ledger,
        "--key",
        key,
        "--holder",
        "be.dealer.diamcor",
        "--time",
        time
    )
}

fn bundle_json(demo: &Path, number: &str) -> Value {
    serde_json::from_slice(&std::fs::read(demo.join("bundles").join(format!("{number}.json"))).unwrap())
        .unwrap()
}

#[test]
fn an_importer_records_a_verified_bundle_and_its_ledger_verifies() {
    let (_dir, demo, ledger, fpsd) = demo_and_belgium("import-bundle");
    let trust = demo.join("trust-policy.txt");
    let out = import_bundle(&ledger, &fpsd, &demo, "SL-2026-004312", &trust, "2026-03-20T10:00:00Z");
    out.ok().stdout_has("recorded import");
    let (_, report) = verify_json(&ledger);
    assert_eq!(report["ok"], true, "{report:#}");
    // The parcels keep their ids and weights: the bundle's heads, the certificate's carats.
    let heads: Vec<String> =
        bundle_json(&demo, "SL-2026-004312")["heads"].as_object().unwrap().keys().cloned().collect();
    let listed = kp!("parcel", "list", "--ledger", &ledger, "--json").run();
    let parcels = listed.ok().json();
    let ids: Vec<String> =
        parcels.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, heads, "{listed}");
    for p in parcels.as_array().unwrap() {
        assert_eq!(p["holder"], "be.dealer.diamcor");
        assert_eq!(p["certificate"], "SL-2026-004312");
        assert_eq!(p["provenance"], "SL");
    }
    let certs = kp!("certificate", "list", "--ledger", demo.join("ledger.kpl"), "--json").run();
    let sl = certs
        .ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["certificate"]["number"] == "SL-2026-004312")
        .cloned()
        .unwrap();
    let carats: u64 =
        sl["certificate"]["lines"].as_array().unwrap().iter().map(|l| l["carats_pt"].as_u64().unwrap()).sum();
    let held: u64 = parcels.as_array().unwrap().iter().map(|p| p["weight_pt"].as_u64().unwrap()).sum();
    assert_eq!(held, carats);

    // The same bundle a second time: KP-2, nothing written.
    let before = snapshot(&ledger);
    import_bundle(&ledger, &fpsd, &demo, "SL-2026-004312", &trust, "2026-03-20T11:00:00Z")
        .code(1)
        .stderr_has("KP-2");
    assert_eq!(snapshot(&ledger), before, "a refused import changed the ledger");
}

#[test]
fn an_import_from_a_bundle_that_does_not_verify_records_nothing() {
    let (dir, demo, ledger, fpsd) = demo_and_belgium("import-bundle-refused");
    let trust = demo.join("trust-policy.txt");
    let before = snapshot(&ledger);
    let at = "2026-03-21T10:00:00Z";

    // A trust policy that does not pin the bundle's log: LOG-2, the findings shown.
    let text = std::fs::read_to_string(&trust).unwrap();
    let unpinned = dir.join("unpinned.txt");
    std::fs::write(&unpinned, text.lines().filter(|l| !l.starts_with("log ")).collect::<Vec<_>>().join("\n"))
        .unwrap();
    import_bundle(&ledger, &fpsd, &demo, "CI-2026-000009", &unpinned, at)
        .code(1)
        .stderr_has("LOG-2")
        .stderr_has("nothing was recorded");

    // A bundle whose certificate was altered (more carats): it no longer verifies.
    let mut bundle = bundle_json(&demo, "CI-2026-000009");
    let events = bundle["events"].as_array_mut().unwrap();
    let cert = events.iter_mut().find(|e| e["body"]["kind"] == "certificate").unwrap();
    let line = &mut cert["body"]["certificate"]["lines"][0]["carats_pt"];
    *line = Value::from(line.as_u64().unwrap() + 100);
    let forged = dir.join("forged.json");
    std::fs::write(&forged, serde_json::to_vec(&bundle).unwrap()).unwrap();
    import_to_diamcor(&ledger, &fpsd, at)
        .arg("--bundle")
        .arg(&forged)
        .arg("--policy")
        .arg(&trust)
        .run()
        .code(1)
        .stderr_has("FAILED")
        .stderr_has("nothing was recorded");

    // Verified bundles of shipments Belgium may not import: destined to Dubai; already
    // received in Sierra Leone (import confirmation).
    import_bundle(&ledger, &fpsd, &demo, "GN-2026-000117", &trust, at).code(1).stderr_has("destined to AE");
    import_bundle(&ledger, &fpsd, &demo, "LR-2026-000042", &trust, at).code(1).stderr_has("already received");
    assert_eq!(snapshot(&ledger), before, "a refused import changed the ledger");
}

#[test]
fn policy_new_writes_a_starting_policy_for_any_participant() {
    let dir = TempDir::new("policy-new");
    let file = dir.join("BE.json");
    kp!("policy", "new", "--country", "BE", "--out", &file, "--policy-version", "2026-03-16").run().ok();
    let policy: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!((policy["country"].as_str(), policy["version"].as_str()), (Some("BE"), Some("2026-03-16")));
    // Every national value is listed as a default to confirm.
    let unconfirmed: Vec<&str> =
        policy["unconfirmed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for field in ["tolerance_pt", "participants", "valuation_rule", "export_duty_bp", "red_flags"] {
        assert!(unconfirmed.contains(&field), "{field} is not marked unconfirmed: {unconfirmed:?}");
    }
    // Without --out, the same policy on stdout.
    let out = kp!("policy", "new", "--country", "be", "--policy-version", "2026-03-16").run();
    assert_eq!(out.ok().json(), policy);
    // Not overwritten; not a KP Participant; not a country code.
    kp!("policy", "new", "--country", "BE", "--out", &file).run().cannot_run(&["does not overwrite"]);
    kp!("policy", "new", "--country", "SO").run().cannot_run(&["SO is not among the KP Participants"]);
    kp!("policy", "new", "--country", "Belgium").run().cannot_run(&["--country"]);
}

#[test]
fn a_paper_import_admits_every_parcel_of_the_certificate() {
    let dir = TempDir::new("import-foreign");
    let (ledger, fpsd) = belgian_ledger(&dir);
    let cert = dir.join("GN-2026-000777.json");
    std::fs::write(
        &cert,
        r#"{"number": "GN-2026-000777", "issuing_country": "GN",
  "issuing_authority": "Ministere des Mines et de la Geologie de Guinee", "country_of_origin": "GN",
  "date_of_issue": "2026-03-15", "date_of_expiry": "2026-05-14", "exporter": "Comptoir d'Achat de Kankan",
  "importer": "Diamcor Rough Trading NV", "parcel_count": 2,
  "lines": [{"hs_code": "7102.21", "carats_pt": 4000, "value_usd_cents": 1156000},
            {"hs_code": "7102.31", "carats_pt": 6000, "value_usd_cents": 1734000}]}"#,
    )
    .unwrap();
    let import = |parcels: &[(&str, &str, &str)], time: &str| {
        let mut cmd = import_to_diamcor(&ledger, &fpsd, time).arg("--foreign").arg(&cert);
        for (w, s, hs) in parcels {
            cmd = cmd.arg("--weight").arg(w).arg("--stones").arg(s).arg("--hs").arg(hs);
        }
        cmd.run()
    };
    let before = snapshot(&ledger);
    // A certificate for 2 parcels admitted as 1; carats moved from 7102.31 to 7102.21.
    import(&[("100", "200", "7102.31")], "2026-03-20T10:00:00Z").code(1).stderr_has("IM-1");
    import(&[("50", "120", "7102.21"), ("50", "80", "7102.31")], "2026-03-20T10:00:00Z")
        .code(1)
        .stderr_has("IM-1");
    assert_eq!(snapshot(&ledger), before);
    import(&[("40", "120", "7102.21"), ("60", "80", "7102.31")], "2026-03-20T10:00:00Z").ok();
    let listed = kp!("parcel", "list", "--ledger", &ledger, "--json").run();
    assert_eq!(listed.ok().json().as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(verify_json(&ledger).1["ok"], true);
}

#[test]
fn transit_records_a_shipment_passing_through_unopened() {
    let dir = TempDir::new("transit");
    let demo = demo(&dir);
    let ledger = dir.join("ledger.kpl");
    copy_ledger(&demo.join("ledger.kpl"), &ledger);
    let key = |id: &str| demo.join("keys").join(format!("{id}.pem"));
    let transit = |signer: &str, extra: &[&str]| {
        let mut cmd = kp!("transit", "--ledger", &ledger, "--key", key(signer), "--number", "CI-2026-000009");
        for a in extra {
            cmd = cmd.arg(a);
        }
        cmd.run()
    };
    let before = snapshot(&ledger);
    // Opened, lighter on exit, a seal changed, or recorded by another country's authority
    // than the one it says: refused, nothing written.
    transit("sl.nma", &["--opened"]).code(1).stderr_has("TR-1").stderr_has("opened");
    transit("lr.mme", &["--carats-out", "1.00"]).code(1).stderr_has("TR-1");
    transit("lr.mme", &["--seal-out", "LR-SEAL-2026-9999"]).code(1).stderr_has("TR-1");
    transit("sl.exporter.kono-gems", &[]).code(1).stderr_has("CH-2");
    assert_eq!(snapshot(&ledger), before, "a refused transit changed the ledger");
    // As it came: recorded, and the ledger verifies.
    transit("lr.mme", &[]).ok().stdout_has("recorded transit");
    assert_eq!(verify_json(&ledger).1["ok"], true);
    let certs = kp!("certificate", "list", "--ledger", &ledger, "--json").run();
    let ci = certs
        .ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["certificate"]["number"] == "CI-2026-000009")
        .cloned()
        .unwrap();
    let parcel = ci["certificate"]["parcels"][0]["parcel"].as_str().unwrap().to_owned();
    kp!("parcel", "history", &parcel, "--ledger", &ledger).run().ok().stdout_has("in transit through LR");
}
