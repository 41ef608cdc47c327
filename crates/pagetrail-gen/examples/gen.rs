//! Writes a generated log to stdout: `cargo run --release --example gen -- [users] [days] [A|B|C] [seed]`.

use std::io::{self, BufWriter, Write};

use pagetrail_gen::{generate, GenConfig, Variant};

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = GenConfig::default();
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
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let sum = generate(&cfg, &mut out)?;
    out.flush()?;
    eprintln!("{} lines, {} bytes, {} torn", sum.lines, sum.bytes, sum.torn);
    Ok(())
}
