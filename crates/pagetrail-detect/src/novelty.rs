//! Novelty and identity detectors: D5 first-seen spaces, D6 new source, D7 scripted agent,
//! D11 privileged reader, D14 dormant or new account.

use pagetrail_core::time::{day_of, DAY_MS};

use crate::actor::{dedupe, Actor, Draft, EvLite, Note, NONE};
use crate::engine::{days_ms, AgentInfo, Ctx};
use crate::fasthash::IdMap;
use crate::{Detector, Severity};

/// The first read of a space the actor had not read within the lookback.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FirstTouch {
    pub space: u32,
    pub page: u32,
    pub ts: i64,
    pub file: u32,
    pub line: u64,
}

/// The first-seen spaces of one UTC window day (decided in `Engine::finish`, which knows the
/// peers).
#[derive(Clone, Debug)]
pub(crate) struct NewSpaceDay {
    pub day: i64,
    pub firsts: Vec<FirstTouch>,
}

impl NewSpaceDay {
    pub fn evidence(&self, only: impl Fn(&FirstTouch) -> bool) -> EvLite {
        let mut ev = EvLite::new();
        for f in self.firsts.iter().filter(|f| only(f)) {
            ev.push_parts(f.ts, f.page, f.file, f.line);
        }
        ev
    }
}

/// D5, per actor: window reads of spaces not read in the `lookback_days` before, grouped by
/// UTC day. Actors seen for less than `min_history_days` are skipped (everything is new to
/// them; D14 covers new accounts).
pub(crate) fn new_spaces(ctx: &Ctx, a: &Actor<'_>) -> Vec<NewSpaceDay> {
    let c = &ctx.cfg.new_space;
    let mut last = vec![i64::MIN; a.spaces.len()];
    let mut hist_last: IdMap<u32, i64> = IdMap::default();
    for h in a.hist {
        for (_, s) in h.pages().filter(|(_, s)| *s != 0) {
            hist_last.insert(s, h.day);
        }
    }
    for (l, s) in a.spaces.iter().enumerate() {
        if let Some(&d) = hist_last.get(s) {
            last[l] = d;
        }
    }
    let hist = days_ms(c.min_history_days);
    let first_ts = a.first_ts();
    let mut out: Vec<NewSpaceDay> = Vec::new();
    for &i in &a.reads {
        let s = a.lspace[i as usize];
        if s == NONE {
            continue;
        }
        let e = &a.ev[i as usize];
        let d = day_of(e.ts_ms);
        let prev = std::mem::replace(&mut last[s as usize], d);
        let new = prev == i64::MIN || d - prev > i64::from(c.lookback_days);
        if new && first_ts <= e.ts_ms.saturating_sub(hist) {
            let f = FirstTouch { space: e.space, page: e.page, ts: e.ts_ms, file: e.file, line: e.line };
            match out.last_mut() {
                Some(nd) if nd.day == d => nd.firsts.push(f),
                _ => out.push(NewSpaceDay { day: d, firsts: vec![f] }),
            }
        }
    }
    out
}

/// The space the actor read most over the `peer_baseline_days` whole UTC days before the
/// window's first day (and that day before the window), or over all reads when there were
/// none: the peer-group key of D4 and D5. 0 = no known space.
pub(crate) fn most_read_space(ctx: &Ctx, a: &Actor<'_>) -> u32 {
    let from_day = day_of(ctx.from) - i64::from(ctx.cfg.peer_outlier.peer_baseline_days);
    let pick = |with_window: bool, min_day: i64| -> u32 {
        let mut counts: IdMap<u32, u64> = IdMap::default();
        for h in a.hist.iter().filter(|h| h.day >= min_day) {
            for (p, s) in h.pages().filter(|(_, s)| *s != 0) {
                *counts.entry(s).or_default() += u64::from(p.reads);
            }
        }
        if with_window {
            for &i in &a.reads {
                let s = a.ev[i as usize].space;
                if s != 0 {
                    *counts.entry(s).or_default() += 1;
                }
            }
        }
        // Ties go to the smaller space id, so the key does not depend on event order.
        counts.iter().max_by(|(s, c), (t, d)| c.cmp(d).then(t.cmp(s))).map_or(0, |(&s, _)| s)
    };
    match pick(false, from_day) {
        0 => pick(true, i64::MIN),
        s => s,
    }
}

