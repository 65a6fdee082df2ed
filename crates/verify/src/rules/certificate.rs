//! KP certificates: the validating authority, participation, the certificate's lines,
//! exporter and importer.

use std::borrow::Cow;
use std::collections::BTreeSet;

use kpledger_model::{ActorId, Cents, Country, ParcelId, Points, Policy, Role, Text};

use crate::finding::{Finding, Rule};
use crate::state::{ActorState, CertificateState, Effect, ParcelState, ParcelStatus, State};

use super::{Cx, ISSUE_SKEW_DAYS, earliest_issue, uuid_nil};

impl<'a, S: State> Cx<'a, S> {
    /// KP-7: the signer must be an enrolled authority of `country`.
    pub(super) fn authority_of(
        &mut self,
        signer: Option<&ActorState>,
        country: &Country,
        what: &str,
    ) -> bool {
        match signer {
            Some(s) if s.record.role == Role::Authority && &s.record.country == country => {
                // F8: the validation must be by the authority's enrolled, unrevoked key; a
                // certificate in its name under any other key is forged (CH-2 says the same of
                // the event's signature).
                if s.record.key == self.ev.sig.key && s.revoked.is_none() {
                    return true;
                }
                self.err(
                    Finding::error(
                        Rule::Kp7,
                        format!(
                            "the certificate is validated in the name of {} with key {}, which is not its enrolled, unrevoked key {}: the certificate is forged",
                            s.record.id,
                            self.ev.sig.key.fingerprint(),
                            s.record.key.fingerprint()
                        ),
                    )
                    .actor(&s.record.id),
                );
                false
            }
            Some(s) => {
                self.err(
                    Finding::error(
                        Rule::Kp7,
                        format!(
                            "{} ({} {}) is not a KP authority of {country} and cannot {what}",
                            s.record.id, s.record.country, s.record.role
                        ),
                    )
                    .actor(&s.record.id),
                );
                false
            }
            None => {
                self.err(
                    Finding::error(
                        Rule::Kp7,
                        format!("the signer {} is not an enrolled KP authority of {country}: a certificate it signs is forged", self.ev.body.signer),
                    )
                    .actor(&self.ev.body.signer),
                );
                false
            }
        }
    }

    /// KP-6: a participant, not suspended on `date`, per `policy` and per the KP-level
    /// standing the root authority recorded (the suspensions of every country's policy
    /// version in force that the root signed): a country's own authority cannot undo it.
    pub(super) fn participant(
        &mut self,
        policy: &Policy,
        country: &Country,
        date: &kpledger_model::Date,
        role: &str,
    ) {
        let state: &'a S = self.state;
        let t = &self.ev.body.time;
        let mut kp_level: Vec<kpledger_model::Suspension> = Vec::new();
        // The KP-level list of Participants: those of every version in force that the root
        // authority signed (none signed: the judging policy's list alone).
        let mut kp_participants: Option<BTreeSet<Country>> = None;
        for c in state.policy_countries() {
            let Some(h) = state.policy_history(&c) else { continue };
            if let Some(e) = h.root_at(t) {
                kp_participants
                    .get_or_insert_with(BTreeSet::new)
                    .extend(e.policy.participants.iter().cloned());
            }
            // A suspension names the dates it covers: once the root authority has recorded it,
            // in any version of any policy, no act dated inside it passes, whenever signed. An
            // act signed after the suspension was recorded but dated before that version took
            // effect (a back-dated export) is judged by it all the same.
            for e in h.entries.iter().filter(|e| e.root) {
                kp_level.extend(
                    e.policy
                        .suspensions
                        .iter()
                        .filter(|s| &s.country == country && !policy.suspensions.contains(s))
                        .cloned(),
                );
            }
        }
        kp_level.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
        kp_level.dedup();
        if policy.participants.contains(country) && kp_participants.is_some_and(|l| !l.contains(country)) {
            self.err(
                Finding::error(
                    Rule::Kp6,
                    format!(
                        "{role} {country} is listed by the {} policy but is not a Kimberley Process Participant by the root authority's list",
                        policy.country
                    ),
                )
                .hint("a country's standing is decided by the root authority, not by a national policy"),
            );
        }
        for s in kp_level.iter().filter(|s| s.from <= *date && *date <= s.to) {
            self.err(Finding::error(
                Rule::Kp6,
                format!(
                    "{role} {country} was suspended by the root authority from {} to {} ({}) and could not trade on {date}",
                    s.from, s.to, s.reason
                ),
            ));
        }
        if !policy.participants.contains(country) {
            self.err(
                Finding::error(
                    Rule::Kp6,
                    format!(
                        "{role} {country} is not a Kimberley Process Participant (per the {} policy)",
                        policy.country
                    ),
                )
                .hint("no shipment may be imported from, or exported to, a non-Participant (KPCS III(c))"),
            );
        }
        for s in
            policy.suspensions.iter().filter(|s| &s.country == country && s.from <= *date && *date <= s.to)
        {
            self.err(Finding::error(
                Rule::Kp6,
                format!(
                    "{role} {country} was suspended from {} to {} ({}) and could not trade on {date}",
                    s.from, s.to, s.reason
                ),
            ));
        }
    }

