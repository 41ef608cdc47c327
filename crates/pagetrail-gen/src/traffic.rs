//! One server-local day of traffic: who is active, their sessions, views and the noise around them.
//!
//! Lines are first collected as compact [`Rec`]s stamped with the local second of day, then
//! converted to seconds since the day's UTC start and ordered by time; rendering happens later.
//! Planted incidents (the `plant` child module) reuse the same machinery on their own streams.

mod plant;

pub(crate) use plant::plant;

use crate::rng::Rng;
use crate::site::{Addr, Model, Role};
use crate::tables::{
    ADMIN, API_EXPANDS, BROWSER_UAS, CONTEXT_BATCH, CQL, DOWNLOAD_BATCH, DOWNLOAD_RESOURCES, IMAGES, MISSING_TITLES,
    MOBILE_UAS, QUICK_TERMS, SEARCH_TERMS, STATIC_S, SVC_UAS, SYNCHRONY, THUMBS,
};
use crate::time;
use crate::GenConfig;

/// The shape of a request target; `Req::a`/`Req::b` carry its parameters (page, space, index…).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    None,
    // Page views.
    ViewId,
    ViewTitle,
    Display,
    SpacesPage,
    SpacesPageBare,
    SpaceHome,
    ViewInfo,
    PrevVersions,
    DiffPages,
    DiffVersions,
    ViewSource,
    ViewMissing,
    DisplayMissing,
    // REST API.
    ApiContent,
    ApiPut,
    ApiChild,
    ApiList,
    ApiListAll,
    ApiSpaces,
    ApiSpaceKey,
    ApiSearch,
    ApiContentSearch,
    // Downloads and exports.
    Attachment,
    DownloadAll,
    PdfExport,
    WordExport,
    SpaceExportWelcome,
    DoExportSpace,
    FlyingPdfSpace,
    ExportDownload,
    // Search, auth, admin, other.
    DoSearch,
    QuickNav,
    LoginPage,
    DoLogin,
    Logout,
    Admin,
    Index,
    Dashboard,
    EditPage,
    Heartbeat,
    Malformed,
    // Noise.
    StaticS,
    DownloadBatch,
    ContextBatch,
    DownloadResources,
    Thumbnail,
    Images,
    Favicon,
    Wrm,
    Analytics,
    MyWork,
    QuickReload,
    Synchrony,
    Troubleshooting,
    // Planted incidents only (never in `ALL`, so normal output is unchanged).
    SecretSearch,
    SecretCql,
}

impl Form {
    /// Every request shape, for the first day's coverage pass.
    const ALL: &'static [Form] = &[
        Form::ViewId,
        Form::ViewTitle,
        Form::Display,
        Form::SpacesPage,
        Form::SpacesPageBare,
        Form::SpaceHome,
        Form::ViewInfo,
        Form::PrevVersions,
        Form::DiffPages,
        Form::DiffVersions,
        Form::ViewSource,
        Form::ViewMissing,
        Form::DisplayMissing,
        Form::ApiContent,
        Form::ApiPut,
        Form::ApiChild,
        Form::ApiList,
        Form::ApiListAll,
        Form::ApiSpaces,
        Form::ApiSpaceKey,
        Form::ApiSearch,
        Form::ApiContentSearch,
        Form::Attachment,
        Form::DownloadAll,
        Form::PdfExport,
        Form::WordExport,
        Form::SpaceExportWelcome,
        Form::DoExportSpace,
        Form::FlyingPdfSpace,
        Form::ExportDownload,
        Form::DoSearch,
        Form::QuickNav,
        Form::LoginPage,
        Form::DoLogin,
        Form::Logout,
        Form::Admin,
        Form::Index,
        Form::Dashboard,
        Form::EditPage,
        Form::Heartbeat,
        Form::Malformed,
        Form::StaticS,
        Form::DownloadBatch,
        Form::ContextBatch,
        Form::DownloadResources,
        Form::Thumbnail,
        Form::Images,
        Form::Favicon,
        Form::Wrm,
        Form::Analytics,
        Form::MyWork,
        Form::QuickReload,
        Form::Synchrony,
        Form::Troubleshooting,
    ];

    /// Paths for which Confluence does not set the username header.
    fn hides_user(self) -> bool {
        matches!(
            self,
            Form::StaticS
                | Form::DownloadBatch
                | Form::ContextBatch
                | Form::DownloadResources
                | Form::DoLogin
                | Form::LoginPage
                | Form::Malformed
        )
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Req {
    pub form: Form,
    pub a: u32,
    pub b: u32,
}

impl Req {
    pub(crate) const NONE: Req = Req { form: Form::None, a: 0, b: 0 };

    #[inline]
    fn new(form: Form, a: u32, b: u32) -> Req {
        Req { form, a, b }
    }
}

/// One log line before rendering.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rec {
    /// Local second of day while generating; seconds since the day's UTC start afterwards.
    pub t: u32,
    pub actor: u32,
    pub req: Req,
    /// `Form::None` renders as `-`.
    pub refr: Req,
    pub dur: u32,
    /// 0 renders as `-`.
    pub bytes: u32,
    pub status: u16,
    pub thread: u8,
    pub flags: u8,
}

