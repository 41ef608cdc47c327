//! Writes the seed corpora, `fuzz/corpus/<target>/seed-*`: lines of the sample logs under
//! `data/` for the parsers, values from the real encoders for the decoders.
//!
//! `cargo run -p pagetrail-fuzz --example seeds` (from the repository root). Seeds are small on
//! purpose; the fuzzer grows its own corpus from them.

use std::path::Path;

use pagetrail_core::{Action, PageRef};
use pagetrail_index::digest::{DayDigest, DigestEvent};
use pagetrail_index::pages::{PageMeta, PageModel};
use pagetrail_index::{bitmap, readers, Counters};
use pagetrail_store::{dict, events, files, rejects};

fn lines(path: &str, n: usize) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines().filter(|l| !l.trim().is_empty()).take(n).map(|l| l.as_bytes().to_vec()).collect()
}

fn file(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(pagetrail_fuzz::SEP)
}

fn row(ts_ms: i64, action: Action, line: u64) -> events::EventRow {
    events::EventRow {
        ts_ms,
        action,
        status: 200,
        bytes: 48_211,
        duration_ms: 312,
        page: 3,
        method: 1,
        request: 7,
        referer: 0,
        addr: 2,
        agent: 4,
        file: 1,
        line,
        extra: 0,
    }
}

fn digest(day: i64, page: u32, agent: u32) -> Vec<u8> {
    let e = |ms: i64, read: bool| DigestEvent {
        ts_ms: day * 86_400_000 + ms,
        read_page: read.then_some(page),
        admin_ok: !read,
        addr: 5,
        agent,
    };
    DayDigest::of_events(day, [e(3_600_000, true), e(40_000_000, true), e(50_000_000, false)]).to_bytes()
}

fn readers_value(users: &[(u32, u64)]) -> Vec<u8> {
    let r: readers::Readers =
        users.iter().map(|&(u, n)| (u, Counters { events: n, bytes: 100 * n, first: 1_000, last: 9_000 })).collect();
    let mut v = Vec::new();
    readers::encode(&r, &mut v);
    v
}

