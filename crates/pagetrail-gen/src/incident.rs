//! Planted incidents for detector tests: who, when and what, and the ground truth as JSON Lines.
//!
//! With [`GenConfig::incidents`] set, seven incidents (see [`Kind`]) are merged into the normal
//! traffic. Normal traffic is not touched, except that the `dormant-wakeup` account is silent for
//! the whole run apart from its planted hour, so every other alert is a false positive.
//!
//! Placement: incidents need `days >= 21` and `users >= 20` (otherwise nothing is planted and the
//! list is empty). The first incident day `d0` is the first working day on or after day
//! `min(60, days - 14)`, so long runs give 60 days of history and short ones still fit the
//! two-week `slow-insider`. `slow-insider` and `admin-browse` are calibrated on the history before
//! `d0` (their users' usual volume and the spaces they never read), which is why
//! [`incidents`] replays those days.

use std::io::{self, BufRead, Write};

use crate::render::Tear;
use crate::site::{Model, Role};
use crate::traffic::{self, Day, Form, Rec, SHOW_USER};
use crate::{rng::Rng, time, GenConfig};

/// Fewer days than this plant nothing.
pub const MIN_DAYS: u32 = 21;
/// Fewer named accounts than this plant nothing (the incident users must be distinct).
pub const MIN_USERS: u32 = 20;

/// One planted incident, as the ground truth lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    /// `night-scrape`, `slow-insider`, `admin-browse`, `export-burst`, `secret-search`,
    /// `denied-probing` or `dormant-wakeup`.
    pub kind: String,
    /// The acting username.
    pub user: String,
    /// UTC ms of the first planted line.
    pub start_ms: i64,
    /// UTC ms of the last planted line.
    pub end_ms: i64,
    /// Contract detector names expected to fire on this user within `start_ms..=end_ms`.
    pub detectors: Vec<String>,
    pub description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    NightScrape,
    SlowInsider,
    AdminBrowse,
    ExportBurst,
    SecretSearch,
    DeniedProbing,
    DormantWakeup,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::NightScrape => "night-scrape",
            Kind::SlowInsider => "slow-insider",
            Kind::AdminBrowse => "admin-browse",
            Kind::ExportBurst => "export-burst",
            Kind::SecretSearch => "secret-search",
            Kind::DeniedProbing => "denied-probing",
            Kind::DormantWakeup => "dormant-wakeup",
        }
    }
}

/// What one incident plants; read by `traffic::plant`.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub kind: Kind,
    pub user: u32,
    /// Days (indexes from the first day) that carry planted lines, ascending.
    pub days: Vec<u32>,
    /// `slow-insider`: the spaces it reads; `admin-browse`: the spaces it visits.
    pub spaces: Vec<u32>,
    /// `admin-browse`: pages to open per visited space.
    pub quota: Vec<u32>,
    /// `slow-insider`: extra distinct pages per working day.
    pub per_day: u32,
    /// `slow-insider`: usual distinct pages per active working day before `d0`.
    pub usual: f64,
    /// `night-scrape`: the client address nobody else uses.
    pub ip: String,
    /// `slow-insider`, `admin-browse`: spaces among `spaces` the user never read before `d0`.
    pub new_spaces: u32,
    pub detectors: Vec<&'static str>,
}

