//! Ingest: from log files to committed events, rejects and indexes.
//!
//! [`Ingester`] is the single writer. It reads each source in chunks, parses and classifies
//! every line, and commits a batch (events, rejects, dictionary additions, index operands, page
//! identity and the file's checkpoint) as one atomic RocksDB write, so a crash at any point
//! followed by a re-run leaves what one clean run leaves.

mod accept;
mod catalog;
mod commit;
mod consolidate;
pub mod custody;
pub use catalog::{read_catalog, read_users};
mod format;
mod input;
mod pages;
mod purge;
mod writer;

use std::path::PathBuf;

pub use consolidate::Consolidated;
pub use format::Format;
pub use input::{expand_paths, Opened, Source};
pub use purge::{Purge, Purged};
pub use writer::{Committed, FileOutcome, IngestOptions, Ingester, Progress, Summary, CONTINUED_REASON, CUT_REASON};

/// What stops a source from being ingested. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}: no line matches a known log format")]
    Unrecognized(PathBuf),
    #[error("{0}: no log files in this directory")]
    EmptyDir(PathBuf),
    #[error("{path}: content differs at byte {offset} from what was ingested before as {previous} (a rewritten file?); not ingested")]
    Rewritten { path: PathBuf, previous: String, offset: u64 },
    #[error("{path}: line {line}: {msg}")]
    Catalog { path: PathBuf, line: u64, msg: String },
    #[error("store {0} does not match its hash chain ({1}); nothing was purged: run `pagetrail verify` and keep the store as evidence")]
    Tampered(PathBuf, String),
    #[error("store {0} holds no user named '{1}'")]
    NoSuchUser(PathBuf, String),
    #[error(transparent)]
    Store(#[from] pagetrail_store::StoreError),
    /// The thread of [`Ingester::pipelined`] that writes batches is gone (it panicked).
    #[error("the thread writing batches stopped; the batches before it are committed, the rest are not")]
    CommitThread,
}

pub type Result<T> = std::result::Result<T, IngestError>;
