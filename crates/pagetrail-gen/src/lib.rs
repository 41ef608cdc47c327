//! Seeded, fast generator of realistic Confluence Tomcat access logs (variants A, B and C).
//!
//! The output models a working wiki: thousands of users reading mostly in their home space with
//! Zipf-skewed page popularity, a working-day rhythm in Europe/Berlin time (the `%t` offset
//! follows the daylight-saving switch), the static and polling noise a browser produces around
//! every page view, searches, logins, admin pages, a REST integration account, downloads,
//! exports, anonymous readers, 403/404/304 answers, IPv6 and hostname clients, escaped user
//! agents, malformed requests and a few torn lines. Every URL shape of the contract's action
//! table appears (the first day carries one line of each, so even short runs cover them).
//!
//! The same [`GenConfig`] always gives byte-identical output: the generator uses its own
//! xoshiro256++ streams and never iterates a hash map into the output.
//!
//! With [`GenConfig::incidents`] set, seven planted incidents (a night-time REST scrape, a slow
//! insider, an admin browsing many spaces, an export burst, a credential search, denied probing
//! and a dormant account waking up) are merged into the traffic; [`incidents`] returns their
//! ground truth and [`write_ground_truth`] writes it as JSON Lines. Everything else in the output
//! stays byte-identical to a run without incidents, except that the dormant account is silent.
//!
//! ```
//! use pagetrail_gen::{generate, site, write_catalog, GenConfig, Variant};
//!
//! let cfg = GenConfig { users: 20, days: 2, variant: Variant::C, ..GenConfig::default() };
//! let mut log = Vec::new();
//! let summary = generate(&cfg, &mut log).unwrap();
//! assert_eq!(summary.bytes, log.len() as u64);
//!
//! let mut csv = Vec::new();
//! write_catalog(&site(&cfg), &mut csv).unwrap();
//! assert!(csv.starts_with(b"page_id,space_key,title\n"));
//! ```

mod incident;
mod render;
mod rng;
mod site;
mod tables;
mod time;
mod traffic;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub use incident::{
    incidents, read_ground_truth, write_ground_truth, Incident, MIN_DAYS as INCIDENT_MIN_DAYS,
    MIN_USERS as INCIDENT_MIN_USERS,
};
pub use site::{site, write_catalog, Page, Site};

use incident::Planter;
use render::{Renderer, Tear};
use rng::Rng;
use site::Model;

/// Tomcat access-log shapes (confluence-logs.md §1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Shipped `server.xml`: `%t %{X-AUSERNAME}o %I %h %r %s %Dms %b %{Referer}i %{User-Agent}i`.
    #[default]
    A,
    /// A with `%{X-Forwarded-For}i` after `%t`; `%h` is then the proxy.
    B,
    /// Docker/Helm: `%h %{X-AUSERNAME}o %t "%r" %s %b %D %U %I "%{User-Agent}i"`.
    C,
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct GenConfig {
    pub seed: u64,
    /// Named accounts, including `admin` and `svc-integration` (at least 4 are made).
    pub users: u32,
    /// Number of spaces; 0 means `users / 25`, at least 5.
    pub spaces: u32,
    /// Number of pages; 0 means `users * 10`.
    pub pages: u32,
    /// Number of consecutive server-local days.
    pub days: u32,
    /// First day (year, month, day), server-local.
    pub start: (i32, u32, u32),
    pub variant: Variant,
    /// `""` or e.g. `"/confluence"`; prefixed to every path and referer.
    pub context_path: String,
    /// Emit a few torn (truncated) lines.
    pub torn_lines: bool,
    /// Mean page views per active user per working day.
    pub reads_per_user_day: f64,
    /// Plant the incidents of [`incidents`] (needs `days >= 21` and `users >= 20`, else nothing).
    pub incidents: bool,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 42,
            users: 200,
            spaces: 0,
            pages: 0,
            days: 14,
            start: (2026, 3, 16),
            variant: Variant::A,
            context_path: String::new(),
            torn_lines: true,
            reads_per_user_day: 12.0,
            incidents: false,
        }
    }
}

