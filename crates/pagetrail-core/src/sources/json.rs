//! JSON plumbing shared by the audit parsers: error mapping, typed field access, page splitting.
//!
//! Splitting scans bytes without recursion, so a hostile, deeply nested export cannot overflow the
//! stack; each record is then parsed by serde_json, whose recursion limit turns depth into an error.

use serde_json::{Map, Value};

use super::{SourceError, SourceFormat};
use crate::time::parse_instant;

pub(super) type Obj = Map<String, Value>;

/// Keys under which the exports page their records: Guard, DC REST, Cloud REST.
const ENVELOPE_KEYS: [&str; 3] = ["data", "entities", "results"];

/// Latest instant we accept: 9999-12-31T23:59:59.999Z, so every instant formats as RFC 3339.
const MAX_TS_MS: i64 = 253_402_300_799_999;

pub(super) fn json_error(e: &serde_json::Error) -> SourceError {
    match e.classify() {
        serde_json::error::Category::Eof => SourceError::JsonTruncated,
        _ if e.to_string().starts_with("recursion limit exceeded") => SourceError::JsonTooDeep,
        _ => SourceError::JsonSyntax,
    }
}

/// The object of a record line; `None` for a page envelope (an array, or an object holding an
/// array under `data`/`entities`/`results`), which the caller splits first.
pub(super) fn record(line: &str) -> Result<Option<Obj>, SourceError> {
    match serde_json::from_str::<Value>(line).map_err(|e| json_error(&e))? {
        Value::Array(_) => Ok(None),
        Value::Object(m) if ENVELOPE_KEYS.iter().any(|k| m.get(*k).is_some_and(Value::is_array)) => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        _ => Err(SourceError::NotObject),
    }
}

/// A string field; absent or null is `None`, any other type an error naming `name`.
pub(super) fn opt_str<'a>(m: &'a Obj, key: &str, name: &'static str) -> Result<Option<&'a str>, SourceError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SourceError::BadField(name)),
    }
}

pub(super) fn opt_obj<'a>(m: &'a Obj, key: &str, name: &'static str) -> Result<Option<&'a Obj>, SourceError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(SourceError::BadField(name)),
    }
}

/// An array field; absent or null is empty.
pub(super) fn opt_array<'a>(m: &'a Obj, key: &str, name: &'static str) -> Result<&'a [Value], SourceError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(SourceError::BadField(name)),
    }
}

/// A scalar as text (ids come as strings or numbers depending on the exporter).
pub(super) fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A content id given as a number or a decimal string.
pub(super) fn id_of(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => crate::url::parse_id(s.trim()),
        _ => None,
    }
}

/// Rejects instants outside 1970..=9999 (hostile or corrupt values).
pub(super) fn check_ts(ms: i64) -> Result<i64, SourceError> {
    if (0..=MAX_TS_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(SourceError::BadTimestamp)
    }
}

/// RFC 3339 text to UTC milliseconds.
pub(super) fn iso_ts(s: &str) -> Result<i64, SourceError> {
    parse_instant(s.trim()).ok_or(SourceError::BadTimestamp).and_then(check_ts)
}

/// Splits a URL as logged into (host, path, query); a bare path has no host.
pub(super) fn split_url(url: &str) -> (&str, &str, &str) {
    let (host, rest) = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            let cut = after.find(['/', '?']).unwrap_or(after.len());
            (&after[..cut], &after[cut..])
        }
        None => ("", url),
    };
    let rest = rest.split('#').next().unwrap_or(rest);
    match rest.split_once('?') {
        Some((p, q)) => (host, p, q),
        None => (host, rest, ""),
    }
}

