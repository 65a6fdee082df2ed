//! Whose official may weigh, value and seal, and whose tolerance judges a weighing, as
//! docs/SPEC.md §10.3 specifies it:
//!
//! - a `valuation` or a `seal` is by an official enrolled with the country of the parcel's
//!   holder (CH-2), the root authority included: acting for any country covers the registers
//!   (policies, enrolments, sites, keys), not weighing, valuing and sealing;
//! - a sealer's country must have a policy, whose tolerance judges the weighing (MB-3); a
//!   valuer's likewise (EX-2);
//! - an `import_confirmation`'s carats are judged with the importing country's tolerance.
//!
//! The world: Sierra Leone's NMA as root authority with SL's policy (tolerance 5 points),
//! Liberia's ministry with LR's policy (tolerance 20 points), Guinea's ministry and valuer with
//! no policy, and one parcel mined in Sierra Leone, valued, sealed, certified for a Liberian
//! dealer, exported and received.
// Tests: a panic with a message is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use kpledger_core::Ledger;
use kpledger_core::sim::{Sim, licence, reference, site, text};
use kpledger_model::{ActorId, Cents, CertImporter, Country, Origin, ParcelId, Payload, Points, Role, Time};
use kpledger_testkit::TempDir;
use kpledger_verify::{Finding, Rule};

const SL_TOLERANCE: u64 = 5;
const LR_TOLERANCE: u64 = 20;
const CERT: &str = "SL-2026-004401";
const DEALER_NAME: &str = "Kpoto Diamond House";

struct World {
    sim: Sim,
    root: ActorId,
    pmt: ActorId,
    exporter: ActorId,
    lr_mme: ActorId,
    lr_valuer: ActorId,
    lr_dealer: ActorId,
    gn_mines: ActorId,
    gn_valuer: ActorId,
    parcel: ParcelId,
    _tmp: TempDir,
}

fn world(tag: &str) -> World {
    let tmp = TempDir::new(&format!("officials-{tag}"));
    let ledger = Ledger::create(&tmp.ledger()).unwrap();
    let origin = Origin::new("kpledger.test/officials").unwrap();
    let mut sim = Sim::new(ledger, origin, "kpledger-officials", &Time::new("2026-03-02T08:00:00Z").unwrap());
    let root = sim.genesis("sl.nma", "National Minerals Agency", "SL").unwrap();
    let mut sl = common::policy("SL");
    sl.tolerance_pt = SL_TOLERANCE;
    sim.policy(&root, sl).unwrap();
    let lr_mme =
        sim.enrol(&root, "lr.mme", "Ministry of Mines and Energy", Role::Authority, "LR", None).unwrap();
    let mut lr = common::policy("LR");
    lr.tolerance_pt = LR_TOLERANCE;
    sim.policy(&lr_mme, lr).unwrap();
    let gn_mines = sim.enrol(&root, "gn.mines", "Ministere des Mines", Role::Authority, "GN", None).unwrap();
    let gn_valuer = sim.enrol(&gn_mines, "gn.bnee", "BNEE", Role::Valuer, "GN", None).unwrap();
    let lr_valuer =
        sim.enrol(&lr_mme, "lr.gdo", "Government Diamond Office", Role::Valuer, "LR", None).unwrap();
    let year = ("2026-01-01", "2026-12-31");
    let lic = |n: &str, class: &str, sites: &[&kpledger_model::SiteId]| {
        licence(n, class, year.0, year.1, sites).unwrap()
    };
    let lr_dealer = sim
        .enrol(
            &lr_mme,
            "lr.dealer.kpoto",
            DEALER_NAME,
            Role::Dealer,
            "LR",
            Some(lic("MME/DL/2026/019", "dealer", &[])),
        )
        .unwrap();
    let koidu = sim
        .site(&root, site("sl.kono.koidu-12", "Koidu claim 12", "SL", "Kono", "8.6,-10.9", 8_000).unwrap())
        .unwrap();
    let miner = sim
        .enrol(
            &root,
            "sl.miner.koroma",
            "Ibrahim Koroma",
            Role::Miner,
            "SL",
            Some(lic("NMA/AML/2026/0142", "artisanal", &[&koidu])),
        )
        .unwrap();
    let dealer = sim
        .enrol(
            &root,
            "sl.dealer.kamara",
            "Kamara Diamond Dealers",
            Role::Dealer,
            "SL",
            Some(lic("NMA/DL/2026/031", "dealer", &[])),
        )
        .unwrap();
    let exporter = sim
        .enrol(
            &root,
            "sl.exporter.kono-gems",
            "Kono Gems Export Ltd",
            Role::Exporter,
            "SL",
            Some(lic("NMA/EXP/2026/007", "exporter", &[])),
        )
        .unwrap();
    let pmt = sim
        .enrol(&root, "sl.pmt", "Precious Minerals Trading Directorate", Role::Valuer, "SL", None)
        .unwrap();
    let parcel = sim.extract(&miner, &koidu, Points(1250), 21, "7102.31").unwrap();
    sim.tick(60);
    sim.handover(&miner, &parcel, &dealer, Cents(361_250), None).unwrap();
    sim.tick(60);
    sim.handover(&dealer, &parcel, &exporter, Cents(361_250), None).unwrap();
    sim.tick(60);
    World { sim, root, pmt, exporter, lr_mme, lr_valuer, lr_dealer, gn_mines, gn_valuer, parcel, _tmp: tmp }
}

