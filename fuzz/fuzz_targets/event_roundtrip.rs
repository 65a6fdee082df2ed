//! A signed event from arbitrary bytes: the strict reader, the event's shape and the
//! round-trip check. An accepted event's canonical bytes must be exactly the RFC 8785 form
//! of what was read, must be accepted again, giving the same event, bytes and hash, and
//! the hash is that of the canonical body.
#![no_main]

use kpledger_model::Event;
use kpledger_model::canonical::{canonical_value, parse_strict, to_canonical};
use kpledger_model::hash::{Domain, digest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = Event::parse(data) else { return };
    let value = parse_strict(data).expect("Event::parse accepted it, so the strict reader does");
    assert_eq!(
        parsed.canonical,
        canonical_value(&value),
        "stored bytes are not the canonical form of the input"
    );

    let again = Event::parse(&parsed.canonical).unwrap_or_else(|e| {
        panic!("canonical event refused: {e}: {}", String::from_utf8_lossy(&parsed.canonical))
    });
    assert_eq!(again.event, parsed.event, "canonical bytes read back as a different event");
    assert_eq!(again.canonical, parsed.canonical, "canonicalisation is not idempotent");
    assert_eq!(again.hash, parsed.hash, "the hash changed through canonicalisation");

    let body = to_canonical(&parsed.event.body).expect("an accepted body canonicalises");
    assert_eq!(parsed.hash, digest(Domain::Event, &body));
    assert_eq!(parsed.event.hash().expect("hash"), parsed.hash);
    // Whether the signature verifies must not depend on the form the event was read in.
    assert_eq!(parsed.event.signature_valid(&parsed.hash), again.event.signature_valid(&again.hash));
});
