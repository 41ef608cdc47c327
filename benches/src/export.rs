//! Writes the reads of an access log (stdin) as CSV for the DuckDB comparison.
//!
//! `pagetrail gen ... | bench-export CATALOG.csv > reads.csv`
//! Columns: `ts` (RFC 3339 UTC), `user`, `page` (page id; titled pages mapped through the
//! catalog), `space` (the catalog's), `bytes`. This is the same set of reads pagetrail counts,
//! recomputed from the log by the core parser, so DuckDB answers the same questions.

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};

use pagetrail_core::event::fold_user;
use pagetrail_core::time::format_rfc3339;
use pagetrail_core::{classify, detect_variant, is_read, parse_line, ContextPath};

fn main() {
    let catalog = std::env::args().nth(1).expect("usage: bench-export CATALOG.csv < log > reads.csv");
    let mut by_title: HashMap<(String, String), u64> = HashMap::new();
    let mut space_of: HashMap<u64, String> = HashMap::new();
    let mut rdr = csv::Reader::from_path(&catalog).expect("catalog");
    for rec in rdr.records() {
        let rec = rec.expect("catalog row");
        let id: u64 = rec[0].parse().expect("page_id");
        by_title.insert((rec[1].to_owned(), rec[2].to_owned()), id);
        space_of.insert(id, rec[1].to_owned());
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut head = Vec::new();
    for l in lines.by_ref().take(64) {
        head.push(l.expect("read"));
    }
    let variant = detect_variant(head.iter().map(String::as_str)).expect("a Tomcat access log");
    let ctx = ContextPath::new("");
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    writeln!(out, "ts,user,page,space,bytes").unwrap();
    let mut n = 0u64;
    for line in head.into_iter().map(Ok).chain(lines) {
        let line: String = line.expect("read");
        let Ok(r) = parse_line(variant, &line) else { continue };
        let c = classify(&ctx, r.method, r.path, r.query);
        let page = c.page_id.or_else(|| Some(*by_title.get(&(c.space.clone()?, c.title.clone()?))?));
        let Some(page) = page.filter(|_| is_read(c.action, r.status, c.page_ref().is_some())) else { continue };
        let space = space_of.get(&page).cloned().or(c.space).unwrap_or_default();
        let user = fold_user(r.user).replace('"', "\"\"");
        writeln!(
            out,
            "{},\"{}\",{},\"{}\",{}",
            format_rfc3339(r.ts_ms),
            user,
            page,
            space.replace('"', "\"\""),
            r.bytes
        )
        .unwrap();
        n += 1;
    }
    out.flush().unwrap();
    eprintln!("{n} reads");
}
