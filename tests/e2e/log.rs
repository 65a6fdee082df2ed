//! The transparency log through the CLI: the root authority publishes checkpoints, a
//! neighbouring authority witnesses them (cosigning only consistent extensions, refusing a
//! fork and keeping the evidence), cosignatures are stored and verified, and proofs verify.

use crate::util::{ORIGIN, Trade, init, pub_of};

/// Enrols Liberia's authority as a witness of the Sierra Leone ledger and returns its key.
fn enrol_witness(t: &Trade) -> std::path::PathBuf {
    let key = t.dir.join("lr-mme.pem");
    kp!("key", "new", &key).run().ok();
    signed!(
        t,
        &t.nma,
        "actor",
        "enrol",
        "--id",
        "lr.mme",
        "--name",
        "Ministry of Mines and Energy of Liberia",
        "--role",
        "authority",
        "--country",
        "LR",
        "--pubkey",
        pub_of(&key)
    )
    .run()
    .ok();
    key
}

fn cosign(
    t: &Trade,
    witness: &std::path::Path,
    checkpoint: &std::path::Path,
    proof: Option<&std::path::Path>,
    out: &str,
) -> crate::util::Out {
    let mut cmd = t.cosign(witness, checkpoint, out, "2026-03-05T08:40:00Z");
    if let Some(p) = proof {
        cmd = cmd.arg("--proof").arg(p);
    }
    cmd.run()
}

#[test]
fn witnessed_checkpoints_and_a_refused_fork() {
    let t = Trade::new("log");
    let witness = enrol_witness(&t);
    t.extract("12.34", "9");

    // First checkpoint: trust on first use.
    let cp1 = t.dir.join("cp1.txt");
    kp!("log", "publish", "--ledger", &t.ledger, "--key", &t.nma, "--out", &cp1)
        .run()
        .ok()
        .stdout_has(ORIGIN);
    cosign(&t, &witness, &cp1, None, "cp1-cosigned.txt").ok().stdout_has("cosigned checkpoint of size");
    let wit = format!("lr.mme={}", pub_of(&witness).display());
    kp!("log", "cosignatures", "--ledger", &t.ledger, t.dir.join("cp1-cosigned.txt"), "--witness", &wit)
        .run()
        .ok()
        .stdout_has("stored 1 new cosignature");

    // More events, a second checkpoint and a consistency proof: the witness cosigns.
    t.extract("8.10", "6");
    let size1 = kp!("log", "head", "--ledger", &t.ledger, "--json").run().ok().json()["checkpoint"]["size"]
        .as_u64()
        .unwrap();
    let cp2 = t.dir.join("cp2.txt");
    kp!("log", "publish", "--ledger", &t.ledger, "--key", &t.nma, "--out", &cp2).run().ok();
    let proof = t.dir.join("proof.json");
    kp!("log", "prove-consistency", "--ledger", &t.ledger, "--from", size1.to_string(), "--out", &proof)
        .run()
        .ok();
    cosign(&t, &witness, &cp2, Some(&proof), "cp2-cosigned.txt").ok();
    kp!("log", "cosignatures", "--ledger", &t.ledger, t.dir.join("cp2-cosigned.txt"), "--witness", &wit)
        .run()
        .ok();
    let head = kp!("log", "head", "--ledger", &t.ledger, "--json").run().ok().json();
    assert!(head["checkpoint"]["note"].as_str().unwrap().contains("— lr.mme "), "{head}");
    kp!("verify", "--ledger", &t.ledger).run().ok();

    // An inclusion proof of the first event, against the whole log.
    let p = kp!("log", "prove-inclusion", "--ledger", &t.ledger, "--seq", "1", "--json").run().ok().json();
    assert_eq!(p["index"], 0, "{p}");
    assert!(p["proof"].as_array().is_some_and(|a| !a.is_empty()), "{p}");

    // A fork: the same authority signs a different history of the same origin. The witness
    // has cosigned cp2; a checkpoint of the other history does not extend it.
    let fork = Trade::new("log-fork");
    std::fs::copy(&t.nma, &fork.nma).unwrap();
    let forked = fork.dir.join("forked.sqlite");
    init(&forked, ORIGIN, ["sl.nma", "National Minerals Agency", "SL"], &t.nma)
        .args(["--time", "2026-03-02T08:00:00Z"])
        .run()
        .ok();
    for i in 0..(size1 + 3) {
        kp!(
            "site",
            "add",
            "--ledger",
            &forked,
            "--key",
            &t.nma,
            "--time",
            "2026-03-02T09:00:00Z",
            "--id",
            format!("sl.fork.{i}"),
            "--name",
            "Forked site",
            "--country",
            "SL",
            "--region",
            "Kono",
            "--location",
            "x",
            "--area-m2",
            "100"
        )
        .run()
        .ok();
    }
    let cp_fork = t.dir.join("cp-fork.txt");
    kp!("log", "publish", "--ledger", &forked, "--key", &t.nma, "--out", &cp_fork).run().ok();
    let out = cosign(&t, &witness, &cp_fork, Some(&proof), "fork-cosigned.txt");
    out.code(1).stderr_has("witness refuses to cosign").stderr_has("evidence");
    out.check(!t.dir.join("fork-cosigned.txt").exists(), "nothing is cosigned on refusal");
    let evidence: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("refused"))
        .collect();
    assert_eq!(evidence.len(), 1, "the witness keeps the evidence of the refused checkpoint");
}

