//! Organization audit log events (Atlassian Guard, `/admin/v1/orgs/{org}/events`, confluence-logs.md §4.2).
//!
//! `attributes.action` is an opaque key whose values for page views and exports are not published
//! in any source we found: an [`OrgActionMap`] decides. An unmapped action is still an event:
//! `auth` when it names a login or logout, `admin` otherwise (contract §2: audit records are
//! never noise), with the key kept in `extra` so a later map can tell them apart.
//! Page and space come from `context`/`container` entries whose types are also unverified, so
//! types are matched loosely (`page`, `blogpost`, `confluence.page`, `ari:…:page`, …).

use serde_json::Value;

use super::dc_audit::UNKNOWN_ID;
use super::json::{check_ts, id_of, iso_ts, opt_array, opt_obj, opt_str, record, scalar, split_url, Obj};
use super::{Actor, ParseOptions, SourceError, SourceEvent};
use crate::{classify, Action, ContextPath};

/// Org audit action key -> action; the first matching row wins, keys compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgActionMap(pub Vec<(String, Action)>);

impl Default for OrgActionMap {
    /// Best guesses, **unverified** against real Guard exports: snake_case keys in the style of
    /// the org API's published ones (`user_added_to_group`, …). Override with [`OrgActionMap::parse`].
    fn default() -> Self {
        let rows = [
            ("page_viewed", Action::View),
            ("blogpost_viewed", Action::View),
            ("blog_post_viewed", Action::View),
            ("page_exported", Action::Export),
            ("blogpost_exported", Action::Export),
            ("page_exported_to_pdf", Action::Export),
            ("page_exported_to_word", Action::Export),
            ("space_exported", Action::SpaceExport),
            ("attachment_downloaded", Action::Download),
        ];
        OrgActionMap(rows.into_iter().map(|(k, a)| (k.to_owned(), a)).collect())
    }
}

impl OrgActionMap {
    /// The action for a key, if mapped.
    pub fn lookup(&self, key: &str) -> Option<Action> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key.trim())).map(|(_, a)| *a)
    }

    /// Lines `key=action` (`action` as in contract §2, e.g. `view`, `export`); blank lines and
    /// `#` comments are skipped. Only the file's rows: chain [`OrgActionMap::default`] to keep those.
    pub fn parse(text: &str) -> Result<Self, SourceError> {
        let mut rows = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: String| SourceError::BadActionMap { line: n + 1, reason };
            let (k, a) = line.split_once('=').ok_or_else(|| bad("expected key=action".into()))?;
            let k = k.trim();
            if k.is_empty() {
                return Err(bad("empty key".into()));
            }
            let a: Action = a.trim().parse().map_err(bad)?;
            rows.push((k.to_owned(), a));
        }
        Ok(OrgActionMap(rows))
    }
}

/// `confluence.page`, `ari:cloud:confluence::page`, `Blog_Post` -> `page`, `blogpost`.
fn kind_of(t: &str) -> String {
    let t = t.to_ascii_lowercase();
    let tail = t.rsplit(['.', ':', '/']).next().unwrap_or(&t);
    let tail = tail.strip_prefix("confluence").unwrap_or(tail);
    tail.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// `123`, `"123"`, or an ARI ending in `/123`.
fn content_id(v: Option<&Value>) -> Option<u64> {
    id_of(v).or_else(|| {
        let s = v?.as_str()?;
        crate::url::parse_id(s.rsplit(['/', ':']).next()?)
    })
}

fn first_str<'a>(o: &'a Obj, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| o.get(*k).and_then(Value::as_str)).filter(|s| !s.is_empty())
}

