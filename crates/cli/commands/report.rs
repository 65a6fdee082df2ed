//! Regulator reports: `kpledger stats`, `kpledger report --html`, `kpledger graph`, and the
//! red flags added to `kpledger verify`. Reads the ledger or a bundle, hands the events to
//! `kpledger-report`, prints or writes what it returns.

use crate::args::*;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use kpledger_model::{Bundle, Date, Event, ParsedEvent};
use kpledger_report::{Book, CheckpointStatus, Flag, HtmlInput, Period, Target};
use kpledger_verify::Report;
use kpledger_verify::{SigMode, verify_bundle};

use super::common::{open, parcel_among, read_input, write_new};
use crate::args::OpenArgs;
use crate::{FOUND, OK};

/// The events of a bundle file with their ledger positions, and its checkpoint note.
fn bundle_events(path: &Path) -> Result<(Vec<(u64, ParsedEvent)>, String)> {
    let bytes = read_input(path)?;
    let bundle: Bundle = kpledger_model::canonical::parse_bounded(&bytes)
        .and_then(serde_json::from_value)
        .with_context(|| format!("{} is not an evidence bundle", path.display()))?;
    let mut out = Vec::new();
    for (i, v) in bundle.events.iter().enumerate() {
        let raw = serde_json::to_vec(v)?;
        let ev = Event::parse(&raw).map_err(|e| anyhow!("{}: event {}: {e}", path.display(), i + 1))?;
        let seq = bundle.log.proofs.get(i).map(|p| p.index + 1).unwrap_or(i as u64 + 1);
        out.push((seq, ev));
    }
    Ok((out, bundle.log.checkpoint))
}

fn book_of(events: &[(u64, ParsedEvent)]) -> Book {
    Book::new(events.iter().map(|(s, e)| (*s, e)))
}

/// Adds the red flags to a verification report, as warnings like the rules' own.
pub(crate) fn add_flags(report: &mut Report, flags: &[Flag]) {
    for f in flags {
        report.findings.push(f.finding.clone());
        report.warnings += 1;
    }
}

/// `kpledger stats`.
pub(crate) fn stats_cmd(
    ledger: &LedgerArgs,
    p: Option<&str>,
    from: Option<Date>,
    to: Option<Date>,
    json: bool,
    csv: bool,
) -> Result<u8> {
    let l = ledger.open(true)?;
    let events = l.events()?;
    let book = book_of(&events);
    let period = Period::choose(p, from, to, &book)?;
    let flags = kpledger_report::red_flags(&book);
    let stats = kpledger_report::Stats::compute(&book, &period, &flags);
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else if csv {
        print!("{}", stats.to_csv()?);
    } else {
        print!("{}", stats.to_table());
    }
    Ok(OK)
}

/// The HTML report of a ledger, with its verification report.
pub(crate) fn ledger_html(
    ledger: &kpledger_core::Ledger,
    book: &Book,
    report: &Report,
    subject: String,
) -> Result<String> {
    let flags = kpledger_report::red_flags(book);
    let mut checkpoints = Vec::new();
    for c in ledger.stored_checkpoints()? {
        checkpoints.push(kpledger_report::checkpoint_status(&c.note)?);
    }
    let html =
        kpledger_report::render_html(&HtmlInput { subject, book, report, flags: &flags, checkpoints })?;
    Ok(html)
}

/// `kpledger report --html OUT (--ledger L | --bundle B --policy P)`.
pub(crate) fn report_cmd(
    out: &Path,
    ledger: Option<&Path>,
    bundle: Option<&Path>,
    trust: &TrustArgs,
    o: &OpenArgs,
) -> Result<u8> {
    trust.removed.refuse()?;
    let (html, ok) = match (ledger, bundle) {
        (Some(path), _) => {
            let l = open(path, true, o)?;
            // One reading of the ledger: the events verified are the events reported.
            let mut book = Book::default();
            let report =
                l.verify_observed(SigMode::Strict, &mut |_, _| {}, &mut |seq, ev| book.add(seq, ev))?;
            (ledger_html(&l, &book, &report, format!("ledger {}", l.path().display()))?, report.ok)
        }
        (None, Some(path)) => {
            let policy = trust.policy()?;
            let bytes = read_input(path)?;
            let report = verify_bundle(&bytes, &policy).with_context(|| format!("{}", path.display()))?;
            let (events, note) = bundle_events(path)?;
            let book = book_of(&events);
            let flags = kpledger_report::red_flags(&book);
            // The witnesses shown are only those whose cosignatures verified with a key of the
            // trust policy, never names read from the note's signature lines.
            let mut status = kpledger_report::checkpoint_status(&note)?;
            status.cosigners = report.witnesses.clone();
            let checkpoints: Vec<CheckpointStatus> = vec![status];
            let html = kpledger_report::render_html(&HtmlInput {
                subject: format!("evidence bundle {}", path.display()),
                book: &book,
                report: &report,
                flags: &flags,
                checkpoints,
            })?;
            (html, report.ok)
        }
        (None, None) => bail!("give --ledger FILE, or --bundle FILE with --policy TRUST-POLICY"),
    };
    write_new(out, html.as_bytes())?;
    println!("regulator report → {}", out.display());
    println!("open it in a browser: it is one self-contained file (no script, font or network).");
    Ok(if ok { OK } else { FOUND })
}