fn seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let access = "data/samples/conf_access_log.2026-03-29.log";
    let docker = "data/samples/confluence_access.2026-03-31.log";
    let xff = [
        "[30/Mar/2026:09:00:00 +0200] 192.168.1.15 jsmith http-nio-8090-exec-6 10.0.0.2 GET /pages/viewpage.action?pageId=1234567 HTTP/1.1 200 120ms 48211 - Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15",
        "[30/Mar/2026:09:00:03 +0200] 203.0.113.9, 10.0.0.2 anna http-nio-8090-exec-7 10.0.0.2 GET /display/ENG/Deploy+Runbook HTTP/1.1 200 80ms 51234 - \"Mozilla/5.0 \\\"quoted\\\" \\u00e9\"",
    ]
    .map(|l| l.as_bytes().to_vec())
    .to_vec();
    let mut heads = vec![file(access), file(docker), xff.join(&b'\n')];
    heads.iter_mut().for_each(|h| h.truncate(1500));
    let requests = [
        "\u{2}GET /confluence/pages/viewpage.action?pageId=1234567",
        "\u{0}GET /display/ENG/Deploy+Runbook",
        "\u{1}GET /wiki/spaces/ENG/pages/1234567/Build+Farm",
        "\u{0}GET /download/attachments/1234567/farm-keys.xlsx?version=1",
        "\u{0}POST /dosearchsite.action?queryString=aws+keys",
        "\u{0}GET /x/h4ASAQ",
        "\u{0}GET /rest/api/content/1234567?expand=body.storage",
        "\u{0}GET /spaces/flyingpdf/pdfpageexport.action?pageId=1234567",
    ];
    let mut pages = vec![file("data/sources/dc-audit-export.json")];
    pages.push(b"[{\"a\":1},{\"b\":[2,3]}]".to_vec());
    pages.push(b"{\"data\":[{\"id\":\"ev-1\"}],\"meta\":{\"next\":\"abc\"}}".to_vec());
    let rows = vec![row(1_774_944_000_000, Action::View, 10), row(1_774_944_003_000, Action::Download, 11)];
    let mut group = Vec::new();
    events::Group::encode(&rows, usize::MAX, &mut group);
    let mut zgroup = Vec::new();
    events::Group::encode(&rows, 0, &mut zgroup);
    let key = events::key(7, rows[0].ts_ms, 3).to_vec();
    let rec = files::FileRecord {
        head_len: 1024,
        head_hash: files::hash(b"head"),
        offset: 123_456,
        lines: 789,
        tail_hash: files::hash(b"tail"),
        format: "tomcat-a".into(),
        context_path: "/confluence".into(),
        name: "logs/conf_access_log.2026-03-29.log".into(),
        last_file: 7,
        sha256: Some([0xab; 32]),
        first_ingest_ms: 1_774_944_000_000,
        last_ingest_ms: 1_774_950_000_000,
        size: 200_000,
    };
    let small: roaring::RoaringBitmap = [3u32, 9, 1_000_000].into_iter().collect();
    let big: roaring::RoaringBitmap = (0..40u32).map(|i| i * 977).collect();
    let c1 = Counters { events: 3, bytes: 1_000, first: 60_000, last: 3_600_000 }.to_bytes();
    let c2 = Counters::one(48_211, 100).to_bytes();
    let mut model = PageModel::new();
    model.note_url_space(2, 10, 100);
    model.note_link(2, 1, 60);
    model.set_catalog(4711, 3, 2, 11, "Build Farm");
    model.resolve();
    let metas: Vec<Vec<u8>> = model.metas[1..].iter().map(PageMeta::encode).collect();
    let meta_refs: Vec<&[u8]> = metas.iter().map(Vec::as_slice).collect();
    vec![
        ("tomcat_a", lines(access, 4)),
        ("tomcat_b", xff),
        ("tomcat_c", lines(docker, 4)),
        ("detect_variant", heads),
        ("classify", requests.iter().map(|r| r.as_bytes().to_vec()).collect()),
        ("accesslogfilter", lines("data/sources/atlassian-confluence.log", 4)),
        ("dc_audit", lines("data/sources/20260330-00000.audit.log", 2)),
        ("cloud_audit", lines("data/sources/cloud-audit.jsonl", 2)),
        ("org_audit", lines("data/sources/org-audit.jsonl", 2)),
        ("jsonl", lines("data/sources/exported.jsonl", 3)),
        ("json_pages", pages),
        (
            "detect_source",
            vec![
                b"atlassian-confluence.log\n"
                    .iter()
                    .chain(&file("data/sources/atlassian-confluence.log"))
                    .copied()
                    .collect(),
                b"export.jsonl\n".iter().chain(&file("data/sources/cloud-audit.jsonl")).copied().collect(),
                b"20260330-00000.audit.log\n"
                    .iter()
                    .chain(&file("data/sources/20260330-00000.audit.log"))
                    .copied()
                    .collect(),
            ],
        ),
        ("tiny_link", vec![b"h4ASAQ".to_vec(), b"AAAAAAAAAAA".to_vec(), 1_234_567u64.to_le_bytes().to_vec()]),
        ("org_action_map", vec![b"# guard keys\n\nuser_logged_in = auth\nPAGE_VIEWED=export\n".to_vec()]),
        (
            "catalog_csv",
            vec![
                file("data/samples/catalog.csv"),
                b"space_key,page_id,title,extra\nENG,42,\"Run, \"\"book\"\"\",x\n".to_vec(),
            ],
        ),
        ("users_csv", vec![file("data/sources/users.csv")]),
        ("event_group", vec![[&key[..], &group].concat(), [&key[..], &zgroup].concat()]),
        ("file_record", vec![[rec.key(), rec.encode()].concat()]),
        (
            "reject",
            vec![[&rejects::key(1, 10)[..], &rejects::encode("bad HTTP status", b"[garbage \xff line")].concat()],
        ),
        (
            "page_ref",
            [PageRef::Id(1_234_567), PageRef::Titled { space: "ENG".into(), title: "Build Farm".into() }]
                .iter()
                .map(dict::page_ref_bytes)
                .collect(),
        ),
        ("digest", vec![digest(20_542, 3, 4), join(&[&digest(20_542, 3, 4), &digest(20_542, 9, 1)])]),
        (
            "readers",
            vec![readers_value(&[(1, 2), (7, 1)]), join(&[&readers_value(&[(1, 2)]), &readers_value(&[(3, 5)])])],
        ),
        ("bitmap", vec![bitmap::to_bytes(&small), join(&[&bitmap::to_bytes(&small), &bitmap::to_bytes(&big)])]),
        ("counters", vec![c1.clone(), join(&[&c1, &c2])]),
        ("page_meta", vec![metas[2].clone(), join(&meta_refs)]),
        ("page_chunk", vec![model.chunk(0)]),
    ]
}

fn main() {
    let root = Path::new("fuzz/corpus");
    for (target, inputs) in seeds() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus folder");
        for (i, input) in inputs.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), input).expect("seed file");
        }
    }
}
