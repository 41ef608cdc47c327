//! `report`: gathers a person's, a page's, a space's or the site's answers into a
//! `pagetrail_report::Report` and writes it as one self-contained HTML file.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context, Result};
use pagetrail_core::time::{day_of, DAY_MS};
use pagetrail_query::{By, EventFilter, Target, Window};
use pagetrail_report::{Body, Cell, Chart, Custody, Heatmap, Report, Section, Series, Style, Table};
use pagetrail_store::Store;

use crate::output::{bytes, count, instant};

/// What the report is about.
pub enum Subject {
    User(String),
    Page(u64),
    Space(String),
    Site,
}

pub struct Options {
    pub subject: Subject,
    pub window: Window,
    pub window_text: String,
    pub store_path: String,
    pub detect: bool,
}

const HISTORY_DAYS: i64 = 90;

/// A page's reads: how many, and the first few as (time, source file, line).
#[derive(Default)]
struct PageReads {
    reads: u64,
    first: Vec<(i64, String, u64)>,
}
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn table(columns: &[&str], numeric: &[bool], rows: Vec<Vec<Cell>>) -> Table {
    Table { columns: columns.iter().map(|c| c.to_string()).collect(), numeric: numeric.to_vec(), rows }
}

fn num(n: u64) -> Cell {
    Cell::text(count(n))
}

fn section(title: &str, note: impl Into<String>, body: Body) -> Section {
    Section { title: title.into(), note: note.into(), body }
}

/// The window as days: first and one past last, from the store when unbounded.
fn days_of(store: &Store, w: &Window) -> Result<(i64, i64)> {
    let st = pagetrail_query::stats(store)?;
    let from = w.from_ms.or(st.first_ms).unwrap_or(0);
    let to = w.to_ms.or(st.last_ms.map(|l| l + 1)).unwrap_or(from + 1);
    Ok((day_of(from), day_of(to - 1) + 1))
}

/// A daily series over `[d0, d1)` from sparse (day, value) pairs; missing days are 0.
fn daily(d0: i64, d1: i64, pairs: &BTreeMap<i64, f64>) -> (Vec<i64>, Vec<Option<f64>>) {
    let x: Vec<i64> = (d0..d1).map(|d| d * 86_400).collect();
    let v = (d0..d1).map(|d| Some(pairs.get(&d).copied().unwrap_or(0.0))).collect();
    (x, v)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn detection(store: &Store, w: &Window) -> Result<pagetrail_detect::Detection> {
    let params = pagetrail_query::DetectParams {
        config: pagetrail_detect::Config::default(),
        enabled: Default::default(),
        admins: Default::default(),
        raw_history: false,
    };
    Ok(pagetrail_query::detect(store, w, params)?)
}

fn cases_table(found: &pagetrail_detect::Detection, only: Option<&str>) -> Table {
    let rows = found
        .cases
        .iter()
        .filter(|c| only.is_none_or(|u| c.user == u))
        .take(50)
        .map(|c| {
            let mut sev = Cell::text(c.severity.as_str());
            sev.mark = c.severity != pagetrail_detect::Severity::Low;
            vec![
                num(u64::from(c.rank)),
                Cell::text(format!("{:.1}", c.score)),
                sev,
                Cell::text(&c.user),
                Cell::text(instant(c.start_ms)),
                Cell::text(instant(c.end_ms)),
                Cell::text(c.detectors.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")),
                Cell::text(&c.why),
            ]
        })
        .collect();
    table(
        &["rank", "score", "severity", "user", "start", "end", "detectors", "why"],
        &[true, true, false, false, false, false, false, false],
        rows,
    )
}

fn alerts_table(found: &pagetrail_detect::Detection, user: &str) -> Table {
    let mut alerts: Vec<&pagetrail_detect::Alert> =
        found.alerts.iter().filter(|a| a.user == user && a.severity != pagetrail_detect::Severity::Low).collect();
    if alerts.is_empty() {
        alerts = found.alerts.iter().filter(|a| a.user == user).collect();
    }
    let rows = alerts
        .iter()
        .take(100)
        .map(|a| {
            let mut sev = Cell::text(a.severity.as_str());
            sev.mark = a.severity == pagetrail_detect::Severity::High;
            vec![
                sev,
                Cell::text(a.detector.name()),
                Cell::text(instant(a.start_ms)),
                Cell::text(format!("{:.1}", a.value)),
                Cell::text(format!("{:.1}", a.threshold)),
                Cell::text(crate::rows::evidence_summary(&a.evidence)),
            ]
        })
        .collect();
    table(
        &["severity", "detector", "start", "value", "threshold", "evidence"],
        &[false, false, false, true, true, false],
        rows,
    )
}

fn custody(store: &Store, o: &Options) -> Result<Custody> {
    let sources = pagetrail_ingest::custody::sources(store)?
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.sha256.map(|h| pagetrail_ingest::custody::hex(&h)).unwrap_or_default(),
                r.offset,
                r.lines,
            )
        })
        .collect();
    Ok(Custody {
        store: o.store_path.clone(),
        window: o.window_text.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        sources,
    })
}

