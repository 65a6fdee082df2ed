//! External test vectors, read from `tests/vectors` in this repository.
//!
//! They are read from
//! `tests/vectors` (see `tests/vectors/MANIFEST.md` for their provenance).
//! A missing folder is a test failure, not a skip.
//!
//! - RFC 8785 (JCS): the six cyberphone input/output pairs and the first 100,000 lines of
//!   the ES6 number-serialisation file, through [`canonical::canonical_value`].
//! - RFC 8032 §7.1, Wycheproof `ed25519_test.json` and ed25519-speccheck, through
//!   [`sign::verify_raw`] / [`sign::sign_raw`] and [`PublicKey::from_bytes`].

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::PathBuf;

use kpledger_model::{PublicKey, SecretKey};
use kpledger_model::{canonical, hash, sign};
use serde::Deserialize;
use serde_json::Value;

/// The vectors live in the repository, with their provenance in `tests/vectors/MANIFEST.md`.
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors");

/// The vectors folder; fails (never skips) when it is missing.
fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(VECTORS);
    assert!(
        dir.join("MANIFEST.md").is_file(),
        "test vectors not found at {}: they are part of the repository (tests/vectors); is the checkout complete?",
        dir.display()
    );
    dir
}

fn read(rel: &str) -> Vec<u8> {
    let path = vectors_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()))
}

fn read_json<T: for<'de> Deserialize<'de>>(rel: &str) -> T {
    serde_json::from_slice(&read(rel))
        .unwrap_or_else(|e| panic!("vector file {rel} does not have the expected JSON shape: {e}"))
}

fn unhex(s: &str, what: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("{what}: not hex ({e}): {s:?}"))
}

fn unhex_n<const N: usize>(s: &str, what: &str) -> [u8; N] {
    let v = unhex(s, what);
    v.as_slice().try_into().unwrap_or_else(|_| panic!("{what}: {} bytes instead of {N}", v.len()))
}

/// Shows bytes as text when they are UTF-8, for readable failure messages.
fn show(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("hex {}", hex::encode(bytes)),
    }
}

// ---------------------------------------------------------------------------------------
// RFC 8785 (JCS)
// ---------------------------------------------------------------------------------------

/// The six upstream pairs, by name.
const JCS_FILES: [&str; 6] = ["arrays", "french", "structures", "unicode", "values", "weird"];

