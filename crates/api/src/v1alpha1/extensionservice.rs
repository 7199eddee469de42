//! ExtensionService: a service Envoy calls out to (external authorization, rate limiting).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1::schema::condition_list;
use crate::v1::{DetailedCondition, LoadBalancerPolicy, TimeoutPolicy, UpstreamValidation};

/// Binds Kubernetes Services to Contour features implemented by an external server.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "projectcontour.io",
    version = "v1alpha1",
    kind = "ExtensionService",
    plural = "extensionservices",
    singular = "extensionservice",
    shortname = "extensionservice",
    shortname = "extensionservices",
    namespaced,
    derive = "PartialEq",
    derive = "Default",
    doc = "ExtensionService describes a service that Envoy calls out to, such as an authorization server.",
    status = "ExtensionServiceStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionServiceSpec {
    /// Services receiving the extension traffic, balanced by weight (evenly without weights).
    #[schemars(length(min = 1))]
    pub services: Vec<ExtensionServiceTarget>,
    /// How to verify the services' certificates.
    #[serde(
        default,
        rename = "validation",
        skip_serializing_if = "Option::is_none"
    )]
    pub validation: Option<UpstreamValidation>,
    /// `http/1.1`, `h2` or `h2c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["http/1.1", "h2", "h2c"]))]
    pub protocol: Option<String>,
    /// Load balancing (`Cookie` and `RequestHash` are ignored for gRPC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_policy: Option<LoadBalancerPolicy>,
    /// Timeouts for requests to the services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_policy: Option<TimeoutPolicy>,
    /// gRPC protocol version; only `v3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["v3"]))]
    pub protocol_version: Option<String>,
    /// Circuit breaker budget, overriding Contour's global one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker_policy: Option<CircuitBreakers>,
}

/// A Service port receiving extension traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionServiceTarget {
    /// Service name, in the ExtensionService's namespace.
    pub name: String,
    /// Service port number.
    #[schemars(range(min = 1, max = 65536), extend("exclusiveMaximum" = true))]
    pub port: i32,
    /// Relative share of traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

/// Envoy circuit breaker thresholds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreakers {
    /// Connections to the service (Envoy default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Pending requests (Envoy default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pending_requests: Option<u32>,
    /// Parallel requests (Envoy default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u32>,
    /// Parallel retries (Envoy default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Connections to each host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_host_max_connections: Option<u32>,
}

/// What Contour last reported about an ExtensionService.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionServiceStatus {
    /// Conditions; Contour maintains `Valid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "condition_list")]
    pub conditions: Vec<DetailedCondition>,
}
