//! Witnesses over the network (C2SP tlog-witness, docs/SPEC.md §13.4): `kpledger witness
//! serve` processes on 127.0.0.1 (port 0) and the log's `kpledger log witness`, every status
//! code of the protocol from a real HTTP request, and the attacks: a fork, a rollback, a log
//! lying about `old`, and witnesses killed with SIGKILL in the middle of requests.
//!
//! The crash test runs `KPLEDGER_WITNESS_KILLS` kills (default 4); `docs/stress.sh` runs 1,000.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use kpledger_model::Hash;
use kpledger_model::SecretKey;
use kpledger_model::hash::sha256;
use kpledger_model::note::{Checkpoint, Note, SignerKey, VerifierKey, Verifiers};
use kpledger_verify::merkle;

use crate::crash::{DemoSource, Rng};
use crate::serve::Server;
use crate::util::{BIN, KillOnDrop, TempDir};

/// A running `kpledger witness serve`; killed when dropped.
struct WitnessProc {
    child: KillOnDrop,
    url: String,
    vkey: String,
    /// Held open: the witness's stdout (closing it would end the witness at its next line).
    _out: BufReader<std::process::ChildStdout>,
}

impl WitnessProc {
    fn start(dir: &TempDir, name: &str, policy: &Path, pause_ms: Option<u64>) -> WitnessProc {
        let key = dir.join(format!("{}.pem", name.replace('/', "_")));
        if !key.exists() {
            kp!("key", "new", &key).run().ok();
        }
        let state = dir.join(format!("{}.state.json", name.replace('/', "_")));
        let mut cmd = Command::new(BIN);
        cmd.args(["witness", "serve", "--name", name, "--listen", "127.0.0.1:0"])
            .arg("--key")
            .arg(&key)
            .arg("--state")
            .arg(&state)
            .arg("--policy")
            .arg(policy)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(ms) = pause_ms {
            cmd.env("KPLEDGER_WITNESS_TEST_PAUSE_MS", ms.to_string());
        }
        let mut child = cmd.spawn().expect("start kpledger witness serve");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = |what: &str| {
            let mut l = String::new();
            out.read_line(&mut l).unwrap_or_else(|e| panic!("reading the witness's {what}: {e}"));
            assert!(!l.is_empty(), "the witness stopped before printing its {what}");
            l.trim_end().to_owned()
        };
        let first = line("address");
        let url =
            first.strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {first:?}")).to_owned();
        let second = line("vkey");
        let vkey =
            second.strip_prefix("witness ").unwrap_or_else(|| panic!("second line: {second:?}")).to_owned();
        WitnessProc { child: KillOnDrop(child), url, vkey, _out: out }
    }

    fn kill(&mut self) {
        self.child.kill();
    }
}

fn agent() -> ureq::Agent {
    kpledger_testkit::http::agent(Duration::from_secs(20), None)
}

/// POSTs `body` to `<url>/add-checkpoint`: status, content type, body. `None` when the
/// connection failed (the witness was killed).
fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Option<(u16, String, String)> {
    let mut r = agent.post(format!("{url}/add-checkpoint")).send(body).ok()?;
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().ok()?;
    Some((status, ct, text))
}

/// A synthetic log of leaves `leaf(i)`, whose checkpoints `log` signs.
struct Log {
    origin: String,
    key: SignerKey,
    leaves: Vec<Hash>,
}

impl Log {
    fn new(origin: &str, seed: u8, leaves: Vec<Hash>) -> Log {
        Log {
            origin: origin.to_owned(),
            key: SignerKey::new(origin, SecretKey::from_seed(&[seed; 32])).unwrap(),
            leaves,
        }
    }
    fn leaves(tag: &str, n: usize) -> Vec<Hash> {
        (0..n).map(|i| Hash(sha256(&[tag.as_bytes(), &(i as u64).to_be_bytes()]))).collect()
    }
    fn root(&self, size: u64) -> Hash {
        merkle::root(&self.leaves[..size as usize])
    }
    fn note(&self, size: u64) -> Vec<u8> {
        Checkpoint::new(&self.origin, size, self.root(size)).unwrap().sign(&self.key).unwrap().to_bytes()
    }
    fn proof(&self, old: u64, size: u64) -> Vec<Hash> {
        if old == 0 || old >= size {
            return Vec::new();
        }
        merkle::consistency_proof(&self.leaves[..size as usize], old).unwrap()
    }
    fn body(&self, old: u64, size: u64) -> Vec<u8> {
        body(old, &self.proof(old, size), &self.note(size))
    }
}

fn body(old: u64, proof: &[Hash], note: &[u8]) -> Vec<u8> {
    let mut b = format!("old {old}\n").into_bytes();
    for h in proof {
        b.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(h.0).as_bytes());
        b.push(b'\n');
    }
    b.push(b'\n');
    b.extend_from_slice(note);
    b
}

