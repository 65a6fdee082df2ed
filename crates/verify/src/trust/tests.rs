use super::*;
use kpledger_model::SecretKey;

fn key(n: u8) -> PublicKey {
    SecretKey::from_seed(&[n; 32]).public()
}

const ORIGIN: &str = "kpledger.mru/regional";

fn sample() -> String {
    format!(
        "# MRU regional ledger, as Antwerp trusts it\n\
         log {}\n\
         \n\
         witness sl {}\n\
         witness lr {} https://witness.example/lr\n\
         \twitness gn   {}\n\
         group west 2 sl lr gn\n\
         group all-of-it any west\n\
         quorum all-of-it\n\
         {ISSUER_KEYWORD} SL {}\n\
         {ISSUER_KEYWORD} LR {}\n",
        log_vkey(ORIGIN, key(1)).unwrap().to_vkey(),
        witness_vkey("sl.nma", key(2)).unwrap().to_vkey(),
        witness_vkey("lr.mme", key(3)).unwrap().to_vkey(),
        witness_vkey("gn.mines", key(4)).unwrap().to_vkey(),
        issuer_vkey("sl.nma", key(2)).unwrap().to_vkey(),
        issuer_vkey("lr.mme", key(3)).unwrap().to_vkey(),
    )
}

fn set(v: &[usize]) -> BTreeSet<usize> {
    v.iter().copied().collect()
}

#[test]
fn reads_the_sample_and_round_trips() {
    let p = TrustPolicy::parse(sample().as_bytes()).unwrap();
    assert_eq!(p.logs().len(), 1);
    assert_eq!(p.log_keys(ORIGIN), vec![key(1)]);
    assert!(p.log_keys("kpledger.sl/national").is_empty());
    assert_eq!(p.witnesses().len(), 3);
    assert_eq!(p.witnesses()[1].url.as_deref(), Some("https://witness.example/lr"));
    assert_eq!(p.issuers().len(), 2);
    assert_eq!(p.issuers()[0].line, 10);
    let sl = Country::new("SL").unwrap();
    assert_eq!(p.issuers_for(&sl).map(|i| i.actor.as_str()).collect::<Vec<_>>(), ["sl.nma"]);
    assert!(!p.quorum_met(&set(&[])));
    assert!(!p.quorum_met(&set(&[2])));
    assert!(p.quorum_met(&set(&[0, 2])));
    assert!(p.quorum_met(&set(&[0, 1, 2])));
    assert_eq!(p.quorum_text(), "group all-of-it (1 of west)");
    let again = TrustPolicy::parse(p.to_text().as_bytes()).unwrap();
    assert!(again.same_as(&p));
    assert_eq!(again.to_text(), p.to_text());
}

#[test]
fn quorum_none_and_single_witness() {
    let w = witness_vkey("lr.mme", key(3)).unwrap().to_vkey();
    let p = TrustPolicy::parse(b"quorum none\n").unwrap();
    assert!(p.quorum_met(&set(&[])));
    let p = TrustPolicy::parse(format!("witness lr {w}\nquorum lr").as_bytes()).unwrap();
    assert!(!p.quorum_met(&set(&[])));
    assert!(p.quorum_met(&set(&[0])));
    assert_eq!(p.to_text(), format!("witness lr {w}\nquorum lr\n"));
}

/// Each malformed policy is refused, naming the lines at fault.
#[test]
fn refusals_name_their_lines() {
    let log = log_vkey(ORIGIN, key(1)).unwrap().to_vkey();
    let w2 = witness_vkey("sl.nma", key(2)).unwrap().to_vkey();
    let w1 = witness_vkey("mru.secretariat", key(1)).unwrap().to_vkey();
    let i1 = issuer_vkey("mru.secretariat", key(1)).unwrap().to_vkey();
    let i2 = issuer_vkey("sl.nma", key(2)).unwrap().to_vkey();
    let log_as_witness_type = witness_vkey(ORIGIN, key(1)).unwrap().to_vkey();
    let cases: Vec<(String, Vec<usize>, &str)> = vec![
        (
            format!("log {log}\nquorum none\n{ISSUER_KEYWORD} SL {i1}\n"),
            vec![1, 3],
            "log's root key and as a certificate issuer",
        ),
        (format!("log {log}\nwitness w {w1}\nquorum w\n"), vec![1, 2], "a log cannot witness itself"),
        (format!("quorum none\nlog {log}\nlog {log}\n"), vec![2, 3], "log key is listed twice"),
        (format!("witness a {w2}\nwitness b {w2}\nquorum a\n"), vec![1, 2], "witness key is listed twice"),
        (format!("witness a {w2}\nwitness a {w1}\nquorum a\n"), vec![1, 2], "defined twice"),
        (
            format!("{ISSUER_KEYWORD} SL {i2}\n{ISSUER_KEYWORD} LR {i2}\nquorum none\n"),
            vec![1, 2],
            "issuer key is listed twice",
        ),
        (format!("witness a {w2}\nquorum a\nquorum none\n"), vec![2, 3], "exactly one `quorum`"),
        ("log\nquorum none\n".to_owned(), vec![1], "expected `log"),
        (format!("log {log_as_witness_type}\nquorum none\n"), vec![1], "signature type 0x04"),
        (format!("witness a {log}\nquorum a\n"), vec![1], "signature type 0x01"),
        ("log kpledger+00000000+AAAA\nquorum none\n".to_owned(), vec![1], "not a C2SP verifier key"),
        ("quorum nobody\n".to_owned(), vec![1], "not a witness or group"),
        (format!("witness a {w2}\ngroup g 2 a\nquorum g\n"), vec![2], "threshold"),
        (format!("witness a {w2}\ngroup g 01 a\nquorum g\n"), vec![2], "threshold"),
        (format!("witness a {w2}\ngroup g 0 a\nquorum g\n"), vec![2], "threshold"),
        (format!("witness a {w2}\ngroup g any a a\nquorum g\n"), vec![2], "listed twice"),
        (format!("witness a {w2}\ngroup g any\nquorum g\n"), vec![2], "at least one member"),
        (
            format!("witness a {w2}\ngroup g any a none\nquorum g\n"),
            vec![2],
            "`none` cannot be a group member",
        ),
        (format!("group g any a\nwitness a {w2}\nquorum g\n"), vec![1], "defined on an earlier line"),
        (format!("witness none {w2}\nquorum none\n"), vec![1], "reserved"),
        (format!("{ISSUER_KEYWORD} sl {i2}\nquorum none\n"), vec![1], "country code"),
        (
            format!(
                "{ISSUER_KEYWORD} SL {}\nquorum none\n",
                issuer_vkey("SL.NMA", key(2)).unwrap().to_vkey()
            ),
            vec![1],
            "actor id",
        ),
        ("quorum none\r\n".to_owned(), vec![1], "carriage return"),
        ("quorum none\nwitnesses a b\n".to_owned(), vec![2], "unknown keyword"),
        ("# only a comment\n".to_owned(), vec![], "no `quorum` line"),
        ("quorum none\n\u{1}\n".to_owned(), vec![2], "control character"),
    ];
    for (text, lines, contains) in cases {
        let e = TrustPolicy::parse(text.as_bytes()).expect_err(&text);
        assert_eq!(e.lines, lines, "{text:?}: {e}");
        assert!(e.to_string().contains(contains), "{text:?}: {e}");
    }
    let e = TrustPolicy::parse(b"quorum none\n\xff\n").unwrap_err();
    assert_eq!(e.lines, vec![2]);
    assert!(TrustPolicy::parse(&vec![b'#'; MAX_POLICY_BYTES + 1]).is_err());
}

