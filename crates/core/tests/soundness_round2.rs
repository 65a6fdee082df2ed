//! The attacks of the second soundness review (issue 21), rebuilt on a regional ledger like
//! the demo's: a root authority (the Mano River Union secretariat) above national
//! authorities. Each test records the attack as the issue describes it through
//! `Ledger::append` (the simulator), and asserts the rule code that refuses it, or — for
//! what stays possible by design — the finding a regulator sees in the ledger's
//! verification, in the history and in the importer's offline bundle.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use kpledger_core::StoreError;
use kpledger_core::sim::{Sim, SimError, text};
use kpledger_model::{
    ActorId, Cents, CertImporter, Country, ForeignCertificate, OriginClaim, ParcelId, Payload, Points, Role,
    Time,
};
use kpledger_testkit::TempDir;
use kpledger_testkit::cast::Step::Enrol;
use kpledger_testkit::cast::{
    self, FLOMO, GDO, KAMARA, KOIDU, KONO_GEMS, KOROMA, KPOTO, LIBERTY_EXPORTS, MME, MRU, NMA, PMT, Terms,
    WEASUA,
};
use kpledger_verify::{Finding, Rule, Severity, TrustPolicy};
use kpledger_verify::{ISSUER_KEYWORD, issuer_vkey, log_vkey};

kpledger_testkit::cast_ids! {
    /// Who is who in the regional world.
    struct Cast {
        root: MRU, nma: NMA, mme: MME, miner: KOROMA, kamara: KAMARA, exporter: KONO_GEMS, pmt: PMT,
        lr_miner: FLOMO, lr_exporter: LIBERTY_EXPORTS, gdo: GDO
    }
    sites { koidu: KOIDU, weasua: WEASUA }
}

/// The regional world: the root authority, Sierra Leone's and Liberia's authorities (each
/// publishing its own policy), a Sierra Leone miner, dealer Kamara, an exporter, the valuer,
/// and Liberia's miner, exporter and valuer.
struct World {
    sim: Sim,
    c: Cast,
    _tmp: TempDir,
}

fn world(tag: &str) -> World {
    let terms = Terms::new("kpledger.mru/regional", "kpledger-round2", "2026-04-06T08:00:00Z");
    let (sim, c, tmp) = cast::world(&format!("round2-{tag}"), &cast::regional_two_trades(), &terms);
    World { sim, c: Cast::of(&c), _tmp: tmp }
}

/// A KP certificate of mixed origin naming the countries `named`: `number` of `issuer`
/// (country, authority), issued yesterday and valid for 60 days, `trade` (exporter, importer)
/// of one parcel of `pt` rough 7102.31 at US$289/ct.
fn mixed_origin(
    w: &World,
    number: &str,
    issuer: (&str, &str),
    trade: (&str, &str),
    pt: u64,
    named: Vec<Country>,
) -> ForeignCertificate {
    let now = w.sim.now().unix();
    let valid = (Time::from_unix(now - 86_400).date(), Time::from_unix(now + 59 * 86_400).date());
    let mut cert = kpledger_testkit::events::foreign_certificate(number, issuer, trade, pt, valid);
    (cert.country_of_origin, cert.countries_of_origin) = (OriginClaim::Mixed, named);
    cert
}

/// The shipment of `cert` (its one parcel, in `stones` stones) admitted by the authority
/// `by` into the custody of `holder`; an hour passes. The imported parcel.
fn admitted(
    w: &mut World,
    by: &ActorId,
    holder: &ActorId,
    stones: u32,
    cert: ForeignCertificate,
) -> ParcelId {
    let pt = cert.lines[0].carats_pt.0;
    let import =
        kpledger_testkit::events::import_shipment(&mut w.sim, holder, &[(pt, stones, "7102.31")], cert);
    let imported = import.import_parcels()[0].parcel;
    w.sim.submit(by, import).unwrap();
    w.sim.tick(60);
    imported
}

fn codes(findings: &[Finding], severity: Severity) -> BTreeSet<&'static str> {
    findings.iter().filter(|f| f.severity == severity).map(|f| f.code.code()).collect()
}

