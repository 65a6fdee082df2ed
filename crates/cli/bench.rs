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
use clap::Args;
use kpledger_core::Ledger;
use kpledger_model::sign::SigMode;
use kpledger_verify::Report;
use serde::Serialize;

use crate::{OK, render};

mod measure;
mod pg;
mod raw;
mod service;
mod table;

use measure::{TempDir, pick_bundle, run_child, sqlite_check};
use raw::{Raw, raw_bounds};
use service::{ServiceFigures, service};

pub(crate) use table::table;

/// Verifies the whole ledger (`events` long) in `mode` behind a progress bar labelled
/// `label`: its report, and how long it took.
fn timed_verify(ledger: &Ledger, mode: SigMode, events: u64, label: &str) -> Result<(Report, Duration)> {
    let pb = render::progress(events, label);
    let t = Instant::now();
    let report = ledger.verify_observed(mode, &mut |d, _| pb.set_position(d), &mut |_, _| {})?;
    let took = t.elapsed();
    pb.finish_and_clear();
    Ok((report, took))
}

/// Events ingested per transaction (each one committed durably).
const INGEST_BATCH: usize = 1000;

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
    /// Ingest and verification on PostgreSQL (`--ledger postgres://…`), same events, same run.
    #[serde(skip_serializing_if = "Option::is_none")]
    postgres: Option<pg::PgFigures>,
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

#[derive(Debug, Serialize)]
struct Ratio {
    name: String,
    value: f64,
    target: f64,
    met: bool,
}

fn per_s(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Measure ingest and verification against the raw cost of the cryptography
///
/// Builds a synthetic national ledger (the demo's actors, its trade repeated, one KP
/// certificate per export lot) and ingests it into a new ledger. Then, in turn, for each
/// of --rounds rounds: the raw bounds on the ledger's own signatures and bytes
/// (verify_strict on one core and on all cores, batch verification, SHA-256, SQLite
/// inserts), and the whole ledger verified strictly and in batches; each figure keeps its
/// best round. Last, one certificate's bundle of about 1,000 events and the peak memory
/// of `verify --ledger` in a child process. Prints each figure and the ratios the
/// performance targets are stated in. Absolute figures vary with the machine and its
/// load; the ratios are what to compare.
///
/// The default runs for about a minute and a half. Examples:
///   kpledger bench   (runs for about a minute and a half)
///   kpledger bench --parcels 435000 --json   (runs for about 15 minutes: 10^6 events)
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct BenchArgs {
    /// Parcels to mine (about 2.3 events each)
    #[arg(long, default_value_t = 30_000)]
    parcels: u64,
    /// Parcels per export lot (each lot's bundle holds about 2.3 events per parcel + 40)
    #[arg(long, default_value_t = 420)]
    lot_parcels: u32,
    /// Directory for the generated ledger and bundle (new or empty; default: a temporary
    /// directory, removed afterwards)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Rounds of the raw bounds and of both verifications, interleaved; each figure is
    /// its best round (a transient slowdown of a shared machine then spoils neither side
    /// of a ratio)
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
    rounds: u32,
    /// Print the figures as JSON
    #[arg(long)]
    json: bool,
    /// Also measure ingest and verification on this empty PostgreSQL database
    /// (postgres://USER:PASSWORD@HOST/DB), beside SQLite, on the same events
    #[arg(long, value_name = "URL")]
    ledger: Option<String>,
}

pub(crate) fn bench(a: BenchArgs) -> Result<u8> {
    let BenchArgs { parcels, lot_parcels, dir, rounds, json, ledger } = a;
    if let Some(l) = ledger.as_deref().filter(|l| !kpledger_core::store::pg::is_url(l)) {
        anyhow::bail!("bench --ledger takes an empty PostgreSQL database (postgres://…), not {l}");
    }
    let report = run(parcels, lot_parcels, dir.as_deref(), rounds, json, ledger.as_deref())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(OK)
}

/// Runs the benchmark in `dir` (created, or a temporary one), on a ledger of about
/// `parcels` mined parcels in export lots of `lot_parcels`.
pub(crate) fn run(
    parcels: u64,
    lot_parcels: u32,
    dir: Option<&Path>,
    rounds: u32,
    json: bool,
    postgres: Option<&str>,
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
        let (strict, took) = timed_verify(&ledger, SigMode::Strict, synth.events, "verifying")?;
        strict_time = strict_time.min(took);
        if !strict.ok {
            bail!("the generated ledger does not verify: {} error(s); this is a bug", strict.errors);
        }
        let (batch, took) = timed_verify(&ledger, SigMode::Batch, synth.events, "verifying (batch)")?;
        batch_time = batch_time.min(took);
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
    let postgres = match postgres {
        Some(url) => Some(pg::postgres(&target, url, synth.events, rounds, &synth.root_key, &say)?),
        None => None,
    };

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
    let ratio = |name: &str, value: f64, target: f64, at_least: bool| Ratio {
        name: name.to_owned(),
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
        // The goal: the bulk clients' figure (JSONL batches); the single-event one is in the
        // table beside it, with its own ratio.
        ratio(
            &format!("HTTP accepted events/s, JSONL batches of {} ÷ ingest events/s", service.batch_events),
            service.batch_accepted_events_per_s / measured.ingest_events_per_s,
            0.7,
            true,
        ),
        ratio("HTTP p99 latency of one event at half that rate, ms", service.latency_p99_ms, 50.0, false),
        ratio("tiles served per second, one core", service.tiles_per_s, 10_000.0, true),
    ];
    let mut ratios = ratios;
    if let Some(p) = &postgres {
        ratios.push(ratio(
            "PostgreSQL ingest events/s ÷ SQLite ingest events/s",
            p.ingest_events_per_s / measured.ingest_events_per_s,
            0.5,
            true,
        ));
        ratios.push(ratio(
            "PostgreSQL verify events/s ÷ SQLite verify events/s",
            p.verify_events_per_s / measured.verify_events_per_s,
            0.8,
            true,
        ));
    }
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
        postgres,
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
