//! Civil-calendar arithmetic and the timestamp shapes of Confluence logs, without a time zone database.
//!
//! Instants are milliseconds since the Unix epoch, UTC. Days are counted from 1970-01-01 (UTC),
//! months as `(year - 1970) * 12 + month - 1`.

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number: (year, month 1-12, day 1-31).
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

/// The UTC day of an instant.
pub fn day_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(DAY_MS)
}

/// The month number of a day: `(year - 1970) * 12 + month - 1`.
pub fn month_of_day(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    (i64::from(y) - 1970) * 12 + i64::from(m) - 1
}

/// The first day of a month number.
pub fn month_start_day(month: i64) -> i64 {
    let y = 1970 + month.div_euclid(12);
    let m = month.rem_euclid(12) + 1;
    days_from_civil(y as i32, m as u32, 1)
}

/// `YYYY-MM-DD` of a day number.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 UTC with a `Z`; milliseconds only when the instant has them.
pub fn format_rfc3339(ts_ms: i64) -> String {
    let day = day_of(ts_ms);
    let (y, m, d) = civil_from_days(day);
    let in_day = ts_ms - day * DAY_MS;
    let (s, ms) = (in_day / 1000, in_day % 1000);
    let (hh, mm, ss) = (s / 3600, s / 60 % 60, s % 60);
    if !(0..=9999).contains(&y) {
        return if ms == 0 {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        } else {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
        };
    }
    // By hand: every row of every answer has one or two instants, and `format!` took 1.4 of a
    // 1,100-row who-read's 5 ms of printing.
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y as u32);
    put(5, 2, m);
    put(8, 2, d);
    put(11, 2, hh as u32);
    put(14, 2, mm as u32);
    put(17, 2, ss as u32);
    let len = if ms == 0 {
        b[19] = b'Z';
        20
    } else {
        put(20, 3, ms as u32);
        24
    };
    // Only ASCII digits and separators were written.
    String::from_utf8_lossy(&b[..len]).into_owned()
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() {
        return None;
    }
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn month_from_abbrev(b: &[u8]) -> Option<u32> {
    const NAMES: [&[u8; 3]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    NAMES.iter().position(|n| &n[..] == b).map(|i| i as u32 + 1)
}

fn valid_date(y: u32, mo: u32, d: u32) -> bool {
    if !(1..=12).contains(&mo) || d == 0 || !(1970..=9999).contains(&y) {
        return false;
    }
    let next = if mo == 12 { days_from_civil(y as i32 + 1, 1, 1) } else { days_from_civil(y as i32, mo + 1, 1) };
    i64::from(d) <= next - days_from_civil(y as i32, mo, 1)
}

/// Parses Tomcat's `%t` body `dd/MMM/yyyy:HH:mm:ss ±hhmm` (without brackets) to UTC milliseconds.
pub fn parse_tomcat(s: &[u8]) -> Option<i64> {
    // Fixed width: 26 bytes, e.g. "18/Dec/2020:12:57:26 +1100".
    if s.len() != 26 || s[2] != b'/' || s[6] != b'/' || s[11] != b':' || s[14] != b':' || s[17] != b':' || s[20] != b' '
    {
        return None;
    }
    let d = digits(&s[0..2])?;
    let mo = month_from_abbrev(&s[3..6])?;
    let y = digits(&s[7..11])?;
    let (hh, mi, ss) = (digits(&s[12..14])?, digits(&s[15..17])?, digits(&s[18..20])?);
    let sign: i64 = match s[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (oh, om) = (digits(&s[22..24])?, digits(&s[24..26])?);
    if hh > 23 || mi > 59 || ss > 60 || oh > 23 || om > 59 || !valid_date(y, mo, d) {
        return None;
    }
    let local = days_from_civil(y as i32, mo, d) * 86_400 + i64::from(hh) * 3600 + i64::from(mi) * 60 + i64::from(ss);
    let offset = sign * (i64::from(oh) * 3600 + i64::from(om) * 60);
    Some((local - offset) * 1000)
}

/// Parses `YYYY-MM-DD` (midnight UTC) or RFC 3339 (`...T..:..:..[.fff](Z|±hh:mm)`) to UTC milliseconds.
pub fn parse_instant(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    if !valid_date(y, mo, d) {
        return None;
    }
    let day_ms = days_from_civil(y as i32, mo, d) * DAY_MS;
    if b.len() == 10 {
        return Some(day_ms);
    }
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hh, mi, ss) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if hh > 23 || mi > 59 || ss > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut ms = 0i64;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let frac = &rest[1..1 + n];
        let take = &frac[..n.min(3)];
        ms = i64::from(digits(take)?) * 10i64.pow(3 - take.len() as u32);
        rest = &rest[1 + n..];
    }
    let offset_s: i64 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = i64::from(digits(&[*h1, *h2])?);
            let om = i64::from(digits(&[*m1, *m2])?);
            let v = oh * 3600 + om * 60;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let secs = i64::from(hh) * 3600 + i64::from(mi) * 60 + i64::from(ss) - offset_s;
    Some(day_ms + secs * 1000 + ms)
}

