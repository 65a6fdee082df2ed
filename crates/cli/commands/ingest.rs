//! Recording signed files in bulk: `ingest` and `migrate`.

use super::common::*;
use super::sign::*;
use crate::args::*;
use serde_json::json;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use clap::Args;
use kpledger_core::store::{BatchError, StoreError};
use kpledger_model::Event;
use kpledger_verify::Finding;

use crate::args::OpenArgs;
use crate::render;
use crate::{FOUND, OK};

pub(crate) fn migrate_cmd(from: &Path, to: &Path, json: bool) -> Result<u8> {
    use kpledger_core::migrate::{MigrateError, migrate};
    let is_url = |p: &Path| p.to_str().is_some_and(kpledger_core::store::pg::is_url);
    if is_url(from) || is_url(to) {
        anyhow::bail!(
            "migrate upgrades a ledger file of kpledger 0.1.0 into a new ledger file; a PostgreSQL database \
             is never of that version. Migrate into a new file, then move it with `kpledger ledger copy \
             --from NEW-FILE --to postgres://…`"
        );
    }
    let m = match render::with_progress("migrating", |progress| migrate(from, to, progress)) {
        Ok(m) => m,
        Err(e @ MigrateError::Refused { .. }) => {
            return Ok(refused_part_way(&e, &format!("The new file {}", to.display())));
        }
        Err(e) => return Err(e.into()),
    };
    let doc = json!({
        "from": from.display().to_string(),
        "to": to.display().to_string(),
        "from_version": m.from_version,
        "events": m.events,
        "checkpoints": m.checkpoints,
    });
    let said = format!(
        "Migrated {} (schema version {}) to {}: {} events re-recorded and judged by this build's rules, {} \
         checkpoint(s) carried over. The old file was only read.",
        from.display(),
        m.from_version,
        to.display(),
        m.events,
        m.checkpoints
    );
    print_rebuilt(json, doc, &said, &m.report)
}

/// Lines of a JSONL file read (on every core) before the next are.
pub(crate) const INGEST_CHUNK: usize = 4096;

