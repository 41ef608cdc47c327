//! Property test: random events, ingested in random batches and file splits, with the catalog
//! arriving at a random moment, answer every query exactly as a brute-force recount.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

use pagetrail_core::event::fold_user;
use pagetrail_core::time::{civil_from_days, DAY_MS};
use pagetrail_core::{classify, is_read, parse_line, ContextPath, PageRef, Variant};
use pagetrail_ingest::{IngestOptions, Ingester, Source};
use pagetrail_query::{reads, top_readers, user_summary, who_read, By, ReaderRow, Target, Window};
use pagetrail_store::Store;
use proptest::prelude::*;

const USERS: [&str; 5] = ["alice", "Bob", "bob", "carol", "-"];
const SPACES: [&str; 3] = ["ENG", "OPS", "HR"];
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// The truth about page i: id 1000+i, in SPACES[i % 3] (the catalog's word), title "Page i".
fn page(i: usize) -> (u64, &'static str, String) {
    (1000 + i as u64, SPACES[i % 3], format!("Page {i}"))
}

#[derive(Clone, Debug)]
struct Ev {
    sec: i64, // seconds after T0, unique per event
    user: usize,
    page: usize,
    form: u8,
    status: u16,
    bytes: u64,
    offset_min: i64,
}

fn render(e: &Ev) -> String {
    let (id, space, title) = page(e.page);
    let t = title.replace(' ', "+");
    // Some URLs name a page in an older space: the latest URL wins unless the catalog says otherwise.
    let url_space = if e.page.is_multiple_of(4) && e.sec % 2 == 0 { "OLD" } else { space };
    let (method, uri) = match e.form {
        0 => ("GET", format!("/pages/viewpage.action?pageId={id}")),
        1 => ("GET", format!("/display/{url_space}/{t}")),
        2 => ("GET", format!("/spaces/{url_space}/pages/{id}/{t}")),
        3 => ("GET", format!("/rest/api/content/{id}?expand=body.storage")),
        4 => ("GET", format!("/download/attachments/{id}/a%20b.pdf?version=1")),
        5 => ("GET", format!("/exportword?pageId={id}")),
        6 => ("GET", format!("/wiki/pages/viewpage.action?spaceKey={url_space}&title={t}")),
        7 => ("GET", format!("/dosearchsite.action?queryString={t}")),
        8 => ("PUT", format!("/rest/api/content/{id}")),
        _ => ("GET", format!("/display/{url_space}")),
    };
    let local = (T0 / 1000 + e.sec + e.offset_min * 60) * 1000;
    let day = local.div_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(day);
    let s = local.rem_euclid(DAY_MS) / 1000;
    let mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][m as usize - 1];
    let sign = if e.offset_min < 0 { '-' } else { '+' };
    let off = e.offset_min.abs();
    format!(
        "[{d:02}/{mon}/{y}:{:02}:{:02}:{:02} {sign}{:02}{:02}] {} http-nio-8090-exec-1 10.0.0.{} {method} {uri} HTTP/1.1 {} 5ms {} - agent/{}\n",
        s / 3600, s / 60 % 60, s % 60, off / 60, off % 60, USERS[e.user], e.user, e.status, e.bytes, e.user % 2
    )
}

fn arb_ev() -> impl Strategy<Value = Ev> {
    (
        0usize..5,
        0usize..12,
        0u8..10,
        prop_oneof![4 => Just(200u16), 1 => Just(304), 1 => Just(403), 1 => Just(404)],
        0u64..100_000,
        prop_oneof![Just(0i64), Just(120), Just(-300)],
    )
        .prop_map(|(user, page, form, status, bytes, offset_min)| Ev {
            sec: 0,
            user,
            page,
            form,
            status,
            bytes,
            offset_min,
        })
}

/// What the brute force knows of one parsed line.
struct Fact {
    ts: i64,
    user: String,
    page: Option<PageRef>,
    url_space: Option<String>,
    link: Option<(String, String, u64)>,
    read: bool,
    bytes: u64,
    ip: String,
    agent: String,
}

