//! Fifth red-team review: someone with write access to the ledger file against `verify
//! --ledger` (SECURITY.md, "Fifth red-team review"): the batched comparison of consumed
//! parcels' rows, the stored documents of the derived tables and the paging of derived rows.
//! The PostgreSQL counterparts are in `redteam5_pg.rs`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use kpledger_core::{Ledger, OpenOptions};
use kpledger_testkit::TempDir;
use kpledger_verify::Report;

/// `kpledger demo` with `parcels` parcels into a fresh directory: the directory and the ledger.
fn demo(tag: &str, parcels: u32) -> (TempDir, PathBuf) {
    let dir = TempDir::new(&format!("redteam5-{tag}"));
    let summary = kpledger_core::demo::run(&dir.join("demo"), parcels, &mut |_| {}).unwrap();
    assert!(summary.report.ok, "the demo does not verify: {:#?}", summary.report.findings);
    let ledger = summary.ledger;
    let conn = rusqlite::Connection::open(&ledger).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    (dir, ledger)
}

/// A copy of `ledger` named `name` in `dir`, edited by `statements` in one transaction.
fn edited(dir: &TempDir, ledger: &Path, name: &str, statements: &[String]) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(ledger, &to).unwrap();
    let mut conn = rusqlite::Connection::open(&to).unwrap();
    let tx = conn.transaction().unwrap();
    for s in statements {
        tx.execute_batch(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    tx.commit().unwrap();
    to
}

fn verify(path: &Path) -> Report {
    Ledger::open(path, OpenOptions { read_only: true, ..Default::default() })
        .unwrap()
        .verify(&mut |_, _| {})
        .unwrap()
}

/// The first value of `sql`'s first row.
fn one(path: &Path, sql: &str) -> String {
    rusqlite::Connection::open(path).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The report is refused with DB-1 errors only, one of which says `contains`.
#[track_caller]
fn only_db1(report: &Report, contains: &str, what: &str) {
    assert!(!report.ok, "{what}: VERIFIED");
    let codes: std::collections::BTreeSet<&str> =
        report.findings.iter().filter(|f| f.is_error()).map(|f| f.code.code()).collect();
    assert_eq!(codes, std::collections::BTreeSet::from(["DB-1"]), "{what}: {:#?}", report.findings);
    assert!(
        report.findings.iter().any(|f| f.code.code() == "DB-1" && f.message.contains(contains)),
        "{what}: no DB-1 saying {contains:?}: {:#?}",
        report.findings
    );
}

/// Other spellings of a parcel id that the UUID reader takes for the same id: upper case, no
/// hyphens, braces, a URN.
pub fn respellings(id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("upper", id.to_uppercase()),
        ("simple", id.replace('-', "")),
        ("braced", format!("{{{id}}}")),
        ("urn", format!("urn:uuid:{id}")),
    ]
}

/// A row of `parcels` under another spelling of a consumed parcel's id (upper case, no
/// hyphens, braces, a URN), a copy of that parcel's row but open and 9,999.99 ct heavier:
/// whole-ledger verification read each stored key as a UUID, took it for the consumed parcel
/// ("compared when it was consumed") and passed the row over: VERIFIED, with `parcels` holding
/// an open parcel that no signed event created. Now a key is a parcel's only if it is the
/// parcel id as kpledger writes it; any other row is one no signed event created. The same
/// spellings of an open parcel's id were already refused (its row compared, the key differing).
#[test]
fn redteam5_a_parcels_row_keyed_by_another_spelling_of_a_consumed_parcel_is_refused() {
    let (dir, ledger) = demo("respelled", 8);
    let consumed = one(&ledger, "SELECT min(id) FROM parcels WHERE status = 'consumed'");
    let open = one(&ledger, "SELECT min(id) FROM parcels WHERE status <> 'consumed'");
    for (parcel, kind) in [(&consumed, "consumed"), (&open, "live")] {
        for (how, key) in respellings(parcel) {
            let path = edited(
                &dir,
                &ledger,
                &format!("{kind}-{how}.kpl"),
                &[format!(
                    "INSERT INTO parcels(id, holder, status, weight_pt, head, doc) \
                     SELECT '{key}', holder, 'open', weight_pt + 999999, head, doc FROM parcels WHERE id = '{parcel}'"
                )],
            );
            let report = verify(&path);
            let what = format!("{kind} parcel {parcel} stored again as {key:?}");
            if kind == "consumed" {
                only_db1(
                    &report,
                    &format!("table parcels has a row \"{key}\" that no signed event created"),
                    &what,
                );
            } else {
                assert!(!report.ok, "{what}: VERIFIED");
            }
        }
    }
}

/// `doc` of the row `key` of `table` (keyed by `column`) set to `doc`, in a copy named `name`.
fn with_doc(
    dir: &TempDir,
    ledger: &Path,
    name: &str,
    table: &str,
    column: &str,
    key: &str,
    doc: &str,
) -> PathBuf {
    let to = edited(dir, ledger, name, &[]);
    let conn = rusqlite::Connection::open(&to).unwrap();
    let n = conn.execute(&format!("UPDATE {table} SET doc = ?1 WHERE {column} = ?2"), [doc, key]).unwrap();
    assert_eq!(n, 1, "{table} {key}");
    to
}

/// Documents that read into the same record as `doc` (or one member more), in other bytes:
/// a member added, the last one repeated, the first moved last, white space, a number written
/// as a decimal or with an exponent, a character written as a `\u` escape.
fn same_record_other_bytes(doc: &str) -> Vec<(&'static str, String)> {
    let first_end = doc.find(",\"").unwrap();
    let last_start = doc.rfind(",\"").unwrap();
    let (first, rest) = (&doc[1..first_end], &doc[first_end + 1..doc.len() - 1]);
    let last = &doc[last_start + 1..doc.len() - 1];
    let number = |with: &str| {
        let (name, value) = last.split_once(':').unwrap();
        assert!(value.bytes().all(|b| b.is_ascii_digit()), "the last member is a number: {last}");
        format!("{},{name}:{value}{with}}}", &doc[..last_start])
    };
    vec![
        ("extra", doc.replacen('{', "{\"aaa\":1,", 1)),
        ("repeated", format!("{},{last}}}", &doc[..doc.len() - 1])),
        ("reordered", format!("{{{rest},{first}}}")),
        ("spaced", doc.replacen(':', ": ", 1)),
        ("decimal", number(".0")),
        ("exponent", number("E0")),
        ("escaped", escaped_after(doc, "\"holder\":\"")),
    ]
}

/// `doc` with the character after the first `after` written as a `\u` escape.
fn escaped_after(doc: &str, after: &str) -> String {
    let at = doc.find(after).unwrap() + after.len();
    let c = doc[at..].chars().next().unwrap();
    format!("{}\\u{:04x}{}", &doc[..at], c as u32, &doc[at + c.len_utf8()..])
}

/// The stored documents of the derived tables (docs/SPEC.md §11.1b) are compared byte for
/// byte with the ones recomputed from the events: a document that reads into the same state,
/// or into one with a member more, in other bytes is DB-1, for a consumed parcel (compared in
/// a batch), a live one (the streamed `parcels` table) and an actor (the tables read whole).
#[test]
fn redteam5_a_stored_document_in_other_bytes_is_refused() {
    let (dir, ledger) = demo("docs", 8);
    let consumed = one(&ledger, "SELECT min(id) FROM parcels WHERE status = 'consumed'");
    let live = one(&ledger, "SELECT min(id) FROM parcels WHERE status <> 'consumed'");
    for (kind, id) in [("consumed", &consumed), ("live", &live)] {
        let doc = one(&ledger, &format!("SELECT doc FROM parcels WHERE id = '{id}'"));
        for (how, other) in same_record_other_bytes(&doc) {
            assert_ne!(other, doc, "{how}");
            let path = with_doc(&dir, &ledger, &format!("{kind}-{how}.kpl"), "parcels", "id", id, &other);
            only_db1(
                &verify(&path),
                &format!("table parcels, row \"{id}\": column doc is"),
                &format!("{kind} {how}"),
            );
        }
    }
    let actor = one(&ledger, "SELECT min(id) FROM actors");
    let doc = one(&ledger, &format!("SELECT doc FROM actors WHERE id = '{actor}'"));
    for (how, other) in [
        ("escaped", escaped_after(&doc, "\"id\":\"")),
        ("spaced", doc.replacen(':', " : ", 1)),
        ("extra", doc.replacen('{', "{\"aaa\":[],", 1)),
    ] {
        assert_ne!(other, doc, "{how}");
        let path = with_doc(&dir, &ledger, &format!("actor-{how}.kpl"), "actors", "id", &actor, &other);
        only_db1(
            &verify(&path),
            &format!("table actors, row \"{actor}\": column doc is"),
            &format!("actor {how}"),
        );
    }
}

/// More consumed parcels than a batch (1,024): every consumed parcel's row edited, or deleted,
/// is reported, those of the full batches, the ones at a batch's edges and those of the last,
/// partial batch compared by `finish`.
#[test]
fn redteam5_every_consumed_row_across_batches_is_compared() {
    let (dir, ledger) = demo("batches", 1100);
    let consumed: usize =
        one(&ledger, "SELECT CAST(count(*) AS TEXT) FROM parcels WHERE status = 'consumed'").parse().unwrap();
    assert!(
        consumed > 1024 && !consumed.is_multiple_of(1024),
        "{consumed} consumed parcels: more than a batch, and a partial one"
    );
    let cases = [
        (
            "weight",
            "UPDATE parcels SET weight_pt = weight_pt + 1 WHERE status = 'consumed'",
            "column weight_pt is",
        ),
        ("missing", "DELETE FROM parcels WHERE status = 'consumed'", "is missing from table parcels"),
    ];
    for (name, statement, says) in cases {
        let path = edited(&dir, &ledger, &format!("{name}.kpl"), &[statement.to_owned()]);
        let report = verify(&path);
        let reported =
            report.findings.iter().filter(|f| f.code.code() == "DB-1" && f.message.contains(says)).count();
        assert_eq!(reported, consumed, "{name}: {} findings", report.findings.len());
    }
}

/// Signed text may hold U+FFFD (a name mis-decoded before it was signed): the actors' stored
/// document then holds its three bytes, EF BF BD. Stored as the single byte FF instead (not
/// UTF-8, which SQLite does not check), the document was read with invalid UTF-8 replaced by
/// U+FFFD, which made it equal to the recomputed one: VERIFIED over stored bytes that no event
/// gives (and that the reads of one actor refuse as unreadable). Now a text cell that is not
/// UTF-8 is read as its bytes, and differs from every text (DB-1).
#[test]
fn redteam5_a_stored_text_that_is_not_utf8_is_refused() {
    use kpledger_core::sim::Sim;
    use kpledger_model::{Origin, Time};
    let dir = TempDir::new("redteam5-utf8");
    let path = dir.join("ledger.kpl");
    let ledger = Ledger::create(&path).unwrap();
    let start = Time::new(kpledger_core::demo::DEMO_START).unwrap();
    let mut sim =
        Sim::new(ledger, Origin::new(kpledger_core::demo::DEMO_ORIGIN).unwrap(), "redteam5", &start);
    let root = sim.genesis("sl.nma", "Ministry of Mines \u{FFFD} Sierra Leone", "SL").unwrap();
    drop(sim);
    assert!(verify(&path).ok);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let doc = actor_doc(&conn, root.as_str());
    let bytes = doc.replace('\u{FFFD}', "\u{0}").into_bytes();
    let bytes: Vec<u8> = bytes.into_iter().map(|b| if b == 0 { 0xFF } else { b }).collect();
    assert!(std::str::from_utf8(&bytes).is_err());
    set_actor_doc_bytes(&conn, root.as_str(), &bytes);
    drop(conn);
    only_db1(
        &verify(&path),
        &format!("table actors, row \"{root}\": column doc is"),
        "doc with FF for U+FFFD",
    );
}

/// Verification streams `parcels` a page of 4,096 rows at a time, each page after the last key
/// of the one before. With 4,095 extra rows sorting before every parcel's (so that a page ends
/// after the first parcel's row) and 4,096 after, and every parcel's weight edited, every row
/// is still reported: each extra row as one no signed event created, each live parcel's weight
/// and each consumed one's, none hidden at a page's edge.
#[test]
fn redteam5_rows_at_the_edges_of_the_parcel_pages_are_all_compared() {
    let (dir, ledger) = demo("pages", 8);
    let count = |sql: &str| -> usize {
        one(&ledger, &format!("SELECT CAST(count(*) AS TEXT) {sql}")).parse().unwrap()
    };
    let (live, consumed) =
        (count("FROM parcels WHERE status <> 'consumed'"), count("FROM parcels WHERE status = 'consumed'"));
    let extra = |prefix: &str, n: usize| {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             INSERT INTO parcels(id, holder, status, weight_pt, head, doc) \
             SELECT printf('{prefix}%06d', i), holder, status, weight_pt, head, doc FROM n, \
             (SELECT * FROM parcels ORDER BY id LIMIT 1)"
        )
    };
    let path = edited(
        &dir,
        &ledger,
        "pages.kpl",
        &[
            "UPDATE parcels SET weight_pt = weight_pt + 1".to_owned(),
            extra("00000000-", 4095),
            extra("zz-", 4096),
        ],
    );
    let report = verify(&path);
    let said = |what: &str| {
        report.findings.iter().filter(|f| f.code.code() == "DB-1" && f.message.contains(what)).count()
    };
    assert_eq!(said("that no signed event created"), 4095 + 4096);
    assert_eq!(said("column weight_pt is"), live + consumed, "{live} live, {consumed} consumed");
}

