//! `pagetrail demo`: a generated site, ingested into a fresh store, and real answers from it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use pagetrail_ingest::{IngestOptions, Ingester};
use pagetrail_query::{By, Target, Window};
use pagetrail_store::Store;

use crate::cli::GenVariant;
use crate::output::{bytes, count, instant, Table};

pub fn demo(dir: &Path, users: u32, days: u32, out: &mut dyn Write) -> Result<()> {
    let logs = dir.join("logs");
    let store_path = dir.join("store");
    for p in [&logs, &store_path] {
        if p.exists() {
            std::fs::remove_dir_all(p).with_context(|| format!("cannot clear {}", p.display()))?;
        }
    }
    std::fs::create_dir_all(&logs).with_context(|| logs.display().to_string())?;
    // With planted incidents (a night-time API scrape, an export burst, ...), so detect has
    // something to find; the ground truth is written beside the logs.
    let cfg = pagetrail_gen::GenConfig {
        incidents: true,
        ..crate::run::gen_config(7, users, days, "2026-03-16", GenVariant::A)?
    };
    eprintln!("generating {users} users over {days} days into {} ...", logs.display());
    let (files, g) = pagetrail_gen::generate_files(&cfg, &logs).with_context(|| logs.display().to_string())?;
    let truth = pagetrail_gen::incidents(&cfg);
    let mut t = std::io::BufWriter::new(
        std::fs::File::create(dir.join("truth.jsonl")).with_context(|| dir.display().to_string())?,
    );
    pagetrail_gen::write_ground_truth(&truth, &mut t)?;
    t.flush()?;
    drop(t);
    let catalog = dir.join("catalog.csv");
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(&catalog).with_context(|| catalog.display().to_string())?);
    pagetrail_gen::write_catalog(&pagetrail_gen::site(&cfg), &mut f)?;
    f.flush()?;
    drop(f);
    writeln!(out, "generated {} log files: {} lines, {}", files.len(), count(g.lines), bytes(g.bytes))?;

    let store = Store::open_writer(&store_path)?;
    let (s, secs) = crate::run::ingest(&store, std::slice::from_ref(&logs), IngestOptions::default())?;
    writeln!(
        out,
        "ingested {} lines in {:.1} s: {} events, {} reads, {} noise, {} rejected (torn lines)",
        count(s.lines),
        secs,
        count(s.events),
        count(s.reads),
        count(s.noise),
        count(s.rejected)
    )?;
    let mut ing = Ingester::new(&store, IngestOptions::default())?;
    let n = ing.load_catalog(&catalog)?;
    ing.finish()?;
    writeln!(out, "loaded a catalog of {} pages", count(n))?;
    let (again, _) = crate::run::ingest(&store, std::slice::from_ref(&logs), IngestOptions::default())?;
    writeln!(
        out,
        "ingested the same folder again: {} new events, {} lines recognised as already stored",
        count(again.events),
        count(again.duplicates)
    )?;
    drop(store);

    let store = Store::open_reader(&store_path)?;
    let all = Window::all();
    writeln!(out, "\n== pagetrail top-readers --by pages --limit 10")?;
    let top = pagetrail_query::top_readers(&store, &all, None, By::Pages, 10)?;
    let mut t = Table::new(&[("user", false), ("pages", true), ("events", true), ("bytes", true), ("spaces", true)]);
    for r in &top {
        t.row(vec![r.user.clone(), count(r.distinct_pages), count(r.events), bytes(r.bytes), count(r.spaces_shown())]);
    }
    t.print(out)?;

    let mut page = None;
    pagetrail_query::events(&store, &all, &Default::default(), |e| {
        if e.action == pagetrail_core::Action::View && e.page_id.is_some() {
            page = e.page_id;
            return false;
        }
        true
    })?;
    if let Some(id) = page {
        writeln!(out, "\n== pagetrail who-read --page {id}")?;
        let rows = pagetrail_query::who_read(&store, &all, &Target::Page(id))?;
        let mut t = Table::new(&[
            ("user", false),
            ("events", true),
            ("bytes", true),
            ("first seen", false),
            ("last seen", false),
        ]);
        for r in rows.iter().take(10) {
            t.row(vec![r.user.clone(), count(r.events), bytes(r.bytes), instant(r.first_ms), instant(r.last_ms)]);
        }
        t.print(out)?;
    }
    if let Some(top) = top.first() {
        let s = pagetrail_query::user_summary(&store, &all, &top.user)?;
        writeln!(out, "\n== pagetrail user {}", s.user)?;
        writeln!(
            out,
            "{} reads of {} pages in {} spaces, {}",
            count(s.events),
            count(s.distinct_pages),
            count(s.distinct_spaces),
            bytes(s.bytes)
        )?;
        let mut t = Table::new(&[("space", false), ("events", true), ("pages", true)]);
        for r in s.spaces.iter().take(5) {
            t.row(vec![r.space.clone(), count(r.events), count(r.distinct_pages)]);
        }
        t.print(out)?;
    }
    writeln!(
        out,
        "\n== pagetrail detect (the top cases; {} incidents were planted, see {}/truth.jsonl)",
        truth.len(),
        dir.display()
    )?;
    let params = pagetrail_query::DetectParams {
        config: pagetrail_detect::Config::default(),
        enabled: Default::default(),
        admins: Default::default(),
        raw_history: false,
    };
    let found = pagetrail_query::detect(&store, &all, params)?;
    let mut t = Table::new(&[
        ("rank", true),
        ("score", true),
        ("severity", false),
        ("user", false),
        ("start", false),
        ("detectors", false),
    ]);
    for c in found.cases.iter().take(12) {
        t.row(vec![
            c.rank.to_string(),
            format!("{:.1}", c.score),
            c.severity.as_str().into(),
            c.user.clone(),
            instant(c.start_ms),
            c.detectors.iter().map(|d| d.name()).collect::<Vec<_>>().join(","),
        ]);
    }
    t.print(out)?;
    writeln!(
        out,
        "({} cases from {} alerts; `pagetrail detect` says why each ranks where it does, `--alerts` lists every alert)",
        count(found.cases.len() as u64),
        count(found.alerts.len() as u64)
    )?;

    let st = pagetrail_query::stats(&store)?;
    writeln!(
        out,
        "\nstore {}: {} events of {} users on {} pages in {} spaces, {} on disk",
        store_path.display(),
        count(st.events),
        count(st.users),
        count(st.pages),
        count(st.spaces),
        bytes(st.bytes_on_disk)
    )?;
    writeln!(out, "try: cargo run --release -- --store {} top-readers --space <KEY>", store_path.display())?;

    // The investigation report of the top case's person, for the people who will not run a CLI.
    let report = dir.join("report.html");
    let subject =
        found.cases.first().map_or(crate::report::Subject::Site, |c| crate::report::Subject::User(c.user.clone()));
    let about = match &subject {
        crate::report::Subject::User(u) => u.clone(),
        _ => "the site".into(),
    };
    let o = crate::report::Options {
        subject,
        window: all,
        window_text: "the whole store".into(),
        store_path: store_path.display().to_string(),
        detect: true,
    };
    let size = crate::report::write(&store, &o, &report)?;
    writeln!(out, "report on {about} ({}): open {} in a browser", bytes(size), report.display())?;
    Ok(())
}
