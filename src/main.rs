//! `roster`: the Roster server (`roster serve`) and its command-line client
//! (`roster <noun> <verb>`) in one binary.
//!
//! This file only parses the command line, starts the async runtime and
//! turns the outcome into an exit status: 0 on success, 1 with one
//! `error: <reason>` line on stderr on failure, 2 for usage errors (clap).
//! The commands live in [`cli`].

mod cli;

use clap::Parser;
use std::io::{self, Write};
use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: the server allocates small,
/// short-lived buffers on every request from many threads, and releases
/// argon2's large blocks back to the system (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    match runtime.block_on(cli::commands::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(err: &anyhow::Error) -> ExitCode {
    // `roster users list | head -1`: the reader went away; that is not a
    // failure worth a message.
    let broken_pipe = err
        .chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe);
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    let _ = writeln!(
        io::stderr().lock(),
        "error: {}",
        cli::commands::error_line(err)
    );
    ExitCode::FAILURE
}
