//! The add-checkpoint decision (a pure function of the witness's state and the request body),
//! case by case, and the request format byte for byte against the example of the C2SP
//! tlog-witness text.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use base64::Engine as _;
use kpledger_model::Hash;
use kpledger_model::SecretKey;
use kpledger_model::hash::sha256;
use kpledger_model::note::{Checkpoint, KeyId, Note, Signature, SignerKey};
use kpledger_verify::TrustPolicy;
use kpledger_verify::merkle;
use kpledger_witness::{AddCheckpoint, Decision, LogKeys, LogRecord, decide};

struct Log {
    key: SignerKey,
    leaves: Vec<Hash>,
}

const ORIGIN: &str = "example.com/log";

impl Log {
    fn new(seed: u8, tag: &str) -> Log {
        let leaves = (0..32u64).map(|i| Hash(sha256(&[tag.as_bytes(), &i.to_be_bytes()]))).collect();
        Log { key: SignerKey::new(ORIGIN, SecretKey::from_seed(&[seed; 32])).unwrap(), leaves }
    }
    fn note(&self, size: u64) -> Vec<u8> {
        let root = merkle::root(&self.leaves[..size as usize]);
        Checkpoint::new(ORIGIN, size, root).unwrap().sign(&self.key).unwrap().to_bytes()
    }
    fn body(&self, old: u64, size: u64) -> Vec<u8> {
        let proof = if old == 0 || old >= size {
            Vec::new()
        } else {
            merkle::consistency_proof(&self.leaves[..size as usize], old).unwrap()
        };
        AddCheckpoint { old, proof, note: self.note(size) }.to_bytes()
    }
    fn record(&self, size: u64) -> LogRecord {
        LogRecord {
            size,
            root: merkle::root(&self.leaves[..size as usize]),
            note: String::from_utf8(self.note(size)).unwrap(),
            cosignatures: String::new(),
        }
    }
}

fn keys(log: &Log) -> LogKeys {
    let policy = format!("log {}\nquorum none\n", log.key.verifier().to_vkey());
    LogKeys::from_policy(&TrustPolicy::parse(policy.as_bytes()).unwrap())
}

fn status(d: &Decision) -> u16 {
    match d {
        Decision::Cosign { .. } => 200,
        Decision::Refuse(r) => r.status,
    }
}

