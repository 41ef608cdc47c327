//! JSON Lines in the contract §1 shape, as `pagetrail events --format json` prints them, so exports round-trip.
//!
//! `user` is taken as a username (`-` = anonymous); `source` is ignored (the re-ingest has its own).

use serde_json::Value;

use super::json::{iso_ts, json_error, opt_str, Obj};
use super::{Actor, SourceError, SourceEvent};
use crate::event::fold_user;
use crate::time::format_rfc3339;
use crate::Action;

fn opt_u64(m: &Obj, key: &str, name: &'static str) -> Result<Option<u64>, SourceError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(SourceError::BadField(name)),
        // Tools that fear float precision write big ids as strings; other numbers stay numbers.
        Some(Value::String(s)) if key == "page_id" => {
            crate::url::parse_id(s).map(Some).ok_or(SourceError::BadField(name))
        }
        Some(_) => Err(SourceError::BadField(name)),
    }
}

fn text(m: &Obj, key: &str, name: &'static str) -> Result<String, SourceError> {
    Ok(opt_str(m, key, name)?.unwrap_or("").to_owned())
}

pub(super) fn parse(line: &str) -> Result<Option<SourceEvent>, SourceError> {
    let m = match serde_json::from_str::<Value>(line).map_err(|e| json_error(&e))? {
        Value::Object(m) => m,
        _ => return Err(SourceError::NotObject),
    };
    let ts_ms = iso_ts(opt_str(&m, "ts", "ts")?.ok_or(SourceError::Missing("ts"))?)?;
    let user = opt_str(&m, "user", "user")?.ok_or(SourceError::Missing("user"))?.trim();
    let actor = match user {
        "" => return Err(SourceError::BadField("user")),
        "-" => Actor::Anonymous,
        u => Actor::Username(fold_user(u).into_owned()),
    };
    let action: Action = opt_str(&m, "action", "action")?
        .ok_or(SourceError::Missing("action"))?
        .parse()
        .map_err(|_| SourceError::BadField("action"))?;
    let mut e = SourceEvent::new(ts_ms, actor, action);
    e.page_id = opt_u64(&m, "page_id", "page_id")?;
    e.space = opt_str(&m, "space", "space")?.map(str::to_owned);
    e.title = opt_str(&m, "title", "title")?.map(str::to_owned);
    e.status = match opt_u64(&m, "status", "status")? {
        Some(s) => u16::try_from(s).map_err(|_| SourceError::BadField("status"))?,
        None => 0,
    };
    e.bytes = opt_u64(&m, "bytes", "bytes")?.unwrap_or(0);
    e.duration_ms = match opt_u64(&m, "duration_ms", "duration_ms")? {
        Some(d) => u32::try_from(d).map_err(|_| SourceError::BadField("duration_ms"))?,
        None => 0,
    };
    e.ip = text(&m, "ip", "ip")?;
    e.user_agent = text(&m, "user_agent", "user_agent")?;
    e.method = text(&m, "method", "method")?;
    e.path = text(&m, "path", "path")?;
    e.query = text(&m, "query", "query")?;
    e.referer = text(&m, "referer", "referer")?;
    Ok(Some(e))
}

/// One event as `pagetrail events --format json` prints it, without `source`: the contract §1
/// fields only (display name, attachment and `extra` are not part of that shape).
pub fn to_json_line(e: &SourceEvent) -> String {
    serde_json::json!({
        "ts": format_rfc3339(e.ts_ms), "user": e.actor.as_str(), "action": e.action.as_str(),
        "page_id": e.page_id, "space": e.space, "title": e.title, "status": e.status, "bytes": e.bytes,
        "duration_ms": e.duration_ms, "ip": e.ip, "user_agent": e.user_agent, "method": e.method,
        "path": e.path, "query": e.query, "referer": e.referer,
    })
    .to_string()
}
