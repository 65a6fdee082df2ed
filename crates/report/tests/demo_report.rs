//! The statistics and the HTML report of the demo's Mano River Union ledger (8 parcels),
//! asserted to the carat and the cent: a cross-border import (Liberia → Sierra Leone),
//! counted once as Sierra Leone's import and never as its production, and a mixed-origin
//! lot (Sierra Leone + Liberian stones) exported by Sierra Leone and shared out by origin.
//!
//! The JSON statistics are also compared byte for byte with a golden file; after an
//! intended change, rewrite it with
//!
//! ```text
//! KPLEDGER_BLESS=1 cargo test -p kpledger-report --test demo_report
//! ```
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kpledger_core::{Ledger, OpenOptions, demo};
use kpledger_model::ParsedEvent;
use kpledger_report::{Book, CheckpointStatus, Flag, HtmlInput, Period, Stats, Target};
use serde_json::Value;

struct Demo {
    events: Vec<(u64, ParsedEvent)>,
    report: kpledger_verify::Report,
    notes: Vec<String>,
}

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = demo::run(&dir, 8, &mut |_| {}).unwrap();
        let l = Ledger::open(&s.ledger, OpenOptions { read_only: true, ..Default::default() }).unwrap();
        let events = l.events().unwrap();
        let notes = l.stored_checkpoints().unwrap().into_iter().map(|c| c.note).collect();
        drop(l);
        std::fs::remove_dir_all(&dir).unwrap();
        Demo { events, report: s.report, notes }
    })
}

fn book() -> Book {
    Book::new(demo().events.iter().map(|(s, e)| (*s, e)))
}

fn flags() -> Vec<Flag> {
    kpledger_report::red_flags(&book())
}

fn q1() -> Stats {
    Stats::compute(&book(), &Period::parse("2026-Q1").unwrap(), &flags())
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn row<'a>(rows: &'a [Value], keys: &[(&str, &str)]) -> &'a Value {
    rows.iter()
        .find(|r| keys.iter().all(|(k, v)| r[*k] == *v))
        .unwrap_or_else(|| panic!("no row {keys:?} in {rows:#?}"))
}

#[test]
fn statistics_to_the_carat_and_the_cent() {
    let s = serde_json::to_value(q1()).unwrap();
    // Production: registered at mine sites; Liberian stones count in Liberia only.
    let prod = s["production"]["by_country"].as_array().unwrap();
    assert_eq!(prod.len(), 4);
    let sl = row(prod, &[("country", "SL")]);
    assert_eq!((sl["parcels"].as_u64(), sl["carats_pt"].as_u64()), (Some(2), Some(4_115)));
    assert_eq!(sl["value_usd_cents"], 1_189_235, "first sales at US$289/ct");
    assert_eq!(row(prod, &[("country", "LR")])["carats_pt"], 14_203);

    // The cross-border import: Liberia's certificate, confirmed by Sierra Leone, is an
    // export of Liberia and an import of Sierra Leone, by provenance (from LR) and origin.
    let imports = s["imports"].as_array().unwrap();
    assert_eq!(imports.len(), 1, "{imports:#?}");
    let i = row(imports, &[("country", "SL"), ("partner", "LR"), ("origin", "LR")]);
    assert_eq!((i["carats_pt"].as_u64(), i["value_usd_cents"].as_u64()), (Some(14_203), Some(7_586_446)));
    assert_eq!((i["certificates"].as_u64(), i["usd_cents_per_ct"].as_u64()), (Some(1), Some(53_414)));

    // Exports by provenance: the mixed lot leaves as Sierra Leone's export of mixed origin.
    let exports = s["exports"].as_array().unwrap();
    assert_eq!(exports.len(), 4);
    let x = row(exports, &[("country", "SL"), ("origin", "mixed"), ("partner", "BE")]);
    assert_eq!((x["carats_pt"].as_u64(), x["value_usd_cents"].as_u64()), (Some(18_262), Some(6_586_591)));
    assert_eq!(x["usd_cents_per_ct"], 36_067);
    let lr = row(exports, &[("country", "LR"), ("partner", "SL")]);
    assert_eq!((lr["carats_pt"].as_u64(), lr["value_usd_cents"].as_u64()), (Some(14_203), Some(7_586_446)));
    let ci = row(exports, &[("country", "CI")]);
    assert_eq!((ci["carats_pt"].as_u64(), ci["value_usd_cents"].as_u64()), (Some(7_861), Some(2_128_884)));
    assert_eq!(ci["usd_cents_per_ct"], 27_082);

    // By origin: the mixed lot shared out by its history; the parts add up exactly.
    let by_origin = s["exports_by_origin"].as_array().unwrap();
    let sl_lr = row(by_origin, &[("country", "SL"), ("origin", "LR")]);
    let sl_sl = row(by_origin, &[("country", "SL"), ("origin", "SL")]);
    assert_eq!(
        (sl_lr["carats_pt"].as_u64(), sl_lr["value_usd_cents"].as_u64()),
        (Some(14_203), Some(5_122_624))
    );
    assert_eq!(
        (sl_sl["carats_pt"].as_u64(), sl_sl["value_usd_cents"].as_u64()),
        (Some(4_059), Some(1_463_967))
    );
    assert_eq!(14_203 + 4_059, 18_262);
    assert_eq!(5_122_624 + 1_463_967, 6_586_591);
    // Sierra Leone's own stones: 41.15 ct mined, 40.59 ct exported (the 0.56 ct MB-3 loss).

    // Totals: Sierra Leone produced 41.15 ct, imported 142.03 ct, exported 182.62 ct.
    let t = row(s["totals"].as_array().unwrap(), &[("country", "SL")]);
    assert_eq!(t["production_pt"], 4_115);
    assert_eq!(t["imports_pt"], 14_203);
    assert_eq!(t["exports_pt"], 18_262);
    assert_eq!((t["export_certificates"].as_u64(), t["import_certificates"].as_u64()), (Some(1), Some(1)));

    // The suspicious valuation is a red flag of the period.
    let codes: Vec<&str> =
        s["red_flags"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["ST-1"]);
    assert_eq!(s["red_flags"][0]["certificate"], "CI-2026-000009");

    // Another quarter: nothing.
    let q2 = Stats::compute(&book(), &Period::parse("2026-Q2").unwrap(), &flags());
    assert!(q2.exports.is_empty() && q2.imports.is_empty() && q2.production.by_country.is_empty());
    assert!(q2.red_flags.is_empty());
}