struct Truth {
    facts: Vec<Fact>,
    canon: HashMap<PageRef, PageRef>,
    space: HashMap<PageRef, String>,
}

fn truth(lines: &[String], catalog: bool) -> Truth {
    let ctx = ContextPath::new("");
    let mut facts = Vec::new();
    for l in lines {
        let r = parse_line(Variant::A, l.trim_end()).unwrap();
        let c = classify(&ctx, r.method, r.path, r.query);
        facts.push(Fact {
            ts: r.ts_ms,
            user: fold_user(r.user).into_owned(),
            page: c.page_ref(),
            url_space: c.space.clone(),
            link: c.link().map(|(id, s, t)| (s.to_owned(), t.to_owned(), id)),
            read: c.page_ref().is_some() && is_read(c.action, r.status, true),
            bytes: r.bytes,
            ip: r.ip.to_owned(),
            agent: r.user_agent.into_owned(),
        });
    }
    // Links: the catalog's, else the latest URL's.
    let mut link: HashMap<PageRef, (i64, u64)> = HashMap::new();
    for f in &facts {
        if let Some((s, t, id)) = &f.link {
            let k = PageRef::Titled { space: s.clone(), title: t.clone() };
            let e = link.entry(k).or_insert((f.ts, *id));
            if (f.ts, *id) > *e {
                *e = (f.ts, *id);
            }
        }
    }
    let mut catalog_space = HashMap::new();
    if catalog {
        for i in 0..12 {
            let (id, s, t) = page(i);
            link.insert(PageRef::Titled { space: s.to_owned(), title: t }, (i64::MAX, id));
            catalog_space.insert(PageRef::Id(id), s.to_owned());
        }
    }
    let mut refs: BTreeSet<PageRef> = facts.iter().filter_map(|f| f.page.clone()).collect();
    for f in &facts {
        if let Some((s, t, _)) = &f.link {
            refs.insert(PageRef::Titled { space: s.clone(), title: t.clone() });
        }
    }
    if catalog {
        for i in 0..12 {
            let (id, s, t) = page(i);
            refs.insert(PageRef::Id(id));
            refs.insert(PageRef::Titled { space: s.to_owned(), title: t });
        }
    }
    let canon: HashMap<PageRef, PageRef> =
        refs.iter().map(|r| (r.clone(), link.get(r).map_or(r.clone(), |&(_, id)| PageRef::Id(id)))).collect();
    // Latest URL space per canonical page (ties cannot happen: timestamps are unique).
    let mut latest: HashMap<PageRef, (i64, String)> = HashMap::new();
    let mut note = |r: &PageRef, ts: i64, s: &str| {
        let c = canon[r].clone();
        let e = latest.entry(c).or_insert((ts, s.to_owned()));
        if ts > e.0 {
            *e = (ts, s.to_owned());
        }
    };
    for f in &facts {
        if let (Some(p), Some(s)) = (&f.page, &f.url_space) {
            note(p, f.ts, s);
        }
        if let Some((s, t, _)) = &f.link {
            note(&PageRef::Titled { space: s.clone(), title: t.clone() }, f.ts, s);
        }
    }
    let space = refs
        .iter()
        .filter_map(|r| {
            let c = &canon[r];
            catalog_space.get(c).cloned().or_else(|| latest.get(c).map(|(_, s)| s.clone())).map(|s| (r.clone(), s))
        })
        .collect();
    Truth { facts, canon, space }
}

#[derive(Default)]
struct Tally {
    events: u64,
    bytes: u64,
    pages: BTreeSet<PageRef>,
    spaces: BTreeSet<String>,
    first: i64,
    last: i64,
}

impl Tally {
    fn add(&mut self, t: &Truth, f: &Fact) {
        let p = f.page.as_ref().unwrap();
        if self.events == 0 {
            (self.first, self.last) = (f.ts, f.ts);
        }
        self.first = self.first.min(f.ts);
        self.last = self.last.max(f.ts);
        self.events += 1;
        self.bytes += f.bytes;
        self.pages.insert(t.canon[p].clone());
        if let Some(s) = t.space.get(p) {
            self.spaces.insert(s.clone());
        }
    }
}

