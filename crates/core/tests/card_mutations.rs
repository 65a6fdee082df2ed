//! Parcel cards (docs/SPEC.md §14.6): every card `Ledger::parcel_card` writes is accepted by
//! `kpledger_verify::verify_card` under the demo's trust policy and proves the ledger's head,
//! status, holder and weight; every single mutation of a card outside its `stated` part is
//! refused (a format error, or a finding with its rule), and none panics.
//!
//! Cards of three shapes: a head that fixes everything (an extraction), a head that fixes only
//! the weight (a valuation: the card carries the extraction too), and a head that fixes nothing
//! (an export: the card walks back through the certificate and the seal to the merge that
//! made the lot). Mutations: every leaf changed (strings: a character appended, the first and
//! last digit or letter flipped, emptied; numbers ±1; booleans negated), every array element
//! deleted and duplicated, every object key deleted.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use kpledger_core::{Ledger, demo};
use kpledger_model::{Event, EventBody, ParcelId, Payload, Points, SecretKey, SiteId, Time};
use kpledger_verify::{CardError, ParcelStatus, TrustPolicy, verify_card};
use serde_json::Value;

fn sign(dir: &std::path::Path, actor: &str, time: &str, payload: Payload) -> kpledger_model::ParsedEvent {
    let key = SecretKey::read_pem_file(&dir.join("keys").join(format!("{actor}.pem"))).unwrap();
    let body = EventBody {
        v: 1,
        ledger: "kpledger.mru/regional".parse().unwrap(),
        time: Time::new(time).unwrap(),
        signer: actor.parse().unwrap(),
        payload,
    };
    Event::sign(body, &key).unwrap().into_parsed().unwrap()
}

