//! DC audit records (confluence-logs.md §3): the `*.audit.log` file and the `/rest/auditing/1.0/events` export.
//!
//! Both carry the same record; the file has `auditType` and `timestamp:{epochSecond,nano}`, the REST
//! export `type` and an ISO `timestamp`. Either layout is accepted under either format name.
//! Records are matched on `actionI18nKey` (the English `action` text varies), see [`KEYS`].
//! Every other record is an event too: `auth` for logins and logouts, `admin` for the rest
//! (permissions, users, groups, apps, imports, ...), with the objects it touched in `extra`.

use serde_json::Value;

use super::json::{check_ts, id_of, iso_ts, opt_array, opt_obj, opt_str, record, scalar, split_url, Obj};
use super::{Actor, ParseOptions, SourceError, SourceEvent};
use crate::event::fold_user;
use crate::url::{decode, param};
use crate::{classify, Action, ContextPath};

/// Summary keys of content records: reads or exfiltration (§3.1), matched exactly or after a dotted prefix
/// such as `audit.logging.summary.`. The `*.viewed` rows are not in 8.7.2 (no view listener):
/// kept in case a later version adds them.
pub(super) const KEYS: [(&str, Action); 13] = [
    ("attachment.downloaded", Action::Download),
    ("page.exported.word", Action::Export),
    ("blogpost.exported.word", Action::Export),
    ("page.pdf.export", Action::Export),
    ("blog.pdf.export", Action::Export),
    ("blogpost.pdf.export", Action::Export),
    ("space.pdf.export", Action::SpaceExport),
    ("space.export", Action::SpaceExport),
    ("site.export", Action::SpaceExport),
    ("search.performed", Action::Search),
    ("page.viewed", Action::View),
    ("blogpost.viewed", Action::View),
    ("blog.viewed", Action::View),
];

/// Author ids Atlassian reserves (`AuditAuthor`): only Anonymous is not a person's key.
const ANONYMOUS_ID: &str = "-2";
pub(super) const UNKNOWN_ID: &str = "-3";

fn key_matches(key: &str, k: &str) -> bool {
    key == k || key.strip_suffix(k).is_some_and(|p| p.ends_with('.'))
}

/// The action of a record, and whether it was an admin-key view.
fn map_action(key: &str, summary: &str) -> (Action, bool) {
    let s = summary.to_ascii_lowercase();
    let k = key.to_ascii_lowercase();
    let admin_key_view = (s.contains("admin key") && s.contains("view"))
        || ((k.contains("adminkey") || k.contains("admin.key") || k.contains("admin_key")) && k.contains("view"));
    if admin_key_view {
        return (Action::View, true);
    }
    match KEYS.iter().find(|(name, _)| key_matches(&k, name)) {
        Some((_, a)) => (*a, false),
        None => (super::audit_class(&[key, summary]), false),
    }
}

fn timestamp(m: &Obj) -> Result<i64, SourceError> {
    match m.get("timestamp") {
        None | Some(Value::Null) => Err(SourceError::Missing("timestamp")),
        Some(Value::String(s)) => iso_ts(s),
        Some(Value::Object(t)) => {
            let secs = t.get("epochSecond").and_then(Value::as_i64).ok_or(SourceError::BadTimestamp)?;
            let nano = t.get("nano").map_or(Some(0), Value::as_u64).ok_or(SourceError::BadTimestamp)?;
            if nano >= 1_000_000_000 {
                return Err(SourceError::BadTimestamp);
            }
            let ms = secs.checked_mul(1000).and_then(|s| s.checked_add((nano / 1_000_000) as i64));
            check_ts(ms.ok_or(SourceError::BadTimestamp)?)
        }
        // Some collectors flatten the Instant to epoch milliseconds.
        Some(Value::Number(n)) => check_ts(n.as_i64().ok_or(SourceError::BadTimestamp)?),
        Some(_) => Err(SourceError::BadTimestamp),
    }
}

/// `…?username=alice` in an author or object URI.
fn username_from_uri(uri: &str) -> Option<String> {
    let (_, _, query) = split_url(uri);
    let u = decode(param(query, "username")?, true);
    (!u.trim().is_empty()).then(|| fold_user(u.trim()).into_owned())
}

fn actor(author: Option<&Obj>) -> Result<(Actor, Option<String>), SourceError> {
    let Some(a) = author else {
        return Ok((Actor::UserKey(UNKNOWN_ID.into()), None));
    };
    let name = opt_str(a, "name", "author.name")?.filter(|n| !n.is_empty()).map(str::to_owned);
    let id = scalar(a.get("id")).unwrap_or_default();
    let uri = opt_str(a, "uri", "author.uri")?;
    let actor = if id == ANONYMOUS_ID {
        Actor::Anonymous
    } else if let Some(u) = uri.and_then(username_from_uri) {
        Actor::Username(u)
    } else if !id.is_empty() {
        Actor::UserKey(id)
    } else {
        Actor::UserKey(UNKNOWN_ID.into())
    };
    Ok((actor, name))
}

/// A space key named by an object URI (`/display/KEY`, `/spaces/KEY/…`, `?key=KEY`, `?spaceKey=KEY`).
pub(super) fn space_from_uri(uri: &str) -> Option<String> {
    let (_, path, query) = split_url(uri);
    classify(&ContextPath::default(), "GET", path, query)
        .space
        .or_else(|| param(query, "spaceKey").or_else(|| param(query, "key")).map(|k| decode(k, true)))
        .filter(|k| !k.is_empty())
}

