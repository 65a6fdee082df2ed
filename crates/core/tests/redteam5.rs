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
    Ledger::open(path, OpenOptions { read_only: true, ..Default::default() }).unwrap().verify(&mut |_, _| {}).unwrap()
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
                only_db1(&report, &format!("table parcels has a row \"{key}\" that no signed event created"), &what);
            } else {
                assert!(!report.ok, "{what}: VERIFIED");
            }
        }
    }
}
