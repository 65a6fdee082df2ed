//! A deterministic trade simulator: it holds the keys of every actor it enrols, keeps a
//! simulated clock, and records events through the same ingest path as everyone else.
//!
//! It drives the demo, the benchmark generator and the test fixtures. Keys are derived
//! from a seed string and the actor id, so the same scenario always gives the same ledger,
//! byte for byte. **Demo keys are public knowledge**: never use a simulator key for real.

use std::collections::BTreeMap;

use kpledger_model::hash::sha256;
use kpledger_model::{
    ActorId, ActorRecord, Cents, CertExporter, CertImporter, CertLine, Certificate, Country, Event,
    EventBody, HsCode, ImportConfirmation, Licence, NewParcel, Offer, OfferBody, OfferKind, Origin,
    OriginClaim, ParcelId, ParcelRef, ParsedEvent, Payload, Points, Policy, Role, SecretKey, SiteId,
    SiteRecord, Text, Time,
};
use kpledger_model::{KP_STATEMENT, KP_TITLE};
use kpledger_verify::ParcelState;

use crate::store::{Appended, Ledger, StoreError};

/// An error from the simulator: the store refused, or the scenario is inconsistent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The store refused an event or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value in the scenario is malformed (a programming error in the scenario).
    #[error("scenario value: {0}")]
    Value(String),
    /// The simulator has no key for an actor.
    #[error("the simulator has no key for {0}")]
    NoKey(String),
    /// The ledger holds no such actor or parcel: the caller named one that does not exist (a
    /// person's typo, when the caller is the CLI), said as is.
    #[error("{0}")]
    Missing(String),
}

/// Shorthand for building validated text in scenarios (normalised to NFC, as typed text is).
pub fn text(s: &str) -> Result<Text, SimError> {
    Text::from_input(s).map_err(SimError::Value)
}

/// Shorthand for a certificate or seal number (`Text::reference`).
pub fn reference(s: &str) -> Result<Text, SimError> {
    Text::reference(s).map_err(SimError::Value)
}

/// Shorthand for an actor id.
pub fn aid(s: &str) -> Result<ActorId, SimError> {
    ActorId::new(s).map_err(SimError::Value)
}

/// Who [`Sim::enrol_with`] enrols, as the enrolling authority writes it.
#[derive(Debug, Clone)]
pub struct Enrolment<'a> {
    /// The actor id, e.g. `sl.exporter.kono-gems`.
    pub id: &'a str,
    /// Its registered name.
    pub name: &'a str,
    /// What it does in the trade.
    pub role: Role,
    /// Its country (ISO 3166-1 alpha-2).
    pub country: &'a str,
    /// Its licence, for a licensed role.
    pub licence: Option<Licence>,
    /// Its registered address (printed on an exporter's certificates).
    pub address: Option<&'a str>,
}

/// A scenario driver over one ledger: the keys of every actor it enrolled (derived from the
/// seed and the actor id), a simulated clock, and a counter for parcel ids.
#[derive(Debug)]
pub struct Sim {
    ledger: Ledger,
    origin: Origin,
    seed: String,
    keys: BTreeMap<ActorId, SecretKey>,
    clock: i64,
    counter: u64,
    compressed: bool,
}

impl Sim {
    /// A simulator over an empty ledger, with its clock at `start`.
    pub fn new(ledger: Ledger, origin: Origin, seed: &str, start: &Time) -> Sim {
        Sim {
            ledger,
            origin,
            seed: seed.to_owned(),
            keys: BTreeMap::new(),
            clock: start.unix(),
            counter: 0,
            compressed: false,
        }
    }

    /// The ledger it records into, for reads.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The ledger, to publish checkpoints and add cosignatures.
    pub fn ledger_mut(&mut self) -> &mut Ledger {
        &mut self.ledger
    }

    /// Gives the ledger back.
    pub fn into_ledger(self) -> Ledger {
        self.ledger
    }

    /// The key the simulator uses for `id` (generation `gen` after rotations).
    pub fn derive_key(&self, id: &str, generation: u32) -> SecretKey {
        let seed = sha256(&[
            b"kpledger-sim-key\0",
            self.seed.as_bytes(),
            b"\0",
            id.as_bytes(),
            &generation.to_be_bytes(),
        ]);
        SecretKey::from_seed(&seed)
    }

    /// The current key of an enrolled actor.
    pub fn key(&self, id: &ActorId) -> Result<&SecretKey, SimError> {
        self.keys.get(id).ok_or_else(|| SimError::NoKey(id.to_string()))
    }

    /// Every actor key, by id.
    pub fn keys(&self) -> &BTreeMap<ActorId, SecretKey> {
        &self.keys
    }

