//! Behaviour tests: per detector a synthetic user that must fire and a normal one that must
//! not, plus allow-lists, configuration, composite scoring, ordering and the JSON shape.

use std::collections::BTreeSet;

use pagetrail_core::time::{days_from_civil, DAY_MS};
use pagetrail_core::Action;

use crate::stats::mean_std;
use crate::*;

const SEC: i64 = 1_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.6099.110 Safari/537.36";

/// Monday 2026-03-02 00:00 UTC: the window start.
fn t0() -> i64 {
    days_from_civil(2026, 3, 2) * DAY_MS
}

fn window() -> Window {
    Window { from_ms: t0(), to_ms: t0() + 7 * DAY_MS }
}

/// Names backed by vectors: id n is entry n - 1.
struct World {
    ips: Vec<String>,
    agents: Vec<String>,
    reqs: Vec<(String, String)>,
}

impl World {
    fn new() -> World {
        let mut w = World { ips: Vec::new(), agents: Vec::new(), reqs: Vec::new() };
        w.add_ip("10.0.0.1");
        w.add_agent(BROWSER);
        w
    }
    fn add_ip(&mut self, s: &str) -> u32 {
        intern(&mut self.ips, s.to_string())
    }
    fn add_agent(&mut self, s: &str) -> u32 {
        intern(&mut self.agents, s.to_string())
    }
    fn req(&mut self, path: &str, query: &str) -> u32 {
        intern(&mut self.reqs, (path.to_string(), query.to_string()))
    }
}

fn intern<T: PartialEq>(v: &mut Vec<T>, x: T) -> u32 {
    match v.iter().position(|y| *y == x) {
        Some(i) => i as u32 + 1,
        None => {
            v.push(x);
            v.len() as u32
        }
    }
}

impl Names for World {
    fn page(&self, id: u32) -> String {
        format!("page {id}")
    }
    fn space(&self, id: u32) -> String {
        format!("S{id}")
    }
    fn ip(&self, id: u32) -> String {
        self.ips.get((id as usize).wrapping_sub(1)).cloned().unwrap_or_default()
    }
    fn agent(&self, id: u32) -> String {
        self.agents.get((id as usize).wrapping_sub(1)).cloned().unwrap_or_default()
    }
    fn request(&self, id: u32) -> (String, String) {
        self.reqs.get((id as usize).wrapping_sub(1)).cloned().unwrap_or_default()
    }
    fn file(&self, id: u32) -> String {
        format!("access-{id}.log")
    }
}

fn ev(ts: i64, action: Action, page: u32, space: u32) -> DetectEvent {
    DetectEvent {
        ts_ms: ts,
        action,
        page,
        space,
        status: 200,
        bytes: 1000,
        ip: 1,
        agent: 1,
        request: 0,
        file: 1,
        line: (ts / SEC) as u64,
    }
}

fn view(ts: i64, page: u32) -> DetectEvent {
    ev(ts, Action::View, page, 1)
}

fn with(mut e: DetectEvent, f: impl FnOnce(&mut DetectEvent)) -> DetectEvent {
    f(&mut e);
    e
}

fn user(name: &str, mut events: Vec<DetectEvent>) -> UserEvents {
    events.sort_by_key(|e| e.ts_ms);
    UserEvents { user: name.to_string(), events }
}

/// Detectors by name, parsed by the one detector type.
fn set(names: &[&str]) -> DetectorSet {
    names.iter().map(|n| n.parse::<Detector>().unwrap()).collect()
}

fn run_cfg(cfg: Config, enabled: &[&'static str], users: Vec<UserEvents>, w: &World, admins: &[&str]) -> Vec<Alert> {
    let admins: BTreeSet<String> = admins.iter().map(|s| s.to_string()).collect();
    let mut e = Engine::new(cfg, window(), set(enabled), admins);
    for u in users {
        e.add_user(u, w);
    }
    e.finish(w).alerts
}

fn run(enabled: &[&'static str], users: Vec<UserEvents>, w: &World) -> Vec<Alert> {
    run_cfg(Config::default(), enabled, users, w, &[])
}

fn of<'a>(alerts: &'a [Alert], user: &str) -> Vec<&'a Alert> {
    alerts.iter().filter(|a| a.user == user).collect()
}

/// `n` views of pages `first..first + n`, `step` apart from `start`.
fn views(start: i64, step: i64, first: u32, n: u32) -> Vec<DetectEvent> {
    (0..n).map(|k| view(start + i64::from(k) * step, first + k)).collect()
}

/// One view a day on each of `days` days before the window, at 09:00 (history).
fn daily_history(days: i64, page: u32, space: u32) -> Vec<DetectEvent> {
    (1..=days).map(|k| ev(t0() - k * DAY_MS + 9 * HOUR, Action::View, page, space)).collect()
}

fn line(ts: i64) -> u64 {
    (ts / SEC) as u64
}

// ---- D1 burst ------------------------------------------------------------------------------

#[test]
fn burst_tiers_fire_with_value_threshold_and_range() {
    let w = World::new();
    let s = t0() + 10 * HOUR;
    let users = vec![
        user("medium", views(s, 6 * SEC, 1, 40)),
        user("high", views(s, SEC, 1, 600)),
        user("attach", (0..12).map(|k| ev(s + k * 4 * MIN, Action::Download, 100 + k as u32, 1)).collect()),
        user("normal", views(s, 20 * MIN, 1, 20)),
    ];
    let alerts = run(&["burst"], users, &w);

    let m = of(&alerts, "medium");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].severity, Severity::Medium);
    assert_eq!((m[0].value, m[0].threshold), (40.0, 30.0));
    assert_eq!((m[0].start_ms, m[0].end_ms), (s, s + 39 * 6 * SEC));
    assert_eq!(m[0].evidence.counts["distinct_pages"], 40);
    assert_eq!(m[0].evidence.counts["window_minutes"], 5);
    assert_eq!(m[0].evidence.example_pages, ["page 1", "page 2", "page 3", "page 4", "page 5"]);
    assert_eq!(m[0].evidence.first_source, ("access-1.log".to_string(), line(s)));
    assert_eq!(m[0].evidence.last_source.1, line(s + 39 * 6 * SEC));

    let h = of(&alerts, "high");
    assert_eq!(h.len(), 1, "lower tiers of the same burst are merged into the strongest");
    assert_eq!(h[0].severity, Severity::High);
    assert_eq!((h[0].value, h[0].threshold), (600.0, 500.0));
    assert_eq!((h[0].start_ms, h[0].end_ms), (s, s + 599 * SEC));

    let a = of(&alerts, "attach");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].severity, Severity::Low);
    assert_eq!((a[0].value, a[0].threshold), (12.0, 11.0));

    assert!(of(&alerts, "normal").is_empty());
}

#[test]
fn a_long_crawl_gives_one_burst_per_hour_not_one_per_event() {
    let w = World::new();
    // 6 hours at one new page every 5 s.
    let alerts = run(&["burst"], vec![user("crawler", views(t0() + HOUR, 5 * SEC, 1, 6 * 720))], &w);
    assert!(!alerts.is_empty() && alerts.len() <= 6, "{}", alerts.len());
    for pair in alerts.windows(2) {
        assert!(pair[1].start_ms - pair[0].end_ms >= 60 * MIN);
    }
}

