//! Creating and opening a ledger file.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::schema::{SCHEMA, check_schema, harden};
use super::{APPLICATION_ID, Ledger, OpenOptions, SCHEMA_VERSION, StoreError, sql_err};

impl Ledger {
    /// Creates a new, empty ledger file. Refuses an existing path.
    pub fn create(path: &Path) -> Result<Ledger, StoreError> {
        if path.exists() || path.is_symlink() {
            return Err(StoreError::Exists(path.to_owned()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql_err(path, e))?;
        let mut l = Ledger { conn, path: path.to_owned(), busy: OpenOptions::default().busy_timeout };
        l.pragmas(l.busy)?;
        let run = |c: &mut Connection| -> rusqlite::Result<()> {
            c.pragma_update(None, "journal_mode", "WAL")?;
            let tx = c.transaction_with_behavior(TransactionBehavior::Exclusive)?;
            tx.execute_batch(SCHEMA)?;
            tx.execute_batch(crate::log_tree::SCHEMA)?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()
        };
        run(&mut l.conn).map_err(|e| sql_err(path, e))?;
        Ok(l)
    }

    /// Opens an existing ledger, checking that it is one and that this build can read it.
    pub fn open(path: &Path, opts: OpenOptions) -> Result<Ledger, StoreError> {
        let meta = std::fs::symlink_metadata(path).map_err(|_| StoreError::NotFound(path.to_owned()))?;
        if meta.file_type().is_symlink() {
            return Err(StoreError::NotALedger {
                path: path.to_owned(),
                reason: "it is a symbolic link; open the ledger file itself".into(),
            });
        }
        if !meta.is_file() {
            return Err(StoreError::NotALedger {
                path: path.to_owned(),
                reason: "it is not a regular file".into(),
            });
        }
        let mut header = [0u8; 16];
        let n = std::io::Read::read(
            &mut std::fs::File::open(path).map_err(|_| StoreError::NotFound(path.to_owned()))?,
            &mut header,
        )
        .unwrap_or(0);
        if n < 16 || &header != b"SQLite format 3\0" {
            return Err(StoreError::NotALedger {
                path: path.to_owned(),
                reason: if n == 0 {
                    "the file is empty".into()
                } else {
                    "it is not an SQLite database".into()
                },
            });
        }
        let flags = if opts.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
        let l = Ledger { conn, path: path.to_owned(), busy: opts.busy_timeout };
        l.pragmas(l.busy)?;
        let app: i32 =
            l.conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(|e| l.err(e))?;
        let version: i32 =
            l.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| l.err(e))?;
        if app != APPLICATION_ID {
            return Err(StoreError::NotALedger {
                path: path.to_owned(),
                reason: "it is an SQLite database, but not one made by kpledger".into(),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::Newer {
                path: path.to_owned(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < 1 {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                reason: format!("schema version {version}"),
            });
        }
        if version < SCHEMA_VERSION {
            return Err(StoreError::Older {
                path: path.to_owned(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        // Before any other read: a view or trigger of a hostile file must never run, and a
        // table stripped of its constraints must never be trusted.
        check_schema(&l.conn, path)?;
        Ok(l)
    }

    /// Stops waiting for the disk at each commit (`synchronous = OFF`). Only for building
    /// throw-away ledgers fast (the scenario generator, benchmarks): a crash or power loss
    /// can then lose or corrupt recent commits. Every ledger opened with [`Ledger::open`] or
    /// [`Ledger::create`] is durable, and this lasts only as long as this handle.
    pub fn set_fast_unsafe_writes(&mut self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "synchronous", "OFF").map_err(|e| self.err(e))
    }

    fn pragmas(&self, busy: Duration) -> Result<(), StoreError> {
        harden(&self.conn).map_err(|e| self.err(e))?;
        self.conn.busy_timeout(busy).map_err(|e| self.err(e))?;
        // FULL: a commit that returned is on disk, even across power loss (WAL mode).
        self.conn.pragma_update(None, "synchronous", "FULL").map_err(|e| self.err(e))?;
        self.conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| self.err(e))?;
        // 32 MiB of page cache (SQLite's default is 2 MiB): the rules look up parcels,
        // actors and Merkle nodes all over a large ledger while appending.
        self.conn.pragma_update(None, "cache_size", -32_768).map_err(|e| self.err(e))?;
        Ok(())
    }
}
