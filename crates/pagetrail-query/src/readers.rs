//! `top-readers` and `who-read`: per-user read totals over a window, from the indexes.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use pagetrail_core::time::{month_of_day, month_start_day, DAY_MS};
use pagetrail_core::{is_read, PageRef};
use pagetrail_index::keys::{plan, Grain, Span};
use pagetrail_index::Counters;
use pagetrail_store::dict::{lookup, page_ref_bytes};
use pagetrail_store::index::{self, Entity, UserCursors};
use pagetrail_store::users::UserMap;
use pagetrail_store::{events, Dict, DictKind, EventRow, Store, Totals};
use roaring::RoaringBitmap;

use crate::audit::{audit_reads, AuditReads};
use crate::window::Plan;
use crate::{PageMap, ReaderRow, Result, Window};

/// What `top-readers` ranks by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Pages,
    Events,
    Bytes,
}

impl By {
    /// The ranking key of a reader with these totals.
    fn key(self, events: u64, bytes: u64, distinct_pages: u64) -> u64 {
        match self {
            By::Pages => distinct_pages,
            By::Events => events,
            By::Bytes => bytes,
        }
    }
}

/// What `who-read` asks about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Page(u64),
    Space(String),
    /// Space key and title.
    Title(String, String),
}

#[derive(Default)]
struct Acc {
    events: u64,
    bytes: u64,
    first: i64,
    last: i64,
    pages: RoaringBitmap,
}

impl Acc {
    fn counters(&mut self, c: &Counters, period_start_ms: i64) {
        let (f, l) = (period_start_ms + c.first as i64, period_start_ms + c.last as i64);
        if self.events == 0 {
            (self.first, self.last) = (f, l);
        } else {
            self.first = self.first.min(f);
            self.last = self.last.max(l);
        }
        self.events += c.events;
        self.bytes += c.bytes;
    }

    fn row(&mut self, r: &EventRow) {
        self.counters(&Counters::one(r.bytes, 0), r.ts_ms);
        self.pages.insert(r.page);
    }
}

fn period_start_ms(grain: Grain, period: u32) -> i64 {
    match grain {
        Grain::Day => i64::from(period) * DAY_MS,
        Grain::Month => month_start_day(i64::from(period)) * DAY_MS,
    }
}

fn spans(p: &Plan) -> Vec<Span> {
    plan(p.days.0, p.days.1)
}

/// Sums `user_days` rows (when `counters`) and unions `user_pages` rows (when `pages`) of one
/// user over the spans.
fn user_from_index(
    store: &Store,
    cur: &mut UserCursors<'_>,
    user: u32,
    spans: &[Span],
    acc: &mut Acc,
    counters: bool,
    pages: bool,
) -> Result<()> {
    for s in spans {
        if counters {
            cur.counters(store, user, s, |g, p, c| acc.counters(&c, period_start_ms(g, p)))?;
        }
        if pages {
            cur.pages(store, user, s, &mut acc.pages)?;
        }
    }
    Ok(())
}

/// Adds the reader lists (page_users or space_users) of one entity over the spans, per user.
fn entity_users(store: &Store, e: Entity, spans: &[Span], accs: &mut HashMap<u32, Acc>) -> Result<()> {
    for s in spans {
        index::readers_in(store, e, s, |g, p, u, c| accs.entry(u).or_default().counters(&c, period_start_ms(g, p)))?;
    }
    Ok(())
}

/// A day's readers, sorted by how a partial-day edge `[from, to)` of that day holds their
/// reads, judged by the first and last read of their day rows: wholly (the day's counters and
/// pages stand for the edge), not at all (nothing to add), or cut (recounted from raw events).
/// Most of a day's readers fall in the first two: only those reading across the edge's
/// boundary need their events read.
#[derive(Debug, Default)]
struct EdgeSplit {
    whole: HashMap<u32, Counters>,
    /// Sorted, so the recount reads `events` in key order.
    cut: Vec<u32>,
    /// The cut readers' whole-day counters: the most the edge can add to each.
    cut_day: HashMap<u32, Counters>,
}

impl EdgeSplit {
    /// From the day rows `(user, counters)` of the edge's day (a user may have several, one per
    /// page reference of a page).
    fn new((from, to): (i64, i64), rows: impl IntoIterator<Item = (u32, Counters)>) -> EdgeSplit {
        let day_ms = from.div_euclid(DAY_MS) * DAY_MS;
        debug_assert!(to - day_ms <= DAY_MS, "an edge never spans days");
        let mut by_user: HashMap<u32, Counters> = HashMap::new();
        for (u, c) in rows {
            by_user.entry(u).and_modify(|a| a.add(&c)).or_insert(c);
        }
        let mut split = EdgeSplit::default();
        for (u, c) in by_user {
            let (first, last) = (day_ms + c.first as i64, day_ms + c.last as i64);
            if first >= from && last < to {
                split.whole.insert(u, c);
            } else if last >= from && first < to {
                split.cut.push(u);
                split.cut_day.insert(u, c);
            }
        }
        split.cut.sort_unstable();
        split
    }

