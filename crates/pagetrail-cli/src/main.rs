//! `pagetrail`: the command line over ingest, store and queries (contract §4).

mod cells;
mod cli;
mod demo;
mod export;
mod output;
mod report;
mod rows;
mod run;
mod watch;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match run::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `pagetrail events | head` closes the pipe: that is success, not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let msg = e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ");
            eprintln!("pagetrail: error: {}", msg.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
