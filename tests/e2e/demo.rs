//! The demo contract (README.md, The demo), and tampering: editing any cell of a ledger,
//! deleting any row or appending an event must make `verify --ledger` exit 1. The same test
//! code runs on both stores: the demo writes its ledger into a file (`DIR/ledger.kpl`), or
//! straight into an empty PostgreSQL database (`kpledger demo DIR --ledger postgres://…`;
//! skipped without a test server, see tests/pg_server.rs), with the same output, manifest,
//! bundles and reports.
//!
//! Each demo is built once per run of the test binary and shared, read-only, by the tests
//! here; each test works on copies of its ledger (a file copied; a database copied by the
//! server, `CREATE DATABASE … TEMPLATE`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

use crate::backends::pg_server::database;
use crate::backends::{Store, bundles, pg_snapshot};
use crate::util::{Out, TempDir, checkpoint, verify_json};

#[path = "../tamper.rs"]
mod tamper;
use tamper::{Edit, Sql, Table, edits, marker, open_cells};

/// Small, to keep the tamper test fast: every table still gets rows.
const PARCELS: &str = "8";

/// A demo directory built by `kpledger demo`, never written after it was built.
struct Demo {
    dir: PathBuf,
    /// The `kpledger demo` run that built it.
    run: Out,
    /// Its ledger.
    ledger: Stored,
}

/// Where a demo's ledger is.
enum Stored {
    /// The ledger file's bytes (checkpointed: the file alone is the whole ledger).
    File(Vec<u8>),
    /// The PostgreSQL database the demo wrote it into: its URL.
    Pg(String),
}

/// The demos, on each store, and how many of the tests that use each have finished; the last
/// one to finish removes the demo's directory.
static DEMO: OnceLock<Demo> = OnceLock::new();
static DEMO_PG: OnceLock<Demo> = OnceLock::new();
static FINISHED: AtomicUsize = AtomicUsize::new(0);
static FINISHED_PG: AtomicUsize = AtomicUsize::new(0);
/// The tests that use each demo.
const USERS: usize = 4;
const USERS_PG: usize = 2;

/// Held while the PostgreSQL demo's database is copied or read itself: the server copies a
/// database only while nobody is connected to it.
static TEMPLATE: Mutex<()> = Mutex::new(());

/// A test's use of a shared demo.
struct Lease(&'static Demo, &'static AtomicUsize, usize);

impl Drop for Lease {
    fn drop(&mut self) {
        let done = self.1.fetch_add(1, Ordering::SeqCst) + 1;
        if done == self.2 && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0.dir);
        }
    }
}