#[test]
fn jcs_rfc8785_input_output_pairs() {
    // The folder must hold exactly the six expected inputs (nothing missing, nothing unchecked).
    let input_dir = vectors_dir().join("jcs/input");
    let mut found: Vec<String> = std::fs::read_dir(&input_dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", input_dir.display()))
        .map(|entry| {
            let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", input_dir.display()));
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    found.sort();
    let expected: Vec<String> = JCS_FILES.iter().map(|n| format!("{n}.json")).collect();
    assert_eq!(found, expected, "jcs/input/ does not hold exactly the six RFC 8785 vector files");

    let mut checked = 0;
    for name in JCS_FILES {
        let input_rel = format!("jcs/input/{name}.json");
        let output_rel = format!("jcs/output/{name}.json");
        let outhex_rel = format!("jcs/outhex/{name}.txt");

        // Plain serde_json (not parse_strict): these vectors contain floats on purpose.
        let value: Value = serde_json::from_slice(&read(&input_rel))
            .unwrap_or_else(|e| panic!("{input_rel}: not JSON: {e}"));
        let got = canonical::canonical_value(&value);

        let expected = read(&output_rel);
        assert!(
            got == expected,
            "{input_rel}: canonical bytes differ from {output_rel}\n  expected: {}\n  got:      {}",
            show(&expected),
            show(&got)
        );

        // outhex: the same bytes as whitespace-separated hex pairs.
        let hex_text = String::from_utf8(read(&outhex_rel))
            .unwrap_or_else(|e| panic!("{outhex_rel}: not UTF-8 text: {e}"));
        let from_hex: Vec<u8> = hex_text
            .split_whitespace()
            .map(|pair| {
                u8::from_str_radix(pair, 16)
                    .unwrap_or_else(|e| panic!("{outhex_rel}: {pair:?} is not a hex byte: {e}"))
            })
            .collect();
        assert!(
            from_hex == expected,
            "{outhex_rel} does not hold the same bytes as {output_rel}\n  outhex: {}\n  output: {}",
            show(&from_hex),
            show(&expected)
        );
        assert!(got == from_hex, "{input_rel}: canonical bytes differ from {outhex_rel}");
        checked += 1;
    }
    assert_eq!(checked, 6, "expected to check all six RFC 8785 vector files");
}

const ES6_GZ: &str = "jcs/numbers/es6testfile-first100000.txt.gz";
const ES6_NAME: &str = "es6testfile-first100000.txt";
const ES6_LINES: usize = 100_000;
/// Size of the decompressed 100,000-line file, from the upstream table (README.upstream.md).
const ES6_BYTES: usize = 4_031_728;

/// `numbers/SHA256SUMS`: file name → lowercase hex SHA-256. Lines are
/// `<sha256>  <name>[ (comment)]`.
fn es6_sums() -> BTreeMap<String, String> {
    let rel = "jcs/numbers/SHA256SUMS";
    let text = String::from_utf8(read(rel)).unwrap_or_else(|e| panic!("{rel}: not UTF-8: {e}"));
    let mut sums = BTreeMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let mut parts = line.split_whitespace();
        let (Some(sum), Some(name)) = (parts.next(), parts.next()) else {
            panic!("{rel} line {}: expected `<sha256>  <file>`, got {line:?}", i + 1);
        };
        assert!(
            sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()),
            "{rel} line {}: {sum:?} is not a SHA-256",
            i + 1
        );
        sums.insert(name.to_owned(), sum.to_ascii_lowercase());
    }
    sums
}

#[test]
fn jcs_es6_numbers_first_100000() {
    let gz = read(ES6_GZ);
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(gz.as_slice())
        .read_to_end(&mut text)
        .unwrap_or_else(|e| panic!("{ES6_GZ}: cannot decompress: {e}"));
    assert_eq!(text.len(), ES6_BYTES, "{ES6_GZ}: decompressed size differs from the upstream table");

    // The decompressed content must be the upstream file (published checksum).
    let sums = es6_sums();
    let want = sums.get(ES6_NAME).unwrap_or_else(|| {
        panic!("jcs/numbers/SHA256SUMS does not list {ES6_NAME}; listed: {:?}", sums.keys())
    });
    let got = hex::encode(hash::sha256(&[&text]));
    assert_eq!(&got, want, "{ES6_GZ}: SHA-256 of the decompressed content differs from SHA256SUMS");

    // The smaller plain-text samples are listed too: check them while we are here.
    for (name, want) in &sums {
        if name == ES6_NAME {
            continue;
        }
        let rel = format!("jcs/numbers/{name}");
        let got = hex::encode(hash::sha256(&[&read(&rel)]));
        assert_eq!(&got, want, "{rel}: SHA-256 differs from SHA256SUMS");
    }

    let body = text
        .strip_suffix(b"\n")
        .unwrap_or_else(|| panic!("{ES6_GZ}: the last line is not terminated by a newline"));
    let mut checked = 0usize;
    let mut failed = 0usize;
    let mut failures = Vec::new();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let lineno = i + 1;
        let line =
            std::str::from_utf8(line).unwrap_or_else(|e| panic!("{ES6_GZ} line {lineno}: not UTF-8: {e}"));
        let (bits_hex, expected) = line
            .split_once(',')
            .unwrap_or_else(|| panic!("{ES6_GZ} line {lineno}: expected `hex-ieee,expected`, got {line:?}"));
        assert!(
            (1..=16).contains(&bits_hex.len()),
            "{ES6_GZ} line {lineno}: hex-ieee must be 1-16 hex digits, got {line:?}"
        );
        let bits = u64::from_str_radix(bits_hex, 16)
            .unwrap_or_else(|e| panic!("{ES6_GZ} line {lineno}: bad hex-ieee in {line:?}: {e}"));
        let f = f64::from_bits(bits);
        assert!(
            f.is_finite(),
            "{ES6_GZ} line {lineno}: {line:?} is not a finite double (NaN/Infinity cannot be in JSON)"
        );
        let number = serde_json::Number::from_f64(f).unwrap_or_else(|| {
            panic!("{ES6_GZ} line {lineno}: serde_json refused the finite double {line:?}")
        });
        let got = canonical::canonical_value(&Value::Number(number));
        if got != expected.as_bytes() {
            failed += 1;
            if failures.len() < 20 {
                failures.push(format!("line {lineno}: {bits_hex} expected {expected:?}, got {}", show(&got)));
            }
        }
        checked += 1;
    }
    assert!(
        failed == 0,
        "{ES6_GZ}: {failed} of {checked} numbers serialised wrongly (first {}):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    assert_eq!(checked, ES6_LINES, "{ES6_GZ}: expected exactly {ES6_LINES} lines");
}

// ---------------------------------------------------------------------------------------
// Ed25519
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Rfc8032File {
    cases: Vec<Rfc8032Case>,
}

#[derive(Deserialize)]
struct Rfc8032Case {
    name: String,
    secret_key: String,
    public_key: String,
    message: String,
    signature: String,
}

#[test]
fn ed25519_rfc8032_section_7_1() {
    const FILE: &str = "ed25519/rfc8032-section7.1.json";
    let file: Rfc8032File = read_json(FILE);
    let names: Vec<&str> = file.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"],
        "{FILE}: unexpected set of cases"
    );

    for c in &file.cases {
        let ctx = format!("{FILE} {}", c.name);
        let seed: [u8; 32] = unhex_n(&c.secret_key, &format!("{ctx} secret_key"));
        let pk_bytes: [u8; 32] = unhex_n(&c.public_key, &format!("{ctx} public_key"));
        let msg = unhex(&c.message, &format!("{ctx} message"));
        let sig: [u8; 64] = unhex_n(&c.signature, &format!("{ctx} signature"));

        let sk = SecretKey::from_seed(&seed);
        let derived = sk.public();
        assert_eq!(
            hex::encode(derived.to_bytes()),
            c.public_key,
            "{ctx}: public key derived from the seed differs"
        );
        let pk = PublicKey::from_bytes(&pk_bytes)
            .unwrap_or_else(|e| panic!("{ctx}: PublicKey::from_bytes refused the RFC key: {e}"));
        assert_eq!(pk, derived, "{ctx}: parsed and derived public keys differ");

        let signed = sign::sign_raw(&sk, &msg);
        assert_eq!(hex::encode(signed), c.signature, "{ctx}: sign_raw is not byte-identical to the RFC");
        assert!(sign::verify_raw(&pk, &msg, &sig), "{ctx}: verify_raw rejected the RFC signature");

        // A one-bit change to the message must be rejected (first and last byte). TEST 1's
        // message is empty, so there is no bit to flip: a one-byte message stands in for it.
        let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
        if msg.is_empty() {
            variants.push(("the one-byte message [0x00]".to_owned(), vec![0x00]));
        } else {
            for (pos, bit) in [(0, 0x01u8), (msg.len() - 1, 0x80)] {
                let mut m = msg.clone();
                m[pos] ^= bit;
                variants.push((format!("the message with byte {pos} xor {bit:#04x}"), m));
            }
        }
        for (what, m) in &variants {
            assert!(!sign::verify_raw(&pk, m, &sig), "{ctx}: verify_raw accepted {what}");
        }

        // A one-bit change in the signature must be rejected: two bits in R, two in S.
        for (pos, bit) in [(0usize, 0x01u8), (31, 0x40), (32, 0x01), (63, 0x08)] {
            let mut bad_sig = sig;
            bad_sig[pos] ^= bit;
            assert!(
                !sign::verify_raw(&pk, &msg, &bad_sig),
                "{ctx}: verify_raw accepted the signature with byte {pos} xor {bit:#04x}"
            );
        }
    }
}

