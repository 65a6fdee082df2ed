//! Export, transit, import and import confirmation of a certified shipment.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::MAX_STONES;
use kpledger_model::{ActorId, Country, ParcelId, Payload, Points, Role, Text};

use crate::finding::{Finding, Rule};
use crate::state::{ActorState, CertificateState, Effect, ParcelState, ParcelStatus, State};

use super::{Cx, DEFAULT_TOLERANCE_PT, carry_reading, uuid_nil};

impl<'a, S: State> Cx<'a, S> {
    /// The certificate by number, or an error under `rule`.
    pub(super) fn known_certificate(&mut self, number: &Text, rule: Rule) -> Option<CertificateState> {
        let c = self.state.certificate(number);
        if c.is_none() {
            self.err(Finding::error(rule, format!("no certificate {number} has been issued in this ledger")));
        }
        c
    }

    /// The event's parcel list must be exactly the certificate's.
    pub(super) fn same_parcels(
        &mut self,
        refs: &[kpledger_model::ParcelRef],
        cert: &CertificateState,
        rule: Rule,
    ) {
        let a: BTreeSet<ParcelId> = refs.iter().map(|r| r.parcel).collect();
        let b: BTreeSet<ParcelId> = cert.certificate.parcels.iter().map(|r| r.parcel).collect();
        if a != b || a.len() != refs.len() {
            self.err(Finding::error(
                rule,
                format!(
                    "the parcels listed are not exactly those of certificate {}",
                    cert.certificate.number
                ),
            ));
        }
    }

    /// A shipment act only an authority of `country` records: an authority (CH-2 otherwise,
    /// by `require_role`) of that country (CH-2, `refusal` saying who records it).
    fn require_authority_of(
        &mut self,
        signer: Option<&ActorState>,
        country: &Country,
        what: &str,
        refusal: impl FnOnce() -> String,
    ) {
        self.require_role(signer, &[Role::Authority], what);
        if signer.is_some_and(|s| &s.record.country != country) {
            self.err(Finding::error(Rule::Ch2, refusal()));
        }
    }

    pub(super) fn export(
        &mut self,
        signer: Option<&ActorState>,
        number: &Text,
        refs: &[kpledger_model::ParcelRef],
    ) {
        let Some(mut cert) = self.known_certificate(number, Rule::Ex1) else { return };
        let c = cert.certificate.clone();
        self.require_authority_of(signer, &c.issuing_country, "record an export", || {
            format!("only {}'s authority records exports under its certificates", c.issuing_country)
        });
        if let Some(t) = &cert.exported {
            self.err(Finding::error(
                Rule::Kp2,
                format!("certificate {number} was already used for a shipment that left at {t}; a certificate covers one shipment"),
            ).hint("a certificate reused for a second shipment is a known fraud"));
        }
        let date = self.ev.body.time.date();
        if date < c.date_of_issue || date > c.date_of_expiry {
            self.err(
                Finding::error(
                    Rule::Kp4,
                    format!(
                        "the shipment leaves on {date}, outside certificate {number}'s validity {} to {}",
                        c.date_of_issue, c.date_of_expiry
                    ),
                )
                .hint("an expired certificate cannot cover an export; the authority must issue a new one"),
            );
        }
        // Each act is judged when it is recorded: the destination's standing and the
        // exporter's licence and enrolment on the day the shipment leaves.
        match self.state.policy_at(&c.issuing_country, &self.ev.body.time) {
            Some(pol) => {
                self.participant(&pol, &c.issuing_country, &date, "the issuing country");
                self.participant(&pol, &c.importer.country, &date, "the destination");
            }
            None => self.err(Finding::error(
                Rule::Kp6,
                format!("{} has no policy in this ledger, so the export cannot be judged", c.issuing_country),
            )),
        }
        self.exporter_on(&c.exporter, &date, "leaves");
        self.same_parcels(refs, &cert, Rule::Ch3);
        let mut moved = Vec::new();
        for r in refs {
            if let Some(mut p) = self.linked(r.parcel, r.prev, ParcelStatus::Certified).map(Cow::into_owned) {
                if p.certificate.as_ref() != Some(number) {
                    self.err(
                        Finding::error(Rule::Ch3, format!("the parcel is not on certificate {number}"))
                            .parcel(p.id),
                    );
                }
                p.status = ParcelStatus::Exported;
                p.provenance = Some(c.issuing_country.clone());
                self.touch(&mut p);
                moved.push(p);
            }
        }
        for p in moved {
            self.effects.push(Effect::PutParcel(p));
        }
        cert.exported = Some(self.ev.body.time.clone());
        self.effects.push(Effect::PutCertificate(Box::new(cert)));
    }