    /// Moves the clock on.
    pub fn tick(&mut self, minutes: i64) {
        self.clock += if self.compressed { minutes.signum() } else { minutes * 60 };
    }

    /// From now on, every tick of the clock lasts one second, whatever it asks for, so
    /// that a scenario repeated many times (a synthetic national ledger of millions of
    /// events) stays within the licences' year while events keep their order.
    pub fn compress_time(&mut self) {
        self.compressed = true;
    }

    /// The simulated time.
    pub fn now(&self) -> Time {
        Time::from_unix(self.clock)
    }

    /// A fresh UUID v7 parcel id at the simulated time, deterministic for the seed.
    pub fn new_parcel_id(&mut self) -> ParcelId {
        self.counter += 1;
        let r = sha256(&[b"kpledger-sim-parcel\0", self.seed.as_bytes(), &self.counter.to_be_bytes()]);
        let mut rand = [0u8; 10];
        rand.copy_from_slice(&r[..10]);
        uuid::Builder::from_unix_timestamp_millis((self.clock as u64) * 1000, &rand).into_uuid()
    }

    /// A body for `signer` at the simulated time.
    pub fn body(&self, signer: &ActorId, payload: Payload) -> EventBody {
        EventBody { v: 1, ledger: self.origin.clone(), time: self.now(), signer: signer.clone(), payload }
    }

    /// Signs a payload as `signer` without recording it (for fixtures of refused events).
    pub fn sign(&self, signer: &ActorId, payload: Payload) -> Result<ParsedEvent, SimError> {
        let ev = Event::sign(self.body(signer, payload), self.key(signer)?)
            .map_err(|e| SimError::Value(e.to_string()))?;
        ev.into_parsed().map_err(|e| SimError::Value(e.to_string()))
    }

    /// Signs and records a payload as `signer`, then moves the clock on a minute.
    pub fn submit(&mut self, signer: &ActorId, payload: Payload) -> Result<Appended, SimError> {
        let ev = self.sign(signer, payload)?;
        let out = self.ledger.append(&ev)?;
        self.tick(1);
        Ok(out)
    }

    /// The current state of a parcel.
    pub fn parcel(&self, id: &ParcelId) -> Result<ParcelState, SimError> {
        self.ledger.parcel(id)?.ok_or_else(|| SimError::Value(format!("no parcel {id}")))
    }

    /// Records the genesis of the ledger with a root authority.
    pub fn genesis(&mut self, id: &str, name: &str, country: &str) -> Result<ActorId, SimError> {
        let key = self.derive_key(id, 0);
        self.genesis_with_key(id, name, country, key)
    }

    /// Records the genesis with `key` as the root authority's (not one the simulator derives):
    /// for tests that build a ledger around a key obtained elsewhere, as a forger would.
    pub fn genesis_with_key(
        &mut self,
        id: &str,
        name: &str,
        country: &str,
        key: SecretKey,
    ) -> Result<ActorId, SimError> {
        let id = aid(id)?;
        let authority = ActorRecord {
            id: id.clone(),
            name: text(name)?,
            role: Role::Authority,
            country: Country::new(country).map_err(SimError::Value)?,
            licence: None,
            key: key.public(),
            address: None,
        };
        self.keys.insert(id.clone(), key);
        self.submit(&id, Payload::Genesis { authority })?;
        Ok(id)
    }

    /// Enrols an actor without an address; the simulator makes and keeps its key.
    pub fn enrol(
        &mut self,
        by: &ActorId,
        id: &str,
        name: &str,
        role: Role,
        country: &str,
        licence: Option<Licence>,
    ) -> Result<ActorId, SimError> {
        self.enrol_with(by, Enrolment { id, name, role, country, licence, address: None })
    }

    /// Enrols an actor, at a registered address when it has one (an exporter's is printed on
    /// its certificates); the simulator makes and keeps its key.
    pub fn enrol_with(&mut self, by: &ActorId, who: Enrolment<'_>) -> Result<ActorId, SimError> {
        let Enrolment { id, name, role, country, licence, address } = who;
        let id = aid(id)?;
        let key = self.derive_key(id.as_str(), 0);
        let actor = ActorRecord {
            id: id.clone(),
            name: text(name)?,
            role,
            country: Country::new(country).map_err(SimError::Value)?,
            licence,
            key: key.public(),
            address: address.map(text).transpose()?,
        };
        self.keys.insert(id.clone(), key);
        self.submit(by, Payload::Enrol { actor })?;
        Ok(id)
    }

