//! `kpledger verify`: a whole ledger, or one evidence bundle under a trust policy.

use super::common::*;
use crate::args::*;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use kpledger_model::{ParsedEvent, PublicKey};
use kpledger_verify::SigMode;

use crate::args::OpenArgs;
use crate::commands::report;
use crate::render;
use crate::{FOUND, OK};

pub(crate) fn verify_ledger(
    path: &Path,
    trust: Option<&kpledger_verify::TrustPolicy>,
    mode: SigMode,
    red_flags: bool,
    json: bool,
    o: &OpenArgs,
) -> Result<u8> {
    let ledger = open(path, true, o)?;
    let total = ledger.len()?;
    let pb = render::progress(total, "verifying");
    // The red flags read the events as verification does, in the same pass.
    let mut book = kpledger_report::Book::default();
    // Under a trust policy, the certificates and imports must be by the authorities it pins
    // (KP-7), as in a bundle: the same ledger cannot verify whole and fail as bundles.
    let mut vouchers = kpledger_verify::Vouchers::default();
    let mut observe = |seq: u64, ev: &ParsedEvent| {
        if red_flags {
            book.add(seq, ev);
        }
        if trust.is_some() {
            vouchers.observe(seq, ev);
        }
    };
    let mut report = ledger.verify_observed(mode, &mut |done, _| pb.set_position(done), &mut observe)?;
    pb.finish_and_clear();
    if let Some(trust) = trust {
        let root = kpledger_verify::check_ledger_root(trust, ledger.event(1)?.as_ref());
        let newest = ledger.stored_checkpoints()?.pop().map(|c| c.note);
        let witnessed = vouchers.check_witnesses(trust, newest.as_deref());
        for f in witnessed.into_iter().chain(vouchers.check(trust)).rev().chain(root) {
            if f.is_error() {
                report.errors += 1;
                report.ok = false;
            } else {
                report.warnings += 1;
            }
            report.findings.insert(0, f);
        }
    }
    print_report(report, red_flags.then_some(&book), json)
}

/// Reads a trust policy file; a policy that cannot be read is exit 2, naming its lines.
pub(crate) fn read_policy(path: &Path) -> Result<kpledger_verify::TrustPolicy> {
    let bytes = read_input(path)?;
    kpledger_verify::TrustPolicy::parse(&bytes).map_err(|e| {
        anyhow!("{}: {e}\n(the trust policy's format is in docs/SPEC.md §14.5; `kpledger trust --help` prints its lines)", path.display())
    })
}

impl TrustArgs {
    /// Whether a trust policy or trusted keys were given.
    pub(crate) fn given(&self) -> bool {
        self.policy.is_some() || !self.removed.trust.is_empty()
    }

    /// What a bundle is judged against: the trust policy file, or the bare keys of `--trust`
    /// (and an error naming what replaces `--witness` and `--quorum`, when given).
    pub(crate) fn policy(&self) -> Result<kpledger_verify::TrustPolicy> {
        self.removed.refuse()?;
        bundle_trust(self.policy.as_deref(), &self.removed.trust)
    }
}

/// The trust policy file, or a policy of the bare keys of `--trust`.
fn bundle_trust(policy: Option<&Path>, trust: &[PathBuf]) -> Result<kpledger_verify::TrustPolicy> {
    match (policy, trust) {
        (Some(p), []) => read_policy(p),
        (None, [_, ..]) => {
            let keys = trust
                .iter()
                .map(|k| PublicKey::read_pem_file(k).with_context(|| format!("trusted key {}", k.display())))
                .collect::<Result<Vec<_>>>()?;
            Ok(kpledger_verify::TrustPolicy::from_keys(keys))
        }
        (Some(_), [_, ..]) => {
            bail!("give the trust policy (--policy FILE) or trusted keys (--trust KEYFILE), not both")
        }
        (None, []) => bail!(
            "a bundle is verified against the importing authority's trust policy: give it with --policy FILE \
             (`kpledger trust --help` writes one), or the trusted public keys with --trust KEYFILE"
        ),
    }
}

