//! The README runs as written, and every `Example:` of the `--help` texts does what it says.
//!
//! # The README's shell blocks
//!
//! Every fenced block tagged `sh` (or `bash`, `shell`; indented fences too) in README.md
//! runs, in file order, in ONE bash shell (`set -e`) started in an empty temporary directory,
//! with the binary under test first on the `PATH` as `kpledger` (and `KPLEDGER_LEDGER` unset). Variables and `cd` carry over from
//! block to block, as in a terminal. Mappings, applied to each line of a block:
//!
//! - a line starting `cargo run --release -- ` runs as `kpledger ` (the demo of the README's
//!   first block, built in release mode by a person, is the same program as the binary here);
//! - the line `cargo test --workspace --locked` is not run: it is this test suite.
//!
//! A block tagged `text` that follows an `sh` block with only blank lines between is that
//! block's expected output, stdout and stderr together, compared line by line:
//!
//! - `[..]` in an expected line matches any text within the line (ids, hashes, fingerprints,
//!   process ids: what is new on every run);
//! - an expected line that is only `...` matches any number of lines (none included);
//! - everything else must be equal, trailing blank lines aside.
//!
//! A command meant to fail is written `kpledger … || echo "exit $?"`, so its exit code is in
//! the output and is checked. An `sh` block that cannot run here (Graphviz, benchmarks that run
//! for minutes) is marked by the HTML comment `<!-- readme-test: skip (REASON) -->` on the
//! line before its fence (blank lines allowed between); the skipped blocks are listed on
//! stderr, and a marker before anything but an `sh` block fails the test. The same convention
//! is written in a comment at the top of README's "The trade flow, step by step". The same
//! marker may stand before a shell session shown as text (next section) that the test cannot
//! run, such as one with a server and curl.
//!
//! # The `--help` examples
//!
//! `kpledger help` is walked recursively (every command and subcommand's `--help`); every
//! example it shows (a paragraph starting `Example:`, or the indented lines after
//! `Examples:`) runs with `bash -c` in a fresh copy of the directory the README left (the
//! demo's files in `kpledger-demo/`, the step-by-step's national ledger `sl.kpl` and its
//! keys, and what [`PREPARE_EXAMPLES`] adds), with `KPLEDGER_LEDGER` unset. It must exit 0. A
//! trailing parenthesised remark is not part of the command: `(exit N …)` says it exits N,
//! `(needs …)` or `(runs …)` (Graphviz, a benchmark of minutes, a server that runs until
//! stopped) that it is not run here (listed on stderr); any other remark is a comment for the
//! reader. An example still running after 60 s fails, saying so.
//!
//! # Transcripts
//!
//! A block tagged `text` (or `console`, or untagged) whose first line is `$ COMMAND` (not
//! after an `sh` block) is a
//! transcript, marked by `<!-- readme-test: transcript -->` on the line before it: COMMAND,
//! with the same mappings, runs alone in a new empty directory, and the rest of the block is
//! its output, compared as above (the README's demo output). Such a block without the marker
//! fails the test, which says how to write it instead: a shell session shown as text would be
//! neither run nor checked.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{BIN, TempDir};

/// The README, read at compile time from the repository root.
const README: &str = include_str!("../../README.md");

const SKIP_MARKER: &str = "<!-- readme-test: skip";
const TRANSCRIPT_MARKER: &str = "<!-- readme-test: transcript -->";

/// One fenced block of the README.
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    body: Vec<String>,
    /// The skip marker's reason, if the block is marked.
    skip: Option<String>,
    /// Marked as a transcript.
    transcript: bool,
}

