//! The ledger as a transparency log: every accepted event is a leaf of an RFC 9162 Merkle
//! tree, in ledger order, and the ledger's root authority signs checkpoints of it.
//!
//! Leaf `i` (0-based) is the event at position `i + 1`; its leaf hash is
//! `merkle_leaf(event hash)` (`SHA-256(0x00 ‖ 32-byte event hash)`).

use kpledger_model::Hash;
use kpledger_model::hash::merkle_leaf;

/// The Merkle leaf hash of an event.
pub fn leaf_hash(event_hash: &Hash) -> Hash {
    merkle_leaf(&event_hash.0)
}

/// The number of node hashes (leaves included) a tree of `size` leaves stores: every
/// perfect subtree, `2·size − popcount(size)`.
pub fn stored_nodes(size: u64) -> u64 {
    size.saturating_mul(2).saturating_sub(u64::from(size.count_ones()))
}

/// The checkpoint extension line that names the previous checkpoint:
/// `kpledger-previous <size> <root as standard base64>`. Each checkpoint after the first
/// carries it, so the stored checkpoints form a chain.
pub fn previous_line(size: u64, root: &Hash) -> String {
    use base64::Engine as _;
    format!("kpledger-previous {size} {}", base64::engine::general_purpose::STANDARD.encode(root.0))
}
