//! Retention and erasure (issue 12, item 3): after `purge --before` every answer equals that of a
//! store built only from the later lines; after `purge --user` no column family holds a trace of
//! the person, checked key by key; a purge killed at any moment leaves the store before or after.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pagetrail_store::raw::{self, Cf};
use pagetrail_store::{dict, events, Store};
use pagetrail_tests::{bin, json, ok, run};

const CUT: &str = "2026-03-21";

/// Generated logs of 10 days (torn lines included) with a catalog, as files named like Tomcat's.
fn site(d: &Path) -> (PathBuf, PathBuf) {
    let logs = d.join("logs");
    let cfg = pagetrail_gen::GenConfig { users: 120, days: 10, seed: 11, ..Default::default() };
    pagetrail_gen::generate_files(&cfg, &logs).unwrap();
    let catalog = d.join("catalog.csv");
    pagetrail_gen::write_catalog(&pagetrail_gen::site(&cfg), &mut std::fs::File::create(&catalog).unwrap()).unwrap();
    (logs, catalog)
}

/// Ingests the files of `dir` by their bare names (so two stores cite the same file names).
fn ingest_in(dir: &Path, store: &Path, catalog: &Path) {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut c = Command::new(bin());
    c.current_dir(dir).arg("--store").arg(store).args(["--format", "json", "ingest", "--final"]).args(&names);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ok(store, &["catalog", catalog.to_str().unwrap()]);
}

/// Every question's JSON answer. Source line numbers are left out: a store of only the later
/// lines numbers them from its own files.
fn answers(store: &Path) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    let mut stats = json(store, &["stats"]);
    for k in ["bytes_on_disk", "spaces"] {
        stats.as_object_mut().unwrap().remove(k);
    }
    out.push(("stats".into(), stats));
    let all = ["--from", "2026-01-01", "--to", "2026-06-01"];
    let q = |args: &[&str]| -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend_from_slice(&all);
        json(store, &a)
    };
    for by in ["pages", "bytes"] {
        out.push((format!("top {by}"), q(&["top-readers", "--by", by, "--limit", "1000"])));
    }
    out.push(("top 3 days".into(), json(store, &["top-readers", "--from", "2026-03-20", "--to", "2026-03-23"])));
    let top = q(&["top-readers", "--limit", "8"]);
    for r in top["rows"].as_array().unwrap() {
        let u = r["user"].as_str().unwrap();
        out.push((format!("user {u}"), q(&["user", u])));
        let mut evs =
            pagetrail_tests::jsonl(store, &["events", "--user", u, "--from", "2026-01-01", "--to", "2026-06-01"]);
        for e in &mut evs {
            e["source"]["line"] = 0.into();
        }
        out.push((format!("events {u}"), serde_json::Value::Array(evs)));
    }
    for space in ["ENG", "OPS", "HR", "FIN"] {
        out.push((format!("space {space}"), q(&["who-read", "--space", space])));
    }
    let mut rejects = pagetrail_tests::jsonl(store, &["rejects"]);
    for r in &mut rejects {
        r["line"] = 0.into();
    }
    out.push(("rejects".into(), serde_json::Value::Array(rejects)));
    let mut det = json(store, &["detect", "--alerts", "--from", CUT, "--to", "2026-03-27"]);
    for a in det["alerts"].as_array_mut().unwrap() {
        for k in ["sources", "first_source", "last_source"] {
            a["evidence"][k] = serde_json::Value::Null;
        }
    }
    out.push(("detect alerts".into(), det["alerts"].clone()));
    out
}

/// Keeps the lines at or after the cut, and a line that does not parse when a line before it in
/// the same file was kept (the purge's rule for rejects: a log is written in time order).
fn later_lines(text: &str, cut_ms: i64) -> String {
    let mut kept = String::new();
    let mut keeping = false;
    for line in text.split_inclusive('\n') {
        if let Ok(r) = pagetrail_core::parse_line(pagetrail_core::Variant::A, line.trim_end_matches('\n')) {
            keeping = r.ts_ms >= cut_ms;
        }
        if keeping {
            kept.push_str(line);
        }
    }
    kept
}