fn blocks(md: &str) -> Vec<Block> {
    let lines: Vec<&str> = md.lines().collect();
    let mut out = Vec::new();
    let mut pending_skip: Option<(usize, String)> = None;
    let mut pending_transcript: Option<usize> = None;
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.trim() == TRANSCRIPT_MARKER {
            pending_transcript = Some(i + 1);
            i += 1;
            continue;
        }
        if let Some(rest) = l.trim_start().strip_prefix(SKIP_MARKER) {
            let reason = rest.trim().trim_end_matches("-->").trim().to_owned();
            assert!(!reason.is_empty(), "README.md:{}: a skip marker gives its reason", i + 1);
            pending_skip = Some((i + 1, reason));
            i += 1;
            continue;
        }
        if let Some(lang) = l.trim_start().strip_prefix("```") {
            // A fence may be indented (a block inside a list item): so is its body.
            let indent = l.len() - l.trim_start().len();
            // bash and shell blocks are shell blocks too.
            let lang = match lang.trim() {
                "bash" | "shell" => "sh",
                other => other,
            };
            let start = i;
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                let b = lines[i];
                let cut = b.len() - b.trim_start().len();
                body.push(b[cut.min(indent)..].to_owned());
                i += 1;
            }
            assert!(i < lines.len(), "README.md:{}: unclosed code block", start + 1);
            let skip = pending_skip.take().map(|(at, reason)| {
                assert!(
                    lang == "sh"
                        || (matches!(lang, "text" | "" | "console")
                            && body.first().is_some_and(|l| l.starts_with("$ "))),
                    "README.md:{at}: a skip marker is only for an sh block or a shell session shown as text"
                );
                reason
            });
            let transcript = pending_transcript.take().is_some_and(|at| {
                assert!(
                    matches!(lang, "text" | "" | "console") && body.first().is_some_and(|l| l.starts_with("$ ")),
                    "README.md:{at}: a transcript marker is only for a text block whose first line is `$ COMMAND`"
                );
                true
            });
            out.push(Block { line: start + 1, lang: lang.to_owned(), body, skip, transcript });
            i += 1;
            continue;
        }
        if !l.trim().is_empty()
            && let Some(at) = pending_skip.as_ref().map(|(at, _)| *at).or(pending_transcript)
        {
            panic!("README.md:{at}: a readme-test marker must be followed by the block it marks");
        }
        i += 1;
    }
    out
}

/// Whether `actual` matches the expected line, where `[..]` matches any text.
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("[..]").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() || !actual.ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(k) => rest = &rest[k + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Whether `actual` matches `expected`, where a line `...` matches any number of lines.
fn lines_match(expected: &[&str], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((&"...", rest)) => (0..=actual.len()).any(|k| lines_match(rest, &actual[k..])),
        Some((e, rest)) => {
            actual.split_first().is_some_and(|(a, arest)| line_matches(e, a) && lines_match(rest, arest))
        }
    }
}

fn trimmed(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    while v.last().is_some_and(|l| l.trim().is_empty()) {
        v.pop();
    }
    v
}

/// A `bin/` directory with `kpledger` linked to the binary under test.
fn path_with_kpledger(dir: &Path) -> std::ffi::OsString {
    let bin = dir.join(".bin");
    std::fs::create_dir_all(&bin).unwrap();
    if !bin.join("kpledger").exists() {
        std::os::unix::fs::symlink(BIN, bin.join("kpledger")).unwrap();
    }
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(paths).unwrap()
}

/// Runs the README's sh blocks in `work` (see the module's documentation) and returns the
/// blocks run with their outputs; panics naming the first block that failed.
fn run_readme(work: &Path, scratch: &Path) -> Vec<(Block, Option<String>, String)> {
    let all = blocks(README);
    let path = path_with_kpledger(scratch);
    let mut driver = String::from("set -e\n");
    let mut runs = Vec::new();
    let mut iter = all.into_iter().peekable();
    let mut n = 0;
    while let Some(b) = iter.next() {
        if b.lang != "sh" {
            continue;
        }
        // The text block right after it, if any (only blank lines between: the parser saw
        // none, so it is the next block whose fence is the next non-blank line).
        let expected = match iter.peek() {
            Some(next) if next.lang == "text" && follows(&b, next) => Some(next.body.join("\n")),
            _ => None,
        };
        if let Some(reason) = &b.skip {
            eprintln!("README.md:{}: sh block skipped {reason}", b.line);
            continue;
        }
        n += 1;
        let script: Vec<String> = b
            .body
            .iter()
            .filter(|l| l.trim() != "cargo test --workspace --locked")
            .map(|l| match l.strip_prefix("cargo run --release -- ") {
                Some(rest) => format!("kpledger {rest}"),
                None => l.clone(),
            })
            .collect();
        let file = scratch.join(format!("block-{n}.sh"));
        std::fs::write(&file, script.join("\n") + "\n").unwrap();
        let out = scratch.join(format!("block-{n}.out"));
        let done = scratch.join(format!("block-{n}.done"));
        driver.push_str(&format!(
            "{{ . '{}' ; }} > '{}' 2>&1 < /dev/null\ntouch '{}'\n",
            file.display(),
            out.display(),
            done.display()
        ));
        runs.push((b, expected, out, done));
    }
    std::fs::write(scratch.join("driver.sh"), &driver).unwrap();
    // The exit status is read per block below (each block that finished left its mark).
    // A block that does not end (a server started in the foreground) fails at the block it is
    // in instead of hanging the suite.
    Command::new("timeout")
        .arg("600")
        .arg("bash")
        .arg(scratch.join("driver.sh"))
        .current_dir(work)
        .env("PATH", path)
        .env_remove("KPLEDGER_LEDGER")
        .status()
        .unwrap();
    let mut results = Vec::new();
    for (b, expected, out, done) in runs {
        let output = std::fs::read_to_string(&out).unwrap_or_default();
        assert!(
            done.exists(),
            "README.md:{}: this sh block failed (a command exited non-zero under `set -e`, or the README's blocks ran for more than 600 s):\n{}\n--- its output:\n{output}",
            b.line,
            b.body.join("\n")
        );
        results.push((b, expected, output));
    }
    results
}

