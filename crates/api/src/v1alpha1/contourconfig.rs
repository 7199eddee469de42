//! ContourConfiguration (`projectcontour.io/v1alpha1`): the CRD form of Contour's
//! configuration, read with `contour serve --contour-config-name`. JSON names, including
//! upstream's odd ones (`per-connection-buffer-limit-bytes`, `httpMaxConcurrentStreams`), are
//! upstream's.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CircuitBreakers;
use crate::v1::schema::condition_list;
use crate::v1::{AuthorizationServer, DetailedCondition, GlobalRateLimitPolicy};

/// The configuration of one Contour installation.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "projectcontour.io",
    version = "v1alpha1",
    kind = "ContourConfiguration",
    plural = "contourconfigurations",
    singular = "contourconfiguration",
    shortname = "contourconfig",
    namespaced,
    derive = "PartialEq",
    derive = "Default",
    doc = "ContourConfiguration is the schema for a Contour instance.",
    status = "ContourConfigurationStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct ContourConfigurationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xds_server: Option<XdsServerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<HostPort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HostPort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envoy: Option<EnvoyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub httpproxy: Option<HttpProxyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_external_name_service: Option<bool>,
    #[serde(
        default,
        rename = "globalExtAuth",
        skip_serializing_if = "Option::is_none"
    )]
    pub global_ext_auth: Option<AuthorizationServer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_service: Option<RateLimitServiceConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_flags: Vec<String>,
}

/// A Kubernetes object reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NamespacedName {
    pub name: String,
    pub namespace: String,
}

/// An address and port (`debug`, `health`, `envoy.health`, `envoy.omEnforcedHealth`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HostPort {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(min = 1))]
    pub address: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub port: i32,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

/// `xdsServer`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct XdsServerConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(min = 1))]
    pub address: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<XdsTls>,
}

/// `xdsServer.tls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct XdsTls {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
}

/// `ingress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_names: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_address: String,
}

/// `metrics` and `envoy.metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MetricsConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(min = 1, max = 253))]
    pub address: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<MetricsTls>,
}

/// `metrics.tls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsTls {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_file: String,
}

/// `envoy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<EnvoyListenerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<NamespacedName>,
    #[serde(default, rename = "http", skip_serializing_if = "Option::is_none")]
    pub http_listener: Option<EnvoyListener>,
    #[serde(default, rename = "https", skip_serializing_if = "Option::is_none")]
    pub https_listener: Option<EnvoyListener>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HostPort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<NamespacedName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<EnvoyLogging>,
    #[serde(
        default,
        rename = "defaultHTTPVersions",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schemars(extend("items" = {"type": "string", "enum": ["HTTP/1.1", "HTTP/2"]}))]
    pub default_http_versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<TimeoutParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub om_enforced_health: Option<HostPort>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub runtime_settings: BTreeMap<String, String>,
}

/// `envoy.http` / `envoy.https`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyListener {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(min = 1))]
    pub address: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub port: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub access_log: String,
}

/// `envoy.listener`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyListenerConfig {
    #[serde(
        default,
        rename = "useProxyProtocol",
        skip_serializing_if = "Option::is_none"
    )]
    pub use_proxy_proto: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<EnvoyCompression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_allow_chunked_length: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_merge_slashes: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("enum" = ["overwrite", "append_if_absent", "pass_through"]))]
    pub server_header_transformation: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub connection_balancer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_requests_per_connection: Option<u32>,
    #[serde(
        default,
        rename = "per-connection-buffer-limit-bytes",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub per_connection_buffer_limit_bytes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<EnvoyListenerTls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_options: Option<SocketOptions>,
    #[serde(
        default,
        rename = "maxRequestsPerIOCycle",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub max_requests_per_io_cycle: Option<u32>,
    #[serde(
        default,
        rename = "httpMaxConcurrentStreams",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub http2_max_concurrent_streams: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_connections_per_listener: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_connections_to_accept_per_socket_event: Option<u32>,
}

/// `envoy.listener.compression`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnvoyCompression {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("enum" = ["gzip", "brotli", "zstd", "disabled"]))]
    pub algorithm: String,
}

/// `envoy.listener.socketOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SocketOptions {
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(min = 0, max = 255))]
    pub tos: i32,
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(min = 0, max = 255))]
    pub traffic_class: i32,
}

/// TLS protocol parameters (`envoy.cluster.upstreamTLS`, and inlined in the listener's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyTls {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub minimum_protocol_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub maximum_protocol_version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cipher_suites: Vec<String>,
    #[serde(default, rename = "ecdhCurves", skip_serializing_if = "Vec::is_empty")]
    pub ecdh_curves: Vec<String>,
}

/// `envoy.listener.tls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyListenerTls {
    #[serde(flatten)]
    pub protocol: EnvoyTls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<TlsFingerprint>,
}

/// `envoy.listener.tls.fingerprint`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlsFingerprint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja3: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja4: Option<bool>,
}

/// `envoy.logging`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyLogging {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("enum" = ["envoy", "json"]))]
    pub access_log_format: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub access_log_format_string: String,
    #[serde(
        default,
        rename = "accessLogJSONFields",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub access_log_json_fields: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("enum" = ["info", "error", "critical", "disabled"]))]
    pub access_log_level: String,
}

/// `envoy.timeouts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeoutParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_idle_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_idle_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connection_duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delayed_close_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_shutdown_grace_period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<String>,
}

/// `envoy.cluster`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterParameters {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dns_lookup_family: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_requests_per_connection: Option<u32>,
    #[serde(
        default,
        rename = "per-connection-buffer-limit-bytes",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub per_connection_buffer_limit_bytes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breakers: Option<CircuitBreakers>,
    #[serde(
        default,
        rename = "upstreamTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub upstream_tls: Option<EnvoyTls>,
}

/// `envoy.network`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_trusted_hops: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_trailing_host_dot: Option<bool>,
}

/// `gateway`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayConfig {
    pub gateway_ref: NamespacedName,
}

/// `httpproxy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpProxyConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_permit_insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub root_namespaces: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_certificate: Option<NamespacedName>,
}

/// `rateLimitService`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitServiceConfig {
    pub extension_service: NamespacedName,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_open: Option<bool>,
    #[serde(
        default,
        rename = "enableXRateLimitHeaders",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_x_rate_limit_headers: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_resource_exhausted_code: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_global_rate_limit_policy: Option<GlobalRateLimitPolicy>,
}

/// `tracing`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TracingConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_pod_detail: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall_sampling: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_sampling: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_sampling: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_path_tag_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_tags: Vec<CustomTag>,
    pub extension_service: NamespacedName,
}

/// `tracing.customTags[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomTag {
    pub tag_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub literal: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_header_name: String,
}

/// `policy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_headers: Option<HeadersPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_headers: Option<HeadersPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_to_ingress: Option<bool>,
}

/// `policy.requestHeaders` / `policy.responseHeaders`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HeadersPolicy {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// What Contour reports about its configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContourConfigurationStatus {
    /// Conditions; Contour maintains `Valid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "condition_list")]
    pub conditions: Vec<DetailedCondition>,
}
