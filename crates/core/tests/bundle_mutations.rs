//! Every single-value mutation of a demo evidence bundle is rejected, and none panics.
//!
//! A demo ledger is built once (8 parcels) and two of its bundles are loaded: the
//! mixed-origin Sierra Leone certificate (SL + an imported Liberian lot, the largest) and
//! the Guinean one (the smallest). The pristine bundles verify with the authorities' keys
//! from `manifest.json`. Then, one at a time, every leaf of the JSON document is changed
//! (strings: a character appended, a character flipped so that the value stays well
//! formed, emptied; numbers: plus and minus one; booleans: negated), every array element
//! is deleted, and every object key is deleted and renamed. Each mutant must be refused:
//! `Err(_)` (the CLI's exit 2) or a report that is not ok (exit 1). A mutant that is
//! accepted, or a panic, fails the test with the JSON pointer and the mutation.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use kpledger_core::demo;
use kpledger_model::PublicKey;
use serde_json::Value;

/// The demo's bundles under test and the keys the importing authority trusts.
struct Demo {
    /// `bundles/SL-2026-004312.json`: mixed origin, the largest.
    sl: Vec<u8>,
    /// `bundles/GN-2026-000117.json`: the smallest.
    gn: Vec<u8>,
    trusted: Vec<PublicKey>,
}

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kpledger-bundle-mutations-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        demo::run(&dir, 8, &mut |_| {}).unwrap();
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let trusted: Vec<PublicKey> = manifest["trust"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| PublicKey::read_pem_file(&dir.join(p.as_str().unwrap())).unwrap())
            .collect();
        assert!(!trusted.is_empty(), "the manifest trusts no key");
        let read = |name: &str| std::fs::read(dir.join("bundles").join(name)).unwrap();
        let d = Demo { sl: read("SL-2026-004312.json"), gn: read("GN-2026-000117.json"), trusted };
        std::fs::remove_dir_all(&dir).unwrap();
        d
    })
}

/// One step of a path into a JSON document.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// What a mutant does at its path.
#[derive(Debug, Clone)]
enum Op {
    /// Replace the value.
    Set(Value),
    /// Delete the array element or the object key.
    Remove,
    /// Rename the object key (keeping its value).
    Rename(String),
}

#[derive(Debug, Clone)]
struct Mutant {
    path: Vec<Seg>,
    op: Op,
    what: String,
}

fn pointer(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        s.push('/');
        match seg {
            Seg::Key(k) => s.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Seg::Index(i) => s.push_str(&i.to_string()),
        }
    }
    if s.is_empty() { "/".into() } else { s }
}

/// The character after `c` in its own class (digit, lower or upper case letter, hex
/// digit for `a`-`f`), so that the string keeps its shape; `None` for other characters.
fn next_in_class(c: char) -> Option<char> {
    let step = |c: char, lo: char, hi: char| {
        if c == hi { lo } else { char::from_u32(c as u32 + 1).unwrap_or(lo) }
    };
    match c {
        '0'..='9' => Some(step(c, '0', '9')),
        'a'..='f' => Some(step(c, 'a', 'f')),
        'g'..='z' => Some(step(c, 'g', 'z')),
        'A'..='Z' => Some(step(c, 'A', 'Z')),
        _ => None,
    }
}

/// Structurally valid variants of `s`: the first and the last digit flipped (a time, a
/// hash, a UUID, a serial number stay well formed), or, without digits, the first and
/// last letter.
fn flips(s: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = s.chars().collect();
    let digits: Vec<usize> = (0..chars.len()).filter(|&i| chars[i].is_ascii_digit()).collect();
    let positions = if digits.is_empty() {
        (0..chars.len()).filter(|&i| chars[i].is_ascii_alphabetic()).collect()
    } else {
        digits
    };
    let mut out = Vec::new();
    let mut picks = Vec::new();
    if let Some(&first) = positions.first() {
        picks.push(first);
    }
    if let Some(&last) = positions.last()
        && !picks.contains(&last)
    {
        picks.push(last);
    }
    for i in picks {
        let Some(n) = next_in_class(chars[i]) else { continue };
        let mut v = chars.clone();
        v[i] = n;
        out.push((v.into_iter().collect(), format!("flip char {i} {:?} -> {n:?}", chars[i])));
    }
    out
}