fn rows(t: &Truth, w: &Window, keep: impl Fn(&Fact) -> bool) -> Vec<ReaderRow> {
    let mut by_user: BTreeMap<String, Tally> = BTreeMap::new();
    for f in t.facts.iter().filter(|f| f.read && w.contains(f.ts) && keep(f)) {
        by_user.entry(f.user.clone()).or_default().add(t, f);
    }
    by_user
        .into_iter()
        .map(|(user, a)| ReaderRow {
            user,
            events: a.events,
            distinct_pages: a.pages.len() as u64,
            bytes: a.bytes,
            distinct_spaces: Some(a.spaces.len() as u64),
            first_ms: a.first,
            last_ms: a.last,
        })
        .collect()
}

fn ranked(mut v: Vec<ReaderRow>, key: impl Fn(&ReaderRow) -> u64) -> Vec<ReaderRow> {
    v.sort_by(|a, b| key(b).cmp(&key(a)).then_with(|| a.user.cmp(&b.user)));
    v
}

fn strip_times(v: Vec<ReaderRow>) -> Vec<ReaderRow> {
    v.into_iter().map(|r| ReaderRow { first_ms: 0, last_ms: 0, ..r }).collect()
}

fn check_case(
    mut evs: Vec<Ev>,
    splits: Vec<usize>,
    batch: usize,
    catalog_at: usize,
    windows: Vec<(i64, i64)>,
    pipelined: bool,
) {
    // Unique, shuffled-order timestamps across ~70 days.
    for (i, e) in evs.iter_mut().enumerate() {
        e.sec = ((i as i64 * 7_919) % 6_000_000) + (i as i64 % 3);
    }
    let lines: Vec<String> = evs.iter().map(render).collect();
    let catalog = catalog_at <= splits.len() + 1;
    let t = truth(&lines, catalog);

    let d = tempfile::tempdir().unwrap();
    let store = Store::open_writer(&d.path().join("store")).unwrap();
    let cat_path = d.path().join("catalog.csv");
    let mut c = std::fs::File::create(&cat_path).unwrap();
    writeln!(c, "page_id,space_key,title").unwrap();
    for i in 0..12 {
        let (id, s, title) = page(i);
        writeln!(c, "{id},{s},{title}").unwrap();
    }
    drop(c);
    let mut cuts: Vec<usize> = splits.iter().map(|s| s % (lines.len() + 1)).collect();
    cuts.push(0);
    cuts.push(lines.len());
    cuts.sort_unstable();
    cuts.dedup();
    let opts = IngestOptions { batch_lines: batch, ..Default::default() };
    let part = |n: usize, pair: &[usize]| {
        let f = d.path().join(format!("part{n}.log"));
        std::fs::write(&f, lines[pair[0]..pair[1]].concat()).unwrap();
        Source::File(f)
    };
    if pipelined {
        // One ingester for every part and the catalog, each batch written one behind.
        let mut ing = Ingester::new(&store, opts.clone()).unwrap();
        ing.pipelined(|ing| {
            for (n, pair) in cuts.windows(2).enumerate() {
                if catalog && n == catalog_at {
                    ing.load_catalog(&cat_path)?;
                }
                ing.ingest(&part(n, pair), &mut |_| {})?;
            }
            if catalog && catalog_at >= cuts.len() - 1 {
                ing.load_catalog(&cat_path)?;
            }
            Ok(())
        })
        .unwrap();
        ing.finish().unwrap();
    } else {
        for (n, pair) in cuts.windows(2).enumerate() {
            if catalog && n == catalog_at {
                let mut ing = Ingester::new(&store, opts.clone()).unwrap();
                ing.load_catalog(&cat_path).unwrap();
                ing.finish().unwrap();
            }
            let mut ing = Ingester::new(&store, opts.clone()).unwrap();
            ing.ingest(&part(n, pair), &mut |_| {}).unwrap();
            ing.finish().unwrap();
        }
        if catalog && catalog_at >= cuts.len() - 1 {
            let mut ing = Ingester::new(&store, opts.clone()).unwrap();
            ing.load_catalog(&cat_path).unwrap();
            ing.finish().unwrap();
        }
    }

    // Each query reads through a reader opened for the parts it says it reads (as the CLI
    // opens them): a part left out of `reads` fails here as an error naming the family.
    drop(store);
    let open = |parts| Store::open_reader_of(&d.path().join("store"), parts).unwrap();
    let top = open(reads::top_readers(false));
    let top_in_space = open(reads::top_readers(true));
    let who_page = open(reads::who_read(&Target::Page(0)));
    let who_space = open(reads::who_read(&Target::Space(String::new())));
    let user = open(reads::USER);
    let mut wins: Vec<Window> = vec![Window::all()];
    for (a, len) in windows {
        let from = T0 + a * 60_000;
        wins.push(Window { from_ms: Some(from), to_ms: Some(from + len * 60_000) });
    }
    // Windows that nearly fill the months they touch, where top-readers by pages ranks from
    // month bounds: ragged ends, midnights, three months.
    let hour = 3_600_000;
    for (from, to) in
        [(13 * hour, 29 * DAY_MS + 11 * hour), (DAY_MS, 57 * DAY_MS), (2 * DAY_MS + 6 * hour, 68 * DAY_MS + 20 * hour)]
    {
        wins.push(Window { from_ms: Some(T0 + from), to_ms: Some(T0 + to) });
    }
    for w in &wins {
        let all = rows(&t, w, |_| true);
        for (by, key) in [(By::Pages, 0), (By::Events, 1), (By::Bytes, 2)] {
            // Short limits too: by events or bytes, only the readers kept get their pages; by
            // pages, a limit below half the users ranks from month bounds.
            for limit in [1, 3, 1000] {
                let got = top_readers(&top, w, None, by, limit).unwrap();
                let mut want = ranked(all.clone(), |r| [r.distinct_pages, r.events, r.bytes][key]);
                want.truncate(limit);
                assert_eq!(strip_times(got), strip_times(want), "top-readers {by:?} --limit {limit} {w:?}");
            }
        }
        for s in SPACES.iter().chain(&["OLD"]) {
            let want_rows = rows(&t, w, |f| t.space.get(f.page.as_ref().unwrap()).map(String::as_str) == Some(*s));
            let got = top_readers(&top_in_space, w, Some(s), By::Events, 1000).unwrap();
            assert_eq!(
                strip_times(got),
                strip_times(ranked(want_rows.clone(), |r| r.events)),
                "top-readers --space {s} {w:?}"
            );
            let got = who_read(&who_space, w, &Target::Space(s.to_string())).unwrap();
            let want: Vec<ReaderRow> = ranked(want_rows, |r| r.events);
            assert_eq!(who_fields(got), who_fields(want), "who-read --space {s} {w:?}");
        }
        for i in 0..12 {
            let (id, s, title) = page(i);
            let target = PageRef::Id(id);
            let want = ranked(
                rows(&t, w, |f| {
                    t.canon[f.page.as_ref().unwrap()] == t.canon.get(&target).cloned().unwrap_or(target.clone())
                }),
                |r| r.events,
            );
            let got = who_read(&who_page, w, &Target::Page(id)).unwrap();
            assert_eq!(who_fields(got), who_fields(want), "who-read --page {id} {w:?}");
            let titled = PageRef::Titled { space: s.to_owned(), title: title.clone() };
            if let Some(c) = t.canon.get(&titled) {
                let want = ranked(rows(&t, w, |f| &t.canon[f.page.as_ref().unwrap()] == c), |r| r.events);
                let got = who_read(&who_page, w, &Target::Title(s.to_owned(), title)).unwrap();
                assert_eq!(who_fields(got), who_fields(want), "who-read --title {s}/{i} {w:?}");
            }
        }
        for u in ["alice", "bob", "carol", "-"] {
            let got = user_summary(&user, w, u).unwrap();
            let mine: Vec<&Fact> = t.facts.iter().filter(|f| f.read && w.contains(f.ts) && f.user == u).collect();
            let mut tally = Tally::default();
            let mut days: BTreeMap<i64, Tally> = BTreeMap::new();
            let mut sources: BTreeSet<(String, String)> = BTreeSet::new();
            for f in &mine {
                tally.add(&t, f);
                days.entry(f.ts.div_euclid(DAY_MS)).or_default().add(&t, f);
                sources.insert((f.ip.clone(), f.agent.clone()));
            }
            assert_eq!(
                (got.events, got.bytes, got.distinct_pages, got.distinct_spaces),
                (tally.events, tally.bytes, tally.pages.len() as u64, tally.spaces.len() as u64),
                "user {u} {w:?}"
            );
            let want_days: Vec<(i64, u64, u64, u64)> =
                days.iter().map(|(d, a)| (*d, a.events, a.pages.len() as u64, a.bytes)).collect();
            let got_days: Vec<(i64, u64, u64, u64)> =
                got.days.iter().map(|d| (d.day, d.events, d.distinct_pages, d.bytes)).collect();
            assert_eq!(got_days, want_days, "user {u} days {w:?}");
            assert_eq!(got.sources.len(), sources.len(), "user {u} sources {w:?}");
            assert_eq!(got.first_ms, (tally.events > 0).then_some(tally.first));
            assert_eq!(got.last_ms, (tally.events > 0).then_some(tally.last));
        }
    }
}

