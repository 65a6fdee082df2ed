//! The regulator's report: one self-contained HTML file (inline CSS and SVG; no script, no
//! font, no image, no network). The verdict comes first, then the summary figures, the
//! findings grouped by certificate, the charts, each certificate's provenance graph, and the
//! checkpoint and witness status.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use kpledger_model::note::{Checkpoint, Note};
use kpledger_verify::{Finding, Report, Severity};

use crate::ReportError;
use crate::book::Book;
use crate::charts::{self, ValueRow, Volume};
use crate::flags::Flag;
use crate::fmt::{ct, pct, per_ct, usd, usd_per_ct};
use crate::graph::{self, Target};
use crate::period::Period;

/// A checkpoint as the report shows it.
#[derive(Debug, Clone)]
pub struct CheckpointStatus {
    /// Log size it covers.
    pub size: u64,
    /// Root hash, hex.
    pub root: String,
    /// Names of the signers other than the log itself: the witnesses.
    pub cosigners: Vec<String>,
}

/// Reads a stored checkpoint note: its size, root and the witnesses that cosigned it.
pub fn checkpoint_status(note: &str) -> Result<CheckpointStatus, ReportError> {
    let n = Note::parse(note.as_bytes()).map_err(|e| ReportError::Checkpoint(e.to_string()))?;
    let c = Checkpoint::parse(n.text()).map_err(|e| ReportError::Checkpoint(e.to_string()))?;
    let cosigners = n
        .signatures()
        .iter()
        .map(|s| s.name().to_owned())
        .filter(|name| name != c.origin())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(CheckpointStatus { size: c.size(), root: c.root_hash().to_hex(), cosigners })
}

/// What the report is about.
#[derive(Debug, Clone)]
pub struct HtmlInput<'a> {
    /// "ledger FILE" or "evidence bundle FILE".
    pub subject: String,
    /// The events read.
    pub book: &'a Book,
    /// The verification report (rule findings).
    pub report: &'a Report,
    /// The red flags.
    pub flags: &'a [Flag],
    /// Stored checkpoints, oldest first.
    pub checkpoints: Vec<CheckpointStatus>,
}