// ---- D2 space breadth ----------------------------------------------------------------------

#[test]
fn space_breadth() {
    let w = World::new();
    let s = t0() + 10 * HOUR;
    let spaced = |step: i64, n: u32| -> Vec<DetectEvent> {
        (0..n).map(|k| ev(s + i64::from(k) * step, Action::View, k + 1, k + 1)).collect()
    };
    let users = vec![
        user("low", spaced(3 * MIN, 7)),
        user("medium", spaced(3 * MIN, 10)),
        user("high", spaced(20 * SEC, 12)),
        user("normal", spaced(10 * MIN, 3)),
    ];
    let alerts = run(&["space-breadth"], users, &w);
    let l = of(&alerts, "low");
    assert_eq!(l.len(), 1);
    assert_eq!((l[0].severity, l[0].value, l[0].threshold), (Severity::Low, 7.0, 6.0));
    assert_eq!((l[0].start_ms, l[0].end_ms), (s, s + 18 * MIN));
    let m = of(&alerts, "medium");
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].severity, m[0].value, m[0].threshold), (Severity::Medium, 10.0, 10.0));
    let h = of(&alerts, "high");
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].severity, h[0].value, h[0].threshold), (Severity::High, 12.0, 10.0));
    assert!(of(&alerts, "normal").is_empty());
}

// ---- D3 self-baseline ----------------------------------------------------------------------

fn baseline_history() -> Vec<DetectEvent> {
    let mut v = Vec::new();
    for k in 8..=60i64 {
        let day = t0() - k * DAY_MS;
        let n = 8 + (k % 5) as u32;
        v.extend(views(day + 9 * HOUR, 10 * MIN, 1, n));
    }
    v
}

#[test]
fn baseline_against_own_history() {
    let w = World::new();
    let day = t0() + DAY_MS;
    let mut spike = baseline_history();
    spike.extend(views(day + 9 * HOUR, 5 * MIN, 1, 80));
    let mut calm = baseline_history();
    calm.extend(views(day + 9 * HOUR, 5 * MIN, 1, 12));
    let cold = views(day + 8 * HOUR, 3 * MIN, 1, 120);
    let users = vec![user("spike", spike), user("calm", calm), user("cold", cold)];
    let alerts = run(&["baseline"], users, &w);

    let base: Vec<f64> = (8..=60i64).map(|k| f64::from(8 + (k % 5) as u32)).collect();
    let (mu, sd) = mean_std(&base);
    let a = of(&alerts, "spike");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].severity, Severity::Medium);
    assert_eq!((a[0].value, a[0].threshold), (80.0, 50.0), "floor binds: mean + 3sd = {}", mu + 3.0 * sd);
    let b = a[0].evidence.baseline.as_ref().expect("baseline");
    assert_eq!(b.method, "mean/stddev");
    assert_eq!(b.days, 53);
    assert!((b.center - mu).abs() < 1e-9 && (b.spread - sd).abs() < 1e-9);
    assert_eq!((a[0].start_ms, a[0].end_ms), (day + 9 * HOUR, day + 9 * HOUR + 79 * 5 * MIN));

    assert!(of(&alerts, "calm").is_empty());

    let c = of(&alerts, "cold");
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].severity, c[0].value, c[0].threshold), (Severity::Low, 120.0, 100.0));
    assert!(c[0].evidence.baseline.is_none());
}

// ---- D4 peer outlier -----------------------------------------------------------------------

#[test]
fn peer_outlier_uses_leave_one_out_peer_statistics() {
    let w = World::new();
    let day = t0() + DAY_MS;
    let mut users = Vec::new();
    for k in 0..12u32 {
        let mut v = daily_history(10, 1, 1);
        v.extend(views(day + 9 * HOUR, 10 * MIN, 1, 15 + k));
        users.push(user(&format!("u{k:02}"), v));
    }
    let mut v = daily_history(10, 1, 1);
    v.extend(views(day + 8 * HOUR, 2 * MIN, 1, 200));
    users.push(user("mallory", v));
    let alerts = run(&["peer-outlier"], users, &w);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a.user, "mallory");
    assert_eq!(a.severity, Severity::Medium);
    let others: Vec<f64> = (0..12).map(|k| f64::from(15 + k)).collect();
    let (mu, sd) = mean_std(&others);
    assert_eq!((a.value, a.threshold), (200.0, 51.0), "mean + 3sd = {}", mu + 3.0 * sd);
    let b = a.evidence.baseline.as_ref().expect("baseline");
    assert_eq!(b.method, "peer mean/stddev");
    assert!((b.center - mu).abs() < 1e-9 && (b.spread - sd).abs() < 1e-9);
    assert_eq!(a.evidence.counts["peer_group_actors"], 12);
    assert_eq!(a.start_ms, day + 8 * HOUR);
}

// ---- D5 new space --------------------------------------------------------------------------

#[test]
fn new_spaces_by_count() {
    let w = World::new();
    let day = t0() + DAY_MS + 10 * HOUR;
    let mut alice = daily_history(30, 1, 1);
    alice.extend((0..3).map(|k| ev(day + k * MIN, Action::View, 10 + k as u32, 2 + k as u32)));
    let mut bob = daily_history(30, 1, 1);
    bob.push(ev(day, Action::View, 2, 1));
    let alerts = run(&["new-space"], vec![user("alice", alice), user("bob", bob)], &w);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!((a.user.as_str(), a.severity), ("alice", Severity::Low));
    assert_eq!((a.value, a.threshold), (3.0, 3.0));
    assert_eq!((a.start_ms, a.end_ms), (day, day + 2 * MIN));
    assert_eq!(a.evidence.notes["new_spaces"], "S2, S3, S4");
}

#[test]
fn new_space_uncommon_among_peers() {
    let w = World::new();
    let day = t0() + DAY_MS + 10 * HOUR;
    let mut users = Vec::new();
    for k in 0..7 {
        let mut v = daily_history(30, 1, 1);
        v.push(ev(t0() - 40 * DAY_MS, Action::View, 50, 5)); // everyone knows space 5 ...
        users.push(user(&format!("peer{k}"), v));
    }
    let mut carol = daily_history(30, 1, 1);
    carol.push(ev(t0() - 40 * DAY_MS, Action::View, 50, 5));
    carol.push(ev(day, Action::View, 90, 9)); // ... nobody else reads space 9
    let mut dave = daily_history(30, 1, 1); // ... and dave is new to space 5
    dave.push(ev(day, Action::View, 50, 5));
    users.push(user("carol", carol));
    users.push(user("dave", dave));
    let alerts = run(&["new-space"], users, &w);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!((a.user.as_str(), a.severity), ("carol", Severity::Low));
    assert_eq!((a.value, a.threshold), (0.0, 0.10));
    assert_eq!(a.evidence.notes["uncommon_spaces"], "S9");
    assert_eq!(a.evidence.counts["peer_group_actors"], 8);
}

