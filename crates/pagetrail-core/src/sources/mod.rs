//! Every Confluence log source other than the Tomcat access log, parsed into one normalized event.
//!
//! Formats (confluence-logs.md §2–§4, §7): `AccessLogFilter` lines of `atlassian-confluence.log`,
//! the DC audit file and its REST export, the Cloud audit export, the organization (Guard) audit
//! log, and JSON Lines in the shape `pagetrail events --format json` prints.
//!
//! The caller reads files; everything here works on one line (or one exported page) at a time.
//! JSON exports come either one record per line, or as pages: a whole-file array
//! ([`split_json_array`]) or an envelope such as `{"data":[…]}`, `{"entities":[…]}` or
//! `{"results":[…]}` ([`is_page`], [`split_page`], [`split_org_page`]). [`parse_line`] returns
//! `Ok(None)` for an envelope, so split those first.
//!
//! Actors: access logs name a username, DC audit a user key, Cloud and Guard an account id
//! (contract §5a joins them). An audit record without an author becomes `UserKey("-3")`,
//! Atlassian's "Unknown" author; the DC built-ins `-1` (System) and `-3` (Unknown) stay user keys.

mod accesslogfilter;
mod cloud_audit;
mod dc_audit;
mod json;
mod jsonl;
mod org_audit;
mod tinylink;

pub use json::{is_page, split_json_array, split_org_page, split_page};
pub use jsonl::to_json_line;
pub use org_audit::OrgActionMap;
pub use tinylink::{tiny_link_code, tiny_link_page_id};

use crate::{Action, ContextPath, PageRef};

/// How an event names its actor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Actor {
    /// An access-log username, case-folded (contract §1).
    Username(String),
    /// A DC user key (audit `author.id`), as logged.
    UserKey(String),
    /// A Cloud account id, as logged.
    AccountId(String),
    Anonymous,
}

impl Actor {
    /// The name an event stands under until a user directory maps it: `-` for anonymous.
    pub fn as_str(&self) -> &str {
        match self {
            Actor::Username(s) | Actor::UserKey(s) | Actor::AccountId(s) => s,
            Actor::Anonymous => "-",
        }
    }
}

/// A normalized event from any non-Tomcat source: the fields of contract §1 plus what the source adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEvent {
    /// UTC milliseconds.
    pub ts_ms: i64,
    pub actor: Actor,
    pub display_name: Option<String>,
    pub action: Action,
    pub page_id: Option<u64>,
    /// Space key (never a space's display name: that goes to `extra` as `space_name`).
    pub space: Option<String>,
    pub title: Option<String>,
    /// File name for downloads.
    pub attachment: Option<String>,
    /// 0 = not recorded.
    pub status: u16,
    pub bytes: u64,
    pub duration_ms: u32,
    pub ip: String,
    pub user_agent: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub referer: String,
    /// The source's own fields worth keeping (audit action key, category, node, search query, ...).
    pub extra: Vec<(String, String)>,
}

impl SourceEvent {
    /// An event with only the mandatory fields; the rest empty.
    pub fn new(ts_ms: i64, actor: Actor, action: Action) -> Self {
        SourceEvent {
            ts_ms,
            actor,
            display_name: None,
            action,
            page_id: None,
            space: None,
            title: None,
            attachment: None,
            status: 0,
            bytes: 0,
            duration_ms: 0,
            ip: String::new(),
            user_agent: String::new(),
            method: String::new(),
            path: String::new(),
            query: String::new(),
            referer: String::new(),
            extra: Vec::new(),
        }
    }

    /// The page identity: the id when known, else (space, title).
    pub fn page_ref(&self) -> Option<PageRef> {
        if let Some(id) = self.page_id {
            return Some(PageRef::Id(id));
        }
        match (&self.space, &self.title) {
            (Some(s), Some(t)) => Some(PageRef::Titled { space: s.clone(), title: t.clone() }),
            _ => None,
        }
    }

    /// Contract §3; sources without a status count their content events.
    pub fn is_read(&self) -> bool {
        crate::is_read(self.action, self.status, self.page_ref().is_some())
    }

    /// The first `extra` value under `key`.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Adds a field; a key seen before gets a numbered twin (`object.group.2`), so stored
    /// `extra` objects never repeat a key (a JSON reader would keep only the last).
    fn push_extra(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        if value.is_empty() {
            return;
        }
        let mut name = key.to_owned();
        let mut n = 1;
        while self.extra.iter().any(|(k, _)| *k == name) {
            n += 1;
            name = format!("{key}.{n}");
        }
        self.extra.push((name, value));
    }
}

/// The class of an audit record that is not content: logins and logouts are `auth`, every other
/// record (permissions, users, groups, apps, settings, imports, audit searches, ...) `admin`
/// (contract §2). Audit records are never noise. `names` are the record's action key and summary.
pub(crate) fn audit_class(names: &[&str]) -> Action {
    const AUTH: [&str; 12] = [
        "login",
        "logout",
        "logged in",
        "logged out",
        "logged.in",
        "logged.out",
        "logged_in",
        "logged_out",
        "log in",
        "log out",
        "signin",
        "signout",
    ];
    let auth = names.iter().any(|n| {
        let n = n.to_ascii_lowercase().replace("sign in", "signin").replace("sign out", "signout");
        AUTH.iter().any(|a| n.contains(a)) && !n.contains("setting") && !n.contains("config")
    });
    if auth {
        Action::Auth
    } else {
        Action::Admin
    }
}

