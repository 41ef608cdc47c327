//! RocksDB options per column family (each family's merge operator comes from its own module).

use rocksdb::{BlockBasedOptions, Cache, DBCompressionType, MergeOperands, Options};

thread_local! {
    static CACHE: Cache = Cache::new_lru_cache(256 << 20);
}

use crate::Cf;

/// Options as RocksDB makes them, copied for each use. Each new `Options` builds a default
/// table factory with a 32 MB block cache of its own, which `cf_options` throws away at once:
/// thirteen of them per open. A copy shares the one default factory instead.
static BASE: std::sync::LazyLock<Options> = std::sync::LazyLock::new(Options::default);

fn fresh() -> Options {
    BASE.clone()
}

/// Caps the process's shared block cache.
pub(crate) fn set_cache_capacity(bytes: usize) {
    CACHE.with(|c| c.clone().set_capacity(bytes));
}

/// Bytes the process's shared block cache holds now.
pub(crate) fn cache_usage() -> usize {
    CACHE.with(|c| c.get_usage())
}

pub(crate) fn db_options(writer: bool) -> Options {
    let mut o = fresh();
    o.create_if_missing(writer);
    o.create_missing_column_families(writer);
    if writer {
        // Readers never flush or compact: no background pools to start for a query.
        o.increase_parallelism(2);
        // One flush and two compactions at a time (RocksDB gives a quarter of the jobs, at
        // least one, to flushes): `compact` runs two families at once.
        o.set_max_background_jobs(3);
    }
    // Readers (secondary instances) must keep every file open to follow the primary.
    o.set_max_open_files(-1);
    // Opening them took 16 threads per column family by default: hundreds of thread starts,
    // a quarter of a small query's time, to open a few dozen files.
    o.set_max_file_opening_threads(1);
    // Every query is a new process: do not read each SST's properties at open.
    o.set_skip_stats_update_on_db_open(true);
    o.set_keep_log_file_num(3);
    // Small column families (meta, files, pages) rarely fill a memtable, and a WAL file lives
    // until every family with data in it is flushed: without a cap, logs piled up to 1.5 GB on
    // a 100M-line ingest. Past this size RocksDB flushes the families that hold old logs.
    o.set_max_total_wal_size(128 << 20);
    o
}

pub(crate) fn cf_options(cf: Cf) -> Options {
    let mut o = fresh();
    let mut t = BlockBasedOptions::default();
    // Large blocks compress better; reads are mostly range scans. 64 KiB blocks with zstd 9 at
    // the bottom made a compacted 5M-line store smaller than 32 KiB with zstd 3. `dict` and
    // `pages` are the exceptions, because `events` names each event's request, referer, agent
    // and page by point lookups there, each decompressing a whole block. Both have a trained
    // zstd dictionary (below). On the peers site (1,500 users x 60 days, compacted), 4 KiB
    // `dict` and 8 KiB `pages` blocks, against 8 and 64 KiB, took a 249-event lookback from
    // 65.4 to 53.7 M instructions (callgrind) and 12.2 to 10.9 ms, for 0.37 bytes an event more
    // (dict 3.88 -> 4.15, pages 0.43 -> 0.53); other queries moved by under 4%. Then 1 KiB
    // `pages` blocks with the dictionary, after `ingest`: page metas 9.6 -> 3.6 M
    // instructions of that lookback, 12.5 -> 10.7 ms, and pages 0.53 -> 0.48 bytes an event.
    t.set_block_size(match cf {
        Cf::Dict => 4 * 1024,
        Cf::Pages => 1024,
        _ => 64 * 1024,
    });
    // No bloom filters: reads are range scans and point gets of keys that exist, and every query
    // is a new process that would load each SST's whole filter block to use it once.
    t.set_cache_index_and_filter_blocks(true);
    // One cache for all families: a query process reads each block once and neighbours
    // (adjacent users) share blocks.
    t.set_block_cache(&CACHE.with(|c| c.clone()));
    o.set_block_based_table_factory(&t);
    o.set_level_compaction_dynamic_level_bytes(true);
    // zstd everywhere: level 1 where data is young and rewritten soon, level 9 at the bottom,
    // where most bytes settle. No trained dictionary but in `dict`: for every family, on a
    // 1,500-user, 60-day store, a full compaction took 9.9 s with one and 3.8 s without, for a
    // store 2% smaller (40.0 MB against 40.8), and every compaction into the bottom paid it too.
    o.set_compression_type(DBCompressionType::Zstd);
    o.set_compression_options(-14, 1, 0, 0);
    o.set_bottommost_compression_type(DBCompressionType::Zstd);
    o.set_bottommost_compression_options(-14, 9, 0, 0, true);
    if cf == Cf::Dict || cf == Cf::Pages {
        // A 16 KiB dictionary, trained on 100 times as many sample bytes, lets small blocks
        // compress as well as large ones (pages: 8 KiB blocks without one took 0.53 bytes an
        // event, 1 KiB with one 0.48). Other families do not pay for one (above).
        o.set_bottommost_compression_options(-14, 9, 0, 16 * 1024, true);
        o.set_bottommost_zstd_max_train_bytes(100 * 16 * 1024, true);
    }
    o.set_write_buffer_size(match cf {
        Cf::Events => 64 << 20,
        Cf::UserDays | Cf::UserPages | Cf::PageUsers | Cf::SpaceUsers | Cf::SpaceUserPages | Cf::UserDigest => 48 << 20,
        _ => 16 << 20,
    });
    // Each family's module owns its merge (the name is on disk: never rename).
    let merge = match cf {
        Cf::UserPages | Cf::SpaceUserPages | Cf::UserDays | Cf::PageUsers | Cf::SpaceUsers => {
            crate::index::merge_operator(cf)
        }
        Cf::UserDigest => Some(crate::digests::MERGE),
        _ => None,
    };
    if let Some((name, f)) = merge {
        o.set_merge_operator_associative(name, f);
    }
    o
}

/// A merge operator as RocksDB calls it: a name stored with the options, and the function.
pub(crate) type Merge = (&'static str, fn(&[u8], Option<&[u8]>, &MergeOperands) -> Option<Vec<u8>>);