/// A chart (`svg`, `None` when there is nothing to draw: then `empty` says so) with its
/// element id, its accessible description and the legend under it.
fn figure(o: &mut String, svg: Option<String>, empty: &str, id: &str, aria: &str, legend: &str) {
    match svg {
        None => {
            let _ = writeln!(o, "<p>{empty}</p>");
        }
        Some(svg) => {
            let _ = writeln!(
                o,
                "<div class=\"figure chart\" id=\"{id}\" role=\"img\" aria-label=\"{aria}\">{svg}</div>"
            );
            let _ = writeln!(o, "<p class=\"legend\">{legend}</p>");
        }
    }
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
:root { --ok:#1b5e20; --okbg:#e8f5e9; --bad:#b71c1c; --badbg:#ffebee; --warn:#8a5300; --warnbg:#fff4e0; --ink:#1c2430; --muted:#5b6675; --line:#d9dee5; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; color: var(--ink); background: #f5f6f8; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: var(--muted); }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 22px; margin-top: 18px; }
h2 { margin: 0 0 12px; font-size: 20px; }
h3 { margin: 18px 0 8px; font-size: 16px; }
.verdict { border-width: 2px; }
.verdict.ok { background: var(--okbg); border-color: var(--ok); }
.verdict.flagged { background: var(--warnbg); border-color: var(--warn); }
.verdict.fail { background: var(--badbg); border-color: var(--bad); }
.verdict .big { font-size: 28px; font-weight: 700; }
.verdict.ok .big { color: var(--ok); } .verdict.flagged .big { color: var(--warn); } .verdict.fail .big { color: var(--bad); }
.verdict p { margin: 6px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; background: none; border: none; padding: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .n { font-size: 22px; font-weight: 700; }
.card .l { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.sev { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 700; white-space: nowrap; }
.sev.error { background: var(--badbg); color: var(--bad); }
.sev.warning { background: var(--warnbg); color: var(--warn); }
.code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-weight: 700; white-space: nowrap; }
.hint { color: var(--muted); font-size: 13px; }
.figure { overflow-x: auto; }
.figure svg { max-width: 100%; height: auto; display: block; }
.graph svg { max-width: 100%; height: auto; }
.graph { border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow-x: auto; background: #fcfcfd; }
.graph text { font-family: "DejaVu Sans", Arial, sans-serif; }
dl.facts { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 4px 16px; margin: 0 0 10px; font-size: 14px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.legend { color: var(--muted); font-size: 13px; margin: 6px 0 0; }
.flagged-cert { color: var(--warn); font-weight: 700; }
footer { color: var(--muted); font-size: 13px; margin-top: 18px; }
.legend + h2 { margin-top: 26px; }
"#;

fn sev(f: &Finding) -> String {
    let s = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!("<span class=\"sev {s}\">{s}</span>")
}

/// For each parcel, the certificates whose provenance includes it.
fn certificates_by_parcel(book: &Book) -> std::collections::BTreeMap<kpledger_model::ParcelId, Vec<String>> {
    let mut m: std::collections::BTreeMap<_, Vec<String>> = std::collections::BTreeMap::new();
    for c in &book.certificates {
        let roots: Vec<_> = c.certificate.parcels.iter().map(|r| r.parcel).collect();
        for p in book.ancestors(&roots) {
            m.entry(p).or_default().push(c.certificate.number.to_string());
        }
    }
    m
}

/// The certificates a finding belongs under: its own, or those whose provenance includes its parcel.
fn certificates_of(
    by_parcel: &std::collections::BTreeMap<kpledger_model::ParcelId, Vec<String>>,
    f: &Finding,
) -> Vec<String> {
    if let Some(c) = &f.certificate {
        return vec![c.clone()];
    }
    f.parcel.and_then(|p| by_parcel.get(&p).cloned()).unwrap_or_default()
}

/// A parcel id as every table shows it (`kpledger_model::ids`, docs/SPEC.md §7.1): its first
/// 16 hex digits, more where another parcel of the ledger or bundle shares them.
fn short_parcel(book: &Book, id: &kpledger_model::ParcelId) -> String {
    use std::ops::Bound::{Excluded, Unbounded};
    let before = book.parcels.range(..*id).next_back().map(|(k, _)| k);
    let after = book.parcels.range((Excluded(*id), Unbounded)).next().map(|(k, _)| k);
    kpledger_model::ids::short_parcel_among(id, [before, after])
}

fn findings_table(out: &mut String, book: &Book, items: &[&Finding]) {
    let _ = writeln!(
        out,
        "<table><thead><tr><th>rule</th><th>severity</th><th>what was found</th></tr></thead><tbody>"
    );
    for f in items {
        let hint = f
            .hint
            .as_deref()
            .map(|h| format!("<div class=\"hint\">What to do: {}</div>", esc(h)))
            .unwrap_or_default();
        let mut place = Vec::new();
        if let Some(a) = &f.actor {
            place.push(format!("actor {a}"));
        }
        if let Some(p) = &f.parcel {
            place.push(format!("parcel {}", short_parcel(book, p)));
        }
        if let Some(s) = f.seq {
            place.push(format!("event #{s}"));
        }
        let place = if place.is_empty() {
            String::new()
        } else {
            format!("<div class=\"hint\">{}</div>", esc(&place.join(" · ")))
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"code\">{}</td><td>{}</td><td>{}{place}{hint}</td></tr>",
            esc(f.code.code()),
            sev(f),
            esc(&f.message)
        );
    }
    let _ = writeln!(out, "</tbody></table>");
}

/// Renders the report.
pub fn render_html(input: &HtmlInput<'_>) -> Result<String, ReportError> {
    let book = input.book;
    let report = input.report;
    let flags: Vec<&Finding> = input.flags.iter().map(|f| &f.finding).collect();
    let mut all: Vec<&Finding> = report.findings.iter().collect();
    all.extend(flags.iter().copied());
    let ledger = book.ledger.clone().unwrap_or_else(|| "ledger".into());
    let span = match (&book.first, &book.last) {
        (Some(a), Some(b)) => format!("{} to {}", a.date(), b.date()),
        _ => "no events".into(),
    };

    let mut o = String::new();
    let _ = writeln!(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">");
    let _ = writeln!(o, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = writeln!(o, "<title>KP regulator report — {}</title>", esc(&ledger));
    let _ = writeln!(o, "<style>{CSS}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(
        o,
        "<header><h1>Kimberley Process regulator report</h1><p>{} · log <b>{}</b> · {} signed events · {span} (ledger time)</p></header>",
        esc(&input.subject),
        esc(&ledger),
        book.events
    );

    // Verdict. A bundle's verdict reached without the witnesses' cosignatures says so first
    // (LOG-4: its trust policy required none; LOG-3: the required ones are missing).
    let unwitnessed: Vec<&Finding> =
        report.findings.iter().filter(|f| matches!(f.code.code(), "LOG-3" | "LOG-4")).collect();
    let (class, word) = if !report.ok {
        ("fail", "FAILED")
    } else if !unwitnessed.is_empty() {
        ("flagged", "VERIFIED — not witnessed")
    } else if !flags.is_empty() || report.warnings > 0 {
        ("flagged", "VERIFIED — with red flags to review")
    } else {
        ("ok", "VERIFIED")
    };
    let _ = writeln!(o, "<section class=\"verdict {class}\" id=\"verdict\"><div class=\"big\">{word}</div>");
    for f in &unwitnessed {
        let _ = writeln!(
            o,
            "<p id=\"witness-banner\"><b>Not witnessed ({}):</b> {}</p>",
            f.code.code(),
            esc(&f.message)
        );
    }
    let _ = writeln!(
        o,
        "<p><b>{}</b> error(s) and <b>{}</b> warning(s) from verification of every signature, chain, weight, licence and certificate; <b>{}</b> statistical red flag(s) (ST-1..ST-5, SW-1). Errors break validity; warnings and red flags are for a person to look at.</p>",
        report.errors,
        report.warnings,
        flags.len()
    );
    let _ = writeln!(o, "<p class=\"hint\">{}</p></section>", esc(report.limits));

    // Summary figures.
    // Exports apart by origin, as the statistics' totals: the carats a certificate carries of
    // its issuing country's own origin, and those mined elsewhere (re-exports: stones already
    // counted in the exports of the country that exported them first). Only the first can be
    // compared with the carats mined; their sum is every certificate's carats.
    let mined: u64 = book.extractions.iter().map(|e| e.weight_pt).sum();
    let (mut own, mut re) = (0u64, 0u64);
    for c in &book.certificates {
        let issuer = c.certificate.issuing_country.to_string();
        for (origin, (pt, _)) in c.by_origin() {
            if origin == issuer {
                own += pt;
            } else {
                re += pt;
            }
        }
    }
    let value: u64 = book.certificates.iter().map(|c| c.certificate.value()).sum();
    // (The number of signed events is in the page's header line.)
    let cards = [
        (book.certificates.len().to_string(), "KP certificates", "certificates"),
        (ct(mined), "carats mined", "mined"),
        (ct(own), "carats exported of own origin", "own-origin"),
        (ct(re), "carats re-exported (mined elsewhere)", "re-exported"),
        (usd(value), "export value, re-exports included", "value"),
        (flags.len().to_string(), "red flags", "red-flags"),
    ];
    let _ = writeln!(o, "<section class=\"cards\" id=\"summary\">");
    for (n, l, id) in cards {
        let _ = writeln!(
            o,
            "<div class=\"card\" id=\"card-{id}\"><div class=\"n\">{}</div><div class=\"l\">{l}</div></div>",
            esc(&n)
        );
    }
    let _ = writeln!(o, "</section>");
    let _ = writeln!(
        o,
        "<p class=\"legend\" id=\"summary-legend\">Exports of own origin are stones mined in the exporting country: they are what its production must account for, to be compared with the carats mined. Re-exports are stones mined elsewhere and imported first (a mixed lot shared out by its recorded history): they were already counted in the export of the country that exported them first, so they are shown apart, and the two make every certificate's carats.</p>"
    );

    // Findings grouped by certificate.
    let _ = writeln!(o, "<section id=\"findings\"><h2>Findings and red flags, by certificate</h2>");
    if all.is_empty() {
        let _ = writeln!(o, "<p>No finding: every rule held and no statistical red flag was raised.</p>");
    }
    let mut placed = BTreeSet::new();
    let by_parcel = certificates_by_parcel(book);
    let homes: Vec<Vec<String>> = all.iter().map(|f| certificates_of(&by_parcel, f)).collect();
    for c in &book.certificates {
        let n = c.certificate.number.to_string();
        let items: Vec<&Finding> =
            all.iter().zip(&homes).filter(|(_, h)| h.contains(&n)).map(|(f, _)| *f).collect();
        if items.is_empty() {
            continue;
        }
        for f in &items {
            placed.insert(*f as *const Finding);
        }
        let _ = writeln!(
            o,
            "<h3>Certificate <a href=\"#cert-{0}\">{0}</a> — {1} → {2}, origin {3}</h3>",
            esc(&n),
            esc(c.certificate.issuing_country.as_str()),
            esc(c.certificate.importer.country.as_str()),
            esc(&c.certificate.country_of_origin.to_string())
        );
        findings_table(&mut o, book, &items);
    }
    let rest: Vec<&Finding> =
        all.iter().copied().filter(|f| !placed.contains(&(*f as *const Finding))).collect();
    if !rest.is_empty() {
        let _ = writeln!(o, "<h3>Not tied to one certificate (actors, countries, the ledger)</h3>");
        findings_table(&mut o, book, &rest);
    }
    let _ = writeln!(o, "</section>");

    // Charts.
    let _ = writeln!(o, "<section id=\"charts\"><h2>Production against exports</h2>");
    let volumes = volumes(book);
    let svg = if volumes.is_empty() { None } else { Some(charts::volumes(&volumes)?) };
    figure(
        &mut o,
        svg,
        "No production or trade recorded.",
        "chart-volumes",
        "Bar chart: carats produced, exported and imported per country and quarter",
        "Production: parcels registered at mine sites. Exports: KP certificates issued (by the exporting country, whatever the origin). Imports: shipments received under a certificate. A country exporting more than it produces and imports is the laundering pattern of ST-2.",
    );
    let _ = writeln!(o, "<h2>Value per carat against the benchmark</h2>");
    let rows = value_rows(book, input.flags);
    let svg = if rows.is_empty() { None } else { Some(charts::values(&rows)?) };
    figure(
        &mut o,
        svg,
        "No certificate.",
        "chart-values",
        "Each certificate's US dollars per carat against its origin's benchmark band",
        "Each dot is a certificate's value per carat; the green band is its origin's benchmark (country policy; sources in docs/RULES.md) times the policy's band (default 0.33×–3×). A red dot is outside the band (ST-1: possible under- or over-valuation).",
    );
    let _ = writeln!(o, "</section>");

    // Certificates and their provenance graphs.
    let _ =
        writeln!(o, "<section id=\"certificates\"><h2>Certificates and the provenance of their parcels</h2>");
    let _ = writeln!(
        o,
        "<p class=\"legend\">Each graph runs from the mine sites (green, top) through handovers, splits and merges (grey) and the official valuation and seal (blue) down to the export (gold, bold). Every edge carries the carats that travelled along it; parcels that took the same path together are drawn once (\"3 parcels\"). A drop between the edge into a step and the edge out of it is a weight loss at re-weighing.</p>"
    );
    for c in &book.certificates {
        let cert = &c.certificate;
        let n = cert.number.to_string();
        let flagged = input.flags.iter().any(|f| f.finding.certificate.as_deref() == Some(n.as_str()));
        let status = match (&c.exported, &c.confirmed) {
            (_, Some(d)) => format!("exported, receipt confirmed {d}"),
            (Some((_, t)), None) => format!("exported {}", t.date()),
            (None, None) => "issued, not yet exported".into(),
        };
        let _ = writeln!(
            o,
            "<article id=\"cert-{0}\"><h3>{0}{1}</h3>",
            esc(&n),
            if flagged { " <span class=\"flagged-cert\">— red flag</span>" } else { "" }
        );
        let _ = writeln!(
            o,
            "<dl class=\"facts\"><dt>issued by</dt><dd>{} ({}) on {}</dd><dt>destination</dt><dd>{} ({})</dd><dt>exporter</dt><dd>{}</dd><dt>origin</dt><dd>{}</dd><dt>carats</dt><dd>{}</dd><dt>value</dt><dd>{} ({}/ct)</dd><dt>parcels</dt><dd>{}</dd><dt>status</dt><dd>{}</dd></dl>",
            esc(cert.issuing_authority.as_str()),
            esc(cert.issuing_country.as_str()),
            esc(cert.date_of_issue.as_str()),
            esc(cert.importer.name.as_str()),
            esc(cert.importer.country.as_str()),
            esc(cert.exporter.name.as_str()),
            esc(&origin_text(c)),
            ct(cert.carats()),
            usd(cert.value()),
            per_ct(cert.value(), cert.carats()).map(usd_per_ct).unwrap_or_default(),
            cert.parcel_count,
            esc(&status)
        );
        let svg = graph::graph_svg(book, &Target::Certificate(n.clone()))?;
        let _ = writeln!(
            o,
            "<div class=\"graph\" id=\"graph-{0}\" role=\"img\" aria-label=\"Provenance of certificate {0}: from the mine sites to the export\">{svg}</div></article>",
            esc(&n)
        );
    }
    if book.certificates.is_empty() {
        let _ = writeln!(o, "<p>No certificate in this ledger.</p>");
    }
    let _ = writeln!(o, "</section>");

    // Statistics summary.
    let whole = match (&book.first, &book.last) {
        (Some(a), Some(b)) => Period::range(a.date(), b.date()).ok(),
        _ => None,
    };
    if let Some(p) = whole {
        let s = crate::Stats::compute(book, &p, input.flags);
        let _ =
            writeln!(o, "<section id=\"stats\"><h2>KP statistics (Annex III), {}</h2>", esc(&p.to_string()));
        let _ = writeln!(
            o,
            "<table><thead><tr><th>country</th><th class=\"num\">produced ct</th><th class=\"num\">production US$</th><th class=\"num\">exported ct</th><th class=\"num\">exports US$</th><th class=\"num\">US$/ct</th><th class=\"num\">export certificates</th><th class=\"num\">imported ct</th><th class=\"num\">import certificates</th></tr></thead><tbody>"
        );
        for t in &s.totals {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&t.country),
                ct(t.production_pt),
                usd(t.production_usd_cents),
                ct(t.exports_pt),
                usd(t.exports_usd_cents),
                per_ct(t.exports_usd_cents, t.exports_pt).map(usd_per_ct).unwrap_or_else(|| "–".into()),
                t.export_certificates,
                ct(t.imports_pt),
                t.import_certificates
            );
        }
        let _ = writeln!(o, "</tbody></table>");
        let _ = writeln!(
            o,
            "<p class=\"legend\">Production is valued at the miner's first sale. Exports count each certificate once, by the exporting country (provenance); a cross-border import is counted as an import of the receiving country, never as its production. <code>kpledger stats --period 2026-Q1</code> gives the full Annex III tables (by HS code, partner and origin) as text, JSON or CSV.</p></section>"
        );
    }

    // Checkpoints and witnesses.
    let _ = writeln!(o, "<section id=\"log\"><h2>Checkpoints and witnesses</h2>");
    if input.checkpoints.is_empty() {
        let _ = writeln!(
            o,
            "<p><b>No signed checkpoint.</b> Without one, removing the newest events cannot be detected from the ledger alone: publish one with <code>kpledger log publish</code> and have it witnessed.</p>"
        );
    } else {
        let newest = input.checkpoints.iter().map(|c| c.size).max().unwrap_or(0);
        let uncovered = book.events.saturating_sub(newest);
        let _ = writeln!(
            o,
            "<p>{} checkpoint(s) signed by the root authority; the newest covers {} of {} events{}.</p>",
            input.checkpoints.len(),
            newest,
            book.events,
            if uncovered == 0 {
                String::from(" (all of them)")
            } else {
                format!(" — the {uncovered} newest event(s) are not yet under a checkpoint")
            }
        );
        let _ = writeln!(
            o,
            "<table><thead><tr><th class=\"num\">log size</th><th>root hash</th><th>cosigned by (witnesses)</th></tr></thead><tbody>"
        );
        for c in &input.checkpoints {
            let w = if c.cosigners.is_empty() {
                "<b>no witness</b>".to_owned()
            } else {
                esc(&c.cosigners.join(", "))
            };
            let _ = writeln!(
                o,
                "<tr><td class=\"num\">{}</td><td class=\"code\">{}…</td><td>{} ({} witness(es))</td></tr>",
                c.size,
                esc(&c.root[..16.min(c.root.len())]),
                w,
                c.cosigners.len()
            );
        }
        let _ = writeln!(o, "</tbody></table>");
    }
    let _ = writeln!(o, "</section>");
    let _ = writeln!(
        o,
        "<footer>Generated by kpledger from the signed events only (no clock, no network). This file is self-contained: no script, font or image is loaded. {}</footer>",
        esc(report.limits)
    );
    let _ = writeln!(o, "</main>\n</body>\n</html>");
    Ok(o)
}

fn origin_text(c: &crate::book::Cert) -> String {
    let parts = c.by_origin();
    let total: u64 = parts.values().map(|v| v.0).sum();
    let shares: Vec<String> =
        parts.iter().map(|(k, (pt, _))| format!("{k} {}%", pct(*pt, total).unwrap_or(0))).collect();
    format!("{} (by recorded history: {})", c.certificate.country_of_origin, shares.join(", "))
}

/// Production, exports and imports per country and quarter.
fn volumes(book: &Book) -> Vec<Volume> {
    use std::collections::BTreeMap;
    let mut m: BTreeMap<(String, String), [u64; 3]> = BTreeMap::new();
    for e in &book.extractions {
        let q = Period::quarter_of(&e.time.date()).label;
        m.entry((e.country.clone(), q)).or_default()[0] += e.weight_pt;
    }
    for c in &book.certificates {
        let q = Period::quarter_of(&c.certificate.date_of_issue).label;
        m.entry((c.certificate.issuing_country.to_string(), q)).or_default()[1] += c.certificate.carats();
    }
    for i in &book.imports {
        let q = Period::quarter_of(&i.date).label;
        m.entry((i.country.clone(), q)).or_default()[2] +=
            i.certificate.lines.iter().map(|l| l.carats_pt.0).sum::<u64>();
    }
    m.into_iter().map(|((c, q), carats_pt)| Volume { label: format!("{c} {q}"), carats_pt }).collect()
}

/// Each certificate's US$/ct against its origin's band.
fn value_rows(book: &Book, flags: &[Flag]) -> Vec<ValueRow> {
    book.certificates
        .iter()
        .filter_map(|c| {
            let cert = &c.certificate;
            let value = per_ct(cert.value(), cert.carats())?;
            let band = book.value_benchmark(c).map(|(b, _)| {
                let [lo, hi] = book.thresholds_at(cert.issuing_country.as_str(), &c.time).band_pct;
                (b, b * u64::from(lo) / 100, b * u64::from(hi) / 100)
            });
            let flagged = flags.iter().any(|f| {
                f.finding.code == kpledger_verify::Rule::St1
                    && f.finding.certificate.as_deref() == Some(cert.number.as_str())
            });
            let note = if band.is_none() { ", no benchmark" } else { "" };
            Some(ValueRow {
                label: format!("{} ({}{note})", cert.number, cert.country_of_origin),
                value,
                band,
                flagged,
            })
        })
        .collect()
}
