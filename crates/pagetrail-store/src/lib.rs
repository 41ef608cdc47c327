//! The pagetrail store: RocksDB column families, their value formats, and the only code that names RocksDB.
//!
//! A [`Store`] is opened either as the single writer (`open_writer`, which takes RocksDB's lock)
//! or as a reader (`open_reader`: read-only when no writer runs, else a RocksDB secondary
//! instance that catches up once; either holds a consistent view while an ingest goes on).
//! Writes go through a [`Batch`] that commits atomically across column families. The layouts are documented in `docs/storage-format.md`.

#[cfg(feature = "db")]
pub mod audit;
pub mod chain;
pub mod dict;
#[cfg(feature = "db")]
pub mod digests;
pub mod emitted;
pub mod events;
#[cfg(feature = "db")]
mod families;
pub mod files;
#[cfg(feature = "db")]
pub mod index;
#[cfg(feature = "db")]
mod lock;
#[cfg(feature = "db")]
pub mod meta;
#[cfg(feature = "db")]
mod options;
#[cfg(feature = "db")]
pub mod pages;
#[cfg(feature = "raw")]
pub mod raw;
pub mod rejects;
#[cfg(feature = "db")]
pub mod users;

#[cfg(feature = "db")]
use std::path::Path;
use std::path::PathBuf;

#[cfg(feature = "db")]
use rocksdb::{ColumnFamilyDescriptor, WriteBatch, WriteOptions, DB};

#[cfg(feature = "db")]
use families::Cf;

#[cfg(feature = "db")]
pub use dict::Dict;
pub use dict::DictKind;
pub use events::{EventRow, Group};
pub use files::FileRecord;
#[cfg(feature = "db")]
pub use meta::Totals;

/// The store format this build writes and reads. Bumped on any incompatible layout change.
pub const FORMAT_VERSION: u32 = 5;
/// Families compacted at once by [`Store::compact`] (the writer's background jobs allow it).
#[cfg(feature = "db")]
const COMPACTION_THREADS: usize = 2;

/// Older formats this build still opens. Format 4 only added value layouts (times in seconds),
/// and every format-3 value still decodes. Format 5 moved the rows of `user_days` and
/// `user_pages` to period-major keys under new leading bytes, and readers read both layouts.
/// So a reader reads a format-3 or 4 store as it is, and a writer migrates it: it moves those
/// rows (`index::migrate_user_rows`), then stamps it 5 (`tests/e2e/fixture.rs` holds a
/// committed store of each: `store-v3` and `store-v4`).
const READS_FORMATS: [u32; 2] = [3, 4];

/// What can go wrong with the store. Every message names the store's path.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {0} is locked: another pagetrail process is writing to it")]
    Locked(PathBuf),
    #[error("no store at {0} (create one with `pagetrail ingest`)")]
    Missing(PathBuf),
    #[error("store {path} has format version {found}; this pagetrail reads versions 3 to {expected}")]
    Version { path: PathBuf, found: u32, expected: u32 },
    #[error("store {path}: the disk is full; nothing of the failed batch was written ({msg})")]
    DiskFull { path: PathBuf, msg: String },
    #[error("store {path}: {msg}")]
    Rocks { path: PathBuf, msg: String },
    #[error("store {path}: corrupt {what}")]
    Corrupt { path: PathBuf, what: String },
    #[error("store {path}: the {family} column family was not opened for this command (a bug in pagetrail)")]
    NotOpened { path: PathBuf, family: &'static str },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How the store was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Writer,
    /// A reader opened read-only: no writer was running.
    ReadOnly,
    /// A reader that caught up once with a running writer (a RocksDB secondary instance).
    Secondary,
}

/// What a reader reads, by the store module that owns it. A read-only open opens only the
/// column families of the parts it is given (and `meta`, which every reader reads): each
/// family took about 0.1 ms to open, on a query that is a process of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Dictionaries ([`dict`]): every name.
    Names,
    /// Source files ([`files`]).
    Files,
    /// Raw events ([`events`]).
    Events,
    /// Rejected lines ([`rejects`]).
    Rejects,
    /// Page identity (`pages`).
    Pages,
    /// Per-user rollups (`index`: `user_days`, `user_pages`).
    UserRollups,
    /// Readers of each page (`index`: `page_users`).
    PageReaders,
    /// Readers of each space (`index`: `space_users`, `space_user_pages`).
    SpaceReaders,
    /// Per-user digests (`digests`).
    Digests,
}