#[test]
fn each_outcome() {
    let log = Log::new(1, "A");
    let logs = keys(&log);
    let none = BTreeMap::new();
    let at8: BTreeMap<String, LogRecord> = [(ORIGIN.to_owned(), log.record(8))].into();

    // 200: first checkpoint (trust on first use), then a proven extension, then the same again.
    assert_eq!(status(&decide(&none, &logs, &log.body(0, 8))), 200);
    match decide(&at8, &logs, &log.body(8, 13)) {
        Decision::Cosign { record, checkpoint, origin } => {
            assert_eq!((origin.as_str(), record.size, checkpoint.size()), (ORIGIN, 13, 13));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(status(&decide(&at8, &logs, &log.body(8, 8))), 200);

    // 404: another origin.
    let other = SignerKey::new("example.com/other", SecretKey::from_seed(&[1; 32])).unwrap();
    let note =
        Checkpoint::new("example.com/other", 1, Hash([0; 32])).unwrap().sign(&other).unwrap().to_bytes();
    assert_eq!(status(&decide(&none, &logs, &AddCheckpoint { old: 0, proof: vec![], note }.to_bytes())), 404);

    // 403: the right origin, another key; or a forged signature by the right key.
    let impostor = Log::new(2, "A");
    assert_eq!(status(&decide(&none, &logs, &impostor.body(0, 8))), 403);
    let mut forged = log.note(8);
    let at = forged.len() - 10;
    forged[at] ^= 1;
    assert_eq!(
        status(&decide(&none, &logs, &AddCheckpoint { old: 0, proof: vec![], note: forged }.to_bytes())),
        403
    );

    // 400: malformed bodies, and old > size.
    for bad in [&b""[..], b"old 1\n", b"old 1\nAAA=\n\nx", b"old 0\n\nnot a note"] {
        assert_eq!(status(&decide(&none, &logs, bad)), 400, "{bad:?}");
    }
    assert_eq!(status(&decide(&at8, &logs, &log.body(13, 8))), 400);

    // 409: old is not the witness's size; the body is that size.
    for old in [0, 5, 13] {
        match decide(&at8, &logs, &log.body(old, 20)) {
            Decision::Refuse(r) => assert_eq!((r.status, r.current_size), (409, Some(8)), "old {old}"),
            other => panic!("{other:?}"),
        }
    }
    // A rollback with an honest old is old > size (400); with old lying it is 409.
    assert_eq!(status(&decide(&at8, &logs, &log.body(8, 5))), 400);
    assert_eq!(status(&decide(&at8, &logs, &log.body(5, 5))), 409);

    // 422: a wrong proof; a proof from 0; a size-0 checkpoint with a wrong root; a fork.
    let mut wrong = AddCheckpoint::parse(&log.body(8, 13)).unwrap();
    wrong.proof[0] = Hash([7; 32]);
    assert_eq!(status(&decide(&at8, &logs, &wrong.to_bytes())), 422);
    let with_proof = AddCheckpoint { old: 0, proof: vec![Hash([1; 32])], note: log.note(8) }.to_bytes();
    assert_eq!(status(&decide(&none, &logs, &with_proof)), 422);
    let zero = Checkpoint::new(ORIGIN, 0, Hash([1; 32])).unwrap().sign(&log.key).unwrap().to_bytes();
    assert_eq!(
        status(&decide(&none, &logs, &AddCheckpoint { old: 0, proof: vec![], note: zero }.to_bytes())),
        422
    );
    let empty = Checkpoint::new(ORIGIN, 0, merkle::EMPTY_ROOT).unwrap().sign(&log.key).unwrap().to_bytes();
    assert_eq!(
        status(&decide(&none, &logs, &AddCheckpoint { old: 0, proof: vec![], note: empty }.to_bytes())),
        200
    );
    let fork = Log::new(1, "B");
    for (old, size) in [(8, 8), (8, 13)] {
        match decide(&at8, &logs, &fork.body(old, size)) {
            Decision::Refuse(r) => {
                assert_eq!(r.status, 422);
                let ev = r.evidence.expect("evidence of the fork");
                assert_eq!(ev.cosigned, log.record(8).note);
                assert_eq!(ev.offered, String::from_utf8(fork.note(size)).unwrap());
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Signature lines the witness cannot verify (a post-quantum cosignature, another log's key)
/// are ignored, never an error: the log's own signature is what counts.
#[test]
fn unknown_signature_lines_are_ignored() {
    let log = Log::new(1, "A");
    let logs = keys(&log);
    let mut note = Note::parse(&log.note(8)).unwrap();
    note.add_signature(Signature::new("witness.example/mldsa", KeyId(0x0102_0304), vec![6; 2420]).unwrap())
        .unwrap();
    note.add_signature(Signature::new(ORIGIN, KeyId(0xdead_beef), vec![1; 64]).unwrap()).unwrap();
    let body = AddCheckpoint { old: 0, proof: vec![], note: note.to_bytes() }.to_bytes();
    assert_eq!(status(&decide(&BTreeMap::new(), &logs, &body)), 200);
}

/// A policy line with a log key of a type kpledger does not verify is read: the origin is
/// known (403, not 404) but nothing it signs is accepted.
#[test]
fn unverifiable_log_key_makes_the_origin_known() {
    let vkey = format!("{ORIGIN}+{}+BgECAw==", KeyId::compute(ORIGIN, 6, &[1, 2, 3]));
    let policy = TrustPolicy::parse(format!("log {vkey}\nquorum none\n").as_bytes()).unwrap();
    assert_eq!(policy.to_text(), format!("log {vkey}\nquorum none\n"));
    let logs = LogKeys::from_policy(&policy);
    assert_eq!(status(&decide(&BTreeMap::new(), &logs, &Log::new(1, "A").body(0, 8))), 403);
}

/// The request body of the C2SP tlog-witness text's example, byte for byte: old size, four
/// proof lines, the checkpoint with two signature lines; and the example response's lines
/// read as signature lines of the cosignature/v1 length.
#[test]
fn c2sp_example_request_and_response() {
    let example = "old 20852014\n\
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
\n\
example.com/behind-the-sofa\n\
20852163\n\
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
\n\
\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
\u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
    let req = AddCheckpoint::parse(example.as_bytes()).unwrap();
    assert_eq!(req.old, 20_852_014);
    assert_eq!(req.proof.len(), 4);
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(b64.encode(req.proof[0].0), "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=");
    let note = Note::parse(&req.note).unwrap();
    let cp = Checkpoint::parse(note.text()).unwrap();
    assert_eq!((cp.origin(), cp.size()), ("example.com/behind-the-sofa", 20_852_163));
    assert_eq!(note.signatures().len(), 2);
    assert_eq!(req.to_bytes(), example.as_bytes(), "written back byte for byte");
    // Its origin is not in this witness's policy: 404 (the decision reads the origin first).
    let logs = keys(&Log::new(1, "A"));
    assert_eq!(status(&decide(&BTreeMap::new(), &logs, example.as_bytes())), 404);

    let response = "\u{2014} witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n\
\u{2014} witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==\n\
\u{2014} witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n";
    for line in response.split_inclusive('\n') {
        let sig = Signature::parse_line(line).unwrap();
        assert_eq!(sig.to_line(), line);
        // An 8-byte timestamp and a 64-byte Ed25519 signature (the example's bytes are
        // illustrative: its timestamps are not real times).
        assert_eq!(sig.bytes().len(), 72, "{line}");
    }
}