impl Plan {
    fn new(kind: Kind, user: u32, days: Vec<u32>, detectors: &[&'static str]) -> Plan {
        Plan {
            kind,
            user,
            days,
            spaces: Vec::new(),
            quota: Vec::new(),
            per_day: 0,
            usual: 0.0,
            ip: String::new(),
            new_spaces: 0,
            detectors: detectors.to_vec(),
        }
    }
}

/// What the planted lines of one incident turned out to be (for times and the description).
#[derive(Clone, Debug, Default)]
struct Span {
    first: i64,
    last: i64,
    lines: u64,
    /// Pages read (sorted and deduplicated when described).
    pages: Vec<u32>,
    pdf: u32,
    word: u32,
    space_exports: u32,
    searches: u32,
    denied: u32,
    admin: u32,
    /// First and last read.
    reads: (i64, i64),
}

/// Per-user reading history before `d0`, from the normal traffic.
struct History {
    words: usize,
    /// Spaces read, one bit set per user.
    seen: Vec<u64>,
    active_wd: Vec<u32>,
    sum_wd: Vec<u64>,
    weekdays: u32,
    /// Highest daily population `mean + 3 sd` of distinct pages, service account excluded.
    pop_thr: f64,
    /// The same with the service account in the population (it reads hundreds a day).
    pop_thr_all: f64,
}

impl History {
    fn new(n_users: usize, n_spaces: usize) -> History {
        let words = n_spaces.div_ceil(64).max(1);
        History {
            words,
            seen: vec![0; n_users * words],
            active_wd: vec![0; n_users],
            sum_wd: vec![0; n_users],
            weekdays: 0,
            pop_thr: 0.0,
            pop_thr_all: 0.0,
        }
    }

    fn saw(&self, u: u32, sp: u32) -> bool {
        self.seen[u as usize * self.words + sp as usize / 64] & (1 << (sp % 64)) != 0
    }

    fn observe(&mut self, m: &Model, recs: &[Rec], weekday: bool, skip: Option<u32>) {
        let n_users = m.site.users.len() as u32;
        let mut pairs: Vec<(u32, u32)> = recs
            .iter()
            .filter(|r| {
                r.actor < n_users && Some(r.actor) != skip && r.flags & SHOW_USER != 0 && is_read(r.req.form, r.status)
            })
            .map(|r| (r.actor, r.req.a))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut counts: Vec<f64> = Vec::new();
        let mut svc = None;
        let mut i = 0;
        while i < pairs.len() {
            let u = pairs[i].0;
            let mut j = i;
            while j < pairs.len() && pairs[j].0 == u {
                let sp = m.page_space[pairs[j].1 as usize] as usize;
                self.seen[u as usize * self.words + sp / 64] |= 1 << (sp % 64);
                j += 1;
            }
            if weekday {
                let c = (j - i) as u64;
                self.active_wd[u as usize] += 1;
                self.sum_wd[u as usize] += c;
                if u != m.svc {
                    counts.push(c as f64);
                } else {
                    svc = Some(c as f64);
                }
            }
            i = j;
        }
        if weekday {
            self.weekdays += 1;
            self.pop_thr = self.pop_thr.max(mean_3sd(&counts));
            counts.extend(svc);
            self.pop_thr_all = self.pop_thr_all.max(mean_3sd(&counts));
        }
    }
}

fn mean_3sd(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|c| (c - mean) * (c - mean)).sum::<f64>() / n;
    mean + 3.0 * var.sqrt()
}

/// A read in the contract's sense (§3): content action, success status, known page.
pub(crate) fn is_read(form: Form, status: u16) -> bool {
    matches!(status, 200..=299 | 304)
        && matches!(
            form,
            Form::ViewId
                | Form::ViewTitle
                | Form::Display
                | Form::SpacesPage
                | Form::SpacesPageBare
                | Form::ViewInfo
                | Form::PrevVersions
                | Form::DiffPages
                | Form::DiffVersions
                | Form::ViewSource
                | Form::ApiContent
                | Form::Attachment
                | Form::DownloadAll
                | Form::PdfExport
                | Form::WordExport
        )
}

/// Plans incidents, calibrates them on history, plants their lines day by day.
pub(crate) struct Planter<'a> {
    cfg: &'a GenConfig,
    m: &'a Model,
    on: bool,
    d0: u32,
    /// The account kept silent outside its planted hour.
    dormant: Option<u32>,
    /// Users taken by an incident.
    used: Vec<u32>,
    plans: Vec<Plan>,
    hist: History,
    ready: bool,
    spans: Vec<Span>,
}

