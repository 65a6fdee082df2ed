//! The one path to canonical bytes, and the strict JSON reader for signed documents.
//!
//! Canonical bytes are RFC 8785 (JSON Canonicalization Scheme) of the document's
//! JSON value. Nothing else in kpledger turns a document into bytes that are hashed
//! or signed.
//!
//! Signed documents are read with [`parse_strict`], which is stricter than JSON:
//! duplicate object keys and non-integer numbers are refused, because two readers
//! could disagree on what such a document means while its signature still verifies.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why a document could not be read or canonicalised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The bytes are not JSON, or the JSON breaks one of the strict rules
    /// (duplicate key, floating-point number, trailing data).
    #[error("not valid JSON for a signed document: {0}")]
    Syntax(String),
    /// The JSON is well formed but does not have the shape of the expected document.
    #[error("the document does not match its schema: {0}")]
    Shape(String),
    /// The document parsed, but contains fields the model does not know or values written
    /// in a form that the model would not write back (so its meaning could be ambiguous).
    #[error("the document has fields or values that kpledger does not know: {0}")]
    NotRoundTrip(String),
}

/// The RFC 8785 canonical bytes of any JSON value.
///
/// This accepts floating-point numbers (serialised as ECMAScript does), so it can be
/// checked against the RFC 8785 vectors; signed kpledger documents never contain any,
/// because [`parse_strict`] refuses them and the model has no float fields. The same writer
/// as [`to_canonical`]'s.
pub fn canonical_value(value: &Value) -> Vec<u8> {
    // A `Value` holds only finite numbers and string keys, which this writer always accepts.
    direct::to_vec(value, direct::Numbers::Any).expect("a JSON value always has canonical bytes")
}

/// RFC 8785 §3.2.3: member names compare as arrays of UTF-16 code units; this compares two
/// strings given as UTF-8, without decoding them. UTF-8 byte order is
/// code point order, and code point order is UTF-16 order except between a supplementary-plane
/// character (lead byte 0xF0..=0xF4; in UTF-16, surrogates 0xD800..=0xDFFF) and one of
/// U+E000..=U+FFFF (lead byte 0xEE or 0xEF), where it is the reverse. The first byte where two
/// strings differ is a lead byte in both (or, after the same lead byte, a continuation byte in
/// both, between characters of one plane, where the orders agree).
fn utf16_order_utf8(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    match (a.get(same), b.get(same)) {
        (Some(&x), Some(&y)) => {
            let swapped = |x: u8, y: u8| x >= 0xf0 && (0xee..=0xef).contains(&y);
            if swapped(x, y) || swapped(y, x) { y.cmp(&x) } else { x.cmp(&y) }
        }
        _ => a.len().cmp(&b.len()),
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    // Most strings (every name, id, hash, key and signature) need no escape: copied as they are.
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // serde_json escapes exactly what RFC 8785 §3.2.2.2 asks for (see `write_canonical`).
    // Writing a `&str` into a Vec cannot fail.
    serde_json::to_writer(&mut *out, s).expect("writing a string into memory cannot fail");
}

/// True if `s` has a byte that JSON escapes: a control character, `"` or `\\`. Eight bytes at
/// a time: a word `x` has a byte below `n` (for `n` <= 128) exactly when
/// `(x - n * ONES) & !x & TOPS` is not zero, and a byte equal to `c` exactly when `x ^ c * ONES`
/// has a byte below 1.
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const TOPS: u64 = u64::from_le_bytes([0x80; 8]);
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & TOPS != 0;
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let mut lanes = [0u8; 8];
        lanes.copy_from_slice(chunk);
        let x = u64::from_le_bytes(lanes);
        if below(x, 0x20) || below(x ^ (ONES * u64::from(b'"')), 1) || below(x ^ (ONES * u64::from(b'\\')), 1)
        {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// The largest integer a signed document may hold: 2^53 - 1. RFC 8785 writes numbers as
/// IEEE 754 doubles, so a larger integer would be signed as a rounded, different number.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Canonical bytes (RFC 8785) of a model value, written straight from its `Serialize`
/// implementation (`canonical/direct.rs`), with no `serde_json::Value` in between. Refuses floating-point
/// numbers and integers beyond ±(2^53 - 1), which RFC 8785 cannot represent exactly.
pub fn to_canonical<T: Serialize>(doc: &T) -> Result<Vec<u8>, JsonError> {
    direct::to_vec(doc, direct::Numbers::Signed)
}

mod direct;
/// The signed event's canonical bytes, written in one pass, and where its body's are in them.
pub(crate) use direct::to_vec_signed as to_canonical_signed;
#[cfg(test)]
pub(crate) mod oracle;

/// Reads bytes as JSON under the strict rules: no duplicate keys at any depth, no
/// floating-point or exponent numbers, no integer beyond ±(2^53 - 1), no trailing data,
/// nesting at most 127 deep.
///
/// The value built in memory is bounded by the input's size: at most
/// [`VALUE_BYTES_PER_INPUT_BYTE`] bytes per input byte, plus [`VALUE_BYTES_SLACK`] (8 MiB). An honest
/// document needs less than that (its strings and names are most of it); a hostile one made of
/// tiny values (`[{},{},…]`, 72 bytes of memory for 3 bytes of input) is refused when it
/// reaches the bound, not after it has taken gigabytes.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let left = std::cell::Cell::new(
        (bytes.len() as u64).saturating_mul(VALUE_BYTES_PER_INPUT_BYTE).saturating_add(VALUE_BYTES_SLACK),
    );
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed { left: &left, lenient: false }
        .deserialize(&mut de)
        .map_err(|e| JsonError::Syntax(e.to_string()))?;
    de.end().map_err(|e| JsonError::Syntax(e.to_string()))?;
    Ok(value)
}

