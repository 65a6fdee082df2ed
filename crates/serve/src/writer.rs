//! The writer: the one thread that owns the ledger's write connection, and the registry of
//! enrolled keys it keeps current for the handlers.

use std::collections::HashMap;
use std::sync::Arc;

use kpledger_core::{GroupOutcome, Ledger, StoreError};
use kpledger_model::{ActorId, Country, ParsedEvent, Payload, PublicKey, Role};
use kpledger_verify::{ActorState, Finding, Rule, Signatures};

use crate::AppState;

/// A submission waiting for the writer, and where to send its outcome.
pub(crate) struct Job {
    pub(crate) events: Vec<ParsedEvent>,
    pub(crate) sigs: Vec<Signatures>,
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<GroupOutcome, String>>,
}

/// What the writer is asked to do.
pub(crate) enum Work {
    /// Record a submission.
    Submit(Job),
    /// Publish a checkpoint if the log has grown (with the configured root key).
    Publish,
}

/// The enrolled actors, as of the last commit: whose keys sign what, who is an authority of
/// this ledger. Read by every handler; replaced by the writer after a commit that enrols,
/// rotates or revokes.
#[derive(Debug, Default)]
pub(crate) struct Actors {
    pub(crate) by_id: HashMap<ActorId, ActorState>,
    /// The country of the ledger's root authority (the genesis signer).
    pub(crate) country: Option<Country>,
    /// The number of events in the ledger when it was read: an older read never replaces a
    /// newer registry.
    pub(crate) size: u64,
}

impl Actors {
    pub(crate) fn load(ledger: &Ledger) -> Result<Actors, StoreError> {
        let all = ledger.actors()?;
        let country = all.iter().find(|a| a.enrolled_by.is_none()).map(|a| a.record.country.clone());
        let size = ledger.len()?;
        Ok(Actors { by_id: all.into_iter().map(|a| (a.record.id.clone(), a)).collect(), country, size })
    }

    /// The root authority (the genesis signer).
    pub(crate) fn root(&self) -> Option<&ActorState> {
        self.by_id.values().find(|a| a.enrolled_by.is_none())
    }

    /// The current key of an enrolled, unrevoked actor.
    pub(crate) fn key(&self, id: &str) -> Option<&PublicKey> {
        let id = ActorId::new(id).ok()?;
        self.by_id.get(&id).filter(|a| a.revoked.is_none()).map(|a| &a.record.key)
    }

    /// An authority of this ledger's country: reads everything.
    pub(crate) fn is_ledger_authority(&self, id: &str) -> bool {
        let Ok(id) = ActorId::new(id) else { return false };
        self.by_id.get(&id).is_some_and(|a| {
            a.revoked.is_none()
                && a.record.role == Role::Authority
                && Some(&a.record.country) == self.country.as_ref()
        })
    }

    /// Before any database work: every signature of the submission verifies (`sigs`), with
    /// the key its signer holds in this ledger (or is given earlier in the same submission,
    /// by an enrolment or a key rotation; genesis only into an empty ledger). The rules judge
    /// everything else. The first event at fault and a CH-2 finding, if any.
    pub(crate) fn precheck(&self, events: &[ParsedEvent], sigs: &[Signatures]) -> Option<(usize, Finding)> {
        let mut given: HashMap<ActorId, PublicKey> = HashMap::new();
        for (i, (ev, sig)) in events.iter().zip(sigs).enumerate() {
            let refuse = |msg: String| {
                let mut f = Finding::error(Rule::Ch2, msg)
                    .hint("sign with the key enrolled for this actor in this ledger (`kpledger actor list`)");
                f.event = Some(ev.hash);
                Some((i, f))
            };
            if !sig.all_valid() {
                return refuse("a signature of this event does not verify (nothing was recorded)".into());
            }
            let body = &ev.event.body;
            let mut signed = vec![(&body.signer, &ev.event.sig.key)];
            if let Payload::Handover { offer, .. } = &body.payload {
                signed.push((&offer.body.signer, &offer.sig.key));
            }
            let genesis = matches!(body.payload, Payload::Genesis { .. });
            if genesis && self.by_id.is_empty() && i == 0 {
                // The root enrols itself; the rules check the rest.
            } else {
                for (who, key) in signed {
                    let enrolled = self.by_id.get(who).filter(|a| a.revoked.is_none()).map(|a| &a.record.key);
                    if enrolled != Some(key) && given.get(who) != Some(key) {
                        return refuse(format!(
                            "{who} is not enrolled in this ledger with the key that signed this event"
                        ));
                    }
                }
            }
            match &body.payload {
                Payload::Enrol { actor } => {
                    given.insert(actor.id.clone(), actor.key);
                }
                Payload::RotateKey { actor, key } => {
                    given.insert(actor.clone(), *key);
                }
                Payload::Genesis { authority } => {
                    given.insert(authority.id.clone(), authority.key);
                }
                _ => {}
            }
        }
        None
    }
}

