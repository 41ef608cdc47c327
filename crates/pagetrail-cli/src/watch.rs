//! `watch`: the collector that keeps going — follows log folders, detects on a schedule, applies retention, stops cleanly on SIGTERM.
//!
//! Each look at the files ingests what is new through the one `Ingester`, which identifies
//! files by content: a rotated (renamed) file and its later gzip copy are the file already
//! read, so nothing is doubled, and a restart continues from the stored checkpoints. A file
//! that has not changed since the last look is not opened. Every record on stderr is one
//! `key=value` line (journald keeps them); each commit logs the chain head, so a copy off the
//! box pins it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use pagetrail_core::time::{format_rfc3339, DAY_MS};
use pagetrail_detect::{Alert, Case, Severity};
use pagetrail_ingest::{expand_paths, IngestError, IngestOptions, Ingester, Purge};
use pagetrail_store::chain::hex;
use pagetrail_store::emitted::{self, Emitted, Kind};
use pagetrail_store::{Store, StoreError};

use crate::output::clean;

/// What `watch` was asked to do.
pub struct Watch {
    pub paths: Vec<PathBuf>,
    pub opts: IngestOptions,
    pub poll: Duration,
    pub detect_every: Option<Duration>,
    pub detect_window: Duration,
    pub alerts: PathBuf,
    pub config: WatchConfig,
    pub stop_after: Option<Duration>,
}

/// The `--config` file: detect's sections, and `[retention] keep`.
#[derive(Default)]
pub struct WatchConfig {
    pub detect: pagetrail_detect::Config,
    /// Keep this much history (ms), as written (`3y`).
    pub keep: Option<(i64, String)>,
}

impl WatchConfig {
    pub fn load(path: Option<&Path>) -> Result<WatchConfig> {
        let Some(path) = path else { return Ok(WatchConfig::default()) };
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).with_context(|| name.clone())?;
        let mut table: toml::Table = text.parse().with_context(|| name.clone())?;
        let keep = match table.remove("retention") {
            None => None,
            Some(toml::Value::Table(mut r)) => {
                let keep = match r.remove("keep") {
                    Some(toml::Value::String(s)) => {
                        let ms = pagetrail_core::time::parse_span(&s).with_context(|| {
                            format!("{name}: [retention] keep = '{s}' is not a span like 90d or 3y")
                        })?;
                        Some((ms, s))
                    }
                    None => None,
                    Some(_) => bail!("{name}: [retention] keep must be a string such as \"3y\""),
                };
                if let Some(k) = r.keys().next() {
                    bail!("{name}: unknown key '{k}' in [retention] (only keep)");
                }
                keep
            }
            Some(_) => bail!("{name}: retention must be a table: [retention] keep = \"3y\""),
        };
        let rest = toml::to_string(&table).context("re-serialising the detect sections")?;
        let detect = pagetrail_detect::Config::from_toml(&rest).with_context(|| name.clone())?;
        Ok(WatchConfig { detect, keep })
    }
}

/// One `key=value` record on stderr.
fn log(level: &str, event: &str, fields: &[(&str, String)]) {
    let mut line = format!("ts={} level={level} event={event}", format_rfc3339(now_ms()));
    for (k, v) in fields {
        let v = clean(v);
        if v.is_empty() || v.contains([' ', '"', '=']) {
            line.push_str(&format!(" {k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")));
        } else {
            line.push_str(&format!(" {k}={v}"));
        }
    }
    eprintln!("{line}");
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// What a file looked like when it was last read to its end.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Look {
    len: u64,
    modified: Option<SystemTime>,
}

fn look(p: &Path) -> Option<Look> {
    let m = std::fs::metadata(p).ok()?;
    Some(Look { len: m.len(), modified: m.modified().ok() })
}