fn objects(e: &mut SourceEvent, list: &[Value]) -> Result<(), SourceError> {
    for o in list {
        let Value::Object(o) = o else {
            return Err(SourceError::BadField("affectedObjects"));
        };
        let kind = opt_str(o, "type", "affectedObjects.type")?.unwrap_or("").to_ascii_lowercase();
        let name = opt_str(o, "name", "affectedObjects.name")?.unwrap_or("");
        let uri = opt_str(o, "uri", "affectedObjects.uri")?.unwrap_or("");
        let id = scalar(o.get("id")).unwrap_or_default();
        match kind.replace([' ', '_'], "").as_str() {
            "space" => {
                if e.space.is_none() {
                    e.space = space_from_uri(uri);
                }
                e.push_extra("space_name", name);
                e.push_extra("space_id", id);
            }
            "page" | "blog" | "blogpost" => {
                if e.page_id.is_none() {
                    e.page_id = id_of(o.get("id"));
                    e.title = (!name.is_empty()).then(|| name.to_owned());
                }
                if e.space.is_none() && !uri.is_empty() {
                    e.space = space_from_uri(uri);
                }
            }
            "attachment" => {
                if e.attachment.is_none() && !name.is_empty() {
                    e.attachment = Some(name.to_owned());
                }
                e.push_extra("attachment_id", id);
            }
            // Users, groups, apps, directories: who was granted what, or added where.
            other => {
                let kind = if other.is_empty() { "object" } else { other };
                e.push_extra(&format!("object.{kind}"), if name.is_empty() { id.as_str() } else { name });
                if !id.is_empty() && !name.is_empty() && id != name {
                    e.push_extra(&format!("object.{kind}_id"), id);
                }
            }
        }
    }
    Ok(())
}

/// `changedValues` (`{key, from?, to?}`): what a permission or settings change changed.
fn changed_values(e: &mut SourceEvent, list: &[Value]) -> Result<(), SourceError> {
    for c in list {
        let Value::Object(c) = c else {
            return Err(SourceError::BadField("changedValues"));
        };
        let key = opt_str(c, "key", "changedValues.key")?.or(opt_str(c, "i18nKey", "changedValues.i18nKey")?);
        let (from, to) = (scalar(c.get("from")).unwrap_or_default(), scalar(c.get("to")).unwrap_or_default());
        if let Some(k) = key.filter(|k| !k.is_empty()) {
            e.push_extra(&format!("changed.{k}"), super::change_text(&from, &to));
        }
    }
    Ok(())
}

pub(super) fn parse(line: &str, _opts: &ParseOptions) -> Result<Option<SourceEvent>, SourceError> {
    let Some(m) = record(line)? else {
        return Ok(None);
    };
    let ts_ms = timestamp(&m)?;
    let ty = match opt_obj(&m, "auditType", "auditType")? {
        Some(t) => t,
        None => opt_obj(&m, "type", "type")?.ok_or(SourceError::Missing("auditType"))?,
    };
    let key = opt_str(ty, "actionI18nKey", "auditType.actionI18nKey")?.unwrap_or("");
    let summary = opt_str(ty, "action", "auditType.action")?.unwrap_or("");
    if key.is_empty() && summary.is_empty() {
        return Err(SourceError::Missing("auditType.actionI18nKey"));
    }
    let (action, admin_key) = map_action(key, summary);
    let (actor, display_name) = actor(opt_obj(&m, "author", "author")?)?;
    let mut e = SourceEvent::new(ts_ms, actor, action);
    e.display_name = display_name;
    e.ip = opt_str(&m, "source", "source")?.unwrap_or("").to_owned();
    objects(&mut e, opt_array(&m, "affectedObjects", "affectedObjects")?)?;
    changed_values(&mut e, opt_array(&m, "changedValues", "changedValues")?)?;

    e.push_extra("audit_action", key);
    e.push_extra("audit_summary", summary);
    for (field, name) in [("category", "category"), ("area", "area"), ("level", "level")] {
        e.push_extra(name, opt_str(ty, field, "auditType")?.unwrap_or(""));
    }
    if admin_key {
        e.push_extra("admin_key", "true");
    }
    for (field, name) in [("method", "audit_method"), ("node", "node"), ("system", "system")] {
        e.push_extra(name, scalar(m.get(field)).unwrap_or_default());
    }
    if let Some(Value::Object(a)) = m.get("author") {
        let kind = scalar(a.get("type")).unwrap_or_default();
        if !kind.is_empty() && kind != "user" {
            e.push_extra("author_type", kind);
        }
    }
    for attr in opt_array(&m, "extraAttributes", "extraAttributes")? {
        let Value::Object(attr) = attr else {
            return Err(SourceError::BadField("extraAttributes"));
        };
        let name = opt_str(attr, "name", "extraAttributes.name")?.unwrap_or("");
        let i18n = opt_str(attr, "nameI18nKey", "extraAttributes.nameI18nKey")?.unwrap_or("");
        let value = scalar(attr.get("value")).unwrap_or_default();
        if name.eq_ignore_ascii_case("query") || i18n.to_ascii_lowercase().ends_with("query") {
            e.push_extra("search_query", value);
        } else if !name.is_empty() {
            e.push_extra(&format!("attr.{name}"), value);
        }
    }
    Ok(Some(e))
}
