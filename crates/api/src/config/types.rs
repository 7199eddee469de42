//! The nested sections of contour.yaml, with upstream's key names. Every struct refuses unknown
//! keys, and a section written with no value (`tls:` followed only by comments, as upstream's
//! example file does) means "defaults", as with upstream's YAML decoder.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::values::{self, DnsLookupFamily};
use crate::v1::{GlobalRateLimitPolicy, HTTPAuthorizationServerSettings};
use crate::v1alpha1::CircuitBreakers;

/// A value written as `key:` with nothing after it keeps its default.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `namespace` + `name` of a Kubernetes object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NamespacedName {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub namespace: String,
}

impl NamespacedName {
    pub fn is_empty(&self) -> bool {
        self.name.trim().is_empty() && self.namespace.trim().is_empty()
    }
}

/// `gateway`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayParameters {
    #[serde(rename = "gatewayRef", deserialize_with = "nullable")]
    pub gateway_ref: NamespacedName,
}

/// TLS protocol settings (`tls` and `cluster.upstream-tls`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProtocolParameters {
    #[serde(deserialize_with = "values::tls_version")]
    pub minimum_protocol_version: String,
    #[serde(deserialize_with = "values::tls_version")]
    pub maximum_protocol_version: String,
    #[serde(deserialize_with = "values::ciphers")]
    pub cipher_suites: Vec<String>,
    #[serde(deserialize_with = "values::curves")]
    pub ecdh_curves: Vec<String>,
}

/// `tls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TlsParameters {
    #[serde(deserialize_with = "values::tls_version")]
    pub minimum_protocol_version: String,
    #[serde(deserialize_with = "values::tls_version")]
    pub maximum_protocol_version: String,
    #[serde(deserialize_with = "values::ciphers")]
    pub cipher_suites: Vec<String>,
    #[serde(deserialize_with = "values::curves")]
    pub ecdh_curves: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub fallback_certificate: NamespacedName,
    #[serde(deserialize_with = "nullable")]
    pub envoy_client_certificate: NamespacedName,
    #[serde(deserialize_with = "nullable")]
    pub fingerprint: Option<TlsFingerprint>,
}

/// `tls.fingerprint`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsFingerprint {
    pub ja3: Option<bool>,
    pub ja4: Option<bool>,
}

/// `timeouts`. Strings as written; each is checked while parsing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TimeoutParameters {
    #[serde(deserialize_with = "values::timeout")]
    pub request_timeout: String,
    #[serde(deserialize_with = "values::timeout")]
    pub connection_idle_timeout: String,
    #[serde(deserialize_with = "values::timeout")]
    pub stream_idle_timeout: String,
    #[serde(deserialize_with = "values::timeout")]
    pub max_connection_duration: String,
    #[serde(deserialize_with = "values::timeout")]
    pub delayed_close_timeout: String,
    #[serde(deserialize_with = "values::timeout")]
    pub connection_shutdown_grace_period: String,
    #[serde(deserialize_with = "values::duration")]
    pub connect_timeout: String,
}

impl Default for TimeoutParameters {
    /// Upstream's file defaults: 60s connection idle timeout, 2s connect timeout.
    fn default() -> Self {
        TimeoutParameters {
            request_timeout: String::new(),
            connection_idle_timeout: "60s".into(),
            stream_idle_timeout: String::new(),
            max_connection_duration: String::new(),
            delayed_close_timeout: String::new(),
            connection_shutdown_grace_period: String::new(),
            connect_timeout: "2s".into(),
        }
    }
}

/// `set` / `remove` of `policy.request-headers` and `policy.response-headers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeadersPolicy {
    #[serde(deserialize_with = "values::header_map")]
    pub set: BTreeMap<String, String>,
    #[serde(deserialize_with = "values::header_list")]
    pub remove: Vec<String>,
}

/// `policy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyParameters {
    #[serde(rename = "request-headers", deserialize_with = "nullable")]
    pub request_headers: HeadersPolicy,
    #[serde(rename = "response-headers", deserialize_with = "nullable")]
    pub response_headers: HeadersPolicy,
    #[serde(rename = "applyToIngress")]
    pub apply_to_ingress: bool,
}

/// `cluster`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterParameters {
    #[serde(deserialize_with = "nullable")]
    pub dns_lookup_family: DnsLookupFamily,
    #[serde(deserialize_with = "values::positive")]
    pub max_requests_per_connection: Option<u32>,
    #[serde(deserialize_with = "values::positive")]
    pub per_connection_buffer_limit_bytes: Option<u32>,
    #[serde(deserialize_with = "nullable")]
    pub circuit_breakers: Option<FileCircuitBreakers>,
    #[serde(deserialize_with = "nullable")]
    pub upstream_tls: ProtocolParameters,
}

/// `cluster.circuit-breakers` (kebab-case in the file, camelCase in the CRD).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileCircuitBreakers {
    pub max_connections: u32,
    pub max_pending_requests: u32,
    pub max_requests: u32,
    pub max_retries: u32,
    pub per_host_max_connections: u32,
}

