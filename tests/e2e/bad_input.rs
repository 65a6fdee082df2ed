//! Bad input: exit 2 ("could not run") with a message that says what is wrong — never a
//! panic, and never a change to any file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::util::{
    DEALER, SITE, TempDir, Trade, copy_ledger, init, licence_2026, pub_of, site_in_sl, snapshot,
};

/// A trade ledger with one parcel offered by the miner to the dealer (`offer.json`) and the
/// dealer's signed acceptance at 2.99 ct (`handover.json`), not yet ingested.
fn with_handover(tag: &str) -> (Trade, PathBuf, PathBuf) {
    let t = Trade::new(tag);
    let parcel = t.extract("3.00", "2");
    let offer = t.dir.join("offer.json");
    let handover = t.dir.join("handover.json");
    t.offer(&t.miner, &parcel, DEALER, "100", &offer);
    signed!(t, &t.dealer, "handover", "accept", &offer, "--weight", "2.99", "--out", &handover).run().ok();
    (t, offer, handover)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `text` with `from` replaced by `to`, exactly once.
#[track_caller]
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} should occur once in {text}");
    text.replace(from, to)
}

#[test]
fn event_files_that_are_not_valid_signed_events() {
    let (t, offer, handover) = with_handover("bad-events");
    let event = String::from_utf8(read(&handover)).unwrap();
    let not_event = "is not a valid signed kpledger event";
    let not_offer_hint = "this is a handover offer";
    let half = &event[..event.len() / 2];
    // Keys are in canonical (sorted) order: the handover's own weight is the last field of
    // its body, and the offer's weight (3.00 ct) the last of the offer's body.
    let duplicated = edit(&event, r#"{"body":{"kind":"handover","#, r#"{"body":{"kind":"handover","v":1,"#);
    let float = edit(&event, r#""weight_pt":299}"#, r#""weight_pt":299.5}"#);
    let exponent = edit(&event, r#""weight_pt":299}"#, r#""weight_pt":2.99e2}"#);
    let garbage: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let second_line_bad = format!("{}\n{{\"hello\":1}}\n", event.trim_end());
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("truncated.json", half.as_bytes().to_vec(), vec![not_event, "not valid JSON"]),
        ("prose.json", b"Parcel 12.34 ct, Koidu, 2 March\n".to_vec(), vec![not_event, "not valid JSON"]),
        ("empty.json", Vec::new(), vec![not_event]),
        ("garbage.json", garbage, vec![not_event]),
        ("hello.json", br#"{"hello":1}"#.to_vec(), vec![not_event, "schema"]),
        ("list.json", b"[]".to_vec(), vec![not_event]),
        ("duplicate.json", duplicated.into_bytes(), vec![not_event, "duplicate key"]),
        ("float.json", float.into_bytes(), vec![not_event, "whole numbers"]),
        ("exponent.json", exponent.into_bytes(), vec![not_event]),
        ("two.jsonl", second_line_bad.into_bytes(), vec![not_event, "two.jsonl (event 2)"]),
    ];
    let before = snapshot(&t.ledger);
    for (name, bytes, phrases) in &cases {
        let file = t.dir.join(name);
        std::fs::write(&file, bytes).unwrap();
        let out = kp!("ingest", "--ledger", &t.ledger, &file).run();
        out.cannot_run(phrases).stderr_has(name);
        // Only an offer gets the hint that it is an offer; a handover *event* embeds an
        // offer but is not one.
        out.stderr_lacks(not_offer_hint);
        kp!("ingest", "--ledger", &t.ledger, "--dry-run", "--json", &file).run().cannot_run(&[not_event]);
    }
    // An offer is not an event: the message says what to do with it.
    kp!("ingest", "--ledger", &t.ledger, &offer).run().cannot_run(&[not_event, "handover accept"]);
    kp!("ingest", "--ledger", &t.ledger, t.dir.join("nowhere.json")).run().cannot_run(&["nowhere.json"]);
    kp!("ingest", "--ledger", &t.ledger, t.dir.path()).run().cannot_run(&["cannot read"]);
    assert_eq!(before, snapshot(&t.ledger), "bad input must leave the ledger as it was");
    // The good file still goes in.
    kp!("ingest", "--ledger", &t.ledger, &handover).run().ok();
}

#[test]
fn offers_and_policies_that_are_not_what_they_claim() {
    let (t, offer, handover) = with_handover("bad-offers");
    let before = snapshot(&t.ledger);
    let accept = |file: &Path| signed!(t, &t.dealer, "handover", "accept", file,).run();
    // A handover event where an offer is expected.
    accept(&handover).cannot_run(&["is not a valid handover offer"]);
    // An offer whose price was changed after the holder signed it.
    let forged = t.dir.join("forged.json");
    let text = String::from_utf8(read(&offer)).unwrap();
    std::fs::write(&forged, edit(&text, r#""price_usd_cents":10000,"#, r#""price_usd_cents":100,"#)).unwrap();
    accept(&forged).cannot_run(&["signature", "does not verify"]);
    let hello = t.dir.join("hello.json");
    std::fs::write(&hello, r#"{"hello":1}"#).unwrap();
    accept(&hello).cannot_run(&["is not a valid handover offer"]);
    signed!(t, &t.nma, "policy", "set", &hello).run().cannot_run(&["is not a valid policy file"]);
    assert_eq!(before, snapshot(&t.ledger));
}

#[test]
fn keys_of_the_wrong_kind() {
    let t = Trade::new("bad-keys");
    let before = snapshot(&t.ledger);
    let enrol = |pubkey: &Path| {
        signed!(
            t,
            &t.nma,
            "actor",
            "enrol",
            "--id",
            "sl.dealer.bah",
            "--name",
            "Bah",
            "--role",
            "dealer",
            "--country",
            "SL",
            "--pubkey",
            pubkey,
        )
        .args(licence_2026("NMA/DL/9", "dealer"))
        .run()
    };
    // Private keys where the public key is expected: made by openssl, and by kpledger.
    enrol(&t.dealer).cannot_run(&["PRIVATE key", "public key"]);
    enrol(&t.miner).cannot_run(&["PRIVATE key", "public key"]);
    let text = t.dir.join("notes.txt");
    std::fs::write(&text, "my key is in the safe\n").unwrap();
    enrol(&text).cannot_run(&["notes.txt", "public key"]);
    enrol(&t.dir.join("missing.pub")).cannot_run(&["missing.pub"]);
    // A public key where the private key is needed to sign.
    let extract =
        |key: &Path| signed!(t, key, "extract", "--site", SITE, "--weight", "1", "--stones", "1").run();
    extract(&pub_of(&t.miner)).cannot_run(&["PUBLIC key", "private key"]);
    extract(&text).cannot_run(&["notes.txt", "private key"]);
    assert_eq!(before, snapshot(&t.ledger));
}

#[test]
fn a_locked_ledger_gives_exit_2_after_the_wait() {
    let (t, _, handover) = with_handover("locked");
    let extract = || {
        signed!(t, &t.miner, "extract", "--site", SITE, "--weight", "1.00", "--stones", "1", "--wait", "1")
            .run()
    };
    {
        let holder = Connection::open(&t.ledger).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        holder.execute("DELETE FROM meta", []).unwrap(); // uncommitted; must never be seen
        let start = Instant::now();
        extract().cannot_run(&["locked"]);
        kp!("ingest", "--ledger", &t.ledger, "--wait", "1", &handover).run().cannot_run(&["locked"]);
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(30),
            "--wait 1 should give up after about a second, took {took:?}"
        );
        holder.execute_batch("ROLLBACK").unwrap();
    }
    // Once the lock is gone, the same commands work.
    extract().ok();
    kp!("ingest", "--ledger", &t.ledger, "--wait", "1", &handover).run().ok();
    kp!("verify", "--ledger", &t.ledger).run().ok();
}

#[test]
fn a_ledger_from_a_newer_kpledger_is_refused_and_left_alone() {
    let t = Trade::new("newer");
    let newer = t.dir.join("newer.kpl");
    copy_ledger(&t.ledger, &newer);
    Connection::open(&newer).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let bytes = read(&newer);
    kp!("verify", "--ledger", &newer).run().cannot_run(&["newer", "upgrade kpledger"]);
    kp!("verify", "--ledger", &newer, "--json").run().cannot_run(&["newer"]);
    kp!("parcel", "list", "--ledger", &newer).run().cannot_run(&["newer"]);
    one_stone(&t, &newer).run().cannot_run(&["newer"]);
    assert!(read(&newer) == bytes, "kpledger must not change a ledger it cannot read");
}

#[test]
fn files_that_are_not_ledgers() {
    let t = Trade::new("not-ledgers");
    let dir = &t.dir;
    let text = dir.join("notes.kpl");
    std::fs::write(&text, "custody notes, not a ledger\n").unwrap();
    let empty = dir.join("empty.kpl");
    std::fs::write(&empty, "").unwrap();
    let foreign = dir.join("inventory.db");
    {
        let c = Connection::open(&foreign).unwrap();
        c.execute_batch(
            "CREATE TABLE parcels(id TEXT PRIMARY KEY, carats REAL); INSERT INTO parcels VALUES ('a', 1.5);",
        )
        .unwrap();
    }
    let subdir = TempDir::new("not-a-file");
    let cases: [(&Path, &str); 4] = [
        (&text, "not an SQLite database"),
        (&empty, "empty"),
        (&foreign, "not one made by kpledger"),
        (subdir.path(), "not a regular file"),
    ];
    for (path, why) in cases {
        let before = if path.is_file() { read(path) } else { Vec::new() };
        let phrases = ["not a kpledger ledger", why];
        kp!("verify", "--ledger", path).run().cannot_run(&phrases);
        kp!("verify", "--ledger", path, "--json").run().cannot_run(&phrases);
        kp!("parcel", "list", "--ledger", path).run().cannot_run(&phrases);
        one_stone(&t, path).run().cannot_run(&phrases);
        if path.is_file() {
            assert!(read(path) == before, "kpledger changed {}, which is not its ledger", path.display());
        }
    }
    // `init` never overwrites anything.
    let init = |ledger: &Path| init(ledger, "kpledger.sl/other", ["sl.nma", "NMA", "SL"], &t.nma).run();
    init(&foreign).cannot_run(&["already exists"]);
    init(&t.ledger).cannot_run(&["already exists"]);

    // A path where there is nothing: exit 2, and nothing is created there.
    let missing = dir.join("missing.kpl");
    kp!("verify", "--ledger", &missing).run().cannot_run(&["no ledger at", "missing.kpl"]);
    let event = dir.join("extraction.json");
    signed!(t, &t.miner, "extract", "--site", SITE, "--weight", "1", "--stones", "1", "--out", &event)
        .run()
        .ok();
    kp!("ingest", "--ledger", &missing, &event).run().cannot_run(&["no ledger at"]);
    kp!(
        "extract",
        "--ledger",
        &missing,
        "--key",
        &t.miner,
        "--time",
        t.tick(),
        "--site",
        SITE,
        "--weight",
        "1",
        "--stones",
        "1"
    )
    .run()
    .cannot_run(&["no ledger at"]);
    assert!(!missing.exists(), "a command on a missing ledger must not create it");
}

#[test]
fn usage_errors_give_exit_2_and_help_gives_exit_0() {
    let dir = TempDir::new("usage");
    let run = |args: &[&str]| {
        let mut cmd = kp!();
        for a in args {
            cmd = cmd.arg(a);
        }
        cmd.cwd(dir.path()).run()
    };
    for (args, phrase) in [
        (&["frobnicate"][..], "unrecognized subcommand"),
        (&[][..], "Usage"),
        (&["verify"][..], "Usage"),
        (&["extract", "--ledger", "x.kpl", "--key", "k.pem", "--site", "s", "--weight", "1"][..], "--stones"),
        (
            &[
                "extract", "--ledger", "x.kpl", "--key", "k.pem", "--site", "s", "--weight", "1", "--stones",
                "many",
            ][..],
            "many",
        ),
        (&["split", "--ledger", "x.kpl", "--key", "k.pem", "--parcel", "019d0000-0000-7000"][..], "--into"),
        (&["verify", "--ledger", "x.kpl", "--frobnicate"][..], "--frobnicate"),
        (&["key"][..], "Usage"),
    ] {
        let out = run(args);
        out.code(2).stderr_has(phrase).check(out.stdout.is_empty(), "usage errors go to stderr");
    }
    let help = run(&["--help"]);
    help.ok().stdout_has("Exit codes").stdout_has("0 success").stdout_has("2 could not run");
    for cmd in ["verify", "demo", "ingest", "extract", "handover"] {
        run(&[cmd, "--help"]).ok().stdout_has("Usage");
    }
    run(&["--version"]).ok().stdout_has("kpledger");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "usage errors must create no file");
}

/// What a person types is signed in Unicode NFC (docs/SPEC.md §7): a name typed with
/// decomposed accents is recorded composed; an invisible or bidirectional character in a name,
/// and a certificate or seal number that is not visible ASCII, are refused before anything is
/// signed (exit 2, the ledger unchanged).
#[test]
fn typed_text_is_normalised_and_look_alike_identifiers_are_refused() {
    let t = Trade::new("typed-text");
    let site = |id: &str, name: &str, region: &str| {
        signed!(t, &t.nma, "site", "add").args(site_in_sl(id, name, region)).run()
    };
    site("sl.kono.societe-1", "Socie\u{301}te\u{301} mine", "Kono").ok();
    let c = Connection::open(&t.ledger).unwrap();
    let doc: String =
        c.query_row("SELECT doc FROM events WHERE doc LIKE '%sl.kono.societe-1%'", [], |r| r.get(0)).unwrap();
    assert!(doc.contains("Soci\u{e9}t\u{e9} mine") && !doc.contains('\u{301}'), "{doc}");
    drop(c);

    let before = snapshot(&t.ledger);
    site("sl.kono.tongo-9", "Tongo \u{202e}9 dleif", "Kono").cannot_run(&["acceptable text", "U+202E"]);
    site("sl.kono.tongo-9", "Tongo field 9", "Ko\u{2060}no").cannot_run(&["acceptable text", "U+2060"]);
    let parcel = t.extract("1.25", "3");
    let after_extract = snapshot(&t.ledger);
    assert_ne!(before, after_extract);
    let seal = |seal: &str| signed!(t, &t.nma, "seal", "--parcel", &parcel, "--seal", seal).run();
    seal("SL-SEAL\u{200b}-2026-0101").cannot_run(&["certificate or seal number"]);
    seal("sl-seal-2026-0101").cannot_run(&["certificate or seal number", "capitals"]);
    signed!(t, &t.nma, "certificate", "export", "--number", "SL-2026\u{2060}-004600")
        .run()
        .cannot_run(&["certificate or seal number"]);
    assert_eq!(snapshot(&t.ledger), after_extract, "a refused input changed the ledger");
}

/// The miner's extraction of one stone of 1 ct at Koidu, on the ledger file at `ledger`.
fn one_stone(t: &Trade, ledger: &Path) -> crate::util::Cmd {
    kp!("extract", "--ledger", ledger, "--key", &t.miner, "--time", t.tick())
        .args(["--site", SITE, "--weight", "1", "--stones", "1"])
}
