//! Turns a day's records into log lines of variant A, B or C, copying precomputed bytes only.

use std::io::{self, Write};

use crate::site::Model;
use crate::tables::{
    ADMIN, API_EXPANDS, CONTEXT_BATCH, CQL, DOWNLOAD_BATCH, DOWNLOAD_RESOURCES, IMAGES, MISSING_TITLES, QUICK_TERMS,
    SEARCH_TERMS, SECRET_CQL, SECRET_TERMS, STATIC_S, SYNCHRONY, THUMBS,
};
use crate::time;
use crate::traffic::{Day, Form, Rec, Req, ALT_SRC, EXTRA_SRC, SHOW_USER};
use crate::{GenSummary, Variant};

const FLUSH_AT: usize = 1 << 20;
const THREAD: &[u8] = b"http-nio-8090-exec-";

pub(crate) struct Renderer<'a> {
    m: &'a Model,
    variant: Variant,
    ctx: Vec<u8>,
    /// Absolute referer prefix, context path included.
    base: Vec<u8>,
    ts_t: i64,
    ts: [u8; 28],
    buf: Vec<u8>,
}

/// A line to cut short: its index in the day and where, in per mille of its length.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tear {
    pub line: u32,
    pub permille: u32,
}

impl<'a> Renderer<'a> {
    pub(crate) fn new(m: &'a Model, variant: Variant, ctx: &str) -> Renderer<'a> {
        let ctx = ctx.trim_end_matches('/').as_bytes().to_vec();
        let mut base = b"https://wiki.example.com".to_vec();
        base.extend_from_slice(&ctx);
        Renderer { m, variant, ctx, base, ts_t: i64::MIN, ts: [0; 28], buf: Vec::with_capacity(FLUSH_AT + 4096) }
    }

    /// Writes every line of `day` in time order; `tears` must be sorted by line.
    pub(crate) fn write_day(
        &mut self,
        day: &Day,
        tears: &[Tear],
        out: &mut dyn Write,
        sum: &mut GenSummary,
    ) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut next_tear = tears.iter().peekable();
        for (i, rec) in day.recs.iter().enumerate() {
            let start = buf.len();
            let ua_at = self.line(day, rec, &mut buf);
            if let Some(t) = next_tear.peek() {
                if t.line as usize == i {
                    // Cut after the timestamp and before the user agent, so the line always lacks
                    // fields and a parser can tell it is torn (a cut inside the UA would not show).
                    let lo = start + 29;
                    let hi = ua_at.saturating_sub(2).max(lo + 1);
                    let cut = lo + (hi - lo) * t.permille as usize / 1000;
                    buf.truncate(cut.min(buf.len() - 1));
                    buf.push(b'\n');
                    sum.torn += 1;
                    next_tear.next();
                }
            }
            if buf.len() >= FLUSH_AT {
                out.write_all(&buf)?;
                sum.bytes += buf.len() as u64;
                buf.clear();
            }
        }
        out.write_all(&buf)?;
        sum.bytes += buf.len() as u64;
        sum.lines += day.recs.len() as u64;
        buf.clear();
        self.buf = buf;
        Ok(())
    }