    /// Every user to recount: all of them while rows of formats 3 and 4 that lead with the
    /// user remain (the period-major day rows do not show those).
    fn everyone(n_users: u32) -> EdgeSplit {
        EdgeSplit { whole: HashMap::new(), cut: (1..=n_users).collect(), cut_day: HashMap::new() }
    }

    /// Adds the wholly held readers' day counters; their pages come from the caller's day rows.
    fn add_whole(&self, edge: (i64, i64), accs: &mut HashMap<u32, Acc>) {
        let day_ms = edge.0.div_euclid(DAY_MS) * DAY_MS;
        for (&u, c) in &self.whole {
            accs.entry(u).or_default().counters(c, day_ms);
        }
    }
}

/// The day span of an edge, whose daily rows [`EdgeSplit`] reads.
fn edge_day(edge: (i64, i64)) -> Span {
    let day = edge.0.div_euclid(DAY_MS) as u32;
    Span { grain: Grain::Day, start: day, end: day + 1 }
}

/// Recounts the reads of the cut users of one edge `[from, to)` from raw events, on both cores.
fn recount_edge(
    store: &Store,
    edge: (i64, i64),
    users: &[u32],
    keep: &(dyn Fn(&EventRow) -> bool + Sync),
    audit: &AuditReads,
    accs: &mut HashMap<u32, Acc>,
) -> Result<()> {
    let parts = in_parallel_over(users, |some| {
        let mut part = HashMap::new();
        edge_from_events(store, edge, some.iter().copied(), keep, audit, &mut part)?;
        Ok(part)
    });
    absorb(accs, parts)
}

/// Recounts the reads of the given users in one partial-day edge `[from, to)` from raw events.
fn edge_from_events(
    store: &Store,
    (from, to): (i64, i64),
    users: impl Iterator<Item = u32>,
    keep: &dyn Fn(&EventRow) -> bool,
    audit: &AuditReads,
    accs: &mut HashMap<u32, Acc>,
) -> Result<()> {
    for u in users {
        events::scan_user(store, u, from, to, |rows| {
            for r in rows {
                // Audit downloads are added from `audit` for the whole window.
                let counted = r.page != 0 && is_read(r.action, r.status, true) && !audit.is_audit(r.file, r.line);
                if r.ts_ms >= from && r.ts_ms < to && counted && keep(r) {
                    accs.entry(u).or_default().row(r);
                }
            }
        })?;
    }
    Ok(())
}

/// How an edge holds each of the day's readers of anything, from the daily `user_days` rows
/// (every counted read adds to one).
fn edge_split(store: &Store, edge: (i64, i64), user_major: bool, n_users: u32) -> Result<EdgeSplit> {
    if user_major {
        return Ok(EdgeSplit::everyone(n_users));
    }
    let mut rows = Vec::new();
    index::counters_in(store, &edge_day(edge), |u, _, _, c| rows.push((u, c)))?;
    Ok(EdgeSplit::new(edge, rows))
}

