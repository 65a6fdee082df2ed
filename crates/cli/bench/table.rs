//! The human table of `kpledger bench`.

use crate::render;

use super::BenchReport;

/// The human table.
pub(crate) fn table(r: &BenchReport) -> String {
    let f = |x: f64| format!("{x:.0}");
    let m = &r.measured;
    let raw = &r.raw;
    // Events accepted over HTTP, and as a share of ingest's rate.
    let accepted = |per_s: f64, per_request: &str, clients: usize, events: u64| {
        format!(
            "{} events/s accepted over HTTP = {:.2} × ingest ({clients} clients, {per_request} per request, \
             {events} events)",
            f(per_s),
            per_s / m.ingest_events_per_s
        )
    };
    let rows = vec![
        vec![
            "ledger".into(),
            format!(
                "{} events, {} signatures, {} parcels, {} certificates, {:.1} MiB",
                r.ledger.events,
                r.ledger.signatures,
                r.ledger.parcels,
                r.ledger.certificates,
                r.ledger.bytes as f64 / 1_048_576.0
            ),
        ],
        vec![
            "ingest".into(),
            format!("{} events/s, {} signatures/s", f(m.ingest_events_per_s), f(m.ingest_signatures_per_s)),
        ],
        vec![
            "verify --ledger".into(),
            format!("{} events/s, {} signatures/s", f(m.verify_events_per_s), f(m.verify_signatures_per_s)),
        ],
        vec![
            "verify --ledger --batch".into(),
            format!(
                "{} events/s, {} signatures/s",
                f(m.verify_batch_events_per_s),
                f(m.verify_batch_signatures_per_s)
            ),
        ],
        vec![
            "verify --ledger (process)".into(),
            format!(
                "{:.2} s, peak {:.1} MiB ({:.1} MiB with red flags)",
                m.verify_process_s, m.verify_process_peak_rss_mib, m.verify_red_flags_peak_rss_mib
            ),
        ],
        vec![
            "integrity_check".into(),
            format!(
                "{:.2} s alone, beside verify --ledger (quick_check {:.2} s)",
                m.integrity_check_s, m.quick_check_s
            ),
        ],
        vec![
            "bundle".into(),
            format!(
                "{} ({} events): {:.1} ms in process, {:.1} ms as a process",
                m.bundle_certificate, m.bundle_events, m.bundle_verify_ms, m.bundle_process_ms
            ),
        ],
        vec![
            "serve: single events".into(),
            accepted(r.service.accepted_events_per_s, "one event", r.service.clients, r.service.events),
        ],
        vec![
            "serve: JSONL batches".into(),
            accepted(
                r.service.batch_accepted_events_per_s,
                &format!("{} events", r.service.batch_events),
                r.service.batch_clients,
                r.service.batch_total,
            ),
        ],
        vec![
            "serve: latency".into(),
            format!(
                "p50 {:.1} ms, p99 {:.1} ms at {} events/s ({} events)",
                r.service.latency_p50_ms,
                r.service.latency_p99_ms,
                f(r.service.paced_events_per_s),
                r.service.paced_events
            ),
        ],
        vec![
            "serve: tiles".into(),
            format!(
                "{} full tiles/s from one core ({} requests)",
                f(r.service.tiles_per_s),
                r.service.tile_requests
            ),
        ],
        vec![
            "raw verify_strict".into(),
            format!(
                "{} /s on 1 core, {} /s on {} cores",
                f(raw.verify_strict_1core_per_s),
                f(raw.verify_strict_allcore_per_s),
                r.cores
            ),
        ],
        vec![
            "raw batch verify".into(),
            format!("{} /s on {} cores", f(raw.verify_batch_allcore_per_s), r.cores),
        ],
        vec![
            "raw SHA-256".into(),
            format!("{} events/s ({:.0} MiB/s), 1 core", f(raw.sha256_per_s), raw.sha256_mib_per_s),
        ],
        vec![
            "raw SQLite insert".into(),
            format!("{} rows/s, one transaction", f(raw.sqlite_insert_rows_per_s)),
        ],
    ];
    let mut rows = rows;
    if let Some(p) = &r.postgres {
        rows.push(vec![
            "PostgreSQL".into(),
            format!(
                "ingest {} events/s, verify --ledger {} events/s ({})",
                f(p.ingest_events_per_s),
                f(p.verify_events_per_s),
                p.database
            ),
        ]);
    }
    let mut out = render::table(&["figure", "value"], &rows);
    out.push('\n');
    out.push_str(&render::table_of(&["ratio", "value", "target", ""], &r.ratios, |x| {
        vec![
            x.name.clone(),
            format!("{:.2}", x.value),
            format!("{}", x.target),
            if x.met { "met".into() } else { "NOT MET".into() },
        ]
    }));
    out
}
