//! HTTPS in the binary (`--tls-cert`, `--tls-key`): a certificate made here for 127.0.0.1, a
//! client that trusts only it, signed reads over `https://`, and clear refusals of unusable
//! certificate and key files.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::time::Duration;

use common::*;
use kpledger_testkit::http::{agent as agent_trusting, self_signed};

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files in `w.dir`.
fn certificate(w: &World, name: &str) -> (kpledger_serve::TlsFiles, Vec<u8>) {
    let files = kpledger_serve::TlsFiles {
        cert: w.dir.join(format!("{name}.crt")),
        key: w.dir.join(format!("{name}.key")),
    };
    let der = self_signed(&["127.0.0.1", "localhost"], &files.cert, &files.key);
    (files, der)
}

/// An HTTPS client that trusts only `der`.
fn trusting(der: &[u8]) -> ureq::Agent {
    agent_trusting(Duration::from_secs(30), Some(der))
}

#[test]
fn the_service_speaks_https_to_a_client_that_trusts_its_certificate_only() {
    let mut w = World::new("tls");
    let (koroma, koidu) = (w.koroma.clone(), w.koidu.clone());
    let key = w.key(&koroma);
    let (parcel, ev) = w.extraction(&koroma, &koidu);
    let (files, der) = certificate(&w, "server");
    let mut cfg = w.config();
    cfg.tls = Some(files);
    let s = start(cfg);
    assert!(s.url.starts_with("https://127.0.0.1:"), "{}", s.url);
    let agent = trusting(&der);

    let mut r = agent.get(format!("{}/healthz", s.url)).call().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.body_mut().read_to_string().unwrap(), "ok\n");
    // A submission over HTTPS, and a signed read whose @target-uri is the https:// URI.
    let mut r = agent
        .post(format!("{}/v1/events", s.url))
        .header("content-type", "application/json")
        .send(&ev.canonical[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.body_mut().read_to_string().unwrap());
    let url = format!("{}/v1/parcels/{parcel}", s.url);
    let (input, sig) = signed_headers(&url, &koroma, &key, "tls-1");
    let mut r = agent.get(&url).header("signature-input", &input).header("signature", &sig).call().unwrap();
    let body = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status().as_u16(), 200, "{body}");
    assert!(body.contains(&ev.hash.to_hex()), "{body}");
    // The same read signed for http:// does not verify on an https:// service.
    let plain = url.replacen("https://", "http://", 1);
    let (input, sig) = signed_headers(&plain, &koroma, &key, "tls-2");
    let r = agent.get(&url).header("signature-input", &input).header("signature", &sig).call().unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // A client that does not trust this certificate (the public roots) does not connect.
    let public = agent_trusting(Duration::from_secs(30), None);
    let err = public.get(format!("{}/healthz", s.url)).call().unwrap_err();
    assert!(matches!(err, ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Io(_)), "{err:?}");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    assert!(!String::from_utf8_lossy(&out).contains("200 OK"));
    // The service still serves its trusted clients.
    assert_eq!(agent.get(format!("{}/healthz", s.url)).call().unwrap().status().as_u16(), 200);
}

#[test]
fn unusable_certificate_or_key_files_stop_the_start_with_what_is_wrong() {
    let w = World::new("tls-bad");
    let (good, _) = certificate(&w, "a");
    let (other, _) = certificate(&w, "b");
    let not_pem = w.dir.join("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let cases = [
        (kpledger_serve::TlsFiles { cert: not_pem.clone(), key: good.key.clone() }, "holds no certificate"),
        (kpledger_serve::TlsFiles { cert: w.dir.join("missing.crt"), key: good.key.clone() }, "missing.crt"),
        (kpledger_serve::TlsFiles { cert: good.cert.clone(), key: not_pem.clone() }, "not a PEM private key"),
        (kpledger_serve::TlsFiles { cert: good.cert.clone(), key: other.key.clone() }, "does not go with"),
    ];
    for (files, says) in cases {
        let mut cfg = w.config();
        cfg.tls = Some(files);
        let err = try_start(cfg).err().expect("refused").to_string();
        assert!(err.contains(says), "{err} (expected {says:?})");
    }
}

#[test]
fn a_client_that_never_finishes_its_tls_handshake_is_cut_off() {
    let w = World::new("tls-slow");
    let (files, der) = certificate(&w, "server");
    let mut cfg = w.config();
    cfg.tls = Some(files);
    cfg.max_connections = 1;
    cfg.header_timeout = Duration::from_secs(1);
    let s = start(cfg);
    // It connects, takes the only slot, and sends nothing: closed after the header timeout.
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut out = Vec::new();
    assert!(c.read_to_end(&mut out).is_ok(), "closed by the server, not by our read timeout");
    // The slot is free again.
    assert_eq!(trusting(&der).get(format!("{}/healthz", s.url)).call().unwrap().status().as_u16(), 200);
}
