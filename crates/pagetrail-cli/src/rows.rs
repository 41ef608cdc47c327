//! One `Serialize` row type per answer: its fields, in order, are the JSON object's keys, the
//! CSV header and the table's columns (through `cells`), so the three cannot drift. Tables only
//! show the values for people (thousands separators, human bytes), chosen by field name.

use std::io::Write;

use anyhow::Result;
use pagetrail_core::time::format_day;
use pagetrail_query::{DayRow, ReaderRow, SourceRow, SpaceRow, UserSummary};
use serde::Serialize;

use crate::cells::cells;
use crate::cli::Format;
use crate::output::{self, bytes, count, instant, Table};

/// `top-readers` (contract §4).
#[derive(Debug, Default, Serialize)]
pub struct TopReader {
    pub user: String,
    pub distinct_pages: u64,
    pub events: u64,
    pub bytes: u64,
    pub distinct_spaces: u64,
}

impl From<&ReaderRow> for TopReader {
    fn from(r: &ReaderRow) -> Self {
        TopReader {
            user: r.user.clone(),
            distinct_pages: r.distinct_pages,
            events: r.events,
            bytes: r.bytes,
            distinct_spaces: r.spaces_shown(),
        }
    }
}

/// `who-read` (contract §4).
#[derive(Debug, Default, Serialize)]
pub struct WhoRead {
    pub user: String,
    pub events: u64,
    pub distinct_pages: u64,
    pub bytes: u64,
    pub first_seen: String,
    pub last_seen: String,
}

impl From<&ReaderRow> for WhoRead {
    fn from(r: &ReaderRow) -> Self {
        WhoRead {
            user: r.user.clone(),
            events: r.events,
            distinct_pages: r.distinct_pages,
            bytes: r.bytes,
            first_seen: instant(r.first_ms),
            last_seen: instant(r.last_ms),
        }
    }
}

/// A day of `user`.
#[derive(Debug, Default, Serialize)]
pub struct Day {
    pub day: String,
    pub events: u64,
    pub distinct_pages: u64,
    pub bytes: u64,
}

impl From<&DayRow> for Day {
    fn from(d: &DayRow) -> Self {
        Day { day: format_day(d.day), events: d.events, distinct_pages: d.distinct_pages, bytes: d.bytes }
    }
}

/// A space of `user`.
#[derive(Debug, Default, Serialize)]
pub struct Space {
    pub space: String,
    pub events: u64,
    pub distinct_pages: u64,
    pub bytes: u64,
}

impl From<&SpaceRow> for Space {
    fn from(d: &SpaceRow) -> Self {
        Space { space: d.space.clone(), events: d.events, distinct_pages: d.distinct_pages, bytes: d.bytes }
    }
}

/// A source (address and agent) of `user`.
#[derive(Debug, Default, Serialize)]
pub struct Source {
    pub ip: String,
    pub user_agent: String,
    pub events: u64,
    pub first_seen: String,
    pub last_seen: String,
}

impl From<&SourceRow> for Source {
    fn from(d: &SourceRow) -> Self {
        Source {
            ip: d.ip.clone(),
            user_agent: d.user_agent.clone(),
            events: d.events,
            first_seen: instant(d.first_ms),
            last_seen: instant(d.last_ms),
        }
    }
}

/// `user` (contract §4): the totals and the three row lists.
#[derive(Debug, Serialize)]
pub struct User {
    pub user: String,
    pub events: u64,
    pub distinct_pages: u64,
    pub distinct_spaces: u64,
    pub bytes: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub days: Vec<Day>,
    pub spaces: Vec<Space>,
    pub sources: Vec<Source>,
}

impl From<&UserSummary> for User {
    fn from(s: &UserSummary) -> Self {
        User {
            user: s.user.clone(),
            events: s.events,
            distinct_pages: s.distinct_pages,
            distinct_spaces: s.distinct_spaces,
            bytes: s.bytes,
            first_seen: s.first_ms.map(instant),
            last_seen: s.last_ms.map(instant),
            days: s.days.iter().map(Day::from).collect(),
            spaces: s.spaces.iter().map(Space::from).collect(),
            sources: s.sources.iter().map(Source::from).collect(),
        }
    }
}

