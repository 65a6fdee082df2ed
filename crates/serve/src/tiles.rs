//! The log as C2SP tlog-tiles: paths, and the bytes of tiles and entry bundles.
//!
//! A tile at level `L` and index `N` holds the hashes of the Merkle tree's nodes at height
//! `8·L`, indices `256·N ..`: 256 of them in a full tile, `W` (1–255) in a partial one. Level
//! 0 holds the leaf hashes. The ledger stores the hash of every complete subtree
//! (`log_nodes`), so a tile is a range read of one level, never a computation. An entry bundle
//! holds the log entries (each an event's 32-byte hash) with a two-byte big-endian length.

use kpledger_core::{Ledger, StorageError, StoreError};

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// The highest tile level (the tree's height is below 64).
pub const MAX_LEVEL: u8 = 7;

/// A tile or entry-bundle path, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TilePath {
    /// `None` for an entry bundle (`tile/entries/…`), else the tile's level.
    pub level: Option<u8>,
    /// The tile's index in its level.
    pub index: u64,
    /// The width of a partial tile (1–255); `None` for a full tile.
    pub width: Option<u16>,
}

impl TilePath {
    /// How many hashes (or entries) this tile holds.
    pub fn count(&self) -> u64 {
        self.width.map_or(TILE_WIDTH, u64::from)
    }

    /// The path as the specification writes it (`tile/0/x001/234.p/5`).
    pub fn to_path(&self) -> String {
        let level = match self.level {
            Some(l) => l.to_string(),
            None => "entries".to_owned(),
        };
        let mut out = format!("tile/{level}/{}", encode_index(self.index));
        if let Some(w) = self.width {
            out.push_str(&format!(".p/{w}"));
        }
        out
    }
}

/// `N` in three-digit path elements, all but the last prefixed with `x`: 1234067 is
/// `x001/x234/067`.
pub fn encode_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Parses the part of a path after `tile/`. Only the canonical form is read: a level in
/// decimal without leading zeros, three-digit index elements without a leading `x000`, a
/// width of 1–255 without leading zeros. Anything else is `None` (404).
pub fn parse(rest: &str) -> Option<TilePath> {
    let (level, rest) = rest.split_once('/')?;
    let level = if level == "entries" {
        None
    } else {
        let l: u8 = canonical_decimal(level)?.try_into().ok()?;
        if l > MAX_LEVEL {
            return None;
        }
        Some(l)
    };
    let (index_part, width) = match rest.split_once(".p/") {
        Some((i, w)) => {
            let w = canonical_decimal(w)?;
            if !(1..TILE_WIDTH).contains(&w) {
                return None;
            }
            (i, Some(w as u16))
        }
        None => (rest, None),
    };
    let elems: Vec<&str> = index_part.split('/').collect();
    let mut index: u64 = 0;
    for (i, e) in elems.iter().enumerate() {
        let last = i + 1 == elems.len();
        let digits = if last { *e } else { e.strip_prefix('x')? };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // A leading all-zero group is not the shortest encoding.
        if i == 0 && !last && digits == "000" {
            return None;
        }
        let d: u64 = digits.parse().ok()?;
        index = index.checked_mul(1000)?.checked_add(d)?;
    }
    Some(TilePath { level, index, width })
}

fn canonical_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// The bytes of `tile` in a log of `size` entries, or `None` if the log does not hold it
/// yet (a full tile not complete, a partial tile wider than the log's edge allows).
pub fn read(ledger: &Ledger, tile: &TilePath, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
    let first = tile.index.checked_mul(TILE_WIDTH);
    let Some(first) = first else { return Ok(None) };
    let count = tile.count();
    match tile.level {
        Some(level) => {
            let height = u32::from(level) * 8;
            // Complete nodes at this height in a tree of `size` leaves.
            let available = size >> height;
            if first.saturating_add(count) > available {
                return Ok(None);
            }
            let hashes = ledger.log_hashes(height, first, count)?;
            if hashes.len() as u64 != count {
                return Err(StorageError::Corrupt {
                    path: ledger.path().to_owned(),
                    reason: format!("the log's Merkle tree lacks nodes of {}", tile.to_path()),
                }
                .into());
            }
            Ok(Some(hashes.iter().flat_map(|h| h.0).collect()))
        }
        None => {
            if first.saturating_add(count) > size {
                return Ok(None);
            }
            let hashes = ledger.event_hashes(first + 1, first + count)?;
            if hashes.len() as u64 != count {
                return Err(StorageError::Corrupt {
                    path: ledger.path().to_owned(),
                    reason: format!("events missing under {}", tile.to_path()),
                }
                .into());
            }
            let mut out = Vec::with_capacity(hashes.len() * 34);
            for h in hashes {
                out.extend_from_slice(&32u16.to_be_bytes());
                out.extend_from_slice(&h.0);
            }
            Ok(Some(out))
        }
    }
}

