//! Audit-log downloads, kept aside so that one download is one read across sources.
//!
//! An audit "attachment downloaded" record and the access-log line of the same download describe
//! one read. Which of the two arrives first, and whether the user directory that says they are
//! the same person has arrived yet, must not change any answer; so audit downloads are not
//! indexed at ingest. They are listed here (`meta`: `ad ‖ ts_ms:u64 ‖ file:u32 ‖ line:u64 ->
//! user:u32 ‖ page:u32 ‖ bytes varint`) and readers add those without a twin when they answer.

use pagetrail_core::varint::{put_u64, Reader};

use crate::{Batch, Cf, Result, Store};

/// One audit download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditDownload {
    pub ts_ms: i64,
    pub file: u32,
    pub line: u64,
    pub user: u32,
    pub page: u32,
    pub bytes: u64,
}

fn key(ts_ms: i64, file: u32, line: u64) -> [u8; 22] {
    let mut k = [0u8; 22];
    k[..2].copy_from_slice(b"ad");
    k[2..10].copy_from_slice(&(ts_ms.max(0) as u64).to_be_bytes());
    k[10..14].copy_from_slice(&file.to_be_bytes());
    k[14..].copy_from_slice(&line.to_be_bytes());
    k
}

pub fn put(batch: &mut Batch<'_>, d: &AuditDownload) {
    let mut v = Vec::with_capacity(12);
    v.extend_from_slice(&d.user.to_be_bytes());
    v.extend_from_slice(&d.page.to_be_bytes());
    put_u64(&mut v, d.bytes);
    batch.put(Cf::Meta, &key(d.ts_ms, d.file, d.line), &v);
}

pub fn delete(batch: &mut Batch<'_>, d: &AuditDownload) {
    batch.delete(Cf::Meta, &key(d.ts_ms, d.file, d.line));
}

/// Audit downloads with `from_ms <= ts < to_ms`, in time order.
pub fn range(store: &Store, from_ms: i64, to_ms: i64) -> Result<Vec<AuditDownload>> {
    store.decode_range(Cf::Meta, &key(from_ms, 0, 0), &key(to_ms, 0, 0), "audit download entry", |k, v| {
        Some(AuditDownload {
            ts_ms: u64::from_be_bytes(k.get(2..10)?.try_into().ok()?) as i64,
            file: u32::from_be_bytes(k.get(10..14)?.try_into().ok()?),
            line: u64::from_be_bytes(k.get(14..22)?.try_into().ok()?),
            user: u32::from_be_bytes(v.get(..4)?.try_into().ok()?),
            page: u32::from_be_bytes(v.get(4..8)?.try_into().ok()?),
            bytes: Reader::new(v.get(8..)?).u64().ok()?,
        })
    })
}
