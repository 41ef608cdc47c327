//! Detector configuration: every threshold and window of detections.md §8, plus allow-lists.
//!
//! Counts are thresholds a value must reach (`>=`); where the spec says "> N" the default is
//! N + 1. Scores (z, modified z, ratios) must be exceeded (`>`).

use std::collections::BTreeMap;

use pagetrail_core::time::{parse_instant, DAY_MS};
use pagetrail_core::zone::Zone;
use serde::{Deserialize, Serialize};

use crate::{Detector, Severity};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not TOML, a wrong type, or an unknown key (the message names the key).
    #[error("detector config: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("detector config key `{key}`: {reason}")]
    Invalid { key: String, reason: String },
    #[error("detector config allow entry {index} ({kind} `{value}`): {reason}")]
    Allow { index: usize, kind: &'static str, value: String, reason: String },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), reason: reason.into() }
}

/// One sliding-window volume tier: `min_distinct` distinct items within `window_minutes`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub window_minutes: u32,
    pub min_distinct: u32,
    pub severity: Severity,
}

fn tier(window_minutes: u32, min_distinct: u32, severity: Severity) -> Tier {
    Tier { window_minutes, min_distinct, severity }
}

/// D1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BurstConfig {
    /// Distinct pages read; the first tier reached is the "D1 low tier" other detectors cite.
    pub tiers: Vec<Tier>,
    /// Distinct pages downloaded (attachments) or exported.
    pub attachment: Tier,
}

impl Default for BurstConfig {
    fn default() -> Self {
        BurstConfig {
            tiers: vec![tier(5, 30, Severity::Medium), tier(60, 100, Severity::Medium), tier(15, 500, Severity::High)],
            attachment: tier(60, 11, Severity::Low),
        }
    }
}

/// D2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreadthConfig {
    pub tiers: Vec<Tier>,
}

impl Default for BreadthConfig {
    fn default() -> Self {
        BreadthConfig {
            tiers: vec![tier(30, 6, Severity::Low), tier(30, 10, Severity::Medium), tier(6, 10, Severity::High)],
        }
    }
}

/// D3.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineConfig {
    pub baseline_days: u32,
    pub exclude_days: u32,
    pub min_active_days: u32,
    pub min_baseline_reads: u32,
    pub z: f64,
    pub modified_z: f64,
    pub daily_floor: u32,
    pub hourly_floor: u32,
    /// Severity of an hour over its baseline (a day over its baseline is medium).
    pub hourly_severity: Severity,
    pub cold_start_daily: u32,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            baseline_days: 90,
            exclude_days: 7,
            min_active_days: 14,
            min_baseline_reads: 3,
            z: 3.0,
            modified_z: 3.5,
            daily_floor: 50,
            hourly_floor: 20,
            hourly_severity: Severity::Low,
            cold_start_daily: 100,
        }
    }
}

/// D4.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeerConfig {
    pub min_distinct: u32,
    pub sigmas: f64,
    pub min_population: u32,
    pub min_peers: u32,
    pub peer_baseline_days: u32,
    /// Medium at this many times the threshold; low below.
    pub medium_ratio: f64,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            min_distinct: 51,
            sigmas: 3.0,
            min_population: 10,
            min_peers: 5,
            peer_baseline_days: 90,
            medium_ratio: 1.5,
        }
    }
}

/// D5.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NewSpaceConfig {
    pub lookback_days: u32,
    pub min_new_spaces: u32,
    pub uncommon_fraction: f64,
    pub min_peers: u32,
    pub min_history_days: u32,
}

impl Default for NewSpaceConfig {
    fn default() -> Self {
        NewSpaceConfig {
            lookback_days: 180,
            min_new_spaces: 3,
            uncommon_fraction: 0.10,
            min_peers: 5,
            min_history_days: 14,
        }
    }
}

/// D6.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NewSourceConfig {
    pub ip_lookback_days: u32,
    pub agent_lookback_days: u32,
    pub min_reads: u32,
    pub within_hours: u32,
    pub min_history_days: u32,
}

impl Default for NewSourceConfig {
    fn default() -> Self {
        NewSourceConfig {
            ip_lookback_days: 90,
            agent_lookback_days: 30,
            min_reads: 3,
            within_hours: 24,
            min_history_days: 14,
        }
    }
}

/// D7.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScriptedConfig {
    pub patterns: Vec<String>,
    pub empty_is_scripted: bool,
    pub min_reads_per_day: u32,
    pub unseen_days: u32,
    pub unseen_min_reads_per_day: u32,
}

