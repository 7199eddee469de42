//! ExtensionService: a gRPC/HTTP service Contour's Envoy calls out to (ext_authz, rate limit).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1::DetailedCondition;

#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "projectcontour.io",
    version = "v1alpha1",
    kind = "ExtensionService",
    plural = "extensionservices",
    shortname = "extensionservice",
    shortname = "extensionservices",
    namespaced,
    status = "ExtensionServiceStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionServiceSpec {
    pub services: Vec<ExtensionServiceTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionServiceTarget {
    pub name: String,
    pub port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionServiceStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<DetailedCondition>,
}
