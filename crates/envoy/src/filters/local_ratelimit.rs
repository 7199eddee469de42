//! Local rate limit per virtual host or route (`envoy.filters.http.local_ratelimit`).

use contour_dag::LocalRateLimit as DagLocalRateLimit;
use envoy_types::pb::envoy::config::core::v3::{
    HeaderValue, HeaderValueOption, RuntimeFractionalPercent,
    header_value_option::HeaderAppendAction,
};
use envoy_types::pb::envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit;
use envoy_types::pb::envoy::r#type::v3::{
    FractionalPercent, HttpStatus, TokenBucket, fractional_percent,
};

use crate::pb::{millis, u32v};

/// A token bucket of `requests + burst` tokens refilled with `requests` tokens every unit,
/// enabled and enforced for every request; the status is Envoy's 429 unless set.
pub fn local_rate_limit(p: &DagLocalRateLimit, stat_prefix: &str) -> LocalRateLimit {
    LocalRateLimit {
        stat_prefix: stat_prefix.to_string(),
        token_bucket: Some(TokenBucket {
            max_tokens: p.max_tokens,
            tokens_per_fill: Some(u32v(p.tokens_per_fill)),
            fill_interval: Some(millis(p.fill_interval_secs.saturating_mul(1000))),
        }),
        response_headers_to_add: p
            .response_headers_to_add
            .iter()
            .map(|(k, v)| overwrite_header(k, v))
            .collect(),
        filter_enabled: Some(all_requests()),
        filter_enforced: Some(all_requests()),
        status: p.response_status_code.map(|code| HttpStatus {
            code: i32::try_from(code).unwrap_or(429),
        }),
        ..Default::default()
    }
}

fn all_requests() -> RuntimeFractionalPercent {
    RuntimeFractionalPercent {
        default_value: Some(FractionalPercent {
            numerator: 100,
            denominator: fractional_percent::DenominatorType::Hundred as i32,
        }),
        ..Default::default()
    }
}

fn overwrite_header(key: &str, value: &str) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.to_string(),
            value: value.to_string(),
            ..Default::default()
        }),
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
        ..Default::default()
    }
}
