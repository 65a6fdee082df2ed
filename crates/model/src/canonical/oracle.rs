//! The `serde_json::Value` writer the canonical writer ([`super::direct`]) replaced, kept as
//! a test oracle: a second, plainer implementation of RFC 8785 that the unit tests hold the
//! production writer equal to.

use serde_json::Value;

use super::write_string;

/// The RFC 8785 canonical bytes of `value`, written by walking the tree.
pub(crate) fn canonical_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    write_canonical(value, &mut out);
    out
}

/// Appends the RFC 8785 form of `value` to `out`.
///
/// Objects are written with their members sorted by the UTF-16 code units of their names
/// (§3.2.3), strings with the JSON escapes of §3.2.2.2 (the same as serde_json's: the short
/// forms `\b \t \n \f \r \" \\`, other control characters as lowercase `\u00xx`,
/// everything else literal), integers up to 2^53 in plain decimal. Any other number
/// (a fraction, an exponent, or an integer beyond 2^53, which ECMAScript would round) is
/// written by `serde_json_canonicalizer`'s ECMAScript number serialiser, which the RFC 8785
/// and ES6 number vectors check.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| utf16_order(a.0, b.0));
            out.push(b'{');
            for (i, (name, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(name, out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
    }
}

/// RFC 8785 §3.2.3: member names compare as arrays of UTF-16 code units. For ASCII names (all
/// of kpledger's) that is byte order.
pub(crate) fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() { a.cmp(b) } else { a.encode_utf16().cmp(b.encode_utf16()) }
}

fn write_number(n: &serde_json::Number, out: &mut Vec<u8>) {
    const EXACT: u64 = 1 << 53;
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) if u <= EXACT => out.extend_from_slice(u.to_string().as_bytes()),
        (_, Some(i)) if i.unsigned_abs() <= EXACT => out.extend_from_slice(i.to_string().as_bytes()),
        _ => {
            // `to_vec` only fails for values that are not representable in JSON
            // (non-finite floats), which a `serde_json::Number` cannot hold.
            let bytes = serde_json_canonicalizer::to_vec(&Value::Number(n.clone()))
                .expect("a serde_json::Number is always representable");
            out.extend_from_slice(&bytes);
        }
    }
}

/// The canonical bytes of an object whose members' canonical bytes are already known, so
/// that a member canonicalised on its own (to be hashed) is not canonicalised again as part
/// of the whole. `members` are (name, canonical bytes of the value); they are sorted here.
pub(crate) fn object_of_canonical(members: &mut [(&str, &[u8])]) -> Vec<u8> {
    members.sort_unstable_by(|a, b| utf16_order(a.0, b.0));
    let len: usize = members.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    let mut out = Vec::with_capacity(len + 2);
    out.push(b'{');
    for (i, (name, bytes)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(name, &mut out);
        out.push(b':');
        out.extend_from_slice(bytes);
    }
    out.push(b'}');
    out
}
