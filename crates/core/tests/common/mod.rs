//! Helpers shared by kpledger-core's integration tests (`mod common;` in each; every test
//! uses only some of them).
#![allow(dead_code)]

use std::path::Path;

use kpledger_verify::StoredCheckpoint;

/// The character after `c` in its own class (digit, lower or upper case letter, hex
/// digit for `a`-`f`), so that the string keeps its shape; `None` for other characters.
pub(crate) fn next_in_class(c: char) -> Option<char> {
    let step = |c: char, lo: char, hi: char| {
        if c == hi { lo } else { char::from_u32(c as u32 + 1).unwrap_or(lo) }
    };
    match c {
        '0'..='9' => Some(step(c, '0', '9')),
        'a'..='f' => Some(step(c, 'a', 'f')),
        'g'..='z' => Some(step(c, 'g', 'z')),
        'A'..='Z' => Some(step(c, 'A', 'Z')),
        _ => None,
    }
}

/// Puts checkpoint rows into a ledger file, as they were stored in another.
pub(crate) fn store_checkpoints(path: &Path, checkpoints: &[StoredCheckpoint]) {
    let conn = rusqlite::Connection::open(path).unwrap();
    for c in checkpoints {
        conn.execute(
            "INSERT INTO checkpoints(size, root, note) VALUES (?1, ?2, ?3)",
            rusqlite::params![c.size as i64, c.root, c.note],
        )
        .unwrap();
    }
}

/// A country's policy as published in `policies/XX.json`.
#[allow(unused_imports)]
pub(crate) use kpledger_testkit::cast::policy;

/// A demo directory as `kpledger demo` makes it, with the importer trust policy its
/// `manifest.json` names.
pub(crate) struct Demo {
    pub(crate) dir: kpledger_testkit::TempDir,
    pub(crate) policy: kpledger_verify::TrustPolicy,
}

impl Demo {
    /// `kpledger demo` with `parcels` parcels into a new directory for the test `tag`.
    pub(crate) fn new(tag: &str, parcels: u32) -> Demo {
        let dir = kpledger_testkit::TempDir::new(tag);
        kpledger_core::demo::run(dir.path(), parcels, &mut |_| {}).unwrap();
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let policy_file = dir.join(manifest["policy"].as_str().unwrap());
        let policy = kpledger_verify::TrustPolicy::parse(&std::fs::read(policy_file).unwrap()).unwrap();
        Demo { dir, policy }
    }

    /// The bytes of the bundle `bundles/NAME`.
    pub(crate) fn bundle(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join("bundles").join(name)).unwrap()
    }
}

/// A whole-ledger check fed the events `docs` (#1, #2, … in order) as the store's rows hold
/// them, each looking up the derived rows it needs in `stored`; `finish` it to get the report.
pub(crate) fn fed_check(
    docs: &[Vec<u8>],
    stored: &mut dyn kpledger_verify::StoredRows,
) -> kpledger_verify::LedgerCheck {
    let prepared = kpledger_verify::prepare::prepare(docs, kpledger_verify::SigMode::Strict);
    let mut check = kpledger_verify::LedgerCheck::new();
    for (i, (doc, p)) in docs.iter().zip(&prepared).enumerate() {
        let ev = p.parsed.as_ref().unwrap();
        let row = kpledger_verify::StoredEvent {
            seq: i as u64 + 1,
            hash: ev.hash.0.to_vec(),
            kind: ev.event.body.payload.kind().to_owned(),
            time: ev.event.body.time.as_str().to_owned(),
            signer: ev.event.body.signer.as_str().to_owned(),
            doc: doc.clone(),
            index: ev.event.body.payload.parcels().iter().map(|(p, _)| p.to_string()).collect(),
        };
        check.feed_prepared(&row, p, stored);
    }
    check
}