impl Default for ScriptedConfig {
    fn default() -> Self {
        let patterns = [
            "python-requests",
            "python-urllib",
            "curl",
            "wget",
            "go-http-client",
            "okhttp",
            "apache-httpclient",
            "java/",
            "powershell",
            "node-fetch",
            "axios",
            "trident/7.0",
        ];
        ScriptedConfig {
            patterns: patterns.iter().map(|s| s.to_string()).collect(),
            empty_is_scripted: true,
            min_reads_per_day: 1,
            unseen_days: 13,
            unseen_min_reads_per_day: 6,
        }
    }
}

/// D8.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlConfig {
    pub window_minutes: u32,
    pub min_paged_requests: u32,
    pub min_expand_reads: u32,
    pub expand_markers: Vec<String>,
    pub enumeration_window_minutes: u32,
    pub min_enumerated_spaces: u32,
    pub min_rate_limited: u32,
}

impl Default for CrawlConfig {
    fn default() -> Self {
        CrawlConfig {
            window_minutes: 10,
            min_paged_requests: 5,
            min_expand_reads: 20,
            expand_markers: vec!["body.".into(), "children.".into()],
            enumeration_window_minutes: 60,
            min_enumerated_spaces: 2,
            min_rate_limited: 10,
        }
    }
}

/// D9.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    pub sensitive_window_minutes: u32,
    pub min_sensitive_queries: u32,
    pub volume_window_minutes: u32,
    pub min_queries: u32,
    pub fetch_window_minutes: u32,
    pub min_fetched_pages: u32,
    /// Sensitive queries in the window that, with the fetches, make the alert high.
    pub high_sensitive_queries: u32,
    /// Severity of the sensitive-search tier when it is not high.
    pub sensitive_severity: Severity,
    pub sensitive_terms: Vec<String>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        let terms = [
            "password",
            "passwd",
            "credential",
            "secret",
            "token",
            "api key",
            "api_key",
            "apikey",
            "private key",
            "ssh",
            "vpn",
            "remote access",
            "client-secret",
            "aws",
            "azure",
            "salary",
        ];
        SearchConfig {
            sensitive_window_minutes: 60,
            min_sensitive_queries: 3,
            volume_window_minutes: 10,
            min_queries: 10,
            fetch_window_minutes: 30,
            min_fetched_pages: 10,
            high_sensitive_queries: 5,
            sensitive_severity: Severity::Low,
            sensitive_terms: terms.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// D10.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportConfig {
    pub page_window_minutes: u32,
    pub min_page_exports: u32,
    /// A space export ("info" in the anchors; site exports are high, page-export bursts high).
    pub space_export_severity: Severity,
    pub site_export_paths: Vec<String>,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            page_window_minutes: 60,
            min_page_exports: 5,
            space_export_severity: Severity::Low,
            site_export_paths: vec!["/admin/dobackup.action".into()],
        }
    }
}

/// D11.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivilegedConfig {
    pub learn_from_admin_requests: bool,
    pub history_days: u32,
}

impl Default for PrivilegedConfig {
    fn default() -> Self {
        PrivilegedConfig { learn_from_admin_requests: true, history_days: 90 }
    }
}

/// D12.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OffHoursConfig {
    /// The site's zone: `UTC`, an IANA name (`Europe/Berlin`, daylight saving followed) or a
    /// fixed offset (`+05:30`).
    pub time_zone: String,
    /// Zones of single users (username → zone), overriding `time_zone`.
    pub user_time_zones: BTreeMap<String, String>,
    pub baseline_days: u32,
    pub min_slot_days: u32,
    pub z: f64,
    pub min_baseline_days: u32,
    pub min_inactive_reads: u32,
    /// Inactive-slot reads in a day that alert by volume against that count's own baseline.
    pub min_volume_reads: u32,
    pub business_start_hour: u32,
    pub business_end_hour: u32,
    pub weekend_off: bool,
}

impl Default for OffHoursConfig {
    fn default() -> Self {
        OffHoursConfig {
            time_zone: "UTC".into(),
            user_time_zones: BTreeMap::new(),
            baseline_days: 90,
            min_slot_days: 3,
            z: 3.0,
            min_baseline_days: 14,
            min_inactive_reads: 3,
            min_volume_reads: 50,
            business_start_hour: 7,
            business_end_hour: 20,
            weekend_off: true,
        }
    }
}

/// D14.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DormantConfig {
    pub dormant_days: u32,
    pub recent_days: u32,
}

impl Default for DormantConfig {
    fn default() -> Self {
        DormantConfig { dormant_days: 90, recent_days: 30 }
    }
}

