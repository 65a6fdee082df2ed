//! Fourth red-team review: a corrupt database administrator (a superuser of the authority's
//! PostgreSQL) against `verify --ledger postgres://…` and the writers (SECURITY.md, "Fourth
//! red-team review (PostgreSQL)"). Against a real PostgreSQL on loopback, as
//! `pg_schema.rs` (`KPLEDGER_TEST_PG_URL`; `KPLEDGER_REQUIRE_PG=1` makes a missing server a
//! failure). One test at a time: one of them changes a setting of the whole server.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use kpledger_core::copy::{copy, open_destination, open_source};
use kpledger_core::store::backend::{Backend as _, EventRow};
use kpledger_core::store::pg::PgStore;
use kpledger_core::store::{Fault, OpenOptions};
use kpledger_core::{Ledger, StorageError, StoreError};
use kpledger_model::ParcelId;
use postgres::NoTls;

#[path = "common/pg_demo.rs"]
mod pg_demo;
#[path = "../../../tests/pg_server.rs"]
mod pg_server;
#[path = "common/pg_writers.rs"]
mod pg_writers;
use pg_demo::demo_in_pg;
use pg_server::{database, server};
use pg_writers::concurrent_appends;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A new database `name` on `server` holding a new, empty ledger store: its URL and the store.
fn store(server: &str, name: &str) -> (String, PgStore) {
    let url = database(server, name);
    let s = PgStore::create(&url).unwrap();
    (url, s)
}

