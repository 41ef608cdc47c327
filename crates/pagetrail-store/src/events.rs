//! Event groups: one user's events of one UTC day from one ingest batch, stored column by column.
//!
//! Key `user:u32 ‖ first_ts_ms:u64 ‖ batch:u32` (16 bytes, big-endian), so one user's history is
//! one contiguous, time-ordered range. Value: `version:u8 ‖ codec:u8 ‖ payload`; codec 0 is the
//! plain column layout below, codec 1 the same zstd-compressed. Columns are varints: sorted
//! timestamps as deltas, small-alphabet columns (action, status, ids) as they are, so RocksDB's
//! zstd block compression finds the repetition.

use std::io::Read;

use pagetrail_core::varint::{put_i64, put_u64, Reader};
use pagetrail_core::Action;

#[cfg(feature = "db")]
use crate::{Result, Store};

/// Version 3 adds the time unit after `n` (whole seconds when every timestamp delta is, as in
/// every access log, whose `%t` has seconds only); version 2 groups (milliseconds) and version 1
/// (no `extra` column either) still decode.
const VERSION: u8 = 3;
const VERSION_2: u8 = 2;
const VERSION_1: u8 = 1;
const UNIT_MS: u8 = 0;
const UNIT_S: u8 = 1;
const CODEC_PLAIN: u8 = 0;
const CODEC_ZSTD: u8 = 1;

/// One stored event. Strings are dictionary ids (0 = none); page, space and title are derived
/// again from the stored request when shown, so the row keeps only what cannot be derived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub ts_ms: i64,
    pub action: Action,
    pub status: u16,
    pub bytes: u64,
    pub duration_ms: u32,
    /// Page reference id (dictionary `Page`), 0 when the request names no page.
    pub page: u32,
    pub method: u32,
    /// `path ‖ 0x00 ‖ query` as logged (dictionary `Request`).
    pub request: u32,
    pub referer: u32,
    pub addr: u32,
    pub agent: u32,
    /// Source file name (dictionary `File`) and 1-based line number.
    pub file: u32,
    pub line: u64,
    /// The source's own fields that have no column (audit action keys, categories, ...), as a
    /// JSON object (dictionary `Extra`); 0 for none, as for every access-log line.
    pub extra: u32,
}

/// The key of a group.
pub fn key(user: u32, first_ts_ms: i64, batch: u32) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..4].copy_from_slice(&user.to_be_bytes());
    k[4..12].copy_from_slice(&(first_ts_ms.max(0) as u64).to_be_bytes());
    k[12..].copy_from_slice(&batch.to_be_bytes());
    k
}

/// (user, first_ts_ms, batch) of a group key.
pub fn parse_key(k: &[u8]) -> Option<(u32, i64, u32)> {
    if k.len() != 16 {
        return None;
    }
    let user = u32::from_be_bytes(k[..4].try_into().ok()?);
    let ts = u64::from_be_bytes(k[4..12].try_into().ok()?) as i64;
    let batch = u32::from_be_bytes(k[12..].try_into().ok()?);
    Some((user, ts, batch))
}

/// A decoded group.
pub struct Group;

impl Group {
    /// Encodes rows sorted by (ts, file, line). Groups over `zstd_over` bytes are compressed here.
    pub fn encode(rows: &[EventRow], zstd_over: usize, out: &mut Vec<u8>) {
        let mut body = Vec::with_capacity(rows.len() * 24);
        put_u64(&mut body, rows.len() as u64);
        let base = rows.first().map_or(0, |r| r.ts_ms);
        // Deltas in seconds take one or two bytes where milliseconds take three, and zstd does
        // not find the factor of 1000 by itself: on the peers site (1,500 users, 60 days) the
        // family went from 14.45 to 13.58 bytes an event.
        let seconds = rows.iter().all(|r| (r.ts_ms - base) % 1000 == 0);
        body.push(if seconds { UNIT_S } else { UNIT_MS });
        let scale = if seconds { 1000 } else { 1 };
        let mut prev = base;
        for r in rows {
            put_i64(&mut body, (r.ts_ms - prev) / scale);
            prev = r.ts_ms;
        }
        body.extend(rows.iter().map(|r| r.action as u8));
        for r in rows {
            put_u64(&mut body, u64::from(r.status));
        }
        for col in [
            |r: &EventRow| r.bytes,
            |r: &EventRow| u64::from(r.duration_ms),
            |r: &EventRow| u64::from(r.page),
            |r: &EventRow| u64::from(r.method),
            |r: &EventRow| u64::from(r.request),
            |r: &EventRow| u64::from(r.referer),
            |r: &EventRow| u64::from(r.addr),
            |r: &EventRow| u64::from(r.agent),
            |r: &EventRow| u64::from(r.file),
        ] {
            for r in rows {
                put_u64(&mut body, col(r));
            }
        }
        let mut prev_line = 0i64;
        for r in rows {
            put_i64(&mut body, r.line as i64 - prev_line);
            prev_line = r.line as i64;
        }
        for r in rows {
            put_u64(&mut body, u64::from(r.extra));
        }
        out.clear();
        out.push(VERSION);
        if body.len() > zstd_over {
            if let Ok(z) = zstd::bulk::compress(&body, 3) {
                if z.len() < body.len() {
                    out.push(CODEC_ZSTD);
                    put_u64(out, body.len() as u64);
                    out.extend_from_slice(&z);
                    return;
                }
            }
        }
        out.push(CODEC_PLAIN);
        out.extend_from_slice(&body);
    }

