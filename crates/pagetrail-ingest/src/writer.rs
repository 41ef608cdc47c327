//! The single writer: reads sources line by line and commits atomic batches.

use std::collections::HashMap;

use pagetrail_core::event::fold_user;
use pagetrail_core::sources::{self, ParseOptions, SourceEvent, SourceFormat};
use pagetrail_core::time::{day_of, month_of_day, month_start_day, DAY_MS};
use pagetrail_core::{classify, is_read, parse_line, Action, ContextPath, PageRef, Variant};
use pagetrail_index::digest::{self, DayDigest, DigestEvent};
use pagetrail_index::keys::{entity_key, entity_user_key, Grain};
use pagetrail_index::pages::PageModel;
use pagetrail_index::readers::{self, Readers};
use pagetrail_index::{bitmap, Counters};
use pagetrail_store::audit::AuditDownload;
use pagetrail_store::chain::{self, GroupHasher, Link};
use pagetrail_store::dict::{page_ref_bytes, Interner};
use pagetrail_store::files::{hash, HEAD_LEN};
use pagetrail_store::meta::{load_batch_seq, save_batch_seq};
use pagetrail_store::{events, rejects, Batch, Cf, Dict, DictKind, EventRow, FileRecord, Group, Store, Totals};
use roaring::RoaringBitmap;
use sha2::{Digest, Sha256};

use crate::input::read_full;
use crate::pages::{backfill, load_dirty, load_model, rebuild_dirty, save_dirty};
use crate::{IngestError, Result, Source};

/// The shape of a source file: a Tomcat access log, or another Confluence source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Tomcat(Variant),
    Source(SourceFormat),
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Tomcat(v) => v.name(),
            Format::Source(f) => f.name(),
        }
    }

    /// `tomcat-a`, `tomcat-b`, `tomcat-c`, `accesslogfilter`, `dc-audit`, `dc-audit-rest`,
    /// `cloud-audit`, `org-audit` or `jsonl`.
    pub fn from_name(s: &str) -> Option<Format> {
        Variant::from_name(s).map(Format::Tomcat).or_else(|| SourceFormat::from_name(s).map(Format::Source))
    }

    /// JSON exports may be whole-file arrays or pretty-printed pages rather than one record a line.
    fn is_json(self) -> bool {
        matches!(self, Format::Source(f) if f != SourceFormat::AccessLogFilter)
    }
}

/// How to read sources.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Skips detection: every file is read in this shape.
    pub format: Option<Format>,
    pub context_path: ContextPath,
    /// Lines per atomic batch.
    pub batch_lines: usize,
    /// What non-Tomcat parsers need: the server zone (`--tz`) and the org-audit action map.
    pub parse: ParseOptions,
    /// Every file is final (`--final`): its last line is taken even without a newline.
    pub final_files: bool,
    /// A file not modified for this long is final too: nothing writes it any more.
    pub quiet_after: std::time::Duration,
    /// Bytes of request, referer and extra names to remember per generation (two are kept);
    /// `None` remembers all. A long-running collector needs a bound, or it grows with every
    /// new logged request; a bulk ingest keeps all, so each text has one id.
    pub remember_names: Option<usize>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            format: None,
            context_path: ContextPath::default(),
            batch_lines: 400_000,
            parse: ParseOptions::default(),
            final_files: false,
            quiet_after: std::time::Duration::from_secs(60),
            remember_names: None,
        }
    }
}

/// Totals of one run: the JSON summary of contract §4 (without `seconds`, which the CLI adds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: u64,
    pub lines: u64,
    pub events: u64,
    pub reads: u64,
    pub noise: u64,
    pub rejected: u64,
    pub duplicates: u64,
    /// Files of a folder walk in no known format, passed over.
    pub skipped: u64,
}

/// What happened to one source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileOutcome {
    pub name: String,
    pub format: String,
    /// New lines read (accepted, noise or rejected).
    pub lines: u64,
    /// Lines skipped because they were ingested before.
    pub duplicates: u64,
    /// The file ends in a line without a newline, left for the next run (it may still be written).
    pub partial_tail: bool,
    /// A file of a folder walk in no known format: nothing was read.
    pub skipped: bool,
    /// A gzip copy that ends early: what decoded is in, the cut is a reject.
    pub truncated: bool,
}

/// Progress of the current source, for a progress display.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Content bytes consumed (decompressed for gzip).
    pub bytes: u64,
    pub lines: u64,
    /// Bytes of the file itself read so far (compressed for gzip): counts towards its size.
    pub raw_bytes: u64,
}

/// SHA-256 of a source's content prefix, fed as the reading loop lets bytes go (chain of
/// custody: `verify` later hashes the same prefix of the evidence file).
#[derive(Default)]
struct PrefixHash {
    sha: Sha256,
    /// Content offset hashed so far.
    upto: u64,
}

impl PrefixHash {
    /// Hashes `buf[..end]` (where `buf[0]` is content offset `base`) from where it stopped.
    fn feed(&mut self, buf: &[u8], base: u64, end: usize) {
        let from = (self.upto - base) as usize;
        if from < end {
            self.sha.update(&buf[from..end]);
            self.upto = base + end as u64;
        }
    }

    /// The hash state after content `0..base + end`.
    fn state_at(&self, buf: &[u8], base: u64, end: usize) -> Sha256 {
        let mut sha = self.sha.clone();
        let from = (self.upto - base) as usize;
        if from < end {
            sha.update(&buf[from..end]);
        }
        sha
    }

    /// The hash of content `0..base + end`.
    fn at(&self, buf: &[u8], base: u64, end: usize) -> [u8; 32] {
        self.state_at(buf, base, end).finalize().into()
    }
}

/// Where the reading of one source stands, line by line.
struct LineAt {
    /// The `File` id the previous run stored this content under, and the current one.
    prev_file: u32,
    file: u32,
    /// The last line taken.
    line: u64,
    /// The next bytes are the rest of a line the previous run took as final.
    continues: bool,
    /// A truncation note of the previous run, void once more content arrives.
    stale_cut: Option<u64>,
    format: Format,
    ctx: ContextPath,
    popts: ParseOptions,
}