impl Part {
    pub const ALL: [Part; 9] = [
        Part::Names,
        Part::Files,
        Part::Events,
        Part::Rejects,
        Part::Pages,
        Part::UserRollups,
        Part::PageReaders,
        Part::SpaceReaders,
        Part::Digests,
    ];
}

#[cfg(feature = "db")]
pub struct Store {
    db: DB,
    path: PathBuf,
    mode: Mode,
    // A secondary instance needs a folder of its own; it lives as long as the store.
    _secondary_dir: Option<tempfile::TempDir>,
    // After `db`, so that the process forgets its writer only once RocksDB has let go.
    _writer: Option<WriterMark>,
}

/// This process's writer of a store, known to its readers (see `lock`).
#[cfg(feature = "db")]
struct WriterMark(PathBuf);

#[cfg(feature = "db")]
impl Drop for WriterMark {
    fn drop(&mut self) {
        lock::closed_writer(&self.0);
    }
}

#[cfg(feature = "db")]
impl Store {
    /// Opens (creating if needed) the store as its single writer. The store holds every
    /// employee's reading history: a new store's folder is 0700, and every file the writer
    /// creates is 0600 (the process umask becomes 077; RocksDB has no mode option of its own).
    pub fn open_writer(path: &Path) -> Result<Store> {
        owner_only_umask();
        std::fs::create_dir_all(path).map_err(|e| StoreError::Rocks {
            path: path.to_owned(),
            msg: format!("cannot create the store folder: {e}"),
        })?;
        let opts = options::db_options(true);
        // Known before RocksDB takes its lock, so this process's readers never touch `LOCK`.
        lock::opened_writer(path);
        let mark = Some(WriterMark(path.to_owned()));
        let db = DB::open_cf_descriptors(&opts, path, descriptors()).map_err(|e| open_error(path, e))?;
        let store = Store { db, path: path.to_owned(), mode: Mode::Writer, _secondary_dir: None, _writer: mark };
        store.check_version(true)?;
        Ok(store)
    }

    /// Opens an existing store for reading while a writer may be running; the view is
    /// consistent and fixed at the moment of opening.
    pub fn open_reader(path: &Path) -> Result<Store> {
        Self::open_reader_of(path, &Part::ALL)
    }

    /// [`Store::open_reader`] for a command that reads only `parts`. A read-only open opens
    /// only their families; reading any other is a [`StoreError::NotOpened`]. A secondary
    /// (a writer runs) opens every family, as it must follow the writer's manifest whole.
    pub fn open_reader_of(path: &Path, parts: &[Part]) -> Result<Store> {
        if !path.join("CURRENT").exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        // With no writer to follow, a read-only open gives the same fixed view without the
        // secondary's temporary folder and catch-up. Every table file and log is open once it
        // returns, so a writer that starts later cannot pull them away; one that started during
        // the open may have, and then the secondary path runs instead.
        if !lock::writer_may_run(path) {
            if let Ok(store) = Self::open_read_only(path, parts) {
                if !lock::writer_may_run(path) {
                    return Ok(store);
                }
            }
        }
        let dir = tempfile::Builder::new().prefix("pagetrail-reader").tempdir().map_err(|e| StoreError::Rocks {
            path: path.to_owned(),
            msg: format!("cannot create a temporary folder for the reader: {e}"),
        })?;
        let db = Self::open_secondary(path, dir.path())?;
        let store =
            Store { db, path: path.to_owned(), mode: Mode::Secondary, _secondary_dir: Some(dir), _writer: None };
        store.check_version(false)?;
        Ok(store)
    }

    /// A secondary of the writer's manifest, caught up. The writer may delete a table file
    /// (compacted away) between the secondary reading the manifest and opening the file: the
    /// open then fails with "No such file", and a new attempt reads the newer manifest. Seen
    /// in CI as a failure of `crash::readers_see_consistent_snapshots_during_an_ingest`.
    fn open_secondary(path: &Path, dir: &Path) -> Result<DB> {
        const ATTEMPTS: usize = 5;
        let opts = options::db_options(false);
        let vanished =
            |e: &rocksdb::Error| e.kind() == rocksdb::ErrorKind::IOError && e.as_ref().contains("No such file");
        let mut attempt = 1;
        loop {
            let open = DB::open_cf_descriptors_as_secondary(&opts, path, dir, descriptors())
                .and_then(|db| db.try_catch_up_with_primary().map(|()| db));
            match open {
                Ok(db) => return Ok(db),
                Err(e) if attempt < ATTEMPTS && vanished(&e) => attempt += 1,
                Err(e) => return Err(open_error(path, e)),
            }
        }
    }

