//! HTTPProxy: Contour's own ingress API. Main types; policies live in sibling modules.
//!
//! Optional policies are `Option<Box<_>>`: nearly all of them are unset, and the object cache holds
//! every HTTPProxy, so an unset one costs a pointer instead of its size. Serde and the CRD schema
//! see through the box.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema::{FQDN, RULE_SUBJECT_NAMES, condition_list};
use super::{
    AuthorizationPolicy, AuthorizationServer, CORSPolicy, CookieRewritePolicy, DetailedCondition,
    HTTPDirectResponsePolicy, HTTPHealthCheckPolicy, HTTPInternalRedirectPolicy,
    HTTPRequestRedirectPolicy, HeadersPolicy, IPFilterPolicy, JWTProvider, JWTVerificationPolicy,
    LoadBalancerPolicy, PathRewritePolicy, RateLimitPolicy, RetryPolicy, SlowStartPolicy,
    TCPHealthCheckPolicy, TimeoutPolicy,
};

/// Routing for one virtual host (a root, with `virtualhost`) or a part of one (included).
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "projectcontour.io",
    version = "v1",
    kind = "HTTPProxy",
    plural = "httpproxies",
    singular = "httpproxy",
    shortname = "proxy",
    shortname = "proxies",
    namespaced,
    derive = "PartialEq",
    derive = "Default",
    doc = "HTTPProxy routes HTTP(S) and TCP traffic for a virtual host, or part of one.",
    status = "HTTPProxyStatus",
    printcolumn = r#"{"name":"FQDN","type":"string","jsonPath":".spec.virtualhost.fqdn","description":"Fully qualified domain name"}"#,
    printcolumn = r#"{"name":"TLS Secret","type":"string","jsonPath":".spec.virtualhost.tls.secretName","description":"Secret with TLS credentials"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.currentStatus","description":"The current status of the HTTPProxy"}"#,
    printcolumn = r#"{"name":"Status Description","type":"string","jsonPath":".status.description","description":"Description of the current status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct HTTPProxySpec {
    /// Present on root proxies only: the host this proxy serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<Box<VirtualHost>>,
    /// HTTP routes. Ignored when `tcpproxy` is set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// Proxy TCP connections instead of HTTP requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcpproxy: Option<Box<TCPProxy>>,
    /// Other proxies whose routes are merged into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<Include>,
    /// The ingress class this proxy belongs to. The ingress-class annotations win over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class_name: Option<String>,
}

/// The host a root HTTPProxy serves, and host-wide policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VirtualHost {
    /// Fully qualified host name; a leading `*.` makes it a wildcard.
    #[schemars(length(min = 1), regex(pattern = FQDN))]
    pub fqdn: String,
    /// Serve the host over TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<TLS>>,
    /// External authorization for this host (requires TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Box<AuthorizationServer>>,
    /// Cross-origin resource sharing policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_policy: Option<Box<CORSPolicy>>,
    /// Rate limits applied to the whole host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_policy: Option<Box<RateLimitPolicy>>,
    /// Providers that verify JSON Web Tokens.
    #[serde(
        default,
        rename = "jwtProviders",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub jwt_providers: Vec<JWTProvider>,
    /// Allow only matching clients. Exclusive with `ipDenyPolicy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_allow_policy: Vec<IPFilterPolicy>,
    /// Deny matching clients. Exclusive with `ipAllowPolicy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_deny_policy: Vec<IPFilterPolicy>,
}

/// TLS settings of a virtual host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TLS {
    /// Secret holding the certificate; `namespace/name` needs a TLSCertificateDelegation.
    /// Exclusive with `passthrough`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Lowest TLS version: `1.2` (default) or `1.3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_protocol_version: Option<String>,
    /// Highest TLS version: `1.2` or `1.3` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_protocol_version: Option<String>,
    /// Forward the encrypted stream to the backend without terminating TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passthrough: Option<bool>,
    /// Require (or request) client certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_validation: Option<Box<DownstreamValidation>>,
    /// Also serve clients without SNI using the configured fallback certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_fallback_certificate: Option<bool>,
}

