//! Rate limiting policies of HTTPProxy: local (per Envoy) and global (rate limit service).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HeaderMatchCondition, HeaderValue};

/// Local and global rate limits for a virtual host or route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitPolicy {
    /// Limits enforced by each Envoy on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalRateLimitPolicy>,
    /// Descriptors sent to the external rate limit service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalRateLimitPolicy>,
}

/// A token bucket enforced by each Envoy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalRateLimitPolicy {
    /// Requests allowed per unit.
    #[schemars(range(min = 1))]
    pub requests: u32,
    /// `second`, `minute` or `hour`.
    #[schemars(extend("enum" = ["second", "minute", "hour"]))]
    pub unit: String,
    /// Extra requests allowed in a burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Status of limited responses (Envoy default 429).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 400, max = 599))]
    pub response_status_code: Option<u32>,
    /// Headers added to limited responses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers_to_add: Vec<HeaderValue>,
}

/// Global rate limiting through the rate limit service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GlobalRateLimitPolicy {
    /// Opt out of the default global policy from Contour's configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Descriptors generated per request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub descriptors: Vec<RateLimitDescriptor>,
}

/// A list of descriptor entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitDescriptor {
    /// The entries, in order.
    #[schemars(length(min = 1))]
    pub entries: Vec<RateLimitDescriptorEntry>,
}

/// One descriptor entry. Exactly one field is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitDescriptorEntry {
    /// A static key and value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic_key: Option<GenericKeyDescriptor>,
    /// The value of a request header, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_header: Option<RequestHeaderDescriptor>,
    /// A static value when the request's headers match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_header_value_match: Option<RequestHeaderValueMatchDescriptor>,
    /// The client address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<RemoteAddressDescriptor>,
}

/// A static descriptor entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenericKeyDescriptor {
    /// Key (default `generic_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Value.
    #[schemars(length(min = 1))]
    pub value: String,
}

/// A descriptor entry taken from a request header.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestHeaderDescriptor {
    /// Header to read.
    #[schemars(length(min = 1))]
    pub header_name: String,
    /// Descriptor key.
    #[schemars(length(min = 1))]
    pub descriptor_key: String,
}

/// A `header_match` descriptor entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestHeaderValueMatchDescriptor {
    /// Header matchers, all of which must match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub headers: Vec<HeaderMatchCondition>,
    /// Generate the entry on a match (true, default) or on a mismatch (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = true))]
    pub expect_match: Option<bool>,
    /// Descriptor value.
    #[schemars(length(min = 1))]
    pub value: String,
}

/// The client address as descriptor entry (`remote_address`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RemoteAddressDescriptor {}
