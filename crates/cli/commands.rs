//! What each command does: read arguments and files, call the libraries, print.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use kpledger_core::store::StoreError;
use kpledger_core::{Ledger, OpenOptions, demo};
use kpledger_model::canonical::from_slice_strict;
use kpledger_model::ids::{IdKind, Prefix};
use kpledger_model::note::{Cosigner, SigType, VerifierKey};
use kpledger_model::{
    ActorId, ActorRecord, Cents, CertImporter, Country, Event, EventBody, ForeignCertificate, HsCode,
    ImportConfirmation, ImportParcel, Licence, NewParcel, Offer, OfferBody, OfferKind, Origin, ParcelId,
    ParcelRef, ParsedEvent, Payload, Points, Policy, PublicKey, Role, SecretKey, SiteId, SiteRecord, Text,
    Time,
};
use kpledger_verify::{Finding, ParcelStatus, Rule, SigMode};
use serde_json::json;

use crate::args::{
    ActorCmd, CertificateCmd, Command, EpcisCmd, HandoverCmd, KeyCmd, LogCmd, OpenArgs, ParcelCmd, PolicyCmd,
    SignArgs, SiteCmd, WitnessCmd,
};
use crate::{FOUND, OK};
use crate::{card_cmd, render, report_cmd};

/// Largest event or offer file read (a signed event is a few kilobytes).
const MAX_INPUT: u64 = 16 * 1024 * 1024;

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Demo { dir, parcels, json } => demo_cmd(&dir, parcels, json),
        Command::Verify { bundle, ledger, policy, removed, batch, red_flags, json, wait } => {
            removed.refuse()?;
            let mode = if batch { SigMode::Batch } else { SigMode::Strict };
            match (ledger, bundle) {
                (Some(l), _) => {
                    // A trust policy (or trusted keys) given with --ledger pins the log's root.
                    let trust = if policy.is_some() || !removed.trust.is_empty() {
                        Some(bundle_trust(policy.as_deref(), &removed.trust)?)
                    } else {
                        None
                    };
                    verify_ledger(
                        &l,
                        trust.as_ref(),
                        mode,
                        red_flags,
                        json,
                        &OpenArgs { wait: wait.unwrap_or(5) },
                    )
                }
                (None, Some(b)) => {
                    if wait.is_some() {
                        bail!(
                            "--wait is for --ledger (a ledger's lock); a bundle file has no lock, so it would do nothing"
                        );
                    }
                    let trust = bundle_trust(policy.as_deref(), &removed.trust)?;
                    verify_bundle_file(&b, &trust, mode, red_flags, json)
                }
                _ => bail!("give --ledger FILE, or a BUNDLE file with --policy TRUST-POLICY"),
            }
        }
        Command::Stats { ledger, period, from, to, json, csv, open } => report_cmd::stats_cmd(
            &ledger,
            period.as_deref(),
            from.as_deref(),
            to.as_deref(),
            json,
            csv,
            &open,
        ),
        Command::Report { html, ledger, bundle, policy, removed, open } => {
            removed.refuse()?;
            report_cmd::report_cmd(
                &html,
                ledger.as_deref(),
                bundle.as_deref(),
                policy.as_deref(),
                &removed.trust,
                &open,
            )
        }
        Command::Graph { target, ledger, bundle, format, out, open } => report_cmd::graph_cmd(
            &target,
            ledger.as_deref(),
            bundle.as_deref(),
            format,
            out.as_deref(),
            &open,
        ),
        Command::Certificate(c) => certificate_cmd(c),
        Command::Transit {
            sign,
            number,
            carats_in,
            carats_out,
            parcels_in,
            parcels_out,
            seals_in,
            seals_out,
            opened,
        } => sign_and_record(&sign, |ledger, signer| {
            let number = Text::reference(number).map_err(|e| anyhow!(e))?;
            let c = ledger
                .certificate(&number)?
                .ok_or_else(|| {
                    anyhow!("no certificate {number} in the ledger (`kpledger certificate list`)")
                })?
                .certificate;
            let country = ledger
                .actor(signer)?
                .map(|a| a.record.country)
                .ok_or_else(|| anyhow!("the signer {signer} is not enrolled in the ledger"))?;
            let seals = |given: &[String]| -> Result<Vec<Text>> {
                given
                    .iter()
                    .map(|s| Text::reference(s.clone()).map_err(|e| anyhow!("seal {s:?}: {e}")))
                    .collect()
            };
            let seal_ids_in =
                if seals_in.is_empty() { c.container_seal_ids.clone() } else { seals(&seals_in)? };
            let seal_ids_out = if seals_out.is_empty() { seal_ids_in.clone() } else { seals(&seals_out)? };
            let carats_in_pt = match &carats_in {
                Some(w) => carats(w)?,
                None => Points(c.carats()),
            };
            let carats_out_pt = match &carats_out {
                Some(w) => carats(w)?,
                None => carats_in_pt,
            };
            let parcel_count_in = parcels_in.unwrap_or(c.parcel_count);
            Ok(Payload::Transit {
                parcels: current_refs(ledger, &number)?,
                certificate: number,
                country,
                seal_ids_in,
                seal_ids_out,
                carats_in_pt,
                carats_out_pt,
                parcel_count_in,
                parcel_count_out: parcels_out.unwrap_or(parcel_count_in),
                opened,
            })
        }),
        Command::Log(l) => log_cmd(l),
        Command::Witness(w) => witness_cmd(w),
        Command::Trust(t) => trust_cmd(t),
        Command::Epcis(e) => epcis_cmd(e),
        Command::Bundle { ledger, certificate, out, policy, open: o } => {
            let l = open(&ledger, true, &o)?;
            let number = Text::reference(certificate).map_err(|e| anyhow!(e))?;
            let bundle = match &policy {
                None => l.bundle(&number)?,
                Some(p) => {
                    let policy = read_policy(p)?;
                    l.bundle_where(&number, &|c| {
                        policy.quorum_met(&kpledger_witness::cosigned_by(&policy, c.note.as_bytes()))
                    })?
                }
            };
            let bytes = serde_json::to_vec_pretty(&bundle)?;
            write_new(&out, &[bytes.as_slice(), b"\n"].concat())?;
            println!(
                "evidence bundle for certificate {number}: {} events → {}",
                bundle.events.len(),
                out.display()
            );
            println!(
                "the importer checks it with its trust policy (the log's key, the witnesses, the authorities \
                 it trusts per country; `kpledger trust --help`):\n  kpledger verify {} --policy TRUST-POLICY.txt",
                out.display()
            );
            Ok(OK)
        }
        Command::Key(k) => key_cmd(k),
        Command::Init { ledger, origin, id, name, country, key, time } => {
            init(&ledger, &origin, &id, &name, &country, &key, time.as_deref())
        }
        Command::Policy(PolicyCmd::New { country, out, policy_version }) => {
            policy_new(&country, out.as_deref(), policy_version)
        }
        Command::Policy(PolicyCmd::Set { sign, file }) => {
            let bytes = read_input(&file)?;
            let policy: Policy = kpledger_model::canonical::from_slice_input(&bytes)
                .with_context(|| format!("{} is not a valid policy file", file.display()))?;
            sign_and_record(&sign, |_, _| Ok(Payload::Policy { policy }))
        }
        Command::Policy(PolicyCmd::Show { country }) => {
            let cc = country.to_ascii_uppercase();
            match demo::POLICIES.iter().find(|(c, _)| *c == cc) {
                Some((_, text)) => {
                    print!("{text}");
                    Ok(OK)
                }
                None => {
                    let known: Vec<&str> = demo::POLICIES.iter().map(|(c, _)| *c).collect();
                    bail!(
                        "no built-in policy for {country:?}: the binary carries those of {}",
                        known.join(", ")
                    )
                }
            }
        }
        Command::Actor(a) => actor_cmd(a),
        Command::Site(s) => site_cmd(s),
        Command::Extract { sign, site, weight, stones, hs, parcel } => {
            let parcel = match parcel {
                Some(p) => parse_parcel(&p)?,
                None => new_parcel_id()?,
            };
            let payload = Payload::Extraction {
                parcel,
                site: SiteId::new(site).map_err(|e| anyhow!(e))?,
                weight_pt: carats(&weight)?,
                stones,
                hs_code: HsCode::new(hs).map_err(|e| anyhow!(e))?,
            };
            sign_and_record(&sign, |_, _| Ok(payload))
        }
        Command::Handover(h) => handover_cmd(h),
        Command::Split { sign, card, parcel, into, stones } => {
            let make = |id: ParcelId, p: card_cmd::Known| {
                let weights: Vec<Points> = into.iter().map(|w| carats(w)).collect::<Result<_>>()?;
                if !stones.is_empty() && stones.len() != weights.len() {
                    bail!("give one --stones per --into, or none");
                }
                let shares = if stones.is_empty() {
                    kpledger_core::sim::share_stones(p.stones, &weights)
                } else {
                    stones.iter().map(|s| Some(*s)).collect()
                };
                let outputs = weights
                    .iter()
                    .zip(shares)
                    .map(|(w, s)| Ok(NewParcel { parcel: new_parcel_id()?, weight_pt: *w, stones: s }))
                    .collect::<Result<_>>()?;
                Ok(Payload::Split { parcel: id, prev: p.head, outputs })
            };
            if card.given() {
                return card_cmd::sign_from_card(&sign, &card, Some(&parcel), true, |c, p| {
                    make(c.card.parcel, p)
                });
            }
            sign_and_record(&sign, |ledger, _| {
                let id = parcel_arg(ledger, &parcel)?;
                make(id, card_cmd::Known::of_state(&existing(ledger, &id)?))
            })
        }
        Command::Merge { sign, card, parcels, weight } if card.given() => {
            card_cmd::merge_from_cards(&sign, &card, &parcels, weight.as_deref())
        }
        Command::Merge { sign, card: _, parcels, weight } => sign_and_record(&sign, |ledger, _| {
            let mut inputs = Vec::new();
            let (mut total, mut stones) = (0u64, Some(0u32));
            for s in &parcels {
                let id = parcel_arg(ledger, s)?;
                let p = existing(ledger, &id)?;
                total += p.weight_pt.0;
                stones = stones.zip(p.stones).map(|(a, b)| a + b);
                inputs.push(ParcelRef { parcel: id, prev: p.head });
            }
            let weight_pt = match &weight {
                Some(w) => carats(w)?,
                None => Points(total),
            };
            Ok(Payload::Merge { inputs, output: NewParcel { parcel: new_parcel_id()?, weight_pt, stones } })
        }),
        Command::Value {
            sign,
            card,
            parcel,
            exporter,
            government,
            independent,
            final_value,
            duty,
            weight,
        } => {
            let exporter = usd(&exporter)?;
            let government = usd(&government)?;
            let independent = independent.as_deref().map(usd).transpose()?;
            let final_given = final_value.as_deref().map(usd).transpose()?;
            let duty_given = duty.as_deref().map(usd).transpose()?;
            let make = |id: ParcelId, p: card_cmd::Known, policy: Option<&Policy>| -> Result<Payload> {
                let final_usd_cents = match (final_given, policy) {
                    (Some(f), _) => f,
                    (None, Some(pol)) => pol.final_value(exporter, government, independent),
                    (None, None) => bail!(
                        "without the ledger, the country's valuation rule is not at hand: give --final and --duty \
                         (ingest checks them against the policy in force, EX-2)"
                    ),
                };
                let duty_usd_cents = match (duty_given, policy) {
                    (Some(d), _) => d,
                    (None, Some(pol)) => pol.duty(final_usd_cents),
                    (None, None) => bail!(
                        "without the ledger, the country's duty rate is not at hand: give --duty (ingest checks it \
                         against the policy in force, EX-2)"
                    ),
                };
                let weight_pt = weight.as_deref().map(carats).transpose()?.unwrap_or(p.weight_pt);
                Ok(Payload::Valuation {
                    parcel: id,
                    prev: p.head,
                    weight_pt,
                    exporter_usd_cents: exporter,
                    government_usd_cents: government,
                    independent_usd_cents: independent,
                    final_usd_cents,
                    duty_usd_cents,
                })
            };
            if card.given() {
                // The valuer signs: its actor id is given with --as.
                return card_cmd::sign_from_card(&sign, &card, Some(&parcel), false, |c, p| {
                    make(c.card.parcel, p, None)
                });
            }
            sign_and_record(&sign, |ledger, signer| {
                let id = parcel_arg(ledger, &parcel)?;
                let p = existing(ledger, &id)?;
                let country = ledger.actor(signer)?.map(|a| a.record.country);
                let policy = match country {
                    Some(c) => ledger.policy(&c)?,
                    None => None,
                }
                .ok_or_else(|| {
                    anyhow!("the valuer's country has no policy in the ledger; publish it first")
                })?;
                make(id, card_cmd::Known::of_state(&p), Some(&policy))
            })
        }
        Command::Seal { sign, card, parcel, seals } => {
            let make = |id: ParcelId, p: card_cmd::Known| {
                let seal_ids = seals
                    .iter()
                    .map(|s| Text::reference(s.clone()).map_err(|e| anyhow!(e)))
                    .collect::<Result<_>>()?;
                Ok(Payload::Seal { parcel: id, prev: p.head, weight_pt: p.weight_pt, seal_ids })
            };
            if card.given() {
                // The authority seals: its actor id is given with --as.
                return card_cmd::sign_from_card(&sign, &card, Some(&parcel), false, |c, p| {
                    make(c.card.parcel, p)
                });
            }
            sign_and_record(&sign, |ledger, _| {
                let id = parcel_arg(ledger, &parcel)?;
                make(id, card_cmd::Known::of_state(&existing(ledger, &id)?))
            })
        }
        Command::Ingest { ledger, files, dry_run, json, open } => {
            ingest(&ledger, &files, dry_run, json, &open)
        }
        Command::Serve {
            ledger,
            listen,
            max_body,
            max_events,
            max_connections,
            header_timeout,
            request_timeout,
            queue,
            group,
            replay_window,
            checkpoint_key,
            checkpoint_every,
            witness_policy,
            offer_ttl,
            max_offers,
            public_url,
        } => {
            let mut cfg = kpledger_serve::Config::new(ledger);
            cfg.max_body = max_body;
            cfg.max_events = max_events;
            cfg.max_connections = max_connections;
            cfg.header_timeout = Duration::from_secs(header_timeout);
            cfg.request_timeout = Duration::from_secs(request_timeout);
            cfg.queue = queue;
            cfg.group = group;
            cfg.replay_window = replay_window;
            cfg.public_url = public_url;
            cfg.offer_ttl = Duration::from_secs(offer_ttl);
            cfg.max_offers = max_offers;
            if let Some(k) = checkpoint_key {
                let key = SecretKey::read_pem_file(&k)?;
                cfg.checkpoint = Some((key, Duration::from_secs(checkpoint_every.max(1))));
            }
            if let Some(p) = witness_policy {
                cfg.witnesses = Some((read_policy(&p)?, Duration::from_secs(checkpoint_every.max(1))));
            }
            crate::serve_cmd::serve(listen, cfg)
        }
        Command::Submit { server, files, json } => crate::serve_cmd::submit(&server, &files, json),
        Command::Get { server, key, as_actor, path, out } => {
            crate::serve_cmd::get(&server, &key, &as_actor, &path, out.as_deref())
        }
        Command::Parcel(p) => parcel_cmd(p),
        Command::Bench { parcels, lot_parcels, dir, rounds, json } => {
            let report = crate::bench::run(parcels, lot_parcels, dir.as_deref(), rounds, json)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", crate::bench::table(&report));
            }
            Ok(OK)
        }
        Command::Migrate { from, to, json } => migrate_cmd(&from, &to, json),
        Command::Rules { json } => {
            if json {
                let rules: Vec<_> =
                    Rule::ALL.iter().map(|r| json!({"code": r.code(), "summary": r.summary()})).collect();
                println!("{}", serde_json::to_string_pretty(&rules)?);
            } else {
                let rows: Vec<Vec<String>> =
                    Rule::ALL.iter().map(|r| vec![r.code().to_owned(), r.summary().to_owned()]).collect();
                print!("{}", render::table(&["code", "what it guarantees"], &rows));
            }
            Ok(OK)
        }
    }
}

