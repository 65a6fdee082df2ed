//! What every command shares: opening the ledger, reading input files, ids typed on the command line, times, the signer, and recording or writing a signed event.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use kpledger_core::store::StoreError;
use kpledger_core::{Ledger, OpenOptions};
use kpledger_model::ids::{IdKind, Prefix};
use kpledger_model::{
    ActorId, Cents, Country, Event, EventBody, ParcelId, ParsedEvent, Payload, Points, SecretKey, Time,
};
use kpledger_verify::Finding;
use serde_json::json;

use crate::args::{OpenArgs, SignArgs};
use crate::render;
use crate::{FOUND, OK};

/// Largest event or offer file read (a signed event is a few kilobytes).
pub(crate) const MAX_INPUT: u64 = 16 * 1024 * 1024;

pub(crate) fn open(path: &Path, read_only: bool, o: &OpenArgs) -> Result<Ledger> {
    Ok(Ledger::open(path, OpenOptions { read_only, busy_timeout: Duration::from_secs(o.wait) })?)
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

pub(crate) fn carats(s: &str) -> Result<Points> {
    Points::parse_carats(s).map_err(|e| anyhow!(e))
}

pub(crate) fn usd(s: &str) -> Result<Cents> {
    Cents::parse_usd(s).map_err(|e| anyhow!(e))
}

pub(crate) fn parse_parcel(s: &str) -> Result<ParcelId> {
    s.parse().map_err(|_| {
        anyhow!("{s:?} is not a parcel id (a UUID such as 0195f3a2-7c1e-7a00-8000-1234567890ab)")
    })
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
pub(crate) fn parcel_arg(ledger: &Ledger, typed: &str) -> Result<ParcelId> {
    let prefix = Prefix::parse(typed, IdKind::Parcel).map_err(|e| anyhow!(e))?;
    let found = ledger.parcels_with_prefix(&prefix, CANDIDATES + 1)?;
    one_named(typed, IdKind::Parcel, found, &ledger.path().display().to_string(), |p| p.to_string())
}

/// As [`parcel_arg`], against the parcels of a bundle (or any set of ids).
pub(crate) fn parcel_among<'a>(
    ids: impl IntoIterator<Item = &'a ParcelId>,
    typed: &str,
    place: &str,
) -> Result<ParcelId> {
    let prefix = Prefix::parse(typed, IdKind::Parcel).map_err(|e| anyhow!(e))?;
    let found: Vec<ParcelId> =
        ids.into_iter().filter(|p| prefix.matches_parcel(p)).take(CANDIDATES + 1).copied().collect();
    one_named(typed, IdKind::Parcel, found, place, |p| p.to_string())
}

/// An event hash typed on the command line, whole or as a unique prefix of at least 8 hex
/// digits, resolved against the ledger: its position and hash.
pub(crate) fn event_arg(ledger: &Ledger, typed: &str) -> Result<(u64, kpledger_model::Hash)> {
    let prefix = Prefix::parse(typed, IdKind::Event).map_err(|e| anyhow!(e))?;
    let found = ledger.events_with_prefix(&prefix, CANDIDATES + 1)?;
    one_named(typed, IdKind::Event, found, &ledger.path().display().to_string(), |(seq, h)| {
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

pub(crate) fn now_or(time: Option<&str>) -> Result<Time> {
    match time {
        Some(t) => parse_time(t),
        None => {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            Ok(Time::from_unix(secs))
        }
    }
}

/// Reads a `--time` value: ISO 8601 / RFC 3339 UTC (`2026-03-01T09:30:00Z`), as every time
/// kpledger prints or signs. A number of seconds since 1970 is refused with the same instant
/// written the right way, so that a script written for Unix time is fixed in one step.
pub(crate) fn parse_time(t: &str) -> Result<Time> {
    if !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) {
        let iso = t.parse::<i64>().map(Time::from_unix).map(|t| t.to_string()).unwrap_or_default();
        bail!(
            "--time {t:?} looks like seconds since 1970: times are ISO 8601 in UTC; \
             write --time {iso} for the same instant"
        );
    }
    Time::new(t).map_err(|e| anyhow!("--time: {e}"))
}

/// How far after this machine's clock an event may be dated: a day, for clocks set badly and
/// time zones misread. The rules have no clock (a verifier must give the same answer
/// tomorrow); the ingesting machine does, and refuses what can only be a wrong or forged date.
pub(crate) const MAX_AHEAD_SECS: i64 = 24 * 3600;

/// Refuses an event (or its embedded offer) dated more than [`MAX_AHEAD_SECS`] ahead.
pub(crate) fn not_from_the_future(ev: &ParsedEvent, place: &str) -> Result<()> {
    let now = now_or(None)?;
    let mut times = vec![&ev.event.body.time];
    if let Payload::Handover { offer, .. } = &ev.event.body.payload {
        times.push(&offer.body.time);
    }
    for t in times {
        if t.unix() > now.unix() + MAX_AHEAD_SECS {
            bail!(
                "{place} is dated {t}, more than a day after this machine's clock ({now}); \
                 nothing was recorded. Check the signer's clock, or this machine's"
            );
        }
    }
    Ok(())
}

/// The signer: `--as`, or the actor whose current key is this key.
pub(crate) fn resolve_signer(ledger: &Ledger, key: &SecretKey, as_actor: Option<&str>) -> Result<ActorId> {
    if let Some(a) = as_actor {
        return enrolled(ledger, "--as", &ActorId::new(a).map_err(|e| anyhow!("--as: {e}"))?);
    }
    let public = key.public();
    let matches: Vec<ActorId> =
        ledger.actors()?.into_iter().filter(|a| a.record.key == public).map(|a| a.record.id).collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "no actor in {} is enrolled with key {}; pass --as ACTOR, or ask the authority to enrol this key",
            ledger.path().display(),
            public.fingerprint()
        ),
        _ => bail!("several actors share key {}; pass --as ACTOR", public.fingerprint()),
    }
}

/// A country flag's value, in capitals as ISO 3166-1 writes it (`be` is read as `BE`).
pub(crate) fn country_flag(flag: &str, value: impl AsRef<str>) -> Result<Country> {
    Country::new(value.as_ref().trim().to_ascii_uppercase()).map_err(|e| anyhow!("{flag}: {e}"))
}

/// The actor named by an actor-id flag, which must be enrolled in the ledger; a typo is
/// refused naming the enrolled actors whose ids are closest to it.
pub(crate) fn enrolled(ledger: &Ledger, flag: &str, id: &ActorId) -> Result<ActorId> {
    if ledger.actor(id)?.is_some() {
        return Ok(id.clone());
    }
    let typed = id.as_str();
    let mut near: Vec<(usize, String)> = ledger
        .actors()?
        .into_iter()
        .map(|a| a.record.id.as_str().to_owned())
        .map(|known| (edit_distance(typed, &known), known))
        .filter(|(d, known)| *d <= 3.max(known.len() / 4))
        .collect();
    near.sort();
    let names: Vec<String> = near.into_iter().take(3).map(|(_, k)| k).collect();
    if names.is_empty() {
        bail!(
            "{flag} {typed}: no actor {typed} is enrolled in {}; `kpledger actor list` shows who is",
            ledger.path().display()
        )
    }
    bail!(
        "{flag} {typed}: no actor {typed} is enrolled in {}; did you mean {}?",
        ledger.path().display(),
        names.join(" or ")
    )
}

/// Levenshtein distance between two ids (characters inserted, deleted or replaced).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(cur).min(row[j]) };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Builds, signs and records (or writes with --out) one event.
pub(crate) fn sign_and_record(
    s: &SignArgs,
    make: impl FnOnce(&Ledger, &ActorId) -> Result<Payload>,
) -> Result<u8> {
    let path = s.ledger.as_deref().ok_or_else(|| {
        anyhow!("the following required argument was not provided: --ledger FILE (or set KPLEDGER_LEDGER)")
    })?;
    let key = SecretKey::read_pem_file(&s.key)?;
    let mut ledger = open(path, s.out.is_some(), &s.open)?;
    let signer = resolve_signer(&ledger, &key, s.as_actor.as_deref())?;
    let origin = ledger
        .origin()?
        .ok_or_else(|| anyhow!("{} has no genesis; run `kpledger init` first", path.display()))?;
    let payload = make(&ledger, &signer)?;
    let body = EventBody { v: 1, ledger: origin, time: now_or(s.time.as_deref())?, signer, payload };
    let parsed = Event::sign(body, &key)?.into_parsed()?;
    let print = if s.json {
        Print::Json
    } else if s.print_new {
        Print::NewIds
    } else {
        Print::Text
    };
    record_or_write(&mut ledger, parsed, s.out.as_deref(), print)
}

/// How a recorded event is reported on stdout.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Print {
    /// A sentence for a person.
    Text,
    /// One JSON object.
    Json,
    /// Only what a script captures: the ids of the parcels the event creates, one a line, or
    /// the event's hash when it creates none (`--print-new`).
    NewIds,
}

