//! The service over HTTP on 127.0.0.1 (port 0), in process: submissions (idempotent,
//! refused with rule codes, malformed, too large, busy), signed reads (401, 403, replay),
//! the log as C2SP tlog-tiles checked by an independent client, 16 clients for 30 s,
//! the limits, and the OpenAPI document against the router.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../../tests/tile_client.rs"]
mod tile_client;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use kpledger_core::{Ledger, OpenOptions};
use sha2::{Digest as _, Sha256};
use tile_client::{mth, path, tile_path};

fn len(w: &World) -> u64 {
    Ledger::open(&w.ledger, OpenOptions { read_only: true, busy_timeout: Duration::from_secs(5) })
        .unwrap()
        .len()
        .unwrap()
}

fn codes(a: &Answer) -> Vec<String> {
    a.json()["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_submission_is_recorded_once_and_a_retry_is_answered_200() {
    let mut w = World::new("idem");
    let s = start(w.config());
    let before = len(&w);
    let (koroma, koidu) = (w.koroma.clone(), w.koidu.clone());
    let (_, e1) = w.extraction(&koroma, &koidu);
    let a = post_events(&s, &[&e1]);
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.content_type, "application/json");
    let v = a.json();
    let rec = &v["recorded"][0];
    assert_eq!(rec["seq"], before + 1);
    assert_eq!(rec["leaf_index"], before);
    assert_eq!(rec["hash"], e1.hash.to_hex());
    assert!(v["findings"].as_array().unwrap().is_empty());
    // The same bytes again (a client retrying after a timeout): 200, the same position.
    let again = post_events(&s, &[&e1]);
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["recorded"], v["recorded"]);
    assert_eq!(len(&w), before + 1);
    // Several at once, one of them already recorded: 201, each with its position.
    let (_, e2) = w.extraction(&koroma, &koidu);
    let a = post_events(&s, &[&e1, &e2]);
    assert_eq!(a.status, 201);
    let v = a.json();
    assert_eq!(v["recorded"][0]["seq"], before + 1);
    assert_eq!(v["recorded"][1]["seq"], before + 2);
    assert_eq!(len(&w), before + 2);
    // The same new event twice in one submission is refused (CH-1), nothing recorded.
    let (_, e3) = w.extraction(&koroma, &koidu);
    let a = post_events(&s, &[&e3, &e3]);
    assert_eq!(a.status, 422);
    assert!(codes(&a).contains(&"CH-1".to_owned()));
    assert_eq!(len(&w), before + 2);
}

#[test]
fn a_refusal_is_422_problem_json_with_rule_codes_and_nothing_of_the_submission_is_recorded() {
    let mut w = World::new("refuse");
    let s = start(w.config());
    let before = len(&w);
    let (koroma, koidu, tongo) = (w.koroma.clone(), w.koidu.clone(), w.tongo.clone());
    // Koroma's licence names Koidu only: an extraction at Tongo is refused by the rules.
    let (_, good) = w.extraction(&koroma, &koidu);
    let (_, bad) = w.extraction(&koroma, &tongo);
    let a = post_events(&s, &[&good, &bad]);
    assert_eq!(a.status, 422, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.content_type, "application/problem+json");
    let v = a.json();
    assert_eq!(v["type"], "urn:kpledger:problem:refused");
    assert_eq!(v["status"], 422);
    assert_eq!(v["event_index"], 1);
    let c = codes(&a);
    assert!(!c.is_empty() && c.iter().all(|c| c.contains('-')), "{c:?}");
    // All or nothing: the good event of the refused submission was not recorded.
    assert_eq!(len(&w), before);
    assert_eq!(post_events(&s, &[&good]).status, 201);
}

