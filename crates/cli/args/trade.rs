//! Arguments: The trade's commands: handovers.

use std::path::PathBuf;

use clap::Subcommand;

use kpledger_model::{ActorId, Cents, HsCode, ParcelId, Points, SiteId, Text, Time};

use super::value::{self, IdArg};
use super::*;

#[derive(Debug, Subcommand)]
pub(crate) enum HandoverCmd {
    /// The holder signs an offer of a parcel to a buyer, and writes it to a file
    ///
    /// Example: kpledger handover offer --ledger sl.kpl --key koroma.pem --parcel 019d0000-0000-7000-8000-00000000000a
    ///   --to sl.dealer.kamara --price 3566.26 --out offer.json --time 2026-03-20T09:00:00Z
    ///
    /// Offline, from the parcel's card (`kpledger parcel card`), without the ledger:
    ///   kpledger handover offer --card card.json --policy trust-policy.txt --key koroma.pem
    ///   --to sl.dealer.kamara --price 3566.26 --out offer.json
    ///
    /// From the holder's own machine against the authority's server, without the ledger: the
    /// parcel's head is read from the server and the offer posted there for its buyer:
    ///   kpledger handover offer --server http://127.0.0.1:8080 --key koroma.pem --as sl.miner.koroma
    ///   --parcel 019d0000-0000-7000-8000-00000000000a --to sl.dealer.kamara --price 3566.26
    Offer {
        /// The ledger file (read only: the offer needs the parcel's latest event); not read with
        /// --card or --server
        #[arg(long, env = "KPLEDGER_LEDGER", required_unless_present_any = ["card", "server"])]
        ledger: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        card: CardArgs,
        /// The holder's private key
        #[arg(long)]
        key: PathBuf,
        /// The holder's actor id (default: the actor enrolled with this key)
        #[arg(long = "as", value_name = "ACTOR", value_parser = value::actor)]
        as_actor: Option<ActorId>,
        /// The parcel (with --card: the card's, by default)
        #[arg(long, required_unless_present = "card", value_parser = value::parcel)]
        parcel: Option<IdArg>,
        /// The buyer's actor id
        #[arg(long, value_parser = value::actor)]
        to: ActorId,
        /// The agreed price, US$
        #[arg(long, value_parser = value::usd)]
        price: Cents,
        /// Time of signing (default: now), ISO 8601 in UTC, e.g. 2026-03-01T09:00:00Z
        #[arg(long, value_parser = value::time)]
        time: Option<Time>,
        /// Where to write the signed offer (with --server: instead of posting it to the server)
        #[arg(long, required_unless_present = "server")]
        out: Option<PathBuf>,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// The buyer re-weighs, signs acceptance of an offer, and records it (or writes it with --out)
    ///
    /// Example: kpledger handover accept offer-a.json --ledger sl.kpl --key kamara.pem --weight 12.30
    ///   --time 2026-03-20T09:00:00Z
    Accept {
        /// The signed offer file
        offer: PathBuf,
        #[command(flatten)]
        event: EventArgs,
        #[command(flatten)]
        card: CardArgs,
        /// The weight the buyer measured, in carats (default: the offered weight). At most the
        /// offered weight: no event adds weight, so a scale that reads more records the offer's
        #[arg(long, value_parser = value::carats)]
        weight: Option<Points>,
    },
    /// Both parties at one desk: offer and acceptance in one step
    ///
    /// Example: kpledger handover record --ledger sl.kpl --parcel 019d0000-0000-7000-8000-00000000000a
    ///   --from-key koroma.pem --to-key kamara.pem --price 3566.26 --weight 12.30 --time 2026-03-20T09:00:00Z
    Record {
        #[command(flatten)]
        ledger: LedgerArgs,
        /// The parcel
        #[arg(long, value_parser = value::parcel)]
        parcel: IdArg,
        /// The holder's private key
        #[arg(long)]
        from_key: PathBuf,
        /// The buyer's private key
        #[arg(long)]
        to_key: PathBuf,
        /// The agreed price, US$
        #[arg(long, value_parser = value::usd)]
        price: Cents,
        /// The weight the buyer measured, in carats (default: the offered weight). At most the
        /// offered weight: no event adds weight, so a scale that reads more records the offer's
        #[arg(long, value_parser = value::carats)]
        weight: Option<Points>,
        /// Time of signing (default: now), ISO 8601 in UTC, e.g. 2026-03-01T09:00:00Z
        #[arg(long, value_parser = value::time)]
        time: Option<Time>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

/// A miner registers a new parcel at a licensed mine site
///
/// Example: kpledger extract --ledger sl.kpl --key koroma.pem --site sl.kono.koidu-12
///   --weight 12.34 --stones 9 --hs 7102.31 --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct ExtractArgs {
    #[command(flatten)]
    pub(crate) event: EventArgs,
    /// The mine site
    #[arg(long, value_parser = value::site)]
    pub(crate) site: SiteId,
    /// Weight in carats, at most two decimals (e.g. 12.34)
    #[arg(long, value_parser = value::carats)]
    pub(crate) weight: Points,
    /// Number of stones
    #[arg(long)]
    pub(crate) stones: u32,
    /// HS code: 7102.10 (unsorted), 7102.21 (industrial) or 7102.31 (gem)
    #[arg(long, default_value = "7102.10", value_parser = value::hs_code)]
    pub(crate) hs: HsCode,
    /// Parcel id to use (default: a new UUID v7)
    #[arg(long, value_parser = value::parcel_id)]
    pub(crate) parcel: Option<ParcelId>,
}

/// The holder splits a parcel into several (e.g. sorting by size)
///
/// Example: kpledger split --ledger sl.kpl --key kamara.pem --parcel 019d0000-0000-7000-8000-00000000000b
///   --into 7.20 --into 5.14 --time 2026-03-20T09:00:00Z
///
/// With --server URL and --as, the holder splits from its own machine without the ledger file:
/// the parcel's head is read from the server and the split submitted to it (as `extract`,
/// `merge`, `value`, `seal` and `handover offer/accept` do).
#[derive(Debug, Args)]
pub(crate) struct SplitArgs {
    #[command(flatten)]
    pub(crate) on: ContinueArgs,
    /// Weight of each part in carats (give one --into per part)
    #[arg(long = "into", required = true, num_args = 1, value_parser = value::carats)]
    pub(crate) into: Vec<Points>,
    /// Stones in each part, in the same order (default: shared by weight)
    #[arg(long = "stones", num_args = 1)]
    pub(crate) stones: Vec<u32>,
}

/// The holder merges parcels into one (e.g. assembling an export lot)
///
/// Example: kpledger merge --ledger sl.kpl --key kamara.pem --parcel 019d0000-0000-7000-8000-00000000000b
///   --parcel 019d0000-0000-7000-8000-00000000000c --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    #[command(flatten)]
    pub(crate) event: EventArgs,
    #[command(flatten)]
    pub(crate) card: CardArgs,
    /// The parcels to merge (two or more; with --card, the cards' parcels by default)
    #[arg(long = "parcel", required_unless_present = "card", num_args = 1, value_parser = value::parcel)]
    pub(crate) parcels: Vec<IdArg>,
    /// Weight of the merged parcel in carats (default: the sum of the inputs)
    #[arg(long, value_parser = value::carats)]
    pub(crate) weight: Option<Points>,
}

/// Government valuer records the official valuation of an export lot
///
/// Example: kpledger value --ledger sl.kpl --key pmt.pem --parcel 019d0000-0000-7000-8000-00000000000f
///   --exporter 41000 --government 42640 --independent 41820 --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct ValueArgs {
    #[command(flatten)]
    pub(crate) on: ContinueArgs,
    /// The exporter's declared value, US$
    #[arg(long, value_parser = value::usd)]
    pub(crate) exporter: Cents,
    /// The government valuer's value, US$
    #[arg(long, value_parser = value::usd)]
    pub(crate) government: Cents,
    /// The independent valuer's value, US$
    #[arg(long, value_parser = value::usd)]
    pub(crate) independent: Option<Cents>,
    /// Final value, US$ (default: by the country's valuation rule)
    #[arg(long = "final", value_parser = value::usd)]
    pub(crate) final_value: Option<Cents>,
    /// Export duty, US$ (default: the country's rate applied to the final value; with
    /// --card, where the ledger's policy is not at hand, give it, with --final: ingest checks
    /// both against the policy in force, EX-2)
    #[arg(long, value_parser = value::usd)]
    pub(crate) duty: Option<Cents>,
    /// Weight found at valuation in carats (default: the parcel's weight)
    #[arg(long, value_parser = value::carats)]
    pub(crate) weight: Option<Points>,
}

/// The authority seals an export lot in a tamper-resistant container
///
/// Example: kpledger seal --ledger sl.kpl --key nma.pem --parcel 019d0000-0000-7000-8000-000000000010
///   --seal SL-SEAL-2026-0102 --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    #[command(flatten)]
    pub(crate) on: ContinueArgs,
    /// Container seal number, of A-Z, 0-9, '-', '.', '/' (repeat for several)
    #[arg(long = "seal", required = true, num_args = 1, value_parser = value::reference)]
    pub(crate) seals: Vec<Text>,
}

/// Who signs an event that continues one parcel, and where the parcel's head comes from: the
/// ledger file, a server (--server) or the parcel's card (--card).
#[derive(Debug, Args)]
pub(crate) struct ContinueArgs {
    #[command(flatten)]
    pub(crate) event: EventArgs,
    #[command(flatten)]
    pub(crate) card: CardArgs,
    /// The parcel: its id or a unique prefix of at least 8 hex digits (the whole id with --server)
    #[arg(long, value_parser = value::parcel)]
    pub(crate) parcel: IdArg,
}