#[derive(Deserialize)]
struct WycheproofFile {
    algorithm: String,
    #[serde(rename = "numberOfTests")]
    number_of_tests: usize,
    #[serde(rename = "testGroups")]
    test_groups: Vec<WycheproofGroup>,
}

#[derive(Deserialize)]
struct WycheproofGroup {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "publicKey")]
    public_key: WycheproofKey,
    tests: Vec<WycheproofTest>,
}

#[derive(Deserialize)]
struct WycheproofKey {
    curve: String,
    pk: String,
}

#[derive(Deserialize)]
struct WycheproofTest {
    #[serde(rename = "tcId")]
    tc_id: u64,
    comment: String,
    flags: Vec<String>,
    msg: String,
    sig: String,
    result: String,
}

/// Whether kpledger accepts `(pk, msg, sig)`: the key parses (not weak, canonical), the
/// signature is 64 bytes, and `verify_strict` accepts.
fn accepts(pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(key) = PublicKey::from_bytes(pk) else { return false };
    let Ok(sig) = <[u8; 64]>::try_from(sig) else { return false };
    let strict = sign::verify_raw(&key, msg, &sig);
    // Batch verification must give the same verdict: alone, and among good signatures
    // (where a bad one makes the batch fail and every member is checked alone).
    let good_key = SecretKey::from_seed(&[7; 32]);
    let good_pub = good_key.public();
    let good_sig = sign::sign_raw(&good_key, b"a good signature");
    let good = sign::RawSigCheck { key: &good_pub, msg: b"a good signature", sig: &good_sig };
    let this = sign::RawSigCheck { key: &key, msg, sig: &sig };
    assert_eq!(sign::verify_all_raw(&[this], sign::SigMode::Batch), [strict], "batch alone differs");
    assert_eq!(
        sign::verify_all_raw(&[good, this, good], sign::SigMode::Batch),
        [true, strict, true],
        "batch among good signatures differs"
    );
    assert_eq!(sign::verify_all_raw(&[good, this], sign::SigMode::Strict), [true, strict]);
    strict
}

