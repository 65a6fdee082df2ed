//! Creating and opening a ledger: a file, or a PostgreSQL database (a `postgres://` or
//! `postgresql://` URL in place of the path).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::schema::{SCHEMA, check_schema, harden};
use super::{
    APPLICATION_ID, Db, Fault, Ledger, OpenOptions, PgStore, SCHEMA_VERSION, Sqlite, StorageError,
    StoreError, pg,
};

/// The URL in `path`, if it names a PostgreSQL database rather than a file.
fn url_of(path: &Path) -> Option<&str> {
    path.to_str().filter(|p| pg::is_url(p))
}

impl Ledger {
    /// Creates a new, empty ledger file, or the ledger's tables in an empty PostgreSQL
    /// database when `path` is a `postgres://` URL. Refuses an existing path, and a database
    /// that holds anything.
    pub fn create(path: &Path) -> Result<Ledger, StoreError> {
        if let Some(url) = url_of(path) {
            return Ok(Ledger { db: Db::Pg(Box::new(PgStore::create(url)?)) });
        }
        if path.exists() || path.is_symlink() {
            return Err(StorageError::Exists(path.to_owned()).into());
        }
        let run = || -> rusqlite::Result<Connection> {
            // NOFOLLOW: a link put in the file's place after the check above is refused, not
            // followed to create or overwrite another file.
            let mut c = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_NOFOLLOW,
            )?;
            pragmas(&c, OpenOptions::default().busy_timeout)?;
            c.pragma_update(None, "journal_mode", "WAL")?;
            let tx = c.transaction_with_behavior(TransactionBehavior::Exclusive)?;
            tx.execute_batch(SCHEMA)?;
            tx.execute_batch(crate::log_tree::SCHEMA)?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
            Ok(c)
        };
        let conn = run().map_err(|e| Fault::Sql(e).at(path))?;
        Ok(Ledger {
            db: Db::Sqlite(Sqlite { conn, path: path.to_owned(), busy: OpenOptions::default().busy_timeout }),
        })
    }

    /// As [`Ledger::create`], except that a PostgreSQL database's tables are created in a
    /// transaction left open: [`Ledger::hold`] goes on in it, and the tables are committed with
    /// what it writes, or rolled back with it.
    pub(crate) fn create_uncommitted(path: &Path) -> Result<Ledger, StoreError> {
        match url_of(path) {
            Some(url) => Ok(Ledger { db: Db::Pg(Box::new(PgStore::create_uncommitted(url)?)) }),
            None => Ledger::create(path),
        }
    }

    /// Creates a new ledger whose first event is `genesis` (`kpledger init`): the ledger with
    /// it, or no ledger at all. A PostgreSQL database gets its tables and the genesis event in
    /// one transaction, so that a refused genesis (or a lost connection, or a crash) leaves it
    /// as empty as it was; a file made here is removed again when the genesis is refused.
    pub fn create_with_genesis(
        path: &Path,
        genesis: &kpledger_model::ParsedEvent,
    ) -> Result<(Ledger, super::Appended), StoreError> {
        if let Some(url) = url_of(path) {
            let mut ledger = Ledger { db: Db::Pg(Box::new(PgStore::create_uncommitted(url)?)) };
            // The genesis's write transaction is the creation's: its commit commits both, and
            // a refusal rolls both back (dropped, the connection rolls back what is left).
            let appended = ledger.append(genesis)?;
            return Ok((ledger, appended));
        }
        let mut ledger = Ledger::create(path)?;
        match ledger.append(genesis) {
            Ok(appended) => Ok((ledger, appended)),
            Err(e) => {
                drop(ledger);
                // Created empty a moment ago by this call: nothing else is in it.
                remove_sqlite_files(path);
                Err(e)
            }
        }
    }

    /// Opens an existing ledger, checking that it is one and that this build can read it: a
    /// file, or a PostgreSQL database when `path` is a `postgres://` URL (its schema checked
    /// exactly from `pg_catalog`; `busy_timeout` bounds the wait for another writer's turn).
    pub fn open(path: &Path, opts: OpenOptions) -> Result<Ledger, StoreError> {
        if let Some(url) = url_of(path) {
            return Ok(Ledger {
                db: Db::Pg(Box::new(PgStore::open(url, opts.read_only, opts.busy_timeout)?)),
            });
        }
        let meta = std::fs::symlink_metadata(path)
            .map_err(|_| StoreError::from(StorageError::NotFound(path.to_owned())))?;
        if meta.file_type().is_symlink() {
            return Err(StorageError::NotALedger {
                path: path.to_owned(),
                reason: "it is a symbolic link; open the ledger file itself".into(),
            }
            .into());
        }
        if !meta.is_file() {
            return Err(StorageError::NotALedger {
                path: path.to_owned(),
                reason: "it is not a regular file".into(),
            }
            .into());
        }
        let mut header = [0u8; 16];
        let n = std::io::Read::read(
            &mut std::fs::File::open(path)
                .map_err(|_| StoreError::from(StorageError::NotFound(path.to_owned())))?,
            &mut header,
        )
        .unwrap_or(0);
        if n < 16 || &header != b"SQLite format 3\0" {
            return Err(StorageError::NotALedger {
                path: path.to_owned(),
                reason: if n == 0 {
                    "the file is empty".into()
                } else {
                    "it is not an SQLite database".into()
                },
            }
            .into());
        }
        let flags = if opts.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let at = |e: rusqlite::Error| Fault::Sql(e).at(path);
        let conn = Connection::open_with_flags(path, flags).map_err(at)?;
        pragmas(&conn, opts.busy_timeout).map_err(at)?;
        let app: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(at)?;
        let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(at)?;
        if app != APPLICATION_ID {
            return Err(StorageError::NotALedger {
                path: path.to_owned(),
                reason: "it is an SQLite database, but not one made by kpledger".into(),
            }
            .into());
        }
        if version > SCHEMA_VERSION {
            return Err(StorageError::Newer {
                path: path.to_owned(),
                found: version,
                supported: SCHEMA_VERSION,
            }
            .into());
        }
        if version < 1 {
            return Err(StorageError::Corrupt {
                path: path.to_owned(),
                reason: format!("schema version {version}"),
            }
            .into());
        }
        if version < SCHEMA_VERSION {
            return Err(StorageError::Older {
                path: path.to_owned(),
                found: version,
                supported: SCHEMA_VERSION,
            }
            .into());
        }
        // Before any other read: a view or trigger of a hostile file must never run, and a
        // table stripped of its constraints must never be trusted.
        check_schema(&conn).map_err(|e| e.at(path))?;
        Ok(Ledger { db: Db::Sqlite(Sqlite { conn, path: path.to_owned(), busy: opts.busy_timeout }) })
    }

    /// SQLite: this connection copies the write-ahead log back into the database file (a
    /// checkpoint) only once the log holds `pages` pages (SQLite's default: 1,000), leaving the
    /// checkpoints before that to another connection ([`Ledger::checkpoint_wal`]), so that the
    /// copy and its wait for the disk are not spent by the writer between two commits. The
    /// commits stay as durable: each waits for its log. PostgreSQL: nothing to do.
    pub fn set_wal_autocheckpoint(&mut self, pages: u32) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(s) => {
                s.conn.pragma_update(None, "wal_autocheckpoint", pages).map_err(|e| Fault::Sql(e).at(&s.path))
            }
            Db::Pg(_) => Ok(()),
        }
    }

    /// SQLite: copies the committed write-ahead log into the database file as far as no
    /// reader still needs it, without waiting for readers or the writer (a `PASSIVE`
    /// checkpoint); the next transaction then starts the log afresh if it was copied whole.
    /// PostgreSQL: nothing to do.
    pub fn checkpoint_wal(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(s) => s
                .conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .map_err(|e| Fault::Sql(e).at(&s.path)),
            Db::Pg(_) => Ok(()),
        }
    }

    /// Stops waiting for the disk at each commit (`synchronous = OFF`). Only for building
    /// throw-away ledgers fast (the scenario generator, benchmarks): a crash or power loss
    /// can then lose or corrupt recent commits. Every ledger opened with [`Ledger::open`] or
    /// [`Ledger::create`] is durable, and this lasts only as long as this handle. On
    /// PostgreSQL: `synchronous_commit = off` for this connection (a crash of the server loses
    /// the last commits, never corrupts).
    pub(crate) fn set_fast_unsafe_writes(&mut self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(s) => {
                s.conn.pragma_update(None, "synchronous", "OFF").map_err(|e| Fault::Sql(e).at(&s.path))
            }
            Db::Pg(p) => p
                .client()
                .batch_execute("SET synchronous_commit = off")
                .map_err(|e| StoreError::Refused(format!("{}: {}", p.shown().display(), pg::describe(&e)))),
        }
    }
}

/// Removes an SQLite ledger file that kpledger itself created and gives up, with its `-wal`
/// and `-shm` files, if there.
pub(crate) fn remove_sqlite_files(file: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
}

/// The settings of every connection: hardened, durable commits, a larger page cache.
fn pragmas(conn: &Connection, busy: Duration) -> rusqlite::Result<()> {
    harden(conn)?;
    conn.busy_timeout(busy)?;
    // FULL: a commit that returned is on disk, even across power loss (WAL mode).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 32 MiB of page cache (SQLite's default is 2 MiB): the rules look up parcels,
    // actors and Merkle nodes all over a large ledger while appending.
    conn.pragma_update(None, "cache_size", -32_768)?;
    Ok(())
}
