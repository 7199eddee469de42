//! Reading what a process exposes about itself: Prometheus samples and `/proc` memory figures.

/// The value of the first sample of `name` in a Prometheus text exposition: a line `name value`
/// or `name{labels} value`. Comments are skipped.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    sample_value(text, |l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
    })
}

/// The value of the first sample whose line starts with `series` (e.g. `name{kind="HTTPProxy"}`).
pub fn series_value(text: &str, series: &str) -> Option<f64> {
    sample_value(text, |l| l.starts_with(series))
}

fn sample_value(text: &str, matches: impl Fn(&str) -> bool) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| matches(l))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`, ...), in bytes.
pub fn proc_status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "# HELP x\n# TYPE x counter\nx_total 3\nx_total_other 9\ny{kind=\"A\"} 2.5\n";

    #[test]
    fn samples() {
        assert_eq!(metric_value(TEXT, "x_total"), Some(3.0));
        assert_eq!(metric_value(TEXT, "y"), Some(2.5));
        assert_eq!(metric_value(TEXT, "x"), None);
        assert_eq!(series_value(TEXT, "y{kind=\"A\"}"), Some(2.5));
    }

    #[test]
    fn own_memory() {
        let rss = proc_status_bytes(std::process::id(), "VmRSS").unwrap();
        assert!(rss > 0);
        assert!(proc_status_bytes(std::process::id(), "NoSuchField").is_none());
    }
}
