//! `AccessLogFilter` lines of `atlassian-confluence.log` (confluence-logs.md §2): local time, no status, no bytes.
//!
//! Message (8.7.2 source): `user method fullRequestURL freeMemKb[+|-]diffKb durationMs remoteAddr`;
//! older builds have no method and may log the query string. Other lines of the file are `Ok(None)`.

use chrono::{MappedLocalTime, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone};

use super::json::{check_ts, split_url};
use super::{tiny_link_page_id, Actor, ParseOptions, SourceError, SourceEvent};
use crate::classify;
use crate::event::fold_user;

const LOGGER_END: &str = "AccessLogFilter]";

/// `YYYY-MM-DD HH:MM:SS,mmm`: log4j's default `%d`.
const TS_LEN: usize = 23;

/// Keys Confluence appends as request context (` -- url: … | userName: …`) on some lines.
const MDC_KEYS: [&str; 6] = ["url:", "referer:", "userName:", "traceId:", "action:", "page:"];

/// Whether the line carries the AccessLogFilter logger after a log4j timestamp.
pub(super) fn is_filter_line(line: &str) -> bool {
    let line = line.trim_start_matches('\u{feff}');
    ts_shape(line.as_bytes()) && logger_span(line).is_some()
}

/// Byte range of the `[…AccessLogFilter]` logger token (`%c{4}` or abbreviated).
fn logger_span(line: &str) -> Option<(usize, usize)> {
    // The thread name may quote a URL: take the first occurrence that is a whole logger token.
    line.match_indices(LOGGER_END).find_map(|(i, _)| {
        let end = i + LOGGER_END.len();
        let start = line[..end].rfind('[')?;
        let name = &line[start + 1..end - 1];
        let ok = name == "AccessLogFilter" || name.ends_with(".AccessLogFilter");
        (ok && !name.contains(' ')).then_some((start, end))
    })
}

fn ts_shape(b: &[u8]) -> bool {
    b.len() > TS_LEN
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && matches!(b[19], b',' | b'.')
        && [0..4, 5..7, 8..10, 11..13, 14..16, 17..19, 20..23].into_iter().all(|r| b[r].iter().all(u8::is_ascii_digit))
}

fn num(b: &[u8]) -> u32 {
    b.iter().fold(0, |v, &c| v * 10 + u32::from(c - b'0'))
}

/// The local wall-clock time at the start of the line.
fn local_ts(b: &[u8]) -> Option<NaiveDateTime> {
    if !ts_shape(b) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(&b[0..4]) as i32, num(&b[5..7]), num(&b[8..10]))?;
    date.and_hms_milli_opt(num(&b[11..13]), num(&b[14..16]), num(&b[17..19]), num(&b[20..23]))
}

/// Local time to UTC ms. A repeated hour (autumn) takes its first occurrence; a skipped hour
/// (spring) takes the earliest of the two offsets' readings. Both are deterministic guesses:
/// a JVM in that zone never writes a skipped time.
pub(super) fn to_utc(tz: &chrono_tz::Tz, local: NaiveDateTime) -> Result<i64, SourceError> {
    let ms = match tz.from_local_datetime(&local) {
        MappedLocalTime::Single(t) => t.timestamp_millis(),
        MappedLocalTime::Ambiguous(a, b) => a.timestamp_millis().min(b.timestamp_millis()),
        MappedLocalTime::None => {
            // The offsets in force a day either side of the gap.
            let day = TimeDelta::hours(26);
            [local.checked_sub_signed(day), local.checked_add_signed(day)]
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    let off = tz.offset_from_utc_datetime(&t).fix().local_minus_utc();
                    local.checked_sub_signed(TimeDelta::seconds(i64::from(off)))
                })
                .map(|t| t.and_utc().timestamp_millis())
                .min()
                .ok_or(SourceError::BadTimestamp)?
        }
    };
    check_ts(ms)
}

fn is_method(t: &str) -> bool {
    (3..=10).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_uppercase())
}

fn is_url(t: &str) -> bool {
    t.starts_with("http://") || t.starts_with("https://") || t.starts_with('/')
}

