#![allow(clippy::unwrap_used)]
use kpledger_core::{Ledger, OpenOptions, demo};

#[test]
fn dump() {
    let dir = std::path::PathBuf::from("/tmp/kpl-dump/demo");
    let _ = std::fs::remove_dir_all("/tmp/kpl-dump");
    let s = demo::run(&dir, 12, &mut |_| {}).unwrap();
    let ledger = Ledger::open(&s.ledger, OpenOptions { read_only: true, ..Default::default() }).unwrap();
    let n = ledger.len().unwrap();
    std::fs::create_dir_all("/tmp/kpl-dump/events").unwrap();
    for seq in 1..=n {
        let e = ledger.event(seq).unwrap().unwrap();
        std::fs::write(
            format!("/tmp/kpl-dump/events/{seq:03}-{}.json", e.event.body.payload.kind()),
            &e.canonical,
        )
        .unwrap();
    }
    std::fs::write("/tmp/kpl-dump/report.json", serde_json::to_string_pretty(&s.report).unwrap()).unwrap();
    std::fs::write("/tmp/kpl-dump/summary.json", serde_json::to_string_pretty(&s).unwrap()).unwrap();
}
