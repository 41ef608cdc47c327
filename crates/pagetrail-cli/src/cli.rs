//! Command-line arguments (clap derive): the names here are contract §4.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "Examples:
  pagetrail ingest /var/atlassian/confluence/logs/      load a logs folder (again: adds only what is new)
  pagetrail catalog pages.csv                           page ids, spaces and titles
  pagetrail top-readers --last 90d --limit 20           who pulled the most pages last quarter
  pagetrail who-read --title \"OPS/AWS Keys\"             who read the page where the keys were
  pagetrail user jsmith --from 2026-03-01               everything this account read since March
  pagetrail events --user jsmith --action download --format json
  pagetrail detect --last 30d                           cases of collection behaviour, ranked and explained
  pagetrail report --user jsmith --last 90d --out jsmith.html   a report for people who do not run a CLI
  pagetrail export parquet /lake/wiki                   the events for Spark, Trino, DuckDB (see sql/)";

#[derive(Parser, Debug)]
#[command(
    name = "pagetrail",
    version,
    about = "Who read how much in Confluence: ingest access logs, then ask.",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Store folder.
    #[arg(long, global = true, env = "PAGETRAIL_STORE", default_value = "./pagetrail-store")]
    pub store: PathBuf,
    /// Output format: table for people, json (stable) or csv for machines; for `events` and
    /// `detect` also ecs (Elastic Common Schema NDJSON, for Elastic and Splunk), for `events`
    /// timesketch (its JSONL import).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// How sources are read, for `ingest` and `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadOpts {
    /// Force a format instead of detecting it per file: tomcat-a, tomcat-b, tomcat-c,
    /// accesslogfilter, dc-audit, dc-audit-rest, cloud-audit, org-audit, jsonl.
    #[arg(long)]
    pub source_format: Option<String>,
    /// Server time zone (e.g. Europe/Berlin) for sources without offsets: AccessLogFilter lines.
    #[arg(long)]
    pub tz: Option<String>,
    /// The site's context path, e.g. /confluence (a leading /wiki is recognised by itself).
    #[arg(long, default_value = "")]
    pub context_path: String,
    /// Organization audit action names mapped to classes, one `key=action` a line (the
    /// action names are not documented; the defaults are a best guess). Added to the defaults.
    #[arg(long)]
    pub org_actions: Option<PathBuf>,
    /// Lines per atomic batch (tests use small batches to crash between commits).
    #[arg(long, hide = true, default_value_t = 400_000)]
    pub batch_lines: usize,
    /// Seconds without a modification after which a file counts as final (tests).
    #[arg(long, hide = true, default_value_t = 60)]
    pub quiet_secs: u64,
}

/// `--format` as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people (hostile text escaped).
    Table,
    /// The stable machine form (contract §4).
    Json,
    /// RFC 4180, spreadsheet-safe.
    Csv,
    /// `events` and `detect` only: Elastic Common Schema, one document a line (cases and alerts for detect).
    Ecs,
    /// `events` only: Timesketch's JSONL (message, datetime, timestamp_desc).
    Timesketch,
}

/// The shape every answer has; `events` alone has more (see [`OutputFormat`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(ClapArgs, Debug, Clone, Default)]
pub struct Time {
    /// Start, inclusive: YYYY-MM-DD (midnight UTC) or RFC 3339.
    #[arg(long)]
    pub from: Option<String>,
    /// End, exclusive: YYYY-MM-DD (midnight UTC) or RFC 3339.
    #[arg(long)]
    pub to: Option<String>,
    /// The last span ending now, e.g. 90d, 12h, 2w.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub last: Option<String>,
}

impl Time {
    /// The window's options as given (`--from 2026-03-01`), for a record of what was asked.
    pub fn given(&self) -> Vec<String> {
        [("--from", &self.from), ("--to", &self.to), ("--last", &self.last)]
            .into_iter()
            .filter_map(|(flag, v)| v.as_ref().map(|v| format!("{flag} {v}")))
            .collect()
    }
}

