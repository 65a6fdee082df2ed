//! The hostile-input corpus of `fixtures/hostile/`, data-driven from its `expect.json`: every
//! entry runs one kpledger command on one hostile file and checks the exact exit code (2 for
//! unreadable or invalid input, 1 for a refusal by the rules), a phrase of the message, that
//! nothing panicked and that neither the ledger nor the hostile file changed.
//!
//! The corpus runs against a small Sierra Leone ledger (the "world") built here through the
//! CLI with the corpus's own keys (`keys/nma.pem`, `keys/miner.pem`; public test keys), so the
//! hostile events can be validly signed: each is refused for what is hostile in it, not for a
//! bad signature (unless the signature is the hostile part). `control_*` files are the same
//! events without the hostile part, and must be accepted (`ingest --dry-run`).
//!
//! Every file except the openssl-made keys is derived here, deterministically; a test checks
//! that the committed files are exactly what this code derives. `KPLEDGER_BLESS=1 cargo test
//! --test e2e hostile` rewrites them (and makes the openssl keys if they are missing). Files
//! that must not be committed (symbolic links, damaged copies of ledgers, a sparse 1 GiB
//! file) are made by the test in its own directory: `make` in `expect.json` names the recipe.

use std::path::{Path, PathBuf};

use kpledger_model::SecretKey;
use kpledger_model::canonical::canonical_value;
use kpledger_model::hash::{Domain, digest};
use kpledger_model::sign::{Purpose, sign};
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::util::{
    KOIDU_SITE, Out, TempDir, base64, copy_ledger, init, licence_2026, openssl, policy_file, snapshot,
};

/// The world's log origin, actors, site and the time of the hostile events.
const ORIGIN: &str = "kpledger.sl/hostile";
const NMA: &str = "sl.nma";
const MINER: &str = "sl.miner.koroma";
const SITE: &str = "sl.kono.koidu-12";
const PARCEL: &str = "019cb1a0-0000-7000-8000-000000000001";
const WHEN: &str = "2026-03-03T09:00:00Z";

/// ed25519-speccheck (`tests/vectors/ed25519/speccheck/cases.json`, novifinancial/
/// ed25519-speccheck, Apache-2.0): the public key of cases 0 and 1, a point of small order.
const SPECCHECK_SMALL_ORDER_A: &str = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa";
/// Case 0's signature, by that key: R of small order, S = 0.
const SPECCHECK_CASE0_SIG: &str = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a\
                                   0000000000000000000000000000000000000000000000000000000000000000";
/// The public key of cases 10 and 11: `ecff…ff` is y = p - 1 with the sign bit set, but the
/// point with that y has x = 0 (it is the point of order 2), so the encoding is non-canonical.
const SPECCHECK_NON_CANONICAL_A: &str = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
/// The R of cases 8 and 9: the same non-canonical encoding, as a signature's R.
const SPECCHECK_NON_CANONICAL_R: &str = SPECCHECK_NON_CANONICAL_A;
/// The R of case 2: a point of small order.
const SPECCHECK_SMALL_ORDER_R: &str = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa";
/// The group order L, little-endian (RFC 8032 §5.1).
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("hostile")
}

