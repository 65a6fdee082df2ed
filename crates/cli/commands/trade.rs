//! The trade's events: extraction, handovers, splits, merges, valuation and sealing, signed
//! against the ledger file, a server (`--server`) or a parcel card (`--card`).

use std::path::Path;

use super::common::*;
use super::sign::*;
use crate::args::*;
use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use kpledger_model::canonical::from_slice_strict;
use kpledger_model::{ActorId, Event, EventBody, Offer, OfferBody, OfferKind, Payload, SecretKey};
use kpledger_model::{Cents, HsCode, NewParcel, ParcelId, ParcelRef, Points, SiteId, Text, Time, canonical};

use crate::OK;
use crate::args::HandoverCmd;
use crate::args::value::IdArg;
use crate::commands::card;
use kpledger_model::FORMAT_VERSION;

/// The holder's offer of `parcel` to `to`, signed: the parcel's head read from the ledger file
/// or the server.
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_offer(
    src: &Source<'_>,
    key: &SecretKey,
    holder: ActorId,
    parcel: &IdArg,
    to: &ActorId,
    price: Cents,
    time: Option<&Time>,
) -> Result<Offer> {
    let (id, p) = src.parcel(parcel)?;
    let body = OfferBody {
        v: FORMAT_VERSION,
        ledger: src.origin()?,
        kind: OfferKind::HandoverOffer,
        time: now_or(time),
        signer: holder,
        parcel: id,
        prev: p.head,
        to: src.enrolled("--to", to)?,
        weight_pt: p.weight_pt,
        price_usd_cents: price,
    };
    Ok(Offer::sign(body, key)?)
}

/// `kpledger handover offer`: from the ledger file, a card, or a server.
fn offer_cmd(h: HandoverCmd) -> Result<u8> {
    let HandoverCmd::Offer { ledger, server, card, key, as_actor, parcel, to, price, time, out, open: o } = h
    else {
        bail!("not an offer");
    };
    if card.given() {
        let Some(out) = out else {
            bail!("with --card, give --out FILE: the offer is written for its buyer")
        };
        return card::offer_from_card(
            &card,
            &key,
            as_actor.as_ref(),
            parcel.as_ref(),
            &to,
            price,
            time.as_ref(),
            &out,
        );
    }
    let Some(parcel) = parcel else { bail!("give --parcel ID, or --card CARD.json") };
    let key = SecretKey::read_pem_file(&key)?;
    let (offer, remote) = match (&server.server, ledger) {
        (Some(url), _) => {
            let s = server_of(url, &server.ca, &key, as_actor.as_ref())?;
            let offer =
                make_offer(&Source::Server(&s), &key, s.actor().clone(), &parcel, &to, price, time.as_ref())?;
            (offer, Some(s))
        }
        (None, Some(ledger)) => {
            let l = open(&ledger, true, &o)?;
            let holder = resolve_signer(&l, &key, as_actor.as_ref())?;
            (make_offer(&Source::Ledger(&l), &key, holder, &parcel, &to, price, time.as_ref())?, None)
        }
        (None, None) => bail!("give --ledger FILE (or --server URL) and --parcel ID, or --card CARD.json"),
    };
    let what = format!(
        "offer of parcel {} ({}) to {} for {}",
        offer.body.parcel, offer.body.weight_pt, offer.body.to, offer.body.price_usd_cents
    );
    let bytes = canonical::to_canonical(&offer)?;
    match (out, remote) {
        (Some(out), remote) => {
            write_new(&out, &[bytes.as_slice(), b"\n"].concat())?;
            println!("{what} signed → {}", out.display());
            match remote {
                Some(s) => println!(
                    "post it for its buyer with: kpledger submit --server {} {}",
                    s.url(),
                    out.display()
                ),
                None => println!(
                    "the buyer re-weighs and accepts with: kpledger handover accept {} --ledger … --key BUYER.pem --weight CT",
                    out.display()
                ),
            }
        }
        (None, Some(s)) => {
            let v = s.post_offer(&bytes)?;
            println!(
                "{what} signed and posted to {} for its buyer until {}",
                s.url(),
                Time::from_unix(v["expires"].as_i64().unwrap_or(0))
            );
            println!(
                "the buyer finds it with: kpledger get --server {} --key BUYER.pem --as {} /v1/offers",
                s.url(),
                offer.body.to
            );
        }
        (None, None) => bail!("give --out FILE: the signed offer is written for its buyer"),
    }
    Ok(OK)
}