/// How client certificates are checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DownstreamValidation {
    /// Secret with the CA bundle (`ca.crt`) client certificates must chain to.
    #[serde(default, rename = "caSecret", skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub ca_secret: Option<String>,
    /// Request client certificates but do not verify them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_client_cert_validation: Option<bool>,
    /// Client certificate details to put in `x-forwarded-client-cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_client_certificate: Option<Box<ClientCertificateDetails>>,
    /// Secret with revocation lists (`crl.pem`).
    #[serde(default, rename = "crlSecret", skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub crl_secret: Option<String>,
    /// Check only the leaf certificate against the revocation lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl_only_verify_leaf_cert: Option<bool>,
    /// Accept connections without a client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional_client_certificate: Option<bool>,
}

/// Parts of the client certificate forwarded upstream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientCertificateDetails {
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<bool>,
    /// Leaf certificate (URL-encoded PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<bool>,
    /// Full chain (URL-encoded PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<bool>,
    /// DNS subject alternative names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<bool>,
    /// URI subject alternative name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<bool>,
}

/// Includes another HTTPProxy's routes under extra conditions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Include {
    /// Name of the included HTTPProxy.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Its namespace; defaults to this proxy's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Conditions added to every included route (at most one prefix; no exact or regex).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<MatchCondition>,
}

/// One request matcher. Exactly one field should be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchCondition {
    /// Path prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Exact path (routes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// Path regular expression (routes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Header matcher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Box<HeaderMatchCondition>>,
    /// Query parameter matcher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_parameter: Option<Box<QueryParameterMatchCondition>>,
}

/// Matches a request header. Set `name` and one test.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderMatchCondition {
    /// Header name (case-insensitive).
    #[schemars(length(min = 1))]
    pub name: String,
    /// True when the header is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// True when the header is absent.
    #[serde(
        default,
        rename = "notpresent",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_present: Option<bool>,
    /// The value contains this substring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// The value does not contain this substring.
    #[serde(
        default,
        rename = "notcontains",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_contains: Option<String>,
    /// Compare case-insensitively (not for `regex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_case: Option<bool>,
    /// The value equals this string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// The value differs from this string.
    #[serde(default, rename = "notexact", skip_serializing_if = "Option::is_none")]
    pub not_exact: Option<String>,
    /// The value matches this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// For negative tests: treat a missing header as an empty value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_missing_as_empty: Option<bool>,
}

/// Matches a query parameter. Set `name` and one test.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryParameterMatchCondition {
    /// Parameter name.
    pub name: String,
    /// The value equals this string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// The value starts with this string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The value ends with this string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// The value matches this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// The value contains this substring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// Compare case-insensitively (not for `regex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_case: Option<bool>,
    /// True when the parameter is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
}

/// One HTTP route: conditions, and one of services, a redirect or a direct response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// Request matchers, combined with AND (at most one path matcher).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<MatchCondition>,
    /// Backends that receive the traffic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// Allow WebSocket upgrades.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_websockets: Option<bool>,
    /// Serve this route over plain HTTP even when the host has TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit_insecure: Option<bool>,
    /// Override the host's authorization policy for this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_policy: Option<Box<AuthorizationPolicy>>,
    /// Timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_policy: Option<Box<TimeoutPolicy>>,
    /// Retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<Box<RetryPolicy>>,
    /// Active HTTP health checks of the backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_policy: Option<Box<HTTPHealthCheckPolicy>>,
    /// Load balancing across endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_policy: Option<Box<LoadBalancerPolicy>>,
    /// Rewrite the path before forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_rewrite_policy: Option<Box<PathRewritePolicy>>,
    /// Request header changes; `Host` may be set (also as `%REQ(header)%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_headers_policy: Option<Box<HeadersPolicy>>,
    /// Response header changes; `Host` may not be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_headers_policy: Option<Box<HeadersPolicy>>,
    /// Set-Cookie rewrites (cookie names unique).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cookie_rewrite_policies: Vec<CookieRewritePolicy>,
    /// Rate limits for this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_policy: Option<Box<RateLimitPolicy>>,
    /// Answer with a redirect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_redirect_policy: Option<Box<HTTPRequestRedirectPolicy>>,
    /// Answer directly with a fixed response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_response_policy: Option<Box<HTTPDirectResponsePolicy>>,
    /// Follow upstream redirects inside Envoy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_redirect_policy: Option<Box<HTTPInternalRedirectPolicy>>,
    /// JWT verification for this route.
    #[serde(
        default,
        rename = "jwtVerificationPolicy",
        skip_serializing_if = "Option::is_none"
    )]
    pub jwt_verification_policy: Option<Box<JWTVerificationPolicy>>,
    /// Allow only matching clients; overrides the host's filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_allow_policy: Vec<IPFilterPolicy>,
    /// Deny matching clients; overrides the host's filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_deny_policy: Vec<IPFilterPolicy>,
}

