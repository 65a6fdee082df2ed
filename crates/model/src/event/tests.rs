use super::*;

/// An event of every kind, canonical, one a line (some with escapes and non-ASCII text).
const EVENTS: &str = include_str!("../../tests/data/events.jsonl");

fn events() -> Vec<&'static [u8]> {
    EVENTS.lines().map(str::as_bytes).collect()
}

/// `Event::parse` of `bytes` is what the strict path alone gives, and the fast path gives
/// either nothing or that. Returns whether the fast path took it.
fn same_as_strict(bytes: &[u8]) -> bool {
    let strict = Event::parse_strict(bytes);
    let fast = Event::parse_canonical(bytes);
    let whole = Event::parse(bytes);
    let show = |r: &Result<ParsedEvent, JsonError>| match r {
        Ok(p) => {
            format!("{:?} {} {:?} {:?}", p.event, String::from_utf8_lossy(&p.canonical), p.hash, p.offer_hash)
        }
        Err(e) => format!("error: {e}"),
    };
    let text = String::from_utf8_lossy(bytes);
    assert_eq!(show(&whole), show(&strict), "{text}");
    if let Some(fast) = &fast {
        assert_eq!(show(&Ok(fast.clone())), show(&strict), "{text}");
        assert_eq!(fast.canonical, bytes, "{text}");
    }
    fast.is_some()
}

#[test]
fn every_kind_takes_the_fast_path() {
    let mut kinds = std::collections::BTreeSet::new();
    for bytes in events() {
        assert!(same_as_strict(bytes), "{}", String::from_utf8_lossy(bytes));
        let parsed = Event::parse(bytes).unwrap();
        assert_eq!(parsed.hash, parsed.event.hash().unwrap());
        // The offer is hashed over its part of the input: what re-serialising it gives.
        let offer_hash = match &parsed.event.body.payload {
            Payload::Handover { offer, .. } => Some(offer.hash().unwrap()),
            _ => None,
        };
        assert_eq!(parsed.offer_hash, offer_hash);
        assert_eq!(parsed.canonical, canonical::to_canonical(&parsed.event).unwrap());
        let body = canonical::to_canonical(&parsed.event.body).unwrap();
        let sig = canonical::to_canonical(&parsed.event.sig).unwrap();
        assert_eq!(
            parsed.canonical,
            canonical::oracle::object_of_canonical(&mut [("sig", &sig), ("body", &body)])
        );
        kinds.insert(parsed.event.body.payload.kind());
    }
    assert_eq!(kinds.len(), 17, "{kinds:?}");
}

#[test]
fn single_byte_changes_agree_with_the_strict_path() {
    // Every byte replaced (by a neighbour, a quote, a backslash), removed,
    // and preceded by a space. Most are refused; the few that stay canonical (a digit of
    // a hash, a letter of a name) must give what the strict path gives.
    let (mut fast, mut all) = (0, 0);
    for bytes in events() {
        // Whether each byte is outside strings: a space there is whitespace.
        let mut outside = Vec::with_capacity(bytes.len());
        let (mut in_string, mut escaped) = (false, false);
        for &b in bytes {
            outside.push(!in_string && b != b'"');
            match b {
                _ if escaped => escaped = false,
                b'\\' if in_string => escaped = true,
                b'"' => in_string = !in_string,
                _ => {}
            }
        }
        for i in 0..bytes.len() {
            let mut variants = Vec::new();
            for b in [bytes[i] ^ 1, b'"', b'\\'] {
                if b != bytes[i] {
                    let mut m = bytes.to_vec();
                    m[i] = b;
                    variants.push(m);
                }
            }
            let mut removed = bytes.to_vec();
            removed.remove(i);
            variants.push(removed);
            let mut spaced = bytes.to_vec();
            spaced.insert(i, b' ');
            if outside[i] {
                assert!(Event::parse_canonical(&spaced).is_none(), "{}", String::from_utf8_lossy(&spaced));
            }
            variants.push(spaced);
            for m in variants {
                all += 1;
                if same_as_strict(&m) {
                    fast += 1;
                }
            }
        }
    }
    // Some changes keep the bytes canonical, most do not.
    assert!(fast > 0 && fast < all / 4, "{fast} of {all}");
}

/// Every object of `value`, each with its members rotated by one (none if it has one).
fn reorderings(value: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    match value {
        serde_json::Value::Object(map) => {
            if map.len() > 1 {
                let mut members: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                members.rotate_left(1);
                out.push(serde_json::Value::Object(members.into_iter().collect()));
            }
            for (k, v) in map {
                for changed in reorderings(v) {
                    let mut copy = map.clone();
                    copy.insert(k.clone(), changed);
                    out.push(serde_json::Value::Object(copy));
                }
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                for changed in reorderings(v) {
                    let mut copy = items.clone();
                    copy[i] = changed;
                    out.push(serde_json::Value::Array(copy));
                }
            }
        }
        _ => {}
    }
    out
}