    /// Decodes a group whose first event is at `base_ts_ms` (from the key).
    pub fn decode(base_ts_ms: i64, value: &[u8]) -> std::result::Result<Vec<EventRow>, String> {
        let (&version, rest) = value.split_first().ok_or("empty event group")?;
        if !matches!(version, VERSION | VERSION_2 | VERSION_1) {
            return Err(format!("event group version {version}"));
        }
        let (&codec, rest) = rest.split_first().ok_or("event group without codec")?;
        let owned;
        let body: &[u8] = match codec {
            CODEC_PLAIN => rest,
            CODEC_ZSTD => {
                let mut r = Reader::new(rest);
                let len = r.u64().map_err(|_| "truncated event group")? as usize;
                if len > 1 << 30 {
                    return Err("event group too large".into());
                }
                // Streamed: zstd::bulk reserves all of `len` first, 1 GiB for a corrupt length
                // in a value of a few bytes. This grows only with what really decompresses.
                let mut out = Vec::new();
                let d = zstd::stream::read::Decoder::with_buffer(r.rest()).map_err(|e| format!("event group: {e}"))?;
                d.take(len as u64 + 1).read_to_end(&mut out).map_err(|e| format!("event group: {e}"))?;
                if out.len() != len {
                    return Err("event group: wrong decompressed length".into());
                }
                owned = out;
                &owned
            }
            c => return Err(format!("event group codec {c}")),
        };
        decode_body(base_ts_ms, body, version).ok_or_else(|| "truncated event group".to_string())
    }
}

fn decode_body(base: i64, body: &[u8], version: u8) -> Option<Vec<EventRow>> {
    let mut r = Reader::new(body);
    let n = r.u64().ok()? as usize;
    if n > body.len() {
        return None;
    }
    let scale = match version {
        VERSION => match r.u8().ok()? {
            UNIT_MS => 1,
            UNIT_S => 1000,
            _ => return None,
        },
        _ => 1,
    };
    let mut rows: Vec<EventRow> = Vec::with_capacity(n);
    let mut ts = base;
    for _ in 0..n {
        // Checked: a corrupt delta (or key) must be an error, not an overflow.
        ts = ts.checked_add(r.i64().ok()?.checked_mul(scale)?)?;
        rows.push(EventRow {
            ts_ms: ts,
            action: Action::Other,
            status: 0,
            bytes: 0,
            duration_ms: 0,
            page: 0,
            method: 0,
            request: 0,
            referer: 0,
            addr: 0,
            agent: 0,
            file: 0,
            line: 0,
            extra: 0,
        });
    }
    for row in rows.iter_mut() {
        row.action = Action::from_u8(r.u8().ok()?)?;
    }
    for row in rows.iter_mut() {
        row.status = u16::try_from(r.u64().ok()?).ok()?;
    }
    for row in rows.iter_mut() {
        row.bytes = r.u64().ok()?;
    }
    for row in rows.iter_mut() {
        row.duration_ms = r.u32().ok()?;
    }
    for row in rows.iter_mut() {
        row.page = r.u32().ok()?;
    }
    for row in rows.iter_mut() {
        row.method = r.u32().ok()?;
    }
    for row in rows.iter_mut() {
        row.request = r.u32().ok()?;
    }
    for row in rows.iter_mut() {
        row.referer = r.u32().ok()?;
    }
    for row in rows.iter_mut() {
        row.addr = r.u32().ok()?;
    }
    for row in rows.iter_mut() {
        row.agent = r.u32().ok()?;
    }
    for row in rows.iter_mut() {
        row.file = r.u32().ok()?;
    }
    let mut line = 0i64;
    for row in rows.iter_mut() {
        line = line.checked_add(r.i64().ok()?)?;
        row.line = u64::try_from(line).ok()?;
    }
    if version >= VERSION_2 {
        for row in rows.iter_mut() {
            row.extra = r.u32().ok()?;
        }
    }
    r.is_empty().then_some(rows)
}

