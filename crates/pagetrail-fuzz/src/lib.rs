//! Fuzz targets: one function per parser and stored-value decoder, each taking raw bytes.
//!
//! A target must never panic, whatever the bytes. Where it is cheap, a target also checks what
//! must hold of a success: a decoded value encodes and decodes back to itself, a merge of
//! valid operands decodes, merges commute. The functions are run by cargo-fuzz (`fuzz/`, see
//! its README) and by this crate's test, which replays `fuzz/corpus` and mutates it.
//!
//! Parsers take `&str`; the ingester rejects a line that is not UTF-8 before parsing it, so a
//! target returns early on such bytes.

use std::sync::LazyLock;

use pagetrail_core::catalog::{parse_catalog, parse_users};
use pagetrail_core::sources::{self, OrgActionMap, ParseOptions, SourceFormat};
use pagetrail_core::{classify, detect_variant, parse_line, ContextPath, Variant};
use pagetrail_index::pages::{decode_chunk, encode_chunk, PageMeta, PageModel};
use pagetrail_index::{bitmap, counters, digest, readers, Counters};
use pagetrail_store::{dict, events, files, rejects};

/// A fuzz target: raw bytes in, a panic on a bug.
pub type Target = fn(&[u8]);

/// Every target by name: cargo-fuzz has one binary per entry, the test replays each corpus.
pub const TARGETS: &[(&str, Target)] = &[
    ("tomcat_a", tomcat_a),
    ("tomcat_b", tomcat_b),
    ("tomcat_c", tomcat_c),
    ("detect_variant", detect_variant_target),
    ("classify", classify_target),
    ("accesslogfilter", accesslogfilter),
    ("dc_audit", dc_audit),
    ("cloud_audit", cloud_audit),
    ("org_audit", org_audit),
    ("jsonl", jsonl),
    ("json_pages", json_pages),
    ("detect_source", detect_source),
    ("tiny_link", tiny_link),
    ("org_action_map", org_action_map),
    ("catalog_csv", catalog_csv),
    ("users_csv", users_csv),
    ("event_group", event_group),
    ("file_record", file_record),
    ("reject", reject),
    ("page_ref", page_ref),
    ("digest", digest_target),
    ("readers", readers_target),
    ("bitmap", bitmap_target),
    ("counters", counters_target),
    ("page_meta", page_meta),
    ("page_chunk", page_chunk),
];

/// Splits a merge target's input into operands (existing value first).
pub const SEP: &[u8] = b"#|#";

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn operands(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(SEP.len()).position(|w| w == SEP) {
        out.push(&rest[..i]);
        rest = &rest[i + SEP.len()..];
    }
    out.push(rest);
    out
}

// Context path and zone as a real DC install has them; Berlin has DST gaps and overlaps.
static OPTS: LazyLock<ParseOptions> = LazyLock::new(|| ParseOptions {
    tz: Some(sources::parse_tz("Europe/Berlin").expect("a known zone")),
    context_path: ContextPath::new("/confluence"),
    ..Default::default()
});

fn tomcat(v: Variant, data: &[u8]) {
    let Some(line) = text(data) else { return };
    if let Ok(r) = parse_line(v, line) {
        // What the ingester does next with a record.
        let c = classify(&OPTS.context_path, r.method, r.path, r.query);
        let _ = (c.page_ref(), c.link(), pagetrail_core::event::fold_user(r.user));
    }
}

pub fn tomcat_a(data: &[u8]) {
    tomcat(Variant::A, data)
}

pub fn tomcat_b(data: &[u8]) {
    tomcat(Variant::B, data)
}

pub fn tomcat_c(data: &[u8]) {
    tomcat(Variant::C, data)
}

/// Lines of a file's head; the chosen variant must parse at least one of them.
pub fn detect_variant_target(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let lines: Vec<&str> = t.lines().take(8).collect();
    if let Some(v) = detect_variant(lines.iter().copied()) {
        assert!(lines.iter().any(|l| parse_line(v, l).is_ok()), "{v:?} chosen but parses no line");
    }
}

/// `METHOD path?query`, the first byte picking the context path.
pub fn classify_target(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    let Some(t) = text(rest) else { return };
    let ctx = ContextPath::new(["", "/wiki", "/confluence"][usize::from(sel % 3)]);
    let (method, target) = t.split_once(' ').unwrap_or(("GET", t));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let c = classify(&ctx, method, path, query);
    if let Some((id, _, _)) = c.link() {
        assert_eq!(c.page_ref(), Some(pagetrail_core::PageRef::Id(id)));
    }
}

fn source(f: SourceFormat, data: &[u8]) -> Option<sources::SourceEvent> {
    let line = text(data)?;
    let e = sources::parse_line(f, line, &OPTS).ok()??;
    let _ = (e.page_ref(), e.is_read(), sources::to_json_line(&e));
    Some(e)
}

pub fn accesslogfilter(data: &[u8]) {
    source(SourceFormat::AccessLogFilter, data);
}

