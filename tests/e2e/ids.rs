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
    assert_ne!(
        i as u64 + 1,
        mb3.1,
        "the demo's MB-3 event has another place in the bundle than in the ledger"
    );
    // Text output too, and the HTML report of the bundle.
    kp!("verify", &bundle, "--policy", &policy).run().ok().stdout_has(&format!("(event #{})", mb3.1));
    let html = dir.join("b.html");
    kp!("report", "--html", &html, "--bundle", &bundle, "--policy", &policy).run().ok();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(&format!("event #{}", mb3.1)), "the bundle's HTML report names event #{}", mb3.1);
}

/// The full ids of `parcel list --all --json`.
fn parcel_ids(ledger: &std::path::Path) -> Vec<String> {
    let v = kp!("parcel", "list", "--ledger", ledger, "--all", "--json").run().ok().json();
    v.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

/// The first column of a table's rows (after its header and rule).
fn first_column(table: &str) -> Vec<String> {
    table.lines().skip(2).filter_map(|l| l.split_whitespace().next()).map(str::to_owned).collect()
}

#[test]
fn parcels_are_named_by_a_unique_prefix_as_tables_show_them() {
    let dir = TempDir::new("ids-prefix");
    let d = demo(&dir);
    let ledger = d.join("ledger.kpl");
    let ids = parcel_ids(&ledger);
    // Every table shows a parcel by one short form, the same width everywhere, and that form
    // names the parcel: `parcel show SHORT` finds it.
    let list = kp!("parcel", "list", "--ledger", &ledger, "--all").run();
    let shown = first_column(&list.ok().stdout);
    assert_eq!(shown.len(), ids.len());
    for (short, full) in shown.iter().zip(&ids) {
        assert_eq!(short.len(), 18, "{short}: tables show 16 hex digits of a parcel id");
        assert!(full.starts_with(short.as_str()), "{short} is a prefix of {full}");
        let v = kp!("parcel", "show", short, "--ledger", &ledger, "--json").run().ok().json();
        assert_eq!(v["id"].as_str().unwrap(), full, "`parcel show {short}` names {full}");
    }
    // The history's parcels column and its descriptions use the same form.
    let lot = ids.iter().find(|i| i.starts_with("019ce222")).expect("the demo's mixed lot").clone();
    let history = kp!("parcel", "history", &lot[..13], "--ledger", &ledger).run();
    history.ok().stdout_has(&format!("merged 2 parcels into {}", &lot[..18]));
    // Eight digits that two parcels share (a split's parts, made in the same second) are
    // ambiguous: exit 2, both listed in full.
    let pair = ids.windows(2).find(|w| w[0][..8] == w[1][..8]).expect("two demo parcels sharing 8 digits");
    kp!("parcel", "history", &pair[0][..8], "--ledger", &ledger).run().cannot_run(&[
        "ambiguous",
        &pair[0],
        &pair[1],
        "give more of its digits",
    ]);
    // The dashes may be left out and capitals used.
    let bare = pair[1].replace('-', "").to_uppercase();
    let v = kp!("parcel", "show", &bare[..20], "--ledger", &ledger, "--json").run().ok().json();
    assert_eq!(v["id"].as_str().unwrap(), pair[1]);
    // Too short, unknown, not hex: exit 2, saying which.
    kp!("parcel", "show", &lot[..7], "--ledger", &ledger).run().cannot_run(&["at least 8 hex digits"]);
    kp!("parcel", "show", "00000000-0000", "--ledger", &ledger)
        .run()
        .cannot_run(&["no parcel id", "starts with"]);
    kp!("parcel", "show", "019ce22z", "--ledger", &ledger).run().cannot_run(&["hex digits"]);
    // A bundle's parcels too: `graph` takes a prefix resolved among the bundle's parcels.
    let bundle = d.join("bundles/SL-2026-004312.json");
    kp!("graph", &lot[..18], "--bundle", &bundle, "--format", "dot").run().ok().stdout_has(&lot);
    kp!("graph", &lot[..18], "--ledger", &ledger, "--format", "dot").run().ok().stdout_has(&lot);
    kp!("graph", "ffffffff", "--bundle", &bundle).run().cannot_run(&["no parcel id", "ffffffff"]);
    // An event hash, by the 12 digits tables show or any unique prefix of 8 or more.
    let events = kp!("parcel", "history", &lot, "--ledger", &ledger, "--json").run().ok().json();
    let ev = &events.as_array().unwrap()[5];
    let (seq, hash) = (ev["seq"].as_u64().unwrap(), ev["hash"].as_str().unwrap());
    for typed in [&hash[..8], &hash[..12], hash] {
        let v =
            kp!("log", "prove-inclusion", "--ledger", &ledger, "--event", typed, "--json").run().ok().json();
        assert_eq!((v["seq"].as_u64().unwrap(), v["event"].as_str().unwrap()), (seq, hash));
    }
    kp!("log", "prove-inclusion", "--ledger", &ledger, "--event", "0123abc")
        .run()
        .cannot_run(&["at least 8"]);
}

#[test]
fn parcels_made_by_the_cli_are_told_apart_by_their_short_form() {
    // The parts of one split are made in the same millisecond: their short forms still differ
    // and each names its part. (kpledger's UUID v7 carries random bits right after the
    // timestamp; where two parcels share 16 digits all the same, the table shows more.)
    let t = crate::util::Trade::new("ids-split");
    let p = t.extract("12.34", "40");
    let mut cmd = signed!(t, &t.miner, "split", "--json", "--parcel", &p[..8]);
    for w in ["3.00", "3.00", "3.00", "3.34"] {
        cmd = cmd.arg("--into").arg(w);
    }
    let parts = cmd.run().created();
    assert_eq!(parts.len(), 4, "the split was made from the 8-digit prefix");
    let list = kp!("parcel", "list", "--ledger", &t.ledger, "--all").run();
    let shown = first_column(&list.ok().stdout);
    let ids = parcel_ids(&t.ledger);
    assert_eq!(shown.len(), 5);
    for (short, full) in shown.iter().zip(&ids) {
        let v = kp!("parcel", "show", short, "--ledger", &t.ledger, "--json").run().ok().json();
        assert_eq!(v["id"].as_str().unwrap(), full, "`parcel show {short}` names {full}");
    }
}

#[test]
fn the_report_shows_own_origin_exports_and_re_exports_apart() {
    let dir = TempDir::new("ids-report");
    let d = demo(&dir);
    let ledger = d.join("ledger.kpl");
    let stats = kp!("stats", "--ledger", &ledger, "--json").run().ok().json();
    let totals = stats["totals"].as_array().unwrap();
    let sum = |k: &str| totals.iter().map(|t| t[k].as_u64().unwrap()).sum::<u64>();
    for t in totals {
        let n = |k: &str| t[k].as_u64().unwrap();
        assert_eq!(n("exports_own_origin_pt") + n("re_exports_pt"), n("exports_pt"), "{t}");
        assert_eq!(
            n("exports_own_origin_usd_cents") + n("re_exports_usd_cents"),
            n("exports_usd_cents"),
            "{t}"
        );
        // A country's own-origin exports are what its production can account for.
        assert!(n("exports_own_origin_pt") <= n("production_pt"), "{t}");
    }
    // Liberia's lot, re-exported by Sierra Leone in the mixed lot, counts once as an export of
    // its own origin (Liberia's) and once as a re-export (Sierra Leone's), never twice as mined.
    let sl = totals.iter().find(|t| t["country"] == "SL").unwrap();
    let lr = totals.iter().find(|t| t["country"] == "LR").unwrap();
    assert!(sl["re_exports_pt"].as_u64().unwrap() > 0 && lr["re_exports_pt"] == 0);
    assert!(sum("exports_own_origin_pt") <= sum("production_pt"));
    assert!(sum("exports_pt") > sum("production_pt"), "the demo's total exports exceed what was mined");
    // CSV: the two rows of each exporting country add up to its exports.
    let csv = kp!("stats", "--ledger", &ledger, "--csv").run().ok().stdout.clone();
    let value = |section: &str, country: &str| -> u64 {
        let line = csv
            .lines()
            .find(|l| l.starts_with(&format!("{section},{country},")))
            .unwrap_or_else(|| panic!("no {section} row for {country}:\n{csv}"));
        let carats = line.split(',').nth(9).unwrap();
        carats.replace('.', "").parse().unwrap()
    };
    for t in totals {
        let c = t["country"].as_str().unwrap();
        assert_eq!(
            value("exports_own_origin", c) + value("re_exports", c),
            t["exports_pt"].as_u64().unwrap()
        );
    }
    // Text: the totals table names both columns.
    kp!("stats", "--ledger", &ledger).run().ok().stdout_has("of own origin").stdout_has("re-exported");
    // HTML: the summary cards show them apart, and they add up.
    let html = std::fs::read_to_string(d.join("report.html")).unwrap();
    let doc = scraper::Html::parse_document(&html);
    let card = |id: &str| -> u64 {
        let sel = scraper::Selector::parse(&format!("#card-{id} .n")).unwrap();
        let text: String = doc.select(&sel).next().unwrap_or_else(|| panic!("no card {id}")).text().collect();
        text.trim_end_matches(" ct").replace([',', '.'], "").parse().unwrap()
    };
    assert!(!html.contains("carats certified for export"), "the figure that read as larger than production");
    assert_eq!(card("own-origin"), sum("exports_own_origin_pt"));
    assert_eq!(card("re-exported"), sum("re_exports_pt"));
    assert_eq!(card("mined"), sum("production_pt"));
    assert!(card("own-origin") <= card("mined"));
}