impl<'a> Planter<'a> {
    pub(crate) fn new(cfg: &'a GenConfig, m: &'a Model) -> Planter<'a> {
        let n_users = m.site.users.len() as u32;
        let on = cfg.incidents && cfg.days >= MIN_DAYS && n_users >= MIN_USERS;
        let mut p = Planter {
            cfg,
            m,
            on,
            d0: 0,
            dormant: None,
            used: Vec::new(),
            plans: Vec::new(),
            hist: History::new(if on { n_users as usize } else { 0 }, m.space_pages.len()),
            ready: false,
            spans: vec![Span::default(); 7],
        };
        if on {
            p.schedule();
        }
        p
    }

    fn working(&self, d: u32) -> bool {
        let s = self.cfg.start;
        time::weekday(time::days_from_civil(s.0, s.1, s.2) + d as i64) < 5
    }

    /// First working day in `d..days`, else the last day before `days` not before `d`.
    fn next_working(&self, d: u32) -> u32 {
        let days = self.cfg.days;
        (d..days).find(|&x| self.working(x)).unwrap_or(d.min(days - 1))
    }

    /// Days and users that depend on the model only.
    fn schedule(&mut self) {
        let m = self.m;
        let days = self.cfg.days;
        self.d0 = self.next_working(60.min(days - 14));
        let d0 = self.d0;
        let mut rng = Rng::new(self.cfg.seed, 0x6000_0001);
        // Regular accounts 5.. only: 0 and 1 are admins, 2–4 carry the first day's coverage lines.
        let mut pool: Vec<u32> = (5..m.svc).collect();
        for i in (1..pool.len()).rev() {
            pool.swap(i, rng.below(i as u32 + 1) as usize);
        }
        let take = |pred: &dyn Fn(u32) -> bool, used: &mut Vec<u32>| -> u32 {
            let u = pool
                .iter()
                .copied()
                .find(|&u| pred(u) && !used.contains(&u))
                .or_else(|| pool.iter().copied().find(|u| !used.contains(u)))
                .unwrap_or(5);
            used.push(u);
            u
        };
        let mut used = Vec::new();
        // The scraped account and the dormant one should have been real, regular readers.
        let steady = |u: u32| m.users[u as usize].p_work >= 0.75;
        let night = take(&steady, &mut used);
        let export = take(&|_| true, &mut used);
        let secret = take(&|_| true, &mut used);
        let denied = take(&|_| true, &mut used);
        let dormant = take(&steady, &mut used);
        self.used = used;
        self.dormant = Some(dormant);

        let mut scrape = Plan::new(
            Kind::NightScrape,
            night,
            vec![self.next_working(d0 + 2)],
            &[
                "burst",
                "space-breadth",
                "api-crawl",
                "scripted-agent",
                "new-source",
                "off-hours",
                "baseline",
                "composite",
            ],
        );
        if m.space_pages.len() <= 5 {
            scrape.detectors.retain(|d| *d != "space-breadth");
        }
        scrape.ip = format!("192.0.2.{}", rng.range(10, 250));
        let late = 91.max(d0 + 10);
        let wake = if late < days { self.next_working(late) } else { self.next_working(d0 + 10) };
        self.plans = vec![
            scrape,
            Plan::new(Kind::ExportBurst, export, vec![self.next_working(d0 + 4)], &["export", "composite"]),
            Plan::new(Kind::SecretSearch, secret, vec![self.next_working(d0 + 6)], &["search-then-fetch"]),
            Plan::new(Kind::DeniedProbing, denied, vec![self.next_working(d0 + 8)], &["denied-probing"]),
            Plan::new(Kind::DormantWakeup, dormant, vec![wake], &["dormant", "burst"]),
        ];
        if m.site.pages.len() < 30 {
            // Fewer pages than D1's lowest tier: the scrape and the wake-up cannot burst.
            for p in &mut self.plans {
                p.detectors.retain(|d| *d != "burst" && *d != "dormant");
            }
        }
    }

    /// Adds one normal day before `d0` to the history.
    fn observe(&mut self, d: u32, recs: &[Rec]) {
        let weekday = self.working(d);
        self.hist.observe(self.m, recs, weekday, self.dormant);
    }

    /// Chooses the `slow-insider` and `admin-browse` users and targets from the history.
    fn finalize(&mut self) {
        if self.ready {
            return;
        }
        self.ready = true;
        let m = self.m;
        let h = &self.hist;
        let n_spaces = m.space_pages.len() as u32;
        let d0 = self.d0;
        let mut rng = Rng::new(self.cfg.seed, 0x6000_0002);

        let unread = |u: u32| -> Vec<u32> {
            let um = &m.users[u as usize];
            (0..n_spaces)
                .filter(|&s| {
                    !h.saw(u, s) && s != um.home && !um.others.contains(&s) && !m.space_pages[s as usize].is_empty()
                })
                .collect()
        };

        // slow-insider: 4–6x the user's usual daily distinct pages, landing above the D3/D4 floor
        // (50) and the busiest history day's population mean + 3 sd, also with svc-integration in
        // the population as long as that stays a plausible "slow" volume (120 a day).
        let must = (h.pop_thr.ceil() + 10.0).max(60.0);
        let target = must.max((h.pop_thr_all.ceil() + 10.0).min(120.0));
        let min_active = (h.weekdays / 2).max(3);
        let mut best: Option<(bool, f64, u32)> = None;
        for u in 5..m.svc {
            if self.used.contains(&u) || m.users[u as usize].role != Role::Regular {
                continue;
            }
            let active = h.active_wd[u as usize];
            if active < min_active {
                continue;
            }
            let usual = h.sum_wd[u as usize] as f64 / active as f64;
            let enough = unread(u).len() >= 3;
            let miss = (5.0 * usual - target).abs();
            let better = match best {
                None => true,
                Some((e, b, _)) => (enough && !e) || (enough == e && miss < b),
            };
            if better {
                best = Some((enough, miss, u));
            }
        }
        let insider = match best {
            Some((_, _, u)) => u,
            None => (5..m.svc).find(|u| !self.used.contains(u)).unwrap_or(5),
        };
        self.used.push(insider);
        let active = h.active_wd[insider as usize].max(1);
        let usual = h.sum_wd[insider as usize] as f64 / active as f64;
        // Keep 4–6x where possible; on small sites give up the svc-inclusive target first, and
        // the ratio only for the floor and the svc-exclusive threshold.
        let total = (4.0 * usual).max(target.min(6.0 * usual)).max(must);
        let mut spaces = unread(insider);
        // Bigger spaces first: an insider goes where the material is.
        spaces.sort_by_key(|&s| (std::cmp::Reverse(m.space_pages[s as usize].len()), s));
        spaces.truncate(4);
        let new_spaces = spaces.len() as u32;
        if spaces.len() < 3 {
            let um = &m.users[insider as usize];
            for s in std::iter::once(um.home).chain(um.others.iter().copied()) {
                if spaces.len() < 3 && !spaces.contains(&s) && !m.space_pages[s as usize].is_empty() {
                    spaces.push(s);
                }
            }
        }
        let days: Vec<u32> = (d0..(d0 + 14).min(self.cfg.days)).filter(|&d| self.working(d)).collect();
        let mut det = vec!["baseline", "new-space", "peer-outlier", "composite"];
        // D3 needs a baseline of about 14 active days plus the 7 scored ones.
        if d0 < 28 {
            det.retain(|d| *d != "baseline");
        }
        if new_spaces < 3 {
            det.retain(|d| *d != "new-space");
        }
        let mut slow = Plan::new(Kind::SlowInsider, insider, days, &det);
        slow.per_day = (total - usual).round().max(1.0) as u32;
        slow.usual = usual;
        slow.spaces = spaces;
        slow.new_spaces = new_spaces;

        // admin-browse: the admin with more never-read spaces (the second one on a tie).
        let admin = if unread(0).len() > unread(1).len() { 0 } else { 1 };
        let fresh = unread(admin);
        let mut rest: Vec<u32> =
            (0..n_spaces).filter(|s| !fresh.contains(s) && !m.space_pages[*s as usize].is_empty()).collect();
        for i in (1..rest.len()).rev() {
            rest.swap(i, rng.below(i as u32 + 1) as usize);
        }
        let mut visit: Vec<u32> = fresh.iter().copied().chain(rest).collect();
        visit.truncate(34);
        for i in (1..visit.len()).rev() {
            visit.swap(i, rng.below(i as u32 + 1) as usize);
        }
        let new_visited = visit.iter().filter(|s| fresh.contains(s)).count() as u32;
        // About 130 pages in total, at least 3 per space, round-robin where spaces are small.
        let mut quota: Vec<u32> = visit.iter().map(|&s| 3.min(m.space_pages[s as usize].len() as u32)).collect();
        let mut want = 130u32.saturating_sub(quota.iter().sum());
        while want > 0 {
            let mut grew = false;
            for (q, &s) in quota.iter_mut().zip(&visit) {
                if want > 0 && (*q as usize) < m.space_pages[s as usize].len() {
                    *q += 1;
                    want -= 1;
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let reads: u32 = quota.iter().sum();
        let mut det = vec!["privileged", "space-breadth", "burst", "new-space"];
        if reads < 100 {
            // Neither D1's 100/60 min nor D11's "admin above D1" can fire.
            det.retain(|d| *d != "burst" && *d != "privileged");
        }
        if visit.len() <= 5 {
            det.retain(|d| *d != "space-breadth");
        }
        if new_visited < 3 {
            det.retain(|d| *d != "new-space");
        }
        let mut browse = Plan::new(Kind::AdminBrowse, admin, vec![d0], &det);
        browse.spaces = visit;
        browse.quota = quota;
        browse.new_spaces = new_visited;
        self.plans.push(slow);
        self.plans.push(browse);
    }

    fn last_day(&self) -> u32 {
        self.plans.iter().filter_map(|p| p.days.last().copied()).max().unwrap_or(0)
    }

    /// The planted lines of day `d`, in time order, and the extra clients they use.
    fn plant_day(&mut self, d: u32) -> (Vec<Rec>, Vec<(u32, traffic::Src)>) {
        let mut recs = Vec::new();
        let mut extra = Vec::new();
        let ck = traffic::clock(self.cfg, d);
        for p in &self.plans {
            if !p.days.contains(&d) {
                continue;
            }
            let (r, x) = traffic::plant(self.cfg, self.m, p, d, &ck);
            let span = &mut self.spans[p.kind as usize];
            for rec in &r {
                let t = ck.start_utc + rec.t as i64;
                if span.lines == 0 {
                    span.first = t;
                }
                span.first = span.first.min(t);
                span.last = span.last.max(t);
                span.lines += 1;
                let ok = rec.status < 400;
                match rec.req.form {
                    Form::PdfExport => span.pdf += 1,
                    Form::WordExport => span.word += 1,
                    Form::DoExportSpace => span.space_exports += 1,
                    Form::SecretSearch | Form::SecretCql => span.searches += 1,
                    Form::Admin => span.admin += 1,
                    _ => {}
                }
                if !ok && rec.flags & SHOW_USER != 0 {
                    span.denied += 1;
                }
                if is_read(rec.req.form, rec.status) {
                    if span.pages.is_empty() {
                        span.reads = (t, t);
                    }
                    span.reads.0 = span.reads.0.min(t);
                    span.reads.1 = span.reads.1.max(t);
                    span.pages.push(rec.req.a);
                }
            }
            recs.extend(r);
            extra.extend(x);
        }
        recs.sort_by_key(|r| r.t);
        (recs, extra)
    }

    /// Merges a normal day with the planted lines, silencing the dormant account.
    ///
    /// `tears` index the normal day as built; they are moved along with their lines (a tear on a
    /// silenced line is dropped), so every other line is byte-identical to a run without incidents.
    pub(crate) fn apply(&mut self, d: u32, mut day: Day, tears: Vec<Tear>) -> (Day, Vec<Tear>) {
        if !self.on {
            return (day, tears);
        }
        if d < self.d0 {
            self.observe(d, &day.recs);
        } else {
            self.finalize();
        }
        let (planted, extra) = if d >= self.d0 { self.plant_day(d) } else { (Vec::new(), Vec::new()) };
        let mut out = Vec::with_capacity(day.recs.len() + planted.len());
        let mut new_tears = Vec::with_capacity(tears.len());
        let mut ti = tears.iter().peekable();
        let mut pi = planted.into_iter().peekable();
        for (i, r) in day.recs.iter().enumerate() {
            while let Some(p) = pi.next_if(|p| p.t < r.t) {
                out.push(p);
            }
            while ti.next_if(|t| (t.line as usize) < i).is_some() {}
            if Some(r.actor) == self.dormant {
                continue;
            }
            if let Some(t) = ti.next_if(|t| t.line as usize == i) {
                new_tears.push(Tear { line: out.len() as u32, permille: t.permille });
            }
            out.push(*r);
        }
        out.extend(pi);
        day.recs = out;
        day.extra = extra;
        (day, new_tears)
    }

    fn ground_truth(&self) -> Vec<Incident> {
        let m = self.m;
        let mut list: Vec<(i64, usize, Incident)> = Vec::new();
        for p in &self.plans {
            let s = &self.spans[p.kind as usize];
            if s.lines == 0 {
                continue;
            }
            let mut pages = s.pages.clone();
            pages.sort_unstable();
            pages.dedup();
            let mut sp: Vec<u32> = pages.iter().map(|&q| m.page_space[q as usize]).collect();
            sp.sort_unstable();
            sp.dedup();
            let user = &m.site.users[p.user as usize];
            let keys = |v: &[u32]| v.iter().map(|&s| m.site.spaces[s as usize].as_str()).collect::<Vec<_>>().join(", ");
            let mins = |a: i64, b: i64| (b - a + 59) / 60;
            let description = match p.kind {
                Kind::NightScrape => format!(
                    "{user}'s account from new IP {} with python-requests/2.31.0 and no referer, {}-{} server time: \
                     /rest/api/space enumeration, then per space /rest/api/content?spaceKey listings (limit=100, increasing start) \
                     and /rest/api/content/N?expand=body.storage plus /child/page for each page; \
                     {} distinct pages in {} spaces, {} lines",
                    p.ip,
                    local_hm(s.first),
                    local_hm(s.last),
                    pages.len(),
                    sp.len(),
                    s.lines
                ),
                Kind::SlowInsider => format!(
                    "{user} read {} extra distinct pages a day (usual {:.1} on active working days) on {} working days \
                     {}..{}, office hours, usual IP and browser, in spaces {} ({} never read before); \
                     {} distinct pages in {} spaces",
                    p.per_day,
                    p.usual,
                    p.days.len(),
                    utc_day(s.first),
                    utc_day(s.last),
                    keys(&p.spaces),
                    p.new_spaces,
                    pages.len(),
                    sp.len()
                ),
                Kind::AdminBrowse => format!(
                    "admin {user} viewed {} distinct pages in {} spaces ({} never read before) in {} min from {} server time, \
                     with {} /admin/ requests",
                    pages.len(),
                    sp.len(),
                    p.new_spaces,
                    mins(s.first, s.last),
                    local_hm(s.first),
                    s.admin
                ),
                Kind::ExportBurst => format!(
                    "{user} exported {} pages ({} PDF, {} Word) in {} min from {} server time, then exported space {}",
                    s.pdf + s.word,
                    s.pdf,
                    s.word,
                    mins(s.first, s.last),
                    local_hm(s.first),
                    keys(&[m.users[p.user as usize].home])
                ),
                Kind::SecretSearch => format!(
                    "{user} ran {} credential searches (password, aws secret, api key, ssh private key, vpn, …) \
                     from {} server time, then opened {} distinct pages within {} min",
                    s.searches,
                    local_hm(s.first),
                    pages.len(),
                    mins(s.reads.0, s.reads.1)
                ),
                Kind::DeniedProbing => format!(
                    "{user} made {} content requests answered 403/404 (viewpage.action?pageId, /display/K/T) in {} min \
                     from {} server time",
                    s.denied,
                    mins(s.first, s.last),
                    local_hm(s.first)
                ),
                Kind::DormantWakeup => format!(
                    "{user} has no activity from the start of the data ({} days before), then logs in and reads {} distinct \
                     pages in {} spaces in {} min from {} server time; silent afterwards",
                    p.days[0],
                    pages.len(),
                    sp.len(),
                    mins(s.reads.0, s.reads.1),
                    local_hm(s.first)
                ),
            };
            list.push((
                s.first,
                p.kind as usize,
                Incident {
                    kind: p.kind.name().to_string(),
                    user: user.clone(),
                    start_ms: s.first * 1000,
                    end_ms: s.last * 1000,
                    detectors: p.detectors.iter().map(|d| d.to_string()).collect(),
                    description,
                },
            ));
        }
        list.sort_by_key(|(t, k, _)| (*t, *k));
        list.into_iter().map(|(_, _, i)| i).collect()
    }
}

/// The ground truth for a configuration: empty unless `cfg.incidents` is set, `days >= 21` and
/// `users >= 20`. Sorted by start time. Costs a replay of the history days (no rendering).
pub fn incidents(cfg: &GenConfig) -> Vec<Incident> {
    if !cfg.incidents {
        return Vec::new();
    }
    let m = Model::build(cfg);
    let mut p = Planter::new(cfg, &m);
    if !p.on {
        return Vec::new();
    }
    for d in 0..p.d0 {
        let day = traffic::build_day(cfg, &m, d);
        p.observe(d, &day.recs);
    }
    p.finalize();
    for d in p.d0..=p.last_day() {
        p.plant_day(d);
    }
    p.ground_truth()
}

/// `HH:MM` server (Berlin) time of a UTC instant.
fn local_hm(utc: i64) -> String {
    let local = utc + time::offset_at(utc) as i64;
    let sod = local.rem_euclid(86_400);
    format!("{:02}:{:02}", sod / 3600, sod / 60 % 60)
}

fn utc_day(utc: i64) -> String {
    let (y, m, d) = time::civil_from_days(utc.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 UTC with `Z`; milliseconds only when not zero.
fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let sod = secs.rem_euclid(86_400);
    let mut s = format!("{}T{:02}:{:02}:{:02}", utc_day(secs), sod / 3600, sod / 60 % 60, sod % 60);
    if frac != 0 {
        s.push_str(&format!(".{frac:03}"));
    }
    s.push('Z');
    s
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let days = time::days_from_civil(num(0..4)? as i32, num(5..7)? as u32, num(8..10)? as u32);
    let secs = days * 86_400 + num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?;
    let frac = match &s[19..s.len() - 1] {
        "" => 0,
        f if f.len() == 4 && f.starts_with('.') => f[1..].parse::<i64>().ok()?,
        _ => return None,
    };
    Some(secs * 1000 + frac)
}

fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes the ground truth as JSON Lines, one incident per line:
/// `{"kind","user","start","end","start_ms","end_ms","detectors":[…],"description"}`, where
/// `start`/`end` are RFC 3339 UTC with `Z` and `start_ms`/`end_ms` the same instants in ms.
pub fn write_ground_truth(list: &[Incident], out: &mut dyn Write) -> io::Result<()> {
    let mut buf = String::new();
    for i in list {
        buf.push_str("{\"kind\":");
        json_str(&i.kind, &mut buf);
        buf.push_str(",\"user\":");
        json_str(&i.user, &mut buf);
        buf.push_str(",\"start\":");
        json_str(&rfc3339(i.start_ms), &mut buf);
        buf.push_str(",\"end\":");
        json_str(&rfc3339(i.end_ms), &mut buf);
        buf.push_str(&format!(",\"start_ms\":{},\"end_ms\":{},\"detectors\":[", i.start_ms, i.end_ms));
        for (k, d) in i.detectors.iter().enumerate() {
            if k > 0 {
                buf.push(',');
            }
            json_str(d, &mut buf);
        }
        buf.push_str("],\"description\":");
        json_str(&i.description, &mut buf);
        buf.push_str("}\n");
    }
    out.write_all(buf.as_bytes())
}

/// Reads what [`write_ground_truth`] wrote (blank lines are skipped, unknown keys ignored;
/// `start`/`end` are used when `start_ms`/`end_ms` are missing).
pub fn read_ground_truth(input: &mut dyn BufRead) -> io::Result<Vec<Incident>> {
    let mut list = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let bad =
            |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("ground truth line {}: {what}", n + 1));
        let fields = Json::new(&line).object().ok_or_else(|| bad("not a flat JSON object"))?;
        let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        let text = |k: &str| match get(k) {
            Some(Val::Str(s)) => Ok(s.clone()),
            _ => Err(bad(&format!("missing string {k:?}"))),
        };
        let instant = |ms: &str, iso: &str| match (get(ms), get(iso)) {
            (Some(Val::Int(v)), _) => Ok(*v),
            (_, Some(Val::Str(s))) => parse_rfc3339(s).ok_or_else(|| bad(&format!("bad {iso:?}"))),
            _ => Err(bad(&format!("missing {ms:?}"))),
        };
        let detectors = match get("detectors") {
            Some(Val::List(v)) => v.clone(),
            _ => return Err(bad("missing \"detectors\"")),
        };
        list.push(Incident {
            kind: text("kind")?,
            user: text("user")?,
            start_ms: instant("start_ms", "start")?,
            end_ms: instant("end_ms", "end")?,
            detectors,
            description: text("description")?,
        });
    }
    Ok(list)
}

enum Val {
    Str(String),
    Int(i64),
    List(Vec<String>),
}

/// Just enough JSON for one ground-truth line: an object of strings, integers and string lists.
struct Json<'s> {
    s: &'s [u8],
    i: usize,
}

