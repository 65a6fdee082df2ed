//! Support shared by kpledger's tests (a dev-dependency of the workspace's crates, never
//! published): one temporary-directory helper, and the test worlds as data — the standard
//! cast of actors, keys and sites (`cast`), the worlds made of them (`world`) and the
//! standard trade flow, built by one function from a table; payloads written by hand from
//! what a ledger holds (`events`); the HTTP client of the service's tests (`http`).
// Test support: a failed unwrap is a failed test, and the panic says where; a kept
// directory is named on stderr for the person running the test.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

pub mod cast;
pub mod events;
pub mod http;
pub mod regional;
mod tempdir;

pub use regional::{Regional, to_antwerp, to_liberty};
pub use tempdir::TempDir;
