//! Lines of planted incidents, drawn with the normal-traffic machinery on streams of their own.
//!
//! Each (incident, day) has its own random stream, so planting never shifts a normal line; times
//! are server-local seconds of day here and converted to the day's UTC seconds at the end.

use super::{anon_count, src, Clock, Form, Gen, Rec, Req, Src, Who, EXTRA_SRC, SHOW_USER};
use crate::incident::{Kind, Plan};
use crate::rng::Rng;
use crate::site::Model;
use crate::tables::{MISSING_TITLES, SECRET_TOPICS, SVC_UAS};
use crate::GenConfig;

/// `/admin/` pages an admin looks at while browsing (indexes into `ADMIN`).
const ADMIN_USERS: u32 = 2;
const ADMIN_GLOBAL_PERMS: u32 = 3;
const ADMIN_SPACE_PERMS: u32 = 5;
const ADMIN_VIEW_USER: u32 = 6;

/// The lines one incident plants on day `d` (seconds since the day's UTC start, time order), and
/// the extra client they use, if any.
pub(crate) fn plant(cfg: &GenConfig, m: &Model, p: &Plan, d: u32, ck: &Clock) -> (Vec<Rec>, Option<(u32, Src)>) {
    let mut g = Gen {
        cfg,
        m,
        rng: Rng::new(cfg.seed, 0x6100_0000 + ((p.kind as u64) << 20) + d as u64),
        recs: Vec::with_capacity(1024),
        weekday: ck.weekday,
        n_users: m.site.users.len() as u32,
        n_anon: anon_count(m),
    };
    let who = Who { actor: p.user, flags: SHOW_USER };
    let mut extra = None;
    match p.kind {
        Kind::NightScrape => {
            g.night_scrape(Who { actor: p.user, flags: SHOW_USER | EXTRA_SRC });
            extra = Some((p.user, src(p.ip.clone(), &p.ip, false, SVC_UAS[0])));
        }
        Kind::SlowInsider => {
            let i = p.days.iter().position(|&x| x == d).unwrap_or(0);
            g.slow_insider(who, p, i as u32);
        }
        Kind::AdminBrowse => g.admin_browse(who, p),
        Kind::ExportBurst => g.export_burst(who),
        Kind::SecretSearch => g.secret_search(who),
        Kind::DeniedProbing => g.denied_probing(who),
        Kind::DormantWakeup => g.dormant_wakeup(who),
    }
    let mut recs = g.recs;
    ck.to_utc(&mut recs);
    recs.sort_by_key(|r| r.t);
    (recs, extra)
}