pub(crate) fn ingest(path: &Path, files: &[PathBuf], dry_run: bool, json: bool, o: &OpenArgs) -> Result<u8> {
    let mut events = Vec::new();
    for f in files {
        let bytes = read_input(f)?;
        let mut docs: Box<dyn Iterator<Item = &[u8]>> = if f.extension().is_some_and(|e| e == "jsonl") {
            Box::new(bytes.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)))
        } else {
            Box::new(std::iter::once(bytes.as_slice()))
        };
        // Reading events does not depend on the ledger: on every core, a chunk of lines at a
        // time, stopping at the first line that is not an event (a file of millions of `{}`
        // lines is refused at its first, in the memory of one chunk).
        let mut i = 0;
        let decoded = kpledger_model::KeyCache::default();
        loop {
            let chunk: Vec<&[u8]> = docs.by_ref().take(INGEST_CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            let parsed_docs: Vec<_> = {
                use rayon::prelude::*;
                chunk.par_iter().map(|d| Event::parse_in(d, &decoded)).collect()
            };
            for (doc, parsed) in chunk.into_iter().zip(parsed_docs) {
                let place = if files.len() > 1 || i > 0 {
                    format!("{} (event {})", f.display(), i + 1)
                } else {
                    f.display().to_string()
                };
                i += 1;
                let parsed = parsed.map_err(|e| {
                    let is_offer = |v: serde_json::Value| v["body"]["kind"] == "handover_offer";
                    // Read within the strict reader's memory bound, like the event itself.
                    let hint = if kpledger_model::canonical::parse_strict(doc).is_ok_and(is_offer) {
                        "\nthis is a handover offer, not an event: the buyer accepts it with `kpledger handover accept`"
                    } else {
                        ""
                    };
                    anyhow!("{place} is not a valid signed kpledger event: {e}{hint}")
                })?;
                not_from_the_future(&parsed, &place)?;
                events.push(parsed);
            }
        }
    }
    let mut ledger = open(path, dry_run, o)?;
    // Ingest is idempotent: an event this ledger already holds (the same signed bytes, so the
    // same hash) is reported with its position and left alone, so that a retry after a
    // failure or a second run over the same files is success, not a refusal.
    let mut already = Vec::new();
    let mut fresh = Vec::with_capacity(events.len());
    for ev in events {
        match ledger.position_of(&ev.hash)? {
            Some(seq) => already.push((seq, ev)),
            None => fresh.push(ev),
        }
    }
    let events = fresh;
    if !json {
        for (seq, ev) in &already {
            println!(
                "already recorded: {} as event #{seq} ({}); nothing to do for it",
                ev.event.body.payload.kind(),
                ev.hash.short()
            );
        }
    }
    let already_json: Vec<serde_json::Value> =
        already.iter().map(|(seq, ev)| json!({"seq": seq, "hash": ev.hash})).collect();
    if dry_run {
        // Each event is checked against the ledger as it is, not after the others.
        let mut all = Vec::new();
        for ev in &events {
            all.extend_from_slice(ledger.dry_run(ev)?.findings());
        }
        let ok = !all.iter().any(Finding::is_error);
        if json {
            println!(
                "{}",
                json!({"ok": ok, "events": events.len(), "already_recorded": already_json, "findings": all})
            );
        } else if !events.is_empty() {
            println!(
                "{} event(s) checked: {}",
                events.len(),
                if ok { "would be accepted" } else { "would be refused" }
            );
            print!("{}", render::findings(&all));
        }
        return Ok(if ok { OK } else { FOUND });
    }
    match ledger.append_all(&events) {
        Ok(done) => {
            let warnings: Vec<Finding> = done.iter().flat_map(|a| a.warnings.clone()).collect();
            if json {
                let seqs: Vec<u64> = done.iter().map(|a| a.seq).collect();
                println!(
                    "{}",
                    json!({"ok": true, "recorded": seqs, "already_recorded": already_json, "findings": warnings})
                );
            } else {
                for (a, ev) in done.iter().zip(&events) {
                    println!(
                        "recorded {} as event #{} ({})",
                        ev.event.body.payload.kind(),
                        a.seq,
                        a.hash.short()
                    );
                }
                print!("{}", render::findings(&warnings));
            }
            Ok(OK)
        }
        Err(BatchError { index: i, error: StoreError::Rejected { findings, .. } }) => {
            if !json {
                eprintln!("kpledger: event {} of {} was refused; nothing was recorded", i + 1, events.len());
            }
            refused(&findings, json)
        }
        Err(BatchError { error, .. }) => Err(error.into()),
    }
}

/// Append signed event files (made offline with --out) to the ledger
///
/// Each FILE holds one signed event (JSON) or one per line (.jsonl). All files are
/// appended in one transaction: all of them, or none.
///
/// Example: kpledger ingest --ledger sl.kpl handover.json
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Signed event files
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Check the events against the ledger without appending them
    #[arg(long)]
    dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn ingest_cmd(a: IngestArgs) -> Result<u8> {
    let IngestArgs { ledger, files, dry_run, json } = a;
    ingest(&ledger.ledger, &files, dry_run, json, &ledger.open)
}

/// Migrate a ledger written by an older kpledger (0.1.0) into a new file
///
/// Re-records the old ledger's signed events, in order, into a new ledger written by this
/// build: every event is judged again by this build's rules, every derived row and the
/// log's tree are written anew, and the stored checkpoints, with their cosignatures, are
/// carried over as they are (they sign the tree's size and root, which the events decide).
/// The new ledger is then verified whole. The old file is only read, never changed.
///
/// Exit 0 when the new ledger verifies; 1 when this build's rules refuse an event of the old
/// ledger (nothing after it is migrated) or the new ledger does not verify (it is kept, to
/// be looked at); 2 when it could not run (the old file is not a ledger of an older version,
/// its schema was edited, or the new file exists).
///
/// Example: kpledger migrate --from sl-0.1.0.kpl --to sl-migrated.kpl
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct MigrateArgs {
    /// The ledger written by the older kpledger (only read)
    #[arg(long, value_name = "OLD")]
    from: PathBuf,
    /// The new ledger to write (must not exist)
    #[arg(long, value_name = "NEW")]
    to: PathBuf,
    /// Print the outcome as JSON: from, to, from_version, events, checkpoints, report
    #[arg(long)]
    json: bool,
}

pub(crate) fn migrate(a: MigrateArgs) -> Result<u8> {
    let MigrateArgs { from, to, json } = a;
    migrate_cmd(&from, &to, json)
}
