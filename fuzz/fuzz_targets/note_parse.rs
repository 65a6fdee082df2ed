//! C2SP signed notes, checkpoints, signature lines and key strings from arbitrary bytes.
//! Every parser must give back exactly the bytes it read when its value is written out
//! (the formats have one encoding for each value), and reading that again gives the same
//! value. Notes are also opened against fixed keys (the SL fixture ledger's log key and
//! Liberia's witness key): that must never panic, and an opened checkpoint is the one parsed.
#![no_main]

#[macro_use]
mod fixed;

use kpledger_model::note::{Checkpoint, Note, Signature, SignerKey, VerifierKey, Verifiers, open_checkpoint};
use libfuzzer_sys::fuzz_target;

const ORIGIN: &str = "kpledger.sl/national";

struct Keys {
    log: VerifierKey,
    witness: VerifierKey,
    known: Verifiers,
}

fn keys() -> &'static Keys {
    once!(Keys, {
        // The fixture's trust policy pins the log's key and the witness's.
        let policy = fixed::witnessed_policy();
        let log = policy.logs().iter().find(|l| l.key.name() == ORIGIN).expect("the log's pin").key.clone();
        let witness = policy.witness_keys().first().expect("a witness").clone();
        let known = Verifiers::new([log.clone(), witness.clone()]).expect("verifiers");
        Keys { log, witness, known }
    })
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    if let Ok(note) = Note::parse(data) {
        assert_eq!(note.to_bytes(), data, "a note does not encode back to the bytes it was read from");
        for sig in note.signatures() {
            let line = sig.to_line();
            assert_eq!(&Signature::parse_line(&line).expect("own signature line refused"), sig);
            let _ = sig.cosignature_v1();
        }
        if let Ok(c) = Checkpoint::parse(note.text()) {
            assert_eq!(c.to_text(), note.text(), "a checkpoint does not encode back to its text");
        }
        // Adding again a signature it already has keeps one copy of it, and the note parses.
        if let Some(first) = note.signatures().first() {
            let mut n = note.clone();
            if n.add_signature(first.clone()).is_ok() {
                assert_eq!(Note::parse(&n.to_bytes()).expect("note with a re-added signature"), n);
            }
        }
        let _ = note.open(&keys.known);
    }
    if let Ok(opened) = open_checkpoint(data, ORIGIN, &keys.log, std::slice::from_ref(&keys.witness)) {
        let parsed = Checkpoint::parse(opened.note().text()).expect("an opened checkpoint parses");
        assert_eq!(opened.checkpoint(), &parsed);
        assert_eq!(opened.note().to_bytes(), data);
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(c) = Checkpoint::parse(text) {
        assert_eq!(c.to_text(), text, "a checkpoint does not encode back to the text it was read from");
        assert_eq!(Checkpoint::parse(&c.to_text()).expect("own checkpoint refused"), c);
    }
    if let Ok(sig) = Signature::parse_line(text) {
        assert_eq!(sig.to_line(), text, "a signature line does not encode back");
    }
    if let Ok(k) = VerifierKey::parse(text) {
        assert_eq!(k.to_vkey(), text, "a verifier key does not encode back");
        assert_eq!(VerifierKey::parse(&k.to_vkey()).expect("own vkey refused"), k);
    }
    if let Ok(k) = SignerKey::parse(text) {
        assert_eq!(k.to_skey().as_str(), text, "a signer key does not encode back");
        assert_eq!(k.verifier(), SignerKey::parse(&k.to_skey()).expect("own skey refused").verifier());
    }
});
