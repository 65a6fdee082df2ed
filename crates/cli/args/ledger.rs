//! Arguments: the ledger's store as a whole.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum LedgerCmd {
    /// Copy a ledger into an empty store: its signed events, checkpoints and cosignatures
    ///
    /// Every event of FROM is judged again by the rules and recorded, in order, into TO, which
    /// writes its derived rows and Merkle tree as for any append; the checkpoints, with their
    /// cosignatures, are carried over as they are (they sign the tree's size and root, which
    /// the events decide). TO is then verified whole: it gives the same checkpoints, proofs and
    /// evidence bundles as FROM. FROM is only read. TO must be a new file or an empty ledger.
    /// Either may be a PostgreSQL database: postgres://USER:PASSWORD@HOST:PORT/DB (an empty
    /// database for TO; kpledger creates its tables there; docs/DEPLOY.md).
    ///
    /// Exit 0 when TO verifies; 1 when the rules refuse an event of FROM or TO does not verify:
    /// a new file or a database is then left as it was (a new file is written under a
    /// temporary name beside it and takes its name only once the copy verifies); 2 when it
    /// could not run (FROM is not a ledger, TO is not empty).
    ///
    /// Example: kpledger ledger copy --from sl.kpl --to sl-copy.kpl
    #[command(verbatim_doc_comment)]
    Copy {
        /// The ledger to copy (only read): a file, or postgres://…
        #[arg(long, value_name = "FROM")]
        from: String,
        /// The store to copy into: a new file, an empty ledger, or an empty database (postgres://…)
        #[arg(long, value_name = "TO")]
        to: String,
        /// Print the outcome as JSON: from, to, events, checkpoints, report
        #[arg(long)]
        json: bool,
    },
}