/// `from -> to` of a changed value; a side that is absent is left out.
pub(crate) fn change_text(from: &str, to: &str) -> String {
    match (from.is_empty(), to.is_empty()) {
        (true, _) => to.to_owned(),
        (false, true) => format!("{from} -> (none)"),
        (false, false) => format!("{from} -> {to}"),
    }
}

/// The formats of this module. Names are stable (`--source-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    AccessLogFilter,
    DcAudit,
    DcAuditRest,
    CloudAudit,
    OrgAudit,
    Jsonl,
}

impl SourceFormat {
    pub const ALL: [SourceFormat; 6] = [
        SourceFormat::AccessLogFilter,
        SourceFormat::DcAudit,
        SourceFormat::DcAuditRest,
        SourceFormat::CloudAudit,
        SourceFormat::OrgAudit,
        SourceFormat::Jsonl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::AccessLogFilter => "accesslogfilter",
            SourceFormat::DcAudit => "dc-audit",
            SourceFormat::DcAuditRest => "dc-audit-rest",
            SourceFormat::CloudAudit => "cloud-audit",
            SourceFormat::OrgAudit => "org-audit",
            SourceFormat::Jsonl => "jsonl",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        SourceFormat::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// What a parser needs beyond the line.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// The server's zone; required for AccessLogFilter, whose timestamps have none.
    pub tz: Option<chrono_tz::Tz>,
    pub context_path: ContextPath,
    /// Org audit action key -> action; see [`OrgActionMap::default`].
    pub org_actions: OrgActionMap,
}

/// Why a line is not an event. The text is stored with the reject: keep it stable and one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("empty line")]
    Empty,
    #[error("AccessLogFilter timestamps have no zone: --tz is required")]
    NeedTz,
    #[error("unknown time zone '{0}'")]
    UnknownTz(String),
    #[error("bad or missing timestamp")]
    BadTimestamp,
    #[error("line ends before the {0}")]
    Truncated(&'static str),
    #[error("truncated JSON")]
    JsonTruncated,
    #[error("invalid JSON")]
    JsonSyntax,
    #[error("JSON nested too deeply")]
    JsonTooDeep,
    #[error("expected a JSON object")]
    NotObject,
    #[error("expected a JSON array")]
    NotArray,
    #[error("missing field {0}")]
    Missing(&'static str),
    #[error("bad value in field {0}")]
    BadField(&'static str),
    #[error("org action map line {line}: {reason}")]
    BadActionMap { line: usize, reason: String },
}

/// Parses a `--tz` zone name such as `Europe/Berlin`.
pub fn parse_tz(name: &str) -> Result<chrono_tz::Tz, SourceError> {
    name.trim().parse().map_err(|_| SourceError::UnknownTz(name.chars().take(64).collect()))
}

/// Parses one line (without its newline). `Ok(None)`: a valid line that is not an access event
/// (other `atlassian-confluence.log` lines, audit records of actions we skip, page envelopes).
pub fn parse_line(format: SourceFormat, line: &str, opts: &ParseOptions) -> Result<Option<SourceEvent>, SourceError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    if line.trim().is_empty() {
        return Err(SourceError::Empty);
    }
    match format {
        SourceFormat::AccessLogFilter => accesslogfilter::parse(line, opts),
        SourceFormat::DcAudit | SourceFormat::DcAuditRest => dc_audit::parse(line, opts),
        SourceFormat::CloudAudit => cloud_audit::parse(line, opts),
        SourceFormat::OrgAudit => org_audit::parse(line, opts),
        SourceFormat::Jsonl => jsonl::parse(line),
    }
}

/// Picks the format from a file name, then from the shape of its first lines (§7 table).
/// `None` when nothing matches, e.g. an `atlassian-confluence.log` with no AccessLogFilter line.
pub fn detect(file_name: &str, first_lines: &[&str]) -> Option<SourceFormat> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name).to_ascii_lowercase();
    let base = base.strip_suffix(".gz").unwrap_or(&base);
    if base.starts_with("atlassian-confluence") && base.contains(".log") {
        return first_lines.iter().any(|l| accesslogfilter::is_filter_line(l)).then_some(SourceFormat::AccessLogFilter);
    }
    if base.ends_with(".audit.log") {
        return Some(SourceFormat::DcAudit);
    }
    let mut sniffed = None;
    for l in first_lines {
        let l = l.trim_start_matches('\u{feff}').trim();
        if l.is_empty() {
            continue;
        }
        if accesslogfilter::is_filter_line(l) {
            return Some(SourceFormat::AccessLogFilter);
        }
        if l.starts_with(['{', '[']) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
                if let Some(f) = json::shape_of(&v) {
                    return Some(f);
                }
            }
        }
        if let Some(f) = json::sniff(l) {
            if sniffed.is_none_or(|s| json::sniff_rank(f) < json::sniff_rank(s)) {
                sniffed = Some(f);
            }
        }
    }
    // Pretty-printed exports never parse line by line: fall back to key sniffing.
    sniffed
}

#[cfg(test)]
mod tests;