/// Whether `next` follows `b` with only blank lines between them in the README.
fn follows(b: &Block, next: &Block) -> bool {
    let lines: Vec<&str> = README.lines().collect();
    let end = b.line + b.body.len(); // the closing fence's 0-based index
    (end + 1..next.line - 1).all(|i| lines[i].trim().is_empty())
}

fn prepared_readme_dir() -> (TempDir, PathBuf) {
    let t = TempDir::new("readme");
    let work = t.join("work");
    let scratch = t.join("scratch");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    (t, work)
}

#[test]
fn readme_shell_blocks_run_as_written_and_print_what_is_shown() {
    let (t, work) = prepared_readme_dir();
    let scratch = t.join("scratch");
    let results = run_readme(&work, &scratch);
    let mut compared = 0;
    for (b, expected, actual) in &results {
        let Some(expected) = expected else { continue };
        compared += 1;
        let e = trimmed(expected);
        let a = trimmed(actual);
        assert!(
            lines_match(&e, &a),
            "README.md:{}: the output shown after this block is not the real one.\n--- block:\n{}\n--- shown:\n{}\n--- real:\n{}",
            b.line,
            b.body.join("\n"),
            expected,
            actual
        );
    }
    assert!(
        results.len() >= 15 && compared >= 15,
        "the README's step-by-step is run ({} blocks, {compared} outputs)",
        results.len()
    );
    // The step-by-step ends with a verified bundle and a verified ledger.
    assert!(work.join("SL-2026-004312.json").exists());
    assert!(work.join("kpledger-demo/ledger.kpl").exists());
}

