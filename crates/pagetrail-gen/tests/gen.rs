//! Output-level checks: determinism, coverage of the contract's URL shapes, variant shapes, time, torn lines, catalog.

use std::collections::BTreeSet;

use pagetrail_gen::{generate, generate_files, site, write_catalog, GenConfig, GenSummary, Page, Site, Variant};

fn run(cfg: &GenConfig) -> (String, GenSummary) {
    let mut out = Vec::new();
    let sum = generate(cfg, &mut out).expect("generate into a Vec");
    assert_eq!(sum.bytes, out.len() as u64);
    assert_eq!(sum.lines, out.iter().filter(|&&b| b == b'\n').count() as u64);
    assert!(out.is_ascii(), "Tomcat escapes non-ASCII; URLs are percent-encoded");
    (String::from_utf8(out).expect("ASCII"), sum)
}

fn cfg(variant: Variant) -> GenConfig {
    GenConfig { variant, ..GenConfig::default() }
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE"];

/// The fields every variant carries, pulled out of one line.
#[derive(Debug)]
struct Fields<'a> {
    ts: &'a str,
    user: &'a str,
    host: &'a str,
    /// `None` for a request logged as a lone `-`.
    method: Option<&'a str>,
    uri: &'a str,
    status: u16,
    ua: String,
}

fn status(s: &str) -> Result<u16, String> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.parse().unwrap())
    } else {
        Err(format!("bad status {s:?}"))
    }
}