/// The DC audit file and its REST export share one record parser.
pub fn dc_audit(data: &[u8]) {
    source(SourceFormat::DcAudit, data);
}

pub fn cloud_audit(data: &[u8]) {
    source(SourceFormat::CloudAudit, data);
}

pub fn org_audit(data: &[u8]) {
    source(SourceFormat::OrgAudit, data);
}

/// JSON Lines exist so that exports round-trip: an event read back from its own export is itself.
pub fn jsonl(data: &[u8]) {
    let Some(e) = source(SourceFormat::Jsonl, data) else { return };
    let line = sources::to_json_line(&e);
    let back = sources::parse_line(SourceFormat::Jsonl, &line, &OPTS);
    assert_eq!(back, Ok(Some(e)), "export {line}");
}

/// Whole-file arrays and `{"data"|"entities"|"results":[…]}` envelopes.
pub fn json_pages(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let _ = sources::is_page(t);
    let _ = sources::split_json_array(t);
    let _ = sources::split_org_page(t);
    if let Ok(items) = sources::split_page(t) {
        for item in items.iter().take(4) {
            let _ = sources::parse_line(SourceFormat::DcAuditRest, item, &OPTS);
        }
    }
}

/// A file name on the first line, the file's first lines after it.
pub fn detect_source(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let mut lines = t.lines();
    let name = lines.next().unwrap_or("");
    let head: Vec<&str> = lines.take(8).collect();
    let _ = sources::detect(name, &head);
}

/// A code decodes to an id whose code is the same code less its trailing `A`s (zero digits);
/// every id's code decodes to the id.
pub fn tiny_link(data: &[u8]) {
    if let Ok(b) = <[u8; 8]>::try_from(data) {
        let id = u64::from_le_bytes(b);
        assert_eq!(sources::tiny_link_page_id(&sources::tiny_link_code(id)), Some(id));
    }
    let Some(code) = text(data) else { return };
    if let Some(id) = sources::tiny_link_page_id(code) {
        assert_eq!(sources::tiny_link_code(id), code.trim_end_matches('A'), "code {code:?}");
    }
}

pub fn org_action_map(data: &[u8]) {
    let Some(t) = text(data) else { return };
    if let Ok(m) = OrgActionMap::parse(t) {
        let _ = m.lookup("page_viewed");
    }
}

fn write_csv<const N: usize>(header: [&str; N], rows: impl Iterator<Item = [String; N]>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("writes to memory");
    for r in rows {
        w.write_record(&r).expect("writes to memory");
    }
    w.into_inner().expect("writes to memory")
}

/// A catalog's rows, written out again as CSV, read back the same.
pub fn catalog_csv(data: &[u8]) {
    let Ok(rows) = parse_catalog(data) else { return };
    let out = write_csv(
        ["page_id", "space_key", "title"],
        rows.iter().map(|(id, s, t)| [id.to_string(), s.clone(), t.clone()]),
    );
    assert_eq!(parse_catalog(&out).as_ref(), Ok(&rows), "{}", String::from_utf8_lossy(&out));
}

/// A user directory's rows, written out again as CSV, read back the same.
pub fn users_csv(data: &[u8]) {
    let Ok(rows) = parse_users(data) else { return };
    let out = write_csv(
        ["username", "user_key", "account_id"],
        rows.iter().map(|(u, k, a)| [u.clone(), k.clone(), a.clone()]),
    );
    assert_eq!(parse_users(&out).as_ref(), Ok(&rows), "{}", String::from_utf8_lossy(&out));
}

/// A 16-byte group key, then the group.
pub fn event_group(data: &[u8]) {
    let Some((k, v)) = data.split_at_checked(16) else { return };
    let Some((user, ts, batch)) = events::parse_key(k) else { return };
    if ts >= 0 {
        assert_eq!(events::parse_key(&events::key(user, ts, batch)), Some((user, ts, batch)));
    }
    let Ok(rows) = events::Group::decode(ts, v) else { return };
    let Some(first) = rows.first() else { return };
    let mut buf = Vec::new();
    events::Group::encode(&rows, usize::MAX, &mut buf);
    assert_eq!(events::Group::decode(first.ts_ms, &buf), Ok(rows));
}

/// A 20-byte registry key, then the record.
pub fn file_record(data: &[u8]) {
    let Some((k, v)) = data.split_at_checked(20) else { return };
    if let Some(r) = files::FileRecord::decode(k, v) {
        assert_eq!(r.key(), k);
        assert_eq!(files::FileRecord::decode(&r.key(), &r.encode()), Some(r));
    }
}

pub fn reject(data: &[u8]) {
    if let Some((file, line)) = data.get(..12).and_then(rejects::parse_key) {
        assert_eq!(&rejects::key(file, line)[..], &data[..12]);
    }
    if let Some((reason, raw)) = rejects::decode(data) {
        assert_eq!(rejects::decode(&rejects::encode(&reason, &raw)), Some((reason, raw)));
    }
}

