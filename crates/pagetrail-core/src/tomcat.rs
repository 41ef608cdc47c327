//! The three Tomcat access-log shapes Confluence writes (confluence-logs.md §1): detection and parsing.

use std::borrow::Cow;
use std::fmt;

use crate::time::parse_tomcat;
use crate::Record;

/// Which `AccessLogValve` pattern wrote a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Shipped `server.xml`: `%t %{X-AUSERNAME}o %I %h %r %s %Dms %b %{Referer}i %{User-Agent}i`.
    A,
    /// The KB pattern with `%{X-Forwarded-For}i` after `%t`.
    B,
    /// Docker image / Helm chart: `%h %{X-AUSERNAME}o %t "%r" %s %b %D %U %I "%{User-Agent}i"`.
    C,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::A, Variant::B, Variant::C];

    pub fn name(self) -> &'static str {
        match self {
            Variant::A => "tomcat-a",
            Variant::B => "tomcat-b",
            Variant::C => "tomcat-c",
        }
    }

    pub fn from_name(s: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// Why a line is not an access-log record. Stored with the reject, so keep names stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    NotUtf8,
    BadTimestamp,
    Missing(&'static str),
    BadStatus,
    BadDuration,
    BadBytes,
    BadRequestLine,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty line"),
            ParseError::NotUtf8 => f.write_str("not valid UTF-8"),
            ParseError::BadTimestamp => f.write_str("bad or missing timestamp"),
            ParseError::Missing(what) => write!(f, "line ends before the {what} field"),
            ParseError::BadStatus => f.write_str("bad HTTP status"),
            ParseError::BadDuration => f.write_str("bad elapsed time"),
            ParseError::BadBytes => f.write_str("bad byte count"),
            ParseError::BadRequestLine => f.write_str("bad request line"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Picks the variant that parses the most of the sample lines; `None` when none parses any.
pub fn detect_variant<'a>(lines: impl IntoIterator<Item = &'a str> + Clone) -> Option<Variant> {
    let mut best: Option<(Variant, usize)> = None;
    for v in Variant::ALL {
        let n = lines.clone().into_iter().filter(|l| parse_line(v, l).is_ok()).count();
        if n > 0 && best.is_none_or(|(_, b)| n > b) {
            best = Some((v, n));
        }
    }
    best.map(|(v, _)| v)
}

/// Parses one line (without its newline) in the given shape.
pub fn parse_line(variant: Variant, line: &str) -> Result<Record<'_>, ParseError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    match variant {
        Variant::A | Variant::B => parse_ab(variant, line),
        Variant::C => parse_c(line),
    }
}

/// Splits off the next space-separated token.
#[inline]
fn tok<'a>(rest: &mut &'a str, what: &'static str) -> Result<&'a str, ParseError> {
    let s = *rest;
    if s.is_empty() {
        return Err(ParseError::Missing(what));
    }
    match memchr::memchr(b' ', s.as_bytes()) {
        Some(i) => {
            *rest = &s[i + 1..];
            Ok(&s[..i])
        }
        None => {
            *rest = "";
            Ok(s)
        }
    }
}

/// `[dd/MMM/yyyy:HH:mm:ss ±hhmm]` at the start of `s`; returns the instant and what follows.
fn bracket_time(s: &str) -> Result<(i64, &str), ParseError> {
    let b = s.as_bytes();
    if b.len() < 28 || b[0] != b'[' || b[27] != b']' {
        return Err(ParseError::BadTimestamp);
    }
    let ts = parse_tomcat(&b[1..27]).ok_or(ParseError::BadTimestamp)?;
    Ok((ts, &s[28..]))
}

fn dash_empty(s: &str) -> &str {
    if s == "-" {
        ""
    } else {
        s
    }
}

fn status(s: &str) -> Result<u16, ParseError> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadStatus);
    }
    s.parse().map_err(|_| ParseError::BadStatus)
}

fn bytes_field(s: &str) -> Result<u64, ParseError> {
    if s == "-" {
        return Ok(0);
    }
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadBytes);
    }
    s.parse().map_err(|_| ParseError::BadBytes)
}

