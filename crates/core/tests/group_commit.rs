//! Group commit (`Ledger::append_groups`, used by `kpledger serve`): several submissions in
//! one transaction, each all or nothing on its own. A refused submission leaves no trace and
//! does not disturb the others; an event already recorded is reported with its position; the
//! ledger verifies.
#![allow(clippy::unwrap_used)]

use kpledger_core::sim::Sim;
use kpledger_core::{GroupOutcome, Ledger, Recorded, StoreError};
use kpledger_model::{ParsedEvent, Payload};
use kpledger_testkit::TempDir;
use kpledger_testkit::cast::{self, Cast, KOIDU, KOROMA, TONGO, Terms};
use kpledger_testkit::events;
use kpledger_verify::{SigMode, Signatures};

/// The NMA, its policy, the Koidu and Tongo sites and Koidu's miner, in a ledger of its own
/// (origin `kpledger.sl/TAG`).
fn world(tag: &str) -> (Sim, Cast, TempDir) {
    let origin = format!("kpledger.sl/{tag}");
    cast::world(tag, &cast::SIERRA_LEONE[..5], &Terms::new(&origin, tag, "2026-03-02T08:00:00Z"))
}

/// Whole-ledger verification finds nothing.
fn assert_verifies(ledger: &Ledger) {
    let report = ledger.verify(&mut |_, _| {}).unwrap();
    assert!(report.ok, "{:?}", report.findings);
}

/// Appends `subs` as one group, each submission with its signatures checked first, as the
/// service's writer does.
fn append_group(sim: &mut Sim, subs: &[Vec<ParsedEvent>]) -> Vec<GroupOutcome> {
    let groups: Vec<(&[ParsedEvent], Vec<Signatures>)> = subs
        .iter()
        .map(|s| (s.as_slice(), Signatures::check_all(&s.iter().collect::<Vec<_>>(), SigMode::Strict)))
        .collect();
    sim.ledger_mut().append_groups(&groups).unwrap()
}

/// [`append_group`]: whether each submission was recorded.
fn recorded(sim: &mut Sim, subs: &[Vec<ParsedEvent>]) -> Vec<bool> {
    append_group(sim, subs).iter().map(Result::is_ok).collect()
}

#[test]
fn each_submission_of_a_group_is_all_or_nothing_on_its_own() {
    let (mut sim, c, _tmp) = world("group");
    let (miner, koidu, tongo) = (c.actor(KOROMA.id), c.site(KOIDU.0), c.site(TONGO.0));
    let extraction = |sim: &mut Sim, at: &kpledger_model::SiteId| events::extraction(sim, &miner, at, 100, 1);
    let old = extraction(&mut sim, &koidu);
    sim.ledger_mut().append(&old).unwrap();
    let before = sim.ledger().len().unwrap();
    let a = extraction(&mut sim, &koidu);
    let b_good = extraction(&mut sim, &koidu);
    let b_bad = extraction(&mut sim, &tongo); // not on the miner's licence: refused
    let c1 = extraction(&mut sim, &koidu);
    let c2 = extraction(&mut sim, &koidu);
    let subs: Vec<Vec<ParsedEvent>> = vec![
        vec![a.clone()],
        vec![b_good.clone(), b_bad],
        vec![c1.clone(), c2.clone()],
        vec![old.clone(), c1.clone()],
    ];
    let out = append_group(&mut sim, &subs);
    assert_eq!(out.len(), 4);
    let seq = |r: &Recorded| match r {
        Recorded::New(a) => a.seq,
        Recorded::Already { seq, .. } => *seq,
    };
    let first = out[0].as_ref().unwrap();
    assert!(matches!(first[0], Recorded::New(_)));
    assert_eq!(seq(&first[0]), before + 1);
    // The second submission: its refused event takes its good one down with it, nothing else.
    let refused = out[1].as_ref().unwrap_err();
    assert_eq!(refused.index, 1);
    assert!(matches!(refused.error, StoreError::Rejected { .. }), "{refused}");
    let third = out[2].as_ref().unwrap();
    assert_eq!((seq(&third[0]), seq(&third[1])), (before + 2, before + 3));
    // The fourth: both events already recorded (one long ago, one by the third submission).
    let fourth = out[3].as_ref().unwrap();
    assert!(fourth.iter().all(|r| matches!(r, Recorded::Already { .. })));
    assert_eq!((seq(&fourth[0]), seq(&fourth[1])), (before, before + 2));
    let l = sim.ledger();
    assert_eq!(l.len().unwrap(), before + 3);
    assert_eq!(l.position_of(&b_good.hash).unwrap(), None);
    assert_eq!(l.position_of(&c2.hash).unwrap(), Some(before + 3));
    assert_verifies(l);
}

