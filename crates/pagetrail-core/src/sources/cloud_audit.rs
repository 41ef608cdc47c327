//! Confluence Cloud audit records (`/wiki/rest/api/audit`, confluence-logs.md §4.1), matched on `summary`.
//!
//! Cloud records name objects by display name only: a space object gives its name (kept as
//! `space_name`), not its key, so these events rarely name a page well enough to be reads.
//! Records that are not content are events too: `auth` for logins and logouts, `admin` for the
//! rest (permissions, users, groups, space settings, ...), objects and changes kept in `extra`.

use serde_json::Value;

use super::dc_audit::{space_from_uri, UNKNOWN_ID};
use super::json::{check_ts, id_of, opt_array, opt_obj, opt_str, record, scalar, Obj};
use super::{Actor, ParseOptions, SourceError, SourceEvent};
use crate::Action;

/// Summaries (lower-cased, spaces collapsed) that are reads or exports. Cloud's exact English
/// strings are **unverified** beyond "Space exported" style names in Atlassian's docs; any summary
/// containing "viewed with admin key" is an admin-key view.
pub(super) const SUMMARIES: [(&str, Action); 14] = [
    ("page exported", Action::Export),
    ("blog post exported", Action::Export),
    ("page exported to pdf", Action::Export),
    ("page exported to word", Action::Export),
    ("space exported", Action::SpaceExport),
    ("space export", Action::SpaceExport),
    ("space exported to pdf", Action::SpaceExport),
    ("space exported to html", Action::SpaceExport),
    ("space exported to xml", Action::SpaceExport),
    ("space exported to csv", Action::SpaceExport),
    ("site exported", Action::SpaceExport),
    ("site export", Action::SpaceExport),
    ("attachment downloaded", Action::Download),
    ("file downloaded", Action::Download),
];

const ADMIN_KEY_VIEW: &str = "viewed with admin key";

fn map_summary(summary: &str) -> (Action, bool) {
    let s = summary.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let s = s.trim_end_matches('.');
    if s.contains(ADMIN_KEY_VIEW) {
        return (Action::View, true);
    }
    match SUMMARIES.iter().find(|(k, _)| *k == s) {
        Some((_, a)) => (*a, false),
        None => (super::audit_class(&[s]), false),
    }
}

fn actor(author: Option<&Obj>) -> Result<(Actor, Option<String>), SourceError> {
    let Some(a) = author else {
        return Ok((Actor::UserKey(UNKNOWN_ID.into()), None));
    };
    let name = opt_str(a, "displayName", "author.displayName")?.filter(|n| !n.is_empty()).map(str::to_owned);
    let account = opt_str(a, "accountId", "author.accountId")?.unwrap_or("");
    let key = opt_str(a, "userKey", "author.userKey")?.unwrap_or("");
    let kind = opt_str(a, "type", "author.type")?.unwrap_or("");
    let actor = if !account.is_empty() {
        Actor::AccountId(account.to_owned())
    } else if !key.is_empty() {
        Actor::UserKey(key.to_owned())
    } else if kind.eq_ignore_ascii_case("anonymous") {
        Actor::Anonymous
    } else {
        Actor::UserKey(UNKNOWN_ID.into())
    };
    Ok((actor, name))
}

fn object(e: &mut SourceEvent, o: &Value) -> Result<(), SourceError> {
    let Value::Object(o) = o else {
        return Err(SourceError::BadField("affectedObject"));
    };
    let kind = opt_str(o, "objectType", "affectedObject.objectType")?.unwrap_or("").to_ascii_lowercase();
    let name = opt_str(o, "name", "affectedObject.name")?.unwrap_or("");
    match kind.replace([' ', '_'], "").as_str() {
        "space" => {
            e.push_extra("space_name", name);
            if e.space.is_none() {
                e.space = opt_str(o, "uri", "affectedObject.uri")?.and_then(space_from_uri);
            }
        }
        "page" | "blog" | "blogpost" if e.title.is_none() && !name.is_empty() => {
            e.title = Some(name.to_owned());
            e.page_id = id_of(o.get("id"));
        }
        "attachment" | "file" if e.attachment.is_none() && !name.is_empty() => {
            e.attachment = Some(name.to_owned());
        }
        // Users, groups, apps: who was granted what, or added where.
        other if !name.is_empty() => {
            let kind = if other.is_empty() { "object" } else { other };
            e.push_extra(&format!("object.{kind}"), name);
        }
        _ => {}
    }
    Ok(())
}

/// `changedValues` (`{name, oldValue, newValue}`).
fn changed_values(e: &mut SourceEvent, list: &[Value]) -> Result<(), SourceError> {
    for c in list {
        let Value::Object(c) = c else {
            return Err(SourceError::BadField("changedValues"));
        };
        let name = opt_str(c, "name", "changedValues.name")?.unwrap_or("");
        let (from, to) = (scalar(c.get("oldValue")).unwrap_or_default(), scalar(c.get("newValue")).unwrap_or_default());
        if !name.is_empty() {
            e.push_extra(&format!("changed.{name}"), super::change_text(&from, &to));
        }
    }
    Ok(())
}

pub(super) fn parse(line: &str, _opts: &ParseOptions) -> Result<Option<SourceEvent>, SourceError> {
    let Some(m) = record(line)? else {
        return Ok(None);
    };
    let ts_ms = match m.get("creationDate") {
        None | Some(Value::Null) => return Err(SourceError::Missing("creationDate")),
        Some(v) => check_ts(v.as_i64().ok_or(SourceError::BadTimestamp)?)?,
    };
    let summary = opt_str(&m, "summary", "summary")?.unwrap_or("");
    let category = opt_str(&m, "category", "category")?.unwrap_or("");
    let (action, admin_key) = map_summary(summary);
    let (actor, display_name) = actor(opt_obj(&m, "author", "author")?)?;
    let mut e = SourceEvent::new(ts_ms, actor, action);
    e.display_name = display_name;
    e.ip = opt_str(&m, "remoteAddress", "remoteAddress")?.unwrap_or("").to_owned();
    if let Some(o) = m.get("affectedObject").filter(|v| !v.is_null()) {
        object(&mut e, o)?;
    }
    for o in opt_array(&m, "associatedObjects", "associatedObjects")? {
        object(&mut e, o)?;
    }
    changed_values(&mut e, opt_array(&m, "changedValues", "changedValues")?)?;
    e.push_extra("audit_summary", summary);
    e.push_extra("category", category);
    e.push_extra("description", opt_str(&m, "description", "description")?.unwrap_or(""));
    if admin_key {
        e.push_extra("admin_key", "true");
    }
    for flag in ["sysAdmin", "superAdmin"] {
        if m.get(flag).and_then(Value::as_bool) == Some(true) {
            e.push_extra(if flag == "sysAdmin" { "sys_admin" } else { "super_admin" }, "true");
        }
    }
    Ok(Some(e))
}