    fn open_read_only(path: &Path, parts: &[Part]) -> Result<Store> {
        let opts = options::db_options(false);
        // RocksDB lets a read-only instance open a subset of the families.
        let wanted = |cf: &Cf| *cf == Cf::Meta || parts.iter().any(|p| families::of(*p).contains(cf));
        let subset = Cf::ALL.iter().filter(|cf| wanted(cf)).map(|cf| descriptor(*cf));
        let db = DB::open_cf_descriptors_read_only(&opts, path, subset, false).map_err(|e| open_error(path, e))?;
        let store = Store { db, path: path.to_owned(), mode: Mode::ReadOnly, _secondary_dir: None, _writer: None };
        store.check_version(false)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A warning when users other than the owner can reach the store's folder or read one of
    /// its files (a store made by an older version, or opened up by hand), else `None`.
    pub fn exposure(&self) -> Option<String> {
        exposure(&self.path)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn check_version(&self, stamp: bool) -> Result<()> {
        match self.get(Cf::Meta, meta::FORMAT_KEY)? {
            Some(v) => {
                let found =
                    v.as_slice().try_into().map(u32::from_be_bytes).map_err(|_| self.corrupt("format version"))?;
                if found == FORMAT_VERSION {
                    return Ok(());
                }
                if !READS_FORMATS.contains(&found) {
                    return Err(StoreError::Version { path: self.path.clone(), found, expected: FORMAT_VERSION });
                }
                if !stamp {
                    return Ok(());
                }
                // Stamped only once every row has moved: a crash before leaves the old number,
                // and the next writer moves the rest.
                index::migrate_user_rows(self)?;
                let mut b = self.batch();
                b.put(Cf::Meta, meta::FORMAT_KEY, &FORMAT_VERSION.to_be_bytes());
                self.commit(b)
            }
            None if stamp => {
                let mut b = self.batch();
                b.put(Cf::Meta, meta::FORMAT_KEY, &FORMAT_VERSION.to_be_bytes());
                self.commit(b)
            }
            None => Ok(()),
        }
    }

    /// A family's handle: a writer and a secondary open every family, a read-only reader
    /// those of the parts it was opened for.
    fn cf(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily> {
        self.db.cf_handle(cf.name()).ok_or_else(|| self.not_opened(cf))
    }

    fn not_opened(&self, cf: Cf) -> StoreError {
        StoreError::NotOpened { path: self.path.clone(), family: cf.name() }
    }

    pub fn corrupt(&self, what: impl Into<String>) -> StoreError {
        StoreError::Corrupt { path: self.path.clone(), what: what.into() }
    }

    pub(crate) fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db.get_cf(self.cf(cf)?, key).map_err(|e| rocks_in(&self.path, cf, e))
    }

    /// Entries with `from <= key < to`, in key order.
    pub(crate) fn range<'a>(&'a self, cf: Cf, from: &[u8], to: &[u8]) -> Range<'a> {
        let it = self.cf(cf).ok().map(|h| {
            let mut it = self.db.raw_iterator_cf(h);
            it.seek(from);
            it
        });
        Range { it, to: to.to_vec(), store: self, cf, done: false }
    }

