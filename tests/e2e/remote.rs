//! `--server URL` on the commands that read or sign against a ledger: `kpledger serve` on
//! 127.0.0.1 port 0, and the trade signing from their own machines with nothing but their key
//! files: the parcel's head is read from the server with signed requests and the events are
//! submitted to it; the authority enrols and revokes an actor the same way. The server's file
//! then verifies whole. Refusals are clear: a parcel another
//! actor holds (403, exit 1), a key that is not the actor's (401), an event the rules refuse
//! (422, exit 1, the rule codes printed: a stale offer, a consumed parcel), a prefix the server
//! cannot complete,
//! a server that is not there (exit 2).

use std::path::Path;

use crate::serve::Server;
use crate::util::{AUTHORITY, DEALER, EXPORTER, MINER, SITE, Trade};

/// A signing command against the server as `actor`, with only `key`.
fn remote(url: &str, key: &Path, actor: &str, args: &[&str]) -> crate::util::Cmd {
    let mut cmd = kp!();
    for a in args {
        cmd = cmd.arg(a);
    }
    cmd.arg("--server").arg(url).arg("--key").arg(key).arg("--as").arg(actor)
}

#[test]
fn a_dealer_hands_over_splits_and_merges_against_the_server_with_only_its_key() {
    let t = Trade::new("remote");
    // The server names its ledger in its checkpoints: the authority publishes one.
    kp!("log", "publish", "--ledger", &t.ledger, "--key", &t.nma).run().ok();
    let mut server = Server::start(&t.ledger);
    let url = server.url.clone();

    // The miner registers a parcel from its own machine.
    let time = t.tick();
    let v = remote(
        &url,
        &t.miner,
        MINER,
        &[
            "extract", "--site", SITE, "--weight", "12.34", "--stones", "9", "--hs", "7102.31", "--time",
            &time, "--json",
        ],
    )
    .run()
    .ok()
    .json();
    assert_eq!(v["ok"], true, "{v}");
    let p = v["parcels"][0].as_str().unwrap().to_owned();

    // It offers the parcel to the dealer: the head read from the server, the offer posted there.
    let time = t.tick();
    remote(
        &url,
        &t.miner,
        MINER,
        &["handover", "offer", "--parcel", &p, "--to", DEALER, "--price", "3566.26", "--time", &time],
    )
    .run()
    .ok()
    .stdout_has("posted to");
    // The dealer finds it among the offers addressed to it, re-weighs and accepts.
    let list = remote(&url, &t.dealer, DEALER, &["get", "/v1/offers"]).run().ok().json();
    let hash = list["offers"][0]["hash"].as_str().unwrap().to_owned();
    let offer = t.dir.join("offer.json");
    let path = format!("/v1/offers/{hash}");
    remote(&url, &t.dealer, DEALER, &["get", &path, "--out", offer.to_str().unwrap()]).run().ok();
    let time = t.tick();
    let accept = ["handover", "accept", offer.to_str().unwrap(), "--weight", "12.30", "--time", &time];
    remote(&url, &t.dealer, DEALER, &accept).run().ok().stdout_has("recorded handover as event #");
    // The same acceptance again is recorded once (submission is idempotent); another weighing of
    // the same offer is a second spend of the parcel's head, refused by the server's rules.
    remote(&url, &t.dealer, DEALER, &accept).run().ok().stdout_has("recorded before: nothing to do");
    let again = ["handover", "accept", offer.to_str().unwrap(), "--weight", "12.29", "--time", &time];
    remote(&url, &t.dealer, DEALER, &again).run().code(1).stderr_has("refused").stderr_has("error CH-");

    // The dealer splits the parcel by size and merges the parts back, as its holder.
    let time = t.tick();
    let out = remote(
        &url,
        &t.dealer,
        DEALER,
        &["split", "--parcel", &p, "--into", "7.20", "--into", "5.10", "--time", &time, "--print-new"],
    )
    .run();
    let parts: Vec<String> = out.ok().stdout.lines().map(str::to_owned).collect();
    assert_eq!(parts.len(), 2, "{}", out.stdout);
    // Signed with --out, submitted later.
    let merge = t.dir.join("merge.json");
    let time = t.tick();
    remote(
        &url,
        &t.dealer,
        DEALER,
        &[
            "merge",
            "--parcel",
            &parts[0],
            "--parcel",
            &parts[1],
            "--time",
            &time,
            "--out",
            merge.to_str().unwrap(),
        ],
    )
    .run()
    .ok()
    .stdout_has("kpledger submit --server");
    kp!("submit", "--server", &url, &merge).run().ok().stdout_has("recorded");
    let merged = kp!("parcel", "list", "--ledger", &t.ledger, "--holder", DEALER, "--json").run().ok().json();
    let merged = merged[0]["id"].as_str().unwrap().to_owned();

    // Its state and provenance, read from the server.
    let show = remote(&url, &t.dealer, DEALER, &["parcel", "show", &merged, "--json"]).run().ok().json();
    assert_eq!(show["holder"], DEALER, "{show}");
    assert_eq!(show["weight_pt"], 1230, "{show}");
    remote(&url, &t.dealer, DEALER, &["parcel", "history", &merged])
        .run()
        .ok()
        .stdout_has("provenance of parcel")
        .stdout_has("extraction")
        .stdout_has("handover")
        .stdout_has("split")
        .stdout_has("merge");

    // Refusals, each said plainly.
    remote(&url, &t.exporter, EXPORTER, &["parcel", "show", &merged]).run().code(1).stderr_has("403");
    remote(&url, &t.miner, DEALER, &["parcel", "show", &merged]).run().code(2).stderr_has("401");
    remote(&url, &t.dealer, DEALER, &["parcel", "show", &merged[..18]])
        .run()
        .code(2)
        .stderr_has("whole parcel id");
    let time = t.tick();
    remote(
        &url,
        &t.dealer,
        DEALER,
        &["split", "--parcel", &p, "--into", "1", "--into", "1", "--time", &time],
    )
    .run()
    .code(1)
    .stderr_has("refused")
    .stderr_has("error ");
    kp!("split", "--server", &url, "--key", &t.dealer, "--parcel", &merged, "--into", "1", "--into", "1")
        .run()
        .code(2)
        .stderr_has("give --as ACTOR");

    // The authority works from its own machine too: it enrols a dealer, then revokes it.
    let bah = t.dir.join("bah.pem");
    kp!("key", "new", &bah).run().ok();
    let pubkey = crate::util::pub_of(&bah);
    let time = t.tick();
    remote(
        &url,
        &t.nma,
        AUTHORITY,
        &[
            "actor",
            "enrol",
            "--id",
            "sl.dealer.bah",
            "--name",
            "Bah Diamonds",
            "--role",
            "dealer",
            "--country",
            "SL",
            "--pubkey",
            pubkey.to_str().unwrap(),
            "--licence",
            "NMA/DL/2026/077",
            "--class",
            "dealer",
            "--valid-from",
            "2026-01-01",
            "--valid-to",
            "2026-12-31",
            "--time",
            &time,
        ],
    )
    .run()
    .ok()
    .stdout_has("recorded enrol");
    let time = t.tick();
    remote(
        &url,
        &t.nma,
        AUTHORITY,
        &["actor", "revoke", "--actor", "sl.dealer.bah", "--reason", "licence withdrawn", "--time", &time],
    )
    .run()
    .ok()
    .stdout_has("recorded revoke");

    let bundle = t.dir.join("bundle.json");
    remote(
        &url,
        &t.dealer,
        DEALER,
        &["bundle", "--certificate", "SL-2026-000404", "--out", bundle.to_str().unwrap()],
    )
    .run()
    .code(2)
    .stderr_has("404");
    assert!(!bundle.exists(), "nothing is written when the server has no such bundle");

    server.kill();
    remote(&url, &t.dealer, DEALER, &["parcel", "show", &merged]).run().code(2).stderr_has("could not reach");
    let time = t.tick();
    remote(&url, &t.dealer, DEALER, &["seal", "--parcel", &merged, "--seal", "SL-1", "--time", &time])
        .run()
        .code(2)
        .stderr_has("could not reach");

    // Everything the trade signed is in the server's file, and it verifies.
    kp!("verify", "--ledger", &t.ledger).run().ok().stdout_has("VERIFIED");
    let history = kp!("parcel", "history", &merged, "--ledger", &t.ledger, "--json").run().ok().json();
    assert_eq!(history.as_array().unwrap().len(), 4, "extraction, handover, split, merge: {history}");
}
