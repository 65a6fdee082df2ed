//! GS1 identifiers in the pre-hash string: constrained canonical GS1 Digital Link URIs.
//!
//! CBV 2.0 §8.9 (rules 17 and 18 of the reference implementation's README): an EPC URI
//! (`urn:epc:id:…`), EPC class URI (`urn:epc:class:…`) or EPC pattern URI (`urn:epc:idpat:…`)
//! is written as the canonical GS1 Digital Link URI of the same key (GS1 Tag Data Standard 2.0
//! §6-§7, GS1 Digital Link 1.2 §4.11); a Digital Link URI keeps only its most fine-grained key
//! on the domain `https://id.gs1.org`, without query string, data attributes, CPV, or the lot
//! when a serial is present. What this module does not recognise is left as it is.
//!
//! This follows the reference implementation's `dl_normaliser` step by step where its output
//! is defined by it (the accepted character sets and lengths, the order of the rewrites), so
//! that the same value normalises the same way.

/// Characters of GS1 AI encodable character set 82 that Digital Link escapes.
fn escape(s: &str) -> String {
    percent_encode(s, |b| b"!()*+,:".contains(&b))
}

/// `s` with each character that has a byte `escaped` picks written as `%XX` per UTF-8 byte
/// (uppercase hex, RFC 3986 §2.1); every other character as it is.
pub(crate) fn percent_encode(s: &str, escaped: impl Fn(u8) -> bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        let bytes = &s.as_bytes()[i..i + c.len_utf8()];
        if bytes.iter().any(|&b| escaped(b)) {
            for b in bytes {
                // Writing into a String cannot fail.
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The GS1 check digit of `digits` (mod 10, weights 3 and 1 from the right).
fn check_digit(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// `digits` followed by its check digit.
fn with_check(digits: &str) -> String {
    format!("{digits}{}", check_digit(digits))
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// An EPC URI component in the characters an EPC URI allows for GS1 AI values (character
/// set 82, `%`-escaped where the URI needs it), of 1..=`max` characters (an escape counts one).
fn epc_chars(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else if b[i].is_ascii_alphanumeric() || b"!')(*+,.:;=_-".contains(&b[i]) {
            i += 1;
        } else {
            return false;
        }
        n += 1;
    }
    (1..=max).contains(&n)
}

/// A company prefix (6..=12 digits) and a reference of digits that together have `total`
/// digits.
fn prefix_and_ref(cp: &str, reference: &str, total: usize) -> bool {
    (6..=12).contains(&cp.len())
        && cp.len() + reference.len() == total
        && all_digits(cp)
        && all_digits(reference)
}

/// GTIN-14 from an EPC company prefix and item reference (indicator digit first).
fn gtin(cp: &str, item: &str) -> String {
    with_check(&format!("{}{cp}{}", &item[..1], &item[1..]))
}

/// Splits `body` at its dots into exactly `n` parts.
fn parts(body: &str, n: usize) -> Option<Vec<&str>> {
    let p: Vec<&str> = body.splitn(n, '.').collect();
    (p.len() == n).then_some(p)
}

const DL: &str = "https://id.gs1.org";

/// Schemes whose body is `<company prefix>.<reference>` (so many digits together) and whose
/// Digital Link is `/<AI>/<the digits and their check digit>`.
const KEYED: [(&str, usize, &str); 4] =
    [("gsrn", 17, "8018"), ("gsrnp", 17, "8017"), ("gsin", 16, "402"), ("pgln", 12, "417")];

/// Schemes whose body is `<company prefix>.<individual reference>` (6 to 12 digits, then up
/// to 30 characters in all), written `/<AI>/<both>`.
const INDIVIDUAL: [(&str, &str); 2] = [("giai", "8004"), ("ginc", "401")];

/// Schemes whose body is `<company prefix>.<item reference>.<serial>`, written as a GTIN,
/// then `/<AI>/<serial>` with the serial at most so many characters.
const GTIN_SERIAL: [(&str, &str, usize); 2] = [("sgtin", "21", 20), ("upui", "235", 28)];

/// Schemes whose body is `<company prefix>.<reference>.<serial>` (12 digits, then at most so
/// many characters), written `/<AI>/<pad, the digits, check digit><serial>`.
const KEY_SERIAL: [(&str, &str, &str, usize); 2] = [("grai", "8003", "0", 16), ("gdti", "253", "", 17)];

/// A pure-identity EPC URI (`urn:epc:id:<scheme>:<body>`).
fn epc_id(scheme: &str, body: &str) -> Option<String> {
    if let Some(&(_, digits, ai)) = KEYED.iter().find(|k| k.0 == scheme) {
        let p = parts(body, 2)?;
        return prefix_and_ref(p[0], p[1], digits)
            .then(|| format!("{DL}/{ai}/{}", with_check(&format!("{}{}", p[0], p[1]))));
    }
    if let Some(&(_, ai)) = INDIVIDUAL.iter().find(|k| k.0 == scheme) {
        let p = parts(body, 2)?;
        return ((6..=12).contains(&p[0].len()) && all_digits(p[0]) && epc_chars(p[1], 30 - p[0].len()))
            .then(|| format!("{DL}/{ai}/{}{}", p[0], escape(p[1])));
    }
    if let Some(&(_, ai, serial)) = GTIN_SERIAL.iter().find(|k| k.0 == scheme) {
        let p = parts(body, 3)?;
        return (prefix_and_ref(p[0], p[1], 13) && epc_chars(p[2], serial))
            .then(|| format!("{DL}/01/{}/{ai}/{}", gtin(p[0], p[1]), escape(p[2])));
    }
    if let Some(&(_, ai, pad, serial)) = KEY_SERIAL.iter().find(|k| k.0 == scheme) {
        let p = parts(body, 3)?;
        return (prefix_and_ref(p[0], p[1], 12) && epc_chars(p[2], serial))
            .then(|| format!("{DL}/{ai}/{}{}", with_check(&format!("{pad}{}{}", p[0], p[1])), escape(p[2])));
    }
    match scheme {
        "sscc" => {
            let p = parts(body, 2)?;
            prefix_and_ref(p[0], p[1], 17)
                .then(|| format!("{DL}/00/{}", with_check(&format!("{}{}{}", &p[1][..1], p[0], &p[1][1..]))))
        }
        "sgln" => {
            let p = parts(body, 3)?;
            if !(prefix_and_ref(p[0], p[1], 12) && epc_chars(p[2], 20)) {
                return None;
            }
            let gln = with_check(&format!("{}{}", p[0], p[1]));
            Some(if p[2] == "0" {
                format!("{DL}/414/{gln}")
            } else {
                format!("{DL}/414/{gln}/254/{}", escape(p[2]))
            })
        }
        "cpi" => {
            let (cp, rest) = body.split_once('.')?;
            let (cpref, serial) = rest.rsplit_once('.')?;
            (cpi_ref(cp, cpref) && !serial.is_empty() && serial.len() <= 12 && all_digits(serial))
                .then(|| format!("{DL}/8010/{}/8011/{serial}", escape(&format!("{cp}{cpref}"))))
        }
        "sgcn" => {
            let p = parts(body, 3)?;
            (prefix_and_ref(p[0], p[1], 12) && !p[2].is_empty() && p[2].len() <= 12 && all_digits(p[2]))
                .then(|| format!("{DL}/255/{}{}", with_check(&format!("{}{}", p[0], p[1])), p[2]))
        }
        "itip" => {
            let p = parts(body, 5)?;
            (prefix_and_ref(p[0], p[1], 13) && two_digits(p[2]) && two_digits(p[3]) && epc_chars(p[4], 20))
                .then(|| format!("{DL}/8006/{}{}{}/21/{}", gtin(p[0], p[1]), p[2], p[3], escape(p[4])))
        }
        _ => None,
    }
}

fn two_digits(s: &str) -> bool {
    s.len() == 2 && all_digits(s)
}

/// A CPI's company prefix and component/part reference (`[0-9A-Z-]`, `%23`, `%2F`), at most
/// 30 characters together.
fn cpi_ref(cp: &str, cpref: &str) -> bool {
    if !((6..=12).contains(&cp.len()) && all_digits(cp)) {
        return false;
    }
    let b = cpref.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] == b'%' {
            let esc = b.get(i + 1..i + 3).map(|e| e.to_ascii_uppercase());
            if !matches!(esc.as_deref(), Some(b"23" | b"2F")) {
                return false;
            }
            i += 3;
        } else if b[i].is_ascii_digit() || b[i].is_ascii_uppercase() || b[i] == b'-' {
            i += 1;
        } else {
            return false;
        }
        n += 1;
    }
    n >= 1 && cp.len() + n <= 30
}

/// An EPC class URI (`urn:epc:class:lgtin:…`).
fn epc_class(scheme: &str, body: &str) -> Option<String> {
    if scheme != "lgtin" {
        return None;
    }
    let p = parts(body, 3)?;
    (prefix_and_ref(p[0], p[1], 13) && epc_chars(p[2], 20))
        .then(|| format!("{DL}/01/{}/10/{}", gtin(p[0], p[1]), escape(p[2])))
}

/// An EPC pattern URI (`urn:epc:idpat:…` ending in `.*`): the key of the class it names.
fn epc_pattern(scheme: &str, body: &str) -> Option<String> {
    let body = body.strip_suffix(".*")?;
    match scheme {
        "sgtin" | "upui" => {
            let p = parts(body, 2)?;
            prefix_and_ref(p[0], p[1], 13).then(|| format!("{DL}/01/{}", gtin(p[0], p[1])))
        }
        "grai" => {
            let p = parts(body, 2)?;
            prefix_and_ref(p[0], p[1], 12)
                .then(|| format!("{DL}/8003/{}", with_check(&format!("0{}{}", p[0], p[1]))))
        }
        "gdti" | "sgcn" => {
            let p = parts(body, 2)?;
            let ai = if scheme == "gdti" { "253" } else { "255" };
            prefix_and_ref(p[0], p[1], 12)
                .then(|| format!("{DL}/{ai}/{}", with_check(&format!("{}{}", p[0], p[1]))))
        }
        "cpi" => {
            let (cp, cpref) = body.split_once('.')?;
            cpi_ref(cp, cpref).then(|| format!("{DL}/8010/{}", escape(&format!("{cp}{cpref}"))))
        }
        "itip" => {
            let p = parts(body, 4)?;
            (prefix_and_ref(p[0], p[1], 13) && two_digits(p[2]) && two_digits(p[3]))
                .then(|| format!("{DL}/8006/{}{}{}", gtin(p[0], p[1]), p[2], p[3]))
        }
        _ => None,
    }
}

/// Primary-key AIs (and their Digital Link short names) that make a URI a Digital Link URI.
const KEYS: [&str; 28] = [
    "01", "gtin", "8006", "itip", "8010", "cpid", "414", "gln", "417", "party", "8017", "gsrnp", "8018",
    "gsrn", "255", "gcn", "00", "sscc", "253", "gdti", "401", "ginc", "402", "gsin", "8003", "grai", "8004",
    "giai",
];

/// Short names of keys and key qualifiers, and their AIs.
const SHORT_NAMES: [(&str, &str); 17] = [
    ("/gtin/", "/01/"),
    ("/itip/", "/8006/"),
    ("/cpid/", "/8010/"),
    ("/gln/", "/414/"),
    ("/party/", "/417/"),
    ("/gsrnp/", "/8017/"),
    ("/gsrn/", "/8018/"),
    ("/gcn/", "/255/"),
    ("/sscc/", "/00/"),
    ("/gdti/", "/253/"),
    ("/ginc/", "/401/"),
    ("/gsin/", "/402/"),
    ("/grai/", "/8003/"),
    ("/giai/", "/8004/"),
    ("/cpv/", "/22/"),
    ("/lot/", "/10/"),
    ("/ser/", "/21/"),
];

/// Primary keys in the order the domain is rebased on them.
const REBASE: [&str; 14] =
    ["00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017", "8018"];

/// `/<key>/` followed by four digits and one more character that is not `/`, at `at`.
fn key_at(s: &str, at: usize, keys: &[&str]) -> bool {
    keys.iter().any(|k| {
        let pat = format!("/{k}/");
        s[at..].starts_with(&pat) && {
            let v = &s.as_bytes()[at + pat.len()..];
            v.len() > 4 && v[..4].iter().all(u8::is_ascii_digit) && v[4] != b'/'
        }
    })
}

/// Characters allowed in the Digital Link values the output may have.
fn dl_chars(s: &str, max: usize) -> bool {
    s.len() <= max
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'"' | b'\'' | b'-' | b'.' | b';' | b'<' | b'=' | b'>' | b'?' | b'_')
        })
}

