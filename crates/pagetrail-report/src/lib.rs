//! Self-contained HTML investigation reports: one file with its charts (uPlot, inlined), its
//! tables and a chain-of-custody footer, readable offline and attachable to a case file.
//!
//! The crate is pure: the caller builds a [`Report`] from the store's answers and [`render`]
//! turns it into HTML. Every piece of text from the logs (titles, user agents, usernames) is
//! attacker-controlled: table cells go through [`escape`], and chart data is embedded as JSON
//! with `<`, `>`, `&` and the JavaScript line separators escaped, so nothing in the data can end
//! the script block. The page counts the points each chart drew into `data-points`, and any
//! script error into `body[data-errors]`, so a headless browser can check it.

use pagetrail_core::time::format_day;
use serde::Serialize;

/// uPlot 1.6.32 (MIT, Leon Sorokin), from the npm package's `dist/`: 51 KB, no dependencies,
/// no network. Its licence is `assets/LICENSE-uPlot`.
const UPLOT_JS: &str = include_str!("../assets/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../assets/uPlot.min.css");
const UPLOT_LICENSE: &str = include_str!("../assets/LICENSE-uPlot");

/// One report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// "Reading of jsmith", "Readers of page 1234", "Site overview".
    pub title: String,
    /// A line under the title: the window, and what the report is about.
    pub subtitle: String,
    /// Key facts shown as tiles: (label, value).
    pub facts: Vec<(String, String)>,
    pub sections: Vec<Section>,
    pub custody: Custody,
}

/// A titled part of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Section {
    pub title: String,
    /// A sentence under the title (what is shown, against what).
    pub note: String,
    pub body: Body,
}

#[derive(Clone, Debug, Serialize)]
pub enum Body {
    /// A time chart, with its numbers in a table one click away.
    Chart(Chart),
    /// Hour of day (columns) by weekday (rows), counts on hover and in the cells.
    Heatmap(Heatmap),
    Table(Table),
}

/// A time chart: x in UTC seconds (days or hours), one or more series.
#[derive(Clone, Debug, Serialize)]
pub struct Chart {
    pub x: Vec<i64>,
    pub series: Vec<Series>,
    /// Indices into `series` of a (low, high) pair drawn as a band, e.g. a baseline.
    pub band: Option<(usize, usize)>,
    pub y_label: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Series {
    pub label: String,
    pub values: Vec<Option<f64>>,
    pub style: Style,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    Line,
    Bars,
    /// A band edge: a thin dashed line.
    Edge,
}

#[derive(Clone, Debug, Serialize)]
pub struct Heatmap {
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    /// `cells[row][column]`.
    pub cells: Vec<Vec<u64>>,
}

/// A table; a cell may link to an anchor of the report or carry one.
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    pub columns: Vec<String>,
    /// Right-aligned (numeric) columns.
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Cell {
    pub text: String,
    /// `#anchor` to link to.
    pub link: Option<String>,
    /// This cell's row is the target `id`.
    pub anchor: Option<String>,
    /// Marked (a new space, a high severity).
    pub mark: bool,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell { text: s.into(), ..Cell::default() }
    }
}

/// Where the report's numbers come from.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Custody {
    pub store: String,
    pub window: String,
    pub version: String,
    pub command: String,
    /// (file, SHA-256 of the bytes read or empty, bytes read, lines).
    pub sources: Vec<(String, String, u64, u64)>,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\u{2028}' => out.push_str("&#8232;"),
            '\u{2029}' => out.push_str("&#8233;"),
            // Control characters have no business in a report; show them as a replacement.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// JSON that is safe inside `<script type="application/json">`: no `<`, `>` or `&` (so no
