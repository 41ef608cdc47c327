//! One `Serialize` row type per answer: its fields, in order, are the JSON object's keys, the
//! CSV header and the table's columns, so the three cannot drift. Tables only show the values
//! for people (thousands separators, human bytes), chosen by field name.

use std::io::Write;

use anyhow::Result;
use pagetrail_core::time::format_day;
use pagetrail_query::{DayRow, ReaderRow, SourceRow, SpaceRow, UserSummary};
use serde::Serialize;

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
            distinct_spaces: r.distinct_spaces,
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
    pub format: String,
    pub size: u64,
    pub consumed_bytes: u64,
    pub lines: u64,
    pub sha256: Option<String>,
    pub first_ingest: Option<String>,
    pub last_ingest: Option<String>,
}

impl From<&pagetrail_store::FileRecord> for SourceFile {
    fn from(r: &pagetrail_store::FileRecord) -> Self {
        let when = |ms: i64| (ms != 0).then(|| instant(ms));
        SourceFile {
            name: r.name.clone(),
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

/// A flat row's field names and values as text, in declaration order (the csv crate's
/// serializer flattens a struct into exactly that).
fn fields<T: Serialize>(row: &T) -> Result<(Vec<String>, Vec<String>)> {
    let mut w = csv::WriterBuilder::new().has_headers(true).from_writer(Vec::new());
    w.serialize(row)?;
    let data = w.into_inner().map_err(|e| anyhow::anyhow!("{}", e.error()))?;
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(&data[..]);
    let head = r.headers()?.iter().map(String::from).collect();
    let values = match r.records().next() {
        Some(rec) => rec?.iter().map(String::from).collect(),
        None => Vec::new(),
    };
    Ok((head, values))
}

/// Counts by field name: shown with thousands separators and right-aligned.
fn is_count(field: &str) -> bool {
    matches!(field, "events" | "distinct_pages" | "distinct_spaces" | "reads" | "lines" | "rank" | "alerts")
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

fn shown(field: &str, v: &str) -> String {
    match v.parse::<u64>() {
        Ok(n) if is_size(field) => bytes(n),
        Ok(n) if is_count(field) => count(n),
        _ => v.to_string(),
    }
}

/// Prints flat rows as a table or CSV (header from the type even when there are no rows).
pub fn print_flat<T: Serialize + Default>(out: &mut dyn Write, fmt: Format, rows: &[T]) -> Result<()> {
    let (head, _) = fields(&T::default())?;
    let mut values = Vec::with_capacity(rows.len());
    for r in rows {
        values.push(fields(r)?.1);
    }
    match fmt {
        Format::Csv => {
            let h: Vec<&str> = head.iter().map(String::as_str).collect();
            output::csv(out, &h, values)?;
        }
        _ => {
            let names: Vec<String> = head.iter().map(|f| heading(f)).collect();
            let cols: Vec<(&str, bool)> =
                names.iter().zip(&head).map(|(n, f)| (n.as_str(), is_count(f) || is_size(f))).collect();
            let mut t = Table::new(&cols);
            for v in values {
                t.row(head.iter().zip(&v).map(|(f, x)| shown(f, x)).collect());
            }
            t.print(out)?;
        }
    }
    Ok(())
}

/// `{"rows":[...]}`, or the table or CSV of the same rows.
pub fn print_rows<T: Serialize + Default>(out: &mut dyn Write, fmt: Format, rows: &[T]) -> Result<()> {
    match fmt {
        Format::Json => {
            serde_json::to_writer(&mut *out, &serde_json::json!({ "rows": rows }))?;
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
        let json = serde_json::to_string(&rows[0]).unwrap();
        assert_eq!(json, r#"{"user":"=cmd","distinct_pages":1234,"events":5,"bytes":2000000,"distinct_spaces":2}"#);
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
}
