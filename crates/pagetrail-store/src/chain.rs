//! The tamper-evident hash chain: one link per committed batch and per purge, each hashing the one before.
//!
//! A batch link carries the SHA-256 of exactly the event groups the batch wrote (every group's
//! key carries its batch number, so `verify` can hash them again from the store), with the
//! file checkpoint it committed. A purge link says what was removed, when and why, and the new
//! hash of every batch it changed, without the content. `head(n) = SHA-256(head(n-1) ‖ link n)`:
//! rewriting a group breaks its batch's hash, rewriting a link breaks every head after it,
//! and removing the newest batches is caught against a head pinned off the box (`watch` logs
//! it with each commit).
//!
//! Keys live in `meta`: `chain ‖ seq:u32` (big-endian, so links are in order). Value
//! `version:u8 ‖ kind:u8 ‖ fields ‖ head:32`.

use pagetrail_core::varint::{put_i64, put_u64, Reader};
use sha2::{Digest, Sha256};

#[cfg(feature = "db")]
use crate::{Batch, Cf, Result, Store};

const VERSION: u8 = 1;
const KIND_BATCH: u8 = 1;
const KIND_PURGE: u8 = 2;
const KIND_MERGE: u8 = 3;
const PREFIX: &[u8] = b"chain";

pub type Hash = [u8; 32];

/// The file checkpoint a batch committed: how far into which content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMark {
    pub name: String,
    pub offset: u64,
    pub sha256: Hash,
}

/// One batch's new hash after a purge removed part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rehash {
    pub seq: u32,
    pub groups: u32,
    pub events_sha: Hash,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    Batch {
        seq: u32,
        at_ms: i64,
        /// Event groups written, and the hash of them in key order ([`GroupHasher`]).
        groups: u32,
        events_sha: Hash,
        rejects: u32,
        file: Option<FileMark>,
    },
    Purge {
        seq: u32,
        at_ms: i64,
        /// What was removed ("events before 2026-01-01", "one user's history (erasure)").
        what: String,
        /// Why, as the operator gave it.
        why: String,
        events: u64,
        rejects: u64,
        rehashed: Vec<Rehash>,
    },
    /// A consolidation: a user's day written by many small batches rewritten as one group.
    /// The new groups are this batch's; the batches they came from are hashed anew.
    Merge { seq: u32, at_ms: i64, groups: u32, events_sha: Hash, rehashed: Vec<Rehash> },
}

impl Link {
    pub fn seq(&self) -> u32 {
        match self {
            Link::Batch { seq, .. } | Link::Purge { seq, .. } | Link::Merge { seq, .. } => *seq,
        }
    }

    pub fn at_ms(&self) -> i64 {
        match self {
            Link::Batch { at_ms, .. } | Link::Purge { at_ms, .. } | Link::Merge { at_ms, .. } => *at_ms,
        }
    }

    fn encode_body(&self, v: &mut Vec<u8>) {
        v.push(VERSION);
        let s = |v: &mut Vec<u8>, s: &str| {
            put_u64(v, s.len() as u64);
            v.extend_from_slice(s.as_bytes());
        };
        match self {
            Link::Batch { seq, at_ms, groups, events_sha, rejects, file } => {
                v.push(KIND_BATCH);
                put_u64(v, u64::from(*seq));
                put_i64(v, *at_ms);
                put_u64(v, u64::from(*groups));
                v.extend_from_slice(events_sha);
                put_u64(v, u64::from(*rejects));
                match file {
                    None => v.push(0),
                    Some(f) => {
                        v.push(1);
                        s(v, &f.name);
                        put_u64(v, f.offset);
                        v.extend_from_slice(&f.sha256);
                    }
                }
            }
            Link::Purge { seq, at_ms, what, why, events, rejects, rehashed } => {
                v.push(KIND_PURGE);
                put_u64(v, u64::from(*seq));
                put_i64(v, *at_ms);
                s(v, what);
                s(v, why);
                put_u64(v, *events);
                put_u64(v, *rejects);
                put_rehashed(v, rehashed);
            }
            Link::Merge { seq, at_ms, groups, events_sha, rehashed } => {
                v.push(KIND_MERGE);
                put_u64(v, u64::from(*seq));
                put_i64(v, *at_ms);
                put_u64(v, u64::from(*groups));
                v.extend_from_slice(events_sha);
                put_rehashed(v, rehashed);
            }
        }
    }