#[test]
fn ed25519_wycheproof() {
    const FILE: &str = "ed25519/wycheproof/ed25519_test.json";
    let file: WycheproofFile = read_json(FILE);
    assert_eq!(file.algorithm, "EDDSA", "{FILE}: unexpected algorithm");
    assert_eq!(file.number_of_tests, 151, "{FILE}: numberOfTests changed; review the file");

    let (mut total, mut valid, mut invalid) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for (g, group) in file.test_groups.iter().enumerate() {
        assert_eq!(group.kind, "EddsaVerify", "{FILE} group {g}: unexpected type");
        assert_eq!(group.public_key.curve, "edwards25519", "{FILE} group {g}: unexpected curve");
        let pk = unhex(&group.public_key.pk, &format!("{FILE} group {g} publicKey.pk"));
        for t in &group.tests {
            let ctx = format!("{FILE} group {g} tcId {} ({:?}, flags {:?})", t.tc_id, t.comment, t.flags);
            let msg = unhex(&t.msg, &format!("{ctx} msg"));
            let sig = unhex(&t.sig, &format!("{ctx} sig"));
            let got = accepts(&pk, &msg, &sig);
            match t.result.as_str() {
                "valid" => {
                    valid += 1;
                    if !got {
                        let why = match PublicKey::from_bytes(&pk) {
                            Err(e) => format!("PublicKey::from_bytes refused the key: {e}"),
                            Ok(_) if sig.len() != 64 => format!("signature is {} bytes", sig.len()),
                            Ok(_) => "verify_raw returned false".to_owned(),
                        };
                        failures.push(format!("{ctx}: expected valid, rejected ({why})"));
                    }
                }
                "invalid" => {
                    invalid += 1;
                    if got {
                        failures.push(format!("{ctx}: expected invalid, accepted"));
                    }
                }
                other => panic!("{ctx}: unexpected result {other:?} (only valid/invalid are handled)"),
            }
            total += 1;
        }
    }
    assert!(failures.is_empty(), "{} Wycheproof failure(s):\n  {}", failures.len(), failures.join("\n  "));
    assert_eq!(total, file.number_of_tests, "{FILE}: checked {total} tests, numberOfTests says otherwise");
    assert_eq!((valid, invalid), (88, 63), "{FILE}: unexpected valid/invalid split");
}

#[derive(Deserialize)]
struct SpeccheckCase {
    message: String,
    pub_key: String,
    signature: String,
}

#[derive(Deserialize)]
struct SpeccheckExpectations {
    upstream_results_by_library: BTreeMap<String, String>,
    suggested_policy_for_ledger: SuggestedPolicy,
}

#[derive(Deserialize)]
struct SuggestedPolicy {
    expected: String,
}

