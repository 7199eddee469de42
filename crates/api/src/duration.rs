//! Go's durations, the one implementation every crate uses: `time.ParseDuration` with Go's error
//! messages (they reach status conditions and configuration errors), `Duration.String()` (it
//! feeds cluster-name hashes, so it must be byte-identical), and upstream's timeout settings
//! (`""` and zero mean "Envoy's default", `infinity` / `infinite` disable).
//!
//! Grammar: an optional sign, then one or more `<decimal><unit>` terms (`1h30m`, `1.5s`, `.5m`,
//! `300ms`), units `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`; a bare `0` is allowed.

use std::time::Duration;

#[cfg(test)]
mod tests;

/// A duration that does not parse, worded as Go's `time` package (or upstream) words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError(pub String);

impl std::fmt::Display for DurationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DurationError {}

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

/// Go's `time.ParseDuration`: signed nanoseconds, or Go's error message.
pub fn parse_go_nanos(input: &str) -> Result<i128, DurationError> {
    let invalid = || DurationError(format!("time: invalid duration \"{input}\""));
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
            return Err(DurationError(format!(
                "time: missing unit in duration \"{input}\""
            )));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(DurationError(format!(
                "time: unknown unit \"{unit}\" in duration \"{input}\""
            )));
        };
        total = value
            .to_nanos(scale)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(invalid)?;
        if total > MAX_NANOS {
            return Err(invalid());
        }
        rest = &after[unit_len..];
    }
    Ok(if negative { -total } else { total })
}

/// A non-negative Go duration. A negative one is refused with Go's "invalid duration" wording:
/// nothing Contour configures with a duration can be negative.
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let nanos = parse_go_nanos(input)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| DurationError(format!("time: invalid duration \"{input}\"")))
}

/// A decimal number split at its point.
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
        let nanos = whole.checked_mul(scale)?;
        nanos.checked_add(self.fraction_nanos(scale))
    }

    /// The fraction as Go computes it: the leading digits that fit in 63 bits, scaled in
    /// floating point and truncated (`1.9ns` is 1ns).
    fn fraction_nanos(&self, scale: i128) -> i128 {
        let mut digits: u64 = 0;
        let mut divisor: f64 = 1.0;
        for d in self.fraction.bytes().map(|b| u64::from(b - b'0')) {
            let next = digits * 10 + d;
            if digits > i64::MAX as u64 / 10 || next > 1 << 63 {
                break;
            }
            digits = next;
            divisor *= 10.0;
        }
        // Truncation toward zero is what Go's float-to-integer conversion does.
        (digits as f64 * (scale as f64 / divisor)) as i128
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

/// A timeout as upstream's `timeout.Parse` reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// Parses `""`, `infinity`, `infinite` or a Go duration, with upstream's error wording.
    pub fn parse(input: &str) -> Result<TimeoutSetting, DurationError> {
        match input {
            "" => Ok(TimeoutSetting::Default),
            "infinity" | "infinite" => Ok(TimeoutSetting::Disabled),
            _ => match parse_go_duration(input) {
                Ok(Duration::ZERO) => Ok(TimeoutSetting::Default),
                Ok(d) => Ok(TimeoutSetting::Duration(d)),
                Err(e) => Err(DurationError(format!(
                    "unable to parse timeout string \"{input}\": {e}"
                ))),
            },
        }
    }

    pub fn is_default(&self) -> bool {
        *self == TimeoutSetting::Default
    }
}
