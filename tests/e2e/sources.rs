//! Sources other than the Tomcat access log (issue 4, in progress): AccessLogFilter lines, the
//! DC audit file and REST export, JSON Lines; rejects, extra fields and idempotence.

use pagetrail_tests::{json, jsonl, run};

fn sources() -> std::path::PathBuf {
    pagetrail_tests::samples().join("../sources")
}

#[test]
fn mixed_sources_folder() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let dir = sources();
    let s = json(&store, &["ingest", "--tz", "Europe/Berlin", dir.to_str().unwrap()]);
    // 5 AccessLogFilter lines (1 other log line, 1 torn), 3 DC audit records (a download, a space
    // import, 1 torn), 2 Cloud audit records (an export, a logo change), 2 organization audit
    // events (a view, a login), 3 JSON Lines (1 bad timestamp). Every audit record is an event.
    assert_eq!((s["files"].as_u64(), s["lines"].as_u64()), (Some(5), Some(15)), "{s}");
    assert_eq!((s["events"].as_u64(), s["reads"].as_u64()), (Some(11), Some(7)), "{s}");
    assert_eq!((s["noise"].as_u64(), s["rejected"].as_u64()), (Some(1), Some(3)), "{s}");
    let admin = jsonl(&store, &["events", "--action", "admin"]);
    let what: Vec<&str> = admin
        .iter()
        .map(|e| e["extra"]["audit_action"].as_str().or(e["extra"]["audit_summary"].as_str()).unwrap())
        .collect();
    assert_eq!(what, ["audit.logging.summary.space.import", "Space logo uploaded"], "{admin:?}");
    assert_eq!(jsonl(&store, &["events", "--action", "auth"]).len(), 1, "the organization login");
    let cloud = jsonl(&store, &["events", "--user", "5b10ac8d82e05b22cc7d4ef6"]);
    assert_eq!((&cloud[0]["action"], &cloud[0]["page_id"]), (&"export".into(), &1234999.into()));
    let org = jsonl(&store, &["events", "--user", "5b10ac8d82e05b22cc7d4ef5"]);
    assert_eq!(
        (&org[0]["action"], &org[0]["page_id"], &org[0]["space"]),
        (&"view".into(), &777001.into(), &"OPS".into())
    );

    // AccessLogFilter has no zone: --tz made 10:15:09,417 Berlin summer time 08:15:09.417Z.
    let anna = jsonl(&store, &["events", "--user", "anna"]);
    assert_eq!(anna[0]["ts"], "2026-03-30T08:15:09.417Z");
    assert_eq!((&anna[0]["space"], &anna[0]["title"]), (&"ENG".into(), &"Deploy Runbook".into()));
    assert_eq!(anna[0]["status"], 0, "AccessLogFilter records no status");
    // The audit record stands under the user key until a directory maps it (contract §5a).
    let key = jsonl(&store, &["events", "--user", "2c9580827d4a06e8017d4a07c3e10000"]);
    assert_eq!(key.len(), 1);
    assert_eq!((&key[0]["action"], &key[0]["page_id"]), (&"download".into(), &1234567.into()));
    assert_eq!(key[0]["extra"]["audit_action"], "audit.logging.summary.attachment.downloaded");
    assert_eq!(key[0]["ip"], "203.0.113.50");
    // Reads without an HTTP status count (contract §3).
    let who = json(&store, &["who-read", "--page", "1234567"]);
    assert_eq!(who["rows"][0]["user"], "2c9580827d4a06e8017d4a07c3e10000");
    let rej = jsonl(&store, &["rejects"]);
    let reasons: Vec<&str> = rej.iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["truncated JSON", "line ends before the user", "bad or missing timestamp"]);

    // Without --tz the AccessLogFilter lines are rejects that say why.
    let other = d.path().join("no-tz");
    json(&other, &["ingest", dir.join("atlassian-confluence.log").to_str().unwrap()]);
    let rej = jsonl(&other, &["rejects"]);
    assert!(rej.iter().any(|r| r["reason"] == "AccessLogFilter timestamps have no zone: --tz is required"), "{rej:?}");

    let again = json(&store, &["ingest", "--tz", "Europe/Berlin", dir.to_str().unwrap()]);
    assert_eq!((again["events"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(15)), "{again}");
}

