//! The ledger's Merkle tree in the store: the hash of every perfect subtree (leaves at level
//! 0), stored as an append completes it, so that appending, computing a root at any past
//! size and serving inclusion and consistency proofs each take O(log n) reads.
//!
//! The tree mathematics is `kpledger_verify::merkle`; this module only stores and fetches
//! node hashes, through the storage boundary (`crate::store::backend`).

use crate::store::Fault;
use crate::store::backend::{Reads, Writes};
use kpledger_model::Hash;
use kpledger_verify::merkle::{self, Frontier, MerkleError, NodeSource};

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
    /// The storage failed.
    #[error("{0:?}")]
    Store(Fault),
    /// The stored tree lacks a node it should have, or a size is out of range.
    #[error(transparent)]
    Tree(#[from] MerkleError),
}

impl From<Fault> for TreeError {
    fn from(e: Fault) -> TreeError {
        TreeError::Store(e)
    }
}

impl From<rusqlite::Error> for TreeError {
    fn from(e: rusqlite::Error) -> TreeError {
        TreeError::Store(Fault::Sql(e))
    }
}

/// The stored tree, read through a store (a connection, or an open transaction).
#[derive(Clone, Copy)]
pub struct LogTree<'c> {
    store: &'c dyn Reads,
}

impl<'c> LogTree<'c> {
    /// The tree stored in `store`'s `log_nodes`.
    pub fn new(store: &'c dyn Reads) -> Self {
        LogTree { store }
    }

    /// The stored hash of node `index` at `level`.
    pub fn node(&self, level: u32, index: u64) -> Result<Option<Hash>, TreeError> {
        Ok(self.store.log_node(level, index)?)
    }

    /// Appends leaf number `size` (0-based: the tree has `size` leaves before) to the tree
    /// stored in `store`: reads the stored frontier (one row), pushes the leaf, stores the
    /// subtrees it completes (amortised two rows per leaf) and the new frontier. Constant work
    /// per append, but for the at most `log₂ n` node hashes.
    pub fn append(store: &dyn Writes, size: u64, leaf: Hash) -> Result<(), TreeError> {
        let tree = LogTree::new(store);
        let mut frontier = tree.frontier()?.unwrap_or_default();
        if frontier.size() != size {
            // The stored frontier disagrees with the event count: rebuild it from the nodes.
            frontier = tree.with_source(|src| Frontier::from_source(src, size))?;
        }
        let done = frontier.push(leaf)?;
        for node in done {
            store.insert_log_node(node.level(), node.index(), &node.hash)?;
        }
        store.set_log_frontier(frontier.size(), &frontier.to_bytes())?;
        Ok(())
    }

    /// The stored frontier, if any leaf was appended.
    pub fn frontier(&self) -> Result<Option<Frontier>, TreeError> {
        Ok(self.store.log_frontier()?.map(|b| Frontier::from_bytes(&b)).transpose()?)
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
            return Err(e);
        }
        Ok(out?)
    }
}

/// A [`NodeSource`] over the stored nodes that remembers the first storage error.
struct Lookup<'c> {
    tree: LogTree<'c>,
    failed: Option<TreeError>,
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