// ---- D6 new source -------------------------------------------------------------------------

#[test]
fn new_source_ip_and_agent_family() {
    let mut w = World::new();
    let ip2 = w.add_ip("203.0.113.9");
    let new_chrome = w.add_agent(&BROWSER.replace("120.0.6099.110", "121.0.6167.85"));
    let s = t0() + DAY_MS + 10 * HOUR;
    let mut alice = daily_history(30, 1, 1);
    alice.extend(views(s, MIN, 1, 5).into_iter().map(|e| with(e, |e| e.ip = ip2)));
    let mut bob = daily_history(30, 1, 1);
    bob.extend(views(s, MIN, 1, 5));
    let mut carol = daily_history(30, 1, 1);
    carol.extend(views(s, MIN, 1, 5).into_iter().map(|e| with(e, |e| e.agent = new_chrome)));
    let alerts = run(&["new-source"], vec![user("alice", alice), user("bob", bob), user("carol", carol)], &w);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!((a.user.as_str(), a.severity), ("alice", Severity::Low));
    assert_eq!((a.value, a.threshold), (5.0, 3.0));
    assert_eq!((a.start_ms, a.end_ms), (s, s + 4 * MIN));
    assert_eq!(a.evidence.notes["new_ip"], "203.0.113.9");
}

// ---- D7 scripted agent ---------------------------------------------------------------------

#[test]
fn scripted_agent() {
    let mut w = World::new();
    let py = w.add_agent("python-requests/2.31.0");
    let s = t0() + DAY_MS + 10 * HOUR;
    let eve: Vec<_> = views(s, MIN, 1, 4).into_iter().map(|e| with(e, |e| e.agent = py)).collect();
    let mut bob = daily_history(30, 1, 1);
    bob.extend(views(s, MIN, 1, 10));
    let alerts = run(&["scripted-agent"], vec![user("eve", eve), user("bob", bob)], &w);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!((a.user.as_str(), a.severity), ("eve", Severity::Low));
    assert_eq!((a.value, a.threshold), (4.0, 1.0));
    assert_eq!(a.evidence.notes["agent"], "python-requests/2.31.0");
    assert_eq!((a.start_ms, a.end_ms), (s, s + 3 * MIN));
}

// ---- D8 API crawl --------------------------------------------------------------------------

#[test]
fn api_crawl_shapes() {
    let mut w = World::new();
    let s = t0() + DAY_MS + 10 * HOUR;
    let list = |w: &mut World, ts: i64, path: &str, q: &str| {
        let r = w.req(path, q);
        with(ev(ts, Action::ApiList, 0, 0), |e| e.request = r)
    };
    let paged: Vec<_> = (0..6)
        .map(|k| {
            list(
                &mut w,
                s + k * 20 * SEC,
                "/confluence/rest/api/content",
                &format!("spaceKey=ENG&limit=25&start={}", k * 25),
            )
        })
        .collect();
    let expand = |w: &mut World, n: u32, step: i64| -> Vec<DetectEvent> {
        (0..n)
            .map(|k| {
                let r = w.req(&format!("/rest/api/content/{}", k + 1), "expand=body.storage,version");
                with(ev(s + i64::from(k) * step, Action::ApiRead, k + 1, 1), |e| e.request = r)
            })
            .collect()
    };
    let expand_medium = expand(&mut w, 25, 10 * SEC);
    let expand_high = expand(&mut w, 35, 6 * SEC);
    let enumerate = vec![
        list(&mut w, s, "/rest/api/space", "limit=100"),
        list(&mut w, s + MIN, "/rest/api/space/ENG/content", ""),
        list(&mut w, s + 2 * MIN, "/rest/api/content/100/child/page", ""),
        list(&mut w, s + 3 * MIN, "/rest/api/space/HR/content", ""),
    ];
    let throttled: Vec<_> =
        (0..12).map(|k| with(ev(s + k * 10 * SEC, Action::ApiRead, 7, 1), |e| e.status = 429)).collect();
    let normal: Vec<_> = (0..3).map(|k| list(&mut w, s + k * MIN, "/rest/api/content", "spaceKey=ENG")).collect();
    let users = vec![
        user("paged", paged),
        user("expand", expand_medium),
        user("expandhigh", expand_high),
        user("enum", enumerate),
        user("throttled", throttled),
        user("normal", normal),
    ];
    let alerts = run(&["api-crawl"], users, &w);
    let one = |u: &str| {
        let v = of(&alerts, u);
        assert_eq!(v.len(), 1, "{u}: {alerts:?}");
        v[0].clone()
    };
    let a = one("paged");
    assert_eq!((a.severity, a.value, a.threshold), (Severity::Medium, 6.0, 5.0));
    assert_eq!(a.evidence.notes["path"], "/rest/api/content?spaceKey=ENG&limit=25");
    assert_eq!((a.start_ms, a.end_ms), (s, s + 100 * SEC));
    let a = one("expand");
    assert_eq!((a.severity, a.value, a.threshold), (Severity::Medium, 25.0, 20.0));
    let a = one("expandhigh");
    assert_eq!((a.severity, a.value, a.threshold), (Severity::High, 35.0, 20.0));
    assert_eq!(a.evidence.counts["burst_distinct_pages"], 35);
    let a = one("enum");
    assert_eq!((a.severity, a.value, a.threshold), (Severity::Medium, 2.0, 2.0));
    assert_eq!((a.start_ms, a.end_ms), (s, s + 3 * MIN));
    let a = one("throttled");
    assert_eq!((a.severity, a.value, a.threshold), (Severity::Low, 12.0, 10.0));
    assert!(of(&alerts, "normal").is_empty());
}

// ---- D9 search then fetch ------------------------------------------------------------------

