//! Property tests over generated valid trade histories (proptest).
//!
//! A history is the Sierra Leone world of the rule fixtures (the NMA as root authority, the
//! `policies/SL.json` policy, two mine sites, two miners, a dealer, an exporter, the PMT
//! valuer), then a generated sequence of trade operations driven through the simulator
//! (`kpledger_core::sim::Sim`, so through `Ledger::append` like every ingest): extractions,
//! handovers miner → dealer → exporter, splits and merges by the holder, and export lots
//! (official valuation, sealing, KP certificate, export). The root authority then publishes
//! a checkpoint of the whole log. The properties:
//!
//! 1. every generated history verifies: `Ledger::verify` finds no error, and replaying its
//!    events through the rules on an in-memory state accepts every one;
//! 2. every single mutation of a signed field of any event (every leaf of its body,
//!    offers included, and of its signature) is refused: by the strict reader, or by the
//!    rules with CH-2 (the signature does not verify);
//! 3. deleting any event, duplicating any event, swapping two events and replaying an event
//!    of another parcel (of this ledger, or of another ledger signed with the same keys) are
//!    detected: the rebuilt ledger is refused at ingest with the expected rule, or — when
//!    the rules cannot tell, e.g. the newest event deleted or two unrelated events swapped —
//!    its verification against the signed checkpoint fails with LOG-2;
//! 4. each event is judged with the policy in force at its own time;
//! 5. no event creates carats: over adversarially rounded histories, the carats certified
//!    and held never exceed the carats extracted plus those of the foreign certificates
//!    admitted.
//!
//! Each property runs `PROPTEST_CASES` histories (default 32; CI keeps the default).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use kpledger_core::sim::{Enrolment, Sim, licence};
use kpledger_core::{Ledger, OpenOptions, StoreError};
use kpledger_model::canonical::canonical_value;
use kpledger_model::{
    ActorId, Country, Event, Origin, ParcelId, ParsedEvent, Points, Role, SiteId, Text, Time,
};
use kpledger_testkit::TempDir;
use kpledger_testkit::cast::{self, KAMARA, KOIDU, KONO_GEMS, KOROMA, NMA, PMT, SESAY, TONGO, Terms};
use kpledger_verify::StoredCheckpoint;
use kpledger_verify::{Finding, MemState, Rule, Severity, check_event};
use proptest::prelude::*;
use serde_json::Value;

const ORIGIN: &str = "kpledger.sl/national";
/// Another ledger, signed with the same keys, for cross-ledger replays.
const OTHER_ORIGIN: &str = "kpledger.sl/training";
const SEED: &str = "kpledger-properties-v1";
const START: &str = "2026-03-02T08:00:00Z";
/// US$2.89 a point (US$289/ct), as the fixtures.
const CENTS_PER_PT: u64 = 289;

// ---------------------------------------------------------------------------------------
// The ledger's verdicts
// ---------------------------------------------------------------------------------------

fn error_codes(findings: &[Finding]) -> BTreeSet<&'static str> {
    findings.iter().filter(|f| f.severity == Severity::Error).map(|f| f.code.code()).collect()
}

