//! Concurrent use of one ledger by processes: two writers ingesting the same events, readers
//! verifying all the while, and a writer that finds the ledger locked.
//!
//! - Every event is recorded exactly once (no event lost, none recorded twice, no fork): the
//!   writer that comes second is refused (exit 1), or told the ledger is locked (exit 2) after
//!   its `--wait`.
//! - A reader never sees half an event: `verify --ledger` always exits 0 while writers write.
//! - A held lock gives "locked" (exit 2) after about `--wait` seconds, not before and not much
//!   later; a lock released within the wait lets the writer through.
//!
//! `KPLEDGER_STRESS_ROUNDS` (default 1) repeats the writers-and-readers test on fresh ledgers
//! (`docs/stress.sh`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::backends::Store;
use crate::crash::{DemoSource, acknowledged, env_number, read_docs};
use crate::util::{TempDir, snapshot};

/// What one writer's last attempt at an event did (a locked ledger is tried again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Recorded,
    /// Recorded by the other writer: refused as a duplicate while both raced in one batch, or
    /// reported as already recorded (ingest is idempotent), at the same position.
    Refused,
}

/// A writer: ingests every event file in order, one process each, retrying an event while
/// the ledger is locked. Returns its outcome for each event (the last attempt) and how many
/// times it was told the ledger was locked.
fn writer(ledger: &Path, src: &DemoSource, name: &str) -> (Vec<Outcome>, usize) {
    let mut outcomes = Vec::new();
    let mut locked = 0;
    for (i, file) in src.files.iter().enumerate().skip(1) {
        let seq = i + 1;
        let outcome = loop {
            let out = kp!("ingest", "--ledger", ledger, "--wait", "2", file).run();
            let what = format!("writer {name}, event #{seq}");
            match out.code {
                0 if out.stdout.starts_with("already recorded") => {
                    out.check(
                        out.stdout.contains(&format!(" as event #{seq} ")),
                        &format!("{what}: already recorded as another number"),
                    );
                    break Outcome::Refused;
                }
                0 => {
                    out.check(
                        acknowledged(&out.stdout) == [seq],
                        &format!("{what}: recorded as another number"),
                    );
                    break Outcome::Recorded;
                }
                1 => {
                    out.no_panic().stderr_has("refused").stderr_has("nothing was recorded");
                    break Outcome::Refused;
                }
                2 => {
                    // The only acceptable "could not run" here is a clear busy ledger.
                    out.cannot_run(&["locked", "try again"]);
                    locked += 1;
                    assert!(locked < 50, "{what}: locked again and again\n{out}");
                }
                _ => panic!("{what}: unexpected exit code\n{out}"),
            }
        };
        outcomes.push(outcome);
    }
    (outcomes, locked)
}

/// A reader: verifies the ledger until `stop`, asserting every run exits 0 and that the
/// number of events never goes down. Returns the number of runs.
fn reader(ledger: &Path, stop: &AtomicBool) -> usize {
    let mut runs = 0;
    let mut last = 0;
    loop {
        // Read `stop` first: one more verification after the writers are done.
        let stopping = stop.load(Ordering::SeqCst);
        let out = kp!("verify", "--ledger", ledger, "--json").run();
        out.check(out.code == 0, "a reader must never see half an event: verify should exit 0");
        let report = out.json();
        out.check(report["ok"] == true, "the report should say ok");
        let n = report["events"].as_u64().unwrap_or_else(|| panic!("no event count\n{out}"));
        out.check(n >= last, &format!("the event count went down from {last} to {n}"));
        last = n;
        runs += 1;
        if stopping {
            return runs;
        }
    }
}

fn writers_and_readers(dir: &TempDir, src: &DemoSource, round: u64, store: &Store) {
    let ledger = store.ledger(dir, &format!("shared-{round}"));
    src.init(&ledger);
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (a, b, reads) = std::thread::scope(|s| {
        let readers: Vec<_> = (0..3).map(|_| s.spawn(|| reader(&ledger, &stop))).collect();
        let a = s.spawn(|| writer(&ledger, src, "A"));
        let b = s.spawn(|| writer(&ledger, src, "B"));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        stop.store(true, Ordering::SeqCst);
        let reads: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
        (a, b, reads)
    });
    // Each event recorded by exactly one writer, and refused to the other.
    for (i, (x, y)) in a.0.iter().zip(&b.0).enumerate() {
        let seq = i + 2;
        let recorded = [x, y].iter().filter(|o| ***o == Outcome::Recorded).count();
        assert_eq!(
            recorded, 1,
            "round {round}: event #{seq} recorded by {recorded} writers (A {x:?}, B {y:?})"
        );
    }
    assert_eq!(read_docs(&ledger), src.docs, "round {round}: the ledger should be the source, in order");
    kp!("verify", "--ledger", &ledger).run().ok();
    let by_a = a.0.iter().filter(|o| **o == Outcome::Recorded).count();
    eprintln!(
        "concurrency round {round}: {} events, {by_a} recorded by A and {} by B, {} + {} locked retries, \
         {reads} verifications by 3 readers, in {:?}",
        src.docs.len() - 1,
        src.docs.len() - 1 - by_a,
        a.1,
        b.1,
        started.elapsed()
    );
}

#[test]
fn two_writers_and_three_readers_lose_fork_and_half_apply_nothing() {
    let rounds = env_number("KPLEDGER_STRESS_ROUNDS", 1);
    let dir = TempDir::new("concurrency");
    let src = DemoSource::new(&dir);
    for round in 0..rounds {
        writers_and_readers(&dir, &src, round, &Store::File);
    }
}

