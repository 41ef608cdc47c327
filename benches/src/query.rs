//! Query benchmark: median whole-process latency of each query kind, 90 days and whole store.
//!
//! `cargo run --release -p pagetrail-benches --bin bench-query -- STORE [RUNS]`
//! Build a store first, e.g. a year of a 5,000-user site:
//! `pagetrail gen --users 5000 --days 365 --start 2025-01-01 | pagetrail --store STORE ingest -`
//! The 90-day window is the last 90 whole days before the store's last event; the noon one is
//! as long, from noon to noon, as `--last 90d` asks at midday: both its ends are partial days.

mod cli;

use cli::{add_days, field, median, run};

fn main() {
    let mut args = std::env::args().skip(1);
    let store = args.next().expect("usage: bench-query STORE [RUNS]");
    let runs: usize = args.next().map(|r| r.parse().unwrap()).unwrap_or(7);
    let (_, stats) = run(&store, &["stats"]);
    let last = field(&stats, "last");
    let last_day = &last[..10];
    // The day after the last event, so the window holds whole days.
    let to = add_days(last_day, 1);
    let from = add_days(&to, -90);
    let (from_noon, to_noon) = (format!("{}T12:00:00Z", add_days(&from, -1)), format!("{last_day}T12:00:00Z"));
    // Subjects: the top reader, the most read page and space of the 90-day window.
    // The integration account reads through the API only, and `-` is everyone anonymous:
    // the subject is the top person.
    let (_, top) = run(&store, &["top-readers", "--by", "events", "--limit", "5", "--from", &from, "--to", &to]);
    let user = top
        .split("\"user\":\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .find(|u| !u.starts_with("svc-") && *u != "-")
        .expect("a reader")
        .to_owned();
    let (_, ev) = run(&store, &["events", "--user", &user, "--action", "view", "--from", &from, "--to", &to]);
    let line = ev
        .lines()
        .find(|l| l.contains("\"page_id\":") && !l.contains("\"page_id\":null"))
        .expect("a view with a page id");
    let page = field(line, "page_id").to_owned();
    let space = field(line, "space").to_owned();

    println!(
        "store: {} events, {} users, {} pages, {} spaces, {} .. {}",
        field(&stats, "events"),
        field(&stats, "users"),
        field(&stats, "pages"),
        field(&stats, "spaces"),
        field(&stats, "first"),
        last
    );
    println!("90-day window: {from} .. {to}; user {user}, page {page}, space {space}; median of {runs} runs, whole processes\n");
    println!("| query | 90 days (ms) | 90 days, noon to noon (ms) | whole store (ms) |");
    println!("|---|---|---|---|");
    let w90 = ["--from", from.as_str(), "--to", to.as_str()];
    let noon = ["--from", from_noon.as_str(), "--to", to_noon.as_str()];
    let cases: [(&str, Vec<&str>); 7] = [
        ("top-readers --by pages", vec!["top-readers", "--by", "pages"]),
        ("top-readers --space K", vec!["top-readers", "--space", &space]),
        ("who-read --space K", vec!["who-read", "--space", &space]),
        ("who-read --page N", vec!["who-read", "--page", &page]),
        ("user U", vec!["user", &user]),
        ("events --user U", vec!["events", "--user", &user]),
        ("stats", vec!["stats"]),
    ];
    for (name, a) in cases {
        let mut a90 = a.clone();
        a90.extend_from_slice(&w90);
        // `stats` takes no window.
        let mut anoon = a.clone();
        anoon.extend_from_slice(&noon);
        let windowed = |args: &[&str]| {
            if name == "stats" {
                "-".to_string()
            } else {
                format!("{:.1}", median(&store, args, runs).0)
            }
        };
        let (m90, mnoon) = (windowed(&a90), windowed(&anoon));
        let mall = median(&store, &a, runs).0;
        println!("| {name} | {m90} | {mnoon} | {mall:.1} |");
    }
}
