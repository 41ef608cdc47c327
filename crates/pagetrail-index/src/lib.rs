//! The pagetrail indexes: key layouts and mergeable values (roaring bitmaps, counters, reader
//! lists and the detectors' daily digests).
//!
//! Everything here is bytes in, bytes out. The store crate registers [`bitmap::merge`] and
//! [`counters::merge`] as RocksDB merge operators; ingest builds operands with [`keys`];
//! queries decode them.

pub mod bitmap;
pub mod counters;
pub mod digest;
pub mod keys;
pub mod pages;
pub mod readers;

pub use counters::Counters;

/// A stored index value that no version of pagetrail wrote.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IndexError {
    #[error("index value is empty")]
    Empty,
    #[error("unknown index value format {0}")]
    UnknownFormat(u8),
    #[error("index value is truncated or corrupt")]
    Corrupt,
}
