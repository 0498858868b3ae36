//! Instants for the `Date…` operators and `aws:CurrentTime` / `aws:EpochTime`.
//!
//! IAM accepts the W3C profiles of ISO 8601 and epoch **seconds** (IAM User Guide, condition
//! operators, "Date condition operators"). Values compare as instants, so an epoch key can meet an
//! ISO policy value and vice versa.
//!
//! ```text
//! 2024                      ⇒ 2024-01-01T00:00:00Z
//! 2024-06                   ⇒ 2024-06-01T00:00:00Z
//! 2024-01-01                ⇒ 2024-01-01T00:00:00Z (exactly midnight: DateEquals is instant equality)
//! 2024-01-01T10:00Z         ⇒ 10:00:00 UTC
//! 2016-12-13t2:00:00.5+23   ⇒ lower-case t, one-digit hour, ±hh offset: accepted (IAM does)
//! 1704067200                ⇒ 2024-01-01T00:00:00Z (seconds, not milliseconds)
//! 2016-12-13T02:00:00+1     ⇒ rejected (one-digit offset)
//! yesterday                 ⇒ rejected
//! ```

use chrono::{NaiveDate, NaiveTime};

/// Nanoseconds since 1970-01-01T00:00:00Z.
pub type Instant = i128;

const NANOS: i128 = 1_000_000_000;

/// Parses an ISO 8601 date/time or signed epoch seconds.
pub fn parse(text: &str) -> Option<Instant> {
    let bytes = text.as_bytes();
    if !bytes.is_empty() && text.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit()) && bytes.len() != 4
    {
        // Epoch seconds (a lone 4-digit number is a year).
        let secs: i64 = text.parse().ok()?;
        return Some(i128::from(secs) * NANOS);
    }
    let (date_part, time_part) = match text.find(['T', 't']) {
        Some(i) => (text.get(..i)?, Some(text.get(i + 1..)?)),
        None => (text, None),
    };
    let mut fields = date_part.split('-');
    let year: i32 = digits(fields.next()?, 4, 4)?.parse().ok()?;
    let month: u32 = match fields.next() {
        Some(m) => digits(m, 2, 2)?.parse().ok()?,
        None => 1,
    };
    let day: u32 = match fields.next() {
        Some(d) => digits(d, 2, 2)?.parse().ok()?,
        None => 1,
    };
    if fields.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let (time, offset_secs) = match time_part {
        None => (NaiveTime::MIN, 0),
        Some(t) => parse_time(t)?,
    };
    let local = date.and_time(time);
    let utc_secs = local.and_utc().timestamp() - i64::from(offset_secs);
    Some(i128::from(utc_secs) * NANOS + i128::from(time.nanosecond_part()))
}

trait NanoPart {
    fn nanosecond_part(&self) -> u32;
}
impl NanoPart for NaiveTime {
    fn nanosecond_part(&self) -> u32 {
        chrono::Timelike::nanosecond(self)
    }
}

fn digits(s: &str, min: usize, max: usize) -> Option<&str> {
    (s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// `hh:mm[:ss[.f…]]` followed by `Z`, `±hh`, `±hh:mm` or `±hhmm` (or nothing: UTC).
fn parse_time(t: &str) -> Option<(NaiveTime, i32)> {
    let zone_at = t.find(['Z', 'z', '+', '-']).unwrap_or(t.len());
    let (clock, zone) = (t.get(..zone_at)?, t.get(zone_at..)?);
    let mut parts = clock.splitn(3, ':');
    let hour: u32 = digits(parts.next()?, 1, 2)?.parse().ok()?;
    let minute: u32 = digits(parts.next()?, 2, 2)?.parse().ok()?;
    let (second, nanos) = match parts.next() {
        None => (0, 0),
        Some(s) => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
            let second: u32 = digits(whole, 2, 2)?.parse().ok()?;
            if s.contains('.') && frac.is_empty() {
                return None;
            }
            let frac = if frac.is_empty() { "0" } else { digits(frac, 1, 9)? };
            let nanos: u32 = format!("{frac:0<9}").parse().ok()?;
            (second, nanos)
        }
    };
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let offset = match zone {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let body = zone.get(1..)?;
            let (h, m) = match body.len() {
                2 => (body, "00"),
                4 => (body.get(..2)?, body.get(2..)?),
                5 if body.as_bytes().get(2) == Some(&b':') => (body.get(..2)?, body.get(3..)?),
                _ => return None,
            };
            let h: i32 = digits(h, 2, 2)?.parse().ok()?;
            let m: i32 = digits(m, 2, 2)?.parse().ok()?;
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    Some((time, offset))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const JAN_1_2024: Instant = 1_704_067_200 * NANOS;

    #[test]
    fn the_documented_table() {
        assert_eq!(parse("2024"), Some(JAN_1_2024));
        assert_eq!(parse("2024-06"), parse("2024-06-01T00:00:00Z"));
        assert_eq!(parse("2024-01-01"), Some(JAN_1_2024));
        assert_eq!(parse("2024-01-01T10:00Z"), Some(JAN_1_2024 + 10 * 3600 * NANOS));
        assert!(parse("2016-12-13t2:00:00.5+23").is_some());
        assert_eq!(parse("1704067200"), Some(JAN_1_2024));
        assert_eq!(parse("2016-12-13T02:00:00+1"), None);
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn offsets_and_fractions() {
        assert_eq!(parse("2024-01-01T01:00:00+01:00"), Some(JAN_1_2024));
        assert_eq!(parse("2024-01-01T01:00:00+0100"), Some(JAN_1_2024));
        assert_eq!(parse("2023-12-31T23:00:00-01"), Some(JAN_1_2024));
        assert_eq!(parse("2024-01-01T00:00:00.25Z"), Some(JAN_1_2024 + NANOS / 4));
        assert_eq!(parse("2024-01-01T00:00:00.1234567890Z"), None);
        assert_eq!(parse("-292275054"), Some(-292_275_054 * NANOS));
        assert_eq!(parse("9223372036854775808"), None);
        assert_eq!(parse("234-13"), None);
        assert_eq!(parse("2024-02-30"), None);
    }
}
