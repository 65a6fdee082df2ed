//! The ledger's stores (a file, a PostgreSQL database): `kpledger ledger copy` moves a ledger into an empty store, judging every
//! event again; both ends verify and give the same events, checkpoints and evidence bundles.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::util::{TempDir, snapshot};

#[path = "../pg_server.rs"]
pub(crate) mod pg_server;
use pg_server::{database, server};

/// Where a test's ledger lives: the same test code runs against each (`--ledger FILE` or
/// `--ledger postgres://…`).
#[derive(Debug, Clone)]
pub(crate) enum Store {
    /// An SQLite ledger file in the test's directory.
    File,
    /// A database of its own on the test PostgreSQL server (its URL).
    Pg(String),
}

impl Store {
    /// PostgreSQL, or `None` (the test is skipped and says so; a failure with
    /// `KPLEDGER_REQUIRE_PG=1`).
    pub(crate) fn postgres() -> Option<Store> {
        server().map(Store::Pg)
    }

    /// A new ledger location named `tag`: a file path in `dir`, or a new empty database's URL.
    pub(crate) fn ledger(&self, dir: &TempDir, tag: &str) -> PathBuf {
        match self {
            Store::File => dir.join(format!("{tag}.kpl")),
            Store::Pg(server) => PathBuf::from(database(server, tag)),
        }
    }
}

/// True if `ledger` is a PostgreSQL URL.
pub(crate) fn is_url(ledger: &Path) -> bool {
    ledger.to_str().is_some_and(|l| l.starts_with("postgres://"))
}

/// Every event document of a ledger database, in order.
pub(crate) fn pg_docs(url: &Path) -> Vec<String> {
    let mut c = postgres::Client::connect(url.to_str().unwrap(), postgres::NoTls).unwrap();
    c.query("SELECT doc FROM events ORDER BY seq", &[]).unwrap().iter().map(|r| r.get(0)).collect()
}

