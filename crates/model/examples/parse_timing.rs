//! Times `Event::parse` and its parts over stored events, one JSON document a line (e.g.
//! `sqlite3 ledger.kpl "select doc from events order by seq" > events.jsonl`).
//!
//! `cargo run --release -p kpledger-model --example parse_timing -- events.jsonl [rounds]`
//!
//! Each figure is the mean per event of the sum, over batches of 100 events, of the fastest of
//! `rounds` timings of the batch: a busy machine slows some timings, not all.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout, clippy::float_arithmetic)]

use std::hint::black_box;
use std::time::Instant;

use kpledger_model::{Event, canonical};

fn fastest(rounds: usize, docs: &[&[u8]], f: &dyn Fn(&[u8])) -> f64 {
    let mut total = 0.0;
    for batch in docs.chunks(100) {
        let mut best = f64::MAX;
        for _ in 0..rounds {
            let t = Instant::now();
            for d in batch {
                f(d);
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        total += best;
    }
    total * 1e6 / docs.len() as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("a file of events, one a line");
    let rounds: usize = args.next().map_or(5, |r| r.parse().unwrap());
    let text = std::fs::read(&path).unwrap();
    let docs: Vec<&[u8]> = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let from = fastest(rounds, &docs, &|d| {
        black_box(serde_json::from_slice::<Event>(black_box(d)).unwrap());
    });
    // As the verifier reads a ledger: the keys decoded once per run.
    let keys = kpledger_model::KeyCache::default();
    let parse = fastest(rounds, &docs, &|d| {
        black_box(Event::parse_in(black_box(d), &keys).unwrap());
    });
    let canonical = fastest(rounds, &docs, &|d| {
        let e: Event = serde_json::from_slice(d).unwrap();
        black_box(canonical::to_canonical(black_box(&e)).unwrap());
    }) - from;
    if std::env::var_os("FLOOR").is_some() {
        let skip = fastest(rounds, &docs, &|d| {
            black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(d)).unwrap());
        });
        let value = fastest(rounds, &docs, &|d| {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(d)).unwrap());
        });
        println!("skip {skip:.2} us, Value {value:.2} us");
    }
    println!(
        "{} events: from_slice {from:.2} us, Event::parse {parse:.2} us (the rest {:.2} us), \
         to_canonical(event) {canonical:.2} us",
        docs.len(),
        parse - from
    );
}