impl World {
    /// A valuation of the parcel by `valuer`, highest of three, at its weight.
    fn valuation(&self, valuer: &ActorId) -> Payload {
        let p = self.sim.parcel(&self.parcel).unwrap();
        let value = Cents(p.weight_pt.0 * 300);
        Payload::Valuation {
            parcel: self.parcel,
            prev: p.head,
            weight_pt: p.weight_pt,
            exporter_usd_cents: value,
            government_usd_cents: value,
            independent_usd_cents: Some(value),
            final_usd_cents: value,
            duty_usd_cents: self.sim.duty(valuer, value).unwrap(),
        }
    }

    fn seal(&self) -> Payload {
        let p = self.sim.parcel(&self.parcel).unwrap();
        Payload::Seal {
            parcel: self.parcel,
            prev: p.head,
            weight_pt: p.weight_pt,
            seal_ids: vec![reference("SL-SEAL-2026-0401").unwrap()],
        }
    }

    /// What the rules say of `payload` signed by `by`, without recording it.
    fn judge(&self, by: &ActorId, payload: Payload) -> Vec<Finding> {
        let event = self.sim.sign(by, payload).unwrap();
        self.sim.ledger().dry_run(&event).expect("the state reads").findings().to_vec()
    }

    /// Records `payload` by `by`, which the rules must accept.
    fn record(&mut self, by: &ActorId, payload: Payload) {
        let by = by.clone();
        self.sim.submit(&by, payload).unwrap();
        self.sim.tick(60);
    }

    /// The parcel valued and sealed by Sierra Leone, certified for Liberia and exported.
    fn exported(&mut self) {
        let (pmt, root) = (self.pmt.clone(), self.root.clone());
        self.record(&pmt, self.valuation(&pmt));
        self.record(&root, self.seal());
        let to_lr = CertImporter {
            name: text(DEALER_NAME).unwrap(),
            address: text("Randall Street, Monrovia").unwrap(),
            country: Country::new("LR").unwrap(),
            actor: None,
        };
        let draft =
            self.sim.draft_certificate(CERT, &root, &self.exporter, to_lr, &[self.parcel], 60).unwrap();
        self.sim.certify(&root, draft).unwrap();
        self.sim.tick(60);
        self.sim.export(&root, CERT).unwrap();
        self.sim.tick(60);
    }

    /// Liberia's confirmation of receipt, with `carats` weighed.
    fn confirmation(&self, carats: u64) -> Payload {
        let mut confirmation = kpledger_testkit::events::confirmation(&self.sim, CERT, &self.lr_dealer);
        confirmation.carats_pt = Points(carats);
        Payload::ImportConfirmation { confirmation }
    }
}

fn errors(findings: &[Finding], rule: Rule) -> Vec<&Finding> {
    findings.iter().filter(|f| f.is_error() && f.code == rule).collect()
}

fn show(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(|f| format!("{} {:?} {}", f.code, f.severity, f.message)).collect()
}

