//! `kpledger demo`.

use serde_json::json;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use kpledger_model::{Cents, Points};
use kpledger_verify::Finding;

use crate::commands::report;
use crate::render;
use crate::{FOUND, OK};

pub(crate) fn demo_cmd(dir: &Path, database: Option<&str>, parcels: u32, json: bool) -> Result<u8> {
    let s = kpledger_core::demo::run_in(dir, database, parcels, &mut |m| render::step(m))?;
    // The summary names a database without its password; it is opened with it.
    let ledger = database.map_or_else(|| s.ledger.clone(), PathBuf::from);
    let (reports, flags) = report::demo_reports(&s.dir, &ledger, &s.report)?;
    if json {
        let mut v = serde_json::to_value(&s)?;
        v["reports"] = json!(reports);
        v["red_flags"] = json!(flags.iter().map(|f| &f.finding).collect::<Vec<_>>());
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(if s.report.ok && s.bundle_reports.iter().all(|b| b.ok) { OK } else { FOUND });
    }
    println!("kpledger demo — Mano River Union regional ledger ({})", kpledger_core::demo::DEMO_ORIGIN);
    println!();
    println!(
        "Recorded {} signed events: {} enrolled actors (4 national KP authorities, miners, dealers,",
        s.events, s.actors
    );
    println!("brokers, collectors, exporters, government valuers) and {} licensed mine sites.", s.sites);
    println!();
    let headers = [
        "country",
        "parcels mined",
        "carats mined",
        "KP certificate",
        "origin",
        "carats",
        "final value",
        "to",
    ];
    let table = render::table_of(&headers, &s.countries, |c| {
        vec![
            c.country.clone(),
            c.parcels_mined.to_string(),
            render::ct(Points(c.carats_mined_pt)),
            c.certificate.clone(),
            c.origin.clone(),
            render::ct(Points(c.export_lot_pt)),
            render::usd(Cents(c.export_value_usd_cents)),
            c.destination.clone(),
        ]
    });
    print!("{table}");
    println!();
    println!("Every parcel went mine → licensed middlemen → exporter (handovers signed by both parties,");
    println!("re-weighed on receipt), was merged and split by size, merged into an export lot, officially");
    println!(
        "valued (Sierra Leone and Liberia: highest of three valuations), sealed, certified and exported."
    );
    println!(
        "Liberia's lot went to a Sierra Leone exporter: Sierra Leone's authority confirmed receipt, and"
    );
    println!("the lot was merged with Sierra Leone goods into a mixed-origin lot certified for Antwerp.");
    if !s.warnings.is_empty() {
        println!();
        println!("Red flags raised on purpose (the suspicious flow of this scenario):");
        print!("{}", render::findings(&s.warnings));
    }
    if !flags.is_empty() {
        println!();
        println!("Statistical red flags (docs/RULES.md; also in report.html and stats.txt, see Files):");
        let found: Vec<Finding> = flags.iter().map(|f| f.finding.clone()).collect();
        print!("{}", render::findings(&found));
    }
    println!();
    let verdict = if s.report.ok { "VERIFIED" } else { "FAILED" };
    println!(
        "Whole-ledger verification: {verdict} — {} events, {} error(s), {} warning(s), {} statistical red flag(s).",
        s.report.events,
        s.report.errors,
        s.report.warnings,
        flags.len()
    );
    for b in &s.bundle_reports {
        println!(
            "Evidence bundle {}: {} offline under the importer's trust policy ({} events, {} error(s)).",
            b.certificate.as_deref().unwrap_or("?"),
            if b.ok { "VERIFIED" } else { "FAILED" },
            b.events,
            b.errors
        );
    }
    println!();
    println!("Files:");
    let engine = if database.is_some() { "PostgreSQL" } else { "SQLite" };
    println!("  {}   the ledger ({engine})", s.ledger.display());
    println!("  {}   ledger, trusted keys, trust policy, bundles", s.manifest.display());
    println!(
        "  {}/{}   an importing authority's trust policy: the log's key, witnesses, issuers per country",
        s.dir.display(),
        kpledger_core::demo::DEMO_POLICY
    );
    println!("  {}/bundles/   one evidence bundle per KP certificate", s.dir.display());
    println!("  {}/keys/   demo keys (public knowledge: never use them for real)", s.dir.display());
    for r in &reports {
        let what = match r.extension().and_then(|e| e.to_str()) {
            Some("html") => "the regulator's report: open it in a browser",
            Some("txt") => "KP statistics (Annex III layout)",
            Some("json") => "KP statistics as JSON (schemas/stats.schema.json)",
            _ => "KP statistics as CSV",
        };
        println!("  {}   {what}", r.display());
    }
    println!();
    println!("Try:");
    println!("  kpledger verify --ledger {}", s.ledger.display());
    if let Some(c) = s.countries.iter().find(|c| c.origin == "mixed") {
        println!("  kpledger parcel history {} --ledger {}", c.export_lot, s.ledger.display());
        let d = s.dir.display();
        println!(
            "  kpledger verify {d}/bundles/{}.json --policy {d}/{}",
            c.certificate,
            kpledger_core::demo::DEMO_POLICY
        );
    }
    println!("  kpledger certificate list --ledger {}", s.ledger.display());
    println!("  kpledger stats --ledger {} --period 2026-Q1", s.ledger.display());
    if let Some(c) = s.countries.iter().find(|c| c.origin == "mixed") {
        println!("  kpledger graph {} --ledger {} --format dot", c.certificate, s.ledger.display());
    }
    let all_ok = s.report.ok && s.bundle_reports.iter().all(|b| b.ok);
    Ok(if all_ok { OK } else { FOUND })
}