fn millis(s: &str) -> Result<u32, ParseError> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadDuration);
    }
    s.parse().map_err(|_| ParseError::BadDuration)
}

/// Splits a request URI at the first `?`.
fn split_uri(uri: &str) -> (&str, &str) {
    uri.split_once('?').unwrap_or((uri, ""))
}

fn parse_ab(variant: Variant, line: &str) -> Result<Record<'_>, ParseError> {
    let (ts_ms, rest) = bracket_time(line)?;
    let mut rest = rest.strip_prefix(' ').ok_or(ParseError::Missing("user"))?;
    let mut xff_first = None;
    if variant == Variant::B {
        // X-Forwarded-For may be `a, b, c`: tokens ending in ',' continue it.
        let mut t = tok(&mut rest, "X-Forwarded-For")?;
        xff_first = Some(t.trim_end_matches(','));
        while t.ends_with(',') {
            t = tok(&mut rest, "X-Forwarded-For")?;
        }
    }
    let user = tok(&mut rest, "user")?;
    let thread = tok(&mut rest, "thread")?;
    let host = tok(&mut rest, "remote host")?;
    if !looks_like_thread(thread) {
        // Lets detection tell A from B: in B this slot holds the username.
        return Err(ParseError::Missing("thread"));
    }
    let method = tok(&mut rest, "request")?;
    let (method, path, query) = if method == "-" {
        ("", "", "")
    } else {
        if !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ParseError::BadRequestLine);
        }
        let uri = tok(&mut rest, "request URI")?;
        let (p, q) = split_uri(uri);
        if rest.starts_with("HTTP/") {
            tok(&mut rest, "protocol")?;
        }
        (method, p, q)
    };
    let status = status(tok(&mut rest, "status")?)?;
    let dur = tok(&mut rest, "elapsed time")?;
    let duration_ms = millis(dur.strip_suffix("ms").ok_or(ParseError::BadDuration)?)?;
    let bytes = bytes_field(tok(&mut rest, "bytes")?)?;
    let referer = dash_empty(tok(&mut rest, "referer")?);
    if rest.is_empty() {
        return Err(ParseError::Missing("user agent"));
    }
    let ip = match xff_first {
        Some(x) if x != "-" && !x.is_empty() => x,
        _ => host,
    };
    Ok(Record {
        ts_ms,
        user,
        ip,
        method,
        path,
        query,
        status,
        bytes,
        duration_ms,
        referer,
        user_agent: unescape(dash_empty(rest)),
    })
}

fn looks_like_thread(t: &str) -> bool {
    t.contains("-exec-") || t.starts_with("http-") || t.starts_with("ajp-") || t.starts_with("https-")
}

fn parse_c(line: &str) -> Result<Record<'_>, ParseError> {
    let mut rest = line;
    let host = tok(&mut rest, "remote host")?;
    let user = tok(&mut rest, "user")?;
    let (ts_ms, after) = bracket_time(rest)?;
    let after = after.strip_prefix(" \"").ok_or(ParseError::Missing("request"))?;
    // The query may hold a literal '"' (relaxedQueryChars): the request ends at `" NNN `.
    let b = after.as_bytes();
    let end = memchr::memchr_iter(b'"', b)
        .find(|&i| {
            b.len() >= i + 6 && b[i + 1] == b' ' && b[i + 2..i + 5].iter().all(u8::is_ascii_digit) && b[i + 5] == b' '
        })
        .ok_or(ParseError::BadRequestLine)?;
    let request = &after[..end];
    let mut rest = &after[end + 2..];
    let (method, path, query) = if request == "-" {
        ("", "", "")
    } else {
        let mut parts = request.splitn(2, ' ');
        let method = parts.next().unwrap_or_default();
        let uri_proto = parts.next().ok_or(ParseError::BadRequestLine)?;
        let uri = match uri_proto.rsplit_once(' ') {
            Some((u, proto)) if proto.starts_with("HTTP/") => u,
            _ => uri_proto,
        };
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) || uri.is_empty() {
            return Err(ParseError::BadRequestLine);
        }
        let (p, q) = split_uri(uri);
        (method, p, q)
    };
    let status = status(tok(&mut rest, "status")?)?;
    let bytes = bytes_field(tok(&mut rest, "bytes")?)?;
    let duration_ms = millis(tok(&mut rest, "elapsed time")?)?;
    let _url_path = tok(&mut rest, "URL path")?;
    let _thread = tok(&mut rest, "thread")?;
    let ua = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')).ok_or(ParseError::Missing("user agent"))?;
    Ok(Record {
        ts_ms,
        user,
        ip: host,
        method,
        path,
        query,
        status,
        bytes,
        duration_ms,
        referer: "",
        user_agent: unescape(dash_empty(ua)),
    })
}

