//! Benchmark: appending 1,000,000 leaves to the ledger's stored Merkle tree.
//!
//! Shows that an append costs O(log n) — flat per-append time at 10^4, 10^5 and 10^6
//! leaves — and prints, in the same run, the raw cost of the hashing an append does, so the
//! ratio to the cryptographic bound can be read off. Also prints proof sizes.
//!
//!     cargo run --release -p kpledger-core --example log_bench [-- LEAVES] [--json]
//!
//! Leaves are appended in transactions of 10,000, as bulk ingest does, to a scratch SQLite
//! file in the system's temporary directory (removed at the end), with the ledger's own
//! durability settings (WAL, synchronous=FULL).
// A benchmark prints its figures, and timings are measured in floating-point seconds (no
// weights or money here).
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::float_arithmetic)]

use std::time::Instant;

use kpledger_core::log_tree::{LogTree, SCHEMA};
use kpledger_model::Hash;
use kpledger_model::hash::{merkle_leaf, merkle_node};
use rusqlite::Connection;

const BATCH: u64 = 10_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let total: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let path = std::env::temp_dir().join(format!("kpledger-log-bench-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut conn = Connection::open(&path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SCHEMA)?;

    // The raw bound: the SHA-256 work of one append (one leaf hash, on average one node
    // hash), measured on the same machine in the same run.
    let raw_n = 200_000u64;
    let t = Instant::now();
    let mut acc = Hash([0; 32]);
    for i in 0..raw_n {
        let leaf = merkle_leaf(&i.to_be_bytes());
        acc = merkle_node(&acc, &leaf);
    }
    let raw_us = t.elapsed().as_secs_f64() * 1e6 / raw_n as f64;
    std::hint::black_box(acc);

    let marks: Vec<u64> = [10_000u64, 100_000, 1_000_000].into_iter().filter(|m| *m <= total).collect();
    let mut rows = Vec::new();
    let mut window_start = Instant::now();
    let mut window_from = 0u64;
    let mut size = 0u64;
    let started = Instant::now();
    while size < total {
        let tx = conn.transaction()?;
        let end = (size + BATCH).min(total);
        while size < end {
            LogTree::append(&tx, size, merkle_leaf(&size.to_be_bytes()))?;
            size += 1;
        }
        tx.commit()?;
        if let Some(mark) = marks.iter().copied().find(|m| *m == size) {
            let per = window_start.elapsed().as_secs_f64() * 1e6 / (size - window_from) as f64;
            let tree = LogTree::new(&conn);
            let incl = tree.inclusion_proof(size / 3, size)?.len();
            let cons = tree.consistency_proof(size / 3, size)?.len();
            rows.push((mark, per, incl, cons));
            window_start = Instant::now();
            window_from = size;
            eprintln!("… {size} leaves");
        }
    }
    let total_s = started.elapsed().as_secs_f64();
    let nodes: i64 = conn.query_row("SELECT count(*) FROM log_nodes", [], |r| r.get(0))?;
    drop(conn);
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }

    if json {
        let marks: Vec<String> = rows
            .iter()
            .map(|(m, per, i, c)| {
                format!(
                    r#"{{"leaves":{m},"us_per_append":{per:.3},"ratio_to_raw_hashing":{:.1},"inclusion_proof_hashes":{i},"consistency_proof_hashes":{c}}}"#,
                    per / raw_us
                )
            })
            .collect();
        println!(
            r#"{{"leaves":{total},"seconds":{total_s:.2},"stored_nodes":{nodes},"raw_hashing_us_per_append":{raw_us:.3},"marks":[{}]}}"#,
            marks.join(",")
        );
    } else {
        println!("appended {total} leaves in {total_s:.1} s ({nodes} stored nodes), batches of {BATCH}");
        println!("raw SHA-256 work of one append, same run: {raw_us:.3} µs");
        println!();
        println!("leaves     µs/append (window)  × raw hashing  inclusion proof  consistency proof");
        for (m, per, i, c) in &rows {
            println!("{m:<10} {per:<19.2} {:<13.1} {i:<16} {c}", per / raw_us);
        }
    }
    Ok(())
}