/// Which format a parsed JSON value looks like (§7 detection rules).
pub(super) fn shape_of(v: &Value) -> Option<SourceFormat> {
    let m = match v {
        Value::Array(a) => return a.first().filter(|e| e.is_object()).and_then(shape_of),
        Value::Object(m) => m,
        _ => return None,
    };
    let pages = [
        ("data", SourceFormat::OrgAudit),
        ("entities", SourceFormat::DcAuditRest),
        ("results", SourceFormat::CloudAudit),
    ];
    for (key, format) in pages {
        if let Some(Value::Array(a)) = m.get(key) {
            return a.first().filter(|e| e.is_object()).and_then(shape_of).or(Some(format));
        }
    }
    let ts = m.get("timestamp");
    if m.contains_key("auditType") || ts.is_some_and(Value::is_object) {
        return Some(SourceFormat::DcAudit);
    }
    if ts.is_some_and(Value::is_string) && (m.get("type").is_some_and(Value::is_object) || m.contains_key("author")) {
        return Some(SourceFormat::DcAuditRest);
    }
    if m.contains_key("creationDate") && (m.contains_key("summary") || m.contains_key("remoteAddress")) {
        return Some(SourceFormat::CloudAudit);
    }
    if m.get("type").and_then(Value::as_str) == Some("events")
        || m.get("attributes").and_then(|a| a.get("action")).is_some()
    {
        return Some(SourceFormat::OrgAudit);
    }
    if ["ts", "user", "action"].iter().all(|k| m.contains_key(*k)) {
        return Some(SourceFormat::Jsonl);
    }
    None
}

/// Key sniffing for lines that are not whole JSON values (pretty-printed exports).
pub(super) fn sniff(line: &str) -> Option<SourceFormat> {
    if line.contains("\"auditType\"") || line.contains("\"epochSecond\"") {
        return Some(SourceFormat::DcAudit);
    }
    if line.contains("\"creationDate\"") {
        return Some(SourceFormat::CloudAudit);
    }
    let squeezed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    if squeezed.contains("\"type\":\"events\"") {
        return Some(SourceFormat::OrgAudit);
    }
    if line.contains("\"actionI18nKey\"") || line.contains("\"categoryI18nKey\"") {
        return Some(SourceFormat::DcAuditRest);
    }
    None
}

/// Lower wins when several sniffed lines disagree: the most specific keys first.
pub(super) fn sniff_rank(f: SourceFormat) -> u8 {
    match f {
        SourceFormat::DcAudit => 0,
        SourceFormat::CloudAudit => 1,
        SourceFormat::OrgAudit => 2,
        SourceFormat::DcAuditRest => 3,
        _ => 4,
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Index just past the string opening at `i`.
fn skip_string(b: &[u8], mut i: usize) -> Result<usize, SourceError> {
    i += 1;
    while let Some(off) = memchr::memchr2(b'"', b'\\', &b[i.min(b.len())..]) {
        i += off;
        if b[i] == b'"' {
            return Ok(i + 1);
        }
        i += 2;
    }
    Err(SourceError::JsonTruncated)
}

/// Index just past the value starting at `i`, with an explicit stack instead of recursion.
fn skip_value(b: &[u8], mut i: usize) -> Result<usize, SourceError> {
    match b.get(i) {
        None => Err(SourceError::JsonTruncated),
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut stack: Vec<u8> = Vec::new();
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = skip_string(b, i)?;
                        continue;
                    }
                    b'{' => stack.push(b'}'),
                    b'[' => stack.push(b']'),
                    c @ (b'}' | b']') => {
                        if stack.pop() != Some(c) {
                            return Err(SourceError::JsonSyntax);
                        }
                        if stack.is_empty() {
                            return Ok(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Err(SourceError::JsonTruncated)
        }
        Some(b'}' | b']' | b',' | b':') => Err(SourceError::JsonSyntax),
        Some(_) => {
            let start = i;
            while i < b.len() && !matches!(b[i], b',' | b']' | b'}' | b':' | b' ' | b'\t' | b'\n' | b'\r') {
                i += 1;
            }
            if i == start {
                Err(SourceError::JsonSyntax)
            } else {
                Ok(i)
            }
        }
    }
}

fn body(text: &str) -> &[u8] {
    text.strip_prefix('\u{feff}').unwrap_or(text).as_bytes()
}

/// The elements of the array starting at `i`; returns them and the index after `]`.
fn array_items<'a>(text: &'a str, b: &[u8], i: usize) -> Result<(Vec<&'a str>, usize), SourceError> {
    // `b` may be `text` without a BOM: keep offsets relative to `text`.
    let shift = text.len() - b.len();
    if b.get(i) != Some(&b'[') {
        return Err(SourceError::NotArray);
    }
    let mut out = Vec::new();
    let mut i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return Ok((out, i + 1));
    }
    loop {
        let end = skip_value(b, i)?;
        out.push(&text[shift + i..shift + end]);
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b']') => return Ok((out, i + 1)),
            None => return Err(SourceError::JsonTruncated),
            Some(_) => return Err(SourceError::JsonSyntax),
        }
    }
}