/// D16.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeniedConfig {
    pub window_minutes: u32,
    pub min_denied: u32,
    pub statuses: Vec<u16>,
}

impl Default for DeniedConfig {
    fn default() -> Self {
        DeniedConfig { window_minutes: 10, min_denied: 20, statuses: vec![401, 403, 404] }
    }
}

/// D17.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompositeConfig {
    pub min_score: u32,
    pub min_detectors: u32,
    pub high_score: u32,
    pub high_weight: u32,
    pub high_weight_detectors: Vec<Detector>,
    pub weights: BTreeMap<Detector, u32>,
}

impl Default for CompositeConfig {
    fn default() -> Self {
        use Detector::*;
        let weights = [
            (Burst, 1),
            (SpaceBreadth, 1),
            (Baseline, 2),
            (PeerOutlier, 2),
            (NewSpace, 1),
            (NewSource, 1),
            (ScriptedAgent, 1),
            (ApiCrawl, 1),
            (SearchThenFetch, 2),
            (Export, 1),
            (Privileged, 0),
            (OffHours, 1),
            (Dormant, 1),
            (DeniedProbing, 1),
        ];
        CompositeConfig {
            min_score: 3,
            min_detectors: 2,
            high_score: 5,
            high_weight: 3,
            high_weight_detectors: vec![Burst, ApiCrawl, Export],
            weights: weights.into_iter().collect(),
        }
    }
}

/// Cases: how alerts become ranked cases, and how service accounts are judged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasesConfig {
    /// Weight of one alert by severity.
    pub low_weight: f64,
    pub medium_weight: f64,
    pub high_weight: f64,
    /// Detectors whose alerts add to a case but never open one.
    pub weak: Vec<Detector>,
    /// The least severity of a non-weak alert that opens a case.
    pub open_severity: Severity,
    /// A person's openers further apart than this are separate episodes, so separate cases.
    pub episode_gap_days: u32,
    /// Case severity by score: medium also needs a medium alert, high a high one.
    pub medium_score: f64,
    pub high_score: f64,
    /// Service accounts by username, judged against their own routine.
    pub service_accounts: Vec<String>,
    /// Also recognise accounts that read like machines (see below) as service accounts.
    pub propose_service_accounts: bool,
    /// A proposed service account reads on this share of the days from its first read to its last ...
    pub service_active_share: f64,
    /// ... over at least this many days ...
    pub service_min_days: u32,
    /// ... in at least this many hours of the day (median over its days with reads).
    pub service_min_hours: u32,
    /// A detector that fires on this share of a service account's days with reads is its routine.
    pub routine_share: f64,
    /// A routine alert counts as low and weighs nothing unless it lies this many times further
    /// past its threshold (value / threshold) than the median of that detector's alerts on the account.
    pub routine_factor: f64,
}

impl Default for CasesConfig {
    fn default() -> Self {
        use Detector::*;
        CasesConfig {
            low_weight: 1.0,
            medium_weight: 4.0,
            high_weight: 10.0,
            weak: vec![NewSpace, NewSource, ScriptedAgent, OffHours],
            open_severity: Severity::Medium,
            episode_gap_days: 7,
            medium_score: 6.0,
            high_score: 15.0,
            service_accounts: Vec::new(),
            propose_service_accounts: true,
            service_active_share: 0.9,
            service_min_days: 14,
            service_min_hours: 16,
            routine_share: 0.25,
            routine_factor: 3.0,
        }
    }
}

/// What an allow-list entry matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllowKind {
    /// The username, exactly (case-insensitive).
    User,
    /// A case-insensitive substring of the user agent.
    Agent,
    /// The client address, exactly.
    Ip,
}

impl AllowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AllowKind::User => "user",
            AllowKind::Agent => "agent",
            AllowKind::Ip => "ip",
        }
    }
}

/// A known benign bulk reader (backup tool, indexer, migration account).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    pub kind: AllowKind,
    pub value: String,
    /// Required: an allow-list entry nobody can explain is a hole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `YYYY-MM-DD`: covers activity up to the end of that day (UTC); none = no expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl AllowEntry {
    /// The first instant the entry no longer covers (ms); `i64::MAX` without expiry, `None`
    /// when the date is malformed.
    pub fn covers_until_ms(&self) -> Option<i64> {
        match &self.expires {
            None => Some(i64::MAX),
            Some(d) if d.len() == 10 => parse_instant(d).map(|ms| ms + DAY_MS),
            Some(_) => None,
        }
    }
}

