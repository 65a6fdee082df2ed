//! The raw bounds: the cryptography and SQLite alone, on the ledger's own signatures and bytes.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use kpledger_core::Ledger;
use kpledger_model::hash::{Domain, digest};
use kpledger_model::sign::{BatchKeys, SigCheck, SigMode, verify_all, verify_all_in};
use kpledger_model::{Event, ParsedEvent};
use rayon::prelude::*;
use serde::Serialize;

use super::per_s;

/// Signatures used to measure the raw bounds (the ledger's first ones): a second or two of
/// work per bound.
pub(super) const RAW_SAMPLE: usize = 40_000;
/// Most passes over the sample for the all-core bounds.
pub(super) const RAW_PASSES: u64 = 8;

#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct Raw {
    /// `verify_strict` on one core, over the ledger's own signatures.
    pub(super) verify_strict_1core_per_s: f64,
    /// `verify_strict` on all cores.
    pub(super) verify_strict_allcore_per_s: f64,
    /// Batch verification (64 per batch) on all cores.
    pub(super) verify_batch_allcore_per_s: f64,
    /// SHA-256 of the events' canonical bytes, one core.
    pub(super) sha256_per_s: f64,
    pub(super) sha256_mib_per_s: f64,
    /// Inserting rows of the events' size into SQLite in one transaction.
    pub(super) sqlite_insert_rows_per_s: f64,
}

impl Raw {
    /// Each bound at its best of two rounds.
    pub(super) fn max(self, o: Raw) -> Raw {
        Raw {
            verify_strict_1core_per_s: self.verify_strict_1core_per_s.max(o.verify_strict_1core_per_s),
            verify_strict_allcore_per_s: self.verify_strict_allcore_per_s.max(o.verify_strict_allcore_per_s),
            verify_batch_allcore_per_s: self.verify_batch_allcore_per_s.max(o.verify_batch_allcore_per_s),
            sha256_per_s: self.sha256_per_s.max(o.sha256_per_s),
            sha256_mib_per_s: self.sha256_mib_per_s.max(o.sha256_mib_per_s),
            sqlite_insert_rows_per_s: self.sqlite_insert_rows_per_s.max(o.sqlite_insert_rows_per_s),
        }
    }
}

/// The raw bounds, on the first [`RAW_SAMPLE`] signatures of `ledger` (of `ledger_events` events).
/// The all-core bounds go over the sample until they have checked about as many signatures
/// as the whole ledger has (at most [`RAW_PASSES`] times), so that they are timed over about
/// as long as the verification they are compared with: on a shared machine the best of a few
/// short windows is luckier than the best of a few long ones.
pub(super) fn raw_bounds(ledger: &Ledger, ledger_events: u64) -> Result<Raw> {
    let n = ledger.len()?.min(RAW_SAMPLE as u64);
    let docs = ledger.event_docs(1, n)?;
    let events: Vec<ParsedEvent> = docs.iter().map(|d| Event::parse(d)).collect::<Result<_, _>>()?;
    let mut checks: Vec<SigCheck> = Vec::new();
    for ev in &events {
        let (own, offer) = ev.signature_checks();
        checks.push(own);
        checks.extend(offer.flatten());
    }
    // The ledger's signatures, estimated from the sample's share per event.
    let window = ledger_events.saturating_mul(checks.len() as u64) / n.max(1);
    checks.truncate(RAW_SAMPLE);
    let count = checks.len() as u64;
    let sig_passes = window.div_ceil(count.max(1)).clamp(1, RAW_PASSES);
    let t = Instant::now();
    let ok = verify_all(&checks, SigMode::Strict);
    let one = t.elapsed();
    let all_cores = |mode| -> (Duration, bool) {
        let t = Instant::now();
        let mut same = true;
        let keys = BatchKeys::default();
        for _ in 0..sig_passes {
            let all: Vec<bool> =
                checks.par_chunks(64).flat_map_iter(|c| verify_all_in(c, mode, &keys)).collect();
            same &= all == ok;
        }
        (t.elapsed(), same)
    };
    let (many, strict_same) = all_cores(SigMode::Strict);
    let (batched, batch_same) = all_cores(SigMode::Batch);
    if !(ok.iter().all(|b| *b) && strict_same && batch_same) {
        bail!("a generated signature does not verify; this is a bug");
    }
    // SHA-256 of the same bytes, several passes for a measurable time.
    let bytes: u64 = events.iter().map(|e| e.canonical.len() as u64).sum();
    let sha_passes = 5u64;
    let t = Instant::now();
    let mut x = 0u8;
    for _ in 0..sha_passes {
        for e in &events {
            x ^= digest(Domain::Event, &e.canonical).0[0];
        }
    }
    let hashed = t.elapsed();
    std::hint::black_box(x);
    // SQLite inserts of rows like the events table's, in one transaction.
    let conn = rusqlite::Connection::open_in_memory()?;
    conn.execute_batch(
        "CREATE TABLE t(seq INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, doc TEXT NOT NULL)",
    )?;
    let t = Instant::now();
    {
        let tx = conn.unchecked_transaction()?;
        let mut st = tx.prepare("INSERT INTO t(hash, doc) VALUES (?1, ?2)")?;
        for e in &events {
            st.execute(rusqlite::params![&e.hash.0[..], std::str::from_utf8(&e.canonical)?])?;
        }
        drop(st);
        tx.commit()?;
    }
    let inserted = t.elapsed();
    Ok(Raw {
        verify_strict_1core_per_s: per_s(count, one),
        verify_strict_allcore_per_s: per_s(count * sig_passes, many),
        verify_batch_allcore_per_s: per_s(count * sig_passes, batched),
        sha256_per_s: per_s(events.len() as u64 * sha_passes, hashed),
        sha256_mib_per_s: (bytes * sha_passes) as f64 / 1_048_576.0 / hashed.as_secs_f64().max(1e-9),
        sqlite_insert_rows_per_s: per_s(events.len() as u64, inserted),
    })
}