#[test]
fn a_document_not_signed_by_an_enrolled_key_is_refused_before_any_database_work() {
    let mut w = World::new("sig");
    let s = start(kpledger_serve::Config { queue: 1, group: 1, ..w.config() });
    let (koroma, koidu) = (w.koroma.clone(), w.koidu.clone());
    let (_, good) = w.extraction(&koroma, &koidu);
    // A bit of the signature flipped.
    let mut v: serde_json::Value = serde_json::from_slice(&good.canonical).unwrap();
    let sig = v["sig"]["sig"].as_str().unwrap().to_owned();
    let mut bytes = base64::engine::general_purpose::STANDARD.decode(&sig).unwrap();
    bytes[5] ^= 1;
    v["sig"]["sig"] = base64::engine::general_purpose::STANDARD.encode(&bytes).into();
    let forged = serde_json::to_vec(&v).unwrap();
    // Signed correctly, but with a key the ledger never enrolled for this actor.
    let stranger = kpledger_model::SecretKey::from_seed(&[9u8; 32]);
    let body = w.sim.body(&koroma, good.event.body.payload.clone());
    let unenrolled = kpledger_model::Event::sign(body, &stranger).unwrap().into_parsed().unwrap();

    // The ledger is locked by another writer: any database work would wait, then fail.
    let mut conn = rusqlite::Connection::open(&w.ledger).unwrap();
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
    for doc in [forged.as_slice(), unenrolled.canonical.as_slice()] {
        let a = post(&format!("{}/v1/events", s.url), "application/json", doc);
        assert_eq!(a.status, 422, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!(codes(&a), ["CH-2"]);
    }
    // Meanwhile good submissions wait for the writer; beyond the queue: 503 with Retry-After.
    let posts: Vec<_> = (0..4)
        .map(|_| {
            let (_, e) = w.extraction(&koroma, &koidu);
            let url = format!("{}/v1/events", s.url);
            std::thread::spawn(move || (post(&url, "application/json", &e.canonical), e))
        })
        .collect();
    let answers: Vec<(Answer, _)> = posts.into_iter().map(|h| h.join().unwrap()).collect();
    let busy: Vec<&Answer> = answers.iter().map(|(a, _)| a).filter(|a| a.status == 503).collect();
    assert!(!busy.is_empty(), "{:?}", answers.iter().map(|(a, _)| a.status).collect::<Vec<_>>());
    assert!(busy.iter().all(|a| a.retry_after.is_some() && a.content_type == "application/problem+json"));
    tx.rollback().unwrap();
    // Once the lock is gone, a retry of each is recorded (or found recorded) exactly once.
    let mut seqs = BTreeSet::new();
    for (_, e) in &answers {
        let a = post_events(&s, &[e]);
        assert!(a.status == 201 || a.status == 200, "{}", a.status);
        assert!(seqs.insert(a.json()["recorded"][0]["seq"].as_u64().unwrap()));
    }
}

#[test]
fn malformed_is_400_other_media_415_too_large_413() {
    let mut w = World::new("limits");
    let s = start(kpledger_serve::Config { max_body: 4096, max_events: 3, ..w.config() });
    let url = format!("{}/v1/events", s.url);
    let a = post(&url, "application/json", b"{\"body\":");
    assert_eq!((a.status, a.content_type.as_str()), (400, "application/problem+json"));
    assert_eq!(post(&url, "application/json", b"{}").status, 400);
    assert_eq!(post(&url, "text/plain", b"{}").status, 415);
    let a = post(&url, "application/jsonl", &vec![b' '; 5000]);
    assert_eq!(a.status, 413);
    assert_eq!(a.json()["type"], "urn:kpledger:problem:too-large");
    // Without Content-Length (chunked), the limit holds while reading.
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    let chunk = vec![b' '; 1000];
    c.write_all(b"POST /v1/events HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n").unwrap();
    for _ in 0..5 {
        let _ = c.write_all(format!("{:x}\r\n", chunk.len()).as_bytes());
        let _ = c.write_all(&chunk);
        let _ = c.write_all(b"\r\n");
    }
    let _ = c.write_all(b"0\r\n\r\n");
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 413"), "{got}");
    let (koroma, koidu) = (w.koroma.clone(), w.koidu.clone());
    let evs: Vec<_> = (0..4).map(|_| w.extraction(&koroma, &koidu).1).collect();
    let refs: Vec<_> = evs.iter().collect();
    let a = post_events(&s, &refs);
    assert_eq!(a.status, 413, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(post_events(&s, &refs[..3]).status, 201);
}

#[test]
fn reads_need_a_fresh_signature_of_an_enrolled_actor_who_may_see_the_data() {
    let mut w = World::new("auth");
    let (koroma, sesay, nma, koidu) = (w.koroma.clone(), w.sesay.clone(), w.nma.clone(), w.koidu.clone());
    let (parcel, ev) = w.extraction(&koroma, &koidu);
    w.sim.ledger_mut().append(&ev).unwrap();
    let kk = w.key(&koroma);
    let ks = w.key(&sesay);
    let kn = w.key(&nma);
    let s = start(w.config());
    let url = format!("{}/v1/parcels/{parcel}", s.url);

    let a = get(&url);
    assert_eq!((a.status, a.content_type.as_str()), (401, "application/problem+json"));
    // The holder reads its parcel: state and head hash.
    let a = get_signed(&url, &koroma, &kk, "n-1");
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let v = a.json();
    assert_eq!(v["head"], ev.hash.to_hex());
    assert_eq!(v["ledger"], ORIGIN);
    assert_eq!(v["parcel"]["holder"], koroma.as_str());
    // Another miner: 403. The authority: 200.
    let a = get_signed(&url, &sesay, &ks, "n-2");
    assert_eq!((a.status, a.content_type.as_str()), (403, "application/problem+json"));
    assert_eq!(get_signed(&url, &nma, &kn, "n-3").status, 200);
    // The same signed request again: a replay, 401.
    let (input, sig) = signed_headers(&url, &koroma, &kk, "n-4");
    assert_eq!(get_with(&url, &input, &sig).status, 200);
    let replay = get_with(&url, &input, &sig);
    assert_eq!(replay.status, 401);
    assert!(replay.json()["detail"].as_str().unwrap().contains("already received"));
    // Signed for another URI, by another key, or outside the window: 401.
    let (input, sig) = signed_headers(&format!("{url}/history"), &koroma, &kk, "n-5");
    assert_eq!(get_with(&url, &input, &sig).status, 401);
    let (input, sig) = signed_headers(&url, &koroma, &ks, "n-6");
    assert_eq!(get_with(&url, &input, &sig).status, 401);
    let (input, sig) =
        kpledger_serve::auth::sign_request("GET", &url, koroma.as_str(), &kk, now() - 3600, "n-7");
    assert_eq!(get_with(&url, &input, &sig).status, 401);
    // The refusals are counted for the operator.
    let m = String::from_utf8(get(&format!("{}/metrics", s.url)).body).unwrap();
    let refused = m.lines().find(|l| l.starts_with("kpledger_reads_refused_total ")).unwrap();
    assert!(refused.rsplit(' ').next().unwrap().parse::<u64>().unwrap() >= 5, "{m}");
    // History, the event by hash, the actors.
    let a = get_signed(&format!("{url}/history"), &koroma, &kk, "n-8");
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["events"][0]["hash"], ev.hash.to_hex());
    let eurl = format!("{}/v1/events/{}", s.url, ev.hash.to_hex());
    assert_eq!(get_signed(&eurl, &koroma, &kk, "n-9").status, 200);
    assert_eq!(get_signed(&eurl, &sesay, &ks, "n-10").status, 403);
    assert_eq!(get_signed(&format!("{}/v1/actors", s.url), &sesay, &ks, "n-11").status, 200);
    // The event stream: authorities only, paged with a Link header.
    let page = format!("{}/v1/events?after=0&limit=2", s.url);
    assert_eq!(get_signed(&page, &koroma, &kk, "n-12").status, 403);
    let a = get_signed(&page, &nma, &kn, "n-13");
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["events"].as_array().unwrap().len(), 2);
    assert_eq!(a.link.as_deref(), Some("</v1/events?after=2&limit=2>; rel=\"next\""));
}