/// Builds the report.
pub fn build(store: &Store, o: &Options) -> Result<Report> {
    let (d0, d1) = days_of(store, &o.window)?;
    let mut r = match &o.subject {
        Subject::User(u) => user_report(store, o, u, d0, d1)?,
        Subject::Page(n) => readers_report(store, o, &Target::Page(*n), &format!("page {n}"), d0, d1)?,
        Subject::Space(k) => readers_report(store, o, &Target::Space(k.clone()), &format!("space {k}"), d0, d1)?,
        Subject::Site => site_report(store, o, d0, d1)?,
    };
    r.custody = custody(store, o)?;
    Ok(r)
}

fn user_report(store: &Store, o: &Options, user: &str, d0: i64, d1: i64) -> Result<Report> {
    let s = pagetrail_query::user_summary(store, &o.window, user)?;
    anyhow::ensure!(s.known, "user '{}' is not in the store", crate::output::clean(user));
    // The person's own baseline: their days with reads in the 90 days before the window.
    let hist = Window { from_ms: Some((d0 - HISTORY_DAYS) * DAY_MS), to_ms: Some(d0 * DAY_MS) };
    let before = pagetrail_query::user_summary(store, &hist, user)?;
    let mut base: Vec<f64> = before.days.iter().map(|d| d.distinct_pages as f64).collect();
    // With no history before the window, the window's own days are the only baseline there is.
    let own_window = base.is_empty();
    if own_window {
        base = s.days.iter().map(|d| d.distinct_pages as f64).collect();
    }
    let med = median(base.clone());
    let mad = median(base.iter().map(|x| (x - med).abs()).collect());
    let (lo, hi) = ((med - 3.0 * 1.4826 * mad).max(0.0), med + 3.0 * 1.4826 * mad);
    let pairs: BTreeMap<i64, f64> = s.days.iter().map(|d| (d.day, d.distinct_pages as f64)).collect();
    let (x, values) = daily(d0, d1, &pairs);
    let n = x.len();
    let mut series = vec![Series { label: "distinct pages read".into(), values, style: Style::Bars }];
    let band = if base.is_empty() {
        None
    } else {
        series.push(Series { label: "usual, low".into(), values: vec![Some(lo); n], style: Style::Edge });
        series.push(Series { label: "usual, high".into(), values: vec![Some(hi); n], style: Style::Edge });
        Some((1, 2))
    };
    let band_note = if base.is_empty() {
        "No reading in the window or the 90 days before it.".to_string()
    } else if own_window {
        format!(
            "Distinct pages per UTC day. No reading in the 90 days before the window, so the band is their usual day within it: median {med:.1} ± 3 MAD over their {} days with reads.",
            base.len()
        )
    } else {
        format!(
            "Distinct pages per UTC day. The band is their usual day: median {med:.1} ± 3 MAD over their {} days with reads in the 90 days before.",
            base.len()
        )
    };
    let mut sections = vec![section(
        "Daily reading against their own baseline",
        band_note,
        Body::Chart(Chart { x, series, band, y_label: "distinct pages".into() }),
    )];

    // Reads by weekday and hour, and the top pages, from the person's read events.
    let mut cells = vec![vec![0u64; 24]; 7];
    let mut pages: HashMap<String, PageReads> = HashMap::new();
    let filter = EventFilter { user: Some(user.to_string()), ..EventFilter::default() };
    pagetrail_query::events(store, &o.window, &filter, |e| {
        if e.is_read {
            let d = day_of(e.ts_ms);
            // 1970-01-01 was a Thursday.
            let wd = ((d + 3).rem_euclid(7)) as usize;
            let hour = ((e.ts_ms - d * DAY_MS) / 3_600_000) as usize;
            cells[wd][hour.min(23)] += 1;
            let name = match (&e.space, &e.title, e.page_id) {
                (Some(sp), Some(t), Some(id)) => format!("{sp}/{t} ({id})"),
                (Some(sp), Some(t), None) => format!("{sp}/{t}"),
                (_, _, Some(id)) => format!("page {id}"),
                _ => "(page)".into(),
            };
            let p = pages.entry(name).or_default();
            p.reads += 1;
            if p.first.len() < 20 {
                p.first.push((e.ts_ms, e.file.clone(), e.line));
            }
        }
        true
    })?;
    sections.push(section(
        "When they read",
        "Reads by weekday and hour of day (UTC); hover a cell for its count.",
        Body::Heatmap(Heatmap {
            rows: WEEKDAYS.map(String::from).to_vec(),
            columns: (0..24).map(|h| format!("{h:02}")).collect(),
            cells,
        }),
    ));
    // Spaces, with those not read in the 90 days before marked new.
    let known: BTreeSet<&str> = before.spaces.iter().map(|s| s.space.as_str()).collect();
    let rows = s
        .spaces
        .iter()
        .map(|sp| {
            let new = !known.contains(sp.space.as_str());
            let mut name = Cell::text(if new { format!("{} (new)", sp.space) } else { sp.space.clone() });
            name.mark = new;
            vec![name, num(sp.events), num(sp.distinct_pages), Cell::text(bytes(sp.bytes))]
        })
        .collect();
    sections.push(section(
        "Spaces read",
        "Marked: not read by them in the 90 days before the window.",
        Body::Table(table(&["space", "reads", "distinct pages", "bytes"], &[false, true, true, true], rows)),
    ));
    let rows = s
        .sources
        .iter()
        .map(|src| {
            vec![
                Cell::text(&src.ip),
                Cell::text(&src.user_agent),
                num(src.events),
                Cell::text(instant(src.first_ms)),
                Cell::text(instant(src.last_ms)),
            ]
        })
        .collect();
    sections.push(section(
        "Sources",
        "Client addresses and user agents of their reads.",
        Body::Table(table(
            &["address", "user agent", "reads", "first seen", "last seen"],
            &[false, false, true, false, false],
            rows,
        )),
    ));
    if o.detect {
        let found = detection(store, &o.window)?;
        sections.push(section(
            "Cases",
            "Their cases from detect over the window, with why each ranks where it does.",
            Body::Table(cases_table(&found, Some(&s.user))),
        ));
        sections.push(section(
            "Alerts and their evidence",
            "Medium and high alerts (all alerts when none is), with the source line of the first event.",
            Body::Table(alerts_table(&found, &s.user)),
        ));
    }
    // Top pages, each linked to its read events below.
    let mut top: Vec<(String, PageReads)> = pages.into_iter().collect();
    top.sort_by(|a, b| b.1.reads.cmp(&a.1.reads).then_with(|| a.0.cmp(&b.0)));
    top.truncate(20);
    let rows = top
        .iter()
        .enumerate()
        .map(|(i, (name, p))| {
            let mut c = Cell::text(name);
            c.link = Some(format!("#page-{i}"));
            vec![num(p.reads), c]
        })
        .collect();
    sections.push(section(
        "Top pages",
        "Their most-read pages; each links to its events.",
        Body::Table(table(&["reads", "page"], &[true, false], rows)),
    ));
    let mut rows = Vec::new();
    for (i, (name, p)) in top.iter().enumerate() {
        for (k, (ts, file, line)) in p.first.iter().enumerate() {
            let mut first = Cell::text(if k == 0 { name.clone() } else { String::new() });
            if k == 0 {
                first.anchor = Some(format!("page-{i}"));
            }
            rows.push(vec![first, Cell::text(instant(*ts)), Cell::text(format!("{file}:{line}"))]);
        }
    }
    sections.push(section(
        "Events of the top pages",
        "Up to 20 reads per page, with the file and line each came from (pagetrail events --user shows all).",
        Body::Table(table(&["page", "time (UTC)", "source"], &[false, false, false], rows)),
    ));
    Ok(Report {
        title: format!("Reading of {}", s.user),
        subtitle: format!("{}; {} stored events read", o.window_text, count(s.events)),
        facts: vec![
            ("reads".into(), count(s.events)),
            ("distinct pages".into(), count(s.distinct_pages)),
            ("spaces".into(), count(s.distinct_spaces)),
            ("bytes".into(), bytes(s.bytes)),
            ("first read".into(), s.first_ms.map(instant).unwrap_or_default()),
            ("last read".into(), s.last_ms.map(instant).unwrap_or_default()),
        ],
        sections,
        custody: Custody::default(),
    })
}