/// As [`parse_strict`] for an object, except that the elements of the array under its member
/// `member` are handed to `each`, one at a time as they are read, and not kept (the member
/// reads as an empty array in the value returned): a document of any number of elements is
/// read in the memory of one. Each element is within the same memory bound as a whole
/// document; an error from `each` stops the reading and is returned as it is.
pub fn parse_strict_streaming<E>(
    bytes: &[u8],
    member: &str,
    each: &mut dyn FnMut(Value) -> Result<(), E>,
) -> Result<Result<Value, JsonError>, E> {
    let left = std::cell::Cell::new(
        (bytes.len() as u64).saturating_mul(VALUE_BYTES_PER_INPUT_BYTE).saturating_add(VALUE_BYTES_SLACK),
    );
    let mut stopped = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = StreamingSeed { left: &left, member, each: &mut |v| each(v).map_err(|e| stopped = Some(e)) };
    let value = seed.deserialize(&mut de);
    if let Some(e) = stopped {
        return Err(e);
    }
    let value = match value {
        Ok(v) => v,
        Err(e) => return Ok(Err(JsonError::Syntax(e.to_string()))),
    };
    Ok(de.end().map(|()| value).map_err(|e| JsonError::Syntax(e.to_string())))
}

/// A seed that is its own visitor: `deserialize` hands the value to `how` with `self`, which
/// expects `what` and visits it with the methods given.
macro_rules! seed_visits_itself {
    ($ty:ty, $how:ident, $what:literal, { $($visit:tt)* }) => {
        impl<'de> DeserializeSeed<'de> for $ty {
            type Value = Value;
            fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                d.$how(self)
            }
        }

        impl<'de> Visitor<'de> for $ty {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($what)
            }
            $($visit)*
        }
    };
}

/// The top-level object of [`parse_strict_streaming`].
struct StreamingSeed<'b, 'f> {
    left: &'b std::cell::Cell<u64>,
    member: &'b str,
    each: &'f mut dyn FnMut(Value) -> Result<(), ()>,
}

seed_visits_itself!(StreamingSeed<'_, '_>, deserialize_map, "a JSON object", {
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let strict = StrictVisitor { left: self.left, lenient: false };
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?}: a signed document must name each field once"
                )));
            }
            strict.spend::<A::Error>(key.len() + 2 * (MEMBER_BYTES + size_of::<Value>()))?;
            let v = if key == self.member {
                map.next_value_seed(ElementsSeed { left: self.left, each: &mut *self.each })?
            } else {
                map.next_value_seed(StrictSeed { left: self.left, lenient: false })?
            };
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
});

/// The streamed member: an array whose elements go to `each`, or any other value as is.
struct ElementsSeed<'b, 'f> {
    left: &'b std::cell::Cell<u64>,
    each: &'f mut dyn FnMut(Value) -> Result<(), ()>,
}

