//! End-to-end tests of the kpledger binary: each test runs the real program
//! (`CARGO_BIN_EXE_kpledger`) in a directory of its own and checks exit codes (README.md, Reference:
//! 0 ok or verified, 1 verification found an error or the rules refused an event, 2 could not
//! run), output and the ledger file.
//!
//! - `flow`: a whole trade, mine to sealed export lot, through the CLI, with openssl keys;
//! - `refusal`: events the rules refuse leave the ledger as it was;
//! - `bad_input`: unreadable, invalid, locked, newer or foreign files give exit 2 and a clear
//!   message, never a panic;
//! - `demo`: the demo contract, and tampering with any cell of a ledger is detected;
//! - `epcis`: EPCIS 2.0 export and cross-check;
//! - `ids`: the same event numbers in ledger and bundle outputs; parcel ids and event hashes
//!   typed as unique prefixes;
//! - `log`: checkpoints, witnesses (a refused fork), cosignatures and proofs;
//! - `crash`: ingest killed with SIGKILL at random moments loses no acknowledged event and
//!   leaves no partial one (`docs/stress.sh` runs it many more times);
//! - `concurrency`: two writer processes and several readers on one ledger: no lost or forked
//!   events, a bounded wait and a clear "locked", readers never see half an event;
//! - `importer`: an importing authority's work: `policy new`, `certificate import --bundle`
//!   (verified under the trust policy, or nothing recorded) and `--foreign`, `transit`;
//! - `hostile`: the hostile-input corpus of `fixtures/hostile/`, data-driven from its
//!   `expect.json`;
//! - `backends`: `ledger copy` into an empty store gives the same events, checkpoints, rows and
//!   bundles, and stops at a forged event;
//! - `bench`: `kpledger bench` on a small ledger prints JSON matching its schema (figures are
//!   not asserted: timing belongs to the benchmark);
//! - `card`: parcel cards: an offline handover, split, merge, valuation and seal signed from
//!   cards only; altered, untrusted and stale cards refused;
//! - `messages`: mistakes a person makes are answered with what to do (witness names, proofs,
//!   actor ids, decimal commas, verify's flags, DB-1 values);
//! - `readme`: the README's shell blocks run in order in an empty directory and print what it
//!   shows; every `Example:` of the `--help` texts exits as it says;
//! - `pipes`: output commands into a closed pipe stop quietly, never panic;
//! - `witness_net`: witnesses over the network (C2SP tlog-witness): three `witness serve`
//!   processes and `log witness` as the log grows, every status code from a real request, a
//!   fork, a rollback and a lying `old` refused, witnesses killed with SIGKILL mid-request;
//! - `standalone`: no file names a document outside the repository;
//! - `memory`: hostile inputs of 16 MiB (millions of empty objects as bundle events, JSONL
//!   lines or values) are refused in bounded memory, measured with GNU time;
//! - `schema`: a ledger whose SQLite schema was edited (triggers, views, constraints dropped,
//!   hidden tables) is refused by every command; an index that disagrees with its table is
//!   caught by `verify --ledger`;
//! - `serve`: `kpledger serve` on 127.0.0.1 port 0: a trade signed by separate client processes
//!   and posted with `kpledger submit`, a bundle fetched over HTTP verified offline, `log tiles`
//!   equal to the served tiles, SIGKILL during a bounded load losing no acknowledged event;
//! - `s3`: `log tiles --out s3://…` to an S3-compatible server on loopback: the objects read
//!   back verify against the checkpoint; other bytes in place, or a newer checkpoint, refused;
//! - `remote`: `--server URL` on the commands that read or sign against a ledger: a dealer with
//!   only its key file hands over, splits and merges against `kpledger serve`; refusals (401, 403,
//!   422, a stale offer, an unreachable server) are said plainly; the server's file verifies;
//! - `report`: `stats`, `report --html`, `graph`, red flags in `verify`; the demo's report in
//!   headless Chromium (screenshot at target/report/demo-report.png).
//!
//! One test binary (as in ripgrep); the modules live in tests/e2e/.
// Tests: a panic with a message is the failure report, so unwrapping is fine here; and a
// test may tell the person running it where it kept its files.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

#[macro_use]
#[path = "e2e/util.rs"]
mod util;

#[path = "e2e/backends.rs"]
mod backends;
#[path = "e2e/bad_input.rs"]
mod bad_input;
#[path = "e2e/bench.rs"]
mod bench;
#[path = "e2e/card.rs"]
mod card;
#[path = "e2e/concurrency.rs"]
mod concurrency;
#[path = "e2e/crash.rs"]
mod crash;
#[path = "e2e/demo.rs"]
mod demo;
#[path = "e2e/epcis.rs"]
mod epcis;
#[path = "e2e/flow.rs"]
mod flow;
#[path = "e2e/hostile.rs"]
mod hostile;
#[path = "e2e/ids.rs"]
mod ids;
#[path = "e2e/importer.rs"]
mod importer;
#[path = "e2e/log.rs"]
mod log;
#[path = "e2e/memory.rs"]
mod memory;
#[path = "e2e/messages.rs"]
mod messages;
#[path = "e2e/pipes.rs"]
mod pipes;
#[path = "e2e/readme.rs"]
mod readme;
#[path = "e2e/redteam.rs"]
mod redteam;
#[path = "e2e/redteam2.rs"]
mod redteam2;
#[path = "e2e/redteam3.rs"]
mod redteam3;
#[path = "e2e/refusal.rs"]
mod refusal;
#[path = "e2e/remote.rs"]
mod remote;
#[path = "e2e/report.rs"]
mod report;
#[path = "e2e/s3.rs"]
mod s3;
#[path = "e2e/schema.rs"]
mod schema;
#[path = "e2e/serve.rs"]
mod serve;
#[path = "e2e/standalone.rs"]
mod standalone;
#[path = "e2e/witness_net.rs"]
mod witness_net;
