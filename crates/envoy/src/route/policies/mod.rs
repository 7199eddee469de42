//! Route policies → Envoy: what a forwarding route does besides picking a cluster (timeouts,
//! retries, hashing, mirroring, rewrites, upgrades, internal redirects), header changes,
//! redirects and query-parameter matchers. One small pure function per piece, as upstream's
//! `internal/envoy/v3/route.go` lays them out.

mod headers;
mod redirect;

pub use headers::{
    headers_to_add, is_simple_cluster, set_cluster_weight_headers, set_route_headers,
};
pub use redirect::redirect_action;

use contour_dag::{
    CrossScheme, HashPolicy, HashSource, InternalRedirectPolicy, MirrorPolicy, QueryMatchKind,
    QueryParamMatch, RetryPolicy, RoutePolicy,
};
use envoy_types::pb::envoy::config::core::v3::{RuntimeFractionalPercent, TypedExtensionConfig};
use envoy_types::pb::envoy::config::route::v3::{
    QueryParameterMatcher, RouteAction, query_parameter_matcher, route_action,
};
use envoy_types::pb::envoy::extensions::internal_redirect::previous_routes::v3::PreviousRoutesConfig;
use envoy_types::pb::envoy::extensions::internal_redirect::safe_cross_scheme::v3::SafeCrossSchemeConfig;
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};
use envoy_types::pb::envoy::r#type::v3::{FractionalPercent, fractional_percent};

use super::safe_regex;
use crate::names::cluster_name;
pub use crate::pb::timeout;
use crate::pb::{duration, to_any, u32v};

/// Fills in the policy parts of a forwarding route action.
pub fn apply_route_policy(ra: &mut RouteAction, p: &RoutePolicy, mirror: Option<&MirrorPolicy>) {
    ra.timeout = timeout(p.response_timeout);
    ra.idle_timeout = timeout(p.idle_timeout);
    ra.retry_policy = p.retry.as_deref().map(retry_policy);
    ra.hash_policy = p.hash_policies.iter().map(hash_policy).collect();
    ra.request_mirror_policies = mirror.iter().map(|m| mirror_policy(m)).collect();
    ra.internal_redirect_policy = p.internal_redirect.as_deref().map(internal_redirect_policy);
    if let Some(rewrite) = &p.prefix_rewrite {
        ra.prefix_rewrite = rewrite.clone();
    }
    if let Some(h) = &p.request_headers {
        use route_action::HostRewriteSpecifier as H;
        if !h.host_rewrite.is_empty() {
            ra.host_rewrite_specifier = Some(H::HostRewriteLiteral(h.host_rewrite.clone()));
        } else if !h.host_rewrite_header.is_empty() {
            ra.host_rewrite_specifier = Some(H::HostRewriteHeader(h.host_rewrite_header.clone()));
        }
    }
    if p.websocket {
        ra.upgrade_configs.push(route_action::UpgradeConfig {
            upgrade_type: "websocket".to_string(),
            ..Default::default()
        });
    }
}

/// `retry_on`, status codes, `num_retries` (always explicit) and the per-try timeout.
pub fn retry_policy(r: &RetryPolicy) -> envoy_types::pb::envoy::config::route::v3::RetryPolicy {
    envoy_types::pb::envoy::config::route::v3::RetryPolicy {
        retry_on: r.retry_on.clone(),
        retriable_status_codes: r.retriable_status_codes.clone(),
        num_retries: Some(u32v(r.num_retries)),
        per_try_timeout: timeout(r.per_try_timeout),
        ..Default::default()
    }
}

pub fn hash_policy(h: &HashPolicy) -> route_action::HashPolicy {
    use route_action::hash_policy::{self as hp, PolicySpecifier as P};
    let specifier = match &h.source {
        HashSource::Header(name) => P::Header(hp::Header {
            header_name: name.clone(),
            ..Default::default()
        }),
        HashSource::QueryParameter(name) => {
            P::QueryParameter(hp::QueryParameter { name: name.clone() })
        }
        HashSource::SourceIp => {
            P::ConnectionProperties(hp::ConnectionProperties { source_ip: true })
        }
        HashSource::Cookie { name, path, ttl } => P::Cookie(hp::Cookie {
            name: name.clone(),
            ttl: Some(duration(*ttl)),
            path: path.clone(),
            ..Default::default()
        }),
    };
    route_action::HashPolicy {
        terminal: h.terminal,
        policy_specifier: Some(specifier),
    }
}

pub fn mirror_policy(m: &MirrorPolicy) -> route_action::RequestMirrorPolicy {
    route_action::RequestMirrorPolicy {
        cluster: cluster_name(&m.cluster),
        runtime_fraction: Some(RuntimeFractionalPercent {
            default_value: Some(FractionalPercent {
                numerator: m.percent,
                denominator: fractional_percent::DenominatorType::Hundred as i32,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn internal_redirect_policy(
    p: &InternalRedirectPolicy,
) -> envoy_types::pb::envoy::config::route::v3::InternalRedirectPolicy {
    let mut predicates = Vec::new();
    if p.cross_scheme == CrossScheme::SafeOnly {
        predicates.push(TypedExtensionConfig {
            name: "envoy.internal_redirect_predicates.safe_cross_scheme".to_string(),
            typed_config: Some(to_any(&SafeCrossSchemeConfig {})),
        });
    }
    if p.deny_repeated_route_redirect {
        predicates.push(TypedExtensionConfig {
            name: "envoy.internal_redirect_predicates.previous_routes".to_string(),
            typed_config: Some(to_any(&PreviousRoutesConfig {})),
        });
    }
    envoy_types::pb::envoy::config::route::v3::InternalRedirectPolicy {
        max_internal_redirects: (p.max_internal_redirects > 0)
            .then(|| u32v(p.max_internal_redirects)),
        redirect_response_codes: p.redirect_response_codes.clone(),
        predicates,
        allow_cross_scheme_redirect: p.cross_scheme != CrossScheme::Never,
        ..Default::default()
    }
}

/// A query parameter condition; `present` ignores `ignore_case`, as upstream.
pub fn query_parameter_matcher(q: &QueryParamMatch) -> QueryParameterMatcher {
    use query_parameter_matcher::QueryParameterMatchSpecifier as S;
    use string_matcher::MatchPattern as M;
    let string = |pattern: M, ignore_case: bool| {
        S::StringMatch(StringMatcher {
            ignore_case,
            match_pattern: Some(pattern),
        })
    };
    let spec = match &q.kind {
        QueryMatchKind::Exact(v) => string(M::Exact(v.clone()), q.ignore_case),
        QueryMatchKind::Prefix(v) => string(M::Prefix(v.clone()), q.ignore_case),
        QueryMatchKind::Suffix(v) => string(M::Suffix(v.clone()), q.ignore_case),
        QueryMatchKind::Regex(v) => string(M::SafeRegex(safe_regex(v)), false),
        QueryMatchKind::Contains(v) => string(M::Contains(v.clone()), q.ignore_case),
        QueryMatchKind::Present => S::PresentMatch(true),
    };
    QueryParameterMatcher {
        name: q.name.clone(),
        query_parameter_match_specifier: Some(spec),
    }
}

#[cfg(test)]
mod tests;
