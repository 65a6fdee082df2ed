//! Helpers: temporary directories, running the real `kpledger` binary, openssl, a small
//! Sierra Leone ledger set up through the CLI, and reading ledger files with rusqlite.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_kpledger");

/// No kpledger command in these tests should take anywhere near this long.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A directory of its own for one test, removed when dropped (kept, and named on stderr,
/// when the test failed, for inspection).
pub(crate) use kpledger_testkit::TempDir;

/// `kp!("verify", "--ledger", &path)`: a kpledger command line; each argument is anything
/// that is `AsRef<OsStr>` (`&str`, `String`, `&Path`, `PathBuf`).
macro_rules! kp {
    ($($arg:expr),* $(,)?) => {
        $crate::util::Cmd::new(vec![$(::std::ffi::OsStr::new(&$arg).to_owned()),*])
    };
}

/// `on!(t, &t.miner, "extract", "--site", SITE)`: a kpledger command on the ledger of the
/// [`Trade`] `t`, signed with `key` (`--ledger` and `--key` follow the arguments given). Add
/// its `--time`.
macro_rules! on {
    ($t:expr, $key:expr, $($arg:expr),* $(,)?) => {
        kp!($($arg),*).arg("--ledger").arg(&$t.ledger).arg("--key").arg($key)
    };
}

/// `signed!(t, &t.nma, "actor", "enrol", "--id", id)`: [`on!`] signed at `t`'s next tick.
macro_rules! signed {
    ($t:expr, $key:expr, $($arg:expr),* $(,)?) => {{
        let t = &$t;
        on!(t, $key, $($arg),*).arg("--time").arg(t.tick())
    }};
}

/// One run of the kpledger binary.
pub(crate) struct Cmd {
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
}

impl Cmd {
    pub(crate) fn new(args: Vec<OsString>) -> Cmd {
        Cmd { args, cwd: None, env: Vec::new() }
    }

    /// More arguments.
    pub(crate) fn args<A: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = A>) -> Cmd {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// One more argument.
    pub(crate) fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.args.push(a.as_ref().to_owned());
        self
    }

    /// Runs in `dir` (default: this process's directory).
    pub(crate) fn cwd(mut self, dir: &Path) -> Cmd {
        self.cwd = Some(dir.to_owned());
        self
    }

    /// Sets an environment variable of the run.
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.env.push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Runs the command to the end and returns its exit code and output.
    pub(crate) fn run(&self) -> Out {
        let shown = std::iter::once("kpledger".to_owned())
            .chain(self.args.iter().map(|a| shell_word(&a.to_string_lossy())))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = child(Path::new(BIN));
        cmd.args(&self.args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let (code, stdout, stderr) = run_to_end(cmd, &shown);
        Out { cmd: shown, code, stdout, stderr }
    }
}

/// A child process of `program` (the binary under test, or a wrapper that runs it) with no
/// input and no `KPLEDGER_LEDGER`: the tests pass every path explicitly.
pub(crate) fn child(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_remove("KPLEDGER_LEDGER").stdin(Stdio::null());
    cmd
}

/// `kpledger demo` with 8 parcels into `at` (a new directory); returns `at`.
pub(crate) fn small_demo(at: PathBuf) -> PathBuf {
    kp!("demo", &at, "--parcels", "8").run().ok();
    at
}