    /// Rotates an actor's key to the next generation.
    pub fn rotate(&mut self, by: &ActorId, id: &ActorId, generation: u32) -> Result<(), SimError> {
        let key = self.derive_key(id.as_str(), generation);
        self.submit(by, Payload::RotateKey { actor: id.clone(), key: key.public() })?;
        self.keys.insert(id.clone(), key);
        Ok(())
    }

    /// Sets a country's policy.
    pub fn policy(&mut self, by: &ActorId, policy: Policy) -> Result<(), SimError> {
        self.submit(by, Payload::Policy { policy })?;
        Ok(())
    }

    /// Registers a mine site.
    pub fn site(&mut self, by: &ActorId, site: SiteRecord) -> Result<SiteId, SimError> {
        let id = site.id.clone();
        self.submit(by, Payload::Site { site })?;
        Ok(id)
    }

    /// A miner registers a new parcel.
    pub fn extract(
        &mut self,
        miner: &ActorId,
        site: &SiteId,
        weight: Points,
        stones: u32,
        hs: &str,
    ) -> Result<ParcelId, SimError> {
        let parcel = self.new_parcel_id();
        let hs_code = HsCode::new(hs).map_err(SimError::Value)?;
        self.submit(
            miner,
            Payload::Extraction { parcel, site: site.clone(), weight_pt: weight, stones, hs_code },
        )?;
        Ok(parcel)
    }

    /// The holder's signed offer of a parcel to `to`, at its current weight.
    pub fn offer(
        &self,
        holder: &ActorId,
        parcel: &ParcelId,
        to: &ActorId,
        price: Cents,
    ) -> Result<Offer, SimError> {
        let p = self.parcel(parcel)?;
        let body = OfferBody {
            v: 1,
            ledger: self.origin.clone(),
            kind: OfferKind::HandoverOffer,
            time: self.now(),
            signer: holder.clone(),
            parcel: *parcel,
            prev: p.head,
            to: to.clone(),
            weight_pt: p.weight_pt,
            price_usd_cents: price,
        };
        Offer::sign(body, self.key(holder)?).map_err(|e| SimError::Value(e.to_string()))
    }

    /// A complete handover: offer by the holder, acceptance with `received` by `to`.
    pub fn handover(
        &mut self,
        holder: &ActorId,
        parcel: &ParcelId,
        to: &ActorId,
        price: Cents,
        received: Option<Points>,
    ) -> Result<Appended, SimError> {
        let offer = self.offer(holder, parcel, to, price)?;
        self.tick(5);
        let weight_pt = received.unwrap_or(offer.body.weight_pt);
        self.submit(to, Payload::Handover { offer, weight_pt })
    }

    /// Splits a parcel into parts of the given weights (stones shared out in proportion).
    pub fn split(
        &mut self,
        holder: &ActorId,
        parcel: &ParcelId,
        weights: &[Points],
    ) -> Result<Vec<ParcelId>, SimError> {
        let p = self.parcel(parcel)?;
        let outputs = self.split_outputs(&p, weights);
        let ids = outputs.iter().map(|o| o.parcel).collect();
        self.submit(holder, Payload::Split { parcel: *parcel, prev: p.head, outputs })?;
        Ok(ids)
    }

    /// The split's new parcels, with stones shared out in proportion to weight.
    pub fn split_outputs(&mut self, p: &ParcelState, weights: &[Points]) -> Vec<NewParcel> {
        share_stones(p.stones, weights)
            .into_iter()
            .zip(weights)
            .map(|(stones, w)| NewParcel { parcel: self.new_parcel_id(), weight_pt: *w, stones })
            .collect()
    }

    /// Merges parcels into one that weighs their sum.
    pub fn merge(&mut self, holder: &ActorId, parcels: &[ParcelId]) -> Result<ParcelId, SimError> {
        let mut inputs = Vec::new();
        let (mut weight, mut stones) = (0u64, Some(0u32));
        for id in parcels {
            let p = self.parcel(id)?;
            inputs.push(ParcelRef { parcel: *id, prev: p.head });
            weight += p.weight_pt.0;
            stones = stones.zip(p.stones).map(|(a, b)| a + b);
        }
        let output = NewParcel { parcel: self.new_parcel_id(), weight_pt: Points(weight), stones };
        let id = output.parcel;
        self.submit(holder, Payload::Merge { inputs, output })?;
        Ok(id)
    }

