//! C2SP tlog-witness add-checkpoint request bodies (crates/witness) from arbitrary bytes. A
//! body that is read writes back to exactly the bytes read. The decision never panics, answers
//! only 200, 400, 403, 404, 409 or 422, gives 409 exactly when `old` is not the witness's size
//! (with that size), and cosigns only a checkpoint signed by the log's key that is the witness's
//! cosigned tree or a proven extension of it. With the first byte odd, the rest chooses `old`,
//! the proof, the size and the root of a checkpoint that the fixed log key signs, so the
//! decision gets past the signature check.
#![no_main]

use std::collections::BTreeMap;

use kpledger_model::Hash;
use kpledger_model::SecretKey;
use kpledger_model::note::{Checkpoint, SignerKey};
use kpledger_verify::TrustPolicy;
use kpledger_verify::merkle::{root, verify_consistency};
use kpledger_witness::{AddCheckpoint, Decision, LogKeys, LogRecord, decide};
use libfuzzer_sys::fuzz_target;

const ORIGIN: &str = "example.com/fuzz-log";

fuzz_target!(|data: &[u8]| {
    let log = SignerKey::new(ORIGIN, SecretKey::from_seed(&[3; 32])).expect("key");
    let policy = format!("log {}\nquorum none\n", log.verifier().to_vkey());
    let logs = LogKeys::from_policy(&TrustPolicy::parse(policy.as_bytes()).expect("policy"));
    // The witness cosigned the tree of 8 leaves 0..8.
    let leaves: Vec<Hash> = (0..8u8).map(|i| Hash([i; 32])).collect();
    let old_root = root(&leaves);
    let note = Checkpoint::new(ORIGIN, 8, old_root).expect("cp").sign(&log).expect("sign").to_bytes();
    let record = LogRecord {
        size: 8,
        root: old_root,
        note: String::from_utf8(note).expect("utf8"),
        cosignatures: String::new(),
    };
    let state: BTreeMap<String, LogRecord> = [(ORIGIN.to_owned(), record)].into();

    let body = match data.split_first() {
        Some((&mode, rest)) if mode & 1 == 1 && rest.len() >= 10 => {
            let old = u64::from(rest[0] % 16);
            let size = u64::from(rest[1] % 16);
            let n = usize::from(rest[2] % 6);
            let mut root_bytes = [0u8; 32];
            root_bytes[..7].copy_from_slice(&rest[3..10]);
            // Sometimes the real root of an extension of the cosigned tree.
            let new_root = if rest[3] & 1 == 0 && size >= 8 {
                let more: Vec<Hash> = (0..size as u8).map(|i| Hash([i; 32])).collect();
                root(&more)
            } else {
                Hash(root_bytes)
            };
            let proof: Vec<Hash> = rest[10..]
                .chunks(32)
                .take(n)
                .map(|c| {
                    let mut h = [0u8; 32];
                    h[..c.len()].copy_from_slice(c);
                    Hash(h)
                })
                .collect();
            let note =
                Checkpoint::new(ORIGIN, size, new_root).expect("cp").sign(&log).expect("sign").to_bytes();
            AddCheckpoint { old, proof, note }.to_bytes()
        }
        _ => data.to_vec(),
    };
    if let Ok(req) = AddCheckpoint::parse(&body) {
        assert_eq!(req.to_bytes(), body, "a request body does not write back to its bytes");
    }
    match decide(&state, &logs, &body) {
        Decision::Refuse(r) => {
            assert!(matches!(r.status, 400 | 403 | 404 | 409 | 422), "status {}", r.status);
            assert_eq!(r.status == 409, r.current_size.is_some());
            if let Some(s) = r.current_size {
                assert_eq!(s, 8);
            }
        }
        Decision::Cosign { checkpoint, origin, record } => {
            let req = AddCheckpoint::parse(&body).expect("cosigned a body that does not parse");
            assert_eq!(origin, ORIGIN);
            assert_eq!(req.old, 8, "cosigned with an old other than the witness's size");
            let (size, new) = (checkpoint.size(), *checkpoint.root_hash());
            assert_eq!((record.size, record.root), (size, new));
            let ok = if size == 8 {
                new == old_root && req.proof.is_empty()
            } else {
                verify_consistency(8, size, &old_root, &new, &req.proof)
            };
            assert!(ok, "cosigned a checkpoint that does not extend the cosigned tree");
        }
    }
});