/// A view created in `pg_catalog` (a superuser may, after `SET allow_system_table_mods`), which
/// comes first on kpledger's search path, stood in for the `parcels` table: it showed every
/// row to a repeatable-read session (verification's snapshot) and hid one parcel from every
/// read-committed one (the write transactions, in which the rules judge each new event; such a
/// view can show them any row it likes). The schema check looked only at the database's own
/// schemas: the ledger opened and `verify` said VERIFIED with the view in place. Now every
/// object made after initdb in PostgreSQL's own schemas is refused, as in `public`.
#[test]
fn redteam4_pg_a_view_in_pg_catalog_shadowing_a_table_is_refused() {
    let _one = one_at_a_time();
    let Some(server) = server() else { return };
    let (dir, url) = demo_in_pg(&server, "redteam4", 2, "redteam4_shadow");
    let mut db = postgres::Client::connect(&url, NoTls).unwrap();
    let hidden: String =
        db.query_one("SELECT id FROM public.parcels ORDER BY id LIMIT 1", &[]).unwrap().get(0);
    db.batch_execute(&format!(
        "SET allow_system_table_mods = on; \
         CREATE VIEW pg_catalog.parcels AS SELECT id, holder, status, weight_pt, head, doc FROM public.parcels \
         WHERE current_setting('transaction_isolation') = 'repeatable read' OR id <> '{hidden}'"
    ))
    .unwrap();
    let opts = OpenOptions { read_only: true, ..Default::default() };
    match Ledger::open(std::path::Path::new(&url), opts) {
        Err(StoreError::Storage(StorageError::Schema { differences, .. })) => {
            assert!(differences.contains("relation pg_catalog.parcels"), "{differences}");
        }
        Err(e) => panic!("refused, but not for its schema: {e}"),
        Ok(ledger) => {
            let report = ledger.verify(&mut |_, _| {}).unwrap();
            let id: ParcelId = hidden.parse().unwrap();
            panic!(
                "opened; verified: {}; parcel {hidden} as other readers see it: {:?}",
                report.ok,
                ledger.parcel(&id).unwrap().map(|p| p.holder)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same class, each object alone in a new ledger database: a table in
/// `information_schema`, a function in `pg_catalog` overloading one kpledger's writes call
/// (`unnest` of a `bytea[]`: an exact match beats the built-in `anyarray` one), and the kinds of
/// objects no table's line named: a nondeterministic collation named "C" in `public` put on
/// `certificates.number` (the column's line still read `C`, and `number = 'sl2026004312'` then
/// found SL-2026-004312), a cast, a statistics object, a publication, a text search
/// configuration. Each was taken for kpledger's schema; each is refused on opening and at the
/// next write transaction.
#[test]
fn redteam4_pg_objects_of_every_kind_outside_the_tables_are_refused() {
    let _one = one_at_a_time();
    let Some(server) = server() else { return };
    let edits: &[(&str, &str, &str)] = &[
        (
            "information_schema",
            "CREATE TABLE information_schema.events (seq bigint)",
            "relation information_schema.events",
        ),
        (
            "pg_catalog_function",
            "CREATE FUNCTION pg_catalog.unnest(bytea[]) RETURNS SETOF bytea LANGUAGE sql AS 'SELECT NULL::bytea'",
            "function pg_catalog.unnest",
        ),
        (
            "collation",
            "CREATE COLLATION public.\"C\" (provider = icu, locale = 'und-u-ks-level1-ka-shifted', \
             deterministic = false); \
             ALTER TABLE certificates ALTER COLUMN number TYPE text COLLATE public.\"C\"",
            "collation C",
        ),
        ("cast", "CREATE CAST (bytea AS text) WITHOUT FUNCTION AS IMPLICIT", "cast bytea as text"),
        ("statistics", "CREATE STATISTICS public.s ON holder, status FROM parcels", "statistics object s"),
        ("publication", "CREATE PUBLICATION p FOR TABLE events", "publication p"),
        (
            "text_search",
            "CREATE TEXT SEARCH CONFIGURATION public.t (COPY = pg_catalog.simple)",
            "text search configuration t",
        ),
    ];
    for (tag, sql, line) in edits {
        let (url, mut s) = store(&server, &format!("redteam4_{tag}"));
        s.client().batch_execute(sql).unwrap_or_else(|e| panic!("{tag}: {e}"));
        match s.begin_write().err() {
            Some(Fault::Done(StoreError::Storage(StorageError::Schema { differences, .. }))) => {
                assert!(differences.contains(line), "{tag}: {differences}");
            }
            other => panic!("{tag}: a write went ahead: {other:?}"),
        }
        match PgStore::open(&url, true, Duration::from_secs(5)) {
            Err(StoreError::Storage(StorageError::Schema { differences, .. })) => {
                eprintln!("{tag}: {differences}");
            }
            other => panic!("{tag}: opened: {other:?}"),
        }
    }
}

/// Puts a setting of the server (`fsync`, `full_page_writes`) back when dropped, whatever the
/// test did.
struct SettingBack(String, &'static str);

impl Drop for SettingBack {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.0, NoTls) {
            let _ = c.batch_execute(&format!("ALTER SYSTEM RESET {}", self.1));
            let _ = c.batch_execute("SELECT pg_reload_conf()");
        }
        wait_for_setting(&self.0, self.1, "on");
    }
}

/// Waits until a new session sees `setting = value` (the server applies a reload on its own
/// time); bounded.
fn wait_for_setting(url: &str, setting: &str, value: &str) {
    for _ in 0..200 {
        let mut c = postgres::Client::connect(url, NoTls).unwrap();
        let now: String = c.query_one("SELECT current_setting($1)", &[&setting]).unwrap().get(0);
        if now == value {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server never applied {setting} = {value}");
}

/// Turns `setting` off on the whole server (ALTER SYSTEM and a reload), as a superuser may
/// while writers stay connected; put back when the returned guard is dropped.
fn turn_off(server: &str, setting: &'static str) -> SettingBack {
    let back = SettingBack(server.to_owned(), setting);
    let mut admin = postgres::Client::connect(server, NoTls).unwrap();
    // ALTER SYSTEM runs alone, outside a transaction block.
    admin.batch_execute(&format!("ALTER SYSTEM SET {setting} = off")).unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    wait_for_setting(server, setting, "off");
    back
}

/// A setting without which PostgreSQL no longer keeps what it acknowledged, turned off on the
/// whole server while writers stay connected (`ALTER SYSTEM` and a reload):
/// - `fsync = off` (red team 4): the writer (a `kpledger serve` holds its connection for days)
///   checked it only on connecting, and every append was then acknowledged by a server that no
///   longer flushed it to disk;
/// - `full_page_writes = off`: the server no longer writes a page whole into the write-ahead log
///   after a checkpoint, so a crash in the middle of writing a page of `events` leaves it torn
///   and recovery cannot repair it; the writers checked `fsync` only.
///
/// Now a connected writer's next write transaction is refused, and so is a new writer on
/// connecting and a new ledger (`kpledger init`); readers still read. The message names the
/// setting and what to do.
#[test]
fn redteam4_pg_fsync_or_full_page_writes_turned_off_under_a_connected_writer_is_refused() {
    let _one = one_at_a_time();
    let Some(server) = server() else { return };
    for setting in ["fsync", "full_page_writes"] {
        let (url, mut s) = store(&server, &format!("{setting}_off"));
        s.begin_write().unwrap().commit().unwrap();
        let fresh = database(&server, &format!("{setting}_off_new"));
        let back = turn_off(&server, setting);
        let named = format!("{setting} = off");
        match s.begin_write().err() {
            Some(Fault::Done(StoreError::Refused(why))) => {
                assert!(why.contains(&named) && why.contains("reload"), "{why}")
            }
            other => panic!("a write transaction began on a server with {named}: {other:?}"),
        }
        match PgStore::open(&url, false, Duration::from_secs(5)) {
            Err(StoreError::Refused(why)) => assert!(why.contains(&named), "{why}"),
            other => panic!("a new writer connected to a server with {named}: {other:?}"),
        }
        // No ledger created there either, and nothing written.
        assert!(matches!(PgStore::create(&fresh), Err(StoreError::Refused(_))), "{named}");
        let found = kpledger_core::store::pg::catalog(&mut postgres::Client::connect(&fresh, NoTls).unwrap());
        assert_eq!(found.unwrap(), ["schema public"], "{named}");
        // Reading is not writing.
        PgStore::open(&url, true, Duration::from_secs(5)).unwrap();
        drop(back);
        s.begin_write().unwrap().commit().unwrap();
    }
}

/// A smuggler hands over a ledger file to be moved into the authority's database
/// (`ledger copy`): its events are genuine, but a stored checkpoint was edited — its `root`
/// cell, or the root inside its signed note, or a cosignature line with another signature.
/// Events are judged again; checkpoints are carried byte for byte and only then judged, by the
/// verification of the destination: each edit is reported (the copy is not VERIFIED, exit 1),
/// whichever engine receives it. Refused already; kept because no test fed `ledger copy` a
/// hostile checkpoint.
#[test]
fn redteam4_ledger_copy_judges_the_checkpoints_it_carries() {
    let _one = one_at_a_time();
    let dir = std::env::temp_dir().join(format!("kpledger-copy-redteam4-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    kpledger_core::demo::run(&dir.join("demo"), 2, &mut |_| {}).unwrap();
    let edits: &[(&str, &str)] = &[
        (
            "root",
            "UPDATE checkpoints SET root = zeroblob(32) WHERE size = (SELECT max(size) FROM checkpoints)",
        ),
        (
            "note",
            "UPDATE checkpoints SET note = replace(note, substr(note, instr(note, char(10)) + 1, 4), '9999') \
             WHERE size = (SELECT min(size) FROM checkpoints)",
        ),
        (
            "cosignature",
            "UPDATE checkpoints SET note = substr(note, 1, length(note) - 6) || 'AAAAA' || char(10) \
             WHERE size = (SELECT max(size) FROM checkpoints)",
        ),
    ];
    for (tag, sql) in edits {
        let from = dir.join(format!("{tag}.kpl"));
        std::fs::copy(dir.join("demo/ledger.kpl"), &from).unwrap();
        let c = rusqlite::Connection::open(&from).unwrap();
        assert_eq!(c.execute(sql, []).unwrap(), 1, "{tag}");
        drop(c);
        let mut to_url = None;
        if let Some(server) = server() {
            to_url = Some(database(&server, &format!("redteam4_copy_{tag}")));
        }
        let to = to_url.unwrap_or_else(|| dir.join(format!("{tag}-copy.kpl")).display().to_string());
        let source = open_source(from.to_str().unwrap()).unwrap();
        let dest = open_destination(&to).unwrap();
        let copied = copy(&source, dest, &mut |_, _| {}).unwrap();
        let codes: Vec<_> = copied.report.findings.iter().map(|f| f.code).collect();
        assert!(!copied.report.ok && codes.contains(&kpledger_verify::Rule::Log2), "{tag}: {codes:?}");
        // Into PostgreSQL the copy is one transaction, committed only when it verifies: the
        // database is left as empty as it was; a new file is not given its name.
        assert!(!copied.kept, "{tag}");
        if !to.starts_with("postgres") {
            assert!(!std::path::Path::new(&to).exists(), "{tag}: the copy that did not verify was kept");
            let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
            assert!(!left.iter().any(|n| n.to_string_lossy().contains(".copying")), "{tag}: {left:?}");
        } else {
            let found =
                kpledger_core::store::pg::catalog(&mut postgres::Client::connect(&to, NoTls).unwrap());
            assert_eq!(found.unwrap(), ["schema public"], "{tag}: the copy that did not verify was kept");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The schema is checked when a transaction begins; the tables were locked only when a
/// statement first touched them (a writer's rows are sent at its commit). In between, a
/// superuser's `ALTER TABLE events SET UNLOGGED` went through: the event committed next was
/// acknowledged from a table that a crash empties, and the check would only refuse the
/// transaction after it. The same gap let a snapshot (verification's) be opened on a table then
/// swapped for a view, put under row security, or truncated (which a snapshot that has not read
/// the table yet sees as empty). Now every table is locked before the check, so such a
/// change waits for the transaction (here it runs out of its `lock_timeout`).
#[test]
fn redteam4_pg_ddl_after_the_schema_check_waits_for_the_transaction() {
    let _one = one_at_a_time();
    let Some(server) = server() else { return };
    let (url, mut s) = store(&server, "redteam4_race");
    let mut admin = postgres::Client::connect(&url, NoTls).unwrap();
    admin.batch_execute("SET lock_timeout = '2s'").unwrap();
    let tx = s.begin_write().unwrap();
    let unlogged = admin.batch_execute("ALTER TABLE events SET UNLOGGED");
    tx.writes()
        .insert_event(&EventRow {
            hash: &kpledger_model::Hash([7; 32]),
            kind: "extraction",
            time: "2026-03-02T08:00:00Z",
            signer: "sl.miner",
            doc: "{}",
        })
        .unwrap();
    tx.commit().unwrap();
    let persistence: i8 = admin
        .query_one("SELECT relpersistence::\"char\" FROM pg_class WHERE oid = 'public.events'::regclass", &[])
        .unwrap()
        .get(0);
    assert!(
        unlogged.is_err() && persistence == b'p' as i8,
        "ALTER TABLE events SET UNLOGGED went ahead inside a write transaction; the event was acknowledged \
         from a table with persistence {:?}",
        persistence as u8 as char
    );
}

/// The same gap in a snapshot: verification's was opened, its schema checked, and the tables
/// were locked only as it read them. See the test above.
#[test]
fn redteam4_pg_ddl_after_a_snapshots_schema_check_waits_for_it() {
    let _one = one_at_a_time();
    let Some(server) = server() else { return };
    let (url, s) = store(&server, "redteam4_race_snapshot");
    let mut admin = postgres::Client::connect(&url, NoTls).unwrap();
    admin.batch_execute("SET lock_timeout = '2s'").unwrap();
    for (tag, sql) in [
        ("view", "ALTER TABLE parcels RENAME TO parcels_real"),
        // Not MVCC-safe: a snapshot that has not read the table yet then sees it empty.
        ("truncate", "TRUNCATE log_frontier"),
        ("row security", "ALTER TABLE actors ENABLE ROW LEVEL SECURITY"),
    ] {
        let snapshot = s.begin_snapshot().unwrap();
        assert!(admin.batch_execute(sql).is_err(), "{tag}: changed under an open snapshot");
        drop(snapshot);
    }
}

/// A superuser replaces PostgreSQL's own `pg_advisory_xact_lock(bigint)` — the sequencer's lock
/// — with an SQL function that takes no lock (`CREATE OR REPLACE` keeps the built-in's oid, so no
/// check of objects made after initdb sees it, and the planner inlines the new body where the
/// server would otherwise call its compiled-in function), and four writers append at once. The log does
/// not fork all the same: the keys of `events` (and of the tree's nodes and frontier) admit one
/// row per position, so of two writers that read the same end of the log one fails at its
/// commit and is not acknowledged. Every acknowledged position holds the event acknowledged
/// for it, and nothing else was recorded. (What the replaced lock does cost: events judged
/// against a state another writer was changing; verification reports any rule that broke.)
#[test]
fn redteam4_pg_a_replaced_sequencer_lock_still_forks_nothing() {
    let _one = one_at_a_time();
    let Some(server) = server() else { return };
    let (url, s) = store(&server, "redteam4_nolock");
    drop(s);
    let mut admin = postgres::Client::connect(&url, NoTls).unwrap();
    admin
        .batch_execute(
            "CREATE OR REPLACE FUNCTION pg_catalog.pg_advisory_xact_lock(bigint) RETURNS void \
             LANGUAGE sql AS 'SELECT NULL::void'",
        )
        .unwrap();
    PgStore::open(&url, true, Duration::from_secs(5))
        .expect("the replaced built-in is not seen by the schema check");
    let acked = concurrent_appends(&url, 4, 25, |writes, w, i| {
        let (wb, ib) = (u8::try_from(w).unwrap(), u8::try_from(i).unwrap());
        writes
            .insert_event(&EventRow {
                hash: &kpledger_model::Hash([
                    wb, ib, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7,
                    8, 9, 0,
                ]),
                kind: "extraction",
                time: "2026-03-02T08:00:00Z",
                signer: &format!("writer-{w}"),
                doc: &format!("{{\"w\":{w},\"i\":{i}}}"),
            })
            .unwrap()
    });
    eprintln!("{} of 100 appends acknowledged, the others refused at their commit", acked.len());
    let rows = admin.query("SELECT seq, doc FROM events ORDER BY seq", &[]).unwrap();
    assert_eq!(rows.len(), acked.len(), "an event was recorded that no writer had acknowledged");
    for (seq, w, i) in &acked {
        let doc: String = rows.iter().find(|r| r.get::<_, i64>(0) == *seq as i64).unwrap().get(1);
        assert_eq!(
            doc,
            format!("{{\"w\":{w},\"i\":{i}}}"),
            "position {seq} holds another event than the one acknowledged"
        );
    }
    let mut seqs: Vec<u64> = acked.iter().map(|a| a.0).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=acked.len() as u64).collect::<Vec<_>>(), "positions without a gap, each once");
}
