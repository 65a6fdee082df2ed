//! The CBV 2.0 event hash ID against external vectors (`tests/vectors/epcis`, read in
//! place, never copied into the project):
//!
//! 1. every JSON-LD case of the reference implementation (RalphTro/epcis-event-hash-generator
//!    @ 5d2f1c38, `examples/*.jsonld` with a `.hashes` file) gives exactly its expected hash
//!    IDs, event by event. Where the case's `.prehashes` are current (all but the four the
//!    vectors' README names as stale), the pre-hash strings must match too, so that a failure
//!    shows the first differing character rather than two unrelated digests;
//! 2. the events of each `expected_equal` JSON document all hash alike;
//! 3. the 14 official GS1 EPCIS 2.0 examples parse and every event hashes without error.
// Tests: a panic with a message is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use kpledger_epcis::hash_id;
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/epcis");

/// The `.prehashes` files that the vectors' README names as stale (they do not hash to the
/// `.hashes` values, which are the truth).
const STALE_PREHASHES: [&str; 4] = [
    "epcisDocWithAllGS1Keys",
    "epcisDocWithCustomSchemaInContext",
    "epcisDocWithDefaultSchemaInContext",
    "epcisXmlQueryDocHavingEventWithIgnoreFields",
];

fn vectors(sub: &str) -> PathBuf {
    let dir = Path::new(VECTORS).join(sub);
    assert!(
        dir.is_dir(),
        "the EPCIS vectors are missing: {} does not exist. They live outside the project, in \
         tests/vectors/epcis in the repository (see tests/vectors/MANIFEST.md).",
        dir.display()
    );
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim_end).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[test]
fn every_json_ld_case_of_the_reference_implementation_hashes_as_expected() {
    let dir = vectors("event-hash-generator/examples");
    let (mut cases, mut events, mut prehash_checked) = (0, 0, 0);
    let mut failures = Vec::new();
    for input in files(&dir, "jsonld") {
        let name = input.file_stem().unwrap().to_string_lossy().into_owned();
        let hashes = input.with_extension("hashes");
        assert!(hashes.is_file(), "{name}: no .hashes file next to the .jsonld");
        let expected = lines(&read(&hashes));
        let doc = json(&input);
        let got_prehashes = hash_id::prehashes(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = hash_id::hash_ids(&doc).unwrap();
        assert_eq!(got.len(), expected.len(), "{name}: number of events");
        cases += 1;
        events += expected.len();
        let prehashes = input.with_extension("prehashes");
        let known_prehashes = (prehashes.is_file() && !STALE_PREHASHES.contains(&name.as_str()))
            .then(|| lines(&read(&prehashes)));
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            if let Some(p) = &known_prehashes {
                prehash_checked += 1;
                if got_prehashes[i] != p[i] {
                    let at = got_prehashes[i].chars().zip(p[i].chars()).take_while(|(a, b)| a == b).count();
                    failures.push(format!(
                        "{name} event {i}: pre-hash differs at character {at}:\n  got      {}\n  expected {}",
                        got_prehashes[i], p[i]
                    ));
                    continue;
                }
            }
            if g != e {
                failures.push(format!(
                    "{name} event {i}: hash {g}, expected {e}\n  pre-hash {}",
                    got_prehashes[i]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {events} events differ:\n{}", failures.len(), failures.join("\n"));
    // The vectors' README: 22 JSON-LD inputs with hashes, 43 events.
    assert_eq!((cases, events), (22, 43), "the set of JSON-LD cases changed");
    // 43 events less the 5 of the three stale-prehash JSON-LD cases and the one case without
    // a .prehashes file.
    assert_eq!(prehash_checked, 37, "pre-hash strings compared");
}

#[test]
fn events_that_are_one_event_hash_alike() {
    let dir = vectors("event-hash-generator/expected_equal");
    let inputs = files(&dir, "json");
    assert!(!inputs.is_empty(), "no JSON document in {}", dir.display());
    for input in inputs {
        let ids = hash_id::hash_ids(&json(&input)).unwrap();
        assert!(ids.len() > 1, "{}: fewer than two events", input.display());
        assert!(ids.iter().all(|h| *h == ids[0]), "{}: {ids:#?}", input.display());
    }
}

#[test]
fn the_official_epcis_examples_parse_and_hash() {
    let dir = vectors("gs1-EPCIS/examples");
    let inputs = files(&dir, "jsonld");
    assert_eq!(inputs.len(), 14, "the 14 official examples");
    for input in inputs {
        let doc = json(&input);
        let ids = hash_id::hash_ids(&doc).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        assert!(!ids.is_empty(), "{}: no event", input.display());
        for id in ids {
            let hex = id.strip_prefix("ni:///sha-256;").and_then(|r| r.strip_suffix("?ver=CBV2.0"));
            assert!(hex.is_some_and(|h| h.len() == 64), "{}: {id}", input.display());
        }
    }
}