/// `kpledger graph PARCEL_OR_CERT --format dot|svg`.
pub(crate) fn graph_cmd(
    target: &str,
    ledger: Option<&Path>,
    bundle: Option<&Path>,
    format: GraphFormat,
    out: Option<&Path>,
    o: &OpenArgs,
) -> Result<u8> {
    let events = match (ledger, bundle) {
        (Some(path), _) => open(path, true, o)?.events()?,
        (None, Some(path)) => bundle_events(path)?.0,
        (None, None) => bail!("give --ledger FILE or --bundle FILE"),
    };
    let book = book_of(&events);
    // A certificate of that number, else a parcel id or unique prefix (docs/SPEC.md §7.1)
    // among the ledger's or the bundle's parcels.
    let t = match Target::parse(target) {
        Target::Certificate(c) if !book.has_certificate(&c) => {
            let place = ledger.or(bundle).map(|p| p.display().to_string()).unwrap_or_default();
            match value::parcel(target) {
                Ok(typed) => Target::Parcel(parcel_among(book.parcel_ids(), &typed, &place)?),
                Err(_) => Target::Certificate(c),
            }
        }
        t => t,
    };
    let text = match format {
        GraphFormat::Dot => kpledger_report::graph_dot(&book, &t)?,
        GraphFormat::Svg => kpledger_report::graph_svg(&book, &t)?,
    };
    match out {
        Some(p) => {
            write_new(p, text.as_bytes())?;
            println!("provenance graph of {target} → {}", p.display());
        }
        None => print!("{text}"),
    }
    Ok(OK)
}

/// Writes the demo's regulator report and statistics into its directory; returns the
/// files written and the red flags.
pub(crate) fn demo_reports(
    dir: &Path,
    ledger_path: &Path,
    report: &Report,
) -> Result<(Vec<PathBuf>, Vec<Flag>)> {
    let l = kpledger_core::Ledger::open(
        ledger_path,
        kpledger_core::OpenOptions { read_only: true, ..Default::default() },
    )?;
    let events = l.events()?;
    let book = book_of(&events);
    let flags = kpledger_report::red_flags(&book);
    // The ledger as it names itself: a database without its password.
    let html = ledger_html(&l, &book, report, format!("ledger {}", l.path().display()))?;
    let period = Period::choose(None, None, None, &book)?;
    let stats = kpledger_report::Stats::compute(&book, &period, &flags);
    let files = [
        (dir.join("report.html"), html),
        (dir.join("stats.txt"), stats.to_table()),
        (dir.join("stats.json"), serde_json::to_string_pretty(&stats)? + "\n"),
        (dir.join("stats.csv"), stats.to_csv()?),
    ];
    let mut written = Vec::new();
    for (p, text) in files {
        write_new(&p, text.as_bytes())?;
        written.push(p);
    }
    Ok((written, flags))
}