/// The error codes an append was refused with (the ledger is unchanged).
fn refused(r: Result<kpledger_core::Appended, SimError>) -> BTreeSet<&'static str> {
    match r {
        Err(SimError::Store(StoreError::Rejected { findings, .. })) => codes(&findings, Severity::Error),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("the attack was accepted"),
    }
}

impl World {
    fn sell(&mut self, from: &ActorId, p: &ParcelId, to: &ActorId) {
        let w = self.sim.parcel(p).unwrap().weight_pt.0;
        self.sim.handover(from, p, to, Cents(w * 289), None).unwrap();
        self.sim.tick(60);
    }
    /// A Sierra Leone parcel mined and sold to the dealer.
    fn at_kamara(&mut self, pt: u64) -> ParcelId {
        let Cast { miner: m, kamara: k, koidu: site, .. } = self.c.clone();
        let p = self.sim.extract(&m, &site, Points(pt), 10, "7102.31").unwrap();
        self.sim.tick(30);
        self.sell(&m, &p, &k);
        p
    }
    fn value_and_seal(&mut self, valuer: &ActorId, authority: &ActorId, p: &ParcelId, seal: &str) {
        let w = self.sim.parcel(p).unwrap().weight_pt.0 * 289;
        let (v, g, i) = (Cents(w), Cents(w * 104 / 100), Cents(w * 102 / 100));
        let highest = self
            .sim
            .ledger()
            .policy(&self.sim.ledger().actor(valuer).unwrap().unwrap().record.country)
            .unwrap()
            .unwrap()
            .valuation_rule
            == kpledger_model::ValuationRule::HighestOfThree;
        let fin = if highest { Cents(g.0.max(i.0)) } else { g };
        self.sim.value(valuer, p, v, g, Some(i), fin).unwrap();
        self.sim.tick(60);
        self.sim.seal(authority, p, &[seal]).unwrap();
        self.sim.tick(60);
    }
    /// The NMA, the MME, the exporter, Liberia's exporter and miner.
    fn trade_actors(&self) -> (ActorId, ActorId, ActorId, ActorId, ActorId) {
        let ids = [&self.c.nma, &self.c.mme, &self.c.exporter, &self.c.lr_exporter, &self.c.lr_miner];
        let [nma, mme, exporter, lr_exporter, lr_miner] = ids.map(Clone::clone);
        (nma, mme, exporter, lr_exporter, lr_miner)
    }
    /// A Sierra Leone parcel of `pt` points sold to Kamara and on to the exporter, valued by the
    /// PMT and sealed by the NMA with `seal`.
    fn sealed_at_exporter(&mut self, pt: u64, seal: &str) -> ParcelId {
        let Cast { kamara, exporter, pmt, nma, .. } = self.c.clone();
        let p = self.at_kamara(pt);
        self.sell(&kamara, &p, &exporter);
        self.value_and_seal(&pmt, &nma, &p, seal);
        p
    }
    fn to_antwerp() -> CertImporter {
        kpledger_testkit::to_antwerp()
    }
    fn verify(&self) -> Vec<Finding> {
        self.sim.ledger().verify(&mut |_, _| {}).unwrap().findings
    }
}

