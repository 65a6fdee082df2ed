//! `kpledger log tiles --out s3://BUCKET/PREFIX` against an S3-compatible server on loopback
//! (moto's server mode, started by `.ci/run`, which exports `KPLEDGER_TEST_S3_URL` and sets
//! `KPLEDGER_REQUIRE_S3=1` so that CI fails without it; elsewhere, without the variable, these
//! tests say they were skipped and pass). The objects read back from the bucket by a tile
//! client that is not kpledger's (tests/tile_client.rs) verify against the checkpoint, are
//! byte for byte what `--out DIR` writes, and the evidence bundles verify under the importer's
//! trust policy; a tile already there with other bytes, or a newer checkpoint, stops the
//! publication before the checkpoint is written.

use std::path::Path;

use crate::backends::pg_server;
use crate::serve::agent;
use crate::util::TempDir;

#[path = "../tile_client.rs"]
mod tile_client;

/// The S3 server's URL, or `None` (the test is skipped) when there is none and CI does not
/// require one.
fn s3() -> Option<String> {
    pg_server::service("KPLEDGER_TEST_S3_URL", "KPLEDGER_REQUIRE_S3", "an S3-compatible server")
        .map(|u| u.trim_end_matches('/').to_owned())
}

/// Moto's server checks no signature, but reads an object for an authenticated request only
/// (a real bucket: signed requests, or a policy that lets everyone read the log's prefix).
const AUTH: &str = "AWS4-HMAC-SHA256 Credential=kpledger-test/20260101/us-east-1/s3/aws4_request, \
                    SignedHeaders=host, Signature=00";

/// The object's bytes, or `None` when the bucket has none at that key.
fn get(url: &str) -> Option<Vec<u8>> {
    let mut r = agent().get(url).header("authorization", AUTH).call().unwrap();
    match r.status().as_u16() {
        200 => Some(r.body_mut().read_to_vec().unwrap()),
        404 => None,
        s => panic!("GET {url}: {s}"),
    }
}

fn put(url: &str, bytes: &[u8]) {
    let r = agent().put(url).header("authorization", AUTH).send(bytes).unwrap();
    assert_eq!(r.status().as_u16(), 200, "PUT {url}");
}

/// A bucket of its own for one test.
/// A test directory with a demo of `parcels` parcels, the demo's ledger, and a new bucket.
fn demo_and_bucket(s3: &str, tag: &str, parcels: &str) -> (TempDir, std::path::PathBuf, String) {
    let t = TempDir::new(&format!("s3-{tag}"));
    let demo = t.join("demo");
    kp!("demo", &demo, "--parcels", parcels).run().ok();
    let ledger = demo.join("ledger.kpl");
    (t, ledger, bucket(s3, tag))
}

fn bucket(s3: &str, tag: &str) -> String {
    let name = format!("kpledger-{tag}-{}", std::process::id());
    put(&format!("{s3}/{name}"), b"");
    name
}

fn tiles_to(ledger: &Path, out: &str, s3: &str) -> crate::util::Cmd {
    kp!("log", "tiles", "--ledger", ledger, "--out", out, "--s3-endpoint", s3)
        .env("AWS_ACCESS_KEY_ID", "kpledger-test")
        .env("AWS_SECRET_ACCESS_KEY", "kpledger-test")
        .env("AWS_REGION", "us-east-1")
}