#[cfg(feature = "db")]
/// Stores a group under its key ([`key`]; the chain hashes the same key and value).
pub fn put(batch: &mut crate::Batch<'_>, key: &[u8; 16], value: &[u8]) {
    batch.put(crate::Cf::Events, key, value);
}

#[cfg(feature = "db")]
/// Removes the group stored under `key` (a purge or a consolidation).
pub fn delete(batch: &mut crate::Batch<'_>, key: &[u8]) {
    batch.delete(crate::Cf::Events, key);
}

#[cfg(feature = "db")]
/// Visits every stored group in key order as its key and value bytes, undecoded (what the
/// chain hashes); `f` returns `false` to stop.
pub fn visit_stored(store: &Store, f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
    store.prefix(crate::Cf::Events, &[]).visit(f)
}

#[cfg(feature = "db")]
/// A cursor over the `events` family kept across users: a scan of thousands of users seeks
/// one iterator instead of building one per user.
pub struct EventCursor<'s>(crate::Cursor<'s>);

#[cfg(feature = "db")]
impl<'s> EventCursor<'s> {
    pub fn new(store: &'s Store) -> Self {
        EventCursor(store.cursor(crate::Cf::Events))
    }
}

#[cfg(feature = "db")]
/// Visits the groups of one user whose first event falls in `[from_ms - 1 day, to_ms)`
/// (a group spans at most one UTC day), decoding each; rows outside the window are kept for
/// the caller to filter.
pub fn scan_user(store: &Store, user: u32, from_ms: i64, to_ms: i64, f: impl FnMut(&[EventRow])) -> Result<()> {
    scan_user_in(store, &mut EventCursor::new(store), user, from_ms, to_ms, f)
}