fn entry(e: &mut SourceEvent, v: &Value) -> Result<(), SourceError> {
    let Value::Object(o) = v else {
        return Err(SourceError::BadField("attributes.context"));
    };
    let kind = kind_of(opt_str(o, "type", "context.type")?.unwrap_or(""));
    let empty = Obj::new();
    let attrs = opt_obj(o, "attributes", "context.attributes")?.unwrap_or(&empty);
    let links = opt_obj(o, "links", "context.links")?.unwrap_or(&empty);
    // A link to the object in the site (`…/wiki/spaces/K/pages/N/T`) names all three.
    let linked = first_str(links, &["alt", "self", "webui"])
        .filter(|u| u.contains("/spaces/") || u.contains("/display/") || u.contains("pageId="))
        .map(|u| {
            let (_, path, query) = split_url(u);
            classify(&ContextPath::default(), "GET", path, query)
        });
    let name = first_str(attrs, &["title", "name", "displayName"]);
    let key = first_str(attrs, &["spaceKey", "key"]);
    match kind.as_str() {
        "page" | "blog" | "blogpost" | "content" => {
            if e.page_id.is_none() {
                e.page_id = content_id(o.get("id")).or(linked.as_ref().and_then(|c| c.page_id));
            }
            if e.title.is_none() {
                e.title = name.map(str::to_owned).or(linked.as_ref().and_then(|c| c.title.clone()));
            }
            if e.space.is_none() {
                e.space = first_str(attrs, &["spaceKey"]).map(str::to_owned).or(linked.and_then(|c| c.space));
            }
        }
        "space" => {
            if e.space.is_none() {
                e.space = key.map(str::to_owned).or(linked.and_then(|c| c.space));
            }
            e.push_extra("space_name", name.unwrap_or(""));
            e.push_extra("space_id", scalar(o.get("id")).unwrap_or_default());
        }
        "attachment" | "file" if e.attachment.is_none() => e.attachment = name.map(str::to_owned),
        other => {
            let kind = if other.is_empty() { "object" } else { other };
            let id = scalar(o.get("id")).unwrap_or_default();
            e.push_extra(&format!("object.{kind}"), name.map_or(id, str::to_owned));
        }
    }
    Ok(())
}

pub(super) fn parse(line: &str, opts: &ParseOptions) -> Result<Option<SourceEvent>, SourceError> {
    let Some(m) = record(line)? else {
        return Ok(None);
    };
    // Another JSON:API resource type is not an audit event.
    if opt_str(&m, "type", "type")?.is_some_and(|t| t != "events") {
        return Ok(None);
    }
    let a = opt_obj(&m, "attributes", "attributes")?.ok_or(SourceError::Missing("attributes"))?;
    let ts_ms = match a.get("time") {
        None | Some(Value::Null) => return Err(SourceError::Missing("attributes.time")),
        Some(Value::String(s)) => iso_ts(s)?,
        Some(Value::Number(n)) => check_ts(n.as_i64().ok_or(SourceError::BadTimestamp)?)?,
        Some(_) => return Err(SourceError::BadTimestamp),
    };
    let key = opt_str(a, "action", "attributes.action")?.ok_or(SourceError::Missing("attributes.action"))?;
    let action = opts.org_actions.lookup(key).unwrap_or_else(|| super::audit_class(&[key]));
    let (actor, display_name, email) = match opt_obj(a, "actor", "attributes.actor")? {
        None => (Actor::UserKey(UNKNOWN_ID.into()), None, ""),
        Some(who) => {
            let id = scalar(who.get("id")).unwrap_or_default();
            let actor = if id.is_empty() { Actor::UserKey(UNKNOWN_ID.into()) } else { Actor::AccountId(id) };
            let name = opt_str(who, "name", "attributes.actor.name")?.filter(|n| !n.is_empty());
            (actor, name.map(str::to_owned), opt_str(who, "email", "attributes.actor.email")?.unwrap_or(""))
        }
    };
    let mut e = SourceEvent::new(ts_ms, actor, action);
    e.display_name = display_name;
    for list in ["context", "container"] {
        for v in opt_array(a, list, "attributes.context")? {
            entry(&mut e, v)?;
        }
    }
    if let Some(loc) = opt_obj(a, "location", "attributes.location")? {
        e.ip = opt_str(loc, "ip", "attributes.location.ip")?.unwrap_or("").to_owned();
        for (field, name) in [("geo", "geo"), ("countryName", "country"), ("regionName", "region"), ("city", "city")] {
            e.push_extra(name, scalar(loc.get(field)).unwrap_or_default());
        }
    }
    e.push_extra("audit_action", key);
    e.push_extra("event_id", scalar(m.get("id")).unwrap_or_default());
    e.push_extra("email", email);
    Ok(Some(e))
}