fn migrate_cmd(from: &Path, to: &Path, json: bool) -> Result<u8> {
    use kpledger_core::migrate::{MigrateError, migrate};
    let bar = render::progress(0, "migrating");
    let outcome = migrate(from, to, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let m = match outcome {
        Ok(m) => m,
        Err(e @ MigrateError::Refused { .. }) => {
            eprintln!("kpledger: {}", render::terminal_safe(&e.to_string()));
            eprintln!(
                "The new file {} holds the events before it; it is not a complete ledger.",
                to.display()
            );
            return Ok(FOUND);
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        let out = json!({
            "from": from.display().to_string(),
            "to": to.display().to_string(),
            "from_version": m.from_version,
            "events": m.events,
            "checkpoints": m.checkpoints,
            "report": m.report,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "Migrated {} (schema version {}) to {}: {} events re-recorded and judged by this build's rules, {} \
             checkpoint(s) carried over. The old file was only read.",
            from.display(),
            m.from_version,
            to.display(),
            m.events,
            m.checkpoints
        );
        print!("{}", render::report(&m.report));
    }
    Ok(if m.report.ok { OK } else { FOUND })
}

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

fn carats(s: &str) -> Result<Points> {
    Points::parse_carats(s).map_err(|e| anyhow!(e))
}

fn usd(s: &str) -> Result<Cents> {
    Cents::parse_usd(s).map_err(|e| anyhow!(e))
}

fn parse_parcel(s: &str) -> Result<ParcelId> {
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
const CANDIDATES: usize = 10;

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
fn event_arg(ledger: &Ledger, typed: &str) -> Result<(u64, kpledger_model::Hash)> {
    let prefix = Prefix::parse(typed, IdKind::Event).map_err(|e| anyhow!(e))?;
    let found = ledger.events_with_prefix(&prefix, CANDIDATES + 1)?;
    one_named(typed, IdKind::Event, found, &ledger.path().display().to_string(), |(seq, h)| {
        format!("{h} (event #{seq})")
    })
}

/// The one identifier a prefix names, or an error (exit 2) saying it names none, or listing
/// the ones it names (at most [`CANDIDATES`]).
fn one_named<T>(
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

fn existing(ledger: &Ledger, id: &ParcelId) -> Result<kpledger_verify::ParcelState> {
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
const MAX_AHEAD_SECS: i64 = 24 * 3600;

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
fn resolve_signer(ledger: &Ledger, key: &SecretKey, as_actor: Option<&str>) -> Result<ActorId> {
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
fn country_flag(flag: &str, value: impl AsRef<str>) -> Result<Country> {
    Country::new(value.as_ref().trim().to_ascii_uppercase()).map_err(|e| anyhow!("{flag}: {e}"))
}

/// The actor named by an actor-id flag, which must be enrolled in the ledger; a typo is
/// refused naming the enrolled actors whose ids are closest to it.
fn enrolled(ledger: &Ledger, flag: &str, id: &ActorId) -> Result<ActorId> {
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
fn edit_distance(a: &str, b: &str) -> usize {
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
fn sign_and_record(s: &SignArgs, make: impl FnOnce(&Ledger, &ActorId) -> Result<Payload>) -> Result<u8> {
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
enum Print {
    /// A sentence for a person.
    Text,
    /// One JSON object.
    Json,
    /// Only what a script captures: the ids of the parcels the event creates, one a line, or
    /// the event's hash when it creates none (`--print-new`).
    NewIds,
}

fn record_or_write(ledger: &mut Ledger, parsed: ParsedEvent, out: Option<&Path>, print: Print) -> Result<u8> {
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

fn refused(findings: &[Finding], json: bool) -> Result<u8> {
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

fn demo_cmd(dir: &Path, parcels: u32, json: bool) -> Result<u8> {
    let s = demo::run(dir, parcels, &mut |m| render::step(m))?;
    let (reports, flags) = report_cmd::demo_reports(&s.dir, &s.ledger, &s.report)?;
    if json {
        let mut v = serde_json::to_value(&s)?;
        v["reports"] = json!(reports);
        v["red_flags"] = json!(flags.iter().map(|f| &f.finding).collect::<Vec<_>>());
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(if s.report.ok && s.bundle_reports.iter().all(|b| b.ok) { OK } else { FOUND });
    }
    println!("kpledger demo — Mano River Union regional ledger ({})", demo::DEMO_ORIGIN);
    println!();
    println!(
        "Recorded {} signed events: {} enrolled actors (4 national KP authorities, miners, dealers,",
        s.events, s.actors
    );
    println!("brokers, collectors, exporters, government valuers) and {} licensed mine sites.", s.sites);
    println!();
    let rows: Vec<Vec<String>> = s
        .countries
        .iter()
        .map(|c| {
            vec![
                c.country.clone(),
                c.parcels_mined.to_string(),
                render::ct(Points(c.carats_mined_pt)),
                c.certificate.clone(),
                c.origin.clone(),
                render::ct(Points(c.export_lot_pt)),
                render::usd(Cents(c.export_value_usd_cents)),
                c.destination.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        render::table(
            &[
                "country",
                "parcels mined",
                "carats mined",
                "KP certificate",
                "origin",
                "carats",
                "final value",
                "to"
            ],
            &rows
        )
    );
    println!();
    println!("Every parcel went mine → licensed middlemen → exporter (handovers signed by both parties,");
    println!("re-weighed on receipt), was merged and split by size, merged into an export lot, officially");
    println!(
        "valued (Sierra Leone and Liberia: highest of three valuations), sealed, certified and exported."
    );
    println!(
        "Liberia's lot went to a Sierra Leone exporter: Sierra Leone's authority confirmed receipt, and"
    );
    println!("the lot was merged with Sierra Leone goods into a mixed-origin lot certified for Antwerp.");
    if !s.warnings.is_empty() {
        println!();
        println!("Red flags raised on purpose (the suspicious flow of this scenario):");
        print!("{}", render::findings(&s.warnings));
    }
    if !flags.is_empty() {
        println!();
        println!("Statistical red flags (docs/RULES.md; also in report.html and stats.txt, see Files):");
        let found: Vec<Finding> = flags.iter().map(|f| f.finding.clone()).collect();
        print!("{}", render::findings(&found));
    }
    println!();
    let verdict = if s.report.ok { "VERIFIED" } else { "FAILED" };
    println!(
        "Whole-ledger verification: {verdict} — {} events, {} error(s), {} warning(s), {} statistical red flag(s).",
        s.report.events,
        s.report.errors,
        s.report.warnings,
        flags.len()
    );
    for b in &s.bundle_reports {
        println!(
            "Evidence bundle {}: {} offline under the importer's trust policy ({} events, {} error(s)).",
            b.certificate.as_deref().unwrap_or("?"),
            if b.ok { "VERIFIED" } else { "FAILED" },
            b.events,
            b.errors
        );
    }
    println!();
    println!("Files:");
    println!("  {}   the ledger (SQLite)", s.ledger.display());
    println!("  {}   ledger, trusted keys, trust policy, bundles", s.manifest.display());
    println!(
        "  {}/{}   an importing authority's trust policy: the log's key, witnesses, issuers per country",
        s.dir.display(),
        demo::DEMO_POLICY
    );
    println!("  {}/bundles/   one evidence bundle per KP certificate", s.dir.display());
    println!("  {}/keys/   demo keys (public knowledge: never use them for real)", s.dir.display());
    for r in &reports {
        let what = match r.extension().and_then(|e| e.to_str()) {
            Some("html") => "the regulator's report: open it in a browser",
            Some("txt") => "KP statistics (Annex III layout)",
            Some("json") => "KP statistics as JSON (schemas/stats.schema.json)",
            _ => "KP statistics as CSV",
        };
        println!("  {}   {what}", r.display());
    }
    println!();
    println!("Try:");
    println!("  kpledger verify --ledger {}", s.ledger.display());
    if let Some(c) = s.countries.iter().find(|c| c.origin == "mixed") {
        println!("  kpledger parcel history {} --ledger {}", c.export_lot, s.ledger.display());
        let d = s.dir.display();
        println!("  kpledger verify {d}/bundles/{}.json --policy {d}/{}", c.certificate, demo::DEMO_POLICY);
    }
    println!("  kpledger certificate list --ledger {}", s.ledger.display());
    println!("  kpledger stats --ledger {} --period 2026-Q1", s.ledger.display());
    if let Some(c) = s.countries.iter().find(|c| c.origin == "mixed") {
        println!("  kpledger graph {} --ledger {} --format dot", c.certificate, s.ledger.display());
    }
    let all_ok = s.report.ok && s.bundle_reports.iter().all(|b| b.ok);
    Ok(if all_ok { OK } else { FOUND })
}

fn verify_ledger(
    path: &Path,
    trust: Option<&kpledger_verify::TrustPolicy>,
    mode: SigMode,
    red_flags: bool,
    json: bool,
    o: &OpenArgs,
) -> Result<u8> {
    let ledger = open(path, true, o)?;
    let total = ledger.len()?;
    let pb = render::progress(total, "verifying");
    // The red flags read the events as verification does, in the same pass.
    let mut book = kpledger_report::Book::default();
    // Under a trust policy, the certificates and imports must be by the authorities it pins
    // (KP-7), as in a bundle: the same ledger cannot verify whole and fail as bundles.
    let mut vouchers = kpledger_verify::bundle::Vouchers::default();
    let mut observe = |seq: u64, ev: &ParsedEvent| {
        if red_flags {
            book.add(seq, ev);
        }
        if trust.is_some() {
            vouchers.observe(seq, ev);
        }
    };
    let mut report = ledger.verify_observed(mode, &mut |done, _| pb.set_position(done), &mut observe)?;
    pb.finish_and_clear();
    if let Some(trust) = trust {
        let root = kpledger_verify::bundle::check_ledger_root(trust, ledger.event(1)?.as_ref());
        let newest = ledger.stored_checkpoints()?.pop().map(|c| c.note);
        let witnessed = vouchers.check_witnesses(trust, newest.as_deref());
        for f in witnessed.into_iter().chain(vouchers.check(trust)).rev().chain(root) {
            if f.is_error() {
                report.errors += 1;
                report.ok = false;
            } else {
                report.warnings += 1;
            }
            report.findings.insert(0, f);
        }
    }
    if red_flags {
        report_cmd::add_flags(&mut report, &kpledger_report::red_flags(&book));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render::report(&report));
    }
    Ok(if report.ok { OK } else { FOUND })
}

/// Reads a trust policy file; a policy that cannot be read is exit 2, naming its lines.
pub(crate) fn read_policy(path: &Path) -> Result<kpledger_verify::TrustPolicy> {
    let bytes = read_input(path)?;
    kpledger_verify::TrustPolicy::parse(&bytes).map_err(|e| {
        anyhow!("{}: {e}\n(the trust policy's format is in docs/SPEC.md §14.5; `kpledger trust --help` prints its lines)", path.display())
    })
}

/// What a bundle is judged against: the trust policy file, or the bare keys of `--trust`.
pub(crate) fn bundle_trust(policy: Option<&Path>, trust: &[PathBuf]) -> Result<kpledger_verify::TrustPolicy> {
    match (policy, trust) {
        (Some(p), []) => read_policy(p),
        (None, [_, ..]) => {
            let keys = trust
                .iter()
                .map(|k| PublicKey::read_pem_file(k).with_context(|| format!("trusted key {}", k.display())))
                .collect::<Result<Vec<_>>>()?;
            Ok(kpledger_verify::TrustPolicy::from_keys(keys))
        }
        (Some(_), [_, ..]) => {
            bail!("give the trust policy (--policy FILE) or trusted keys (--trust KEYFILE), not both")
        }
        (None, []) => bail!(
            "a bundle is verified against the importing authority's trust policy: give it with --policy FILE \
             (`kpledger trust --help` writes one), or the trusted public keys with --trust KEYFILE"
        ),
    }
}

fn verify_bundle_file(
    path: &Path,
    policy: &kpledger_verify::TrustPolicy,
    mode: SigMode,
    red_flags: bool,
    json: bool,
) -> Result<u8> {
    let bytes = read_input(path)?;
    // The red flags read the events as verification does, in the same pass.
    let mut book = kpledger_report::Book::default();
    let mut report = kpledger_verify::verify_bundle_observed(&bytes, policy, mode, &mut |seq, ev| {
        if red_flags {
            book.add(seq, ev);
        }
    })
    .with_context(|| format!("{}", path.display()))?;
    if red_flags {
        report_cmd::add_flags(&mut report, &kpledger_report::red_flags(&book));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render::report(&report));
    }
    Ok(if report.ok { OK } else { FOUND })
}

fn trust_cmd(t: crate::args::TrustCmd) -> Result<u8> {
    use crate::args::TrustCmd;
    use kpledger_verify::trust::{ISSUER_KEYWORD, issuer_vkey, log_vkey, witness_vkey};
    match t {
        TrustCmd::Log { origin, key } => {
            Origin::new(origin.clone()).map_err(|e| anyhow!("--origin: {e}"))?;
            let (_, public) = public_of_any(&key)?;
            println!("log {}", log_vkey(&origin, public).map_err(|e| anyhow!(e))?.to_vkey());
        }
        TrustCmd::Witness { name, key } => {
            let (_, public) = public_of_any(&key)?;
            println!("witness {name} {}", witness_vkey(&name, public).map_err(|e| anyhow!(e))?.to_vkey());
        }
        TrustCmd::Issuer { country, actor, key } => {
            let country = country_flag("--country", country)?;
            let actor = ActorId::new(actor).map_err(|e| anyhow!("--actor: {e}"))?;
            let (_, public) = public_of_any(&key)?;
            println!(
                "{ISSUER_KEYWORD} {country} {}",
                issuer_vkey(actor.as_str(), public).map_err(|e| anyhow!(e))?.to_vkey()
            );
        }
        TrustCmd::Check { file } => {
            let p = read_policy(&file)?;
            println!("{}: a valid trust policy", file.display());
            for l in p.logs() {
                println!("  log {} with root key {}", l.key.name(), l.key.public_key().fingerprint());
            }
            for l in p.unverifiable_logs() {
                println!(
                    "  log {} with a key of a signature type kpledger does not verify (ignored)",
                    l.origin
                );
            }
            for w in p.witnesses() {
                match &w.key {
                    Some(k) => println!(
                        "  witness {} (signs as {}) key {}{}",
                        w.name,
                        k.name(),
                        k.public_key().fingerprint(),
                        w.url.as_ref().map(|u| format!(" at {u}")).unwrap_or_default()
                    ),
                    None => println!(
                        "  witness {} with a key of a signature type kpledger does not verify: it never counts toward the quorum",
                        w.name
                    ),
                }
            }
            println!("  quorum: {}", p.quorum_text());
            for i in p.issuers() {
                println!(
                    "  certificates of {} validated by {} key {}",
                    i.country,
                    i.actor,
                    i.key.public_key().fingerprint()
                );
            }
        }
    }
    Ok(OK)
}

fn certificate_cmd(c: CertificateCmd) -> Result<u8> {
    match c {
        CertificateCmd::Issue {
            sign,
            number,
            exporter,
            parcels,
            importer_name,
            importer_address,
            importer_country,
            importer_actor,
            valid_days,
        } => {
            let importer = CertImporter {
                name: Text::from_input(importer_name).map_err(|e| anyhow!(e))?,
                address: Text::from_input(importer_address).map_err(|e| anyhow!(e))?,
                country: country_flag("--importer-country", importer_country)?,
                actor: importer_actor.map(ActorId::new).transpose().map_err(|e| anyhow!(e))?,
            };
            let exporter = ActorId::new(exporter).map_err(|e| anyhow!("--exporter: {e}"))?;
            let time = now_or(sign.time.as_deref())?;
            sign_and_record(&sign, |ledger, signer| {
                enrolled(ledger, "--exporter", &exporter)?;
                if let Some(a) = &importer.actor {
                    enrolled(ledger, "--importer-actor", a)?;
                }
                let parcels: Vec<ParcelId> =
                    parcels.iter().map(|p| parcel_arg(ledger, p)).collect::<Result<_>>()?;
                let expiry = Time::from_unix(time.unix() + valid_days * 86_400).date();
                let certificate = kpledger_core::sim::draft_certificate(
                    ledger,
                    &number,
                    signer,
                    &exporter,
                    importer,
                    &parcels,
                    time.date(),
                    expiry,
                )?;
                Ok(Payload::Certificate { certificate })
            })
        }
        CertificateCmd::Export { sign, number } => sign_and_record(&sign, |ledger, _| {
            let number = Text::reference(number).map_err(|e| anyhow!(e))?;
            let refs = current_refs(ledger, &number)?;
            Ok(Payload::Export { certificate: number, parcels: refs })
        }),
        CertificateCmd::Confirm { sign, number, holder, carats: weighed, parcel_count, seal_broken } => {
            let time = now_or(sign.time.as_deref())?;
            sign_and_record(&sign, |ledger, _| {
                let number = Text::reference(number).map_err(|e| anyhow!(e))?;
                let cert = ledger
                    .certificate(&number)?
                    .ok_or_else(|| anyhow!("no certificate {number} in the ledger"))?;
                let c = cert.certificate;
                let confirmation = ImportConfirmation {
                    parcels: current_refs(ledger, &number)?,
                    certificate: number,
                    parcel_count: parcel_count.unwrap_or(c.parcel_count),
                    carats_pt: match &weighed {
                        Some(w) => carats(w)?,
                        None => Points(c.carats()),
                    },
                    importer: c.importer.name.clone(),
                    exporter: c.exporter.name.clone(),
                    date_of_receipt: time.date(),
                    seal_intact: !seal_broken,
                    holder: enrolled(
                        ledger,
                        "--holder",
                        &ActorId::new(holder).map_err(|e| anyhow!("--holder: {e}"))?,
                    )?,
                };
                Ok(Payload::ImportConfirmation { confirmation })
            })
        }
        CertificateCmd::Import { sign, bundle, policy, foreign, holder, weight, stones, hs } => {
            let holder = ActorId::new(holder).map_err(|e| anyhow!("--holder: {e}"))?;
            match (bundle, policy, foreign) {
                (Some(bundle), Some(policy), None) => {
                    import_from_bundle(&sign, &bundle, &policy, holder, &weight, &stones)
                }
                (None, None, Some(foreign)) => {
                    let bytes = read_input(&foreign)?;
                    let certificate: ForeignCertificate = kpledger_model::canonical::from_slice_input(&bytes)
                        .with_context(|| {
                            format!("{} is not a valid foreign certificate", foreign.display())
                        })?;
                    if weight.is_empty() {
                        bail!(
                            "give each parcel's --weight and --stones (and --hs when the certificate has several headings)"
                        );
                    }
                    let parcels = shipment_from_flags(&certificate, &weight, &stones, &hs)?;
                    let payload = import_payload(holder, certificate, parcels)?;
                    sign_and_record(&sign, |_, _| Ok(payload))
                }
                _ => bail!("give --bundle FILE with --policy TRUST-POLICY, or --foreign CERT.json"),
            }
        }
        CertificateCmd::List { ledger, json, open: o } => {
            let l = open(&ledger, true, &o)?;
            let certs = l.certificates()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&certs)?);
                return Ok(OK);
            }
            let rows: Vec<Vec<String>> = certs
                .iter()
                .map(|cs| {
                    let c = &cs.certificate;
                    let status = if cs.confirmed.is_some() {
                        "receipt confirmed"
                    } else if cs.exported.is_some() {
                        "exported"
                    } else {
                        "issued"
                    };
                    vec![
                        c.number.to_string(),
                        c.date_of_issue.to_string(),
                        c.country_of_origin.to_string(),
                        render::ct(Points(c.carats())),
                        render::usd(Cents(c.value())),
                        c.parcel_count.to_string(),
                        format!("{} → {} ({})", c.exporter.name, c.importer.name, c.importer.country),
                        status.to_owned(),
                    ]
                })
                .collect();
            print!(
                "{}",
                render::table(
                    &["certificate", "issued", "origin", "carats", "value", "parcels", "shipment", "status"],
                    &rows
                )
            );
            Ok(OK)
        }
    }
}

/// The parcels of `certificate import --foreign`: `--weight`, `--stones` and `--hs` given once
/// per parcel, in the same order; `--hs` may be left out when the certificate has one heading.
fn shipment_from_flags(
    certificate: &ForeignCertificate,
    weight: &[String],
    stones: &[u32],
    hs: &[String],
) -> Result<Vec<ImportParcel>> {
    let headings: std::collections::BTreeSet<&HsCode> =
        certificate.lines.iter().map(|l| &l.hs_code).collect();
    if stones.len() != weight.len() || !(hs.is_empty() || hs.len() == weight.len()) {
        bail!(
            "give --weight, --stones and --hs once per parcel, in the same order ({} --weight, {} --stones, {} --hs)",
            weight.len(),
            stones.len(),
            hs.len()
        );
    }
    let default_hs = match (hs.is_empty(), headings.iter().next()) {
        (false, _) => None,
        (true, Some(h)) if headings.len() == 1 => Some((*h).clone()),
        (true, _) => bail!(
            "the certificate lists {} headings: give each parcel's --hs (one of {})",
            headings.len(),
            headings.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    weight
        .iter()
        .zip(stones)
        .enumerate()
        .map(|(i, (w, s))| {
            let hs_code = match (&default_hs, hs.get(i)) {
                (Some(h), _) => h.clone(),
                (None, Some(h)) => HsCode::new(h).map_err(|e| anyhow!(e))?,
                (None, None) => bail!("parcel {} has no --hs", i + 1),
            };
            Ok(ImportParcel { parcel: new_parcel_id()?, weight_pt: carats(w)?, stones: *s, hs_code })
        })
        .collect()
}

/// `policy new`: a starting policy for `country`, from the participant and suspension lists
/// kpledger ships (policies/SL.json), every national value a documented default listed in
/// `unconfirmed`.
fn policy_new(country: &str, out: Option<&Path>, version: Option<String>) -> Result<u8> {
    let code = Country::new(country.trim().to_ascii_uppercase())
        .map_err(|e| anyhow!("--country {country:?}: {e} (an ISO 3166-1 alpha-2 code such as BE)"))?;
    let (_, shipped) = demo::POLICIES[0];
    let mut policy: Policy = kpledger_model::canonical::from_slice_input(shipped.as_bytes())
        .context("the participant list kpledger ships does not read")?;
    if !policy.participants.contains(&code) {
        bail!(
            "{code} is not among the KP Participants kpledger lists ({}); if it has joined the KP, \
             copy a policy from policies/ and add it to `participants`",
            policy.participants.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" ")
        );
    }
    let version = match version {
        Some(v) => v,
        None => now_or(None)?.date().to_string(),
    };
    let texts = |xs: &[&str]| -> Result<Vec<Text>> {
        xs.iter().map(|x| Text::new(*x).map_err(|e| anyhow!(e))).collect()
    };
    policy.country = code.clone();
    policy.version = Text::new(version).map_err(|e| anyhow!("--policy-version: {e}"))?;
    policy.tolerance_pt = 1;
    policy.mining_licence_classes = texts(&["artisanal", "small-scale", "large-scale"])?;
    policy.max_artisanal_area_m2 = None;
    policy.allowed_transfers =
        vec![[Role::Miner, Role::Dealer], [Role::Dealer, Role::Exporter], [Role::Exporter, Role::Dealer]];
    policy.exporter_licence_classes = texts(&["exporter"])?;
    policy.valuation_rule = kpledger_model::ValuationRule::Government;
    policy.export_duty_bp = 0;
    policy.cert_number_ranges = Vec::new();
    policy.import_confirmation_days = 30;
    policy.conclusive_evidence_of_origin = false;
    policy.benchmarks = Vec::new();
    policy.unconfirmed = texts(&[
        "tolerance_pt",
        "mining_licence_classes",
        "allowed_transfers",
        "exporter_licence_classes",
        "valuation_rule",
        "export_duty_bp",
        "participants",
        "suspensions",
        "import_confirmation_days",
        "red_flags",
    ])?;
    let json = format!("{}\n", serde_json::to_string_pretty(&policy)?);
    let Some(out) = out else {
        print!("{json}");
        return Ok(OK);
    };
    write_new(out, json.as_bytes())?;
    println!("wrote {}: a starting policy for {code}, version {}", out.display(), policy.version);
    println!(
        "  every national value in it is a default to confirm with {code}'s authority (its `unconfirmed`;"
    );
    println!("  `kpledger policy new --help` lists them); edit the file, then sign it into the ledger:");
    println!("  kpledger policy set --key AUTHORITY.pem {}", out.display());
    Ok(OK)
}

/// Why an import from a bundle is not recorded although the bundle verifies: the shipment it
/// proves cannot be admitted here (exit 1, nothing written).
#[derive(Debug)]
struct NotAdmitted(String);

impl std::fmt::Display for NotAdmitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAdmitted {}

/// `certificate import --bundle`: verifies the bundle under the trust policy as `verify` does,
/// then signs and records the import of exactly what it proves.
fn import_from_bundle(
    sign: &SignArgs,
    bundle: &Path,
    policy: &Path,
    holder: ActorId,
    weight: &[String],
    stones: &[u32],
) -> Result<u8> {
    let trust = read_policy(policy)?;
    let bytes = read_input(bundle)?;
    let (report, shipment) = kpledger_verify::verify_bundle_shipment(&bytes, &trust, SigMode::Strict)
        .with_context(|| format!("{}", bundle.display()))?;
    let Some(shipment) = shipment.filter(|_| report.ok) else {
        eprint!("{}", render::report(&report));
        eprintln!(
            "kpledger: {} does not verify under the trust policy {}: nothing was recorded",
            bundle.display(),
            policy.display()
        );
        return Ok(FOUND);
    };
    let refuse = |why: String| {
        eprintln!("kpledger: {why}; nothing was recorded");
        Ok(FOUND)
    };
    let cert = &shipment.certificate.certificate;
    if shipment.certificate.exported.is_none() {
        return refuse(format!(
            "the bundle shows certificate {} issued but not exported: its shipment has not left {}",
            cert.number, cert.issuing_country
        ));
    }
    if shipment.certificate.confirmed.is_some() {
        return refuse(format!(
            "the bundle shows certificate {}'s shipment already received in ledger {} (import confirmation): \
             it is not imported a second time",
            cert.number, shipment.ledger
        ));
    }
    let n = shipment.parcels.len();
    for (flag, given) in [("--weight", weight.len()), ("--stones", stones.len())] {
        if given != 0 && given != n {
            bail!(
                "certificate {} covers {n} parcel(s): give {flag} once for each, in the certificate's order, or not at all",
                cert.number
            );
        }
    }
    let weights = weight.iter().map(|w| carats(w)).collect::<Result<Vec<_>>>()?;
    let parcels = shipment.import_parcels(&weights, stones).map_err(|p| {
        anyhow!(
            "the bundle gives no stone count for parcel {p}: count the stones on receipt and give --stones once per parcel"
        )
    })?;
    let foreign = shipment.foreign_certificate();
    let destination = cert.importer.country.clone();
    let payload = import_payload(holder, foreign, parcels)?;
    let recorded = sign_and_record(sign, |ledger, signer| {
        let country = ledger.actor(signer)?.map(|a| a.record.country);
        if country.as_ref() != Some(&destination) {
            return Err(NotAdmitted(format!(
                "certificate {} is destined to {destination}, not to {}: a shipment is imported by its \
                 destination's authority",
                cert.number,
                country.map_or_else(|| format!("the signer {signer}"), |c| c.to_string())
            ))
            .into());
        }
        Ok(payload)
    });
    match recorded {
        Err(e) if e.downcast_ref::<NotAdmitted>().is_some() => refuse(e.to_string()),
        other => other,
    }
}

/// An import of `parcels` (at least one) under `certificate`, held by `holder`.
fn import_payload(
    holder: ActorId,
    certificate: ForeignCertificate,
    parcels: Vec<ImportParcel>,
) -> Result<Payload> {
    let mut parcels = parcels.into_iter();
    let first = parcels.next().ok_or_else(|| anyhow!("an import admits at least one parcel"))?;
    Ok(Payload::Import {
        parcel: first.parcel,
        holder,
        weight_pt: first.weight_pt,
        stones: first.stones,
        hs_code: first.hs_code,
        certificate,
        more_parcels: parcels.collect(),
    })
}

/// `NAME=KEY.pub` arguments as C2SP cosignature verifier keys.
pub(crate) fn witness_keys(args: &[String]) -> Result<Vec<VerifierKey>> {
    args.iter()
        .map(|a| {
            let (name, file) = a
                .split_once('=')
                .ok_or_else(|| anyhow!("--witness {a:?}: write NAME=KEY.pub, e.g. sl.nma=keys/sl.nma.pub"))?;
            let key = PublicKey::read_pem_file(Path::new(file))?;
            VerifierKey::new(name, SigType::CosignatureV1, key).map_err(|e| anyhow!("--witness {a:?}: {e}"))
        })
        .collect()
}

fn log_cmd(l: LogCmd) -> Result<u8> {
    match l {
        LogCmd::Tiles { ledger, out, s3_endpoint, bundles, open: o } => {
            let target = crate::publish::target(&out, s3_endpoint.as_deref())?;
            let l = open(&ledger, true, &o)?;
            crate::publish::publish(&l, &target, bundles)
        }
        LogCmd::Publish { ledger, key, out, json, open: o } => {
            let key = SecretKey::read_pem_file(&key)?;
            let mut l = open(&ledger, false, &o)?;
            let cp = l.publish_checkpoint(&key)?;
            if let Some(out) = &out {
                write_new(out, cp.note.as_bytes())?;
            }
            if json {
                let root = kpledger_model::Hash(<[u8; 32]>::try_from(cp.root.as_slice()).unwrap_or([0; 32]));
                println!("{}", json!({"size": cp.size, "root": root, "note": cp.note, "written": out}));
            } else {
                print!("{}", cp.note);
            }
            Ok(OK)
        }
        LogCmd::Head { ledger, json, open: o } => {
            let l = open(&ledger, true, &o)?;
            let size = l.len()?;
            let root = l.log_root(size)?;
            let latest = l.stored_checkpoints()?.pop();
            if json {
                println!(
                    "{}",
                    json!({"size": size, "root": root, "checkpoint": latest.as_ref().map(|c| json!({"size": c.size, "note": c.note}))})
                );
            } else {
                println!("log size {size}, root {root}");
                match latest {
                    Some(c) => print!("latest checkpoint (size {}):\n{}", c.size, c.note),
                    None => println!("no checkpoint published yet: `kpledger log publish`"),
                }
            }
            Ok(OK)
        }
        LogCmd::Cosignatures { file, ledger, witnesses, json, open: o } => {
            let keys = witness_keys(&witnesses)?;
            let bytes = read_input(&file)?;
            let mut l = open(&ledger, false, &o)?;
            let added = l.add_cosignatures(&bytes, &keys)?;
            if json {
                println!("{}", json!({"ok": true, "added": added}));
            } else {
                println!("stored {added} new cosignature(s)");
            }
            Ok(OK)
        }
        LogCmd::Witness { ledger, policy, json, open: o } => log_witness(&ledger, &policy, json, &o),
        LogCmd::ProveInclusion { ledger, seq, event, size, json, open: o } => {
            let l = open(&ledger, true, &o)?;
            let seq = match (seq, event) {
                (Some(seq), None) => seq,
                (None, Some(typed)) => event_arg(&l, &typed)?.0,
                _ => bail!(
                    "give the event's position (--seq N) or its hash (--event HASH, or 8 or more of its first hex digits)"
                ),
            };
            let size = size.unwrap_or(l.len()?);
            if seq == 0 || seq > size {
                bail!("event #{seq} is not in a log of {size} events");
            }
            let proof = l.inclusion_proof(seq, size)?;
            let ev = l.event(seq)?.ok_or_else(|| anyhow!("no event #{seq}"))?;
            let doc = json!({"seq": seq, "index": seq - 1, "size": size, "event": ev.hash, "leaf": kpledger_verify::log::leaf_hash(&ev.hash), "root": l.log_root(size)?, "proof": proof});
            if json {
                println!("{doc}");
            } else {
                println!("{}", serde_json::to_string_pretty(&doc)?);
            }
            Ok(OK)
        }
        LogCmd::ProveConsistency { ledger, from, to, out, open: o } => {
            let l = open(&ledger, true, &o)?;
            let to = to.unwrap_or(l.len()?);
            let proof = l.consistency_proof(from, to)?;
            let doc = json!({"old_size": from, "new_size": to, "old_root": l.log_root(from)?, "new_root": l.log_root(to)?, "proof": proof});
            let text = serde_json::to_string_pretty(&doc)? + "\n";
            match out {
                Some(out) => {
                    write_new(&out, text.as_bytes())?;
                    println!("consistency proof {from} → {to} ({} hashes) → {}", proof.len(), out.display());
                }
                None => print!("{text}"),
            }
            Ok(OK)
        }
    }
}

/// `kpledger log witness`: the newest checkpoint to every witness of the policy with a URL.
fn log_witness(ledger: &Path, policy_path: &Path, json: bool, o: &OpenArgs) -> Result<u8> {
    use kpledger_witness::client;
    let policy = read_policy(policy_path)?;
    let mut l = open(ledger, false, o)?;
    if !policy.witnesses().iter().any(|w| w.url.is_some() && w.key.is_some()) {
        bail!(
            "{}: no `witness` line has a URL (and a key kpledger verifies): write `witness NAME VKEY URL`, the URL \
             being the witness's submission prefix",
            policy_path.display()
        );
    }
    let Some(round) = kpledger_witness::log::witness_newest(&mut l, &policy, &client::agent())? else {
        bail!(
            "the ledger has no checkpoint yet: the root authority publishes one first (`kpledger log publish`)"
        )
    };
    let (size, met) = (round.size, round.quorum_met);
    let results: Vec<(String, String, Result<String, String>)> =
        round.witnesses.into_iter().map(|w| (w.name, w.url, w.outcome)).collect();
    if json {
        let ws: Vec<serde_json::Value> = results
            .iter()
            .map(|(n, u, r)| match r {
                Ok(m) => json!({"witness": n, "url": u, "ok": true, "message": m}),
                Err(m) => json!({"witness": n, "url": u, "ok": false, "message": m}),
            })
            .collect();
        println!(
            "{}",
            json!({"size": size, "witnesses": ws, "quorum": policy.quorum_text(), "quorum_met": met})
        );
    } else {
        for (n, u, r) in &results {
            match r {
                Ok(m) => println!("{n} ({u}): {m}"),
                Err(m) => println!("{n} ({u}): NOT cosigned: {m}"),
            }
        }
        if met {
            println!(
                "checkpoint of size {} is cosigned by the quorum ({}): published",
                size,
                policy.quorum_text()
            );
        } else {
            println!(
                "checkpoint of size {} is NOT yet cosigned by the quorum ({}): bundles keep the last checkpoint that was",
                size,
                policy.quorum_text()
            );
        }
    }
    Ok(if met { OK } else { FOUND })
}

/// `kpledger witness serve`.
fn witness_serve(
    name: &str,
    key: &Path,
    state: &Path,
    policy: &Path,
    listen: &str,
    prefix: &str,
) -> Result<u8> {
    use kpledger_witness::{LogKeys, StateFile, Witness, server};
    let cosigner = Cosigner::new(name, SecretKey::read_pem_file(key)?).map_err(|e| anyhow!("--name: {e}"))?;
    let policy = read_policy(policy)?;
    let logs = LogKeys::from_policy(&policy);
    if logs.origins().next().is_none() {
        bail!(
            "the policy has no `log` line: a witness witnesses the logs its policy names (`kpledger trust log`)"
        );
    }
    if !(prefix.is_empty() || (prefix.starts_with('/') && !prefix.ends_with('/'))) {
        bail!("--prefix {prefix:?}: write a path starting with / and not ending with one, e.g. /witness");
    }
    let state = StateFile::open(state)?;
    // A testing aid for the crash tests (tests/e2e/witness_net.rs): wait between the decision
    // and the durable write, so that a kill lands in between.
    let pause = std::env::var("KPLEDGER_WITNESS_TEST_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis);
    let clock = Box::new(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    });
    let report = Box::new(|line: &str| eprintln!("kpledger witness: {line}"));
    let witness = std::sync::Arc::new(
        Witness::new(cosigner.clone(), logs.clone(), state, report, clock).with_pause(pause),
    );
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_io().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr}{prefix}");
        println!("witness {}", cosigner.verifier().to_vkey());
        for o in logs.origins() {
            println!("witnessing {o}");
        }
        server::serve(listener, witness, prefix).await.context("the witness server stopped")
    })?;
    Ok(OK)
}

fn epcis_cmd(e: EpcisCmd) -> Result<u8> {
    match e {
        EpcisCmd::Export { ledger, parcel, certificate, out, open: o } => {
            let l = open(&ledger, true, &o)?;
            let doc = match (parcel, certificate) {
                (Some(p), _) => kpledger_epcis::export_parcel(&l, &parcel_arg(&l, &p)?)?,
                (None, Some(c)) => {
                    kpledger_epcis::export_certificate(&l, &Text::reference(c).map_err(|e| anyhow!(e))?)?
                }
                (None, None) => kpledger_epcis::export_ledger(&l)?,
            };
            let text = serde_json::to_string_pretty(&doc)? + "\n";
            match out {
                Some(out) => {
                    write_new(&out, text.as_bytes())?;
                    let n =
                        doc.pointer("/epcisBody/eventList").and_then(|v| v.as_array()).map_or(0, Vec::len);
                    println!("EPCIS 2.0 document with {n} events → {}", out.display());
                }
                None => print!("{text}"),
            }
            Ok(OK)
        }
        EpcisCmd::Check { file, ledger, json, open: o } => {
            let l = open(&ledger, true, &o)?;
            let report = kpledger_epcis::check(&l, &read_input(&file)?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{} events: {} match ledger events, {} are unknown to the ledger, {} differ from the ledger event they name",
                    report.events,
                    report.matched.len(),
                    report.missing_from_ledger.len(),
                    report.differing.len()
                );
                for (what, list) in
                    [("unknown to the ledger", &report.missing_from_ledger), ("differs", &report.differing)]
                {
                    for ev in list {
                        // The type is the document's, as it was written: shown escaped.
                        let kind = render::terminal_safe(&ev.event_type);
                        println!("  event {} ({kind}, {}): {what}", ev.index, ev.event_hash_id);
                    }
                }
            }
            Ok(if report.all_matched() { OK } else { FOUND })
        }
    }
}

fn witness_cmd(w: WitnessCmd) -> Result<u8> {
    use kpledger_verify::witness::{LogState, check};
    match w {
        WitnessCmd::Serve { name, key, state, policy, listen, prefix } => {
            witness_serve(&name, &key, &state, &policy, &listen, &prefix)
        }
        WitnessCmd::Key { name, key } => {
            let (_, public) = public_of_any(&key)?;
            println!(
                "{}",
                VerifierKey::new(&name, SigType::CosignatureV1, public).map_err(|e| anyhow!(e))?.to_vkey()
            );
            Ok(OK)
        }
        WitnessCmd::Cosign { checkpoint, log_origin, log_key, name, key, state, proof, out, time, json } => {
            // Read before anything is judged or written: a malformed time changes nothing.
            let time = now_or(time.as_deref())?;
            let note_bytes = read_input(&checkpoint)?;
            let log_key =
                VerifierKey::new(&log_origin, SigType::Ed25519, PublicKey::read_pem_file(&log_key)?)
                    .map_err(|e| anyhow!(e))?;
            let cosigner = Cosigner::new(&name, SecretKey::read_pem_file(&key)?).map_err(|e| anyhow!(e))?;
            let previous: Option<LogState> = match std::fs::read(&state) {
                Ok(b) => Some(
                    kpledger_model::canonical::parse_bounded(&b)
                        .and_then(serde_json::from_value)
                        .with_context(|| format!("{} is not a witness state file", state.display()))?,
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", state.display())),
            };
            // A witness that has cosigned before needs a proof that a larger checkpoint extends
            // that one: without it, say so, and write nothing (no refusal evidence: nothing
            // was offered that the log could be blamed for).
            if let (Some(prev), None) = (&previous, &proof) {
                let offered = std::str::from_utf8(&note_bytes)
                    .ok()
                    .and_then(|t| t.lines().nth(1))
                    .and_then(|l| l.parse::<u64>().ok());
                if offered.is_some_and(|n| n > prev.size) {
                    bail!(
                        "a consistency proof is required: this witness already cosigned size {} of {}, and the \
                         checkpoint has {} entries; give --proof FILE, made by the log with \
                         `kpledger log prove-consistency --from {}`",
                        prev.size,
                        prev.origin,
                        offered.unwrap_or_default(),
                        prev.size
                    );
                }
            }
            let proof: Vec<kpledger_model::Hash> = match &proof {
                None => Vec::new(),
                Some(p) => {
                    let v: serde_json::Value = kpledger_model::canonical::parse_bounded(&read_input(p)?)
                        .with_context(|| format!("{} is not a consistency proof", p.display()))?;
                    serde_json::from_value(v.get("proof").cloned().unwrap_or_default())
                        .with_context(|| format!("{} has no valid \"proof\" list", p.display()))?
                }
            };
            match check(previous.as_ref(), &note_bytes, &log_key, &proof) {
                Err(refusal) => {
                    let evidence = state.with_extension(format!("refused-{}.json", std::process::id()));
                    let doc = json!({
                        "refused": refusal.to_string(),
                        "cosigned_before": previous,
                        "offered_checkpoint": String::from_utf8_lossy(&note_bytes),
                        "proof": proof,
                    });
                    write_new(&evidence, (serde_json::to_string_pretty(&doc)? + "\n").as_bytes())?;
                    if json {
                        println!(
                            "{}",
                            json!({"ok": false, "refused": refusal.to_string(), "evidence": evidence})
                        );
                    }
                    eprintln!(
                        "kpledger: witness refuses to cosign: {}",
                        render::terminal_safe(&refusal.to_string())
                    );
                    eprintln!("the evidence is kept in {}", evidence.display());
                    Ok(FOUND)
                }
                Ok(opened) => {
                    let ts = u64::try_from(time.unix()).unwrap_or(0);
                    let mut note = opened.note().clone();
                    note.cosign(&cosigner, ts).map_err(|e| anyhow!(e))?;
                    write_new(&out, &note.to_bytes())?;
                    let c = opened.checkpoint();
                    let new_state = LogState { origin: log_origin, size: c.size(), root: *c.root_hash() };
                    let tmp = state.with_extension("tmp");
                    std::fs::write(&tmp, serde_json::to_string_pretty(&new_state)? + "\n")?;
                    std::fs::rename(&tmp, &state)?;
                    if json {
                        println!(
                            "{}",
                            json!({"ok": true, "size": c.size(), "root": c.root_hash(), "witness": name, "written": out})
                        );
                    } else {
                        println!("cosigned checkpoint of size {} as {name} → {}", c.size(), out.display());
                    }
                    Ok(OK)
                }
            }
        }
    }
}

fn current_refs(ledger: &Ledger, number: &Text) -> Result<Vec<ParcelRef>> {
    let cert = ledger.certificate(number)?.ok_or_else(|| anyhow!("no certificate {number} in the ledger"))?;
    cert.certificate
        .parcels
        .iter()
        .map(|r| Ok(ParcelRef { parcel: r.parcel, prev: existing(ledger, &r.parcel)?.head }))
        .collect()
}

fn key_cmd(k: KeyCmd) -> Result<u8> {
    match k {
        KeyCmd::New { out } => {
            let key = SecretKey::generate()?;
            let public = pub_path(&out);
            if public.exists() {
                bail!("{} already exists; kpledger does not overwrite keys", public.display());
            }
            write_private(&out, key.to_pem().as_bytes())?;
            write_new(&public, key.public().to_pem().as_bytes())?;
            println!("private key: {} (keep it secret; mode 0600)", out.display());
            println!("public key:  {} (give this to the authority for enrolment)", public.display());
            println!("fingerprint: {}", key.public().fingerprint());
            Ok(OK)
        }
        KeyCmd::Show { file, json } => {
            let (kind, public) = public_of_any(&file)?;
            if json {
                println!(
                    "{}",
                    json!({"kind": kind, "public_key": public, "fingerprint": public.fingerprint()})
                );
            } else {
                println!("{kind} key, public half {public}");
                println!("fingerprint {}", public.fingerprint());
            }
            Ok(OK)
        }
    }
}

/// The public key of a key file, private or public; and which it was.
fn public_of_any(path: &Path) -> Result<(&'static str, PublicKey)> {
    let text = String::from_utf8(read_input(path)?)
        .map_err(|_| anyhow!("{} is not a PEM text file", path.display()))?;
    let name = path.display().to_string();
    Ok(if text.contains("PRIVATE KEY-----") {
        ("private", SecretKey::from_pem(&text, &name)?.public())
    } else {
        ("public", PublicKey::from_pem(&text, &name)?)
    })
}

fn pub_path(private: &Path) -> PathBuf {
    let mut s = private.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {} (kpledger does not overwrite keys)", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

fn init(
    ledger: &Path,
    origin: &str,
    id: &str,
    name: &str,
    country: &str,
    key: &Path,
    time: Option<&str>,
) -> Result<u8> {
    let key = SecretKey::read_pem_file(key)?;
    let authority = ActorRecord {
        id: ActorId::new(id).map_err(|e| anyhow!(e))?,
        name: Text::from_input(name).map_err(|e| anyhow!(e))?,
        role: Role::Authority,
        country: country_flag("--country", country)?,
        licence: None,
        key: key.public(),
        address: None,
    };
    let body = EventBody {
        v: 1,
        ledger: Origin::new(origin).map_err(|e| anyhow!(e))?,
        time: now_or(time)?,
        signer: authority.id.clone(),
        payload: Payload::Genesis { authority },
    };
    let parsed = Event::sign(body, &key)?.into_parsed()?;
    let mut l = Ledger::create(ledger)?;
    match l.append(&parsed) {
        Ok(_) => {
            println!("created {} (origin {origin}), root authority {id}", ledger.display());
            Ok(OK)
        }
        Err(e) => {
            drop(l);
            // The file was created empty by this command a moment ago; nothing else is in it.
            let _ = std::fs::remove_file(ledger);
            Err(e.into())
        }
    }
}

fn actor_cmd(a: ActorCmd) -> Result<u8> {
    match a {
        ActorCmd::Enrol {
            sign,
            id,
            name,
            role,
            country,
            pubkey,
            licence,
            class,
            valid_from,
            valid_to,
            sites,
            address,
        } => {
            let key = PublicKey::read_pem_file(&pubkey)?;
            let licence = match licence {
                None => None,
                Some(number) => Some(Licence {
                    number: Text::from_input(number).map_err(|e| anyhow!(e))?,
                    class: Text::from_input(class.unwrap_or_default()).map_err(|e| anyhow!(e))?,
                    valid_from: valid_from.unwrap_or_default().parse().map_err(|e: String| anyhow!(e))?,
                    valid_to: valid_to.unwrap_or_default().parse().map_err(|e: String| anyhow!(e))?,
                    sites: sites
                        .iter()
                        .map(|s| SiteId::new(s.clone()).map_err(|e| anyhow!(e)))
                        .collect::<Result<_>>()?,
                }),
            };
            let actor = ActorRecord {
                id: ActorId::new(id).map_err(|e| anyhow!(e))?,
                name: Text::from_input(name).map_err(|e| anyhow!(e))?,
                role: role.parse().map_err(|e: String| anyhow!(e))?,
                country: country_flag("--country", country)?,
                licence,
                key,
                address: address.map(Text::from_input).transpose().map_err(|e| anyhow!(e))?,
            };
            sign_and_record(&sign, |_, _| Ok(Payload::Enrol { actor }))
        }
        ActorCmd::Rotate { sign, actor, pubkey } => {
            let key = PublicKey::read_pem_file(&pubkey)?;
            let actor = ActorId::new(actor).map_err(|e| anyhow!("--actor: {e}"))?;
            sign_and_record(&sign, |ledger, _| {
                enrolled(ledger, "--actor", &actor)?;
                Ok(Payload::RotateKey { actor, key })
            })
        }
        ActorCmd::Revoke { sign, actor, reason } => {
            let actor = ActorId::new(actor).map_err(|e| anyhow!("--actor: {e}"))?;
            let reason = Text::from_input(reason).map_err(|e| anyhow!(e))?;
            sign_and_record(&sign, |ledger, _| {
                enrolled(ledger, "--actor", &actor)?;
                Ok(Payload::Revoke { actor, reason })
            })
        }
        ActorCmd::List { ledger, json, open: o } => {
            let l = open(&ledger, true, &o)?;
            let actors = l.actors()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&actors)?);
                return Ok(OK);
            }
            let rows: Vec<Vec<String>> = actors
                .iter()
                .map(|a| {
                    let r = &a.record;
                    vec![
                        r.id.to_string(),
                        r.role.to_string(),
                        r.country.to_string(),
                        r.licence
                            .as_ref()
                            .map(|l| format!("{} {}", l.class, l.number))
                            .unwrap_or_else(|| "-".into()),
                        r.licence
                            .as_ref()
                            .map(|l| format!("{}..{}", l.valid_from, l.valid_to))
                            .unwrap_or_else(|| "-".into()),
                        if a.revoked.is_some() { "revoked".into() } else { "active".into() },
                        r.name.to_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                render::table(&["actor", "role", "country", "licence", "valid", "status", "name"], &rows)
            );
            Ok(OK)
        }
    }
}

fn site_cmd(s: SiteCmd) -> Result<u8> {
    match s {
        SiteCmd::Add { sign, id, name, country, region, location, area_m2 } => {
            let site = SiteRecord {
                id: SiteId::new(id).map_err(|e| anyhow!(e))?,
                name: Text::from_input(name).map_err(|e| anyhow!(e))?,
                country: country_flag("--country", country)?,
                region: Text::from_input(region).map_err(|e| anyhow!(e))?,
                location: Text::from_input(location).map_err(|e| anyhow!(e))?,
                area_m2,
            };
            sign_and_record(&sign, |_, _| Ok(Payload::Site { site }))
        }
        SiteCmd::List { ledger, json, open: o } => {
            let l = open(&ledger, true, &o)?;
            let sites = l.sites()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sites)?);
                return Ok(OK);
            }
            let rows: Vec<Vec<String>> = sites
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.country.to_string(),
                        s.region.to_string(),
                        s.location.to_string(),
                        format!("{} m²", s.area_m2),
                        s.name.to_string(),
                    ]
                })
                .collect();
            print!("{}", render::table(&["site", "country", "region", "location", "area", "name"], &rows));
            Ok(OK)
        }
    }
}

fn make_offer(
    ledger: &Ledger,
    key: &SecretKey,
    holder: ActorId,
    parcel: &str,
    to: &str,
    price: &str,
    time: Option<&str>,
) -> Result<Offer> {
    let id = parcel_arg(ledger, parcel)?;
    let p = existing(ledger, &id)?;
    let origin = ledger.origin()?.ok_or_else(|| anyhow!("the ledger has no genesis"))?;
    let body = OfferBody {
        v: 1,
        ledger: origin,
        kind: OfferKind::HandoverOffer,
        time: now_or(time)?,
        signer: holder,
        parcel: id,
        prev: p.head,
        to: enrolled(ledger, "--to", &ActorId::new(to).map_err(|e| anyhow!("--to: {e}"))?)?,
        weight_pt: p.weight_pt,
        price_usd_cents: usd(price)?,
    };
    Ok(Offer::sign(body, key)?)
}

fn handover_cmd(h: HandoverCmd) -> Result<u8> {
    match h {
        HandoverCmd::Offer { ledger, card, key, as_actor, parcel, to, price, time, out, open: o } => {
            if card.given() {
                return card_cmd::offer_from_card(
                    &card,
                    &key,
                    as_actor.as_deref(),
                    parcel.as_deref(),
                    &to,
                    &price,
                    time.as_deref(),
                    &out,
                );
            }
            let (Some(ledger), Some(parcel)) = (ledger, parcel) else {
                bail!("give --ledger FILE and --parcel ID, or --card CARD.json");
            };
            let key = SecretKey::read_pem_file(&key)?;
            let l = open(&ledger, true, &o)?;
            let holder = resolve_signer(&l, &key, as_actor.as_deref())?;
            let offer = make_offer(&l, &key, holder, &parcel, &to, &price, time.as_deref())?;
            let bytes = kpledger_model::canonical::to_canonical(&offer)?;
            write_new(&out, &[bytes.as_slice(), b"\n"].concat())?;
            println!(
                "offer of parcel {} ({}) to {} for {} signed → {}",
                offer.body.parcel,
                offer.body.weight_pt,
                offer.body.to,
                offer.body.price_usd_cents,
                out.display()
            );
            println!(
                "the buyer re-weighs and accepts with: kpledger handover accept {} --ledger … --key BUYER.pem --weight CT",
                out.display()
            );
            Ok(OK)
        }
        HandoverCmd::Accept { offer, sign, card, weight } => {
            let bytes = read_input(&offer)?;
            let offer: Offer = from_slice_strict(&bytes)
                .with_context(|| format!("{} is not a valid handover offer", offer.display()))?;
            if !offer.signature_valid() {
                bail!(
                    "the holder's signature on the offer does not verify: the offer was altered or damaged"
                );
            }
            if card.given() {
                let weight = weight.as_deref().map(carats).transpose()?;
                return card_cmd::accept_from_card(offer, &sign, &card, weight);
            }
            sign_and_record(&sign, |_, _| {
                let weight_pt = weight.as_deref().map(carats).transpose()?.unwrap_or(offer.body.weight_pt);
                Ok(Payload::Handover { offer, weight_pt })
            })
        }
        HandoverCmd::Record { ledger, parcel, from_key, to_key, price, weight, time, json, open: o } => {
            let from = SecretKey::read_pem_file(&from_key)?;
            let to = SecretKey::read_pem_file(&to_key)?;
            let mut l = open(&ledger, false, &o)?;
            let holder = resolve_signer(&l, &from, None)?;
            let buyer = resolve_signer(&l, &to, None)?;
            let offer = make_offer(&l, &from, holder, &parcel, buyer.as_str(), &price, time.as_deref())?;
            let weight_pt = weight.as_deref().map(carats).transpose()?.unwrap_or(offer.body.weight_pt);
            let origin = l.origin()?.ok_or_else(|| anyhow!("the ledger has no genesis"))?;
            let body = EventBody {
                v: 1,
                ledger: origin,
                time: offer.body.time.clone(),
                signer: buyer,
                payload: Payload::Handover { offer, weight_pt },
            };
            let parsed = Event::sign(body, &to)?.into_parsed()?;
            record_or_write(&mut l, parsed, None, if json { Print::Json } else { Print::Text })
        }
    }
}

/// Lines of a JSONL file read (on every core) before the next are.
const INGEST_CHUNK: usize = 4096;

fn ingest(path: &Path, files: &[PathBuf], dry_run: bool, json: bool, o: &OpenArgs) -> Result<u8> {
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
        loop {
            let chunk: Vec<&[u8]> = docs.by_ref().take(INGEST_CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            let parsed_docs: Vec<_> = {
                use rayon::prelude::*;
                chunk.par_iter().map(|d| Event::parse(d)).collect()
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
        Err((i, StoreError::Rejected { findings, .. })) => {
            if !json {
                eprintln!("kpledger: event {} of {} was refused; nothing was recorded", i + 1, events.len());
            }
            refused(&findings, json)
        }
        Err((_, e)) => Err(e.into()),
    }
}

fn parcel_cmd(p: ParcelCmd) -> Result<u8> {
    match p {
        ParcelCmd::History { parcel, ledger, json, open: o } => {
            let l = open(&ledger, true, &o)?;
            let id = parcel_arg(&l, &parcel)?;
            existing(&l, &id)?;
            let events = l.provenance(&id)?;
            // GV-4: signatures made under a key an authority imposed are marked.
            let imposed = l.imposed_signatures(&events)?;
            let marks = |seq: &u64| -> Vec<String> {
                imposed
                    .get(seq)
                    .map(|v| {
                        v.iter().map(|(a, by)| format!("signed by {a} under a key imposed by {by}")).collect()
                    })
                    .unwrap_or_default()
            };
            if json {
                let docs: Vec<serde_json::Value> = events
                    .iter()
                    .map(|(seq, e)| {
                        let mut doc = json!({"seq": seq, "hash": e.hash, "event": e.event});
                        let m = marks(seq);
                        if !m.is_empty() {
                            doc["imposed_key"] = json!(m);
                        }
                        doc
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&docs)?);
                return Ok(OK);
            }
            println!("provenance of parcel {id}: {} events back to the mine sites", events.len());
            let rows: Vec<Vec<String>> = events
                .iter()
                .map(|(seq, e)| {
                    let b = &e.event.body;
                    let parcels: Vec<String> =
                        b.payload.parcels().iter().map(|(p, _)| short_in(&l, p)).collect();
                    vec![
                        format!("#{seq}"),
                        b.time.to_string(),
                        b.payload.kind().to_owned(),
                        parcels.join(","),
                        b.signer.to_string(),
                        std::iter::once(render::describe(&b.payload, &|p| short_in(&l, p)))
                            .chain(marks(seq).into_iter().map(|m| format!("[GV-4: {m}]")))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ]
                })
                .collect();
            print!(
                "{}",
                render::table(&["event", "time", "kind", "parcels", "signed by", "what happened"], &rows)
            );
            Ok(OK)
        }
        ParcelCmd::CheckCard { card, policy, log_key, json } => {
            card_cmd::show_card(&card, policy.as_deref(), log_key.as_deref(), json)
        }
        ParcelCmd::Card { parcel, ledger, out, json, open: o } => {
            card_cmd::write_card(&parcel, &ledger, &out, json, &o)
        }
        ParcelCmd::Show { parcel, ledger, json, open: o } => {
            let l = open(&ledger, true, &o)?;
            let id = parcel_arg(&l, &parcel)?;
            let p = existing(&l, &id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
                return Ok(OK);
            }
            let join = |v: Vec<String>| v.join(", ");
            println!("parcel   {}", p.id);
            println!("status   {}", p.status.as_str());
            println!("holder   {}", p.holder);
            println!("weight   {}", p.weight_pt);
            println!("stones   {}", p.stones.map(|s| s.to_string()).unwrap_or_else(|| "-".into()));
            println!("HS code  {}", p.hs_code);
            println!(
                "origin   {} (sites: {})",
                join(origin_members(&p)),
                join(p.origin_sites.iter().map(ToString::to_string).collect())
            );
            if let Some(v) = p.value_usd_cents {
                println!("value    {v}");
            }
            if !p.seal_ids.is_empty() {
                println!("seals    {}", join(p.seal_ids.iter().map(ToString::to_string).collect()));
            }
            println!("latest   {} at {}", p.head, p.updated);
            Ok(OK)
        }
        ParcelCmd::List { ledger, holder, all, json, open: o } => {
            let l = open(&ledger, true, &o)?;
            if let Some(h) = &holder {
                // A typo would list nothing, as if the actor held nothing: refused instead.
                enrolled(&l, "--holder", &ActorId::new(h.as_str()).map_err(|e| anyhow!("--holder: {e}"))?)?;
            }
            let parcels: Vec<_> = l
                .parcels()?
                .into_iter()
                .filter(|p| all || p.status != ParcelStatus::Consumed)
                .filter(|p| holder.as_deref().is_none_or(|h| p.holder.as_str() == h))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&parcels)?);
                return Ok(OK);
            }
            let rows: Vec<Vec<String>> = parcels
                .iter()
                .map(|p| {
                    vec![
                        short_in(&l, &p.id),
                        p.status.as_str().to_owned(),
                        p.holder.to_string(),
                        render::ct(p.weight_pt),
                        p.hs_code.to_string(),
                        origin_members(p).join("+"),
                        p.updated.to_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                render::table(&["parcel", "status", "holder", "weight", "HS", "origin", "updated"], &rows)
            );
            Ok(OK)
        }
    }
}

/// A parcel's origin set as shown to people: its countries, and `unknown` for the share of
/// unknown origin (SPEC §10.2).
fn origin_members(p: &kpledger_verify::ParcelState) -> Vec<String> {
    let mut v: Vec<String> = p.origin_countries.iter().map(ToString::to_string).collect();
    if p.origin_unknown || p.origin_countries.is_empty() {
        v.push("unknown".into());
    }
    v
}
