//! EPCIS export and check against real ledgers:
//!
//! 1. every document exported from the demo ledger (the whole ledger, every parcel, every
//!    certificate) validates against the official EPCIS 2.0 JSON Schema
//!    (`tests/vectors/epcis/gs1-EPCIS/EPCIS-JSON-Schema.json`, draft-07, formats
//!    checked, offline: the retriever refuses to fetch anything), and so do the documents of a
//!    scenario that records every one of the 17 event kinds;
//! 2. every exported event's `eventID` is its CBV 2.0 hash ID, it carries its kpledger event
//!    hash, and every custody event of the ledger is exported;
//! 3. `check` matches every event of every export (a parcel's or a certificate's too: an
//!    event exports the same whatever the scope), and finds altered and foreign events;
//! 4. the examples in `docs/EPCIS.md` are what the exporter writes today, one per event kind,
//!    from the scenario ledger (`KPLEDGER_BLESS=1 cargo test -p kpledger-epcis` rewrites them).
// Tests: a panic with a message is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jsonschema::{Draft, Retrieve, Uri, Validator};
use kpledger_core::sim::text;
use kpledger_core::{Ledger, OpenOptions, demo};
use kpledger_epcis::{check, export_certificate, export_ledger, export_parcel, hash_id};
use kpledger_model::{
    Cents, CertImporter, CertLine, Country, ForeignCertificate, HsCode, OriginClaim, Payload, Points, Time,
};
use kpledger_testkit::TempDir;
use kpledger_testkit::cast::{
    self, GN_MINES, KAMARA, KOIDU, KONO_GEMS, KOROMA, LIBERTY_EXPORTS, MME, NMA, PMT, SESAY, Terms,
};
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/epcis");

/// A retriever that refuses: the EPCIS schema is one self-contained file.
struct NoFetch;

impl Retrieve for NoFetch {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("the EPCIS tests fetch nothing, but {uri} was asked for").into())
    }
}

/// The official EPCIS 2.0 JSON Schema, compiled offline with format checks.
fn epcis_schema() -> Validator {
    let path = Path::new(VECTORS).join("gs1-EPCIS/EPCIS-JSON-Schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the EPCIS vectors are missing: cannot read {} ({e}). They live outside the project, in \
             tests/vectors/epcis in the repository (see tests/vectors/MANIFEST.md).",
            path.display()
        )
    });
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .with_retriever(NoFetch)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("the EPCIS schema does not compile: {e}"))
}

fn assert_valid(schema: &Validator, doc: &Value, what: &str) {
    let errors: Vec<String> =
        schema.iter_errors(doc).map(|e| format!("  at {}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} is not valid EPCIS 2.0:\n{}", errors.join("\n"));
}

fn events(doc: &Value) -> &Vec<Value> {
    doc["epcisBody"]["eventList"].as_array().unwrap()
}

fn open(path: &Path) -> Ledger {
    Ledger::open(path, OpenOptions { read_only: true, ..Default::default() }).unwrap()
}

/// The kind of each ledger event that has EPCIS events, by kpledger event hash.
fn custody_kinds(ledger: &Ledger) -> Vec<(String, &'static str)> {
    (1..=ledger.len().unwrap())
        .map(|seq| ledger.event(seq).unwrap().unwrap())
        .filter(|e| !e.event.body.payload.parcels().is_empty())
        .map(|e| (e.hash.to_hex(), e.event.body.payload.kind()))
        .collect()
}

/// Checks the invariants of one exported document.
fn check_document(schema: &Validator, ledger: &Ledger, doc: &Value, what: &str) {
    assert_valid(schema, doc, what);
    let ids = hash_id::hash_ids(doc).unwrap();
    for (event, id) in events(doc).iter().zip(&ids) {
        assert_eq!(event["eventID"].as_str(), Some(id.as_str()), "{what}: eventID is not the CBV hash ID");
        assert_eq!(event["kpl:eventHash"].as_str().map(str::len), Some(64), "{what}: no kpledger event hash");
    }
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "{what}: two events hash alike");
    let bytes = serde_json::to_vec(doc).unwrap();
    let report = check(ledger, &bytes).unwrap();
    assert!(report.all_matched() && report.matched.len() == ids.len(), "{what}: {report:#?}");
}

