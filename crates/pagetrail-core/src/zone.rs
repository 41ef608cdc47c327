//! Time zones for local-time questions ("was this read outside the reader's hours?"): an IANA
//! zone, with its daylight-saving changes, or a fixed offset.

use chrono::{Offset, TimeZone};

/// A zone as configured: `UTC`, an IANA name such as `Europe/Berlin`, or a fixed offset such
/// as `+05:30` or `-08:00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// Milliseconds east of UTC.
    Fixed(i64),
    Iana(chrono_tz::Tz),
}

impl Zone {
    pub const UTC: Zone = Zone::Fixed(0);

    /// `None` for anything that is neither an IANA name nor `±HH:MM` (within ±18 h).
    pub fn parse(s: &str) -> Option<Zone> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("utc") || s.eq_ignore_ascii_case("z") {
            return Some(Zone::UTC);
        }
        if let Some(rest) = s.strip_prefix('+').map(|r| (1, r)).or_else(|| s.strip_prefix('-').map(|r| (-1, r))) {
            let (sign, hm) = rest;
            let (h, m) = hm.split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            if m >= 60 || h * 60 + m > 18 * 60 {
                return None;
            }
            return Some(Zone::Fixed(sign * (h * 60 + m) * 60_000));
        }
        s.parse::<chrono_tz::Tz>().ok().map(Zone::Iana)
    }

    /// The zone's offset from UTC at an instant, in milliseconds.
    pub fn offset_ms(&self, utc_ms: i64) -> i64 {
        match self {
            Zone::Fixed(off) => *off,
            Zone::Iana(tz) => match chrono::DateTime::from_timestamp_millis(utc_ms) {
                Some(t) => i64::from(tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc()) * 1_000,
                None => 0,
            },
        }
    }

    /// As it would be configured.
    pub fn name(&self) -> String {
        match self {
            Zone::Fixed(0) => "UTC".into(),
            Zone::Fixed(off) => {
                let m = off.abs() / 60_000;
                format!("{}{:02}:{:02}", if *off < 0 { '-' } else { '+' }, m / 60, m % 60)
            }
            Zone::Iana(tz) => tz.name().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    #[test]
    fn parses_names_offsets_and_utc() {
        assert_eq!(Zone::parse("UTC"), Some(Zone::UTC));
        assert_eq!(Zone::parse("+05:30"), Some(Zone::Fixed(330 * 60_000)));
        assert_eq!(Zone::parse("-08:00"), Some(Zone::Fixed(-480 * 60_000)));
        assert_eq!(Zone::parse("Europe/Berlin"), Some(Zone::Iana(chrono_tz::Europe::Berlin)));
        for bad in ["Europe/Berln", "+5:30", "+19:00", "+05:75", "", "5"] {
            assert_eq!(Zone::parse(bad), None, "{bad}");
        }
        assert_eq!(Zone::parse("+05:45").unwrap().name(), "+05:45");
        assert_eq!(Zone::parse("-03:30").unwrap().name(), "-03:30");
        assert_eq!(Zone::parse("Asia/Kathmandu").unwrap().name(), "Asia/Kathmandu");
    }

    #[test]
    fn offsets_follow_daylight_saving() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let at = |s: &str| parse_instant(s).unwrap();
        assert_eq!(berlin.offset_ms(at("2026-01-15T12:00:00Z")), 3_600_000);
        assert_eq!(berlin.offset_ms(at("2026-07-15T12:00:00Z")), 7_200_000);
        // Clocks go forward at 01:00 UTC on the last Sunday of March.
        assert_eq!(berlin.offset_ms(at("2026-03-29T00:59:59Z")), 3_600_000);
        assert_eq!(berlin.offset_ms(at("2026-03-29T01:00:00Z")), 7_200_000);
        assert_eq!(Zone::parse("+05:30").unwrap().offset_ms(0), 19_800_000);
    }
}
