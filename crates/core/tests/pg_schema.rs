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

use kpledger_core::copy::{copy, open_destination, open_source};
use kpledger_core::store::backend::{Backend, EventRow, Reads as _};
use kpledger_core::store::pg::{PgStore, catalog};
use kpledger_core::store::{Fault, OpenOptions};
use kpledger_core::{Ledger, StorageError, StoreError};
use kpledger_model::Hash;
use postgres::NoTls;
use std::time::Duration;

#[path = "../../../tests/pg_server.rs"]
mod pg_server;
#[path = "common/pg_writers.rs"]
mod pg_writers;
#[path = "../../../tests/tamper.rs"]
mod tamper;
use pg_server::{database, server};
use pg_writers::concurrent_appends;

#[test]
fn pg_a_new_ledger_has_exactly_the_expected_catalog() {
    let Some(server) = server() else { return };
    let url = database(&server, "catalog");
    let s = PgStore::create(&url).unwrap();
    let found = catalog(&mut *s.client()).unwrap().join("\n") + "\n";
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/pg_catalog.txt");
    if std::env::var_os("KPLEDGER_BLESS").is_some() {
        std::fs::write(file, &found).unwrap();
    }
    assert_eq!(found, std::fs::read_to_string(file).unwrap(), "KPLEDGER_BLESS=1 rewrites {file}");
    drop(s);
    let mut s = PgStore::open(&url, false, Duration::from_secs(5)).unwrap();
    s.begin_write().unwrap().commit().unwrap();
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
        match s.begin_write().err() {
            Some(Fault::Done(StoreError::Storage(StorageError::Schema { .. }))) => {}
            other => panic!("{tag}: a write went ahead on an edited schema: {other:?}"),
        }
        match PgStore::open(&url, true, Duration::from_secs(5)) {
            Err(StoreError::Storage(StorageError::Schema { differences, .. })) => {
                assert!(!differences.is_empty(), "{tag}");
                eprintln!("{tag}: {differences}");
            }
            other => panic!("{tag}: opened an edited database: {other:?}"),
        }
    }
}

/// A row of `events` written by `writer` (no signed event: the store only stores).
struct Row {
    hash: Hash,
    time: String,
    signer: String,
    doc: String,
}

fn event(n: usize, writer: usize) -> Row {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&(n as u64).to_be_bytes());
    hash[8..16].copy_from_slice(&(writer as u64).to_be_bytes());
    Row {
        hash: Hash(hash),
        time: format!("2026-03-02T08:{:02}:{:02}Z", n / 60 % 60, n % 60),
        signer: format!("writer-{writer}"),
        doc: format!("{{\"n\":{n},\"writer\":{writer}}}"),
    }
}

fn insert(w: &dyn kpledger_core::store::backend::Writes, r: &Row) -> Result<u64, Fault> {
    w.insert_event(&EventRow {
        hash: &r.hash,
        kind: "extraction",
        time: &r.time,
        signer: &r.signer,
        doc: &r.doc,
    })
}

#[test]
fn pg_one_sequencer_concurrent_writers_never_fork_the_log() {
    let Some(server) = server() else { return };
    let url = database(&server, "sequencer");
    PgStore::create(&url).unwrap();
    const WRITERS: usize = 4;
    const EACH: usize = 25;
    // Each writer reads the log's end and appends after it, as the store does: the lock makes
    // the read and the write one step among all writers.
    let acked = concurrent_appends(&url, WRITERS, EACH, |writes, w, i| {
        let seq = insert(writes, &event(i, w)).unwrap();
        writes.insert_event_parcel(&format!("parcel-{w}"), seq).unwrap();
        seq
    });
    let mut acked: Vec<(u64, usize)> = acked.into_iter().map(|(seq, w, _)| (seq, w)).collect();
    acked.sort();
    let seqs: Vec<u64> = acked.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=(WRITERS * EACH) as u64).collect::<Vec<_>>(), "one position per acknowledgement");
    let s = PgStore::open(&url, true, Duration::from_secs(5)).unwrap();
    let docs = s.event_docs(1, (WRITERS * EACH) as u64).unwrap();
    assert_eq!(docs.len(), WRITERS * EACH, "every acknowledged event is there");
    for (seq, w) in &acked {
        let r = s.client().query_one("SELECT signer FROM events WHERE seq = $1", &[&(*seq as i64)]).unwrap();
        assert_eq!(r.get::<_, String>(0), format!("writer-{w}"), "event #{seq} is the one acknowledged");
    }
}

