//! The lake hand-off (issue 13): `export parquet` of a generated site with planted incidents and
//! of a real-shaped Confluence logs folder, then DuckDB (the pip package) running `sql/` over the
//! Parquet files must give exactly pagetrail's answers, for every question kind and over several
//! windows (whole days and partial ones). A second export adds only what is new, a crashed run's
//! files are swept, and a folder made with other options is refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use pagetrail_tests::{json, run};
use serde_json::{json as j, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// DuckDB through `sql/lake.py`: one session answers every question of `qs`.
fn duckdb(lake: &Path, qs: &[Value]) -> Vec<Value> {
    let probe = Command::new("python3").args(["-c", "import duckdb"]).output().expect("python3");
    assert!(
        probe.status.success(),
        "the lake test needs DuckDB: pip install duckdb (.ci/run installs it): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let spec = lake.with_extension("questions.json");
    std::fs::write(&spec, serde_json::to_string(qs).unwrap()).unwrap();
    let script = repo().join("sql/lake.py");
    let o = Command::new("python3").arg(script).args(["duckdb"]).arg(lake).arg("bench").arg(&spec).output().unwrap();
    assert!(o.status.success(), "sql/lake.py: {}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<Value> =
        String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), qs.len());
    lines.into_iter().map(|mut l| l["answer"].take()).collect()
}

/// pagetrail's own answer to a question of `sql/lake.py`'s shape.
fn pagetrail(store: &Path, q: &Value) -> Value {
    let s = |k: &str| q[k].as_str().map(str::to_string);
    let mut args: Vec<String> = vec![q["question"].as_str().unwrap().to_string()];
    match args[0].as_str() {
        "top-readers" => {
            args.extend(["--by".into(), s("by").unwrap(), "--limit".into(), q["limit"].to_string()]);
            if let Some(k) = s("space") {
                args.extend(["--space".into(), k]);
            }
        }
        "who-read" => {
            if let Some(n) = q["page"].as_u64() {
                args.extend(["--page".into(), n.to_string()]);
            } else if let Some(t) = s("title") {
                args.extend(["--title".into(), t]);
            } else {
                args.extend(["--space".into(), s("space").unwrap()]);
            }
        }
        _ => args.push(s("user").unwrap()),
    }
    for k in ["from", "to"] {
        if let Some(v) = s(k) {
            args.extend([format!("--{k}"), v]);
        }
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    json(store, &refs)
}

/// Every question kind over each window, aimed at pages, spaces and people the store has.
fn questions(store: &Path, windows: &[(Option<&str>, Option<&str>)]) -> Vec<Value> {
    let top = json(store, &["top-readers", "--limit", "3"]);
    let users: Vec<String> =
        top["rows"].as_array().unwrap().iter().map(|r| r["user"].as_str().unwrap().into()).collect();
    let ev = pagetrail_tests::jsonl(store, &["events", "--user", &users[users.len() - 1], "--action", "view"]);
    let with_id = ev.iter().find(|e| e["page_id"].is_u64() && e["space"].is_string()).expect("a page with an id");
    let (page, space) = (with_id["page_id"].as_u64().unwrap(), with_id["space"].as_str().unwrap().to_string());
    let titled = ev.iter().find(|e| e["title"].is_string()).expect("a titled page");
    let title = format!("{}/{}", titled["space"].as_str().unwrap(), titled["title"].as_str().unwrap());
    let mut qs = Vec::new();
    for (from, to) in windows {
        let w = |mut q: Value| {
            q["from"] = j!(from);
            q["to"] = j!(to);
            q
        };
        for by in ["pages", "events", "bytes"] {
            qs.push(w(j!({"question": "top-readers", "by": by, "limit": 25})));
        }
        qs.push(w(j!({"question": "top-readers", "by": "pages", "limit": 10, "space": space})));
        qs.push(w(j!({"question": "who-read", "page": page})));
        qs.push(w(j!({"question": "who-read", "space": space})));
        qs.push(w(j!({"question": "who-read", "title": title})));
        for u in &users {
            qs.push(w(j!({"question": "user", "user": u})));
        }
    }
    qs
}

fn check(store: &Path, lake: &Path, qs: &[Value]) {
    let lake_answers = duckdb(lake, qs);
    for (q, got) in qs.iter().zip(&lake_answers) {
        let want = pagetrail(store, q);
        assert!(
            want.get("rows").is_none_or(|r| !r.as_array().unwrap().is_empty()) && want["events"] != 0,
            "question {q} has an answer to compare"
        );
        assert_eq!(got, &want, "DuckDB over the lake and pagetrail differ on {q}");
    }
    eprintln!("{} questions: DuckDB over the Parquet export = pagetrail", qs.len());
}

fn export(store: &Path, dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["export", "parquet", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    json(store, &args)
}

#[test]
fn duckdb_over_the_parquet_export_gives_pagetrails_answers() {
    let d = tempfile::tempdir().unwrap();
    let cfg = pagetrail_gen::GenConfig { users: 120, days: 30, seed: 5, incidents: true, ..Default::default() };
    let logs = d.path().join("logs");
    let (mut days, _) = pagetrail_gen::generate_files(&cfg, &logs).unwrap();
    let catalog = d.path().join("catalog.csv");
    let mut csv = Vec::new();
    pagetrail_gen::write_catalog(&pagetrail_gen::site(&cfg), &mut csv).unwrap();
    std::fs::write(&catalog, csv).unwrap();
    days.sort();
    let (last, first) = days.split_last().unwrap();
    let store = d.path().join("store");
    json(&store, &["catalog", catalog.to_str().unwrap()]);
    let mut args = vec!["ingest"];
    args.extend(first.iter().map(|p| p.to_str().unwrap()));
    json(&store, &args);

    let lake = d.path().join("lake");
    let a = export(&store, &lake, &[]);
    let stats = json(&store, &["stats"]);
    assert_eq!((a["events"].clone(), a["already"].clone()), (stats["events"].clone(), j!(0)), "{a}");
    // Again: nothing new. Then the last day arrives, and only it is added.
    assert_eq!(export(&store, &lake, &[])["events"], 0);
    json(&store, &["ingest", last.to_str().unwrap()]);
    // A run that died before its manifest left a file behind: the next run sweeps it.
    let stray = lake.join("day=2026-03-16/part-999999.parquet");
    std::fs::write(&stray, b"PAR1 half written").unwrap();
    let b = export(&store, &lake, &[]);
    let stats = json(&store, &["stats"]);
    let total = a["events"].as_u64().unwrap() + b["events"].as_u64().unwrap();
    assert_eq!(total, stats["events"].as_u64().unwrap(), "{b}");
    assert_eq!(b["already"], a["events"]);
    assert!(b["days"].as_u64().unwrap() <= 2, "the new day's events (and its first hour's spill): {b}");
    assert!(!stray.exists(), "a file no finished run lists is removed");

    let windows = [
        (None, None),
        (Some("2026-03-20"), Some("2026-04-03")),
        (Some("2026-03-22T13:17:05Z"), Some("2026-04-09T08:00:00Z")),
        (Some("2026-04-01T06:30:00Z"), None),
    ];
    check(&store, &lake, &questions(&store, &windows));

    // A folder holds one selection: other options are refused, naming what it was made with.
    let o = run(&store, &["export", "parquet", lake.to_str().unwrap(), "--user", "admin"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("was exported with no options; export with the same options, or into a new folder"), "{err}");
    // A filtered export in its own folder holds that user's events only.
    let one = d.path().join("one");
    let u = export(&store, &one, &["--user", "admin", "--from", "2026-03-25"]);
    let n = pagetrail_tests::jsonl(&store, &["events", "--user", "admin", "--from", "2026-03-25"]).len();
    assert_eq!(u["events"].as_u64().unwrap(), n as u64);
}

/// A real-shaped logs folder: access log, DC audit records (downloads among them, some with an
/// access-log twin that counts once) and files pagetrail does not parse.
#[test]
fn the_lake_counts_audit_reads_as_pagetrail_does() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let folder = repo().join("data/logs-folder");
    json(&store, &["ingest", "--final", folder.to_str().unwrap(), pagetrail_tests::samples().to_str().unwrap()]);
    let lake = d.path().join("lake");
    export(&store, &lake, &[]);
    let top = json(&store, &["top-readers", "--limit", "50"]);
    let mut qs = vec![j!({"question": "top-readers", "by": "events", "limit": 50})];
    for r in top["rows"].as_array().unwrap() {
        qs.push(j!({"question": "user", "user": r["user"]}));
    }
    check(&store, &lake, &qs);
}
