//! The ledger file's schema is verified (SECURITY.md, "The ledger file's schema"): a demo
//! ledger edited with SQLite itself — a trigger, a view, a table rebuilt without its
//! constraints, an extra or missing index, a hidden table, optimizer statistics — is refused
//! by every command, reading or writing, with exit 2 and the differences named, before any of
//! its data is read (so a view that never finishes is never queried: each run ends at the
//! schema check), and nothing is written. An index that disagrees with its table under the
//! very schema kpledger creates is caught by `verify --ledger`'s `integrity_check`. The
//! ledger 0.1.0 wrote still opens and verifies.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::util::{TempDir, copy_ledger, snapshot, verify_json};

/// A demo ledger and its keys, made once per test.
struct Demo {
    dir: TempDir,
}

impl Demo {
    fn new(tag: &str) -> Demo {
        let dir = TempDir::new(tag);
        kp!("demo", dir.join("demo"), "--parcels", "8").run().ok();
        Demo { dir }
    }

    fn ledger(&self) -> PathBuf {
        self.dir.join("demo").join("ledger.kpl")
    }

    fn key(&self, actor: &str) -> PathBuf {
        self.dir.join("demo").join("keys").join(format!("{actor}.pem"))
    }

    /// A copy of the demo ledger with `transactions` run on it by SQLite, each on a
    /// connection of its own (a schema edited by `writable_schema` is read again by the next).
    fn edited(&self, name: &str, transactions: &[&str]) -> PathBuf {
        let path = self.dir.join(format!("{name}.kpl"));
        copy_ledger(&self.ledger(), &path);
        for sql in transactions {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(sql).unwrap_or_else(|e| panic!("{name}: {e}\n{sql}"));
        }
        path
    }
}

/// `events` rebuilt with the same columns, its `CREATE TABLE` changed by `edit`.
fn events_rebuilt(edit: fn(&str) -> String) -> String {
    let create = "CREATE TABLE events_new(\n    seq INTEGER PRIMARY KEY,\n    hash BLOB NOT NULL UNIQUE,\n    \
                  kind TEXT NOT NULL,\n    time TEXT NOT NULL,\n    signer TEXT NOT NULL,\n    doc TEXT NOT NULL\n) STRICT";
    format!(
        "BEGIN; {}; INSERT INTO events_new SELECT * FROM events; DROP TABLE events; \
         ALTER TABLE events_new RENAME TO events; COMMIT;",
        edit(create)
    )
}

/// Every command refuses the file with exit 2, names `difference`, points at
/// `verify --ledger`, and leaves the file as it was.
fn refused_everywhere(demo: &Demo, ledger: &Path, difference: &str) {
    let before = snapshot(ledger);
    let runs = [
        kp!("verify", "--ledger", ledger).run(),
        kp!("verify", "--ledger", ledger, "--json").run(),
        kp!("parcel", "list", "--ledger", ledger).run(),
        kp!("stats", "--ledger", ledger).run(),
        kp!("log", "publish", "--ledger", ledger, "--key", demo.key("mru.secretariat")).run(),
        // The attack of SECURITY.md: a trigger undoes the revocation as it is recorded.
        kp!(
            "actor",
            "revoke",
            "--ledger",
            ledger,
            "--key",
            demo.key("sl.nma"),
            "--actor",
            "sl.miner.koroma",
            "--reason",
            "licence withdrawn"
        )
        .run(),
    ];
    for out in &runs {
        out.cannot_run(&["database schema differs", difference, "verify --ledger"]);
    }
    assert_eq!(snapshot(ledger), before, "{}: a refused command changed the ledger", ledger.display());
}

