//! A store is forever: the committed store written by an earlier release (`tests/fixtures/`,
//! made by `make-store.sh`) opens with this build, gives the answers it gave then, is migrated
//! by the first writer and gives them still, also once compaction has merged its old-format
//! values with new ones, and keeps growing, with its old-format file records still recognising
//! the files it holds.

use std::path::Path;

use pagetrail_tests::{json, jsonl, ok};

/// Asks every recorded question and compares the answer with the one the old release gave.
fn answers_as_recorded(store: &Path, when: &str) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let answers = std::fs::read_to_string(fixtures.join("store-v3.answers.jsonl")).unwrap();
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
fn the_format_3_store_of_the_previous_release_opens_answers_and_grows() {
    let d = tempfile::tempdir().unwrap();
    let store = pagetrail_tests::v3_store(d.path());
    answers_as_recorded(&store, "read as format 3");
    // The first writer migrates it; compaction then rewrites every table, folding the
    // format-3 index values into whatever the new format writes.
    ok(&store, &["compact"]);
    answers_as_recorded(&store, "migrated and compacted");

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
