//! The collector (issue 12, items 1 and 2): `watch` follows a folder through bursts, rotation,
//! a later gzip and a SIGKILL mid-batch, and the store ends equal to one clean `ingest` of the
//! same files; `--detect-every` hands each finding out once, across restarts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pagetrail_tests::{bin, json, jsonl, ok};

/// A running collector, killed when dropped: a failing test leaves no process behind.
struct Collector(Child);

impl std::ops::Deref for Collector {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Collector {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn watch(store: &Path, dir: &Path, err: &Path, extra: &[&str]) -> Collector {
    Collector(
        Command::new(bin())
            .arg("--store")
            .arg(store)
            .args(["watch", "--poll", "200ms", "--batch-lines", "700", "--quiet-secs", "3600"])
            .args(extra)
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(err).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// Waits until the store holds `events` events (queried while the collector runs).
fn wait_for(store: &Path, events: u64) {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let o = Command::new(bin()).arg("--store").arg(store).args(["--format", "json", "stats"]).output().unwrap();
        if o.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            if v["events"].as_u64() == Some(events) {
                return;
            }
        }
        assert!(Instant::now() < until, "the store never reached {events} events");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A Tomcat access-log line (shipped shape) of `user` viewing page `page` at `t` (UTC seconds).
fn view_line(t: i64, user: &str, page: u64) -> String {
    let (y, m, dd) = pagetrail_core::time::civil_from_days(t.div_euclid(86_400));
    let mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][m as usize - 1];
    let s = t.rem_euclid(86_400);
    format!(
        "[{dd:02}/{mon}/{y}:{:02}:{:02}:{:02} +0000] {user} http-nio-8090-exec-1 10.1.1.1 GET /pages/viewpage.action?pageId={page} HTTP/1.1 200 20ms 5000 - Mozilla/5.0\n",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn append(p: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p).unwrap();
    f.write_all(lines.concat().as_bytes()).unwrap();
}

/// Events the whole lines among `lines` make (noise and rejects do not count), by a clean ingest.
fn events_in(d: &Path, lines: &[String]) -> u64 {
    let f = d.join(format!("count-{}.log", lines.len()));
    std::fs::write(&f, lines.concat()).unwrap();
    let s = d.join(format!("count-{}", lines.len()));
    json(&s, &["ingest", "--final", f.to_str().unwrap()])["events"].as_u64().unwrap()
}

/// Every answer, with the file each line was read under left out: the collector read the
/// rotated content under its first name, a clean ingest under the name it has now.
fn answers(store: &Path) -> Vec<String> {
    let mut stats = json(store, &["stats"]);
    stats["bytes_on_disk"] = 0.into();
    let mut evs = jsonl(store, &["events"]);
    for e in &mut evs {
        e["source"]["file"] = serde_json::Value::Null;
    }
    let mut rej = jsonl(store, &["rejects"]);
    for r in &mut rej {
        r["file"] = serde_json::Value::Null;
    }
    rej.sort_by_key(|r| r.to_string());
    vec![
        stats.to_string(),
        serde_json::Value::Array(evs).to_string(),
        ok(
            store,
            &["--format", "json", "top-readers", "--limit", "1000", "--from", "2026-01-01", "--to", "2026-12-31"],
        ),
        serde_json::Value::Array(rej).to_string(),
    ]
}

#[test]
fn watch_follows_bursts_rotation_gzip_and_a_kill_and_equals_a_clean_ingest() {
    let d = tempfile::tempdir().unwrap();
    let gen = d.path().join("gen.log");
    let cfg = pagetrail_gen::GenConfig { users: 80, days: 3, seed: 9, ..Default::default() };
    pagetrail_gen::generate(&cfg, &mut std::io::BufWriter::new(std::fs::File::create(&gen).unwrap())).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&gen).unwrap().split_inclusive('\n').map(String::from).collect();
    assert!(lines.len() > 6000, "{}", lines.len());
    let (a, rest) = lines.split_at(lines.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);

    let dir = d.path().join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    // Confluence's folder holds files pagetrail does not read.
    std::fs::write(dir.join("atlassian-confluence.log"), "2026-03-16 10:00:00,000 INFO [main] started\n").unwrap();
    let live = dir.join("conf_access_log.log");
    // A file that cannot be read for now (a link to a copy still being made).
    let later = d.path().join("arriving.log");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&later, dir.join("conf_access_log.2026-03-01.log")).unwrap();
    let store = d.path().join("store");
    let err = d.path().join("watch.err");
    let mut w = watch(&store, &dir, &err, &[]);