/// What the ledger makes of a sequence of signed events.
#[derive(Debug)]
enum Outcome {
    /// Ingest refused the event at this 0-based position, with these error codes.
    Refused { at: usize, codes: BTreeSet<&'static str> },
    /// Every event was accepted; these are the error codes of `verify --ledger` with the
    /// original history's checkpoint stored beside them.
    Verified { codes: BTreeSet<&'static str> },
}

/// Ingests `events` into a fresh ledger in one transaction (as `kpledger ingest` of a
/// file would), then stores `checkpoint` as it was stored in the original ledger and
/// verifies the whole ledger.
fn ingest(events: &[ParsedEvent], checkpoint: &StoredCheckpoint) -> Outcome {
    let scratch = TempDir::in_memory("properties");
    let mut ledger = Ledger::create(&scratch.ledger()).unwrap();
    match ledger.append_all(events) {
        Err(kpledger_core::BatchError { index: at, error: StoreError::Rejected { findings, .. } }) => {
            return Outcome::Refused { at, codes: error_codes(&findings) };
        }
        Err(kpledger_core::BatchError { index: at, error: e }) => {
            panic!("ingest failed at event {at} for another reason: {e}")
        }
        Ok(_) => {}
    }
    drop(ledger);
    common::store_checkpoints(&scratch.ledger(), std::slice::from_ref(checkpoint));
    let ledger = Ledger::open(&scratch.ledger(), OpenOptions::default()).unwrap();
    let report = ledger.verify(&mut |_, _| {}).unwrap();
    Outcome::Verified { codes: error_codes(&report.findings) }
}

// ---------------------------------------------------------------------------------------
// Generated histories
// ---------------------------------------------------------------------------------------

/// One step of a generated history. Indexes pick among the parcels the step applies to
/// (modulo their number); a step that applies to none is skipped.
#[derive(Debug, Clone)]
enum Op {
    /// A miner (Koroma at Koidu, or Sesay at Tongo) registers a parcel.
    Mine { sesay: bool, pt: u64, stones: u32 },
    /// The holder of a parcel (a miner or the dealer) sells it on (to the dealer, or to the
    /// exporter), at its weight.
    Sell { pick: usize },
    /// The dealer or the exporter splits a parcel in two (`percent` of the weight first).
    Split { pick: usize, percent: u64 },
    /// The dealer or the exporter merges two of its parcels.
    Merge { pick: usize, other: usize },
    /// The exporter's parcel is valued, sealed, certified and exported.
    Export { pick: usize },
    /// The NMA admits an import from Belgium to the exporter: of single origin (`single`),
    /// or of mixed origin naming the first `listed` of LR, GN, CD (fewer than two: a share of
    /// unknown origin).
    Import { single: bool, listed: usize, pt: u64, stones: u32 },
}

/// Countries a Belgian certificate may name as origins.
const FOREIGN_ORIGINS: [&str; 4] = ["LR", "GN", "CD", "SL"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), 20u64..4_000, 2u32..60).prop_map(|(sesay, pt, stones)| Op::Mine { sesay, pt, stones }),
        4 => any::<usize>().prop_map(|pick| Op::Sell { pick }),
        2 => (any::<usize>(), 5u64..95).prop_map(|(pick, percent)| Op::Split { pick, percent }),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(pick, other)| Op::Merge { pick, other }),
        1 => any::<usize>().prop_map(|pick| Op::Export { pick }),
        1 => (any::<bool>(), 0usize..4, 20u64..4_000, 2u32..60)
            .prop_map(|(single, listed, pt, stones)| Op::Import { single, listed, pt, stones }),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    // Start with two extractions, so every history has parcels to trade.
    (prop::collection::vec(op(), 2..14), (20u64..4_000, 2u32..60)).prop_map(|(mut ops, (pt, stones))| {
        ops.insert(0, Op::Mine { sesay: false, pt, stones });
        ops.insert(1, Op::Sell { pick: 0 });
        ops
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Holder {
    Koroma,
    Sesay,
    Dealer,
    Exporter,
}

/// A recorded history: its events in ledger order and the root authority's checkpoint of
/// all of them.
struct History {
    events: Vec<ParsedEvent>,
    checkpoint: StoredCheckpoint,
    /// The root authority's key (it also signs Sierra Leone's policy).
    root_key: kpledger_model::SecretKey,
}

/// An origin as recorded at extraction or import: a country, or unknown (`None`).
type Source = Option<Country>;

/// The origins recorded at the extractions and imports a parcel comes from, read from its
/// signed provenance alone (not from the rules' state).
fn recorded_origins(ledger: &Ledger, p: &ParcelId) -> BTreeSet<Source> {
    let sites: std::collections::BTreeMap<SiteId, Country> =
        ledger.sites().unwrap().into_iter().map(|s| (s.id, s.country)).collect();
    let mut out = BTreeSet::new();
    for (_, ev) in ledger.provenance(p).unwrap() {
        match &ev.event.body.payload {
            kpledger_model::Payload::Extraction { site, .. } => {
                out.insert(sites.get(site).cloned());
            }
            kpledger_model::Payload::Import { certificate: c, .. } => match &c.country_of_origin {
                kpledger_model::OriginClaim::Single(x) => {
                    out.insert(Some(x.clone()));
                }
                kpledger_model::OriginClaim::Mixed => {
                    out.extend(c.countries_of_origin.iter().cloned().map(Some));
                    if c.countries_of_origin.len() < 2 {
                        out.insert(None);
                    }
                }
            },
            _ => {}
        }
    }
    out
}

fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}

/// Records the world and `ops` into a fresh ledger for `origin`, starting at `start`.
fn record(ops: &[Op], origin: &str, start: &str) -> History {
    let scratch = TempDir::in_memory("properties");
    let ledger = Ledger::create(&scratch.ledger()).unwrap();
    let mut sim = Sim::new(ledger, Origin::new(origin).unwrap(), SEED, &Time::new(start).unwrap());
    let c = cast::build(&mut sim, cast::SIERRA_LEONE, &Terms::new(origin, SEED, start));
    let (koroma, sesay, dealer, exporter, pmt) =
        (c.actor(KOROMA.id), c.actor(SESAY.id), c.actor(KAMARA.id), c.actor(KONO_GEMS.id), c.actor(PMT.id));
    let (nma, koidu, tongo) = (c.actor(NMA.id), c.site(KOIDU.0), c.site(TONGO.0));
    let actor = |h: Holder| -> ActorId {
        match h {
            Holder::Koroma => koroma.clone(),
            Holder::Sesay => sesay.clone(),
            Holder::Dealer => dealer.clone(),
            Holder::Exporter => exporter.clone(),
        }
    };

    let mut live: Vec<(ParcelId, Holder)> = Vec::new();
    let mut certificates = 0u32;
    let mut imports = 0u32;
    let pick_of = |live: &[(ParcelId, Holder)], ok: &dyn Fn(Holder) -> bool, pick: usize| {
        let c: Vec<usize> = (0..live.len()).filter(|&i| ok(live[i].1)).collect();
        (!c.is_empty()).then(|| c[pick % c.len()])
    };
    for op in ops {
        match *op {
            Op::Mine { sesay: s, pt, stones } => {
                let (who, at) = if s { (Holder::Sesay, &tongo) } else { (Holder::Koroma, &koidu) };
                let p = sim.extract(&actor(who), at, Points(pt), stones, "7102.31").unwrap();
                live.push((p, who));
                sim.tick(30);
            }
            Op::Sell { pick } => {
                let sells = |h| matches!(h, Holder::Koroma | Holder::Sesay | Holder::Dealer);
                let Some(i) = pick_of(&live, &sells, pick) else { continue };
                let (p, from) = live[i];
                let to = if from == Holder::Dealer { Holder::Exporter } else { Holder::Dealer };
                let w = sim.parcel(&p).unwrap().weight_pt.0;
                sim.handover(&actor(from), &p, &actor(to), kpledger_model::Cents(w * CENTS_PER_PT), None)
                    .unwrap();
                live[i].1 = to;
                sim.tick(60);
            }
            Op::Split { pick, percent } => {
                let trader = |h| matches!(h, Holder::Dealer | Holder::Exporter);
                let Some(i) = pick_of(&live, &trader, pick) else { continue };
                let (p, holder) = live[i];
                let state = sim.parcel(&p).unwrap();
                let (w, stones) = (state.weight_pt.0, state.stones.unwrap_or(0));
                if w < 2 || stones < 2 {
                    continue;
                }
                let first = (w * percent / 100).clamp(1, w - 1);
                let parts = sim.split(&actor(holder), &p, &[Points(first), Points(w - first)]).unwrap();
                live.remove(i);
                live.extend(parts.into_iter().map(|q| (q, holder)));
                sim.tick(30);
            }
            Op::Merge { pick, other } => {
                let trader = |h| matches!(h, Holder::Dealer | Holder::Exporter);
                let Some(i) = pick_of(&live, &trader, pick) else { continue };
                let holder = live[i].1;
                let same: Vec<usize> = (0..live.len()).filter(|&j| j != i && live[j].1 == holder).collect();
                if same.is_empty() {
                    continue;
                }
                let j = same[other % same.len()];
                let (a, b) = (live[i].0, live[j].0);
                let out = sim.merge(&actor(holder), &[a, b]).unwrap();
                live.retain(|(q, _)| *q != a && *q != b);
                live.push((out, holder));
                sim.tick(30);
            }
            Op::Export { pick } => {
                let Some(i) = pick_of(&live, &|h| h == Holder::Exporter, pick) else { continue };
                let p = live.remove(i).0;
                let w = sim.parcel(&p).unwrap().weight_pt.0;
                let declared = w * CENTS_PER_PT;
                let (exp, gov, ind) = (declared, declared * 104 / 100, declared * 102 / 100);
                let c = kpledger_model::Cents;
                sim.value(&pmt, &p, c(exp), c(gov), Some(c(ind)), c(gov.max(ind))).unwrap();
                sim.tick(60);
                certificates += 1;
                let seal = format!("SL-SEAL-2026-{:04}", 100 + certificates);
                sim.seal(&nma, &p, &[seal.as_str()]).unwrap();
                sim.tick(24 * 60);
                let number = format!("SL-2026-{:06}", 4_311 + certificates);
                let importer = kpledger_testkit::to_antwerp();
                let draft = sim.draft_certificate(&number, &nma, &exporter, importer, &[p], 60).unwrap();
                // Origins (issue 21, 1): the origin a certificate states is implied by the
                // origins recorded at extraction and import, and a single origin that is not
                // is refused (KP-5), whichever country is claimed.
                let sources = recorded_origins(sim.ledger(), &p);
                if let kpledger_model::OriginClaim::Single(x) = &draft.country_of_origin {
                    assert_eq!(sources, BTreeSet::from([Some(x.clone())]), "certificate {number} states {x}");
                }
                for claim in sources.iter().flatten() {
                    if sources.len() == 1 {
                        continue;
                    }
                    let mut forged = draft.clone();
                    forged.country_of_origin = kpledger_model::OriginClaim::Single(claim.clone());
                    let ev =
                        sim.sign(&nma, kpledger_model::Payload::Certificate { certificate: forged }).unwrap();
                    let verdict = sim.ledger().dry_run(&ev).expect("the state reads");
                    assert!(
                        error_codes(verdict.findings()).contains("KP-5"),
                        "a single origin {claim} over origins {sources:?} was not refused: {:#?}",
                        verdict.findings()
                    );
                }
                sim.certify(&nma, draft).unwrap();
                sim.tick(24 * 60);
                sim.export(&nma, &number).unwrap();
                sim.tick(60);
            }
            Op::Import { single, listed, pt, stones } => {
                imports += 1;
                let now = sim.now().unix();
                let country = |c: &str| Country::new(c).unwrap();
                let (origin, named) = if single {
                    (kpledger_model::OriginClaim::Single(country(FOREIGN_ORIGINS[listed])), Vec::new())
                } else {
                    (
                        kpledger_model::OriginClaim::Mixed,
                        FOREIGN_ORIGINS[..listed.min(3)].iter().map(|c| country(c)).collect(),
                    )
                };
                let certificate = kpledger_model::ForeignCertificate {
                    number: text(&format!("BE-2026-{:06}", 118_200 + imports)),
                    issuing_country: country("BE"),
                    issuing_authority: text("FPS Economy, Diamond Office Antwerp"),
                    country_of_origin: origin,
                    countries_of_origin: named,
                    date_of_issue: Time::from_unix(now - 86_400).date(),
                    date_of_expiry: Time::from_unix(now + 59 * 86_400).date(),
                    exporter: text("Antwerp Rough Traders BVBA"),
                    importer: text("Kono Gems Export Ltd"),
                    lines: vec![kpledger_model::CertLine {
                        hs_code: kpledger_model::HsCode::new("7102.31").unwrap(),
                        carats_pt: Points(pt),
                        value_usd_cents: kpledger_model::Cents(pt * CENTS_PER_PT),
                    }],
                    parcel_count: 1,
                };
                let parcel = sim.new_parcel_id();
                let payload = kpledger_model::Payload::Import {
                    parcel,
                    holder: exporter.clone(),
                    weight_pt: Points(pt),
                    stones,
                    hs_code: kpledger_model::HsCode::new("7102.31").unwrap(),
                    certificate,
                    more_parcels: Vec::new(),
                };
                sim.submit(&nma, payload).unwrap();
                live.push((parcel, Holder::Exporter));
                sim.tick(60);
            }
        }
    }
    let root_key = sim.key(&nma).unwrap().clone();
    let checkpoint = sim.ledger_mut().publish_checkpoint(&root_key).unwrap();
    let ledger = sim.into_ledger();
    let events = (1..=ledger.len().unwrap()).map(|seq| ledger.event(seq).unwrap().unwrap()).collect();
    // Property 1, on the ledger as recorded: whole-ledger verification finds no error.
    let report = ledger.verify(&mut |_, _| {}).unwrap();
    assert!(report.ok && report.errors == 0, "a generated history does not verify: {:#?}", report.findings);
    History { events, checkpoint, root_key }
}

/// A fixed history of another ledger, signed with the same keys (same seed and actors),
/// a week later (so its parcels are others).
fn other_ledger() -> &'static [ParsedEvent] {
    static OTHER: OnceLock<Vec<ParsedEvent>> = OnceLock::new();
    OTHER.get_or_init(|| {
        let ops = [
            Op::Mine { sesay: false, pt: 1_234, stones: 9 },
            Op::Sell { pick: 0 },
            Op::Mine { sesay: true, pt: 810, stones: 6 },
            Op::Sell { pick: 1 },
            Op::Sell { pick: 0 },
            Op::Split { pick: 0, percent: 40 },
            Op::Merge { pick: 0, other: 0 },
        ];
        record(&ops, OTHER_ORIGIN, "2026-03-09T08:00:00Z").events
    })
}

