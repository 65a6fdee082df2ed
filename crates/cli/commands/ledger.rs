//! The ledger's store as a whole: `ledger copy`.

use anyhow::Result;
use kpledger_core::copy::{CopyError, copy, open_destination, open_source};
use serde_json::json;

use crate::args::LedgerCmd;
use crate::render;

pub(crate) fn ledger_cmd(c: LedgerCmd) -> Result<u8> {
    match c {
        LedgerCmd::Copy { from, to, json } => copy_cmd(&from, &to, json),
    }
}

fn copy_cmd(from: &str, to: &str, json: bool) -> Result<u8> {
    let source = open_source(from)?;
    let dest = open_destination(to)?;
    // As the stores name themselves: a database's URL without its password.
    let (from, to) = (source.path().display().to_string(), dest.shown());
    // Into PostgreSQL the copy is one transaction, and a new file takes its name only once
    // complete: refused, either leaves nothing behind.
    let atomic = dest.is_atomic();
    let c = match render::with_progress("copying", |progress| copy(&source, dest, progress)) {
        Ok(c) => c,
        Err(e @ CopyError::Refused { .. }) if atomic => {
            eprintln!("kpledger: {}", render::terminal_safe(&e.to_string()));
            eprintln!("Nothing was written to {to}.");
            return Ok(crate::FOUND);
        }
        Err(e @ CopyError::Refused { .. }) => return Ok(crate::commands::refused_part_way(&e, &to)),
        Err(e) => return Err(e.into()),
    };
    let doc =
        json!({"from": from, "to": to, "events": c.events, "checkpoints": c.checkpoints, "kept": c.kept});
    let said = if c.kept {
        format!(
            "Copied {from} to {to}: {} events judged again and recorded, {} checkpoint(s) with their cosignatures \
             carried over. {from} was only read.",
            c.events, c.checkpoints
        )
    } else {
        format!(
            "Nothing was written to {to}: the copy of {from} ({} events, {} checkpoint(s)) does not verify \
             (below), so it was not kept. {from} was only read.",
            c.events, c.checkpoints
        )
    };
    crate::commands::print_rebuilt(json, doc, &said, &c.report)
}
