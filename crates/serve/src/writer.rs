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
/// While submissions are still being read and checked by the handlers ([`Preparing`]), it
/// waits for them, up to `cfg.group_wait` after the group's first, so that they share the
/// commit's wait for the disk; it never waits when none is on its way.
/// After each commit, wakes the checkpointer (`copy`), which copies the write-ahead log into
/// the database file on a connection of its own.
/// Returns when every sender is gone.
pub(crate) fn run(
    ledger: &mut Ledger,
    mut rx: tokio::sync::mpsc::Receiver<Work>,
    state: &Arc<AppState>,
    copy: &std::sync::mpsc::SyncSender<()>,
) {
    // A clock for the bounded waits (the handlers' runtime is not this thread's).
    let clock = tokio::runtime::Builder::new_current_thread().enable_time().build().ok();
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
                let _ = copy.try_send(());
                continue;
            }
        };
        let cfg = &state.cfg;
        let jobs;
        (jobs, pending) = gather(&mut rx, first, cfg.group, cfg.group_wait, &state.preparing, clock.as_ref());
        commit(ledger, jobs, state);
        // Already awake (full): it copies this commit too.
        let _ = copy.try_send(());
    }
}

/// A group: `first`, then every submission waiting, up to `group` in all; while the queue is
/// empty and some submission is still being checked (`preparing`), waits for it, up to `wait`
/// after the start. A checkpoint asked for meanwhile ends the group and is given back (it is
/// published after the group, so that it covers it).
fn gather(
    rx: &mut tokio::sync::mpsc::Receiver<Work>,
    first: Job,
    group: usize,
    wait: std::time::Duration,
    preparing: &Preparing,
    clock: Option<&tokio::runtime::Runtime>,
) -> (Vec<Job>, Option<Work>) {
    use tokio::sync::mpsc::error::TryRecvError;
    let until = std::time::Instant::now() + wait;
    let mut jobs = vec![first];
    while jobs.len() < group.max(1) {
        let next = match rx.try_recv() {
            Ok(w) => w,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                let left = until.saturating_duration_since(std::time::Instant::now());
                let Some(rt) = clock.filter(|_| !left.is_zero() && preparing.any()) else { break };
                // A slice at a time, to see whether any is still on its way.
                let slice = left.min(std::time::Duration::from_micros(200));
                match rt.block_on(async { tokio::time::timeout(slice, rx.recv()).await }) {
                    Ok(Some(w)) => w,
                    Ok(None) => break,
                    Err(_) => continue,
                }
            }
        };
        match next {
            Work::Submit(j) => jobs.push(j),
            w @ Work::Publish => return (jobs, Some(w)),
        }
    }
    (jobs, None)
}

/// How many submissions the handlers are reading and checking, on their way to the writer.
#[derive(Debug, Default)]
pub(crate) struct Preparing(std::sync::atomic::AtomicUsize);

impl Preparing {
    /// Counts one submission until the guard is dropped (queued, or failed).
    pub(crate) fn start(&self) -> PreparingGuard<'_> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        PreparingGuard(self)
    }

    /// Whether any submission is on its way.
    pub(crate) fn any(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst) > 0
    }
}

/// One submission being read and checked ([`Preparing::start`]).
pub(crate) struct PreparingGuard<'a>(&'a Preparing);

impl Drop for PreparingGuard<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Job, Preparing, Work, gather};

    fn job() -> Work {
        let (reply, _) = tokio::sync::oneshot::channel();
        Work::Submit(Job { events: Vec::new(), sigs: Vec::new(), reply })
    }

    fn first(rx: &mut tokio::sync::mpsc::Receiver<Work>) -> Job {
        match rx.try_recv() {
            Ok(Work::Submit(j)) => j,
            _ => panic!("a submission first"),
        }
    }

    fn clock() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
    }

    #[test]
    fn the_writer_waits_for_a_submission_still_being_checked_and_takes_it_into_the_group() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        tx.try_send(job()).ok();
        let preparing = Preparing::default();
        let rt = clock();
        std::thread::scope(|s| {
            let on_its_way = preparing.start();
            // Queued, then no longer counted: the writer cannot stop waiting before it arrives.
            s.spawn(|| {
                let guard = on_its_way;
                tx.try_send(job()).ok();
                drop(guard);
            });
            let f = first(&mut rx);
            let (jobs, pending) = gather(&mut rx, f, 16, Duration::from_secs(600), &preparing, Some(&rt));
            assert_eq!(jobs.len(), 2);
            assert!(pending.is_none());
        });
    }

    #[test]
    fn the_writer_does_not_wait_when_none_is_on_its_way_or_with_a_zero_group_wait() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let rt = clock();
        let preparing = Preparing::default();
        // Nothing being checked: it would otherwise wait ten minutes.
        tx.try_send(job()).ok();
        let f = first(&mut rx);
        let (jobs, _) = gather(&mut rx, f, 16, Duration::from_secs(600), &preparing, Some(&rt));
        assert_eq!(jobs.len(), 1);
        // One being checked, but --group-wait 0.
        let _on_its_way = preparing.start();
        tx.try_send(job()).ok();
        let f = first(&mut rx);
        let (jobs, _) = gather(&mut rx, f, 16, Duration::ZERO, &preparing, Some(&rt));
        assert_eq!(jobs.len(), 1);
    }

    #[test]
    fn a_group_stops_at_its_size_and_at_a_checkpoint_asked_for() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let preparing = Preparing::default();
        for _ in 0..4 {
            tx.try_send(job()).ok();
        }
        let f = first(&mut rx);
        let (jobs, _) = gather(&mut rx, f, 2, Duration::ZERO, &preparing, None);
        assert_eq!(jobs.len(), 2);
        tx.try_send(Work::Publish).ok();
        tx.try_send(job()).ok();
        let f = first(&mut rx);
        let (jobs, pending) = gather(&mut rx, f, 16, Duration::ZERO, &preparing, None);
        assert_eq!(jobs.len(), 2);
        assert!(matches!(pending, Some(Work::Publish)));
    }
}