/// Item 6: a national authority rotates dealer Kamara's key to one of its own, signs an offer
/// "by Kamara" handing his parcel to an accomplice exporter, rotates the key back, and the
/// parcel is certified and exported. Allowed by design (an authority replaces a lost key),
/// but every step is a GV-4 finding: in the ledger's verification, in the parcel's history,
/// and in the accomplice's export bundle verified offline.
#[test]
fn item6_key_imposed_to_sign_for_a_trader_is_seen_everywhere() {
    let mut w = world("item6");
    let Cast { nma, kamara, exporter, pmt, .. } = w.c.clone();
    let p = w.at_kamara(1250);
    w.sim.rotate(&nma, &kamara, 9).unwrap(); // the NMA's own key now stands for Kamara
    w.sim.tick(1);
    w.sell(&kamara, &p, &exporter); // an offer "by Kamara", signed by the NMA
    w.sim.rotate(&nma, &kamara, 10).unwrap(); // and back, five minutes later
    w.sim.tick(5);
    w.value_and_seal(&pmt, &nma, &p, "SL-SEAL-2026-0901");
    let draft =
        w.sim.draft_certificate("SL-2026-009001", &nma, &exporter, World::to_antwerp(), &[p], 60).unwrap();
    w.sim.certify(&nma, draft).unwrap();
    w.sim.tick(60);
    w.sim.export(&nma, "SL-2026-009001").unwrap();

    // The ledger: no error, a GV-4 warning for each imposed rotation and for the offer.
    let findings = w.verify();
    assert!(codes(&findings, Severity::Error).is_empty(), "{findings:#?}");
    let gv4: Vec<&Finding> = findings.iter().filter(|f| f.code == Rule::Gv4).collect();
    assert!(gv4.len() >= 3, "imposed rotations and the offer are each a GV-4 finding: {gv4:#?}");
    assert!(gv4.iter().any(|f| f.message.contains("the offer is signed by sl.dealer.kamara")), "{gv4:#?}");

    // The parcel's history marks the sale as signed under a key the NMA imposed.
    let history = w.sim.ledger().provenance(&p).unwrap();
    let marks = w.sim.ledger().imposed_signatures(&history).unwrap();
    let sale = history.iter().find(|(_, e)| matches!(e.event.body.payload, Payload::Handover { .. } if e.event.body.signer == exporter)).unwrap().0;
    assert_eq!(marks.get(&sale), Some(&vec![(kamara.clone(), nma.clone())]));

    // The accomplice's export bundle, verified offline with the root's key: valid, and marked.
    let root_key = w.sim.key(&w.c.root).unwrap().clone();
    w.sim.ledger_mut().publish_checkpoint(&root_key).unwrap();
    let bundle = w.sim.ledger().bundle(&text("SL-2026-009001").unwrap()).unwrap();
    let bytes = serde_json::to_vec(&bundle).unwrap();
    // The importer's trust policy: the log's root key, Sierra Leone's authority, no witnesses.
    let nma_key = w.sim.key(&nma).unwrap().public();
    let policy = format!(
        "log {}\n{ISSUER_KEYWORD} SL {}\nquorum none\n",
        log_vkey("kpledger.mru/regional", root_key.public()).unwrap().to_vkey(),
        issuer_vkey(nma.as_str(), nma_key).unwrap().to_vkey()
    );
    let trust = TrustPolicy::parse(policy.as_bytes()).unwrap();
    let report = kpledger_verify::verify_bundle(&bytes, &trust).unwrap();
    assert!(report.ok, "{:#?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.code == Rule::Gv4 && f.message.contains("the offer is signed by sl.dealer.kamara")),
        "the bundle does not show the imposed key: {:#?}",
        report.findings
    );
}

/// Item 6, variants: an ordinary rotation is signed by the actor with its old key and is no
/// finding; a rotation signed under an imposed key keeps the mark (an authority holding the
/// imposed key cannot launder it by "rotating as the actor"); a national authority cannot
/// rotate or revoke another authority, nor the root (CH-2).
#[test]
fn item6_ordinary_rotation_is_the_actors_and_marks_do_not_wash_out() {
    let mut w = world("item6v");
    let Cast { nma, mme, kamara, exporter, root, .. } = w.c.clone();
    let p = w.at_kamara(1250);
    let before = w.verify().len();
    w.sim.rotate(&kamara, &kamara, 1).unwrap(); // Kamara's own rotation
    assert_eq!(w.verify().len(), before, "an ordinary rotation is no finding");
    w.sim.rotate(&nma, &kamara, 2).unwrap(); // imposed
    w.sim.rotate(&kamara, &kamara, 3).unwrap(); // "by Kamara", under the imposed key
    w.sim.tick(1);
    w.sell(&kamara, &p, &exporter);
    let offer_marked = w.verify().iter().any(|f| f.code == Rule::Gv4 && f.message.contains("the offer"));
    assert!(offer_marked, "the mark survives a rotation signed under the imposed key");
    // Issue 20, item 5: only the root authority governs authorities.
    let key = w.sim.derive_key("lr.mme.spare", 0);
    let r = w.sim.submit(&mme, Payload::RotateKey { actor: root.clone(), key: key.public() });
    assert!(refused(r).contains("CH-2"));
    let r = w.sim.submit(&mme, Payload::Revoke { actor: nma.clone(), reason: text("takeover").unwrap() });
    assert!(refused(r).contains("CH-2"));
    let r = w.sim.submit(&nma, Payload::RotateKey { actor: mme.clone(), key: key.public() });
    assert!(refused(r).contains("CH-2"));
    // The root authority rotates its own key (ordinary) and imposes one on an authority.
    w.sim.rotate(&root, &root, 1).unwrap();
    w.sim.rotate(&root, &mme, 1).unwrap();
    assert!(w.verify().iter().any(|f| f.code == Rule::Gv4 && f.actor.as_ref() == Some(&mme)));
}

