//! Command-line arguments. Help text is written to teach: every command says what it is
//! for in the trade, and shows an example.
//!
//! Every `Example:` (and every line after `Examples:`) runs in tests/e2e/readme.rs, in the
//! directory the README's step-by-step leaves, prepared as that test's `PREPARE_EXAMPLES`
//! says (open parcels with fixed ids, an offer, a later checkpoint): write examples that run
//! there, with real file names and ids, and `--time` for signed events. A trailing remark in
//! parentheses is for the reader; `(exit N)` gives its exit code, `(needs …)`/`(runs …)` marks
//! one the test cannot run.
//!
//! Here: the `Command` enum, the subcommand enums (`args/`), the value parsers
//! (`args/value.rs`) and the flag groups several command modules share. A command that is one
//! struct of flags declares it in the module that runs it (`commands/*.rs`, `bench.rs`), with
//! private fields; the rules above hold for its help text there too.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use kpledger_model::{ActorId, Time};

use crate::bench::BenchArgs;
use crate::commands::certificate::{BundleArgs, TransitArgs};
use crate::commands::demo::DemoArgs;
use crate::commands::governance::InitArgs;
use crate::commands::ingest::{IngestArgs, MigrateArgs};
use crate::commands::query::RulesArgs;
use crate::commands::report::{GraphArgs, ReportArgs, StatsArgs};
use crate::commands::serve::{GetArgs, ServeArgs, SubmitArgs};
use crate::commands::trade::{ExtractArgs, MergeArgs, SealArgs, SplitArgs, ValueArgs};
use crate::commands::verify::VerifyArgs;

mod certificate;
mod epcis;
mod governance;
mod ledger;
mod log;
mod query;
mod trade;
pub(crate) mod value;
mod witness;

pub(crate) use certificate::*;
pub(crate) use epcis::*;
pub(crate) use governance::*;
pub(crate) use ledger::*;
pub(crate) use log::*;
pub(crate) use query::*;
pub(crate) use trade::*;
pub(crate) use witness::*;

const AFTER_HELP: &str = "\
Exit codes: 0 success (or verified, warnings allowed), 1 verification ran and found an error \
(or the ledger's rules refused an event), 2 could not run (usage, unreadable or invalid input, \
not a ledger, locked, newer schema).

A parcel id or an event hash may be given by a unique prefix of at least 8 hex digits, as tables \
show it (e.g. 019cb030-95a0-72d7); a prefix several ids share is refused with the list of them.

Start with `kpledger demo` to see a whole Mano River Union scenario; `kpledger rules` lists what \
verification checks. The README of the kpledger repository walks through the trade flow step by step.";

/// kpledger: a tamper-evident custody ledger for rough-diamond parcels, from mine site to
/// export, for Kimberley Process authorities and the licensed trade.
#[derive(Debug, Parser)]
#[command(name = "kpledger", version, after_help = AFTER_HELP, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Demo(DemoArgs),
    Verify(VerifyArgs),
    /// Issue, export, confirm and list KP certificates
    #[command(subcommand)]
    Certificate(CertificateCmd),
    Transit(TransitArgs),
    /// The transparency log: publish checkpoints, add witness cosignatures, prove inclusion and consistency
    #[command(subcommand)]
    Log(LogCmd),
    /// Witness another authority's log: cosign a checkpoint only if it extends the last one
    #[command(subcommand)]
    Witness(WitnessCmd),
    /// Write and check an importing authority's trust policy (the file `verify --policy` reads)
    #[command(subcommand)]
    Trust(TrustCmd),
    /// GS1 EPCIS 2.0 interchange: export events as EPCIS, cross-check a partner's EPCIS file
    #[command(subcommand)]
    Epcis(EpcisCmd),
    Bundle(BundleArgs),
    /// Make and inspect Ed25519 keys (PKCS#8 PEM, interchangeable with openssl)
    #[command(subcommand)]
    Key(KeyCmd),
    Init(InitArgs),
    /// Publish a country's policy (the rules' national values) into the ledger
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Enrol, rotate, revoke and list licensed actors
    #[command(subcommand)]
    Actor(ActorCmd),
    /// Register and list licensed mine sites
    #[command(subcommand)]
    Site(SiteCmd),
    Extract(ExtractArgs),
    /// Hand a parcel over: the holder offers, the receiver re-weighs and accepts
    #[command(subcommand)]
    Handover(HandoverCmd),
    Split(SplitArgs),
    Merge(MergeArgs),
    Value(ValueArgs),
    Seal(SealArgs),
    Ingest(IngestArgs),
    Serve(ServeArgs),
    Submit(SubmitArgs),
    Get(GetArgs),
    /// Look at parcels: history (provenance back to the mine), state, list
    #[command(subcommand)]
    Parcel(ParcelCmd),
    Stats(StatsArgs),
    Report(ReportArgs),
    Graph(GraphArgs),
    Bench(BenchArgs),
    Rules(RulesArgs),
    Migrate(MigrateArgs),
    /// The ledger's store as a whole: copy a ledger into an empty store
    #[command(subcommand)]
    Ledger(LedgerCmd),
}