/// Each edit of the schema that the adversarial review made (issue 14, item 6), and the
/// variants of the same class: every one is refused by every command before its data is read.
#[test]
fn a_ledger_whose_schema_was_edited_is_refused_by_every_command() {
    let demo = Demo::new("schema-edits");
    let mut cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            // Kept the revoked miner licensed: each revocation is undone as it is written.
            "trigger-undoes-revocation",
            vec!["CREATE TRIGGER keep_licence AFTER UPDATE ON actors BEGIN \
                  UPDATE actors SET revoked = 0, doc = OLD.doc WHERE id = NEW.id; END;"
                .into()],
            "unexpected trigger \"keep_licence\"",
        ),
        (
            // Dropped stored cosignatures while `log cosignatures` said "stored 1".
            "trigger-drops-cosignatures",
            vec!["CREATE TRIGGER no_witnesses BEFORE UPDATE ON checkpoints BEGIN SELECT RAISE(IGNORE); END;"
                .into()],
            "unexpected trigger \"no_witnesses\"",
        ),
        (
            // A trigger of the same class on insert: every new event rewritten.
            "trigger-on-insert",
            vec!["CREATE TRIGGER rewrite AFTER INSERT ON events BEGIN UPDATE events SET kind = 'x' WHERE seq = NEW.seq; END;"
                .into()],
            "unexpected trigger \"rewrite\"",
        ),
        (
            // `events` replaced by a view that never finishes: `verify --ledger` hung.
            "events-is-an-endless-view",
            vec!["ALTER TABLE events RENAME TO events_kept; \
                  CREATE VIEW events AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                  SELECT i AS seq, x'00' AS hash, 'genesis' AS kind, '' AS time, '' AS signer, '' AS doc FROM n;"
                .into()],
            "\"events\" is a view instead of a table",
        ),
        (
            // A replayed rotate_key re-activated a stolen key once UNIQUE(hash) was gone.
            "events-without-unique-hash",
            vec![events_rebuilt(|s| s.replace("hash BLOB NOT NULL UNIQUE", "hash BLOB NOT NULL"))],
            "table \"events\" is defined differently",
        ),
        (
            // Without the primary key, a second row of a consumed parcel showed it open.
            "parcels-without-primary-key",
            vec!["BEGIN; CREATE TABLE p2(id TEXT, holder TEXT NOT NULL, status TEXT NOT NULL, weight_pt INTEGER NOT NULL, \
                  head BLOB NOT NULL, doc TEXT NOT NULL) STRICT; INSERT INTO p2 SELECT * FROM parcels; \
                  INSERT INTO p2 SELECT id, holder, 'open', 999999, head, doc FROM parcels WHERE status = 'consumed' LIMIT 1; \
                  DROP TABLE parcels; ALTER TABLE p2 RENAME TO parcels; COMMIT;"
                .into()],
            "missing index \"sqlite_autoindex_parcels_1\"",
        ),
        (
            // A table that is no longer STRICT takes text in an integer column.
            "parcels-not-strict",
            vec![
                "PRAGMA writable_schema = ON; \
                 UPDATE sqlite_schema SET sql = replace(sql, ') STRICT', ')') WHERE name = 'parcels';"
                    .into(),
                "UPDATE parcels SET weight_pt = 'heavy' WHERE rowid = 1;".into(),
            ],
            "table \"parcels\" is defined differently",
        ),
    ];
    // The edits of one statement: (name, statement, what the refusal names).
    let single = [
        ("extra-index", "CREATE INDEX by_kind ON events(kind);", "unexpected index \"by_kind\""),
        ("dropped-index", "DROP INDEX event_parcels_seq;", "missing index \"event_parcels_seq\""),
        // `NOT LIKE 'sqlite_%'` took `_` for any character: this table was never read.
        (
            "table-sqlitex",
            "CREATE TABLE sqlitex_hidden(x TEXT) STRICT; INSERT INTO sqlitex_hidden VALUES ('x');",
            "unexpected table \"sqlitex_hidden\"",
        ),
        // ... and ignored case.
        ("table-SQLITE1", "CREATE TABLE SQLITE1(x TEXT) STRICT;", "unexpected table \"SQLITE1\""),
        // Optimizer statistics steer the query planner; kpledger never writes them.
        ("sqlite-stat1", "ANALYZE;", "unexpected table \"sqlite_stat1\""),
        ("extra-table", "CREATE TABLE notes(x TEXT) STRICT;", "unexpected table \"notes\""),
    ];
    cases.extend(single.map(|(name, statement, difference)| (name, vec![statement.to_owned()], difference)));
    for (name, transactions, difference) in &cases {
        let statements: Vec<&str> = transactions.iter().map(String::as_str).collect();
        let ledger = demo.edited(name, &statements);
        refused_everywhere(&demo, &ledger, difference);
    }
}

