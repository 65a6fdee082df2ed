//! What every command shares: opening the ledger, reading and writing files, ids typed on the
//! command line, times.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use kpledger_core::{Ledger, OpenOptions};
use kpledger_model::ids::IdKind;
use kpledger_model::{ParcelId, ParsedEvent, Time};

use crate::args::value::IdArg;
use crate::args::{LedgerArgs, OpenArgs};

/// Largest event or offer file read (a signed event is a few kilobytes).
pub(crate) const MAX_INPUT: u64 = 16 * 1024 * 1024;

pub(crate) fn open(path: &Path, read_only: bool, o: &OpenArgs) -> Result<Ledger> {
    Ok(Ledger::open(path, OpenOptions { read_only, busy_timeout: Duration::from_secs(o.wait) })?)
}

impl LedgerArgs {
    /// Opens the ledger (waiting `--wait` seconds for another process's lock).
    pub(crate) fn open(&self, read_only: bool) -> Result<Ledger> {
        open(&self.ledger, read_only, &self.open)
    }
}

/// Prints `items` as JSON (`json`), or as a table under `headers` with one row per item.
pub(crate) fn print_list<T: serde::Serialize>(
    items: &[T],
    json: bool,
    headers: &[&str],
    row: impl FnMut(&T) -> Vec<String>,
) -> Result<u8> {
    if json {
        println!("{}", serde_json::to_string_pretty(items)?);
    } else {
        print!("{}", crate::render::table_of(headers, items, row));
    }
    Ok(crate::OK)
}

/// A copy or migration the rules stopped part way: says why, and that `written` (the new
/// store, named as the sentence's subject) is not a complete ledger. Exit 1.
pub(crate) fn refused_part_way(e: &dyn std::fmt::Display, written: &str) -> u8 {
    eprintln!("kpledger: {}", crate::render::terminal_safe(&e.to_string()));
    eprintln!("{written} holds the events before it; it is not a complete ledger.");
    crate::FOUND
}

/// What a copy or migration into a new store did: `doc` with the new store's verification
/// report added (`json`), or the sentence `said` and the report. Exit 1 when it does not verify.
pub(crate) fn print_rebuilt(
    json: bool,
    mut doc: serde_json::Value,
    said: &str,
    report: &kpledger_verify::Report,
) -> Result<u8> {
    if json {
        doc["report"] = serde_json::json!(report);
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("{said}");
        print!("{}", crate::render::report(report));
    }
    Ok(if report.ok { crate::OK } else { crate::FOUND })
}

pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MAX_INPUT {
        bail!(
            "{} is {} bytes, larger than any signed document ({} bytes at most)",
            path.display(),
            meta.len(),
            MAX_INPUT
        );
    }
    // At most one byte more than allowed: a device or a pipe (`/dev/zero`, `<(…)`) has no
    // length to check first, and reading it to its end may never finish.
    // Room for a regular file's bytes up front: grown by doubling, a 16 MiB file would take
    // up to 32 MiB, and twice that while it is copied.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).map_or(0, |n| n + 1));
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_INPUT + 1), &mut bytes))
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > MAX_INPUT {
        bail!("{} is larger than any signed document ({} bytes at most)", path.display(), MAX_INPUT);
    }
    Ok(bytes)
}

/// A new parcel id: a UUID v7 of this machine's clock (milliseconds) and 74 random bits. Not
/// `Uuid::now_v7`, whose ids made within one millisecond (the parts of a split) differ only in
/// a counter's last bits: random bits right after the timestamp keep the 16 hex digits that
/// tables show different (docs/SPEC.md §7.1).
pub(crate) fn new_parcel_id() -> Result<ParcelId> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).map_err(|e| anyhow!("no randomness for a new parcel id: {e}"))?;
    Ok(uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid())
}

/// How many candidates an ambiguous prefix lists.
pub(crate) const CANDIDATES: usize = 10;

