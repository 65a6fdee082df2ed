//! Second red-team review: attacks on the build after issues 14 and 21, rebuilt with the
//! simulator (`kpledger_core::sim`, through `Ledger::append` like every ingest) and, for
//! bundles, judged by `verify_bundle` under an importer's trust policy.
//!
//! Each test builds one attack and asserts what a sound system must do (a rule code). The
//! world: a regional ledger (root `mru.secretariat`, genesis country SL, as in the demo);
//! Sierra Leone's and Liberia's authorities enrolled by the root, each publishing its own
//! policy; in Sierra Leone a mine site, a licensed miner, a dealer, an exporter (enrolled with
//! its address) and the valuer; in Liberia the licensed dealer "Liberty Rough Exports".

// Tests: a failed unwrap is a failed test, and the panic says where.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::policy;
use kpledger_core::sim::{licence, site, text};
use kpledger_model::{
    ActorId, Bundle, CertImporter, Country, Date, ForeignCertificate, HsCode, OriginClaim, ParcelId, Payload,
    Points, Role,
};
use kpledger_testkit::Regional;
use kpledger_testkit::events::{foreign_certificate, import_shipment};
use kpledger_verify::{Report, TrustPolicy, verify_bundle};

const SEED: &str = "kpledger-redteam2-v1";
const LIBERTY: &str = "Liberty Rough Exports";

type World = Regional;

fn id(s: &str) -> ActorId {
    ActorId::new(s).unwrap()
}

fn world(tag: &str) -> World {
    Regional::new(&format!("redteam2-{tag}"), SEED, None)
}

/// Liberty Rough Exports as the certificate's importer, named by its actor id.
fn to_liberty() -> CertImporter {
    kpledger_testkit::to_liberty(Some(id("lr.dealer.liberty")))
}

fn verify(bundle: &Bundle, policy: &TrustPolicy) -> Report {
    verify_bundle(&serde_json::to_vec_pretty(bundle).unwrap(), policy).unwrap()
}

fn error_codes(report: &Report) -> BTreeSet<&'static str> {
    report.findings.iter().filter(|f| f.is_error()).map(|f| f.code.code()).collect()
}

/// A foreign certificate of `pt` rough 7102.31 from `country`, single origin `country`.
fn foreign(number: &str, country: &str, importer: &str, pt: u64, valid: (Date, Date)) -> ForeignCertificate {
    let issuer = (country, &*format!("KP authority of {country}"));
    foreign_certificate(number, issuer, ("Guinea Rough SARL", importer), pt, valid)
}

/// The world `tag`, in which a paper Guinean certificate (`papers.0`) for 5,000 ct is
/// admitted by `admitter` into the SL exporter's custody, and the lot sealed (`papers.1`),
/// certified by the NMA (`papers.2`) to Antwerp and exported: the world and the bundle.
fn guinean_lot_exported(
    tag: &str,
    admitter: fn(&World) -> ActorId,
    (paper, seal, number): (&str, &str, &str),
) -> (World, Bundle) {
    let mut w = world(tag);
    let (by, exporter) = (admitter(&w), w.exporter.clone());
    let valid = (w.sim.now().date(), Date::new("2026-06-30").unwrap());
    let paper = foreign(paper, "GN", "Kono Gems Export Ltd", 500_000, valid);
    let import = import_shipment(&mut w.sim, &exporter, &[(500_000, 900, "7102.31")], paper);
    let lot = import.import_parcels()[0].parcel;
    w.sim.submit(&by, import).unwrap();
    w.sim.tick(60);
    let bundle = w.exported(&lot, seal, number);
    (w, bundle)
}