/// The world's keys: Ed25519 seeds that are the ASCII label zero-padded to 32 bytes.
fn world_key(name: &str) -> SecretKey {
    let label = format!("kpledger/hostile/{name}");
    let mut seed = [0u8; 32];
    seed[..label.len()].copy_from_slice(label.as_bytes());
    SecretKey::from_seed(&seed)
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let body = base64(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n")).into_bytes()
}

/// SubjectPublicKeyInfo of an Ed25519 key of any length (RFC 8410: OID 1.3.101.112).
fn spki(raw: &[u8]) -> Vec<u8> {
    let n = u8::try_from(raw.len()).unwrap();
    let mut der = vec![0x30, n + 10, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, n + 1, 0x00];
    der.extend_from_slice(raw);
    der
}

/// PKCS#8 v1 of an Ed25519 private key of any length.
fn pkcs8(seed: &[u8]) -> Vec<u8> {
    let n = u8::try_from(seed.len()).unwrap();
    let mut der =
        vec![0x30, n + 14, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, n + 2, 0x04, n];
    der.extend_from_slice(seed);
    der
}

/// Canonical bytes of a document, and a newline.
fn doc(v: &Value) -> Vec<u8> {
    let mut bytes = canonical_value(v);
    bytes.push(b'\n');
    bytes
}

/// A body signed as `Event::sign` signs one, whatever the body holds.
fn signed_with(body: Value, key: &SecretKey) -> (Value, [u8; 64]) {
    let hash = digest(Domain::Event, &canonical_value(&body));
    let sig = sign(key, Purpose::Event, &hash).0;
    (json!({"body": body, "sig": {"key": key.public(), "sig": base64(&sig)}}), sig)
}

fn signed(body: Value, key: &SecretKey) -> Vec<u8> {
    doc(&signed_with(body, key).0)
}

/// `bytes` with `from` replaced by `to`, exactly once.
#[track_caller]
fn edit(bytes: &[u8], from: &str, to: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    assert_eq!(text.matches(from).count(), 1, "{from:?} should occur once in {text}");
    let at = text.find(from).unwrap();
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

/// `v` with the field at JSON pointer `at` set to `new`.
fn with(v: &Value, at: &str, new: Value) -> Value {
    let mut v = v.clone();
    let shown = v.to_string();
    *v.pointer_mut(at).unwrap_or_else(|| panic!("no {at} in {shown}")) = new;
    v
}

/// `v` (an object) with one more field.
fn with_new(v: &Value, key: &str, new: Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().unwrap().insert(key.to_owned(), new);
    v
}

fn extraction() -> Value {
    json!({
        "kind": "extraction", "ledger": ORIGIN, "signer": MINER, "time": WHEN, "v": 1,
        "parcel": PARCEL, "site": SITE, "weight_pt": 1234, "stones": 3, "hs_code": "7102.31"
    })
}

fn enrolment(key: &str) -> Value {
    json!({
        "kind": "enrol", "ledger": ORIGIN, "signer": NMA, "time": WHEN, "v": 1,
        "actor": {
            "id": "sl.dealer.kamara", "name": "Kamara Diamond Dealers", "role": "dealer", "country": "SL",
            "key": key,
            "licence": {"number": "NMA/DL/2026/031", "class": "dealer", "valid_from": "2026-01-01", "valid_to": "2026-12-31"}
        }
    })
}

fn site() -> Value {
    json!({
        "kind": "site", "ledger": ORIGIN, "signer": NMA, "time": WHEN, "v": 1,
        "site": {"id": "sl.kono.tongo-3", "name": "Tongo field 3", "country": "SL", "region": "Kono",
                 "location": "8.2,-11.0", "area_m2": 8000}
    })
}

/// Every corpus file derived here (all but the openssl keys), by path under fixtures/hostile.
fn derived() -> Vec<(String, Vec<u8>)> {
    let nma = world_key("nma");
    let miner = world_key("miner");
    let dealer = world_key("dealer");
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>| out.push((name.to_owned(), bytes));

    // The world's keys (public test keys), and keys of the wrong length, order or encoding.
    put("keys/nma.pem", nma.to_pem().into_bytes());
    put("keys/nma.pub", nma.public().to_pem().into_bytes());
    put("keys/miner.pem", miner.to_pem().into_bytes());
    put("keys/miner.pub", miner.public().to_pem().into_bytes());
    let miner_raw = miner.public().to_bytes();
    put("keys/ed25519_31_bytes.pub", pem("PUBLIC KEY", &spki(&miner_raw[..31])));
    put("keys/ed25519_33_bytes.pub", pem("PUBLIC KEY", &spki(&[&miner_raw[..], &[0]].concat())));
    put("keys/ed25519_31_bytes.pem", pem("PRIVATE KEY", &pkcs8(&[7; 31])));
    put("keys/small_order.pub", pem("PUBLIC KEY", &spki(&hex(SPECCHECK_SMALL_ORDER_A))));
    put("keys/non_canonical.pub", pem("PUBLIC KEY", &spki(&hex(SPECCHECK_NON_CANONICAL_A))));
    put("keys/miner_pub.der", spki(&miner_raw));

    // Controls: the events the hostile ones are made from, accepted as they are.
    let control = signed(extraction(), &miner);
    put("events/control_extraction.json", control.clone());
    put("events/control_enrol.json", signed(enrolment(&dealer.public().to_base64()), &nma));
    let control_site = signed(site(), &nma);
    put("events/control_site.json", control_site.clone());

    // Numbers.
    let w = r#""weight_pt":1234"#;
    put("events/weight_1e400.json", edit(&control, w, br#""weight_pt":1e400"#));
    put("events/weight_20_digits.json", edit(&control, w, br#""weight_pt":99999999999999999999"#));
    put("events/weight_2pow53_plus_1.json", edit(&control, w, br#""weight_pt":9007199254740993"#));
    put("events/weight_nan.json", edit(&control, w, br#""weight_pt":NaN"#));
    put("events/weight_infinity.json", edit(&control, w, br#""weight_pt":Infinity"#));
    put("events/weight_exponent.json", edit(&control, w, br#""weight_pt":1234e0"#));
    put("events/weight_fraction.json", edit(&control, w, br#""weight_pt":1234.0"#));
    put("events/weight_leading_zero.json", edit(&control, w, br#""weight_pt":01234"#));
    put("events/weight_plus_sign.json", edit(&control, w, br#""weight_pt":+1234"#));
    let signed_weight = |v: Value| signed(with(&extraction(), "/weight_pt", v), &miner);
    put("events/weight_max_safe_integer.json", signed_weight(json!(9_007_199_254_740_991u64)));
    put("events/weight_over_maximum.json", signed_weight(json!(100_000_001)));
    put("events/weight_negative.json", signed_weight(json!(-1234)));
    put("events/weight_zero.json", signed_weight(json!(0)));
    put("events/weight_as_string.json", signed_weight(json!("1234")));
    let zero_stones = signed(with(&extraction(), "/stones", json!(0)), &miner);
    put("events/stones_minus_zero.json", edit(&zero_stones, r#""stones":0"#, br#""stones":-0"#));

    // Duplicate keys: the second value would win in most JSON readers, the first in others.
    put("events/duplicate_key_weight.json", edit(&control, w, br#""weight_pt":1,"weight_pt":1234"#));
    put("events/duplicate_key_sig.json", edit(&control, r#","sig":{"#, br#","sig":{},"sig":{"#));

    // Look-alikes.
    let cyr_o = "sl.miner.kor\u{43e}ma"; // Cyrillic о
    put(
        "events/lookalike_signer_cyrillic_o.json",
        signed(with(&extraction(), "/signer", json!(cyr_o)), &miner),
    );
    let cyr_a = "sl.dealer.k\u{430}mara"; // Cyrillic а
    put(
        "events/lookalike_actor_id_cyrillic_a.json",
        signed(with(&enrolment(&dealer.public().to_base64()), "/actor/id", json!(cyr_a)), &nma),
    );
    let fullwidth = "\u{ff12}\u{ff10}\u{ff12}\u{ff16}-03-03T09:00:00Z"; // ２０２６
    put(
        "events/lookalike_time_fullwidth_digits.json",
        signed(with(&extraction(), "/time", json!(fullwidth)), &miner),
    );
    put(
        "events/lookalike_country_cyrillic_dze.json",
        signed(with(&site(), "/site/country", json!("\u{405}L")), &nma), // Cyrillic Ѕ
    );
    put(
        "events/lookalike_site_zero_width_space.json",
        signed(with(&extraction(), "/site", json!("sl.kono.koidu\u{200b}-12")), &miner),
    );
    put(
        "events/lookalike_parcel_unicode_hyphen.json",
        signed(with(&extraction(), "/parcel", json!(PARCEL.replacen('-', "\u{2010}", 1))), &miner),
    );
    put(
        "events/lookalike_hs_code_arabic_indic_digits.json",
        signed(with(&extraction(), "/hs_code", json!("7102.\u{663}\u{661}")), &miner),
    );

    // Certificate and seal numbers are visible ASCII; free text holds no invisible, format,
    // bidirectional or unnormalised character (docs/SPEC.md §7).
    let export = |number: &str| {
        json!({
            "kind": "export", "ledger": ORIGIN, "signer": NMA, "time": WHEN, "v": 1,
            "certificate": number, "parcels": [{"parcel": PARCEL, "prev": "0".repeat(64)}]
        })
    };
    put("events/lookalike_certificate_word_joiner.json", signed(export("SL-2026\u{2060}-004600"), &nma));
    put("events/lookalike_certificate_lowercase.json", signed(export("sl-2026-004600"), &nma));
    let seal = json!({
        "kind": "seal", "ledger": ORIGIN, "signer": NMA, "time": WHEN, "v": 1, "parcel": PARCEL,
        "prev": "0".repeat(64), "weight_pt": 1234, "seal_ids": ["SL-SEAL-2026-0101", "SL-SEAL\u{200b}-2026-0101"]
    });
    put("events/lookalike_seal_zero_width_space.json", signed(seal, &nma));
    for (name, field, text) in [
        ("text_bidi_override_in_name", "/site/name", "Tongo \u{202e}3 dleif"),
        ("text_word_joiner_in_region", "/site/region", "Ko\u{2060}no"),
    ] {
        put(&format!("events/{name}.json"), signed(with(&site(), field, json!(text)), &nma));
    }
    put(
        "events/text_not_nfc_in_name.json",
        signed(
            with(
                &enrolment(&dealer.public().to_base64()),
                "/actor/name",
                json!("Kamara Socie\u{301}te\u{301}"),
            ),
            &nma,
        ),
    );

    // Times.
    let far = "9999-12-31T23:59:59Z";
    for (name, time) in [
        ("time_with_offset", "2026-03-03T09:00:00+00:00"),
        ("time_leap_second", "2026-03-03T23:59:60Z"),
        ("time_february_30", "2026-02-30T09:00:00Z"),
        ("future_extraction_9999", far),
    ] {
        put(&format!("events/{name}.json"), signed(with(&extraction(), "/time", json!(time)), &miner));
    }
    put("events/future_site_9999.json", signed(with(&site(), "/time", json!(far)), &nma));

    // Sizes and shapes.
    let mega = "A".repeat(1 << 20);
    put("events/overlong_name_1mb.json", signed(with(&site(), "/site/name", json!(mega)), &nma));
    let long_id = format!("sl.dealer.{}", "k".repeat(55));
    put(
        "events/overlong_actor_id_65.json",
        signed(with(&enrolment(&dealer.public().to_base64()), "/actor/id", json!(long_id)), &nma),
    );
    put("events/nested_10000_arrays.json", "[".repeat(10_000).into_bytes());
    put("events/nested_10000_objects.json", r#"{"a":"#.repeat(10_000).into_bytes());
    put("events/truncated_event.json", control[..control.len() / 2].to_vec());
    put("events/unknown_field.json", signed(with_new(&extraction(), "note", json!("x")), &miner));
    put("events/format_v2.json", signed(with(&extraction(), "/v", json!(2)), &miner));
    put(
        "events/control_character_in_name.json",
        signed(with(&site(), "/site/name", json!("Tongo\u{0}field")), &nma),
    );

    // Encodings.
    put("events/non_utf8_byte.json", edit(&control, MINER, &[MINER.as_bytes(), &[0xff]].concat()));
    put("events/utf8_bom.json", [&[0xef, 0xbb, 0xbf][..], &control].concat());
    let utf16: Vec<u8> = std::iter::once(0xfeffu16)
        .chain(String::from_utf8(control.clone()).unwrap().encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    put("events/utf16le_bom.json", utf16);
    put("events/lone_surrogate.json", edit(&control_site, "Tongo field 3", br"Tongo field \ud800"));

    // Keys inside events.
    put("events/enrol_key_31_bytes.json", signed(enrolment(&base64(&miner_raw[..31])), &nma));
    put("events/enrol_key_small_order.json", signed(enrolment(&base64(&hex(SPECCHECK_SMALL_ORDER_A))), &nma));
    put(
        "events/enrol_key_non_canonical.json",
        signed(enrolment(&base64(&hex(SPECCHECK_NON_CANONICAL_A))), &nma),
    );

    // Signatures.
    let (event, sig) = signed_with(extraction(), &miner);
    let with_sig = |s: &[u8]| doc(&with(&event, "/sig/sig", json!(base64(s))));
    let mut s_plus_l = sig;
    let mut carry = 0u16;
    for (i, l) in L.iter().enumerate() {
        let x = u16::from(s_plus_l[32 + i]) + u16::from(*l) + carry;
        s_plus_l[32 + i] = (x & 0xff) as u8;
        carry = x >> 8;
    }
    put("events/sig_s_plus_l.json", with_sig(&s_plus_l));
    put(
        "events/sig_r_non_canonical.json",
        with_sig(&[&hex(SPECCHECK_NON_CANONICAL_R)[..], &sig[32..]].concat()),
    );
    put("events/sig_r_small_order.json", with_sig(&[&hex(SPECCHECK_SMALL_ORDER_R)[..], &sig[32..]].concat()));
    put("events/sig_all_zero.json", with_sig(&[0; 64]));
    put("events/sig_65_bytes.json", with_sig(&[&sig[..], &[0]].concat()));
    put("events/sig_not_base64.json", doc(&with(&event, "/sig/sig", json!("not base64!"))));
    let small =
        json!({"key": base64(&hex(SPECCHECK_SMALL_ORDER_A)), "sig": base64(&hex(SPECCHECK_CASE0_SIG))});
    put("events/sig_by_small_order_key.json", doc(&with(&event, "/sig", small)));
    put("events/sig_by_other_key.json", doc(&signed_with(extraction(), &dealer).0));

    // Replays.
    put(
        "events/cross_ledger_replay.json",
        signed(with(&extraction(), "/ledger", json!("kpledger.lr/national")), &miner),
    );
    let genesis = json!({
        "kind": "genesis", "ledger": ORIGIN, "signer": NMA, "time": WHEN, "v": 1,
        "authority": {"id": NMA, "name": "National Minerals Agency", "role": "authority", "country": "SL",
                      "key": nma.public()}
    });
    put("events/genesis_replay.json", signed(genesis, &nma));
    // A second extraction of the control's parcel id (CH-3), for a ledger that has the first.
    let again = with(&with(&extraction(), "/weight_pt", json!(999)), "/time", json!("2026-03-03T10:00:00Z"));
    put("events/extraction_reusing_parcel_id.json", signed(again, &miner));
    out
}

/// Keys made by openssl once, when blessing, and committed: (file, genpkey arguments).
const OPENSSL_KEYS: [(&str, &[&str]); 4] = [
    ("rsa2048", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
    ("p256", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
    ("x25519", &["-algorithm", "X25519"]),
    ("ed448", &["-algorithm", "ED448"]),
];

fn blessing() -> bool {
    std::env::var_os("KPLEDGER_BLESS").is_some()
}

#[test]
fn hostile_corpus_is_what_the_generator_derives() {
    let root = corpus_dir();
    let mut stale = Vec::new();
    for (name, bytes) in derived() {
        let path = root.join(&name);
        if blessing() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            stale.push(name);
        }
    }
    for (name, args) in OPENSSL_KEYS {
        let private = root.join("keys").join(format!("{name}.pem"));
        if blessing() && !private.exists() {
            let p = private.to_string_lossy().into_owned();
            openssl(&[&["genpkey"][..], args, &["-out", &p]].concat(), &root);
            openssl(
                &["pkey", "-in", &p, "-pubout", "-out", &format!("{}.pub", p.trim_end_matches(".pem"))],
                &root,
            );
        }
        assert!(
            private.exists(),
            "{} is missing: run KPLEDGER_BLESS=1 cargo test --test e2e hostile",
            private.display()
        );
    }
    assert!(
        stale.is_empty(),
        "these files of fixtures/hostile differ from what tests/e2e/hostile.rs derives: {stale:?}; \
         if the change is intended, run KPLEDGER_BLESS=1 cargo test --test e2e hostile"
    );
}

/// The world: a Sierra Leone ledger with its root authority, the SL policy, one mine site and
/// a licensed miner, all signed with the corpus's keys at fixed times.
fn world(dir: &TempDir) -> PathBuf {
    let ledger = dir.join("world.kpl");
    let keys = corpus_dir().join("keys");
    let (nma, miner) = (keys.join("nma.pem"), keys.join("miner.pub"));
    init(&ledger, ORIGIN, [NMA, "National Minerals Agency", "SL"], &nma)
        .args(["--time", "2026-03-02T08:00:00Z"])
        .run()
        .ok();
    kp!(
        "policy",
        "set",
        "--ledger",
        &ledger,
        "--key",
        &nma,
        "--time",
        "2026-03-02T08:10:00Z",
        policy_file("SL")
    )
    .run()
    .ok();
    kp!("site", "add", "--ledger", &ledger, "--key", &nma, "--time", "2026-03-02T08:20:00Z",)
        .args(KOIDU_SITE)
        .run()
        .ok();
    kp!(
        "actor",
        "enrol",
        "--ledger",
        &ledger,
        "--key",
        &nma,
        "--time",
        "2026-03-02T08:30:00Z",
        "--id",
        MINER,
        "--name",
        "Koroma artisanal mining",
        "--role",
        "miner",
        "--country",
        "SL",
        "--pubkey",
        &miner,
        "--site",
        SITE
    )
    .args(licence_2026("NMA/AM/2026/114", "artisanal"))
    .run()
    .ok();
    ledger
}

/// A demo ledger, made once per run of the corpus when an entry needs one.
fn demo_ledger(dir: &TempDir, cache: &mut Option<PathBuf>) -> PathBuf {
    cache
        .get_or_insert_with(|| {
            kp!("demo", dir.join("demo"), "--parcels", "8").run().ok();
            dir.join("demo").join("ledger.kpl")
        })
        .clone()
}

/// A sparse file of `len` bytes (no disk space is used).
fn sparse(path: &Path, len: u64) {
    std::fs::File::create(path).and_then(|f| f.set_len(len)).unwrap();
}

/// Zeroes page `page` (1-based) of a database file.
fn zero_page(path: &Path, page: u64) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start((page - 1) * 4096)).unwrap();
    f.write_all(&[0; 4096]).unwrap();
}

fn page_count(ledger: &Path) -> u64 {
    let c = Connection::open(ledger).unwrap();
    let n: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    let size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    assert_eq!(size, 4096, "the recipes assume 4096-byte pages");
    u64::try_from(n).unwrap()
}

/// Makes the file of an entry that is not committed; returns its path.
fn make(recipe: &str, name: &str, dir: &TempDir, world: &Path, demo: &mut Option<PathBuf>) -> PathBuf {
    let path = dir.join(name);
    match recipe {
        "symlink-to-ledger" => std::os::unix::fs::symlink(world, &path).unwrap(),
        "dangling-symlink" => std::os::unix::fs::symlink(dir.join("nothing-here.kpl"), &path).unwrap(),
        "newer-schema" => {
            copy_ledger(world, &path);
            Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        }
        "demo-zeroed-middle-page" => {
            copy_ledger(&demo_ledger(dir, demo), &path);
            zero_page(&path, page_count(&path) / 2 + 1);
        }
        "demo-truncated-half" => {
            copy_ledger(&demo_ledger(dir, demo), &path);
            let half = page_count(&path) / 2 * 4096;
            std::fs::OpenOptions::new().write(true).open(&path).and_then(|f| f.set_len(half)).unwrap();
        }
        "world-zeroed-actors-page" => {
            copy_ledger(world, &path);
            let root: i64 = Connection::open(&path)
                .unwrap()
                .query_row("SELECT rootpage FROM sqlite_schema WHERE name = 'actors'", [], |r| r.get(0))
                .unwrap();
            zero_page(&path, u64::try_from(root).unwrap());
        }
        "world-with-parcel" | "world-with-parcel-row-tampered" => {
            copy_ledger(world, &path);
            kp!("ingest", "--ledger", &path, corpus_dir().join("events/control_extraction.json")).run().ok();
            if recipe.ends_with("tampered") {
                // A stored derived document that no longer parses, as a careless edit leaves it.
                let c = Connection::open(&path).unwrap();
                assert_eq!(c.execute("UPDATE parcels SET doc = '{\"tampered\": true}'", []).unwrap(), 1);
            }
        }
        "sparse-1GiB" => sparse(&path, 1 << 30),
        "sparse-64KiB-plus-1" => sparse(&path, 64 * 1024 + 1),
        "dev-zero" => return PathBuf::from("/dev/zero"),
        other => panic!("expect.json: unknown recipe {other:?} for {name}"),
    }
    path
}

/// What a file looks like, to check that a command left it alone: its bytes when it is a
/// small regular file, its length otherwise (a sparse 1 GiB file), nothing for a device.
fn fingerprint(path: &Path) -> Option<(u64, Option<Vec<u8>>)> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let bytes = (meta.len() <= 64 << 20).then(|| std::fs::read(path).unwrap());
    Some((meta.len(), bytes))
}

fn strings(v: &Value, field: &str) -> Vec<String> {
    match &v[field] {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_owned()).collect(),
        other => panic!("expect.json: {field} should be a string or a list, not {other}"),
    }
}

/// The problems with one run, as sentences (empty when it did what `expect` says). The
/// hostile file's path reads `<file>` in the messages, so that no phrase is found in its name.
fn judge(out: &Out, expect: &Value, file: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let stderr = out.stderr.replace(&file.display().to_string(), "<file>");
    let exit = expect["exit"].as_i64().unwrap();
    if i64::from(out.code) != exit {
        problems.push(format!("exit code {} instead of {exit}", out.code));
    }
    if out.code == 101 || out.stderr.contains("panicked") {
        problems.push("kpledger panicked".into());
    }
    for p in strings(expect, "stderr_contains") {
        if !stderr.contains(&p) {
            problems.push(format!("stderr does not mention {p:?}"));
        }
    }
    for p in strings(expect, "stdout_contains") {
        if !out.stdout.contains(&p) {
            problems.push(format!("stdout does not mention {p:?}"));
        }
    }
    if exit == 2 && !out.stdout.trim().is_empty() {
        problems.push("a command that could not run printed on stdout".into());
    }
    if exit != 0 && !stderr.contains("error") && !stderr.contains("refused") {
        problems.push("stderr does not say what went wrong".into());
    }
    problems
}

#[test]
fn hostile_inputs_are_refused_as_expected_and_change_nothing() {
    let root = corpus_dir();
    let text = std::fs::read_to_string(root.join("expect.json")).unwrap();
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    let dir = TempDir::new("hostile");
    let ledger = world(&dir);
    let mut demo = None;
    let mut failures = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    let mut made: std::collections::BTreeMap<String, PathBuf> = std::collections::BTreeMap::new();
    for e in &entries {
        let file = e["file"].as_str().unwrap();
        assert!(e["why"].is_string(), "expect.json: entry for {file} should say why it is hostile");
        if e["make"].is_null() {
            covered.insert(file.to_owned());
        }
        if let Some(reason) = e["skip"].as_str() {
            eprintln!("hostile: skipped {file}: {reason}");
            continue;
        }
        // Made once, used by every entry that names it.
        let mut get = |recipe: &str, name: &str| -> PathBuf {
            if let Some(p) = made.get(name) {
                return p.clone();
            }
            let p = make(recipe, name, &dir, &ledger, &mut demo);
            made.insert(name.to_owned(), p.clone());
            p
        };
        let path = match e["make"].as_str() {
            Some(recipe) => get(recipe, file),
            None => root.join(file),
        };
        // The ledger the command works on: the world, or a variant of it made here.
        let target = match e["ledger_make"].as_str() {
            Some(recipe) => get(recipe, &format!("{recipe}.kpl")),
            None => ledger.clone(),
        };
        let mut cmd = kp!();
        for a in e["command"].as_array().unwrap() {
            let a = a.as_str().unwrap();
            cmd = match a {
                "{ledger}" => cmd.arg(&target),
                "{file}" => cmd.arg(&path),
                _ => match a.strip_prefix("{corpus}/") {
                    Some(rest) => cmd.arg(root.join(rest)),
                    None => cmd.arg(a),
                },
            };
        }
        let before = (snapshot(&target), fingerprint(&path));
        let out = cmd.cwd(dir.path()).run();
        let mut problems = judge(&out, e, &path);
        if snapshot(&target) != before.0 {
            problems.push(format!("the ledger {} changed", target.display()));
        }
        if fingerprint(&path) != before.1 {
            problems.push(format!("{} changed", path.display()));
        }
        if !problems.is_empty() {
            failures.push(format!("{file}: {}\n{out}", problems.join("; ")));
        }
    }
    // Every committed file has an entry.
    let mut missing = Vec::new();
    for sub in ["events", "keys"] {
        for f in std::fs::read_dir(root.join(sub)).unwrap() {
            let name = format!("{sub}/{}", f.unwrap().file_name().to_string_lossy());
            let is_world_key =
                ["keys/nma.pem", "keys/nma.pub", "keys/miner.pem", "keys/miner.pub"].contains(&name.as_str());
            if !covered.contains(&name) && !is_world_key {
                missing.push(name);
            }
        }
    }
    assert!(missing.is_empty(), "fixtures/hostile files without an entry in expect.json: {missing:?}");
    assert!(
        failures.is_empty(),
        "{} of {} hostile inputs did not do what expect.json says:\n\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n\n")
    );
}