/// Page references have one encoding: a decoded one encodes to the same bytes.
pub fn page_ref(data: &[u8]) {
    if let Some(r) = dict::page_ref_from_bytes(data) {
        assert_eq!(dict::page_ref_bytes(&r), data, "{r:?}");
    }
}

/// What every merge operator must do with fuzzed operands (the existing value first): an error
/// when any operand is bad, else a value that decodes and does not depend on operand order.
fn check_merge<T: PartialEq + std::fmt::Debug>(
    data: &[u8],
    decode: impl Fn(&[u8]) -> Option<T>,
    merge: impl Fn(Option<&[u8]>, &[&[u8]]) -> Result<Vec<u8>, pagetrail_index::IndexError>,
) {
    let ops = operands(data);
    let all_ok = ops.iter().all(|o| decode(o).is_some());
    let merged = merge(Some(ops[0]), &ops[1..]);
    assert_eq!(merged.is_ok(), all_ok, "merge and decode disagree");
    let Ok(m) = merged else { return };
    let m = decode(&m).expect("a merge of valid operands decodes");
    if ops.len() >= 2 {
        let mut rev = ops.clone();
        rev.reverse();
        let r = merge(Some(rev[0]), &rev[1..]).expect("same operands");
        assert_eq!(decode(&r).as_ref(), Some(&m), "merge depends on operand order");
    }
}

pub fn digest_target(data: &[u8]) {
    if let Ok(d) = digest::DayDigest::decode(data) {
        assert_eq!(digest::DayDigest::decode(&d.to_bytes()), Ok(d));
    }
    if let Some(k) = data.get(..8).and_then(digest::parse_key) {
        assert_eq!(digest::parse_key(&digest::key(k.0, k.1)), Some(k));
    }
    // Operands of one user-day are compared as the set they stand for: merging normalizes.
    check_merge(
        data,
        |b| digest::merge(None, [b]).ok().and_then(|m| digest::DayDigest::decode(&m).ok()),
        |e, ops| digest::merge(e, ops.iter().copied()),
    );
}

fn readers_of(b: &[u8]) -> Option<readers::Readers> {
    let mut r = readers::Readers::new();
    readers::add_into(&mut r, b).ok()?;
    Some(r)
}

pub fn readers_target(data: &[u8]) {
    if let Some(r) = readers_of(data) {
        let mut buf = Vec::new();
        readers::encode(&r, &mut buf);
        assert_eq!(readers_of(&buf), Some(r));
    }
    check_merge(data, readers_of, |e, ops| readers::merge(e, ops.iter().copied()));
}

pub fn bitmap_target(data: &[u8]) {
    if let Ok(s) = bitmap::decode(data) {
        assert_eq!(bitmap::decode(&bitmap::to_bytes(&s)), Ok(s));
    }
    check_merge(data, |b| bitmap::decode(b).ok(), |e, ops| bitmap::merge(e, ops.iter().copied()));
}

pub fn counters_target(data: &[u8]) {
    if let Ok(c) = Counters::decode(data) {
        assert_eq!(Counters::decode(&c.to_bytes()), Ok(c));
    }
    check_merge(data, |b| Counters::decode(b).ok(), |e, ops| counters::merge(e, ops.iter().copied()));
}

/// Page metas (one per operand, reference ids 1, 2, ...) round-trip, and the writer's model
/// rebuilds from them as it does at open.
pub fn page_meta(data: &[u8]) {
    let mut metas = Vec::new();
    for (i, op) in operands(data).into_iter().enumerate() {
        let Ok(m) = PageMeta::decode(op) else { return };
        assert_eq!(PageMeta::decode(&m.encode()).as_ref(), Ok(&m));
        metas.push((i as u32 + 1, m));
    }
    // Ids index the model's vectors: keep them small, as a dictionary's are, and in chunk 0.
    let small = |id: u32| id < pagetrail_index::pages::CHUNK - 1;
    if !small(metas.len() as u32) || metas.iter().any(|(_, m)| m.link.is_some_and(|(t, _, _)| !small(t))) {
        return;
    }
    let model = PageModel::from_metas(metas);
    assert_eq!(model.canon.len(), model.space.len());
    let (mut c, mut s) = (Vec::new(), Vec::new());
    decode_chunk(&model.chunk(0), &mut c, &mut s).expect("own chunk");
    assert_eq!((c, s), (model.canon.clone(), model.space.clone()));
}

pub fn page_chunk(data: &[u8]) {
    let (mut c, mut s) = (Vec::new(), Vec::new());
    if decode_chunk(data, &mut c, &mut s).is_ok() {
        let (mut c2, mut s2) = (Vec::new(), Vec::new());
        decode_chunk(&encode_chunk(&c, &s), &mut c2, &mut s2).expect("own chunk");
        assert_eq!((c2, s2), (c, s));
    }
}
