//! `kpledger bench --ledger postgres://…`: ingest and verification of the same synthetic ledger
//! on PostgreSQL, beside SQLite's in the same run.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use kpledger_core::{Ledger, OpenOptions};
use kpledger_model::sign::SigMode;
use serde::Serialize;

/// The figures on PostgreSQL.
#[derive(Debug, Serialize)]
pub(crate) struct PgFigures {
    /// The database, without its password.
    pub(crate) database: String,
    /// Ingest of the same events, batches of the same size, every commit durable
    /// (`synchronous_commit = on`).
    pub(crate) ingest_events_per_s: f64,
    /// `Ledger::verify` (strict) of the database: the best of the same number of rounds.
    pub(crate) verify_events_per_s: f64,
}

/// Ingests the events of the ledger file `file` (already measured on SQLite) into the empty
/// database `url`, then verifies the database `rounds` times.
pub(crate) fn postgres(
    file: &Path,
    url: &str,
    events: u64,
    rounds: u32,
    root: &kpledger_model::SecretKey,
    say: &dyn Fn(&str),
) -> Result<PgFigures> {
    say("ingesting the same events into the PostgreSQL database (durable commits)");
    let db = Path::new(url);
    let ingest = super::ingest(file, db, events, root)?;
    let ledger = Ledger::open(db, OpenOptions { read_only: true, ..Default::default() })?;
    let mut best = Duration::MAX;
    for round in 1..=rounds {
        say(&format!("round {round} of {rounds}: verifying the PostgreSQL database"));
        let (report, took) = super::timed_verify(&ledger, SigMode::Strict, events, "verifying")?;
        best = best.min(took);
        if !report.ok {
            bail!("the PostgreSQL copy does not verify: {} error(s); this is a bug", report.errors);
        }
    }
    Ok(PgFigures {
        database: ledger.path().display().to_string(),
        ingest_events_per_s: super::per_s(events, ingest),
        verify_events_per_s: super::per_s(events, best),
    })
}