    /// Entries whose key starts with `prefix`.
    pub(crate) fn prefix<'a>(&'a self, cf: Cf, prefix: &[u8]) -> Range<'a> {
        let mut range = self.range(cf, prefix, &[]);
        range.to = prefix_end(prefix);
        range
    }

    /// Decodes every entry with `from <= key < to`; an entry `decode` rejects is a corrupt
    /// `what`, reported with the store's path.
    pub(crate) fn decode_range<T>(
        &self,
        cf: Cf,
        from: &[u8],
        to: &[u8],
        what: &str,
        mut decode: impl FnMut(&[u8], &[u8]) -> Option<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut bad = false;
        self.range(cf, from, to).visit(|k, v| match decode(k, v) {
            Some(t) => {
                out.push(t);
                true
            }
            None => {
                bad = true;
                false
            }
        })?;
        if bad {
            return Err(self.corrupt(what));
        }
        Ok(out)
    }

    /// [`Store::decode_range`] over the keys that start with `prefix`.
    pub(crate) fn decode_prefix<T>(
        &self,
        cf: Cf,
        prefix: &[u8],
        what: &str,
        decode: impl FnMut(&[u8], &[u8]) -> Option<T>,
    ) -> Result<Vec<T>> {
        self.decode_range(cf, prefix, &prefix_end(prefix), what, decode)
    }

    /// A reusable iterator over one column family: a query that visits thousands of small
    /// ranges (one per user) seeks one iterator instead of building one per range.
    pub(crate) fn cursor(&self, cf: Cf) -> Cursor<'_> {
        Cursor { it: self.cf(cf).ok().map(|h| self.db.raw_iterator_cf(h)), store: self, cf }
    }

    /// The last key strictly below `below`, if any.
    pub(crate) fn last_below(&self, cf: Cf, below: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut it = self.db.raw_iterator_cf(self.cf(cf)?);
        it.seek_for_prev(below);
        while it.valid() {
            if let Some(k) = it.key() {
                if k < below {
                    return Ok(Some(k.to_vec()));
                }
            }
            it.prev();
        }
        it.status().map_err(|e| rocks_in(&self.path, cf, e))?;
        Ok(None)
    }

    pub fn batch(&self) -> Batch<'_> {
        Batch { store: self, wb: WriteBatch::default(), missing: None }
    }

    /// Applies every write of the batch, or none of them.
    pub fn commit(&self, batch: Batch<'_>) -> Result<()> {
        if let Some(cf) = batch.missing {
            return Err(self.not_opened(cf));
        }
        let mut wo = WriteOptions::default();
        // A killed process keeps what the WAL holds; `sync` at the end of an ingest covers power loss.
        wo.set_sync(false);
        self.db.write_opt(batch.wb, &wo).map_err(|e| write_error(&self.path, e))
    }

    /// Makes everything committed so far durable on disk.
    pub fn sync(&self) -> Result<()> {
        self.db.flush_wal(true).map_err(|e| write_error(&self.path, e))
    }

    /// Writes every memtable to SST files, so the write-ahead logs can go.
    pub fn flush(&self) -> Result<()> {
        self.db
            .flush_cfs_opt(&self.every_family()?, &rocksdb::FlushOptions::default())
            .map_err(|e| write_error(&self.path, e))
    }

    /// Every family's handle, which only a writer or a secondary has.
    fn every_family(&self) -> Result<Vec<&rocksdb::ColumnFamily>> {
        Cf::ALL.iter().map(|&cf| self.cf(cf)).collect()
    }

    /// Flushes memtables and compacts every column family (after a bulk load: smaller and faster to read).
    pub fn compact(&self) -> Result<()> {
        let mut order = self.every_family()?;
        for &h in &order {
            self.db.flush_cf(h).map_err(|e| write_error(&self.path, e))?;
        }
        // Force rewrites the bottom level too, so every file ends up with the bottommost
        // compression. Not exclusive, so that two families compact at once (each compaction
        // is one thread, and the ingest that asked for it waits).
        let mut co = rocksdb::CompactOptions::default();
        co.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
        co.set_exclusive_manual_compaction(false);
        // Largest first, so the threads finish together.
        let size = |h| self.db.property_int_value_cf(h, "rocksdb.estimate-live-data-size").ok().flatten();
        order.sort_by_key(|&h| std::cmp::Reverse(size(h).unwrap_or(0)));
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..COMPACTION_THREADS {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&h) = order.get(i) else { break };
                    self.db.compact_range_cf_opt(h, None::<&[u8]>, None::<&[u8]>, &co);
                });
            }
        });
        Ok(())
    }

    /// Bytes of the store's files on disk.
    pub fn bytes_on_disk(&self) -> u64 {
        dir_size(&self.path)
    }

    /// Bytes RocksDB holds in memory.
    pub fn memory(&self) -> Memory {
        let sum = |prop: &str| -> u64 {
            let value = |cf: Cf| self.db.property_int_value_cf(self.cf(cf).ok()?, prop).ok().flatten();
            Cf::ALL.iter().map(|&cf| value(cf).unwrap_or(0)).sum()
        };
        Memory {
            memtables: sum("rocksdb.cur-size-all-mem-tables"),
            block_cache: options::cache_usage() as u64,
            table_readers: sum("rocksdb.estimate-table-readers-mem"),
        }
    }

    /// Caps the block cache this process shares between its stores (a long-running collector
    /// reads little and should not keep a query's worth of blocks).
    pub fn limit_block_cache(bytes: usize) {
        options::set_cache_capacity(bytes);
    }

    /// Each opened column family's name and approximate bytes on disk (its live SST files),
    /// in the order of `docs/storage-format.md`.
    pub fn family_sizes(&self) -> Vec<(&'static str, u64)> {
        let size = |h| self.db.property_int_value_cf(h, "rocksdb.total-sst-files-size").ok().flatten().unwrap_or(0);
        Cf::ALL.iter().filter_map(|&cf| Some((cf.name(), size(self.cf(cf).ok()?)))).collect()
    }
}

