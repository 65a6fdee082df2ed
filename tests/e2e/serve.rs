//! `kpledger serve` as a process on 127.0.0.1 port 0: a trade signed by separate client
//! processes, each with only its own key, submitted with `kpledger submit`; the ledger then
//! verifies and a bundle fetched over HTTP verifies offline; `kpledger log tiles` writes the
//! bytes the server serves; the server killed with SIGKILL during a bounded load loses no
//! acknowledged event.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kpledger_core::Ledger;
use kpledger_core::sim::{licence, site};
use kpledger_model::canonical::from_slice_strict;
use kpledger_model::{ParsedEvent, Role, SecretKey};

use crate::util::{
    AUTHORITY, BIN, Clock, DEALER, EXPORTER, KOIDU_SITE, KillOnDrop, MINER, ORIGIN, SITE, TempDir, VALUER,
    child, init, pub_of,
};
use kpledger_testkit::cast::{self, Terms};
use kpledger_testkit::events;

/// A `kpledger serve` child process, killed (SIGKILL) when dropped.
pub(crate) struct Server {
    child: KillOnDrop,
    pub(crate) url: String,
}

impl Server {
    pub(crate) fn start(ledger: &Path) -> Server {
        Server::start_with(ledger, &[])
    }

    pub(crate) fn start_with(ledger: &Path, flags: &[&str]) -> Server {
        Server::start_env(ledger, flags, &[])
    }

    /// As [`Server::start_with`], with these environment variables.
    pub(crate) fn start_env(ledger: &Path, flags: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = child(Path::new(BIN))
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0", "--ledger"])
            .arg(ledger)
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        // "listening on http://127.0.0.1:PORT (ledger FILE)"
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap_or_else(|| panic!("{first}"));
        assert!(url.contains("://127.0.0.1:"), "{first}");
        Server { url: url.to_owned(), child: KillOnDrop(child) }
    }

    pub(crate) fn kill(&mut self) {
        self.child.kill();
    }
}

pub(crate) fn agent() -> ureq::Agent {
    kpledger_testkit::http::agent(Duration::from_secs(30), None)
}

/// A GET signed (RFC 9421) by `actor`: status and body.
fn signed_get(url: &str, actor: &str, key: &Path, nonce: &str) -> (u16, Vec<u8>) {
    let key = SecretKey::read_pem_file(key).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (input, sig) = kpledger_serve::auth::sign_request("GET", url, actor, &key, now, nonce);
    let mut r = agent().get(url).header("signature-input", &input).header("signature", &sig).call().unwrap();
    (r.status().as_u16(), r.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap())
}

/// Keys and a clock for a ledger set up from nothing but `kpledger init`.
struct Desk {
    dir: TempDir,
    ledger: PathBuf,
    office: PathBuf,
    nma: PathBuf,
    miner: PathBuf,
    dealer: PathBuf,
    exporter: PathBuf,
    valuer: PathBuf,
    clock: Clock,
}

impl Desk {
    fn tick(&self) -> String {
        self.clock.tick()
    }
}

