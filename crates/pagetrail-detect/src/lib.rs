//! Explainable detectors of Confluence collection behaviour (MITRE ATT&CK T1213.001).
//!
//! The crate is pure: no store and no IO besides parsing a TOML string. The caller feeds one
//! user's events at a time to an [`Engine`] ([`Engine::add_user`]) and collects a [`Detection`]
//! from [`Engine::finish`]: every [`Alert`], and the [`Case`]s they group into (one per person
//! and episode, ranked by score, each saying why), with the service accounts it recognised. Every alert says what was counted, which threshold and baseline it crossed,
//! a few example pages, and the source file and line of its first and last event, so an analyst
//! can check it against the raw logs.
//!
//! Detector names and the alert JSON shape are contract.md §6; the specs and default thresholds
//! are detections.md §8 (D1–D17; D13 token reads and D15 anonymous exposure need data the logs do
//! not carry and are not implemented). How each spec is read where our data differs is written
//! on the detector's function and in [`Config::default_toml`].
//!
//! How the specs are read where our data differs from detections.md §8:
//!
//! - Actor = username; the anonymous user `-` is one actor per client address (its alerts keep
//!   `user: "-"` and carry the address in `evidence.notes["ip"]`). No tokens or sessions exist.
//! - "D1 low tier" = any D1 read tier crossed; api-crawl, privileged and dormant build on it.
//! - Peer group = actors whose most-read space before the window is the same (fallback: all).
//! - D9 cannot see result lists: reads within `fetch_window_minutes` after the searches count
//!   as fetched results.
//! - D12 works in the site's zone or the user's (`[off-hours] time_zone`, `user_time_zones`);
//!   without a baseline it falls back to business hours.
//! - Allow-list entries cover activity up to the end of their expiry day: user entries suppress
//!   alerts, agent and address entries remove those events before detection.
//!
//! History (the days before the window that baselines and first-seen tests look at) is one
//! digest per UTC day ([`HistoryDay`]): the caller may pass the stored digests with
//! [`Engine::add_user_digests`], or events with [`Engine::add_user`], which digests them itself.
//! Either way the same detector code runs and the alerts are the same. Because digests are whole
//! UTC days, the history starts at a midnight ([`Engine::history_from_ms`]).
//!
//! Memory stays O(actors × days): each user's events are scanned and dropped inside `add_user`;
//! only daily counts, first-seen facts and drafted alerts are kept for the population detectors.
//! Ids are used throughout; [`Names`] is asked for text only to build evidence or to classify an
//! agent or request id once.

use std::collections::BTreeMap;

use pagetrail_core::time::format_rfc3339;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

mod actor;
mod cases;
mod config;
mod days;
mod detector;
mod engine;
mod fasthash;
mod history;
mod novelty;
mod requests;
mod stats;
mod volume;
mod window;

#[cfg(test)]
mod tests;

pub use cases::{Case, Detection, Part, ServiceAccount};
pub use config::{
    default_toml, AllowEntry, AllowKind, BaselineConfig, BreadthConfig, BurstConfig, CasesConfig, CompositeConfig,
    Config, ConfigError, CrawlConfig, DeniedConfig, DormantConfig, ExportConfig, NewSourceConfig, NewSpaceConfig,
    OffHoursConfig, PeerConfig, PrivilegedConfig, ScriptedConfig, SearchConfig, Tier,
};
pub use detector::{Detector, DetectorSet, UnknownDetector};
pub use engine::Engine;
pub use history::HistoryDay;

/// One stored event, by ids. Strings are looked up through [`Names`] only when needed (evidence,
/// agent and search matching).
#[derive(Clone, Debug)]
pub struct DetectEvent {
    /// UTC milliseconds.
    pub ts_ms: i64,
    pub action: pagetrail_core::Action,
    /// Canonical page id, 0 = none (two events with the same page id are the same page).
    pub page: u32,
    /// Space id, 0 = unknown.
    pub space: u32,
    /// HTTP status, 0 = the source records none.
    pub status: u16,
    pub bytes: u64,
    /// Ids into [`Names`]; 0 = none.
    pub ip: u32,
    pub agent: u32,
    /// Path and query of the request.
    pub request: u32,
    /// Source file id.
    pub file: u32,
    /// Source line.
    pub line: u64,
}