    /// Renders one line; returns where its user agent starts in `buf`.
    fn line(&mut self, day: &Day, rec: &Rec, buf: &mut Vec<u8>) -> usize {
        let t_abs = day.start_utc + rec.t as i64;
        if t_abs != self.ts_t {
            let off = if rec.t >= day.switch_t { day.off_after } else { day.off_before };
            time::format_ts(t_abs, off, &mut self.ts);
            self.ts_t = t_abs;
        }
        let mut src = &day.srcs[(rec.actor as usize) * 2 + usize::from(rec.flags & ALT_SRC != 0)];
        if rec.flags & EXTRA_SRC != 0 {
            // Only planted lines carry the flag; a day has at most a handful of extra clients.
            if let Some((_, s)) = day.extra.iter().find(|(a, _)| *a == rec.actor) {
                src = s;
            }
        }
        let user: &[u8] = match self.m.site.users.get(rec.actor as usize) {
            Some(name) if rec.flags & SHOW_USER != 0 => name.as_bytes(),
            _ => b"-",
        };
        let malformed = rec.req.form == Form::Malformed;
        let ua: &[u8] = if malformed { b"-" } else { src.ua.as_bytes() };
        match self.variant {
            Variant::A | Variant::B => {
                buf.extend_from_slice(&self.ts);
                buf.push(b' ');
                if self.variant == Variant::B {
                    buf.extend_from_slice(if malformed { b"-" } else { src.xff.as_bytes() });
                    buf.push(b' ');
                }
                buf.extend_from_slice(user);
                buf.push(b' ');
                buf.extend_from_slice(THREAD);
                put_u64(buf, rec.thread as u64);
                buf.push(b' ');
                let host = if self.variant == Variant::B && !malformed { &src.host_b } else { &src.host };
                buf.extend_from_slice(host.as_bytes());
                buf.push(b' ');
                self.request(rec, t_abs, buf);
                buf.push(b' ');
                put_status(buf, rec.status);
                buf.push(b' ');
                put_u64(buf, rec.dur as u64);
                buf.extend_from_slice(b"ms ");
                put_bytes(buf, rec.bytes);
                buf.push(b' ');
                if rec.refr.form == Form::None {
                    buf.push(b'-');
                } else {
                    buf.extend_from_slice(&self.base);
                    self.path(rec.refr, t_abs, buf);
                }
                buf.push(b' ');
                let ua_at = buf.len();
                buf.extend_from_slice(ua);
                buf.push(b'\n');
                ua_at
            }
            Variant::C => {
                buf.extend_from_slice(src.host.as_bytes());
                buf.push(b' ');
                buf.extend_from_slice(user);
                buf.push(b' ');
                buf.extend_from_slice(&self.ts);
                buf.extend_from_slice(b" \"");
                let path = self.request(rec, t_abs, buf);
                buf.extend_from_slice(b"\" ");
                put_status(buf, rec.status);
                buf.push(b' ');
                put_bytes(buf, rec.bytes);
                buf.push(b' ');
                put_u64(buf, rec.dur as u64);
                buf.push(b' ');
                match path {
                    Some((a, b)) => buf.extend_from_within(a..b),
                    None => buf.push(b'-'),
                }
                buf.push(b' ');
                buf.extend_from_slice(THREAD);
                put_u64(buf, rec.thread as u64);
                buf.extend_from_slice(b" \"");
                let ua_at = buf.len();
                buf.extend_from_slice(ua);
                buf.extend_from_slice(b"\"\n");
                ua_at
            }
        }
    }

    /// `%r`: `METHOD URI HTTP/1.1`, or `-` for a malformed request. Returns the span of `%U`.
    fn request(&self, rec: &Rec, t_abs: i64, buf: &mut Vec<u8>) -> Option<(usize, usize)> {
        if rec.req.form == Form::Malformed {
            buf.push(b'-');
            return None;
        }
        buf.extend_from_slice(method(rec.req));
        buf.push(b' ');
        let start = buf.len();
        buf.extend_from_slice(&self.ctx);
        self.path(rec.req, t_abs, buf);
        let end = buf[start..].iter().position(|&c| c == b'?').map_or(buf.len(), |p| start + p);
        buf.extend_from_slice(b" HTTP/1.1");
        Some((start, end))
    }

