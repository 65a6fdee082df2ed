//! A demo ledger copied into a PostgreSQL database of its own, for the tests that edit the
//! database behind kpledger's back (`#[path]`, next to `mod pg_server`).
#![allow(dead_code)]

use std::path::PathBuf;

use kpledger_core::copy::{copy, open_destination, open_source};

/// `kpledger demo` with `parcels` parcels into a fresh temporary directory named after `tag`,
/// copied (every event judged again, the copy verified) into the new database `name` on
/// `server`: the directory (to remove when done) and the database's URL.
pub(crate) fn demo_in_pg(server: &str, tag: &str, parcels: u32, name: &str) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("kpledger-pg-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    kpledger_core::demo::run(&dir, parcels, &mut |_| {}).unwrap();
    let url = crate::pg_server::database(server, name);
    let from = open_source(dir.join("ledger.kpl").to_str().unwrap()).unwrap();
    let to = open_destination(&url).unwrap();
    let copied = copy(&from, to, &mut |_, _| {}).unwrap();
    assert!(copied.report.ok, "{:?}", copied.report.findings);
    (dir, url)
}
