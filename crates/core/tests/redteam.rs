//! Red-team attacks on the soundness fixes of issues 14, 20 and 21, rebuilt with the simulator
//! (`kpledger_core::sim`, so through `Ledger::append` like every ingest).
//!
//! Each test builds one attack and asserts the CORRECT behaviour (the event refused with a rule
//! code, or the whole ledger refused), so each fails on the build it was written against.
//!
//! The world: a regional ledger (root `mru.secretariat`, as in the demo), Sierra Leone's and
//! Liberia's authorities enrolled by the root, each with its published policy; in Sierra Leone
//! a mine site, a licensed miner, a dealer, an exporter and the PMT valuer; in Liberia the
//! licensed importer "Liberty Rough Exports".

// Tests: a failed unwrap is a failed test, and the panic says where.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::policy;
use kpledger_core::sim::{licence, text};
use kpledger_model::{ActorId, Cents, Country, Date, Payload, Points, Role, Time};
use kpledger_testkit::{Regional, to_liberty};

const SEED: &str = "kpledger-redteam-v1";
const CERT: &str = "SL-2026-004312";
const LIBERTY: &str = "Liberty Rough Exports";

type World = Regional;

fn id(s: &str) -> ActorId {
    ActorId::new(s).unwrap()
}

/// The regional world; the miner's licence runs from `miner_licence.0` to `.1`.
fn world(tag: &str, miner_licence: (&str, &str)) -> World {
    Regional::new(&format!("redteam-{tag}"), SEED, Some(miner_licence))
}

/// The regional world, the miners licensed for 2026, with the shipment `CERT` certified to
/// Liberty Rough Exports (by name only) and exported by the NMA a day ago.
fn exported_to_liberty(tag: &str) -> World {
    let mut w = world(tag, ("2026-01-01", "2026-12-31"));
    w.certified_to(CERT, to_liberty(None));
    let nma = w.nma.clone();
    w.sim.export(&nma, CERT).unwrap();
    w.sim.tick(24 * 60);
    w
}

/// ATTACK (corrupt national official, `sl.nma`): the root authority records Liberia's KP
/// suspension (from today) in a root-signed version of Sierra Leone's policy, which KP-6
/// applies whatever Sierra Leone says (GV-2). `sl.nma` then records the export of a lot it
/// had certified to Liberia, signing the export with a time two hours BEFORE the root's
/// suspension event, although it appends it after. The export is judged with the policy "in
/// force" at the time it claims (`State::policy_at`, `PolicyHistory::root_at` in
/// `rules.rs::participant`), which does not hold the suspension yet: accepted.
///
/// Correct: an event cannot be dated before an event already in the log (beyond a
/// documented skew), so the export is refused (CH-4), or is judged against the suspension
/// (KP-6).
#[test]
fn redteam_export_backdated_before_root_suspension_is_refused() {
    let mut w = world("backdated-export", ("2026-01-01", "2026-12-31"));
    w.certified_to(CERT, to_liberty(None));
    w.sim.tick(4 * 60);
    let today = w.root_suspends_liberia();
    // The control: exported now, the shipment is refused with KP-6.
    let refs = w.sim.current_refs(CERT).unwrap();
    let now = w
        .sim
        .sign(&w.nma, Payload::Export { certificate: text(CERT).unwrap(), parcels: refs.clone() })
        .unwrap();
    w.assert_refuses(&now, &["KP-6"], "the export after the suspension (control)");
    // The attack: the same export, signed as if made three hours ago (same day).
    w.sim.tick(-180);
    assert_eq!(w.sim.now().date(), today);
    let backdated =
        w.sim.sign(&w.nma, Payload::Export { certificate: text(CERT).unwrap(), parcels: refs }).unwrap();
    w.assert_refuses(&backdated, &["CH-4", "KP-6"], "the export back-dated before the suspension");
}

