//! Looking at parcels: history, state, cards, lists.

use super::common::*;
use super::sign::*;
use crate::args::*;
use anyhow::{Result, anyhow};
use clap::Args;
use kpledger_verify::ParcelStatus;
use kpledger_verify::stored::AsStored;
use kpledger_verify::{ParcelState, Rule};
use serde_json::json;

use super::remote::{Server, answered, whole_parcel};
use crate::OK;
use crate::args::ParcelCmd;
use crate::args::value::IdArg;
use crate::commands::card;
use crate::render;
use kpledger_model::{Event, ParcelId, ParsedEvent};

pub(crate) fn parcel_cmd(p: ParcelCmd) -> Result<u8> {
    match p {
        ParcelCmd::History(ParcelArgs { parcel, source, json }) => {
            if let Some(s) = source.server()? {
                return answered(remote_history(&s, &parcel, json));
            }
            let l = source.open()?;
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
            print_history(&id, &events, &marks, &|p| short_in(&l, p), json)
        }
        ParcelCmd::CheckCard { card, policy, log_key, json } => {
            card::show_card(&card, policy.as_deref(), log_key.as_deref(), json)
        }
        ParcelCmd::Card { parcel, ledger, out, json } => card::write_card(&parcel, &ledger, &out, json),
        ParcelCmd::Show(ParcelArgs { parcel, source, json }) => {
            let p = match source.server()? {
                Some(s) => match whole_parcel(&parcel).and_then(|id| s.parcel(&id)) {
                    Ok(p) => p,
                    Err(e) => return answered(Err(e)),
                },
                None => {
                    let l = source.open()?;
                    let id = parcel_arg(&l, &parcel)?;
                    existing(&l, &id)?
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&AsStored(&p))?);
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
        ParcelCmd::List { ledger, holder, all, json } => {
            let l = ledger.open(true)?;
            if let Some(h) = &holder {
                // A typo would list nothing, as if the actor held nothing: refused instead.
                enrolled(&l, "--holder", h)?;
            }
            let parcels: Vec<_> = l
                .parcels()?
                .into_iter()
                .filter(|p| all || p.status != ParcelStatus::Consumed)
                .filter(|p| holder.as_ref().is_none_or(|h| &p.holder == h))
                .collect();
            let parcels: Vec<_> = parcels.iter().map(AsStored).collect();
            let headers = ["parcel", "status", "holder", "weight", "HS", "origin", "updated"];
            print_list(&parcels, json, &headers, |AsStored(p)| {
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

/// List the rule codes the verifier applies
#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn rules(a: RulesArgs) -> Result<u8> {
    let RulesArgs { json } = a;
    if json {
        let rules: Vec<_> =
            Rule::ALL.iter().map(|r| json!({"code": r.code(), "summary": r.summary()})).collect();
        println!("{}", serde_json::to_string_pretty(&rules)?);
    } else {
        let row = |r: &Rule| vec![r.code().to_owned(), r.summary().to_owned()];
        print!("{}", render::table_of(&["code", "what it guarantees"], Rule::ALL.iter(), row));
    }
    Ok(OK)
}

/// A parcel's provenance, as a table or (`json`) the signed events.
fn print_history(
    id: &ParcelId,
    events: &[(u64, ParsedEvent)],
    marks: &dyn Fn(&u64) -> Vec<String>,
    short: &dyn Fn(&ParcelId) -> String,
    json: bool,
) -> Result<u8> {
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
    let headers = ["event", "time", "kind", "parcels", "signed by", "what happened"];
    let table = render::table_of(&headers, events, |(seq, e)| {
        let b = &e.event.body;
        let parcels: Vec<String> = b.payload.parcels().iter().map(|(p, _)| short(p)).collect();
        vec![
            format!("#{seq}"),
            b.time.to_string(),
            b.payload.kind().to_owned(),
            parcels.join(","),
            b.signer.to_string(),
            std::iter::once(render::describe(&b.payload, short))
                .chain(marks(seq).into_iter().map(|m| format!("[GV-4: {m}]")))
                .collect::<Vec<_>>()
                .join(" "),
        ]
    });
    print!("{table}");
    Ok(OK)
}

/// `parcel history --server`: the provenance the server gives (GET /v1/parcels/ID/history),
/// each event parsed and its signature checked here. The GV-4 marks of imposed keys need the
/// ledger's key history: `--ledger` shows them.
fn remote_history(s: &Server, parcel: &IdArg, json: bool) -> Result<u8> {
    let id = whole_parcel(parcel)?;
    let v = s.get_json(&format!("/v1/parcels/{id}/history"))?;
    let mut events = Vec::new();
    for e in v["events"].as_array().into_iter().flatten() {
        let seq =
            e["seq"].as_u64().ok_or_else(|| anyhow!("the server's history of {id} lacks an event's seq"))?;
        let parsed = Event::parse(&serde_json::to_vec(&e["event"])?)
            .map_err(|err| anyhow!("event #{seq} the server gives for parcel {id} does not read: {err}"))?;
        events.push((seq, parsed));
    }
    print_history(&id, &events, &|_| Vec::new(), &|p| kpledger_model::ids::short_parcel(p), json)
}