/// ATTACK (the regional root, i.e. whoever holds the log key): the root authority's genesis
/// says country SL, so the rules let it act as Sierra Leone's importing authority. It admits a
/// paper "Guinean" certificate, GN-2026-000999, for 5,000 ct straight into the SL exporter's
/// custody: lawful-import provenance minted by the log operator. The genuine `sl.nma` (the
/// only issuer the importer's policy trusts for SL) then certifies the lot, correctly by the
/// ledger's rules (mixed origin is not claimed: GN origin, with import provenance), and
/// exports it to Antwerp. The bundle replays the import, and KP-7 against the policy looks only
/// at `certificate` events: the log key holder decides what was lawfully imported into SL.
///
/// Correct: the act that vouches for a foreign certificate at import is the importing
/// country's KP authority's, as a certificate is the issuing country's (KPCS Section IV): under
/// the trust policy, an `import` in the bundle is by an authority the policy pins for the
/// importing country (KP-7), as the root's own certificate is refused
/// (`trust_attacks.rs::genuine_root_issuing_as_sierra_leone_is_kp7`).
#[test]
fn redteam2_root_admits_a_paper_import_that_sierra_leone_then_certifies() {
    // The ledger's rules accept the root as SL's importing authority.
    let papers = ("GN-2026-000999", "SL-SEAL-2026-0201", "SL-2026-004401");
    let (w, bundle) = guinean_lot_exported("root-import", |w| w.root.clone(), papers);
    let recorded = w.sim.ledger().certificate(&text("SL-2026-004401").unwrap()).unwrap().unwrap();
    assert_eq!(recorded.certificate.country_of_origin, OriginClaim::Single(Country::new("GN").unwrap()));
    let report = verify(&bundle, &w.trust_policy());
    assert!(
        error_codes(&report).contains("KP-7"),
        "5,000 ct admitted into SL by the log's root, not by SL's authority, verified: {:#?}",
        report.findings
    );
}

/// The control of the attack above: the same lot admitted by Sierra Leone's own authority
/// verifies, so the refusal is about who admitted it.
#[test]
fn redteam2_an_import_by_the_countrys_own_authority_verifies() {
    let papers = ("GN-2026-000998", "SL-SEAL-2026-0202", "SL-2026-004402");
    let (w, bundle) = guinean_lot_exported("nma-import", |w| w.nma.clone(), papers);
    let report = verify(&bundle, &w.trust_policy());
    assert!(report.ok, "{:#?}", report.findings);
}

/// ATTACK (corrupt national official, `sl.nma`): one KP certificate number on two shipments.
/// SL-2026-004312 is issued for one lot; then "SL/2026/004312" (the same number to a reader,
/// and the same certificate by the import key that KP-2 uses for foreign certificates,
/// docs/SPEC.md §10.3 `import`) for a second lot. The certificate rule looks a number up byte
/// for byte, so the second is accepted: two shipments travel under one certificate number,
/// and an importer that admits both as foreign certificates is refused the second (KP-2)
/// while the exporting ledger VERIFIES both.
///
/// Correct: refused (KP-2): a number is used once, compared as KP-2 compares foreign numbers.
#[test]
fn redteam2_own_certificate_number_respelled_is_refused() {
    let mut w = world("respelled-own");
    let nma = w.nma.clone();
    let a = w.mined_to_exporter(1250);
    w.value_and_seal(&a, &nma, &["SL-SEAL-2026-0301"]);
    let c = w.draft("SL-2026-004312", &[a], to_liberty());
    w.sim.certify(&nma, c).unwrap();
    w.sim.tick(60);
    for respelled in ["SL/2026/004312", "SL2026004312", "SL.2026-004312"] {
        let b = w.mined_to_exporter(800);
        w.value_and_seal(&b, &nma, &["SL-SEAL-2026-0302"]);
        let c = w.draft(respelled, &[b], to_liberty());
        let ev = w.sim.sign(&nma, Payload::Certificate { certificate: c }).unwrap();
        w.assert_refuses(&ev, &["KP-2"], &format!("certificate {respelled} after SL-2026-004312"));
    }
}

