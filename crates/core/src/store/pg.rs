//! The PostgreSQL store: a ledger in a database of its own (`postgres://USER@HOST/DB`), for
//! an authority that runs a primary with replicas, several service instances and managed
//! backups.
//!
//! The same tables as the SQLite file, with the same columns and keys, in the database's
//! `public` schema, plus a one-row `kpledger` table for what SQLite keeps in its header
//! (application id, schema version). Text columns use the "C" collation, so that every
//! `ORDER BY` and range lookup compares bytes, as SQLite does. Every connection:
//! - puts `pg_catalog` first on its `search_path`, so no function or operator of the
//!   database's own can stand in for a built-in one in kpledger's queries;
//! - commits with `synchronous_commit = on` (a commit that returned is on the primary's disk,
//!   and on a synchronous standby's when `synchronous_standby_names` names one), and refuses to
//!   write to a server that runs with `fsync = off` or `full_page_writes = off`;
//! - checks the schema from `pg_catalog` before any other read, as the SQLite store checks
//!   `sqlite_schema`: the tables, their columns and types, constraints and indexes must be
//!   exactly what this build creates, and the database may hold no trigger, rule, view,
//!   function, policy, event trigger, extension or schema of its own, nor any object made after
//!   initdb in PostgreSQL's own schemas ([`check_schema`]); a transaction locks every table
//!   before checking, so that what the check saw holds until it ends.
//!
//! One sequencer: every write transaction first takes a transaction-level advisory lock
//! ([`SEQUENCER_LOCK`]), so several writers (several `kpledger serve` instances on one
//! database) take turns, and each one reads the log's end after the one before it committed:
//! the log never forks. Readers take no lock.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::time::Duration;

use postgres::{Client, NoTls};

use super::{APPLICATION_ID, SCHEMA_VERSION, StorageError, StoreError};

/// The key of the advisory lock every write transaction holds ("KPLG").
pub const SEQUENCER_LOCK: i64 = APPLICATION_ID as i64;

