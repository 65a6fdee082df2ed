//! Arguments: The trade's commands: handovers.

use std::path::PathBuf;

use clap::Subcommand;

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
    Offer {
        /// The ledger file (read only: the offer needs the parcel's latest event); not read with
        /// --card
        #[arg(long, env = "KPLEDGER_LEDGER", required_unless_present = "card")]
        ledger: Option<PathBuf>,
        #[command(flatten)]
        card: CardArgs,
        /// The holder's private key
        #[arg(long)]
        key: PathBuf,
        /// The holder's actor id (default: the actor enrolled with this key)
        #[arg(long = "as", value_name = "ACTOR")]
        as_actor: Option<String>,
        /// The parcel (with --card: the card's, by default)
        #[arg(long, required_unless_present = "card")]
        parcel: Option<String>,
        /// The buyer's actor id
        #[arg(long)]
        to: String,
        /// The agreed price, US$
        #[arg(long)]
        price: String,
        /// Time of signing (default: now), ISO 8601 in UTC, e.g. 2026-03-01T09:00:00Z
        #[arg(long)]
        time: Option<String>,
        /// Where to write the signed offer
        #[arg(long)]
        out: PathBuf,
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
        sign: SignArgs,
        #[command(flatten)]
        card: CardArgs,
        /// The weight the buyer measured, in carats (default: the offered weight). At most the
        /// offered weight: no event adds weight, so a scale that reads more records the offer's
        #[arg(long)]
        weight: Option<String>,
    },
    /// Both parties at one desk: offer and acceptance in one step
    ///
    /// Example: kpledger handover record --ledger sl.kpl --parcel 019d0000-0000-7000-8000-00000000000a
    ///   --from-key koroma.pem --to-key kamara.pem --price 3566.26 --weight 12.30 --time 2026-03-20T09:00:00Z
    Record {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// The parcel
        #[arg(long)]
        parcel: String,
        /// The holder's private key
        #[arg(long)]
        from_key: PathBuf,
        /// The buyer's private key
        #[arg(long)]
        to_key: PathBuf,
        /// The agreed price, US$
        #[arg(long)]
        price: String,
        /// The weight the buyer measured, in carats (default: the offered weight). At most the
        /// offered weight: no event adds weight, so a scale that reads more records the offer's
        #[arg(long)]
        weight: Option<String>,
        /// Time of signing (default: now), ISO 8601 in UTC, e.g. 2026-03-01T09:00:00Z
        #[arg(long)]
        time: Option<String>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
}

/// A miner registers a new parcel at a licensed mine site
///
/// Example: kpledger extract --ledger sl.kpl --key koroma.pem --site sl.kono.koidu-12
///   --weight 12.34 --stones 9 --hs 7102.31 --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct ExtractArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    /// The mine site
    #[arg(long)]
    pub(crate) site: String,
    /// Weight in carats, at most two decimals (e.g. 12.34)
    #[arg(long)]
    pub(crate) weight: String,
    /// Number of stones
    #[arg(long)]
    pub(crate) stones: u32,
    /// HS code: 7102.10 (unsorted), 7102.21 (industrial) or 7102.31 (gem)
    #[arg(long, default_value = "7102.10")]
    pub(crate) hs: String,
    /// Parcel id to use (default: a new UUID v7)
    #[arg(long)]
    pub(crate) parcel: Option<String>,
}

/// The holder splits a parcel into several (e.g. sorting by size)
///
/// Example: kpledger split --ledger sl.kpl --key kamara.pem --parcel 019d0000-0000-7000-8000-00000000000b
///   --into 7.20 --into 5.14 --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct SplitArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    #[command(flatten)]
    pub(crate) card: CardArgs,
    /// The parcel to split
    #[arg(long)]
    pub(crate) parcel: String,
    /// Weight of each part in carats (give one --into per part)
    #[arg(long = "into", required = true, num_args = 1)]
    pub(crate) into: Vec<String>,
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
    pub(crate) sign: SignArgs,
    #[command(flatten)]
    pub(crate) card: CardArgs,
    /// The parcels to merge (two or more; with --card, the cards' parcels by default)
    #[arg(long = "parcel", required_unless_present = "card", num_args = 1)]
    pub(crate) parcels: Vec<String>,
    /// Weight of the merged parcel in carats (default: the sum of the inputs)
    #[arg(long)]
    pub(crate) weight: Option<String>,
}

/// Government valuer records the official valuation of an export lot
///
/// Example: kpledger value --ledger sl.kpl --key pmt.pem --parcel 019d0000-0000-7000-8000-00000000000f
///   --exporter 41000 --government 42640 --independent 41820 --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct ValueArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    #[command(flatten)]
    pub(crate) card: CardArgs,
    /// The parcel
    #[arg(long)]
    pub(crate) parcel: String,
    /// The exporter's declared value, US$
    #[arg(long)]
    pub(crate) exporter: String,
    /// The government valuer's value, US$
    #[arg(long)]
    pub(crate) government: String,
    /// The independent valuer's value, US$
    #[arg(long)]
    pub(crate) independent: Option<String>,
    /// Final value, US$ (default: by the country's valuation rule)
    #[arg(long = "final")]
    pub(crate) final_value: Option<String>,
    /// Export duty, US$ (default: the country's rate applied to the final value; with
    /// --card, where the ledger's policy is not at hand, give it, with --final: ingest checks
    /// both against the policy in force, EX-2)
    #[arg(long)]
    pub(crate) duty: Option<String>,
    /// Weight found at valuation in carats (default: the parcel's weight)
    #[arg(long)]
    pub(crate) weight: Option<String>,
}

/// The authority seals an export lot in a tamper-resistant container
///
/// Example: kpledger seal --ledger sl.kpl --key nma.pem --parcel 019d0000-0000-7000-8000-000000000010
///   --seal SL-SEAL-2026-0102 --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    #[command(flatten)]
    pub(crate) card: CardArgs,
    /// The parcel
    #[arg(long)]
    pub(crate) parcel: String,
    /// Container seal number, of A-Z, 0-9, '-', '.', '/' (repeat for several)
    #[arg(long = "seal", required = true, num_args = 1)]
    pub(crate) seals: Vec<String>,
}
