//! Parse throughput of every supported source format, one core, in memory (no store).
//!
//! `cargo run --release -p pagetrail-benches --bin bench-parse -- [LINES]` (default 1,000,000
//! per format). Tomcat lines come from the generator; the other formats are realistic lines
//! written after the shapes in confluence-logs.md §2–§4 with varying users, pages and times.

use std::time::Instant;

use pagetrail_core::sources::{self, ParseOptions, SourceFormat};
use pagetrail_core::{detect_variant, parse_line, Variant};

fn tomcat(variant: pagetrail_gen::Variant, n: usize) -> Vec<String> {
    let cfg = pagetrail_gen::GenConfig { users: 2000, days: 1 + (n / 100_000) as u32, variant, ..Default::default() };
    let mut buf = Vec::new();
    pagetrail_gen::generate(&cfg, &mut buf).unwrap();
    String::from_utf8(buf).unwrap().lines().take(n).map(str::to_owned).collect()
}

fn synth(n: usize, f: impl Fn(usize) -> String) -> Vec<String> {
    (0..n).map(f).collect()
}

fn main() {
    let n: usize = std::env::args().nth(1).map(|a| a.replace('_', "").parse().expect("LINES")).unwrap_or(1_000_000);
    let opts = ParseOptions { tz: Some(sources::parse_tz("Europe/Berlin").unwrap()), ..Default::default() };
    let mut rows: Vec<(&str, Vec<String>)> = vec![
        ("tomcat-a", tomcat(pagetrail_gen::Variant::A, n)),
        ("tomcat-b", tomcat(pagetrail_gen::Variant::B, n)),
        ("tomcat-c", tomcat(pagetrail_gen::Variant::C, n)),
    ];
    rows.push(("accesslogfilter", synth(n, |i| format!(
        "2026-03-{:02} {:02}:{:02}:{:02},{:03} INFO [http-nio-8090-exec-{}] [confluence.util.AccessLogFilter] doFilter user{} GET https://wiki.example.com/display/SP{}/Page+{} 812345-{} {} 10.0.{}.{}",
        1 + i % 28, i % 24, i % 60, (i / 7) % 60, i % 1000, i % 50, i % 5000, i % 200, i % 90_000, i % 300, i % 900, i % 250, i % 200))));
    rows.push(("dc-audit", synth(n, |i| format!(
        r#"{{"affectedObjects":[{{"id":"{}","name":"Space {}","type":"Space","uri":"http://confluence.internal:8090/display/SP{}"}},{{"id":"{}","name":"Page {}","type":"Page"}},{{"id":"{}","name":"file{}.pdf","type":"Attachment"}}],"auditType":{{"action":"Attachment downloaded","actionI18nKey":"audit.logging.summary.attachment.downloaded","area":"END_USER_ACTIVITY","category":"Pages","categoryI18nKey":"audit.logging.category.pages","level":"FULL"}},"author":{{"id":"2c9580827d4a06e8017d4a07c3e{:05}","name":"User {}","type":"user"}},"changedValues":[],"extraAttributes":[],"method":"Browser","node":"node-2","source":"10.0.{}.{}","system":"http://confluence.internal:8090","timestamp":{{"epochSecond":{},"nano":{}}},"version":"1.0"}}"#,
        i % 200, i % 200, i % 200, 100_000 + i % 90_000, i % 90_000, 900_000 + i, i, i % 5000, i % 5000, i % 250, i % 200, 1_774_000_000 + i as u64, (i % 1000) * 1_000_000))));
    rows.push(("dc-audit-rest", synth(n, |i| format!(
        r#"{{"timestamp":"2026-03-{:02}T{:02}:{:02}:{:02}.000Z","author":{{"name":"User {}","type":"user","id":"2c9680837d4a06e8017d4a07c3e{:05}","uri":"http://confluence.internal:8090/admin/users/viewuser.action?username=user{}","avatarUri":""}},"type":{{"categoryI18nKey":"audit.logging.category.pages","category":"Pages","actionI18nKey":"audit.logging.summary.attachment.downloaded","action":"Attachment downloaded"}},"affectedObjects":[{{"name":"a{}.pdf","type":"Attachment","id":"{}"}},{{"name":"Plan {}","type":"Page","id":"{}","uri":"http://confluence.internal:8090/pages/viewpage.action?pageId={}"}}],"changedValues":[],"source":"81.2.69.{}","system":"http://confluence.internal:8090","method":"Browser","extraAttributes":[]}}"#,
        1 + i % 28, i % 24, i % 60, (i / 3) % 60, i % 5000, i % 5000, i % 5000, i, 900_000 + i, i % 90_000, 100_000 + i % 90_000, 100_000 + i % 90_000, i % 250))));
    rows.push(("cloud-audit", synth(n, |i| format!(
        r#"{{"author":{{"type":"user","displayName":"User {}","operations":null,"isExternalCollaborator":false,"accountId":"5b10ac8d82e05b22cc{:06}","accountType":"","publicName":"Unknown user"}},"remoteAddress":"81.2.69.{}","creationDate":{},"summary":"Page exported","description":"","category":"Import/Export","sysAdmin":false,"superAdmin":false,"affectedObject":{{"name":"Page {}","objectType":"Page"}},"changedValues":[],"associatedObjects":[{{"name":"Space {}","objectType":"Space"}}]}}"#,
        i % 5000, i % 5000, i % 250, 1_774_000_000_000u64 + i as u64 * 1000, i % 90_000, i % 200))));
    rows.push(("org-audit", synth(n, |i| format!(
        r#"{{"id":"e{}","type":"events","attributes":{{"time":"2026-03-{:02}T{:02}:{:02}:{:02}.417Z","action":"page_viewed","actor":{{"id":"5b10ac8d82e05b22cc{:06}","name":"User {}","email":"u{}@example.com"}},"context":[{{"id":"{}","type":"page","attributes":{{"title":"Page {}"}},"links":{{"alt":"https://acme.atlassian.net/wiki/spaces/SP{}/pages/{}/Page"}}}}],"container":[{{"id":"{}","type":"space","attributes":{{"name":"Space {}","key":"SP{}"}}}}],"location":{{"ip":"203.0.113.{}","countryName":"Germany"}}}}}}"#,
        i, 1 + i % 28, i % 24, i % 60, (i / 5) % 60, i % 5000, i % 5000, i % 5000, 100_000 + i % 90_000, i % 90_000, i % 200, 100_000 + i % 90_000, i % 200, i % 200, i % 200, i % 250))));
    rows.push(("jsonl", synth(n, |i| format!(
        r#"{{"ts":"2026-03-{:02}T{:02}:{:02}:{:02}Z","user":"user{}","action":"view","page_id":{},"space":"SP{}","title":"Page {}","status":200,"bytes":{},"duration_ms":{},"ip":"10.0.{}.{}","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/124.0","method":"GET","path":"/pages/viewpage.action","query":"pageId={}","referer":"","source":{{"file":"a.log","line":{}}}}}"#,
        1 + i % 28, i % 24, i % 60, (i / 7) % 60, i % 5000, 100_000 + i % 90_000, i % 200, i % 90_000, 20_000 + i % 90_000, i % 900, i % 250, i % 200, 100_000 + i % 90_000, i + 1))));

    println!("| format | lines | events | rejected | MB | seconds | lines/s | MB/s |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, lines) in rows.iter_mut() {
        let mb = lines.iter().map(|l| l.len() + 1).sum::<usize>() as f64 / 1e6;
        let (mut ok, mut bad) = (0u64, 0u64);
        let t = Instant::now();
        if let Some(v) = Variant::from_name(name) {
            let v = detect_variant(lines.iter().take(64).map(String::as_str)).filter(|d| *d == v).expect("variant");
            for l in lines.iter() {
                match parse_line(v, l) {
                    Ok(r) => {
                        // Classification is part of turning a line into an event.
                        std::hint::black_box(pagetrail_core::classify(&Default::default(), r.method, r.path, r.query));
                        ok += 1;
                    }
                    Err(_) => bad += 1,
                }
            }
        } else {
            let f = SourceFormat::from_name(name).expect("format");
            for l in lines.iter() {
                match sources::parse_line(f, l, &opts) {
                    Ok(Some(_)) => ok += 1,
                    Ok(None) => {}
                    Err(_) => bad += 1,
                }
            }
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "| {name} | {} | {ok} | {bad} | {mb:.0} | {s:.2} | {:.0} | {:.0} |",
            lines.len(),
            lines.len() as f64 / s,
            mb / s
        );
    }
}
