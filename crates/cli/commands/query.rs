//! Looking at parcels: history, state, cards, lists.

use super::common::*;
use crate::args::*;
use anyhow::{Result, anyhow};
use kpledger_model::ActorId;
use kpledger_verify::ParcelStatus;
use kpledger_verify::*;
use serde_json::json;

use crate::OK;
use crate::args::ParcelCmd;
use crate::commands::card;
use crate::render;

pub(crate) fn parcel_cmd(p: ParcelCmd) -> Result<u8> {
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
            card::show_card(&card, policy.as_deref(), log_key.as_deref(), json)
        }
        ParcelCmd::Card { parcel, ledger, out, json, open: o } => {
            card::write_card(&parcel, &ledger, &out, json, &o)
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
pub(crate) fn origin_members(p: &ParcelState) -> Vec<String> {
    let mut v: Vec<String> = p.origin_countries.iter().map(ToString::to_string).collect();
    if p.origin_unknown || p.origin_countries.is_empty() {
        v.push("unknown".into());
    }
    v
}

pub(crate) fn rules(a: RulesArgs) -> Result<u8> {
    let RulesArgs { json } = a;
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