/// The users cut by `splits` (edges of a window) whose recount could change the first
/// `limit` rows of `top-readers`. Each person's total lies between what `accs` holds already
/// (everything but the cut edges: the lower bound) and that plus the whole days the edges cut
/// (the upper bound). At least `limit` people reach the `limit`-th highest lower bound, so
/// a person whose upper bound stays below it ranks after them whatever the edges add.
/// Returns the others, each person's cut ids with its upper bound, highest first
/// (`u64::MAX` for ids no day row bounds).
fn worth_recounting(
    store: &Store,
    splits: &[((i64, i64), EdgeSplit)],
    accs: &HashMap<u32, Acc>,
    um: &UserMap,
    pm: &PageMap,
    by: By,
    limit: usize,
) -> Result<Vec<(u64, Vec<u32>)>> {
    // Every user a day row does not bound (rows that lead with the user remain) is recounted.
    let mut unbounded: Vec<u32> = Vec::new();
    let mut upper: HashMap<u32, Acc> = HashMap::new();
    for (_, split) in splits {
        for &u in &split.cut {
            match split.cut_day.get(&u) {
                Some(c) => upper.entry(u).or_default().counters(c, 0),
                None => unbounded.push(u),
            }
        }
    }
    let mut worth: Vec<(u64, Vec<u32>)> = if unbounded.is_empty() { Vec::new() } else { vec![(u64::MAX, unbounded)] };
    if upper.is_empty() || limit == 0 {
        return Ok(worth);
    }
    if by == By::Pages {
        for (edge, split) in splits {
            let day = &split.cut_day;
            index::pages_in(store, &edge_day(*edge), &mut upper, |u| day.contains_key(&u), |a| &mut a.pages)?;
        }
    }
    // People as `finish` ranks them: a user key or account id counts as its person.
    let mut people: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&u, a) in accs {
        if a.events > 0 {
            people.entry(um.canon(u)).or_default().push(u);
        }
    }
    for &u in upper.keys() {
        people.entry(um.canon(u)).or_default().push(u);
    }
    // Each person's totals so far (the lower bound) and what its cut days could add. Distinct
    // pages, the dear part, are counted only where the ranking needs them: never more than
    // the page references held.
    struct Person<'a> {
        events: u64,
        bytes: u64,
        pages: Cow<'a, RoaringBitmap>,
        distinct: Option<u64>,
        /// Events, bytes and at most how many pages the cut days add; `None` if not cut.
        more: Option<(u64, u64, u64)>,
        ids: Vec<u32>,
    }
    let mut folks: Vec<Person> = Vec::with_capacity(people.len());
    for (_, mut ids) in people {
        ids.sort_unstable();
        ids.dedup();
        let (mut events, mut bytes) = (0, 0);
        for a in ids.iter().filter_map(|u| accs.get(u)) {
            (events, bytes) = (events + a.events, bytes + a.bytes);
        }
        let pages = person_pages(&ids, accs);
        let more = ids.iter().any(|u| upper.contains_key(u)).then(|| {
            // A page reference of a cut day not held yet adds at most one page (overlaps
            // count twice: still a bound).
            ids.iter().filter_map(|u| upper.get(u)).fold((0, 0, 0), |(e, b, p), a| {
                (e + a.events, b + a.bytes, p + a.pages.len() - a.pages.intersection_len(&pages))
            })
        });
        folks.push(Person { events, bytes, pages, distinct: None, more, ids });
    }
    let distinct = |p: &mut Person| *p.distinct.get_or_insert_with(|| pm.distinct(&p.pages));
    // The `limit`-th highest lower bound, by pages in falling order of references held, until
    // no one left can reach it.
    if by == By::Pages {
        folks.sort_unstable_by_key(|p| Reverse(p.pages.len()));
    }
    let mut best: BinaryHeap<Reverse<u64>> = BinaryHeap::new();
    for p in folks.iter_mut().filter(|p| p.events > 0) {
        let key = match by {
            By::Pages => {
                if best.len() == limit && best.peek().is_some_and(|m| m.0 >= p.pages.len()) {
                    break;
                }
                distinct(p)
            }
            _ => by.key(p.events, p.bytes, 0),
        };
        if best.len() < limit {
            best.push(Reverse(key));
        } else if best.peek().is_some_and(|m| m.0 < key) {
            best.pop();
            best.push(Reverse(key));
        }
    }
    let bar = if best.len() < limit { 0 } else { best.peek().map_or(0, |m| m.0) };
    for p in &mut folks {
        let Some((e, b, more_pages)) = p.more else { continue };
        let most = match by {
            By::Pages if p.pages.len() + more_pages < bar => continue,
            By::Pages => distinct(p) + more_pages,
            _ => by.key(p.events + e, p.bytes + b, 0),
        };
        if most >= bar {
            worth.push((most, p.ids.iter().copied().filter(|u| upper.contains_key(u)).collect()));
        }
    }
    worth.sort_unstable_by_key(|w| Reverse(w.0));
    Ok(worth)
}

/// The page references of a person of `ids` held in `accs`: a union only for a person of
/// several ids (rare).
fn person_pages<'a>(ids: &[u32], accs: &'a HashMap<u32, Acc>) -> Cow<'a, RoaringBitmap> {
    match ids {
        [u] => accs.get(u).map_or(Cow::Owned(RoaringBitmap::new()), |a| Cow::Borrowed(&a.pages)),
        _ => Cow::Owned(ids.iter().filter_map(|u| accs.get(u)).fold(RoaringBitmap::new(), |b, a| b | &a.pages)),
    }
}

/// Adds the audit downloads that count (no access-log twin) and that `keep(user, page)`
/// accepts.
fn add_audit(audit: &AuditReads, keep: &dyn Fn(u32, u32) -> bool, accs: &mut HashMap<u32, Acc>) {
    for d in audit.counted.iter().filter(|d| keep(d.user, d.page)) {
        let a = accs.entry(d.user).or_default();
        a.counters(&Counters::one(d.bytes, 0), d.ts_ms);
        a.pages.insert(d.page);
    }
}

/// Counters (and, when `pages`, page sets) of every user over `spans` from the period-major
/// rows: each thread scans its share of the periods, whole, for all users at once.
fn by_period(store: &Store, spans: &[Span], pages: bool) -> Vec<Result<HashMap<u32, Acc>>> {
    on_each(&shares(spans), |mine| {
        let mut accs: HashMap<u32, Acc> = HashMap::new();
        for s in mine {
            index::counters_in(store, s, |u, g, p, c| accs.entry(u).or_default().counters(&c, period_start_ms(g, p)))?;
            if pages {
                index::pages_in(store, s, &mut accs, |_| true, |a| &mut a.pages)?;
            }
        }
        Ok(accs)
    })
}

/// What a month's rows weigh against a day's, to share periods out: a month row holds each of
/// the month's readers once, a day row each reader of that day. An estimate, not measured per
/// family: a share is off by at most one month's weight either way.
const MONTH_WEIGHT: u32 = 4;

/// What one period of `grain` weighs in [`shares`].
fn period_weight(grain: Grain) -> u32 {
    if grain == Grain::Month {
        MONTH_WEIGHT
    } else {
        1
    }
}

