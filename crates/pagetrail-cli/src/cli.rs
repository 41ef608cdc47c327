//! Command-line arguments (clap derive): the names here are contract §4.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "pagetrail", version, about = "Who read how much in Confluence: ingest access logs, then ask.")]
pub struct Args {
    /// Store folder.
    #[arg(long, global = true, env = "PAGETRAIL_STORE", default_value = "./pagetrail-store")]
    pub store: PathBuf,
    /// Output format: table for people, json (stable) or csv for machines.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
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

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Load logs: files, directories (recursive), .gz, `-` for stdin.
    Ingest {
        /// Force a format instead of detecting it per file: tomcat-a, tomcat-b, tomcat-c,
        /// accesslogfilter, dc-audit, dc-audit-rest, cloud-audit, org-audit, jsonl.
        #[arg(long)]
        source_format: Option<String>,
        /// Server time zone (e.g. Europe/Berlin) for sources without offsets: AccessLogFilter lines.
        #[arg(long)]
        tz: Option<String>,
        /// The site's context path, e.g. /confluence (a leading /wiki is recognised by itself).
        #[arg(long, default_value = "")]
        context_path: String,
        /// Organization audit action names mapped to classes, one `key=action` a line (the
        /// action names are not documented; the defaults are a best guess). Added to the defaults.
        #[arg(long)]
        org_actions: Option<PathBuf>,
        /// Every file is final (an evidence copy, an export): take its last line even without a
        /// newline. Files not modified for a minute, gzip and stdin are final anyway.
        #[arg(long = "final")]
        final_files: bool,
        /// Lines per atomic batch (tests use small batches to crash between commits).
        #[arg(long, hide = true, default_value_t = 400_000)]
        batch_lines: usize,
        /// Seconds without a modification after which a file counts as final (tests).
        #[arg(long, hide = true, default_value_t = 60)]
        quiet_secs: u64,
        /// Files, folders (walked recursively) and `-` for stdin.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Load page metadata: CSV with page_id,space_key,title.
    Catalog { file: PathBuf },
    /// Load the user directory: CSV with username,user_key,account_id,display_name.
    Users { file: PathBuf },
    /// Lines that could not be parsed.
    Rejects {
        /// Only this source file (as it was named when ingested).
        #[arg(long)]
        file: Option<String>,
    },
    /// Who read the most.
    TopReaders {
        #[arg(long)]
        space: Option<String>,
        #[arg(long, value_enum, default_value_t = By::Pages)]
        by: By,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        time: Time,
    },
    /// Readers of a page or a space.
    WhoRead {
        #[arg(long, group = "target")]
        page: Option<u64>,
        #[arg(long, group = "target")]
        space: Option<String>,
        /// SPACE/Title
        #[arg(long, group = "target")]
        title: Option<String>,
        #[command(flatten)]
        time: Time,
    },
    /// One user's reading.
    User {
        user: String,
        #[command(flatten)]
        time: Time,
    },
    /// Raw events, in time order.
    Events {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        page: Option<u64>,
        #[arg(long)]
        space: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[command(flatten)]
        time: Time,
    },
    /// Alerts for Confluence collection behaviour (T1213.001), explained.
    Detect {
        /// Run only these detectors (repeatable); all by default.
        #[arg(long = "detector")]
        detectors: Vec<String>,
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
    /// What the store holds.
    Stats,
    /// Compact the store (smaller and faster after a bulk load).
    Compact,
    /// Generate realistic Confluence access logs (to stdout, or files in --out).
    Gen {
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value_t = 200)]
        users: u32,
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// First day, YYYY-MM-DD.
        #[arg(long, default_value = "2026-03-16")]
        start: String,
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
        #[arg(long, default_value = "data/demo")]
        dir: PathBuf,
        #[arg(long, default_value_t = 300)]
        users: u32,
        #[arg(long, default_value_t = 21)]
        days: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum By {
    Pages,
    Events,
    Bytes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GenVariant {
    A,
    B,
    C,
}