/// The rules' cache of actors and policies is shared by the submissions of a group; a refused
/// submission's changes to them must vanish with its savepoint. Two variants: an actor revoked
/// by a refused submission still signs in the next one, and an actor enrolled by a refused
/// submission does not.
#[test]
fn a_refused_submission_leaves_nothing_in_the_groups_cache() {
    let (mut sim, c, _tmp) = world("group-cache");
    let (nma, miner, koidu, tongo) =
        (c.actor(cast::NMA.id), c.actor(KOROMA.id), c.site(KOIDU.0), c.site(TONGO.0));
    let extraction = |sim: &mut Sim, who: &kpledger_model::ActorId, at: &kpledger_model::SiteId| {
        events::extraction(sim, who, at, 100, 1)
    };
    let revoke = sim
        .sign(
            &nma,
            Payload::Revoke { actor: miner.clone(), reason: kpledger_core::sim::text("test").unwrap() },
        )
        .unwrap();
    sim.tick(1);
    let refused = extraction(&mut sim, &miner, &tongo); // not on the licence: refused
    let after = extraction(&mut sim, &miner, &koidu);
    let subs: Vec<Vec<ParsedEvent>> = vec![vec![revoke, refused], vec![after.clone()]];
    let out = append_group(&mut sim, &subs);
    assert_eq!(out[0].as_ref().unwrap_err().index, 1);
    assert!(out[1].is_ok(), "the miner was revoked only by a refused submission: {:?}", out[1]);
    assert!(sim.ledger().position_of(&after.hash).unwrap().is_some());

    // An enrolment in a refused submission: its actor signs nothing in the next one.
    let key = sim.derive_key("sl.newcomer", 0);
    let actor = kpledger_model::ActorRecord {
        id: kpledger_core::sim::aid("sl.newcomer").unwrap(),
        name: kpledger_core::sim::text("NMA Kono office").unwrap(),
        role: kpledger_model::Role::Authority,
        country: kpledger_model::Country::new("SL").unwrap(),
        licence: None,
        key: key.public(),
        address: None,
    };
    let enrol = sim.sign(&nma, Payload::Enrol { actor: actor.clone() }).unwrap();
    sim.tick(1);
    let refused = extraction(&mut sim, &miner, &tongo);
    // The newcomer (an authority) revokes the miner, signed with its own key.
    let reason = kpledger_core::sim::text("licence lapsed").unwrap();
    let body = sim.body(&actor.id, Payload::Revoke { actor: miner.clone(), reason });
    let by_newcomer = kpledger_model::Event::sign(body, &key).unwrap().into_parsed().unwrap();
    let out = recorded(&mut sim, &[vec![enrol.clone(), refused], vec![by_newcomer.clone()]]);
    assert_eq!(out, [false, false], "an actor enrolled only by a refused submission signed an event");
    // The same event once the enrolment is recorded: accepted (so it was refused for the
    // enrolment alone).
    assert_eq!(recorded(&mut sim, &[vec![enrol], vec![by_newcomer]]), [true, true]);
    assert_verifies(sim.ledger());
}