/// The parcels an event touches.
fn parcels(ev: &ParsedEvent) -> BTreeSet<ParcelId> {
    ev.event.body.payload.parcels().into_iter().map(|(p, _)| p).collect()
}

/// The in-memory state before each event (index i: the state after events 0..i).
fn states(events: &[ParsedEvent]) -> Vec<MemState> {
    let mut state = MemState::default();
    let mut out = Vec::with_capacity(events.len());
    for (i, ev) in events.iter().enumerate() {
        out.push(state.clone());
        let verdict = check_event(&state, ev);
        assert!(verdict.is_valid(), "event {i} is refused on replay: {:#?}", verdict.findings());
        state.apply(verdict.into_parts().1);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Single-field mutations
// ---------------------------------------------------------------------------------------

/// Every single-value mutation of the leaves under `v`: (JSON pointer, new value).
fn leaf_mutations(v: &Value, at: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                leaf_mutations(x, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaf_mutations(x, &format!("{at}/{i}"), out);
            }
        }
        Value::Number(n) => {
            let n = n.as_u64().unwrap();
            out.push((at.to_owned(), Value::from(n + 1)));
            if n > 0 {
                out.push((at.to_owned(), Value::from(n - 1)));
            }
        }
        Value::String(s) => {
            let chars: Vec<char> = s.chars().collect();
            // The first and the last character that can change within its class.
            let changeable: Vec<usize> =
                (0..chars.len()).filter(|&i| common::next_in_class(chars[i]).is_some()).collect();
            for i in [changeable.first(), changeable.last()].into_iter().flatten().collect::<BTreeSet<_>>() {
                let mut c = chars.clone();
                c[*i] = common::next_in_class(c[*i]).unwrap();
                out.push((at.to_owned(), Value::String(c.into_iter().collect())));
            }
            out.push((at.to_owned(), Value::String(format!("{s}x"))));
        }
        Value::Bool(b) => out.push((at.to_owned(), Value::Bool(!b))),
        Value::Null => {}
    }
}

/// How a mutant was refused.
enum Refusal {
    /// The strict reader refused the bytes (exit 2).
    Parse,
    /// The rules refused it with CH-2.
    Ch2,
}

/// Every single-value mutation of event `i`'s body and signature is refused; returns
/// how many mutants were refused by the reader and by CH-2.
fn mutations_of(events: &[ParsedEvent], before: &MemState, i: usize) -> (usize, usize) {
    let original: Value = serde_json::from_slice(&events[i].canonical).unwrap();
    let mut mutants = Vec::new();
    leaf_mutations(&original["body"], "/body", &mut mutants);
    leaf_mutations(&original["sig"], "/sig", &mut mutants);
    assert!(mutants.len() >= 6, "event {i} has too few signed fields to mutate");
    let (mut parse, mut ch2) = (0, 0);
    for (at, value) in mutants {
        let mut doc = original.clone();
        *doc.pointer_mut(&at).unwrap() = value.clone();
        let refusal = match Event::parse(&canonical_value(&doc)) {
            Err(_) => Refusal::Parse,
            Ok(mutant) => {
                let verdict = check_event(before, &mutant);
                let codes = error_codes(verdict.findings());
                assert!(
                    codes.contains(Rule::Ch2.code()),
                    "event {i} ({}) with {at} = {value} is not refused with CH-2: {codes:?}",
                    events[i].event.body.payload.kind()
                );
                Refusal::Ch2
            }
        };
        match refusal {
            Refusal::Parse => parse += 1,
            Refusal::Ch2 => ch2 += 1,
        }
    }
    (parse, ch2)
}