#[test]
fn purge_before_equals_a_store_of_only_the_later_lines() {
    let d = tempfile::tempdir().unwrap();
    let (logs, catalog) = site(d.path());
    let full = d.path().join("full");
    ingest_in(&logs, &full, &catalog);
    let before = json(&full, &["stats"]);

    let cut_ms = pagetrail_core::time::parse_instant(CUT).unwrap();
    let later = d.path().join("later-logs");
    std::fs::create_dir_all(&later).unwrap();
    for e in std::fs::read_dir(&logs).unwrap() {
        let p = e.unwrap().path();
        let kept = later_lines(&std::fs::read_to_string(&p).unwrap(), cut_ms);
        if !kept.is_empty() {
            std::fs::write(later.join(p.file_name().unwrap()), kept).unwrap();
        }
    }
    let fresh = d.path().join("fresh");
    ingest_in(&later, &fresh, &catalog);

    let p = json(&full, &["purge", "--before", CUT, "--reason", "retention test"]);
    assert!(p["events"].as_u64().unwrap() > 1000, "{p}");
    assert!(p["rejects"].as_u64().unwrap() > 0, "torn lines of the early days go too: {p}");
    let after = json(&full, &["stats"]);
    assert_eq!(
        after["events"].as_u64().unwrap() + p["events"].as_u64().unwrap(),
        before["events"].as_u64().unwrap(),
        "{before} {after}"
    );
    assert!(after["first"].as_str().unwrap() >= CUT, "stats shows the oldest data kept: {after}");

    let (want, got) = (answers(&fresh), answers(&full));
    assert_eq!(want.len(), got.len());
    for ((name, w), (_, g)) in want.iter().zip(&got) {
        assert_eq!(w, g, "{name} differs after purge from a store of only the later lines");
    }
    // The chain still verifies: the purge is a link, and the batches it cut were hashed anew.
    let v = json(&full, &["verify"]);
    assert_eq!(v["intact"], true, "{v}");
    // Purging again removes nothing more.
    let again = json(&full, &["purge", "--before", CUT, "--reason", "again"]);
    assert_eq!(again["events"], 0, "{again}");
}

