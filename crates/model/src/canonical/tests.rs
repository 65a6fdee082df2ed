use super::*;

#[test]
fn memory_is_bounded_by_the_input() {
    // 9 MB of input that would be about 216 MB of values.
    let tiny = format!("[{}]", vec!["{}"; 3_000_000].join(","));
    let e = parse_strict(tiny.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("far more JSON values"), "{e}");
    assert!(parse_bounded(tiny.as_bytes()).is_err());
    let mut streamed = 0;
    let doc = format!(r#"{{"events":{tiny}}}"#);
    let read = parse_strict_streaming(doc.as_bytes(), "events", &mut |_| {
        streamed += 1;
        Err::<(), _>("stop at the first")
    });
    assert_eq!((read.unwrap_err(), streamed), ("stop at the first", 1));
    // A large document of hashes (a bundle's proofs) reads; any JSON, for parse_bounded.
    let hash = format!("\"{}\"", "0f".repeat(32));
    let fine = format!("[{}]", vec![hash.as_str(); 100_000].join(",\n      "));
    assert!(parse_strict(fine.as_bytes()).is_ok());
    let any = r#"{"q": 1.5, "q": 2, "big": 18446744073709551615}"#;
    assert_eq!(parse_bounded(any.as_bytes()).unwrap()["q"], 2);
    assert!(parse_strict(any.as_bytes()).is_err());
}

#[test]
fn model_path_agrees_with_the_value_path() {
    use std::collections::BTreeMap;
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum E {
        Unit,
        New(u32),
        Tuple(u8, String),
        Struct { z: i64, a: Option<bool> },
    }
    #[derive(Serialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Tagged {
        One { b: u8, a: u8 },
    }
    #[derive(Serialize)]
    struct Doc {
        zeta: Vec<E>,
        alpha: BTreeMap<u32, &'static str>,
        names: BTreeMap<String, Tagged>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        null: Option<u8>,
        bytes: Vec<u8>,
        s: &'static str,
        edge: (u64, i64),
    }
    let doc = Doc {
        zeta: vec![E::Unit, E::New(7), E::Tuple(1, "x".into()), E::Struct { z: -3, a: None }],
        alpha: [(10, "ten"), (9, "nine")].into_iter().collect(),
        names: [
            ("\u{1f600}".to_owned(), Tagged::One { b: 2, a: 1 }),
            ("\u{e000}".to_owned(), Tagged::One { b: 0, a: 0 }),
        ]
        .into_iter()
        .collect(),
        skipped: None,
        null: None,
        bytes: vec![0, 255],
        s: "tab\t quote\" nul\u{0} del\u{7f} \u{2028}",
        edge: (MAX_SAFE_INTEGER, -(MAX_SAFE_INTEGER as i64)),
    };
    let by_value = oracle::canonical_value(&serde_json::to_value(&doc).unwrap());
    assert_eq!(String::from_utf8(to_canonical(&doc).unwrap()).unwrap(), String::from_utf8(by_value).unwrap());
    let too_big = to_canonical(&(MAX_SAFE_INTEGER + 1)).unwrap_err();
    assert!(too_big.to_string().contains("2^53"), "{too_big}");
    assert!(to_canonical(&1.5_f64).is_err());
}

#[test]
fn model_path_sorts_out_of_order_members_at_every_depth() {
    use std::collections::BTreeMap;
    // Fields declared out of order, nested objects out of order inside in-order ones and
    // the reverse, flattened members among struct fields, maps whose keys sort differently
    // in UTF-16 and in UTF-8 or need escapes, empty and one-member objects, enum variants.
    #[derive(Serialize)]
    struct Inner {
        zz: u8,
        #[serde(rename = "a\"q")]
        quoted: &'static str,
        m: BTreeMap<String, Vec<Inner2>>,
    }
    #[derive(Serialize)]
    struct Inner2 {
        b: Option<u8>,
        a: (),
    }
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum V {
        Unit,
        New(Inner2),
        Tuple(Inner2, u8),
        Struct { y: Inner2, x: BTreeMap<u8, u8> },
    }
    #[derive(Serialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Tagged {
        Zed { zeta: u8, alpha: V },
        Empty {},
    }
    #[derive(Serialize)]
    struct Outer {
        b: u8,
        #[serde(flatten)]
        t: Tagged,
        a: Inner,
        c: BTreeMap<String, u8>,
        d: BTreeMap<String, u8>,
        e: Vec<V>,
    }
    let keys =
        ["\u{10000}", "\u{ffff}", "\u{e000}", "\u{d7ff}", "\u{1f48e}", "z", "", "\n", "\"", "\\", "é", "e"];
    let inner2 = || Inner2 { b: Some(1), a: () };
    let doc = |t: Tagged| Outer {
        b: 2,
        t,
        a: Inner {
            zz: 1,
            quoted: "\u{2028}",
            m: keys.iter().map(|k| ((*k).to_owned(), vec![inner2(), Inner2 { b: None, a: () }])).collect(),
        },
        c: keys.iter().enumerate().map(|(i, k)| ((*k).to_owned(), i as u8)).collect(),
        d: BTreeMap::new(),
        e: vec![
            V::Unit,
            V::New(inner2()),
            V::Tuple(inner2(), 3),
            V::Struct { y: inner2(), x: [(10, 1), (9, 2)].into_iter().collect() },
        ],
    };
    for t in [Tagged::Zed { zeta: 0, alpha: V::New(inner2()) }, Tagged::Empty {}] {
        let doc = doc(t);
        let by_value = oracle::canonical_value(&serde_json::to_value(&doc).unwrap());
        assert_eq!(
            String::from_utf8(to_canonical(&doc).unwrap()).unwrap(),
            String::from_utf8(by_value.clone()).unwrap()
        );
        // Twice: the writer's working space is reused.
        assert_eq!(to_canonical(&doc).unwrap(), by_value);
        let (signed, body) = to_canonical_signed(&doc, &doc.e, 0).unwrap();
        let e = to_canonical(&doc.e).unwrap();
        assert_eq!(signed, oracle::object_of_canonical(&mut [("sig", &e), ("body", &by_value)]));
        assert_eq!(signed[body], by_value);
    }
    // After a refusal in the middle of an object, the next document is written whole.
    let mut bad = BTreeMap::new();
    bad.insert("b".to_owned(), vec![u64::MAX]);
    bad.insert("a".to_owned(), vec![1]);
    assert!(to_canonical(&("x", &bad)).is_err());
    assert_eq!(
        to_canonical(&[("\u{ffff}", 1), ("\u{10000}", 2)].into_iter().collect::<BTreeMap<_, _>>()).unwrap(),
        "{\"\u{10000}\":2,\"\u{ffff}\":1}".as_bytes()
    );
}