#[test]
fn only_an_official_of_the_holders_country_values_a_parcel() {
    let w = world("valuation");
    // Control: Sierra Leone's valuer.
    let ok = w.judge(&w.pmt, w.valuation(&w.pmt));
    assert!(ok.iter().all(|f| !f.is_error()), "{:?}", show(&ok));
    // Liberia's valuer, whose country has a policy: CH-2, nothing else.
    let lr = w.judge(&w.lr_valuer, w.valuation(&w.lr_valuer));
    assert!(
        errors(&lr, Rule::Ch2).iter().any(|f| f.message.contains("held in another country")),
        "{:?}",
        show(&lr)
    );
    assert_eq!(lr.iter().filter(|f| f.is_error()).count(), 1, "{:?}", show(&lr));
    // Guinea's valuer, whose country has no policy: CH-2 and EX-2.
    let gn = w.judge(&w.gn_valuer, w.valuation(&w.gn_valuer));
    assert!(!errors(&gn, Rule::Ch2).is_empty() && !errors(&gn, Rule::Ex2).is_empty(), "{:?}", show(&gn));
}

#[test]
fn only_an_official_of_the_holders_country_seals_a_parcel_root_authority_included() {
    let mut w = world("seal");
    let pmt = w.pmt.clone();
    w.record(&pmt, w.valuation(&pmt));
    // Control: the root authority seals a parcel held in its own country.
    let ok = w.judge(&w.root, w.seal());
    assert!(ok.iter().all(|f| !f.is_error()), "{:?}", show(&ok));
    // Liberia's authority seals a Sierra Leone parcel: CH-2 only.
    let lr = w.judge(&w.lr_mme, w.seal());
    assert!(
        errors(&lr, Rule::Ch2).iter().any(|f| f.message.contains("held in another country")),
        "{:?}",
        show(&lr)
    );
    assert_eq!(lr.iter().filter(|f| f.is_error()).count(), 1, "{:?}", show(&lr));
    // Guinea's authority, whose country has no policy: CH-2, and MB-3 (no tolerance to judge by).
    let gn = w.judge(&w.gn_mines, w.seal());
    assert!(!errors(&gn, Rule::Ch2).is_empty(), "{:?}", show(&gn));
    assert!(errors(&gn, Rule::Mb3).iter().any(|f| f.message.contains("has no policy")), "{:?}", show(&gn));

    // Once the parcel is in Liberia, Sierra Leone's root authority is an official of another
    // country: it may not seal it there, nor may Sierra Leone's valuer value it.
    w.exported();
    let confirmation = w.confirmation(1250);
    let mme = w.lr_mme.clone();
    w.record(&mme, confirmation);
    assert_eq!(w.sim.parcel(&w.parcel).unwrap().holder, w.lr_dealer);
    let root = w.judge(&w.root, w.seal());
    assert!(
        errors(&root, Rule::Ch2).iter().any(|f| f.message.contains("held in another country")),
        "{:?}",
        show(&root)
    );
    let sl = w.judge(&w.pmt, w.valuation(&w.pmt));
    assert!(!errors(&sl, Rule::Ch2).is_empty(), "{:?}", show(&sl));
    // Liberia's own valuer may.
    let lr = w.judge(&w.lr_valuer, w.valuation(&w.lr_valuer));
    assert!(lr.iter().all(|f| !f.is_error()), "{:?}", show(&lr));
}

#[test]
fn an_import_confirmation_is_weighed_with_the_importing_countrys_tolerance() {
    let mut w = world("confirmation");
    w.exported();
    let carats = 1250;
    const { assert!(SL_TOLERANCE < 10 && 10 <= LR_TOLERANCE && LR_TOLERANCE < 30) };
    // 10 points short: beyond Sierra Leone's tolerance (the issuing country), within Liberia's
    // (the importing country, whose authority weighed it): accepted.
    let within = w.judge(&w.lr_mme, w.confirmation(carats - 10));
    assert!(errors(&within, Rule::Im1).is_empty(), "{:?}", show(&within));
    assert!(within.iter().all(|f| !f.is_error()), "{:?}", show(&within));
    // 30 points short: beyond Liberia's tolerance too: IM-1.
    let beyond = w.judge(&w.lr_mme, w.confirmation(carats - 30));
    assert!(!errors(&beyond, Rule::Im1).is_empty(), "{:?}", show(&beyond));
    // Control: exact.
    let exact = w.judge(&w.lr_mme, w.confirmation(carats));
    assert!(exact.iter().all(|f| !f.is_error()), "{:?}", show(&exact));
}
