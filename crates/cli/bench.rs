//! `kpledger bench`: throughput and memory of ingest and verification, next to the raw cost
//! of the cryptography and of SQLite measured in the same run on the same machine.
//!
//! Every target is a ratio between two figures of one run, because absolute figures drift on
//! a shared machine. The raw bounds use the very signatures and event bytes of the ledger
//! being measured.
// Figures per second and their ratios are measurements, not weights or money.
#![allow(clippy::float_arithmetic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use kpledger_core::Ledger;
use kpledger_model::hash::{Domain, digest};
use kpledger_model::sign::{BatchKeys, SigCheck, SigMode, verify_all, verify_all_in};
use kpledger_model::{Event, ParsedEvent};
use rayon::prelude::*;
use serde::Serialize;

use crate::render;

/// Events ingested per transaction (each one committed durably).
const INGEST_BATCH: usize = 1000;
/// Signatures used to measure the raw bounds (the ledger's first ones): a second or two of
/// work per bound.
const RAW_SAMPLE: usize = 40_000;
/// Most passes over the sample for the all-core bounds.
const RAW_PASSES: u64 = 8;
/// Events in the bundle to verify: the certificate whose bundle is closest to this.
const BUNDLE_EVENTS: u64 = 1000;

/// What `kpledger bench --json` prints.
#[derive(Debug, Serialize)]
pub(crate) struct BenchReport {
    /// Threads the machine offers (rayon's pool).
    cores: usize,
    /// Rounds of the raw bounds and of verification, interleaved; each figure is its best.
    rounds: u32,
    /// The synthetic ledger measured.
    ledger: LedgerFigures,
    /// Measured throughput and memory.
    measured: Measured,
    /// The raw bounds, measured in the same run on the same data, in turn with the
    /// verifications (the best round of each).
    raw: Raw,
    /// The service (`kpledger serve`) over the same events, in this process on loopback.
    service: ServiceFigures,
    /// The ratios the targets are stated in, and the targets.
    ratios: Vec<Ratio>,
}

#[derive(Debug, Serialize)]
struct LedgerFigures {
    events: u64,
    signatures: u64,
    parcels: u64,
    certificates: u64,
    bytes: u64,
    generate_s: f64,
}

#[derive(Debug, Serialize)]
struct Measured {
    /// Ingest from canonical bytes into a new ledger: parsed, every signature verified
    /// (`verify_strict`), every rule, committed durably every 1000 events.
    ingest_events_per_s: f64,
    ingest_signatures_per_s: f64,
    /// `Ledger::verify` (strict): read, parse, canonicalise, hash, signatures, all rules,
    /// Merkle tree, every stored row. This and the batch figure: the best round.
    verify_events_per_s: f64,
    verify_signatures_per_s: f64,
    /// The same with batch signature verification.
    verify_batch_events_per_s: f64,
    verify_batch_signatures_per_s: f64,
    /// `kpledger verify --ledger L` as a child process: peak resident memory and wall time
    /// (memory bounded by the open parcels).
    verify_process_peak_rss_mib: f64,
    verify_process_s: f64,
    /// The same with `--red-flags` (which summarise the whole history).
    verify_red_flags_peak_rss_mib: f64,
    /// SQLite's `integrity_check` of the ledger file alone, on one core (`verify --ledger`
    /// runs it on a connection of its own beside the verification), and `quick_check`, which
    /// it replaced, for comparison.
    integrity_check_s: f64,
    quick_check_s: f64,
    /// One certificate's evidence bundle.
    bundle_certificate: String,
    bundle_events: u64,
    /// In this process.
    bundle_verify_ms: f64,
    /// `kpledger verify BUNDLE --policy FILE` as a child process, start to exit (best of 5).
    bundle_process_ms: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct Raw {
    /// `verify_strict` on one core, over the ledger's own signatures.
    verify_strict_1core_per_s: f64,
    /// `verify_strict` on all cores.
    verify_strict_allcore_per_s: f64,
    /// Batch verification (64 per batch) on all cores.
    verify_batch_allcore_per_s: f64,
    /// SHA-256 of the events' canonical bytes, one core.
    sha256_per_s: f64,
    sha256_mib_per_s: f64,
    /// Inserting rows of the events' size into SQLite in one transaction.
    sqlite_insert_rows_per_s: f64,
}

#[derive(Debug, Serialize)]
struct Ratio {
    name: &'static str,
    value: f64,
    target: f64,
    met: bool,
}

fn per_s(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Runs the benchmark in `dir` (created, or a temporary one), on a ledger of about
/// `parcels` mined parcels in export lots of `lot_parcels`.
pub(crate) fn run(
    parcels: u64,
    lot_parcels: u32,
    dir: Option<&Path>,
    rounds: u32,
    json: bool,
) -> Result<BenchReport> {
    let tmp;
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            if std::fs::read_dir(d)?.next().is_some() {
                bail!("{} is not empty; give a new or empty directory", d.display());
            }
            d.to_owned()
        }
        None => {
            tmp = TempDir::new()?;
            tmp.0.clone()
        }
    };
    let say = |msg: &str| {
        if !json {
            render::step(msg);
        }
    };

