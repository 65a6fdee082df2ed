//! `--server URL` on the commands that read or sign against a ledger: `kpledger serve` on
//! 127.0.0.1 port 0, and the trade signing from their own machines with nothing but their key
//! files: the parcel's head is read from the server with signed requests and the events are
//! submitted to it; the authority enrols and revokes an actor the same way. The server's file
//! then verifies whole. Refusals are clear: a parcel another
//! actor holds (403, exit 1), a key that is not the actor's (401), an event the rules refuse
//! (422, exit 1, the rule codes printed: a stale offer, a consumed parcel), a prefix the server
//! cannot complete,
//! a server that is not there (exit 2). An https:// server whose certificate a private CA
//! issued, or self-signed, is trusted with `--ca-cert` and refused without it.

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
    let enrol = format!(
        "actor enrol --id sl.dealer.bah --name Bah --role dealer --country SL --pubkey {} --licence NMA/DL/2026/077 \
         --class dealer --valid-from 2026-01-01 --valid-to 2026-12-31 --time {}",
        pubkey.display(),
        t.tick()
    );
    let enrol: Vec<&str> = enrol.split_whitespace().collect();
    remote(&url, &t.nma, AUTHORITY, &enrol).run().ok().stdout_has("recorded enrol");
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

/// PEM files of a certificate for 127.0.0.1 in `dir`: `NAME.crt` and `NAME.key`, issued by
/// `issuer` (a private CA), or self-signed.
pub(crate) fn tls_files(
    dir: &Path,
    name: &str,
    issuer: Option<&rcgen::Issuer<'_, rcgen::KeyPair>>,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = match issuer {
        Some(ca) => params.signed_by(&key, ca).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    let (c, k) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}

/// An authority's private CA (written as `ca.pem` in `dir`), that issues its servers'
/// certificates.
pub(crate) fn private_ca(
    dir: &Path,
) -> (rcgen::CertifiedIssuer<'static, rcgen::KeyPair>, std::path::PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "NMA private CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let ca_pem = dir.join("ca.pem");
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    (ca, ca_pem)
}

/// An https:// front, on 127.0.0.1 (port 0), for the plain-HTTP server at `backend`
/// (`http://127.0.0.1:PORT` and a path prefix), with a certificate for 127.0.0.1 that `ca`
/// issued: each connection carries one request, passed on whole with `Connection: close`,
/// and the answer passed back. Returns its URL (`https://127.0.0.1:PORT` and the same prefix).
/// It accepts for 120 s or 64 connections at the most, then stops by itself.
pub(crate) fn tls_front(dir: &Path, backend: &str, ca: &rcgen::Issuer<'_, rcgen::KeyPair>) -> String {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (crt, key) = tls_files(dir, "front", Some(ca));
    let certs = vec![CertificateDer::from_pem_file(&crt).unwrap()];
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    // ring, as the service's own TLS (crates/serve: deprecated for want of post-quantum key
    // exchange, which these tests do not need).
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let config = std::sync::Arc::new(config);
    let rest = backend.strip_prefix("http://").unwrap();
    let (addr, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr = addr.to_owned();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}{prefix}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let mut served = 0;
        while served < 64 && std::time::Instant::now() < until {
            let Ok((tcp, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            };
            served += 1;
            let _ = tcp.set_nonblocking(false);
            let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            let conn = rustls::ServerConnection::new(std::sync::Arc::clone(&config)).unwrap();
            // A client that refuses the certificate ends the connection in the handshake.
            let _ = pass_on(&mut rustls::StreamOwned::new(conn, tcp), &addr);
        }
    });
    url
}