/// What RocksDB holds in memory, in bytes.
#[cfg(feature = "db")]
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// The memtables of every family: what has not been flushed yet.
    pub memtables: u64,
    /// The block cache (data, index and filter blocks).
    pub block_cache: u64,
    /// Table readers outside the block cache.
    pub table_readers: u64,
}

#[cfg(feature = "db")]
fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else { return 0 };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The smallest key greater than every key with this prefix (empty: no bound).
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    Vec::new()
}

/// A read error in one column family. A merge operator that meets a corrupt operand fails the
/// read with RocksDB's "Corruption"; say which family's value it was.
#[cfg(feature = "db")]
fn rocks_in(path: &Path, cf: Cf, e: rocksdb::Error) -> StoreError {
    let msg = e.into_string();
    if msg.contains("Corruption") || msg.contains("merge") {
        return StoreError::Corrupt { path: path.to_owned(), what: format!("{} value ({msg})", cf.name()) };
    }
    StoreError::Rocks { path: path.to_owned(), msg: format!("{}: {msg}", cf.name()) }
}

/// Every column family with its options, as each kind of open names them.
#[cfg(feature = "db")]
fn descriptors() -> impl Iterator<Item = ColumnFamilyDescriptor> {
    Cf::ALL.iter().map(|cf| descriptor(*cf))
}

#[cfg(feature = "db")]
fn descriptor(cf: Cf) -> ColumnFamilyDescriptor {
    ColumnFamilyDescriptor::new(cf.name(), options::cf_options(cf))
}

#[cfg(feature = "db")]
fn open_error(path: &Path, e: rocksdb::Error) -> StoreError {
    let msg = e.into_string();
    if msg.contains("lock") && (msg.contains("LOCK") || msg.contains("Resource temporarily unavailable")) {
        return StoreError::Locked(path.to_owned());
    }
    if msg.contains("No space left") {
        return StoreError::DiskFull { path: path.to_owned(), msg };
    }
    StoreError::Rocks { path: path.to_owned(), msg }
}

#[cfg(feature = "db")]
fn write_error(path: &Path, e: rocksdb::Error) -> StoreError {
    let msg = e.into_string();
    if msg.contains("No space left") || msg.contains("space") && msg.contains("NoSpace") {
        return StoreError::DiskFull { path: path.to_owned(), msg };
    }
    StoreError::Rocks { path: path.to_owned(), msg }
}

#[cfg(feature = "db")]
/// Writes that commit together.
pub struct Batch<'a> {
    store: &'a Store,
    wb: WriteBatch,
    /// A family the store was not opened with: [`Store::commit`] refuses the batch.
    missing: Option<Cf>,
}

