//! Arguments: Looking at parcels.

use std::path::PathBuf;

use clap::Subcommand;

use super::*;

#[derive(Debug, Subcommand)]
pub(crate) enum ParcelCmd {
    /// A parcel's provenance: every event back to the mine sites, in ledger order
    ///
    /// Example: kpledger parcel history 019cb030-95a0-72d7 --ledger kpledger-demo/ledger.kpl
    History {
        /// The parcel id, or a unique prefix of at least 8 hex digits
        parcel: String,
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Print as JSON (the signed events themselves)
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// A parcel's current state: holder, weight, origin, status
    Show {
        /// The parcel id, or a unique prefix of at least 8 hex digits
        parcel: String,
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// The authority writes a parcel's card: what its holder and buyer need to sign offline
    ///
    /// The card (docs/SPEC.md §14.6) holds the parcel's head event, holder, weight and status,
    /// proven in the log under the newest checkpoint (publish one first: `kpledger log
    /// publish`), and the heading, stones and origin as the ledger states them. The holder and
    /// the buyer sign with `--card` instead of the whole ledger (`handover offer`, `handover
    /// accept`, `split`, `merge`, `value`, `seal`); `kpledger ingest` records what they signed.
    ///
    /// Example: kpledger parcel card 019d0000-0000-7000-8000-00000000000a --ledger sl.kpl --out card-a.json
    Card {
        /// The parcel id
        parcel: String,
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Where to write the card
        #[arg(long)]
        out: PathBuf,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Check a parcel card and show what it proves and what it only states
    ///
    /// Exit 0 when the card holds (its head event proven in the log under a checkpoint signed
    /// by the trusted root key, its holder, weight and status those of its signed events), 1
    /// when it does not (the rule it breaks), 2 when it cannot be read.
    ///
    /// Example: kpledger parcel check-card card.json --policy kpledger-demo/trust-policy.txt
    CheckCard {
        /// The card file
        card: PathBuf,
        /// The trust policy that pins the ledger's root authority key (docs/SPEC.md §14.5)
        #[arg(long, value_name = "TRUST-POLICY", conflicts_with = "log_key")]
        policy: Option<PathBuf>,
        /// Instead of --policy: the ledger's root authority public key file
        #[arg(long, value_name = "KEYFILE")]
        log_key: Option<PathBuf>,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// List parcels
    List {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Only parcels held by this actor
        #[arg(long)]
        holder: Option<String>,
        /// Include parcels consumed by splits and merges
        #[arg(long)]
        all: bool,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
}