#[test]
fn statistics_json_matches_the_golden_file_and_the_schema() {
    let text = serde_json::to_string_pretty(&q1()).unwrap() + "\n";
    let path = golden("demo_stats_2026-Q1.json");
    if std::env::var_os("KPLEDGER_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} differs; after an intended change run KPLEDGER_BLESS=1 cargo test -p kpledger-report --test demo_report\n{text}",
        path.display()
    );

    let schema: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/stats.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let v = jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&schema).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn statistics_csv_parses_back() {
    let s = q1();
    let text = s.to_csv().unwrap();
    assert!(text.ends_with("\r\n"), "RFC 4180 lines end with CRLF");
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    assert_eq!(headers.len(), 12);
    assert_eq!(&headers[0], "section");
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let n = s.production.by_country.len()
        + s.production.by_region.len()
        + s.production.by_site.len()
        + s.exports.len()
        + s.imports.len()
        + s.exports_by_origin.len()
        // Each exporting country's exports apart: of its own origin, and re-exported.
        + 2 * s.totals.iter().filter(|t| t.export_certificates > 0).count();
    assert_eq!(rows.len(), n);
    for t in s.totals.iter().filter(|t| t.export_certificates > 0) {
        let carats = |section: &str| -> String {
            rows.iter().find(|r| &r[0] == section && r[1] == *t.country).unwrap()[9].to_owned()
        };
        let pt = |c: String| -> u64 { c.replace('.', "").parse().unwrap() };
        assert_eq!(pt(carats("exports_own_origin")) + pt(carats("re_exports")), t.exports_pt);
    }
    let sl_export = rows.iter().find(|r| &r[0] == "exports" && &r[1] == "SL").unwrap();
    assert_eq!(
        (&sl_export[6], &sl_export[9], &sl_export[10], &sl_export[11]),
        ("mixed", "182.62", "65865.91", "360.67")
    );
    let import = rows.iter().find(|r| &r[0] == "imports").unwrap();
    assert_eq!((&import[1], &import[5], &import[9]), ("SL", "LR", "142.03"));
    // Every carat figure is a decimal with two places.
    for r in &rows {
        let c = &r[9];
        assert!(c.split_once('.').is_some_and(|(_, f)| f.len() == 2), "{c}");
    }
}