    /// The head after this link, given the head before it.
    pub fn head_after(&self, prev: &Hash) -> Hash {
        let mut body = Vec::new();
        self.encode_body(&mut body);
        let mut h = Sha256::new();
        h.update(b"pagetrail chain v1\0");
        h.update(prev);
        h.update(&body);
        h.finalize().into()
    }

    /// The stored value: the link and the head it leads to.
    pub fn encode(&self, head: &Hash) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_body(&mut v);
        v.extend_from_slice(head);
        v
    }

    /// (link, stored head) of a stored value.
    pub fn decode(v: &[u8]) -> Option<(Link, Hash)> {
        if v.len() < 34 || v[0] != VERSION {
            return None;
        }
        let (body, head) = v.split_at(v.len() - 32);
        let mut r = Reader::new(&body[2..]);
        let hash = |r: &mut Reader<'_>| -> Option<Hash> { r.bytes(32).ok()?.try_into().ok() };
        let s = |r: &mut Reader<'_>| -> Option<String> {
            let n = r.u64().ok()? as usize;
            String::from_utf8(r.bytes(n).ok()?.to_vec()).ok()
        };
        let link = match body[1] {
            KIND_BATCH => {
                let seq = r.u32().ok()?;
                let at_ms = r.i64().ok()?;
                let groups = r.u32().ok()?;
                let events_sha = hash(&mut r)?;
                let rejects = r.u32().ok()?;
                let file = match r.u8().ok()? {
                    0 => None,
                    1 => Some(FileMark { name: s(&mut r)?, offset: r.u64().ok()?, sha256: hash(&mut r)? }),
                    _ => return None,
                };
                Link::Batch { seq, at_ms, groups, events_sha, rejects, file }
            }
            KIND_PURGE => {
                let seq = r.u32().ok()?;
                let at_ms = r.i64().ok()?;
                let what = s(&mut r)?;
                let why = s(&mut r)?;
                let events = r.u64().ok()?;
                let rejects = r.u64().ok()?;
                let rehashed = get_rehashed(&mut r)?;
                Link::Purge { seq, at_ms, what, why, events, rejects, rehashed }
            }
            KIND_MERGE => {
                let seq = r.u32().ok()?;
                let at_ms = r.i64().ok()?;
                let groups = r.u32().ok()?;
                let events_sha = hash(&mut r)?;
                let rehashed = get_rehashed(&mut r)?;
                Link::Merge { seq, at_ms, groups, events_sha, rehashed }
            }
            _ => return None,
        };
        if !r.rest().is_empty() {
            return None;
        }
        Some((link, head.try_into().ok()?))
    }
}

fn put_rehashed(v: &mut Vec<u8>, rehashed: &[Rehash]) {
    put_u64(v, rehashed.len() as u64);
    for r in rehashed {
        put_u64(v, u64::from(r.seq));
        put_u64(v, u64::from(r.groups));
        v.extend_from_slice(&r.events_sha);
    }
}

fn get_rehashed(r: &mut Reader<'_>) -> Option<Vec<Rehash>> {
    let n = r.u64().ok()? as usize;
    let mut out = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let (seq, groups) = (r.u32().ok()?, r.u32().ok()?);
        out.push(Rehash { seq, groups, events_sha: r.bytes(32).ok()?.try_into().ok()? });
    }
    Some(out)
}

/// The hash of a batch's event groups, fed in key order (the order the `events` family keeps).
#[derive(Clone, Default)]
pub struct GroupHasher {
    sha: Sha256,
    pub groups: u32,
}

impl GroupHasher {
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        self.sha.update((key.len() as u32).to_be_bytes());
        self.sha.update(key);
        self.sha.update((value.len() as u32).to_be_bytes());
        self.sha.update(value);
        self.groups += 1;
    }

    pub fn finish(self) -> (u32, Hash) {
        (self.groups, self.sha.finalize().into())
    }
}