/// The periods of `spans` cut into one share per core of about equal weight, each share a few
/// runs of consecutive periods. A thread scans each run with one seek: scanning period by
/// period cost a seek (about 150 k instructions) per period, and both threads then
/// decompressed the blocks that hold two neighbouring days.
fn shares(spans: &[Span]) -> Vec<Vec<Span>> {
    shares_of(spans, cores() as u32)
}

/// [`shares`] for `n` cores.
fn shares_of(spans: &[Span], n: u32) -> Vec<Vec<Span>> {
    let total: u32 = spans.iter().map(|s| (s.end - s.start) * period_weight(s.grain)).sum();
    let mut out: Vec<Vec<Span>> = vec![Vec::new(); n as usize];
    let mut before = 0;
    for s in spans {
        let w = period_weight(s.grain);
        for p in s.start..s.end {
            // The share in which this period's middle falls.
            let k = ((before * 2 + w) * n / (total * 2)).min(n - 1) as usize;
            before += w;
            match out[k].last_mut() {
                Some(run) if run.grain == s.grain && run.end == p => run.end = p + 1,
                _ => out[k].push(Span { grain: s.grain, start: p, end: p + 1 }),
            }
        }
    }
    out.retain(|share| !share.is_empty());
    out
}

/// Runs `f` on each share, the first on this thread and each other on one of its own.
fn on_each<S: Sync, T: Send>(shares: &[S], f: impl Fn(&S) -> Result<T> + Sync) -> Vec<Result<T>> {
    let Some((first, rest)) = shares.split_first() else { return Vec::new() };
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = rest.iter().map(|share| s.spawn(move || f(share))).collect();
        let mut out = vec![f(first)];
        out.extend(handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))));
        out
    })
}

/// The threads worth running: one per core, at most 8.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8)
}

/// Adds the readers each thread found into `accs`.
fn absorb<P: IntoIterator<Item = (u32, Acc)>>(accs: &mut HashMap<u32, Acc>, parts: Vec<Result<P>>) -> Result<()> {
    for part in parts {
        for (u, a) in part? {
            accs.entry(u).or_default().absorb(a);
        }
    }
    Ok(())
}