/// KP statistics (Annex III) of a period: production, exports, imports, red flags
///
/// Production by country of origin, region and mine site (carats, and value at the
/// miner's first sale); exports and imports by country, HS code, partner and origin, with
/// carats, US$, US$/ct and the number of certificates. Origin (where the stones were
/// mined) and provenance (the last exporting country) are kept apart: a cross-border
/// import counts as an import, never as production, and `EXPORTS by country of origin`
/// shares mixed-origin lots out by their recorded history. The statistical red flags
/// (ST-1..ST-5, SW-1, see `kpledger rules`) dated in the period are listed at the end.
///
/// Annex III asks for production every half-year and trade every quarter: use
/// --period 2026-H1 for production returns and --period 2026-Q3 for trade returns.
/// Without a period: the whole ledger. Exit 0 (red flags are warnings), 2 on bad input.
///
/// Examples:
///   kpledger stats --ledger kpledger-demo/ledger.kpl --period 2026-Q1
///   kpledger stats --ledger sl.kpl --from 2026-01-01 --to 2026-02-15 --csv > sl.csv
///   kpledger stats --ledger sl.kpl --period 2026-H1 --json   (schemas/stats.schema.json)
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct StatsArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    /// A year (2026), half-year (2026-H1, 2026-H2) or quarter (2026-Q1 .. 2026-Q4)
    #[arg(long, conflicts_with_all = ["from", "to"])]
    period: Option<String>,
    /// First day (default: the ledger's first event)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = value::date)]
    from: Option<Date>,
    /// Last day, included (default: the ledger's latest event)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = value::date)]
    to: Option<Date>,
    /// Print JSON (schemas/stats.schema.json)
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print one CSV table (RFC 4180) with a `section` column
    #[arg(long)]
    csv: bool,
}

pub(crate) fn stats(a: StatsArgs) -> Result<u8> {
    let StatsArgs { ledger, period, from, to, json, csv } = a;
    stats_cmd(&ledger, period.as_deref(), from, to, json, csv)
}

/// Write the regulator's HTML report of a ledger or of one evidence bundle
///
/// One self-contained file (no script, font or network): the verdict first, summary
/// figures, findings and red flags grouped by certificate, charts of production against
/// exports and of US$/ct against the benchmark band, each certificate's provenance graph
/// (mine sites → handovers, splits, merges → export lot, carats on every edge), and the
/// checkpoint and witness status. Verifies first: exit 0 verified (warnings allowed),
/// 1 an error was found (the report is still written and says so), 2 could not run.
///
/// Examples:
///   kpledger report --html mru.html --ledger kpledger-demo/ledger.kpl
///   kpledger report --html sl.html --bundle kpledger-demo/bundles/SL-2026-004312.json --policy kpledger-demo/trust-policy.txt
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ReportArgs {
    /// Where to write the HTML file (must not exist)
    #[arg(long, value_name = "OUT")]
    html: PathBuf,
    /// The ledger file
    #[arg(long, conflicts_with = "bundle", required_unless_present = "bundle")]
    ledger: Option<PathBuf>,
    /// An evidence bundle (needs --policy)
    #[arg(long)]
    bundle: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    open: OpenArgs,
}

pub(crate) fn report(a: ReportArgs) -> Result<u8> {
    let ReportArgs { html, ledger, bundle, trust, open } = a;
    report_cmd(&html, ledger.as_deref(), bundle.as_deref(), &trust, &open)
}

/// Draw the provenance graph of a certificate or a parcel, back to the mine sites
///
/// Nodes are mine sites, handovers, splits, merges, valuation, sealing and the export;
/// every edge carries the parcel's carats. DOT for Graphviz or other tools, or SVG laid
/// out by kpledger itself.
///
/// Examples:
///   kpledger graph SL-2026-004312 --ledger kpledger-demo/ledger.kpl --format svg --out sl-graph.svg
///   kpledger graph 019cb030-95a0-72d7 --ledger kpledger-demo/ledger.kpl --format dot | dot -Tpng > parcel.png   (needs Graphviz)
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct GraphArgs {
    /// A KP certificate number, or a parcel id (or a unique prefix of at least 8 hex digits)
    #[arg(value_name = "PARCEL_OR_CERT")]
    target: String,
    /// The ledger file
    #[arg(long, env = "KPLEDGER_LEDGER", conflicts_with = "bundle", required_unless_present = "bundle")]
    ledger: Option<PathBuf>,
    /// An evidence bundle instead of a ledger
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Svg)]
    format: GraphFormat,
    /// Write to this file (must not exist) instead of standard output
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    open: OpenArgs,
}

/// The provenance graph's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GraphFormat {
    /// Graphviz DOT text
    Dot,
    /// SVG, laid out by kpledger
    Svg,
}

pub(crate) fn graph(a: GraphArgs) -> Result<u8> {
    let GraphArgs { target, ledger, bundle, format, out, open } = a;
    graph_cmd(&target, ledger.as_deref(), bundle.as_deref(), format, out.as_deref(), &open)
}