/// Every threshold, window and list the detectors use, with the defaults of detections.md §8.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub dedup_minutes: u32,
    pub burst: BurstConfig,
    #[serde(rename = "space-breadth")]
    pub space_breadth: BreadthConfig,
    pub baseline: BaselineConfig,
    #[serde(rename = "peer-outlier")]
    pub peer_outlier: PeerConfig,
    #[serde(rename = "new-space")]
    pub new_space: NewSpaceConfig,
    #[serde(rename = "new-source")]
    pub new_source: NewSourceConfig,
    #[serde(rename = "scripted-agent")]
    pub scripted_agent: ScriptedConfig,
    #[serde(rename = "api-crawl")]
    pub api_crawl: CrawlConfig,
    #[serde(rename = "search-then-fetch")]
    pub search_then_fetch: SearchConfig,
    pub export: ExportConfig,
    pub privileged: PrivilegedConfig,
    #[serde(rename = "off-hours")]
    pub off_hours: OffHoursConfig,
    pub dormant: DormantConfig,
    #[serde(rename = "denied-probing")]
    pub denied_probing: DeniedConfig,
    pub composite: CompositeConfig,
    pub cases: CasesConfig,
    pub allow: Vec<AllowEntry>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dedup_minutes: 60,
            burst: BurstConfig::default(),
            space_breadth: BreadthConfig::default(),
            baseline: BaselineConfig::default(),
            peer_outlier: PeerConfig::default(),
            new_space: NewSpaceConfig::default(),
            new_source: NewSourceConfig::default(),
            scripted_agent: ScriptedConfig::default(),
            api_crawl: CrawlConfig::default(),
            search_then_fetch: SearchConfig::default(),
            export: ExportConfig::default(),
            privileged: PrivilegedConfig::default(),
            off_hours: OffHoursConfig::default(),
            dormant: DormantConfig::default(),
            denied_probing: DeniedConfig::default(),
            composite: CompositeConfig::default(),
            cases: CasesConfig::default(),
            allow: Vec::new(),
        }
    }
}

const MAX_DAYS: u32 = 3650;
const MAX_MINUTES: u32 = 60 * 24 * 366;

fn at_least_one(key: &str, v: u32) -> Result<(), ConfigError> {
    if v == 0 {
        return Err(invalid(key, "must be at least 1"));
    }
    Ok(())
}

fn minutes(key: &str, v: u32) -> Result<(), ConfigError> {
    at_least_one(key, v)?;
    if v > MAX_MINUTES {
        return Err(invalid(key, format!("at most {MAX_MINUTES} minutes")));
    }
    Ok(())
}

fn days(key: &str, v: u32) -> Result<(), ConfigError> {
    if v > MAX_DAYS {
        return Err(invalid(key, format!("at most {MAX_DAYS} days")));
    }
    Ok(())
}

fn positive(key: &str, v: f64) -> Result<(), ConfigError> {
    if !(v.is_finite() && v > 0.0) {
        return Err(invalid(key, "must be a positive number"));
    }
    Ok(())
}

fn tiers(key: &str, ts: &[Tier]) -> Result<(), ConfigError> {
    for (i, t) in ts.iter().enumerate() {
        minutes(&format!("{key}[{i}].window_minutes"), t.window_minutes)?;
        at_least_one(&format!("{key}[{i}].min_distinct"), t.min_distinct)?;
    }
    Ok(())
}

/// Unknown names are refused by serde already; composite weighs the others, not itself.
fn not_composite(key: &str, d: Detector) -> Result<(), ConfigError> {
    if d == Detector::Composite {
        return Err(invalid(format!("{key}.{d}"), "composite weighs the other 14 detectors, not itself"));
    }
    Ok(())
}

