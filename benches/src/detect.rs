//! Detect benchmark: whole-process time of `pagetrail detect` over windows of several lengths,
//! with the history read from the daily digests and, for comparison, rescanned from raw events
//! (`--raw-history`), and whether the two gave the same alerts.
//!
//! `bench-detect STORE [RUNS] [DETECT ARGS...]`, e.g. `bench-detect /tmp/big/store 3 --config
//! allow.toml`. Windows end at the store's last whole day; one more sits in its middle.

mod cli;

use cli::{add_days, field, median, run};

fn main() {
    let mut args = std::env::args().skip(1);
    let store = args.next().expect("usage: bench-detect STORE [RUNS] [DETECT ARGS...]");
    let runs: usize = args.next().map(|r| r.parse().unwrap()).unwrap_or(3);
    let extra: Vec<String> = args.collect();
    let (_, stats) = run(&store, &["stats"]);
    let (first, last) = (field(&stats, "first")[..10].to_owned(), field(&stats, "last")[..10].to_owned());
    let end = add_days(&last, 1);
    let middle = add_days(&first, 200);
    println!("store: {} events, {} users, {first} .. {last}", field(&stats, "events"), field(&stats, "users"));
    println!("median of {runs} runs, whole processes; detect {}\n", extra.join(" "));
    println!("| window | days | digests (s) | raw history (s) | alerts | same alerts |");
    println!("|---|---|---|---|---|---|");
    let windows = [
        (add_days(&end, -1), end.clone()),
        (add_days(&end, -7), end.clone()),
        (add_days(&end, -30), end.clone()),
        (middle.clone(), add_days(&middle, 7)),
    ];
    for (from, to) in &windows {
        let mut a: Vec<&str> = vec!["detect", "--from", from, "--to", to];
        a.extend(extra.iter().map(String::as_str));
        let (dig, out) = median(&store, &a, runs);
        a.push("--raw-history");
        let (raw, out_raw) = median(&store, &a, runs);
        let alerts = out.matches("\"detector\":").count();
        let days = (chrono_days(to) - chrono_days(from)).to_string();
        println!(
            "| {from} .. {to} | {days} | {:.2} | {:.2} | {alerts} | {} |",
            dig / 1000.0,
            raw / 1000.0,
            if out == out_raw { "yes" } else { "NO" }
        );
    }
    let mut a: Vec<&str> = vec!["detect"];
    a.extend(extra.iter().map(String::as_str));
    let (all, out) = median(&store, &a, 1);
    let alerts = out.matches("\"detector\":").count();
    println!(
        "| whole store (no history before it) | {} | {:.2} | – | {alerts} | – |",
        chrono_days(&end) - chrono_days(&first),
        all / 1000.0
    );
}

/// Days since 1970 of YYYY-MM-DD.
fn chrono_days(day: &str) -> i64 {
    pagetrail_core::time::parse_instant(day).expect("a day") / pagetrail_core::time::DAY_MS
}
