//! The request parsing `kpledger serve` does itself (docs/SPEC.md §17): the RFC 9421
//! `Signature-Input` / `Signature` headers and the C2SP tlog-tiles paths, from arbitrary bytes
//! (the two headers split at the first 0x00; the whole input also as a tile path). Never a
//! panic; a signature header pair that is read is the one canonical serialisation (its
//! parameters write back to the same bytes); a tile path that is read writes back to the same
//! path.
#![no_main]

use kpledger_serve::{auth, tiles};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
