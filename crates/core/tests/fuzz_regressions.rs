//! Inputs found by the fuzz targets (`fuzz/`), kept after their fix with their exact outcome
//! (`fixtures/fuzz-regressions/`).
//!
//! `ingest/`: each input is an event offered to the demo ledger (8 parcels), as it is and
//! re-signed for the demo ledger by the demo's key of its signer, as the `ingest` target
//! does. For each, the store's verdict (`Ledger::dry_run`, state in SQLite) and the
//! verifier's on an in-memory state rebuilt from the same events must be the same findings,
//! with the error codes `expect.json` lists, and a refused append leaves the ledger as it was.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kpledger_core::demo::{self, DEMO_ORIGIN};
use kpledger_core::{Ledger, OpenOptions};
use kpledger_model::{Event, Origin, ParsedEvent, SecretKey};
use kpledger_testkit::TempDir;
use kpledger_verify::{Finding, MemState, Severity, check_event};

fn regressions(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/fuzz-regressions").join(target)
}

/// The `ingest` target's world: the demo ledger, the in-memory state after its events and
/// the demo's keys.
struct World {
    ledger: Ledger,
    mem: MemState,
    keys: BTreeMap<String, SecretKey>,
    _scratch: TempDir,
}

fn world() -> World {
    let scratch = TempDir::new("fuzz-regressions");
    let dir = scratch.join("demo");
    assert!(demo::run(&dir, 8, &mut |_| {}).unwrap().report.ok);
    let ledger = Ledger::open(&dir.join("ledger.kpl"), OpenOptions::default()).unwrap();
    let mut mem = MemState::default();
    for seq in 1..=ledger.len().unwrap() {
        let ev = ledger.event(seq).unwrap().unwrap();
        mem.apply(check_event(&mem, &ev).into_parts().1);
    }
    let mut keys = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("keys")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "pem") {
            keys.insert(
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                SecretKey::read_pem_file(&p).unwrap(),
            );
        }
    }
    World { ledger, mem, keys, _scratch: scratch }
}

fn summary(findings: &[Finding]) -> Vec<(&'static str, Severity, String)> {
    findings.iter().map(|f| (f.code.code(), f.severity, f.message.clone())).collect()
}

/// The error codes the ledger gives `ev`, after checking that both states agree and that
/// a refused append changes nothing.
fn judge(w: &mut World, ev: &ParsedEvent) -> Vec<&'static str> {
    let stored = w.ledger.dry_run(ev).unwrap();
    // The store judges by the rules and by the ledger's clock (CH-4, the newest time it holds).
    let newest =
        (1..=w.ledger.len().unwrap()).map(|seq| w.ledger.event(seq).unwrap().unwrap().event.body.time).max();
    let mut mem = check_event(&w.mem, ev);
    if let Some(f) = kpledger_verify::ledger_clock(newest.as_ref(), ev) {
        mem = mem.with_first(f);
    }
    assert_eq!(summary(stored.findings()), summary(mem.findings()), "the SQL and in-memory states disagree");
    let (size, root) = (w.ledger.len().unwrap(), w.ledger.log_root(w.ledger.len().unwrap()).unwrap());
    if !stored.is_valid() {
        assert!(w.ledger.append(ev).is_err());
        assert_eq!(w.ledger.len().unwrap(), size);
        assert_eq!(w.ledger.log_root(size).unwrap(), root);
    }
    stored.findings().iter().filter(|f| f.severity == Severity::Error).map(|f| f.code.code()).collect()
}

#[test]
fn ingest_regressions_keep_their_outcome() {
    let dir = regressions("ingest");
    let expect: BTreeMap<String, BTreeMap<String, Vec<String>>> =
        serde_json::from_slice(&std::fs::read(dir.join("expect.json")).unwrap()).unwrap();
    let inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "expect.json")
        .collect();
    assert!(!inputs.is_empty());
    assert_eq!(inputs.len(), expect.len(), "every input has an expectation and the reverse: {inputs:?}");
    let mut w = world();
    let origin = Origin::new(DEMO_ORIGIN).unwrap();
    for (name, want) in &expect {
        let ev = Event::parse(&std::fs::read(dir.join(name)).unwrap()).unwrap();
        assert_eq!(judge(&mut w, &ev), want["as_is"], "{name} as it is");
        let mut body = ev.event.body.clone();
        body.ledger = origin.clone();
        let key = &w.keys[body.signer.as_str()];
        let resigned = Event::sign(body, key).unwrap().into_parsed().unwrap();
        assert_eq!(judge(&mut w, &resigned), want["resigned"], "{name} re-signed for the demo ledger");
    }
}
