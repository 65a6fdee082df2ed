//! The trade's events: handover offers and acceptances.

use anyhow::{Context as _, Result, anyhow, bail};
use kpledger_core::Ledger;
use kpledger_model::canonical::from_slice_strict;
use kpledger_model::{ActorId, Event, EventBody, Offer, OfferBody, OfferKind, Payload, SecretKey};

use super::common::*;
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
            let bytes = kpledger_model::canonical::to_canonical(&offer)?;
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