    say(&format!("generating a synthetic national ledger of about {parcels} parcels"));
    let source = dir.join("generated.kpl");
    let pb = render::progress(parcels, "generating");
    let t = Instant::now();
    let synth =
        kpledger_core::synth::national(&source, parcels, lot_parcels, &mut |done| pb.set_position(done))?;
    let generate = t.elapsed();
    pb.finish_and_clear();

    say("ingesting it into a new ledger (every signature verified, durable commits)");
    let target = dir.join("ledger.kpl");
    let ingest = ingest(&source, &target, synth.events, &synth.root_key)?;
    drop(std::fs::remove_file(&source));
    let ledger = Ledger::open(&target, kpledger_core::OpenOptions { read_only: true, ..Default::default() })?;

    // The raw bounds and both verifications take turns, `rounds` times, and each keeps its
    // best round: a ratio compares two figures taken minutes apart on a shared machine, and
    // a slowdown of one of them alone would otherwise move it either way.
    let mut strict_time = Duration::MAX;
    let mut batch_time = Duration::MAX;
    let mut raw: Option<Raw> = None;
    let mut sigs = 0;
    for round in 1..=rounds {
        say(&format!("round {round} of {rounds}: the raw bounds, on the ledger's own signatures and bytes"));
        let r = raw_bounds(&ledger, synth.events)?;
        raw = Some(match raw {
            None => r,
            Some(best) => best.max(r),
        });
        say(&format!("round {round} of {rounds}: verifying the whole ledger (verify_strict, then batches)"));
        let pb = render::progress(synth.events, "verifying");
        let t = Instant::now();
        let strict = ledger.verify_with(SigMode::Strict, &mut |d, _| pb.set_position(d))?;
        strict_time = strict_time.min(t.elapsed());
        pb.finish_and_clear();
        if !strict.ok {
            bail!("the generated ledger does not verify: {} error(s); this is a bug", strict.errors);
        }
        let pb = render::progress(synth.events, "verifying (batch)");
        let t = Instant::now();
        let batch = ledger.verify_with(SigMode::Batch, &mut |d, _| pb.set_position(d))?;
        batch_time = batch_time.min(t.elapsed());
        pb.finish_and_clear();
        if !batch.ok || batch.signatures != strict.signatures {
            bail!("batch verification disagrees with strict verification; this is a bug");
        }
        sigs = strict.signatures;
    }
    let Some(raw) = raw else { bail!("--rounds must be at least 1") };

