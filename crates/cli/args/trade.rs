//! Arguments: The trade's commands: handovers.

use std::path::PathBuf;

use clap::Subcommand;

use kpledger_model::{ActorId, Cents, Points, Time};

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
