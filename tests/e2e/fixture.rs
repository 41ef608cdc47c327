//! A store is forever: each committed store written by an earlier release (`tests/fixtures/`,
//! made by `make-store.sh`: format 3, and format 4, whose per-user index rows format 5 moved)
//! opens with this build, gives the answers it gave then, is migrated by the first writer and
//! gives them still, also once compaction has merged its old-format values with new ones, and
//! keeps growing, with its old-format file records still recognising the files it holds.

use std::path::Path;

use pagetrail_tests::{json, jsonl, ok};

/// Asks every recorded question of fixture `name` and compares the answer with the one the old
/// release gave.
fn answers_as_recorded(name: &str, store: &Path, when: &str) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let answers = std::fs::read_to_string(fixtures.join(format!("{name}.answers.jsonl"))).unwrap();
    let strip = |mut v: serde_json::Value| {
        if let Some(o) = v.as_object_mut() {
            o.remove("bytes_on_disk");
        }
        v
    };
    let (mut asked, mut events) = (0, 0);
    for line in answers.lines() {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        let args: Vec<&str> = rec["args"].as_str().unwrap().split(' ').collect();
        // JSON Lines answers (events, rejects) are recorded as the array of their lines.
        match rec.get("lines") {
            Some(lines) => {
                let got = jsonl(store, &args);
                events += got.len();
                assert_eq!(serde_json::Value::from(got), *lines, "{when}: {args:?}");
            }
            None => assert_eq!(strip(json(store, &args)), strip(rec["answer"].clone()), "{when}: {args:?}"),
        }
        asked += 1;
    }
    assert!(asked >= 15 && events >= 28, "{when}: the fixture records its answers ({asked}, {events} lines)");
}

#[test]
fn the_format_3_store_opens_answers_and_grows() {
    opens_answers_and_grows("store-v3");
}

#[test]
fn the_format_4_store_of_the_previous_release_opens_answers_and_grows() {
    opens_answers_and_grows("store-v4");
}

fn opens_answers_and_grows(name: &str) {
    let d = tempfile::tempdir().unwrap();
    let store = pagetrail_tests::fixture_store(d.path(), name);
    answers_as_recorded(name, &store, "read as it was written");
    let user_major = |store: &Path| -> usize {
        use pagetrail_store::raw::{entries, Cf};
        let db = pagetrail_store::Store::open_reader(store).unwrap();
        let old =
            |cf| entries(&db, cf).unwrap().iter().filter(|(k, _)| !pagetrail_index::keys::is_period_major(k)).count();
        old(Cf::UserDays) + old(Cf::UserPages)
    };
    assert!(user_major(&store) > 0, "{name} holds user-major index rows to move");
    // The first writer migrates it (moving the user-major rows of `user_days` and
    // `user_pages`); compaction then rewrites every table, folding the old index values into
    // whatever the new format writes.
    ok(&store, &["compact"]);
    assert_eq!(user_major(&store), 0, "{name}: every user-major row moved");
    answers_as_recorded(name, &store, "migrated and compacted");
    // A migration cut short leaves some rows in each layout: readers count each row once.
    {
        use pagetrail_index::keys::{entity_key, parse};
        use pagetrail_store::raw::{self, Cf};
        let db = pagetrail_store::Store::open_writer(&store).unwrap();
        let mut b = db.batch();
        for cf in [Cf::UserDays, Cf::UserPages] {
            for (k, v) in raw::entries(&db, cf).unwrap().into_iter().step_by(2) {
                let (u, g, p) = parse(&k).unwrap();
                raw::put(&mut b, cf, &entity_key(u, g, p), &v);
                raw::delete(&mut b, cf, &k);
            }
        }
        db.commit(b).unwrap();
    }
    assert!(user_major(&store) > 0);
    answers_as_recorded(name, &store, "half in each layout");

    // Its files are still known by content (version-1 file records): nothing is added twice.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = |p: &str| root.join("data").join(p).to_str().unwrap().to_owned();
    let again = json(&store, &["ingest", "--tz", "Europe/Berlin", &data("samples"), &data("sources")]);
    assert_eq!(again["events"], 0, "{again}");
    assert!(again["duplicates"].as_u64().unwrap() > 0, "{again}");
    // New logs go in beside the old ones.
    let before = json(&store, &["stats"]);
    let log = d.path().join("conf_access_log.2026-04-02.log");
    std::fs::write(
        &log,
        "[02/Apr/2026:09:00:00 +0000] mallory http-nio-8090-exec-1 10.0.0.5 GET /pages/viewpage.action?pageId=1234567 HTTP/1.1 200 30ms 4000 - Mozilla/5.0\n",
    )
    .unwrap();
    assert_eq!(json(&store, &["ingest", log.to_str().unwrap()])["reads"], 1);
    let after = json(&store, &["stats"]);
    assert_eq!(after["reads"].as_u64(), before["reads"].as_u64().map(|r| r + 1), "{before} {after}");
    assert!(ok(&store, &["--format", "json", "events", "--user", "mallory"]).contains("2026-04-02T09:00:00Z"));
}