impl From<&FileCircuitBreakers> for CircuitBreakers {
    fn from(c: &FileCircuitBreakers) -> Self {
        let nz = |v: u32| (v != 0).then_some(v);
        CircuitBreakers {
            max_connections: nz(c.max_connections),
            max_pending_requests: nz(c.max_pending_requests),
            max_requests: nz(c.max_requests),
            max_retries: nz(c.max_retries),
            per_host_max_connections: nz(c.per_host_max_connections),
        }
    }
}

/// `network`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct NetworkParameters {
    pub num_trusted_hops: u32,
    /// 0 disables the `envoy-admin` listener.
    pub admin_port: u16,
    pub strip_trailing_host_dot: bool,
}

impl Default for NetworkParameters {
    fn default() -> Self {
        NetworkParameters {
            num_trusted_hops: 0,
            admin_port: 9001,
            strip_trailing_host_dot: false,
        }
    }
}

/// `listener.socket-options`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct SocketOptions {
    #[serde(deserialize_with = "values::byte_value")]
    pub tos: i32,
    #[serde(deserialize_with = "values::byte_value")]
    pub traffic_class: i32,
}

/// `listener`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ListenerParameters {
    #[serde(deserialize_with = "values::connection_balancer")]
    pub connection_balancer: String,
    #[serde(deserialize_with = "values::positive")]
    pub max_requests_per_connection: Option<u32>,
    #[serde(deserialize_with = "values::positive")]
    pub per_connection_buffer_limit_bytes: Option<u32>,
    #[serde(deserialize_with = "nullable")]
    pub socket_options: SocketOptions,
    #[serde(deserialize_with = "values::positive")]
    pub max_requests_per_io_cycle: Option<u32>,
    #[serde(deserialize_with = "values::positive")]
    pub http2_max_concurrent_streams: Option<u32>,
    #[serde(deserialize_with = "values::positive")]
    pub max_connections_per_listener: Option<u32>,
    #[serde(deserialize_with = "values::positive")]
    pub max_connections_to_accept_per_socket_event: Option<u32>,
}

/// `rateLimitService`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitService {
    pub extension_service: String,
    pub domain: String,
    pub fail_open: bool,
    #[serde(rename = "enableXRateLimitHeaders")]
    pub enable_x_rate_limit_headers: bool,
    pub enable_resource_exhausted_code: bool,
    #[serde(deserialize_with = "nullable")]
    pub default_global_rate_limit_policy: Option<GlobalRateLimitPolicy>,
}

/// `globalExtAuth`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct GlobalExternalAuthorization {
    pub extension_service: String,
    pub service_type: String,
    #[serde(rename = "httpSettings", deserialize_with = "nullable")]
    pub http_settings: Option<HTTPAuthorizationServerSettings>,
    #[serde(deserialize_with = "nullable")]
    pub auth_policy: Option<GlobalAuthorizationPolicy>,
    #[serde(deserialize_with = "values::timeout")]
    pub response_timeout: String,
    pub fail_open: bool,
    #[serde(deserialize_with = "nullable")]
    pub with_request_body: Option<GlobalAuthorizationServerBufferSettings>,
}

/// `globalExtAuth.authPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalAuthorizationPolicy {
    pub disabled: bool,
    pub context: BTreeMap<String, String>,
}

/// `globalExtAuth.withRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct GlobalAuthorizationServerBufferSettings {
    pub max_request_bytes: u32,
    pub allow_partial_message: bool,
    pub pack_as_bytes: bool,
}

/// `metrics.contour` / `metrics.envoy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct MetricsServerParameters {
    pub address: String,
    pub port: u16,
    pub server_certificate_path: String,
    pub server_key_path: String,
    pub ca_certificate_path: String,
}

impl MetricsServerParameters {
    /// Certificate and key both set.
    pub fn has_tls(&self) -> bool {
        !self.server_certificate_path.is_empty() && !self.server_key_path.is_empty()
    }
}

/// `metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsParameters {
    #[serde(deserialize_with = "nullable")]
    pub contour: MetricsServerParameters,
    #[serde(deserialize_with = "nullable")]
    pub envoy: MetricsServerParameters,
}

/// `tracing`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Tracing {
    pub include_pod_detail: Option<bool>,
    pub service_name: Option<String>,
    pub overall_sampling: Option<String>,
    pub client_sampling: Option<String>,
    pub random_sampling: Option<String>,
    pub max_path_tag_length: Option<u32>,
    pub custom_tags: Vec<CustomTag>,
    pub extension_service: String,
}

/// `tracing.customTags[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomTag {
    pub tag_name: String,
    pub literal: String,
    pub request_header_name: String,
}

/// `omEnforcedHealthListener`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OmEnforcedHealthListener {
    pub address: String,
    pub port: u16,
}
