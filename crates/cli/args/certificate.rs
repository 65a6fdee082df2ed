//! Arguments: KP certificates.

use std::path::PathBuf;

use clap::Subcommand;

use kpledger_model::{ActorId, Country, HsCode, Points, Text};

use super::value::{self, IdArg};
use super::*;

#[derive(Debug, Subcommand)]
pub(crate) enum CertificateCmd {
    /// The exporting authority issues and validates a certificate for sealed export lots
    ///
    /// Lines per HS code, carats, values, seals and the country of origin are taken from the
    /// ledger, so the certificate agrees with the chains it covers.
    ///
    /// Example: kpledger certificate issue --ledger sl.kpl --key nma.pem --number SL-2026-004313
    ///   --exporter sl.exporter.kono-gems --parcel 019d0000-0000-7000-8000-000000000011
    ///   --importer-name "Diamcor Rough Trading NV" --importer-address "Hoveniersstraat 22, Antwerp"
    ///   --importer-country BE --time 2026-03-20T09:00:00Z
    Issue {
        #[command(flatten)]
        sign: SignArgs,
        /// Certificate number, starting with the issuing country's code: A-Z, 0-9, '-', '.', '/'
        #[arg(long, value_parser = value::reference)]
        number: Text,
        /// The exporter's actor id
        #[arg(long, value_parser = value::actor)]
        exporter: ActorId,
        /// The sealed parcels (repeat for several)
        #[arg(long = "parcel", required = true, num_args = 1, value_parser = value::parcel)]
        parcels: Vec<IdArg>,
        /// Importer's name
        #[arg(long, value_parser = value::text)]
        importer_name: Text,
        /// Importer's address
        #[arg(long, value_parser = value::text)]
        importer_address: Text,
        /// Country of destination (ISO 3166-1 alpha-2)
        #[arg(long, value_parser = value::country)]
        importer_country: Country,
        /// The importer's actor id, when it is enrolled in this ledger: the import
        /// confirmation must then give custody to exactly this actor
        #[arg(long, value_parser = value::actor)]
        importer_actor: Option<ActorId>,
        /// Days of validity from the date of issue
        #[arg(long, default_value_t = 60)]
        valid_days: i64,
    },
    /// The exporting authority records the shipment's departure
    Export {
        #[command(flatten)]
        sign: SignArgs,
        /// Certificate number
        #[arg(long, value_parser = value::reference)]
        number: Text,
    },
    /// The importing authority confirms receipt; a licensed importer takes custody
    ///
    /// Carats, parcel count, importer and exporter default to the certificate's; give what
    /// was actually found on receipt.
    Confirm {
        #[command(flatten)]
        sign: SignArgs,
        /// Certificate number
        #[arg(long, value_parser = value::reference)]
        number: Text,
        /// The licensed importer taking custody
        #[arg(long, value_parser = value::actor)]
        holder: ActorId,
        /// Carats weighed on receipt
        #[arg(long, value_parser = value::carats)]
        carats: Option<Points>,
        /// Parcels counted on receipt
        #[arg(long)]
        parcel_count: Option<u32>,
        /// The container's seals were broken on arrival
        #[arg(long)]
        seal_broken: bool,
    },
    /// The importing authority admits a shipment under a certificate issued outside this ledger
    ///
    /// One event admits the certificate's whole shipment: one parcel for each parcel the
    /// certificate counts (`parcel_count`), each with its weight, stones and heading, all held by
    /// the importer. Per heading, the parcels weigh at most the certificate's line and, over the
    /// shipment, no more than the importing country's tolerance less; every heading is on the
    /// certificate and every line is covered (IM-1). A certificate is imported once (KP-2).
    ///
    /// From an evidence bundle (--bundle FILE --policy TRUST): the bundle is verified under your
    /// trust policy exactly as `kpledger verify BUNDLE --policy TRUST` does, and nothing is
    /// recorded unless it verifies (exit 1, with the findings). The import then takes what the
    /// bundle proves: the certificate (number, country, authority, origin, dates, exporter,
    /// importer, lines, parcel count) and each certified parcel with its id, weight, stones and
    /// heading, so that the parcels keep their ids and their provenance in your ledger. The
    /// shipment must have been exported, not already received, and be destined to your country.
    /// --weight and --stones, once per parcel in the certificate's order, record what you found
    /// on receipt instead.
    ///
    /// From a certificate on paper (--foreign FILE, the certificate as JSON:
    /// schemas/event.schema.json, $defs/foreignCertificate): give --weight, --stones and --hs
    /// once per parcel, in the same order (--hs may be left out when the certificate has one
    /// heading).
    ///
    /// Examples (README.md, An importer's ledger; the second with a certificate on paper):
    ///   kpledger certificate import --ledger be-importer/be.kpl --key be-importer/fpsd.pem \
    ///     --holder be.dealer.diamcor --bundle kpledger-demo/bundles/SL-2026-004312.json \
    ///     --policy kpledger-demo/trust-policy.txt
    ///   kpledger certificate import --ledger be-importer/be.kpl --key be-importer/fpsd.pem \
    ///     --holder be.dealer.diamcor --foreign GN-2026-000777.json \
    ///     --weight 40 --stones 120 --hs 7102.21 --weight 60 --stones 80 --hs 7102.31
    #[command(verbatim_doc_comment, group(clap::ArgGroup::new("source").required(true).args(["bundle", "foreign"])))]
    Import {
        #[command(flatten)]
        sign: SignArgs,
        /// An evidence bundle of the certificate (`kpledger bundle`), verified under --policy
        #[arg(long, conflicts_with = "foreign", requires = "policy")]
        bundle: Option<PathBuf>,
        /// Your trust policy, to verify --bundle (`kpledger trust --help`)
        #[arg(long, requires = "bundle")]
        policy: Option<PathBuf>,
        /// The foreign certificate (JSON)
        #[arg(long = "foreign")]
        foreign: Option<PathBuf>,
        /// The licensed importer taking custody
        #[arg(long, value_parser = value::actor)]
        holder: ActorId,
        /// A parcel's weight on receipt in carats, once per parcel
        #[arg(long, value_parser = value::carats)]
        weight: Vec<Points>,
        /// A parcel's stones counted, once per parcel
        #[arg(long)]
        stones: Vec<u32>,
        /// A parcel's HS code, once per parcel (default: the certificate's one heading)
        #[arg(long, conflicts_with = "bundle", value_parser = value::hs_code)]
        hs: Vec<HsCode>,
    },
    /// List certificates
    List(ListArgs),
}
