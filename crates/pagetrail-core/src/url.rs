//! Percent-decoding and query-string lookup for the URLs Confluence logs.

/// Decodes `%XX` escapes, and `+` as a space when `plus_is_space` (titles and form queries).
///
/// Invalid escapes are kept literally; bytes that are not UTF-8 become U+FFFD, so a hostile
/// URL can never make decoding fail.
pub fn decode(s: &str, plus_is_space: bool) -> String {
    if !s.bytes().any(|b| b == b'%' || (plus_is_space && b == b'+')) {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The raw (still encoded) value of the first `name=` parameter in a query string.
pub fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

/// A decimal id such as a `pageId`: digits only, fits in u64.
pub fn parse_id(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_titles() {
        assert_eq!(decode("Team+Runbook", true), "Team Runbook");
        assert_eq!(decode("Team%20Runbook", true), "Team Runbook");
        assert_eq!(decode("Caf%C3%A9+%26+Bar", true), "Café & Bar");
        assert_eq!(decode("a+b", false), "a+b");
        assert_eq!(decode("100%", true), "100%");
        assert_eq!(decode("%zz%4", true), "%zz%4");
        assert_eq!(decode("%FF", true), "\u{FFFD}");
    }

    #[test]
    fn finds_params() {
        let q = "spaceKey=ENG&title=Run+book&pageId=";
        assert_eq!(param(q, "spaceKey"), Some("ENG"));
        assert_eq!(param(q, "title"), Some("Run+book"));
        assert_eq!(param(q, "pageId"), Some(""));
        assert_eq!(param(q, "key"), None);
        assert_eq!(parse_id("123456"), Some(123_456));
        assert_eq!(parse_id("12a"), None);
        assert_eq!(parse_id(""), None);
        assert_eq!(parse_id("99999999999999999999999"), None);
    }
}
