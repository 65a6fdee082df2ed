//! Every single-value mutation of a demo evidence bundle is rejected, and none panics.
//!
//! A demo ledger is built once (8 parcels) and two of its bundles are loaded: the
//! mixed-origin Sierra Leone certificate (SL + an imported Liberian lot, the largest) and
//! the Guinean one (the smallest). The pristine bundles verify under the importer's trust
//! policy the demo writes (`manifest.json`'s `policy`: the Secretariat's log key, the four
//! national authorities as witnesses, all required, and as their countries' issuers). Then, one at a time, every leaf of the JSON document is changed
//! (strings: a character appended, a character flipped so that the value stays well
//! formed, emptied; numbers: plus and minus one; booleans: negated), every array element
//! is deleted and duplicated, and every object key is deleted and renamed. Each mutant must be refused:
//! `Err(_)` (the CLI's exit 2) or a report that is not ok (exit 1). A mutant that is
//! accepted, or a panic, fails the test with the JSON pointer and the mutation.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use kpledger_verify::TrustPolicy;
use serde_json::Value;

/// The demo's bundles under test and the importing authority's trust policy.
struct Demo {
    /// `bundles/SL-2026-004312.json`: mixed origin, the largest.
    sl: Vec<u8>,
    /// `bundles/GN-2026-000117.json`: the smallest.
    gn: Vec<u8>,
    policy: TrustPolicy,
}

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let d = common::Demo::new("bundle-mutations", 8);
        Demo { sl: d.bundle("SL-2026-004312.json"), gn: d.bundle("GN-2026-000117.json"), policy: d.policy }
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
    /// Insert a copy of the array element right after it.
    Duplicate,
    /// Rename the object key (keeping its value).
    Rename(String),
}

#[derive(Debug, Clone)]
struct Mutant {
    path: Vec<Seg>,
    op: Op,
    what: String,
}

impl Mutant {
    /// The kind of mutation, for the tally.
    fn kind(&self) -> &'static str {
        match (&self.op, self.path.last()) {
            (Op::Set(Value::String(_)), _) if self.what.starts_with("append") => "string: appended",
            (Op::Set(Value::String(_)), _) if self.what.starts_with("flip") => "string: char flipped",
            (Op::Set(Value::String(_)), _) => "string: emptied",
            (Op::Set(Value::Number(_)), _) => "number: plus or minus 1",
            (Op::Set(Value::Bool(_)), _) => "boolean: negated",
            (Op::Set(_), _) => "other value",
            (Op::Remove, Some(Seg::Index(_))) => "array element: deleted",
            (Op::Remove, _) => "object key: deleted",
            (Op::Duplicate, _) => "array element: duplicated",
            (Op::Rename(_), _) => "object key: renamed",
        }
    }
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
        let Some(n) = common::next_in_class(chars[i]) else { continue };
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
                out.push(Mutant {
                    path: path.clone(),
                    op: Op::Duplicate,
                    what: format!("duplicate element {i}"),
                });
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
        (Seg::Index(i), Op::Duplicate) => {
            let a = at.as_array_mut().unwrap();
            a.insert(*i + 1, a[*i].clone());
        }
        (Seg::Key(k), Op::Rename(to)) => {
            let map = at.as_object_mut().unwrap();
            let v = map.shift_remove(k.as_str()).unwrap();
            map.insert(to.clone(), v);
        }
        (Seg::Index(_), Op::Rename(_)) | (Seg::Key(_), Op::Duplicate) => {
            unreachable!("only object keys are renamed and only array elements duplicated")
        }
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
    /// Per kind of mutation: refused (exit 2), failed verification (exit 1).
    kinds: BTreeMap<&'static str, [usize; 2]>,
}

/// Runs every mutant of `bytes` (or every `stride`-th, for a sample) on all cores.
fn run(name: &str, bytes: &[u8], policy: &TrustPolicy, stride: usize) -> Tally {
    let pristine = kpledger_verify::verify_bundle(bytes, policy).unwrap();
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
                    assert_ne!(mutated, doc, "{m:?} changed nothing");
                    let out = serde_json::to_vec_pretty(&mutated).unwrap();
                    local.mutants += 1;
                    let label = format!("{name} {} {}", pointer(&m.path), m.what);
                    match catch_unwind(AssertUnwindSafe(|| kpledger_verify::verify_bundle(&out, policy))) {
                        Err(_) => local.panics.push(label),
                        Ok(Err(_)) => {
                            local.errors += 1;
                            local.kinds.entry(m.kind()).or_default()[0] += 1;
                        }
                        Ok(Ok(r)) if !r.ok => {
                            local.failed += 1;
                            local.kinds.entry(m.kind()).or_default()[1] += 1;
                        }
                        Ok(Ok(_)) => local.accepted.push(label),
                    }
                }
                let mut t = tally.lock().unwrap();
                t.mutants += local.mutants;
                t.errors += local.errors;
                t.failed += local.failed;
                t.accepted.extend(local.accepted);
                t.panics.extend(local.panics);
                for (k, [e, f]) in local.kinds {
                    let n = t.kinds.entry(k).or_default();
                    n[0] += e;
                    n[1] += f;
                }
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
    for (k, [e, f]) in &t.kinds {
        println!("  {k:<26} {:>5} mutants: {e:>5} refused, {f:>5} failed verification", e + f);
    }
    t
}