/// A source file of `sources`: what was read from it, and its SHA-256 (chain of custody).
#[derive(Debug, Default, Serialize)]
pub struct SourceFile {
    pub name: String,
    /// The names its lines are stored under: what events and rejects cite as their file.
    pub stored_as: String,
    pub format: String,
    pub size: u64,
    pub consumed_bytes: u64,
    pub lines: u64,
    pub sha256: Option<String>,
    pub first_ingest: Option<String>,
    pub last_ingest: Option<String>,
}

impl SourceFile {
    pub fn new(r: &pagetrail_store::FileRecord, stored_as: &[String]) -> Self {
        let when = |ms: i64| (ms != 0).then(|| instant(ms));
        SourceFile {
            name: r.name.clone(),
            stored_as: stored_as.join(", "),
            format: r.format.clone(),
            size: r.size,
            consumed_bytes: r.offset,
            lines: r.lines,
            sha256: r.sha256.map(|h| pagetrail_ingest::custody::hex(&h)),
            first_ingest: when(r.first_ingest_ms),
            last_ingest: when(r.last_ingest_ms),
        }
    }
}

/// One file of `verify`: its verdict, and the record it was checked against.
#[derive(Debug, Default, Serialize)]
pub struct Verified {
    pub file: String,
    pub verdict: String,
    pub ingested_as: Option<String>,
    pub ingested_bytes: Option<u64>,
    pub sha256: Option<String>,
}

impl Verified {
    pub fn new(
        file: &str,
        v: &pagetrail_ingest::custody::Verdict,
        r: &Option<pagetrail_store::FileRecord>,
    ) -> Verified {
        Verified {
            file: file.to_string(),
            verdict: v.as_str().to_string(),
            ingested_as: r.as_ref().map(|r| r.name.clone()),
            ingested_bytes: r.as_ref().map(|r| r.offset),
            sha256: r.as_ref().and_then(|r| r.sha256).map(|h| pagetrail_ingest::custody::hex(&h)),
        }
    }
}

/// What `purge` removed, and the chain link that records it.
#[derive(Debug, Default, Serialize)]
pub struct PurgeRow {
    pub events: u64,
    pub reads: u64,
    pub rejects: u64,
    pub index_rows: u64,
    pub batches_rehashed: u32,
    pub link: u32,
    pub head: String,
    pub seconds: f64,
}

/// What `verify` with no file found in the store's hash chain.
#[derive(Debug, Default, Serialize)]
pub struct ChainCheck {
    pub intact: bool,
    pub links: u32,
    pub first_batch: Option<u32>,
    pub last_batch: Option<u32>,
    pub head: String,
    pub event_groups: u64,
    /// Groups written before the store had a chain: not covered by it.
    pub uncovered_groups: u64,
    pub first_bad_batch: Option<u32>,
    pub problem: Option<String>,
}

impl From<&pagetrail_store::chain::ChainReport> for ChainCheck {
    fn from(r: &pagetrail_store::chain::ChainReport) -> Self {
        ChainCheck {
            intact: r.problem.is_none(),
            links: r.links,
            first_batch: r.first_seq,
            last_batch: r.last_seq,
            head: pagetrail_store::chain::hex(&r.head),
            event_groups: r.groups,
            uncovered_groups: r.uncovered_groups,
            first_bad_batch: r.problem.as_ref().map(|p| p.seq),
            problem: r.problem.as_ref().map(|p| p.what.clone()),
        }
    }
}

/// JSON Lines, one row a line, or the table or CSV of the same rows.
pub fn print_lines<T: Serialize + Default>(out: &mut dyn Write, fmt: Format, rows: &[T]) -> Result<()> {
    match fmt {
        Format::Json => {
            for r in rows {
                serde_json::to_writer(&mut *out, r)?;
                writeln!(out)?;
            }
            Ok(())
        }
        _ => print_flat(out, fmt, rows),
    }
}