/// A vkey of signature type `t` (kpledger verifies 0x01 and 0x04 only).
fn vkey_of_type(name: &str, t: u8, len: usize) -> String {
    use base64::Engine as _;
    let mut data = vec![t];
    data.extend(std::iter::repeat_n(7u8, len));
    let id = kpledger_model::note::KeyId::compute(name, t, &data[1..]);
    format!("{name}+{id}+{}", base64::engine::general_purpose::STANDARD.encode(&data))
}

/// Log and witness lines whose keys kpledger does not verify (an ML-DSA-44 cosignature
/// key, type 0x06 here) are read, never refused; such a witness can be named in groups but
/// never counts toward a quorum; the text round-trips.
#[test]
fn key_types_kpledger_does_not_verify_are_read() {
    let log = log_vkey(ORIGIN, key(1)).unwrap().to_vkey();
    let w = witness_vkey("lr.mme", key(3)).unwrap().to_vkey();
    let pq = vkey_of_type("pq.example/witness", 0x06, 1312);
    let pq_log = vkey_of_type("pq.example/log", 0x06, 1312);
    let text = format!(
        "log {log}\nlog {pq_log} https://pq.example/log\nwitness lr {w} https://lr.example/witness\nwitness pq {pq}\n\
         group g 2 lr pq\nquorum g\n"
    );
    let p = TrustPolicy::parse(text.as_bytes()).unwrap();
    assert_eq!(p.witnesses().len(), 2);
    assert!(p.witnesses()[1].key.is_none());
    assert_eq!(p.witness_keys().len(), 1);
    assert_eq!(p.unverifiable_logs().len(), 1);
    assert_eq!(p.unverifiable_log_names().collect::<Vec<_>>(), ["pq.example/log"]);
    assert!(p.log_keys("pq.example/log").is_empty());
    assert!(!p.quorum_met(&set(&[0])), "the post-quantum witness can never be counted");
    assert!(p.quorum_met(&set(&[0, 1])));
    assert!(TrustPolicy::parse(p.to_text().as_bytes()).unwrap().same_as(&p));
    // Twice the same unverifiable key is still a duplicate; a malformed vkey is still refused.
    let twice = format!("witness a {pq}\nwitness b {pq}\nquorum none\n");
    assert_eq!(TrustPolicy::parse(twice.as_bytes()).unwrap_err().lines, vec![1, 2]);
    let parts: Vec<&str> = pq.splitn(3, '+').collect();
    let broken = format!("witness a {}+00000000+{}\nquorum none\n", parts[0], parts[2]);
    assert!(TrustPolicy::parse(broken.as_bytes()).unwrap_err().to_string().contains("key ID"));
    // A witness URL is its tlog-witness submission prefix: http or https.
    let ftp = format!("witness lr {w} ftp://lr.example/\nquorum lr\n");
    let e = TrustPolicy::parse(ftp.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("submission prefix"), "{e}");
}

#[test]
fn error_text_lists_lines() {
    assert_eq!(err(&[3], "x").to_string(), "trust policy line 3: x");
    assert_eq!(err(&[9, 2], "x").to_string(), "trust policy lines 2 and 9: x");
    assert_eq!(err(&[1, 2, 3], "x").to_string(), "trust policy lines 1, 2 and 3: x");
    assert_eq!(err(&[], "x").to_string(), "trust policy: x");
}