#[test]
fn a_trade_signed_by_separate_clients_goes_through_the_server_and_its_bundle_verifies_offline() {
    let dir = TempDir::new("serve-flow");
    let key = |name: &str| dir.join(format!("{name}.pem"));
    let t = Desk {
        ledger: dir.join("sl.kpl"),
        office: key("office"),
        nma: key("nma"),
        miner: key("koroma"),
        dealer: key("kamara"),
        exporter: key("gems"),
        valuer: key("gdo"),
        clock: Clock::default(),
        dir,
    };
    for k in [&t.office, &t.nma, &t.miner, &t.dealer, &t.exporter, &t.valuer] {
        kp!("key", "new", k).run().ok();
    }
    // A new ledger: only its genesis, by the ledger office (the log's root key).
    init(&t.ledger, ORIGIN, ["sl.ledger", "NMA ledger office", "SL"], &t.office)
        .arg("--time")
        .arg(t.tick())
        .run()
        .ok();
    let mut server = Server::start(&t.ledger);
    let url = server.url.clone();
    let n = std::cell::Cell::new(0);
    // One client process signs with its own key (reading the ledger, never writing it),
    // another posts the file to the server.
    let sign_and_submit = |args: &[&str], key: &Path| -> String {
        n.set(n.get() + 1);
        let file = t.dir.join(format!("event-{}.json", n.get()));
        let mut argv: Vec<std::ffi::OsString> = args.iter().map(std::ffi::OsString::from).collect();
        for a in [
            OsStr::new("--ledger"),
            t.ledger.as_os_str(),
            OsStr::new("--key"),
            key.as_os_str(),
            OsStr::new("--out"),
            file.as_os_str(),
        ] {
            argv.push(a.to_owned());
        }
        argv.push("--time".into());
        argv.push(t.tick().into());
        crate::util::Cmd::new(argv).run().ok();
        let out = kp!("submit", "--server", &url, &file).run();
        out.ok().stdout_has("recorded");
        String::from_utf8(std::fs::read(&file).unwrap()).unwrap()
    };
    let pubkey = |k: &Path| pub_of(k).to_string_lossy().into_owned();
    sign_and_submit(
        &[
            "actor",
            "enrol",
            "--id",
            AUTHORITY,
            "--name",
            "National Minerals Agency",
            "--role",
            "authority",
            "--country",
            "SL",
            "--pubkey",
            &pubkey(&t.nma),
        ],
        &t.office,
    );
    sign_and_submit(&["policy", "set", crate::util::policy_file("SL").to_str().unwrap()], &t.nma);
    sign_and_submit(&[&["site", "add"][..], &KOIDU_SITE].concat(), &t.nma);
    for (id, role, k, class, number, site) in [
        (MINER, "miner", &t.miner, "artisanal", "NMA/AM/2026/114", Some(SITE)),
        (DEALER, "dealer", &t.dealer, "dealer", "NMA/DL/2026/031", None),
        (EXPORTER, "exporter", &t.exporter, "exporter", "NMA/EX/2026/007", None),
        (VALUER, "valuer", &t.valuer, "valuer", "NMA/GV/2026/002", None),
    ] {
        let pk = pubkey(k);
        let mut args = vec![
            "actor",
            "enrol",
            "--id",
            id,
            "--name",
            id,
            "--role",
            role,
            "--country",
            "SL",
            "--pubkey",
            &pk,
            "--licence",
            number,
            "--class",
            class,
            "--valid-from",
            "2026-01-01",
            "--valid-to",
            "2026-12-31",
        ];
        if let Some(s) = site {
            args.extend(["--site", s]);
        }
        sign_and_submit(&args, &t.nma);
    }
    let p = "0195f3a2-7c1e-7a00-8000-0000000000a1";
    sign_and_submit(
        &["extract", "--site", SITE, "--weight", "12.34", "--stones", "9", "--hs", "7102.31", "--parcel", p],
        &t.miner,
    );
    // The dealer signs two acceptances of the same offer (two weighings) against the same
    // head: the first recorded is the parcel's next event, the second is refused (exit 1,
    // the rule codes printed): a double spend does not get through the server.
    // The holder whose key is `key` offers the parcel to `to` for `price`, into `out`.
    let offer_to = |key: &Path, to: &str, price: &str, out: &Path| {
        signed!(t, key, "handover", "offer", "--parcel", p, "--to", to, "--price", price, "--out", out)
            .run()
            .ok();
    };
    let offer = t.dir.join("offer-first.json");
    offer_to(&t.miner, DEALER, "3566.26", &offer);
    let (a1, a2) = (t.dir.join("accept-1.json"), t.dir.join("accept-2.json"));
    let time = t.tick();
    for (f, w) in [(&a1, "12.34"), (&a2, "12.33")] {
        kp!(
            "handover", "accept", &offer, "--ledger", &t.ledger, "--key", &t.dealer, "--time", &time,
            "--weight", w, "--out", f
        )
        .run()
        .ok();
    }
    kp!("submit", "--server", &url, &a1).run().ok().stdout_has("recorded");
    let refused = kp!("submit", "--server", &url, &a2).run();
    refused.code(1).stderr_has("refused").stderr_has("error CH-");
    // The dealer sells to the exporter through the server: the offer is posted, the exporter
    // finds it among the offers addressed to it, fetches it, re-weighs and signs the handover.
    let offer = t.dir.join("offer-to-exporter.json");
    offer_to(&t.dealer, EXPORTER, "4100", &offer);
    kp!("submit", "--server", &url, &offer).run().ok().stdout_has("waiting");
    let list =
        kp!("get", "--server", &url, "--key", &t.exporter, "--as", EXPORTER, "/v1/offers").run().ok().json();
    let hash = list["offers"][0]["hash"].as_str().unwrap().to_owned();
    assert_eq!(list["offers"][0]["offer"]["body"]["to"], EXPORTER);
    let fetched_offer = t.dir.join("fetched-offer.json");
    kp!(
        "get",
        "--server",
        &url,
        "--key",
        &t.exporter,
        "--as",
        EXPORTER,
        format!("/v1/offers/{hash}"),
        "--out",
        &fetched_offer
    )
    .run()
    .ok();
    sign_and_submit(
        &["handover", "accept", fetched_offer.to_str().unwrap(), "--weight", "12.34"],
        &t.exporter,
    );
    let list =
        kp!("get", "--server", &url, "--key", &t.exporter, "--as", EXPORTER, "/v1/offers").run().ok().json();
    assert_eq!(list["offers"].as_array().unwrap().len(), 0, "the offer is spent");
    sign_and_submit(
        &["value", "--parcel", p, "--exporter", "5900", "--government", "6140.20", "--independent", "6020"],
        &t.valuer,
    );
    sign_and_submit(&["seal", "--parcel", p, "--seal", "SL-SEAL-2026-0101"], &t.nma);
    let number = "SL-2026-004312";
    sign_and_submit(
        &[
            "certificate",
            "issue",
            "--number",
            number,
            "--exporter",
            EXPORTER,
            "--parcel",
            p,
            "--importer-name",
            "Diamcor Rough Trading NV",
            "--importer-address",
            "Hoveniersstraat 22, Antwerp",
            "--importer-country",
            "BE",
        ],
        &t.nma,
    );
    sign_and_submit(&["certificate", "export", "--number", number], &t.nma);
    // A retried submission is idempotent: the same file again records nothing.
    let last = t.dir.join(format!("event-{}.json", n.get()));
    kp!("submit", "--server", &url, &last).run().ok().stdout_has("already recorded");
    // No checkpoint covers the parcel's latest event yet: the service has no card for it (409).
    let card_path = format!("/v1/parcels/{p}/card");
    kp!("get", "--server", &url, "--key", &t.exporter, "--as", EXPORTER, &card_path)
        .run()
        .code(2)
        .stderr_has("409")
        .stderr_has("no checkpoint covers");
    // The authority publishes a checkpoint while the server runs (another writer, briefly).
    kp!("log", "publish", "--ledger", &t.ledger, "--key", &t.office).run().ok();
    // Now the holder fetches the parcel's card over HTTP: the same document the authority writes
    // from the ledger file (`kpledger parcel card`), and it checks under the log's key, so a
    // party signs its next event from it with no ledger file (docs/SPEC.md §14.6).
    let (served, written) = (t.dir.join("card-served.json"), t.dir.join("card-written.json"));
    kp!("get", "--server", &url, "--key", &t.exporter, "--as", EXPORTER, &card_path, "--out", &served)
        .run()
        .ok();
    kp!("parcel", "card", p, "--ledger", &t.ledger, "--out", &written).run().ok();
    let as_json = |f: &Path| serde_json::from_slice::<serde_json::Value>(&std::fs::read(f).unwrap()).unwrap();
    assert_eq!(as_json(&served), as_json(&written));
    kp!("parcel", "check-card", &served, "--log-key", pub_of(&t.office)).run().ok();
    // The exporter fetches its certificate's bundle over HTTP; a dealer may not.
    let bundle_url = format!("{url}/v1/certificates/{number}/bundle");
    let (status, _) = signed_get(&bundle_url, DEALER, &t.dealer, "d-1");
    assert_eq!(status, 403);
    let (status, bundle) = signed_get(&bundle_url, EXPORTER, &t.exporter, "e-1");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bundle));
    let bundle_file = t.dir.join("bundle.json");
    std::fs::write(&bundle_file, &bundle).unwrap();
    // The importer's trust policy: the log's key and the issuing authority's.
    let log_line = kp!("trust", "log", "--origin", ORIGIN, pub_of(&t.office)).run().ok().stdout.clone();
    let issuer = kp!("trust", "issuer", "--country", "SL", "--actor", AUTHORITY, pub_of(&t.nma))
        .run()
        .ok()
        .stdout
        .clone();
    let policy = t.dir.join("policy.txt");
    std::fs::write(&policy, format!("{log_line}quorum none\n{issuer}")).unwrap();
    kp!("verify", &bundle_file, "--policy", &policy).run().ok();
    // The same with `kpledger get` (the CLI signs the request): the exporter may, the dealer
    // may not (exit 1).
    let path = format!("/v1/certificates/{number}/bundle");
    let fetched = t.dir.join("fetched.json");
    kp!("get", "--server", &url, "--key", &t.exporter, "--as", EXPORTER, &path, "--out", &fetched).run().ok();
    kp!("verify", &fetched, "--policy", &policy).run().ok();
    kp!("get", "--server", &url, "--key", &t.dealer, "--as", DEALER, &path).run().code(1).stderr_has("403");
    kp!("get", "--server", &url, "--key", &t.dealer, "--as", EXPORTER, &path).run().code(2).stderr_has("401");
    // The parcel's head, as its holder (the exporter) needs it to sign the next event.
    let (status, body) = signed_get(&format!("{url}/v1/parcels/{p}"), EXPORTER, &t.exporter, "e-2");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let local = kp!("parcel", "show", p, "--ledger", &t.ledger, "--json").run().ok().json();
    assert_eq!(v["head"], local["head"], "{v:#} {local:#}");

    // `kpledger log tiles` writes what the server serves, byte for byte.
    let dir = t.dir.join("tiles");
    kp!("log", "tiles", "--ledger", &t.ledger, "--out", &dir).run().ok();
    let mut files = Vec::new();
    collect(&dir, &mut files);
    assert!(files.len() >= 3, "{files:?}");
    for f in files {
        let rel = f.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
        let mut r = agent().get(&format!("{url}/{rel}")).call().unwrap();
        assert_eq!(r.status().as_u16(), 200, "{rel}");
        assert_eq!(r.body_mut().read_to_vec().unwrap(), std::fs::read(&f).unwrap(), "{rel}");
    }
    server.kill();
    kp!("verify", "--ledger", &t.ledger).run().ok();
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A ledger with a licensed miner, and `n` extractions signed ahead, not recorded.
fn world(dir: &TempDir, n: usize) -> (PathBuf, Vec<ParsedEvent>) {
    world_at(dir.join("ledger.kpl"), n)
}