#[test]
fn the_log_is_served_as_c2sp_tlog_tiles_and_an_independent_client_recomputes_it() {
    let mut w = World::new("tiles");
    let (koroma, koidu) = (w.koroma.clone(), w.koidu.clone());
    for _ in 0..600 {
        w.recorded(&koroma, &koidu);
    }
    let key = w.key(&w.nma);
    w.sim.ledger_mut().publish_checkpoint(&key).unwrap();
    let s = start(w.config());

    // The checkpoint: origin, size, root (C2SP tlog-checkpoint).
    let cp = get(&format!("{}/checkpoint", s.url));
    assert_eq!(cp.status, 200);
    assert!(cp.content_type.starts_with("text/plain"));
    let text = String::from_utf8(cp.body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], ORIGIN);
    let size: u64 = lines[1].parse().unwrap();
    assert!(size > 512);
    let root: [u8; 32] =
        base64::engine::general_purpose::STANDARD.decode(lines[2]).unwrap().try_into().unwrap();

    // Level 0 (full tiles, then the partial one) and the entry bundles.
    let mut leaves = Vec::new();
    let mut entries = Vec::new();
    for i in 0..size.div_ceil(256) {
        let width = (size - i * 256).min(256);
        let partial = (width < 256).then_some(width);
        let t = get(&format!("{}/{}", s.url, tile_path("0", i, partial)));
        assert_eq!(t.status, 200);
        assert_eq!(t.content_type, "application/octet-stream");
        assert_eq!(t.body.len() as u64, width * 32);
        let cc = t.cache_control.unwrap();
        assert_eq!(partial.is_none(), cc.contains("immutable"), "{cc}");
        leaves.extend(t.body.chunks(32).map(|c| <[u8; 32]>::try_from(c).unwrap()));
        let e = get(&format!("{}/{}", s.url, tile_path("entries", i, partial)));
        assert_eq!(e.status, 200);
        let mut rest = e.body.as_slice();
        while !rest.is_empty() {
            let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            entries.push(rest[2..2 + n].to_vec());
            rest = &rest[2 + n..];
        }
    }
    assert_eq!(leaves.len() as u64, size);
    assert_eq!(entries.len() as u64, size);
    // Each leaf hash is SHA-256(0x00 ‖ entry), each entry an event's hash, in ledger order.
    let ledger =
        Ledger::open(&w.ledger, OpenOptions { read_only: true, busy_timeout: Duration::from_secs(5) })
            .unwrap();
    for (i, (leaf, entry)) in leaves.iter().zip(&entries).enumerate() {
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(entry);
        assert_eq!(<[u8; 32]>::from(h.finalize()), *leaf);
        assert_eq!(entry.as_slice(), ledger.event(i as u64 + 1).unwrap().unwrap().hash.0);
    }
    assert_eq!(mth(&leaves), root, "the root recomputed from the tiles is the checkpoint's");
    // Level 1: the partial tile holds the roots of each full 256-leaf block.
    let blocks = size / 256;
    let t = get(&format!("{}/{}", s.url, tile_path("1", 0, Some(blocks))));
    assert_eq!(t.status, 200);
    for (b, got) in t.body.chunks(32).enumerate() {
        assert_eq!(got, mth(&leaves[b * 256..(b + 1) * 256]));
    }
    // Tiles beyond the log, and non-canonical paths: 404.
    for p in ["tile/0/003", "tile/1/000", "tile/0/x000/001", "tile/0/000.p/256", "tile/entries/9"] {
        assert_eq!(get(&format!("{}/{p}", s.url)).status, 404, "{p}");
    }
    // Inclusion proofs from the tiles agree with the ledger's (`kpledger log prove-inclusion`).
    for i in [0usize, 1, 255, 256, 257, 511, size as usize - 1, 137, 400] {
        let ours: Vec<[u8; 32]> = path(i, &leaves);
        let theirs: Vec<[u8; 32]> =
            ledger.inclusion_proof(i as u64 + 1, size).unwrap().iter().map(|h| h.0).collect();
        assert_eq!(ours, theirs, "leaf {i}");
    }
}

