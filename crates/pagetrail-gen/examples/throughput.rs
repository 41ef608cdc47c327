//! Measures generation speed into a `BufWriter` on /dev/null.
//!
//! `cargo run --release -p pagetrail-gen --example throughput -- [users] [days] [A|B|C]`

use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

use pagetrail_gen::{generate, GenConfig, Variant};

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let users = args.first().and_then(|s| s.parse().ok()).unwrap_or(5000);
    let days = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(14);
    let variant = match args.get(2).map(String::as_str) {
        Some("B") => Variant::B,
        Some("C") => Variant::C,
        _ => Variant::A,
    };
    let cfg = GenConfig { users, days, variant, ..GenConfig::default() };
    let sink = OpenOptions::new().write(true).open("/dev/null")?;
    let mut out = BufWriter::with_capacity(1 << 20, sink);
    let start = Instant::now();
    let sum = generate(&cfg, &mut out)?;
    out.flush()?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "variant {:?}, {} users, {} days: {} lines, {:.1} MB, {} torn in {:.2} s = {:.2} M lines/s, {:.0} MB/s",
        variant,
        users,
        days,
        sum.lines,
        sum.bytes as f64 / 1e6,
        sum.torn,
        secs,
        sum.lines as f64 / secs / 1e6,
        sum.bytes as f64 / secs / 1e6
    );
    Ok(())
}
