//! Go's `time.ParseDuration`, which upstream Contour uses for every duration field, with Go's
//! error messages (they reach status conditions).
//!
//! Grammar: an optional sign, then one or more `<decimal><unit>` terms (`1h30m`, `1.5s`,
//! `300ms`); units `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`; a bare `0` is allowed.

/// Nanoseconds per unit, as Go spells the units.
const UNITS: &[(&str, i128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Go's `time.Duration` range (int64 nanoseconds).
const MAX_NANOS: i128 = i64::MAX as i128;

/// Parses a Go duration into nanoseconds, or returns Go's error message.
pub fn parse(input: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration \"{input}\"");
    let (negative, mut rest) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let (value, after) = number(rest).ok_or_else(invalid)?;
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let unit = &after[..unit_len];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration \"{input}\""));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(format!(
                "time: unknown unit \"{unit}\" in duration \"{input}\""
            ));
        };
        total += value.to_nanos(scale).ok_or_else(invalid)?;
        if total > MAX_NANOS {
            return Err(invalid());
        }
        rest = &after[unit_len..];
    }
    Ok(if negative { -total } else { total })
}

/// A decimal number split at its point, so nothing is lost to floating point.
struct Decimal<'a> {
    whole: &'a str,
    fraction: &'a str,
}

impl Decimal<'_> {
    fn to_nanos(&self, scale: i128) -> Option<i128> {
        let whole: i128 = if self.whole.is_empty() {
            0
        } else {
            self.whole.parse().ok()?
        };
        let mut nanos = whole.checked_mul(scale)?;
        // Go keeps the fraction's precision up to what the unit can express.
        let mut unit = scale;
        for digit in self.fraction.bytes().map(|b| i128::from(b - b'0')) {
            unit /= 10;
            if unit == 0 {
                break;
            }
            nanos += digit * unit;
        }
        Some(nanos)
    }
}

/// Reads `[0-9]*(\.[0-9]*)?` with at least one digit.
fn number(s: &str) -> Option<(Decimal<'_>, &str)> {
    let whole_len = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let whole = &s[..whole_len];
    let mut rest = &s[whole_len..];
    let mut fraction = "";
    if let Some(after_dot) = rest.strip_prefix('.') {
        let len = after_dot
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_dot.len());
        fraction = &after_dot[..len];
        rest = &after_dot[len..];
    }
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    Some((Decimal { whole, fraction }, rest))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn go_examples() {
        let s = 1_000_000_000i128;
        let cases = [
            ("0", 0),
            ("5s", 5 * s),
            ("1.5h", 5400 * s),
            ("1h30m", 5400 * s),
            ("300ms", 300_000_000),
            ("-2m", -120 * s),
            ("+10s", 10 * s),
            (".5s", 500_000_000),
            ("1.s", s),
            ("2us", 2000),
            ("2µs", 2000),
            ("1ns", 1),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), Ok(want), "{input}");
        }
    }

    #[test]
    fn go_errors() {
        let cases = [
            ("", "time: invalid duration \"\""),
            ("abc", "time: invalid duration \"abc\""),
            ("10", "time: missing unit in duration \"10\""),
            ("3d", "time: unknown unit \"d\" in duration \"3d\""),
            (".s", "time: invalid duration \".s\""),
            ("-", "time: invalid duration \"-\""),
            ("9999999999h", "time: invalid duration \"9999999999h\""),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), Err(want.to_string()), "{input}");
        }
    }
}
