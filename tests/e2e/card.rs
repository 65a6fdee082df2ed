//! Parcel cards (docs/SPEC.md §14.6): the authority writes a card from the ledger; the holder
//! and the buyer sign from it, in directories that hold no ledger; the authority ingests what
//! they signed. Cards whose facts, proof or key are wrong, and cards made stale by a later
//! event, are refused.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{Cmd, Out, TempDir};

const PARCEL: &str = "019d0000-0000-7000-8000-0000000000c1";

/// The demo ledger, a new parcel extracted by the miner Koroma (12.34 ct, 9 stones) and a
/// checkpoint covering it.
struct World {
    d: TempDir,
    ledger: PathBuf,
    keys: PathBuf,
    policy: PathBuf,
}

impl World {
    fn new(tag: &str) -> World {
        let d = TempDir::new(tag);
        let demo = d.join("demo");
        kp!("demo", &demo, "--parcels", "8").run().ok();
        let w = World {
            ledger: demo.join("ledger.kpl"),
            keys: demo.join("keys"),
            policy: demo.join("trust-policy.txt"),
            d,
        };
        // Koroma's new parcel, 12.34 ct, 9 stones.
        let parcel = ["--site", "sl.kono.koidu-12", "--weight", "12.34", "--stones", "9", "--hs", "7102.31"];
        kp!("extract", "--ledger", &w.ledger, "--key", w.key("sl.miner.koroma"))
            .args(parcel)
            .args(["--parcel", PARCEL, "--time", "2026-03-22T09:00:00Z"])
            .run()
            .ok();
        w.publish();
        w
    }

    fn key(&self, actor: &str) -> PathBuf {
        self.keys.join(format!("{actor}.pem"))
    }

    /// `value`'s arguments for the PMT's valuation of the parcel (its key, the three values,
    /// the time), without the ledger or card it reads.
    fn pmt_valuation(&self) -> Vec<std::ffi::OsString> {
        let mut args = vec![std::ffi::OsString::from("--key"), self.key("sl.pmt").into_os_string()];
        args.extend(
            ["--parcel", PARCEL, "--exporter", "4100", "--government", "4264", "--independent", "4182"]
                .into_iter()
                .chain(["--time", "2026-03-22T11:00:00Z"])
                .map(Into::into),
        );
        args
    }

    /// The dealer Kamara offers the parcel of the card at `card` to Kono Gems for US$0.01,
    /// signing offline into `out`.
    fn dealer_offer(&self, card: &Path, out: &Path) -> Cmd {
        offer(card, self.key("sl.dealer.kamara"), "sl.exporter.kono-gems", "1", out)
            .arg("--policy")
            .arg(&self.policy)
    }

    fn publish(&self) {
        kp!("log", "publish", "--ledger", &self.ledger, "--key", self.key("mru.secretariat")).run().ok();
    }