/// One event of `events` (contract §1). JSON nests `file` and `line` as `source` and adds the
/// source's own fields as `extra` ([`Event::json`]); CSV and the table show the row as it is.
#[derive(Debug, Default, Serialize)]
pub struct Event {
    pub ts: String,
    pub user: String,
    pub action: String,
    pub page_id: Option<u64>,
    pub space: Option<String>,
    pub title: Option<String>,
    pub status: u16,
    pub bytes: u64,
    pub duration_ms: u32,
    pub ip: String,
    pub user_agent: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub referer: String,
    pub file: String,
    pub line: u64,
    #[serde(skip)]
    pub extra: String,
}

impl From<pagetrail_query::EventOut> for Event {
    fn from(e: pagetrail_query::EventOut) -> Self {
        Event {
            ts: instant(e.ts_ms),
            user: e.user,
            action: e.action.as_str().to_string(),
            page_id: e.page_id,
            space: e.space,
            title: e.title,
            status: e.status,
            bytes: e.bytes,
            duration_ms: e.duration_ms,
            ip: e.ip,
            user_agent: e.user_agent,
            method: e.method,
            path: e.path,
            query: e.query,
            referer: e.referer,
            file: e.file,
            line: e.line,
            extra: e.extra,
        }
    }
}

impl Event {
    /// Contract §4: the row's fields, with `source` as `{"file","line"}` and, for sources other
    /// than access logs, their own fields as `extra`.
    pub fn json(&self) -> EventJson<'_> {
        EventJson(self)
    }
}

/// The JSON of an event, written straight to the output (a `Value` tree per event cost a
/// fifth of `events`' time). `event_json_has_the_rows_fields` holds it to [`Event`]'s fields.
pub struct EventJson<'a>(&'a Event);

impl Serialize for EventJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        #[derive(Serialize)]
        struct SourceRef<'a> {
            file: &'a str,
            line: u64,
        }
        let e = self.0;
        let extra: Option<serde_json::Value> =
            serde_json::from_str(&e.extra).ok().filter(|v: &serde_json::Value| v.is_object());
        let mut st = s.serialize_struct("Event", 17)?;
        st.serialize_field("ts", &e.ts)?;
        st.serialize_field("user", &e.user)?;
        st.serialize_field("action", &e.action)?;
        st.serialize_field("page_id", &e.page_id)?;
        st.serialize_field("space", &e.space)?;
        st.serialize_field("title", &e.title)?;
        st.serialize_field("status", &e.status)?;
        st.serialize_field("bytes", &e.bytes)?;
        st.serialize_field("duration_ms", &e.duration_ms)?;
        st.serialize_field("ip", &e.ip)?;
        st.serialize_field("user_agent", &e.user_agent)?;
        st.serialize_field("method", &e.method)?;
        st.serialize_field("path", &e.path)?;
        st.serialize_field("query", &e.query)?;
        st.serialize_field("referer", &e.referer)?;
        st.serialize_field("source", &SourceRef { file: &e.file, line: e.line })?;
        match &extra {
            Some(x) => st.serialize_field("extra", x)?,
            None => st.skip_field("extra")?,
        }
        st.end()
    }
}

/// A line `rejects` kept: where it was, why, and the line as read.
#[derive(Debug, Default, Serialize)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub reason: String,
    pub raw: String,
}

/// `stats` (contract §4).
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub events: u64,
    pub reads: u64,
    pub users: u64,
    pub pages: u64,
    pub spaces: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    pub bytes_on_disk: u64,
}

/// `ingest` (contract §4).
#[derive(Debug, Default, Serialize)]
pub struct Ingested {
    pub files: u64,
    pub lines: u64,
    pub events: u64,
    pub reads: u64,
    pub noise: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub seconds: f64,
}

/// A case of `detect` as CSV and table cells: the keys of the contract's case JSON (the
/// detect crate's `impl Serialize for Case`), with the detectors joined by commas; a test holds
/// the two to the same keys.
#[derive(Debug, Default, Serialize)]
pub struct CaseRow {
    pub user: String,
    pub rank: u32,
    pub score: f64,
    pub severity: String,
    pub start: String,
    pub end: String,
    pub detectors: String,
    pub alerts: usize,
    pub why: String,
}

