//! Chain of custody (issue 12, item 4): the SHA-256 of what was read from each source, `sources`
//! to list them, `verify` to check evidence files against them.

use std::io::Write;

use pagetrail_tests::{json, run};

fn sha256sum(path: &std::path::Path) -> String {
    let o = std::process::Command::new("sha256sum").arg(path).output().expect("coreutils sha256sum");
    String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap().to_owned()
}

fn log_lines(n: usize, from: usize) -> String {
    (from..from + n)
        .map(|i| {
            format!(
                "[18/Dec/2020:13:{:02}:{:02} +1100] testuser http-nio-8090-exec-6 10.0.0.{} GET /pages/viewpage.action?pageId={} HTTP/1.1 200 12ms 1000 - Mozilla/5.0 (X11)\n",
                i / 60 % 60,
                i % 60,
                i % 250,
                100 + i
            )
        })
        .collect()
}

#[test]
fn sources_record_what_was_read_and_verify_checks_it() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let log = d.path().join("conf_access_log.2020-12-18.log");
    std::fs::write(&log, log_lines(3000, 0)).unwrap();
    json(&store, &["ingest", log.to_str().unwrap()]);
    let rows = json(&store, &["sources"])["rows"].clone();
    let r = &rows[0];
    assert_eq!((r["name"].as_str(), r["lines"].as_u64()), (Some(log.to_str().unwrap()), Some(3000)), "{rows}");
    assert_eq!(r["consumed_bytes"].as_u64(), Some(std::fs::metadata(&log).unwrap().len()));
    assert_eq!(r["sha256"].as_str(), Some(sha256sum(&log).as_str()), "the same hash as sha256sum");
    assert!(r["first_ingest"].is_string() && r["last_ingest"].is_string(), "{r}");

    // A gzip copy is the same content; a file that grew still matches on the ingested prefix.
    let gz = d.path().join("copy.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&std::fs::read(&log).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(log_lines(5, 3000).as_bytes()).unwrap();
    let v = run(&store, &["--format", "json", "verify", log.to_str().unwrap(), gz.to_str().unwrap()]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let verdicts: Vec<serde_json::Value> =
        String::from_utf8_lossy(&v.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(verdicts.iter().all(|v| v["verdict"] == "matches"), "{verdicts:?}");

    // One byte changed in the middle: verify says so and exits 1; a re-ingest refuses the file
    // (the tail it last stopped at is unchanged, so only the whole-prefix hash can see it).
    let tampered = d.path().join("tampered.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes.len() / 3;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&tampered, &bytes).unwrap();
    let never = d.path().join("never.log");
    std::fs::write(&never, log_lines(3, 9000)).unwrap();
    let v = run(&store, &["verify", tampered.to_str().unwrap(), never.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    let (out, err) = (String::from_utf8_lossy(&v.stdout), String::from_utf8_lossy(&v.stderr));
    assert!(out.contains("differs") && out.contains("not ingested") && out.contains("matches"), "{out}");
    assert!(err.contains("2 of 3 files do not match"), "{err}");
    let o = run(&store, &["ingest", tampered.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("content differs"), "{}", String::from_utf8_lossy(&o.stderr));

    // A cut-short copy is shorter than what was ingested.
    let short = d.path().join("short.log");
    std::fs::write(&short, &std::fs::read(&log).unwrap()[..5000]).unwrap();
    let v = run(&store, &["--format", "json", "verify", short.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v.stdout).contains("\"verdict\":\"shorter\""));
}

/// A store of the previous format recorded no hashes: verify says so, and the next ingest of the
/// file records one.
#[test]
fn old_records_gain_a_hash_at_their_next_ingest() {
    let d = tempfile::tempdir().unwrap();
    let store = pagetrail_tests::v3_store(d.path());
    let sample = pagetrail_tests::samples().join("confluence_access.2026-03-31.log");
    let v = run(&store, &["--format", "json", "verify", sample.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v.stdout).contains("no hash recorded"), "{}", String::from_utf8_lossy(&v.stdout));
    let again = json(&store, &["ingest", sample.to_str().unwrap()]);
    assert_eq!(again["events"], 0, "{again}");
    let v = run(&store, &["verify", sample.to_str().unwrap()]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}