/// What one load client saw: (position, hash) of every event acknowledged to it, and how
/// many reads it made.
struct Seen {
    acked: Vec<(u64, kpledger_model::Hash)>,
    reads: usize,
}

/// One load client: who it is and where it sends.
struct Client {
    c: usize,
    url: String,
    miner: kpledger_model::ActorId,
    key: kpledger_model::SecretKey,
    site: kpledger_model::SiteId,
    /// The signing time of its first event.
    start: kpledger_model::Time,
}

/// Signs extractions as its miner on the fly and submits them one at a time, with reads mixed
/// in (the public log, its own parcel signed, and a retry now and then), until `deadline` or
/// `most` submissions.
fn load_client(client: Client, deadline: std::time::Instant, most: usize) -> Seen {
    let Client { c, url, miner, key, site, start } = client;
    let (miner, key, site) = (&miner, &key, &site);
    use kpledger_model::{Event, EventBody, HsCode, Origin, Payload, Points, Time};
    let agent = agent();
    let call = |r: Result<ureq::http::Response<ureq::Body>, ureq::Error>| {
        let mut r = r.unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_vec().unwrap())
    };
    let submit = |doc: &[u8]| {
        call(agent.post(format!("{url}/v1/events")).header("content-type", "application/json").send(doc))
    };
    let mut seen = Seen { acked: Vec::new(), reads: 0 };
    for i in 0..most {
        if std::time::Instant::now() >= deadline {
            break;
        }
        let parcel = uuid::Uuid::now_v7();
        let body = EventBody {
            v: 1,
            ledger: Origin::new(ORIGIN).unwrap(),
            // One clock for all clients: a second per event, interleaved (CH-4 keeps the
            // events of a log within 48 hours of each other's order).
            time: Time::from_unix(start.unix() + (i * 16 + c) as i64),
            signer: miner.clone(),
            payload: Payload::Extraction {
                parcel,
                site: site.clone(),
                weight_pt: Points(100 + i as u64),
                stones: 1,
                hs_code: HsCode::new("7102.31").unwrap(),
            },
        };
        let ev = Event::sign(body, key).unwrap().into_parsed().unwrap();
        let (status, answer) = submit(&ev.canonical);
        assert_eq!(status, 201, "client {c}, event {i}: {}", String::from_utf8_lossy(&answer));
        let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        let seq = v["recorded"][0]["seq"].as_u64().unwrap();
        assert_eq!(v["recorded"][0]["hash"], ev.hash.to_hex());
        seen.acked.push((seq, ev.hash));
        match (i + c) % 8 {
            // The public log at its newest checkpoint (published by the service as it grows).
            0 => {
                let (status, note) = call(agent.get(format!("{url}/checkpoint")).call());
                if status == 200 {
                    let size: u64 = String::from_utf8(note).unwrap().lines().nth(1).unwrap().parse().unwrap();
                    let (n, w) = (size / 256, size % 256);
                    let tile = if w == 0 {
                        format!("{url}/{}", tile_path("0", n - 1, None))
                    } else {
                        format!("{url}/{}", tile_path("0", n, Some(w)))
                    };
                    assert_eq!(call(agent.get(&tile).call()).0, 200, "{tile}");
                } else {
                    assert_eq!(status, 404, "no checkpoint yet");
                }
                seen.reads += 1;
            }
            // Its own parcel, a signed read: it is there, with this event as its head.
            3 => {
                let purl = format!("{url}/v1/parcels/{parcel}");
                let (input, sig) = signed_headers(&purl, miner, key, &format!("load-{c}-{i}"));
                let (status, body) =
                    call(agent.get(&purl).header("signature-input", &input).header("signature", &sig).call());
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(v["head"], ev.hash.to_hex());
                seen.reads += 1;
            }
            // A retry (as after a lost answer): 200, the same position.
            5 => {
                let (status, again) = submit(&ev.canonical);
                assert_eq!(status, 200);
                let v: serde_json::Value = serde_json::from_slice(&again).unwrap();
                assert_eq!(v["recorded"][0]["seq"].as_u64(), Some(seq));
            }
            _ => {}
        }
    }
    seen
}