impl From<&pagetrail_detect::Case> for CaseRow {
    fn from(c: &pagetrail_detect::Case) -> Self {
        CaseRow {
            user: match &c.ip {
                Some(ip) => format!("{} ({ip})", c.user),
                None => c.user.clone(),
            },
            rank: c.rank,
            score: c.score,
            severity: c.severity.as_str().into(),
            start: instant(c.start_ms),
            end: instant(c.end_ms),
            detectors: c.detectors.iter().map(|d| d.name()).collect::<Vec<_>>().join(","),
            alerts: c.alerts.len(),
            why: c.why.clone(),
        }
    }
}

/// An alert of `detect --alerts` as CSV and table cells: the keys of the contract's alert JSON,
/// with the evidence as JSON text (CSV) or a summary (table).
#[derive(Debug, Default, Serialize)]
pub struct AlertRow {
    pub detector: String,
    pub user: String,
    pub severity: String,
    pub start: String,
    pub end: String,
    pub value: f64,
    pub threshold: f64,
    pub evidence: String,
}

/// An alert's evidence in one line for people: its counts, baseline, an example page and the
/// source line of its first event.
pub fn evidence_summary(e: &pagetrail_detect::Evidence) -> String {
    let mut ev: Vec<String> = e.counts.iter().map(|(k, v)| format!("{k}={}", count(*v))).collect();
    if let Some(b) = &e.baseline {
        ev.push(format!("{} {:.1}±{:.1} over {} days", b.method, b.center, b.spread, b.days));
    }
    if let Some(p) = e.example_pages.first() {
        ev.push(format!("e.g. {p}"));
    }
    ev.push(format!("from {}:{}", e.first_source.0, e.first_source.1));
    ev.join("; ")
}

impl AlertRow {
    /// `summary`: the evidence for people (the table) rather than as JSON (CSV).
    pub fn new(a: &pagetrail_detect::Alert, summary: bool) -> Result<AlertRow> {
        let evidence = if summary { evidence_summary(&a.evidence) } else { serde_json::to_string(&a.evidence)? };
        Ok(AlertRow {
            detector: a.detector.name().into(),
            user: a.user.clone(),
            severity: a.severity.as_str().into(),
            start: instant(a.start_ms),
            end: instant(a.end_ms),
            value: a.value,
            threshold: a.threshold,
            evidence,
        })
    }
}

/// One answer that is a single object: JSON object, a one-row CSV, or a two-column table.
pub fn print_record<T: Serialize + Default>(out: &mut dyn Write, fmt: Format, row: &T) -> Result<()> {
    match fmt {
        Format::Json => {
            serde_json::to_writer(&mut *out, row)?;
            writeln!(out)?;
        }
        Format::Csv => print_flat(out, fmt, std::slice::from_ref(row))?,
        Format::Table => {
            let (head, values) = fields(row)?;
            let mut t = Table::new(&[("", false), ("", true)]);
            for (f, v) in head.iter().zip(values) {
                t.row(vec![heading(f), if v.is_empty() { "-".into() } else { shown(f, v) }]);
            }
            t.print(out)?;
        }
    }
    Ok(())
}

/// A table of some of the rows' fields, by name (a narrower view for people).
pub fn print_columns<T: Serialize + Default>(out: &mut dyn Write, rows: &[T], columns: &[&str]) -> Result<()> {
    Collected::of(rows)?.print(out, Format::Table, Some(columns))
}

/// A flat row's field names and values as text, in declaration order.
fn fields<T: Serialize>(row: &T) -> Result<(Vec<String>, Vec<String>)> {
    let (names, values) = cells(row)?;
    Ok((names.into_iter().map(String::from).collect(), values))
}

