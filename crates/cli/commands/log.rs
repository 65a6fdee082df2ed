//! The transparency log: checkpoints, cosignatures, proofs, tiles.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use kpledger_model::note::{SigType, VerifierKey};
use kpledger_model::{PublicKey, SecretKey};
use serde_json::json;

use super::{common::*, verify::*};
use crate::args::LogCmd;
use crate::{FOUND, OK};

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

pub(crate) fn log_cmd(l: LogCmd) -> Result<u8> {
    match l {
        LogCmd::Tiles { ledger, out, s3_endpoint, bundles } => {
            let target = crate::commands::publish::target(&out, s3_endpoint.as_deref())?;
            let l = ledger.open(true)?;
            println!("{}", crate::commands::publish::publish(&l, &target, bundles)?);
            Ok(OK)
        }
        LogCmd::Publish { ledger, key, out, json } => {
            let key = SecretKey::read_pem_file(&key)?;
            let mut l = ledger.open(false)?;
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
        LogCmd::Head { ledger, json } => {
            let l = ledger.open(true)?;
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
        LogCmd::Cosignatures { file, ledger, witnesses, json } => {
            let keys = witness_keys(&witnesses)?;
            let bytes = read_input(&file)?;
            let mut l = ledger.open(false)?;
            let added = l.add_cosignatures(&bytes, &keys)?;
            if json {
                println!("{}", json!({"ok": true, "added": added}));
            } else {
                println!("stored {added} new cosignature(s)");
            }
            Ok(OK)
        }
        LogCmd::Witness { ledger, policy, ca, json } => log_witness(&ledger, &policy, &ca, json),
        LogCmd::ProveInclusion { ledger, seq, event, size, json } => {
            let l = ledger.open(true)?;
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
        LogCmd::ProveConsistency { ledger, from, to, out } => {
            let l = ledger.open(true)?;
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
pub(crate) fn log_witness(
    ledger: &crate::args::LedgerArgs,
    policy_path: &Path,
    ca: &crate::args::CaArgs,
    json: bool,
) -> Result<u8> {
    let policy = read_policy(policy_path)?;
    let agent = kpledger_witness::agent(ca.roots()?.as_ref());
    let mut l = ledger.open(false)?;
    if !policy.witnesses().iter().any(|w| w.url.is_some() && w.key.is_some()) {
        bail!(
            "{}: no `witness` line has a URL (and a key kpledger verifies): write `witness NAME VKEY URL`, the URL \
             being the witness's submission prefix",
            policy_path.display()
        );
    }
    let Some(round) = kpledger_witness::witness_newest(&mut l, &policy, &agent)? else {
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
            // A witness's answer is quoted in `m`: it never drives the terminal, nor starts a
            // line of its own.
            let m = match r {
                Ok(m) | Err(m) => crate::render::terminal_safe(m).replace('\n', "\\n"),
            };
            match r {
                Ok(_) => println!("{n} ({u}): {m}"),
                Err(_) => println!("{n} ({u}): NOT cosigned: {m}"),
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