/// ATTACK (smuggler with a mining licence, or a corrupt importing authority): weights beyond
/// any parcel, to make the statistics' plain `u64` sums (`kpledger_report::stats`) wrap around:
/// 2,048 extractions of 2^53−1 points (90 billion carats) plus one of 32.98 ct add up to 12.50 ct
/// modulo 2^64. The rules do not bound an extraction's weight, but no such event can reach them
/// from a file: the reader refuses a weight beyond `MAX_WEIGHT_PT` (1,000,000 ct) and an amount
/// beyond `MAX_CENTS` (exit 2 at ingest), so every sum stays far below 2^64. Kept as a regression
/// test of the reader, for every kind that brings a weight into the ledger.
#[test]
fn redteam2_weights_beyond_the_documented_maximum_never_reach_the_rules() {
    let w = world("max-weight");
    let huge = (1u64 << 53) - 1;
    let valid = (w.sim.now().date(), Date::new("2026-06-30").unwrap());
    let mut paper = foreign("GN-2026-000700", "GN", LIBERTY, 100, valid);
    paper.lines[0].carats_pt = Points(huge);
    let payloads = [
        (
            &w.miner,
            Payload::Extraction {
                parcel: ParcelId::nil(),
                site: w.koidu.clone(),
                weight_pt: Points(huge),
                stones: 40,
                hs_code: HsCode::new("7102.31").unwrap(),
            },
        ),
        (
            &w.mme,
            Payload::Import {
                parcel: ParcelId::nil(),
                holder: id("lr.dealer.liberty"),
                weight_pt: Points(kpledger_model::MAX_WEIGHT_PT),
                stones: 300,
                hs_code: HsCode::new("7102.31").unwrap(),
                more_parcels: Vec::new(),
                certificate: paper,
            },
        ),
    ];
    for (signer, payload) in payloads {
        let ev = w.sim.sign(signer, payload).unwrap();
        let bytes = kpledger_model::canonical::to_canonical(&ev.event).unwrap();
        let read = kpledger_model::Event::parse(&bytes);
        assert!(
            read.is_err(),
            "an event carrying {huge} points was read: {:?}",
            ev.event.body.payload.kind()
        );
    }
}

/// ATTACK (a suspended Participant's authority, `lr.mme`): the root authority records
/// Liberia's KP suspension (in a root-signed version of Sierra Leone's policy, which KP-6
/// applies to every country). During it, Liberia's authority admits a paper Guinean certificate
/// for 100 ct: the import rule checks the EXPORTING country's standing (GN) by Liberia's own
/// policy, never the importing country's, so a suspended Participant keeps receiving rough,
/// with lawful-import provenance, which it can export once the suspension ends (KPCS Section III
/// (c): trade only with Participants; a suspended Participant is not one while suspended).
///
/// Correct: refused (KP-6): the importing country, too, is a Participant not suspended on the
/// day of the import.
#[test]
fn redteam2_a_suspended_country_admitting_an_import_is_refused() {
    let mut w = world("suspended-importer");
    let today = w.root_suspends_liberia();
    let mme = w.mme.clone();
    let valid = (today, Date::new("2026-06-30").unwrap());
    let paper = foreign("GN-2026-000701", "GN", LIBERTY, 10_000, valid);
    let payload = import_shipment(&mut w.sim, &id("lr.dealer.liberty"), &[(10_000, 120, "7102.31")], paper);
    w.assert_refused(&mme, payload, &["KP-6"], "an import into Liberia while Liberia is suspended");
}

/// ATTACK (a receiving holder with a lenient authority; the class of "re-weighs at import
/// confirmation"): Sierra Leone certifies 12.50 ct to Liberty Rough Exports; Liberia's
/// authority weighs the shipment on receipt and confirms 12.49 ct, a point short, within its
/// tolerance, so IM-1 accepts it. The parcels keep the 12.50 ct they were sealed at: Liberty
/// holds a point more than was received, and can certify it onwards (MB-5 sums the parcels'
/// weights). docs/SPEC.md §10.1 says the confirmation carries forward `carats_pt`, the lower
/// reading, as every weighing does ("an honest receiver whose scale reads less records less");
/// a national authority may raise its tolerance to 100 points (GV-3 is only a warning), so one
/// carat per shipment could be carried that no scale saw.
///
/// Correct: the weight carried forward by a confirmation is the carats received: the
/// certificate's parcels weigh `carats_pt` in all after it.
/// 12.50 ct and 8.00 ct mined, sealed, certified as `number` to Liberty and exported.
fn shipped_to_liberty(w: &mut World, number: &str) -> [ParcelId; 2] {
    let nma = w.nma.clone();
    let a = w.mined_to_exporter(1250);
    let b = w.mined_to_exporter(800);
    w.value_and_seal(&a, &nma, &["SL-SEAL-2026-0501"]);
    w.value_and_seal(&b, &nma, &["SL-SEAL-2026-0501"]);
    let c = w.draft(number, &[a, b], to_liberty());
    w.sim.certify(&nma, c).unwrap();
    w.sim.tick(60);
    w.sim.export(&nma, number).unwrap();
    w.sim.tick(24 * 60);
    [a, b]
}

