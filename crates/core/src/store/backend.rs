//! The storage boundary under [`crate::Ledger`]: what a ledger asks of its storage, at the
//! level of rows, never of rules. SQLite implements it here (`sqlite.rs`); another engine
//! (PostgreSQL) implements the same traits. Nothing here decides validity: the rules
//! (`kpledger_verify::check_event`) judge, the verifier (`kpledger_verify::LedgerCheck`)
//! recomputes, and the store only fetches and writes what comes with an `Accepted` token.
//!
//! Three traits:
//! - [`Reads`]: every read a ledger makes, inside whatever transaction or snapshot is open
//!   (derived documents by key, events by position, hash or range, the parcel index, the
//!   log's nodes, the checkpoints, the derived tables in key order for verification).
//! - [`Writes`]: the rows one append or checkpoint writes, inside the one write transaction.
//! - [`Backend`]: the storage itself — the write transaction (which takes the sequencer),
//!   the read snapshot, the exact schema check and the engine's integrity check.
//!
//! Every method takes `&self`: a transaction is used by one thread, and an engine whose client
//! needs `&mut` for a query keeps it in a `RefCell`. Errors are [`Fault`]s, without the
//! ledger's location, which the `Ledger` attaches at its public boundary.

use kpledger_model::Hash;
use kpledger_verify::rows::DerivedRow;
use kpledger_verify::{Cell, StoredCheckpoint, StoredCounts, StoredEvent};

use super::Fault;

/// A derived table, by name (`kpledger_verify::rows::TABLES`).
pub type Table = &'static str;

/// The key column of a derived table (its first column), or of `log_frontier` (`size`): what
/// its rows are looked up and ordered by.
pub(crate) fn order_column(table: Table) -> Result<&'static str, Fault> {
    if table == "log_frontier" {
        return Ok("size");
    }
    kpledger_verify::rows::columns(table)
        .first()
        .copied()
        .ok_or_else(|| Fault::Corrupt(format!("no derived table {table}")))
}

/// Keys of a derived table in `[lo, hi)`, in order, at most `limit` of them.
#[derive(Debug, Clone, Copy)]
pub struct KeyRange<'a> {
    /// The least key included.
    pub lo: &'a str,
    /// The least key above the range.
    pub hi: &'a str,
    /// The most keys returned.
    pub limit: u64,
}

/// A page of rows in key order: at most `limit` whose key is after `after` (for a derived
/// table's `Option<&str>`, from the first when `None`; for events, a position).
#[derive(Debug, Clone, Copy)]
pub struct Page<K> {
    /// The key the page starts after.
    pub after: K,
    /// The most rows in the page.
    pub limit: u64,
}

/// The key queries of a derived table, written once for every engine: `[between, before,
/// after]`, the keys in `[arg(1), arg(2))` at most `arg(3)` of them, the greatest key below
/// `arg(1)` and the least above it. `from` names the table as the engine does, `k` is its key
/// column ([`order_column`]) and `arg(n)` the engine's n-th parameter (`?1`, `$1`).
pub(crate) fn key_queries(from: &str, k: &str, arg: fn(u8) -> String) -> [String; 3] {
    let (lo, hi, limit) = (arg(1), arg(2), arg(3));
    let select = format!("SELECT {k} FROM {from} WHERE {k}");
    [
        format!("{select} >= {lo} AND {k} < {hi} ORDER BY {k} LIMIT {limit}"),
        format!("{select} < {lo} ORDER BY {k} DESC LIMIT 1"),
        format!("{select} > {lo} ORDER BY {k} LIMIT 1"),
    ]
}

/// The tables verification reads whole and compares with what the events imply: the derived
/// tables but `parcels` (streamed, a page at a time) and the log's frontier.
pub(crate) const COMPARED_TABLES: [Table; 6] =
    ["meta", "actors", "sites", "policies", "certificates", "log_frontier"];

/// The `events` row of an accepted event, as the store writes it.
#[derive(Debug, Clone, Copy)]
pub struct EventRow<'a> {
    /// The event hash (the `hash` column, 32 bytes, unique).
    pub hash: &'a Hash,
    /// Its kind (`Payload::kind`).
    pub kind: &'a str,
    /// Its time, fixed-width UTC (so text order is time order).
    pub time: &'a str,
    /// The actor id of its signer.
    pub signer: &'a str,
    /// Its canonical bytes, as text.
    pub doc: &'a str,
}