pub fn run(store_path: &Path, w: Watch) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing the signal handler")?;
    }
    heap::settle();
    // A collector reads little (a detect round, a consolidation): a small cache keeps it small.
    Store::limit_block_cache(BLOCK_CACHE);
    let store = Store::open_writer(store_path)?;
    if let Some(x) = store.exposure() {
        log("warn", "exposed", &[("msg", x)]);
    }
    let mut at = Collecting {
        alerts: Alerts::open(&store, &w.alerts)?,
        started: Instant::now(),
        seen: HashMap::new(),
        said: HashMap::new(),
        next_detect: w.detect_every.map(|_| Instant::now()),
        next_retention: w.config.keep.as_ref().map(|_| Instant::now()),
        last_memory: Instant::now(),
        consolidated_before: i64::MIN,
        backoff: Duration::from_secs(1),
    };
    let (seq, head) = (pagetrail_store::meta::load_batch_seq(&store)?, pagetrail_store::chain::head(&store)?);
    log(
        "info",
        "start",
        &[
            ("store", store_path.display().to_string()),
            ("paths", w.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(",")),
            ("batch", seq.to_string()),
            ("head", hex(&head)),
        ],
    );
    let mut store = Some(store);
    loop {
        let failed = match store.take() {
            Some(s) => match collect(&s, &w, &mut at, &stop)? {
                Ended::Stopped => return Ok(()),
                Ended::StoreFailed(e) => e.to_string(),
            },
            // A failed write can leave RocksDB refusing every later one (after a full disk its
            // write-ahead log stays broken), so the store is closed and opened again.
            None => match Store::open_writer(store_path) {
                Ok(s) => {
                    store = Some(s);
                    continue;
                }
                Err(e) => e.to_string(),
            },
        };
        // Nothing of a failed batch was written; the stored checkpoints say where to go on.
        log("error", "store", &[("msg", failed), ("then", format!("retrying in {}s", at.backoff.as_secs()))]);
        sleep(&stop, at.backoff);
        at.backoff = (at.backoff * 2).min(Duration::from_secs(60));
        if stop.load(Ordering::Relaxed) || w.stop_after.is_some_and(|d| at.started.elapsed() >= d) {
            log(
                "info",
                "stop",
                &[("msg", "the store could not be written: what is not in it is read at the next start".into())],
            );
            return Ok(());
        }
        at.seen.clear();
    }
}

/// What a collector keeps across a reopening of the store.
struct Collecting {
    alerts: Alerts,
    started: Instant,
    seen: HashMap<PathBuf, Look>,
    /// The last problem said about each path, so a file that stays unreadable is said once.
    said: HashMap<PathBuf, String>,
    next_detect: Option<Instant>,
    next_retention: Option<Instant>,
    last_memory: Instant,
    /// Days before this one are held in one group per user (checked at start and each midnight).
    consolidated_before: i64,
    /// How long to wait before opening the store again after a failed write (doubling).
    backoff: Duration,
}

/// Why collecting on one open store ended.
enum Ended {
    /// A stop signal or `--stop-after`: the last batch is committed.
    Stopped,
    /// A write failed: the store must be opened again.
    StoreFailed(StoreError),
}

