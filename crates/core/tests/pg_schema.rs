//! The PostgreSQL store's schema against a real PostgreSQL on loopback (`.ci/run` starts one
//! and exports `KPLEDGER_TEST_PG_URL`, with `KPLEDGER_REQUIRE_PG=1` so that CI fails without
//! it; elsewhere, without the variable, each test says it was skipped and passes). Each test
//! makes a database of its own.
//!
//! A new ledger's catalog is exactly `store/pg_catalog.txt` (`KPLEDGER_BLESS=1` rewrites it),
//! and a database edited behind kpledger's back — a trigger, a rule, a view in place of a
//! table, a dropped constraint, an unlogged table, a function, an index, a changed column, a
//! row-security policy, a child table — is refused on opening and at every write transaction.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use kpledger_core::StoreError;
use kpledger_core::store::pg::{PgStore, catalog};
use postgres::NoTls;

/// The server's URL (a role that may create databases), or `None`: skipped.
fn server() -> Option<String> {
    match std::env::var("KPLEDGER_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var_os("KPLEDGER_REQUIRE_PG").is_some_and(|v| v == "1") {
                panic!(
                    "KPLEDGER_TEST_PG_URL is not set, and KPLEDGER_REQUIRE_PG=1: run the tests through .ci/run, \
                     or start the services with .ci/services.sh"
                );
            }
            eprintln!("skipped: no PostgreSQL (KPLEDGER_TEST_PG_URL); .ci/run starts one");
            None
        }
    }
}

/// A new, empty database named after the test; its URL.
fn database(server: &str, tag: &str) -> String {
    let name = format!("kpl_{tag}_{}", std::process::id());
    let mut admin = postgres::Client::connect(server, NoTls).unwrap();
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

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
    assert!(matches!(PgStore::create(&url), Err(StoreError::Exists(_))));
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
            Some(StoreError::Schema { .. }) => {}
            other => panic!("{tag}: a write went ahead on an edited schema: {other:?}"),
        }
        match PgStore::open(&url, true) {
            Err(StoreError::Schema { differences, .. }) => {
                assert!(!differences.is_empty(), "{tag}");
                eprintln!("{tag}: {differences}");
            }
            other => panic!("{tag}: opened an edited database: {other:?}"),
        }
    }
}
