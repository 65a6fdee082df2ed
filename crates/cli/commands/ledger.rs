//! The ledger's store as a whole: `ledger copy`.

use anyhow::Result;
use kpledger_core::copy::{CopyError, copy, open_destination, open_source};
use serde_json::json;

use crate::args::LedgerCmd;
use crate::render;
use crate::{FOUND, OK};

pub(crate) fn ledger_cmd(c: LedgerCmd) -> Result<u8> {
    match c {
        LedgerCmd::Copy { from, to, json } => copy_cmd(&from, &to, json),
    }
}

fn copy_cmd(from: &str, to: &str, json: bool) -> Result<u8> {
    let source = open_source(from)?;
    let mut dest = open_destination(to)?;
    // As the stores name themselves: a database's URL without its password.
    let (from, to) = (source.path().display().to_string(), dest.path().display().to_string());
    let bar = render::progress(0, "copying");
    let outcome = copy(&source, &mut dest, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let c = match outcome {
        Ok(c) => c,
        Err(e @ CopyError::Refused { .. }) => {
            eprintln!("kpledger: {}", render::terminal_safe(&e.to_string()));
            eprintln!("{to} holds the events before it; it is not a complete ledger.");
            return Ok(FOUND);
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        let out = json!({
            "from": from,
            "to": to,
            "events": c.events,
            "checkpoints": c.checkpoints,
            "report": c.report,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "Copied {from} to {to}: {} events judged again and recorded, {} checkpoint(s) with their cosignatures \
             carried over. {from} was only read.",
            c.events, c.checkpoints
        );
        print!("{}", render::report(&c.report));
    }
    Ok(if c.report.ok { OK } else { FOUND })
}
