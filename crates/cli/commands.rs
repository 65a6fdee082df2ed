//! What each command does: dispatch to the command modules by area, which read arguments and files, call the libraries, print.

pub(crate) mod card;
pub(crate) mod certificate;
pub(crate) mod common;
pub(crate) mod demo;
pub(crate) mod epcis;
pub(crate) mod governance;
pub(crate) mod ingest;
pub(crate) mod ledger;
pub(crate) mod log;
pub(crate) mod publish;
pub(crate) mod query;
pub(crate) mod report;
pub(crate) mod serve;
pub(crate) mod trade;
pub(crate) mod verify;
pub(crate) mod witness;

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use kpledger_model::{
    HsCode, NewParcel, ParcelId, ParcelRef, Payload, Points, Policy, SecretKey, SiteId, Text,
};
use kpledger_verify::{Rule, SigMode};
use serde_json::json;

pub(crate) use self::common::*;
pub(crate) use self::verify::{bundle_trust, read_policy};
use self::{
    certificate::*, demo::*, epcis::*, governance::*, ingest::*, log::*, query::*, trade::*, verify::*,
    witness::*,
};
use crate::OK;
use crate::args::{Command, OpenArgs, PolicyCmd};
use crate::render;

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
        Command::Stats { ledger, period, from, to, json, csv, open } => {
            report::stats_cmd(&ledger, period.as_deref(), from.as_deref(), to.as_deref(), json, csv, &open)
        }
        Command::Report { html, ledger, bundle, policy, removed, open } => {
            removed.refuse()?;
            report::report_cmd(
                &html,
                ledger.as_deref(),
                bundle.as_deref(),
                policy.as_deref(),
                &removed.trust,
                &open,
            )
        }
        Command::Graph { target, ledger, bundle, format, out, open } => {
            report::graph_cmd(&target, ledger.as_deref(), bundle.as_deref(), format, out.as_deref(), &open)
        }
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
            match kpledger_core::demo::POLICIES.iter().find(|(c, _)| *c == cc) {
                Some((_, text)) => {
                    print!("{text}");
                    Ok(OK)
                }
                None => {
                    let known: Vec<&str> = kpledger_core::demo::POLICIES.iter().map(|(c, _)| *c).collect();
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
            let make = |id: ParcelId, p: card::Known| {
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
                return card::sign_from_card(&sign, &card, Some(&parcel), true, |c, p| {
                    make(c.card.parcel, p)
                });
            }
            sign_and_record(&sign, |ledger, _| {
                let id = parcel_arg(ledger, &parcel)?;
                make(id, card::Known::of_state(&existing(ledger, &id)?))
            })
        }
        Command::Merge { sign, card, parcels, weight } if card.given() => {
            card::merge_from_cards(&sign, &card, &parcels, weight.as_deref())
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
            let make = |id: ParcelId, p: card::Known, policy: Option<&Policy>| -> Result<Payload> {
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
                return card::sign_from_card(&sign, &card, Some(&parcel), false, |c, p| {
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
                make(id, card::Known::of_state(&p), Some(&policy))
            })
        }
        Command::Seal { sign, card, parcel, seals } => {
            let make = |id: ParcelId, p: card::Known| {
                let seal_ids = seals
                    .iter()
                    .map(|s| Text::reference(s.clone()).map_err(|e| anyhow!(e)))
                    .collect::<Result<_>>()?;
                Ok(Payload::Seal { parcel: id, prev: p.head, weight_pt: p.weight_pt, seal_ids })
            };
            if card.given() {
                // The authority seals: its actor id is given with --as.
                return card::sign_from_card(&sign, &card, Some(&parcel), false, |c, p| {
                    make(c.card.parcel, p)
                });
            }
            sign_and_record(&sign, |ledger, _| {
                let id = parcel_arg(ledger, &parcel)?;
                make(id, card::Known::of_state(&existing(ledger, &id)?))
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
            serve::serve(listen, cfg)
        }
        Command::Submit { server, files, json } => serve::submit(&server, &files, json),
        Command::Get { server, key, as_actor, path, out } => {
            serve::get(&server, &key, &as_actor, &path, out.as_deref())
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
        Command::Ledger(c) => ledger::ledger_cmd(c),
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
