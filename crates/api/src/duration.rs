//! Go's duration syntax (`time.ParseDuration`), which contour.yaml, ContourConfiguration and the
//! Contour annotations use: a sequence of decimal numbers with units (`300ms`, `1h30m`, `1.5s`),
//! or a bare `0`. Upstream's timeout settings add `infinity` / `infinite` for "disabled".

use std::time::Duration;

/// Why a duration string does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

/// Nanoseconds per unit, longest unit names first so `ms` is not read as `m`.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a non-negative Go duration. A leading `+` is accepted; a negative duration is refused
/// (no timeout or interval Contour configures can be negative).
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError {
        input: input.to_string(),
        reason,
    };
    let mut rest = input.strip_prefix('+').unwrap_or(input);
    if rest.starts_with('-') {
        return Err(err("negative durations are not allowed"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(err("empty duration"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(err("expected a number"));
        }
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(err(if unit.is_empty() {
                "missing unit"
            } else {
                "unknown unit"
            }));
        };
        total = total
            .checked_add(scaled(number, scale).ok_or_else(|| err("duration out of range"))?)
            .ok_or_else(|| err("duration out of range"))?;
        rest = next;
    }
    let nanos = u64::try_from(total).map_err(|_| err("duration out of range"))?;
    Ok(Duration::from_nanos(nanos))
}

/// `number` (digits with an optional fraction) times `scale` nanoseconds, truncated.
fn scaled(number: &str, scale: u128) -> Option<u128> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(scale)?;
    let mut divisor: u128 = 1;
    for digit in frac.chars().take(30) {
        divisor *= 10;
        let d = u128::from(digit.to_digit(10)?);
        value = value.checked_add(d * scale / divisor)?;
    }
    Some(value)
}

/// A timeout as upstream's `timeout.Parse` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeoutSetting {
    /// Not set (empty string, or a zero duration): Envoy's own default applies.
    #[default]
    Default,
    /// `infinity` / `infinite`: explicitly disabled (Envoy's `0s`).
    Disabled,
    /// A positive duration.
    Duration(Duration),
}

impl TimeoutSetting {
    /// Parses `""`, `infinity`, `infinite` or a Go duration.
    pub fn parse(input: &str) -> Result<TimeoutSetting, DurationError> {
        match input {
            "" => Ok(TimeoutSetting::Default),
            "infinity" | "infinite" => Ok(TimeoutSetting::Disabled),
            _ => match parse_go_duration(input)? {
                Duration::ZERO => Ok(TimeoutSetting::Default),
                d => Ok(TimeoutSetting::Duration(d)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::seconds("2s", 2_000)]
    #[case::millis("300ms", 300)]
    #[case::compound("1h30m", 5_400_000)]
    #[case::fraction("1.5s", 1_500)]
    #[case::leading_dot(".5s", 500)]
    #[case::micro("1500us", 1)]
    #[case::micro_sign("2000µs", 2)]
    #[case::zero("0", 0)]
    #[case::zero_unit("0s", 0)]
    #[case::plus("+1m", 60_000)]
    fn parses(#[case] input: &str, #[case] millis: u128) {
        assert_eq!(parse_go_duration(input).unwrap().as_millis(), millis);
    }

    #[rstest]
    #[case::empty("")]
    #[case::no_unit("10")]
    #[case::bad_unit("10d")]
    #[case::negative("-1s")]
    #[case::word("forever")]
    #[case::double_dot("1..2s")]
    #[case::lone_dot(".s")]
    #[case::overflow("99999999999999999999h")]
    fn refuses(#[case] input: &str) {
        assert!(parse_go_duration(input).is_err(), "{input}");
    }

    #[test]
    fn timeout_settings() {
        assert_eq!(TimeoutSetting::parse(""), Ok(TimeoutSetting::Default));
        assert_eq!(TimeoutSetting::parse("0s"), Ok(TimeoutSetting::Default));
        assert_eq!(
            TimeoutSetting::parse("infinity"),
            Ok(TimeoutSetting::Disabled)
        );
        assert_eq!(
            TimeoutSetting::parse("infinite"),
            Ok(TimeoutSetting::Disabled)
        );
        assert_eq!(
            TimeoutSetting::parse("5s"),
            Ok(TimeoutSetting::Duration(Duration::from_secs(5)))
        );
        assert!(TimeoutSetting::parse("5 s").is_err());
    }
}