/// If `s` starts with `n` digits, what follows them.
fn digits_then(s: &str, n: usize) -> Option<&str> {
    s.get(..n).filter(|d| all_digits(d)).map(|_| &s[n..])
}

/// The constrained canonical forms the reference implementation accepts as output.
fn valid_output(uri: &str) -> bool {
    let Some(path) = uri.strip_prefix("https://id.gs1.org/") else { return false };
    let Some((ai, rest)) = path.split_once('/') else { return false };
    let exactly = |n: usize| rest.len() == n && all_digits(rest);
    match ai {
        "00" => exactly(18),
        "01" => digits_then(rest, 14).is_some_and(|t| {
            t.is_empty()
                || t.strip_prefix("/21/").is_some_and(|v| dl_chars(v, 20))
                || t.strip_prefix("/10/").is_some_and(|v| dl_chars(v, 20))
                || t.strip_prefix("/235/").is_some_and(|v| dl_chars(v, 28))
        }),
        "253" => digits_then(rest, 13).is_some_and(|t| dl_chars(t, 17)),
        "255" => digits_then(rest, 13).is_some_and(|t| t.len() <= 12 && all_digits(t)),
        "401" | "8004" => dl_chars(rest, 30),
        "402" => exactly(17),
        "414" => digits_then(rest, 13)
            .is_some_and(|t| t.is_empty() || t.strip_prefix("/254/").is_some_and(|v| dl_chars(v, 20))),
        "417" => exactly(13),
        "8003" => digits_then(rest, 14).is_some_and(|t| dl_chars(t, 16)),
        "8006" => digits_then(rest, 18).is_some_and(|t| {
            t.is_empty()
                || t.strip_prefix("/21/").is_some_and(|v| dl_chars(v, 20))
                || t.strip_prefix("/10/").is_some_and(|v| dl_chars(v, 20))
        }),
        "8010" => {
            let cpid = |v: &str| {
                v.len() <= 30
                    && v.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b"#-/".contains(&b))
            };
            cpid(rest)
                || rest.match_indices("/8011/").any(|(i, _)| {
                    let serial = &rest[i + 6..];
                    cpid(&rest[..i]) && serial.len() <= 12 && all_digits(serial)
                })
        }
        "8017" | "8018" => exactly(18),
        _ => false,
    }
}