/// `</script>` or `<!--`), and no U+2028/U+2029.
pub fn script_json(v: &impl Serialize) -> String {
    let text = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn table_html(t: &Table, out: &mut String) {
    out.push_str("<table><thead><tr>");
    for (i, c) in t.columns.iter().enumerate() {
        let cls = if t.numeric.get(i).copied().unwrap_or(false) { " class=\"n\"" } else { "" };
        out.push_str(&format!("<th{cls}>{}</th>", escape(c)));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        let anchor = row.iter().find_map(|c| c.anchor.as_deref());
        match anchor {
            Some(a) => out.push_str(&format!("<tr id=\"{}\">", escape(a))),
            None => out.push_str("<tr>"),
        }
        for (i, c) in row.iter().enumerate() {
            let mut cls = Vec::new();
            if t.numeric.get(i).copied().unwrap_or(false) {
                cls.push("n");
            }
            if c.mark {
                cls.push("mark");
            }
            // Short cells (counts, times, names) stay on one line; long ones wrap.
            if c.text.chars().count() <= 24 {
                cls.push("s");
            }
            let cls = if cls.is_empty() { String::new() } else { format!(" class=\"{}\"", cls.join(" ")) };
            let text = escape(&c.text);
            match &c.link {
                Some(l) => out.push_str(&format!("<td{cls}><a href=\"{}\">{text}</a></td>", escape(l))),
                None => out.push_str(&format!("<td{cls}>{text}</td>")),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn day_text(secs: i64) -> String {
    let (day, hms) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    if hms == 0 {
        format_day(day)
    } else {
        format!("{} {:02}:00", format_day(day), hms / 3600)
    }
}

fn number(v: Option<f64>) -> String {
    match v {
        None => String::new(),
        Some(v) if v.fract() == 0.0 => format!("{}", v as i64),
        Some(v) => format!("{v:.1}"),
    }
}

/// The chart's numbers as a table: one row per x.
fn chart_table(c: &Chart) -> Table {
    let mut columns = vec!["time (UTC)".to_string()];
    columns.extend(c.series.iter().map(|s| s.label.clone()));
    let mut numeric = vec![false];
    numeric.extend(c.series.iter().map(|_| true));
    let rows =
        c.x.iter()
            .enumerate()
            .map(|(i, &x)| {
                let mut r = vec![Cell::text(day_text(x))];
                r.extend(c.series.iter().map(|s| Cell::text(number(s.values.get(i).copied().flatten()))));
                r
            })
            .collect();
    Table { columns, numeric, rows }
}

fn heatmap_html(h: &Heatmap, out: &mut String) {
    let max = h.cells.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    out.push_str("<table class=\"heat\"><thead><tr><th></th>");
    for c in &h.columns {
        out.push_str(&format!("<th>{}</th>", escape(c)));
    }
    out.push_str("</tr></thead><tbody>");
    for (r, row) in h.rows.iter().zip(&h.cells) {
        out.push_str(&format!("<tr><th>{}</th>", escape(r)));
        for (c, &n) in h.columns.iter().zip(row) {
            let a = if n == 0 { 0.0 } else { 0.12 + 0.88 * (n as f64 / max) };
            out.push_str(&format!(
                "<td style=\"background:rgba(192,57,43,{a:.2})\" title=\"{} {}:00: {n} reads\">{}</td>",
                escape(r),
                escape(c),
                if n == 0 { String::new() } else { n.to_string() }
            ));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2329;background:#f6f7f9}
header{background:#1d2b3a;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#c9d3dd}
main{padding:18px 28px;max-width:1200px}
.facts{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 14px}.fact{background:#fff;border:1px solid #dde2e7;border-radius:6px;padding:8px 12px;min-width:120px}
.fact b{display:block;font-size:18px}.fact span{color:#5b6670;font-size:12px}
section{background:#fff;border:1px solid #dde2e7;border-radius:6px;padding:12px 16px;margin:0 0 14px}
section h2{font-size:16px;margin:0 0 2px}section p.note{margin:0 0 8px;color:#5b6670}
table{border-collapse:collapse;font-size:12.5px;width:100%}th,td{padding:3px 6px;border-bottom:1px solid #eef0f2;text-align:left;vertical-align:top;}
th{background:#f1f3f5;white-space:nowrap}td.s{white-space:nowrap}td{overflow-wrap:anywhere}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.mark{font-weight:600;color:#b03a2e}
table.heat{width:auto}table.heat td{width:26px;height:20px;text-align:center;font-size:10.5px;border:1px solid #fff}
details{margin-top:6px}summary{cursor:pointer;color:#2c5d8a}
footer{padding:12px 28px 28px;color:#5b6670;font-size:12px}footer table{font-size:11.5px}
tr:target{background:#fff3c4}
"#;

/// Runs first, so that an error in any later script (uPlot's included) is recorded.
const ERRORS_JS: &str = r#"document.body.dataset.errors='';window.addEventListener('error',function(e){var b=document.body.dataset;b.errors=(b.errors?b.errors+' | ':'')+String(e.message);});"#;

/// The page's own script: draws every chart of `#report-data`, and records what it drew.
const APP_JS: &str = r#"
(function(){
  var data=JSON.parse(document.getElementById('report-data').textContent);
  var colors=['#2c5d8a','#c0392b','#7f8c8d','#7f8c8d','#27ae60'];
  document.querySelectorAll('[data-chart]').forEach(function(el){
    var c=data.charts[+el.dataset.chart];
    var series=[{}];
    c.series.forEach(function(s,i){
      var o={label:s.label,stroke:colors[i%colors.length],width:s.style==='edge'?1:2};
      if(s.style==='bars'){o.paths=uPlot.paths.bars({size:[0.8,40]});o.fill='rgba(44,93,138,0.35)';}
      if(s.style==='edge'){o.dash=[4,4];}
      series.push(o);
    });
    var opts={width:Math.min(1100,el.clientWidth||1100),height:260,series:series,
      axes:[{},{label:c.y_label}],scales:{x:{time:true}}};
    if(c.band){opts.bands=[{series:[c.band[1]+1,c.band[0]+1],fill:'rgba(127,140,141,0.15)'}];}
    var cols=[c.x].concat(c.series.map(function(s){return s.values;}));
    var u=new uPlot(opts,cols,el);
    el.dataset.points=String(u.data[0].length);
  });
  document.body.dataset.charts=String(document.querySelectorAll('[data-points]').length);
})();
"#;

/// The whole report as one HTML document.
pub fn render(r: &Report) -> String {
    let mut charts: Vec<&Chart> = Vec::new();
    let mut body = String::new();
    if !r.facts.is_empty() {
        body.push_str("<div class=\"facts\">");
        for (k, v) in &r.facts {
            body.push_str(&format!("<div class=\"fact\"><b>{}</b><span>{}</span></div>", escape(v), escape(k)));
        }
        body.push_str("</div>");
    }
    for s in &r.sections {
        body.push_str(&format!("<section><h2>{}</h2>", escape(&s.title)));
        if !s.note.is_empty() {
            body.push_str(&format!("<p class=\"note\">{}</p>", escape(&s.note)));
        }
        match &s.body {
            Body::Chart(c) => {
                body.push_str(&format!(
                    "<div class=\"chart\" data-chart=\"{}\" data-expect=\"{}\"></div>",
                    charts.len(),
                    c.x.len()
                ));
                charts.push(c);
                body.push_str("<details><summary>The numbers</summary>");
                table_html(&chart_table(c), &mut body);
                body.push_str("</details>");
            }
            Body::Heatmap(h) => heatmap_html(h, &mut body),
            Body::Table(t) => {
                if t.rows.is_empty() {
                    body.push_str("<p class=\"note\">None in this window.</p>");
                } else {
                    table_html(t, &mut body);
                }
            }
        }
        body.push_str("</section>");
    }
    let c = &r.custody;
    let mut footer = format!(
        "<p><b>Chain of custody.</b> Store {}; window {}; pagetrail {}; command <code>{}</code>.</p>",
        escape(&c.store),
        escape(&c.window),
        escape(&c.version),
        escape(&c.command)
    );
    if !c.sources.is_empty() {
        let t = Table {
            columns: ["source file", "SHA-256 of the bytes read", "bytes read", "lines"].map(String::from).to_vec(),
            numeric: vec![false, false, true, true],
            rows: c
                .sources
                .iter()
                .map(|(f, h, b, l)| {
                    vec![
                        Cell::text(f),
                        Cell::text(if h.is_empty() { "(not recorded)" } else { h }),
                        Cell::text(b.to_string()),
                        Cell::text(l.to_string()),
                    ]
                })
                .collect(),
        };
        table_html(&t, &mut footer);
    }
    footer.push_str(&format!(
        "<details><summary>Chart library licence (uPlot)</summary><pre>{}</pre></details>",
        escape(UPLOT_LICENSE)
    ));
    let data = script_json(&serde_json::json!({ "charts": charts }));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\
<title>{title}</title><style>{UPLOT_CSS}{STYLE}</style></head><body>\
<header><h1>{title}</h1><p>{subtitle}</p></header><main>{body}</main><footer>{footer}</footer>\
<script>{ERRORS_JS}</script><script type=\"application/json\" id=\"report-data\">{data}</script>\
<script>{UPLOT_JS}</script><script>{APP_JS}</script></body></html>\n",
        title = escape(&r.title),
        subtitle = escape(&r.subtitle),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(1)</script>\"'&\u{2028}</script><!--";

    fn report() -> Report {
        Report {
            title: format!("Reading of {HOSTILE}"),
            subtitle: HOSTILE.into(),
            facts: vec![(HOSTILE.into(), HOSTILE.into())],
            sections: vec![
                Section {
                    title: HOSTILE.into(),
                    note: HOSTILE.into(),
                    body: Body::Chart(Chart {
                        x: vec![0, 86_400],
                        series: vec![Series {
                            label: HOSTILE.into(),
                            values: vec![Some(1.0), None],
                            style: Style::Bars,
                        }],
                        band: None,
                        y_label: HOSTILE.into(),
                    }),
                },
                Section {
                    title: "t".into(),
                    note: String::new(),
                    body: Body::Table(Table {
                        columns: vec![HOSTILE.into()],
                        numeric: vec![false],
                        rows: vec![vec![Cell {
                            text: HOSTILE.into(),
                            link: Some(format!("#{HOSTILE}")),
                            anchor: None,
                            mark: true,
                        }]],
                    }),
                },
                Section {
                    title: "h".into(),
                    note: String::new(),
                    body: Body::Heatmap(Heatmap {
                        rows: vec![HOSTILE.into()],
                        columns: vec!["0".into()],
                        cells: vec![vec![3]],
                    }),
                },
            ],
            custody: Custody {
                store: HOSTILE.into(),
                window: HOSTILE.into(),
                version: "0".into(),
                command: HOSTILE.into(),
                sources: vec![(HOSTILE.into(), String::new(), 1, 2)],
            },
        }
    }

    #[test]
    fn hostile_text_never_becomes_markup() {
        let html = render(&report());
        // Exactly four script elements: the error recorder, the data, uPlot, and the page's own.
        assert_eq!(html.matches("<script").count(), 4, "no script element comes from the data");
        assert_eq!(html.matches("</script>").count(), 4);
        assert!(!html.contains("<!--"), "no comment opener from the data");
        assert!(!html.contains('\u{2028}'));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
        // Inside the data block, the hostile label is JSON with escaped brackets.
        let data = html.split("id=\"report-data\">").nth(1).unwrap().split("</script>").next().unwrap();
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["charts"][0]["series"][0]["label"], HOSTILE);
        assert!(data.contains("\\u003cscript\\u003e"));
    }

    #[test]
    fn every_chart_has_its_numbers_and_is_self_contained() {
        let html = render(&report());
        assert!(html.contains("data-chart=\"0\" data-expect=\"2\""));
        assert!(html.contains("<td class=\"s\">1970-01-01</td><td class=\"n s\">1</td>"));
        assert!(html.contains("<td class=\"s\">1970-01-02</td><td class=\"n s\"></td>"));
        assert!(html.contains("title=\"&lt;script&gt;"), "heat map cells say their count on hover");
        for remote in ["http://", "https://", "src=\"//", "@import"] {
            let outside_licence = html.replace("https://github.com/leeoniya/uPlot", "");
            assert!(!outside_licence.contains(&format!("<script src={remote}")), "{remote}");
        }
        assert!(!html.contains("<link "), "no external stylesheet");
        assert!(html.contains("default-src 'none'"), "the page may fetch nothing");
    }

    #[test]
    fn days_label_the_chart_tables() {
        assert_eq!(day_text(0), "1970-01-01");
        assert_eq!(day_text(20_514 * 86_400), "2026-03-02");
        assert_eq!(day_text(20_514 * 86_400 + 13 * 3600), "2026-03-02 13:00");
    }
}