#[test]
fn every_demo_export_is_valid_epcis_and_matches_the_ledger() {
    let schema = epcis_schema();
    let tmp = TempDir::new("epcis-demo");
    let summary = demo::run(&tmp.join("demo"), 24, &mut |_| {}).unwrap();
    let ledger = open(&summary.ledger);

    let whole = export_ledger(&ledger).unwrap();
    check_document(&schema, &ledger, &whole, "the demo ledger's export");
    // Every custody event is there (a handover twice: shipping and receiving).
    let custody = custody_kinds(&ledger);
    let exported: Vec<&str> = events(&whole).iter().map(|e| e["kpl:eventHash"].as_str().unwrap()).collect();
    for (hash, kind) in &custody {
        let n = exported.iter().filter(|h| *h == hash).count();
        assert_eq!(n, if *kind == "handover" { 2 } else { 1 }, "{kind} event {hash}");
    }
    let expected: usize = custody.iter().map(|(_, k)| if *k == "handover" { 2 } else { 1 }).sum();
    assert_eq!(exported.len(), expected, "events that are not custody events were exported");
    // The same ledger exports the same bytes.
    assert_eq!(export_ledger(&ledger).unwrap(), whole);

    let parcels = ledger.parcels().unwrap();
    assert!(parcels.len() > 24, "the demo has {} parcels", parcels.len());
    for p in &parcels {
        let doc = export_parcel(&ledger, &p.id).unwrap();
        check_document(&schema, &ledger, &doc, &format!("parcel {}", p.id));
    }
    let certificates = ledger.certificates().unwrap();
    assert_eq!(certificates.len(), 4);
    for c in &certificates {
        let doc = export_certificate(&ledger, &c.certificate.number).unwrap();
        check_document(&schema, &ledger, &doc, &format!("certificate {}", c.certificate.number));
        let kinds: BTreeSet<&str> = events(&doc).iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds.len(), 4, "{}: {kinds:?}", c.certificate.number);
    }
}

#[test]
fn the_schema_check_is_not_vacuous() {
    let schema = epcis_schema();
    let (tmp, ledger) = scenario("vacuous");
    let doc = export_ledger(&ledger).unwrap();
    assert_valid(&schema, &doc, "the scenario's export");
    for (pointer, broken) in [
        ("/epcisBody/eventList/0/action", Value::String("MOVE".into())),
        ("/epcisBody/eventList/0/eventTime", Value::String("yesterday".into())),
        ("/epcisBody/eventList/0/quantityList/0/uom", Value::String("carats".into())),
        ("/schemaVersion", Value::Null),
    ] {
        let mut bad = doc.clone();
        *bad.pointer_mut(pointer).unwrap() = broken;
        assert!(!schema.is_valid(&bad), "{pointer} broken, still valid");
    }
    drop(tmp);
}

