//! Instant formatting, one core: `format_rfc3339` against the `format!` it replaced.
//!
//! `cargo run --release -p pagetrail-benches --bin bench-format -- [N]` (default 2,000,000
//! instants, a year of second- and millisecond-precision times). Every row of every answer has
//! one or two instants, and a 1,100-row who-read spent 1.4 of its 5 ms of printing here.

use std::hint::black_box;
use std::time::Instant;

use pagetrail_core::time::{civil_from_days, day_of, format_rfc3339, DAY_MS};

/// The implementation before hand-written digits, kept as the reference.
fn with_format(ts_ms: i64) -> String {
    let day = day_of(ts_ms);
    let (y, m, d) = civil_from_days(day);
    let in_day = ts_ms - day * DAY_MS;
    let (s, ms) = (in_day / 1000, in_day % 1000);
    let (hh, mm, ss) = (s / 3600, s / 60 % 60, s % 60);
    if ms == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
    }
}

fn main() {
    let n: usize = std::env::args().nth(1).map(|a| a.replace('_', "").parse().expect("N")).unwrap_or(2_000_000);
    let start = 1_767_225_600_000i64; // 2026-01-01
    let step = 365 * DAY_MS / n as i64;
    // Half whole seconds (access logs), half with milliseconds (audit logs).
    let times: Vec<i64> = (0..n as i64).map(|i| start + i * step / 1000 * 1000 + (i % 2) * (i % 997)).collect();
    for (a, b) in times.iter().take(10_000).map(|&t| (format_rfc3339(t), with_format(t))) {
        assert_eq!(a, b);
    }
    println!("| formatter | instants | ns each |");
    println!("|---|---|---|");
    let mut rounds = Vec::new();
    for (name, f) in [("format! (before)", with_format as fn(i64) -> String), ("format_rfc3339", format_rfc3339)] {
        let t = Instant::now();
        let mut len = 0;
        for &ts in &times {
            len += black_box(f(black_box(ts))).len();
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        black_box(len);
        println!("| {name} | {n} | {ns:.0} |");
        rounds.push(ns);
    }
    println!("\nratio before / now: {:.1}x", rounds[0] / rounds[1]);
}
