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

/// CPU time (user + system) a process has used, in milliseconds (`/proc/<pid>/stat`, in clock
/// ticks of 10 ms on Linux).
pub fn proc_cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_of_this_process_grows_with_work() {
        let pid = std::process::id();
        let before = proc_cpu_ms(pid).expect("own /proc stat");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut x = 0u64;
        // Work until the kernel has counted at least 30 ms more (it counts in 10 ms ticks).
        let after = loop {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            let now = proc_cpu_ms(pid).expect("own /proc stat");
            if now - before >= 30.0 || std::time::Instant::now() > deadline {
                break now;
            }
        };
        assert!(after - before >= 30.0, "{before} -> {after}");
    }

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
