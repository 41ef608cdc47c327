//! `events` against an independent re-parse of the same generated files (all three variants).
//!
//! The parser here is written separately from pagetrail-core on purpose: it splits fields its
//! own way and converts times with its own calendar code, so a shared bug cannot hide.

use std::collections::HashMap;
use std::path::Path;

use pagetrail_tests::{json, jsonl};

#[derive(Debug, PartialEq)]
struct Expect {
    ts: String,
    user: String,
    ip: String,
    method: String,
    path: String,
    query: String,
    status: u64,
    bytes: u64,
    duration_ms: u64,
    referer: String,
    user_agent: String,
}

fn month(m: &str) -> Option<u32> {
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|x| *x == m)
        .map(|i| i as u32 + 1)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// UTC RFC 3339 of `dd/Mon/yyyy:HH:MM:SS +hhmm`, by counting days year by year.
fn utc(t: &str) -> Option<String> {
    let (date, zone) = t.split_once(' ')?;
    let mut it = date.splitn(3, '/');
    let (d, mo, rest) = (it.next()?.parse::<i64>().ok()?, month(it.next()?)?, it.next()?);
    let mut hms = rest.split(':');
    let y: i64 = hms.next()?.parse().ok()?;
    let (h, mi, s): (i64, i64, i64) = (hms.next()?.parse().ok()?, hms.next()?.parse().ok()?, hms.next()?.parse().ok()?);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let off = sign * (zone[1..3].parse::<i64>().ok()? * 3600 + zone[3..5].parse::<i64>().ok()? * 60);
    let mdays = [31, if is_leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let days = (1970..y).map(|yy| if is_leap(yy) { 366 } else { 365 }).sum::<i64>()
        + mdays[..mo as usize - 1].iter().sum::<i64>()
        + d
        - 1;
    let mut secs = days * 86400 + h * 3600 + mi * 60 + s - off;
    let day = secs.div_euclid(86400);
    secs = secs.rem_euclid(86400);
    let (mut yy, mut left) = (1970i64, day);
    loop {
        let n = if is_leap(yy) { 366 } else { 365 };
        if left < n {
            break;
        }
        left -= n;
        yy += 1;
    }
    let md = [31, if is_leap(yy) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut m = 0;
    while left >= md[m] {
        left -= md[m];
        m += 1;
    }
    Some(format!("{yy:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", m + 1, left + 1, secs / 3600, secs / 60 % 60, secs % 60))
}

/// Tomcat writes `"` as `\"`, `\` as `\\` and other bytes as `\uXXXX`.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        if let Some(hex) = tail.strip_prefix('u').and_then(|t| t.get(..4)) {
            out.push(char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap());
            rest = &tail[5..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

fn dash(s: &str) -> String {
    if s == "-" {
        String::new()
    } else {
        s.to_owned()
    }
}

/// (method, path, query) of a request line, or empty for a lone `-`.
fn request(r: &str) -> Option<(String, String, String)> {
    if r == "-" {
        return Some(Default::default());
    }
    let mut p = r.split(' ');
    let (m, uri) = (p.next()?, p.next()?);
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    Some((m.to_owned(), path.to_owned(), query.to_owned()))
}

fn parse(variant: char, line: &str) -> Option<Expect> {
    let num = |s: &str| if s == "-" { Some(0) } else { s.parse::<u64>().ok() };
    if variant == 'C' {
        let (host, rest) = line.split_once(' ')?;
        let (user, rest) = rest.split_once(" [")?;
        let (t, rest) = rest.split_once("] \"")?;
        let end = rest.find("\" ")?;
        let (method, path, query) = request(&rest[..end])?;
        let f: Vec<&str> = rest[end + 2..].splitn(6, ' ').collect();
        let ua = f.get(5)?.strip_prefix('"')?.strip_suffix('"')?;
        return Some(Expect {
            ts: utc(t)?,
            user: user.to_lowercase(),
            ip: host.into(),
            method,
            path,
            query,
            status: f[0].parse().ok().filter(|s: &u64| (100..600).contains(s))?,
            bytes: num(f[1])?,
            duration_ms: f[2].parse().ok()?,
            referer: String::new(),
            user_agent: dash(&unescape(ua)),
        });
    }
    let t = line.strip_prefix('[')?.get(..26)?;
    let mut rest = line.get(29..)?.split(' ').collect::<Vec<_>>();
    let mut ip = None;
    if variant == 'B' {
        let mut xff = vec![rest.remove(0)];
        while xff.last()?.ends_with(',') {
            xff.push(rest.remove(0));
        }
        ip = Some(xff[0].trim_end_matches(',').to_owned()).filter(|x| x != "-");
    }
    let (user, host) = (*rest.first()?, *rest.get(2)?);
    let lone = *rest.get(3)? == "-";
    let (req, after) = if lone { ("-".to_string(), 4) } else { (rest.get(3..5)?.join(" "), 6) };
    let (method, path, query) = request(&req)?;
    let status: u64 = rest.get(after)?.parse().ok().filter(|s: &u64| (100..600).contains(s))?;
    let dur = rest.get(after + 1)?.strip_suffix("ms")?.parse().ok()?;
    let bytes = num(rest.get(after + 2)?)?;
    let referer = dash(rest.get(after + 3)?);
    let ua = rest.get(after + 4..)?.join(" ");
    if ua.is_empty() {
        return None;
    }
    Some(Expect {
        ts: utc(t)?,
        user: user.to_lowercase(),
        ip: ip.unwrap_or_else(|| host.into()),
        method,
        path,
        query,
        status,
        bytes,
        duration_ms: dur,
        referer,
        user_agent: dash(&unescape(&ua)),
    })
}

fn check(variant: pagetrail_gen::Variant, letter: char, days: u32) {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    let cfg = pagetrail_gen::GenConfig { users: 60, days, seed: 3, variant, ..Default::default() };
    let (files, _) = pagetrail_gen::generate_files(&cfg, &logs).unwrap();
    let store = d.path().join("store");
    let summary = json(&store, &["ingest", logs.to_str().unwrap()]);
    let listed = jsonl(&store, &["events"]);
    // In time order, then by file and line, across the slices `events` reads at a time.
    let order: Vec<(i64, String, u64)> = listed
        .iter()
        .map(|e| {
            let ts = pagetrail_core::time::parse_instant(e["ts"].as_str().unwrap()).unwrap();
            (ts, e["source"]["file"].as_str().unwrap().to_owned(), e["source"]["line"].as_u64().unwrap())
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "events out of order");
    let stored: HashMap<(String, u64), serde_json::Value> = listed
        .into_iter()
        .map(|e| ((e["source"]["file"].as_str().unwrap().to_owned(), e["source"]["line"].as_u64().unwrap()), e))
        .collect();
    let ctx = pagetrail_core::ContextPath::new("");
    let (mut events, mut rejects, mut noise) = (0u64, 0u64, 0u64);
    for f in &files {
        let name = f.display().to_string();
        for (i, line) in std::fs::read_to_string(Path::new(f)).unwrap().lines().enumerate() {
            let key = (name.clone(), i as u64 + 1);
            let Some(e) = parse(letter, line) else {
                rejects += 1;
                assert!(!stored.contains_key(&key), "{key:?} parsed by pagetrail but not here: {line}");
                continue;
            };
            if pagetrail_core::classify(&ctx, &e.method, &e.path, &e.query).action == pagetrail_core::Action::Noise {
                noise += 1;
                continue;
            }
            events += 1;
            let s = stored.get(&key).unwrap_or_else(|| panic!("{key:?} missing from events: {line}"));
            let got = Expect {
                ts: s["ts"].as_str().unwrap().into(),
                user: s["user"].as_str().unwrap().into(),
                ip: s["ip"].as_str().unwrap().into(),
                method: s["method"].as_str().unwrap().into(),
                path: s["path"].as_str().unwrap().into(),
                query: s["query"].as_str().unwrap().into(),
                status: s["status"].as_u64().unwrap(),
                bytes: s["bytes"].as_u64().unwrap(),
                duration_ms: s["duration_ms"].as_u64().unwrap(),
                referer: s["referer"].as_str().unwrap().into(),
                user_agent: s["user_agent"].as_str().unwrap().into(),
            };
            assert_eq!(got, e, "{key:?}: {line}");
        }
    }
    assert!(events > 500, "too few events to mean anything: {events}");
    assert_eq!(stored.len() as u64, events);
    assert_eq!(summary["events"].as_u64(), Some(events), "{summary}");
    assert_eq!(summary["rejected"].as_u64(), Some(rejects), "{summary}");
    assert_eq!(summary["noise"].as_u64(), Some(noise), "{summary}");
}

#[test]
fn variant_a_matches_reparse() {
    // Sixteen days: `events` reads a week at a time, so this crosses two slice boundaries.
    check(pagetrail_gen::Variant::A, 'A', 16);
}

#[test]
fn variant_b_matches_reparse() {
    check(pagetrail_gen::Variant::B, 'B', 4);
}

#[test]
fn variant_c_matches_reparse() {
    check(pagetrail_gen::Variant::C, 'C', 4);
}

#[test]
fn independent_calendar_agrees_on_known_instants() {
    assert_eq!(utc("18/Dec/2020:12:57:26 +1100").unwrap(), "2020-12-18T01:57:26Z");
    assert_eq!(utc("29/Feb/2024:23:30:00 -0100").unwrap(), "2024-03-01T00:30:00Z");
}
