//! Civil dates and the Europe/Berlin offset rule, by hand so the generator needs no tz database.

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y as i64 - 1 } else { y as i64 };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

/// 0 = Monday … 6 = Sunday.
pub(crate) fn weekday(days: i64) -> u32 {
    (days + 3).rem_euclid(7) as u32
}

fn last_sunday(y: i32, m: u32) -> i64 {
    // Only called for March and October, which both have 31 days.
    let last = days_from_civil(y, m, 31);
    last - ((weekday(last) + 1) % 7) as i64
}

/// UTC instants (s) where summer time starts and ends in `year`: last Sunday of March and of October, 01:00 UTC.
pub(crate) fn dst_bounds(year: i32) -> (i64, i64) {
    (last_sunday(year, 3) * 86_400 + 3600, last_sunday(year, 10) * 86_400 + 3600)
}

/// Offset of Europe/Berlin from UTC in seconds at a UTC instant.
pub(crate) fn offset_at(utc: i64) -> i32 {
    let (y, _, _) = civil_from_days(utc.div_euclid(86_400));
    let (start, end) = dst_bounds(y);
    if utc >= start && utc < end {
        7200
    } else {
        3600
    }
}

/// UTC instant of a Berlin wall-clock time; in the spring gap and autumn overlap it picks one valid answer.
pub(crate) fn local_to_utc(local: i64) -> i64 {
    let std = local - 3600;
    if offset_at(std) == 7200 {
        let dst = local - 7200;
        if offset_at(dst) == 7200 {
            return dst;
        }
    }
    std
}

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// Tomcat `%t`: `[dd/MMM/yyyy:HH:mm:ss +zzzz]`, always 28 bytes.
pub(crate) fn format_ts(utc: i64, offset: i32, out: &mut [u8; 28]) {
    let local = utc + offset as i64;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let sod = local.rem_euclid(86_400) as u32;
    let two = |v: u32, o: &mut [u8]| {
        o[0] = b'0' + (v / 10) as u8;
        o[1] = b'0' + (v % 10) as u8;
    };
    out[0] = b'[';
    two(d, &mut out[1..3]);
    out[3] = b'/';
    out[4..7].copy_from_slice(MONTHS[(m - 1) as usize]);
    out[7] = b'/';
    let y = y.clamp(0, 9999) as u32;
    two(y / 100, &mut out[8..10]);
    two(y % 100, &mut out[10..12]);
    out[12] = b':';
    two(sod / 3600, &mut out[13..15]);
    out[15] = b':';
    two(sod / 60 % 60, &mut out[16..18]);
    out[18] = b':';
    two(sod % 60, &mut out[19..21]);
    out[21] = b' ';
    out[22] = if offset < 0 { b'-' } else { b'+' };
    let off_min = offset.unsigned_abs() / 60;
    two(off_min / 60, &mut out[23..25]);
    two(off_min % 60, &mut out[25..27]);
    out[27] = b']';
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_weekday() {
        for z in [-1000i64, 0, 19_000, 20_528, 30_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        // 2026-03-16 is a Monday, 2026-03-29 a Sunday.
        assert_eq!(weekday(days_from_civil(2026, 3, 16)), 0);
        assert_eq!(weekday(days_from_civil(2026, 3, 29)), 6);
    }

    #[test]
    fn berlin_switches_2026() {
        let (start, end) = dst_bounds(2026);
        assert_eq!(civil_from_days(start / 86_400), (2026, 3, 29));
        assert_eq!(civil_from_days(end / 86_400), (2026, 10, 25));
        assert_eq!(offset_at(start - 1), 3600);
        assert_eq!(offset_at(start), 7200);
        assert_eq!(offset_at(end), 3600);
        // 12:00 local in summer is 10:00 UTC.
        let noon = days_from_civil(2026, 7, 1) * 86_400 + 12 * 3600;
        assert_eq!(local_to_utc(noon), noon - 7200);
        let mut b = [0u8; 28];
        format_ts(start, 7200, &mut b);
        assert_eq!(&b, b"[29/Mar/2026:03:00:00 +0200]");
    }
}
