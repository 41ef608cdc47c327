//! Ingest benchmark: generates N lines, ingests them with the `pagetrail` binary, prints a table.
//!
//! `cargo run --release -p pagetrail-benches --bin bench-ingest -- [LINES] [WORKDIR]`
//! (default 5,000,000 lines in a temporary folder). Measures end-to-end throughput as a whole
//! process, bytes on disk per stored event (after the ingest, and after a full compaction),
//! and the raw and `zstd -3` sizes of the same logs for comparison.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn pagetrail() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let p = exe.parent().expect("target/<profile>").join("pagetrail");
    assert!(p.exists(), "build the CLI first: cargo build --release -p pagetrail-cli");
    p
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn json_field(s: &str, key: &str) -> f64 {
    let pat = format!("\"{key}\":");
    let at = s.find(&pat).map(|i| i + pat.len()).unwrap_or_else(|| panic!("no {key} in {s}"));
    s[at..].split([',', '}']).next().unwrap().trim().parse().unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let target_lines: u64 = args.next().map(|a| a.replace('_', "").parse().expect("LINES")).unwrap_or(5_000_000);
    let tmp;
    let work = match args.next() {
        Some(d) => PathBuf::from(d),
        None => {
            tmp = std::env::temp_dir().join(format!("pagetrail-bench-{}", std::process::id()));
            tmp.clone()
        }
    };
    std::fs::create_dir_all(&work).unwrap();
    let log = work.join("conf_access_log.bench.log");
    let store = work.join("store");
    let _ = std::fs::remove_dir_all(&store);

    // Size the site so it yields about the requested number of lines (one year of a growing site).
    let mut cfg = pagetrail_gen::GenConfig { seed: 1, users: 2000, days: 1, ..Default::default() };
    let mut probe = Vec::new();
    let one_day = pagetrail_gen::generate(&cfg, &mut probe).unwrap().lines.max(1);
    cfg.days = ((target_lines as f64 / one_day as f64) * 1.45).ceil() as u32; // weekends are quieter
    let t = Instant::now();
    let g = pagetrail_gen::generate(&cfg, &mut BufWriter::with_capacity(1 << 20, std::fs::File::create(&log).unwrap()))
        .unwrap();
    let gen_s = t.elapsed().as_secs_f64();
    eprintln!("generated {} lines ({} MB) in {gen_s:.1} s", g.lines, g.bytes / 1_000_000);

    let raw = std::fs::read(&log).unwrap();
    let t = Instant::now();
    let z3 = zstd::bulk::compress(&raw, 3).unwrap().len() as u64;
    let z_s = t.elapsed().as_secs_f64();
    drop(raw);

    let t = Instant::now();
    let out = Command::new(pagetrail())
        .args(["--format", "json", "--store"])
        .arg(&store)
        .arg("ingest")
        .arg(&log)
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stdout).into_owned();
    let events = json_field(&summary, "events");
    let after_ingest = dir_size(&store);
    let t = Instant::now();
    let c = Command::new(pagetrail()).arg("--store").arg(&store).arg("compact").output().unwrap();
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    let compact_s = t.elapsed().as_secs_f64();
    let compacted = dir_size(&store);

    let mut o = std::io::stdout().lock();
    let mb = g.bytes as f64 / 1e6;
    writeln!(o, "| measure | value |").unwrap();
    writeln!(o, "|---|---|").unwrap();
    writeln!(o, "| lines generated | {} ({:.0} MB, {} days of {} users) |", g.lines, mb, cfg.days, cfg.users).unwrap();
    writeln!(o, "| stored events (non-noise) | {events:.0} |").unwrap();
    writeln!(o, "| ingest wall time (whole process) | {secs:.2} s |").unwrap();
    writeln!(o, "| ingest throughput | {:.0} lines/s, {:.1} MB/s |", g.lines as f64 / secs, mb / secs).unwrap();
    writeln!(
        o,
        "| store after ingest | {:.1} MB = {:.2} B/stored event |",
        after_ingest as f64 / 1e6,
        after_ingest as f64 / events
    )
    .unwrap();
    writeln!(
        o,
        "| store after compaction ({compact_s:.1} s) | {:.1} MB = {:.2} B/stored event |",
        compacted as f64 / 1e6,
        compacted as f64 / events
    )
    .unwrap();
    writeln!(o, "| raw log | {:.1} MB = {:.1} B/line |", mb, g.bytes as f64 / g.lines as f64).unwrap();
    writeln!(
        o,
        "| zstd -3 of the log ({z_s:.1} s) | {:.1} MB = {:.2} B/line = {:.2} B/stored event |",
        z3 as f64 / 1e6,
        z3 as f64 / g.lines as f64,
        z3 as f64 / events
    )
    .unwrap();
}