    // Bursts: the store catches up with each while the collector runs.
    let third = a.len() / 3;
    let mut written = 0;
    for burst in [&a[..third], &a[third..2 * third], &a[2 * third..]] {
        append(&live, burst);
        written += burst.len();
        wait_for(&store, events_in(d.path(), &a[..written]));
    }
    // The unreadable file was said once, and is read once it can be.
    let said = std::fs::read_to_string(&err).unwrap();
    assert_eq!(said.matches("level=warn event=file").count(), 1, "{said}");
    assert!(said.contains("conf_access_log.2026-03-01.log") && said.contains("then=retrying"), "{said}");
    let arriving = "[01/Mar/2026:10:00:00 +0000] latecomer http-nio-8090-exec-1 10.0.0.9 GET /pages/viewpage.action?pageId=31337 HTTP/1.1 200 5ms 100 - Mozilla/5.0\n";
    std::fs::write(&later, arriving).unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while pagetrail_tests::run(&store, &["--format", "json", "events", "--user", "latecomer"]).stdout.is_empty() {
        assert!(Instant::now() < until, "the file that became readable was never ingested");
        std::thread::sleep(Duration::from_millis(100));
    }
    let extra = 1;

    // Rotation: the file is renamed and a new one starts.
    let rotated = dir.join("conf_access_log.log.1");
    std::fs::rename(&live, &rotated).unwrap();
    append(&live, &b[..b.len() / 2]);
    wait_for(&store, extra + events_in(d.path(), &[a, &b[..b.len() / 2]].concat()));

    // SIGKILL in the middle of a large burst (batches of 700 lines), then a restart.
    append(&live, &b[b.len() / 2..]);
    std::thread::sleep(Duration::from_millis(250));
    w.kill().unwrap();
    w.wait().unwrap();
    let err2 = d.path().join("watch2.err");
    let mut w = watch(&store, &dir, &err2, &[]);
    // The rotated file is gzipped the way logrotate does it, the copy growing while the
    // collector looks: nothing may be read twice.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(&rotated).unwrap()).unwrap();
    let gz = gz.finish().unwrap();
    let gz_path = dir.join("conf_access_log.log.1.gz");
    for part in gz.chunks(gz.len() / 4 + 1) {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&gz_path).unwrap();
        f.write_all(part).unwrap();
        drop(f);
        std::thread::sleep(Duration::from_millis(300));
    }
    std::fs::remove_file(&rotated).unwrap();
    append(&live, c);
    wait_for(&store, extra + events_in(d.path(), &lines));

    // SIGTERM: a clean stop, last batch committed, the chain head logged.
    let t = Command::new("kill").arg("-TERM").arg(w.id().to_string()).status().unwrap();
    assert!(t.success());
    let status = w.wait().unwrap();
    assert!(status.success(), "watch exits 0 on SIGTERM: {status}");
    let log = std::fs::read_to_string(&err2).unwrap();
    assert!(log.lines().all(|l| l.starts_with("ts=") && l.contains(" level=")), "one-line records: {log}");
    let stop = log.lines().last().unwrap();
    assert!(stop.contains("event=stop") && stop.contains("head="), "{stop}");
    let head = stop.split("head=").nth(1).unwrap().trim();
    assert_eq!(json(&store, &["verify", "--head", head])["intact"], true, "the logged head pins the chain");
    assert!(log.contains("event=commit"), "{log}");

