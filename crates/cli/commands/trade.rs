//! The trade's events: handover offers and acceptances.

use super::common::*;
use crate::args::*;
use anyhow::{Context as _, Result, anyhow, bail};
use kpledger_core::Ledger;
use kpledger_model::canonical::from_slice_strict;
use kpledger_model::*;
use kpledger_model::{ActorId, Event, EventBody, Offer, OfferBody, OfferKind, Payload, SecretKey};

use crate::OK;
use crate::args::HandoverCmd;
use crate::commands::card;

pub(crate) fn make_offer(
    ledger: &Ledger,
    key: &SecretKey,
    holder: ActorId,
    parcel: &str,
    to: &str,
    price: &str,
    time: Option<&str>,
) -> Result<Offer> {
    let id = parcel_arg(ledger, parcel)?;
    let p = existing(ledger, &id)?;
    let origin = ledger.origin()?.ok_or_else(|| anyhow!("the ledger has no genesis"))?;
    let body = OfferBody {
        v: 1,
        ledger: origin,
        kind: OfferKind::HandoverOffer,
        time: now_or(time)?,
        signer: holder,
        parcel: id,
        prev: p.head,
        to: enrolled(ledger, "--to", &ActorId::new(to).map_err(|e| anyhow!("--to: {e}"))?)?,
        weight_pt: p.weight_pt,
        price_usd_cents: usd(price)?,
    };
    Ok(Offer::sign(body, key)?)
}

pub(crate) fn handover_cmd(h: HandoverCmd) -> Result<u8> {
    match h {
        HandoverCmd::Offer { ledger, card, key, as_actor, parcel, to, price, time, out, open: o } => {
            if card.given() {
                return card::offer_from_card(
                    &card,
                    &key,
                    as_actor.as_deref(),
                    parcel.as_deref(),
                    &to,
                    &price,
                    time.as_deref(),
                    &out,
                );
            }
            let (Some(ledger), Some(parcel)) = (ledger, parcel) else {
                bail!("give --ledger FILE and --parcel ID, or --card CARD.json");
            };
            let key = SecretKey::read_pem_file(&key)?;
            let l = open(&ledger, true, &o)?;
            let holder = resolve_signer(&l, &key, as_actor.as_deref())?;
            let offer = make_offer(&l, &key, holder, &parcel, &to, &price, time.as_deref())?;
            let bytes = canonical::to_canonical(&offer)?;
            write_new(&out, &[bytes.as_slice(), b"\n"].concat())?;
            println!(
                "offer of parcel {} ({}) to {} for {} signed → {}",
                offer.body.parcel,
                offer.body.weight_pt,
                offer.body.to,
                offer.body.price_usd_cents,
                out.display()
            );
            println!(
                "the buyer re-weighs and accepts with: kpledger handover accept {} --ledger … --key BUYER.pem --weight CT",
                out.display()
            );
            Ok(OK)
        }
        HandoverCmd::Accept { offer, sign, card, weight } => {
            let bytes = read_input(&offer)?;
            let offer: Offer = from_slice_strict(&bytes)
                .with_context(|| format!("{} is not a valid handover offer", offer.display()))?;
            if !offer.signature_valid() {
                bail!(
                    "the holder's signature on the offer does not verify: the offer was altered or damaged"
                );
            }
            if card.given() {
                let weight = weight.as_deref().map(carats).transpose()?;
                return card::accept_from_card(offer, &sign, &card, weight);
            }
            sign_and_record(&sign, |_, _| {
                let weight_pt = weight.as_deref().map(carats).transpose()?.unwrap_or(offer.body.weight_pt);
                Ok(Payload::Handover { offer, weight_pt })
            })
        }
        HandoverCmd::Record { ledger, parcel, from_key, to_key, price, weight, time, json, open: o } => {
            let from = SecretKey::read_pem_file(&from_key)?;
            let to = SecretKey::read_pem_file(&to_key)?;
            let mut l = open(&ledger, false, &o)?;
            let holder = resolve_signer(&l, &from, None)?;
            let buyer = resolve_signer(&l, &to, None)?;
            let offer = make_offer(&l, &from, holder, &parcel, buyer.as_str(), &price, time.as_deref())?;
            let weight_pt = weight.as_deref().map(carats).transpose()?.unwrap_or(offer.body.weight_pt);
            let origin = l.origin()?.ok_or_else(|| anyhow!("the ledger has no genesis"))?;
            let body = EventBody {
                v: 1,
                ledger: origin,
                time: offer.body.time.clone(),
                signer: buyer,
                payload: Payload::Handover { offer, weight_pt },
            };
            let parsed = Event::sign(body, &to)?.into_parsed()?;
            record_or_write(&mut l, parsed, None, if json { Print::Json } else { Print::Text })
        }
    }
}

