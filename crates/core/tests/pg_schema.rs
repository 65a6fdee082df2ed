//! The PostgreSQL store's schema against a real PostgreSQL on loopback (`.ci/run` starts one
//! and exports `KPLEDGER_TEST_PG_URL`, with `KPLEDGER_REQUIRE_PG=1` so that CI fails without
//! it; elsewhere, without the variable, each test says it was skipped and passes). Each test
//! makes a database of its own.
//!
//! A new ledger's catalog is exactly `store/pg_catalog.txt` (`KPLEDGER_BLESS=1` rewrites it),
//! and a database edited behind kpledger's back — a trigger, a rule, a view in place of a
//! table, a dropped constraint, an unlogged table, a function, an index, a changed column, a
//! row-security policy, a child table — is refused on opening and at every write transaction.
//! Writers on one database take turns through the sequencer's lock: four writers appending
//! concurrently leave positions 1..n, each the event acknowledged for it. A batch's rows are
//! written in bulk and read back as written.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use kpledger_core::copy::{Store, copy};
use kpledger_core::store::pg::{EventRow, PgStore, catalog, rows};
use kpledger_core::store::pg_ledger::PgLedger;
use kpledger_core::{StorageError, StoreError};
use kpledger_verify::Cell;
use kpledger_verify::SigMode;
use postgres::NoTls;

#[path = "../../../tests/pg_server.rs"]
mod pg_server;
use pg_server::{database, server};

#[test]
fn pg_a_new_ledger_has_exactly_the_expected_catalog() {
    let Some(server) = server() else { return };
    let url = database(&server, "catalog");
    let mut s = PgStore::create(&url).unwrap();
    let found = catalog(s.client()).unwrap().join("\n") + "\n";
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/pg_catalog.txt");
    if std::env::var_os("KPLEDGER_BLESS").is_some() {
        std::fs::write(file, &found).unwrap();
    }
    assert_eq!(found, std::fs::read_to_string(file).unwrap(), "KPLEDGER_BLESS=1 rewrites {file}");
    drop(s);
    let mut s = PgStore::open(&url, false).unwrap();
    s.write_transaction().unwrap().commit().unwrap();
    // A second creation in the same database is refused.
    assert!(matches!(PgStore::create(&url), Err(StoreError::Storage(StorageError::Exists(_)))));
}

#[test]
fn pg_a_database_edited_behind_kpledgers_back_is_refused() {
    let Some(server) = server() else { return };
    let edits: &[(&str, &str)] = &[
        (
            "trigger",
            "CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'; \
             CREATE TRIGGER t BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION public.f()",
        ),
        ("rule", "CREATE RULE r AS ON INSERT TO checkpoints DO INSTEAD NOTHING"),
        (
            "view",
            "ALTER TABLE parcels RENAME TO parcels_real; \
             CREATE VIEW public.parcels AS SELECT * FROM parcels_real",
        ),
        ("constraint", "ALTER TABLE events DROP CONSTRAINT events_hash_key"),
        ("notnull", "ALTER TABLE parcels ALTER COLUMN head DROP NOT NULL"),
        ("unlogged", "ALTER TABLE events SET UNLOGGED"),
        ("function", "CREATE FUNCTION public.length(text) RETURNS integer LANGUAGE sql AS 'SELECT 1'"),
        ("index", "CREATE INDEX extra ON parcels(holder)"),
        ("type", "ALTER TABLE actors ALTER COLUMN revoked TYPE integer"),
        ("collation", "ALTER TABLE parcels ALTER COLUMN id TYPE text COLLATE \"POSIX\""),
        ("rls", "ALTER TABLE actors ENABLE ROW LEVEL SECURITY"),
        ("default", "ALTER TABLE actors ALTER COLUMN revoked SET DEFAULT 0"),
        ("child", "CREATE TABLE public.more_events () INHERITS (events)"),
        ("schema", "CREATE SCHEMA shadow; CREATE TABLE shadow.events (seq bigint)"),
    ];
    for (tag, sql) in edits {
        let url = database(&server, &format!("edit_{tag}"));
        let mut s = PgStore::create(&url).unwrap();
        s.client().batch_execute(sql).unwrap_or_else(|e| panic!("{tag}: {e}"));
        // The open store's next write transaction sees it too.
        match s.write_transaction().err() {
            Some(StoreError::Storage(StorageError::Schema { .. })) => {}
            other => panic!("{tag}: a write went ahead on an edited schema: {other:?}"),
        }
        match PgStore::open(&url, true) {
            Err(StoreError::Storage(StorageError::Schema { differences, .. })) => {
                assert!(!differences.is_empty(), "{tag}");
                eprintln!("{tag}: {differences}");
            }
            other => panic!("{tag}: opened an edited database: {other:?}"),
        }
    }
}

