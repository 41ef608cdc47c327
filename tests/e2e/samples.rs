//! The hand-written samples in data/samples: every variant and quirk, answered exactly.

use pagetrail_tests::{json, jsonl, ok, samples};
use serde_json::json;

fn store_with_samples() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let s = samples();
    let summary = json(&store, &["ingest", s.to_str().unwrap()]);
    assert_eq!(summary["files"], 3, "{summary}");
    assert_eq!(summary["lines"], 23, "{summary}");
    assert_eq!(summary["rejected"], 1, "{summary}");
    assert_eq!(summary["noise"], 2, "{summary}");
    assert_eq!(summary["events"], 20, "{summary}");
    assert_eq!(summary["reads"], 12, "{summary}");
    assert_eq!(summary["duplicates"], 0, "{summary}");
    (d, store)
}

#[test]
fn variants_quirks_and_identity() {
    let (_d, store) = store_with_samples();
    let stats = json(&store, &["stats"]);
    assert_eq!(stats["events"], 20);
    assert_eq!(stats["reads"], 12);
    assert_eq!(stats["users"], 6, "jsmith and JSmith are one user: {stats}");
    // The DST switch: 01:59:58 +0100 and 03:00:01 +0200 are 1 h 0 min 3 s apart in UTC.
    let js = jsonl(&store, &["events", "--user", "jsmith"]);
    let ts: Vec<&str> = js.iter().map(|e| e["ts"].as_str().unwrap()).collect();
    assert_eq!(&ts[..3], ["2026-03-29T00:59:58Z", "2026-03-29T01:00:01Z", "2026-03-29T01:00:05Z"]);
    assert_eq!(js[0]["page_id"], 1234567);
    assert_eq!(js[1]["space"], "ENG");
    assert_eq!(js[1]["title"], "Deploy Runbook");
    assert_eq!(js[2]["status"], 304);
    assert_eq!(js[2]["bytes"], 0);
    assert_eq!(js[3]["ip"], "192.168.1.15", "variant B: the client is the first X-Forwarded-For address");
    assert_eq!(js[4]["path"], "/wiki/spaces/ENG/pages/1234567/Build+Farm", "the stored path is as logged");
    assert_eq!(js[4]["user_agent"], "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/107.0.0.0 Safari/537.36");
    assert!(js[0]["source"]["file"].as_str().unwrap().ends_with("conf_access_log.2026-03-29.log"));
    assert_eq!(js[0]["source"]["line"], 1);

    let m = jsonl(&store, &["events", "--user", "mallory"]);
    let actions: Vec<&str> = m.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["search", "view", "download", "export", "search", "space_export"]);
    assert_eq!(m[1]["user_agent"], "Evil \"agent\" \u{1b}[31m", "Tomcat escapes are undone");
    assert_eq!(m[1]["status"], 403);
    assert_eq!(m[1]["title"], "AWS Keys & Tokens");
    assert_eq!(m[4]["query"], "cql=text~\"password\"", "a literal quote inside variant C's quoted request");
    assert_eq!(m[5]["space"], "OPS");

    let anon = jsonl(&store, &["events", "--user", "-"]);
    assert_eq!(anon.len(), 3);
    assert_eq!(anon[0]["path"], "", "a lone '-' request is an accepted event with an empty path");
    assert_eq!(anon[0]["action"], "other");

    // jsmith read 1234567 three times and Deploy Runbook (by title, then by id 1234999 which a
    // /spaces/ENG/pages/1234999/Deploy+Runbook line links to that title) twice.
    let u = json(&store, &["user", "jsmith"]);
    assert_eq!(
        (u["events"].as_u64(), u["distinct_pages"].as_u64(), u["distinct_spaces"].as_u64()),
        (Some(5), Some(2), Some(1)),
        "{u}"
    );
    assert_eq!(u["sources"].as_array().unwrap().len(), 3, "{u}");

    let who = json(&store, &["who-read", "--page", "1234999"]);
    let rows: Vec<(String, u64)> = who["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["user"].as_str().unwrap().to_owned(), r["events"].as_u64().unwrap()))
        .collect();
    assert_eq!(rows, [("anna".into(), 2), ("jsmith".into(), 2), ("-".into(), 1)]);
    assert_eq!(who, json(&store, &["who-read", "--title", "ENG/Deploy+Runbook"]));

    let rej = jsonl(&store, &["rejects"]);
    assert_eq!(rej.len(), 1);
    assert_eq!(rej[0]["line"], 13);
    assert_eq!(rej[0]["raw"], "[29/Mar/2026:03:02:3");
    assert!(rej[0]["file"].as_str().unwrap().ends_with("conf_access_log.2026-03-29.log"));
}

#[test]
fn catalog_after_logs_places_pages_in_their_space() {
    let (_d, store) = store_with_samples();
    // 777001 is only ever named by id: its space is unknown until the catalog says OPS.
    let before = json(&store, &["who-read", "--space", "OPS"]);
    assert_eq!(before["rows"], json!([]));
    let cat = samples().join("catalog.csv");
    assert_eq!(json(&store, &["catalog", cat.to_str().unwrap()])["pages"], 3);
    let after = json(&store, &["who-read", "--space", "OPS"]);
    let rows = after["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{after}");
    assert_eq!(rows[0]["user"], "mallory");
    assert_eq!(rows[0]["events"], 2);
    assert_eq!(rows[0]["distinct_pages"], 1);
    assert_eq!(rows[0]["bytes"], 9_022_000 + 402_000);
    let top = json(&store, &["top-readers", "--space", "OPS", "--by", "bytes"]);
    assert_eq!(top["rows"][0]["user"], "mallory");
    assert_eq!(top["rows"][0]["distinct_spaces"], 1);
    // Ingesting the same folder again adds nothing.
    let again = json(&store, &["ingest", samples().to_str().unwrap()]);
    assert_eq!((again["events"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(23)), "{again}");
    let text = ok(&store, &["who-read", "--space", "OPS"]);
    assert!(text.starts_with("USER"), "{text}");
}