#[test]
fn search_then_fetch() {
    let mut w = World::new();
    let s = t0() + DAY_MS + 10 * HOUR;
    let search = |w: &mut World, ts: i64, path: &str, q: &str| {
        let r = w.req(path, q);
        with(ev(ts, Action::Search, 0, 0), |e| e.request = r)
    };
    let sensitive = |w: &mut World| -> Vec<DetectEvent> {
        vec![
            search(w, s, "/dosearchsite.action", "queryString=password"),
            search(w, s + 5 * MIN, "/rest/api/search", "cql=siteSearch+%7E+%22aws+keys%22"),
            search(w, s + 10 * MIN, "/dosearchsite.action", "queryString=vpn+config"),
        ]
    };
    let mut hunter = sensitive(&mut w);
    hunter.push(search(&mut w, s + 11 * MIN, "/dosearchsite.action", "queryString=ssh+private+key"));
    hunter.push(search(&mut w, s + 11 * MIN + 30 * SEC, "/dosearchsite.action", "queryString=api+key"));
    hunter.extend(views(s + 12 * MIN, MIN, 1, 12));
    // Three sensitive searches and some reading: worth a look, not high.
    let mut reader = sensitive(&mut w);
    reader.extend(views(s + 12 * MIN, MIN, 1, 12));
    let prober = sensitive(&mut w);
    let mut volume: Vec<_> =
        (0..10).map(|k| search(&mut w, s + k * 20 * SEC, "/rest/quicknav/1/search", &format!("query=q{k}"))).collect();
    volume.extend(views(s + 4 * MIN, 30 * SEC, 1, 10));
    let mut normal = vec![
        search(&mut w, s, "/dosearchsite.action", "queryString=release+notes"),
        search(&mut w, s + MIN, "/dosearchsite.action", "queryString=laws"),
    ];
    normal.extend(views(s + 2 * MIN, MIN, 1, 3));
    let users = vec![
        user("hunter", hunter),
        user("reader", reader),
        user("prober", prober),
        user("volume", volume),
        user("normal", normal),
    ];
    let alerts = run(&["search-then-fetch"], users, &w);

    let h = of(&alerts, "hunter");
    assert_eq!(h.len(), 1, "{alerts:?}");
    assert_eq!((h[0].severity, h[0].value, h[0].threshold), (Severity::High, 5.0, 3.0));
    assert_eq!(h[0].evidence.counts["fetched_pages"], 12);
    assert_eq!((h[0].start_ms, h[0].end_ms), (s, s + 23 * MIN));
    assert!(h[0].evidence.notes["queries"].starts_with("password | sitesearch ~ \"aws keys\" | vpn config"));
    let r = of(&alerts, "reader");
    assert_eq!(r.len(), 1, "{alerts:?}");
    assert_eq!((r[0].severity, r[0].value), (Severity::Low, 3.0));
    assert_eq!(r[0].evidence.counts["fetched_pages"], 12);
    let p = of(&alerts, "prober");
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].severity, p[0].value), (Severity::Low, 3.0));
    let v = of(&alerts, "volume");
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].severity, v[0].value, v[0].threshold), (Severity::Medium, 10.0, 10.0));
    assert_eq!(v[0].evidence.counts["fetched_pages"], 10);
    assert!(of(&alerts, "normal").is_empty());
}

// ---- D10 export ----------------------------------------------------------------------------

#[test]
fn exports() {
    let mut w = World::new();
    let s = t0() + DAY_MS + 10 * HOUR;
    let backup = w.req("/admin/dobackup.action", "");
    let users = vec![
        user("spacex", vec![ev(s, Action::SpaceExport, 0, 3)]),
        user("sitex", vec![with(ev(s, Action::Admin, 0, 0), |e| e.request = backup)]),
        user("pagex", (0..5).map(|k| ev(s + k * 6 * MIN, Action::Export, 1 + k as u32, 1)).collect()),
        user("normal", (0..2).map(|k| ev(s + k * 6 * MIN, Action::Export, 1 + k as u32, 1)).collect()),
    ];
    let alerts = run(&["export"], users, &w);
    let a = of(&alerts, "spacex");
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].severity, a[0].value, a[0].threshold), (Severity::Low, 1.0, 1.0));
    assert_eq!(a[0].evidence.notes["spaces"], "S3");
    let a = of(&alerts, "sitex");
    assert_eq!((a.len(), a[0].severity), (1, Severity::High));
    assert_eq!(a[0].evidence.notes["kind"], "site export");
    let a = of(&alerts, "pagex");
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].severity, a[0].value, a[0].threshold), (Severity::High, 5.0, 5.0));
    assert_eq!((a[0].start_ms, a[0].end_ms), (s, s + 24 * MIN));
    assert!(of(&alerts, "normal").is_empty());
}

// ---- D11 privileged ------------------------------------------------------------------------

#[test]
fn privileged_readers() {
    let w = World::new();
    let s = t0() + DAY_MS + 10 * HOUR;
    let burst = || views(s, 6 * SEC, 1, 35);
    let mut ops = burst();
    ops.push(ev(t0() - 5 * DAY_MS, Action::Admin, 0, 0));
    let mut bob = burst();
    bob.push(with(ev(t0() - 5 * DAY_MS, Action::Admin, 0, 0), |e| e.status = 302));
    let users =
        vec![user("root", burst()), user("ops", ops), user("bob", bob), user("calm", views(s, 10 * MIN, 1, 20))];
    let mut admins = vec!["root"];
    admins.push("calm");
    let alerts = run_cfg(Config::default(), &["privileged"], users, &w, &admins);
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    for (u, why) in [("root", "listed admin"), ("ops", "seen on admin requests or audit records")] {
        let a = of(&alerts, u);
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].severity, a[0].value, a[0].threshold), (Severity::High, 35.0, 30.0));
        assert_eq!(a[0].evidence.notes["privilege"], why);
        assert_eq!((a[0].start_ms, a[0].end_ms), (s, s + 34 * 6 * SEC));
    }
}

/// An audit record of a permission grant (status 0: audit sources record none) makes its author
/// privileged from that moment: a burst after it is privileged, one before it is not.
#[test]
fn privileged_from_an_audit_permission_change_on() {
    let w = World::new();
    let grant_at = t0() + DAY_MS + 12 * HOUR;
    let grant = with(ev(grant_at, Action::Admin, 0, 0), |e| e.status = 0);
    let mut after = views(grant_at + HOUR, 6 * SEC, 1, 35);
    after.push(grant.clone());
    after.sort_by_key(|e| e.ts_ms);
    let mut before = views(grant_at - 3 * HOUR, 6 * SEC, 1, 35);
    before.push(grant);
    before.sort_by_key(|e| e.ts_ms);
    let users = vec![user("after", after), user("before", before)];
    let alerts = run_cfg(Config::default(), &["privileged"], users, &w, &[]);
    assert_eq!(of(&alerts, "after").len(), 1, "{alerts:?}");
    assert_eq!(of(&alerts, "after")[0].evidence.counts["admin_requests"], 1);
    assert!(of(&alerts, "before").is_empty(), "a crossing before the grant is not privileged: {alerts:?}");
}

// ---- D12 off-hours -------------------------------------------------------------------------

fn office_history() -> Vec<DetectEvent> {
    let mut v = Vec::new();
    for k in 1..=60i64 {
        let day = t0() - k * DAY_MS;
        // t0 is a Monday: k = 1 is Sunday, k = 2 Saturday.
        if matches!(k % 7, 1 | 2) {
            continue;
        }
        for (j, h) in [10, 11, 14].into_iter().enumerate() {
            v.push(view(day + h * HOUR, 1 + j as u32));
        }
    }
    v
}

