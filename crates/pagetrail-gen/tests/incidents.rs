//! Planted incidents: off means unchanged bytes, on means every incident's lines sit inside its
//! ground-truth window and cross the detections.md §8 thresholds, and nothing else changes.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};

use pagetrail_gen::{
    generate, generate_files, incidents, read_ground_truth, site, write_ground_truth, GenConfig, Incident, Variant,
};

const KINDS: [&str; 7] = [
    "night-scrape",
    "slow-insider",
    "admin-browse",
    "export-burst",
    "secret-search",
    "denied-probing",
    "dormant-wakeup",
];

const DETECTORS: [&str; 15] = [
    "burst",
    "space-breadth",
    "baseline",
    "peer-outlier",
    "new-space",
    "new-source",
    "scripted-agent",
    "api-crawl",
    "search-then-fetch",
    "export",
    "privileged",
    "off-hours",
    "dormant",
    "denied-probing",
    "composite",
];

/// A writer that hands every complete line to a closure, so big runs need no memory.
struct Lines<F: FnMut(&str)> {
    partial: Vec<u8>,
    f: F,
}

impl<F: FnMut(&str)> Write for Lines<F> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        for (i, &b) in data.iter().enumerate() {
            if b == b'\n' {
                if self.partial.is_empty() {
                    (self.f)(std::str::from_utf8(&data[start..i]).expect("ASCII"));
                } else {
                    self.partial.extend_from_slice(&data[start..i]);
                    (self.f)(std::str::from_utf8(&self.partial).expect("ASCII"));
                    self.partial.clear();
                }
                start = i + 1;
            }
        }
        self.partial.extend_from_slice(&data[start..]);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
    }
    h
}

