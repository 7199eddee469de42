//! Virtual host security policies: external authorization, CORS and JWT providers.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::UpstreamValidation;
use super::schema::{
    CORS_HEADER_VALUE, DURATION, DURATION_OR_INFINITY, DURATION_OR_ZERO,
    RULE_ALLOWED_HEADER_ONE_OF, RULE_AUTH_HTTP_SETTINGS, RULE_JWKS_ONE_OF,
};

/// Names an ExtensionService.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionServiceReference {
    /// API version of the referent (default `projectcontour.io/v1alpha1`).
    #[serde(
        default,
        rename = "apiVersion",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(min = 1))]
    pub api_version: Option<String>,
    /// Namespace of the referent; defaults to the referring object's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub namespace: Option<String>,
    /// Name of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub name: Option<String>,
}

/// An external authorization server for a virtual host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    { "message": RULE_AUTH_HTTP_SETTINGS.message, "rule": RULE_AUTH_HTTP_SETTINGS.rule }
]))]
pub struct AuthorizationServer {
    /// The ExtensionService that answers authorization checks.
    #[serde(
        default,
        rename = "extensionRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub extension_ref: Option<ExtensionServiceReference>,
    /// `grpc` (default) or `http`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["http", "grpc"], "default" = "grpc"))]
    pub service_type: Option<String>,
    /// Settings for `serviceType: http`.
    #[serde(
        default,
        rename = "httpSettings",
        skip_serializing_if = "Option::is_none"
    )]
    pub http_settings: Option<HTTPAuthorizationServerSettings>,
    /// Default policy for the host's routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_policy: Option<AuthorizationPolicy>,
    /// How long to wait for a decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_OR_INFINITY))]
    pub response_timeout: Option<String>,
    /// Let requests through when the server does not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_open: Option<bool>,
    /// Send the request body to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_request_body: Option<AuthorizationServerBufferSettings>,
}

/// Settings for an HTTP authorization server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HTTPAuthorizationServerSettings {
    /// Prefix added to the check request's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Client headers sent to the server (besides Host, Method, Path, Content-Length,
    /// Authorization).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_authorization_headers: Vec<HTTPAuthorizationServerAllowedHeaders>,
    /// Server response headers copied onto the upstream request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_upstream_headers: Vec<HTTPAuthorizationServerAllowedHeaders>,
}

/// A header-name matcher. Exactly one of the string fields is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    { "message": RULE_ALLOWED_HEADER_ONE_OF.message, "rule": RULE_ALLOWED_HEADER_ONE_OF.rule }
]))]
pub struct HTTPAuthorizationServerAllowedHeaders {
    /// Name equals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// Name starts with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Name ends with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// Name contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// Compare case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_case: Option<bool>,
}

/// Buffering of the request body for authorization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationServerBufferSettings {
    /// Largest body buffered (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), extend("default" = 1024))]
    pub max_request_bytes: Option<u32>,
    /// Send a partial body when it exceeds `maxRequestBytes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_partial_message: Option<bool>,
    /// Send the body as raw bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_as_bytes: Option<bool>,
}

/// Authorization settings for a scope (host or route).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicy {
    /// Skip authorization in this scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Context sent with check requests; inner scopes override outer keys.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, String>,
}

/// Cross-origin resource sharing policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CORSPolicy {
    /// Allow credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    /// Allowed origins: `*`, an exact origin, or a regular expression.
    #[schemars(length(min = 1))]
    pub allow_origin: Vec<String>,
    /// `access-control-allow-methods`.
    #[schemars(length(min = 1), inner(regex(pattern = CORS_HEADER_VALUE)))]
    pub allow_methods: Vec<String>,
    /// `access-control-allow-headers`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1), inner(regex(pattern = CORS_HEADER_VALUE)))]
    pub allow_headers: Vec<String>,
    /// `access-control-expose-headers`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1), inner(regex(pattern = CORS_HEADER_VALUE)))]
    pub expose_headers: Vec<String>,
    /// How long preflight results may be cached; `0` disables caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_OR_ZERO))]
    pub max_age: Option<String>,
    /// Allow private network requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_private_network: Option<bool>,
}

/// A JWT provider. Exactly one of `remoteJWKS` and `localJWKS` is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    { "message": RULE_JWKS_ONE_OF.message, "rule": RULE_JWKS_ONE_OF.rule }
]))]
pub struct JWTProvider {
    /// Unique provider name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Require this provider on every route unless overridden (at most one default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    /// Required `iss` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Accepted `aud` claims.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    /// Fetch keys over HTTP(S).
    #[serde(
        default,
        rename = "remoteJWKS",
        skip_serializing_if = "Option::is_none"
    )]
    pub remote_jwks: Option<RemoteJWKS>,
    /// Read keys from a Secret.
    #[serde(default, rename = "localJWKS", skip_serializing_if = "Option::is_none")]
    pub local_jwks: Option<LocalJWKS>,
    /// Forward the token upstream after verification.
    #[serde(
        default,
        rename = "forwardJWT",
        skip_serializing_if = "Option::is_none"
    )]
    pub forward_jwt: Option<bool>,
}

/// Keys read from a Kubernetes Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalJWKS {
    /// Secret name.
    #[schemars(length(min = 1))]
    pub secret_name: String,
    /// Key inside the Secret.
    #[schemars(length(min = 1))]
    pub key: String,
}

/// Keys fetched from a URI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoteJWKS {
    /// The JWKS URI.
    #[schemars(length(min = 1))]
    pub uri: String,
    /// How to verify the server's certificate.
    #[serde(
        default,
        rename = "validation",
        skip_serializing_if = "Option::is_none"
    )]
    pub validation: Option<UpstreamValidation>,
    /// Fetch timeout (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub timeout: Option<String>,
    /// Cache lifetime (Envoy default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub cache_duration: Option<String>,
    /// `auto`, `v4` or `v6`; defaults to Contour's setting.
    #[serde(
        default,
        rename = "dnsLookupFamily",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(extend("enum" = ["auto", "v4", "v6"]))]
    pub dns_lookup_family: Option<String>,
}