// ---------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------

fn config() -> ProptestConfig {
    // `PROPTEST_CASES` overrides the number of cases; failures are not written to disk
    // (the failing history is printed, and its ops reproduce it).
    ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    /// 1. Every generated history verifies, in the ledger and replayed in memory, and is
    /// accepted when ingested again (with its checkpoint, it verifies again).
    #[test]
    fn generated_histories_verify(ops in ops()) {
        let h = record(&ops, ORIGIN, START);
        states(&h.events);
        match ingest(&h.events, &h.checkpoint) {
            Outcome::Verified { codes } => prop_assert!(codes.is_empty(), "re-ingested history: {codes:?}"),
            Outcome::Refused { at, codes } => prop_assert!(false, "re-ingest refused event {at}: {codes:?}"),
        }
    }

    /// 2. Every single mutation of a signed field of any event is refused (one event per
    /// case, every field of it; the event is chosen across the whole history).
    #[test]
    fn every_signed_field_mutation_is_refused(ops in ops(), pick in any::<usize>()) {
        let h = record(&ops, ORIGIN, START);
        let before = states(&h.events);
        let i = pick % h.events.len();
        let (parse, ch2) = mutations_of(&h.events, &before[i], i);
        prop_assert!(ch2 > 0, "no mutant of event {i} even parsed ({parse} refused by the reader)");
    }

    /// 3a. Deleting any event is detected: the first later event on one of its parcels is
    /// refused (CH-1, the chain is broken; EX-1 for an export whose certificate is gone);
    /// an event nothing builds on (the newest of its parcel, say) leaves a log that no
    /// longer matches the checkpoint (LOG-2).
    #[test]
    fn deleting_an_event_is_detected(ops in ops(), pick in any::<usize>()) {
        let h = record(&ops, ORIGIN, START);
        let k = pick % h.events.len();
        let mut events = h.events.clone();
        let deleted = events.remove(k);
        let touched = parcels(&deleted);
        // The first later event on one of the deleted event's parcels.
        let dependent = (k..events.len()).find(|&j| !parcels(&events[j]).is_disjoint(&touched));
        match (ingest(&events, &h.checkpoint), dependent) {
            (Outcome::Refused { at, codes }, Some(j)) if !touched.is_empty() => {
                prop_assert_eq!(at, j, "not refused at the first event built on the deleted one ({:?})", codes);
                // A broken chain (CH-1); an export whose certificate was deleted names an
                // unknown certificate (EX-1).
                let expected = if deleted.event.body.payload.kind() == "certificate" { "EX-1" } else { "CH-1" };
                prop_assert!(codes.contains(expected), "dependent event {j} refused with {codes:?}, not {expected}");
            }
            (Outcome::Refused { at, codes }, _) => {
                // Genesis, an enrolment, a site or a policy: what relies on it is refused.
                prop_assert!(at >= k, "refused at {at}, before the deleted event {k}");
                prop_assert!(!codes.is_empty());
            }
            (Outcome::Verified { codes }, dependent) => {
                prop_assert!(dependent.is_none() || touched.is_empty(), "a broken chain was accepted");
                prop_assert!(codes.contains("LOG-2"), "deleting event {k} is not detected: {codes:?}");
            }
        }
    }

    /// 3b. Duplicating any event (a copy inserted anywhere after it) is refused at the copy.
    #[test]
    fn duplicating_an_event_is_detected(ops in ops(), pick in any::<usize>(), at in any::<usize>()) {
        let h = record(&ops, ORIGIN, START);
        let k = pick % h.events.len();
        let j = k + 1 + at % (h.events.len() - k);
        let mut events = h.events.clone();
        events.insert(j, h.events[k].clone());
        match ingest(&events, &h.checkpoint) {
            Outcome::Refused { at, codes } => {
                prop_assert_eq!(at, j, "the copy of event {} is not what was refused ({:?})", k, codes);
                prop_assert!(codes.contains("CH-1"), "copy refused with {codes:?}");
            }
            Outcome::Verified { codes } => prop_assert!(false, "a duplicate was accepted: {codes:?}"),
        }
    }

    /// 3c. Swapping two events is detected: an event moved before the one it builds on is
    /// refused; two unrelated events swapped leave a log that does not match the checkpoint.
    #[test]
    fn reordering_events_is_detected(ops in ops(), a in any::<usize>(), b in any::<usize>()) {
        let h = record(&ops, ORIGIN, START);
        let n = h.events.len();
        let (i, j) = (a % n, b % n);
        prop_assume!(i != j);
        let (i, j) = (i.min(j), i.max(j));
        let mut events = h.events.clone();
        events.swap(i, j);
        let chained = !parcels(&h.events[i]).is_disjoint(&parcels(&h.events[j]));
        match ingest(&events, &h.checkpoint) {
            Outcome::Refused { at, codes } => {
                prop_assert!(at >= i && at <= j, "refused at {at}, outside the swapped {i}..={j}");
                if chained {
                    // The later event of the chain now comes first: its link to the head
                    // is wrong (CH-1), or it comes before what it needs (CH-4; EX-1 for an
                    // export before its certificate).
                    prop_assert_eq!(at, i);
                    prop_assert!(
                        ["CH-1", "CH-4", "EX-1"].iter().any(|c| codes.contains(c)),
                        "chain reordered, refused with {:?}", codes
                    );
                }
            }
            Outcome::Verified { codes } => {
                prop_assert!(!chained, "a reordered chain was accepted");
                prop_assert!(codes.contains("LOG-2"), "swapping {i} and {j} is not detected: {codes:?}");
            }
        }
    }

    /// 3d. Replaying an event of another parcel: an event of this ledger inserted into
    /// another parcel's history (after a later event of another parcel) is refused with
    /// CH-1 or CH-3; an event of another ledger, signed by the same actors with the same
    /// keys, is refused with CH-2 (signed for another ledger).
    #[test]
    fn replaying_an_event_of_another_parcel_is_detected(
        ops in ops(), pick in any::<usize>(), at in any::<usize>(), foreign in any::<usize>()
    ) {
        let h = record(&ops, ORIGIN, START);
        let with_parcels: Vec<usize> = (0..h.events.len()).filter(|&i| !parcels(&h.events[i]).is_empty()).collect();
        let k = with_parcels[pick % with_parcels.len()];
        // After a later event that touches none of event k's parcels, if there is one.
        let others: Vec<usize> =
            (k + 1..h.events.len()).filter(|&j| parcels(&h.events[j]).is_disjoint(&parcels(&h.events[k]))).collect();
        if !others.is_empty() {
            let j = others[at % others.len()] + 1;
            let mut events = h.events.clone();
            events.insert(j, h.events[k].clone());
            match ingest(&events, &h.checkpoint) {
                Outcome::Refused { at, codes } => {
                    prop_assert_eq!(at, j);
                    prop_assert!(codes.contains("CH-1") || codes.contains("CH-3"), "replay refused with {codes:?}");
                }
                Outcome::Verified { codes } => prop_assert!(false, "a replayed event was accepted: {codes:?}"),
            }
        }
        // An event of another ledger's parcel, signed with the same keys.
        let other = other_ledger();
        let theirs: Vec<usize> = (0..other.len()).filter(|&i| !parcels(&other[i]).is_empty()).collect();
        let replayed = other[theirs[foreign % theirs.len()]].clone();
        let j = 1 + at % h.events.len();
        let mut events = h.events.clone();
        events.insert(j, replayed);
        match ingest(&events, &h.checkpoint) {
            Outcome::Refused { at, codes } => {
                prop_assert_eq!(at, j);
                prop_assert!(codes.contains("CH-2"), "cross-ledger replay refused with {codes:?}");
            }
            Outcome::Verified { codes } => prop_assert!(false, "a cross-ledger replay was accepted: {codes:?}"),
        }
    }
}