/// `from`'s tables, rows, application id and version written into a new file `to` whose text
/// encoding is UTF-16le (SQLite converts text to UTF-8 when it is read; a database cannot
/// attach one of another encoding, so the rows are copied through this process).
fn utf16_copy(from: &Path, to: &Path) {
    let src = rusqlite::Connection::open(from).unwrap();
    let mut dst = rusqlite::Connection::open(to).unwrap();
    dst.execute_batch("PRAGMA encoding = 'UTF-16le'").unwrap();
    for pragma in ["application_id", "user_version"] {
        let v: i64 = src.pragma_query_value(None, pragma, |r| r.get(0)).unwrap();
        dst.pragma_update(None, pragma, v).unwrap();
    }
    let mut st = src
        .prepare("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid")
        .unwrap();
    let entries: Vec<(String, String, String)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    let tx = dst.transaction().unwrap();
    for (_, _, sql) in &entries {
        tx.execute_batch(sql).unwrap();
    }
    for (_, table, _) in entries.iter().filter(|(kind, ..)| kind == "table") {
        let mut rows = src.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = rows.column_count();
        let marks: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
        let mut insert = tx.prepare(&format!("INSERT INTO {table} VALUES ({})", marks.join(", "))).unwrap();
        let mut q = rows.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let values: Vec<rusqlite::types::Value> = (0..n).map(|i| r.get(i).unwrap()).collect();
            insert.execute(rusqlite::params_from_iter(values)).unwrap();
        }
    }
    drop(entries);
    tx.commit().unwrap();
}