/// Looks at the files, detects and applies retention on one open store until told to stop or
/// a store write fails.
fn collect(store: &Store, w: &Watch, at: &mut Collecting, stop: &AtomicBool) -> Result<Ended> {
    let mut ing = match Ingester::new(store, w.opts.clone()) {
        Ok(i) => i,
        Err(IngestError::Store(e)) => return Ok(Ended::StoreFailed(e)),
        Err(e) => return Err(e.into()),
    };
    let Collecting {
        alerts,
        started,
        seen,
        said,
        next_detect,
        next_retention,
        last_memory,
        consolidated_before,
        backoff,
    } = at;
    while !stop.load(Ordering::Relaxed) && w.stop_after.is_none_or(|d| started.elapsed() < d) {
        let sources = match expand_paths(&w.paths) {
            Ok(s) => s,
            Err(e) => {
                let msg = e.to_string();
                if said.get(Path::new("")) != Some(&msg) {
                    log("warn", "paths", &[("msg", msg.clone()), ("then", "retrying".into())]);
                    said.insert(PathBuf::new(), msg);
                }
                Vec::new()
            }
        };
        let mut store_failed = None;
        for src in &sources {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let path = src.path();
            let now = look(&path);
            if now.is_some() && seen.get(&path) == now.as_ref() {
                continue;
            }
            match ing.ingest(src, &mut |_| {}) {
                Ok(o) => {
                    said.remove(&path);
                    // A last line without a newline waits for more, or for the file to go quiet.
                    if o.partial_tail {
                        seen.remove(&path);
                    } else if let Some(l) = now {
                        seen.insert(path.clone(), l);
                    }
                    if o.lines > 0 || o.truncated {
                        log(
                            "info",
                            "ingested",
                            &[("file", o.name.clone()), ("lines", o.lines.to_string()), ("format", o.format.clone())],
                        );
                    }
                    if o.skipped {
                        if let Some(l) = now {
                            seen.insert(path.clone(), l);
                        }
                    }
                }
                Err(IngestError::Store(e)) => {
                    store_failed = Some(e);
                    break;
                }
                Err(e) => {
                    // Unreadable for now: retried at the next look. Rewritten or unknown content
                    // is retried only when the file changes.
                    let retry = matches!(e, IngestError::Io { .. });
                    if !retry {
                        if let Some(l) = now {
                            seen.insert(path.clone(), l);
                        }
                    }
                    let msg = e.to_string();
                    if said.get(&path) != Some(&msg) {
                        let then = if retry { "retrying" } else { "retrying when the file changes" };
                        log("warn", "file", &[("file", src.name()), ("msg", msg.clone()), ("then", then.into())]);
                        said.insert(path.clone(), msg);
                    }
                }
            }
        }
        if let Some(e) = store_failed {
            return Ok(Ended::StoreFailed(e));
        }
        *backoff = Duration::from_secs(1);
        if log_commits(&mut ing) {
            // A reader replays what the memtables hold from the write-ahead log when it opens:
            // flushing keeps queries fast and the collector's memory flat.
            if store.memory().memtables > FLUSH_AT {
                if let Err(e) = store.flush() {
                    log("error", "flush", &[("msg", e.to_string())]);
                }
            }
        }
        if last_memory.elapsed() >= Duration::from_secs(60) {
            *last_memory = Instant::now();
            let m = store.memory();
            let heap = heap::usage();
            // Freed heap the allocator still holds (a rotated file read again, a detect round)
            // goes back to the system, so the record shows what is live.
            heap::trim();
            let kib = |b: Option<u64>| b.map_or_else(|| "-".into(), |b| (b >> 10).to_string());
            log(
                "info",
                "memory",
                &[
                    ("rss_kib", rss_kib().map_or_else(|| "-".into(), |k| k.to_string())),
                    ("memtables_kib", (m.memtables >> 10).to_string()),
                    ("block_cache_kib", (m.block_cache >> 10).to_string()),
                    ("table_readers_kib", (m.table_readers >> 10).to_string()),
                    ("names_kib", (ing.names_held() as u64 >> 10).to_string()),
                    ("heap_used_kib", kib(heap.map(|h| h.0))),
                    ("heap_free_kib", kib(heap.map(|h| h.1))),
                ],
            );
        }
        if let (Some(at), Some(every)) = (*next_detect, w.detect_every) {
            if Instant::now() >= at {
                match alerts.round(store, w) {
                    Ok((cases, found)) => {
                        if cases + found > 0 {
                            log(
                                "info",
                                "detect",
                                &[("new_cases", cases.to_string()), ("new_alerts", found.to_string())],
                            );
                        }
                    }
                    Err(e) => log("error", "detect", &[("msg", format!("{e:#}"))]),
                }
                *next_detect = Some(Instant::now() + every);
            }
        }
        let today = now_ms().div_euclid(DAY_MS);
        if *consolidated_before < today {
            consolidate(&mut ing, today);
            *consolidated_before = today;
        }
        if let (Some(at), Some((keep, text))) = (*next_retention, w.config.keep.as_ref()) {
            if Instant::now() >= at {
                retention(&mut ing, *keep, text);
                *next_retention = Some(Instant::now() + Duration::from_secs(3600));
            }
        }
        sleep(stop, w.poll);
    }
    let done = ing.finish();
    let last = pagetrail_store::chain::head(store).map(|h| hex(&h)).unwrap_or_default();
    match done {
        Ok(_) => {
            log("info", "stop", &[("head", last)]);
            Ok(Ended::Stopped)
        }
        Err(e) => {
            log("error", "stop", &[("msg", e.to_string()), ("head", last)]);
            Err(e.into())
        }
    }
}

/// Bytes of request, referer and extra names the collector remembers per generation: each
/// new logged request would otherwise stay in memory for the life of the process.
pub const REMEMBER_NAMES: usize = 8 << 20;

/// The collector's block cache.
const BLOCK_CACHE: usize = 16 << 20;

/// Memtable bytes past which `watch` flushes them.
const FLUSH_AT: u64 = 32 << 20;

/// Logs the commits since the last call; whether there were any.
fn log_commits(ing: &mut Ingester<'_>) -> bool {
    let commits = ing.take_commits();
    for c in &commits {
        log("info", "commit", &[("batch", c.seq.to_string()), ("head", hex(&c.head))]);
    }
    !commits.is_empty()
}

