//! The every-cell tamper sweep, one driver for the end-to-end demo test (tests/e2e/demo.rs:
//! `kpledger verify --ledger` of a file or a PostgreSQL database) and the PostgreSQL store's
//! test (crates/core/tests/pg_schema.rs: `Ledger::verify` in the test's process), both of
//! which include this file (`#[path]`): every cell of the chosen rows of every table changed,
//! each such row deleted, an event appended, each edit judged by the caller's verification,
//! undone, and the ledger checked to be every row as it was.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use rusqlite::types::Value as Sql;
use rusqlite::{Connection, ErrorCode, params_from_iter};

/// One way to tamper with a ledger.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Change one cell of the table's row.
    Cell { table: usize, column: usize, how: How },
    /// Delete the table's row.
    Delete { table: usize },
    /// Add a row: the table's row with every value changed (for `events`: an event appended
    /// behind the authority's back).
    Insert { table: usize },
}

#[derive(Debug, Clone, Copy)]
pub enum How {
    /// A realistic edit of the same type and shape: a number changed, a digit or letter
    /// of a text changed (JSON stays valid), a byte of a blob flipped.
    Change,
    /// JSON text with a space appended: still valid JSON that means the same.
    Space,
}

pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// Which row of the table it is, for messages ("first", "last").
    pub which: String,
    /// The row edited.
    pub row: Vec<Sql>,
}

/// `v` changed into something of the same type; `k` (1, 2, …) picks another candidate when
/// one collides with a UNIQUE or PRIMARY KEY constraint.
pub fn changed(v: &Sql, how: How, k: u32) -> Sql {
    match (v, how) {
        (Sql::Text(s), How::Space) => Sql::Text(format!("{s}{}", " ".repeat(k as usize))),
        (Sql::Null, _) => Sql::Integer(i64::from(k)),
        (Sql::Integer(i), _) => Sql::Integer(i.wrapping_add(i64::from(k))),
        (Sql::Real(f), _) => Sql::Real(f64::from_bits(f.to_bits() ^ u64::from(k))),
        (Sql::Blob(b), _) => {
            let mut b = b.clone();
            match b.first_mut() {
                Some(x) => *x ^= (k % 255 + 1) as u8,
                None => b.push(k as u8),
            }
            Sql::Blob(b)
        }
        (Sql::Text(s), How::Change) => {
            let mut chars: Vec<char> = s.chars().collect();
            let digit = chars.iter().rposition(char::is_ascii_digit);
            let letter = chars.iter().rposition(char::is_ascii_alphabetic);
            match (digit, letter) {
                (Some(i), _) if k < 10 => {
                    chars[i] = char::from(b'0' + ((chars[i] as u8 - b'0') + k as u8) % 10);
                }
                (_, Some(i)) if k < 26 => {
                    let base = if chars[i].is_ascii_lowercase() { b'a' } else { b'A' };
                    chars[i] = char::from(base + ((chars[i] as u8 - base) + k as u8) % 26);
                }
                _ => chars.extend(format!("~{k}").chars()),
            }
            Sql::Text(chars.into_iter().collect())
        }
    }
}

pub fn show(v: &Sql) -> String {
    let s = match v {
        Sql::Text(t) => format!("{t:?}"),
        Sql::Blob(b) => format!("x'{}'", b.iter().take(8).map(|x| format!("{x:02x}")).collect::<String>()),
        other => format!("{other:?}"),
    };
    if s.chars().count() > 70 { format!("{}…", s.chars().take(70).collect::<String>()) } else { s }
}

/// Why a store refused a statement.
#[derive(Debug)]
pub enum Refused {
    /// A constraint of the database (UNIQUE, PRIMARY KEY, CHECK, NOT NULL): the edit is not
    /// possible that way.
    Constraint,
    Other(String),
}

/// A ledger's tables, edited behind kpledger's back by the tests here with the store's own
/// client: rusqlite for a file, the `postgres` crate for a PostgreSQL database. Statements
/// are written once, with `?` for each parameter; values are SQLite's types (a PostgreSQL
/// `bigint`, `integer` or `boolean` is an integer, `bytea` a blob).
pub trait Cells {
    /// The ledger's tables, by name.
    fn tables(&mut self) -> Vec<String>;
    /// The column names of `table` and its first row, if it has one.
    fn first_row(&mut self, table: &str) -> (Vec<String>, Option<Vec<Sql>>);
    /// The rows `sql` returns.
    fn query(&mut self, sql: &str, params: &[Sql]) -> Vec<Vec<Sql>>;
    /// Runs a statement: the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Sql]) -> Result<usize, Refused>;
}