/// How to open the ledger.
#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// Seconds to wait for another process's lock on the ledger
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub(crate) wait: u64,
}

/// The ledger a command reads or writes, and how long to wait for another process's lock.
#[derive(Debug, Args)]
pub(crate) struct LedgerArgs {
    /// The ledger file
    #[arg(long, env = "KPLEDGER_LEDGER")]
    pub(crate) ledger: PathBuf,
    #[command(flatten)]
    pub(crate) open: OpenArgs,
}

/// A listing of what the ledger holds: a table, or JSON.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) ledger: LedgerArgs,
    /// Print as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// Where a command that reads a ledger reads it: the ledger file, or a kpledger server as an
/// enrolled actor (signed requests, RFC 9421).
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// The ledger file
    #[arg(long, env = "KPLEDGER_LEDGER", required_unless_present = "server")]
    pub(crate) ledger: Option<PathBuf>,
    /// Read from this kpledger server instead of the ledger file (e.g. http://127.0.0.1:8080),
    /// with requests signed as the actor --as with --key
    #[arg(long, value_name = "URL", requires_all = ["key", "as_actor"])]
    pub(crate) server: Option<String>,
    /// With --server: the reading actor's private key (PKCS#8 PEM)
    #[arg(long, requires = "server")]
    pub(crate) key: Option<PathBuf>,
    /// With --server: the actor enrolled with --key
    #[arg(long = "as", value_name = "ACTOR", value_parser = value::actor, requires = "server")]
    pub(crate) as_actor: Option<ActorId>,
    #[command(flatten)]
    pub(crate) ca: CaArgs,
    #[command(flatten)]
    pub(crate) open: OpenArgs,
}

/// A kpledger server a signing command works against instead of the ledger file.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// Sign against this kpledger server instead of the ledger file (e.g. http://127.0.0.1:8080):
    /// what the event continues (a parcel's head) is read with requests signed as --as with
    /// --key, and the signed event is submitted to the server (or written to --out); --ledger is
    /// then not read
    #[arg(long, value_name = "URL")]
    pub(crate) server: Option<String>,
    #[command(flatten)]
    pub(crate) ca: CaArgs,
}

/// The authorities trusted for an https:// server's certificate.
#[derive(Debug, Clone, Args)]
pub(crate) struct CaArgs {
    /// With an https:// server: trust only the certificate(s) of this PEM file (the private CA
    /// that issued the server's certificate, or a test server's self-signed certificate)
    /// instead of the built-in public roots
    #[arg(long, value_name = "FILE", env = "KPLEDGER_CA_CERT")]
    pub(crate) ca_cert: Option<PathBuf>,
}

/// What an evidence bundle is judged against: the importing authority's trust policy, or the
/// bare keys of `--trust`.
#[derive(Debug, Args)]
pub(crate) struct TrustArgs {
    /// The importing authority's trust policy (C2SP tlog-policy lines plus
    /// `kpledger-issuer` lines; docs/SPEC.md §14.5), for a bundle; `verify --ledger` with it
    /// also checks that the ledger's root authority key is the log key it pins (LOG-2)
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) removed: RemovedTrustFlags,
}

