//! Bounded memory on hostile input (issue 14, item 7): a 16 MiB bundle whose `events` array
//! holds empty objects reached 17 GB of resident memory before exiting 2. Each case here runs
//! the real binary on a hostile file of just under the 16 MiB input limit, under GNU time
//! (`/usr/bin/time -f %M`: the peak resident set the kernel reports for the child when it is
//! reaped, so no sample can miss the peak), and asserts the exit code, the message and a peak
//! below 64 MiB + 4 × the input's size.

use std::path::Path;
use std::process::Stdio;

use crate::util::{BIN, TempDir, child};

/// The input limit of every kpledger command (a signed document is never larger).
const MAX_INPUT: usize = 16 * 1024 * 1024;

/// A document of just under the input limit: `head`, then `item` repeated with `sep`, then
/// `tail`.
fn filled(head: &str, item: &str, sep: &str, tail: &str) -> Vec<u8> {
    let room = MAX_INPUT - 64 - head.len() - tail.len();
    let n = room / (item.len() + sep.len());
    let mut out = Vec::with_capacity(MAX_INPUT);
    out.extend_from_slice(head.as_bytes());
    for i in 0..n {
        if i > 0 {
            out.extend_from_slice(sep.as_bytes());
        }
        out.extend_from_slice(item.as_bytes());
    }
    out.extend_from_slice(tail.as_bytes());
    out
}

/// Runs kpledger with `args` under GNU time; its exit code, stderr and peak resident memory
/// in KiB.
fn peak_of(args: &[&std::ffi::OsStr], dir: &Path) -> (i32, String, u64) {
    let time = Path::new("/usr/bin/time");
    assert!(
        time.exists(),
        "these tests measure a child's peak memory with GNU time: install it (Debian: `apt-get install time`)"
    );
    let report = dir.join("time.txt");
    let out = child(time)
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .arg(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&report).unwrap();
    let kib: u64 = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time wrote {text:?}"));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned(), kib)
}

/// The hostile file `name` made of `bytes`, run by each of `commands` (`{file}` stands for
/// it): each exits 2, says `phrase`, and peaks under 64 MiB + 4 × the file's size.
fn bounded(dir: &TempDir, name: &str, bytes: &[u8], commands: &[&[&str]], phrase: &str) {
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    let limit_kib = (64 * 1024 * 1024 + 4 * bytes.len() as u64) / 1024;
    for command in commands {
        let args: Vec<&std::ffi::OsStr> = command
            .iter()
            .map(|a| if *a == "{file}" { file.as_os_str() } else { std::ffi::OsStr::new(a) })
            .collect();
        let (code, stderr, peak) = peak_of(&args, dir.path());
        let shown = format!("kpledger {} on {name}", command.join(" "));
        assert_eq!(code, 2, "{shown}: exit code {code}\n{stderr}");
        assert!(stderr.contains(phrase), "{shown}: stderr should mention {phrase:?}\n{stderr}");
        assert!(
            peak < limit_kib,
            "{shown}: peak resident memory {} MiB, over the bound {} MiB",
            peak / 1024,
            limit_kib / 1024
        );
    }
}

#[test]
fn hostile_inputs_of_16_mib_are_refused_in_bounded_memory() {
    let dir = TempDir::new("memory");
    // The demo's trust policy: a bundle is read only under one.
    kp!("demo", dir.join("demo"), "--parcels", "8").run().ok();
    let policy = dir.join("demo").join("trust-policy.txt");
    let policy = policy.to_str().unwrap();
    let ledger = dir.join("none.kpl");
    let ledger = ledger.to_str().unwrap();
    let head = r#"{"format":"kpledger/bundle/v1","ledger":"kpledger.sl/national","certificate":"SL-2026-000001","heads":{},"log":{"checkpoint":"","proofs":[]},"events":["#;
    // The attack: millions of empty objects as events. Verification and the report read the
    // first, which is no event, and stop.
    bounded(
        &dir,
        "bundle-of-empty-events.json",
        &filled(head, "{}", ",", "]}"),
        &[
            &["verify", "{file}", "--policy", policy],
            &["report", "--bundle", "{file}", "--policy", policy, "--html", "report.html"],
        ],
        "bundle event 1 is not a valid signed kpledger event",
    );
    // Variants: empty arrays as events; empty objects where the proofs go (not streamed:
    // refused by the strict reader's bound on memory); one event that is an array of millions
    // of empty objects.
    let verify = |name: &str, bytes: &[u8], phrase: &str| {
        bounded(&dir, name, bytes, &[&["verify", "{file}", "--policy", policy]], phrase);
    };
    verify(
        "bundle-of-empty-arrays.json",
        &filled(head, "[]", ",", "]}"),
        "bundle event 1 is not a valid signed kpledger event",
    );
    let proofs_head = r#"{"format":"kpledger/bundle/v1","events":[],"log":{"checkpoint":"","proofs":["#;
    verify("bundle-of-empty-proofs.json", &filled(proofs_head, "{}", ",", "]}}"), "far more JSON values");
    let one_huge_event = filled(&format!("{head}["), "{}", ",", "]]}");
    verify("bundle-of-one-huge-event.json", &one_huge_event, "far more JSON values");
    // Documents kpledger does not sign are read within the same bound: an EPCIS document to
    // check against the ledger, and a consistency proof given to a witness.
    let demo = dir.join("demo");
    let ledger_of_demo = demo.join("ledger.kpl");
    let checkpoint = demo.join("checkpoint.txt");
    std::fs::write(&checkpoint, "not yet read\n").unwrap();
    let (log_key, nma, state, out) = (
        demo.join("keys/mru.secretariat.pub"),
        demo.join("keys/sl.nma.pem"),
        demo.join("witness-state.json"),
        demo.join("cosigned.txt"),
    );
    let s = |p: &std::path::PathBuf| p.to_str().unwrap().to_owned();
    let (ledger_of_demo, checkpoint, log_key, nma, state, out) =
        (s(&ledger_of_demo), s(&checkpoint), s(&log_key), s(&nma), s(&state), s(&out));
    bounded(
        &dir,
        "epcis-of-empty-objects.json",
        &filled(r#"{"epcisBody":{"eventList":["#, "{}", ",", "]}}"),
        &[&["epcis", "check", "{file}", "--ledger", &ledger_of_demo]],
        "far more JSON values",
    );
    bounded(
        &dir,
        "proof-of-empty-objects.json",
        &filled(r#"{"proof":["#, "{}", ",", "]}"),
        &[&[
            "witness",
            "cosign",
            &checkpoint,
            "--log-origin",
            "kpledger.mru/regional",
            "--log-key",
            &log_key,
            "--name",
            "sl.nma",
            "--key",
            &nma,
            "--state",
            &state,
            "--proof",
            "{file}",
            "--out",
            &out,
        ]],
        "far more JSON values",
    );
    // `ingest` of a JSONL file of empty objects: refused at its first line.
    bounded(
        &dir,
        "events.jsonl",
        &filled("", "{}", "\n", "\n"),
        &[&["ingest", "--ledger", ledger, "{file}"], &["ingest", "--ledger", ledger, "--dry-run", "{file}"]],
        "events.jsonl is not a valid signed kpledger event",
    );
    // ... and of one JSON document made of empty objects.
    bounded(
        &dir,
        "event.json",
        &filled("[", "{}", ",", "]"),
        &[&["ingest", "--ledger", ledger, "{file}"]],
        "far more JSON values",
    );
}
