//! Output shapes: aligned tables for people, JSON and CSV for machines, all on stdout.

use std::io::{self, Write};

use pagetrail_core::time::format_rfc3339;

/// Makes attacker-controlled text (user agents, titles, paths) safe for a terminal: control
/// characters and bidirectional overrides become visible escapes.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// 1234567 -> "1,234,567".
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes for people: "812 B", "1.4 MB", "2.0 GB" (decimal units).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

pub fn instant(ms: i64) -> String {
    format_rfc3339(ms)
}

/// A table with a header row; numeric columns (named in `right`) are right-aligned.
pub struct Table {
    headers: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[(&'static str, bool)]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.0).collect(),
            right: headers.iter().map(|h| h.1).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|c| clean(&c)).collect());
    }

    pub fn print(&self, out: &mut dyn Write) -> io::Result<()> {
        let width =
            |i: usize| self.rows.iter().map(|r| r[i].chars().count()).chain([self.headers[i].len()]).max().unwrap_or(0);
        let widths: Vec<usize> = (0..self.headers.len()).map(width).collect();
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = widths[i].saturating_sub(c.chars().count());
                if i > 0 {
                    s.push_str("  ");
                }
                if self.right[i] {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    if i + 1 < cells.len() {
                        s.push_str(&" ".repeat(pad));
                    }
                }
            }
            s
        };
        let head: Vec<String> = self.headers.iter().map(|h| h.to_uppercase()).collect();
        writeln!(out, "{}", line(&head))?;
        for r in &self.rows {
            writeln!(out, "{}", line(r))?;
        }
        if self.rows.is_empty() {
            writeln!(out, "(no rows)")?;
        }
        Ok(())
    }
}

/// Writes CSV rows (RFC 4180) with a header.
pub fn csv(out: &mut dyn Write, headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(headers).map_err(io::Error::other)?;
    for r in rows {
        w.write_record(&r).map_err(io::Error::other)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_cleaning() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(100), "100");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_400_000), "1.4 MB");
        assert_eq!(clean("a\u{1b}[31mred\n\u{202e}x"), "a\\u{1b}[31mred\\n\\u{202e}x");
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new(&[("user", false), ("events", true)]);
        t.row(vec!["alice".into(), "5".into()]);
        t.row(vec!["bo".into(), "1,234".into()]);
        let mut out = Vec::new();
        t.print(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "USER   EVENTS\nalice       5\nbo      1,234\n");
    }
}