#[test]
fn utf16_order_of_utf8_bytes_agrees_with_decoding() {
    let chars = [
        '\0',
        'a',
        'z',
        '\u{7f}',
        '\u{80}',
        '\u{7ff}',
        '\u{800}',
        '\u{d7ff}',
        '\u{e000}',
        '\u{efff}',
        '\u{f000}',
        '\u{fffd}',
        '\u{ffff}',
        '\u{10000}',
        '\u{1f48e}',
        '\u{10ffff}',
    ];
    let mut strings = vec![String::new()];
    for a in chars {
        strings.push(a.to_string());
        for b in chars {
            strings.push([a, b].iter().collect());
            strings.push(['x', a, b].iter().collect());
        }
    }
    for a in &strings {
        for b in &strings {
            assert_eq!(
                utf16_order_utf8(a.as_bytes(), b.as_bytes()),
                oracle::utf16_order(a, b),
                "{a:?} {b:?}"
            );
        }
    }
}

#[test]
fn escapes_are_found_at_every_position() {
    for len in 0..20 {
        for at in 0..len {
            for b in 0..=0x7fu8 {
                let mut s = vec![b'a'; len];
                s[at] = b;
                let naive = s.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
                assert_eq!(needs_escape(&s), naive, "{s:?}");
            }
        }
    }
    // Bytes of multi-byte characters never need an escape.
    assert!(!needs_escape("é\u{ffff}\u{1f48e}\u{2028}\u{7f}".as_bytes()));
    let mut out = Vec::new();
    write_string("a\u{1f48e}\"\\\n\u{1}\u{7f}", &mut out);
    assert_eq!(out, serde_json::to_vec("a\u{1f48e}\"\\\n\u{1}\u{7f}").unwrap());
}

#[test]
fn writer_agrees_with_the_reference_canonicalizer() {
    // The RFC 8785 vectors (tests/vectors.rs) are the authority; this adds cases they do
    // not have: integers at the 2^53 edge, supplementary-plane names (UTF-16 order differs
    // from code-point order), every control character, nesting.
    let controls: String = (0u8..0x20).map(char::from).chain(['"', '\\', '\u{7f}', '\u{2028}']).collect();
    let doc = serde_json::json!({
        "\u{1f600}": 1, "\u{e000}": 2, "z": [9007199254740992_u64, 9007199254740993_u64,
        -9007199254740992_i64, -9007199254740993_i64, 0, -1, 18446744073709551615_u64],
        "a": {"c": null, "b": [true, false, {"": "", "aa": 1.5, "a": -0.0}]},
        controls.as_str(): controls.clone(),
    });
    let reference = serde_json_canonicalizer::to_vec(&doc).unwrap();
    assert_eq!(String::from_utf8(canonical_value(&doc)).unwrap(), String::from_utf8(reference).unwrap());
    assert_eq!(canonical_value(&doc), oracle::canonical_value(&doc));
}

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
    assert!(matches!(from_slice_strict::<Small>(br#"{"a":1,"b":null}"#), Err(JsonError::NotRoundTrip(_))));
    assert_eq!(from_slice_strict::<Small>(br#"{"a":1}"#).unwrap(), Small { a: 1, b: None });
}

#[test]
fn negative_weights_fail_the_shape() {
    assert!(matches!(from_slice_strict::<Small>(br#"{"a":-1}"#), Err(JsonError::Shape(_))));
}
