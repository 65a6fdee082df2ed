//! Crash safety: bulk ingest in child processes killed with SIGKILL at pseudo-random moments.
//! After every kill the ledger must open, verify, hold every event whose ingest was
//! acknowledged ("recorded … as event #N" on stdout), and hold the batch that was in flight
//! either whole or not at all — byte for byte the next events of the source — and the next
//! ingest resumes where the ledger stopped.
//!
//! CI runs a few kills (`KPLEDGER_STRESS_KILLS`, default 10); `docs/stress.sh` runs many more,
//! in release mode. `KPLEDGER_STRESS_SEED` picks the pseudo-random schedule (printed on failure).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use crate::backends::Store;
use crate::util::{BIN, TempDir, child};

/// The events of a demo ledger (`kpledger demo --parcels 8`), in order, as canonical documents
/// and as one file each, and how to start a new ledger with the same genesis event.
pub(crate) struct DemoSource {
    /// Canonical event documents, `docs[i]` is event #i+1.
    pub(crate) docs: Vec<String>,
    /// `files[i]` holds `docs[i]` (and a newline).
    pub(crate) files: Vec<PathBuf>,
    /// The arguments of `kpledger init` that sign the demo's genesis event again.
    init: Vec<String>,
}

impl DemoSource {
    pub(crate) fn new(dir: &TempDir) -> DemoSource {
        let demo = dir.join("demo");
        kp!("demo", &demo, "--parcels", "8").run().ok();
        let docs = read_docs(&demo.join("ledger.kpl"));
        assert!(docs.len() > 50, "the demo ledger should have many events, has {}", docs.len());
        let events = dir.join("events");
        std::fs::create_dir_all(&events).unwrap();
        let files: Vec<PathBuf> = docs
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                let f = events.join(format!("ev{:04}.json", i + 1));
                std::fs::write(&f, format!("{doc}\n")).unwrap();
                f
            })
            .collect();
        let g: Value = serde_json::from_str(&docs[0]).unwrap();
        let (body, authority) = (&g["body"], &g["body"]["authority"]);
        assert_eq!(body["kind"], "genesis", "event #1 of the demo is its genesis");
        let s = |v: &Value| v.as_str().unwrap_or_else(|| panic!("{v} is not a string in {g}")).to_owned();
        let key = demo.join("keys").join(format!("{}.pem", s(&authority["id"])));
        let init = vec![
            "--origin".into(),
            s(&body["ledger"]),
            "--id".into(),
            s(&authority["id"]),
            "--name".into(),
            s(&authority["name"]),
            "--country".into(),
            s(&authority["country"]),
            "--key".into(),
            key.to_string_lossy().into_owned(),
            "--time".into(),
            s(&body["time"]),
        ];
        DemoSource { docs, files, init }
    }

    /// A directory of its own for the test `tag`, the demo's events in it, and a new ledger
    /// `name` there that holds the demo's genesis event ([`DemoSource::init`]).
    pub(crate) fn with_ledger(tag: &str, name: &str) -> (TempDir, DemoSource, PathBuf) {
        let dir = TempDir::new(tag);
        let src = DemoSource::new(&dir);
        let ledger = dir.join(name);
        src.init(&ledger);
        (dir, src, ledger)
    }

    /// The value of an argument of `kpledger init` (`--key`, `--origin`, …).
    pub(crate) fn init_arg(&self, name: &str) -> String {
        let i = self.init.iter().position(|a| a == name).unwrap_or_else(|| panic!("no {name} in init"));
        self.init[i + 1].clone()
    }

    /// Creates `ledger` with `kpledger init`, whose genesis event is byte for byte the demo's
    /// (Ed25519 signatures are deterministic), so the other events can be ingested into it.
    pub(crate) fn init(&self, ledger: &Path) {
        let mut cmd = kp!("init", "--ledger", ledger);
        for a in &self.init {
            cmd = cmd.arg(a);
        }
        cmd.run().ok();
        assert_eq!(read_docs(ledger), self.docs[..1], "init should sign the demo's genesis event again");
    }
}