#[derive(Subcommand, Debug)]
pub enum ExportTo {
    /// Parquet for Spark, Trino, Athena, DuckDB: DIR/day=YYYY-MM-DD/part-N.parquet, zstd, rows
    /// sorted by (user, ts). Exporting again into DIR adds only events not exported before.
    Parquet {
        /// The export folder (created if missing).
        dir: PathBuf,
        /// Only this user's events.
        #[arg(long)]
        user: Option<String>,
        /// Only events of pages in this space.
        #[arg(long)]
        space: Option<String>,
        #[command(flatten)]
        time: Time,
    },
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Load logs: files, directories (recursive), .gz, `-` for stdin.
    Ingest {
        #[command(flatten)]
        read: ReadOpts,
        /// Every file is final (an evidence copy, an export): take its last line even without a
        /// newline. Files not modified for a minute, gzip and stdin are final anyway.
        #[arg(long = "final")]
        final_files: bool,
        /// Files, folders (walked recursively) and `-` for stdin.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Keep collecting: follow log folders and ingest new lines within seconds, through
    /// rotation and gzip, until SIGTERM. Queries may run meanwhile.
    Watch {
        #[command(flatten)]
        read: ReadOpts,
        /// How often to look at the files (e.g. 1s, 5s).
        #[arg(long, default_value = "1s")]
        poll: String,
        /// Re-run detect over the recent window this often (e.g. 15m) and append each new case
        /// and alert once, as JSON Lines, to --alerts.
        #[arg(long, value_name = "SPAN")]
        detect_every: Option<String>,
        /// The recent window `--detect-every` looks at.
        #[arg(long, default_value = "1d", value_name = "SPAN")]
        detect_window: String,
        /// Where new cases and alerts go: a file (appended) or `-` for stdout.
        #[arg(long, default_value = "-")]
        alerts: PathBuf,
        /// TOML: detect's sections (see `detect --print-config`) and `[retention] keep = "3y"`.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Stop after this long (soak runs and tests); without it, run until SIGTERM.
        #[arg(long, hide = true, value_name = "SPAN")]
        stop_after: Option<String>,
        /// Folders (walked for log files) and files to follow.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Load page metadata: CSV with page_id,space_key,title.
    Catalog {
        /// The CSV file.
        file: PathBuf,
    },
    /// Load the user directory: CSV with username,user_key,account_id,display_name.
    Users {
        /// The CSV file.
        file: PathBuf,
    },
    /// Lines that could not be parsed.
    Rejects {
        /// Only this source file (as it was named when ingested).
        #[arg(long)]
        file: Option<String>,
    },
    /// Who read the most.
    TopReaders {
        /// Only reads of pages in this space (its key, e.g. ENG).
        #[arg(long)]
        space: Option<String>,
        /// Rank by distinct pages, by reads (events) or by response bytes.
        #[arg(long, value_enum, default_value_t = By::Pages)]
        by: By,
        /// How many readers to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        time: Time,
    },
    /// Readers of a page or a space.
    WhoRead {
        /// The page's content id (a page named by title in the logs counts once the catalog or
        /// a log link gives its id).
        #[arg(long, group = "target")]
        page: Option<u64>,
        /// Every page of this space (its key).
        #[arg(long, group = "target")]
        space: Option<String>,
        /// A page by SPACE/Title, e.g. "OPS/AWS Keys".
        #[arg(long, group = "target")]
        title: Option<String>,
        #[command(flatten)]
        time: Time,
    },
    /// One user's reading.
    User {
        /// The username (a user key or account id of the user directory also works).
        user: String,
        #[command(flatten)]
        time: Time,
    },
    /// Raw events, in time order.
    Events {
        /// Only this user's events.
        #[arg(long)]
        user: Option<String>,
        /// Only events of this page (by content id, whatever URL named it).
        #[arg(long)]
        page: Option<u64>,
        /// Only events of pages in this space, or naming it.
        #[arg(long)]
        space: Option<String>,
        /// Only this class: view, api_read, api_list, download, export, space_export, search,
        /// auth, admin or other.
        #[arg(long)]
        action: Option<String>,
        #[command(flatten)]
        time: Time,
    },
    /// Cases of Confluence collection behaviour (T1213.001), ranked by risk and explained.
    Detect {
        /// Show every alert instead of the cases (JSON always has both).
        #[arg(long)]
        alerts: bool,
        /// Run only these detectors (repeatable); all by default.
        #[arg(long = "detector", value_name = "NAME")]
        detectors: Vec<pagetrail_detect::Detector>,
        /// TOML file of thresholds, windows and allow-lists (see --print-config).
        #[arg(long)]
        config: Option<PathBuf>,
        /// File of privileged usernames, one per line (more are learned from /admin/ requests).
        #[arg(long)]
        admins: Option<PathBuf>,
        /// Print the default configuration and exit.
        #[arg(long)]
        print_config: bool,
        /// Rescan raw events for the baselines' history instead of reading the daily digests
        /// (slower, same alerts: a check of the digests).
        #[arg(long)]
        raw_history: bool,
        #[command(flatten)]
        time: Time,
    },
    /// An investigation report: one self-contained HTML file (charts, tables, chain of custody)
    /// about a person, a page, a space, or (with none) the whole site.
    Report {
        /// The person.
        #[arg(long, conflicts_with_all = ["page", "space"])]
        user: Option<String>,
        /// The page (Confluence content id).
        #[arg(long, conflicts_with = "space")]
        page: Option<u64>,
        /// The space key.
        #[arg(long)]
        space: Option<String>,
        /// The HTML file to write.
        #[arg(long)]
        out: PathBuf,
        /// Leave out cases and alerts (detect over a year of a large site takes under a minute).
        #[arg(long)]
        no_detect: bool,
        #[command(flatten)]
        time: Time,
    },
    /// Hand the events to a data lake (see sql/ for the questions in the lake's SQL).
    Export {
        #[command(subcommand)]
        to: ExportTo,
    },
    /// What the store holds.
    Stats,
    /// The source files ingested, with the SHA-256 of the bytes read from each (chain of custody).
    Sources,
    /// Check files against what was ingested from them, or (with no file) the store against its
    /// hash chain; exit 0 when everything matches.
    Verify {
        /// The files (gzip is checked decompressed, as it was ingested). None: check the chain.
        files: Vec<PathBuf>,
        /// A chain head logged earlier (by `watch`, or a previous `verify`): the chain must still
        /// contain it, which catches the removal of the newest batches.
        #[arg(long, value_name = "HEX")]
        head: Option<String>,
    },
    /// Remove history for retention (--before) or an erasure request (--user): events, index
    /// entries, digests and rejects, recorded as a link of the hash chain; then compact.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["before", "user"])))]
    Purge {
        /// Remove everything before this UTC day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        before: Option<String>,
        /// Remove one person, under every name the user directory gives them.
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Why (recorded in the chain, e.g. "retention 3y" or "erasure request 2026-114").
        #[arg(long)]
        reason: String,
    },
    /// Compact the store (smaller and faster after a bulk load).
    Compact,
    /// Generate realistic Confluence access logs (to stdout, or files in --out).
    Gen {
        /// Seed: the same seed gives the same bytes.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// People on the site.
        #[arg(long, default_value_t = 200)]
        users: u32,
        /// Days of traffic.
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// First day, YYYY-MM-DD.
        #[arg(long, default_value = "2026-03-16")]
        start: String,
        /// Access-log shape: A (shipped server.xml), B (X-Forwarded-For), C (Docker/Helm).
        #[arg(long, value_enum, default_value_t = GenVariant::A)]
        variant: GenVariant,
        /// Write one file per day here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the page catalog CSV here.
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Plant collection incidents (needs at least 21 days and 20 users).
        #[arg(long)]
        incidents: bool,
        /// Write the planted incidents' ground truth here (JSON Lines).
        #[arg(long, requires = "incidents")]
        truth: Option<PathBuf>,
    },
    /// Generate a small site into data/demo, ingest it into a fresh store and show answers.
    Demo {
        /// Where the generated logs and the store go (replaced on every run).
        #[arg(long, default_value = "data/demo")]
        dir: PathBuf,
        /// People on the generated site.
        #[arg(long, default_value_t = 300)]
        users: u32,
        /// Days of traffic.
        #[arg(long, default_value_t = 21)]
        days: u32,
    },
    /// Print a shell completion script, e.g. `pagetrail completions bash > /etc/bash_completion.d/pagetrail`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `pagetrail man > /usr/local/share/man/man1/pagetrail.1`.
    Man,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum By {
    /// Distinct pages read.
    Pages,
    /// Reads.
    Events,
    /// Response bytes of the reads.
    Bytes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GenVariant {
    A,
    B,
    C,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every option and argument of every command says what it is for.
    #[test]
    fn every_option_has_a_help_line() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if id != "help" && id != "version" && a.get_help().is_none() && !a.is_hide_set() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (no about)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Args::command(), "pagetrail", &mut missing);
        assert!(missing.is_empty(), "no help line: {missing:?}");
        let help = Args::command().render_long_help().to_string();
        assert!(help.contains("Examples:") && help.contains("pagetrail who-read --title"), "{help}");
    }
}