#[test]
fn check_finds_altered_and_foreign_events() {
    let (tmp, ledger) = scenario("check");
    let doc = export_ledger(&ledger).unwrap();
    let n = events(&doc).len();
    let mut altered = doc.clone();
    let list = altered["epcisBody"]["eventList"].as_array_mut().unwrap();
    // A weight changed (the eventID left as it was).
    list[1]["quantityList"][0]["quantity"] = serde_json::json!(99.99);
    // An event that is not in the ledger.
    let mut foreign = list[0].clone();
    foreign["eventTime"] = Value::String("2001-01-01T00:00:00Z".into());
    foreign.as_object_mut().unwrap().remove("kpl:eventHash");
    foreign.as_object_mut().unwrap().remove("eventID");
    list.push(foreign);
    // The event hash named by its eventID only (kpl:eventHash removed, content changed).
    list[2].as_object_mut().unwrap().remove("kpl:eventHash");
    list[2]["bizStep"] = Value::String("other".into());
    let report = check(&ledger, &serde_json::to_vec(&altered).unwrap()).unwrap();
    assert_eq!(report.events, n + 1);
    assert_eq!(report.matched.len(), n - 2, "{report:#?}");
    assert_eq!(report.differing.iter().map(|e| e.index).collect::<Vec<_>>(), [1, 2], "{report:#?}");
    assert_eq!(report.missing_from_ledger.iter().map(|e| e.index).collect::<Vec<_>>(), [n], "{report:#?}");
    let d = &report.differing[0];
    assert_eq!(d.ledger_event_hash.as_deref(), events(&doc)[1]["kpl:eventHash"].as_str());
    assert!(d.ledger_event_hash_ids.contains(&events(&doc)[1]["eventID"].as_str().unwrap().to_owned()));
    assert!(!report.all_matched());
    // The report is JSON for the CLI.
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["missing_from_ledger"][0]["event_hash_id"].as_str().unwrap().starts_with("ni:///sha-256;"));
    // Not EPCIS, not JSON.
    assert!(check(&ledger, b"{\"type\": \"EPCISDocument\"}").is_err());
    assert!(check(&ledger, b"not json").is_err());
    drop(tmp);
}

#[test]
fn unknown_parcels_and_certificates_are_errors() {
    let (tmp, ledger) = scenario("unknown");
    let nil = uuid_nil();
    assert!(export_parcel(&ledger, &nil).unwrap_err().to_string().contains("no parcel"));
    let err = export_certificate(&ledger, &text("XX-2026-000000").unwrap()).unwrap_err();
    assert!(err.to_string().contains("no certificate XX-2026-000000"), "{err}");
    drop(tmp);
}

fn uuid_nil() -> kpledger_model::ParcelId {
    "00000000-0000-0000-0000-000000000000".parse().unwrap()
}