/// `kpledger handover accept OFFER`: the buyer re-weighs and signs.
fn accept_cmd(offer: &Path, event: &EventArgs, card: &CardArgs, weight: Option<Points>) -> Result<u8> {
    let bytes = read_input(offer)?;
    let offer: Offer = from_slice_strict(&bytes)
        .with_context(|| format!("{} is not a valid handover offer", offer.display()))?;
    if !offer.signature_valid() {
        bail!("the holder's signature on the offer does not verify: the offer was altered or damaged");
    }
    if card.given() {
        return card::accept_from_card(offer, &event.sign, card, weight);
    }
    sign_event(event, |src, _| {
        if let Source::Server(s) = src {
            // The buyer may not read the parcel before it holds it: the offer names the ledger,
            // and the server's rules judge the handover against the parcel's head (CH-1, CH-2).
            s.know_origin(&offer.body.ledger);
        }
        let weight_pt = weight.unwrap_or(offer.body.weight_pt);
        Ok(Payload::Handover { offer, weight_pt })
    })
}

pub(crate) fn handover_cmd(h: HandoverCmd) -> Result<u8> {
    match h {
        h @ HandoverCmd::Offer { .. } => offer_cmd(h),
        HandoverCmd::Accept { offer, event, card, weight } => accept_cmd(&offer, &event, &card, weight),
        HandoverCmd::Record { ledger, parcel, from_key, to_key, price, weight, time, json } => {
            let from = SecretKey::read_pem_file(&from_key)?;
            let to = SecretKey::read_pem_file(&to_key)?;
            let mut l = ledger.open(false)?;
            let [holder, buyer]: [ActorId; 2] = signers(&l, &[(&from, None), (&to, None)])?
                .try_into()
                .map_err(|_| anyhow!("two signers expected"))?;
            let offer =
                make_offer(&Source::Ledger(&l), &from, holder, &parcel, &buyer, price, time.as_ref())?;
            let weight_pt = weight.unwrap_or(offer.body.weight_pt);
            let origin = l.origin()?.ok_or_else(|| anyhow!("the ledger has no genesis"))?;
            let time = offer.body.time.clone();
            let body = EventBody::new(origin, time, buyer, Payload::Handover { offer, weight_pt });
            let parsed = Event::sign(body, &to)?.into_parsed()?;
            record_or_write(&mut l, parsed, None, if json { Print::Json } else { Print::Text })
        }
    }
}

/// A miner registers a new parcel at a licensed mine site
///
/// Example: kpledger extract --ledger sl.kpl --key koroma.pem --site sl.kono.koidu-12
///   --weight 12.34 --stones 9 --hs 7102.31 --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct ExtractArgs {
    #[command(flatten)]
    event: EventArgs,
    /// The mine site
    #[arg(long, value_parser = value::site)]
    site: SiteId,
    /// Weight in carats, at most two decimals (e.g. 12.34)
    #[arg(long, value_parser = value::carats)]
    weight: Points,
    /// Number of stones
    #[arg(long)]
    stones: u32,
    /// HS code: 7102.10 (unsorted), 7102.21 (industrial) or 7102.31 (gem)
    #[arg(long, default_value = "7102.10", value_parser = value::hs_code)]
    hs: HsCode,
    /// Parcel id to use (default: a new UUID v7)
    #[arg(long, value_parser = value::parcel_id)]
    parcel: Option<ParcelId>,
}