impl Config {
    /// Parses and validates a TOML configuration; keys left out keep their defaults.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks ranges and allow entries (done by [`Config::from_toml`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.dedup_minutes > MAX_MINUTES {
            return Err(invalid("dedup_minutes", format!("at most {MAX_MINUTES} minutes")));
        }
        tiers("burst.tiers", &self.burst.tiers)?;
        tiers("burst.attachment", std::slice::from_ref(&self.burst.attachment))?;
        tiers("space-breadth.tiers", &self.space_breadth.tiers)?;

        let b = &self.baseline;
        at_least_one("baseline.baseline_days", b.baseline_days)?;
        days("baseline.baseline_days", b.baseline_days)?;
        if b.exclude_days >= b.baseline_days {
            return Err(invalid("baseline.exclude_days", "must be less than baseline_days"));
        }
        at_least_one("baseline.min_active_days", b.min_active_days)?;
        positive("baseline.z", b.z)?;
        positive("baseline.modified_z", b.modified_z)?;
        at_least_one("baseline.daily_floor", b.daily_floor)?;
        at_least_one("baseline.hourly_floor", b.hourly_floor)?;
        at_least_one("baseline.cold_start_daily", b.cold_start_daily)?;

        let p = &self.peer_outlier;
        at_least_one("peer-outlier.min_distinct", p.min_distinct)?;
        positive("peer-outlier.sigmas", p.sigmas)?;
        positive("peer-outlier.medium_ratio", p.medium_ratio)?;
        at_least_one("peer-outlier.min_population", p.min_population)?;
        at_least_one("peer-outlier.min_peers", p.min_peers)?;
        days("peer-outlier.peer_baseline_days", p.peer_baseline_days)?;

        let n = &self.new_space;
        at_least_one("new-space.lookback_days", n.lookback_days)?;
        days("new-space.lookback_days", n.lookback_days)?;
        at_least_one("new-space.min_new_spaces", n.min_new_spaces)?;
        if !(n.uncommon_fraction > 0.0 && n.uncommon_fraction <= 1.0) {
            return Err(invalid("new-space.uncommon_fraction", "must be in (0, 1]"));
        }
        at_least_one("new-space.min_peers", n.min_peers)?;
        days("new-space.min_history_days", n.min_history_days)?;

        let s = &self.new_source;
        at_least_one("new-source.ip_lookback_days", s.ip_lookback_days)?;
        days("new-source.ip_lookback_days", s.ip_lookback_days)?;
        at_least_one("new-source.agent_lookback_days", s.agent_lookback_days)?;
        days("new-source.agent_lookback_days", s.agent_lookback_days)?;
        at_least_one("new-source.min_reads", s.min_reads)?;
        at_least_one("new-source.within_hours", s.within_hours)?;
        days("new-source.within_hours", s.within_hours.div_ceil(24))?;
        days("new-source.min_history_days", s.min_history_days)?;

        let a = &self.scripted_agent;
        if a.patterns.iter().any(|p| p.trim().is_empty()) {
            return Err(invalid("scripted-agent.patterns", "patterns must not be empty"));
        }
        at_least_one("scripted-agent.min_reads_per_day", a.min_reads_per_day)?;
        at_least_one("scripted-agent.unseen_days", a.unseen_days)?;
        days("scripted-agent.unseen_days", a.unseen_days)?;
        at_least_one("scripted-agent.unseen_min_reads_per_day", a.unseen_min_reads_per_day)?;

        let c = &self.api_crawl;
        minutes("api-crawl.window_minutes", c.window_minutes)?;
        at_least_one("api-crawl.min_paged_requests", c.min_paged_requests)?;
        at_least_one("api-crawl.min_expand_reads", c.min_expand_reads)?;
        if c.expand_markers.iter().any(|p| p.is_empty()) {
            return Err(invalid("api-crawl.expand_markers", "markers must not be empty"));
        }
        minutes("api-crawl.enumeration_window_minutes", c.enumeration_window_minutes)?;
        at_least_one("api-crawl.min_enumerated_spaces", c.min_enumerated_spaces)?;
        at_least_one("api-crawl.min_rate_limited", c.min_rate_limited)?;

        let q = &self.search_then_fetch;
        minutes("search-then-fetch.sensitive_window_minutes", q.sensitive_window_minutes)?;
        at_least_one("search-then-fetch.min_sensitive_queries", q.min_sensitive_queries)?;
        minutes("search-then-fetch.volume_window_minutes", q.volume_window_minutes)?;
        at_least_one("search-then-fetch.min_queries", q.min_queries)?;
        minutes("search-then-fetch.fetch_window_minutes", q.fetch_window_minutes)?;
        at_least_one("search-then-fetch.min_fetched_pages", q.min_fetched_pages)?;
        if q.sensitive_terms.iter().any(|t| t.trim().is_empty()) {
            return Err(invalid("search-then-fetch.sensitive_terms", "terms must not be empty"));
        }

        let e = &self.export;
        minutes("export.page_window_minutes", e.page_window_minutes)?;
        at_least_one("export.min_page_exports", e.min_page_exports)?;
        if e.site_export_paths.iter().any(|p| p.is_empty()) {
            return Err(invalid("export.site_export_paths", "paths must not be empty"));
        }

        days("privileged.history_days", self.privileged.history_days)?;

        let o = &self.off_hours;
        const ZONE: &str = "must be UTC, an IANA zone such as Europe/Berlin, or an offset such as +05:30";
        // The daily digests count reads per quarter hour: a fixed offset must be whole quarters
        // (every IANA zone's offset has been since the 1970s).
        let quarters = |z: Zone| !matches!(z, Zone::Fixed(off) if off % (15 * 60_000) != 0);
        if !Zone::parse(&o.time_zone).is_some_and(quarters) {
            return Err(invalid("off-hours.time_zone", ZONE));
        }
        for (user, zone) in &o.user_time_zones {
            if !Zone::parse(zone).is_some_and(quarters) {
                return Err(invalid(format!("off-hours.user_time_zones.{user}"), ZONE));
            }
        }
        at_least_one("off-hours.baseline_days", o.baseline_days)?;
        days("off-hours.baseline_days", o.baseline_days)?;
        at_least_one("off-hours.min_slot_days", o.min_slot_days)?;
        positive("off-hours.z", o.z)?;
        at_least_one("off-hours.min_baseline_days", o.min_baseline_days)?;
        at_least_one("off-hours.min_inactive_reads", o.min_inactive_reads)?;
        if o.business_start_hour > o.business_end_hour || o.business_end_hour > 24 {
            return Err(invalid("off-hours.business_end_hour", "business hours must satisfy start <= end <= 24"));
        }

        let d = &self.dormant;
        at_least_one("dormant.dormant_days", d.dormant_days)?;
        days("dormant.dormant_days", d.dormant_days)?;
        at_least_one("dormant.recent_days", d.recent_days)?;
        days("dormant.recent_days", d.recent_days)?;

        minutes("denied-probing.window_minutes", self.denied_probing.window_minutes)?;
        at_least_one("denied-probing.min_denied", self.denied_probing.min_denied)?;

        let k = &self.composite;
        at_least_one("composite.min_score", k.min_score)?;
        at_least_one("composite.min_detectors", k.min_detectors)?;
        for &d in &k.high_weight_detectors {
            not_composite("composite.high_weight_detectors", d)?;
        }
        for &d in k.weights.keys() {
            not_composite("composite.weights", d)?;
        }

        let k = &self.cases;
        for (key, w) in
            [("low_weight", k.low_weight), ("medium_weight", k.medium_weight), ("high_weight", k.high_weight)]
        {
            if !(w.is_finite() && w >= 0.0) {
                return Err(invalid(format!("cases.{key}"), "must be a number >= 0"));
            }
        }
        days("cases.episode_gap_days", k.episode_gap_days)?;
        positive("cases.medium_score", k.medium_score)?;
        positive("cases.high_score", k.high_score)?;
        for (key, v) in [("service_active_share", k.service_active_share), ("routine_share", k.routine_share)] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(invalid(format!("cases.{key}"), "must be in (0, 1]"));
            }
        }
        days("cases.service_min_days", k.service_min_days)?;
        if k.service_min_hours > 24 {
            return Err(invalid("cases.service_min_hours", "at most 24"));
        }
        positive("cases.routine_factor", k.routine_factor)?;
        if k.service_accounts.iter().any(|u| u.trim().is_empty()) {
            return Err(invalid("cases.service_accounts", "names must not be empty"));
        }

        for (index, a) in self.allow.iter().enumerate() {
            let err = |reason: &str| ConfigError::Allow {
                index,
                kind: a.kind.as_str(),
                value: a.value.clone(),
                reason: reason.into(),
            };
            if a.value.trim().is_empty() {
                return Err(err("value is empty"));
            }
            if a.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err(err("has no reason (say why this reader is benign)"));
            }
            if a.covers_until_ms().is_none() {
                return Err(err("expires must be YYYY-MM-DD"));
            }
        }
        Ok(())
    }

    /// The defaults as commented TOML; [`Config::from_toml`] of it equals [`Config::default`].
    pub fn default_toml() -> String {
        DEFAULT_TOML.to_string()
    }
}

