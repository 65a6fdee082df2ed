use super::checkpoint::parse_tree_size;
use super::*;

use crate::Hash;
use crate::keys::SecretKey;

/// The module documentation's example, kept in step with it.
#[test]
fn module_example() {
    let log = SignerKey::new("example.com/log", SecretKey::from_seed(&[1; 32])).unwrap();
    let witness = Cosigner::new("example.com/witness", SecretKey::from_seed(&[2; 32])).unwrap();
    let checkpoint = Checkpoint::new("example.com/log", 8, Hash([7; 32])).unwrap();
    let mut note = checkpoint.sign(&log).unwrap();
    note.cosign(&witness, 1_700_000_000).unwrap();
    let bytes = note.to_bytes();
    let opened = open_checkpoint(&bytes, "example.com/log", &log.verifier(), &[witness.verifier()]).unwrap();
    assert_eq!(opened.checkpoint(), &checkpoint);
    assert_eq!(opened.cosignatures()[0].timestamp(), 1_700_000_000);
}

fn peter() -> SignerKey {
    SignerKey::new("PeterNeumann", SecretKey::from_seed(&[5; 32])).unwrap()
}

#[test]
fn text_may_contain_empty_lines_and_end_with_one() {
    for text in ["a\n\nb\n", "a\n\n", "\n", "— x y\n\n"] {
        let mut n = Note::new(text).unwrap();
        n.sign(&peter()).unwrap();
        let back = Note::parse(&n.to_bytes()).unwrap();
        assert_eq!(back, n, "{text:?}");
        back.open(&Verifiers::new([peter().verifier()]).unwrap()).unwrap();
    }
    assert_eq!(Note::new("no newline"), Err(NoteError::TextNotTerminated));
    assert_eq!(Note::new(""), Err(NoteError::TextNotTerminated));
    assert!(matches!(Note::new("tab\there\n"), Err(NoteError::ControlCharacter { byte: 9, offset: 3 })));
}

#[test]
fn key_names() {
    assert!(is_valid_key_name("example.com/log"));
    assert!(is_valid_key_name("\u{2014}"));
    for bad in ["", "a b", "a+b", "a\u{a0}b", "a\u{3000}b", "a\u{85}b", "a\u{1}b", "a\tb"] {
        assert!(!is_valid_key_name(bad), "{bad:?}");
    }
}

#[test]
fn sign_replaces_the_same_key_and_keeps_others() {
    let other = SignerKey::new("other", SecretKey::from_seed(&[6; 32])).unwrap();
    let mut n = Note::new("x\n").unwrap();
    n.sign(&peter()).unwrap();
    n.sign(&other).unwrap();
    n.sign(&peter()).unwrap();
    let names: Vec<&str> = n.signatures().iter().map(Signature::name).collect();
    assert_eq!(names, ["other", "PeterNeumann"]);
}

#[test]
fn add_signature_limits() {
    let mut n = Note::new("x\n").unwrap();
    for i in 0..MAX_SIGNATURES {
        n.add_signature(Signature::new(&format!("k{i}"), KeyId(0), vec![1]).unwrap()).unwrap();
    }
    let extra = Signature::new("k-extra", KeyId(0), vec![1]).unwrap();
    assert_eq!(n.add_signature(extra), Err(NoteError::TooManySignatures { max: MAX_SIGNATURES }));
    assert_eq!(n.signatures().len(), MAX_SIGNATURES);
    let mut big = Note::new("x\n").unwrap();
    let huge = Signature::new("k", KeyId(0), vec![0; MAX_NOTE_BYTES]).unwrap();
    assert!(matches!(big.add_signature(huge), Err(NoteError::TooLarge { .. })));
    assert!(big.signatures().is_empty());
}

#[test]
fn encoded_len_is_exact() {
    for len in 1..40 {
        let s = Signature::new("n\u{e9}", KeyId(7), vec![3; len]).unwrap();
        assert_eq!(s.encoded_len(), s.to_line().len(), "{len}");
    }
}

#[test]
fn tree_sizes() {
    assert_eq!(parse_tree_size("0"), Some(0));
    assert_eq!(parse_tree_size("18446744073709551615"), Some(u64::MAX));
    for bad in ["", "00", "0123", "+12", " 12", "12 ", "-1", "18446744073709551616", "1_000", "\u{661}"] {
        assert_eq!(parse_tree_size(bad), None, "{bad:?}");
    }
}

#[test]
fn checkpoint_constructor_refuses_bad_lines() {
    let h = Hash([0; 32]);
    assert_eq!(Checkpoint::new("", 0, h), Err(NoteError::EmptyOrigin));
    assert_eq!(Checkpoint::new("a\nb", 0, h), Err(NoteError::NotASingleLine { what: "origin" }));
    let c = Checkpoint::new("o", 0, h).unwrap();
    assert_eq!(c.clone().with_extension(""), Err(NoteError::EmptyExtensionLine { line: 1 }));
    assert!(matches!(c.with_extension("a\rb"), Err(NoteError::ControlCharacter { byte: 13, .. })));
}

#[test]
fn cosignature_timestamp_bound() {
    let w = Cosigner::new("w", SecretKey::from_seed(&[8; 32])).unwrap();
    let c = Checkpoint::new("o", 1, Hash([1; 32])).unwrap();
    assert_eq!(w.cosign(&c, 1 << 63), Err(NoteError::TimestampOutOfRange(1 << 63)));
    let s = w.cosign(&c, MAX_COSIGNATURE_TIMESTAMP).unwrap();
    assert_eq!(w.verifier().verify(&c.to_text(), &s), Ok(Some(MAX_COSIGNATURE_TIMESTAMP)));
    // A cosignature line claiming a timestamp >= 2^63 is refused even if signed.
    let mut bytes = s.bytes().to_vec();
    bytes[..8].copy_from_slice(&(1u64 << 63).to_be_bytes());
    let forged = Signature::new("w", w.key_id(), bytes).unwrap();
    assert!(matches!(forged.cosignature_v1(), Err(NoteError::TimestampOutOfRange(_))));
    assert!(matches!(w.verifier().verify(&c.to_text(), &forged), Err(NoteError::InvalidSignature { .. })));
}

#[test]
fn debug_never_shows_secrets() {
    let s = SignerKey::new("n", SecretKey::from_seed(&[9; 32])).unwrap();
    let skey = s.to_skey();
    let secret_b64 = skey.splitn(5, '+').nth(4).unwrap().to_owned();
    assert!(!format!("{s:?}").contains(&secret_b64));
    let c = Cosigner::new("n", SecretKey::from_seed(&[9; 32])).unwrap();
    assert!(!format!("{c:?}").contains(&hex::encode([9u8; 32])));
}