/// A row of `event_parcels` changed behind the back of its index (the schema made blind to
/// the index meanwhile, then restored byte for byte): the schema is exactly kpledger's and
/// `quick_check` passes, but the table and its index disagree — a parcel's history (read by
/// the table) misses the event that verification (read by the index) sees. `verify --ledger`
/// runs `integrity_check` and refuses the file as damaged.
#[test]
fn an_index_that_disagrees_with_its_table_is_caught_by_the_integrity_check() {
    let demo = Demo::new("schema-index");
    let path = demo.dir.join("index.kpl");
    copy_ledger(&demo.ledger(), &path);
    let c = Connection::open(&path).unwrap();
    let (root, sql): (i64, String) = c
        .query_row("SELECT rootpage, sql FROM sqlite_schema WHERE name = 'event_parcels_seq'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let (parcel, seq, hash): (String, i64, String) = c
        .query_row(
            "SELECT p.parcel, p.seq, lower(hex(e.hash)) FROM event_parcels p JOIN events e ON e.seq = p.seq \
             WHERE p.seq = (SELECT max(seq) FROM events WHERE kind = 'valuation')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    drop(c);
    let run = |sql: &str| Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    run("PRAGMA writable_schema = ON; DELETE FROM sqlite_schema WHERE name = 'event_parcels_seq';");
    // Same number of rows, so SQLite's quick_check counts them equal.
    run(&format!(
        "UPDATE event_parcels SET parcel = '00000000-0000-7000-8000-000000000000' WHERE parcel = '{parcel}' AND seq = {seq};"
    ));
    run(&format!(
        "PRAGMA writable_schema = ON; INSERT INTO sqlite_schema VALUES ('index', 'event_parcels_seq', 'event_parcels', {root}, '{sql}');"
    ));
    let quick: String =
        Connection::open(&path).unwrap().query_row("PRAGMA quick_check", [], |r| r.get(0)).unwrap();
    assert_eq!(quick, "ok", "the edit should pass SQLite's quick_check");
    // The history lost the valuation...
    let history = kp!("parcel", "history", &parcel, "--ledger", &path, "--json").run();
    history.ok();
    let pristine = kp!("parcel", "history", &parcel, "--ledger", demo.ledger(), "--json").run();
    let listed = |out: &crate::util::Out| {
        out.json().as_array().unwrap().iter().any(|e| e["seq"] == seq && e["hash"] == hash.as_str())
    };
    pristine.ok().check(listed(&pristine), "the valuation is in the parcel's history");
    history.check(!listed(&history), "the edited table should hide the valuation from the history");
    // ...and verification refuses the file.
    let before = snapshot(&path);
    kp!("verify", "--ledger", &path).run().cannot_run(&["is damaged", "event_parcels_seq"]);
    assert_eq!(snapshot(&path), before);
}

/// The ledger kpledger 0.1.0 wrote (schema version 2) is refused as it is, with the exact command
/// that migrates it; the migration re-records its signed history into a new file that verifies.
#[test]
fn the_ledger_0_1_0_wrote_is_refused_with_the_command_that_migrates_it() {
    let dir = TempDir::new("schema-0.1.0");
    let old = dir.join("old.kpl");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/upgrade/v0.1.0/ledger.kpl");
    std::fs::copy(&fixture, &old).unwrap();
    let before = std::fs::read(&old).unwrap();

    // Opened as it is: refused, naming the exact command that migrates it.
    let hint = format!("kpledger migrate --from {}", old.display());
    kp!("verify", "--ledger", &old).run().cannot_run(&["schema version 2", &hint]);
    kp!("parcel", "list", "--ledger", &old).run().cannot_run(&[&hint]);

    // Migrated into a new file: every event re-judged, the checkpoints carried over, verified.
    let new = dir.join("new.kpl");
    let out = kp!("migrate", "--from", &old, "--to", &new, "--json").run();
    let m = out.ok().json();
    assert_eq!(m["from_version"], 2, "{out}");
    assert_eq!(m["events"], 124, "{out}");
    assert_eq!(m["checkpoints"], 2, "{out}");
    assert_eq!(m["report"]["ok"], true, "{out}");
    assert_eq!(std::fs::read(&old).unwrap(), before, "the old file must only be read");
    let (out, report) = verify_json(&new);
    out.ok();
    assert_eq!(report["events"], 124, "{out}");
    kp!("parcel", "list", "--ledger", &new).run().ok();
    // The signed history and the signed checkpoints are byte for byte the old ones.
    let rows = |path: &Path, sql: &str| -> Vec<(Vec<u8>, String)> {
        let c = Connection::open(path).unwrap();
        let mut st = c.prepare(sql).unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    for sql in
        ["SELECT hash, doc FROM events ORDER BY seq", "SELECT root, note FROM checkpoints ORDER BY size"]
    {
        assert_eq!(rows(&old, sql), rows(&new, sql), "{sql}");
    }
    // Nothing to do twice, and never over an existing file.
    kp!("migrate", "--from", &new, "--to", dir.join("again.kpl")).run().cannot_run(&["nothing to migrate"]);
    kp!("migrate", "--from", &old, "--to", &new).run().cannot_run(&["exists"]);
    assert!(!dir.join("again.kpl").exists());

    // An old file whose schema was edited (a trigger) is not read, and nothing is written.
    let edited = dir.join("edited.kpl");
    std::fs::copy(&fixture, &edited).unwrap();
    Connection::open(&edited)
        .unwrap()
        .execute_batch("CREATE TRIGGER t AFTER INSERT ON events BEGIN SELECT 1; END;")
        .unwrap();
    kp!("migrate", "--from", &edited, "--to", dir.join("from-edited.kpl"))
        .run()
        .cannot_run(&["not the one kpledger 0.1.0 created"]);
    assert!(!dir.join("from-edited.kpl").exists());

    // Migration launders nothing: an old file whose events were rewritten behind kpledger's back
    // (event #5 replaced by a copy of #6) is re-judged, and the migration stops at the refusal.
    let rewritten = dir.join("rewritten.kpl");
    std::fs::copy(&fixture, &rewritten).unwrap();
    let n = Connection::open(&rewritten)
        .unwrap()
        .execute("UPDATE events SET doc = (SELECT doc FROM events WHERE seq = 6) WHERE seq = 5", [])
        .unwrap();
    assert_eq!(n, 1);
    let out = kp!("migrate", "--from", &rewritten, "--to", dir.join("from-rewritten.kpl")).run();
    out.code(1).stderr_has("refused by this build's rules");
}