/// Free function alias of [`Config::default_toml`].
pub fn default_toml() -> String {
    Config::default_toml()
}

const DEFAULT_TOML: &str = r#"# pagetrail detector configuration (defaults of detections.md §8).
# Counts are reached at ">=" (a spec "> 50" is written 51); scores must be exceeded (">").
# "reads" are view/api_read/download/export events with status 2xx/304 (or none) and a known page.
# Keys left out keep these defaults; unknown keys are an error.

# Alerts of one detector and actor closer than this are merged, the strongest kept.
dedup_minutes = 60

# D1 burst: distinct pages read in a sliding window. The first tier is the "D1 low tier"
# that api-crawl, privileged and dormant refer to. (Sumo S00101; Box; Sentinel 500/15 min)
[burst]
tiers = [
  { window_minutes = 5, min_distinct = 30, severity = "medium" },
  { window_minutes = 60, min_distinct = 100, severity = "medium" },
  { window_minutes = 15, min_distinct = 500, severity = "high" },
]
# Distinct pages downloaded (attachments) or exported: "> 10 in 60 min". (Panther, Chronicle)
attachment = { window_minutes = 60, min_distinct = 11, severity = "low" }

# D2 space breadth: distinct spaces read. "> 5 in 30 min" (Chronicle), ">= 10 in 6 min" high (Elastic).
# Severities calibrated on generated sites: people with nothing planted reach 6 or 7 spaces in
# 30 min on about 1 day in 500, so that tier is low; planted sweeps read 10 or more.
[space-breadth]
tiers = [
  { window_minutes = 30, min_distinct = 6, severity = "low" },
  { window_minutes = 30, min_distinct = 10, severity = "medium" },
  { window_minutes = 6, min_distinct = 10, severity = "high" },
]

