//! The `kpledger` binary: the only place that talks to the terminal and decides exit codes.
//!
//! Exit codes (stable; README.md, Reference): 0 success or verified (warnings allowed); 1
//! verification ran and found at least one error, or the rules refused an event; 2 could
//! not run (usage, unreadable or invalid input, not a ledger, locked, newer schema).
#![forbid(unsafe_code)]
// The binary is where output happens.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod bench;
mod commands;
mod render;

use std::process::ExitCode;

use clap::Parser;

/// Events are parsed on every core and freed on the thread that judges them in order;
/// mimalloc frees across threads without contending on a lock (glibc's malloc does not).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code: success.
pub(crate) const OK: u8 = 0;
/// Exit code: verification found an error, or an event was refused.
pub(crate) const FOUND: u8 = 1;
/// Exit code: could not run.
pub(crate) const CANNOT_RUN: u8 = 2;

fn main() -> ExitCode {
    // Output commands stop quietly when the reader goes away (`kpledger parcel history … |
    // head -1`), as Unix tools do: the default action of SIGPIPE ends the process, where Rust's
    // runtime would ignore the signal and make the next `println!` panic. Writes to the ledger
    // are transactions, so ending mid-output never leaves half an append.
    sigpipe::reset();
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { CANNOT_RUN } else { OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match commands::run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::from(OK);
            }
            eprintln!("kpledger: error: {}", render::terminal_safe(&format!("{err:#}")));
            ExitCode::from(CANNOT_RUN)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