#[test]
fn pg_a_transaction_is_a_few_statements_and_reads_back_as_written() {
    let Some(server) = server() else { return };
    let url = database(&server, "bulk");
    let mut s = PgStore::create(&url).unwrap();
    let events: Vec<Row> = (1..=3000).map(|i| event(i, 0)).collect();
    let tx = s.begin_write().unwrap();
    for (i, e) in events.iter().enumerate() {
        let seq = insert(tx.writes(), e).unwrap();
        assert_eq!(seq, i as u64 + 1);
        tx.writes().insert_event_parcel(&format!("p{}", i % 7), seq).unwrap();
        tx.writes().insert_log_node(0, i as u64, &e.hash).unwrap();
        // Read back inside the transaction, before anything was sent.
        assert_eq!(tx.writes().seq_of(&e.hash).unwrap(), Some(seq));
        assert_eq!(tx.writes().log_node(0, i as u64).unwrap(), Some(e.hash));
    }
    // A range read sends what is pending first.
    assert_eq!(tx.writes().event_docs(2999, 3000).unwrap().len(), 2);
    tx.commit().unwrap();
    let docs: Vec<Vec<u8>> = s.reads().event_docs(1, 3000).unwrap().into_iter().map(|(_, d)| d).collect();
    assert_eq!(docs, events.iter().map(|e| e.doc.clone().into_bytes()).collect::<Vec<_>>());
    assert_eq!(s.reads().last_seq().unwrap(), 3000);
    assert_eq!(s.reads().parcel_seqs("p3").unwrap().len(), 3000 / 7 + 1);
    // A transaction dropped uncommitted leaves nothing.
    let tx = s.begin_write().unwrap();
    insert(tx.writes(), &event(1, 9)).unwrap();
    drop(tx);
    assert_eq!(s.reads().last_seq().unwrap(), 3000);
    // A hash recorded twice is refused by the constraints, at the commit at the latest.
    let tx = s.begin_write().unwrap();
    insert(tx.writes(), &event(1, 0)).unwrap();
    assert!(tx.commit().is_err());
    assert_eq!(s.reads().last_seq().unwrap(), 3000);
}

