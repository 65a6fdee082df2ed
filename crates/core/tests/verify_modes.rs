//! Whole-ledger verification gives the same verdicts however it checks signatures: one by one
//! with `verify_strict` (the default) or in batches. A forged signature in the middle of a
//! batch is named, in both modes, by its event. (Throughput is measured by `kpledger bench`,
//! never here.)
#![allow(clippy::unwrap_used)]

use kpledger_core::{Ledger, OpenOptions};
use kpledger_testkit::TempDir;
use kpledger_verify::{Rule, SigMode};

fn synthetic(tag: &str) -> (TempDir, std::path::PathBuf, u64) {
    let dir = TempDir::new(&format!("modes-{tag}"));
    let path = dir.ledger();
    // Several verification batches' worth of events, and many batch-verification chunks.
    let s = kpledger_core::synth::national(&path, 1200, 150, &mut |_| {}).unwrap();
    (dir, path, s.events)
}

fn open(path: &std::path::Path) -> Ledger {
    Ledger::open(path, OpenOptions { read_only: true, ..Default::default() }).unwrap()
}

#[test]
fn strict_and_batch_agree_on_a_clean_ledger() {
    let (_dir, path, events) = synthetic("clean");
    let ledger = open(&path);
    let strict = ledger.verify_observed(SigMode::Strict, &mut |_, _| {}, &mut |_, _| {}).unwrap();
    let batch = ledger.verify_observed(SigMode::Batch, &mut |_, _| {}, &mut |_, _| {}).unwrap();
    assert!(strict.ok && batch.ok, "{:?}", strict.findings);
    assert_eq!(strict.events, events);
    assert!(strict.signatures > events, "handovers carry two signatures");
    assert_eq!(serde_json::to_value(&strict).unwrap(), serde_json::to_value(&batch).unwrap());
}

#[test]
fn a_forged_signature_is_named_in_both_modes() {
    let (_dir, path, events) = synthetic("forged");
    // Forge the outer signature of an event in the middle of the ledger: its body (and so its
    // hash and the log) are untouched, only the signature bytes change.
    let seq = events / 2;
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let doc: String =
            conn.query_row("SELECT doc FROM events WHERE seq = ?1", [seq as i64], |r| r.get(0)).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let sig = v["sig"]["sig"].as_str().unwrap().to_owned();
        let flipped = match sig.strip_prefix('A') {
            Some(rest) => format!("B{rest}"),
            None => format!("A{}", &sig[1..]),
        };
        v["sig"]["sig"] = serde_json::Value::String(flipped);
        let forged = String::from_utf8(kpledger_model::canonical::canonical_value(&v)).unwrap();
        conn.execute("UPDATE events SET doc = ?1 WHERE seq = ?2", rusqlite::params![forged, seq as i64])
            .unwrap();
    }
    let ledger = open(&path);
    let strict = ledger.verify_observed(SigMode::Strict, &mut |_, _| {}, &mut |_, _| {}).unwrap();
    let batch = ledger.verify_observed(SigMode::Batch, &mut |_, _| {}, &mut |_, _| {}).unwrap();
    assert!(!strict.ok);
    let named: Vec<_> =
        strict.findings.iter().filter(|f| f.code == Rule::Ch2 && f.seq == Some(seq)).collect();
    assert_eq!(named.len(), 1, "{:#?}", strict.findings);
    assert!(named[0].message.contains("does not verify"), "{}", named[0].message);
    assert_eq!(serde_json::to_value(&strict).unwrap(), serde_json::to_value(&batch).unwrap());
}
