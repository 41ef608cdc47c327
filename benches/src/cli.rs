//! Running the `pagetrail` binary as a whole process, as a user would, for the benchmarks that
//! time commands (`bench-query`, `bench-detect`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The `pagetrail` binary next to this benchmark's own.
pub fn pagetrail() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let p = exe.parent().expect("target/<profile>").join("pagetrail");
    assert!(p.exists(), "build the CLI first: cargo build --release -p pagetrail-cli");
    p
}

/// Wall time (ms) and stdout of `pagetrail --store STORE --format json ARGS`.
pub fn run(store: &str, args: &[&str]) -> (f64, String) {
    let t = Instant::now();
    let out = Command::new(pagetrail()).args(["--store", store, "--format", "json"]).args(args).output().unwrap();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    (ms, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The text of the first `"key":` value in a JSON document.
pub fn field<'a>(json: &'a str, key: &str) -> &'a str {
    let pat = format!("\"{key}\":");
    let at = json.find(&pat).map(|i| i + pat.len()).unwrap_or_else(|| panic!("no {key} in {json}"));
    json[at..].split([',', '}']).next().unwrap().trim().trim_matches('"')
}

/// Median wall time of `runs` runs after one that warms the page cache, and the last output.
pub fn median(store: &str, args: &[&str], runs: usize) -> (f64, String) {
    let mut out = run(store, args).1;
    let mut v: Vec<f64> = Vec::new();
    for _ in 0..runs {
        let (ms, o) = run(store, args);
        v.push(ms);
        out = o;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], out)
}

/// `day` (YYYY-MM-DD) moved by `days`, via date(1).
pub fn add_days(day: &str, days: i64) -> String {
    let out = Command::new("date").args(["-u", "-d", &format!("{day} {days:+} days"), "+%F"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