/// The writer's loop: takes every submission waiting (up to `cfg.group`), records them in
/// one transaction, and answers each after the commit; publishes a checkpoint when asked.
/// Returns when every sender is gone.
pub(crate) fn run(ledger: &mut Ledger, mut rx: tokio::sync::mpsc::Receiver<Work>, state: &Arc<AppState>) {
    let mut pending = None;
    loop {
        let first = match pending.take() {
            Some(w) => w,
            None => match rx.blocking_recv() {
                Some(w) => w,
                None => return,
            },
        };
        let first = match first {
            Work::Submit(job) => job,
            Work::Publish => {
                publish(ledger, state);
                continue;
            }
        };
        let mut jobs = vec![first];
        while jobs.len() < state.cfg.group.max(1) {
            match rx.try_recv() {
                Ok(Work::Submit(j)) => jobs.push(j),
                Ok(w @ Work::Publish) => {
                    // After this group: a checkpoint then covers it.
                    pending = Some(w);
                    break;
                }
                Err(_) => break,
            }
        }
        commit(ledger, jobs, state);
    }
}

/// Publishes a checkpoint when the log has grown past the newest one. A failure is counted
/// and retried at the next tick.
fn publish(ledger: &mut Ledger, state: &Arc<AppState>) {
    let Some((key, _)) = &state.cfg.checkpoint else { return };
    let grown = match (ledger.len(), ledger.latest_checkpoint()) {
        (Ok(len), Ok(cp)) => len > cp.map_or(0, |c| c.size),
        _ => false,
    };
    if grown {
        match ledger.publish_checkpoint(key) {
            Ok(_) => state.metrics.checkpoint_published(),
            Err(_) => state.metrics.checkpoint_failed(),
        }
    }
}

/// Records a group of submissions in one transaction and answers each after the commit.
fn commit(ledger: &mut Ledger, jobs: Vec<Job>, state: &Arc<AppState>) {
    let groups: Vec<(&[ParsedEvent], Vec<Signatures>)> =
        jobs.iter().map(|j| (j.events.as_slice(), j.sigs.clone())).collect();
    let outcome = ledger.append_groups(&groups);
    drop(groups);
    state.metrics.group(jobs.len());
    match outcome {
        Ok(outs) => {
            let governance = jobs.iter().zip(&outs).any(|(j, o)| {
                o.is_ok()
                    && j.events.iter().any(|e| {
                        matches!(
                            e.event.body.payload,
                            Payload::Genesis { .. }
                                | Payload::Enrol { .. }
                                | Payload::RotateKey { .. }
                                | Payload::Revoke { .. }
                        )
                    })
            });
            // The registry is replaced before anyone hears of the commit, so an actor
            // enrolled by an acknowledged event can sign the next request.
            if governance
                && let Ok(a) = Actors::load(ledger)
                && let Ok(mut w) = state.actors.write()
            {
                *w = a;
            }
            for (job, out) in jobs.into_iter().zip(outs) {
                let _ = job.reply.send(Ok(out));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for job in jobs {
                let _ = job.reply.send(Err(msg.clone()));
            }
        }
    }
}
