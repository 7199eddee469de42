//! Route and service policies of HTTPProxy: load balancing, retries, timeouts, health checks,
//! header and path rewriting, redirects, direct responses, cookies, slow start, IP filters.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema::{
    ABSOLUTE_PATH, COOKIE_NAME, COOKIE_PATH, DECIMAL, DNS_SUBDOMAIN, DURATION,
    DURATION_OR_INFINITY, REDIRECT_CODES, redirect_code_list, retry_on_list,
};

/// How requests are spread across endpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerPolicy {
    /// `Random`, `RoundRobin` (default, and used for unknown names), `WeightedLeastRequest`,
    /// `Cookie` or `RequestHash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Hash inputs for `RequestHash`; invalid entries are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_hash_policies: Vec<RequestHashPolicy>,
}

/// One input to the request hash. Set exactly one option.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestHashPolicy {
    /// Stop hashing once this input is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<bool>,
    /// Hash a request header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_hash_options: Option<HeaderHashOptions>,
    /// Hash a query parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_parameter_hash_options: Option<QueryParameterHashOptions>,
    /// Hash the client address.
    #[serde(
        default,
        rename = "hashSourceIP",
        skip_serializing_if = "Option::is_none"
    )]
    pub hash_source_ip: Option<bool>,
}

/// Hash on a request header.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderHashOptions {
    /// Header name.
    #[schemars(length(min = 1))]
    pub header_name: String,
}

/// Hash on a query parameter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryParameterHashOptions {
    /// Parameter name.
    #[schemars(length(min = 1))]
    pub parameter_name: String,
}

/// When and how often to retry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Number of retries; -1 disables retries, 0 means Envoy's default of 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1), extend("default" = 1))]
    pub count: Option<i64>,
    /// Timeout of each attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_OR_INFINITY))]
    pub per_try_timeout: Option<String>,
    /// Conditions that trigger a retry (default `5xx`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "retry_on_list")]
    pub retry_on: Vec<String>,
    /// Status codes retried with `retriable-status-codes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retriable_status_codes: Vec<u32>,
}

/// Request, stream-idle and connection-idle timeouts. `0s` means unset, `infinity` disables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeoutPolicy {
    /// Time to wait for the response (Envoy default 15s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_OR_INFINITY))]
    pub response: Option<String>,
    /// Time a request or stream may stay idle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_OR_INFINITY))]
    pub idle: Option<String>,
    /// Time an upstream connection without requests stays open (Envoy default 1h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_OR_INFINITY))]
    pub idle_connection: Option<String>,
}

/// Active HTTP health checking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HTTPHealthCheckPolicy {
    /// Path requested.
    pub path: String,
    /// Host header sent (default `contour-envoy-healthcheck`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Seconds between checks (Contour default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<i64>,
    /// Seconds to wait for an answer (Contour default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    /// Failures before a host is unhealthy (Contour default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub unhealthy_threshold_count: Option<i64>,
    /// Successes before a host is healthy (Contour default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub healthy_threshold_count: Option<i64>,
    /// Healthy status ranges, `[start, end)`; default only 200.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_statuses: Vec<HTTPStatusRange>,
}

/// A half-open range of HTTP status codes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HTTPStatusRange {
    /// First code (inclusive).
    #[schemars(range(min = 100, max = 599))]
    pub start: i64,
    /// Last code (exclusive).
    #[schemars(range(min = 101, max = 600))]
    pub end: i64,
}

/// Active TCP health checking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TCPHealthCheckPolicy {
    /// Seconds between checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<i64>,
    /// Seconds to wait for an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    /// Failures before a host is unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold_count: Option<u32>,
    /// Successes before a host is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_threshold_count: Option<u32>,
}

/// Headers to set and remove.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeadersPolicy {
    /// Headers added or overwritten.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<HeaderValue>,
    /// Header names removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// A header name and value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderValue {
    /// Header name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Header value.
    #[schemars(length(min = 1))]
    pub value: String,
}

/// Path rewriting after routing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PathRewritePolicy {
    /// Prefix replacements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_prefix: Vec<ReplacePrefix>,
}

/// Replace a routing prefix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplacePrefix {
    /// The exact prefix (as rendered through includes) to replace; empty means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub prefix: Option<String>,
    /// The replacement.
    #[schemars(length(min = 1))]
    pub replacement: String,
}

/// Answer with an HTTP redirect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRequestRedirectPolicy {
    /// Scheme of the Location; defaults to the request's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["http", "https"]))]
    pub scheme: Option<String>,
    /// Host of the Location; defaults to the request's. No wildcards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = DNS_SUBDOMAIN))]
    pub hostname: Option<String>,
    /// Port of the Location; defaults to the request's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,
    /// Redirect status code (default 302).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = REDIRECT_CODES, "default" = 302))]
    pub status_code: Option<u32>,
    /// Replace the whole path. Exclusive with `prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ABSOLUTE_PATH))]
    pub path: Option<String>,
    /// Replace the matched prefix. Exclusive with `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ABSOLUTE_PATH))]
    pub prefix: Option<String>,
}

/// Answer with a fixed response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HTTPDirectResponsePolicy {
    /// Status code.
    #[schemars(range(min = 200, max = 599))]
    pub status_code: i32,
    /// Body; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// Let Envoy follow upstream redirects itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HTTPInternalRedirectPolicy {
    /// Redirects followed per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_internal_redirects: Option<u32>,
    /// Codes handled internally (default only 302).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "redirect_code_list")]
    pub redirect_response_codes: Vec<u32>,
    /// `Always`, `Never` (default) or `SafeOnly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Always", "Never", "SafeOnly"], "default" = "Never"))]
    pub allow_cross_scheme_redirect: Option<String>,
    /// Refuse a redirect to a route already followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_repeated_route_redirect: Option<bool>,
}

/// Rewrite attributes of a Set-Cookie header.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CookieRewritePolicy {
    /// Cookie name.
    #[schemars(length(min = 1, max = 4096), regex(pattern = COOKIE_NAME))]
    pub name: String,
    /// New Path attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_rewrite: Option<CookiePathRewrite>,
    /// New Domain attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_rewrite: Option<CookieDomainRewrite>,
    /// New Secure attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    /// New SameSite attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Strict", "Lax", "None"]))]
    pub same_site: Option<String>,
}

/// New cookie Path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CookiePathRewrite {
    /// The path.
    #[schemars(length(min = 1, max = 4096), regex(pattern = COOKIE_PATH))]
    pub value: String,
}

/// New cookie Domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CookieDomainRewrite {
    /// The domain.
    #[schemars(length(min = 1, max = 4096), regex(pattern = DNS_SUBDOMAIN))]
    pub value: String,
}

/// Ramp traffic to new endpoints up over a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlowStartPolicy {
    /// Window length.
    #[schemars(regex(pattern = DURATION))]
    pub window: String,
    /// Ramp curve; 1.0 (default) is linear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DECIMAL), extend("default" = "1.0"))]
    pub aggression: Option<String>,
    /// Starting percentage of traffic (default 10).
    #[serde(
        default,
        rename = "minWeightPercent",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0, max = 100), extend("default" = 10))]
    pub min_weight_percent: Option<u32>,
}

/// JWT verification for a route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JWTVerificationPolicy {
    /// Provider required, overriding the default provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<String>,
    /// Turn JWT verification off for this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// An IP filter rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IPFilterPolicy {
    /// `Peer` (the connection's address) or `Remote` (the client, after PROXY and XFF).
    #[schemars(extend("enum" = ["Peer", "Remote"]))]
    pub source: String,
    /// CIDR block or single address.
    pub cidr: String,
}
