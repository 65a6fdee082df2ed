//! Merkle tree mathematics for the transparency log (RFC 9162 §2.1, SHA-256).
//!
//! Pure functions over leaf hashes: no storage, no I/O. Every hash is made by
//! [`kpledger_model::hash::merkle_node`] (`SHA-256(0x01 ‖ left ‖ right)`); leaf hashes
//! (`SHA-256(0x00 ‖ entry)`, [`kpledger_model::hash::merkle_leaf`]) are computed by the
//! caller and passed in, so this module never sees entries themselves.
//!
//! Terms (RFC 9162 §2.1.1): `D[n]` is the list of the first `n` leaves, `D[a:b]` the leaves
//! with indices `a ≤ i < b`, and `MTH(D[n])` the Merkle Tree Hash ("root") of a tree of
//! `n` leaves. A *perfect subtree* is `D[a:b]` with `b − a = 2^h` and `a` a multiple of
//! `2^h`: the node hashes of a tree are exactly the roots of its perfect subtrees, and they
//! never change once all their leaves exist.
//!
//! - [`root`]: `MTH` of a list of leaf hashes; [`EMPTY_ROOT`] for no leaves.
//! - [`Frontier`]: the `O(log n)` perfect-subtree roots along the right edge of the tree
//!   (a "compact range" `[0, n)`). Appending a leaf costs at most `log₂ n` hashes, gives the
//!   new root, and reports the perfect subtrees it completed so a store can persist them.
//! - [`inclusion_proof`] / [`consistency_proof`] (RFC 9162 §2.1.3.1, §2.1.4.1) from all the
//!   leaf hashes; [`inclusion_proof_from`] / [`consistency_proof_from`] / [`root_from`] from a
//!   [`NodeSource`] that serves perfect-subtree hashes (a store's persisted nodes), in
//!   `O(log n)` lookups. [`LeafNodes`] is the in-memory reference source.
//! - [`verify_inclusion`] / [`verify_consistency`]: the verification algorithms of
//!   RFC 9162 §2.1.3.2 and §2.1.4.2, step by step; [`verify_inclusion_bytes`] /
//!   [`verify_consistency_bytes`] take untrusted byte strings of any length.
//!
//! Nothing here panics on bad input: generators return [`MerkleError`], verifiers `false`.

use kpledger_model::Hash;
use kpledger_model::hash::merkle_node;
use serde::{Deserialize, Serialize};

/// Length in bytes of every hash in the tree (SHA-256).
pub const HASH_LEN: usize = 32;

/// `MTH({}) = HASH()`: the root of the empty tree is SHA-256 of the empty string
/// (RFC 9162 §2.1.1), `e3b0c442…b855`.
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27,
    0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// Why a root, proof or frontier could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// An inclusion proof was asked for a leaf the tree does not have.
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange {
        /// The requested leaf index (0-based).
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked from a size outside `1..=size`. RFC 9162 defines
    /// consistency proofs for `0 < old_size ≤ size` only: every tree extends the empty one,
    /// so a proof from size 0 would prove nothing.
    #[error("no consistency proof from size {old_size} to size {size}: the old size must be 1 to {size}")]
    OldSizeOutOfRange {
        /// The requested old tree size.
        old_size: u64,
        /// The current tree size.
        size: u64,
    },
    /// The [`NodeSource`] did not have the hash of a perfect subtree the computation needs.
    #[error("the node source has no hash for the subtree of leaves [{start}, {end})")]
    MissingNode {
        /// First leaf of the subtree.
        start: u64,
        /// One past its last leaf.
        end: u64,
    },
    /// The tree already holds `u64::MAX` leaves.
    #[error("the tree is full: it already holds 2^64 - 1 leaves")]
    TreeFull,
    /// Stored frontier data is inconsistent.
    #[error("not a Merkle frontier: {0}")]
    InvalidFrontier(String),
}