fn bytes_ok(s: &str) -> Result<(), String> {
    if s == "-" || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s != "0") {
        Ok(())
    } else {
        Err(format!("bad bytes {s:?}"))
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn ts_ok(a: &str, b: &str) -> Result<(), String> {
    if a.len() == 21 && a.starts_with('[') && (b == "+0100]" || b == "+0200]") {
        Ok(())
    } else {
        Err(format!("bad timestamp {a} {b}"))
    }
}

/// Variants A and B after the timestamp (and B's X-Forwarded-For): user thread host %r %s %Dms %b referer UA.
fn parse_ab<'a>(ts: &'a str, t: &[&'a str]) -> Result<Fields<'a>, String> {
    if t.len() < 9 || !t[1].starts_with("http-nio-8090-exec-") || !digits(&t[1][19..]) {
        return Err(format!("bad thread in {t:?}"));
    }
    let (method, uri, rest) = if t[3] == "-" {
        (None, "", &t[4..])
    } else {
        if !METHODS.contains(&t[3]) || t[5] != "HTTP/1.1" {
            return Err(format!("bad request line {t:?}"));
        }
        (Some(t[3]), t[4], &t[6..])
    };
    if rest.len() < 5 {
        return Err("line too short".into());
    }
    let st = status(rest[0])?;
    if !rest[1].ends_with("ms") || !digits(&rest[1][..rest[1].len() - 2]) {
        return Err(format!("bad %Dms {}", rest[1]));
    }
    bytes_ok(rest[2])?;
    if rest[3] != "-" && !rest[3].starts_with("https://wiki.example.com/") {
        return Err(format!("bad referer {}", rest[3]));
    }
    Ok(Fields { ts, user: t[0], host: t[2], method, uri, status: st, ua: rest[4..].join(" ") })
}

fn parse(variant: Variant, line: &str) -> Result<Fields<'_>, String> {
    let t: Vec<&str> = line.split(' ').collect();
    if t.len() < 8 {
        return Err("too few tokens".into());
    }
    match variant {
        Variant::A => {
            ts_ok(t[0], t[1])?;
            parse_ab(t[0], &t[2..])
        }
        Variant::B => {
            ts_ok(t[0], t[1])?;
            // X-Forwarded-For: `-`, one address, or `client, proxy`.
            let skip = if t[2].ends_with(',') { 2 } else { 1 };
            parse_ab(t[0], &t[2 + skip..])
        }
        Variant::C => {
            ts_ok(t[2], t[3])?;
            let (method, uri, rest) = if t[4] == "\"-\"" {
                (None, "", &t[5..])
            } else {
                let m = t[4].strip_prefix('"').ok_or("no opening quote")?;
                if !METHODS.contains(&m) || t[6] != "HTTP/1.1\"" {
                    return Err(format!("bad request line {t:?}"));
                }
                (Some(m), t[5], &t[7..])
            };
            if rest.len() < 6 {
                return Err("line too short".into());
            }
            let st = status(rest[0])?;
            bytes_ok(rest[1])?;
            if !digits(rest[2]) {
                return Err(format!("bad %D {}", rest[2]));
            }
            let path = uri.split('?').next().unwrap_or("");
            if (method.is_some() && rest[3] != path) || (method.is_none() && rest[3] != "-") {
                return Err(format!("%U {} is not the path of {uri}", rest[3]));
            }
            if !rest[4].starts_with("http-nio-8090-exec-") {
                return Err(format!("bad thread {}", rest[4]));
            }
            let ua = rest[5..].join(" ");
            let ua = ua.strip_prefix('"').and_then(|u| u.strip_suffix('"')).ok_or("UA not quoted")?;
            Ok(Fields { ts: t[2], user: t[1], host: t[0], method, uri, status: st, ua: ua.to_string() })
        }
    }
}

#[test]
fn same_config_same_bytes_other_seed_differs() {
    let small = GenConfig { users: 60, days: 3, ..GenConfig::default() };
    let (a, sa) = run(&small);
    let (b, sb) = run(&small);
    assert_eq!(sa, sb);
    assert!(a == b, "output must be byte-identical for one config");
    let (c, _) = run(&GenConfig { seed: 43, ..small.clone() });
    assert_ne!(a, c);
    assert_eq!(site(&small), site(&small));
    assert_ne!(site(&small), site(&GenConfig { seed: 43, ..small }));
}

#[test]
fn every_contract_row_appears_in_a_default_run() {
    let (log, sum) = run(&cfg(Variant::A));
    assert!(sum.lines > 50_000, "{sum:?}");
    let mut parsed = Vec::new();
    let mut bad = 0;
    for line in log.lines() {
        match parse(Variant::A, line) {
            Ok(f) => parsed.push(f),
            Err(_) => bad += 1,
        }
    }
    assert_eq!(bad as u64, sum.torn, "every torn line, and only those, must fail to parse");

    let has = |pred: &dyn Fn(&Fields) -> bool| parsed.iter().any(pred);
    let path_has = |needle: &str| parsed.iter().any(|f| f.uri.contains(needle));
    let starts = |prefix: &str| parsed.iter().any(|f| f.uri.starts_with(prefix));
    let segs = |f: &Fields| -> Vec<String> {
        f.uri.split('?').next().unwrap_or("").split('/').skip(1).map(str::to_string).collect()
    };
    let is_num = |s: &str| digits(s);

    // Views.
    assert!(starts("/pages/viewpage.action?pageId="));
    assert!(starts("/pages/viewpage.action?spaceKey="));
    assert!(path_has("&title="));
    assert!(
        has(&|f| {
            let s = segs(f);
            s.len() == 3 && s[0] == "display"
        }),
        "/display/K/T"
    );
    assert!(
        has(&|f| {
            let s = segs(f);
            s.len() == 6 && s[0] == "display" && s[2].len() == 4 && is_num(&s[2]) && is_num(&s[3]) && is_num(&s[4])
        }),
        "/display/K/yyyy/mm/dd/T"
    );
    assert!(
        has(&|f| {
            let s = segs(f);
            s.len() == 2 && s[0] == "display"
        }),
        "/display/K"
    );
    assert!(has(&|f| {
        let s = segs(f);
        s.len() == 5 && s[0] == "spaces" && s[2] == "pages" && is_num(&s[3])
    }));
    assert!(has(&|f| {
        let s = segs(f);
        s.len() == 4 && s[0] == "spaces" && s[2] == "pages" && is_num(&s[3])
    }));
    for p in [
        "/pages/viewinfo.action?pageId=",
        "/pages/viewpreviousversions.action?pageId=",
        "/pages/diffpages.action?pageId=",
        "/pages/diffpagesbyversion.action?pageId=",
        "/plugins/viewsource/viewpagesrc.action?pageId=",
    ] {
        assert!(starts(p), "{p}");
    }
    assert!(path_has("&selectedPageVersions="));
    // REST.
    let api_id = |f: &Fields| {
        let s = segs(f);
        s.len() == 4 && s[0] == "rest" && s[1] == "api" && s[2] == "content" && is_num(&s[3])
    };
    assert!(has(&|f| api_id(f) && f.method == Some("GET") && f.uri.contains("expand=body.storage")));
    assert!(has(&|f| api_id(f) && f.method == Some("PUT")));
    assert!(has(&|f| f.uri.starts_with("/rest/api/content/") && f.uri.contains("/child/page?limit=25")));
    assert!(starts("/rest/api/content?spaceKey="));
    assert!(has(&|f| f.uri.starts_with("/rest/api/content?") && !f.uri.contains("spaceKey")));
    assert!(starts("/rest/api/space"));
    // Downloads, exports.
    assert!(has(&|f| f.uri.starts_with("/download/attachments/")
        && f.uri.contains("%20")
        && f.uri.contains("&api=v2")));
    for p in [
        "/pages/downloadallattachments.action?pageId=",
        "/spaces/flyingpdf/pdfpageexport.action?pageId=",
        "/exportword?pageId=",
        "/spaces/exportspacewelcome.action?key=",
        "/spaces/doexportspace.action?key=",
        "/spaces/flyingpdf/flyingpdf.action?key=",
    ] {
        assert!(starts(p), "{p}");
    }
    // Search, auth, admin.
    for p in [
        "/dosearchsite.action?queryString=",
        "/rest/api/search?cql=",
        "/rest/api/content/search?cql=",
        "/rest/quicknav/1/search?query=",
        "/login.action",
        "/logout.action",
        "/admin/",
    ] {
        assert!(starts(p), "{p}");
    }
    assert!(has(&|f| f.uri == "/dologin.action" && f.method == Some("POST") && f.user == "-" && f.status == 302));
    // Noise.
    for p in [
        "/s/",
        "/download/resources/",
        "/download/batch/",
        "/download/contextbatch/",
        "/download/thumbnails/",
        "/images/",
        "/favicon.ico",
        "/rest/wrm/",
        "/rest/analytics/",
        "/rest/mywork/",
        "/rest/quickreload/",
        "/synchrony/",
        "/rest/troubleshooting/",
    ] {
        assert!(starts(p), "{p}");
    }
    assert!(has(&|f| f.uri == "/rest/wrm/2.0/resources" && f.method == Some("POST")));
    // Other, and a request logged as a lone `-`.
    assert!(starts("/index.action"));
    assert!(has(&|f| f.method.is_none()));

    // Quirks of who and how.
    for f in &parsed {
        for p in ["/s/", "/download/batch", "/download/contextbatch", "/download/resources"] {
            if f.uri.starts_with(p) {
                assert_eq!(f.user, "-", "the username header is not set on {p}");
            }
        }
    }
    assert!(has(&|f| f.host == "0:0:0:0:0:0:0:1"));
    assert!(has(&|f| f.host.starts_with("2001:db8:0:0:0:0:0:")));
    assert!(has(&|f| f.host.ends_with(".corp.example.com")));
    assert!(has(&|f| f.ua.contains("\\\"")), "a UA with an escaped quote");
    assert!(has(&|f| f.user == "svc-integration"
        && (f.ua.starts_with("python-requests/") || f.ua.starts_with("Apache-HttpClient/"))));
    assert!(
        has(&|f| f.user == "-" && f.uri.starts_with("/pages/viewpage.action?pageId=") && f.status == 200),
        "anonymous reader"
    );
    for st in [200, 302, 304, 403, 404, 400] {
        assert!(has(&|f| f.status == st), "status {st}");
    }
    assert!(has(&|f| f.uri.contains("%C3%") || f.uri.contains("%E6%")), "percent-encoded non-ASCII title");
    let users: BTreeSet<&str> = parsed.iter().map(|f| f.user).collect();
    assert!(users.len() > 150, "{}", users.len());

    // Noise is most of the file: 3 to 6 noise lines per page view.
    let views = parsed
        .iter()
        .filter(|f| {
            f.uri.starts_with("/pages/viewpage.action") || f.uri.starts_with("/display/") || {
                let s = segs(f);
                s.len() >= 4 && s[0] == "spaces" && s[2] == "pages"
            }
        })
        .count();
    let noise = parsed
        .iter()
        .filter(|f| {
            [
                "/s/",
                "/download/batch",
                "/download/contextbatch",
                "/download/resources",
                "/download/thumbnails",
                "/images/",
                "/favicon.ico",
                "/rest/wrm/",
                "/rest/analytics/",
                "/rest/mywork/",
                "/rest/quickreload/",
                "/synchrony/",
                "/rest/troubleshooting/",
            ]
            .iter()
            .any(|p| f.uri.starts_with(p))
        })
        .count();
    let ratio = noise as f64 / views as f64;
    assert!((3.0..=6.5).contains(&ratio), "noise per view {ratio}");
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `[dd/Mon/yyyy:HH:MM:SS` + `+hhmm]` to (UTC seconds since epoch, local hour, local day of month).
fn utc(ts: &str, off: &str) -> (i64, u32, u32) {
    let d: i64 = ts[1..3].parse().unwrap();
    let mon = MONTHS.iter().position(|m| *m == &ts[4..7]).unwrap() as i64 + 1;
    let y: i64 = ts[8..12].parse().unwrap();
    let h: i64 = ts[13..15].parse().unwrap();
    let mi: i64 = ts[16..18].parse().unwrap();
    let s: i64 = ts[19..21].parse().unwrap();
    // Days from civil (Hinnant), enough for the 2000s.
    let (yy, mm) = if mon <= 2 { (y - 1, mon + 9) } else { (y, mon - 3) };
    let era = yy / 400;
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let sign = if &off[0..1] == "-" { -1 } else { 1 };
    let off_s = sign * (off[1..3].parse::<i64>().unwrap() * 3600 + off[3..5].parse::<i64>().unwrap() * 60);
    (days * 86_400 + h * 3600 + mi * 60 + s - off_s, h as u32, d as u32)
}

#[test]
fn time_order_dst_switch_and_working_day_rhythm() {
    let (log, sum) = run(&cfg(Variant::A));
    let mut last = i64::MIN;
    let mut saw = (false, false);
    let mut by_hour = [0u32; 24];
    let mut by_day = std::collections::BTreeMap::new();
    for line in log.lines() {
        let Ok(f) = parse(Variant::A, line) else {
            continue;
        };
        let off = &line[22..27];
        let (t, h, d) = utc(f.ts, off);
        assert!(t >= last, "out of order: {line}");
        last = t;
        match off {
            "+0100" => saw.0 = true,
            "+0200" => {
                saw.1 = true;
                assert!(t >= 1_774_746_000, "+0200 before 2026-03-29 01:00 UTC: {line}");
            }
            _ => panic!("offset {off}"),
        }
        if d == 17 {
            by_hour[h as usize] += 1;
        }
        *by_day.entry(d).or_insert(0u32) += 1;
    }
    assert!(saw.0 && saw.1, "the DST switch on 2026-03-29 must show in %t");
    assert!(sum.torn >= 1);
    // Tuesday: office hours dominate the night; weekends are quiet.
    assert!(by_hour[10] > 10 * by_hour[3].max(1), "{by_hour:?}");
    let (tue, sat) = (by_day[&17], by_day[&21]);
    assert!(tue > 5 * sat, "weekday {tue} vs saturday {sat}");
}

#[test]
fn variants_have_their_token_shapes() {
    for v in [Variant::A, Variant::B, Variant::C] {
        let c = GenConfig { users: 80, days: 8, torn_lines: false, ..cfg(v) };
        let (log, sum) = run(&c);
        assert_eq!(sum.torn, 0);
        let mut xff = BTreeSet::new();
        for line in log.lines() {
            let f = parse(v, line).unwrap_or_else(|e| panic!("{v:?}: {e}: {line}"));
            if f.method.is_some() {
                assert!(f.uri.starts_with('/'), "{line}");
            }
            match v {
                Variant::A => assert!(line.starts_with('[')),
                Variant::B => {
                    let t: Vec<&str> = line.split(' ').collect();
                    xff.insert(if t[2] == "-" {
                        "dash"
                    } else if t[2].ends_with(',') {
                        "chain"
                    } else {
                        "single"
                    });
                    // Behind the proxy %h is the proxy; only direct callers show their own address.
                    if t[2] != "-" {
                        assert_eq!(f.host, "10.0.0.2", "{line}");
                    }
                }
                Variant::C => assert!(!line.starts_with('[') && line.ends_with('"')),
            }
        }
        if v == Variant::B {
            assert_eq!(xff.len(), 3, "XFF forms seen: {xff:?}");
        }
        if v == Variant::C {
            assert!(log.contains("cql=text~\"password\""), "relaxedQueryChars lets raw quotes into %r");
        }
    }
}

#[test]
fn context_path_prefixes_every_path_and_referer() {
    let c =
        GenConfig { users: 40, days: 2, context_path: "/confluence".into(), torn_lines: false, ..GenConfig::default() };
    let (log, _) = run(&c);
    for line in log.lines() {
        let f = parse(Variant::A, line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if f.method.is_some() {
            assert!(f.uri.starts_with("/confluence/"), "{line}");
        }
        let referer = line.split(' ').rev().find(|t| t.starts_with("https://"));
        if let Some(r) = referer {
            assert!(r.starts_with("https://wiki.example.com/confluence/"), "{line}");
        }
    }
}

#[test]
fn torn_lines_are_counted_and_files_match_the_stream() {
    let c = GenConfig { users: 100, days: 9, variant: Variant::C, ..GenConfig::default() };
    let (stream, sum) = run(&c);
    let bad = stream.lines().filter(|l| parse(Variant::C, l).is_err()).count() as u64;
    assert!(sum.torn >= 1);
    assert_eq!(bad, sum.torn, "every torn line, and only those, must fail to parse");

    let dir = std::env::temp_dir().join(format!("pagetrail-gen-test-{}", std::process::id()));
    let (paths, fsum) = generate_files(&c, &dir).expect("write files");
    assert_eq!(fsum, sum);
    assert_eq!(paths.len(), 9);
    let names: Vec<String> = paths.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names[0], "confluence_access.2026-03-16.log");
    assert_eq!(names[8], "confluence_access.2026-03-24.log");
    let mut joined = String::new();
    let mut big_files = 0;
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap();
        if text.lines().count() > 1000 {
            big_files += 1;
        }
        joined.push_str(&text);
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(joined == stream, "files concatenated must equal the stream");
    assert!(sum.torn >= big_files, "at least one torn line per file over 1000 lines");

    let (_, quiet) = run(&GenConfig { torn_lines: false, ..c });
    assert_eq!(quiet.torn, 0);
}

/// Minimal RFC 4180 reader for the round trip.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[test]
fn catalog_round_trips_quoting() {
    let tricky = Site {
        users: vec!["admin".into()],
        spaces: vec!["ENG".into()],
        pages: vec![
            Page { id: 123_456, space: "ENG".into(), title: "Project \"Nova\", Phase 2".into() },
            Page { id: 987_654_321, space: "ENG".into(), title: "Café, Straße & 日本".into() },
            Page { id: 555_555, space: "ENG".into(), title: "plain".into() },
        ],
    };
    let mut out = Vec::new();
    write_catalog(&tricky, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("123456,ENG,\"Project \"\"Nova\"\", Phase 2\"\n"), "{text}");
    assert!(text.contains("555555,ENG,plain\n"));
    let rows = read_csv(&text);
    assert_eq!(rows[0], ["page_id", "space_key", "title"]);
    for (row, page) in rows[1..].iter().zip(&tricky.pages) {
        assert_eq!(row, &[page.id.to_string(), page.space.clone(), page.title.clone()]);
    }

    // The generated site round-trips as well.
    let s = site(&GenConfig::default());
    let mut out = Vec::new();
    write_catalog(&s, &mut out).unwrap();
    let rows = read_csv(std::str::from_utf8(&out).unwrap());
    assert_eq!(rows.len(), s.pages.len() + 1);
    for (row, page) in rows[1..].iter().zip(&s.pages) {
        assert_eq!(row, &[page.id.to_string(), page.space.clone(), page.title.clone()]);
    }
}

#[test]
fn site_model_is_realistic() {
    let c = GenConfig { users: 5000, ..GenConfig::default() };
    let s = site(&c);
    assert_eq!(s.users.len(), 5000);
    assert_eq!(s.spaces.len(), 200);
    assert_eq!(s.pages.len(), 50_000);
    let users: BTreeSet<&String> = s.users.iter().collect();
    assert_eq!(users.len(), s.users.len(), "usernames are unique");
    assert!(s
        .users
        .iter()
        .all(|u| u.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')));
    assert!(s.users.iter().any(|u| u.contains('.')) && s.users.iter().any(|u| u.bytes().any(|b| b.is_ascii_digit())));
    let ids: BTreeSet<u64> = s.pages.iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), s.pages.len(), "page ids are unique");
    assert!(s.pages.iter().all(|p| (100_000..1_000_000_000).contains(&p.id)), "6 to 9 digit ids");
    let titles: BTreeSet<(&str, &str)> = s.pages.iter().map(|p| (p.space.as_str(), p.title.as_str())).collect();
    assert_eq!(titles.len(), s.pages.len(), "titles are unique within a space");
    for needle in ["é", "ü", "ß", "日本", "&", "/", "?", "+", ","] {
        assert!(s.pages.iter().any(|p| p.title.contains(needle)), "a title with {needle}");
    }
    let small = site(&GenConfig::default());
    assert_eq!(small.spaces.len(), 8);
    assert_eq!(small.users[0], "admin");
    assert_eq!(small.users.last().map(String::as_str), Some("svc-integration"));
}

#[test]
fn odd_configs_do_not_panic() {
    for c in [
        GenConfig { users: 0, days: 1, ..GenConfig::default() },
        GenConfig { users: 4, spaces: 1, pages: 1, days: 2, ..GenConfig::default() },
        GenConfig { users: 10, spaces: 50, pages: 3, days: 1, reads_per_user_day: 0.0, ..GenConfig::default() },
        GenConfig { users: 30, days: 0, ..GenConfig::default() },
        GenConfig { users: 30, days: 3, start: (2026, 10, 24), variant: Variant::B, ..GenConfig::default() },
    ] {
        let (log, sum) = run(&c);
        assert_eq!(sum.lines == 0, c.days == 0, "{c:?}");
        for line in log.lines().filter(|l| parse(c.variant, l).is_err()).take(1) {
            assert!(sum.torn > 0, "unparsable line without tearing: {line}");
        }
    }
}

#[test]
fn autumn_switch_goes_back_to_plus_one() {
    let c = GenConfig { users: 30, days: 2, start: (2026, 10, 24), torn_lines: false, ..GenConfig::default() };
    let (log, _) = run(&c);
    let mut last = i64::MIN;
    let mut offsets = Vec::new();
    for line in log.lines() {
        let f = parse(Variant::A, line).unwrap();
        let (t, _, _) = utc(f.ts, &line[22..27]);
        assert!(t >= last, "{line}");
        last = t;
        if offsets.last() != Some(&line[22..27].to_string()) {
            offsets.push(line[22..27].to_string());
        }
    }
    assert_eq!(offsets, ["+0200", "+0100"]);
}