/// Liberia's confirmation of `number`'s receipt, `pt` weighed.
fn confirmation(w: &World, number: &str, pt: u64) -> Payload {
    let mut confirmation = kpledger_testkit::events::confirmation(&w.sim, number, &id("lr.dealer.liberty"));
    confirmation.carats_pt = Points(pt);
    Payload::ImportConfirmation { confirmation }
}

#[test]
fn redteam2_import_confirmation_carries_the_lower_reading() {
    let mut w = world("confirmation-reading");
    let [a, b] = shipped_to_liberty(&mut w, "SL-2026-004601");
    let confirmation = confirmation(&w, "SL-2026-004601", 2049);
    let mme = w.mme.clone();
    w.sim.submit(&mme, confirmation).unwrap();
    let held: u64 = [a, b].iter().map(|p| w.sim.parcel(p).unwrap().weight_pt.0).sum();
    assert_eq!(held, 2049, "Liberty holds {held} points after a confirmation of 20.49 ct received");
    // And the whole ledger, replayed, agrees with what the store derived.
    w.assert_verifies();
}

/// ATTACK (the same class, at a transit): the shipment of 20.50 ct crosses Guinea, whose
/// authority records it entering and leaving at 20.49 ct (a point short, within the issuing
/// country's tolerance: TR-1 accepts it); Liberia then confirms receipt of 20.50 ct, the
/// certificate's figure. The confirmation was compared with the certificate only: a point lost
/// on the way is found again on arrival, and the weight carried grows between two weighings of
/// the same sealed container.
///
/// Correct: a transit carries forward its reading as every weighing does, and the confirmation
/// never records more than the shipment carried (IM-1); the parcels weigh 20.49 ct after the
/// transit.
#[test]
fn redteam2_a_point_lost_in_transit_is_not_found_on_arrival() {
    let mut w = world("transit-reading");
    let root = w.root.clone();
    let gn =
        w.sim.enrol(&root, "gn.mines", "Ministere des Mines de Guinee", Role::Authority, "GN", None).unwrap();
    w.sim.policy(&gn, policy("GN")).unwrap();
    let [a, b] = shipped_to_liberty(&mut w, "SL-2026-004602");
    // Weighed 20.49 ct in and out (the certificate says 20.50 ct).
    let mut transit = kpledger_testkit::events::transit(&w.sim, "SL-2026-004602", "GN");
    if let Payload::Transit { carats_in_pt, carats_out_pt, .. } = &mut transit {
        (*carats_in_pt, *carats_out_pt) = (Points(2049), Points(2049));
    }
    w.sim.submit(&gn, transit).unwrap();
    w.sim.tick(60);
    let held: u64 = [a, b].iter().map(|p| w.sim.parcel(p).unwrap().weight_pt.0).sum();
    assert_eq!(held, 2049, "the shipment weighs {held} points after a transit that weighed 20.49 ct");
    let found_again = confirmation(&w, "SL-2026-004602", 2050);
    w.assert_refused(&w.mme, found_again, &["IM-1"], "20.50 ct received after 20.49 ct left Guinea");
    w.assert_verifies();
}

/// ATTACK (corrupt Liberian official, `lr.mme`): Sierra Leone's authority is a member of this
/// regional ledger, so every certificate it issued since it was enrolled is recorded here.
/// `lr.mme` admits a paper import of "SL-2026-009999", a number Sierra Leone never issued,
/// 2,000 ct of single origin SL, dated after SL's authority joined the ledger. Nothing in the
/// ledger vouches for it but `lr.mme`'s word: 2,000 ct of Sierra Leone provenance from paper,
/// which Liberia can certify and export.
///
/// Correct: a certificate of a country whose KP authority records its certificates in this
/// ledger, dated after it joined, is received by import confirmation, not as paper (KP-2).
#[test]
fn redteam2_paper_import_of_a_member_countrys_unrecorded_certificate_is_refused() {
    let mut w = world("paper-member");
    let mme = w.mme.clone();
    let valid = (w.sim.now().date(), Date::new("2026-06-30").unwrap());
    let mut paper = foreign("SL-2026-009999", "SL", LIBERTY, 200_000, valid);
    paper.exporter = text("Kono Gems Export Ltd").unwrap();
    paper.issuing_authority = text("National Minerals Agency of Sierra Leone").unwrap();
    let payload = import_shipment(&mut w.sim, &id("lr.dealer.liberty"), &[(200_000, 300, "7102.31")], paper);
    w.assert_refused(&mme, payload, &["KP-2", "KP-7", "IM-1"], "a paper SL certificate SL never issued");
}