    /// Official valuation: the three values, the final one by the country's rule.
    pub fn value(
        &mut self,
        valuer: &ActorId,
        parcel: &ParcelId,
        exporter: Cents,
        government: Cents,
        independent: Option<Cents>,
        final_value: Cents,
    ) -> Result<Appended, SimError> {
        let p = self.parcel(parcel)?;
        let duty = self.duty(valuer, final_value)?;
        self.submit(
            valuer,
            Payload::Valuation {
                parcel: *parcel,
                prev: p.head,
                weight_pt: p.weight_pt,
                exporter_usd_cents: exporter,
                government_usd_cents: government,
                independent_usd_cents: independent,
                final_usd_cents: final_value,
                duty_usd_cents: duty,
            },
        )
    }

    /// The duty due on `value` under the policy of `valuer`'s country (rounded up to the cent).
    pub fn duty(&self, valuer: &ActorId, value: Cents) -> Result<Cents, SimError> {
        let actor = self
            .ledger
            .actor(valuer)?
            .ok_or_else(|| SimError::Missing(format!("no actor {valuer} is enrolled")))?;
        Ok(self.ledger.policy(&actor.record.country)?.map_or(Cents(0), |p| p.duty(value)))
    }

    /// Drafts a certificate valid for `valid_days` from now (see [`draft_certificate`]).
    pub fn draft_certificate(
        &self,
        number: &str,
        authority: &ActorId,
        exporter: &ActorId,
        importer: CertImporter,
        parcels: &[ParcelId],
        valid_days: i64,
    ) -> Result<Certificate, SimError> {
        let expiry = Time::from_unix(self.clock + valid_days * 86_400).date();
        draft_certificate(
            &self.ledger,
            number,
            authority,
            exporter,
            importer,
            parcels,
            self.now().date(),
            expiry,
        )
    }

    /// The authority issues and validates a certificate.
    pub fn certify(&mut self, authority: &ActorId, certificate: Certificate) -> Result<Appended, SimError> {
        self.submit(authority, Payload::Certificate { certificate })
    }

    /// The authority records the departure of a certified shipment.
    pub fn export(&mut self, authority: &ActorId, number: &str) -> Result<Appended, SimError> {
        let refs = self.current_refs(number)?;
        self.submit(authority, Payload::Export { certificate: reference(number)?, parcels: refs })
    }

    /// The certificate's parcels at their current heads.
    pub fn current_refs(&self, number: &str) -> Result<Vec<ParcelRef>, SimError> {
        let cert = self
            .ledger
            .certificate(&reference(number)?)?
            .ok_or_else(|| SimError::Value(format!("no certificate {number}")))?;
        cert.certificate
            .parcels
            .iter()
            .map(|r| Ok(ParcelRef { parcel: r.parcel, prev: self.parcel(&r.parcel)?.head }))
            .collect()
    }

    /// The importing authority confirms receipt as the certificate states, and `holder`
    /// takes custody.
    pub fn confirm_import(
        &mut self,
        authority: &ActorId,
        number: &str,
        holder: &ActorId,
    ) -> Result<Appended, SimError> {
        let confirmation = self.confirmation(number, holder)?;
        self.submit(authority, Payload::ImportConfirmation { confirmation })
    }

    /// A confirmation of receipt that matches certificate `number` as recorded: every parcel
    /// at its head, the certificate's parcel count and carats, received today with the seals
    /// intact, `holder` taking custody.
    pub fn confirmation(&self, number: &str, holder: &ActorId) -> Result<ImportConfirmation, SimError> {
        let cert = self
            .ledger
            .certificate(&reference(number)?)?
            .ok_or_else(|| SimError::Value(format!("no certificate {number}")))?;
        let c = cert.certificate;
        Ok(ImportConfirmation {
            certificate: c.number.clone(),
            parcels: self.current_refs(number)?,
            parcel_count: c.parcel_count,
            carats_pt: Points(c.carats()),
            importer: c.importer.name.clone(),
            exporter: c.exporter.name.clone(),
            date_of_receipt: self.now().date(),
            seal_intact: true,
            holder: holder.clone(),
        })
    }

    /// Seals a parcel with container seal numbers.
    pub fn seal(&mut self, by: &ActorId, parcel: &ParcelId, seal_ids: &[&str]) -> Result<Appended, SimError> {
        let p = self.parcel(parcel)?;
        let seal_ids = seal_ids.iter().map(|s| reference(s)).collect::<Result<_, _>>()?;
        self.submit(by, Payload::Seal { parcel: *parcel, prev: p.head, weight_pt: p.weight_pt, seal_ids })
    }
}

/// A licence, for scenarios.
pub fn licence(
    number: &str,
    class: &str,
    from: &str,
    to: &str,
    sites: &[&SiteId],
) -> Result<Licence, SimError> {
    Ok(Licence {
        number: text(number)?,
        class: text(class)?,
        valid_from: from.parse().map_err(SimError::Value)?,
        valid_to: to.parse().map_err(SimError::Value)?,
        sites: sites.iter().map(|s| (*s).clone()).collect(),
    })
}