# D3 self-baseline: daily and hourly distinct pages against the actor's own trailing
# baseline_days, leaving out the exclude_days before the scored day.
[baseline]
baseline_days = 90
exclude_days = 7
min_active_days = 14        # days with reads needed for a baseline (proposed)
min_baseline_reads = 3      # Panther
z = 3.0                     # (x - mean) / stddev must exceed this
modified_z = 3.5            # 0.6745 (x - median) / MAD must exceed this (Iglewicz & Hoaglin)
daily_floor = 50            # and x must reach the floor (proposed)
hourly_floor = 20
hourly_severity = "low"     # one busy hour is common (generated sites: ~1 per 1,000 user-days); a busy day is medium
cold_start_daily = 100      # no baseline: distinct pages in one UTC day (proposed)

# D4 peer outlier: a day's distinct pages against the other actors active that day, and
# against the actor's peer group (actors whose most-read space over the peer baseline is the same).
[peer-outlier]
min_distinct = 51           # "> 50" (Splunk O365)
sigmas = 3.0                # and above mean + sigmas * stddev of the others
min_population = 10         # other active actors needed for population statistics
min_peers = 5               # other active peers needed for peer statistics
peer_baseline_days = 90     # history used to find the most-read space
medium_ratio = 1.5          # medium at 1.5x the threshold, low below (unplanted days on generated sites peak near 1.45x)

# D5 first-seen spaces: spaces read that the actor had not read in lookback_days.
[new-space]
lookback_days = 180         # Sentinel
min_new_spaces = 3          # per UTC day (proposed)
uncommon_fraction = 0.10    # a new space read by fewer of the actor's peers is uncommon (proposed)
min_peers = 5               # smaller peer groups fall back to the whole population
min_history_days = 14       # actors seen for less time are left to D14

# D6 new source: reads from an address or user-agent family the actor had not used.
[new-source]
ip_lookback_days = 90
agent_lookback_days = 30    # agents compare by family: digits and dots removed, so updates are not new
min_reads = 3
within_hours = 24
min_history_days = 14

# D7 scripted agent (context, low severity: agents are spoofable). Case-insensitive substrings.
[scripted-agent]
patterns = ["python-requests", "python-urllib", "curl", "wget", "go-http-client", "okhttp", "apache-httpclient", "java/", "powershell", "node-fetch", "axios", "trident/7.0"]
empty_is_scripted = true
min_reads_per_day = 1
unseen_days = 13            # or an agent family unseen this long ...
unseen_min_reads_per_day = 6  # ... with more than 5 reads that day

# D8 REST crawl shapes (all proposed).
[api-crawl]
window_minutes = 10
min_paged_requests = 5      # one listing with strictly increasing start=
min_expand_reads = 20       # content GETs whose expand= has a marker
expand_markers = ["body.", "children."]
enumeration_window_minutes = 60
min_enumerated_spaces = 2   # /rest/api/space then listings in this many spaces, with /child/page
min_rate_limited = 10       # HTTP 429 responses

# D9 search then fetch (proposed). Terms match at the start of a word of the decoded query.
[search-then-fetch]
sensitive_window_minutes = 60
min_sensitive_queries = 3
volume_window_minutes = 10
min_queries = 10
fetch_window_minutes = 30   # reads this soon after the searches count as fetched results
min_fetched_pages = 10
high_sensitive_queries = 5  # with the fetches, this many sensitive queries make it high (proposed)
sensitive_severity = "low"  # otherwise: 3 sensitive searches in an hour is an ordinary day for ~1 in 100 generated users
sensitive_terms = ["password", "passwd", "credential", "secret", "token", "api key", "api_key", "apikey", "private key", "ssh", "vpn", "remote access", "client-secret", "aws", "azure", "salary"]