fn string_mutants(s: &str) -> Vec<(String, String)> {
    let mut out = vec![(format!("{s}x"), "append \"x\"".to_owned())];
    out.extend(flips(s));
    if !s.is_empty() {
        out.push((String::new(), "empty the string".to_owned()));
    }
    out.retain(|(m, _)| m != s);
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Every mutant of the document, by walking its tree.
fn mutants(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Mutant>) {
    let here = |op: Op, what: String| Mutant { path: path.clone(), op, what };
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push(here(Op::Set(Value::Bool(!b)), format!("{b} -> {}", !b))),
        Value::Number(n) => {
            let n = n.as_u64().unwrap_or_else(|| panic!("{}: {n} is not a whole number", pointer(path)));
            out.push(here(Op::Set(Value::from(n + 1)), format!("{n} -> {}", n + 1)));
            if n > 0 {
                out.push(here(Op::Set(Value::from(n - 1)), format!("{n} -> {}", n - 1)));
            }
        }
        Value::String(s) => {
            for (m, what) in string_mutants(s) {
                out.push(here(Op::Set(Value::String(m)), what));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                out.push(Mutant { path: path.clone(), op: Op::Remove, what: format!("delete element {i}") });
                mutants(item, path, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(Seg::Key(k.clone()));
                out.push(Mutant { path: path.clone(), op: Op::Remove, what: format!("delete key {k:?}") });
                for (renamed, what) in string_mutants(k) {
                    if !renamed.is_empty() && !map.contains_key(&renamed) {
                        out.push(Mutant {
                            path: path.clone(),
                            op: Op::Rename(renamed.clone()),
                            what: format!("rename key {k:?} to {renamed:?} ({what})"),
                        });
                    }
                }
                mutants(item, path, out);
                path.pop();
            }
        }
    }
}

fn apply(doc: &mut Value, m: &Mutant) {
    let (last, parents) = match m.path.split_last() {
        Some(x) => x,
        None => {
            if let Op::Set(v) = &m.op {
                *doc = v.clone();
            }
            return;
        }
    };
    let mut at = doc;
    for seg in parents {
        at = match seg {
            Seg::Key(k) => at.get_mut(k.as_str()).unwrap(),
            Seg::Index(i) => at.get_mut(*i).unwrap(),
        };
    }
    match (last, &m.op) {
        (Seg::Key(k), Op::Set(v)) => at[k.as_str()] = v.clone(),
        (Seg::Index(i), Op::Set(v)) => at[*i] = v.clone(),
        (Seg::Key(k), Op::Remove) => {
            at.as_object_mut().unwrap().shift_remove(k.as_str()).unwrap();
        }
        (Seg::Index(i), Op::Remove) => {
            at.as_array_mut().unwrap().remove(*i);
        }
        (Seg::Key(k), Op::Rename(to)) => {
            let map = at.as_object_mut().unwrap();
            let v = map.shift_remove(k.as_str()).unwrap();
            map.insert(to.clone(), v);
        }
        (Seg::Index(_), Op::Rename(_)) => unreachable!("only object keys are renamed"),
    }
}

#[derive(Debug, Default)]
struct Tally {
    mutants: usize,
    /// Refused outright (`Err`, the CLI's exit 2).
    errors: usize,
    /// Verified with error findings (exit 1).
    failed: usize,
    accepted: Vec<String>,
    panics: Vec<String>,
}

/// Runs every mutant of `bytes` (or every `stride`-th, for a sample) on all cores.
fn run(name: &str, bytes: &[u8], trusted: &[PublicKey], stride: usize) -> Tally {
    let pristine = kpledger_verify::verify_bundle(bytes, trusted).unwrap();
    assert!(pristine.ok, "{name}: the pristine bundle does not verify: {:#?}", pristine.findings);
    assert!(pristine.events > 0);

    let doc: Value = serde_json::from_slice(bytes).unwrap();
    let mut all = Vec::new();
    mutants(&doc, &mut Vec::new(), &mut all);
    let chosen: Vec<Mutant> = all.into_iter().step_by(stride).collect();

    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut local = Tally::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(m) = chosen.get(i) else { break };
                    let mut mutated = doc.clone();
                    apply(&mut mutated, m);
                    let out = serde_json::to_vec_pretty(&mutated).unwrap();
                    assert_ne!(
                        out.as_slice(),
                        bytes.strip_suffix(b"\n").unwrap_or(bytes),
                        "{m:?} changed nothing"
                    );
                    local.mutants += 1;
                    let label = format!("{name} {} {}", pointer(&m.path), m.what);
                    match catch_unwind(AssertUnwindSafe(|| kpledger_verify::verify_bundle(&out, trusted))) {
                        Err(_) => local.panics.push(label),
                        Ok(Err(_)) => local.errors += 1,
                        Ok(Ok(r)) if !r.ok => local.failed += 1,
                        Ok(Ok(_)) => local.accepted.push(label),
                    }
                }
                let mut t = tally.lock().unwrap();
                t.mutants += local.mutants;
                t.errors += local.errors;
                t.failed += local.failed;
                t.accepted.extend(local.accepted);
                t.panics.extend(local.panics);
            });
        }
    });
    let mut t = tally.into_inner().unwrap();
    t.accepted.sort();
    t.panics.sort();
    println!(
        "{name}: {} events, {} mutants{}: {} refused (exit 2), {} failed verification (exit 1), {} accepted, {} panics",
        pristine.events,
        t.mutants,
        if stride > 1 { format!(" (every {stride}th)") } else { String::new() },
        t.errors,
        t.failed,
        t.accepted.len(),
        t.panics.len()
    );
    t
}

