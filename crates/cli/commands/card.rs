//! Parcel cards (docs/SPEC.md §14.6): the authority writes one from the ledger; a holder or a
//! buyer signs from it, offline, without the ledger. The card is checked by
//! `kpledger_verify::card` before anything is signed; here files are read and written.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use kpledger_model::FORMAT_VERSION;
use kpledger_model::{
    ActorId, Cents, Event, EventBody, Hash, NewParcel, Offer, OfferBody, OfferKind, ParcelId, ParcelRef,
    Payload, Points, SecretKey, Time,
};
use kpledger_verify::{CardError, CheckedCard, TrustPolicy};
use serde_json::json;

use super::common::{
    new_parcel_id, not_from_the_future, now_or, parcel_among, parcel_arg, read_input, write_new,
};
use crate::args::value::IdArg;
use crate::args::{CardArgs, LedgerArgs, SignArgs};
use crate::{FOUND, OK, render};

/// What a command that continues a parcel needs to know of it.
pub(crate) struct Known {
    pub(crate) head: Hash,
    pub(crate) weight_pt: Points,
    pub(crate) stones: Option<u32>,
}

impl Known {
    pub(crate) fn of_state(p: &kpledger_verify::ParcelState) -> Known {
        Known { head: p.head, weight_pt: p.weight_pt, stones: p.stones }
    }
}

/// `kpledger parcel card ID --ledger FILE --out CARD`.
pub(crate) fn write_card(typed: &IdArg, ledger: &LedgerArgs, out: &Path, json: bool) -> Result<u8> {
    let l = ledger.open(true)?;
    let id = parcel_arg(&l, typed)?;
    let card = l.parcel_card(&id)?;
    let bytes = serde_json::to_vec_pretty(&card)?;
    write_new(out, &[bytes.as_slice(), b"\n"].concat())?;
    let size: u64 = card.log.checkpoint.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or(0);
    if json {
        println!(
            "{}",
            json!({"written": out, "parcel": card.parcel, "head": card.head, "seq": card.log.index + 1,
                   "checkpoint_size": size, "holder": card.holder, "weight_pt": card.weight_pt, "status": card.status})
        );
    } else {
        println!(
            "card of parcel {} ({}, {} held by {}; latest event #{} {}, proven under the checkpoint of size {size}) → {}",
            card.parcel,
            card.status.as_str(),
            card.weight_pt,
            card.holder,
            card.log.index + 1,
            card.head.short(),
            out.display()
        );
        println!(
            "the holder signs from it without the ledger, e.g.: kpledger handover offer --card {} --policy TRUST-POLICY \
             --key HOLDER.pem --to BUYER --price USD --out offer.json",
            out.display()
        );
    }
    Ok(OK)
}

/// The trust the card is checked under: the policy file or the root key given.
fn card_trust(c: &CardArgs) -> Result<TrustPolicy> {
    trust_of(c.policy.as_deref(), c.log_key.as_deref())
}

fn trust_of(policy: Option<&Path>, log_key: Option<&Path>) -> Result<TrustPolicy> {
    match (policy, log_key) {
        (Some(p), None) => super::verify::read_policy(p),
        (None, Some(k)) => {
            let key = kpledger_model::PublicKey::read_pem_file(k)
                .map_err(|e| anyhow!("the ledger's root key {}: {e}", k.display()))?;
            Ok(TrustPolicy::from_keys(vec![key]))
        }
        _ => bail!(
            "a card is checked against the ledger's root authority key before anything is signed: give the trust policy \
             that pins it (--policy FILE) or the key itself (--log-key KEYFILE)"
        ),
    }
}

/// Reads and checks the card. `Ok(Err(FOUND))`: the card is wrong, the finding was printed and
/// nothing may be signed.
pub(crate) fn check_card(c: &CardArgs) -> Result<std::result::Result<CheckedCard, u8>> {
    let [path] = c.card.as_slice() else {
        bail!("give one --card (only merge takes one per parcel)");
    };
    let trust = card_trust(c)?;
    check_one(path, &trust)
}

