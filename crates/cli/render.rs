//! Human output: tables, event descriptions in the trade's words, progress bars.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kpledger_model::{Cents, Payload, Points};
use kpledger_verify::{Finding, Report, Severity};

/// Text for a terminal: every control character but newline and tab, and every invisible,
/// format (bidirectional), separator, private-use or unassigned character, is shown escaped
/// (`\u{1b}`). Error messages quote what a hostile file holds (an unknown field's name, an
/// unknown variant), and raw, an escape sequence there could clear the error from the screen
/// and print "VERIFIED" in its place.
pub(crate) fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| c != '\n' && c != '\t' && (c.is_control() || kpledger_model::refused_in_text(c));
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Renders rows under headers with aligned columns.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    kpledger_report::text_table(headers, rows, false)
}

/// A table under `headers` with one row per item, as `row` writes it.
pub(crate) fn table_of<T>(
    headers: &[&str],
    items: impl IntoIterator<Item = T>,
    row: impl FnMut(T) -> Vec<String>,
) -> String {
    kpledger_report::text_table_of(headers, items, false, row)
}

/// One event in the trade's words; `short_id` shows a parcel id as tables do.
pub(crate) fn describe(p: &Payload, short_id: &dyn Fn(&uuid::Uuid) -> String) -> String {
    match p {
        Payload::Genesis { authority } => format!("ledger opened by {} ({})", authority.name, authority.id),
        Payload::Policy { policy } => format!("policy {} version {}", policy.country, policy.version),
        Payload::Enrol { actor } => format!(
            "enrolled {} {} ({}, {}){}",
            actor.role,
            actor.id,
            actor.name,
            actor.country,
            actor.licence.as_ref().map(|l| format!(", licence {} {}", l.class, l.number)).unwrap_or_default()
        ),
        Payload::RotateKey { actor, key } => format!("new key {} for {actor}", key.fingerprint()),
        Payload::Revoke { actor, reason } => format!("revoked {actor}: {reason}"),
        Payload::Site { site } => {
            format!("mine site {} ({}, {}, {})", site.id, site.name, site.region, site.country)
        }
        Payload::Extraction { site, weight_pt, stones, hs_code, .. } => {
            format!("mined {weight_pt} ({stones} stones, HS {hs_code}) at {site}")
        }
        Payload::Handover { offer, weight_pt } => {
            let o = &offer.body;
            let reweigh =
                if *weight_pt == o.weight_pt { String::new() } else { format!(", re-weighed {weight_pt}") };
            format!("{} → {}: {} for {}{reweigh}", o.signer, o.to, o.weight_pt, o.price_usd_cents)
        }
        Payload::Split { outputs, .. } => format!(
            "split into {}",
            outputs
                .iter()
                .map(|o| format!("{} ({})", short_id(&o.parcel), o.weight_pt))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Payload::Merge { inputs, output } => {
            format!(
                "merged {} parcels into {} ({})",
                inputs.len(),
                short_id(&output.parcel),
                output.weight_pt
            )
        }
        Payload::Valuation {
            weight_pt,
            exporter_usd_cents,
            government_usd_cents,
            independent_usd_cents,
            final_usd_cents,
            ..
        } => {
            format!(
                "valued {weight_pt}: exporter {exporter_usd_cents}, government {government_usd_cents}{}, final {final_usd_cents}",
                independent_usd_cents.map(|c| format!(", independent {c}")).unwrap_or_default()
            )
        }
        Payload::Seal { weight_pt, seal_ids, .. } => format!(
            "sealed {weight_pt} in container {}",
            seal_ids.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ),
        Payload::Certificate { certificate: c } => format!(
            "KP certificate {} ({} origin, {}, {}) for {} → {} ({})",
            c.number,
            c.country_of_origin,
            Points(c.carats()),
            Cents(c.value()),
            c.exporter.name,
            c.importer.name,
            c.importer.country
        ),
        Payload::Export { certificate, parcels } => {
            format!(
                "exported under {certificate} ({} parcel{})",
                parcels.len(),
                if parcels.len() == 1 { "" } else { "s" }
            )
        }
        Payload::Transit { certificate, country, opened, .. } => {
            format!(
                "in transit through {country} under {certificate}{}",
                if *opened { ", OPENED" } else { ", unopened" }
            )
        }
        Payload::Import { certificate, holder, .. } => {
            let parcels = p.import_parcels();
            let weight = Points(parcels.iter().map(|p| p.weight_pt.0).sum());
            format!(
                "imported {} parcel(s), {weight}, under {} certificate {} to {holder}",
                parcels.len(),
                certificate.issuing_country,
                certificate.number
            )
        }
        Payload::ImportConfirmation { confirmation: m } => format!(
            "receipt confirmed under {}: {} parcels, {}, seals {}; custody to {}",
            m.certificate,
            m.parcel_count,
            m.carats_pt,
            if m.seal_intact { "intact" } else { "BROKEN" },
            m.holder
        ),
    }
}

/// A weight, for tables.
pub(crate) fn ct(p: Points) -> String {
    p.to_string()
}

/// Money, for tables.
pub(crate) fn usd(c: Cents) -> String {
    c.to_string()
}

/// A verification report for people: verdict first, then findings grouped by parcel.
pub(crate) fn report(r: &Report) -> String {
    let mut s = String::new();
    let verdict = if r.ok { "VERIFIED" } else { "FAILED" };
    let what = match &r.certificate {
        Some(c) => format!("certificate {c} from ledger {}", r.ledger.as_deref().unwrap_or("?")),
        None => format!("ledger {}", r.ledger.as_deref().unwrap_or("(no genesis)")),
    };
    s.push_str(&format!(
        "{verdict}: {what} — {} events, {} parcels, {} actors; {} error(s), {} warning(s)\n",
        r.events, r.parcels, r.actors, r.errors, r.warnings
    ));
    if !r.witnesses.is_empty() {
        s.push_str(&format!(
            "checkpoint cosigned by the trust policy's witnesses: {}\n",
            r.witnesses.join(", ")
        ));
    }
    s.push_str(&findings(&r.findings));
    if (r.findings.len() as u64) < r.errors + r.warnings {
        s.push_str(&format!("(only the first {} findings are listed)\n", r.findings.len()));
    }
    s.push_str(&format!("\n{}\n", r.limits));
    s
}

/// Findings grouped by certificate, then by parcel (general ones first).
pub(crate) fn findings(fs: &[Finding]) -> String {
    let mut s = String::new();
    type Key = (Option<String>, Option<uuid::Uuid>);
    let mut groups: Vec<(Key, Vec<&Finding>)> = Vec::new();
    for f in fs {
        let key = (f.certificate.clone(), f.parcel);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(f),
            None => groups.push((key, vec![f])),
        }
    }
    groups.sort_by(|(a, _), (b, _)| {
        (a.0.is_some(), &a.0, a.1.is_some()).cmp(&(b.0.is_some(), &b.0, b.1.is_some()))
    });
    let mut current_cert: Option<Option<String>> = None;
    for ((cert, parcel), list) in groups {
        if current_cert.as_ref() != Some(&cert) {
            if let Some(c) = &cert {
                s.push_str(&format!("\ncertificate {c}\n"));
            }
            current_cert = Some(cert.clone());
        }
        let indent = if cert.is_some() { "  " } else { "" };
        match parcel {
            Some(p) => s.push_str(&format!(
                "{}parcel {}\n",
                if cert.is_some() { indent.to_owned() } else { "\n".to_owned() },
                kpledger_model::ids::short_parcel(&p)
            )),
            None if cert.is_none() => s.push_str("\ngeneral\n"),
            None => {}
        }
        for f in list {
            let mark = match f.severity {
                Severity::Error => "✗ error  ",
                Severity::Warning => "! warning",
            };
            let at = f.seq.map(|n| format!(" (event #{n})")).unwrap_or_default();
            // A message may quote what a bundle holds (a cosigner's name): escaped, as errors are.
            s.push_str(&format!("{indent}  {mark} {} {}{at}\n", f.code, terminal_safe(&f.message)));
            if let Some(h) = &f.hint {
                s.push_str(&format!("{indent}            what to do: {}\n", terminal_safe(h)));
            }
        }
    }
    s
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
/// Runs `job` under a progress bar (see [`progress`]) that it moves with `(done, total)`, then
/// clears the bar.
pub(crate) fn with_progress<T>(what: &str, job: impl FnOnce(&mut dyn FnMut(u64, u64)) -> T) -> T {
    let bar = progress(0, what);
    let out = job(&mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    out
}

pub(crate) fn progress(total: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}

/// A spinner-like status line on stderr for steps, hidden when not a terminal.
pub(crate) fn step(msg: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("· {msg}");
    }
}