fn assert_all_refused(t: &Tally, at_least: usize) {
    assert!(t.panics.is_empty(), "{} mutants panicked:\n{}", t.panics.len(), t.panics.join("\n"));
    assert!(t.accepted.is_empty(), "{} mutants were accepted:\n{}", t.accepted.len(), t.accepted.join("\n"));
    assert_eq!(t.errors + t.failed, t.mutants);
    assert!(t.mutants >= at_least, "only {} mutants; the walk missed the document", t.mutants);
}

/// Exhaustive over the smallest bundle.
#[test]
fn every_mutation_of_the_gn_bundle_is_refused() {
    let d = demo();
    let t = run("GN-2026-000117", &d.gn, &d.trusted, 1);
    assert_all_refused(&t, 2_000);
}

/// Exhaustive over the mixed-origin bundle.
#[test]
fn every_mutation_of_the_mixed_origin_sl_bundle_is_refused() {
    let d = demo();
    let t = run("SL-2026-004312", &d.sl, &d.trusted, 1);
    assert_all_refused(&t, 2_000);
}

#[test]
fn the_walk_sees_every_kind_of_value() {
    let doc: Value = serde_json::from_slice(&demo().gn).unwrap();
    let mut all = Vec::new();
    mutants(&doc, &mut Vec::new(), &mut all);
    let has = |f: &dyn Fn(&Mutant) -> bool| all.iter().any(f);
    assert!(has(&|m| matches!(&m.op, Op::Set(Value::Bool(_)))));
    assert!(has(&|m| matches!(&m.op, Op::Set(Value::Number(_)))));
    assert!(has(&|m| matches!(&m.op, Op::Set(Value::String(_))) && m.what.starts_with("flip")));
    assert!(has(&|m| matches!(&m.op, Op::Remove) && matches!(m.path.last(), Some(Seg::Index(_)))));
    assert!(has(&|m| matches!(&m.op, Op::Rename(_))));
    // Each event of the bundle can be deleted.
    let events = doc["events"].as_array().unwrap().len();
    let deletions = all
        .iter()
        .filter(|m| {
            matches!(m.op, Op::Remove) && m.path.len() == 2 && pointer(&m.path).starts_with("/events/")
        })
        .count();
    assert_eq!(deletions, events);
}

#[test]
fn zz_timing() {
    let d = demo();
    for (n, b) in [("gn", &d.gn), ("sl", &d.sl)] {
        let t = std::time::Instant::now();
        for _ in 0..20 {
            kpledger_verify::verify_bundle(b, &d.trusted).unwrap();
        }
        println!("{n}: {} bytes, {:?} per verify", b.len(), t.elapsed() / 20);
    }
}
