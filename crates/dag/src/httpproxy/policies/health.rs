//! `healthCheckPolicy` (active HTTP health checks).

use std::time::Duration;

use contour_api::v1::{HTTPHealthCheckPolicy, TCPHealthCheckPolicy};

use crate::policy::{HealthCheck, TcpHealthCheck};

fn secs(v: Option<i64>) -> Duration {
    Duration::from_secs(v.unwrap_or(0).max(0).unsigned_abs())
}

fn count(v: Option<i64>) -> u32 {
    u32::try_from(v.unwrap_or(0).max(0)).unwrap_or(u32::MAX)
}

/// Upstream's `httpHealthCheckPolicy`: unset numbers stay zero (defaults are the translator's).
pub fn health_check(hc: Option<&HTTPHealthCheckPolicy>) -> Result<Option<HealthCheck>, String> {
    let Some(hc) = hc else { return Ok(None) };
    let mut expected = Vec::new();
    for r in &hc.expected_statuses {
        if !(100..=599).contains(&r.start) {
            return Err(
                "invalid expected status range: start must be in the range [100, 599]".into(),
            );
        }
        if !(101..=600).contains(&r.end) {
            return Err(
                "invalid expected status range: end must be in the range [101, 600]".into(),
            );
        }
        expected.push((r.start, r.end));
    }
    Ok(Some(HealthCheck {
        path: hc.path.clone(),
        host: hc.host.clone().unwrap_or_default(),
        interval: secs(hc.interval_seconds),
        timeout: secs(hc.timeout_seconds),
        unhealthy_threshold: count(hc.unhealthy_threshold_count),
        healthy_threshold: count(hc.healthy_threshold_count),
        expected_statuses: expected,
    }))
}

/// Upstream's `tcpHealthCheckPolicy`: no validation, unset numbers stay zero.
pub fn tcp_health_check(hc: Option<&TCPHealthCheckPolicy>) -> Option<TcpHealthCheck> {
    let hc = hc?;
    Some(TcpHealthCheck {
        interval: secs(hc.interval_seconds),
        timeout: secs(hc.timeout_seconds),
        unhealthy_threshold: hc.unhealthy_threshold_count.unwrap_or(0),
        healthy_threshold: hc.healthy_threshold_count.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use contour_api::v1::HTTPStatusRange;

    #[test]
    fn ranges_are_checked() {
        let mut hc = HTTPHealthCheckPolicy {
            path: "/healthz".into(),
            interval_seconds: Some(5),
            expected_statuses: vec![HTTPStatusRange {
                start: 99,
                end: 200,
            }],
            ..Default::default()
        };
        assert_eq!(
            health_check(Some(&hc)).unwrap_err(),
            "invalid expected status range: start must be in the range [100, 599]"
        );
        hc.expected_statuses = vec![HTTPStatusRange {
            start: 200,
            end: 601,
        }];
        assert_eq!(
            health_check(Some(&hc)).unwrap_err(),
            "invalid expected status range: end must be in the range [101, 600]"
        );
        hc.expected_statuses = vec![HTTPStatusRange {
            start: 200,
            end: 300,
        }];
        let got = health_check(Some(&hc)).unwrap().unwrap();
        assert_eq!(got.interval, Duration::from_secs(5));
        assert_eq!(got.timeout, Duration::ZERO);
        assert_eq!(got.expected_statuses, vec![(200, 300)]);
    }
}
