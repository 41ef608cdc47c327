//! Sliding-window volume detectors: D1 burst, D2 space breadth, D10 exports, D16 denied probing.

use pagetrail_core::Action;

use crate::actor::{dedupe, Actor, Draft, Note, NONE};
use crate::engine::{minutes_ms, ok_status, Ctx};
use crate::window::{peaks, Sub};
use crate::{Detector, Severity};

/// D1 read tiers: distinct pages read per sliding window. These drafts are also the "D1 low
/// tier" crossings that api-crawl, privileged and dormant build on.
pub(crate) fn read_tiers(ctx: &Ctx, a: &Actor<'_>) -> Vec<Draft> {
    let sub = Sub::collect(a, a.reads.iter().copied(), |i| a.lpage[i as usize]);
    let mut out = Vec::new();
    for t in &ctx.cfg.burst.tiers {
        let w = minutes_ms(t.window_minutes);
        for p in peaks(&sub.ts, Some(&sub.key), a.npages, w, t.min_distinct, ctx.dedup_ms) {
            out.push(
                Draft::new(
                    Detector::Burst,
                    t.severity,
                    f64::from(p.value),
                    f64::from(t.min_distinct),
                    sub.evidence(a, &p),
                )
                .count("distinct_pages", p.value)
                .count("reads", p.len())
                .count("window_minutes", t.window_minutes),
            );
        }
    }
    dedupe(out, ctx.dedup_ms)
}

/// D1 attachment tier: distinct pages downloaded or exported.
pub(crate) fn attachment_tier(ctx: &Ctx, a: &Actor<'_>) -> Vec<Draft> {
    let t = &ctx.cfg.burst.attachment;
    let idx = a.reads.iter().copied().filter(|&i| matches!(a.ev[i as usize].action, Action::Download | Action::Export));
    let sub = Sub::collect(a, idx, |i| a.lpage[i as usize]);
    let w = minutes_ms(t.window_minutes);
    peaks(&sub.ts, Some(&sub.key), a.npages, w, t.min_distinct, ctx.dedup_ms)
        .into_iter()
        .map(|p| {
            Draft::new(Detector::Burst, t.severity, f64::from(p.value), f64::from(t.min_distinct), sub.evidence(a, &p))
                .count("distinct_attachment_pages", p.value)
                .count("downloads", p.len())
                .count("window_minutes", t.window_minutes)
        })
        .collect()
}

/// D2: distinct known spaces among the reads of a sliding window.
pub(crate) fn space_breadth(ctx: &Ctx, a: &Actor<'_>) -> Vec<Draft> {
    let idx = a.reads.iter().copied().filter(|&i| a.lspace[i as usize] != NONE);
    let sub = Sub::collect(a, idx, |i| a.lspace[i as usize]);
    let mut out = Vec::new();
    for t in &ctx.cfg.space_breadth.tiers {
        let w = minutes_ms(t.window_minutes);
        for p in peaks(&sub.ts, Some(&sub.key), a.spaces.len(), w, t.min_distinct, ctx.dedup_ms) {
            let mut spaces: Vec<u32> = Vec::new();
            for &k in &sub.key[p.lo..=p.hi] {
                if spaces.len() < 5 && !spaces.contains(&a.spaces[k as usize]) {
                    spaces.push(a.spaces[k as usize]);
                }
            }
            out.push(
                Draft::new(
                    Detector::SpaceBreadth,
                    t.severity,
                    f64::from(p.value),
                    f64::from(t.min_distinct),
                    sub.evidence(a, &p),
                )
                .count("distinct_spaces", p.value)
                .count("reads", p.len())
                .count("window_minutes", t.window_minutes)
                .note("example_spaces", Note::Spaces(spaces)),
            );
        }
    }
    dedupe(out, ctx.dedup_ms)
}

