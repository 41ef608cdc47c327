//! Exports events to a data lake: Hive-partitioned Parquet (`day=YYYY-MM-DD/part-*.parquet`),
//! zstd-compressed, each file sorted by (user, ts), that Spark, Trino, Athena and DuckDB read.
//!
//! One row per event with the contract §1 fields under their contract names (`source` as
//! `source_file` and `source_line`), the page as every answer resolves it, and `is_read`
//! (contract §3), so that `sql/` gives pagetrail's answers. Exporting again into the same folder
//! adds only events not exported before: the manifest (`_pagetrail_export.json`) keeps, per
//! source file, the last line exported, and a source file is only ever read forward. Files of a
//! run that did not finish (no manifest entry) are removed by the next run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int32Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use pagetrail_core::time::{day_of, format_rfc3339, DAY_MS};
use pagetrail_query::{EventFilter, EventOut, Window};
use pagetrail_store::Store;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

/// The manifest's name inside the export folder.
pub const MANIFEST: &str = "_pagetrail_export.json";
const MANIFEST_VERSION: u32 = 1;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LakeError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("{0}")]
    Query(#[from] pagetrail_query::QueryError),
    #[error("{path}: not a pagetrail export manifest ({reason})")]
    Manifest { path: PathBuf, reason: String },
    #[error("{dir} was exported with {was}; export with the same options, or into a new folder")]
    OtherSpec { dir: PathBuf, was: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io { path: path.to_path_buf(), source }
}

/// What an export folder holds: the events of the store that these options select.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    /// The window as given on the command line (`--from`, `--to`, `--last`), not resolved:
    /// `--last 30d` keeps a rolling window current.
    pub window: Vec<String>,
    pub user: Option<String>,
    pub space: Option<String>,
}

impl Spec {
    fn describe(&self) -> String {
        let mut parts = self.window.clone();
        if let Some(u) = &self.user {
            parts.push(format!("--user {u}"));
        }
        if let Some(s) = &self.space {
            parts.push(format!("--space {s}"));
        }
        if parts.is_empty() {
            "no options".into()
        } else {
            parts.join(" ")
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    spec: Spec,
    runs: u64,
    /// Source file → the last line exported from it.
    lines: BTreeMap<String, u64>,
    /// Every Parquet file of finished runs, relative to the folder.
    parts: Vec<String>,
}

/// What one export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// New events written, in how many files and days.
    pub events: u64,
    pub files: u64,
    pub days: u64,
    /// Events of the selection exported by an earlier run, so not written again.
    pub already: u64,
    /// Bytes of the new files.
    pub bytes: u64,
}

/// The Parquet schema: contract §1 names, `ts` a UTC timestamp, `is_read` of contract §3.
pub fn schema() -> SchemaRef {
    let s = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    let i = |n: &str, null: bool| Field::new(n, DataType::Int64, null);
    Arc::new(Schema::new(vec![
        Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false),
        s("user", false),
        s("action", false),
        i("page_id", true),
        s("space", true),
        s("title", true),
        Field::new("status", DataType::Int32, false),
        i("bytes", false),
        i("duration_ms", false),
        s("ip", false),
        s("user_agent", false),
        s("method", false),
        s("path", false),
        s("query", false),
        s("referer", false),
        s("source_file", false),
        i("source_line", false),
        s("extra", true),
        Field::new("is_read", DataType::Boolean, false),
    ]))
}