/// One read, waiting for the page model to resolve before it is indexed.
pub(crate) struct ReadFact {
    pub user: u32,
    pub page: u32,
    pub ts_ms: i64,
    pub bytes: u64,
}

/// The writer's dictionaries: users and files are also looked up by name; the rest are only
/// added to.
pub(crate) struct Dicts {
    pub(crate) users: Dict,
    spaces: Interner,
    pages: Interner,
    agents: Interner,
    addrs: Interner,
    requests: Interner,
    referers: Interner,
    methods: Interner,
    files: Dict,
    extras: Interner,
}

pub struct Ingester<'s> {
    pub(crate) store: &'s Store,
    opts: IngestOptions,
    pub(crate) dicts: Dicts,
    pub(crate) model: PageModel,
    pub(crate) totals: Totals,
    pub(crate) batch_seq: u32,
    registry: Vec<FileRecord>,
    summary: Summary,
    // The batch being built.
    batch: Batch<'s>,
    groups: HashMap<(u32, i64), Vec<EventRow>>,
    reads: Vec<ReadFact>,
    pending_lines: usize,
    pending_rejects: u32,
    scratch: Vec<u8>,
    /// The chain's head after the last commit, and the commits not yet taken by `take_commits`.
    pub(crate) chain_head: chain::Hash,
    pub(crate) commits: Vec<Committed>,
    /// Plain files this ingester checkpointed, by record key: the offset and the SHA-256 state
    /// there, so the next look at a growing file reads only what is new (`watch`).
    resume: HashMap<Vec<u8>, (u64, Sha256)>,
}

/// One committed batch: its number and the chain head it led to (what `watch` logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    pub seq: u32,
    pub head: chain::Hash,
}

const CHUNK: usize = 8 << 20;

/// The reason of the reject that marks where a truncated gzip copy ends.
pub const CUT_REASON: &str = "gzip data ends early (an interrupted copy?); nothing after this point was read";
/// The reason of the reject that keeps the rest of a line first taken as final.
pub const CONTINUED_REASON: &str =
    "rest of a line that was ingested as the file's last line before the file grew; the event keeps the first part";

