//! An arbitrary event offered to a demo ledger (the Mano River Union scenario with 8 parcels,
//! built once per process in a temporary directory).
//!
//! Each input is read as a signed event and judged twice: as it is, and re-signed for the
//! demo ledger with the demo's key of the signer it names (a handover's offer too, with the
//! seller's), so the rules behind the signature checks are reached. For each:
//!
//! - the store's judgement (`Ledger::dry_run`, SQL state) must equal the verifier's on an
//!   in-memory state rebuilt from the same events (`check_event` on `MemState`): one
//!   function decides, whatever the state is kept in;
//! - a refused event given to `Ledger::append` is refused, and the ledger is unchanged
//!   (same size, same log root);
//! - an accepted event is appended to a copy of the ledger, which must then verify without
//!   error (`Ledger::verify`).
#![no_main]

#[macro_use]
mod fixed;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use kpledger_core::demo::{self, DEMO_ORIGIN};
use kpledger_core::{Ledger, OpenOptions};
use kpledger_model::Hash;
use kpledger_model::{Event, Offer, Origin, ParsedEvent, Payload, SecretKey};
use kpledger_verify::{MemState, Severity, check_event};
use libfuzzer_sys::fuzz_target;

struct World {
    dir: PathBuf,
    ledger: Mutex<Ledger>,
    /// The ledger file's bytes (WAL folded in), to make scratch copies from.
    image: Vec<u8>,
    mem: MemState,
    hashes: BTreeSet<Hash>,
    keys: BTreeMap<String, SecretKey>,
    size: u64,
    root: Hash,
    origin: Origin,
}

fn world() -> &'static World {
    once!(World, {
        let dir = std::env::temp_dir().join(format!("kpledger-fuzz-ingest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let summary = demo::run(&dir.join("demo"), 8, &mut |_| {}).expect("the demo runs");
        assert!(summary.report.ok, "the demo verifies");
        let path = dir.join("demo").join("ledger.kpl");
        let image = std::fs::read(&path).expect("ledger file");
        assert!(
            !dir.join("demo").join("ledger.kpl-wal").exists() || {
                let wal = std::fs::metadata(dir.join("demo").join("ledger.kpl-wal")).expect("wal");
                wal.len() == 0
            }
        );
        let ledger = Ledger::open(&path, OpenOptions::default()).expect("open the demo ledger");
        let size = ledger.len().expect("len");
        let mut mem = MemState::default();
        let mut hashes = BTreeSet::new();
        for seq in 1..=size {
            let ev = ledger.event(seq).expect("read").expect("event");
            let verdict = check_event(&mem, &ev);
            mem.apply(verdict.into_parts().1);
            hashes.insert(ev.hash);
        }
        let root = ledger.log_root(size).expect("root");
        let mut keys = BTreeMap::new();
        for entry in std::fs::read_dir(dir.join("demo").join("keys")).expect("keys dir") {
            let p = entry.expect("entry").path();
            if p.extension().is_some_and(|e| e == "pem") {
                let id = p.file_stem().expect("stem").to_string_lossy().into_owned();
                keys.insert(id, SecretKey::read_pem_file(&p).expect("demo key"));
            }
        }
        let origin = Origin::new(DEMO_ORIGIN).expect("origin");
        World { dir, ledger: Mutex::new(ledger), image, mem, hashes, keys, size, root, origin }
    })
}

fn judge(w: &World, ev: &ParsedEvent) {
    let mut ledger = w.ledger.lock().unwrap_or_else(|e| e.into_inner());
    // The demo ledger is sound: a state read error would be a bug.
    let stored = ledger.dry_run(ev).expect("the demo ledger's state reads");
    let mem = check_event(&w.mem, ev);
    // The store adds a finding of its own for an event it already holds.
    let skip = usize::from(w.hashes.contains(&ev.hash));
    let key = |f: &kpledger_verify::Finding| (f.code, f.severity, f.message.clone());
    let a: Vec<_> = stored.findings().iter().skip(skip).map(key).collect();
    let b: Vec<_> = mem.findings().iter().map(key).collect();
    assert_eq!(a, b, "the SQL state and the in-memory state judge the event differently");
    assert_eq!(stored.is_valid(), !stored.findings().iter().any(|f| f.severity == Severity::Error));
    if std::env::var_os("KPLEDGER_FUZZ_TRACE").is_some() {
        let codes: Vec<_> = stored.findings().iter().map(|f| f.code.code()).collect();
        eprintln!(
            "ingest: {} {} {codes:?}",
            ev.event.body.payload.kind(),
            if stored.is_valid() { "accepted" } else { "refused" }
        );
    }

    if !stored.is_valid() {
        assert!(ledger.append(ev).is_err(), "append accepted an event that dry_run refused");
        assert_eq!(ledger.len().expect("len"), w.size, "a refused append changed the ledger's size");
        assert_eq!(ledger.log_root(w.size).expect("root"), w.root, "a refused append changed the log");
        return;
    }
    // Accepted: record it in a scratch copy, which must then verify.
    let scratch = w.dir.join("scratch.kpl");
    let _ = std::fs::remove_file(&scratch);
    let _ = std::fs::remove_file(w.dir.join("scratch.kpl-wal"));
    let _ = std::fs::remove_file(w.dir.join("scratch.kpl-shm"));
    std::fs::write(&scratch, &w.image).expect("scratch copy");
    let mut copy = Ledger::open(&scratch, OpenOptions::default()).expect("open the copy");
    let appended = copy.append(ev).expect("dry_run accepted it, so append does");
    assert_eq!(appended.seq, w.size + 1);
    let report = copy.verify(&mut |_, _| {}).expect("verify the copy");
    assert!(report.ok, "the ledger does not verify after an accepted event: {:#?}", report.findings);
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let Ok(ev) = Event::parse(data) else { return };
    judge(w, &ev);
    // The same body for the demo ledger, signed with the demo's key of its signer.
    let mut body = ev.event.body.clone();
    body.ledger = w.origin.clone();
    // A handover's offer too, by the demo's key of the seller it names.
    if let Payload::Handover { offer, .. } = &mut body.payload
        && let Some(key) = w.keys.get(offer.body.signer.as_str())
    {
        let mut offer_body = offer.body.clone();
        offer_body.ledger = w.origin.clone();
        if let Ok(signed) = Offer::sign(offer_body, key) {
            *offer = signed;
        }
    }
    if let Some(key) = w.keys.get(body.signer.as_str())
        && let Ok(signed) = Event::sign(body, key)
        && let Ok(parsed) = signed.into_parsed()
    {
        judge(w, &parsed);
    }
});
