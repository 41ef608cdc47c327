//! Writes a log with planted incidents and its ground truth:
//! `cargo run --release --example incidents -- [users] [days] [A|B|C] [seed] [truth.jsonl] [catalog.csv] > log`.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use pagetrail_gen::{generate, incidents, site, write_catalog, write_ground_truth, GenConfig, Variant};

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = GenConfig { users: 300, days: 120, incidents: true, ..GenConfig::default() };
    if let Some(u) = args.first().and_then(|s| s.parse().ok()) {
        cfg.users = u;
    }
    if let Some(d) = args.get(1).and_then(|s| s.parse().ok()) {
        cfg.days = d;
    }
    cfg.variant = match args.get(2).map(String::as_str) {
        Some("B") => Variant::B,
        Some("C") => Variant::C,
        _ => Variant::A,
    };
    if let Some(s) = args.get(3).and_then(|s| s.parse().ok()) {
        cfg.seed = s;
    }
    let truth = incidents(&cfg);
    match args.get(4) {
        Some(path) => {
            let mut f = BufWriter::new(File::create(path)?);
            write_ground_truth(&truth, &mut f)?;
            f.flush()?;
        }
        None => write_ground_truth(&truth, &mut io::stderr())?,
    }
    if let Some(path) = args.get(5) {
        let mut f = BufWriter::new(File::create(path)?);
        write_catalog(&site(&cfg), &mut f)?;
        f.flush()?;
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let sum = generate(&cfg, &mut out)?;
    out.flush()?;
    eprintln!("{} lines, {} bytes, {} torn, {} incidents", sum.lines, sum.bytes, sum.torn, truth.len());
    Ok(())
}
