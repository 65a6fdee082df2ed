//! Values in the pre-hash string: the normalisation rules of the CBV 2.0 event hash ID
//! (CBV 2.0 §8.9; rules 5-9, 14 and 17-18 of the reference implementation's README).
//!
//! - whitespace at either end is cut (rule 5);
//! - a CBV 1.x URN (`urn:epcglobal:cbv:bizstep:shipping`) becomes its web URI
//!   (`https://ref.gs1.org/cbv/BizStep-shipping`) (rule 14);
//! - a number is written without trailing zeros, `+` or exponent where it is an integer, and
//!   otherwise as Python's `repr` writes the nearest double (rules 6-7);
//! - EPC URIs and GS1 Digital Link URIs become constrained canonical Digital Link URIs
//!   ([`crate::dl`]) (rules 17-18);
//! - a timestamp is written in UTC with exactly three decimals (`2020-03-04T10:00:30.000Z`),
//!   a fourth decimal of 5-9 rounding the third up (rules 8-9).
//!
//! The number rule follows what the reference implementation does (it reads every value
//! with Python's `float()`), so `"0614141"` is written `614141` and `"1.50"` is `1.5`.
//! Values that are not numbers, including `nan` and `inf`, are left as they are.

use crate::dl;
use kpledger_model::{civil_from_days, days_from_civil, days_in_month};

/// CBV 1.x URN prefixes and the CBV 2.0 web URI prefixes that replace them.
const CBV_URNS: [(&str, &str); 5] = [
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
];

/// A value as it goes into the pre-hash string (not a timestamp).
pub(crate) fn value(text: &str) -> String {
    let text = text.trim();
    let mut out = text.to_owned();
    for (urn, web) in CBV_URNS {
        if let Some(rest) = text.strip_prefix(urn) {
            out = format!("{web}{rest}");
            break;
        }
    }
    if let Some(n) = number(&out) {
        out = n;
    }
    dl::normalise(&out).unwrap_or(out)
}

/// A timestamp as it goes into the pre-hash string; text that is not an ISO 8601 date-time
/// is left as it is (trimmed), as the reference implementation does.
pub(crate) fn timestamp(text: &str) -> String {
    let text = text.trim();
    parse_time(text).unwrap_or_else(|| text.to_owned())
}

/// The number rule: `Some(text)` if `s` reads as a finite number the way Python's `float()`
/// reads it, written without trailing zeros.
pub(crate) fn number(s: &str) -> Option<String> {
    let cleaned;
    let s = if s.contains('_') {
        // Python accepts single underscores between digits ("1_000").
        let b = s.as_bytes();
        let ok = b.iter().enumerate().all(|(i, &c)| {
            c != b'_' || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        });
        if !ok {
            return None;
        }
        cleaned = s.replace('_', "");
        cleaned.as_str()
    } else {
        s
    };
    // Rust's float grammar is Python's, less the underscores handled above.
    let x: f64 = s.parse().ok()?;
    if !x.is_finite() {
        return None;
    }
    Some(if x.trunc() == x { exact_integer(x) } else { python_repr(x) })
}

/// Python's `repr` of a double that is not an integer: the shortest text that reads back
/// as the same double, in positional notation unless it is below 1e-4.
fn python_repr(x: f64) -> String {
    if x.abs() >= 1e-4 {
        return format!("{x}");
    }
    // "1.5e-7" -> "1.5e-07": Python writes at least two exponent digits and a sign.
    let e = format!("{x:e}");
    match e.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => e,
    }
}

/// The exact decimal value of an integral double (Python's `str(int(x))`).
fn exact_integer(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let negative = x.is_sign_negative();
    let bits = x.abs().to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    // Integral and non-zero, so normal (subnormals are below 1).
    let mantissa = fraction | (1u64 << 52);
    let shift = biased - 1075;
    let digits = if shift <= 0 {
        (mantissa >> (-shift).min(63)).to_string()
    } else if shift <= 74 {
        (u128::from(mantissa) << shift).to_string()
    } else {
        big_shift(mantissa, shift.unsigned_abs())
    };
    if negative { format!("-{digits}") } else { digits }
}