/// A GS1 Digital Link URI in its constrained canonical form, or `None`.
fn digital_link(uri: &str) -> Option<String> {
    let after = uri.strip_prefix("https:").or_else(|| uri.strip_prefix("http:"))?;
    let scheme_len = uri.len() - after.len();
    // A primary key with a value of four digits or more, before any query or fragment.
    let head_end = uri.find(['?', '#']).unwrap_or(uri.len());
    let found = uri[scheme_len..head_end].match_indices('/').any(|(i, _)| key_at(uri, scheme_len + i, &KEYS));
    if !found {
        return None;
    }
    let mut u = match uri.find('?') {
        Some(q) => uri[..q].to_owned(),
        None => uri.to_owned(),
    };
    for (short, ai) in SHORT_NAMES {
        u = u.replace(short, ai);
    }
    let canonical = u.starts_with("https://id.gs1.org/") && key_at(&u, DL.len(), &REBASE);
    if !canonical && let Some(at) = REBASE.iter().find_map(|k| u.find(&format!("/{k}/"))) {
        u = format!("{DL}{}", &u[at..]);
    }
    // GTINs of 8, 12 and 13 digits are padded to 14.
    if let Some(rest) = u.strip_prefix("https://id.gs1.org/01/") {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        let pad = match n {
            13 => "0",
            12 => "00",
            8..=11 => "000000",
            _ => "",
        };
        if !pad.is_empty() {
            u = u.replacen("/01/", &format!("/01/{pad}"), 1);
        }
    }
    // The consumer product variant (22) is not part of the key.
    for (ai, len) in [("01", 14), ("8006", 18)] {
        let prefix = format!("https://id.gs1.org/{ai}/");
        let Some(t) = u.strip_prefix(&prefix).and_then(|r| digits_then(r, len)) else { continue };
        let Some(cpv) = t.strip_prefix("/22/") else { continue };
        let at = u.len() - t.len();
        if cpv.len() <= 20 && dl_chars(cpv, 20) {
            u.truncate(at);
        } else if cpv.len() <= 20 && cpv.split('/').all(|s| dl_chars(s, 20)) {
            let keep = cpv.find('/').map(|i| cpv[i..].to_owned()).unwrap_or_default();
            u = format!("{}{keep}", &u[..at]);
        }
    }
    // With a serial, the lot (10) is not the finest level.
    for (ai, len) in [("01", 14), ("8006", 18)] {
        let prefix = format!("https://id.gs1.org/{ai}/");
        let Some(t) = u.strip_prefix(&prefix).and_then(|r| digits_then(r, len)) else { continue };
        let Some(lot_serial) = t.strip_prefix("/10/") else { continue };
        let Some((lot, serial)) = lot_serial.split_once("/21/") else { continue };
        if dl_chars(lot, 20) && dl_chars(serial, 20) {
            let at = u.len() - t.len();
            u = format!("{}/21/{serial}", &u[..at]);
        }
    }
    valid_output(&u).then_some(u)
}

