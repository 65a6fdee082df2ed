//! What an evidence bundle cannot prove, and what it refuses, as docs/SPEC.md §14.4 states it,
//! on the demo's real bundles:
//!
//! - a bundle cannot show that its certificate's shipment was exported or received: the last
//!   events of its parcels (the `import_confirmation`, the `export`) can be left out, with
//!   their proofs, and `heads` set to the event before them, and the bundle still verifies;
//!   what cannot be left out is an event inside a chain;
//! - a bundle ends before any split or merge consumes one of its certificate's parcels
//!   (SPEC.md §14.3 step 4): one that holds such an event is refused (CH-1), whatever its
//!   `heads` say.
// Tests: a panic with a message is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use kpledger_model::canonical::canonical_value;
use kpledger_model::{Event, Payload};
use kpledger_verify::{Report, Rule, TrustPolicy, verify_bundle};
use serde_json::{Value, json};

struct Demo {
    /// LR-2026-000042: Liberia to Sierra Leone, confirmed by Sierra Leone in the same ledger.
    lr: Value,
    /// SL-2026-004312: Sierra Leone's mixed lot (its own parcels and the Liberian one, merged),
    /// exported to Antwerp.
    sl: Value,
    /// The demo's importer trust policy (`manifest.json` `policy`).
    policy: TrustPolicy,
}

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        // As `kpledger demo` makes it (24 parcels), so that SPEC.md §14.4's counts hold.
        let d = common::Demo::new("bundle-limits", 24);
        let read = |name: &str| serde_json::from_slice(&d.bundle(name)).unwrap();
        Demo { lr: read("LR-2026-000042.json"), sl: read("SL-2026-004312.json"), policy: d.policy }
    })
}

fn verify(bundle: &Value) -> Report {
    verify_bundle(&serde_json::to_vec(bundle).unwrap(), &demo().policy).unwrap()
}

fn errors(report: &Report) -> Vec<String> {
    report.findings.iter().filter(|f| f.is_error()).map(|f| format!("{} {}", f.code, f.message)).collect()
}

/// The event at `i` of a bundle, read.
fn event(bundle: &Value, i: usize) -> kpledger_model::ParsedEvent {
    Event::parse(&canonical_value(&bundle["events"][i])).unwrap()
}

fn kind(bundle: &Value, i: usize) -> &'static str {
    event(bundle, i).event.body.payload.kind()
}

/// `bundle` without its events from `from` on (and their proofs), its heads set to `head`.
fn cut(bundle: &Value, from: usize, head: usize) -> Value {
    let mut b = bundle.clone();
    b["events"].as_array_mut().unwrap().truncate(from);
    b["log"]["proofs"].as_array_mut().unwrap().truncate(from);
    let hash = event(&b, head).hash.to_string();
    for h in b["heads"].as_object_mut().unwrap().values_mut() {
        *h = json!(hash);
    }
    b
}

/// The position of the last event of `bundle` of the kind given.
fn last_of(bundle: &Value, what: &str) -> usize {
    (0..bundle["events"].as_array().unwrap().len()).rev().find(|i| kind(bundle, *i) == what).unwrap()
}

#[test]
fn a_bundle_cannot_show_that_its_shipment_was_exported_or_received() {
    let d = demo();
    let lr = &d.lr;
    let n = lr["events"].as_array().unwrap().len();
    assert!(errors(&verify(lr)).is_empty(), "the demo's LR bundle verifies: {:?}", errors(&verify(lr)));
    // As made: 40 events; the certificate, its export and Sierra Leone's import confirmation
    // are the last three events of the Liberian parcel.
    assert_eq!(n, 40, "SPEC.md §14.4 gives the demo's LR-2026-000042 bundle 40 events: update it");
    assert_eq!(kind(lr, n - 1), "import_confirmation");
    let export = last_of(lr, "export");
    let certificate = last_of(lr, "certificate");
    assert!(certificate < export && export < n - 1);

    // The confirmation left out, the heads set to the export: 41 events instead of 42, VERIFIED.
    let no_receipt = cut(lr, n - 1, export);
    assert_eq!(no_receipt["events"].as_array().unwrap().len(), n - 1);
    let report = verify(&no_receipt);
    assert!(report.ok && errors(&report).is_empty(), "{:?}", errors(&report));

    // The export left out too, the heads set to the certificate: VERIFIED as well.
    let no_export = cut(lr, export, certificate);
    let report = verify(&no_export);
    assert!(report.ok && errors(&report).is_empty(), "{:?}", errors(&report));

    // The same for Sierra Leone's own certificate: its export left out.
    let sl = &d.sl;
    let sl_export = last_of(sl, "export");
    assert_eq!(
        sl_export,
        sl["events"].as_array().unwrap().len() - 1,
        "the export is the SL bundle's last event"
    );
    let report = verify(&cut(sl, sl_export, last_of(sl, "certificate")));
    assert!(report.ok && errors(&report).is_empty(), "{:?}", errors(&report));

    // What cannot be left out: an event inside the chain. The export removed, the
    // confirmation kept (it names the export as the parcel's prev): CH-1.
    let mut gap = lr.clone();
    gap["events"].as_array_mut().unwrap().remove(export);
    gap["log"]["proofs"].as_array_mut().unwrap().remove(export);
    let report = verify(&gap);
    assert!(report.findings.iter().any(|f| f.is_error() && f.code == Rule::Ch1), "{:?}", errors(&report));
    // Nor a head that is not the last event of the parcel in the bundle.
    let stale = cut(lr, n, export);
    let report = verify(&stale);
    assert!(report.findings.iter().any(|f| f.is_error() && f.code == Rule::Ch1), "{:?}", errors(&report));
}

#[test]
fn a_bundle_that_consumes_a_certified_parcel_is_refused_whatever_its_heads_say() {
    let d = demo();
    // The SL bundle holds the whole story of the Liberian parcel: LR-2026-000042's issue,
    // export and confirmation, then the merge that consumed it into Sierra Leone's mixed lot.
    // Presented as the evidence of LR-2026-000042, with the Liberian parcel's head at the
    // merge (its last event, §9) or at the confirmation before it, it is refused: a bundle ends
    // before a certified parcel is consumed.
    let merge = last_of(&d.sl, "merge");
    let confirmation = last_of(&d.sl, "import_confirmation");
    let Payload::ImportConfirmation { confirmation: c } = &event(&d.sl, confirmation).event.body.payload
    else {
        unreachable!()
    };
    assert_eq!(c.certificate.as_str(), "LR-2026-000042");
    let lr_parcel = c.parcels[0].parcel;
    let Payload::Merge { inputs, .. } = &event(&d.sl, merge).event.body.payload else { unreachable!() };
    assert!(inputs.iter().any(|i| i.parcel == lr_parcel), "the merge consumes the Liberian parcel");
    for head in [merge, confirmation] {
        let mut b = d.sl.clone();
        b["certificate"] = json!("LR-2026-000042");
        b["heads"] = json!({ lr_parcel.to_string(): event(&d.sl, head).hash.to_string() });
        let report = verify(&b);
        assert!(!report.ok, "head at event {head}");
        let consumed: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.is_error() && f.code == Rule::Ch1 && f.parcel == Some(lr_parcel))
            .collect();
        assert!(
            consumed.iter().any(|f| f.message.contains("consumed")),
            "head at event {head}: {:?}",
            errors(&report)
        );
    }
}
