//! Events as other tools import them: Elastic Common Schema (Elastic, Splunk) and Timesketch JSONL.

use pagetrail_core::Action;
use pagetrail_query::EventOut;
use serde_json::{json, Map, Value};

use crate::output::instant;

/// ECS's category of an action (`event.category` allows a fixed list).
fn ecs_category(a: Action) -> &'static str {
    match a {
        Action::Auth => "authentication",
        Action::Admin => "configuration",
        _ => "web",
    }
}

/// The page as a person reads it: `ENG/Deploy Runbook`, `page 123`, or the space alone.
fn page_text(e: &EventOut) -> String {
    match (&e.space, &e.title, e.page_id) {
        (Some(s), Some(t), _) => format!("{s}/{t}"),
        (_, _, Some(id)) => format!("page {id}"),
        (Some(s), None, None) => s.clone(),
        _ => String::new(),
    }
}

fn message(e: &EventOut) -> String {
    let mut m = format!("{} {}", if e.user.is_empty() { "-" } else { &e.user }, e.action);
    let page = page_text(e);
    if !page.is_empty() {
        m.push(' ');
        m.push_str(&page);
    }
    if !e.path.is_empty() {
        m.push(' ');
        m.push_str(&e.path);
        if !e.query.is_empty() {
            m.push('?');
            m.push_str(&e.query);
        }
    }
    if e.status != 0 {
        m.push_str(&format!(" ({}, {} bytes)", e.status, e.bytes));
    }
    m
}

/// Inserts `v` under `key` unless it is empty text.
fn put(m: &mut Map<String, Value>, key: &str, v: &str) {
    if !v.is_empty() {
        m.insert(key.to_owned(), Value::String(v.to_owned()));
    }
}

/// One event as an ECS document. Fields without an ECS home (page, space, title, the source
/// line, the audit record's own fields) go under `confluence.*`, as ECS asks of custom fields.
pub fn ecs(e: &EventOut) -> Value {
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), instant(e.ts_ms).into());
    doc.insert("message".into(), message(e).into());
    doc.insert(
        "event".into(),
        json!({"kind": "event", "category": [ecs_category(e.action)], "action": e.action.as_str(),
               "dataset": "confluence.access", "duration": u64::from(e.duration_ms) * 1_000_000}),
    );
    doc.insert("user".into(), json!({"name": e.user}));
    let mut url = Map::new();
    put(&mut url, "path", &e.path);
    put(&mut url, "query", &e.query);
    if !url.is_empty() {
        doc.insert("url".into(), url.into());
    }
    let mut request = Map::new();
    put(&mut request, "method", &e.method);
    put(&mut request, "referrer", &e.referer);
    let mut response = Map::new();
    if e.status != 0 {
        response.insert("status_code".into(), e.status.into());
        response.insert("bytes".into(), e.bytes.into());
    }
    if !request.is_empty() || !response.is_empty() {
        doc.insert("http".into(), json!({"request": request, "response": response}));
    }
    if !e.ip.is_empty() {
        // `source.ip` must be an address; Tomcat logs a host name when lookups are on.
        let key = if e.ip.parse::<std::net::IpAddr>().is_ok() { "ip" } else { "domain" };
        doc.insert("source".into(), json!({ key: e.ip }));
    }
    if !e.user_agent.is_empty() {
        doc.insert("user_agent".into(), json!({"original": e.user_agent}));
    }
    doc.insert("log".into(), json!({"file": {"path": e.file}}));
    let mut conf = Map::new();
    conf.insert("source_line".into(), e.line.into());
    if let Some(id) = e.page_id {
        conf.insert("page_id".into(), id.into());
    }
    if let Some(s) = &e.space {
        conf.insert("space_key".into(), s.clone().into());
    }
    if let Some(t) = &e.title {
        conf.insert("page_title".into(), t.clone().into());
    }
    if let Ok(extra @ Value::Object(_)) = serde_json::from_str::<Value>(&e.extra) {
        conf.insert("extra".into(), extra);
    }
    doc.insert("confluence".into(), conf.into());
    doc.into()
}

