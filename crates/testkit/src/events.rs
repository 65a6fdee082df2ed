//! Payloads the tests write by hand from what the ledger holds, where the simulator has no
//! step for them; and a parcel's first trades.

use kpledger_core::sim::{Sim, text};
use kpledger_model::{
    ActorId, Cents, CertLine, Certificate, Country, Date, ForeignCertificate, HsCode, ImportConfirmation,
    ImportParcel, OriginClaim, ParcelId, ParsedEvent, Payload, Points, SiteId,
};

/// `miner` mines `pt` points in `stones` stones of `hs` at `site` and sells the parcel to
/// `dealer` for `prices.0`, who sells it to `exporter` for `prices.1`, an hour passing after
/// each step: the parcel, now the exporter's.
pub fn to_exporter(
    sim: &mut Sim,
    [miner, dealer, exporter]: [&ActorId; 3],
    site: &SiteId,
    (pt, stones, hs): (u64, u32, &str),
    prices: (Cents, Cents),
) -> ParcelId {
    let p = sim.extract(miner, site, Points(pt), stones, hs).unwrap();
    sim.tick(60);
    sim.handover(miner, &p, dealer, prices.0, None).unwrap();
    sim.tick(60);
    sim.handover(dealer, &p, exporter, prices.1, None).unwrap();
    sim.tick(60);
    p
}

/// A foreign KP certificate as presented at import: `number` of `issuer` (country, authority),
/// valid from `valid.0` to `valid.1`, `trade` (exporter, importer) of one parcel of `pt` rough
/// 7102.31 at US$289/ct mined in the issuing country.
pub fn foreign_certificate(
    number: &str,
    (country, authority): (&str, &str),
    (exporter, importer): (&str, &str),
    pt: u64,
    valid: (Date, Date),
) -> ForeignCertificate {
    ForeignCertificate {
        number: text(number).unwrap(),
        issuing_country: Country::new(country).unwrap(),
        issuing_authority: text(authority).unwrap(),
        country_of_origin: OriginClaim::Single(Country::new(country).unwrap()),
        countries_of_origin: Vec::new(),
        date_of_issue: valid.0,
        date_of_expiry: valid.1,
        exporter: text(exporter).unwrap(),
        importer: text(importer).unwrap(),
        lines: vec![CertLine {
            hs_code: HsCode::new("7102.31").unwrap(),
            carats_pt: Points(pt),
            value_usd_cents: Cents(pt * 289),
        }],
        parcel_count: 1,
    }
}

/// An extraction by `miner` at `site` of `pt` points and `stones` stones of rough 7102.31,
/// with a fresh parcel id, signed (not recorded); then a minute passes.
pub fn extraction(sim: &mut Sim, miner: &ActorId, site: &SiteId, pt: u64, stones: u32) -> ParsedEvent {
    let parcel = sim.new_parcel_id();
    let payload = Payload::Extraction {
        parcel,
        site: site.clone(),
        weight_pt: Points(pt),
        stones,
        hs_code: HsCode::new("7102.31").unwrap(),
    };
    let event = sim.sign(miner, payload).unwrap();
    sim.tick(1);
    event
}

/// Certificate `number` as recorded in `sim`'s ledger.
pub fn certificate(sim: &Sim, number: &str) -> Certificate {
    sim.ledger().certificate(&text(number).unwrap()).unwrap().unwrap().certificate
}

/// A transit through `country` that leaves the shipment of certificate `number` (as recorded
/// in `sim`'s ledger) as it came: the same seals, carats and parcel count out as in, unopened.
pub fn transit(sim: &Sim, number: &str, country: &str) -> Payload {
    let c = certificate(sim, number);
    Payload::Transit {
        certificate: c.number.clone(),
        country: Country::new(country).unwrap(),
        parcels: sim.current_refs(number).unwrap(),
        seal_ids_in: c.container_seal_ids.clone(),
        seal_ids_out: c.container_seal_ids.clone(),
        carats_in_pt: Points(c.carats()),
        carats_out_pt: Points(c.carats()),
        parcel_count_in: c.parcel_count,
        parcel_count_out: c.parcel_count,
        opened: false,
    }
}

/// A confirmation of receipt that matches certificate `number` as recorded in `sim`'s ledger
/// ([`Sim::confirmation`], which `Sim::confirm_import` records): every parcel at its head, the
/// certificate's parcel count and carats, received today with the seals intact, `holder`
/// taking custody.
pub fn confirmation(sim: &Sim, number: &str, holder: &ActorId) -> ImportConfirmation {
    sim.confirmation(number, holder).unwrap()
}

/// An import payload of a shipment of several parcels, each `(points, stones, heading)`, with
/// fresh parcel ids, under a foreign `certificate`, `holder` taking custody.
pub fn import_shipment(
    sim: &mut Sim,
    holder: &ActorId,
    parcels: &[(u64, u32, &str)],
    certificate: ForeignCertificate,
) -> Payload {
    let mut all: Vec<ImportParcel> = parcels
        .iter()
        .map(|(pt, stones, hs)| ImportParcel {
            parcel: sim.new_parcel_id(),
            weight_pt: Points(*pt),
            stones: *stones,
            hs_code: HsCode::new(*hs).unwrap(),
        })
        .collect();
    let first = all.remove(0);
    Payload::Import {
        parcel: first.parcel,
        holder: holder.clone(),
        weight_pt: first.weight_pt,
        stones: first.stones,
        hs_code: first.hs_code,
        certificate,
        more_parcels: all,
    }
}