/// A new directory for a shared demo, under target/tmp rather than the system's temp dir:
/// when a filtered run leaves it behind, `cargo clean` removes it. Leftovers of earlier runs
/// are swept here.
fn demo_dir(name: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    sweep(base);
    let dir = base.join(format!("e2e-demo-{name}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The demo with its ledger in a file.
fn demo() -> Lease {
    let d = DEMO.get_or_init(|| {
        let dir = demo_dir("");
        let run = kp!("demo", &dir, "--parcels", PARCELS).run();
        run.ok().stdout_has("VERIFIED");
        let ledger = dir.join("ledger.kpl");
        checkpoint(&ledger);
        let bytes = std::fs::read(&ledger).unwrap();
        Demo { dir, run, ledger: Stored::File(bytes) }
    });
    Lease(d, &FINISHED, USERS)
}

/// The demo with its ledger written straight into a new, empty database of the PostgreSQL
/// test server `server`.
fn demo_pg(server: &str) -> Lease {
    let d = DEMO_PG.get_or_init(|| {
        let dir = demo_dir("pg-");
        let url = database(server, "demo");
        let run = kp!("demo", &dir, "--parcels", PARCELS, "--ledger", &url).run();
        run.ok().stdout_has("VERIFIED");
        Demo { dir, run, ledger: Stored::Pg(url) }
    });
    Lease(d, &FINISHED_PG, USERS_PG)
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

/// The files of a directory (recursively), with their contents, by their path in it.
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
                out.push((p.strip_prefix(dir).unwrap().to_owned(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// A copy of the demo's ledger of its own, named `tag`: a file in `dir`, or a new database
/// (copied by the server from the one the demo wrote).
fn demo_in(d: &Demo, dir: &TempDir, tag: &str) -> PathBuf {
    match &d.ledger {
        Stored::File(bytes) => {
            let at = dir.join(format!("{tag}.kpl"));
            std::fs::write(&at, bytes).unwrap();
            at
        }
        Stored::Pg(url) => {
            let (base, template) = url.rsplit_once('/').unwrap();
            let name: String = format!("kpl_{tag}_{}", std::process::id())
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
                .collect();
            let _only = TEMPLATE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut admin = postgres::Client::connect(&format!("{base}/postgres"), postgres::NoTls).unwrap();
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
            admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")).unwrap();
            PathBuf::from(format!("{base}/{name}"))
        }
    }
}

/// The demo's ledger, as the demo's own output and manifest name it: `DIR/ledger.kpl`, or the
/// database's URL without its password.
fn shown(d: &Demo) -> String {
    match &d.ledger {
        Stored::File(_) => d.dir.join("ledger.kpl").display().to_string(),
        Stored::Pg(url) => {
            let (user, rest) = url.strip_prefix("postgres://").unwrap().split_once('@').unwrap();
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("postgres://{user}@{rest}")
        }
    }
}

#[test]
fn demo_writes_a_verified_ledger_and_its_manifest() {
    let lease = demo();
    demo_contract(lease.0, lease.0);
}

/// `kpledger demo DIR --ledger postgres://…` writes its ledger straight into the empty
/// database: the same contract as with a file, the same output, manifest (but the ledger's
/// entry, the database's URL without its password), bundles and keys as the file demo's; a
/// database that is not empty is refused, and nothing is written to it or to DIR.
#[test]
fn pg_demo_writes_a_verified_ledger_and_its_manifest() {
    let file = demo();
    let Some(Store::Pg(server)) = Store::postgres() else { return };
    let lease = demo_pg(&server);
    demo_contract(lease.0, file.0);
}

/// What `kpledger demo` holds, its ledger in `d`'s store; `file` is the demo with its ledger
/// in a file (`d` itself, or the one `d`'s output, manifest and files are the same as).
fn demo_contract(d: &Demo, file: &Demo) {
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
    let ledger = match &d.ledger {
        Stored::File(_) => relative(&manifest["ledger"]),
        Stored::Pg(url) => {
            // The database by its URL, never with its password.
            assert_eq!(manifest["ledger"], shown(d), "{text}");
            assert!(!text.contains(url.as_str()) && !d.run.stdout.contains(url.as_str()), "{text}");
            PathBuf::from(url)
        }
    };
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

    match &d.ledger {
        Stored::File(_) => {
            // Run from inside DIR too, as a user following the demo's own hint would.
            kp!("verify", "--ledger", "ledger.kpl").cwd(&d.dir).run().ok().stdout_has("VERIFIED");
            kp!("verify", "--ledger", &ledger).run().ok().stdout_has("VERIFIED");
        }
        Stored::Pg(url) => {
            let _only = TEMPLATE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            kp!("verify", "--ledger", &ledger).run().ok().stdout_has("VERIFIED");
            // The output, files and manifest of the file demo's, but where the ledger is.
            let normal = |demo: &Demo, engine: &str| {
                demo.run
                    .stdout
                    .replace(&shown(demo), "LEDGER")
                    .replace(&demo.dir.display().to_string(), "DIR")
                    .replace(&format!("the ledger ({engine})"), "the ledger")
            };
            assert_eq!(
                normal(d, "PostgreSQL"),
                normal(file, "SQLite"),
                "the demo's output differs from the file's"
            );
            let files = |demo: &Demo| -> Vec<(PathBuf, Vec<u8>)> {
                listing(&demo.dir)
                    .into_iter()
                    .filter(|(p, _)| {
                        !p.starts_with("ledger.kpl") && !p.to_string_lossy().starts_with("ledger.kpl-")
                    })
                    .filter(|(p, _)| p != Path::new("manifest.json") && p != Path::new("report.html"))
                    .collect()
            };
            let (ours, theirs) = (files(d), files(file));
            let names = |f: &[(PathBuf, Vec<u8>)]| f.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
            assert_eq!(names(&ours), names(&theirs));
            for ((p, a), (_, b)) in ours.iter().zip(&theirs) {
                assert!(a == b, "{} differs from the file demo's", p.display());
            }
            // No file names the database with its password (report.html names the ledger), and
            // neither does `kpledger report` of the database.
            let password = url.strip_prefix("postgres://").unwrap().split_once('@').unwrap().0;
            let password = password.split_once(':').unwrap().1;
            let reported = TempDir::new("demo_pg_report");
            let html = reported.join("report.html");
            kp!("report", "--ledger", &ledger, "--html", &html).run().ok();
            let html_text = std::fs::read(&html).unwrap();
            for (p, bytes) in listing(&d.dir).iter().chain([(html.clone(), html_text)].iter()) {
                let holds = bytes.windows(password.len()).any(|w| w == password.as_bytes());
                assert!(!holds, "{} holds the database's password", p.display());
            }
            assert!(
                std::fs::read_to_string(d.dir.join("report.html")).unwrap().contains(&shown(d)),
                "report.html names the ledger"
            );
            let theirs: Value =
                serde_json::from_str(&std::fs::read_to_string(file.dir.join("manifest.json")).unwrap())
                    .unwrap();
            for k in ["trust", "policy", "bundles"] {
                assert_eq!(manifest[k], theirs[k], "manifest.json's {k}");
            }
            // A database that is not empty: refused before anything is written, to it or to
            // DIR, whether named by --ledger or by KPLEDGER_LEDGER.
            let work = TempDir::new("demo_pg_refused");
            let held = pg_snapshot(&ledger);
            for cmd in [
                kp!("demo", work.join("a"), "--parcels", PARCELS, "--ledger", url),
                kp!("demo", work.join("b"), "--parcels", PARCELS).env("KPLEDGER_LEDGER", url),
            ] {
                cmd.run().cannot_run(&["PostgreSQL database", "is not empty", "CREATE DATABASE"]);
            }
            assert!(
                !work.join("a").exists() && !work.join("b").exists(),
                "a refused demo made its directory"
            );
            assert!(pg_snapshot(&ledger) == held, "a refused demo wrote to the database");
            // A directory that is not empty: refused before the database is touched.
            let server = format!("{}/postgres", url.rsplit_once('/').unwrap().0);
            let empty = PathBuf::from(database(&server, "demo_empty"));
            kp!("demo", &d.dir, "--ledger", &empty).run().cannot_run(&["not empty"]);
            assert!(pg_snapshot(&empty).is_empty(), "a refused demo wrote to the database");
            // --ledger names a database only: the demo's file is DIR/ledger.kpl.
            let out = kp!("demo", work.join("c"), "--ledger", work.join("x.kpl")).run();
            out.cannot_run(&["DIR/ledger.kpl", "postgres://"]);
            assert!(!work.join("c").exists());
        }
    }
    ledger_holds(d, file, "demo-contract", &policy);
}

/// What the demo test holds of the demo's ledger, wherever it is stored (a copy of its own):
/// `verify --ledger` says VERIFIED (exit 0) and its JSON report is the file demo's, ok with no
/// error; each certificate's evidence bundle made from it is the one made from the file and
/// verifies under the demo's trust policy; a signed event edited is reported (exit 1, FAILED,
/// naming its parcel), and so is a derived cell edited (a DB-1 error naming the parcel).
fn ledger_holds(d: &Demo, file_demo: &Demo, tag: &str, policy: &Path) {
    let work = TempDir::new(tag);
    let file = demo_in(file_demo, &work, "file");
    let ledger = demo_in(d, &work, tag);
    kp!("verify", "--ledger", &ledger).run().ok().stdout_has("VERIFIED");
    let (out, report) = verify_json(&ledger);
    out.ok();
    assert_eq!(report["ok"], true, "{out}");
    assert_eq!(report["errors"], 0, "{out}");
    let (_, of_file) = verify_json(&file);
    // Its figures (events, signatures, parcels, actors, findings) are the file's.
    assert_eq!(report, of_file, "the report differs from the file's");
    std::fs::create_dir_all(work.join("a")).unwrap();
    std::fs::create_dir_all(work.join("b")).unwrap();
    let made = bundles(&ledger, &work.join("a"));
    assert_eq!(made, bundles(&file, &work.join("b")), "evidence bundles differ from the file's");
    for (number, _) in &made {
        let b = work.join("a").join(format!("{number}.json"));
        kp!("verify", &b, "--policy", policy).run().ok().stdout_has("VERIFIED");
    }

    // Tampering with a signed event: a miner's weight, inside the stored JSON.
    let edited = demo_in(d, &work, &format!("{tag}_event_edited"));
    let parcel = {
        let mut c = open_cells(&edited);
        let first =
            c.query("SELECT seq, doc FROM events WHERE kind = 'extraction' ORDER BY seq LIMIT 1", &[]);
        let [Sql::Integer(seq), Sql::Text(doc)] = &first[0][..] else { panic!("{first:?}") };
        let mut doc: Value = serde_json::from_str(doc).unwrap();
        doc["body"]["weight_pt"] = 99999.into();
        let n = c.execute(
            "UPDATE events SET doc = ? WHERE seq = ?",
            &[Sql::Text(doc.to_string()), Sql::Integer(*seq)],
        );
        assert_eq!(n.unwrap(), 1);
        doc["body"]["parcel"].as_str().unwrap().to_owned()
    };
    let out = kp!("verify", "--ledger", &edited).run();
    // The report names the parcel as tables do: its first 16 hex digits (docs/SPEC.md §7.1).
    out.code(1).stdout_has("FAILED").stdout_has(&format!("parcel {}", &parcel[..18]));

    // Tampering with a derived cell: a parcel's weight in the parcels table.
    let edited = demo_in(d, &work, &format!("{tag}_cell_edited"));
    let parcel = {
        let mut c = open_cells(&edited);
        let first = c.query("SELECT min(id) FROM parcels", &[]);
        let Sql::Text(parcel) = first[0][0].clone() else { panic!("{first:?}") };
        let n = c.execute(
            "UPDATE parcels SET weight_pt = weight_pt + 1 WHERE id = ?",
            &[Sql::Text(parcel.clone())],
        );
        assert_eq!(n.unwrap(), 1);
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

#[test]
fn editing_any_cell_or_deleting_any_row_is_detected() {
    let lease = demo();
    every_edit_is_detected(lease.0, "tamper");
}

/// The same sweep, on the demo's ledger written into a PostgreSQL database.
#[test]
fn pg_editing_any_cell_or_deleting_any_row_is_detected() {
    let _file = demo();
    let Some(Store::Pg(server)) = Store::postgres() else { return };
    let lease = demo_pg(&server);
    every_edit_is_detected(lease.0, "tamper_pg");
}

/// Every cell of the first row of every table of the demo's ledger, changed; every table's
/// first row deleted; an event appended: `verify --ledger` reports each as an error (the
/// sweep of tests/tamper.rs, on a copy per worker).
fn every_edit_is_detected(d: &Demo, tag: &str) {
    let work = TempDir::new(tag);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let ledgers: Vec<PathBuf> = (0..workers).map(|w| demo_in(d, &work, &format!("{tag}_{w}"))).collect();
    // The untouched copies verify: otherwise every "detection" below would prove nothing.
    for l in &ledgers {
        verify_json(l).0.ok();
    }
    let mut c = open_cells(&ledgers[0]);
    let tables: Vec<Table> = c
        .tables()
        .into_iter()
        .map(|name| {
            let (columns, first) = c.first_row(&name);
            let row = first.unwrap_or_else(|| {
                panic!("table {name} is empty in the demo ledger, so this test cannot edit it: make the demo fill it")
            });
            Table { name, columns, which: "first".into(), row }
        })
        .collect();
    drop(c);
    let names: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    for expected in ["events", "event_parcels", "parcels", "actors"] {
        assert!(names.contains(expected), "no table {expected} in {names:?}");
    }
    let pinned: &[&str] = match d.ledger {
        Stored::File(_) => &[],
        // The PostgreSQL schema's own marker row (CHECK (application_id = …), CHECK (one)).
        Stored::Pg(_) => &["kpledger.application_id", "kpledger.one"],
    };
    let judge = |ledger: &Path, edit: &Edit| {
        let out = kp!("verify", "--ledger", ledger, "--json").run();
        judged(&out, marker(edit, &tables))
    };
    tamper::sweep(&ledgers, &tables, &edits(&tables), pinned, &judge);
}

/// None if `verify --ledger --json` reported the edit as it should; otherwise what went wrong.
fn judged(out: &Out, marker: bool) -> Option<String> {
    if out.code == 101 || out.stderr.contains("panicked") {
        return Some(format!("kpledger panicked\n{out}"));
    }
    if marker {
        let said = out.stderr.contains("is damaged") || out.stderr.contains("schema version");
        return (out.code != 2 || !said)
            .then(|| format!("expected exit code 2, the ledger refused on opening with the reason\n{out}"));
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