/// A row's values as text; `head` (from [`fields`] once per answer) names them in this order.
fn values<T: Serialize>(head: &[String], row: &T) -> Result<Vec<String>> {
    let (_, v) = cells(row)?;
    anyhow::ensure!(v.len() == head.len(), "an answer row has {} fields, its header {}", v.len(), head.len());
    Ok(v)
}

/// The text of an answer's rows, taken as they come: events are too many to keep as rows and
/// as text at once.
pub struct Collected {
    head: Vec<String>,
    values: Vec<Vec<String>>,
}

impl Collected {
    pub fn new<T: Serialize + Default>() -> Result<Collected> {
        Ok(Collected { head: fields(&T::default())?.0, values: Vec::new() })
    }

    fn of<T: Serialize + Default>(rows: &[T]) -> Result<Collected> {
        let mut c = Collected::new::<T>()?;
        for r in rows {
            c.push(r)?;
        }
        Ok(c)
    }

    pub fn push<T: Serialize>(&mut self, row: &T) -> Result<()> {
        self.values.push(values(&self.head, row)?);
        Ok(())
    }

    /// CSV of every field, or a table of `columns` (every field when `None`).
    pub fn print(self, out: &mut dyn Write, fmt: Format, columns: Option<&[&str]>) -> Result<()> {
        if fmt == Format::Csv {
            let h: Vec<&str> = self.head.iter().map(String::as_str).collect();
            output::csv(out, &h, self.values)?;
            return Ok(());
        }
        let columns: Vec<&str> = match columns {
            Some(c) => c.to_vec(),
            None => self.head.iter().map(String::as_str).collect(),
        };
        let idx: Vec<usize> = columns
            .iter()
            .map(|c| {
                self.head.iter().position(|h| h == c).ok_or_else(|| anyhow::anyhow!("no field `{c}` in this answer"))
            })
            .collect::<Result<_>>()?;
        let names: Vec<String> = columns.iter().map(|c| heading(c)).collect();
        let cols: Vec<(&str, bool)> = names.iter().zip(&columns).map(|(n, f)| (n.as_str(), is_number(f))).collect();
        let mut t = Table::new(&cols);
        // Each row's text is taken as it goes into the table, so the two are not both held.
        for mut v in self.values {
            t.row(idx.iter().zip(&columns).map(|(&i, f)| shown(f, std::mem::take(&mut v[i]))).collect());
        }
        t.print(out)?;
        Ok(())
    }
}

/// Counts by field name: shown with thousands separators and right-aligned.
fn is_count(field: &str) -> bool {
    matches!(field, "events" | "distinct_pages" | "distinct_spaces" | "reads" | "lines" | "rank" | "alerts")
}

/// Right-aligned in tables.
fn is_number(field: &str) -> bool {
    is_count(field)
        || is_size(field)
        || matches!(field, "score" | "value" | "threshold" | "line" | "status" | "page_id")
}

fn is_size(field: &str) -> bool {
    matches!(field, "bytes" | "size" | "consumed_bytes" | "ingested_bytes")
}

fn heading(field: &str) -> String {
    match field {
        "distinct_pages" => "pages".to_string(),
        "distinct_spaces" => "spaces".to_string(),
        f => f.replace('_', " "),
    }
}

fn shown(field: &str, v: String) -> String {
    if field == "raw" && v.chars().count() > 100 {
        return v.chars().take(100).collect();
    }
    match v.parse::<u64>() {
        Ok(n) if is_size(field) => bytes(n),
        Ok(n) if is_count(field) => count(n),
        _ => v,
    }
}

/// Prints flat rows as a table or CSV (header from the type even when there are no rows).
pub fn print_flat<T: Serialize + Default>(out: &mut dyn Write, fmt: Format, rows: &[T]) -> Result<()> {
    Collected::of(rows)?.print(out, fmt, None)
}