/// Parses a duration such as `90d`, `12h`, `2w`, `15m`, `30s`, `250ms` or `3y` (365 days a year) to milliseconds.
pub fn parse_span(s: &str) -> Option<i64> {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse().ok().filter(|n| *n > 0);
    }
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = num.parse().ok().filter(|n| *n > 0)?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => DAY_MS,
        "w" => 7 * DAY_MS,
        "y" => 365 * DAY_MS,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_centuries() {
        for day in -800_000..800_000i64 {
            if day % 997 != 0 {
                continue;
            }
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn tomcat_offsets_convert_to_utc() {
        let t = parse_tomcat(b"18/Dec/2020:12:57:26 +1100").unwrap();
        assert_eq!(format_rfc3339(t), "2020-12-18T01:57:26Z");
        let t = parse_tomcat(b"01/Jan/2021:00:30:00 -0530").unwrap();
        assert_eq!(format_rfc3339(t), "2021-01-01T06:00:00Z");
        // The DST switch: 02:59:59 +0100 and 03:00:00 +0200 are one second apart.
        let a = parse_tomcat(b"29/Mar/2026:01:59:59 +0100").unwrap();
        let b = parse_tomcat(b"29/Mar/2026:03:00:00 +0200").unwrap();
        assert_eq!(b - a, 1000);
    }

    #[test]
    fn rfc3339_matches_chrono() {
        // Fixed points, then a sweep across centuries at odd strides (with and without ms).
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_rfc3339(951_782_400_007), "2000-02-29T00:00:00.007Z");
        let mut t = -62_135_596_800_000i64; // 0001-01-01
        while t < 253_402_300_799_000 {
            let want = chrono::DateTime::from_timestamp_millis(t).unwrap();
            let fmt = if t % 1000 == 0 { "%Y-%m-%dT%H:%M:%SZ" } else { "%Y-%m-%dT%H:%M:%S%.3fZ" };
            assert_eq!(format_rfc3339(t), want.format(fmt).to_string(), "{t}");
            t += 7_777_777_777 + t.rem_euclid(1000);
        }
        // Outside four-digit years the shape is `format!`'s, as before.
        assert_eq!(format_rfc3339(253_402_300_800_000), "10000-01-01T00:00:00Z");
    }

    #[test]
    fn tomcat_rejects_malformed() {
        for bad in [
            &b"18/Dec/2020:12:57:26"[..],
            b"18/Xyz/2020:12:57:26 +1100",
            b"31/Feb/2020:12:57:26 +1100",
            b"18/Dec/2020:25:57:26 +1100",
            b"18/Dec/2020:12:57:26 *1100",
            b"1a/Dec/2020:12:57:26 +1100",
        ] {
            assert_eq!(parse_tomcat(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn instants_and_spans() {
        assert_eq!(parse_instant("2026-03-01"), Some(days_from_civil(2026, 3, 1) * DAY_MS));
        let t = parse_instant("2026-03-01T10:00:00+02:00").unwrap();
        assert_eq!(format_rfc3339(t), "2026-03-01T08:00:00Z");
        let t = parse_instant("2026-03-01T10:00:00.25Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-03-01T10:00:00.250Z");
        assert_eq!(parse_instant("2026-13-01"), None);
        assert_eq!(parse_instant("2026-03-01T10:00"), None);
        assert_eq!(parse_span("90d"), Some(90 * DAY_MS));
        assert_eq!(parse_span("2w"), Some(14 * DAY_MS));
        assert_eq!(parse_span("0d"), None);
        assert_eq!(parse_span("5m"), Some(300_000), "minutes, as in `--detect-every 15m`");
        assert_eq!(parse_span("3y"), Some(3 * 365 * DAY_MS));
        assert_eq!(parse_span("30s"), Some(30_000));
        assert_eq!(parse_span("250ms"), Some(250));
        assert_eq!(parse_span("5x"), None);
        assert_eq!(month_start_day(month_of_day(days_from_civil(2026, 2, 17))), days_from_civil(2026, 2, 1));
        assert_eq!(format_day(days_from_civil(2026, 11, 28)), "2026-11-28");
    }
}