/// Item 2: a national authority (not the root) publishes a back-dated policy version with a
/// tolerance of 10^8 points, then re-publishes the original: both refused (GV-1). Loosening
/// within bounds is accepted with a GV-3 warning; and a dealer's re-weighing judged with the
/// policy in force at its own time.
#[test]
fn item2_a_national_authority_rewriting_its_policy() {
    let mut w = world("item2");
    let nma = w.c.nma.clone();
    let mut rogue = common::policy("SL");
    rogue.version = text("2025-01-01").unwrap();
    rogue.tolerance_pt = 100_000_000;
    rogue.participants.push(Country::new("SO").unwrap());
    rogue.export_duty_bp = 0;
    rogue.valuation_rule = kpledger_model::ValuationRule::Government;
    let r = w.sim.submit(&nma, Payload::Policy { policy: rogue.clone() });
    assert_eq!(refused(r), BTreeSet::from(["GV-1", "GV-2"]));
    // Within bounds and with a later version, still adding Somalia: a national authority
    // cannot make a country a Participant (GV-2), only the root can.
    rogue.version = text("2026-12-01").unwrap();
    rogue.tolerance_pt = 100;
    let r = w.sim.submit(&nma, Payload::Policy { policy: rogue.clone() });
    assert_eq!(refused(r), BTreeSet::from(["GV-2"]));
    // Without Somalia: accepted, and a regulator sees every loosening.
    rogue.participants.retain(|c| c.as_str() != "SO");
    w.sim.policy(&nma, rogue).unwrap();
    let gv3: Vec<Finding> = w.verify().into_iter().filter(|f| f.code == Rule::Gv3).collect();
    assert_eq!(gv3.len(), 1, "{gv3:#?}");
    for what in ["tolerance", "export duty", "valuation rule"] {
        assert!(gv3[0].message.contains(what), "{what} not listed: {}", gv3[0].message);
    }
    // Re-publishing the original afterwards, to cover the tracks: refused.
    w.sim.tick(5);
    let r = w.sim.submit(&nma, Payload::Policy { policy: common::policy("SL") });
    assert_eq!(refused(r), BTreeSet::from(["GV-1"]));
}