/// The username header is set on this line.
pub(crate) const SHOW_USER: u8 = 1;
/// Use the actor's second source (other IP or device) of the day.
pub(crate) const ALT_SRC: u8 = 2;
/// Use the actor's entry in `Day::extra` (a planted incident's own client).
pub(crate) const EXTRA_SRC: u8 = 4;

/// How one client of one actor appears on a given day.
pub(crate) struct Src {
    /// `%h` of variants A and C.
    pub host: String,
    /// Variant B's X-Forwarded-For.
    pub xff: String,
    /// Variant B's `%h` (the proxy, or the client when it came in directly).
    pub host_b: String,
    pub ua: &'static str,
}

pub(crate) struct Day {
    pub start_utc: i64,
    pub off_before: i32,
    pub off_after: i32,
    /// Seconds after `start_utc` at which the offset changes; `u32::MAX` when it does not.
    pub switch_t: u32,
    /// In time order.
    pub recs: Vec<Rec>,
    /// Two per actor: `srcs[2 * actor + alt]`.
    pub srcs: Vec<Src>,
    /// Extra clients of planted incidents, by actor; empty in normal traffic.
    pub extra: Vec<(u32, Src)>,
}

/// Where a server-local day sits in UTC.
pub(crate) struct Clock {
    /// Local midnight, seconds since the epoch as if local were UTC.
    pub lmid: i64,
    pub start_utc: i64,
    /// Length of the day in seconds (23 h, 24 h or 25 h).
    pub len: u32,
    pub off_before: i32,
    pub off_after: i32,
    pub switch_t: u32,
    pub weekday: bool,
}

pub(crate) fn clock(cfg: &GenConfig, d: u32) -> Clock {
    let days = time::days_from_civil(cfg.start.0, cfg.start.1, cfg.start.2) + d as i64;
    let lmid = days * 86_400;
    let start_utc = time::local_to_utc(lmid);
    let end_utc = time::local_to_utc(lmid + 86_400);
    let off_before = time::offset_at(start_utc);
    let off_after = time::offset_at(end_utc - 1);
    let switch_t = if off_before != off_after {
        let (y, _, _) = time::civil_from_days(days);
        let (a, b) = time::dst_bounds(y);
        let sw = if a > start_utc && a < end_utc { a } else { b };
        (sw - start_utc) as u32
    } else {
        u32::MAX
    };
    Clock {
        lmid,
        start_utc,
        len: (end_utc - start_utc) as u32,
        off_before,
        off_after,
        switch_t,
        weekday: time::weekday(days) < 5,
    }
}

impl Clock {
    /// Turns local seconds of day into seconds since the day's UTC start (they differ on switch days).
    pub(crate) fn to_utc(&self, recs: &mut [Rec]) {
        if self.switch_t != u32::MAX {
            for r in recs {
                let u = time::local_to_utc(self.lmid + r.t as i64);
                r.t = (u - self.start_utc).clamp(0, self.len as i64 - 1) as u32;
            }
        }
    }
}

const WEEKDAY_HOURS: [u32; 24] = [2, 1, 1, 1, 1, 2, 6, 25, 70, 95, 100, 90, 55, 75, 95, 90, 70, 35, 15, 10, 8, 6, 4, 3];
const WEEKEND_HOURS: [u32; 24] = [3, 2, 1, 1, 1, 1, 2, 4, 8, 14, 20, 22, 20, 20, 20, 18, 16, 14, 12, 12, 10, 8, 6, 4];

/// Anonymous actors (the last one sends the malformed requests).
pub(crate) fn anon_count(m: &Model) -> u32 {
    (m.site.users.len() as u32 / 100).max(3)
}

