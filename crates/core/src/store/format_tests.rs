//! The stored format in one place: the tables this build creates hold exactly the columns,
//! in the order and of the SQL types, that `kpledger_verify::rows` encodes; and the stored
//! `doc` of every derived row of a ledger made by kpledger 0.1.0 and migrated is byte for
//! byte what it was when this test was last blessed (`KPLEDGER_BLESS=1 cargo test -p
//! kpledger-core --lib` rewrites `fixtures/store/derived-docs.txt`), so that changing an
//! in-memory type cannot change the file format unnoticed.

use std::path::PathBuf;

use kpledger_model::hash::sha256;
use kpledger_verify::Cell;
use kpledger_verify::rows::{
    ActorRow, CertificateRow, DerivedRow, MetaRow, ParcelRow, PolicyRow, SiteRow, TABLES, columns,
};
use rusqlite::Connection;

use super::backend::{Reads, Writes};
use super::schema::SCHEMA;

/// `PRAGMA table_info` of `table`: (name, declared type) of each column, in order.
fn table_info(conn: &Connection, table: &str) -> Vec<(String, String)> {
    let mut st = conn.prepare(&format!("PRAGMA table_info({table})")).unwrap();
    st.query_map([], |r| Ok((r.get(1)?, r.get(2)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

fn sql_type(c: &Cell) -> &'static str {
    match c {
        Cell::Null => "NULL",
        Cell::Int(_) => "INTEGER",
        Cell::Text(_) => "TEXT",
        Cell::Blob(_) => "BLOB",
    }
}

/// One row of each derived table, built field by field.
fn one_of_each() -> Vec<DerivedRow> {
    let t = |s: &str| s.to_owned();
    vec![
        DerivedRow::Meta(MetaRow { key: t("origin"), value: t("example.org/log") }),
        DerivedRow::Actor(ActorRow {
            id: t("a"),
            role: t("miner"),
            country: t("SL"),
            revoked: false,
            doc: t("{}"),
        }),
        DerivedRow::Site(SiteRow { id: t("s"), country: t("SL"), doc: t("{}") }),
        DerivedRow::Policy(PolicyRow { country: t("SL"), version: t("1"), doc: t("{}") }),
        DerivedRow::Parcel(ParcelRow {
            id: t("p"),
            holder: t("a"),
            status: t("open"),
            weight_pt: 1,
            head: vec![0; 32],
            doc: t("{}"),
        }),
        DerivedRow::Certificate(CertificateRow {
            number: t("n"),
            issuing_country: t("SL"),
            status: t("issued"),
            doc: t("{}"),
        }),
    ]
}

#[test]
fn the_created_tables_have_the_columns_the_encoders_write() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    conn.execute_batch(crate::log_tree::SCHEMA).unwrap();
    for table in TABLES {
        let names: Vec<String> = table_info(&conn, table).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, columns(table), "columns of {table}");
    }
    let frontier: Vec<String> = table_info(&conn, "log_frontier").into_iter().map(|(n, _)| n).collect();
    assert_eq!(frontier, columns("log_frontier"));
    let rows = one_of_each();
    let tables: Vec<&str> = rows.iter().map(DerivedRow::table).collect();
    assert_eq!(tables, TABLES, "one sample row per derived table");
    for row in &rows {
        let info = table_info(&conn, row.table());
        let cells = row.cells();
        assert_eq!(cells.len(), info.len(), "cells of {}", row.table());
        for (cell, (name, declared)) in cells.iter().zip(&info) {
            assert_eq!(sql_type(cell), declared, "{}.{name}", row.table());
        }
        assert_eq!(row.columns(), columns(row.table()));
        // Written by name and read back cell for cell.
        conn.put_derived(row).unwrap();
        assert_eq!(conn.derived_row(row.table(), row.key()).unwrap(), Some(cells), "{}", row.table());
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Every derived row of the 0.1.0 ledger once migrated: table, key and the SHA-256 of its
/// stored document, one line each.
fn derived_docs_of_the_upgraded_ledger() -> String {
    let dir = std::env::temp_dir().join(format!(
        "kpledger-doc-format-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    // A copy: reading a WAL file beside it would leave its -shm and -wal in the fixtures.
    let from = dir.join("v0.1.0.kpl");
    std::fs::copy(fixtures().join("upgrade/v0.1.0/ledger.kpl"), &from).unwrap();
    let to = dir.join("migrated.kpl");
    let done = crate::migrate::migrate(&from, &to, &mut |_, _| {});
    let done = done.unwrap();
    assert!(done.report.ok, "the migrated ledger verifies");
    let conn = Connection::open(&to).unwrap();
    let mut out = String::new();
    for table in TABLES {
        let doc_at =
            columns(table).iter().position(|c| *c == "doc" || (table == "meta" && *c == "value")).unwrap();
        for row in conn.derived_rows(table).unwrap() {
            let (Some(Cell::Text(key)), Some(Cell::Text(doc))) = (row.first(), row.get(doc_at)) else {
                panic!("{table}: a row without a text key and document: {row:?}");
            };
            out.push_str(&format!(
                "{table}\t{key}\t{}\n",
                kpledger_model::Hash(sha256(&[doc.as_bytes()])).to_hex()
            ));
        }
    }
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn the_stored_documents_keep_their_bytes() {
    let golden = fixtures().join("store/derived-docs.txt");
    let now = derived_docs_of_the_upgraded_ledger();
    if std::env::var_os("KPLEDGER_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &now).unwrap();
        return;
    }
    let then = std::fs::read_to_string(&golden).unwrap();
    for (a, b) in then.lines().zip(now.lines()) {
        assert_eq!(a, b, "a stored document changed its bytes (docs/SPEC.md §11.1b: a format change)");
    }
    assert_eq!(then.lines().count(), now.lines().count(), "the derived rows changed");
}