/// A site record, for scenarios.
pub fn site(
    id: &str,
    name: &str,
    country: &str,
    region: &str,
    location: &str,
    area_m2: u64,
) -> Result<SiteRecord, SimError> {
    Ok(SiteRecord {
        id: SiteId::new(id).map_err(SimError::Value)?,
        name: text(name)?,
        country: Country::new(country).map_err(SimError::Value)?,
        region: text(region)?,
        location: text(location)?,
        area_m2,
    })
}

/// Drafts a KP certificate for sealed, valued parcels held by `exporter`: lines per HS
/// code, totals, container seals and the country of origin (single or mixed) are taken
/// from the ledger, so they agree with the chains. The caller may change any field before
/// it is signed; the rules judge the result.
#[allow(clippy::too_many_arguments)]
pub fn draft_certificate(
    ledger: &Ledger,
    number: &str,
    authority: &ActorId,
    exporter: &ActorId,
    importer: CertImporter,
    parcels: &[ParcelId],
    date_of_issue: kpledger_model::Date,
    date_of_expiry: kpledger_model::Date,
) -> Result<Certificate, SimError> {
    let auth = ledger
        .actor(authority)?
        .ok_or_else(|| SimError::Missing(format!("no actor {authority} is enrolled")))?;
    let exp = ledger
        .actor(exporter)?
        .ok_or_else(|| SimError::Missing(format!("no actor {exporter} is enrolled")))?;
    let mut lines: BTreeMap<HsCode, (u64, u64)> = BTreeMap::new();
    let mut refs = Vec::new();
    let mut seals = Vec::new();
    let mut origins = std::collections::BTreeSet::new();
    let mut unknown = false;
    for id in parcels {
        let p =
            ledger.parcel(id)?.ok_or_else(|| SimError::Missing(format!("the ledger has no parcel {id}")))?;
        let e = lines.entry(p.hs_code.clone()).or_default();
        e.0 += p.weight_pt.0;
        e.1 += p.value_usd_cents.map_or(0, |v| v.0);
        refs.push(ParcelRef { parcel: *id, prev: p.head });
        seals.extend(p.seal_ids.iter().cloned());
        unknown |= p.origin_unknown || p.origin_countries.is_empty();
        origins.extend(p.origin_countries.iter().cloned());
    }
    let country_of_origin = match (origins.first(), origins.len(), unknown) {
        (Some(c), 1, false) => OriginClaim::Single(c.clone()),
        _ => OriginClaim::Mixed,
    };
    Ok(Certificate {
        title: text(KP_TITLE)?,
        statement: text(KP_STATEMENT)?,
        number: reference(number)?,
        issuing_country: auth.record.country.clone(),
        issuing_authority: auth.record.name.clone(),
        country_of_origin,
        date_of_issue,
        date_of_expiry,
        exporter: CertExporter {
            actor: exporter.clone(),
            name: exp.record.name.clone(),
            // The enrolled address; an exporter enrolled without one (as kpledger 0.1.0 did)
            // gets a placeholder, which verification reports as unchecked (EX-3, warning).
            address: match &exp.record.address {
                Some(a) => a.clone(),
                None => text(&format!("Registered office, {}", exp.record.country))?,
            },
            licence_no: exp.record.licence.as_ref().map(|l| l.number.clone()).unwrap_or(text("none")?),
        },
        importer,
        lines: lines
            .into_iter()
            .map(|(hs_code, (pt, cents))| CertLine {
                hs_code,
                carats_pt: Points(pt),
                value_usd_cents: Cents(cents),
            })
            .collect(),
        parcel_count: u32::try_from(refs.len()).unwrap_or(u32::MAX),
        parcels: refs,
        container_seal_ids: seals,
        language: text("en")?,
        english_translation_present: true,
    })
}

/// Shares a parcel's stones among split parts in proportion to their weights (the last part
/// takes the remainder, so the count is conserved); `None` when the stones were not counted.
pub fn share_stones(stones: Option<u32>, weights: &[Points]) -> Vec<Option<u32>> {
    let Some(total_stones) = stones else { return vec![None; weights.len()] };
    let total: u64 = weights.iter().map(|w| w.0).sum::<u64>().max(1);
    let mut given = 0u32;
    weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let share = if i + 1 == weights.len() {
                total_stones.saturating_sub(given)
            } else {
                u32::try_from(u64::from(total_stones) * w.0 / total).unwrap_or(0)
            };
            given += share;
            Some(share)
        })
        .collect()
}
