//! Detectors that need the logged request (path and query): D8 API crawl, D9 search-then-fetch
//! and the site exports of D10. Each request id is classified once per actor.

use std::collections::HashMap;

use pagetrail_core::url::{decode, param};
use pagetrail_core::Action;

use crate::actor::{dedupe, Actor, Draft, EvLite, Note, NONE};
use crate::engine::{minutes_ms, ok_status, Ctx};
use crate::fasthash::IdMap;
use crate::window::{peaks, Episodes, Sub};
use crate::{Detector, Names, Severity};

/// What a request is, as far as D8–D10 care.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Req {
    Other,
    /// An API listing: `key` is the path plus query without `start=`, so the pages of one
    /// listing share it; `space` is an interned space (id or key) or `NO_SPACE`.
    Listing {
        key: u32,
        start: u64,
        child_page: bool,
        space_enum: bool,
        space: u64,
    },
    /// A content GET; true when `expand=` asks for bodies or children.
    Expand(bool),
    /// A search with its decoded, lower-cased query text.
    Search {
        q: u32,
        sensitive: bool,
    },
    SiteExport,
}

const NO_SPACE: u64 = u64::MAX;
static OTHER: Req = Req::Other;

/// Request classifications of one actor, and the strings they intern.
pub(crate) struct Requests {
    map: IdMap<u32, Req>,
    strs: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Requests {
    /// Classifies the window's API, search and admin requests (only those the running
    /// detectors need), asking `names` once per request id.
    pub fn build(ctx: &Ctx, a: &Actor<'_>, names: &dyn Names, crawl: bool, search: bool, export: bool) -> Requests {
        let mut r = Requests { map: IdMap::default(), strs: Vec::new(), ids: HashMap::new() };
        for e in a.ev {
            let need = match e.action {
                Action::ApiList | Action::ApiRead => crawl,
                Action::Search => search,
                Action::Admin => export,
                _ => false,
            };
            if !need || r.map.contains_key(&e.request) {
                continue;
            }
            let (path, query) = if e.request == 0 { (String::new(), String::new()) } else { names.request(e.request) };
            let req = r.classify(ctx, e.action, e.space, &path, &query);
            r.map.insert(e.request, req);
        }
        r
    }

    pub fn get(&self, id: u32) -> &Req {
        self.map.get(&id).unwrap_or(&OTHER)
    }

    fn intern(&mut self, s: String) -> u32 {
        if let Some(&id) = self.ids.get(&s) {
            return id;
        }
        let id = self.strs.len() as u32;
        self.strs.push(s.clone());
        self.ids.insert(s, id);
        id
    }

    fn text(&self, id: u32) -> &str {
        self.strs.get(id as usize).map_or("", |s| s.as_str())
    }

    fn classify(&mut self, ctx: &Ctx, action: Action, space: u32, path: &str, query: &str) -> Req {
        match action {
            Action::ApiList => {
                // Classification ignores the context path; so do we.
                let rest = path.find("/rest/api/").map_or(path, |p| &path[p..]);
                let start = param(query, "start").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|kv| {
                        let k = kv.split('=').next().unwrap_or("");
                        !kv.is_empty() && k != "start" && k != "_"
                    })
                    .collect();
                let key = if kept.is_empty() { rest.to_string() } else { format!("{rest}?{}", kept.join("&")) };
                let key = self.intern(key);
                let space = if space != 0 {
                    u64::from(space)
                } else if let Some(k) = param(query, "spaceKey").filter(|k| !k.is_empty()) {
                    let k = decode(k, true).to_uppercase();
                    (1 << 32) | u64::from(self.intern(format!("space:{k}")))
                } else if let Some(seg) =
                    rest.strip_prefix("/rest/api/space/").and_then(|s| s.split('/').next()).filter(|s| !s.is_empty())
                {
                    let k = decode(seg, false).to_uppercase();
                    (1 << 32) | u64::from(self.intern(format!("space:{k}")))
                } else {
                    NO_SPACE
                };
                Req::Listing {
                    key,
                    start,
                    child_page: rest.contains("/child/page"),
                    space_enum: rest.trim_end_matches('/') == "/rest/api/space",
                    space,
                }
            }
            Action::ApiRead => Req::Expand(param(query, "expand").is_some_and(|v| {
                let v = decode(v, true);
                ctx.rules.expand_markers.iter().any(|m| v.contains(m.as_str()))
            })),
            Action::Search => {
                let raw = ["queryString", "cql", "query"].iter().find_map(|k| param(query, k)).unwrap_or("");
                let q = decode(raw, true).to_lowercase().trim().to_string();
                let sensitive = ctx.rules.terms.iter().any(|t| word_start(&q, t));
                Req::Search { q: self.intern(format!("q:{q}")), sensitive }
            }
            Action::Admin => {
                let p = path.to_ascii_lowercase();
                if ctx.rules.site_export_paths.iter().any(|s| p.contains(s.as_str())) {
                    Req::SiteExport
                } else {
                    Req::Other
                }
            }
            _ => Req::Other,
        }
    }