/// A Sierra Leone ledger that records every one of the 17 event kinds: the NMA as root,
/// its policy, a mine site, two miners, a dealer, an exporter and the PMT; Liberia's and
/// Guinea's authorities (Liberia with its policy and an exporter); a key rotation; two parcels
/// mined, sold to the dealer (one re-weighed 0.02 ct lighter), one split, a part merged with
/// the other into a lot that is sold to the exporter, valued, sealed, certified to Liberia,
/// exported, recorded in transit through Guinea and confirmed by Liberia; a Liberian parcel
/// imported into Sierra Leone; and the second miner's licence revoked. Its directory, and the
/// ledger opened read-only.
fn scenario(tag: &str) -> (TempDir, Ledger) {
    let tmp = TempDir::new(&format!("epcis-{tag}"));
    let path = tmp.join("ledger.kpl");
    let terms = Terms::new("kpledger.example/epcis", "kpledger-epcis-examples-v1", "2026-03-02T08:00:00Z");
    let mut sim = cast::sim_at(&path, &terms);
    let c = cast::build(&mut sim, &cast::sierra_leone_and_neighbours(), &Terms::published());
    let (nma, koroma, sesay, kamara, kono, pmt) = (
        c.actor(NMA.id),
        c.actor(KOROMA.id),
        c.actor(SESAY.id),
        c.actor(KAMARA.id),
        c.actor(KONO_GEMS.id),
        c.actor(PMT.id),
    );
    let (mme, liberty, gn, koidu) =
        (c.actor(MME.id), c.actor(LIBERTY_EXPORTS.id), c.actor(GN_MINES.id), c.site(KOIDU.0));
    sim.rotate(&nma, &koroma, 1).unwrap();
    sim.tick(60);

    let price = |w: u64| Cents(w * 289);
    let a = sim.extract(&koroma, &koidu, Points(1250), 21, "7102.31").unwrap();
    sim.tick(30);
    let b = sim.extract(&sesay, &koidu, Points(840), 14, "7102.21").unwrap();
    sim.tick(30);
    sim.handover(&koroma, &a, &kamara, price(1250), None).unwrap();
    sim.tick(60);
    sim.handover(&sesay, &b, &kamara, price(840), Some(Points(838))).unwrap();
    sim.tick(60);
    let parts = sim.split(&kamara, &a, &[Points(750), Points(500)]).unwrap();
    sim.tick(120);
    let lot = sim.merge(&kamara, &[parts[0], b]).unwrap();
    sim.tick(120);
    sim.handover(&kamara, &lot, &kono, price(1588), None).unwrap();
    sim.tick(60);
    let w = sim.parcel(&lot).unwrap().weight_pt.0;
    assert_eq!(w, 1588);
    let base = w * 289 * 120 / 100;
    let (exporter, government, independent) = (Cents(base), Cents(base * 104 / 100), Cents(base * 102 / 100));
    sim.value(&pmt, &lot, exporter, government, Some(independent), government).unwrap();
    sim.tick(60);
    sim.seal(&nma, &lot, &["SL-SEAL-2026-0101", "SL-SEAL-2026-0102"]).unwrap();
    sim.tick(60);
    let to_liberia = CertImporter {
        name: text("Liberty Rough Exports Inc").unwrap(),
        address: text("Randall Street, Monrovia").unwrap(),
        country: Country::new("LR").unwrap(),
        actor: None,
    };
    let number = "SL-2026-004312";
    let draft = sim.draft_certificate(number, &nma, &kono, to_liberia, &[lot], 60).unwrap();
    sim.certify(&nma, draft).unwrap();
    sim.tick(60);
    sim.export(&nma, number).unwrap();
    sim.tick(12 * 60);
    let transit = kpledger_testkit::events::transit(&sim, number, "GN");
    sim.submit(&gn, transit).unwrap();
    sim.tick(12 * 60);
    sim.confirm_import(&mme, number, &liberty).unwrap();
    sim.tick(60);

    let today = sim.now();
    let day = |d: i64| Time::from_unix(today.unix() + d * 86_400).date();
    let foreign = ForeignCertificate {
        number: text("LR-2026-000042").unwrap(),
        issuing_country: Country::new("LR").unwrap(),
        issuing_authority: text("Ministry of Mines and Energy of Liberia").unwrap(),
        country_of_origin: OriginClaim::Single(Country::new("LR").unwrap()),
        countries_of_origin: Vec::new(),
        date_of_issue: day(-2),
        date_of_expiry: day(58),
        exporter: text("Liberty Rough Exports Inc").unwrap(),
        importer: text("Kono Gems Export Ltd").unwrap(),
        lines: vec![
            CertLine {
                hs_code: HsCode::new("7102.31").unwrap(),
                carats_pt: Points(840),
                value_usd_cents: Cents(840 * 428),
            },
            CertLine {
                hs_code: HsCode::new("7102.21").unwrap(),
                carats_pt: Points(300),
                value_usd_cents: Cents(300 * 95),
            },
        ],
        parcel_count: 2,
    };
    // A shipment of two parcels under two headings: one ObjectEvent (ADD) each.
    let parcel = sim.new_parcel_id();
    let second = kpledger_model::ImportParcel {
        parcel: sim.new_parcel_id(),
        weight_pt: Points(300),
        stones: 9,
        hs_code: HsCode::new("7102.21").unwrap(),
    };
    let import = Payload::Import {
        parcel,
        holder: kono.clone(),
        weight_pt: Points(840),
        stones: 14,
        hs_code: HsCode::new("7102.31").unwrap(),
        certificate: foreign,
        more_parcels: vec![second],
    };
    sim.submit(&nma, import).unwrap();
    sim.tick(60);
    sim.submit(
        &nma,
        Payload::Revoke { actor: sesay, reason: text("licence withdrawn after inspection").unwrap() },
    )
    .unwrap();

    let ledger = sim.into_ledger();
    let report = ledger.verify(&mut |_, _| {}).unwrap();
    assert!(report.ok && report.errors == 0, "the scenario does not verify: {:#?}", report.findings);
    let kinds: BTreeSet<&str> = (1..=ledger.len().unwrap())
        .map(|s| ledger.event(s).unwrap().unwrap().event.body.payload.kind())
        .collect();
    assert_eq!(kinds.len(), 17, "the scenario records {kinds:?}");
    drop(ledger);
    (tmp, open(&path))
}

