//! Messages that point at the real mistake (issue #15, item 7): each test makes the mistake a
//! person makes and checks the words and the exit code of the answer.

use crate::util::{EXPORTER, SITE, TempDir, Trade, base64, enrol, pub_of};

/// A demo directory: `kpledger-demo/` with its ledger, keys, bundles and trust policy.
fn demo(tag: &str) -> TempDir {
    let d = TempDir::new(tag);
    kp!("demo", d.join("kpledger-demo")).run().ok();
    d
}

/// Verifies the demo's bundle under the demo's trust `policy` with lr.mme's witness key
/// replaced by `vkey` (the policy edited is written to `file`).
fn verify_with_witness_key(d: &TempDir, policy: &str, vkey: &str, file: &str) -> crate::util::Out {
    let edited: String = policy
        .lines()
        .map(|l| if l.starts_with("witness lr.mme ") { format!("witness lr.mme {vkey}") } else { l.to_owned() } + "\n")
        .collect();
    std::fs::write(d.join(file), edited).unwrap();
    kp!("verify", d.join("kpledger-demo/bundles/SL-2026-004312.json"), "--policy", d.join(file)).run()
}

#[test]
fn a_mistyped_witness_in_the_trust_policy_is_named_against_the_checkpoints_cosigners() {
    let d = demo("msg-witness");
    let policy = std::fs::read_to_string(d.join("kpledger-demo/trust-policy.txt")).unwrap();
    // The importer typed lr.mmx for lr.mme: the name is part of the key, so its key differs.
    let typo = kp!("trust", "witness", "--name", "lr.mmx", d.join("kpledger-demo/keys/lr.mme.pub")).run();
    let typo_line = typo.ok().stdout.trim().to_owned();
    let vkey = typo_line.split_whitespace().last().unwrap().to_owned();
    let out = verify_with_witness_key(&d, &policy, &vkey, "typo-policy.txt");
    out.code(1)
        .stdout_has("the trust policy's witnesses (")
        .stdout_has("lr.mmx key ")
        .stdout_has("do not match the checkpoint's cosigners (lr.mme key ")
        .stdout_has("as the bundle names them, unverified")
        .stdout_has("Never take a key from the bundle");
    assert!(!out.stdout.contains("export the bundle again"), "{}", out.stdout);

    // The bundle chooses the lines listed: a bundle padded with a dozen made-up cosigners
    // gets a short message all the same.
    let bundle_path = d.join("kpledger-demo/bundles/SL-2026-004312.json");
    let mut bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle_path).unwrap()).unwrap();
    let mut note = bundle["log"]["checkpoint"].as_str().unwrap().to_owned();
    for i in 0..12 {
        let sig = base64(&[i as u8; 68]);
        note.push_str(&format!("— made.up{i} {sig}\n"));
    }
    bundle["log"]["checkpoint"] = serde_json::Value::String(note);
    std::fs::write(d.join("padded.json"), serde_json::to_vec(&bundle).unwrap()).unwrap();
    let out = kp!("verify", d.join("padded.json"), "--policy", d.join("typo-policy.txt")).run();
    out.code(1).stdout_has("and 5 more, as the bundle names them");

    // The right name with a wrong key (a key file mixed up): the same answer.
    let other = d.join("other.pem");
    kp!("key", "new", &other).run().ok();
    let wrong_key = kp!("trust", "witness", "--name", "lr.mme", pub_of(&other)).run();
    let vkey = wrong_key.ok().stdout.split_whitespace().last().unwrap().to_owned();
    let out = verify_with_witness_key(&d, &policy, &vkey, "key-policy.txt");
    out.code(1).stdout_has("do not match the checkpoint's cosigners (lr.mme key ");
    let line = out.stdout.lines().find(|l| l.contains("do not match")).unwrap();
    let pinned = line.split("witnesses (").nth(1).unwrap().split(')').next().unwrap();
    let cosigners = line.split("cosigners (").nth(1).unwrap().split(')').next().unwrap();
    assert!(
        pinned.contains("lr.mme key ") && !pinned.contains(cosigners),
        "both keys are shown, and differ: {line}"
    );
}

