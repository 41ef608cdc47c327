//! Runs one command: opens the store the way the command needs and prints its answer.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use pagetrail_core::time::{parse_instant, parse_span};
use pagetrail_core::{Action, ContextPath};
use pagetrail_ingest::{expand_paths, IngestOptions, Ingester, Progress, Summary};
use pagetrail_query::{reads, By as QBy, EventFilter, ReaderRow, Target, Window};
use pagetrail_store::{rejects, Dict, DictKind, Part, Store};
use serde_json::json;

use crate::cli::{Args, By, Command, ExportTo, Format, GenVariant, OutputFormat, Time};
use crate::output::{self, bytes, clean, count, instant, Table};
use crate::rows;

pub fn run(args: Args) -> Result<()> {
    let event_format = args.format;
    let fmt = match args.format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Csv => Format::Csv,
        OutputFormat::Ecs | OutputFormat::Timesketch if matches!(args.command, Command::Events { .. }) => Format::Json,
        OutputFormat::Ecs if matches!(args.command, Command::Detect { .. }) => Format::Json,
        OutputFormat::Ecs => bail!("--format ecs is for `events` and `detect` only"),
        OutputFormat::Timesketch => bail!("--format timesketch is for `events` only"),
    };
    let store_path = args.store.clone();
    let stdout = io::stdout();
    // Tables and CSV escape hostile text cell by cell; JSON on a terminal is escaped here.
    let mut out: Box<dyn Write> = if matches!(fmt, Format::Json) && stdout.is_terminal() {
        Box::new(BufWriter::new(output::TerminalJson::new(stdout.lock())))
    } else {
        Box::new(BufWriter::new(stdout.lock()))
    };
    match args.command {
        Command::Ingest { read, final_files, paths } => {
            let opts = ingest_options(&read, final_files)?;
            let store = Store::open_writer(&store_path)?;
            let (summary, secs) = ingest(&store, &paths, opts)?;
            print_summary(&mut out, fmt, &summary, secs)?;
        }
        Command::Watch { read, poll, detect_every, detect_window, alerts, config, stop_after, paths } => {
            let span = |s: &str, what: &str| -> Result<std::time::Duration> {
                let ms = parse_span(s).with_context(|| format!("--{what} '{s}' is not a span like 1s, 15m, 1d"))?;
                Ok(std::time::Duration::from_millis(ms as u64))
            };
            let w = crate::watch::Watch {
                paths,
                opts: IngestOptions {
                    remember_names: Some(crate::watch::REMEMBER_NAMES),
                    ..ingest_options(&read, false)?
                },
                poll: span(&poll, "poll")?,
                detect_every: detect_every.as_deref().map(|d| span(d, "detect-every")).transpose()?,
                detect_window: span(&detect_window, "detect-window")?,
                alerts,
                config: crate::watch::WatchConfig::load(config.as_deref())?,
                stop_after: stop_after.as_deref().map(|d| span(d, "stop-after")).transpose()?,
            };
            crate::watch::run(&store_path, w)?;
        }
        Command::Catalog { file } => {
            let n = load_side_file(&store_path, |ing| ing.load_catalog(&file))?;
            print_loaded(&mut out, fmt, "pages", n, &format!("catalog pages from {}", file.display()))?;
        }
        Command::Users { file } => {
            let n = load_side_file(&store_path, |ing| ing.load_users(&file))?;
            print_loaded(&mut out, fmt, "users", n, &format!("directory entries from {}", file.display()))?;
        }
        Command::Rejects { file } => {
            let store = reader_of(&store_path, &[Part::Names, Part::Rejects])?;
            print_rejects(&store, file.as_deref(), fmt, &mut out)?;
        }
        Command::TopReaders { space, by, limit, time } => {
            let store = reader_of(&store_path, reads::top_readers(space.is_some()))?;
            let by = match by {
                By::Pages => QBy::Pages,
                By::Events => QBy::Events,
                By::Bytes => QBy::Bytes,
            };
            let rows = pagetrail_query::top_readers(&store, &window(&time)?, space.as_deref(), by, limit)?;
            print_readers(&mut out, fmt, &rows, false)?;
        }
        Command::WhoRead { page, space, title, time } => {
            let target = match (page, space, title) {
                (Some(p), None, None) => Target::Page(p),
                (None, Some(s), None) => Target::Space(s),
                (None, None, Some(t)) => {
                    let (s, t) = t.split_once('/').context("--title takes SPACE/Title")?;
                    Target::Title(s.to_owned(), pagetrail_core::url::decode(t, true))
                }
                _ => bail!("who-read needs one of --page, --space or --title"),
            };
            let store = reader_of(&store_path, reads::who_read(&target))?;
            let rows = pagetrail_query::who_read(&store, &window(&time)?, &target)?;
            print_readers(&mut out, fmt, &rows, true)?;
        }
        Command::User { user, time } => {
            let store = reader_of(&store_path, reads::USER)?;
            let s = pagetrail_query::user_summary(&store, &window(&time)?, &user)?;
            if !s.known {
                eprintln!("pagetrail: note: the store has no events of user '{}'", clean(&s.user));
            }
            print_user(&mut out, fmt, &s)?;
        }
        Command::Events { user, page, space, action, time } => {
            let action = action.map(|a| a.parse::<Action>()).transpose().map_err(anyhow::Error::msg)?;
            let filter = EventFilter { user, page, space, action };
            let store = reader_of(&store_path, reads::EVENTS)?;
            match event_format {
                OutputFormat::Ecs | OutputFormat::Timesketch => {
                    print_event_docs(&store, &window(&time)?, &filter, event_format == OutputFormat::Ecs, &mut out)?
                }
                _ => print_events(&store, &window(&time)?, &filter, fmt, &mut out)?,
            }
        }
        Command::Detect { alerts: show_alerts, detectors, config, admins, print_config, raw_history, time } => {
            if print_config {
                write!(out, "{}", pagetrail_detect::default_toml())?;
                out.flush()?;
                return Ok(());
            }
            let config = match &config {
                Some(p) => {
                    let text = std::fs::read_to_string(p).with_context(|| p.display().to_string())?;
                    pagetrail_detect::Config::from_toml(&text).with_context(|| p.display().to_string())?
                }
                None => pagetrail_detect::Config::default(),
            };
            let enabled = detectors.into_iter().collect();
            let admins = match &admins {
                Some(p) => std::fs::read_to_string(p)
                    .with_context(|| p.display().to_string())?
                    .lines()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| pagetrail_core::event::fold_user(l).into_owned())
                    .collect(),
                None => Default::default(),
            };
            let store = reader(&store_path)?;
            let found = pagetrail_query::detect(
                &store,
                &window(&time)?,
                pagetrail_query::DetectParams { config, enabled, admins, raw_history },
            )?;
            for s in &found.service_accounts {
                let how = if s.declared { "declared" } else { "looks like" };
                let routine: Vec<&str> = s.routine.iter().map(|d| d.name()).collect();
                eprintln!(
                    "note: {} {how} a service account ({}); judged against its own routine{}{}",
                    output::clean(&s.user),
                    s.reason,
                    if routine.is_empty() { String::new() } else { format!(" of {}", routine.join(", ")) },
                    if s.declared { "" } else { "; declare it under [cases] service_accounts to confirm" },
                );
            }
            match (fmt, show_alerts) {
                // NDJSON: the cases, then every alert, one document a line.
                _ if event_format == OutputFormat::Ecs => {
                    for c in &found.cases {
                        serde_json::to_writer(&mut out, &crate::export::ecs_case(c))?;
                        out.write_all(b"\n")?;
                    }
                    for a in &found.alerts {
                        serde_json::to_writer(&mut out, &crate::export::ecs_alert(a))?;
                        out.write_all(b"\n")?;
                    }
                }
                (Format::Json, _) => print_detection(&mut out, &found)?,
                (_, true) => print_alerts(&mut out, fmt, &found.alerts)?,
                (_, false) => print_cases(&mut out, fmt, &found)?,
            }
        }
        Command::Report { user, page, space, out: file, no_detect, time } => {
            let store = reader(&store_path)?;
            let subject = match (user, page, space) {
                (Some(u), _, _) => crate::report::Subject::User(u),
                (_, Some(n), _) => crate::report::Subject::Page(n),
                (_, _, Some(k)) => crate::report::Subject::Space(k),
                _ => crate::report::Subject::Site,
            };
            let given = time.given();
            let window_text = if given.is_empty() { "the whole store".to_string() } else { given.join(" ") };
            let o = crate::report::Options {
                subject,
                window: window(&time)?,
                window_text,
                store_path: store_path.display().to_string(),
                detect: !no_detect,
            };
            let started = std::time::Instant::now();
            let size = crate::report::write(&store, &o, &file)?;
            eprintln!(
                "wrote {} ({}) in {:.1} s; open it in a browser",
                output::clean(&file.display().to_string()),
                bytes(size),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Export { to: ExportTo::Parquet { dir, user, space, time } } => {
            let store = reader(&store_path)?;
            let spec = pagetrail_lake::Spec { window: time.given(), user, space };
            let started = std::time::Instant::now();
            let s = pagetrail_lake::export(&store, &dir, &window(&time)?, &spec)?;
            let secs = started.elapsed().as_secs_f64();
            match fmt {
                Format::Json => writeln!(
                    out,
                    "{}",
                    json!({"events": s.events, "files": s.files, "days": s.days, "already": s.already,
                           "bytes": s.bytes, "seconds": (secs * 1000.0).round() / 1000.0})
                )?,
                _ => writeln!(
                    out,
                    "exported {} events ({} already there) to {} files over {} days in {}, {} in {secs:.1} s",
                    count(s.events),
                    count(s.already),
                    count(s.files),
                    count(s.days),
                    output::clean(&dir.display().to_string()),
                    bytes(s.bytes),
                )?,
            }
        }
        Command::Purge { before, user, reason } => {
            let what = match (before, user) {
                (Some(d), _) => pagetrail_ingest::Purge::Before(utc_day(&d)?),
                (None, Some(u)) => pagetrail_ingest::Purge::User(u),
                (None, None) => unreachable!("clap requires one of --before and --user"),
            };
            let store = Store::open_writer(&store_path)?;
            let mut ing = Ingester::new(&store, IngestOptions::default())?;
            let started = Instant::now();
            let p = ing.purge(&what, &reason)?;
            let link = p.link.map(|c| (c.seq, pagetrail_store::chain::hex(&c.head))).unwrap_or_default();
            let row = rows::PurgeRow {
                events: p.events,
                reads: p.reads,
                rejects: p.rejects,
                index_rows: p.index_rows,
                batches_rehashed: p.batches,
                link: link.0,
                head: link.1,
                seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            };
            rows::print_record(&mut out, fmt, &row)?;
        }
        Command::Compact => {
            let store = Store::open_writer(&store_path)?;
            let before = store.bytes_on_disk();
            // Days held in many groups (a collector's, or a day split between batches) first.
            let mut ing = Ingester::new(&store, IngestOptions::default())?;
            let c = ing.consolidate(i64::MAX)?;
            ing.finish()?;
            if c.days > 0 {
                eprintln!(
                    "consolidated {} user-days from {} event groups into one group each ({} events)",
                    count(c.days),
                    count(c.groups_before),
                    count(c.events)
                );
            }
            store.compact()?;
            eprintln!("compacted {}: {} -> {}", store_path.display(), bytes(before), bytes(store.bytes_on_disk()));
        }
        Command::Stats => {
            let store = reader(&store_path)?;
            if let Some(w) = store.exposure() {
                eprintln!("pagetrail: warning: {w}");
            }
            let s = pagetrail_query::stats(&store)?;
            let st = rows::Stats {
                events: s.events,
                reads: s.reads,
                users: s.users,
                pages: s.pages,
                spaces: s.spaces,
                first: s.first_ms.map(instant),
                last: s.last_ms.map(instant),
                bytes_on_disk: s.bytes_on_disk,
            };
            rows::print_record(&mut out, fmt, &st)?;
            if fmt == Format::Table {
                // What ingest read besides the events (counted, not in the JSON's contract shape).
                let mut t = Table::new(&[("", false), ("", true)]);
                for (k, v) in [("lines", s.lines), ("noise", s.noise), ("rejected", s.rejected)] {
                    t.row(vec![k.into(), count(v)]);
                }
                writeln!(out)?;
                t.print(&mut out)?;
                writeln!(out)?;
                let mut t = Table::new(&[("column family", false), ("sst bytes", true), ("per event", true)]);
                for (name, b) in store.family_sizes() {
                    let per = if s.events > 0 { format!("{:.2}", b as f64 / s.events as f64) } else { "-".into() };
                    t.row(vec![name.into(), count(b), per]);
                }
                t.print(&mut out)?;
            }
        }
        Command::Sources => {
            let store = reader(&store_path)?;
            let recs = pagetrail_ingest::custody::sources(&store)?;
            let names = pagetrail_ingest::custody::stored_names(&store, &recs)?;
            print_sources(&mut out, fmt, &recs, &names)?;
        }
        Command::Verify { files, head } if files.is_empty() => {
            let pinned = head
                .map(|h| {
                    pagetrail_store::chain::parse_hex(&h).with_context(|| format!("--head '{h}' is not 64 hex digits"))
                })
                .transpose()?;
            let store = reader(&store_path)?;
            let report = pagetrail_store::chain::verify(&store, pinned.as_ref())?;
            rows::print_record(&mut out, fmt, &rows::ChainCheck::from(&report))?;
            out.flush()?;
            if let Some(p) = &report.problem {
                bail!("store {} does not match its hash chain: {}", store_path.display(), p.what);
            }
        }
        Command::Verify { files, head } => {
            if head.is_some() {
                bail!("--head checks the store's chain: give it without files");
            }
            let store = reader(&store_path)?;
            let registry = pagetrail_ingest::custody::sources(&store)?;
            let mut rows = Vec::new();
            for f in &files {
                let (v, rec) = pagetrail_ingest::custody::verify(&registry, f)?;
                rows.push((f.display().to_string(), v, rec));
            }
            print_verdicts(&mut out, fmt, &rows)?;
            out.flush()?;
            let bad = rows.iter().filter(|(_, v, _)| *v != pagetrail_ingest::custody::Verdict::Matches).count();
            if bad > 0 {
                bail!("{bad} of {} files do not match what was ingested from them", rows.len());
            }
        }
        Command::Gen { seed, users, days, start, variant, out: dir, catalog, incidents, truth } => {
            let cfg = pagetrail_gen::GenConfig { incidents, ..gen_config(seed, users, days, &start, variant)? };
            if let Some(path) = truth {
                let list = pagetrail_gen::incidents(&cfg);
                if list.is_empty() {
                    bail!("no incidents can be planted in {days} days of {users} users (needs at least 21 days and 20 users)");
                }
                let mut f = BufWriter::new(std::fs::File::create(&path).with_context(|| path.display().to_string())?);
                pagetrail_gen::write_ground_truth(&list, &mut f)?;
                f.flush()?;
            }
            if let Some(path) = catalog {
                let mut f = BufWriter::new(std::fs::File::create(&path).with_context(|| path.display().to_string())?);
                pagetrail_gen::write_catalog(&pagetrail_gen::site(&cfg), &mut f)?;
                f.flush()?;
            }
            let summary = match dir {
                Some(dir) => pagetrail_gen::generate_files(&cfg, &dir).with_context(|| dir.display().to_string())?.1,
                None => pagetrail_gen::generate(&cfg, &mut out)?,
            };
            eprintln!("generated {} lines ({}, {} torn)", count(summary.lines), bytes(summary.bytes), summary.torn);
        }
        Command::Demo { dir, users, days } => crate::demo::demo(&dir, users, days, &mut out)?,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut <Args as clap::CommandFactory>::command(), "pagetrail", &mut out);
        }
        Command::Man => clap_mangen::Man::new(<Args as clap::CommandFactory>::command()).render(&mut out)?,
    }
    out.flush()?;
    Ok(())
}