pub(crate) fn extract(a: ExtractArgs) -> Result<u8> {
    let ExtractArgs { event, site, weight, stones, hs, parcel } = a;
    let parcel = match parcel {
        Some(p) => p,
        None => new_parcel_id()?,
    };
    let payload = Payload::Extraction { parcel, site, weight_pt: weight, stones, hs_code: hs };
    sign_event(&event, |_, _| Ok(payload))
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
    on: ContinueArgs,
    /// Weight of each part in carats (give one --into per part)
    #[arg(long = "into", required = true, num_args = 1, value_parser = value::carats)]
    into: Vec<Points>,
    /// Stones in each part, in the same order (default: shared by weight)
    #[arg(long = "stones", num_args = 1)]
    stones: Vec<u32>,
}

pub(crate) fn split(a: SplitArgs) -> Result<u8> {
    let SplitArgs { on, into, stones } = a;
    sign_on_parcel(on, true, |id, p, _| {
        let weights = &into;
        if !stones.is_empty() && stones.len() != weights.len() {
            bail!("give one --stones per --into, or none");
        }
        let shares = if stones.is_empty() {
            kpledger_core::sim::share_stones(p.stones, weights)
        } else {
            stones.iter().map(|s| Some(*s)).collect()
        };
        let outputs = weights
            .iter()
            .zip(shares)
            .map(|(w, s)| Ok(NewParcel { parcel: new_parcel_id()?, weight_pt: *w, stones: s }))
            .collect::<Result<_>>()?;
        Ok(Payload::Split { parcel: id, prev: p.head, outputs })
    })
}

/// Government valuer records the official valuation of an export lot
///
/// Example: kpledger value --ledger sl.kpl --key pmt.pem --parcel 019d0000-0000-7000-8000-00000000000f
///   --exporter 41000 --government 42640 --independent 41820 --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct ValueArgs {
    #[command(flatten)]
    on: ContinueArgs,
    /// The exporter's declared value, US$
    #[arg(long, value_parser = value::usd)]
    exporter: Cents,
    /// The government valuer's value, US$
    #[arg(long, value_parser = value::usd)]
    government: Cents,
    /// The independent valuer's value, US$
    #[arg(long, value_parser = value::usd)]
    independent: Option<Cents>,
    /// Final value, US$ (default: by the country's valuation rule)
    #[arg(long = "final", value_parser = value::usd)]
    final_value: Option<Cents>,
    /// Export duty, US$ (default: the country's rate applied to the final value; with
    /// --card, where the ledger's policy is not at hand, give it, with --final: ingest checks
    /// both against the policy in force, EX-2)
    #[arg(long, value_parser = value::usd)]
    duty: Option<Cents>,
    /// Weight found at valuation in carats (default: the parcel's weight)
    #[arg(long, value_parser = value::carats)]
    weight: Option<Points>,
}

pub(crate) fn value(a: ValueArgs) -> Result<u8> {
    let ValueArgs { on, exporter, government, independent, final_value, duty, weight } = a;
    let (final_given, duty_given) = (final_value, duty);
    // With a card, the valuer signs: its actor id is given with --as.
    sign_on_parcel(on, false, |id, p, src| {
        let policy = match src {
            Some((src, signer)) => src.policy_of(signer)?,
            None => None,
        };
        let policy = policy.as_ref();
        let final_usd_cents = match (final_given, policy) {
            (Some(f), _) => f,
            (None, Some(pol)) => pol.final_value(exporter, government, independent),
            (None, None) => bail!(
                "without the ledger, the country's valuation rule is not at hand: give --final and --duty \
                 (ingest checks them against the policy in force, EX-2)"
            ),
        };
        let duty_usd_cents = match (duty_given, policy) {
            (Some(d), _) => d,
            (None, Some(pol)) => pol.duty(final_usd_cents),
            (None, None) => bail!(
                "without the ledger, the country's duty rate is not at hand: give --duty (ingest checks it \
                 against the policy in force, EX-2)"
            ),
        };
        let weight_pt = weight.unwrap_or(p.weight_pt);
        Ok(Payload::Valuation {
            parcel: id,
            prev: p.head,
            weight_pt,
            exporter_usd_cents: exporter,
            government_usd_cents: government,
            independent_usd_cents: independent,
            final_usd_cents,
            duty_usd_cents,
        })
    })
}