#[test]
fn off_hours_against_hour_of_week_baseline() {
    let w = World::new();
    let tue = t0() + DAY_MS;
    let mut dana = office_history();
    dana.extend(views(tue + 2 * HOUR, MIN, 1, 5));
    let mut ned = office_history();
    ned.extend([10, 11, 14].map(|h| view(tue + h * HOUR, 1)));
    let newbie = views(tue + 2 * HOUR, MIN, 1, 4);
    let alerts = run(&["off-hours"], vec![user("dana", dana), user("ned", ned), user("newbie", newbie)], &w);

    let d = of(&alerts, "dana");
    assert_eq!(d.len(), 1, "{alerts:?}");
    assert_eq!((d[0].severity, d[0].value), (Severity::Low, 1.0));
    assert!(d[0].threshold < 1.0);
    assert_eq!(d[0].evidence.counts["inactive_slot_reads"], 5);
    assert_eq!((d[0].start_ms, d[0].end_ms), (tue + 2 * HOUR, tue + 2 * HOUR + 4 * MIN));
    assert_eq!(d[0].evidence.baseline.as_ref().map(|b| b.method.as_str()), Some("mean/stddev"));

    assert!(of(&alerts, "ned").is_empty());

    let n = of(&alerts, "newbie");
    assert_eq!(n.len(), 1);
    assert_eq!((n[0].value, n[0].threshold), (4.0, 3.0));
}

/// A user who also reads a little on weekends (all in inactive slots, so some baseline days have
/// a ratio of 1) still alerts on a night of many reads: by the volume of inactive-slot reads.
#[test]
fn off_hours_by_volume_when_the_ratio_cannot_tell() {
    let w = World::new();
    let mut wendy = office_history();
    for k in 1..=60i64 {
        if k % 7 == 1 {
            // Sundays at a different hour each week: a whole-day ratio of 1, slots stay inactive.
            wendy.push(view(t0() - k * DAY_MS + (3 + k % 5) * HOUR, 9));
        }
    }
    wendy.sort_by_key(|e| e.ts_ms);
    let night = t0() + 6 * DAY_MS + HOUR; // a Sunday, 01:00
    let mut scraped = wendy.clone();
    scraped.extend(views(night, 2 * SEC, 1, 400));
    let alerts = run(&["off-hours"], vec![user("wendy", wendy), user("scraped", scraped)], &w);
    assert!(of(&alerts, "wendy").is_empty(), "{alerts:?}");
    let s = of(&alerts, "scraped");
    assert_eq!(s.len(), 1, "{alerts:?}");
    assert_eq!(s[0].evidence.counts["inactive_slot_reads"], 400);
    assert_eq!(s[0].value, 400.0);
    assert!(s[0].threshold >= 50.0 && s[0].threshold < 400.0, "{}", s[0].threshold);
    assert_eq!(s[0].start_ms, night);
}

// ---- D14 dormant ---------------------------------------------------------------------------

#[test]
fn dormant_and_new_accounts() {
    let w = World::new();
    let s = t0() + DAY_MS + 10 * HOUR;
    let burst = || views(s, 6 * SEC, 1, 35);
    let mut sleeper = views(t0() - 110 * DAY_MS + 9 * HOUR, MIN, 1, 3);
    sleeper.extend(burst());
    let mut fresh = vec![ev(s - HOUR, Action::Auth, 0, 0)];
    fresh.extend(burst());
    let mut regular: Vec<_> = (1..=14).map(|k| view(t0() - k * 7 * DAY_MS, 1)).collect();
    regular.extend(burst());
    let alerts = run(&["dormant"], vec![user("sleeper", sleeper), user("fresh", fresh), user("regular", regular)], &w);
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let a = of(&alerts, "sleeper");
    assert_eq!((a[0].severity, a[0].value, a[0].threshold), (Severity::High, 35.0, 30.0));
    assert_eq!(a[0].evidence.counts["dormant_days"], 111);
    let a = of(&alerts, "fresh");
    assert_eq!((a[0].severity, a[0].value), (Severity::Medium, 35.0));
    assert_eq!(a[0].evidence.counts["account_age_days"], 0);
    // Where the data itself begins, every account looks new: none is called new in the data's
    // first recent_days.
    let mut fresh = vec![ev(s - HOUR, Action::Auth, 0, 0)];
    fresh.extend(burst());
    let early = vec![view(s - 20 * DAY_MS, 1)];
    let alerts = run(&["dormant"], vec![user("fresh", fresh), user("early", early)], &w);
    assert!(alerts.is_empty(), "{alerts:?}");
}

// ---- D16 denied probing --------------------------------------------------------------------

#[test]
fn denied_probing() {
    let w = World::new();
    let s = t0() + DAY_MS + 10 * HOUR;
    let denied = |n: u32, status: u16| -> Vec<DetectEvent> {
        views(s, 10 * SEC, 1, n).into_iter().map(|e| with(e, |e| e.status = status)).collect()
    };
    let alerts = run(&["denied-probing"], vec![user("prober", denied(25, 403)), user("normal", denied(5, 404))], &w);
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!((a.user.as_str(), a.severity, a.value, a.threshold), ("prober", Severity::Medium, 25.0, 20.0));
    assert_eq!((a.start_ms, a.end_ms), (s, s + 240 * SEC));
}

// ---- D17 composite -------------------------------------------------------------------------

#[test]
fn composite_scoring() {
    let mut w = World::new();
    let s = t0() + DAY_MS + 10 * HOUR;
    let backup = w.req("/admin/dobackup.action", "");
    let pw = w.req("/dosearchsite.action", "queryString=password");
    let sec = w.req("/dosearchsite.action", "queryString=secret");
    let tok = w.req("/dosearchsite.action", "queryString=token");
    let denied =
        || -> Vec<DetectEvent> { views(s, 10 * SEC, 1, 25).into_iter().map(|e| with(e, |e| e.status = 403)).collect() };
    // export medium (1) + denied (1): two detectors, score 2 → low.
    let mut two = vec![ev(s, Action::SpaceExport, 0, 3)];
    two.extend(denied());
    // site export high (3) + denied (1): score 4 → medium.
    let mut four = vec![with(ev(s, Action::Admin, 0, 0), |e| e.request = backup)];
    four.extend(denied());
    // site export high (3) + sensitive searches (2): score 5 → high.
    let mut five = vec![with(ev(s, Action::Admin, 0, 0), |e| e.request = backup)];
    for (k, r) in [pw, sec, tok].into_iter().enumerate() {
        five.push(with(ev(s + k as i64 * MIN, Action::Search, 0, 0), |e| e.request = r));
    }
    // Score 5 from medium and low parts only (searches 2, space export 1, denied 1, burst 1; not
    // dormant: the account is new, but so is the data): worth reading in a case, not high.
    let mut weak = vec![ev(s, Action::SpaceExport, 0, 3)];
    weak.extend(denied());
    for (k, r) in [pw, sec, tok].into_iter().enumerate() {
        weak.push(with(ev(s + HOUR + k as i64 * MIN, Action::Search, 0, 0), |e| e.request = r));
    }
    weak.extend(views(s + 2 * HOUR, 5 * SEC, 100, 35));
    weak.sort_by_key(|e| e.ts_ms);
    let alerts = run(
        &["composite"],
        vec![
            user("two", two),
            user("four", four),
            user("five", five),
            user("weak", weak),
            user("one", vec![ev(s, Action::SpaceExport, 0, 3)]),
        ],
        &w,
    );
    assert!(alerts.iter().all(|a| a.detector == Detector::Composite));
    let get = |u: &str| {
        let v = of(&alerts, u);
        assert_eq!(v.len(), 1, "{u}: {alerts:?}");
        v[0].clone()
    };
    let a = get("two");
    assert_eq!((a.severity, a.value, a.threshold), (Severity::Low, 2.0, 2.0));
    assert_eq!(a.evidence.notes["detectors"], "export, denied-probing");
    let a = get("four");
    assert_eq!((a.severity, a.value, a.threshold), (Severity::Low, 4.0, 3.0));
    assert_eq!(a.evidence.counts["score"], 4);
    let a = get("five");
    assert_eq!((a.severity, a.value, a.threshold), (Severity::High, 5.0, 3.0));
    assert_eq!((a.start_ms, a.end_ms), (s, s + 2 * MIN));
    assert!(of(&alerts, "one").is_empty());
    let a = get("weak");
    assert_eq!((a.severity, a.value), (Severity::Low, 5.0), "{a:?}");
}

