//! The log's side of witnessing for a kpledger ledger: one round that sends the ledger's newest
//! checkpoint to every witness of a policy and stores the cosignatures that verify. Shared by
//! `kpledger log witness` and `kpledger serve --witness-policy`.

use kpledger_core::{Ledger, StoreError};
use kpledger_verify::TrustPolicy;

use crate::{client, cosigned_by};

/// What one witness did in a round.
#[derive(Debug, Clone)]
pub struct WitnessOutcome {
    /// Its name in the policy.
    pub name: String,
    /// Its submission prefix.
    pub url: String,
    /// What was stored (`Ok`), or why nothing was.
    pub outcome: Result<String, String>,
}

/// A round: the checkpoint sent, each witness's outcome, and whether the policy's quorum has
/// now cosigned it (then it counts as published for bundles).
#[derive(Debug, Clone)]
pub struct Round {
    /// The size of the checkpoint sent.
    pub size: u64,
    /// One entry per witness of the policy with a URL and a key kpledger verifies.
    pub witnesses: Vec<WitnessOutcome>,
    /// The stored checkpoint carries the quorum's cosignatures.
    pub quorum_met: bool,
}

/// Sends the newest stored checkpoint of `ledger` to every witness of `policy` that has a URL,
/// with a consistency proof from the size each last cosigned (as the stored notes show), and
/// stores each cosignature that verifies with the witness's policy key. `None` when the ledger
/// has no checkpoint yet.
pub fn witness_newest(
    ledger: &mut Ledger,
    policy: &TrustPolicy,
    agent: &ureq::Agent,
) -> Result<Option<Round>, StoreError> {
    let stored = ledger.stored_checkpoints()?;
    let Some(latest) = stored.last().cloned() else { return Ok(None) };
    let size = latest.size;
    let known: Vec<(u64, String)> = stored.iter().map(|c| (c.size, c.note.clone())).collect();
    let answers =
        client::request_cosignatures(agent, policy, latest.note.as_bytes(), size, &known, &mut |from| {
            ledger.consistency_proof(from, size).map_err(|e| e.to_string())
        });
    let mut witnesses = Vec::new();
    for a in answers {
        let Some(key) = policy.witnesses()[a.index].key.as_ref() else { continue };
        let outcome = match a.result {
            Ok(c) => {
                let combined = format!("{}{}", latest.note, c.lines);
                match ledger.add_cosignatures(combined.as_bytes(), std::slice::from_ref(key)) {
                    Ok(added) => Ok(format!(
                        "cosigned size {size} (proved from size {}; {added} new cosignature(s) stored)",
                        c.old
                    )),
                    Err(e) => Err(format!("answered, but its cosignature was not stored: {e}")),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        witnesses.push(WitnessOutcome { name: a.name, url: a.url, outcome });
    }
    let note =
        ledger.stored_checkpoints()?.into_iter().find(|c| c.size == size).map(|c| c.note).unwrap_or_default();
    let quorum_met = policy.quorum_met(&cosigned_by(policy, note.as_bytes()));
    Ok(Some(Round { size, witnesses, quorum_met }))
}

/// True when every witness of `policy` that has a URL (and a key kpledger verifies) has
/// cosigned the ledger's newest stored checkpoint, or there is none: a round would add
/// nothing.
pub fn newest_fully_cosigned(ledger: &Ledger, policy: &TrustPolicy) -> Result<bool, StoreError> {
    let Some(latest) = ledger.latest_checkpoint()? else { return Ok(true) };
    let have = cosigned_by(policy, latest.note.as_bytes());
    Ok(policy
        .witnesses()
        .iter()
        .enumerate()
        .filter(|(_, w)| w.url.is_some() && w.key.is_some())
        .all(|(i, _)| have.contains(&i)))
}