fn run(cfg: &GenConfig) -> Vec<u8> {
    let mut out = Vec::new();
    generate(cfg, &mut out).expect("generate into a Vec");
    out
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// UTC seconds of the `[dd/Mon/yyyy:HH:MM:SS +zzzz]` stamp in a line of any variant.
fn line_utc(line: &str) -> Option<i64> {
    let at = line.find('[')?;
    let ts = line.get(at..at + 28)?;
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (d, y, h, mi, s) = (num(1..3)?, num(8..12)?, num(13..15)?, num(16..18)?, num(19..21)?);
    let name = ts.get(4..7)?;
    let mon = MONTHS.iter().position(|m| *m == name)? as i64 + 1;
    let (yy, mm) = if mon <= 2 { (y - 1, mon + 9) } else { (y, mon - 3) };
    let era = yy / 400;
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let sign = if ts.get(22..23)? == "-" { -1 } else { 1 };
    let off = sign * (num(23..25)? * 3600 + num(25..27)? * 60);
    Some(days * 86_400 + h * 3600 + mi * 60 + s - off)
}

/// The username field of a line of the given variant.
fn line_user(variant: Variant, line: &str) -> &str {
    let mut tok = line.split(' ');
    match variant {
        Variant::A => tok.nth(2),
        // A chained X-Forwarded-For (`client, proxy`) spans two tokens.
        Variant::B => tok.skip(2).find(|t| !t.ends_with(',')).and_then(|_| {
            let mut rest = line.split(' ').skip(2).skip_while(|t| t.ends_with(','));
            rest.nth(1)
        }),
        Variant::C => tok.nth(1),
    }
    .unwrap_or("")
}

fn cfg_on(users: u32, days: u32, variant: Variant, seed: u64) -> GenConfig {
    GenConfig { users, days, variant, seed, incidents: true, ..GenConfig::default() }
}

#[test]
fn off_is_empty_and_byte_identical_to_before() {
    // Fingerprints of the output before incidents existed: switching the feature off must not
    // move a byte.
    let a = GenConfig { users: 60, days: 25, seed: 9, ..GenConfig::default() };
    let c = GenConfig { users: 40, days: 12, seed: 5, variant: Variant::C, ..GenConfig::default() };
    assert!(!GenConfig::default().incidents);
    assert!(incidents(&a).is_empty());
    assert_eq!(fnv(&run(&a)), 0xb525_8650_3c18_352c);
    assert_eq!(fnv(&run(&c)), 0x2a20_533a_6bae_88d7);
    // Too short or too small: nothing planted, nothing changed.
    for small in
        [GenConfig { incidents: true, ..c.clone() }, GenConfig { users: 19, days: 30, incidents: true, ..a.clone() }]
    {
        assert!(incidents(&small).is_empty(), "{small:?}");
        let off = GenConfig { incidents: false, ..small.clone() };
        assert!(run(&small) == run(&off), "{small:?}");
    }
}

#[derive(Default, Debug)]
struct Seen {
    /// Lines of the incident's user inside / outside its window.
    inside: u64,
    outside: u64,
    at_start: bool,
    at_end: bool,
    /// Kind-specific count checked below.
    signature: u64,
    /// Distinct pages or spaces, kind-specific.
    distinct: BTreeSet<String>,
    /// A second kind-specific count.
    other: u64,
}

fn query_id(uri: &str) -> Option<&str> {
    uri.split("pageId=").nth(1).map(|s| s.split('&').next().unwrap_or(s))
}

#[test]
fn every_incident_is_planted_inside_its_window() {
    let cfg = cfg_on(300, 120, Variant::A, 42);
    let truth = incidents(&cfg);
    let s = site(&cfg);
    assert_eq!(truth.len(), 7);
    let kinds: BTreeSet<&str> = truth.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, KINDS.iter().copied().collect());
    let users: BTreeSet<&str> = truth.iter().map(|i| i.user.as_str()).collect();
    assert_eq!(users.len(), 7, "incident users must be distinct");
    assert!(truth.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
    // 2026-03-16 00:00 +01:00 plus 60 days of history.
    let data_start = 1_773_615_600_000i64;
    for i in &truth {
        assert!(i.start_ms <= i.end_ms, "{i:?}");
        assert!(i.start_ms >= data_start + 60 * 86_400_000, "{i:?}");
        assert!(!i.detectors.is_empty());
        assert!(i.detectors.iter().all(|d| DETECTORS.contains(&d.as_str())), "{i:?}");
        assert!(s.users.contains(&i.user));
    }
    let admins = [s.users[0].as_str(), s.users[1].as_str()];
    let by_kind = |k: &str| truth.iter().position(|i| i.kind == k).unwrap();
    assert!(admins.contains(&truth[by_kind("admin-browse")].user.as_str()));

    let mut seen: Vec<Seen> = truth.iter().map(|_| Seen::default()).collect();
    let mut foreign_scraper_ip = 0;
    let mut sink = Lines {
        partial: Vec::new(),
        f: |line: &str| {
            let Some(t) = line_utc(line) else { return };
            let tok: Vec<&str> = line.split(' ').collect();
            if tok.len() < 13 {
                return; // torn
            }
            let (user, host, method, uri, status) = (tok[2], tok[4], tok[5], tok[6], tok[8]);
            if host.starts_with("192.0.2.") && user != truth[by_kind("night-scrape")].user {
                foreign_scraper_ip += 1;
            }
            for (k, inc) in truth.iter().enumerate() {
                let ms = t * 1000;
                let e = &mut seen[k];
                if ms == inc.start_ms {
                    e.at_start = true;
                }
                if ms == inc.end_ms {
                    e.at_end = true;
                }
                if user != inc.user {
                    continue;
                }
                if ms < inc.start_ms || ms > inc.end_ms {
                    e.outside += 1;
                    continue;
                }
                e.inside += 1;
                let ok = status == "200" || status == "304";
                let view = uri.starts_with("/pages/viewpage.action")
                    || uri.starts_with("/display/")
                    || (uri.starts_with("/spaces/") && uri.contains("/pages/"));
                match inc.kind.as_str() {
                    "night-scrape" if host.starts_with("192.0.2.") => {
                        assert_eq!(tok[11], "-", "{line}");
                        assert_eq!(tok[12..].join(" "), "python-requests/2.31.0");
                        let hour: u32 = tok[0][13..15].parse().unwrap();
                        assert!((1..4).contains(&hour), "{line}");
                        e.signature += 1;
                        if let Some(rest) = uri.strip_prefix("/rest/api/content/") {
                            if let Some(id) = rest.strip_suffix("?expand=body.storage") {
                                if ok {
                                    e.distinct.insert(id.to_string());
                                }
                            }
                        }
                        if uri.starts_with("/rest/api/content?spaceKey=") && !uri.ends_with("&start=0") {
                            e.other += 1;
                        }
                    }
                    "slow-insider" | "dormant-wakeup" if view && ok => {
                        e.signature += 1;
                        e.distinct.insert(uri.to_string());
                    }
                    "admin-browse" => {
                        if uri.starts_with("/admin/") {
                            e.other += 1;
                        }
                        if view && ok {
                            e.signature += 1;
                            if let Some(key) = uri.strip_prefix("/display/") {
                                e.distinct.insert(key.split('/').next().unwrap().to_string());
                            }
                            if let Some(key) = uri.strip_prefix("/spaces/") {
                                e.distinct.insert(key.split('/').next().unwrap().to_string());
                            }
                        }
                    }
                    "export-burst" => {
                        if uri.starts_with("/spaces/flyingpdf/pdfpageexport.action?pageId=")
                            || uri.starts_with("/exportword?pageId=")
                        {
                            e.signature += 1;
                            e.distinct.insert(query_id(uri).unwrap().to_string());
                        }
                        if method == "POST" && uri.starts_with("/spaces/doexportspace.action?key=") {
                            e.other += 1;
                        }
                    }
                    "secret-search" => {
                        if uri == "/dosearchsite.action?queryString=password"
                            || uri.starts_with("/rest/api/search?cql=text~%22aws%20secret%22")
                        {
                            e.other += 1;
                        }
                        if uri.starts_with("/dosearchsite.action?queryString=")
                            || uri.starts_with("/rest/api/search?cql=")
                        {
                            e.signature += 1;
                        }
                        if view && ok {
                            e.distinct.insert(uri.to_string());
                        }
                    }
                    "denied-probing"
                        if (status == "403" || status == "404")
                            && (uri.starts_with("/pages/viewpage.action?pageId=") || uri.starts_with("/display/")) =>
                    {
                        e.signature += 1;
                    }
                    _ => {}
                }
            }
        },
    };
    generate(&cfg, &mut sink).unwrap();
    drop(sink);
    assert_eq!(foreign_scraper_ip, 0, "the scraper's address is new to everyone");

    for (inc, e) in truth.iter().zip(&seen) {
        let dur_s = (inc.end_ms - inc.start_ms) / 1000;
        assert!(e.at_start && e.at_end, "{inc:?} {e:?}");
        assert!(e.inside > 0, "{inc:?}");
        match inc.kind.as_str() {
            "night-scrape" => {
                assert!(e.distinct.len() >= 2000, "{}", e.distinct.len());
                assert!(e.other >= 5, "paged listings: {}", e.other);
                assert!(dur_s <= 3 * 3600);
                assert!(inc.detectors.contains(&"api-crawl".to_string()));
            }
            "slow-insider" => {
                // Ten working days of ~5x a usual day, in office hours only.
                assert!(e.distinct.len() >= 400, "{}", e.distinct.len());
                assert!((9 * 86_400..=14 * 86_400).contains(&dur_s), "{dur_s}");
            }
            "admin-browse" => {
                assert!(e.other >= 3, "admin requests: {}", e.other);
                assert!(e.signature >= 100);
                assert_eq!(e.distinct.len(), s.spaces.len().min(34));
                assert!(dur_s <= 4 * 3600);
            }
            "export-burst" => {
                assert!(e.distinct.len() >= 20, "{}", e.distinct.len());
                assert!(e.other >= 1, "the space export");
                assert!(dur_s <= 3600);
            }
            "secret-search" => {
                assert!(e.other >= 2, "the password and aws secret searches");
                assert!(e.signature >= 5, "{}", e.signature);
                assert!(e.distinct.len() >= 15);
                assert!(dur_s <= 40 * 60);
            }
            "denied-probing" => {
                assert!(e.signature >= 30, "{}", e.signature);
                assert!(dur_s <= 600);
            }
            "dormant-wakeup" => {
                assert!(e.distinct.len() >= 150, "{}", e.distinct.len());
                assert!(dur_s <= 3600);
                assert_eq!(e.outside, 0, "the dormant account is silent otherwise");
                assert!(inc.start_ms >= data_start + 90 * 86_400_000);
            }
            other => panic!("unknown kind {other}"),
        }
    }
}

#[test]
fn only_the_planted_lines_and_the_dormant_account_differ() {
    let on = cfg_on(40, 40, Variant::B, 7);
    let off = GenConfig { incidents: false, ..on.clone() };
    let truth = incidents(&on);
    assert_eq!(truth.len(), 7);
    let dormant = &truth.iter().find(|i| i.kind == "dormant-wakeup").unwrap().user;
    let (a, b) = (run(&off), run(&on));
    let (a, b) = (std::str::from_utf8(&a).unwrap(), std::str::from_utf8(&b).unwrap());
    let mut count: HashMap<&str, i64> = HashMap::new();
    for l in a.lines() {
        *count.entry(l).or_default() += 1;
    }
    for l in b.lines() {
        *count.entry(l).or_default() -= 1;
    }
    let mut per_incident = vec![0u64; truth.len()];
    let (mut removed_named, mut removed_hidden) = (0, 0);
    for (line, n) in &count {
        if *n < 0 {
            let t = line_utc(line).expect("planted lines are never torn") * 1000;
            // The narrowest window: the slow insider's two weeks contain other incidents.
            let k = (0..truth.len())
                .filter(|&k| t >= truth[k].start_ms && t <= truth[k].end_ms)
                .min_by_key(|&k| truth[k].end_ms - truth[k].start_ms)
                .unwrap_or_else(|| panic!("added line outside every incident: {line}"));
            let u = line_user(Variant::B, line);
            assert!(u == "-" || truth.iter().any(|i| i.user == u), "{line}");
            per_incident[k] += n.unsigned_abs();
        } else if *n > 0 {
            match line_user(Variant::B, line) {
                u if u == dormant => removed_named += n,
                "-" => removed_hidden += n,
                u => panic!("a line of {u} vanished: {line}"),
            }
        }
    }
    assert!(per_incident.iter().all(|&n| n > 0), "{per_incident:?}");
    assert!(removed_named > 0 && removed_hidden <= 3 * removed_named);
    // The dormant account appears only in its own hour.
    let wake = truth.iter().find(|i| &i.user == dormant).unwrap();
    for l in b.lines().filter(|l| line_user(Variant::B, l) == dormant) {
        let t = line_utc(l).unwrap() * 1000;
        assert!(t >= wake.start_ms && t <= wake.end_ms, "{l}");
    }
    // Deterministic for a seed, different for another.
    assert!(run(&on) == b.as_bytes());
    let other = incidents(&GenConfig { seed: 8, ..on });
    assert_ne!(other, truth);
}

#[test]
fn ground_truth_round_trips_as_json_lines() {
    let cfg = cfg_on(40, 40, Variant::C, 3);
    let truth = incidents(&cfg);
    assert_eq!(truth, incidents(&cfg));
    let mut out = Vec::new();
    write_ground_truth(&truth, &mut out).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert_eq!(text.lines().count(), truth.len());
    for (line, inc) in text.lines().zip(&truth) {
        assert!(line.starts_with('{') && line.ends_with('}'));
        for key in [
            "\"kind\":",
            "\"user\":",
            "\"start\":",
            "\"end\":",
            "\"start_ms\":",
            "\"end_ms\":",
            "\"detectors\":[",
            "\"description\":",
        ] {
            assert!(line.contains(key), "{key} missing in {line}");
        }
        // RFC 3339 UTC with Z, matching the ms field.
        let start = line.split("\"start\":\"").nth(1).unwrap();
        let start = &start[..start.find('"').unwrap()];
        assert!(start.len() == 20 && start.ends_with('Z') && &start[10..11] == "T");
        assert_eq!(
            line_utc(&format!(
                "[{}/{}/{}:{} +0000]",
                &start[8..10],
                MONTHS[start[5..7].parse::<usize>().unwrap() - 1],
                &start[0..4],
                &start[11..19]
            ))
            .unwrap()
                * 1000,
            inc.start_ms
        );
    }
    let back: Vec<Incident> = read_ground_truth(&mut out.as_slice()).unwrap();
    assert_eq!(back, truth);
    assert!(read_ground_truth(&mut &b"{\"kind\":1}\n"[..]).is_err());
}

#[test]
fn files_match_the_stream_with_incidents() {
    let cfg = GenConfig { torn_lines: true, ..cfg_on(30, 22, Variant::C, 11) };
    assert_eq!(incidents(&cfg).len(), 7);
    let stream = run(&cfg);
    let dir = std::env::temp_dir().join(format!("pagetrail-gen-inc-{}", std::process::id()));
    let (paths, _) = generate_files(&cfg, &dir).unwrap();
    let mut joined = Vec::new();
    for p in &paths {
        joined.extend(std::fs::read(p).unwrap());
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(joined == stream);
}

#[test]
fn odd_configs_with_incidents_do_not_panic() {
    for c in [
        GenConfig { spaces: 1, pages: 20, ..cfg_on(20, 21, Variant::A, 1) },
        GenConfig { spaces: 50, pages: 3, reads_per_user_day: 0.5, ..cfg_on(25, 23, Variant::B, 2) },
        GenConfig { start: (2026, 10, 1), context_path: "/confluence".into(), ..cfg_on(20, 40, Variant::C, 3) },
    ] {
        let truth = incidents(&c);
        assert_eq!(truth.len(), 7, "{c:?}");
        let out = run(&c);
        assert!(!out.is_empty());
        for i in &truth {
            assert!(i.start_ms <= i.end_ms);
        }
    }
}