/// Item 2, standing: the root recorded Côte d'Ivoire's suspension in CI's policy; CI's own
/// authority cannot re-publish without it (GV-2), and while it holds no one certifies to or
/// from CI (KP-6), whatever another country's policy says.
#[test]
fn item2_standing_is_the_roots() {
    let mut w = world("item2s");
    let Cast { root, nma, kamara, exporter, pmt, .. } = w.c.clone();
    let ci = w
        .sim
        .enrol(&root, "ci.kp", "Secretariat Permanent du Processus de Kimberley", Role::Authority, "CI", None)
        .unwrap();
    w.sim.policy(&ci, common::policy("CI")).unwrap();
    let mut suspended = common::policy("CI");
    suspended.version = text("2026-12-01").unwrap();
    suspended.suspensions.push(kpledger_model::Suspension {
        country: Country::new("CI").unwrap(),
        from: kpledger_model::Date::new("2026-04-06").unwrap(),
        to: kpledger_model::Date::new("2027-04-05").unwrap(),
        reason: text("KP suspension").unwrap(),
    });
    w.sim.tick(1);
    w.sim.policy(&root, suspended).unwrap();
    w.sim.tick(2);
    let mut lifted = common::policy("CI");
    lifted.version = text("2026-12-02").unwrap();
    let r = w.sim.submit(&ci, Payload::Policy { policy: lifted });
    assert!(refused(r).contains("GV-2"));
    // Sierra Leone's own policy does not know of it; the certificate to CI is refused anyway.
    let p = w.at_kamara(1250);
    w.sell(&kamara, &p, &exporter);
    w.value_and_seal(&pmt, &nma, &p, "SL-SEAL-2026-0902");
    let mut to = World::to_antwerp();
    to.country = Country::new("CI").unwrap();
    let draft = w.sim.draft_certificate("SL-2026-009002", &nma, &exporter, to, &[p], 60).unwrap();
    assert!(refused(w.sim.certify(&nma, draft.clone())).contains("KP-6"));
    // Sierra Leone's authority cannot add Somalia to its Participants (GV-2: only the root
    // makes a country a Participant); and whatever a national list says, the root's list does
    // not have it, so a certificate to Somalia is refused.
    let mut sl = common::policy("SL");
    sl.version = text("2026-12-01").unwrap();
    sl.participants.push(Country::new("SO").unwrap());
    assert_eq!(refused(w.sim.submit(&nma, Payload::Policy { policy: sl })), BTreeSet::from(["GV-2"]));
    w.sim.tick(1);
    let mut to_so = draft;
    to_so.importer.country = Country::new("SO").unwrap();
    to_so.date_of_issue = w.sim.now().date();
    let codes = refused(w.sim.certify(&nma, to_so));
    assert_eq!(codes, BTreeSet::from(["KP-6"]));
}

/// Item 1: Liberia honestly imports 500 ct of mixed origin from Belgium with no breakdown;
/// merged with 1.00 ct of Liberian production, the lot cannot be certified as Liberian
/// (KP-5), and Liberia's conclusive-evidence-of-origin rule refuses it too (EX-3). The
/// certificate `draft_certificate` fills in says mixed, and the statistics agree.
#[test]
fn item1_unknown_origin_is_never_laundered() {
    let mut w = world("item1");
    let Cast { mme, lr_miner, lr_exporter, gdo, weasua, .. } = w.c.clone();
    let own = w.sim.extract(&lr_miner, &weasua, Points(100), 2, "7102.31").unwrap();
    w.sim.tick(30);
    let lr_dealer_free = common::policy("LR").allowed_transfers.contains(&[Role::Miner, Role::Exporter]);
    if lr_dealer_free {
        w.sell(&lr_miner, &own, &lr_exporter);
    } else {
        let known = cast::Cast::default().and(MME.id, mme.clone());
        let kpoto =
            cast::build_on(&mut w.sim, known, &[Enrol(MME.id, KPOTO)], &Terms::published()).actor(KPOTO.id);
        w.sell(&lr_miner, &own, &kpoto);
        w.sell(&kpoto, &own, &lr_exporter);
    }
    let issuer = ("BE", "FPS Economy, Diamond Office Antwerp");
    let trade = ("Antwerp Rough Traders BVBA", "Liberty Rough Exports Inc");
    let be = mixed_origin(&w, "BE-2026-118201", issuer, trade, 50_000, Vec::new());
    let imported = admitted(&mut w, &mme, &lr_exporter, 800, be);
    let lot = w.sim.merge(&lr_exporter, &[own, imported]).unwrap();
    w.sim.tick(60);
    let state = w.sim.parcel(&lot).unwrap();
    assert!(state.origin_unknown && state.origin_countries == BTreeSet::from([Country::new("LR").unwrap()]));
    w.value_and_seal(&gdo, &mme, &lot, "LR-SEAL-2026-0901");
    let draft = w
        .sim
        .draft_certificate("LR-2026-009001", &mme, &lr_exporter, World::to_antwerp(), &[lot], 60)
        .unwrap();
    assert_eq!(draft.country_of_origin, OriginClaim::Mixed, "the certificate fills in mixed origin");
    let mut forged = draft.clone();
    forged.country_of_origin = OriginClaim::Single(Country::new("LR").unwrap());
    let r = refused(w.sim.certify(&mme, forged));
    assert!(r.contains("KP-5") && r.contains("EX-3"), "{r:?}");
    // Variant: the lot split in two, the smaller part (1.00 ct, the weight of the Liberian
    // stones) is still of partly unknown origin and cannot be certified as Liberian.
    let parts = w.sim.split(&lr_exporter, &lot, &[Points(100), Points(50_000)]);
    assert!(parts.is_err(), "a sealed lot cannot be split");
    w.sim.certify(&mme, draft).unwrap();
    w.sim.tick(60);
    w.sim.export(&mme, "LR-2026-009001").unwrap();
    let own2 = w.sim.extract(&lr_miner, &weasua, Points(100), 2, "7102.31").unwrap();
    let state = w.sim.parcel(&own2).unwrap();
    assert!(!state.origin_unknown, "an extraction's origin is known");
}