    let clean = d.path().join("clean");
    json(&clean, &["ingest", dir.to_str().unwrap()]);
    for (got, want) in answers(&store).iter().zip(answers(&clean)) {
        if *got != want {
            let at = got.bytes().zip(want.bytes()).position(|(a, b)| a != b).unwrap_or(0);
            let show = |s: &str| s[at.saturating_sub(300)..(at + 300).min(s.len())].to_owned();
            panic!(
                "the collector's store differs from one clean ingest at byte {at}:\n{}\n---\n{}",
                show(got),
                show(&want)
            );
        }
    }
}

/// A log rotated by renaming, then written anew under the same name: the new content gets a
/// name of its own (`#2`), so its line 2 is not the old content's line 2.
#[test]
fn new_content_under_a_used_name_keeps_its_own_sources_and_rejects() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("catalina_access.log");
    let good = "[18/Dec/2020:13:00:00 +1100] alice http-nio-8090-exec-6 10.0.0.1 GET /pages/viewpage.action?pageId=7 HTTP/1.1 200 12ms 1000 - Mozilla/5.0\n";
    std::fs::write(&log, format!("{good}torn line one\n")).unwrap();
    let store = d.path().join("store");
    json(&store, &["ingest", log.to_str().unwrap()]);
    std::fs::rename(&log, d.path().join("catalina_access.log.1")).unwrap();
    std::fs::write(&log, format!("{}torn line two\n", good.replace("alice", "bob"))).unwrap();
    json(&store, &["ingest", log.to_str().unwrap()]);
    let rejects = jsonl(&store, &["rejects"]);
    let raws: Vec<&str> = rejects.iter().map(|r| r["raw"].as_str().unwrap()).collect();
    assert_eq!(raws, ["torn line one", "torn line two"], "{rejects:?}");
    let name = log.to_str().unwrap();
    assert_eq!(rejects[1]["file"].as_str(), Some(format!("{name} #2").as_str()));
    let bob = jsonl(&store, &["events", "--user", "bob"]);
    assert_eq!(bob[0]["source"]["file"].as_str(), Some(format!("{name} #2").as_str()), "{bob:?}");
    // Both contents are on record under the path they were read from, and each record names
    // what its lines are stored as: an event's source leads to its file's record.
    let sources = json(&store, &["sources"])["rows"].clone();
    let stored: Vec<&str> = sources.as_array().unwrap().iter().map(|r| r["stored_as"].as_str().unwrap()).collect();
    assert_eq!(stored.len(), 2, "{sources}");
    assert!(stored.contains(&name) && stored.contains(&format!("{name} #2").as_str()), "{sources}");
}

#[test]
fn detect_every_hands_each_finding_out_once_across_restarts() {
    let d = tempfile::tempdir().unwrap();
    // A burst of 600 pages in ten minutes, today (detect looks at the last day). That is the
    // high tier (500 in 15 minutes), so the burst alone opens a medium case: a medium burst
    // alone does not, and whether other detectors join it depends on the hour the test runs.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let start = now - 3 * 3600;
    let dir = d.path().join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let lines: Vec<String> = (0..600).map(|i| view_line(start + i, "mallory", 1000 + i as u64)).collect();
    let live = dir.join("conf_access_log.log");
    append(&live, &lines);
    let store = d.path().join("store");
    let alerts = d.path().join("alerts.jsonl");
    let run = |n: usize| {
        let err = d.path().join(format!("w{n}.err"));
        let o = Command::new(bin())
            .arg("--store")
            .arg(&store)
            .args(["watch", "--poll", "200ms", "--detect-every", "1s", "--stop-after", "3s", "--alerts"])
            .arg(&alerts)
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let _ = std::fs::write(err, &o.stderr);
        std::fs::read_to_string(&alerts).unwrap_or_default()
    };
    let first = run(1);
    let found: Vec<serde_json::Value> = first.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(
        found
            .iter()
            .any(|v| v["type"] == "alert" && v["alert"]["detector"] == "burst" && v["alert"]["user"] == "mallory"),
        "the burst goes out: {first}"
    );
    assert!(found.iter().any(|v| v["type"] == "case" && v["case"]["user"] == "mallory"), "{first:#}");
    // Three detect rounds in that run, then a restart: nothing twice.
    let second = run(2);
    assert_eq!(second, first, "a restart sends nothing again");
    // The store's ledger alone also knows (output to another file).
    let other = d.path().join("other.jsonl");
    let o = Command::new(bin())
        .arg("--store")
        .arg(&store)
        .args(["watch", "--poll", "200ms", "--detect-every", "1s", "--stop-after", "2s", "--alerts"])
        .arg(&other)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(&other).unwrap_or_default(), "", "the store's record of what went out");
    let _: PathBuf = other;
}

