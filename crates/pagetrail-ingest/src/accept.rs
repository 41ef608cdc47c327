//! Turning one line into an event of the batch: parse, classify, intern its strings, note what
//! its URL says about its page, and count it. Access-log lines and the other sources' records
//! meet in one [`Ingester::accept`], so a new column is added in one place.

use pagetrail_core::event::fold_user;
use pagetrail_core::sources::{self, ParseOptions, SourceEvent, SourceFormat};
use pagetrail_core::time::day_of;
use pagetrail_core::{classify, is_read, parse_line, Action, ContextPath, PageRef};
use pagetrail_store::audit::AuditDownload;
use pagetrail_store::dict::{page_ref_bytes, Interner};
use pagetrail_store::{rejects, Batch, EventRow};

use crate::writer::{Ingester, ReadFact};
use crate::Format;

/// One accepted event, as its source gave it, before its strings become dictionary ids.
struct EventParts<'a> {
    ts_ms: i64,
    user: &'a str,
    action: Action,
    status: u16,
    bytes: u64,
    duration_ms: u32,
    space: Option<&'a str>,
    page: Option<PageRef>,
    /// The space key and title the source gives a page it names by id: a link to record.
    titled: Option<(&'a str, &'a str)>,
    path: &'a str,
    query: &'a str,
    method: &'a str,
    referer: &'a str,
    ip: &'a str,
    user_agent: &'a str,
    extra: &'a [(String, String)],
    read: bool,
    /// An audit record's download: kept beside the indexes, which readers add unless the access
    /// log holds the same download (`pagetrail-query::audit`).
    audit_download: bool,
}

