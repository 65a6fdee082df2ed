//! The worked example of `docs/SPEC.md` §12, recomputed from the code.
//!
//! Every fenced block tagged `spec-example:NAME` in `docs/SPEC.md` is read here and compared
//! with what kpledger computes, so the specification and the code cannot drift apart: change
//! either, and this test says which value no longer agrees. The hash and the signature are
//! also recomputed a second way, with `sha2` and `ed25519-dalek` directly from the byte
//! layouts the specification gives (§4.1, §5.1), not only through the model's helpers.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer as _;
use kpledger_model::canonical;
use kpledger_model::hash::{self, Domain};
use kpledger_model::sign::{self, Purpose};
use kpledger_model::{ActorId, Event, EventBody, HsCode, Origin, ParcelId, Payload, Points, SiteId, Time};
use kpledger_model::{PublicKey, SecretKey};
use sha2::{Digest as _, Sha256};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/SPEC.md");

/// The example blocks the specification holds: all of them, and no others.
const NAMES: [&str; 13] = [
    "seed",
    "public-key",
    "public-key-base64",
    "secret-key-pem",
    "public-key-pem",
    "body-input",
    "body-jcs",
    "hash-prefix",
    "event-hash",
    "signed-message",
    "signature",
    "signature-base64",
    "event",
];

/// Lengths the specification states in its prose (§5.1, §12).
const BODY_JCS_LEN: usize = 238;
const MESSAGE_LEN: usize = 54;

/// The `spec-example:NAME` blocks of the specification: name → text between the fences
/// (lines joined with `\n`, no trailing newline).
struct Spec(BTreeMap<String, String>);

impl Spec {
    fn load() -> Spec {
        let text = std::fs::read_to_string(SPEC)
            .unwrap_or_else(|e| panic!("cannot read the specification {SPEC}: {e}"));
        let mut blocks = BTreeMap::new();
        let mut lines = text.lines().enumerate();
        while let Some((n, line)) = lines.next() {
            let Some(tag) = line.trim_start().strip_prefix("```") else { continue };
            let Some((_, name)) = tag.split_once("spec-example:") else { continue };
            let name = name.trim().to_owned();
            let mut body = Vec::new();
            loop {
                match lines.next() {
                    Some((_, l)) if l.trim() == "```" => break,
                    Some((_, l)) => body.push(l),
                    None => panic!("{SPEC} line {}: block spec-example:{name} is never closed", n + 1),
                }
            }
            let previous = blocks.insert(name.clone(), body.join("\n"));
            assert!(previous.is_none(), "{SPEC}: block spec-example:{name} appears twice");
        }
        Spec(blocks)
    }

    /// A block's text, exactly.
    fn text(&self, name: &str) -> &str {
        self.0.get(name).unwrap_or_else(|| panic!("{SPEC} has no ```text spec-example:{name} block")).as_str()
    }

    /// A block of lowercase hex, whitespace and line breaks ignored.
    fn hex(&self, name: &str) -> String {
        let hex: String = self.text(name).split_whitespace().collect();
        assert!(
            !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{SPEC}: block spec-example:{name} must be lowercase hex, found {hex:?}"
        );
        hex
    }

    fn bytes<const N: usize>(&self, name: &str) -> [u8; N] {
        let v = hex::decode(self.hex(name)).unwrap_or_else(|e| panic!("spec-example:{name}: {e}"));
        v.as_slice()
            .try_into()
            .unwrap_or_else(|_| panic!("spec-example:{name} is {} bytes instead of {N}", v.len()))
    }

    fn secret_key(&self) -> SecretKey {
        SecretKey::from_seed(&self.bytes::<32>("seed"))
    }
}

/// Compares a value the code computed with the one the specification prints.
#[track_caller]
fn same(name: &str, computed: &str, in_spec: &str) {
    assert!(
        computed == in_spec,
        "docs/SPEC.md block spec-example:{name} disagrees with the code\n  spec: {in_spec}\n  code: {computed}"
    );
}

fn ok<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("example value refused: {e}"))
}