    /// A transit event (the event `Cx` judges; it reads its own fields).
    pub(super) fn transit(&mut self, signer: Option<&ActorState>) {
        let ev = self.ev;
        let Payload::Transit {
            certificate: number,
            country,
            parcels: refs,
            seal_ids_in: seals_in,
            seal_ids_out: seals_out,
            carats_in_pt,
            carats_out_pt,
            parcel_count_in,
            parcel_count_out,
            opened,
        } = &ev.body.payload
        else {
            return;
        };
        let (carats_in, carats_out) = (*carats_in_pt, *carats_out_pt);
        let (count_in, count_out, opened) = (*parcel_count_in, *parcel_count_out, *opened);
        let Some(cert) = self.known_certificate(number, Rule::Tr1) else { return };
        let c = &cert.certificate;
        self.require_authority_of(signer, country, "record a transit", || {
            format!("only {country}'s authority records transits through {country}")
        });
        if cert.exported.is_none() || cert.confirmed.is_some() {
            self.err(Finding::error(
                Rule::Tr1,
                format!(
                    "certificate {number}'s shipment is not on its way (not exported, or already received)"
                ),
            ));
        }
        if let Some(pol) = self.state.policy_at(&c.issuing_country, &self.ev.body.time) {
            self.participant(&pol, country, &self.ev.body.time.date(), "the transit country");
        }
        let cert_seals: BTreeSet<&Text> = c.container_seal_ids.iter().collect();
        let (sin, sout): (BTreeSet<&Text>, BTreeSet<&Text>) =
            (seals_in.iter().collect(), seals_out.iter().collect());
        // The tolerance of the issuing country, once for the shipment; carats never grow.
        let tol = self
            .state
            .policy_at(&c.issuing_country, &self.ev.body.time)
            .map_or(DEFAULT_TOLERANCE_PT, |p| p.tolerance_pt);
        let mut moved = Vec::new();
        for r in refs {
            if let Some(p) = self.linked(r.parcel, r.prev, ParcelStatus::Exported).map(Cow::into_owned) {
                moved.push(p);
            }
        }
        let whole = moved.len() == c.parcels.len();
        let carried = carry_reading(&mut moved, carats_out);
        let mut problems = Vec::new();
        if opened {
            problems.push("the container was opened".to_owned());
        }
        if sin != sout || sin != cert_seals {
            problems.push("the seals on exit are not the seals on entry and on the certificate".to_owned());
        }
        if carats_in != carats_out
            || carats_in.0 > c.carats()
            || c.carats() - carats_in.0 > tol
            || (whole && u128::from(carats_in.0) > carried)
        {
            problems.push(format!(
                "{carats_in} entered, {carats_out} left, the certificate states {}, the shipment carried {} as last weighed",
                Points(c.carats()),
                Points(u64::try_from(carried).unwrap_or(u64::MAX))
            ));
        }
        if count_in != count_out || count_in != c.parcel_count {
            problems.push(format!(
                "{count_in} parcels entered, {count_out} left, the certificate states {}",
                c.parcel_count
            ));
        }
        for p in problems {
            self.err(Finding::error(
                Rule::Tr1,
                format!("the shipment did not leave {country} as it entered: {p}"),
            ));
        }
        self.same_parcels(refs, &cert, Rule::Tr1);
        for mut p in moved {
            self.touch(&mut p);
            self.effects.push(Effect::PutParcel(p));
        }
    }