# D10 exports: site export high, always; page exports per window high; a space export is
# reported always, at space_export_severity ("info" in the anchor table, so low).
[export]
page_window_minutes = 60
min_page_exports = 5
space_export_severity = "low"
site_export_paths = ["/admin/dobackup.action"]

# D11 privileged readers: --admins plus users with successful (2xx) /admin/ requests or audit
# records of administration (permission, group, user, app changes). Every D1 low-tier crossing by
# such an account is high; a learned admin counts from the first such action on.
[privileged]
learn_from_admin_requests = true
history_days = 90           # history to supply so that /admin/ requests can be seen

# D12 hour-of-week in the actor's time zone. A slot (weekday, hour) is active when read on at
# least min_slot_days days of baseline_days; a day alerts when its inactive-slot read ratio
# exceeds mean + z * stddev of the actor's earlier days. Without a baseline, reads outside
# business hours. Zones: "UTC", an IANA name ("Europe/Berlin", daylight saving followed) or an
# offset in whole quarter hours ("+05:30").
[off-hours]
time_zone = "UTC"
user_time_zones = {}        # per user, overriding time_zone: { jsmith = "America/New_York" }
baseline_days = 90
min_slot_days = 3
z = 3.0
min_baseline_days = 14
min_inactive_reads = 3
min_volume_reads = 50       # or: this many inactive-slot reads in a day, beyond mean + z·stddev of that count (proposed)
business_start_hour = 7
business_end_hour = 20
weekend_off = true

# D14 dormant or new account crossing the D1 low tier within recent_days of coming back.
[dormant]
dormant_days = 90
recent_days = 30

# D16 denied probing: 401/403/404 on content requests.
[denied-probing]
window_minutes = 10
min_denied = 20
statuses = [401, 403, 404]

# D17 composite per actor and UTC day: score = sum of the weights of the detectors that fired;
# detectors in high_weight_detectors count high_weight when they fired at high severity.
[composite]
min_score = 3
min_detectors = 2           # detectors with weight > 0
high_score = 5              # high at this score when a part is high; else low (cases rank the rest)
high_weight = 3
high_weight_detectors = ["burst", "api-crawl", "export"]

[composite.weights]
burst = 1
space-breadth = 1
baseline = 2
peer-outlier = 2
new-space = 1
new-source = 1
scripted-agent = 1
api-crawl = 1
search-then-fetch = 2
export = 1
privileged = 0
off-hours = 1
dormant = 1
denied-probing = 1

# Cases: what `detect` shows by default. Alerts of one person (one address for anonymous reads)
# group into cases, one per episode; a case's score adds its alerts' weights, the k-th strongest
# alert of one detector counting 1/k of its weight, so that many repeats of one signal do not
# outweigh several detectors agreeing. Composite alerts summarise the others and weigh nothing.
# The weights make one high alert outrank two medium ones of different detectors, and a medium
# one outrank three weak signals. Chosen on generated sites with planted incidents (seed 42,
# 300 users x 120 days and 1,500 x 60), checked on seed 7: every planted person in the top 10.
[cases]
low_weight = 1.0
medium_weight = 4.0
high_weight = 10.0
weak = ["new-space", "new-source", "scripted-agent", "off-hours"]  # add to a case, never open one
open_severity = "medium"    # the least severity of another detector's alert that opens a case
episode_gap_days = 7        # openers further apart are separate cases
medium_score = 6.0          # and a medium or high alert: a medium alert with two weak signals, or two medium
high_score = 15.0           # and a high alert: a high alert with another medium one, or two high
# Service accounts are judged against their own routine: a detector that fires on at least
# routine_share of the account's days with reads is routine: its alerts count as low and weigh
# nothing, unless one lies routine_factor times further past its threshold (value / threshold)
# than the median of that detector's alerts on the account. Such a departure keeps its severity.
service_accounts = []       # usernames, e.g. ["svc-integration"]
propose_service_accounts = true  # also accounts that read like machines:
service_active_share = 0.9  # reads on this share of the days from first read to last,
service_min_days = 14       # over at least this many days,
service_min_hours = 16      # in at least this many hours a day (median)
routine_share = 0.25
routine_factor = 3.0

# Allow-list: known benign bulk readers. Their alerts are suppressed for activity up to the end of
# the expiry day (UTC). A reason is required. kind = "user" (exact), "agent" (substring), "ip" (exact).
# [[allow]]
# kind = "agent"
# value = "confluence-backup-bot"
# reason = "nightly backup, ticket OPS-123"
# expires = "2026-12-31"
"#;