/// The example body, built from the model's types rather than read from the document.
fn example_body() -> EventBody {
    EventBody {
        v: 1,
        ledger: ok(Origin::new("kpledger.sl/national")),
        time: ok(Time::new("2026-03-01T09:30:00Z")),
        signer: ok(ActorId::new("sl.miner.koroma")),
        payload: Payload::Extraction {
            parcel: "01953c5a-8f00-7abc-8def-0123456789ab"
                .parse::<ParcelId>()
                .unwrap_or_else(|e| panic!("example parcel id: {e}")),
            site: ok(SiteId::new("sl.kono.koidu-12")),
            weight_pt: Points(1234),
            stones: 7,
            hs_code: ok(HsCode::new("7102.10")),
        },
    }
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("{s:?} is not hex: {e}"))
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[test]
fn the_spec_holds_exactly_the_checked_blocks() {
    let spec = Spec::load();
    let found: Vec<&str> = spec.0.keys().map(String::as_str).collect();
    let mut expected = NAMES.to_vec();
    expected.sort_unstable();
    assert_eq!(
        found, expected,
        "docs/SPEC.md must hold exactly these spec-example blocks (a block this test does not check \
         could drift from the code unnoticed)"
    );
}

#[test]
fn key_and_key_files() {
    let spec = Spec::load();
    let seed = spec.bytes::<32>("seed");
    let sk = spec.secret_key();
    let public = sk.public();

    // The public key, through the model and through ed25519-dalek directly.
    same("public-key", &hex::encode(public.to_bytes()), &spec.hex("public-key"));
    let dalek_public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    same("public-key", &hex::encode(dalek_public), &spec.hex("public-key"));
    same("public-key-base64", &public.to_base64(), spec.text("public-key-base64"));
    let from_doc = B64
        .decode(spec.text("public-key-base64"))
        .unwrap_or_else(|e| panic!("spec-example:public-key-base64 is not base64: {e}"));
    assert_eq!(from_doc, public.to_bytes(), "public-key-base64 does not decode to public-key");

    // Key files as kpledger writes them, read back.
    same("secret-key-pem", sk.to_pem().trim_end(), spec.text("secret-key-pem"));
    same("public-key-pem", public.to_pem().trim_end(), spec.text("public-key-pem"));
    let read_sk = SecretKey::from_pem(spec.text("secret-key-pem"), "spec-example:secret-key-pem")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_sk.public(), public);
    let read_pk = PublicKey::from_pem(spec.text("public-key-pem"), "spec-example:public-key-pem")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_pk, public);

    // The DER layouts of §6.2.
    let der = |pem: &str| {
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        B64.decode(b64).unwrap_or_else(|e| panic!("PEM body is not base64: {e}"))
    };
    let v1 = [&unhex("302e020100300506032b657004220420")[..], &seed].concat();
    assert_eq!(der(spec.text("secret-key-pem")), v1, "PKCS#8 v1 layout of SPEC §6.2");
    let spki = [&unhex("302a300506032b6570032100")[..], &public.to_bytes()].concat();
    assert_eq!(der(spec.text("public-key-pem")), spki, "SubjectPublicKeyInfo layout of SPEC §6.2");

    // The v2 form (with the public key) that other tools write is read too.
    let v2 = [&unhex("3051020101300506032b657004220420")[..], &seed, &[0x81, 0x21, 0x00], &public.to_bytes()]
        .concat();
    let body = B64.encode(&v2);
    let (l1, l2) = body.split_at(64);
    let v2_pem = format!("-----BEGIN PRIVATE KEY-----\n{l1}\n{l2}\n-----END PRIVATE KEY-----\n");
    let read_v1 = SecretKey::from_pem(&v2_pem, "PKCS#8 v2").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_v1.public(), public, "a PKCS#8 v2 key file gives another key");
}

#[test]
fn canonical_bytes_of_the_body() {
    let spec = Spec::load();
    let jcs = spec.text("body-jcs");
    assert_eq!(jcs.len(), BODY_JCS_LEN, "SPEC §12 says the canonical body is {BODY_JCS_LEN} bytes");

    // The body as written in the document reads strictly, and is the body built in code.
    let input = spec.text("body-input");
    let read: EventBody = canonical::from_slice_strict(input.as_bytes())
        .unwrap_or_else(|e| panic!("spec-example:body-input is not a valid body: {e}"));
    assert_eq!(read, example_body(), "spec-example:body-input is not the example body");

    // Canonical bytes through the model, and through RFC 8785 of the raw input value.
    let from_model = canonical::to_canonical(&example_body()).unwrap_or_else(|e| panic!("{e}"));
    same("body-jcs", &String::from_utf8_lossy(&from_model), jcs);
    let raw: serde_json::Value =
        serde_json::from_str(input).unwrap_or_else(|e| panic!("spec-example:body-input: {e}"));
    let direct = serde_json_canonicalizer::to_vec(&raw).unwrap_or_else(|e| panic!("{e}"));
    same("body-jcs", &String::from_utf8_lossy(&direct), jcs);
}

