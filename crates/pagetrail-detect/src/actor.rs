//! One actor's events prepared for the detectors (dense local ids, read positions) and the
//! drafts of alerts they produce before names are resolved.

use std::collections::BTreeMap;

use pagetrail_core::is_read;

use crate::fasthash::IdMap;
use crate::history::HistoryDay;
use crate::{Alert, Baseline, DetectEvent, Detector, Evidence, Names, Severity};

/// "No local id" (no page, no space).
pub(crate) const NONE: u32 = u32::MAX;

/// Who the detectors see: a user, or for the anonymous user `-`, one client address.
pub(crate) struct Actor<'a> {
    pub anon_ip: Option<u32>,
    /// The window's events, in time order.
    pub ev: &'a [DetectEvent],
    /// What came before, one digest per UTC day in day order; the last may be the window's
    /// first day up to the window's start.
    pub hist: &'a [HistoryDay],
    /// Dense page index per event (`NONE` without a page); `npages` of them.
    pub lpage: Vec<u32>,
    pub npages: usize,
    /// Dense space index per event; `spaces[local]` is the space id.
    pub lspace: Vec<u32>,
    pub spaces: Vec<u32>,
    /// Event indices of reads (contract §3), in time order.
    pub reads: Vec<u32>,
}

impl<'a> Actor<'a> {
    /// `ev` must be sorted by time; indices are u32 (an actor has far fewer than 4e9 events).
    pub fn new(anon_ip: Option<u32>, ev: &'a [DetectEvent], hist: &'a [HistoryDay]) -> Self {
        let n = ev.len();
        let mut pmap: IdMap<u32, u32> = IdMap::default();
        let mut smap: IdMap<u32, u32> = IdMap::default();
        let mut spaces = Vec::new();
        let mut lpage = Vec::with_capacity(n);
        let mut lspace = Vec::with_capacity(n);
        let mut reads = Vec::new();
        for (i, e) in ev.iter().enumerate() {
            let lp = if e.page == 0 {
                NONE
            } else {
                let next = pmap.len() as u32;
                *pmap.entry(e.page).or_insert(next)
            };
            let ls = if e.space == 0 {
                NONE
            } else {
                let next = smap.len() as u32;
                *smap.entry(e.space).or_insert_with(|| {
                    spaces.push(e.space);
                    next
                })
            };
            lpage.push(lp);
            lspace.push(ls);
            if is_read(e.action, e.status, e.page != 0) {
                reads.push(i as u32);
            }
        }
        Actor { anon_ip, ev, hist, npages: pmap.len(), lpage, lspace, spaces, reads }
    }

    pub fn ts(&self, i: u32) -> i64 {
        self.ev[i as usize].ts_ms
    }

    /// The actor's first event, history included (0 when there is none).
    pub fn first_ts(&self) -> i64 {
        match (self.hist.first(), self.ev.first()) {
            (Some(h), _) => h.first_ms(),
            (None, Some(e)) => e.ts_ms,
            (None, None) => 0,
        }
    }

    /// Reads with `a <= ts < b`.
    pub fn reads_between(&self, a: i64, b: i64) -> &[u32] {
        let lo = self.reads.partition_point(|&i| self.ts(i) < a);
        let hi = self.reads.partition_point(|&i| self.ts(i) < b);
        &self.reads[lo..hi.max(lo)]
    }

    pub fn is_read(&self, i: usize) -> bool {
        let e = &self.ev[i];
        is_read(e.action, e.status, e.page != 0)
    }
}

/// Evidence before names are resolved: time bounds, up to 5 page ids, first and last source.
#[derive(Clone, Debug)]
pub(crate) struct EvLite {
    pub start: i64,
    pub end: i64,
    pub pages: Vec<u32>,
    pub first: (u32, u64),
    pub last: (u32, u64),
    pub n: u64,
}

impl EvLite {
    pub fn new() -> Self {
        EvLite { start: i64::MAX, end: i64::MIN, pages: Vec::new(), first: (0, 0), last: (0, 0), n: 0 }
    }

    pub fn push(&mut self, e: &DetectEvent) {
        self.push_parts(e.ts_ms, e.page, e.file, e.line);
    }

    pub fn push_parts(&mut self, ts: i64, page: u32, file: u32, line: u64) {
        if ts < self.start {
            self.start = ts;
            self.first = (file, line);
        }
        if ts >= self.end {
            self.end = ts;
            self.last = (file, line);
        }
        if page != 0 && self.pages.len() < 5 && !self.pages.contains(&page) {
            self.pages.push(page);
        }
        self.n += 1;
    }

    /// Widens `self` by another evidence set (pages appended up to 5).
    pub fn merge(&mut self, o: &EvLite) {
        if o.n == 0 {
            return;
        }
        if o.start < self.start {
            self.start = o.start;
            self.first = o.first;
        }
        if o.end >= self.end {
            self.end = o.end;
            self.last = o.last;
        }
        for &p in &o.pages {
            if self.pages.len() < 5 && !self.pages.contains(&p) {
                self.pages.push(p);
            }
        }
        self.n += o.n;
    }