/// Undoes Tomcat's `escapeAndAppend`: `\"`, `\\`, `\r \n \t \f` and `\uXXXX`.
pub fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let rest = chars.as_str();
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('f') => out.push('\u{c}'),
            Some('u') => match rest.get(1..5).and_then(|h| u32::from_str_radix(h, 16).ok()) {
                Some(cp) => {
                    out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                    chars = rest[5..].chars();
                }
                None => out.push_str("\\u"),
            },
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_rfc3339;

    const A1: &str = "[18/Dec/2020:12:57:26 +1100] testuser http-nio-8090-exec-6 0:0:0:0:0:0:0:1 GET /index.action HTTP/1.1 200 1020ms 7881 http://localhost:8090/login.action?os_destination=%2Findex.action&permissionViolation=true Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36";
    const A2: &str = "[21/Feb/2024:05:35:37 +0000] - http-nio-8090-exec-1 18.184.255.235 POST /template/aui/text-inline.vm HTTP/1.1 200 225ms 7952 - python-requests/2.25.1";
    const A3: &str = "[17/Jun/2021:12:57:26 +0200] user http-nio-8080-exec-1 test.example.com GET /images/icons/profilepics/default.svg HTTP/1.1 200 46ms 1206 http://localhost:8080/index.action Mozilla/5.0 (Macintosh; ...";
    const B1: &str = "[18/Dec/2020:12:57:26 +1100] 192.168.1.15 testuser http-nio-8090-exec-6 0:0:0:0:0:0:0:1 GET /index.action HTTP/1.1 200 1020ms 7881 http://localhost:8090/login.action Mozilla/5.0 (X11)";
    const B2: &str = "[18/Dec/2020:12:57:26 +1100] 203.0.113.9, 10.0.0.2 testuser http-nio-8090-exec-6 10.0.0.2 GET /display/ENG/Home HTTP/1.1 200 10ms 7881 - curl/8.0";
    const C1: &str = "172.17.0.1 admin [23/Nov/2022:23:59:30 +0000] \"POST /rest/wrm/2.0/resources HTTP/1.1\" 200 279 93 /rest/wrm/2.0/resources http-nio-8090-exec-10 \"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/107.0.0.0 Safari/537.36\"";

    #[test]
    fn variant_a_samples() {
        let r = parse_line(Variant::A, A1).unwrap();
        assert_eq!(format_rfc3339(r.ts_ms), "2020-12-18T01:57:26Z");
        assert_eq!(
            (r.user, r.ip, r.method, r.path, r.query),
            ("testuser", "0:0:0:0:0:0:0:1", "GET", "/index.action", "")
        );
        assert_eq!((r.status, r.duration_ms, r.bytes), (200, 1020, 7881));
        assert!(r.referer.starts_with("http://localhost:8090/login.action?os_destination"));
        assert!(r.user_agent.starts_with("Mozilla/5.0 (Macintosh;") && r.user_agent.ends_with("Safari/537.36"));
        let r = parse_line(Variant::A, A2).unwrap();
        assert_eq!((r.user, r.referer, &*r.user_agent), ("-", "", "python-requests/2.25.1"));
        let r = parse_line(Variant::A, A3).unwrap();
        assert_eq!(r.ip, "test.example.com");
    }

    #[test]
    fn variant_b_takes_first_forwarded_address() {
        let r = parse_line(Variant::B, B1).unwrap();
        assert_eq!((r.user, r.ip), ("testuser", "192.168.1.15"));
        let r = parse_line(Variant::B, B2).unwrap();
        assert_eq!((r.user, r.ip, r.path), ("testuser", "203.0.113.9", "/display/ENG/Home"));
        let dash = B1.replace("192.168.1.15", "-");
        assert_eq!(parse_line(Variant::B, &dash).unwrap().ip, "0:0:0:0:0:0:0:1");
    }

    #[test]
    fn variant_c_sample_and_quote_in_query() {
        let r = parse_line(Variant::C, C1).unwrap();
        assert_eq!((r.user, r.ip, r.method, r.path), ("admin", "172.17.0.1", "POST", "/rest/wrm/2.0/resources"));
        assert_eq!((r.status, r.bytes, r.duration_ms), (200, 279, 93));
        assert!(r.user_agent.ends_with("Safari/537.36"));
        let q = "10.1.1.1 bob [23/Nov/2022:23:59:30 +0000] \"GET /rest/api/search?cql=text~\"aws\" HTTP/1.1\" 200 - 5 /rest/api/search http-nio-8090-exec-1 \"curl/8\"";
        let r = parse_line(Variant::C, q).unwrap();
        assert_eq!((r.path, r.query, r.bytes), ("/rest/api/search", "cql=text~\"aws\"", 0));
    }

    #[test]
    fn lone_dash_request_is_accepted() {
        let a = "[18/Dec/2020:12:57:26 +1100] - http-nio-8090-exec-6 10.0.0.1 - 400 0ms - - -";
        let r = parse_line(Variant::A, a).unwrap();
        assert_eq!((r.method, r.path, r.status, r.bytes), ("", "", 400, 0));
        let c = "10.0.0.1 - [23/Nov/2022:23:59:30 +0000] \"-\" 400 - 0 - http-nio-8090-exec-10 \"-\"";
        let r = parse_line(Variant::C, c).unwrap();
        assert_eq!((r.method, r.path, &*r.user_agent), ("", "", ""));
    }

    #[test]
    fn escaped_user_agents_are_decoded() {
        let a = "[18/Dec/2020:12:57:26 +1100] u http-nio-8090-exec-6 10.0.0.1 GET /x HTTP/1.1 200 1ms 1 - Evil \\\"agent\\\" \\\\ \\u0007 end";
        let r = parse_line(Variant::A, a).unwrap();
        assert_eq!(r.user_agent, "Evil \"agent\" \\ \u{7} end");
        assert_eq!(unescape("a\\tb\\u00e9\\uZZ"), "a\tbé\\uZZ");
    }

    #[test]
    fn torn_and_malformed_lines_are_errors() {
        let torn = &A1[..120];
        assert!(parse_line(Variant::A, torn).is_err());
        assert_eq!(parse_line(Variant::A, &A1[..40]), Err(ParseError::Missing("remote host")));
        assert_eq!(parse_line(Variant::A, "garbage"), Err(ParseError::BadTimestamp));
        assert_eq!(parse_line(Variant::A, ""), Err(ParseError::Empty));
        assert_eq!(parse_line(Variant::A, &A1.replace(" 200 ", " 2x0 ")), Err(ParseError::BadStatus));
        assert_eq!(parse_line(Variant::A, &A1.replace("1020ms", "1020")), Err(ParseError::BadDuration));
        assert_eq!(parse_line(Variant::A, &A1.replace(" 7881 ", " 7x81 ")), Err(ParseError::BadBytes));
        assert!(parse_line(Variant::C, &C1[..60]).is_err());
    }

    #[test]
    fn detection_picks_the_shape() {
        assert_eq!(detect_variant([A1, A2, A3]), Some(Variant::A));
        assert_eq!(detect_variant([B1, B2]), Some(Variant::B));
        assert_eq!(detect_variant([C1]), Some(Variant::C));
        assert_eq!(detect_variant(["hello", "world"]), None);
    }

    #[test]
    fn crlf_is_tolerated() {
        let line = format!("{A2}\r");
        let r = parse_line(Variant::A, &line).unwrap();
        assert_eq!(r.user_agent, "python-requests/2.25.1");
    }
}