/// Item 1, variant: the unknown share survives a split then a merge: the small part of a
/// split mixed import, merged with domestic production, is still refused as single origin.
#[test]
fn item1_unknown_origin_survives_split_and_merge() {
    let mut w = world("item1v");
    let Cast { nma, miner, kamara, exporter, pmt, koidu, .. } = w.c.clone();
    let issuer = ("AE", "Dubai Multi Commodities Centre, KP Office");
    let trade = ("Gulf Rough Trading DMCC", "Kono Gems Export Ltd");
    // One country named on a mixed certificate: the rest is unknown.
    let ae = mixed_origin(&w, "AE-2026-000771", issuer, trade, 20_000, vec![Country::new("SL").unwrap()]);
    let imported = admitted(&mut w, &nma, &exporter, 300, ae);
    let parts = w.sim.split(&exporter, &imported, &[Points(100), Points(19_900)]).unwrap();
    w.sim.tick(30);
    let own = w.sim.extract(&miner, &koidu, Points(100), 2, "7102.31").unwrap();
    w.sim.tick(30);
    w.sell(&miner, &own, &kamara);
    w.sell(&kamara, &own, &exporter);
    let lot = w.sim.merge(&exporter, &[own, parts[0]]).unwrap();
    w.sim.tick(30);
    let state = w.sim.parcel(&lot).unwrap();
    assert!(state.origin_unknown && state.origin_countries == BTreeSet::from([Country::new("SL").unwrap()]));
    w.value_and_seal(&pmt, &nma, &lot, "SL-SEAL-2026-0903");
    let draft =
        w.sim.draft_certificate("SL-2026-009003", &nma, &exporter, World::to_antwerp(), &[lot], 60).unwrap();
    assert_eq!(draft.country_of_origin, OriginClaim::Mixed);
    let mut forged = draft;
    forged.country_of_origin = OriginClaim::Single(Country::new("SL").unwrap());
    assert!(refused(w.sim.certify(&nma, forged)).contains("KP-5"));
}

