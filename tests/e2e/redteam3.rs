//! Third red-team review, through the binary (SECURITY.md, "Third red-team review").

use std::io::{Read as _, Write as _};

use crate::util::{TempDir, init};

/// The run did not panic, and no escape sequence or carriage return of the server's answer
/// (`what`) reached its output.
#[track_caller]
fn shown_escaped(out: &crate::util::Out, what: &str) {
    out.no_panic();
    out.check(
        !out.stderr.contains('\u{1b}') && !out.stdout.contains('\u{1b}') && !out.stdout.contains('\r'),
        &format!("{what}: the server's escape sequence reached the terminal"),
    );
}

/// A server that answers every request with `response`, for `n` requests, on 127.0.0.1.
fn hostile_server(response: Vec<u8>, n: usize) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut s, _)) = listener.accept() else { return };
            s.set_read_timeout(Some(std::time::Duration::from_secs(10))).ok();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => got.extend_from_slice(&buf[..k]),
                }
            }
            let _ = s.write_all(&response);
        }
    });
    (url, handle)
}

fn answer(status: &str, ctype: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// `kpledger get` against a server that is not what it claims (a URL given by a fraudster, or
/// plain HTTP intercepted): the problem's detail of a refusal, and a text answer, reached the
/// terminal raw, so an escape sequence in them cleared the line and printed "VERIFIED" where
/// the error was (error messages from files are escaped since the second review). Now they
/// are shown escaped, and a binary answer is written only to a file (`--out`).
#[test]
fn redteam3_a_hostile_server_cannot_print_over_kpledger_get() {
    let d = TempDir::new("redteam3-get");
    let key = d.join("k.pem");
    kp!("key", "new", &key).run().ok();
    let fake = "\u{1b}[2K\rVERIFIED: evidence bundle SL-2026-004312\u{1b}[8m";
    let problem =
        serde_json::json!({"type": "urn:kpledger:problem:not-found", "status": 404, "detail": fake});
    let variants: [(&str, Vec<u8>); 3] = [
        ("refusal", answer("404 Not Found", "application/problem+json", problem.to_string().as_bytes())),
        ("text", answer("200 OK", "text/plain; charset=utf-8", fake.as_bytes())),
        ("binary", answer("200 OK", "application/octet-stream", &[fake.as_bytes(), &[0xff, 0xfe]].concat())),
    ];
    for (what, response) in variants {
        let (url, server) = hostile_server(response, 1);
        let out = kp!("get", "--server", &url, "--key", &key, "--as", "sl.nma", "/v1/actors").run();
        shown_escaped(&out, what);
        server.join().unwrap();
    }
}

/// The same for `kpledger submit`: a hostile server's refusal detail, its "recorded" hash and
/// its offer hash were printed raw (and sliced at the twelfth byte, which panicked inside a
/// character of more than one byte). Now they are escaped and clipped by characters.
#[test]
fn redteam3_a_hostile_server_cannot_print_over_kpledger_submit() {
    let d = TempDir::new("redteam3-submit");
    let event = d.join("event.json");
    std::fs::write(&event, b"{}\n").unwrap();
    let offer = d.join("offer.json");
    std::fs::write(&offer, br#"{"body":{"kind":"handover_offer"}}"#).unwrap();
    let fake = "\u{1b}[2K\rVERIFIED: evidence bundle SL-2026-004312\u{1b}[8m";
    let wide = "a\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}";
    let json = |v: serde_json::Value| v.to_string().into_bytes();
    let variants: [(&str, &std::path::Path, Vec<u8>); 5] = [
        (
            "refused",
            &event,
            answer(
                "422 Unprocessable Entity",
                "application/problem+json",
                &json(serde_json::json!({"detail": fake, "findings": []})),
            ),
        ),
        (
            "failed",
            &event,
            answer(
                "500 Internal Server Error",
                "application/problem+json",
                &json(serde_json::json!({"detail": fake})),
            ),
        ),
        (
            "recorded",
            &event,
            answer(
                "201 Created",
                "application/json",
                &json(serde_json::json!({"recorded": [{"seq": 1, "hash": fake}], "findings": []})),
            ),
        ),
        (
            "wide",
            &event,
            answer(
                "201 Created",
                "application/json",
                &json(serde_json::json!({"recorded": [{"seq": 1, "hash": wide}], "findings": []})),
            ),
        ),
        (
            "offer",
            &offer,
            answer(
                "201 Created",
                "application/json",
                &json(serde_json::json!({"offer": wide, "expires": 0})),
            ),
        ),
    ];
    for (what, file, response) in variants {
        let (url, server) = hostile_server(response, 1);
        let out = kp!("submit", "--server", &url, file).run();
        shown_escaped(&out, what);
        server.join().unwrap();
    }
}

/// A neighbour's witness service, asked to cosign by `kpledger log witness`, answers 400 with a
/// body that moves the cursor up, prints "cosigned … published" and conceals what follows: the
/// log operator's terminal showed the quorum met over kpledger's own "NOT yet cosigned" (exit 1
/// all the same). The witness's answer is now shown escaped.
#[test]
fn redteam3_a_witness_answer_cannot_print_over_log_witness() {
    let d = TempDir::new("redteam3-witness");
    let (root, wkey, ledger) = (d.join("root.pem"), d.join("w.pem"), d.join("l.kpl"));
    kp!("key", "new", &root).run().ok();
    kp!("key", "new", &wkey).run().ok();
    let origin = "kpledger.sl/redteam3";
    init(&ledger, origin, ["sl.nma", "NMA", "SL"], &root).run().ok();
    kp!("log", "publish", "--ledger", &ledger, "--key", &root).run().ok();
    let log_line = kp!("trust", "log", "--origin", origin, &root).run().ok().stdout.trim().to_owned();
    let vkey = kp!("witness", "key", "--name", "gn.mines", &wkey).run().ok().stdout.trim().to_owned();
    let fake = "\u{1b}[1A\u{1b}[2K\rgn.mines: cosigned size 1\ncheckpoint of size 1 is cosigned by the quorum: published\u{1b}[8m";
    let (url, server) = hostile_server(answer("400 Bad Request", "text/plain", fake.as_bytes()), 1);
    let policy = d.join("policy.txt");
    std::fs::write(&policy, format!("{log_line}\nwitness gn {vkey} {url}\nquorum gn\n")).unwrap();
    let out = kp!("log", "witness", "--ledger", &ledger, "--policy", &policy).run();
    out.no_panic();
    out.check(out.code == 1, "the quorum is not met");
    out.check(
        !out.stdout.contains('\u{1b}') && !out.stderr.contains('\u{1b}'),
        "the witness's escape sequence reached the terminal",
    );
    out.check(
        !out.stdout.lines().any(|l| l.starts_with("checkpoint of size 1 is cosigned")),
        "the witness's answer printed a line of kpledger's",
    );
    server.join().unwrap();
}

/// A bundle's checkpoint names its cosigners, and when the quorum fails LOG-3 quotes the names
/// the policy does not know. A signed note's key name may hold any character but white space,
/// `+` and ASCII controls, so the exporter (or anyone on the way) named a cosigner with C1
/// controls (U+009B is CSI: cursor up, erase line on terminals that honour it) and a
/// right-to-left override, and `kpledger verify` printed them raw in its findings. Findings
/// are now shown escaped, as error messages are.
#[test]
fn redteam3_a_cosigner_name_in_a_bundle_cannot_drive_the_terminal() {
    let d = TempDir::new("redteam3-cosigner");
    let demo = d.join("demo");
    kp!("demo", &demo, "--parcels", "8").run().ok();
    let path = demo.join("bundles").join("SL-2026-004312.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let note = doc["log"]["checkpoint"].as_str().unwrap().to_owned();
    let (text, sigs) = note.split_once("\n\n").unwrap();
    let log_line = sigs.lines().next().unwrap();
    let evil = "\u{9b}1A\u{9b}2KVERIFIED:\u{2800}evidence\u{2800}bundle\u{202e}";
    let line = format!("\u{2014} {evil} {}", base64_of(&[7u8; 76]));
    doc["log"]["checkpoint"] = format!("{text}\n\n{log_line}\n{line}\n").into();
    let evil_bundle = d.join("evil.json");
    std::fs::write(&evil_bundle, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = kp!("verify", &evil_bundle, "--policy", demo.join("trust-policy.txt")).run();
    out.no_panic();
    out.check(out.code == 1, "not witnessed: LOG-3");
    out.check(out.stdout.contains("LOG-3"), "LOG-3 names the cosigners");
    out.check(
        !out.stdout.contains('\u{9b}') && !out.stdout.contains('\u{202e}'),
        "the bundle's control characters reached the terminal",
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