fn assert_all_refused(t: &Tally, at_least: usize) {
    assert!(t.panics.is_empty(), "{} mutants panicked:\n{}", t.panics.len(), t.panics.join("\n"));
    assert!(t.accepted.is_empty(), "{} mutants were accepted:\n{}", t.accepted.len(), t.accepted.join("\n"));
    assert_eq!(t.errors + t.failed, t.mutants);
    assert!(t.mutants >= at_least, "only {} mutants; the walk missed the document", t.mutants);
}

/// How much of the mixed-origin bundle to run: all of it in release builds (about 8,000
/// mutants), every 8th mutant in debug builds to keep `cargo test` quick, unless
/// `KPLEDGER_MUTATIONS_FULL` is set. The GN bundle is always run in full.
fn sl_stride() -> usize {
    if cfg!(debug_assertions) && std::env::var_os("KPLEDGER_MUTATIONS_FULL").is_none() { 8 } else { 1 }
}

/// Exhaustive over the smallest bundle, in every build.
#[test]
fn every_mutation_of_the_gn_bundle_is_refused() {
    let d = demo();
    let t = run("GN-2026-000117", &d.gn, &d.policy, 1);
    assert_all_refused(&t, 3_000);
}

/// The mixed-origin bundle (two countries' chains, an import confirmation, a merge of an
/// imported lot): exhaustive in release builds, sampled in debug builds.
#[test]
fn every_mutation_of_the_mixed_origin_sl_bundle_is_refused() {
    let d = demo();
    let stride = sl_stride();
    let t = run("SL-2026-004312", &d.sl, &d.policy, stride);
    assert_all_refused(&t, 7_000 / stride);
}

/// The walk reaches every value: each scalar gets a replacement, each array element a
/// deletion and a copy, each object key a deletion.
#[test]
fn the_walk_mutates_every_value() {
    for bytes in [&demo().gn, &demo().sl] {
        let doc: Value = serde_json::from_slice(bytes).unwrap();
        let mut all = Vec::new();
        mutants(&doc, &mut Vec::new(), &mut all);
        let mut ops: std::collections::HashMap<String, Vec<&Op>> = std::collections::HashMap::new();
        for m in &all {
            ops.entry(pointer(&m.path)).or_default().push(&m.op);
        }
        let mut values = 0;
        let mut stack = vec![(String::new(), &doc)];
        while let Some((at, v)) = stack.pop() {
            let here = ops.get(&at).map(Vec::as_slice).unwrap_or_default();
            let has = |f: &dyn Fn(&Op) -> bool| here.iter().any(|op| f(op));
            match v {
                Value::Null => {}
                Value::Bool(_) | Value::Number(_) | Value::String(_) => {
                    values += 1;
                    assert!(has(&|op| matches!(op, Op::Set(_))), "{at} is never changed");
                }
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let p = format!("{at}/{i}");
                        let mine = ops.get(&p).map(Vec::as_slice).unwrap_or_default();
                        assert!(mine.iter().any(|op| matches!(op, Op::Remove)), "{p} is never deleted");
                        assert!(mine.iter().any(|op| matches!(op, Op::Duplicate)), "{p} is never copied");
                        stack.push((p, item));
                    }
                }
                Value::Object(map) => {
                    for (k, item) in map {
                        let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                        let mine = ops.get(&p).map(Vec::as_slice).unwrap_or_default();
                        assert!(mine.iter().any(|op| matches!(op, Op::Remove)), "{p} is never deleted");
                        assert!(mine.iter().any(|op| matches!(op, Op::Rename(_))), "{p} is never renamed");
                        stack.push((p, item));
                    }
                }
            }
        }
        assert!(values > 300, "only {values} values");
        assert!(all.iter().any(|m| matches!(&m.op, Op::Set(Value::Bool(_)))));
        assert!(all.iter().any(|m| m.what.starts_with("flip")));
    }
}