// ---- allow-lists ---------------------------------------------------------------------------

#[test]
fn allow_list_suppresses_until_expiry() {
    let mut w = World::new();
    let exporter = w.add_agent("Confluence-Exporter/2.0");
    let anon_ip = w.add_ip("10.9.9.9");
    let s = t0() + DAY_MS + 10 * HOUR;
    let burst = || views(s, 6 * SEC, 1, 40);
    let cfg = Config::from_toml(
        r#"
        [[allow]]
        kind = "user"
        value = "backup"
        reason = "nightly backup"
        expires = "2026-12-31"
        [[allow]]
        kind = "user"
        value = "oldbot"
        reason = "migration finished"
        expires = "2026-01-31"
        [[allow]]
        kind = "agent"
        value = "confluence-exporter"
        reason = "space export tool, OPS-42"
        [[allow]]
        kind = "ip"
        value = "10.9.9.9"
        reason = "search indexer"
        expires = "2026-03-02"
        "#,
    )
    .expect("config");
    let users = vec![
        user("backup", burst()),
        user("oldbot", burst()),
        user("tool", burst().into_iter().map(|e| with(e, |e| e.agent = exporter)).collect()),
        user("-", burst().into_iter().map(|e| with(e, |e| e.ip = anon_ip)).collect()),
    ];
    let alerts = run_cfg(cfg, &["burst"], users, &w, &[]);
    // The ip entry covers up to the end of 2026-03-02; the burst is on 2026-03-03.
    let mut who: Vec<_> = alerts.iter().map(|a| a.user.as_str()).collect();
    who.sort_unstable();
    assert_eq!(who, ["-", "oldbot"]);
    let anon = of(&alerts, "-");
    assert_eq!(anon[0].evidence.notes["ip"], "10.9.9.9");
}

#[test]
fn allow_entries_need_a_reason_and_a_date() {
    let no_reason = "[[allow]]\nkind = \"user\"\nvalue = \"x\"\n";
    assert!(matches!(Config::from_toml(no_reason), Err(ConfigError::Allow { .. })));
    let bad_date = "[[allow]]\nkind = \"ip\"\nvalue = \"1.2.3.4\"\nreason = \"r\"\nexpires = \"31/12/2026\"\n";
    assert!(matches!(Config::from_toml(bad_date), Err(ConfigError::Allow { .. })));
    let bad_kind = "[[allow]]\nkind = \"token\"\nvalue = \"x\"\nreason = \"r\"\n";
    assert!(matches!(Config::from_toml(bad_kind), Err(ConfigError::Parse(_))));
}

// ---- configuration -------------------------------------------------------------------------

#[test]
fn default_toml_round_trips() {
    let parsed = Config::from_toml(&default_toml()).expect("default config parses");
    assert_eq!(parsed, Config::default());
    assert_eq!(Config::from_toml("").expect("empty"), Config::default());
    // Every threshold is written out, not left to serde defaults.
    let rendered: toml::Value = toml::from_str(&default_toml()).expect("toml");
    let full: toml::Value = toml::Value::try_from(Config::default()).expect("serialize");
    let keys = |v: &toml::Value| -> Vec<String> {
        let mut out = Vec::new();
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                out.push(k.clone());
                if let toml::Value::Table(inner) = v {
                    out.extend(inner.keys().map(|i| format!("{k}.{i}")));
                }
            }
        }
        out.sort();
        out
    };
    let mut full_keys = keys(&full);
    full_keys.retain(|k| k != "allow");
    assert_eq!(keys(&rendered), full_keys);
}

#[test]
fn unknown_keys_are_errors_naming_the_key() {
    for (text, key) in [
        ("[burst]\nwindw = 3\n", "windw"),
        ("dedup_minuts = 5\n", "dedup_minuts"),
        ("[off_hours]\nz = 2.0\n", "off_hours"),
        ("[composite.weights]\nburts = 2\n", "burts"),
        ("[composite]\nhigh_weight_detectors = [\"exports\"]\n", "exports"),
        ("[composite.weights]\ncomposite = 2\n", "composite.weights.composite"),
    ] {
        let err = Config::from_toml(text).expect_err(text).to_string();
        assert!(err.contains(key), "{err}");
    }
    let err = Config::from_toml("[baseline]\nexclude_days = 90\n").expect_err("range");
    assert!(err.to_string().contains("baseline.exclude_days"), "{err}");
}

#[test]
fn thresholds_come_from_the_config() {
    let w = World::new();
    let cfg = Config::from_toml("[burst]\ntiers = [{ window_minutes = 5, min_distinct = 10, severity = \"high\" }]\n")
        .expect("config");
    let alerts = run_cfg(cfg, &["burst"], vec![user("u", views(t0() + HOUR, 6 * SEC, 1, 12))], &w, &[]);
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].severity, alerts[0].value, alerts[0].threshold), (Severity::High, 12.0, 10.0));
}

// ---- engine behaviour ----------------------------------------------------------------------

#[test]
fn alerts_are_sorted_by_severity_then_start_then_user() {
    let w = World::new();
    let s = t0() + DAY_MS;
    let users = vec![
        user("zed", views(s + 5 * HOUR, SEC, 1, 600)),
        user("bea", views(s + 2 * HOUR, 6 * SEC, 1, 40)),
        user("amy", views(s + 2 * HOUR, 6 * SEC, 1, 40)),
        user("cat", views(s + HOUR, 6 * SEC, 1, 40)),
        user("dan", views(s + 9 * HOUR, SEC, 1, 600)),
    ];
    let alerts = run(&["burst"], users, &w);
    let order: Vec<_> = alerts.iter().map(|a| a.user.as_str()).collect();
    assert_eq!(order, ["zed", "dan", "cat", "amy", "bea"]);
}

#[test]
fn anonymous_reads_are_split_by_address() {
    let mut w = World::new();
    let a = w.add_ip("198.51.100.1");
    let b = w.add_ip("198.51.100.2");
    let s = t0() + HOUR;
    let mut evs: Vec<_> = views(s, 6 * SEC, 1, 40).into_iter().map(|e| with(e, |e| e.ip = a)).collect();
    evs.extend(views(s + 3 * SEC, 12 * SEC, 100, 20).into_iter().map(|e| with(e, |e| e.ip = b)));
    let alerts = run(&["burst"], vec![user("-", evs)], &w);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].value, 40.0);
    assert_eq!(alerts[0].evidence.notes["ip"], "198.51.100.1");
}

