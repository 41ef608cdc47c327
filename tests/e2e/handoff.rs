//! Hand-off formats of `events` (issue 13, item 3): ECS NDJSON for Elastic and Splunk, and
//! Timesketch JSONL, each checked field by field against the contract's JSON of the same events.

use pagetrail_tests::{json, jsonl, run};

#[test]
fn events_as_ecs_and_timesketch_carry_every_field() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let (samples, sources) = (pagetrail_tests::samples(), pagetrail_tests::samples().join("../sources"));
    json(&store, &["ingest", "--tz", "Europe/Berlin", samples.to_str().unwrap(), sources.to_str().unwrap()]);
    let plain = jsonl(&store, &["events"]);
    let ecs = jsonl(&store, &["events", "--format", "ecs"]);
    let ts = jsonl(&store, &["events", "--format", "timesketch"]);
    assert!(plain.len() > 20);
    assert_eq!((ecs.len(), ts.len()), (plain.len(), plain.len()));
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    for ((p, e), t) in plain.iter().zip(&ecs).zip(&ts) {
        assert_eq!(e["@timestamp"], p["ts"]);
        assert_eq!(e["user"]["name"], p["user"]);
        assert_eq!(e["event"]["action"], p["action"]);
        assert_eq!(e["event"]["duration"].as_u64(), p["duration_ms"].as_u64().map(|ms| ms * 1_000_000));
        assert_eq!(text(&e["url"]["path"]), text(&p["path"]));
        assert_eq!(text(&e["url"]["query"]), text(&p["query"]));
        assert_eq!(text(&e["http"]["request"]["method"]), text(&p["method"]));
        assert_eq!(text(&e["http"]["request"]["referrer"]), text(&p["referer"]));
        if p["status"] != 0 {
            assert_eq!(e["http"]["response"]["status_code"], p["status"]);
            assert_eq!(e["http"]["response"]["bytes"], p["bytes"]);
        }
        let addr = if e["source"]["ip"].is_null() { &e["source"]["domain"] } else { &e["source"]["ip"] };
        assert_eq!(text(addr), text(&p["ip"]));
        if let Some(ip) = e["source"]["ip"].as_str() {
            assert!(ip.parse::<std::net::IpAddr>().is_ok(), "source.ip is an address: {ip}");
        }
        assert_eq!(text(&e["user_agent"]["original"]), text(&p["user_agent"]));
        assert_eq!(e["log"]["file"]["path"], p["source"]["file"]);
        assert_eq!(e["confluence"]["source_line"], p["source"]["line"]);
        assert_eq!(e["confluence"]["page_id"], p["page_id"]);
        assert_eq!(e["confluence"]["space_key"], p["space"]);
        assert_eq!(e["confluence"]["page_title"], p["title"]);
        assert_eq!(e["confluence"]["extra"], p["extra"]);
        assert!(!text(&e["message"]).is_empty());

        assert_eq!(t["datetime"], p["ts"]);
        assert!(!text(&t["message"]).is_empty() && !text(&t["timestamp_desc"]).is_empty(), "{t}");
        for k in ["user", "action", "page_id", "space", "title", "status", "bytes"] {
            assert_eq!(t[k], p[k], "{k}");
        }
        for k in ["ip", "user_agent", "method", "path", "query", "referer"] {
            assert_eq!(text(&t[k]), text(&p[k]), "{k}");
        }
        assert_eq!((&t["source_file"], &t["source_line"]), (&p["source"]["file"], &p["source"]["line"]));
    }
    // A hostname in %h (variant A with lookups on) is source.domain, never source.ip.
    assert!(ecs.iter().any(|e| e["source"]["domain"].is_string()), "the samples have a host name in %h");
    // Only events has these shapes.
    let o = run(&store, &["--format", "ecs", "top-readers"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--format ecs is for `events` only"));
}
