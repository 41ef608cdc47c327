//! The single writer: reads sources line by line and commits atomic batches.

use std::collections::HashMap;

use pagetrail_core::event::fold_user;
use pagetrail_core::sources::{self, ParseOptions};
use pagetrail_core::{ContextPath, PageRef};
use pagetrail_index::pages::PageModel;
use pagetrail_store::chain::{self, Link};
use pagetrail_store::dict::{page_ref_bytes, Interner};
use pagetrail_store::files::{hash, HEAD_LEN};
use pagetrail_store::meta::load_batch_seq;
use pagetrail_store::{rejects, Batch, Dict, DictKind, EventRow, FileRecord, Store, Totals};
use sha2::{Digest, Sha256};

use crate::format::{detect, whole_file_json};
use crate::input::read_full;
use crate::pages::{load_model, rebuild_dirty};
use crate::{Format, IngestError, Result, Source};

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
    pub(crate) spaces: Interner,
    pub(crate) pages: Interner,
    pub(crate) agents: Interner,
    pub(crate) addrs: Interner,
    pub(crate) requests: Interner,
    pub(crate) referers: Interner,
    pub(crate) methods: Interner,
    pub(crate) files: Dict,
    pub(crate) extras: Interner,
}

pub struct Ingester<'s> {
    pub(crate) store: &'s Store,
    pub(crate) opts: IngestOptions,
    pub(crate) dicts: Dicts,
    pub(crate) model: PageModel,
    pub(crate) totals: Totals,
    pub(crate) batch_seq: u32,
    pub(crate) registry: Vec<FileRecord>,
    pub(crate) summary: Summary,
    // The batch being built.
    pub(crate) batch: Batch<'s>,
    /// The batch's events by (user, day); foldhash, as an entry is looked up for every event.
    pub(crate) groups: HashMap<(u32, i64), Vec<EventRow>, foldhash::fast::RandomState>,
    pub(crate) reads: Vec<ReadFact>,
    pub(crate) pending_lines: usize,
    pub(crate) pending_rejects: u32,
    pub(crate) scratch: Vec<u8>,
    /// The chain's head after the last commit, and the commits not yet taken by `take_commits`.
    pub(crate) chain_head: chain::Hash,
    pub(crate) commits: Vec<Committed>,
    /// Plain files this ingester checkpointed, by record key: the offset and the SHA-256 state
    /// there, so the next look at a growing file reads only what is new (`watch`).
    pub(crate) resume: HashMap<Vec<u8>, (u64, Sha256)>,
    /// Page references known at the last commit: those after it have no committed rows.
    pub(crate) pages_committed: u32,
    /// The writing thread, inside [`Ingester::pipelined`].
    pub(crate) pipe: Option<crate::commit::Pipe<'s>>,
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
        rebuild_dirty(store, &model, pagetrail_store::meta::dirty_spaces(store)?)?;
        Ok(Ingester {
            store,
            opts,
            pages_committed: dicts.pages.len() as u32,
            dicts,
            model,
            totals: Totals::load(store)?,
            batch_seq: load_batch_seq(store)?,
            registry: pagetrail_store::files::load_all(store)?,
            summary: Summary::default(),
            batch: store.batch(),
            groups: HashMap::default(),
            reads: Vec::new(),
            pending_lines: 0,
            pending_rejects: 0,
            scratch: Vec::new(),
            chain_head: chain::head(store)?,
            commits: Vec::new(),
            resume: HashMap::new(),
            pipe: None,
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

    /// The batches committed since the last call, oldest first (inside `pipelined`, those
    /// that have landed).
    pub fn take_commits(&mut self) -> Vec<Committed> {
        std::mem::take(&mut self.commits)
    }

    /// Refuses a rewrite of stored groups (a purge, a consolidation) when the chain no longer
    /// matches the store: the rewrite's link would record the tampered groups as the truth.
    pub(crate) fn ensure_chain_intact(&mut self) -> Result<()> {
        self.settle()?;
        match chain::verify(self.store, None)?.problem {
            Some(p) => Err(IngestError::Tampered(self.store.path().to_owned(), p.what)),
            None => Ok(()),
        }
    }

    /// Commits `batch` as the next batch, with `link` (numbered `batch_seq + 1`) chained after
    /// the current head: every rewrite of stored groups.
    pub(crate) fn commit_with_link(&mut self, batch: Batch<'s>, link: &Link) -> Result<Committed> {
        self.settle()?;
        debug_assert_eq!(link.seq(), self.batch_seq + 1);
        let c = crate::commit::commit_linked(self.store, batch, &self.chain_head, link)?;
        self.landed(c);
        Ok(c)
    }

    /// Takes note of a batch that landed.
    pub(crate) fn landed(&mut self, c: Committed) {
        (self.batch_seq, self.chain_head) = (c.seq, c.head);
        self.commits.push(c);
    }

    /// The last committed batch and the chain head after it (inside `pipelined`, the last
    /// that has landed).
    pub fn chain_head(&self) -> Committed {
        Committed { seq: self.batch_seq, head: self.chain_head }
    }

    /// Commits what is pending and makes the store durable.
    pub fn finish(mut self) -> Result<Summary> {
        self.commit_and_settle()?;
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
            pagetrail_store::meta::put_context(&mut self.batch, file_id, &rec.context_path);
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
        // The reject may be in the batch still in flight.
        self.settle()?;
        match pagetrail_store::rejects::get(self.store, prev, line)? {
            Some((_, first)) => {
                // `line` counts it again; it is the same line.
                rejects::delete(&mut self.batch, prev, line);
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
        self.settle()?;
        if let Some((reason, _)) = pagetrail_store::rejects::get(self.store, file, line)? {
            if reason.starts_with(CUT_REASON) {
                rejects::delete(&mut self.batch, file, line);
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
            self.model.set_catalog(*id, id_ref, t, s, title);
        }
        self.commit(None)
    }
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
