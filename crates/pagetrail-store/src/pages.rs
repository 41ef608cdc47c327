//! Page identity in the `pages` family: each page reference's meta (`'m' ‖ ref`), and the derived map in chunks (`'c' ‖ chunk`).
//!
//! The values are `pagetrail-index`'s `PageMeta` and map chunks; this module owns their keys.

use pagetrail_index::pages::PageMeta;

use crate::{Batch, Cf, Result, Store};

fn meta_key(r: u32) -> [u8; 5] {
    let mut k = [b'm', 0, 0, 0, 0];
    k[1..].copy_from_slice(&r.to_be_bytes());
    k
}

fn chunk_key(c: u32) -> [u8; 5] {
    let mut k = [b'c', 0, 0, 0, 0];
    k[1..].copy_from_slice(&c.to_be_bytes());
    k
}

pub fn put_meta(batch: &mut Batch<'_>, r: u32, meta: &PageMeta) {
    batch.put(Cf::Pages, &meta_key(r), &meta.encode());
}

pub fn put_chunk(batch: &mut Batch<'_>, c: u32, chunk: &[u8]) {
    batch.put(Cf::Pages, &chunk_key(c), chunk);
}

/// The meta of one page reference; a corrupt one reads as none (the page then shows by its id).
pub fn meta(store: &Store, r: u32) -> Result<Option<PageMeta>> {
    Ok(store.get(Cf::Pages, &meta_key(r))?.and_then(|v| PageMeta::decode(&v).ok()))
}

/// Every page meta, by reference id.
pub fn metas(store: &Store) -> Result<Vec<(u32, PageMeta)>> {
    store.decode_prefix(Cf::Pages, b"m", "page meta", |k, v| {
        Some((u32::from_be_bytes(k.get(1..5)?.try_into().ok()?), PageMeta::decode(v).ok()?))
    })
}

/// Visits every map chunk in order as (chunk number, value); `f` returns `false` to stop.
pub fn visit_chunks(store: &Store, mut f: impl FnMut(Option<u32>, &[u8]) -> bool) -> Result<()> {
    store
        .prefix(Cf::Pages, b"c")
        .visit(|k, v| f(k.get(1..5).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes), v))
}