fn check_one(path: &Path, trust: &TrustPolicy) -> Result<std::result::Result<CheckedCard, u8>> {
    let bytes = read_input(path)?;
    match kpledger_verify::verify_card(&bytes, trust) {
        Ok(checked) => Ok(Ok(checked)),
        Err(e @ CardError::Format(_)) => Err(anyhow!("{}: {e}", path.display())),
        Err(CardError::Refused(f)) => {
            eprintln!("kpledger: the card {} does not hold; nothing was signed", path.display());
            eprint!("{}", render::findings(std::slice::from_ref(&f)));
            Ok(Err(FOUND))
        }
        Err(e) => Err(anyhow!("{}: {e}", path.display())),
    }
}

/// The parcel a command names must be the card's, and open for trade.
fn card_parcel(card: &CheckedCard, parcel: Option<&IdArg>) -> Result<ParcelId> {
    let c = &card.card;
    if let Some(p) = parcel
        && parcel_among([&c.parcel], p, "the card").is_err()
    {
        bail!("the card is for parcel {}, not {p}: ask the authority for the card of {p}", c.parcel);
    }
    if c.status != kpledger_model::CardStatus::Open {
        bail!(
            "parcel {} is {} (the card's head event {} says so): only an open parcel is handed over, split, valued or sealed",
            c.parcel,
            c.status.as_str(),
            c.head.short()
        );
    }
    Ok(c.parcel)
}

/// The parcel as the checked card proves it.
pub(crate) fn known(card: &CheckedCard) -> Known {
    Known { head: card.card.head, weight_pt: card.card.weight_pt, stones: card.card.stated.stones }
}

/// Who signs: `--as`, or `default` (the card's holder, for what the holder signs).
fn signer_of(as_actor: Option<&ActorId>, default: Option<&ActorId>, what: &str) -> Result<ActorId> {
    match (as_actor, default) {
        (Some(a), _) => Ok(a.clone()),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => bail!(
            "give --as ACTOR: without the ledger, the actor that signs {what} cannot be found from the key"
        ),
    }
}

/// The holder signs with its own key: when the card knows the key the holder signed with, a
/// different key is refused unless the holder is named with --as (a key rotated since).
fn holder_key_matches(card: &CheckedCard, key: &SecretKey, as_given: bool) -> Result<()> {
    if let Some(k) = card.holder_key
        && k != key.public()
        && !as_given
    {
        bail!(
            "the card says parcel {} is held by {}, who signed with key {}, not with this key ({}): only the holder \
             signs for it; if {} has rotated its key since, pass --as {}",
            card.card.parcel,
            card.card.holder,
            k.fingerprint(),
            key.public().fingerprint(),
            card.card.holder,
            card.card.holder
        );
    }
    Ok(())
}

/// Signs the event `make` builds from the checked card, and writes it to `--out`.
/// `holder_signs`: the card's holder is the signer (and the default for `--as`).
pub(crate) fn sign_from_card(
    s: &SignArgs,
    c: &CardArgs,
    parcel: Option<&IdArg>,
    holder_signs: bool,
    make: impl FnOnce(&CheckedCard, Known) -> Result<Payload>,
) -> Result<u8> {
    let (out, card) = match one_card(s, c, parcel)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let key = SecretKey::read_pem_file(&s.key)?;
    let holder = &card.card.holder;
    let signer = signer_of(s.as_actor.as_ref(), holder_signs.then_some(holder), "this event")?;
    if holder_signs && &signer != holder {
        bail!(
            "the card says parcel {} is held by {holder}, not {signer}: only its holder signs this",
            card.card.parcel
        );
    }
    if holder_signs {
        holder_key_matches(&card, &key, s.as_actor.is_some())?;
    }
    let payload = make(&card, known(&card))?;
    sign_to_card_file(s, &card, signer, payload, &key, out)
}

/// For a command that signs one event from one card: where the event goes (`--out`) and the
/// checked card, of `parcel` when one is named; `Ok(Err(FOUND))` when the card does not hold.
fn one_card<'a>(
    s: &'a SignArgs,
    c: &CardArgs,
    parcel: Option<&IdArg>,
) -> Result<std::result::Result<(&'a Path, CheckedCard), u8>> {
    let out = card_out(s)?;
    let card = match check_card(c)? {
        Ok(card) => card,
        Err(code) => return Ok(Err(code)),
    };
    card_parcel(&card, parcel)?;
    Ok(Ok((out, card)))
}

