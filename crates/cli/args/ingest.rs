//! Arguments: ingest.

use std::path::PathBuf;

use clap::Args;

use super::*;

/// Append signed event files (made offline with --out) to the ledger
///
/// Each FILE holds one signed event (JSON) or one per line (.jsonl). All files are
/// appended in one transaction: all of them, or none.
///
/// Example: kpledger ingest --ledger sl.kpl handover.json
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    #[command(flatten)]
    pub(crate) ledger: LedgerArgs,
    /// Signed event files
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Check the events against the ledger without appending them
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// Migrate a ledger written by an older kpledger (0.1.0) into a new file
///
/// Re-records the old ledger's signed events, in order, into a new ledger written by this
/// build: every event is judged again by this build's rules, every derived row and the
/// log's tree are written anew, and the stored checkpoints, with their cosignatures, are
/// carried over as they are (they sign the tree's size and root, which the events decide).
/// The new ledger is then verified whole. The old file is only read, never changed.
///
/// Exit 0 when the new ledger verifies; 1 when this build's rules refuse an event of the old
/// ledger (nothing after it is migrated) or the new ledger does not verify (it is kept, to
/// be looked at); 2 when it could not run (the old file is not a ledger of an older version,
/// its schema was edited, or the new file exists).
///
/// Example: kpledger migrate --from sl-0.1.0.kpl --to sl-migrated.kpl
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct MigrateArgs {
    /// The ledger written by the older kpledger (only read)
    #[arg(long, value_name = "OLD")]
    pub(crate) from: PathBuf,
    /// The new ledger to write (must not exist)
    #[arg(long, value_name = "NEW")]
    pub(crate) to: PathBuf,
    /// Print the outcome as JSON: from, to, from_version, events, checkpoints, report
    #[arg(long)]
    pub(crate) json: bool,
}