/// The ledger's clock (CH-4: an event dated more than 48 hours before the newest the log holds
/// is refused) is read once per group and moved forward by each event written: an event of a
/// refused submission must not move it (its rollback takes it back), and an accepted one of
/// the same group must.
#[test]
fn the_groups_clock_moves_with_what_it_records_and_back_with_a_refused_submission() {
    let (mut sim, c, _tmp) = world("group-clock");
    let (miner, koidu, tongo) = (c.actor(KOROMA.id), c.site(KOIDU.0), c.site(TONGO.0));
    let three_days = 3 * 24 * 60;
    let dated = |sim: &mut Sim, ahead: i64, at: &kpledger_model::SiteId| {
        sim.tick(ahead);
        let ev = events::extraction(sim, &miner, at, 100, 1);
        sim.tick(-ahead);
        ev
    };
    // Three days ahead, in a submission refused for its second event: the clock stays.
    let late = dated(&mut sim, three_days, &koidu);
    let refused = dated(&mut sim, 0, &tongo); // not on the licence
    let now = dated(&mut sim, 0, &koidu);
    let out = append_group(&mut sim, &[vec![late.clone(), refused], vec![now.clone()]]);
    assert_eq!(out[0].as_ref().unwrap_err().index, 1);
    assert!(out[1].is_ok(), "dated now, after a rolled-back event three days ahead: {:?}", out[1]);
    // Accepted, then an event of the same group dated three days before it: CH-4.
    let backdated = dated(&mut sim, 0, &koidu);
    let out = append_group(&mut sim, &[vec![late.clone()], vec![backdated.clone()]]);
    assert!(out[0].is_ok(), "{:?}", out[0]);
    match &out[1].as_ref().unwrap_err().error {
        StoreError::Rejected { findings, .. } => {
            assert!(findings.iter().any(|f| f.code == kpledger_verify::Rule::Ch4), "{findings:?}");
        }
        e => panic!("{e}"),
    }
    assert_eq!(sim.ledger().position_of(&backdated.hash).unwrap(), None);
    assert_verifies(sim.ledger());
}

/// `kpledger serve` leaves the copies of the write-ahead log into the database file to a
/// connection of its own (`Ledger::checkpoint_wal`), the writer's (`set_wal_autocheckpoint`)
/// copying only past a size: until the other connection copies, the new pages are in the
/// log alone; after, the database file holds them, and every commit is still there.
#[test]
fn another_connection_copies_the_writers_log_into_the_database_file() {
    let (mut sim, c, _tmp) = world("group-wal");
    let (miner, koidu) = (c.actor(KOROMA.id), c.site(KOIDU.0));
    let path = sim.ledger().path().to_owned();
    let copier = Ledger::open(&path, Default::default()).unwrap();
    copier.checkpoint_wal().unwrap();
    let size = || std::fs::metadata(&path).unwrap().len();
    let before = size();
    sim.ledger_mut().set_wal_autocheckpoint(10_000).unwrap();
    // Enough commits for SQLite to copy the log itself at its default size (1,000 pages).
    for _ in 0..400 {
        let ev = events::extraction(&mut sim, &miner, &koidu, 100, 1);
        sim.ledger_mut().append(&ev).unwrap();
    }
    assert_eq!(size(), before, "the writer copied its log itself");
    copier.checkpoint_wal().unwrap();
    assert!(size() > before, "the log was not copied: {} bytes, as before", size());
    assert_verifies(&copier);
    assert_eq!(copier.len().unwrap(), sim.ledger().len().unwrap());
}

/// The parcels a group writes are kept decoded for its next events; a refused submission's
/// parcels must vanish with its savepoint: a split of a parcel mined only by a refused
/// submission is refused, and accepted once the parcel is recorded (in the same group).
#[test]
fn a_parcel_written_by_a_refused_submission_is_not_seen_by_the_next() {
    let (mut sim, c, _tmp) = world("group-parcel");
    let (miner, koidu, tongo) = (c.actor(KOROMA.id), c.site(KOIDU.0), c.site(TONGO.0));
    let mined = events::extraction(&mut sim, &miner, &koidu, 100, 2);
    let Payload::Extraction { parcel, .. } = mined.event.body.payload else { panic!("an extraction") };
    let refused = events::extraction(&mut sim, &miner, &tongo, 100, 1); // not on the licence
    sim.tick(1);
    let part = |sim: &mut Sim, pt| kpledger_model::NewParcel {
        parcel: sim.new_parcel_id(),
        weight_pt: kpledger_model::Points(pt),
        stones: Some(1),
    };
    let outputs = vec![part(&mut sim, 60), part(&mut sim, 40)];
    let split = sim.sign(&miner, Payload::Split { parcel, prev: mined.hash, outputs }).unwrap();
    let out = recorded(&mut sim, &[vec![mined.clone(), refused], vec![split.clone()]]);
    assert_eq!(out, [false, false], "a split of a parcel mined only by a refused submission");
    assert_eq!(recorded(&mut sim, &[vec![mined], vec![split]]), [true, true]);
    assert_verifies(sim.ledger());
}