/// Spawns, collects stdout and stderr, and waits (killing the child after `TIMEOUT`).
fn run_to_end(mut cmd: Command, shown: &str) -> (i32, String, String) {
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start `{shown}`: {e}"));
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{shown}` did not finish within {TIMEOUT:?}; killed it");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("cannot wait for `{shown}`: {e}"),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    // Killed by a signal: no exit code. -1 never passes an exit code assertion.
    let code = status.code().unwrap_or(-1);
    (code, stdout, stderr)
}

fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What a command did: exit code, stdout, stderr. Every assertion on it prints all three.
pub(crate) struct Out {
    pub(crate) cmd: String,
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command:   {}", self.cmd)?;
        writeln!(f, "exit code: {}", self.code)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

impl Out {
    /// Asserts `ok`, printing `what` and the whole run when it fails.
    #[track_caller]
    pub(crate) fn check(&self, ok: bool, what: &str) -> &Out {
        assert!(ok, "{what}\n{self}");
        self
    }

    /// The program did not panic (a Rust panic prints "panicked" and exits 101).
    #[track_caller]
    pub(crate) fn no_panic(&self) -> &Out {
        self.check(self.code != 101 && !self.stderr.contains("panicked"), "kpledger panicked")
    }

    /// Exit code is `code`, and no panic.
    #[track_caller]
    pub(crate) fn code(&self, code: i32) -> &Out {
        self.no_panic().check(self.code == code, &format!("expected exit code {code}"))
    }

    /// Exit code 0.
    #[track_caller]
    pub(crate) fn ok(&self) -> &Out {
        self.code(0)
    }

    /// Exit code 2 ("could not run") with an error message on stderr that contains every
    /// one of `phrases`, and nothing on stdout.
    #[track_caller]
    pub(crate) fn cannot_run(&self, phrases: &[&str]) -> &Out {
        self.code(2);
        self.check(self.stderr.contains("error"), "stderr should say there is an error");
        for p in phrases {
            self.check(self.stderr.contains(p), &format!("stderr should mention {p:?}"));
        }
        self.check(
            self.stdout.trim().is_empty(),
            "a command that could not run should print nothing on stdout",
        )
    }

    #[track_caller]
    pub(crate) fn stdout_has(&self, phrase: &str) -> &Out {
        self.check(self.stdout.contains(phrase), &format!("stdout should mention {phrase:?}"))
    }

    #[track_caller]
    pub(crate) fn stderr_has(&self, phrase: &str) -> &Out {
        self.check(self.stderr.contains(phrase), &format!("stderr should mention {phrase:?}"))
    }

    #[track_caller]
    pub(crate) fn stderr_lacks(&self, phrase: &str) -> &Out {
        self.check(!self.stderr.contains(phrase), &format!("stderr should not mention {phrase:?}"))
    }

    /// Stdout parsed as one JSON document.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        match serde_json::from_str(&self.stdout) {
            Ok(v) => v,
            Err(e) => panic!("stdout is not JSON ({e})\n{self}"),
        }
    }

    /// The ids of the parcels a recording command created (`--json` output
    /// `{"ok": true, "seq": .., "parcels": [..]}`).
    #[track_caller]
    pub(crate) fn created(&self) -> Vec<String> {
        self.ok();
        let v = self.json();
        self.check(v["ok"] == true, "the JSON result should say \"ok\": true");
        let Some(list) = v["parcels"].as_array() else {
            panic!("the JSON result has no \"parcels\" list\n{self}");
        };
        list.iter()
            .map(|p| {
                p.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| panic!("parcel id {p} is not a string\n{self}"))
            })
            .collect()
    }
}

/// A child process killed (SIGKILL) and reaped when dropped: when the test ends, passed or
/// failed.
pub(crate) struct KillOnDrop(pub(crate) std::process::Child);

impl KillOnDrop {
    /// Kills the child now (and reaps it).
    pub(crate) fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs openssl, which the tests require: kpledger promises that keys made by
/// `openssl genpkey -algorithm ed25519` work.
#[track_caller]
pub(crate) fn openssl(args: &[&str], dir: &Path) {
    let bin = if Path::new("/usr/bin/openssl").exists() { "/usr/bin/openssl" } else { "openssl" };
    let out = Command::new(bin).args(args).current_dir(dir).output().unwrap_or_else(|e| {
        panic!(
            "openssl is required by the end-to-end tests (they check that keys made by openssl work \
             with kpledger), but `{bin}` cannot be run: {e}"
        )
    });
    assert!(
        out.status.success(),
        "openssl {} failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `policies/` directory of this repository.
pub(crate) fn policy_file(country: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies").join(format!("{country}.json"))
}

pub(crate) const ORIGIN: &str = "kpledger.sl/national";
pub(crate) const AUTHORITY: &str = "sl.nma";
pub(crate) const MINER: &str = "sl.miner.koroma";
pub(crate) const DEALER: &str = "sl.dealer.kamara";
pub(crate) const EXPORTER: &str = "sl.exporter.sierra-gems";
pub(crate) const VALUER: &str = "sl.valuer.gdo";
pub(crate) const SITE: &str = "sl.kono.koidu-12";
/// `site add`'s arguments for [`SITE`], the Koidu claim.
pub(crate) const KOIDU_SITE: [&str; 12] = [
    "--id",
    SITE,
    "--name",
    "Koidu claim 12",
    "--country",
    "SL",
    "--region",
    "Kono",
    "--location",
    "8.6446,-10.9712",
    "--area-m2",
    "8000",
];

/// `site add`'s arguments for a mine site `id` in `region` of Sierra Leone (8 000 m² near
/// Koidu).
pub(crate) fn site_in_sl(id: &str, name: &str, region: &str) -> [String; 12] {
    [
        "--id",
        id,
        "--name",
        name,
        "--country",
        "SL",
        "--region",
        region,
        "--location",
        "8.6,-10.9",
        "--area-m2",
        "8000",
    ]
    .map(str::to_owned)
}

/// Signing times ten minutes apart, from 2026-03-02T08:00:00Z.
#[derive(Default)]
pub(crate) struct Clock(std::cell::Cell<u32>);

impl Clock {
    /// The next signing time: ten minutes after the previous one.
    pub(crate) fn tick(&self) -> String {
        let n = self.0.get();
        self.0.set(n + 1);
        let minutes = 8 * 60 + n * 10;
        format!(
            "2026-03-{:02}T{:02}:{:02}:00Z",
            2 + minutes / (24 * 60),
            minutes % (24 * 60) / 60,
            minutes % 60
        )
    }
}

/// A Sierra Leone ledger set up through the CLI: the National Minerals Agency (root
/// authority) with the SL policy, one artisanal mine site, and a licensed miner, dealer,
/// exporter and government valuer. Keys of the authority, miner and valuer are made by
/// `kpledger key new`, those of the dealer and exporter by openssl.
pub(crate) struct Trade {
    pub(crate) dir: TempDir,
    pub(crate) ledger: PathBuf,
    pub(crate) nma: PathBuf,
    pub(crate) miner: PathBuf,
    pub(crate) dealer: PathBuf,
    pub(crate) exporter: PathBuf,
    pub(crate) valuer: PathBuf,
    /// Minutes after 2026-03-02T08:00:00Z of the last signature.
    clock: Clock,
}

impl Trade {
    pub(crate) fn new(tag: &str) -> Trade {
        Trade::new_in(tag, &crate::backends::Store::File)
    }

    /// As [`Trade::new`], the ledger in `store` (a file, or a PostgreSQL database).
    pub(crate) fn new_in(tag: &str, store: &crate::backends::Store) -> Trade {
        let dir = TempDir::new(tag);
        let key = |name: &str| dir.join(format!("{name}.pem"));
        let t = Trade {
            // `sl.kpl`, or a database named after the test (one per test on the server).
            ledger: match store {
                crate::backends::Store::File => dir.join("sl.kpl"),
                pg => pg.ledger(&dir, &format!("sl_{tag}")),
            },
            nma: key("nma"),
            miner: key("koroma"),
            dealer: key("kamara"),
            exporter: key("sierra-gems"),
            valuer: key("gdo"),
            clock: Clock::default(),
            dir,
        };
        for k in [&t.nma, &t.miner, &t.valuer] {
            let out = kp!("key", "new", k).run();
            out.ok().stdout_has("fingerprint");
            out.check(pub_of(k).exists(), "`key new` should write the public key next to the private one");
        }
        for k in [&t.dealer, &t.exporter] {
            let name = k.to_string_lossy().into_owned();
            openssl(&["genpkey", "-algorithm", "ed25519", "-out", &name], t.dir.path());
            openssl(&["pkey", "-in", &name, "-pubout", "-out", &format!("{name}.pub")], t.dir.path());
        }
        init(&t.ledger, ORIGIN, [AUTHORITY, "National Minerals Agency", "SL"], &t.nma)
            .arg("--time")
            .arg(t.tick())
            .run()
            .ok();
        signed!(t, &t.nma, "policy", "set", policy_file("SL")).run().ok();
        signed!(t, &t.nma, "site", "add").args(KOIDU_SITE).run().ok();
        let enrol =
            |id: &str, name: &str, role: &str, key: &Path, class: &str, number: &str, site: &[&str]| {
                let mut cmd = signed!(
                    t,
                    &t.nma,
                    "actor",
                    "enrol",
                    "--json",
                    "--id",
                    id,
                    "--name",
                    name,
                    "--role",
                    role,
                    "--country",
                    "SL",
                    "--pubkey",
                    pub_of(key),
                )
                .args(licence_2026(number, class));
                for s in site {
                    cmd = cmd.arg("--site").arg(s);
                }
                let v = cmd.run().ok().json();
                assert_eq!(v["ok"], true, "{v}");
            };
        enrol(MINER, "Koroma artisanal mining", "miner", &t.miner, "artisanal", "NMA/AM/2026/114", &[SITE]);
        enrol(DEALER, "Kamara Diamond Dealers", "dealer", &t.dealer, "dealer", "NMA/DL/2026/031", &[]);
        enrol(EXPORTER, "Sierra Gems Export", "exporter", &t.exporter, "exporter", "NMA/EX/2026/007", &[]);
        enrol(
            VALUER,
            "Government Gold and Diamond Office",
            "valuer",
            &t.valuer,
            "valuer",
            "NMA/GV/2026/002",
            &[],
        );
        t
    }

    /// The next signing time: ten minutes after the previous one, from 2026-03-02T08:00:00Z.
    pub(crate) fn tick(&self) -> String {
        self.clock.tick()
    }

    /// The miner registers a parcel; returns its id.
    pub(crate) fn extract(&self, weight: &str, stones: &str) -> String {
        let out = signed!(
            self,
            &self.miner,
            "extract",
            "--json",
            "--site",
            SITE,
            "--weight",
            weight,
            "--stones",
            stones,
            "--hs",
            "7102.31"
        )
        .run();
        let created = out.created();
        out.check(created.len() == 1, "an extraction creates one parcel");
        created[0].clone()
    }

    /// The holder whose key is `key` offers `parcel` to `to` for `price` (US$), signed at the
    /// next tick; the signed offer is written to `out`.
    pub(crate) fn offer(&self, key: &Path, parcel: &str, to: &str, price: &str, out: &Path) {
        signed!(
            self, key, "handover", "offer", "--parcel", parcel, "--to", to, "--price", price, "--out", out
        )
        .run()
        .ok();
    }

    /// `handover record` of `parcel` from the holder whose key is `from` to the actor whose
    /// key is `to`, for `price` (US$). Add its `--time`.
    pub(crate) fn handover(&self, parcel: &str, from: &Path, to: &Path, price: &str) -> Cmd {
        kp!(
            "handover",
            "record",
            "--ledger",
            &self.ledger,
            "--parcel",
            parcel,
            "--from-key",
            from,
            "--to-key",
            to
        )
        .args(["--price", price])
    }

    /// `witness cosign` of `checkpoint` by the witness `lr.mme` (key `witness`, state
    /// `lr-witness.json` in the test's directory) against this ledger's log, at `time`; the
    /// cosigned checkpoint goes to `out` in the test's directory. Add `--proof` where needed.
    pub(crate) fn cosign(&self, witness: &Path, checkpoint: &Path, out: &str, time: &str) -> Cmd {
        kp!(
            "witness",
            "cosign",
            checkpoint,
            "--log-origin",
            ORIGIN,
            "--log-key",
            pub_of(&self.nma),
            "--name",
            "lr.mme",
            "--key",
            witness,
            "--state",
            self.dir.join("lr-witness.json"),
            "--out",
            self.dir.join(out),
            "--time",
            time
        )
    }
}

/// `actor enrol`'s licence arguments: licence `number` of `class`, valid through 2026.
pub(crate) fn licence_2026(number: &str, class: &str) -> [String; 8] {
    ["--licence", number, "--class", class, "--valid-from", "2026-01-01", "--valid-to", "2026-12-31"]
        .map(str::to_owned)
}

/// `kpledger init`: a new ledger at `ledger`, the log `origin`, whose root authority
/// (`[id, name, country]`) signs with `key`. Add `--time` for a reproducible genesis.
pub(crate) fn init(ledger: impl AsRef<OsStr>, origin: &str, root: [&str; 3], key: impl AsRef<OsStr>) -> Cmd {
    let [id, name, country] = root;
    kp!(
        "init",
        "--ledger",
        ledger,
        "--origin",
        origin,
        "--id",
        id,
        "--name",
        name,
        "--country",
        country,
        "--key",
        key
    )
}

/// `actor enrol` on the ledger at `ledger`, signed with `key`: the actor `[id, name, role,
/// country]` whose public key is the file `pubkey`. Add `--time` and its licence.
pub(crate) fn enrol(ledger: &Path, key: &Path, who: [&str; 4], pubkey: &Path) -> Cmd {
    let [id, name, role, country] = who;
    kp!("actor", "enrol", "--ledger", ledger, "--key", key, "--id", id, "--name", name, "--role", role)
        .args(["--country", country])
        .arg("--pubkey")
        .arg(pubkey)
}

/// `KEY.pub`, where `kpledger key new KEY` and these tests put the public key.
pub(crate) fn pub_of(private: &Path) -> PathBuf {
    let mut s = private.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// Moves everything in the write-ahead log into the main file, so that copying the main
/// file alone copies the whole ledger.
pub(crate) fn checkpoint(ledger: &Path) {
    let c = Connection::open(ledger).unwrap_or_else(|e| panic!("cannot open {}: {e}", ledger.display()));
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap_or_else(|e| panic!("cannot checkpoint {}: {e}", ledger.display()));
}

/// Copies a ledger file (after a checkpoint, so the copy is complete).
pub(crate) fn copy_ledger(from: &Path, to: &Path) {
    checkpoint(from);
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
}

/// Every row of every table, as text, for comparing a ledger before and after.
pub(crate) fn snapshot(ledger: &Path) -> Vec<String> {
    if crate::backends::is_url(ledger) {
        return crate::backends::pg_snapshot(ledger);
    }
    let c = Connection::open_with_flags(ledger, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", ledger.display()));
    let mut out = Vec::new();
    for table in tables(&c) {
        let mut st =
            c.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap_or_else(|e| panic!("{table}: {e}"));
        let n = st.column_count();
        let mut rows = st.query([]).unwrap_or_else(|e| panic!("{table}: {e}"));
        let mut lines = Vec::new();
        while let Some(r) = rows.next().unwrap_or_else(|e| panic!("{table}: {e}")) {
            let cells: Vec<String> = (0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap_or_else(|e| panic!("{table}: {e}"))))
                .collect();
            lines.push(format!("{table}: {}", cells.join(" | ")));
        }
        lines.sort();
        out.extend(lines);
    }
    out
}

/// The tables of a database, by name.
pub(crate) fn tables(c: &Connection) -> Vec<String> {
    let mut st = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap_or_else(|e| panic!("cannot list tables: {e}"));
    st.query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
        .unwrap_or_else(|e| panic!("cannot list tables: {e}"))
}

/// Runs `verify --ledger FILE --json` and returns the run and the parsed report.
pub(crate) fn verify_json(ledger: &Path) -> (Out, Value) {
    let out = kp!("verify", "--ledger", ledger, "--json").run();
    out.no_panic();
    let report = out.json();
    (out, report)
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