fn batch(rows: &[EventOut]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let n = rows.len();
    let mut ts = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let str_b = || StringBuilder::with_capacity(n, n * 16);
    let (mut user, mut action, mut space, mut title) = (str_b(), str_b(), str_b(), str_b());
    let (mut ip, mut agent, mut method, mut path, mut query, mut referer) =
        (str_b(), str_b(), str_b(), str_b(), str_b(), str_b());
    let (mut file, mut extra) = (str_b(), str_b());
    let mut page_id = Int64Builder::with_capacity(n);
    let mut status = Int32Builder::with_capacity(n);
    let (mut bytes, mut duration, mut line) =
        (Int64Builder::with_capacity(n), Int64Builder::with_capacity(n), Int64Builder::with_capacity(n));
    let mut is_read = BooleanBuilder::with_capacity(n);
    for e in rows {
        ts.append_value(e.ts_ms);
        user.append_value(&e.user);
        action.append_value(e.action.as_str());
        page_id.append_option(e.page_id.and_then(|p| i64::try_from(p).ok()));
        space.append_option(e.space.as_deref());
        title.append_option(e.title.as_deref());
        status.append_value(i32::from(e.status));
        bytes.append_value(i64::try_from(e.bytes).unwrap_or(i64::MAX));
        duration.append_value(i64::from(e.duration_ms));
        ip.append_value(&e.ip);
        agent.append_value(&e.user_agent);
        method.append_value(&e.method);
        path.append_value(&e.path);
        query.append_value(&e.query);
        referer.append_value(&e.referer);
        file.append_value(&e.file);
        line.append_value(i64::try_from(e.line).unwrap_or(i64::MAX));
        extra.append_option((!e.extra.is_empty()).then_some(e.extra.as_str()));
        is_read.append_value(e.is_read);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(ts.finish()),
        Arc::new(user.finish()),
        Arc::new(action.finish()),
        Arc::new(page_id.finish()),
        Arc::new(space.finish()),
        Arc::new(title.finish()),
        Arc::new(status.finish()),
        Arc::new(bytes.finish()),
        Arc::new(duration.finish()),
        Arc::new(ip.finish()),
        Arc::new(agent.finish()),
        Arc::new(method.finish()),
        Arc::new(path.finish()),
        Arc::new(query.finish()),
        Arc::new(referer.finish()),
        Arc::new(file.finish()),
        Arc::new(line.finish()),
        Arc::new(extra.finish()),
        Arc::new(is_read.finish()),
    ];
    RecordBatch::try_new(schema(), cols)
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        // Rows are sorted by user (column 1), then ts (column 0): engines may skip on it.
        .set_sorting_columns(Some(vec![
            SortingColumn { column_idx: 1, descending: false, nulls_first: false },
            SortingColumn { column_idx: 0, descending: false, nulls_first: false },
        ]))
        .set_created_by(format!("pagetrail {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Writes one day's new rows, sorted by (user, ts, source), to `dir/day=…/part-RUN.parquet`.
fn write_day(dir: &Path, day: i64, run: u64, rows: &mut [EventOut]) -> Result<(String, u64), LakeError> {
    rows.sort_by(|a, b| (&a.user, a.ts_ms, &a.file, a.line).cmp(&(&b.user, b.ts_ms, &b.file, b.line)));
    let part = format!("day={}", &format_rfc3339(day * DAY_MS)[..10]);
    let folder = dir.join(&part);
    fs::create_dir_all(&folder).map_err(io(&folder))?;
    let name = format!("{part}/part-{run:06}.parquet");
    let path = dir.join(&name);
    let tmp = dir.join(format!("{name}.tmp"));
    let f = fs::File::create(&tmp).map_err(io(&tmp))?;
    let pq = |source| LakeError::Parquet { path: tmp.clone(), source };
    let mut w = ArrowWriter::try_new(f, schema(), Some(properties())).map_err(pq)?;
    let b = batch(rows).map_err(|e| pq(e.into()))?;
    w.write(&b).map_err(pq)?;
    let f = w.into_inner().map_err(pq)?;
    f.sync_all().map_err(io(&tmp))?;
    let bytes = f.metadata().map_err(io(&tmp))?.len();
    fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok((name, bytes))
}

fn load_manifest(dir: &Path) -> Result<Option<Manifest>, LakeError> {
    let path = dir.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LakeError::Io { path, source: e }),
    };
    let m: Manifest =
        serde_json::from_str(&text).map_err(|e| LakeError::Manifest { path: path.clone(), reason: e.to_string() })?;
    if m.version != MANIFEST_VERSION {
        return Err(LakeError::Manifest {
            path,
            reason: format!("version {} (this build writes {MANIFEST_VERSION})", m.version),
        });
    }
    Ok(Some(m))
}

fn save_manifest(dir: &Path, m: &Manifest) -> Result<(), LakeError> {
    let path = dir.join(MANIFEST);
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    let text = serde_json::to_string_pretty(m)
        .map_err(|e| LakeError::Manifest { path: path.clone(), reason: e.to_string() })?;
    fs::write(&tmp, text).map_err(io(&tmp))?;
    fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(&tmp))?;
    fs::rename(&tmp, &path).map_err(io(&path))
}