/// Signs `payload` as `signer` in the card's ledger, writes it to `out` and says so.
fn sign_to_card_file(
    s: &SignArgs,
    card: &CheckedCard,
    signer: ActorId,
    payload: Payload,
    key: &SecretKey,
    out: &Path,
) -> Result<u8> {
    let body = EventBody::new(card.card.ledger.clone(), now_or(s.time.as_ref()), signer, payload);
    let parsed = sign_to_file(body, key, out)?;
    if s.json {
        println!(
            "{}",
            json!({"written": out, "hash": parsed.hash, "kind": parsed.event.body.payload.kind(),
                   "card_checkpoint_size": card.checkpoint_size})
        );
    } else {
        println!("signed {} {} → {}", parsed.event.body.payload.kind(), parsed.hash.short(), out.display());
        print_card_note(card);
        println!("the ledger's authority records it with: kpledger ingest --ledger LEDGER {}", out.display());
    }
    Ok(OK)
}

fn print_card_note(card: &CheckedCard) {
    println!(
        "checked against the card of parcel {}: latest event {} proven under the checkpoint of size {} signed by the \
         trusted root key; if the parcel moved since, the ledger refuses this (CH-1)",
        card.card.parcel,
        card.card.head.short(),
        card.checkpoint_size
    );
}

/// `kpledger handover offer --card …`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn offer_from_card(
    c: &CardArgs,
    key: &Path,
    as_actor: Option<&ActorId>,
    parcel: Option<&IdArg>,
    to: &ActorId,
    price: Cents,
    time: Option<&Time>,
    out: &Path,
) -> Result<u8> {
    let card = match check_card(c)? {
        Ok(card) => card,
        Err(code) => return Ok(code),
    };
    let id = card_parcel(&card, parcel)?;
    let key = SecretKey::read_pem_file(key)?;
    let holder = &card.card.holder;
    let signer = signer_of(as_actor, Some(holder), "the offer")?;
    if &signer != holder {
        bail!("the card says parcel {id} is held by {holder}, not {signer}: only the holder offers it");
    }
    holder_key_matches(&card, &key, as_actor.is_some())?;
    let body = OfferBody {
        v: FORMAT_VERSION,
        ledger: card.card.ledger.clone(),
        kind: OfferKind::HandoverOffer,
        time: now_or(time),
        signer,
        parcel: id,
        prev: card.card.head,
        to: to.clone(),
        weight_pt: card.card.weight_pt,
        price_usd_cents: price,
    };
    let offer = Offer::sign(body, &key)?;
    let bytes = kpledger_model::canonical::to_canonical(&offer)?;
    write_new(out, &[bytes.as_slice(), b"\n"].concat())?;
    println!(
        "offer of parcel {} ({}) to {} for {} signed → {}",
        offer.body.parcel,
        offer.body.weight_pt,
        offer.body.to,
        offer.body.price_usd_cents,
        out.display()
    );
    print_card_note(&card);
    println!(
        "the buyer re-weighs and accepts with: kpledger handover accept {} --card CARD --policy TRUST-POLICY --key BUYER.pem \
         --weight CT --out handover.json",
        out.display()
    );
    Ok(OK)
}

/// The offer must be for the card's parcel, at its head, by its holder, at its weight, for
/// its ledger: what the buyer checks before signing.
pub(crate) fn offer_matches_card(offer: &Offer, card: &CheckedCard) -> Result<()> {
    let (o, c) = (&offer.body, &card.card);
    if o.parcel != c.parcel {
        bail!("the offer is for parcel {}, but the card is for parcel {}", o.parcel, c.parcel);
    }
    if o.ledger != c.ledger {
        bail!("the offer is signed for ledger {}, but the card is of ledger {}", o.ledger, c.ledger);
    }
    if o.prev != c.head {
        bail!(
            "the offer names {} as the parcel's latest event, but the card proves {}: one of them is stale; ask the \
             authority for a new card and the holder for a new offer",
            o.prev.short(),
            c.head.short()
        );
    }
    if o.signer != c.holder {
        bail!("the offer is signed by {}, but the card says the parcel is held by {}", o.signer, c.holder);
    }
    if let Some(k) = card.holder_key
        && k != offer.sig.key
    {
        bail!(
            "the offer is signed with key {}, but {} signed for this parcel with key {}: the offer is not the holder's \
             (if {} has rotated its key since, the ledger's authority records the handover instead)",
            offer.sig.key.fingerprint(),
            c.holder,
            k.fingerprint(),
            c.holder
        );
    }
    if o.weight_pt != c.weight_pt {
        bail!("the offer hands over {}, but the card says the parcel weighs {}", o.weight_pt, c.weight_pt);
    }
    Ok(())
}

