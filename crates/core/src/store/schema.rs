//! The schema: the CREATE statements, the exact check of `sqlite_schema`, hardening of every
//! connection and SQLite's integrity check.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{Fault, StoreError, text_of};

/// The tables and indexes of schema version 2 (kpledger 0.1.0), as it created them, besides
/// the log's (`crate::log_tree::SCHEMA`): a version-2 file is checked against them before it
/// is migrated (`crate::migrate`), so they never change; a later version adds its statements
/// after them ([`SCHEMA`]).
macro_rules! schema_v2_tables {
    () => {
        "
CREATE TABLE events(
    seq INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    time TEXT NOT NULL,
    signer TEXT NOT NULL,
    doc TEXT NOT NULL
) STRICT;
CREATE TABLE event_parcels(
    parcel TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (parcel, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX event_parcels_seq ON event_parcels(seq);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE actors(id TEXT PRIMARY KEY, role TEXT NOT NULL, country TEXT NOT NULL, revoked INTEGER NOT NULL, doc TEXT NOT NULL) STRICT;
CREATE TABLE sites(id TEXT PRIMARY KEY, country TEXT NOT NULL, doc TEXT NOT NULL) STRICT;
CREATE TABLE policies(country TEXT PRIMARY KEY, version TEXT NOT NULL, doc TEXT NOT NULL) STRICT;
CREATE TABLE parcels(id TEXT PRIMARY KEY, holder TEXT NOT NULL, status TEXT NOT NULL, weight_pt INTEGER NOT NULL, head BLOB NOT NULL, doc TEXT NOT NULL) STRICT;
CREATE TABLE certificates(number TEXT PRIMARY KEY, issuing_country TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL) STRICT;
CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL) STRICT;
"
    };
}
pub(crate) use schema_v2_tables;

/// The CREATE statements of this version, besides the log's: version 2's, and the index by
/// time that version 3 added.
pub(super) const SCHEMA: &str = concat!(schema_v2_tables!(), "CREATE INDEX events_time ON events(time);\n");

/// SQLite's `integrity_check` of the file at `path`, on a read-only connection of its own
/// (hardened, its schema checked first, like every connection to a ledger). Unlike
/// `quick_check`, it also checks that every index holds exactly its table's rows: an index
/// that disagrees with its table makes lookups by that index (a parcel's history) miss rows
/// that a scan of the table (verification) sees.
pub fn integrity_check(path: &Path, busy: Duration) -> Result<(), StoreError> {
    integrity_check_in(path, busy).map_err(|e| e.at(path))
}

fn integrity_check_in(path: &Path, busy: Duration) -> Result<(), Fault> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    harden(&conn)?;
    conn.busy_timeout(busy)?;
    check_schema(&conn)?;
    integrity_problems(&conn)
}

/// SQLite's `integrity_check` on `conn`: a corrupt file names its first ten problems.
pub(super) fn integrity_problems(conn: &Connection) -> Result<(), Fault> {
    // The first ten problems are enough to say the file is damaged.
    let mut st = conn.prepare("PRAGMA integrity_check(10)")?;
    let rows: Vec<String> =
        st.query_map([], |r| r.get_ref(0).map(text_of))?.collect::<rusqlite::Result<_>>()?;
    if rows.len() != 1 || rows[0] != "ok" {
        // One row per problem (each may hold several lines after a header "*** in database
        // main ***"): on one line.
        let problems: Vec<&str> =
            rows.iter().flat_map(|r| r.lines()).filter(|l| !l.starts_with("*** ") && !l.is_empty()).collect();
        return Err(Fault::Corrupt(problems.join("; ")));
    }
    Ok(())
}

/// Defence in depth for every connection to a ledger file, set before it reads anything: the
/// schema check refuses a file with a view or trigger before any query could run one, and
/// these settings make sure none would run even then. kpledger's schema has no view and no
/// trigger, so nothing of its own is lost.
pub(crate) fn harden(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::config::DbConfig;
    // No function or virtual table named in the schema runs with side effects.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    // No trigger fires and no view is read.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false)?;
    // No SQL statement of ours can corrupt the file (writable_schema and the like are off).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    Ok(())
}

