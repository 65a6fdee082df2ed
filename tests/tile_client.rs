//! A C2SP tlog-tiles client written for the tests from RFC 9162 and the tlog-tiles
//! specification, with none of kpledger's code: it reads a log's checkpoint, tiles and entry
//! bundles through any `fetch` (HTTP from `kpledger serve`, objects in a bucket, files) and
//! recomputes the tree. Shared by the service's tests and the end-to-end tests (`#[path]`).
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// RFC 9162 §2.1.1 MTH, computed here from the leaf hashes (not with kpledger's code).
pub fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            let mut h = Sha256::new();
            h.update([1u8]);
            h.update(mth(&leaves[..k]));
            h.update(mth(&leaves[k..]));
            h.finalize().into()
        }
    }
}

/// RFC 9162 §2.1.3.1 PATH(m, D[n]).
pub fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// A tile's path: `tile/L/x001/234[.p/W]`.
pub fn tile_path(level: &str, index: u64, width: Option<u64>) -> String {
    let mut groups = vec![format!("{:03}", index % 1000)];
    let mut n = index / 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    let mut p = format!("tile/{level}/{}", groups.join("/"));
    if let Some(w) = width {
        p.push_str(&format!(".p/{w}"));
    }
    p
}

/// A log as a reader sees it.
pub struct Log {
    /// The checkpoint's first line.
    pub origin: String,
    /// Its size.
    pub size: u64,
    /// Its root hash.
    pub root: [u8; 32],
    /// Every leaf hash, from the level-0 tiles.
    pub leaves: Vec<[u8; 32]>,
    /// Every entry (an event's hash), from the entry bundles.
    pub entries: Vec<Vec<u8>>,
}

/// Reads the checkpoint and the level-0 tiles and entry bundles at its size through `fetch`
/// (a path relative to the log's root in, the bytes or `None` out), and checks what a
/// reader checks: each leaf is SHA-256(0x00 ‖ entry), the leaves' root is the checkpoint's,
/// and the level-1 tiles hold the roots of the 256-leaf blocks. Panics on any difference.
pub fn read_log(fetch: &mut dyn FnMut(&str) -> Option<Vec<u8>>) -> Log {
    let note = String::from_utf8(fetch("checkpoint").expect("no checkpoint")).unwrap();
    let lines: Vec<&str> = note.lines().collect();
    let size: u64 = lines[1].parse().unwrap();
    let root: [u8; 32] =
        base64::engine::general_purpose::STANDARD.decode(lines[2]).unwrap().try_into().unwrap();
    let (mut leaves, mut entries) = (Vec::new(), Vec::new());
    for i in 0..size.div_ceil(256) {
        let width = (size - i * 256).min(256);
        let partial = (width < 256).then_some(width);
        let p = tile_path("0", i, partial);
        let t = fetch(&p).unwrap_or_else(|| panic!("{p} is missing"));
        assert_eq!(t.len() as u64, width * 32, "{p}");
        leaves.extend(t.chunks(32).map(|c| <[u8; 32]>::try_from(c).unwrap()));
        let p = tile_path("entries", i, partial);
        let e = fetch(&p).unwrap_or_else(|| panic!("{p} is missing"));
        let mut rest = e.as_slice();
        while !rest.is_empty() {
            let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            entries.push(rest[2..2 + n].to_vec());
            rest = &rest[2 + n..];
        }
    }
    assert_eq!(entries.len(), leaves.len());
    for (leaf, entry) in leaves.iter().zip(&entries) {
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(entry);
        assert_eq!(<[u8; 32]>::from(h.finalize()), *leaf, "a leaf is not the hash of its entry");
    }
    assert_eq!(mth(&leaves), root, "the root recomputed from the tiles is not the checkpoint's");
    let blocks = size / 256;
    if blocks > 0 {
        let p = tile_path("1", 0, (blocks < 256).then_some(blocks));
        let t = fetch(&p).unwrap_or_else(|| panic!("{p} is missing"));
        for (b, got) in t.chunks(32).enumerate() {
            assert_eq!(got, mth(&leaves[b * 256..(b + 1) * 256]), "{p}, hash {b}");
        }
    }
    Log { origin: lines[0].to_owned(), size, root, leaves, entries }
}
