//! `detect` over a generated site with planted incidents: every incident found by the
//! detectors its ground truth names, within its time range; high-severity alerts on users with
//! nothing planted stay rare.

use std::collections::{BTreeMap, BTreeSet};

use pagetrail_core::time::DAY_MS;
use pagetrail_tests::json;

#[test]
fn planted_incidents_are_found_and_false_alarms_are_rare() {
    let d = tempfile::tempdir().unwrap();
    let cfg = pagetrail_gen::GenConfig { users: 300, days: 120, seed: 42, incidents: true, ..Default::default() };
    let truth = pagetrail_gen::incidents(&cfg);
    assert!(truth.len() >= 6, "{truth:?}");
    let log = d.path().join("conf_access_log.log");
    pagetrail_gen::generate(&cfg, &mut std::io::BufWriter::new(std::fs::File::create(&log).unwrap())).unwrap();
    let store = d.path().join("store");
    json(&store, &["ingest", log.to_str().unwrap()]);

    // The integration account crawls the API every hour by design: allow-listed, with a reason.
    let conf = d.path().join("detect.toml");
    std::fs::write(
        &conf,
        "[[allow]]\nkind = \"user\"\nvalue = \"svc-integration\"\nreason = \"REST integration, change ticket CHG-1\"\nexpires = \"2099-12-31\"\n",
    )
    .unwrap();
    let out = json(&store, &["detect", "--config", conf.to_str().unwrap()]);
    let alerts = out["alerts"].as_array().unwrap();
    let ms = |v: &serde_json::Value| pagetrail_core::time::parse_instant(v.as_str().unwrap()).unwrap();

    // Recall per detector over the planted incidents.
    let mut found: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut missed = Vec::new();
    for inc in &truth {
        for det in &inc.detectors {
            // Daily detectors report a day; allow a day of slack around the planted lines.
            let hit = alerts.iter().any(|a| {
                a["detector"] == det.as_str()
                    && a["user"] == inc.user.as_str()
                    && ms(&a["start"]) <= inc.end_ms + DAY_MS
                    && ms(&a["end"]) >= inc.start_ms - DAY_MS
            });
            let e = found.entry(det.clone()).or_default();
            e.1 += 1;
            if hit {
                e.0 += 1;
            } else {
                missed.push(format!("{} {} {}", inc.kind, inc.user, det));
            }
        }
    }
    for (det, (hit, all)) in &found {
        eprintln!("recall {det}: {hit}/{all}");
    }
    // High-severity alerts on users with nothing planted.
    let planted: BTreeSet<&str> = truth.iter().map(|i| i.user.as_str()).collect();
    let false_high: Vec<&serde_json::Value> =
        alerts.iter().filter(|a| a["severity"] == "high" && !planted.contains(a["user"].as_str().unwrap())).collect();
    let user_days = f64::from(cfg.users) * f64::from(cfg.days);
    let per_10k = false_high.len() as f64 / user_days * 10_000.0;
    eprintln!(
        "{} alerts; {} high on users with nothing planted = {per_10k:.2} per 10,000 user-days",
        alerts.len(),
        false_high.len()
    );
    for a in &false_high {
        eprintln!("  false high: {} {} {}", a["detector"], a["user"], a["start"]);
    }
    assert!(missed.is_empty(), "incidents missed: {missed:?}");
    assert!(per_10k <= 1.0, "{per_10k:.2} high-severity alerts per 10,000 user-days on users with nothing planted");
}