fn event(seq: i64, writer: usize) -> EventRow {
    EventRow {
        seq,
        hash: format!("{seq:016}{writer:016}").into_bytes(),
        kind: "extraction".into(),
        time: format!("2026-03-02T08:{:02}:{:02}Z", seq / 60 % 60, seq % 60),
        signer: format!("writer-{writer}"),
        doc: format!("{{\"seq\":{seq}}}"),
    }
}

#[test]
fn pg_one_sequencer_concurrent_writers_never_fork_the_log() {
    let Some(server) = server() else { return };
    let url = database(&server, "sequencer");
    PgStore::create(&url).unwrap();
    const WRITERS: usize = 4;
    const EACH: usize = 25;
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut s = PgStore::open(&url, false).unwrap();
                let mut acked = Vec::new();
                for _ in 0..EACH {
                    // Each writer reads the log's end and appends after it, as the store does:
                    // the lock makes the read and the write one step among all writers.
                    let mut tx = s.write_transaction().unwrap();
                    let seq = rows::last_seq(&mut tx).unwrap() as i64 + 1;
                    rows::insert_events(&mut tx, &[event(seq, w)], &[(format!("parcel-{w}"), seq)], &[])
                        .unwrap();
                    tx.commit().unwrap();
                    acked.push((seq, w));
                }
                acked
            })
        })
        .collect();
    let mut acked: Vec<(i64, usize)> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    acked.sort();
    let seqs: Vec<i64> = acked.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=(WRITERS * EACH) as i64).collect::<Vec<_>>(), "one position per acknowledgement");
    let mut s = PgStore::open(&url, true).unwrap();
    let docs = rows::event_docs(s.client(), 1, (WRITERS * EACH) as u64).unwrap();
    assert_eq!(docs.len(), WRITERS * EACH, "every acknowledged event is there");
    for (seq, w) in &acked {
        let r = s.client().query_one("SELECT signer FROM events WHERE seq = $1", &[seq]).unwrap();
        assert_eq!(r.get::<_, String>(0), format!("writer-{w}"), "event #{seq} is the one acknowledged");
    }
}

#[test]
fn pg_a_batch_is_a_few_statements_and_reads_back_as_written() {
    let Some(server) = server() else { return };
    let url = database(&server, "bulk");
    let mut s = PgStore::create(&url).unwrap();
    let events: Vec<EventRow> = (1..=3000).map(|i| event(i, 0)).collect();
    let parcels: Vec<(String, i64)> = (1..=3000).map(|i| (format!("p{}", i % 7), i)).collect();
    let nodes: Vec<(i32, i64, Vec<u8>)> = (0..3000).map(|i| (0, i, vec![i as u8; 32])).collect();
    let mut tx = s.write_transaction().unwrap();
    rows::insert_events(&mut tx, &events, &parcels, &nodes).unwrap();
    // A derived row written, then replaced by its key.
    let row = |w: i64| {
        vec![
            Cell::Text("019c0000-0000-7000-8000-000000000001".into()),
            Cell::Text("SL-D-0001".into()),
            Cell::Text("held".into()),
            Cell::Int(w),
            Cell::Blob(vec![7; 32]),
            Cell::Text("{}".into()),
        ]
    };
    rows::put_row(&mut tx, "parcels", &row(100)).unwrap().unwrap();
    rows::put_row(&mut tx, "parcels", &row(250)).unwrap().unwrap();
    assert!(rows::put_row(&mut tx, "events", &row(1)).is_none(), "only derived tables");
    tx.commit().unwrap();
    let docs = rows::event_docs(s.client(), 1, 3000).unwrap();
    assert_eq!(docs, events.iter().map(|e| e.doc.clone().into_bytes()).collect::<Vec<_>>());
    assert_eq!(rows::last_seq(s.client()).unwrap(), 3000);
    let stored = rows::row(s.client(), "parcels", "019c0000-0000-7000-8000-000000000001").unwrap().unwrap();
    assert_eq!(stored, Some(row(250)));
    // A position taken twice, or a hash recorded twice, is refused by the constraints.
    let mut tx = s.write_transaction().unwrap();
    assert!(rows::insert_events(&mut tx, &[event(3000, 1)], &[], &[]).is_err());
}

