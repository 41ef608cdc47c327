//! The source-file registry: which content was ingested and how far, so re-runs add nothing.
//!
//! Files are known by content, not name: the key is a hash of the first bytes (up to
//! [`HEAD_LEN`]), so a renamed, rotated or gzipped copy is the same file, and a file that grew
//! continues from `offset`. Key `xxh3_128(head):16 ‖ head_len:u32`; value below, version 2
//! (version 1, without the chain-of-custody fields, still decodes: they are unknown).

use pagetrail_core::varint::{put_i64, put_u64, Reader};

#[cfg(feature = "db")]
use crate::{Cf, Result, Store};

/// How many leading bytes identify a file's content.
pub const HEAD_LEN: usize = 1024;

/// Version 2 appends `last_file` and the chain of custody (SHA-256, ingest times, size).
const VERSION: u8 = 2;
const VERSION_1: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecord {
    /// Bytes the fingerprint covers (less than [`HEAD_LEN`] only for a file that was that short).
    pub head_len: u32,
    pub head_hash: u128,
    /// Content bytes consumed: everything before is stored. It ends in a newline, unless the
    /// file looked final and its last line was taken without one (the rest, if the file grows
    /// after all, is joined to that line: see the ingester).
    pub offset: u64,
    /// Lines consumed.
    pub lines: u64,
    /// Hash of up to [`HEAD_LEN`] bytes just before `offset`: proves a grown file still starts the same way.
    pub tail_hash: u128,
    /// Detected or given source format name.
    pub format: String,
    pub context_path: String,
    /// The first name the content was read under.
    pub name: String,
    /// The `File` dictionary id of the name the last checkpoint was written under (0: not
    /// recorded, a version-1 record): where that run's last line and rejects are stored.
    pub last_file: u32,
    /// SHA-256 of the content bytes consumed (`0..offset`, decompressed for gzip): what
    /// `verify` compares a file against. `None` for a version-1 record until its next ingest.
    pub sha256: Option<[u8; 32]>,
    /// Wall-clock UTC ms of the first and the latest ingest of this content (0: not recorded).
    pub first_ingest_ms: i64,
    pub last_ingest_ms: i64,
    /// Size on disk at the latest ingest (compressed for gzip; 0 for stdin or not recorded).
    pub size: u64,
}