/// ATTACK (smuggler: a miner whose licence has ended): the miner's licence ended on
/// 2026-03-02. Three days later (other events recorded in between) the miner registers
/// 50.00 ct of "production" signed with a time on the last day of the licence. LC-1 checks
/// the licence at the time the event claims, and CH-4 only orders events of one parcel: a new
/// parcel has no earlier event, so any past time passes. Accepted: stones of unknown source
/// enter the ledger as licensed production.
///
/// Correct: an event is not dated before the events already in the log (beyond a documented
/// skew): refused (CH-4), or judged at the time it is recorded (LC-1).
#[test]
fn redteam_extraction_backdated_into_ended_licence_is_refused() {
    let mut w = world("backdated-extraction", ("2026-01-01", "2026-03-02"));
    w.sim.tick(3 * 24 * 60);
    // Life goes on: the NMA enrols a second valuer, recorded now (2026-03-05).
    let nma = w.nma.clone();
    w.sim.enrol(&nma, "sl.pmt.kenema", "PMT Kenema office", Role::Valuer, "SL", None).unwrap();
    w.sim.tick(60);
    let koidu = w.koidu.clone();
    let miner = w.miner.clone();
    // The control: registered now, the extraction is refused (LC-1, licence ended).
    let parcel = w.sim.new_parcel_id();
    let hs = kpledger_model::HsCode::new("7102.31").unwrap();
    let now = w
        .sim
        .sign(
            &miner,
            Payload::Extraction {
                parcel,
                site: koidu.clone(),
                weight_pt: Points(5000),
                stones: 40,
                hs_code: hs.clone(),
            },
        )
        .unwrap();
    w.assert_refuses(&now, &["LC-1"], "the extraction after the licence ended (control)");
    // The attack: the same extraction signed with a time on the licence's last day.
    let back = Time::new("2026-03-02T17:00:00Z").unwrap();
    w.sim.tick(-((w.sim.now().unix() - back.unix()) / 60));
    let parcel = w.sim.new_parcel_id();
    let backdated = w
        .sim
        .sign(
            &miner,
            Payload::Extraction { parcel, site: koidu, weight_pt: Points(5000), stones: 40, hs_code: hs },
        )
        .unwrap();
    w.assert_refuses(&backdated, &["CH-4", "LC-1"], "the extraction back-dated into the licence");
}

/// ATTACK (corrupt authority of the destination, `lr.mme`): the certificate names its importer
/// "Liberty Rough Exports" by name only (`importer.actor` absent, as in every certificate the
/// demo issues). `lr.mme` enrols a front, `lr.dealer.front`, under the SAME name, and confirms
/// the import giving custody to the front. `bound_importer` (rules.rs) falls back to comparing
/// names when the certificate binds no actor, and names are not unique at enrolment: accepted,
/// and the real importer never receives the goods (issue 21 item 5: custody "checked by
/// enrolment identity, not by name text").
///
/// Correct: refused (IM-1): custody goes to the certificate's importer by enrolment, so a
/// certificate to an importer enrolled in the ledger must bind it, or a name must designate a
/// single enrolled actor (an enrolment reusing a trader's name in the same country refused).
#[test]
fn redteam_import_confirmation_to_a_namesake_front_is_refused() {
    let mut w = exported_to_liberty("namesake");
    let mme = w.mme.clone();
    let front = w.sim.enrol(
        &mme,
        "lr.dealer.front",
        LIBERTY,
        Role::Dealer,
        "LR",
        Some(licence("MME/DL/2026/666", "dealer", "2026-01-01", "2026-12-31", &[]).unwrap()),
    );
    // Either the namesake enrolment itself is refused ...
    let Ok(front) = front else { return };
    // ... or the confirmation handing custody to it must be.
    let confirmation = kpledger_testkit::events::confirmation(&w.sim, CERT, &front);
    let ev = w.sim.sign(&mme, Payload::ImportConfirmation { confirmation }).unwrap();
    assert_ne!(id("lr.dealer.front"), id("lr.dealer.liberty"));
    w.assert_refuses(&ev, &["IM-1"], "custody handed to a namesake of the importer");
}

