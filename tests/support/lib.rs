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

/// A copy, in `dir/store`, of the store an earlier release wrote (`tests/fixtures/store-v3`,
/// made by `make-store.sh`), to open and grow without touching the committed one.
pub fn v3_store(dir: &Path) -> PathBuf {
    fixture_store(dir, "store-v3")
}

/// A copy, in `dir/store`, of the committed fixture store `tests/fixtures/NAME`.
pub fn fixture_store(dir: &Path, name: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    let store = dir.join("store");
    std::fs::create_dir_all(&store).expect("a store folder");
    for e in std::fs::read_dir(&from).expect("the fixture store") {
        let p = e.expect("a fixture file").path();
        std::fs::copy(&p, store.join(p.file_name().expect("a file name"))).expect("copy a fixture file");
    }
    store
}

/// The repository's `data/samples` folder.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/samples")
}
