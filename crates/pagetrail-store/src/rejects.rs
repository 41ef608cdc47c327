//! Lines that could not be parsed, kept with their file, line number, reason and raw bytes.
//!
//! Key `file:u32 ‖ line:u64` (file is a `File` dictionary id), so a re-run writes the same key
//! again instead of a second copy. Value `version:u8 ‖ reason_len:varint ‖ reason ‖ raw`.

use pagetrail_core::varint::{put_u64, Reader};

const VERSION: u8 = 1;

pub fn key(file: u32, line: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&file.to_be_bytes());
    k[4..].copy_from_slice(&line.to_be_bytes());
    k
}

pub fn parse_key(k: &[u8]) -> Option<(u32, u64)> {
    (k.len() == 12).then(|| {
        (
            u32::from_be_bytes(k[..4].try_into().unwrap_or_default()),
            u64::from_be_bytes(k[4..].try_into().unwrap_or_default()),
        )
    })
}

pub fn encode(reason: &str, raw: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(raw.len() + reason.len() + 4);
    v.push(VERSION);
    put_u64(&mut v, reason.len() as u64);
    v.extend_from_slice(reason.as_bytes());
    v.extend_from_slice(raw);
    v
}

/// (reason, raw bytes).
pub fn decode(v: &[u8]) -> Option<(String, Vec<u8>)> {
    let (&ver, rest) = v.split_first()?;
    if ver != VERSION {
        return None;
    }
    let mut r = Reader::new(rest);
    let n = r.u64().ok()? as usize;
    let reason = String::from_utf8(r.bytes(n).ok()?.to_vec()).ok()?;
    Some((reason, r.rest().to_vec()))
}

#[cfg(feature = "db")]
/// Stores (or replaces) the reject of a line.
pub fn put(batch: &mut crate::Batch<'_>, file: u32, line: u64, reason: &str, raw: &[u8]) {
    batch.put(crate::Cf::Rejects, &key(file, line), &encode(reason, raw));
}

#[cfg(feature = "db")]
/// Removes the reject of a line (its line was read again, whole, or purged).
pub fn delete(batch: &mut crate::Batch<'_>, file: u32, line: u64) {
    batch.delete(crate::Cf::Rejects, &key(file, line));
}

#[cfg(feature = "db")]
/// The reject stored for a line, if any.
pub fn get(store: &crate::Store, file: u32, line: u64) -> crate::Result<Option<(String, Vec<u8>)>> {
    match store.get(crate::Cf::Rejects, &key(file, line))? {
        None => Ok(None),
        Some(v) => decode(&v).map(Some).ok_or_else(|| store.corrupt(format!("reject of file {file} line {line}"))),
    }
}

#[cfg(feature = "db")]
/// Visits the rejects of one `File` id (or of every file) in (file, line) order as
/// (file, line, reason, raw); `f` returns `false` to stop.
pub fn visit(
    store: &crate::Store,
    file: Option<u32>,
    mut f: impl FnMut(u32, u64, String, Vec<u8>) -> bool,
) -> crate::Result<()> {
    let prefix = file.map(|id| id.to_be_bytes().to_vec()).unwrap_or_default();
    let mut bad = false;
    store.prefix(crate::Cf::Rejects, &prefix).visit(|k, v| match parse_key(k).zip(decode(v)) {
        Some(((fid, line), (reason, raw))) => f(fid, line, reason, raw),
        None => {
            bad = true;
            false
        }
    })?;
    if bad {
        return Err(store.corrupt("reject record"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v = encode("bad HTTP status", b"[garbage \xff line");
        assert_eq!(decode(&v), Some(("bad HTTP status".into(), b"[garbage \xff line".to_vec())));
        assert_eq!(parse_key(&key(3, 99)), Some((3, 99)));
        assert_eq!(decode(&[2]), None);
    }
}