/// Distinct space ids the actor read, history included.
pub(crate) fn read_spaces(a: &Actor<'_>) -> Vec<u32> {
    let mut out: Vec<u32> = a.hist.iter().flat_map(|h| h.spaces.iter().copied()).filter(|&s| s != 0).collect();
    out.extend(a.reads.iter().map(|&i| a.ev[i as usize].space).filter(|&s| s != 0));
    out.sort_unstable();
    out.dedup();
    out
}

/// A value (address, agent family) used by the actor for the first time in the lookback.
struct Fresh {
    value: u32,
    prev: Option<i64>,
    first: u32,
    deadline: i64,
    reads: u32,
    ev: EvLite,
}

/// Values of `val` first used (or used again after `lookback_ms`) inside the window, by actors
/// seen at least `history_ms` earlier, with the reads made through them before `deadline`.
/// `hist_last` is each value's last use before the window.
fn scan_new(
    a: &Actor<'_>,
    val: impl Fn(usize) -> Option<u32>,
    hist_last: &IdMap<u32, i64>,
    lookback_ms: i64,
    history_ms: i64,
    deadline: impl Fn(i64) -> i64,
) -> Vec<Fresh> {
    let mut local: IdMap<u32, usize> = IdMap::default();
    let mut last: Vec<i64> = Vec::new();
    let mut open: Vec<Option<Fresh>> = Vec::new();
    let mut done = Vec::new();
    let first_ts = a.first_ts();
    for (i, e) in a.ev.iter().enumerate() {
        let Some(v) = val(i) else { continue };
        let l = *local.entry(v).or_insert_with(|| {
            last.push(hist_last.get(&v).copied().unwrap_or(i64::MIN));
            open.push(None);
            last.len() - 1
        });
        let prev = std::mem::replace(&mut last[l], e.ts_ms);
        let fresh = prev == i64::MIN || e.ts_ms.saturating_sub(prev) >= lookback_ms;
        if fresh && first_ts <= e.ts_ms.saturating_sub(history_ms) {
            if let Some(o) = open[l].take() {
                done.push(o);
            }
            open[l] = Some(Fresh {
                value: v,
                prev: (prev != i64::MIN).then_some(prev),
                first: i as u32,
                deadline: deadline(e.ts_ms),
                reads: 0,
                ev: EvLite::new(),
            });
        }
        if let Some(o) = open[l].as_mut() {
            if e.ts_ms < o.deadline {
                if a.is_read(i) {
                    o.reads += 1;
                    o.ev.push(e);
                } else if o.ev.n == 0 {
                    // The event that introduced the value opens the evidence.
                    o.ev.push(e);
                }
            }
        }
    }
    done.extend(open.into_iter().flatten());
    done.sort_by_key(|f| f.first);
    done
}

/// The last use of each address and agent family before the window.
#[derive(Default)]
pub(crate) struct Seen {
    pub addrs: IdMap<u32, i64>,
    pub families: IdMap<u32, i64>,
}

impl Seen {
    /// From the history digests; `family` maps an agent id to its family.
    pub fn of(a: &Actor<'_>, mut family: impl FnMut(u32) -> u32) -> Seen {
        let mut s = Seen::default();
        for h in a.hist {
            for (ip, t) in h.addrs() {
                let v = s.addrs.entry(ip).or_insert(t);
                *v = (*v).max(t);
            }
            for (agent, t) in h.agents() {
                let v = s.families.entry(family(agent)).or_insert(t);
                *v = (*v).max(t);
            }
        }
        s
    }
}

/// Merges overlapping drafts of one detector, keeping every note (a new laptop brings a new
/// address and a new agent at once: one alert, both facts).
fn merge_overlapping(mut v: Vec<Draft>) -> Vec<Draft> {
    v.sort_by_key(|d| d.ev.start);
    let mut out: Vec<Draft> = Vec::new();
    for d in v {
        match out.last_mut() {
            Some(m) if d.ev.start <= m.ev.end => {
                if d.stronger(m).is_gt() {
                    m.severity = d.severity;
                    m.value = d.value;
                    m.threshold = d.threshold;
                    m.counts = d.counts;
                }
                m.ev.merge(&d.ev);
                m.notes.extend(d.notes);
            }
            _ => out.push(d),
        }
    }
    out
}