/// A store opened for one command's reads, left open when the process ends: closing a
/// read-only RocksDB frees every table reader and cached block, memory the kernel takes back
/// at exit anyway, and took 0.85 ms of a 10 ms `rejects` on the peers site. A secondary
/// instance is closed, so that its temporary folder goes.
struct Reader(Option<Store>);

fn reader(path: &std::path::Path) -> Result<Reader> {
    reader_of(path, &Part::ALL)
}

/// A reader of only `parts` (a read-only open then skips the other column families).
fn reader_of(path: &std::path::Path, parts: &[Part]) -> Result<Reader> {
    Ok(Reader(Some(Store::open_reader_of(path, parts)?)))
}

impl std::ops::Deref for Reader {
    type Target = Store;

    fn deref(&self) -> &Store {
        self.0.as_ref().expect("a reader holds its store until dropped")
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(store) = self.0.take().filter(|s| s.mode() == pagetrail_store::Mode::ReadOnly) {
            std::mem::forget(store);
        }
    }
}

/// Loads a catalog or user directory as the store's writer.
fn load_side_file(
    store_path: &std::path::Path,
    load: impl FnOnce(&mut Ingester<'_>) -> pagetrail_ingest::Result<u64>,
) -> Result<u64> {
    let store = Store::open_writer(store_path)?;
    let mut ing = Ingester::new(&store, IngestOptions::default())?;
    let n = load(&mut ing)?;
    ing.finish()?;
    Ok(n)
}

fn print_loaded(out: &mut dyn Write, fmt: Format, key: &str, n: u64, what: &str) -> Result<()> {
    match fmt {
        Format::Json => writeln!(out, "{}", json!({ key: n }))?,
        Format::Csv => output::csv(out, &[key], [vec![n.to_string()]])?,
        Format::Table => writeln!(out, "loaded {} {what}", count(n))?,
    }
    Ok(())
}

pub fn gen_config(
    seed: u64,
    users: u32,
    days: u32,
    start: &str,
    variant: GenVariant,
) -> Result<pagetrail_gen::GenConfig> {
    let day = parse_instant(start)
        .filter(|_| start.len() == 10)
        .with_context(|| format!("--start '{start}' is not YYYY-MM-DD"))?;
    let (y, m, d) = pagetrail_core::time::civil_from_days(day / pagetrail_core::time::DAY_MS);
    let base = pagetrail_gen::GenConfig::default();
    Ok(pagetrail_gen::GenConfig {
        seed,
        users,
        days,
        start: (y, m, d),
        variant: match variant {
            GenVariant::A => pagetrail_gen::Variant::A,
            GenVariant::B => pagetrail_gen::Variant::B,
            GenVariant::C => pagetrail_gen::Variant::C,
        },
        ..base
    })
}

/// Ingests every path; progress goes to stderr.
/// How `ingest` and `watch` read sources, from their shared flags.
fn ingest_options(read: &crate::cli::ReadOpts, final_files: bool) -> Result<IngestOptions> {
    let format = read
        .source_format
        .as_ref()
        .map(|f| {
            pagetrail_ingest::Format::from_name(f).with_context(|| {
                format!("unknown --source-format '{f}' (tomcat-a, tomcat-b, tomcat-c, accesslogfilter, dc-audit, dc-audit-rest, cloud-audit, org-audit, jsonl)")
            })
        })
        .transpose()?;
    let tz = read
        .tz
        .as_ref()
        .map(|z| pagetrail_core::sources::parse_tz(z))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--tz: {e}"))?;
    let mut parse = pagetrail_core::sources::ParseOptions { tz, ..Default::default() };
    if let Some(p) = &read.org_actions {
        let text = std::fs::read_to_string(p).with_context(|| p.display().to_string())?;
        let mut map =
            pagetrail_core::sources::OrgActionMap::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        // The file's rows first (first match wins), then the defaults.
        map.0.extend(pagetrail_core::sources::OrgActionMap::default().0);
        parse.org_actions = map;
    }
    Ok(IngestOptions {
        format,
        context_path: ContextPath::new(&read.context_path),
        batch_lines: read.batch_lines.max(1),
        parse,
        final_files,
        quiet_after: std::time::Duration::from_secs(read.quiet_secs),
        remember_names: None,
    })
}

/// Ingests `paths`; the seconds returned are the ingest's, without the compaction after a bulk load.
pub fn ingest(store: &Store, paths: &[std::path::PathBuf], opts: IngestOptions) -> Result<(Summary, f64)> {
    let started = Instant::now();
    let before = store.bytes_on_disk();
    let sources = expand_paths(paths)?;
    let mut ing = Ingester::new(store, opts)?;
    // One bar over the inputs' total size on disk (gzip counts compressed bytes), with an ETA;
    // a spinner when stdin's size is unknown. indicatif hides it when stderr is not a terminal.
    let sizes: Vec<Option<u64>> = sources.iter().map(|s| s.size()).collect();
    let bar = match sizes.iter().copied().sum::<Option<u64>>() {
        Some(total) => indicatif::ProgressBar::new(total).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec}, ETA {eta}  {wide_msg}",
            )
            .expect("a valid progress template"),
        ),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    // Each batch is written on a second thread while the next is read.
    let failed = ing.pipelined(|ing| ingest_sources(ing, &sources, &sizes, &bar))?;
    bar.finish_and_clear();
    let summary = ing.finish()?;
    let secs = started.elapsed().as_secs_f64();
    // A bulk load (the store at least doubled) is compacted at once: unmerged index operands
    // and level-1 compression made a fresh store 16% larger and its queries take up to 35%
    // longer. A smaller ingest leaves it to RocksDB, so this never costs more than about twice
    // what was written.
    if store.bytes_on_disk() >= 2 * before.max(1) {
        let t = Instant::now();
        store.compact()?;
        eprintln!("compacted the store in {:.1} s: {}", t.elapsed().as_secs_f64(), bytes(store.bytes_on_disk()));
    }
    if summary.skipped > 0 && summary.skipped == sources.len() as u64 {
        bail!("no file in a known log format among the {} files found (every one was skipped)", summary.skipped);
    }
    if !failed.is_empty() {
        bail!("{} of {} inputs could not be ingested (first: {})", failed.len(), sources.len(), failed[0]);
    }
    Ok((summary, secs))
}