/// Removes Parquet files that no finished run lists (a run that crashed before its manifest).
fn sweep(dir: &Path, m: &Manifest) -> Result<(), LakeError> {
    let Ok(days) = fs::read_dir(dir) else { return Ok(()) };
    for d in days.flatten() {
        let name = d.file_name().to_string_lossy().into_owned();
        if !name.starts_with("day=") || !d.path().is_dir() {
            continue;
        }
        for f in fs::read_dir(d.path()).map_err(io(&d.path()))?.flatten() {
            let rel = format!("{name}/{}", f.file_name().to_string_lossy());
            let stale = rel.ends_with(".parquet.tmp") || (rel.ends_with(".parquet") && !m.parts.contains(&rel));
            if stale {
                fs::remove_file(f.path()).map_err(io(&f.path()))?;
            }
        }
    }
    Ok(())
}

/// Exports the events of `window` (and the filter) that earlier runs into `dir` did not.
pub fn export(store: &Store, dir: &Path, window: &Window, spec: &Spec) -> Result<Summary, LakeError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut m = match load_manifest(dir)? {
        Some(m) if m.spec != *spec => {
            return Err(LakeError::OtherSpec { dir: dir.to_path_buf(), was: m.spec.describe() });
        }
        Some(m) => m,
        None => Manifest { version: MANIFEST_VERSION, spec: spec.clone(), ..Manifest::default() },
    };
    sweep(dir, &m)?;
    let run = m.runs + 1;
    let filter = EventFilter { user: spec.user.clone(), space: spec.space.clone(), ..EventFilter::default() };
    let mut sum = Summary::default();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut parts = Vec::new();
    let mut day_rows: Vec<EventOut> = Vec::new();
    let mut cur_day = i64::MIN;
    let mut failed = None;
    let flush = |day: i64, rows: &mut Vec<EventOut>, sum: &mut Summary, parts: &mut Vec<String>| {
        if rows.is_empty() {
            return Ok(());
        }
        let (name, bytes) = write_day(dir, day, run, rows)?;
        sum.events += rows.len() as u64;
        sum.files += 1;
        sum.days += 1;
        sum.bytes += bytes;
        parts.push(name);
        rows.clear();
        Ok::<(), LakeError>(())
    };
    pagetrail_query::events(store, window, &filter, |e| {
        // Events come in time order: a new day closes the last one.
        let day = day_of(e.ts_ms);
        if day != cur_day {
            if let Err(err) = flush(cur_day, &mut day_rows, &mut sum, &mut parts) {
                failed = Some(err);
                return false;
            }
            cur_day = day;
        }
        // A few files, millions of events: no key copy per event.
        match seen.get_mut(&e.file) {
            Some(last) => *last = (*last).max(e.line),
            None => {
                seen.insert(e.file.clone(), e.line);
            }
        }
        if m.lines.get(&e.file).is_some_and(|&done| e.line <= done) {
            sum.already += 1;
        } else {
            day_rows.push(e);
        }
        true
    })?;
    if let Some(err) = failed {
        return Err(err);
    }
    flush(cur_day, &mut day_rows, &mut sum, &mut parts)?;
    for (file, line) in seen {
        let e = m.lines.entry(file).or_insert(0);
        *e = (*e).max(line);
    }
    m.runs = run;
    m.parts.extend(parts);
    save_manifest(dir, &m)?;
    Ok(sum)
}