    pub fn of(ev: &[DetectEvent], idx: impl IntoIterator<Item = u32>) -> Self {
        let mut l = EvLite::new();
        for i in idx {
            if let Some(e) = ev.get(i as usize) {
                l.push(e);
            }
        }
        l
    }

    /// Bounds, or (0, 0) when nothing was pushed.
    pub fn bounds(&self) -> (i64, i64) {
        if self.n == 0 {
            (0, 0)
        } else {
            (self.start, self.end)
        }
    }
}

/// A textual fact, resolved through [`Names`] only when the alert is kept.
#[derive(Clone, Debug)]
pub(crate) enum Note {
    Text(String),
    Ip(u32),
    Agent(u32),
    Spaces(Vec<u32>),
    Time(i64),
}

/// An alert of one actor, ids not yet resolved.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    pub det: Detector,
    pub severity: Severity,
    pub value: f64,
    pub threshold: f64,
    pub counts: Vec<(&'static str, u64)>,
    pub baseline: Option<Baseline>,
    pub notes: Vec<(&'static str, Note)>,
    pub ev: EvLite,
}

impl Draft {
    pub fn new(det: Detector, severity: Severity, value: f64, threshold: f64, ev: EvLite) -> Self {
        Draft { det, severity, value, threshold, counts: Vec::new(), baseline: None, notes: Vec::new(), ev }
    }

    pub fn count(mut self, key: &'static str, v: impl Into<u64>) -> Self {
        self.counts.retain(|(k, _)| *k != key);
        self.counts.push((key, v.into()));
        self
    }

    pub fn note(mut self, key: &'static str, n: Note) -> Self {
        self.notes.push((key, n));
        self
    }

    pub fn with_baseline(mut self, b: Baseline) -> Self {
        self.baseline = Some(b);
        self
    }

    /// How far past its threshold the draft is: severity first, then value/threshold.
    fn ratio(&self) -> f64 {
        if self.threshold > 0.0 {
            self.value / self.threshold
        } else {
            self.value
        }
    }

    pub fn stronger(&self, o: &Draft) -> std::cmp::Ordering {
        self.severity.cmp(&o.severity).then(self.ratio().total_cmp(&o.ratio())).then(o.ev.start.cmp(&self.ev.start))
    }
}

/// Merges one detector's drafts closer than `gap_ms` (overlapping when 0), keeping the strongest.
pub(crate) fn dedupe(mut v: Vec<Draft>, gap_ms: i64) -> Vec<Draft> {
    if v.len() < 2 {
        return v;
    }
    v.sort_by(|a, b| b.stronger(a));
    // Kept intervals are more than the gap apart, so sorted by start their ends increase too:
    // the last one starting before the candidate's widened end is the only one that can clash.
    let mut kept: BTreeMap<i64, i64> = BTreeMap::new();
    let mut out = Vec::with_capacity(v.len());
    for d in v {
        let (s, e) = d.ev.bounds();
        let (ws, we) = (s.saturating_sub(gap_ms), e.saturating_add(gap_ms));
        if kept.range(..=we).next_back().is_some_and(|(_, &ke)| ke >= ws) {
            continue;
        }
        kept.insert(s, e);
        out.push(d);
    }
    out.sort_by_key(|d| d.ev.start);
    out
}

/// Resolves ids once per id: file names are few and reused by every alert.
pub(crate) fn file_name(files: &mut IdMap<u32, String>, names: &dyn Names, id: u32) -> String {
    files.entry(id).or_insert_with(|| names.file(id)).clone()
}

/// Turns a draft into an alert, asking `names` for the few strings it shows.
pub(crate) fn to_alert(
    d: Draft,
    user: &str,
    anon_ip: Option<&str>,
    names: &dyn Names,
    files: &mut IdMap<u32, String>,
) -> Alert {
    let mut counts = BTreeMap::new();
    for (k, v) in d.counts {
        counts.insert(k.to_string(), v);
    }
    let mut notes = BTreeMap::new();
    if let Some(ip) = anon_ip {
        notes.insert("ip".to_string(), ip.to_string());
    }
    for (k, n) in d.notes {
        let text = match n {
            Note::Text(t) => t,
            Note::Ip(id) => names.ip(id),
            Note::Agent(id) => {
                if id == 0 {
                    String::new()
                } else {
                    names.agent(id)
                }
            }
            Note::Spaces(ids) => ids.iter().map(|&s| names.space(s)).collect::<Vec<_>>().join(", "),
            Note::Time(ms) => pagetrail_core::time::format_rfc3339(ms),
        };
        notes.insert(k.to_string(), text);
    }
    let (first_source, last_source) = if d.ev.n == 0 {
        ((String::new(), 0), (String::new(), 0))
    } else {
        ((file_name(files, names, d.ev.first.0), d.ev.first.1), (file_name(files, names, d.ev.last.0), d.ev.last.1))
    };
    let (start_ms, end_ms) = d.ev.bounds();
    Alert {
        detector: d.det,
        user: user.to_string(),
        severity: d.severity,
        start_ms,
        end_ms,
        value: d.value,
        threshold: d.threshold,
        evidence: Evidence {
            counts,
            baseline: d.baseline,
            example_pages: d.ev.pages.iter().map(|&p| names.page(p)).collect(),
            first_source,
            last_source,
            notes,
        },
    }
}
