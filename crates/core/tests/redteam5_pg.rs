//! Fifth red-team review on PostgreSQL (SECURITY.md, "Fifth red-team review"): a corrupt
//! database administrator against `verify --ledger postgres://…`, and against `kpledger demo
//! --ledger postgres://…` / `init`, which create the tables in one transaction. Against a real
//! PostgreSQL (`KPLEDGER_TEST_PG_URL`; `KPLEDGER_REQUIRE_PG=1` makes a missing server a
//! failure), as `redteam_pg.rs`.
#![allow(clippy::unwrap_used)]

use kpledger_core::demo::{DemoError, run_in};
use kpledger_core::store::pg::catalog;
use kpledger_core::{Ledger, OpenOptions};
use postgres::NoTls;

#[path = "common/pg_demo.rs"]
mod pg_demo;
#[path = "../../../tests/pg_server.rs"]
mod pg_server;
use pg_demo::demo_in_pg;
use pg_server::{database, server};

/// The PostgreSQL counterpart of `redteam5.rs`'s respelled row: a `parcels` row under another
/// spelling of a consumed parcel's id (upper case, a URN), open and 9,999.99 ct heavier, said
/// VERIFIED; now the row is one no signed event created (DB-1), as on a file.
#[test]
fn redteam5_pg_a_parcels_row_keyed_by_another_spelling_of_a_consumed_parcel_is_refused() {
    let Some(server) = server() else { return };
    let (dir, url) = demo_in_pg(&server, "redteam5-respelled", 8, "redteam5_respelled");
    let mut db = postgres::Client::connect(&url, NoTls).unwrap();
    let consumed: String =
        db.query_one("SELECT min(id) FROM public.parcels WHERE status = 'consumed'", &[]).unwrap().get(0);
    for key in [consumed.to_uppercase(), format!("urn:uuid:{consumed}")] {
        let mut tx = db.transaction().unwrap();
        tx.execute(
            "INSERT INTO public.parcels(id, holder, status, weight_pt, head, doc) \
             SELECT $1, holder, 'open', weight_pt + 999999, head, doc FROM public.parcels WHERE id = $2",
            &[&key, &consumed],
        )
        .unwrap();
        tx.commit().unwrap();
        let ledger =
            Ledger::open(url.as_ref(), OpenOptions { read_only: true, ..Default::default() }).unwrap();
        let report = ledger.verify(&mut |_, _| {}).unwrap();
        let says = format!("table parcels has a row \"{key}\" that no signed event created");
        assert!(!report.ok, "{key}: VERIFIED");
        assert!(
            report.findings.iter().any(|f| f.code.code() == "DB-1" && f.message.contains(&says)),
            "{key}: {:#?}",
            report.findings
        );
        drop(ledger);
        db.execute("DELETE FROM public.parcels WHERE id = $1", &[&key]).unwrap();
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `kpledger demo --ledger postgres://…` into a database the administrator prepared: a table
/// of kpledger's name with rows of its own, a function that would win over a built-in the
/// writes call, a collation named "C", a schema of its own, a view in `pg_catalog`. Each is
/// refused as a database that is not empty, before anything is written to it or to the
/// directory (the catalog as it was). A `search_path` set on the database is not an object:
/// the demo's connections set their own, and the demo's ledger verifies.
#[test]
fn redteam5_pg_demo_into_a_prepared_database_is_refused() {
    let Some(server) = server() else { return };
    let work = kpledger_testkit::TempDir::new("redteam5-pg-demo");
    let prepared = [
        (
            "table",
            "CREATE TABLE public.parcels(id text PRIMARY KEY); INSERT INTO public.parcels VALUES ('x')",
        ),
        (
            "function",
            "CREATE FUNCTION public.unnest(bytea[]) RETURNS SETOF bytea LANGUAGE sql AS 'SELECT NULL::bytea'",
        ),
        ("collation", "CREATE COLLATION public.\"C\" FROM pg_catalog.\"POSIX\""),
        ("schema", "CREATE SCHEMA kpledger; CREATE TABLE kpledger.parcels(id text)"),
        (
            "pg_catalog view",
            "SET allow_system_table_mods = on; CREATE VIEW pg_catalog.parcels AS SELECT 'x'::text AS id",
        ),
    ];
    for (what, sql) in prepared {
        let url = database(&server, &format!("redteam5_prepared_{what}"));
        let mut db = postgres::Client::connect(&url, NoTls).unwrap();
        db.batch_execute(sql).unwrap();
        let before = catalog(&mut db).unwrap();
        let dir = work.join(what.replace(' ', "-"));
        match run_in(&dir, Some(&url), 8, &mut |_| {}) {
            Err(DemoError::DatabaseNotEmpty(_)) => {}
            other => panic!("{what}: {:?}", other.map(|s| s.report.ok)),
        }
        assert_eq!(catalog(&mut db).unwrap(), before, "{what}: the refused demo changed the database");
        assert!(!dir.exists(), "{what}: the refused demo made its directory");
    }
    let url = database(&server, "redteam5_prepared_search_path");
    let name = url.rsplit_once('/').unwrap().1.to_owned();
    let mut db = postgres::Client::connect(&url, NoTls).unwrap();
    db.batch_execute(&format!("ALTER DATABASE {name} SET search_path = nowhere, public")).unwrap();
    let summary = run_in(&work.join("search-path"), Some(&url), 8, &mut |_| {}).unwrap();
    assert!(summary.report.ok, "{:#?}", summary.report.findings);
    let tables: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'parcels'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "the tables are in public");
}

/// `redteam5.rs`'s page edges on PostgreSQL: 4,095 extra `parcels` rows sorting before every
/// parcel's and 4,096 after (in the "C" collation's byte order, as the pages' `key > last`),
/// every parcel's weight edited: every row is reported, none hidden at a page's edge.
#[test]
fn redteam5_pg_rows_at_the_edges_of_the_parcel_pages_are_all_compared() {
    let Some(server) = server() else { return };
    let (dir, url) = demo_in_pg(&server, "redteam5-pages", 8, "redteam5_pages");
    let mut db = postgres::Client::connect(&url, NoTls).unwrap();
    let rows: i64 = db.query_one("SELECT count(*) FROM public.parcels", &[]).unwrap().get(0);
    let extra = |prefix: &str, n: u32| {
        format!(
            "INSERT INTO public.parcels(id, holder, status, weight_pt, head, doc) \
             SELECT '{prefix}' || lpad(i::text, 6, '0'), holder, status, weight_pt, head, doc \
             FROM generate_series(1, {n}) i, (SELECT * FROM public.parcels ORDER BY id LIMIT 1) p"
        )
    };
    db.batch_execute(&format!(
        "BEGIN; UPDATE public.parcels SET weight_pt = weight_pt + 1; {}; {}; COMMIT",
        extra("00000000-", 4095),
        extra("zz-", 4096)
    ))
    .unwrap();
    let ledger = Ledger::open(url.as_ref(), OpenOptions { read_only: true, ..Default::default() }).unwrap();
    let report = ledger.verify(&mut |_, _| {}).unwrap();
    let said = |what: &str| {
        report.findings.iter().filter(|f| f.code.code() == "DB-1" && f.message.contains(what)).count()
    };
    assert_eq!(said("that no signed event created"), 4095 + 4096);
    assert_eq!(said("column weight_pt is") as i64, rows);
    drop(ledger);
    let _ = std::fs::remove_dir_all(dir);
}

/// `redteam5.rs`'s documents in other bytes on PostgreSQL: a consumed parcel's document (its
/// row read in a batch, `= ANY($1)`) and a live one's (the streamed table) with a space after
/// their first colon, or a member added: DB-1, compared byte for byte.
#[test]
fn redteam5_pg_a_stored_document_in_other_bytes_is_refused() {
    let Some(server) = server() else { return };
    let (dir, url) = demo_in_pg(&server, "redteam5-docs", 8, "redteam5_docs");
    let mut db = postgres::Client::connect(&url, NoTls).unwrap();
    for status in ["= 'consumed'", "<> 'consumed'"] {
        let id: String = db
            .query_one(&format!("SELECT min(id) FROM public.parcels WHERE status {status}"), &[])
            .unwrap()
            .get(0);
        for edit in ["regexp_replace(doc, ':', ': ')", "regexp_replace(doc, '^\\{', '{\"aaa\":1,')"] {
            let doc: String =
                db.query_one("SELECT doc FROM public.parcels WHERE id = $1", &[&id]).unwrap().get(0);
            db.execute(&format!("UPDATE public.parcels SET doc = {edit} WHERE id = $1"), &[&id]).unwrap();
            let ledger =
                Ledger::open(url.as_ref(), OpenOptions { read_only: true, ..Default::default() }).unwrap();
            let report = ledger.verify(&mut |_, _| {}).unwrap();
            let says = format!("table parcels, row \"{id}\": column doc is");
            assert!(
                report.findings.iter().any(|f| f.code.code() == "DB-1" && f.message.contains(&says)),
                "{status} {edit}: {:#?}",
                report.findings
            );
            drop(ledger);
            db.execute("UPDATE public.parcels SET doc = $1 WHERE id = $2", &[&doc, &id]).unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