/// Every read a ledger makes of its storage.
pub trait Reads {
    /// The `doc` column of the row of `table` whose key is `key` (for `meta`, the `value`
    /// column).
    fn derived_doc(&self, table: Table, key: &str) -> Result<Option<String>, Fault>;
    /// The `doc` of every unrevoked actor of `country`, in id order.
    fn actor_docs_of_country(&self, country: &str) -> Result<Vec<String>, Fault>;
    /// The countries that have a policy, in order.
    fn policy_countries(&self) -> Result<Vec<String>, Fault>;
    /// The numbers of the certificates `country` issued.
    fn certificate_numbers(&self, country: &str) -> Result<Vec<String>, Fault>;
    /// Every `doc` of `table`, in key order.
    fn derived_docs(&self, table: Table) -> Result<Vec<String>, Fault>;
    /// The keys of `table` in the range, in order.
    fn derived_keys_between(&self, table: Table, range: KeyRange<'_>) -> Result<Vec<String>, Fault>;
    /// The greatest key of `table` below `key`, and the least above it.
    fn derived_key_neighbours(&self, table: Table, key: &str) -> Result<[Option<String>; 2], Fault>;

    /// The number of events.
    fn event_count(&self) -> Result<u64, Fault>;
    /// The greatest position (0 when empty): what the next event follows.
    fn last_seq(&self) -> Result<u64, Fault>;
    /// The newest time of any event (the ledger's clock, CH-4).
    fn newest_time(&self) -> Result<Option<String>, Fault>;
    /// The position of the event with this hash.
    fn seq_of(&self, hash: &Hash) -> Result<Option<u64>, Fault>;
    /// The stored document of the event at `seq`.
    fn event_doc(&self, seq: u64) -> Result<Option<Vec<u8>>, Fault>;
    /// The stored documents of events `first..=last`, with their positions, in order.
    fn event_docs(&self, first: u64, last: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault>;
    /// The stored hashes of events `first..=last`, with their positions, in order.
    fn event_hashes(&self, first: u64, last: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault>;
    /// The events whose hash lies in `[lo, hi]`, as (position, hash) in hash order, at most
    /// `limit`.
    fn events_by_hash_between(&self, lo: &Hash, hi: &Hash, limit: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault>;
    /// The documents of every event of one of `kinds`, with their positions, in order.
    fn event_docs_of_kinds(&self, kinds: &[&str]) -> Result<Vec<(u64, Vec<u8>)>, Fault>;
    /// As [`Reads::event_docs_of_kinds`], a page at a time: at most `limit` of them, after
    /// position `after`. A caller that looks for the first match reads only up to it (the
    /// rules' state reads a country's first `policy` event on every append).
    fn event_docs_of_kinds_after(
        &self,
        kinds: &[&str],
        page: Page<u64>,
    ) -> Result<Vec<(u64, Vec<u8>)>, Fault>;
    /// The positions of the events that touch `parcel` (the parcel index), in order.
    fn parcel_seqs(&self, parcel: &str) -> Result<Vec<u64>, Fault>;
    /// The documents of the events that touch `parcel`, with their positions, in order (the
    /// parcel index joined to the events: one statement).
    fn parcel_event_docs(&self, parcel: &str) -> Result<Vec<(u64, Vec<u8>)>, Fault>;
    /// The events after position `after` as stored, every column, in order, at most `limit`,
    /// each with the parcel-index rows that point at it (the verification feed, which starts
    /// below any position, so that a row at a position no append makes is read too).
    fn stored_events_after(&self, after: i64, limit: u64) -> Result<Vec<StoredEvent>, Fault>;

    /// The stored hash of the log's node `index` at `level` (leaves are level 0).
    fn log_node(&self, level: u32, index: u64) -> Result<Option<Hash>, Fault>;
    /// The stored nodes of `level` with index in `first .. first + count`, as (index, stored
    /// bytes), in index order.
    fn log_nodes(&self, level: u32, first: u64, count: u64) -> Result<Vec<(u64, Vec<u8>)>, Fault>;
    /// The stored frontier (`Frontier::to_bytes`) of the largest size.
    fn log_frontier(&self) -> Result<Option<Vec<u8>>, Fault>;

    /// Every stored checkpoint, oldest first.
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, Fault>;
    /// The newest stored checkpoint.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, Fault>;
    /// The stored checkpoint of `size`.
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, Fault>;

    /// Every row of `table`, every column in order, in key order (verification compares
    /// them cell by cell).
    fn derived_rows(&self, table: Table) -> Result<Vec<Vec<Cell>>, Fault>;
    /// As [`Reads::derived_rows`], a page at a time: at most `limit` rows whose key is after
    /// `after` (from the first when `None`). Verification streams `parcels` this way.
    fn derived_rows_after(&self, table: Table, page: Page<Option<&str>>) -> Result<Vec<Vec<Cell>>, Fault>;
    /// The row of `table` with this key, every column in order.
    fn derived_row(&self, table: Table, key: &str) -> Result<Option<Vec<Cell>>, Fault>;
    /// The rows of `table` with these keys, every column in order, in any order (a key
    /// with no row gives none). By default one [`Reads::derived_row`] each; a store across
    /// a network answers in one statement (verification compares consumed parcels' rows a
    /// batch at a time this way).
    fn derived_rows_by_key(&self, table: Table, keys: &[&str]) -> Result<Vec<Vec<Cell>>, Fault> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.extend(self.derived_row(table, key)?);
        }
        Ok(out)
    }
    /// The row counts verification checks against the events.
    fn counts(&self) -> Result<StoredCounts, Fault>;
}

/// The rows one write transaction writes. Only called between [`Backend::begin_write`] and
/// the commit.
pub trait Writes: Reads {
    /// Appends an event row at the next position and returns that position (`last_seq + 1`).
    fn insert_event(&self, row: &EventRow<'_>) -> Result<u64, Fault>;
    /// Adds a parcel-index row.
    fn insert_event_parcel(&self, parcel: &str, seq: u64) -> Result<(), Fault>;
    /// Writes a derived row, replacing the row of the same key.
    fn put_derived(&self, row: &DerivedRow) -> Result<(), Fault>;
    /// Stores a node of the log (never replaced).
    fn insert_log_node(&self, level: u32, index: u64, hash: &Hash) -> Result<(), Fault>;
    /// Replaces the stored frontier with the one of `size` leaves.
    fn set_log_frontier(&self, size: u64, nodes: &[u8]) -> Result<(), Fault>;
    /// Stores a new checkpoint.
    fn insert_checkpoint(&self, size: u64, root: &[u8], note: &str) -> Result<(), Fault>;
    /// Replaces a stored checkpoint's note (cosignatures added).
    fn update_checkpoint_note(&self, size: u64, note: &str) -> Result<(), Fault>;
    /// Opens a savepoint: what follows can be undone alone ([`Writes::rollback_savepoint`]).
    fn savepoint(&self) -> Result<(), Fault>;
    /// Keeps what was written since the savepoint.
    fn release_savepoint(&self) -> Result<(), Fault>;
    /// Undoes what was written since the savepoint, and closes it.
    fn rollback_savepoint(&self) -> Result<(), Fault>;
}

/// One write transaction: the only writer while it lives. Dropped without
/// [`WriteTx::commit`], it is rolled back.
pub trait WriteTx {
    /// Commits durably (the acknowledgement waits for the disk).
    fn commit(self: Box<Self>) -> Result<(), Fault>;
    /// The transaction as its reads and writes.
    fn writes(&self) -> &dyn Writes;
}

/// A read snapshot, held open until dropped.
pub trait Snapshot {}

/// The storage of one ledger.
pub trait Backend {
    /// Reads outside any explicit transaction (each at the latest committed state).
    fn reads(&self) -> &dyn Reads;
    /// Begins the one write transaction: takes the sequencer (SQLite: `BEGIN IMMEDIATE`;
    /// PostgreSQL: a transaction-scoped lock), so that appends are serialised and the next
    /// position is read under it; then checks the schema exactly.
    fn begin_write(&mut self) -> Result<Box<dyn WriteTx + '_>, Fault>;
    /// Begins a read snapshot (every read until it is dropped sees one committed state) and
    /// checks the schema as of it; the returned value ends the snapshot when dropped.
    fn begin_snapshot(&self) -> Result<Box<dyn Snapshot + '_>, Fault>;
    /// Checks that the storage's schema is exactly the one this build creates (tables,
    /// columns, types, constraints, indexes; no trigger, view or function of its own).
    fn check_schema(&self) -> Result<(), Fault>;
    /// The engine's own structural check (SQLite: `integrity_check`), on a connection of its
    /// own, so that it can run beside verification.
    fn integrity_check(&self) -> Result<(), Fault>;
}