/// Every byte string of every column family, as (family, key, value).
fn dump(store: &Path) -> Vec<(Cf, Vec<u8>, Vec<u8>)> {
    let s = Store::open_reader(store).unwrap();
    let mut out = Vec::new();
    for cf in Cf::ALL {
        out.extend(raw::entries(&s, cf).unwrap().into_iter().map(|(k, v)| (cf, k, v)));
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.to_ascii_lowercase().windows(needle.len()).any(|w| w == needle)
}

#[test]
fn purge_user_leaves_no_trace_in_any_column_family() {
    let d = tempfile::tempdir().unwrap();
    let (logs, catalog) = site(d.path());
    // A real log too, and a torn line of the person in a file of its own.
    std::fs::copy(
        pagetrail_tests::samples().join("confluence_access.2026-03-31.log"),
        logs.join("confluence_access.2026-03-31.log"),
    )
    .unwrap();
    let store = d.path().join("store");
    ingest_in(&logs, &store, &catalog);
    let top = json(&store, &["top-readers", "--limit", "3", "--from", "2026-01-01", "--to", "2026-06-01"]);
    let victim = top["rows"][1]["user"].as_str().unwrap().to_owned();
    let other = top["rows"][0]["user"].as_str().unwrap().to_owned();
    let torn = d.path().join("torn.log");
    std::fs::write(
        &torn,
        format!(
            "[20/Mar/2026:09:59:00 +0000] {other} http-nio-8090-exec-1 10.9.9.8 GET /pages/viewpage.action?pageId=98765 HTTP/1.1 200 12ms 1000 - Mozilla/5.0\n\
             [20/Mar/2026:10:00:00 +0000] {victim} http-nio-8090-exec-1 10.9.9.9 GET /pages/vi"
        ),
    )
    .unwrap();
    json(&store, &["ingest", "--final", torn.to_str().unwrap()]);
    // The directory gives them a user key and an account id: aliases to remove too.
    let users = d.path().join("users.csv");
    std::fs::write(
        &users,
        format!("username,user_key,account_id\n{victim},8a7f80826fd1b9c1016fd1bb1e860000,5b10ac8d82e05b22cc7d4ef5\n"),
    )
    .unwrap();
    json(&store, &["users", users.to_str().unwrap()]);
    let ids: BTreeSet<u32> = {
        let s = Store::open_reader(&store).unwrap();
        let um = pagetrail_store::users::UserMap::load(&s).unwrap();
        let id = dict::lookup(&s, dict::DictKind::User, victim.as_bytes()).unwrap().unwrap();
        um.ids_of(id).into_iter().collect()
    };
    assert_eq!(ids.len(), 3, "the name, its user key and its account id");
    let before_other = json(&store, &["user", &other, "--from", "2026-01-01", "--to", "2026-03-20"]);
    assert!(dump(&store).iter().any(|(_, k, v)| contains(k, victim.as_bytes()) || contains(v, victim.as_bytes())));

    let p = json(&store, &["purge", "--user", &victim, "--reason", "erasure request 42"]);
    assert!(p["events"].as_u64().unwrap() > 50 && p["rejects"].as_u64().unwrap() >= 1, "{p}");

    let name = victim.as_bytes().to_ascii_lowercase();
    let key_names = [b"8a7f80826fd1b9c1016fd1bb1e860000".to_vec(), b"5b10ac8d82e05b22cc7d4ef5".to_vec()];
    for (cf, k, v) in dump(&store) {
        for n in std::iter::once(&name).chain(&key_names) {
            assert!(
                !contains(&k, n) && !contains(&v, n),
                "{} still names them: {k:?} -> {:?}",
                cf.name(),
                String::from_utf8_lossy(&v)
            );
        }
        let user_in_key = match cf {
            Cf::Events => events::parse_key(&k).map(|(u, _, _)| u),
            Cf::UserDays | Cf::UserPages => pagetrail_index::keys::parse(&k).map(|(u, _, _)| u),
            Cf::UserDigest => pagetrail_index::digest::parse_key(&k).map(|(u, _)| u),
            Cf::SpaceUserPages => pagetrail_index::keys::key_user(&k),
            _ => None,
        };
        assert!(user_in_key.is_none_or(|u| !ids.contains(&u)), "{} key {k:?} is theirs", cf.name());
        if matches!(cf, Cf::PageUsers | Cf::SpaceUsers) {
            pagetrail_index::readers::for_each(&v, |u, _| {
                assert!(!ids.contains(&u), "{} lists them as a reader", cf.name())
            })
            .unwrap();
        }
        if cf == Cf::Meta && k.starts_with(b"ad") {
            let u = u32::from_be_bytes(v[..4].try_into().unwrap());
            assert!(!ids.contains(&u), "an audit download of theirs");
        }
    }
    // Nobody else lost anything, and the questions no longer know them.
    assert_eq!(json(&store, &["user", &other, "--from", "2026-01-01", "--to", "2026-03-20"]), before_other);
    let after = json(&store, &["top-readers", "--limit", "1000", "--from", "2026-01-01", "--to", "2026-06-01"]);
    assert!(after["rows"].as_array().unwrap().iter().all(|r| r["user"] != victim.as_str()), "{after}");
    let o = run(&store, &["--format", "json", "events", "--user", &victim]);
    assert!(String::from_utf8_lossy(&o.stdout).trim().is_empty(), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(json(&store, &["verify"])["intact"], true);
    // The chain says an erasure happened, not whose.
    let o = run(&store, &["purge", "--user", &victim, "--reason", "again"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no user named"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A purge is one atomic batch: killed at any moment, the store answers as before it or as
/// after it, the chain verifies, and running the purge again finishes it.
#[test]
fn a_killed_purge_leaves_the_store_before_or_after() {
    let d = tempfile::tempdir().unwrap();
    let (logs, catalog) = site(d.path());
    let base = d.path().join("base");
    ingest_in(&logs, &base, &catalog);
    let copy = |to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(&base).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    };
    let key = |s: &Path| {
        let mut st = json(s, &["stats"]);
        st["bytes_on_disk"] = 0.into();
        (
            st,
            ok(
                s,
                &["--format", "json", "top-readers", "--limit", "1000", "--from", "2026-01-01", "--to", "2026-06-01"],
            ),
        )
    };
    let before = key(&base);
    let clean = d.path().join("clean");
    copy(&clean);
    let t0 = std::time::Instant::now();
    json(&clean, &["purge", "--before", CUT, "--reason", "r"]);
    let took = t0.elapsed();
    let after = key(&clean);
    assert_ne!(before, after);
    let mut states = BTreeSet::new();
    for (i, frac) in [0.1f64, 0.3, 0.5, 0.7, 0.9].into_iter().enumerate() {
        let s = d.path().join(format!("kill{i}"));
        copy(&s);
        let mut child = Command::new(bin())
            .arg("--store")
            .arg(&s)
            .args(["purge", "--before", CUT, "--reason", "r"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(took.mul_f64(frac));
        child.kill().unwrap();
        child.wait().unwrap();
        let now = key(&s);
        assert!(now == before || now == after, "a purge killed at {frac} left a third state");
        states.insert(now == after);
        assert_eq!(json(&s, &["verify"])["intact"], true);
        json(&s, &["purge", "--before", CUT, "--reason", "r"]);
        assert_eq!(key(&s), after, "purging again after a kill at {frac}");
    }
    eprintln!("killed purges found the store {} before and {} after", states.contains(&false), states.contains(&true));
}