#[test]
fn history_reach_and_window_bounds() {
    let e = Engine::new(Config::default(), window(), DetectorSet::default(), BTreeSet::new());
    assert_eq!(e.history_from_ms(), t0() - 180 * DAY_MS);
    let e = Engine::new(Config::default(), window(), set(&["burst"]), BTreeSet::new());
    assert_eq!(e.history_from_ms(), t0());
    // A burst before the window only feeds baselines.
    let w = World::new();
    let alerts = run(&["burst"], vec![user("u", views(t0() - HOUR, 6 * SEC, 1, 40))], &w);
    assert!(alerts.is_empty());
}

#[test]
fn unsorted_and_hostile_input_does_not_panic() {
    let w = World::new();
    let mut evs = views(t0() + HOUR, 6 * SEC, 1, 40);
    evs.reverse();
    evs.push(with(view(i64::MIN, 3), |e| e.file = 9));
    evs.push(with(view(i64::MAX, 3), |e| e.file = 9));
    evs.push(with(ev(t0() + HOUR, Action::ApiList, 0, 0), |e| e.request = 999));
    let mut e = Engine::new(Config::default(), window(), DetectorSet::default(), BTreeSet::new());
    e.add_user(UserEvents { user: "u".into(), events: evs }, &w);
    e.add_user(UserEvents { user: "empty".into(), events: Vec::new() }, &w);
    let alerts = e.finish(&w).alerts;
    assert!(alerts.iter().any(|a| a.detector == Detector::Burst));
}

#[test]
fn extreme_windows_and_timestamps_do_not_panic() {
    let w = World::new();
    for (from, to) in [(i64::MIN, i64::MAX), (i64::MIN / 2, i64::MAX / 2), (t0(), t0()), (t0(), t0() - DAY_MS)] {
        let mut e = Engine::new(
            Config::default(),
            Window { from_ms: from, to_ms: to },
            DetectorSet::default(),
            BTreeSet::new(),
        );
        let mut evs = views(t0() + HOUR, 6 * SEC, 1, 40);
        evs.push(view(i64::MIN, 3));
        evs.push(view(i64::MAX - 1, 3));
        evs.push(view(-5 * DAY_MS, 4));
        e.add_user(user("u", evs), &w);
        e.add_user(user("-", views(t0(), SEC, 1, 3)), &w);
        let _ = e.finish(&w);
    }
}