    say("verifying one certificate's bundle, and the ledger in a child process");
    let keys_dir = dir.join("keys");
    std::fs::create_dir_all(&keys_dir)?;
    let policy_path = keys_dir.join("trust-policy.txt");
    std::fs::write(&policy_path, &synth.policy)?;
    let policy = kpledger_verify::TrustPolicy::parse(synth.policy.as_bytes())?;
    let (cert, bundle_path, bundle_events) = pick_bundle(&ledger, &synth.certificates, &dir)?;
    let bytes = std::fs::read(&bundle_path)?;
    let t = Instant::now();
    let report = kpledger_verify::verify_bundle(&bytes, &policy)?;
    let bundle_in_process = t.elapsed();
    if !report.ok {
        bail!("the bundle of {cert} does not verify; this is a bug");
    }
    let exe = std::env::current_exe().context("cannot find the kpledger executable")?;
    let mut bundle_process = Duration::MAX;
    for _ in 0..5 {
        let mut cmd = Command::new(&exe);
        cmd.arg("verify").arg(&bundle_path).arg("--policy").arg(&policy_path);
        let (elapsed, _) = run_child(&mut cmd)?;
        bundle_process = bundle_process.min(elapsed);
    }
    drop(ledger);
    let mut cmd = Command::new(&exe);
    cmd.args(["verify", "--json", "--ledger"]).arg(&target);
    let (verify_process, verify_rss) = run_child(&mut cmd)?;
    let mut cmd = Command::new(&exe);
    cmd.args(["verify", "--red-flags", "--json", "--ledger"]).arg(&target);
    let (_, flags_rss) = run_child(&mut cmd)?;
    let integrity_check = sqlite_check(&target, "integrity_check")?;
    let quick_check = sqlite_check(&target, "quick_check")?;
    let service = service(&target, &dir, &say)?;

    let events = synth.events;
    let measured = Measured {
        ingest_events_per_s: per_s(events, ingest),
        // The same events: as many signatures as verification counts.
        ingest_signatures_per_s: per_s(sigs, ingest),
        verify_events_per_s: per_s(events, strict_time),
        verify_signatures_per_s: per_s(sigs, strict_time),
        verify_batch_events_per_s: per_s(events, batch_time),
        verify_batch_signatures_per_s: per_s(sigs, batch_time),
        verify_process_peak_rss_mib: verify_rss,
        verify_process_s: verify_process.as_secs_f64(),
        verify_red_flags_peak_rss_mib: flags_rss,
        integrity_check_s: integrity_check.as_secs_f64(),
        quick_check_s: quick_check.as_secs_f64(),
        bundle_certificate: cert,
        bundle_events,
        bundle_verify_ms: bundle_in_process.as_secs_f64() * 1e3,
        bundle_process_ms: bundle_process.as_secs_f64() * 1e3,
    };
    let ratio = |name, value: f64, target: f64, at_least: bool| Ratio {
        name,
        value,
        target,
        met: if at_least { value >= target } else { value <= target },
    };
    let ratios = vec![
        ratio(
            "verify signatures/s ÷ raw all-core verify_strict",
            measured.verify_signatures_per_s / raw.verify_strict_allcore_per_s,
            0.8,
            true,
        ),
        ratio(
            "verify --batch signatures/s ÷ raw all-core verify_strict",
            measured.verify_batch_signatures_per_s / raw.verify_strict_allcore_per_s,
            1.2,
            true,
        ),
        ratio(
            "ingest signatures/s ÷ raw one-core verify_strict",
            measured.ingest_signatures_per_s / raw.verify_strict_1core_per_s,
            0.7,
            true,
        ),
        ratio("verify --ledger peak memory, MiB (target at 10^6 events)", verify_rss, 256.0, false),
        ratio("bundle verify incl. process start, ms", measured.bundle_process_ms, 100.0, false),
        ratio(
            "HTTP accepted events/s ÷ ingest events/s",
            service.accepted_events_per_s / measured.ingest_events_per_s,
            0.7,
            true,
        ),
        ratio("HTTP p99 latency of one event at half that rate, ms", service.latency_p99_ms, 50.0, false),
        ratio("tiles served per second, one core", service.tiles_per_s, 10_000.0, true),
    ];
    let file_bytes = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    Ok(BenchReport {
        cores: rayon::current_num_threads(),
        rounds,
        ledger: LedgerFigures {
            events,
            signatures: sigs,
            parcels: synth.parcels,
            certificates: synth.certificates.len() as u64,
            bytes: file_bytes,
            generate_s: generate.as_secs_f64(),
        },
        measured,
        raw,
        service,
        ratios,
    })
}