#[test]
fn witness_cosign_without_a_proof_says_one_is_required_and_writes_nothing() {
    let t = Trade::new("msg-proof");
    let witness = t.dir.join("lr.pem");
    kp!("key", "new", &witness).run().ok();
    t.extract("12.34", "9");
    let publish = |out: &str| {
        kp!("log", "publish", "--ledger", &t.ledger, "--key", &t.nma, "--out", t.dir.join(out)).run().ok();
    };
    let cosign = |cp: &str, out: &str| t.cosign(&witness, &t.dir.join(cp), out, "2026-03-05T08:00:00Z").run();
    publish("cp1.txt");
    cosign("cp1.txt", "cp1-cosigned.txt").ok();
    let state = std::fs::read(t.dir.join("lr-witness.json")).unwrap();
    t.extract("3.00", "2");
    publish("cp2.txt");
    let out = cosign("cp2.txt", "cp2-cosigned.txt");
    out.code(2)
        .stderr_has("a consistency proof is required")
        .stderr_has("already cosigned size ")
        .stderr_has("kpledger log prove-consistency --from ")
        .stderr_lacks("rewrote its history");
    assert!(!t.dir.join("cp2-cosigned.txt").exists(), "nothing is cosigned");
    assert_eq!(std::fs::read(t.dir.join("lr-witness.json")).unwrap(), state, "the state is unchanged");
    let evidence: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("refused"))
        .collect();
    assert!(evidence.is_empty(), "no refusal evidence is written");
}

#[test]
fn witness_cosign_time_is_iso_8601_and_unix_seconds_are_refused_with_the_same_instant() {
    let t = Trade::new("msg-unix");
    let witness = t.dir.join("lr.pem");
    kp!("key", "new", &witness).run().ok();
    kp!("log", "publish", "--ledger", &t.ledger, "--key", &t.nma, "--out", t.dir.join("cp.txt")).run().ok();
    let cosign = |time: &str| t.cosign(&witness, &t.dir.join("cp.txt"), "out.txt", time).run();
    cosign("1773216000").code(2).stderr_has("write --time 2026-03-11T08:00:00Z for the same instant");
    assert!(!t.dir.join("lr-witness.json").exists() && !t.dir.join("out.txt").exists(), "nothing written");
    cosign("2026-03-11T08:00:00Z").ok().stdout_has("cosigned checkpoint");
    // Every other --time too.
    on!(t, &t.miner, "extract", "--site", SITE, "--weight", "1", "--stones", "1", "--time", "1773216000")
        .run()
        .code(2)
        .stderr_has("write --time 2026-03-11T08:00:00Z");
}

#[test]
fn a_mistyped_actor_id_suggests_the_enrolled_ones_without_internal_prefixes() {
    let t = Trade::new("msg-actor");
    let typo = &EXPORTER[..EXPORTER.len() - 1];
    let unknown = "019d0000-0000-7000-8000-000000000001";
    let issue = |exporter: &str, country: &str| {
        on!(t, &t.nma, "certificate", "issue", "--number", "SL-2026-000001", "--exporter", exporter)
            .args(["--parcel", unknown, "--importer-name", "Diamcor", "--importer-address", "Antwerp"])
            .args(["--importer-country", country, "--time", "2026-03-05T08:00:00Z"])
            .run()
    };
    let out = issue(typo, "be");
    out.code(2)
        .stderr_has(&format!("--exporter {typo}: no actor {typo} is enrolled"))
        .stderr_has(&format!("did you mean {EXPORTER}?"));
    out.stderr_lacks("scenario value");
    // The exporter right, the parcel unknown: said plainly too.
    issue(EXPORTER, "BE")
        .code(2)
        .stderr_has("no parcel id in")
        .stderr_has(unknown)
        .stderr_lacks("scenario value");
    // Another actor-id flag, --to, the same way.
    let p = t.extract("2.00", "1");
    on!(t, &t.miner, "handover", "offer", "--parcel", &p, "--to", "sl.dealer.kamra", "--price", "10")
        .arg("--out")
        .arg(t.dir.join("o.json"))
        .args(["--time", "2026-03-05T09:00:00Z"])
        .run()
        .code(2)
        .stderr_has("did you mean sl.dealer.kamara?");
    assert!(!t.dir.join("o.json").exists());
    // --as, --actor and a listing's --holder filter (a typo there would list nothing).
    on!(t, &t.miner, "extract", "--as", "sl.miner.koroma2", "--site", SITE, "--weight", "1", "--stones", "1")
        .args(["--time", "2026-03-05T09:10:00Z"])
        .run()
        .code(2)
        .stderr_has("--as sl.miner.koroma2: no actor sl.miner.koroma2 is enrolled")
        .stderr_has("did you mean sl.miner.koroma?");
    on!(t, &t.nma, "actor", "revoke", "--actor", "sl.dealer.kamarra", "--reason", "test")
        .args(["--time", "2026-03-05T09:20:00Z"])
        .run()
        .code(2)
        .stderr_has("did you mean sl.dealer.kamara?");
    kp!("parcel", "list", "--ledger", &t.ledger, "--holder", "sl.miner.koromma")
        .run()
        .code(2)
        .stderr_has("did you mean sl.miner.koroma?");
    kp!("parcel", "list", "--ledger", &t.ledger, "--holder", "nobody.at.all")
        .run()
        .code(2)
        .stderr_has("`kpledger actor list` shows who is");
    kp!("parcel", "list", "--ledger", &t.ledger, "--holder", "sl.miner.koroma")
        .run()
        .ok()
        .stdout_has(&p[..18]);
}