pub(crate) fn extract(a: ExtractArgs) -> Result<u8> {
    let ExtractArgs { sign, site, weight, stones, hs, parcel } = a;
    let parcel = match parcel {
        Some(p) => parse_parcel(&p)?,
        None => new_parcel_id()?,
    };
    let payload = Payload::Extraction {
        parcel,
        site: SiteId::new(site).map_err(|e| anyhow!(e))?,
        weight_pt: carats(&weight)?,
        stones,
        hs_code: HsCode::new(hs).map_err(|e| anyhow!(e))?,
    };
    sign_and_record(&sign, |_, _| Ok(payload))
}

pub(crate) fn split(a: SplitArgs) -> Result<u8> {
    let SplitArgs { sign, card, parcel, into, stones } = a;
    let make = |id: ParcelId, p: card::Known| {
        let weights: Vec<Points> = into.iter().map(|w| carats(w)).collect::<Result<_>>()?;
        if !stones.is_empty() && stones.len() != weights.len() {
            bail!("give one --stones per --into, or none");
        }
        let shares = if stones.is_empty() {
            kpledger_core::sim::share_stones(p.stones, &weights)
        } else {
            stones.iter().map(|s| Some(*s)).collect()
        };
        let outputs = weights
            .iter()
            .zip(shares)
            .map(|(w, s)| Ok(NewParcel { parcel: new_parcel_id()?, weight_pt: *w, stones: s }))
            .collect::<Result<_>>()?;
        Ok(Payload::Split { parcel: id, prev: p.head, outputs })
    };
    if card.given() {
        return card::sign_from_card(&sign, &card, Some(&parcel), true, |c, p| make(c.card.parcel, p));
    }
    sign_and_record(&sign, |ledger, _| {
        let id = parcel_arg(ledger, &parcel)?;
        make(id, card::Known::of_state(&existing(ledger, &id)?))
    })
}

pub(crate) fn value(a: ValueArgs) -> Result<u8> {
    let ValueArgs { sign, card, parcel, exporter, government, independent, final_value, duty, weight } = a;
    let exporter = usd(&exporter)?;
    let government = usd(&government)?;
    let independent = independent.as_deref().map(usd).transpose()?;
    let final_given = final_value.as_deref().map(usd).transpose()?;
    let duty_given = duty.as_deref().map(usd).transpose()?;
    let make = |id: ParcelId, p: card::Known, policy: Option<&Policy>| -> Result<Payload> {
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
        let weight_pt = weight.as_deref().map(carats).transpose()?.unwrap_or(p.weight_pt);
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
    };
    if card.given() {
        // The valuer signs: its actor id is given with --as.
        return card::sign_from_card(&sign, &card, Some(&parcel), false, |c, p| make(c.card.parcel, p, None));
    }
    sign_and_record(&sign, |ledger, signer| {
        let id = parcel_arg(ledger, &parcel)?;
        let p = existing(ledger, &id)?;
        let country = ledger.actor(signer)?.map(|a| a.record.country);
        let policy = match country {
            Some(c) => ledger.policy(&c)?,
            None => None,
        }
        .ok_or_else(|| anyhow!("the valuer's country has no policy in the ledger; publish it first"))?;
        make(id, card::Known::of_state(&p), Some(&policy))
    })
}

pub(crate) fn seal(a: SealArgs) -> Result<u8> {
    let SealArgs { sign, card, parcel, seals } = a;
    let make = |id: ParcelId, p: card::Known| {
        let seal_ids = seals
            .iter()
            .map(|s| Text::reference(s.clone()).map_err(|e| anyhow!(e)))
            .collect::<Result<_>>()?;
        Ok(Payload::Seal { parcel: id, prev: p.head, weight_pt: p.weight_pt, seal_ids })
    };
    if card.given() {
        // The authority seals: its actor id is given with --as.
        return card::sign_from_card(&sign, &card, Some(&parcel), false, |c, p| make(c.card.parcel, p));
    }
    sign_and_record(&sign, |ledger, _| {
        let id = parcel_arg(ledger, &parcel)?;
        make(id, card::Known::of_state(&existing(ledger, &id)?))
    })
}

pub(crate) fn merge(a: MergeArgs) -> Result<u8> {
    match a {
        MergeArgs { sign, card, parcels, weight } if card.given() => {
            card::merge_from_cards(&sign, &card, &parcels, weight.as_deref())
        }
        MergeArgs { sign, card: _, parcels, weight } => sign_and_record(&sign, |ledger, _| {
            let mut inputs = Vec::new();
            let (mut total, mut stones) = (0u64, Some(0u32));
            for s in &parcels {
                let id = parcel_arg(ledger, s)?;
                let p = existing(ledger, &id)?;
                total += p.weight_pt.0;
                stones = stones.zip(p.stones).map(|(a, b)| a + b);
                inputs.push(ParcelRef { parcel: id, prev: p.head });
            }
            let weight_pt = match &weight {
                Some(w) => carats(w)?,
                None => Points(total),
            };
            Ok(Payload::Merge { inputs, output: NewParcel { parcel: new_parcel_id()?, weight_pt, stones } })
        }),
    }
}