    pub(super) fn certificate(&mut self, signer: Option<&ActorState>, c: &kpledger_model::Certificate) {
        let date = self.ev.body.time.date();
        self.authority_of(signer, &c.issuing_country, "validate a KP certificate");
        // KP-7: the issuing authority printed is the one that validates, by its enrolled name.
        if let Some(s) = signer
            && s.record.name != c.issuing_authority
        {
            self.err(
                Finding::error(
                    Rule::Kp7,
                    format!(
                        "the certificate names the issuing authority {:?}, but it is validated by {}, enrolled as {:?}",
                        c.issuing_authority.as_str(),
                        s.record.id,
                        s.record.name.as_str()
                    ),
                )
                .actor(&s.record.id)
                .hint("the issuing authority's name is the validating authority's enrolled name"),
            );
        }
        // KP-1: Annex I fields.
        if c.title.as_str() != kpledger_model::KP_TITLE
            || c.statement.as_str() != kpledger_model::KP_STATEMENT
        {
            self.err(Finding::error(
                Rule::Kp1,
                "the certificate lacks the exact KP title and statement of Annex I (a)",
            ));
        }
        if !c.english_translation_present {
            self.err(Finding::error(Rule::Kp1, "the certificate has no English translation (Annex I)"));
        }
        for (empty, what) in [
            (c.lines.is_empty(), "carat and value lines"),
            (c.parcels.is_empty(), "parcels"),
            (c.container_seal_ids.is_empty(), "container seal numbers"),
        ] {
            if empty {
                self.err(Finding::error(Rule::Kp1, format!("the certificate lists no {what}")));
            }
        }
        // KP-2: number and uniqueness.
        if !c.number.as_str().starts_with(c.issuing_country.as_str()) {
            self.err(Finding::error(
                Rule::Kp2,
                format!(
                    "certificate number {} does not start with the issuing country's code {}",
                    c.number, c.issuing_country
                ),
            ));
        }
        if let Some(prior) = self.state.certificate(&c.number) {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "certificate number {} was already issued at {}; a number is used once",
                        c.number, prior.issued
                    ),
                )
                .hint("a recycled certificate number is a known forgery pattern"),
            );
        }
        let key = crate::state::import_key(&c.issuing_country, c.number.as_str());
        if let Some(prior) = self.state.certificate_by_key(&c.issuing_country, &key)
            && prior != c.number
        {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "certificate number {} is {prior}, already issued in this ledger, spelled otherwise; a number is used once",
                        c.number
                    ),
                )
                .hint("KP-2 compares numbers by their letters and digits, as for foreign certificates: a respelled number is a recycled one"),
            );
        }
        if let Some(prior) = self.state.foreign_import(&key) {
            self.err(Finding::error(
                Rule::Kp2,
                format!(
                    "certificate number {} was already admitted into this ledger as a foreign certificate (event {}); a number is used once",
                    c.number,
                    prior.short()
                ),
            ));
        }
        // KP-3: headings.
        for l in c.lines.iter().filter(|l| !l.hs_code.is_rough()) {
            self.err(Finding::error(
                Rule::Kp3,
                format!("HS code {} on the certificate is not rough diamonds", l.hs_code),
            ));
        }
        // KP-4: dates.
        if c.date_of_issue >= c.date_of_expiry {
            self.err(Finding::error(
                Rule::Kp4,
                format!(
                    "the certificate expires ({}) no later than it is issued ({})",
                    c.date_of_expiry, c.date_of_issue
                ),
            ));
        }
        if c.date_of_issue > date || c.date_of_expiry < date {
            self.err(Finding::error(
                Rule::Kp4,
                format!(
                    "the certificate is validated on {date}, outside its own dates {} to {}",
                    c.date_of_issue, c.date_of_expiry
                ),
            ));
        } else if c.date_of_issue < earliest_issue(&self.ev.body.time) {
            self.err(
                Finding::error(
                    Rule::Kp4,
                    format!(
                        "the certificate is dated {} but its validation was signed on {date}: a date of issue may precede the signed event by at most {ISSUE_SKEW_DAYS} day",
                        c.date_of_issue
                    ),
                )
                .hint("a backdated certificate escapes the suspensions, licences and revocations of the days in between; issue it with the date it is validated"),
            );
        }
        let policy = self.policy_for(
            Some(&c.issuing_country),
            Rule::Kp6,
            c.parcels.first().map_or(uuid_nil(), |r| r.parcel),
        );
        if let Some(pol) = &policy {
            // Judged on the day the validation is signed (the date of issue may not precede
            // it by more than the skew, above).
            self.participant(pol, &c.issuing_country, &date, "the issuing country");
            self.participant(pol, &c.importer.country, &date, "the destination");
        }
        if c.importer.country == c.issuing_country {
            self.err(
                Finding::error(
                    Rule::Kp6,
                    format!(
                        "the certificate sends the shipment from {} to {}: a KP certificate covers a shipment to another Participant",
                        c.issuing_country, c.importer.country
                    ),
                )
                .hint("trade inside a country is a handover; a certificate is for export"),
            );
        }
        self.bound_importer(&c.importer, None);
        // The parcels: sealed, chained, held by the exporter, listed once.
        let mut parcels = Vec::new();
        let mut seen = BTreeSet::new();
        for r in &c.parcels {
            if !seen.insert(r.parcel) {
                self.err(
                    Finding::error(Rule::Ch3, "the certificate lists the same parcel twice").parcel(r.parcel),
                );
                continue;
            }
            if let Some(p) = self.linked(r.parcel, r.prev, ParcelStatus::Sealed) {
                if p.holder != c.exporter.actor {
                    self.err(
                        Finding::error(
                            Rule::Ex3,
                            format!(
                                "the exporter {} does not hold the parcel; {} does",
                                c.exporter.actor, p.holder
                            ),
                        )
                        .parcel(p.id),
                    );
                }
                if p.value_usd_cents.is_none() {
                    self.err(Finding::error(Rule::Ex1, "the parcel has no official valuation").parcel(p.id));
                }
                if p.updated.date() > c.date_of_issue {
                    self.err(
                        Finding::error(
                            Rule::Kp4,
                            format!(
                                "the certificate is dated {} but the parcel was sealed on {}",
                                c.date_of_issue,
                                p.updated.date()
                            ),
                        )
                        .parcel(p.id),
                    );
                }
                parcels.push(p);
            }
        }
        // MB-5 and EX-1: totals.
        if c.parcel_count as usize != c.parcels.len() {
            self.err(Finding::error(
                Rule::Mb5,
                format!("the certificate states {} parcels but lists {}", c.parcel_count, c.parcels.len()),
            ));
        }
        // A certificate weighs nothing itself: its carats are exactly its parcels' weights as
        // last weighed (at sealing), so that it can never carry more than they do.
        // Exact sums (u128): a saturated or wrapped total could match a false one.
        let weight: u128 = parcels.iter().map(|p| u128::from(p.weight_pt.0)).sum();
        let stated: u128 = c.lines.iter().map(|l| u128::from(l.carats_pt.0)).sum();
        if stated != weight {
            self.err(
                Finding::error(
                    Rule::Mb5,
                    format!(
                        "the certificate states {} but its parcels weigh {}",
                        Points(c.carats()),
                        Points(u64::try_from(weight).unwrap_or(u64::MAX))
                    ),
                )
                .hint("carats inflated or deflated between the last weighing and the certificate"),
            );
        }
        let value: u128 = parcels.iter().filter_map(|p| p.value_usd_cents).map(|v| u128::from(v.0)).sum();
        let stated_value: u128 = c.lines.iter().map(|l| u128::from(l.value_usd_cents.0)).sum();
        if parcels.len() == c.parcels.len()
            && parcels.iter().all(|p| p.value_usd_cents.is_some())
            && stated_value != value
        {
            self.err(Finding::error(
                Rule::Ex1,
                format!(
                    "the certificate states {} but the official valuation of its parcels is {}",
                    Cents(c.value()),
                    Cents(u64::try_from(value).unwrap_or(u64::MAX))
                ),
            ));
        }
        self.lines_by_heading(c, &parcels);
        for p in &parcels {
            if !c.lines.iter().any(|l| l.hs_code == p.hs_code) {
                self.err(
                    Finding::error(
                        Rule::Kp3,
                        format!("the parcel's heading {} is not on the certificate", p.hs_code),
                    )
                    .parcel(p.id),
                );
            }
        }
        // KP-5: origin.
        let origins: BTreeSet<Country> =
            parcels.iter().flat_map(|p| p.origin_countries.iter().cloned()).collect();
        let unknown_origin = parcels.iter().any(|p| p.origin_unknown || p.origin_countries.is_empty());
        match &c.country_of_origin {
            kpledger_model::OriginClaim::Single(x) => {
                if unknown_origin || origins.len() > 1 || origins.iter().any(|o| o != x) {
                    let list: Vec<String> = origins.iter().map(ToString::to_string).collect();
                    self.err(Finding::error(
                        Rule::Kp5,
                        format!("the certificate claims single origin {x}, but the parcels' history shows origin {}", if unknown_origin { "partly unknown (mixed)".into() } else { list.join(" + ") }),
                    ).hint("a shipment with stones from more than one country must be certified as mixed origin"));
                }
            }
            kpledger_model::OriginClaim::Mixed => {
                if !unknown_origin && origins.len() == 1 {
                    self.err(Finding::warning(
                        Rule::Kp5,
                        format!("the certificate says mixed origin, but every parcel's history shows a single origin ({})", origins.iter().next().map_or("", |o| o.as_str())),
                    ).hint("mixed origin can hide provable origin (laundering through hubs)"));
                }
            }
        }
        // EX-3: the exporter.
        self.exporter(
            &c.exporter,
            &c.issuing_country,
            &date,
            policy.as_deref(),
            &parcels,
            &c.country_of_origin,
        );
        // KP-8 (soft).
        if let Some(pol) = &policy {
            let year = c.date_of_issue.year();
            let serial: Option<u64> = {
                let digits: String =
                    c.number.as_str().chars().rev().take_while(char::is_ascii_digit).collect();
                digits.chars().rev().collect::<String>().parse().ok()
            };
            if let Some(range) = pol.cert_number_ranges.iter().find(|r| r.year == year)
                && serial.is_none_or(|n| n < range.min || n > range.max)
            {
                self.err(Finding::warning(
                    Rule::Kp8,
                    format!("certificate number {} is outside {}'s {year} range {}..{}", c.number, pol.country, range.min, range.max),
                ).hint("compare the certificate with the specimen; numbers from another year's range mark forgeries"));
            }
        }
        let sealed: BTreeSet<&Text> = parcels.iter().flat_map(|p| p.seal_ids.iter()).collect();
        let on_cert: BTreeSet<&Text> = c.container_seal_ids.iter().collect();
        if !parcels.is_empty() && sealed != on_cert {
            self.err(Finding::warning(
                Rule::Kp8,
                "the container seal numbers on the certificate differ from those recorded at sealing",
            ));
        }
        for p in parcels {
            let mut p = p.into_owned();
            p.status = ParcelStatus::Certified;
            p.certificate = Some(c.number.clone());
            self.touch(&mut p);
            self.effects.push(Effect::PutParcel(p));
        }
        self.effects.push(Effect::PutCertificate(Box::new(CertificateState {
            certificate: c.clone(),
            event: self.hash,
            issued: self.ev.body.time.clone(),
            validated_by: self.ev.body.signer.clone(),
            exported: None,
            confirmed: None,
        })));
    }

    /// KP-3: each heading has one line, and that line's carats and value are exactly the
    /// sums over the certificate's parcels of that heading (each parcel's heading is the one
    /// its chain records: docs/SPEC.md §10.2), so that carats cannot move between headings.
    /// Judged only when every listed parcel was found and valued (MB-5, EX-1 and CH-1..4
    /// report the rest).
    pub(super) fn lines_by_heading(
        &mut self,
        c: &kpledger_model::Certificate,
        parcels: &[Cow<'_, ParcelState>],
    ) {
        let mut seen = BTreeSet::new();
        for l in &c.lines {
            if !seen.insert(&l.hs_code) {
                self.err(Finding::error(
                    Rule::Kp3,
                    format!("the certificate has more than one line for heading {}", l.hs_code),
                ));
            }
        }
        if parcels.len() != c.parcels.len() || parcels.iter().any(|p| p.value_usd_cents.is_none()) {
            return;
        }
        for l in &c.lines {
            let of: Vec<&ParcelState> =
                parcels.iter().map(|p| &**p).filter(|p| p.hs_code == l.hs_code).collect();
            let carats: u128 = of.iter().map(|p| u128::from(p.weight_pt.0)).sum();
            let value: u128 = of.iter().filter_map(|p| p.value_usd_cents).map(|v| u128::from(v.0)).sum();
            if carats != u128::from(l.carats_pt.0) || value != u128::from(l.value_usd_cents.0) {
                let pt = Points(u64::try_from(carats).unwrap_or(u64::MAX));
                let usd = Cents(u64::try_from(value).unwrap_or(u64::MAX));
                self.err(
                    Finding::error(
                        Rule::Kp3,
                        format!(
                            "the line for heading {} states {} and {}, but the certificate's parcels of that heading weigh {pt} and are valued {usd}",
                            l.hs_code, l.carats_pt, l.value_usd_cents
                        ),
                    )
                    .hint("each line must be the sum of the parcels of its heading, as their chains record it"),
                );
            }
        }
    }

    /// EX-3 at an export: the certificate's exporter is still enrolled, unrevoked and
    /// licensed on `date`.
    pub(super) fn exporter_on(
        &mut self,
        x: &kpledger_model::CertExporter,
        date: &kpledger_model::Date,
        what: &str,
    ) {
        let Some(a) = self.state.actor(&x.actor) else {
            self.err(
                Finding::error(Rule::Ex3, format!("the exporter {} is not enrolled", x.actor))
                    .actor(&x.actor),
            );
            return;
        };
        if let Some(r) = &a.revoked {
            self.exporter_error(
                &x.actor,
                format!(
                    "the exporter {} was revoked at {} ({}); its shipment cannot leave afterwards",
                    x.actor, r.time, r.reason
                ),
            );
        }
        self.exporter_licence(&x.actor, a.record.licence.as_ref(), date, |l| {
            Finding::error(
                Rule::Ex3,
                format!(
                    "the shipment {what} on {date}, but the exporter's licence {} is valid from {} to {}",
                    l.number, l.valid_from, l.valid_to
                ),
            )
            .hint("a certificate does not outlive its exporter's licence: renew the licence first")
        });
    }

    /// An EX-3 error about the exporter `actor`.
    fn exporter_error(&mut self, actor: &ActorId, message: String) {
        self.err(Finding::error(Rule::Ex3, message).actor(actor));
    }

    /// EX-3: the exporter `actor` holds a licence (its enrolled `licence`), valid on `date`;
    /// `outside` is the finding when the licence is not valid then. The licence, if any.
    fn exporter_licence<'l>(
        &mut self,
        actor: &ActorId,
        licence: Option<&'l kpledger_model::Licence>,
        date: &kpledger_model::Date,
        outside: impl FnOnce(&kpledger_model::Licence) -> Finding,
    ) -> Option<&'l kpledger_model::Licence> {
        match licence {
            None => {
                self.err(
                    Finding::error(Rule::Ex3, format!("the exporter {actor} holds no licence")).actor(actor),
                );
            }
            Some(l) if !l.valid_on(date) => self.err(outside(l).actor(actor)),
            Some(_) => {}
        }
        licence
    }

    /// IM-1: a certificate that names its importer's enrolment (`importer.actor`) names an
    /// enrolled, unrevoked trader of the destination whose enrolled name is the certificate's.
    /// With `holder`, an import confirmation's: the goods go to that importer — to the
    /// named actor, or when the certificate names none, to an actor enrolled under the
    /// certificate's importer name.
    pub(super) fn bound_importer(
        &mut self,
        importer: &kpledger_model::CertImporter,
        holder: Option<(&ActorId, ParcelId)>,
    ) {
        if let Some((h, parcel)) = holder {
            let ok = match &importer.actor {
                Some(id) => id == h,
                None => self.state.actor(h).is_some_and(|a| a.record.name == importer.name),
            };
            if !ok {
                self.err(
                    Finding::error(
                        Rule::Im1,
                        format!(
                            "the confirmation gives custody to {h}, but the certificate's importer is {}",
                            importer
                                .actor
                                .as_ref()
                                .map_or_else(|| format!("{:?}", importer.name.as_str()), ToString::to_string)
                        ),
                    )
                    .parcel(parcel)
                    .actor(h)
                    .hint("custody after an import goes to the certificate's importer, by its enrolment"),
                );
            }
            return;
        }
        let Some(id) = &importer.actor else { return };
        let problem = match self.state.actor(id) {
            None => Some(format!("the certificate's importer {id} is not enrolled in this ledger")),
            Some(a) if a.record.name != importer.name || a.record.country != importer.country => {
                Some(format!(
                    "the certificate names importer {id} as {:?} of {}, but {id} is enrolled as {:?} of {}",
                    importer.name.as_str(),
                    importer.country,
                    a.record.name.as_str(),
                    a.record.country
                ))
            }
            Some(a) if !a.record.role.is_trade() || a.revoked.is_some() => {
                Some(format!("the certificate's importer {id} is not an unrevoked trader"))
            }
            Some(_) => None,
        };
        if let Some(msg) = problem {
            self.err(Finding::error(Rule::Im1, msg).actor(id));
        }
    }

    pub(super) fn exporter(
        &mut self,
        x: &kpledger_model::CertExporter,
        country: &Country,
        date: &kpledger_model::Date,
        policy: Option<&Policy>,
        parcels: &[Cow<'_, ParcelState>],
        claim: &kpledger_model::OriginClaim,
    ) {
        let Some(a) = self.state.actor(&x.actor) else {
            self.err(
                Finding::error(Rule::Ex3, format!("the exporter {} is not enrolled", x.actor))
                    .actor(&x.actor),
            );
            return;
        };
        let r = &a.record;
        // EX-3: the exporter printed is the enrolled one, by name and address.
        if r.name != x.name {
            self.exporter_error(
                &r.id,
                format!(
                    "the certificate names the exporter {:?}, but {} is enrolled as {:?}",
                    x.name.as_str(),
                    r.id,
                    r.name.as_str()
                ),
            );
        }
        match &r.address {
            Some(addr) if addr != &x.address => {
                let message = format!(
                    "the certificate gives the exporter's address as {:?}, but {} is enrolled at {:?}",
                    x.address.as_str(),
                    r.id,
                    addr.as_str()
                );
                self.exporter_error(&r.id, message);
            }
            Some(_) => {}
            None => self.err(
                Finding::warning(
                    Rule::Ex3,
                    format!(
                        "{} was enrolled without an address, so the address {:?} on the certificate is not checked",
                        r.id,
                        x.address.as_str()
                    ),
                )
                .actor(&r.id)
                .hint("enrol exporters with their registered address (`kpledger actor enrol --address`)"),
            ),
        }
        if r.role != Role::Exporter || &r.country != country {
            self.exporter_error(
                &r.id,
                format!(
                    "{} is enrolled as {} in {}, not as a licensed exporter of {country}",
                    r.id, r.role, r.country
                ),
            );
        }
        if a.revoked.is_some() {
            self.err(Finding::error(Rule::Ex3, format!("the exporter {} is revoked", r.id)).actor(&r.id));
        }
        let licence = self.exporter_licence(&r.id, r.licence.as_ref(), date, |l| {
            Finding::error(
                Rule::Ex3,
                format!(
                    "the exporter's licence {} is valid from {} to {}, not on {date}",
                    l.number, l.valid_from, l.valid_to
                ),
            )
            .hint("the exporter must renew its licence before it can export")
        });
        if let Some(l) = licence {
            if l.number != x.licence_no {
                self.exporter_error(
                    &r.id,
                    format!(
                        "the certificate gives licence {} but the exporter's enrolled licence is {}",
                        x.licence_no, l.number
                    ),
                );
            }
            if let Some(pol) = policy
                && !pol.exporter_licence_classes.contains(&l.class)
            {
                self.exporter_error(
                    &r.id,
                    format!(
                        "licence class {:?} does not allow export from {}",
                        l.class.as_str(),
                        pol.country
                    ),
                );
            }
        }
        if policy.is_some_and(|p| p.conclusive_evidence_of_origin) {
            let claims_domestic = claim == &kpledger_model::OriginClaim::Single(country.clone());
            for p in parcels {
                // Mined there: every stone's recorded origin is this country, none unknown.
                let domestic = p.origin_countries.len() == 1
                    && p.origin_countries.contains(country)
                    && !p.origin_unknown;
                if !domestic && p.provenance.is_none() {
                    self.err(Finding::error(
                        Rule::Ex3,
                        format!("{country} requires conclusive evidence that each parcel was mined there or lawfully imported; this one was neither"),
                    ).parcel(p.id));
                } else if !domestic && claims_domestic {
                    self.err(
                        Finding::error(
                            Rule::Ex3,
                            format!("the certificate claims {country} origin, but this parcel's recorded origin is not {country} alone{}: there is no conclusive evidence that it was mined in {country}", if p.origin_unknown { " (part of it is of unknown origin)" } else { "" }),
                        )
                        .parcel(p.id)
                        .hint("imported stones keep their origin; certify the lot as mixed origin"),
                    );
                }
            }
        }
    }
}