pub fn hash(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

impl FileRecord {
    pub fn key(&self) -> Vec<u8> {
        let mut k = self.head_hash.to_be_bytes().to_vec();
        k.extend_from_slice(&self.head_len.to_be_bytes());
        k
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = vec![VERSION];
        put_u64(&mut v, self.offset);
        put_u64(&mut v, self.lines);
        v.extend_from_slice(&self.tail_hash.to_be_bytes());
        for s in [&self.format, &self.context_path, &self.name] {
            put_u64(&mut v, s.len() as u64);
            v.extend_from_slice(s.as_bytes());
        }
        put_u64(&mut v, u64::from(self.last_file));
        match &self.sha256 {
            Some(h) => {
                v.push(1);
                v.extend_from_slice(h);
            }
            None => v.push(0),
        }
        put_i64(&mut v, self.first_ingest_ms);
        put_i64(&mut v, self.last_ingest_ms);
        put_u64(&mut v, self.size);
        v
    }

    pub fn decode(key: &[u8], value: &[u8]) -> Option<FileRecord> {
        let version = *value.first()?;
        if key.len() != 20 || (version != VERSION && version != VERSION_1) {
            return None;
        }
        let head_hash = u128::from_be_bytes(key[..16].try_into().ok()?);
        let head_len = u32::from_be_bytes(key[16..].try_into().ok()?);
        let mut r = Reader::new(&value[1..]);
        let offset = r.u64().ok()?;
        let lines = r.u64().ok()?;
        let tail_hash = u128::from_be_bytes(r.bytes(16).ok()?.try_into().ok()?);
        let mut s = || -> Option<String> {
            let n = r.u64().ok()? as usize;
            String::from_utf8(r.bytes(n).ok()?.to_vec()).ok()
        };
        let (format, context_path, name) = (s()?, s()?, s()?);
        let mut rec = FileRecord {
            head_len,
            head_hash,
            offset,
            lines,
            tail_hash,
            format,
            context_path,
            name,
            last_file: 0,
            sha256: None,
            first_ingest_ms: 0,
            last_ingest_ms: 0,
            size: 0,
        };
        if version == VERSION {
            rec.last_file = r.u32().ok()?;
            rec.sha256 = match r.u8().ok()? {
                0 => None,
                1 => Some(r.bytes(32).ok()?.try_into().ok()?),
                _ => return None,
            };
            rec.first_ingest_ms = r.i64().ok()?;
            rec.last_ingest_ms = r.i64().ok()?;
            rec.size = r.u64().ok()?;
        }
        if !r.rest().is_empty() {
            return None;
        }
        Some(rec)
    }
}

/// Meta key `fn ‖ file:u32 -> record key`: which content a `File` dictionary name's lines
/// came from, so an event's source leads to the record of its file.
fn name_key(file: u32) -> Vec<u8> {
    let mut k = b"fn".to_vec();
    k.extend_from_slice(&file.to_be_bytes());
    k
}

#[cfg(feature = "db")]
/// Writes a file's record (its checkpoint), and under the `File` name its last lines were stored
/// as, the key of that record.
pub fn put(batch: &mut crate::Batch<'_>, rec: &FileRecord) {
    batch.put(Cf::Files, &rec.key(), &rec.encode());
    batch.put(Cf::Meta, &name_key(rec.last_file), &rec.key());
}

#[cfg(feature = "db")]
/// Every `File` dictionary id with the key of the record its lines came from.
pub fn names(store: &Store) -> Result<Vec<(u32, Vec<u8>)>> {
    store.decode_prefix(Cf::Meta, b"fn", "file name record", |k, v| {
        Some((u32::from_be_bytes(k.get(2..6)?.try_into().ok()?), v.to_vec()))
    })
}

#[cfg(feature = "db")]
/// Every registered file.
pub fn load_all(store: &Store) -> Result<Vec<FileRecord>> {
    store.decode_prefix(Cf::Files, &[], "file registry entry", FileRecord::decode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let r = FileRecord {
            head_len: 1024,
            head_hash: hash(b"abc"),
            offset: 123_456,
            lines: 789,
            tail_hash: hash(b"xyz"),
            format: "tomcat-a".into(),
            context_path: "/wiki".into(),
            name: "logs/conf_access_log.2026-03-01.log".into(),
            last_file: 7,
            sha256: Some([9; 32]),
            first_ingest_ms: 1_700_000_000_000,
            last_ingest_ms: 1_700_000_100_000,
            size: 4096,
        };
        assert_eq!(FileRecord::decode(&r.key(), &r.encode()), Some(r.clone()));
        let no_hash = FileRecord { sha256: None, ..r.clone() };
        assert_eq!(FileRecord::decode(&r.key(), &no_hash.encode()), Some(no_hash.clone()));
        // A version-1 record (none of the version-2 fields), as stores of format 3 hold them.
        let mut v1 = vec![1];
        put_u64(&mut v1, r.offset);
        put_u64(&mut v1, r.lines);
        v1.extend_from_slice(&r.tail_hash.to_be_bytes());
        for s in [&r.format, &r.context_path, &r.name] {
            put_u64(&mut v1, s.len() as u64);
            v1.extend_from_slice(s.as_bytes());
        }
        let old =
            FileRecord { last_file: 0, sha256: None, first_ingest_ms: 0, last_ingest_ms: 0, size: 0, ..r.clone() };
        assert_eq!(FileRecord::decode(&r.key(), &v1), Some(old));
        let mut trailing = r.encode();
        trailing.push(0);
        assert_eq!(FileRecord::decode(&r.key(), &trailing), None);
        assert_eq!(FileRecord::decode(&r.key()[..5], &r.encode()), None);
        assert_eq!(FileRecord::decode(&r.key(), &r.encode()[..10]), None);
    }
}