/// A Kubernetes Service port that receives traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// Service name, in the proxy's namespace.
    pub name: String,
    /// Service port number.
    #[schemars(range(min = 1, max = 65536), extend("exclusiveMaximum" = true))]
    pub port: i32,
    /// Port used for health checks instead of `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub health_port: Option<i32>,
    /// Upstream protocol, overriding Service annotations and appProtocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["h2", "h2c", "tls"]))]
    pub protocol: Option<String>,
    /// Relative share of traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub weight: Option<i64>,
    /// How to verify the backend's certificate.
    #[serde(
        default,
        rename = "validation",
        skip_serializing_if = "Option::is_none"
    )]
    pub validation: Option<Box<UpstreamValidation>>,
    /// Receive a copy of the traffic (responses discarded); `weight` sets the percentage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<bool>,
    /// Request header changes for this backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_headers_policy: Option<Box<HeadersPolicy>>,
    /// Response header changes for this backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_headers_policy: Option<Box<HeadersPolicy>>,
    /// Set-Cookie rewrites for this backend.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cookie_rewrite_policies: Vec<CookieRewritePolicy>,
    /// Ramp traffic up slowly to new endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_start_policy: Option<Box<SlowStartPolicy>>,
}

/// How Envoy verifies a backend's certificate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    { "message": RULE_SUBJECT_NAMES.message, "rule": RULE_SUBJECT_NAMES.rule }
]))]
pub struct UpstreamValidation {
    /// Secret with the CA bundle (`ca.crt`), optionally `namespace/name`.
    #[serde(rename = "caSecret")]
    #[schemars(length(min = 1, max = 317))]
    pub ca_secret: String,
    /// Name expected in the certificate's subjectAltName (deprecated: use `subjectNames`).
    #[schemars(length(min = 1, max = 250))]
    pub subject_name: String,
    /// Names of which at least one must be in the certificate's subjectAltName.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 8))]
    pub subject_names: Vec<String>,
}

/// Proxies TCP connections (TLS passthrough or terminated TLS) to services.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TCPProxy {
    /// Load balancing (`Cookie` and `RequestHash` do not apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_policy: Option<Box<LoadBalancerPolicy>>,
    /// Backends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// Delegate the TCP proxy to another HTTPProxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Box<TCPProxyInclude>>,
    /// Deprecated spelling of `include`.
    #[serde(default, rename = "includes", skip_serializing_if = "Option::is_none")]
    pub includes_deprecated: Option<Box<TCPProxyInclude>>,
    /// Active TCP health checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_policy: Option<Box<TCPHealthCheckPolicy>>,
}

/// The HTTPProxy a TCP proxy is delegated to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TCPProxyInclude {
    /// Its name.
    pub name: String,
    /// Its namespace; defaults to this proxy's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// What Contour last reported about an HTTPProxy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HTTPProxyStatus {
    /// `valid`, `invalid`, `orphaned` or `NotReconciled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    /// Short explanation of `currentStatus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Addresses of the Envoy load balancer serving this proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<k8s_openapi::api::core::v1::LoadBalancerStatus>,
    /// Conditions; Contour maintains `Valid` and leaves others alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "condition_list")]
    pub conditions: Vec<DetailedCondition>,
}