fn digits(t: &str) -> bool {
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

/// `1146604-99`, `812345+120`, `+-99` style diff tails, or a bare `1147658`.
fn mem_whole(t: &str) -> bool {
    let head = t.bytes().take_while(u8::is_ascii_digit).count();
    head > 0 && (head == t.len() || mem_diff(&t[head..]))
}

/// A diff split from its free-memory count: `+120`, `-99`, `+-99`.
fn mem_diff(t: &str) -> bool {
    let signs = t.bytes().take_while(|b| matches!(b, b'+' | b'-')).count();
    (1..=2).contains(&signs) && digits(&t[signs..])
}

/// Cuts the ` -- url: … | userName: …` request context Confluence appends to some lines.
fn strip_mdc(msg: &str) -> &str {
    let mut from = 0;
    while let Some(i) = msg[from..].find(" -- ") {
        let at = from + i;
        if MDC_KEYS.iter().any(|k| msg[at + 4..].starts_with(k)) {
            return &msg[..at];
        }
        from = at + 4;
    }
    msg
}

pub(super) fn parse(line: &str, opts: &ParseOptions) -> Result<Option<SourceEvent>, SourceError> {
    let Some((lstart, lend)) = logger_span(line) else {
        return Ok(None);
    };
    let mut msg = line[lend..].trim_start();
    // `%M`, the Java method: only doFilter logs requests (init logs the format description).
    let (first, rest) = msg.split_once(' ').unwrap_or((msg, ""));
    if first == "doFilter" {
        msg = rest;
    } else if first == "init" || first == "destroy" || msg.starts_with("Format is") {
        return Ok(None);
    }
    let tz = opts.tz.as_ref().ok_or(SourceError::NeedTz)?;
    let local = local_ts(line.as_bytes()).ok_or(SourceError::BadTimestamp)?;
    let ts_ms = to_utc(tz, local)?;

    let toks: Vec<&str> = strip_mdc(msg).split_ascii_whitespace().collect();
    if toks.is_empty() {
        return Err(SourceError::Truncated("user"));
    }
    let url_at = (1..toks.len()).find(|&i| is_url(toks[i])).ok_or(SourceError::Truncated("URL"))?;
    let n = toks.len();
    match n - url_at {
        1 => return Err(SourceError::Truncated("free memory")),
        2 => return Err(SourceError::Truncated("duration")),
        3 => return Err(SourceError::Truncated("remote address")),
        _ => {}
    }
    let ip = toks[n - 1];
    let duration_ms: u32 = if digits(toks[n - 2]) {
        toks[n - 2].parse().map_err(|_| SourceError::BadField("duration"))?
    } else {
        return Err(SourceError::BadField("duration"));
    };
    let url_end = if mem_whole(toks[n - 3]) {
        n - 3
    } else if mem_diff(toks[n - 3]) && n - 4 > url_at && digits(toks[n - 4]) {
        n - 4
    } else {
        return Err(SourceError::BadField("free memory"));
    };
    let url = toks[url_at..url_end].join(" ");
    let pre = &toks[..url_at];
    let (user, method) = match pre {
        [users @ .., m] if !users.is_empty() && is_method(m) => (users.join(" "), *m),
        _ => (pre.join(" "), ""),
    };

    let (host, path, query) = split_url(&url);
    let path = if path.is_empty() { "/" } else { path };
    // Builds without a method logged page requests, nearly all GETs.
    let c = classify(&opts.context_path, if method.is_empty() { "GET" } else { method }, path, query);
    let actor = if user == "-" { Actor::Anonymous } else { Actor::Username(fold_user(&user).into_owned()) };
    let mut e = SourceEvent::new(ts_ms, actor, c.action);
    e.page_id = c.page_id;
    e.space = c.space;
    e.title = c.title;
    e.duration_ms = duration_ms;
    e.ip = ip.to_owned();
    e.method = method.to_owned();
    e.path = path.to_owned();
    e.query = query.to_owned();
    if let Some(code) = opts.context_path.strip(path).strip_prefix("/x/") {
        let code = code.trim_end_matches('/');
        if let Some(id) = (!code.is_empty()).then(|| tiny_link_page_id(code)).flatten() {
            // The redirect, not the read: the page's own request follows it.
            e.page_id = Some(id);
            e.push_extra("tiny_link", code);
        }
    }
    let head = line.get(TS_LEN..lstart).unwrap_or("");
    if let (Some(a), Some(b)) = (head.find('['), head.rfind(']')) {
        if a < b {
            e.push_extra("thread", &head[a + 1..b]);
        }
    }
    e.push_extra("host", host);
    Ok(Some(e))
}
