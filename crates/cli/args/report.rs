//! Arguments: report.

use std::path::PathBuf;

use clap::Args;

use kpledger_model::Date;

use super::value::{self};
use super::*;

/// Build a realistic Mano River Union ledger, verify it, and print a summary
///
/// Enrols the four national KP authorities, their mine sites and licensed actors, mines
/// parcels in Sierra Leone, Liberia, Guinea and Cote d'Ivoire, trades them along each
/// country's legal chain, splits and merges them, values and seals the export lots.
/// Writes DIR/ledger.kpl, DIR/keys/ (demo keys: public knowledge, never use them for
/// real), DIR/manifest.json, and the regulator's report DIR/report.html with the KP
/// statistics DIR/stats.txt, stats.json and stats.csv (see `kpledger report`, `stats`).
///
/// Example: kpledger demo mru --parcels 40
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Directory to write into; must be new or empty
    #[arg(default_value = "kpledger-demo")]
    pub(crate) dir: PathBuf,
    /// How many parcels to mine across the four countries (at least 8)
    #[arg(long, default_value_t = 24)]
    pub(crate) parcels: u32,
    /// Print the summary as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Write the ledger into this empty PostgreSQL database (postgres://USER:PASSWORD@HOST/DB;
    /// also read from KPLEDGER_LEDGER when that holds a postgres:// URL) instead of
    /// DIR/ledger.kpl; the keys, bundles, reports and manifest still go to DIR
    #[arg(long, value_name = "URL")]
    pub(crate) ledger: Option<String>,
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
    pub(crate) bundle: Option<PathBuf>,
    /// The ledger file to verify
    #[arg(long)]
    pub(crate) ledger: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) trust: TrustArgs,
    /// Check signatures in batches (about twice as fast). Same verdicts as the default
    /// one-by-one `verify_strict`, except for a signature whose R point carries a
    /// small-order component, which only its key holder can make and which ingest
    /// refuses (SECURITY.md)
    #[arg(long)]
    pub(crate) batch: bool,
    /// Also raise the statistical red flags (ST-1..ST-5, SW-1; `kpledger stats` and
    /// `kpledger report` always show them) as warnings. They keep a summary of the whole
    /// history in memory (about 1.7 GiB for a million events), while the rules alone need
    /// memory only for the open parcels, whatever the ledger's size
    #[arg(long)]
    pub(crate) red_flags: bool,
    /// Print the report as JSON (schemas/report.schema.json)
    #[arg(long)]
    pub(crate) json: bool,
    /// Seconds to wait for another process's lock on the ledger (default 5; with --ledger
    /// only: a bundle file has no lock)
    #[arg(long, value_name = "SECONDS")]
    pub(crate) wait: Option<u64>,
}

/// KP statistics (Annex III) of a period: production, exports, imports, red flags
///
/// Production by country of origin, region and mine site (carats, and value at the
/// miner's first sale); exports and imports by country, HS code, partner and origin, with
/// carats, US$, US$/ct and the number of certificates. Origin (where the stones were
/// mined) and provenance (the last exporting country) are kept apart: a cross-border
/// import counts as an import, never as production, and `EXPORTS by country of origin`
/// shares mixed-origin lots out by their recorded history. The statistical red flags
/// (ST-1..ST-5, SW-1, see `kpledger rules`) dated in the period are listed at the end.
///
/// Annex III asks for production every half-year and trade every quarter: use
/// --period 2026-H1 for production returns and --period 2026-Q3 for trade returns.
/// Without a period: the whole ledger. Exit 0 (red flags are warnings), 2 on bad input.
///
/// Examples:
///   kpledger stats --ledger kpledger-demo/ledger.kpl --period 2026-Q1
///   kpledger stats --ledger sl.kpl --from 2026-01-01 --to 2026-02-15 --csv > sl.csv
///   kpledger stats --ledger sl.kpl --period 2026-H1 --json   (schemas/stats.schema.json)
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct StatsArgs {
    #[command(flatten)]
    pub(crate) ledger: LedgerArgs,
    /// A year (2026), half-year (2026-H1, 2026-H2) or quarter (2026-Q1 .. 2026-Q4)
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub(crate) period: Option<String>,
    /// First day (default: the ledger's first event)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = value::date)]
    pub(crate) from: Option<Date>,
    /// Last day, included (default: the ledger's latest event)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = value::date)]
    pub(crate) to: Option<Date>,
    /// Print JSON (schemas/stats.schema.json)
    #[arg(long, conflicts_with = "csv")]
    pub(crate) json: bool,
    /// Print one CSV table (RFC 4180) with a `section` column
    #[arg(long)]
    pub(crate) csv: bool,
}

/// Write the regulator's HTML report of a ledger or of one evidence bundle
///
/// One self-contained file (no script, font or network): the verdict first, summary
/// figures, findings and red flags grouped by certificate, charts of production against
/// exports and of US$/ct against the benchmark band, each certificate's provenance graph
/// (mine sites → handovers, splits, merges → export lot, carats on every edge), and the
/// checkpoint and witness status. Verifies first: exit 0 verified (warnings allowed),
/// 1 an error was found (the report is still written and says so), 2 could not run.
///
/// Examples:
///   kpledger report --html mru.html --ledger kpledger-demo/ledger.kpl
///   kpledger report --html sl.html --bundle kpledger-demo/bundles/SL-2026-004312.json --policy kpledger-demo/trust-policy.txt
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ReportArgs {
    /// Where to write the HTML file (must not exist)
    #[arg(long, value_name = "OUT")]
    pub(crate) html: PathBuf,
    /// The ledger file
    #[arg(long, conflicts_with = "bundle", required_unless_present = "bundle")]
    pub(crate) ledger: Option<PathBuf>,
    /// An evidence bundle (needs --policy)
    #[arg(long)]
    pub(crate) bundle: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) trust: TrustArgs,
    #[command(flatten)]
    pub(crate) open: OpenArgs,
}

/// Draw the provenance graph of a certificate or a parcel, back to the mine sites
///
/// Nodes are mine sites, handovers, splits, merges, valuation, sealing and the export;
/// every edge carries the parcel's carats. DOT for Graphviz or other tools, or SVG laid
/// out by kpledger itself.
///
/// Examples:
///   kpledger graph SL-2026-004312 --ledger kpledger-demo/ledger.kpl --format svg --out sl-graph.svg
///   kpledger graph 019cb030-95a0-72d7 --ledger kpledger-demo/ledger.kpl --format dot | dot -Tpng > parcel.png   (needs Graphviz)
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct GraphArgs {
    /// A KP certificate number, or a parcel id (or a unique prefix of at least 8 hex digits)
    #[arg(value_name = "PARCEL_OR_CERT")]
    pub(crate) target: String,
    /// The ledger file
    #[arg(long, env = "KPLEDGER_LEDGER", conflicts_with = "bundle", required_unless_present = "bundle")]
    pub(crate) ledger: Option<PathBuf>,
    /// An evidence bundle instead of a ledger
    #[arg(long)]
    pub(crate) bundle: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Svg)]
    pub(crate) format: GraphFormat,
    /// Write to this file (must not exist) instead of standard output
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) open: OpenArgs,
}

/// List the rule codes the verifier applies
#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    /// Print as JSON
    #[arg(long)]
    pub(crate) json: bool,
}
