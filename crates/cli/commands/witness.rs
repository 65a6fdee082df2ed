//! Witnessing: `witness cosign/serve/key` and the lines of a trust policy (`trust`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use kpledger_model::note::{Cosigner, SigType, VerifierKey};
use kpledger_model::{PublicKey, SecretKey};
use serde_json::json;

use super::{common::*, governance::*, verify::*};
use crate::args::{WitnessArgs, WitnessCmd};
use crate::render;
use crate::{FOUND, OK};

pub(crate) fn trust_cmd(t: crate::args::TrustCmd) -> Result<u8> {
    use crate::args::TrustCmd;
    use kpledger_verify::{ISSUER_KEYWORD, issuer_vkey, log_vkey, witness_vkey};
    match t {
        TrustCmd::Log { origin, key } => {
            let (_, public) = public_of_any(&key)?;
            println!("log {}", log_vkey(origin.as_str(), public)?.to_vkey());
        }
        TrustCmd::Witness { name, key } => {
            let (_, public) = public_of_any(&key)?;
            println!("witness {name} {}", witness_vkey(&name, public)?.to_vkey());
        }
        TrustCmd::Issuer { country, actor, key } => {
            let (_, public) = public_of_any(&key)?;
            println!("{ISSUER_KEYWORD} {country} {}", issuer_vkey(actor.as_str(), public)?.to_vkey());
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

/// `kpledger witness serve`.
pub(crate) fn witness_serve(
    name: &str,
    key: &Path,
    state: &Path,
    policy: &Path,
    listen: &str,
    prefix: &str,
) -> Result<u8> {
    use kpledger_witness::{LogKeys, StateFile, Witness};
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
        kpledger_witness::serve(listener, witness, prefix).await.context("the witness server stopped")
    })?;
    Ok(OK)
}

pub(crate) fn witness_cmd(w: WitnessCmd) -> Result<u8> {
    use kpledger_verify::witness::{LogState, check};
    match w {
        WitnessCmd::Serve { witness: WitnessArgs { name, key, state }, policy, listen, prefix } => {
            witness_serve(&name, &key, &state, &policy, &listen, &prefix)
        }
        WitnessCmd::Key { name, key } => {
            let (_, public) = public_of_any(&key)?;
            println!("{}", VerifierKey::new(&name, SigType::CosignatureV1, public)?.to_vkey());
            Ok(OK)
        }
        WitnessCmd::Cosign {
            checkpoint,
            log_origin,
            log_key,
            witness: WitnessArgs { name, key, state },
            proof,
            out,
            time,
            json,
        } => {
            // Read before anything is judged or written: a malformed time changes nothing.
            let time = now_or(time.as_ref());
            let note_bytes = read_input(&checkpoint)?;
            let log_key =
                VerifierKey::new(&log_origin, SigType::Ed25519, PublicKey::read_pem_file(&log_key)?)?;
            let cosigner = Cosigner::new(&name, SecretKey::read_pem_file(&key)?)?;
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
                    note.cosign(&cosigner, ts)?;
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