fn files(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, root, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

#[test]
fn s3_tiles_and_bundles_read_back_from_the_bucket_verify() {
    let Some(s3) = s3() else { return };
    // More than 256 events: a full tile, partial tiles, a level-1 tile.
    let (t, ledger, b) = demo_and_bucket(&s3, "tiles", "96");
    let out = format!("s3://{b}/sl/log");
    tiles_to(&ledger, &out, &s3).arg("--bundles").run().ok().stdout_has("evidence bundles");
    let base = format!("{s3}/{b}/sl/log");
    let log = tile_client::read_log(&mut |rel| get(&format!("{base}/{rel}")));
    assert!(log.size > 256, "{}", log.size);
    // The entries are the ledger's event hashes, in order, and the proofs a reader makes from
    // the tiles are the ledger's.
    for i in [0usize, 1, 255, 256, log.size as usize - 1] {
        let proof = kp!(
            "log",
            "prove-inclusion",
            "--ledger",
            &ledger,
            "--seq",
            (i + 1).to_string(),
            "--size",
            log.size.to_string(),
            "--json"
        )
        .run()
        .ok()
        .json();
        assert_eq!(proof["event"].as_str().unwrap(), hex::encode(&log.entries[i]), "entry {i}");
        let ours: Vec<String> = tile_client::path(i, &log.leaves).iter().map(hex::encode).collect();
        let theirs: Vec<String> =
            proof["proof"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_owned()).collect();
        assert_eq!(ours, theirs, "inclusion proof of leaf {i}");
    }
    // The same objects as `--out DIR`, byte for byte.
    let dir = t.join("static");
    kp!("log", "tiles", "--ledger", &ledger, "--out", &dir, "--bundles").run().ok();
    let mut written = Vec::new();
    files(&dir, &dir, &mut written);
    assert!(written.iter().any(|f| f.starts_with("bundles/")), "{written:?}");
    for rel in &written {
        assert_eq!(
            get(&format!("{base}/{rel}")).as_deref(),
            Some(std::fs::read(dir.join(rel)).unwrap().as_slice()),
            "{rel}"
        );
    }
    // Each certificate's bundle, read from the bucket, verifies under the importer's policy.
    let policy = t.join("demo").join("trust-policy.txt");
    let mut bundles = 0;
    for rel in written.iter().filter(|f| f.starts_with("bundles/")) {
        let file = t.join(format!("bundle-{bundles}.json"));
        std::fs::write(&file, get(&format!("{base}/{rel}")).unwrap()).unwrap();
        kp!("verify", &file, "--policy", &policy).run().ok().stdout_has("VERIFIED");
        bundles += 1;
    }
    assert!(bundles >= 4, "{written:?}");

    // Publishing again writes nothing new and leaves every object as it was.
    tiles_to(&ledger, &out, &s3).arg("--bundles").run().ok().stdout_has("(0 objects new)");
}

#[test]
fn s3_a_tile_with_other_bytes_or_a_newer_checkpoint_stops_publishing_before_the_checkpoint() {
    let Some(s3) = s3() else { return };
    let (t, ledger, b) = demo_and_bucket(&s3, "refuse", "8");
    let base = format!("{s3}/{b}");

    // Another log's tile sits where this log's first tile goes: refused, and no checkpoint.
    let dir = t.join("static");
    kp!("log", "tiles", "--ledger", &ledger, "--out", &dir).run().ok();
    let mut written = Vec::new();
    files(&dir, &dir, &mut written);
    let tile = written.iter().find(|f| f.starts_with("tile/0/")).unwrap();
    let mut other = std::fs::read(dir.join(tile)).unwrap();
    other[0] ^= 1;
    put(&format!("{base}/a/{tile}"), &other);
    tiles_to(&ledger, &format!("s3://{b}/a"), &s3).run().cannot_run(&["already holds other bytes"]);
    assert_eq!(get(&format!("{base}/a/checkpoint")), None, "the checkpoint is written last, so not at all");

    // A newer checkpoint of the same log is never replaced by an older one.
    tiles_to(&ledger, &format!("s3://{b}/b"), &s3).run().ok();
    let note = String::from_utf8(get(&format!("{base}/b/checkpoint")).unwrap()).unwrap();
    let mut lines: Vec<&str> = note.lines().collect();
    let bigger = (lines[1].parse::<u64>().unwrap() + 1).to_string();
    lines[1] = &bigger;
    let forged = lines.join("\n") + "\n";
    put(&format!("{base}/b/checkpoint"), forged.as_bytes());
    tiles_to(&ledger, &format!("s3://{b}/b"), &s3).run().cannot_run(&["roll its readers back"]);
    assert_eq!(get(&format!("{base}/b/checkpoint")).unwrap(), forged.as_bytes());

    // A checkpoint of another log: refused.
    put(&format!("{base}/c/checkpoint"), b"example.com/other\n3\nAAAA\n");
    tiles_to(&ledger, &format!("s3://{b}/c"), &s3).run().cannot_run(&["not a checkpoint of log"]);
}

/// `kpledger serve --publish s3://…`: while the service runs, each newer checkpoint stored
/// (here published beside it with `kpledger log publish`, after more events were ingested) is
/// published with its tiles and entry bundles, and what a tile client reads back from the
/// bucket verifies against it and holds the ledger's events. The ledger is a PostgreSQL
/// database when there is one (a file otherwise). A bucket URL without a bucket stops the
/// service before it starts.
#[test]
fn s3_serve_publishes_each_newer_checkpoint_continuously() {
    use crate::backends::Store;
    use crate::crash::DemoSource;
    use crate::serve::Server;
    let Some(s3) = s3() else { return };
    let t = TempDir::new("s3-serve");
    let src = DemoSource::new(&t);
    let store = Store::postgres().unwrap_or(Store::File);
    let ledger = store.ledger(&t, "publish");
    src.init(&ledger);
    let key = src.init_arg("--key");
    let half = src.files.len() / 2;
    kp!("ingest", "--ledger", &ledger).args(&src.files[1..half]).run().ok();
    kp!("log", "publish", "--ledger", &ledger, "--key", &key).run().ok();
    let b = bucket(&s3, "serve");
    let out = format!("s3://{b}/log");
    let env = [
        ("AWS_ACCESS_KEY_ID", "kpledger-test"),
        ("AWS_SECRET_ACCESS_KEY", "kpledger-test"),
        ("AWS_REGION", "us-east-1"),
    ];
    let flags = ["--publish", out.as_str(), "--publish-every", "1", "--s3-endpoint", s3.as_str()];
    let mut server = Server::start_env(&ledger, &flags, &env);
    let base = format!("{s3}/{b}/log");
    // The checkpoint of `size` events, once the service has published it (bounded wait).
    let published = |size: usize| {
        for _ in 0..600 {
            if let Some(note) = get(&format!("{base}/checkpoint"))
                && String::from_utf8_lossy(&note).lines().nth(1) == Some(size.to_string().as_str())
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the service did not publish the checkpoint of {size} events");
    };
    published(half);
    // More events, a newer checkpoint: published too, without restarting anything.
    kp!("ingest", "--ledger", &ledger).args(&src.files[half..]).run().ok();
    kp!("log", "publish", "--ledger", &ledger, "--key", &key).run().ok();
    published(src.docs.len());
    let log = tile_client::read_log(&mut |rel| get(&format!("{base}/{rel}")));
    assert_eq!(log.size as usize, src.docs.len());
    for (i, doc) in src.docs.iter().enumerate() {
        let hash = kpledger_model::Event::parse(doc.as_bytes()).unwrap().hash;
        assert_eq!(log.entries[i], hash.0.to_vec(), "entry {i}");
    }
    server.kill();
    // An unusable target: refused at the start (exit 2), before listening.
    kp!("serve", "--listen", "127.0.0.1:0", "--ledger", &ledger, "--publish", "s3://")
        .run()
        .cannot_run(&["no bucket name"]);
}