/// Every tile and entry bundle of a log of `size` entries, for a static copy of the log:
/// the full tiles, and the partial tile at each level's right edge.
pub fn all_tiles(size: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    for level in 0..=MAX_LEVEL {
        let nodes = size >> (u32::from(level) * 8);
        if nodes == 0 {
            break;
        }
        push_level(&mut out, Some(level), nodes);
    }
    push_level(&mut out, None, size);
    out
}

fn push_level(out: &mut Vec<TilePath>, level: Option<u8>, nodes: u64) {
    for index in 0..nodes / TILE_WIDTH {
        out.push(TilePath { level, index, width: None });
    }
    let rest = nodes % TILE_WIDTH;
    if rest > 0 {
        out.push(TilePath { level, index: nodes / TILE_WIDTH, width: Some(rest as u16) });
    }
}

/// Full tiles and entry bundles already served, in memory: they never change once the log
/// holds them, so they are read from the ledger once. At most `cap` are kept; the oldest kept is
/// forgotten first.
#[derive(Debug)]
pub(crate) struct Cache {
    cap: usize,
    by_path: std::collections::HashMap<TilePath, axum::body::Bytes>,
    order: std::collections::VecDeque<TilePath>,
}

impl Cache {
    pub(crate) fn new(cap: usize) -> Cache {
        Cache { cap, by_path: std::collections::HashMap::new(), order: std::collections::VecDeque::new() }
    }

    pub(crate) fn get(&self, t: &TilePath) -> Option<axum::body::Bytes> {
        self.by_path.get(t).cloned()
    }

    /// Keeps a full tile's bytes (a partial tile is not kept: the next size replaces it).
    pub(crate) fn put(&mut self, t: TilePath, bytes: axum::body::Bytes) {
        if t.width.is_some() || self.cap == 0 || self.by_path.contains_key(&t) {
            return;
        }
        while self.by_path.len() >= self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    self.by_path.remove(&old);
                }
                None => break,
            }
        }
        self.order.push_back(t);
        self.by_path.insert(t, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_is_the_specifications() {
        for (n, path) in [(1_234_067, "x001/x234/067"), (0, "000"), (999, "999"), (1000, "x001/000")] {
            assert_eq!(encode_index(n), path);
        }
        for n in [0, 5, 999, 1000, 1_234_067, 256_000_001] {
            let t = TilePath { level: Some(0), index: n, width: None };
            assert_eq!(parse(&t.to_path()["tile/".len()..]), Some(t));
            let e = TilePath { level: None, index: n, width: Some(7) };
            assert_eq!(parse(&e.to_path()["tile/".len()..]), Some(e));
        }
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for bad in [
            "0/1",
            "0/01",
            "0/0001",
            "00/000",
            "01/000",
            "8/000",
            "0/x000/001",
            "0/001/x002",
            "0/x001",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/07",
            "0/000.p/",
            "0/abc",
            "entry/000",
            "0/000/",
            "0//000",
            "0/x1/000",
            "-1/000",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(
            parse("3/x002/001.p/255"),
            Some(TilePath { level: Some(3), index: 2001, width: Some(255) })
        );
    }

    #[test]
    fn a_static_copy_lists_full_and_edge_tiles() {
        let t = all_tiles(256 * 256 + 3);
        assert!(t.contains(&TilePath { level: Some(0), index: 255, width: None }));
        assert!(t.contains(&TilePath { level: Some(0), index: 256, width: Some(3) }));
        assert!(t.contains(&TilePath { level: Some(1), index: 0, width: None }));
        assert!(t.contains(&TilePath { level: Some(2), index: 0, width: Some(1) }));
        assert!(t.contains(&TilePath { level: None, index: 256, width: Some(3) }));
        assert_eq!(t.iter().filter(|p| p.level == Some(1)).count(), 1);
    }

    #[test]
    fn the_cache_keeps_full_tiles_only_and_at_most_its_capacity() {
        let full = |index| TilePath { level: Some(0), index, width: None };
        let mut c = Cache::new(2);
        c.put(TilePath { level: Some(0), index: 9, width: Some(3) }, axum::body::Bytes::from_static(b"p"));
        assert!(c.get(&TilePath { level: Some(0), index: 9, width: Some(3) }).is_none());
        for i in 0..5 {
            c.put(full(i), axum::body::Bytes::from(vec![i as u8]));
            assert!(c.by_path.len() <= 2 && c.order.len() <= 2);
        }
        assert_eq!(c.get(&full(4)).as_deref(), Some(&[4u8][..]));
        assert!(c.get(&full(0)).is_none());
    }
}