/// The tables of the ledger at `ledger` (a file, or a PostgreSQL URL).
pub fn open_cells(ledger: &Path) -> Box<dyn Cells> {
    if ledger.to_str().is_some_and(|l| l.starts_with("postgres://")) {
        Box::new(postgres::Client::connect(ledger.to_str().unwrap(), postgres::NoTls).unwrap())
    } else {
        Box::new(Connection::open(ledger).unwrap())
    }
}

impl Cells for Connection {
    fn tables(&mut self) -> Vec<String> {
        let rows =
            Cells::query(self, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name", &[]);
        rows.into_iter().map(|r| if let Sql::Text(t) = &r[0] { t.clone() } else { panic!("{r:?}") }).collect()
    }

    fn first_row(&mut self, table: &str) -> (Vec<String>, Option<Vec<Sql>>) {
        let mut st = self.prepare(&format!("SELECT * FROM \"{table}\" LIMIT 1")).unwrap();
        let columns: Vec<String> = st.column_names().map(str::to_owned).collect();
        let first = st
            .query_row([], |r| (0..columns.len()).map(|i| r.get::<_, Sql>(i)).collect::<Result<Vec<_>, _>>())
            .ok();
        (columns, first)
    }

    fn query(&mut self, sql: &str, params: &[Sql]) -> Vec<Vec<Sql>> {
        let mut st = self.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let n = st.column_count();
        st.query_map(params_from_iter(params), |r| (0..n).map(|i| r.get::<_, Sql>(i)).collect())
            .and_then(Iterator::collect)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn execute(&mut self, sql: &str, params: &[Sql]) -> Result<usize, Refused> {
        Connection::execute(self, sql, params_from_iter(params)).map_err(|e| {
            if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
                Refused::Constraint
            } else {
                Refused::Other(format!("{sql}: {e}"))
            }
        })
    }
}

/// `?` marks as PostgreSQL's `$1`, `$2`, … (the tests' statements have no `?` elsewhere).
pub fn numbered(sql: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

/// A PostgreSQL value as SQLite's type.
pub fn from_pg(row: &postgres::Row, i: usize) -> Sql {
    use postgres::types::Type;
    let ty = row.columns()[i].type_();
    let v = if *ty == Type::INT8 {
        row.get::<_, Option<i64>>(i).map(Sql::Integer)
    } else if *ty == Type::INT4 {
        row.get::<_, Option<i32>>(i).map(|x| Sql::Integer(x.into()))
    } else if *ty == Type::BOOL {
        row.get::<_, Option<bool>>(i).map(|x| Sql::Integer(x.into()))
    } else if *ty == Type::BYTEA {
        row.get::<_, Option<Vec<u8>>>(i).map(Sql::Blob)
    } else if *ty == Type::TEXT {
        row.get::<_, Option<String>>(i).map(Sql::Text)
    } else {
        panic!("column {} is of type {ty}, which this test does not read", row.columns()[i].name())
    };
    v.unwrap_or(Sql::Null)
}

/// A value for a PostgreSQL parameter of type `ty`. An integer for a `boolean` is true only
/// when it is 1, so that every changed integer is a changed boolean.
pub fn to_pg(v: &Sql, ty: &postgres::types::Type) -> Box<dyn postgres::types::ToSql + Sync> {
    use postgres::types::Type;
    match v {
        Sql::Null => Box::new(None::<String>),
        Sql::Integer(x) if *ty == Type::INT4 => Box::new(i32::try_from(*x).unwrap_or(i32::MIN)),
        Sql::Integer(x) if *ty == Type::BOOL => Box::new(*x == 1),
        Sql::Integer(x) => Box::new(*x),
        Sql::Text(t) => Box::new(t.clone()),
        Sql::Blob(b) => Box::new(b.clone()),
        Sql::Real(f) => Box::new(*f),
    }
}

impl Cells for postgres::Client {
    fn tables(&mut self) -> Vec<String> {
        let rows = Cells::query(
            self,
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        );
        rows.into_iter().map(|r| if let Sql::Text(t) = &r[0] { t.clone() } else { panic!("{r:?}") }).collect()
    }

    fn first_row(&mut self, table: &str) -> (Vec<String>, Option<Vec<Sql>>) {
        let st = self.prepare(&format!("SELECT * FROM \"{table}\" LIMIT 1")).unwrap();
        let columns = st.columns().iter().map(|c| c.name().to_owned()).collect();
        let rows = postgres::Client::query(self, &st, &[]).unwrap();
        (columns, rows.first().map(|r| (0..r.len()).map(|i| from_pg(r, i)).collect()))
    }

    fn query(&mut self, sql: &str, params: &[Sql]) -> Vec<Vec<Sql>> {
        let st = self.prepare(&numbered(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let values: Vec<_> = params.iter().zip(st.params()).map(|(v, ty)| to_pg(v, ty)).collect();
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = values.iter().map(AsRef::as_ref).collect();
        let rows = postgres::Client::query(self, &st, &refs).unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter().map(|r| (0..r.len()).map(|i| from_pg(r, i)).collect()).collect()
    }

    fn execute(&mut self, sql: &str, params: &[Sql]) -> Result<usize, Refused> {
        let st = self.prepare(&numbered(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let values: Vec<_> = params.iter().zip(st.params()).map(|(v, ty)| to_pg(v, ty)).collect();
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = values.iter().map(AsRef::as_ref).collect();
        match postgres::Client::execute(self, &st, &refs) {
            Ok(n) => Ok(usize::try_from(n).unwrap()),
            // Class 23: integrity constraint violation.
            Err(e) if e.code().is_some_and(|c| c.code().starts_with("23")) => Err(Refused::Constraint),
            Err(e) => Err(Refused::Other(format!("{sql}: {e}"))),
        }
    }
}

/// A statement and its parameters.
pub type Statement = (String, Vec<Sql>);

/// Tries `attempt(k)` for k = 1, 2, … while it collides with a constraint of the database;
/// `None` when every candidate does (a cell the schema holds to one value).
pub fn until_accepted(what: &str, mut attempt: impl FnMut(u32) -> Result<usize, Refused>) -> Option<u32> {
    for k in 1..=1000 {
        match attempt(k) {
            Ok(1) => return Some(k),
            Ok(n) => panic!("{what}: changed {n} rows, expected 1"),
            Err(Refused::Constraint) => continue,
            Err(Refused::Other(e)) => panic!("{what}: {e}"),
        }
    }
    None
}

/// The condition that picks the row whose columns are the parameters, in order.
pub fn row_is(t: &Table) -> String {
    let cond: Vec<String> = t.columns.iter().map(|c| format!("\"{c}\" IS NOT DISTINCT FROM ?")).collect();
    cond.join(" AND ")
}

/// Applies `edit` to the ledger; returns what it did (for messages) and the statement that
/// undoes it, or `None` when the database itself refuses every such edit.
pub fn apply(edit: &Edit, tables: &[Table], c: &mut dyn Cells) -> Option<(String, Statement)> {
    match *edit {
        Edit::Cell { table, column, how } => {
            let t = &tables[table];
            let col = &t.columns[column];
            let old = &t.row[column];
            let sql = format!("UPDATE \"{}\" SET \"{col}\" = ? WHERE {}", t.name, row_is(t));
            let what = format!("{}.{col} of the {} row", t.name, t.which);
            let k = until_accepted(&what, |k| {
                let params: Vec<Sql> =
                    std::iter::once(changed(old, how, k)).chain(t.row.iter().cloned()).collect();
                c.execute(&sql, &params)
            })?;
            let new = changed(old, how, k);
            let mut now = t.row.clone();
            now[column] = new.clone();
            let undo = std::iter::once(old.clone()).chain(now).collect();
            Some((format!("{what}: {} → {} ({how:?})", show(old), show(&new)), (sql, undo)))
        }
        Edit::Delete { table } => {
            let t = &tables[table];
            let n = c.execute(&format!("DELETE FROM \"{}\" WHERE {}", t.name, row_is(t)), &t.row);
            assert_eq!(n.unwrap(), 1, "deleting the {} row of {}", t.which, t.name);
            let marks = vec!["?"; t.columns.len()].join(", ");
            let undo = (format!("INSERT INTO \"{}\" VALUES ({marks})", t.name), t.row.clone());
            Some((format!("{}: {} row deleted", t.name, t.which), undo))
        }
        Edit::Insert { table } => {
            let t = &tables[table];
            let marks = vec!["?"; t.columns.len()].join(", ");
            let sql = format!("INSERT INTO \"{}\" VALUES ({marks})", t.name);
            let what = format!("{}: a row added", t.name);
            let row = |k| t.row.iter().map(|v| changed(v, How::Change, k)).collect::<Vec<_>>();
            let k = until_accepted(&what, |k| c.execute(&sql, &row(k)))?;
            Some((what, (format!("DELETE FROM \"{}\" WHERE {}", t.name, row_is(t)), row(k))))
        }
    }
}

/// The edits of the sweep over `tables`: every cell changed; every table's row deleted; the
/// signed document also re-serialized with the same meaning (derived cells are compared byte
/// for byte like any other, so a space there is just another changed cell); and an event
/// appended. Each edit costs a whole verification, hence not more variations.
pub fn edits(tables: &[Table]) -> Vec<Edit> {
    let mut edits = Vec::new();
    let mut appended = false;
    for (ti, t) in tables.iter().enumerate() {
        for (ci, column) in t.columns.iter().enumerate() {
            edits.push(Edit::Cell { table: ti, column: ci, how: How::Change });
            if t.name == "events" && column == "doc" {
                edits.push(Edit::Cell { table: ti, column: ci, how: How::Space });
            }
        }
        edits.push(Edit::Delete { table: ti });
        if t.name == "events" && !appended {
            edits.push(Edit::Insert { table: ti });
            appended = true;
        }
    }
    edits
}

/// Every row of every table of the ledger, as text, sorted per table.
pub fn dump(c: &mut dyn Cells) -> Vec<String> {
    let mut out = Vec::new();
    for t in c.tables() {
        let mut rows: Vec<String> =
            c.query(&format!("SELECT * FROM \"{t}\""), &[]).iter().map(|r| format!("{t}: {r:?}")).collect();
        rows.sort();
        out.extend(rows);
    }
    out
}

/// What became of an edit.
#[derive(Debug)]
pub enum Verdict {
    /// Verification reported it as it should.
    Detected,
    /// It did not: what went wrong.
    Missed(String),
    /// The database itself refused every such edit: nothing to detect.
    Refused,
}

/// Applies each of `edits` to one of `ledgers` (copies of one ledger, a thread each), has
/// `judge` verify the edited copy (`None`: reported as it should; otherwise what went wrong),
/// undoes the edit and checks that the copy is again every row as it was. Then holds that
/// every edit was reported, and that the database refused exactly the cells of `pinned`
/// (`table.column`: cells its own constraints hold to one value).
pub fn sweep(
    ledgers: &[PathBuf],
    tables: &[Table],
    edits: &[Edit],
    pinned: &[&str],
    judge: &(dyn Fn(&Path, &Edit) -> Option<String> + Sync),
) {
    assert!(!ledgers.is_empty());
    let next = AtomicUsize::new(0);
    let results: Vec<(usize, String, Verdict)> = std::thread::scope(|s| {
        let handles: Vec<_> = ledgers
            .iter()
            .map(|ledger| {
                let next = &next;
                s.spawn(move || {
                    let mut c = open_cells(ledger);
                    let pristine = dump(&mut *c);
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(edit) = edits.get(i) else { break };
                        let Some((what, (undo, params))) = apply(edit, tables, &mut *c) else {
                            done.push((i, format!("{edit:?}"), Verdict::Refused));
                            continue;
                        };
                        let verdict = judge(ledger, edit).map_or(Verdict::Detected, Verdict::Missed);
                        done.push((i, what.clone(), verdict));
                        assert_eq!(c.execute(&undo, &params).unwrap(), 1, "undoing {what}");
                        assert!(
                            dump(&mut *c) == pristine,
                            "{what}, then undone: the ledger is not as it was"
                        );
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.len(), edits.len());
    // Cells the database itself keeps from changing (a CHECK constraint): nothing to detect.
    let refused: BTreeSet<String> = results
        .iter()
        .filter(|(_, _, v)| matches!(v, Verdict::Refused))
        .map(|(i, _, _)| match &edits[*i] {
            Edit::Cell { table, column, .. } => {
                format!("{}.{}", tables[*table].name, tables[*table].columns[*column])
            }
            other => panic!("{other:?} refused by the database"),
        })
        .collect();
    let pinned: BTreeSet<String> = pinned.iter().map(|p| (*p).to_owned()).collect();
    assert_eq!(refused, pinned, "cells the database refused to change");
    let undetected: Vec<String> = results
        .iter()
        .filter_map(|(i, what, v)| match v {
            Verdict::Missed(f) => Some(format!("edit {i}, {what}:\n{f}")),
            _ => None,
        })
        .collect();
    assert!(
        undetected.is_empty(),
        "{} of {} edits of the ledger were not reported as errors by verification:\n\n{}",
        undetected.len(),
        edits.len(),
        undetected.join("\n\n")
    );
}

/// True if `edit` is of the PostgreSQL store's marker row (table `kpledger`: what a file's
/// header holds, its application id and schema version), which kpledger checks on opening,
/// before it reads any event.
pub fn marker(edit: &Edit, tables: &[Table]) -> bool {
    let (Edit::Cell { table, .. } | Edit::Delete { table } | Edit::Insert { table }) = *edit;
    tables[table].name == "kpledger"
}