/// Every row of every table of a ledger database, as text, sorted per table.
pub(crate) fn pg_snapshot(url: &Path) -> Vec<String> {
    let mut c = postgres::Client::connect(url.to_str().unwrap(), postgres::NoTls).unwrap();
    let tables: Vec<String> = c
        .query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let mut lines: Vec<String> = c
            .query(&format!("SELECT '{t}: ' || x::text FROM public.{t} x"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        lines.sort();
        out.extend(lines);
    }
    out
}

/// A stored row: (position or size, hash or root, document or note).
type Row = (i64, Vec<u8>, String);

/// The signed events (position, hash, document) and the checkpoints (size, root, note with
/// its cosignatures) of a ledger file, as stored.
fn events_and_checkpoints(ledger: &Path) -> (Vec<Row>, Vec<Row>) {
    let c = Connection::open_with_flags(ledger, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let read = |sql: &str| -> Vec<Row> {
        let mut st = c.prepare(sql).unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    (
        read("SELECT seq, hash, doc FROM events ORDER BY seq"),
        read("SELECT size, root, note FROM checkpoints ORDER BY size"),
    )
}

/// Each certificate's evidence bundle, as `kpledger bundle` writes it.
pub(crate) fn bundles(ledger: &Path, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let list = kp!("certificate", "list", "--ledger", ledger, "--json").run().ok().json();
    let mut out = Vec::new();
    for c in list.as_array().unwrap() {
        let number = c["certificate"]["number"].as_str().unwrap().to_owned();
        let file = dir.join(format!("{number}.json"));
        kp!("bundle", "--ledger", ledger, "--certificate", &number, "--out", &file).run().ok();
        out.push((number, std::fs::read(&file).unwrap()));
    }
    assert!(out.len() >= 4, "the demo issues a certificate per country");
    out
}

/// The copy `to` of the ledger `from` verifies and holds the same events and checkpoints,
/// the same derived rows and Merkle nodes (functions of the events), and gives the same
/// bundles (exported into directories `a` and `b` of `t`).
#[track_caller]
fn assert_same_ledger(from: &Path, to: &Path, t: &TempDir) {
    kp!("verify", "--ledger", to).run().ok();
    assert_eq!(events_and_checkpoints(from), events_and_checkpoints(to));
    assert_eq!(snapshot(from), snapshot(to));
    std::fs::create_dir_all(t.join("a")).unwrap();
    std::fs::create_dir_all(t.join("b")).unwrap();
    assert_eq!(bundles(from, &t.join("a")), bundles(to, &t.join("b")));
}

#[test]
fn ledger_copy_sqlite_to_sqlite_gives_the_same_events_checkpoints_and_bundles() {
    let t = TempDir::new("copy");
    let demo = t.join("demo");
    kp!("demo", &demo).run().ok();
    let from = demo.join("ledger.kpl");
    let to = t.join("copy.kpl");
    let run = kp!("ledger", "copy", "--from", &from, "--to", &to, "--json").run();
    let v = run.ok().json();
    assert_eq!(v["report"]["ok"], true, "{run}");
    assert!(v["checkpoints"].as_u64().unwrap() >= 2, "{run}");
    kp!("verify", "--ledger", &from).run().ok();
    assert_same_ledger(&from, &to, &t);

    // Only into an empty store: the copy itself is not, and nothing is written to it.
    let before = snapshot(&to);
    kp!("ledger", "copy", "--from", &from, "--to", &to).run().cannot_run(&["not empty"]);
    assert_eq!(snapshot(&to), before);
}

#[test]
fn ledger_copy_sqlite_to_postgres_to_sqlite_is_byte_identical() {
    let Some(server) = server() else { return };
    let t = TempDir::new("copy-pg");
    let demo = t.join("demo");
    kp!("demo", &demo).run().ok();
    let from = demo.join("ledger.kpl");
    let db = database(&server, "e2e_copy");
    // Into PostgreSQL: every event judged again, then the database verified whole.
    let v = kp!("ledger", "copy", "--from", &from, "--to", &db, "--json").run().ok().json();
    assert_eq!(v["report"]["ok"], true, "{v:#}");
    assert!(v["checkpoints"].as_u64().unwrap() >= 2);
    // The URL's password is never shown.
    let password = db.split_once(':').unwrap().1.split_once(':').unwrap().1.split_once('@').unwrap().0;
    assert!(!v["to"].as_str().unwrap().is_empty());
    // And back into a new file.
    let back = t.join("back.kpl");
    let out = kp!("ledger", "copy", "--from", &db, "--to", &back).run();
    out.ok().stdout_has("VERIFIED");
    assert!(!out.stdout.contains(password) && !out.stderr.contains(password), "{out}");
    assert_same_ledger(&from, &back, &t);

    // A database that holds a ledger already is not copied into.
    kp!("ledger", "copy", "--from", &from, "--to", &db).run().cannot_run(&["not empty"]);

    // An event altered in the database: copying out judges it again and stops there.
    let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let seq: i64 = c.query_one("SELECT min(seq) FROM events WHERE kind = 'extraction'", &[]).unwrap().get(0);
    c.execute(
        "UPDATE events SET doc = replace(doc, '\"weight_pt\":', '\"weight_pt\":1') WHERE seq = $1",
        &[&seq],
    )
    .unwrap();
    kp!("ledger", "copy", "--from", &db, "--to", t.join("again.kpl"))
        .run()
        .code(1)
        .stderr_has(&format!("event #{seq} of"));
}

/// What a database holds of its own, by kind and name: nothing but `public` when it is empty.
fn objects_in(db: &str) -> Vec<String> {
    let mut c = postgres::Client::connect(db, postgres::NoTls).unwrap();
    c.query(
        "SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' \
         AND nspname <> 'information_schema' UNION ALL SELECT 'relation ' || c.relname FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// A copy judges every event again. Into PostgreSQL it is one transaction, and into a new file it
/// is written under a temporary name that the file takes only once the copy is complete and verifies: a source
/// refused part way (a late event altered; a checkpoint altered, found by the verification of
/// the copy) gets the same exit code and message as before, and leaves the database as empty
/// as it was and no file (not the tables and the events before the refused one). A good copy
/// to the same place then goes through.
#[test]
fn ledger_copy_into_postgres_refused_part_way_leaves_the_database_empty() {
    let Some(server) = server() else { return };
    let t = TempDir::new("copy-pg-atomic");
    let db = database(&server, "e2e_copy_atomic");
    refused_copies_leave_nothing(&t, &db, &|| objects_in(&db) == ["schema public"]);
}

/// [`ledger_copy_into_postgres_refused_part_way_leaves_the_database_empty`], into a new file.
#[test]
fn ledger_copy_into_a_new_file_refused_part_way_leaves_no_file() {
    let t = TempDir::new("copy-file-atomic");
    let to = t.join("copy.kpl");
    let nothing = || {
        let names: Vec<_> = std::fs::read_dir(t.join("")).unwrap().flatten().map(|e| e.file_name()).collect();
        !to.exists() && !names.iter().any(|n| n.to_string_lossy().contains("copy.kpl"))
    };
    refused_copies_leave_nothing(&t, to.to_str().unwrap(), &nothing);
}

/// The copies of the two tests above into `to`, where `nothing` tells whether nothing is there.
fn refused_copies_leave_nothing(t: &TempDir, to: &str, nothing: &dyn Fn() -> bool) {
    let demo = t.join("demo");
    kp!("demo", &demo, "--parcels", "8").run().ok();
    let good = demo.join("ledger.kpl");
    assert!(nothing());

    // The last extraction's weight changed: every event before it is judged and written first.
    let late = t.join("late.kpl");
    crate::util::copy_ledger(&good, &late);
    let c = Connection::open(&late).unwrap();
    let seq: i64 =
        c.query_row("SELECT max(seq) FROM events WHERE kind = 'extraction'", [], |r| r.get(0)).unwrap();
    assert!(seq > 20, "a late event: #{seq}");
    c.execute(
        "UPDATE events SET doc = replace(doc, '\"weight_pt\":', '\"weight_pt\":1') WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    drop(c);
    kp!("ledger", "copy", "--from", &late, "--to", to)
        .run()
        .code(1)
        .stderr_has(&format!("event #{seq} of"))
        .stderr_has("refused by the rules")
        .stderr_has("Nothing was written");
    assert!(nothing(), "the refused copy left something behind");

    // A stored checkpoint's root altered: every event copies, the verification of the copy
    // refuses the checkpoint (LOG-2), and nothing is kept.
    let bad_checkpoint = t.join("checkpoint.kpl");
    crate::util::copy_ledger(&good, &bad_checkpoint);
    Connection::open(&bad_checkpoint)
        .unwrap()
        .execute(
            "UPDATE checkpoints SET root = zeroblob(32) WHERE size = (SELECT max(size) FROM checkpoints)",
            [],
        )
        .unwrap();
    let v = kp!("ledger", "copy", "--from", &bad_checkpoint, "--to", to, "--json").run().code(1).json();
    assert_eq!(v["kept"], false, "{v:#}");
    assert_eq!(v["report"]["ok"], false, "{v:#}");
    assert!(v["report"]["findings"].to_string().contains("LOG-2"), "{v:#}");
    assert!(nothing(), "the copy that did not verify was kept");

    // The good ledger copies to the same place, and stays.
    let v = kp!("ledger", "copy", "--from", &good, "--to", to, "--json").run().ok().json();
    assert_eq!(v["kept"], true, "{v:#}");
    assert!(!v["to"].as_str().unwrap().contains(".copying"), "named by its temporary name: {v:#}");
    kp!("verify", "--ledger", to).run().ok().stdout_has("VERIFIED");
    let back = t.join("back.kpl");
    kp!("ledger", "copy", "--from", to, "--to", &back).run().ok();
    assert_eq!(events_and_checkpoints(&good), events_and_checkpoints(&back));
}

/// Two `kpledger serve` instances on one PostgreSQL database, four clients submitting to both
/// at once (bounded: 80 events): every acknowledged event is in the ledger at the position it
/// was acknowledged with, no two at one position (no fork), a retry sent to the other instance
/// is answered with the same position, and the database verifies.
#[test]
fn two_servers_on_one_postgres_never_fork_and_lose_no_acknowledged_event() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use crate::serve::{Server, post, world_at};
    let Some(store) = Store::postgres() else { return };
    const CLIENTS: usize = 4;
    const EVENTS: usize = 80;
    let t = TempDir::new("serve-pg");
    let (ledger, events) = world_at(store.ledger(&t, "serve_two"), EVENTS);
    let base =
        kpledger_core::Ledger::open(&ledger, kpledger_core::OpenOptions::default()).unwrap().len().unwrap();
    let flags = ["--rate-ip", "0", "--rate-key", "0"];
    let servers = [Server::start_with(&ledger, &flags), Server::start_with(&ledger, &flags)];
    let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
    let events = Arc::new(events);
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..EVENTS).map(|_| AtomicU64::new(0)).collect());
    let handles: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (events, acked, url) = (Arc::clone(&events), Arc::clone(&acked), urls[c % 2].clone());
            std::thread::spawn(move || {
                for i in (c..EVENTS).step_by(CLIENTS) {
                    let (status, v) = post(&url, &events[i]).unwrap();
                    assert!(status == 201 || status == 200, "event {i}: {status} {v}");
                    acked[i].store(v["recorded"][0]["seq"].as_u64().unwrap(), Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let seqs: std::collections::BTreeSet<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    assert_eq!(seqs.len(), EVENTS, "one position per acknowledged event");
    assert_eq!(seqs, (base + 1..=base + EVENTS as u64).collect(), "positions follow each other: no fork");
    // A retry to the other instance: the same position, nothing written.
    for (i, ev) in events.iter().enumerate().step_by(7) {
        let (status, v) = post(&urls[(i % CLIENTS + 1) % 2], ev).unwrap();
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["recorded"][0]["seq"], acked[i].load(Ordering::SeqCst), "event {i}");
    }
    drop(servers);
    let l = kpledger_core::Ledger::open(&ledger, kpledger_core::OpenOptions::default()).unwrap();
    assert_eq!(l.len().unwrap(), base + EVENTS as u64, "nothing recorded twice");
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(l.position_of(&ev.hash).unwrap(), Some(acked[i].load(Ordering::SeqCst)), "event {i}");
    }
    kp!("verify", "--ledger", &ledger).run().ok().stdout_has("VERIFIED");
}

/// The CLI's read commands on a database give what they give on the file it was copied from;
/// an unreachable server, a database that is not a ledger, and a wrong password are clear
/// errors (exit 2) that never show the password.
#[test]
fn commands_read_a_postgres_ledger_as_they_read_a_file() {
    let Some(Store::Pg(server)) = Store::postgres() else { return };
    let t = TempDir::new("cli-pg");
    let demo = t.join("demo");
    kp!("demo", &demo, "--parcels", "8").run().ok();
    let file = demo.join("ledger.kpl");
    let db = database(&server, "cli_reads");
    kp!("ledger", "copy", "--from", &file, "--to", &db).run().ok();
    for (a, b) in [("certificate", "list"), ("actor", "list")] {
        let on_file = kp!(a, b, "--json", "--ledger", &file).run();
        let on_db = kp!(a, b, "--json", "--ledger", &db).run();
        assert_eq!(on_file.ok().stdout, on_db.ok().stdout, "{a} {b}");
    }
    let v = kp!("verify", "--ledger", &db, "--json").run().ok().json();
    assert_eq!(v["ok"], true);
    // KPLEDGER_LEDGER names it too.
    let via_env = kp!("actor", "list", "--json").env("KPLEDGER_LEDGER", &db).run();
    assert_eq!(via_env.ok().stdout, kp!("actor", "list", "--json", "--ledger", &file).run().stdout);
    let password =
        db.split_once(':').unwrap().1.split_once(':').unwrap().1.split_once('@').unwrap().0.to_owned();
    // Nothing listens on port 1.
    let (_, rest) = db.split_once('@').unwrap();
    let (_, name) = rest.split_once('/').unwrap();
    let unreachable = format!("postgres://kpledger:{password}@127.0.0.1:1/{name}");
    let out = kp!("verify", "--ledger", &unreachable).run();
    out.cannot_run(&["cannot connect to the PostgreSQL server"]);
    assert!(!out.stderr.contains(&password), "{out}");
    // A database that holds something else.
    let other = database(&server, "cli_other");
    postgres::Client::connect(&other, postgres::NoTls)
        .unwrap()
        .batch_execute("CREATE TABLE t(x int)")
        .unwrap();
    let out = kp!("verify", "--ledger", &other).run();
    out.cannot_run(&["not a ledger as kpledger writes it"]);
    assert!(!out.stderr.contains(&password), "{out}");
    // A command that works on files only says so, and what to do instead.
    let out = kp!("migrate", "--from", &file, "--to", &other).run();
    out.cannot_run(&["ledger copy"]);
    assert!(!out.stderr.contains(&password), "{out}");
    // A wrong password.
    let wrong = db.replacen(&password, "not-the-password", 1);
    let out = kp!("actor", "list", "--ledger", &wrong).run();
    out.cannot_run(&["cannot connect"]);
    assert!(!out.stderr.contains("not-the-password"), "{out}");
}