/// Every signed field of every event of one longer history, exhaustively (the proptest
/// above samples one event per history): thousands of mutants, every one refused.
#[test]
fn every_signed_field_of_a_full_history_is_protected() {
    let ops = [
        Op::Mine { sesay: false, pt: 1_234, stones: 9 },
        Op::Mine { sesay: true, pt: 810, stones: 6 },
        Op::Sell { pick: 0 },
        Op::Sell { pick: 1 },
        Op::Split { pick: 0, percent: 40 },
        Op::Merge { pick: 0, other: 1 },
        Op::Sell { pick: 0 },
        Op::Sell { pick: 0 },
        Op::Export { pick: 0 },
    ];
    let h = record(&ops, ORIGIN, START);
    let before = states(&h.events);
    let kinds: BTreeSet<&str> = h.events.iter().map(|e| e.event.body.payload.kind()).collect();
    let expected =
        "genesis policy site enrol extraction handover split merge valuation seal certificate export";
    for kind in expected.split(' ') {
        assert!(kinds.contains(kind), "the history has no {kind} event: {kinds:?}");
    }
    let (mut parse, mut ch2) = (0, 0);
    for (i, state) in before.iter().enumerate() {
        let (p, c) = mutations_of(&h.events, state, i);
        parse += p;
        ch2 += c;
    }
    assert!(
        ch2 + parse > 1_000 && ch2 > 500 && parse > 100,
        "{ch2} mutants refused by CH-2, {parse} by the reader"
    );
}

