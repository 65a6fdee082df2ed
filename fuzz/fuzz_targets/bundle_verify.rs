//! Evidence bundles verified under a fixed trust policy: the fixture's own
//! (`fixtures/bundles/ok_sl_witnessed_export/policy.txt`: the SL fixture ledger's root key
//! pinned for its log, the NMA for Sierra Leone's certificates, Liberia's authority as the
//! one witness required).
//!
//! The first byte picks the mode:
//!
//! - even: the rest is the bundle's bytes (never a panic; an accepted bundle names the
//!   fixture's ledger and certificate);
//! - odd: the rest drives up to 4 mutations of the valid witnessed fixture bundle (replace a
//!   leaf of its events, heads or proofs with a fuzz-chosen value, delete, duplicate or
//!   swap array elements, delete object keys). A mutant that differs from the original
//!   (as a JSON value) must not verify.
#![no_main]

#[macro_use]
mod fixed;

use fixed::WITNESSED_BUNDLE as BUNDLE;
use kpledger_verify::{TrustPolicy, verify_bundle};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

struct Fixed {
    trust: TrustPolicy,
    bundle: Value,
}

fn fixed() -> &'static Fixed {
    once!(Fixed, {
        let trust = fixed::witnessed_policy();
        let report = verify_bundle(BUNDLE, &trust).expect("the fixture bundle reads");
        assert!(report.ok, "the fixture bundle verifies: {:#?}", report.findings);
        Fixed { trust, bundle: serde_json::from_slice(BUNDLE).expect("fixture JSON") }
    })
}

/// A cursor over the fuzzer's bytes.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn index(&mut self, n: usize) -> Option<usize> {
        if n == 0 {
            return None;
        }
        let hi = usize::from(self.byte()?);
        let lo = usize::from(self.byte()?);
        Some(((hi << 8) | lo) % n)
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

/// JSON pointers of every value under the mutable parts of a bundle.
fn paths(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                paths(x, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                paths(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn new_value(b: &mut Bytes<'_>, old: &Value) -> Value {
    let kind = b.byte().unwrap_or(0);
    let len = usize::from(b.byte().unwrap_or(0) % 48);
    let raw = b.take(len);
    match kind % 6 {
        0 => Value::String(String::from_utf8_lossy(raw).into_owned()),
        1 => match old {
            // A character of the string changed or the string cut short.
            Value::String(s) if !s.is_empty() => {
                let mut chars: Vec<char> = s.chars().collect();
                let i = usize::from(raw.first().copied().unwrap_or(0)) % chars.len();
                match raw.get(1) {
                    Some(&c) if c.is_ascii_graphic() => chars[i] = char::from(c),
                    _ => chars.truncate(i),
                }
                Value::String(chars.into_iter().collect())
            }
            _ => Value::Null,
        },
        2 => {
            let mut n = [0u8; 8];
            n[..raw.len().min(8)].copy_from_slice(&raw[..raw.len().min(8)]);
            Value::from(u64::from_le_bytes(n) >> (kind >> 3).min(63))
        }
        3 => match old {
            Value::Number(n) => Value::from(
                n.as_i64().unwrap_or(0).wrapping_add(i64::from(raw.first().copied().unwrap_or(1) as i8)),
            ),
            _ => Value::Bool(kind & 0x10 != 0),
        },
        4 => serde_json::from_slice(raw).unwrap_or(Value::Null),
        _ => Value::Array(Vec::new()),
    }
}

fn mutate(b: &mut Bytes<'_>, doc: &mut Value) -> Option<()> {
    let mut all = Vec::new();
    for part in ["/events", "/heads", "/log/proofs", "/certificate", "/ledger", "/format"] {
        paths(doc.pointer(part)?, part.to_owned(), &mut all);
    }
    let at = all[b.index(all.len())?].clone();
    let op = b.byte()?;
    let (parent, last) = match at.rsplit_once('/') {
        Some((p, l)) => (p.to_owned(), l.replace("~1", "/").replace("~0", "~")),
        None => (String::new(), String::new()),
    };
    match op % 5 {
        0 | 1 => {
            let old = doc.pointer(&at)?.clone();
            let v = new_value(b, &old);
            *doc.pointer_mut(&at)? = v;
        }
        2 => match doc.pointer_mut(&parent)? {
            Value::Array(a) => {
                let i: usize = last.parse().ok()?;
                a.remove(i);
            }
            Value::Object(m) => {
                m.shift_remove(&last);
            }
            _ => {}
        },
        3 => {
            if let Value::Array(a) = doc.pointer_mut(&parent)? {
                let i: usize = last.parse().ok()?;
                let x = a[i].clone();
                let j = b.index(a.len() + 1).unwrap_or(i);
                a.insert(j, x);
            }
        }
        _ => {
            if let Value::Array(a) = doc.pointer_mut(&parent)? {
                let i: usize = last.parse().ok()?;
                let j = b.index(a.len())?;
                a.swap(i, j);
            }
        }
    }
    Some(())
}

fuzz_target!(|data: &[u8]| {
    let f = fixed();
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        if let Ok(report) = verify_bundle(rest, &f.trust)
            && report.ok
        {
            assert_eq!(report.ledger.as_deref(), f.bundle["ledger"].as_str());
            assert_eq!(report.certificate.as_deref(), f.bundle["certificate"].as_str());
        }
        return;
    }
    let mut b = Bytes(rest);
    let mut doc = f.bundle.clone();
    for _ in 0..1 + (mode >> 1) % 4 {
        if mutate(&mut b, &mut doc).is_none() {
            break;
        }
    }
    let bytes = serde_json::to_vec(&doc).expect("serialise");
    let accepted = matches!(verify_bundle(&bytes, &f.trust), Ok(r) if r.ok);
    if doc != f.bundle {
        assert!(!accepted, "a changed bundle verifies: {}", String::from_utf8_lossy(&bytes));
    }
});