/// D16: 401/403/404 (configurable) on content requests (view, API, download, export, listings).
pub(crate) fn denied(ctx: &Ctx, a: &Actor<'_>) -> Vec<Draft> {
    let c = &ctx.cfg.denied_probing;
    let idx = (0..a.ev.len()).map(|i| i as u32).filter(|&i| {
        let e = &a.ev[i as usize];
        (e.action.is_content() || matches!(e.action, Action::ApiList | Action::SpaceExport))
            && c.statuses.contains(&e.status)
    });
    let sub = Sub::collect(a, idx, |_| 0);
    let w = minutes_ms(c.window_minutes);
    let out = peaks(&sub.ts, None, 0, w, c.min_denied, ctx.dedup_ms)
        .into_iter()
        .map(|p| {
            let distinct = {
                let mut v: Vec<u32> =
                    sub.ev[p.lo..=p.hi].iter().map(|&i| a.ev[i as usize].page).filter(|&pg| pg != 0).collect();
                v.sort_unstable();
                v.dedup();
                v.len() as u64
            };
            Draft::new(
                Detector::DeniedProbing,
                Severity::Medium,
                f64::from(p.value),
                f64::from(c.min_denied),
                sub.evidence(a, &p),
            )
            .count("denied", p.value)
            .count("distinct_pages", distinct)
            .count("window_minutes", c.window_minutes)
        })
        .collect();
    dedupe(out, ctx.dedup_ms)
}

/// D10: site exports (high, always), space exports (medium, always), page exports (high at
/// `min_page_exports` distinct pages per window). `site` lists the window's site-export events.
pub(crate) fn exports(ctx: &Ctx, a: &Actor<'_>, site: &[u32]) -> Vec<Draft> {
    let c = &ctx.cfg.export;
    let period = ctx.dedup_ms.max(1);
    let mut out = Vec::new();

    let sub = Sub::collect(a, site.iter().copied(), |_| 0);
    for p in peaks(&sub.ts, None, 0, period, 1, ctx.dedup_ms) {
        out.push(
            Draft::new(Detector::Export, Severity::High, f64::from(p.value), 1.0, sub.evidence(a, &p))
                .count("site_exports", p.value)
                .note("kind", Note::Text("site export".into())),
        );
    }

    let idx = (0..a.ev.len()).map(|i| i as u32).filter(|&i| {
        let e = &a.ev[i as usize];
        e.action == Action::SpaceExport && ok_status(e.status)
    });
    let sub = Sub::collect(a, idx, |_| 0);
    for p in peaks(&sub.ts, None, 0, period, 1, ctx.dedup_ms) {
        let mut spaces: Vec<u32> = Vec::new();
        for &i in &sub.ev[p.lo..=p.hi] {
            let s = a.ev[i as usize].space;
            if s != 0 && !spaces.contains(&s) {
                spaces.push(s);
            }
        }
        let n = spaces.len() as u64;
        spaces.truncate(5);
        out.push(
            Draft::new(
                Detector::Export,
                ctx.cfg.export.space_export_severity,
                f64::from(p.value),
                1.0,
                sub.evidence(a, &p),
            )
            .count("space_export_requests", p.value)
            .count("distinct_spaces", n)
            .note("kind", Note::Text("space export".into()))
            .note("spaces", Note::Spaces(spaces)),
        );
    }

    let idx = a.reads.iter().copied().filter(|&i| a.ev[i as usize].action == Action::Export);
    let sub = Sub::collect(a, idx, |i| a.lpage[i as usize]);
    let w = minutes_ms(c.page_window_minutes);
    for p in peaks(&sub.ts, Some(&sub.key), a.npages, w, c.min_page_exports, ctx.dedup_ms) {
        out.push(
            Draft::new(
                Detector::Export,
                Severity::High,
                f64::from(p.value),
                f64::from(c.min_page_exports),
                sub.evidence(a, &p),
            )
            .count("distinct_exported_pages", p.value)
            .count("page_exports", p.len())
            .count("window_minutes", c.page_window_minutes)
            .note("kind", Note::Text("page export".into())),
        );
    }
    dedupe(out, ctx.dedup_ms)
}
