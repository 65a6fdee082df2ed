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
fn bundles(ledger: &Path, dir: &Path) -> Vec<(String, Vec<u8>)> {
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
    kp!("verify", "--ledger", &to).run().ok();
    assert_eq!(events_and_checkpoints(&from), events_and_checkpoints(&to));
    // Every derived row and Merkle node too: they are functions of the events.
    assert_eq!(snapshot(&from), snapshot(&to));
    std::fs::create_dir_all(t.join("a")).unwrap();
    std::fs::create_dir_all(t.join("b")).unwrap();
    assert_eq!(bundles(&from, &t.join("a")), bundles(&to, &t.join("b")));

    // Only into an empty store: the copy itself is not, and nothing is written to it.
    let before = snapshot(&to);
    kp!("ledger", "copy", "--from", &from, "--to", &to).run().cannot_run(&["not empty"]);
    assert_eq!(snapshot(&to), before);
}

#[test]
fn ledger_copy_judges_every_event_again_and_stops_at_a_forged_one() {
    let t = TempDir::new("copy-forged");
    let demo = t.join("demo");
    kp!("demo", &demo, "--parcels", "8").run().ok();
    let from = t.join("forged.kpl");
    crate::util::copy_ledger(&demo.join("ledger.kpl"), &from);
    // A weight changed in a stored event: its signature no longer holds.
    let c = Connection::open(&from).unwrap();
    let seq: i64 =
        c.query_row("SELECT min(seq) FROM events WHERE kind = 'extraction'", [], |r| r.get(0)).unwrap();
    c.execute(
        "UPDATE events SET doc = replace(doc, '\"weight_pt\":', '\"weight_pt\":1') WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    drop(c);
    let to = t.join("copy.kpl");
    kp!("ledger", "copy", "--from", &from, "--to", &to)
        .run()
        .code(1)
        .stderr_has(&format!("event #{seq} of"))
        .stderr_has("refused by the rules");
    // What came before it was recorded, nothing from it on.
    let n: i64 = Connection::open_with_flags(&to, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert!(n < seq, "{n} events copied, the forged one is #{seq}");
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
    kp!("verify", "--ledger", &back).run().ok();
    assert_eq!(events_and_checkpoints(&from), events_and_checkpoints(&back));
    assert_eq!(snapshot(&from), snapshot(&back));
    std::fs::create_dir_all(t.join("a")).unwrap();
    std::fs::create_dir_all(t.join("b")).unwrap();
    assert_eq!(bundles(&from, &t.join("a")), bundles(&back, &t.join("b")));

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