#[cfg(feature = "db")]
impl<'a> Batch<'a> {
    fn handle(&mut self, cf: Cf) -> Option<&'a rocksdb::ColumnFamily> {
        let h = self.store.cf(cf).ok();
        if h.is_none() {
            self.missing = Some(cf);
        }
        h
    }

    pub(crate) fn put(&mut self, cf: Cf, key: &[u8], value: &[u8]) {
        if let Some(h) = self.handle(cf) {
            self.wb.put_cf(h, key, value);
        }
    }

    /// Adds a merge operand (bitmap union or counter sum, by column family).
    pub(crate) fn merge(&mut self, cf: Cf, key: &[u8], operand: &[u8]) {
        if let Some(h) = self.handle(cf) {
            self.wb.merge_cf(h, key, operand);
        }
    }

    pub(crate) fn delete(&mut self, cf: Cf, key: &[u8]) {
        if let Some(h) = self.handle(cf) {
            self.wb.delete_cf(h, key);
        }
    }

    pub(crate) fn delete_range(&mut self, cf: Cf, from: &[u8], to: &[u8]) {
        if let Some(h) = self.handle(cf) {
            self.wb.delete_range_cf(h, from, to);
        }
    }

    pub fn len(&self) -> usize {
        self.wb.len()
    }

    pub fn is_empty(&self) -> bool {
        self.wb.is_empty()
    }

    pub fn size_in_bytes(&self) -> usize {
        self.wb.size_in_bytes()
    }
}

#[cfg(feature = "db")]
/// A RocksDB iterator kept across many range visits.
pub(crate) struct Cursor<'a> {
    /// `None` when the store was not opened with the family.
    it: Option<rocksdb::DBRawIteratorWithThreadMode<'a, DB>>,
    store: &'a Store,
    cf: Cf,
}

#[cfg(feature = "db")]
impl Cursor<'_> {
    /// Visits `from <= key < to` in order; `f` returns `false` to stop early.
    pub fn visit(&mut self, from: &[u8], to: &[u8], mut f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
        let Some(it) = self.it.as_mut() else { return Err(self.store.not_opened(self.cf)) };
        it.seek(from);
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else { break };
            if k >= to || !f(k, v) {
                return Ok(());
            }
            it.next();
        }
        it.status().map_err(|e| rocks_in(&self.store.path, self.cf, e))
    }
}

#[cfg(feature = "db")]
/// Iterates a key range; errors from RocksDB come out as the last item.
pub(crate) struct Range<'a> {
    /// `None` when the store was not opened with the family.
    it: Option<rocksdb::DBRawIteratorWithThreadMode<'a, DB>>,
    to: Vec<u8>,
    store: &'a Store,
    cf: Cf,
    done: bool,
}

#[cfg(feature = "db")]
impl Range<'_> {
    /// Visits entries in order without copying them; `f` returns `false` to stop early.
    pub fn visit(mut self, mut f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
        let Some(it) = self.it.as_mut() else { return Err(self.store.not_opened(self.cf)) };
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else { break };
            if !self.to.is_empty() && k >= self.to.as_slice() {
                return Ok(());
            }
            if !f(k, v) {
                return Ok(());
            }
            it.next();
        }
        it.status().map_err(|e| rocks_in(&self.store.path, self.cf, e))
    }
}

#[cfg(feature = "db")]
impl Iterator for Range<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let Some(it) = self.it.as_mut() else {
            self.done = true;
            return Some(Err(self.store.not_opened(self.cf)));
        };
        if !it.valid() {
            self.done = true;
            return it.status().err().map(|e| Err(rocks_in(&self.store.path, self.cf, e)));
        }
        let (k, v) = (it.key()?.to_vec(), it.value()?.to_vec());
        if !self.to.is_empty() && k >= self.to {
            self.done = true;
            return None;
        }
        it.next();
        Some(Ok((k, v)))
    }
}

#[cfg(all(unix, feature = "db"))]
fn owner_only_umask() {
    // SAFETY: umask only swaps the process's file-mode mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(all(not(unix), feature = "db"))]
fn owner_only_umask() {}

#[cfg(all(unix, feature = "db"))]
fn exposure(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).ok().map(|m| m.permissions().mode() & 0o777);
    let dir = mode(path)?;
    let open_files = std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| mode(&e.path()).is_some_and(|m| m & 0o044 != 0))
        .count();
    if dir & 0o077 == 0 && open_files == 0 {
        return None;
    }
    Some(format!(
        "store {} can be read by other users (folder mode {dir:03o}, {open_files} files readable by group or others); it holds every employee's reading history: chmod -R go-rwx {}",
        path.display(),
        path.display()
    ))
}

#[cfg(all(not(unix), feature = "db"))]
fn exposure(_path: &Path) -> Option<String> {
    None
}

#[cfg(all(test, feature = "db"))]
mod tests {
    use super::*;

