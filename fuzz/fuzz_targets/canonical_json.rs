//! The strict JSON reader on arbitrary bytes. Whatever it accepts must canonicalise to bytes
//! that it accepts again, giving the same value, and canonicalising is idempotent:
//! `parse(canonical(parse(x))) == parse(x)` and `canonical(parse(canonical(v))) == canonical(v)`.
#![no_main]

use kpledger_model::canonical::{canonical_value, parse_strict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = parse_strict(data) else { return };
    let canonical = canonical_value(&value);
    let again = parse_strict(&canonical).unwrap_or_else(|e| {
        panic!("the strict reader refuses canonical output {:?}: {e}", String::from_utf8_lossy(&canonical))
    });
    assert_eq!(again, value, "canonical bytes read back as a different value");
    assert_eq!(canonical_value(&again), canonical, "canonicalisation is not idempotent");
    // Canonical bytes are valid UTF-8 without insignificant whitespace at the ends.
    let text = std::str::from_utf8(&canonical).expect("canonical JSON is UTF-8");
    assert_eq!(text.trim(), text);
    // Accepted input that is already canonical is reproduced byte for byte.
    if data == canonical.as_slice() {
        assert_eq!(canonical_value(&parse_strict(data).expect("accepted above")), data);
    }
});