fn readers_table(rows: &[pagetrail_query::ReaderRow], who: bool) -> Table {
    let rows = rows
        .iter()
        .take(50)
        .map(|r| {
            let mut v = vec![Cell::text(&r.user), num(r.events), num(r.distinct_pages), Cell::text(bytes(r.bytes))];
            if who {
                v.push(Cell::text(instant(r.first_ms)));
                v.push(Cell::text(instant(r.last_ms)));
            } else {
                v.push(num(r.spaces_shown()));
            }
            v
        })
        .collect();
    if who {
        table(
            &["user", "reads", "distinct pages", "bytes", "first read", "last read"],
            &[false, true, true, true, false, false],
            rows,
        )
    } else {
        table(&["user", "reads", "distinct pages", "bytes", "spaces"], &[false, true, true, true, true], rows)
    }
}

fn readers_report(store: &Store, o: &Options, target: &Target, what: &str, d0: i64, d1: i64) -> Result<Report> {
    let rows = pagetrail_query::who_read(store, &o.window, target)?;
    let filter = match target {
        Target::Page(n) => EventFilter { page: Some(*n), ..EventFilter::default() },
        Target::Space(k) => EventFilter { space: Some(k.clone()), ..EventFilter::default() },
        _ => EventFilter::default(),
    };
    let mut reads: BTreeMap<i64, f64> = BTreeMap::new();
    let mut readers: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    let mut named: Option<String> = None;
    pagetrail_query::events(store, &o.window, &filter, |e| {
        if named.is_none() && matches!(target, Target::Page(_)) {
            if let (Some(sp), Some(t)) = (&e.space, &e.title) {
                named = Some(format!("{sp}/{t} ({what})"));
            }
        }
        if e.is_read {
            let d = day_of(e.ts_ms);
            *reads.entry(d).or_default() += 1.0;
            readers.entry(d).or_default().insert(e.user);
        }
        true
    })?;
    let people: BTreeMap<i64, f64> = readers.iter().map(|(d, s)| (*d, s.len() as f64)).collect();
    let (x, r) = daily(d0, d1, &reads);
    let (_, p) = daily(d0, d1, &people);
    let chart = Chart {
        x,
        series: vec![
            Series { label: "reads".into(), values: r, style: Style::Bars },
            Series { label: "readers".into(), values: p, style: Style::Line },
        ],
        band: None,
        y_label: "per UTC day".into(),
    };
    let total: u64 = rows.iter().map(|r| r.events).sum();
    Ok(Report {
        title: format!("Readers of {}", named.as_deref().unwrap_or(what)),
        subtitle: format!("{}; {} readers", o.window_text, count(rows.len() as u64)),
        facts: vec![("readers".into(), count(rows.len() as u64)), ("reads".into(), count(total))],
        sections: vec![
            section("Readers over time", "Reads and distinct readers per UTC day.", Body::Chart(chart)),
            section("Top readers", "Ranked by reads, ties by user.", Body::Table(readers_table(&rows, true))),
        ],
        custody: Custody::default(),
    })
}