impl Gen<'_> {
    /// A successful browser page view with its noise; returns the request.
    fn ok_view(&mut self, s: u32, who: Who, page: u32, refr: Req, fresh: bool) -> Req {
        let form = self.pick_form(page);
        let size = self.m.page_size[page as usize];
        let req = Req::new(form, page, 0);
        let bytes = size - size / 50 + self.rng.below(size / 25 + 1);
        let dur = 40 + size / 1500 + self.rng.below(250);
        self.push(s, who.actor, who.flags, req, refr, 200, dur, bytes);
        self.noise(s, who, req, Some(page), fresh, true);
        req
    }

    /// Up to `q` distinct pages of `pages`, popular ones first (Zipf), topped up in order.
    fn distinct(&mut self, pages: &[u32], q: usize) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::with_capacity(q);
        if pages.is_empty() {
            return out;
        }
        for _ in 0..4 * q {
            if out.len() >= q {
                break;
            }
            let p = pages[self.rng.zipf(pages.len() as u32) as usize];
            if !out.contains(&p) {
                out.push(p);
            }
        }
        for &p in pages {
            if out.len() >= q {
                break;
            }
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// A REST call of a sequential script: the next one starts when this one has answered.
    fn api(&mut self, ms: &mut u64, who: Who, req: Req, status: u16, dur: u32, bytes: u32) {
        self.push((*ms / 1000) as u32, who.actor, who.flags, req, Req::NONE, status, dur, bytes);
        *ms += dur as u64 + self.rng.range(15, 120) as u64;
    }

    /// confluence-dumper style: enumerate spaces, touch every home page, then page through each
    /// space's listing and fetch every page body and its children, from 01:00 until done or 03:55.
    fn night_scrape(&mut self, who: Who) {
        let m = self.m;
        let n_sp = m.space_pages.len() as u32;
        let stop: u64 = (3 * 3600 + 55 * 60) * 1000;
        let mut ms = (3600 + self.rng.below(900)) as u64 * 1000 + self.rng.below(1000) as u64;
        for start in (0..n_sp).step_by(25) {
            let (dur, by) = (self.rng.range(30, 300), self.rng.range(3_000, 20_000));
            self.api(&mut ms, who, Req::new(Form::ApiSpaces, 0, start), 200, dur, by);
        }
        for sp in 0..n_sp {
            let (dur, by) = (self.rng.range(20, 200), self.rng.range(1_500, 4_000));
            self.api(&mut ms, who, Req::new(Form::ApiSpaceKey, sp, 0), 200, dur, by);
            if let Some(&home) = m.space_pages[sp as usize].first() {
                let (dur, by) = (self.rng.range(15, 400), m.page_size[home as usize] / 3 + self.rng.range(500, 3000));
                self.api(&mut ms, who, Req::new(Form::ApiContent, home, 0), 200, dur, by);
            }
        }
        'spaces: for sp in 0..n_sp {
            let pages = &m.space_pages[sp as usize];
            for (c, chunk) in pages.chunks(100).enumerate() {
                if ms >= stop {
                    break 'spaces;
                }
                let (dur, by) = (self.rng.range(80, 900), self.rng.range(20_000, 400_000));
                let list = Req::new(Form::ApiList, sp, c as u32 * 100);
                self.api(&mut ms, who, list, 200, dur, by);
                for &p in chunk {
                    if ms >= stop {
                        break 'spaces;
                    }
                    // Pages deleted since the listing answer 404, as for the integration account.
                    let (st, by) = if self.rng.chance(0.01) {
                        (404, self.rng.range(150, 300))
                    } else {
                        (200, m.page_size[p as usize] / 3 + self.rng.range(500, 3000))
                    };
                    let dur = self.rng.range(15, 400);
                    self.api(&mut ms, who, Req::new(Form::ApiContent, p, 0), st, dur, by);
                    let (dur, by) = (self.rng.range(10, 150), self.rng.range(200, 6000));
                    self.api(&mut ms, who, Req::new(Form::ApiChild, p, 0), 200, dur, by);
                }
            }
        }
    }

    /// Working day `i` of two weeks: `p.per_day` extra pages in a few office-hours sessions, one
    /// target space per session, sweeping forward through each space from day to day.
    fn slow_insider(&mut self, who: Who, p: &Plan, i: u32) {
        let m = self.m;
        if p.spaces.is_empty() {
            return;
        }
        let n_t = p.spaces.len() as u32;
        let n = p.per_day + self.rng.below(p.per_day / 10 + 1);
        // The first day opens at least three sessions so every new space is touched at once.
        let k = n.div_ceil(14).max(if i == 0 { n_t.min(4) } else { 2 }).max(1);
        let (open, close) = (8 * 3600 + 30 * 60, 17 * 3600);
        let slot = (close - open) / k;
        let per_space = n / n_t + 1;
        let mut today: Vec<u32> = Vec::with_capacity(n as usize);
        let mut left = n;
        for j in 0..k {
            let cnt = left / (k - j);
            left -= cnt;
            let sp = p.spaces[((i + j) % n_t) as usize];
            let pages = &m.space_pages[sp as usize];
            if pages.is_empty() {
                continue;
            }
            // A fixed shuffle per space, so successive days continue where the last stopped.
            let mut order: Vec<u32> = pages.clone();
            let mut r = Rng::new(self.cfg.seed, 0x6200_0000 + sp as u64);
            for x in (1..order.len()).rev() {
                order.swap(x, r.below(x as u32 + 1) as usize);
            }
            let mut at = (i * per_space + (j / n_t) * cnt) as usize;
            let mut s = open + j * slot + self.rng.below(slot / 3 + 1);
            let mut prev = Req::NONE;
            let mut fresh = true;
            if self.rng.chance(0.6) {
                let q = Req::new(Form::SpaceHome, sp, 0);
                let (dur, by) = (self.rng.range(100, 900), self.rng.range(30_000, 120_000));
                self.push(s, who.actor, who.flags, q, Req::NONE, 200, dur, by);
                self.noise(s, who, q, None, true, true);
                prev = q;
                fresh = false;
                s += self.rng.range(5, 40);
            }
            let mut got = 0;
            let mut tries = 0;
            while got < cnt && tries < order.len() {
                let page = order[at % order.len()];
                at += 1;
                tries += 1;
                if today.contains(&page) {
                    continue;
                }
                today.push(page);
                prev = self.ok_view(s, who, page, prev, fresh);
                fresh = false;
                got += 1;
                s += 20 + self.rng.exp(70.0).min(400.0) as u32;
            }
        }
    }

    /// An afternoon of opening a few pages in each of many spaces, with some `/admin/` pages.
    fn admin_browse(&mut self, who: Who, p: &Plan) {
        let m = self.m;
        let mut s = 13 * 3600 + 30 * 60 + self.rng.below(3600);
        let console = Req::new(Form::Admin, 0, 0);
        let admin = |g: &mut Self, s: u32, b: u32| {
            let target = g.rng.range(2, m.svc.max(3) - 1);
            let (dur, by) = (g.rng.range(100, 1500), g.rng.range(20_000, 120_000));
            g.push(s, who.actor, who.flags, Req::new(Form::Admin, target, b), console, 200, dur, by);
        };
        admin(self, s, ADMIN_USERS);
        s += self.rng.range(20, 90);
        admin(self, s, ADMIN_SPACE_PERMS);
        s += self.rng.range(20, 90);
        let half = p.spaces.len() / 2;
        for (x, (&sp, &q)) in p.spaces.iter().zip(&p.quota).enumerate() {
            if x == half {
                admin(self, s, ADMIN_GLOBAL_PERMS);
                s += self.rng.range(10, 40);
            }
            let home = Req::new(Form::SpaceHome, sp, 0);
            let (dur, by) = (self.rng.range(100, 900), self.rng.range(30_000, 120_000));
            self.push(s, who.actor, who.flags, home, Req::NONE, 200, dur, by);
            self.noise(s, who, home, None, x == 0, true);
            s += self.rng.range(3, 10);
            let mut prev = home;
            for page in self.distinct(&m.space_pages[sp as usize], q as usize) {
                prev = self.ok_view(s, who, page, prev, false);
                s += self.rng.range(8, 22);
            }
        }
        admin(self, s, ADMIN_VIEW_USER);
    }

    /// Twenty-odd pages viewed and exported to PDF or Word within the hour, then the home space.
    fn export_burst(&mut self, who: Who) {
        let m = self.m;
        let um = &m.users[who.actor as usize];
        let mut s = (10 + self.rng.below(5)) * 3600 + self.rng.below(3600);
        let n = self.rng.range(22, 27) as usize;
        let mut pages = self.distinct(&m.space_pages[um.home as usize], n * 6 / 10);
        for &o in &um.others {
            let more = self.distinct(&m.space_pages[o as usize], n);
            for q in more {
                if pages.len() < n && !pages.contains(&q) {
                    pages.push(q);
                }
            }
        }
        if pages.len() < n {
            let all: Vec<u32> = (0..m.site.pages.len() as u32).collect();
            for q in self.distinct(&all, n) {
                if pages.len() < n && !pages.contains(&q) {
                    pages.push(q);
                }
            }
        }
        let mut prev = Req::NONE;
        for (x, &page) in pages.iter().enumerate() {
            let view = self.ok_view(s, who, page, prev, x == 0);
            s += self.rng.range(5, 25);
            let form = if self.rng.chance(0.65) { Form::PdfExport } else { Form::WordExport };
            let (dur, by) = (self.rng.range(1_500, 20_000), self.rng.range(80_000, 4_000_000));
            self.push(s, who.actor, who.flags, Req::new(form, page, 0), view, 200, dur, by);
            s += dur / 1000 + 1;
            if form == Form::PdfExport {
                let d2 = self.rng.range(10, 200);
                let dl = Req::new(Form::ExportDownload, page, s);
                self.push(s, who.actor, who.flags, dl, view, 200, d2, by);
            }
            prev = view;
            s += self.rng.range(10, 40);
        }
        let home = Req::new(Form::SpaceHome, um.home, 0);
        let (dur, by) = (self.rng.range(100, 900), self.rng.range(30_000, 120_000));
        self.push(s, who.actor, who.flags, home, prev, 200, dur, by);
        self.noise(s, who, home, None, false, true);
        s += self.rng.range(5, 20);
        let w = Req::new(Form::SpaceExportWelcome, um.home, 0);
        let (dur, by) = (self.rng.range(100, 600), self.rng.range(20_000, 40_000));
        self.push(s, who.actor, who.flags, w, home, 200, dur, by);
        self.noise(s, who, w, None, false, true);
        s += self.rng.range(10, 60);
        let (dur, by) = (self.rng.range(2_000, 60_000), self.rng.range(5_000, 30_000));
        let go = Req::new(Form::DoExportSpace, um.home, 0);
        self.push(s, who.actor, who.flags, go, w, 200, dur, by);
    }

    /// Credential searches in quick succession, then pages about access and secrets.
    fn secret_search(&mut self, who: Who) {
        let m = self.m;
        let mut s = (11 + self.rng.below(5)) * 3600 + self.rng.below(3600);
        // (CQL API?, index into SECRET_TERMS or SECRET_CQL)
        const HUNT: [(bool, u32); 7] =
            [(false, 0), (true, 0), (false, 1), (false, 2), (true, 2), (false, 3), (false, 4)];
        let mut last = Req::NONE;
        let mut prev = Req::NONE;
        for (x, &(cql, i)) in HUNT.iter().enumerate() {
            let (dur, by) = (self.rng.range(150, 1500), self.rng.range(3_000, 90_000));
            if cql {
                let q = Req::new(Form::SecretCql, 0, i);
                self.push(s, who.actor, who.flags, q, Req::NONE, 200, dur, by);
            } else {
                let q = Req::new(Form::SecretSearch, 0, i);
                self.push(s, who.actor, who.flags, q, prev, 200, dur, by);
                self.noise(s, who, q, None, x == 0, true);
                prev = q;
                last = q;
            }
            s += self.rng.range(15, 50);
        }
        let mut hits: Vec<u32> = m
            .site
            .pages
            .iter()
            .enumerate()
            .filter(|(_, pg)| SECRET_TOPICS.iter().any(|t| pg.title.contains(t)))
            .map(|(i, _)| i as u32)
            .collect();
        for i in (1..hits.len()).rev() {
            hits.swap(i, self.rng.below(i as u32 + 1) as usize);
        }
        let n = self.rng.range(16, 20) as usize;
        hits.truncate(n);
        if hits.len() < n {
            let all: Vec<u32> = (0..m.site.pages.len() as u32).collect();
            for q in self.distinct(&all, n) {
                if hits.len() < n && !hits.contains(&q) {
                    hits.push(q);
                }
            }
        }
        // Each opened from the result list, so the last site search is the referer.
        for page in hits {
            self.ok_view(s, who, page, last, false);
            s += self.rng.range(40, 95);
        }
    }

    /// Guessing page ids and titles outside one's spaces: 403s and 404s within minutes.
    fn denied_probing(&mut self, who: Who) {
        let m = self.m;
        let um = &m.users[who.actor as usize];
        let mine = |sp: u32| sp == um.home || um.others.contains(&sp);
        let foreign: Vec<u32> =
            (0..m.space_pages.len() as u32).filter(|&sp| !mine(sp) && !m.space_pages[sp as usize].is_empty()).collect();
        let spaces: Vec<u32> = if foreign.is_empty() {
            (0..m.space_pages.len() as u32).filter(|&sp| !m.space_pages[sp as usize].is_empty()).collect()
        } else {
            foreign
        };
        if spaces.is_empty() {
            return;
        }
        let mut s = (9 + self.rng.below(7)) * 3600 + self.rng.below(3600);
        let n = self.rng.range(34, 40);
        for _ in 0..n {
            let sp = *self.rng.pick(&spaces);
            let pages = &m.space_pages[sp as usize];
            let page = pages[self.rng.below(pages.len() as u32) as usize];
            let (req, status) = match self.rng.below(100) {
                0..=39 => (Req::new(Form::ViewId, page, 0), 403),
                40..=69 => {
                    // An id next to a real one that is not a page: the enumeration misses.
                    let base = m.site.pages[page as usize].id;
                    let mut id = base + 1 + self.rng.below(5000) as u64;
                    while m.site.pages.binary_search_by_key(&id, |p| p.id).is_ok() {
                        id += 1;
                    }
                    (Req::new(Form::ViewMissing, 0, id.min(u32::MAX as u64) as u32), 404)
                }
                70..=84 => (Req::new(Form::Display, page, 0), 403),
                _ => {
                    let t = self.rng.below(MISSING_TITLES.len() as u32);
                    (Req::new(Form::DisplayMissing, sp, t), 404)
                }
            };
            let by = if status == 403 { self.rng.range(9_000, 11_000) } else { self.rng.range(8_500, 9_500) };
            let dur = self.rng.range(15, 120);
            self.push(s, who.actor, who.flags, req, Req::NONE, status, dur, by);
            self.noise(s, who, req, None, false, false);
            s += self.rng.range(4, 13);
        }
    }

    /// A login after months of silence, then 150+ distinct pages read within the hour.
    fn dormant_wakeup(&mut self, who: Who) {
        let m = self.m;
        let um = &m.users[who.actor as usize];
        let s0 = (19 + self.rng.below(2)) * 3600 + self.rng.below(1800);
        let mut s = self.login(who, s0);
        let n = self.rng.range(160, 185) as usize;
        let mut pages = self.distinct(&m.space_pages[um.home as usize], n * 4 / 10);
        let mut spaces: Vec<u32> = um.others.clone();
        for _ in 0..6 {
            spaces.push(m.random_space(&mut self.rng));
        }
        for sp in spaces {
            let q = (n * 12 / 100).max(1);
            for p in self.distinct(&m.space_pages[sp as usize], q) {
                if pages.len() < n && !pages.contains(&p) {
                    pages.push(p);
                }
            }
        }
        if pages.len() < n {
            let all: Vec<u32> = (0..m.site.pages.len() as u32).collect();
            for p in self.distinct(&all, n) {
                if pages.len() < n && !pages.contains(&p) {
                    pages.push(p);
                }
            }
        }
        // A small site cannot give 150 pages: click faster so 30 land within five minutes.
        let (lo, hi) = if pages.len() < 150 { (4, 9) } else { (9, 18) };
        let mut prev = Req::new(Form::Index, 0, 0);
        for page in pages {
            prev = self.ok_view(s, who, page, prev, false);
            s += self.rng.range(lo, hi);
        }
    }
}
