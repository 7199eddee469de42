//! Durations as upstream reads and prints them: Go's `time.ParseDuration` syntax (`1h30m`,
//! `500ms`, `1.5s`), Go's `Duration.String()` rendering (it feeds the cluster-name hash, so it
//! must be byte-identical), and upstream's timeout settings (`""` and `0s` mean "Envoy's
//! default", `infinity` disables).

use std::time::Duration;

/// A parse failure, worded as Go's `time` package words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError(pub String);

impl std::fmt::Display for DurationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a Go duration string. Negative durations are refused (no HTTPProxy field takes one).
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError(format!("time: invalid duration \"{input}\""));
    let mut rest = input.strip_prefix('+').unwrap_or(input);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() || rest.starts_with('-') {
        return Err(invalid());
    }
    let mut total_ns: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(DurationError(format!(
                "time: missing unit in duration \"{input}\""
            )));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(DurationError(format!(
                "time: unknown unit \"{unit}\" in duration \"{input}\""
            )));
        };
        total_ns = total_ns.saturating_add(scaled(num, scale).ok_or_else(invalid)?);
        rest = next;
    }
    let ns = u64::try_from(total_ns).map_err(|_| invalid())?;
    Ok(Duration::from_nanos(ns))
}

/// `whole.frac` times `scale` nanoseconds, truncating below a nanosecond as Go does.
fn scaled(num: &str, scale: u128) -> Option<u128> {
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(scale)?;
    let mut divisor: u128 = 1;
    let mut frac_value: u128 = 0;
    for d in frac.chars().take(30) {
        frac_value = frac_value * 10 + u128::from(d.to_digit(10)?);
        divisor *= 10;
    }
    value = value.checked_add(frac_value * scale / divisor)?;
    Some(value)
}

/// Go's `time.Duration.String()`: `0s`, `1.5s`, `1m0s`, `1h2m3s`, `500ms`, `1µs`, `10ns`.
pub fn go_duration_string(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_string();
    }
    if ns < 1_000_000_000 {
        let (unit, scale) = if ns < 1_000 {
            ("ns", 1)
        } else if ns < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", fixed(ns, scale));
    }
    let hours = ns / 3_600_000_000_000;
    let minutes = (ns / 60_000_000_000) % 60;
    let seconds = fixed(ns % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / scale` with the fraction's trailing zeros removed (`1500, 1000` → `1.5`).
fn fixed(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A timeout as upstream models it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timeout {
    /// Not set: Envoy's default applies (the field is left out).
    #[default]
    Default,
    /// `infinity`: no timeout (Envoy `0s`).
    Disabled,
    Set(Duration),
}

impl Timeout {
    /// Upstream's `timeout.Parse`: `""` and zero durations are the default, `infinity` and
    /// `infinite` disable, anything else is a Go duration.
    pub fn parse(value: &str) -> Result<Timeout, DurationError> {
        match value {
            "" => Ok(Timeout::Default),
            "infinity" | "infinite" => Ok(Timeout::Disabled),
            _ => {
                let d = parse_go_duration(value).map_err(|e| {
                    DurationError(format!("unable to parse timeout string \"{value}\": {e}"))
                })?;
                Ok(if d.is_zero() {
                    Timeout::Default
                } else {
                    Timeout::Set(d)
                })
            }
        }
    }

    pub fn is_default(&self) -> bool {
        *self == Timeout::Default
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("0", 0)]
    #[case("0s", 0)]
    #[case("1s", 1_000_000_000)]
    #[case("1.5s", 1_500_000_000)]
    #[case("500ms", 500_000_000)]
    #[case("1h30m", 5_400_000_000_000)]
    #[case("2us", 2_000)]
    #[case("2µs", 2_000)]
    #[case(".5m", 30_000_000_000)]
    fn parses_go_durations(#[case] input: &str, #[case] nanos: u64) {
        assert_eq!(parse_go_duration(input), Ok(Duration::from_nanos(nanos)));
    }

    #[rstest]
    #[case("", "time: invalid duration \"\"")]
    #[case("abc", "time: invalid duration \"abc\"")]
    #[case("1", "time: missing unit in duration \"1\"")]
    #[case("1x", "time: unknown unit \"x\" in duration \"1x\"")]
    #[case("-1s", "time: invalid duration \"-1s\"")]
    fn refuses_like_go(#[case] input: &str, #[case] message: &str) {
        assert_eq!(parse_go_duration(input).unwrap_err().0, message);
    }

    #[rstest]
    #[case(0, "0s")]
    #[case(1_000_000_000, "1s")]
    #[case(1_500_000_000, "1.5s")]
    #[case(60_000_000_000, "1m0s")]
    #[case(3_600_000_000_000, "1h0m0s")]
    #[case(3_723_000_000_000, "1h2m3s")]
    #[case(500_000_000, "500ms")]
    #[case(1_500_000, "1.5ms")]
    #[case(1_000, "1µs")]
    #[case(10, "10ns")]
    fn prints_like_go(#[case] nanos: u64, #[case] want: &str) {
        assert_eq!(go_duration_string(Duration::from_nanos(nanos)), want);
    }

    #[test]
    fn timeout_settings_follow_upstream() {
        assert_eq!(Timeout::parse(""), Ok(Timeout::Default));
        assert_eq!(Timeout::parse("0s"), Ok(Timeout::Default));
        assert_eq!(Timeout::parse("infinity"), Ok(Timeout::Disabled));
        assert_eq!(Timeout::parse("infinite"), Ok(Timeout::Disabled));
        assert_eq!(
            Timeout::parse("2s"),
            Ok(Timeout::Set(Duration::from_secs(2)))
        );
        assert_eq!(
            Timeout::parse("xx").unwrap_err().0,
            "unable to parse timeout string \"xx\": time: invalid duration \"xx\""
        );
    }
}