/// The authority seals an export lot in a tamper-resistant container
///
/// Example: kpledger seal --ledger sl.kpl --key nma.pem --parcel 019d0000-0000-7000-8000-000000000010
///   --seal SL-SEAL-2026-0102 --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    #[command(flatten)]
    on: ContinueArgs,
    /// Container seal number, of A-Z, 0-9, '-', '.', '/' (repeat for several)
    #[arg(long = "seal", required = true, num_args = 1, value_parser = value::reference)]
    seals: Vec<Text>,
}

pub(crate) fn seal(a: SealArgs) -> Result<u8> {
    let SealArgs { on, seals } = a;
    // With a card, the authority seals: its actor id is given with --as.
    sign_on_parcel(on, false, |id, p, _| {
        Ok(Payload::Seal { parcel: id, prev: p.head, weight_pt: p.weight_pt, seal_ids: seals })
    })
}

/// Who signs an event that continues one parcel, and where the parcel's head comes from: the
/// ledger file, a server (--server) or the parcel's card (--card).
#[derive(Debug, Args)]
pub(crate) struct ContinueArgs {
    #[command(flatten)]
    event: EventArgs,
    #[command(flatten)]
    card: CardArgs,
    /// The parcel: its id or a unique prefix of at least 8 hex digits (the whole id with --server)
    #[arg(long, value_parser = value::parcel)]
    parcel: IdArg,
}

/// Signs the event `make` builds on the parcel's head, read from its card (`holder_signs`: the
/// card's holder is the signer), the ledger file or the server; the last two also give `make`
/// where it was read and the signer, for the signer's country policy.
fn sign_on_parcel(
    on: ContinueArgs,
    holder_signs: bool,
    make: impl FnOnce(ParcelId, card::Known, Option<(&Source<'_>, &ActorId)>) -> Result<Payload>,
) -> Result<u8> {
    let ContinueArgs { event, card, parcel } = on;
    if card.given() {
        return card::sign_from_card(&event.sign, &card, Some(&parcel), holder_signs, |c, p| {
            make(c.card.parcel, p, None)
        });
    }
    sign_event(&event, |src, signer| {
        let (id, p) = src.parcel(&parcel)?;
        make(id, card::Known::of_state(&p), Some((src, signer)))
    })
}

/// The holder merges parcels into one (e.g. assembling an export lot)
///
/// Example: kpledger merge --ledger sl.kpl --key kamara.pem --parcel 019d0000-0000-7000-8000-00000000000b
///   --parcel 019d0000-0000-7000-8000-00000000000c --time 2026-03-20T09:00:00Z
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    #[command(flatten)]
    event: EventArgs,
    #[command(flatten)]
    card: CardArgs,
    /// The parcels to merge (two or more; with --card, the cards' parcels by default)
    #[arg(long = "parcel", required_unless_present = "card", num_args = 1, value_parser = value::parcel)]
    parcels: Vec<IdArg>,
    /// Weight of the merged parcel in carats (default: the sum of the inputs)
    #[arg(long, value_parser = value::carats)]
    weight: Option<Points>,
}

pub(crate) fn merge(a: MergeArgs) -> Result<u8> {
    match a {
        MergeArgs { event, card, parcels, weight } if card.given() => {
            card::merge_from_cards(&event.sign, &card, &parcels, weight)
        }
        MergeArgs { event, card: _, parcels, weight } => sign_event(&event, |src, _| {
            let mut inputs = Vec::new();
            let (mut total, mut stones) = (0u64, Some(0u32));
            for s in &parcels {
                let (id, p) = src.parcel(s)?;
                total += p.weight_pt.0;
                stones = stones.zip(p.stones).map(|(a, b)| a + b);
                inputs.push(ParcelRef { parcel: id, prev: p.head });
            }
            let weight_pt = weight.unwrap_or(Points(total));
            Ok(Payload::Merge { inputs, output: NewParcel { parcel: new_parcel_id()?, weight_pt, stones } })
        }),
    }
}