/// Runs `f` over `0..n` split into one contiguous part per core (per-user index reads are
/// independent; the machine this targets has two cores).
fn in_parallel<T: Send>(n: u32, f: impl Fn(std::ops::Range<u32>) -> Result<T> + Sync) -> Vec<Result<T>> {
    let threads = cores() as u32;
    if threads == 1 || n < 4 {
        return vec![f(0..n)];
    }
    let step = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> =
            (0..threads).map(|t| (t * step, ((t + 1) * step).min(n))).map(|(a, b)| s.spawn(move || f(a..b))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}

/// [`in_parallel`] over the items of a slice, one contiguous part of it per core.
fn in_parallel_over<S: Sync, T: Send>(items: &[S], f: impl Fn(&[S]) -> Result<T> + Sync) -> Vec<Result<T>> {
    in_parallel(items.len() as u32, |range| f(&items[range.start as usize..range.end as usize]))
}

impl Acc {
    fn absorb(&mut self, o: Acc) {
        if o.events > 0 {
            if self.events == 0 {
                (self.first, self.last) = (o.first, o.last);
            } else {
                self.first = self.first.min(o.first);
                self.last = self.last.max(o.last);
            }
        }
        self.events += o.events;
        self.bytes += o.bytes;
        self.pages |= o.pages;
    }
}

/// The rows of the readers in `accs`, ranked by `by` (then name), cut to `limit`, each with
/// its pages: the caller counts distinct spaces, the dearest column, for the rows kept only.
fn finish(
    users: &Dict,
    um: &UserMap,
    accs: HashMap<u32, Acc>,
    pm: &PageMap,
    restrict: Option<&RoaringBitmap>,
    by: By,
    limit: Option<usize>,
) -> Vec<(ReaderRow, RoaringBitmap)> {
    // A user key or account id counts as the person the user directory says it is.
    let mut merged: HashMap<u32, Acc> = HashMap::with_capacity(accs.len());
    for (u, a) in accs {
        merged.entry(um.canon(u)).or_default().absorb(a);
    }
    let mut rows: Vec<(ReaderRow, RoaringBitmap)> = merged
        .into_iter()
        .filter(|(_, a)| a.events > 0)
        .map(|(u, a)| {
            let pages = match restrict {
                Some(r) => &a.pages & r,
                None => a.pages,
            };
            let row = ReaderRow {
                user: user_name(users, u),
                events: a.events,
                distinct_pages: pm.distinct(&pages),
                bytes: a.bytes,
                distinct_spaces: None,
                first_ms: a.first,
                last_ms: a.last,
            };
            (row, pages)
        })
        .collect();
    rank(&mut rows, |(r, _)| (by.key(r.events, r.bytes, r.distinct_pages), r.user.as_str()));
    rows.truncate(limit.unwrap_or(usize::MAX));
    rows
}

/// The people (canonical user ids) that [`finish`] ranks first by events or bytes, which need
/// no page sets: the same ranking, the same cut.
fn top_people(users: &Dict, um: &UserMap, accs: &HashMap<u32, Acc>, by: By, limit: usize) -> HashSet<u32> {
    debug_assert!(by != By::Pages, "distinct pages need every reader's page sets");
    let mut people: HashMap<u32, (u64, u64)> = HashMap::new();
    for (&u, a) in accs {
        let p = people.entry(um.canon(u)).or_default();
        (p.0, p.1) = (p.0 + a.events, p.1 + a.bytes);
    }
    let mut ranked: Vec<(u64, String, u32)> = people
        .into_iter()
        .filter(|(_, (events, _))| *events > 0)
        .map(|(u, (events, bytes))| (by.key(events, bytes, 0), user_name(users, u), u))
        .collect();
    rank(&mut ranked, |(key, name, _)| (*key, name.as_str()));
    ranked.into_iter().take(limit).map(|(_, _, u)| u).collect()
}

/// The one order of readers everywhere: the key, highest first, then the name.
fn rank<T>(items: &mut [T], key: impl Fn(&T) -> (u64, &str)) {
    items.sort_by(|a, b| {
        let ((ka, na), (kb, nb)) = (key(a), key(b));
        kb.cmp(&ka).then_with(|| na.cmp(nb))
    });
}

fn user_name(users: &Dict, u: u32) -> String {
    String::from_utf8_lossy(users.name(u).unwrap_or(b"?")).into_owned()
}

/// Who read the most in the window, optionally within one space.
pub fn top_readers(
    store: &Store,
    window: &Window,
    space: Option<&str>,
    by: By,
    limit: usize,
) -> Result<Vec<ReaderRow>> {
    let totals = Totals::load(store)?;
    let Some(plan) = window.plan(&totals) else { return Ok(Vec::new()) };
    let users = Dict::load(store, DictKind::User)?;
    let um = UserMap::load(store)?;
    let pm = PageMap::load(store)?;
    let audit = audit_reads(store, plan.from_ms, plan.to_ms, &pm, &um)?;
    let spans = spans(&plan);
    let mut accs: HashMap<u32, Acc> = HashMap::new();
    let restrict = match space {
        None => {
            accs = all_readers(
                store,
                &plan,
                &spans,
                &audit,
                &users,
                &um,
                &pm,
                by,
                limit,
                (totals.first_ms, totals.last_ms),
            )?;
            None
        }
        Some(key) => {
            let Some(sid) = lookup(store, DictKind::Space, key.as_bytes())? else { return Ok(Vec::new()) };
            space_readers(store, &plan, sid, &pm, &audit, &mut accs)?;
            Some(pm.refs_in_space(sid))
        }
    };
    let rows = finish(&users, &um, accs, &pm, restrict.as_ref(), by, Some(limit));
    Ok(rows
        .into_iter()
        .map(|(row, pages)| ReaderRow { distinct_spaces: Some(pm.distinct_spaces(&pages)), ..row })
        .collect())
}

/// The months a window touches, when ranking by pages is cheaper from them (see
/// [`from_month_bounds`]): the window has days to read one by one, fills at least four
/// fifths of the stored days of those months (so the bounds are tight), and asks for fewer
/// rows than half the users (beyond that, bounds rule out too few to pay for themselves).
fn months_cover(
    plan: &Plan,
    spans: &[Span],
    (first_ms, last_ms): (i64, i64),
    n_users: u32,
    limit: usize,
) -> Option<Span> {
    let by_day = !plan.edges.is_empty() || spans.iter().any(|s| s.grain == Grain::Day);
    if !by_day || limit.saturating_mul(2) >= n_users as usize {
        return None;
    }
    let (m0, m1) =
        (month_of_day(plan.from_ms.div_euclid(DAY_MS)), month_of_day((plan.to_ms - 1).div_euclid(DAY_MS)) + 1);
    let stored = (first_ms.div_euclid(DAY_MS) * DAY_MS, (last_ms.div_euclid(DAY_MS) + 1) * DAY_MS);
    let cover_ms = (month_start_day(m1) * DAY_MS).min(stored.1) - (month_start_day(m0) * DAY_MS).max(stored.0);
    ((plan.to_ms - plan.from_ms) * 5 >= cover_ms * 4).then_some(Span {
        grain: Grain::Month,
        start: m0 as u32,
        end: m1 as u32,
    })
}

/// `top-readers --by pages` from bounds: a month's page set holds every day's of that
/// month, so the months `cover` touches give each person at most as many pages as the window
/// holds. People are read exactly, day by day, from the highest bound down, until no one
/// left has a bound reaching the `limit`-th highest exact count: they rank after `limit`
/// people whatever their days hold. A window that fills its months has tight bounds, and
/// only a few people beyond `limit` are read.
#[allow(clippy::too_many_arguments)]
fn from_month_bounds(
    store: &Store,
    plan: &Plan,
    spans: &[Span],
    cover: Span,
    audit: &AuditReads,
    um: &UserMap,
    pm: &PageMap,
    n_users: u32,
    limit: usize,
) -> Result<HashMap<u32, Acc>> {
    let mut upper: HashMap<u32, Acc> = HashMap::new();
    absorb(&mut upper, by_period(store, &[cover], true))?;
    add_audit(audit, &|_, _| true, &mut upper);
    let mut people: HashMap<u32, Vec<u32>> = HashMap::new();
    for &u in upper.keys() {
        people.entry(um.canon(u)).or_default().push(u);
    }
    let pages_of = |ids: &[u32], accs: &HashMap<u32, Acc>| pm.distinct(&person_pages(ids, accs));
    let mut bounded: Vec<(u64, Vec<u32>)> = people.into_values().map(|ids| (pages_of(&ids, &upper), ids)).collect();
    bounded.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    drop(upper);
    let splits: Vec<((i64, i64), EdgeSplit)> =
        plan.edges.iter().map(|&e| edge_split(store, e, false, 0).map(|s| (e, s))).collect::<Result<_>>()?;
    let (mut exact, mut read, mut want) = (HashMap::new(), 0, limit.min(bounded.len()));
    loop {
        let mut ids: Vec<u32> = bounded[read..want].iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
        ids.sort_unstable();
        exact_of(store, spans, &splits, &ids, n_users, audit, &mut exact)?;
        read = want;
        // The `limit`-th highest exact count among those read (0 while fewer have read).
        let mut counts: Vec<u64> = bounded[..read].iter().map(|(_, ids)| pages_of(ids, &exact)).collect();
        let bar = match counts.len().checked_sub(limit) {
            Some(i) if limit > 0 => *counts.select_nth_unstable(i).1,
            _ => 0,
        };
        want = read + bounded[read..].iter().take_while(|(b, _)| *b >= bar && *b > 0).count();
        if want == read {
            return Ok(exact);
        }
    }
}

/// The exact totals of `users` (ascending) over the window into `accs`: their rows of each
/// span and edge day read one by one, and every edge they read across recounted.
fn exact_of(
    store: &Store,
    spans: &[Span],
    splits: &[((i64, i64), EdgeSplit)],
    users: &[u32],
    n_users: u32,
    audit: &AuditReads,
    accs: &mut HashMap<u32, Acc>,
) -> Result<()> {
    let mine: HashSet<u32> = users.iter().copied().collect();
    // A seek per row costs about what reading a dozen rows in order does.
    let seek = users.len() * 16 <= n_users as usize;
    let parts = on_each(&shares(spans), |periods| {
        let mut part: HashMap<u32, Acc> = HashMap::new();
        for s in periods {
            let mut add = |u, g, p, c: Counters| part.entry(u).or_default().counters(&c, period_start_ms(g, p));
            if seek {
                index::counters_of(store, s, users, &mut add)?;
            } else {
                index::counters_in(store, s, |u, g, p, c| {
                    if mine.contains(&u) {
                        add(u, g, p, c)
                    }
                })?;
            }
            if seek {
                index::pages_of(store, s, users, &mut part, |a| &mut a.pages)?;
            } else {
                index::pages_in(store, s, &mut part, |u| mine.contains(&u), |a| &mut a.pages)?;
            }
        }
        Ok(part)
    });
    absorb(accs, parts)?;
    for (edge, split) in splits {
        let day_ms = edge.0.div_euclid(DAY_MS) * DAY_MS;
        let mut whole: Vec<u32> = split.whole.keys().copied().filter(|u| mine.contains(u)).collect();
        whole.sort_unstable();
        for u in &whole {
            accs.entry(*u).or_default().counters(&split.whole[u], day_ms);
        }
        index::pages_of(store, &edge_day(*edge), &whole, accs, |a| &mut a.pages)?;
        let cut: Vec<u32> = split.cut.iter().copied().filter(|u| mine.contains(u)).collect();
        recount_edge(store, *edge, &cut, &|_| true, audit, accs)?;
    }
    add_audit(audit, &|u, _| mine.contains(&u), accs);
    Ok(())
}

/// Every reader's totals over the window for `top-readers` without a space: exact for every
/// reader who can rank by `by` among the first `limit` (others may hold less, or be missing).
#[allow(clippy::too_many_arguments)]
fn all_readers(
    store: &Store,
    plan: &Plan,
    spans: &[Span],
    audit: &AuditReads,
    users: &Dict,
    um: &UserMap,
    pm: &PageMap,
    by: By,
    limit: usize,
    stored: (i64, i64),
) -> Result<HashMap<u32, Acc>> {
    let mut accs: HashMap<u32, Acc> = HashMap::new();
    // Ranked by events or bytes, only the readers kept need their page sets, the larger
    // part of the index: read them after ranking on the counters.
    let pages_of_all = by == By::Pages;
    let n = users.len() as u32;
    // Rows of formats 3 and 4 that no writer has moved yet lead with the user.
    let user_major = index::has_user_major_rows(store)?;
    if by == By::Pages && !user_major {
        if let Some(cover) = months_cover(plan, spans, stored, n, limit) {
            return from_month_bounds(store, plan, spans, cover, audit, um, pm, n, limit);
        }
    }
    if user_major {
        let parts = in_parallel(n, |range| {
            let mut cur = UserCursors::new(store);
            let mut out = Vec::new();
            for i in range {
                let u = i + 1; // user ids start at 1
                let mut a = Acc::default();
                user_from_index(store, &mut cur, u, spans, &mut a, true, pages_of_all)?;
                if a.events > 0 {
                    out.push((u, a));
                }
            }
            Ok(out)
        });
        absorb(&mut accs, parts)?;
    }
    absorb(&mut accs, by_period(store, spans, pages_of_all))?;
    // The partial days at the window's ends: the day's rows for its readers wholly
    // inside, raw events for those reading across the boundary who could still rank.
    let mut splits = Vec::with_capacity(plan.edges.len());
    for &edge in &plan.edges {
        let split = edge_split(store, edge, user_major, n)?;
        split.add_whole(edge, &mut accs);
        let whole = &split.whole;
        if !whole.is_empty() {
            index::pages_in(store, &edge_day(edge), &mut accs, |u| whole.contains_key(&u), |a| &mut a.pages)?;
        }
        splits.push((edge, split));
    }
    add_audit(audit, &|_, _| true, &mut accs);
    // The people who could gain most are recounted first, a few at a time while many could
    // rank: their exact counts raise the bar the rest must reach, often above what most of
    // the rest could (a short window whose edges cut most of its readers).
    let batch = limit.max(8) * 5;
    loop {
        let worth = worth_recounting(store, &splits, &accs, um, pm, by, limit)?;
        let all = worth.len() <= batch * 2 || worth.first().is_some_and(|w| w.0 == u64::MAX);
        let now: HashSet<u32> =
            worth.iter().take(if all { usize::MAX } else { batch }).flat_map(|(_, ids)| ids.iter().copied()).collect();
        for (edge, split) in &mut splits {
            let cut: Vec<u32> = split.cut.iter().copied().filter(|u| now.contains(u)).collect();
            recount_edge(store, *edge, &cut, &|_| true, audit, &mut accs)?;
            // Counted exactly now: no longer cut.
            split.cut.retain(|u| !now.contains(u));
            split.cut_day.retain(|u, _| !now.contains(u));
        }
        if all {
            break;
        }
    }
    if !pages_of_all {
        let kept = top_people(users, um, &accs, by, limit);
        accs.retain(|u, _| kept.contains(&um.canon(*u)));
        if user_major {
            let mut cur = UserCursors::new(store);
            for (&u, a) in accs.iter_mut() {
                user_from_index(store, &mut cur, u, spans, a, false, true)?;
            }
        }
        let want: HashSet<u32> = accs.keys().copied().collect();
        for s in spans {
            index::pages_in(store, s, &mut accs, |u| want.contains(&u), |a| &mut a.pages)?;
        }
    }
    Ok(accs)
}

/// Readers of a space: counters from `space_users`, pages from each reader's `user_pages`.
fn space_readers(
    store: &Store,
    plan: &Plan,
    sid: u32,
    pm: &PageMap,
    audit: &AuditReads,
    accs: &mut HashMap<u32, Acc>,
) -> Result<()> {
    let spans = &spans(plan);
    // Counters from `space_users` and each reader's pages in this space from
    // `space_user_pages`, each thread its share of the periods (the page sets are most of the work).
    let parts = on_each(&shares(spans), |mine| {
        let mut part: HashMap<u32, Acc> = HashMap::new();
        entity_users(store, Entity::Space(sid), mine, &mut part)?;
        for s in mine {
            index::space_pages_by_user(store, sid, s, &mut part, |_| true, |a| &mut a.pages)?;
        }
        Ok(part)
    });
    absorb(accs, parts)?;
    // The edges from the day's rows of this space: its readers that day, split.
    for &edge in &plan.edges {
        let day = edge_day(edge);
        let mut rows = Vec::new();
        index::readers_in(store, Entity::Space(sid), &day, |_, _, u, c| rows.push((u, c)))?;
        let split = EdgeSplit::new(edge, rows);
        split.add_whole(edge, accs);
        let whole = &split.whole;
        if !whole.is_empty() {
            index::space_pages_by_user(store, sid, &day, accs, |u| whole.contains_key(&u), |a| &mut a.pages)?;
        }
        recount_edge(store, edge, &split.cut, &|r| pm.space(r.page) == sid, audit, accs)?;
    }
    add_audit(audit, &|_, p| pm.space(p) == sid, accs);
    Ok(())
}

/// Who read a page (every name it goes by) or a space, ranked by events.
pub fn who_read(store: &Store, window: &Window, target: &Target) -> Result<Vec<ReaderRow>> {
    let totals = Totals::load(store)?;
    let Some(plan) = window.plan(&totals) else { return Ok(Vec::new()) };
    let users = Dict::load(store, DictKind::User)?;
    let um = UserMap::load(store)?;
    let pm = PageMap::load(store)?;
    let audit = audit_reads(store, plan.from_ms, plan.to_ms, &pm, &um)?;
    let mut accs: HashMap<u32, Acc> = HashMap::new();
    let restrict = match target {
        Target::Space(key) => {
            let Some(sid) = lookup(store, DictKind::Space, key.as_bytes())? else { return Ok(Vec::new()) };
            space_readers(store, &plan, sid, &pm, &audit, &mut accs)?;
            Some(pm.refs_in_space(sid))
        }
        Target::Page(_) | Target::Title(..) => {
            let r = match target {
                Target::Page(id) => PageRef::Id(*id),
                Target::Title(s, t) => PageRef::Titled { space: s.clone(), title: t.clone() },
                Target::Space(_) => unreachable!("handled above"),
            };
            let Some(id) = lookup(store, DictKind::Page, &page_ref_bytes(&r))? else { return Ok(Vec::new()) };
            let refs: RoaringBitmap = pm.refs_of(pm.canon(id)).into_iter().collect();
            // `page_users` has daily rows only.
            let days = [Span { grain: Grain::Day, start: plan.days.0 as u32, end: plan.days.1 as u32 }];
            for r in &refs {
                entity_users(store, Entity::Page(r), &days, &mut accs)?;
            }
            for a in accs.values_mut() {
                a.pages = refs.clone();
            }
            // Only the page's readers of an edge's day can have reads in the edge.
            for &edge in &plan.edges {
                let mut rows = Vec::new();
                for r in &refs {
                    index::readers_in(store, Entity::Page(r), &edge_day(edge), |_, _, u, c| rows.push((u, c)))?;
                }
                let split = EdgeSplit::new(edge, rows);
                split.add_whole(edge, &mut accs);
                recount_edge(store, edge, &split.cut, &|row| refs.contains(row.page), &audit, &mut accs)?;
            }
            add_audit(&audit, &|_, p| refs.contains(p), &mut accs);
            for a in accs.values_mut() {
                a.pages = refs.clone();
            }
            Some(refs)
        }
    };
    Ok(finish(&users, &um, accs, &pm, restrict.as_ref(), By::Events, None).into_iter().map(|(row, _)| row).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn weight(s: &Span) -> u32 {
        (s.end - s.start) * period_weight(s.grain)
    }

    proptest! {
        /// Every period of a window's plan lands in exactly one share, in order, in runs that
        /// no neighbour could extend, and each share weighs its part within one period.
        #[test]
        fn shares_hold_each_period_once_in_runs_of_equal_weight(
            from in 19_000i64..19_800, len in 1i64..800, n in 1u32..5,
        ) {
            let spans = plan(from, from + len);
            let shares = shares_of(&spans, n);
            let periods = |v: &[Span]| -> Vec<(Grain, u32)> {
                v.iter().flat_map(|s| (s.start..s.end).map(move |p| (s.grain, p))).collect()
            };
            let all: Vec<(Grain, u32)> = shares.iter().flat_map(|sh| periods(sh)).collect();
            prop_assert_eq!(all, periods(&spans));
            prop_assert!(shares.len() <= n as usize);
            let total: u32 = spans.iter().map(weight).sum();
            for share in &shares {
                prop_assert!(!share.is_empty());
                for w in share.windows(2) {
                    prop_assert!(w[0].grain != w[1].grain || w[0].end != w[1].start, "unmerged runs {:?}", w);
                }
                let mine: u32 = share.iter().map(weight).sum();
                prop_assert!(mine.abs_diff(total / n) <= MONTH_WEIGHT + 1, "{} of {} in {} shares", mine, total, n);
            }
        }
    }

    fn read(first_s: u64, last_s: u64) -> Counters {
        Counters { events: 2, bytes: 10, first: first_s * 1000, last: last_s * 1000 }
    }

    #[test]
    fn an_edge_recounts_only_the_readers_it_cuts() {
        let day = 20 * DAY_MS;
        let noon = day + 12 * 3_600_000;
        let rows = [
            (1, read(13 * 3600, 14 * 3600)), // after noon: wholly in [noon, midnight)
            (2, read(8 * 3600, 11 * 3600)),  // before noon: nothing in it
            (3, read(11 * 3600, 13 * 3600)), // across noon: recount
            (4, read(12 * 3600, 12 * 3600)), // at noon exactly: the edge starts there
            // Two rows (two references of a page), each on one side: together across noon.
            (5, read(9 * 3600, 9 * 3600)),
            (5, read(15 * 3600, 15 * 3600)),
        ];
        let split = EdgeSplit::new((noon, day + DAY_MS), rows);
        assert_eq!(split.whole.keys().copied().collect::<std::collections::BTreeSet<_>>(), [1, 4].into());
        assert_eq!(split.cut, vec![3, 5]);
        // The end edge `[midnight, noon)`: its last read must be before noon to be held.
        let split = EdgeSplit::new((day, noon), rows);
        assert_eq!(split.whole.keys().copied().collect::<std::collections::BTreeSet<_>>(), [2].into());
        assert_eq!(split.cut, vec![3, 5]);
        assert_eq!(split.whole[&2], read(8 * 3600, 11 * 3600));
    }
}