/// 16 clients submit one event at a time for 30 s (at most 5,000 events each), with reads and
/// retries mixed in, while the service publishes a checkpoint every second: every acknowledged
/// event is in the ledger once, at the position acknowledged, nothing else was recorded, and
/// the ledger verifies.
#[test]
fn sixteen_clients_for_thirty_seconds_lose_and_duplicate_no_acknowledged_event() {
    const CLIENTS: usize = 16;
    const MOST: usize = 5_000;
    let w = World::new("load");
    let before = len(&w);
    let mut cfg = w.config();
    (cfg.rate_ip, cfg.rate_key) = (None, None);
    cfg.checkpoint = Some((w.key(&w.nma), Duration::from_secs(1)));
    let s = start(cfg);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let start_time = kpledger_model::Time::from_unix(w.sim.now().unix() + 60);
    let handles: Vec<_> = (0..CLIENTS)
        .map(|c| {
            // Two miners, so that two signers' events interleave in every commit group.
            let (miner, site) = if c % 2 == 0 {
                (w.koroma.clone(), w.koidu.clone())
            } else {
                (w.sesay.clone(), w.tongo.clone())
            };
            let key = w.key(&miner);
            let client = Client { c, url: s.url.clone(), miner, key, site, start: start_time.clone() };
            std::thread::spawn(move || load_client(client, deadline, MOST))
        })
        .collect();
    let seen: Vec<Seen> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let acked: Vec<(u64, kpledger_model::Hash)> = seen.iter().flat_map(|s| s.acked.iter().copied()).collect();
    assert!(seen.iter().all(|s| !s.acked.is_empty() && s.reads > 0), "every client submitted and read");
    let seqs: BTreeSet<u64> = acked.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs.len(), acked.len(), "no two acknowledgements share a position");
    assert_eq!(len(&w), before + acked.len() as u64, "nothing recorded beyond the acknowledged");
    let ledger =
        Ledger::open(&w.ledger, OpenOptions { read_only: true, busy_timeout: Duration::from_secs(5) })
            .unwrap();
    let by_seq: BTreeMap<u64, kpledger_model::Hash> = acked.iter().copied().collect();
    for (seq, hash) in &by_seq {
        assert_eq!(ledger.position_of(hash).unwrap(), Some(*seq));
    }
    let report = ledger.verify(&mut |_, _| {}).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    let m = String::from_utf8(get(&format!("{}/metrics", s.url)).body).unwrap();
    let created =
        m.lines().find(|l| l.starts_with("kpledger_submissions_total{outcome=\"created\"}")).unwrap();
    assert_eq!(created.rsplit(' ').next().unwrap(), acked.len().to_string());
    assert!(m.contains(&format!("kpledger_log_size {}", before + acked.len() as u64)));
}

