//! Arguments: The authorities' commands: keys, policies, actors, mine sites.

use std::path::PathBuf;

use clap::Subcommand;

use kpledger_model::{ActorId, Country, Date, Role, SiteId, Text};

use super::value::{self};
use super::*;

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCmd {
    /// Make a new key pair: OUT (private, mode 0600) and OUT.pub (public)
    ///
    /// Keys made by `openssl genpkey -algorithm ed25519 -out k.pem` work as well.
    ///
    /// Example: kpledger key new sesay.pem
    New {
        /// Where to write the private key
        out: PathBuf,
    },
    /// Show a key's public half and fingerprint (private or public key file)
    Show {
        /// The key file
        file: PathBuf,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCmd {
    /// Write a documented starting policy for any KP Participant (then edit it, and sign it in
    /// with `kpledger policy set`)
    ///
    /// The policy (kpledger/policy/v1, schemas/policy.schema.json) holds the rules' national
    /// values. The starting values, each an assumption to confirm with the country's
    /// authority (all of them listed in the policy's `unconfirmed`, docs/RULES.md):
    ///
    ///   tolerance_pt 1                 MB-1..3, IM-1, TR-1: weighing tolerance, 0.01 ct, once per event
    ///   mining_licence_classes         LC-1: artisanal, small-scale, large-scale
    ///   allowed_transfers              LC-2: miner -> dealer, dealer -> exporter, exporter -> dealer
    ///   exporter_licence_classes       EX-3: exporter
    ///   valuation_rule government      EX-2: the government valuer's value is final
    ///   export_duty_bp 0               EX-2: no export duty
    ///   participants                   KP-6: the KP Participants kpledger lists (policies/*.json)
    ///   suspensions                    KP-6: Cote d'Ivoire 2005-01-01 to 2014-04-29 (UN embargo)
    ///   import_confirmation_days 30    IM-2: receipt confirmed within 30 days
    ///   red_flags                      ST-1..ST-5: value band 33-300%, jump 100% over 100 ct,
    ///                                  look back 365 days, trading hubs AE and BE
    ///
    /// Without --out the policy is written to standard output.
    ///
    /// Example: kpledger policy new --country BE --out BE.json
    #[command(verbatim_doc_comment)]
    New {
        /// The country (ISO 3166-1 alpha-2; lower case is read as upper case), a KP Participant
        #[arg(long, value_parser = value::country)]
        country: Country,
        /// Write the policy to this file (never overwritten)
        #[arg(long)]
        out: Option<PathBuf>,
        /// The policy's version (default: today's date, UTC)
        #[arg(long = "policy-version", value_name = "VERSION")]
        policy_version: Option<String>,
    },
    /// Sign a country policy file (see policies/) into the ledger
    ///
    /// Example: kpledger policy set --ledger sl.kpl --key nma.pem SL-2.json --time 2026-03-20T09:00:00Z
    Set {
        #[command(flatten)]
        event: EventArgs,
        /// The policy file
        file: PathBuf,
    },
    /// Print the repository's policy of a Mano River Union country (policies/CC.json, built
    /// into the binary) to start from
    ///
    /// Example: kpledger policy show SL > SL.json
    Show {
        /// The country: SL, LR, GN or CI
        country: String,
    },
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum ActorCmd {
    /// An authority enrols a licensed actor and its public key
    ///
    /// Example: kpledger actor enrol --ledger sl.kpl --key nma.pem --id sl.dealer.bangura
    ///   --name "Bangura Diamonds" --role dealer --country SL --pubkey bangura.pem.pub
    ///   --licence NMA/DL/2026/044 --class dealer --valid-from 2026-01-01 --valid-to 2026-12-31
    ///   --time 2026-03-20T09:00:00Z
    Enrol {
        #[command(flatten)]
        event: EventArgs,
        /// The new actor's id (a-z, 0-9, '.', '_', '-'), e.g. sl.dealer.kamara
        #[arg(long, value_parser = value::actor)]
        id: ActorId,
        /// Legal or trading name
        #[arg(long, value_parser = value::text)]
        name: Text,
        /// miner, collector, broker, dealer, exporter, valuer or authority
        #[arg(long)]
        role: Role,
        /// Country of licensing (ISO 3166-1 alpha-2)
        #[arg(long, value_parser = value::country)]
        country: Country,
        /// The actor's public key file (PEM)
        #[arg(long)]
        pubkey: PathBuf,
        /// Licence number
        #[arg(long, requires_all = ["class", "valid_from", "valid_to"], value_parser = value::text)]
        licence: Option<Text>,
        /// Licence class (see the country policy), e.g. artisanal, dealer, exporter
        #[arg(long, value_parser = value::text)]
        class: Option<Text>,
        /// Licence valid from (YYYY-MM-DD)
        #[arg(long, value_parser = value::date)]
        valid_from: Option<Date>,
        /// Licence valid to, inclusive (YYYY-MM-DD)
        #[arg(long, value_parser = value::date)]
        valid_to: Option<Date>,
        /// Mine site covered by the licence (repeat for several; miners only)
        #[arg(long = "site", num_args = 1, value_parser = value::site)]
        sites: Vec<SiteId>,
        /// Registered address; an exporter's certificates must print exactly this address
        /// (without one, the address on its certificates is reported as unchecked)
        #[arg(long, value_parser = value::text)]
        address: Option<Text>,
    },
    /// Replaces an actor's key from now on: signed with the actor's own current key, an
    /// ordinary rotation; signed by an authority (a lost or compromised key), an imposed key,
    /// which is a GV-4 red flag on every event signed under it
    ///
    /// Example: kpledger actor rotate --ledger sl.kpl --key kamara.pem --actor sl.dealer.kamara
    ///   --pubkey kamara-2027.pem.pub --time 2026-03-20T09:00:00Z
    Rotate {
        #[command(flatten)]
        event: EventArgs,
        /// The actor
        #[arg(long, value_parser = value::actor)]
        actor: ActorId,
        /// The new public key file
        #[arg(long)]
        pubkey: PathBuf,
    },
    /// An authority revokes an actor from now on
    Revoke {
        #[command(flatten)]
        event: EventArgs,
        /// The actor
        #[arg(long, value_parser = value::actor)]
        actor: ActorId,
        /// Why
        #[arg(long, value_parser = value::text)]
        reason: Text,
    },
    /// List enrolled actors
    List(ListArgs),
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum SiteCmd {
    /// An authority registers a licensed mine site
    ///
    /// Example: kpledger site add --ledger sl.kpl --key nma.pem --id sl.kono.koidu-13
    ///   --name "Koidu claim 13" --country SL --region Kono --location 8.6450,-10.9720 --area-m2 6000
    ///   --time 2026-03-20T09:00:00Z
    Add {
        #[command(flatten)]
        event: EventArgs,
        /// Site id, e.g. sl.kono.koidu-12
        #[arg(long, value_parser = value::site)]
        id: SiteId,
        /// Name
        #[arg(long, value_parser = value::text)]
        name: Text,
        /// Country (ISO 3166-1 alpha-2)
        #[arg(long, value_parser = value::country)]
        country: Country,
        /// Region, district or chiefdom
        #[arg(long, value_parser = value::text)]
        region: Text,
        /// Coordinates or description
        #[arg(long, value_parser = value::text)]
        location: Text,
        /// Licensed area in square metres
        #[arg(long)]
        area_m2: u64,
    },
    /// List mine sites
    List(ListArgs),
}
