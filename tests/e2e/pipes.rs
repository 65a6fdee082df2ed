//! Output commands never panic on a closed pipe (`kpledger parcel history … | head -1`,
//! `kpledger graph … --format dot | dot -Tpng` without Graphviz): they stop quietly, as Unix
//! tools do, ended by SIGPIPE, with nothing on stderr.

use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{BIN, TempDir, child};

/// Runs `args` with its standard output a pipe whose reading end is already closed, as after
/// `| head -c 1` has read its byte, or `| dot` that could not start: every write fails.
/// Returns the exit status and stderr.
fn run_into_closed_pipe(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child =
        child(Path::new(BIN)).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take()); // the reader is gone before the first write
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("`kpledger {}` into a closed pipe did not finish within 120 s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (status, reader.join().unwrap())
}

#[test]
fn output_commands_stop_quietly_on_a_closed_pipe() {
    let dir = TempDir::new("pipes");
    let demo = dir.join("demo");
    let demo_s = demo.to_str().unwrap();
    let run = kp!("demo", demo_s, "--parcels", "8").run();
    run.ok();
    let ledger = demo.join("ledger.kpl");
    let l = ledger.to_str().unwrap();
    let parcels = kp!("parcel", "list", "--ledger", l, "--json").run();
    let parcels = parcels.ok().json();
    let parcel =
        parcels.as_array().and_then(|a| a.first()).and_then(|p| p["id"].as_str()).unwrap().to_owned();
    let certs = kp!("certificate", "list", "--ledger", l, "--json").run();
    let certs = certs.ok().json();
    let cert = certs
        .as_array()
        .and_then(|a| a.first())
        .and_then(|c| c["certificate"]["number"].as_str())
        .unwrap()
        .to_owned();

    let trust = demo.join("trust-policy.txt");
    let commands: Vec<Vec<&str>> = vec![
        vec!["rules"],
        vec!["rules", "--json"],
        vec!["--help"],
        vec!["verify", "--ledger", l],
        vec!["verify", "--ledger", l, "--json"],
        vec!["verify", "--ledger", l, "--red-flags"],
        vec!["actor", "list", "--ledger", l],
        vec!["site", "list", "--ledger", l],
        vec!["parcel", "list", "--ledger", l],
        vec!["parcel", "list", "--ledger", l, "--json"],
        vec!["parcel", "history", &parcel, "--ledger", l],
        vec!["parcel", "history", &parcel, "--ledger", l, "--json"],
        vec!["certificate", "list", "--ledger", l],
        vec!["stats", "--ledger", l, "--period", "2026-Q1"],
        vec!["stats", "--ledger", l, "--period", "2026-Q1", "--json"],
        vec!["stats", "--ledger", l, "--period", "2026-Q1", "--csv"],
        vec!["graph", &cert, "--ledger", l, "--format", "dot"],
        vec!["graph", &cert, "--ledger", l, "--format", "svg"],
        vec!["log", "head", "--ledger", l],
        vec!["log", "head", "--ledger", l, "--json"],
        vec!["policy", "show", "SL"],
        vec!["policy", "new", "--country", "BE"],
        vec!["trust", "check", trust.to_str().unwrap()],
    ];
    let mut failures = Vec::new();
    for args in &commands {
        let (status, stderr) = run_into_closed_pipe(args);
        let quiet = status.success() || status.signal() == Some(13); // SIGPIPE
        if !quiet || stderr.contains("panicked") || !stderr.trim().is_empty() {
            failures.push(format!("kpledger {}: {status}, stderr: {}", args.join(" "), stderr.trim()));
        }
    }
    assert!(failures.is_empty(), "commands that did not stop quietly:\n  {}", failures.join("\n  "));
}