#[test]
fn connections_beyond_the_limit_get_503_slow_headers_are_cut_off_slow_bodies_get_408() {
    let w = World::new("conn");
    let mut cfg = w.config();
    cfg.max_connections = 2;
    cfg.header_timeout = Duration::from_secs(1);
    cfg.request_timeout = Duration::from_secs(1);
    let s = start(cfg);
    let read_all = |c: &mut std::net::TcpStream| {
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut out = Vec::new();
        let r = c.read_to_end(&mut out);
        assert!(r.is_ok() || !out.is_empty(), "{r:?}");
        String::from_utf8_lossy(&out).into_owned()
    };
    {
        // Two idle connections take both slots; the third is answered 503 and closed.
        let _a = std::net::TcpStream::connect(s.addr).unwrap();
        let _b = std::net::TcpStream::connect(s.addr).unwrap();
        let mut c = std::net::TcpStream::connect(s.addr).unwrap();
        let got = read_all(&mut c);
        assert!(got.starts_with("HTTP/1.1 503"), "{got}");
        assert!(got.to_ascii_lowercase().contains("retry-after: 1"));
        // A connection that sends nothing at all is closed too (the header timeout): idle
        // connections cannot hold the slots.
        let mut a = _a;
        assert_eq!(read_all(&mut a), "");
    }
    // A client that never finishes its headers is disconnected (the slot is freed).
    let mut slow = std::net::TcpStream::connect(s.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    let got = read_all(&mut slow);
    assert!(!got.contains("200 OK"), "{got}");
    // A body that never arrives: 408.
    let mut slow = std::net::TcpStream::connect(s.addr).unwrap();
    slow.write_all(b"POST /v1/events HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"body\"")
        .unwrap();
    let got = read_all(&mut slow);
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert_eq!(get(&format!("{}/healthz", s.url)).status, 200);
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_the_server_answers() {
    let w = World::new("openapi");
    let s = start(w.config());
    let doc: serde_json::Value = serde_json::from_str(kpledger_serve::OPENAPI).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let served = get(&format!("{}/openapi.json", s.url));
    assert_eq!(served.status, 200);
    assert_eq!(served.json(), doc);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys().filter(|m| *m != "parameters") {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let routes: BTreeSet<(String, String)> =
        kpledger_serve::ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(documented, routes);
    // Every route is one the router answers (not the fallback, not 405).
    for (method, path) in &routes {
        let concrete = path
            .replace("{hash}", &"0".repeat(64))
            .replace("{id}", "0195a0a0-0000-7000-8000-000000000000")
            .replace("{number}", "SL-0")
            .replace("{path}", "entries/000.p/1");
        let url = format!("{}{concrete}", s.url);
        let a = if method == "post" { post(&url, "application/json", b"{}") } else { get(&url) };
        assert_ne!(a.status, 405, "{method} {path}");
        if a.content_type == "application/problem+json" {
            assert_ne!(a.json()["type"], "urn:kpledger:problem:no-route", "{method} {path}");
        }
    }
    assert_eq!(get(&format!("{}/nowhere", s.url)).json()["type"], "urn:kpledger:problem:no-route");
}

#[test]
fn with_the_root_key_the_service_publishes_checkpoints_as_the_log_grows() {
    let mut w = World::new("publish");
    let key = w.key(&w.nma);
    // Another key than the root's: refused at start.
    let mut cfg = w.config();
    cfg.checkpoint = Some((w.key(&w.koroma), Duration::from_millis(200)));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let refused = rt.block_on(kpledger_serve::start("127.0.0.1:0".parse().unwrap(), cfg));
    assert!(matches!(refused, Err(kpledger_serve::ServeError::NotRootKey(_))), "{refused:?}");
    let mut cfg = w.config();
    cfg.checkpoint = Some((key, Duration::from_millis(200)));
    let s = start(cfg);
    let (koroma, koidu) = (w.koroma.clone(), w.koidu.clone());
    for _ in 0..3 {
        let (_, e) = w.extraction(&koroma, &koidu);
        assert_eq!(post_events(&s, &[&e]).status, 201);
    }
    let size = len(&w);
    // Wait (bounded) for the timer's checkpoint of the whole log.
    let mut seen = None;
    for _ in 0..300 {
        let a = get(&format!("{}/checkpoint", s.url));
        if a.status == 200 {
            let text = String::from_utf8(a.body).unwrap();
            if text.lines().nth(1) == Some(&size.to_string()) {
                seen = Some(text);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = seen.expect("a checkpoint of the whole log within 30 s");
    let ledger =
        Ledger::open(&w.ledger, OpenOptions { read_only: true, busy_timeout: Duration::from_secs(5) })
            .unwrap();
    let root = base64::engine::general_purpose::STANDARD.encode(ledger.log_root(size).unwrap().0);
    assert_eq!(text.lines().nth(2), Some(root.as_str()));
    let report = ledger.verify(&mut |_, _| {}).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    // One checkpoint per size, only when the log grew.
    let sizes: Vec<u64> = ledger.stored_checkpoints().unwrap().iter().map(|c| c.size).collect();
    assert!(sizes.windows(2).all(|w| w[0] < w[1]) && sizes.last() == Some(&size), "{sizes:?}");
    let m = String::from_utf8(get(&format!("{}/metrics", s.url)).body).unwrap();
    assert!(m.contains(&format!("kpledger_checkpoints_published_total {}", sizes.len())), "{m}");
}

#[test]
fn offers_are_relayed_to_their_buyer_only_while_they_apply() {
    let mut w = World::new("offers");
    let (koroma, buyer, nma, koidu) = (w.koroma.clone(), w.dealer.clone(), w.nma.clone(), w.koidu.clone());
    let parcel = w.recorded(&koroma, &koidu);
    let offer = w.sim.offer(&koroma, &parcel, &buyer, kpledger_model::Cents(91_000)).unwrap();
    let (kk, kb, kn) = (w.key(&koroma), w.key(&buyer), w.key(&nma));
    let s = start(w.config());
    let url = format!("{}/v1/offers", s.url);
    let doc = serde_json::to_vec(&offer).unwrap();
    let a = post(&url, "application/json", &doc);
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let hash = a.json()["offer"].as_str().unwrap().to_owned();
    assert_eq!(hash, offer.hash().unwrap().to_hex());
    assert_eq!(post(&url, "application/json", &doc).status, 200, "the same offer again");
    // A forged signature, an offer by a non-holder, a stale head: 422 with the rule code.
    let mut forged = offer.clone();
    forged.body.price_usd_cents = kpledger_model::Cents(1);
    let a = post(&url, "application/json", &serde_json::to_vec(&forged).unwrap());
    assert_eq!(a.status, 422);
    assert_eq!(codes(&a), ["CH-2"]);
    let mut body = offer.body.clone();
    body.signer = buyer.clone();
    let not_holder = kpledger_model::Offer::sign(body, &kb).unwrap();
    let a = post(&url, "application/json", &serde_json::to_vec(&not_holder).unwrap());
    assert_eq!((a.status, codes(&a)), (422, vec!["CH-2".to_owned()]));
    let mut body = offer.body.clone();
    body.prev = kpledger_model::Hash([7; 32]);
    let stale = kpledger_model::Offer::sign(body, &kk).unwrap();
    let a = post(&url, "application/json", &serde_json::to_vec(&stale).unwrap());
    assert_eq!((a.status, codes(&a)), (422, vec!["CH-1".to_owned()]));
    assert_eq!(post(&url, "application/json", b"{}").status, 400);
    // The buyer sees it; the seller may not list the buyer's offers; an authority may.
    let list = get_signed(&url, &buyer, &kb, "o-1");
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["offers"][0]["hash"], hash);
    assert_eq!(get_signed(&format!("{url}?to={buyer}"), &koroma, &kk, "o-2").status, 403);
    assert_eq!(get_signed(&format!("{url}?to={buyer}"), &nma, &kn, "o-3").status, 200);
    assert_eq!(get(&url).status, 401);
    // The offer itself, byte for byte what the holder signed, for `handover accept`.
    let one = get_signed(&format!("{url}/{hash}"), &buyer, &kb, "o-4");
    assert_eq!(one.status, 200);
    let back: kpledger_model::Offer = kpledger_model::canonical::from_slice_strict(&one.body).unwrap();
    assert_eq!(back, offer);
    // Once the parcel has moved on (the holder offers it again, and that handover is
    // recorded), the first offer no longer applies and is no longer listed.
    let body = w.sim.body(
        &buyer,
        kpledger_model::Payload::Handover { offer: offer.clone(), weight_pt: offer.body.weight_pt },
    );
    let handover = kpledger_model::Event::sign(body, &kb).unwrap().into_parsed().unwrap();
    let a = post_events(&s, &[&handover]);
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let list = get_signed(&url, &buyer, &kb, "o-5");
    assert_eq!(list.json()["offers"].as_array().unwrap().len(), 0);
    assert_eq!(get_signed(&format!("{url}/{hash}"), &buyer, &kb, "o-6").status, 404, "superseded: dropped");
    assert_eq!(post(&url, "application/json", &doc).status, 422, "no longer applies");
}

/// Sends `n` requests with `send`: the statuses, and the first 429's answer.
fn burst(n: usize, mut send: impl FnMut(usize) -> Answer) -> (Vec<u16>, Option<Answer>) {
    let mut statuses = Vec::new();
    let mut limited = None;
    for i in 0..n {
        let a = send(i);
        statuses.push(a.status);
        if a.status == 429 && limited.is_none() {
            limited = Some(a);
        }
    }
    (statuses, limited)
}

fn assert_rate_limited(a: &Answer) {
    assert_eq!(a.content_type, "application/problem+json");
    assert_eq!(a.json()["type"], "urn:kpledger:problem:rate-limited");
    let secs: u64 = a.retry_after.as_deref().unwrap().parse().unwrap();
    assert!(secs >= 1, "{secs}");
}

#[test]
fn a_client_address_over_its_rate_gets_429_with_retry_after_and_cannot_spoof_another_address() {
    let w = World::new("rate-ip");
    let mut cfg = w.config();
    cfg.rate_ip = Some(kpledger_serve::Rate { per_second: 1, burst: 3 });
    cfg.rate_key = None;
    let s = start(cfg);
    let health = format!("{}/healthz", s.url);
    // The burst passes; then, well within the 17 s 20 requests would need, 429s.
    let (statuses, limited) = burst(20, |_| get(&health));
    assert_eq!(statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429), "{statuses:?}");
    assert_rate_limited(&limited.expect("some request over the rate"));
    // Every route counts, tiles and signed reads included, before any other work.
    assert_eq!(get(&format!("{}/tile/0/000", s.url)).status, 429);
    // X-Forwarded-For from an untrusted peer is ignored: no fresh bucket for a claimed address.
    let spoofed = get_headers(&health, &[("x-forwarded-for", "203.0.113.9")]);
    assert_eq!(spoofed.status, 429);

    // Behind a trusted proxy: each forwarded client has its own bucket, the proxy none.
    let mut cfg = w.config();
    cfg.rate_ip = Some(kpledger_serve::Rate { per_second: 1, burst: 2 });
    cfg.rate_key = None;
    cfg.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let s = start(cfg);
    let health = format!("{}/healthz", s.url);
    let h = health.as_str();
    let as_client = |ip: &'static str| move |_| get_headers(h, &[("x-forwarded-for", ip)]);
    let (a, _) = burst(10, as_client("198.51.100.1"));
    assert_eq!(a[..2], [200, 200]);
    assert!(a.contains(&429), "{a:?}");
    // The proxy adds the client's address last: an address the client put first is not used.
    let chained = get_headers(&health, &[("x-forwarded-for", "198.51.100.2, 198.51.100.1")]);
    assert_eq!(chained.status, 429);
    let (b, _) = burst(2, as_client("198.51.100.2"));
    assert_eq!(b, [200, 200], "another client behind the proxy is not held back");
    // IPv6 clients share a bucket per /64.
    let (c, _) = burst(2, as_client("2001:db8:7:7::1"));
    assert_eq!(c, [200, 200]);
    assert_eq!(get_headers(&health, &[("x-forwarded-for", "2001:db8:7:7::2")]).status, 429);
    let m = String::from_utf8(
        get_headers(&format!("{}/metrics", s.url), &[("x-forwarded-for", "192.0.2.200")]).body,
    )
    .unwrap();
    let limited: u64 = m
        .lines()
        .find(|l| l.starts_with("kpledger_rate_limited_total{by=\"ip\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(limited >= 3, "{m}");
}

#[test]
fn an_actor_over_its_rate_gets_429_but_forged_requests_in_its_name_do_not_use_its_tokens() {
    let mut w = World::new("rate-key");
    let (koroma, sesay, nma, koidu) = (w.koroma.clone(), w.sesay.clone(), w.nma.clone(), w.koidu.clone());
    let ks = w.key(&sesay);
    let kn = w.key(&nma);
    let events: Vec<_> = (0..12).map(|_| w.extraction(&koroma, &koidu).1).collect();
    let before = len(&w);
    let mut cfg = w.config();
    cfg.rate_ip = None;
    cfg.rate_key = Some(kpledger_serve::Rate { per_second: 1, burst: 2 });
    let s = start(cfg);
    let actors = format!("{}/v1/actors", s.url);

    // Requests in nma's name that do not verify (signed with another key): 401, and they
    // take none of nma's tokens, so nobody can lock an actor out by forging its name.
    for i in 0..5 {
        assert_eq!(get_signed(&actors, &nma, &ks, &format!("forged-{i}")).status, 401);
    }
    let (reads, limited) = burst(10, |i| get_signed(&actors, &nma, &kn, &format!("nma-{i}")));
    assert_eq!(reads[..2], [200, 200], "{reads:?}");
    assert!(reads.iter().all(|s| *s == 200 || *s == 429), "{reads:?}");
    assert_rate_limited(&limited.expect("nma over its rate"));
    // Another actor from the same address is not held back.
    assert_eq!(get_signed(&actors, &sesay, &ks, "sesay-1").status, 200);

    // Submissions count against their events' signer, after the signatures verified: forged
    // events in koroma's name are refused (422) without taking its tokens.
    let stranger = kpledger_model::SecretKey::from_seed(&[9u8; 32]);
    let body = w.sim.body(&koroma, events[11].event.body.payload.clone());
    let forged = kpledger_model::Event::sign(body, &stranger).unwrap().into_parsed().unwrap();
    let url = format!("{}/v1/events", s.url);
    for _ in 0..3 {
        let a = post(&url, "application/json", &forged.canonical);
        assert_eq!((a.status, codes(&a)), (422, vec!["CH-2".to_owned()]));
    }
    let (subs, limited) = burst(10, |i| post(&url, "application/json", &events[i].canonical));
    assert_eq!(subs[..2], [201, 201], "{subs:?}");
    assert!(subs.iter().all(|s| *s == 201 || *s == 429), "{subs:?}");
    assert_rate_limited(&limited.expect("koroma over its rate"));
    // A refused-for-rate submission is not recorded; the others are.
    let recorded = subs.iter().filter(|s| **s == 201).count() as u64;
    assert_eq!(len(&w), before + recorded);
}

#[test]
fn the_statistics_are_served_to_the_authorities_only_as_kpledger_stats_computes_them() {
    let mut w = World::new("stats");
    let (koroma, nma, koidu) = (w.koroma.clone(), w.nma.clone(), w.koidu.clone());
    w.recorded(&koroma, &koidu);
    let kk = w.key(&koroma);
    let kn = w.key(&nma);
    let s = start(w.config());
    let url = format!("{}/v1/stats", s.url);

    // Unsigned: 401; a miner: 403 (the statistics add up every actor's trade).
    assert_eq!(get(&url).status, 401);
    let a = get_signed(&url, &koroma, &kk, "s-1");
    assert_eq!((a.status, a.content_type.as_str()), (403, "application/problem+json"));
    // The authority: the whole ledger, the extraction's 12.34 ct produced in Sierra Leone.
    let a = get_signed(&url, &nma, &kn, "s-2");
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let v = a.json();
    let sl = v["production"]["by_country"].as_array().unwrap();
    assert_eq!(sl.len(), 1, "{v}");
    assert_eq!(sl[0]["carats_pt"], 1234, "{v}");
    // The same figures as the report crate computes from the ledger file itself.
    let l = Ledger::open(&w.ledger, OpenOptions { read_only: true, busy_timeout: Duration::from_secs(5) })
        .unwrap();
    let events = l.events().unwrap();
    let book = kpledger_report::Book::new(events.iter().map(|(s, e)| (*s, e)));
    let period = kpledger_report::Period::choose(None, None, None, &book).unwrap();
    let flags = kpledger_report::red_flags(&book);
    let want = serde_json::to_value(kpledger_report::Stats::compute(&book, &period, &flags)).unwrap();
    assert_eq!(v, want);
    // A period that holds no extraction, and one that cannot be read.
    let a = get_signed(&format!("{url}?period=1999-Q1"), &nma, &kn, "s-3");
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["production"]["by_country"].as_array().unwrap().len(), 0);
    let a = get_signed(&format!("{url}?period=2026-Q5"), &nma, &kn, "s-4");
    assert_eq!((a.status, a.content_type.as_str()), (400, "application/problem+json"));
    assert!(a.json()["detail"].as_str().unwrap().contains("?period=2026-Q3"), "{:?}", a.json());
    let a = get_signed(&format!("{url}?from=2026-02-30"), &nma, &kn, "s-5");
    assert_eq!(a.status, 400);
}

/// A restart empties the memory of nonces: a read captured before it, replayed after it
/// inside the window, is refused (signed before this run started), while a fresh one is read.
#[test]
fn a_read_signed_before_a_restart_is_refused_after_it() {
    let mut w = World::new("restart");
    let (koroma, koidu) = (w.koroma.clone(), w.koidu.clone());
    let parcel = w.recorded(&koroma, &koidu);
    let kk = w.key(&koroma);
    // Both runs sign the same public URI, whatever port each one gets.
    let mut cfg = w.config();
    cfg.public_url = Some("https://ledger.example".into());
    let signed_uri = format!("https://ledger.example/v1/parcels/{parcel}");
    let first = start(cfg.clone());
    let created = now();
    let (input, sig) =
        kpledger_serve::auth::sign_request("GET", &signed_uri, koroma.as_str(), &kk, created, "captured");
    let at = |s: &Server| format!("{}/v1/parcels/{parcel}", s.url);
    let a = get_with(&at(&first), &input, &sig);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    drop(first);
    // The next run starts in a later second than the request was signed in.
    for _ in 0..40 {
        if now() > created {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(now() > created);
    let second = start(cfg);
    let replay = get_with(&at(&second), &input, &sig);
    assert_eq!((replay.status, replay.content_type.as_str()), (401, "application/problem+json"));
    let detail = replay.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("before this service started"), "{detail}");
    let (input, sig) = signed_headers(&signed_uri, &koroma, &kk, "fresh");
    assert_eq!(get_with(&at(&second), &input, &sig).status, 200);
}
