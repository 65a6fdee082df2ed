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

use kpledger_core::sim::{Sim, reference, text};
use kpledger_model::{ActorId, Cents, CertImporter, Country, ParcelId, Payload, Points};
use kpledger_testkit::TempDir;
use kpledger_testkit::cast::Step::{Enrol, Genesis};
use kpledger_testkit::cast::{
    self, BNEE, GDO, GN_MINES, KAMARA, KOIDU, KONO_GEMS, KOROMA, KPOTO, MME, NMA, PMT, Step, Terms,
};
use kpledger_testkit::events::to_exporter;
use kpledger_verify::{Finding, Rule};

const SL_TOLERANCE: u64 = 5;
const LR_TOLERANCE: u64 = 20;
const CERT: &str = "SL-2026-004401";
const DEALER_NAME: &str = KPOTO.name;

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
    let steps = [
        Genesis(NMA.named("National Minerals Agency")),
        Step::Policy(NMA),
        Enrol(NMA.id, MME.named("Ministry of Mines and Energy")),
        Step::Policy(MME),
        Enrol(NMA.id, GN_MINES.named("Ministere des Mines")),
        Enrol(GN_MINES.id, BNEE),
        Enrol(MME.id, GDO),
        Enrol(MME.id, KPOTO),
    ];
    // Then the Koidu site, its miner, the dealer, the exporter and the PMT.
    let steps = [&steps[..], &cast::koidu_trade()[2..]].concat();
    let terms = Terms::new("kpledger.test/officials", "kpledger-officials", "2026-03-02T08:00:00Z").policies(
        |country, p| match country {
            "SL" => p.tolerance_pt = SL_TOLERANCE,
            "LR" => p.tolerance_pt = LR_TOLERANCE,
            _ => {}
        },
    );
    let (mut sim, c, tmp) = cast::world(&format!("officials-{tag}"), &steps, &terms);
    let (root, lr_mme, gn_mines) = (c.actor(NMA.id), c.actor(MME.id), c.actor(GN_MINES.id));
    let (gn_valuer, lr_valuer, lr_dealer) = (c.actor(BNEE.id), c.actor(GDO.id), c.actor(KPOTO.id));
    let (miner, dealer, exporter, pmt) =
        (c.actor(KOROMA.id), c.actor(KAMARA.id), c.actor(KONO_GEMS.id), c.actor(PMT.id));
    let koidu = c.site(KOIDU.0);
    let traders = [&miner, &dealer, &exporter];
    let parcel =
        to_exporter(&mut sim, traders, &koidu, (1250, 21, "7102.31"), (Cents(361_250), Cents(361_250)));
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
