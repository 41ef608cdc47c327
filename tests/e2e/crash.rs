//! A killed ingest, re-run, leaves exactly what one clean run leaves.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pagetrail_tests::{bin, json, ok};

fn ingest_cmd(store: &Path, log: &Path) -> Command {
    let mut c = Command::new(bin());
    c.args([
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
        "ingest",
        "--batch-lines",
        "3000",
        log.to_str().unwrap(),
    ]);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    c
}

fn answers(store: &Path) -> Vec<String> {
    let mut stats = json(store, &["stats"]);
    stats["bytes_on_disk"] = 0.into();
    vec![
        stats.to_string(),
        ok(store, &["--format", "json", "events"]),
        ok(store, &["--format", "json", "top-readers", "--limit", "1000"]),
        ok(store, &["--format", "json", "rejects"]),
    ]
}

#[test]
fn kill_mid_ingest_then_rerun_equals_clean_run() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("conf_access_log.2026-03-16.log");
    let cfg = pagetrail_gen::GenConfig { users: 150, days: 10, seed: 5, ..Default::default() };
    pagetrail_gen::generate(&cfg, &mut std::io::BufWriter::new(std::fs::File::create(&log).unwrap())).unwrap();

    let clean = d.path().join("clean");
    let t0 = Instant::now();
    assert!(ingest_cmd(&clean, &log).status().unwrap().success());
    let clean_time = t0.elapsed();
    let expected = answers(&clean);

    let mut killed_mid_run = 0;
    for (i, frac) in [0.2f64, 0.5, 0.8].into_iter().enumerate() {
        let store = d.path().join(format!("crash{i}"));
        let mut child = ingest_cmd(&store, &log).spawn().unwrap();
        std::thread::sleep(Duration::from_secs_f64(clean_time.as_secs_f64() * frac));
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL: no destructor, no flush
        child.wait().unwrap();
        assert!(ingest_cmd(&store, &log).status().unwrap().success());
        assert_eq!(answers(&store), expected, "store killed at {frac} of a clean run differs");
    }
    assert!(
        killed_mid_run >= 2,
        "the ingest finished before it could be killed ({clean_time:?}): make the input larger"
    );
}

/// Mounts a tmpfs of `size` at `dir` (tests run as root here and in CI); unmounts on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success(), "this test fills a small tmpfs and needs root to mount it");
        Tmpfs(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_ingest_cleanly_and_a_rerun_completes_it() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("conf_access_log.2026-03-16.log");
    let cfg = pagetrail_gen::GenConfig { users: 150, days: 10, seed: 9, ..Default::default() };
    pagetrail_gen::generate(&cfg, &mut std::io::BufWriter::new(std::fs::File::create(&log).unwrap())).unwrap();
    let clean = d.path().join("clean");
    assert!(ingest_cmd(&clean, &log).status().unwrap().success());
    let expected = answers(&clean);

    let mnt = d.path().join("small-disk");
    let fs = Tmpfs::mount(&mnt, "2m");
    let store = mnt.join("store");
    let out = ingest_cmd(&store, &log).stderr(Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the ingest must fail on a full disk");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("disk is full"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // Move the store to a disk with room (as an operator would) and finish the job.
    let moved = d.path().join("moved");
    assert!(Command::new("cp").arg("-a").arg(&store).arg(&moved).status().unwrap().success());
    drop(fs);
    let partial = json(&moved, &["stats"]);
    assert!(partial["events"].as_u64().unwrap() < json(&clean, &["stats"])["events"].as_u64().unwrap(), "{partial}");
    assert!(ingest_cmd(&moved, &log).status().unwrap().success());
    assert_eq!(answers(&moved), expected);
}

/// A reader opened while an ingest is writing sees one consistent snapshot: the totals it
/// reads agree with the events it can scan, batch by batch.
#[test]
fn readers_see_consistent_snapshots_during_an_ingest() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("conf_access_log.2026-03-16.log");
    let cfg = pagetrail_gen::GenConfig { users: 150, days: 10, seed: 21, ..Default::default() };
    pagetrail_gen::generate(&cfg, &mut std::io::BufWriter::new(std::fs::File::create(&log).unwrap())).unwrap();
    let store = d.path().join("store");
    // Create the store first so readers can open it from the start.
    json(&store, &["catalog", pagetrail_tests::samples().join("catalog.csv").to_str().unwrap()]);
    let mut child = ingest_cmd(&store, &log).spawn().unwrap();
    let (mut seen, mut distinct, mut following) = (0, std::collections::BTreeSet::new(), 0);
    while child.try_wait().unwrap().is_none() {
        let r = pagetrail_store::Store::open_reader(&store).unwrap();
        // Another process's writer holds the lock: the reader follows it (a read-only open
        // happens only in the instants before the ingest takes the lock or after it let go).
        following += usize::from(r.mode() == pagetrail_store::Mode::Secondary);
        let totals = pagetrail_store::Totals::load(&r).unwrap();
        let users = pagetrail_store::Dict::load(&r, pagetrail_store::DictKind::User).unwrap();
        let mut events = 0u64;
        for (u, _) in users.iter() {
            pagetrail_store::events::scan_user(&r, u, i64::MIN / 2, i64::MAX / 2, |rows| events += rows.len() as u64)
                .unwrap();
        }
        assert_eq!(events, totals.events, "a reader saw a half-applied batch");
        seen += 1;
        distinct.insert(events);
    }
    assert!(child.wait().unwrap().success());
    assert!(distinct.len() >= 2, "the ingest finished before readers saw it in progress ({seen} reads)");
    assert!(following >= 2, "readers saw the running writer ({following} of {seen})");
}