/// The witness's cosignature lines verify on the checkpoint, with its vkey.
fn cosignature_verifies(note: &[u8], lines: &str, vkey: &str) -> bool {
    let all = [note, lines.as_bytes()].concat();
    let v = Verifiers::new([VerifierKey::parse(vkey).unwrap()]).unwrap();
    Note::parse(&all).and_then(|n| n.open(&v)).is_ok_and(|o| o.verified().len() == 1)
}

/// Three witnesses with a 2-of-3 policy witness a kpledger log as it grows; a bundle made
/// afterwards verifies under a policy that names only the witnesses' keys (none of them an
/// actor of the ledger); a witness that is down does not stop publication; a log that thinks
/// a witness is behind gets 409 and proves again from the size the witness returns.
/// The witnesses' names as they sign.
const WITNESSES: [&str; 3] = ["witness.example/a", "witness.example/b", "witness.example/c"];

/// A log with three witnesses: the demo's events ready to record in a new ledger (its genesis
/// recorded), three `witness serve` processes witnessing that log, and the log's policy naming
/// them with their URLs, a quorum of two of three.
struct Network {
    src: DemoSource,
    ledger: std::path::PathBuf,
    root_key: String,
    ws: Vec<WitnessProc>,
    policy_file: std::path::PathBuf,
}

impl Network {
    fn start(dir: &TempDir) -> Network {
        let src = DemoSource::new(dir);
        let ledger = dir.join("ledger.kpl");
        src.init(&ledger);
        let root_key = src.init_arg("--key");
        let origin = src.init_arg("--origin");
        let log_line =
            kp!("trust", "log", "--origin", &origin, &root_key).run().ok().stdout.trim().to_owned();
        let logs = dir.join("logs.txt");
        std::fs::write(&logs, format!("{log_line}\nquorum none\n")).unwrap();
        let ws: Vec<WitnessProc> =
            WITNESSES.iter().map(|n| WitnessProc::start(dir, n, &logs, None)).collect();
        let mut policy = format!("{log_line}\n");
        for (i, w) in ws.iter().enumerate() {
            policy.push_str(&format!("witness w{i} {} {}\n", w.vkey, w.url));
        }
        policy.push_str("group two-of-three 2 w0 w1 w2\nquorum two-of-three\n");
        let policy_file = dir.join("witnesses.txt");
        std::fs::write(&policy_file, &policy).unwrap();
        Network { src, ledger, root_key, ws, policy_file }
    }
}

