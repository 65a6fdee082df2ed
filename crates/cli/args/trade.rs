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
