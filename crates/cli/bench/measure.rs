//! Measuring tools: a bundle to verify, SQLite's own checks, a child's time and peak memory,
//! a temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use kpledger_core::Ledger;

/// Events in the bundle to verify: the certificate whose bundle is closest to this.
pub(super) const BUNDLE_EVENTS: u64 = 1000;

/// The certificate whose bundle is closest to [`BUNDLE_EVENTS`] events, written to `dir`.
pub(super) fn pick_bundle(
    ledger: &Ledger,
    certificates: &[String],
    dir: &Path,
) -> Result<(String, PathBuf, u64)> {
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
pub(super) fn sqlite_check(ledger: &Path, check: &str) -> Result<Duration> {
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
pub(super) fn run_child(cmd: &mut Command) -> Result<(Duration, f64)> {
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

pub(super) fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A directory removed when dropped.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new() -> Result<Self> {
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