pub fn key(seq: u32) -> Vec<u8> {
    let mut k = PREFIX.to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Lowercase hex of a hash.
pub fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash from 64 hex digits.
pub fn parse_hex(s: &str) -> Option<Hash> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut h = [0u8; 32];
    for (i, b) in h.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(h)
}

#[cfg(feature = "db")]
/// The newest link's head (zeros before the first link).
pub fn head(store: &Store) -> Result<Hash> {
    let to = crate::prefix_end(PREFIX);
    match store.last_below(Cf::Meta, &to)? {
        Some(k) if k.starts_with(PREFIX) => {
            let v = store.get(Cf::Meta, &k)?.ok_or_else(|| store.corrupt("chain link"))?;
            Link::decode(&v).map(|(_, h)| h).ok_or_else(|| store.corrupt("chain link"))
        }
        _ => Ok([0; 32]),
    }
}

#[cfg(feature = "db")]
/// The batch number of the first link (batches below it predate the chain).
pub fn first_seq(store: &Store) -> Result<Option<u32>> {
    let mut first = None;
    store.prefix(Cf::Meta, PREFIX).visit(|k, _| {
        first = k.get(PREFIX.len()..).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(u32::from_be_bytes);
        false
    })?;
    Ok(first)
}

#[cfg(feature = "db")]
/// Adds `link` to the batch after `prev`; returns the new head.
pub fn append(batch: &mut Batch<'_>, prev: &Hash, link: &Link) -> Hash {
    let head = link.head_after(prev);
    batch.put(Cf::Meta, &key(link.seq()), &link.encode(&head));
    head
}

#[cfg(feature = "db")]
/// Every link, in order, with its stored head.
pub fn load(store: &Store) -> Result<Vec<(Link, Hash)>> {
    store.decode_prefix(Cf::Meta, PREFIX, "chain link", |_, v| Link::decode(v))
}

/// What `verify` found in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub links: u32,
    /// The first batch the chain covers (batches before it were written by a release without it).
    pub first_seq: Option<u32>,
    pub last_seq: Option<u32>,
    pub head: Hash,
    pub groups: u64,
    /// Groups of batches from before the chain: not covered.
    pub uncovered_groups: u64,
    /// The first thing that no longer matches, if any.
    pub problem: Option<Problem>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The batch (link) where it shows; 0 for the end of the chain.
    pub seq: u32,
    pub what: String,
}

