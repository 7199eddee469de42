//! CORS per-virtual-host policy (`envoy.filters.http.cors`).

use contour_dag::{CorsOrigin, CorsPolicy as DagCors, MaxAge};
use envoy_types::pb::envoy::extensions::filters::http::cors::v3::CorsPolicy;
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};

use crate::pb::boolv;
use crate::route::safe_regex;

/// Upstream's rendering: lists joined with `,`, credentials and private-network access always
/// explicit, exact origins compared case-insensitively (Envoy treats `*` specially), regex
/// origins as RE2.
pub fn cors_policy(p: &DagCors) -> CorsPolicy {
    CorsPolicy {
        allow_origin_string_match: p.allow_origin.iter().map(origin_matcher).collect(),
        allow_methods: p.allow_methods.join(","),
        allow_headers: p.allow_headers.join(","),
        expose_headers: p.expose_headers.join(","),
        max_age: max_age(p.max_age),
        allow_credentials: Some(boolv(p.allow_credentials)),
        allow_private_network_access: Some(boolv(p.allow_private_network)),
        ..Default::default()
    }
}

fn origin_matcher(origin: &CorsOrigin) -> StringMatcher {
    match origin {
        CorsOrigin::Exact(v) => StringMatcher {
            match_pattern: Some(string_matcher::MatchPattern::Exact(v.clone())),
            ignore_case: true,
        },
        CorsOrigin::Regex(v) => StringMatcher {
            match_pattern: Some(string_matcher::MatchPattern::SafeRegex(safe_regex(v))),
            ignore_case: false,
        },
    }
}

/// Whole seconds, rounded as Go's `%.0f`; `0` when caching is disabled; empty for Envoy's
/// default.
pub fn max_age(m: MaxAge) -> String {
    match m {
        MaxAge::Default => String::new(),
        MaxAge::Disabled => "0".to_string(),
        MaxAge::Nanos(n) => format!("{:.0}", n as f64 / 1e9),
    }
}