fn html() -> String {
    let d = demo();
    let book = book();
    let flags = flags();
    let checkpoints: Vec<CheckpointStatus> =
        d.notes.iter().map(|n| kpledger_report::checkpoint_status(n).unwrap()).collect();
    kpledger_report::render_html(&HtmlInput {
        subject: "ledger demo".into(),
        book: &book,
        report: &d.report,
        flags: &flags,
        checkpoints,
    })
    .unwrap()
}

#[test]
fn html_report_is_valid_self_contained_and_has_its_figures() {
    let text = html();
    let doc = scraper::Html::parse_document(&text);
    assert!(doc.errors.is_empty(), "HTML5 parse errors: {:#?}", doc.errors);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();

    // Self-contained: no script, no external resource.
    assert_eq!(doc.select(&sel("script, link, img, iframe, object")).count(), 0);
    for bad in ["src=", "@import", "href=\"http", "href='http"] {
        assert!(!text.contains(bad), "the report refers to an external resource: {bad}");
    }
    // url(...) only to the document's own fragments (the arrow markers).
    for (i, _) in text.match_indices("url(") {
        assert!(text[i + 4..].starts_with('#'), "external url: {}", &text[i..i + 40]);
    }

    // The verdict first.
    let verdict = doc.select(&sel("main > section")).next().unwrap();
    assert_eq!(verdict.value().attr("id"), Some("verdict"));
    assert!(verdict.text().collect::<String>().contains("VERIFIED"));

    // One provenance graph per certificate, each with nodes, edges and carats.
    let graphs: Vec<_> = doc.select(&sel(".graph > svg")).collect();
    assert_eq!(graphs.len(), 4);
    for g in &graphs {
        assert!(g.select(&sel("rect")).count() >= 5, "a graph has its boxes");
        assert!(g.select(&sel("path")).count() >= 4, "a graph has its edges");
        assert!(g.text().any(|t| t.contains(" ct")), "edges carry carats");
        assert!(g.text().any(|t| t.contains("MINE SITE")), "a graph starts at mine sites");
    }
    // The charts, non-empty.
    for id in ["#chart-volumes > svg", "#chart-values > svg"] {
        let c = doc.select(&sel(id)).next().unwrap_or_else(|| panic!("no {id}"));
        assert!(c.select(&sel("rect")).count() >= 4, "{id} has bars or bands");
        assert!(c.select(&sel("text")).count() >= 4, "{id} has labels");
    }
    // The red flag is shown, grouped under its certificate.
    assert!(text.contains("ST-1"));
    assert!(text.contains("CI-2026-000009"));
    // Checkpoints and witnesses.
    let log = doc.select(&sel("#log")).next().unwrap().text().collect::<String>();
    assert!(log.contains("lr.mme") && log.contains("ci.sprpk"), "{log}");
}

#[test]
fn html_report_is_deterministic() {
    // No clock, and no hash-map order leaks into the layout: the same events give the
    // same bytes.
    assert!(html() == html());
}

#[test]
fn provenance_graph_goes_from_mine_sites_to_the_export() {
    let book = book();
    let dot = kpledger_report::graph_dot(&book, &Target::Certificate("SL-2026-004312".into())).unwrap();
    let path = golden("demo_graph_SL-2026-004312.dot");
    if std::env::var_os("KPLEDGER_BLESS").is_some() {
        std::fs::write(&path, &dot).unwrap();
    }
    assert!(
        std::fs::read_to_string(&path).unwrap_or_default() == dot,
        "{} differs; after an intended change run KPLEDGER_BLESS=1 cargo test -p kpledger-report --test demo_report\n{dot}",
        path.display()
    );
    for needle in [
        "Koidu claim 12",
        "Tongo Field plot 3",
        "Weasua claim 7",
        "import confirmed",
        "EXPORT",
        "SL-2026-004312",
    ] {
        assert!(dot.contains(needle), "no {needle} in\n{dot}");
    }
    // Every edge carries carats.
    let edges: Vec<&str> = dot.lines().filter(|l| l.contains("->")).collect();
    assert!(edges.len() > 8);
    assert!(edges.iter().all(|e| e.contains(" ct\"")), "{edges:#?}");
    // A certificate's graph stops at its own export: nothing of the later Sierra Leone
    // lot appears in Liberia's.
    let lr = kpledger_report::graph_dot(&book, &Target::Certificate("LR-2026-000042".into())).unwrap();
    assert!(!lr.contains("import confirmed") && !lr.contains("Koidu"), "{lr}");
    assert!(kpledger_report::graph_dot(&book, &Target::Certificate("XX-1".into())).is_err());
}