#[test]
fn reordered_members_pretty_printing_and_duplicates_take_the_strict_path() {
    for bytes in events() {
        let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        let expected = Event::parse(bytes).unwrap();
        for changed in reorderings(&value) {
            let m = serde_json::to_vec(&changed).unwrap();
            assert!(!same_as_strict(&m), "{}", String::from_utf8_lossy(&m));
            // The strict path reads it as the same event, with the same canonical bytes.
            let parsed = Event::parse(&m).unwrap();
            assert_eq!((parsed.canonical, parsed.hash), (expected.canonical.clone(), expected.hash));
        }
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        assert!(!same_as_strict(&pretty));
        assert_eq!(Event::parse(&pretty).unwrap().canonical, expected.canonical);
        let text = std::str::from_utf8(bytes).unwrap();
        for (from, to) in [
            (r#"{"body":{"#, r#"{"body":{"v":1,"#),
            (r#""sig":{"#, r#""sig":{"sig":"","#),
            (r#"{"body":"#, r#"{"sig":{},"body":"#),
            (r#""v":1"#, r#""v":1.0"#),
            (r#""v":1"#, r#""v":2"#),
            (r#""v":1"#, r#""v":01"#),
            (r#""v":1"#, r#""v":1,"x":null"#),
        ] {
            let m = text.replacen(from, to, 1);
            assert!(!same_as_strict(m.as_bytes()), "{m}");
            assert!(Event::parse(m.as_bytes()).is_err(), "{m}");
        }
    }
}

#[test]
fn many_generated_events_agree_with_the_strict_path() {
    // Events of every kind with their values changed, from a fixed pseudo-random sequence:
    // strings (names, ids, hashes, keys, text with escapes and non-ASCII characters) and
    // numbers. Valid or not, canonical or not, `parse` gives what the strict path gives.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pieces = [
        "a",
        "Z",
        "0",
        "9",
        " ",
        "-",
        ".",
        "\"",
        "\\",
        "/",
        "\u{e9}",
        "\u{2028}",
        "\u{ffff}",
        "\u{10000}",
        "\u{1f48e}",
        "\n",
        "\u{7f}",
        "f",
        "=",
    ];
    let (mut fast, mut all) = (0, 0);
    for bytes in events() {
        let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        for _ in 0..300 {
            let mut changed = value.clone();
            // One to three leaves changed.
            for _ in 0..1 + next() % 3 {
                let mut paths = Vec::new();
                collect_paths(&changed, &mut Vec::new(), &mut paths);
                let path = &paths[(next() % paths.len() as u64) as usize];
                let leaf = changed.pointer_mut(path).unwrap();
                *leaf = match &*leaf {
                    serde_json::Value::String(s) => {
                        let mut s = s.clone();
                        let chars: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
                        let pick = |n: u64, len: usize| (n % (len as u64 + 1)) as usize;
                        match next() % 3 {
                            0 => {
                                let at = chars.get(pick(next(), chars.len())).copied().unwrap_or(s.len());
                                s.insert_str(at, pieces[(next() % pieces.len() as u64) as usize]);
                            }
                            1 if !chars.is_empty() => {
                                s.remove(chars[pick(next(), chars.len() - 1)]);
                            }
                            _ => s = s.to_uppercase(),
                        }
                        serde_json::Value::String(s)
                    }
                    serde_json::Value::Number(n) => {
                        let n = n.as_u64().unwrap_or(0);
                        serde_json::json!(match next() % 4 {
                            0 => 0,
                            1 => n + 1,
                            2 => n.saturating_sub(1),
                            _ => (1 << 53) - 1 + next() % 3,
                        })
                    }
                    serde_json::Value::Bool(b) => serde_json::Value::Bool(!b),
                    other => other.clone(),
                };
            }
            // Written canonically, so that the fast path has its chance.
            let m = canonical::canonical_value(&changed);
            all += 1;
            if same_as_strict(&m) {
                fast += 1;
            }
        }
    }
    assert!(fast > all / 10 && fast < all, "{fast} of {all}");
}

#[test]
fn invisible_and_unnormalised_characters_are_refused_in_every_string_on_both_paths() {
    // A word joiner (SL-2026<U+2060>-004600 looks like SL-2026-004600), a zero-width space, a
    // right-to-left override, a byte-order mark, and an `e` with a separate accent (not NFC),
    // put after the first character of every string of every kind of event: no string of a
    // signed document may hold any of them, and the fast path refuses what the strict one does.
    let mut checked = 0;
    for bytes in events() {
        let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        let mut paths = Vec::new();
        collect_paths(&value, &mut Vec::new(), &mut paths);
        for path in paths {
            let Some(serde_json::Value::String(s)) = value.pointer(&path) else { continue };
            for insert in ["\u{2060}", "\u{200b}", "\u{202e}", "\u{feff}", "e\u{301}"] {
                let mut chars = s.chars();
                let first = chars.next().map(String::from).unwrap_or_default();
                let changed_text = format!("{first}{insert}{}", chars.as_str());
                let mut changed = value.clone();
                *changed.pointer_mut(&path).unwrap() = serde_json::Value::String(changed_text);
                let m = canonical::canonical_value(&changed);
                same_as_strict(&m);
                assert!(Event::parse(&m).is_err(), "{path} with {insert:?}: {}", String::from_utf8_lossy(&m));
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "{checked}");
}

/// JSON pointers to every leaf of `v`.
fn collect_paths(v: &serde_json::Value, at: &mut Vec<String>, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                at.push(k.replace('~', "~0").replace('/', "~1"));
                collect_paths(v, at, out);
                at.pop();
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                at.push(i.to_string());
                collect_paths(v, at, out);
                at.pop();
            }
        }
        _ => out.push(at.iter().map(|p| format!("/{p}")).collect()),
    }
}
