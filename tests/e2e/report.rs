//! `report` (issue 14): each kind of report written from a generated site with planted
//! incidents, then opened in headless Chromium (Debian's `chromium`; `.ci/run` installs it):
//! the page loads without script errors, every chart drew one point per day of the window, and
//! a page titled `<script>…` renders as text.

use std::path::{Path, PathBuf};
use std::process::Command;

use pagetrail_tests::{json, jsonl, run};

const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

fn chromium() -> PathBuf {
    let p = std::env::var_os("PAGETRAIL_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(p.exists(), "{} is missing: apt-get install chromium (.ci/run installs it)", p.display());
    p
}

/// The DOM after the page's scripts ran, and Chromium's log.
fn open(html: &Path, profile: &Path) -> (String, String) {
    let o = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(o.status.success(), "chromium: {}", String::from_utf8_lossy(&o.stderr));
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=\"");
    let i = tag.find(&key)? + key.len();
    Some(&tag[i..i + tag[i..].find('"')?])
}

/// Checks a loaded report: no script error, the expected number of charts, each drew `points`.
fn check_loaded(dom: &str, log: &str, charts: usize, points: usize) {
    let body = dom.split("<body").nth(1).and_then(|b| b.split('>').next()).expect("a body");
    assert_eq!(attr(body, "data-errors"), Some(""), "script errors: {body}");
    assert_eq!(attr(body, "data-charts"), Some(charts.to_string().as_str()), "{body}");
    assert!(!log.contains("Uncaught"), "console error: {log}");
    let drawn: Vec<(usize, usize)> = dom
        .split("<div class=\"chart\"")
        .skip(1)
        .map(|t| {
            let tag = t.split('>').next().unwrap();
            (attr(tag, "data-expect").unwrap().parse().unwrap(), attr(tag, "data-points").unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(drawn.len(), charts);
    for (expect, got) in drawn {
        assert_eq!((expect, got), (points, points), "a chart drew every day of the window");
    }
}

#[test]
fn reports_load_in_chromium_with_their_charts_and_hostile_text_as_text() {
    let d = tempfile::tempdir().unwrap();
    let cfg = pagetrail_gen::GenConfig { users: 120, days: 30, seed: 5, incidents: true, ..Default::default() };
    let truth = pagetrail_gen::incidents(&cfg);
    let log = d.path().join("conf_access_log.log");
    pagetrail_gen::generate(&cfg, &mut std::io::BufWriter::new(std::fs::File::create(&log).unwrap())).unwrap();
    let store = d.path().join("store");
    json(&store, &["ingest", log.to_str().unwrap()]);
    // The catalog names one page the planted scraper read with a hostile title.
    let user = &truth.iter().find(|i| i.kind == "night-scrape").expect("a planted scrape").user;
    let ev = jsonl(&store, &["events", "--user", user, "--action", "view"]);
    let page = ev.iter().find_map(|e| e["page_id"].as_u64()).expect("a page with an id");
    let mut csv = Vec::new();
    pagetrail_gen::write_catalog(&pagetrail_gen::site(&cfg), &mut csv).unwrap();
    let mut text = String::from_utf8(csv).unwrap();
    let row = text.lines().find(|l| l.starts_with(&format!("{page},"))).expect("the page's row").to_string();
    let space = row.split(',').nth(1).unwrap().to_string();
    text = text.replace(&row, &format!("{page},{space},\"{}\"", HOSTILE.replace('"', "\"\"")));
    let catalog = d.path().join("catalog.csv");
    std::fs::write(&catalog, text).unwrap();
    json(&store, &["catalog", catalog.to_str().unwrap()]);

    let window = ["--from", "2026-03-16", "--to", "2026-04-15"];
    let days = 30;
    let profile = d.path().join("chromium-profile");
    let page_arg = page.to_string();
    let kinds: [(&str, Vec<&str>); 4] = [
        ("user", vec!["--user", user.as_str()]),
        ("page", vec!["--page", page_arg.as_str()]),
        ("space", vec!["--space", space.as_str()]),
        ("site", vec![]),
    ];
    for (kind, args) in kinds {
        let out = d.path().join(format!("{kind}.html"));
        let mut a = vec!["report", "--out", out.to_str().unwrap()];
        a.extend(args.iter().copied());
        a.extend(window);
        let o = run(&store, &a);
        assert!(o.status.success(), "report {kind}: {}", String::from_utf8_lossy(&o.stderr));
        let html = std::fs::read_to_string(&out).unwrap();
        assert_eq!(html.matches("<script").count(), 4, "{kind}: no script element from the data");
        assert!(!html.contains("<img src=x"), "{kind}: the hostile title is no markup");
        let (dom, log) = open(&out, &profile);
        check_loaded(&dom, &log, 1, days);
        assert!(!dom.contains("<img src=\"x\""), "{kind}: the browser made no element of the title");
        if kind == "page" {
            let shown = format!("Readers of {space}/&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; (page {page})");
            assert!(dom.contains(&shown), "{kind}: the title is shown as text");
        }
        if kind == "user" {
            assert!(dom.contains("Reading of "), "{kind}");
            assert!(dom.contains("When they read") && dom.contains("Sources") && dom.contains("Cases"), "{kind}");
            assert!(
                dom.contains("href=\"#page-0\"") && dom.contains("id=\"page-0\""),
                "top pages link to their events"
            );
            assert!(dom.contains("Chain of custody"), "{kind}");
        }
    }
    // No target: the site overview has the cases ranked, with the planted scraper first.
    let site = std::fs::read_to_string(d.path().join("site.html")).unwrap();
    assert!(site.contains("Cases, ranked"));
    let first = site.split("Cases, ranked").nth(1).unwrap();
    assert!(first.split("</tr>").nth(1).unwrap().contains(user.as_str()), "rank 1 is {user}");
}