/// Reads every event of `source` and ingests it into a new ledger at `target` in durable
/// batches; the time counts parsing, signatures, rules and commits, not the reading.
fn ingest(source: &Path, target: &Path, total: u64, root: &kpledger_model::SecretKey) -> Result<Duration> {
    let from = Ledger::open(source, kpledger_core::OpenOptions { read_only: true, ..Default::default() })?;
    let mut to = Ledger::create(target)?;
    let pb = render::progress(total, "ingesting");
    // The documents are read from the generated ledger ahead of time, batch by batch, and
    // handed over in memory: the time counts parsing, signatures, rules and durable commits.
    let mut spent = Duration::ZERO;
    let mut batches = Vec::new();
    let mut seq = 1u64;
    while seq <= total {
        let last = (seq + INGEST_BATCH as u64 - 1).min(total);
        batches.push(from.event_docs(seq, last)?);
        seq = last + 1;
        // Bounded memory: ingest what is read every 100 batches.
        if batches.len() == 100 || seq > total {
            let t = Instant::now();
            to.ingest_batches(std::mem::take(&mut batches).into_iter(), &mut |_| {})
                .map_err(|e| anyhow::anyhow!("ingest stopped at event {}: {}", e.index + 1, e.error))?;
            spent += t.elapsed();
            pb.set_position(last);
        }
    }
    pb.finish_and_clear();
    // The root authority signs a checkpoint, which bundles prove their events against.
    to.publish_checkpoint(root)?;
    Ok(spent)
}