/// Ingests each source in turn; a file that cannot be read is reported and passed over (its
/// error is in the list returned) unless it is the only one.
fn ingest_sources(
    ing: &mut Ingester<'_>,
    sources: &[pagetrail_ingest::Source],
    sizes: &[Option<u64>],
    bar: &indicatif::ProgressBar,
) -> pagetrail_ingest::Result<Vec<String>> {
    let mut failed = Vec::new();
    let mut done: u64 = 0;
    for (src, size) in sources.iter().zip(sizes) {
        bar.set_position(done);
        bar.set_message(clean(&src.name()));
        let mut tick = |p: Progress| {
            bar.set_position(done + p.raw_bytes.min(size.unwrap_or(u64::MAX)));
            bar.set_message(format!("{}: {} lines", clean(&src.name()), count(p.lines)));
        };
        match ing.ingest(src, &mut tick) {
            Ok(o) => {
                let name = clean(&o.name);
                let note = if o.skipped {
                    Some(format!("note: {name}: no line matches a known log format; skipped"))
                } else if o.truncated {
                    Some(format!(
                        "warning: {name}: the gzip data ends early (an interrupted copy?); ingested what decoded, the cut is kept as a reject (`pagetrail rejects --file {name}`)"
                    ))
                } else if o.partial_tail {
                    Some(format!(
                        "note: {name}: last line has no newline yet; left for the next run (--final takes it)"
                    ))
                } else {
                    None
                };
                if let Some(n) = note {
                    bar.suspend(|| eprintln!("pagetrail: {n}"));
                }
            }
            // A file we cannot read must not stop the others; the run still fails at the end.
            Err(
                e @ (pagetrail_ingest::IngestError::Io { .. }
                | pagetrail_ingest::IngestError::Unrecognized(_)
                | pagetrail_ingest::IngestError::Rewritten { .. }),
            ) => {
                if sources.len() == 1 {
                    return Err(e);
                }
                bar.suspend(|| eprintln!("pagetrail: error: {e}"));
                failed.push(e.to_string());
            }
            Err(e) => return Err(e),
        }
        done += size.unwrap_or(0);
    }
    Ok(failed)
}

