//! Re-ingesting adds nothing: the same files, renamed or gzipped copies, and grown files.

use std::io::Write;
use std::path::Path;

use pagetrail_tests::{json, ok};

fn gen_dir(dir: &Path, users: u32, days: u32) -> Vec<std::path::PathBuf> {
    let cfg = pagetrail_gen::GenConfig { users, days, seed: 11, ..Default::default() };
    pagetrail_gen::generate_files(&cfg, dir).unwrap().0
}

/// Every event of a store, as JSON Lines text (the source file names included).
fn dump(store: &Path) -> String {
    ok(store, &["--format", "json", "events"])
}

#[test]
fn same_renamed_gzipped_and_stdin_content_adds_nothing() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    let files = gen_dir(&logs, 40, 3);
    let store = d.path().join("store");
    let first = json(&store, &["ingest", logs.to_str().unwrap()]);
    assert!(first["events"].as_u64().unwrap() > 1000, "{first}");
    let before = dump(&store);
    let stats = json(&store, &["stats"]);

    let again = json(&store, &["ingest", logs.to_str().unwrap()]);
    assert_eq!(again["events"], 0);
    assert_eq!(again["duplicates"], first["lines"]);

    // Rotation: renamed, and compressed under another name.
    let renamed = d.path().join("renamed.log");
    std::fs::copy(&files[0], &renamed).unwrap();
    let gz = d.path().join("rotated.log.gz");
    let enc = flate2_gz(&std::fs::read(&files[1]).unwrap());
    std::fs::File::create(&gz).unwrap().write_all(&enc).unwrap();
    let r = json(&store, &["ingest", renamed.to_str().unwrap(), gz.to_str().unwrap()]);
    assert_eq!(r["events"], 0, "{r}");
    assert!(r["duplicates"].as_u64().unwrap() > 0);

    // The same content on stdin.
    let out = std::process::Command::new(pagetrail_tests::bin())
        .args(["--store", store.to_str().unwrap(), "--format", "json", "ingest", "-"])
        .stdin(std::fs::File::open(&files[2]).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["events"], 0, "{s}");

    assert_eq!(dump(&store), before);
    let mut after = json(&store, &["stats"]);
    after["bytes_on_disk"] = stats["bytes_on_disk"].clone();
    assert_eq!(after, stats);
}

/// A gzip member of `data` (via the system `gzip`, which every CI machine has).
fn flate2_gz(data: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    child.stdin.take().unwrap().write_all(data).unwrap();
    child.wait_with_output().unwrap().stdout
}

#[test]
fn a_growing_file_continues_where_it_stopped() {
    let d = tempfile::tempdir().unwrap();
    let files = gen_dir(&d.path().join("logs"), 30, 2);
    let (full, other) = (std::fs::read(&files[0]).unwrap(), std::fs::read(&files[1]).unwrap());
    let live = d.path().join("conf_access_log.live.log");
    let tiny = d.path().join("tiny.log");
    // Cut in the middle of a line: the partial line must wait for the next run.
    std::fs::write(&live, &full[..full.len() / 2 + 7]).unwrap();
    // A file shorter than the fingerprint length when first seen is still the same file later.
    let first_line = other.iter().position(|&b| b == b'\n').unwrap() + 1;
    std::fs::write(&tiny, &other[..first_line]).unwrap();

    let grow = d.path().join("grow-store");
    let paths = [live.to_str().unwrap(), tiny.to_str().unwrap()];
    let s1 = json(&grow, &["ingest", paths[0], paths[1]]);
    std::fs::write(&live, &full).unwrap();
    std::fs::write(&tiny, &other[..other.len() / 3]).unwrap();
    let s2 = json(&grow, &["ingest", paths[0], paths[1]]);
    assert_eq!(s2["duplicates"], s1["lines"], "{s1} {s2}");

    let clean = d.path().join("clean-store");
    let c = json(&clean, &["ingest", paths[0], paths[1]]);
    assert_eq!(s1["lines"].as_u64().unwrap() + s2["lines"].as_u64().unwrap(), c["lines"].as_u64().unwrap());
    assert_eq!(dump(&grow), dump(&clean));
    let (a, b) = (json(&grow, &["stats"]), json(&clean, &["stats"]));
    assert_eq!((&a["events"], &a["reads"], &a["users"]), (&b["events"], &b["reads"], &b["users"]));
}