fn who_fields(v: Vec<ReaderRow>) -> Vec<(String, u64, u64, u64, i64, i64)> {
    v.into_iter().map(|r| (r.user, r.events, r.distinct_pages, r.bytes, r.first_ms, r.last_ms)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    #[test]
    fn queries_equal_brute_force(
        evs in proptest::collection::vec(arb_ev(), 1..400),
        splits in proptest::collection::vec(any::<usize>(), 0..4),
        batch in 1usize..200,
        catalog_at in 0usize..8,
        windows in proptest::collection::vec((0i64..100_000, 1i64..60_000), 1..4),
        pipelined in any::<bool>(),
    ) {
        check_case(evs, splits, batch, catalog_at, windows, pipelined);
    }
}

/// `top-readers` with a short limit over windows whose edges cut most readers (it then
/// recounts the cut people who could rank a batch at a time, those who could gain most
/// first) answers as the same question without a limit, cut to it: on a site with enough
/// readers for several batches.
#[test]
fn short_limits_over_cut_windows_equal_the_unlimited_answer() {
    let d = tempfile::tempdir().unwrap();
    let cfg = pagetrail_gen::GenConfig { users: 300, days: 4, seed: 5, ..Default::default() };
    let (files, _) = pagetrail_gen::generate_files(&cfg, &d.path().join("logs")).unwrap();
    let store = Store::open_writer(&d.path().join("store")).unwrap();
    let mut ing = Ingester::new(&store, IngestOptions::default()).unwrap();
    for f in files {
        ing.ingest(&Source::File(f), &mut |_| {}).unwrap();
    }
    ing.finish().unwrap();
    let hour = 3_600_000;
    let day0 = 1_773_619_200_000; // 2026-03-16T00:00:00Z, the generator's first day
    for (from, to) in [(DAY_MS + 12 * hour, 2 * DAY_MS + 12 * hour), (DAY_MS + 9 * hour, 3 * DAY_MS + 15 * hour)] {
        let w = Window { from_ms: Some(day0 + from), to_ms: Some(day0 + to) };
        for by in [By::Pages, By::Events, By::Bytes] {
            let all = top_readers(&store, &w, None, by, 100_000).unwrap();
            assert!(all.len() > 200, "{} readers", all.len());
            for limit in [1, 3, 10] {
                let got = top_readers(&store, &w, None, by, limit).unwrap();
                assert_eq!(got, all[..limit], "{by:?} --limit {limit} {w:?}");
            }
        }
    }
}