fn print_summary(out: &mut dyn Write, fmt: Format, s: &Summary, secs: f64) -> Result<()> {
    let r = rows::Ingested {
        files: s.files,
        lines: s.lines,
        events: s.events,
        reads: s.reads,
        noise: s.noise,
        rejected: s.rejected,
        duplicates: s.duplicates,
        skipped: s.skipped,
        seconds: (secs * 1000.0).round() / 1000.0,
    };
    match fmt {
        Format::Table => {
            let rate = if r.seconds > 0.0 { (r.lines as f64 / r.seconds) as u64 } else { 0 };
            writeln!(
                out,
                "ingested {} files{}: {} lines ({} events, {} reads, {} noise, {} rejected, {} already stored) in {:.1} s, {} lines/s",
                count(r.files),
                if r.skipped > 0 { format!(" ({} skipped: no known format)", count(r.skipped)) } else { String::new() },
                count(r.lines),
                count(r.events),
                count(r.reads),
                count(r.noise),
                count(r.rejected),
                count(r.duplicates),
                r.seconds,
                count(rate)
            )?;
            Ok(())
        }
        _ => rows::print_record(out, fmt, &r),
    }
}

/// The UTC day (days since 1970-01-01) of a `YYYY-MM-DD` date.
fn utc_day(d: &str) -> Result<i64> {
    match parse_instant(d) {
        Some(ms) if d.len() == 10 => Ok(ms.div_euclid(pagetrail_core::time::DAY_MS)),
        _ => bail!("'{d}' is not a date YYYY-MM-DD"),
    }
}