/// A ledger file whose text encoding is UTF-16 (kpledger writes UTF-8): its `sqlite_schema`
/// reads exactly as kpledger's, and SQLite decodes UTF-16 to the same text for several byte
/// strings (a high surrogate followed by any unit is read as a pair: D83D 008E as D83D DC8E).
/// The actor whose signed name holds U+1F48E, stored as D83D 008E, was read as the signed
/// name: VERIFIED over stored bytes that encode no text. Now a file that is not UTF-8 is not
/// kpledger's, refused by every command before anything is read (exit 2), as a schema that
/// differs is.
#[test]
fn redteam5_a_ledger_file_in_utf16_is_refused() {
    use kpledger_core::sim::Sim;
    use kpledger_model::{Origin, Time};
    let dir = TempDir::new("redteam5-utf16");
    let path = dir.join("ledger.kpl");
    let start = Time::new(kpledger_core::demo::DEMO_START).unwrap();
    let origin = Origin::new(kpledger_core::demo::DEMO_ORIGIN).unwrap();
    let mut sim = Sim::new(Ledger::create(&path).unwrap(), origin, "redteam5", &start);
    let root = sim.genesis("sl.nma", "Ministry of Mines \u{1F48E} Sierra Leone", "SL").unwrap();
    drop(sim);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    drop(conn);
    let utf16 = dir.join("utf16.kpl");
    utf16_copy(&path, &utf16);
    let conn = rusqlite::Connection::open(&utf16).unwrap();
    let doc = actor_doc(&conn, root.as_str());
    let units: Vec<u16> = doc.encode_utf16().map(|u| if u == 0xDC8E { 0x008E } else { u }).collect();
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
    set_actor_doc_bytes(&conn, root.as_str(), &bytes);
    let read = actor_doc(&conn, root.as_str());
    assert_eq!(read, doc, "SQLite reads the edited bytes as the signed text");
    drop(conn);
    match Ledger::open(&utf16, OpenOptions { read_only: true, ..Default::default() }) {
        Err(kpledger_core::StoreError::Storage(kpledger_core::StorageError::Schema {
            differences, ..
        })) => {
            assert!(differences.contains("UTF-16le"), "{differences}");
        }
        Err(e) => panic!("refused, but not for its encoding: {e}"),
        Ok(ledger) => panic!("opened: verify says ok = {}", ledger.verify(&mut |_, _| {}).unwrap().ok),
    }
}

/// The stored document of actor `id`, as SQLite reads it as text.
fn actor_doc(conn: &rusqlite::Connection, id: &str) -> String {
    conn.query_row("SELECT doc FROM actors WHERE id = ?1", [id], |r| r.get(0)).unwrap()
}

/// Stores `bytes` as the text of actor `id`'s document, whatever they are.
fn set_actor_doc_bytes(conn: &rusqlite::Connection, id: &str, bytes: &[u8]) {
    let n = conn
        .execute("UPDATE actors SET doc = CAST(?1 AS TEXT) WHERE id = ?2", rusqlite::params![bytes, id])
        .unwrap();
    assert_eq!(n, 1, "actor {id} has no row");
}