/// The records of a whole-file JSON array (`[{…},{…}]`), as slices of `text`.
/// Elements are not parsed here: [`super::parse_line`] does that, one at a time.
pub fn split_json_array(text: &str) -> Result<Vec<&str>, SourceError> {
    let b = body(text);
    let start = skip_ws(b, 0);
    if start == b.len() {
        return Err(SourceError::Empty);
    }
    let (items, end) = array_items(text, b, start)?;
    if skip_ws(b, end) != b.len() {
        return Err(SourceError::JsonSyntax);
    }
    Ok(items)
}

/// A top-level field: raw key bytes, and where its raw value starts and ends.
type Field<'a> = (&'a [u8], usize, usize);

/// The top-level fields of an object.
fn fields(b: &[u8]) -> Result<Vec<Field<'_>>, SourceError> {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(SourceError::NotObject);
    }
    let mut out = Vec::new();
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Ok(out);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return Err(if i >= b.len() { SourceError::JsonTruncated } else { SourceError::JsonSyntax });
        }
        let kend = skip_string(b, i)?;
        let key = &b[i + 1..kend - 1];
        i = skip_ws(b, kend);
        match b.get(i) {
            Some(b':') => {}
            None => return Err(SourceError::JsonTruncated),
            Some(_) => return Err(SourceError::JsonSyntax),
        }
        let vstart = skip_ws(b, i + 1);
        let vend = skip_value(b, vstart)?;
        out.push((key, vstart, vend));
        i = skip_ws(b, vend);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => {
                if skip_ws(b, i + 1) != b.len() {
                    return Err(SourceError::JsonSyntax);
                }
                return Ok(out);
            }
            None => return Err(SourceError::JsonTruncated),
            Some(_) => return Err(SourceError::JsonSyntax),
        }
    }
}

/// Whether a line or file is a page of records rather than one record: a JSON array, or an
/// object with an array under `data` (Guard), `entities` (DC REST) or `results` (Cloud REST).
pub fn is_page(text: &str) -> bool {
    let b = body(text);
    let t = &b[skip_ws(b, 0)..];
    match t.first() {
        Some(b'[') => true,
        Some(b'{') => {
            let mentions =
                ENVELOPE_KEYS.iter().any(|k| memchr::memmem::find(t, format!("\"{k}\"").as_bytes()).is_some());
            mentions
                && fields(b).is_ok_and(|fs| {
                    fs.iter().any(|(k, s, _)| ENVELOPE_KEYS.iter().any(|e| e.as_bytes() == *k) && b[*s] == b'[')
                })
        }
        _ => false,
    }
}

/// The records of a page (see [`is_page`]) as slices of `text`; a single record comes back alone.
pub fn split_page(text: &str) -> Result<Vec<&str>, SourceError> {
    let b = body(text);
    let start = skip_ws(b, 0);
    match b.get(start) {
        None => Err(SourceError::Empty),
        Some(b'[') => split_json_array(text),
        Some(b'{') => {
            let fs = fields(b)?;
            let shift = text.len() - b.len();
            for (k, s, _) in &fs {
                if ENVELOPE_KEYS.iter().any(|e| e.as_bytes() == *k) && b[*s] == b'[' {
                    return array_items(text, b, *s).map(|(items, _)| items);
                }
            }
            Ok(vec![text[shift + start..].trim_end()])
        }
        Some(_) => Err(SourceError::NotObject),
    }
}

/// The events of one Guard page, `{"data":[…],"meta":…,"links":…}`.
pub fn split_org_page(text: &str) -> Result<Vec<String>, SourceError> {
    let b = body(text);
    for (k, s, _) in fields(b)? {
        if k == b"data" {
            if b[s] != b'[' {
                return Err(SourceError::BadField("data"));
            }
            return array_items(text, b, s).map(|(items, _)| items.into_iter().map(str::to_owned).collect());
        }
    }
    Err(SourceError::Missing("data"))
}
