//! Helpers for the end-to-end tests: running the `pagetrail` binary and reading its JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `pagetrail` binary built by this same `cargo test` run (same profile folder).
pub fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let p = profile_dir.join("pagetrail");
    assert!(p.exists(), "{} is missing: run the tests through `cargo test --release --workspace`", p.display());
    p
}

/// Runs `pagetrail --store STORE ARGS...`.
pub fn run(store: &Path, args: &[&str]) -> Output {
    Command::new(bin()).arg("--store").arg(store).args(args).output().expect("run pagetrail")
}

/// Runs and insists on success; returns stdout.
pub fn ok(store: &Path, args: &[&str]) -> String {
    let out = run(store, args);
    assert!(
        out.status.success(),
        "pagetrail {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

pub fn json(store: &Path, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(store, &a)).expect("json output")
}

/// JSON Lines output as values.
pub fn jsonl(store: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    ok(store, &a).lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
}

/// The repository's `data/samples` folder.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/samples")
}