#[test]
fn alert_json_has_the_contract_shape() {
    let w = World::new();
    let alerts = run(&["burst"], vec![user("u", views(t0() + HOUR, 6 * SEC, 1, 40))], &w);
    let v = serde_json::to_value(&alerts[0]).expect("json");
    let keys: Vec<&str> = v.as_object().expect("object").keys().map(|k| k.as_str()).collect();
    let mut want = ["detector", "user", "severity", "start", "end", "value", "threshold", "evidence"];
    want.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(v["severity"], "medium");
    assert_eq!(v["start"], "2026-03-02T01:00:00Z");
    assert_eq!(v["evidence"]["first_source"]["file"], "access-1.log");
    assert_eq!(v["evidence"]["counts"]["distinct_pages"], 40);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const ACTIONS: [Action; 11] = Action::ALL;

    fn world() -> World {
        let mut w = World::new();
        w.add_ip("10.0.0.2");
        w.add_agent("curl/8.0");
        w.add_agent("");
        w.req("/rest/api/space", "");
        w.req("/rest/api/content", "spaceKey=A&start=25");
        w.req("/rest/api/content/5", "expand=body.view");
        w.req("/dosearchsite.action", "queryString=password");
        w.req("/admin/dobackup.action", "");
        w.req("/rest/api/space/B/content", "");
        w.req("/rest/api/content/7/child/page", "start=%zz");
        w
    }

    fn event() -> impl Strategy<Value = DetectEvent> {
        (
            -200 * DAY_MS..8 * DAY_MS,
            0usize..11,
            0u32..40,
            0u32..6,
            prop::sample::select(vec![0u16, 200, 304, 403, 404, 429, 500]),
            0u32..4,
            0u32..5,
            0u32..9,
        )
            .prop_map(|(dt, a, page, space, status, ip, agent, request)| DetectEvent {
                ts_ms: t0() + dt,
                action: ACTIONS[a],
                page,
                space,
                status,
                bytes: 10,
                ip,
                agent,
                request,
                file: 1,
                line: dt.unsigned_abs(),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn alerts_lie_in_the_window_and_are_sorted(
            users in prop::collection::vec(prop::collection::vec(event(), 0..400), 1..6),
            dense in prop::collection::vec(0i64..3_600_000, 0..300),
        ) {
            let w = world();
            let mut e = Engine::new(Config::default(), window(), DetectorSet::default(), BTreeSet::new());
            for (k, evs) in users.into_iter().enumerate() {
                let name = if k == 0 { "-".to_string() } else { format!("u{k}") };
                e.add_user(UserEvents { user: name, events: evs }, &w);
            }
            // A dense burst so that the volume detectors have something to do.
            let burst = dense.iter().enumerate().map(|(k, dt)| view(t0() + DAY_MS + dt, k as u32 + 1)).collect();
            e.add_user(user("dense", burst), &w);
            let alerts = e.finish(&w).alerts;
            for a in &alerts {
                prop_assert!(a.start_ms >= window().from_ms && a.end_ms < window().to_ms, "{a:?}");
                prop_assert!(a.start_ms <= a.end_ms);
                prop_assert!(a.value.is_finite() && a.threshold.is_finite(), "{a:?}");
                prop_assert!(a.evidence.example_pages.len() <= 5);
                prop_assert!(Detector::ALL.contains(&a.detector));
            }
            for p in alerts.windows(2) {
                prop_assert!(p[0].severity > p[1].severity
                    || (p[0].severity == p[1].severity && p[0].start_ms <= p[1].start_ms));
            }
        }
    }
}

// ---- History as daily digests --------------------------------------------------------------

/// Each user's events before `split` as one digest per UTC day, the rest as events.
fn as_digests(u: &UserEvents, split: i64) -> (UserEvents, Vec<HistoryDay>) {
    let (before, after): (Vec<DetectEvent>, Vec<DetectEvent>) = u.events.iter().cloned().partition(|e| e.ts_ms < split);
    let mut days: Vec<HistoryDay> = Vec::new();
    for e in &before {
        let day = e.ts_ms.div_euclid(DAY_MS);
        if days.last().is_none_or(|h| h.day != day) {
            let evs: Vec<DetectEvent> = before.iter().filter(|x| x.ts_ms.div_euclid(DAY_MS) == day).cloned().collect();
            days.push(HistoryDay::of_events(day, &evs));
        }
    }
    (UserEvents { user: u.user.clone(), events: after }, days)
}

/// Users with history that every history-reading detector uses: baselines, hour-of-week
/// slots, spaces and sources seen before, a dormant account, admin requests.
fn users_with_history(w: &mut World) -> Vec<UserEvents> {
    let day = t0() + DAY_MS;
    let mut spike = baseline_history();
    spike.extend(views(day + 9 * HOUR, 5 * MIN, 1, 80));
    let mut dana = office_history();
    dana.extend(views(day + 2 * HOUR, MIN, 1, 5));
    let mut sleeper = views(t0() - 110 * DAY_MS + 9 * HOUR, MIN, 1, 3);
    sleeper.extend(views(day + 10 * HOUR, 6 * SEC, 1, 35));
    let laptop = w.add_ip("10.9.9.9");
    let curl = w.add_agent("curl/8.4.0");
    let mut roamer: Vec<DetectEvent> =
        (1..=40).map(|k| ev(t0() - k * DAY_MS + 9 * HOUR, Action::View, k as u32 % 7, 1 + k as u32 % 3)).collect();
    roamer.push(with(ev(t0() - 20 * DAY_MS, Action::Admin, 0, 0), |e| e.status = 200));
    roamer.extend((0..60).map(|k| {
        with(ev(day + 14 * HOUR + k * 20 * SEC, Action::View, 100 + k as u32, 10 + k as u32 % 9), |e| {
            e.ip = laptop;
            e.agent = curl;
        })
    }));
    vec![user("spike", spike), user("dana", dana), user("sleeper", sleeper), user("roamer", roamer)]
}

#[test]
fn digests_give_the_same_alerts_as_events() {
    let mut w = World::new();
    let users = users_with_history(&mut w);
    // Kathmandu is +05:45: its hours cut UTC quarter hours, not hours.
    let zoned = Config::from_toml(
        "[off-hours]\ntime_zone = \"Europe/Berlin\"\nuser_time_zones = { dana = \"Asia/Kathmandu\" }\n",
    )
    .unwrap();
    // A midnight start and one inside a day, whose morning is then history too.
    for (from, cfg) in [
        (t0(), Config::default()),
        (t0() + DAY_MS + 11 * HOUR + 7 * MIN, Config::default()),
        (t0(), zoned.clone()),
        (t0() + DAY_MS + 11 * HOUR + 7 * MIN, zoned),
    ] {
        let win = Window { from_ms: from, to_ms: t0() + 7 * DAY_MS };
        let mut raw = Engine::new(cfg.clone(), win, DetectorSet::default(), BTreeSet::new());
        let mut dig = Engine::new(cfg.clone(), win, DetectorSet::default(), BTreeSet::new());
        for u in &users {
            raw.add_user(u.clone(), &w);
            let (rest, hist) = as_digests(u, dig.digests_until_ms());
            assert!(dig.add_user_digests(rest, hist, &w));
        }
        let (a, b) = (raw.finish(&w).alerts, dig.finish(&w).alerts);
        if from == t0() && cfg == Config::default() {
            let fired: BTreeSet<&str> = a.iter().map(|x| x.detector.name()).collect();
            for d in ["baseline", "off-hours", "dormant", "new-source", "new-space", "scripted-agent"] {
                assert!(fired.contains(d), "{d} did not fire: {fired:?}");
            }
        }
        assert_eq!(a, b, "window from {from}");
    }
}

#[test]
fn digests_are_refused_where_they_cannot_stand_for_events() {
    let w = World::new();
    let mut e = Engine::new(Config::default(), window(), DetectorSet::default(), BTreeSet::new());
    assert!(e.digests_suffice("ann"));
    assert!(!e.digests_suffice("-"), "anonymous actors split by address");
    assert!(!e.add_user_digests(user("-", views(t0(), MIN, 1, 3)), Vec::new(), &w));
    let cfg = Config::from_toml(
        "[[allow]]\nkind = \"agent\"\nvalue = \"curl\"\nreason = \"backup job\"\nexpires = \"2099-01-01\"\n",
    )
    .unwrap();
    let e = Engine::new(cfg, window(), DetectorSet::default(), BTreeSet::new());
    assert!(!e.digests_suffice("ann"), "allow-listed agents are dropped from events, not from digests");
}

#[test]
fn history_starts_at_a_midnight() {
    let w = Window { from_ms: t0() + 13 * HOUR, to_ms: t0() + DAY_MS };
    let e = Engine::new(Config::default(), w, DetectorSet::default(), BTreeSet::new());
    assert_eq!(e.digests_until_ms(), t0());
    assert_eq!(e.history_from_ms(), t0() - 180 * DAY_MS);
}

/// Office hours 09:00, 11:00 and 14:00 in Berlin all winter; after clocks go forward the same
/// local hours are an hour earlier in UTC. In Berlin time nothing changed; in UTC every read
/// of the new week falls in a slot never used before.
#[test]
fn off_hours_follows_the_users_zone_across_daylight_saving() {
    let w = World::new();
    let monday = days_from_civil(2026, 3, 30) * DAY_MS;
    let mut berta = Vec::new();
    for k in 1..=70i64 {
        let day = monday - k * DAY_MS;
        if matches!(k % 7, 1 | 2) {
            continue; // weekends
        }
        berta.extend([8, 10, 13].map(|h| view(day + h * HOUR, 1)));
    }
    let tuesday = monday + DAY_MS;
    berta.extend([7, 9, 12].iter().flat_map(|&h| views(tuesday + h * HOUR, MIN, 1, 3)));
    let win = Window { from_ms: monday, to_ms: monday + 7 * DAY_MS };
    let run = |toml: &str| {
        let mut e = Engine::new(Config::from_toml(toml).unwrap(), win, set(&["off-hours"]), BTreeSet::new());
        e.add_user(user("berta", berta.clone()), &w);
        e.finish(&w).alerts
    };
    let utc = run("");
    assert_eq!(utc.len(), 1, "{utc:?}");
    assert_eq!(utc[0].evidence.counts["inactive_slot_reads"], 9);
    assert_eq!(utc[0].evidence.notes["time_zone"], "UTC");
    assert!(run("[off-hours]\ntime_zone = \"Europe/Berlin\"\n").is_empty());
    assert!(run("[off-hours]\nuser_time_zones = { BERTA = \"Europe/Berlin\" }\n").is_empty());
    assert_eq!(run("[off-hours]\nuser_time_zones = { other = \"Europe/Berlin\" }\n").len(), 1);
}

#[test]
fn zones_that_do_not_parse_are_errors_naming_the_key() {
    for (text, key) in [
        ("[off-hours]\ntime_zone = \"Europe/Berln\"\n", "off-hours.time_zone"),
        ("[off-hours]\ntime_zone = \"+05:10\"\n", "off-hours.time_zone"),
        ("[off-hours]\nuser_time_zones = { ann = \"Mars/Olympus\" }\n", "off-hours.user_time_zones.ann"),
    ] {
        let err = Config::from_toml(text).expect_err(text).to_string();
        assert!(err.contains(key), "{err}");
    }
    assert!(Config::from_toml("[off-hours]\ntime_zone = \"+05:45\"\n").is_ok());
}
