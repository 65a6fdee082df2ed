//! GS1 EPCIS 2.0 export and cross-check.

use anyhow::Result;

use super::common::*;
use crate::args::EpcisCmd;
use crate::render;
use crate::{FOUND, OK};

pub(crate) fn epcis_cmd(e: EpcisCmd) -> Result<u8> {
    match e {
        EpcisCmd::Export { ledger, parcel, certificate, out } => {
            let l = ledger.open(true)?;
            let doc = match (parcel, certificate) {
                (Some(p), _) => kpledger_epcis::export_parcel(&l, &parcel_arg(&l, &p)?)?,
                (None, Some(c)) => kpledger_epcis::export_certificate(&l, &c)?,
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
        EpcisCmd::Check { file, ledger, json } => {
            let l = ledger.open(true)?;
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