impl GenConfig {
    pub(crate) fn spaces_or_default(&self) -> u32 {
        if self.spaces == 0 {
            (self.users / 25).max(5)
        } else {
            self.spaces
        }
    }

    pub(crate) fn pages_or_default(&self) -> u32 {
        if self.pages == 0 {
            self.users.max(4).saturating_mul(10)
        } else {
            self.pages
        }
    }

    /// Log file name Tomcat gives the day `(y, m, d)` in this variant.
    pub fn file_name(&self, (y, m, d): (i32, u32, u32)) -> String {
        let prefix = if self.variant == Variant::C { "confluence_access" } else { "conf_access_log" };
        format!("{prefix}.{y:04}-{m:02}-{d:02}.log")
    }
}

/// What was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenSummary {
    /// Lines written, torn ones included.
    pub lines: u64,
    pub bytes: u64,
    /// Lines cut short.
    pub torn: u64,
}

/// Streams all days, in time order, to one writer (used as `pagetrail gen | pagetrail ingest -`).
///
/// Equals the concatenation of [`generate_files`]' files, except that a stream of more than 1000
/// lines whose days are all shorter still gets one torn line on its last day.
pub fn generate(cfg: &GenConfig, out: &mut dyn Write) -> io::Result<GenSummary> {
    let model = Model::build(cfg);
    let mut renderer = Renderer::new(&model, cfg.variant, &cfg.context_path);
    let mut planter = Planter::new(cfg, &model);
    let mut sum = GenSummary::default();
    // Normal lines only, so tearing does not depend on whether incidents are planted.
    let mut normal = 0;
    for d in 0..cfg.days {
        let day = traffic::build_day(cfg, &model, d);
        let n = day.recs.len() as u64;
        let last = d + 1 == cfg.days;
        let force = n > 1000 || (last && sum.torn == 0 && normal + n > 1000);
        normal += n;
        let (day, tears) = planter.apply(d, day, tears(cfg, d, n, force));
        renderer.write_day(&day, &tears, out, &mut sum)?;
    }
    out.flush()?;
    Ok(sum)
}

/// Writes one file per server-local day into `dir` (created if missing):
/// `conf_access_log.YYYY-MM-DD.log` (variants A, B) or `confluence_access.YYYY-MM-DD.log` (C).
pub fn generate_files(cfg: &GenConfig, dir: &Path) -> io::Result<(Vec<PathBuf>, GenSummary)> {
    std::fs::create_dir_all(dir)?;
    let model = Model::build(cfg);
    let mut renderer = Renderer::new(&model, cfg.variant, &cfg.context_path);
    let mut planter = Planter::new(cfg, &model);
    let mut sum = GenSummary::default();
    let first = time::days_from_civil(cfg.start.0, cfg.start.1, cfg.start.2);
    let mut paths = Vec::with_capacity(cfg.days as usize);
    for d in 0..cfg.days {
        let day = traffic::build_day(cfg, &model, d);
        let n = day.recs.len() as u64;
        let path = dir.join(cfg.file_name(time::civil_from_days(first + d as i64)));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        let (day, tears) = planter.apply(d, day, tears(cfg, d, n, n > 1000));
        renderer.write_day(&day, &tears, &mut out, &mut sum)?;
        out.flush()?;
        paths.push(path);
    }
    Ok((paths, sum))
}

/// Which lines of a day to tear: about 1 in 200,000, at least one when `force`.
fn tears(cfg: &GenConfig, d: u32, n: u64, force: bool) -> Vec<Tear> {
    if !cfg.torn_lines || n == 0 {
        return Vec::new();
    }
    // Its own stream, so switching torn lines on or off changes nothing else.
    let mut rng = Rng::new(cfg.seed, 0x7000_0000 + d as u64);
    let mut k = rng.poisson(n as f64 / 200_000.0);
    if k == 0 && force {
        k = 1;
    }
    let n = n.min(u32::MAX as u64) as u32;
    let mut v: Vec<Tear> = (0..k).map(|_| Tear { line: rng.below(n), permille: rng.range(200, 800) }).collect();
    v.sort_by_key(|t| t.line);
    v.dedup_by_key(|t| t.line);
    v
}
