//! Arguments: Looking at parcels.

use std::path::PathBuf;

use clap::Subcommand;

use kpledger_model::ActorId;

use super::value::{self, IdArg};
use super::*;

/// One parcel, read from the ledger file or a server.
#[derive(Debug, Args)]
pub(crate) struct ParcelArgs {
    /// The parcel id, or a unique prefix of at least 8 hex digits (the whole id with --server)
    #[arg(value_parser = value::parcel)]
    pub(crate) parcel: IdArg,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// Print as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ParcelCmd {
    /// A parcel's provenance: every event back to the mine sites, in ledger order
    ///
    /// With --json: the signed events themselves.
    ///
    /// Example: kpledger parcel history 019cb030-95a0-72d7 --ledger kpledger-demo/ledger.kpl
    History(ParcelArgs),
    /// A parcel's current state: holder, weight, origin, status
    ///
    /// Example: kpledger parcel show 019d0000-0000-7000-8000-00000000000a --ledger sl.kpl
    Show(ParcelArgs),
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
        #[arg(value_parser = value::parcel)]
        parcel: IdArg,
        #[command(flatten)]
        ledger: LedgerArgs,
        /// Where to write the card
        #[arg(long)]
        out: PathBuf,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
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
        #[command(flatten)]
        ledger: LedgerArgs,
        /// Only parcels held by this actor
        #[arg(long, value_parser = value::actor)]
        holder: Option<ActorId>,
        /// Include parcels consumed by splits and merges
        #[arg(long)]
        all: bool,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
}