/// Resolves ids to text. Calls may cost a lookup: the engine calls it once per id it needs.
pub trait Names {
    /// e.g. "ENG/Deploy Runbook" or "page 1234567".
    fn page(&self, id: u32) -> String;
    /// The space key.
    fn space(&self, id: u32) -> String;
    fn ip(&self, id: u32) -> String;
    fn agent(&self, id: u32) -> String;
    /// (path, query) as logged.
    fn request(&self, id: u32) -> (String, String);
    fn file(&self, id: u32) -> String;
}

/// One user's events, sorted by ts, covering `[history_from_ms, window.to_ms)`.
#[derive(Clone, Debug)]
pub struct UserEvents {
    pub user: String,
    pub events: Vec<DetectEvent>,
}

/// How urgent an alert is; `High` is the greatest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// The statistics an alert was measured against.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Baseline {
    /// "mean/stddev" or "median/MAD" (the actor's own history), "population mean/stddev" or
    /// "peer mean/stddev" (other actors on the same day).
    pub method: String,
    pub center: f64,
    pub spread: f64,
    /// Days the statistics rest on (active days of the actor, or 1 for a one-day population).
    pub days: u32,
}

/// What an alert rests on.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Evidence {
    /// What was counted (`distinct_pages`, `reads`, `window_minutes`, ...).
    pub counts: BTreeMap<String, u64>,
    pub baseline: Option<Baseline>,
    /// Up to 5 pages, as [`Names::page`] gives them.
    pub example_pages: Vec<String>,
    /// (file name, line) of the first and last event of the evidence.
    pub first_source: (String, u64),
    pub last_source: (String, u64),
    /// Facts that are text, not counts: the anonymous actor's `ip`, a `new_ip` or `agent`, the
    /// listing `path` of a crawl, sample search `queries`. Empty for most alerts.
    pub notes: BTreeMap<String, String>,
}

/// One detector hit.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub detector: Detector,
    /// The username; `-` for anonymous actors (their address is `evidence.notes["ip"]`).
    pub user: String,
    pub severity: Severity,
    /// First and last event of the evidence, UTC ms.
    pub start_ms: i64,
    pub end_ms: i64,
    /// The observed value and the threshold it crossed.
    pub value: f64,
    pub threshold: f64,
    pub evidence: Evidence,
}

/// The detection window: alerts lie in `[from_ms, to_ms)`; earlier events only feed baselines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

struct Source<'a>(&'a (String, u64));

impl Serialize for Source<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Source", 2)?;
        st.serialize_field("file", &self.0 .0)?;
        st.serialize_field("line", &self.0 .1)?;
        st.end()
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Evidence", 6)?;
        st.serialize_field("counts", &self.counts)?;
        st.serialize_field("baseline", &self.baseline)?;
        st.serialize_field("example_pages", &self.example_pages)?;
        // Contract §4 writes sources as {"file","line"}.
        st.serialize_field("first_source", &Source(&self.first_source))?;
        st.serialize_field("last_source", &Source(&self.last_source))?;
        st.serialize_field("notes", &self.notes)?;
        st.end()
    }
}

/// The contract §6 shape: `{"detector","user","severity","start","end","value","threshold","evidence"}`
/// with `start`/`end` in RFC 3339 UTC.
impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Alert", 8)?;
        st.serialize_field("detector", &self.detector)?;
        st.serialize_field("user", &self.user)?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("start", &format_rfc3339(self.start_ms))?;
        st.serialize_field("end", &format_rfc3339(self.end_ms))?;
        st.serialize_field("value", &self.value)?;
        st.serialize_field("threshold", &self.threshold)?;
        st.serialize_field("evidence", &self.evidence)?;
        st.end()
    }
}
