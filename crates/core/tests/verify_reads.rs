//! How whole-ledger verification asks the store for the rows of consumed parcels: a batch at
//! a time (`StoredRows::compare_rows`), never one lookup per parcel, so that a store across a
//! network (PostgreSQL) answers one statement for many keys rather than a round trip each; and
//! every row asked about is still compared, the last batch by `LedgerCheck::finish`, a row the
//! store does not answer for counted as missing.
#![allow(clippy::unwrap_used)]

mod common;

use kpledger_core::demo;
use kpledger_core::{Ledger, OpenOptions};
use kpledger_testkit::TempDir;
use kpledger_verify::{Cell, Report, StoredRow, StoredRows, Tables};

/// A store that counts how it is asked, agrees with every row but the one of `differs` (whose
/// stored weight is one point more), and answers for at most `answers` rows of a batch.
#[derive(Default)]
struct Counting {
    batches: Vec<usize>,
    asked: Vec<String>,
    differs: Option<String>,
    answers: Option<usize>,
}

impl Counting {
    fn answer(&self, expected: &[Cell]) -> StoredRow {
        let key = match expected.first() {
            Some(Cell::Text(k)) => k.clone(),
            other => panic!("a parcels row keyed by {other:?}"),
        };
        if self.differs.as_ref() != Some(&key) {
            return StoredRow::Same;
        }
        // weight_pt, the fourth column.
        let mut got = expected.to_vec();
        let Cell::Int(w) = got[3] else { panic!("weight_pt is {:?}", got[3]) };
        got[3] = Cell::Int(w + 1);
        StoredRow::Differs(got)
    }
}

impl StoredRows for Counting {
    fn compare_rows(&mut self, table: &str, expected: &[Vec<Cell>]) -> Vec<StoredRow> {
        assert_eq!(table, "parcels");
        self.batches.push(expected.len());
        self.asked.extend(expected.iter().map(|e| format!("{:?}", e[0])));
        let n = self.answers.unwrap_or(expected.len()).min(expected.len());
        expected[..n].iter().map(|e| self.answer(e)).collect()
    }
    fn log_node(&mut self, _: u32, _: u64) -> Option<kpledger_model::Hash> {
        None
    }
}

/// The demo's ledger verified through `stored` (the derived tables but consumed parcels left
/// empty: only what `stored` answers is looked at here).
fn verify_demo(ledger: &Ledger, stored: &mut Counting) -> Report {
    let n = ledger.len().unwrap();
    let docs = ledger.event_docs(1, n).unwrap();
    let check = common::fed_check(&docs, stored);
    check.finish(stored, &Tables::new(), &mut std::iter::empty(), Default::default(), &[])
}

/// The messages of the DB-1 errors of `report` that name parcel `key`.
fn consumed_row_errors(report: &Report, key: &str) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.code.code() == "DB-1" && f.is_error())
        .filter(|f| f.parcel.is_some_and(|p| p.to_string() == key))
        .map(|f| f.message.clone())
        .collect()
}

#[test]
fn consumed_parcels_rows_are_compared_in_batches_and_every_one_is_checked() {
    let dir = TempDir::new("verify-reads");
    let summary = demo::run(&dir.join("demo"), 8, &mut |_| {}).unwrap();
    assert!(summary.report.ok);
    let ledger =
        Ledger::open(&summary.ledger, OpenOptions { read_only: true, ..Default::default() }).unwrap();
    let consumed: Vec<String> = {
        let c = rusqlite::Connection::open(&summary.ledger).unwrap();
        let mut st = c.prepare("SELECT id FROM parcels WHERE status = 'consumed' ORDER BY id").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert!(consumed.len() > 4, "the demo merges and splits parcels: {consumed:?}");

    // Asked once for all of them (fewer than a batch): no lookup per parcel.
    let mut stored = Counting::default();
    verify_demo(&ledger, &mut stored);
    assert_eq!(stored.batches, [consumed.len()], "one batch, every consumed parcel once");
    let mut asked = stored.asked.clone();
    asked.sort();
    let expected: Vec<String> = consumed.iter().map(|k| format!("{:?}", Cell::Text(k.clone()))).collect();
    assert_eq!(asked, expected);

    // The last batch is compared by `finish`: a stored row that differs is reported, the first
    // consumed parcel and the last.
    for key in [consumed.first().unwrap(), consumed.last().unwrap()] {
        let mut stored = Counting { differs: Some(key.clone()), ..Default::default() };
        let report = verify_demo(&ledger, &mut stored);
        let errors = consumed_row_errors(&report, key);
        assert!(
            errors.iter().any(|m| m.contains("column weight_pt")),
            "the edited weight of consumed parcel {key} is not reported: {:#?}",
            report.findings
        );
    }

    // A store that answers for fewer rows than it was asked about: the others are missing,
    // never passed over.
    let mut stored = Counting { answers: Some(1), ..Default::default() };
    let report = verify_demo(&ledger, &mut stored);
    let missing: usize = consumed
        .iter()
        .filter(|k| {
            consumed_row_errors(&report, k).iter().any(|m| m.contains("is missing from table parcels"))
        })
        .count();
    assert_eq!(missing, consumed.len() - 1, "{:#?}", report.findings);
}