/// Every cell of the first and the last row (in key order) of every table, changed in the
/// database one at a time, each such row deleted, an event appended: whole-ledger verification
/// of the database, in this process, reports each (the sweep of tests/tamper.rs, which the
/// end-to-end demo test runs through `kpledger verify` on both stores).
#[test]
fn pg_editing_any_cell_or_deleting_any_row_is_detected() {
    use tamper::{Edit, Table, edits, marker, open_cells, sweep};
    let Some(server) = server() else { return };
    let dir = std::env::temp_dir().join(format!("kpledger-pg-cells-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    kpledger_core::demo::run(&dir, 8, &mut |_| {}).unwrap();
    let url = database(&server, "cells");
    let from = open_source(dir.join("ledger.kpl").to_str().unwrap()).unwrap();
    let to = open_destination(&url).unwrap();
    let copied = copy(&from, to, &mut |_, _| {}).unwrap();
    assert!(copied.report.ok, "{:?}", copied.report.findings);
    drop(from);
    let ledger = std::path::PathBuf::from(&url);
    let mut c = open_cells(&ledger);
    let mut tables = Vec::new();
    for name in c.tables() {
        let (columns, _) = c.first_row(&name);
        for (which, order) in [("first", "ASC"), ("last", "DESC")] {
            let keys = (1..=columns.len()).map(|i| format!("{i} {order}")).collect::<Vec<_>>().join(", ");
            let row = c.query(&format!("SELECT * FROM {name} ORDER BY {keys} LIMIT 1"), &[]).remove(0);
            tables.push(Table { name: name.clone(), columns: columns.clone(), which: which.into(), row });
        }
    }
    drop(c);
    let mut all = edits(&tables);
    // The newest checkpoint deleted leaves an older, valid ledger: only witnesses and holders
    // of that checkpoint can show it existed (ARCHITECTURE.md, known limits).
    all.retain(|e| !matches!(e, Edit::Delete { table } if tables[*table].name == "checkpoints" && tables[*table].which == "last"));
    assert!(all.len() > 80, "{}", all.len());
    let opts = OpenOptions { read_only: true, ..Default::default() };
    let judge = |at: &std::path::Path, edit: &Edit| -> Option<String> {
        match Ledger::open(at, opts) {
            // The store's marker row (what a file's header holds) is checked on opening.
            Err(_) if marker(edit, &tables) => None,
            Err(e) => Some(format!("not opened: {e}")),
            Ok(l) => match l.verify(&mut |_, _| {}) {
                Ok(r) if !r.ok && r.errors > 0 => None,
                Ok(r) => Some(format!("verified: {:?}", r.findings)),
                Err(e) => Some(format!("verification could not run: {e}")),
            },
        }
    };
    sweep(&[ledger], &tables, &all, &["kpledger.application_id", "kpledger.one"], &judge);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A derived row read in a write transaction, then written, sent (a range read sends what is
/// pending) and read again, is the new one; one written after a savepoint and rolled back with
/// it reads as before, from the pending rows, the transaction's own reads and the database
/// alike; and the committed value is what the next transaction reads.
#[test]
fn pg_reads_in_a_write_transaction_see_its_own_writes_and_rollbacks() {
    use kpledger_verify::rows::DerivedRow;
    let Some(server) = server() else { return };
    let url = database(&server, "own_writes");
    let mut s = PgStore::create(&url).unwrap();
    let tx = s.begin_write().unwrap();
    let w = tx.writes();
    assert_eq!(w.derived_doc("meta", "origin").unwrap(), None, "nothing yet (and that is kept)");
    w.put_derived(&DerivedRow::origin("one.example/log")).unwrap();
    assert_eq!(w.derived_doc("meta", "origin").unwrap().as_deref(), Some("one.example/log"));
    w.event_docs(1, 1).unwrap();
    assert_eq!(w.derived_doc("meta", "origin").unwrap().as_deref(), Some("one.example/log"), "sent");
    w.savepoint().unwrap();
    w.put_derived(&DerivedRow::origin("two.example/log")).unwrap();
    w.event_docs(1, 1).unwrap();
    assert_eq!(w.derived_doc("meta", "origin").unwrap().as_deref(), Some("two.example/log"));
    w.rollback_savepoint().unwrap();
    assert_eq!(w.derived_doc("meta", "origin").unwrap().as_deref(), Some("one.example/log"), "rolled back");
    // Still inside the transaction: its writes go on and commit.
    insert(w, &event(1, 0)).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.reads().derived_doc("meta", "origin").unwrap().as_deref(), Some("one.example/log"));
    assert_eq!(s.reads().last_seq().unwrap(), 1);
    // Outside a transaction nothing is kept: another session's change is seen.
    s.client().batch_execute("UPDATE meta SET value = 'three.example/log'").unwrap();
    assert_eq!(s.reads().derived_doc("meta", "origin").unwrap().as_deref(), Some("three.example/log"));
}

/// A genesis event naming an authority `sl.nma` with `named`'s key in role `role`, signed with
/// `signer`.
fn genesis(
    role: kpledger_model::Role,
    named: &kpledger_model::SecretKey,
    signer: &kpledger_model::SecretKey,
) -> kpledger_model::ParsedEvent {
    use kpledger_model::{ActorId, ActorRecord, Country, Event, EventBody, Origin, Payload, Text, Time};
    let authority = ActorRecord {
        id: ActorId::new("sl.nma").unwrap(),
        name: Text::new("National Minerals Agency").unwrap(),
        role,
        country: Country::new("SL").unwrap(),
        licence: None,
        key: named.public(),
        address: None,
    };
    let body = EventBody::new(
        Origin::new("kpledger.sl/national").unwrap(),
        Time::new("2026-03-01T09:00:00Z").unwrap(),
        authority.id.clone(),
        Payload::Genesis { authority },
    );
    Event::sign(body, signer).unwrap().into_parsed().unwrap()
}

/// `kpledger init` on PostgreSQL: the tables and the genesis event are one transaction. A
/// genesis the rules refuse (signed with a key other than the one it names; naming an actor
/// that is not an authority) leaves the database as empty as it was, so that `init` can be run
/// again; an accepted one gives a ledger of one event; a database that holds anything is
/// refused, and left as it was.
#[test]
fn pg_init_writes_the_tables_and_the_genesis_in_one_transaction() {
    use kpledger_model::{Role, SecretKey};
    let Some(server) = server() else { return };
    let url = database(&server, "init_one_tx");
    let (root, other) = (SecretKey::from_seed(&[7; 32]), SecretKey::from_seed(&[8; 32]));
    let found = |url: &str| catalog(&mut postgres::Client::connect(url, NoTls).unwrap()).unwrap();
    assert_eq!(found(&url), ["schema public"], "a new database holds nothing");
    for (what, bad) in [
        ("signed with another key", genesis(Role::Authority, &root, &other)),
        ("naming a miner", genesis(Role::Miner, &root, &root)),
    ] {
        let err = Ledger::create_with_genesis(url.as_ref(), &bad).unwrap_err();
        assert!(err.to_string().contains("CH-2"), "{what}: {err}");
        assert_eq!(found(&url), ["schema public"], "{what}: the refused genesis left tables behind");
    }
    let (ledger, appended) =
        Ledger::create_with_genesis(url.as_ref(), &genesis(Role::Authority, &root, &root)).unwrap();
    assert_eq!(appended.seq, 1);
    drop(ledger);
    let ledger = Ledger::open(url.as_ref(), OpenOptions { read_only: true, ..Default::default() }).unwrap();
    assert_eq!(ledger.len().unwrap(), 1);
    assert!(ledger.verify(&mut |_, _| {}).unwrap().ok);
    drop(ledger);
    let before = found(&url);
    let again = Ledger::create_with_genesis(url.as_ref(), &genesis(Role::Authority, &root, &root));
    assert!(matches!(again, Err(StoreError::Storage(StorageError::Exists(_)))), "{again:?}");
    assert_eq!(found(&url), before);
    let ledger = Ledger::open(url.as_ref(), OpenOptions { read_only: true, ..Default::default() }).unwrap();
    assert_eq!(ledger.len().unwrap(), 1, "a refused second init wrote nothing");
}