#[cfg(feature = "db")]
/// Recomputes the chain from the store: every link's head, and every batch's event hash from
/// the groups it holds now. With `pinned` (a head logged earlier), also checks that the chain
/// still contains it, which catches the removal of the newest batches with their links.
pub fn verify(store: &Store, pinned: Option<&Hash>) -> Result<ChainReport> {
    use std::collections::BTreeMap;
    let links = load(store)?;
    let mut problems: Vec<Problem> = Vec::new();
    let mut prev = [0u8; 32];
    let mut heads = Vec::with_capacity(links.len());
    // What each batch should hold now: its own link, then any purge that rewrote it.
    let mut want: BTreeMap<u32, (u32, Hash)> = BTreeMap::new();
    let mut last_seq = None;
    for (link, stored) in &links {
        let seq = link.seq();
        if last_seq.is_some_and(|l| seq <= l) {
            problems.push(Problem { seq, what: "link out of order".into() });
        }
        last_seq = Some(seq);
        let head = link.head_after(&prev);
        if head != *stored {
            problems.push(Problem {
                seq,
                what: "the link was altered: its head does not follow from the one before".into(),
            });
        }
        prev = *stored;
        heads.push(*stored);
        match link {
            Link::Batch { groups, events_sha, .. } => {
                want.insert(seq, (*groups, *events_sha));
            }
            Link::Purge { rehashed, .. } => {
                for r in rehashed {
                    want.insert(r.seq, (r.groups, r.events_sha));
                }
            }
            Link::Merge { groups, events_sha, rehashed, .. } => {
                want.insert(seq, (*groups, *events_sha));
                for r in rehashed {
                    want.insert(r.seq, (r.groups, r.events_sha));
                }
            }
        }
    }
    let first_seq = links.first().map(|(l, _)| l.seq());
    // Batches before the first link were written without a chain: not covered, even when a
    // later purge or merge rehashed them.
    want.retain(|&s, _| first_seq.is_some_and(|f| s >= f));
    let mut have: BTreeMap<u32, GroupHasher> = BTreeMap::new();
    let mut bad_key = false;
    let (mut groups, mut uncovered) = (0u64, 0u64);
    store.prefix(Cf::Events, &[]).visit(|k, v| {
        let Some((_, _, seq)) = crate::events::parse_key(k) else {
            bad_key = true;
            return false;
        };
        groups += 1;
        if first_seq.is_none_or(|f| seq < f) {
            uncovered += 1;
        } else {
            have.entry(seq).or_default().add(k, v);
        }
        true
    })?;
    if bad_key {
        return Err(store.corrupt("event key"));
    }
    for (&seq, &(n, sha)) in &want {
        let (got_n, got) = have.remove(&seq).unwrap_or_default().finish();
        if got != sha {
            let what = match got_n.cmp(&n) {
                std::cmp::Ordering::Less => format!("{} of its {n} event groups are missing", n - got_n),
                std::cmp::Ordering::Greater => {
                    format!("it holds {} event groups more than the {n} it wrote", got_n - n)
                }
                std::cmp::Ordering::Equal => format!("{n} event groups, but their content was rewritten"),
            };
            problems.push(Problem { seq, what: format!("batch {seq}: {what}") });
        }
    }
    for (seq, h) in have {
        problems.push(Problem {
            seq,
            what: format!("{} event groups carry batch number {seq}, which the chain never recorded", h.groups),
        });
    }
    if let Some(p) = pinned {
        match heads.iter().position(|h| h == p) {
            Some(_) => {}
            None => problems.push(Problem {
                seq: last_seq.map_or(0, |s| s + 1),
                what: format!(
                    "the pinned head {} is not in the chain (which ends at batch {} with head {}): the batches from there on were removed or rewritten",
                    hex(p),
                    last_seq.unwrap_or(0),
                    hex(&prev)
                ),
            }),
        }
    }
    problems.sort_by_key(|p| p.seq);
    Ok(ChainReport {
        links: links.len() as u32,
        first_seq,
        last_seq,
        head: prev,
        groups,
        uncovered_groups: uncovered,
        problem: problems.into_iter().next(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip_and_heads_depend_on_everything() {
        let b = Link::Batch {
            seq: 7,
            at_ms: 1_700_000_000_000,
            groups: 3,
            events_sha: [1; 32],
            rejects: 2,
            file: Some(FileMark { name: "a.log".into(), offset: 99, sha256: [2; 32] }),
        };
        let p = Link::Purge {
            seq: 8,
            at_ms: 5,
            what: "events before 2026-01-01".into(),
            why: "retention".into(),
            events: 10,
            rejects: 1,
            rehashed: vec![Rehash { seq: 7, groups: 1, events_sha: [3; 32] }],
        };
        let m = Link::Merge {
            seq: 9,
            at_ms: 6,
            groups: 4,
            events_sha: [5; 32],
            rehashed: vec![Rehash { seq: 7, groups: 0, events_sha: [6; 32] }],
        };
        for l in [&b, &p, &m] {
            let h = l.head_after(&[0; 32]);
            assert_eq!(Link::decode(&l.encode(&h)), Some((l.clone(), h)));
            assert_ne!(l.head_after(&[1; 32]), h);
            let mut v = l.encode(&h);
            v.insert(v.len() - 32, 0);
            assert_eq!(Link::decode(&v), None);
        }
        let Link::Batch { seq, at_ms, groups, rejects, file, .. } = b.clone() else { unreachable!() };
        let other = Link::Batch { seq, at_ms, groups, events_sha: [9; 32], rejects, file };
        assert_ne!(other.head_after(&[0; 32]), b.head_after(&[0; 32]));
        assert_eq!(Link::decode(&[1, 1, 0]), None);
        assert_eq!(parse_hex(&hex(&[0xab; 32])), Some([0xab; 32]));
        assert_eq!(parse_hex("xyz"), None);
    }
}