/// Guinea's GN-2026-000777 for 100.00 ct from Guinea Rough SARL to Liberty, issued today and
/// valid until 2026-06-30.
fn gn_000777(w: &World) -> kpledger_model::ForeignCertificate {
    let valid = (w.sim.now().date(), Date::new("2026-06-30").unwrap());
    foreign("GN-2026-000777", "GN", "Guinea Rough SARL", 10_000, valid)
}

/// A foreign certificate of `pt` rough 7102.31 from `country`, single origin `country`,
/// naming Liberty Rough Exports as importer.
fn foreign(
    number: &str,
    country: &str,
    exporter: &str,
    pt: u64,
    valid: (Date, Date),
) -> kpledger_model::ForeignCertificate {
    let issuer = (country, &*format!("KP authority of {country}"));
    kpledger_testkit::events::foreign_certificate(number, issuer, (exporter, LIBERTY), pt, valid)
}

/// `lr.mme` admits a parcel of `pt` under a foreign certificate, custody to Liberty.
fn import_payload(w: &mut World, pt: u64, c: kpledger_model::ForeignCertificate) -> Payload {
    Payload::Import {
        parcel: w.sim.new_parcel_id(),
        holder: id("lr.dealer.liberty"),
        weight_pt: Points(pt),
        stones: 20,
        hs_code: kpledger_model::HsCode::new("7102.31").unwrap(),
        certificate: c,
        more_parcels: Vec::new(),
    }
}

/// ATTACK (neighbouring authority, `lr.mme`, its own key only): Sierra Leone is a member of
/// this regional ledger, and its certificate SL-2026-004312 (12.50 ct to Liberty Rough
/// Exports) is recorded here. Liberia's authority records a SECOND, paper "foreign" import of
/// the very same certificate (`Payload::Import`), 12.50 ct of single origin SL, to Liberty:
/// the import rule (`rules.rs::import`) never looks the number up among the certificates of
/// this ledger (nor among earlier foreign imports, issue 14 item 3), and KP-7 in bundle
/// verification judges only `Payload::Certificate` events (bundle.rs `issued`), not the
/// foreign certificates an import claims. Accepted: 12.50 ct of Sierra Leone provenance
/// created from nothing, which Liberia can certify and export as SL-origin goods.
///
/// Correct: refused (KP-2): a certificate number already recorded in this ledger (issued
/// here, or imported before) cannot be imported again; a certificate of a country whose
/// authority is in this ledger is received by import confirmation, not as a paper import.
#[test]
fn redteam_foreign_import_of_a_certificate_recorded_in_this_ledger_is_refused() {
    let mut w = exported_to_liberty("reimport-member-cert");
    let c = w.sim.ledger().certificate(&text(CERT).unwrap()).unwrap().unwrap().certificate;
    let paper = foreign(
        CERT,
        "SL",
        "Kono Gems Export Ltd",
        c.carats(),
        (c.date_of_issue.clone(), c.date_of_expiry.clone()),
    );
    let payload = import_payload(&mut w, c.carats(), paper);
    let mme = w.mme.clone();
    w.assert_refused(&mme, payload, &["KP-2", "IM-1"], "a paper import of an in-ledger certificate");
}

/// ATTACK (smuggler with a corrupt or careless importing authority; issue 14 item 3 regression
/// check): the same foreign certificate GN-2026-000777 (100 ct) is admitted twice, giving
/// 200 ct of lawful-import provenance. `rules.rs::import` checks only that the parcel id is
/// fresh. Accepted on this main (the fix may still be on the mass-balance branch).
///
/// Correct: refused (KP-2): a foreign certificate (issuing country + number) is imported at
/// most once per ledger.
#[test]
fn redteam_same_foreign_certificate_imported_twice_is_refused() {
    let mut w = world("double-import", ("2026-01-01", "2026-12-31"));
    let (mme, cert) = (w.mme.clone(), gn_000777(&w));
    let first = import_payload(&mut w, 10_000, cert.clone());
    w.sim.submit(&mme, first).unwrap();
    w.sim.tick(60);
    let second = import_payload(&mut w, 10_000, cert);
    w.assert_refused(&mme, second, &["KP-2", "IM-1"], "the same foreign certificate imported twice");
}