pub(crate) fn verify_bundle_file(
    path: &Path,
    policy: &kpledger_verify::TrustPolicy,
    mode: SigMode,
    red_flags: bool,
    json: bool,
) -> Result<u8> {
    let bytes = read_input(path)?;
    // The red flags read the events as verification does, in the same pass.
    let mut book = kpledger_report::Book::default();
    let report = kpledger_verify::verify_bundle_observed(&bytes, policy, mode, &mut |seq, ev| {
        if red_flags {
            book.add(seq, ev);
        }
    })
    .with_context(|| format!("{}", path.display()))?;
    print_report(report, red_flags.then_some(&book), json)
}

/// Verify a whole ledger, or one certificate's evidence bundle offline
///
/// With --ledger: every stored event, signature, chain, weight, licence and stored value.
/// With BUNDLE: the certificate's whole provenance, replayed through the same rules with
/// no database, judged against the importer's trust policy (--policy): the log's root key,
/// the witnesses and their quorum, and the authorities trusted for each issuing country
/// (docs/SPEC.md §14.5). Nothing in the bundle is trusted on its own.
///
/// Exit 0 when verified (warnings allowed), 1 when an error was found, 2 when it could
/// not run (a policy line that cannot be read is named).
///
/// Examples:
///   kpledger verify --ledger kpledger-demo/ledger.kpl
///   kpledger verify kpledger-demo/bundles/SL-2026-004312.json --policy kpledger-demo/trust-policy.txt
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct VerifyArgs {
    /// An evidence bundle to verify offline (needs --policy)
    #[arg(conflicts_with = "ledger", required_unless_present = "ledger")]
    bundle: Option<PathBuf>,
    /// The ledger file to verify
    #[arg(long)]
    ledger: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Check signatures in batches (about twice as fast). Same verdicts as the default
    /// one-by-one `verify_strict`, except for a signature whose R point carries a
    /// small-order component, which only its key holder can make and which ingest
    /// refuses (SECURITY.md)
    #[arg(long)]
    batch: bool,
    /// Also raise the statistical red flags (ST-1..ST-5, SW-1; `kpledger stats` and
    /// `kpledger report` always show them) as warnings. They keep a summary of the whole
    /// history in memory (about 1.7 GiB for a million events), while the rules alone need
    /// memory only for the open parcels, whatever the ledger's size
    #[arg(long)]
    red_flags: bool,
    /// Print the report as JSON (schemas/report.schema.json)
    #[arg(long)]
    json: bool,
    /// Seconds to wait for another process's lock on the ledger (default 5; with --ledger
    /// only: a bundle file has no lock)
    #[arg(long, value_name = "SECONDS")]
    wait: Option<u64>,
}

pub(crate) fn verify(a: VerifyArgs) -> Result<u8> {
    let VerifyArgs { bundle, ledger, trust, batch, red_flags, json, wait } = a;
    trust.removed.refuse()?;
    let mode = if batch { SigMode::Batch } else { SigMode::Strict };
    match (ledger, bundle) {
        (Some(l), _) => {
            // A trust policy (or trusted keys) given with --ledger pins the log's root.
            let trust = if trust.given() { Some(trust.policy()?) } else { None };
            verify_ledger(&l, trust.as_ref(), mode, red_flags, json, &OpenArgs { wait: wait.unwrap_or(5) })
        }
        (None, Some(b)) => {
            if wait.is_some() {
                bail!(
                    "--wait is for --ledger (a ledger's lock); a bundle file has no lock, so it would do nothing"
                );
            }
            let trust = trust.policy()?;
            verify_bundle_file(&b, &trust, mode, red_flags, json)
        }
        _ => bail!("give --ledger FILE, or a BUNDLE file with --policy TRUST-POLICY"),
    }
}

/// Prints a verification report (with the red flags of `book`, when asked), as text or JSON;
/// exit 0 verified, 1 an error was found.
fn print_report(
    mut report: kpledger_verify::Report,
    book: Option<&kpledger_report::Book>,
    json: bool,
) -> Result<u8> {
    if let Some(book) = book {
        report::add_flags(&mut report, &kpledger_report::red_flags(book));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render::report(&report));
    }
    Ok(if report.ok { OK } else { FOUND })
}