    /// Path and query of a request, without the context path.
    fn path(&self, r: Req, t_abs: i64, buf: &mut Vec<u8>) {
        let m = self.m;
        let p = r.a as usize;
        let page_id = |buf: &mut Vec<u8>| put_u64(buf, m.site.pages[p].id);
        let page_key = || m.site.spaces[m.page_space[p] as usize].as_bytes();
        let space_key = || m.site.spaces[p].as_bytes();
        // Epoch milliseconds near the line's time, for cache busters and polling marks.
        let jitter = (r.a as u64).wrapping_mul(7919).wrapping_add(t_abs as u64 * 31) % 1000;
        let ms = |secs_back: i64| ((t_abs - secs_back) as u64) * 1000 + jitter;
        match r.form {
            Form::None | Form::Malformed => buf.push(b'-'),
            Form::ViewId | Form::ViewMissing => {
                buf.extend_from_slice(b"/pages/viewpage.action?pageId=");
                if r.form == Form::ViewId {
                    page_id(buf)
                } else {
                    put_u64(buf, r.b as u64)
                }
            }
            Form::ViewTitle => {
                buf.extend_from_slice(b"/pages/viewpage.action?spaceKey=");
                buf.extend_from_slice(page_key());
                buf.extend_from_slice(b"&title=");
                buf.extend_from_slice(m.page_enc[p].as_bytes());
            }
            Form::Display => {
                buf.extend_from_slice(b"/display/");
                buf.extend_from_slice(page_key());
                buf.push(b'/');
                let blog = m.page_blog[p];
                if blog != 0 {
                    let (y, mo, d) = time::civil_from_days(blog as i64);
                    put_u64(buf, y as u64);
                    buf.push(b'/');
                    put_2(buf, mo);
                    buf.push(b'/');
                    put_2(buf, d);
                    buf.push(b'/');
                }
                buf.extend_from_slice(m.page_enc[p].as_bytes());
            }
            Form::DisplayMissing => {
                buf.extend_from_slice(b"/display/");
                buf.extend_from_slice(space_key());
                buf.push(b'/');
                buf.extend_from_slice(MISSING_TITLES[r.b as usize % MISSING_TITLES.len()].as_bytes());
            }
            Form::SpacesPage | Form::SpacesPageBare => {
                buf.extend_from_slice(b"/spaces/");
                buf.extend_from_slice(page_key());
                buf.extend_from_slice(b"/pages/");
                page_id(buf);
                if r.form == Form::SpacesPage {
                    buf.push(b'/');
                    buf.extend_from_slice(m.page_enc[p].as_bytes());
                }
            }
            Form::SpaceHome => {
                buf.extend_from_slice(b"/display/");
                buf.extend_from_slice(space_key());
            }
            Form::ViewInfo => {
                buf.extend_from_slice(b"/pages/viewinfo.action?pageId=");
                page_id(buf);
            }
            Form::PrevVersions => {
                buf.extend_from_slice(b"/pages/viewpreviousversions.action?pageId=");
                page_id(buf);
            }
            Form::DiffPages => {
                buf.extend_from_slice(b"/pages/diffpages.action?pageId=");
                page_id(buf);
                buf.extend_from_slice(b"&originalId=");
                put_u64(buf, m.site.pages[p].id + r.b as u64 + 1);
            }
            Form::DiffVersions => {
                buf.extend_from_slice(b"/pages/diffpagesbyversion.action?pageId=");
                page_id(buf);
                buf.extend_from_slice(b"&selectedPageVersions=");
                put_u64(buf, r.b as u64);
                buf.extend_from_slice(b"&selectedPageVersions=");
                put_u64(buf, r.b as u64 + 1);
            }
            Form::ViewSource => {
                buf.extend_from_slice(b"/plugins/viewsource/viewpagesrc.action?pageId=");
                page_id(buf);
            }
            Form::ApiContent | Form::ApiPut => {
                buf.extend_from_slice(b"/rest/api/content/");
                page_id(buf);
                if r.form == Form::ApiContent {
                    buf.extend_from_slice(API_EXPANDS[r.b as usize % API_EXPANDS.len()].as_bytes());
                }
            }
            Form::ApiChild => {
                buf.extend_from_slice(b"/rest/api/content/");
                page_id(buf);
                buf.extend_from_slice(if r.b == 0 { b"/child/page?limit=25" } else { b"/child/attachment?limit=25" });
            }
            Form::ApiList => {
                buf.extend_from_slice(b"/rest/api/content?spaceKey=");
                buf.extend_from_slice(space_key());
                buf.extend_from_slice(b"&limit=100&start=");
                put_u64(buf, r.b as u64);
            }
            Form::ApiListAll => {
                buf.extend_from_slice(b"/rest/api/content?type=page&limit=25&start=");
                put_u64(buf, r.b as u64);
            }
            Form::ApiSpaces => {
                buf.extend_from_slice(b"/rest/api/space?limit=25&start=");
                put_u64(buf, r.b as u64);
            }
            Form::ApiSpaceKey => {
                buf.extend_from_slice(b"/rest/api/space/");
                buf.extend_from_slice(space_key());
                buf.extend_from_slice(b"?expand=homepage");
            }
            Form::ApiSearch | Form::ApiContentSearch => {
                buf.extend_from_slice(if r.form == Form::ApiSearch {
                    b"/rest/api/search?cql="
                } else {
                    b"/rest/api/content/search?cql="
                });
                let (enc, raw) = CQL[r.b as usize % CQL.len()];
                // Only the Docker image (variant C) sets relaxedQueryChars, which lets raw quotes through.
                let q = if self.variant == Variant::C && jitter & 1 == 0 { raw } else { enc };
                buf.extend_from_slice(q.as_bytes());
                buf.extend_from_slice(b"&limit=25");
            }
            Form::Attachment => {
                buf.extend_from_slice(b"/download/attachments/");
                page_id(buf);
                buf.push(b'/');
                let first = m.page_files[p].1 as usize;
                buf.extend_from_slice(m.files_enc[(first + r.b as usize) % m.files_enc.len()].as_bytes());
                buf.extend_from_slice(b"?version=");
                put_u64(buf, 1 + m.site.pages[p].id % 3);
                buf.extend_from_slice(b"&modificationDate=");
                put_u64(buf, m.page_mod_ms[p]);
                buf.extend_from_slice(b"&api=v2");
            }
            Form::Thumbnail => {
                buf.extend_from_slice(b"/download/thumbnails/");
                page_id(buf);
                buf.push(b'/');
                buf.extend_from_slice(THUMBS[r.b as usize % THUMBS.len()].as_bytes());
                buf.extend_from_slice(b"?version=1&modificationDate=");
                put_u64(buf, m.page_mod_ms[p]);
                buf.extend_from_slice(b"&api=v2");
            }
            Form::DownloadAll => {
                buf.extend_from_slice(b"/pages/downloadallattachments.action?pageId=");
                page_id(buf);
            }
            Form::PdfExport => {
                buf.extend_from_slice(b"/spaces/flyingpdf/pdfpageexport.action?pageId=");
                page_id(buf);
            }
            Form::WordExport => {
                buf.extend_from_slice(b"/exportword?pageId=");
                page_id(buf);
            }
            Form::SpaceExportWelcome | Form::DoExportSpace | Form::FlyingPdfSpace => {
                buf.extend_from_slice(match r.form {
                    Form::SpaceExportWelcome => b"/spaces/exportspacewelcome.action?key=".as_slice(),
                    Form::DoExportSpace => b"/spaces/doexportspace.action?key=",
                    _ => b"/spaces/flyingpdf/flyingpdf.action?key=",
                });
                buf.extend_from_slice(space_key());
            }
            Form::ExportDownload => {
                buf.extend_from_slice(b"/download/temp/pdfexport-");
                put_u64(buf, r.b as u64);
                buf.push(b'-');
                put_u64(buf, jitter);
                buf.push(b'/');
                buf.extend_from_slice(page_key());
                buf.push(b'-');
                page_id(buf);
                buf.extend_from_slice(b".pdf?contentType=application/pdf");
            }
            Form::DoSearch => {
                buf.extend_from_slice(b"/dosearchsite.action?queryString=");
                buf.extend_from_slice(SEARCH_TERMS[r.b as usize % SEARCH_TERMS.len()].as_bytes());
            }
            Form::SecretSearch => {
                buf.extend_from_slice(b"/dosearchsite.action?queryString=");
                buf.extend_from_slice(SECRET_TERMS[r.b as usize % SECRET_TERMS.len()].as_bytes());
            }
            Form::SecretCql => {
                buf.extend_from_slice(b"/rest/api/search?cql=");
                buf.extend_from_slice(SECRET_CQL[r.b as usize % SECRET_CQL.len()].as_bytes());
                buf.extend_from_slice(b"&limit=25");
            }
            Form::QuickNav => {
                buf.extend_from_slice(b"/rest/quicknav/1/search?query=");
                let term = QUICK_TERMS[r.b as usize % QUICK_TERMS.len()].as_bytes();
                buf.extend_from_slice(&term[..(r.a as usize).clamp(1, term.len())]);
                buf.extend_from_slice(b"&_=");
                put_u64(buf, ms(40));
            }
            Form::LoginPage => {
                buf.extend_from_slice(b"/login.action");
                if r.b == 1 {
                    buf.extend_from_slice(b"?os_destination=%2Fpages%2Fviewpage.action%3FpageId%3D");
                    page_id(buf);
                    buf.extend_from_slice(b"&permissionViolation=true");
                }
            }
            Form::DoLogin => buf.extend_from_slice(b"/dologin.action"),
            Form::Logout => buf.extend_from_slice(b"/logout.action"),
            Form::Admin => {
                let path = ADMIN[r.b as usize % ADMIN.len()];
                buf.extend_from_slice(path.as_bytes());
                if path.ends_with('=') {
                    let u = m.site.users.get(p).map_or("admin", |s| s.as_str());
                    buf.extend_from_slice(u.as_bytes());
                }
            }
            Form::Index => buf.extend_from_slice(b"/index.action"),
            Form::Dashboard => buf.extend_from_slice(b"/dashboard.action"),
            Form::EditPage => {
                buf.extend_from_slice(b"/pages/editpage.action?pageId=");
                page_id(buf);
            }
            Form::Heartbeat => buf.extend_from_slice(b"/json/startheartbeatactivity.action"),
            Form::StaticS => buf.extend_from_slice(STATIC_S[r.b as usize % STATIC_S.len()].0.as_bytes()),
            Form::DownloadBatch => {
                buf.extend_from_slice(DOWNLOAD_BATCH[r.b as usize % DOWNLOAD_BATCH.len()].as_bytes())
            }
            Form::ContextBatch => buf.extend_from_slice(CONTEXT_BATCH[r.b as usize % CONTEXT_BATCH.len()].as_bytes()),
            Form::DownloadResources => {
                buf.extend_from_slice(DOWNLOAD_RESOURCES[r.b as usize % DOWNLOAD_RESOURCES.len()].as_bytes())
            }
            Form::Images => buf.extend_from_slice(IMAGES[r.b as usize % IMAGES.len()].as_bytes()),
            Form::Favicon => buf.extend_from_slice(b"/favicon.ico"),
            Form::Wrm => buf.extend_from_slice(b"/rest/wrm/2.0/resources"),
            Form::Analytics => buf.extend_from_slice(b"/rest/analytics/1.0/publish/bulk"),
            Form::MyWork => {
                buf.extend_from_slice(b"/rest/mywork/latest/status/notification/count?_=");
                put_u64(buf, ms(2));
            }
            Form::QuickReload => {
                buf.extend_from_slice(b"/rest/quickreload/latest/");
                page_id(buf);
                buf.extend_from_slice(b"?since=");
                put_u64(buf, ms(30));
                buf.extend_from_slice(b"&_=");
                put_u64(buf, ms(r.b as i64) - 350);
            }
            Form::Synchrony => buf.extend_from_slice(SYNCHRONY[r.b as usize % SYNCHRONY.len()].1.as_bytes()),
            Form::Troubleshooting => buf.extend_from_slice(b"/rest/troubleshooting/1.0/check/"),
        }
    }
}

fn method(r: Req) -> &'static [u8] {
    match r.form {
        Form::Wrm | Form::Analytics | Form::DoLogin | Form::DoExportSpace | Form::Heartbeat => b"POST",
        Form::Synchrony => SYNCHRONY[r.b as usize % SYNCHRONY.len()].0.as_bytes(),
        Form::ApiPut => b"PUT",
        _ => b"GET",
    }
}

#[inline]
fn put_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

#[inline]
fn put_2(buf: &mut Vec<u8>, v: u32) {
    buf.push(b'0' + (v / 10 % 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

#[inline]
fn put_status(buf: &mut Vec<u8>, s: u16) {
    buf.push(b'0' + (s / 100 % 10) as u8);
    put_2(buf, s as u32 % 100);
}

#[inline]
fn put_bytes(buf: &mut Vec<u8>, b: u32) {
    if b == 0 {
        buf.push(b'-');
    } else {
        put_u64(buf, b as u64);
    }
}