/// The C allocator's view of the heap (glibc): RocksDB allocates there too.
mod heap {
    /// Bytes in use, and bytes freed but still held.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub fn usage() -> Option<(u64, u64)> {
        // SAFETY: mallinfo2 only reads the allocator's counters.
        let m = unsafe { libc::mallinfo2() };
        Some(((m.uordblks + m.hblkhd) as u64, m.fordblks as u64))
    }

    /// Fewer arenas and a fixed mmap threshold, before any thread starts: each of RocksDB's
    /// threads would otherwise fragment an arena of its own, and glibc raises the mmap
    /// threshold to the largest buffer freed, so the 8 MiB read buffers would come from (and
    /// stay in) the heap instead of going back to the system when freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub fn settle() {
        // SAFETY: mallopt only changes allocator parameters.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    }

    /// Returns freed heap to the system.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub fn trim() {
        // SAFETY: malloc_trim only releases free memory; it is safe at any time.
        unsafe { libc::malloc_trim(0) };
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub fn usage() -> Option<(u64, u64)> {
        None
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub fn trim() {}

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub fn settle() {}
}

/// This process's resident memory, from /proc (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Rewrites the finished days this collector committed second by second as one group per user.
fn consolidate(ing: &mut Ingester<'_>, before_day: i64) {
    match ing.consolidate(before_day) {
        Ok(c) if c.days > 0 => {
            log(
                "info",
                "consolidate",
                &[("user_days", c.days.to_string()), ("groups_before", c.groups_before.to_string())],
            );
            log_commits(ing);
        }
        Ok(_) => {}
        Err(e) => log("error", "consolidate", &[("msg", e.to_string())]),
    }
}

/// Purges what is older than `keep` (from the start of the UTC day it falls in).
fn retention(ing: &mut Ingester<'_>, keep: i64, text: &str) {
    let day = (now_ms() - keep).div_euclid(DAY_MS);
    if ing.totals().first_ms >= day * DAY_MS {
        return;
    }
    match ing.purge(&Purge::Before(day), &format!("retention: keep {text}")) {
        Ok(p) => {
            log(
                "info",
                "purge",
                &[
                    ("before", pagetrail_core::time::format_day(day)),
                    ("events", p.events.to_string()),
                    ("rejects", p.rejects.to_string()),
                ],
            );
            log_commits(ing);
        }
        Err(e) => log("error", "purge", &[("msg", e.to_string())]),
    }
}

/// Sleeps `d`, waking early on a stop signal.
fn sleep(stop: &AtomicBool, d: Duration) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

/// Where new findings go, and what went out before (the store's ledger, and for a file the
/// lines already in it: a crash between writing a line and recording it sends nothing twice).
struct Alerts {
    out: Option<std::fs::File>,
    /// By (kind, user, detector): a round compares each finding with its own kind only.
    ledger: Ledger,
}

type Ledger = HashMap<(Kind, String, String), Vec<Emitted>>;

fn remember(ledger: &mut Ledger, entries: impl IntoIterator<Item = Emitted>) {
    for e in entries {
        ledger.entry((e.kind, e.user.clone(), e.what.clone())).or_default().push(e);
    }
}

fn ledger_of(entries: impl IntoIterator<Item = Emitted>) -> Ledger {
    let mut m = Ledger::new();
    remember(&mut m, entries);
    m
}

fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
    }
}

/// The user as a ledger key holds it (a 0 byte would end the key's field).
fn key_user(u: &str) -> String {
    u.replace('\0', "\u{fffd}")
}