#[test]
fn whole_file_json_export_and_a_bad_format_name() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let f = sources().join("dc-audit-export.json");
    let s = json(&store, &["ingest", "--source-format", "dc-audit-rest", f.to_str().unwrap()]);
    assert_eq!((s["events"].as_u64(), s["reads"].as_u64()), (Some(2), Some(2)), "{s}");
    let ev = jsonl(&store, &["events"]);
    assert_eq!(ev[0]["user"], "jsmith", "a username in author.uri wins over the user key");
    assert_eq!((&ev[1]["action"], &ev[1]["page_id"]), (&"export".into(), &1234999.into()));
    let again = json(&store, &["ingest", "--source-format", "dc-audit-rest", f.to_str().unwrap()]);
    assert_eq!((again["events"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(2)), "{again}");
    let o = run(&store, &["ingest", "--source-format", "nonsense", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown --source-format 'nonsense'"));
}

/// The user directory puts a user key's events under the person's username, and loading it
/// (and the catalog) after the logs gives the same answers as loading them first.
#[test]
fn directory_and_catalog_before_or_after_the_logs_give_the_same_answers() {
    let d = tempfile::tempdir().unwrap();
    let (srcs, samples) = (sources(), pagetrail_tests::samples());
    let users = srcs.join("users.csv");
    let catalog = samples.join("catalog.csv");
    let logs = ["ingest", "--tz", "Europe/Berlin", srcs.to_str().unwrap(), samples.to_str().unwrap()];

    let first = d.path().join("first");
    json(&first, &["users", users.to_str().unwrap()]);
    json(&first, &["catalog", catalog.to_str().unwrap()]);
    json(&first, &logs);
    let after = d.path().join("after");
    json(&after, &logs);
    let before_dir = json(&after, &["who-read", "--page", "1234567"]);
    assert!(before_dir.to_string().contains("2c9580827d4a06e8017d4a07c3e10000"), "{before_dir}");
    assert_eq!(json(&after, &["users", users.to_str().unwrap()])["users"], 2);
    json(&after, &["catalog", catalog.to_str().unwrap()]);

    for q in [
        vec!["who-read", "--page", "1234567"],
        vec!["who-read", "--page", "777001"],
        vec!["who-read", "--space", "ENG"],
        vec!["who-read", "--space", "OPS"],
        vec!["top-readers", "--by", "events"],
        vec!["top-readers", "--space", "ENG"],
        vec!["user", "mallory"],
        vec!["user", "jsmith"],
        vec!["stats"],
    ] {
        let (mut a, mut b) = (json(&first, &q), json(&after, &q));
        a.as_object_mut().unwrap().remove("bytes_on_disk");
        b.as_object_mut().unwrap().remove("bytes_on_disk");
        assert_eq!(a, b, "{q:?}");
    }
    // mallory's access-log reads and the audit download under the user key are one person.
    let m = json(&after, &["user", "mallory"]);
    assert_eq!(m["events"], 3, "{m}");
    let via_key = json(&after, &["user", "2c9580827d4a06e8017d4a07c3e10000"]);
    assert_eq!(via_key["user"], "mallory");
    // jsmith's organization-audit view (by account id) is jsmith's.
    let j = jsonl(&after, &["events", "--user", "jsmith", "--page", "777001"]);
    assert!(j.iter().any(|e| e["extra"]["event_id"] == "ev-1"), "{j:?}");
    let evs = jsonl(&after, &["events", "--user", "mallory", "--action", "download"]);
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert!(evs.iter().all(|e| e["user"] == "mallory"));
}

/// An audit "attachment downloaded" record and the access-log line of the same download are one
/// read, whichever arrives first; an audit download with no such line is a read of its own.
#[test]
fn one_download_in_two_sources_is_one_read_in_either_order() {
    let d = tempfile::tempdir().unwrap();
    let export = sources().join("dc-audit-export.json");
    // jsmith's browser download of the attachment the audit export records at 09:30:00.000Z.
    let access = d.path().join("conf_access_log.2026-03-30.log");
    std::fs::write(
        &access,
        "[30/Mar/2026:11:30:01 +0200] jsmith http-nio-8090-exec-1 10.20.1.15 GET /download/attachments/1234999/plan.pdf?version=1&api=v2 HTTP/1.1 200 30ms 81234 - Mozilla/5.0 (X11)\n",
    )
    .unwrap();
    let (a, b) = (d.path().join("audit-first"), d.path().join("access-first"));
    json(&a, &["ingest", "--source-format", "dc-audit-rest", export.to_str().unwrap()]);
    json(&a, &["ingest", access.to_str().unwrap()]);
    json(&b, &["ingest", access.to_str().unwrap()]);
    json(&b, &["ingest", "--source-format", "dc-audit-rest", export.to_str().unwrap()]);
    for q in [vec!["who-read", "--page", "1234999"], vec!["user", "jsmith"], vec!["top-readers"], vec!["stats"]] {
        let (mut x, mut y) = (json(&a, &q), json(&b, &q));
        x.as_object_mut().unwrap().remove("bytes_on_disk");
        y.as_object_mut().unwrap().remove("bytes_on_disk");
        assert_eq!(x, y, "{q:?}");
    }
    let who = json(&a, &["who-read", "--page", "1234999"]);
    // The download once (with the access log's bytes) and the Word export: two reads, not three.
    assert_eq!((who["rows"][0]["events"].as_u64(), who["rows"][0]["bytes"].as_u64()), (Some(2), Some(81_234)), "{who}");
    assert_eq!(json(&a, &["stats"])["reads"], 2);
    // Both records stay in the raw lookback.
    assert_eq!(jsonl(&a, &["events", "--user", "jsmith", "--action", "download"]).len(), 2);

    // An audit download with no access-log line counts on its own, under the person once the
    // directory is loaded.
    let c = d.path().join("alone");
    json(&c, &["ingest", sources().join("20260330-00000.audit.log").to_str().unwrap()]);
    json(&c, &["users", sources().join("users.csv").to_str().unwrap()]);
    let who = json(&c, &["who-read", "--page", "1234567"]);
    assert_eq!(
        (who["rows"][0]["user"].as_str(), who["rows"][0]["events"].as_u64()),
        (Some("mallory"), Some(1)),
        "{who}"
    );
    assert_eq!(json(&c, &["stats"])["reads"], 1);
}

/// Organization audit action names are undocumented: a mapping file says which are reads.
#[test]
fn org_action_names_come_from_a_mapping_file() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("org-events.jsonl");
    std::fs::write(
        &log,
        r#"{"id":"x1","type":"events","attributes":{"time":"2026-04-01T10:00:00Z","action":"confluence_page_opened","actor":{"id":"acc-9","name":"Eve"},"context":[{"id":"42","type":"page","attributes":{"title":"Plan"}}],"container":[{"id":"7","type":"space","attributes":{"key":"ENG"}}],"location":{"ip":"192.0.2.1"}}}"#
            .to_string()
            + "\n",
    )
    .unwrap();
    let map = d.path().join("org-actions.txt");
    std::fs::write(&map, "# our tenant's names\nconfluence_page_opened=view\n").unwrap();
    let plain = d.path().join("plain");
    let s = json(&plain, &["ingest", log.to_str().unwrap()]);
    assert_eq!(
        (s["events"].as_u64(), s["reads"].as_u64(), s["noise"].as_u64()),
        (Some(1), Some(0), Some(0)),
        "an unmapped action is an admin event, not a read: {s}"
    );
    assert_eq!(jsonl(&plain, &["events", "--action", "admin"])[0]["extra"]["audit_action"], "confluence_page_opened");
    let mapped = d.path().join("mapped");
    let s = json(&mapped, &["ingest", "--org-actions", map.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!((s["events"].as_u64(), s["reads"].as_u64()), (Some(1), Some(1)), "{s}");
    assert_eq!(json(&mapped, &["who-read", "--page", "42"])["rows"][0]["user"], "acc-9");
    std::fs::write(&map, "no equals sign\n").unwrap();
    let o = run(&mapped, &["ingest", "--org-actions", map.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("org-actions.txt"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// An application log whose AccessLogFilter lines come after pages of startup messages (as
/// after every restart) is still recognised: the whole first chunk is searched for one.
#[test]
fn access_log_filter_lines_after_a_long_startup_are_found() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let sample = std::fs::read_to_string(sources().join("atlassian-confluence.log")).unwrap();
    let startup: String = (0..500)
        .map(|i| {
            format!(
                "2026-03-30 10:14:{:02},{i:03} INFO [main] [com.atlassian.plugin.manager] plugin {i} enabled\n",
                i % 60
            )
        })
        .collect();
    std::fs::write(logs.join("atlassian-confluence.log"), format!("{startup}{sample}")).unwrap();
    let store = d.path().join("store");
    let s = json(&store, &["ingest", "--tz", "Europe/Berlin", logs.to_str().unwrap()]);
    assert_eq!((s["skipped"].as_u64(), s["files"].as_u64()), (Some(0), Some(1)), "{s}");
    assert!(!jsonl(&store, &["events", "--user", "anna"]).is_empty(), "{s}");
}

/// `events --space K` shows exactly the events that show space K, of every source: those of
/// a page in K, and those that name K by URL alone (no page, or a page of no known space).
#[test]
fn events_of_a_space_are_the_events_that_show_it() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let (srcs, samples) = (sources(), pagetrail_tests::samples());
    json(&store, &["catalog", samples.join("catalog.csv").to_str().unwrap()]);
    json(&store, &["ingest", "--tz", "Europe/Berlin", srcs.to_str().unwrap(), samples.to_str().unwrap()]);
    let all = jsonl(&store, &["events"]);
    let mut spaces: Vec<&str> = all.iter().filter_map(|e| e["space"].as_str()).collect();
    spaces.sort_unstable();
    spaces.dedup();
    assert!(spaces.len() >= 2, "{spaces:?}");
    // Some event names its space with no page of a known space behind it (by URL).
    assert!(all.iter().any(|e| e["space"].is_string() && e["page_id"].is_null()), "an event without a page id");
    for space in spaces.iter().copied().chain(["NOSUCHSPACE"]) {
        let want: Vec<&serde_json::Value> = all.iter().filter(|e| e["space"] == space).collect();
        let got = jsonl(&store, &["events", "--space", space]);
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "events --space {space}");
    }
}