/// kpledger's pinned policy: RFC 8032 strict, as ed25519-dalek `verify_strict`.
const SPECCHECK_POLICY: &str = "XXXVXXXXXXXX";

#[test]
fn ed25519_speccheck_policy_is_strict() {
    const FILE: &str = "ed25519/speccheck/cases.json";
    const EXPECTATIONS: &str = "ed25519/speccheck-expectations.json";
    let cases: Vec<SpeccheckCase> = read_json(FILE);
    assert_eq!(cases.len(), 12, "{FILE}: expected 12 cases");

    let mut outcome = String::new();
    for (i, c) in cases.iter().enumerate() {
        let ctx = format!("{FILE} case {i}");
        let pk = unhex(&c.pub_key, &format!("{ctx} pub_key"));
        let msg = unhex(&c.message, &format!("{ctx} message"));
        let sig = unhex(&c.signature, &format!("{ctx} signature"));
        assert_eq!(sig.len(), 64, "{ctx}: signature is not 64 bytes");
        outcome.push(if accepts(&pk, &msg, &sig) { 'V' } else { 'X' });
    }

    // The expectations file must agree with the pinned policy (guards against a silent edit
    // of either side).
    let exp: SpeccheckExpectations = read_json(EXPECTATIONS);
    assert_eq!(
        exp.suggested_policy_for_ledger.expected, SPECCHECK_POLICY,
        "{EXPECTATIONS}: suggested_policy_for_ledger.expected differs from the pinned policy"
    );
    let dalek_strict = exp
        .upstream_results_by_library
        .get("Dalek strict (verify_strict)")
        .unwrap_or_else(|| panic!("{EXPECTATIONS}: no \"Dalek strict (verify_strict)\" row"));
    assert_eq!(
        dalek_strict, SPECCHECK_POLICY,
        "{EXPECTATIONS}: Dalek strict row differs from the pinned policy"
    );

    assert_eq!(
        outcome, SPECCHECK_POLICY,
        "{FILE}: outcomes for cases 0..11 (V = PublicKey::from_bytes and verify_raw accept) \
         differ from the pinned RFC-8032-strict policy"
    );
}

/// Every file in `tests/vectors` is listed in its `MANIFEST.md` with its size and the first 16
/// hex digits of its SHA-256, and every listed file is there as listed: the provenance cannot
/// drift from the files, and no vector is added or changed without saying where it came from.
#[test]
fn vectors_manifest_matches_files() {
    let dir = vectors_dir();
    let manifest = String::from_utf8(read("MANIFEST.md")).expect("MANIFEST.md is UTF-8");
    let mut listed = BTreeMap::new();
    for line in manifest.lines() {
        // | `path` | bytes | `sha256-prefix…` |
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, path, size, sha, _] = cells[..] else { continue };
        let (Some(path), Ok(size), Some(sha)) = (
            path.strip_prefix('`').and_then(|p| p.strip_suffix('`')),
            size.parse::<u64>(),
            sha.strip_prefix('`').and_then(|s| s.strip_suffix("…`")),
        ) else {
            continue;
        };
        listed.insert(path.to_owned(), (size, sha.to_owned()));
    }
    assert!(listed.len() > 300, "MANIFEST.md lists only {} files", listed.len());
    let mut failures = Vec::new();
    for (path, (size, sha)) in &listed {
        match std::fs::read(dir.join(path)) {
            Err(e) => failures.push(format!("{path}: listed but unreadable: {e}")),
            Ok(bytes) => {
                if bytes.len() as u64 != *size {
                    failures.push(format!("{path}: {} bytes, MANIFEST.md says {size}", bytes.len()));
                }
                let digest = hex::encode(hash::sha256(&[&bytes]));
                if !digest.starts_with(sha.as_str()) {
                    failures.push(format!("{path}: SHA-256 {digest}, MANIFEST.md says {sha}…"));
                }
            }
        }
    }
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read vectors dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(&dir).expect("inside").to_string_lossy().replace('\\', "/");
            if rel != "MANIFEST.md" && !listed.contains_key(&rel) {
                failures.push(format!("{rel}: in tests/vectors but not listed in MANIFEST.md"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "tests/vectors/MANIFEST.md disagrees with the files:\n  {}",
        failures.join("\n  ")
    );
}
