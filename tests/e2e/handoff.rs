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
    assert!(String::from_utf8_lossy(&o.stderr).contains("--format ecs is for `events` and `detect` only"));
}

/// The ECS reference's fields (`tests/fixtures/ecs-fields.tsv`): name → (type, allowed values).
fn ecs_reference() -> std::collections::BTreeMap<String, (String, Vec<String>)> {
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ecs-fields.tsv"))
            .expect("ECS reference");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let name = f.next().unwrap().to_string();
            let ty = f.next().unwrap().to_string();
            let allowed = f.next().map(|a| a.split(' ').map(str::to_string).collect()).unwrap_or_default();
            (name, (ty, allowed))
        })
        .collect()
}

/// Leaf fields of a document by dotted path; an array of scalars is one field.
fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(&p, x, out);
            }
        }
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

/// Every field outside our custom `confluence.*` and `pagetrail.*` is an ECS field, with a value
/// of its ECS type and, where ECS lists them, an allowed value.
fn check_ecs(doc: &serde_json::Value, reference: &std::collections::BTreeMap<String, (String, Vec<String>)>) {
    let mut fields = Vec::new();
    leaves("", doc, &mut fields);
    for (name, v) in fields {
        if name.starts_with("confluence.") || name.starts_with("pagetrail.") {
            continue;
        }
        let (ty, allowed) = reference.get(&name).unwrap_or_else(|| panic!("{name} is not an ECS field: {doc}"));
        let values: Vec<&serde_json::Value> = match &v {
            serde_json::Value::Array(a) => a.iter().collect(),
            one => vec![one],
        };
        for x in values {
            let ok = match ty.as_str() {
                "date" => x.as_str().and_then(pagetrail_core::time::parse_instant).is_some(),
                "keyword" | "wildcard" | "match_only_text" => x.is_string(),
                "long" => x.is_i64() || x.is_u64(),
                "float" => x.is_number(),
                "ip" => x.as_str().is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok()),
                other => panic!("type {other} of {name} is not handled"),
            };
            assert!(ok, "{name} = {x} is not an ECS {ty}");
            if !allowed.is_empty() {
                assert!(allowed.iter().any(|a| x == a.as_str()), "{name} = {x} is not an allowed value");
            }
        }
    }
}

#[test]
fn ecs_documents_use_ecs_fields_with_their_types() {
    let reference = ecs_reference();
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let (samples, folder) = (pagetrail_tests::samples(), pagetrail_tests::samples().join("../logs-folder"));
    json(&store, &["ingest", "--final", samples.to_str().unwrap(), folder.to_str().unwrap()]);
    let events = jsonl(&store, &["events", "--format", "ecs"]);
    assert!(events.len() > 20);
    for e in &events {
        check_ecs(e, &reference);
    }

    // Alerts and cases of a generated site with planted incidents.
    let cfg = pagetrail_gen::GenConfig { users: 120, days: 30, seed: 5, incidents: true, ..Default::default() };
    let log = d.path().join("conf_access_log.log");
    pagetrail_gen::generate(&cfg, &mut std::io::BufWriter::new(std::fs::File::create(&log).unwrap())).unwrap();
    let site = d.path().join("site");
    json(&site, &["ingest", log.to_str().unwrap()]);
    let plain = json(&site, &["detect"]);
    let docs = jsonl(&site, &["detect", "--format", "ecs"]);
    let (cases, alerts) = (plain["cases"].as_array().unwrap(), plain["alerts"].as_array().unwrap());
    assert!(!cases.is_empty());
    assert_eq!(docs.len(), cases.len() + alerts.len(), "one document per case and per alert");
    for (doc, c) in docs.iter().zip(cases) {
        check_ecs(doc, &reference);
        assert_eq!(doc["event"]["dataset"], "pagetrail.case");
        assert_eq!((&doc["user"]["name"], &doc["message"]), (&c["user"], &c["why"]));
        assert_eq!((&doc["event"]["start"], &doc["event"]["end"]), (&c["start"], &c["end"]));
        assert_eq!((&doc["event"]["risk_score"], &doc["pagetrail"]["rank"]), (&c["score"], &c["rank"]));
    }
    for (doc, a) in docs[cases.len()..].iter().zip(alerts) {
        check_ecs(doc, &reference);
        assert_eq!(
            (&doc["event"]["dataset"], &doc["rule"]["name"]),
            (&serde_json::json!("pagetrail.alert"), &a["detector"])
        );
        assert_eq!(
            (&doc["user"]["name"], &doc["@timestamp"], &doc["event"]["end"]),
            (&a["user"], &a["start"], &a["end"])
        );
        assert_eq!(doc["pagetrail"]["evidence"], a["evidence"]);
        let sev = serde_json::json!({"low": 21, "medium": 47, "high": 73})[a["severity"].as_str().unwrap()].clone();
        assert_eq!(doc["event"]["severity"], sev);
        assert_eq!(doc["threat"]["technique"]["subtechnique"]["id"], serde_json::json!(["T1213.001"]));
    }
}
