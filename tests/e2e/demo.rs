//! The demo contract (README.md, The demo), and tampering: editing any cell of a ledger file,
//! deleting any row or appending an event must make `verify --ledger` exit 1.
//!
//! The demo is built once per run of the test binary and shared, read-only, by the tests
//! here; each test works on copies of its ledger in a directory of its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, ErrorCode, OpenFlags, params_from_iter};
use serde_json::Value;

use crate::util::{Out, TempDir, checkpoint, tables, verify_json};

/// Small, to keep the tamper test fast: every table still gets rows.
const PARCELS: &str = "8";

/// A demo directory built by `kpledger demo`, never written after it was built.
struct Demo {
    dir: PathBuf,
    /// The `kpledger demo` run that built it.
    run: Out,
    /// The ledger file's bytes (checkpointed: the file alone is the whole ledger).
    ledger: Vec<u8>,
}

static DEMO: OnceLock<Demo> = OnceLock::new();
/// The tests that use the shared demo; the last one to finish removes it.
const USERS: usize = 2;
static FINISHED: AtomicUsize = AtomicUsize::new(0);

/// A test's use of the shared demo.
struct Lease(&'static Demo);

impl Drop for Lease {
    fn drop(&mut self) {
        let done = FINISHED.fetch_add(1, Ordering::SeqCst) + 1;
        if done == USERS && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0.dir);
        }
    }
}