#[cfg(feature = "db")]
/// [`scan_user`] through an [`EventCursor`] kept across users.
pub fn scan_user_in(
    store: &Store,
    cur: &mut EventCursor<'_>,
    user: u32,
    from_ms: i64,
    to_ms: i64,
    mut f: impl FnMut(&[EventRow]),
) -> Result<()> {
    let lo = key(user, from_ms.saturating_sub(pagetrail_core::time::DAY_MS), 0);
    let hi = key(user, to_ms, 0);
    let mut err = None;
    cur.0.visit(&lo, &hi, |k, v| {
        let Some((_, ts, _)) = parse_key(k) else {
            err = Some(store.corrupt("event key"));
            return false;
        };
        match Group::decode(ts, v) {
            Ok(rows) => {
                f(&rows);
                true
            }
            Err(e) => {
                err = Some(store.corrupt(e));
                false
            }
        }
    })?;
    err.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_row() -> impl Strategy<Value = EventRow> {
        (
            (0i64..4_000_000_000_000, 0u8..11, any::<u16>(), any::<u64>(), any::<u32>()),
            (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
            (any::<u32>(), any::<u32>(), 0u64..u64::MAX / 4, any::<u32>()),
        )
            .prop_map(
                |((ts, a, status, bytes, dur), (page, method, request, referer, addr), (agent, file, line, extra))| {
                    EventRow {
                        ts_ms: ts,
                        action: Action::from_u8(a).unwrap(),
                        status,
                        bytes,
                        duration_ms: dur,
                        page,
                        method,
                        request,
                        referer,
                        addr,
                        agent,
                        file,
                        line,
                        extra,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn groups_round_trip(mut rows in proptest::collection::vec(arb_row(), 1..60), zstd_over in prop_oneof![Just(0usize), Just(usize::MAX)]) {
            rows.sort_by_key(|r| (r.ts_ms, r.file, r.line));
            let mut buf = Vec::new();
            Group::encode(&rows, zstd_over, &mut buf);
            prop_assert_eq!(Group::decode(rows[0].ts_ms, &buf).unwrap(), rows);
        }
    }

    #[test]
    fn version_1_and_2_groups_still_decode() {
        let row = EventRow {
            ts_ms: 7,
            action: Action::Search,
            status: 200,
            bytes: 3,
            duration_ms: 4,
            page: 0,
            method: 1,
            request: 2,
            referer: 0,
            addr: 3,
            agent: 4,
            file: 5,
            line: 6,
            extra: 0,
        };
        let mut v3 = Vec::new();
        Group::encode(std::slice::from_ref(&row), usize::MAX, &mut v3);
        assert_eq!(&v3[..4], &[VERSION, CODEC_PLAIN, 1, UNIT_S]);
        // A v2 group is the v3 layout without the time unit (milliseconds always), a v1 group
        // the v2 layout without the trailing extra column.
        let mut v2 = [&v3[..3], &v3[4..]].concat();
        v2[0] = VERSION_2;
        assert_eq!(Group::decode(7, &v2).unwrap(), vec![row.clone()]);
        let mut v1 = v2[..v2.len() - 1].to_vec();
        v1[0] = VERSION_1;
        assert_eq!(Group::decode(7, &v1).unwrap(), vec![row]);
    }

    #[test]
    fn whole_seconds_are_stored_as_seconds_and_the_rest_as_milliseconds() {
        let at = |ts_ms| EventRow { ts_ms, ..row(1) };
        let mut s = Vec::new();
        Group::encode(&[at(1_700_000_000_250), at(1_700_000_007_250)], usize::MAX, &mut s);
        assert_eq!(s[3], UNIT_S);
        let mut ms = Vec::new();
        Group::encode(&[at(1_700_000_000_250), at(1_700_000_007_251)], usize::MAX, &mut ms);
        assert_eq!(ms[3], UNIT_MS);
        assert!(s.len() < ms.len(), "a delta of 7 s is one byte, 7001 ms two");
        for (buf, last) in [(&s, 1_700_000_007_250), (&ms, 1_700_000_007_251)] {
            assert_eq!(Group::decode(1_700_000_000_250, buf).unwrap()[1].ts_ms, last);
        }
        let mut bad = s.clone();
        bad[3] = 7;
        assert!(Group::decode(1_700_000_000_250, &bad).is_err(), "an unknown time unit");
    }

    #[test]
    fn corrupt_groups_are_errors_not_panics() {
        let mut buf = Vec::new();
        Group::encode(&[row(9), row(9)], usize::MAX, &mut buf);
        for cut in 0..buf.len() {
            assert!(Group::decode(5, &buf[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = buf.clone();
        bad[0] = 9;
        assert!(Group::decode(5, &bad).is_err());
        assert_eq!(parse_key(&key(7, 1_700_000_000_000, 3)), Some((7, 1_700_000_000_000, 3)));
    }

    fn row(line: u64) -> EventRow {
        EventRow {
            ts_ms: 5,
            action: Action::View,
            status: 200,
            bytes: 1,
            duration_ms: 1,
            page: 1,
            method: 1,
            request: 1,
            referer: 0,
            addr: 1,
            agent: 1,
            file: 1,
            line,
            extra: 0,
        }
    }

    #[test]
    fn overflowing_deltas_are_errors() {
        // Found by the fuzz target event_group: timestamp deltas were added unchecked.
        let mut body = vec![VERSION, CODEC_PLAIN, 1, UNIT_MS];
        put_i64(&mut body, i64::MAX);
        assert!(Group::decode(1, &body).is_err());
        let mut body = vec![VERSION, CODEC_PLAIN, 1, UNIT_S];
        put_i64(&mut body, i64::MAX / 100);
        assert!(Group::decode(1, &body).is_err());
        // A key's timestamp is any u64 read as i64: near the top, a later row overflows.
        let mut buf = Vec::new();
        Group::encode(&[EventRow { ts_ms: 0, ..row(1) }, EventRow { ts_ms: 9, ..row(2) }], usize::MAX, &mut buf);
        assert!(Group::decode(i64::MAX - 1, &buf).is_err());
    }

    #[test]
    fn a_corrupt_compressed_length_is_an_error() {
        let rows: Vec<EventRow> = (1..100).map(row).collect();
        let mut buf = Vec::new();
        Group::encode(&rows, 0, &mut buf);
        assert_eq!(buf[1], CODEC_ZSTD);
        assert_eq!(Group::decode(5, &buf).unwrap(), rows);
        // The length says 1 GiB; the frame holds a few bytes.
        let mut big = vec![VERSION, CODEC_ZSTD];
        put_u64(&mut big, 1 << 30);
        big.extend_from_slice(&buf[2 + 2..]); // past the real length's 2 bytes
        assert!(Group::decode(5, &big).is_err());
    }
}