/// The root of a perfect subtree: `MTH(D[start:end])` where `end − start = 2^level` and
/// `start` is a multiple of `2^level`.
///
/// `(level, start >> level)` is the usual node address (RFC 9162 calls level-0 nodes
/// leaves); [`Frontier::push`] reports these as they are completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subtree {
    /// First leaf index.
    pub start: u64,
    /// One past the last leaf index.
    pub end: u64,
    /// `MTH(D[start:end])`.
    pub hash: Hash,
}

impl Subtree {
    /// The height: the subtree has `2^level` leaves (0 for a single leaf).
    pub fn level(&self) -> u32 {
        self.end.wrapping_sub(self.start).trailing_zeros()
    }
    /// The node's index within its level: `start / 2^level`.
    pub fn index(&self) -> u64 {
        self.start.checked_shr(self.level()).unwrap_or(0)
    }
}

/// Whether `[start, end)` is a perfect subtree: non-empty, a power of two long, and aligned
/// to its own length.
pub fn is_perfect_subtree(start: u64, end: u64) -> bool {
    match end.checked_sub(start) {
        Some(len) if len.is_power_of_two() => start.is_multiple_of(len),
        _ => false,
    }
}

/// `MTH(D[n])` of RFC 9162 §2.1.1 over the leaf hashes `D[n]`, in order.
///
/// The empty list gives [`EMPTY_ROOT`]; a single leaf hash is its own root. Costs `n − 1`
/// node hashes.
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    mth(leaf_hashes)
}

fn mth(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => EMPTY_ROOT,
        [leaf] => *leaf,
        _ => {
            // `split(len) < len`, so both halves are non-empty.
            let (left, right) = leaves.split_at(usize_from(split(len_u64(leaves))));
            merkle_node(&mth(left), &mth(right))
        }
    }
}

/// The largest power of two strictly less than `n` (RFC 9162's `k`), for `n ≥ 2`.
fn split(n: u64) -> u64 {
    let bits = u64::BITS - n.saturating_sub(1).leading_zeros();
    1u64.checked_shl(bits.saturating_sub(1)).unwrap_or(0)
}

fn len_u64(leaves: &[Hash]) -> u64 {
    // A slice never holds more than `isize::MAX` elements, which fits in a u64.
    u64::try_from(leaves.len()).unwrap_or(u64::MAX)
}

/// For values already known to index a slice.
fn usize_from(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

// ---------------------------------------------------------------------------------------
// Node sources
// ---------------------------------------------------------------------------------------

/// Where proof generation gets node hashes: the roots of *perfect* subtrees.
///
/// [`subtree`](NodeSource::subtree) is only ever called with `[start, end)` a perfect
/// subtree ([`is_perfect_subtree`]) that lies within the tree size passed to the
/// generating function, so a store can answer from a table of persisted nodes keyed by
/// `(level, index)` (see [`Subtree`] and [`Frontier::push`]). Roots of the tree's
/// imperfect right edge are computed here from at most `log₂ n` perfect ones.
///
/// Any `FnMut(u64, u64) -> Option<Hash>` closure is a `NodeSource`.
pub trait NodeSource {
    /// `MTH(D[start:end])` for a perfect subtree, or `None` if the source does not have it
    /// (the generator then fails with [`MerkleError::MissingNode`]).
    fn subtree(&mut self, start: u64, end: u64) -> Option<Hash>;
}

impl<F: FnMut(u64, u64) -> Option<Hash>> NodeSource for F {
    fn subtree(&mut self, start: u64, end: u64) -> Option<Hash> {
        self(start, end)
    }
}

/// The reference [`NodeSource`]: computes each perfect subtree's root from a slice of leaf
/// hashes. Strict: any range that is not a perfect subtree within the slice is answered
/// with `None`, so a generator that broke the `NodeSource` contract would fail loudly.
#[derive(Debug, Clone, Copy)]
pub struct LeafNodes<'a> {
    leaves: &'a [Hash],
}

