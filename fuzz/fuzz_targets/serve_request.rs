//! The request parsing `kpledger serve` does itself (docs/SPEC.md §17): the RFC 9421
//! `Signature-Input` / `Signature` headers and the C2SP tlog-tiles paths, from arbitrary bytes
//! (the two headers split at the first 0x00; the whole input also as a tile path). Never a
//! panic; a signature header pair that is read is the one canonical serialisation (its
//! parameters write back to the same bytes); a tile path that is read writes back to the same
//! path. The whole input also as `X-Forwarded-For` lines (split at 0x0A) from a peer that is
//! and one that is not a `--trusted-proxy`: from an untrusted peer the peer's address is
//! counted, whatever the header says; from a trusted one, the peer's or an address written
//! in the header's last line; the per-address rate bucket of either is stable (an address in
//! its own bucket). The whole input also as an `application/jsonl` body of `POST /v1/events`:
//! its documents are its lines that are not blank, in order, each exactly as the body holds
//! it, and each reads as a signed event or is refused, without a panic.
#![no_main]

use std::net::IpAddr;

use kpledger_model::Event;
use kpledger_serve::{auth, client_address, client_key, jsonl_documents, tiles};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    forwarded_for(data);
    jsonl_body(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (input, sig) = text.split_once('\0').unwrap_or((text, ""));
    if let Ok(req) = auth::parse(input, sig) {
        let params = auth::signature_params(&req.components, req.created, &req.keyid, &req.nonce);
        assert_eq!(format!("sig1={params}"), input, "a signature input read is not the canonical one");
    }
    if let Some(t) = tiles::parse(text) {
        assert_eq!(t.to_path(), format!("tile/{text}"), "a tile path read is not the canonical one");
        assert!(t.count() >= 1 && t.count() <= tiles::TILE_WIDTH);
    }
});

/// `data` as an `application/jsonl` body: the documents are the body's lines that are not
/// blank, in order and untouched, and each is read as one signed event (or refused).
fn jsonl_body(data: &[u8]) {
    // Where the document before ended.
    let mut end = 0;
    for doc in jsonl_documents(data) {
        let at = doc.as_ptr() as usize - data.as_ptr() as usize;
        assert!(at >= end && at + doc.len() <= data.len(), "documents out of order or outside the body");
        assert!(data[end..at].iter().all(u8::is_ascii_whitespace), "a line that is not blank was left out");
        assert!(at == 0 || data[at - 1] == b'\n', "a document does not start a line");
        assert!(
            at + doc.len() == data.len() || data[at + doc.len()] == b'\n',
            "a document does not end its line"
        );
        assert!(!doc.iter().all(u8::is_ascii_whitespace), "a blank line was kept");
        end = at + doc.len();
        let _ = Event::parse(doc);
    }
    assert!(data[end..].iter().all(u8::is_ascii_whitespace), "a last line that is not blank was left out");
}

/// `data` as the `X-Forwarded-For` lines of a request (split at 0x0A).
fn forwarded_for(data: &[u8]) {
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let proxy: IpAddr = "10.0.0.1".parse().unwrap();
    let other: IpAddr = "2001:db8::1".parse().unwrap();
    let trusted = [proxy];
    let counted = |peer, lines: &[&[u8]]| client_address(peer, &trusted, lines.iter().copied());
    assert_eq!(counted(other, &lines), other, "an untrusted peer's header was believed");
    let ip = counted(proxy, &lines);
    // Only what the proxy appended counts: earlier lines and the addresses a client wrote
    // before the proxy's own change nothing.
    let spoof: &[u8] = b"192.0.2.66, 2001:db8:bad::1";
    assert_eq!(
        counted(proxy, &[&[spoof][..], &lines[..]].concat()),
        ip,
        "an earlier line changed the address"
    );
    if let Some((last, earlier)) = lines.split_last() {
        let prefixed = [spoof, b",", last].concat();
        assert_eq!(
            counted(proxy, &[earlier, &[&prefixed[..]][..]].concat()),
            ip,
            "a client-written address counted"
        );
    }
    // An address counted is one the header gives as such.
    if ip != proxy {
        let written = ip.to_string();
        assert_eq!(counted(proxy, &[written.as_bytes()]), ip);
    }
    let bucket = client_key(ip);
    assert_eq!(client_key(bucket), bucket, "a rate bucket's address falls in another bucket");
}
