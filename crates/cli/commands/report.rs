//! Regulator reports: `kpledger stats`, `kpledger report --html`, `kpledger graph`, and the
//! red flags added to `kpledger verify`. Reads the ledger or a bundle, hands the events to
//! `kpledger-report`, prints or writes what it returns.

use crate::args::*;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use kpledger_model::{Bundle, Date, Event, ParsedEvent};
use kpledger_report::{Book, CheckpointStatus, Flag, HtmlInput, Period, Target};
use kpledger_verify::Report;
use kpledger_verify::{SigMode, verify_bundle};

use super::common::{open, parcel_among, read_input, write_new};
use crate::args::{GraphFormat, OpenArgs};
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

pub(crate) fn stats(a: StatsArgs) -> Result<u8> {
    let StatsArgs { ledger, period, from, to, json, csv } = a;
    stats_cmd(&ledger, period.as_deref(), from, to, json, csv)
}

pub(crate) fn report(a: ReportArgs) -> Result<u8> {
    let ReportArgs { html, ledger, bundle, trust, open } = a;
    report_cmd(&html, ledger.as_deref(), bundle.as_deref(), &trust, &open)
}

pub(crate) fn graph(a: GraphArgs) -> Result<u8> {
    let GraphArgs { target, ledger, bundle, format, out, open } = a;
    graph_cmd(&target, ledger.as_deref(), bundle.as_deref(), format, out.as_deref(), &open)
}