/// D6 new source: reads through an address unused for `ip_lookback_days` or an agent family
/// unused for `agent_lookback_days`, at least `min_reads` within `within_hours` (low; medium
/// when the actor also has a burst or baseline alert that day). Anonymous actors are keyed by
/// address, so only their agents can be new.
pub(crate) fn new_sources(ctx: &Ctx, a: &Actor<'_>, agents: &[AgentInfo], seen: &Seen, boost: &[Draft]) -> Vec<Draft> {
    let c = &ctx.cfg.new_source;
    let within = i64::from(c.within_hours) * 3_600_000;
    let hist = days_ms(c.min_history_days);
    let mut out = Vec::new();
    let draft = |f: &Fresh| {
        let mut d =
            Draft::new(Detector::NewSource, Severity::Low, f64::from(f.reads), f64::from(c.min_reads), f.ev.clone())
                .count("reads", f.reads)
                .count("within_hours", c.within_hours);
        if let Some(p) = f.prev {
            let first = a.ev.get(f.first as usize).map_or(p, |e| e.ts_ms);
            d = d.count("days_since_last_use", ((first - p) / DAY_MS) as u64);
        }
        d
    };
    if a.anon_ip.is_none() {
        let val = |i: usize| Some(a.ev[i].ip).filter(|&ip| ip != 0);
        let lb = days_ms(c.ip_lookback_days);
        for f in scan_new(a, val, &seen.addrs, lb, hist, |t| t.saturating_add(within)) {
            if f.reads >= c.min_reads {
                out.push(draft(&f).note("new_ip", Note::Ip(f.value)));
            }
        }
    }
    let val = |i: usize| agents.get(i).map(|g| g.family);
    let lb = days_ms(c.agent_lookback_days);
    for f in scan_new(a, val, &seen.families, lb, hist, |t| t.saturating_add(within)) {
        if f.reads >= c.min_reads {
            let agent = a.ev.get(f.first as usize).map_or(0, |e| e.agent);
            out.push(draft(&f).note("new_agent", Note::Agent(agent)));
        }
    }
    for d in &mut out {
        let day = day_of(d.ev.start);
        if boost.iter().any(|b| day_of(b.ev.start) <= day && day <= day_of(b.ev.end)) {
            d.severity = Severity::Medium;
            d.counts.push(("with_volume_alert", 1));
        }
    }
    merge_overlapping(out)
}

/// D7 scripted agent (context; low): per UTC day, at least `min_reads_per_day` reads through an
/// agent matching `patterns` (or empty), or at least `unseen_min_reads_per_day` reads through
/// an agent family the actor had not used for `unseen_days`.
pub(crate) fn scripted(ctx: &Ctx, a: &Actor<'_>, agents: &[AgentInfo], seen: &Seen) -> Vec<Draft> {
    let c = &ctx.cfg.scripted_agent;
    let mut out = Vec::new();
    let mut flush = |day_ev: &mut Option<(i64, EvLite, u32)>| {
        if let Some((_, ev, agent)) = day_ev.take() {
            if ev.n >= u64::from(c.min_reads_per_day) {
                let n = ev.n;
                out.push(
                    Draft::new(Detector::ScriptedAgent, Severity::Low, n as f64, f64::from(c.min_reads_per_day), ev)
                        .count("reads", n)
                        .note("agent", Note::Agent(agent))
                        .note("rule", Note::Text("scripted agent pattern".into())),
                );
            }
        }
    };
    let mut cur: Option<(i64, EvLite, u32)> = None;
    for &i in &a.reads {
        if !agents.get(i as usize).is_some_and(|g| g.scripted) {
            continue;
        }
        let e = &a.ev[i as usize];
        let d = day_of(e.ts_ms);
        if cur.as_ref().is_some_and(|(cd, _, _)| *cd != d) {
            flush(&mut cur);
        }
        cur.get_or_insert_with(|| (d, EvLite::new(), e.agent)).1.push(e);
    }
    flush(&mut cur);

    let lb = days_ms(c.unseen_days);
    let val = |i: usize| agents.get(i).map(|g| g.family);
    for f in scan_new(a, val, &seen.families, lb, lb, |t| (day_of(t) + 1) * DAY_MS) {
        if f.reads >= c.unseen_min_reads_per_day {
            let agent = a.ev.get(f.first as usize).map_or(0, |e| e.agent);
            out.push(
                Draft::new(
                    Detector::ScriptedAgent,
                    Severity::Low,
                    f64::from(f.reads),
                    f64::from(c.unseen_min_reads_per_day),
                    f.ev,
                )
                .count("reads", f.reads)
                .count("unseen_days", c.unseen_days)
                .note("agent", Note::Agent(agent))
                .note("rule", Note::Text("agent unseen for this actor".into())),
            );
        }
    }
    dedupe(out, 0)
}