/// Reads until `buf` is full or the input ends; a gzip decoding error ends the content instead of failing, and is
/// noted in `truncated` (the caller records it).
fn read_gz(
    r: &mut dyn std::io::Read,
    buf: &mut [u8],
    gzip: bool,
    truncated: &mut Option<String>,
) -> std::io::Result<usize> {
    if truncated.is_some() {
        return Ok(0);
    }
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if gzip => {
                *truncated = Some(e.to_string());
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<'s> Ingester<'s> {
    /// Loads dictionaries, page model, totals and file registry; finishes any space rebuild a
    /// crash interrupted.
    pub fn new(store: &'s Store, opts: IngestOptions) -> Result<Self> {
        let load = |k| Interner::load(store, k, opts.remember_names);
        let dicts = Dicts {
            users: Dict::load(store, DictKind::User)?,
            spaces: load(DictKind::Space)?,
            pages: load(DictKind::Page)?,
            agents: load(DictKind::Agent)?,
            addrs: load(DictKind::Addr)?,
            requests: load(DictKind::Request)?,
            referers: load(DictKind::Referer)?,
            methods: load(DictKind::Method)?,
            files: Dict::load(store, DictKind::File)?,
            extras: load(DictKind::Extra)?,
        };
        let mut model = load_model(store)?;
        model.ensure(dicts.pages.len() as u32);
        rebuild_dirty(store, &model, load_dirty(store)?)?;
        Ok(Ingester {
            store,
            opts,
            dicts,
            model,
            totals: Totals::load(store)?,
            batch_seq: load_batch_seq(store)?,
            registry: pagetrail_store::files::load_all(store)?,
            summary: Summary::default(),
            batch: store.batch(),
            groups: HashMap::new(),
            reads: Vec::new(),
            pending_lines: 0,
            pending_rejects: 0,
            scratch: Vec::new(),
            chain_head: chain::head(store)?,
            commits: Vec::new(),
            resume: HashMap::new(),
        })
    }

    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// Counts over everything the store holds, as of the last commit.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Bytes the dictionaries hold in memory, roughly (what `watch` reports with its memory).
    pub fn names_held(&self) -> usize {
        let d = &self.dicts;
        let interned = [&d.spaces, &d.pages, &d.agents, &d.addrs, &d.requests, &d.referers, &d.methods, &d.extras];
        d.users.held_bytes() + d.files.held_bytes() + interned.iter().map(|i| i.remembered().1).sum::<usize>()
    }

    /// The batches committed since the last call, oldest first.
    pub fn take_commits(&mut self) -> Vec<Committed> {
        std::mem::take(&mut self.commits)
    }

    /// Refuses a rewrite of stored groups (a purge, a consolidation) when the chain no longer
    /// matches the store: the rewrite's link would record the tampered groups as the truth.
    pub(crate) fn ensure_chain_intact(&self) -> Result<()> {
        match chain::verify(self.store, None)?.problem {
            Some(p) => Err(IngestError::Tampered(self.store.path().to_owned(), p.what)),
            None => Ok(()),
        }
    }

    /// Commits `batch` as the next batch, with `link` (numbered `batch_seq + 1`) chained after
    /// the current head: every commit that writes events, and every rewrite of them.
    pub(crate) fn commit_with_link(&mut self, mut batch: Batch<'s>, link: &Link) -> Result<Committed> {
        debug_assert_eq!(link.seq(), self.batch_seq + 1);
        let head = chain::append(&mut batch, &self.chain_head, link);
        save_batch_seq(&mut batch, link.seq());
        self.store.commit(batch)?;
        let c = Committed { seq: link.seq(), head };
        (self.batch_seq, self.chain_head) = (c.seq, c.head);
        self.commits.push(c);
        Ok(c)
    }

    /// The last committed batch and the chain head after it.
    pub fn chain_head(&self) -> Committed {
        Committed { seq: self.batch_seq, head: self.chain_head }
    }

    /// Commits what is pending and makes the store durable.
    pub fn finish(mut self) -> Result<Summary> {
        self.commit(None)?;
        self.store.sync()?;
        self.store.flush()?;
        Ok(self.summary)
    }

    fn find_record(&self, buf: &[u8]) -> Option<usize> {
        find_record(&self.registry, buf)
    }

    /// The name lines of this source are stored under. New content under a name that other
    /// content was read under before (a log rotated by renaming it, then written anew) gets
    /// `name #2`, `#3`, ...: lines are numbered per content, so sharing the name would make
    /// two lines one source and let a reject overwrite another's.
    fn source_name(&self, src: &Source, new_content: bool) -> String {
        let name = src.name();
        let Some(id) = self.dicts.files.get(name.as_bytes()).filter(|_| new_content) else { return name };
        if !self.registry.iter().any(|r| r.last_file == id || (r.last_file == 0 && r.name == name)) {
            return name;
        }
        (2u32..).map(|n| format!("{name} #{n}")).find(|n| self.dicts.files.get(n.as_bytes()).is_none()).unwrap_or(name)
    }

    /// The prefix hash state to continue a plain, line-based file from, when this ingester
    /// checkpointed the content that starts with `head` where its record now stands.
    fn resumable(&self, head: &[u8], unseekable: bool) -> Option<Sha256> {
        if unseekable || head.len() < HEAD_LEN {
            return None;
        }
        // Only the line loop keeps a state (a whole-file JSON export is read whole each time).
        let rec = &self.registry[self.find_record(head)?];
        let (offset, state) = self.resume.get(&rec.key())?;
        (*offset == rec.offset && rec.offset > HEAD_LEN as u64).then(|| state.clone())
    }

    fn keep_resume(&mut self, rec: &FileRecord, state: Sha256, gzip: bool) {
        if !gzip {
            self.resume.insert(rec.key(), (rec.offset, state));
        }
    }

    /// Ingests one source: new content only, in atomic batches with the file's checkpoint.
    pub fn ingest(&mut self, src: &Source, progress: &mut dyn FnMut(Progress)) -> Result<FileOutcome> {
        let path = src.path();
        let io_err = |source| IngestError::Io { path: path.clone(), source };
        let opened = src.open()?;
        let (mut reader, gzip, raw_read) = (opened.reader, opened.gzip, opened.raw_read);
        let raw = || raw_read.load(std::sync::atomic::Ordering::Relaxed);
        // A file nothing writes any more is final: its last line is taken even without a newline.
        let final_content = opened.final_content || self.opts.final_files || src.quiet_for(self.opts.quiet_after);
        let mut buf = vec![0u8; CHUNK];
        let mut truncated = None;
        // The head first: it names the content, and a file this ingester checkpointed needs no more.
        let mut filled = read_gz(&mut *reader, &mut buf[..HEAD_LEN], gzip, &mut truncated).map_err(io_err)?;
        let resume = self.resumable(&buf[..filled], gzip || matches!(src, Source::Stdin));
        if resume.is_none() && filled == HEAD_LEN {
            filled += read_gz(&mut *reader, &mut buf[HEAD_LEN..], gzip, &mut truncated).map_err(io_err)?;
        }
        let mut outcome = FileOutcome { name: src.name(), ..Default::default() };
        if filled == 0 {
            if let Some(why) = truncated {
                // Nothing decoded: there is no content to key a record or a reject on.
                let msg = format!("gzip data ends before any content (an interrupted copy?): {why}");
                return Err(IngestError::Io {
                    path,
                    source: std::io::Error::new(std::io::ErrorKind::UnexpectedEof, msg),
                });
            }
            self.summary.files += 1;
            return Ok(outcome);
        }
        let known = self.find_record(&buf[..filled]);
        let mut rec = match known {
            Some(i) => self.registry[i].clone(),
            None => FileRecord {
                head_len: filled.min(HEAD_LEN) as u32,
                head_hash: hash(&buf[..filled.min(HEAD_LEN)]),
                offset: 0,
                lines: 0,
                tail_hash: hash(&[]),
                format: String::new(),
                context_path: self.opts.context_path.as_str().to_owned(),
                name: src.name(),
                last_file: 0,
                sha256: None,
                first_ingest_ms: 0,
                last_ingest_ms: 0,
                size: 0,
            },
        };
        let now = now_ms();
        if rec.first_ingest_ms == 0 {
            rec.first_ingest_ms = now;
        }
        rec.last_ingest_ms = now;
        rec.size = src.size().unwrap_or(0);
        let format = match (self.opts.format, Format::from_name(&rec.format)) {
            (Some(f), _) => f,
            (None, Some(f)) => f,
            (None, None) => match detect(&src.name(), &buf[..filled]) {
                Some(f) => f,
                // In a folder walk a file of no known format is passed over (the caller notes it).
                None if matches!(src, Source::Walked(_)) => {
                    self.summary.skipped += 1;
                    outcome.skipped = true;
                    return Ok(outcome);
                }
                None => return Err(IngestError::Unrecognized(path.clone())),
            },
        };
        self.summary.files += 1;
        rec.format = format.name().to_owned();
        outcome.format = rec.format.clone();
        let ctx = ContextPath::new(&rec.context_path);
        let popts = ParseOptions { context_path: ctx.clone(), ..self.opts.parse.clone() };
        let known_names = self.dicts.files.len();
        let file_id = self.dicts.files.intern(self.source_name(src, known.is_none()).as_bytes(), &mut self.batch);
        // The name the last run stored this content under (a copy may come under another name).
        let prev_file = match rec.last_file {
            0 => self.dicts.files.get(rec.name.as_bytes()).unwrap_or(file_id),
            f => f,
        };
        // This run's checkpoints are written under the current name.
        rec.last_file = file_id;
        if self.dicts.files.len() > known_names && !rec.context_path.is_empty() {
            // Shown events re-classify their stored path, which needs the file's context path.
            self.batch.put(Cf::Meta, &pagetrail_store::meta::context_key(file_id), rec.context_path.as_bytes());
        }

        if resume.is_none() && format.is_json() && whole_file_json(&buf[..filled]) {
            return self.ingest_json_file(
                src,
                reader,
                gzip,
                buf,
                filled,
                rec,
                known.is_none(),
                file_id,
                format,
                &popts,
                outcome,
            );
        }

        // Skip what an earlier run consumed, checking it is the same content.
        let mut base: u64 = 0; // content offset of buf[0]
        let mut pos: usize = 0;
        let mut prefix = PrefixHash::default();
        let start_offset = rec.offset;
        // The earlier run took a last line without a newline (the file looked final): what
        // follows now is the rest of that line, not a line of its own.
        let mut continues = false;
        if let Some(state) = resume {
            // Read on from the checkpoint: the tail before it is checked below, as always; the
            // prefix hash continues from the state kept at the checkpoint.
            let tail = HEAD_LEN as u64;
            let mut f = std::fs::File::open(&path).map_err(io_err)?;
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(rec.offset - tail)).map_err(io_err)?;
            filled = read_full(&mut f, &mut buf[..HEAD_LEN]).map_err(io_err)?;
            if filled < HEAD_LEN {
                return Err(IngestError::Rewritten {
                    path,
                    previous: rec.name,
                    offset: rec.offset - tail + filled as u64,
                });
            }
            reader = Box::new(f);
            base = rec.offset - tail;
            prefix = PrefixHash { sha: state, upto: rec.offset };
        }
        if rec.offset > 0 {
            let target = rec.offset;
            loop {
                if base + filled as u64 >= target {
                    pos = (target - base) as usize;
                    break;
                }
                // Keep HEAD_LEN bytes for the tail check, then read on.
                let keep = filled.min(HEAD_LEN);
                prefix.feed(&buf, base, filled - keep);
                buf.copy_within(filled - keep..filled, 0);
                base += (filled - keep) as u64;
                let n = read_gz(&mut *reader, &mut buf[keep..], gzip, &mut truncated).map_err(io_err)?;
                filled = keep + n;
                if n == 0 {
                    if truncated.is_some() {
                        // A truncated copy of a file ingested before from a longer copy: nothing new.
                        return Ok(outcome);
                    }
                    return Err(IngestError::Rewritten { path, previous: rec.name, offset: base + filled as u64 });
                }
            }
            let tail_from = pos.saturating_sub(HEAD_LEN.min(target as usize));
            let same_prefix = rec.sha256.is_none_or(|h| h == prefix.at(&buf, base, pos));
            if hash(&buf[tail_from..pos]) != rec.tail_hash || !same_prefix {
                return Err(IngestError::Rewritten { path, previous: rec.name, offset: target });
            }
            continues = pos > 0 && buf[pos - 1] != b'\n';
            outcome.duplicates = rec.lines;
            self.summary.duplicates += rec.lines;
        }
        let mut at = LineAt {
            prev_file,
            file: file_id,
            line: rec.lines,
            continues,
            // A truncation noted by an earlier run at the line after the last one is void once
            // more content arrives.
            stale_cut: (rec.offset > 0).then_some(rec.lines + 1),
            format,
            ctx: ctx.clone(),
            popts: popts.clone(),
        };
        loop {
            // Complete lines in buf[pos..filled].
            while let Some(nl) = memchr::memchr(b'\n', &buf[pos..filled]) {
                let end = pos + nl;
                self.next_line(&buf[pos..end], &mut at, &mut outcome)?;
                pos = end + 1;
                if self.pending_lines >= self.opts.batch_lines {
                    let state = prefix.state_at(&buf, base, pos);
                    rec.sha256 = Some(state.clone().finalize().into());
                    self.checkpoint(
                        &mut rec,
                        base + pos as u64,
                        at.line,
                        &buf[pos.saturating_sub(HEAD_LEN)..pos],
                        known.is_none(),
                    )?;
                    self.keep_resume(&rec, state, gzip);
                }
            }
            progress(Progress { bytes: base + pos as u64, lines: at.line, raw_bytes: raw() });
            // Refill, keeping the last consumed bytes (tail check) and the partial line.
            let keep_from = pos.saturating_sub(HEAD_LEN);
            prefix.feed(&buf, base, keep_from);
            buf.copy_within(keep_from..filled, 0);
            base += keep_from as u64;
            pos -= keep_from;
            filled -= keep_from;
            if filled == buf.len() {
                // A single line longer than the buffer: grow rather than split it.
                buf.resize(buf.len() * 2, 0);
            }
            let n = read_gz(&mut *reader, &mut buf[filled..], gzip, &mut truncated).map_err(io_err)?;
            filled += n;
            if n == 0 {
                break;
            }
        }
        let new_content = base + (filled as u64) > start_offset;
        if let Some(why) = truncated.as_ref().filter(|_| new_content) {
            // An interrupted copy: everything that decoded is in; the cut is a reject at the
            // line after the last whole one, with the cut-off bytes (if any) as its raw text.
            if let Some(l) = at.stale_cut.take() {
                self.drop_cut_note(prev_file, l)?;
            }
            let reason = format!("{CUT_REASON}: {why}");
            if pos < filled {
                at.line += 1;
                self.totals.lines += 1;
                self.summary.lines += 1;
                outcome.lines += 1;
                self.reject(file_id, at.line, &reason, &buf[pos..filled]);
                pos = filled;
            } else {
                self.reject(file_id, at.line + 1, &reason, b"");
            }
            outcome.truncated = true;
        } else if pos < filled {
            if final_content || truncated.is_some() {
                self.next_line(&buf[pos..filled], &mut at, &mut outcome)?;
                pos = filled;
            } else {
                outcome.partial_tail = true;
            }
        }
        let state = prefix.state_at(&buf, base, pos);
        rec.sha256 = Some(state.clone().finalize().into());
        self.checkpoint(
            &mut rec,
            base + pos as u64,
            at.line,
            &buf[pos.saturating_sub(HEAD_LEN)..pos],
            known.is_none(),
        )?;
        self.keep_resume(&rec, state, gzip);
        progress(Progress { bytes: base + pos as u64, lines: at.line, raw_bytes: raw() });
        Ok(outcome)
    }

    /// Takes one line (without its newline): the rest of the line an earlier run took as final,
    /// or the next line.
    fn next_line(&mut self, raw: &[u8], at: &mut LineAt, outcome: &mut FileOutcome) -> Result<()> {
        if let Some(l) = at.stale_cut.take() {
            self.drop_cut_note(at.prev_file, l)?;
        }
        if std::mem::take(&mut at.continues) {
            self.continuation(raw, at)?;
        } else {
            at.line += 1;
            self.line(raw, at.file, at.line, at.format, &at.ctx, &at.popts);
            outcome.lines += 1;
        }
        Ok(())
    }

    /// The rest of line `line`, which an earlier run took as a final line without a newline
    /// (stored under file name `prev`). A rejected first part is joined with it and the whole
    /// line parsed again; a first part that was accepted keeps its event, and the rest is kept
    /// as a reject: never a second event.
    fn continuation(&mut self, rest: &[u8], at: &LineAt) -> Result<()> {
        let (prev, file, line) = (at.prev_file, at.file, at.line);
        if line == 0 {
            return Ok(());
        }
        match pagetrail_store::rejects::get(self.store, prev, line)? {
            Some((_, first)) => {
                // `line` counts it again; it is the same line.
                self.batch.delete(Cf::Rejects, &rejects::key(prev, line));
                self.totals.rejected = self.totals.rejected.saturating_sub(1);
                self.totals.lines = self.totals.lines.saturating_sub(1);
                let mut whole = first;
                whole.extend_from_slice(rest);
                self.line(&whole, file, line, at.format, &at.ctx, &at.popts);
            }
            None => {
                self.pending_lines += 1;
                self.reject(file, line, CONTINUED_REASON, rest);
            }
        }
        Ok(())
    }

    /// Removes a truncation note at `line` left by an earlier run of a cut copy.
    fn drop_cut_note(&mut self, file: u32, line: u64) -> Result<()> {
        if let Some((reason, _)) = pagetrail_store::rejects::get(self.store, file, line)? {
            if reason.starts_with(CUT_REASON) {
                self.batch.delete(Cf::Rejects, &rejects::key(file, line));
                self.totals.rejected = self.totals.rejected.saturating_sub(1);
            }
        }
        Ok(())
    }

    /// Commits the pending batch together with the file's new position.
    fn checkpoint(&mut self, rec: &mut FileRecord, offset: u64, lines: u64, tail: &[u8], new_file: bool) -> Result<()> {
        rec.offset = offset;
        rec.lines = lines;
        rec.tail_hash = hash(&tail[tail.len().saturating_sub(offset.min(HEAD_LEN as u64) as usize)..]);
        // Nothing new since the stored checkpoint (a look at a file that has not grown): no
        // batch, so a collector that looks every second does not grow the chain every second.
        let unchanged = self
            .registry
            .iter()
            .any(|r| r.key() == rec.key() && r.offset == offset && r.lines == lines && r.last_file == rec.last_file);
        if unchanged && self.batch.is_empty() && self.groups.is_empty() && self.reads.is_empty() {
            return Ok(());
        }
        self.commit(Some(rec))?;
        match self.registry.iter_mut().find(|r| r.key() == rec.key()) {
            Some(r) => *r = rec.clone(),
            None => {
                debug_assert!(new_file);
                self.registry.push(rec.clone());
            }
        }
        Ok(())
    }

    fn reject(&mut self, file: u32, line: u64, reason: &str, raw: &[u8]) {
        self.batch.put(Cf::Rejects, &rejects::key(file, line), &rejects::encode(reason, raw));
        self.totals.rejected += 1;
        self.summary.rejected += 1;
        self.pending_rejects += 1;
    }

    #[allow(clippy::too_many_arguments)]
    fn line(&mut self, raw: &[u8], file: u32, line: u64, format: Format, ctx: &ContextPath, popts: &ParseOptions) {
        self.pending_lines += 1;
        self.totals.lines += 1;
        self.summary.lines += 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(text) = std::str::from_utf8(raw) else {
            return self.reject(file, line, "not valid UTF-8", raw);
        };
        let variant = match format {
            Format::Tomcat(v) => v,
            Format::Source(f) => {
                let audit = matches!(
                    f,
                    SourceFormat::DcAudit
                        | SourceFormat::DcAuditRest
                        | SourceFormat::CloudAudit
                        | SourceFormat::OrgAudit
                );
                return match sources::parse_line(f, text, popts) {
                    Ok(Some(ev)) => self.accept_source(ev, file, line, audit),
                    // Lines of the file that are not access events (other log lines, skipped audit kinds).
                    Ok(None) => {
                        self.totals.noise += 1;
                        self.summary.noise += 1;
                    }
                    Err(e) => self.reject(file, line, &e.to_string(), raw),
                };
            }
        };
        let rec = match parse_line(variant, text) {
            Ok(r) => r,
            Err(e) => return self.reject(file, line, &e.to_string(), raw),
        };
        let cls = classify(ctx, rec.method, rec.path, rec.query);
        if cls.action == Action::Noise {
            self.totals.noise += 1;
            self.summary.noise += 1;
            return;
        }
        let d = &mut self.dicts;
        let b = &mut self.batch;
        let ts = rec.ts_ms;
        let user = d.users.intern(fold_user(rec.user).as_bytes(), b);
        let space = cls.space.as_deref().map(|s| d.spaces.intern(s.as_bytes(), b));
        let page = cls.page_ref().map(|r| d.pages.intern(&page_ref_bytes(&r), b));
        if let Some(p) = page {
            self.model.ensure(p);
            if let Some(s) = space {
                self.model.note_url_space(p, s, ts);
            }
        }
        if let (Some((_, sk, title)), Some(target), Some(s)) = (cls.link(), page, space) {
            let titled = PageRef::Titled { space: sk.to_owned(), title: title.to_owned() };
            let t = d.pages.intern(&page_ref_bytes(&titled), b);
            self.model.note_url_space(t, s, ts);
            self.model.note_link(t, target, ts);
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(rec.path.as_bytes());
        self.scratch.push(0);
        self.scratch.extend_from_slice(rec.query.as_bytes());
        let row = EventRow {
            ts_ms: ts,
            action: cls.action,
            status: rec.status,
            bytes: rec.bytes,
            duration_ms: rec.duration_ms,
            page: page.unwrap_or(0),
            method: intern_opt(&mut d.methods, rec.method, b),
            request: d.requests.intern(&self.scratch, b),
            referer: intern_opt(&mut d.referers, rec.referer, b),
            addr: intern_opt(&mut d.addrs, rec.ip, b),
            agent: intern_opt(&mut d.agents, &rec.user_agent, b),
            file,
            line,
            extra: 0,
        };
        self.groups.entry((user, day_of(ts))).or_default().push(row);
        self.totals.events += 1;
        self.summary.events += 1;
        self.totals.first_ms = self.totals.first_ms.min(ts);
        self.totals.last_ms = self.totals.last_ms.max(ts);
        if let Some(p) = page.filter(|_| is_read(cls.action, rec.status, true)) {
            self.reads.push(ReadFact { user, page: p, ts_ms: ts, bytes: rec.bytes });
            self.totals.reads += 1;
            self.summary.reads += 1;
        }
    }

    /// Stores one event of a non-Tomcat source, the same way as an access-log line.
    fn accept_source(&mut self, ev: SourceEvent, file: u32, line: u64, audit: bool) {
        let d = &mut self.dicts;
        let b = &mut self.batch;
        let ts = ev.ts_ms;
        // Until a user directory maps them, keys and account ids stand as given (contract §5a).
        let user = d.users.intern(fold_user(ev.actor.as_str()).as_bytes(), b);
        let space = ev.space.as_deref().map(|s| d.spaces.intern(s.as_bytes(), b));
        let page_ref = ev.page_ref();
        let page = page_ref.as_ref().map(|r| d.pages.intern(&page_ref_bytes(r), b));
        if let Some(p) = page {
            self.model.ensure(p);
            if let Some(s) = space {
                self.model.note_url_space(p, s, ts);
            }
        }
        if let (Some(_), Some(s), Some(sk), Some(title), Some(target)) = (ev.page_id, space, &ev.space, &ev.title, page)
        {
            let t = d.pages.intern(&page_ref_bytes(&PageRef::Titled { space: sk.clone(), title: title.clone() }), b);
            self.model.note_url_space(t, s, ts);
            self.model.note_link(t, target, ts);
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(ev.path.as_bytes());
        self.scratch.push(0);
        self.scratch.extend_from_slice(ev.query.as_bytes());
        let extra = if ev.extra.is_empty() {
            0
        } else {
            let mut obj = String::from("{");
            for (i, (k, v)) in ev.extra.iter().enumerate() {
                if i > 0 {
                    obj.push(',');
                }
                obj.push_str(&json_string(k));
                obj.push(':');
                obj.push_str(&json_string(v));
            }
            obj.push('}');
            d.extras.intern(obj.as_bytes(), b)
        };
        let read = ev.is_read();
        let row = EventRow {
            ts_ms: ts,
            action: ev.action,
            status: ev.status,
            bytes: ev.bytes,
            duration_ms: ev.duration_ms,
            page: page.unwrap_or(0),
            method: intern_opt(&mut d.methods, &ev.method, b),
            request: d.requests.intern(&self.scratch, b),
            referer: intern_opt(&mut d.referers, &ev.referer, b),
            addr: intern_opt(&mut d.addrs, &ev.ip, b),
            agent: intern_opt(&mut d.agents, &ev.user_agent, b),
            file,
            line,
            extra,
        };
        self.groups.entry((user, day_of(ts))).or_default().push(row);
        self.totals.events += 1;
        self.summary.events += 1;
        self.totals.first_ms = self.totals.first_ms.min(ts);
        self.totals.last_ms = self.totals.last_ms.max(ts);
        if let Some(p) = page.filter(|_| read) {
            self.summary.reads += 1;
            if audit && ev.action == Action::Download {
                // Counted by readers unless the access log has the same download (audit.rs).
                let d = AuditDownload { ts_ms: ts, file, line, user, page: p, bytes: ev.bytes };
                pagetrail_store::audit::put(&mut self.batch, &d);
            } else {
                self.reads.push(ReadFact { user, page: p, ts_ms: ts, bytes: ev.bytes });
                self.totals.reads += 1;
            }
        }
    }

    /// A JSON export that is one array or page of records (not one record a line): read whole,
    /// records numbered from 1 as "lines"; a re-run skips the records already stored.
    #[allow(clippy::too_many_arguments)]
    fn ingest_json_file(
        &mut self,
        src: &Source,
        mut reader: Box<dyn std::io::Read + Send>,
        gzip: bool,
        mut buf: Vec<u8>,
        filled: usize,
        mut rec: FileRecord,
        new_file: bool,
        file_id: u32,
        format: Format,
        popts: &ParseOptions,
        mut outcome: FileOutcome,
    ) -> Result<FileOutcome> {
        let path = src.path();
        buf.truncate(filled);
        let mut truncated = None;
        loop {
            let at = buf.len();
            buf.resize(at + CHUNK, 0);
            let n = read_gz(&mut *reader, &mut buf[at..], gzip, &mut truncated)
                .map_err(|source| IngestError::Io { path: path.clone(), source })?;
            buf.truncate(at + n);
            if n == 0 {
                break;
            }
        }
        let text = String::from_utf8_lossy(&buf);
        let records = match (sources::split_page(&text), &truncated) {
            (Ok(r), _) => r,
            (Err(e), None) => {
                return Err(IngestError::Io {
                    path: path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
                })
            }
            // A cut copy of a whole-file export does not split: keep its decoded text whole.
            (Err(e), Some(why)) => {
                if rec.offset == 0 {
                    let reason = format!("{CUT_REASON}: {why}; the export ({e}) is kept here whole");
                    self.totals.lines += 1;
                    self.summary.lines += 1;
                    self.reject(file_id, 1, &reason, &buf);
                    outcome.lines = 1;
                    outcome.truncated = true;
                    rec.sha256 = Some(Sha256::digest(&buf).into());
                    self.checkpoint(&mut rec, buf.len() as u64, 1, &[], new_file)?;
                }
                return Ok(outcome);
            }
        };
        let done = rec.lines as usize;
        outcome.duplicates = done.min(records.len()) as u64;
        self.summary.duplicates += outcome.duplicates;
        let ctx = ContextPath::new(&rec.context_path);
        for (i, r) in records.iter().enumerate().skip(done) {
            self.line(r.as_bytes(), file_id, i as u64 + 1, format, &ctx, popts);
            outcome.lines += 1;
            if self.pending_lines >= self.opts.batch_lines {
                self.checkpoint(&mut rec, 0, i as u64 + 1, &[], new_file)?;
            }
        }
        if let Some(why) = truncated.as_ref().filter(|_| outcome.lines > 0) {
            self.reject(file_id, records.len() as u64 + 1, &format!("{CUT_REASON}: {why}"), b"");
            outcome.truncated = true;
        }
        // The offset marks a whole-file record as complete; its tail is not used.
        rec.sha256 = Some(Sha256::digest(&buf).into());
        self.checkpoint(&mut rec, buf.len() as u64, records.len() as u64, &[], new_file)?;
        Ok(outcome)
    }

    /// Resolves pages, indexes the pending reads, and writes everything in one atomic batch.
    pub(crate) fn commit(&mut self, file: Option<&FileRecord>) -> Result<()> {
        let batch_empty = self.batch.is_empty() && self.groups.is_empty() && file.is_none();
        let changes = self.model.resolve();
        if batch_empty && changes.metas.is_empty() {
            return Ok(());
        }
        let store = self.store;
        let mut batch = std::mem::replace(&mut self.batch, store.batch());
        let seq = self.batch_seq + 1;
        for &r in &changes.metas {
            pagetrail_store::pages::put_meta(&mut batch, r, &self.model.metas[r as usize]);
        }
        for &c in &changes.chunks {
            pagetrail_store::pages::put_chunk(&mut batch, c, &self.model.chunk(c));
        }
        let mut dirty = load_dirty(store)?;
        for &(r, s) in &changes.placed {
            backfill(store, r, s, &mut batch)?;
        }
        for &(r, old, new) in &changes.moved {
            backfill(store, r, new, &mut batch)?;
            if !dirty.contains(&old) {
                dirty.push(old);
            }
        }
        if !changes.moved.is_empty() {
            save_dirty(&mut batch, &dirty);
        }
        self.index_reads(&mut batch);
        let mut buf = Vec::new();
        // The chain hashes the groups in key order, as `verify` meets them in the store: sort
        // them by (user, first event) before encoding, and hash each value as it is written.
        let mut groups: Vec<((u32, i64), Vec<EventRow>)> = self.groups.drain().collect();
        for (_, rows) in &mut groups {
            rows.sort_by_key(|r| (r.ts_ms, r.file, r.line));
        }
        groups.sort_unstable_by_key(|((user, _), rows)| events::key(*user, rows[0].ts_ms, 0));
        let mut hasher = GroupHasher::default();
        for ((user, day), rows) in groups {
            Group::encode(&rows, usize::MAX, &mut buf);
            let key = events::key(user, rows[0].ts_ms, seq);
            batch.put(Cf::Events, &key, &buf);
            hasher.add(&key, &buf);
            day_digest(day, &rows).encode(&mut buf);
            batch.merge(Cf::UserDigest, &digest::key(user, day as u32), &buf);
        }
        let (groups, events_sha) = hasher.finish();
        if let Some(rec) = file {
            batch.put(Cf::Files, &rec.key(), &rec.encode());
            batch.put(Cf::Meta, &pagetrail_store::files::name_key(rec.last_file), &rec.key());
        }
        let link = Link::Batch {
            seq,
            at_ms: now_ms(),
            groups,
            events_sha,
            rejects: self.pending_rejects,
            file: file.map(|r| chain::FileMark {
                name: r.name.clone(),
                offset: r.offset,
                sha256: r.sha256.unwrap_or_default(),
            }),
        };
        self.totals.save(&mut batch);
        self.commit_with_link(batch, &link)?;
        self.pending_lines = 0;
        self.pending_rejects = 0;
        if !changes.moved.is_empty() {
            rebuild_dirty(store, &self.model, dirty)?;
        }
        Ok(())
    }

    fn index_reads(&mut self, batch: &mut Batch<'_>) {
        index_reads(self.reads.drain(..), &self.model.space, &[Grain::Day, Grain::Month], batch);
    }

    /// Applies user-directory rows (username, user key, account id): the key and the account id
    /// become aliases of the username, for every event stored before or after. Atomic.
    pub fn apply_users(&mut self, rows: &[(String, String, String)]) -> Result<()> {
        let d = &mut self.dicts;
        let b = &mut self.batch;
        for (user, key, account) in rows {
            let canon = d.users.intern(fold_user(user).as_bytes(), b);
            for alias in [key, account] {
                if alias.is_empty() {
                    continue;
                }
                let a = d.users.intern(fold_user(alias).as_bytes(), b);
                if a != canon {
                    pagetrail_store::users::put_alias(b, a, canon);
                }
            }
        }
        self.commit(None)
    }

    /// Applies catalog rows (page id, space key, title); commits them atomically.
    pub fn apply_catalog(&mut self, rows: &[(u64, String, String)]) -> Result<()> {
        let d = &mut self.dicts;
        let b = &mut self.batch;
        for (id, space, title) in rows {
            let id_ref = d.pages.intern(&page_ref_bytes(&PageRef::Id(*id)), b);
            let titled = PageRef::Titled { space: space.clone(), title: title.clone() };
            let t = d.pages.intern(&page_ref_bytes(&titled), b);
            let s = d.spaces.intern(space.as_bytes(), b);
            self.model.set_catalog(id_ref, t, s, title);
        }
        self.commit(None)
    }
}

/// Index operands of reads, at the given grains: per user (counters and page sets), per page
/// (daily reader lists) and per space (reader lists and per-user page sets). `space` maps a
/// page reference to its current space (0: none).
pub(crate) fn index_reads(
    reads: impl Iterator<Item = ReadFact>,
    space: &[u32],
    grains: &[Grain],
    batch: &mut Batch<'_>,
) {
    let mut user_days: HashMap<[u8; 9], Counters> = HashMap::new();
    let mut user_pages: HashMap<[u8; 9], RoaringBitmap> = HashMap::new();
    let mut page_users: HashMap<[u8; 9], Readers> = HashMap::new();
    let mut space_users: HashMap<[u8; 9], Readers> = HashMap::new();
    let mut space_user_pages: HashMap<[u8; 13], RoaringBitmap> = HashMap::new();
    let add = |m: &mut HashMap<[u8; 9], Readers>, k: [u8; 9], user: u32, c: Counters| {
        m.entry(k).or_default().entry(user).and_modify(|e| e.add(&c)).or_insert(c);
    };
    for r in reads {
        let day = day_of(r.ts_ms);
        let month = month_of_day(day);
        let space = space.get(r.page as usize).copied().unwrap_or(0);
        for (grain, period, start) in [(Grain::Day, day, day), (Grain::Month, month, month_start_day(month))] {
            if !grains.contains(&grain) {
                continue;
            }
            let c = Counters::one(r.bytes, (r.ts_ms - start * DAY_MS) as u64);
            let period = period as u32;
            user_days.entry(entity_key(r.user, grain, period)).and_modify(|e| e.add(&c)).or_insert(c);
            user_pages.entry(entity_key(r.user, grain, period)).or_default().insert(r.page);
            // Pages get daily rows only: a page's readers per day are few, and monthly rows
            // here would be the largest index of all.
            if grain == Grain::Day {
                add(&mut page_users, entity_key(r.page, grain, period), r.user, c);
            }
            if space != 0 {
                add(&mut space_users, entity_key(space, grain, period), r.user, c);
                space_user_pages.entry(entity_user_key(space, grain, period, r.user)).or_default().insert(r.page);
            }
        }
    }
    let mut buf = Vec::new();
    for (k, c) in user_days {
        c.encode(&mut buf);
        batch.merge(Cf::UserDays, &k, &buf);
    }
    for (k, set) in user_pages {
        bitmap::encode(&set, &mut buf);
        batch.merge(Cf::UserPages, &k, &buf);
    }
    for (k, set) in space_user_pages {
        bitmap::encode(&set, &mut buf);
        batch.merge(Cf::SpaceUserPages, &k, &buf);
    }
    for (cf, map) in [(Cf::PageUsers, page_users), (Cf::SpaceUsers, space_users)] {
        for (k, list) in map {
            readers::encode(&list, &mut buf);
            batch.merge(cf, &k, &buf);
        }
    }
}

fn intern_opt(d: &mut Interner, s: &str, b: &mut Batch<'_>) -> u32 {
    if s.is_empty() {
        0
    } else {
        d.intern(s.as_bytes(), b)
    }
}

/// The detectors' digest of one user's events of one UTC day (see `pagetrail_index::digest`).
/// A read here is the same as for the indexes: a content action on a known page that succeeded.
fn day_digest(day: i64, rows: &[EventRow]) -> DayDigest {
    DayDigest::of_events(
        day,
        rows.iter().map(|r| DigestEvent {
            ts_ms: r.ts_ms,
            read_page: Some(r.page).filter(|&p| p != 0 && is_read(r.action, r.status, true)),
            admin_ok: r.action == Action::Admin && (r.status == 0 || (200..300).contains(&r.status)),
            addr: r.addr,
            agent: r.agent,
        }),
    )
}

/// Detects the shape from the file name and the first lines of the content: a Tomcat variant
/// first, then the other Confluence sources.
fn detect(name: &str, buf: &[u8]) -> Option<Format> {
    // The application log holds AccessLogFilter lines among everything else, often after
    // pages of startup messages: look through the whole first chunk for one.
    let app_log = name.rsplit(['/', '\\']).next().unwrap_or(name).starts_with("atlassian-confluence");
    let lines: Vec<&str> = buf
        .split(|&b| b == b'\n')
        .take(if app_log { usize::MAX } else { 64 })
        .filter_map(|l| std::str::from_utf8(l).ok())
        .filter(|l| !l.trim().is_empty())
        .collect();
    pagetrail_core::detect_variant(lines.iter().take(64).copied())
        .map(Format::Tomcat)
        .or_else(|| sources::detect(name, &lines).map(Format::Source))
}

/// Whether a JSON source is one array or pretty-printed document rather than a record a line.
fn whole_file_json(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(1 << 16)]);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('[') {
        return true;
    }
    // A record a line has a complete object on its first line.
    let first = t.lines().next().unwrap_or("").trim_end();
    t.starts_with('{') && !(first.starts_with('{') && first.ends_with('}'))
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The record of the content that starts with `buf`, if it was ingested before.
pub(crate) fn find_record(registry: &[FileRecord], buf: &[u8]) -> Option<usize> {
    let head = &buf[..buf.len().min(HEAD_LEN)];
    let full = hash(head);
    if let Some(i) = registry.iter().position(|r| r.head_len as usize == head.len() && r.head_hash == full) {
        return Some(i);
    }
    // A file first seen while shorter than HEAD_LEN and grown since.
    registry.iter().position(|r| {
        (r.head_len as usize) < HEAD_LEN
            && (r.head_len as usize) <= buf.len()
            && r.head_hash == hash(&buf[..r.head_len as usize])
    })
}