#[test]
fn every_event_kind_exports_valid_epcis() {
    let schema = epcis_schema();
    let (tmp, ledger) = scenario("kinds");
    let whole = export_ledger(&ledger).unwrap();
    check_document(&schema, &ledger, &whole, "the scenario's export");
    let types: BTreeSet<&str> = events(&whole).iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        BTreeSet::from(["AggregationEvent", "ObjectEvent", "TransactionEvent", "TransformationEvent"])
    );
    let imports: Vec<&Value> =
        events(&whole).iter().filter(|e| e["bizStep"] == "receiving" && e["action"] == "ADD").collect();
    let heads: BTreeSet<&str> =
        imports.iter().map(|e| e["ilmd"]["kpl:hsCode"].as_str().unwrap_or_default()).collect();
    assert_eq!(imports.len(), 2, "one ObjectEvent per imported parcel: {imports:#?}");
    assert_eq!(heads.len(), 2, "each imported parcel with its own heading: {imports:#?}");
    for p in ledger.parcels().unwrap() {
        check_document(
            &schema,
            &ledger,
            &export_parcel(&ledger, &p.id).unwrap(),
            &format!("parcel {}", p.id),
        );
    }
    for c in ledger.certificates().unwrap() {
        let doc = export_certificate(&ledger, &c.certificate.number).unwrap();
        check_document(&schema, &ledger, &doc, &format!("certificate {}", c.certificate.number));
    }
    drop(tmp);
}

/// Where the generated examples go in `docs/EPCIS.md`.
const BEGIN: &str = "<!-- BEGIN GENERATED EXAMPLES: crates/epcis/tests/export.rs writes this part; \
                     KPLEDGER_BLESS=1 cargo test -p kpledger-epcis rewrites it -->";
const END: &str = "<!-- END GENERATED EXAMPLES -->";

/// The 17 kinds, in the order of `Payload`.
const KINDS: [&str; 17] = [
    "genesis",
    "policy",
    "enrol",
    "rotate_key",
    "revoke",
    "site",
    "extraction",
    "handover",
    "split",
    "merge",
    "valuation",
    "seal",
    "certificate",
    "export",
    "transit",
    "import",
    "import_confirmation",
];

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