/// `{"rows":[...]}`, or the table or CSV of the same rows.
pub fn print_rows<T: Serialize + Default>(out: &mut dyn Write, fmt: Format, rows: &[T]) -> Result<()> {
    match fmt {
        Format::Json => {
            // Written row by row as serde serializes them: building a `Value` tree of every row
            // first took 13% of a 2,890-reader `who-read --space` (4,000 users x 120 days).
            #[derive(Serialize)]
            struct Rows<'a, T> {
                rows: &'a [T],
            }
            serde_json::to_writer(&mut *out, &Rows { rows })?;
            writeln!(out)?;
            Ok(())
        }
        _ => print_flat(out, fmt, rows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_csv_and_table_share_the_fields() {
        let rows = vec![TopReader {
            user: "=cmd".into(),
            distinct_pages: 1234,
            events: 5,
            bytes: 2_000_000,
            distinct_spaces: 2,
        }];
        let (head, vals) = fields(&rows[0]).unwrap();
        assert_eq!(head, ["user", "distinct_pages", "events", "bytes", "distinct_spaces"]);
        assert_eq!(vals, ["=cmd", "1234", "5", "2000000", "2"]);
        assert_eq!(values(&head, &rows[0]).unwrap(), vals, "values give what fields give");
        let json = serde_json::to_string(&rows[0]).unwrap();
        assert_eq!(json, r#"{"user":"=cmd","distinct_pages":1234,"events":5,"bytes":2000000,"distinct_spaces":2}"#);
        let mut doc = Vec::new();
        print_rows(&mut doc, Format::Json, &rows).unwrap();
        assert_eq!(
            String::from_utf8(doc).unwrap(),
            format!("{{\"rows\":[{json}]}}\n"),
            "JSON wraps the rows, streamed"
        );
        let mut csv = Vec::new();
        print_flat(&mut csv, Format::Csv, &rows).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "user,distinct_pages,events,bytes,distinct_spaces\n'=cmd,1234,5,2000000,2\n"
        );
        let mut table = Vec::new();
        print_flat(&mut table, Format::Table, &rows).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert!(
            table.starts_with("USER") && table.contains("PAGES") && table.contains("1,234") && table.contains("2.0 MB"),
            "{table}"
        );
        // No rows: the header still comes from the type.
        let mut empty = Vec::new();
        print_flat::<WhoRead>(&mut empty, Format::Csv, &[]).unwrap();
        assert_eq!(String::from_utf8(empty).unwrap(), "user,events,distinct_pages,bytes,first_seen,last_seen\n");
    }

    /// The JSON of an event has the row's fields in order, file and line as source.
    #[test]
    fn event_json_has_the_rows_fields() {
        let e = Event { extra: r#"{"action":"x"}"#.into(), ..Event::default() };
        let v = serde_json::to_value(e.json()).unwrap();
        let (head, _) = fields(&e).unwrap();
        let mut want: Vec<String> = head.into_iter().filter(|f| f != "file" && f != "line").collect();
        want.extend(["source".to_string(), "extra".to_string()]);
        let mut got: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(v["source"], serde_json::json!({"file": "", "line": 0}));
        assert_eq!(v["extra"]["action"], "x");
        assert!(serde_json::to_value(Event::default().json()).unwrap().get("extra").is_none());
    }

    /// The flat rows of detect carry exactly the contract JSON's keys, in its order.
    #[test]
    fn case_and_alert_rows_have_the_contract_keys() {
        let (case_head, _) = fields(&CaseRow::default()).unwrap();
        assert_eq!(case_head, ["user", "rank", "score", "severity", "start", "end", "detectors", "alerts", "why"]);
        let (alert_head, _) = fields(&AlertRow::default()).unwrap();
        assert_eq!(alert_head, ["detector", "user", "severity", "start", "end", "value", "threshold", "evidence"]);
        let a = pagetrail_detect::Alert {
            detector: pagetrail_detect::Detector::Burst,
            user: "u".into(),
            severity: pagetrail_detect::Severity::High,
            start_ms: 0,
            end_ms: 1000,
            value: 600.0,
            threshold: 500.0,
            evidence: Default::default(),
        };
        let json = serde_json::to_string(&a).unwrap();
        let at: Vec<usize> = alert_head.iter().map(|k| json.find(&format!("\"{k}\":")).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{json}");
    }
}