/// As [`world`], the ledger at `path` (a file, or a PostgreSQL URL).
pub(crate) fn world_at(path: PathBuf, n: usize) -> (PathBuf, Vec<ParsedEvent>) {
    let mut sim = cast::sim_at(&path, &Terms::new(ORIGIN, "serve-crash", "2026-03-02T08:00:00Z"));
    let nma = sim.genesis(AUTHORITY, "National Minerals Agency", "SL").unwrap();
    sim.policy(&nma, from_slice_strict(include_bytes!("../../policies/SL.json")).unwrap()).unwrap();
    let koidu = sim
        .site(&nma, site(SITE, "Koidu claim 12", "SL", "Kono", "8.6446,-10.9712", 8_000).unwrap())
        .unwrap();
    let lic = licence("NMA/AM/2026/114", "artisanal", "2026-01-01", "2026-12-31", &[&koidu]).unwrap();
    let miner = sim.enrol(&nma, MINER, "Koroma artisanal mining", Role::Miner, "SL", Some(lic)).unwrap();
    let events = (0..n).map(|_| events::extraction(&mut sim, &miner, &koidu, 500, 2)).collect();
    (path, events)
}

pub(crate) fn post(url: &str, ev: &ParsedEvent) -> Result<(u16, serde_json::Value), ureq::Error> {
    let mut r = agent()
        .post(format!("{url}/v1/events"))
        .header("content-type", "application/json")
        .send(&ev.canonical[..])?;
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_vec()?;
    Ok((status, serde_json::from_slice(&body).unwrap_or_default()))
}

