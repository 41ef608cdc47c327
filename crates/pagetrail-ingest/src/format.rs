//! What shape a source is: a Tomcat access-log variant or another Confluence source, from its
//! name and its first lines.

use pagetrail_core::sources::{self, SourceFormat};
use pagetrail_core::Variant;

/// The shape of a source file: a Tomcat access log, or another Confluence source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Tomcat(Variant),
    Source(SourceFormat),
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Tomcat(v) => v.name(),
            Format::Source(f) => f.name(),
        }
    }

    /// `tomcat-a`, `tomcat-b`, `tomcat-c`, `accesslogfilter`, `dc-audit`, `dc-audit-rest`,
    /// `cloud-audit`, `org-audit` or `jsonl`.
    pub fn from_name(s: &str) -> Option<Format> {
        Variant::from_name(s).map(Format::Tomcat).or_else(|| SourceFormat::from_name(s).map(Format::Source))
    }

    /// JSON exports may be whole-file arrays or pretty-printed pages rather than one record a line.
    pub(crate) fn is_json(self) -> bool {
        matches!(self, Format::Source(f) if f != SourceFormat::AccessLogFilter)
    }
}

/// Detects the shape from the file name and the first lines of the content: a Tomcat variant
/// first, then the other Confluence sources.
pub(crate) fn detect(name: &str, buf: &[u8]) -> Option<Format> {
    // The application log holds AccessLogFilter lines among everything else, often after
    // pages of startup messages: look through the whole first chunk for one.
    let app_log = name.rsplit(['/', '\\']).next().unwrap_or(name).starts_with("atlassian-confluence");
    let lines: Vec<&str> = buf
        .split(|&b| b == b'\n')
        .take(if app_log { usize::MAX } else { 64 })
        .filter_map(|l| std::str::from_utf8(l).ok())
        .filter(|l| !l.trim().is_empty())
        .collect();
    pagetrail_core::detect_variant(lines.iter().take(64).copied())
        .map(Format::Tomcat)
        .or_else(|| sources::detect(name, &lines).map(Format::Source))
}

/// Whether a JSON source is one array or pretty-printed document rather than a record a line.
pub(crate) fn whole_file_json(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(1 << 16)]);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('[') {
        return true;
    }
    // A record a line has a complete object on its first line.
    let first = t.lines().next().unwrap_or("").trim_end();
    t.starts_with('{') && !(first.starts_with('{') && first.ends_with('}'))
}