/// One example per event kind, from the scenario ledger's export.
fn examples(ledger: &Ledger, doc: &Value) -> String {
    let mut first = BTreeMap::new();
    let all: Vec<_> = (1..=ledger.len().unwrap()).map(|s| ledger.event(s).unwrap().unwrap()).collect();
    for e in &all {
        first.entry(e.event.body.payload.kind()).or_insert(e);
    }
    let vocabularies =
        doc.pointer("/epcisHeader/epcisMasterData/vocabularyList").unwrap().as_array().unwrap();
    let element = |id: &str| {
        vocabularies
            .iter()
            .flat_map(|v| v["vocabularyElementList"].as_array().unwrap())
            .find(|e| e["id"] == id)
            .cloned()
    };
    let master = |kind: &str, what: &str, e: Value| {
        format!(
            "### `{kind}`: no EPCIS event\n\n{what} It is described in the document header's master \
             data (`epcisHeader.epcisMasterData`):\n\n```json\n{}\n```\n",
            pretty(&e)
        )
    };
    let mut out = String::new();
    for kind in KINDS {
        let ev = first.get(kind).unwrap_or_else(|| panic!("the scenario has no {kind} event"));
        let section = match &ev.event.body.payload {
            Payload::Genesis { authority } => master(
                kind,
                "The root authority enrols itself; it is a party of the events it signs.",
                element(&kpledger_epcis::actor_uri(&authority.id)).unwrap(),
            ),
            Payload::Enrol { .. } => {
                let e = all
                    .iter()
                    .find_map(|e| match &e.event.body.payload {
                        Payload::Enrol { actor } => element(&kpledger_epcis::actor_uri(&actor.id)),
                        _ => None,
                    })
                    .unwrap();
                master(kind, "An enrolled actor is a party (`SourceDest`) of the events that name it.", e)
            }
            Payload::Site { site } => master(
                kind,
                "A licensed mine site is the read point of the extractions there (`ReadPoint`).",
                element(&kpledger_epcis::site_uri(&site.id)).unwrap(),
            ),
            Payload::Revoke { actor, .. } => master(
                kind,
                "A revocation shows as the `revoked` attribute (the time) of the actor's master data.",
                element(&kpledger_epcis::actor_uri(actor)).unwrap(),
            ),
            Payload::Policy { .. } => master(
                kind,
                "A country's rules are not visibility data; the version in force shows as the \
                 `policyVersion` attribute of the publishing authority's master data (the rules \
                 themselves stay in the ledger, signed, where the verifier applies them).",
                element(&kpledger_epcis::actor_uri(&ev.event.body.signer)).unwrap(),
            ),
            Payload::RotateKey { actor, .. } => master(
                kind,
                "A key rotation shows as the `keyFingerprint` attribute (the key the actor signs \
                 with now) of the actor's master data; EPCIS events carry no signatures.",
                element(&kpledger_epcis::actor_uri(actor)).unwrap(),
            ),
            _ => {
                let hash = ev.hash.to_hex();
                let mine: Vec<Value> =
                    events(doc).iter().filter(|e| e["kpl:eventHash"] == hash.as_str()).cloned().collect();
                assert!(!mine.is_empty(), "no EPCIS event for the {kind} event");
                let summary: Vec<String> = mine
                    .iter()
                    .map(|e| {
                        let mut s = e["type"].as_str().unwrap().to_owned();
                        for f in ["action", "bizStep"] {
                            if let Some(v) = e[f].as_str() {
                                s.push_str(&format!(" `{v}`"));
                            }
                        }
                        s
                    })
                    .collect();
                let body = if mine.len() == 1 { pretty(&mine[0]) } else { pretty(&Value::Array(mine)) };
                format!("### `{kind}`: {}\n\n```json\n{body}\n```\n", summary.join(" + "))
            }
        };
        out.push_str(&section);
        out.push('\n');
    }
    out
}

#[test]
fn docs_examples_are_current() {
    let (tmp, ledger) = scenario("docs");
    let doc = export_ledger(&ledger).unwrap();
    let generated = format!("{BEGIN}\n\n{}{END}", examples(&ledger, &doc));
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/EPCIS.md");
    let text =
        std::fs::read_to_string(&docs).unwrap_or_else(|e| panic!("cannot read {}: {e}", docs.display()));
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        panic!("docs/EPCIS.md has no generated-examples markers");
    };
    let current = &text[b..e + END.len()];
    if std::env::var_os("KPLEDGER_BLESS").is_some() {
        let updated = format!("{}{generated}{}", &text[..b], &text[e + END.len()..]);
        std::fs::write(&docs, updated).unwrap();
    } else {
        assert!(
            current == generated,
            "the examples in docs/EPCIS.md are not what the exporter writes today; \
             run KPLEDGER_BLESS=1 cargo test -p kpledger-epcis --test export docs_examples_are_current \
             and review the diff"
        );
    }
    drop(tmp);
}