    /// A directory with no ledger in it, for a party that signs offline.
    fn desk(&self, name: &str) -> PathBuf {
        let p = self.d.join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// The authority writes the parcel's card.
    fn card(&self, name: &str) -> PathBuf {
        let out = self.d.join(name);
        kp!("parcel", "card", PARCEL, "--ledger", &self.ledger, "--out", &out)
            .run()
            .ok()
            .stdout_has(&format!("card of parcel {PARCEL}"));
        out
    }

    fn offer(&self, card: &Path, seller: &str, buyer: &str, time: &str, out: &Path) -> Out {
        offer(card, self.key(seller), buyer, "3566.26", out)
            .arg("--policy")
            .arg(&self.policy)
            .args(["--time", time])
            .cwd(&self.desk("seller"))
            .run()
    }

    fn accept(&self, offer: &Path, card: &Path, buyer: &str, time: &str, out: &Path) -> Out {
        accept(offer, card, self.key(buyer), out)
            .arg("--policy")
            .arg(&self.policy)
            .args(["--time", time])
            .cwd(&self.desk("buyer"))
            .run()
    }

    fn ingest(&self, file: &Path) -> Out {
        kp!("ingest", "--ledger", &self.ledger, file).run()
    }
}

/// `handover offer` signed offline with `key`: the parcel of `card` to `to` for `price` (US$),
/// into `out`. Add the trust the card is checked under (`--policy` or `--log-key`).
fn offer(
    card: impl AsRef<OsStr>,
    key: impl AsRef<OsStr>,
    to: &str,
    price: &str,
    out: impl AsRef<OsStr>,
) -> Cmd {
    kp!("handover", "offer", "--card", card, "--key", key, "--out", out).args(["--to", to, "--price", price])
}

/// `handover accept` of `offer` signed offline with `key`, from `card`, into `out`. Add the
/// trust the card is checked under.
fn accept(
    offer: impl AsRef<OsStr>,
    card: impl AsRef<OsStr>,
    key: impl AsRef<OsStr>,
    out: impl AsRef<OsStr>,
) -> Cmd {
    kp!("handover", "accept", offer, "--card", card, "--key", key, "--out", out)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn write_json(p: &Path, v: &Value) {
    std::fs::write(p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// The flow: the seller offers with the card only, the buyer accepts with the card
/// only, the authority ingests; then the buyer splits the parcel and merges the parts, each
/// from new cards; the ledger verifies.
#[test]
fn offline_trade_from_cards_is_recorded_and_verifies() {
    let w = World::new("card-flow");
    let card = w.card("card-1.json");
    // Each party holds the card, the trust policy and its own key, and nothing of the ledger:
    // the authority's directory is out of reach while they sign.
    let (seller, buyer) = (w.desk("seller"), w.desk("buyer"));
    for (desk, actor) in [(&seller, "sl.miner.koroma"), (&buyer, "sl.dealer.kamara")] {
        for (from, to) in
            [(card.clone(), "card.json"), (w.policy.clone(), "trust-policy.txt"), (w.key(actor), "key.pem")]
        {
            std::fs::copy(&from, desk.join(to)).unwrap();
        }
    }
    let away = w.d.join("authority-elsewhere");
    std::fs::rename(w.d.join("demo"), &away).unwrap();
    offer("card.json", "key.pem", "sl.dealer.kamara", "3566.26", "offer.json")
        .args(["--policy", "trust-policy.txt", "--time", "2026-03-22T10:00:00Z"])
        .cwd(&seller)
        .run()
        .ok()
        .stdout_has("offer of parcel")
        .stdout_has("proven under the checkpoint");
    std::fs::copy(seller.join("offer.json"), buyer.join("offer.json")).unwrap();
    accept("offer.json", "card.json", "key.pem", "handover.json")
        .args(["--policy", "trust-policy.txt", "--time", "2026-03-22T10:30:00Z"])
        .cwd(&buyer)
        .run()
        .ok()
        .stdout_has("signed handover");
    std::fs::rename(&away, w.d.join("demo")).unwrap();
    w.ingest(&buyer.join("handover.json")).ok().stdout_has("recorded handover");

    // The buyer, now the holder, splits from a fresh card.
    w.publish();
    let card2 = w.card("card-2.json");
    let split = w.d.join("split.json");
    kp!(
        "split",
        "--card",
        &card2,
        "--log-key",
        w.keys.join("mru.secretariat.pub"),
        "--key",
        w.key("sl.dealer.kamara"),
        "--parcel",
        &PARCEL[..8],
        "--into",
        "7.20",
        "--into",
        "5.14",
        "--time",
        "2026-03-22T12:00:00Z",
        "--out",
        &split
    )
    .cwd(&w.desk("buyer"))
    .run()
    .ok()
    .stdout_has("signed split");
    w.ingest(&split).ok().stdout_has("recorded split");

    // And merges the two parts back, from their two cards.
    w.publish();
    let list = kp!("parcel", "list", "--ledger", &w.ledger, "--holder", "sl.dealer.kamara", "--json").run();
    let parts: Vec<String> =
        list.ok().json().as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(parts.len(), 2, "{list}");
    let part_cards: Vec<PathBuf> = parts
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let out = w.d.join(format!("part-{i}.json"));
            kp!("parcel", "card", id, "--ledger", &w.ledger, "--out", &out).run().ok();
            out
        })
        .collect();
    let merge = w.d.join("merge.json");
    let merge_cmd = |cards: &[&PathBuf]| {
        let mut c = kp!(
            "merge",
            "--policy",
            &w.policy,
            "--key",
            w.key("sl.dealer.kamara"),
            "--time",
            "2026-03-22T13:00:00Z",
            "--out",
            &merge
        )
        .cwd(&w.desk("buyer"));
        for card in cards {
            c = c.arg("--card").arg(card);
        }
        c.run()
    };
    merge_cmd(&[&part_cards[0], &part_cards[0]]).cannot_run(&["two cards are of parcel"]);
    // The stale card of the parcel before it was sold and split: another holder.
    merge_cmd(&[&part_cards[0], &card]).cannot_run(&["only one holder merges"]);
    assert!(!merge.exists());
    merge_cmd(&[&part_cards[0], &part_cards[1]]).ok().stdout_has("signed merge");
    w.ingest(&merge).ok().stdout_has("recorded merge");
    let verified = kp!("verify", "--ledger", &w.ledger).run();
    verified.ok().stdout_has("VERIFIED");
}

/// The valuer values and the authority seals, each from a card: they name themselves with
/// --as (the ledger is not there to find the actor from the key); the valuer gives the final
/// value and the duty, which ingest checks against the policy in force (EX-2).
#[test]
fn valuer_and_authority_sign_from_cards() {
    let w = World::new("card-seal");
    let card = w.card("card-1.json");
    let value = |out: &Path, extra: &[&str]| {
        let mut c = kp!("value", "--card", &card, "--policy", &w.policy, "--out", out)
            .args(w.pmt_valuation())
            .cwd(&w.desk("pmt"));
        for a in extra {
            c = c.arg(a);
        }
        c.run()
    };
    let valuation = w.d.join("valuation.json");
    value(&valuation, &["--as", "sl.pmt"]).cannot_run(&["give --final and --duty", "EX-2"]);
    value(&valuation, &["--final", "4264", "--duty", "127.92"]).cannot_run(&["give --as ACTOR"]);
    assert!(!valuation.exists(), "nothing is written when the command cannot run");
    // A duty below the country's rate is signed offline, and refused at ingest.
    let low = w.d.join("valuation-low-duty.json");
    value(&low, &["--as", "sl.pmt", "--final", "4264", "--duty", "1.00"]).ok();
    w.ingest(&low).code(1).stderr_has("EX-2");
    value(&valuation, &["--as", "sl.pmt", "--final", "4264", "--duty", "127.92"])
        .ok()
        .stdout_has("signed valuation");
    w.ingest(&valuation).ok().stdout_has("recorded valuation");

    w.publish();
    let card = w.card("card-2.json");
    let seal = w.d.join("seal.json");
    let base = kp!(
        "seal",
        "--card",
        &card,
        "--policy",
        &w.policy,
        "--key",
        w.key("sl.nma"),
        "--parcel",
        PARCEL,
        "--seal",
        "SL-SEAL-2026-0777",
        "--time",
        "2026-03-22T12:00:00Z",
        "--out",
        &seal
    );
    base.run().cannot_run(&["give --as ACTOR"]);
    assert!(!seal.exists(), "nothing is written when the signer is unknown");
    base.arg("--as").arg("sl.nma").cwd(&w.desk("nma")).run().ok().stdout_has("signed seal");
    w.ingest(&seal).ok().stdout_has("recorded seal");
    kp!("verify", "--ledger", &w.ledger).run().ok().stdout_has("VERIFIED");
}

/// Cards whose facts were edited, whose proof is for another checkpoint, that are checked
/// under an untrusted key, or that are not consistent with their signed events: each refused
/// with its rule, nothing signed.
#[test]
fn altered_cards_are_refused_and_nothing_is_signed() {
    let w = World::new("card-attacks");
    let card = w.card("card.json");
    let good = read_json(&card);
    let offer_file = w.d.join("offer.json");
    let try_offer = |name: &str, v: &Value| {
        let f = w.d.join(name);
        write_json(&f, v);
        let out = w.offer(&f, "sl.miner.koroma", "sl.dealer.kamara", "2026-03-22T10:00:00Z", &offer_file);
        assert!(!offer_file.exists(), "nothing may be signed from a refused card ({name})");
        out
    };

    // A buyer looks at a card before negotiating: what it proves, what it only states.
    kp!("parcel", "check-card", &card, "--policy", &w.policy)
        .run()
        .ok()
        .stdout_has("VALID")
        .stdout_has("holder   sl.miner.koroma")
        .stdout_has("weight   12.34 ct")
        .stdout_has("not proven by the card");

    // Weight inflated: the head extraction's signed bytes say 12.34 ct.
    let mut v = good.clone();
    v["weight_pt"] = 4234.into();
    try_offer("weight.json", &v).code(1).stderr_has("DB-1").stderr_has("weight").stderr_has("42.34 ct");
    kp!("parcel", "check-card", w.d.join("weight.json"), "--policy", &w.policy)
        .run()
        .code(1)
        .stdout_has("NOT VALID")
        .stdout_has("DB-1");
    // Holder changed: the dealer presents the miner's parcel as its own.
    let mut v = good.clone();
    v["holder"] = "sl.dealer.kamara".into();
    let out = w.dealer_offer(&w.d.join("holder.json"), &offer_file);
    write_json(&w.d.join("holder.json"), &v);
    out.run().code(1).stderr_has("DB-1").stderr_has("holder").stderr_has("sl.miner.koroma");
    assert!(!offer_file.exists());
    // Variant: the fact and the signed head event edited together: the signature breaks.
    let mut v = good.clone();
    v["weight_pt"] = 4234.into();
    v["events"][0]["body"]["weight_pt"] = 4234.into();
    try_offer("event.json", &v).code(1).stderr_has("CH-2").stderr_has("does not verify");
    // Variant: the status (a sealed parcel is not tradable; an open one claimed sealed).
    let mut v = good.clone();
    v["status"] = "sealed".into();
    try_offer("status.json", &v).code(1).stderr_has("DB-1").stderr_has("status");
    // Variant: another head hash (e.g. an older event of the parcel).
    let mut v = good.clone();
    v["head"] = "00".repeat(32).into();
    try_offer("head.json", &v).code(1).stderr_has("CH-1");

    // The proof for another checkpoint: the log grows, a new checkpoint is published, and the
    // old card's checkpoint is put with the new card's path (or the other way round).
    kp!("extract", "--ledger", &w.ledger, "--key", w.key("sl.miner.koroma"))
        .args(["--site", "sl.kono.koidu-12", "--weight", "1.00", "--stones", "1"])
        .args(["--time", "2026-03-22T09:30:00Z"])
        .run()
        .ok();
    w.publish();
    let newer = read_json(&w.card("card-newer.json"));
    assert_ne!(newer["log"]["checkpoint"], good["log"]["checkpoint"]);
    let mut v = newer.clone();
    v["log"]["checkpoint"] = good["log"]["checkpoint"].clone();
    try_offer("proof-a.json", &v).code(1).stderr_has("LOG-1").stderr_has("another checkpoint");
    let mut v = good.clone();
    v["log"]["checkpoint"] = newer["log"]["checkpoint"].clone();
    try_offer("proof-b.json", &v).code(1).stderr_has("LOG-1");
    // Variant: a wrong leaf index.
    let mut v = good.clone();
    v["log"]["index"] = (good["log"]["index"].as_u64().unwrap() - 1).into();
    try_offer("index.json", &v).code(1).stderr_has("LOG-1");

    // An untrusted key: the card checked with a key that is not the log's root key.
    let out = offer(&card, w.key("sl.miner.koroma"), "sl.dealer.kamara", "1", &offer_file)
        .arg("--log-key")
        .arg(w.keys.join("sl.nma.pub"))
        .run();
    out.code(1).stderr_has("LOG-2").stderr_has("not a checkpoint of log");
    assert!(!offer_file.exists());
    // Variant: a checkpoint re-signed by a forger's key (its signature line replaced).
    let mut v = good.clone();
    let forged = good["log"]["checkpoint"]
        .as_str()
        .unwrap()
        .replace("— kpledger.mru/regional ", "— kpledger.mru/regional AAAA");
    v["log"]["checkpoint"] = forged.into();
    try_offer("forged.json", &v).code(1).stderr_has("LOG-2");
    // Variant: the card claims another ledger, which the trust policy pins no key for.
    let mut v = good.clone();
    v["ledger"] = "kpledger.forged/national".into();
    try_offer("origin.json", &v).code(1).stderr_has("LOG-2").stderr_has("pins no key");

    // Unreadable cards: exit 2, nothing signed.
    let mut v = good.clone();
    v["price"] = 1.into();
    try_offer("unknown-field.json", &v).cannot_run(&["not a kpledger parcel card"]);
    kp!("parcel", "check-card", w.d.join("unknown-field.json"), "--policy", &w.policy)
        .run()
        .cannot_run(&["not a kpledger parcel card"]);
    let mut v = good.clone();
    v["format"] = "kpledger/card/v0".into();
    try_offer("format.json", &v).cannot_run(&["kpledger/card/v1"]);
    // No trust given: the card is not taken on its own word.
    offer(&card, w.key("sl.miner.koroma"), "sl.dealer.kamara", "1", &offer_file)
        .run()
        .cannot_run(&["--policy FILE", "--log-key KEYFILE"]);
    assert!(!offer_file.exists());
}

/// A card cannot prove that the parcel has not moved since its checkpoint: a holder who has
/// already sold the parcel offers it again from its old card; the second buyer, holding the
/// same stale card, accepts; the ledger refuses the handover (CH-1). And a buyer given a
/// fresh card sees that an offer made from a stale one names an old head, and signs nothing.
#[test]
fn a_stale_card_is_refused_at_ingest() {
    let w = World::new("card-stale");
    let card = w.card("card.json");
    let offer1 = w.d.join("offer-1.json");
    w.offer(&card, "sl.miner.koroma", "sl.dealer.kamara", "2026-03-22T10:00:00Z", &offer1).ok();
    let handover = w.d.join("handover-1.json");
    w.accept(&offer1, &card, "sl.dealer.kamara", "2026-03-22T10:30:00Z", &handover).ok();
    w.ingest(&handover).ok();

    // The miner sells the same parcel again, to another buyer, from the old card.
    let offer2 = w.d.join("offer-2.json");
    w.offer(&card, "sl.miner.koroma", "sl.miner.sesay", "2026-03-22T11:00:00Z", &offer2).ok();
    let handover2 = w.d.join("handover-2.json");
    w.accept(&offer2, &card, "sl.miner.sesay", "2026-03-22T11:30:00Z", &handover2).ok();
    let before = crate::util::snapshot(&w.ledger);
    w.ingest(&handover2).code(1).stderr_has("CH-1");
    assert_eq!(before, crate::util::snapshot(&w.ledger), "a refused ingest leaves the ledger as it was");

    // With a fresh card, the second buyer sees the offer is stale before signing.
    w.publish();
    let fresh = w.card("card-fresh.json");
    let handover3 = w.d.join("handover-3.json");
    w.accept(&offer2, &fresh, "sl.miner.sesay", "2026-03-22T11:30:00Z", &handover3).cannot_run(&["stale"]);
    assert!(!handover3.exists());
    // An offer in the holder's name signed with someone else's key (here the miner Sesay's,
    // who names himself as the holder with --as): the buyer refuses it before paying.
    let forged = w.d.join("offer-forged.json");
    offer(&fresh, w.key("sl.miner.sesay"), "sl.exporter.kono-gems", "1.00", &forged)
        .args(["--as", "sl.dealer.kamara"])
        .arg("--policy")
        .arg(&w.policy)
        .run()
        .ok();
    let handover4 = w.d.join("handover-4.json");
    w.accept(&forged, &fresh, "sl.exporter.kono-gems", "2026-03-22T12:30:00Z", &handover4)
        .cannot_run(&["the offer is not the holder's"]);
    assert!(!handover4.exists());
    // And the miner, no longer the holder, cannot offer from the fresh card.
    w.offer(&fresh, "sl.miner.koroma", "sl.miner.sesay", "2026-03-22T12:00:00Z", &w.d.join("offer-3.json"))
        .cannot_run(&["held by sl.dealer.kamara", "not with this key"]);
    kp!("verify", "--ledger", &w.ledger).run().ok();
}

/// The authority's side: no card for a parcel the ledger does not hold or before a
/// checkpoint covers its latest event; a card is never overwritten.
#[test]
fn parcel_card_needs_a_checkpoint_and_an_existing_parcel() {
    let w = World::new("card-build");
    let unknown = "019d0000-0000-7000-8000-0000000000ff";
    kp!("parcel", "card", unknown, "--ledger", &w.ledger, "--out", w.d.join("x.json"))
        .run()
        .cannot_run(&["no parcel id", "starts with"]);
    let card = w.card("card.json");
    // A unique prefix of the id serves as well (docs/SPEC.md §7.1).
    kp!("parcel", "card", &PARCEL[..8], "--ledger", &w.ledger, "--out", w.d.join("by-prefix.json"))
        .run()
        .ok()
        .stdout_has(PARCEL);
    kp!("parcel", "card", PARCEL, "--ledger", &w.ledger, "--out", &card)
        .run()
        .cannot_run(&["does not overwrite"]);
    // Signing commands that take --card still need --ledger without one, and say so first.
    kp!("split", "--key", "missing.pem", "--parcel", PARCEL, "--into", "1.00", "--into", "2.00")
        .run()
        .cannot_run(&["--ledger FILE", "KPLEDGER_LEDGER"]);
    kp!("value", "--ledger", &w.ledger).args(w.pmt_valuation()).run().ok();
    let out = w.d.join("uncovered.json");
    kp!("parcel", "card", PARCEL, "--ledger", &w.ledger, "--out", &out)
        .run()
        .cannot_run(&["no checkpoint covers", "kpledger log publish"]);
    assert!(!out.exists());
    // After a valuation the head no longer names the holder: the card carries the extraction
    // too, and its reader finds the holder there.
    w.publish();
    let v = read_json(&w.card("card-valued.json"));
    assert_eq!(v["events"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v["holder"], "sl.miner.koroma");
    let mut edited = v.clone();
    edited["holder"] = "sl.dealer.kamara".into();
    let f = w.d.join("edited.json");
    write_json(&f, &edited);
    let offer_file = w.d.join("offer.json");
    w.dealer_offer(&f, &offer_file).run().code(1).stderr_has("DB-1");
    assert!(!offer_file.exists());
    // A card that drops the extraction cannot show who holds the parcel: exit 2.
    let mut short = v.clone();
    short["events"].as_array_mut().unwrap().truncate(1);
    let f = w.d.join("short.json");
    write_json(&f, &short);
    offer(&f, w.key("sl.miner.koroma"), "sl.dealer.kamara", "1", &offer_file)
        .arg("--policy")
        .arg(&w.policy)
        .run()
        .cannot_run(&["end before they fix the parcel's holder"]);
}
