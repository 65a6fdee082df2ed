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
/// because [`parse_strict`] refuses them and the model has no float fields.
pub fn canonical_value(value: &Value) -> Vec<u8> {
    // `to_vec` only fails for values that are not representable in JSON
    // (non-finite floats), which a `serde_json::Value` cannot hold.
    serde_json_canonicalizer::to_vec(value).expect("a serde_json::Value is always representable")
}

/// The largest integer a signed document may hold: 2^53 - 1. RFC 8785 writes numbers as
/// IEEE 754 doubles, so a larger integer would be signed as a rounded, different number.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Canonical bytes of a model value: serialise to a JSON value, then RFC 8785. Refuses
/// integers beyond ±(2^53 - 1), which RFC 8785 cannot represent exactly.
pub fn to_canonical<T: Serialize>(doc: &T) -> Result<Vec<u8>, JsonError> {
    let value = serde_json::to_value(doc).map_err(|e| JsonError::Shape(e.to_string()))?;
    check_safe_integers(&value)?;
    Ok(canonical_value(&value))
}

fn check_safe_integers(v: &Value) -> Result<(), JsonError> {
    match v {
        Value::Number(n) => {
            let safe = n
                .as_u64()
                .map(|u| u <= MAX_SAFE_INTEGER)
                .or_else(|| n.as_i64().map(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER));
            if safe == Some(true) {
                Ok(())
            } else {
                Err(JsonError::Shape(format!("number {n} is larger than 2^53 - 1")))
            }
        }
        Value::Array(a) => a.iter().try_for_each(check_safe_integers),
        Value::Object(o) => o.values().try_for_each(check_safe_integers),
        _ => Ok(()),
    }
}

/// Reads bytes as JSON under the strict rules: no duplicate keys at any depth, no
/// floating-point or exponent numbers, no integer beyond ±(2^53 - 1), no trailing data,
/// nesting at most 127 deep.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed.deserialize(&mut de).map_err(|e| JsonError::Syntax(e.to_string()))?;
    de.end().map_err(|e| JsonError::Syntax(e.to_string()))?;
    Ok(value)
}

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
/// What gets signed is the model's own canonical form of the value read.
pub fn from_slice_input<T>(bytes: &[u8]) -> Result<T, JsonError>
where
    T: for<'de> Deserialize<'de>,
{
    let value = parse_strict(bytes)?;
    T::deserialize(&value).map_err(|e| JsonError::Shape(e.to_string()))
}

/// As [`from_slice_strict`], for a value already read strictly.
pub fn from_value_strict<T>(value: Value) -> Result<T, JsonError>
where
    T: for<'de> Deserialize<'de> + Serialize,
{
    let doc: T = T::deserialize(&value).map_err(|e| JsonError::Shape(e.to_string()))?;
    let back = serde_json::to_value(&doc).map_err(|e| JsonError::Shape(e.to_string()))?;
    if back != value {
        return Err(JsonError::NotRoundTrip(first_difference(&value, &back)));
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
/// and floating-point numbers.
struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        if v.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(E::custom(format!(
                "integer {v} is larger than 2^53 - 1, which canonical JSON cannot sign exactly"
            )));
        }
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        if v > MAX_SAFE_INTEGER {
            return Err(E::custom(format!(
                "integer {v} is larger than 2^53 - 1, which canonical JSON cannot sign exactly"
            )));
        }
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Err(E::custom(format!(
            "number {v} is written with a fraction or an exponent (or is too large): signed documents use \
             whole numbers only, e.g. weights in hundredths of a carat and money in US cents"
        )))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?}: a signed document must name each field once"
                )));
            }
            let v = map.next_value_seed(StrictSeed)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let err = parse_strict(br#"{"a":{"b":1,"b":2}}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key \"b\""), "{err}");
    }

    #[test]
    fn floats_and_exponents_are_refused() {
        for doc in [&br#"{"w":1.5}"#[..], br#"{"w":1e3}"#, br#"{"w":100000000000000000000}"#] {
            let err = parse_strict(doc).unwrap_err();
            assert!(err.to_string().contains("fraction or an exponent"), "{err}");
        }
    }

    #[test]
    fn integers_beyond_2_pow_53_are_refused_both_ways() {
        assert!(parse_strict(b"[9007199254740991]").is_ok());
        let err = parse_strict(b"[9007199254740993]").unwrap_err();
        assert!(err.to_string().contains("2^53"), "{err}");
        assert!(parse_strict(b"[-9007199254740993]").is_err());
        assert!(to_canonical(&[u64::MAX]).is_err());
        assert!(to_canonical(&[9_007_199_254_740_991u64]).is_ok());
    }

    #[test]
    fn trailing_data_and_truncation_are_refused() {
        assert!(parse_strict(br#"{"a":1} x"#).is_err());
        assert!(parse_strict(br#"{"a":"#).is_err());
        assert!(parse_strict(b"").is_err());
    }

    #[test]
    fn canonical_orders_keys() {
        let v = parse_strict(br#"{"b":2,"a":[true,null,"x"]}"#).unwrap();
        assert_eq!(canonical_value(&v), br#"{"a":[true,null,"x"],"b":2}"#);
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Small {
        a: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        b: Option<u64>,
    }

    #[test]
    fn unknown_fields_and_explicit_nulls_fail_the_round_trip() {
        let err = from_slice_strict::<Small>(br#"{"a":1,"z":2}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the document has fields or values that kpledger does not know: unknown field /z"
        );
        // `"b": null` would be dropped on the way back: refuse it rather than sign one thing
        // and store another.
        assert!(matches!(
            from_slice_strict::<Small>(br#"{"a":1,"b":null}"#),
            Err(JsonError::NotRoundTrip(_))
        ));
        assert_eq!(from_slice_strict::<Small>(br#"{"a":1}"#).unwrap(), Small { a: 1, b: None });
    }

    #[test]
    fn negative_weights_fail_the_shape() {
        assert!(matches!(from_slice_strict::<Small>(br#"{"a":-1}"#), Err(JsonError::Shape(_))));
    }
}