#[test]
fn event_hash() {
    let spec = Spec::load();
    let prefix = b"kpledger/v1/event\0";
    same("hash-prefix", &hex::encode(prefix), &spec.hex("hash-prefix"));

    let jcs = spec.text("body-jcs").as_bytes();
    let direct = sha256(&[prefix, jcs]);
    same("event-hash", &hex::encode(direct), &spec.hex("event-hash"));

    let via_model = hash::digest(Domain::Event, jcs);
    same("event-hash", &via_model.to_hex(), &spec.hex("event-hash"));
    let of_event = Event::sign(example_body(), &spec.secret_key())
        .and_then(|e| e.hash())
        .unwrap_or_else(|e| panic!("{e}"));
    same("event-hash", &of_event.to_hex(), &spec.hex("event-hash"));

    // The offer label gives another hash for the same bytes (§4.1).
    assert_ne!(hash::digest(Domain::Offer, jcs), via_model);
}

#[test]
fn signed_message_and_signature() {
    let spec = Spec::load();
    let hash = kpledger_model::Hash(spec.bytes::<32>("event-hash"));

    let message = [&b"kpledger/v1/sig/event\0"[..], &hash.0].concat();
    assert_eq!(message.len(), MESSAGE_LEN, "SPEC §5.1 says the signed message is {MESSAGE_LEN} bytes");
    same("signed-message", &hex::encode(&message), &spec.hex("signed-message"));
    same("signed-message", &hex::encode(sign::message(Purpose::Event, &hash)), &spec.hex("signed-message"));

    // Ed25519 directly over the message, then through the model.
    let dalek = ed25519_dalek::SigningKey::from_bytes(&spec.bytes::<32>("seed"));
    let direct = dalek.sign(&message);
    same("signature", &hex::encode(direct.to_bytes()), &spec.hex("signature"));
    let sk = spec.secret_key();
    let via_model = sign::sign(&sk, Purpose::Event, &hash);
    same("signature", &hex::encode(via_model.0), &spec.hex("signature"));
    same("signature-base64", &B64.encode(via_model.0), spec.text("signature-base64"));

    // The printed signature verifies strictly, for this purpose only.
    let printed = ed25519_dalek::Signature::from_bytes(&spec.bytes::<64>("signature"));
    assert!(dalek.verifying_key().verify_strict(&message, &printed).is_ok(), "verify_strict refuses it");
    let printed = sign::Signature(spec.bytes::<64>("signature"));
    assert!(sign::verify(&sk.public(), Purpose::Event, &hash, &printed));
    assert!(!sign::verify(&sk.public(), Purpose::Offer, &hash, &printed));
}

#[test]
fn the_stored_event() {
    let spec = Spec::load();
    let doc = spec.text("event");

    let signed = Event::sign(example_body(), &spec.secret_key())
        .and_then(Event::into_parsed)
        .unwrap_or_else(|e| panic!("{e}"));
    same("event", &String::from_utf8_lossy(&signed.canonical), doc);

    // Read back as a verifier would: strict, canonical, same hash, signature valid.
    let read = Event::parse(doc.as_bytes()).unwrap_or_else(|e| panic!("spec-example:event: {e}"));
    assert_eq!(read.canonical, doc.as_bytes(), "spec-example:event is not in canonical form");
    same("event-hash", &read.hash.to_hex(), &spec.hex("event-hash"));
    assert!(read.event.signature_valid(&read.hash), "the example event's signature does not verify");
    same("public-key-base64", &read.event.sig.key.to_base64(), spec.text("public-key-base64"));

    // One changed character of the body: another hash, and the signature no longer verifies.
    let altered = doc.replace("\"weight_pt\":1234", "\"weight_pt\":1235");
    assert_ne!(altered, doc);
    let altered = Event::parse(altered.as_bytes()).unwrap_or_else(|e| panic!("altered event: {e}"));
    assert_ne!(altered.hash, read.hash);
    assert!(!altered.event.signature_valid(&altered.hash), "an altered body still verifies");
}
