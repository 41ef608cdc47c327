//! Store-wide facts in the `meta` column family: format version, batch sequence, running totals,
//! context paths and the spaces awaiting a rebuild.

use pagetrail_core::varint::{put_i64, put_u64, Reader};

use crate::{Batch, Cf, Result, Store};

pub const FORMAT_KEY: &[u8] = b"format";
pub const BATCH_KEY: &[u8] = b"batch";
pub const TOTALS_KEY: &[u8] = b"totals";
const DIRTY_SPACES_KEY: &[u8] = b"dirty_spaces";

const VERSION: u8 = 1;

/// `ctx ‖ file:u32 -> context path` for source files ingested with a configured context path.
fn context_key(file: u32) -> Vec<u8> {
    let mut k = b"ctx".to_vec();
    k.extend_from_slice(&file.to_be_bytes());
    k
}

/// Records the context path configured when the file name with `File` id `file` was ingested.
pub fn put_context(batch: &mut Batch<'_>, file: u32, context_path: &str) {
    batch.put(Cf::Meta, &context_key(file), context_path.as_bytes());
}

/// The spaces whose `space_users` rows await a rebuild (a page left them).
pub fn dirty_spaces(store: &Store) -> Result<Vec<u32>> {
    let Some(v) = store.get(Cf::Meta, DIRTY_SPACES_KEY)? else { return Ok(Vec::new()) };
    let mut r = Reader::new(&v);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(r.u32().map_err(|_| store.corrupt("dirty space list"))?);
    }
    Ok(out)
}

pub fn save_dirty_spaces(batch: &mut Batch<'_>, dirty: &[u32]) {
    if dirty.is_empty() {
        batch.delete(Cf::Meta, DIRTY_SPACES_KEY);
    } else {
        let mut v = Vec::new();
        for &s in dirty {
            put_u64(&mut v, u64::from(s));
        }
        batch.put(Cf::Meta, DIRTY_SPACES_KEY, &v);
    }
}

/// Every file's configured context path, by `File` dictionary id.
pub fn load_contexts(store: &Store) -> Result<std::collections::HashMap<u32, String>> {
    let mut out = std::collections::HashMap::new();
    store.prefix(Cf::Meta, b"ctx").visit(|k, v| {
        if let (Ok(id), Ok(ctx)) = (<[u8; 4]>::try_from(&k[3..]), std::str::from_utf8(v)) {
            out.insert(u32::from_be_bytes(id), ctx.to_owned());
        }
        true
    })?;
    Ok(out)
}

/// Counts over everything ever accepted. Updated in the same batch as the events they count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub lines: u64,
    pub events: u64,
    pub reads: u64,
    pub noise: u64,
    pub rejected: u64,
    /// Earliest and latest stored event (ms); `i64::MAX`/`i64::MIN` when none.
    pub first_ms: i64,
    pub last_ms: i64,
}

impl Totals {
    pub fn empty() -> Self {
        Totals { first_ms: i64::MAX, last_ms: i64::MIN, ..Default::default() }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = vec![VERSION];
        for x in [self.lines, self.events, self.reads, self.noise, self.rejected] {
            put_u64(&mut v, x);
        }
        put_i64(&mut v, self.first_ms);
        put_i64(&mut v, self.last_ms);
        v
    }

    pub fn decode(v: &[u8]) -> Option<Totals> {
        let (&ver, rest) = v.split_first()?;
        if ver != VERSION {
            return None;
        }
        let mut r = Reader::new(rest);
        Some(Totals {
            lines: r.u64().ok()?,
            events: r.u64().ok()?,
            reads: r.u64().ok()?,
            noise: r.u64().ok()?,
            rejected: r.u64().ok()?,
            first_ms: r.i64().ok()?,
            last_ms: r.i64().ok()?,
        })
    }

    pub fn load(store: &Store) -> Result<Totals> {
        match store.get(Cf::Meta, TOTALS_KEY)? {
            None => Ok(Totals::empty()),
            Some(v) => Totals::decode(&v).ok_or_else(|| store.corrupt("totals")),
        }
    }

    pub fn save(&self, batch: &mut Batch<'_>) {
        batch.put(Cf::Meta, TOTALS_KEY, &self.encode());
    }
}

/// The last committed batch number (0 before the first).
pub fn load_batch_seq(store: &Store) -> Result<u32> {
    match store.get(Cf::Meta, BATCH_KEY)? {
        None => Ok(0),
        Some(v) => v.as_slice().try_into().map(u32::from_be_bytes).map_err(|_| store.corrupt("batch number")),
    }
}

pub fn save_batch_seq(batch: &mut Batch<'_>, seq: u32) {
    batch.put(Cf::Meta, BATCH_KEY, &seq.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_round_trip() {
        let t = Totals { lines: 10, events: 5, reads: 3, noise: 4, rejected: 1, first_ms: -5, last_ms: 1 << 40 };
        assert_eq!(Totals::decode(&t.encode()), Some(t));
        assert_eq!(Totals::decode(&Totals::empty().encode()), Some(Totals::empty()));
        assert_eq!(Totals::decode(&[9]), None);
    }
}