    /// Successful site-export requests in the window (for D10).
    pub fn site_exports(&self, a: &Actor<'_>) -> Vec<u32> {
        (0..a.ev.len())
            .filter(|&i| {
                let e = &a.ev[i];
                e.action == Action::Admin && ok_status(e.status) && *self.get(e.request) == Req::SiteExport
            })
            .map(|i| i as u32)
            .collect()
    }

    /// Up to three distinct query texts of the given search events.
    fn sample_queries(&self, a: &Actor<'_>, ev: &[u32]) -> String {
        let mut out: Vec<&str> = Vec::new();
        for &i in ev {
            if let Req::Search { q, .. } = self.get(a.ev[i as usize].request) {
                let t = self.text(*q).strip_prefix("q:").unwrap_or("");
                if !out.contains(&t) {
                    out.push(t);
                }
                if out.len() == 3 {
                    break;
                }
            }
        }
        out.iter().map(|t| truncate(t, 80)).collect::<Vec<_>>().join(" | ")
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// True when `needle` occurs in `hay` at the start of a word ("aws" matches "aws keys" but not
/// "laws"; "password" matches "passwords").
pub(crate) fn word_start(hay: &str, needle: &str) -> bool {
    !needle.is_empty()
        && hay.match_indices(needle).any(|(i, _)| hay[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric()))
}

fn overlaps_with_gap(d: &Draft, o: &Draft, gap: i64) -> bool {
    o.ev.start <= d.ev.end.saturating_add(gap) && d.ev.start <= o.ev.end.saturating_add(gap)
}

/// D8 REST crawl shapes, per actor: (a) one listing paged with strictly increasing `start`,
/// (b) content GETs expanding bodies or children, (c) `/rest/api/space` enumeration then
/// listings in several spaces with `/child/page` recursion, (d) HTTP 429 responses.
/// (a)–(c) are medium, high when the actor crosses the D1 low tier within the dedup period;
/// (d) alone is low.
pub(crate) fn api_crawl(ctx: &Ctx, a: &Actor<'_>, rq: &Requests, low: &[Draft]) -> Vec<Draft> {
    let c = &ctx.cfg.api_crawl;
    let w = minutes_ms(c.window_minutes);
    let mut out = Vec::new();

    let listing: Vec<u32> = (0..a.ev.len())
        .filter(|&i| {
            let e = &a.ev[i];
            e.action == Action::ApiList && ok_status(e.status) && matches!(rq.get(e.request), Req::Listing { .. })
        })
        .map(|i| i as u32)
        .collect();

    // (a) paged listings.
    #[derive(Clone, Copy)]
    struct Run {
        first: u32,
        last: u32,
        first_ts: i64,
        last_start: u64,
        len: u32,
    }
    let mut runs: IdMap<u32, Run> = IdMap::default();
    let mut done: Vec<(u32, Run)> = Vec::new();
    for &i in &listing {
        let e = &a.ev[i as usize];
        let Req::Listing { key, start, .. } = rq.get(e.request) else {
            continue;
        };
        let fresh = Run { first: i, last: i, first_ts: e.ts_ms, last_start: *start, len: 1 };
        match runs.get_mut(key) {
            Some(r) if *start > r.last_start && e.ts_ms.saturating_sub(r.first_ts) < w => {
                r.len += 1;
                r.last = i;
                r.last_start = *start;
            }
            Some(r) => {
                let old = std::mem::replace(r, fresh);
                if old.len >= c.min_paged_requests {
                    done.push((*key, old));
                }
            }
            None => {
                runs.insert(*key, fresh);
            }
        }
    }
    done.extend(runs.into_iter().filter(|(_, r)| r.len >= c.min_paged_requests));
    done.sort_by_key(|(_, r)| r.first);
    for (key, r) in done {
        let mut ev = EvLite::of(a.ev, [r.first, r.last]);
        ev.n = u64::from(r.len);
        out.push(
            Draft::new(Detector::ApiCrawl, Severity::Medium, f64::from(r.len), f64::from(c.min_paged_requests), ev)
                .count("paged_requests", r.len)
                .count("window_minutes", c.window_minutes)
                .note("shape", Note::Text("paged listing".into()))
                .note("path", Note::Text(rq.text(key).to_string())),
        );
    }

    // (b) expanded content GETs.
    let idx = a.reads.iter().copied().filter(|&i| {
        let e = &a.ev[i as usize];
        e.action == Action::ApiRead && *rq.get(e.request) == Req::Expand(true)
    });
    let sub = Sub::collect(a, idx, |_| 0);
    for p in peaks(&sub.ts, None, 0, w, c.min_expand_reads, ctx.dedup_ms) {
        out.push(
            Draft::new(
                Detector::ApiCrawl,
                Severity::Medium,
                f64::from(p.value),
                f64::from(c.min_expand_reads),
                sub.evidence(a, &p),
            )
            .count("expand_reads", p.value)
            .count("window_minutes", c.window_minutes)
            .note("shape", Note::Text("expanded content reads".into())),
        );
    }

    // (c) space enumeration then recursion. Enumerations inside one window count once.
    let ew = minutes_ms(c.enumeration_window_minutes);
    let mut k = 0;
    while k < listing.len() {
        let i = listing[k];
        let e = &a.ev[i as usize];
        if !matches!(rq.get(e.request), Req::Listing { space_enum: true, .. }) {
            k += 1;
            continue;
        }
        let end = e.ts_ms.saturating_add(ew);
        let mut spaces: Vec<u64> = Vec::new();
        let mut child = 0u64;
        let mut ev = EvLite::new();
        ev.push(e);
        let mut j = k + 1;
        while j < listing.len() && a.ts(listing[j]) < end {
            let f = &a.ev[listing[j] as usize];
            if let Req::Listing { child_page, space, .. } = rq.get(f.request) {
                if *space != NO_SPACE && !spaces.contains(space) && spaces.len() < 10_000 {
                    spaces.push(*space);
                }
                if *child_page {
                    child += 1;
                }
            }
            ev.push(f);
            j += 1;
        }
        if spaces.len() as u64 >= u64::from(c.min_enumerated_spaces) && child > 0 {
            let n = spaces.len() as u64;
            out.push(
                Draft::new(Detector::ApiCrawl, Severity::Medium, n as f64, f64::from(c.min_enumerated_spaces), ev)
                    .count("enumerated_spaces", n)
                    .count("child_page_requests", child)
                    .count("listing_requests", (j - k) as u64)
                    .count("window_minutes", c.enumeration_window_minutes)
                    .note("shape", Note::Text("space enumeration".into())),
            );
        }
        k = j;
    }

    // Any of (a)–(c) together with a D1 low-tier crossing is high.
    for d in &mut out {
        if let Some(b) = low.iter().find(|b| overlaps_with_gap(d, b, ctx.dedup_ms)) {
            d.severity = Severity::High;
            d.counts.push(("burst_distinct_pages", b.value as u64));
        }
    }

    // (d) rate limiting.
    let idx = (0..a.ev.len()).filter(|&i| a.ev[i].status == 429).map(|i| i as u32);
    let sub = Sub::collect(a, idx, |_| 0);
    for p in peaks(&sub.ts, None, 0, w, c.min_rate_limited, ctx.dedup_ms) {
        out.push(
            Draft::new(
                Detector::ApiCrawl,
                Severity::Low,
                f64::from(p.value),
                f64::from(c.min_rate_limited),
                sub.evidence(a, &p),
            )
            .count("rate_limited", p.value)
            .count("window_minutes", c.window_minutes)
            .note("shape", Note::Text("rate limited".into())),
        );
    }
    dedupe(out, ctx.dedup_ms)
}

/// Distinct pages among reads, and their evidence appended to `ev`.
fn fetched(a: &Actor<'_>, reads: &[u32], ev: &mut EvLite) -> u64 {
    let mut pages: Vec<u32> = Vec::with_capacity(reads.len());
    for &i in reads {
        let e = &a.ev[i as usize];
        pages.push(a.lpage[i as usize]);
        ev.push(e);
    }
    pages.sort_unstable();
    pages.dedup();
    pages.retain(|&p| p != NONE);
    pages.len() as u64
}

/// D9 search-then-fetch. We cannot see result lists, so the "reads of results" are the reads
/// within `fetch_window_minutes` after the searches began. Fires on `min_sensitive_queries`
/// distinct sensitive queries within `sensitive_window_minutes` (medium; high when at least
/// `min_fetched_pages` pages are read after them), or `min_queries` distinct queries within
/// `volume_window_minutes` followed by `min_fetched_pages` fetched pages (medium).
pub(crate) fn search_then_fetch(ctx: &Ctx, a: &Actor<'_>, rq: &Requests) -> Vec<Draft> {
    let c = &ctx.cfg.search_then_fetch;
    let fetch = minutes_ms(c.fetch_window_minutes);
    let nq = rq.strs.len();
    let qid = |i: u32| match rq.get(a.ev[i as usize].request) {
        Req::Search { q, .. } => *q,
        _ => NONE,
    };
    let searches: Vec<u32> = (0..a.ev.len())
        .filter(|&i| {
            let e = &a.ev[i];
            e.action == Action::Search && ok_status(e.status) && matches!(rq.get(e.request), Req::Search { .. })
        })
        .map(|i| i as u32)
        .collect();
    let mut out = Vec::new();

    // Sensitive-term hunting.
    let sens = searches
        .iter()
        .copied()
        .filter(|&i| matches!(rq.get(a.ev[i as usize].request), Req::Search { sensitive: true, .. }));
    let ssub = Sub::collect(a, sens, qid);
    let sw = minutes_ms(c.sensitive_window_minutes);
    for p in peaks(&ssub.ts, Some(&ssub.key), nq, sw, c.min_sensitive_queries, ctx.dedup_ms) {
        let mut ev = ssub.evidence(a, &p);
        let t0 = ssub.ts[p.lo];
        let reads = a.reads_between(t0, ssub.ts[p.hi].saturating_add(fetch).saturating_add(1));
        let n = fetched(a, reads, &mut ev);
        // A few sensitive searches and some reading is an ordinary day for many users (generated
        // sites show it on ~9% of users); high needs a sweep of the term list and the fetches.
        let sev = if n >= u64::from(c.min_fetched_pages) && p.value >= c.high_sensitive_queries {
            Severity::High
        } else {
            c.sensitive_severity
        };
        out.push(
            Draft::new(Detector::SearchThenFetch, sev, f64::from(p.value), f64::from(c.min_sensitive_queries), ev)
                .count("sensitive_queries", p.value)
                .count("searches", p.len())
                .count("fetched_pages", n)
                .count("window_minutes", c.sensitive_window_minutes)
                .note("queries", Note::Text(rq.sample_queries(a, &ssub.ev[p.lo..=p.hi]))),
        );
    }

    // Query volume followed by fetches: searches in [lo, hi] within the volume window, reads in
    // [ts(lo), ts(hi) + fetch]. Both bounds only move forward, so two more pointers suffice.
    let sub = Sub::collect(a, searches.iter().copied(), qid);
    let vw = minutes_ms(c.volume_window_minutes);
    let reads = &a.reads[..];
    let mut qc = vec![0u32; nq];
    let mut pc = vec![0u32; a.npages];
    let (mut qd, mut pd) = (0u32, 0u32);
    let (mut lo, mut rlo, mut rhi) = (0usize, 0usize, 0usize);
    let mut eps: Episodes<(usize, usize, u32, usize, usize, u32)> = Episodes::new(ctx.dedup_ms);
    for hi in 0..sub.ts.len() {
        if let Some(c) = qc.get_mut(sub.key[hi] as usize) {
            if *c == 0 {
                qd += 1;
            }
            *c += 1;
        }
        while sub.ts[hi].saturating_sub(sub.ts[lo]) >= vw {
            if let Some(c) = qc.get_mut(sub.key[lo] as usize) {
                *c -= 1;
                if *c == 0 {
                    qd -= 1;
                }
            }
            lo += 1;
        }
        let upper = sub.ts[hi].saturating_add(fetch);
        while rhi < reads.len() && a.ts(reads[rhi]) <= upper {
            if let Some(c) = pc.get_mut(a.lpage[reads[rhi] as usize] as usize) {
                if *c == 0 {
                    pd += 1;
                }
                *c += 1;
            }
            rhi += 1;
        }
        while rlo < rhi && a.ts(reads[rlo]) < sub.ts[lo] {
            if let Some(c) = pc.get_mut(a.lpage[reads[rlo] as usize] as usize) {
                *c -= 1;
                if *c == 0 {
                    pd -= 1;
                }
            }
            rlo += 1;
        }
        if qd >= c.min_queries && pd >= c.min_fetched_pages {
            let strength = (u64::from(qd) << 32) | u64::from(pd);
            eps.offer(sub.ts[hi], strength, (lo, hi, qd, rlo, rhi, pd));
        }
    }
    for (lo, hi, qd, rlo, rhi, pd) in eps.finish() {
        let mut ev = EvLite::of(a.ev, sub.ev[lo..=hi].iter().copied());
        for &i in &reads[rlo..rhi] {
            ev.push(&a.ev[i as usize]);
        }
        out.push(
            Draft::new(Detector::SearchThenFetch, Severity::Medium, f64::from(qd), f64::from(c.min_queries), ev)
                .count("distinct_queries", qd)
                .count("searches", (hi - lo + 1) as u64)
                .count("fetched_pages", pd)
                .count("window_minutes", c.volume_window_minutes)
                .note("queries", Note::Text(rq.sample_queries(a, &sub.ev[lo..=hi]))),
        );
    }
    dedupe(out, ctx.dedup_ms)
}

#[cfg(test)]
mod tests {
    use super::word_start;

    #[test]
    fn terms_match_at_word_starts() {
        assert!(word_start("aws keys", "aws"));
        assert!(!word_start("laws", "aws"));
        assert!(word_start("text ~ \"passwords\"", "password"));
        assert!(word_start("x-api key", "api key"));
        assert!(!word_start("anything", ""));
    }
}