impl Alerts {
    fn open(store: &Store, path: &Path) -> Result<Alerts> {
        let mut ledger = emitted::load_all(store)?;
        let out = if path == Path::new("-") {
            None
        } else {
            if let Ok(text) = std::fs::read_to_string(path) {
                ledger.extend(text.lines().filter_map(parse_line));
            }
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("{}: cannot open the alerts file", path.display()))?;
            Some(f)
        };
        Ok(Alerts { out, ledger: ledger_of(ledger) })
    }

    /// Whether a finding is new: nothing of its kind went out for this person over an
    /// overlapping time at this severity or above.
    fn is_new(&self, e: &Emitted) -> bool {
        let same = self.ledger.get(&(e.kind, e.user.clone(), e.what.clone()));
        !same
            .into_iter()
            .flatten()
            .any(|o| o.start_ms <= e.end_ms && e.start_ms <= o.end_ms && o.severity >= e.severity)
    }

    /// Runs detect over the recent window; writes and records what is new.
    fn round(&mut self, store: &Store, w: &Watch) -> Result<(usize, usize)> {
        let now = now_ms();
        let window =
            pagetrail_query::Window { from_ms: Some(now - w.detect_window.as_millis() as i64), to_ms: Some(now) };
        let params = pagetrail_query::DetectParams {
            config: w.config.detect.clone(),
            enabled: Default::default(),
            admins: Default::default(),
            raw_history: false,
        };
        let found = pagetrail_query::detect(store, &window, params)?;
        let mut lines = Vec::new();
        let mut new = Vec::new();
        let at = format_rfc3339(now);
        for c in found.cases.iter().filter(|c| c.severity >= Severity::Medium) {
            let e = case_entry(c, now);
            if self.is_new(&e) {
                let alerts: Vec<&Alert> = c.alerts.iter().filter_map(|&i| found.alerts.get(i)).collect();
                lines.push(
                    serde_json::json!({"type": "case", "detected_at": at, "case": c, "alerts": alerts}).to_string(),
                );
                new.push(e);
            }
        }
        let cases = new.len();
        for a in found.alerts.iter().filter(|a| a.severity >= Severity::Medium) {
            let e = alert_entry(a, now);
            if self.is_new(&e) {
                lines.push(serde_json::json!({"type": "alert", "detected_at": at, "alert": a}).to_string());
                new.push(e);
            }
        }
        if new.is_empty() {
            return Ok((0, 0));
        }
        let mut text = lines.join("\n");
        text.push('\n');
        match &mut self.out {
            Some(f) => {
                f.write_all(text.as_bytes()).context("writing the alerts file")?;
                f.sync_data().context("syncing the alerts file")?;
            }
            None => {
                // Log text is attacker-controlled: on a terminal, escape what JSON leaves as is.
                let stdout = std::io::stdout();
                let mut o: Box<dyn Write> = if std::io::IsTerminal::is_terminal(&stdout) {
                    Box::new(crate::output::TerminalJson::new(stdout.lock()))
                } else {
                    Box::new(stdout.lock())
                };
                o.write_all(text.as_bytes())?;
                o.flush()?;
            }
        }
        let mut b = store.batch();
        for e in &new {
            emitted::put(&mut b, e);
        }
        store.commit(b).map_err(|e: StoreError| anyhow::anyhow!(e))?;
        let alerts = new.len() - cases;
        remember(&mut self.ledger, new);
        Ok((cases, alerts))
    }
}

fn case_entry(c: &Case, now: i64) -> Emitted {
    Emitted {
        kind: Kind::Case,
        user: key_user(&c.user),
        what: String::new(),
        start_ms: c.start_ms,
        end_ms: c.end_ms,
        severity: severity_rank(c.severity),
        emitted_ms: now,
    }
}

fn alert_entry(a: &Alert, now: i64) -> Emitted {
    Emitted {
        kind: Kind::Alert,
        user: key_user(&a.user),
        what: a.detector.name().to_owned(),
        start_ms: a.start_ms,
        end_ms: a.end_ms,
        severity: severity_rank(a.severity),
        emitted_ms: now,
    }
}

/// The ledger entry of a line this collector wrote earlier.
fn parse_line(line: &str) -> Option<Emitted> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let (kind, body) = match v["type"].as_str()? {
        "case" => (Kind::Case, &v["case"]),
        "alert" => (Kind::Alert, &v["alert"]),
        _ => return None,
    };
    let ts = |k: &str| body[k].as_str().and_then(pagetrail_core::time::parse_instant);
    let severity = match body["severity"].as_str()? {
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        _ => return None,
    };
    Some(Emitted {
        kind,
        user: key_user(body["user"].as_str()?),
        what: if kind == Kind::Alert { body["detector"].as_str()?.to_owned() } else { String::new() },
        start_ms: ts("start")?,
        end_ms: ts("end")?,
        severity,
        emitted_ms: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_line_is_recognised_as_emitted() {
        let e = parse_line(r#"{"type":"alert","detected_at":"x","alert":{"detector":"burst","user":"jdoe","severity":"high","start":"2026-03-01T10:00:00Z","end":"2026-03-01T10:30:00Z"}}"#)
            .unwrap();
        assert_eq!((e.kind, e.user.as_str(), e.what.as_str(), e.severity), (Kind::Alert, "jdoe", "burst", 3));
        assert_eq!(e.end_ms - e.start_ms, 30 * 60_000);
        let alerts = Alerts { out: None, ledger: ledger_of([e.clone()]) };
        assert!(!alerts.is_new(&Emitted { start_ms: e.start_ms + 60_000, ..e.clone() }), "an overlapping repeat");
        assert!(alerts.is_new(&Emitted { start_ms: e.end_ms + 1, end_ms: e.end_ms + 2, ..e.clone() }), "a later one");
        assert!(alerts.is_new(&Emitted { severity: 4, ..e.clone() }), "a stronger one");
        assert!(parse_line("{\"type\":\"case\"").is_none(), "a torn last line");
        assert!(parse_line("not json").is_none());
    }
}