/// One request read from `client` (its head, and a body of its Content-Length), sent to
/// `backend` with `Connection: close`, and the whole answer sent back.
fn pass_on(client: &mut (impl std::io::Read + std::io::Write), backend: &str) -> std::io::Result<()> {
    use std::io::{Read as _, Write as _};
    let find = |b: &[u8], what: &[u8]| b.windows(what.len()).position(|w| w == what);
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = client.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
        if let Some(i) = find(&request, b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
    while request.len() < head_end + length {
        let n = client.read(&mut buf)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line_end = find(&request, b"\r\n").unwrap_or(0) + 2;
    let mut server = std::net::TcpStream::connect(backend)?;
    server.write_all(&request[..line_end])?;
    server.write_all(b"Connection: close\r\n")?;
    server.write_all(&request[line_end..])?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    client.write_all(&answer)?;
    client.flush()
}

/// An https:// server whose certificate no public authority issued: the authority's private
/// CA's, or a test deployment's self-signed one. `--ca-cert FILE` (or `KPLEDGER_CA_CERT`)
/// trusts the file's certificates for `get`, `submit` and the `--server` commands; without it
/// the certificate is refused, exit 2, saying how to trust it; a file that holds no
/// certificate is refused, naming it, and nothing is sent.
#[test]
fn a_server_certificate_from_a_private_ca_or_self_signed_is_trusted_with_ca_cert() {
    let t = Trade::new("remote-tls");
    kp!("log", "publish", "--ledger", &t.ledger, "--key", &t.nma).run().ok();
    // The authority's private CA, and the server's certificate issued by it.
    let (ca, ca_pem) = private_ca(t.dir.path());
    let (crt, key) = tls_files(t.dir.path(), "server", Some(&ca));
    let (c, k) = (crt.to_str().unwrap(), key.to_str().unwrap());
    let server = Server::start_with(&t.ledger, &["--tls-cert", c, "--tls-key", k]);
    let url = server.url.clone();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    // Without the CA: the built-in public roots do not trust the server; nothing is sent.
    let untrusted = ["not trusted", "--ca-cert FILE"];
    remote(&url, &t.dealer, DEALER, &["get", "/v1/actors"]).run().cannot_run(&untrusted);
    let time = t.tick();
    let extract =
        ["extract", "--site", SITE, "--weight", "4.56", "--stones", "3", "--hs", "7102.31", "--time", &time];
    remote(&url, &t.miner, MINER, &[&extract[..], &["--json"]].concat()).run().cannot_run(&untrusted);
    let written = t.dir.join("extraction.json");
    let out =
        remote(&url, &t.miner, MINER, &[&extract[..], &["--out", written.to_str().unwrap()]].concat()).run();
    out.cannot_run(&untrusted);
    kp!("submit", "--server", &url, &t.nma).run().cannot_run(&untrusted);

    // With it: every kind of client command works over HTTPS.
    let ca_arg = ca_pem.to_str().unwrap();
    fn with<'a>(args: &[&'a str], ca: &'a str) -> Vec<&'a str> {
        [args, &["--ca-cert", ca]].concat()
    }
    let p =
        remote(&url, &t.miner, MINER, &with(&[&extract[..], &["--json"]].concat(), ca_arg)).run().created();
    let time = t.tick();
    let offer = t.dir.join("offer.json");
    remote(
        &url,
        &t.miner,
        MINER,
        &with(
            &[
                "handover",
                "offer",
                "--parcel",
                &p[0],
                "--to",
                DEALER,
                "--price",
                "1200",
                "--time",
                &time,
                "--out",
                offer.to_str().unwrap(),
            ],
            ca_arg,
        ),
    )
    .run()
    .ok();
    kp!("submit", "--server", &url, "--ca-cert", &ca_pem, &offer).run().ok().stdout_has("waiting");
    let list = remote(&url, &t.dealer, DEALER, &with(&["get", "/v1/offers"], ca_arg)).run().ok().json();
    assert_eq!(list["offers"].as_array().map(Vec::len), Some(1), "{list}");
    // The environment variable does as the flag.
    let show = remote(&url, &t.miner, MINER, &["parcel", "show", &p[0], "--json"])
        .env("KPLEDGER_CA_CERT", &ca_pem)
        .run()
        .ok()
        .json();
    assert_eq!(show["weight_pt"], 456, "{show}");

    // A file that is not a PEM certificate (the server's key, a missing file): exit 2, the file
    // named, nothing sent.
    for (file, says) in [(&key, "holds no PEM certificate"), (&t.dir.join("missing.pem"), "cannot read")] {
        let name = file.file_name().unwrap().to_str().unwrap();
        remote(&url, &t.dealer, DEALER, &["get", "/v1/actors", "--ca-cert", file.to_str().unwrap()])
            .run()
            .cannot_run(&[name, says, "--ca-cert"]);
        kp!("submit", "--server", &url, "--ca-cert", file, &offer).run().cannot_run(&[name, says]);
    }

    // A test deployment's self-signed certificate is trusted as itself, and only with it: the
    // private CA does not vouch for it.
    let (crt2, key2) = tls_files(t.dir.path(), "test-server", None);
    let test_server = Server::start_with(
        &t.ledger,
        &["--tls-cert", crt2.to_str().unwrap(), "--tls-key", key2.to_str().unwrap()],
    );
    let get = |ca: &Path| {
        remote(&test_server.url, &t.dealer, DEALER, &["get", "/v1/offers", "--ca-cert", ca.to_str().unwrap()])
            .run()
    };
    get(&crt2).ok().stdout_has("\"offers\"");
    get(&ca_pem).cannot_run(&untrusted);
    drop((server, test_server));
    kp!("verify", "--ledger", &t.ledger).run().ok().stdout_has("VERIFIED");
}