/// The same on PostgreSQL: the writers take turns through the sequencer's advisory lock.
#[test]
fn two_writers_and_three_readers_on_postgres_lose_fork_and_half_apply_nothing() {
    let Some(store) = Store::postgres() else { return };
    let dir = TempDir::new("concurrency-pg");
    let src = DemoSource::new(&dir);
    writers_and_readers(&dir, &src, 0, &store);
}

/// Ingest is idempotent: an event already recorded, ingested again (a retry, a second run over
/// the same files), is success (exit 0) naming the event already there, and changes nothing;
/// never a refusal, never a raw database error. The same new event twice in one batch is still
/// refused (the log holds a leaf once), the whole batch with it.
#[test]
fn an_event_already_recorded_is_success_and_changes_nothing() {
    let (_dir, src, ledger) = DemoSource::with_ledger("duplicate", "dup.kpl");
    let before_policy = src.docs.iter().position(|d| d.contains(r#""kind":"policy""#)).unwrap();
    kp!("ingest", "--ledger", &ledger).arg(&src.files[1]).arg(&src.files[before_policy]).run().ok();
    let before = snapshot(&ledger);
    // A policy and an enrolment, each on its own.
    for f in [&src.files[before_policy], &src.files[1]] {
        let out = kp!("ingest", "--ledger", &ledger, f).run();
        out.ok().stdout_has("already recorded").stdout_has("as event #").stderr_lacks("database error");
        out.check(!out.stdout.contains("refused") && out.stderr.is_empty(), "no refusal is reported");
        let out = kp!("ingest", "--ledger", &ledger, "--json", f).run();
        let report = out.ok().json();
        assert_eq!(report["ok"], true, "{out}");
        assert_eq!(report["recorded"].as_array().map(Vec::len), Some(0), "{out}");
        assert_eq!(report["already_recorded"].as_array().map(Vec::len), Some(1), "{out}");
        assert!(report["already_recorded"][0]["seq"].as_u64().is_some(), "{out}");
        // A dry run says the same.
        kp!("ingest", "--ledger", &ledger, "--dry-run", f).run().ok().stdout_has("already recorded");
    }
    assert_eq!(before, snapshot(&ledger), "ingesting what is already recorded must change nothing");
    // The same new event twice in one batch: the second copy is refused, the batch with it.
    let out = kp!("ingest", "--ledger", &ledger, &src.files[2], &src.files[2]).run();
    out.code(1).stderr_has("already in this ledger as event #").stderr_lacks("database error");
    assert_eq!(before, snapshot(&ledger));
    // An event out of order (its actors and parcels not yet recorded) is refused, by a dry run
    // as by ingest, and nothing changes.
    let late = src.files.last().unwrap();
    kp!("ingest", "--ledger", &ledger, "--dry-run", late).run().code(1).stdout_has("would be refused");
    kp!("ingest", "--ledger", &ledger, late).run().code(1).stderr_has("nothing was recorded");
    assert_eq!(before, snapshot(&ledger));
    // A batch of a recorded event and a new one records the new one only.
    let events = read_docs(&ledger).len();
    let out = kp!("ingest", "--ledger", &ledger, &src.files[1], &src.files[2]).run();
    out.ok().stdout_has("already recorded").stdout_has("recorded ");
    assert_eq!(read_docs(&ledger).len(), events + 1, "{out}");
}

#[test]
fn a_held_lock_gives_locked_after_the_wait_and_readers_go_on() {
    let (_dir, src, ledger) = DemoSource::with_ledger("held-lock", "held.kpl");
    kp!("ingest", "--ledger", &ledger).arg(&src.files[1]).run().ok();
    let before = read_docs(&ledger);
    {
        let holder = Connection::open(&ledger).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        // Uncommitted changes that no reader may ever see.
        holder.execute("DELETE FROM meta", []).unwrap();
        holder.execute("UPDATE events SET doc = 'half' WHERE seq = 2", []).unwrap();
        let start = Instant::now();
        let out = kp!("ingest", "--ledger", &ledger, "--wait", "1", &src.files[2]).run();
        let took = start.elapsed();
        out.cannot_run(&["locked", "try again"]);
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "--wait 1 should give up after about a second, took {took:?}\n{out}"
        );
        let start = Instant::now();
        kp!("ingest", "--ledger", &ledger, "--wait", "0", &src.files[2]).run().cannot_run(&["locked"]);
        assert!(start.elapsed() < Duration::from_secs(5), "--wait 0 should not wait");
        // Readers are not blocked by a writer, and see the last committed state.
        kp!("verify", "--ledger", &ledger, "--wait", "1").run().ok();
        assert_eq!(read_docs(&ledger), before);
        // A lock released within the wait lets the writer through.
        std::thread::scope(|s| {
            let waiting = s.spawn(|| kp!("ingest", "--ledger", &ledger, "--wait", "20", &src.files[2]).run());
            std::thread::sleep(Duration::from_millis(300));
            holder.execute_batch("ROLLBACK").unwrap();
            let out = waiting.join().unwrap();
            out.ok();
            out.check(acknowledged(&out.stdout) == [3], "the waiting writer records event #3");
        });
    }
    assert_eq!(read_docs(&ledger), src.docs[..3]);
    kp!("verify", "--ledger", &ledger).run().ok();
}