/// One event as a Timesketch JSONL record: `message`, `datetime`, `timestamp_desc`, then the
/// contract §1 fields flat.
pub fn timesketch(e: &EventOut) -> Value {
    let mut doc = Map::new();
    doc.insert("message".into(), message(e).into());
    doc.insert("datetime".into(), instant(e.ts_ms).into());
    doc.insert("timestamp".into(), (e.ts_ms * 1000).into());
    // Tomcat stamps a request when its response is finished; audit and application logs record an event.
    let desc = if e.status != 0 { "Request Completed" } else { "Event Recorded" };
    doc.insert("timestamp_desc".into(), desc.into());
    doc.insert("data_type".into(), "confluence:event".into());
    doc.insert("user".into(), e.user.clone().into());
    doc.insert("action".into(), e.action.as_str().into());
    if let Some(id) = e.page_id {
        doc.insert("page_id".into(), id.into());
    }
    for (k, v) in [("space", &e.space), ("title", &e.title)] {
        if let Some(v) = v {
            doc.insert(k.into(), v.clone().into());
        }
    }
    doc.insert("status".into(), e.status.into());
    doc.insert("bytes".into(), e.bytes.into());
    for (k, v) in [
        ("ip", &e.ip),
        ("user_agent", &e.user_agent),
        ("method", &e.method),
        ("path", &e.path),
        ("query", &e.query),
        ("referer", &e.referer),
    ] {
        put(&mut doc, k, v);
    }
    doc.insert("source_file".into(), e.file.clone().into());
    doc.insert("source_line".into(), e.line.into());
    doc.into()
}

/// ECS `event.severity` for an alert: Elastic Security's 21 / 47 / 73 for low / medium / high.
fn ecs_severity(s: pagetrail_detect::Severity) -> u8 {
    match s {
        pagetrail_detect::Severity::Low => 21,
        pagetrail_detect::Severity::Medium => 47,
        pagetrail_detect::Severity::High => 73,
    }
}

/// MITRE ATT&CK T1213.001 (Data from Information Repositories: Confluence), tactic Collection.
fn ecs_threat() -> Value {
    json!({"framework": "MITRE ATT&CK",
           "tactic": {"id": ["TA0009"], "name": ["Collection"]},
           "technique": {"id": ["T1213"], "name": ["Data from Information Repositories"],
                         "subtechnique": {"id": ["T1213.001"], "name": ["Confluence"]}}})
}

/// One alert as an ECS document (`event.kind: alert`), for a SIEM. The detector is the rule;
/// value, threshold and evidence stay whole under `pagetrail.*`.
pub fn ecs_alert(a: &pagetrail_detect::Alert) -> Value {
    let message = format!(
        "{} {} alert for {}: {} against a threshold of {}",
        a.severity.as_str(),
        a.detector,
        a.user,
        a.value,
        a.threshold
    );
    let mut doc = json!({
        "@timestamp": instant(a.start_ms),
        "message": message,
        "event": {"kind": "alert", "category": ["intrusion_detection"], "type": ["info"],
                  "action": a.detector.name(), "dataset": "pagetrail.alert",
                  "severity": ecs_severity(a.severity),
                  "start": instant(a.start_ms), "end": instant(a.end_ms)},
        "rule": {"name": a.detector.name(), "id": a.detector.spec(), "ruleset": "pagetrail",
                 "category": "T1213.001"},
        "user": {"name": a.user},
        "threat": ecs_threat(),
        "log": {"file": {"path": a.evidence.first_source.0}},
        "pagetrail": {"value": a.value, "threshold": a.threshold, "severity": a.severity.as_str(),
                      "evidence": a.evidence},
    });
    if let Some(ip) = a.evidence.notes.get("ip") {
        let key = if ip.parse::<std::net::IpAddr>().is_ok() { "ip" } else { "domain" };
        doc["source"] = json!({ key: ip });
    }
    doc
}

/// One case as an ECS document: `event.risk_score` is its score, `message` its reason.
pub fn ecs_case(c: &pagetrail_detect::Case) -> Value {
    let detectors: Vec<&str> = c.detectors.iter().map(|d| d.name()).collect();
    let mut doc = json!({
        "@timestamp": instant(c.start_ms),
        "message": c.why,
        "event": {"kind": "alert", "category": ["intrusion_detection"], "type": ["info"],
                  "action": "case", "dataset": "pagetrail.case",
                  "severity": ecs_severity(c.severity), "risk_score": c.score,
                  "start": instant(c.start_ms), "end": instant(c.end_ms)},
        "rule": {"name": "pagetrail case", "ruleset": "pagetrail", "category": "T1213.001"},
        "user": {"name": c.user},
        "threat": ecs_threat(),
        "pagetrail": {"rank": c.rank, "score": c.score, "severity": c.severity.as_str(),
                      "detectors": detectors, "alerts": c.alerts.len()},
    });
    if let Some(ip) = &c.ip {
        let key = if ip.parse::<std::net::IpAddr>().is_ok() { "ip" } else { "domain" };
        doc["source"] = json!({ key: ip });
    }
    doc
}