fn window(t: &Time) -> Result<Window> {
    let parse = |s: &Option<String>, what: &str| -> Result<Option<i64>> {
        s.as_deref()
            .map(|v| parse_instant(v).with_context(|| format!("--{what} '{v}' is not YYYY-MM-DD or RFC 3339")))
            .transpose()
    };
    if let Some(l) = &t.last {
        let span = parse_span(l).with_context(|| format!("--last '{l}' is not a span like 90d, 12h or 2w"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        return Ok(Window { from_ms: Some(now - span), to_ms: Some(now) });
    }
    let w = Window { from_ms: parse(&t.from, "from")?, to_ms: parse(&t.to, "to")? };
    if let (Some(f), Some(to)) = (w.from_ms, w.to_ms) {
        if f >= to {
            bail!("--from must be before --to");
        }
    }
    Ok(w)
}

fn print_readers(out: &mut dyn Write, fmt: Format, rows: &[ReaderRow], who: bool) -> Result<()> {
    if who {
        rows::print_rows(out, fmt, &rows.iter().map(rows::WhoRead::from).collect::<Vec<_>>())
    } else {
        rows::print_rows(out, fmt, &rows.iter().map(rows::TopReader::from).collect::<Vec<_>>())
    }
}

fn print_user(out: &mut dyn Write, fmt: Format, s: &pagetrail_query::UserSummary) -> Result<()> {
    let u = rows::User::from(s);
    match fmt {
        Format::Json => writeln!(out, "{}", serde_json::to_string(&u)?)?,
        // One CSV table: the days (the other lists are in the JSON and the table).
        Format::Csv => rows::print_flat(out, fmt, &u.days)?,
        Format::Table => {
            writeln!(
                out,
                "{}: {} reads of {} pages in {} spaces, {}; first {}, last {}\n",
                clean(&u.user),
                count(u.events),
                count(u.distinct_pages),
                count(u.distinct_spaces),
                bytes(u.bytes),
                u.first_seen.as_deref().unwrap_or("-"),
                u.last_seen.as_deref().unwrap_or("-"),
            )?;
            rows::print_flat(out, fmt, &u.spaces)?;
            writeln!(out)?;
            rows::print_flat(out, fmt, &u.days)?;
            writeln!(out)?;
            rows::print_flat(out, fmt, &u.sources)?;
        }
    }
    Ok(())
}

fn print_events(store: &Store, w: &Window, filter: &EventFilter, fmt: Format, out: &mut dyn Write) -> Result<()> {
    let mut err = None;
    // CSV and the table are printed whole (column widths, one header); JSON Lines stream: a
    // year of a site is millions of events.
    let mut kept = rows::Collected::new::<rows::Event>()?;
    pagetrail_query::events(store, w, filter, |e| {
        let row = rows::Event::from(e);
        let res = if fmt == Format::Json {
            serde_json::to_writer(&mut *out, &row.json())
                .map_err(anyhow::Error::from)
                .and_then(|()| Ok(out.write_all(b"\n")?))
        } else {
            kept.push(&row)
        };
        match res {
            Ok(()) => true,
            Err(e) => {
                err = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    match fmt {
        Format::Csv => kept.print(out, fmt, None),
        // A narrower view for people; `--format csv` has every field.
        Format::Table => kept.print(
            out,
            fmt,
            Some(&[
                "ts", "user", "action", "status", "bytes", "page_id", "space", "title", "path", "query", "file", "line",
            ]),
        ),
        Format::Json => Ok(()),
    }
}

fn print_sources(
    out: &mut dyn Write,
    fmt: Format,
    recs: &[pagetrail_store::FileRecord],
    names: &std::collections::HashMap<Vec<u8>, Vec<String>>,
) -> Result<()> {
    let rows: Vec<rows::SourceFile> =
        recs.iter().map(|r| rows::SourceFile::new(r, names.get(&r.key()).map_or(&[][..], |v| v))).collect();
    rows::print_rows(out, fmt, &rows)
}

type VerifyRow = (String, pagetrail_ingest::custody::Verdict, Option<pagetrail_store::FileRecord>);

fn print_verdicts(out: &mut dyn Write, fmt: Format, rows: &[VerifyRow]) -> Result<()> {
    let rows: Vec<rows::Verified> = rows.iter().map(|(f, v, r)| rows::Verified::new(f, v, r)).collect();
    rows::print_lines(out, fmt, &rows)
}

/// `events` as documents for other tools, one a line: ECS for Elastic and Splunk, or
/// Timesketch's JSONL import.
fn print_event_docs(store: &Store, w: &Window, filter: &EventFilter, ecs: bool, out: &mut dyn Write) -> Result<()> {
    let mut err = None;
    pagetrail_query::events(store, w, filter, |e| {
        let doc = if ecs { crate::export::ecs(&e) } else { crate::export::timesketch(&e) };
        match writeln!(out, "{doc}") {
            Ok(()) => true,
            Err(x) => {
                err = Some(x);
                false
            }
        }
    })?;
    match err {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

fn print_rejects(store: &Store, file: Option<&str>, fmt: Format, out: &mut dyn Write) -> Result<()> {
    let files = Dict::load(store, DictKind::File)?;
    let id = match file {
        Some(f) => match files.get(f.as_bytes()) {
            Some(id) => Some(id),
            None => bail!("no ingested file is named '{f}'"),
        },
        None => None,
    };
    let mut rows = Vec::new();
    rejects::visit(store, id, |fid, line, reason, raw| {
        let file = String::from_utf8_lossy(files.name(fid).unwrap_or(b"?")).into_owned();
        rows.push(rows::Reject { file, line, reason, raw: String::from_utf8_lossy(&raw).into_owned() });
        true
    })?;
    rows::print_lines(out, fmt, &rows)?;
    Ok(())
}

/// `{"cases":[...],"alerts":[...]}`, one item at a time: a year of a large site is hundreds of
/// thousands of alerts, and one document tree of them took gigabytes.
fn print_detection(out: &mut dyn Write, found: &pagetrail_detect::Detection) -> Result<()> {
    write!(out, "{{\"cases\":[")?;
    for (i, c) in found.cases.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, c)?;
    }
    write!(out, "],\"alerts\":[")?;
    for (i, a) in found.alerts.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, a)?;
    }
    writeln!(out, "]}}")?;
    Ok(())
}

fn print_cases(out: &mut dyn Write, fmt: Format, found: &pagetrail_detect::Detection) -> Result<()> {
    let rows: Vec<rows::CaseRow> = found.cases.iter().map(rows::CaseRow::from).collect();
    if fmt == Format::Csv {
        return rows::print_flat(out, fmt, &rows);
    }
    // People read a ranking rank first.
    let order = ["rank", "score", "severity", "user", "start", "end", "detectors", "alerts", "why"];
    rows::print_columns(out, &rows, &order)?;
    {
        writeln!(
            out,
            "{} cases from {} alerts; `pagetrail detect --alerts` lists every alert",
            count(found.cases.len() as u64),
            count(found.alerts.len() as u64)
        )?;
    }
    Ok(())
}

/// The alerts as CSV or a table (JSON prints them with the cases, [`print_detection`]).
fn print_alerts(out: &mut dyn Write, fmt: Format, alerts: &[pagetrail_detect::Alert]) -> Result<()> {
    let rows = alerts.iter().map(|a| rows::AlertRow::new(a, fmt == Format::Table)).collect::<Result<Vec<_>>>()?;
    rows::print_flat(out, fmt, &rows)
}