/// `kpledger handover accept OFFER --card …`.
pub(crate) fn accept_from_card(
    offer: Offer,
    s: &SignArgs,
    c: &CardArgs,
    weight: Option<Points>,
) -> Result<u8> {
    let (out, card) = match one_card(s, c, None)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    offer_matches_card(&offer, &card)?;
    let key = SecretKey::read_pem_file(&s.key)?;
    let signer = signer_of(s.as_actor.as_ref(), Some(&offer.body.to), "the acceptance")?;
    if signer != offer.body.to {
        bail!("the offer is made to {}, not {signer}: only the buyer it names accepts it", offer.body.to);
    }
    let weight_pt = weight.unwrap_or(offer.body.weight_pt);
    if weight_pt > offer.body.weight_pt {
        bail!(
            "the buyer's scale reads {weight_pt}, more than the {} the offer hands over: no event adds weight (MB-3); \
             record the offer's weight, or ask the holder for a new offer",
            offer.body.weight_pt
        );
    }
    sign_to_card_file(s, &card, signer, Payload::Handover { offer, weight_pt }, &key, out)
}

/// `kpledger merge --card A --card B …`: the holder of every card merges their parcels.
pub(crate) fn merge_from_cards(
    s: &SignArgs,
    c: &CardArgs,
    parcels: &[IdArg],
    weight: Option<Points>,
) -> Result<u8> {
    let out = card_out(s)?;
    let trust = card_trust(c)?;
    let mut cards = Vec::with_capacity(c.card.len());
    for path in &c.card {
        match check_one(path, &trust)? {
            Ok(card) => cards.push(card),
            Err(code) => return Ok(code),
        }
    }
    if cards.len() < 2 {
        bail!("a merge takes two or more parcels: give one --card per parcel");
    }
    let mut ids = std::collections::BTreeSet::new();
    for card in &cards {
        card_parcel(card, None)?;
        if !ids.insert(card.card.parcel) {
            bail!("two cards are of parcel {}: give one card per parcel", card.card.parcel);
        }
    }
    for p in parcels {
        if parcel_among(&ids, p, "the cards").is_err() {
            bail!("parcel {p} is named with --parcel, but no --card is of it: give its card");
        }
    }
    if !parcels.is_empty() && parcels.len() != cards.len() {
        bail!("{} cards but {} --parcel: name every card's parcel, or none", cards.len(), parcels.len());
    }
    let first = &cards[0].card;
    if let Some(other) = cards.iter().find(|k| k.card.ledger != first.ledger) {
        bail!("the cards are of two ledgers, {} and {}", first.ledger, other.card.ledger);
    }
    if let Some(other) = cards.iter().find(|k| k.card.holder != first.holder) {
        bail!(
            "parcel {} is held by {} and parcel {} by {}: only one holder merges its own parcels",
            first.parcel,
            first.holder,
            other.card.parcel,
            other.card.holder
        );
    }
    let key = SecretKey::read_pem_file(&s.key)?;
    let signer = signer_of(s.as_actor.as_ref(), Some(&first.holder), "the merge")?;
    if signer != first.holder {
        bail!(
            "the cards say the parcels are held by {}, not {signer}: only their holder merges them",
            first.holder
        );
    }
    for card in &cards {
        holder_key_matches(card, &key, s.as_actor.is_some())?;
    }
    let mut total: u64 = 0;
    let mut stones = Some(0u32);
    for card in &cards {
        total = total
            .checked_add(card.card.weight_pt.0)
            .ok_or_else(|| anyhow!("the parcels' weights add up beyond any real lot"))?;
        stones = stones.zip(card.card.stated.stones).and_then(|(a, b)| a.checked_add(b));
    }
    let weight_pt = weight.unwrap_or(Points(total));
    let inputs = cards.iter().map(|k| ParcelRef { parcel: k.card.parcel, prev: k.card.head }).collect();
    let output = NewParcel { parcel: new_parcel_id()?, weight_pt, stones };
    let body = EventBody::new(
        first.ledger.clone(),
        now_or(s.time.as_ref()),
        signer,
        Payload::Merge { inputs, output },
    );
    let parsed = sign_to_file(body, &key, out)?;
    if s.json {
        println!("{}", json!({"written": out, "hash": parsed.hash, "kind": "merge"}));
    } else {
        println!("signed merge {} → {}", parsed.hash.short(), out.display());
        for card in &cards {
            print_card_note(card);
        }
        println!("the ledger's authority records it with: kpledger ingest --ledger LEDGER {}", out.display());
    }
    Ok(OK)
}