/// ATTACK (the regional root, i.e. whoever holds the log key, as Sierra Leone's registrar):
/// the root registers a mine site in Sierra Leone and enrols a miner of its own with a licence
/// for it (the ledger's rules let the root enrol for any country). The front miner "extracts"
/// 5,000 ct and sells them through the genuine dealer to the genuine exporter; Sierra Leone's
/// trusted authority values, seals, certifies and exports the lot, as it would any lot its
/// exporter presents. The bundle said VERIFIED under a policy that trusts only `sl.nma` for SL.
///
/// Correct: refused (KP-7): a trader or a mine site of SL exists, for an importer, only on
/// the word of SL's pinned authority (docs/SPEC.md §14.3 step 4).
#[test]
fn redteam2_the_root_as_registrar_enrols_a_front_miner_is_refused() {
    let mut w = world("root-registrar");
    let root = w.root.clone();
    let claim = w
        .sim
        .site(&root, site("sl.kono.claim-9", "Claim 9", "SL", "Kono", "8.6,-10.9", 8_000).unwrap())
        .unwrap();
    let front = w
        .sim
        .enrol(
            &root,
            "sl.miner.front",
            "Front Mining",
            Role::Miner,
            "SL",
            Some(licence("NMA/AML/2026/0999", "artisanal", "2026-01-01", "2026-12-31", &[&claim]).unwrap()),
        )
        .unwrap();
    w.sim.tick(60);
    let (dealer, exporter) = (w.dealer.clone(), w.exporter.clone());
    let lot = w.sim.extract(&front, &claim, Points(500_000), 900, "7102.31").unwrap();
    w.sim.tick(30);
    w.sell(&front, &lot, &dealer);
    w.sell(&dealer, &lot, &exporter);
    let bundle = w.exported(&lot, "SL-SEAL-2026-0301", "SL-2026-004501");
    let report = verify(&bundle, &w.trust_policy());
    let kp7: Vec<&str> =
        report.findings.iter().filter(|f| f.code.code() == "KP-7").map(|f| f.message.as_str()).collect();
    assert!(
        kp7.iter().any(|m| m.contains("sl.miner.front") && m.contains("enrolled"))
            && kp7.iter().any(|m| m.contains("sl.kono.claim-9") && m.contains("registered")),
        "a miner and a site registered by the log's root, not by SL's authority, verified: {:#?}",
        report.findings
    );
}

/// ATTACK, the same class by another door: the root imposes a key of its own on the genuine
/// miner (`rotate_key` signed by the root: a GV-4 red flag in the ledger, no error), then
/// signs an extraction of 5,000 ct as that miner, which Sierra Leone's authority certifies.
///
/// Correct: refused (KP-7): a key imposed on a trader is, like an enrolment, the act of the
/// trader's country's pinned authority.
#[test]
fn redteam2_the_root_imposing_a_key_on_a_trader_is_refused() {
    let mut w = world("root-imposes");
    let (root, miner) = (w.root.clone(), w.miner.clone());
    w.sim.rotate(&root, &miner, 1).unwrap();
    w.sim.tick(60);
    let lot = w.mined_to_exporter(500_000);
    let bundle = w.exported(&lot, "SL-SEAL-2026-0302", "SL-2026-004502");
    let report = verify(&bundle, &w.trust_policy());
    assert!(
        report.findings.iter().any(|f| f.code.code() == "KP-7"
            && f.message.contains("imposed")
            && f.message.contains("sl.miner.koroma")),
        "a key imposed by the log's root on an SL miner verified: {:#?}",
        report.findings
    );
}
