//! The witness's state file: what is committed is what a restart reads; one process at a
//! time; a file that is not a state file is refused, never overwritten; evidence files.
#![allow(clippy::unwrap_used)]

use kpledger_model::Hash;
use kpledger_testkit::TempDir;
use kpledger_witness::{Evidence, LogRecord, StateError, StateFile};

fn dir(tag: &str) -> TempDir {
    TempDir::new(&format!("witness-state-{tag}"))
}

fn record(size: u64) -> LogRecord {
    LogRecord {
        size,
        root: Hash([size as u8; 32]),
        note: format!("note {size}\n"),
        cosignatures: String::new(),
    }
}

#[test]
fn committed_state_survives_and_is_locked() {
    let d = dir("commit");
    let path = d.join("w.json");
    {
        let mut s = StateFile::open(&path).unwrap();
        assert!(s.logs().is_empty());
        s.commit("example.com/log", record(3)).unwrap();
        s.commit("example.com/log", record(5)).unwrap();
        // A second process (here: a second open) is refused while the first holds the lock.
        assert!(matches!(StateFile::open(&path), Err(StateError::Locked(_))));
    }
    let s = StateFile::open(&path).unwrap();
    assert_eq!(s.logs().get("example.com/log"), Some(&record(5)));
    assert!(!d.join("w.json.tmp").exists(), "no temporary file is left behind");
}

#[test]
fn a_file_that_is_not_a_state_file_is_refused_and_kept() {
    let d = dir("malformed");
    let path = d.join("w.json");
    for bad in [&b"{}"[..], b"not json", b"{\"format\":\"other/1\",\"logs\":{}}"] {
        std::fs::write(&path, bad).unwrap();
        let e = StateFile::open(&path).unwrap_err();
        assert!(e.to_string().contains("is not a kpledger witness state file"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), bad, "the file is left as it was");
    }
}

#[test]
fn evidence_files_are_new_files() {
    let d = dir("evidence");
    let s = StateFile::open(&d.join("w.json")).unwrap();
    let ev = Evidence {
        origin: "example.com/log".into(),
        reason: "fork".into(),
        cosigned: "a\n".into(),
        offered: "b\n".into(),
        old: 5,
        proof: vec![],
    };
    let one = s.keep_evidence(&ev, 1_700_000_000).unwrap();
    let two = s.keep_evidence(&ev, 1_700_000_000).unwrap();
    assert_ne!(one, two);
    let back: Evidence = serde_json::from_slice(&std::fs::read(&two).unwrap()).unwrap();
    assert_eq!(back, ev);
}