/// Items 3 and 4: a certificate backdated to before a suspension, a licence's end and a
/// revocation (KP-4); exports judged on their own day (KP-6, EX-3); a certificate to the
/// issuing country itself (KP-6); a confirmation by the issuer (IM-1) or handing the goods to
/// someone else than the importer (IM-1).
#[test]
fn items3_4_5_acts_judged_on_their_own_day_and_certificates_that_cover_no_shipment() {
    let mut w = world("item345");
    let (nma, mme, exporter, lr_exporter, lr_miner) = w.trade_actors();
    let p = w.sealed_at_exporter(4000, "SL-SEAL-2026-0904");
    // Backdated: signed today with a date of issue 47 days ago.
    let mut to_lr = World::to_antwerp();
    to_lr.name = text("Liberty Rough Exports Inc").unwrap();
    to_lr.country = Country::new("LR").unwrap();
    to_lr.actor = Some(lr_exporter.clone());
    let mut draft =
        w.sim.draft_certificate("SL-2026-009004", &nma, &exporter, to_lr.clone(), &[p], 365).unwrap();
    let honest_date = draft.date_of_issue.clone();
    draft.date_of_issue = Time::from_unix(w.sim.now().unix() - 47 * 86_400).date();
    assert!(refused(w.sim.certify(&nma, draft.clone())).contains("KP-4"));
    // To Sierra Leone itself: refused.
    let mut own = draft.clone();
    own.date_of_issue = honest_date.clone();
    own.importer = CertImporter { country: Country::new("SL").unwrap(), actor: None, ..World::to_antwerp() };
    assert!(refused(w.sim.certify(&nma, own)).contains("KP-6"));
    // Honest, then the destination is suspended and the exporter revoked before it leaves.
    draft.date_of_issue = honest_date;
    w.sim.certify(&nma, draft).unwrap();
    w.sim.tick(60);
    let mut sl = common::policy("SL");
    sl.version = text("2026-12-01").unwrap();
    sl.suspensions.push(kpledger_model::Suspension {
        country: Country::new("LR").unwrap(),
        from: w.sim.now().date(),
        to: kpledger_model::Date::new("2027-12-31").unwrap(),
        reason: text("KP suspension").unwrap(),
    });
    w.sim.policy(&nma, sl.clone()).unwrap();
    w.sim.submit(&nma, Payload::Revoke { actor: exporter.clone(), reason: text("fraud").unwrap() }).unwrap();
    w.sim.tick(60);
    let r = refused(w.sim.export(&nma, "SL-2026-009004"));
    assert!(r.contains("KP-6") && r.contains("EX-3"), "{r:?}");
    // The root lifts the suspension (a visible loosening); still the revoked exporter's.
    sl.version = text("2026-12-02").unwrap();
    sl.suspensions.clear();
    let root = w.c.root.clone();
    w.sim.policy(&root, sl).unwrap();
    w.sim.tick(60);
    assert_eq!(refused(w.sim.export(&nma, "SL-2026-009004")), BTreeSet::from(["EX-3"]));
    assert!(w.verify().iter().any(|f| f.code == Rule::Gv3 && f.message.contains("lifted")));
    let _ = (mme, lr_miner);
}

/// Item 5: a confirmation of a certificate whose importer is bound to Liberty Rough Exports
/// gives custody to a miner (IM-1); the issuer cannot confirm its own shipment (IM-1).
#[test]
fn item5_custody_goes_to_the_certificates_importer() {
    let mut w = world("item5");
    let (nma, mme, exporter, lr_exporter, lr_miner) = w.trade_actors();
    let p = w.sealed_at_exporter(4000, "SL-SEAL-2026-0905");
    let to_lr = CertImporter {
        name: text("Liberty Rough Exports Inc").unwrap(),
        address: text("Randall Street, Monrovia").unwrap(),
        country: Country::new("LR").unwrap(),
        actor: Some(lr_exporter.clone()),
    };
    let draft = w.sim.draft_certificate("SL-2026-009005", &nma, &exporter, to_lr, &[p], 60).unwrap();
    w.sim.certify(&nma, draft).unwrap();
    w.sim.tick(60);
    w.sim.export(&nma, "SL-2026-009005").unwrap();
    w.sim.tick(24 * 60);
    assert!(refused(w.sim.confirm_import(&mme, "SL-2026-009005", &lr_miner)).contains("IM-1"));
    assert!(refused(w.sim.confirm_import(&nma, "SL-2026-009005", &exporter)).contains("IM-1"));
    w.sim.confirm_import(&mme, "SL-2026-009005", &lr_exporter).unwrap();
    assert_eq!(w.sim.parcel(&p).unwrap().holder, lr_exporter);
}