pub(crate) fn record_or_write(
    ledger: &mut Ledger,
    parsed: ParsedEvent,
    out: Option<&Path>,
    print: Print,
) -> Result<u8> {
    let json = print == Print::Json;
    not_from_the_future(&parsed, "the event")?;
    if let Some(out) = out {
        // A ledger that cannot be read well enough to judge the event is an error, not "no
        // finding": nothing is written then.
        let verdict = ledger.dry_run(&parsed)?;
        let findings = verdict.findings();
        // An event the ledger would refuse is not written: `ingest` would only refuse it.
        if !verdict.is_valid() {
            if json {
                println!("{}", json!({"ok": false, "written": null, "findings": findings}));
            } else {
                eprintln!(
                    "kpledger: the ledger's rules would refuse this event; nothing was written to {}",
                    out.display()
                );
                eprint!("{}", render::findings(findings));
            }
            return Ok(FOUND);
        }
        write_new(out, &[parsed.canonical.as_slice(), b"\n"].concat())?;
        if json {
            println!(
                "{}",
                json!({"written": out, "hash": parsed.hash, "kind": parsed.event.body.payload.kind(), "findings": findings})
            );
        } else {
            println!(
                "signed {} {} → {}",
                parsed.event.body.payload.kind(),
                parsed.hash.short(),
                out.display()
            );
            if !findings.is_empty() {
                println!("against the current ledger this event would raise:");
                print!("{}", render::findings(findings));
            }
            println!(
                "record it with: kpledger ingest --ledger {} {}",
                ledger.path().display(),
                out.display()
            );
        }
        return Ok(OK);
    }
    let kind = parsed.event.body.payload.kind();
    let created: Vec<ParcelId> = parsed
        .event
        .body
        .payload
        .parcels()
        .into_iter()
        .filter(|(_, prev)| prev.is_none())
        .map(|(p, _)| p)
        .collect();
    match ledger.append(&parsed) {
        Ok(a) => {
            if json {
                println!(
                    "{}",
                    json!({"ok": true, "seq": a.seq, "hash": a.hash, "kind": kind, "parcels": created, "findings": a.warnings})
                );
            } else if print == Print::NewIds {
                if created.is_empty() {
                    println!("{}", a.hash);
                }
                for p in &created {
                    println!("{p}");
                }
                // Warnings are for the person running the script, not for the variable.
                if !a.warnings.is_empty() {
                    eprint!("{}", render::findings(&a.warnings));
                }
            } else {
                println!("recorded {kind} as event #{} ({})", a.seq, a.hash.short());
                for p in &created {
                    println!("  new parcel {p}");
                }
                if !a.warnings.is_empty() {
                    print!("{}", render::findings(&a.warnings));
                }
            }
            Ok(OK)
        }
        Err(StoreError::Rejected { findings, .. }) => refused(&findings, json),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn refused(findings: &[Finding], json: bool) -> Result<u8> {
    if json {
        println!("{}", json!({"ok": false, "findings": findings}));
    } else {
        eprintln!("kpledger: the ledger's rules refused the event; nothing was recorded");
        eprint!("{}", render::findings(findings));
    }
    Ok(FOUND)
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