/// ATTACK (smuggler with a careless or corrupt importing authority; issue 14 item 3, "the
/// imported parcels' count and carats equal the certificate's"): Guinea's GN-2026-000777
/// certifies a shipment of 3 parcels, 40.00 ct of 7102.21 and 60.00 ct of 7102.31. It was
/// admitted as ONE lot of 100.00 ct: IM-1 compared only the total carats, so two parcels of
/// the shipment were free to leave the ledger unrecorded (or be swapped), and a lot of one
/// heading laundered the other heading's carats.
///
/// Correct: refused (IM-1); the import admits the certificate's parcels, each under a heading
/// on it, no heading heavier than its line. Variants: the three parcels with 10.00 ct moved
/// from one heading to the other (totals and count unchanged); four parcels; the remaining
/// parcels admitted by a second import of the same certificate once the honest one is in (KP-2).
#[test]
fn redteam_certificate_for_three_parcels_admitted_as_one_is_refused() {
    let mut w = world("three-as-one", ("2026-01-01", "2026-12-31"));
    let (mme, mut cert) = (w.mme.clone(), gn_000777(&w));
    cert.parcel_count = 3;
    cert.lines = [("7102.21", 4_000u64), ("7102.31", 6_000)]
        .iter()
        .map(|(hs, pt)| kpledger_model::CertLine {
            hs_code: kpledger_model::HsCode::new(*hs).unwrap(),
            carats_pt: Points(*pt),
            value_usd_cents: Cents(pt * 289),
        })
        .collect();
    let shipment = |w: &mut World, parcels: &[(u64, &str)]| {
        let mut all: Vec<kpledger_model::ImportParcel> = parcels
            .iter()
            .map(|(pt, hs)| kpledger_model::ImportParcel {
                parcel: w.sim.new_parcel_id(),
                weight_pt: Points(*pt),
                stones: 20,
                hs_code: kpledger_model::HsCode::new(*hs).unwrap(),
            })
            .collect();
        let first = all.remove(0);
        Payload::Import {
            parcel: first.parcel,
            holder: id("lr.dealer.liberty"),
            weight_pt: first.weight_pt,
            stones: first.stones,
            hs_code: first.hs_code,
            certificate: cert.clone(),
            more_parcels: all,
        }
    };
    for (what, parcels) in [
        ("3 parcels admitted as 1 lot of 7102.31", vec![(10_000, "7102.31")]),
        ("3 parcels admitted as 1 unsorted lot", vec![(10_000, "7102.10")]),
        ("3 parcels admitted as 2", vec![(4_000, "7102.21"), (6_000, "7102.31")]),
        (
            "10.00 ct moved from 7102.31 to 7102.21",
            vec![(5_000, "7102.21"), (2_500, "7102.31"), (2_500, "7102.31")],
        ),
        (
            "3 parcels admitted as 4",
            vec![(4_000, "7102.21"), (2_000, "7102.31"), (2_000, "7102.31"), (2_000, "7102.31")],
        ),
    ] {
        let payload = shipment(&mut w, &parcels);
        let ev = w.sim.sign(&mme, payload).unwrap();
        let codes = w.refused_with(&ev);
        assert!(codes.contains("IM-1"), "{what}: refused with {codes:?}, not IM-1");
    }
    // The honest shipment goes in; its parcels hold the certificate's carats, heading by heading.
    let honest = shipment(&mut w, &[(4_000, "7102.21"), (3_500, "7102.31"), (2_500, "7102.31")]);
    let ids: Vec<_> = honest.import_parcels().iter().map(|p| p.parcel).collect();
    w.sim.submit(&mme, honest).unwrap();
    let held: u64 = ids.iter().map(|p| w.sim.parcel(p).unwrap().weight_pt.0).sum();
    assert_eq!((ids.len(), held), (3, 10_000));
    w.sim.tick(60);
    // Two parcels "left over" admitted again under the same certificate: KP-2.
    let again = shipment(&mut w, &[(3_500, "7102.31"), (2_500, "7102.31")]);
    w.assert_refused(&mme, again, &["KP-2"], "the same certificate's parcels admitted again");
}

