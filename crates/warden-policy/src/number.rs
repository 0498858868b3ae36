//! Exact decimal numbers for the `Numeric…` operators.
//!
//! IAM compares numbers numerically (`"10"` equals `"10.0"`); comparing through `f64` would make
//! `0.1 + 0.2`-style surprises possible, so values are kept as fixed-point integers with 18
//! fractional digits.
//!
//! ```text
//! "10" = "10.0" = "+10.000"     "-0.5" < "0"     "1e3" ⇒ not a number     "1.0000000000000000001" ⇒ not a number
//! ```

/// A decimal with 18 fractional digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal(i128);

const SCALE_DIGITS: usize = 18;
const SCALE: i128 = 1_000_000_000_000_000_000;

impl Decimal {
    /// Parses `[+-]digits[.digits]`; `None` when that is not the shape or the value is out of range
    /// (about ±1.7e20) or has more than 18 fractional digits.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, body) = match text.as_bytes().first()? {
            b'-' => (true, text.get(1..)?),
            b'+' => (false, text.get(1..)?),
            _ => (false, text),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if body.contains('.') && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if frac.len() > SCALE_DIGITS {
            return None;
        }
        let mut value: i128 = 0;
        for b in int.bytes() {
            value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        value = value.checked_mul(SCALE)?;
        let mut frac_value: i128 = 0;
        for b in frac.bytes() {
            frac_value = frac_value * 10 + i128::from(b - b'0');
        }
        for _ in frac.len()..SCALE_DIGITS {
            frac_value *= 10;
        }
        value = value.checked_add(frac_value)?;
        Some(Decimal(if negative { -value } else { value }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_table() {
        assert_eq!(Decimal::parse("10"), Decimal::parse("10.0"));
        assert_eq!(Decimal::parse("10"), Decimal::parse("+10.000"));
        assert!(Decimal::parse("-0.5").unwrap() < Decimal::parse("0").unwrap());
        assert_eq!(Decimal::parse("1e3"), None);
        assert_eq!(Decimal::parse("1.0000000000000000001"), None);
    }

    #[test]
    fn rejects_non_numbers_and_overflow() {
        for bad in ["", "-", ".", "1.", "abc", "1,5", " 1", "999999999999999999999999"] {
            assert_eq!(Decimal::parse(bad), None, "{bad:?}");
        }
        assert!(Decimal::parse(".5").unwrap() > Decimal::parse("0.49").unwrap());
    }
}
