//! The command line's contract: exit codes, one-line errors, formats, readers beside a writer.

use pagetrail_tests::{json, ok, run, samples};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn errors_are_one_line_and_name_what_was_wrong() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");

    let o = run(&store, &["stats"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no store at") && stderr(&o).contains("store"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1);

    let missing = d.path().join("nope.log");
    let o = run(&store, &["ingest", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope.log"), "{}", stderr(&o));

    let empty = d.path().join("empty-dir");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.md"), "not a log").unwrap();
    let o = run(&store, &["ingest", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no log files"), "{}", stderr(&o));

    // A garbage file fails, but does not stop the good one beside it.
    let junk = d.path().join("junk.log");
    std::fs::write(&junk, "hello\nworld\n").unwrap();
    let good = samples().join("conf_access_log.2026-03-29.log");
    let o = run(&store, &["--format", "json", "ingest", junk.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("junk.log: no line matches a known log format"), "{}", stderr(&o));
    assert_eq!(json(&store, &["stats"])["events"], 12);

    let o = run(&store, &["top-readers", "--by", "nonsense"]);
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2");
    let o = run(&store, &["detect", "--detector", "bursts"]);
    assert_eq!(o.status.code(), Some(2), "an unknown detector is a usage error");
    assert!(stderr(&o).contains("unknown detector 'bursts' (one of burst, space-breadth,"), "{}", stderr(&o));
    let o = run(&store, &["top-readers", "--from", "yesterday"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--from 'yesterday'"), "{}", stderr(&o));
}

#[test]
fn locked_store_and_concurrent_readers() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    ok(&store, &["ingest", samples().to_str().unwrap()]);
    use pagetrail_store::{Mode, Store};
    // With no writer, a reader opens read-only.
    assert_eq!(Store::open_reader(&store).unwrap().mode(), Mode::ReadOnly);
    let writer = Store::open_writer(&store).unwrap();
    let o = run(&store, &["ingest", samples().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is locked"), "{}", stderr(&o));
    // Readers do not need the lock and see the committed data.
    assert_eq!(json(&store, &["stats"])["events"], 20);
    // A reader beside this process's own writer follows it, and closing that reader must not
    // release the writer's lock (a process loses its fcntl locks on any close of the file).
    let reader = Store::open_reader(&store).unwrap();
    assert_eq!(reader.mode(), Mode::Secondary);
    drop(reader);
    let o = run(&store, &["ingest", samples().to_str().unwrap()]);
    assert!(stderr(&o).contains("is locked"), "the writer kept its lock: {}", stderr(&o));
    drop(writer);
    assert_eq!(Store::open_reader(&store).unwrap().mode(), Mode::ReadOnly, "the writer is gone");
}

#[test]
fn formats_table_json_csv() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    ok(&store, &["ingest", samples().to_str().unwrap()]);
    let csv = ok(&store, &["--format", "csv", "top-readers", "--by", "events"]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("user,distinct_pages,events,bytes,distinct_spaces"));
    assert_eq!(lines.next(), Some("jsmith,2,5,195867,1"));
    let table = ok(&store, &["events", "--user", "mallory"]);
    assert!(!table.contains('\u{1b}'), "raw escape characters reach the terminal: {table}");
    let who = ok(&store, &["--format", "csv", "who-read", "--page", "1234567"]);
    assert!(who.starts_with("user,events,distinct_pages,bytes,first_seen,last_seen\n"), "{who}");
    let j = json(&store, &["user", "anna"]);
    for k in [
        "user",
        "events",
        "distinct_pages",
        "distinct_spaces",
        "bytes",
        "first_seen",
        "last_seen",
        "days",
        "spaces",
        "sources",
    ] {
        assert!(j.get(k).is_some(), "user JSON lacks {k}: {j}");
    }
    assert_eq!(j["days"][0]["day"], "2026-03-29");
}

/// `pagetrail ... | head` closes stdout early: every format ends quietly with success.
#[test]
fn a_closed_pipe_is_not_an_error() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let logs = d.path().join("logs");
    // Answers of well over the 8 KiB that stdout buffers, so that writes fail mid-answer.
    ok(&store, &["gen", "--users", "300", "--days", "2", "--out", logs.to_str().unwrap()]);
    ok(&store, &["ingest", logs.to_str().unwrap()]);
    let cases: [(&str, &[&str]); 6] = [
        ("table", &["events"]),
        ("json", &["events"]),
        ("csv", &["events"]),
        ("ecs", &["events"]),
        ("json", &["top-readers", "--limit", "1000"]),
        ("json", &["detect"]),
    ];
    for (format, q) in cases {
        let mut child = std::process::Command::new(pagetrail_tests::bin())
            .args(["--store", store.to_str().unwrap(), "--format", format])
            .args(q)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before the process has opened the store, let alone written.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()), "{format} {q:?}");
    }
}

/// Ingest shows one progress bar with an ETA over the inputs' total size (on a terminal).
#[test]
fn ingest_shows_one_bar_over_the_total_size() {
    assert!(std::path::Path::new("/usr/bin/script").exists(), "util-linux `script` gives the command a terminal");
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    let cfg = pagetrail_gen::GenConfig { users: 120, days: 6, seed: 5, ..Default::default() };
    let files = pagetrail_gen::generate_files(&cfg, &logs).unwrap().0;
    assert!(files.len() >= 6);
    let cmd = format!(
        "{} --store {} ingest {}",
        pagetrail_tests::bin().display(),
        d.path().join("s").display(),
        logs.display()
    );
    let o = std::process::Command::new("/usr/bin/script").args(["-qec", &cmd, "/dev/null"]).output().unwrap();
    let screen = String::from_utf8_lossy(&o.stdout).replace('\r', "\n");
    let bars: Vec<&str> = screen.lines().filter(|l| l.contains("ETA")).collect();
    assert!(!bars.is_empty(), "no progress bar: {screen}");
    // Every frame counts towards the same total: one bar for all the files, not one per file.
    let total_of = |l: &str| l.split_once('/').map(|(_, t)| t.split_whitespace().take(2).collect::<Vec<_>>().join(" "));
    let totals: std::collections::BTreeSet<String> = bars.iter().filter_map(|l| total_of(l)).collect();
    assert_eq!(totals.len(), 1, "one total across files: {totals:?}");
}

/// An ingest that at least doubles the store compacts it before it returns; a smaller one
/// leaves that to RocksDB, so a daily ingest into years of history never rewrites them.
#[test]
fn a_bulk_load_compacts_and_a_small_ingest_does_not() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let big = d.path().join("conf_access_log.2026-03-16.log");
    let cfg = pagetrail_gen::GenConfig { users: 80, days: 4, seed: 5, ..Default::default() };
    pagetrail_gen::generate(&cfg, &mut std::io::BufWriter::new(std::fs::File::create(&big).unwrap())).unwrap();
    let o = run(&store, &["ingest", "--batch-lines", "5000", big.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("compacted the store in"), "{}", stderr(&o));
    let o = run(&store, &["ingest", samples().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("compacted"), "{}", stderr(&o));
    assert_eq!(json(&store, &["verify"])["intact"], true);
}
