//! Group commit (`Ledger::append_groups`, used by `kpledger serve`): several submissions in
//! one transaction, each all or nothing on its own. A refused submission leaves no trace and
//! does not disturb the others; an event already recorded is reported with its position; the
//! ledger verifies.
#![allow(clippy::unwrap_used)]

use kpledger_core::sim::Sim;
use kpledger_core::{Recorded, StoreError};
use kpledger_model::ParsedEvent;
use kpledger_testkit::cast::{self, KOIDU, KOROMA, TONGO, Terms};
use kpledger_testkit::events;
use kpledger_verify::{SigMode, Signatures};

#[test]
fn each_submission_of_a_group_is_all_or_nothing_on_its_own() {
    // The NMA, its policy, the Koidu and Tongo sites and Koidu's miner.
    let terms = Terms::new("kpledger.sl/group", "group", "2026-03-02T08:00:00Z");
    let (mut sim, c, _tmp) = cast::world("group", &cast::SIERRA_LEONE[..5], &terms);
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
    let groups: Vec<(&[ParsedEvent], Vec<Signatures>)> = subs
        .iter()
        .map(|s| (s.as_slice(), Signatures::check_all(&s.iter().collect::<Vec<_>>(), SigMode::Strict)))
        .collect();
    let out = sim.ledger_mut().append_groups(&groups).unwrap();
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
    let report = l.verify(&mut |_, _| {}).unwrap();
    assert!(report.ok, "{:?}", report.findings);
}
