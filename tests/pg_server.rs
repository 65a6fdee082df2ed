//! A PostgreSQL server for the tests, shared by the core and end-to-end tests (`#[path]`):
//! `.ci/run` starts one on loopback and exports `KPLEDGER_TEST_PG_URL` (a role that may create
//! databases) with `KPLEDGER_REQUIRE_PG=1`, so that CI fails without it; elsewhere, without the
//! variable, a test says it was skipped and passes.
#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

/// The server's URL, or `None`: the test is skipped.
pub fn server() -> Option<String> {
    match std::env::var("KPLEDGER_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var_os("KPLEDGER_REQUIRE_PG").is_some_and(|v| v == "1") {
                panic!(
                    "KPLEDGER_TEST_PG_URL is not set, and KPLEDGER_REQUIRE_PG=1: run the tests through .ci/run, \
                     or start the services with .ci/services.sh"
                );
            }
            eprintln!("skipped: no PostgreSQL (KPLEDGER_TEST_PG_URL); .ci/run starts one");
            None
        }
    }
}

/// A new, empty database of its own, named after the test; its URL.
pub fn database(server: &str, tag: &str) -> String {
    let name = format!("kpl_{tag}_{}", std::process::id());
    let mut admin = postgres::Client::connect(server, postgres::NoTls).unwrap();
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