seed_visits_itself!(ElementsSeed<'_, '_>, deserialize_any, "a JSON array", {
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        loop {
            // Each element is read within what is left of the budget, which gets back what
            // the element took once `each` is done with it.
            let before = self.left.get();
            let Some(v) = seq.next_element_seed(StrictSeed { left: self.left, lenient: false })? else {
                break;
            };
            let stopped = (self.each)(v).is_err();
            self.left.set(before);
            if stopped {
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(Value::Array(Vec::new()))
    }
    // Anything else than an array is read as it is, for the document's reader to refuse.
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        StrictVisitor { left: self.left, lenient: false }.visit_bool(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        StrictVisitor { left: self.left, lenient: false }.visit_i64(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        StrictVisitor { left: self.left, lenient: false }.visit_u64(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        StrictVisitor { left: self.left, lenient: false }.visit_f64(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        StrictVisitor { left: self.left, lenient: false }.visit_str(v)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        StrictVisitor { left: self.left, lenient: false }.visit_string(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        StrictVisitor { left: self.left, lenient: false }.visit_map(map)
    }
});

/// Reads bytes as any JSON (fractions and large numbers allowed, a repeated key keeps its last
/// value: documents kpledger does not sign, such as EPCIS documents or a witness's files),
/// within the same memory bound as [`parse_strict`].
pub fn parse_bounded(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let left = std::cell::Cell::new(
        (bytes.len() as u64).saturating_mul(VALUE_BYTES_PER_INPUT_BYTE).saturating_add(VALUE_BYTES_SLACK),
    );
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed { left: &left, lenient: true }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Memory a strictly read document may take, in bytes per byte of input ([`parse_strict`]).
pub const VALUE_BYTES_PER_INPUT_BYTE: u64 = 3;
/// Memory any strictly read document may take beyond [`VALUE_BYTES_PER_INPUT_BYTE`] per byte:
/// small documents (an event, an offer) are denser in values than large ones.
pub const VALUE_BYTES_SLACK: u64 = 8 << 20;

/// Reads a model document from bytes: strict JSON, then the model's shape, then a
/// round-trip check (the model must write back exactly the value it read, so unknown
/// fields and values the model would normalise are refused).
pub fn from_slice_strict<T>(bytes: &[u8]) -> Result<T, JsonError>
where
    T: for<'de> Deserialize<'de> + Serialize,
{
    let value = parse_strict(bytes)?;
    from_value_strict(value)
}

/// Reads a hand-written input file (a policy, a foreign certificate): strict JSON and the
/// model's shape, but without the round-trip check, so a person may write defaults out
/// (`"suspensions": []`). Unknown fields are still refused by the types that deny them.
/// Every string is first normalised to Unicode NFC, as a person's typing is (`Text::from_input`):
/// a signed document must hold NFC text, and cannot be normalised once signed.
/// What gets signed is the model's own canonical form of the value read.
pub fn from_slice_input<T>(bytes: &[u8]) -> Result<T, JsonError>
where
    T: for<'de> Deserialize<'de>,
{
    let mut value = parse_strict(bytes)?;
    nfc_strings(&mut value);
    T::deserialize(&value).map_err(|e| JsonError::Shape(e.to_string()))
}

/// Normalises every string of `value` (members' values and array elements; keys are field
/// names, left as they are) to Unicode NFC.
fn nfc_strings(value: &mut Value) {
    use unicode_normalization::{UnicodeNormalization, is_nfc};
    match value {
        Value::String(s) if !is_nfc(s) => *s = s.nfc().collect(),
        Value::Array(items) => items.iter_mut().for_each(nfc_strings),
        Value::Object(members) => members.values_mut().for_each(nfc_strings),
        _ => {}
    }
}

/// As [`from_slice_strict`], for a value already read strictly.
pub fn from_value_strict<T>(value: Value) -> Result<T, JsonError>
where
    T: for<'de> Deserialize<'de> + Serialize,
{
    from_value_ref_strict(&value)
}

/// As [`from_value_strict`], leaving the value to the caller (who may canonicalise it: after
/// the round-trip check, its canonical bytes are the document's).
pub fn from_value_ref_strict<T>(value: &Value) -> Result<T, JsonError>
where
    T: for<'de> Deserialize<'de> + Serialize,
{
    let doc: T = T::deserialize(value).map_err(|e| JsonError::Shape(e.to_string()))?;
    let back = serde_json::to_value(&doc).map_err(|e| JsonError::Shape(e.to_string()))?;
    if back != *value {
        return Err(JsonError::NotRoundTrip(first_difference(value, &back)));
    }
    Ok(doc)
}

/// Names the first place where two values differ, as a JSON pointer.
fn first_difference(read: &Value, model: &Value) -> String {
    fn walk(a: &Value, b: &Value, path: &mut String) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, va) in x {
                    let len = path.len();
                    path.push('/');
                    path.push_str(k);
                    match y.get(k) {
                        None => return Some(format!("unknown field {path}")),
                        Some(vb) => {
                            if let Some(d) = walk(va, vb, path) {
                                return Some(d);
                            }
                        }
                    }
                    path.truncate(len);
                }
                y.keys().find(|k| !x.contains_key(*k)).map(|k| format!("missing field {path}/{k}"))
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("/{i}"));
                    if let Some(d) = walk(va, vb, path) {
                        return Some(d);
                    }
                    path.truncate(len);
                }
                None
            }
            _ if a == b => None,
            _ => Some(format!("value at {} is not in canonical form", display_path(path))),
        }
    }
    fn display_path(p: &str) -> &str {
        if p.is_empty() { "/" } else { p }
    }
    let mut path = String::new();
    walk(read, model, &mut path).unwrap_or_else(|| "values differ".to_owned())
}