/// One entry of `sqlite_schema`, its root page aside: type, name, table, SQL text (as the
/// file holds them; a value that is not text reads as a mark that no CREATE statement has).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SchemaEntry {
    pub(super) name: String,
    pub(super) kind: String,
    table: String,
    sql: Option<String>,
}

/// Every entry of `conn`'s `sqlite_schema`, sorted by exact name (bytes, case-sensitive).
pub(crate) fn schema_entries(conn: &Connection) -> rusqlite::Result<Vec<SchemaEntry>> {
    fn text(v: ValueRef<'_>) -> Option<String> {
        match v {
            ValueRef::Null => None,
            ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
            other => Some(format!("<{:?}>", other.data_type())),
        }
    }
    let mut st = conn.prepare_cached("SELECT type, name, tbl_name, sql FROM main.sqlite_schema")?;
    let mut out: Vec<SchemaEntry> = st
        .query_map([], |r| {
            Ok(SchemaEntry {
                kind: text(r.get_ref(0)?).unwrap_or_default(),
                name: text(r.get_ref(1)?).unwrap_or_default(),
                table: text(r.get_ref(2)?).unwrap_or_default(),
                sql: text(r.get_ref(3)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    out.sort();
    Ok(out)
}

/// The schema this build creates, read from a new in-memory database made by the same
/// statements as a ledger file (so the two cannot drift).
/// The entries the CREATE statements `sql` make, in a database of their own.
pub(crate) fn schema_entries_of(sql: &str) -> rusqlite::Result<Vec<SchemaEntry>> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(sql)?;
    schema_entries(&conn)
}

pub(super) fn expected_schema() -> rusqlite::Result<&'static [SchemaEntry]> {
    static EXPECTED: std::sync::OnceLock<Vec<SchemaEntry>> = std::sync::OnceLock::new();
    if let Some(e) = EXPECTED.get() {
        return Ok(e);
    }
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(crate::log_tree::SCHEMA)?;
    let entries = schema_entries(&conn)?;
    Ok(EXPECTED.get_or_init(|| entries))
}

/// Refuses a file whose `sqlite_schema` is not exactly what this build creates: every
/// entry's type, name, table and SQL text, names compared byte for byte (SQLite's `LIKE`
/// would take `_` for any character and ignore case), and whose text is not UTF-8. Reading
/// `sqlite_schema` runs nothing the file defines.
pub(super) fn check_schema(conn: &Connection) -> Result<(), Fault> {
    let expected = expected_schema()?;
    let found = schema_entries(conn)?;
    // Text encoded as this build writes it, UTF-8: SQLite decodes UTF-16 to the same text
    // from several byte strings (a high surrogate takes any unit after it as its pair), so
    // stored bytes that no event gives would read as the signed text.
    let encoding: String = conn.query_row("PRAGMA main.encoding", [], |r| r.get(0))?;
    if found == expected && encoding == "UTF-8" {
        return Ok(());
    }
    let mut differences = Vec::new();
    if encoding != "UTF-8" {
        differences.push(format!("its text is encoded in {encoding}, not UTF-8"));
    }
    for f in found.iter().filter(|f| !expected.contains(f)) {
        differences.push(match expected.iter().find(|e| e.name == f.name) {
            Some(e) if e.kind != f.kind => format!("{:?} is a {} instead of a {}", f.name, f.kind, e.kind),
            Some(_) => format!("{} {:?} is defined differently", f.kind, f.name),
            None => format!("unexpected {} {:?}", f.kind, f.name),
        });
    }
    for e in expected.iter().filter(|e| !found.iter().any(|f| f.name == e.name)) {
        differences.push(format!("missing {} {:?}", e.kind, e.name));
    }
    if differences.is_empty() {
        differences.push("an entry is repeated".into());
    }
    const SHOWN: usize = 6;
    let more = differences.len().saturating_sub(SHOWN);
    differences.truncate(SHOWN);
    let mut differences = differences.join("; ");
    if more > 0 {
        differences.push_str(&format!("; and {more} more"));
    }
    Err(Fault::Schema(differences))
}