#[test]
fn a_decimal_comma_is_answered_with_the_dotted_number_and_countries_are_read_in_capitals() {
    let t = Trade::new("msg-comma");
    on!(t, &t.miner, "extract", "--site", SITE, "--weight", "12,5", "--stones", "3")
        .args(["--time", "2026-03-05T08:00:00Z"])
        .run()
        .code(2)
        .stderr_has("use a dot: 12.5");
    let p = t.extract("2.00", "1");
    t.handover(&p, &t.miner, &t.dealer, "1500,25")
        .args(["--time", "2026-03-05T09:00:00Z"])
        .run()
        .code(2)
        .stderr_has("use a dot: 1500.25");
    let issuer = kp!("trust", "issuer", "--country", "sl", "--actor", "sl.nma", pub_of(&t.nma)).run();
    issuer.ok().stdout_has("kpledger-issuer SL ");
    let k = t.dir.join("new.pem");
    kp!("key", "new", &k).run().ok();
    let pmt = ["sl.pmt", "PMT", "valuer", "sl"];
    enrol(&t.ledger, &t.nma, pmt, &pub_of(&k)).args(["--time", "2026-03-05T10:00:00Z"]).run().ok();
    kp!("actor", "list", "--ledger", &t.ledger).run().ok().stdout_has("valuer     SL");
}

#[test]
fn verify_uses_every_flag_it_is_given() {
    let d = demo("msg-verify");
    let ledger = d.join("kpledger-demo/ledger.kpl");
    // --trust with --ledger pins the genesis key: a key that is not the root's fails.
    kp!("verify", "--ledger", &ledger, "--trust", d.join("kpledger-demo/keys/sl.nma.pub"))
        .run()
        .code(1)
        .stdout_has("LOG-2 the ledger's root authority key");
    // The root's key pins the log: no LOG-2 (the certificates' issuers, not given, are KP-7).
    let o =
        kp!("verify", "--ledger", &ledger, "--trust", d.join("kpledger-demo/keys/mru.secretariat.pub")).run();
    o.no_panic();
    assert!(!o.stdout.contains("LOG-2"), "{}", o.stdout);
    // A bundle and --ledger together: one of them would be ignored; refused instead.
    kp!(
        "verify",
        d.join("kpledger-demo/bundles/SL-2026-004312.json"),
        "--ledger",
        &ledger,
        "--policy",
        d.join("kpledger-demo/trust-policy.txt")
    )
    .run()
    .code(2)
    .stderr_has("'[BUNDLE]' cannot be used with '--ledger <LEDGER>'");
    // --wait is about the ledger's lock: given with a bundle it would do nothing; refused.
    kp!(
        "verify",
        d.join("kpledger-demo/bundles/SL-2026-004312.json"),
        "--policy",
        d.join("kpledger-demo/trust-policy.txt"),
        "--wait",
        "9"
    )
    .run()
    .code(2)
    .stderr_has("--ledger");
    kp!("verify", "--ledger", &ledger, "--wait", "9").run().ok();
}