pub(crate) fn build_day(cfg: &GenConfig, m: &Model, d: u32) -> Day {
    let ck = clock(cfg, d);
    let len = ck.len;

    let n_users = m.site.users.len() as u32;
    let n_anon = anon_count(m);
    let expect = (n_users as f64 * cfg.reads_per_user_day.max(0.0) * 5.5) as usize + 4096;
    let mut g = Gen {
        cfg,
        m,
        rng: Rng::new(cfg.seed, 0x1000 + d as u64),
        recs: Vec::with_capacity(expect),
        weekday: ck.weekday,
        n_users,
        n_anon,
    };
    let srcs = g.sources();
    for u in 0..m.svc {
        g.user_day(u);
    }
    g.svc_day();
    g.anon_day();
    if g.rng.chance(0.2) {
        g.space_export();
    }
    if d == 0 {
        g.coverage();
    }
    if g.rng.chance(0.3) {
        let s = g.rng.below(86_400);
        g.malformed(s);
    }

    let mut recs = g.recs;
    ck.to_utc(&mut recs);
    // Counting sort on the second: stable, linear, and leaves the records in output order so
    // rendering walks them sequentially.
    let mut starts = vec![0u32; len as usize + 1];
    for r in &recs {
        starts[r.t as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut sorted = recs.clone();
    for r in &recs {
        let slot = &mut starts[r.t as usize];
        sorted[*slot as usize] = *r;
        *slot += 1;
    }
    drop(recs);
    Day {
        start_utc: ck.start_utc,
        off_before: ck.off_before,
        off_after: ck.off_after,
        switch_t: ck.switch_t,
        recs: sorted,
        srcs,
        extra: Vec::new(),
    }
}

#[derive(Clone, Copy)]
struct Who {
    actor: u32,
    flags: u8,
}

impl Who {
    fn named(self) -> bool {
        self.flags & SHOW_USER != 0
    }
    fn hidden(self) -> u8 {
        self.flags & !SHOW_USER
    }
}

struct Gen<'a> {
    cfg: &'a GenConfig,
    m: &'a Model,
    rng: Rng,
    recs: Vec<Rec>,
    weekday: bool,
    n_users: u32,
    n_anon: u32,
}

impl<'a> Gen<'a> {
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn push(&mut self, s: u32, actor: u32, flags: u8, req: Req, refr: Req, status: u16, dur: u32, bytes: u32) {
        if s >= 86_400 {
            return;
        }
        // Tomcat reuses low-numbered executor threads; a busy moment reaches higher ones.
        let x = self.rng.next_u64();
        let thread = if x & 63 == 0 { 26 + ((x >> 8) % 175) } else { 1 + ((x >> 8) % 25) } as u8;
        self.recs.push(Rec { t: s, actor, req, refr, dur, bytes, status, thread, flags });
    }

    fn sample_start(&mut self) -> u32 {
        let table = if self.weekday { &WEEKDAY_HOURS } else { &WEEKEND_HOURS };
        let total: u32 = table.iter().sum();
        let mut x = self.rng.below(total);
        let mut h = 0;
        while x >= table[h] {
            x -= table[h];
            h += 1;
        }
        h as u32 * 3600 + self.rng.below(3600)
    }

    fn sources(&mut self) -> Vec<Src> {
        let m = self.m;
        let mut out = Vec::with_capacity(2 * (self.n_users + self.n_anon) as usize);
        for um in &m.users {
            // The integration host never roams.
            let vpn = self.rng.chance(0.2) && um.role != Role::Service;
            let ip0 = self.ip(um.addr, vpn);
            if um.role == Role::Service {
                // A script on an internal host talks to Tomcat directly: no proxy, no XFF.
                let ua = if self.rng.chance(0.8) { SVC_UAS[0] } else { SVC_UAS[1] };
                for _ in 0..2 {
                    out.push(Src { host: ip0.clone(), xff: "-".into(), host_b: ip0.clone(), ua });
                }
                continue;
            }
            let ua0 = BROWSER_UAS[um.ua as usize];
            let host0 = match (&um.hostname, vpn) {
                (Some(h), false) => h.clone(),
                _ => ip0.clone(),
            };
            out.push(src(host0, &ip0, um.chain, ua0));
            // Second source: the other network, or the phone.
            if self.rng.chance(0.5) {
                let ip1 = self.ip(um.addr, !vpn);
                out.push(src(ip1.clone(), &ip1, um.chain, ua0));
            } else {
                out.push(src(ip0.clone(), &ip0, um.chain, MOBILE_UAS[um.mobile_ua as usize]));
            }
        }
        for _ in 0..self.n_anon {
            let ip = if self.rng.chance(0.5) {
                format!("203.0.113.{}", self.rng.range(2, 254))
            } else {
                format!("198.51.100.{}", self.rng.range(2, 254))
            };
            let ua = *self.rng.pick(&BROWSER_UAS[..9]);
            out.push(src(ip.clone(), &ip, false, ua));
            out.push(src(ip.clone(), &ip, false, ua));
        }
        out
    }

    fn ip(&mut self, addr: Addr, vpn: bool) -> String {
        match addr {
            Addr::Loopback => "0:0:0:0:0:0:0:1".into(),
            Addr::V6(x) => format!("2001:db8:0:0:0:0:0:{x:x}"),
            Addr::V4(o) if !vpn => format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]),
            Addr::V4(_) => format!("10.200.{}.{}", self.rng.below(256), self.rng.range(2, 254)),
        }
    }

    fn user_day(&mut self, u: u32) {
        let m = self.m;
        let um = &m.users[u as usize];
        let p = if self.weekday { um.p_work } else { um.p_weekend };
        if !self.rng.chance(p) {
            return;
        }
        let mean = self.cfg.reads_per_user_day * um.mult * if self.weekday { 1.0 } else { 0.35 };
        let n = self.rng.poisson(mean).max(1);
        let alt_after = if self.rng.chance(0.06) { Some(self.rng.range(11 * 3600, 16 * 3600)) } else { None };
        let k = (1 + n / self.rng.range(4, 9)).min(n);
        let mut starts: Vec<u32> = (0..k).map(|_| self.sample_start()).collect();
        starts.sort_unstable();
        let mut left = n;
        let mut end = 0;
        for (i, &s0) in starts.iter().enumerate() {
            let rem = k - i as u32;
            let v = if rem == 1 {
                left
            } else {
                let base = left / rem;
                (base + self.rng.below(base / 2 + 1)).min(left - (rem - 1)).max(1)
            };
            left -= v;
            let alt = alt_after.is_some_and(|a| s0 >= a);
            let who = Who { actor: u, flags: SHOW_USER | if alt { ALT_SRC } else { 0 } };
            end = self.session(who, s0, v, i == 0);
        }
        if um.role == Role::Admin {
            self.admin_work(u);
        }
        if self.rng.chance(0.08) {
            let s = end + self.rng.range(30, 600);
            let dur = self.rng.range(5, 60);
            self.push(s, u, SHOW_USER, Req::new(Form::Logout, 0, 0), Req::new(Form::Index, 0, 0), 302, dur, 0);
        }
    }

    /// One browsing session of `n` page views; returns the local second it ended.
    fn session(&mut self, who: Who, s0: u32, n: u32, first: bool) -> u32 {
        let m = self.m;
        let mut s = s0;
        let mut prev = Req::NONE;
        let mut fresh = true;
        if first && self.rng.chance(0.3) {
            s = self.login(who, s);
            prev = Req::new(Form::Index, 0, 0);
            fresh = false;
        } else if self.rng.chance(0.35) {
            let f = if self.rng.chance(0.7) { Form::Index } else { Form::Dashboard };
            let q = Req::new(f, 0, 0);
            let (dur, bytes) = (self.rng.range(80, 700), self.rng.range(40_000, 90_000));
            self.push(s, who.actor, who.flags, q, Req::NONE, 200, dur, bytes);
            self.noise(s, who, q, None, true, true);
            fresh = false;
            prev = q;
            s += self.rng.range(5, 40);
        }
        for _ in 0..n {
            let r = self.rng.below(100);
            if r < 7 {
                let q = Req::new(Form::DoSearch, 0, self.rng.below(SEARCH_TERMS.len() as u32));
                let (dur, bytes) = (self.rng.range(150, 1500), self.rng.range(30_000, 90_000));
                self.push(s, who.actor, who.flags, q, prev, 200, dur, bytes);
                self.noise(s, who, q, None, fresh, true);
                fresh = false;
                prev = q;
                s += self.rng.range(4, 30);
            } else if r < 12 {
                let t = self.rng.below(QUICK_TERMS.len() as u32);
                let max = QUICK_TERMS[t as usize].len() as u32;
                let upto = (2 + self.rng.below(3)).min(max);
                for p in 2..=upto {
                    let (dur, bytes) = (self.rng.range(20, 200), self.rng.range(400, 3000));
                    self.push(s, who.actor, who.flags, Req::new(Form::QuickNav, p, t), prev, 200, dur, bytes);
                    s += 1;
                }
                s += self.rng.range(1, 5);
            } else if r < 15 {
                let um = &m.users[who.actor as usize];
                let sp = if self.rng.chance(0.6) { um.home } else { *self.rng.pick(&um.others) };
                let q = Req::new(Form::SpaceHome, sp, 0);
                let (dur, bytes) = (self.rng.range(100, 900), self.rng.range(30_000, 120_000));
                self.push(s, who.actor, who.flags, q, prev, 200, dur, bytes);
                self.noise(s, who, q, None, fresh, true);
                fresh = false;
                prev = q;
                s += self.rng.range(5, 60);
            }
            let page = self.pick_page(who.actor);
            let form = self.pick_form(page);
            let view = self.view(s, who, page, form, prev, fresh);
            fresh = false;
            self.follow_ups(&mut s, who, page, view);
            prev = view;
            s += 15 + self.rng.exp(110.0).min(1800.0) as u32;
            if s >= 86_400 {
                break;
            }
        }
        s
    }

    fn login(&mut self, who: Who, mut s: u32) -> u32 {
        let anon = Who { actor: who.actor, flags: who.hidden() };
        let dest = self.rng.below(2);
        let page = self.pick_page(who.actor);
        let lp = Req::new(Form::LoginPage, page, dest);
        let (dur, bytes) = (self.rng.range(30, 200), self.rng.range(12_000, 16_000));
        self.push(s, who.actor, anon.flags, lp, Req::NONE, 200, dur, bytes);
        self.noise(s, anon, lp, None, true, true);
        s += self.rng.range(5, 25);
        let dur = self.rng.range(100, 600);
        self.push(s, who.actor, anon.flags, Req::new(Form::DoLogin, 0, 0), lp, 302, dur, 0);
        s += 1;
        let q = Req::new(Form::Index, 0, 0);
        let (dur, bytes) = (self.rng.range(80, 700), self.rng.range(40_000, 90_000));
        self.push(s, who.actor, who.flags, q, lp, 200, dur, bytes);
        self.noise(s, who, q, None, true, true);
        s + self.rng.range(3, 20)
    }

    fn pick_page(&mut self, u: u32) -> u32 {
        let m = self.m;
        let um = &m.users[u as usize];
        let r = self.rng.below(100);
        let sp = if r < 70 {
            um.home
        } else if r < 95 {
            *self.rng.pick(&um.others)
        } else {
            m.random_space(&mut self.rng)
        };
        let pages = &m.space_pages[sp as usize];
        if pages.is_empty() {
            return 0;
        }
        pages[self.rng.zipf(pages.len() as u32) as usize]
    }

    fn pick_form(&mut self, page: u32) -> Form {
        let m = self.m;
        if m.page_blog[page as usize] != 0 {
            return if self.rng.chance(0.6) { Form::Display } else { Form::ViewId };
        }
        let f = match self.rng.below(100) {
            0..=39 => Form::ViewId,
            40..=67 => Form::Display,
            68..=87 => Form::SpacesPage,
            88..=91 => Form::SpacesPageBare,
            92..=96 => Form::ViewTitle,
            _ => Form::ViewId,
        };
        // Confluence links titles with URL-hostile characters by id; typed or old links still show up.
        if m.page_special[page as usize] && matches!(f, Form::Display | Form::SpacesPage) && self.rng.chance(0.8) {
            Form::ViewId
        } else {
            f
        }
    }

    /// A page view with its noise; returns the request (the referer of what follows).
    fn view(&mut self, s: u32, who: Who, page: u32, form: Form, refr: Req, fresh: bool) -> Req {
        let m = self.m;
        let roll = self.rng.below(1000);
        let size = m.page_size[page as usize];
        let b = match form {
            Form::DiffVersions | Form::DiffPages => self.rng.range(1, 12),
            _ => 0,
        };
        let (req, status, bytes) = if roll < 20 {
            (Req::new(form, page, b), 403, self.rng.range(9_000, 11_000))
        } else if roll < 30 {
            let q = if form == Form::Display {
                Req::new(Form::DisplayMissing, m.page_space[page as usize], self.rng.below(MISSING_TITLES.len() as u32))
            } else {
                Req::new(Form::ViewMissing, 0, 990_000_000 + self.rng.below(9_999_999))
            };
            (q, 404, self.rng.range(8_500, 9_500))
        } else if roll < 42 {
            (Req::new(form, page, b), 304, 0)
        } else {
            (Req::new(form, page, b), 200, size - size / 50 + self.rng.below(size / 25 + 1))
        };
        let slow = if self.rng.chance(0.02) { self.rng.range(1000, 6000) } else { 0 };
        let dur = if status == 200 { 40 + size / 1500 + self.rng.below(250) + slow } else { self.rng.range(15, 120) };
        self.push(s, who.actor, who.flags, req, refr, status, dur, bytes);
        let known = if status == 200 || status == 304 { Some(page) } else { None };
        self.noise(s, who, req, known, fresh, status < 400);
        req
    }

    /// Static, batch and polling requests a browser makes after loading `page_req`.
    fn noise(&mut self, s: u32, who: Who, page_req: Req, page: Option<u32>, fresh: bool, ok: bool) {
        let a = who.actor;
        let uf = who.flags;
        let sf = who.hidden();
        for _ in 0..1 + self.rng.below(2) {
            let i = self.rng.below(STATIC_S.len() as u32);
            let (st, by) = if fresh || self.rng.chance(0.25) { (200, STATIC_S[i as usize].1) } else { (304, 0) };
            let (ds, dur) = (self.rng.below(2), self.rng.range(1, 15));
            self.push(s + ds, a, sf, Req::new(Form::StaticS, 0, i), page_req, st, dur, by);
        }
        if self.rng.chance(0.55) {
            let (f, n) = if self.rng.chance(0.5) {
                (Form::ContextBatch, CONTEXT_BATCH.len())
            } else {
                (Form::DownloadBatch, DOWNLOAD_BATCH.len())
            };
            let i = self.rng.below(n as u32);
            let (st, by) = if fresh || self.rng.chance(0.3) { (200, self.rng.range(2_000, 150_000)) } else { (304, 0) };
            let (ds, dur) = (self.rng.below(2), self.rng.range(1, 20));
            self.push(s + ds, a, sf, Req::new(f, 0, i), page_req, st, dur, by);
        }
        if !ok {
            return;
        }
        if who.named() {
            if self.rng.chance(0.8) {
                let (ds, dur, by) = (self.rng.range(1, 2), self.rng.range(8, 90), self.rng.range(300, 6000));
                self.push(s + ds, a, uf, Req::new(Form::Wrm, 0, 0), page_req, 200, dur, by);
            }
            if self.rng.chance(0.5) {
                let (ds, dur) = (self.rng.range(2, 6), self.rng.range(2, 25));
                self.push(s + ds, a, uf, Req::new(Form::Analytics, 0, 0), page_req, 200, dur, 0);
            }
            if self.rng.chance(0.35) {
                let (ds, dur, by) = (self.rng.range(1, 3), self.rng.range(3, 30), self.rng.range(17, 40));
                self.push(s + ds, a, uf, Req::new(Form::MyWork, 0, 0), page_req, 200, dur, by);
            }
            if let Some(p) = page {
                for (p_poll, lo) in [(0.6, 30), (0.3, 60)] {
                    if self.rng.chance(p_poll) {
                        let d = self.rng.range(lo, lo + 8);
                        let (dur, by) = (self.rng.range(3, 20), self.rng.range(2, 160));
                        self.push(s + d, a, uf, Req::new(Form::QuickReload, p, d), page_req, 200, dur, by);
                    }
                }
            }
        }
        if self.rng.chance(0.25) {
            let ds = self.rng.range(1, 3);
            let dur = self.rng.range(1, 10);
            let files = page.map_or(0, |p| self.m.page_files[p as usize].0);
            match self.rng.below(4) {
                0 => {
                    let (i, by) = (self.rng.below(IMAGES.len() as u32), self.rng.range(300, 3000));
                    self.push(s + ds, a, uf, Req::new(Form::Images, 0, i), page_req, 200, dur, by);
                }
                1 => self.push(s + ds, a, uf, Req::new(Form::Favicon, 0, 0), page_req, 200, dur, 5_430),
                2 => {
                    let (i, by) = (self.rng.below(DOWNLOAD_RESOURCES.len() as u32), self.rng.range(500, 40_000));
                    self.push(s + ds, a, sf, Req::new(Form::DownloadResources, 0, i), page_req, 200, dur, by);
                }
                _ => {
                    if let (Some(p), true) = (page, files > 0) {
                        let i = self.rng.below(THUMBS.len() as u32);
                        let by = self.rng.range(3_000, 60_000);
                        self.push(s + ds, a, uf, Req::new(Form::Thumbnail, p, i), page_req, 200, dur, by);
                    }
                }
            }
        }
    }

    /// What a reader sometimes does after a view: download, export, history, edit.
    fn follow_ups(&mut self, s: &mut u32, who: Who, page: u32, view: Req) {
        let m = self.m;
        let (nf, _) = m.page_files[page as usize];
        let editor = who.named() && m.users[who.actor as usize].editor;
        let a = who.actor;
        let f = who.flags;
        match self.rng.below(1000) {
            0..=59 if nf > 0 => {
                *s += self.rng.range(3, 60);
                let k = self.rng.below(nf as u32);
                let (st, by) = if self.rng.chance(0.05) { (304, 0) } else { (200, attachment_size(m, page, k)) };
                let dur = 20 + by / 50_000 + self.rng.below(100);
                self.push(*s, a, f, Req::new(Form::Attachment, page, k), view, st, dur, by);
            }
            60..=67 => {
                let form = if self.rng.chance(0.6) { Form::PdfExport } else { Form::WordExport };
                *s += self.rng.range(5, 60);
                let (dur, by) = (self.rng.range(1_500, 20_000), self.rng.range(80_000, 4_000_000));
                self.push(*s, a, f, Req::new(form, page, 0), view, 200, dur, by);
                if form == Form::PdfExport && self.rng.chance(0.5) {
                    *s += dur / 1000 + 1;
                    let d2 = self.rng.range(10, 200);
                    self.push(*s, a, f, Req::new(Form::ExportDownload, page, *s), view, 200, d2, by);
                }
            }
            68..=69 if nf > 0 => {
                *s += self.rng.range(3, 30);
                let by: u32 = (0..nf as u32).map(|k| attachment_size(m, page, k) / 2).sum();
                let dur = self.rng.range(500, 8000);
                self.push(*s, a, f, Req::new(Form::DownloadAll, page, 0), view, 200, dur, by);
            }
            70..=94 => {
                *s += self.rng.range(5, 40);
                let h = Req::new(Form::PrevVersions, page, 0);
                let (dur, by) = (self.rng.range(80, 600), self.rng.range(20_000, 60_000));
                self.push(*s, a, f, h, view, 200, dur, by);
                self.noise(*s, who, h, None, false, true);
                if self.rng.chance(0.5) {
                    *s += self.rng.range(5, 40);
                    let form = if self.rng.chance(0.8) { Form::DiffVersions } else { Form::DiffPages };
                    let (v, dur, by) =
                        (self.rng.range(1, 12), self.rng.range(100, 900), self.rng.range(20_000, 150_000));
                    self.push(*s, a, f, Req::new(form, page, v), h, 200, dur, by);
                }
            }
            95..=104 => {
                *s += self.rng.range(5, 40);
                let (dur, by) = (self.rng.range(80, 500), self.rng.range(15_000, 40_000));
                self.push(*s, a, f, Req::new(Form::ViewInfo, page, 0), view, 200, dur, by);
            }
            105..=106 => {
                *s += self.rng.range(5, 40);
                let (dur, by) = (self.rng.range(50, 400), m.page_size[page as usize] / 3);
                self.push(*s, a, f, Req::new(Form::ViewSource, page, 0), view, 200, dur, by);
            }
            107..=139 if editor => self.edit(s, who, page, view),
            _ => {}
        }
    }

    fn edit(&mut self, s: &mut u32, who: Who, page: u32, view: Req) {
        let (a, f) = (who.actor, who.flags);
        *s += self.rng.range(5, 30);
        let e = Req::new(Form::EditPage, page, 0);
        let (dur, by) = (self.rng.range(200, 900), self.rng.range(60_000, 120_000));
        self.push(*s, a, f, e, view, 200, dur, by);
        self.noise(*s, who, e, None, false, true);
        for _ in 0..self.rng.range(1, 3) {
            *s += self.rng.range(1, 20);
            let (i, dur, by) =
                (self.rng.below(SYNCHRONY.len() as u32), self.rng.range(5, 60), self.rng.range(50, 2000));
            self.push(*s, a, f, Req::new(Form::Synchrony, 0, i), e, 200, dur, by);
        }
        let (dur, by) = (self.rng.range(5, 40), self.rng.range(20, 200));
        self.push(*s + 30, a, f, Req::new(Form::Heartbeat, 0, 0), e, 200, dur, by);
        *s += self.rng.range(60, 900);
        let (dur, by) = (self.rng.range(100, 600), self.rng.range(2_000, 15_000));
        self.push(*s, a, f, Req::new(Form::ApiPut, page, 0), e, 200, dur, by);
        *s += 1;
        self.view(*s, who, page, Form::ViewId, e, false);
    }

    fn admin_work(&mut self, u: u32) {
        let console = Req::new(Form::Admin, 0, 0);
        for _ in 0..self.rng.range(2, 8) {
            let s = self.sample_start();
            let i = self.rng.below(ADMIN.len() as u32);
            let target = self.rng.below(self.m.svc);
            let (dur, by) = (self.rng.range(100, 1500), self.rng.range(20_000, 120_000));
            self.push(s, u, SHOW_USER, Req::new(Form::Admin, target, i), console, 200, dur, by);
            if self.rng.chance(0.3) {
                let dur = self.rng.range(5, 80);
                self.push(s + 2, u, SHOW_USER, Req::new(Form::Troubleshooting, 0, 0), console, 200, dur, 412);
            }
        }
    }

    /// The integration account syncs every hour, day and night, weekends too.
    fn svc_day(&mut self) {
        let m = self.m;
        let u = m.svc;
        let per_run = (self.n_users / 20).max(6);
        for h in 0..24 {
            let mut s = h * 3600 + 240 + self.rng.below(180);
            if self.rng.chance(0.25) {
                let (dur, by) = (self.rng.range(30, 300), self.rng.range(3_000, 20_000));
                let q = if self.rng.chance(0.7) {
                    Req::new(Form::ApiSpaces, 0, 0)
                } else {
                    Req::new(Form::ApiSpaceKey, m.random_space(&mut self.rng), 0)
                };
                self.push(s, u, SHOW_USER, q, Req::NONE, 200, dur, by);
                s += 1;
            }
            let sp = m.random_space(&mut self.rng);
            let pages = &m.space_pages[sp as usize];
            if pages.is_empty() {
                continue;
            }
            let (dur, by) = (self.rng.range(80, 900), self.rng.range(20_000, 400_000));
            self.push(s, u, SHOW_USER, Req::new(Form::ApiList, sp, 0), Req::NONE, 200, dur, by);
            s += 1;
            let off = self.rng.below(pages.len() as u32) as usize;
            for i in 0..per_run {
                let p = pages[(off + i as usize) % pages.len()];
                let e = if self.rng.chance(0.85) { 0 } else { self.rng.below(API_EXPANDS.len() as u32) };
                // Pages deleted since the listing answer 404.
                let (st, by) = if self.rng.chance(0.02) {
                    (404, self.rng.range(150, 300))
                } else {
                    (200, m.page_size[p as usize] / 3 + self.rng.range(500, 3000))
                };
                let dur = self.rng.range(15, 400);
                self.push(s, u, SHOW_USER, Req::new(Form::ApiContent, p, e), Req::NONE, st, dur, by);
                if self.rng.chance(0.3) {
                    let (k, dur, by) = (self.rng.below(2), self.rng.range(10, 150), self.rng.range(200, 6000));
                    self.push(s, u, SHOW_USER, Req::new(Form::ApiChild, p, k), Req::NONE, 200, dur, by);
                }
                if i % 100 == 99 {
                    let (dur, by) = (self.rng.range(80, 900), self.rng.range(20_000, 400_000));
                    self.push(s, u, SHOW_USER, Req::new(Form::ApiList, sp, i + 1), Req::NONE, 200, dur, by);
                }
                s += self.rng.below(2);
            }
            if self.rng.chance(0.05) {
                let (dur, by) = (self.rng.range(80, 900), self.rng.range(20_000, 200_000));
                self.push(s, u, SHOW_USER, Req::new(Form::ApiListAll, 0, 0), Req::NONE, 200, dur, by);
            }
            if self.rng.chance(0.1) {
                let f = if self.rng.chance(0.5) { Form::ApiSearch } else { Form::ApiContentSearch };
                let (q, dur, by) =
                    (self.rng.below(CQL.len() as u32), self.rng.range(100, 2000), self.rng.range(1_000, 80_000));
                self.push(s, u, SHOW_USER, Req::new(f, 0, q), Req::NONE, 200, dur, by);
            }
        }
    }

    /// Anonymous readers of the first (public) spaces.
    fn anon_day(&mut self) {
        let m = self.m;
        let public = m.space_pages.len().min(3) as u32;
        for j in 0..self.n_anon - 1 {
            if !self.rng.chance(if self.weekday { 0.5 } else { 0.25 }) {
                continue;
            }
            let who = Who { actor: self.n_users + j, flags: 0 };
            let pages = &m.space_pages[(j % public) as usize];
            if pages.is_empty() {
                continue;
            }
            let mut s = self.sample_start();
            let mut prev = Req::NONE;
            for v in 0..self.rng.range(1, 6) {
                let page = pages[self.rng.zipf(pages.len() as u32) as usize];
                let form = self.pick_form(page);
                prev = self.view(s, who, page, form, prev, v == 0);
                s += 20 + self.rng.exp(90.0).min(1200.0) as u32;
            }
        }
    }

    /// Rare: someone exports a whole space (XML/HTML wizard, or PDF).
    fn space_export(&mut self) {
        let m = self.m;
        // Regular users are 2..svc; svc >= 3 because at least 4 accounts exist.
        let u = self.rng.range(2, m.svc - 1);
        let sp = m.users[u as usize].home;
        let who = Who { actor: u, flags: SHOW_USER };
        let mut s = self.sample_start();
        let home = Req::new(Form::SpaceHome, sp, 0);
        if self.rng.chance(0.7) {
            let w = Req::new(Form::SpaceExportWelcome, sp, 0);
            let (dur, by) = (self.rng.range(100, 600), self.rng.range(20_000, 40_000));
            self.push(s, u, who.flags, w, home, 200, dur, by);
            self.noise(s, who, w, None, false, true);
            s += self.rng.range(10, 60);
            let (dur, by) = (self.rng.range(2_000, 60_000), self.rng.range(5_000, 30_000));
            self.push(s, u, who.flags, Req::new(Form::DoExportSpace, sp, 0), w, 200, dur, by);
        } else {
            let (dur, by) = (self.rng.range(5_000, 90_000), self.rng.range(20_000, 40_000));
            self.push(s, u, who.flags, Req::new(Form::FlyingPdfSpace, sp, 0), home, 200, dur, by);
        }
    }

    fn malformed(&mut self, s: u32) {
        let scanner = self.n_users + self.n_anon - 1;
        let dur = self.rng.range(0, 3);
        self.push(s, scanner, 0, Req::new(Form::Malformed, 0, 0), Req::NONE, 400, dur, 435);
    }

    /// First day only: one line of every request shape, so short runs still exercise each.
    fn coverage(&mut self) {
        let m = self.m;
        let page = (0..m.site.pages.len() as u32).find(|&p| m.page_files[p as usize].0 > 0).unwrap_or(0);
        let sp = m.page_space[page as usize];
        let mut s = 10 * 3600;
        for &f in Form::ALL {
            let (actor, a, b, status) = match f {
                Form::SpaceHome
                | Form::ApiList
                | Form::ApiSpaceKey
                | Form::SpaceExportWelcome
                | Form::DoExportSpace
                | Form::FlyingPdfSpace => (2, sp, 0, 200),
                Form::DisplayMissing => (2, sp, 0, 404),
                Form::Display => (2, m.blog_page.unwrap_or(page), 0, 200),
                Form::ViewMissing => (2, 0, 990_000_123, 404),
                Form::DiffPages | Form::DiffVersions => (2, page, 3, 200),
                Form::QuickNav => (2, 3, 0, 200),
                Form::QuickReload => (2, page, 31, 200),
                Form::ExportDownload => (2, page, s, 200),
                Form::Admin => (1, 2, 6, 200),
                Form::Troubleshooting => (1, 0, 0, 200),
                Form::ApiContent
                | Form::ApiChild
                | Form::ApiListAll
                | Form::ApiSpaces
                | Form::ApiSearch
                | Form::ApiContentSearch => (m.svc, page, 0, 200),
                Form::DoLogin => (2, 0, 0, 302),
                Form::Logout => (2, 0, 0, 302),
                Form::Malformed => (self.n_users + self.n_anon - 1, 0, 0, 400),
                _ => (2, page, 0, 200),
            };
            let flags = if f.hides_user() { 0 } else { SHOW_USER };
            let bytes = match status {
                302 => 0,
                400 => 435,
                _ => 5_000 + self.rng.below(20_000),
            };
            let dur = self.rng.range(5, 300);
            self.push(s, actor, flags, Req::new(f, a, b), Req::NONE, status, dur, bytes);
            s += 45;
        }
        // Clients with IPv6 loopback, IPv6 and a hostname, and an anonymous reader.
        let view = Req::new(Form::ViewId, page, 0);
        for actor in [0, 3, 4] {
            self.view(s, Who { actor, flags: SHOW_USER }, page, Form::ViewId, Req::NONE, true);
            s += 60;
        }
        let anon = Who { actor: self.n_users, flags: 0 };
        self.view(s, anon, page, Form::ViewId, view, true);
    }
}

fn src(host: String, ip: &str, chain: bool, ua: &'static str) -> Src {
    let xff = if chain { format!("{ip}, 10.0.0.3") } else { ip.to_string() };
    Src { host, xff, host_b: "10.0.0.2".into(), ua }
}

/// Attachment size, fixed per (page, file): 30 KB to 30 MB, log-uniform.
fn attachment_size(m: &Model, page: u32, k: u32) -> u32 {
    let mut x = m.site.pages[page as usize].id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (k as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    let frac = (x % 10_000) as f64 / 10_000.0;
    (30_000.0 * 10f64.powf(3.0 * frac)) as u32
}