/// Every event document of a ledger, in order (read-only).
pub(crate) fn read_docs(ledger: &Path) -> Vec<String> {
    if crate::backends::is_url(ledger) {
        return crate::backends::pg_docs(ledger);
    }
    let c = Connection::open_with_flags(ledger, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", ledger.display()));
    let mut st = c.prepare("SELECT doc FROM events ORDER BY seq").unwrap();
    st.query_map([], |r| r.get(0)).and_then(|rows| rows.collect()).unwrap()
}

/// The event numbers a run of `ingest` acknowledged on stdout ("recorded KIND as event #N (…)").
pub(crate) fn acknowledged(stdout: &str) -> Vec<usize> {
    stdout
        .lines()
        .filter(|l| l.starts_with("recorded "))
        .filter_map(|l| l.split_once(" as event #"))
        .map(|(_, rest)| {
            let n = rest.split(' ').next().unwrap_or_default();
            n.parse().unwrap_or_else(|_| panic!("cannot read the event number in {l:?}", l = rest))
        })
        .collect()
}

/// A small deterministic pseudo-random generator (xorshift64*).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-ish in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A number from the environment (for docs/stress.sh), or `default`.
pub(crate) fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// One `kpledger ingest` of `files` into `ledger`, as a child process of its own.
fn spawn_ingest(ledger: &Path, files: &[PathBuf]) -> std::process::Child {
    child(Path::new(BIN))
        .arg("ingest")
        .arg("--ledger")
        .arg(ledger)
        .args(files)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"))
}

/// What one ingest process did.
struct Run {
    /// Exited by itself with code 0.
    success: bool,
    /// Killed by a signal (no exit code).
    killed: bool,
    acked: Vec<usize>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts that the run succeeded and acknowledged events `first` to `last` (1-based, in
    /// the source's order), and no other; `what` says which run, for the failure message.
    #[track_caller]
    fn assert_acked(&self, first: usize, last: usize, what: &str) {
        let want: Vec<usize> = (first..=last).collect();
        assert!(
            self.success && self.acked == want,
            "{what}: should have succeeded, acknowledging events {want:?}\n{}\n{}",
            self.stdout,
            self.stderr
        );
    }
}

/// Waits for `child`, killing it with SIGKILL first if `kill_after` is given and it is still
/// running then.
fn finish(mut child: std::process::Child, kill_after: Option<Duration>) -> Run {
    if let Some(t) = kill_after {
        std::thread::sleep(t);
        if child.try_wait().unwrap().is_none() {
            // SIGKILL on Unix: no destructor, no flush, no rollback runs.
            let _ = child.kill();
        }
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        success: out.status.success(),
        killed: out.status.code().is_none(),
        acked: acknowledged(&stdout),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// After a kill: the ledger verifies, holds exactly the first `n` source events for an `n`
/// that is `before` (the batch in flight left nothing) or `before + batch` (all of it), and
/// at least every acknowledged event. Returns `n`.
fn check_after_kill(
    ledger: &Path,
    src: &DemoSource,
    before: usize,
    batch: usize,
    run: &Run,
    ctx: &str,
) -> usize {
    let out = kp!("verify", "--ledger", ledger, "--json").run();
    out.check(out.code == 0, &format!("{ctx}: a ledger whose writer was killed must verify"));
    let report = out.json();
    out.check(report["ok"] == true, &format!("{ctx}: the report should say ok"));
    let docs = read_docs(ledger);
    let n = docs.len();
    assert_eq!(report["events"], n, "{ctx}: verify counted other events than the table holds\n{out}");
    assert!(
        n == before || n == before + batch,
        "{ctx}: {n} events after killing an ingest of events {}..={} into a ledger of {before}: \
         a batch is recorded whole or not at all\nstdout of the killed run:\n{}\nstderr:\n{}",
        before + 1,
        before + batch,
        run.stdout,
        run.stderr
    );
    for (i, (got, want)) in docs.iter().zip(&src.docs).enumerate() {
        assert!(got == want, "{ctx}: event #{} differs from the source event\n{got}\n{want}", i + 1);
    }
    if let Some(&last) = run.acked.iter().max() {
        assert!(
            n >= last,
            "{ctx}: event #{last} was acknowledged on stdout but the ledger has only {n} events\n{}",
            run.stdout
        );
    }
    n
}

#[test]
fn killed_ingests_lose_no_acknowledged_event_and_leave_no_partial_one() {
    killed_ingests(&Store::File);
}

/// The same on PostgreSQL: a killed client's transaction is rolled back by the server.
#[test]
fn killed_ingests_on_postgres_lose_no_acknowledged_event_and_leave_no_partial_one() {
    let Some(store) = Store::postgres() else { return };
    killed_ingests(&store);
}

fn killed_ingests(store: &Store) {
    let kills = env_number("KPLEDGER_STRESS_KILLS", 10);
    let seed = env_number("KPLEDGER_STRESS_SEED", 0x6b70_6c65_6467_6572);
    let dir = TempDir::new("crash");
    let src = DemoSource::new(&dir);
    let mut rng = Rng::new(seed);
    let started = Instant::now();

    let mut generation = 0;
    let mut ledger = store.ledger(&dir, "crash-0");
    src.init(&ledger);
    let mut len = 1; // events in the ledger
    // Microseconds one uninterrupted ingest process takes here, measured as we go.
    let mut typical_us: u64 = 20_000;
    let (mut done, mut attempts) = (0, 0);
    let mut in_commit_window = 0; // recorded but killed before exiting
    while done < kills {
        attempts += 1;
        assert!(attempts <= kills * 20 + 100, "seed {seed}: too few ingest runs could be killed in time");
        if len + 4 > src.docs.len() {
            // (Nearly) every event is in: start again on a new ledger file.
            generation += 1;
            ledger = store.ledger(&dir, &format!("crash-{generation}"));
            src.init(&ledger);
            len = 1;
        }
        // A few uninterrupted ingests (one to three events each) make progress and keep the
        // timing estimate current; they leave at least one event for the victim.
        for _ in 0..rng.below(3) {
            let batch = 1 + rng.below(3) as usize;
            if len + batch >= src.docs.len() {
                break;
            }
            let t = Instant::now();
            let run = finish(spawn_ingest(&ledger, &src.files[len..len + batch]), None);
            let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
            typical_us = (typical_us * 3 + us) / 4;
            run.assert_acked(len + 1, len + batch, &format!("seed {seed}: an uninterrupted ingest"));
            len += batch;
        }
        // The victim: killed at a moment spread over its whole life (start-up, reading,
        // opening, the transaction, the commit, printing the acknowledgement).
        let batch = 1 + rng.below(3) as usize;
        let batch = batch.min(src.docs.len() - len);
        let at = Duration::from_micros(rng.below(typical_us * 5 / 4));
        let run = finish(spawn_ingest(&ledger, &src.files[len..len + batch]), Some(at));
        let ctx = format!(
            "seed {seed}, kill attempt {attempts}, ledger {}, batch of events {}..={}, killed after {at:?}",
            ledger.display(),
            len + 1,
            len + batch
        );
        if !run.killed {
            // It finished before the kill: an ordinary, acknowledged ingest.
            run.assert_acked(len + 1, len + batch, &ctx);
            len += batch;
            continue;
        }
        done += 1;
        let n = check_after_kill(&ledger, &src, len, batch, &run, &ctx);
        if n > len && run.acked.is_empty() {
            in_commit_window += 1;
        }
        // Resume where the ledger stopped: the next ingest starts at event n + 1.
        len = n;
    }
    // The ledger is still usable: the rest of the source goes in and verifies.
    let run = finish(spawn_ingest(&ledger, &src.files[len..]), None);
    assert!(run.success, "seed {seed}: the rest of the events should go in\n{}\n{}", run.stdout, run.stderr);
    assert_eq!(read_docs(&ledger), src.docs, "seed {seed}: the ledger should equal the source");
    kp!("verify", "--ledger", &ledger).run().ok();
    eprintln!(
        "crash: {done} SIGKILLs in {attempts} attempts over {} ledger(s) in {:?} (seed {seed}; {in_commit_window} \
         killed after the commit, before the acknowledgement; one ingest ≈ {typical_us} µs)",
        generation + 1,
        started.elapsed()
    );
}