    /// A corrupt merge operand is an error naming the store and the family, never a panic
    /// and never a wrong answer.
    #[test]
    fn a_corrupt_index_value_is_an_error_naming_store_and_family() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open_writer(d.path()).unwrap();
        let mut b = store.batch();
        b.merge(Cf::UserDays, b"\x00key", &[0xff, 0xff, 0xff]);
        b.merge(Cf::UserDays, b"\x00key", &[0x01]);
        store.commit(b).unwrap();
        let e = store.get(Cf::UserDays, b"\x00key").unwrap_err();
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains(&d.path().display().to_string()) && msg.contains("user_days"), "{msg}");
        let e = store.prefix(Cf::UserDays, b"").visit(|_, _| true).unwrap_err();
        assert!(e.to_string().contains("user_days"), "{e}");
    }

    /// A reader opened for some parts reads them, and every other family is an error naming
    /// it and the store (a get, a range, a cursor, a batch): never a panic, never an empty answer.
    #[test]
    fn a_reader_of_some_parts_refuses_the_others_by_name() {
        let d = tempfile::tempdir().unwrap();
        {
            let store = Store::open_writer(d.path()).unwrap();
            let mut b = store.batch();
            rejects::put(&mut b, 7, 3, "bad line", b"raw");
            b.put(Cf::Events, b"e", b"v");
            store.commit(b).unwrap();
        }
        let store = Store::open_reader_of(d.path(), &[Part::Rejects]).unwrap();
        assert_eq!(store.mode(), Mode::ReadOnly);
        assert_eq!(rejects::get(&store, 7, 3).unwrap(), Some(("bad line".into(), b"raw".to_vec())));
        assert_eq!(store.family_sizes().iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["meta", "rejects"]);
        let named = |e: StoreError| {
            let msg = e.to_string();
            assert!(matches!(e, StoreError::NotOpened { family: "events", .. }), "{msg}");
            assert!(msg.contains(&d.path().display().to_string()) && msg.contains("events"), "{msg}");
        };
        named(store.get(Cf::Events, b"e").unwrap_err());
        named(store.prefix(Cf::Events, b"").visit(|_, _| true).unwrap_err());
        named(store.range(Cf::Events, b"", b"\xff").next().unwrap().unwrap_err());
        named(store.cursor(Cf::Events).visit(b"", b"\xff", |_, _| true).unwrap_err());
        named(store.last_below(Cf::Events, b"\xff").unwrap_err());
        let mut b = store.batch();
        b.put(Cf::Events, b"e", b"w");
        named(store.commit(b).unwrap_err());
        // Every part opens every family, as before.
        let all = Store::open_reader_of(d.path(), &Part::ALL).unwrap();
        assert_eq!(all.get(Cf::Events, b"e").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(all.family_sizes().len(), Cf::ALL.len());
    }

    /// A format-3 store opens: a reader reads it as it is, the first writer stamps it 4. A
    /// format this build does not know is refused, naming both versions.
    #[test]
    fn format_3_is_migrated_by_the_writer_and_unknown_formats_are_refused() {
        let d = tempfile::tempdir().unwrap();
        drop(Store::open_writer(d.path()).unwrap());
        // Past the version check, as another release would have written it.
        let stamp = |v: u32| {
            let db = DB::open_cf_descriptors(&options::db_options(true), d.path(), descriptors()).unwrap();
            db.put_cf(db.cf_handle(Cf::Meta.name()).unwrap(), meta::FORMAT_KEY, v.to_be_bytes()).unwrap();
        };
        let format = |store: &Store| store.get(Cf::Meta, meta::FORMAT_KEY).unwrap().unwrap();
        stamp(3);
        assert_eq!(format(&Store::open_reader(d.path()).unwrap()), 3u32.to_be_bytes(), "a reader writes nothing");
        assert_eq!(format(&Store::open_writer(d.path()).unwrap()), FORMAT_VERSION.to_be_bytes());
        for v in [2, FORMAT_VERSION + 1] {
            stamp(v);
            for e in [Store::open_writer(d.path()).err(), Store::open_reader(d.path()).err()] {
                let msg = e.expect("refused").to_string();
                assert!(
                    msg.contains(&format!("format version {v}")) && msg.contains(&format!("{FORMAT_VERSION}")),
                    "{msg}"
                );
            }
        }
    }
}