impl<'s> Json<'s> {
    fn new(s: &'s str) -> Json<'s> {
        Json { s: s.as_bytes(), i: 0 }
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.s.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    fn object(&mut self) -> Option<Vec<(String, Val)>> {
        self.eat(b'{')?;
        let mut v = Vec::new();
        if self.eat(b'}').is_none() {
            loop {
                let k = self.string()?;
                self.eat(b':')?;
                v.push((k, self.value()?));
                if self.eat(b',').is_none() {
                    self.eat(b'}')?;
                    break;
                }
            }
        }
        self.ws();
        (self.i == self.s.len()).then_some(v)
    }

    fn value(&mut self) -> Option<Val> {
        self.ws();
        match *self.s.get(self.i)? {
            b'"' => self.string().map(Val::Str),
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                if self.eat(b']').is_none() {
                    loop {
                        v.push(self.string()?);
                        if self.eat(b',').is_none() {
                            self.eat(b']')?;
                            break;
                        }
                    }
                }
                Some(Val::List(v))
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && (self.s[self.i] == b'-' || self.s[self.i].is_ascii_digit()) {
                    self.i += 1;
                }
                std::str::from_utf8(&self.s[start..self.i]).ok()?.parse().ok().map(Val::Int)
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            self.i += 4;
                            char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                        }
                        _ => return None,
                    };
                    let mut b = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                }
                _ => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        for ms in [0, 1_779_000_000_000, 1_779_000_000_123, -1000] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms), "{}", rfc3339(ms));
        }
        assert_eq!(rfc3339(1_779_000_000_000), "2026-05-17T06:40:00Z");
    }

    #[test]
    fn json_escapes_round_trip() {
        let i = Incident {
            kind: "k".into(),
            user: "a\"b\\c".into(),
            start_ms: 1000,
            end_ms: 2000,
            detectors: vec![],
            description: "line\nnext … \u{1}".into(),
        };
        let mut out = Vec::new();
        write_ground_truth(std::slice::from_ref(&i), &mut out).unwrap();
        let back = read_ground_truth(&mut out.as_slice()).unwrap();
        assert_eq!(back, vec![i]);
    }
}