/// `[retention] keep` in the config purges from `watch`: what is older than the span goes,
/// the rest stays, and the purge is a link of the chain.
#[test]
fn retention_in_the_config_purges_what_is_older_from_watch() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    std::fs::write(dir.join("conf_access_log.old.log"), view_line(now - 90 * 86_400, "oldtimer", 77)).unwrap();
    std::fs::write(dir.join("conf_access_log.new.log"), view_line(now - 3600, "newcomer", 77)).unwrap();
    let cfg = d.path().join("pagetrail.toml");
    std::fs::write(&cfg, "[retention]\nkeep = \"30d\"\n").unwrap();
    let store = d.path().join("store");
    let o = Command::new(bin())
        .arg("--store")
        .arg(&store)
        .args(["watch", "--poll", "200ms", "--stop-after", "2s", "--config"])
        .arg(&cfg)
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("event=purge"), "{err}");
    let users: Vec<String> =
        jsonl(&store, &["events"]).iter().map(|e| e["user"].as_str().unwrap().to_owned()).collect();
    assert_eq!(users, ["newcomer"]);
    assert_eq!(json(&store, &["verify"])["intact"], true);
    // A key the section does not have is refused, naming it.
    std::fs::write(&cfg, "[retention]\nkep = \"3y\"\n").unwrap();
    let o = Command::new(bin())
        .arg("--store")
        .arg(&store)
        .args(["watch", "--config"])
        .arg(&cfg)
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown key 'kep'"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A small tmpfs, unmounted when dropped: a disk that can really fill.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, mib: u32) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m,mode=0700"), "tmpfs"])
            .arg(at)
            .output()
            .expect("running mount");
        assert!(
            o.status.success(),
            "this test fills a real disk: it mounts a {mib} MiB tmpfs, which needs root (CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&o.stderr).trim()
        );
        SmallDisk(at.to_owned())
    }

    /// Writes zeros to `name` until the disk is full.
    fn fill(&self, name: &str) -> PathBuf {
        let p = self.0.join(name);
        let mut f = std::fs::File::create(&p).unwrap();
        let block = vec![0u8; 64 << 10];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&block[..512]).is_ok() {}
        p
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Waits until `err` holds `what`, for up to a minute.
fn wait_said(err: &Path, what: &str) -> String {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let said = std::fs::read_to_string(err).unwrap_or_default();
        if said.contains(what) {
            return said;
        }
        assert!(Instant::now() < until, "the collector never said {what:?}:\n{said}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The disk under the store fills while lines keep coming: the collector says so, keeps
/// running, the store keeps answering with what it had, and once space is back every line
/// is in, as one clean ingest would have it.
#[test]
fn watch_keeps_going_when_the_disk_fills_and_catches_up_when_it_frees() {
    let d = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&d.path().join("disk"), 48);
    let gen = d.path().join("gen.log");
    let cfg = pagetrail_gen::GenConfig { users: 60, days: 2, seed: 4, ..Default::default() };
    pagetrail_gen::generate(&cfg, &mut std::io::BufWriter::new(std::fs::File::create(&gen).unwrap())).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&gen).unwrap().split_inclusive('\n').map(String::from).collect();
    let (a, b) = lines.split_at(lines.len() / 2);
    let dir = d.path().join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let live = dir.join("conf_access_log.log");
    let store = disk.0.join("store");
    let err = d.path().join("watch.err");
    append(&live, a);
    let mut w = watch(&store, &dir, &err, &[]);
    let before = events_in(d.path(), a);
    wait_for(&store, before);

    let filler = disk.fill("filler");
    append(&live, b);
    let said = wait_said(&err, "level=error event=store");
    let record = said.lines().find(|l| l.contains("event=store")).unwrap();
    assert!(record.contains("then=\"retrying in"), "{record}");
    assert!(w.try_wait().unwrap().is_none(), "the collector keeps running on a full disk:\n{said}");
    // The store still answers meanwhile, with at least what it held before.
    let meanwhile = json(&store, &["stats"])["events"].as_u64().unwrap();
    assert!(meanwhile >= before, "{meanwhile} < {before}");

    std::fs::remove_file(&filler).unwrap();
    wait_for(&store, events_in(d.path(), &lines));
    let t = Command::new("kill").arg("-TERM").arg(w.id().to_string()).status().unwrap();
    assert!(t.success());
    assert!(w.wait().unwrap().success());
    assert_eq!(json(&store, &["verify"])["intact"], true);
    let clean = d.path().join("clean");
    json(&clean, &["ingest", dir.to_str().unwrap()]);
    assert_eq!(answers(&store), answers(&clean));
}