/// Who signs, with what, when, and whether to record or write a file.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The ledger file (not needed, and not read, when the command signs from a parcel card,
    /// --card)
    #[arg(long, env = "KPLEDGER_LEDGER")]
    pub(crate) ledger: Option<PathBuf>,
    /// The signer's private key (PKCS#8 PEM)
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The signer's actor id (default: the actor enrolled with this key)
    #[arg(long = "as", value_name = "ACTOR", value_parser = value::actor)]
    pub(crate) as_actor: Option<ActorId>,
    /// Time of signing (default: now), e.g. 2026-03-01T09:00:00Z
    #[arg(long, value_parser = value::time)]
    pub(crate) time: Option<Time>,
    /// Write the signed event to this file instead of recording it (offline signing; the
    /// ledger is only read). Record it later with `kpledger ingest`.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Print only the ids of the parcels the event creates, one a line (or the event's hash
    /// when it creates none), for scripts: P=$(kpledger extract … --print-new)
    #[arg(long, conflicts_with_all = ["json", "out"])]
    pub(crate) print_new: bool,
    #[command(flatten)]
    pub(crate) open: OpenArgs,
}

/// Who signs an event, and against what: the ledger file (where it is recorded, unless --out
/// writes it to a file) or a kpledger server (--server) it is submitted to.
#[derive(Debug, Args)]
pub(crate) struct EventArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

/// Signing from a parcel card instead of the ledger (docs/SPEC.md §14.6).
#[derive(Debug, Args)]
pub(crate) struct CardArgs {
    /// Sign offline from this parcel card (written by the ledger's authority with `kpledger
    /// parcel card`) instead of the ledger; needs --out, and --policy or --log-key to check it
    /// (merge: one --card per parcel)
    #[arg(long, value_name = "CARD.json", num_args = 1)]
    pub(crate) card: Vec<PathBuf>,
    /// The trust policy that pins the ledger's root authority key, to check the card's
    /// checkpoint (docs/SPEC.md §14.5)
    #[arg(long, value_name = "TRUST-POLICY", requires = "card", conflicts_with = "log_key")]
    pub(crate) policy: Option<PathBuf>,
    /// Instead of --policy: the ledger's root authority public key file, to check the card's
    /// checkpoint
    #[arg(long, value_name = "KEYFILE", requires = "card")]
    pub(crate) log_key: Option<PathBuf>,
}

impl CardArgs {
    /// Whether the command signs from cards.
    pub(crate) fn given(&self) -> bool {
        !self.card.is_empty()
    }
}

/// `--trust KEYFILE` (the command line of kpledger 0.1.0, kept) and the removed `--witness` and
/// `--quorum` (still read, hidden, only to say what replaces them).
#[derive(Debug, Args)]
pub(crate) struct RemovedTrustFlags {
    /// Instead of --policy: trust these public keys (PEM), without roles. The bundle's log is
    /// trusted when its root authority's genesis key is one of them; a certificate when the
    /// authority that validated it holds one of them and is not the log's root. No witness is
    /// required, so a verdict says it is not witnessed (LOG-4). A trust policy is stronger: it
    /// also binds each log to its origin and each issuer to its country. With --ledger, the
    /// ledger's root authority (genesis) key must be one of them (LOG-2)
    #[arg(long = "trust", value_name = "KEYFILE", num_args = 1, conflicts_with = "policy")]
    pub(crate) trust: Vec<PathBuf>,
    #[arg(long = "witness", hide = true, num_args = 1)]
    pub(crate) witness: Vec<String>,
    #[arg(long = "quorum", hide = true)]
    pub(crate) quorum: Option<String>,
}

impl RemovedTrustFlags {
    /// An error naming what replaces them, when any was given.
    pub(crate) fn refuse(&self) -> anyhow::Result<()> {
        if self.witness.is_empty() && self.quorum.is_none() {
            return Ok(());
        }
        anyhow::bail!(
            "--witness and --quorum were removed: the witnesses and their quorum are part of the importing \
             authority's trust policy. Write it once (the log's key, the witnesses and their quorum, the authority \
             trusted for each issuing country: `kpledger trust --help`, docs/SPEC.md §14.5) and pass it with \
             --policy FILE"
        )
    }
}