/// `mantissa * 2^shift` in decimal, with base-10^9 limbs.
fn big_shift(mantissa: u64, shift: u64) -> String {
    const BASE: u64 = 1_000_000_000;
    let mut limbs = vec![mantissa % BASE, (mantissa / BASE) % BASE, mantissa / BASE / BASE];
    for _ in 0..shift {
        let mut carry = 0;
        for l in &mut limbs {
            let v = *l * 2 + carry;
            *l = v % BASE;
            carry = v / BASE;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut out = String::new();
    for (i, l) in limbs.iter().rev().enumerate() {
        if i == 0 {
            out.push_str(&l.to_string());
        } else {
            out.push_str(&format!("{l:09}"));
        }
    }
    out
}

/// Reads `YYYY-MM-DD[Thh:mm[:ss[.fff…]]][Z|±hh:mm|±hhmm|±hh]` and writes it in UTC at
/// millisecond precision. A date-time without an offset is taken as UTC.
fn parse_time(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut millis) = (0, 0, 0, 0);
    let mut offset_minutes = 0;
    let mut i = 10;
    if i < b.len() {
        if !matches!(b[i], b'T' | b't' | b' ') {
            return None;
        }
        i += 1;
        hour = num(i..i + 2)?;
        if b.get(i + 2) != Some(&b':') {
            return None;
        }
        minute = num(i + 3..i + 5)?;
        i += 5;
        if b.get(i) == Some(&b':') {
            second = num(i + 1..i + 3)?;
            i += 3;
            if matches!(b.get(i), Some(b'.' | b',')) {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end].is_ascii_digit() {
                    end += 1;
                }
                if end == start {
                    return None;
                }
                let frac = &b[start..end];
                let digit = |k: usize| frac.get(k).map_or(0, |d| i64::from(d - b'0'));
                millis = digit(0) * 100 + digit(1) * 10 + digit(2);
                if digit(3) >= 5 {
                    millis += 1;
                }
                i = end;
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        match b.get(i) {
            None => {}
            Some(b'Z' | b'z') if i + 1 == b.len() => {}
            Some(&sign @ (b'+' | b'-')) => {
                let rest = &s[i + 1..];
                let (h, m) = match rest.len() {
                    2 => (num(i + 1..i + 3)?, 0),
                    4 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                    5 if rest.as_bytes()[2] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                    _ => return None,
                };
                if h > 23 || m > 59 {
                    return None;
                }
                offset_minutes = (h * 60 + m) * if sign == b'-' { -1 } else { 1 };
            }
            Some(_) => return None,
        }
    }
    let days = days_from_civil(year, month, day);
    let ms = ((days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60) * 1000) + millis;
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    if !(1..=9999).contains(&y) {
        return None;
    }
    let secs = ms_of_day / 1000;
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        ms_of_day % 1000
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_python_writes_them() {
        for (input, out) in [
            ("1", "1"),
            ("1.0", "1"),
            ("452.0", "452"),
            ("0.3434", "0.3434"),
            ("0.34340", "0.3434"),
            ("+5", "5"),
            ("-0", "0"),
            ("0614141", "614141"),
            ("1e3", "1000"),
            ("1_000", "1000"),
            ("12.1", "12.1"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("-1.5e-7", "-1.5e-07"),
            ("1e16", "10000000000000000"),
            ("12345678901234567890", "12345678901234567168"),
            ("1e30", "1000000000000000019884624838656"),
        ] {
            assert_eq!(number(input).as_deref(), Some(out), "{input}");
        }
        assert_eq!(exact_integer(1e300).len(), 301);
        for not in ["", "abc", "2023-10-09", "+01:00", "1__0", "_1", "1_", "nan", "inf", "0x10", "1e400"] {
            assert_eq!(number(not), None, "{not}");
        }
    }

    #[test]
    fn timestamps_are_utc_milliseconds_rounded_half_up() {
        for (input, out) in [
            ("2020-03-04T11:00:30.000+01:00", "2020-03-04T10:00:30.000Z"),
            ("2022-02-16T20:33:31.116000-06:00", "2022-02-17T02:33:31.116Z"),
            ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),
            ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
            ("2023-02-12T11:04:03.1007Z", "2023-02-12T11:04:03.101Z"),
            ("2023-12-31T23:59:59.9996Z", "2024-01-01T00:00:00.000Z"),
            ("2019-10-21T14:45:00Z", "2019-10-21T14:45:00.000Z"),
            ("2020-04-01T15:00:00+01:00", "2020-04-01T14:00:00.000Z"),
            ("2020-04-01T15:00+0130", "2020-04-01T13:30:00.000Z"),
            ("2020-04-01T15:00:00", "2020-04-01T15:00:00.000Z"),
            ("2022-02-17T11:30:47.0Z", "2022-02-17T11:30:47.000Z"),
            (" 2020-03-01T00:30:00+01:00 ", "2020-02-29T23:30:00.000Z"),
        ] {
            assert_eq!(timestamp(input), out, "{input}");
        }
        for not in ["yesterday", "2020-02-30T00:00:00Z", "2020-01-01T24:00:00Z", "2020-01-01T10:00:00+1"] {
            assert_eq!(timestamp(not), not, "{not}");
        }
    }

    #[test]
    fn cbv_urns_become_web_uris() {
        assert_eq!(value("urn:epcglobal:cbv:bizstep:receiving"), "https://ref.gs1.org/cbv/BizStep-receiving");
        assert_eq!(value(" urn:epcglobal:cbv:disp:in_transit "), "https://ref.gs1.org/cbv/Disp-in_transit");
        assert_eq!(
            value("urn:epcglobal:cbv:bt:0614141073467:1152"),
            "urn:epcglobal:cbv:bt:0614141073467:1152"
        );
    }
}
