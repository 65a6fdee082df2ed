//! Arguments: GS1 EPCIS 2.0 interchange.

use std::path::PathBuf;

use clap::Subcommand;

use kpledger_model::Text;

use super::value::{self, IdArg};
use super::*;

#[derive(Debug, Subcommand)]
pub(crate) enum EpcisCmd {
    /// Export the ledger, one parcel's provenance, or one certificate's, as an EPCIS 2.0
    /// JSON-LD document with CBV 2.0 event hash IDs (docs/EPCIS.md has the mapping)
    ///
    /// Example: kpledger epcis export --ledger sl.kpl --certificate SL-2026-004312 --out sl.epcis.json
    Export {
        #[command(flatten)]
        ledger: LedgerArgs,
        /// Only this parcel's provenance
        #[arg(long, conflicts_with = "certificate", value_parser = value::parcel)]
        parcel: Option<IdArg>,
        /// Only this certificate's parcels' provenance
        #[arg(long, value_parser = value::reference)]
        certificate: Option<Text>,
        /// Write to this file instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Cross-check an EPCIS 2.0 document against the ledger by event hash ID
    ///
    /// Exit 0 when every event matches a ledger event, 1 when some are missing or differ.
    Check {
        /// The EPCIS document (JSON-LD)
        file: PathBuf,
        #[command(flatten)]
        ledger: LedgerArgs,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
}