/// Build a realistic Mano River Union ledger, verify it, and print a summary
///
/// Enrols the four national KP authorities, their mine sites and licensed actors, mines
/// parcels in Sierra Leone, Liberia, Guinea and Cote d'Ivoire, trades them along each
/// country's legal chain, splits and merges them, values and seals the export lots.
/// Writes DIR/ledger.kpl, DIR/keys/ (demo keys: public knowledge, never use them for
/// real), DIR/manifest.json, and the regulator's report DIR/report.html with the KP
/// statistics DIR/stats.txt, stats.json and stats.csv (see `kpledger report`, `stats`).
///
/// Example: kpledger demo mru --parcels 40
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Directory to write into; must be new or empty
    #[arg(default_value = "kpledger-demo")]
    dir: PathBuf,
    /// How many parcels to mine across the four countries (at least 8)
    #[arg(long, default_value_t = 24)]
    parcels: u32,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
    /// Write the ledger into this empty PostgreSQL database (postgres://USER:PASSWORD@HOST/DB;
    /// also read from KPLEDGER_LEDGER when that holds a postgres:// URL) instead of
    /// DIR/ledger.kpl; the keys, bundles, reports and manifest still go to DIR
    #[arg(long, value_name = "URL")]
    ledger: Option<String>,
}

pub(crate) fn demo(a: DemoArgs) -> Result<u8> {
    let DemoArgs { dir, parcels, json, ledger } = a;
    // KPLEDGER_LEDGER names the ledger of the other commands; the demo takes it only when it
    // is a database (a file ledger of the demo is always DIR/ledger.kpl).
    let ledger = ledger
        .or_else(|| std::env::var("KPLEDGER_LEDGER").ok().filter(|l| kpledger_core::store::pg::is_url(l)));
    if let Some(l) = &ledger
        && !kpledger_core::store::pg::is_url(l)
    {
        anyhow::bail!(
            "--ledger {l}: the demo writes its ledger file to DIR/ledger.kpl; --ledger takes only a \
             PostgreSQL database (postgres://USER:PASSWORD@HOST/DB)"
        );
    }
    demo_cmd(&dir, ledger.as_deref(), parcels, json)
}