/// The server killed with SIGKILL during a load of 4 clients, `KPLEDGER_SERVE_KILLS` times
/// (default 3; `docs/stress.sh` runs 1,000 in release mode), each time after a pseudo-random
/// number of acknowledgements (`KPLEDGER_STRESS_SEED`), then restarted: every event
/// acknowledged before a kill is there at its position (its retry is answered 200 with that
/// position: idempotent), an event in flight is recorded once or not at all, and at the end
/// the ledger verifies and holds exactly the events submitted.
#[test]
fn sigkill_during_a_bounded_load_loses_no_acknowledged_event() {
    use crate::crash::{Rng, env_number};
    const CLIENTS: usize = 4;
    let kills = env_number("KPLEDGER_SERVE_KILLS", 3) as usize;
    let seed = env_number("KPLEDGER_STRESS_SEED", 20_261_205);
    let mut rng = Rng::new(seed);
    // At most 12 acknowledgements per round before its kill, and some left for the last round.
    let total = 12 * (kills + 1) + 40 * CLIENTS;
    let dir = TempDir::new("serve-kill");
    let (ledger, events) = world(&dir, total);
    let base = Ledger::open(&ledger, kpledger_core::OpenOptions::default()).unwrap().len().unwrap();
    let events = Arc::new(events);
    // acked[i]: the position the server acknowledged for events[i] (0: not acknowledged);
    // round[i]: in which round.
    let acked: Arc<Vec<std::sync::atomic::AtomicU64>> =
        Arc::new((0..total).map(|_| std::sync::atomic::AtomicU64::new(0)).collect());
    let round_of: Arc<Vec<AtomicUsize>> = Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect());
    let started = Instant::now();
    for round in 0..=kills {
        // One miner signs every event, from one address: no rate limits here.
        let mut server = Server::start_with(&ledger, &["--rate-ip", "0", "--rate-key", "0"]);
        // Every event acknowledged in the round before the kill is there, at its position, and
        // its retry is idempotent (the earlier rounds' were checked after their own kill).
        for (i, ev) in events.iter().enumerate() {
            let seq = acked[i].load(Ordering::SeqCst);
            if seq > 0 && round_of[i].load(Ordering::SeqCst) + 1 == round {
                let (status, v) = post(&server.url, ev).unwrap();
                assert_eq!(
                    status, 200,
                    "seed {seed}, round {round}: event {i} acknowledged as #{seq} before the kill: {v}"
                );
                assert_eq!(v["recorded"][0]["seq"], seq, "seed {seed}, round {round}, event {i}");
            }
        }
        let count = Arc::new(AtomicUsize::new(0));
        // Client c submits events c, c + 4, c + 8, …: the clients move through the signing
        // times together.
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (events, acked, round_of, count, url) = (
                    Arc::clone(&events),
                    Arc::clone(&acked),
                    Arc::clone(&round_of),
                    Arc::clone(&count),
                    server.url.clone(),
                );
                std::thread::spawn(move || {
                    for i in (c..events.len()).step_by(CLIENTS) {
                        if acked[i].load(Ordering::SeqCst) > 0 {
                            continue;
                        }
                        match post(&url, &events[i]) {
                            Ok((200 | 201, v)) => {
                                round_of[i].store(round, Ordering::SeqCst);
                                acked[i].store(v["recorded"][0]["seq"].as_u64().unwrap(), Ordering::SeqCst);
                                count.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok((status, v)) => panic!("seed {seed}: event {i}: {status} {v}"),
                            // The server was killed: this event may or may not be recorded.
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        // Kill it mid-load (except in the last round, which finishes the work).
        if round < kills {
            let after = 1 + rng.below(12) as usize;
            let deadline = Instant::now() + Duration::from_secs(60);
            while count.load(Ordering::SeqCst) < after && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            server.kill();
        }
        for h in handles {
            h.join().unwrap();
        }
        server.kill();
    }
    // Everything acknowledged once, at distinct positions; the ledger verifies.
    let seqs: std::collections::BTreeSet<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    assert!(!seqs.contains(&0), "seed {seed}: the last round submits every event");
    assert_eq!(seqs.len(), events.len());
    let l = Ledger::open(&ledger, kpledger_core::OpenOptions::default()).unwrap();
    assert_eq!(l.len().unwrap(), base + events.len() as u64, "seed {seed}: nothing recorded twice");
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(l.position_of(&ev.hash).unwrap(), Some(acked[i].load(Ordering::SeqCst)));
    }
    kp!("verify", "--ledger", &ledger).run().ok();
    eprintln!(
        "serve: {kills} SIGKILLs under load, {} events, in {:?} (seed {seed})",
        events.len(),
        started.elapsed()
    );
}

#[test]
fn the_limits_are_set_by_flags() {
    let dir = TempDir::new("serve-flags");
    let (ledger, events) = world(&dir, 3);
    let server =
        Server::start_with(&ledger, &["--max-body", "4000", "--max-events", "2", "--group-wait", "0"]);
    let url = format!("{}/v1/events", server.url);
    let send = |ctype: &str, body: Vec<u8>| {
        let mut r = agent().post(&url).header("content-type", ctype).send(&body[..]).unwrap();
        let status = r.status().as_u16();
        let v: serde_json::Value = serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap();
        (status, v)
    };
    let (status, v) = send("application/json", vec![b' '; 4001]);
    assert_eq!(status, 413, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("4000 bytes"), "{v}");
    let jsonl = |evs: &[ParsedEvent]| -> Vec<u8> {
        evs.iter().flat_map(|e| [e.canonical.as_slice(), b"\n"].concat()).collect()
    };
    assert!(jsonl(&events).len() < 4000);
    let (status, v) = send("application/jsonl", jsonl(&events));
    assert_eq!(status, 413, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("at most 2"), "{v}");
    assert_eq!(send("application/jsonl", jsonl(&events[..2])).0, 201);
    // Per-IP rate: 1 a second, bursts of 2; per-key: off.
    drop(server);
    let server = Server::start_with(&ledger, &["--rate-ip", "1", "--burst-ip", "2", "--rate-key", "0"]);
    let health = format!("{}/healthz", server.url);
    let statuses: Vec<u16> =
        (0..12).map(|_| agent().get(&health).call().unwrap().status().as_u16()).collect();
    assert_eq!(statuses[..2], [200, 200], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let help = kp!("serve", "--help").run().ok().stdout.clone();
    for default in
        ["4194304", "1000", "256", "2", "10", "30", "1024", "300", "200", "400", "50", "100", "100000"]
    {
        assert!(help.contains(&format!("[default: {default}]")), "{default}: {help}");
    }
}

#[test]
fn tls_flags_serve_https_and_an_unusable_key_is_refused_with_exit_2() {
    let dir = TempDir::new("serve-tls");
    let (ledger, _) = world(&dir, 0);
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    let der = kpledger_testkit::http::self_signed(&["127.0.0.1"], &cert, &key);
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let server = Server::start_with(&ledger, &["--tls-cert", c, "--tls-key", k]);
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);
    let agent = kpledger_testkit::http::agent(Duration::from_secs(30), Some(&der));
    assert_eq!(agent.get(format!("{}/healthz", server.url)).call().unwrap().status().as_u16(), 200);
    // The certificate given as the key: nothing served, exit 2, the file named.
    kp!("serve", "--ledger", &ledger, "--listen", "127.0.0.1:0", "--tls-cert", c, "--tls-key", c)
        .run()
        .cannot_run(&["server.crt", "not a PEM private key"]);
    // One without the other: a usage error.
    kp!("serve", "--ledger", &ledger, "--tls-cert", c).run().code(2);
}
