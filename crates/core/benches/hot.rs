//! Criterion benches of the hot functions of ingest and verification: canonical bytes,
//! the event hash, parsing a stored event, checking one event's signatures (strictly and
//! in a batch), judging one event against the state, and appending one Merkle leaf.
//!
//! `cargo bench -p kpledger-core --bench hot`. Not run by CI (`.ci/run` only builds it).
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kpledger_core::Ledger;
use kpledger_model::hash::{Domain, digest};
use kpledger_model::sign::SigMode;
use kpledger_model::{Event, Hash, Payload, canonical};
use kpledger_testkit::TempDir;
use kpledger_verify::{MemState, Signatures, check_event_signed};

/// A small synthetic ledger's events, parsed, and a handover among them.
fn events() -> (TempDir, Vec<kpledger_model::ParsedEvent>) {
    let dir = TempDir::new("hot");
    let path = dir.join("l.kpl");
    let s = kpledger_core::synth::national(&path, 200, 50, &mut |_| {}).unwrap();
    let ledger =
        Ledger::open(&path, kpledger_core::OpenOptions { read_only: true, ..Default::default() }).unwrap();
    let docs = ledger.event_docs(1, s.events).unwrap();
    (dir, docs.iter().map(|d| Event::parse(d).unwrap()).collect())
}

fn hot(c: &mut Criterion) {
    let (_dir, events) = events();
    let handover =
        events.iter().position(|e| matches!(e.event.body.payload, Payload::Handover { .. })).unwrap();
    let ev = &events[handover];
    let bytes = ev.canonical.clone();

    c.bench_function("canonicalize event (model -> RFC 8785 bytes)", |b| {
        b.iter(|| canonical::to_canonical(black_box(&ev.event)).unwrap())
    });
    c.bench_function("hash event body (SHA-256, domain-separated)", |b| {
        let body = canonical::to_canonical(&ev.event.body).unwrap();
        b.iter(|| digest(Domain::Event, black_box(&body)))
    });
    c.bench_function("parse stored event (strict, canonical fast path)", |b| {
        // As the verifier reads a ledger: the keys decoded once per run.
        let keys = kpledger_model::KeyCache::default();
        b.iter(|| Event::parse_in(black_box(&bytes), &keys).unwrap())
    });
    c.bench_function("verify one handover's 2 signatures (verify_strict)", |b| {
        b.iter(|| Signatures::check_all(&[black_box(ev)], SigMode::Strict))
    });
    let refs: Vec<_> = events.iter().take(64).collect();
    c.bench_function("verify 64 events' signatures as one batch", |b| {
        b.iter(|| Signatures::check_all(black_box(&refs), SigMode::Batch))
    });
    // The rules for the handover against the state just before it.
    let mut state = MemState::default();
    for e in &events[..handover] {
        let v = check_event_signed(&state, e, Signatures::check(e));
        state.apply(v.into_parts().1);
    }
    let sigs = Signatures::check(ev);
    c.bench_function("judge one handover against the state (rules only)", |b| {
        b.iter(|| check_event_signed(black_box(&state), black_box(ev), sigs))
    });
    c.bench_function("append one Merkle leaf (SQLite, in a transaction)", |b| {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(kpledger_core::log_tree::SCHEMA).unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        let mut size = 0u64;
        b.iter(|| {
            kpledger_core::log_tree::LogTree::append(&*tx, size, Hash([size as u8; 32])).unwrap();
            size += 1;
        })
    });
}

criterion_group!(benches, hot);
criterion_main!(benches);