proptest! {
    #![proptest_config(config())]

    /// 4. Time of judgement (issue 21, 2 and 3): a new version of Sierra Leone's policy that
    /// suspends the destination (Belgium) from its own time T, inserted at any point of a
    /// generated history and dated at the time of any later event, judges only the events
    /// dated at or after T: every event before it in the log, and every event after it but
    /// dated before T, is judged with the version in force at its own time and accepted;
    /// the first certificate, export or import from Belgium dated at or after T is refused
    /// with KP-6 (an export whose certificate was issued before the suspension included).
    #[test]
    fn each_event_is_judged_with_the_policy_in_force_at_its_time(
        ops in ops(), at in any::<usize>(), when in any::<usize>()
    ) {
        let h = record(&ops, ORIGIN, START);
        let n = h.events.len();
        // After the genesis and the first policy.
        let k = 2 + at % (n - 1);
        let j = k + when % (n - k + 1);
        let t = if j < n { h.events[j].event.body.time.clone() } else {
            Time::from_unix(h.events[n - 1].event.body.time.unix() + 3_600)
        };
        prop_assume!(t > h.events[1].event.body.time);
        let mut suspended = common::policy("SL");
        suspended.version = text("2026-12-01");
        suspended.suspensions.push(kpledger_model::Suspension {
            country: Country::new("BE").unwrap(),
            from: t.date(),
            to: Time::from_unix(t.unix() + 365 * 86_400).date(),
            reason: text("KP suspension"),
        });
        let body = kpledger_model::EventBody {
            v: 1,
            ledger: Origin::new(ORIGIN).unwrap(),
            time: t.clone(),
            signer: h.events[0].event.body.signer.clone(),
            payload: kpledger_model::Payload::Policy { policy: suspended },
        };
        let policy = Event::sign(body, &h.root_key).unwrap().into_parsed().unwrap();
        let mut events = h.events.clone();
        events.insert(k, policy);
        // The ledger's clock (CH-4): an event dated more than MAX_BACKDATE_SECONDS before the
        // newest event already in the log is refused, and the inserted policy, dated T, may be
        // newer than the events after it.
        let mut newest = h.events[..k].iter().map(|e| e.event.body.time.unix()).max().unwrap_or(0);
        let mut clock = None;
        for (i, e) in events.iter().enumerate().skip(k) {
            if e.event.body.time.unix() < newest - kpledger_verify::MAX_BACKDATE_SECONDS {
                clock = Some(i);
                break;
            }
            newest = newest.max(e.event.body.time.unix());
        }
        // A suspension covers whole days: once recorded, it refuses every shipment dated on or
        // after its first day, however the shipment is dated within that day.
        let judged_under_it = (k + 1..events.len()).find(|&i| {
            let e = &events[i].event.body;
            e.time.date() >= t.date()
                && matches!(
                    e.payload,
                    kpledger_model::Payload::Certificate { .. }
                        | kpledger_model::Payload::Export { .. }
                        | kpledger_model::Payload::Import { .. }
                )
        });
        match (ingest(&events, &h.checkpoint), judged_under_it) {
            (Outcome::Refused { at, codes }, Some(i)) if clock.is_none_or(|c| i < c) => {
                prop_assert_eq!(at, i, "refused elsewhere than the first shipment under the suspension");
                prop_assert!(codes.contains("KP-6"), "refused with {codes:?}");
            }
            (Outcome::Refused { at, codes }, _) if clock.is_some() => {
                prop_assert_eq!(Some(at), clock, "refused elsewhere than the first back-dated event");
                prop_assert!(codes.contains("CH-4"), "refused with {codes:?}");
            }
            (Outcome::Verified { codes }, None) => {
                // Only the inserted event is new: the checkpoint no longer matches, unless it
                // was appended after every event the checkpoint covers.
                let expected = if k == n { BTreeSet::new() } else { BTreeSet::from(["LOG-2"]) };
                prop_assert_eq!(codes, expected);
            }
            (outcome, expected) => prop_assert!(false, "{outcome:?}, expected a refusal at {expected:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// No event creates carats (issue 14 item 2)
// ---------------------------------------------------------------------------------------

/// One adversarial step: each proposes an event whose weights are rounded or shifted by a
/// few points either way, as someone who wants more carats than were mined would; the ledger
/// refuses what the rules refuse, and the history goes on with what it accepted.
#[derive(Debug, Clone)]
enum Adv {
    /// Koroma mines a parcel at Koidu.
    Mine { pt: u64, stones: u32 },
    /// The holder (Koroma or the dealer) offers `offer` points off the parcel's weight and
    /// the receiver records `receipt` points off the offer.
    Sell { pick: usize, offer: i64, receipt: i64 },
    /// The holder splits a parcel into `parts` parts of the weight divided by `parts`,
    /// rounded up or down, the last part `extra` points off; the stone counts shared out
    /// and the last `stones` off, or all dropped.
    Split { pick: usize, parts: u64, round_up: bool, extra: i64, stones: i64, drop_counts: bool },
    /// The holder merges two parcels into one `extra` points off their sum, `stones` off.
    Merge { pick: usize, other: usize, extra: i64, stones: i64 },
    /// The NMA admits a lot `extra` points off a Guinean certificate of `pt` points, under a
    /// new number, or under the number of an earlier import (`reuse`), respelled or not.
    Import { pt: u64, extra: i64, reuse: Option<usize>, respell: bool },
    /// The exporter's parcel is valued, sealed and certified, each weighing off by a few
    /// points, the certificate's line too.
    Certify { pick: usize, valuation: i64, seal: i64, line: i64 },
}

fn adv() -> impl Strategy<Value = Adv> {
    let off = || -2i64..=3;
    prop_oneof![
        2 => (1u64..3_000, 1u32..40).prop_map(|(pt, stones)| Adv::Mine { pt, stones }),
        4 => (any::<usize>(), off(), off()).prop_map(|(pick, offer, receipt)| Adv::Sell { pick, offer, receipt }),
        3 => (any::<usize>(), 2u64..12, any::<bool>(), off(), -1i64..=1, prop::bool::weighted(0.2)).prop_map(
            |(pick, parts, round_up, extra, stones, drop_counts)| Adv::Split { pick, parts, round_up, extra, stones, drop_counts }
        ),
        3 => (any::<usize>(), any::<usize>(), off(), -1i64..=1).prop_map(|(pick, other, extra, stones)| Adv::Merge { pick, other, extra, stones }),
        2 => (1u64..3_000, -1i64..=1, prop::option::weighted(0.7, any::<usize>()), any::<bool>()).prop_map(
            |(pt, extra, reuse, respell)| Adv::Import { pt, extra, reuse, respell }
        ),
        2 => (any::<usize>(), off(), off(), off()).prop_map(|(pick, valuation, seal, line)| Adv::Certify { pick, valuation, seal, line }),
    ]
}

fn shifted(x: u64, by: i64) -> u64 {
    x.saturating_add_signed(by).max(1)
}

/// What an adversarial history holds at its end, in points.
#[derive(Debug)]
struct Carats {
    /// Extracted, plus the carats of every distinct foreign certificate admitted.
    sources: u64,
    /// The weights of every parcel not split or merged away (certified ones included).
    held: u64,
    /// The carats of every certificate issued.
    certified: u64,
    /// Events the ledger refused.
    refused: usize,
}

/// Records `steps` into a fresh ledger, submitting every proposed event through
/// `Ledger::append` (refused ones leave the ledger as it was).
fn adversarial(steps: &[Adv]) -> Carats {
    use kpledger_model::{
        Cents, CertLine, ForeignCertificate, HsCode, NewParcel, Offer, OfferBody, OfferKind, OriginClaim,
        ParcelRef, Payload,
    };
    use kpledger_verify::ParcelStatus;
    let scratch = TempDir::in_memory("properties");
    let ledger = Ledger::create(&scratch.ledger()).unwrap();
    let mut sim = Sim::new(ledger, Origin::new(ORIGIN).unwrap(), SEED, &Time::new(START).unwrap());
    let c = cast::build(&mut sim, &cast::koidu_trade(), &Terms::new(ORIGIN, SEED, START));
    let (miner, dealer, exporter, pmt) =
        (c.actor(KOROMA.id), c.actor(KAMARA.id), c.actor(KONO_GEMS.id), c.actor(PMT.id));
    let (nma, koidu) = (c.actor(NMA.id), c.site(KOIDU.0));

    let mut sources = 0u64;
    let mut admitted: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut numbers: Vec<String> = Vec::new();
    let mut refused = 0usize;
    let mut certificates = 0u32;
    // The open parcels held by `who`, in a stable order.
    let open_of = |sim: &Sim, who: &ActorId| -> Vec<kpledger_verify::ParcelState> {
        let mut v: Vec<_> = sim
            .ledger()
            .parcels()
            .unwrap()
            .into_iter()
            .filter(|p| p.status == ParcelStatus::Open && &p.holder == who)
            .collect();
        v.sort_by_key(|p| p.id);
        v
    };
    for step in steps {
        let outcome: Option<bool> = match step {
            Adv::Mine { pt, stones } => {
                let r = sim.extract(&miner, &koidu, Points(*pt), *stones, "7102.31");
                if r.is_ok() {
                    sources += pt;
                }
                Some(r.is_ok())
            }
            Adv::Sell { pick, offer, receipt } => {
                let (from, to) = if pick % 2 == 0 { (&miner, &dealer) } else { (&dealer, &exporter) };
                let held = open_of(&sim, from);
                if held.is_empty() {
                    None
                } else {
                    let p = &held[pick / 2 % held.len()];
                    let declared = shifted(p.weight_pt.0, *offer);
                    let body = OfferBody {
                        v: 1,
                        ledger: Origin::new(ORIGIN).unwrap(),
                        kind: OfferKind::HandoverOffer,
                        time: sim.now(),
                        signer: from.clone(),
                        parcel: p.id,
                        prev: p.head,
                        to: to.clone(),
                        weight_pt: Points(declared),
                        price_usd_cents: Cents(declared * CENTS_PER_PT),
                    };
                    let o = Offer::sign(body, sim.key(from).unwrap()).unwrap();
                    sim.tick(5);
                    let received = Points(shifted(declared, *receipt));
                    Some(sim.submit(to, Payload::Handover { offer: o, weight_pt: received }).is_ok())
                }
            }
            Adv::Split { pick, parts, round_up, extra, stones, drop_counts } => {
                let who = if pick % 2 == 0 { &dealer } else { &exporter };
                let held = open_of(&sim, who);
                if held.is_empty() {
                    None
                } else {
                    let p = held[pick / 2 % held.len()].clone();
                    let w = p.weight_pt.0;
                    let each = if *round_up { w.div_ceil(*parts) } else { w / parts }.max(1);
                    let mut weights = vec![Points(each); *parts as usize];
                    let last = weights.len() - 1;
                    weights[last] = Points(shifted(each, *extra));
                    let mut outputs: Vec<NewParcel> = sim.split_outputs(&p, &weights);
                    if *drop_counts {
                        outputs.iter_mut().for_each(|o| o.stones = None);
                    } else if let Some(s) = outputs[last].stones {
                        outputs[last].stones = Some(u32::try_from(i64::from(s) + stones).unwrap_or(0));
                    }
                    Some(sim.submit(who, Payload::Split { parcel: p.id, prev: p.head, outputs }).is_ok())
                }
            }
            Adv::Merge { pick, other, extra, stones } => {
                let who = if pick % 2 == 0 { &dealer } else { &exporter };
                let held = open_of(&sim, who);
                if held.len() < 2 {
                    None
                } else {
                    let i = pick / 2 % held.len();
                    let j = (i + 1 + other % (held.len() - 1)) % held.len();
                    let (a, b) = (&held[i], &held[j]);
                    let count = a
                        .stones
                        .zip(b.stones)
                        .map(|(x, y)| u32::try_from(i64::from(x + y) + stones).unwrap_or(0));
                    let output = NewParcel {
                        parcel: sim.new_parcel_id(),
                        weight_pt: Points(shifted(a.weight_pt.0 + b.weight_pt.0, *extra)),
                        stones: count,
                    };
                    let inputs = vec![
                        ParcelRef { parcel: a.id, prev: a.head },
                        ParcelRef { parcel: b.id, prev: b.head },
                    ];
                    Some(sim.submit(who, Payload::Merge { inputs, output }).is_ok())
                }
            }
            Adv::Import { pt, extra, reuse, respell } => {
                let number = match reuse {
                    Some(k) if !numbers.is_empty() => numbers[k % numbers.len()].clone(),
                    _ => format!("GN-2026-{:06}", 777 + numbers.len()),
                };
                let spelled = if *respell { number.replace('-', "") } else { number.clone() };
                let today = sim.now().date();
                let valid_to = Time::from_unix(sim.now().unix() + 30 * 86_400).date();
                let certificate = ForeignCertificate {
                    number: text(&spelled),
                    issuing_country: Country::new("GN").unwrap(),
                    issuing_authority: text("Ministere des Mines et de la Geologie de Guinee"),
                    country_of_origin: OriginClaim::Single(Country::new("GN").unwrap()),
                    countries_of_origin: Vec::new(),
                    date_of_issue: today,
                    date_of_expiry: valid_to,
                    exporter: text("Comptoir d'Achat de Kankan"),
                    importer: text("Kono Gems Export Ltd"),
                    lines: vec![CertLine {
                        hs_code: HsCode::new("7102.31").unwrap(),
                        carats_pt: Points(*pt),
                        value_usd_cents: Cents(pt * CENTS_PER_PT),
                    }],
                    parcel_count: 1,
                };
                let payload = Payload::Import {
                    parcel: sim.new_parcel_id(),
                    holder: exporter.clone(),
                    weight_pt: Points(shifted(*pt, *extra)),
                    stones: 10,
                    hs_code: HsCode::new("7102.31").unwrap(),
                    certificate,
                    more_parcels: Vec::new(),
                };
                let ok = sim.submit(&nma, payload).is_ok();
                if ok {
                    // The carats a certificate brings in count once, however often it is shown.
                    let key = kpledger_verify::import_key(&Country::new("GN").unwrap(), &number);
                    if let std::collections::btree_map::Entry::Vacant(e) = admitted.entry(key) {
                        sources += pt;
                        e.insert(*pt);
                    }
                    if !numbers.contains(&number) {
                        numbers.push(number);
                    }
                }
                Some(ok)
            }
            Adv::Certify { pick, valuation, seal, line } => {
                let held = open_of(&sim, &exporter);
                if held.is_empty() {
                    None
                } else {
                    let p = held[pick % held.len()].clone();
                    let w = shifted(p.weight_pt.0, *valuation);
                    let declared = w * CENTS_PER_PT;
                    let (gov, ind) = (declared * 104 / 100, declared * 102 / 100);
                    let fin = Cents(gov.max(ind));
                    let payload = Payload::Valuation {
                        parcel: p.id,
                        prev: p.head,
                        weight_pt: Points(w),
                        exporter_usd_cents: Cents(declared),
                        government_usd_cents: Cents(gov),
                        independent_usd_cents: Some(Cents(ind)),
                        final_usd_cents: fin,
                        duty_usd_cents: sim.duty(&pmt, fin).unwrap(),
                    };
                    let mut ok = sim.submit(&pmt, payload).is_ok();
                    if ok {
                        sim.tick(60);
                        certificates += 1;
                        let valued = sim.parcel(&p.id).unwrap();
                        let payload = Payload::Seal {
                            parcel: p.id,
                            prev: valued.head,
                            weight_pt: Points(shifted(valued.weight_pt.0, *seal)),
                            seal_ids: vec![text(&format!("SL-SEAL-2026-{:04}", 100 + certificates))],
                        };
                        ok = sim.submit(&nma, payload).is_ok();
                    }
                    if ok {
                        sim.tick(24 * 60);
                        let number = format!("SL-2026-{:06}", 4_311 + certificates);
                        let importer = kpledger_testkit::to_antwerp();
                        let mut draft =
                            sim.draft_certificate(&number, &nma, &exporter, importer, &[p.id], 60).unwrap();
                        draft.lines[0].carats_pt = Points(shifted(draft.lines[0].carats_pt.0, *line));
                        ok = sim.certify(&nma, draft).is_ok();
                    }
                    Some(ok)
                }
            }
        };
        if outcome == Some(false) {
            refused += 1;
        }
        sim.tick(30);
    }
    let ledger = sim.ledger();
    let report = ledger.verify(&mut |_, _| {}).unwrap();
    assert!(
        report.ok && report.errors == 0,
        "an adversarial history does not verify: {:#?}",
        report.findings
    );
    let held = ledger
        .parcels()
        .unwrap()
        .iter()
        .filter(|p| p.status != ParcelStatus::Consumed)
        .map(|p| p.weight_pt.0)
        .sum();
    let certified = ledger.certificates().unwrap().iter().map(|c| c.certificate.carats()).sum();
    Carats { sources, held, certified, refused }
}

proptest! {
    #![proptest_config(config())]

    /// 5. No event creates carats: over histories of adversarially rounded splits, merges,
    /// handovers, valuations, seals, certificates and imports (repeated and respelled
    /// foreign certificates among them), the carats certified, and the carats held in all
    /// parcels, never exceed the carats extracted plus those of the foreign certificates
    /// admitted (each counted once).
    #[test]
    fn no_event_creates_carats(steps in (prop::collection::vec(adv(), 4..28), 1u64..3_000, 1u32..40)
        .prop_map(|(mut s, pt, stones)| { s.insert(0, Adv::Mine { pt, stones }); s }))
    {
        let c = adversarial(&steps);
        prop_assert!(c.certified <= c.sources, "{c:?}");
        prop_assert!(c.held <= c.sources, "{c:?}");
    }
}

/// The attacks of issue 14 item 2, rebuilt. 1.00 ct grew to 7.00 ct in three rounds of
/// splits and merges that each gained a point per part: every gaining step is now refused
/// and the exact ones go through. And W points split into parts of 2 points, merged back
/// claiming three times their weight: refused.
#[test]
fn split_and_merge_rounds_cannot_grow_a_parcel() {
    let mut steps = vec![Adv::Mine { pt: 100, stones: 100 }, Adv::Sell { pick: 0, offer: 0, receipt: 0 }];
    for _ in 0..3 {
        steps.push(Adv::Split { pick: 0, parts: 2, round_up: true, extra: 1, stones: 0, drop_counts: false });
        steps.push(Adv::Split { pick: 0, parts: 2, round_up: true, extra: 0, stones: 0, drop_counts: false });
        steps.push(Adv::Merge { pick: 0, other: 0, extra: 1, stones: 0 });
        steps.push(Adv::Merge { pick: 0, other: 0, extra: 0, stones: 0 });
    }
    let c = adversarial(&steps);
    assert!(c.sources == 100 && c.held == 100 && c.refused == 6, "{c:?}");

    let c = adversarial(&[
        Adv::Mine { pt: 10, stones: 10 },
        Adv::Sell { pick: 0, offer: 0, receipt: 0 },
        Adv::Split { pick: 0, parts: 5, round_up: false, extra: 0, stones: 0, drop_counts: false },
        // Two parts of 2 points merged as 12 points (three times 4).
        Adv::Merge { pick: 0, other: 0, extra: 8, stones: 0 },
    ]);
    assert!(c.held == 10 && c.refused == 1, "{c:?}");

    // GN-2026-000777 (100.00 ct) admitted once, then shown twice more, once respelled.
    let again = |respell| Adv::Import { pt: 10_000, extra: 0, reuse: Some(0), respell };
    let c = adversarial(&[
        Adv::Mine { pt: 10, stones: 10 },
        Adv::Import { pt: 10_000, extra: 0, reuse: None, respell: false },
        again(false),
        again(true),
    ]);
    assert!(c.sources == 10_010 && c.held == 10_010 && c.refused == 2, "{c:?}");
}

/// An adversarial import: a Guinean certificate with one line per heading (`lines`, points
/// under 7102.21, 7102.31 and 7102.10 in that order), and the shipment admitted under it,
/// each line's carats shared out into `parts` parcels, each parcel `extra` points off, one
/// parcel moved to another heading (`relabel`: which parcel, which heading, 7102.39 among
/// them), and the parcel count on the certificate `count_off` from the parcels admitted.
#[derive(Debug, Clone)]
struct Shipment {
    lines: Vec<u64>,
    parts: Vec<u64>,
    extra: Vec<i64>,
    relabel: Option<(usize, usize)>,
    count_off: i64,
}

const HEADINGS: [&str; 4] = ["7102.21", "7102.31", "7102.10", "7102.39"];

fn shipment() -> impl Strategy<Value = Shipment> {
    (
        prop::collection::vec(3u64..3_000, 1..=3),
        prop::collection::vec(1u64..=3, 3),
        prop::collection::vec(-2i64..=2, 1..6),
        prop::option::weighted(0.3, (any::<usize>(), 0usize..4)),
        prop_oneof![3 => Just(0i64), 1 => -1i64..=1],
    )
        .prop_map(|(lines, parts, extra, relabel, count_off)| Shipment {
            lines,
            parts,
            extra,
            relabel,
            count_off,
        })
}

/// `(certificate's parcel count, each parcel as (points, heading))` of a shipment, honest
/// (every perturbation left out) or not.
fn shipment_parcels(s: &Shipment, honest: bool) -> (u32, Vec<(u64, &'static str)>) {
    let mut parcels = Vec::new();
    for (k, line) in s.lines.iter().enumerate() {
        let parts = s.parts[k];
        for i in 0..parts {
            let share = line / parts + if i + 1 == parts { line % parts } else { 0 };
            parcels.push((share, HEADINGS[k]));
        }
    }
    let count = u32::try_from(parcels.len()).unwrap();
    if honest {
        return (count, parcels);
    }
    for (i, p) in parcels.iter_mut().enumerate() {
        p.0 = shifted(p.0, s.extra[i % s.extra.len()]);
    }
    if let Some((which, heading)) = s.relabel {
        let n = parcels.len();
        parcels[which % n].1 = HEADINGS[heading];
    }
    (u32::try_from(i64::from(count) + s.count_off).unwrap_or(0), parcels)
}

proptest! {
    #![proptest_config(config())]

    /// 6. An import admits exactly its certificate's shipment (IM-1): over adversarial shipments
    /// (carats off per parcel, moved between headings, parcels miscounted), whatever the ledger
    /// accepts has the certificate's parcel count, every heading on the certificate and every
    /// line covered, never more carats under a heading than its line, and is short of the
    /// certificate by no more than the tolerance; the honest shipment is always accepted.
    #[test]
    fn imported_carats_never_exceed_the_certificate(shipments in prop::collection::vec(shipment(), 1..5)) {
        use kpledger_model::{Cents, CertLine, ForeignCertificate, HsCode, OriginClaim, Payload};
        let scratch = TempDir::in_memory("properties");
        let ledger = Ledger::create(&scratch.ledger()).unwrap();
        let mut sim = Sim::new(ledger, Origin::new(ORIGIN).unwrap(), SEED, &Time::new(START).unwrap());
        let nma = sim.genesis("sl.nma", "National Minerals Agency of Sierra Leone", "SL").unwrap();
        let policy = common::policy("SL");
        let tol = policy.tolerance_pt;
        sim.policy(&nma, policy).unwrap();
        let importer = sim
            .enrol_with(
                &nma,
                Enrolment {
                    id: "sl.exporter.kono-gems",
                    name: "Kono Gems Export Ltd",
                    role: Role::Exporter,
                    country: "SL",
                    licence: Some(licence("NMA/EXP/2026/007", "exporter", "2026-01-01", "2026-12-31", &[]).unwrap()),
                    address: Some("14 Sewafe Road, Koidu"),
                },
            )
            .unwrap();
        for (n, s) in shipments.iter().enumerate() {
            let (issued, expires) =
                (sim.now().date(), Time::from_unix(sim.now().unix() + 30 * 86_400).date());
            let certificate = |parcel_count: u32| ForeignCertificate {
                number: text(&format!("GN-2026-{:06}", 777 + n)),
                issuing_country: Country::new("GN").unwrap(),
                issuing_authority: text("Ministere des Mines et de la Geologie de Guinee"),
                country_of_origin: OriginClaim::Single(Country::new("GN").unwrap()),
                countries_of_origin: Vec::new(),
                date_of_issue: issued.clone(),
                date_of_expiry: expires.clone(),
                exporter: text("Comptoir d'Achat de Kankan"),
                importer: text("Kono Gems Export Ltd"),
                lines: s
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(k, pt)| CertLine {
                        hs_code: HsCode::new(HEADINGS[k]).unwrap(),
                        carats_pt: Points(*pt),
                        value_usd_cents: Cents(pt * CENTS_PER_PT),
                    })
                    .collect(),
                parcel_count,
            };
            let import = |sim: &mut Sim, honest: bool| {
                let (count, parcels) = shipment_parcels(s, honest);
                let parcels: Vec<(u64, u32, &str)> = parcels.iter().map(|(pt, hs)| (*pt, 10, *hs)).collect();
                kpledger_testkit::events::import_shipment(sim, &importer, &parcels, certificate(count))
            };
            let honest = import(&mut sim, true);
            let honest = sim.sign(&nma, honest).unwrap();
            let v = sim.ledger().dry_run(&honest).unwrap();
            prop_assert!(v.is_valid(), "the honest shipment {s:?} is refused: {:#?}", v.findings());
            let payload = import(&mut sim, false);
            if sim.submit(&nma, payload.clone()).is_err() {
                continue;
            }
            let Payload::Import { certificate: c, .. } = &payload else { unreachable!() };
            let admitted = payload.import_parcels();
            prop_assert_eq!(admitted.len(), c.parcel_count as usize);
            let mut short = 0u64;
            for l in &c.lines {
                let got: u64 = admitted.iter().filter(|p| p.hs_code == l.hs_code).map(|p| p.weight_pt.0).sum();
                prop_assert!(got > 0 && got <= l.carats_pt.0, "{} admitted under {} of {}: {s:?}", got, l.hs_code, l.carats_pt.0);
                short += l.carats_pt.0 - got;
            }
            prop_assert!(short <= tol, "{short} points short: {s:?}");
            prop_assert!(admitted.iter().all(|p| c.lines.iter().any(|l| l.hs_code == p.hs_code)), "{s:?}");
            sim.tick(60);
        }
    }
}