/// A `DeserializeSeed` that builds a `serde_json::Value` but refuses duplicate keys
/// and floating-point numbers, and stops when the value would take more memory than `left`
/// bytes (counted as it grows: each value, each string's bytes, each array's and object's
/// allocated room).
struct StrictSeed<'b> {
    left: &'b std::cell::Cell<u64>,
    /// Any JSON ([`parse_bounded`]): fractions, large numbers and repeated keys allowed.
    lenient: bool,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor { left: self.left, lenient: self.lenient })
    }
}

struct StrictVisitor<'b> {
    left: &'b std::cell::Cell<u64>,
    lenient: bool,
}

impl StrictVisitor<'_> {
    /// Takes `bytes` from the budget, or says the document is too large for its size.
    fn spend<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        match self.left.get().checked_sub(bytes as u64) {
            Some(rest) => {
                self.left.set(rest);
                Ok(())
            }
            None => Err(E::custom(
                "the document holds far more JSON values than a document of its size can \
                 (empty objects or arrays by the million?): it is not a kpledger document",
            )),
        }
    }
}

/// Memory of one object member besides its value: the key and the map's bookkeeping.
const MEMBER_BYTES: usize = size_of::<String>() + 2 * size_of::<u64>();

impl<'de> Visitor<'de> for StrictVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        if v.unsigned_abs() > MAX_SAFE_INTEGER && !self.lenient {
            return Err(E::custom(format!(
                "integer {v} is larger than 2^53 - 1, which canonical JSON cannot sign exactly"
            )));
        }
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        if v > MAX_SAFE_INTEGER && !self.lenient {
            return Err(E::custom(format!(
                "integer {v} is larger than 2^53 - 1, which canonical JSON cannot sign exactly"
            )));
        }
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        if self.lenient {
            return Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number));
        }
        Err(E::custom(format!(
            "number {v} is written with a fraction or an exponent (or is too large): signed documents use \
             whole numbers only, e.g. weights in hundredths of a carat and money in US cents"
        )))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend(v.len())?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.spend(v.len())?;
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out: Vec<Value> = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed { left: self.left, lenient: self.lenient })? {
            if out.len() == out.capacity() {
                // The room the array is about to grow by (it doubles), counted twice: while
                // it grows, the old room and the new are both taken, and the allocator keeps
                // some of what is freed.
                self.spend::<A::Error>(2 * out.capacity().max(4) * size_of::<Value>())?;
            }
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) && !self.lenient {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?}: a signed document must name each field once"
                )));
            }
            self.spend::<A::Error>(key.len() + 2 * (MEMBER_BYTES + size_of::<Value>()))?;
            let v = map.next_value_seed(StrictSeed { left: self.left, lenient: self.lenient })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests;