/// Every cell of the first rows of every table, changed in the database one at a time, and
/// every such row deleted: whole-ledger verification of the database reports each.
#[test]
fn pg_editing_any_cell_or_deleting_any_row_is_detected() {
    let Some(server) = server() else { return };
    let dir = std::env::temp_dir().join(format!("kpledger-pg-cells-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    kpledger_core::demo::run(&dir, 8, &mut |_| {}).unwrap();
    let url = database(&server, "cells");
    let mut from = Store::open(dir.join("ledger.kpl").to_str().unwrap()).unwrap();
    let mut to = Store::destination(&url).unwrap();
    let copied = copy(&mut from, &mut to, &mut |_, _| {}).unwrap();
    assert!(copied.report.ok, "{:?}", copied.report.findings);
    let mut ledger = PgLedger::open(&url, true).unwrap();
    let mut db = postgres::Client::connect(&url, NoTls).unwrap();
    let tables = [
        ("events", "seq"),
        ("event_parcels", "seq"),
        ("meta", "key"),
        ("actors", "id"),
        ("sites", "id"),
        ("policies", "country"),
        ("parcels", "id"),
        ("certificates", "number"),
        ("checkpoints", "size"),
        ("log_nodes", "idx"),
        ("log_frontier", "size"),
    ];
    let mut edits = 0;
    for (table, order) in tables {
        let cols: Vec<(String, String)> = db
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                &[&table],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        // The first and the last row of the table, kept aside in a temporary table (another
        // session's temporary schema, which the ledger's schema check leaves alone) to be put
        // back after each edit.
        for pick in ["ASC", "DESC"] {
            let mut ctid: String = db
                .query_one(&format!("SELECT ctid::text FROM {table} ORDER BY {order} {pick} LIMIT 1"), &[])
                .unwrap()
                .get(0);
            db.batch_execute(&format!(
                "DROP TABLE IF EXISTS saved; CREATE TEMP TABLE saved AS SELECT * FROM {table} WHERE ctid = '{ctid}'"
            ))
            .unwrap();
            let mut edited = |db: &mut postgres::Client, sql: &str, what: &str| {
                // An edit the database refuses itself (a key taken twice) leaves nothing to detect.
                let Ok(rows) = db.query(sql, &[]) else { return false };
                let report = ledger.verify(SigMode::Strict, &mut |_, _| {}).unwrap();
                assert!(!report.ok, "{what}, and verification saw nothing");
                // Put the row back as it was.
                for r in rows {
                    let new: String = r.get(0);
                    db.batch_execute(&format!("DELETE FROM {table} WHERE ctid = '{new}'")).unwrap();
                }
                db.batch_execute(&format!("INSERT INTO {table} SELECT * FROM saved")).unwrap();
                let report = ledger.verify(SigMode::Strict, &mut |_, _| {}).unwrap();
                assert!(report.ok, "{what}, then put back: {:?}", report.findings);
                true
            };
            for (col, ty) in &cols {
                let change = match ty.as_str() {
                    "bigint" | "integer" => format!("{col} = {col} + 1"),
                    "bytea" => format!("{col} = set_byte({col}, 0, (get_byte({col}, 0) + 1) % 256)"),
                    _ => format!("{col} = {col} || ' '"),
                };
                let sql = format!("UPDATE {table} SET {change} WHERE ctid = '{ctid}' RETURNING ctid::text");
                if edited(&mut db, &sql, &format!("{table}.{col} of the {pick} row edited")) {
                    edits += 1;
                }
                // The row was put back: where it is now.
                ctid = db
                    .query_one(
                        &format!("SELECT t.ctid::text FROM {table} t, saved s WHERE row(t.*)::text = row(s.*)::text"),
                        &[],
                    )
                    .unwrap()
                    .get(0);
            }
            // The newest checkpoint deleted leaves an older, valid ledger: only witnesses and
            // holders of that checkpoint can show it existed (ARCHITECTURE.md, known limits).
            if table == "checkpoints" && pick == "DESC" {
                continue;
            }
            let deleted = edited(
                &mut db,
                &format!("DELETE FROM {table} WHERE ctid = '{ctid}' RETURNING ctid::text"),
                &format!("the {pick} row of {table} deleted"),
            );
            assert!(deleted);
        }
    }
    assert!(edits > 40, "{edits}");
    let _ = std::fs::remove_dir_all(&dir);
}
