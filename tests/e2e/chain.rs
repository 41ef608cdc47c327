//! The tamper-evident store (issue 12, item 4): `verify` with no file recomputes the hash chain
//! and names the first batch that no longer matches.

use pagetrail_store::raw::{self, Cf};
use pagetrail_store::{chain, events, Store};
use pagetrail_tests::{json, run};

/// A store of three batches (one per file) of generated logs.
fn three_batches(d: &std::path::Path) -> std::path::PathBuf {
    let logs = d.join("logs");
    let cfg = pagetrail_gen::GenConfig { users: 30, days: 3, ..Default::default() };
    pagetrail_gen::generate_files(&cfg, &logs).unwrap();
    let store = d.join("store");
    json(&store, &["ingest", logs.to_str().unwrap()]);
    store
}

fn verify(store: &std::path::Path, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut args = vec!["--format", "json", "verify"];
    args.extend_from_slice(extra);
    let o = run(store, &args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code(), v, String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn an_intact_store_verifies_and_a_rewritten_group_is_named() {
    let d = tempfile::tempdir().unwrap();
    let store = three_batches(d.path());
    let (code, v, err) = verify(&store, &[]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert_eq!(
        (v["intact"].as_bool(), v["links"].as_u64(), v["uncovered_groups"].as_u64()),
        (Some(true), Some(3), Some(0)),
        "{v}"
    );
    assert!(v["event_groups"].as_u64().unwrap() > 30, "{v}");
    let head = v["head"].as_str().unwrap().to_owned();
    // The head also verifies as a pinned head.
    assert_eq!(verify(&store, &["--head", &head]).0, Some(0));

    // An insider rewrites one of their event groups through RocksDB: one byte of one value of
    // batch 2 (the test helper goes below ingest, as someone with the files would).
    {
        let s = Store::open_writer(&store).unwrap();
        let (k, mut val) = raw::entries(&s, Cf::Events)
            .unwrap()
            .into_iter()
            .find(|(k, _)| events::parse_key(k).unwrap().2 == 2)
            .expect("a group of batch 2");
        let last = val.len() - 1;
        val[last] ^= 1;
        let mut b = s.batch();
        raw::put(&mut b, Cf::Events, &k, &val);
        s.commit(b).unwrap();
    }
    let (code, v, err) = verify(&store, &[]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!((v["intact"].as_bool(), v["first_bad_batch"].as_u64()), (Some(false), Some(2)), "{v}");
    assert!(err.contains("batch 2") && err.contains("rewritten"), "{err}");

    // Deleting a group instead says it is missing.
    {
        let s = Store::open_writer(&store).unwrap();
        let (k, _) = raw::entries(&s, Cf::Events)
            .unwrap()
            .into_iter()
            .find(|(k, _)| events::parse_key(k).unwrap().2 == 1)
            .unwrap();
        let mut b = s.batch();
        raw::delete(&mut b, Cf::Events, &k);
        s.commit(b).unwrap();
    }
    let (_, v, _) = verify(&store, &[]);
    assert_eq!(v["first_bad_batch"].as_u64(), Some(1), "the first batch that no longer matches: {v}");
    assert!(v["problem"].as_str().unwrap().contains("missing"), "{v}");
}

#[test]
fn removing_the_newest_batch_is_caught_against_a_logged_head() {
    let d = tempfile::tempdir().unwrap();
    let store = three_batches(d.path());
    let (_, v, _) = verify(&store, &[]);
    let logged = v["head"].as_str().unwrap().to_owned();
    // Remove batch 3 entirely: its groups, its link and the batch counter. The chain that is
    // left is consistent in itself ...
    {
        let s = Store::open_writer(&store).unwrap();
        let mut b = s.batch();
        for (k, _) in raw::entries(&s, Cf::Events).unwrap() {
            if events::parse_key(&k).unwrap().2 == 3 {
                raw::delete(&mut b, Cf::Events, &k);
            }
        }
        raw::delete(&mut b, Cf::Meta, &chain::key(3));
        raw::put(&mut b, Cf::Meta, b"batch", &2u32.to_be_bytes());
        s.commit(b).unwrap();
    }
    let (code, v, _) = verify(&store, &[]);
    assert_eq!((code, v["last_batch"].as_u64()), (Some(0), Some(2)), "{v}");
    // ... but not with the head `watch` logged before the removal.
    let (code, v, err) = verify(&store, &["--head", &logged]);
    assert_eq!(code, Some(1), "{v}");
    assert!(v["problem"].as_str().unwrap().contains("not in the chain") && err.contains("removed"), "{v} {err}");
    // A malformed head is a usage error naming it.
    let o = run(&store, &["verify", "--head", "abc"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--head 'abc'"));
}

/// A store written before the chain existed: its batches are not covered, and said so; the
/// next ingest starts the chain.
#[test]
fn a_store_from_before_the_chain_is_uncovered_until_its_next_batch() {
    let d = tempfile::tempdir().unwrap();
    let store = pagetrail_tests::v3_store(d.path());
    let (code, v, _) = verify(&store, &[]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["links"].as_u64(), Some(0));
    let old = v["uncovered_groups"].as_u64().unwrap();
    assert!(old > 0 && old == v["event_groups"].as_u64().unwrap(), "{v}");
    let log = d.path().join("more.log");
    std::fs::write(&log, "[18/Dec/2020:13:00:00 +1100] newuser http-nio-8090-exec-6 10.0.0.1 GET /pages/viewpage.action?pageId=5 HTTP/1.1 200 12ms 1000 - Mozilla/5.0\n").unwrap();
    json(&store, &["ingest", log.to_str().unwrap()]);
    let (code, v, _) = verify(&store, &[]);
    assert_eq!((code, v["links"].as_u64(), v["uncovered_groups"].as_u64()), (Some(0), Some(1), Some(old)), "{v}");
    // A purge that cuts batches from before the chain has nothing of theirs to hash anew (found
    // on the year store: verify called them missing).
    let p = json(&store, &["purge", "--before", "2026-03-31", "--reason", "retention"]);
    assert!(p["events"].as_u64().unwrap() > 0, "{p}");
    let (code, v, err) = verify(&store, &[]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert!(v["uncovered_groups"].as_u64().unwrap() < old, "{v}");
}

/// Days split over many small batches (as `watch` commits them) are rewritten as one group per
/// user and day by `compact`: every answer stays, the chain still verifies, and the merge is a
/// link of it like any batch.
#[test]
fn consolidation_rewrites_split_days_and_keeps_answers_and_the_chain() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    let cfg = pagetrail_gen::GenConfig { users: 40, days: 4, ..Default::default() };
    pagetrail_gen::generate_files(&cfg, &logs).unwrap();
    let store = d.path().join("store");
    json(&store, &["ingest", "--batch-lines", "200", logs.to_str().unwrap()]);
    let groups = |s: &std::path::Path| -> Vec<(u32, i64)> {
        let st = Store::open_reader(s).unwrap();
        raw::entries(&st, Cf::Events)
            .unwrap()
            .into_iter()
            .map(|(k, _)| {
                let (u, ts, _) = events::parse_key(&k).unwrap();
                (u, ts.div_euclid(86_400_000))
            })
            .collect()
    };
    let answers = |s: &std::path::Path| {
        let mut st = json(s, &["stats"]);
        st["bytes_on_disk"] = 0.into();
        vec![
            st.to_string(),
            pagetrail_tests::ok(s, &["--format", "json", "events"]),
            pagetrail_tests::ok(s, &["--format", "json", "top-readers", "--from", "2026-01-01", "--to", "2027-01-01"]),
            pagetrail_tests::ok(s, &["--format", "json", "detect", "--from", "2026-03-17", "--to", "2026-03-21"]),
        ]
    };
    let before = groups(&store);
    let mut days = before.clone();
    days.dedup();
    assert!(
        before.len() > days.len() + 20,
        "small batches split the days: {} groups, {} user-days",
        before.len(),
        days.len()
    );
    let want = answers(&store);
    let o = run(&store, &["compact"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("consolidated"), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(groups(&store), days, "one group per user and day");
    assert_eq!(answers(&store), want, "consolidation changed an answer");
    let (code, v, _) = verify(&store, &[]);
    assert_eq!(code, Some(0), "{v}");
    // A second compact has nothing to merge; the merged groups are covered like any batch.
    let (links, merge) = (v["links"].as_u64().unwrap(), v["last_batch"].as_u64().unwrap() as u32);
    assert!(run(&store, &["compact"]).status.success());
    assert_eq!(verify(&store, &[]).1["links"].as_u64(), Some(links));
    {
        let s = Store::open_writer(&store).unwrap();
        let (k, mut val) = raw::entries(&s, Cf::Events)
            .unwrap()
            .into_iter()
            .find(|(k, _)| events::parse_key(k).unwrap().2 == merge)
            .expect("a merged group");
        let last = val.len() - 1;
        val[last] ^= 1;
        let mut b = s.batch();
        raw::put(&mut b, Cf::Events, &k, &val);
        s.commit(b).unwrap();
    }
    let (code, v, _) = verify(&store, &[]);
    assert_eq!((code, v["first_bad_batch"].as_u64()), (Some(1), Some(u64::from(merge))), "{v}");
}