#[test]
fn three_witnesses_cosign_a_growing_log() {
    let dir = TempDir::new("witness-net");
    let Network { src, ledger, root_key, mut ws, policy_file } = Network::start(&dir);
    let policy = std::fs::read_to_string(&policy_file).unwrap();

    let n = src.files.len();
    let steps = [n / 3, 2 * n / 3, n];
    let mut done = 1;
    for (round, &upto) in steps.iter().enumerate() {
        ingest_and_publish(&ledger, &src.files[done..upto], &root_key);
        done = upto;
        if round == 2 {
            // One witness down: two of three still make the quorum.
            ws[2].kill();
        }
        let out = kp!("log", "witness", "--ledger", &ledger, "--policy", &policy_file).run();
        out.ok().stdout_has(&format!("checkpoint of size {upto} is cosigned by the quorum"));
        let cosigned = out.stdout.lines().filter(|l| l.contains(&format!(": cosigned size {upto}"))).count();
        assert_eq!(cosigned, if round == 2 { 2 } else { 3 }, "{}", out.stdout);
        if round == 2 {
            out.stdout_has("w2 (").stdout_has("NOT cosigned");
        }
        if round == 1 {
            // A copy of the ledger has the witnesses cosign a newer checkpoint; the original,
            // which does not know, sends `old` = its last known size, gets 409 and proves again.
            let copy = dir.join("copy.kpl");
            crate::util::copy_ledger(&ledger, &copy);
            kp!("ingest", "--ledger", &copy, &src.files[upto]).run().ok();
            kp!("log", "publish", "--ledger", &copy, "--key", &root_key).run().ok();
            kp!("log", "witness", "--ledger", &copy, "--policy", &policy_file).run().ok();
            kp!("ingest", "--ledger", &ledger, &src.files[upto]).run().ok();
            kp!("log", "publish", "--ledger", &ledger, "--key", &root_key).run().ok();
            let again = kp!("log", "witness", "--ledger", &ledger, "--policy", &policy_file).run();
            again.ok().stdout_has(&format!("cosigned size {} (proved from size {};", upto + 1, upto + 1));
            done = upto + 1;
        }
    }
    // The whole ledger verifies with the external witnesses' cosignatures stored.
    kp!("verify", "--ledger", &ledger).run().ok();

    // A bundle under the newest checkpoint the quorum cosigned verifies under an importer's
    // policy whose only witnesses are these three (issuers from the demo's policy).
    let demo_policy = std::fs::read_to_string(dir.join("demo").join("trust-policy.txt")).unwrap();
    let issuers: String =
        demo_policy.lines().filter(|l| l.starts_with("kpledger-issuer")).map(|l| format!("{l}\n")).collect();
    let importer = dir.join("importer.txt");
    std::fs::write(&importer, format!("{policy}{issuers}")).unwrap();
    let cert = std::fs::read_dir(dir.join("demo").join("bundles")).unwrap().next().unwrap().unwrap().path();
    let number = cert.file_stem().unwrap().to_string_lossy().into_owned();
    let bundle = dir.join("bundle.json");
    kp!("bundle", "--ledger", &ledger, "--certificate", &number, "--out", &bundle, "--policy", &importer)
        .run()
        .ok();
    kp!("verify", &bundle, "--policy", &importer).run().ok().stdout_has(
        "checkpoint cosigned by the trust policy's witnesses: witness.example/a, witness.example/b",
    );
    // A witness line with an ML-DSA-44 key (signature type 0x06 here), which kpledger does not
    // verify, and a 2,420-byte signature line by it on the checkpoint, are ignored.
    let pq_key = [vec![6u8], vec![7u8; 1312]].concat();
    let pq_id = kpledger_model::note::KeyId::compute("witness.example/pq", 6, &pq_key[1..]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let pq_line = format!("witness pq witness.example/pq+{pq_id}+{}\n", b64.encode(&pq_key));
    let with_pq = dir.join("importer-pq.txt");
    std::fs::write(&with_pq, format!("{pq_line}{policy}{issuers}")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let sig = [pq_id.to_bytes().to_vec(), vec![9u8; 2420]].concat();
    let cp = format!(
        "{}\u{2014} witness.example/pq {}\n",
        doc["log"]["checkpoint"].as_str().unwrap(),
        b64.encode(sig)
    );
    doc["log"]["checkpoint"] = serde_json::Value::String(cp);
    let pq_bundle = dir.join("bundle-pq.json");
    std::fs::write(&pq_bundle, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    kp!("verify", &pq_bundle, "--policy", &with_pq)
        .run()
        .ok()
        .stdout_has("witness.example/a, witness.example/b");
    kp!("trust", "check", &with_pq).run().ok().stdout_has("never counts toward the quorum");

    // Under a policy demanding all three, the newest checkpoint (two cosignatures) is not
    // published, and the last one all three cosigned does not hold the certificate's newest
    // events: no bundle yet.
    let all3 = dir.join("all3.txt");
    std::fs::write(
        &all3,
        format!("{}{issuers}", policy.replace("group two-of-three 2", "group two-of-three all")),
    )
    .unwrap();
    let b3 = dir.join("bundle3.json");
    kp!("bundle", "--ledger", &ledger, "--certificate", &number, "--out", &b3, "--policy", &all3)
        .run()
        .cannot_run(&["no published checkpoint covers event"]);
    assert!(!b3.exists());
}

/// Every status code of C2SP tlog-witness add-checkpoint, each from a real request; a fork
/// and an inconsistent extension refused with their evidence kept; a rollback and a log lying
/// about `old` refused; the state survives a restart; one state file serves one process.
#[test]
fn every_status_code_from_a_real_request() {
    let dir = TempDir::new("witness-status");
    let log = Log::new("example.com/test-log", 1, Log::leaves("A", 16));
    let other = Log::new("example.com/other-log", 2, Log::leaves("O", 4));
    let impostor = Log::new("example.com/test-log", 3, Log::leaves("A", 16));
    let empty = Log::new("example.com/empty-log", 4, Vec::new());
    let policy = dir.join("logs.txt");
    std::fs::write(
        &policy,
        format!(
            "log {}\nlog {}\n# a log key of a type kpledger does not verify: read, never an error\nlog example.com/pq-log+{}+BgAAAA==\nquorum none\n",
            log.key.verifier().to_vkey(),
            empty.key.verifier().to_vkey(),
            kpledger_model::note::KeyId::compute("example.com/pq-log", 6, &[0, 0, 0])
        ),
    )
    .unwrap();
    // Bad set-ups are refused before anything listens (exit 2).
    let key = dir.join("bad.pem");
    kp!("key", "new", &key).run().ok();
    let no_logs = dir.join("no-logs.txt");
    std::fs::write(&no_logs, "quorum none\n").unwrap();
    let serve = |policy: &Path, prefix: &str| {
        kp!(
            "witness",
            "serve",
            "--name",
            "w",
            "--key",
            &key,
            "--state",
            dir.join("bad.json"),
            "--policy",
            policy
        )
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--prefix")
        .arg(prefix)
        .run()
    };
    serve(&no_logs, "").cannot_run(&["no `log` line"]);
    serve(&policy, "witness/").cannot_run(&["--prefix"]);
    assert!(!dir.join("bad.json").exists());
    let mut w = WitnessProc::start(&dir, "witness.example/w", &policy, None);
    let a = agent();
    let status = |b: &[u8]| post(&a, &w.url, b).expect("the witness answers");

    assert_eq!(status(&other.body(0, 4)).0, 404, "unknown origin");
    assert_eq!(status(&impostor.body(0, 4)).0, 403, "signed by a key not trusted for the origin");
    assert_eq!(status(b"old 01\n\nx").0, 400, "malformed old line");
    assert_eq!(status(&log.body(5, 4)).0, 400, "old larger than the checkpoint's size");
    let mut wrong_empty = body(
        0,
        &[],
        &Checkpoint::new(&empty.origin, 0, Hash([9; 32])).unwrap().sign(&empty.key).unwrap().to_bytes(),
    );
    assert_eq!(status(&wrong_empty).0, 422, "a size-0 checkpoint with a root other than the empty tree's");
    wrong_empty = empty.body(0, 0);
    assert_eq!(status(&wrong_empty).0, 200, "the empty tree, with its root");

    let (code, _, lines) = status(&log.body(0, 4));
    assert_eq!(code, 200);
    assert!(
        lines.starts_with("\u{2014} witness.example/w ")
            && cosignature_verifies(&log.note(4), &lines, &w.vkey),
        "{lines}"
    );
    // Unknown signature lines (another log key, a post-quantum cosignature) are ignored.
    let mut noisy = Note::parse(&log.note(4)).unwrap();
    noisy
        .add_signature(
            kpledger_model::note::Signature::new(
                "pq.example/witness",
                kpledger_model::note::KeyId(7),
                vec![1; 2420],
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(
        status(&body(4, &[], &noisy.to_bytes())).0,
        200,
        "same checkpoint again, with an unknown signature line"
    );

    // A log lying about `old` (0, or a size it never got cosigned) gets 409 with the size.
    for lie in [0, 2] {
        let (code, ct, text) = status(&log.body(lie, 8));
        assert_eq!((code, ct.as_str(), text.as_str()), (409, "text/x.tlog.size", "4\n"), "old {lie}");
    }
    // A bad proof: 422, and the evidence is kept (it may be the log's misbehaviour).
    let bad = body(4, &[Hash([1; 32]), Hash([2; 32])], &log.note(8));
    assert_eq!(status(&bad).0, 422);
    assert_eq!(status(&log.body(4, 8)).0, 200, "the right proof");

    // A fork at the cosigned size: 422 (tlog-witness v1.1.0), the evidence kept.
    let fork = Log::new("example.com/test-log", 1, Log::leaves("B", 16));
    let (code, _, text) = status(&fork.body(8, 8));
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("fork") && text.contains("kept both signed checkpoints as evidence"), "{text}");
    // A rollback: a smaller checkpoint, with the honest old (400) or a lying one (409).
    assert_eq!(status(&log.body(8, 6)).0, 400);
    assert_eq!(status(&log.body(6, 6)).0, 409);
    // A longer forked history is not a consistent extension: 422.
    assert_eq!(status(&body(8, &fork.proof(8, 12), &fork.note(12))).0, 422);

    let evidence: Vec<String> = std::fs::read_dir(dir.join("witness.example_w.state.json.evidence"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let fork_note = String::from_utf8(fork.note(8)).unwrap();
    let cosigned_note = String::from_utf8(log.note(8)).unwrap();
    let kept = evidence.iter().find(|e| e.contains("fork")).expect("the fork's evidence is kept");
    let kept: serde_json::Value = serde_json::from_str(kept).unwrap();
    assert_eq!(
        (kept["cosigned"].as_str().unwrap(), kept["offered"].as_str().unwrap()),
        (cosigned_note.as_str(), fork_note.as_str())
    );
    assert!(evidence.len() >= 3, "the bad proof, the fork and the forked extension: {}", evidence.len());

    // The monitoring endpoint: the last cosigned checkpoint with this witness's cosignature.
    let h = hex::encode(sha256(&[log.origin.as_bytes()]));
    let mut r = a.get(format!("{}/{h}/checkpoint", w.url)).call().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let got = r.body_mut().read_to_string().unwrap();
    let (note_part, sig_part) = got.split_at(cosigned_note.len());
    assert!(
        got.starts_with(&cosigned_note) && cosignature_verifies(note_part.as_bytes(), sig_part, &w.vkey),
        "{got}"
    );
    assert_eq!(
        a.get(format!("{}/{}/checkpoint", w.url, "00".repeat(32))).call().unwrap().status().as_u16(),
        404
    );

    // The state is durable: after SIGKILL and a restart the witness still holds size 8.
    w.kill();
    // One state file, one process.
    let w2 = WitnessProc::start(&dir, "witness.example/w", &policy, None);
    let second = kp!(
        "witness",
        "serve",
        "--name",
        "witness.example/w",
        "--key",
        dir.join("witness.example_w.pem"),
        "--state",
        dir.join("witness.example_w.state.json"),
        "--policy",
        &policy,
        "--listen",
        "127.0.0.1:0"
    )
    .run();
    second.cannot_run(&["in use by another witness process"]);
    let (code, _, text) = post(&a, &w2.url, &log.body(4, 12)).unwrap();
    assert_eq!((code, text.as_str()), (409, "8\n"));
    assert_eq!(post(&a, &w2.url, &log.body(8, 12)).unwrap().0, 200);
}

/// Witnesses killed with SIGKILL at pseudo-random moments while a log and a forked log send
/// them checkpoints (each witness waits a little between its decision and its durable write,
/// so kills land there): after every restart, no witness has cosigned two inconsistent
/// checkpoints, and what it remembers is never older than the last checkpoint it answered for.
/// When a witness has cosigned the whole log, the next rounds use a new witness state.
#[test]
fn sigkill_never_cosigns_two_inconsistent_checkpoints() {
    let kills: usize = std::env::var("KPLEDGER_WITNESS_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let seed: u64 =
        std::env::var("KPLEDGER_STRESS_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(20_261_205);
    let dir = TempDir::new("witness-kill");
    const N: usize = 64;
    const FORK_AT: usize = 6;
    // One leaf more than is ever offered for cosigning: the probe below uses a checkpoint of
    // that size, which the witness can never hold.
    let a_leaves = Log::leaves("A", N + 1);
    let mut b_leaves = a_leaves.clone();
    b_leaves[FORK_AT..].copy_from_slice(&Log::leaves("B", N + 1)[FORK_AT..]);
    let logs = [Log::new("example.com/k", 1, a_leaves), Log::new("example.com/k", 1, b_leaves)];
    let policy = dir.join("logs.txt");
    std::fs::write(&policy, format!("log {}\nquorum none\n", logs[0].key.verifier().to_vkey())).unwrap();
    let a = agent();
    let mut rng = Rng::new(seed);
    // Every checkpoint a witness cosigned, per witness state (epoch): (history, size).
    let mut epochs: Vec<Vec<(usize, u64)>> = vec![Vec::new()];
    let mut current = 0u64;
    let started = Instant::now();
    for round in 0..kills {
        if current >= N as u64 {
            epochs.push(Vec::new());
            current = 0;
        }
        let name = format!("witness.example/k{}", epochs.len());
        let w = WitnessProc::start(&dir, &name, &policy, Some(15));
        let url = w.url.clone();
        let pid = w.child.0.id();
        let delay = Duration::from_millis(5 + rng.below(60));
        // kill -9 of the child this test started, by its pid.
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        });
        let cosigned = epochs.last_mut().unwrap();
        for _ in 0..20 {
            if current >= N as u64 {
                break;
            }
            let h = rng.below(2) as usize;
            let size = current + 1 + rng.below((N as u64 - current).min(8));
            match post(&a, &url, &logs[h].body(current, size)) {
                Some((200, _, lines)) => {
                    assert!(cosignature_verifies(&logs[h].note(size), &lines, &w.vkey));
                    cosigned.push((h, size));
                    current = size;
                }
                // The witness is elsewhere (it recorded a decision it could not answer for).
                Some((409, _, text)) => current = text.trim().parse().unwrap(),
                Some((422, _, _)) => {}
                Some(other) => panic!("seed {seed}, round {round}: unexpected answer {other:?}"),
                None => break,
            }
        }
        killer.join().unwrap();
        drop(w);
        let limit = Duration::from_secs(60 + kills as u64);
        assert!(started.elapsed() < limit, "seed {seed}: the crash test took more than {limit:?}");
        // What the restarted witness remembers is never older than what it answered for.
        let w = WitnessProc::start(&dir, &name, &policy, None);
        // Asked with `old` = a size it cannot hold, it answers 409 with the size it holds.
        let probe = N as u64 + 1;
        let (code, _, text) = post(&a, &w.url, &logs[0].body(probe, probe)).unwrap();
        assert_eq!(code, 409, "seed {seed}: {text}");
        let remembered: u64 = text.trim().parse().unwrap();
        let last = cosigned.last().map_or(0, |c| c.1);
        assert!(remembered >= last, "seed {seed}: the witness forgot size {last}, remembers {remembered}");
        current = remembered;
    }
    let total: usize = epochs.iter().map(Vec::len).sum();
    assert!(total > 0, "seed {seed}: nothing was cosigned in {kills} rounds");
    for cosigned in &epochs {
        // Beyond the fork point, one history only; sizes never go back; one root per size.
        let beyond: std::collections::BTreeSet<usize> =
            cosigned.iter().filter(|(_, s)| *s as usize > FORK_AT).map(|(h, _)| *h).collect();
        assert!(
            beyond.len() <= 1,
            "seed {seed}: the witness cosigned both histories beyond the fork: {cosigned:?}"
        );
        for w in cosigned.windows(2) {
            assert!(w[1].1 >= w[0].1, "seed {seed}: a rollback was cosigned: {cosigned:?}");
        }
        let mut by_size: BTreeMap<u64, usize> = BTreeMap::new();
        for (h, s) in cosigned {
            assert_eq!(*by_size.entry(*s).or_insert(*h), *h, "seed {seed}: two roots cosigned at size {s}");
        }
    }
}

/// The aics-witness / aics-tlog packages (PyPI; C2SP tlog-witness, tlog-cosignature and
/// tlog-checkpoint written independently of kpledger) in a Python virtual environment:
/// `KPLEDGER_INTEROP_VENV` (`.ci/run` makes it and sets `KPLEDGER_REQUIRE_INTEROP=1`, so CI
/// fails without it; elsewhere the interoperability tests say they were skipped).
fn interop_venv() -> Option<std::path::PathBuf> {
    let venv = std::env::var_os("KPLEDGER_INTEROP_VENV").map(std::path::PathBuf::from);
    match venv.filter(|v| v.join("bin").join("aics-witness").exists()) {
        Some(v) => Some(v),
        None if std::env::var_os("KPLEDGER_REQUIRE_INTEROP").is_some_and(|v| v == "1") => panic!(
            "KPLEDGER_REQUIRE_INTEROP=1 but KPLEDGER_INTEROP_VENV does not hold aics-witness: \
             python3.12 -m venv DIR && DIR/bin/pip install aics-witness==0.1.0 aics-tlog==0.2.1"
        ),
        None => {
            eprintln!("skipped: no aics-witness (KPLEDGER_INTEROP_VENV); .ci/run installs it");
            None
        }
    }
}

/// An aics-witness (not written here) cosigns kpledger's checkpoints as `log witness` sends
/// them; kpledger verifies and stores its cosignatures; a bundle verifies under a policy whose
/// only witness is it.
#[test]
fn interop_foreign_witness_cosigns_kpledger_checkpoints() {
    let Some(venv) = interop_venv() else { return };
    let dir = TempDir::new("interop-witness");
    let src = DemoSource::new(&dir);
    let ledger = dir.join("ledger.kpl");
    src.init(&ledger);
    let root_key = src.init_arg("--key");
    let origin = src.init_arg("--origin");
    let log_line = kp!("trust", "log", "--origin", &origin, &root_key).run().ok().stdout.trim().to_owned();
    let aw = venv.join("bin").join("aics-witness");
    let config = dir.join("aics.json");
    let run = |args: &[&str]| {
        let out = Command::new(&aw).args(args).output().expect("run aics-witness");
        assert!(out.status.success(), "aics-witness {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let c = config.to_str().unwrap();
    let vkey = run(&["init", "--config", c, "--name", "witness.example/aics", "--listen", "127.0.0.1:0"])
        .trim()
        .to_owned();
    run(&["add-log", "--config", c, "--origin", &origin, "--vkey", log_line.strip_prefix("log ").unwrap()]);
    // kpledger's checkpoints carry one extension line (`kpledger-previous`, docs/SPEC.md
    // §13.1), which aics-witness accepts only for logs configured so.
    let mut cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    for l in cfg["logs"].as_array_mut().unwrap() {
        l["extension_lines"] = serde_json::Value::Bool(true);
    }
    std::fs::write(&config, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    let mut child = Command::new(&aw)
        .args(["serve", "--config", c])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut url = None;
    for _ in 0..50 {
        let mut l = String::new();
        if err.read_line(&mut l).unwrap_or(0) == 0 {
            break;
        }
        if let Some((_, rest)) = l.split_once("listening on ") {
            url = rest.split_whitespace().next().map(str::to_owned);
            break;
        }
    }
    let Some(url) = url else {
        let _ = KillOnDrop(child);
        panic!("aics-witness did not say where it listens");
    };
    let _drain = std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    let policy = dir.join("policy.txt");
    std::fs::write(&policy, format!("{log_line}\nwitness aics {vkey} {url}\nquorum aics\n")).unwrap();
    let n = src.files.len();
    let mut done = 1;
    let _guard = KillOnDrop(child);
    {
        for upto in [n / 2, n] {
            ingest_and_publish(&ledger, &src.files[done..upto], &root_key);
            done = upto;
            kp!("log", "witness", "--ledger", &ledger, "--policy", &policy)
                .run()
                .ok()
                .stdout_has(&format!("aics ({url}): cosigned size {upto}"))
                .stdout_has("cosigned by the quorum");
        }
        kp!("verify", "--ledger", &ledger).run().ok();
        let demo_policy = std::fs::read_to_string(dir.join("demo").join("trust-policy.txt")).unwrap();
        let issuers: String = demo_policy
            .lines()
            .filter(|l| l.starts_with("kpledger-issuer"))
            .map(|l| format!("{l}\n"))
            .collect();
        let importer = dir.join("importer.txt");
        std::fs::write(&importer, format!("{}{issuers}", std::fs::read_to_string(&policy).unwrap())).unwrap();
        let cert =
            std::fs::read_dir(dir.join("demo").join("bundles")).unwrap().next().unwrap().unwrap().path();
        let number = cert.file_stem().unwrap().to_string_lossy().into_owned();
        let bundle = dir.join("bundle.json");
        kp!("bundle", "--ledger", &ledger, "--certificate", &number, "--out", &bundle, "--policy", &importer)
            .run()
            .ok();
        kp!("verify", &bundle, "--policy", &importer)
            .run()
            .ok()
            .stdout_has("checkpoint cosigned by the trust policy's witnesses: witness.example/aics");
    }
}

/// kpledger's witness cosigns the checkpoints of a log it did not make (built, signed and
/// submitted with aics-tlog and aics-witness's client, which verifies each cosignature with
/// the witness's vkey), and refuses that log's fork.
#[test]
fn interop_kpledger_witness_cosigns_a_foreign_log() {
    let Some(venv) = interop_venv() else { return };
    let dir = TempDir::new("interop-log");
    let py = venv.join("bin").join("python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("interop").join("foreign_log.py");
    let seed = "11".repeat(32);
    let origin = "example.net/foreign";
    let out = Command::new(&py).arg(&script).args(["vkey", origin, &seed]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log_vkey = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let policy = dir.join("logs.txt");
    std::fs::write(&policy, format!("log {log_vkey}\nquorum none\n")).unwrap();
    let w = WitnessProc::start(&dir, "witness.example/kp", &policy, None);
    let out =
        Command::new(&py).arg(&script).args(["submit", origin, &seed, &w.url, &w.vkey]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "{text}");
    for l in &lines[..3] {
        assert_eq!(l["cosigned"], true, "{l}");
        // kpledger checks the cosignature too, on the foreign note.
        assert!(cosignature_verifies(
            l["note"].as_str().unwrap().as_bytes(),
            l["lines"].as_str().unwrap(),
            &w.vkey
        ));
    }
    assert_eq!(
        (lines[3]["fork"].as_bool(), lines[3]["cosigned"].as_bool()),
        (Some(true), Some(false)),
        "{text}"
    );
    assert!(lines[3]["error"].as_str().unwrap().contains("422"), "{text}");
}

/// `kpledger serve --checkpoint-key … --witness-policy …`: the service publishes checkpoints
/// as the log grows and sends each to the policy's witnesses itself (C2SP tlog-witness),
/// storing their cosignatures; no `kpledger log witness` is run. With one witness of three
/// stopped, the other two still cosign the newest checkpoint (the policy's 2-of-3 quorum).
#[test]
fn serve_sends_its_checkpoints_to_the_witnesses() {
    let dir = TempDir::new("serve-witnessing");
    let Network { src, ledger, root_key, mut ws, policy_file } = Network::start(&dir);
    let server = serve_witnessing(&ledger, &root_key, &policy_file, &[]);

    let half = src.files.len() / 2;
    submit(&server.url, &src.files[1..half]);
    let by = wait_for_cosigned(&ledger, half as u64, 3);
    assert_eq!(by.len(), 3, "{by:?}");
    // One witness down: the next checkpoint is cosigned by the other two, the quorum.
    ws[2].kill();
    submit(&server.url, &src.files[half..]);
    let by = wait_for_cosigned(&ledger, src.files.len() as u64, 2);
    assert!(!by.contains(&WITNESSES[2]), "{by:?}");
    drop(server);
    // The ledger, with the cosignatures the service stored, verifies.
    kp!("verify", "--ledger", &ledger).run().ok();
}

/// Witnesses at https:// URLs whose certificate no public authority issued (a neighbour's
/// witness behind its authority's private CA): `kpledger log witness --ca-cert FILE` and
/// `kpledger serve --witness-ca-cert FILE` trust that CA for them, and they cosign. Without
/// it the witness's certificate is refused, so it cosigns nothing and a policy that needs it
/// is not met (exit 1).
#[test]
fn witnesses_behind_a_private_ca_cosign_with_ca_cert() {
    let dir = TempDir::new("witness-tls");
    let Network { src, ledger, root_key, ws, policy_file } = Network::start(&dir);
    let (ca, ca_pem) = crate::remote::private_ca(dir.path());
    let front = crate::remote::tls_front(dir.path(), &ws[0].url, &ca);
    // The first witness only at its https:// front, and all three needed.
    let policy = std::fs::read_to_string(&policy_file)
        .unwrap()
        .replace(&format!(" {}\n", ws[0].url), &format!(" {front}\n"))
        .replace("group two-of-three 2", "group two-of-three all");
    assert!(policy.contains(&front), "{policy}");
    let tls_policy = dir.join("tls-policy.txt");
    std::fs::write(&tls_policy, &policy).unwrap();

    let half = src.files.len() / 2;
    ingest_and_publish(&ledger, &src.files[1..half], &root_key);
    let refused = kp!("log", "witness", "--ledger", &ledger, "--policy", &tls_policy).run();
    refused.code(1).stdout_has(&format!("w0 ({front}")).stdout_has("NOT cosigned").stdout_has("certificate");
    let cosigned =
        kp!("log", "witness", "--ledger", &ledger, "--policy", &tls_policy, "--ca-cert", &ca_pem).run();
    cosigned.ok().stdout_has(&format!("checkpoint of size {} is cosigned by the quorum", half));
    assert_eq!(cosigned.stdout.matches(&format!(": cosigned size {half}")).count(), 3, "{}", cosigned.stdout);

    // The service, told to trust the CA for its witnesses, has its next checkpoints cosigned
    // by all three.
    let ca = ca_pem.to_str().unwrap();
    let server = serve_witnessing(&ledger, &root_key, &tls_policy, &["--witness-ca-cert", ca]);
    submit(&server.url, &src.files[half..]);
    assert_eq!(wait_for_cosigned(&ledger, src.files.len() as u64, 3).len(), 3);
    drop(server);
    kp!("verify", "--ledger", &ledger).run().ok();
}

/// `kpledger serve` on 127.0.0.1 (port 0) over `ledger`, publishing a checkpoint with
/// `root_key` every second and sending it to the witnesses of `policy`, with `flags` besides
/// (killed when dropped).
fn serve_witnessing(ledger: &Path, root_key: &str, policy: &Path, flags: &[&str]) -> Server {
    let policy = policy.to_str().unwrap();
    let witnessing = ["--checkpoint-every", "1", "--checkpoint-key", root_key, "--witness-policy", policy];
    let server = Server::start_with(ledger, &[&witnessing[..], flags].concat());
    assert!(server.url.starts_with("http://127.0.0.1:"), "{}", server.url);
    server
}

/// Submits `files` to the server at `url`.
fn submit(url: &str, files: &[std::path::PathBuf]) {
    kp!("submit", "--server", url).args(files).run().ok();
}

/// The newest stored checkpoint's size, and which of the [`WITNESSES`] cosigned it.
fn newest_cosigned(ledger: &Path) -> (u64, Vec<&'static str>) {
    let conn =
        rusqlite::Connection::open_with_flags(ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let row: Option<(i64, String)> = conn
        .query_row("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .ok();
    let Some((size, note)) = row else { return (0, Vec::new()) };
    let by = WITNESSES
        .iter()
        .copied()
        .filter(|n| note.lines().any(|l| l.starts_with(&format!("— {n} "))))
        .collect();
    (size as u64, by)
}

/// Waits (at most 60 s) until the newest checkpoint covers `size` and is cosigned by `want`
/// witnesses; returns them.
fn wait_for_cosigned(ledger: &Path, size: u64, want: usize) -> Vec<&'static str> {
    let start = Instant::now();
    loop {
        let (s, by) = newest_cosigned(ledger);
        if s == size && by.len() >= want {
            return by;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "after 60 s the newest checkpoint is of size {s} (want {size}), cosigned by {by:?} (want {want})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The README's "Witnessing over the network" as `docs/witness-network.sh` runs it: three
/// ledgers and three witness servers (on free ports of 127.0.0.1), each log cosigned by its two
/// neighbours, a grown log re-proved after a 409, and a forked copy refused with evidence kept.
/// The script stops its witnesses and removes its directory when it ends.
#[test]
fn the_readme_witness_network_runs() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/witness-network.sh");
    let mut child = Command::new("bash")
        .arg(&script)
        .env("KPLEDGER_BIN", BIN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run docs/witness-network.sh");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("docs/witness-network.sh still ran after 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "listening on http://127.0.0.1:",
        "checkpoint of size 1 is cosigned by the quorum",
        "cosigned size 2 (proved from size 1;",
        "checkpoint of size 2 is cosigned by the quorum",
        "refused (409): this witness last cosigned size 2 of this log, not 1",
        "the witness answered 422: fork: the log signed two checkpoints of size 2 with different roots",
        "checkpoint of size 2 is NOT yet cosigned by the quorum",
        "evidence kept in lr-witness.json.evidence/",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
    assert!(!stdout.contains(":7381") && !stdout.contains("127.0.0.1:0\n"), "{stdout}");
}

/// Ingests `files` into `ledger`, and the root authority (`root_key`) publishes a checkpoint.
fn ingest_and_publish(ledger: &Path, files: &[std::path::PathBuf], root_key: &str) {
    kp!("ingest", "--ledger", ledger).args(files).run().ok();
    kp!("log", "publish", "--ledger", ledger, "--key", root_key).run().ok();
}
