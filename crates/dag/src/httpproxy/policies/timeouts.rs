//! `timeoutPolicy` and `retryPolicy`.

use std::time::Duration;

use contour_api::v1::{RetryPolicy as ApiRetryPolicy, TimeoutPolicy};

use crate::duration::{Timeout, parse_go_duration};
use crate::policy::RetryPolicy;

/// The route's response and idle timeouts and the cluster's idle connection timeout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub response: Timeout,
    pub idle: Timeout,
    pub idle_connection: Timeout,
}

/// Upstream's `timeoutPolicy`: each field parsed with upstream's timeout rules.
pub fn timeouts(tp: Option<&TimeoutPolicy>) -> Result<Timeouts, String> {
    let Some(tp) = tp else {
        return Ok(Timeouts::default());
    };
    let parse = |value: &Option<String>, what: &str| {
        Timeout::parse(value.as_deref().unwrap_or_default())
            .map_err(|e| format!("error parsing {what} timeout: {e}"))
    };
    Ok(Timeouts {
        response: parse(&tp.response, "response")?,
        idle: parse(&tp.idle, "idle")?,
        idle_connection: parse(&tp.idle_connection, "idle connection")?,
    })
}

/// Upstream's `retryPolicy`: `count` -1 means no retries, 0 and 1 mean one, the per-try
/// timeout falls back to Envoy's default when it does not parse, `retryOn` defaults to `5xx`.
pub fn retry_policy(rp: Option<&ApiRetryPolicy>) -> Option<RetryPolicy> {
    let rp = rp?;
    let per_try_timeout = rp
        .per_try_timeout
        .as_deref()
        .and_then(|s| parse_go_duration(s).ok())
        .filter(|d| *d != Duration::ZERO)
        .map_or(Timeout::Default, Timeout::Duration);
    let num_retries = match rp.count.unwrap_or(1) {
        -1 => 0,
        0 | 1 => 1,
        n => u32::try_from(n).unwrap_or(u32::MAX),
    };
    let retry_on = if rp.retry_on.is_empty() {
        "5xx".to_string()
    } else {
        rp.retry_on.join(",")
    };
    Some(RetryPolicy {
        retry_on,
        retriable_status_codes: rp.retriable_status_codes.clone(),
        num_retries,
        per_try_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::disabled(Some(-1), 0)]
    #[case::zero(Some(0), 1)]
    #[case::one(Some(1), 1)]
    #[case::unset(None, 1)]
    #[case::three(Some(3), 3)]
    fn retry_count(#[case] count: Option<i64>, #[case] want: u32) {
        let rp = ApiRetryPolicy {
            count,
            ..Default::default()
        };
        let got = retry_policy(Some(&rp)).unwrap();
        assert_eq!(got.num_retries, want);
        assert_eq!(got.retry_on, "5xx");
        assert_eq!(got.per_try_timeout, Timeout::Default);
    }

    #[test]
    fn retry_on_and_per_try() {
        let rp = ApiRetryPolicy {
            per_try_timeout: Some("250ms".into()),
            retry_on: vec!["gateway-error".into(), "retriable-status-codes".into()],
            retriable_status_codes: vec![418],
            ..Default::default()
        };
        let got = retry_policy(Some(&rp)).unwrap();
        assert_eq!(got.retry_on, "gateway-error,retriable-status-codes");
        assert_eq!(got.retriable_status_codes, vec![418]);
        assert_eq!(
            got.per_try_timeout,
            Timeout::Duration(Duration::from_millis(250))
        );
        let bad = ApiRetryPolicy {
            per_try_timeout: Some("soon".into()),
            ..Default::default()
        };
        assert_eq!(
            retry_policy(Some(&bad)).unwrap().per_try_timeout,
            Timeout::Default
        );
    }

    #[test]
    fn timeout_errors_name_the_field() {
        let tp = TimeoutPolicy {
            idle: Some("never".into()),
            ..Default::default()
        };
        assert_eq!(
            timeouts(Some(&tp)).unwrap_err(),
            "error parsing idle timeout: unable to parse timeout string \"never\": time: invalid duration \"never\""
        );
        let tp = TimeoutPolicy {
            response: Some("infinity".into()),
            idle_connection: Some("90s".into()),
            ..Default::default()
        };
        let t = timeouts(Some(&tp)).unwrap();
        assert_eq!(t.response, Timeout::Disabled);
        assert_eq!(
            t.idle_connection,
            Timeout::Duration(Duration::from_secs(90))
        );
    }
}