/// The constrained canonical GS1 Digital Link URI of `value`, or `None` if it is not an EPC
/// URI or Digital Link URI this module recognises.
pub(crate) fn normalise(value: &str) -> Option<String> {
    if let Some(rest) = value.strip_prefix("urn:epc:id:") {
        let (scheme, body) = rest.split_once(':')?;
        return epc_id(scheme, body);
    }
    if let Some(rest) = value.strip_prefix("urn:epc:class:") {
        let (scheme, body) = rest.split_once(':')?;
        return epc_class(scheme, body);
    }
    if let Some(rest) = value.strip_prefix("urn:epc:idpat:") {
        let (scheme, body) = rest.split_once(':')?;
        return epc_pattern(scheme, body);
    }
    digital_link(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anything_else_is_left_alone_without_panicking() {
        for odd in [
            "https://id.gs1.org/01/0401234512345é/21/1",
            "https://id.gs1.org/01/040123451234é",
            "https://é.example/01/04012345123456/21/é",
            "https://id.gs1.org/01/04012345123456/22/é/21/1",
            "urn:epc:id:sgtin:é.1.1",
            "urn:epc:id:sgtin:",
            "urn:epc:idpat:cpi:0614141.%2.*",
            "http:",
            "https://",
            "",
        ] {
            let _ = normalise(odd);
        }
        assert_eq!(normalise("https://id.gs1.org/01/04012345123456/21/é"), None);
    }

    #[test]
    fn check_digits() {
        assert_eq!(with_check("0401234512345"), "04012345123456");
        assert_eq!(with_check("04012345000000333"), "040123450000003338");
        assert_eq!(with_check("401234500001"), "4012345000016");
    }

    #[test]
    fn epc_uris_become_digital_link() {
        for (epc, dl) in [
            ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
            ("urn:epc:id:sscc:4012345.0000000333", "https://id.gs1.org/00/040123450000003338"),
            ("urn:epc:id:sgln:4012345.00011.987", "https://id.gs1.org/414/4012345000115/254/987"),
            ("urn:epc:id:sgln:4012345.00005.0", "https://id.gs1.org/414/4012345000054"),
            ("urn:epc:id:pgln:999999999999.", "https://id.gs1.org/417/9999999999994"),
            (
                "urn:epc:class:lgtin:4054739.099914.20160711",
                "https://id.gs1.org/01/04054739999148/10/20160711",
            ),
            ("urn:epc:idpat:sgtin:4012345.044444.*", "https://id.gs1.org/01/04012345444445"),
            ("urn:epc:id:gdti:4012345.11111.123", "https://id.gs1.org/253/4012345111118123"),
        ] {
            assert_eq!(normalise(epc).as_deref(), Some(dl), "{epc}");
        }
    }

    #[test]
    fn digital_link_uris_are_constrained() {
        for (input, dl) in [
            (
                "https://id.gs1.de/01/04012345999990/21/XYZ-1234",
                "https://id.gs1.org/01/04012345999990/21/XYZ-1234",
            ),
            (
                "https://example.com/gtin/09780345418913/21/765tz?abc=211121",
                "https://id.gs1.org/01/09780345418913/21/765tz",
            ),
            ("https://id.gs1.org/01/9780345418913", "https://id.gs1.org/01/09780345418913"),
            (
                "https://id.gs1.org/01/09780345418913/22/ABC/10/L1/21/S1",
                "https://id.gs1.org/01/09780345418913/21/S1",
            ),
            ("https://id.example.com/8003/040123450007718765", "https://id.gs1.org/8003/040123450007718765"),
        ] {
            assert_eq!(normalise(input).as_deref(), Some(dl), "{input}");
        }
        for other in [
            "http://transaction.acme.com/po/12345678",
            "https://accreditation-council.example.org/certificate/ABC12345",
            "http://www.opengis.net/def/crs/EPSG/0/27700",
            "urn:uuid:0190a0c4-5d2e-7000-8000-000000000000",
            "urn:epc:id:sgtin:0614141.107346",
            "OBSERVE",
        ] {
            assert_eq!(normalise(other), None, "{other}");
        }
    }
}