#[test]
fn a_db1_finding_shows_where_two_values_alike_at_first_differ() {
    let t = Trade::new("msg-db1");
    let p = t.extract("2.00", "1");
    let c = rusqlite::Connection::open(&t.ledger).unwrap();
    // The stored head hash changed in its last byte only: its first 16 bytes are the same.
    let mut head: Vec<u8> =
        c.query_row("SELECT head FROM parcels WHERE id = ?1", [&p], |r| r.get(0)).unwrap();
    head[31] ^= 1;
    c.execute("UPDATE parcels SET head = ?1 WHERE id = ?2", rusqlite::params![head, p]).unwrap();
    drop(c);
    let out = kp!("verify", "--ledger", &t.ledger).run();
    out.code(1).stdout_has("DB-1").stdout_has("(they differ from byte 32 of 32)");
    let line = out.stdout.lines().find(|l| l.contains("they differ from")).unwrap().to_owned();
    assert!(line.contains(&p[..8]) || line.contains("column head"), "{line}");
    // The two shown values differ.
    let shown: Vec<&str> = line.split("x'").skip(1).map(|s| s.split('\'').next().unwrap()).collect();
    assert_eq!(shown.len(), 2, "{line}");
    assert_ne!(shown[0], shown[1], "{line}");

    // A text column alike in its first 60 characters (a parcel's JSON document, edited near
    // its end): shown from a little before the first character that differs.
    let c = rusqlite::Connection::open(&t.ledger).unwrap();
    head[31] ^= 1;
    c.execute("UPDATE parcels SET head = ?1 WHERE id = ?2", rusqlite::params![head, p]).unwrap();
    let n = c
        .execute(
            "UPDATE parcels SET doc = replace(doc, '\"stones\":1,', '\"stones\":2,') WHERE id = ?1",
            [&p],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(c);
    let out = kp!("verify", "--ledger", &t.ledger).run();
    out.code(1).stdout_has("column doc is …").stdout_has("(they differ from character ");
    let line = out.stdout.lines().find(|l| l.contains("column doc")).unwrap().to_owned();
    assert!(line.contains(r#"\"stones\":2"#) && line.contains(r#"\"stones\":1"#), "{line}");
}

#[test]
fn a_country_in_small_letters_is_read_in_capitals_in_a_certificate() {
    let t = Trade::new("msg-country");
    let p = t.extract("5.00", "3");
    let hand = |from: &std::path::Path, to: &std::path::Path| {
        t.handover(&p, from, to, "1000").arg("--time").arg(t.tick()).run().ok();
    };
    hand(&t.miner, &t.dealer);
    hand(&t.dealer, &t.exporter);
    let values = ["--exporter", "1500", "--government", "1600", "--independent", "1550"];
    signed!(t, &t.valuer, "value", "--parcel", &p).args(values).run().ok();
    signed!(t, &t.nma, "seal", "--parcel", &p, "--seal", "SL-SEAL-2026-0009").run().ok();
    signed!(t, &t.nma, "certificate", "issue", "--number", "SL-2026-000009", "--parcel", &p)
        .args(["--exporter", EXPORTER, "--importer-name", "Diamcor Rough Trading NV"])
        .args(["--importer-address", "Antwerp", "--importer-country", "be"])
        .run()
        .ok();
    kp!("certificate", "list", "--ledger", &t.ledger).run().ok().stdout_has("(BE)");
}

#[test]
fn policy_show_prints_the_repository_policy_and_names_the_countries_it_carries() {
    let out = kp!("policy", "show", "sl").run();
    out.ok();
    assert_eq!(out.stdout, std::fs::read_to_string(crate::util::policy_file("SL")).unwrap());
    kp!("policy", "show", "BE").run().code(2).stderr_has("the binary carries those of SL, LR, GN, CI");
}