/// The demo ledger, two new parcels (one valued), a checkpoint with no cosignature, the
/// cards of the three shapes and the trust policy.
fn cards(tag: &str) -> (Vec<(&'static str, Vec<u8>)>, TrustPolicy, Ledger, tempdir::Dir) {
    let dir = tempdir::Dir::new(tag);
    let summary = demo::run(dir.path(), 8, &mut |_| {}).unwrap();
    let mut ledger = Ledger::open(&summary.ledger, kpledger_core::OpenOptions { read_only: false, ..Default::default() }).unwrap();
    let extraction = |id: &str| Payload::Extraction {
        parcel: id.parse().unwrap(),
        site: SiteId::new("sl.kono.koidu-12").unwrap(),
        weight_pt: Points(1234),
        stones: 9,
        hs_code: "7102.31".parse().unwrap(),
    };
    let p1: ParcelId = "019d0000-0000-7000-8000-0000000000d1".parse().unwrap();
    let p2: ParcelId = "019d0000-0000-7000-8000-0000000000d2".parse().unwrap();
    for (p, t) in [(p1, "2026-03-22T09:00:00Z"), (p2, "2026-03-22T09:10:00Z")] {
        ledger.append(&sign(dir.path(), "sl.miner.koroma", t, extraction(&p.to_string()))).unwrap();
    }
    let head = ledger.parcel(&p2).unwrap().unwrap().head;
    let valuation = Payload::Valuation {
        parcel: p2,
        prev: head,
        weight_pt: Points(1230),
        exporter_usd_cents: kpledger_model::Cents(410_000),
        government_usd_cents: kpledger_model::Cents(426_400),
        independent_usd_cents: Some(kpledger_model::Cents(418_200)),
        final_usd_cents: kpledger_model::Cents(426_400),
        duty_usd_cents: kpledger_model::Cents(12_792),
    };
    let a = ledger.append(&sign(dir.path(), "sl.pmt", "2026-03-22T10:00:00Z", valuation)).unwrap();
    assert!(a.warnings.iter().all(|f| !f.is_error()));
    let root = SecretKey::read_pem_file(&dir.path().join("keys/mru.secretariat.pem")).unwrap();
    ledger.publish_checkpoint(&root).unwrap();
    let exported = ledger
        .parcels()
        .unwrap()
        .into_iter()
        .find(|p| p.status == ParcelStatus::Exported)
        .expect("the demo exports its lots");
    let card = |id: &ParcelId| serde_json::to_vec_pretty(&ledger.parcel_card(id).unwrap()).unwrap();
    let cards = vec![("extraction", card(&p1)), ("valuation", card(&p2)), ("export", card(&exported.id))];
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let policy =
        TrustPolicy::parse(&std::fs::read(dir.path().join(manifest["policy"].as_str().unwrap())).unwrap()).unwrap();
    (cards, policy, ledger, dir)
}

/// Each card is accepted and says what the ledger says; the walk is as long as its head needs.
#[test]
fn every_card_the_ledger_writes_is_accepted_and_true() {
    let (cards, policy, ledger, dir) = cards("card-accepted");
    let mut lengths = BTreeMap::new();
    for (name, bytes) in &cards {
        let checked = verify_card(bytes, &policy).unwrap_or_else(|e| panic!("{name}: {e}"));
        let p = ledger.parcel(&checked.card.parcel).unwrap().unwrap();
        assert_eq!(checked.card.head, p.head, "{name}");
        assert_eq!(checked.card.holder, p.holder, "{name}");
        assert_eq!(checked.card.weight_pt, p.weight_pt, "{name}");
        assert_eq!(checked.card.status.as_str(), p.status.as_str(), "{name}");
        lengths.insert(*name, checked.card.events.len());
    }
    assert_eq!(lengths["extraction"], 1);
    assert_eq!(lengths["valuation"], 2);
    assert!(lengths["export"] >= 3, "an exported lot's card walks back to the event that made it: {lengths:?}");
    // Under a policy that pins another key for the log, or none: LOG-2.
    let other = TrustPolicy::from_keys(vec![SecretKey::read_pem_file(&dir.path().join("keys/sl.nma.pem")).unwrap().public()]);
    let e = verify_card(&cards[0].1, &other).unwrap_err();
    assert_eq!(e.finding().map(|f| f.code.code()), Some("LOG-2"), "{e}");
}

fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<(String, Option<Value>)>) {
    let here = |p: &[String]| format!("/{}", p.join("/"));
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push((here(path), Some(Value::Bool(!b)))),
        Value::Number(n) => {
            let n = n.as_u64().unwrap();
            out.push((here(path), Some((n + 1).into())));
            if n > 0 {
                out.push((here(path), Some((n - 1).into())));
            }
        }
        Value::String(s) => {
            let mut variants = vec![format!("{s}x"), String::new()];
            let chars: Vec<char> = s.chars().collect();
            let digits: Vec<usize> = (0..chars.len()).filter(|&i| chars[i].is_ascii_alphanumeric()).collect();
            for i in [digits.first(), digits.last()].into_iter().flatten() {
                if let Some(n) = common::next_in_class(chars[*i]) {
                    let mut c = chars.clone();
                    c[*i] = n;
                    variants.push(c.into_iter().collect());
                }
            }
            for m in variants {
                if &m != s {
                    out.push((here(path), Some(Value::String(m))));
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                out.push((here(path), None));
                out.push((format!("{}+dup", here(path)), None));
                leaves(item, path, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(k.clone());
                out.push((here(path), None));
                leaves(item, path, out);
                path.pop();
            }
        }
    }
}

fn mutate(doc: &Value, pointer: &str, set: Option<&Value>) -> Value {
    let mut doc = doc.clone();
    let (dup, pointer) = match pointer.strip_suffix("+dup") {
        Some(p) => (true, p),
        None => (false, pointer),
    };
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let at = doc.pointer_mut(parent).unwrap();
    match (set, at) {
        (Some(v), at) => *at.pointer_mut(&format!("/{last}")).unwrap() = v.clone(),
        (None, Value::Array(a)) => {
            let i: usize = last.parse().unwrap();
            if dup {
                a.insert(i + 1, a[i].clone());
            } else {
                a.remove(i);
            }
        }
        (None, Value::Object(m)) => {
            m.shift_remove(last).unwrap();
        }
        _ => unreachable!(),
    }
    doc
}

/// Every mutation outside `stated` is refused; inside `stated` a well-formed change is not
/// (the card does not prove it, docs/SPEC.md §14.6), and the facts proven stay the ledger's.
#[test]
fn every_mutation_of_a_card_outside_its_stated_part_is_refused() {
    let (cards, policy, _ledger, _dir) = cards("card-mutations");
    let mut refused_by: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for (name, bytes) in &cards {
        let doc: Value = serde_json::from_slice(bytes).unwrap();
        let mut muts = Vec::new();
        leaves(&doc, &mut Vec::new(), &mut muts);
        for (pointer, set) in &muts {
            let m = mutate(&doc, pointer, set.as_ref());
            let out = serde_json::to_vec(&m).unwrap();
            let result = catch_unwind(AssertUnwindSafe(|| verify_card(&out, &policy)))
                .unwrap_or_else(|_| panic!("{name}: verify_card panicked on {pointer} := {set:?}"));
            if pointer.starts_with("/stated") {
                if let Ok(c) = result {
                    let pristine = verify_card(bytes, &policy).unwrap();
                    assert_eq!(
                        (c.card.head, c.card.holder, c.card.weight_pt, c.card.status),
                        (pristine.card.head, pristine.card.holder, pristine.card.weight_pt, pristine.card.status)
                    );
                }
                continue;
            }
            total += 1;
            match result {
                Ok(_) => panic!("{name}: a card mutated at {pointer} (:= {set:?}) was accepted"),
                Err(CardError::Refused(f)) => *refused_by.entry(f.code.code().to_owned()).or_default() += 1,
                Err(_) => *refused_by.entry("cannot check".to_owned()).or_default() += 1,
            }
        }
    }
    println!("{total} mutants refused: {refused_by:?}");
    assert!(total > 300, "only {total} mutants");
    for code in ["CH-1", "CH-2", "LOG-1", "LOG-2", "DB-1", "cannot check"] {
        assert!(refused_by.contains_key(code), "no mutant was refused with {code}: {refused_by:?}");
    }
}

mod tempdir {
    /// A directory of its own, removed when dropped.
    pub(crate) struct Dir(std::path::PathBuf);
    impl Dir {
        pub(crate) fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!("kpledger-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub(crate) fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