fn site_report(store: &Store, o: &Options, d0: i64, d1: i64) -> Result<Report> {
    let top = pagetrail_query::top_readers(store, &o.window, None, By::Pages, 25)?;
    // Reads per day: a day window each answers from the daily rollups.
    let mut reads: BTreeMap<i64, f64> = BTreeMap::new();
    let mut readers: BTreeMap<i64, f64> = BTreeMap::new();
    for d in d0..d1 {
        let w = Window {
            from_ms: Some(o.window.from_ms.map_or(d * DAY_MS, |f| f.max(d * DAY_MS))),
            to_ms: Some(o.window.to_ms.map_or((d + 1) * DAY_MS, |t| t.min((d + 1) * DAY_MS))),
        };
        let rows = pagetrail_query::top_readers(store, &w, None, By::Events, usize::MAX)?;
        reads.insert(d, rows.iter().map(|r| r.events).sum::<u64>() as f64);
        readers.insert(d, rows.len() as f64);
    }
    let (x, r) = daily(d0, d1, &reads);
    let (_, p) = daily(d0, d1, &readers);
    let st = pagetrail_query::stats(store)?;
    let mut sections = vec![section(
        "Reads per day",
        "Reads and distinct readers per UTC day.",
        Body::Chart(Chart {
            x,
            series: vec![
                Series { label: "reads".into(), values: r, style: Style::Bars },
                Series { label: "readers".into(), values: p, style: Style::Line },
            ],
            band: None,
            y_label: "per UTC day".into(),
        }),
    )];
    if o.detect {
        let found = detection(store, &o.window)?;
        sections.push(section(
            "Cases, ranked",
            format!(
                "{} cases from {} alerts; each says why it ranks where it does.",
                count(found.cases.len() as u64),
                count(found.alerts.len() as u64)
            ),
            Body::Table(cases_table(&found, None)),
        ));
    }
    sections.push(section("Top readers", "By distinct pages read.", Body::Table(readers_table(&top, false))));
    Ok(Report {
        title: "Site overview".into(),
        subtitle: o.window_text.clone(),
        facts: vec![
            ("stored events".into(), count(st.events)),
            ("reads".into(), count(st.reads)),
            ("people".into(), count(st.users)),
            ("pages read".into(), count(st.pages)),
            ("spaces".into(), count(st.spaces)),
        ],
        sections,
        custody: Custody::default(),
    })
}

/// Writes the report; returns its size in bytes.
pub fn write(store: &Store, o: &Options, out: &std::path::Path) -> Result<u64> {
    let html = pagetrail_report::render(&build(store, o)?);
    std::fs::write(out, &html).with_context(|| out.display().to_string())?;
    Ok(html.len() as u64)
}
