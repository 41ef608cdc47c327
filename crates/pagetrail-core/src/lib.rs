//! The pagetrail data model: what a Confluence log line means, with no IO.
//!
//! Everything here is pure: parsing a line, classifying a request, converting times,
//! deciding what a read is. The store, ingest and query crates build on it.

pub mod action;
pub mod catalog;
pub mod classify;
pub mod event;
pub mod sources;
pub mod time;
pub mod tomcat;
pub mod url;
pub mod varint;
pub mod zone;

pub use action::Action;
pub use classify::{classify, Classified, ContextPath};
pub use event::{is_read, PageRef, Record};
pub use tomcat::{detect_variant, parse_line, ParseError, Variant};