/// What the `--help` examples find in their directory, beyond what the README left there
/// (module documentation): open parcels with fixed ids in `sl.kpl` (A held by the miner; B and
/// C by the dealer; F by the exporter; G valued; H valued and sealed), an offer of A
/// (`offer-a.json`) and its acceptance signed but not recorded (`handover.json`), a later
/// checkpoint with its consistency proof from the witness's size 24 (`checkpoint-new.txt`,
/// `proof-new.json`), keys `bangura.pem` and `kamara-2027.pem`, a newer policy version
/// (`SL-2.json`) and a ledger written by kpledger 0.1.0 (`sl-0.1.0.kpl`). The README's own
/// offer and handover files (already recorded) are removed.
const PREPARE_EXAMPLES: &str = r#"
set -e
export KPLEDGER_LEDGER=sl.kpl
rm -f offer.json handover.json
kpledger key new bangura.pem > /dev/null
kpledger key new kamara-2027.pem > /dev/null
kpledger policy show SL | sed 's/"version": "[^"]*"/"version": "2026-12-01"/' > SL-2.json
for p in 00000000000a:12.34 00000000000b:12.34 00000000000c:8.10 00000000000f:10.00 000000000010:10.00 000000000011:10.00; do
  kpledger extract --key koroma.pem --site sl.kono.koidu-12 --weight ${p#*:} --stones 5 --hs 7102.31 \
    --parcel 019d0000-0000-7000-8000-${p%%:*} --time 2026-03-14T09:00:00Z > /dev/null
done
for p in 00000000000b 00000000000c 00000000000f 000000000010 000000000011; do
  kpledger handover record --parcel 019d0000-0000-7000-8000-$p --from-key koroma.pem --to-key kamara.pem \
    --price 1000 --time 2026-03-14T10:00:00Z > /dev/null
done
for p in 00000000000f 000000000010 000000000011; do
  kpledger handover record --parcel 019d0000-0000-7000-8000-$p --from-key kamara.pem --to-key gems.pem \
    --price 2000 --time 2026-03-14T11:00:00Z > /dev/null
done
for p in 000000000010 000000000011; do
  kpledger value --key pmt.pem --parcel 019d0000-0000-7000-8000-$p --exporter 3000 --government 3100 \
    --independent 3050 --time 2026-03-15T09:00:00Z > /dev/null
done
kpledger seal --key nma.pem --parcel 019d0000-0000-7000-8000-000000000011 --seal SL-SEAL-2026-0103 \
  --time 2026-03-15T10:00:00Z > /dev/null
kpledger handover offer --key koroma.pem --parcel 019d0000-0000-7000-8000-00000000000a --to sl.dealer.kamara \
  --price 3566.26 --out offer-a.json --time 2026-03-16T09:00:00Z > /dev/null
kpledger handover accept offer-a.json --key kamara.pem --weight 12.30 --out handover.json \
  --time 2026-03-16T09:30:00Z > /dev/null
kpledger log publish --key office.pem --out checkpoint-new.txt > /dev/null
kpledger log prove-consistency --from 24 --out proof-new.json > /dev/null
"#;

/// The subcommands listed under `Commands:` in a help text.
fn subcommands(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for l in help.lines() {
        if l.trim_end() == "Commands:" {
            inside = true;
            continue;
        }
        if inside {
            if l.trim().is_empty() || !l.starts_with("  ") {
                break;
            }
            // "  name   description": a name starts right after the two-space indent.
            if l.as_bytes().get(2).is_some_and(|b| *b != b' ') {
                let name = l.split_whitespace().next().unwrap().to_owned();
                if name != "help" {
                    out.push(name);
                }
            }
        }
    }
    out
}

/// The examples of a help text: a paragraph starting `Example:`, or the lines after a line
/// ending `Examples:` (each starting `kpledger`; a line that does not is a wrapped
/// continuation of the one before).
fn examples(help: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut lines = help.lines().peekable();
    while let Some(l) = lines.next() {
        let t = l.trim();
        if let Some(first) = t.strip_prefix("Example: ") {
            let mut ex = first.to_owned();
            while let Some(next) = lines.peek() {
                if next.trim().is_empty() {
                    break;
                }
                ex.push(' ');
                ex.push_str(next.trim());
                lines.next();
            }
            out.push(ex);
        } else if t.ends_with("Examples:") {
            let mut list: Vec<String> = Vec::new();
            while let Some(next) = lines.peek() {
                let n = next.trim();
                if n.is_empty() {
                    break;
                }
                match list.last_mut() {
                    Some(last) if !n.starts_with("kpledger ") => {
                        last.push(' ');
                        last.push_str(n);
                    }
                    _ => list.push(n.to_owned()),
                }
                lines.next();
            }
            out.extend(list);
        }
    }
    out
}

/// An example's command line and what the test does with it: `Ok(code)` to run it and expect
/// that exit code, `Err(reason)` to skip it. A trailing parenthesised remark is not part of
/// the command: `(exit N …)` is the expected exit code, `(needs …)` or `(runs …)` skips it.
fn judge(example: &str) -> (String, Result<i32, String>) {
    let ex = example.trim();
    if ex.ends_with(')')
        && let Some(open) = ex.rfind("  (").or_else(|| ex.rfind(" ("))
    {
        let remark = &ex[open..].trim()[1..];
        let remark = &remark[..remark.len() - 1];
        let command = ex[..open].trim().to_owned();
        if let Some(code) = remark.strip_prefix("exit ") {
            let code = code.split_whitespace().next().unwrap().parse().unwrap();
            return (command, Ok(code));
        }
        if remark.starts_with("needs ") || remark.starts_with("runs ") {
            return (command, Err(remark.to_owned()));
        }
        return (command, Ok(0));
    }
    (ex.to_owned(), Ok(0))
}

fn copy_dir(from: &Path, to: &Path) {
    let st = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(st.success(), "cp -a {} {}", from.display(), to.display());
}

#[test]
fn every_help_example_runs_and_exits_as_it_says() {
    let (t, work) = prepared_readme_dir();
    let scratch = t.join("scratch");
    run_readme(&work, &scratch);
    let path = path_with_kpledger(&scratch);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/upgrade/v0.1.0/ledger.kpl"),
        work.join("sl-0.1.0.kpl"),
    )
    .unwrap();
    let prep = Command::new("bash")
        .arg("-c")
        .arg(PREPARE_EXAMPLES)
        .current_dir(&work)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        prep.status.success(),
        "preparing the examples' directory failed:\n{}",
        String::from_utf8_lossy(&prep.stderr)
    );

    // Walk `kpledger help` recursively.
    let help = |args: &[String]| -> String {
        let o = Command::new(BIN).args(args).arg("--help").output().unwrap();
        assert!(o.status.success(), "kpledger {} --help", args.join(" "));
        String::from_utf8(o.stdout).unwrap()
    };
    let top = Command::new(BIN).arg("help").output().unwrap();
    assert!(top.status.success());
    let mut todo: Vec<Vec<String>> =
        subcommands(&String::from_utf8(top.stdout).unwrap()).into_iter().map(|c| vec![c]).collect();
    let mut found: Vec<(String, String)> =
        examples(&help(&[])).into_iter().map(|e| (String::new(), e)).collect();
    let mut commands = 0;
    while let Some(cmd) = todo.pop() {
        commands += 1;
        let text = help(&cmd);
        for sub in subcommands(&text) {
            let mut c = cmd.clone();
            c.push(sub);
            todo.push(c);
        }
        for ex in examples(&text) {
            found.push((cmd.join(" "), ex));
        }
    }
    assert!(commands >= 40, "the help walk reached {commands} commands");
    assert!(found.len() >= 35, "{} examples found", found.len());

    let mut failures = Vec::new();
    for (i, (cmd, ex)) in found.iter().enumerate() {
        assert!(
            ex.starts_with("kpledger "),
            "`kpledger {cmd} --help`: an example that is not a kpledger command: {ex}"
        );
        let (line, expect) = judge(ex);
        let code = match expect {
            Ok(code) => code,
            Err(reason) => {
                eprintln!("`kpledger {cmd} --help` example not run ({reason}): {line}");
                continue;
            }
        };
        let dir = t.join(format!("example-{i}"));
        copy_dir(&work, &dir);
        // An example that does not end (a server, say) fails here instead of hanging the suite.
        let o = Command::new("timeout")
            .arg("60")
            .arg("bash")
            .arg("-c")
            .arg(&line)
            .current_dir(&dir)
            .env("PATH", &path)
            .env_remove("KPLEDGER_LEDGER")
            .output()
            .unwrap();
        if o.status.code() == Some(124) {
            failures.push(format!(
                "`kpledger {cmd} --help`: {line}\n  did not end within 60 s: an example that runs until stopped says so \
                 with a trailing `(runs until stopped)`"
            ));
        } else if o.status.code() != Some(code) {
            failures.push(format!(
                "`kpledger {cmd} --help`: {line}\n  exit {:?}, expected {code}\n  stdout: {}\n  stderr: {}",
                o.status.code(),
                String::from_utf8_lossy(&o.stdout).lines().take(5).collect::<Vec<_>>().join("\n          "),
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        failures.is_empty(),
        "{} help example(s) do not do what they say:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn readme_transcripts_are_the_real_output() {
    let t = TempDir::new("readme-transcripts");
    let path = path_with_kpledger(t.path());
    let all = blocks(README);
    let mut seen = 0;
    for (i, b) in all.iter().enumerate() {
        let Some(command) = b.body.first().and_then(|l| l.strip_prefix("$ ")) else { continue };
        let shown_as_text = matches!(b.lang.as_str(), "text" | "" | "console");
        if !shown_as_text || (i > 0 && all[i - 1].lang == "sh" && follows(&all[i - 1], b)) {
            continue;
        }
        if let Some(reason) = &b.skip {
            eprintln!("README.md:{}: shell session shown as text, not run {reason}", b.line);
            continue;
        }
        // A shell session shown as text would be neither run nor checked: refused, saying how.
        assert!(
            b.transcript,
            "README.md:{}: this text block shows `$ {command}` but nothing runs it. Write the commands as an sh \
             block followed by a text block of their output (the comment at the top of the README's \
             \"The trade flow, step by step\" gives the conventions), or, for one command that runs alone in \
             an empty directory, put `{TRANSCRIPT_MARKER}` on the line before the block",
            b.line
        );
        seen += 1;
        let command = match command.strip_prefix("cargo run --release -- ") {
            Some(rest) => format!("kpledger {rest}"),
            None => command.to_owned(),
        };
        let dir = t.join(format!("transcript-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let o = Command::new("bash")
            .arg("-c")
            .arg(format!("{command} 2>&1"))
            .current_dir(&dir)
            .env("PATH", &path)
            .env_remove("KPLEDGER_LEDGER")
            .output()
            .unwrap();
        let actual = String::from_utf8_lossy(&o.stdout).into_owned();
        let expected = b.body[1..].join("\n");
        assert!(
            lines_match(&trimmed(&expected), &trimmed(&actual)),
            "README.md:{}: the transcript of `{command}` is not its real output.\n--- shown:\n{expected}\n--- real:\n{actual}",
            b.line
        );
    }
    assert!(seen >= 1, "the README's demo transcript is checked");
}
