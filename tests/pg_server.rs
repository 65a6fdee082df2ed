//! The services of the tests (a PostgreSQL server, an S3-compatible server), shared by the core
//! and end-to-end tests (`#[path]`): `.ci/run` starts them on loopback and exports their URLs
//! (`KPLEDGER_TEST_PG_URL`: a role that may create databases; `KPLEDGER_TEST_S3_URL`) with
//! `KPLEDGER_REQUIRE_PG=1` and `KPLEDGER_REQUIRE_S3=1`, so that CI fails without them;
//! elsewhere, without the variables, a test says it was skipped and passes.
#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

/// The URL in `var`, or `None`: the test is skipped (and says so), unless `require` is `1`.
pub fn service(var: &str, require: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var_os(require).is_some_and(|v| v == "1") {
                panic!(
                    "{var} is not set, and {require}=1: run the tests through .ci/run, or start the services \
                     with .ci/services.sh"
                );
            }
            eprintln!("skipped: no {what} ({var}); .ci/run starts one");
            None
        }
    }
}

/// The PostgreSQL server's URL, or `None`: the test is skipped.
pub fn server() -> Option<String> {
    service("KPLEDGER_TEST_PG_URL", "KPLEDGER_REQUIRE_PG", "PostgreSQL")
}

/// A new, empty database of its own, named after the test; its URL.
pub fn database(server: &str, tag: &str) -> String {
    let tag: String =
        tag.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let name = format!("kpl_{tag}_{}", std::process::id());
    let mut admin = postgres::Client::connect(server, postgres::NoTls).unwrap();
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
