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
use kpledger_testkit::TempDir;
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
/// The cards by name, the trust policy, the ledger and its directory.
type Cards = (Vec<(&'static str, Vec<u8>)>, TrustPolicy, Ledger, TempDir);

fn cards(tag: &str) -> Cards {
    let dir = TempDir::new(&format!("cards-{tag}"));
    let summary = demo::run(dir.path(), 8, &mut |_| {}).unwrap();
    let mut ledger =
        Ledger::open(&summary.ledger, kpledger_core::OpenOptions { read_only: false, ..Default::default() })
            .unwrap();
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
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let policy =
        TrustPolicy::parse(&std::fs::read(dir.path().join(manifest["policy"].as_str().unwrap())).unwrap())
            .unwrap();
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
    assert!(
        lengths["export"] >= 3,
        "an exported lot's card walks back to the event that made it: {lengths:?}"
    );
    // Under a policy that pins another key for the log, or none: LOG-2.
    let other = TrustPolicy::from_keys(vec![
        SecretKey::read_pem_file(&dir.path().join("keys/sl.nma.pem")).unwrap().public(),
    ]);
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
                        (
                            pristine.card.head,
                            pristine.card.holder,
                            pristine.card.weight_pt,
                            pristine.card.status
                        )
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

// ---------------------------------------------------------------------------------------
// Golden fixtures: fixtures/cards/ (generated here; KPLEDGER_BLESS=1 rewrites them)
// ---------------------------------------------------------------------------------------

fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cards")
}

/// The fixture cases: (directory, card bytes, expect.json).
/// A fixture case: its directory, the card's bytes and its expect.json.
type Case = (String, Vec<u8>, Value);

fn fixture_cases() -> (Vec<Case>, Vec<u8>) {
    let (cards, _policy, ledger, dir) = cards("card-fixtures");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let policy_text = std::fs::read(dir.path().join(manifest["policy"].as_str().unwrap())).unwrap();
    let doc = |name: &str| -> Value {
        serde_json::from_slice(&cards.iter().find(|(n, _)| *n == name).unwrap().1).unwrap()
    };
    let pretty = |v: &Value| [serde_json::to_vec_pretty(v).unwrap(), b"\n".to_vec()].concat();
    let mut out = Vec::new();
    for name in ["extraction", "valuation", "export"] {
        let v = doc(name);
        let expect = serde_json::json!({"ok": true, "status": v["status"], "holder": v["holder"], "weight_pt": v["weight_pt"],
            "events": v["events"].as_array().unwrap().len()});
        out.push((format!("ok_{name}_head"), pretty(&v), expect));
    }
    let fail = |code: &str, contains: &str, why: &str| serde_json::json!({"ok": false, "code": code, "message_contains": contains, "why": why});
    let mut push = |dir: &str, v: Value, expect: Value| out.push((dir.to_owned(), pretty(&v), expect));
    let mut v = doc("extraction");
    v["weight_pt"] = 4234.into();
    push("fail_db1_weight_edited", v, fail("DB-1", "weight", "12.34 ct presented as 42.34 ct"));
    let mut v = doc("valuation");
    v["holder"] = "sl.dealer.kamara".into();
    let why =
        "after a valuation the holder comes from the extraction the card carries, which names the miner";
    push("fail_db1_holder_edited", v, fail("DB-1", "holder", why));
    let mut v = doc("export");
    v["status"] = "open".into();
    push("fail_db1_status_edited", v, fail("DB-1", "status", "an exported lot presented as open for trade"));
    let mut v = doc("extraction");
    v["weight_pt"] = 4234.into();
    v["events"][0]["body"]["weight_pt"] = 4234.into();
    push(
        "fail_ch2_head_event_edited",
        v,
        fail("CH-2", "does not verify", "the fact and the signed event edited together"),
    );
    let mut v = doc("valuation");
    v["head"] = doc("extraction")["head"].clone();
    push(
        "fail_ch1_head_of_another_event",
        v,
        fail("CH-1", "head", "the card names another event as the head"),
    );
    let mut v = doc("valuation");
    v["events"][1] = doc("extraction")["events"][0].clone();
    let why = "another parcel's extraction put behind the valuation to claim its holder";
    push("fail_ch1_chain_of_another_parcel", v, fail("CH-1", "is not the event", why));
    let older = ledger.stored_checkpoints().unwrap();
    let mut v = doc("extraction");
    v["log"]["checkpoint"] = older[older.len() - 2].note.clone().into();
    let why = "an older checkpoint, signed by the root, with the newer one's proof";
    push("fail_log1_proof_for_another_checkpoint", v, fail("LOG-1", "another checkpoint", why));
    let mut v = doc("extraction");
    let note = v["log"]["checkpoint"].as_str().unwrap().to_owned();
    let (text, sig) = note.split_once("\n\n").unwrap();
    let forger = SecretKey::read_pem_file(&dir.path().join("keys/sl.nma.pem")).unwrap();
    let forged_cp = kpledger_model::note::Checkpoint::parse(&format!("{text}\n")).unwrap();
    let signer = kpledger_model::note::SignerKey::new("kpledger.mru/regional", forger).unwrap();
    assert!(sig.contains("kpledger.mru/regional"));
    v["log"]["checkpoint"] = forged_cp.sign(&signer).unwrap().to_string().into();
    let why = "the checkpoint re-signed under the log's name by Sierra Leone's authority key";
    push(
        "fail_log2_checkpoint_signed_by_another_key",
        v,
        fail("LOG-2", "signed by a key the trust policy pins", why),
    );
    let mut v = doc("extraction");
    v["ledger"] = "kpledger.sl/national".into();
    push(
        "fail_log2_log_not_pinned",
        v,
        fail("LOG-2", "pins no key", "a card of a log the trust policy does not name"),
    );
    let mut v = doc("extraction");
    v["price_usd_cents"] = 356_626.into();
    push(
        "cannot_check_unknown_member",
        v,
        serde_json::json!({"ok": false, "cannot_check": "not a kpledger parcel card", "why": "a member the format does not have"}),
    );
    (out, policy_text)
}

fn fixture_files() -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let (cases, policy) = fixture_cases();
    let mut files = vec![(std::path::PathBuf::from("trust-policy.txt"), policy)];
    for (dir, card, expect) in cases {
        files.push((std::path::Path::new(&dir).join("card.json"), card));
        files.push((
            std::path::Path::new(&dir).join("expect.json"),
            [serde_json::to_vec_pretty(&expect).unwrap(), b"\n".to_vec()].concat(),
        ));
    }
    files
}

/// The committed fixtures are what the generator makes (`KPLEDGER_BLESS=1` rewrites them),
/// and each gives its expected outcome.
#[test]
fn card_fixtures_match_the_generator_and_their_outcomes() {
    let files = fixture_files();
    if std::env::var_os("KPLEDGER_BLESS").is_some_and(|v| v == "1") {
        let _ = std::fs::remove_dir_all(fixtures_dir());
        for (rel, bytes) in &files {
            let path = fixtures_dir().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let stale: Vec<String> = files
        .iter()
        .filter(|(rel, bytes)| std::fs::read(fixtures_dir().join(rel)).ok().as_ref() != Some(bytes))
        .map(|(rel, _)| rel.display().to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "fixtures/cards differs from the generator: {stale:?}; if intended, run KPLEDGER_BLESS=1 cargo test -p \
         kpledger-core --test card_mutations"
    );
    let policy =
        TrustPolicy::parse(&std::fs::read(fixtures_dir().join("trust-policy.txt")).unwrap()).unwrap();
    let mut dirs: Vec<_> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 12, "{dirs:?}");
    for d in dirs {
        let card = std::fs::read(d.join("card.json")).unwrap();
        let expect: Value = serde_json::from_slice(&std::fs::read(d.join("expect.json")).unwrap()).unwrap();
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        match (verify_card(&card, &policy), &expect) {
            (Ok(c), e) if e["ok"] == true => {
                assert_eq!(c.card.holder.as_str(), e["holder"], "{name}");
                assert_eq!(c.card.weight_pt.0, e["weight_pt"].as_u64().unwrap(), "{name}");
                assert_eq!(c.card.status.as_str(), e["status"], "{name}");
            }
            (Err(CardError::Refused(f)), e) if e["code"].is_string() => {
                assert_eq!(f.code.code(), e["code"], "{name}: {f}");
                assert!(f.message.contains(e["message_contains"].as_str().unwrap()), "{name}: {f}");
                assert!(name.starts_with(&format!(
                    "fail_{}",
                    e["code"].as_str().unwrap().to_lowercase().replace('-', "")
                )));
            }
            (Err(err @ CardError::Format(_)), e) if e["cannot_check"].is_string() => {
                assert!(err.to_string().contains(e["cannot_check"].as_str().unwrap()), "{name}: {err}");
            }
            (got, e) => panic!("{name}: expected {e}, got {:?}", got.map(|c| c.card.parcel)),
        }
    }
}