/// The tables this build creates, in a database of their own.
pub(crate) const PG_SCHEMA: &str = r#"
CREATE TABLE kpledger(
    application_id integer NOT NULL CHECK (application_id = 1263553607),
    schema_version integer NOT NULL,
    one boolean PRIMARY KEY DEFAULT true CHECK (one)
);
CREATE TABLE events(
    seq bigint PRIMARY KEY CHECK (seq > 0),
    hash bytea NOT NULL UNIQUE,
    kind text COLLATE "C" NOT NULL,
    time text COLLATE "C" NOT NULL,
    signer text COLLATE "C" NOT NULL,
    doc text COLLATE "C" NOT NULL
);
CREATE TABLE event_parcels(
    parcel text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (parcel, seq)
);
CREATE INDEX event_parcels_seq ON event_parcels(seq);
CREATE INDEX events_time ON events(time);
CREATE TABLE meta(key text COLLATE "C" PRIMARY KEY, value text COLLATE "C" NOT NULL);
CREATE TABLE actors(id text COLLATE "C" PRIMARY KEY, role text COLLATE "C" NOT NULL, country text COLLATE "C" NOT NULL, revoked bigint NOT NULL, doc text COLLATE "C" NOT NULL);
CREATE TABLE sites(id text COLLATE "C" PRIMARY KEY, country text COLLATE "C" NOT NULL, doc text COLLATE "C" NOT NULL);
CREATE TABLE policies(country text COLLATE "C" PRIMARY KEY, version text COLLATE "C" NOT NULL, doc text COLLATE "C" NOT NULL);
CREATE TABLE parcels(id text COLLATE "C" PRIMARY KEY, holder text COLLATE "C" NOT NULL, status text COLLATE "C" NOT NULL, weight_pt bigint NOT NULL, head bytea NOT NULL, doc text COLLATE "C" NOT NULL);
CREATE TABLE certificates(number text COLLATE "C" PRIMARY KEY, issuing_country text COLLATE "C" NOT NULL, status text COLLATE "C" NOT NULL, doc text COLLATE "C" NOT NULL);
CREATE TABLE checkpoints(size bigint PRIMARY KEY, root bytea NOT NULL, note text COLLATE "C" NOT NULL);
CREATE TABLE log_nodes(level integer NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE log_frontier(size bigint PRIMARY KEY, nodes bytea NOT NULL);
"#;

/// The schema as `pg_catalog` describes it once [`PG_SCHEMA`] has run in an empty database
/// ([`catalog`]'s lines). A test creates a ledger in a real PostgreSQL and holds the two equal
/// (`KPLEDGER_BLESS=1` rewrites the file after a deliberate change of [`PG_SCHEMA`]).
pub(crate) const EXPECTED_CATALOG: &str = include_str!("pg_catalog.txt");

/// Schemas that belong to PostgreSQL itself.
const SYSTEM_SCHEMAS: &str =
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname !~ '^pg_(toast_)?temp_'";

/// PostgreSQL's own schemas that kpledger's queries may reach (`pg_catalog` first on the search
/// path) and in which a superuser can still create objects.
const OWN_SCHEMAS: &str = "('pg_catalog', 'information_schema')";

/// The first oid of an object made after initdb (PostgreSQL's `FirstNormalObjectId`).
const FIRST_NORMAL_OID: u32 = 16384;

/// The kinds of object with a catalog of their own whose rows are named by one column:
/// (the kind, the name column, the catalog). Any made after initdb is listed (`catalog`).
const NAMED_OBJECTS: [(&str, &str, &str); 14] = [
    ("collation", "collname", "pg_collation"),
    ("conversion", "conname", "pg_conversion"),
    ("operator class", "opcname", "pg_opclass"),
    ("operator family", "opfname", "pg_opfamily"),
    ("access method", "amname", "pg_am"),
    ("language", "lanname", "pg_language"),
    ("text search configuration", "cfgname", "pg_ts_config"),
    ("text search dictionary", "dictname", "pg_ts_dict"),
    ("text search parser", "prsname", "pg_ts_parser"),
    ("text search template", "tmplname", "pg_ts_template"),
    ("foreign-data wrapper", "fdwname", "pg_foreign_data_wrapper"),
    ("foreign server", "srvname", "pg_foreign_server"),
    ("publication", "pubname", "pg_publication"),
    ("statistics object", "stxname", "pg_statistic_ext"),
];

/// The oid of the "C" collation (`C_COLLATION_OID`), fixed by PostgreSQL: a column is held to
/// it by oid, not by a name another collation may take.
const C_COLLATION: u32 = 950;

/// The connection string with its password left out, for messages (in place of a file's path).
pub fn shown(url: &str) -> PathBuf {
    match postgres::Config::from_str(url) {
        Ok(c) => {
            let user = c.get_user().unwrap_or("");
            let host = c
                .get_hosts()
                .first()
                .map(|h| match h {
                    postgres::config::Host::Tcp(h) => h.clone(),
                    postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .unwrap_or_default();
            let port = c.get_ports().first().map(|p| format!(":{p}")).unwrap_or_default();
            let db = c.get_dbname().unwrap_or("");
            PathBuf::from(format!("postgres://{user}@{host}{port}/{db}"))
        }
        Err(_) => PathBuf::from("postgres://(unreadable connection string)"),
    }
}

/// True if `ledger` names a PostgreSQL database rather than a file.
pub fn is_url(ledger: &str) -> bool {
    ledger.starts_with("postgres://") || ledger.starts_with("postgresql://")
}

pub(super) fn pg_err(shown: &std::path::Path, e: postgres::Error) -> StoreError {
    StoreError::Refused(format!("PostgreSQL at {}: {}", shown.display(), describe(&e)))
}

/// The server's message (and its detail), not only "db error".
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => match d.detail() {
            Some(detail) => format!("{} ({detail})", d.message()),
            None => d.message().to_owned(),
        },
        None => e.to_string(),
    }
}

/// A connection to a ledger database: the PostgreSQL implementation of the storage boundary
/// (`pg_backend.rs`). The client sits in a `RefCell` because the boundary's methods take
/// `&self`; transactions are opened and closed with SQL on the one connection, so the reads of
/// a write transaction or of a snapshot go through the same client as the writes.
pub struct PgStore {
    pub(super) client: RefCell<Client>,
    pub(super) shown: PathBuf,
    /// Prepared statements, by their text: one round trip per query, not two.
    pub(super) statements: RefCell<HashMap<String, postgres::Statement>>,
    /// Rows of the open write transaction not yet sent (`pg_backend.rs`).
    pub(super) pending: RefCell<super::pg_backend::Pending>,
    /// True while the transaction that creates the tables is still open
    /// ([`PgStore::create_uncommitted`]): the next write transaction is part of it, and its
    /// commit or rollback commits or undoes the creation too.
    pub(super) creating: std::cell::Cell<bool>,
    /// True while a transaction held open by [`PgStore::hold`] runs (`ledger copy`): the
    /// write transactions and snapshots inside it commit or roll back nothing of their own;
    /// [`PgStore::release`] commits it all, and a refusal (a write transaction dropped
    /// uncommitted) rolls it all back.
    pub(super) holding: std::cell::Cell<bool>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("shown", &self.shown).finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects and sets the session up (search path, durable commits, how long to wait for the
    /// sequencer); nothing is read yet.
    fn connect(url: &str, read_only: bool, wait: Duration) -> Result<PgStore, StoreError> {
        let shown = shown(url);
        let mut config = postgres::Config::from_str(url).map_err(|e| StorageError::NotALedger {
            path: shown.clone(),
            reason: format!("not a PostgreSQL connection string: {e}"),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let mut client = config.connect(NoTls).map_err(|e| StorageError::NotALedger {
            path: shown.clone(),
            reason: format!(
                "cannot connect to the PostgreSQL server: {}. Check that it runs and that the URL's host, \
                 port, user, password and database are right",
                describe(&e)
            ),
        })?;
        let millis = wait.as_millis().clamp(1, i32::MAX as u128);
        client
            .batch_execute(&format!(
                "SET search_path = pg_catalog, public; SET synchronous_commit = on; \
                 SET default_transaction_isolation = 'read committed'; SET lock_timeout = {millis}"
            ))
            .map_err(|e| pg_err(&shown, e))?;
        if read_only {
            client.batch_execute("SET default_transaction_read_only = on").map_err(|e| pg_err(&shown, e))?;
        } else {
            let row = client
                .query_one("SELECT current_setting('fsync'), current_setting('full_page_writes')", &[])
                .map_err(|e| pg_err(&shown, e))?;
            durable(&row.get::<_, String>(0), &row.get::<_, String>(1), &shown)?;
        }
        Ok(PgStore {
            client: RefCell::new(client),
            shown,
            statements: RefCell::default(),
            pending: RefCell::default(),
            creating: std::cell::Cell::new(false),
            holding: std::cell::Cell::new(false),
        })
    }

    /// Creates the ledger's tables in an empty database (one with no table, view, function or
    /// schema of its own), all or nothing.
    pub fn create(url: &str) -> Result<PgStore, StoreError> {
        let s = PgStore::create_uncommitted(url)?;
        s.client.borrow_mut().batch_execute("COMMIT").map_err(|e| pg_err(&s.shown, e))?;
        s.creating.set(false);
        Ok(s)
    }

    /// As [`PgStore::create`], the transaction left open: the first write transaction
    /// (`Backend::begin_write`) goes on in it, so that the tables and what it writes (the
    /// genesis event) are committed together, or neither is. Dropped before that commit, the
    /// connection closes and the server rolls the creation back.
    pub(crate) fn create_uncommitted(url: &str) -> Result<PgStore, StoreError> {
        let s = PgStore::connect(url, false, Duration::from_secs(5))?;
        let shown = s.shown.clone();
        {
            let mut client = s.client.borrow_mut();
            let err = |e| pg_err(&shown, e);
            client.batch_execute("BEGIN").map_err(err)?;
            let found = catalog(&mut *client).map_err(err)?;
            if found.iter().any(|l| l != "schema public") {
                client.batch_execute("ROLLBACK").map_err(err)?;
                return Err(StorageError::Exists(shown).into());
            }
            // New tables go into the first schema of the search path: `public` here (the
            // database was just found to hold nothing of its own that could stand in for a
            // built-in); `pg_catalog` first again for the rest of the transaction.
            client.batch_execute("SET LOCAL search_path = public, pg_catalog").map_err(err)?;
            client.batch_execute(PG_SCHEMA).map_err(err)?;
            client
                .execute(
                    "INSERT INTO kpledger(application_id, schema_version) VALUES ($1, $2)",
                    &[&APPLICATION_ID, &SCHEMA_VERSION],
                )
                .map_err(err)?;
            client.batch_execute("SET LOCAL search_path = pg_catalog, public").map_err(err)?;
        }
        s.creating.set(true);
        Ok(s)
    }

    /// Opens a ledger database: its schema must be exactly this build's, then its version.
    /// `wait` bounds how long a write waits for another writer's turn (`lock_timeout`).
    pub fn open(url: &str, read_only: bool, wait: Duration) -> Result<PgStore, StoreError> {
        let s = PgStore::connect(url, read_only, wait)?;
        let shown = s.shown.clone();
        let rows = {
            let mut client = s.client.borrow_mut();
            check_schema(&mut *client, &shown)?;
            client
                .query("SELECT application_id, schema_version FROM kpledger", &[])
                .map_err(|e| pg_err(&shown, e))?
        };
        let (app, version): (i32, i32) = match rows.as_slice() {
            [r] => (r.get(0), r.get(1)),
            _ => {
                return Err(StorageError::Corrupt {
                    path: shown,
                    reason: format!("the kpledger table holds {} rows, not one", rows.len()),
                }
                .into());
            }
        };
        if app != APPLICATION_ID {
            return Err(
                StorageError::NotALedger { path: shown, reason: "not made by kpledger".into() }.into()
            );
        }
        if version > SCHEMA_VERSION {
            return Err(StorageError::Newer { path: shown, found: version, supported: SCHEMA_VERSION }.into());
        }
        if version < SCHEMA_VERSION {
            return Err(StorageError::Older { path: shown, found: version, supported: SCHEMA_VERSION }.into());
        }
        Ok(s)
    }

    /// Opens one transaction that every write from now on goes into, until [`PgStore::release`]
    /// commits it (the transaction that creates the tables, when it is still open, is this
    /// one). A write refused meanwhile rolls all of it back; so does dropping the store.
    pub(crate) fn hold(&self) -> Result<(), StoreError> {
        if !self.creating.get() {
            self.client.borrow_mut().batch_execute("BEGIN").map_err(|e| pg_err(&self.shown, e))?;
        }
        self.holding.set(true);
        Ok(())
    }

    /// Commits the transaction [`PgStore::hold`] opened (`commit`), or rolls it back. Refused
    /// when it is no longer open: a write inside it was refused and rolled it back.
    pub(crate) fn release(&self, commit: bool) -> Result<(), StoreError> {
        if !self.holding.replace(false) {
            return Err(StoreError::Refused(format!(
                "PostgreSQL at {}: the transaction was rolled back already; nothing was written",
                self.shown.display()
            )));
        }
        self.creating.set(false);
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        self.client.borrow_mut().batch_execute(sql).map_err(|e| pg_err(&self.shown, e))
    }

    /// The database, as messages name it (without the password).
    pub fn shown(&self) -> &std::path::Path {
        &self.shown
    }

    /// The connection (tests edit the database through it).
    pub fn client(&self) -> std::cell::RefMut<'_, Client> {
        self.client.borrow_mut()
    }
}

/// `LOCK TABLE` of every table of the ledger in `mode`, taken before the schema check of a
/// transaction so that what the check saw of the tables holds until its end: every `ALTER
/// TABLE`, `CREATE RULE`, `CREATE TRIGGER`, `CREATE INDEX`, `DROP` and `TRUNCATE` on them waits
/// for the transaction (`ROW EXCLUSIVE` for a writer; `ACCESS SHARE` for a snapshot, which holds
/// off what changes reads: a rule, row security, a table swapped for a view).
pub(super) fn lock_tables(mode: &str) -> String {
    const TABLES: &str = "public.kpledger, public.events, public.event_parcels, public.meta, public.actors, \
         public.sites, public.policies, public.parcels, public.certificates, public.checkpoints, \
         public.log_nodes, public.log_frontier";
    format!("LOCK TABLE {TABLES} IN {mode} MODE")
}

/// Refuses to write unless the server runs with `fsync = on` and `full_page_writes = on`:
/// checked on connecting and again in every write transaction, since a superuser can turn
/// either off with a reload while a writer (a `kpledger serve`) stays connected. Without
/// `fsync` a commit is not on disk when it returns; without `full_page_writes` a crash in the
/// middle of writing a page leaves it torn, and the write-ahead log cannot repair it: either
/// way an acknowledged event can be lost.
pub(super) fn durable(
    fsync: &str,
    full_page_writes: &str,
    shown: &std::path::Path,
) -> Result<(), StoreError> {
    let (setting, value) = match (fsync, full_page_writes) {
        ("on", "on") => return Ok(()),
        ("on", v) => ("full_page_writes", v),
        (v, _) => ("fsync", v),
    };
    Err(StoreError::Refused(format!(
        "PostgreSQL at {} runs with {setting} = {value}: an acknowledged event could be lost in a \
         crash. kpledger writes only to a server with fsync = on and full_page_writes = on: set \
         `{setting} = on` in postgresql.conf (or `ALTER SYSTEM RESET {setting}`) and reload the server",
        shown.display()
    )))
}

/// Refuses a database whose catalog is not exactly what this build creates (the lines of
/// `store/pg_catalog.txt`, compiled in). Reading `pg_catalog` runs nothing the database defines (the catalog's
/// own tables cannot have triggers or rules, and kpledger's search path puts `pg_catalog`
/// first).
pub fn check_schema(c: &mut impl postgres::GenericClient, shown: &std::path::Path) -> Result<(), StoreError> {
    let found = catalog(c).map_err(|e| pg_err(shown, e))?;
    let expected: Vec<&str> = EXPECTED_CATALOG.lines().filter(|l| !l.is_empty()).collect();
    if found.iter().map(String::as_str).eq(expected.iter().copied()) {
        return Ok(());
    }
    let mut missing: Vec<&str> = expected.iter().copied().filter(|e| !found.iter().any(|f| f == e)).collect();
    let mut added: Vec<&str> = found.iter().map(String::as_str).filter(|f| !expected.contains(f)).collect();
    // Objects before their columns: "a view parcels" says more than its five columns.
    missing.sort_by_key(|l| (l.starts_with("column "), *l));
    added.sort_by_key(|l| (l.starts_with("column "), *l));
    let mut parts = Vec::new();
    for m in missing.iter().take(5) {
        parts.push(format!("missing: {m}"));
    }
    for a in added.iter().take(5) {
        parts.push(format!("not kpledger's: {a}"));
    }
    if parts.is_empty() {
        parts.push("the same entries in another order".into());
    }
    Err(StorageError::Schema { path: shown.to_owned(), differences: parts.join("; ") }.into())
}

/// The database's own objects, as `pg_catalog` describes them, one line each, in byte order:
/// schemas; relations (tables, indexes, views, sequences, …: kind, persistence, access method,
/// row security, options); columns (type, collation, not-null, default, identity, generated);
/// constraints (with their definition); indexes (with their definition and validity); and every
/// trigger, rule, function, type, row-security policy, event trigger and extension of its own
/// (this build creates none of them, so each is a line that makes the check fail).
pub fn catalog(c: &mut impl postgres::GenericClient) -> Result<Vec<String>, postgres::Error> {
    let named: String = NAMED_OBJECTS
        .iter()
        .map(|(kind, name, table)| format!(" UNION ALL SELECT oid, '{kind} ' || {name} FROM {table}"))
        .collect();
    let user = format!("JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {SYSTEM_SCHEMAS}");
    let queries: Vec<String> = vec![
        format!("SELECT 'schema ' || n.nspname FROM pg_namespace n WHERE {SYSTEM_SCHEMAS}"),
        format!(
            "SELECT concat_ws(' ', 'relation', n.nspname || '.' || c.relname, c.relkind, c.relpersistence, \
             coalesce(am.amname, '-'), c.relrowsecurity, c.relforcerowsecurity, c.relispartition, \
             coalesce(array_to_string(c.reloptions, ','), '-')) FROM pg_class c \
             LEFT JOIN pg_am am ON am.oid = c.relam {user}"
        ),
        format!(
            "SELECT concat_ws(' ', 'column', c.relname || '.' || a.attname, a.attnum, \
             format_type(a.atttypid, a.atttypmod), \
             CASE a.attcollation WHEN 0 THEN '-' WHEN {C_COLLATION} THEN 'C' ELSE 'collation#' || a.attcollation END, \
             a.attnotnull, a.atthasdef, nullif(a.attidentity, ''), nullif(a.attgenerated, '')) FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid {user} AND a.attnum > 0 AND NOT a.attisdropped"
        ),
        format!(
            "SELECT concat_ws(' ', 'constraint', c.relname || '.' || k.conname, k.contype, \
             pg_get_constraintdef(k.oid), k.condeferrable, k.convalidated) FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid {user}"
        ),
        "SELECT 'domain or other constraint ' || k.conname FROM pg_constraint k \
         JOIN pg_namespace n ON n.oid = k.connamespace WHERE k.conrelid = 0 AND n.nspname NOT IN \
         ('pg_catalog', 'information_schema')"
            .to_owned(),
        format!(
            "SELECT concat_ws(' ', 'index', pg_get_indexdef(i.indexrelid), i.indisvalid, i.indisready, \
             i.indislive) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid {user}"
        ),
        format!(
            "SELECT 'trigger ' || c.relname || '.' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid {user}"
        ),
        format!(
            "SELECT 'rule ' || c.relname || '.' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class {user}"
        ),
        format!(
            "SELECT 'policy ' || c.relname || '.' || p.polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid {user}"
        ),
        format!(
            "SELECT 'inherits ' || c.relname FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid {user}"
        ),
        format!(
            "SELECT 'function ' || n.nspname || '.' || p.proname FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {SYSTEM_SCHEMAS}"
        ),
        format!(
            "SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_type t \
             JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {SYSTEM_SCHEMAS} AND t.typrelid = 0 \
             AND t.typcategory <> 'A'"
        ),
        format!(
            "SELECT 'operator ' || o.oprname FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace \
             WHERE {SYSTEM_SCHEMAS}"
        ),
        "SELECT 'event trigger ' || evtname FROM pg_event_trigger".to_owned(),
        "SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'".to_owned(),
        // Everything made after initdb (an oid from FirstNormalObjectId on) that the lines above
        // do not name: objects in PostgreSQL's own schemas (a superuser may create them there,
        // and `pg_catalog` comes first on kpledger's search path, so a view
        // `pg_catalog.parcels` would stand in for the table), and every kind of object that
        // lives in no table's line (a collation named "C", a cast, a statistics object, …).
        format!(
            "SELECT w FROM ( \
             SELECT c.oid, 'relation ' || n.nspname || '.' || c.relname FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN {OWN_SCHEMAS} \
             UNION ALL SELECT p.oid, 'function ' || n.nspname || '.' || p.proname FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN {OWN_SCHEMAS} \
             UNION ALL SELECT t.oid, 'type ' || n.nspname || '.' || t.typname FROM pg_type t \
             JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname IN {OWN_SCHEMAS} \
             UNION ALL SELECT o.oid, 'operator ' || n.nspname || '.' || o.oprname FROM pg_operator o \
             JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE n.nspname IN {OWN_SCHEMAS} \
             UNION ALL SELECT oid, 'cast ' || format_type(castsource, NULL) || ' as ' || format_type(casttarget, NULL) \
             FROM pg_cast{named} \
             UNION ALL SELECT oid, 'transform ' || format_type(trftype, NULL) FROM pg_transform \
             ) o(oid, w) WHERE o.oid >= {FIRST_NORMAL_OID}"
        ),
    ];
    // One round trip; byte order, whatever the database's collation.
    let sql = queries.join(" UNION ALL ");
    let mut out: Vec<String> = c.query(&sql, &[])?.iter().map(|r| r.get::<_, String>(0)).collect();
    out.sort();
    Ok(out)
}