/// An importing authority checks a demo bundle offline under its trust policy: the demo's
/// policy verifies it (exit 0) and names the witnesses whose cosignatures verified; a policy
/// that trusts another authority for Sierra Leone fails it (exit 1, KP-7); a policy whose
/// witness key is not the one that cosigned fails with LOG-3 and names no one; a policy
/// requiring no witness verifies with the warning LOG-4; a policy that cannot be read, or the
/// removed `--witness` flag, cannot run (exit 2), the policy's lines named. The kept `--trust`
/// with Sierra Leone's key alone finds the log not trusted (LOG-2: the log's root is the
/// Secretariat); with the Secretariat's and the issuers' keys it verifies, unwitnessed (LOG-4).
#[test]
fn bundle_verification_through_the_cli() {
    let dir = crate::util::TempDir::new("bundle-cli");
    let demo = dir.join("demo");
    kp!("demo", &demo, "--parcels", "8").run().ok();
    let bundle = demo.join("bundles/SL-2026-004312.json");
    let policy = demo.join("trust-policy.txt");
    let key = |id: &str| demo.join(format!("keys/{id}.pub"));
    kp!("verify", &bundle, "--policy", &policy)
        .run()
        .ok()
        .stdout_has("VERIFIED")
        .stdout_has("cosigned by the trust policy's witnesses: sl.nma, lr.mme, gn.mines, ci.sprpk");
    let v = kp!("verify", &bundle, "--policy", &policy, "--json").run().ok().json();
    assert_eq!(v["witnesses"], serde_json::json!(["sl.nma", "lr.mme", "gn.mines", "ci.sprpk"]), "{v}");
    kp!("trust", "check", &policy).run().ok().stdout_has("quorum: group mru-authorities (4 of");

    // Policies written line by line with `kpledger trust`.
    let line = |args: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut c = kp!("trust");
        for a in args {
            c = c.arg(a);
        }
        let out = c.run();
        out.ok();
        out.stdout.clone()
    };
    let log = line(&[&"log", &"--origin", &"kpledger.mru/regional", &key("mru.secretariat")]);
    let sl = line(&[&"issuer", &"--country", &"SL", &"--actor", &"sl.nma", &key("sl.nma")]);
    let lr = line(&[&"issuer", &"--country", &"LR", &"--actor", &"lr.mme", &key("lr.mme")]);
    let lr_as_sl = line(&[&"issuer", &"--country", &"SL", &"--actor", &"lr.mme", &key("lr.mme")]);
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };

    // Only Liberia's authority is trusted, and for Sierra Leone: KP-7.
    let p = write("lr-for-sl.txt", format!("{log}quorum none\n{lr_as_sl}"));
    kp!("verify", &bundle, "--policy", &p)
        .run()
        .code(1)
        .stdout_has("KP-7")
        .stdout_has("of SL is validated by sl.nma")
        .stdout_has("trusts only lr.mme");

    // The quorum's witness is named lr.mme but pinned with Guinea's key: Liberia's genuine
    // cosignature is by no key of the policy, so it is ignored and no one is named.
    let wrong = line(&[&"witness", &"--name", &"lr.mme", &key("gn.mines")]);
    let p = write("wrong-witness.txt", format!("{log}{wrong}quorum lr.mme\n{sl}{lr}"));
    let out = kp!("verify", &bundle, "--policy", &p, "--json").run();
    out.code(1);
    let v = out.json();
    assert!(v["findings"].as_array().unwrap().iter().any(|f| f["code"] == "LOG-3"), "{v}");
    assert!(v.get("witnesses").is_none(), "no witness is named: {v}");

    // No witness required: verified, and the report says it is not witnessed (LOG-4).
    let p = write("unwitnessed.txt", format!("{log}quorum none\n{sl}{lr}"));
    kp!("verify", &bundle, "--policy", &p).run().ok().stdout_has("VERIFIED").stdout_has("warning LOG-4");

    // Policies that cannot be used: exit 2, naming the lines.
    let as_witness = line(&[&"witness", &"--name", &"mru", &key("mru.secretariat")]);
    let p = write("log-witness.txt", format!("{log}{as_witness}quorum mru\n{sl}"));
    kp!("verify", &bundle, "--policy", &p).run().cannot_run(&["lines 1 and 2", "cannot witness itself"]);
    let root_issuer =
        line(&[&"issuer", &"--country", &"SL", &"--actor", &"mru.secretariat", &key("mru.secretariat")]);
    let p = write("log-issuer.txt", format!("# comment\n{log}quorum none\n{root_issuer}"));
    kp!("verify", &bundle, "--policy", &p)
        .run()
        .cannot_run(&["lines 2 and 4", "log's root key and as a certificate issuer"]);
    kp!("trust", "check", &p).run().cannot_run(&["lines 2 and 4"]);
    let p = write("garbled.txt", format!("{log}quorum none\nissuer SL sl.nma\n"));
    kp!("verify", &bundle, "--policy", &p).run().cannot_run(&["line 3", "unknown keyword"]);
    kp!("verify", &bundle).run().cannot_run(&["--policy"]);
    kp!("verify", &bundle, "--trust", key("sl.nma")).run().code(1).stdout_has("LOG-2");
    // The bundle holds Liberia's certificate of the imported parcel: its issuer's key too.
    kp!("verify", &bundle, "--trust", key("sl.nma"), "--trust", key("mru.secretariat"))
        .run()
        .code(1)
        .stdout_has("certificate LR-2026-000042 of LR is validated by lr.mme");
    kp!(
        "verify",
        &bundle,
        "--trust",
        key("sl.nma"),
        "--trust",
        key("mru.secretariat"),
        "--trust",
        key("lr.mme")
    )
    .run()
    .ok()
    .stdout_has("VERIFIED")
    .stdout_has("LOG-4");
    kp!("verify", &bundle, "--trust", key("sl.nma"), "--policy", &policy)
        .run()
        .cannot_run(&["cannot be used with"]);
    let html = dir.join("report.html");
    kp!(
        "report",
        "--html",
        &html,
        "--bundle",
        &bundle,
        "--trust",
        key("sl.nma"),
        "--witness",
        "lr.mme=x.pub"
    )
    .run()
    .cannot_run(&["were removed"]);
    assert!(!html.exists(), "nothing is written");
}
