//! The ledger's Merkle tree in SQLite: the hash of every perfect subtree (leaves at level
//! 0), stored as an append completes it, so that appending, computing a root at any past
//! size and serving inclusion and consistency proofs each take O(log n) reads.
//!
//! The tree mathematics is `kpledger_verify::merkle`; this module only stores and fetches
//! node hashes.

use kpledger_model::Hash;
use kpledger_verify::merkle::{self, Frontier, MerkleError, NodeSource};
use rusqlite::{Connection, OptionalExtension, params};

/// The tables, as the ledger schema creates them: every node, and the frontier (the
/// right-edge subtree roots, `Frontier::to_bytes`) in one row, so an append reads one row
/// instead of `popcount(n)` nodes.
pub const SCHEMA: &str = "CREATE TABLE log_nodes(level INTEGER NOT NULL, idx INTEGER NOT NULL, \
                          hash BLOB NOT NULL, PRIMARY KEY (level, idx)) STRICT, WITHOUT ROWID;
CREATE TABLE log_frontier(size INTEGER PRIMARY KEY, nodes BLOB NOT NULL) STRICT;";

/// Why a tree operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// SQLite failed.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    /// The stored tree lacks a node it should have, or a size is out of range.
    #[error(transparent)]
    Tree(#[from] MerkleError),
}

/// The stored tree, over a connection (or an open transaction).
#[derive(Debug, Clone, Copy)]
pub struct LogTree<'c> {
    conn: &'c Connection,
}

impl<'c> LogTree<'c> {
    /// The tree stored in `conn`'s `log_nodes` table.
    pub fn new(conn: &'c Connection) -> Self {
        LogTree { conn }
    }

    /// The stored hash of node `index` at `level`.
    pub fn node(&self, level: u32, index: u64) -> Result<Option<Hash>, rusqlite::Error> {
        let mut st = self.conn.prepare_cached("SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2")?;
        let bytes: Option<Vec<u8>> = st.query_row(params![level, index as i64], |r| r.get(0)).optional()?;
        Ok(bytes.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok()).map(Hash))
    }

    /// Appends leaf number `size` (0-based: the tree has `size` leaves before): reads the
    /// stored frontier (one row), pushes the leaf, stores the subtrees it completes
    /// (amortised two rows per leaf) and the new frontier. Constant work per append, but for
    /// the at most `log₂ n` node hashes.
    pub fn append(&self, size: u64, leaf: Hash) -> Result<(), TreeError> {
        let mut frontier = self.frontier()?.unwrap_or_default();
        if frontier.size() != size {
            // The stored frontier disagrees with the event count: rebuild it from the nodes.
            frontier = self.with_source(|src| Frontier::from_source(src, size))?;
        }
        let done = frontier.push(leaf)?;
        let mut st =
            self.conn.prepare_cached("INSERT INTO log_nodes(level, idx, hash) VALUES (?1, ?2, ?3)")?;
        for node in done {
            st.execute(params![node.level(), node.index() as i64, &node.hash.0[..]])?;
        }
        // One row: the frontier at the current size.
        self.conn.prepare_cached("DELETE FROM log_frontier")?.execute([])?;
        self.conn
            .prepare_cached("INSERT INTO log_frontier(size, nodes) VALUES (?1, ?2)")?
            .execute(params![frontier.size() as i64, frontier.to_bytes()])?;
        Ok(())
    }

    /// The stored frontier, if any leaf was appended.
    pub fn frontier(&self) -> Result<Option<Frontier>, TreeError> {
        let mut st = self.conn.prepare_cached("SELECT nodes FROM log_frontier ORDER BY size DESC LIMIT 1")?;
        let bytes: Option<Vec<u8>> = st.query_row([], |r| r.get(0)).optional()?;
        Ok(bytes.map(|b| Frontier::from_bytes(&b)).transpose()?)
    }

    /// The root of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, TreeError> {
        self.with_source(|src| merkle::root_from(src, size))
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        self.with_source(|src| merkle::inclusion_proof_from(src, size, index))
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` leaves.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, TreeError> {
        self.with_source(|src| merkle::consistency_proof_from(src, new, old))
    }

    fn with_source<T>(
        &self,
        f: impl FnOnce(&mut Lookup<'_>) -> Result<T, MerkleError>,
    ) -> Result<T, TreeError> {
        let mut src = Lookup { tree: *self, failed: None };
        let out = f(&mut src);
        if let Some(e) = src.failed {
            return Err(TreeError::Sql(e));
        }
        Ok(out?)
    }
}

/// A [`NodeSource`] over the stored nodes that remembers the first SQLite error.
struct Lookup<'c> {
    tree: LogTree<'c>,
    failed: Option<rusqlite::Error>,
}

impl NodeSource for Lookup<'_> {
    fn subtree(&mut self, start: u64, end: u64) -> Option<Hash> {
        let len = end.checked_sub(start)?;
        let level = len.trailing_zeros();
        match self.tree.node(level, start >> level) {
            Ok(h) => h,
            Err(e) => {
                self.failed = Some(e);
                None
            }
        }
    }
}