/// ATTACK (smuggler: any holder, with its own key): integer wrap-around in the split's mass
/// balance. The dealer splits a 12.50 ct parcel into 2,048 parts of 2^53−1 points (the largest
/// weight the canonical JSON allows, about 90 billion carats each) plus one part of 32.98 ct.
/// `rules.rs::split` adds the parts' weights with a plain `u64` sum, which wraps in a release
/// build: 2048·(2^53−1) + 3298 = 2^64 + 1250 ≡ 1250, exactly the parcel's weight, so MB-2 sees
/// no difference (the stones are left uncounted so that the count check is skipped). Accepted:
/// the dealer now holds 2,048 parcels of 90 billion carats each. (In a debug build the same
/// sum panics: a verifier crash on a signed event.) `merge` sums its inputs the same way.
///
/// Correct: refused (MB-2) — weights summed with checked or u128 arithmetic.
#[test]
fn redteam_split_whose_parts_wrap_around_u64_is_refused() {
    let mut w = world("split-wrap", ("2026-01-01", "2026-12-31"));
    let (miner, dealer, koidu) = (w.miner.clone(), w.dealer.clone(), w.koidu.clone());
    let p = w.sim.extract(&miner, &koidu, Points(1250), 21, "7102.31").unwrap();
    w.sim.tick(30);
    w.sell(&miner, &p, &dealer);
    let max = (1u64 << 53) - 1;
    let mut outputs: Vec<kpledger_model::NewParcel> = (0..2048)
        .map(|_| kpledger_model::NewParcel {
            parcel: w.sim.new_parcel_id(),
            weight_pt: Points(max),
            stones: None,
        })
        .collect();
    outputs.push(kpledger_model::NewParcel {
        parcel: w.sim.new_parcel_id(),
        weight_pt: Points(3298),
        stones: None,
    });
    assert_eq!(outputs.iter().fold(0u64, |a, o| a.wrapping_add(o.weight_pt.0)), 1250);
    let head = w.sim.parcel(&p).unwrap().head;
    let ev = w.sim.sign(&dealer, Payload::Split { parcel: p, prev: head, outputs }).unwrap();
    match w.sim.ledger_mut().append(&ev) {
        Err(kpledger_core::StoreError::Rejected { findings, .. }) => {
            let codes: BTreeSet<&str> =
                findings.iter().filter(|f| f.is_error()).map(|f| f.code.code()).collect();
            assert!(codes.contains("MB-2"), "refused, but not for its weight: {codes:?}");
        }
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("a split of 12.50 ct into 2,049 parts weighing 1.8e16 ct in all was accepted"),
    }
}

/// ATTACK (corrupt national official, `sl.nma`, not the regional root): Sierra Leone's
/// authority publishes a new version of its own policy that adds Somalia (not a KP Participant)
/// to `participants`, to certify a lot to Mogadishu. Issue 21 item 2: a Participant's standing
/// is decided by the root (or the verifier's trust policy), never by the participant's own
/// policy; a national policy may narrow its list, never widen it.
///
/// Correct: the policy itself is refused (GV-2), so no certificate can rely on it.
#[test]
fn redteam_national_policy_adding_a_non_participant_is_refused() {
    let mut w = world("self-made-participant", ("2026-01-01", "2026-12-31"));
    let nma = w.nma.clone();
    let mut own = policy("SL");
    own.version = text("2026-12-01").unwrap();
    own.participants.push(Country::new("SO").unwrap());
    own.participants.sort();
    match w.sim.submit(&nma, Payload::Policy { policy: own }) {
        Err(kpledger_core::sim::SimError::Store(kpledger_core::StoreError::Rejected {
            findings, ..
        })) => {
            assert!(
                findings.iter().any(|f| f.is_error() && f.code.code() == "GV-2" && f.message.contains("SO")),
                "{findings:#?}"
            );
        }
        other => panic!("a national policy adding a Participant must be refused with GV-2: {other:?}"),
    }
}
