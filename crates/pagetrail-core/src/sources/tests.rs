//! Tests for every source format, written after the shapes and samples in confluence-logs.md.

use super::*;
use crate::time::{format_rfc3339, parse_instant};

fn berlin() -> ParseOptions {
    ParseOptions { tz: Some(parse_tz("Europe/Berlin").unwrap()), ..ParseOptions::default() }
}

fn utc() -> ParseOptions {
    ParseOptions { tz: Some(chrono_tz::UTC), ..ParseOptions::default() }
}

fn one(format: SourceFormat, line: &str, opts: &ParseOptions) -> SourceEvent {
    match parse_line(format, line, opts) {
        Ok(Some(e)) => e,
        other => panic!("{line}: {other:?}"),
    }
}

fn ts(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

// --- AccessLogFilter -------------------------------------------------------------------------

const ALF_OLD_ANON: &str = "2013-02-08 00:00:20,874 INFO [TP-Processor2] [atlassian.confluence.util.AccessLogFilter] doFilter - https://pandoba.com/display/HOME/home 1147658 1 10.30.109.82";
const ALF_OLD: &str = "2013-02-08 00:00:22,201 INFO [TP-Processor5] [atlassian.confluence.util.AccessLogFilter] doFilter mogambo https://pandoba.com/pages/viewpage.action?pageId=12354 1146604-99 2 172.17.250.122";
const ALF_8X: &str = "2024-06-03 14:05:09,417 INFO [http-nio-8090-exec-7] [confluence.util.AccessLogFilter] doFilter alice GET https://wiki.example.com/display/ENG/Runbook 812345-120 37 10.0.0.5";

#[test]
fn accesslogfilter_spec_samples() {
    let o = utc();
    let e = one(SourceFormat::AccessLogFilter, ALF_OLD_ANON, &o);
    assert_eq!(e.actor, Actor::Anonymous);
    assert_eq!(format_rfc3339(e.ts_ms), "2013-02-08T00:00:20.874Z");
    assert_eq!((e.action, e.space.as_deref(), e.title.as_deref()), (Action::View, Some("HOME"), Some("home")));
    assert_eq!((e.duration_ms, e.ip.as_str(), e.method.as_str()), (1, "10.30.109.82", ""));
    assert_eq!((e.status, e.bytes), (0, 0));
    assert_eq!(e.extra("thread"), Some("TP-Processor2"));
    assert_eq!(e.extra("host"), Some("pandoba.com"));
    assert!(e.is_read(), "no status recorded: a content event with a page is a read");

    let e = one(SourceFormat::AccessLogFilter, ALF_OLD, &o);
    assert_eq!(e.actor, Actor::Username("mogambo".into()));
    assert_eq!((e.action, e.page_id), (Action::View, Some(12354)));
    assert_eq!((e.path.as_str(), e.query.as_str()), ("/pages/viewpage.action", "pageId=12354"));
    assert_eq!((e.duration_ms, e.ip.as_str()), (2, "172.17.250.122"));

    let e = one(SourceFormat::AccessLogFilter, ALF_8X, &o);
    assert_eq!(e.actor, Actor::Username("alice".into()));
    assert_eq!(e.method, "GET");
    assert_eq!((e.space.as_deref(), e.title.as_deref()), (Some("ENG"), Some("Runbook")));
    assert_eq!((e.duration_ms, e.ip.as_str()), (37, "10.0.0.5"));
    assert_eq!(e.extra("thread"), Some("http-nio-8090-exec-7"));
}

#[test]
fn accesslogfilter_variants() {
    let o = utc();
    let p = |l: &str| one(SourceFormat::AccessLogFilter, l, &o);
    // Positive diff, split diff, `+-` diff, and an upper-case username folded.
    let e = p("2024-06-03 14:05:09,417 INFO [exec-1] [confluence.util.AccessLogFilter] doFilter Bob POST https://w/rest/api/content/5 812345+120 3 10.0.0.6");
    assert_eq!(
        (e.actor.clone(), e.action),
        (Actor::Username("bob".into()), Action::Other),
        "POST content is not a read"
    );
    let e = p("2024-06-03 14:05:09,417 INFO [exec-1] [confluence.util.AccessLogFilter] doFilter bob GET https://w/rest/api/content/5 812345 -99 3 10.0.0.6");
    assert_eq!((e.action, e.page_id, e.duration_ms), (Action::ApiRead, Some(5), 3));
    let e = p("2024-06-03 14:05:09,417 INFO [exec-1] [confluence.util.AccessLogFilter] doFilter bob GET https://w/download/attachments/77/a.pdf 812345+-99 3 10.0.0.6");
    assert_eq!((e.action, e.page_id), (Action::Download, Some(77)));
    // Thread names carrying a URL and user, and the KB's thread-less pattern `%d %p [%c{4}] %M %m%n`.
    let e = p("2024-06-03 14:05:09,417 INFO [http-nio-8090-exec-3 url: /spaces/ENG/pages/9; user: carol] [confluence.util.AccessLogFilter] doFilter carol GET https://w/spaces/ENG/pages/9/T 1 2 0:0:0:0:0:0:0:1");
    assert_eq!((e.page_id, e.ip.as_str()), (Some(9), "0:0:0:0:0:0:0:1"));
    assert_eq!(e.extra("thread"), Some("http-nio-8090-exec-3 url: /spaces/ENG/pages/9; user: carol"));
    let e = p("2013-02-08 00:00:22,201 INFO [atlassian.confluence.util.AccessLogFilter] doFilter dave https://w/display/A/B 1146604-99 2 10.1.1.1");
    assert_eq!((e.title.as_deref(), e.extra("thread")), (Some("B"), None));
    // Abbreviated logger, context path, request context appended.
    let o2 = ParseOptions { context_path: ContextPath::new("/confluence"), ..utc() };
    let e = one(SourceFormat::AccessLogFilter, "2024-06-03 14:05:09.417 INFO [exec-1] [c.a.c.util.AccessLogFilter] doFilter erin GET https://w/confluence/exportword?pageId=8 1 2 10.0.0.9 -- url: /confluence/exportword | userName: erin", &o2);
    assert_eq!((e.action, e.page_id, e.path.as_str()), (Action::Export, Some(8), "/confluence/exportword"));
    // Tiny link: the page id is recorded, but the redirect is not itself a read.
    let e = p("2024-06-03 14:05:09,417 INFO [exec-1] [confluence.util.AccessLogFilter] doFilter bob GET https://w/x/h9YS 1 2 10.0.0.6");
    assert_eq!((e.action, e.page_id, e.extra("tiny_link")), (Action::Other, Some(1_234_567), Some("h9YS")));
    assert!(!e.is_read());
    // Noise is still an event; the caller decides whether to store it.
    assert_eq!(p("2024-06-03 14:05:09,417 INFO [e] [confluence.util.AccessLogFilter] doFilter - GET https://w/s/x.woff 1 2 10.0.0.6").action, Action::Noise);
}

#[test]
fn accesslogfilter_other_lines_and_errors() {
    let o = utc();
    for other in [
        "2024-06-03 14:05:09,417 WARN [http-nio-8090-exec-7] [confluence.pages.DefaultPageManager] getPage something -- url: /display/A | userName: bob",
        "\tat com.atlassian.confluence.util.AccessLogFilter.doFilter(AccessLogFilter.java:42)",
        "java.lang.NullPointerException",
        "2024-06-03 14:00:00,000 INFO [localhost-startStop-1] [confluence.util.AccessLogFilter] init Format is: <user> <url> <starting memory free (kb)> +- <difference in free mem (kb)> <query time (ms)> <remote address>",
    ] {
        assert_eq!(parse_line(SourceFormat::AccessLogFilter, other, &o), Ok(None), "{other}");
    }
    let err = |l: &str, opts: &ParseOptions| parse_line(SourceFormat::AccessLogFilter, l, opts).unwrap_err();
    let no_tz = ParseOptions::default();
    let e = err(ALF_8X, &no_tz);
    assert_eq!(e, SourceError::NeedTz);
    assert!(e.to_string().contains("--tz is required"));
    assert_eq!(err("2013-02-30 00:00:22,201 INFO [t] [atlassian.confluence.util.AccessLogFilter] doFilter a https://h/ 1 2 1.2.3.4", &o), SourceError::BadTimestamp);
    assert_eq!(err("2013-02-08 25:00:22,201 INFO [t] [atlassian.confluence.util.AccessLogFilter] doFilter a https://h/ 1 2 1.2.3.4", &o), SourceError::BadTimestamp);
    assert_eq!(err("2013-02-08 00:00:22,201 INFO [t] [atlassian.confluence.util.AccessLogFilter] doFilter a https://h/display/A/B 1146604-99 2", &o), SourceError::Truncated("remote address"));
    assert_eq!(err("2013-02-08 00:00:22,201 INFO [t] [atlassian.confluence.util.AccessLogFilter] doFilter a https://h/display/A/B", &o), SourceError::Truncated("free memory"));
    assert_eq!(
        err("2013-02-08 00:00:22,201 INFO [t] [atlassian.confluence.util.AccessLogFilter] doFilter a b c", &o),
        SourceError::Truncated("URL")
    );
    assert_eq!(
        err("2013-02-08 00:00:22,201 INFO [t] [atlassian.confluence.util.AccessLogFilter] doFilter", &o),
        SourceError::Truncated("user")
    );
    assert_eq!(err("2013-02-08 00:00:22,201 INFO [t] [atlassian.confluence.util.AccessLogFilter] doFilter a https://h/ 1 99999999999999999999 1.2.3.4", &o), SourceError::BadField("duration"));
    assert_eq!(err("2013-02-08 00:00:22,201 INFO [t] [atlassian.confluence.util.AccessLogFilter] doFilter a https://h/ lots 2 1.2.3.4", &o), SourceError::BadField("free memory"));
    assert_eq!(parse_line(SourceFormat::AccessLogFilter, "  ", &o), Err(SourceError::Empty));
    assert_eq!(parse_tz("Europe/Berln"), Err(SourceError::UnknownTz("Europe/Berln".into())));
    assert_eq!(parse_tz("Mars/Olympus").unwrap_err().to_string(), "unknown time zone 'Mars/Olympus'");
}

#[test]
fn accesslogfilter_dst_in_berlin() {
    let o = berlin();
    let at = |local: &str| {
        let line = format!(
            "{local} INFO [t] [atlassian.confluence.util.AccessLogFilter] doFilter a https://h/display/A/B 1 2 1.2.3.4"
        );
        format_rfc3339(one(SourceFormat::AccessLogFilter, &line, &o).ts_ms)
    };
    assert_eq!(at("2013-02-08 00:00:22,201"), "2013-02-07T23:00:22.201Z", "winter, +01:00");
    assert_eq!(at("2026-07-01 12:00:00,000"), "2026-07-01T10:00:00Z", "summer, +02:00");
    // Spring forward, 2026-03-29: 02:00-02:59 never happens; the earliest reading (+02:00) is taken.
    assert_eq!(at("2026-03-29 01:59:59,999"), "2026-03-29T00:59:59.999Z");
    assert_eq!(at("2026-03-29 02:30:00,000"), "2026-03-29T00:30:00Z");
    assert_eq!(at("2026-03-29 03:00:00,000"), "2026-03-29T01:00:00Z");
    // Fall back, 2026-10-25: 02:00-02:59 happens twice; the first (CEST, +02:00) is taken.
    assert_eq!(at("2026-10-25 02:30:00,000"), "2026-10-25T00:30:00Z");
    assert_eq!(at("2026-10-25 03:00:00,000"), "2026-10-25T02:00:00Z");
    assert_eq!(at("2026-10-25 01:59:59,000"), "2026-10-24T23:59:59Z");
}

// --- DC audit file and REST export -----------------------------------------------------------

const DC_SPACE_IMPORT: &str = r#"{"affectedObjects":[{"id":"98305","name":"Demonstration Space","type":"Space"}],"auditType":{"action":"Space import","actionI18nKey":"audit.logging.summary.space.import","area":"LOCAL_CONFIG_AND_ADMINISTRATION","category":"Import/Export","categoryI18nKey":"audit.logging.category.import.export","level":"BASE"},"author":{"id":"-2","name":"Anonymous","type":"user"},"changedValues":[],"extraAttributes":[],"method":"Browser","source":"81.2.69.143","system":"http://confluence.internal:8090","timestamp":{"epochSecond":1637624569,"nano":660000000},"version":"1.0"}"#;

const DC_DOWNLOAD: &str = r#"{"affectedObjects":[{"id":"98305","name":"Engineering","type":"Space","uri":"http://confluence.internal:8090/display/ENG"},{"id":"2129924","name":"Runbook","type":"Page"},{"id":"2129930","name":"secrets.xlsx","type":"Attachment"}],"auditType":{"action":"Attachment downloaded","actionI18nKey":"audit.logging.summary.attachment.downloaded","area":"END_USER_ACTIVITY","category":"Pages","categoryI18nKey":"audit.logging.category.pages","level":"FULL"},"author":{"id":"2c9580827d4a06e8017d4a07c3e10000","name":"Alice Example","type":"user"},"changedValues":[],"extraAttributes":[],"method":"Browser","node":"node-2","source":"10.0.0.5","system":"http://confluence.internal:8090","timestamp":{"epochSecond":1717423509,"nano":417000000},"version":"1.0"}"#;

fn dc(action: &str, key: &str, objects: &str, extra: &str) -> String {
    format!(
        r#"{{"affectedObjects":[{objects}],"auditType":{{"action":"{action}","actionI18nKey":"{key}","area":"END_USER_ACTIVITY","category":"Import/Export","level":"ADVANCED"}},"author":{{"id":"2c9580827d4a06e8017d4a07c3e10000","name":"Alice Example","type":"user"}},"changedValues":[],"extraAttributes":[{extra}],"method":"Browser","source":"10.0.0.5","system":"http://c:8090","timestamp":{{"epochSecond":1717423509,"nano":0}},"version":"1.0"}}"#
    )
}

#[test]
fn dc_audit_sample_and_download() {
    let o = ParseOptions::default();
    // A space import is not a read, but every audit record is an event (contract §2).
    let e = one(SourceFormat::DcAudit, DC_SPACE_IMPORT, &o);
    assert_eq!((e.action, e.actor.clone()), (Action::Admin, Actor::Anonymous));
    assert_eq!(e.extra("audit_action"), Some("audit.logging.summary.space.import"));
    assert_eq!((e.extra("category"), e.extra("space_name")), (Some("Import/Export"), Some("Demonstration Space")));
    assert!(!e.is_read());
    let e = one(SourceFormat::DcAudit, DC_DOWNLOAD, &o);
    assert_eq!(e.actor, Actor::UserKey("2c9580827d4a06e8017d4a07c3e10000".into()));
    assert_eq!(e.display_name.as_deref(), Some("Alice Example"));
    assert_eq!(format_rfc3339(e.ts_ms), "2024-06-03T14:05:09.417Z");
    assert_eq!((e.action, e.page_id, e.title.as_deref()), (Action::Download, Some(2_129_924), Some("Runbook")));
    assert_eq!((e.space.as_deref(), e.attachment.as_deref()), (Some("ENG"), Some("secrets.xlsx")));
    assert_eq!(e.ip, "10.0.0.5");
    assert_eq!(e.extra("audit_action"), Some("audit.logging.summary.attachment.downloaded"));
    assert_eq!(e.extra("space_name"), Some("Engineering"));
    assert_eq!(e.extra("attachment_id"), Some("2129930"));
    assert_eq!(e.extra("node"), Some("node-2"));
    assert_eq!(e.extra("level"), Some("FULL"));
    assert_eq!(e.extra("audit_method"), Some("Browser"));
    assert!(e.is_read());
}

#[test]
fn dc_audit_key_table() {
    let o = ParseOptions::default();
    let page = r#"{"id":"98305","name":"Engineering","type":"Space"},{"id":"42","name":"Plan","type":"Page"}"#;
    let blog = r#"{"id":"43","name":"News","type":"Blog"}"#;
    let space = r#"{"id":"98305","name":"Engineering","type":"Space","uri":"/spaces/viewspace.action?key=ENG"}"#;
    for (key, objects, action, page_id) in [
        ("audit.logging.summary.page.exported.word", page, Action::Export, Some(42)),
        ("audit.logging.summary.blogpost.exported.word", blog, Action::Export, Some(43)),
        ("page.pdf.export", page, Action::Export, Some(42)),
        ("blog.pdf.export", blog, Action::Export, Some(43)),
        ("audit.logging.summary.space.pdf.export", space, Action::SpaceExport, None),
        ("audit.logging.summary.space.export", space, Action::SpaceExport, None),
        ("audit.logging.summary.site.export", "", Action::SpaceExport, None),
    ] {
        let e = one(SourceFormat::DcAudit, &dc("x", key, objects, ""), &o);
        assert_eq!((e.action, e.page_id), (action, page_id), "{key}");
        if action == Action::SpaceExport && !objects.is_empty() {
            assert_eq!(e.space.as_deref(), Some("ENG"), "{key}");
        }
    }
    // Search: the query is kept.
    let e = one(
        SourceFormat::DcAudit,
        &dc(
            "Search performed",
            "audit.logging.summary.search.performed",
            "",
            r#"{"name":"Query","nameI18nKey":"audit.logging.extra.attribute.search.query","value":"password"}"#,
        ),
        &o,
    );
    assert_eq!((e.action, e.extra("search_query")), (Action::Search, Some("password")));
    // Admin-key views are matched on the English summary.
    let e = one(
        SourceFormat::DcAudit,
        &dc("Viewed with admin key", "audit.logging.summary.page.view.admin.key", page, ""),
        &o,
    );
    assert_eq!((e.action, e.extra("admin_key"), e.page_id), (Action::View, Some("true"), Some(42)));
    // Not reads, but events: logins and logouts are auth, the rest admin. A key that merely
    // ends like a content key does not match one.
    for (key, action) in [
        ("audit.logging.summary.login.success", Action::Auth),
        ("audit.logging.summary.login.failed", Action::Auth),
        ("audit.logging.summary.user.logout", Action::Auth),
        ("audit.logging.summary.page.created", Action::Admin),
        ("audit.logging.summary.userspace.exportx", Action::Admin),
        ("audit.logging.summary.global.permission.added", Action::Admin),
        ("audit.logging.summary.plugin.enabled", Action::Admin),
    ] {
        let e = one(SourceFormat::DcAudit, &dc("x", key, page, ""), &o);
        assert_eq!(e.action, action, "{key}");
        assert!(!e.is_read(), "{key}");
    }
}

#[test]
fn dc_audit_rest_shape() {
    let o = ParseOptions::default();
    let line = r#"{"timestamp":"2021-11-23T00:44:36.398Z","author":{"name":"test user","type":"user","id":"2c9680837d4a06e8017d4a07c3e10000","uri":"http://confluence.internal:8090/admin/users/viewuser.action?username=Admin","avatarUri":""},"type":{"categoryI18nKey":"audit.logging.category.pages","category":"Pages","actionI18nKey":"audit.logging.summary.attachment.downloaded","action":"Attachment downloaded"},"affectedObjects":[{"name":"a.pdf","type":"Attachment","id":"9"},{"name":"Plan","type":"Page","id":"42","uri":"http://confluence.internal:8090/pages/viewpage.action?pageId=42"}],"changedValues":[],"source":"81.2.69.143","system":"http://confluence.internal:8090","method":"Browser","extraAttributes":[]}"#;
    let e = one(SourceFormat::DcAuditRest, line, &o);
    assert_eq!(e.actor, Actor::Username("admin".into()), "username in author.uri wins over the key");
    assert_eq!(e.display_name.as_deref(), Some("test user"));
    assert_eq!(format_rfc3339(e.ts_ms), "2021-11-23T00:44:36.398Z");
    assert_eq!((e.action, e.page_id, e.attachment.as_deref()), (Action::Download, Some(42), Some("a.pdf")));
    // The REST sample's own action (an audit-log search) is not a read.
    let admin_search = r#"{"timestamp":"2021-11-23T00:44:36.398Z","author":{"name":"test user","type":"user","id":"2c96","uri":"http://c/admin/users/viewuser.action?username=admin"},"type":{"category":"Auditing","actionI18nKey":"atlassian.audit.event.action.audit.search","action":"Audit Log search performed"},"affectedObjects":[]}"#;
    let e = one(SourceFormat::DcAuditRest, admin_search, &o);
    assert_eq!((e.action, e.extra("audit_action")), (Action::Admin, Some("atlassian.audit.event.action.audit.search")));
    // A page of the REST export is an envelope: split first.
    let page = format!(r#"{{"entities":[{line},{admin_search}],"pagingInfo":{{"nextPageLink":null}}}}"#);
    assert_eq!(parse_line(SourceFormat::DcAuditRest, &page, &o), Ok(None));
    assert!(is_page(&page));
    let recs = split_page(&page).unwrap();
    assert_eq!(recs, vec![line, admin_search]);
    // Anonymous and built-in authors.
    let anon = dc("x", "attachment.downloaded", "", "").replace("2c9580827d4a06e8017d4a07c3e10000", "-2");
    assert_eq!(one(SourceFormat::DcAudit, &anon, &o).actor, Actor::Anonymous);
    let system = dc("x", "attachment.downloaded", "", "").replace("2c9580827d4a06e8017d4a07c3e10000", "-1");
    assert_eq!(one(SourceFormat::DcAudit, &system, &o).actor, Actor::UserKey("-1".into()));
    let no_author = dc("x", "attachment.downloaded", "", "")
        .replace(r#""author":{"id":"2c9580827d4a06e8017d4a07c3e10000","name":"Alice Example","type":"user"},"#, "");
    assert_eq!(one(SourceFormat::DcAudit, &no_author, &o).actor, Actor::UserKey("-3".into()));
}

#[test]
fn dc_audit_malformed() {
    let o = ParseOptions::default();
    let err = |l: &str| parse_line(SourceFormat::DcAudit, l, &o).unwrap_err();
    let good = dc("x", "attachment.downloaded", "", "");
    assert_eq!(err(&good[..good.len() / 2]), SourceError::JsonTruncated);
    assert_eq!(
        err(&good.replace(r#""timestamp":{"epochSecond":1717423509,"nano":0},"#, "")),
        SourceError::Missing("timestamp")
    );
    assert_eq!(
        err(&good.replace(r#"{"epochSecond":1717423509,"nano":0}"#, r#""yesterday""#)),
        SourceError::BadTimestamp
    );
    assert_eq!(
        err(&good.replace(r#""epochSecond":1717423509"#, r#""epochSecond":"1717423509""#)),
        SourceError::BadTimestamp
    );
    assert_eq!(err(&good.replace("1717423509", "9223372036854775807")), SourceError::BadTimestamp);
    assert_eq!(err(&good.replace("1717423509", "1e400")), SourceError::JsonSyntax);
    assert_eq!(err(&good.replace(r#""nano":0"#, r#""nano":1000000000"#)), SourceError::BadTimestamp);
    assert_eq!(
        err(&good.replace(r#""affectedObjects":[]"#, r#""affectedObjects":"Space""#)),
        SourceError::BadField("affectedObjects")
    );
    assert_eq!(err(&good.replace(r#""source":"10.0.0.5""#, r#""source":5"#)), SourceError::BadField("source"));
    assert_eq!(err(&good.replace(r#""auditType""#, r#""auditTypo""#)), SourceError::Missing("auditType"));
    assert_eq!(err(&good.replace("Alice Example", r"Alice \ud800 Example")), SourceError::JsonSyntax);
    assert_eq!(err(&good.replace("Alice Example", r"Alice \x41")), SourceError::JsonSyntax);
    assert_eq!(err(r#""just a string""#), SourceError::NotObject);
    assert_eq!(err("not json"), SourceError::JsonSyntax);
    let deep = format!(r#"{{"timestamp":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(err(&deep), SourceError::JsonTooDeep);
    assert_eq!(err(&"{\"a\":".repeat(100_000)), SourceError::JsonTooDeep);
}

// --- Cloud audit -----------------------------------------------------------------------------

const CLOUD_LOGO: &str = r#"{"author":{"type":"user","displayName":"John Jacobs","operations":null,"isExternalCollaborator":false,"username":"df856b17d84fcf010f11fcfcc6be4267","userKey":"26971c016361d1f6a3eb8f62461f1e4e","accountId":"df856b17d84fcf010f11fcfcc6be4267","accountType":"","publicName":"Unknown user","externalCollaborator":false},"remoteAddress":"81.2.69.143","creationDate":1643097111962,"summary":"Space logo uploaded","description":"","category":"Spaces","sysAdmin":false,"superAdmin":false,"affectedObject":{"name":"Service Catalogue","objectType":"Space"},"changedValues":[],"associatedObjects":[]}"#;

fn cloud(summary: &str, objects: &str) -> String {
    CLOUD_LOGO
        .replace("Space logo uploaded", summary)
        .replace(r#""associatedObjects":[]"#, &format!(r#""associatedObjects":[{objects}]"#))
}

#[test]
fn cloud_audit() {
    let o = ParseOptions::default();
    let e = one(SourceFormat::CloudAudit, CLOUD_LOGO, &o);
    assert_eq!(
        (e.action, e.extra("audit_summary"), e.extra("space_name")),
        (Action::Admin, Some("Space logo uploaded"), Some("Service Catalogue"))
    );
    let e = one(SourceFormat::CloudAudit, &cloud("Space exported", ""), &o);
    assert_eq!(e.action, Action::SpaceExport);
    assert_eq!(e.actor, Actor::AccountId("df856b17d84fcf010f11fcfcc6be4267".into()));
    assert_eq!(e.display_name.as_deref(), Some("John Jacobs"));
    assert_eq!(format_rfc3339(e.ts_ms), "2022-01-25T07:51:51.962Z");
    assert_eq!(
        (e.ip.as_str(), e.extra("space_name"), e.space.as_deref()),
        ("81.2.69.143", Some("Service Catalogue"), None)
    );
    assert_eq!((e.extra("category"), e.extra("audit_summary")), (Some("Spaces"), Some("Space exported")));
    let e = one(
        SourceFormat::CloudAudit,
        &cloud("Page  viewed with admin key", r#"{"name":"Salaries 2024","objectType":"Page"}"#),
        &o,
    );
    assert_eq!(
        (e.action, e.extra("admin_key"), e.title.as_deref()),
        (Action::View, Some("true"), Some("Salaries 2024"))
    );
    assert!(!e.is_read(), "a title without a space key names no page");
    let e = one(
        SourceFormat::CloudAudit,
        &cloud("Attachment downloaded", r#"{"name":"a.pdf","objectType":"Attachment"}"#),
        &o,
    );
    assert_eq!((e.action, e.attachment.as_deref()), (Action::Download, Some("a.pdf")));
    assert_eq!(one(SourceFormat::CloudAudit, &cloud("page exported.", ""), &o).action, Action::Export);
    assert_eq!(one(SourceFormat::CloudAudit, &cloud("Space export permission added", ""), &o).action, Action::Admin);
    assert_eq!(one(SourceFormat::CloudAudit, &cloud("User logged in", ""), &o).action, Action::Auth);
    let envelope = format!(r#"{{"results":[{CLOUD_LOGO}],"start":0,"limit":1000,"size":1,"_links":{{}}}}"#);
    assert_eq!(parse_line(SourceFormat::CloudAudit, &envelope, &o), Ok(None));
    assert_eq!(split_page(&envelope).unwrap(), vec![CLOUD_LOGO]);

    let err = |l: &str| parse_line(SourceFormat::CloudAudit, l, &o).unwrap_err();
    let good = cloud("Space exported", "");
    assert_eq!(err(&good.replace(r#""creationDate":1643097111962,"#, "")), SourceError::Missing("creationDate"));
    assert_eq!(err(&good.replace("1643097111962", r#""1643097111962""#)), SourceError::BadTimestamp);
    assert_eq!(err(&good.replace("1643097111962", "-5")), SourceError::BadTimestamp);
    assert_eq!(err(&good.replace("1643097111962", "184467440737095516150")), SourceError::BadTimestamp);
    assert_eq!(
        err(&good.replace(r#""summary":"Space exported""#, r#""summary":["Space exported"]"#)),
        SourceError::BadField("summary")
    );
    assert_eq!(
        err(&good.replace(r#""author":{"type":"user""#, r#""author":{"type":7"#)),
        SourceError::BadField("author.type")
    );
    assert_eq!(err(&good[..good.len() - 3]), SourceError::JsonTruncated);
}

// --- Organization audit (Guard) --------------------------------------------------------------

const ORG_VIEW: &str = r#"{"id":"a1b2c3","type":"events","attributes":{"time":"2024-06-03T14:05:09.417Z","action":"page_viewed","actor":{"id":"5b10ac8d82e05b22cc7d4ef5","name":"Alice Example","email":"alice@example.com","links":{"self":"https://api.atlassian.com/users/5b10ac8d82e05b22cc7d4ef5/manage/profile"}},"context":[{"id":"2129924","type":"page","attributes":{"title":"Runbook"},"links":{"self":"https://api.atlassian.com/x","alt":"https://acme.atlassian.net/wiki/spaces/ENG/pages/2129924/Runbook"}}],"container":[{"id":"98305","type":"space","attributes":{"name":"Engineering","key":"ENG"},"links":{"self":"https://api.atlassian.com/y"}}],"location":{"ip":"203.0.113.9","geo":"52.52,13.40","countryName":"Germany","regionName":"Berlin","city":"Berlin"}},"links":{"self":"https://api.atlassian.com/admin/v1/orgs/o/events/a1b2c3"}}"#;

#[test]
fn org_audit_events() {
    let o = ParseOptions::default();
    let e = one(SourceFormat::OrgAudit, ORG_VIEW, &o);
    assert_eq!(e.actor, Actor::AccountId("5b10ac8d82e05b22cc7d4ef5".into()));
    assert_eq!(e.display_name.as_deref(), Some("Alice Example"));
    assert_eq!(format_rfc3339(e.ts_ms), "2024-06-03T14:05:09.417Z");
    assert_eq!(
        (e.action, e.page_id, e.title.as_deref(), e.space.as_deref()),
        (Action::View, Some(2_129_924), Some("Runbook"), Some("ENG"))
    );
    assert_eq!((e.ip.as_str(), e.extra("country"), e.extra("city")), ("203.0.113.9", Some("Germany"), Some("Berlin")));
    assert_eq!(
        (e.extra("email"), e.extra("audit_action"), e.extra("event_id")),
        (Some("alice@example.com"), Some("page_viewed"), Some("a1b2c3"))
    );
    assert!(e.is_read());

    // Loosely typed entries: an ARI id, a `confluence.page` type, no title, the link names the rest.
    let loose = ORG_VIEW
        .replace(r#""id":"2129924","type":"page","attributes":{"title":"Runbook"}"#, r#""id":"ari:cloud:confluence:abc:page/77","type":"Confluence.Page","attributes":{}"#)
        .replace(r#""container":[{"id":"98305","type":"space","attributes":{"name":"Engineering","key":"ENG"},"links":{"self":"https://api.atlassian.com/y"}}]"#, r#""container":[]"#)
        .replace("spaces/ENG/pages/2129924/Runbook", "spaces/OPS/pages/77/On+Call");
    let e = one(SourceFormat::OrgAudit, &loose, &o);
    assert_eq!((e.page_id, e.space.as_deref(), e.title.as_deref()), (Some(77), Some("OPS"), Some("On Call")));

    // Unmapped actions are still events (auth for a login, admin otherwise); a map can say more.
    let login = ORG_VIEW.replace("page_viewed", "user_logged_in");
    assert_eq!(one(SourceFormat::OrgAudit, &login, &o).action, Action::Auth);
    let grant = ORG_VIEW.replace("page_viewed", "user_granted_role");
    let e = one(SourceFormat::OrgAudit, &grant, &o);
    assert_eq!((e.action, e.extra("audit_action")), (Action::Admin, Some("user_granted_role")));
    let map = OrgActionMap::parse("# guard keys seen at ACME\n\nuser_logged_in = auth\nPAGE_VIEWED=export\n").unwrap();
    let custom = ParseOptions { org_actions: map.clone(), ..ParseOptions::default() };
    assert_eq!(one(SourceFormat::OrgAudit, &login, &custom).action, Action::Auth);
    assert_eq!(
        one(SourceFormat::OrgAudit, ORG_VIEW, &custom).action,
        Action::Export,
        "keys compare case-insensitively"
    );
    assert_eq!(map.lookup("attachment_downloaded"), None);
    assert_eq!(OrgActionMap::default().lookup("attachment_downloaded"), Some(Action::Download));
    let bad = OrgActionMap::parse("page_viewed=view\npage_exported\n").unwrap_err();
    assert_eq!(bad.to_string(), "org action map line 2: expected key=action");
    let bad = OrgActionMap::parse("page_viewed=read").unwrap_err();
    assert!(bad.to_string().starts_with("org action map line 1: unknown action 'read'"), "{bad}");
    assert!(OrgActionMap::parse(" = view").is_err());

    // Pages of the API: split, then parse each.
    let page = format!(
        r#"{{"data":[{ORG_VIEW},{login}],"meta":{{"next":"abc","page_size":2}},"links":{{"self":"s","next":"n"}}}}"#
    );
    assert_eq!(parse_line(SourceFormat::OrgAudit, &page, &o), Ok(None));
    let events = split_org_page(&page).unwrap();
    assert_eq!(events, vec![ORG_VIEW.to_owned(), login.clone()]);
    assert_eq!(split_org_page(r#"{"meta":{}}"#), Err(SourceError::Missing("data")));
    assert_eq!(split_org_page(r#"{"data":{}}"#), Err(SourceError::BadField("data")));
    assert_eq!(split_org_page(r#"{"data":[{"id":1},"#), Err(SourceError::JsonTruncated));

    // Other resource types are not events; malformed events are errors.
    assert_eq!(parse_line(SourceFormat::OrgAudit, r#"{"id":"1","type":"users","attributes":{}}"#, &o), Ok(None));
    let err = |l: &str| parse_line(SourceFormat::OrgAudit, l, &o).unwrap_err();
    assert_eq!(
        err(&ORG_VIEW.replace(r#""time":"2024-06-03T14:05:09.417Z","#, "")),
        SourceError::Missing("attributes.time")
    );
    assert_eq!(err(&ORG_VIEW.replace("2024-06-03T14:05:09.417Z", "03/06/2024 14:05")), SourceError::BadTimestamp);
    assert_eq!(
        err(&ORG_VIEW.replace(r#""action":"page_viewed""#, r#""action":42"#)),
        SourceError::BadField("attributes.action")
    );
    assert_eq!(
        err(&ORG_VIEW.replace(r#""context":["#, r#""context":[7,"#)),
        SourceError::BadField("attributes.context")
    );
    assert_eq!(err(r#"{"id":"1","type":"events"}"#), SourceError::Missing("attributes"));
}

// --- JSON Lines ------------------------------------------------------------------------------

#[test]
fn jsonl_round_trip() {
    // Exactly what `pagetrail events --format json` prints (keys sorted by serde_json's map).
    let cli = r#"{"action":"download","bytes":48213,"duration_ms":120,"ip":"10.0.0.5","method":"GET","page_id":2129924,"path":"/download/attachments/2129924/a%20b.pdf","query":"version=1&api=v2","referer":"https://wiki/display/ENG/Runbook","source":{"file":"logs/conf_access_log.2024-06-03.log","line":17},"space":null,"status":200,"title":null,"ts":"2024-06-03T14:05:09Z","user":"alice","user_agent":"Mozilla/5.0 (X11; Linux x86_64)"}"#;
    let e = one(SourceFormat::Jsonl, cli, &ParseOptions::default());
    assert_eq!(e.ts_ms, ts("2024-06-03T14:05:09Z"));
    assert_eq!(
        (e.actor.clone(), e.action, e.page_id),
        (Actor::Username("alice".into()), Action::Download, Some(2_129_924))
    );
    assert_eq!((e.status, e.bytes, e.duration_ms), (200, 48_213, 120));
    assert_eq!((e.space.clone(), e.title.clone()), (None, None));
    assert_eq!(e.user_agent, "Mozilla/5.0 (X11; Linux x86_64)");
    let again = one(SourceFormat::Jsonl, &to_json_line(&e), &ParseOptions::default());
    assert_eq!(again, e);

    let mut f = SourceEvent::new(ts("2024-06-03T14:05:09.250Z"), Actor::Anonymous, Action::View);
    f.space = Some("ENG".into());
    f.title = Some("Café & \"Bar\"".into());
    f.status = 304;
    f.path = "/display/ENG/Caf%C3%A9".into();
    let line = to_json_line(&f);
    assert!(line.contains(r#""user":"-""#) && line.contains(r#""ts":"2024-06-03T14:05:09.250Z""#), "{line}");
    assert_eq!(one(SourceFormat::Jsonl, &line, &ParseOptions::default()), f);
    assert!(f.is_read());

    let o = ParseOptions::default();
    let err = |l: &str| parse_line(SourceFormat::Jsonl, l, &o).unwrap_err();
    assert_eq!(err(&cli.replace(r#""ts":"2024-06-03T14:05:09Z","#, "")), SourceError::Missing("ts"));
    assert_eq!(err(&cli.replace("2024-06-03T14:05:09Z", "2024-06-03T14:05")), SourceError::BadTimestamp);
    assert_eq!(err(&cli.replace(r#""status":200"#, r#""status":70000"#)), SourceError::BadField("status"));
    assert_eq!(err(&cli.replace(r#""status":200"#, r#""status":"200""#)), SourceError::BadField("status"));
    assert_eq!(err(&cli.replace("2129924", "1e30")), SourceError::BadField("page_id"));
    assert_eq!(err(&cli.replace("2129924", "-1")), SourceError::BadField("page_id"));
    assert_eq!(err(&cli.replace("2129924", "99999999999999999999999")), SourceError::BadField("page_id"));
    assert_eq!(
        err(&cli.replace(r#""duration_ms":120"#, r#""duration_ms":5000000000"#)),
        SourceError::BadField("duration_ms")
    );
    assert_eq!(err(&cli.replace(r#""action":"download""#, r#""action":"read""#)), SourceError::BadField("action"));
    assert_eq!(err(&cli.replace(r#""user":"alice""#, r#""user":null"#)), SourceError::Missing("user"));
    assert_eq!(err(&cli.replace(r#""ip":"10.0.0.5""#, r#""ip":["10.0.0.5"]"#)), SourceError::BadField("ip"));
    assert_eq!(err(&cli[..40]), SourceError::JsonTruncated);
    assert_eq!(err("[1,2]"), SourceError::NotObject);
}

// --- Tiny links ------------------------------------------------------------------------------

#[test]
fn tiny_links() {
    // Codes from Python: base64(struct.pack('<Q', id)) with '/'->'-', '+'->'_', '=' and trailing 'A' stripped.
    for (id, code) in [
        (0u64, ""),
        (1, "AQ"),
        (65, "QQ"),
        (98_305, "AYAB"),
        (1_234_567, "h9YS"),
        (2_129_924, "BIAg"),
        (123_456_789, "Fc1bBw"),
        (4_294_967_295, "-----w"),
        (4_294_967_296, "AAAAAAE"),
        (u64::MAX, "----------8"),
    ] {
        assert_eq!(tiny_link_code(id), code, "{id}");
        assert_eq!(tiny_link_page_id(code), Some(id), "{code}");
    }
    for id in (0..2_000_000u64).step_by(997).chain([999_999_999, 1 << 40, u64::MAX - 1]) {
        assert_eq!(tiny_link_page_id(&tiny_link_code(id)), Some(id));
    }
    assert_eq!(tiny_link_page_id("h9YSAA"), Some(1_234_567), "trailing A's are padding");
    assert_eq!(tiny_link_page_id("h9/S"), None);
    assert_eq!(tiny_link_page_id("h9+S"), None);
    assert_eq!(tiny_link_page_id("h9YS="), None);
    assert_eq!(tiny_link_page_id("AAAAAAAAAAAA"), None, "more than 64 bits");
    assert_eq!(tiny_link_page_id("----------_"), None, "bits beyond 64");
    assert_eq!(tiny_link_page_id("é"), None);
}

// --- Detection and splitting -----------------------------------------------------------------

#[test]
fn detect_by_name_and_content() {
    use SourceFormat::*;
    let general = "2024-06-03 14:05:09,417 INFO [main] [confluence.setup.ConfluenceAppConfig] setHomeDirectory home";
    assert_eq!(
        detect("/var/atlassian/confluence/logs/atlassian-confluence.log", &[general, ALF_8X]),
        Some(AccessLogFilter)
    );
    assert_eq!(detect("atlassian-confluence.log.3", &[ALF_OLD]), Some(AccessLogFilter));
    assert_eq!(detect("atlassian-confluence-access.log.gz", &[ALF_OLD_ANON]), Some(AccessLogFilter));
    assert_eq!(detect("atlassian-confluence.log", &[general]), None);
    assert_eq!(detect("log/audit/20231003.00000.audit.log", &[]), Some(DcAudit));
    assert_eq!(detect("C:\\conf\\log\\audit\\20231003-00001.audit.log", &[DC_DOWNLOAD]), Some(DcAudit));
    // By content.
    assert_eq!(detect("export.txt", &["", ALF_8X]), Some(AccessLogFilter));
    assert_eq!(detect("a.json", &[DC_DOWNLOAD]), Some(DcAudit));
    let rest = r#"{"timestamp":"2021-11-23T00:44:36.398Z","author":{"id":"1"},"type":{"action":"x"}}"#;
    assert_eq!(detect("a.json", &[rest]), Some(DcAuditRest));
    assert_eq!(detect("a.json", &[r#"{"entities":[],"pagingInfo":{}}"#]), Some(DcAuditRest));
    assert_eq!(detect("audit.jsonl", &[&format!("\u{feff}{CLOUD_LOGO}")]), Some(CloudAudit));
    assert_eq!(detect("a.json", &[&format!(r#"{{"results":[{CLOUD_LOGO}]}}"#)]), Some(CloudAudit));
    assert_eq!(detect("events.json", &[ORG_VIEW]), Some(OrgAudit));
    assert_eq!(detect("events.json", &[&format!(r#"{{"data":[{ORG_VIEW}],"meta":{{}}}}"#)]), Some(OrgAudit));
    assert_eq!(detect("a.json", &[&format!("[{DC_DOWNLOAD}]")]), Some(DcAudit));
    let jl = r#"{"action":"view","bytes":0,"page_id":1,"ts":"2024-06-03T14:05:09Z","user":"-"}"#;
    assert_eq!(detect("events.jsonl", &[jl]), Some(Jsonl));
    // Pretty-printed exports: key sniffing.
    assert_eq!(detect("a.json", &["[", "  {", "    \"creationDate\" : 1643097111962,"]), Some(CloudAudit));
    assert_eq!(detect("a.json", &["{", "  \"data\" : [ {", "    \"type\" : \"events\","]), Some(OrgAudit));
    assert_eq!(
        detect(
            "a.json",
            &["[ {", "  \"timestamp\" : \"2021-11-23T00:44:36.398Z\",", "  \"type\" : { \"actionI18nKey\" : \"x\" }"]
        ),
        Some(DcAuditRest)
    );
    // Nothing known.
    assert_eq!(detect("conf_access_log.2024-06-03.log", &["[18/Dec/2020:12:57:26 +1100] testuser http-nio-8090-exec-6 0:0:0:0:0:0:0:1 GET /index.action HTTP/1.1 200 1020ms 7881 - -"]), None);
    assert_eq!(detect("x.json", &[r#"{"hello":"world"}"#]), None);
    assert_eq!(detect("empty", &[]), None);
}

#[test]
fn format_names() {
    for f in SourceFormat::ALL {
        assert_eq!(SourceFormat::from_name(f.name()), Some(f));
    }
    assert_eq!(SourceFormat::from_name("tomcat-a"), None);
    assert_eq!(SourceFormat::DcAuditRest.name(), "dc-audit-rest");
}

#[test]
fn splitting_exports() {
    let text = "\u{feff} [\n {\"a\":\"x]}\\\"[\"}, \n[1,{\"b\":[]}] ,\"s\", 12.5e3 ,null\n]\n";
    assert_eq!(
        split_json_array(text).unwrap(),
        vec!["{\"a\":\"x]}\\\"[\"}", "[1,{\"b\":[]}]", "\"s\"", "12.5e3", "null"]
    );
    assert_eq!(split_json_array("[]").unwrap(), Vec::<&str>::new());
    assert_eq!(split_json_array(""), Err(SourceError::Empty));
    assert_eq!(split_json_array("{\"a\":1}"), Err(SourceError::NotArray));
    assert_eq!(split_json_array("[{\"a\":1},"), Err(SourceError::JsonTruncated));
    assert_eq!(split_json_array("[{\"a\":\"1}]"), Err(SourceError::JsonTruncated));
    assert_eq!(split_json_array("[{\"a\":1]}]"), Err(SourceError::JsonSyntax));
    assert_eq!(split_json_array("[1,,2]"), Err(SourceError::JsonSyntax));
    assert_eq!(split_json_array("[1] x"), Err(SourceError::JsonSyntax));
    // Depth is bounded by memory, not the stack.
    let deep = format!("[{}{}]", "[".repeat(1_000_000), "]".repeat(1_000_000));
    assert_eq!(split_json_array(&deep).unwrap().len(), 1);
    assert_eq!(split_json_array(&"[".repeat(1_000_000)), Err(SourceError::JsonTruncated));
    // Each element then parses (or fails) on its own.
    let arr = format!("[{DC_DOWNLOAD},\n{DC_SPACE_IMPORT}]");
    let items = split_json_array(&arr).unwrap();
    let parsed: Vec<_> = items.iter().map(|l| parse_line(SourceFormat::DcAudit, l, &ParseOptions::default())).collect();
    assert!(matches!(&parsed[0], Ok(Some(e)) if e.action == Action::Download));
    assert!(matches!(&parsed[1], Ok(Some(e)) if e.action == Action::Admin));
    // A plain record is not a page; split_page hands it back alone.
    assert!(!is_page(DC_DOWNLOAD) && !is_page(ORG_VIEW) && !is_page("not json"));
    assert!(is_page("[]") && is_page(r#"{"meta":{},"data":[]}"#));
    assert!(!is_page(r#"{"data":"results"}"#));
    assert_eq!(split_page(DC_DOWNLOAD).unwrap(), vec![DC_DOWNLOAD]);
    assert_eq!(split_page(r#"{"data":[{"id":1}],"x":"#), Err(SourceError::JsonTruncated));
}

#[test]
fn errors_are_one_line_and_stable() {
    let all = [
        SourceError::Empty,
        SourceError::NeedTz,
        SourceError::UnknownTz("X".into()),
        SourceError::BadTimestamp,
        SourceError::Truncated("URL"),
        SourceError::JsonTruncated,
        SourceError::JsonSyntax,
        SourceError::JsonTooDeep,
        SourceError::NotObject,
        SourceError::NotArray,
        SourceError::Missing("timestamp"),
        SourceError::BadField("status"),
        SourceError::BadActionMap { line: 3, reason: "expected key=action".into() },
    ];
    for e in all {
        let s = e.to_string();
        assert!(!s.is_empty() && !s.contains('\n'), "{s}");
    }
    assert_eq!(SourceError::Missing("timestamp").to_string(), "missing field timestamp");
    assert_eq!(SourceError::JsonTruncated.to_string(), "truncated JSON");
}

#[test]
fn hostile_lines_never_panic() {
    let o = utc();
    let long = "x".repeat(1 << 20);
    let lines = [
        long.as_str(),
        "{",
        "[",
        "\"",
        "{\"\\",
        "\u{feff}",
        "2024-06-03 14:05:09,417 INFO [ [confluence.util.AccessLogFilter]",
        "2024-06-03 14:05:09,417 [confluence.util.AccessLogFilter] doFilter é GET https://é/é 1 2 é",
        "9999-12-31 23:59:59,999 INFO [t] [confluence.util.AccessLogFilter] doFilter a GET https://h/ 1 2 3",
        "0000-01-01 00:00:00,000 INFO [t] [confluence.util.AccessLogFilter] doFilter a GET https://h/ 1 2 3",
        r#"{"timestamp":{"epochSecond":-9223372036854775808,"nano":18446744073709551615}}"#,
        r#"{"creationDate":1.5,"summary":"Space exported"}"#,
        r#"{"type":"events","attributes":{"time":"2024-06-03T14:05:09Z","action":"page_viewed","context":[{"type":"page","id":"ari:::page/99999999999999999999999"}]}}"#,
    ];
    for l in lines {
        for f in SourceFormat::ALL {
            let _ = parse_line(f, l, &o);
        }
        let _ = detect("atlassian-confluence.log", &[l]);
        let _ = (split_json_array(l), split_page(l), split_org_page(l), is_page(l));
    }
}

// --- Administration records (confluence-logs.md §3: the shape of Elastic's DC audit samples) -----

#[test]
fn dc_audit_administration_records_are_events_with_their_objects() {
    let o = ParseOptions::default();
    let grant = r#"{"affectedObjects":[{"id":"confluence-administrators","name":"confluence-administrators","type":"Group"}],"auditType":{"action":"Global permission added","actionI18nKey":"audit.logging.summary.global.permission.added","area":"PERMISSIONS","category":"Permissions","categoryI18nKey":"audit.logging.category.permissions","level":"BASE"},"author":{"id":"2c9580827d4a06e8017d4a07c3e10000","name":"Mallory Example","type":"user"},"changedValues":[{"i18nKey":"Group","key":"Group","to":"confluence-administrators"},{"i18nKey":"Type","key":"Type","to":"SYSTEMADMINISTRATOR"}],"extraAttributes":[],"method":"Browser","source":"81.2.69.143","system":"http://confluence.internal:8090","timestamp":{"epochSecond":1637624601,"nano":688000000},"version":"1.0"}"#;
    let e = one(SourceFormat::DcAudit, grant, &o);
    assert_eq!(e.action, Action::Admin);
    assert_eq!(e.actor, Actor::UserKey("2c9580827d4a06e8017d4a07c3e10000".into()));
    assert_eq!((e.extra("category"), e.extra("area")), (Some("Permissions"), Some("PERMISSIONS")));
    assert_eq!(e.extra("object.group"), Some("confluence-administrators"));
    assert_eq!(e.extra("object.group_id"), None, "an id equal to the name is not repeated");
    assert_eq!(
        (e.extra("changed.Group"), e.extra("changed.Type")),
        (Some("confluence-administrators"), Some("SYSTEMADMINISTRATOR"))
    );

    // Two objects of one kind keep both, under distinct keys.
    let member = r#"{"affectedObjects":[{"id":"confluence-administrators","name":"confluence-administrators","type":"Group"},{"id":"2c9580827d4a06e8017d4a07c3e10000","name":"admin","type":"User"},{"id":"g2","name":"jira-admins","type":"Group"}],"auditType":{"action":"User added to group","actionI18nKey":"audit.logging.summary.group.membership.added","area":"USER_MANAGEMENT","category":"Users and groups","categoryI18nKey":"audit.logging.category.user.management","level":"BASE"},"author":{"id":"2c9580827d4a06e8017d4a07c3e10000","name":"Mallory Example","type":"user"},"changedValues":[{"i18nKey":"Email","key":"Email","from":"old@example.com","to":"new@example.com"}],"extraAttributes":[],"method":"Browser","source":"81.2.69.143","system":"http://confluence.internal:8090","timestamp":{"epochSecond":1637624602,"nano":147000000},"version":"1.0"}"#;
    let e = one(SourceFormat::DcAudit, member, &o);
    assert_eq!(e.action, Action::Admin);
    assert_eq!(
        (e.extra("object.group"), e.extra("object.group.2")),
        (Some("confluence-administrators"), Some("jira-admins"))
    );
    assert_eq!(
        (e.extra("object.user"), e.extra("object.user_id")),
        (Some("admin"), Some("2c9580827d4a06e8017d4a07c3e10000"))
    );
    assert_eq!(e.extra("changed.Email"), Some("old@example.com -> new@example.com"));
    let keys: Vec<&str> = e.extra.iter().map(|(k, _)| k.as_str()).collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(keys.len(), unique.len(), "extra keys are unique: {keys:?}");

    // An app enabled by the anonymous author at set-up, and a login.
    let app = grant
        .replace(
            r#"{"id":"confluence-administrators","name":"confluence-administrators","type":"Group"}"#,
            r#"{"name":"Synchrony Interop Bootstrap Plugin","type":"App"}"#,
        )
        .replace("audit.logging.summary.global.permission.added", "audit.logging.summary.plugin.enabled");
    let e = one(SourceFormat::DcAudit, &app, &o);
    assert_eq!((e.action, e.extra("object.app")), (Action::Admin, Some("Synchrony Interop Bootstrap Plugin")));
    let login = grant
        .replace("audit.logging.summary.global.permission.added", "audit.logging.summary.login.success")
        .replace("Global permission added", "Login successful");
    assert_eq!(one(SourceFormat::DcAudit, &login, &o).action, Action::Auth);
}

#[test]
fn cloud_audit_administration_records_keep_objects_and_changes() {
    let o = ParseOptions::default();
    let line = cloud("Space permission added", r#"{"name":"confluence-users","objectType":"Group"},{"name":"Anna Mueller","objectType":"User"}"#)
        .replace(r#""changedValues":[]"#, r#""changedValues":[{"name":"Permission","oldValue":"","newValue":"VIEWSPACE","hiddenOldValue":"","hiddenNewValue":""}]"#)
        .replace(r#""category":"Spaces""#, r#""category":"Permissions""#);
    let e = one(SourceFormat::CloudAudit, &line, &o);
    assert_eq!(e.action, Action::Admin);
    assert_eq!((e.extra("object.group"), e.extra("object.user")), (Some("confluence-users"), Some("Anna Mueller")));
    assert_eq!((e.extra("changed.Permission"), e.extra("category")), (Some("VIEWSPACE"), Some("Permissions")));
}