/// A parcel id typed on the command line: the whole id or a unique prefix of at least 8 hex
/// digits (docs/SPEC.md §7.1), resolved against the ledger. Every command that names an
/// existing parcel reads it here.
pub(crate) fn parcel_arg(ledger: &Ledger, typed: &IdArg) -> Result<ParcelId> {
    let found = ledger.parcels_with_prefix(&typed.prefix, CANDIDATES + 1)?;
    one_named(&typed.typed, IdKind::Parcel, found, &ledger.path().display().to_string(), |p| p.to_string())
}

/// As [`parcel_arg`], against the parcels of a bundle (or any set of ids).
pub(crate) fn parcel_among<'a>(
    ids: impl IntoIterator<Item = &'a ParcelId>,
    typed: &IdArg,
    place: &str,
) -> Result<ParcelId> {
    let found: Vec<ParcelId> =
        ids.into_iter().filter(|p| typed.prefix.matches_parcel(p)).take(CANDIDATES + 1).copied().collect();
    one_named(&typed.typed, IdKind::Parcel, found, place, |p| p.to_string())
}

/// An event hash typed on the command line, whole or as a unique prefix of at least 8 hex
/// digits, resolved against the ledger: its position and hash.
pub(crate) fn event_arg(ledger: &Ledger, typed: &IdArg) -> Result<(u64, kpledger_model::Hash)> {
    let found = ledger.events_with_prefix(&typed.prefix, CANDIDATES + 1)?;
    one_named(&typed.typed, IdKind::Event, found, &ledger.path().display().to_string(), |(seq, h)| {
        format!("{h} (event #{seq})")
    })
}

/// The one identifier a prefix names, or an error (exit 2) saying it names none, or listing
/// the ones it names (at most [`CANDIDATES`]).
pub(crate) fn one_named<T>(
    typed: &str,
    kind: IdKind,
    mut found: Vec<T>,
    place: &str,
    show: impl Fn(&T) -> String,
) -> Result<T> {
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!(
            "no {} in {place} starts with {typed:?}; check it against the output it came from (tables show a unique prefix)",
            kind.name()
        ),
        n => {
            let list: Vec<String> = found.iter().take(CANDIDATES).map(|t| format!("  {}", show(t))).collect();
            let more = if n > CANDIDATES { "\n  … and more" } else { "" };
            bail!(
                "{typed:?} is ambiguous: it is the start of {} {}s in {place}:\n{}{more}\ngive more of its digits",
                if n > CANDIDATES { format!("more than {CANDIDATES}") } else { n.to_string() },
                kind.name(),
                list.join("\n")
            )
        }
    }
}

/// A parcel id as tables show it (docs/SPEC.md §7.1): its first 16 hex digits, more where
/// another parcel of the ledger shares them; a prefix `parcel_arg` reads back.
pub(crate) fn short_in(ledger: &Ledger, id: &ParcelId) -> String {
    match ledger.parcel_neighbours(id) {
        Ok([a, b]) => kpledger_model::ids::short_parcel_among(id, [a.as_ref(), b.as_ref()]),
        Err(_) => kpledger_model::ids::short_parcel(id),
    }
}

pub(crate) fn existing(ledger: &Ledger, id: &ParcelId) -> Result<kpledger_verify::ParcelState> {
    ledger.parcel(id)?.ok_or_else(|| anyhow!("parcel {id} is not in {}", ledger.path().display()))
}

/// The time given, or now.
pub(crate) fn now_or(time: Option<&Time>) -> Time {
    time.cloned().unwrap_or_else(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Time::from_unix(secs)
    })
}

/// Refuses an event (or its embedded offer) dated more than
/// [`kpledger_core::clock::MAX_AHEAD_SECS`] after this machine's clock.
pub(crate) fn not_from_the_future(ev: &ParsedEvent, place: &str) -> Result<()> {
    let now = now_or(None);
    if let Some(t) = kpledger_core::clock::dated_ahead(ev, now.unix()) {
        bail!(
            "{place} is dated {t}, more than a day after this machine's clock ({now}); \
             nothing was recorded. Check the signer's clock, or this machine's"
        );
    }
    Ok(())
}

/// Writes a new file, refusing to overwrite.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut f =
        std::fs::OpenOptions::new().write(true).create_new(true).open(path).with_context(|| {
            format!("cannot create {} (kpledger does not overwrite files)", path.display())
        })?;
    f.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