impl<'a> LeafNodes<'a> {
    /// A source over these leaf hashes.
    pub fn new(leaves: &'a [Hash]) -> Self {
        LeafNodes { leaves }
    }
}

impl NodeSource for LeafNodes<'_> {
    fn subtree(&mut self, start: u64, end: u64) -> Option<Hash> {
        if !is_perfect_subtree(start, end) {
            return None;
        }
        let range = usize::try_from(start).ok()?..usize::try_from(end).ok()?;
        self.leaves.get(range).map(mth)
    }
}

/// How the proof algorithms obtain `MTH(D[lo:hi])` for the ranges they need. Every range
/// they ask for has `lo` a multiple of the smallest power of two `≥ hi − lo` (it is a left
/// child or a right edge of the RFC's recursive split).
trait RangeRoot {
    fn range_root(&mut self, lo: u64, hi: u64) -> Result<Hash, MerkleError>;
}

/// Straight from all the leaf hashes.
struct FromLeaves<'a>(&'a [Hash]);

impl RangeRoot for FromLeaves<'_> {
    fn range_root(&mut self, lo: u64, hi: u64) -> Result<Hash, MerkleError> {
        match self.0.get(usize_from(lo)..usize_from(hi)) {
            Some(leaves) if !leaves.is_empty() => Ok(mth(leaves)),
            _ => Err(MerkleError::MissingNode { start: lo, end: hi }),
        }
    }
}

/// From perfect-subtree roots served by a [`NodeSource`].
struct FromSource<'s, S: ?Sized>(&'s mut S);

impl<S: NodeSource + ?Sized> RangeRoot for FromSource<'_, S> {
    /// `[lo, hi)` splits into perfect subtrees of sizes the binary digits of `hi − lo`,
    /// largest first; its root is their right fold, `node(P₁, node(P₂, … Pₖ))`. Walking
    /// from the right end, the pieces come smallest first.
    fn range_root(&mut self, lo: u64, hi: u64) -> Result<Hash, MerkleError> {
        let len =
            hi.checked_sub(lo).filter(|&l| l > 0).ok_or(MerkleError::MissingNode { start: lo, end: hi })?;
        let mut end = hi;
        let mut acc: Option<Hash> = None;
        for bit in 0..u64::BITS {
            let piece = 1u64 << bit;
            if len & piece == 0 {
                continue;
            }
            let start = end - piece;
            let h = self.0.subtree(start, end).ok_or(MerkleError::MissingNode { start, end })?;
            acc = Some(match acc {
                None => h,
                Some(right) => merkle_node(&h, &right),
            });
            end = start;
        }
        acc.ok_or(MerkleError::MissingNode { start: lo, end: hi })
    }
}

// ---------------------------------------------------------------------------------------
// Proof generation (RFC 9162 §2.1.3.1 and §2.1.4.1)
// ---------------------------------------------------------------------------------------

/// `PATH(m, D[lo:hi])`, appended to `out` in the RFC's order (leaf level first).
fn path<R: RangeRoot>(m: u64, lo: u64, hi: u64, h: &mut R, out: &mut Vec<Hash>) -> Result<(), MerkleError> {
    let n = hi - lo;
    if n <= 1 {
        return Ok(()); // PATH(0, {d(0)}) = {}
    }
    let k = split(n);
    if m < k {
        path(m, lo, lo + k, h, out)?;
        out.push(h.range_root(lo + k, hi)?);
    } else {
        path(m - k, lo + k, hi, h, out)?;
        out.push(h.range_root(lo, lo + k)?);
    }
    Ok(())
}

