//! The SQLite ledger file.
//!
//! One file holds the signed events in order (`events`), an index from parcels to the
//! events that touch them (`event_parcels`), and tables derived from the events
//! (`meta`, `actors`, `sites`, `policies`, `parcels`) whose rows are made by
//! `kpledger_verify::rows`. Events are appended only with an
//! [`kpledger_verify::Accepted`] token, inside one `BEGIN IMMEDIATE` transaction per
//! append (or per batch), so a refused or interrupted append writes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::log_tree::{LogTree, TreeError};
use kpledger_model::{
    ActorId, BUNDLE_FORMAT, Bundle, BundleLog, Country, Event, Hash, LeafProof, Origin, ParcelId,
    ParsedEvent, Payload, Policy, PublicKey, SecretKey, SiteId, SiteRecord, Text,
};
use kpledger_verify::ledger::{Cell, StoredCheckpoint, StoredCounts, StoredEvent, StoredRow, Tables};
use kpledger_verify::{
    Accepted, ActorState, CertificateState, Effect, Finding, LedgerCheck, ParcelState, PolicyEntry,
    PolicyHistory, Report, SigMode, State, rows,
};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

/// `PRAGMA application_id` of a kpledger ledger ("KPLG").
pub const APPLICATION_ID: i32 = 0x4B50_4C47;
/// The schema version this build writes (`PRAGMA user_version`). Version 2 added the
/// transparency log (`log_nodes`, `log_frontier`, `checkpoints`; kpledger 0.1.0); version 3
/// keeps the tables and changes what derived rows hold (a country's policy history, not only its
/// latest policy), so a version-2 file is migrated by re-recording its signed events
/// (`crate::migrate`, `kpledger migrate`). Version 1 ledgers were pre-release and are not read.
pub const SCHEMA_VERSION: i32 = 3;

const SCHEMA: &str = "
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
CREATE INDEX events_time ON events(time);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE actors(id TEXT PRIMARY KEY, role TEXT NOT NULL, country TEXT NOT NULL, revoked INTEGER NOT NULL, doc TEXT NOT NULL) STRICT;
CREATE TABLE sites(id TEXT PRIMARY KEY, country TEXT NOT NULL, doc TEXT NOT NULL) STRICT;
CREATE TABLE policies(country TEXT PRIMARY KEY, version TEXT NOT NULL, doc TEXT NOT NULL) STRICT;
CREATE TABLE parcels(id TEXT PRIMARY KEY, holder TEXT NOT NULL, status TEXT NOT NULL, weight_pt INTEGER NOT NULL, head BLOB NOT NULL, doc TEXT NOT NULL) STRICT;
CREATE TABLE certificates(number TEXT PRIMARY KEY, issuing_country TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL) STRICT;
CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL) STRICT;
";

/// The tables that whole-ledger verification reads in its own way rather than as
/// derived rows: the events, their index, the Merkle tree and the checkpoints.
const EVENT_TABLES: [&str; 4] = ["events", "event_parcels", "log_nodes", "checkpoints"];

/// Why the ledger could not do what was asked. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// There is no file at the path.
    #[error("no ledger at {0}: create one with `kpledger init --ledger {0} …`, or check the path")]
    NotFound(PathBuf),
    /// A file is already at the path (creating).
    #[error("{0} already exists; kpledger never overwrites a ledger. Choose another path")]
    Exists(PathBuf),
    /// The file is not a kpledger ledger.
    #[error("{path} is not a kpledger ledger ({reason})")]
    NotALedger {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The ledger was written by a newer kpledger.
    #[error(
        "{path} has ledger schema version {found}, newer than this kpledger supports ({supported}); \
         upgrade kpledger. The file was not changed"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// The file's version.
        found: i32,
        /// This build's version.
        supported: i32,
    },
    /// The ledger was written by an older kpledger.
    #[error(
        "{path} has ledger schema version {found}, from an older kpledger; this build writes version \
         {supported}. Migrate it into a new file (the old one is only read): kpledger migrate --from {path} \
         --to NEW-FILE"
    )]
    Older {
        /// The file.
        path: PathBuf,
        /// The file's version.
        found: i32,
        /// This build's version.
        supported: i32,
    },
    /// Another process holds the ledger.
    #[error(
        "{0} is locked by another kpledger process (or an open sqlite3 shell); try again when it has finished"
    )]
    Locked(PathBuf),
    /// The file is damaged.
    #[error(
        "{path} is damaged: {reason}. kpledger does not repair ledgers; restore the file from a backup \
         (the signed events in it can be re-verified after restoring)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite reported.
        reason: String,
    },
    /// The ledger refused a request that is not an event (a checkpoint, a cosignature).
    #[error("{0}")]
    Refused(String),
    /// The rules refused the event.
    #[error("the event was refused: {}", summarize(.findings))]
    Rejected {
        /// The event's hash.
        hash: Hash,
        /// Why, rule by rule.
        findings: Vec<Finding>,
    },
    /// Any other database error.
    #[error("database error on {path}")]
    Sql {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A document given to ingest is not a valid signed event; nothing of its batch was
    /// written.
    #[error("event {number} of the input is not a valid signed kpledger event: {source}")]
    NotAnEvent {
        /// Its position in the input, from 1.
        number: u64,
        /// Why.
        source: kpledger_model::canonical::JsonError,
    },
    /// The file's schema (`sqlite_schema`) is not exactly the one this build creates: a
    /// table, index, view or trigger was added, dropped or redefined. Nothing else of the
    /// file was read.
    #[error(
        "{path} is not a ledger as kpledger writes it: its database schema differs from the one \
         kpledger creates ({differences}). kpledger reads nothing more from it and writes nothing \
         to it, because an added view or trigger would run inside kpledger and a dropped \
         constraint lets forged rows in. `kpledger verify --ledger {path}` reports the same; \
         restore the ledger from a backup, or re-ingest its signed events into a new ledger"
    )]
    Schema {
        /// The file.
        path: PathBuf,
        /// What differs, entry by entry.
        differences: String,
    },
    /// The ledger holds no certificate of that number.
    #[error(
        "{path} has no certificate {number}; `kpledger certificate list --ledger {path}` lists the \
         certificates it holds"
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// The number asked for.
        number: Text,
    },
    /// A stored document could not be read.
    #[error("{path}: stored data is unreadable ({reason}); run `kpledger verify --ledger {path}`")]
    BadRow {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

fn summarize(findings: &[Finding]) -> String {
    findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| format!("{} {}", f.code, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How to open a ledger.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Open read-only (verification, queries).
    pub read_only: bool,
    /// How long to wait for another process's lock before giving up.
    pub busy_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { read_only: false, busy_timeout: Duration::from_secs(5) }
    }
}

/// What an append recorded.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The event's position.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
    /// Warnings raised by the rules.
    pub warnings: Vec<Finding>,
}

/// What group commit did with one event of a submission.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// Appended by this commit.
    New(Appended),
    /// Already in the ledger at this position: nothing was written for it.
    Already {
        /// Its position.
        seq: u64,
        /// Its hash.
        hash: Hash,
    },
}

/// One submission's outcome in a group commit: every event's record, or the index of the
/// event refused and the refusal ([`StoreError::Rejected`]).
pub type GroupOutcome = Result<Vec<Recorded>, (usize, StoreError)>;