impl Raw {
    /// Each bound at its best of two rounds.
    fn max(self, o: Raw) -> Raw {
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
fn raw_bounds(ledger: &Ledger, ledger_events: u64) -> Result<Raw> {
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

/// The certificate whose bundle is closest to [`BUNDLE_EVENTS`] events, written to `dir`.
fn pick_bundle(ledger: &Ledger, certificates: &[String], dir: &Path) -> Result<(String, PathBuf, u64)> {
    let mut best: Option<(u64, String, Vec<u8>, u64)> = None;
    // Certificates are alike; a few from the middle are enough to choose from.
    let mid = certificates.len() / 2;
    for number in certificates.iter().skip(mid.saturating_sub(2)).take(4) {
        let bundle = ledger.bundle(&kpledger_core::sim::text(number)?)?;
        let n = bundle.events.len() as u64;
        let distance = n.abs_diff(BUNDLE_EVENTS);
        if best.as_ref().is_none_or(|b| distance < b.0) {
            best = Some((distance, number.clone(), serde_json::to_vec(&bundle)?, n));
        }
    }
    let Some((_, number, bytes, n)) = best else { bail!("the generated ledger has no certificate") };
    let path = dir.join(format!("{number}.json"));
    std::fs::write(&path, bytes)?;
    Ok((number, path, n))
}

/// The time SQLite's `PRAGMA check` (`integrity_check` or `quick_check`) takes on the ledger
/// file, on a read-only connection of its own; the check must find the file sound.
fn sqlite_check(ledger: &Path, check: &str) -> Result<Duration> {
    let conn = rusqlite::Connection::open_with_flags(ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let t = Instant::now();
    let verdict: String = conn.query_row(&format!("PRAGMA {check}"), [], |r| r.get(0))?;
    let elapsed = t.elapsed();
    if verdict != "ok" {
        bail!("{check} of {}: {verdict}; this is a bug", ledger.display());
    }
    Ok(elapsed)
}

/// Runs a child to completion; its wall time and its peak resident memory (MiB).
fn run_child(cmd: &mut Command) -> Result<(Duration, f64)> {
    let t = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("cannot start kpledger")?;
    let pid = child.id();
    let mut peak_kib = 0u64;
    // VmHWM (the peak resident set) only grows; read it until the process is gone. Its final
    // value is what the process reached, give or take the last millisecond.
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let elapsed = t.elapsed();
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read as _;
            let _ = e.read_to_string(&mut err);
        }
        bail!("{cmd:?} failed ({status}): {err}");
    }
    Ok((elapsed, peak_kib as f64 / 1024.0))
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let p = std::env::temp_dir().join(format!("kpledger-bench-{}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The human table.
pub(crate) fn table(r: &BenchReport) -> String {
    let f = |x: f64| format!("{x:.0}");
    let m = &r.measured;
    let raw = &r.raw;
    let rows = vec![
        vec![
            "ledger".into(),
            format!(
                "{} events, {} signatures, {} parcels, {} certificates, {:.1} MiB",
                r.ledger.events,
                r.ledger.signatures,
                r.ledger.parcels,
                r.ledger.certificates,
                r.ledger.bytes as f64 / 1_048_576.0
            ),
        ],
        vec![
            "ingest".into(),
            format!("{} events/s, {} signatures/s", f(m.ingest_events_per_s), f(m.ingest_signatures_per_s)),
        ],
        vec![
            "verify --ledger".into(),
            format!("{} events/s, {} signatures/s", f(m.verify_events_per_s), f(m.verify_signatures_per_s)),
        ],
        vec![
            "verify --ledger --batch".into(),
            format!(
                "{} events/s, {} signatures/s",
                f(m.verify_batch_events_per_s),
                f(m.verify_batch_signatures_per_s)
            ),
        ],
        vec![
            "verify --ledger (process)".into(),
            format!(
                "{:.2} s, peak {:.1} MiB ({:.1} MiB with red flags)",
                m.verify_process_s, m.verify_process_peak_rss_mib, m.verify_red_flags_peak_rss_mib
            ),
        ],
        vec![
            "integrity_check".into(),
            format!(
                "{:.2} s alone, beside verify --ledger (quick_check {:.2} s)",
                m.integrity_check_s, m.quick_check_s
            ),
        ],
        vec![
            "bundle".into(),
            format!(
                "{} ({} events): {:.1} ms in process, {:.1} ms as a process",
                m.bundle_certificate, m.bundle_events, m.bundle_verify_ms, m.bundle_process_ms
            ),
        ],
        vec![
            "serve: submissions".into(),
            format!(
                "{} events/s accepted over HTTP ({} clients, one event per request, {} events)",
                f(r.service.accepted_events_per_s),
                r.service.clients,
                r.service.events
            ),
        ],
        vec![
            "serve: latency".into(),
            format!(
                "p50 {:.1} ms, p99 {:.1} ms at {} events/s ({} events)",
                r.service.latency_p50_ms,
                r.service.latency_p99_ms,
                f(r.service.paced_events_per_s),
                r.service.paced_events
            ),
        ],
        vec![
            "serve: tiles".into(),
            format!(
                "{} full tiles/s from one core ({} requests)",
                f(r.service.tiles_per_s),
                r.service.tile_requests
            ),
        ],
        vec![
            "raw verify_strict".into(),
            format!(
                "{} /s on 1 core, {} /s on {} cores",
                f(raw.verify_strict_1core_per_s),
                f(raw.verify_strict_allcore_per_s),
                r.cores
            ),
        ],
        vec![
            "raw batch verify".into(),
            format!("{} /s on {} cores", f(raw.verify_batch_allcore_per_s), r.cores),
        ],
        vec![
            "raw SHA-256".into(),
            format!("{} events/s ({:.0} MiB/s), 1 core", f(raw.sha256_per_s), raw.sha256_mib_per_s),
        ],
        vec![
            "raw SQLite insert".into(),
            format!("{} rows/s, one transaction", f(raw.sqlite_insert_rows_per_s)),
        ],
    ];
    let mut out = render::table(&["figure", "value"], &rows);
    let ratios: Vec<Vec<String>> = r
        .ratios
        .iter()
        .map(|x| {
            vec![
                x.name.into(),
                format!("{:.2}", x.value),
                format!("{}", x.target),
                if x.met { "met".into() } else { "NOT MET".into() },
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&render::table(&["ratio", "value", "target", ""], &ratios));
    out
}

// ---------------------------------------------------------------------------------------
// The service: the same events over HTTP

/// Concurrent HTTP clients submitting (threads of this process, one connection each).
const HTTP_CLIENTS: usize = 32;
/// The last quarter of the events is submitted at half the rate the first three quarters
/// reached, for the latency of single submissions.
const PACED_DIVISOR: usize = 4;
/// Threads reading tiles, and for how long.
const TILE_CLIENTS: usize = 2;
const TILE_SECONDS: u64 = 3;

/// The service's figures (`kpledger bench`, "service").
#[derive(Debug, Serialize)]
pub(crate) struct ServiceFigures {
    /// Concurrent clients, each submitting one event per request on a connection of its own.
    clients: usize,
    /// Events submitted as fast as the clients could, each as soon as the events it links to
    /// were acknowledged.
    events: u64,
    /// Of those: accepted (recorded and acknowledged, durable) per second.
    accepted_events_per_s: f64,
    /// Events then submitted at half that rate, one per request.
    paced_events: u64,
    /// The rate those arrived at.
    paced_events_per_s: f64,
    /// Their latency, request sent to acknowledgement received.
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    /// Full tiles (GET /tile/…) served per second by the service on a one-thread runtime with
    /// one blocking thread, read by `TILE_CLIENTS` clients for `TILE_SECONDS` seconds.
    tiles_per_s: f64,
    tile_requests: u64,
}

/// The events of `ledger` as the trade would submit them: their bytes, the events each links
/// to (by `prev`), and the events with no parcel (enrolments, policies, sites, …), which wait
/// for everything before them and hold back everything after them.
struct Plan {
    docs: Vec<Vec<u8>>,
    deps: Vec<Vec<usize>>,
    /// The last event without a parcel before each event.
    gate: Vec<Option<usize>>,
    barrier: Vec<bool>,
}

fn plan(ledger: &Ledger) -> Result<Plan> {
    let docs = ledger.event_docs(1, ledger.len()?)?;
    let mut index = std::collections::HashMap::new();
    let (mut deps, mut gate, mut barrier) = (Vec::new(), Vec::new(), Vec::new());
    let mut last: Option<usize> = None;
    for (i, doc) in docs.iter().enumerate() {
        let ev = Event::parse(doc)?;
        let parcels = ev.event.body.payload.parcels();
        deps.push(parcels.iter().filter_map(|(_, prev)| prev.and_then(|h| index.get(&h).copied())).collect());
        gate.push(last);
        barrier.push(parcels.is_empty());
        if parcels.is_empty() {
            last = Some(i);
        }
        index.insert(ev.hash, i);
    }
    Ok(Plan { docs, deps, gate, barrier })
}

/// Which events are handed out, and which are acknowledged.
struct Sched {
    next: usize,
    end: usize,
    done: Vec<bool>,
    /// Every event below is acknowledged.
    prefix: usize,
    failed: Option<String>,
}

impl Sched {
    fn ready(&self, plan: &Plan, i: usize) -> bool {
        if plan.barrier[i] {
            return self.prefix >= i;
        }
        plan.gate[i].is_none_or(|g| self.done[g]) && plan.deps[i].iter().all(|d| self.done[*d])
    }
}

/// One client: takes the next event, waits for the events it links to, (paced: waits for its
/// time), posts it and records the latency; until the events of the phase are handed out.
fn http_client(
    shared: &(std::sync::Mutex<Sched>, std::sync::Condvar),
    plan: &Plan,
    url: &str,
    pace: Option<(Instant, Duration, usize)>,
) -> Vec<u64> {
    let (lock, cv) = shared;
    let agent = ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    );
    let mut latencies = Vec::new();
    let fail = |why: String| {
        if let Ok(mut s) = lock.lock() {
            s.failed.get_or_insert(why);
        }
        cv.notify_all();
    };
    loop {
        let i = {
            let Ok(mut s) = lock.lock() else { return latencies };
            if s.next >= s.end || s.failed.is_some() {
                return latencies;
            }
            let i = s.next;
            s.next += 1;
            while !s.ready(plan, i) && s.failed.is_none() {
                s = match cv.wait_timeout(s, Duration::from_secs(1)) {
                    Ok((s, _)) => s,
                    Err(_) => return latencies,
                };
            }
            i
        };
        if let Some((t0, interval, first)) = pace {
            let at = t0 + interval * u32::try_from(i - first).unwrap_or(u32::MAX);
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
        }
        let t = Instant::now();
        let mut tries = 0;
        let outcome = loop {
            tries += 1;
            let sent = agent.post(url).header("content-type", "application/json").send(&plan.docs[i][..]);
            match sent {
                Ok(mut r) => {
                    let status = r.status().as_u16();
                    let body = r.body_mut().read_to_string().unwrap_or_default();
                    match status {
                        200 | 201 => break Ok(()),
                        429 | 503 if tries < 100 => std::thread::sleep(Duration::from_millis(10)),
                        _ => break Err(format!("event #{} was answered {status}: {body}", i + 1)),
                    }
                }
                Err(e) => break Err(format!("event #{}: {e}", i + 1)),
            }
        };
        if let Err(why) = outcome {
            fail(why);
            return latencies;
        }
        latencies.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
        if let Ok(mut s) = lock.lock() {
            s.done[i] = true;
            while s.prefix < s.done.len() && s.done[s.prefix] {
                s.prefix += 1;
            }
        }
        cv.notify_all();
    }
}

/// Submits events `from..to` of the plan with `HTTP_CLIENTS` clients; wall time and latencies.
fn submit_phase(
    sched: &(std::sync::Mutex<Sched>, std::sync::Condvar),
    plan: &Plan,
    url: &str,
    (from, to): (usize, usize),
    interval: Option<Duration>,
) -> Result<(Duration, Vec<u64>)> {
    if let Ok(mut s) = sched.0.lock() {
        (s.next, s.end) = (from, to);
    }
    let t = Instant::now();
    let pace = interval.map(|d| (t, d, from));
    let mut latencies: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..HTTP_CLIENTS).map(|_| scope.spawn(|| http_client(sched, plan, url, pace))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let elapsed = t.elapsed();
    if let Some(why) = sched.0.lock().ok().and_then(|s| s.failed.clone()) {
        bail!("the service refused an event of the generated ledger; this is a bug: {why}");
    }
    latencies.sort_unstable();
    Ok((elapsed, latencies))
}

/// A service in this process on 127.0.0.1 (port 0), until `stop` is sent.
struct InProcess {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    /// `one_core`: a one-thread runtime with one blocking thread; else tokio's defaults.
    fn start(cfg: kpledger_serve::Config, one_core: bool) -> Result<InProcess> {
        let rt = if one_core {
            tokio::runtime::Builder::new_current_thread().max_blocking_threads(1).enable_all().build()?
        } else {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            rt.block_on(async move {
                match kpledger_serve::start("127.0.0.1:0".parse().expect("an address"), cfg).await {
                    Ok(running) => {
                        let _ = addr_tx.send(Ok(running.url()));
                        tokio::select! {
                            _ = running.wait() => {}
                            _ = stopped => {}
                        }
                    }
                    Err(e) => {
                        let _ = addr_tx.send(Err(e));
                    }
                }
            });
        });
        let url = addr_rx.recv().context("the service thread stopped")??;
        Ok(InProcess { url, stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The service bench: the events of `ingested` (the ledger `ingest` made) submitted over HTTP
/// into a new ledger in `dir`; then the tiles of that ledger served from one core.
fn service(ingested: &Path, dir: &Path, say: &dyn Fn(&str)) -> Result<ServiceFigures> {
    let plan = {
        let l = Ledger::open(ingested, kpledger_core::OpenOptions { read_only: true, ..Default::default() })?;
        plan(&l)?
    };
    let n = plan.docs.len();
    let served = dir.join("served.kpl");
    drop(Ledger::create(&served)?);
    let mut cfg = kpledger_serve::Config::new(served.clone());
    (cfg.rate_ip, cfg.rate_key) = (None, None);
    cfg.queue = 4 * HTTP_CLIENTS;
    let paced_from = n - n / PACED_DIVISOR;
    let sched = (
        std::sync::Mutex::new(Sched { next: 0, end: 0, done: vec![false; n], prefix: 0, failed: None }),
        std::sync::Condvar::new(),
    );
    let (fast, paced_time, paced) = {
        let server = InProcess::start(cfg.clone(), false)?;
        let url = format!("{}/v1/events", server.url);
        say(&format!(
            "submitting the same {paced_from} events over HTTP, {HTTP_CLIENTS} clients, one event per request"
        ));
        let (fast, _) = submit_phase(&sched, &plan, &url, (0, paced_from), None)?;
        let rate = per_s(paced_from as u64, fast);
        say(&format!("submitting {} more at half that rate ({:.0} events/s)", n - paced_from, rate / 2.0));
        let interval = Duration::from_secs_f64(2.0 / rate.max(1.0));
        let (paced_time, paced) = submit_phase(&sched, &plan, &url, (paced_from, n), Some(interval))?;
        (fast, paced_time, paced)
    };
    let recorded =
        Ledger::open(&served, kpledger_core::OpenOptions { read_only: true, ..Default::default() })?;
    if recorded.len()? != n as u64 {
        bail!("the service recorded {} events of {n}; this is a bug", recorded.len()?);
    }
    drop(recorded);

    say(&format!("reading tiles for {TILE_SECONDS} s from the service on one core"));
    let tiles: Vec<String> = {
        let all = kpledger_serve::tiles::all_tiles(n as u64);
        let full: Vec<String> = all.iter().filter(|t| t.width.is_none()).map(|t| t.to_path()).collect();
        if full.is_empty() { all.iter().map(|t| t.to_path()).collect() } else { full }
    };
    let server = InProcess::start(cfg, true)?;
    let deadline = Instant::now() + Duration::from_secs(TILE_SECONDS);
    let t = Instant::now();
    let counts: Vec<Result<u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..TILE_CLIENTS)
            .map(|c| {
                let (tiles, base) = (&tiles, &server.url);
                scope.spawn(move || -> Result<u64> {
                    let agent = ureq::Agent::new_with_config(
                        ureq::config::Config::builder().timeout_global(Some(Duration::from_secs(30))).build(),
                    );
                    let mut count = 0u64;
                    let mut k = c;
                    while Instant::now() < deadline {
                        let path = &tiles[k % tiles.len()];
                        let body = agent.get(format!("{base}/{path}")).call()?.body_mut().read_to_vec()?;
                        if body.is_empty() || body.len() % 32 != 0 {
                            bail!("{path}: {} bytes is not a tile", body.len());
                        }
                        count += 1;
                        k += TILE_CLIENTS;
                    }
                    Ok(count)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a tile client panicked"))))
            .collect()
    });
    let tile_time = t.elapsed();
    drop(server);
    let tile_requests = counts.into_iter().sum::<Result<u64>>()?;

    let ms = |v: &[u64], pct: usize| -> f64 {
        let i = (v.len() * pct).div_ceil(100).clamp(1, v.len().max(1)) - 1;
        v.get(i).map_or(0.0, |us| *us as f64 / 1e3)
    };
    Ok(ServiceFigures {
        clients: HTTP_CLIENTS,
        events: paced_from as u64,
        accepted_events_per_s: per_s(paced_from as u64, fast),
        paced_events: (n - paced_from) as u64,
        paced_events_per_s: per_s((n - paced_from) as u64, paced_time),
        latency_p50_ms: ms(&paced, 50),
        latency_p99_ms: ms(&paced, 99),
        tiles_per_s: per_s(tile_requests, tile_time),
        tile_requests,
    })
}
