//! End-to-end tests of pagetrail, run with `cargo test --release --workspace`.

mod chain;
mod cli;
mod crash;
mod custody;
mod detect;
mod evidence;
mod fixture;
mod handoff;
mod idempotence;
mod lake;
mod purge;
mod recount;
mod reparse;
mod report;
mod samples;
mod sources;
mod watch;