    /// The actor taking custody of imported goods: enrolled, in the importing country, licensed.
    pub(super) fn importer(
        &mut self,
        holder: &ActorId,
        country: Option<&Country>,
        parcel: ParcelId,
    ) -> Option<Cow<'a, ActorState>> {
        let state: &'a S = self.state;
        let Some(h) = state.actor(holder) else {
            self.err(
                Finding::error(Rule::Ch2, format!("the importer {holder} is not enrolled")).parcel(parcel),
            );
            return None;
        };
        if !h.record.role.is_trade() || country.is_some_and(|c| c != &h.record.country) || h.revoked.is_some()
        {
            self.err(
                Finding::error(
                    Rule::Im1,
                    format!("{holder} is not a licensed trader of the importing country"),
                )
                .parcel(parcel),
            );
        }
        self.licence_valid(&h, Rule::Im1, Some(parcel));
        Some(h)
    }

    /// IM-1, the shipment against its certificate: the importer admits exactly the parcels the
    /// certificate counts, under exactly its headings; no heading gets more carats than the
    /// certificate's line for it (no event adds weight, and carats moved from one heading to
    /// another are carats added to the second), and the shipment is short of the certificate
    /// by no more than the importing country's tolerance, counted once for the shipment.
    pub(super) fn import_shipment(
        &mut self,
        shipment: &[kpledger_model::ImportParcel],
        c: &kpledger_model::ForeignCertificate,
        country: Option<&Country>,
    ) {
        let Some(first) = shipment.first().map(|p| p.parcel) else { return };
        let tol = country
            .and_then(|c| self.state.policy_at(c, &self.ev.body.time))
            .map_or(DEFAULT_TOLERANCE_PT, |p| p.tolerance_pt);
        let shown = |x: u128| Points(u64::try_from(x).unwrap_or(u64::MAX));
        if u64::try_from(shipment.len()).ok() != Some(u64::from(c.parcel_count)) {
            self.err(
                Finding::error(
                    Rule::Im1,
                    format!(
                        "{} parcel(s) admitted, but the foreign certificate counts {}",
                        shipment.len(),
                        c.parcel_count
                    ),
                )
                .parcel(first)
                .hint("an import admits the certificate's whole shipment, each parcel as counted on it, in one event"),
            );
        }
        // Carats per heading, on the certificate (lines under one heading add up) and admitted.
        let mut certified: BTreeMap<&kpledger_model::HsCode, u128> = BTreeMap::new();
        for l in &c.lines {
            *certified.entry(&l.hs_code).or_default() += u128::from(l.carats_pt.0);
        }
        let mut admitted: BTreeMap<&kpledger_model::HsCode, u128> = BTreeMap::new();
        for p in shipment {
            if p.stones > MAX_STONES {
                self.err(
                    Finding::error(Rule::Im1, format!("{} stones in one parcel is not plausible", p.stones))
                        .parcel(p.parcel),
                );
            }
            if !certified.contains_key(&p.hs_code) {
                self.err(
                    Finding::error(
                        Rule::Im1,
                        format!("the parcel's heading {} is not on the foreign certificate", p.hs_code),
                    )
                    .parcel(p.parcel)
                    .hint("each parcel is admitted under a heading the certificate lists"),
                );
            }
            *admitted.entry(&p.hs_code).or_default() += u128::from(p.weight_pt.0);
        }
        let mut short: u128 = 0;
        for (hs, &line) in &certified {
            let got = admitted.get(hs).copied().unwrap_or(0);
            if got == 0 {
                self.err(
                    Finding::error(
                        Rule::Im1,
                        format!(
                            "the foreign certificate's line {hs} ({}) is covered by no parcel admitted",
                            shown(line)
                        ),
                    )
                    .parcel(first)
                    .hint("every line of the certificate is part of the shipment: admit its parcels under their own heading"),
                );
            }
            if got > line {
                self.err(
                    Finding::error(
                        Rule::Im1,
                        format!(
                            "{} admitted under {hs} on receipt, but the foreign certificate covers only {} of it",
                            shown(got),
                            shown(line)
                        ),
                    )
                    .parcel(first)
                    .hint(format!(
                        "no event adds weight, and carats of one heading are not carats of another: record at most {} under {hs}, the lower figure when scales differ",
                        shown(line)
                    )),
                );
            } else {
                short += line - got;
            }
        }
        if short > u128::from(tol) {
            let total: u128 = certified.values().sum();
            self.err(
                Finding::error(
                    Rule::Im1,
                    format!(
                        "the shipment is {} short of the {} the foreign certificate states: stones are missing",
                        shown(short),
                        shown(total)
                    ),
                )
                .parcel(first)
                .hint("a shipment short of its certificate beyond the tolerance is not admitted; report the discrepancy to the exporting authority"),
            );
        }
    }

    pub(super) fn import(
        &mut self,
        signer: Option<&ActorState>,
        shipment: &[kpledger_model::ImportParcel],
        holder: &ActorId,
        c: &kpledger_model::ForeignCertificate,
    ) {
        // Findings about the shipment as a whole name its first parcel (there always is one).
        let Some(parcel) = shipment.first().map(|p| p.parcel) else { return };
        let mut seen = BTreeSet::new();
        for p in shipment {
            self.fresh(p.parcel);
            if !seen.insert(p.parcel) {
                self.err(
                    Finding::error(Rule::Ch3, "an import names the same new parcel twice").parcel(p.parcel),
                );
            }
        }
        self.require_role(signer, &[Role::Authority], "admit an import");
        let country = signer.map(|s| s.record.country.clone());
        if country.as_ref() == Some(&c.issuing_country) {
            self.err(
                Finding::error(
                    Rule::Im1,
                    "an import comes from another country than the importing authority's",
                )
                .parcel(parcel),
            );
        }
        let date = self.ev.body.time.date();
        if !c.number.as_str().starts_with(c.issuing_country.as_str()) {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "foreign certificate number {} does not start with {}",
                        c.number, c.issuing_country
                    ),
                )
                .parcel(parcel),
            );
        }
        if c.lines.is_empty() {
            self.err(
                Finding::error(Rule::Kp1, "the foreign certificate lists no carat and value lines")
                    .parcel(parcel),
            );
        }
        for l in c.lines.iter().filter(|l| !l.hs_code.is_rough()) {
            self.err(
                Finding::error(
                    Rule::Kp3,
                    format!("HS code {} on the foreign certificate is not rough diamonds", l.hs_code),
                )
                .parcel(parcel),
            );
        }
        // KP-3: every parcel admitted is rough diamonds (whether its heading is on the
        // certificate is IM-1's, below).
        for p in shipment.iter().filter(|p| !p.hs_code.is_rough()) {
            self.err(
                Finding::error(
                    Rule::Kp3,
                    format!("the parcel's heading {} is not rough diamonds", p.hs_code),
                )
                .parcel(p.parcel),
            );
        }
        // KP-2: a foreign certificate is admitted once per ledger (compared by `import_key`,
        // so that case or punctuation cannot make it look new), and a certificate issued in
        // this ledger comes back only by its import confirmation.
        let key = crate::state::import_key(&c.issuing_country, c.number.as_str());
        let prior = self.state.foreign_import(&key);
        if let Some(prior) = prior {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "foreign certificate {} of {} was already admitted by event {}; a certificate covers one shipment",
                        c.number,
                        c.issuing_country,
                        prior.short()
                    ),
                )
                .parcel(parcel)
                .hint("a certificate presented twice is a known fraud: the second shipment has no certificate of its own"),
            );
        }
        if self.state.certificate(&c.number).is_some()
            || self
                .state
                .certificate_numbers(&c.issuing_country)
                .iter()
                .any(|n| crate::state::import_key(&c.issuing_country, n.as_str()) == key)
        {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "certificate {} was issued in this ledger; its shipment is received by an import confirmation, not admitted again as an import",
                        c.number
                    ),
                )
                .parcel(parcel),
            );
        }
        // A member country records its certificates here: once an authority of that country
        // (the root, when it is enrolled with it) has published its policy in this ledger, a
        // certificate of that country dated since is received by its import confirmation, and
        // one that is not recorded here was never issued.
        let state: &'a S = self.state;
        if let Some(h) = state.policy_history(&c.issuing_country)
            && let Some(first) = h
                .entries
                .iter()
                .find(|e| state.actor(&e.by).is_some_and(|a| a.record.country == c.issuing_country))
            && c.date_of_issue >= first.time.date()
            && self.state.certificate_by_key(&c.issuing_country, &key).is_none()
        {
            self.err(
                Finding::error(
                    Rule::Kp2,
                    format!(
                        "{} records its KP certificates in this ledger (its authority {} published its policy here on {}), \
                         but certificate {} dated {} is not recorded here: it was never issued",
                        c.issuing_country,
                        first.by,
                        first.time.date(),
                        c.number,
                        c.date_of_issue
                    ),
                )
                .parcel(parcel)
                .hint("a member country's shipment is received by the import confirmation of its certificate, never admitted on paper"),
            );
        }
        if date < c.date_of_issue || date > c.date_of_expiry {
            self.err(
                Finding::error(
                    Rule::Kp4,
                    format!(
                        "received on {date}, outside the foreign certificate's validity {} to {}",
                        c.date_of_issue, c.date_of_expiry
                    ),
                )
                .parcel(parcel),
            );
        }
        if let Some(pol) = self.policy_for(country.as_ref(), Rule::Kp6, parcel) {
            self.participant(&pol, &c.issuing_country, &date, "the exporting country");
            // A suspended Participant receives no rough while suspended, as it sends none.
            if let Some(importing) = &country {
                self.participant(&pol, importing, &date, "the importing country");
            }
        }
        self.import_shipment(shipment, c, country.as_ref());
        let h = self.importer(holder, country.as_ref(), parcel);
        if let Some(h) = &h
            && h.record.name != c.importer
        {
            self.err(
                Finding::error(
                    Rule::Im1,
                    format!(
                        "the foreign certificate names the importer {:?}, not {:?}",
                        c.importer.as_str(),
                        h.record.name.as_str()
                    ),
                )
                .parcel(parcel),
            );
        }
        if prior.is_none() {
            self.effects.push(Effect::PutImport { key, event: self.hash });
        }
        // A mixed-origin certificate that names fewer than two countries leaves part of the
        // stones' origin unknown: the explicit unknown member of the origin set.
        let (origin_countries, origin_unknown): (BTreeSet<Country>, bool) = match &c.country_of_origin {
            kpledger_model::OriginClaim::Single(x) => (BTreeSet::from([x.clone()]), false),
            kpledger_model::OriginClaim::Mixed => {
                let listed: BTreeSet<Country> = c.countries_of_origin.iter().cloned().collect();
                let unknown = listed.len() < 2;
                (listed, unknown)
            }
        };
        for p in shipment {
            self.effects.push(Effect::PutParcel(ParcelState {
                id: p.parcel,
                weight_pt: p.weight_pt,
                stones: Some(p.stones),
                hs_code: p.hs_code.clone(),
                origin_countries: origin_countries.clone(),
                origin_unknown,
                origin_sites: BTreeSet::new(),
                holder: holder.clone(),
                status: ParcelStatus::Open,
                head: self.hash,
                updated: self.ev.body.time.clone(),
                value_usd_cents: None,
                seal_ids: Vec::new(),
                certificate: Some(c.number.clone()),
                provenance: Some(c.issuing_country.clone()),
            }));
        }
    }

    pub(super) fn confirm_import(
        &mut self,
        signer: Option<&ActorState>,
        m: &kpledger_model::ImportConfirmation,
    ) {
        let first = m.parcels.first().map_or(uuid_nil(), |r| r.parcel);
        let Some(mut cert) = self.known_certificate(&m.certificate, Rule::Im1) else { return };
        let c = cert.certificate.clone();
        if signer.is_some_and(|s| s.record.country == c.issuing_country) {
            self.require_role(signer, &[Role::Authority], "confirm an import");
            self.err(Finding::error(
                Rule::Im1,
                format!(
                    "an authority of {}, the issuing country, cannot confirm receipt under its own certificate {}",
                    c.issuing_country, c.number
                ),
            ));
        } else {
            self.require_authority_of(signer, &c.importer.country, "confirm an import", || {
                format!(
                    "only the importing authority of {} confirms receipt under {}",
                    c.importer.country, c.number
                )
            });
        }
        if cert.exported.is_none() {
            self.err(Finding::error(
                Rule::Im1,
                format!("certificate {}'s shipment was never exported", c.number),
            ));
        }
        if let Some(t) = &cert.confirmed {
            self.err(Finding::error(
                Rule::Im1,
                format!("receipt under certificate {} was already confirmed at {t}", c.number),
            ));
        }
        // The importing country's tolerance, once for the shipment; carats never grow.
        let tol = self
            .state
            .policy_at(&c.importer.country, &self.ev.body.time)
            .map_or(DEFAULT_TOLERANCE_PT, |p| p.tolerance_pt);
        let mut moved = Vec::new();
        for r in &m.parcels {
            if let Some(p) = self.linked(r.parcel, r.prev, ParcelStatus::Exported).map(Cow::into_owned) {
                moved.push(p);
            }
        }
        let whole = moved.len() == c.parcels.len();
        let carried = carry_reading(&mut moved, m.carats_pt);
        let mut mismatches = Vec::new();
        if whole && u128::from(m.carats_pt.0) > carried {
            mismatches.push(format!(
                "{} received, more than the {} the shipment carried as last weighed (at a transit): no event adds weight",
                m.carats_pt,
                Points(u64::try_from(carried).unwrap_or(u64::MAX))
            ));
        }
        if m.parcel_count != c.parcel_count {
            mismatches.push(format!(
                "{} parcels received, the certificate states {}",
                m.parcel_count, c.parcel_count
            ));
        }
        if m.carats_pt.0 > c.carats() {
            mismatches.push(format!(
                "{} received, more than the {} the certificate states (no event adds weight: record the lower figure)",
                m.carats_pt,
                Points(c.carats())
            ));
        } else if c.carats() - m.carats_pt.0 > tol {
            mismatches.push(format!(
                "{} received, the certificate states {}",
                m.carats_pt,
                Points(c.carats())
            ));
        }
        if m.importer != c.importer.name {
            mismatches.push(format!(
                "importer {:?}, the certificate names {:?}",
                m.importer.as_str(),
                c.importer.name.as_str()
            ));
        }
        if m.exporter != c.exporter.name {
            mismatches.push(format!(
                "exporter {:?}, the certificate names {:?}",
                m.exporter.as_str(),
                c.exporter.name.as_str()
            ));
        }
        if !m.seal_intact {
            mismatches.push("the container's seals were not intact".to_owned());
        }
        if m.date_of_receipt > self.ev.body.time.date()
            || cert.exported.as_ref().is_some_and(|t| m.date_of_receipt < t.date())
        {
            mismatches.push(format!(
                "received on {}, before the shipment left or after this confirmation",
                m.date_of_receipt
            ));
        }
        for x in mismatches {
            self.err(
                Finding::error(
                    Rule::Im1,
                    format!("the import confirmation does not match certificate {}: {x}", c.number),
                )
                .parcel(first),
            );
        }
        self.same_parcels(&m.parcels, &cert, Rule::Im1);
        self.importer(&m.holder, Some(&c.importer.country), first);
        self.bound_importer(&c.importer, Some((&m.holder, first)));
        for mut p in moved {
            p.status = ParcelStatus::Open;
            p.holder = m.holder.clone();
            p.seal_ids.clear();
            p.value_usd_cents = None;
            self.touch(&mut p);
            self.effects.push(Effect::PutParcel(p));
        }
        cert.confirmed = Some(self.ev.body.time.clone());
        self.effects.push(Effect::PutCertificate(Box::new(cert)));
    }
}