/// An open ledger file.
#[derive(Debug)]
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    /// How long to wait for another process's lock.
    busy: Duration,
}

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

    /// Stores a checkpoint carried over from an older file of the same log (`crate::migrate`),
    /// as it was: its signature and cosignatures cover the tree's size and root, a function of
    /// the events, so it holds for this file's tree too. Nothing here judges it: the migration
    /// verifies the whole new file afterwards (LOG-2 checks every stored checkpoint).
    pub(crate) fn carry_checkpoint(&mut self, size: i64, root: &[u8], note: &str) -> Result<(), StoreError> {
        let path = self.path.clone();
        let run = |c: &mut Connection| -> Result<(), StoreError> {
            let tx =
                c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| sql_err(&path, e))?;
            check_schema(&tx, &path)?;
            tx.execute(
                "INSERT INTO checkpoints(size, root, note) VALUES (?1, ?2, ?3)",
                params![size, root, note],
            )
            .map_err(|e| sql_err(&path, e))?;
            tx.commit().map_err(|e| sql_err(&path, e))
        };
        run(&mut self.conn)
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

    fn err(&self, e: rusqlite::Error) -> StoreError {
        sql_err(&self.path, e)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks `event` against the current state and appends it if the rules accept it.
    pub fn append(&mut self, event: &ParsedEvent) -> Result<Appended, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&path, e))?;
        check_schema(&tx, &path)?;
        let out = append_in(&tx, &path, event)?;
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(out)
    }

    /// Bulk ingest: appends batches of stored-form documents, each batch in its own durable
    /// transaction (all of its events, or none). While this thread judges and writes one
    /// batch, a worker reads the next one and checks its signatures on every core, so the
    /// signature checks overlap the rules and the disk. Stops at the first batch that cannot
    /// be read or is refused: the batches before it stay committed, and the error names the
    /// position (0-based, over all documents) of the event at fault. `progress(events done)`
    /// is called after each commit.
    pub fn ingest_batches(
        &mut self,
        batches: impl Iterator<Item = Vec<Vec<u8>>> + Send,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, (u64, StoreError)> {
        let mut done = 0u64;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || {
                for docs in batches {
                    let prepared = kpledger_verify::prepare::prepare(&docs, SigMode::Strict);
                    if tx.send(prepared).is_err() {
                        break;
                    }
                }
            });
            for prepared in rx {
                let mut events = Vec::with_capacity(prepared.len());
                let mut sigs = Vec::with_capacity(prepared.len());
                for (i, p) in prepared.into_iter().enumerate() {
                    let at = done + i as u64;
                    let ev =
                        p.parsed.map_err(|source| (at, StoreError::NotAnEvent { number: at + 1, source }))?;
                    sigs.push(p.sigs.unwrap_or_else(|| kpledger_verify::Signatures::check(&ev)));
                    events.push(ev);
                }
                self.append_all_signed(&events, sigs).map_err(|(i, e)| (done + i as u64, e))?;
                done += events.len() as u64;
                progress(done);
            }
            // Dropping `rx` here stops the worker at its next batch.
            Ok(done)
        })
    }

    /// Appends several events in one transaction: all of them, or none (the error names
    /// the index of the first refused event).
    pub fn append_all(&mut self, events: &[ParsedEvent]) -> Result<Vec<Appended>, (usize, StoreError)> {
        // Signatures do not depend on the ledger's state: they are checked first, on every
        // core, then the rules judge the events in order with their verdicts.
        let sigs = kpledger_verify::prepare::signatures(events, SigMode::Strict);
        self.append_all_signed(events, sigs)
    }

    /// As [`Ledger::append_all`], with the events' signatures already checked.
    fn append_all_signed(
        &mut self,
        events: &[ParsedEvent],
        sigs: Vec<kpledger_verify::Signatures>,
    ) -> Result<Vec<Appended>, (usize, StoreError)> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| (0, sql_err(&path, e)))?;
        check_schema(&tx, &path).map_err(|e| (0, e))?;
        // Actors and policies change rarely: read and decoded once per batch.
        let cache = BatchCache::default();
        let mut out = Vec::with_capacity(events.len());
        for (i, (ev, sig)) in events.iter().zip(sigs).enumerate() {
            out.push(append_in_signed(&tx, &path, ev, sig, &cache).map_err(|e| (i, e))?);
        }
        tx.commit().map_err(|e| (events.len(), sql_err(&path, e)))?;
        Ok(out)
    }

    /// Group commit: several independent submissions in one durable transaction (one wait
    /// for the disk for all of them). Each submission is all or nothing on its own (a
    /// savepoint): a refused one leaves no trace and does not disturb the others. An event the
    /// ledger already holds is reported with its position and left alone (a retry); the same
    /// new event twice in one submission is refused (CH-1), as in [`Ledger::append_all`].
    /// `sigs[i]` are the verdicts on the signatures of `groups[i]`, event by event. The outer
    /// error is a failure of the database for the whole group: nothing of it was committed.
    pub fn append_groups(
        &mut self,
        groups: &[(&[ParsedEvent], Vec<kpledger_verify::Signatures>)],
    ) -> Result<Vec<GroupOutcome>, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&path, e))?;
        check_schema(&tx, &path)?;
        let mut out = Vec::with_capacity(groups.len());
        for (events, sigs) in groups {
            tx.execute_batch("SAVEPOINT submission").map_err(|e| sql_err(&path, e))?;
            // A cache per submission: a refused one's effects vanish with its savepoint.
            let cache = BatchCache::default();
            let mut done = Vec::with_capacity(events.len());
            let mut fresh = std::collections::HashSet::new();
            let mut refused = None;
            for (i, (ev, sig)) in events.iter().zip(sigs).enumerate() {
                if !fresh.contains(&ev.hash)
                    && let Some(seq) = seq_of(&tx, &path, &ev.hash)?
                {
                    done.push(Recorded::Already { seq, hash: ev.hash });
                    continue;
                }
                fresh.insert(ev.hash);
                match append_in_signed(&tx, &path, ev, *sig, &cache) {
                    Ok(a) => done.push(Recorded::New(a)),
                    Err(e @ StoreError::Rejected { .. }) => {
                        refused = Some((i, e));
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            match refused {
                None => {
                    tx.execute_batch("RELEASE submission").map_err(|e| sql_err(&path, e))?;
                    out.push(Ok(done));
                }
                Some(r) => {
                    tx.execute_batch("ROLLBACK TO submission; RELEASE submission")
                        .map_err(|e| sql_err(&path, e))?;
                    out.push(Err(r));
                }
            }
        }
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(out)
    }

    /// The stored hashes of the Merkle tree's nodes at `level` (leaves are level 0), indices
    /// `first .. first + count`: what a C2SP tlog-tiles tile holds. Fewer than `count` when the
    /// tree has fewer complete nodes there.
    pub fn log_hashes(&self, level: u32, first: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT idx, hash FROM log_nodes WHERE level = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![level, first as i64, first.saturating_add(count) as i64], |r| {
                Ok((r.get::<_, i64>(0)?, bytes_of(r.get_ref(1)?)))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let (idx, bytes) = r.map_err(|e| self.err(e))?;
            let hash = <[u8; 32]>::try_from(bytes.as_slice())
                .ok()
                .filter(|_| idx as u64 == first + out.len() as u64);
            let Some(h) = hash else {
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    reason: format!(
                        "the log's Merkle tree: node {idx} of level {level} is missing or malformed"
                    ),
                });
            };
            out.push(Hash(h));
        }
        Ok(out)
    }

    /// The hashes of the events at positions `first ..= last` (1-based), in order.
    pub fn event_hashes(&self, first: u64, last: u64) -> Result<Vec<Hash>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT hash FROM events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![first as i64, last as i64], |r| Ok(bytes_of(r.get_ref(0)?)))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let bytes = r.map_err(|e| self.err(e))?;
            let h = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| StoreError::BadRow {
                path: self.path.clone(),
                reason: "an event hash is not 32 bytes".into(),
            })?;
            out.push(Hash(h));
        }
        Ok(out)
    }

    /// The newest stored checkpoint, if one was published.
    pub fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.conn
            .prepare_cached("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1")
            .and_then(|mut st| {
                st.query_row([], |r| {
                    Ok(StoredCheckpoint {
                        size: r.get::<_, i64>(0)? as u64,
                        root: bytes_of(r.get_ref(1)?),
                        note: text_of(r.get_ref(2)?),
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// The events that touch `parcel` itself (not its provenance), with their positions.
    pub fn parcel_events(&self, parcel: &ParcelId) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        let seqs: Vec<i64> = self
            .conn
            .prepare_cached("SELECT seq FROM event_parcels WHERE parcel = ?1 ORDER BY seq")
            .and_then(|mut st| st.query_map([parcel.to_string()], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(seqs.len());
        for s in seqs {
            if let Some(ev) = self.event(s as u64)? {
                out.push((s as u64, ev));
            }
        }
        Ok(out)
    }

    /// Checks `event` without appending it (an event already in the ledger is refused, as
    /// `append` would). A stored row the rules need that cannot be read is an error, as it
    /// is for `append`: never a verdict made without it.
    pub fn dry_run(&self, event: &ParsedEvent) -> Result<kpledger_verify::Verdict, StoreError> {
        let dup = already_recorded(&self.conn, &self.path, event)?;
        let verdict = judge(&self.conn, &self.path, None, event, kpledger_verify::Signatures::check(event))?;
        Ok(match dup {
            Some(dup) => verdict.with_first(dup),
            None => verdict,
        })
    }

    /// The position of the event whose hash is `hash`, if this ledger holds it.
    pub fn position_of(&self, hash: &Hash) -> Result<Option<u64>, StoreError> {
        seq_of(&self.conn, &self.path, hash)
    }

    /// The parcels whose id starts with `prefix` (docs/SPEC.md §7.1), in id order, at most
    /// `limit` of them: one is the parcel it names, none or several say it names none. Through
    /// the primary key's index.
    pub fn parcels_with_prefix(
        &self,
        prefix: &kpledger_model::ids::Prefix,
        limit: usize,
    ) -> Result<Vec<ParcelId>, StoreError> {
        let (lo, hi) = prefix.parcel_text_range();
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM parcels WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT ?3")
            .map_err(|e| self.err(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st
            .query_map(rusqlite::params![lo, hi, limit], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let text = r.map_err(|e| self.err(e))?;
            let id = text.parse().map_err(|_| StoreError::Corrupt {
                path: self.path.clone(),
                reason: format!("parcel id {text:?} in the parcels table is not a UUID"),
            })?;
            if prefix.matches_parcel(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The parcels just before and just after `id` in id order (whether or not `id` is in the
    /// ledger): what its short form must differ from (`kpledger_model::ids::short_parcel_among`).
    pub fn parcel_neighbours(&self, id: &ParcelId) -> Result<[Option<ParcelId>; 2], StoreError> {
        let text = id.to_string();
        let mut out = [None, None];
        for (i, sql) in [
            "SELECT id FROM parcels WHERE id < ?1 ORDER BY id DESC LIMIT 1",
            "SELECT id FROM parcels WHERE id > ?1 ORDER BY id LIMIT 1",
        ]
        .into_iter()
        .enumerate()
        {
            let found: Option<String> = self
                .conn
                .prepare_cached(sql)
                .and_then(|mut st| st.query_row([&text], |r| r.get(0)).optional())
                .map_err(|e| self.err(e))?;
            out[i] = found.and_then(|t| t.parse().ok());
        }
        Ok(out)
    }

    /// The events whose hash starts with `prefix` (docs/SPEC.md §7.1), as (position, hash) in
    /// hash order, at most `limit` of them. Through the hash's index.
    pub fn events_with_prefix(
        &self,
        prefix: &kpledger_model::ids::Prefix,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        let (lo, hi) = prefix.hash_range();
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT seq, hash FROM events WHERE hash BETWEEN ?1 AND ?2 ORDER BY hash LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st
            .query_map(rusqlite::params![&lo.0[..], &hi.0[..], limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let (seq, bytes) = r.map_err(|e| self.err(e))?;
            let hash = <[u8; 32]>::try_from(bytes.as_slice()).map(Hash).map_err(|_| StoreError::Corrupt {
                path: self.path.clone(),
                reason: format!("event #{seq} has a hash of {} bytes", bytes.len()),
            })?;
            if prefix.matches_hash(&hash) {
                out.push((u64::try_from(seq).unwrap_or(0), hash));
            }
        }
        Ok(out)
    }

    /// The ledger's origin name (after genesis).
    pub fn origin(&self) -> Result<Option<Origin>, StoreError> {
        SqlState::new(&self.conn, &self.path).try_origin()
    }

    /// A parcel's current state.
    pub fn parcel(&self, id: &ParcelId) -> Result<Option<ParcelState>, StoreError> {
        SqlState::new(&self.conn, &self.path)
            .get_doc("SELECT doc FROM parcels WHERE id = ?1", &id.to_string())
    }

    /// An actor's current state.
    pub fn actor(&self, id: &ActorId) -> Result<Option<ActorState>, StoreError> {
        SqlState::new(&self.conn, &self.path).get_doc("SELECT doc FROM actors WHERE id = ?1", id.as_str())
    }

    /// A country's current policy.
    pub fn policy(&self, country: &Country) -> Result<Option<Policy>, StoreError> {
        Ok(self.policy_history(country)?.and_then(|h| h.entries.last().map(|e| e.policy.clone())))
    }

    /// Every recorded version of a country's policy, oldest first.
    pub fn policy_history(&self, country: &Country) -> Result<Option<PolicyHistory>, StoreError> {
        SqlState::new(&self.conn, &self.path).try_policy_history(country)
    }

    /// A certificate by number.
    pub fn certificate(&self, number: &Text) -> Result<Option<CertificateState>, StoreError> {
        SqlState::new(&self.conn, &self.path)
            .get_doc("SELECT doc FROM certificates WHERE number = ?1", number.as_str())
    }

    /// Every certificate.
    pub fn certificates(&self) -> Result<Vec<CertificateState>, StoreError> {
        self.all_docs("SELECT doc FROM certificates ORDER BY number")
    }

    /// Every actor.
    pub fn actors(&self) -> Result<Vec<ActorState>, StoreError> {
        self.all_docs("SELECT doc FROM actors ORDER BY id")
    }

    /// Every parcel.
    pub fn parcels(&self) -> Result<Vec<ParcelState>, StoreError> {
        self.all_docs("SELECT doc FROM parcels ORDER BY id")
    }

    /// Every site.
    pub fn sites(&self) -> Result<Vec<SiteRecord>, StoreError> {
        self.all_docs("SELECT doc FROM sites ORDER BY id")
    }

    fn all_docs<T: serde::de::DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>, StoreError> {
        let mut st = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let text = r.map_err(|e| self.err(e))?;
            out.push(
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::BadRow { path: self.path.clone(), reason: e.to_string() })?,
            );
        }
        Ok(out)
    }

    /// Number of events.
    pub fn len(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// True if the ledger has no events.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// The event at `seq`.
    pub fn event(&self, seq: u64) -> Result<Option<ParsedEvent>, StoreError> {
        let doc: Option<String> = self
            .conn
            .query_row("SELECT doc FROM events WHERE seq = ?1", [seq as i64], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        doc.map(|d| {
            Event::parse(d.as_bytes()).map_err(|e| StoreError::BadRow {
                path: self.path.clone(),
                reason: format!("event #{seq}: {e}"),
            })
        })
        .transpose()
    }

    /// The provenance of a parcel: every event of the parcel and of every parcel it was
    /// split or merged from, back to the extractions, in ledger order.
    pub fn provenance(&self, parcel: &ParcelId) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        let mut seqs = BTreeSet::new();
        let mut seen = BTreeSet::from([*parcel]);
        let mut queue = vec![*parcel];
        let mut st = self
            .conn
            .prepare_cached("SELECT seq FROM event_parcels WHERE parcel = ?1")
            .map_err(|e| self.err(e))?;
        let mut events = BTreeMap::new();
        while let Some(p) = queue.pop() {
            let found: Vec<i64> = st
                .query_map([p.to_string()], |r| r.get(0))
                .map_err(|e| self.err(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.err(e))?;
            for s in found {
                let seq = s as u64;
                if !seqs.insert(seq) {
                    continue;
                }
                let Some(ev) = self.event(seq)? else { continue };
                // Follow the inputs of the event that created `p`.
                let touched = ev.event.body.payload.parcels();
                let creates_p = touched.iter().any(|(id, prev)| *id == p && prev.is_none());
                if creates_p {
                    for (id, prev) in &touched {
                        if prev.is_some() && seen.insert(*id) {
                            queue.push(*id);
                        }
                    }
                }
                events.insert(seq, ev);
            }
        }
        Ok(events.into_iter().collect())
    }

    /// Every `rotate_key` event with its position, in ledger order.
    pub fn key_rotations(&self) -> Result<Vec<(u64, ParsedEvent)>, StoreError> {
        let seqs: Vec<i64> = self
            .conn
            .prepare_cached("SELECT seq FROM events WHERE kind = 'rotate_key' ORDER BY seq")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(seqs.len());
        for s in seqs {
            let seq = s as u64;
            if let Some(ev) = self.event(seq)? {
                out.push((seq, ev));
            }
        }
        Ok(out)
    }

    /// The evidence bundle of a certificate: the provenance of its parcels and the
    /// enrolments, key rotations, policies and sites those events rely on, in ledger order.
    pub fn bundle(&self, number: &Text) -> Result<Bundle, StoreError> {
        self.bundle_where(number, &|_| true)
    }

    /// [`Ledger::bundle`] under the newest stored checkpoint that covers the certificate's
    /// events and that `published` accepts (for example: one cosigned by a trust policy's
    /// witness quorum).
    pub fn bundle_where(
        &self,
        number: &Text,
        published: &dyn Fn(&StoredCheckpoint) -> bool,
    ) -> Result<Bundle, StoreError> {
        let cert = self
            .certificate(number)?
            .ok_or_else(|| StoreError::NoCertificate { path: self.path.clone(), number: number.clone() })?;
        let mut chosen: BTreeMap<u64, ParsedEvent> = BTreeMap::new();
        for r in &cert.certificate.parcels {
            chosen.extend(self.provenance(&r.parcel)?);
        }
        // After the certificate, only its own life (export, transit, confirmation) belongs
        // to it: what an importer later does with the parcels is another story.
        let issued_seq =
            chosen.iter().find(|(_, e)| e.hash == cert.event).map(|(s, _)| *s).unwrap_or(u64::MAX);
        chosen.retain(|seq, ev| {
            *seq <= issued_seq
                || match &ev.event.body.payload {
                    Payload::Export { certificate, .. } | Payload::Transit { certificate, .. } => {
                        certificate == number
                    }
                    Payload::ImportConfirmation { confirmation } => &confirmation.certificate == number,
                    _ => false,
                }
        });
        let mut heads = BTreeMap::new();
        for ev in chosen.values() {
            for (parcel, _) in ev.event.body.payload.parcels() {
                if cert.certificate.parcels.iter().any(|r| r.parcel == parcel) {
                    heads.insert(parcel, ev.hash);
                }
            }
        }
        let last_dag = chosen.keys().next_back().copied().unwrap_or(0);
        let mut sites = BTreeSet::new();
        let mut countries = BTreeSet::new();
        for ev in chosen.values() {
            if let Payload::Extraction { site, .. } = &ev.event.body.payload {
                sites.insert(site.clone());
            }
        }
        for s in &sites {
            let site: Option<SiteRecord> = SqlState::new(&self.conn, &self.path)
                .get_doc("SELECT doc FROM sites WHERE id = ?1", s.as_str())?;
            if let Some(site) = site {
                countries.insert(site.country);
            }
        }
        for ev in chosen.values() {
            for a in signers(&ev.event.body.payload, &ev.event.body.signer) {
                if let Some(actor) = self.actor(&a)? {
                    countries.insert(actor.record.country);
                }
            }
        }
        // Governance events are few (one per actor, site and policy version): read them all.
        let mut st = self
            .conn
            .prepare("SELECT seq, doc FROM events WHERE kind IN ('genesis', 'policy', 'enrol', 'rotate_key', 'revoke', 'site') ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let gov: Vec<(u64, ParsedEvent)> = st
            .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?
            .map(|r| {
                let (seq, doc) = r.map_err(|e| self.err(e))?;
                let ev = Event::parse(doc.as_bytes()).map_err(|e| StoreError::BadRow {
                    path: self.path.clone(),
                    reason: format!("event #{seq}: {e}"),
                })?;
                Ok((seq, ev))
            })
            .collect::<Result<_, StoreError>>()?;
        for (seq, ev) in &gov {
            let keep = match &ev.event.body.payload {
                Payload::Genesis { .. } => true,
                Payload::Site { site } => sites.contains(&site.id),
                Payload::Policy { policy } => countries.contains(&policy.country) && *seq < last_dag,
                _ => false,
            };
            if keep {
                chosen.insert(*seq, ev.clone());
            }
        }
        let last = chosen.keys().next_back().copied().unwrap_or(0);
        let newest = self.stored_checkpoints()?.into_iter().rev().find(|c| published(c));
        let checkpoint = newest.filter(|c| c.size >= last).ok_or_else(|| {
            StoreError::Refused(format!(
                "no published checkpoint covers event #{last} yet: the root authority must publish one first \
                 (`kpledger log publish`), and the witnesses cosign it (`kpledger log witness`)"
            ))
        })?;
        let root_id: Option<ActorId> = gov.iter().find_map(|(_, ev)| match &ev.event.body.payload {
            Payload::Genesis { authority } => Some(authority.id.clone()),
            _ => None,
        });
        // Witnesses' enrolments are not carried: a bundle's reader takes witness keys from its
        // trust policy only (docs/SPEC.md §14.3), never from the bundle.
        // Enrolments (and the key rotations in force at each signature) of every actor the
        // chosen events name, up to the root: repeat until nothing more is needed.
        loop {
            let mut last_signed: BTreeMap<ActorId, u64> = BTreeMap::new();
            // The root signs the checkpoint: its keys as of the checkpoint.
            if let Some(r) = &root_id {
                last_signed.insert(r.clone(), checkpoint.size + 1);
            }
            for (seq, ev) in &chosen {
                for a in signers(&ev.event.body.payload, &ev.event.body.signer) {
                    let e = last_signed.entry(a).or_default();
                    *e = (*e).max(*seq);
                }
            }
            let before = chosen.len();
            for (seq, ev) in &gov {
                let wanted = match &ev.event.body.payload {
                    Payload::Enrol { actor } => last_signed.contains_key(&actor.id),
                    Payload::RotateKey { actor, .. } | Payload::Revoke { actor, .. } => {
                        last_signed.get(actor).is_some_and(|last| seq < last)
                    }
                    _ => false,
                };
                if wanted && !chosen.contains_key(seq) {
                    chosen.insert(*seq, ev.clone());
                }
            }
            if chosen.len() == before {
                break;
            }
        }
        let origin = self.origin()?.ok_or_else(|| StoreError::BadRow {
            path: self.path.clone(),
            reason: "the ledger has no genesis".into(),
        })?;
        let mut proofs = Vec::with_capacity(chosen.len());
        for seq in chosen.keys() {
            proofs.push(LeafProof { index: seq - 1, path: self.inclusion_proof(*seq, checkpoint.size)? });
        }
        let events = chosen
            .into_values()
            .map(|ev| serde_json::to_value(&ev.event))
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::BadRow { path: self.path.clone(), reason: e.to_string() })?;
        Ok(Bundle {
            format: Text::new(BUNDLE_FORMAT)
                .map_err(|reason| StoreError::BadRow { path: self.path.clone(), reason })?,
            ledger: origin,
            certificate: number.clone(),
            heads,
            events,
            log: BundleLog { checkpoint: checkpoint.note, proofs },
        })
    }

    /// The stored checkpoints, oldest first (as rows: verification judges them).
    pub fn stored_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT size, root, note FROM checkpoints ORDER BY size")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(StoredCheckpoint {
                    size: r.get::<_, i64>(0)? as u64,
                    root: bytes_of(r.get_ref(1)?),
                    note: text_of(r.get_ref(2)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The Merkle root of the first `size` events.
    pub fn log_root(&self, size: u64) -> Result<Hash, StoreError> {
        self.checked_size(size)?;
        LogTree::new(&self.conn).root(size).map_err(|e| tree_err(&self.path, e))
    }

    /// The inclusion proof of the event at `seq` in the tree of `size` events.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.checked_size(size)?;
        if seq == 0 || seq > size {
            return Err(StoreError::Refused(format!("event #{seq} is not in a log of {size} events")));
        }
        LogTree::new(&self.conn).inclusion_proof(seq - 1, size).map_err(|e| tree_err(&self.path, e))
    }

    /// The consistency proof from the tree of `old` events to the tree of `new` events.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        self.checked_size(new)?;
        if old == 0 || old > new {
            return Err(StoreError::Refused(format!("no consistency proof from size {old} to size {new}")));
        }
        LogTree::new(&self.conn).consistency_proof(old, new).map_err(|e| tree_err(&self.path, e))
    }

    fn checked_size(&self, size: u64) -> Result<(), StoreError> {
        let len = self.len()?;
        if size > len {
            return Err(StoreError::Refused(format!("the log has {len} events, not {size}")));
        }
        Ok(())
    }

    /// The root authority signs a checkpoint of the log as it is now (C2SP
    /// tlog-checkpoint in a signed note, key name = the ledger's origin) and stores it.
    /// Signing the same size again returns the stored note.
    pub fn publish_checkpoint(&mut self, key: &SecretKey) -> Result<StoredCheckpoint, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&path, e))?;
        check_schema(&tx, &path)?;
        let state = SqlState::new(&tx, &path);
        let origin =
            state.try_origin()?.ok_or_else(|| StoreError::Refused("the ledger has no genesis".into()))?;
        // The root authority is the one actor nobody enrolled (the genesis signer).
        let root_actor: Option<ActorState> = state.get_doc(
            "SELECT doc FROM actors WHERE json_extract(doc, '$.enrolled_by') IS NULL AND role = ?1",
            "authority",
        )?;
        let root_ok = root_actor.is_some_and(|a| a.record.key == key.public() && a.revoked.is_none());
        if !root_ok {
            return Err(StoreError::Refused(
                "only the ledger's root authority, with its current key, signs checkpoints".into(),
            ));
        }
        let size: i64 =
            tx.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).map_err(|e| sql_err(&path, e))?;
        let size = size as u64;
        let root = LogTree::new(&tx).root(size).map_err(|e| tree_err(&path, e))?;
        let existing: Option<String> = tx
            .query_row("SELECT note FROM checkpoints WHERE size = ?1", [size as i64], |r| r.get(0))
            .optional()
            .map_err(|e| sql_err(&path, e))?;
        let note = match existing {
            Some(n) => {
                let stored: Vec<u8> = tx
                    .query_row("SELECT root FROM checkpoints WHERE size = ?1", [size as i64], |r| r.get(0))
                    .map_err(|e| sql_err(&path, e))?;
                if stored != root.0 {
                    return Err(StoreError::Corrupt {
                        path: path.clone(),
                        reason: format!(
                            "the checkpoint stored at size {size} has another root than the log now has"
                        ),
                    });
                }
                n
            }
            None => {
                let bad = |e: kpledger_model::note::NoteError| StoreError::Refused(e.to_string());
                let signer =
                    kpledger_model::note::SignerKey::new(origin.as_str(), key.clone()).map_err(bad)?;
                // Chain each checkpoint to the one before, so that deleting a stored
                // checkpoint (other than the newest) is visible in the next.
                let previous: Option<(i64, Vec<u8>)> = tx
                    .query_row("SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1", [], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .map_err(|e| sql_err(&path, e))?;
                let mut checkpoint =
                    kpledger_model::note::Checkpoint::new(origin.as_str(), size, root).map_err(bad)?;
                if let Some((psize, proot)) = previous {
                    let proot = <[u8; 32]>::try_from(proot.as_slice()).map(Hash).map_err(|_| {
                        StoreError::Corrupt {
                            path: path.clone(),
                            reason: format!("checkpoint {psize} has a malformed root"),
                        }
                    })?;
                    checkpoint = checkpoint
                        .with_extension(&kpledger_verify::log::previous_line(psize as u64, &proot))
                        .map_err(bad)?;
                }
                let note = checkpoint.sign(&signer).map_err(bad)?;
                let text = String::from_utf8_lossy(&note.to_bytes()).into_owned();
                tx.execute(
                    "INSERT INTO checkpoints(size, root, note) VALUES (?1, ?2, ?3)",
                    params![size as i64, &root.0[..], text],
                )
                .map_err(|e| sql_err(&path, e))?;
                text
            }
        };
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(StoredCheckpoint { size, root: root.0.to_vec(), note })
    }

    /// Adds witnesses' cosignatures to a stored checkpoint. `cosigned` is the checkpoint
    /// note as a witness returned it; only cosignatures that verify with one of `witnesses`
    /// are kept. Returns how many were new.
    pub fn add_cosignatures(
        &mut self,
        cosigned: &[u8],
        witnesses: &[kpledger_model::note::VerifierKey],
    ) -> Result<usize, StoreError> {
        use kpledger_model::note::{Note, SigType, VerifierKey, open_checkpoint};
        let path = self.path.clone();
        let bad = |e: kpledger_model::note::NoteError| StoreError::Refused(e.to_string());
        let incoming = Note::parse(cosigned).map_err(bad)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&path, e))?;
        check_schema(&tx, &path)?;
        let origin = SqlState::new(&tx, &path)
            .try_origin()?
            .ok_or_else(|| StoreError::Refused("the ledger has no genesis".into()))?;
        let cp = kpledger_model::note::Checkpoint::parse(incoming.text()).map_err(bad)?;
        let stored: Option<String> = tx
            .query_row("SELECT note FROM checkpoints WHERE size = ?1", [cp.size() as i64], |r| r.get(0))
            .optional()
            .map_err(|e| sql_err(&path, e))?;
        let stored = stored.ok_or_else(|| {
            StoreError::Refused(format!("this ledger has no checkpoint of size {}", cp.size()))
        })?;
        let mut note = Note::parse(stored.as_bytes()).map_err(bad)?;
        if note.text() != incoming.text() {
            return Err(StoreError::Refused(
                "the cosigned checkpoint is not the one this ledger signed at that size".into(),
            ));
        }
        let root_keys: Vec<PublicKey> = self_root_keys(&tx, &path)?;
        let log_key = root_keys
            .iter()
            .filter_map(|k| VerifierKey::new(origin.as_str(), SigType::Ed25519, *k).ok())
            .find(|k| open_checkpoint(stored.as_bytes(), origin.as_str(), k, &[]).is_ok())
            .ok_or_else(|| {
                StoreError::Refused("the stored checkpoint is not signed by the root authority".into())
            })?;
        // A witness that is an actor of this ledger (an enrolled authority) cosigns with the key
        // it is enrolled with, and only checkpoints that contain its enrolment. A witness that is
        // not an actor (a public witness, named only by the verifiers' trust policies) is
        // accepted with the key the caller trusts; its cosignature is verified below all the same.
        for w in witnesses {
            let is_actor: bool = tx
                .query_row("SELECT count(*) FROM actors WHERE id = ?1", [w.name()], |r| r.get::<_, i64>(0))
                .map_err(|e| sql_err(&path, e))?
                > 0;
            if !is_actor {
                continue;
            }
            let enrolled: Option<(i64, String)> = tx
                .query_row(
                    "SELECT e.seq, a.doc FROM actors a JOIN events e ON e.kind = 'enrol' \
                     AND json_extract(e.doc, '$.body.actor.id') = a.id WHERE a.id = ?1",
                    [w.name()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| sql_err(&path, e))?;
            let Some((seq, doc)) = enrolled else {
                return Err(StoreError::Refused(format!(
                    "witness {} is not enrolled in this ledger: the root authority must enrol it (as an authority) first",
                    w.name()
                )));
            };
            let actor: ActorState = serde_json::from_str(&doc)
                .map_err(|e| StoreError::BadRow { path: path.clone(), reason: e.to_string() })?;
            if actor.record.key != *w.public_key() {
                return Err(StoreError::Refused(format!(
                    "witness {} is enrolled with another key",
                    w.name()
                )));
            }
            if seq as u64 > cp.size() {
                return Err(StoreError::Refused(format!(
                    "witness {} was enrolled after checkpoint {}; it can cosign later checkpoints",
                    w.name(),
                    cp.size()
                )));
            }
        }
        let opened = open_checkpoint(cosigned, origin.as_str(), &log_key, witnesses).map_err(bad)?;
        let mut added = 0;
        for c in opened.cosignatures() {
            let key = c.key();
            let sig = incoming
                .signatures()
                .iter()
                .find(|s| s.name() == key.name() && s.key_id() == key.key_id())
                .cloned();
            if let Some(sig) = sig
                && !note.signatures().contains(&sig)
            {
                note.add_signature(sig).map_err(bad)?;
                added += 1;
            }
        }
        let text = String::from_utf8_lossy(&note.to_bytes()).into_owned();
        tx.execute("UPDATE checkpoints SET note = ?1 WHERE size = ?2", params![text, cp.size() as i64])
            .map_err(|e| sql_err(&path, e))?;
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(added)
    }

    /// The stored bytes of events `first..=last`, in order (for export and benchmarks).
    pub fn event_docs(&self, first: u64, last: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT doc FROM events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![first as i64, last as i64], |r| r.get_ref(0).map(bytes_of))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Verifies the whole ledger: every stored event, in order, against every rule, and
    /// every derived row against the events. `progress(done, total)` is called as it goes.
    /// Signatures are checked with `verify_strict`, one at a time (on every core).
    pub fn verify(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<Report, StoreError> {
        self.verify_with(SigMode::Strict, progress)
    }

    /// As [`Ledger::verify`], checking signatures as `mode` says.
    ///
    /// This thread reads the events in order and runs the rules; events are parsed, hashed
    /// and have their signatures checked by this thread and one helper per other core, ahead
    /// of the rules ([`kpledger_verify::prepare::pipeline`]). Memory holds at most four
    /// batches of events plus the state of the open parcels.
    pub fn verify_with(
        &self,
        mode: SigMode,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Report, StoreError> {
        self.verify_observed(mode, progress, &mut |_, _| {})
    }

    /// As [`Ledger::verify_with`], showing `observe` each event that could be read, in
    /// ledger order, as verification reads it (for reports computed in the same pass).
    pub fn verify_observed(
        &self,
        mode: SigMode,
        progress: &mut dyn FnMut(u64, u64),
        observe: &mut dyn FnMut(u64, &ParsedEvent),
    ) -> Result<Report, StoreError> {
        // One read transaction for the whole check, so that every table is read at the same
        // snapshot: without it each statement sees the ledger as it is when it starts, and an
        // append committed by another process meanwhile shows up in some tables and not in
        // others (false LOG and DB-1 errors). Dropped last: rolled back, as it only reads.
        let _snapshot = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        // The schema as of this snapshot (it was checked at opening; another process may
        // have changed it since), before any other read of it.
        check_schema(&self.conn, &self.path)?;
        // SQLite's structural check of the file runs on a connection of its own beside the
        // verification, not before it (on one core it would hold up all the others). A
        // corrupt file is reported as such, whatever the verification made of it.
        std::thread::scope(|scope| {
            let (path, busy) = (self.path.as_path(), self.busy);
            let integrity = scope.spawn(move || integrity_check(path, busy));
            let report = self.verify_rows(mode, progress, observe);
            match integrity.join() {
                Ok(Ok(())) => report,
                Ok(Err(e)) => Err(e),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// [`Ledger::verify_observed`] but for the structural check of the file.
    fn verify_rows(
        &self,
        mode: SigMode,
        progress: &mut dyn FnMut(u64, u64),
        observe: &mut dyn FnMut(u64, &ParsedEvent),
    ) -> Result<Report, StoreError> {
        // The last position, for progress and the tree's height: a lookup, where `len`'s count
        // reads a whole index. The two differ only when events are missing, which the check
        // reports.
        let total: u64 = self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.err(e))?;
        let checkpoints = self.stored_checkpoints()?;
        let mut lc = LedgerCheck::with_checkpoints(checkpoints.iter().map(|c| c.size));
        let mut ev_st = self
            .conn
            .prepare("SELECT seq, hash, kind, time, signer, doc FROM events ORDER BY seq")
            .map_err(|e| self.err(e))?;
        // The parcel index, streamed beside the events in the same order (a merge join):
        // rows that point at no event are caught by the count in `finish`.
        let mut idx_st = self
            .conn
            .prepare("SELECT seq, parcel FROM event_parcels ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let mut events = ev_st.query([]).map_err(|e| self.err(e))?;
        let mut index = idx_st.query([]).map_err(|e| self.err(e))?;
        let mut pending_index: Option<(i64, String)> = None;
        let mut next_batch = || -> Result<Vec<StoredEvent>, StoreError> {
            let mut batch = Vec::with_capacity(VERIFY_BATCH);
            while batch.len() < VERIFY_BATCH {
                let Some(r) = events.next().map_err(|e| self.err(e))? else { break };
                let seq: i64 = r.get(0).map_err(|e| self.err(e))?;
                let mut rows = Vec::new();
                loop {
                    if pending_index.is_none() {
                        pending_index = match index.next().map_err(|e| self.err(e))? {
                            Some(ir) => Some((
                                ir.get(0).map_err(|e| self.err(e))?,
                                text_of(ir.get_ref(1).map_err(|e| self.err(e))?),
                            )),
                            None => None,
                        };
                    }
                    match pending_index.take() {
                        Some((s, parcel)) if s == seq => rows.push(parcel),
                        Some((s, _)) if s < seq => {}
                        other => {
                            pending_index = other;
                            break;
                        }
                    }
                }
                batch.push(StoredEvent {
                    seq: seq as u64,
                    hash: bytes_of(r.get_ref(1).map_err(|e| self.err(e))?),
                    kind: text_of(r.get_ref(2).map_err(|e| self.err(e))?),
                    time: text_of(r.get_ref(3).map_err(|e| self.err(e))?),
                    signer: text_of(r.get_ref(4).map_err(|e| self.err(e))?),
                    doc: bytes_of(r.get_ref(5).map_err(|e| self.err(e))?),
                    index: rows,
                });
            }
            Ok(batch)
        };
        // The Merkle tree's nodes are compared as the recomputed tree completes them, level
        // by level in index order: one cursor per level streams them.
        let levels = (u64::BITS - total.leading_zeros()) as usize;
        let mut level_st = (0..levels)
            .map(|_| self.conn.prepare("SELECT idx, hash FROM log_nodes WHERE level = ?1 ORDER BY idx"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let cursors = level_st
            .iter_mut()
            .enumerate()
            .map(|(level, st)| {
                st.query([level as i64]).map(|rows| LevelCursor { rows, head: None, asked: None })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let mut rows_by_key = RowsByKey { conn: &self.conn, levels: cursors };
        let mut done = 0;
        // The calling thread reads and judges; it and one helper per other core parse and
        // check signatures.
        let helpers = std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1);
        kpledger_verify::prepare::pipeline(
            mode,
            helpers,
            |row: &StoredEvent| row.doc.as_slice(),
            &mut next_batch,
            |row, p| {
                lc.feed_prepared(row, p, &mut rows_by_key);
                if let Ok(ev) = &p.parsed {
                    observe(row.seq, ev);
                }
                done += 1;
                if done % 1024 == 0 || done == total {
                    progress(done, total);
                }
            },
        )?;
        drop(events);
        drop(index);
        let tables = self.derived_tables()?;
        let index_rows: i64 = self
            .conn
            .query_row("SELECT count(*) FROM event_parcels", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let mut st = self.conn.prepare("SELECT * FROM parcels").map_err(|e| self.err(e))?;
        let n = st.column_count();
        let mut parcel_rows = st.query([]).map_err(|e| self.err(e))?;
        let mut failure = None;
        let mut iter = std::iter::from_fn(|| {
            let next = parcel_rows.next().and_then(|row| {
                row.map(|r| (0..n).map(|i| r.get_ref(i).map(cell)).collect::<Result<Vec<_>, _>>()).transpose()
            });
            match next {
                Ok(Some(cells)) => Some(cells),
                Err(e) => {
                    failure = Some(e);
                    None
                }
                Ok(None) => None,
            }
        });
        let log_nodes: i64 = self
            .conn
            .query_row("SELECT count(*) FROM log_nodes", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let counts = StoredCounts { index_rows: index_rows as u64, log_nodes: log_nodes as u64 };
        let report = lc.finish(&tables, &mut iter, counts, &checkpoints);
        match failure {
            Some(e) => Err(self.err(e)),
            None => Ok(report),
        }
    }

    /// Every row of every table except the event tables, as cells.
    fn derived_tables(&self) -> Result<Tables, StoreError> {
        // The tables this build creates: the file's schema was found to be exactly that.
        let names: Vec<String> = expected_schema()
            .map_err(|e| self.err(e))?
            .iter()
            .filter(|e| e.kind == "table")
            .map(|e| e.name.clone())
            .collect();
        let mut tables = Tables::new();
        // `parcels` is streamed by `verify`, not held whole.
        for name in names.into_iter().filter(|n| !EVENT_TABLES.contains(&n.as_str()) && n != "parcels") {
            let sql = format!("SELECT * FROM \"{}\"", name.replace('"', "\"\""));
            let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
            let n = st.column_count();
            let mut rows = st.query([]).map_err(|e| self.err(e))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(|e| self.err(e))? {
                let mut row = Vec::with_capacity(n);
                for i in 0..n {
                    row.push(cell(r.get_ref(i).map_err(|e| self.err(e))?));
                }
                out.push(row);
            }
            tables.insert(name, out);
        }
        Ok(tables)
    }
}

/// SQLite's `integrity_check` of the file at `path`, on a read-only connection of its own
/// (hardened, its schema checked first, like every connection to a ledger). Unlike
/// `quick_check`, it also checks that every index holds exactly its table's rows: an index
/// that disagrees with its table makes lookups by that index (a parcel's history) miss rows
/// that a scan of the table (verification) sees.
pub fn integrity_check(path: &Path, busy: Duration) -> Result<(), StoreError> {
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| sql_err(path, e))?;
    harden(&conn).map_err(|e| sql_err(path, e))?;
    conn.busy_timeout(busy).map_err(|e| sql_err(path, e))?;
    check_schema(&conn, path)?;
    // The first ten problems are enough to say the file is damaged.
    let mut st = conn.prepare("PRAGMA integrity_check(10)").map_err(|e| sql_err(path, e))?;
    let rows: Vec<String> = st
        .query_map([], |r| r.get_ref(0).map(text_of))
        .and_then(|rows| rows.collect())
        .map_err(|e| sql_err(path, e))?;
    if rows.len() != 1 || rows[0] != "ok" {
        // One row per problem (each may hold several lines after a header "*** in database
        // main ***"): on one line.
        let problems: Vec<&str> =
            rows.iter().flat_map(|r| r.lines()).filter(|l| !l.starts_with("*** ") && !l.is_empty()).collect();
        return Err(StoreError::Corrupt { path: path.to_owned(), reason: problems.join("; ") });
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
    name: String,
    kind: String,
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

fn expected_schema() -> rusqlite::Result<&'static [SchemaEntry]> {
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
/// would take `_` for any character and ignore case). Reading `sqlite_schema` runs nothing
/// the file defines.
fn check_schema(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let expected = expected_schema().map_err(|e| sql_err(path, e))?;
    let found = schema_entries(conn).map_err(|e| sql_err(path, e))?;
    if found == expected {
        return Ok(());
    }
    let mut differences = Vec::new();
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
    Err(StoreError::Schema { path: path.to_owned(), differences })
}

/// Every key the root authority has held, from its enrolment record's history: the
/// genesis key and each rotation.
fn self_root_keys(tx: &Connection, path: &Path) -> Result<Vec<PublicKey>, StoreError> {
    let mut st = tx
        .prepare("SELECT doc FROM events WHERE kind IN ('genesis', 'rotate_key') ORDER BY seq")
        .map_err(|e| sql_err(path, e))?;
    let docs: Vec<String> = st
        .query_map([], |r| r.get(0))
        .map_err(|e| sql_err(path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| sql_err(path, e))?;
    let mut root: Option<ActorId> = None;
    let mut keys = Vec::new();
    for d in docs {
        let Ok(ev) = Event::parse(d.as_bytes()) else { continue };
        match &ev.event.body.payload {
            Payload::Genesis { authority } => {
                root = Some(authority.id.clone());
                keys.push(authority.key);
            }
            Payload::RotateKey { actor, key } if Some(actor) == root.as_ref() => keys.push(*key),
            _ => {}
        }
    }
    Ok(keys)
}

/// Events per batch read from the store during whole-ledger verification.
const VERIFY_BATCH: usize = 2048;

/// Serves stored derived rows by key to the streaming verifier.
struct RowsByKey<'c> {
    conn: &'c Connection,
    /// A cursor over each level of the stored tree, in index order.
    levels: Vec<LevelCursor<'c>>,
}

/// Stored tree nodes of one level, streamed in index order.
struct LevelCursor<'s> {
    rows: rusqlite::Rows<'s>,
    /// The row under the cursor: (index, hash if 32 bytes), `None` before the first.
    head: Option<(u64, Option<Hash>)>,
    /// The last index asked for.
    asked: Option<u64>,
}

impl LevelCursor<'_> {
    /// The node at `index`, if stored; `None` also when indexes are not asked in increasing
    /// order (the caller then looks the node up directly).
    fn node(&mut self, index: u64) -> Result<Option<Option<Hash>>, rusqlite::Error> {
        if self.asked.is_some_and(|a| a >= index) {
            return Ok(None);
        }
        self.asked = Some(index);
        loop {
            match &self.head {
                Some((i, _)) if *i >= index => break,
                _ => {}
            }
            match self.rows.next()? {
                Some(r) => {
                    let i: i64 = r.get(0)?;
                    let hash = match r.get_ref(1)? {
                        ValueRef::Blob(b) => <[u8; 32]>::try_from(b).ok().map(Hash),
                        _ => None,
                    };
                    self.head = Some((i as u64, hash));
                }
                None => return Ok(Some(None)),
            }
        }
        Ok(Some(match &self.head {
            Some((i, h)) if *i == index => *h,
            _ => None,
        }))
    }
}

impl kpledger_verify::ledger::StoredRows for RowsByKey<'_> {
    fn compare(&mut self, table: &str, expected: &[Cell]) -> StoredRow {
        // Only the tables the verifier asks about, by their primary key column. A row that
        // cannot be read counts as missing.
        let sql = match table {
            "parcels" => "SELECT * FROM parcels WHERE id = ?1",
            _ => return StoredRow::Missing,
        };
        let Some(Cell::Text(key)) = expected.first() else { return StoredRow::Missing };
        let Ok(mut st) = self.conn.prepare_cached(sql) else { return StoredRow::Missing };
        let n = st.column_count();
        let Ok(mut rows) = st.query([key]) else { return StoredRow::Missing };
        let Ok(Some(row)) = rows.next() else { return StoredRow::Missing };
        let same = n == expected.len()
            && expected.iter().enumerate().all(|(i, c)| row.get_ref(i).is_ok_and(|v| cell_is(v, c)));
        if same {
            return StoredRow::Same;
        }
        match (0..n).map(|i| row.get_ref(i).map(cell)).collect() {
            Ok(cells) => StoredRow::Differs(cells),
            Err(_) => StoredRow::Missing,
        }
    }
    fn log_node(&mut self, level: u32, index: u64) -> Option<Hash> {
        if let Some(c) = self.levels.get_mut(level as usize)
            && let Ok(Some(found)) = c.node(index)
        {
            return found;
        }
        LogTree::new(self.conn).node(level, index).ok().flatten()
    }
}

/// Everyone whose enrolment an event relies on: its signer, and the actors it names.
fn signers(p: &Payload, signer: &ActorId) -> Vec<ActorId> {
    let mut out = vec![signer.clone()];
    match p {
        Payload::Handover { offer, .. } => out.push(offer.body.signer.clone()),
        Payload::Certificate { certificate } => out.push(certificate.exporter.actor.clone()),
        Payload::Import { holder, .. } => out.push(holder.clone()),
        Payload::ImportConfirmation { confirmation } => out.push(confirmation.holder.clone()),
        _ => {}
    }
    out
}

fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Text(format!("{f:?}")),
        ValueRef::Text(t) => Cell::Text(utf8(t.to_vec())),
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
    }
}

/// True if `v` reads as `c` ([`cell`]), without building a cell.
fn cell_is(v: ValueRef<'_>, c: &Cell) -> bool {
    match (v, c) {
        (ValueRef::Null, Cell::Null) => true,
        (ValueRef::Integer(i), Cell::Int(j)) => i == *j,
        (ValueRef::Text(t), Cell::Text(s)) => t == s.as_bytes(),
        (ValueRef::Blob(b), Cell::Blob(d)) => b == d.as_slice(),
        (ValueRef::Real(_), _) => cell(v) == *c,
        _ => false,
    }
}

fn bytes_of(v: ValueRef<'_>) -> Vec<u8> {
    match v {
        ValueRef::Text(t) | ValueRef::Blob(t) => t.to_vec(),
        ValueRef::Integer(i) => i.to_string().into_bytes(),
        ValueRef::Real(f) => format!("{f:?}").into_bytes(),
        ValueRef::Null => Vec::new(),
    }
}

fn text_of(v: ValueRef<'_>) -> String {
    utf8(bytes_of(v))
}

/// `bytes` as text, invalid UTF-8 (which the store never writes) replaced.
fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn sql_err(path: &Path, e: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked(path),
        Some(ErrorCode::NotADatabase) => {
            StoreError::NotALedger { path, reason: "it is not an SQLite database".into() }
        }
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt { path, reason: e.to_string() },
        _ => StoreError::Sql { path, source: e },
    }
}

/// Checks and writes one event inside an open transaction.
fn append_in(tx: &Connection, path: &Path, event: &ParsedEvent) -> Result<Appended, StoreError> {
    append_in_signed(tx, path, event, kpledger_verify::Signatures::check(event), &BatchCache::default())
}

/// Actors and policies read during one transaction, decoded once: the rules ask for the
/// signer, the counterparties and a country's policy at nearly every event. Only what was
/// read and found is kept, and `write` replaces an entry when an event changes it; the
/// transaction holds the write lock, so nobody else changes them meanwhile. Dropped with the
/// transaction.
#[derive(Default)]
struct BatchCache {
    actors: std::cell::RefCell<std::collections::HashMap<ActorId, ActorState>>,
    policies: std::cell::RefCell<std::collections::HashMap<Country, PolicyHistory>>,
}

/// As `append_in`, with the event's signatures already checked.
fn append_in_signed(
    tx: &Connection,
    path: &Path,
    event: &ParsedEvent,
    sigs: kpledger_verify::Signatures,
    cache: &BatchCache,
) -> Result<Appended, StoreError> {
    if let Some(dup) = already_recorded(tx, path, event)? {
        return Err(StoreError::Rejected { hash: event.hash, findings: vec![dup] });
    }
    let verdict = judge(tx, path, Some(cache), event, sigs)?;
    let accepted =
        verdict.accept().map_err(|findings| StoreError::Rejected { hash: event.hash, findings })?;
    write(tx, path, event, &accepted, cache)
}

/// The rules' verdict on `event` against the stored state: the one place the store asks for
/// one. A row the rules needed could not be read (a damaged page, a stored document that does
/// not parse): their verdict was made on a partial view, where a missing parcel, actor or
/// certificate can turn a refusal into an acceptance, so there is no verdict, only the
/// damage, for an append and a dry run alike.
fn judge(
    conn: &Connection,
    path: &Path,
    cache: Option<&BatchCache>,
    event: &ParsedEvent,
    sigs: kpledger_verify::Signatures,
) -> Result<kpledger_verify::Verdict, StoreError> {
    let state = SqlState { cache, ..SqlState::new(conn, path) };
    let mut verdict = kpledger_verify::check_event_signed(&state, event, sigs);
    if let Some(e) = state.failure() {
        return Err(e);
    }
    // The ledger's clock (CH-4): the newest time the log holds, through the index on `time`
    // (times are fixed-width UTC, so their text order is their time order).
    let newest: Option<String> = conn
        .prepare_cached("SELECT max(time) FROM events")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(|e| sql_err(path, e))?;
    let newest = newest.and_then(|t| kpledger_model::Time::new(t).ok());
    if let Some(f) = kpledger_verify::rules::ledger_clock(newest.as_ref(), event) {
        verdict = verdict.with_first(f);
    }
    Ok(verdict)
}

/// A refusal if this very event (same hash) is already in the ledger. The rules judge an event
/// against the state, and some events (a policy published again, byte for byte) pass them a
/// second time; the log must not hold the same leaf twice, and the `UNIQUE` index on the hash
/// would otherwise refuse it as a bare database error (exit 2) instead of a refusal (exit 1).
fn already_recorded(
    tx: &Connection,
    path: &Path,
    event: &ParsedEvent,
) -> Result<Option<Finding>, StoreError> {
    Ok(seq_of(tx, path, &event.hash)?.map(|seq| {
        let mut f = Finding::error(
            kpledger_verify::Rule::Ch1,
            format!("this very event is already in this ledger as event #{seq}; an event is recorded once"),
        )
        .hint("it was ingested before (by you or by another writer): there is nothing to do");
        f.event = Some(event.hash);
        f.seq = Some(seq);
        f
    }))
}

/// The position of the event with this hash, if the ledger holds it (the `UNIQUE` index on
/// `hash` makes this one lookup).
fn seq_of(conn: &Connection, path: &Path, hash: &Hash) -> Result<Option<u64>, StoreError> {
    let seq: Option<i64> = conn
        .prepare_cached("SELECT seq FROM events WHERE hash = ?1")
        .and_then(|mut st| st.query_row([&hash.0[..]], |r| r.get(0)).optional())
        .map_err(|e| sql_err(path, e))?;
    Ok(seq.and_then(|s| u64::try_from(s).ok()))
}

/// Writes an accepted event and its effects. Requires the token for this very event.
fn write(
    tx: &Connection,
    path: &Path,
    event: &ParsedEvent,
    accepted: &Accepted,
    cache: &BatchCache,
) -> Result<Appended, StoreError> {
    let e = |err| sql_err(path, err);
    if accepted.hash() != event.hash {
        return Err(StoreError::BadRow {
            path: path.to_owned(),
            reason: "acceptance token is for another event".into(),
        });
    }
    let body = &event.event.body;
    let doc = std::str::from_utf8(&event.canonical).map_err(|_| StoreError::BadRow {
        path: path.to_owned(),
        reason: "canonical bytes are not UTF-8".into(),
    })?;
    tx.prepare_cached("INSERT INTO events(hash, kind, time, signer, doc) VALUES (?1, ?2, ?3, ?4, ?5)")
        .and_then(|mut st| {
            st.execute(params![
                &event.hash.0[..],
                body.payload.kind(),
                body.time.as_str(),
                body.signer.as_str(),
                doc
            ])
        })
        .map_err(e)?;
    let seq = tx.last_insert_rowid();
    {
        let mut st =
            tx.prepare_cached("INSERT INTO event_parcels(parcel, seq) VALUES (?1, ?2)").map_err(e)?;
        for (p, _) in body.payload.parcels() {
            st.execute(params![p.to_string(), seq]).map_err(e)?;
        }
    }
    append_leaf(tx, path, seq as u64, &event.hash)?;
    for effect in accepted.effects() {
        match effect {
            Effect::PutActor(a) => {
                cache.actors.borrow_mut().insert(a.record.id.clone(), a.clone());
            }
            Effect::PutPolicy(h) => {
                if let Some(e) = h.current() {
                    cache.policies.borrow_mut().insert(e.policy.country.clone(), h.clone());
                }
            }
            _ => {}
        }
        let (table, row) = match effect {
            Effect::SetOrigin(o) => ("meta", rows::origin_row(o.as_str())),
            Effect::PutActor(a) => ("actors", rows::actor_row(a)),
            Effect::PutSite(s) => ("sites", rows::site_row(s)),
            Effect::PutPolicy(p) => ("policies", rows::policy_row(p)),
            Effect::PutParcel(p) => ("parcels", rows::parcel_row(p)),
            Effect::PutCertificate(c) => ("certificates", rows::certificate_row(c)),
            Effect::PutImport { key, event } => ("meta", rows::import_row(key, event)),
            _ => continue,
        };
        let marks: Vec<String> = (1..=row.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("INSERT OR REPLACE INTO {table} VALUES ({})", marks.join(", "));
        let mut st = tx.prepare_cached(&sql).map_err(e)?;
        let values: Vec<rusqlite::types::Value> = row
            .into_iter()
            .map(|c| match c {
                Cell::Null => rusqlite::types::Value::Null,
                Cell::Int(i) => rusqlite::types::Value::Integer(i),
                Cell::Text(t) => rusqlite::types::Value::Text(t),
                Cell::Blob(b) => rusqlite::types::Value::Blob(b),
            })
            .collect();
        st.execute(rusqlite::params_from_iter(values)).map_err(e)?;
    }
    Ok(Appended { seq: seq as u64, hash: event.hash, warnings: accepted.warnings().to_vec() })
}

/// Adds the event's leaf to the Merkle tree: O(log n) reads and writes.
fn append_leaf(tx: &Connection, path: &Path, seq: u64, event_hash: &Hash) -> Result<(), StoreError> {
    LogTree::new(tx)
        .append(seq - 1, kpledger_verify::log::leaf_hash(event_hash))
        .map_err(|e| tree_err(path, e))
}

fn tree_err(path: &Path, e: TreeError) -> StoreError {
    match e {
        TreeError::Sql(e) => sql_err(path, e),
        e => StoreError::Corrupt { path: path.to_owned(), reason: format!("the log's Merkle tree: {e}") },
    }
}

/// The rules' view of the ledger, read from the derived tables.
struct SqlState<'c> {
    conn: &'c Connection,
    path: &'c Path,
    cache: Option<&'c BatchCache>,
    /// The first row the rules asked for that could not be read (they see it as absent).
    failed: std::cell::RefCell<Option<StoreError>>,
}

impl<'c> SqlState<'c> {
    fn new(conn: &'c Connection, path: &'c Path) -> SqlState<'c> {
        SqlState { conn, path, cache: None, failed: std::cell::RefCell::new(None) }
    }
    /// The value, or `None` for an unreadable row, remembering the error.
    fn seen<T>(&self, r: Result<Option<T>, StoreError>) -> Option<T> {
        r.unwrap_or_else(|e| {
            self.failed.borrow_mut().get_or_insert(e);
            None
        })
    }
    /// The first read error the rules met, if any.
    fn failure(self) -> Option<StoreError> {
        self.failed.into_inner()
    }
    fn get_doc<T: serde::de::DeserializeOwned>(&self, sql: &str, key: &str) -> Result<Option<T>, StoreError> {
        let text: Option<String> = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut st| st.query_row([key], |r| r.get(0)).optional())
            .map_err(|e| sql_err(self.path, e))?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| StoreError::BadRow { path: self.path.to_owned(), reason: format!("{key}: {e}") })
        })
        .transpose()
    }
    /// A country's policy history from its `policies` row: every version with its time and
    /// signer once it has more than one; while it has one, the row holds the policy alone (as
    /// kpledger 0.1.0 wrote it), and its time and signer are those of the country's first
    /// `policy` event (policies are recorded early, so the scan stops early).
    fn try_policy_history(&self, country: &Country) -> Result<Option<PolicyHistory>, StoreError> {
        let Some(text) = self.get_text("SELECT doc FROM policies WHERE country = ?1", country.as_str())?
        else {
            return Ok(None);
        };
        let bad = |e: serde_json::Error| StoreError::BadRow {
            path: self.path.to_owned(),
            reason: format!("policies {country}: {e}"),
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(bad)?;
        if value.get("entries").is_some() {
            return serde_json::from_value(value).map(Some).map_err(bad);
        }
        let policy: Policy = serde_json::from_value(value).map_err(bad)?;
        let mut st = self
            .conn
            .prepare_cached("SELECT seq, doc FROM events WHERE kind = 'policy' ORDER BY seq")
            .map_err(|e| sql_err(self.path, e))?;
        let mut rows = st.query([]).map_err(|e| sql_err(self.path, e))?;
        while let Some(row) = rows.next().map_err(|e| sql_err(self.path, e))? {
            let seq: i64 = row.get(0).map_err(|e| sql_err(self.path, e))?;
            let doc: String = row.get(1).map_err(|e| sql_err(self.path, e))?;
            let ev = Event::parse(doc.as_bytes()).map_err(|e| StoreError::BadRow {
                path: self.path.to_owned(),
                reason: format!("event #{seq}: {e}"),
            })?;
            if let Payload::Policy { policy: p } = &ev.event.body.payload
                && &p.country == country
            {
                let by = ev.event.body.signer.clone();
                let root = self.try_actor(&by)?.is_some_and(|a| a.enrolled_by.is_none());
                let time = ev.event.body.time.clone();
                return Ok(Some(PolicyHistory { entries: vec![PolicyEntry { time, by, root, policy }] }));
            }
        }
        Err(StoreError::BadRow {
            path: self.path.to_owned(),
            reason: format!("policies {country}: no policy event of {country} in the ledger"),
        })
    }
    fn try_actor(&self, id: &ActorId) -> Result<Option<ActorState>, StoreError> {
        self.get_doc("SELECT doc FROM actors WHERE id = ?1", id.as_str())
    }
    fn try_origin(&self) -> Result<Option<Origin>, StoreError> {
        let text: Option<String> = self.get_text("SELECT value FROM meta WHERE key = ?1", "origin")?;
        text.map(|t| {
            Origin::new(t).map_err(|reason| StoreError::BadRow { path: self.path.to_owned(), reason })
        })
        .transpose()
    }
    fn get_text(&self, sql: &str, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut st| st.query_row([key], |r| r.get(0)).optional())
            .map_err(|e| sql_err(self.path, e))
    }
}

// The rules see a damaged row as absent; an append refuses to judge on such a view (see
// `append_in`), and whole-ledger verification reports the damage.
impl State for SqlState<'_> {
    fn origin(&self) -> Option<std::borrow::Cow<'_, Origin>> {
        self.seen(self.try_origin()).map(std::borrow::Cow::Owned)
    }
    fn trader_named(&self, country: &Country, name: &Text) -> Option<ActorId> {
        // Enrolments are rare: a scan of the country's unrevoked actors.
        let found: Result<Option<ActorId>, StoreError> = (|| {
            let mut st = self
                .conn
                .prepare_cached("SELECT doc FROM actors WHERE country = ?1 AND revoked = 0")
                .map_err(|e| sql_err(self.path, e))?;
            let mut rows = st.query([country.as_str()]).map_err(|e| sql_err(self.path, e))?;
            while let Some(r) = rows.next().map_err(|e| sql_err(self.path, e))? {
                let doc: String = r.get(0).map_err(|e| sql_err(self.path, e))?;
                let a: ActorState = serde_json::from_str(&doc).map_err(|e| StoreError::BadRow {
                    path: self.path.to_owned(),
                    reason: format!("actor of {country}: {e}"),
                })?;
                if a.record.role.is_trade() && &a.record.name == name {
                    return Ok(Some(a.record.id));
                }
            }
            Ok(None)
        })();
        self.seen(found)
    }
    fn actor(&self, id: &ActorId) -> Option<std::borrow::Cow<'_, ActorState>> {
        if let Some(a) = self.cache.and_then(|c| c.actors.borrow().get(id).cloned()) {
            return Some(std::borrow::Cow::Owned(a));
        }
        let a: Option<ActorState> =
            self.seen(self.get_doc("SELECT doc FROM actors WHERE id = ?1", id.as_str()));
        if let (Some(c), Some(a)) = (self.cache, &a) {
            c.actors.borrow_mut().insert(id.clone(), a.clone());
        }
        a.map(std::borrow::Cow::Owned)
    }
    fn site(&self, id: &SiteId) -> Option<std::borrow::Cow<'_, SiteRecord>> {
        self.seen(self.get_doc("SELECT doc FROM sites WHERE id = ?1", id.as_str()))
            .map(std::borrow::Cow::Owned)
    }
    fn policy(&self, country: &Country) -> Option<std::borrow::Cow<'_, Policy>> {
        let h = self.policy_history(country)?.into_owned();
        h.entries.into_iter().last().map(|e| std::borrow::Cow::Owned(e.policy))
    }
    fn policy_history(&self, country: &Country) -> Option<std::borrow::Cow<'_, PolicyHistory>> {
        if let Some(p) = self.cache.and_then(|c| c.policies.borrow().get(country).cloned()) {
            return Some(std::borrow::Cow::Owned(p));
        }
        let p: Option<PolicyHistory> = self.seen(self.try_policy_history(country));
        if let (Some(c), Some(p)) = (self.cache, &p) {
            c.policies.borrow_mut().insert(country.clone(), p.clone());
        }
        p.map(std::borrow::Cow::Owned)
    }
    fn policy_countries(&self) -> Vec<Country> {
        let rows =
            self.conn.prepare_cached("SELECT country FROM policies ORDER BY country").and_then(|mut st| {
                st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<String>, _>>()
            });
        match rows {
            Ok(v) => v.into_iter().filter_map(|c| Country::new(c).ok()).collect(),
            Err(e) => {
                self.failed.borrow_mut().get_or_insert(sql_err(self.path, e));
                Vec::new()
            }
        }
    }
    fn parcel(&self, id: &ParcelId) -> Option<std::borrow::Cow<'_, ParcelState>> {
        self.seen(self.get_doc("SELECT doc FROM parcels WHERE id = ?1", &id.to_string()))
            .map(std::borrow::Cow::Owned)
    }
    fn certificate(&self, number: &Text) -> Option<CertificateState> {
        self.seen(self.get_doc("SELECT doc FROM certificates WHERE number = ?1", number.as_str()))
    }
    fn certificate_numbers(&self, country: &Country) -> Vec<Text> {
        let read = || -> Result<Vec<Text>, StoreError> {
            let mut st = self
                .conn
                .prepare_cached("SELECT number FROM certificates WHERE issuing_country = ?1")
                .map_err(|e| sql_err(self.path, e))?;
            let rows = st
                .query_map([country.as_str()], |r| r.get::<_, String>(0))
                .map_err(|e| sql_err(self.path, e))?;
            let mut out = Vec::new();
            for r in rows {
                let n = r.map_err(|e| sql_err(self.path, e))?;
                out.push(
                    Text::new(n)
                        .map_err(|reason| StoreError::BadRow { path: self.path.to_owned(), reason })?,
                );
            }
            Ok(out)
        };
        self.seen(read().map(Some)).unwrap_or_default()
    }
    fn foreign_import(&self, key: &str) -> Option<Hash> {
        let hex = self.seen(self.get_text("SELECT value FROM meta WHERE key = ?1", key))?;
        self.seen(hex.parse::<Hash>().map(Some).map_err(|e| StoreError::BadRow {
            path: self.path.to_owned(),
            reason: format!("meta {key}: {e}"),
        }))
    }
}