/// `SUBPROOF(m, D[lo:hi], b)`, appended to `out`. Requires `1 ≤ m ≤ hi − lo`.
fn subproof<R: RangeRoot>(
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    h: &mut R,
    out: &mut Vec<Hash>,
) -> Result<(), MerkleError> {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push(h.range_root(lo, hi)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(m, lo, lo + k, complete, h, out)?;
        out.push(h.range_root(lo + k, hi)?);
    } else {
        subproof(m - k, lo + k, hi, false, h, out)?;
        out.push(h.range_root(lo, lo + k)?);
    }
    Ok(())
}

fn inclusion_with<R: RangeRoot>(h: &mut R, size: u64, index: u64) -> Result<Vec<Hash>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::with_capacity(proof_capacity(size));
    path(index, 0, size, h, &mut out)?;
    Ok(out)
}

fn consistency_with<R: RangeRoot>(h: &mut R, size: u64, old_size: u64) -> Result<Vec<Hash>, MerkleError> {
    if old_size == 0 || old_size > size {
        return Err(MerkleError::OldSizeOutOfRange { old_size, size });
    }
    let mut out = Vec::with_capacity(proof_capacity(size) + 1);
    subproof(old_size, 0, size, true, h, &mut out)?;
    Ok(out)
}

/// `⌈log₂ size⌉`: the length of the longest inclusion proof in a tree of this size.
fn proof_capacity(size: u64) -> usize {
    usize_from(u64::from(u64::BITS - size.saturating_sub(1).leading_zeros()))
}

/// The inclusion proof `PATH(index, D[n])` (RFC 9162 §2.1.3.1) of leaf `index` in the tree
/// of these `n` leaf hashes: the sibling subtree roots from the leaf up to the root.
///
/// Errors with [`MerkleError::IndexOutOfRange`] unless `index < n`. Hashes `O(n)` nodes;
/// a store with persisted node hashes uses [`inclusion_proof_from`] instead.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, MerkleError> {
    inclusion_with(&mut FromLeaves(leaves), len_u64(leaves), index)
}

/// The consistency proof `PROOF(old_size, D[n])` (RFC 9162 §2.1.4.1) that the tree of
/// these `n` leaf hashes extends its first `old_size` leaves.
///
/// `old_size == n` gives the empty proof. Errors with [`MerkleError::OldSizeOutOfRange`]
/// unless `1 ≤ old_size ≤ n`. Hashes `O(n)` nodes; a store with persisted node hashes uses
/// [`consistency_proof_from`] instead.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, MerkleError> {
    consistency_with(&mut FromLeaves(leaves), len_u64(leaves), old_size)
}

/// [`inclusion_proof`] for a tree of `tree_size` leaves whose node hashes come from
/// `source`: at most `2·⌈log₂ tree_size⌉` lookups.
pub fn inclusion_proof_from<S: NodeSource + ?Sized>(
    source: &mut S,
    tree_size: u64,
    index: u64,
) -> Result<Vec<Hash>, MerkleError> {
    inclusion_with(&mut FromSource(source), tree_size, index)
}

/// [`consistency_proof`] for a tree of `tree_size` leaves whose node hashes come from
/// `source`: at most `2·⌈log₂ tree_size⌉ + 1` lookups.
pub fn consistency_proof_from<S: NodeSource + ?Sized>(
    source: &mut S,
    tree_size: u64,
    old_size: u64,
) -> Result<Vec<Hash>, MerkleError> {
    consistency_with(&mut FromSource(source), tree_size, old_size)
}

/// `MTH(D[tree_size])` from the node hashes in `source` (one lookup per set bit of
/// `tree_size`); [`EMPTY_ROOT`] for 0. This is how a store recomputes the root of any past
/// size, e.g. to answer for an old checkpoint.
pub fn root_from<S: NodeSource + ?Sized>(source: &mut S, tree_size: u64) -> Result<Hash, MerkleError> {
    if tree_size == 0 { Ok(EMPTY_ROOT) } else { FromSource(source).range_root(0, tree_size) }
}

// ---------------------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)
// ---------------------------------------------------------------------------------------

