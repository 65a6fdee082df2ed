//! Signing an event against the ledger: who signs (`--as`, or the actor enrolled with the key),
//! and recording the event or writing it to a file (`--out`).

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use kpledger_core::Ledger;
use kpledger_core::store::StoreError;
use kpledger_model::{ActorId, Event, EventBody, ParcelId, ParsedEvent, Payload, SecretKey};
use kpledger_verify::Finding;
use serde_json::json;

use kpledger_model::{Origin, Policy};
use kpledger_verify::ParcelState;

use super::common::{existing, not_from_the_future, now_or, open, parcel_arg, write_new};
use super::remote::{Server, whole_parcel, write_event};
use crate::args::value::IdArg;
use crate::args::{CaArgs, EventArgs, SignArgs};
use crate::render;
use crate::{FOUND, OK};

/// The signer: `--as`, or the actor whose current key is this key.
pub(crate) fn resolve_signer(
    ledger: &Ledger,
    key: &SecretKey,
    as_actor: Option<&ActorId>,
) -> Result<ActorId> {
    Ok(signers(ledger, &[(key, as_actor)])?.remove(0))
}

/// The signers of several keys (`--as`, or the actor whose current key it is), with one
/// reading of the enrolled actors for all the keys that need it.
pub(crate) fn signers(ledger: &Ledger, keys: &[(&SecretKey, Option<&ActorId>)]) -> Result<Vec<ActorId>> {
    let actors = if keys.iter().any(|(_, a)| a.is_none()) { ledger.actors()? } else { Vec::new() };
    keys.iter()
        .map(|(key, as_actor)| {
            if let Some(a) = as_actor {
                return enrolled(ledger, "--as", a);
            }
            let public = key.public();
            let mut matches = actors.iter().filter(|a| a.record.key == public).map(|a| &a.record.id);
            match (matches.next(), matches.next()) {
                (Some(one), None) => Ok(one.clone()),
                (None, _) => bail!(
                    "no actor in {} is enrolled with key {}; pass --as ACTOR, or ask the authority to enrol this key",
                    ledger.path().display(),
                    public.fingerprint()
                ),
                (Some(_), Some(_)) => bail!("several actors share key {}; pass --as ACTOR", public.fingerprint()),
            }
        })
        .collect()
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
    let signer = resolve_signer(&ledger, &key, s.as_actor.as_ref())?;
    let origin = ledger
        .origin()?
        .ok_or_else(|| anyhow!("{} has no genesis; run `kpledger init` first", path.display()))?;
    let payload = make(&ledger, &signer)?;
    let body = EventBody::new(origin, now_or(s.time.as_ref()), signer, payload);
    let parsed = Event::sign(body, &key)?.into_parsed()?;
    record_or_write(&mut ledger, parsed, s.out.as_deref(), Print::of(s))
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
    let created = created_parcels(&parsed);
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

impl Print {
    /// As the signing flags ask: `--json`, `--print-new`, or a sentence.
    pub(crate) fn of(s: &SignArgs) -> Print {
        if s.json {
            Print::Json
        } else if s.print_new {
            Print::NewIds
        } else {
            Print::Text
        }
    }
}

/// What a signing command reads of the ledger it continues: the ledger file, or a kpledger
/// server (`--server`).
pub(crate) enum Source<'a> {
    Ledger(&'a Ledger),
    Server(&'a Server),
}

impl Source<'_> {
    /// The parcel typed (a unique prefix in a ledger file, the whole id on a server) and its
    /// current state.
    pub(crate) fn parcel(&self, typed: &IdArg) -> Result<(ParcelId, ParcelState)> {
        match self {
            Source::Ledger(l) => {
                let id = parcel_arg(l, typed)?;
                Ok((id, existing(l, &id)?))
            }
            Source::Server(s) => {
                let id = whole_parcel(typed)?;
                Ok((id, s.parcel(&id)?))
            }
        }
    }

    /// The ledger's origin.
    pub(crate) fn origin(&self) -> Result<Origin> {
        match self {
            Source::Ledger(l) => l
                .origin()?
                .ok_or_else(|| anyhow!("{} has no genesis; run `kpledger init` first", l.path().display())),
            Source::Server(s) => s.origin(),
        }
    }

    /// The actor an actor-id flag names: enrolled in the ledger file (a typo is refused with the
    /// closest ids); a server's rules refuse the event of an actor that is not.
    pub(crate) fn enrolled(&self, flag: &str, id: &ActorId) -> Result<ActorId> {
        match self {
            Source::Ledger(l) => enrolled(l, flag, id),
            Source::Server(_) => Ok(id.clone()),
        }
    }

    /// The policy in force for the signer's country, where the ledger is at hand.
    pub(crate) fn policy_of(&self, signer: &ActorId) -> Result<Option<Policy>> {
        let Source::Ledger(l) = self else { return Ok(None) };
        let policy = match l.actor(signer)?.map(|a| a.record.country) {
            Some(c) => l.policy(&c)?,
            None => None,
        };
        Ok(Some(
            policy.ok_or_else(|| {
                anyhow!("the valuer's country has no policy in the ledger; publish it first")
            })?,
        ))
    }
}

/// The server of `--server`, read as `--as` with the key: a server has no list of keys to find
/// the actor from.
pub(crate) fn server_of(
    url: &str,
    ca: &CaArgs,
    key: &SecretKey,
    as_actor: Option<&ActorId>,
) -> Result<Server> {
    let Some(actor) = as_actor else {
        bail!(
            "with --server, give --as ACTOR: the id the authority enrolled this key under (the requests to the server \
             are signed as that actor)"
        )
    };
    Server::new(url, ca, actor.clone(), key.clone())
}

/// Builds, signs and records one event: in the ledger file, on the server of `--server`, or
/// written to `--out`.
pub(crate) fn sign_event(
    e: &EventArgs,
    make: impl FnOnce(&Source<'_>, &ActorId) -> Result<Payload>,
) -> Result<u8> {
    let EventArgs { sign: s, server } = e;
    let Some(url) = &server.server else {
        return sign_and_record(s, |l, signer| make(&Source::Ledger(l), signer));
    };
    let key = SecretKey::read_pem_file(&s.key)?;
    let server = server_of(url, &server.ca, &key, s.as_actor.as_ref())?;
    let signer = server.actor().clone();
    let src = Source::Server(&server);
    let payload = make(&src, &signer)?;
    let body = EventBody::new(src.origin()?, now_or(s.time.as_ref()), signer, payload);
    let parsed = Event::sign(body, &key)?.into_parsed()?;
    match &s.out {
        Some(out) => write_event(&parsed, out, server.url(), s.json),
        None => server.submit(&parsed, s.json, s.print_new),
    }
}

/// The parcels an event creates (those it names without a previous event).
pub(crate) fn created_parcels(parsed: &ParsedEvent) -> Vec<ParcelId> {
    parsed
        .event
        .body
        .payload
        .parcels()
        .into_iter()
        .filter(|(_, prev)| prev.is_none())
        .map(|(p, _)| p)
        .collect()
}