/// `kpledger parcel check-card CARD`: the card checked, its proven facts and its stated ones.
pub(crate) fn show_card(
    path: &Path,
    policy: Option<&Path>,
    log_key: Option<&Path>,
    json: bool,
) -> Result<u8> {
    let trust = trust_of(policy, log_key)?;
    let bytes = read_input(path)?;
    let checked = match kpledger_verify::verify_card(&bytes, &trust) {
        Ok(c) => c,
        Err(CardError::Refused(f)) => {
            if json {
                println!("{}", json!({"ok": false, "findings": [f]}));
            } else {
                println!("NOT VALID: the card {} does not hold", path.display());
                print!("{}", render::findings(std::slice::from_ref(&f)));
            }
            return Ok(FOUND);
        }
        Err(e) => return Err(anyhow!("{}: {e}", path.display())),
    };
    let c = &checked.card;
    if json {
        println!(
            "{}",
            json!({"ok": true, "ledger": c.ledger, "parcel": c.parcel, "head": c.head, "seq": c.log.index + 1,
                   "checkpoint_size": checked.checkpoint_size, "status": c.status, "holder": c.holder,
                   "weight_pt": c.weight_pt, "stated": c.stated})
        );
        return Ok(OK);
    }
    println!(
        "VALID: card of parcel {} in ledger {}, proven under the checkpoint of size {} signed by the trusted root key",
        c.parcel, c.ledger, checked.checkpoint_size
    );
    println!("proven by its signed events:");
    println!("  latest   event #{} {}", c.log.index + 1, c.head);
    println!("  status   {}", c.status.as_str());
    println!("  holder   {}", c.holder);
    println!("  weight   {}", c.weight_pt);
    let s = &c.stated;
    let mut origin: Vec<String> = s.origin_countries.iter().map(ToString::to_string).collect();
    if s.origin_unknown || origin.is_empty() {
        origin.push("unknown".into());
    }
    println!("stated by the ledger, not proven by the card (an evidence bundle proves origin):");
    println!("  stones   {}", s.stones.map(|n| n.to_string()).unwrap_or_else(|| "-".into()));
    println!("  HS code  {}", s.hs_code);
    println!(
        "  origin   {} (sites: {})",
        origin.join(", "),
        s.origin_sites.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    );
    println!(
        "a card cannot show that the parcel has not moved since its checkpoint; the ledger refuses a stale one (CH-1)"
    );
    Ok(OK)
}

/// Where an event signed from a card goes: `--out` (there is no ledger to record into).
fn card_out(s: &SignArgs) -> Result<&Path> {
    s.out.as_deref().ok_or_else(|| {
        anyhow!(
            "with --card there is no ledger to record into: give --out FILE, and the ledger's authority records it with \
             `kpledger ingest`"
        )
    })
}

/// Signs the event and writes it to `out`, for the ledger's authority to record.
fn sign_to_file(body: EventBody, key: &SecretKey, out: &Path) -> Result<kpledger_model::ParsedEvent> {
    let parsed = Event::sign(body, key)?.into_parsed()?;
    not_from_the_future(&parsed, "the event")?;
    write_new(out, &[parsed.canonical.as_slice(), b"\n"].concat())?;
    Ok(parsed)
}