/// Verifies that `leaf_hash` is leaf `index` of the tree of `tree_size` leaves with root
/// `root`, given the inclusion proof `proof`: the algorithm of RFC 9162 §2.1.3.2.
///
/// Fails when `index ≥ tree_size` (so always for an empty tree), when the proof is too
/// short or too long for `(index, tree_size)`, or when the recomputed root differs.
pub fn verify_inclusion(leaf_hash: &Hash, index: u64, tree_size: u64, proof: &[Hash], root: &Hash) -> bool {
    // 1. leaf_index ≥ tree_size fails.
    if index >= tree_size {
        return false;
    }
    // 2., 3.
    let (mut f_n, mut s_n) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    // 4.
    for p in proof {
        // a.
        if s_n == 0 {
            return false;
        }
        // b.
        if f_n & 1 == 1 || f_n == s_n {
            r = merkle_node(p, &r);
            shift_to_set_bit(&mut f_n, &mut s_n);
        } else {
            r = merkle_node(&r, p);
        }
        // c.
        (f_n, s_n) = (f_n >> 1, s_n >> 1);
    }
    // 5.
    s_n == 0 && r == *root
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root`, given the consistency proof `proof`: the
/// algorithm of RFC 9162 §2.1.4.2, with its preconditions made explicit.
///
/// - `old_size == 0` fails, even with `new_size == 0`: RFC 9162 defines consistency proofs
///   for `0 < old_size` only (every tree extends the empty tree; such a "proof" proves
///   nothing, and the transparency-dev reference rejects it).
/// - `old_size > new_size` fails.
/// - `old_size == new_size` succeeds exactly when the proof is empty and the roots are equal.
/// - Otherwise an empty proof fails, and so does any proof of the wrong length or one
///   from which the two roots are not both recomputed.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    // 1. An empty consistency_path fails.
    if proof.is_empty() {
        return false;
    }
    // 2. If first is an exact power of 2, prepend first_hash.
    let seed = old_size.is_power_of_two().then_some(old_root);
    let mut path = seed.into_iter().chain(proof);
    // 3.
    let (mut f_n, mut s_n) = (old_size - 1, new_size - 1);
    // 4.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5.
    let Some(first) = path.next() else {
        return false;
    };
    let (mut f_r, mut s_r) = (*first, *first);
    // 6.
    for c in path {
        // a.
        if s_n == 0 {
            return false;
        }
        // b.
        if f_n & 1 == 1 || f_n == s_n {
            f_r = merkle_node(c, &f_r);
            s_r = merkle_node(c, &s_r);
            shift_to_set_bit(&mut f_n, &mut s_n);
        } else {
            s_r = merkle_node(&s_r, c);
        }
        // c.
        (f_n, s_n) = (f_n >> 1, s_n >> 1);
    }
    // 7.
    f_r == *old_root && s_r == *new_root && s_n == 0
}

fn to_hash(bytes: &[u8]) -> Option<Hash> {
    <[u8; HASH_LEN]>::try_from(bytes).ok().map(Hash)
}

fn to_hashes<B: AsRef<[u8]>>(proof: &[B]) -> Option<Vec<Hash>> {
    proof.iter().map(|p| to_hash(p.as_ref())).collect()
}

/// [`verify_inclusion`] for untrusted byte strings (a proof decoded from the wire, before
/// any length check): any leaf hash, root or proof element that is not exactly
/// [`HASH_LEN`] bytes fails.
pub fn verify_inclusion_bytes<B: AsRef<[u8]>>(
    leaf_hash: &[u8],
    index: u64,
    tree_size: u64,
    proof: &[B],
    root: &[u8],
) -> bool {
    match (to_hash(leaf_hash), to_hash(root), to_hashes(proof)) {
        (Some(leaf), Some(root), Some(proof)) => verify_inclusion(&leaf, index, tree_size, &proof, &root),
        _ => false,
    }
}

/// [`verify_consistency`] for untrusted byte strings (a proof decoded from the wire, before
/// any length check).
///
/// When `0 < old_size == new_size` nothing is hashed: as in the transparency-dev reference
/// verifier, the result is "the proof is empty and the two roots are the same bytes",
/// whatever their length (a tree is consistent with itself; whether a root is genuine is
/// for the signature over it to say). In every other case a root or proof element that is
/// not exactly [`HASH_LEN`] bytes fails.
pub fn verify_consistency_bytes<B: AsRef<[u8]>>(
    old_size: u64,
    new_size: u64,
    old_root: &[u8],
    new_root: &[u8],
    proof: &[B],
) -> bool {
    if old_size != 0 && old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    match (to_hash(old_root), to_hash(new_root), to_hashes(proof)) {
        (Some(old), Some(new), Some(proof)) => verify_consistency(old_size, new_size, &old, &new, &proof),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// Frontier
// ---------------------------------------------------------------------------------------

/// The right edge of an append-only tree: the roots of the perfect subtrees that make up
/// `D[0:size]`, one per set bit of `size`, largest (leftmost) first. Enough to append a
/// leaf and to compute the current root, in `O(log n)` hashes and space.
///
/// Persist it with serde (`{"size": n, "nodes": ["<hex>", …]}`) or with
/// [`to_bytes`](Frontier::to_bytes) / [`from_bytes`](Frontier::from_bytes); both readers
/// refuse a node count that does not match the size. [`from_source`](Frontier::from_source)
/// rebuilds it from persisted node hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FrontierRepr", into = "FrontierRepr")]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontierRepr {
    size: u64,
    nodes: Vec<Hash>,
}

impl TryFrom<FrontierRepr> for Frontier {
    type Error = MerkleError;
    fn try_from(r: FrontierRepr) -> Result<Self, MerkleError> {
        Frontier::from_parts(r.size, r.nodes)
    }
}

impl From<Frontier> for FrontierRepr {
    fn from(f: Frontier) -> Self {
        FrontierRepr { size: f.size, nodes: f.nodes }
    }
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Frontier::default()
    }

    /// A frontier from its parts: `nodes` must be the roots of the perfect subtrees of
    /// `D[0:size]`, largest first, so exactly `size.count_ones()` of them. Only the count
    /// can be checked here; wrong hashes show as a wrong [`root`](Frontier::root).
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Result<Self, MerkleError> {
        let want = usize_from(u64::from(size.count_ones()));
        if nodes.len() != want {
            return Err(MerkleError::InvalidFrontier(format!(
                "a tree of {size} leaves has {want} frontier nodes, not {}",
                nodes.len()
            )));
        }
        Ok(Frontier { size, nodes })
    }

    /// The frontier after appending these leaf hashes to an empty tree.
    pub fn from_leaves(leaf_hashes: &[Hash]) -> Result<Self, MerkleError> {
        let mut f = Frontier::new();
        for leaf in leaf_hashes {
            f.push(*leaf)?;
        }
        Ok(f)
    }

    /// The frontier of the tree of `size` leaves whose node hashes `source` holds: one
    /// lookup per frontier node.
    pub fn from_source<S: NodeSource + ?Sized>(source: &mut S, size: u64) -> Result<Self, MerkleError> {
        let mut nodes = Vec::with_capacity(usize_from(u64::from(size.count_ones())));
        let mut start = 0u64;
        for bit in (0..u64::BITS).rev() {
            let len = 1u64 << bit;
            if size & len != 0 {
                let end = start + len;
                nodes.push(source.subtree(start, end).ok_or(MerkleError::MissingNode { start, end })?);
                start = end;
            }
        }
        Ok(Frontier { size, nodes })
    }

    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier's node hashes, largest subtree first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// The frontier as perfect subtrees with their leaf ranges, left to right.
    pub fn subtrees(&self) -> impl Iterator<Item = Subtree> + '_ {
        let mut bits = (0..u64::BITS).rev().map(|b| 1u64 << b).filter(|len| self.size & len != 0);
        let mut start = 0u64;
        self.nodes.iter().filter_map(move |hash| {
            let len = bits.next()?;
            let s = Subtree { start, end: start + len, hash: *hash };
            start += len;
            Some(s)
        })
    }

    /// Appends a leaf hash (`merkle_leaf(entry)`), hashing at most `log₂ n` nodes.
    ///
    /// Returns the perfect subtrees this append completed, smallest first: the leaf itself
    /// (`[n, n+1)`), then each parent that now has both children. Persisting them gives a
    /// store every node hash a [`NodeSource`] is asked for. Fails only with
    /// [`MerkleError::TreeFull`], changing nothing.
    pub fn push(&mut self, leaf_hash: Hash) -> Result<Vec<Subtree>, MerkleError> {
        let n = self.size;
        let new_size = n.checked_add(1).ok_or(MerkleError::TreeFull)?;
        let mut completed = Vec::with_capacity(usize_from(u64::from(n.trailing_ones())) + 1);
        let mut hash = leaf_hash;
        let mut start = n;
        let mut len = 1u64;
        completed.push(Subtree { start, end: start + len, hash });
        // Each trailing 1 bit of n is a same-size left sibling on the frontier.
        for _ in 0..n.trailing_ones() {
            let Some(left) = self.nodes.pop() else {
                break; // unreachable while nodes.len() == size.count_ones()
            };
            hash = merkle_node(&left, &hash);
            start -= len;
            len <<= 1;
            completed.push(Subtree { start, end: start + len, hash });
        }
        self.nodes.push(hash);
        self.size = new_size;
        Ok(completed)
    }

    /// `MTH(D[size])`: the frontier's nodes folded from the right (at most `log₂ n` hashes);
    /// [`EMPTY_ROOT`] for the empty tree.
    pub fn root(&self) -> Hash {
        let mut rev = self.nodes.iter().rev();
        let Some(last) = rev.next() else {
            return EMPTY_ROOT;
        };
        rev.fold(*last, |right, left| merkle_node(left, &right))
    }

    /// A compact binary form: the size as 8 big-endian bytes, then the node hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + HASH_LEN * self.nodes.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for n in &self.nodes {
            out.extend_from_slice(&n.0);
        }
        out
    }

    /// Reads [`to_bytes`](Frontier::to_bytes)'s form; refuses any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MerkleError> {
        let (size, rest) = match bytes.split_first_chunk::<8>() {
            Some((size, rest)) => (u64::from_be_bytes(*size), rest),
            None => return Err(MerkleError::InvalidFrontier(format!("{} bytes is too short", bytes.len()))),
        };
        let (chunks, tail) = rest.as_chunks::<HASH_LEN>();
        if !tail.is_empty() {
            return Err(MerkleError::InvalidFrontier(format!(
                "{} bytes after the size is not a whole number of {HASH_LEN}-byte hashes",
                rest.len()
            )));
        }
        Frontier::from_parts(size, chunks.iter().map(|c| Hash(*c)).collect())
    }
}

/// RFC 9162 §2.1.3.2 and §2.1.4.2, the inner loop of step b: until `LSB(fn)` is set or `fn`
/// is 0, right-shift `fn` and `sn` equally (nothing to do when `LSB(fn)` is set already).
fn shift_to_set_bit(f_n: &mut u64, s_n: &mut u64) {
    while *f_n & 1 == 0 && *f_n != 0 {
        *f_n >>= 1;
        *s_n >>= 1;
    }
}

#[cfg(test)]
mod tests {
    use kpledger_model::hash::{merkle_leaf, sha256};

    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| merkle_leaf(&i.to_be_bytes())).collect()
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT.0, sha256(&[]));
        assert_eq!(root(&[]), EMPTY_ROOT);
        assert_eq!(Frontier::new().root(), EMPTY_ROOT);
    }

    #[test]
    fn split_is_largest_power_of_two_below() {
        for n in 2..=1025u64 {
            let k = split(n);
            assert!(k.is_power_of_two() && k < n && n <= 2 * k, "n={n} k={k}");
        }
        assert_eq!(split(u64::MAX), 1 << 63);
    }

    #[test]
    fn perfect_subtrees() {
        assert!(is_perfect_subtree(0, 1) && is_perfect_subtree(4, 8) && is_perfect_subtree(6, 7));
        assert!(!is_perfect_subtree(0, 0) && !is_perfect_subtree(2, 6) && !is_perfect_subtree(0, 3));
        assert!(!is_perfect_subtree(5, 4));
        let s = Subtree { start: 8, end: 12, hash: EMPTY_ROOT };
        assert_eq!((s.level(), s.index()), (2, 2));
    }

    #[test]
    fn generators_refuse_bad_arguments() {
        let l = leaves(5);
        assert_eq!(inclusion_proof(&l, 5), Err(MerkleError::IndexOutOfRange { index: 5, size: 5 }));
        assert_eq!(inclusion_proof(&[], 0), Err(MerkleError::IndexOutOfRange { index: 0, size: 0 }));
        assert_eq!(consistency_proof(&l, 0), Err(MerkleError::OldSizeOutOfRange { old_size: 0, size: 5 }));
        assert_eq!(consistency_proof(&l, 6), Err(MerkleError::OldSizeOutOfRange { old_size: 6, size: 5 }));
        assert_eq!(consistency_proof(&l, 5), Ok(vec![]));
        // A source that knows nothing.
        let mut none = |_: u64, _: u64| None;
        assert_eq!(inclusion_proof_from(&mut none, 5, 1), Err(MerkleError::MissingNode { start: 0, end: 1 }));
        assert!(root_from(&mut none, 3).is_err());
        assert_eq!(root_from(&mut none, 0), Ok(EMPTY_ROOT));
    }

    #[test]
    fn frontier_push_reports_completed_subtrees() {
        let l = leaves(8);
        let mut f = Frontier::new();
        for (i, leaf) in l.iter().enumerate() {
            let done = f.push(*leaf).unwrap();
            assert_eq!(done.len(), (i as u64).trailing_ones() as usize + 1);
            for s in done {
                assert!(is_perfect_subtree(s.start, s.end));
                assert_eq!(s.hash, root(&l[s.start as usize..s.end as usize]));
            }
        }
        assert_eq!(f.nodes().len(), 1);
        let full = Frontier { size: u64::MAX, nodes: vec![EMPTY_ROOT; 64] };
        let mut g = full.clone();
        assert_eq!(g.push(EMPTY_ROOT), Err(MerkleError::TreeFull));
        assert_eq!(g, full);
    }

    #[test]
    fn frontier_encodings_round_trip_and_refuse_bad_counts() {
        let f = Frontier::from_leaves(&leaves(11)).unwrap();
        assert_eq!(Frontier::from_bytes(&f.to_bytes()).unwrap(), f);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Frontier>(&json).unwrap(), f);
        assert!(serde_json::from_str::<Frontier>(r#"{"size":2,"nodes":[]}"#).is_err());
        assert!(serde_json::from_str::<Frontier>(r#"{"size":0,"nodes":[],"x":1}"#).is_err());
        let bytes = f.to_bytes();
        assert!(Frontier::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Frontier::from_bytes(&bytes[..bytes.len() - 32]).is_err());
        assert!(Frontier::from_bytes(&bytes[..7]).is_err());
        assert_eq!(Frontier::from_bytes(&0u64.to_be_bytes()).unwrap(), Frontier::new());
        assert!(Frontier::from_parts(3, vec![EMPTY_ROOT]).is_err());
    }
}
