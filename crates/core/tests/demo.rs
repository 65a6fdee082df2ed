//! The demo scenario records cleanly and verifies.
#![allow(clippy::unwrap_used)]

use kpledger_core::demo;
use kpledger_testkit::TempDir;

#[test]
fn demo_records_and_verifies_with_one_warning() {
    let dir = TempDir::new("demo-test");
    let s = demo::run(dir.path(), 12, &mut |_| {}).unwrap();
    assert!(s.report.ok, "{:#?}", s.report.findings);
    assert_eq!(s.report.errors, 0);
    assert_eq!(s.warnings.len(), 1, "{:#?}", s.warnings);
    for r in &s.bundle_reports {
        assert!(r.ok, "{:#?}", r.findings);
    }
    assert_eq!(s.bundle_reports.len(), 4);
    assert_eq!(s.warnings[0].code.code(), "MB-3");
    assert_eq!(s.report.warnings, 1);
    assert_eq!(s.countries.len(), 4);
}