/// D11: every D1 low-tier crossing by a privileged account is high (admin-key and
/// impersonation sessions are not in access logs). A listed admin is privileged throughout;
/// a learned one from `since`, its first admin action, so a crossing that ended before it
/// does not count.
pub(crate) fn privileged(low: &[Draft], listed: bool, admin_requests: u64, since: Option<i64>) -> Vec<Draft> {
    low.iter()
        .filter(|b| listed || since.is_some_and(|t| b.ev.end >= t))
        .map(|b| {
            let mut d = b.clone();
            d.det = Detector::Privileged;
            d.severity = Severity::High;
            d.count("admin_requests", admin_requests).note(
                "privilege",
                Note::Text(if listed { "listed admin" } else { "seen on admin requests or audit records" }.into()),
            )
        })
        .collect()
}

/// D14: a D1 low-tier crossing within `recent_days` of the actor coming back after at least
/// `dormant_days` without events (high), or of its first event when nothing was seen for
/// `dormant_days` before that in the supplied history (a new account; medium). Anonymous
/// actors are skipped: every unseen address would be "new".
pub(crate) fn dormant(ctx: &Ctx, a: &Actor<'_>, low: &[Draft]) -> Vec<Draft> {
    if a.anon_ip.is_some() || low.is_empty() || a.ev.is_empty() {
        return Vec::new();
    }
    let c = &ctx.cfg.dormant;
    let dms = days_ms(c.dormant_days);
    let rms = days_ms(c.recent_days);
    // (instant activity resumed, gap before it; None = first seen). Gaps inside a history day
    // are under a day, shorter than any dormancy.
    let mut epochs: Vec<(i64, Option<i64>)> = Vec::new();
    let first = a.first_ts();
    if first.saturating_sub(ctx.hist_from) >= dms {
        epochs.push((first, None));
    }
    let spans = a.hist.iter().map(|h| (h.first_ms(), h.last_ms())).chain(a.ev.iter().map(|e| (e.ts_ms, e.ts_ms)));
    let mut prev: Option<i64> = None;
    for (f, l) in spans {
        if let Some(p) = prev {
            let gap = f.saturating_sub(p);
            if gap >= dms {
                epochs.push((f, Some(gap)));
            }
        }
        prev = Some(l);
    }
    let mut out = Vec::new();
    for b in low {
        let k = epochs.partition_point(|&(t, _)| t <= b.ev.start);
        let Some(&(t, gap)) = k.checked_sub(1).and_then(|k| epochs.get(k)) else {
            continue;
        };
        let since = b.ev.start - t;
        if since >= rms {
            continue;
        }
        let mut d = b.clone();
        d.det = Detector::Dormant;
        d = match gap {
            Some(g) => {
                d.severity = Severity::High;
                d.count("dormant_days", (g / DAY_MS) as u64).note("returned", Note::Time(t))
            }
            None => {
                d.severity = Severity::Medium;
                d.count("account_age_days", (since / DAY_MS) as u64).note("first_seen", Note::Time(t))
            }
        };
        out.push(d);
    }
    out
}