fn demo() -> Lease {
    Lease(DEMO.get_or_init(|| {
        // Under target/tmp rather than the system's temp dir: when a filtered run leaves it
        // behind, `cargo clean` removes it. Leftovers of earlier runs are swept here.
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        sweep(base);
        let dir = base.join(format!("e2e-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = kp!("demo", &dir, "--parcels", PARCELS).run();
        run.ok().stdout_has("VERIFIED");
        let ledger = dir.join("ledger.kpl");
        checkpoint(&ledger);
        let bytes = std::fs::read(&ledger).unwrap();
        Demo { dir, run, ledger: bytes }
    }))
}

/// Removes shared demos of earlier runs, more than an hour old.
fn sweep(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(3600));
        if old && e.file_name().to_string_lossy().starts_with("e2e-demo-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The files of a directory (recursively), with their contents.
fn listing(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

/// The demo ledger, copied to `to`.
fn copy_of(demo: &Demo, to: &Path) -> PathBuf {
    std::fs::write(to, &demo.ledger).unwrap();
    to.to_owned()
}

#[test]
fn demo_writes_a_verified_ledger_and_its_manifest() {
    let lease = demo();
    let d = lease.0;
    d.run.stdout_has("kpledger verify --ledger");

    // manifest.json: {"ledger": ..., "trust": [...], "policy": ..., "bundles": [...]}, paths
    // relative to DIR.
    let text = std::fs::read_to_string(d.dir.join("manifest.json")).unwrap();
    let manifest: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("manifest.json: {e}\n{text}"));
    let keys: BTreeSet<&str> = manifest.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["ledger", "trust", "policy", "bundles"]), "{text}");
    let relative = |v: &Value| -> PathBuf {
        let s = v.as_str().unwrap_or_else(|| panic!("{v} is not a path\n{text}"));
        assert!(!s.is_empty() && Path::new(s).is_relative(), "{s:?} should be relative to DIR\n{text}");
        let p = d.dir.join(s);
        assert!(p.is_file(), "{s} is listed in manifest.json but {} is not a file", p.display());
        p
    };
    let ledger = relative(&manifest["ledger"]);
    let trust = manifest["trust"].as_array().unwrap_or_else(|| panic!("trust is not a list\n{text}"));
    assert!(!trust.is_empty(), "the demo trusts at least the authorities' keys\n{text}");
    for key in trust {
        let shown = kp!("key", "show", relative(key), "--json").run().ok().json();
        assert_eq!(shown["kind"], "public", "trusted keys are public keys: {key}");
    }
    // The importer's trust policy: every bundle verifies under it, as the demo's hint says.
    let policy = relative(&manifest["policy"]);
    kp!("trust", "check", &policy).run().ok().stdout_has("a valid trust policy");
    let bundles = manifest["bundles"].as_array().unwrap_or_else(|| panic!("bundles is not a list\n{text}"));
    for b in bundles {
        kp!("verify", relative(b), "--policy", &policy).run().ok().stdout_has("VERIFIED");
    }
    d.run.stdout_has("--policy");
    // The command line of 0.1.0, kept: `verify BUNDLE --trust KEYFILE … --json` with the
    // manifest's keys verifies every bundle, and says it is not witnessed (LOG-4).
    for b in bundles {
        let mut cmd = kp!("verify", relative(b), "--json");
        for key in trust {
            cmd = cmd.arg("--trust").arg(relative(key));
        }
        let out = cmd.run();
        let report = out.ok().json();
        assert_eq!(report["ok"], true, "{out}");
        let codes: Vec<&str> =
            report["findings"].as_array().unwrap().iter().filter_map(|f| f["code"].as_str()).collect();
        assert!(codes.contains(&"LOG-4"), "{out}");
    }

    // A second run into the same, now non-empty, directory is refused and changes nothing.
    let before = listing(&d.dir);
    kp!("demo", &d.dir, "--parcels", PARCELS).run().cannot_run(&["not empty"]);
    assert!(listing(&d.dir) == before, "a refused demo run must not touch the directory");

    let work = TempDir::new("demo-contract");
    // Run from inside DIR too, as a user following the demo's own hint would.
    kp!("verify", "--ledger", "ledger.kpl").cwd(&d.dir).run().ok().stdout_has("VERIFIED");
    let (out, report) = verify_json(&ledger);
    out.ok();
    assert_eq!(report["ok"], true, "{out}");
    assert_eq!(report["errors"], 0, "{out}");

    // Tampering with a signed event: a miner's weight, inside the stored JSON.
    let edited = copy_of(d, &work.join("event-edited.kpl"));
    let parcel = {
        let c = Connection::open(&edited).unwrap();
        let first = "(SELECT min(seq) FROM events WHERE kind = 'extraction')";
        let parcel: String = c
            .query_row(
                &format!("SELECT json_extract(doc, '$.body.parcel') FROM events WHERE seq = {first}"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        let n = c
            .execute(
                &format!(
                    "UPDATE events SET doc = json_set(doc, '$.body.weight_pt', 99999) WHERE seq = {first}"
                ),
                [],
            )
            .unwrap();
        assert_eq!(n, 1);
        parcel
    };
    let out = kp!("verify", "--ledger", &edited).run();
    // The report names the parcel as tables do: its first 16 hex digits (docs/SPEC.md §7.1).
    out.code(1).stdout_has("FAILED").stdout_has(&format!("parcel {}", &parcel[..18]));

    // Tampering with a derived cell: a parcel's weight in the parcels table.
    let edited = copy_of(d, &work.join("cell-edited.kpl"));
    let parcel: String = {
        let c = Connection::open(&edited).unwrap();
        let parcel = c.query_row("SELECT min(id) FROM parcels", [], |r| r.get(0)).unwrap();
        let n = c
            .execute(
                "UPDATE parcels SET weight_pt = weight_pt + 1 WHERE id = (SELECT min(id) FROM parcels)",
                [],
            )
            .unwrap();
        assert_eq!(n, 1);
        parcel
    };
    let (out, report) = verify_json(&edited);
    out.code(1);
    assert_eq!(report["ok"], false, "{out}");
    let named = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "DB-1" && f["severity"] == "error" && f["parcel"] == parcel.as_str());
    out.check(named, &format!("a DB-1 error should name parcel {parcel}"));
}

/// One way to tamper with a ledger file.
#[derive(Debug, Clone)]
enum Edit {
    /// Change one cell of the first row.
    Cell { table: usize, column: usize, how: How },
    /// Delete the first row.
    Delete { table: usize },
    /// Add a row: the first row with every value changed (for `events`: an event appended
    /// behind the authority's back).
    Insert { table: usize },
}

#[derive(Debug, Clone, Copy)]
enum How {
    /// A realistic edit of the same type and shape: a number changed, a digit or letter
    /// of a text changed (JSON stays valid), a byte of a blob flipped.
    Change,
    /// JSON text with a space appended: still valid JSON that means the same.
    Space,
}

struct Table {
    name: String,
    columns: Vec<String>,
    first: Vec<Sql>,
}

/// `v` changed into something of the same type; `k` (1, 2, …) picks another candidate when
/// one collides with a UNIQUE or PRIMARY KEY constraint.
fn changed(v: &Sql, how: How, k: u32) -> Sql {
    match (v, how) {
        (Sql::Text(s), How::Space) => Sql::Text(format!("{s}{}", " ".repeat(k as usize))),
        (Sql::Null, _) => Sql::Integer(i64::from(k)),
        (Sql::Integer(i), _) => Sql::Integer(i.wrapping_add(i64::from(k))),
        (Sql::Real(f), _) => Sql::Real(f64::from_bits(f.to_bits() ^ u64::from(k))),
        (Sql::Blob(b), _) => {
            let mut b = b.clone();
            match b.first_mut() {
                Some(x) => *x ^= (k % 255 + 1) as u8,
                None => b.push(k as u8),
            }
            Sql::Blob(b)
        }
        (Sql::Text(s), How::Change) => {
            let mut chars: Vec<char> = s.chars().collect();
            let digit = chars.iter().rposition(char::is_ascii_digit);
            let letter = chars.iter().rposition(char::is_ascii_alphabetic);
            match (digit, letter) {
                (Some(i), _) if k < 10 => {
                    chars[i] = char::from(b'0' + ((chars[i] as u8 - b'0') + k as u8) % 10);
                }
                (_, Some(i)) if k < 26 => {
                    let base = if chars[i].is_ascii_lowercase() { b'a' } else { b'A' };
                    chars[i] = char::from(base + ((chars[i] as u8 - base) + k as u8) % 26);
                }
                _ => chars.extend(format!("~{k}").chars()),
            }
            Sql::Text(chars.into_iter().collect())
        }
    }
}

fn show(v: &Sql) -> String {
    let s = match v {
        Sql::Text(t) => format!("{t:?}"),
        Sql::Blob(b) => format!("x'{}'", b.iter().take(8).map(|x| format!("{x:02x}")).collect::<String>()),
        other => format!("{other:?}"),
    };
    if s.chars().count() > 70 { format!("{}…", s.chars().take(70).collect::<String>()) } else { s }
}

/// Retries `attempt(k)` for k = 1, 2, … while it collides with a uniqueness constraint.
fn until_unique(what: &str, mut attempt: impl FnMut(u32) -> rusqlite::Result<usize>) -> u32 {
    for k in 1..=1000 {
        match attempt(k) {
            Ok(1) => return k,
            Ok(n) => panic!("{what}: changed {n} rows, expected 1"),
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => continue,
            Err(e) => panic!("{what}: {e}"),
        }
    }
    panic!("{what}: found no value that does not collide")
}

/// Applies `edit` to the ledger file at `path`; returns what it did, for messages.
fn apply(edit: &Edit, tables: &[Table], path: &Path) -> String {
    let c = Connection::open(path).unwrap();
    let row_is = |t: usize| {
        let table = &tables[t];
        let cond: Vec<String> = table.columns.iter().map(|c| format!("\"{c}\" IS ?")).collect();
        (table, cond.join(" AND "))
    };
    match *edit {
        Edit::Cell { table, column, how } => {
            let (t, cond) = row_is(table);
            let col = &t.columns[column];
            let old = &t.first[column];
            let sql = format!("UPDATE \"{}\" SET \"{col}\" = ? WHERE {cond}", t.name);
            let what = format!("{}.{col} of the first row", t.name);
            let k = until_unique(&what, |k| {
                let new = changed(old, how, k);
                c.execute(&sql, params_from_iter(std::iter::once(new).chain(t.first.iter().cloned())))
            });
            format!("{what}: {} → {} ({how:?})", show(old), show(&changed(old, how, k)))
        }
        Edit::Delete { table } => {
            let (t, cond) = row_is(table);
            let n = c.execute(
                &format!("DELETE FROM \"{}\" WHERE {cond}", t.name),
                params_from_iter(t.first.iter()),
            );
            assert_eq!(n.unwrap(), 1, "deleting the first row of {}", t.name);
            format!("{}: first row deleted", t.name)
        }
        Edit::Insert { table } => {
            let t = &tables[table];
            let marks = vec!["?"; t.columns.len()].join(", ");
            let sql = format!("INSERT INTO \"{}\" VALUES ({marks})", t.name);
            let what = format!("{}: a row added", t.name);
            until_unique(&what, |k| {
                c.execute(&sql, params_from_iter(t.first.iter().map(|v| changed(v, How::Change, k))))
            });
            what
        }
    }
}

#[test]
fn editing_any_cell_or_deleting_any_row_is_detected() {
    let lease = demo();
    let d = lease.0;
    let work = TempDir::new("tamper");

    // The untouched copy verifies: otherwise every "detection" below would prove nothing.
    let pristine = copy_of(d, &work.join("pristine.kpl"));
    verify_json(&pristine).0.ok();

    let c = Connection::open_with_flags(&pristine, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let tables: Vec<Table> = tables(&c)
        .into_iter()
        .map(|name| {
            let mut st = c.prepare(&format!("SELECT * FROM \"{name}\" LIMIT 1")).unwrap();
            let columns: Vec<String> = st.column_names().map(str::to_owned).collect();
            let first = st
                .query_row([], |r| (0..columns.len()).map(|i| r.get::<_, Sql>(i)).collect::<Result<Vec<_>, _>>())
                .unwrap_or_else(|e| {
                    panic!("table {name} is empty in the demo ledger ({e}), so this test cannot edit it: make the demo fill it")
                });
            Table { name, columns, first }
        })
        .collect();
    drop(c);
    let names: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    for expected in ["events", "event_parcels", "parcels", "actors"] {
        assert!(names.contains(expected), "no table {expected} in {names:?}");
    }

    // Every cell; every table loses a row; the signed document is also re-serialized with the
    // same meaning (derived cells are compared byte for byte like any other, so a space there
    // is just another changed cell); and an event is appended. Each edit costs a whole
    // verification (about a second in a debug build), hence not more variations.
    let mut edits = Vec::new();
    for (ti, t) in tables.iter().enumerate() {
        for (ci, column) in t.columns.iter().enumerate() {
            edits.push(Edit::Cell { table: ti, column: ci, how: How::Change });
            if t.name == "events" && column == "doc" {
                edits.push(Edit::Cell { table: ti, column: ci, how: How::Space });
            }
        }
        edits.push(Edit::Delete { table: ti });
        if t.name == "events" {
            edits.push(Edit::Insert { table: ti });
        }
    }

    // Each edit on a fresh copy; two at a time (verification is the slow part).
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let results: Vec<(usize, String, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(edit) = edits.get(i) else { break };
                        let copy = copy_of(d, &work.join(format!("edit-{i}.kpl")));
                        let what = apply(edit, &tables, &copy);
                        let out = kp!("verify", "--ledger", &copy, "--json").run();
                        let failure = judge(&out);
                        if failure.is_none() {
                            for suffix in ["", "-wal", "-shm"] {
                                let _ = std::fs::remove_file(work.join(format!("edit-{i}.kpl{suffix}")));
                            }
                        }
                        done.push((i, what, failure));
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.len(), edits.len());
    let undetected: Vec<String> = results
        .iter()
        .filter_map(|(i, what, f)| f.as_ref().map(|f| format!("edit {i}, {what}:\n{f}")))
        .collect();
    assert!(
        undetected.is_empty(),
        "{} of {} edits of the ledger file were not reported as errors by `verify --ledger`:\n\n{}",
        undetected.len(),
        edits.len(),
        undetected.join("\n\n")
    );
}

/// None if `verify --ledger --json` reported the edit as it should: exit 1, ok false, at
/// least one error; otherwise what went wrong.
fn judge(out: &Out) -> Option<String> {
    if out.code == 101 || out.stderr.contains("panicked") {
        return Some(format!("kpledger panicked\n{out}"));
    }
    if out.code != 1 {
        return Some(format!("expected exit code 1\n{out}"));
    }
    let Ok(report) = serde_json::from_str::<Value>(&out.stdout) else {
        return Some(format!("stdout is not a JSON report\n{out}"));
    };
    if report["ok"] != false || report["errors"].as_u64().unwrap_or(0) == 0 {
        return Some(format!("the report should have ok=false and at least one error\n{out}"));
    }
    None
}