impl Ingester<'_> {
    pub(crate) fn reject(&mut self, file: u32, line: u64, reason: &str, raw: &[u8]) {
        rejects::put(&mut self.batch, file, line, reason, raw);
        self.totals.rejected += 1;
        self.summary.rejected += 1;
        self.pending_rejects += 1;
    }

    fn noise(&mut self) {
        self.totals.noise += 1;
        self.summary.noise += 1;
    }

    /// One line of a source read a line at a time: an event, noise, or a reject.
    pub(crate) fn line(
        &mut self,
        raw: &[u8],
        file: u32,
        line: u64,
        format: Format,
        ctx: &ContextPath,
        popts: &ParseOptions,
    ) {
        self.pending_lines += 1;
        self.totals.lines += 1;
        self.summary.lines += 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(text) = std::str::from_utf8(raw) else {
            return self.reject(file, line, "not valid UTF-8", raw);
        };
        let variant = match format {
            Format::Tomcat(v) => v,
            Format::Source(f) => {
                return match sources::parse_line(f, text, popts) {
                    Ok(Some(ev)) => self.accept_source(&ev, f, file, line),
                    // Lines of the file that are not access events (other log lines, skipped audit kinds).
                    Ok(None) => self.noise(),
                    Err(e) => self.reject(file, line, &e.to_string(), raw),
                };
            }
        };
        let rec = match parse_line(variant, text) {
            Ok(r) => r,
            Err(e) => return self.reject(file, line, &e.to_string(), raw),
        };
        let cls = classify(ctx, rec.method, rec.path, rec.query);
        if cls.action == Action::Noise {
            return self.noise();
        }
        let parts = EventParts {
            ts_ms: rec.ts_ms,
            user: rec.user,
            action: cls.action,
            status: rec.status,
            bytes: rec.bytes,
            duration_ms: rec.duration_ms,
            space: cls.space.as_deref(),
            page: cls.page_ref(),
            titled: cls.link().map(|(_, space, title)| (space, title)),
            path: rec.path,
            query: rec.query,
            method: rec.method,
            referer: rec.referer,
            ip: rec.ip,
            user_agent: &rec.user_agent,
            extra: &[],
            read: is_read(cls.action, rec.status, true),
            audit_download: false,
        };
        self.accept(parts, file, line);
    }

    /// Stores one event of a non-Tomcat source of format `f`, the same way as an access-log line.
    pub(crate) fn accept_source(&mut self, ev: &SourceEvent, f: SourceFormat, file: u32, line: u64) {
        let audit = matches!(
            f,
            SourceFormat::DcAudit | SourceFormat::DcAuditRest | SourceFormat::CloudAudit | SourceFormat::OrgAudit
        );
        let parts = EventParts {
            ts_ms: ev.ts_ms,
            // Until a user directory maps them, keys and account ids stand as given (contract §5a).
            user: ev.actor.as_str(),
            action: ev.action,
            status: ev.status,
            bytes: ev.bytes,
            duration_ms: ev.duration_ms,
            space: ev.space.as_deref(),
            page: ev.page_ref(),
            titled: ev.page_id.and(ev.space.as_deref().zip(ev.title.as_deref())),
            path: &ev.path,
            query: &ev.query,
            method: &ev.method,
            referer: &ev.referer,
            ip: &ev.ip,
            user_agent: &ev.user_agent,
            extra: &ev.extra,
            read: ev.is_read(),
            audit_download: audit && ev.action == Action::Download,
        };
        self.accept(parts, file, line);
    }

    fn accept(&mut self, e: EventParts<'_>, file: u32, line: u64) {
        let d = &mut self.dicts;
        let b = &mut self.batch;
        let ts = e.ts_ms;
        let user = d.users.intern(fold_user(e.user).as_bytes(), b);
        let space = e.space.map(|s| d.spaces.intern(s.as_bytes(), b));
        let page = e.page.as_ref().map(|r| d.pages.intern(&page_ref_bytes(r), b));
        if let Some(p) = page {
            self.model.ensure(p);
            if let Some(s) = space {
                self.model.note_url_space(p, s, ts);
            }
        }
        if let (Some((sk, title)), Some(target), Some(s)) = (e.titled, page, space) {
            let titled = PageRef::Titled { space: sk.to_owned(), title: title.to_owned() };
            let t = d.pages.intern(&page_ref_bytes(&titled), b);
            self.model.note_url_space(t, s, ts);
            self.model.note_link(t, target, ts);
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(e.path.as_bytes());
        self.scratch.push(0);
        self.scratch.extend_from_slice(e.query.as_bytes());
        let extra = if e.extra.is_empty() {
            0
        } else {
            let mut obj = String::from("{");
            for (i, (k, v)) in e.extra.iter().enumerate() {
                if i > 0 {
                    obj.push(',');
                }
                obj.push_str(&json_string(k));
                obj.push(':');
                obj.push_str(&json_string(v));
            }
            obj.push('}');
            d.extras.intern_deferred(obj.as_bytes())
        };
        let row = EventRow {
            ts_ms: ts,
            action: e.action,
            status: e.status,
            bytes: e.bytes,
            duration_ms: e.duration_ms,
            page: page.unwrap_or(0),
            method: intern_opt(&mut d.methods, e.method, b),
            // Numbered at commit, in the order the events are stored (`groups_in_order`).
            request: d.requests.intern_deferred(&self.scratch),
            referer: if e.referer.is_empty() { 0 } else { d.referers.intern_deferred(e.referer.as_bytes()) },
            addr: intern_opt(&mut d.addrs, e.ip, b),
            agent: intern_opt(&mut d.agents, e.user_agent, b),
            file,
            line,
            extra,
        };
        self.groups.entry((user, day_of(ts))).or_default().push(row);
        self.totals.events += 1;
        self.summary.events += 1;
        self.totals.first_ms = self.totals.first_ms.min(ts);
        self.totals.last_ms = self.totals.last_ms.max(ts);
        if let Some(p) = page.filter(|_| e.read) {
            self.summary.reads += 1;
            if e.audit_download {
                let d = AuditDownload { ts_ms: ts, file, line, user, page: p, bytes: e.bytes };
                pagetrail_store::audit::put(&mut self.batch, &d);
            } else {
                self.reads.push(ReadFact { user, page: p, ts_ms: ts, bytes: e.bytes });
                self.totals.reads += 1;
            }
        }
    }
}

fn intern_opt(d: &mut Interner, s: &str, b: &mut Batch<'_>) -> u32 {
    if s.is_empty() {
        0
    } else {
        d.intern(s.as_bytes(), b)
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}
